//! `synccheck watch` end to end against the simulator: phones attached and detached while it
//! watches, concurrent scans, one phone stuck on Trust while another finishes, an unplug
//! mid-scan and the rescan after it, the history written once per scan, `--json-dir`, the full
//! report on demand, and Ctrl-C.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{fixture, start_sim_in, start_sim_with, Sim};

/// Generous: a debug build on a loaded 2-core CI machine. Waits end as soon as the line comes.
const WAIT: Duration = Duration::from_secs(60);

const HEALTHY_UDID: &str = "00008130-001C2D3E4F506172";
const FAILURES_UDID: &str = "00008030-001E2D3C4B5A6978";

/// A running `synccheck watch` whose status lines (stderr) are read as they come.
struct Watcher {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    seen: Vec<String>,
    /// Everything printed on stdout so far (reports asked for).
    stdout: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Watcher {
    fn start(sim: &Sim, args: &[&str]) -> Watcher {
        Self::start_with_env(sim, args, &[])
    }

    fn start_with_env(sim: &Sim, args: &[&str], env: &[(&str, &str)]) -> Watcher {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("history.sqlite");
        let mut child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
            .arg("watch")
            .args(args)
            .env("USBMUXD_SOCKET_ADDRESS", &sim.address)
            .env("SYNCCHECK_DB", &db)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start synccheck watch");
        let stdin = child.stdin.take().unwrap();
        let mut out = child.stdout.take().unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stdout);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watcher {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            stdout,
            _dir: dir,
            db,
        }
    }

    /// Waits for a status line holding every one of `parts`, and returns it.
    fn wait_for(&mut self, parts: &[&str]) -> String {
        self.wait_for_nth(parts, 1)
    }

    /// Waits for the `n`th status line holding every one of `parts`, and returns it.
    fn wait_for_nth(&mut self, parts: &[&str], n: usize) -> String {
        let matches = |l: &String| parts.iter().all(|p| l.contains(p));
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(l) = self.seen.iter().filter(|l| matches(l)).nth(n - 1) {
                return l.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line {n} with {parts:?} within {WAIT:?}; watch said:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Waits until stdout holds `part`, read across the report's wrapped lines.
    fn wait_for_stdout(&mut self, part: &str) {
        let deadline = Instant::now() + WAIT;
        let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        while !flat(&self.stdout.lock().unwrap()).contains(&flat(part)) {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "stdout never held {part:?}: {}",
                    self.stdout.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Ctrl-C, then everything it printed: (exit code, stdout, status lines).
    fn interrupt(mut self) -> (Option<i32>, String, Vec<String>) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("watch did not stop within {WAIT:?} of Ctrl-C");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends with the pipe; collect the rest.
        for line in self.lines.iter() {
            self.seen.push(line);
        }
        let stdout = self.stdout.lock().unwrap().clone();
        (status.code(), stdout, self.seen)
    }

    /// The scans recorded in this watcher's history: (udid, verdict) in order.
    fn history(&self) -> Vec<(String, String)> {
        history_rows(&self.db)
    }
}

fn history_rows(db: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT udid, verdict FROM scans ORDER BY id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

#[test]
fn phones_plugged_in_and_out_while_watching_are_scanned_each_time() {
    let mut sim = start_sim_with(&[fixture("healthy.plist"), fixture("failures.plist")], &[]);
    let mut w = Watcher::start(&sim, &[]);
    // Both phones, concurrently: each gets its number and its verdict.
    w.wait_for(&["[1]", "attached"]);
    w.wait_for(&["[2]", "attached"]);
    let healthy = w.wait_for(&["[1]", HEALTHY_UDID, "? to check", "iPhone 15 Pro"]);
    w.wait_for(&["[2]", FAILURES_UDID, "✘ fail", "iPhone 11"]);
    // In a pipe: one time-stamped line per change, the verdict and its top problem, no prose.
    let stamp = &healthy[..9];
    assert!(
        stamp.len() == 9
            && stamp.as_bytes()[2] == b':'
            && stamp.as_bytes()[5] == b':'
            && stamp.ends_with(' '),
        "{healthy}"
    );
    assert!(
        healthy.contains(": ? to check · ") && healthy.contains("steps to check on the phone"),
        "{healthy}"
    );
    assert!(!healthy.contains("and Enter"), "{healthy}");

    sim.send("unplug 2");
    w.wait_for(&["[2]", "unplugged"]);
    sim.send("plug 2");
    // Plugged back in: scanned again, under the same number.
    w.wait_for_nth(&["[2]", "attached"], 2);
    w.wait_for_nth(&[FAILURES_UDID, "✘ fail"], 2);

    // The full report on demand.
    w.type_line("2");
    w.wait_for_stdout("Verdict: fail");
    let history = w.history();
    let (code, stdout, lines) = w.interrupt();
    assert_eq!(code, Some(0), "Ctrl-C is a clean stop");
    assert!(
        stdout.contains("iPhone 11") && stdout.contains("Verdict: fail"),
        "typing 2 prints phone 2's full report:\n{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Stopped: 3 scan(s) recorded")),
        "{lines:?}"
    );
    let per_phone = |udid: &str| history.iter().filter(|(u, _)| u == udid).count();
    assert_eq!(
        history.len(),
        3,
        "one history row per finished scan: {history:?}"
    );
    assert_eq!(per_phone(HEALTHY_UDID), 1);
    assert_eq!(per_phone(FAILURES_UDID), 2);
    assert!(history
        .iter()
        .any(|(u, v)| u == FAILURES_UDID && v == "fail"));
}

#[test]
fn a_phone_stuck_on_trust_never_holds_up_another_and_ctrl_c_cancels_it() {
    let sim = start_sim_with(
        &[fixture("failures.plist"), fixture("healthy.plist")],
        &["--fault", "not-paired@1"],
    );
    let mut w = Watcher::start(&sim, &["--trust-timeout", "600"]);
    w.wait_for(&["[1]", FAILURES_UDID, "waiting for Trust", "tap Trust"]);
    w.wait_for(&["[2]", HEALTHY_UDID, "? to check"]);
    // Asking for the report of a phone still waiting says so.
    w.type_line("1");
    w.wait_for(&["[1] has no finished scan yet", "waiting for Trust"]);
    let history = w.history();
    let (code, _, lines) = w.interrupt();
    assert_eq!(code, Some(0));
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("[1]") && l.contains("✘ fail")),
        "phone 1 never got past Trust: {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains(
            "Stopped: 1 scan(s) recorded this session; 1 scan(s) under way were cancelled"
        )),
        "{lines:?}"
    );
    assert_eq!(
        history,
        vec![(HEALTHY_UDID.to_string(), "manual".to_string())]
    );
}

#[test]
fn a_phone_sending_plist_bombs_never_takes_down_another() {
    // 20,000 nested arrays used to overflow a watch worker's stack and abort the whole process,
    // taking every other phone's report with it.
    let sim = start_sim_with(
        &[fixture("failures.plist"), fixture("healthy.plist")],
        &["--fault", "deep-plist@1"],
    );
    let mut w = Watcher::start(&sim, &[]);
    w.wait_for(&["[1]", "nesting depth limit"]);
    w.wait_for(&["[2]", HEALTHY_UDID, "? to check"]);
    let history = w.history();
    let (code, _, lines) = w.interrupt();
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(
        history,
        vec![(HEALTHY_UDID.to_string(), "manual".to_string())]
    );
}

#[test]
fn unplugged_mid_scan_is_reported_then_rescanned_and_recorded_once() {
    let sim = start_sim_with(&[fixture("healthy.plist")], &["--fault", "replug-after=3"]);
    let json = tempfile::tempdir().unwrap();
    let json_dir = json.path().join("reports");
    let mut w = Watcher::start(&sim, &["--json-dir", json_dir.to_str().unwrap()]);
    w.wait_for(&["[1]", "unplugged mid-scan", "plug it back in"]);
    w.wait_for_nth(&["[1]", "attached"], 2);
    w.wait_for(&["[1]", "? to check"]);
    let history = w.history();
    let (code, _, lines) = w.interrupt();
    assert_eq!(code, Some(0));
    assert_eq!(
        history.len(),
        1,
        "the cut-short scan is not recorded: {lines:?}"
    );

    let files: Vec<String> = std::fs::read_dir(&json_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "one report, no temporary files: {files:?}");
    assert!(
        files[0].starts_with(&format!("{HEALTHY_UDID}-")) && files[0].ends_with("Z.json"),
        "{files:?}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(json_dir.join(&files[0])).unwrap()).unwrap();
    assert_eq!(report["schema"], "synccheck.report/1");
    assert_eq!(report["devices"][0]["verdict"]["status"], "manual");
}

#[test]
fn redacted_watch_hides_udids_and_serials_everywhere() {
    let sim = start_sim_with(&[fixture("healthy.plist")], &[]);
    let json = tempfile::tempdir().unwrap();
    let mut w = Watcher::start(
        &sim,
        &["--redact", "--json-dir", json.path().to_str().unwrap()],
    );
    w.wait_for(&["[1] iPhone", "? to check"]);
    w.type_line("1");
    w.wait_for_stdout("Verdict:");
    let (_, stdout, lines) = w.interrupt();
    let mut everything = format!("{stdout}\n{}", lines.join("\n"));
    for entry in std::fs::read_dir(json.path()).unwrap() {
        let entry = entry.unwrap();
        everything.push_str(&entry.file_name().to_string_lossy());
        everything.push_str(&std::fs::read_to_string(entry.path()).unwrap());
    }
    for secret in [HEALTHY_UDID, "F4GZK2LMN7Q1"] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }
}

#[test]
fn no_usbmuxd_is_exit_3_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::synccheck_at(
        &format!("UNIX:{}", dir.path().join("none.sock").display()),
        &["watch"],
        WAIT,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("no usbmuxd is listening"), "{err}");
}

#[test]
fn usbmuxd_going_away_is_said_and_watching_resumes_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("mux.sock");
    let keep = tempfile::tempdir().unwrap();
    let sim = start_sim_in(
        tempfile::tempdir_in(keep.path()).unwrap(),
        socket.clone(),
        &[fixture("healthy.plist")],
        &[],
    );
    let mut w = Watcher::start(&sim, &[]);
    w.wait_for(&["[1]", "? to check"]);
    drop(sim);
    w.wait_for(&["lost usbmuxd's event feed", "listening again"]);
    // A usbmuxd comes back on the same socket, with another phone.
    let _sim = start_sim_in(
        tempfile::tempdir_in(keep.path()).unwrap(),
        socket,
        &[fixture("failures.plist")],
        &[],
    );
    w.wait_for(&["listening to usbmuxd again"]);
    w.wait_for(&["[2]", FAILURES_UDID, "✘ fail"]);
    let (code, _, _) = w.interrupt();
    assert_eq!(code, Some(0));
    drop(dir);
}

/// A phone plugged in again is compared with its last scan: the demo phone's backlog did not
/// move between the two plug-ins, seconds apart, and the second verdict says that is too soon
/// to call it "no upload progress" (`[photos-upload] no_progress_after_minutes`, 30 by default).
#[test]
fn a_replugged_phone_is_compared_with_its_last_scan() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo-iphone.plist");
    let mut sim = start_sim_with(&[demo], &[]);
    let mut w = Watcher::start(&sim, &[]);
    w.wait_for(&["[1]", "history #1"]);
    sim.send("unplug 1");
    w.wait_for(&["[1]", "unplugged"]);
    sim.send("plug 1");
    // The board's line gives the top problem; the comparison is in the full report.
    w.wait_for(&["[1]", "history #2"]);
    w.type_line("1");
    w.wait_for(&["Phone 1's report (history #2"]);
    w.wait_for_stdout("too soon to judge upload progress");
    let (code, second, _) = w.interrupt();
    assert_eq!(code, Some(0));
    let second = second.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        second.contains("1204 photos") && second.contains("the last scan (history #1) was"),
        "{second}"
    );
    assert!(!second.contains("no upload progress"), "{second}");
}

#[test]
fn a_history_write_that_stalls_never_holds_up_another_phone() {
    // The test hook stops the first scan's write inside its transaction, as a slow disk or a
    // locked database would, for good. Writes used to run on the event loop: the other phone
    // was read but never shown, and nothing on the bench moved again.
    let sim = start_sim_with(&[fixture("failures.plist"), fixture("healthy.plist")], &[]);
    let mut w = Watcher::start_with_env(&sim, &[], &[(synccheck_history::TEST_PAUSE_ENV, "1")]);
    w.wait_for(&[synccheck_history::TEST_PAUSE_MARKER]);
    // Whichever phone finished second is judged and shown while the first is still being
    // written; its history number is not there yet.
    let shown = w.wait_for(&[" · iOS "]);
    assert!(
        shown.contains("✘ fail") || shown.contains("? to check"),
        "{shown}"
    );
    assert!(!shown.contains("history #"), "{shown}");
    // Asking for its report works too: the loop is not waiting on the writer.
    let number = if shown.contains("[1]") { "1" } else { "2" };
    w.type_line(number);
    w.wait_for_stdout("Verdict:");
    let _ = w.child.kill();
    let _ = w.child.wait();
}
