//! The bench's own history: an embedded SQLite database (WAL, one transaction per scan), so a
//! crash or a kill mid-write never loses or corrupts an earlier scan.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::record::ScanRecord;
use crate::rescue::{count, stored_count};
use crate::store::Store;
use crate::{HistoryError, ListFilter, OpenMode, Rescue, RescueRow, RescueSelection, ScanRow};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
pub(crate) const MIGRATIONS: &[&str] = &[
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
    // 2: the bench that took each scan (--bench); NULL for scans recorded before.
    "ALTER TABLE scans ADD COLUMN bench TEXT;
    CREATE INDEX scans_by_bench ON scans (bench, scanned_at);",
    // 3: each `rescue` run: the phone, what was asked and the counts; never a file name or a
    // folder (docs/rescue.md#the-history).
    "CREATE TABLE rescues (
        id INTEGER PRIMARY KEY,
        rescued_at INTEGER NOT NULL,          -- Unix seconds
        bench TEXT,
        udid TEXT,
        serial TEXT,
        name TEXT,
        product_type TEXT,
        model TEXT,
        selection TEXT NOT NULL,              -- 'waiting' (not yet in iCloud) or 'all'
        copied INTEGER NOT NULL,              -- files copied by this run
        already_there INTEGER NOT NULL,       -- files found whole in the folder
        failed INTEGER NOT NULL,              -- files not rescued
        bytes INTEGER NOT NULL,               -- bytes copied by this run
        complete INTEGER NOT NULL             -- 1 when everything asked for is in the folder
    );
    CREATE INDEX rescues_by_udid ON rescues (udid, rescued_at);
    CREATE INDEX rescues_by_bench ON rescues (bench, rescued_at);",
];

pub(crate) struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

const COLUMNS: &str = "id, scanned_at, bench, udid, serial, name, product_type, model, ios, \
    free_bytes, health_percent, verdict, answers, trust_answers, snapshot";

impl SqliteStore {
    /// Opens the history at `path`, creating only what `mode` allows. An existing path must
    /// be a regular file: it is opened without blocking and its handle checked, so a named
    /// pipe given as `--db` is refused instead of hanging SQLite's first read.
    pub fn open(path: &Path, mode: OpenMode) -> Result<SqliteStore, HistoryError> {
        use synccheck_core::user_file::{open_regular_file, UserFileError};
        let sql = sql_error(path);
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
            return Err(HistoryError::TooNew(path.display().to_string()));
        }
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            // IMMEDIATE: two benches opening an old file at once migrate it one after the
            // other; the second finds the version moved on and skips what ran.
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sql)?;
            let now: i64 = tx
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(sql)?;
            if now as usize <= i {
                tx.execute_batch(migration).map_err(sql)?;
                tx.pragma_update(None, "user_version", (i + 1) as i64)
                    .map_err(sql)?;
            }
            tx.commit().map_err(sql)?;
        }
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn sql(&self, source: rusqlite::Error) -> HistoryError {
        sql_error(&self.path)(source)
    }
}

/// SQLite's error, named by the history's path.
fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> HistoryError + Copy + '_ {
    |source| HistoryError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ScanRow> {
    Ok(ScanRow {
        id: r.get(0)?,
        scanned_at: r.get(1)?,
        bench: r.get(2)?,
        udid: r.get(3)?,
        serial: r.get(4)?,
        name: r.get(5)?,
        model: r.get(6)?,
        ios: r.get(7)?,
        free_bytes: r.get::<_, Option<i64>>(8)?.map(count),
        health_percent: r.get(9)?,
        verdict: r.get(10)?,
    })
}

impl Store for SqliteStore {
    fn insert(
        &mut self,
        s: &ScanRecord,
        before_commit: &mut (dyn FnMut() + Send),
    ) -> Result<i64, HistoryError> {
        let sql = sql_error(&self.path);
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "INSERT INTO scans (scanned_at, bench, udid, serial, name, product_type, model, ios,
                free_bytes, health_percent, verdict, answers, trust_answers, snapshot)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                s.scanned_at,
                s.bench,
                s.udid,
                s.serial,
                s.name,
                s.product_type,
                s.model,
                s.ios,
                s.free_bytes,
                s.health_percent,
                s.verdict,
                s.answers,
                s.trust_answers,
                s.snapshot,
            ],
        )
        .map_err(sql)?;
        let id = tx.last_insert_rowid();
        before_commit();
        tx.commit().map_err(sql)?;
        Ok(id)
    }

    fn list(&mut self, f: &ListFilter) -> Result<Vec<ScanRow>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, scanned_at, bench, udid, serial, name, model, ios, free_bytes,
                        health_percent, verdict
                 FROM scans
                 WHERE (?1 IS NULL OR udid = ?1) AND (?2 IS NULL OR bench = ?2)
                   AND (?3 IS NULL OR scanned_at >= ?3)
                 ORDER BY scanned_at DESC, id DESC LIMIT ?4",
            )
            .map_err(|e| self.sql(e))?;
        // SQLite: a negative LIMIT is no limit.
        let limit = f.limit.map_or(-1, i64::from);
        let rows = stmt
            .query_map(params![f.udid, f.bench, f.since, limit], row)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.sql(e))?;
        Ok(rows)
    }

    fn previous_id(
        &mut self,
        udid: &str,
        before: Option<i64>,
    ) -> Result<Option<i64>, HistoryError> {
        self.conn
            .query_row(
                "SELECT id FROM scans WHERE udid = ?1 AND (?2 IS NULL OR id < ?2)
                 ORDER BY id DESC LIMIT 1",
                params![udid, before],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn get(&mut self, id: i64) -> Result<Option<ScanRecord>, HistoryError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM scans WHERE id = ?1"),
                params![id],
                |r| {
                    Ok(ScanRecord {
                        scanned_at: r.get(1)?,
                        bench: r.get(2)?,
                        udid: r.get(3)?,
                        serial: r.get(4)?,
                        name: r.get(5)?,
                        product_type: r.get(6)?,
                        model: r.get(7)?,
                        ios: r.get(8)?,
                        free_bytes: r.get(9)?,
                        health_percent: r.get(10)?,
                        verdict: r.get(11)?,
                        answers: r.get(12)?,
                        trust_answers: r.get(13)?,
                        snapshot: r.get(14)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn find(&mut self, s: &ScanRecord) -> Result<Option<i64>, HistoryError> {
        self.conn
            .query_row(
                "SELECT id FROM scans WHERE scanned_at = ?1 AND bench IS ?2
                    AND udid IS ?3 AND answers = ?4 AND snapshot = ?5 LIMIT 1",
                params![s.scanned_at, s.bench, s.udid, s.answers, s.snapshot],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn ids(&mut self) -> Result<Vec<i64>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM scans ORDER BY id")
            .map_err(|e| self.sql(e))?;
        let ids = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.sql(e))?;
        Ok(ids)
    }

    fn insert_rescue(&mut self, r: &Rescue, bench: Option<&str>) -> Result<i64, HistoryError> {
        let sql = sql_error(&self.path);
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "INSERT INTO rescues (rescued_at, bench, udid, serial, name, product_type, model,
                selection, copied, already_there, failed, bytes, complete)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                r.rescued_at,
                bench,
                r.udid,
                r.serial,
                r.name,
                r.product_type,
                r.model,
                r.selection.as_str(),
                stored_count(r.copied),
                stored_count(r.already_there),
                stored_count(r.failed),
                stored_count(r.bytes),
                r.complete,
            ],
        )
        .map_err(sql)?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(sql)?;
        Ok(id)
    }

    fn list_rescues(&mut self, f: &ListFilter) -> Result<Vec<RescueRow>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, rescued_at, bench, udid, serial, name, model, selection, copied,
                        already_there, failed, bytes, complete, product_type
                 FROM rescues
                 WHERE (?1 IS NULL OR udid = ?1) AND (?2 IS NULL OR bench = ?2)
                   AND (?3 IS NULL OR rescued_at >= ?3)
                 ORDER BY rescued_at DESC, id DESC LIMIT ?4",
            )
            .map_err(|e| self.sql(e))?;
        let limit = f.limit.map_or(-1, i64::from);
        let rows = stmt
            .query_map(params![f.udid, f.bench, f.since, limit], |r| {
                Ok(RescueRow {
                    id: r.get(0)?,
                    rescued_at: r.get(1)?,
                    bench: r.get(2)?,
                    udid: r.get(3)?,
                    serial: r.get(4)?,
                    name: r.get(5)?,
                    model: r.get(6)?,
                    selection: RescueSelection::parse(&r.get::<_, String>(7)?),
                    copied: count(r.get(8)?),
                    already_there: count(r.get(9)?),
                    failed: count(r.get(10)?),
                    bytes: count(r.get(11)?),
                    complete: r.get(12)?,
                    product_type: r.get(13)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.sql(e))?;
        Ok(rows)
    }

    fn find_rescue(
        &mut self,
        r: &Rescue,
        bench: Option<&str>,
    ) -> Result<Option<i64>, HistoryError> {
        self.conn
            .query_row(
                "SELECT id FROM rescues WHERE rescued_at = ?1 AND bench IS ?2 AND udid IS ?3
                    AND selection = ?4 AND copied = ?5 AND already_there = ?6 AND failed = ?7
                    AND bytes = ?8 LIMIT 1",
                params![
                    r.rescued_at,
                    bench,
                    r.udid,
                    r.selection.as_str(),
                    stored_count(r.copied),
                    stored_count(r.already_there),
                    stored_count(r.failed),
                    stored_count(r.bytes),
                ],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }
}
