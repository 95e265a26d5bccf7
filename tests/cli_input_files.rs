//! Files the user names on the command line (`scan --from`, `--thresholds`, `report --from`,
//! `sim --snapshot`): anything but a regular file is refused without being opened for a
//! blocking read, and a file over the limit is refused by its size before a byte is read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;

use common::{fixture, wait_bounded};

/// Refusing takes milliseconds; the limit only turns a hang into a failure with a message.
const LIMIT: Duration = Duration::from_secs(20);

fn synccheck(args: &[&str], history: &Path) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(args)
        .env("SYNCCHECK_DB", history)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run synccheck");
    wait_bounded(child, &format!("synccheck {args:?}"), LIMIT)
}

/// A named pipe nobody ever writes to: opening it to read would block forever.
fn fifo(dir: &Path) -> PathBuf {
    let path = dir.join("pipe.plist");
    let made = Command::new("mkfifo").arg(&path).status().expect("mkfifo");
    assert!(made.success());
    path
}

/// A 100 MiB file that takes no disk: past the 64 MiB limit, and slow to read if it were read.
fn sparse(dir: &Path) -> PathBuf {
    let path = dir.join("huge.plist");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    path
}

fn assert_refused(out: &Output, what: &str, expected: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    let errors: Vec<_> = err
        .lines()
        .filter(|l| l.starts_with("synccheck: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{what}: one error line: {err}");
    assert!(
        errors[0].contains(expected),
        "{what}: {expected:?} in {err}"
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(out.stdout.is_empty(), "{what}");
}

/// Every command that reads a user-given file, with `bad` in that place.
fn commands(bad: &Path, dir: &Path) -> Vec<(String, Vec<String>)> {
    let bad = bad.to_str().unwrap().to_string();
    let healthy = fixture("healthy.plist").to_str().unwrap().to_string();
    let html = dir.join("sheet.html").to_str().unwrap().to_string();
    let socket = dir.join("mux.sock").to_str().unwrap().to_string();
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        ("scan --from".into(), args(&["scan", "--from", &bad])),
        (
            "scan --thresholds".into(),
            args(&["scan", "--from", &healthy, "--thresholds", &bad]),
        ),
        (
            "report --from".into(),
            args(&["report", "--from", &bad, "--html", &html]),
        ),
        (
            "sim --snapshot".into(),
            args(&["sim", "--socket", &socket, "--snapshot", &bad]),
        ),
    ]
}

#[test]
fn a_named_pipe_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path());
    for (what, args) in commands(&pipe, dir.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = synccheck(&args, &dir.path().join("history.sqlite"));
        assert_refused(&out, &what, "not a regular file (it is a named pipe)");
    }
}

#[test]
fn a_file_over_the_limit_is_refused_by_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let huge = sparse(dir.path());
    for (what, args) in commands(&huge, dir.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = synccheck(&args, &dir.path().join("history.sqlite"));
        let expected = if what == "scan --thresholds" {
            "over the limit of 1048576 bytes"
        } else {
            "larger than 67108864 bytes"
        };
        assert_refused(&out, &what, expected);
    }
}

#[test]
fn a_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("folder.plist");
    std::fs::create_dir(&folder).unwrap();
    for (what, args) in commands(&folder, dir.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = synccheck(&args, &dir.path().join("history.sqlite"));
        assert_refused(&out, &what, "not a regular file (it is a folder)");
    }
}

#[test]
fn inverted_thresholds_are_an_input_error_naming_section_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("thresholds.toml");
    std::fs::write(
        &file,
        "[battery-health]\nwarn_below_percent = 50.0\nfail_below_percent = 70.0\n",
    )
    .unwrap();
    let healthy = fixture("healthy.plist");
    let out = synccheck(
        &[
            "scan",
            "--from",
            healthy.to_str().unwrap(),
            "--thresholds",
            file.to_str().unwrap(),
        ],
        &dir.path().join("history.sqlite"),
    );
    assert_refused(
        &out,
        "inverted thresholds",
        "[battery-health] warn_below_percent = 50 is below fail_below_percent = 70",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(file.to_str().unwrap()), "{err}");
}
