//! Where the history lives: only the default location is created; a path the user gives
//! (`--db`, `SYNCCHECK_DB`) must be in an existing folder, and reading never creates anything.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{start_sim, wait_bounded};

const LIMIT: Duration = Duration::from_secs(60);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs synccheck with `home` as HOME, no XDG_DATA_HOME, and `SYNCCHECK_DB` only if given.
fn synccheck(args: &[&str], home: &Path, env_db: Option<&Path>, usbmuxd: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synccheck"));
    cmd.args(args)
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env_remove("SYNCCHECK_DB")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(db) = env_db {
        cmd.env("SYNCCHECK_DB", db);
    }
    if let Some(address) = usbmuxd {
        cmd.env("USBMUXD_SOCKET_ADDRESS", address);
    }
    let child = cmd.spawn().expect("run synccheck");
    wait_bounded(child, &format!("synccheck {args:?}"), LIMIT)
}

fn default_db(home: &Path) -> std::path::PathBuf {
    if cfg!(target_os = "macos") {
        home.join("Library/Application Support/synccheck/history.sqlite")
    } else {
        home.join(".local/share/synccheck/history.sqlite")
    }
}

/// Everything under `dir`, so a test can say nothing was created.
fn tree(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn reading_a_history_that_is_not_there_is_an_error_and_creates_nothing() {
    let home = tempfile::tempdir().unwrap();
    let typo = home.path().join("no/such/dir/x.db");
    let in_existing_folder = home.path().join("x.db");
    for db in [&typo, &in_existing_folder] {
        let db_arg = db.to_str().unwrap();
        for args in [
            vec!["history", "--db", db_arg],
            vec!["history", "show", "1", "--db", db_arg],
        ] {
            let out = synccheck(&args, home.path(), None, None);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains(&format!("there is no history database at {db_arg}"))
                    && err.contains("hint: check --db (or SYNCCHECK_DB) for a typo"),
                "{args:?}: {err}"
            );
            assert!(!err.contains("No scans recorded"), "{err}");
        }
        // The same path from the environment is the user's choice too.
        let out = synccheck(&["history"], home.path(), Some(db), None);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    }
    assert!(tree(home.path()).is_empty(), "{:?}", tree(home.path()));
}

#[test]
fn reading_the_default_history_before_any_scan_creates_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = synccheck(&["history"], home.path(), None, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("No scans recorded yet."));
    let out = synccheck(&["history", "show", "1"], home.path(), None, None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no scan 1 in the history"));
    assert!(tree(home.path()).is_empty(), "{:?}", tree(home.path()));
}

#[test]
fn a_named_pipe_as_the_history_is_refused_at_once() {
    let home = tempfile::tempdir().unwrap();
    let pipe = home.path().join("pipe.db");
    assert!(Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .unwrap()
        .success());
    let out = synccheck(
        &["history", "--db", pipe.to_str().unwrap()],
        home.path(),
        None,
        None,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is not a regular file (it is a named pipe)"),
        "{err}"
    );
}

#[test]
fn a_scan_creates_only_the_default_location() {
    let sim = start_sim(1, &[]);
    let home = tempfile::tempdir().unwrap();

    // A given path in a folder that does not exist: the scan is reported, not recorded, and
    // no folder appears.
    let typo = home.path().join("no/such/dir/x.db");
    let out = synccheck(
        &["scan", "--json", "--db", typo.to_str().unwrap()],
        home.path(),
        None,
        Some(&sim.address),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!out.stdout.is_empty());
    assert!(
        err.contains("scans will not be recorded: the folder of the history database")
            && err.contains("does not exist"),
        "{err}"
    );
    assert!(tree(home.path()).is_empty(), "{:?}", tree(home.path()));

    // A new file in an existing folder is fine.
    let given = home.path().join("given.sqlite");
    let out = synccheck(
        &["scan", "--json"],
        home.path(),
        Some(&given),
        Some(&sim.address),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(given.is_file());
    let out = synccheck(&["history"], home.path(), Some(&given), None);
    assert_eq!(
        text(&out.stdout).lines().count(),
        2,
        "{}",
        text(&out.stdout)
    );

    // The default location gets its folders.
    let out = synccheck(&["scan", "--json"], home.path(), None, Some(&sim.address));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(default_db(home.path()).is_file());
}
