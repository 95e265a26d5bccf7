//! The simulated iPhone is faithful when third-party clients read it unmodified: these tests
//! run Debian's libimobiledevice-utils against `synccheck sim` and check every value they print
//! against the snapshot it serves.
//!
//! Without the tools the tests fail under CI=true (CI installs them) and are skipped elsewhere.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use synccheck::snapshot::{self, Snapshot};

const TOOL_TIMEOUT: Duration = Duration::from_secs(20);
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Whether the libimobiledevice tools are here; panics under CI when they are not.
fn tools_present() -> bool {
    let found = ["idevice_id", "ideviceinfo", "idevicediagnostics"]
        .iter()
        .all(|t| {
            Command::new(t)
                .arg("--help")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
        });
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("libimobiledevice-utils is not installed (apt-get install -y libimobiledevice-utils)");
        }
        eprintln!("skipping: libimobiledevice-utils is not installed");
    }
    found
}

/// A running `synccheck sim`, killed when dropped.
struct Sim {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(snapshots: &[PathBuf]) -> Sim {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("mux.sock");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synccheck"));
    cmd.arg("sim").arg("--socket").arg(&socket);
    for s in snapshots {
        cmd.arg("--snapshot").arg(s);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start synccheck sim");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = match rx.recv_timeout(START_TIMEOUT) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            panic!("synccheck sim printed no address within {START_TIMEOUT:?}");
        }
    };
    let address = line
        .trim()
        .strip_prefix("USBMUXD_SOCKET_ADDRESS=")
        .unwrap_or_else(|| panic!("unexpected first line from sim: {line:?}"))
        .to_string();
    assert_eq!(address, format!("UNIX:{}", socket.display()));
    Sim {
        child,
        address,
        _dir: dir,
    }
}

/// Runs a tool against the simulator, killed after TOOL_TIMEOUT; returns stdout.
fn run(sim: &Sim, tool: &str, args: &[&str]) -> String {
    let mut child = Command::new(tool)
        .args(args)
        .env("USBMUXD_SOCKET_ADDRESS", &sim.address)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = out_reader.join().unwrap();
            let err = err_reader.join().unwrap();
            assert!(
                status.success(),
                "{tool} {args:?} failed ({status}):\n{out}\n{err}"
            );
            return out;
        }
        if started.elapsed() > TOOL_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{tool} {args:?} hung for {TOOL_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
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
