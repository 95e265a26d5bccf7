//! The shared history: a PostgreSQL server several benches record into at once.
//!
//! The same rows as the SQLite store, one transaction per scan; ids come from an identity
//! column, so concurrent writers never conflict. The connection is made when first needed
//! and made again after the server went away, so `watch` records again once it is back.

use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, NoTls};

use crate::record::ScanRecord;
use crate::rescue::{count, stored_count};
use crate::store::Store;
use crate::target::PgTarget;
use crate::{HistoryError, ListFilter, Rescue, RescueRow, RescueSelection, ScanRow};

/// Schema migrations, applied in order inside one transaction; the `synccheck_schema` table
/// records how many ran.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: scans, as SQLite's after its 2nd migration (with the bench).
    "CREATE TABLE scans (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        scanned_at BIGINT NOT NULL,            -- Unix seconds
        bench TEXT,
        udid TEXT,
        serial TEXT,
        name TEXT,
        product_type TEXT,
        model TEXT,
        ios TEXT,
        free_bytes BIGINT,
        health_percent DOUBLE PRECISION,
        verdict TEXT NOT NULL,
        answers TEXT NOT NULL,                 -- the --answer arguments, one per line
        trust_answers BOOLEAN NOT NULL,
        snapshot BYTEA NOT NULL                -- the snapshot as a plist, exactly
    );
    CREATE INDEX scans_by_udid ON scans (udid, id);
    CREATE INDEX scans_by_time ON scans (scanned_at);
    CREATE INDEX scans_by_bench ON scans (bench, scanned_at);",
    // 2: each `rescue` run, as SQLite's 3rd migration: never a file name or a folder.
    "CREATE TABLE rescues (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        rescued_at BIGINT NOT NULL,            -- Unix seconds
        bench TEXT,
        udid TEXT,
        serial TEXT,
        name TEXT,
        product_type TEXT,
        model TEXT,
        selection TEXT NOT NULL,               -- 'waiting' (not yet in iCloud) or 'all'
        copied BIGINT NOT NULL,                -- files copied by this run
        already_there BIGINT NOT NULL,         -- files found whole in the folder
        failed BIGINT NOT NULL,                -- files not rescued
        bytes BIGINT NOT NULL,                 -- bytes copied by this run
        complete BOOLEAN NOT NULL              -- everything asked for is in the folder
    );
    CREATE INDEX rescues_by_udid ON rescues (udid, rescued_at);
    CREATE INDEX rescues_by_bench ON rescues (bench, rescued_at);",
];

/// Held (for one transaction) by whoever migrates, so benches starting together against an
/// empty database create the schema once. The number is "synccheck" in ASCII, truncated.
const MIGRATION_LOCK: i64 = 0x7379_6e63_6368_6563;

/// How an unreachable server's error begins: [`HistoryError::is_unreachable`] tests it.
pub(crate) const UNREACHABLE: &str = "cannot reach it";

/// After a failed connection, how long further uses fail at once with the same reason instead
/// of waiting out another connect timeout: `watch` reads each phone's earlier scan, and a
/// server that does not answer must not hold up every scan on the bench.
const QUIET_AFTER_FAILURE: Duration = Duration::from_secs(5);

pub(crate) struct PgStore {
    target: PgTarget,
    client: Option<Client>,
    /// When the last connection failed, and why.
    failed: Option<(Instant, String)>,
}

const COLUMNS: &str = "id, scanned_at, bench, udid, serial, name, product_type, model, ios, \
    free_bytes, health_percent, verdict, answers, trust_answers, snapshot";

impl PgStore {
    /// Connects now (and creates or migrates the schema): an error says why at once.
    pub fn connect(target: PgTarget) -> Result<PgStore, HistoryError> {
        let mut store = PgStore::later(target);
        store.client()?;
        Ok(store)
    }

    /// Connects when first used, and again after a lost connection.
    pub fn later(target: PgTarget) -> PgStore {
        PgStore {
            target,
            client: None,
            failed: None,
        }
    }

    fn error(&self, e: &postgres::Error) -> HistoryError {
        HistoryError::Postgres {
            at: self.target.describe(),
            why: classified(e),
        }
    }

    fn client(&mut self) -> Result<&mut Client, HistoryError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            if let Some((at, why)) = &self.failed {
                if at.elapsed() < QUIET_AFTER_FAILURE {
                    return Err(HistoryError::Postgres {
                        at: self.target.describe(),
                        why: why.clone(),
                    });
                }
            }
            let (config, tls) = (&self.target.config, &self.target.tls);
            let client = off_runtime(|| {
                let mut client = match tls {
                    Some(tls) => config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(
                        rustls::ClientConfig::clone(tls),
                    )),
                    None => config.connect(NoTls),
                }
                .map_err(Migration::Sql)?;
                migrate(&mut client)?;
                Ok(client)
            })
            .map_err(|e| match e {
                Migration::Sql(e) => self.error(&e),
                Migration::TooNew => HistoryError::TooNew(self.target.describe()),
            });
            let client = match client {
                Ok(client) => client,
                Err(e) => {
                    if let HistoryError::Postgres { why, .. } = &e {
                        if e.is_unreachable() {
                            self.failed = Some((Instant::now(), why.clone()));
                        }
                    }
                    return Err(e);
                }
            };
            self.failed = None;
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected just above"))
    }

    /// Runs `f` on the connection, mapping its error.
    fn with<T: Send>(
        &mut self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, HistoryError> {
        let client = self.client()?;
        match off_runtime(|| f(client)) {
            Ok(v) => Ok(v),
            Err(e) => Err(self.error(&e)),
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Closing sends the server a goodbye through the client's own runtime.
        if let Some(client) = self.client.take() {
            off_runtime(move || drop(client));
        }
    }
}

/// Runs `f` where the synchronous client may block. The client drives a runtime of its own,
/// which tokio refuses to start on a thread that is already driving one (a history used or
/// dropped inside `block_on` would panic): there, `f` runs on a scoped thread of its own.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|scope| {
        scope
            .spawn(f)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

enum Migration {
    Sql(postgres::Error),
    TooNew,
}

impl From<postgres::Error> for Migration {
    fn from(e: postgres::Error) -> Self {
        Migration::Sql(e)
    }
}

fn migrate(client: &mut Client) -> Result<(), Migration> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('synccheck_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        tx.batch_execute("CREATE TABLE synccheck_schema (version INTEGER NOT NULL)")?;
    }
    let version: Option<i32> = tx
        .query_one("SELECT max(version) FROM synccheck_schema", &[])?
        .get(0);
    let version = version.unwrap_or(0).max(0) as usize;
    if version > MIGRATIONS.len() {
        return Err(Migration::TooNew);
    }
    if version < MIGRATIONS.len() {
        for migration in &MIGRATIONS[version..] {
            tx.batch_execute(migration)?;
        }
        tx.execute("DELETE FROM synccheck_schema", &[])?;
        tx.execute(
            "INSERT INTO synccheck_schema (version) VALUES ($1)",
            &[&(MIGRATIONS.len() as i32)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// PostgreSQL text cannot hold a NUL, which a phone may put in its name: the listing's columns
/// get U+FFFD for it, while the snapshot (bytes) keeps the value exactly.
fn text(value: &Option<String>) -> Option<String> {
    value.as_deref().map(nul_free)
}

/// [`text`] for a value that is always there.
fn nul_free(value: &str) -> String {
    value.replace('\0', "\u{fffd}")
}

/// The client's error with its causes: tokio-postgres's `Display` names only the kind
/// ("db error", "error connecting to server"). A server's message is its first line only.
pub(crate) fn why(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// [`why`], beginning with [`UNREACHABLE`] when the server could not be reached or went away
/// (worth trying again), else with what the server refused.
fn classified(e: &postgres::Error) -> String {
    let gone = match e.code() {
        Some(code) => [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code),
        // No server answer at all: tokio-postgres has no public kind for "could not connect",
        // only a closed connection or an I/O cause.
        // A certificate refused is no outage: it stays refused.
        None if e.to_string().starts_with("error performing TLS handshake") => false,
        None => {
            e.is_closed()
                || std::error::Error::source(e).is_some_and(|c| c.is::<std::io::Error>())
                || e.to_string().starts_with("timeout")
        }
    };
    if gone {
        format!("{UNREACHABLE} ({})", why(e))
    } else {
        why(e)
    }
}

fn record(r: &postgres::Row) -> ScanRecord {
    ScanRecord {
        scanned_at: r.get(1),
        bench: r.get(2),
        udid: r.get(3),
        serial: r.get(4),
        name: r.get(5),
        product_type: r.get(6),
        model: r.get(7),
        ios: r.get(8),
        free_bytes: r.get(9),
        health_percent: r.get(10),
        verdict: r.get(11),
        answers: r.get(12),
        trust_answers: r.get(13),
        snapshot: r.get(14),
    }
}

impl Store for PgStore {
    fn insert(
        &mut self,
        s: &ScanRecord,
        before_commit: &mut (dyn FnMut() + Send),
    ) -> Result<i64, HistoryError> {
        let answers = nul_free(&s.answers);
        self.with(|client| {
            let mut tx = client.transaction()?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO scans (scanned_at, bench, udid, serial, name, product_type, model,
                        ios, free_bytes, health_percent, verdict, answers, trust_answers, snapshot)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                     RETURNING id",
                    &[
                        &s.scanned_at,
                        &text(&s.bench),
                        &text(&s.udid),
                        &text(&s.serial),
                        &text(&s.name),
                        &text(&s.product_type),
                        &text(&s.model),
                        &text(&s.ios),
                        &s.free_bytes,
                        &s.health_percent,
                        &s.verdict,
                        &answers,
                        &s.trust_answers,
                        &s.snapshot,
                    ],
                )?
                .get(0);
            before_commit();
            tx.commit()?;
            Ok(id)
        })
    }

    fn list(&mut self, f: &ListFilter) -> Result<Vec<ScanRow>, HistoryError> {
        let (udid, bench) = (text(&f.udid), text(&f.bench));
        let limit = f.limit.map(i64::from);
        let rows = self.with(|client| {
            client.query(
                "SELECT id, scanned_at, bench, udid, serial, name, model, ios, free_bytes,
                        health_percent, verdict
                 FROM scans
                 WHERE ($1::TEXT IS NULL OR udid = $1) AND ($2::TEXT IS NULL OR bench = $2)
                   AND ($3::BIGINT IS NULL OR scanned_at >= $3)
                 ORDER BY scanned_at DESC, id DESC LIMIT $4",
                &[&udid, &bench, &f.since, &limit],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| ScanRow {
                id: r.get(0),
                scanned_at: r.get(1),
                bench: r.get(2),
                udid: r.get(3),
                serial: r.get(4),
                name: r.get(5),
                model: r.get(6),
                ios: r.get(7),
                free_bytes: r.get::<_, Option<i64>>(8).map(count),
                health_percent: r.get(9),
                verdict: r.get(10),
            })
            .collect())
    }

    fn previous_id(
        &mut self,
        udid: &str,
        before: Option<i64>,
    ) -> Result<Option<i64>, HistoryError> {
        let udid = nul_free(udid);
        let row = self.with(|client| {
            client.query_opt(
                "SELECT id FROM scans WHERE udid = $1 AND ($2::BIGINT IS NULL OR id < $2)
                 ORDER BY id DESC LIMIT 1",
                &[&udid, &before],
            )
        })?;
        Ok(row.map(|r| r.get(0)))
    }

    fn get(&mut self, id: i64) -> Result<Option<ScanRecord>, HistoryError> {
        let row = self.with(|client| {
            client.query_opt(
                &format!("SELECT {COLUMNS} FROM scans WHERE id = $1"),
                &[&id],
            )
        })?;
        Ok(row.as_ref().map(record))
    }

    fn find(&mut self, s: &ScanRecord) -> Result<Option<i64>, HistoryError> {
        let (bench, udid) = (text(&s.bench), text(&s.udid));
        let answers = nul_free(&s.answers);
        let row = self.with(|client| {
            client.query_opt(
                "SELECT id FROM scans WHERE scanned_at = $1
                    AND bench IS NOT DISTINCT FROM $2 AND udid IS NOT DISTINCT FROM $3
                    AND answers = $4 AND snapshot = $5 LIMIT 1",
                &[&s.scanned_at, &bench, &udid, &answers, &s.snapshot],
            )
        })?;
        Ok(row.map(|r| r.get(0)))
    }

    fn ids(&mut self) -> Result<Vec<i64>, HistoryError> {
        let rows = self.with(|client| client.query("SELECT id FROM scans ORDER BY id", &[]))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn insert_rescue(&mut self, r: &Rescue, bench: Option<&str>) -> Result<i64, HistoryError> {
        let bench = text(&bench.map(str::to_owned));
        let (udid, serial, name) = (text(&r.udid), text(&r.serial), text(&r.name));
        let (product_type, model) = (text(&r.product_type), text(&r.model));
        let counts = [r.copied, r.already_there, r.failed, r.bytes].map(stored_count);
        self.with(|client| {
            let mut tx = client.transaction()?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO rescues (rescued_at, bench, udid, serial, name, product_type,
                        model, selection, copied, already_there, failed, bytes, complete)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                     RETURNING id",
                    &[
                        &r.rescued_at,
                        &bench,
                        &udid,
                        &serial,
                        &name,
                        &product_type,
                        &model,
                        &r.selection.as_str(),
                        &counts[0],
                        &counts[1],
                        &counts[2],
                        &counts[3],
                        &r.complete,
                    ],
                )?
                .get(0);
            tx.commit()?;
            Ok(id)
        })
    }

    fn list_rescues(&mut self, f: &ListFilter) -> Result<Vec<RescueRow>, HistoryError> {
        let (udid, bench) = (text(&f.udid), text(&f.bench));
        let limit = f.limit.map(i64::from);
        let rows = self.with(|client| {
            client.query(
                "SELECT id, rescued_at, bench, udid, serial, name, model, selection, copied,
                        already_there, failed, bytes, complete, product_type
                 FROM rescues
                 WHERE ($1::TEXT IS NULL OR udid = $1) AND ($2::TEXT IS NULL OR bench = $2)
                   AND ($3::BIGINT IS NULL OR rescued_at >= $3)
                 ORDER BY rescued_at DESC, id DESC LIMIT $4",
                &[&udid, &bench, &f.since, &limit],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| RescueRow {
                id: r.get(0),
                rescued_at: r.get(1),
                bench: r.get(2),
                udid: r.get(3),
                serial: r.get(4),
                name: r.get(5),
                model: r.get(6),
                selection: RescueSelection::parse(r.get(7)),
                copied: count(r.get(8)),
                already_there: count(r.get(9)),
                failed: count(r.get(10)),
                bytes: count(r.get(11)),
                complete: r.get(12),
                product_type: r.get(13),
            })
            .collect())
    }

    fn find_rescue(
        &mut self,
        r: &Rescue,
        bench: Option<&str>,
    ) -> Result<Option<i64>, HistoryError> {
        let bench = text(&bench.map(str::to_owned));
        let udid = text(&r.udid);
        let counts = [r.copied, r.already_there, r.failed, r.bytes].map(stored_count);
        let row = self.with(|client| {
            client.query_opt(
                "SELECT id FROM rescues WHERE rescued_at = $1
                    AND bench IS NOT DISTINCT FROM $2 AND udid IS NOT DISTINCT FROM $3
                    AND selection = $4 AND copied = $5 AND already_there = $6 AND failed = $7
                    AND bytes = $8 LIMIT 1",
                &[
                    &r.rescued_at,
                    &bench,
                    &udid,
                    &r.selection.as_str(),
                    &counts[0],
                    &counts[1],
                    &counts[2],
                    &counts[3],
                ],
            )
        })?;
        Ok(row.map(|r| r.get(0)))
    }
}
