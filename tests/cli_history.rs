//! `synccheck history`: every live scan is recorded, listed and reprinted; a process killed
//! mid-write never damages the database or loses an earlier scan.

mod common;

use std::time::Duration;

use common::{fixture, start_sim, start_sim_with, synccheck_at};

const LIMIT: Duration = Duration::from_secs(60);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn scans_are_recorded_listed_and_reprinted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let db_arg = db.to_str().unwrap();
    let sim = start_sim_with(&[fixture("healthy.plist"), fixture("failures.plist")], &[]);
    let first = synccheck_at(
        &sim.address,
        &["scan", "--json", "--db", db_arg, "--answer", "restart=done"],
        LIMIT,
    );
    assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));

    let out = synccheck_at(&sim.address, &["history", "--db", db_arg], LIMIT);
    let listing = text(&out.stdout);
    assert_eq!(
        listing.lines().count(),
        3,
        "a header and one line per phone:\n{listing}"
    );
    assert!(
        listing.contains("F4GZK2LMN7Q1") && listing.contains("iPhone 15 Pro"),
        "{listing}"
    );
    assert!(
        listing.contains("iPhone 11") && listing.contains("fail"),
        "{listing}"
    );

    let out = synccheck_at(
        &sim.address,
        &["history", "--db", db_arg, "--redact"],
        LIMIT,
    );
    assert!(
        !text(&out.stdout).contains("F4GZK2LMN7Q1"),
        "--redact hides serials"
    );

    let out = synccheck_at(
        &sim.address,
        &[
            "history",
            "--db",
            db_arg,
            "--udid",
            "00008030-001E2D3C4B5A6978",
        ],
        LIMIT,
    );
    assert_eq!(
        text(&out.stdout).lines().count(),
        2,
        "{}",
        text(&out.stdout)
    );
    let id = text(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    let shown = synccheck_at(
        &sim.address,
        &["history", "show", &id, "--db", db_arg, "--json"],
        LIMIT,
    );
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let live: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let live_device = live["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["facts"]["identity"]["product_type"] == "iPhone12,1")
        .unwrap();
    assert_eq!(
        shown["devices"][0]["checks"], live_device["checks"],
        "same findings, answers included"
    );

    let out = synccheck_at(
        &sim.address,
        &["history", "show", "9999", "--db", db_arg],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no scan 9999 in the history"));
}

#[test]
fn a_process_killed_mid_write_loses_no_earlier_scan() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let db_arg = db.to_str().unwrap().to_string();
    let sim = start_sim(8, &[]);
    let done = synccheck_at(&sim.address, &["scan", "--json", "--db", &db_arg], LIMIT);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));

    // Kill scans of 8 phones at staggered moments: some before, some during, some after
    // their writes.
    for i in 0..12u64 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_synccheck"))
            .args(["scan", "--json", "--db", &db_arg])
            .env("USBMUXD_SOCKET_ADDRESS", &sim.address)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(5 + i * 7));
        let _ = child.kill(); // SIGKILL: no destructor, no cleanup.
        let _ = child.wait();
    }

    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let out = synccheck_at(&sim.address, &["history", "--db", &db_arg], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).lines().count() > 8,
        "the first complete scan's 8 rows are all there"
    );
}

/// The same phone scanned twice, its backlog smaller the second time with nothing deleted:
/// `photos-upload` compares with the recorded scan and says uploads are moving, and the reprint
/// of each scan compares with the scan before it, as when it was made.
#[test]
fn a_rescan_compares_the_backlog_with_the_last_scan() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let db_arg = db.to_str().unwrap();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo-iphone.plist");
    let scan = |snapshot: &std::path::Path| {
        let sim = start_sim_with(&[snapshot.to_path_buf()], &[]);
        let out = synccheck_at(&sim.address, &["scan", "--json", "--db", db_arg], LIMIT);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        common::report_json(&out)
    };
    let first = scan(&demo);
    let upload = common::finding(&first, "photos-upload");
    assert_eq!(upload["status"], "warn", "{upload}");

    // 104 photos later: 1100 waiting of the same 6130.
    let mut snap = synccheck::snapshot::load_file(&demo).unwrap();
    let library = snap.photo_library.as_mut().unwrap();
    let synccheck::photos::DatabaseRead::Summary(summary) = &mut library.database else {
        panic!("the demo phone has a library summary");
    };
    summary.waiting = Some(1100);
    let later = dir.path().join("later.plist");
    snap.write_xml(std::fs::File::create(&later).unwrap())
        .unwrap();
    let second = scan(&later);
    let upload = common::finding(&second, "photos-upload");
    assert_eq!(upload["status"], "pass", "{upload}");
    let summary = upload["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("1100 photos")
            && summary.contains("down from 1204 at ")
            && summary.ends_with("(history #1): uploads are moving"),
        "{summary}"
    );

    // Scanned again at once with the same backlog: too soon to call it "no progress".
    let third = scan(&later);
    let upload = common::finding(&third, "photos-upload");
    let summary = upload["summary"].as_str().unwrap();
    assert!(
        summary.contains("the last scan (history #2) was")
            && summary.ends_with("too soon to judge upload progress"),
        "{summary}"
    );

    let show = |id: &str| {
        let out = synccheck_at(
            "unused",
            &["history", "show", id, "--json", "--db", db_arg],
            LIMIT,
        );
        common::report_json(&out)
    };
    assert_eq!(
        common::finding(&show("2"), "photos-upload"),
        common::finding(&second, "photos-upload"),
        "the reprint compares with the scan before it"
    );
    assert_eq!(
        common::finding(&show("1"), "photos-upload")["status"],
        "warn",
        "the first scan has nothing to compare with"
    );
}
