//! Apple ID, iCloud Photos and iCloud storage: lockdown says little about them before the
//! photo-library evidence, so most of these ask the technician.

use super::manual;
use crate::checklist::finding::{CheckId, Finding, Status};
use crate::facts::DeviceFacts;

const SIGN_IN: &str = "Tap \"Sign in to your iPhone\" at the top of Settings and sign in with the customer's Apple ID.";

pub(super) fn apple_id(facts: &DeviceFacts) -> Finding {
    let id = CheckId::AppleId;
    let a = &facts.account;
    // iCloud Backup and Find My cannot be on without an Apple ID, so either proves a signed-in
    // account. Either off proves nothing: plenty of signed-in phones have them off.
    if a.icloud_backup_enabled == Some(true) {
        let mut f = Finding::new(
            id,
            Status::Pass,
            "An Apple ID is signed in (iCloud Backup is on)",
            "",
        )
        .with("com.apple.mobile.backup CloudBackupEnabled", "true");
        if let Some(at) = a.last_icloud_backup {
            f = f.with(
                "com.apple.mobile.backup LastCloudBackupDate",
                at.format("%Y-%m-%d %H:%M UTC").to_string(),
            );
        }
        return f;
    }
    if a.find_my_enabled == Some(true) || a.apple_id_masked.is_some() {
        let mut f = Finding::new(
            id,
            Status::Pass,
            "An Apple ID is signed in (Find My is on)",
            "",
        );
        if let Some(on) = a.find_my_enabled {
            f = f.with(NVRAM_FIND_MY, if on { "YES" } else { "NO" });
        }
        if a.apple_id_masked.is_some() {
            f = f.with(
                "Lockdown NonVolatileRAM fm-account-masked",
                "present (masked Apple ID)",
            );
        }
        return f;
    }
    let mut f = manual(
        id,
        "the top of Settings shows the customer's name when an Apple ID is signed in, \"Sign in to your iPhone\" when none is",
        SIGN_IN,
    );
    if a.find_my_enabled == Some(false) {
        f = f.with(
            NVRAM_FIND_MY,
            "NO (Find My off: says nothing about the Apple ID)",
        );
    }
    if a.icloud_backup_enabled == Some(false) {
        f = f.with(
            "com.apple.mobile.backup CloudBackupEnabled",
            "false (says nothing about the Apple ID)",
        );
    }
    f
}

const NVRAM_FIND_MY: &str = "Lockdown NonVolatileRAM fm-activation-locked";

pub(super) fn icloud_photos(_facts: &DeviceFacts) -> Finding {
    manual(
        CheckId::IcloudPhotos,
        "Settings > [your name] > iCloud > Photos: \"Sync this iPhone\" (\"iCloud Photos\" before iOS 16) should be on",
        "Turn on Settings > [your name] > iCloud > Photos > Sync this iPhone, then leave the phone on Wi-Fi and charging until the upload finishes.",
    )
}

pub(super) fn icloud_storage(_facts: &DeviceFacts) -> Finding {
    manual(
        CheckId::IcloudStorage,
        "Settings > [your name] > iCloud: the storage bar must not be full (the free plan is 5 GB)",
        "Free iCloud space in Settings > [your name] > iCloud > Manage Account Storage (old device backups are often the largest), or choose a bigger iCloud+ plan there with Change Storage Plan.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::checks::test_facts::unknown;

    #[test]
    fn find_my_on_proves_an_apple_id() {
        let mut facts = unknown();
        assert_eq!(apple_id(&facts).status, Status::Manual);
        facts.account.find_my_enabled = Some(false);
        let f = apple_id(&facts);
        assert_eq!(f.status, Status::Manual);
        assert_eq!(f.evidence.len(), 1);
        facts.account.find_my_enabled = Some(true);
        assert_eq!(apple_id(&facts).status, Status::Pass);
        facts.account.find_my_enabled = None;
        facts.account.icloud_backup_enabled = Some(true);
        let f = apple_id(&facts);
        assert_eq!(f.status, Status::Pass);
        assert!(f.summary.contains("iCloud Backup"));
    }

    #[test]
    fn icloud_steps_say_where_to_look_and_how_to_answer() {
        let f = icloud_photos(&unknown());
        assert_eq!(f.status, Status::Manual);
        assert!(f.summary.contains("Sync this iPhone"));
        assert!(
            f.summary.contains("--answer icloud-photos=on|off"),
            "{}",
            f.summary
        );
        let f = icloud_storage(&unknown());
        assert!(f.summary.contains("5 GB"));
        assert!(
            f.summary.contains("--answer icloud-storage=ok|full"),
            "{}",
            f.summary
        );
    }
}
