use chrono::{DateTime, Utc};
use serde::Serialize;

use super::read::Values;

/// What lockdown tells about the customer's Apple ID and iCloud, without their password.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Account {
    /// Find My / Activation Lock on (NonVolatileRAM `fm-activation-locked` = YES). Find My needs
    /// an Apple ID signed in, so `true` proves one is; `false` proves nothing either way.
    pub find_my_enabled: Option<bool>,
    /// The masked Apple ID that Find My holds (NonVolatileRAM `fm-account-masked`). Private.
    pub apple_id_masked: Option<String>,
    /// iCloud Backup on (`com.apple.mobile.backup` CloudBackupEnabled). iCloud Backup needs a
    /// signed-in Apple ID, so `true` also proves one.
    pub icloud_backup_enabled: Option<bool>,
    /// Last successful iCloud backup (`LastCloudBackupDate`): the phone reached iCloud then.
    pub last_icloud_backup: Option<DateTime<Utc>>,
}

/// Apple's epoch (2001-01-01 UTC) in Unix seconds.
const APPLE_EPOCH: i64 = 978_307_200;
/// From 2001 to 2100: any other backup date is corrupt input.
const BACKUP_SECONDS: std::ops::RangeInclusive<i128> = 0..=3_155_760_000;

impl Account {
    pub(super) fn read(root: &Values, backup: &Values) -> Self {
        let nvram = root.nested("NonVolatileRAM");
        let find_my_enabled =
            nvram.text_or_data("fm-activation-locked").and_then(|flag| {
                match flag.trim().to_ascii_uppercase().as_str() {
                    "YES" => Some(true),
                    "NO" => Some(false),
                    _ => nvram.refuse("fm-activation-locked", "expected YES or NO"),
                }
            });
        let apple_id_masked = nvram
            .text_or_data("fm-account-masked")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        Account {
            find_my_enabled,
            apple_id_masked,
            icloud_backup_enabled: backup.boolean("CloudBackupEnabled"),
            last_icloud_backup: backup
                .integer("LastCloudBackupDate", BACKUP_SECONDS)
                .and_then(|s| DateTime::from_timestamp(s as i64 + APPLE_EPOCH, 0)),
        }
    }
}
