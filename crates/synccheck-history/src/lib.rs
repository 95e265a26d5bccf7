//! The shop's history of scans: an embedded SQLite database (WAL, one transaction per scan),
//! so a crash or a kill mid-write never loses or corrupts an earlier scan.
//!
//! Each row keeps the captured snapshot (what the phone said) and the technician's answers, so
//! `history show` reprints the report by evaluating them again, plus the columns a listing
//! needs. Serial numbers and UDIDs are stored, because the shop needs them; output redacts them
//! on request.

mod judge;

pub use judge::{earlier_scan, judge, judge_and_record, Judged, JudgedScan, Judging};

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use synccheck_core::snapshot::{self, Snapshot};
use synccheck_report::DeviceReport;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: scans.
    "CREATE TABLE scans (
        id INTEGER PRIMARY KEY,
        scanned_at INTEGER NOT NULL,          -- Unix seconds
        udid TEXT,
        serial TEXT,
        name TEXT,
        product_type TEXT,
        model TEXT,
        ios TEXT,
        free_bytes INTEGER,
        health_percent REAL,
        verdict TEXT NOT NULL,
        answers TEXT NOT NULL,                -- the --answer arguments, one per line
        trust_answers INTEGER NOT NULL,
        snapshot BLOB NOT NULL                -- the snapshot as an XML plist
    );
    CREATE INDEX scans_by_udid ON scans (udid, scanned_at);",
];

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("the history database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the history database {0} was written by a newer synccheck")]
    TooNew(PathBuf),
    #[error("cannot create the directory for {path}: {source}")]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the folder of the history database {0} does not exist")]
    NoFolder(PathBuf),
    #[error("there is no history database at {0}")]
    Missing(PathBuf),
    #[error("the history database {path} is not a regular file (it is {kind})")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("cannot open the history database {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("scan {id} in the history cannot be read back: {why}")]
    Damaged { id: i64, why: String },
    #[error("this scan's snapshot cannot be stored: {0}")]
    Unstorable(String),
}

/// One line of `synccheck history`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRow {
    pub id: i64,
    pub scanned_at: i64,
    pub udid: Option<String>,
    pub serial: Option<String>,
    pub name: Option<String>,
    pub model: Option<String>,
    pub ios: Option<String>,
    pub free_bytes: Option<u64>,
    pub health_percent: Option<f64>,
    pub verdict: String,
}

/// What `history show` needs to reprint a scan.
#[derive(Debug, Clone)]
pub struct StoredScan {
    pub row: ScanRow,
    pub snapshot: Snapshot,
    pub answers: Vec<String>,
    pub trust_answers: bool,
}

pub struct History {
    conn: Connection,
    path: PathBuf,
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
    Read,
}

impl History {
    /// Opens the history at `path` to record scans in it, making its folders: for the
    /// default location. See [`History::open_with`].
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        Self::open_with(path, OpenMode::RecordAtDefault)
    }

    /// Opens the history at `path`, creating only what `mode` allows. An existing path must
    /// be a regular file: it is opened without blocking and its handle checked, so a named
    /// pipe given as `--db` is refused instead of hanging SQLite's first read.
    pub fn open_with(path: &Path, mode: OpenMode) -> Result<Self, HistoryError> {
        use synccheck_core::user_file::{open_regular_file, UserFileError};
        let sql = |source| HistoryError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        match open_regular_file(path) {
            Ok(_) => {}
            Err(UserFileError::NotAFile(kind)) => {
                return Err(HistoryError::NotAFile {
                    path: path.to_path_buf(),
                    kind,
                })
            }
            Err(UserFileError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = path
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                match mode {
                    OpenMode::Read => return Err(HistoryError::Missing(path.to_path_buf())),
                    OpenMode::RecordAtGiven if !dir.is_dir() => {
                        return Err(HistoryError::NoFolder(path.to_path_buf()))
                    }
                    OpenMode::RecordAtGiven => {}
                    OpenMode::RecordAtDefault => {
                        std::fs::create_dir_all(dir).map_err(|source| HistoryError::Directory {
                            path: path.to_path_buf(),
                            source,
                        })?
                    }
                }
            }
            Err(UserFileError::Io(source)) => {
                return Err(HistoryError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
            // Opening checks no size.
            Err(e @ UserFileError::TooLarge { .. }) => {
                return Err(HistoryError::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::other(e.to_string()),
                })
            }
        }
        let mut conn = Connection::open(path).map_err(sql)?;
        // WAL: a writer killed mid-transaction leaves the last committed state intact.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)?;
        if version as usize > MIGRATIONS.len() {
            return Err(HistoryError::TooNew(path.to_path_buf()));
        }
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(sql)?;
            tx.execute_batch(migration).map_err(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
        }
        Ok(History {
            conn,
            path: path.to_path_buf(),
            writes: 0,
        })
    }

    fn sql(&self, source: rusqlite::Error) -> HistoryError {
        HistoryError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Records one scan in one transaction; returns its id.
    pub fn record(
        &mut self,
        snapshot: &Snapshot,
        report: &DeviceReport,
        answers: &[String],
        trust_answers: bool,
    ) -> Result<i64, HistoryError> {
        let mut xml = Vec::new();
        // Loading refuses what XML cannot hold (a UID, found by fuzzing); an error here stays an
        // error, never a panic in the middle of a bench session. A value with a control
        // character is kept exactly (binary plist), so such a phone's scan is still recorded.
        snapshot
            .write(&mut xml)
            .map_err(|e| HistoryError::Unstorable(e.to_string()))?;
        let f = &report.facts;
        let at = report
            .captured_at
            .unwrap_or_else(SystemTime::now)
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let tx = self.conn.transaction().map_err(|e| HistoryError::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        tx.execute(
            "INSERT INTO scans (scanned_at, udid, serial, name, product_type, model, ios, free_bytes,
                health_percent, verdict, answers, trust_answers, snapshot)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                at,
                f.identity.udid,
                f.identity.serial_number,
                f.identity.name,
                f.identity.product_type,
                f.identity.marketing_name,
                f.software.ios_version.map(|v| v.to_string()),
                f.storage.free_bytes.map(|b| b as i64),
                f.battery.health.estimated_health_percent,
                report.evaluation.verdict.status.as_str(),
                answers.join("\n"),
                trust_answers,
                xml,
            ],
        )
        .map_err(|e| HistoryError::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        let id = tx.last_insert_rowid();
        self.writes += 1;
        pause_if_asked(self.writes);
        tx.commit().map_err(|e| HistoryError::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        Ok(id)
    }

    /// Past scans, newest first; only one phone's with `udid`.
    pub fn list(&self, udid: Option<&str>) -> Result<Vec<ScanRow>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, scanned_at, udid, serial, name, model, ios, free_bytes, health_percent, verdict
                 FROM scans WHERE (?1 IS NULL OR udid = ?1) ORDER BY scanned_at DESC, id DESC",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![udid], row)
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        Ok(rows)
    }

    /// The scan of `udid` recorded last, or last before scan `before`: what a new scan, or the
    /// reprint of an old one, compares its photo count with.
    pub fn previous(
        &self,
        udid: &str,
        before: Option<i64>,
    ) -> Result<Option<StoredScan>, HistoryError> {
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM scans WHERE udid = ?1 AND (?2 IS NULL OR id < ?2)
                 ORDER BY id DESC LIMIT 1",
                params![udid, before],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        match id {
            Some(id) => self.get(id),
            None => Ok(None),
        }
    }

    pub fn get(&self, id: i64) -> Result<Option<StoredScan>, HistoryError> {
        let found = self
            .conn
            .query_row(
                "SELECT id, scanned_at, udid, serial, name, model, ios, free_bytes, health_percent, verdict,
                        answers, trust_answers, snapshot
                 FROM scans WHERE id = ?1",
                params![id],
                |r| Ok((row(r)?, r.get::<_, String>(10)?, r.get::<_, bool>(11)?, r.get::<_, Vec<u8>>(12)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some((row, answers, trust_answers, xml)) = found else {
            return Ok(None);
        };
        let snapshot = snapshot::parse_bytes(Path::new("history"), &xml).map_err(|e| {
            HistoryError::Damaged {
                id,
                why: e.to_string(),
            }
        })?;
        Ok(Some(StoredScan {
            row,
            snapshot,
            answers: answers
                .lines()
                .map(str::to_owned)
                .filter(|a| !a.is_empty())
                .collect(),
            trust_answers,
        }))
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ScanRow> {
    Ok(ScanRow {
        id: r.get(0)?,
        scanned_at: r.get(1)?,
        udid: r.get(2)?,
        serial: r.get(3)?,
        name: r.get(4)?,
        model: r.get(5)?,
        ios: r.get(6)?,
        free_bytes: r.get::<_, Option<i64>>(7)?.map(|b| b.max(0) as u64),
        health_percent: r.get(8)?,
        verdict: r.get(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
