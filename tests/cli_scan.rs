//! `synccheck scan --from` end to end: the binary on fixtures, asserting on the JSON report.

use std::process::{Command, Output};

mod common;

use common::{finding, fixture};
use serde_json::Value;

fn synccheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("the binary runs")
}

/// Runs `scan --json --from FIXTURE [extra]` and returns (exit code, report).
fn scan_json(name: &str, extra: &[&str]) -> (i32, Value) {
    let path = fixture(name);
    let mut args = vec!["scan", "--json", "--from", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = synccheck(&args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (out.status.code().unwrap(), json)
}

fn status(report: &Value, id: &str) -> String {
    finding(report, id)["status"].as_str().unwrap().to_string()
}

#[test]
fn healthy_phone_passes_every_check_the_phone_can_decide() {
    let (code, r) = scan_json("healthy.plist", &[]);
    assert_eq!(r["schema"], "synccheck.report/1");
    for id in [
        "apple-id",
        "device-storage",
        "ios-update",
        "power",
        "battery-health",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {}", finding(&r, id));
    }
    for id in [
        "icloud-photos",
        "network",
        "cellular-data",
        "icloud-storage",
        "restart",
        "low-power",
    ] {
        assert_eq!(status(&r, id), "manual", "{id}");
    }
    assert_eq!(r["devices"][0]["verdict"]["status"], "manual");
    assert_eq!(code, 0, "manual steps do not fail the scan");
    let facts = &r["devices"][0]["facts"];
    assert_eq!(facts["identity"]["marketing_name"], "iPhone 15 Pro");
    assert_eq!(facts["battery"]["health"]["cycle_count"], 212);
    assert_eq!(facts["battery"]["health"]["temperature_c"], 29.5);
    assert_eq!(facts["storage"]["free_key"], "AmountDataAvailable");
}

#[test]
fn find_my_association_decides_the_apple_id_when_nothing_else_does() {
    // Backup off, NVRAM's Find My flag NO and IsAssociated false: none proves there is no
    // Apple ID, so the step is the technician's, and the evidence says why.
    let (_, r) = scan_json("warnings.plist", &[]);
    let f = finding(&r, "apple-id");
    assert_eq!(f["status"], "manual");
    assert!(
        f["evidence"].as_array().unwrap().iter().any(|e| e["source"]
            == "com.apple.fmip IsAssociated"
            && e["value"]
                .as_str()
                .unwrap()
                .starts_with("false (says nothing")),
        "{f}"
    );
    let (_, r) = scan_json("find-my-associated.plist", &[]);
    let f = finding(&r, "apple-id");
    assert_eq!(f["status"], "pass", "{f}");
    assert_eq!(f["summary"], "An Apple ID is signed in (Find My is on)");
    assert!(
        f["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["source"] == "com.apple.fmip IsAssociated" && e["value"] == "true"),
        "{f}"
    );
    assert_eq!(
        r["devices"][0]["facts"]["account"]["find_my_associated"],
        true
    );
    // The rest of the report is that of the warnings phone.
    let (_, w) = scan_json("warnings.plist", &[]);
    for id in ["device-storage", "ios-update", "power", "battery-health"] {
        assert_eq!(status(&r, id), status(&w, id), "{id}");
    }
}

#[test]
fn every_check_is_reported_in_checklist_order_with_all_fields() {
    let (_, r) = scan_json("failures.plist", &[]);
    let ids: Vec<&str> = r["devices"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "apple-id",
            "icloud-photos",
            "photos-upload",
            "network",
            "cellular-data",
            "icloud-storage",
            "device-storage",
            "restart",
            "ios-update",
            "power",
            "low-power",
            "battery-health"
        ]
    );
    for c in r["devices"][0]["checks"].as_array().unwrap() {
        for field in ["title", "status", "summary", "evidence", "remedy"] {
            assert!(c.get(field).is_some(), "{} lacks {field}", c["id"]);
        }
    }
}

#[test]
fn warnings_fixture_warns_where_expected() {
    let (code, r) = scan_json("warnings.plist", &[]);
    for id in ["device-storage", "ios-update", "power", "battery-health"] {
        assert_eq!(status(&r, id), "warn", "{id}: {}", finding(&r, id));
    }
    assert_eq!(
        status(&r, "apple-id"),
        "manual",
        "Find My and iCloud Backup both off prove nothing"
    );
    assert_eq!(code, 1);
}

#[test]
fn failures_fixture_fails_and_the_verdict_names_fails_first() {
    let (code, r) = scan_json("failures.plist", &[]);
    for id in ["device-storage", "ios-update", "power", "battery-health"] {
        assert_eq!(status(&r, id), "fail", "{id}: {}", finding(&r, id));
    }
    assert_eq!(code, 1);
    let verdict = r["devices"][0]["verdict"]["summary"].as_str().unwrap();
    assert!(
        verdict.starts_with("Blocking iCloud Photos: iPhone storage is full"),
        "{verdict}"
    );
    let storage = finding(&r, "device-storage");
    assert_eq!(
        storage["evidence"][0]["source"],
        "com.apple.disk_usage AmountDataAvailable"
    );
    assert!(storage["remedy"]
        .as_str()
        .unwrap()
        .contains("Settings > General > iPhone Storage"));
}

#[test]
fn answers_decide_manual_steps_and_are_marked_as_the_technicians() {
    let (code, r) = scan_json(
        "healthy.plist",
        &[
            "--answer",
            "icloud-photos=on",
            "--answer",
            "icloud-storage=full",
            "--answer",
            "restart=done",
        ],
    );
    assert_eq!(status(&r, "icloud-photos"), "pass");
    assert_eq!(status(&r, "restart"), "pass");
    let storage = finding(&r, "icloud-storage");
    assert_eq!(storage["status"], "fail");
    assert_eq!(storage["evidence"][0]["source"], "technician");
    assert_eq!(code, 1);
}

#[test]
fn an_answer_does_not_override_the_phones_data() {
    let (_, r) = scan_json("failures.plist", &["--answer", "device-storage=ok"]);
    let storage = finding(&r, "device-storage");
    assert_eq!(storage["status"], "fail");
    let evidence = storage["evidence"].to_string();
    assert!(
        evidence.contains("disagrees with the phone; the phone's evidence decides"),
        "{evidence}"
    );
    // Both are shown: the phone's own figures stay in the evidence.
    assert!(evidence.contains("AmountDataAvailable"), "{evidence}");

    let (_, r) = scan_json(
        "failures.plist",
        &["--answer", "device-storage=ok", "--trust-answers"],
    );
    let storage = finding(&r, "device-storage");
    assert_eq!(
        storage["status"], "pass",
        "--trust-answers lets the technician decide"
    );
    assert!(storage["evidence"]
        .to_string()
        .contains("the phone said fail"));
}

#[test]
fn thresholds_file_moves_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(
        &path,
        "[battery-health]\nwarn_below_percent = 50\nfail_below_percent = 40\n",
    )
    .unwrap();
    let (_, r) = scan_json("warnings.plist", &["--thresholds", path.to_str().unwrap()]);
    assert_eq!(status(&r, "battery-health"), "pass");

    std::fs::write(&path, "[battery-health]\nwarn_below = 50\n").unwrap();
    let out = synccheck(&[
        "scan",
        "--from",
        fixture("warnings.plist").to_str().unwrap(),
        "--thresholds",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn imports_other_tools_output_without_conversion() {
    for name in [
        "import/ideviceinfo-x.plist",
        "import/pymobiledevice3-lockdown-info.json",
        "import/pymobiledevice3-lockdown-info.pre-10.5.json",
    ] {
        let (_, r) = scan_json(name, &[]);
        let d = &r["devices"][0];
        assert_eq!(d["source"], "import", "{name}");
        assert!(d["facts"]["identity"]["product_type"].is_string(), "{name}");
        assert_eq!(
            status(&r, "apple-id"),
            "pass",
            "{name}: Find My is on in these dumps"
        );
        // No domains in a root dump: storage and battery are unknown, never guessed.
        assert!(d["facts"]["storage"]["free_bytes"].is_null(), "{name}");
        assert_eq!(status(&r, "device-storage"), "manual", "{name}");
        assert_eq!(status(&r, "power"), "manual", "{name}");
    }
}

#[test]
fn several_files_make_one_report_object_each() {
    let a = fixture("healthy.plist");
    let b = fixture("failures.plist");
    let out = synccheck(&[
        "scan",
        "--json",
        "--from",
        a.to_str().unwrap(),
        "--from",
        b.to_str().unwrap(),
    ]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["devices"].as_array().unwrap().len(), 2);
    assert_eq!(out.status.code(), Some(1));
}

/// A file that cannot be read, or is not a snapshot, is that file's error: the good files are
/// still reported, and the errors follow on stderr, one per file, in the order given.
#[test]
fn one_bad_file_does_not_stop_the_others() {
    let good = fixture("healthy.plist");
    let not_a_snapshot = fixture("bad/not-a-plist.txt");
    let missing = fixture("does-not-exist.plist");
    let other = fixture("failures.plist");
    let out = synccheck(&[
        "scan",
        "--json",
        "--from",
        good.to_str().unwrap(),
        "--from",
        not_a_snapshot.to_str().unwrap(),
        "--from",
        other.to_str().unwrap(),
        "--from",
        missing.to_str().unwrap(),
    ]);
    let err = String::from_utf8(out.stderr).unwrap();
    // An input error outranks the verdicts (the failures.plist phone fails: that alone is 1).
    assert_eq!(out.status.code(), Some(2), "{err}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let devices = r["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2, "{err}");
    assert_eq!(devices[0]["origin"], good.to_str().unwrap());
    assert_eq!(devices[1]["origin"], other.to_str().unwrap());
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("synccheck: error: "))
        .collect();
    assert_eq!(errors.len(), 2, "{err}");
    assert!(errors[0].contains("bad/not-a-plist.txt"), "{err}");
    assert!(errors[1].contains("does-not-exist.plist"), "{err}");
}

#[test]
fn redact_hides_identifiers_everywhere() {
    let path = fixture("healthy.plist");
    let out = synccheck(&[
        "scan",
        "--json",
        "--redact",
        "--from",
        path.to_str().unwrap(),
    ]);
    let json = String::from_utf8(out.stdout).unwrap();
    let out = synccheck(&["scan", "--redact", "--from", path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[redacted]"));
    // The same four in the JSON and the text report (and the HTML sheet: tests/cli_html.rs).
    for secret in [
        "F4GZK2LMN7Q1",
        "00008130-001C2D3E4F506172",
        "Sam’s iPhone",
        "a4:cf:99:3e:07:d5",
    ] {
        assert!(!json.contains(secret), "{secret} leaked in JSON");
        assert!(!text.contains(secret), "{secret} leaked in text");
    }
}

#[test]
fn text_report_has_no_colour_when_piped_and_honours_no_color() {
    let path = fixture("failures.plist");
    let out = synccheck(&["scan", "--from", path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "piped output has escape codes");
    assert!(text.contains("✘ fail") && text.contains("iPhone 11 (iPhone12,1)"));
    assert!(text.contains("Verdict: fail"));

    let out = synccheck(&[
        "scan",
        "--color",
        "always",
        "--from",
        path.to_str().unwrap(),
    ]);
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("\x1b[31;1m"));
}

/// Every kind of bad input: one line naming the file (and the key), exit 2, no panic.
#[test]
fn a_file_that_is_not_a_snapshot_is_one_clear_line_and_exit_2() {
    let cases = [
        ("bad/not-a-plist.txt", "not a valid plist"),
        ("bad/empty.plist", "the file is empty"),
        ("bad/truncated.plist", "not a valid plist"),
        ("bad/array-root.plist", "not a dictionary"),
        (
            "bad/future-version.plist",
            "SnapshotVersion: version 9 is newer",
        ),
        (
            "bad/domain-not-dict.plist",
            "Domains/com.apple.mobile.battery: expected a dictionary",
        ),
        ("bad/not-lockdown.json", "no lockdown keys"),
        ("does-not-exist.plist", "cannot read the file"),
    ];
    for (name, expected) in cases {
        let path = fixture(name);
        let out = synccheck(&["scan", "--from", path.to_str().unwrap()]);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.starts_with("synccheck: error: "), "{name}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert!(
            lines.len() == 1 || (lines.len() == 2 && lines[1].starts_with("  hint: ")),
            "{name}: one line and at most a hint: {err}"
        );
        assert!(
            err.contains(name),
            "{name}: the error names the file: {err}"
        );
        assert!(
            err.contains(expected),
            "{name}: expected {expected:?} in {err}"
        );
        assert!(!err.contains("no phone sends"), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}");
    }
}

/// What `scan --json --from FIXTURE` says of a snapshot holding one value no phone should send.
struct OddValue {
    fixture: &'static str,
    key: &'static str,
    value: &'static str,
    reason: &'static str,
    /// The fact that value would give, as a JSON pointer under `facts`: now unknown.
    fact: &'static str,
    /// The checks whose evidence must quote the refusal.
    checks: &'static [&'static str],
}

const ODD_VALUES: [OddValue; 3] = [
    OddValue {
        fixture: "bad/wrong-type.plist",
        key: "Domains/com.apple.disk_usage/AmountDataAvailable",
        value: "the string \"lots\"",
        reason: "expected an integer",
        fact: "/storage/free_bytes",
        checks: &["device-storage"],
    },
    OddValue {
        fixture: "bad/absurd-battery.plist",
        key: "Domains/com.apple.mobile.battery/BatteryCurrentCapacity",
        value: "the integer 250",
        reason: "expected an integer from 0 to 100",
        fact: "/battery/level_percent",
        checks: &["power", "low-power"],
    },
    OddValue {
        fixture: "bad/negative-capacity.plist",
        key: "Domains/com.apple.disk_usage/TotalDataCapacity",
        value: "the integer -5",
        reason: "expected an integer from 0",
        fact: "/storage/data_capacity_bytes",
        checks: &["device-storage"],
    },
];

#[test]
fn an_odd_value_makes_only_its_fact_unknown_and_the_rest_is_judged() {
    for case in ODD_VALUES {
        let name = case.fixture;
        let path = fixture(name);
        let out = synccheck(&["scan", "--json", "--from", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.is_empty(), "{name}: nothing on stderr: {err}");
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let device = &r["devices"][0];
        // The exit code is the verdict's, as for any phone.
        let verdict = device["verdict"]["status"].as_str().unwrap();
        let expected_code = if matches!(verdict, "pass" | "manual") {
            0
        } else {
            1
        };
        assert_eq!(out.status.code(), Some(expected_code), "{name}");

        let refused = device["facts"]["refused_values"].as_array().unwrap();
        assert_eq!(refused.len(), 1, "{name}: {refused:?}");
        assert_eq!(refused[0]["key"], case.key, "{name}");
        assert_eq!(refused[0]["value"], case.value, "{name}");
        assert!(
            refused[0]["reason"]
                .as_str()
                .unwrap()
                .starts_with(case.reason),
            "{name}: {refused:?}"
        );
        assert!(
            device["facts"].pointer(case.fact).unwrap().is_null(),
            "{name}: {} is unknown",
            case.fact
        );
        let warnings = device["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1, "{name}");
        let warning = warnings[0].as_str().unwrap();
        assert!(
            warning.contains(case.key) && warning.contains(case.value),
            "{warning}"
        );

        let checks = device["checks"].as_array().unwrap();
        assert_eq!(checks.len(), 12, "{name}: every check is judged");
        for check in checks {
            let id = check["id"].as_str().unwrap();
            let quotes = check["evidence"].as_array().unwrap().iter().any(|e| {
                e["source"] == case.key && e["value"].as_str().unwrap().contains(case.value)
            });
            assert_eq!(
                quotes,
                case.checks.contains(&id),
                "{name}: {id} evidence {}",
                check["evidence"]
            );
        }
        // The other facts of the snapshot are read as usual.
        assert_eq!(
            device["facts"]["battery"]["health"]["cycle_count"], 212,
            "{name}"
        );
        assert_eq!(device["facts"]["identity"]["product_type"], "iPhone16,1");
    }
}

#[test]
fn the_text_report_shows_a_warning_line_per_refused_value() {
    for case in ODD_VALUES {
        let path = fixture(case.fixture);
        let out = synccheck(&["scan", "--color", "never", "--from", path.to_str().unwrap()]);
        let text = String::from_utf8(out.stdout).unwrap();
        let warnings: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("Warning: "))
            .collect();
        assert_eq!(warnings.len(), 1, "{text}");
        assert!(warnings[0].contains(case.key), "{text}");
        assert!(text.contains("Verdict: "), "{text}");
    }
}

#[test]
fn bad_answers_are_usage_errors() {
    let path = fixture("healthy.plist");
    for (answer, expected) in [
        ("wifi=on", "no check is called \"wifi\""),
        ("icloud-photos", "expected KEY=VALUE"),
        (
            "low-power=perhaps",
            "for low-power answer one of off, no, on, yes",
        ),
    ] {
        let out = synccheck(&["scan", "--from", path.to_str().unwrap(), "--answer", answer]);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{answer}");
        assert!(err.contains(expected), "{answer}: {err}");
    }
}

#[test]
fn saved_snapshot_round_trips_as_binary_plist() {
    // A binary plist of the same snapshot evaluates the same as the XML one.
    let xml = std::fs::read(fixture("failures.plist")).unwrap();
    let value = plist::Value::from_reader_xml(&xml[..]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("failures.bplist");
    value.to_file_binary(&bin).unwrap();
    let (_, from_xml) = scan_json("failures.plist", &[]);
    let out = synccheck(&["scan", "--json", "--from", bin.to_str().unwrap()]);
    let from_bin: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        from_xml["devices"][0]["checks"],
        from_bin["devices"][0]["checks"]
    );
}
