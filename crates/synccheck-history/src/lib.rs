//! The shop's history of scans: an embedded SQLite database on the bench (the default), or a
//! PostgreSQL server several benches share (`--db postgres://...`). Both are one [`History`]:
//! one transaction per scan, so a crash or a kill mid-write never loses or corrupts an earlier
//! scan.
//!
//! Each row keeps the captured snapshot (what the phone said), the technician's answers and the
//! bench that took it, so `history show` reprints the report by evaluating them again, plus the
//! columns a listing needs. Serial numbers and UDIDs are stored, because the shop needs them;
//! output redacts them on request.

mod error;
mod judge;
mod pg;
mod record;
mod rescue;
mod sqlite;
mod store;
mod target;

pub use error::HistoryError;
pub use judge::{earlier_scan, judge, judge_and_record, Judged, JudgedScan, Judging};
pub use rescue::{Rescue, RescueRow, RescueSelection};
pub use target::{PgTarget, Target};

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use synccheck_core::snapshot::Snapshot;
use synccheck_report::DeviceReport;

use record::ScanRecord;
use store::Store;

/// One line of `synccheck history`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRow {
    pub id: i64,
    pub scanned_at: i64,
    /// The bench that took the scan (`--bench`); `None` for scans from before benches were
    /// recorded.
    pub bench: Option<String>,
    pub udid: Option<String>,
    pub serial: Option<String>,
    pub name: Option<String>,
    pub model: Option<String>,
    pub ios: Option<String>,
    pub free_bytes: Option<u64>,
    pub health_percent: Option<f64>,
    pub verdict: String,
}

/// Which scans `history` lists: every field narrows, `None` does not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListFilter {
    pub udid: Option<String>,
    pub bench: Option<String>,
    /// Only scans at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}

/// What `history show` needs to reprint a scan.
#[derive(Debug, Clone)]
pub struct StoredScan {
    pub row: ScanRow,
    pub snapshot: Snapshot,
    pub answers: Vec<String>,
    pub trust_answers: bool,
}

/// What `history import` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Imported {
    pub copied: usize,
    /// Already in the destination (an import run again).
    pub skipped: usize,
    /// Rescue runs copied, and found already there.
    pub rescues_copied: usize,
    pub rescues_skipped: usize,
}

/// The history, in whichever store. Reading takes `&self` (the stores need their connection
/// mutably: a `RefCell`, since a history is used from one thread at a time, behind a `Mutex`
/// when shared).
pub struct History {
    store: RefCell<Box<dyn Store>>,
    /// Where it is, for messages: a path, or a server without its password.
    place: String,
    /// The bench recorded with each scan.
    bench: Option<String>,
    /// Scans this process has begun to record: what [`TEST_PAUSE_ENV`] counts.
    writes: u64,
}

/// Test-only, read by nothing but [`History::record`]: `SYNCCHECK_TEST_HISTORY_PAUSE=N` makes
/// the Nth scan this process records stop inside its transaction (its row inserted, not yet
/// committed), print [`TEST_PAUSE_MARKER`] on stderr and wait until the process is killed. A
/// test then kills the writer at a known point instead of after a sleep that may or may not
/// land mid-write. Unset (always, outside tests), nothing changes.
pub const TEST_PAUSE_ENV: &str = "SYNCCHECK_TEST_HISTORY_PAUSE";
pub const TEST_PAUSE_MARKER: &str = "synccheck-test: history write paused inside its transaction";

/// The test hook of [`TEST_PAUSE_ENV`]: waits forever when `write` is the one asked for.
fn pause_if_asked(write: u64) {
    let asked = std::env::var(TEST_PAUSE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if asked != Some(write) {
        return;
    }
    eprintln!("{TEST_PAUSE_MARKER} (write {write})");
    loop {
        std::thread::park();
    }
}

/// The default place: the user's data directory, per the OS convention.
pub fn default_path() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let base = if cfg!(target_os = "macos") {
        home.join("Library/Application Support")
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".local/share"))
    };
    base.join("synccheck").join("history.sqlite")
}

/// What opening the history may create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Recording at the default place ([`default_path`]): its folders are made if need be.
    RecordAtDefault,
    /// Recording at a path the user gave: the database file may be new, but its folder must
    /// exist, so a typo in the path is an error rather than a new tree of folders.
    RecordAtGiven,
    /// Reading (`history`, `history show`): the database must exist; nothing is created.
    /// (A PostgreSQL database exists on its server: its schema is made on first use.)
    Read,
}

impl History {
    /// Opens the SQLite history at `path` to record scans in it, making its folders: for the
    /// default location. See [`History::open_with`].
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        Self::open_with(path, OpenMode::RecordAtDefault)
    }

    /// Opens the SQLite history at `path`, creating only what `mode` allows. An existing path
    /// must be a regular file, so a named pipe given as `--db` is refused instead of hanging.
    pub fn open_with(path: &Path, mode: OpenMode) -> Result<Self, HistoryError> {
        let store = sqlite::SqliteStore::open(path, mode)?;
        Ok(Self::over(Box::new(store), path.display().to_string()))
    }

    /// Opens the history at `target`: a SQLite file (see [`History::open_with`]), or a
    /// PostgreSQL server, connected to now (its schema created or migrated).
    pub fn open_target(target: &Target, mode: OpenMode) -> Result<Self, HistoryError> {
        match target {
            Target::File(path) => Self::open_with(path, mode),
            Target::Postgres(pg) => {
                let store = pg::PgStore::connect(pg.clone())?;
                Ok(Self::over(Box::new(store), pg.describe()))
            }
        }
    }

    /// A PostgreSQL history that connects when first used, and again whenever the connection
    /// was lost: for `watch`, which keeps recording once an unreachable server is back.
    pub fn postgres_later(target: &PgTarget) -> Self {
        Self::over(
            Box::new(pg::PgStore::later(target.clone())),
            target.describe(),
        )
    }

    fn over(store: Box<dyn Store>, place: String) -> Self {
        History {
            store: RefCell::new(store),
            place,
            bench: None,
            writes: 0,
        }
    }

    /// Records `bench` with each scan from now on (`--bench`, by default the host name).
    pub fn with_bench(mut self, bench: Option<String>) -> Self {
        self.bench = bench;
        self
    }

    /// Where the history is: a path, or `postgres://user@host:port/db` (never the password).
    pub fn place(&self) -> &str {
        &self.place
    }

    /// Records one scan in one transaction; returns its id.
    pub fn record(
        &mut self,
        snapshot: &Snapshot,
        report: &DeviceReport,
        answers: &[String],
        trust_answers: bool,
    ) -> Result<i64, HistoryError> {
        let scan = ScanRecord::new(
            snapshot,
            report,
            answers,
            trust_answers,
            self.bench.as_deref(),
        )?;
        self.writes += 1;
        let write = self.writes;
        self.store
            .get_mut()
            .insert(&scan, &mut || pause_if_asked(write))
    }

    /// Records a scan whose last attempt failed ([`HistoryError::is_unreachable`]): when that
    /// attempt was in fact committed (the connection was lost before its answer), the scan is
    /// found and not written twice. Returns its id either way.
    pub fn record_again(
        &mut self,
        snapshot: &Snapshot,
        report: &DeviceReport,
        answers: &[String],
        trust_answers: bool,
    ) -> Result<i64, HistoryError> {
        let scan = ScanRecord::new(
            snapshot,
            report,
            answers,
            trust_answers,
            self.bench.as_deref(),
        )?;
        let store = self.store.get_mut();
        match store.find(&scan)? {
            Some(id) => Ok(id),
            None => store.insert(&scan, &mut || {}),
        }
    }

    /// Past scans, newest first; only one phone's with `udid`.
    pub fn list(&self, udid: Option<&str>) -> Result<Vec<ScanRow>, HistoryError> {
        self.list_where(&ListFilter {
            udid: udid.map(str::to_owned),
            ..ListFilter::default()
        })
    }

    /// Past scans matching `filter`, newest first.
    pub fn list_where(&self, filter: &ListFilter) -> Result<Vec<ScanRow>, HistoryError> {
        self.store.borrow_mut().list(filter)
    }

    /// The scan of `udid` recorded last, or last before scan `before`: what a new scan, or the
    /// reprint of an old one, compares its photo count with.
    pub fn previous(
        &self,
        udid: &str,
        before: Option<i64>,
    ) -> Result<Option<StoredScan>, HistoryError> {
        let id = self.store.borrow_mut().previous_id(udid, before)?;
        match id {
            Some(id) => self.get(id),
            None => Ok(None),
        }
    }

    pub fn get(&self, id: i64) -> Result<Option<StoredScan>, HistoryError> {
        let found = self.store.borrow_mut().get(id)?;
        found.map(|scan| scan.stored(id)).transpose()
    }

    /// Records one `rescue` run, with this history's bench, in one transaction; returns its id.
    pub fn record_rescue(&mut self, rescue: &Rescue) -> Result<i64, HistoryError> {
        let bench = self.bench.clone();
        self.store.get_mut().insert_rescue(rescue, bench.as_deref())
    }

    /// Past rescue runs matching `filter`, newest first.
    pub fn list_rescues(&self, filter: &ListFilter) -> Result<Vec<RescueRow>, HistoryError> {
        self.store.borrow_mut().list_rescues(filter)
    }

    /// Copies every scan of `source` into this history, oldest first, each in its own
    /// transaction, then every rescue run the same way; one already here is skipped, so an
    /// interrupted import is run again.
    /// Scans recorded before benches were are given this history's bench.
    pub fn import_from(&mut self, source: &History) -> Result<Imported, HistoryError> {
        let mut done = Imported::default();
        let ids = source.store.borrow_mut().ids()?;
        for id in ids {
            let Some(mut scan) = source.store.borrow_mut().get(id)? else {
                continue;
            };
            if scan.bench.is_none() {
                scan.bench = self.bench.clone();
            }
            let store = self.store.get_mut();
            if store.find(&scan)?.is_some() {
                done.skipped += 1;
            } else {
                store.insert(&scan, &mut || {})?;
                done.copied += 1;
            }
        }
        let mut rescues = source.list_rescues(&ListFilter::default())?;
        rescues.reverse();
        // A selection this build does not know cannot be written back as it was: left out.
        for (row, rescue) in rescues.iter().filter_map(|r| Some((r, r.rescue()?))) {
            let bench = row.bench.clone().or_else(|| self.bench.clone());
            let store = self.store.get_mut();
            if store.find_rescue(&rescue, bench.as_deref())?.is_some() {
                done.rescues_skipped += 1;
            } else {
                store.insert_rescue(&rescue, bench.as_deref())?;
                done.rescues_copied += 1;
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use std::time::UNIX_EPOCH;
    use synccheck_core::checklist::Context;
    use synccheck_report::pipeline;

    #[test]
    fn only_recording_at_the_default_makes_folders_and_reading_makes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/h.sqlite");
        assert!(matches!(
            History::open_with(&deep, OpenMode::Read),
            Err(HistoryError::Missing(_))
        ));
        assert!(matches!(
            History::open_with(&deep, OpenMode::RecordAtGiven),
            Err(HistoryError::NoFolder(_))
        ));
        assert!(!dir.path().join("a").exists());
        let flat = dir.path().join("h.sqlite");
        assert!(matches!(
            History::open_with(&flat, OpenMode::Read),
            Err(HistoryError::Missing(_))
        ));
        assert!(!flat.exists());
        History::open_with(&flat, OpenMode::RecordAtGiven).unwrap();
        History::open_with(&flat, OpenMode::Read).unwrap();
        History::open_with(&deep, OpenMode::RecordAtDefault).unwrap();
        assert!(matches!(
            History::open_with(dir.path(), OpenMode::Read),
            Err(HistoryError::NotAFile {
                kind: "a folder",
                ..
            })
        ));
    }

    #[test]
    fn records_lists_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/history.sqlite");
        let snap = synccheck_core::snapshot::builtin_demo();
        let report = pipeline::report_for(&snap, "USB", &Context::default(), false);
        let mut h = History::open(&path).unwrap();
        let id = h
            .record(&snap, &report, &["restart=done".into()], false)
            .unwrap();
        let rows = h.list(None).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].model.as_deref(), Some("iPhone 14 Pro"));
        assert_eq!(rows[0].verdict, "fail");
        assert!(h.list(Some("nobody")).unwrap().is_empty());
        let back = h.get(id).unwrap().unwrap();
        assert_eq!(back.snapshot, snap);
        assert_eq!(back.answers, ["restart=done"]);
        assert!(h.get(id + 1).unwrap().is_none());
        // Reopening runs no migration twice.
        drop(h);
        assert_eq!(History::open(&path).unwrap().list(None).unwrap().len(), 1);
    }

    #[test]
    fn the_previous_scan_is_the_same_phones_last_before() {
        let dir = tempfile::tempdir().unwrap();
        let snap = synccheck_core::snapshot::builtin_demo();
        let report = pipeline::report_for(&snap, "USB", &Context::default(), false);
        let udid = report.facts.identity.udid.clone().unwrap();
        let mut other = snap.clone();
        other
            .lockdown
            .insert("UniqueDeviceID".into(), "OTHER".into());
        let other_report = pipeline::report_for(&other, "USB", &Context::default(), false);
        let mut h = History::open(&dir.path().join("h.sqlite")).unwrap();
        assert!(h.previous(&udid, None).unwrap().is_none());
        let first = h.record(&snap, &report, &[], false).unwrap();
        h.record(&other, &other_report, &[], false).unwrap();
        let third = h.record(&snap, &report, &[], false).unwrap();
        assert_eq!(h.previous(&udid, None).unwrap().unwrap().row.id, third);
        assert_eq!(
            h.previous(&udid, Some(third)).unwrap().unwrap().row.id,
            first
        );
        assert!(h.previous(&udid, Some(first)).unwrap().is_none());
    }

    #[test]
    fn a_snapshot_xml_cannot_hold_is_an_error_and_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = synccheck_core::snapshot::builtin_demo();
        let report = pipeline::report_for(&snap, "USB", &Context::default(), false);
        snap.lockdown
            .insert("Archived".into(), plist::Value::Uid(plist::Uid::new(1)));
        let mut h = History::open(&dir.path().join("h.sqlite")).unwrap();
        let err = h.record(&snap, &report, &[], false).unwrap_err();
        assert!(matches!(err, HistoryError::Unstorable(_)), "{err}");
        assert!(h.list(None).unwrap().is_empty());
    }

    #[test]
    fn a_name_xml_cannot_hold_is_recorded_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = synccheck_core::snapshot::builtin_demo();
        let hostile = "Eve\u{1}\u{1b}[2J\u{0}";
        snap.lockdown.insert("DeviceName".into(), hostile.into());
        let report = pipeline::report_for(&snap, "USB", &Context::default(), false);
        let mut h = History::open(&dir.path().join("h.sqlite")).unwrap();
        let id = h.record(&snap, &report, &[], false).unwrap();
        let stored = h.get(id).unwrap().unwrap();
        assert_eq!(stored.snapshot, snap);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(History::open(&path), Err(HistoryError::TooNew(_))));
    }

    #[test]
    fn the_bench_migration_keeps_the_scans_recorded_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let snap = synccheck_core::snapshot::builtin_demo();
        let mut xml = Vec::new();
        snap.write(&mut xml).unwrap();
        {
            // The schema before the bench column, with one scan in it.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(sqlite::MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO scans (scanned_at, udid, serial, verdict, answers, trust_answers, snapshot)
                 VALUES (100, 'U1', 'S1', 'pass', '', 0, ?1)",
                [&xml],
            )
            .unwrap();
        }
        let mut h = History::open(&path)
            .unwrap()
            .with_bench(Some("front".into()));
        let version: i64 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, sqlite::MIGRATIONS.len());
        let old = h.list(None).unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(
            (old[0].bench.as_deref(), old[0].serial.as_deref()),
            (None, Some("S1"))
        );
        assert_eq!(h.get(old[0].id).unwrap().unwrap().snapshot, snap);
        let report = pipeline::report_for(&snap, "USB", &Context::default(), false);
        h.record(&snap, &report, &[], false).unwrap();
        let front = ListFilter {
            bench: Some("front".into()),
            ..ListFilter::default()
        };
        assert_eq!(h.list_where(&front).unwrap().len(), 1);
        assert_eq!(h.list(None).unwrap().len(), 2);
    }

    #[test]
    fn listing_filters_by_bench_time_and_count() {
        let dir = tempfile::tempdir().unwrap();
        let snap = synccheck_core::snapshot::builtin_demo();
        let mut report = pipeline::report_for(&snap, "USB", &Context::default(), false);
        let path = dir.path().join("h.sqlite");
        for (bench, at) in [("a", 1_000), ("b", 2_000), ("a", 3_000), ("b", 4_000)] {
            report.captured_at = Some(UNIX_EPOCH + std::time::Duration::from_secs(at));
            History::open(&path)
                .unwrap()
                .with_bench(Some(bench.into()))
                .record(&snap, &report, &[], false)
                .unwrap();
        }
        let h = History::open(&path).unwrap();
        let times = |f: ListFilter| -> Vec<i64> {
            h.list_where(&f)
                .unwrap()
                .iter()
                .map(|r| r.scanned_at)
                .collect()
        };
        assert_eq!(times(ListFilter::default()), [4_000, 3_000, 2_000, 1_000]);
        let only_a = ListFilter {
            bench: Some("a".into()),
            ..ListFilter::default()
        };
        assert_eq!(times(only_a.clone()), [3_000, 1_000]);
        let since = ListFilter {
            since: Some(2_000),
            ..ListFilter::default()
        };
        assert_eq!(times(since), [4_000, 3_000, 2_000]);
        let limit = ListFilter {
            limit: Some(1),
            ..only_a
        };
        assert_eq!(times(limit), [3_000]);
    }

    #[test]
    fn an_import_copies_every_scan_once() {
        let dir = tempfile::tempdir().unwrap();
        let snap = synccheck_core::snapshot::builtin_demo();
        let report = pipeline::report_for(&snap, "USB", &Context::default(), false);
        let mut old = History::open(&dir.path().join("old.sqlite")).unwrap();
        old.record(&snap, &report, &["restart=done".into()], true)
            .unwrap();
        old.record(&snap, &report, &[], false).unwrap();
        let mut new = History::open(&dir.path().join("new.sqlite"))
            .unwrap()
            .with_bench(Some("back".into()));
        old.record_rescue(&a_rescue("U1", 500)).unwrap();
        let done = new.import_from(&old).unwrap();
        assert_eq!((done.copied, done.skipped), (2, 0));
        assert_eq!((done.rescues_copied, done.rescues_skipped), (1, 0));
        let again = new.import_from(&old).unwrap();
        assert_eq!((again.copied, again.skipped), (0, 2));
        assert_eq!((again.rescues_copied, again.rescues_skipped), (0, 1));
        let rescues = new.list_rescues(&ListFilter::default()).unwrap();
        assert_eq!(rescues.len(), 1);
        assert_eq!(rescues[0].bench.as_deref(), Some("back"));
        assert_eq!(rescues[0].rescue(), Some(a_rescue("U1", 500)));
        let rows = new.list(None).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.bench.as_deref() == Some("back")));
        let first = new.get(rows[1].id).unwrap().unwrap();
        assert_eq!(first.answers, ["restart=done"]);
        assert!(first.trust_answers);
        assert_eq!(first.snapshot, snap);
    }

    fn a_rescue(udid: &str, at: i64) -> Rescue {
        Rescue {
            rescued_at: at,
            udid: Some(udid.into()),
            serial: Some("F4GZK2LMN7Q1".into()),
            name: Some("Sam’s iPhone".into()),
            product_type: Some("iPhone16,1".into()),
            model: Some("iPhone 15 Pro".into()),
            selection: RescueSelection::Waiting,
            copied: 15,
            already_there: 0,
            failed: 1,
            bytes: 650_000,
            complete: false,
        }
    }

    #[test]
    fn rescues_are_recorded_and_listed_by_phone_bench_time_and_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        for (bench, udid, at) in [("a", "U1", 1_000), ("b", "U2", 2_000), ("a", "U1", 3_000)] {
            History::open(&path)
                .unwrap()
                .with_bench(Some(bench.into()))
                .record_rescue(&a_rescue(udid, at))
                .unwrap();
        }
        let h = History::open(&path).unwrap();
        let all = h.list_rescues(&ListFilter::default()).unwrap();
        assert_eq!(
            all.iter().map(|r| r.rescued_at).collect::<Vec<_>>(),
            [3_000, 2_000, 1_000]
        );
        let first = &all[2];
        assert_eq!(first.bench.as_deref(), Some("a"));
        assert_eq!(first.serial.as_deref(), Some("F4GZK2LMN7Q1"));
        assert_eq!(first.name.as_deref(), Some("Sam’s iPhone"));
        assert_eq!(first.model.as_deref(), Some("iPhone 15 Pro"));
        assert_eq!(first.selection, Some(RescueSelection::Waiting));
        assert_eq!(
            (first.copied, first.already_there, first.failed, first.bytes),
            (15, 0, 1, 650_000)
        );
        assert!(!first.complete);
        let u1 = ListFilter {
            udid: Some("U1".into()),
            ..ListFilter::default()
        };
        assert_eq!(h.list_rescues(&u1).unwrap().len(), 2);
        let b = ListFilter {
            bench: Some("b".into()),
            ..ListFilter::default()
        };
        assert_eq!(h.list_rescues(&b).unwrap()[0].udid.as_deref(), Some("U2"));
        let newest = ListFilter {
            since: Some(1_500),
            limit: Some(1),
            ..ListFilter::default()
        };
        assert_eq!(h.list_rescues(&newest).unwrap()[0].rescued_at, 3_000);
        // Rescues are not scans.
        assert!(h.list(None).unwrap().is_empty());
    }

    #[test]
    fn the_rescues_migration_keeps_the_scans_recorded_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let snap = synccheck_core::snapshot::builtin_demo();
        let report = pipeline::report_for(&snap, "USB", &Context::default(), false);
        let before = sqlite::MIGRATIONS.len() - 1;
        {
            // The schema before the rescues table, with one scan recorded in it.
            let conn = Connection::open(&path).unwrap();
            for migration in &sqlite::MIGRATIONS[..before] {
                conn.execute_batch(migration).unwrap();
            }
            conn.pragma_update(None, "user_version", before as i64)
                .unwrap();
        }
        {
            // Recorded by the build before: only the scans table exists.
            let conn = Connection::open(&path).unwrap();
            let tables: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE name = 'rescues'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(tables, 0);
        }
        let mut xml = Vec::new();
        snap.write(&mut xml).unwrap();
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO scans (scanned_at, bench, udid, serial, verdict, answers,
                    trust_answers, snapshot)
                 VALUES (100, 'front', 'U1', 'S1', 'pass', '', 0, ?1)",
                [&xml],
            )
            .unwrap();
        let mut h = History::open(&path)
            .unwrap()
            .with_bench(Some("front".into()));
        let version: i64 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, sqlite::MIGRATIONS.len());
        let old = h.list(None).unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(h.get(old[0].id).unwrap().unwrap().snapshot, snap);
        h.record_rescue(&a_rescue("U1", 200)).unwrap();
        h.record(&snap, &report, &[], false).unwrap();
        assert_eq!(h.list(None).unwrap().len(), 2);
        let rescues = h.list_rescues(&ListFilter::default()).unwrap();
        assert_eq!(rescues.len(), 1);
        assert_eq!(rescues[0].bench.as_deref(), Some("front"));
        // Opened again, nothing runs twice.
        drop(h);
        let h = History::open(&path).unwrap();
        assert_eq!(h.list_rescues(&ListFilter::default()).unwrap().len(), 1);
    }

    #[test]
    fn a_selection_this_build_does_not_know_is_unknown_not_guessed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        History::open(&path)
            .unwrap()
            .record_rescue(&a_rescue("U1", 1))
            .unwrap();
        Connection::open(&path)
            .unwrap()
            .execute(
                "UPDATE rescues SET selection = 'favourites', copied = -3",
                [],
            )
            .unwrap();
        let rows = History::open(&path)
            .unwrap()
            .list_rescues(&ListFilter::default())
            .unwrap();
        assert_eq!(rows[0].selection, None);
        assert_eq!(rows[0].copied, 0);
    }
}
