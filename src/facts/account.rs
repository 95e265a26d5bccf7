use chrono::{DateTime, Utc};
use serde::Serialize;

use super::read::{FactError, Values};
use crate::snapshot::FMIP_IS_ASSOCIATED;

/// What lockdown tells about the customer's Apple ID and iCloud, without their password.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Account {
    /// Find My / Activation Lock on (NonVolatileRAM `fm-activation-locked` = YES). Find My needs
    /// an Apple ID signed in, so `true` proves one is; `false` proves nothing either way.
    pub find_my_enabled: Option<bool>,
    /// Find My associated with an account (lockdown `com.apple.fmip` `IsAssociated`, asked for
    /// by key). Find My needs a signed-in Apple ID, so `true` proves one is. `false` proves
    /// nothing: a phone in Setup Assistant after an erase answers `false` while still locked to
    /// an account (libimobiledevice issue 531), and a user reported `false` with Find My on
    /// (issue 275).
    pub find_my_associated: Option<bool>,
    /// Why a `IsAssociated` the phone sent could not be used (a value of another type).
    pub find_my_associated_refused: Option<String>,
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
    pub(super) fn read(root: &Values, backup: &Values, fmip: &Values) -> Result<Self, FactError> {
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
        // A value of another type makes this one fact unknown, with the reason kept for the
        // report; it never sinks the rest.
        let (find_my_associated, find_my_associated_refused) =
            match fmip.boolean(FMIP_IS_ASSOCIATED) {
                Ok(v) => (v, None),
                Err(e) => (None, Some(e.to_string())),
            };
        Ok(Account {
            find_my_enabled,
            find_my_associated,
            find_my_associated_refused,
            apple_id_masked,
            icloud_backup_enabled: backup.boolean("CloudBackupEnabled")?,
            last_icloud_backup: backup
                .integer("LastCloudBackupDate", BACKUP_SECONDS)?
                .and_then(|s| DateTime::from_timestamp(s as i64 + APPLE_EPOCH, 0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_fmip(value: Option<plist::Value>) -> Account {
        let mut fmip = plist::Dictionary::new();
        if let Some(v) = value {
            fmip.insert(FMIP_IS_ASSOCIATED.into(), v);
        }
        let empty = plist::Dictionary::new();
        Account::read(
            &Values::new("Lockdown", Some(&empty)),
            &Values::new("Domains/com.apple.mobile.backup", None),
            &Values::new("Domains/com.apple.fmip", Some(&fmip)),
        )
        .unwrap()
    }

    #[test]
    fn find_my_association_is_a_boolean_or_unknown_with_the_reason() {
        assert_eq!(read_fmip(Some(true.into())).find_my_associated, Some(true));
        assert_eq!(
            read_fmip(Some(false.into())).find_my_associated,
            Some(false)
        );
        let absent = read_fmip(None);
        assert_eq!(absent.find_my_associated, None);
        assert_eq!(absent.find_my_associated_refused, None);
        let odd = read_fmip(Some("YES".into()));
        assert_eq!(odd.find_my_associated, None);
        let why = odd.find_my_associated_refused.unwrap();
        assert!(
            why.contains("Domains/com.apple.fmip/IsAssociated") && why.contains("boolean"),
            "{why}"
        );
    }
}
