use chrono::{DateTime, Utc};
use serde::Serialize;

use super::read::Values;
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
    pub(super) fn read(root: &Values, backup: &Values, fmip: &Values) -> Self {
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
            find_my_associated: fmip.boolean(FMIP_IS_ASSOCIATED),
            apple_id_masked,
            icloud_backup_enabled: backup.boolean("CloudBackupEnabled"),
            last_icloud_backup: backup
                .integer("LastCloudBackupDate", BACKUP_SECONDS)
                .and_then(|s| DateTime::from_timestamp(s as i64 + APPLE_EPOCH, 0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Refusal, Refusals};

    fn read_fmip(value: Option<plist::Value>) -> (Account, Vec<Refusal>) {
        let mut fmip = plist::Dictionary::new();
        if let Some(v) = value {
            fmip.insert(FMIP_IS_ASSOCIATED.into(), v);
        }
        let empty = plist::Dictionary::new();
        let refusals = Refusals::new();
        let account = Account::read(
            &refusals.values("Lockdown", Some(&empty)),
            &refusals.values("Domains/com.apple.mobile.backup", None),
            &refusals.values("Domains/com.apple.fmip", Some(&fmip)),
        );
        (account, refusals.into_vec())
    }

    #[test]
    fn find_my_association_is_a_boolean_or_unknown_with_the_reason() {
        assert_eq!(
            read_fmip(Some(true.into())).0.find_my_associated,
            Some(true)
        );
        assert_eq!(
            read_fmip(Some(false.into())).0.find_my_associated,
            Some(false)
        );
        let (absent, refused) = read_fmip(None);
        assert_eq!(absent.find_my_associated, None);
        assert!(refused.is_empty());
        let (odd, refused) = read_fmip(Some("YES".into()));
        assert_eq!(odd.find_my_associated, None);
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].key, "Domains/com.apple.fmip/IsAssociated");
    }
}
