//! `--html` on `scan` and `history show`, and `synccheck report --from SNAPSHOT_OR_JSON --html`:
//! which files are written, from which inputs, and the errors. (The page itself, in a browser:
//! tests/html_chromium.rs.)

mod common;

use std::path::Path;
use std::time::Duration;

use common::{fixture, start_sim, synccheck_at};

const LIMIT: Duration = Duration::from_secs(60);

fn synccheck(args: &[&str]) -> std::process::Output {
    // No usbmuxd is needed for these; an address that is never used.
    synccheck_at("UNIX:/nonexistent/usbmuxd", args, LIMIT)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn scan_from_writes_one_sheet_per_phone_and_still_prints_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("sheet.html");
    let out = synccheck(&[
        "scan",
        "--from",
        fixture("failures.plist").to_str().unwrap(),
        "--html",
        one.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Verdict: fail"));
    let page = read(&one);
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("Battery health"));

    let several = dir.path().join("bench.html");
    let out = synccheck(&[
        "scan",
        "--from",
        fixture("healthy.plist").to_str().unwrap(),
        "--from",
        fixture("failures.plist").to_str().unwrap(),
        "--html",
        several.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    for udid in ["00008130-001C2D3E4F506172", "00008030-001E2D3C4B5A6978"] {
        let page = read(&dir.path().join(format!("bench-{udid}.html")));
        assert!(page.contains(udid));
    }
}

#[test]
fn report_from_a_saved_json_report_matches_the_sheet_from_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = synccheck(&[
        "scan",
        "--from",
        fixture("failures.plist").to_str().unwrap(),
        "--json",
    ]);
    std::fs::write(&json, &out.stdout).unwrap();

    let from_json = dir.path().join("from-json.html");
    let from_snapshot = dir.path().join("from-snapshot.html");
    for (input, output) in [
        (json.as_path(), &from_json),
        (fixture("failures.plist").as_path(), &from_snapshot),
    ] {
        let out = synccheck(&[
            "report",
            "--from",
            input.to_str().unwrap(),
            "--html",
            output.to_str().unwrap(),
            "--redact",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let (a, b) = (read(&from_json), read(&from_snapshot));
    assert_eq!(
        a, b,
        "the same sheet from the JSON report and from the snapshot"
    );
    for secret in [
        "DX3PQ9L1N72M",
        "00008030-001E2D3C4B5A6978",
        "a4:cf:99:3e:07:d5",
        "alert(1)",
    ] {
        assert!(!a.contains(secret), "{secret} despite --redact");
    }
}

#[test]
fn bad_inputs_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let out_html = dir.path().join("x.html");
    let out_arg = out_html.to_str().unwrap();

    let future = dir.path().join("future.json");
    std::fs::write(
        &future,
        r#"{"schema": "synccheck.report/9", "devices": []}"#,
    )
    .unwrap();
    let out = synccheck(&[
        "report",
        "--from",
        future.to_str().unwrap(),
        "--html",
        out_arg,
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("synccheck.report/1") && err.contains("hint:"),
        "{err}"
    );

    let json = dir.path().join("report.json");
    let report = synccheck(&[
        "scan",
        "--from",
        fixture("healthy.plist").to_str().unwrap(),
        "--json",
    ]);
    std::fs::write(&json, &report.stdout).unwrap();
    let out = synccheck(&[
        "report",
        "--from",
        json.to_str().unwrap(),
        "--html",
        out_arg,
        "--answer",
        "restart=done",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("already judged"), "{err}");

    let out = synccheck(&[
        "report",
        "--from",
        fixture("healthy.plist").to_str().unwrap(),
        "--html",
        dir.path().join("no/such/dir/x.html").to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot write the HTML sheet"), "{err}");
    assert!(!out_html.exists(), "nothing is written on an error");
}

#[test]
fn a_live_scan_and_its_history_entry_print_the_same_sheet() {
    let sim = start_sim(1, &[]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let live = dir.path().join("live.html");
    let out = synccheck_at(
        &sim.address,
        &[
            "scan",
            "--db",
            db.to_str().unwrap(),
            "--html",
            live.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let again = dir.path().join("again.html");
    let out = synccheck_at(
        &sim.address,
        &[
            "history",
            "show",
            "1",
            "--db",
            db.to_str().unwrap(),
            "--html",
            again.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (a, b) = (read(&live), read(&again));
    assert!(a.contains("iPhone 15 Pro") && a.contains("Checked "));
    assert_eq!(a, b);
}
