//! The simulator at realistic scale behind a modelled USB link (`--library-profile realistic
//! --fault link=MBPS,RTT_MS`), read by unmodified third-party clients and by synccheck: the
//! link changes when bytes arrive, never which bytes. Times are not asserted here (that is the
//! benchmark's job, bench/photos.sh); the link's round trips and bandwidth are asserted in
//! virtual time in the simulator's own tests (crates/synccheck-sim/src/link_tests.rs).
//!
//! pymobiledevice3 and libimobiledevice-utils: without them the tests that need them fail under
//! CI=true and are skipped elsewhere (see tests/afc_pymobiledevice3.rs).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use synccheck_core::photos::{DatabaseRead, LibrarySummary, DATABASE, DATABASE_WAL};
use synccheck_core::snapshot::{self, Snapshot};
use synccheck_device::photos_query::{summarize, MAIN_FILE, WAL_FILE};
use synccheck_device::{afc, Usbmuxd, UsbmuxdAddress};
use synccheck_sim::synth;

const LINK: &str = "link=30,1";
const ASSETS: u64 = 800;
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);

fn summary() -> LibrarySummary {
    LibrarySummary {
        assets: Some(ASSETS),
        waiting: Some(ASSETS / 10),
        waiting_bytes: Some(ASSETS / 10 * 2_500_000),
        waiting_with_failed_attempts: Some(ASSETS / 50),
        failed: Some(1),
        quarantined: Some(1),
        cloud_only_originals: Some(ASSETS / 2),
        ..LibrarySummary::default()
    }
}

/// The synced photos fixture with the library above.
fn phone() -> Snapshot {
    let mut snap = snapshot::load_file(&common::fixture("photos/synced.plist")).unwrap();
    snap.photo_library
        .as_mut()
        .expect("the fixture has a photo library")
        .database = DatabaseRead::Summary(summary());
    snap
}

fn write_phone(dir: &Path) -> PathBuf {
    let path = dir.join("phone.plist");
    phone()
        .write_xml(std::fs::File::create(&path).unwrap())
        .unwrap();
    path
}

fn udid() -> String {
    phone().lockdown["UniqueDeviceID"]
        .as_string()
        .unwrap()
        .to_string()
}

fn realistic_sim(dir: &Path) -> common::Sim {
    common::start_sim_with(
        &[write_phone(dir)],
        &[
            "--as-captured",
            "--library-profile",
            "realistic",
            "--fault",
            LINK,
        ],
    )
}

/// The library read back from the two files: the counts the snapshot asked for.
fn assert_summarises(main: &[u8], wal: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(MAIN_FILE), main).unwrap();
    std::fs::write(dir.path().join(WAL_FILE), wal).unwrap();
    assert_eq!(
        summarize(dir.path()).unwrap(),
        synth::expected_summary(&summary()).unwrap()
    );
}

#[test]
fn pymobiledevice3_pulls_a_realistic_library_over_a_link() {
    let Some(tool) = common::pymobiledevice3() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sim = realistic_sim(dir.path());
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let udid = udid();
    let pull = |from: &str, to: &Path| {
        let child = Command::new(&tool)
            .args(["afc", "pull", from, to.to_str().unwrap()])
            .args(["--usbmux", sim.socket.to_str().unwrap(), "--udid", &udid])
            .env("HOME", &home)
            .env_remove("PYMOBILEDEVICE3_USBMUX")
            .env_remove("USBMUXD_SOCKET_ADDRESS")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run pymobiledevice3");
        let out = common::wait_bounded(child, "pymobiledevice3 afc pull", TOOL_TIMEOUT);
        assert!(
            out.status.success(),
            "pymobiledevice3 afc pull {from}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(to).unwrap()
    };
    let main = pull("/PhotoData/Photos.sqlite", &dir.path().join("main"));
    let wal = pull("/PhotoData/Photos.sqlite-wal", &dir.path().join("wal"));
    // Byte for byte the library the simulator built, served from its deduplicated pages.
    let built = synth::build_realistic(&summary()).unwrap();
    assert_eq!(main.len() as u64, built.main.len());
    assert!(
        main == built.main.to_vec(),
        "the pulled Photos.sqlite differs"
    );
    // The -wal's header holds random salts, so another build's differs in them: the same size,
    // and the same library once read back.
    assert_eq!(wal.len(), built.wal.len());
    assert_summarises(&main, &wal);
}

#[test]
fn libimobiledevice_reads_a_phone_behind_a_link() {
    if !common::libimobiledevice_present(&["idevice_id", "ideviceinfo"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sim = common::start_sim_with(&[write_phone(dir.path())], &["--fault", "link=30,5"]);
    let (ok, out, err) = common::run_tool(
        &sim.address,
        "ideviceinfo",
        &["-k", "ProductVersion"],
        Duration::from_secs(30),
    );
    assert!(ok, "ideviceinfo behind a link: {out}\n{err}");
    let want = phone().lockdown["ProductVersion"]
        .as_string()
        .unwrap()
        .to_string();
    assert_eq!(out.trim(), want);
    let (ok, out, err) = common::run_tool(
        &sim.address,
        "ideviceinfo",
        &["-q", "com.apple.disk_usage", "-x"],
        Duration::from_secs(30),
    );
    assert!(ok && out.contains("TotalDataCapacity"), "{out}\n{err}");
}

#[test]
fn a_scan_over_a_link_counts_the_realistic_library() {
    let dir = tempfile::tempdir().unwrap();
    let sim = realistic_sim(dir.path());
    let out = common::synccheck_at(&sim.address, &["scan", "--json"], Duration::from_secs(120));
    let report = common::report_json(&out);
    let library = &report["devices"][0]["facts"]["photos"]["library"];
    let expected = synth::expected_summary(&summary()).unwrap();
    assert_eq!(library["assets"], ASSETS, "{library}");
    assert_eq!(library["waiting"], expected.waiting.unwrap(), "{library}");
}

#[test]
fn the_counters_see_every_library_byte_a_client_copies() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut device = synccheck_sim::SimDevice::new(phone());
        device.library_profile = synccheck_sim::LibraryProfile::Realistic;
        device.faults.add(synccheck_sim::Fault::Link(
            synccheck_sim::Link::parse("1000,0").unwrap(),
        ));
        let sim = synccheck_sim::start(synccheck_sim::SimConfig {
            devices: vec![device],
            listen: synccheck_sim::ListenAddr::Unix(dir.path().join("mux.sock")),
        })
        .await
        .unwrap();
        let mux = Usbmuxd::new(
            UsbmuxdAddress::Unix(dir.path().join("mux.sock")),
            Duration::from_secs(30),
        );
        let devices = mux.list_devices().await.unwrap();
        let mut client = afc::connect(&mux, &devices[0], Duration::from_secs(60))
            .await
            .unwrap();
        let (mut main, mut wal) = (Vec::new(), Vec::new());
        client
            .copy_to(DATABASE, &mut main, |_, _| {})
            .await
            .unwrap();
        client
            .copy_to(DATABASE_WAL, &mut wal, |_, _| {})
            .await
            .unwrap();
        drop(client);
        assert_summarises(&main, &wal);
        let counted = sim.afc_counters(1).unwrap();
        assert_eq!(counted.len(), 1, "{counted:?}");
        let c = counted[0];
        assert_eq!(c.library_bytes, (main.len() + wal.len()) as u64, "{c:?}");
        assert_eq!(c.bytes_read, c.library_bytes, "{c:?}");
        assert!(c.reads >= 2 && c.requests > c.reads, "{c:?}");
        assert!(c.round_trips >= 1 && c.round_trips <= c.requests, "{c:?}");
        assert!(c.bytes_sent > c.bytes_read, "{c:?}");
        sim.shutdown().await;
    });
}
