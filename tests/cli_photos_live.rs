//! Photo evidence read live over AFC from `synccheck sim`: the simulator serves each fixture's
//! PhotoData tree (with a synthesised Photos.sqlite and its WAL), and the scan must come back
//! with the same findings as evaluating the fixture directly. The AFC fault modes end in clear
//! findings, never in a failed scan.

mod common;

use std::time::Duration;

use common::{finding, fixture, report_json as json, start_sim_with, synccheck_at};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(90);

fn checks(r: &Value) -> Vec<(String, String)> {
    r["devices"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn live(name: &str, faults: &[&str], extra: &[&str]) -> Value {
    let mut args = Vec::new();
    for f in faults {
        args.push("--fault");
        args.push(*f);
    }
    let sim = start_sim_with(&[fixture(&format!("photos/{name}.plist"))], &args);
    let mut cmd = vec!["scan", "--json"];
    cmd.extend_from_slice(extra);
    let out = synccheck_at(&sim.address, &cmd, LIMIT);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

fn offline(name: &str) -> Value {
    let path = fixture(&format!("photos/{name}.plist"));
    let out = synccheck_at(
        "unused",
        &["scan", "--json", "--from", path.to_str().unwrap()],
        LIMIT,
    );
    json(&out)
}

/// The simulator replays each fixture as if captured now, so the live scan must judge it as
/// the fixture is judged at its own capture time, every scenario alike; the library's dates
/// come back moved by the time since capture, its counts unchanged.
#[test]
fn a_live_scan_finds_what_the_fixture_says() {
    for name in [
        "synced",
        "off",
        "over-quota",
        "paused",
        "low-power",
        "cpl-denied",
        "all-denied",
        "backlog-failing",
        "client-too-old",
        "library-wiped",
        "blocked-by-snapshot",
        "cloud-counts",
        "odd-engine-values",
    ] {
        let live = live(name, &[], &[]);
        let offline = offline(name);
        assert_eq!(checks(&live), checks(&offline), "{name}");
        let when = |r: &Value, path: &[&str]| {
            let v = path.iter().fold(&r["devices"][0], |v, k| &v[*k]);
            v.as_str()
                .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp())
        };
        let moved_by =
            when(&live, &["captured_at"]).unwrap() - when(&offline, &["captured_at"]).unwrap();
        let mut libraries =
            [&live, &offline].map(|r| r["devices"][0]["facts"]["photos"]["library"].clone());
        for key in ["oldest_waiting_added", "last_upload_attempt"] {
            let [l, o] = [&live, &offline].map(|r| when(r, &["facts", "photos", "library", key]));
            // The simulator replays from its start, a moment before the scan's capture.
            let drift = l.zip(o).map(|(l, o)| (l - o - moved_by).abs());
            assert_eq!(l.is_some(), o.is_some(), "{name}: {key}");
            assert!(
                drift.is_none_or(|d| d < 60),
                "{name}: {key} moved with the capture time ({l:?} vs {o:?} + {moved_by}s)"
            );
            for lib in &mut libraries {
                lib.as_object_mut().map(|m| m.remove(key));
            }
        }
        assert_eq!(
            libraries[0], libraries[1],
            "{name}: the synthesised library summarises back to the fixture's counts"
        );
    }
}

/// The engine's newer keys come through the simulator's AFC as the snapshot holds them, their
/// dates moved with the replay: a live scan decides and explains as the file does.
#[test]
fn the_engines_newer_keys_reach_a_live_scan() {
    let r = live("client-too-old", &[], &[]);
    assert_eq!(finding(&r, "ios-update")["status"], "fail");
    assert!(finding(&r, "ios-update")["summary"]
        .as_str()
        .unwrap()
        .contains("too old for this iCloud library"));

    let r = live("cloud-counts", &[], &[]);
    let ev = finding(&r, "photos-upload")["evidence"].to_string();
    assert!(
        ev.contains("8,210 in iCloud (public.image 7,900, public.movie 310)"),
        "{ev}"
    );
    assert!(ev.contains("(211 more on the phone)"), "{ev}");
    let engine = &r["devices"][0]["facts"]["photos"]["engine"];
    let moved = |key: &str| {
        chrono::DateTime::parse_from_rfc3339(engine[key].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    let captured =
        chrono::DateTime::parse_from_rfc3339(r["devices"][0]["captured_at"].as_str().unwrap())
            .unwrap()
            .timestamp();
    // 2026-11-24 15:10 in a snapshot captured 15:30: twenty minutes before the live capture.
    let before = captured - moved("cloud_asset_counts_checked");
    assert!(
        (before - 20 * 60).abs() < 120,
        "{before}s before the capture"
    );
    assert!(moved("initial_sync") < moved("cloud_asset_counts_checked"));

    let r = live("blocked-by-snapshot", &[], &[]);
    assert!(finding(&r, "photos-upload")["evidence"]
        .to_string()
        .contains("blocked by snapshot"));
}

#[test]
fn a_failing_backlog_is_counted_through_the_wal() {
    let r = live("backlog-failing", &[], &[]);
    let f = finding(&r, "photos-upload");
    assert_eq!(f["status"], "fail");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .starts_with("812 photos (3.1 GB) waiting to upload"),
        "{f}"
    );
}

#[test]
fn a_denied_cpl_folder_leaves_the_rest_readable() {
    let r = live("synced", &["afc-denied=PhotoData/CPL"], &[]);
    assert_eq!(
        finding(&r, "icloud-photos")["status"],
        "pass",
        "the enabled marker is outside CPL"
    );
    assert_eq!(finding(&r, "icloud-storage")["status"], "manual");
    assert!(finding(&r, "icloud-storage")["evidence"]
        .to_string()
        .contains("permission denied"));
    assert_eq!(
        finding(&r, "photos-upload")["status"],
        "pass",
        "the library is outside CPL too"
    );
}

#[test]
fn a_database_that_is_not_sqlite_is_one_clear_finding() {
    let r = live("synced", &["not-sqlite-db"], &[]);
    let f = finding(&r, "photos-upload");
    assert_eq!(f["status"], "manual");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .starts_with("Could not read the photo library"),
        "{f}"
    );
    assert_eq!(
        finding(&r, "icloud-storage")["status"],
        "pass",
        "the rest of the report stands"
    );
}

#[test]
fn a_torn_copy_is_taken_again() {
    let r = live("backlog-failing", &["torn-db"], &[]);
    assert_eq!(finding(&r, "photos-upload")["status"], "fail");
    assert_eq!(
        r["devices"][0]["facts"]["photos"]["library"]["waiting"],
        812
    );
}

#[test]
fn a_library_that_never_holds_still_is_reported_not_guessed() {
    let r = live("synced", &["growing-db"], &[]);
    let f = finding(&r, "photos-upload");
    assert_eq!(f["status"], "manual");
    assert!(
        f["summary"].as_str().unwrap().contains("kept changing"),
        "{f}"
    );
}

#[test]
fn no_photo_library_skips_only_the_database() {
    let r = live("over-quota", &[], &["--no-photo-library"]);
    assert_eq!(
        finding(&r, "icloud-storage")["status"],
        "fail",
        "state files are still read"
    );
    let f = finding(&r, "photos-upload");
    assert_eq!(f["status"], "manual");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("--no-photo-library"),
        "{f}"
    );
}

#[test]
fn the_saved_snapshot_carries_the_summary_not_the_database() {
    let sim = start_sim_with(&[fixture("photos/backlog-failing.plist")], &[]);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("phone.plist");
    let out = synccheck_at(
        &sim.address,
        &["scan", "--json", "--save-snapshot", saved.to_str().unwrap()],
        LIMIT,
    );
    let live = json(&out);
    let size = std::fs::metadata(&saved).unwrap().len();
    assert!(
        size < 200_000,
        "the snapshot holds a summary, not a {size}-byte database"
    );
    let replay = synccheck_at(
        "unused",
        &["scan", "--json", "--from", saved.to_str().unwrap()],
        LIMIT,
    );
    assert_eq!(checks(&live), checks(&json(&replay)));
}
