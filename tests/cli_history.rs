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

/// One history row, as stored: (id, udid, verdict, snapshot).
type Row = (i64, Option<String>, String, Vec<u8>);

fn rows(db: &std::path::Path) -> Vec<Row> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, udid, verdict, snapshot FROM scans ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Starts `scan` of every phone with the history writer's test hook set to stop inside the
/// transaction of its `pause_at`th write, waits (bounded) for the hook's marker on stderr, and
/// SIGKILLs it there: no destructor, no rollback, no cleanup.
fn kill_inside_write(address: &str, db: &str, pause_at: usize) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["scan", "--json", "--db", db])
        .env("USBMUXD_SOCKET_ADDRESS", address)
        .env(synccheck_history::TEST_PAUSE_ENV, pause_at.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + LIMIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with(synccheck_history::TEST_PAUSE_MARKER) => {
                assert!(line.ends_with(&format!("(write {pause_at})")), "{line}");
                break;
            }
            Ok(line) => seen.push(line),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "no pause marker for write {pause_at} ({e}); stderr:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
}

/// Scans of 8 phones are killed inside the transaction of their 1st, 4th and 8th history write
/// (a test hook stops the writer there and says so): each time, the scans before it are all
/// there, whole, the one being written is absent, and every earlier scan is untouched.
#[test]
fn a_process_killed_mid_write_loses_no_earlier_scan() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let db_arg = db.to_str().unwrap().to_string();
    let sim = start_sim(8, &[]);
    let done = synccheck_at(&sim.address, &["scan", "--json", "--db", &db_arg], LIMIT);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    let complete = rows(&db);
    assert_eq!(complete.len(), 8);
    // Each scan records the phones in the same (usbmuxd's) order.
    let order: Vec<Option<String>> = complete.iter().map(|r| r.1.clone()).collect();

    let mut before = complete.clone();
    for pause_at in [1, 4, 8] {
        kill_inside_write(&sim.address, &db_arg, pause_at);
        let after = rows(&db);
        assert_eq!(
            &after[..before.len()],
            &before[..],
            "the scans before are untouched"
        );
        let added: Vec<Option<String>> =
            after[before.len()..].iter().map(|r| r.1.clone()).collect();
        assert_eq!(
            added,
            order[..pause_at - 1],
            "the {} phones before the killed write are recorded, it and those after are not",
            pause_at - 1
        );
        before = after;
    }

    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // Every row is whole: its snapshot loads and is of the phone its row names.
    for (id, udid, verdict, snapshot) in &before {
        let snap = synccheck_core::snapshot::parse_bytes(std::path::Path::new("row"), snapshot)
            .unwrap_or_else(|e| panic!("row {id}: {e}"));
        assert_eq!(
            snap.lockdown
                .get("UniqueDeviceID")
                .and_then(|v| v.as_string()),
            udid.as_deref(),
            "row {id}"
        );
        let first = complete.iter().find(|r| &r.1 == udid).unwrap();
        assert_eq!(verdict, &first.2, "row {id}");
    }
    // And the history still takes a whole scan.
    let again = synccheck_at(&sim.address, &["scan", "--json", "--db", &db_arg], LIMIT);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(rows(&db).len(), before.len() + 8);
    let out = synccheck_at(&sim.address, &["history", "--db", &db_arg], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
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
    let mut snap = synccheck_core::snapshot::load_file(&demo).unwrap();
    let library = snap.photo_library.as_mut().unwrap();
    let synccheck_core::photos::DatabaseRead::Summary(summary) = &mut library.database else {
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
