use serde::Serialize;

use super::read::{FactError, Values};

/// What lockdown tells about the customer's Apple ID and iCloud, without their password.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Account {
    /// Find My / Activation Lock on (NonVolatileRAM `fm-activation-locked` = YES). Find My needs
    /// an Apple ID signed in, so `true` proves one is; `false` proves nothing either way.
    pub find_my_enabled: Option<bool>,
    /// The masked Apple ID that Find My holds (NonVolatileRAM `fm-account-masked`). Private.
    pub apple_id_masked: Option<String>,
    /// iCloud Backup on (`com.apple.mobile.backup` CloudBackupEnabled).
    pub icloud_backup_enabled: Option<bool>,
}

impl Account {
    pub(super) fn read(root: &Values, backup: &Values) -> Result<Self, FactError> {
        let nvram = root.nested("NonVolatileRAM", "Lockdown/NonVolatileRAM")?;
        let find_my_enabled = match nvram.text_or_data("fm-activation-locked")? {
            None => None,
            Some(flag) => match flag.trim().to_ascii_uppercase().as_str() {
                "YES" => Some(true),
                "NO" => Some(false),
                other => {
                    return Err(FactError {
                        key: nvram.key_path("fm-activation-locked"),
                        problem: format!("expected YES or NO, found \"{other}\""),
                    })
                }
            },
        };
        let apple_id_masked = nvram
            .text_or_data("fm-account-masked")?
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        Ok(Account {
            find_my_enabled,
            apple_id_masked,
            icloud_backup_enabled: backup.boolean("CloudBackupEnabled")?,
        })
    }
}
