//! Drawer phones on old iOS, end to end: `scan --json --from` on the snapshots in
//! fixtures/old/, asserting how many major iOS releases each is behind.
//!
//! The truths below are worked out by hand from Apple's release history, not from the model
//! table: iOS majors came yearly from 9 to 18, then iOS 26 (2025) and 27 (2026); there was
//! never an iOS 19 to 25 (docs/device-facts.md, "iOS versions and the model table"). The
//! newest iOS each model can run is in data/iphone-models.toml with its source.

use std::path::Path;
use std::process::Command;

mod common;

use common::{finding, fixture};
use serde_json::Value;

/// Runs `scan --json --from PATH` and returns (exit code, report).
fn scan_json(path: &Path) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["scan", "--json", "--from", path.to_str().unwrap()])
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (out.status.code().unwrap(), json)
}

/// What `ios-update` must say about one phone.
struct Truth {
    fixture: &'static str,
    installed: &'static str,
    newest: &'static str,
    majors_behind: u64,
    status: &'static str,
}

const OLD_PHONES: &[Truth] = &[
    // iPhone 6s (iPhone8,1) on iOS 10.3.3 (14G60): its last major is 15 (15.8.8).
    // Released since 10: 11, 12, 13, 14, 15 = 5 majors. Two or more behind fails.
    Truth {
        fixture: "old/iphone6s-ios10.3.3.plist",
        installed: "10.3.3",
        newest: "15.8.8",
        majors_behind: 5,
        status: "fail",
    },
    // iPhone 7 (iPhone9,1) on iOS 12.4 (16G77): last major 15 (15.8.8). Since 12: 13, 14, 15 = 3.
    Truth {
        fixture: "old/iphone7-ios12.4.plist",
        installed: "12.4",
        newest: "15.8.8",
        majors_behind: 3,
        status: "fail",
    },
    // iPhone X (iPhone10,3) on iOS 14.8 (18H17): last major 16 (16.7.16). Since 14: 15, 16 = 2.
    Truth {
        fixture: "old/iphonex-ios14.8.plist",
        installed: "14.8",
        newest: "16.7.16",
        majors_behind: 2,
        status: "fail",
    },
    // iPhone XS (iPhone11,2) on iOS 17.6 (21G80): last major 18 (18.7.10). Since 17: 18 = 1,
    // so a newer iOS is available but the phone is not two majors behind: warn.
    Truth {
        fixture: "old/iphonexs-ios17.6.plist",
        installed: "17.6",
        newest: "18.7.10",
        majors_behind: 1,
        status: "warn",
    },
];

fn assert_truth(report: &Value, t: &Truth) {
    let software = &report["devices"][0]["facts"]["software"];
    assert_eq!(software["ios_version"], t.installed, "{}", t.fixture);
    assert_eq!(software["latest_ios"], t.newest, "{}", t.fixture);
    assert_eq!(
        software["majors_behind"], t.majors_behind,
        "{}: {software}",
        t.fixture
    );
    assert_eq!(software["update_available"], true, "{}", t.fixture);
    assert_eq!(
        software["update_unknown_reason"],
        Value::Null,
        "{}",
        t.fixture
    );
    let check = finding(report, "ios-update");
    assert_eq!(check["status"], t.status, "{}: {check}", t.fixture);
    let summary = check["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!("iOS {}", t.newest)),
        "{}: {summary}",
        t.fixture
    );
    if t.status == "fail" {
        assert!(
            summary.contains(&format!("{} major versions behind", t.majors_behind)),
            "{}: {summary}",
            t.fixture
        );
    }
}

#[test]
fn old_phones_on_old_ios_are_behind_by_the_majors_apple_released() {
    for t in OLD_PHONES {
        let (code, report) = scan_json(&fixture(t.fixture));
        assert_truth(&report, t);
        assert_eq!(code, 1, "{}: a warn or fail exits 1", t.fixture);
        let software = &report["devices"][0]["facts"]["software"];
        assert_eq!(
            software["model_table_updated"], report["model_table"]["updated"],
            "the facts name the table they were derived with"
        );
        assert_eq!(software["model_table_stale"], false, "{}", t.fixture);
    }
}

/// Writes the iPhone 6s snapshot with its model and iOS replaced, into `dir`.
/// `None` leaves the build out rather than invent one.
fn variant(
    dir: &Path,
    name: &str,
    product_type: &str,
    version: &str,
    build: Option<&str>,
) -> std::path::PathBuf {
    let mut snap = plist::Value::from_file(fixture("old/iphone6s-ios10.3.3.plist")).unwrap();
    let lockdown = snap
        .as_dictionary_mut()
        .unwrap()
        .get_mut("Lockdown")
        .unwrap()
        .as_dictionary_mut()
        .unwrap();
    lockdown.insert("ProductType".into(), product_type.into());
    lockdown.insert("ProductVersion".into(), version.into());
    match build {
        Some(b) => lockdown.insert("BuildVersion".into(), b.into()),
        None => lockdown.remove("BuildVersion"),
    };
    let path = dir.join(name);
    snap.to_file_xml(&path).unwrap();
    path
}

/// The two cases issue 13 reported: the table counted only the majors it listed (15 on), so
/// these said 1 (warn) and 2.
#[test]
fn the_reported_cases_count_every_major() {
    let dir = tempfile::tempdir().unwrap();
    // iPhone 6s Plus on iOS 13.7 (17H35, appledb osFiles/iOS/17x - 13.x/17H35.json): last major 15. Since 13: 14, 15 = 2: fail.
    let plus = variant(
        dir.path(),
        "6s-plus.plist",
        "iPhone8,2",
        "13.7",
        Some("17H35"),
    );
    let (_, report) = scan_json(&plus);
    assert_truth(
        &report,
        &Truth {
            fixture: "iPhone 6s Plus on 13.7",
            installed: "13.7",
            newest: "15.8.8",
            majors_behind: 2,
            status: "fail",
        },
    );
    // iPhone 8 on iOS 12.4 (16G77): last major 16 (16.7.16). Since 12: 13, 14, 15, 16 = 4.
    let eight = variant(dir.path(), "8.plist", "iPhone10,1", "12.4", Some("16G77"));
    let (_, report) = scan_json(&eight);
    assert_truth(
        &report,
        &Truth {
            fixture: "iPhone 8 on 12.4",
            installed: "12.4",
            newest: "16.7.16",
            majors_behind: 4,
            status: "fail",
        },
    );
}

/// A version the table cannot place gets no number: manual, with the reason in the JSON.
#[test]
fn versions_the_table_cannot_place_are_unknown_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (name, product, version, why) in [
        // No iOS 20 was ever released (Apple went from 18 to 26).
        ("gap.plist", "iPhone14,5", "20.1", "never released"),
        // A major far beyond anything the table knows.
        (
            "future.plist",
            "iPhone14,5",
            "99.0",
            "newer than any iOS the model table knows",
        ),
        // An iPhone 6s cannot run iOS 16: the snapshot contradicts the table.
        (
            "beyond-model.plist",
            "iPhone8,1",
            "16.0",
            "newer than the model table says",
        ),
        // Not an iPhone the table knows.
        (
            "unknown-model.plist",
            "iPhone99,1",
            "17.0",
            "not in the model table",
        ),
    ] {
        let path = variant(dir.path(), name, product, version, None);
        let (_, report) = scan_json(&path);
        let software = &report["devices"][0]["facts"]["software"];
        assert_eq!(software["majors_behind"], Value::Null, "{name}: {software}");
        assert_eq!(
            software["update_available"],
            Value::Null,
            "{name}: {software}"
        );
        let reason = software["update_unknown_reason"]
            .as_str()
            .unwrap_or_default();
        assert!(reason.contains(why), "{name}: {reason}");
        let check = finding(&report, "ios-update");
        assert_eq!(check["status"], "manual", "{name}: {check}");
        assert!(
            check["evidence"].to_string().contains(why),
            "{name}: the reason is in the evidence: {check}"
        );
    }
}
