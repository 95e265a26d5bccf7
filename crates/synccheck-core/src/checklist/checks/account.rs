//! Apple ID, iCloud Photos and iCloud storage: lockdown says little about them before the
//! photo-library evidence, so most of these ask the technician.

use super::engine::refused;
use super::manual;
use super::photos::{engine_flag, unknown_files};
use crate::checklist::finding::{CheckId, Finding, Status};
use crate::facts::photos::{keys, EngineStatus};
use crate::facts::DeviceFacts;
use crate::photos;

const SIGN_IN: &str = "Tap \"Sign in to your iPhone\" at the top of Settings and sign in with the customer's Apple ID.";

pub(super) fn apple_id(facts: &DeviceFacts) -> Finding {
    let id = CheckId::AppleId;
    if let Some((true, source)) =
        engine_flag(facts, keys::NOT_AUTHENTICATED, |e| e.not_authenticated)
    {
        return Finding::new(
            id,
            Status::Fail,
            "The Apple ID must be signed in again: iCloud Photos reports it is not authenticated",
            "Open Settings and tap the banner asking to sign in again (or Settings > [your name]), and enter the Apple ID password.",
        )
        .with(source, "true");
    }
    let a = &facts.account;
    // iCloud Backup and Find My cannot be on without an Apple ID, so either proves a signed-in
    // account. Either off proves nothing: plenty of signed-in phones have them off, and a phone
    // still in Setup Assistant reports Find My as not associated even when it is.
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
        if a.find_my_associated == Some(true) {
            f = f.with(FMIP_ASSOCIATED, "true");
        }
        return f;
    }
    if a.find_my_enabled == Some(true)
        || a.apple_id_masked.is_some()
        || a.find_my_associated == Some(true)
    {
        let mut f = Finding::new(
            id,
            Status::Pass,
            "An Apple ID is signed in (Find My is on)",
            "",
        );
        if let Some(associated) = a.find_my_associated {
            f = f.with(FMIP_ASSOCIATED, associated_value(associated));
        }
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
    if let Some(false) = a.find_my_associated {
        f = f.with(FMIP_ASSOCIATED, associated_value(false));
    }
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

const FMIP_ASSOCIATED: &str = "com.apple.fmip IsAssociated";

fn associated_value(associated: bool) -> &'static str {
    if associated {
        "true"
    } else {
        "false (says nothing: a phone in Setup Assistant answers false even with Find My on)"
    }
}

const NVRAM_FIND_MY: &str = "Lockdown NonVolatileRAM fm-activation-locked";

const TURN_ON: &str = "Turn on Settings > [your name] > iCloud > Photos > Sync this iPhone, then leave the phone on Wi-Fi and charging until the upload finishes.";

pub(super) fn icloud_photos(facts: &DeviceFacts) -> Finding {
    let id = CheckId::IcloudPhotos;
    if let Some(p) = &facts.photos {
        if let Some(t) = p.engine.as_ref().and_then(|e| e.exit_delete_time) {
            return Finding::new(
                id,
                Status::Fail,
                "iCloud Photos is being turned off on this iPhone",
                TURN_ON,
            )
            .with(
                format!("{} {}", photos::SYNC_STATUS, keys::EXIT_DELETE),
                t.format("%Y-%m-%d %H:%M UTC").to_string(),
            );
        }
        if p.paused == Some(true) {
            let until = p
                .paused_until
                .map(|t| format!(" until {}", t.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default();
            let why = p
                .pause_reason
                .as_ref()
                .map(|r| format!(" (reason: {r})"))
                .unwrap_or_default();
            let mut f = Finding::new(
                id,
                Status::Fail,
                format!("iCloud Photos is paused{until}{why}"),
                "Resume it: open Photos, scroll to the bottom of Library and tap Resume (or Settings > [your name] > iCloud > Photos).",
            )
            .with(photos::PAUSE, "present");
            if let Some(r) = &p.pause_reason {
                f = f.with(
                    format!("{} {}", photos::PAUSE, keys::PAUSE_REASON),
                    r.clone(),
                );
            }
            return f;
        }
        let engine = p.engine.as_ref();
        if p.enabled != Some(false) {
            if let Some(e) = engine {
                if let Some(f) = engine_blocks(e) {
                    return refused(facts, &ENGINE_KEYS, f);
                }
            }
        }
        match (p.enabled, p.enabled_by) {
            (Some(true), Some(by)) => {
                let since = p
                    .enabled_since
                    .as_ref()
                    .map(|s| format!(" (since {s})"))
                    .unwrap_or_default();
                let mut f =
                    Finding::new(id, Status::Pass, format!("iCloud Photos is on{since}"), "")
                        .with(by, "present");
                if let Some(t) = engine.and_then(|e| e.initial_sync) {
                    f = f.with(
                        format!("{} {}", photos::SYNC_STATUS, keys::INITIAL_SYNC_DATE),
                        format!(
                            "{} (first full sync finished)",
                            t.format("%Y-%m-%d %H:%M UTC")
                        ),
                    );
                }
                return refused(facts, &ENGINE_KEYS, f);
            }
            (Some(false), Some(by)) => {
                return Finding::new(
                    id,
                    Status::Fail,
                    "iCloud Photos is off on this iPhone",
                    TURN_ON,
                )
                .with(by, "not found (removed when iCloud Photos is turned off)");
            }
            _ => {}
        }
    }
    let f = manual(
        id,
        "Settings > [your name] > iCloud > Photos: \"Sync this iPhone\" (\"iCloud Photos\" before iOS 16) should be on",
        TURN_ON,
    );
    let f = unknown_files(
        facts,
        &[
            photos::CPL_ENABLED_MARKER,
            photos::INITIAL_SYNC_MARKER,
            photos::PAUSE,
        ],
        f,
    );
    refused(facts, &ENGINE_KEYS, f)
}

/// The engine keys `icloud-photos` reads beyond the markers.
const ENGINE_KEYS: [&str; 3] = [
    keys::CLIENT_TOO_OLD,
    keys::LIBRARY_WIPED,
    keys::INITIAL_SYNC_DATE,
];

/// The engine's own word that iCloud Photos cannot sync as it is, with iCloud Photos not off:
/// the server refused this iOS as too old, or found the library wiped in iCloud.
fn engine_blocks(e: &EngineStatus) -> Option<Finding> {
    let id = CheckId::IcloudPhotos;
    let source = |key: &str| format!("{} {key}", photos::SYNC_STATUS);
    if e.client_version_too_old == Some(true) {
        return Some(
            Finding::new(
                id,
                Status::Fail,
                "iCloud Photos cannot sync: the iCloud library needs a newer iOS than this iPhone runs",
                "Update iOS (see the iOS step). An iPhone that cannot run a newer iOS cannot sync this library: copy its waiting photos to a computer and use iCloud.com or a newer device.",
            )
            .with(source(keys::CLIENT_TOO_OLD), "true"),
        );
    }
    if e.library_wiped == Some(true) {
        return Some(
            Finding::new(
                id,
                Status::Warn,
                "iCloud Photos reports the library in iCloud was wiped (deleted from iCloud)",
                "Ask whether iCloud Photos was turned off and deleted from iCloud on another device or at iCloud.com. Keep this phone on Wi-Fi and charging with Settings > [your name] > iCloud > Photos > Sync this iPhone on, and check there that it uploads its library again.",
            )
            .with(source(keys::LIBRARY_WIPED), "true"),
        );
    }
    None
}

const FREE_ICLOUD: &str = "Free iCloud space in Settings > [your name] > iCloud > Manage Account Storage (old device backups are often the largest), or choose a bigger iCloud+ plan there with Change Storage Plan.";

pub(super) fn icloud_storage(facts: &DeviceFacts) -> Finding {
    let id = CheckId::IcloudStorage;
    let quota = engine_flag(facts, keys::EXCEEDING_QUOTA, |e| e.exceeding_quota);
    let shared = engine_flag(facts, keys::EXCEEDING_SHARED_QUOTA, |e| {
        e.exceeding_shared_library_quota
    });
    if let Some((true, source)) = &quota {
        return Finding::new(
            id,
            Status::Fail,
            "iCloud storage is full: iCloud Photos reports the account is over quota",
            FREE_ICLOUD,
        )
        .with(source.clone(), "true");
    }
    if let Some((true, source)) = &shared {
        return Finding::new(
            id,
            Status::Fail,
            "The Shared Library's iCloud storage is full: its owner's account is over quota",
            "The Shared Library's owner must free iCloud space or upgrade their plan (Settings > [their name] > iCloud); photos in the Shared Library wait until then.",
        )
        .with(source.clone(), "true");
    }
    if let Some((false, source)) = &quota {
        let mut f = Finding::new(
            id,
            Status::Pass,
            "iCloud Photos reports iCloud storage is not full",
            "",
        )
        .with(source.clone(), "false");
        if let Some((false, s)) = &shared {
            f = f.with(s.clone(), "false");
        }
        return f;
    }
    let f = manual(
        id,
        "Settings > [your name] > iCloud: the storage bar must not be full (the free plan is 5 GB)",
        FREE_ICLOUD,
    );
    unknown_files(facts, &[photos::SYNC_STATUS], f)
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
    fn find_my_association_proves_an_apple_id_and_its_absence_proves_nothing() {
        let mut facts = unknown();
        facts.account.find_my_associated = Some(true);
        let f = apple_id(&facts);
        assert_eq!(f.status, Status::Pass);
        assert!(f
            .evidence
            .iter()
            .any(|e| e.source == FMIP_ASSOCIATED && e.value == "true"));
        facts.account.find_my_associated = Some(false);
        let f = apple_id(&facts);
        assert_eq!(f.status, Status::Manual, "false proves nothing");
        assert!(f.evidence[0].value.contains("says nothing"));
        // The engine's word that the Apple ID must sign in again outweighs Find My.
        facts.account.find_my_associated = Some(true);
        let mut photos =
            crate::facts::photos::PhotoSync::from_library(&crate::photos::PhotoLibrary {
                files: Default::default(),
                database: crate::photos::DatabaseRead::Skipped,
                copied_bytes: None,
                read_at: None,
            });
        photos.engine = Some(crate::facts::photos::EngineStatus {
            not_authenticated: Some(true),
            ..Default::default()
        });
        facts.photos = Some(photos);
        assert_eq!(apple_id(&facts).status, Status::Fail);
    }

    fn engine_says(engine: EngineStatus) -> DeviceFacts {
        let mut facts = unknown();
        let mut p = crate::facts::photos::PhotoSync::from_library(&crate::photos::PhotoLibrary {
            files: Default::default(),
            database: crate::photos::DatabaseRead::Skipped,
            copied_bytes: None,
            read_at: None,
        });
        p.enabled = Some(true);
        p.enabled_by = Some(photos::CPL_ENABLED_MARKER);
        p.engine = Some(engine);
        facts.photos = Some(p);
        facts
    }

    #[test]
    fn the_engine_can_say_icloud_photos_cannot_sync_and_when_it_first_did() {
        let f = icloud_photos(&engine_says(EngineStatus {
            client_version_too_old: Some(true),
            library_wiped: Some(true),
            ..EngineStatus::default()
        }));
        assert_eq!(f.status, Status::Fail);
        assert!(f.summary.contains("needs a newer iOS"), "{}", f.summary);
        let f = icloud_photos(&engine_says(EngineStatus {
            library_wiped: Some(true),
            ..EngineStatus::default()
        }));
        assert_eq!(f.status, Status::Warn);
        assert!(f.summary.contains("wiped"), "{}", f.summary);
        let f = icloud_photos(&engine_says(EngineStatus {
            client_version_too_old: Some(false),
            library_wiped: Some(false),
            initial_sync: chrono::DateTime::from_timestamp(1_700_000_000, 0),
            ..EngineStatus::default()
        }));
        assert_eq!(f.status, Status::Pass);
        assert!(f
            .evidence
            .iter()
            .any(|e| e.source.ends_with("initialSyncDate")
                && e.value.starts_with("2023-11-14 22:13 UTC")));
        // With iCloud Photos off, being off is what the technician must fix first.
        let mut off = engine_says(EngineStatus {
            client_version_too_old: Some(true),
            ..EngineStatus::default()
        });
        off.photos.as_mut().unwrap().enabled = Some(false);
        let f = icloud_photos(&off);
        assert_eq!(f.summary, "iCloud Photos is off on this iPhone");
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
