//! Summarises Photos.sqlite (and its `-wal`), a private copy or read in place, into a
//! [`LibrarySummary`]: counts, sizes and dates only. No file name, title or any other text from the library is
//! ever selected, returned or logged.
//!
//! Column facts (see `shared/reference/device-facts.md`, section 3, and iLEAPP's
//! `scripts/artifacts/Ph001BasicAssetData.py`, `Ph051PossOptimizedAssetsIntResouData.py`,
//! `Ph024AssetsInSharedAlbums.py`, `Ph035iCloudSharedLinkAssets.py`):
//! - assets: `ZASSET` (iOS 14+) or `ZGENERICASSET` (iOS 11–13), `Z_PK` the row id;
//!   `ZCLOUDLOCALSTATE` 0 waiting, 1 synced, 2 failed, 4 quarantined; `ZADDEDDATE`;
//!   `ZBUNDLESCOPE` (iOS 15+) 0 main library, 1 iCloud link, 2 shared album, 3 Shared with You;
//!   `ZSAVEDASSETTYPE` 4 shared album asset, 8 iCloud link asset; `ZTRASHEDSTATE` 1 trashed;
//!   `ZADDITIONALATTRIBUTES` → `ZADDITIONALASSETATTRIBUTES.Z_PK`.
//! - `ZADDITIONALASSETATTRIBUTES`: `ZORIGINALFILESIZE`, `ZUPLOADATTEMPTS`,
//!   `ZLASTUPLOADATTEMPTDATE`, `ZASSET` (back to the asset).
//! - `ZINTERNALRESOURCE`: `ZASSET` → asset `Z_PK`, `ZDATASTORESUBTYPE` 1 the original,
//!   `ZLOCALAVAILABILITY` -1 not on the device.
//!
//! Every column is looked up with `PRAGMA table_info` first. The columns without which the
//! summary would mean nothing ([`REQUIRED_ASSET_COLUMNS`] and a scope column) make a library
//! whose schema lacks them [`LibraryError::NotRecognised`] (a future iOS, or one older than
//! any we know): one clear "not recognised", never counts that silently mean something else.
//! Any other missing column makes the fields that need it `None`.

use crate::limits::{LimitError, ScanStop};
use rusqlite::limits::Limit;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use synccheck_core::photos::LibrarySummary;

/// The file names `summarize` expects in its directory.
pub const MAIN_FILE: &str = "Photos.sqlite";
pub const WAL_FILE: &str = "Photos.sqlite-wal";

/// Core Data's reference date, 2001-01-01T00:00:00Z, in Unix seconds.
pub(crate) const CORE_DATA_EPOCH: i64 = 978_307_200;

/// At most this many lines of a failed `quick_check` go into the error.
const QUICK_CHECK_LINES: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The file is not an SQLite database at all (no header, or SQLite says so).
    #[error("not an SQLite database: {0}")]
    NotSqlite(String),
    /// SQLite opened it but `PRAGMA quick_check` or a read found damage (a torn copy).
    #[error("database is corrupt: {0}")]
    Corrupt(String),
    /// Any other SQLite error.
    #[error("sqlite: {0}")]
    Sqlite(String),
    /// SQLite gave up building or running a statement over this schema: it would compile to
    /// more operations than our cap (`MAX_STATEMENT_OPS`, which SQLite reports as running out
    /// of memory), or it really ran out. No real Photos library comes near either.
    #[error("its schema asks for more work than any Photos library needs (SQLite stopped: {0}); the file is crafted or damaged")]
    TooComplex(String),
    /// A sound SQLite database without the asset table or the columns the summary needs: a
    /// Photos library in a format we do not know (a future iOS), or not a Photos library at all.
    /// `table` is the asset table found, if any; `missing` names what is not there.
    #[error("photo library format not recognised: no {}", missing.join(", no "))]
    NotRecognised {
        table: Option<String>,
        missing: Vec<String>,
    },
    /// The copy could not be read from the local disk (missing, permission).
    #[error("reading the copy: {0}")]
    Io(String),
    /// Reading the library from the iPhone failed while SQLite read it in place.
    #[error("reading it from the iPhone: {0}")]
    Read(String),
    /// The scan's deadline passed, or the scan was cancelled, while SQLite worked.
    #[error("stopped: {0}")]
    Stopped(#[from] LimitError),
}

impl From<rusqlite::Error> for LibraryError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => LibraryError::NotSqlite(e.to_string()),
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => LibraryError::Corrupt(e.to_string()),
            Some(rusqlite::ErrorCode::OutOfMemory) => LibraryError::TooComplex(e.to_string()),
            _ => LibraryError::Sqlite(e.to_string()),
        }
    }
}

/// Core Data seconds (since 2001-01-01 UTC) to a time, rounded to the microsecond so that a
/// time written by [`to_core_data`] reads back identical. Not finite or absurd: `None`.
pub fn from_core_data(seconds: f64) -> Option<SystemTime> {
    if !seconds.is_finite() || seconds.abs() > 1.0e11 {
        return None;
    }
    let micros = (seconds * 1e6).round() as i64 + CORE_DATA_EPOCH * 1_000_000;
    if micros >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_micros(micros as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_micros(micros.unsigned_abs()))
    }
}

/// A time as Core Data stores it: seconds since 2001-01-01 UTC.
pub fn to_core_data(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64 - CORE_DATA_EPOCH) as f64 + f64::from(d.subsec_nanos()) / 1e9,
        Err(e) => {
            let d = e.duration();
            -((d.as_secs() as i64 + CORE_DATA_EPOCH) as f64 + f64::from(d.subsec_nanos()) / 1e9)
        }
    }
}

/// A date column's value, whether SQLite stored it as REAL or (whole seconds, `TIMESTAMP`
/// has numeric affinity) as INTEGER. Anything else is not a date.
fn date(v: Value) -> Option<SystemTime> {
    match v {
        Value::Real(f) => from_core_data(f),
        Value::Integer(i) => from_core_data(i as f64),
        _ => None,
    }
}

fn count(v: Value) -> Option<u64> {
    match v {
        Value::Integer(i) => u64::try_from(i).ok(),
        _ => None,
    }
}

/// `dir` holds a private copy of Photos.sqlite and (if the phone had one) Photos.sqlite-wal.
///
/// Opens the copy read-only with the `-wal` applied, checks it with `PRAGMA quick_check`,
/// detects the schema and summarises the main library in two aggregate queries (one scan of
/// the asset table with row-id look-ups into the attributes, one scan of the resources).
/// `dir` must be writable: SQLite creates the `-shm` wal-index beside the copy (nothing else
/// is written); the caller deletes the directory afterwards.
pub fn summarize(dir: &Path) -> Result<LibrarySummary, LibraryError> {
    summarize_until(dir, &ScanStop::after(crate::limits::DEFAULT_DEADLINE))
}

/// The most operations one statement of ours may compile to (see `open_copy`).
const MAX_STATEMENT_OPS: i32 = 1_000_000;

/// SQLite steps between two looks at `stop`: well under a millisecond of work.
const STEPS_BETWEEN_CHECKS: std::ffi::c_int = 10_000;

/// As [`summarize`], giving up with [`LibraryError::Stopped`] once `stop` says so. A crafted
/// schema (a generated column over a huge expression, a pathological join) can make one
/// query run for hours; SQLite's progress handler looks at `stop` every few thousand steps
/// of its virtual machine and interrupts the statement.
pub fn summarize_until(dir: &Path, stop: &ScanStop) -> Result<LibrarySummary, LibraryError> {
    stop.check()?;
    let outcome = summarize_checked(dir, stop);
    // An interrupted statement surfaces as an SQLite error: say why it was interrupted.
    match (outcome, stop.check()) {
        (Err(_), Err(why)) => Err(LibraryError::Stopped(why)),
        (outcome, _) => outcome,
    }
}

fn summarize_checked(dir: &Path, stop: &ScanStop) -> Result<LibrarySummary, LibraryError> {
    let main = dir.join(MAIN_FILE);
    check_header(&main)?;

    // How the copy is opened, and why:
    // - Not `immutable=1`: that tells SQLite the file cannot change, so it skips the `-wal`
    //   and the newest rows (recent photos, recent state changes) would be missing.
    // - `SQLITE_OPEN_READ_ONLY` on our private copy, in a directory we own: a read-only
    //   connection still reads a WAL database, provided it can open or create the `-shm`
    //   wal-index, which it rebuilds from the `-wal` (we never copy the phone's `-shm`). It can
    //   here, because the directory is ours and writable. Read-only also means SQLite never
    //   checkpoints, never rolls anything back, never deletes the `-wal` on close, and no
    //   statement of ours can modify the data, even by mistake.
    // - A `-wal` torn by the copy is not fatal: SQLite applies frames up to the last valid
    //   commit (checksums), and `quick_check` catches a main file torn mid-copy.
    let conn = open_copy(&main, stop)?;
    // `quick_check` reads every page, and so does the summary: on two connections they run on
    // two cores at once (both read-only; the second opens once the first has made the -shm).
    let checker = open_copy(&main, stop)?;
    std::thread::scope(|scope| {
        let check = scope.spawn(move || quick_check(&checker));
        let summary = summarize_open(&conn);
        match check.join() {
            Ok(Ok(())) => summary,
            Ok(Err(damage)) => Err(damage),
            Err(_) => Err(LibraryError::Sqlite("the quick_check thread failed".into())),
        }
    })
}

/// Summarises the library read in place through `reader` (see `photos_vfs`): only the pages
/// the summary needs are read, and nothing is written anywhere. [`query_in_place`] with the
/// summary's query.
pub fn summarize_in_place(
    reader: crate::photos_pages::PageReader,
    has_wal: bool,
    stop: &ScanStop,
) -> Result<LibrarySummary, LibraryError> {
    query_in_place(reader, has_wal, stop, summarize_open)
}

/// Runs `query` on the library read in place through `reader` (see `photos_vfs`), giving up
/// once `stop` says so: the summary, or another query over the same library such as the
/// rescue's list (`rescue_query.rs`). Only the pages `query` needs are read.
///
/// How it is opened, and why:
/// - through a read-only VFS of our own, with `PRAGMA locking_mode=EXCLUSIVE` before the first
///   read, so SQLite keeps the wal-index in heap memory and applies the `-wal` without shared
///   memory (the phone's `-shm` is never read). Not `immutable=1`: that skips the `-wal`.
/// - no `quick_check`: it reads every page, the whole point being not to. A library torn by a
///   write while we read is caught by the caller's before-and-after comparison (sizes, times,
///   headers), and damage in the pages the query reads by SQLite itself (`Corrupt`).
pub fn query_in_place<T>(
    reader: crate::photos_pages::PageReader,
    has_wal: bool,
    stop: &ScanStop,
    query: impl FnOnce(&Connection) -> Result<T, LibraryError>,
) -> Result<T, LibraryError> {
    stop.check()?;
    let vfs = crate::photos_vfs::AfcVfs::register(reader, has_wal).map_err(LibraryError::Sqlite)?;
    // The connection is closed at the end of this statement, before the VFS is unregistered.
    let outcome = open_in_place(&vfs, stop).and_then(|conn| query(&conn));
    let read_error = vfs.take_error();
    let (ahead, used) = vfs.read_ahead();
    tracing::debug!(
        bytes = vfs.fetched(),
        ahead_chunks = ahead,
        ahead_chunks_used = used,
        "photo library pages fetched"
    );
    match (outcome, stop.check(), read_error) {
        (Err(_), Err(why), _) => Err(LibraryError::Stopped(why)),
        // SQLite's own word for a failed read says less than the reader's.
        (Err(_), _, Some(e)) => Err(LibraryError::Read(e.to_string())),
        (outcome, _, _) => outcome,
    }
}

/// The library's connection through `vfs`, opened as [`query_in_place`] says.
fn open_in_place(
    vfs: &crate::photos_vfs::AfcVfs,
    stop: &ScanStop,
) -> Result<Connection, LibraryError> {
    let mut header = [0u8; 100];
    let full = vfs
        .read(crate::photos_pages::LibraryFile::Main, &mut header, 0)
        .map_err(|e| LibraryError::Read(e.to_string()))?;
    check_header_bytes(&header, full)?;
    let conn = Connection::open_with_flags_and_vfs(
        MAIN_FILE,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        vfs.name(),
    )?;
    // Before anything reads a page: the wal-index in heap memory.
    let mode: String = conn.query_row("PRAGMA locking_mode=EXCLUSIVE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("exclusive") {
        return Err(LibraryError::Sqlite(format!("locking mode {mode}")));
    }
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    limit_connection(&conn, stop)?;
    Ok(conn)
}

fn open_copy(main: &Path, stop: &ScanStop) -> Result<Connection, LibraryError> {
    let conn = Connection::open_with_flags(
        main,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    limit_connection(&conn, stop)?;
    // The copy is ours and read-only: map it rather than copy every page through the cache.
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    Ok(conn)
}

/// The bounds every connection of ours gets: the stop, the operation cap, no writes.
fn limit_connection(conn: &Connection, stop: &ScanStop) -> Result<(), LibraryError> {
    let stop = stop.clone();
    conn.progress_handler(STEPS_BETWEEN_CHECKS, Some(move || stop.check().is_err()))?;
    // The progress handler only runs while a statement runs: a schema whose generated columns
    // nest (each referring twice to the one before) costs time exponential in its depth to
    // compile, before any step. Our statements compile to a few hundred operations, plus the
    // expressions of any generated columns they read; past this many, refuse to compile.
    conn.set_limit(Limit::SQLITE_LIMIT_VDBE_OP, MAX_STATEMENT_OPS)?;
    conn.pragma_update(None, "query_only", true)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// Asset columns the summary cannot do without: the row id, the upload state (the whole point
/// of the summary) and the trash flag (without it deleted photos count as waiting). Present in
/// `ZGENERICASSET` on iOS 11–13 and `ZASSET` from iOS 14 (iLEAPP Ph001, Ph003).
pub const REQUIRED_ASSET_COLUMNS: [&str; 3] = ["Z_PK", "ZCLOUDLOCALSTATE", "ZTRASHEDSTATE"];
/// One of these must say which assets are the user's own library (see `summarize_open`).
pub const SCOPE_COLUMNS: [&str; 2] = ["ZBUNDLESCOPE", "ZSAVEDASSETTYPE"];

/// The conditions (on the asset table, aliased `a`) that keep an asset to the main library: not
/// in the trash, not a shared-album, iCloud-link or Shared-with-You asset (those stay at
/// ZCLOUDLOCALSTATE 0 even when everything syncs). The summary and rescue's list both use it,
/// so they choose the same assets. `asset` is the asset table's columns.
pub(crate) fn main_library_conditions(asset: &HashSet<String>) -> Vec<&'static str> {
    let mut main_library = Vec::new();
    if asset.contains("ZBUNDLESCOPE") {
        // iOS 15 and later.
        main_library.push("IFNULL(a.ZBUNDLESCOPE, 0) = 0");
    } else if asset.contains("ZSAVEDASSETTYPE") {
        // iOS 11–14 have no ZBUNDLESCOPE (nor Shared with You); there the saved-asset type
        // marks what is not the user's own library: 4 shared-album asset, 8 iCloud-link asset
        // (iLEAPP Ph001, Ph035).
        main_library.push("IFNULL(a.ZSAVEDASSETTYPE, 0) NOT IN (4, 8)");
    }
    if asset.contains("ZTRASHEDSTATE") {
        main_library.push("IFNULL(a.ZTRASHEDSTATE, 0) = 0");
    }
    main_library
}
/// The asset tables we know: `ZASSET` (iOS 14 and later), `ZGENERICASSET` (before).
pub const ASSET_TABLES: [&str; 2] = ["ZASSET", "ZGENERICASSET"];

/// What of [`REQUIRED_ASSET_COLUMNS`] and [`SCOPE_COLUMNS`] `asset` (the columns of `table`)
/// lacks, as `TABLE.COLUMN`.
pub fn missing_columns(table: &str, asset: &HashSet<String>) -> Vec<String> {
    let mut missing: Vec<String> = REQUIRED_ASSET_COLUMNS
        .iter()
        .filter(|c| !asset.contains(**c))
        .map(|c| format!("{table}.{c}"))
        .collect();
    if !SCOPE_COLUMNS.iter().any(|c| asset.contains(*c)) {
        missing.push(format!("{table}.{}", SCOPE_COLUMNS.join(" or ")));
    }
    missing
}

/// The summary's query over an open library.
pub(crate) fn summarize_open(conn: &Connection) -> Result<LibrarySummary, LibraryError> {
    let tables = table_names(conn)?;
    let asset_table = ASSET_TABLES
        .into_iter()
        .find(|t| tables.contains(*t))
        .ok_or_else(|| LibraryError::NotRecognised {
            table: None,
            missing: vec![ASSET_TABLES.join(" or ")],
        })?;
    let asset = columns(conn, asset_table)?;
    let missing = missing_columns(asset_table, &asset);
    if !missing.is_empty() {
        return Err(LibraryError::NotRecognised {
            table: Some(asset_table.to_string()),
            missing,
        });
    }
    let attrs = if tables.contains("ZADDITIONALASSETATTRIBUTES") {
        columns(conn, "ZADDITIONALASSETATTRIBUTES")?
    } else {
        HashSet::new()
    };
    let resources = if tables.contains("ZINTERNALRESOURCE") {
        columns(conn, "ZINTERNALRESOURCE")?
    } else {
        HashSet::new()
    };

    let main_library = main_library_conditions(&asset);
    let filter = if main_library.is_empty() {
        "1".to_string()
    } else {
        main_library.join(" AND ")
    };

    let has_state = asset.contains("ZCLOUDLOCALSTATE");
    // The attributes row: by the asset's to-one ZADDITIONALATTRIBUTES (a row-id look-up), or
    // failing that by the attributes' back reference ZASSET.
    let join = if attrs.contains("Z_PK") && asset.contains("ZADDITIONALATTRIBUTES") {
        Some("LEFT JOIN ZADDITIONALASSETATTRIBUTES aa ON aa.Z_PK = a.ZADDITIONALATTRIBUTES")
    } else if attrs.contains("ZASSET") {
        Some("LEFT JOIN ZADDITIONALASSETATTRIBUTES aa ON aa.ZASSET = a.Z_PK")
    } else {
        None
    };
    let attr = |c: &str| join.is_some() && attrs.contains(c);

    let waiting = "a.ZCLOUDLOCALSTATE = 0";
    let select = [
        Some("COUNT(*)".to_string()),
        has_state.then(|| format!("COUNT(CASE WHEN {waiting} THEN 1 END)")),
        (has_state && attr("ZORIGINALFILESIZE"))
            .then(|| format!("SUM(CASE WHEN {waiting} THEN aa.ZORIGINALFILESIZE END)")),
        (has_state && asset.contains("ZADDEDDATE"))
            .then(|| format!("MIN(CASE WHEN {waiting} THEN a.ZADDEDDATE END)")),
        (has_state && attr("ZUPLOADATTEMPTS"))
            .then(|| format!("COUNT(CASE WHEN {waiting} AND aa.ZUPLOADATTEMPTS > 0 THEN 1 END)")),
        attr("ZLASTUPLOADATTEMPTDATE").then(|| "MAX(aa.ZLASTUPLOADATTEMPTDATE)".to_string()),
        has_state.then(|| "COUNT(CASE WHEN a.ZCLOUDLOCALSTATE = 2 THEN 1 END)".to_string()),
        has_state.then(|| "COUNT(CASE WHEN a.ZCLOUDLOCALSTATE = 4 THEN 1 END)".to_string()),
    ];
    let needs_join = select[2].is_some() || select[4].is_some() || select[5].is_some();
    let sql = format!(
        "SELECT {} FROM {asset_table} a {} WHERE {filter}",
        select
            .iter()
            .map(|s| s.as_deref().unwrap_or("NULL"))
            .collect::<Vec<_>>()
            .join(", "),
        if needs_join { join.unwrap_or("") } else { "" },
    );
    let row: Vec<Value> = conn.query_row(&sql, [], |r| {
        (0..select.len()).map(|i| r.get::<_, Value>(i)).collect()
    })?;
    let mut row = row.into_iter();
    let mut next = || row.next().unwrap_or(Value::Null);
    let assets = count(next());
    let waiting = count(next());
    let waiting_bytes_sum = next();
    let oldest_waiting_added = date(next());
    let waiting_with_failed_attempts = count(next());
    let last_upload_attempt = date(next());
    let failed = count(next());
    let quarantined = count(next());
    // Nothing waiting is zero bytes; otherwise the sum (None if no size was recorded at all).
    let waiting_bytes = match (&select[2], waiting) {
        (None, _) => None,
        (Some(_), Some(0)) => Some(0),
        (Some(_), _) => count(waiting_bytes_sum),
    };

    // Originals kept only in iCloud: the asset's original resource is not on the device.
    // Counted per asset (DISTINCT), scanning the resources and looking each asset up by row id.
    let cloud_only_originals = if ["ZASSET", "ZDATASTORESUBTYPE", "ZLOCALAVAILABILITY"]
        .iter()
        .all(|c| resources.contains(*c))
    {
        let sql = format!(
            "SELECT COUNT(DISTINCT r.ZASSET) FROM ZINTERNALRESOURCE r \
             JOIN {asset_table} a ON a.Z_PK = r.ZASSET \
             WHERE r.ZDATASTORESUBTYPE = 1 AND r.ZLOCALAVAILABILITY = -1 AND {filter}"
        );
        count(conn.query_row(&sql, [], |r| r.get::<_, Value>(0))?)
    } else {
        None
    };

    Ok(LibrarySummary {
        schema: Some(asset_table.to_string()),
        assets,
        waiting,
        waiting_bytes,
        oldest_waiting_added,
        waiting_with_failed_attempts,
        last_upload_attempt,
        failed,
        quarantined,
        cloud_only_originals,
    })
}

/// The 16-byte magic every SQLite 3 file starts with.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

fn check_header(main: &Path) -> Result<(), LibraryError> {
    let mut file = std::fs::File::open(main).map_err(|e| LibraryError::Io(e.to_string()))?;
    let mut header = [0u8; 100];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(LibraryError::Io(e.to_string())),
        }
    }
    check_header_bytes(&header[..read], read == header.len())
}

/// `header` is the file's first bytes, `full` whether it has all 100.
fn check_header_bytes(header: &[u8], full: bool) -> Result<(), LibraryError> {
    if !full {
        return Err(LibraryError::NotSqlite(
            "shorter than an SQLite header".into(),
        ));
    }
    if header.get(..16) != Some(SQLITE_MAGIC.as_slice()) {
        return Err(LibraryError::NotSqlite("no SQLite header".into()));
    }
    Ok(())
}

fn quick_check(conn: &Connection) -> Result<(), LibraryError> {
    let mut stmt = conn.prepare("PRAGMA quick_check")?;
    let mut rows = stmt.query([])?;
    let mut problems = Vec::new();
    while let Some(row) = rows.next()? {
        let line: String = row.get::<_, Option<String>>(0)?.unwrap_or_default();
        if line == "ok" {
            continue;
        }
        if problems.len() < QUICK_CHECK_LINES {
            problems.push(line);
        } else {
            problems.push("…".into());
            break;
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(LibraryError::Corrupt(format!(
            "quick_check: {}",
            problems.join("; ")
        )))
    }
}

pub(crate) fn table_names(conn: &Connection) -> Result<HashSet<String>, LibraryError> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<HashSet<_>, _>>()?;
    Ok(names)
}

/// Column names of a table whose name we chose (never text from the database).
pub(crate) fn columns(conn: &Connection, table: &str) -> Result<HashSet<String>, LibraryError> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<Result<HashSet<_>, _>>()?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_data_dates_round_trip_to_the_microsecond() {
        for unix in [
            0i64,
            978_307_200,
            1_700_000_000,
            1_748_736_000,
            4_102_444_800,
        ] {
            let t = UNIX_EPOCH + Duration::from_secs(unix as u64) + Duration::from_micros(123_457);
            assert_eq!(from_core_data(to_core_data(t)), Some(t));
        }
        let before_unix = UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(from_core_data(to_core_data(before_unix)), Some(before_unix));
        assert_eq!(
            from_core_data(0.0),
            Some(UNIX_EPOCH + Duration::from_secs(978_307_200))
        );
        assert_eq!(from_core_data(f64::NAN), None);
        assert_eq!(from_core_data(1e300), None);
    }

    #[test]
    fn a_missing_copy_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(summarize(dir.path()), Err(LibraryError::Io(_))));
    }

    #[test]
    fn a_short_or_foreign_file_is_not_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MAIN_FILE), b"").unwrap();
        assert!(matches!(
            summarize(dir.path()),
            Err(LibraryError::NotSqlite(_))
        ));
        std::fs::write(dir.path().join(MAIN_FILE), vec![b'x'; 4096]).unwrap();
        assert!(matches!(
            summarize(dir.path()),
            Err(LibraryError::NotSqlite(_))
        ));
    }

    #[test]
    fn a_database_without_assets_is_not_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(MAIN_FILE)).unwrap();
        conn.execute_batch("CREATE TABLE ZFOO (Z_PK INTEGER PRIMARY KEY)")
            .unwrap();
        drop(conn);
        match summarize(dir.path()) {
            Err(LibraryError::NotRecognised {
                table: None,
                missing,
            }) => {
                assert_eq!(missing, vec!["ZASSET or ZGENERICASSET".to_string()])
            }
            other => panic!("{other:?}"),
        }
    }

    /// A future schema that dropped or renamed the upload state: not recognised, naming it,
    /// rather than a summary with the counts silently missing.
    #[test]
    fn an_asset_table_without_the_needed_columns_is_not_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(MAIN_FILE)).unwrap();
        conn.execute_batch(
            "CREATE TABLE ZASSET (Z_PK INTEGER PRIMARY KEY, ZBUNDLESCOPE INTEGER,
                ZTRASHEDSTATE INTEGER, ZCLOUDSYNCSTATE INTEGER, ZADDEDDATE TIMESTAMP);
             INSERT INTO ZASSET VALUES (1, 0, 0, 0, 700000000);",
        )
        .unwrap();
        drop(conn);
        let e = summarize(dir.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "photo library format not recognised: no ZASSET.ZCLOUDLOCALSTATE"
        );
        assert!(matches!(
            e,
            LibraryError::NotRecognised { table: Some(t), .. } if t == "ZASSET"
        ));
    }

    /// An iOS-14-like table: no ZBUNDLESCOPE, so the saved-asset type keeps shared-album and
    /// iCloud-link assets out; no attributes or resources table, so those fields are unknown.
    #[test]
    fn falls_back_to_the_saved_asset_type_and_leaves_unknowns_none() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(MAIN_FILE)).unwrap();
        conn.execute_batch(
            "CREATE TABLE ZASSET (Z_PK INTEGER PRIMARY KEY, ZSAVEDASSETTYPE INTEGER,
                ZTRASHEDSTATE INTEGER, ZCLOUDLOCALSTATE INTEGER, ZADDEDDATE TIMESTAMP);
             INSERT INTO ZASSET VALUES (1, 3, 0, 0, 700000000), (2, 3, 0, 1, 600000000),
                (3, 4, 0, 0, 1), (4, 8, 0, 0, 2), (5, 3, 1, 0, 3), (6, NULL, NULL, 2, NULL);",
        )
        .unwrap();
        drop(conn);
        let s = summarize(dir.path()).unwrap();
        assert_eq!(s.schema.as_deref(), Some("ZASSET"));
        assert_eq!(s.assets, Some(3));
        assert_eq!(s.waiting, Some(1));
        assert_eq!(s.failed, Some(1));
        assert_eq!(s.quarantined, Some(0));
        assert_eq!(s.oldest_waiting_added, from_core_data(700_000_000.0));
        assert_eq!(s.waiting_bytes, None);
        assert_eq!(s.waiting_with_failed_attempts, None);
        assert_eq!(s.last_upload_attempt, None);
        assert_eq!(s.cloud_only_originals, None);
    }

    /// Generated columns that each add the one before to itself: a schema of a few KB whose
    /// summary statement would compile to 2^30 operations (about 14 s before it fails).
    #[test]
    fn a_statement_that_would_compile_without_end_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut columns = vec![
            "Z_PK INTEGER PRIMARY KEY".to_string(),
            "ZX INTEGER, ZTRASHEDSTATE INTEGER, ZBUNDLESCOPE INTEGER".into(),
            "G0 INTEGER AS (ZX + 1) VIRTUAL".into(),
        ];
        for k in 1..30 {
            columns.push(format!("G{k} INTEGER AS (G{} + G{}) VIRTUAL", k - 1, k - 1));
        }
        columns.push("ZCLOUDLOCALSTATE INTEGER AS (G29 % 3) VIRTUAL".into());
        // Today's SQLite refuses to create such a table, but reads one written by another
        // (an older SQLite, or a hand-edited file): write its schema in place.
        let conn = Connection::open(dir.path().join(MAIN_FILE)).unwrap();
        conn.execute_batch("CREATE TABLE ZASSET(Z_PK INTEGER PRIMARY KEY);")
            .unwrap();
        conn.pragma_update(None, "writable_schema", true).unwrap();
        conn.execute(
            "UPDATE sqlite_master SET sql = ?1 WHERE name = 'ZASSET'",
            [format!("CREATE TABLE ZASSET({})", columns.join(", "))],
        )
        .unwrap();
        drop(conn);
        let started = std::time::Instant::now();
        let stop = ScanStop::after(Duration::from_secs(3600));
        let err = summarize_until(dir.path(), &stop).unwrap_err();
        assert!(matches!(err, LibraryError::TooComplex(_)), "{err}");
        assert!(
            err.to_string()
                .contains("more work than any Photos library"),
            "{err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
}
