//! `synccheck scan`, `list` and `pair` end to end against `synccheck sim`: the happy path, the
//! usbmuxd address forms, and every simulator fault met with a clear message and its own exit
//! code within the timeout.

mod common;

use std::time::{Duration, Instant};

use common::{fixture, report_json as json, start_sim, start_sim_with, synccheck_at};

/// Generous: a debug build on a loaded 2-core CI machine. A hang is caught by this limit.
const LIMIT: Duration = Duration::from_secs(60);

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn scan_reads_every_attached_phone_and_evaluates_it() {
    let sim = start_sim_with(&[fixture("healthy.plist"), fixture("failures.plist")], &[]);
    let out = synccheck_at(&sim.address, &["scan", "--json"], LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = json(&out);
    let devices = r["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    for d in devices {
        assert_eq!(d["source"], "usb");
        assert_eq!(d["origin"], "USB");
    }
    let failing = devices
        .iter()
        .find(|d| d["facts"]["identity"]["product_type"] == "iPhone12,1")
        .unwrap();
    let storage = failing["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "device-storage")
        .unwrap();
    assert_eq!(storage["status"], "fail");
    // Battery health came over diagnostics_relay.
    assert_eq!(failing["facts"]["battery"]["health"]["cycle_count"], 1408);
}

#[test]
fn udid_picks_one_phone_and_an_unknown_udid_is_exit_4() {
    let sim = start_sim_with(&[fixture("healthy.plist"), fixture("failures.plist")], &[]);
    let out = synccheck_at(
        &sim.address,
        &["scan", "--json", "--udid", "00008130-001C2D3E4F506172"],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out)["devices"].as_array().unwrap().len(), 1);

    let out = synccheck_at(&sim.address, &["scan", "--udid", "00000000-NOPE"], LIMIT);
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).contains("no attached iPhone has the UDID 00000000-NOPE"));
    assert!(text(&out.stderr).contains("synccheck list"));
}

#[test]
fn saved_snapshot_replays_to_the_same_findings() {
    let sim = start_sim_with(&[fixture("failures.plist")], &[]);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("phone.plist");
    let live = synccheck_at(
        &sim.address,
        &["scan", "--json", "--save-snapshot", saved.to_str().unwrap()],
        LIMIT,
    );
    let replay = synccheck_at(
        &sim.address,
        &["scan", "--json", "--from", saved.to_str().unwrap()],
        LIMIT,
    );
    assert_eq!(
        json(&live)["devices"][0]["checks"],
        json(&replay)["devices"][0]["checks"]
    );
    assert_eq!(json(&replay)["devices"][0]["source"], "usb");

    // And the saved snapshot can be served again.
    let again = start_sim_with(&[saved], &[]);
    let out = synccheck_at(&again.address, &["scan", "--json"], LIMIT);
    assert_eq!(
        json(&out)["devices"][0]["checks"],
        json(&live)["devices"][0]["checks"]
    );
}

/// A live phone that sends a value in a form we refuse (a battery level as a string; a newer
/// iOS's booleans as 0/1 and BatteryData as a blob) gets a full report with that fact unknown
/// and the reason; the snapshot saved from that scan evaluates the same with `--from`, and
/// `sim` serves it again: one snapshot format, one policy.
#[test]
fn an_odd_live_value_costs_one_fact_and_replays_the_same() {
    // (fixture, the (key, value) pairs refused, a check that quotes the last one)
    type Case = (
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static str,
    );
    let cases: [Case; 2] = [
        (
            "bad/wrong-type-battery.plist",
            &[(
                "Domains/com.apple.mobile.battery/BatteryCurrentCapacity",
                "the string \"86\"",
            )],
            "power",
        ),
        (
            "bad/new-ios-key-types.plist",
            &[
                (
                    "Domains/com.apple.mobile.battery/BatteryIsCharging",
                    "the integer 1",
                ),
                (
                    "Domains/com.apple.mobile.battery/ExternalConnected",
                    "the integer 1",
                ),
                (
                    "Domains/com.apple.mobile.battery/FullyCharged",
                    "the integer 0",
                ),
                (
                    "IORegistry/AppleSmartBattery/BatteryData",
                    "96 bytes of data",
                ),
            ],
            "battery-health",
        ),
    ];
    for (name, refused, quoting_check) in cases {
        let sim = start_sim_with(&[fixture(name)], &[]);
        let dir = tempfile::tempdir().unwrap();
        let saved = dir.path().join("phone.plist");
        let live = synccheck_at(
            &sim.address,
            &["scan", "--json", "--save-snapshot", saved.to_str().unwrap()],
            LIMIT,
        );
        let err = text(&live.stderr);
        assert!(!err.contains("error"), "{name}: {err}");
        let live = json(&live);
        let device = &live["devices"][0];
        assert_eq!(device["source"], "usb");
        let keys: Vec<(&str, &str)> = device["facts"]["refused_values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["key"].as_str().unwrap(), r["value"].as_str().unwrap()))
            .collect();
        assert_eq!(keys, refused, "{name}");
        assert_eq!(
            device["warnings"].as_array().unwrap().len(),
            refused.len(),
            "{name}"
        );
        let evidence = &common::finding(&live, quoting_check)["evidence"];
        let (key, value) = refused[refused.len() - 1];
        assert!(
            evidence
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["source"] == key
                    && e["value"].as_str().unwrap().contains(value)
                    && e["value"].as_str().unwrap().contains("expected")),
            "{name}: {quoting_check} quotes {key}: {evidence}"
        );
        // Everything else was read and judged: storage and the Apple ID pass as on a healthy phone.
        assert_eq!(common::finding(&live, "device-storage")["status"], "pass");
        assert_eq!(common::finding(&live, "apple-id")["status"], "pass");
        assert_eq!(device["checks"].as_array().unwrap().len(), 12);

        let replay = json(&synccheck_at(
            &sim.address,
            &["scan", "--json", "--from", saved.to_str().unwrap()],
            LIMIT,
        ));
        let again_sim = start_sim_with(std::slice::from_ref(&saved), &[]);
        let served_again = json(&synccheck_at(
            &again_sim.address,
            &["scan", "--json"],
            LIMIT,
        ));
        for other in [&replay, &served_again] {
            let d = &other["devices"][0];
            assert_eq!(d["checks"], device["checks"], "{name}");
            assert_eq!(d["verdict"], device["verdict"], "{name}");
            assert_eq!(
                d["facts"]["refused_values"], device["facts"]["refused_values"],
                "{name}"
            );
            assert_eq!(d["warnings"], device["warnings"], "{name}");
        }
    }
    // The battery level itself is unknown, not read from elsewhere.
    let sim = start_sim_with(&[fixture("bad/wrong-type-battery.plist")], &[]);
    let r = json(&synccheck_at(&sim.address, &["scan", "--json"], LIMIT));
    assert!(r["devices"][0]["facts"]["battery"]["level_percent"].is_null());
    assert_eq!(r["devices"][0]["facts"]["battery"]["external_power"], true);
}

#[test]
fn list_shows_one_line_per_phone() {
    let sim = start_sim_with(
        &[fixture("healthy.plist"), fixture("failures.plist")],
        &["--fault", "not-paired@2"],
    );
    let out = synccheck_at(&sim.address, &["list"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "a header and one row per phone: {stdout}");
    assert!(lines[0].starts_with("#  UDID  "), "{stdout}");
    assert!(lines[0].ends_with("paired"), "{stdout}");
    assert!(
        lines[1].starts_with("1  00008130-001C2D3E4F506172  Sam’s iPhone  ")
            && lines[1].contains("iPhone 15 Pro (iPhone16,1)  27.2")
            && lines[1].ends_with("USB  yes"),
        "{stdout}"
    );
    assert!(
        lines[2].contains("iPhone 11 (iPhone12,1)") && lines[2].ends_with("USB  no"),
        "{stdout}"
    );
    // Aligned: each column starts at the same place on every line.
    let at = |line: &str, word: &str| line.find(word).map(|i| line[..i].chars().count());
    assert_eq!(
        at(lines[0], "model"),
        at(lines[1], "iPhone 15 Pro"),
        "{stdout}"
    );
    assert_eq!(at(lines[1], "USB"), at(lines[2], "USB"), "{stdout}");
}

#[test]
fn list_json_and_redact() {
    let sim = start_sim_with(
        &[fixture("healthy.plist"), fixture("failures.plist")],
        &["--fault", "not-paired@2"],
    );
    let out = synccheck_at(&sim.address, &["list", "--json"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let phones = listed["phones"].as_array().unwrap();
    assert_eq!(phones.len(), 2, "{listed}");
    assert_eq!(phones[0]["number"], 1);
    assert_eq!(phones[0]["udid"], "00008130-001C2D3E4F506172");
    assert_eq!(phones[0]["name"], "Sam’s iPhone");
    assert_eq!(phones[0]["model"], "iPhone 15 Pro");
    assert_eq!(phones[0]["product_type"], "iPhone16,1");
    assert_eq!(phones[0]["ios"], "27.2");
    assert_eq!(phones[0]["connection"], "USB");
    assert_eq!(phones[0]["paired"], true);
    assert_eq!(phones[1]["paired"], false);

    for args in [&["list", "--redact"][..], &["list", "--redact", "--json"]] {
        let out = synccheck_at(&sim.address, args, LIMIT);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        for secret in [
            "00008130-001C2D3E4F506172",
            "00008030-001E2D3C4B5A6978",
            "Sam’s",
        ] {
            assert!(!all.contains(secret), "{args:?}: {secret} shown:\n{all}");
        }
        assert!(
            all.contains("iPhone 15 Pro"),
            "{args:?}: the model stays: {all}"
        );
    }
}

#[test]
fn every_usbmuxd_address_form_works() {
    let sim = start_sim(1, &[]);
    let path = sim.socket.to_str().unwrap().to_string();
    for form in [
        format!("UNIX:{path}"),
        path.clone(),
        format!("unix://{path}"),
    ] {
        let out = synccheck_at("unused", &["list", "--usbmuxd", &form], LIMIT);
        assert_eq!(out.status.code(), Some(0), "{form}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 2, "{form}");
        // The same form from the environment.
        let out = synccheck_at(&form, &["list"], LIMIT);
        assert_eq!(
            text(&out.stdout).lines().count(),
            2,
            "{form} from the environment"
        );
    }

    let tcp = tcp_sim();
    let out = synccheck_at(&tcp.1, &["scan", "--json"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// A simulator on TCP (host:port form), with its printed address.
fn tcp_sim() -> (std::process::Child, String, KillOnDrop) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["sim", "--listen", "127.0.0.1:0", "--snapshot"])
        .arg(fixture("healthy.plist"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("USBMUXD_SOCKET_ADDRESS=")
        .unwrap()
        .to_string();
    let pid = child.id();
    (child, addr, KillOnDrop(pid))
}

struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.0.to_string())
            .status();
    }
}

#[test]
fn no_usbmuxd_is_exit_3_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("UNIX:{}", dir.path().join("nothing.sock").display());
    for cmd in [&["scan"][..], &["list"][..], &["pair"][..]] {
        let out = synccheck_at(&missing, cmd, LIMIT);
        assert_eq!(out.status.code(), Some(3), "{cmd:?}");
        let err = text(&out.stderr);
        assert!(err.contains("no usbmuxd is listening at UNIX:"), "{err}");
        assert!(
            err.contains("hint: start usbmuxd") || err.contains("hint: usbmuxd is part of macOS"),
            "{err}"
        );
    }
    let out = synccheck_at("not an address", &["scan"], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not a usbmuxd address"));
}

#[test]
fn no_phone_attached_is_exit_4() {
    // unplug-after=1: the phone leaves after its first lockdown request (list's).
    let sim = start_sim(1, &["--fault", "unplug-after=1"]);
    let _ = synccheck_at(&sim.address, &["list"], LIMIT);
    let out = synccheck_at(&sim.address, &["scan"], LIMIT);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no iPhone is attached"));
}

#[test]
fn an_untrusted_phone_is_paired_then_scanned() {
    let sim = start_sim(1, &["--fault", "not-paired", "--trust-after", "1"]);
    let out = synccheck_at(&sim.address, &["scan", "--json"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Not a terminal: one plain line for the person, on stderr.
    assert!(
        text(&out.stderr).contains("Unlock the iPhone and tap Trust"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(json(&out)["devices"][0]["source"], "usb");
    // The record was saved with usbmuxd: the next scan asks nothing.
    let out = synccheck_at(&sim.address, &["list"], LIMIT);
    assert!(
        text(&out.stdout).trim_end().ends_with("  yes"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn pair_command_pairs() {
    let sim = start_sim(1, &["--fault", "not-paired", "--trust-after", "1"]);
    let out = synccheck_at(&sim.address, &["pair"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("Paired with \"Sam’s iPhone\" (iPhone 15 Pro, 00008130-001C2D3E4F506172)"),
        "{}",
        text(&out.stdout)
    );
}

/// `pair` on a phone locked with a passcode: the phone is named by its name and model, and the
/// hint says to pair again, not to scan again; with --redact, by its number and model.
#[test]
fn pair_on_a_locked_phone_says_pair_again() {
    let sim = start_sim(1, &["--fault", "password-protected"]);
    let out = synccheck_at(&sim.address, &["pair", "--trust-timeout", "1"], LIMIT);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains("\"Sam’s iPhone\" (iPhone 15 Pro, 00008130-001C2D3E4F506172): "),
        "{err}"
    );
    assert!(
        err.contains("pair again") && !err.contains("scan again"),
        "{err}"
    );

    let out = synccheck_at(
        &sim.address,
        &["pair", "--redact", "--trust-timeout", "1"],
        LIMIT,
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("iPhone 1 (iPhone 15 Pro, UDID hidden): "),
        "{err}"
    );
    assert!(!err.contains("00008130") && !err.contains("Sam"), "{err}");
}

/// Runs a scan against one faulty phone; returns (exit code, stderr, seconds taken).
fn faulty_scan(faults: &[&str], extra: &[&str]) -> (i32, String, f64) {
    let mut args = Vec::new();
    for f in faults {
        args.push("--fault");
        args.push(*f);
    }
    let sim = start_sim(1, &args);
    let mut cmd = vec!["scan"];
    cmd.extend_from_slice(extra);
    let started = Instant::now();
    let out = synccheck_at(&sim.address, &cmd, LIMIT);
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    (
        out.status.code().unwrap(),
        err,
        started.elapsed().as_secs_f64(),
    )
}

#[test]
fn nobody_tapping_trust_times_out_with_exit_5() {
    let (code, err, secs) = faulty_scan(&["not-paired"], &["--trust-timeout", "1"]);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("nobody tapped Trust on the iPhone within 1s"),
        "{err}"
    );
    assert!(secs < 20.0, "took {secs}s");
}

#[test]
fn user_denied_is_exit_6() {
    let (code, err, _) = faulty_scan(&["user-denied"], &[]);
    assert_eq!(code, 6, "{err}");
    assert!(
        err.contains("tapped Don't Trust") && err.contains("unplug and replug"),
        "{err}"
    );
}

#[test]
fn passcode_locked_is_exit_7() {
    let (code, err, _) = faulty_scan(&["password-protected"], &["--trust-timeout", "1"]);
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains("locked with a passcode") && err.contains("unlock the iPhone"),
        "{err}"
    );
}

#[test]
fn unplugged_mid_scan_is_exit_8() {
    let (code, err, _) = faulty_scan(&["unplug-after=3"], &[]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("unplugged"), "{err}");
}

#[test]
fn garbage_is_a_clear_error_not_a_panic() {
    let (code, err, _) = faulty_scan(&["garbage"], &[]);
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains("broken reply to GetValue") && err.contains("not a plist"),
        "{err}"
    );
}

#[test]
fn a_4gb_length_prefix_is_refused_at_once() {
    let (code, err, secs) = faulty_scan(&["huge-length"], &["--timeout", "30"]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("over the 16777216-byte limit"), "{err}");
    // Refused on sight, not after waiting out the 30 s timeout for 4 GB that never come.
    assert!(secs < 20.0, "took {secs}s");
}

#[test]
fn a_stalled_tls_handshake_times_out() {
    let (code, err, secs) = faulty_scan(&["slow-tls"], &["--timeout", "1"]);
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains("did not answer the TLS handshake within 1s"),
        "{err}"
    );
    assert!(secs < 15.0, "took {secs}s");
}

#[test]
fn a_phone_presenting_another_certificate_is_refused_at_the_handshake() {
    let (code, err, _) = faulty_scan(&["impostor-certificate"], &["--json"]);
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains("not the DeviceCertificate in its pair record")
            && err.contains("do not trust this phone"),
        "{err}"
    );
    // One sentence and its hint, no report: nothing was read over the session.
    assert_eq!(err.lines().count(), 2, "{err}");
}

#[test]
fn latency_slows_but_does_not_break_a_scan() {
    let (code, err, _) = faulty_scan(&["latency=100"], &["--json"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn one_faulty_phone_does_not_stop_the_others() {
    let sim = start_sim(2, &["--fault", "garbage@2"]);
    let out = synccheck_at(&sim.address, &["scan", "--json"], LIMIT);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stderr));
    let r = json(&out);
    assert_eq!(
        r["devices"].as_array().unwrap().len(),
        1,
        "the healthy phone is reported"
    );
    let err = text(&out.stderr);
    assert!(err.starts_with("synccheck: error: iPhone "), "{err}");
    assert_eq!(err.matches("synccheck: error:").count(), 1, "{err}");
}

const HEALTHY_UDID: &str = "00008130-001C2D3E4F506172";
const FAILING_UDID: &str = "00008030-001E2D3C4B5A6978";

/// Two phones, where the second one's snapshot cannot be saved (a folder holds its file name):
/// `scan --json` with `extra` arguments. Returns the output and the folder holding the saved
/// snapshots and the history.
fn scan_two_with_blocked_save(extra: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let sim = start_sim_with(&[fixture("healthy.plist"), fixture("failures.plist")], &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(format!("scan-{FAILING_UDID}.plist"))).unwrap();
    let save = dir.path().join("scan.plist");
    let db = dir.path().join("history.sqlite");
    let mut args = vec![
        "scan",
        "--json",
        "--save-snapshot",
        save.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = synccheck_at(&sim.address, &args, LIMIT);
    (out, dir)
}

#[test]
fn one_phone_whose_snapshot_cannot_be_saved_does_not_stop_the_others() {
    let (out, dir) = scan_two_with_blocked_save(&[]);
    let err = text(&out.stderr);
    // A file that cannot be written is exit 2, and it outranks the verdicts of the reports.
    assert_eq!(out.status.code(), Some(2), "{err}");
    let r = json(&out);
    let devices = r["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2, "both phones are reported: {err}");
    // The healthy phone is saved; the other's error is one line naming it, after the reports.
    assert!(dir
        .path()
        .join(format!("scan-{HEALTHY_UDID}.plist"))
        .is_file());
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("synccheck: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].starts_with(&format!(
            "synccheck: error: iPhone {FAILING_UDID}: cannot write the snapshot"
        )),
        "{err}"
    );
    // Both phones are in the history.
    let history = std::process::Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["history", "--db"])
        .arg(dir.path().join("history.sqlite"))
        .output()
        .unwrap();
    let listing = text(&history.stdout);
    assert!(
        listing.contains("iPhone 15 Pro") && listing.contains("iPhone 11"),
        "{listing}"
    );
}

#[test]
fn redact_hides_the_failing_phones_udid_in_its_error() {
    let (out, _dir) = scan_two_with_blocked_save(&["--redact"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(json(&out)["devices"].as_array().unwrap().len(), 2);
    assert!(
        err.contains("synccheck: error: iPhone 2 (UDID hidden): cannot write the snapshot"),
        "{err}"
    );
    for udid in [HEALTHY_UDID, FAILING_UDID] {
        assert!(!err.contains(udid), "{err}");
        assert!(!text(&out.stdout).contains(udid));
    }
}

#[test]
fn one_phone_whose_sheet_cannot_be_written_does_not_stop_the_others() {
    let sim = start_sim_with(&[fixture("healthy.plist"), fixture("failures.plist")], &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(format!("sheet-{HEALTHY_UDID}.html"))).unwrap();
    let sheet = dir.path().join("sheet.html");
    let out = synccheck_at(
        &sim.address,
        &["scan", "--json", "--html", sheet.to_str().unwrap()],
        LIMIT,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(json(&out)["devices"].as_array().unwrap().len(), 2);
    assert!(dir
        .path()
        .join(format!("sheet-{FAILING_UDID}.html"))
        .is_file());
    assert!(
        err.contains(&format!(
            "synccheck: error: iPhone {HEALTHY_UDID}: cannot write the HTML sheet"
        )),
        "{err}"
    );
    assert_eq!(err.matches("synccheck: error:").count(), 1, "{err}");
}

#[test]
fn demo_goes_through_the_socket() {
    let out = synccheck_at("unused", &["demo", "--json", "-v"], LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        json(&out)["devices"][0]["source"],
        "usb",
        "captured over the simulator's socket"
    );
}
