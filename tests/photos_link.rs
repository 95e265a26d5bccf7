//! Issue 16's promise, pinned by the simulator's own counters rather than by a clock: a scan
//! of a realistic library behind a modelled USB link reads only a small part of the library's
//! bytes, and pipelines its reads so that round trips stay far fewer than requests. The full
//! copy (`--photo-read copy`) of the same phone reads every byte, as a control.

mod common;

use std::path::Path;
use std::time::Duration;

use synccheck_core::photos::{DatabaseRead, LibrarySummary, DATABASE, DATABASE_WAL};
use synccheck_core::snapshot::{self, Snapshot};
use synccheck_device::{afc, Usbmuxd, UsbmuxdAddress};
use synccheck_sim::{AfcCounters, Fault, LibraryProfile, Link, SimConfig, SimDevice};

/// Large enough that the tables the summary skips dominate, as in a real library (about
/// 7.5 KB per asset: some 30 MB), small enough for CI.
const ASSETS: u64 = 4_000;
const LIMIT: Duration = Duration::from_secs(120);

fn phone() -> Snapshot {
    let mut snap = snapshot::load_file(&common::fixture("photos/synced.plist")).unwrap();
    snap.photo_library.as_mut().unwrap().database = DatabaseRead::Summary(LibrarySummary {
        assets: Some(ASSETS),
        waiting: Some(ASSETS / 10),
        waiting_bytes: Some(ASSETS / 10 * 2_500_000),
        waiting_with_failed_attempts: Some(ASSETS / 50),
        failed: Some(1),
        quarantined: Some(1),
        cloud_only_originals: Some(ASSETS / 2),
        ..LibrarySummary::default()
    });
    snap
}

/// What one scan (`extra` its options) asked of the phone's AFC, summed over its connections,
/// and the library's size on the phone.
fn scan_counters(extra: &[&str]) -> (AfcCounters, u64, serde_json::Value) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("mux.sock");
        let mut device = SimDevice::new(phone());
        device.library_profile = LibraryProfile::Realistic;
        device.faults.add(Fault::Link(Link::parse("30,1").unwrap()));
        let sim = synccheck_sim::start(SimConfig {
            devices: vec![device],
            listen: synccheck_sim::ListenAddr::Unix(socket.clone()),
        })
        .await
        .unwrap();
        let address = format!("UNIX:{}", socket.display());
        let mut args = vec!["scan", "--json"];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let out = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            common::synccheck_at(&address, &args, LIMIT)
        })
        .await
        .unwrap();
        let report = common::report_json(&out);
        let mut sum = AfcCounters::default();
        for c in sim.afc_counters(1).unwrap() {
            sum.requests += c.requests;
            sum.round_trips += c.round_trips;
            sum.reads += c.reads;
            sum.bytes_read += c.bytes_read;
            sum.library_bytes += c.library_bytes;
            sum.bytes_sent += c.bytes_sent;
        }
        let size = library_size(&socket).await;
        sim.shutdown().await;
        (sum, size, report)
    })
}

async fn library_size(socket: &Path) -> u64 {
    let mux = Usbmuxd::new(
        UsbmuxdAddress::Unix(socket.to_path_buf()),
        Duration::from_secs(30),
    );
    let devices = mux.list_devices().await.unwrap();
    let mut client = afc::connect(&mux, &devices[0], Duration::from_secs(30))
        .await
        .unwrap();
    let main = client.stat(DATABASE).await.unwrap().size;
    let wal = client.stat(DATABASE_WAL).await.map_or(0, |s| s.size);
    main + wal
}

fn library(report: &serde_json::Value) -> &serde_json::Value {
    &report["devices"][0]["facts"]["photos"]["library"]
}

#[test]
fn in_place_reads_a_small_part_of_the_library_in_few_round_trips() {
    let (in_place, size, report) = scan_counters(&[]);
    eprintln!("in place: {in_place:?} of a library of {size} bytes");
    assert_eq!(library(&report)["assets"], ASSETS, "{report}");
    assert_eq!(library(&report)["waiting"], ASSETS / 10, "{report}");
    // Issue 16's target is at most 15 % of the library's bytes.
    assert!(
        in_place.library_bytes * 100 <= size * 15,
        "read {} of {size} library bytes: {in_place:?}",
        in_place.library_bytes
    );
    // Pipelined: many requests share each round trip.
    assert!(
        in_place.round_trips * 4 <= in_place.requests,
        "{in_place:?}"
    );

    let (copy, copy_size, copied) = scan_counters(&["--photo-read", "copy"]);
    assert_eq!(copy_size, size);
    assert_eq!(
        library(&copied),
        library(&report),
        "the same counts both ways"
    );
    assert_eq!(
        copy.library_bytes, size,
        "the copy reads every byte: {copy:?}"
    );
}
