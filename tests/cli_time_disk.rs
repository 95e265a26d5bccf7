//! What a hostile or broken phone can cost in time and disk (issue 14): each scan has a disk
//! budget and a deadline of its own, a silent or refusing AFC costs only the photo evidence,
//! and the private library copy is owner-only and gone however the scan ends. Every scan
//! here runs with TMPDIR in a directory of the test's own, so what it leaves can be seen, and
//! with small budgets, so a failing test never fills the disk.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{finding, fixture, report_json as json, start_sim_with, wait_bounded, Sim};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(90);

fn sim(faults: &[&str]) -> Sim {
    let mut args = Vec::new();
    for f in faults {
        args.push("--fault");
        args.push(*f);
    }
    start_sim_with(&[fixture("photos/synced.plist")], &args)
}

/// A child killed when the test ends, so a failed assertion never leaves `watch` running.
struct Running(Option<Child>);

impl Running {
    fn get(&mut self) -> &mut Child {
        self.0.as_mut().expect("still running")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `synccheck ARGS` against `sim`, its temporary files in `tmp`, its log at debug level.
fn spawn(sim: &Sim, tmp: &Path, args: &[&str]) -> (Child, tempfile::TempDir) {
    let history = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(args)
        .env("USBMUXD_SOCKET_ADDRESS", &sim.address)
        .env("SYNCCHECK_DB", history.path().join("history.sqlite"))
        .env("SYNCCHECK_LOG", "synccheck=debug")
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run synccheck");
    (child, history)
}

fn scan(sim: &Sim, tmp: &Path, args: &[&str]) -> Output {
    let mut all = vec!["scan", "--json"];
    all.extend_from_slice(args);
    let (child, _history) = spawn(sim, tmp, &all);
    let out = wait_bounded(child, &format!("scan {args:?}"), LIMIT);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "a report, not a failed scan: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The photo library finding says the library was not read, and why; what lockdown and
/// diagnostics_relay said still stands.
fn photos_not_read(r: &Value, why: &str) {
    let f = finding(r, "photos-upload");
    assert_eq!(f["status"], "manual", "{f}");
    let text = f.to_string();
    assert!(text.contains("photo library not read"), "{f}");
    assert!(text.contains(why), "{why}: {f}");
    assert_eq!(finding(r, "device-storage")["status"], "pass");
    assert_eq!(finding(r, "battery-health")["status"], "pass");
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_library_announced_past_the_budget_is_not_copied() {
    let sim = sim(&["endless-db=1000000000000"]);
    let tmp = tempfile::tempdir().unwrap();
    let out = scan(
        &sim,
        tmp.path(),
        &["--disk-budget", "20M", "--photo-read", "copy"],
    );
    photos_not_read(&json(&out), "disk budget of 20 MB");
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

#[test]
fn an_endless_library_is_stopped_at_the_disk_budget() {
    // A plausible size, then zeros without end: only the budget stops the copy.
    let sim = sim(&["endless-db=4096"]);
    let tmp = tempfile::tempdir().unwrap();
    let out = scan(
        &sim,
        tmp.path(),
        &["--disk-budget", "20M", "--photo-read", "copy"],
    );
    let r = json(&out);
    photos_not_read(&r, "disk budget of 20 MB");
    assert!(r.to_string().contains("the copy was stopped at"), "{r}");
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

/// Read in place (the default), a library that claims a terabyte of zeros costs one read of
/// its header: not SQLite. Nothing is written, whatever the budget.
#[test]
fn an_endless_library_read_in_place_is_refused_at_its_header() {
    let sim = sim(&["endless-db=1000000000000"]);
    let tmp = tempfile::tempdir().unwrap();
    let out = scan(&sim, tmp.path(), &["--disk-budget", "1"]);
    let r = json(&out);
    let f = finding(&r, "photos-upload");
    assert_eq!(f["status"], "manual", "{f}");
    assert!(f.to_string().contains("not an SQLite database"), "{f}");
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

#[test]
fn a_trickling_library_gives_up_at_the_deadline() {
    let sim = sim(&["trickle=20"]);
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = scan(&sim, tmp.path(), &["--timeout", "3", "--deadline", "2"]);
    photos_not_read(&json(&out), "deadline of 2 s passed");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

#[test]
fn a_library_whose_summary_never_ends_gives_up_at_the_deadline() {
    let sim = sim(&["slow-db"]);
    let tmp = tempfile::tempdir().unwrap();
    // Its slowness is in `quick_check`, which only the full copy runs.
    let out = scan(
        &sim,
        tmp.path(),
        &["--deadline", "3", "--photo-read", "copy"],
    );
    photos_not_read(&json(&out), "deadline of 3 s passed");
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

#[test]
fn a_silent_afc_costs_only_the_photo_evidence() {
    let sim = sim(&["afc-silent"]);
    let tmp = tempfile::tempdir().unwrap();
    let out = scan(&sim, tmp.path(), &["--timeout", "1"]);
    photos_not_read(&json(&out), "did not answer AFC");
}

#[test]
fn a_refusing_afc_costs_only_the_photo_evidence() {
    let sim = sim(&["afc-denied=/"]);
    let tmp = tempfile::tempdir().unwrap();
    let out = scan(&sim, tmp.path(), &[]);
    let r = json(&out);
    let f = finding(&r, "photos-upload");
    assert_eq!(f["status"], "manual", "{f}");
    assert!(f.to_string().contains("refused"), "{f}");
    assert_eq!(finding(&r, "device-storage")["status"], "pass");
}

/// `child`'s stderr, line by line, read on a thread.
fn stderr_lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::{BufRead, BufReader};
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line holding `marker`, failing past [`LIMIT`] or when the child's stderr ends.
fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, marker: &str) {
    let started = Instant::now();
    loop {
        let left = LIMIT.saturating_sub(started.elapsed());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(marker) => return,
            Ok(_) => {}
            Err(e) => panic!("no `{marker}` line: {e}"),
        }
    }
}

/// Reads a pipe to its end on a thread, so the child never blocks writing to it.
fn drain(pipe: Option<impl std::io::Read + Send + 'static>) {
    if let Some(mut pipe) = pipe {
        std::thread::spawn(move || std::io::copy(&mut pipe, &mut std::io::sink()));
    }
}

fn terminate(child: &mut Running) {
    let child = child.get();
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
}

/// Waits for `child` to exit, killing it (and failing) past `limit`.
fn exits_within(child: &mut Running, limit: Duration) -> std::process::ExitStatus {
    let child = child.get();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < limit,
            "still running {limit:?} after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_private_copy_is_owner_only_and_gone_after_sigterm() {
    use std::os::unix::fs::PermissionsExt;
    let sim = sim(&["trickle=50"]);
    let tmp = tempfile::tempdir().unwrap();
    let (child, _history) = spawn(
        &sim,
        tmp.path(),
        &["scan", "--json", "--photo-read", "copy"],
    );
    let mut child = Running(Some(child));
    drain(child.get().stdout.take());
    drain(child.get().stderr.take());
    // The copy has begun once its first byte is written: the file exists, with its mode.
    let started = Instant::now();
    let (dir, file) = loop {
        let copy = entries(tmp.path())
            .into_iter()
            .find(|n| n.starts_with("synccheck-photos-"))
            .map(|n| tmp.path().join(n).join("Photos.sqlite"));
        if let Some(file) = copy.filter(|f| f.exists()) {
            break (file.parent().unwrap().to_path_buf(), file);
        }
        assert!(started.elapsed() < LIMIT, "no library copy began");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&file), 0o600);
    terminate(&mut child);
    let status = exits_within(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(143), "128 + SIGTERM");
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

#[test]
fn sigterm_mid_query_ends_a_scan_promptly() {
    let sim = sim(&["slow-db"]);
    let tmp = tempfile::tempdir().unwrap();
    let (child, _history) = spawn(
        &sim,
        tmp.path(),
        &["scan", "--json", "--photo-read", "copy"],
    );
    let mut child = Running(Some(child));
    drain(child.get().stdout.take());
    let lines = stderr_lines(child.get());
    wait_for_line(&lines, "summarising the photo library");
    terminate(&mut child);
    let status = exits_within(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(143), "128 + SIGTERM");
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

/// Read in place, the query waits on the phone: SIGTERM ends it as promptly.
#[test]
fn sigterm_mid_read_in_place_ends_a_scan_promptly() {
    let sim = sim(&["trickle=50"]);
    let tmp = tempfile::tempdir().unwrap();
    let (child, _history) = spawn(&sim, tmp.path(), &["scan", "--json"]);
    let mut child = Running(Some(child));
    drain(child.get().stdout.take());
    let lines = stderr_lines(child.get());
    wait_for_line(&lines, "querying the photo library in place");
    terminate(&mut child);
    let status = exits_within(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(143), "128 + SIGTERM");
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

#[test]
fn sigterm_mid_query_ends_watch_promptly() {
    let sim = sim(&["slow-db"]);
    let tmp = tempfile::tempdir().unwrap();
    let (child, _history) = spawn(&sim, tmp.path(), &["watch", "--photo-read", "copy"]);
    let mut child = Running(Some(child));
    drain(child.get().stdout.take());
    let lines = stderr_lines(child.get());
    wait_for_line(&lines, "summarising the photo library");
    terminate(&mut child);
    let status = exits_within(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

#[test]
fn unplugging_a_phone_in_watch_stops_its_query() {
    let mut sim = sim(&["slow-db"]);
    let tmp = tempfile::tempdir().unwrap();
    let (child, _history) = spawn(&sim, tmp.path(), &["watch", "--photo-read", "copy"]);
    let mut child = Running(Some(child));
    drain(child.get().stdout.take());
    let lines = stderr_lines(child.get());
    wait_for_line(&lines, "summarising the photo library");
    sim.send("unplug 1");
    // The summary alone would run for minutes: it ends because its scan was cancelled.
    let started = Instant::now();
    wait_for_line(&lines, "summary ended: stopped: the scan was cancelled");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
    terminate(&mut child);
    assert!(exits_within(&mut child, Duration::from_secs(10)).success());
}
