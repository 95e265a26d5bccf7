//! Battery health on every iPhone: old phones keep the battery under `AppleARMPMUCharger` or
//! answer only by class `IOPMPowerSource`; iOS 27 keeps mAh only inside `BatteryData`. The live
//! scan asks by name, then the other name, then by class, against the simulator; the snapshot
//! records which answered; `scan --from` reads health with that entry's units.

mod common;

use std::time::Duration;

use common::{finding, fixture, libimobiledevice_present, run_tool, start_sim_with};
use synccheck_core::snapshot::{self, Snapshot};

const OLD_6S: &str = "old/iphone6s-armpmucharger.plist";
const OLD_7_BY_CLASS: &str = "old/iphone7-powersource-class.plist";
const IOS27: &str = "ios27-battery.plist";

fn load(name: &str) -> Snapshot {
    snapshot::load_file(&fixture(name)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scan_records_the_entry_or_class_that_answered() {
    for name in [OLD_6S, OLD_7_BY_CLASS, IOS27, "healthy.plist"] {
        let original = load(name);
        let snap = common::capture_in_process(original.clone()).await;
        assert_eq!(snap.io_registry, original.io_registry, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_without_a_battery_entry_still_scans_and_says_why() {
    let mut original = load(OLD_6S);
    original.io_registry.clear();
    let snap = common::capture_in_process(original).await;
    assert!(snap.io_registry.is_empty());
    let facts = synccheck_core::facts::DeviceFacts::from_snapshot(
        &snap,
        synccheck_core::facts::Catalog::builtin(),
    );
    let why = facts.battery.health.unknown_reason.unwrap();
    assert!(why.contains("no battery entry"), "{why}");
    assert!(
        why.contains("AppleARMPMUCharger") && why.contains("class IOPMPowerSource"),
        "{why}"
    );
}

fn scan_from(name: &str) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["scan", "--json", "--from"])
        .arg(fixture(name))
        .output()
        .unwrap();
    common::report_json(&out)
}

fn evidence(check: &serde_json::Value, source: &str) -> Option<String> {
    check["evidence"]
        .as_array()?
        .iter()
        .find(|e| e["source"] == source)
        .and_then(|e| e["value"].as_str())
        .map(str::to_owned)
}

#[test]
fn health_is_read_from_whichever_entry_answered() {
    let r = scan_from(OLD_6S);
    let health = &r["devices"][0]["facts"]["battery"]["health"];
    assert_eq!(health["source"], "AppleARMPMUCharger");
    assert_eq!(health["full_charge_capacity_mah"], 1402);
    assert_eq!(health["design_capacity_mah"], 1715);
    let check = finding(&r, "battery-health");
    assert_eq!(check["status"], "pass", "{check}");
    assert_eq!(
        evidence(check, "AppleARMPMUCharger AppleRawMaxCapacity").as_deref(),
        Some("1402"),
        "{check}"
    );

    let r = scan_from(OLD_7_BY_CLASS);
    let health = &r["devices"][0]["facts"]["battery"]["health"];
    assert_eq!(health["source"], "class IOPMPowerSource");
    assert_eq!(health["estimated_health_percent"], 74.9);
    let check = finding(&r, "battery-health");
    assert_eq!(check["status"], "warn", "{check}");
    assert_eq!(
        evidence(check, "class IOPMPowerSource DesignCapacity").as_deref(),
        Some("1960")
    );
}

/// iOS 27: MaxCapacity is 100 (a percentage) and the mAh values live only in BatteryData.
#[test]
fn ios27_battery_reads_mah_from_battery_data_never_the_percentage() {
    let r = scan_from(IOS27);
    let battery = &r["devices"][0]["facts"]["battery"];
    assert_eq!(battery["health"]["full_charge_capacity_mah"], 2790);
    assert_eq!(battery["health"]["full_charge_key"], "FullChargeCapacity");
    assert_eq!(battery["health"]["design_capacity_mah"], 3274);
    assert_eq!(battery["health"]["estimated_health_percent"], 85.2);
    assert_eq!(battery["level_percent"], 86);
    let check = finding(&r, "battery-health");
    assert_eq!(check["status"], "pass", "{check}");
    assert!(
        !check.to_string().contains("100 of"),
        "a percentage read as mAh: {check}"
    );
}

/// libimobiledevice asks by name only (`ioregentry`): an old phone answers its own entry and
/// an empty registry for AppleSmartBattery, as a real iPhone 7 does (libimobiledevice #570).
#[test]
fn libimobiledevice_reads_an_old_phones_entry_by_name() {
    if !libimobiledevice_present(&["idevicediagnostics"]) {
        return;
    }
    let path = fixture(OLD_6S);
    let snap = snapshot::load_file(&path).unwrap();
    let sim = start_sim_with(&[path], &["--as-captured"]);
    let registry = |entry: &str| -> plist::Dictionary {
        let (ok, out, err) = run_tool(
            &sim.address,
            "idevicediagnostics",
            &["ioregentry", entry],
            Duration::from_secs(20),
        );
        assert!(ok, "idevicediagnostics ioregentry {entry}: {out}{err}");
        let printed = plist::Value::from_reader_xml(out.as_bytes()).unwrap();
        printed.as_dictionary().unwrap()["IORegistry"]
            .as_dictionary()
            .unwrap()
            .clone()
    };
    assert_eq!(
        &registry("AppleARMPMUCharger"),
        snap.io_registry.get("AppleARMPMUCharger").unwrap()
    );
    assert!(registry("AppleSmartBattery").is_empty());
}

/// pymobiledevice3 asks for the battery by class only (`get_battery`): a phone that keeps it
/// under AppleARMPMUCharger, or answers only by class, gives it; by name AppleSmartBattery it
/// gives nothing.
#[test]
fn pymobiledevice3_reads_an_old_phones_battery_by_class() {
    let Some(tool) = common::pymobiledevice3() else {
        return;
    };
    for (name, key) in [
        (OLD_6S, "AppleARMPMUCharger"),
        (OLD_7_BY_CLASS, "IOPMPowerSource"),
    ] {
        let path = fixture(name);
        let snap = snapshot::load_file(&path).unwrap();
        let udid = snap.lockdown["UniqueDeviceID"].as_string().unwrap();
        let sim = start_sim_with(std::slice::from_ref(&path), &["--as-captured"]);
        let home = tempfile::tempdir().unwrap();
        let ask = |how: &str, what: &str| -> serde_json::Value {
            let child = std::process::Command::new(&tool)
                .args(["diagnostics", "ioregistry", how, what, "--usbmux"])
                .arg(&sim.socket)
                .args(["--udid", udid])
                .env("HOME", home.path())
                .env("NO_COLOR", "1")
                .env_remove("USBMUXD_SOCKET_ADDRESS")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let out = common::wait_bounded(child, "pymobiledevice3", Duration::from_secs(90));
            assert!(
                out.status.success(),
                "{name} {how} {what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let by_class = ask("--ioclass", "IOPMPowerSource");
        let entry = &snap.io_registry[key];
        for (k, v) in entry {
            let want = match v {
                plist::Value::Boolean(b) => serde_json::json!(b),
                plist::Value::Integer(i) => serde_json::json!(i.as_signed().unwrap()),
                _ => continue,
            };
            assert_eq!(by_class[k], want, "{name}: {k}");
        }
        assert_eq!(ask("--name", "AppleSmartBattery"), serde_json::json!({}));
    }
}
