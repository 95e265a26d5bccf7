//! The iCloud Photos engine's evidence, evaluated from snapshots (`scan --from`): one fixture for
//! each situation a technician meets.

mod common;

use common::{finding, fixture};
use serde_json::Value;

fn scan(name: &str, extra: &[&str]) -> (i32, Value) {
    let path = fixture(&format!("photos/{name}.plist"));
    let mut args = vec!["scan", "--json", "--from", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(&args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), json)
}

fn status(r: &Value, id: &str) -> String {
    finding(r, id)["status"].as_str().unwrap().to_string()
}

fn evidence(r: &Value, id: &str) -> String {
    finding(r, id)["evidence"].to_string()
}

#[test]
fn synced_phone_passes_on_the_engines_word() {
    let (code, r) = scan("synced", &[]);
    for id in [
        "icloud-photos",
        "photos-upload",
        "network",
        "cellular-data",
        "icloud-storage",
        "low-power",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {}", finding(&r, id));
    }
    assert!(
        evidence(&r, "icloud-storage").contains("PhotoData/CPL/syncstatus.plist isExceedingQuota")
    );
    assert!(evidence(&r, "icloud-photos").contains("PhotoData/cpl_enabled_marker"));
    assert_eq!(code, 0);
    let photos = &r["devices"][0]["facts"]["photos"];
    assert_eq!(photos["enabled"], true);
    assert_eq!(photos["optimize_storage"], true);
    assert_eq!(photos["library"]["state"], "read");
    assert_eq!(photos["library"]["assets"], 8421);
}

#[test]
fn icloud_photos_off_fails_and_the_backlog_is_explained() {
    let (_, r) = scan("off", &[]);
    assert_eq!(status(&r, "icloud-photos"), "fail");
    assert!(evidence(&r, "icloud-photos").contains("not found"));
    let upload = finding(&r, "photos-upload");
    assert_eq!(upload["status"], "warn");
    assert!(upload["summary"]
        .as_str()
        .unwrap()
        .contains("iCloud Photos is off"));
}

#[test]
fn backlog_with_failed_attempts_fails_naming_count_and_size() {
    let (code, r) = scan("backlog-failing", &[]);
    let upload = finding(&r, "photos-upload");
    assert_eq!(upload["status"], "fail");
    let summary = upload["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("812 photos (3.1 GB) waiting to upload"),
        "{summary}"
    );
    assert!(
        summary.contains("57 photos already failed an attempt"),
        "{summary}"
    );
    assert_eq!(code, 1);
}

#[test]
fn over_quota_fails_icloud_storage() {
    let (_, r) = scan("over-quota", &[]);
    assert_eq!(status(&r, "icloud-storage"), "fail");
    let verdict = r["devices"][0]["verdict"]["summary"].as_str().unwrap();
    assert!(
        verdict.starts_with("Blocking iCloud Photos: iCloud storage is full"),
        "{verdict}"
    );
}

#[test]
fn paused_is_its_own_message_with_the_resume_time() {
    let (_, r) = scan("paused", &[]);
    let f = finding(&r, "icloud-photos");
    assert_eq!(f["status"], "fail");
    assert_eq!(
        f["summary"],
        "iCloud Photos is paused until 2026-11-25 11:30 UTC (reason: user)"
    );
    assert!(f["remedy"].as_str().unwrap().contains("Resume"));
}

#[test]
fn low_power_mode_block_is_read_from_the_phone() {
    let (_, r) = scan("low-power", &[]);
    assert_eq!(status(&r, "low-power"), "fail");
    assert!(evidence(&r, "low-power").contains("isBlockedByLowPowerModeKey"));
    assert_eq!(status(&r, "power"), "fail");
    assert!(evidence(&r, "power").contains("lowBatteryLevel"));
}

#[test]
fn denied_cpl_folder_falls_back_to_the_markers_then_to_manual() {
    let (_, r) = scan("cpl-denied", &[]);
    // The enabled marker sits outside CPL: it still decides.
    assert_eq!(status(&r, "icloud-photos"), "pass");
    // The engine status was refused: unknown, so the technician is asked, and told why.
    for id in ["icloud-storage", "network", "low-power"] {
        assert_eq!(status(&r, id), "manual", "{id}");
        assert!(
            evidence(&r, id).contains("permission denied (unknown)"),
            "{id}: {}",
            evidence(&r, id)
        );
    }
    let photos = &r["devices"][0]["facts"]["photos"];
    assert_eq!(
        photos["files"]["PhotoData/CPL/syncstatus.plist"],
        "permission-denied"
    );

    let (_, r) = scan("all-denied", &[]);
    assert_eq!(
        status(&r, "icloud-photos"),
        "manual",
        "refused is unknown, never off"
    );
    assert_eq!(r["devices"][0]["facts"]["photos"]["enabled"], Value::Null);
    assert_eq!(status(&r, "photos-upload"), "manual");
}

#[test]
fn corrupt_database_is_one_clear_finding_and_the_rest_stands() {
    let (_, r) = scan("corrupt-db", &[]);
    let f = finding(&r, "photos-upload");
    assert_eq!(f["status"], "manual");
    assert!(f["summary"]
        .as_str()
        .unwrap()
        .starts_with("Could not read the photo library"));
    assert_eq!(status(&r, "icloud-photos"), "pass");
    assert_eq!(status(&r, "battery-health"), "pass");
}

#[test]
fn an_answer_that_contradicts_the_phone_is_shown_and_overruled() {
    let (_, r) = scan("off", &["--answer", "icloud-photos=on"]);
    assert_eq!(status(&r, "icloud-photos"), "fail");
    assert!(evidence(&r, "icloud-photos").contains("disagrees with the phone"));
    let (_, r) = scan("off", &["--answer", "icloud-photos=on", "--trust-answers"]);
    assert_eq!(status(&r, "icloud-photos"), "pass");
}

#[test]
fn old_snapshots_without_photo_evidence_still_load() {
    let path = fixture("healthy.plist");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["scan", "--json", "--from", path.to_str().unwrap()])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["devices"][0]["facts"]["photos"], Value::Null);
    assert_eq!(status(&r, "photos-upload"), "manual");
}

#[test]
fn ios_too_old_for_the_icloud_library_fails_both_steps_even_on_the_newest_ios() {
    let (code, r) = scan("client-too-old", &[]);
    // iOS 15.8.8 is the newest an iPhone 7 can run: the model table alone would pass it.
    let f = finding(&r, "ios-update");
    assert_eq!(f["status"], "fail", "{f}");
    assert_eq!(
        f["summary"],
        "iCloud Photos reports iOS 15.8.8 is too old for this iCloud library, and it is the newest this iPhone can run"
    );
    assert!(f["remedy"].as_str().unwrap().contains("cannot sync"), "{f}");
    assert!(evidence(&r, "ios-update").contains("iCloudLibraryClientVersionTooOld"));
    let f = finding(&r, "icloud-photos");
    assert_eq!(f["status"], "fail", "{f}");
    assert!(
        f["summary"].as_str().unwrap().contains("needs a newer iOS"),
        "{f}"
    );
    let engine = &r["devices"][0]["facts"]["photos"]["engine"];
    assert_eq!(engine["client_version_too_old"], true);
    assert_eq!(code, 1);
}

#[test]
fn a_library_wiped_in_icloud_warns_on_icloud_photos() {
    let (_, r) = scan("library-wiped", &[]);
    let f = finding(&r, "icloud-photos");
    assert_eq!(f["status"], "warn", "{f}");
    assert!(f["summary"].as_str().unwrap().contains("wiped"), "{f}");
    assert!(evidence(&r, "icloud-photos").contains("iCloudLibraryHasBeenWiped"));
    assert_eq!(
        r["devices"][0]["facts"]["photos"]["engine"]["library_wiped"],
        true
    );
}

#[test]
fn a_sync_held_by_a_snapshot_is_evidence_not_a_verdict() {
    let (_, r) = scan("blocked-by-snapshot", &[]);
    let (_, synced_like) = scan("synced", &[]);
    assert_eq!(
        status(&r, "photos-upload"),
        "pass",
        "35 waiting with a recent sync"
    );
    assert!(
        evidence(&r, "photos-upload").contains("busyState\",\"value\":\"2 (blocked by snapshot"),
        "{}",
        evidence(&r, "photos-upload")
    );
    let engine = &r["devices"][0]["facts"]["photos"]["engine"];
    assert_eq!(engine["busy_state"], 2);
    assert_eq!(engine["blocked_by_snapshot"], true);
    assert_eq!(
        synced_like["devices"][0]["facts"]["photos"]["engine"]["blocked_by_snapshot"],
        Value::Null,
        "no busyState: unknown"
    );
}

#[test]
fn what_icloud_holds_is_set_beside_the_local_count() {
    let (_, r) = scan("cloud-counts", &[]);
    let ev = evidence(&r, "photos-upload");
    assert!(
        ev.contains(
            "8,210 in iCloud (public.image 7,900, public.movie 310), as of 2026-11-24 15:10 UTC"
        ),
        "{ev}"
    );
    assert!(ev.contains("(211 more on the phone)"), "{ev}");
    assert_eq!(
        status(&r, "photos-upload"),
        "warn",
        "the counts do not decide"
    );
    let engine = &r["devices"][0]["facts"]["photos"]["engine"];
    assert_eq!(engine["cloud_asset_counts"]["public.movie"], 310);
    assert!(evidence(&r, "icloud-photos").contains("initialSyncDate"));
}

#[test]
fn engine_values_of_an_unexpected_type_are_unknown_with_the_reason() {
    let (code, r) = scan("odd-engine-values", &[]);
    assert!(matches!(code, 0 | 1), "evaluated, not refused");
    let engine = &r["devices"][0]["facts"]["photos"]["engine"];
    for key in [
        "client_version_too_old",
        "library_wiped",
        "busy_state",
        "initial_sync",
        "cloud_asset_counts",
    ] {
        assert_eq!(engine[key], Value::Null, "{key}");
    }
    assert_eq!(engine["refused"].as_array().unwrap().len(), 5);
    let ev = evidence(&r, "ios-update");
    assert!(
        ev.contains("unknown: found the string \\\"yes\\\", expected a boolean"),
        "{ev}"
    );
    assert_eq!(status(&r, "ios-update"), "pass", "unknown is not too old");
    assert!(evidence(&r, "photos-upload").contains("cloudAssetCountPerType"));
}
