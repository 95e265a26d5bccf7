//! The photo library database: a synthetic Photos.sqlite (with rows only in its `-wal`) is
//! summarised back to the summary it was built from; damaged, foreign and older databases
//! give clear errors or unknown fields, never a panic.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use synccheck_core::photos::LibrarySummary;
use synccheck_device::photos_query::{summarize, LibraryError, MAIN_FILE, WAL_FILE};
use synccheck_sim::synth::{build, expected_summary, SynthLibrary};

fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

fn backlog(schema: &str) -> LibrarySummary {
    LibrarySummary {
        schema: Some(schema.into()),
        assets: Some(1_000),
        waiting: Some(120),
        waiting_bytes: Some(456_789_012),
        oldest_waiting_added: Some(at(1_730_000_000)),
        waiting_with_failed_attempts: Some(17),
        last_upload_attempt: Some(at(1_748_500_000)),
        failed: Some(4),
        quarantined: Some(2),
        cloud_only_originals: Some(600),
    }
}

fn write(dir: &Path, lib: &SynthLibrary, with_wal: bool) {
    std::fs::write(dir.join(MAIN_FILE), &lib.main).unwrap();
    if with_wal {
        std::fs::write(dir.join(WAL_FILE), &lib.wal).unwrap();
    }
}

fn summarize_bytes(lib: &SynthLibrary, with_wal: bool) -> Result<LibrarySummary, LibraryError> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), lib, with_wal);
    summarize(dir.path())
}

#[test]
fn zasset_library_reads_back_as_built() {
    let s = backlog("ZASSET");
    let lib = build(&s).unwrap();
    assert_eq!(summarize_bytes(&lib, true).unwrap(), s);
}

#[test]
fn zgenericasset_library_with_unknown_fields_reads_back_as_built() {
    // iOS 11–13: no ZBUNDLESCOPE; no attempts column, no availability column, no attempt date.
    let s = LibrarySummary {
        waiting_with_failed_attempts: None,
        last_upload_attempt: None,
        cloud_only_originals: None,
        ..backlog("ZGENERICASSET")
    };
    let lib = build(&s).unwrap();
    assert_eq!(summarize_bytes(&lib, true).unwrap(), s);

    // Nothing about waiting at all: no ZCLOUDLOCALSTATE column, so no upload state to
    // summarise: not recognised, rather than a summary with the counts missing.
    let s = LibrarySummary {
        schema: Some("ZGENERICASSET".into()),
        assets: Some(50),
        ..LibrarySummary::default()
    };
    assert!(matches!(
        summarize_bytes(&build(&s).unwrap(), true),
        Err(LibraryError::NotRecognised { missing, .. })
            if missing == ["ZGENERICASSET.ZCLOUDLOCALSTATE"]
    ));
}

/// An iOS 12 library as Apple laid it out (iLEAPP Ph001/Ph003, iOS 11–13 queries):
/// `ZGENERICASSET`, no `ZBUNDLESCOPE`, `ZSAVEDASSETTYPE` 4/8 for shared-album and iCloud-link
/// assets, `ZTRASHEDSTATE`, `ZADDEDDATE`, attributes joined by `ZADDITIONALATTRIBUTES`. Written
/// by hand, not by the synthesiser, so the reader is checked against the layout itself.
#[test]
fn an_ios12_generic_asset_library_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(MAIN_FILE)).unwrap();
    conn.execute_batch(
        "CREATE TABLE ZGENERICASSET (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
            ZCLOUDLOCALSTATE INTEGER, ZSAVEDASSETTYPE INTEGER, ZTRASHEDSTATE INTEGER,
            ZVISIBILITYSTATE INTEGER, ZADDITIONALATTRIBUTES INTEGER, ZMASTER INTEGER,
            ZADDEDDATE TIMESTAMP, ZDATECREATED TIMESTAMP, ZTRASHEDDATE TIMESTAMP,
            ZDIRECTORY VARCHAR, ZFILENAME VARCHAR, ZUUID VARCHAR);
         CREATE TABLE ZADDITIONALASSETATTRIBUTES (Z_PK INTEGER PRIMARY KEY, ZASSET INTEGER,
            ZORIGINALFILESIZE INTEGER, ZORIGINALFILENAME VARCHAR);
         INSERT INTO ZGENERICASSET (Z_PK, ZCLOUDLOCALSTATE, ZSAVEDASSETTYPE, ZTRASHEDSTATE,
            ZADDITIONALATTRIBUTES, ZADDEDDATE) VALUES
            (1, 1, 3, 0, 1, 500000000), (2, 0, 3, 0, 2, 560000000), (3, 0, 3, 0, 3, 570000000),
            (4, 2, 3, 0, 4, 400000000), (5, 0, 4, 0, 5, 1), (6, 0, 8, 0, 6, 2),
            (7, 0, 3, 1, 7, 3), (8, 4, 3, 0, 8, 450000000);
         INSERT INTO ZADDITIONALASSETATTRIBUTES (Z_PK, ZASSET, ZORIGINALFILESIZE) VALUES
            (1, 1, 10), (2, 2, 2000), (3, 3, 3000), (4, 4, 40), (5, 5, 999999),
            (6, 6, 999999), (7, 7, 999999), (8, 8, 80);",
    )
    .unwrap();
    drop(conn);
    let s = summarize(dir.path()).unwrap();
    assert_eq!(s.schema.as_deref(), Some("ZGENERICASSET"));
    assert_eq!(s.assets, Some(5));
    assert_eq!(s.waiting, Some(2));
    assert_eq!(s.waiting_bytes, Some(5000));
    assert_eq!(s.oldest_waiting_added, Some(at(978_307_200 + 560_000_000)));
    assert_eq!(s.failed, Some(1));
    assert_eq!(s.quarantined, Some(1));
    // No upload-attempt columns and no resources table on this layout: unknown, not zero.
    assert_eq!(s.waiting_with_failed_attempts, None);
    assert_eq!(s.last_upload_attempt, None);
    assert_eq!(s.cloud_only_originals, None);
}

/// A future iOS that renamed a needed column (or an older one without it): one clear error
/// naming what is missing, for every needed column.
#[test]
fn a_library_without_a_needed_column_is_not_recognised() {
    for (left_out, expected) in [
        ("ZCLOUDLOCALSTATE", "ZASSET.ZCLOUDLOCALSTATE"),
        ("ZTRASHEDSTATE", "ZASSET.ZTRASHEDSTATE"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(dir.path().join(MAIN_FILE)).unwrap();
        let columns = [
            "ZCLOUDLOCALSTATE",
            "ZTRASHEDSTATE",
            "ZBUNDLESCOPE",
            "ZADDEDDATE",
        ]
        .into_iter()
        .filter(|c| *c != left_out)
        .map(|c| format!(", {c} INTEGER"))
        .collect::<String>();
        conn.execute_batch(&format!(
            "CREATE TABLE ZASSET (Z_PK INTEGER PRIMARY KEY{columns});
             INSERT INTO ZASSET (Z_PK) VALUES (1), (2);"
        ))
        .unwrap();
        drop(conn);
        match summarize(dir.path()) {
            Err(LibraryError::NotRecognised { table, missing }) => {
                assert_eq!(table.as_deref(), Some("ZASSET"));
                assert_eq!(missing, [expected]);
            }
            other => panic!("{left_out}: {other:?}"),
        }
    }
}

#[test]
fn nothing_waiting_reads_back_as_zero_not_unknown() {
    let s = LibrarySummary {
        schema: Some("ZASSET".into()),
        assets: Some(10),
        waiting: Some(0),
        waiting_bytes: Some(0),
        oldest_waiting_added: None,
        waiting_with_failed_attempts: Some(0),
        last_upload_attempt: None,
        failed: Some(0),
        quarantined: Some(0),
        cloud_only_originals: Some(0),
    };
    assert_eq!(summarize_bytes(&build(&s).unwrap(), true).unwrap(), s);
}

#[test]
fn copying_only_the_main_file_misses_the_newest_rows() {
    let s = backlog("ZASSET");
    let lib = build(&s).unwrap();
    assert!(!lib.wal.is_empty());
    let main_only = summarize_bytes(&lib, false).unwrap();
    assert!(
        main_only.assets.unwrap() < s.assets.unwrap(),
        "{main_only:?}"
    );
    assert_ne!(main_only, s);
}

#[test]
fn summarize_never_modifies_the_copy() {
    let lib = build(&backlog("ZASSET")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &lib, true);
    summarize(dir.path()).unwrap();
    summarize(dir.path()).unwrap();
    assert_eq!(std::fs::read(dir.path().join(MAIN_FILE)).unwrap(), lib.main);
    assert_eq!(std::fs::read(dir.path().join(WAL_FILE)).unwrap(), lib.wal);
}

#[test]
fn a_file_that_is_not_sqlite_is_named_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(MAIN_FILE),
        b"bplist00 this is not a database",
    )
    .unwrap();
    assert!(matches!(
        summarize(dir.path()),
        Err(LibraryError::NotSqlite(_))
    ));
    std::fs::write(dir.path().join(MAIN_FILE), vec![0u8; 8192]).unwrap();
    assert!(matches!(
        summarize(dir.path()),
        Err(LibraryError::NotSqlite(_))
    ));
}

#[test]
fn damaged_pages_and_torn_copies_are_errors_not_panics() {
    let lib = build(&backlog("ZASSET")).unwrap();
    let page = 4096;
    let pages = lib.main.len() / page;
    assert!(pages > 8, "{pages} pages");
    let mut seen_corrupt = false;
    for n in [0, 1, 2, pages / 3, pages / 2, pages - 1] {
        let mut main = lib.main.clone();
        // Keep the 16-byte magic on page 1 so SQLite, not our header check, finds the damage.
        let from = if n == 0 { 16 } else { n * page };
        for (i, b) in main[from..(n + 1) * page].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let damaged = SynthLibrary {
            main,
            wal: lib.wal.clone(),
        };
        match summarize_bytes(&damaged, false) {
            Err(LibraryError::Corrupt(_)) => seen_corrupt = true,
            Err(LibraryError::NotSqlite(_)) => {}
            other => panic!("page {n}: {other:?}"),
        }
        // With the -wal, a newer copy of the damaged page may hide the damage: any answer
        // but a panic will do.
        let _ = summarize_bytes(&damaged, true);
    }
    assert!(seen_corrupt);
    // A copy torn in the middle: the main file cut short.
    let torn = SynthLibrary {
        main: lib.main[..lib.main.len() / 2].to_vec(),
        wal: lib.wal.clone(),
    };
    for with_wal in [false, true] {
        assert!(matches!(
            summarize_bytes(&torn, with_wal),
            Err(LibraryError::Corrupt(_)) | Err(LibraryError::NotSqlite(_))
        ));
    }
    // A torn -wal only loses the frames after the tear: still a summary, never a panic.
    let torn_wal = SynthLibrary {
        main: lib.main.clone(),
        wal: lib.wal[..lib.wal.len() / 2].to_vec(),
    };
    assert!(summarize_bytes(&torn_wal, true).is_ok());
}

#[test]
fn missing_optional_columns_are_unknown_and_the_rest_still_counts() {
    let s = backlog("ZASSET");
    let lib = build(&s).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &lib, true);
    {
        // An older database: drop the columns on a writable copy (SQLite 3.35+).
        let conn = rusqlite::Connection::open(dir.path().join(MAIN_FILE)).unwrap();
        conn.execute_batch(
            "ALTER TABLE ZADDITIONALASSETATTRIBUTES DROP COLUMN ZUPLOADATTEMPTS;
             ALTER TABLE ZADDITIONALASSETATTRIBUTES DROP COLUMN ZORIGINALFILESIZE;
             ALTER TABLE ZINTERNALRESOURCE DROP COLUMN ZLOCALAVAILABILITY;",
        )
        .unwrap();
    }
    let got = summarize(dir.path()).unwrap();
    assert_eq!(
        got,
        LibrarySummary {
            waiting_bytes: None,
            waiting_with_failed_attempts: None,
            cloud_only_originals: None,
            ..s
        }
    );
}

/// Builds, writes and summarises libraries of 1k, 20k and 100k assets and prints the times and
/// sizes. The 2-second bound on the 100k summary holds in release builds only.
fn measure(assets: u64) -> Duration {
    let s = LibrarySummary {
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
    };
    let t = Instant::now();
    let lib = build(&s).unwrap();
    let built = t.elapsed();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &lib, true);
    let t = Instant::now();
    let got = summarize(dir.path()).unwrap();
    let summarised = t.elapsed();
    assert_eq!(got, expected_summary(&s).unwrap());
    println!(
        "{assets:>7} assets: build {:>7.1} ms, main {:>6.2} MB, wal {:>5.2} MB, summarize {:>7.1} ms",
        built.as_secs_f64() * 1e3,
        lib.main.len() as f64 / 1e6,
        lib.wal.len() as f64 / 1e6,
        summarised.as_secs_f64() * 1e3,
    );
    summarised
}

#[test]
fn summary_of_a_small_library_is_quick() {
    measure(1_000);
}

/// `cargo test --release --test photos_db -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn benchmark_1k_20k_100k() {
    measure(1_000);
    measure(20_000);
    let t = measure(100_000);
    if !cfg!(debug_assertions) {
        assert!(t < Duration::from_secs(2), "100k assets took {t:?}");
    }
}
