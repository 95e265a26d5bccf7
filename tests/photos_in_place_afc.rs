//! The photo library read in place over AFC from the simulator, in-process: the same summary
//! as a full copy, and the client's own counters (requests, bytes, pipelined batches) bound
//! what crossed the connection. Counts, not times: no test here is timed.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use synccheck_core::photos::{DatabaseRead, LibrarySummary, PhotoLibrary};
use synccheck_core::snapshot::{self, Snapshot};
use synccheck_device::afc::{self, Afc, AfcCounters};
use synccheck_device::limits::ScanLimits;
use synccheck_device::photos::{read_photo_library, PhotoScope};
use synccheck_device::rescue::{self, Listing};
use synccheck_device::rescue_query::{self, Selection};
use synccheck_device::{AttachedDevice, Usbmuxd, UsbmuxdAddress};
use synccheck_sim::{self as sim, ListenAddr, SimConfig, SimDevice};

const TIMEOUT: Duration = Duration::from_secs(30);

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn summary(assets: u64) -> LibrarySummary {
    LibrarySummary {
        schema: Some("ZASSET".into()),
        assets: Some(assets),
        waiting: Some(assets / 10),
        waiting_bytes: Some(assets / 10 * 2_500_000),
        oldest_waiting_added: Some(at(1_720_000_000)),
        waiting_with_failed_attempts: Some(assets / 50),
        last_upload_attempt: Some(at(1_748_000_000)),
        failed: Some(assets / 1000),
        quarantined: Some(3),
        cloud_only_originals: Some(assets / 2),
    }
}

/// Reads the library with `scope` on a fresh AFC connection: what it gave, what it cost, and
/// the last progress heard.
async fn read(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    scope: PhotoScope,
) -> (PhotoLibrary, AfcCounters, (u64, u64)) {
    let mut afc: Afc = afc::connect(mux, device, TIMEOUT).await.unwrap();
    let mut last = (0, 0);
    let library = read_photo_library(&mut afc, scope, &ScanLimits::default(), |read, total| {
        last = (read, total)
    })
    .await
    .unwrap();
    (library, afc.counters(), last)
}

/// A simulator serving one phone whose library is synthesised from `summary(assets)`.
async fn serve(assets: u64, dir: &Path) -> (sim::SimHandle, Usbmuxd, AttachedDevice) {
    let mut snap: Snapshot = snapshot::load_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/photos/synced.plist"),
    )
    .unwrap();
    let mut library = snap.photo_library.take().unwrap();
    library.database = DatabaseRead::Summary(summary(assets));
    snap.photo_library = Some(library);
    let socket = dir.join("mux.sock");
    let sim = sim::start(SimConfig {
        devices: vec![SimDevice::new(snap)],
        listen: ListenAddr::Unix(socket.clone()),
    })
    .await
    .unwrap();
    let mux = Usbmuxd::new(UsbmuxdAddress::Unix(socket), TIMEOUT);
    let device = mux.list_devices().await.unwrap().remove(0);
    (sim, mux, device)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_reads_the_counts_of_a_full_copy_in_few_round_trips() {
    let assets = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let (_sim, mux, device) = serve(assets, dir.path()).await;

    let (copied, copy_cost, _) = read(&mux, &device, PhotoScope::EverythingByCopy).await;
    let (in_place, cost, progress) = read(&mux, &device, PhotoScope::Everything).await;
    let want = synccheck_sim::synth::expected_summary(&summary(assets)).unwrap();
    assert_eq!(copied.database, DatabaseRead::Summary(want.clone()));
    assert_eq!(in_place.database, DatabaseRead::Summary(want));

    // The copy read every byte of both files; in place reads at most that (plus the two
    // headers read again by the torn-read guard), and says how much in the snapshot.
    let files = copied.copied_bytes.unwrap();
    assert!(cost.read_bytes <= files + 132, "{cost:?} of {files}");
    assert_eq!(in_place.copied_bytes, Some(progress.0));
    assert!(progress.1 >= progress.0, "{progress:?}");
    // Round trips: each pipelined batch is about one; a page-by-page reader would need one per
    // 4 KiB page. The bound: one batch per 64 KiB read, plus a constant for the headers and
    // the first steps of each b-tree.
    println!(
        "copy: {copy_cost:?}; in place: {cost:?} for {} of {files} bytes",
        cost.read_bytes
    );
    assert!(
        cost.range_batches <= cost.read_bytes / (64 * 1024) + 64,
        "{cost:?}"
    );
    // Each batch's requests: a seek and a read per range, and few ranges per batch on average.
    assert!(cost.requests <= cost.read_bytes / 4096 * 2 + 64, "{cost:?}");
}

/// `rescue` lists what to copy from the library read in place, not from a copy of it: the
/// same list as plain SQLite gives over the library's files, for fewer bytes than the files
/// hold (the resources table, which the list does not need, is never read), as the client's
/// own counters and the progress it reports say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_lists_the_library_in_place() {
    let assets = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let (_sim, mux, device) = serve(assets, dir.path()).await;
    let lib = synccheck_sim::synth::build(&summary(assets)).unwrap();
    let files = (lib.main.len() + lib.wal.len()) as u64;
    std::fs::write(dir.path().join("Photos.sqlite"), &lib.main).unwrap();
    std::fs::write(dir.path().join("Photos.sqlite-wal"), &lib.wal).unwrap();
    let conn = rusqlite::Connection::open_with_flags(
        dir.path().join("Photos.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let want = rescue_query::list(&conn, Selection::NotUploaded).unwrap();
    assert_eq!(want.assets.len() as u64, assets / 10);

    let mut afc: Afc = afc::connect(&mux, &device, TIMEOUT).await.unwrap();
    let mut last = (0, 0);
    let listing = rescue::list_assets(
        &mut afc,
        &ScanLimits::default(),
        Selection::NotUploaded,
        &mut |read, total| last = (read, total),
    )
    .await
    .unwrap();
    assert_eq!(listing, Listing::Listed(want));
    let cost = afc.counters();
    println!("rescue's listing: {cost:?} of {files} bytes; progress {last:?}");
    // A copy reads every byte of both files; the listing, in place, a part of them (plus the
    // two headers read again by the torn-read guard).
    assert!(cost.read_bytes < files * 3 / 4, "{cost:?} of {files}");
    assert!(
        last.0 > 0 && last.0 <= cost.read_bytes && last.1 >= last.0,
        "{last:?}"
    );
}
