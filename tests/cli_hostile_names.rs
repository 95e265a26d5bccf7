//! Phones that name themselves with hostile text, end to end against the simulator (served with
//! `--exact-udids`, so a tampered UDID reaches the client as written) and through `scan --from`:
//! file names built from a UDID stay in their folder and never overwrite each other; a device
//! name full of terminal commands reaches no terminal, page or log raw; such a name is saved
//! and recorded exactly and replays to the same report; `--redact` hides the UDID, serial and
//! name on every command.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, start_sim_with, synccheck_at, wait_bounded};
use synccheck_core::snapshot::{self, Snapshot};

const LIMIT: Duration = Duration::from_secs(120);

/// Title, clear screen, an OSC 8 link, an 8-bit CSI, a bidi override, and C0 that XML cannot
/// carry: each would act on a terminal or break an XML reader.
const HOSTILE_NAME: &str = "Eve\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}]8;;http://evil.example\u{1b}\\link\u{1b}]8;;\u{1b}\\\u{9b}31m\u{202e}gpj.exe\u{1}\u{0}";

const HEALTHY_UDID: &str = "00008130-001C2D3E4F506172";
const HEALTHY_SERIAL: &str = "F4GZK2LMN7Q1";
const HEALTHY_NAME: &str = "Sam’s iPhone";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The healthy phone (without its photo library, to keep the test quick), renamed and with
/// another UDID when asked, saved as a binary plist (XML cannot hold the hostile values).
fn phone(dir: &Path, file: &str, udid: Option<&str>, name: Option<&str>) -> PathBuf {
    let mut snap: Snapshot = snapshot::load_file(&fixture("healthy.plist")).unwrap();
    snap.photo_library = None;
    if let Some(udid) = udid {
        snap.lockdown
            .insert("UniqueDeviceID".into(), udid.to_string().into());
    }
    if let Some(name) = name {
        snap.lockdown
            .insert("DeviceName".into(), name.to_string().into());
    }
    let path = dir.join(file);
    let mut out = Vec::new();
    snap.to_plist().to_writer_binary(&mut out).unwrap();
    std::fs::write(&path, out).unwrap();
    path
}

/// No terminal command, C1 control or bidi override in what a surface printed.
fn assert_printable(what: &str, bytes: &[u8]) {
    assert!(
        !bytes.contains(&0x1b),
        "{what}: a raw ESC got through:\n{}",
        text(bytes)
    );
    let s = text(bytes);
    for bad in ['\u{9b}', '\u{202e}', '\u{7}', '\u{0}', '\u{1}'] {
        assert!(!s.contains(bad), "{what}: {bad:?} got through:\n{s}");
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn hostile_udids_never_write_outside_the_folder_nor_over_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let long = "F".repeat(600);
    let snaps = [
        phone(dir.path(), "1.plist", Some("../../escaped"), None),
        phone(dir.path(), "2.plist", Some("a/b\u{0}c"), None),
        phone(dir.path(), "3.plist", Some(&long), None),
        phone(
            dir.path(),
            "4.plist",
            Some("00008030-00AABBCCDDEEFF01"),
            None,
        ),
        phone(
            dir.path(),
            "5.plist",
            Some("00008030-00AABBCCDDEEFF01"),
            None,
        ),
        phone(dir.path(), "6.plist", Some("slash/inside-0001"), None),
    ];
    let sim = start_sim_with(&snaps, &["--exact-udids"]);
    let out_dir = dir.path().join("bench").join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let snapshot = out_dir.join("scan.plist");
    let sheet = out_dir.join("sheet.html");
    let out = synccheck_at(
        &sim.address,
        &[
            "scan",
            "--no-photo-library",
            "--save-snapshot",
            snapshot.to_str().unwrap(),
            "--html",
            sheet.to_str().unwrap(),
        ],
        LIMIT,
    );
    let stderr = text(&out.stderr);
    // The phone whose UDID holds a NUL cannot be asked about (no valid request carries it):
    // that phone's error, and the other five are read, saved and reported.
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.contains("a/b\\u{0}c") && stderr.contains("XML cannot carry"),
        "{stderr}"
    );
    assert_printable("stderr", &out.stderr);
    assert_eq!(text(&out.stdout).matches("Verdict:").count(), 5);

    // Nothing outside the output folder, nothing but the sanitised names in it.
    let written = files_under(dir.path().join("bench").as_path());
    let names: Vec<String> = written
        .iter()
        .map(|p| {
            assert_eq!(p.parent(), Some(out_dir.as_path()), "{p:?} left the folder");
            p.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    let f64 = "F".repeat(64);
    let mut want = vec![
        "scan-______escaped.plist".to_string(),
        format!("scan-{f64}.plist"),
        "scan-00008030-00AABBCCDDEEFF01.plist".to_string(),
        "scan-00008030-00AABBCCDDEEFF01-2.plist".to_string(),
        "scan-slash_inside-0001.plist".to_string(),
    ];
    want.extend(
        want.clone()
            .iter()
            .map(|n| n.replace("scan-", "sheet-").replace(".plist", ".html")),
    );
    want.sort();
    let mut got = names.clone();
    got.sort();
    assert_eq!(got, want);
    assert!(!dir.path().join("escaped.plist").exists());
    // Two phones with one UDID: two files, each a whole snapshot.
    for n in [
        "scan-00008030-00AABBCCDDEEFF01.plist",
        "scan-00008030-00AABBCCDDEEFF01-2.plist",
    ] {
        snapshot::load_file(&out_dir.join(n)).unwrap();
    }
}

/// Runs `synccheck ARGS` (no phone needed) with its own history.
fn offline(args: &[&str], db: &Path) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(args)
        .env("SYNCCHECK_DB", db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_bounded(child, &format!("synccheck {args:?}"), LIMIT)
}

#[test]
fn a_hostile_name_reaches_no_terminal_nor_page_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let snap = phone(dir.path(), "eve.plist", None, Some(HOSTILE_NAME));
    let db = dir.path().join("h.sqlite");
    let sheet = dir.path().join("eve.html");
    let out = offline(
        &[
            "scan",
            "--from",
            snap.to_str().unwrap(),
            "--html",
            sheet.to_str().unwrap(),
        ],
        &db,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_printable("scan --from stdout", &out.stdout);
    assert_printable("scan --from stderr", &out.stderr);
    assert!(
        text(&out.stdout).contains("Eve\\u{1b}]0;pwned\\u{7}"),
        "shown, visibly escaped:\n{}",
        text(&out.stdout)
    );
    assert_printable("the sheet", &std::fs::read(&sheet).unwrap());
    // JSON stays faithful: the name is there, escaped by JSON itself.
    let out = offline(&["scan", "--json", "--from", snap.to_str().unwrap()], &db);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["devices"][0]["facts"]["identity"]["name"], HOSTILE_NAME);
    assert!(!out.stdout.contains(&0x1b));
}

/// `synccheck watch` until a phone's scan ends, then Ctrl-C: (stdout, stderr).
fn watch_one_scan(address: &str, args: &[&str], db: &Path, done: &str) -> (Vec<u8>, Vec<u8>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .arg("watch")
        .args(args)
        .env("USBMUXD_SOCKET_ADDRESS", address)
        .env("SYNCCHECK_DB", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut r = BufReader::new(stderr);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut err = Vec::new();
    let deadline = Instant::now() + LIMIT;
    while !text(&err).contains(done) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => err.extend(line),
            Err(_) => {
                let _ = child.kill();
                panic!("watch never said {done:?}:\n{}", text(&err));
            }
        }
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = wait_bounded_rest(child);
    for line in rx.iter() {
        err.extend(line);
    }
    (out, err)
}

fn wait_bounded_rest(mut child: std::process::Child) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let deadline = Instant::now() + LIMIT;
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "watch did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    }
    out
}

#[test]
fn a_hostile_name_reaches_no_terminal_live_and_is_saved_and_recorded_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let eve = phone(dir.path(), "eve.plist", None, Some(HOSTILE_NAME));
    // A second phone whose UDID itself holds terminal commands: no usbmuxd request can carry
    // it, so it cannot be read, and its error quotes it.
    let esc_udid = "\u{1b}[2J\u{1b}]0;x\u{7}-00008130-0000";
    let mallory = phone(
        dir.path(),
        "mallory.plist",
        Some(esc_udid),
        Some(HOSTILE_NAME),
    );
    let sim = start_sim_with(&[eve, mallory], &["--exact-udids"]);
    let db = dir.path().join("h.sqlite");
    let db_arg = db.to_str().unwrap();
    let saved = dir.path().join("saved.plist");
    let sheet = dir.path().join("sheet.html");
    let live = |args: &[&str]| synccheck_at(&sim.address, args, LIMIT);

    let out = live(&[
        "scan",
        "--db",
        db_arg,
        "--udid",
        HEALTHY_UDID,
        "--save-snapshot",
        saved.to_str().unwrap(),
        "--html",
        sheet.to_str().unwrap(),
        "--color",
        "always",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // With colour on, the only escapes are the report's own colour codes.
    let stdout = text(&out.stdout).replace("\u{1b}[", "");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{202e}'),
        "{stdout}"
    );
    assert!(!stdout.contains("]0;pwned\u{7}"), "{stdout}");
    assert_printable("scan stderr", &out.stderr);
    assert_printable("scan sheet", &std::fs::read(&sheet).unwrap());

    // Saved exactly (a binary plist: XML cannot hold it), and it replays to the same report.
    let bytes = std::fs::read(&saved).unwrap();
    assert!(bytes.starts_with(b"bplist00"), "{}", text(&bytes[..40]));
    let again = snapshot::load_file(&saved).unwrap();
    assert_eq!(
        again.lockdown.get("DeviceName").and_then(|v| v.as_string()),
        Some(HOSTILE_NAME)
    );
    let json_live = live(&["scan", "--json", "--udid", HEALTHY_UDID]);
    let json_file = offline(&["scan", "--json", "--from", saved.to_str().unwrap()], &db);
    let checks = |o: &Output| common::report_json(o)["devices"][0]["checks"].clone();
    assert_eq!(checks(&json_live), checks(&json_file));

    // Recorded in the history, which lists and reprints it printably.
    let out = offline(&["history", "--db", db_arg], &db);
    assert_eq!(
        text(&out.stdout).lines().count(),
        2,
        "{}",
        text(&out.stdout)
    );
    assert_printable("history", &out.stdout);
    let out = offline(&["history", "show", "1", "--db", db_arg], &db);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_printable("history show", &out.stdout);
    assert!(text(&out.stdout).contains("Eve\\u{1b}"));

    // list, and the untrusted phone's Trust prompt and error.
    let out = live(&["list"]);
    assert_printable("list stdout", &out.stdout);
    assert_printable("list stderr", &out.stderr);
    assert!(
        text(&out.stdout).contains("\\u{1b}[2J"),
        "{}",
        text(&out.stdout)
    );
    let out = live(&["scan", "--trust-timeout", "1"]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stderr));
    assert_printable("scan with an unreadable phone, stdout", &out.stdout);
    assert_printable("scan with an unreadable phone, stderr", &out.stderr);
    assert!(
        text(&out.stderr).contains("iPhone \\u{1b}[2J"),
        "{}",
        text(&out.stderr)
    );

    // watch: the board, the failure line of the unreadable phone.
    let (out, err) = watch_one_scan(
        &sim.address,
        &["--trust-timeout", "1", "--db", db_arg],
        &db,
        "could not be read",
    );
    assert_printable("watch stdout", &out);
    assert_printable("watch stderr", &err);
}

#[test]
fn redact_hides_udid_serial_and_name_on_every_command() {
    let dir = tempfile::tempdir().unwrap();
    // A phone that reads, one waiting for Trust, one that fails to read.
    let snaps = [
        fixture("healthy.plist"),
        fixture("healthy.plist"),
        fixture("healthy.plist"),
    ];
    let sim = start_sim_with(&snaps, &["--fault", "not-paired@2", "--fault", "garbage@3"]);
    let db = dir.path().join("h.sqlite");
    let db_arg = db.to_str().unwrap();
    let secrets = [&HEALTHY_UDID[..20], HEALTHY_SERIAL, HEALTHY_NAME, "Sam"];
    let assert_hidden = |what: &str, bytes: &[u8]| {
        let s = text(bytes);
        for secret in secrets {
            assert!(!s.contains(secret), "{what} shows {secret:?}:\n{s}");
        }
    };
    let run = |args: &[&str]| {
        let child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
            .args(args)
            .env("USBMUXD_SOCKET_ADDRESS", &sim.address)
            .env("SYNCCHECK_DB", &db)
            // Info and warn log lines too: they name phones.
            .env("SYNCCHECK_LOG", "synccheck=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_bounded(child, &format!("synccheck {args:?}"), LIMIT)
    };
    for args in [
        &[
            "scan",
            "--redact",
            "--trust-timeout",
            "1",
            "--no-photo-library",
        ][..],
        &[
            "scan",
            "--redact",
            "--json",
            "--trust-timeout",
            "1",
            "--no-photo-library",
        ],
        &["list", "--redact"],
        &["pair", "--redact", "--trust-timeout", "1"],
        &["history", "--redact", "--db", db_arg],
        &["history", "show", "1", "--redact", "--db", db_arg],
    ] {
        let out = run(args);
        assert!(out.status.code().is_some(), "{args:?}");
        assert_hidden(&format!("{args:?} stdout"), &out.stdout);
        assert_hidden(&format!("{args:?} stderr"), &out.stderr);
        if args[0] == "scan" && !args.contains(&"--json") {
            let err = text(&out.stderr);
            assert!(err.contains("Unlock the iPhone"), "the Trust wait: {err}");
            assert!(err.contains("iPhone 3 (UDID hidden)"), "{err}");
        }
    }
    let (out, err) = watch_one_scan(
        &sim.address,
        &[
            "--redact",
            "--trust-timeout",
            "1",
            "--no-photo-library",
            "--db",
            db_arg,
        ],
        &db,
        "could not be read",
    );
    assert_hidden("watch stdout", &out);
    assert_hidden("watch stderr", &err);
}
