//! `synccheck restart` end to end against the simulator: the phone restarts and comes back (and
//! is rescanned and compared), comes back locked (and the unlock is waited for), or never comes
//! back (a clear message and exit code 10); `--no-rescan`; the history records the restart.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{fixture, start_sim_with, synccheck_at, Sim};

const LIMIT: Duration = Duration::from_secs(90);

/// The serial and UDID of fixtures/photos/backlog-failing.plist.
const SERIAL: &str = "F4GZK2LMN7Q1";
const UDID: &str = "00008130-001C2D3E4F506172";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn backlog_phone(faults: &[&str]) -> Sim {
    let mut args = Vec::new();
    for f in faults {
        args.extend(["--fault", f]);
    }
    start_sim_with(&[fixture("photos/backlog-failing.plist")], &args)
}

#[test]
fn the_phone_comes_back_and_is_rescanned_and_compared_with_the_scan_before() {
    let sim = backlog_phone(&[]);
    // --details: the evidence says which scan the backlog was compared with.
    let out = synccheck_at(
        &sim.address,
        &["restart", "--color", "never", "--details"],
        LIMIT,
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // The backlog fixture fails photos-upload before and after: the verdict's exit code.
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    for said in [
        "scanning before the restart",
        "before: verdict: fail; waiting to upload: 812 photos (3.1 GB); iCloud Photos engine: ",
        "restarting; waiting for it to come back",
        "it has gone down",
        "it is back on usbmuxd",
        "scanning again",
    ] {
        assert!(stderr.contains(said), "{said:?} not in {stderr}");
    }
    assert!(
        !stderr.contains("unlock the iPhone"),
        "an unlocked phone is not waited for: {stderr}"
    );
    let compared = stdout
        .split("Before and after the restart:")
        .nth(1)
        .unwrap_or_else(|| panic!("no comparison in {stdout}"));
    assert!(compared.contains("verdict: fail (unchanged)"), "{compared}");
    assert!(
        compared.contains("waiting to upload: 812 photos (3.1 GB) (unchanged)"),
        "{compared}"
    );
    assert!(compared.contains("iCloud Photos engine: "), "{compared}");
    assert!(compared.contains("restart: to check -> pass"), "{compared}");
    // photos-upload compares the backlog with the scan before the restart, as after a replug.
    assert!(
        stdout.contains("the scan before the restart at "),
        "{stdout}"
    );
}

#[test]
fn the_history_records_the_scan_after_with_the_restart_done() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let db_arg = db.to_str().unwrap();
    let sim = backlog_phone(&[]);
    let out = synccheck_at(&sim.address, &["restart", "--json", "--db", db_arg], LIMIT);
    let after = common::report_json(&out);
    assert_eq!(common::finding(&after, "restart")["status"], "pass");
    // stdout is the JSON report alone; the comparison goes to stderr.
    assert!(text(&out.stderr).contains("Before and after the restart:"));

    let show = |id: &str| {
        let out = synccheck_at(
            "unused",
            &["history", "show", id, "--json", "--db", db_arg],
            LIMIT,
        );
        common::report_json(&out)
    };
    let (before, recorded_after) = (show("1"), show("2"));
    assert_eq!(common::finding(&before, "restart")["status"], "manual");
    assert_eq!(
        common::finding(&recorded_after, "restart")["status"],
        "pass",
        "the scan after the restart is kept with restart=done"
    );
    assert_eq!(
        common::finding(&recorded_after, "restart")["summary"],
        common::finding(&after, "restart")["summary"]
    );
}

#[test]
fn a_phone_that_comes_back_locked_is_waited_for_until_it_unlocks() {
    // It refuses three sessions, then lets the fourth in: no clock decides when.
    let sim = backlog_phone(&["locked-after-restart=3"]);
    let out = synccheck_at(&sim.address, &["restart", "--json"], LIMIT);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr
            .matches("unlock the iPhone with its passcode: after a restart")
            .count(),
        1,
        "said once, however often the phone is asked: {stderr}"
    );
    assert!(stderr.contains("scanning again"), "{stderr}");
    let after = common::report_json(&out);
    assert_eq!(common::finding(&after, "restart")["status"], "pass");
}

#[test]
fn the_technician_unlocks_the_phone_while_restart_waits() {
    let mut sim = backlog_phone(&["locked-after-restart"]);
    let history = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["restart", "--json", "--trust-timeout", "60"])
        .env("USBMUXD_SOCKET_ADDRESS", &sim.address)
        .env("SYNCCHECK_DB", history.path().join("h.sqlite"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut said = Vec::new();
    // The unlock is typed once the command says it waits for it, as a technician would.
    loop {
        let line = rx
            .recv_timeout(LIMIT)
            .unwrap_or_else(|_| panic!("no unlock prompt; stderr so far: {said:?}"));
        let prompt = line.contains("unlock the iPhone with its passcode");
        said.push(line);
        if prompt {
            break;
        }
    }
    sim.send("unlock 1");
    let out = wait_with_stdout(child);
    let rest: Vec<String> = rx.try_iter().collect();
    assert_eq!(out.status.code(), Some(1), "{said:?} {rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("scanning again")),
        "{said:?} {rest:?}"
    );
    let after = common::report_json(&out);
    assert_eq!(common::finding(&after, "restart")["status"], "pass");
}

/// Waits for `child` (its stderr already taken), reading its stdout; killed past [`LIMIT`].
fn wait_with_stdout(mut child: std::process::Child) -> std::process::Output {
    use std::io::Read;
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("synccheck restart still running after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: reader.join().unwrap(),
        stderr: Vec::new(),
    }
}

#[test]
fn a_phone_left_locked_past_the_trust_timeout_is_exit_code_7() {
    let sim = backlog_phone(&["locked-after-restart"]);
    let out = synccheck_at(&sim.address, &["restart", "--trust-timeout", "1"], LIMIT);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(
        stderr.contains("the iPhone is locked with a passcode"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: unlock the iPhone"), "{stderr}");
    assert!(out.stdout.is_empty(), "no report without the scan after");
}

#[test]
fn a_phone_that_never_comes_back_is_a_clear_message_and_exit_code_10() {
    let sim = backlog_phone(&["no-return-after-restart"]);
    let out = synccheck_at(&sim.address, &["restart", "--timeout", "5"], LIMIT);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{stderr}");
    assert!(stderr.contains("it has gone down"), "{stderr}");
    assert!(
        stderr.contains("went down for its restart and did not come back within 5s"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: look at the screen"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn no_rescan_stops_once_the_phone_is_back() {
    let sim = backlog_phone(&["locked-after-restart"]);
    // Locked until told, and nobody tells it: --no-rescan does not wait for the unlock.
    let out = synccheck_at(&sim.address, &["restart", "--no-rescan", "--json"], LIMIT);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("it is back on usbmuxd"), "{stderr}");
    assert!(
        stderr.contains("not scanning again (--no-rescan)"),
        "{stderr}"
    );
    assert!(!stderr.contains("unlock the iPhone"), "{stderr}");
    let before = common::report_json(&out);
    assert_eq!(
        common::finding(&before, "restart")["status"],
        "manual",
        "the report is the scan before the restart"
    );
}

#[test]
fn redact_hides_the_phone_in_every_message() {
    let sim = backlog_phone(&["locked-after-restart=1"]);
    let out = synccheck_at(
        &sim.address,
        &["restart", "--redact", "--color", "never"],
        LIMIT,
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for hidden in [SERIAL, UDID, "Sam"] {
        assert!(!stdout.contains(hidden), "{hidden} in {stdout}");
        assert!(!stderr.contains(hidden), "{hidden} in {stderr}");
    }
    assert!(
        stderr.contains("iPhone 1 (UDID hidden): it is back"),
        "{stderr}"
    );
}

#[test]
fn several_phones_need_a_udid() {
    let sim = start_sim_with(
        &[
            fixture("healthy.plist"),
            fixture("photos/backlog-failing.plist"),
        ],
        &[],
    );
    let out = synccheck_at(&sim.address, &["restart"], LIMIT);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("name the one to restart with --udid"),
        "{stderr}"
    );
    // The fixtures share a UDID: the simulator gives the second a successor, so UDID names the
    // first phone only.
    let out = synccheck_at(
        &sim.address,
        &["restart", "--udid", UDID, "--no-rescan", "--json"],
        LIMIT,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.matches("it is back on usbmuxd").count(),
        1,
        "one phone restarted: {stderr}"
    );
    assert!(
        stderr.contains(&format!("iPhone {UDID}: it is back")),
        "{stderr}"
    );
}

/// libimobiledevice reads the simulator's restart and lock the way it reads a real phone's:
/// `idevicediagnostics restart` restarts it, and afterwards a session is refused as "Password
/// protected" while the values any host may read (`-s`) still answer.
#[test]
fn libimobiledevice_sees_the_restarted_phone_locked() {
    if !common::libimobiledevice_present(&["idevicediagnostics", "ideviceinfo"]) {
        return;
    }
    let mut sim = backlog_phone(&["locked-after-restart"]);
    // A Listen feed of our own, opened before the restart, tells when the phone is back.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mux = synccheck_device::Usbmuxd::new(
        synccheck_device::UsbmuxdAddress::parse(&sim.address).unwrap(),
        Duration::from_secs(10),
    );
    let mut feed = runtime.block_on(mux.listen()).unwrap();
    let address = sim.address.clone();
    let tool = |args: &[&str]| common::run_tool(&address, args[0], &args[1..], LIMIT);
    let (ok, out, err) = tool(&["idevicediagnostics", "restart"]);
    assert!(ok, "{out}{err}");
    runtime.block_on(async {
        let mut away = false;
        loop {
            match tokio::time::timeout(LIMIT, feed.next())
                .await
                .unwrap()
                .unwrap()
            {
                synccheck_device::MuxEvent::Detached { .. } => away = true,
                synccheck_device::MuxEvent::Attached(_) if away => break,
                _ => {}
            }
        }
    });
    let (ok, out, err) = tool(&["ideviceinfo", "-k", "ProductType"]);
    assert!(!ok, "a session on a locked phone: {out}");
    assert!(err.contains("Password protected"), "{err}");
    let (ok, out, err) = tool(&["ideviceinfo", "-s", "-k", "ProductType"]);
    assert!(ok && out.contains("iPhone"), "{out}{err}");
    sim.send("unlock 1");
    // The unlock is read on the simulator's own thread: ask until it has taken effect.
    let (ok, out, err) = (0..200)
        .map(|_| tool(&["ideviceinfo", "-k", "ProductType"]))
        .find(|(ok, ..)| *ok)
        .unwrap_or_else(|| (false, String::new(), "still locked".into()));
    assert!(ok && out.contains("iPhone"), "{out}{err}");
}

/// `sim --after-restart` gives the phone a fresh engine state once it restarts: the comparison
/// then shows what moved, and `photos-upload` sees the backlog fall since the scan before.
#[test]
fn a_fresh_engine_state_after_the_restart_shows_in_the_comparison() {
    let after = fixture("photos/backlog-after-restart.plist");
    let sim = start_sim_with(
        &[fixture("photos/backlog-failing.plist")],
        &["--after-restart", after.to_str().unwrap()],
    );
    // --details: a passing step's words (the backlog fell) are printed in full.
    let out = synccheck_at(
        &sim.address,
        &["restart", "--color", "never", "--details"],
        LIMIT,
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("down from 812")
            && stdout.contains("(the scan before the restart): uploads are moving"),
        "{stdout}"
    );
    let compared = stdout
        .split("Before and after the restart:")
        .nth(1)
        .unwrap();
    for line in [
        "verdict: fail -> pass",
        "waiting to upload: 812 photos (3.1 GB) -> 640 photos (2.4 GB)",
        "photos-upload: fail -> pass",
        "restart: to check -> pass",
    ] {
        assert!(compared.contains(line), "{line:?} not in {compared}");
    }
    assert!(
        compared.contains("iCloud Photos engine: has changes to process, last sync ")
            && compared.contains(" -> has changes to process, last sync "),
        "{compared}"
    );
}

#[test]
fn after_restart_needs_a_snapshot_with_a_photo_library_and_a_phone_that_exists() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_synccheck"))
            .arg("sim")
            .arg("--snapshot")
            .arg(fixture("healthy.plist"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (out.status.code(), text(&out.stderr))
    };
    let healthy = fixture("healthy.plist");
    let (code, stderr) = run(&["--after-restart", healthy.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("has no PhotoLibrary section"), "{stderr}");
    let after = format!(
        "{}@2",
        fixture("photos/backlog-after-restart.plist").display()
    );
    let (code, stderr) = run(&["--after-restart", &after]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("there is no phone 2"), "{stderr}");
}
