//! A third-party AFC client reads the simulated phone's PhotoData tree unmodified:
//! pymobiledevice3's `afc ls` and `afc pull` against `synccheck sim`, and the pulled files match
//! what the snapshot holds and what synccheck's own AFC client copies.
//!
//! pymobiledevice3 comes from the venv `.ci/run` installs (`PMD3` names its executable; without
//! it, `.venv-pmd3/bin/pymobiledevice3` beside the manifest, then `PATH`). Without the tool the
//! test fails under CI=true and is skipped elsewhere.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use synccheck_core::photos::{
    self, DatabaseRead, FileRead, LibrarySummary, PhotoLibrary, DATABASE, DATABASE_WAL,
};
use synccheck_core::snapshot;
use synccheck_device::{afc, Usbmuxd, UsbmuxdAddress};
use synccheck_sim::synth;

/// pymobiledevice3 takes a couple of seconds just to import itself.
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn summary() -> LibrarySummary {
    LibrarySummary {
        schema: Some("ZASSET".into()),
        assets: Some(800),
        waiting: Some(25),
        waiting_bytes: Some(60_000_000),
        oldest_waiting_added: Some(at(1_745_000_000)),
        waiting_with_failed_attempts: Some(2),
        last_upload_attempt: Some(at(1_746_000_000)),
        failed: Some(1),
        quarantined: Some(0),
        cloud_only_originals: Some(5),
    }
}

fn state_files() -> BTreeMap<String, FileRead> {
    let present = |bytes: &[u8], secs| FileRead::Present {
        contents: bytes.to_vec(),
        modified: Some(at(secs)),
    };
    let mut files = BTreeMap::new();
    files.insert(
        photos::CPL_ENABLED_MARKER.to_string(),
        present(b"2024-11-02 09:14:55 +0000", 1_730_538_895),
    );
    files.insert(
        photos::INITIAL_SYNC_MARKER.to_string(),
        present(b"", 1_730_600_000),
    );
    files.insert(
        photos::SYNC_STATUS.to_string(),
        present(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict><key>lastSyncDate</key><date>2025-05-01T10:00:00Z</date></dict></plist>\n",
            1_746_100_000,
        ),
    );
    files.insert(
        photos::APP_PRIVATE_DATA.to_string(),
        FileRead::PermissionDenied,
    );
    files.insert(photos::PAUSE.to_string(), FileRead::NotFound);
    files
}

/// Runs pymobiledevice3 with its own home (it caches pair records there), killed past the
/// time limit.
fn run(tool: &Path, home: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(tool)
        .args(args)
        .env("HOME", home)
        .env_remove("PYMOBILEDEVICE3_USBMUX")
        .env_remove("USBMUXD_SOCKET_ADDRESS")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pymobiledevice3");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > TOOL_TIMEOUT {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "pymobiledevice3 {args:?} still running after {TOOL_TIMEOUT:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ok(what: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "pymobiledevice3 {what} failed ({}): {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn pymobiledevice3_lists_and_pulls_the_photo_library() {
    let Some(tool) = common::pymobiledevice3() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut snap = snapshot::load_file(&common::fixture("healthy.plist")).unwrap();
    snap.photo_library = Some(PhotoLibrary {
        files: state_files(),
        database: DatabaseRead::Summary(summary()),
        copied_bytes: None,
        read_at: Some(at(1_746_200_000)),
    });
    let udid = snap.lockdown["UniqueDeviceID"]
        .as_string()
        .unwrap()
        .to_string();
    let snap_path = dir.path().join("phone.plist");
    snap.write_xml(std::fs::File::create(&snap_path).unwrap())
        .unwrap();
    // As captured: the pulled files are compared with the snapshot, modification times included.
    let sim = common::start_sim_with(&[snap_path], &["--as-captured"]);
    let socket = sim.socket.to_str().unwrap().to_string();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    // pymobiledevice3 reads a Unix socket path as given (it takes `host:port` for TCP, so the
    // `UNIX:` form libusbmuxd understands would not do).
    let device = ["--usbmux", socket.as_str(), "--udid", udid.as_str()];
    let afc_cmd = |args: &[&str]| -> Vec<String> {
        let mut v = vec!["afc".to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        v.extend(device.iter().map(|s| s.to_string()));
        v
    };
    let call = |args: &[&str]| {
        let argv = afc_cmd(args);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        run(&tool, &home, &argv)
    };

    let started = Instant::now();
    let listing = ok("afc ls", call(&["ls", "/PhotoData"]));
    let mut listed: Vec<&str> = listing.lines().map(str::trim).collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            "/PhotoData",
            "/PhotoData/CPL",
            "/PhotoData/Photos.sqlite",
            "/PhotoData/Photos.sqlite-wal",
            "/PhotoData/cpl_enabled_marker",
            "/PhotoData/private",
        ],
        "{listing}"
    );

    // The state files: the CPL folder whole, and the marker beside it.
    let pulled = dir.path().join("pulled");
    std::fs::create_dir(&pulled).unwrap();
    let pulled_str = pulled.to_str().unwrap();
    ok(
        "afc pull /PhotoData/CPL",
        call(&["pull", "/PhotoData/CPL", pulled_str]),
    );
    let marker = pulled.join("cpl_enabled_marker");
    ok(
        "afc pull cpl_enabled_marker",
        call(&[
            "pull",
            "/PhotoData/cpl_enabled_marker",
            marker.to_str().unwrap(),
        ]),
    );
    for (path, read) in state_files() {
        let local = match path.as_str() {
            photos::CPL_ENABLED_MARKER => marker.clone(),
            p if p.starts_with("PhotoData/CPL/") => pulled
                .join("CPL")
                .join(p.trim_start_matches("PhotoData/CPL/")),
            _ => continue,
        };
        match read {
            FileRead::Present { contents, modified } => {
                assert_eq!(std::fs::read(&local).unwrap(), contents, "{path}");
                // pull sets the local mtime from the phone's st_mtime.
                let mtime = std::fs::metadata(&local).unwrap().modified().unwrap();
                let diff = match mtime.duration_since(modified.unwrap()) {
                    Ok(d) => d,
                    Err(e) => e.duration(),
                };
                assert!(
                    diff < Duration::from_secs(2),
                    "{path}: mtime off by {diff:?}"
                );
            }
            _ => assert!(!local.exists(), "{path} is not on the phone"),
        }
    }

    // A file the phone refuses is an error, not an empty file.
    let denied = call(&[
        "pull",
        "/PhotoData/private/com.apple.assetsd/appPrivateData.plist",
        dir.path().join("denied.plist").to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&denied.stderr);
    assert!(
        !denied.status.success() && said.contains("PERM_DENIED"),
        "pulling a denied file fails with AFC's permission denied: {said}"
    );

    // The database and its write-ahead log.
    let main = pulled.join("Photos.sqlite");
    let wal = pulled.join("Photos.sqlite-wal");
    ok(
        "afc pull Photos.sqlite",
        call(&["pull", "/PhotoData/Photos.sqlite", main.to_str().unwrap()]),
    );
    ok(
        "afc pull Photos.sqlite-wal",
        call(&[
            "pull",
            "/PhotoData/Photos.sqlite-wal",
            wal.to_str().unwrap(),
        ]),
    );
    let pmd3_time = started.elapsed();
    let main = std::fs::read(main).unwrap();
    let wal = std::fs::read(wal).unwrap();
    assert_eq!(main, synth::build(&summary()).unwrap().main);

    // synccheck's own client copies the same bytes from the same phone.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (our_main, our_wal) = rt.block_on(async {
        let mux = Usbmuxd::new(
            UsbmuxdAddress::Unix(sim.socket.clone()),
            Duration::from_secs(20),
        );
        let devices = mux.list_devices().await.unwrap();
        let mut client = afc::connect(&mux, &devices[0], Duration::from_secs(20))
            .await
            .unwrap();
        let mut m = Vec::new();
        let mut w = Vec::new();
        client.copy_to(DATABASE, &mut m, |_, _| {}).await.unwrap();
        client
            .copy_to(DATABASE_WAL, &mut w, |_, _| {})
            .await
            .unwrap();
        (m, w)
    });
    assert_eq!(main, our_main);
    assert_eq!(wal, our_wal);

    // And the pulled pair is a library that reads back as the summary.
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    std::fs::write(lib.join(synccheck_device::photos_query::MAIN_FILE), &main).unwrap();
    std::fs::write(lib.join(synccheck_device::photos_query::WAL_FILE), &wal).unwrap();
    assert_eq!(
        synccheck_device::photos_query::summarize(&lib).unwrap(),
        synth::expected_summary(&summary()).unwrap()
    );
    eprintln!("pymobiledevice3: ls and 5 pulls in {pmd3_time:?}");
}

/// The originals `synccheck rescue` copies, read by a third-party client: the simulator serves
/// them as a phone would, so "byte for byte" in tests/cli_rescue.rs is not synccheck agreeing
/// with itself.
#[test]
fn pymobiledevice3_pulls_an_original_and_its_live_photo_video() {
    let Some(tool) = common::pymobiledevice3() else {
        return;
    };
    let fixture = common::fixture("photos/rescue-waiting.plist");
    let snap = snapshot::load_file(&fixture).unwrap();
    let DatabaseRead::Summary(summary) = &snap.photo_library.as_ref().unwrap().database else {
        panic!("the fixture has a library summary");
    };
    let lib = synth::build(summary).unwrap();
    let live = synccheck_sim::originals::list(&lib.main, &lib.wal)
        .unwrap()
        .into_iter()
        .find(|o| o.live_video.is_some())
        .expect("a Live Photo");
    let (video, video_size) = live.live_video.clone().unwrap();
    let udid = snap.lockdown["UniqueDeviceID"]
        .as_string()
        .unwrap()
        .to_string();
    let sim = common::start_sim_with(&[fixture], &["--as-captured"]);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let socket = sim.socket.to_str().unwrap().to_string();
    let call = |args: &[&str]| {
        let mut argv = vec!["afc"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["--usbmux", socket.as_str(), "--udid", udid.as_str()]);
        run(&tool, &home, &argv)
    };
    for (path, size) in [(live.path.clone(), live.size), (video, video_size)] {
        let local = dir.path().join(path.replace('/', "_"));
        ok(
            "afc pull an original",
            call(&["pull", &format!("/{path}"), local.to_str().unwrap()]),
        );
        assert!(
            std::fs::read(&local).unwrap() == synccheck_sim::originals::contents(&path, size),
            "{path} as pymobiledevice3 pulled it differs"
        );
    }
}
