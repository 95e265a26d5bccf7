//! The realistic libraries ([`crate::synth_realistic`]) at 1,500 assets: sound SQLite that
//! summarises as asked, real proportions with interleaved asset pages, and pages served byte
//! for byte as written.

use rusqlite::Connection;

use crate::synth::Rng;
use crate::synth_realistic::{LazyLibrary, LibraryProfile, SCENES_PER_ASSET, TABLES};
use synccheck_core::photos::LibrarySummary;
use synccheck_device::photos_query::{summarize, MAIN_FILE, WAL_FILE};

const ASSETS: u64 = 1500;

/// A library shaped as the benchmark's: a tenth waiting, half with originals in iCloud.
fn summary(assets: u64) -> LibrarySummary {
    LibrarySummary {
        assets: Some(assets),
        waiting: Some(assets / 10),
        waiting_bytes: Some(assets / 10 * 2_500_000),
        waiting_with_failed_attempts: Some(assets / 50),
        failed: Some(assets / 1000),
        quarantined: Some(1),
        cloud_only_originals: Some(assets / 2),
        ..LibrarySummary::default()
    }
}

/// The library, its main file as SQLite wrote it, and both written to a directory.
fn built() -> (LazyLibrary, Vec<u8>, tempfile::TempDir) {
    let (lib, written) = crate::synth::build_realistic_and_copy(&summary(ASSETS)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(MAIN_FILE), &written).unwrap();
    std::fs::write(dir.path().join(WAL_FILE), &lib.wal).unwrap();
    (lib, written, dir)
}

fn open(dir: &std::path::Path) -> Connection {
    Connection::open_with_flags(
        dir.join(MAIN_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
}

/// Bytes per table or index (SQLite's dbstat, the main file and the -wal together).
fn table_bytes(conn: &Connection) -> std::collections::BTreeMap<String, u64> {
    let mut stmt = conn
        .prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_realistic_library_is_sound_sqlite_that_summarises_as_asked() {
    let (_, _, dir) = built();
    let conn = open(dir.path());
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for want in TABLES.iter().map(|(t, _)| *t).chain([
        "ZASSET",
        "ZADDITIONALASSETATTRIBUTES",
        "ZINTERNALRESOURCE",
    ]) {
        assert!(tables.iter().any(|t| t == want), "{want} in {tables:?}");
    }
    let scenes: i64 = conn
        .query_row("SELECT COUNT(*) FROM ZSCENECLASSIFICATION", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        scenes as u64 >= SCENES_PER_ASSET * ASSETS * 9 / 10,
        "{scenes}"
    );
    drop(conn);
    let s = summary(ASSETS);
    assert_eq!(
        summarize(dir.path()).unwrap(),
        crate::synth::expected_summary(&s).unwrap()
    );
}

#[test]
fn sizes_are_in_real_proportions_and_asset_rows_are_interleaved() {
    let (lib, written, dir) = built();
    // 0.5 to 1 GB for 100,000 assets.
    let per_asset = written.len() as u64 / ASSETS;
    assert!((5_000..=10_000).contains(&per_asset), "{per_asset} B/asset");
    let conn = open(dir.path());
    let bytes = table_bytes(&conn);
    let total: u64 = bytes.values().sum();
    let share = |pred: &dyn Fn(&str) -> bool| {
        bytes
            .iter()
            .filter(|(n, _)| pred(n))
            .map(|(_, b)| b)
            .sum::<u64>() as f64
            / total as f64
    };
    // What the summary reads: the asset, attribute and resource tables and their indexes.
    let summary_tables = share(&|n| {
        ["ZASSET", "ZADDITIONALASSETATTRIBUTES", "ZINTERNALRESOURCE"]
            .iter()
            .any(|t| n == *t || n.starts_with(&format!("{t}_")))
    });
    assert!((0.03..0.15).contains(&summary_tables), "{summary_tables}");
    let analysis = share(&|n| {
        ["ZSCENE", "ZDETECTEDFACE", "ZCOMPUTED", "ZMEDIAANALYSIS"]
            .iter()
            .any(|t| n.starts_with(t))
    });
    assert!(analysis > 0.7, "{analysis}");
    // The asset table's pages are spread among the others' as Core Data wrote them.
    let (pages, first, last): (i64, i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), MIN(pageno), MAX(pageno) FROM dbstat WHERE name = 'ZASSET'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(pages > 20, "{pages}");
    assert!(
        (last - first + 1) > 8 * pages,
        "{pages} pages between {first} and {last}"
    );
    // The simulator keeps far fewer pages than the file has.
    let file_pages = written.len() / crate::paged::PAGE;
    assert!(
        lib.main.distinct_pages() * 10 < file_pages * 6,
        "{} of {file_pages}",
        lib.main.distinct_pages()
    );
}

#[test]
fn served_pages_are_the_written_file_byte_for_byte() {
    let (lib, written, _dir) = built();
    assert_eq!(lib.main.len(), written.len() as u64);
    let mut rng = Rng(42);
    let len = written.len() as u64;
    for _ in 0..500 {
        let start = rng.below(len);
        let end = (start + 1 + rng.below(3 * crate::paged::PAGE as u64)).min(len);
        assert_eq!(
            lib.main.read(start, end),
            written[start as usize..end as usize],
            "{start}..{end}"
        );
    }
    // Whole pages and the whole file too, as a copying client reads them.
    assert_eq!(lib.main.read(0, 4096), written[..4096]);
    assert_eq!(lib.main.to_vec(), written);
}

#[test]
fn profiles_parse() {
    assert_eq!("realistic".parse(), Ok(LibraryProfile::Realistic));
    assert_eq!("compact".parse(), Ok(LibraryProfile::Compact));
    assert!("huge"
        .parse::<LibraryProfile>()
        .unwrap_err()
        .contains("realistic"));
}
