//! AFC against the simulator, in-process: the device layer's AFC client reads the PhotoData tree
//! the simulator builds from a snapshot's `PhotoLibrary`, byte for byte; each AFC fault behaves
//! as documented in `sim::faults`; and the phone refuses broken packets and every write.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use synccheck_core::photos::{
    self, DatabaseRead, FileRead, LibrarySummary, PhotoLibrary, DATABASE, DATABASE_WAL,
};
use synccheck_core::snapshot::{self, Snapshot};
use synccheck_device::afc::{self, Afc, AfcError, FileKind};
use synccheck_device::{AttachedDevice, BoxStream, Usbmuxd, UsbmuxdAddress};
use synccheck_sim::synth;
use synccheck_sim::{self as sim, FaultSpec, Faults, ListenAddr, SimConfig, SimDevice, SimHandle};
use synccheck_wire::afc::{self as codec, code, mode, op};

const TIMEOUT: Duration = Duration::from_secs(20);

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn summary() -> LibrarySummary {
    LibrarySummary {
        schema: Some("ZASSET".into()),
        assets: Some(1200),
        waiting: Some(40),
        waiting_bytes: Some(120_000_000),
        oldest_waiting_added: Some(at(1_745_000_000)),
        waiting_with_failed_attempts: Some(3),
        last_upload_attempt: Some(at(1_746_000_000)),
        failed: Some(1),
        quarantined: Some(2),
        cloud_only_originals: Some(10),
    }
}

const SYNC_STATUS: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>isExceedingQuota</key><true/></dict></plist>
"#;

fn library(database: DatabaseRead) -> PhotoLibrary {
    let mut files = BTreeMap::new();
    files.insert(
        photos::CPL_ENABLED_MARKER.to_string(),
        FileRead::Present {
            contents: b"2024-11-02 09:14:55 +0000".to_vec(),
            modified: Some(at(1_730_538_895)),
        },
    );
    files.insert(
        photos::INITIAL_SYNC_MARKER.to_string(),
        FileRead::Present {
            contents: Vec::new(),
            modified: Some(at(1_730_600_000)),
        },
    );
    files.insert(
        photos::SYNC_STATUS.to_string(),
        FileRead::Present {
            contents: SYNC_STATUS.to_vec(),
            modified: Some(at(1_746_100_000)),
        },
    );
    files.insert(photos::PAUSE.to_string(), FileRead::NotFound);
    files.insert(
        photos::DOWNLOAD_FINISHED_MARKER.to_string(),
        FileRead::NotFound,
    );
    files.insert(
        photos::APP_PRIVATE_DATA.to_string(),
        FileRead::PermissionDenied,
    );
    PhotoLibrary {
        files,
        database,
        copied_bytes: None,
        read_at: Some(at(1_746_200_000)),
    }
}

fn phone(photo_library: Option<PhotoLibrary>, faults: &[&str]) -> SimDevice {
    let mut snap: Snapshot = snapshot::load_file(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join("healthy.plist"),
    )
    .unwrap();
    snap.photo_library = photo_library;
    let specs: Vec<FaultSpec> = faults.iter().map(|f| f.parse().unwrap()).collect();
    let mut device = SimDevice::new(snap);
    device.faults = Faults::per_device(&specs, 1, None).unwrap().remove(0);
    device
}

struct Bench {
    handle: SimHandle,
    mux: Usbmuxd,
    devices: Vec<AttachedDevice>,
    _dir: tempfile::TempDir,
}

async fn start(devices: Vec<SimDevice>) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("mux.sock");
    let count = devices.len();
    let handle = sim::start(SimConfig {
        devices,
        listen: ListenAddr::Unix(socket.clone()),
    })
    .await
    .unwrap();
    let mux = Usbmuxd::new(UsbmuxdAddress::Unix(socket), TIMEOUT);
    let mut devices = mux.list_devices().await.unwrap();
    devices.sort_by_key(|d| d.device_id);
    assert_eq!(devices.len(), count);
    Bench {
        handle,
        mux,
        devices,
        _dir: dir,
    }
}

impl Bench {
    async fn afc(&self, n: usize) -> Afc {
        afc::connect(&self.mux, &self.devices[n], TIMEOUT)
            .await
            .expect("AFC opens")
    }
}

/// The same write-ahead log up to SQLite's random salts: a WAL's header carries two salts that
/// SQLite draws anew for every log, and every frame header copies them and checksums over them,
/// so two builds of one library differ there and nowhere else. Compares the WAL header's fixed
/// part and every page image.
fn assert_same_wal(got: &[u8], want: &[u8]) {
    assert_eq!(got.len(), want.len(), "WAL length");
    assert!(want.len() >= 32, "a WAL has a 32-byte header");
    assert_eq!(
        got[..16],
        want[..16],
        "WAL magic, version, page size, checkpoint"
    );
    let page = u32::from_be_bytes(want[8..12].try_into().unwrap()) as usize;
    let frame = 24 + page;
    assert_eq!((want.len() - 32) % frame, 0, "whole frames");
    for (i, (g, w)) in got[32..]
        .chunks(frame)
        .zip(want[32..].chunks(frame))
        .enumerate()
    {
        assert_eq!(g[..8], w[..8], "frame {i}: page number and commit size");
        assert!(g[24..] == w[24..], "frame {i}: page image");
    }
}

/// The copies together are a library that reads back as the summary the phone was built from.
fn assert_reads_as_summary(main: &[u8], wal: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(synccheck_device::photos_query::MAIN_FILE),
        main,
    )
    .unwrap();
    std::fs::write(
        dir.path().join(synccheck_device::photos_query::WAL_FILE),
        wal,
    )
    .unwrap();
    assert_eq!(
        synccheck_device::photos_query::summarize(dir.path()).unwrap(),
        synth::expected_summary(&summary()).unwrap()
    );
}

async fn copy(afc: &mut Afc, path: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut last = (0, 0);
    let n = afc
        .copy_to(path, &mut out, |copied, total| last = (copied, total))
        .await
        .unwrap_or_else(|e| panic!("copy {path}: {e}"));
    assert_eq!(n, out.len() as u64);
    if n > 0 {
        assert_eq!(last.0, n, "progress heard the last chunk");
        assert!(last.1 >= n);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_photo_library_reads_back_byte_for_byte() {
    let bench = start(vec![phone(
        Some(library(DatabaseRead::Summary(summary()))),
        &[],
    )])
    .await;
    let mut afc = bench.afc(0).await;

    // DCIM holds the originals the library places there (tests/cli_rescue.rs reads them).
    assert_eq!(afc.list_dir("/").await.unwrap(), vec!["DCIM", "PhotoData"]);
    let mut top = afc.list_dir("/PhotoData").await.unwrap();
    top.sort();
    assert_eq!(
        top,
        vec![
            "CPL",
            "Photos.sqlite",
            "Photos.sqlite-wal",
            "cpl_enabled_marker",
            "private"
        ]
    );
    let mut cpl = afc.list_dir("PhotoData/CPL").await.unwrap();
    cpl.sort();
    assert_eq!(cpl, vec!["initialsync_marker", "syncstatus.plist"]);
    let assetsd = afc
        .list_dir("/PhotoData/private/com.apple.assetsd")
        .await
        .unwrap();
    assert_eq!(assetsd, vec!["appPrivateData.plist"]);

    // Every present state file: its bytes, its size and its mtime.
    let lib = library(DatabaseRead::NotFound);
    for (path, read) in &lib.files {
        match read {
            FileRead::Present { contents, modified } => {
                let stat = afc.stat(path).await.unwrap();
                assert_eq!(stat.kind, FileKind::File, "{path}");
                assert_eq!(stat.size, contents.len() as u64, "{path}");
                assert_eq!(stat.modified, *modified, "{path}");
                let (stat2, bytes) = afc.read_file(path, photos::MAX_STATE_FILE).await.unwrap();
                assert_eq!(&bytes, contents, "{path}");
                assert_eq!(stat2, stat);
            }
            FileRead::NotFound => {
                assert!(
                    matches!(afc.stat(path).await, Err(AfcError::NotFound)),
                    "{path}"
                );
                assert!(matches!(
                    afc.read_small(path, 1024).await,
                    Err(AfcError::NotFound)
                ));
            }
            FileRead::PermissionDenied => {
                // Refused, which is not the same as absent.
                assert!(
                    matches!(afc.stat(path).await, Err(AfcError::PermissionDenied)),
                    "{path}"
                );
                assert!(matches!(
                    afc.read_small(path, 1024).await,
                    Err(AfcError::PermissionDenied)
                ));
            }
            FileRead::Failed(_) => unreachable!(),
        }
    }
    let dir = afc.stat("/PhotoData/CPL").await.unwrap();
    assert_eq!(dir.kind, FileKind::Directory);
    assert!(matches!(
        afc.read_small("/PhotoData/CPL", 1024).await,
        Err(AfcError::NotAFile)
    ));
    assert!(matches!(
        afc.read_small(photos::SYNC_STATUS, 10).await,
        Err(AfcError::TooLarge { max: 10, .. })
    ));

    // The database and its write-ahead log are the generated ones, exactly.
    let synth = synth::build(&summary()).unwrap();
    assert!(!synth.wal.is_empty());
    let main = copy(&mut afc, DATABASE).await;
    let wal = copy(&mut afc, DATABASE_WAL).await;
    assert_eq!(main, synth.main);
    assert_same_wal(&wal, &synth.wal);
    assert_reads_as_summary(&main, &wal);
    assert_eq!(
        afc.stat(DATABASE).await.unwrap().modified,
        Some(at(1_746_200_000))
    );

    let info = afc.device_info().await.unwrap();
    let keys: Vec<&str> = info.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["Model", "FSTotalBytes", "FSFreeBytes", "FSBlockSize"]
    );
    // The connection is still in step after all of it.
    assert_eq!(afc.list_dir("/").await.unwrap(), vec!["DCIM", "PhotoData"]);
    bench.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outcomes_and_a_phone_without_a_library() {
    let bench = start(vec![
        phone(None, &[]),
        phone(Some(library(DatabaseRead::PermissionDenied)), &[]),
        phone(Some(library(DatabaseRead::NotFound)), &[]),
    ])
    .await;
    let mut afc = bench.afc(0).await;
    assert_eq!(afc.list_dir("/").await.unwrap(), vec!["PhotoData"]);
    assert!(afc.list_dir("/PhotoData").await.unwrap().is_empty());
    assert!(matches!(afc.stat(DATABASE).await, Err(AfcError::NotFound)));

    let mut afc = bench.afc(1).await;
    for path in [DATABASE, DATABASE_WAL] {
        assert!(matches!(
            afc.stat(path).await,
            Err(AfcError::PermissionDenied)
        ));
        let mut out = Vec::new();
        assert!(matches!(
            afc.copy_to(path, &mut out, |_, _| {}).await,
            Err(AfcError::PermissionDenied)
        ));
    }

    let mut afc = bench.afc(2).await;
    assert!(matches!(afc.stat(DATABASE).await, Err(AfcError::NotFound)));
    assert!(matches!(
        afc.stat(DATABASE_WAL).await,
        Err(AfcError::NotFound)
    ));
    bench.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn afc_faults_act_as_documented() {
    let lib = || Some(library(DatabaseRead::Summary(summary())));
    let bench = start(vec![
        phone(lib(), &["afc-denied=PhotoData/CPL"]),
        phone(lib(), &["torn-db"]),
        phone(lib(), &["not-sqlite-db"]),
        phone(lib(), &["growing-db"]),
        phone(lib(), &["torn-db"]),
    ])
    .await;
    let synth = synth::build(&summary()).unwrap();

    // afc-denied: the folder is listed, but it and everything below it are refused.
    let mut afc = bench.afc(0).await;
    assert!(afc
        .list_dir("/PhotoData")
        .await
        .unwrap()
        .contains(&"CPL".to_string()));
    assert!(matches!(
        afc.list_dir("/PhotoData/CPL").await,
        Err(AfcError::PermissionDenied)
    ));
    for path in [
        photos::SYNC_STATUS,
        photos::INITIAL_SYNC_MARKER,
        photos::PAUSE,
    ] {
        assert!(
            matches!(afc.stat(path).await, Err(AfcError::PermissionDenied)),
            "{path}"
        );
    }
    assert_eq!(
        afc.read_small(photos::CPL_ENABLED_MARKER, 1024)
            .await
            .unwrap(),
        b"2024-11-02 09:14:55 +0000"
    );

    // torn-db: the first copy tears (stat before != stat after, bytes not the database);
    // the next copy is the database, with a stat that holds still.
    let mut afc = bench.afc(1).await;
    let before = afc.stat(DATABASE).await.unwrap();
    let torn = copy(&mut afc, DATABASE).await;
    let after = afc.stat(DATABASE).await.unwrap();
    assert_ne!(before.size, after.size);
    assert_ne!(before.modified, after.modified);
    assert_ne!(torn, synth.main);
    assert_eq!(after.size, synth.main.len() as u64);
    let again = copy(&mut afc, DATABASE).await;
    assert_eq!(again, synth.main);
    assert_eq!(afc.stat(DATABASE).await.unwrap(), after);
    // The tear belongs to the phone, not to the connection.
    let mut other = bench.afc(1).await;
    assert_eq!(copy(&mut other, DATABASE).await, synth.main);

    // The tear, read by hand: the first read comes from the older version, everything after it
    // from the current one, so the copy mixes the two.
    let mut s = bench.afc(4).await.into_inner();
    let mut args = mode::READ_ONLY.to_le_bytes().to_vec();
    args.extend_from_slice(&codec::cstring(DATABASE));
    s.write_all(&codec::encode(1, op::FILE_OPEN, &args, &[]))
        .await
        .unwrap();
    let opened = codec::read(&mut s, 64).await.unwrap();
    assert_eq!(opened.operation(), op::FILE_OPEN_RESULT);
    let handle = codec::u64_at(&opened.body, 0).unwrap();
    let read = |number: u64, size: u64| {
        let mut args = handle.to_le_bytes().to_vec();
        args.extend_from_slice(&size.to_le_bytes());
        codec::encode(number, op::FILE_READ, &args, &[])
    };
    s.write_all(&read(2, 100)).await.unwrap();
    let head = codec::read(&mut s, 100).await.unwrap().body;
    s.write_all(&read(3, 64 << 20)).await.unwrap();
    let mut rest = Vec::new();
    loop {
        let chunk = codec::read(&mut s, 64 << 20).await.unwrap().body;
        if chunk.is_empty() {
            break;
        }
        rest.extend_from_slice(&chunk);
        s.write_all(&read(4, 64 << 20)).await.unwrap();
    }
    assert_eq!(head.len(), 100);
    assert_eq!(head[..24], synth.main[..24]);
    assert_ne!(head[24..28], synth.main[24..28], "the older change counter");
    assert_eq!(rest, synth.main[100..], "the rest is the current database");

    // not-sqlite-db: random bytes the size of the database, the same on every read.
    let mut afc = bench.afc(2).await;
    let noise = copy(&mut afc, DATABASE).await;
    assert_eq!(noise.len(), synth.main.len());
    assert!(!noise.starts_with(b"SQLite format 3\0"));
    assert_eq!(copy(&mut afc, DATABASE).await, noise);
    assert_same_wal(&copy(&mut afc, DATABASE_WAL).await, &synth.wal);

    // growing-db: every copy sees the file grow, so sizes before and after never agree.
    let mut afc = bench.afc(3).await;
    for _ in 0..3 {
        let before = afc.stat(DATABASE).await.unwrap();
        let bytes = copy(&mut afc, DATABASE).await;
        let after = afc.stat(DATABASE).await.unwrap();
        assert!(after.size > before.size);
        assert_eq!(bytes.len() as u64, after.size);
        assert_eq!(&bytes[..synth.main.len()], &synth.main[..]);
    }
    bench.handle.shutdown().await;
}

async fn raw(bench: &Bench) -> BoxStream {
    bench.afc(0).await.into_inner()
}

async fn exchange(stream: &mut BoxStream, number: u64, operation: u64, args: &[u8]) -> u64 {
    stream
        .write_all(&codec::encode(number, operation, args, &[]))
        .await
        .unwrap();
    let reply = tokio::time::timeout(TIMEOUT, codec::read(stream, 1 << 20))
        .await
        .expect("a reply")
        .expect("a packet");
    assert_eq!(reply.packet_num(), number, "the phone echoes packet_num");
    reply.status().expect("a status reply")
}

/// Whether the phone hung up (read returns end of stream) rather than answering.
async fn hangs_up(stream: &mut BoxStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(TIMEOUT, stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_broken_packets_are_refused() {
    let bench = start(vec![phone(
        Some(library(DatabaseRead::Summary(summary()))),
        &[],
    )])
    .await;

    // Nothing can be written: every mode but read-only, and every changing operation.
    let mut s = raw(&bench).await;
    for m in [
        mode::READ_WRITE,
        mode::WRITE_ONLY,
        mode::WRITE_READ,
        mode::APPEND,
        mode::READ_APPEND,
    ] {
        let mut args = m.to_le_bytes().to_vec();
        args.extend_from_slice(&codec::cstring("/PhotoData/CPL/syncstatus.plist"));
        assert_eq!(
            exchange(&mut s, m, op::FILE_OPEN, &args).await,
            code::PERMISSION_DENIED
        );
    }
    for operation in [
        op::REMOVE_PATH,
        op::MAKE_DIR,
        op::REMOVE_PATH_AND_CONTENTS,
        op::TRUNCATE,
    ] {
        assert_eq!(
            exchange(&mut s, 10, operation, &codec::cstring("/PhotoData/CPL")).await,
            code::PERMISSION_DENIED
        );
    }
    assert_eq!(
        exchange(&mut s, 11, 0x7777, b"").await,
        code::UNKNOWN_PACKET_TYPE
    );
    // Reading a handle never opened.
    let mut args = 99u64.to_le_bytes().to_vec();
    args.extend_from_slice(&16u64.to_le_bytes());
    assert_eq!(
        exchange(&mut s, 12, op::FILE_READ, &args).await,
        code::INVALID_ARG
    );

    // A header announcing an enormous body: the phone hangs up without allocating it.
    let mut h = codec::header(13, op::GET_FILE_INFO, 0, 0);
    h.entire_length = u64::MAX / 2;
    h.this_length = u64::MAX / 2;
    s.write_all(&h.to_bytes()).await.unwrap();
    assert!(hangs_up(&mut s).await);

    // Garbage where the magic belongs.
    let mut s = raw(&bench).await;
    s.write_all(&[0x42; 40]).await.unwrap();
    assert!(hangs_up(&mut s).await);

    // Contradictory lengths.
    let mut s = raw(&bench).await;
    let mut h = codec::header(1, op::READ_DIR, 4, 0);
    h.this_length = h.entire_length + 8;
    s.write_all(&h.to_bytes()).await.unwrap();
    assert!(hangs_up(&mut s).await);

    // The phone still serves a well-behaved client afterwards.
    let mut afc = bench.afc(0).await;
    assert_eq!(afc.list_dir("/").await.unwrap(), vec!["DCIM", "PhotoData"]);
    // Every refused write was counted, so a test can say that none came.
    assert!(bench.handle.afc_activity(1).unwrap().write_requests > 0);
    bench.handle.shutdown().await;
}
