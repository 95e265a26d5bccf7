//! Hostile plists end to end: reuse bombs and deep nesting in a crafted file (`scan --from`) and
//! from a simulated phone (`sim --fault plist-bomb | deep-plist | afc-plist-bomb`). Before the
//! bounded parser (`wire::plist_bounded`), a 389-byte bomb made `scan --from` abort out of
//! memory and 20,000 nested arrays overflowed the stack (exit 134 both). Each run here is
//! capped at [`MEMORY_CAP`] of address space, so an expansion fails the test rather than the
//! machine. The bombs are generated (`wire::plist_bombs`), never committed.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{fixture, start_sim_with, wait_bounded};
use synccheck_wire::plist_bombs::{self, Bomb};

const LIMIT: Duration = Duration::from_secs(60);

/// Address space for one synccheck run, in KiB (`ulimit -v`): plenty for a scan (glibc reserves
/// arenas per thread), far below what a bomb expands to (7 GB and more).
const MEMORY_CAP: u64 = 2 * 1024 * 1024;

/// Runs `synccheck ARGS` with its address space capped, against `usbmuxd` when given.
fn capped_synccheck(args: &[&str], usbmuxd: Option<&str>, history: &Path) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_CAP} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_synccheck"))
        .args(args)
        .env("SYNCCHECK_DB", history.join("history.sqlite"))
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(address) = usbmuxd {
        cmd.env("USBMUXD_SOCKET_ADDRESS", address);
    }
    let child = cmd.spawn().expect("run synccheck");
    let out = wait_bounded(child, &format!("synccheck {args:?}"), LIMIT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked")
            && !err.contains("memory allocation")
            && !err.contains("overflow"),
        "{err}"
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `scan --from` a crafted file: (exit code, stderr).
fn scan_from(bytes: &[u8]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crafted.plist");
    std::fs::write(&path, bytes).unwrap();
    let out = capped_synccheck(
        &["scan", "--from", path.to_str().unwrap()],
        None,
        dir.path(),
    );
    (out.status.code(), stderr(&out))
}

#[test]
fn a_reuse_bomb_file_is_refused_naming_the_limit() {
    for bomb in [
        plist_bombs::reuse_bomb(5, 64),
        // The same bomb where a snapshot keeps the phone's values.
        Bomb::Reuse {
            levels: 5,
            width: 64,
        }
        .in_message(&[("ProductType", "iPhone15,2")], "Lockdown"),
        plist_bombs::string_reuse_bomb(3, 64, 64 * 1024),
    ] {
        assert!(bomb.len() < 70 * 1024);
        let (code, err) = scan_from(&bomb);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains("crafted.plist: the snapshot goes over the plist ")
                && (err.contains("object count limit") || err.contains("expanded size limit")),
            "{err}"
        );
    }
}

#[test]
fn deep_nesting_in_a_file_is_refused_without_overflowing_the_stack() {
    for bomb in [
        plist_bombs::deep_xml(20_000, false),
        plist_bombs::deep_xml(20_000, true),
        plist_bombs::deep_binary(20_000, false),
        plist_bombs::deep_binary(20_000, true),
    ] {
        let (code, err) = scan_from(&bomb);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("nesting depth limit (64)"), "{err}");
    }
}

/// A live `scan` of phones with these `--fault` arguments: the output.
fn live_scan(snapshots: &[&str], faults: &[&str], extra: &[&str]) -> Output {
    let mut args = Vec::new();
    for f in faults {
        args.extend(["--fault", f]);
    }
    let paths: Vec<_> = snapshots.iter().map(|s| fixture(s)).collect();
    let sim = start_sim_with(&paths, &args);
    let history = tempfile::tempdir().unwrap();
    let mut cmd = vec!["scan"];
    cmd.extend_from_slice(extra);
    capped_synccheck(&cmd, Some(&sim.address), history.path())
}

#[test]
fn a_reuse_bomb_in_a_lockdown_reply_is_a_clear_error() {
    let out = live_scan(&["healthy.plist"], &["plist-bomb"], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(8), "{err}");
    assert!(
        err.contains("broken reply to GetValue")
            && err.contains("the message goes over the plist object count limit"),
        "{err}"
    );
}

#[test]
fn deep_nesting_in_a_lockdown_reply_is_a_clear_error() {
    let out = live_scan(&["healthy.plist"], &["deep-plist"], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(8), "{err}");
    assert!(
        err.contains("broken reply to GetValue") && err.contains("nesting depth limit (64)"),
        "{err}"
    );
}

#[test]
fn a_bomb_from_one_phone_leaves_the_others_report() {
    let out = live_scan(
        &["failures.plist", "healthy.plist"],
        &["plist-bomb@1"],
        &["--json"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(8), "{err}");
    let report = common::report_json(&out);
    let devices = report["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "the healthy phone is reported: {err}");
    assert_eq!(err.matches("synccheck: error:").count(), 1, "{err}");
    assert!(err.contains("object count limit"), "{err}");
}

#[test]
fn a_syncstatus_bomb_leaves_photo_evidence_unknown_and_the_report_standing() {
    let out = live_scan(&["photos/synced.plist"], &["afc-plist-bomb"], &["--json"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let report = common::report_json(&out);
    let photos = &report["devices"][0]["facts"]["photos"];
    assert_eq!(
        photos["files"]["PhotoData/CPL/syncstatus.plist"], "unparsable",
        "{photos}"
    );
    assert!(photos["engine"].is_null(), "{photos}");
    // The rest of the photo evidence (the library summary) still stands.
    assert_eq!(photos["library"]["state"], "read", "{photos}");
}
