//! Photos.sqlite read in place, page by page through the AFC VFS's page reader, gives the
//! same summary and the same rescue listing as a full copy, for every kind of synthetic
//! library, and reads only part of a library whose other tables are large. The bytes come from memory here (the reader's
//! `InMemory` source); `cli_photos_live.rs` reads them from the simulator over AFC.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};
use synccheck_core::photos::{DatabaseRead, LibrarySummary};
use synccheck_device::limits::ScanStop;
use synccheck_device::photos_pages::{InMemory, PageReader};
use synccheck_device::photos_query::{
    query_in_place, summarize, summarize_in_place, LibraryError, MAIN_FILE, WAL_FILE,
};
use synccheck_device::rescue_query::{self, RescueList, Selection};
use synccheck_sim::synth::{build, expected_summary, SynthLibrary};

fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

fn backlog(schema: &str, assets: u64) -> LibrarySummary {
    LibrarySummary {
        schema: Some(schema.into()),
        assets: Some(assets),
        waiting: Some(assets / 8),
        waiting_bytes: Some(456_789_012),
        oldest_waiting_added: Some(at(1_730_000_000)),
        waiting_with_failed_attempts: Some(17),
        last_upload_attempt: Some(at(1_748_500_000)),
        failed: Some(4),
        quarantined: Some(2),
        cloud_only_originals: Some(assets / 2),
    }
}

fn copied(main: &[u8], wal: Option<&[u8]>) -> Result<LibrarySummary, LibraryError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(MAIN_FILE), main).unwrap();
    if let Some(wal) = wal {
        std::fs::write(dir.path().join(WAL_FILE), wal).unwrap();
    }
    summarize(dir.path())
}

fn in_place(main: &[u8], wal: Option<&[u8]>) -> (Result<LibrarySummary, LibraryError>, InMemory) {
    let (reader, source) = reader(main, wal);
    let stop = ScanStop::after(Duration::from_secs(600));
    (summarize_in_place(reader, wal.is_some(), &stop), source)
}

/// A page reader over the bytes of `main` and `wal`, and its source, which counts what was read.
fn reader(main: &[u8], wal: Option<&[u8]>) -> (PageReader, InMemory) {
    let source = InMemory {
        main: main.to_vec(),
        wal: wal.map(<[u8]>::to_vec),
        ..Default::default()
    };
    let reader = PageReader::new(
        Box::new(source.clone()),
        main.len() as u64,
        wal.map(|w| w.len() as u64),
    );
    (reader, source)
}

fn same_as_a_copy(lib: &SynthLibrary, with_wal: bool) -> LibrarySummary {
    let wal = with_wal.then_some(lib.wal.as_slice());
    let want = copied(&lib.main, wal).unwrap();
    let (got, _) = in_place(&lib.main, wal);
    assert_eq!(got.unwrap(), want);
    want
}

#[test]
fn every_kind_of_library_reads_the_same_in_place_as_copied() {
    let zasset = backlog("ZASSET", 1_000);
    let generic = LibrarySummary {
        waiting_with_failed_attempts: None,
        last_upload_attempt: None,
        cloud_only_originals: None,
        ..backlog("ZGENERICASSET", 1_000)
    };
    let nothing_waiting = LibrarySummary {
        waiting: Some(0),
        waiting_bytes: Some(0),
        oldest_waiting_added: None,
        waiting_with_failed_attempts: Some(0),
        ..backlog("ZASSET", 300)
    };
    for s in [zasset, generic, nothing_waiting] {
        let lib = build(&s).unwrap();
        assert_eq!(same_as_a_copy(&lib, true), expected_summary(&s).unwrap());
        // Without its -wal the main file alone is read the same way too (and counts less).
        same_as_a_copy(&lib, false);
    }
}

/// A library whose asset rows are interleaved with a large table the summary never reads
/// (as face prints or search data sit between them in a real one), in one file: the asset
/// table is written again ten rows at a time, each ten followed by 30 KB of filler rows.
fn interleaved(assets: u64) -> (Vec<u8>, LibrarySummary) {
    let s = backlog("ZASSET", assets);
    let lib = build(&s).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(MAIN_FILE), &lib.main).unwrap();
    std::fs::write(dir.path().join(WAL_FILE), &lib.wal).unwrap();
    let path = dir.path().join(MAIN_FILE);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ZASSET'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch(
        "ALTER TABLE ZASSET RENAME TO ZASSET_OLD;
         CREATE TABLE ZFILLER (Z_PK INTEGER PRIMARY KEY, ZDATA BLOB);",
    )
    .unwrap();
    conn.execute_batch(&sql).unwrap();
    let max: i64 = conn
        .query_row("SELECT MAX(Z_PK) FROM ZASSET_OLD", [], |r| r.get(0))
        .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for first in (0..=max).step_by(10) {
        tx.execute(
            "INSERT INTO ZASSET SELECT * FROM ZASSET_OLD WHERE Z_PK BETWEEN ?1 AND ?1 + 9",
            [first],
        )
        .unwrap();
        for _ in 0..10 {
            tx.execute("INSERT INTO ZFILLER (ZDATA) VALUES (randomblob(3000))", [])
                .unwrap();
        }
    }
    tx.execute_batch("DROP TABLE ZASSET_OLD").unwrap();
    tx.commit().unwrap();
    drop(conn);
    (std::fs::read(&path).unwrap(), expected_summary(&s).unwrap())
}

/// The summary reads the asset, attribute and resource tables, not the filler around them;
/// interior pages tell the reader which pages come next, so they come in a few large batches
/// rather than one round trip each.
#[test]
fn only_what_the_summary_needs_is_read_in_few_round_trips() {
    let (main, want) = interleaved(10_000);
    assert_eq!(copied(&main, None).unwrap(), want);
    let (got, source) = in_place(&main, None);
    assert_eq!(got.unwrap(), want);
    let bytes = source.counters.bytes.load(Relaxed);
    let fetches = source.counters.fetches.load(Relaxed);
    let ranges = source.counters.ranges.load(Relaxed);
    let share = bytes as f64 / main.len() as f64;
    println!(
        "{} of {} bytes ({:.1} %), {fetches} fetches, {ranges} ranges",
        bytes,
        main.len(),
        share * 100.0
    );
    assert!(share < 0.15, "{share}");
    // Each fetch is about one round trip on AFC (its requests are pipelined): far fewer than
    // one per page read.
    assert!(fetches < bytes / (64 * 1024) + 100, "{fetches} fetches");
}

/// The rescue's listing over a copy on disk, opened by plain SQLite (read-only, `-wal` applied).
fn listed_from_a_copy(main: &[u8], wal: Option<&[u8]>, selection: Selection) -> RescueList {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(MAIN_FILE), main).unwrap();
    if let Some(wal) = wal {
        std::fs::write(dir.path().join(WAL_FILE), wal).unwrap();
    }
    let conn =
        Connection::open_with_flags(dir.path().join(MAIN_FILE), OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    rescue_query::list(&conn, selection).unwrap()
}

fn listed_in_place(
    main: &[u8],
    wal: Option<&[u8]>,
    selection: Selection,
) -> (Result<RescueList, LibraryError>, InMemory) {
    let (reader, source) = reader(main, wal);
    let stop = ScanStop::after(Duration::from_secs(600));
    let listed = query_in_place(reader, wal.is_some(), &stop, |conn| {
        rescue_query::list(conn, selection)
    });
    (listed, source)
}

fn fixture_summary(name: &str) -> LibrarySummary {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/photos")
        .join(name);
    let snap = synccheck_core::snapshot::load_file(&path).unwrap();
    match snap.photo_library.unwrap().database {
        DatabaseRead::Summary(s) => s,
        other => panic!("{name}: {other:?}"),
    }
}

/// `rescue` lists its originals from the library read in place: the same assets, in the same
/// order, with the same places, dates and sizes as a copy gives, with and without the `-wal`
/// (where the newest rows are), for the rescue fixtures and the synthetic libraries.
#[test]
fn the_rescue_listing_reads_the_same_in_place_as_copied() {
    let generic = LibrarySummary {
        waiting_with_failed_attempts: None,
        last_upload_attempt: None,
        cloud_only_originals: None,
        ..backlog("ZGENERICASSET", 1_000)
    };
    let libraries = [
        (
            "rescue-waiting",
            fixture_summary("rescue-waiting.plist"),
            12,
        ),
        ("rescue-off", fixture_summary("rescue-off.plist"), 20),
        ("backlog", backlog("ZASSET", 1_000), 125),
        ("generic", generic, 125),
    ];
    for (name, summary, waiting) in libraries {
        let lib = build(&summary).unwrap();
        for wal in [Some(lib.wal.as_slice()), None] {
            for selection in [Selection::NotUploaded, Selection::All] {
                let want = listed_from_a_copy(&lib.main, wal, selection);
                let (got, _) = listed_in_place(&lib.main, wal, selection);
                assert_eq!(
                    got.unwrap(),
                    want,
                    "{name}, {selection:?}, wal {}",
                    wal.is_some()
                );
            }
        }
        // Not an empty list compared with an empty list: the waiting assets, each placed.
        let (got, _) = listed_in_place(&lib.main, Some(&lib.wal), Selection::NotUploaded);
        let got = got.unwrap();
        assert_eq!(got.assets.len(), waiting, "{name}");
        assert!(got.assets.iter().all(|a| !a.file_name.is_empty()), "{name}");
    }
}

/// The listing reads the asset and attribute tables, not the filler around them: a small part
/// of the library, as a copy never could.
#[test]
fn the_rescue_listing_reads_only_part_of_the_library() {
    let (main, _) = interleaved(10_000);
    let want = listed_from_a_copy(&main, None, Selection::NotUploaded);
    assert_eq!(want.assets.len(), 1_250);
    let (got, source) = listed_in_place(&main, None, Selection::NotUploaded);
    assert_eq!(got.unwrap(), want);
    let bytes = source.counters.bytes.load(Relaxed);
    let share = bytes as f64 / main.len() as f64;
    println!("{} of {} bytes ({:.1} %)", bytes, main.len(), share * 100.0);
    assert!(share < 0.15, "{share}");
}
