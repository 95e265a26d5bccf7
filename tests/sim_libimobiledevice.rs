//! The simulated iPhone is faithful when third-party clients read it unmodified: these tests
//! run Debian's libimobiledevice-utils against `synccheck sim` and check every value they print
//! against the snapshot it serves.
//!
//! Without the tools the tests fail under CI=true (CI installs them) and are skipped elsewhere.

mod common;

use std::time::{Duration, Instant};

use common::{fixture, libimobiledevice_present, run_tool, start_sim_with, Sim};

use synccheck_core::snapshot::{self, Snapshot};

const TOOL_TIMEOUT: Duration = Duration::from_secs(20);

fn tools_present() -> bool {
    libimobiledevice_present(&["idevice_id", "ideviceinfo", "idevicediagnostics"])
}

/// Runs a tool against the simulator; it must succeed. Returns stdout.
fn run(sim: &Sim, tool: &str, args: &[&str]) -> String {
    let (ok, out, err) = run_tool(&sim.address, tool, args, TOOL_TIMEOUT);
    assert!(ok, "{tool} {args:?} failed:\n{out}\n{err}");
    out
}

/// Serves the snapshots byte for byte (`--as-captured`), so every value can be compared.
fn start_sim(snapshots: &[std::path::PathBuf]) -> Sim {
    let sim = start_sim_with(snapshots, &["--as-captured"]);
    assert_eq!(sim.address, format!("UNIX:{}", sim.socket.display()));
    sim
}

fn parse_dict(tool: &str, out: &str) -> plist::Dictionary {
    match plist::Value::from_reader_xml(out.as_bytes()) {
        Ok(plist::Value::Dictionary(d)) => d,
        other => panic!("{tool} did not print a plist dictionary ({other:?}):\n{out}"),
    }
}

/// Equal as the device sent them; reals only to the precision libplist prints.
fn same(a: &plist::Value, b: &plist::Value) -> bool {
    match (a, b) {
        (plist::Value::Real(x), plist::Value::Real(y)) => (x - y).abs() < 1e-3,
        (plist::Value::Dictionary(x), plist::Value::Dictionary(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (plist::Value::Array(x), plist::Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        _ => a == b,
    }
}

/// Every value the snapshot holds is printed, unchanged.
fn assert_contains(what: &str, printed: &plist::Dictionary, expected: &plist::Dictionary) {
    assert!(!expected.is_empty(), "{what}: the snapshot holds nothing");
    for (key, want) in expected {
        let got = printed
            .get(key)
            .unwrap_or_else(|| panic!("{what}: {key} missing from the output"));
        assert!(
            same(got, want),
            "{what}: {key} is {got:?}, snapshot has {want:?}"
        );
    }
}

fn udid(snap: &Snapshot) -> String {
    snap.lockdown["UniqueDeviceID"]
        .as_string()
        .unwrap()
        .to_string()
}

#[test]
fn libimobiledevice_reads_every_value_of_the_snapshot() {
    if !tools_present() {
        return;
    }
    let path = fixture("healthy.plist");
    let snap = snapshot::load_file(&path).unwrap();
    let sim = start_sim(&[path]);

    let ids = run(&sim, "idevice_id", &["-l"]);
    assert_eq!(ids.lines().collect::<Vec<_>>(), vec![udid(&snap)]);

    // Before a session only the public subset answers, as on an untrusted phone.
    let simple = parse_dict("ideviceinfo -s", &run(&sim, "ideviceinfo", &["-s", "-x"]));
    for key in [
        "ProductType",
        "ProductVersion",
        "BuildVersion",
        "UniqueDeviceID",
    ] {
        assert_eq!(
            simple.get(key),
            snap.lockdown.get(key),
            "ideviceinfo -s: {key}"
        );
    }
    assert!(
        !simple.contains_key("SerialNumber"),
        "the serial number needs a trusted session"
    );

    // With the TLS session: the whole root domain.
    let full = parse_dict("ideviceinfo", &run(&sim, "ideviceinfo", &["-x"]));
    assert_contains("ideviceinfo", &full, &snap.lockdown);

    for domain in [snapshot::DISK_USAGE_DOMAIN, snapshot::BATTERY_DOMAIN] {
        let printed = parse_dict(domain, &run(&sim, "ideviceinfo", &["-q", domain, "-x"]));
        assert_contains(domain, &printed, snap.domain(domain).unwrap());
    }

    let version = run(&sim, "ideviceinfo", &["-k", "ProductVersion"]);
    assert_eq!(
        version.trim(),
        snap.lockdown["ProductVersion"].as_string().unwrap()
    );

    let ioreg = parse_dict(
        "idevicediagnostics ioregentry",
        &run(
            &sim,
            "idevicediagnostics",
            &["ioregentry", "AppleSmartBattery"],
        ),
    );
    let battery = ioreg
        .get("IORegistry")
        .and_then(|v| v.as_dictionary())
        .expect("IORegistry dictionary");
    let expected = snap.smart_battery().unwrap();
    for key in [
        "CycleCount",
        "DesignCapacity",
        "AppleRawMaxCapacity",
        "Temperature",
    ] {
        assert_eq!(
            battery.get(key),
            expected.get(key),
            "AppleSmartBattery {key}"
        );
    }
    assert_contains("AppleSmartBattery", battery, expected);
}

/// Find My's `IsAssociated` answers only when asked by key, as on a phone (libimobiledevice
/// issues 275 and 378): a query for the whole domain leaves it out.
#[test]
fn find_my_answers_only_when_asked_by_key() {
    if !tools_present() {
        return;
    }
    let path = fixture("healthy.plist");
    let snap = snapshot::load_file(&path).unwrap();
    assert_eq!(
        snap.domain(snapshot::FMIP_DOMAIN).unwrap()[snapshot::FMIP_IS_ASSOCIATED],
        plist::Value::Boolean(true),
        "the fixture holds it"
    );
    let sim = start_sim(&[path]);
    let by_key = run(
        &sim,
        "ideviceinfo",
        &["-q", "com.apple.fmip", "-k", "IsAssociated"],
    );
    assert_eq!(by_key.trim(), "true");
    let whole = run(&sim, "ideviceinfo", &["-q", "com.apple.fmip", "-x"]);
    assert!(!whole.contains("IsAssociated"), "{whole}");
    let whole = run(&sim, "ideviceinfo", &["-q", "com.apple.fmip"]);
    assert!(!whole.contains("IsAssociated"), "{whole}");
}

/// By default a snapshot is replayed as if captured now: the phone's clock, as libimobiledevice
/// reads it, and its last backup both move forward by the time since the capture.
#[test]
fn a_replayed_phone_moves_its_clock_and_backup_date_to_now() {
    if !tools_present() {
        return;
    }
    let path = fixture("healthy.plist");
    let snap = snapshot::load_file(&path).unwrap();
    let sim = start_sim_with(&[path], &[]);
    let since_capture = std::time::SystemTime::now()
        .duration_since(snap.captured_at.unwrap())
        .unwrap()
        .as_secs_f64();
    // The simulator moved its dates when it started, a moment before this.
    let near = |moved: f64, what: &str| {
        assert!(
            (moved - since_capture).abs() < 120.0,
            "{what} moved {moved}s, {since_capture}s since capture"
        )
    };

    let clock: f64 = run(&sim, "ideviceinfo", &["-k", "TimeIntervalSince1970"])
        .trim()
        .parse()
        .unwrap();
    let captured_clock = snap.lockdown["TimeIntervalSince1970"].as_real().unwrap();
    near(clock - captured_clock, "TimeIntervalSince1970");

    let backup = |d: &plist::Dictionary| d["LastCloudBackupDate"].as_signed_integer().unwrap();
    let served = parse_dict(
        "ideviceinfo -q com.apple.mobile.backup",
        &run(
            &sim,
            "ideviceinfo",
            &["-q", "com.apple.mobile.backup", "-x"],
        ),
    );
    let captured_backup = backup(snap.domain("com.apple.mobile.backup").unwrap());
    near(
        (backup(&served) - captured_backup) as f64,
        "LastCloudBackupDate",
    );
}

#[test]
fn repeated_snapshots_become_distinct_phones_that_agree_on_their_udid() {
    if !tools_present() {
        return;
    }
    let path = fixture("healthy.plist");
    let sim = start_sim(&[path.clone(), path]);
    let ids = run(&sim, "idevice_id", &["-l"]);
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    for id in &ids {
        let told = run(&sim, "ideviceinfo", &["-u", id, "-k", "UniqueDeviceID"]);
        assert_eq!(told.trim(), *id);
    }
}

#[test]
fn a_restarted_phone_leaves_the_bus_and_comes_back() {
    if !tools_present() {
        return;
    }
    let sim = start_sim(&[fixture("healthy.plist")]);
    let out = run(&sim, "idevicediagnostics", &["restart"]);
    assert!(out.contains("Restarting"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut was_gone = false;
    loop {
        let ids = run(&sim, "idevice_id", &["-l"]);
        if ids.trim().is_empty() {
            was_gone = true;
        } else if was_gone {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the phone did not leave and come back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
