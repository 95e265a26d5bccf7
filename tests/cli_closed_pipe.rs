//! A reader that stops early (`synccheck history | head -2`) must end synccheck quietly: no
//! panic text, no error, whatever the command. The pipe's reading end is closed before the
//! command starts, so its very first write finds the pipe closed: no race with the reader.

mod common;

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{start_sim, synccheck_at, wait_bounded};

const LIMIT: Duration = Duration::from_secs(60);

/// A pipe whose reader has already gone: the writing end, for a child's stdout.
fn closed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe(2)");
    // SAFETY: both descriptors were just made by pipe(2) and are owned only here.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    writer
}

/// Runs synccheck with its stdout into a closed pipe: (exit code, stderr).
fn into_closed_pipe(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synccheck"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(closed_pipe()))
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run synccheck");
    // wait_bounded drains stdout and stderr: give it an empty stdout to read.
    child.stdout = None;
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut { stderr }, &mut text);
        text
    });
    let status = wait_for(child);
    (status, reader.join().unwrap())
}

fn wait_for(mut child: std::process::Child) -> Option<i32> {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("synccheck still running after {LIMIT:?} with its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_quiet(what: &str, (code, stderr): (Option<i32>, String)) {
    assert!(
        !stderr.contains("panicked")
            && !stderr.contains("Broken pipe")
            && !stderr.contains("error"),
        "{what}: stderr says {stderr:?}"
    );
    // 141 is what a shell reports for a process ended by SIGPIPE; a report command keeps the
    // verdict's code (0 or 1).
    assert!(
        matches!(code, Some(0 | 1 | 141)),
        "{what}: exit code {code:?}; stderr {stderr:?}"
    );
}

#[test]
fn history_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let db_arg = db.to_str().unwrap();
    let sim = start_sim(1, &[]);
    let scan = synccheck_at(&sim.address, &["scan", "--db", db_arg], LIMIT);
    assert!(scan.status.code().is_some(), "the scan ran");
    let listed = synccheck_at(&sim.address, &["history", "--db", db_arg], LIMIT);
    assert!(
        String::from_utf8_lossy(&listed.stdout).lines().count() >= 2,
        "the history holds the scan"
    );
    assert_quiet(
        "history",
        into_closed_pipe(&["history", "--db", db_arg], &[]),
    );
    assert_quiet(
        "list",
        into_closed_pipe(&["list"], &[("USBMUXD_SOCKET_ADDRESS", &sim.address)]),
    );
}

#[test]
fn reports_completions_and_man_into_a_closed_pipe_end_quietly() {
    assert_quiet("demo", into_closed_pipe(&["demo"], &[]));
    assert_quiet("demo --json", into_closed_pipe(&["demo", "--json"], &[]));
    assert_quiet(
        "completions",
        into_closed_pipe(&["completions", "bash"], &[]),
    );
    assert_quiet("man", into_closed_pipe(&["man"], &[]));
}

#[test]
fn an_unread_pipe_still_gets_everything() {
    // The quiet ending is for a closed pipe only: a reader that stays gets the whole page.
    let out = wait_bounded(
        Command::new(env!("CARGO_BIN_EXE_synccheck"))
            .args(["completions", "bash"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        "completions",
        LIMIT,
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("complete -F _synccheck"));
}
