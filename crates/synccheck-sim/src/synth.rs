//! A synthetic Photos.sqlite for the simulator, built from a [`LibrarySummary`] so that
//! [`synccheck_device::photos_query::summarize`] on the result gives the summary back (see
//! [`expected_summary`] for the few fields that cannot come back as given).
//!
//! What it holds:
//! - `ZASSET` (or `ZGENERICASSET` when `summary.schema` says so, then without `ZBUNDLESCOPE`,
//!   as on iOS 11–13), `ZADDITIONALASSETATTRIBUTES`, `ZINTERNALRESOURCE`, Core Data's
//!   `Z_PRIMARYKEY` and `Z_METADATA`, and the to-one indexes Core Data creates. Column names
//!   are the real ones the query reads plus a few more real ones (kind, dates, dimensions,
//!   UUIDs, made-up file names).
//! - The main library with exactly the summary's counts, bytes and dates, and around it rows
//!   the summary must not count: iCloud-link, shared-album and (for `ZASSET`) Shared-with-You
//!   assets and trashed ones, waiting, failed, quarantined and with originals only in iCloud,
//!   with huge sizes, ancient added dates and future upload attempts, so that any leak changes
//!   a field.
//! - WAL mode with rows only in the `-wal`: the newest main-library assets (mostly the waiting
//!   ones), some excluded rows, and one checkpointed asset whose state changes from waiting
//!   to its final state in the `-wal`. A client that copies only the main file gets fewer
//!   assets and wrong counts.
//!
//! `None` in the summary:
//! - `schema`: `ZASSET`.
//! - `assets`: everything the other counts need plus 500 synced assets.
//! - `waiting`, `failed`, `quarantined`: all three `None` leaves `ZCLOUDLOCALSTATE` out, and
//!   `summarize` then refuses the library as not recognised (it has no upload state); one or
//!   two of them `None` means 0 of that state.
//!
//! [`build_unrecognised`] makes a library in a format `summarize` does not know, for a
//! snapshot whose database was `not-recognised`.
//! - `waiting_bytes`: no `ZORIGINALFILESIZE` column. `waiting_with_failed_attempts`: no
//!   `ZUPLOADATTEMPTS` column. `cloud_only_originals`: no `ZLOCALAVAILABILITY` column.
//! - `oldest_waiting_added`: waiting assets have no `ZADDEDDATE` (NULL).
//!   `last_upload_attempt`: no main-library asset has a `ZLASTUPLOADATTEMPTDATE`.
//!
//! The rest is plausible filler: non-waiting assets get sizes of 1–5 MB and added dates over
//! the three years before the reference date (2025-06-01, or the latest date in the summary).

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use synccheck_core::photos::LibrarySummary;
use synccheck_device::photos_query::to_core_data;

/// The bytes of `Photos.sqlite` and of its `Photos.sqlite-wal`.
#[derive(Clone)]
pub struct SynthLibrary {
    pub main: Vec<u8>,
    pub wal: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("sqlite: {0}")]
    Sqlite(String),
    #[error("i/o: {0}")]
    Io(String),
    /// The summary cannot describe a library (for example more waiting than assets).
    #[error("summary cannot be built: {0}")]
    Inconsistent(String),
}

impl From<rusqlite::Error> for SynthError {
    fn from(e: rusqlite::Error) -> Self {
        SynthError::Sqlite(e.to_string())
    }
}

impl From<std::io::Error> for SynthError {
    fn from(e: std::io::Error) -> Self {
        SynthError::Io(e.to_string())
    }
}

/// 2025-06-01T00:00:00Z: the default "now" of a generated library, so output is repeatable.
const REFERENCE_UNIX: u64 = 1_748_736_000;
/// Synced assets added when `assets` is not given.
const DEFAULT_EXTRA_ASSETS: u64 = 500;
/// Rows that must not be counted: absurd values so a leak shows in every field.
const EXCLUDED_SIZE: i64 = 987_654_321;
const EXCLUDED_ATTEMPTS: i64 = 7;

const ZCLOUDLOCALSTATE_WAITING: i64 = 0;
const ZCLOUDLOCALSTATE_SYNCED: i64 = 1;
const ZCLOUDLOCALSTATE_FAILED: i64 = 2;
const ZCLOUDLOCALSTATE_QUARANTINED: i64 = 4;
/// ZSAVEDASSETTYPE: 3 the device's own library, 4 shared album, 8 iCloud link, 12 Shared with You.
const SAVED_LIBRARY: i64 = 3;
const SAVED_SHARED_ALBUM: i64 = 4;
const SAVED_ICLOUD_LINK: i64 = 8;
const SAVED_SHARED_WITH_YOU: i64 = 12;

/// One asset to write: its final state, and where it is written.
#[derive(Clone)]
struct Asset {
    bundle_scope: i64,
    saved_type: i64,
    trashed: bool,
    state: i64,
    added: Option<f64>,
    size: i64,
    attempts: i64,
    last_attempt: Option<f64>,
    original_in_icloud_only: bool,
    /// Written first as waiting and changed to `state` in the `-wal`.
    state_changes_in_wal: bool,
}

/// The summary made whole: what will be written and what `summarize` will read back.
struct Plan {
    generic: bool,
    /// The asset table's name: ZASSET, ZGENERICASSET, or (for a library in an unknown format)
    /// a name no iOS we know uses.
    asset_table: &'static str,
    /// Asset columns left out, for a library in an unknown format.
    omit: Vec<&'static str>,
    with_state: bool,
    with_size: bool,
    with_attempts: bool,
    with_availability: bool,
    expected: LibrarySummary,
    /// Main-library assets, oldest first.
    library: Vec<Asset>,
    /// How many of the newest `library` assets exist only in the `-wal`.
    wal_only: usize,
    excluded: Vec<Asset>,
}

fn secs(t: SystemTime) -> f64 {
    to_core_data(t)
}

fn inconsistent(why: &str) -> SynthError {
    SynthError::Inconsistent(why.to_string())
}

impl Plan {
    fn new(summary: &LibrarySummary) -> Result<Plan, SynthError> {
        let generic = match summary.schema.as_deref() {
            None | Some("ZASSET") => false,
            Some("ZGENERICASSET") => true,
            Some(other) => return Err(inconsistent(&format!("unknown schema {other}"))),
        };
        let with_state =
            summary.waiting.is_some() || summary.failed.is_some() || summary.quarantined.is_some();
        let waiting = summary.waiting.unwrap_or(0);
        let failed = summary.failed.unwrap_or(0);
        let quarantined = summary.quarantined.unwrap_or(0);
        let cloud_only = summary.cloud_only_originals.unwrap_or(0);
        if !with_state
            && (summary.waiting_bytes.is_some()
                || summary.oldest_waiting_added.is_some()
                || summary.waiting_with_failed_attempts.is_some())
        {
            return Err(inconsistent(
                "waiting details without waiting, failed or quarantined counts",
            ));
        }
        let with_failed = summary.waiting_with_failed_attempts.unwrap_or(0);
        if with_failed > waiting {
            return Err(inconsistent(
                "more waiting with failed attempts than waiting",
            ));
        }
        if waiting == 0
            && (summary.waiting_bytes.unwrap_or(0) > 0 || summary.oldest_waiting_added.is_some())
        {
            return Err(inconsistent("waiting bytes or date with nothing waiting"));
        }
        let needed = [waiting, failed, quarantined, cloud_only]
            .iter()
            .try_fold(0u64, |a, b| a.checked_add(*b))
            .ok_or_else(|| inconsistent("counts overflow"))?;
        let assets = summary.assets.unwrap_or(needed + DEFAULT_EXTRA_ASSETS);
        if assets < needed {
            return Err(inconsistent(
                "fewer assets than waiting, failed, quarantined and cloud-only together",
            ));
        }
        if assets > 50_000_000 {
            return Err(inconsistent("more than 50 million assets"));
        }
        if assets == 0 && summary.last_upload_attempt.is_some() {
            return Err(inconsistent("an upload attempt with no assets"));
        }
        let synced = assets - waiting - failed - quarantined;

        let mut now = UNIX_EPOCH + Duration::from_secs(REFERENCE_UNIX);
        for t in [summary.oldest_waiting_added, summary.last_upload_attempt]
            .into_iter()
            .flatten()
        {
            now = now.max(t);
        }
        let now = secs(now);
        let day = 86_400.0;
        let mut rng = Rng(0x5eed_1234_abcd_0001);

        let mut library = Vec::with_capacity(assets as usize);
        let plain = |state: i64, added: f64, size: i64| Asset {
            bundle_scope: 0,
            saved_type: SAVED_LIBRARY,
            trashed: false,
            state,
            added: Some(added),
            size,
            attempts: 0,
            last_attempt: None,
            original_in_icloud_only: false,
            state_changes_in_wal: false,
        };
        // Synced, failed and quarantined: spread over three years, the cloud-only ones oldest.
        let others = synced + failed + quarantined;
        let start = now - 3.0 * 365.0 * day;
        let step = if others > 0 {
            (3.0 * 365.0 * day - 30.0 * day) / others as f64
        } else {
            0.0
        };
        for i in 0..others {
            let state = if i < synced {
                ZCLOUDLOCALSTATE_SYNCED
            } else if i < synced + failed {
                ZCLOUDLOCALSTATE_FAILED
            } else {
                ZCLOUDLOCALSTATE_QUARANTINED
            };
            let mut a = plain(
                state,
                (start + i as f64 * step).round(),
                1_000_000 + rng.below(4_000_000) as i64,
            );
            a.original_in_icloud_only = i < cloud_only;
            a.attempts = match state {
                ZCLOUDLOCALSTATE_FAILED => 5,
                ZCLOUDLOCALSTATE_QUARANTINED => 3,
                // A few synced assets went up on a later attempt: not counted as waiting.
                _ if i % 13 == 5 => 1,
                _ => 0,
            };
            library.push(a);
        }
        // Waiting: the newest, from the oldest waiting date on, sizes adding up exactly.
        let bytes = summary.waiting_bytes.unwrap_or(0);
        let oldest = summary.oldest_waiting_added.map(secs);
        for j in 0..waiting {
            let added = oldest.map(|o| {
                if j == 0 {
                    o
                } else {
                    let span = (now - o).max(waiting as f64 * 60.0);
                    (o + span * j as f64 / waiting as f64).max(o)
                }
            });
            let size = bytes / waiting + u64::from(j < bytes % waiting);
            let size = i64::try_from(size).map_err(|_| inconsistent("waiting bytes too large"))?;
            let mut a = plain(ZCLOUDLOCALSTATE_WAITING, 0.0, size);
            a.added = added;
            a.attempts = if j < with_failed {
                1 + (j % 3) as i64
            } else {
                0
            };
            library.push(a);
        }
        // Upload attempt dates: every asset with attempts gets one before the last attempt,
        // and the latest such asset gets exactly the last attempt.
        if let Some(last) = summary.last_upload_attempt.map(secs) {
            if !library.iter().any(|a| a.attempts > 0) {
                // Nobody failed: the last attempt was a successful upload of a synced asset,
                // or (nothing synced) one attempt on the newest asset.
                if let Some(a) = library
                    .iter_mut()
                    .rev()
                    .find(|a| a.state == ZCLOUDLOCALSTATE_SYNCED)
                {
                    a.attempts = 1;
                } else if let Some(a) = library.last_mut() {
                    a.attempts = 1;
                }
            }
            let mut remaining = library.iter().filter(|a| a.attempts > 0).count();
            for a in library.iter_mut().filter(|a| a.attempts > 0) {
                remaining -= 1;
                a.last_attempt = Some(last - remaining as f64 * 600.0);
            }
        }
        // With no attempts column the attempt counts above only placed the dates.
        let wal_only = if assets == 0 {
            0
        } else {
            ((assets / 20) as usize).clamp(1, 5000)
        };
        // One checkpointed synced asset was still waiting when the main file was last written.
        if with_state && library.len() > wal_only {
            let checkpointed = library.len() - wal_only;
            if let Some(a) = library[..checkpointed]
                .iter_mut()
                .rev()
                .find(|a| a.state == ZCLOUDLOCALSTATE_SYNCED)
            {
                a.state_changes_in_wal = true;
            }
        }

        let mut excluded = Vec::new();
        let ancient = now - 20.0 * 365.0 * day;
        let future = now + 365.0 * day;
        let mut kinds: Vec<(i64, i64, bool)> = vec![
            (1, SAVED_ICLOUD_LINK, false),
            (2, SAVED_SHARED_ALBUM, false),
            (0, SAVED_LIBRARY, true),
        ];
        if !generic {
            kinds.push((3, SAVED_SHARED_WITH_YOU, false));
        }
        for (scope, saved_type, trashed) in kinds {
            for (k, state) in [
                ZCLOUDLOCALSTATE_WAITING,
                ZCLOUDLOCALSTATE_FAILED,
                ZCLOUDLOCALSTATE_QUARANTINED,
                ZCLOUDLOCALSTATE_SYNCED,
            ]
            .into_iter()
            .enumerate()
            {
                excluded.push(Asset {
                    bundle_scope: scope,
                    saved_type,
                    trashed,
                    state,
                    added: Some(ancient + k as f64 * day),
                    size: EXCLUDED_SIZE,
                    attempts: EXCLUDED_ATTEMPTS,
                    last_attempt: Some(future + k as f64 * day),
                    original_in_icloud_only: true,
                    state_changes_in_wal: false,
                });
            }
        }

        let expected = LibrarySummary {
            schema: Some(if generic { "ZGENERICASSET" } else { "ZASSET" }.to_string()),
            assets: Some(assets),
            waiting: with_state.then_some(waiting),
            waiting_bytes: summary.waiting_bytes,
            oldest_waiting_added: summary
                .oldest_waiting_added
                .and_then(|t| synccheck_device::photos_query::from_core_data(secs(t))),
            waiting_with_failed_attempts: summary.waiting_with_failed_attempts,
            last_upload_attempt: summary
                .last_upload_attempt
                .and_then(|t| synccheck_device::photos_query::from_core_data(secs(t))),
            failed: with_state.then_some(failed),
            quarantined: with_state.then_some(quarantined),
            cloud_only_originals: summary.cloud_only_originals,
        };
        Ok(Plan {
            generic,
            asset_table: if generic { "ZGENERICASSET" } else { "ZASSET" },
            omit: Vec::new(),
            with_state,
            with_size: summary.waiting_bytes.is_some(),
            with_attempts: summary.waiting_with_failed_attempts.is_some(),
            with_availability: summary.cloud_only_originals.is_some(),
            expected,
            library,
            wal_only,
            excluded,
        })
    }
}

/// A small deterministic generator (xorshift64*): filler values, repeatable output.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// What [`synccheck_device::photos_query::summarize`] gives for the library [`build`] makes from
/// `summary`: the summary itself, with `schema` and `assets` filled in, a lone `None` among
/// waiting/failed/quarantined read as 0, and dates rounded to the microsecond.
pub fn expected_summary(summary: &LibrarySummary) -> Result<LibrarySummary, SynthError> {
    Ok(Plan::new(summary)?.expected)
}

/// Entity numbers in `Z_PRIMARYKEY` (they vary between iOS releases; these are plausible).
const ENT_ATTRIBUTES: i64 = 1;
const ENT_ASSET: i64 = 3;
const ENT_RESOURCE: i64 = 44;

pub fn build(summary: &LibrarySummary) -> Result<SynthLibrary, SynthError> {
    build_plan(Plan::new(summary)?)
}

/// A small library whose summary takes minutes: the upload state is a generated column over
/// an expression of 2^14 terms (about 100 KB of schema), computed anew for each of 200,000
/// rows. Sound SQLite, a recognised schema: only the time it costs is hostile. For the
/// simulator's `slow-db` fault and the tests of the summary's deadline.
pub fn build_pathological() -> Result<Vec<u8>, SynthError> {
    fn terms(level: u32) -> String {
        match level {
            0 => "ZX".into(),
            n => format!("({}+{})", terms(n - 1), terms(n - 1)),
        }
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("Photos.sqlite");
    let conn = Connection::open(&path)?;
    // The column comes after the rows: SQLite would compute it for each row inserted.
    conn.execute_batch(&format!(
        "CREATE TABLE ZASSET(Z_PK INTEGER PRIMARY KEY, ZX INTEGER, \
           ZTRASHEDSTATE INTEGER, ZBUNDLESCOPE INTEGER);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
         INSERT INTO ZASSET(ZX) SELECT NULL FROM n;
         ALTER TABLE ZASSET ADD COLUMN ZCLOUDLOCALSTATE INTEGER AS ({} % 3) VIRTUAL;",
        terms(14)
    ))?;
    drop(conn);
    Ok(std::fs::read(&path)?)
}

/// The asset table of a library whose format no iOS we know has.
const UNKNOWN_ASSET_TABLE: &str = "ZASSETRECORD";

/// A library that [`synccheck_device::photos_query::summarize`] finds not recognised, as a snapshot's
/// `not-recognised` database describes it: `schema` the asset table (ZASSET or ZGENERICASSET;
/// anything else is an unknown table), `missing` what it lacks (`TABLE.COLUMN`). Only the
/// needed columns we know are left out (names from the snapshot never reach SQL); when none
/// of them is named, the asset table gets a name no iOS uses, so the result is still refused.
pub fn build_unrecognised(
    schema: Option<&str>,
    missing: &[String],
) -> Result<SynthLibrary, SynthError> {
    let column = |m: &String| m.rsplit_once('.').map_or(m.clone(), |(_, c)| c.to_string());
    let mut omit: Vec<&'static str> = Vec::new();
    for m in missing.iter().map(column) {
        match m.as_str() {
            "ZCLOUDLOCALSTATE" => omit.push("ZCLOUDLOCALSTATE"),
            "ZTRASHEDSTATE" => omit.push("ZTRASHEDSTATE"),
            "ZBUNDLESCOPE or ZSAVEDASSETTYPE" => omit.extend(["ZBUNDLESCOPE", "ZSAVEDASSETTYPE"]),
            _ => {}
        }
    }
    let known = matches!(schema, Some("ZASSET") | Some("ZGENERICASSET"));
    let with_state = !omit.contains(&"ZCLOUDLOCALSTATE");
    let summary = LibrarySummary {
        schema: schema.filter(|_| known).map(str::to_owned),
        assets: Some(120),
        waiting: with_state.then_some(12),
        failed: with_state.then_some(0),
        quarantined: with_state.then_some(0),
        ..LibrarySummary::default()
    };
    let mut plan = Plan::new(&summary)?;
    if !known || omit.is_empty() {
        plan.asset_table = UNKNOWN_ASSET_TABLE;
    }
    plan.omit = omit;
    build_plan(plan)
}

fn build_plan(plan: Plan) -> Result<SynthLibrary, SynthError> {
    let (main, wal) = write_plan(plan, None, |path| Ok(std::fs::read(path)?))?;
    Ok(SynthLibrary { main, wal })
}

/// Builds a library at realistic scale (see [`crate::synth_realistic`]): the summary's library
/// with the media-analysis tables around it, its main file kept as deduplicated pages.
pub fn build_realistic(
    summary: &LibrarySummary,
) -> Result<crate::synth_realistic::LazyLibrary, SynthError> {
    let mut analysis = crate::synth_realistic::Analysis::new();
    let (main, wal) = write_plan(
        Plan::new(summary)?,
        Some(&mut analysis),
        crate::paged::PagedFile::from_path,
    )?;
    Ok(crate::synth_realistic::LazyLibrary { main, wal })
}

/// [`build_realistic`], and the main file as SQLite wrote it, to hold the pages to.
#[cfg(test)]
pub(crate) fn build_realistic_and_copy(
    summary: &LibrarySummary,
) -> Result<(crate::synth_realistic::LazyLibrary, Vec<u8>), SynthError> {
    let mut analysis = crate::synth_realistic::Analysis::new();
    let ((main, written), wal) = write_plan(Plan::new(summary)?, Some(&mut analysis), |path| {
        Ok((
            crate::paged::PagedFile::from_path(path)?,
            std::fs::read(path)?,
        ))
    })?;
    Ok((crate::synth_realistic::LazyLibrary { main, wal }, written))
}

/// Writes the plan's library, with `analysis` rows after each asset of the main file when
/// given, and hands back what `read_main` makes of the main file (read while the connection
/// is still open) and the bytes of the `-wal`.
fn write_plan<T>(
    plan: Plan,
    mut analysis: Option<&mut crate::synth_realistic::Analysis>,
    read_main: impl FnOnce(&std::path::Path) -> Result<T, SynthError>,
) -> Result<(T, Vec<u8>), SynthError> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(synccheck_device::photos_query::MAIN_FILE);
    let wal_path = dir.path().join(synccheck_device::photos_query::WAL_FILE);
    let mut conn = Connection::open(&path)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(SynthError::Sqlite(format!(
            "journal_mode is {mode}, not wal"
        )));
    }
    // No automatic checkpoint: what we write after the explicit checkpoint below stays in the
    // -wal. No fsync: this is a scratch file.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "synchronous", "OFF")?;

    let table = plan.asset_table;
    let asset_cols: Columns = [
        Some(("Z_PK", "INTEGER PRIMARY KEY")),
        Some(("Z_ENT", "INTEGER")),
        Some(("Z_OPT", "INTEGER")),
        Some(("ZKIND", "INTEGER")),
        Some(("ZKINDSUBTYPE", "INTEGER")),
        (!plan.generic).then_some(("ZBUNDLESCOPE", "INTEGER")),
        plan.with_state.then_some(("ZCLOUDLOCALSTATE", "INTEGER")),
        Some(("ZSAVEDASSETTYPE", "INTEGER")),
        Some(("ZTRASHEDSTATE", "INTEGER")),
        Some(("ZVISIBILITYSTATE", "INTEGER")),
        Some(("ZHIDDEN", "INTEGER")),
        Some(("ZHEIGHT", "INTEGER")),
        Some(("ZWIDTH", "INTEGER")),
        Some(("ZADDITIONALATTRIBUTES", "INTEGER")),
        Some(("ZMASTER", "INTEGER")),
        Some(("ZADDEDDATE", "TIMESTAMP")),
        Some(("ZDATECREATED", "TIMESTAMP")),
        Some(("ZMODIFICATIONDATE", "TIMESTAMP")),
        Some(("ZTRASHEDDATE", "TIMESTAMP")),
        Some(("ZDIRECTORY", "VARCHAR")),
        Some(("ZFILENAME", "VARCHAR")),
        Some(("ZUUID", "VARCHAR")),
        Some(("ZCLOUDASSETGUID", "VARCHAR")),
    ]
    .into_iter()
    .flatten()
    .filter(|(c, _)| !plan.omit.contains(c))
    .collect();
    let attr_cols: Columns = [
        Some(("Z_PK", "INTEGER PRIMARY KEY")),
        Some(("Z_ENT", "INTEGER")),
        Some(("Z_OPT", "INTEGER")),
        Some(("ZASSET", "INTEGER")),
        plan.with_size.then_some(("ZORIGINALFILESIZE", "INTEGER")),
        Some(("ZORIGINALHEIGHT", "INTEGER")),
        Some(("ZORIGINALWIDTH", "INTEGER")),
        Some(("ZTIMEZONEOFFSET", "INTEGER")),
        plan.with_attempts.then_some(("ZUPLOADATTEMPTS", "INTEGER")),
        Some(("ZLASTUPLOADATTEMPTDATE", "TIMESTAMP")),
        Some(("ZORIGINALFILENAME", "VARCHAR")),
        Some(("ZTIMEZONENAME", "VARCHAR")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let resource_cols: Columns = [
        Some(("Z_PK", "INTEGER PRIMARY KEY")),
        Some(("Z_ENT", "INTEGER")),
        Some(("Z_OPT", "INTEGER")),
        Some(("ZASSET", "INTEGER")),
        Some(("ZCLOUDLOCALSTATE", "INTEGER")),
        Some(("ZDATASTORESUBTYPE", "INTEGER")),
        plan.with_availability
            .then_some(("ZLOCALAVAILABILITY", "INTEGER")),
        Some(("ZREMOTEAVAILABILITY", "INTEGER")),
        Some(("ZRESOURCETYPE", "INTEGER")),
        Some(("ZTRASHEDSTATE", "INTEGER")),
        Some(("ZDATALENGTH", "INTEGER")),
        Some(("ZRECIPEID", "INTEGER")),
        Some(("ZFINGERPRINT", "VARCHAR")),
    ]
    .into_iter()
    .flatten()
    .collect();

    let create = |name: &str, cols: &[(&str, &str)]| {
        format!(
            "CREATE TABLE {name} ( {} );",
            cols.iter()
                .map(|(c, t)| format!("{c} {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let insert = |name: &str, cols: &[(&str, &str)]| {
        format!(
            "INSERT INTO {name} ({}) VALUES ({})",
            cols.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", "),
            vec!["?"; cols.len()].join(", ")
        )
    };
    conn.execute_batch(&format!(
        "CREATE TABLE Z_PRIMARYKEY (Z_ENT INTEGER PRIMARY KEY, Z_NAME VARCHAR, Z_SUPER INTEGER, Z_MAX INTEGER);
         CREATE TABLE Z_METADATA (Z_VERSION INTEGER PRIMARY KEY, Z_UUID VARCHAR(255), Z_PLIST BLOB);
         {}
         {}
         {}
         CREATE INDEX {table}_ZADDITIONALATTRIBUTES_INDEX ON {table} (ZADDITIONALATTRIBUTES);
         CREATE INDEX ZADDITIONALASSETATTRIBUTES_ZASSET_INDEX ON ZADDITIONALASSETATTRIBUTES (ZASSET);
         CREATE INDEX ZINTERNALRESOURCE_ZASSET_INDEX ON ZINTERNALRESOURCE (ZASSET);
         INSERT INTO Z_METADATA VALUES (1, '6A2E1D6C-3F1B-4C52-9E0B-5D1B7E1E0F11', NULL);
         INSERT INTO Z_PRIMARYKEY VALUES ({ENT_ATTRIBUTES}, 'AdditionalAssetAttributes', 0, 0),
             ({ENT_ASSET}, 'Asset', 0, 0), ({ENT_RESOURCE}, 'InternalResource', 0, 0);",
        create(table, &asset_cols),
        create("ZADDITIONALASSETATTRIBUTES", &attr_cols),
        create("ZINTERNALRESOURCE", &resource_cols),
    ))?;
    if let Some(analysis) = analysis.as_deref_mut() {
        analysis.create(&conn, table)?;
    }

    let sql = [
        insert(table, &asset_cols),
        insert("ZADDITIONALASSETATTRIBUTES", &attr_cols),
        insert("ZINTERNALRESOURCE", &resource_cols),
    ];
    let mut writer = Writer {
        asset_cols,
        attr_cols,
        resource_cols,
        next_asset: 0,
        next_resource: 0,
        rng: Rng(0x0dd_ba11_cafe_f00d),
    };

    // Phase 1, checkpointed into the main file: half the excluded rows and all but the newest
    // main-library assets.
    let split = plan.library.len() - plan.wal_only;
    let (excluded_main, excluded_wal): (Vec<_>, Vec<_>) = plan
        .excluded
        .iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let mut changed_in_wal = Vec::new();
    {
        let tx = conn.transaction()?;
        {
            let mut stmts = [
                tx.prepare(&sql[0])?,
                tx.prepare(&sql[1])?,
                tx.prepare(&sql[2])?,
            ];
            for (_, a) in &excluded_main {
                let pk = writer.write(&mut stmts, a)?;
                if let Some(analysis) = analysis.as_deref_mut() {
                    analysis.asset_details(&tx, pk, a.added)?;
                    analysis.write(&tx, pk, a.added)?;
                }
            }
            for a in &plan.library[..split] {
                let pk = writer.write(&mut stmts, a)?;
                if let Some(analysis) = analysis.as_deref_mut() {
                    analysis.asset_details(&tx, pk, a.added)?;
                    analysis.write(&tx, pk, a.added)?;
                }
                if a.state_changes_in_wal {
                    changed_in_wal.push((pk, a.state));
                }
            }
        }
        set_max(&tx, &writer)?;
        if let Some(analysis) = analysis.as_deref_mut() {
            analysis.set_max(&tx)?;
        }
        tx.commit()?;
    }
    let (busy, _, _): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 {
        return Err(SynthError::Sqlite("checkpoint did not complete".into()));
    }

    // Phase 2, only in the -wal: the newest assets, the other excluded rows, state changes.
    {
        let tx = conn.transaction()?;
        {
            let mut stmts = [
                tx.prepare(&sql[0])?,
                tx.prepare(&sql[1])?,
                tx.prepare(&sql[2])?,
            ];
            // Not yet analysed: new assets get their analysis rows later (see synth_realistic).
            for (_, a) in excluded_wal
                .iter()
                .copied()
                .chain(plan.library[split..].iter().enumerate())
            {
                let pk = writer.write(&mut stmts, a)?;
                if let Some(analysis) = analysis.as_deref_mut() {
                    analysis.asset_details(&tx, pk, a.added)?;
                }
            }
        }
        for (pk, state) in &changed_in_wal {
            tx.execute(
                &format!(
                    "UPDATE {table} SET ZCLOUDLOCALSTATE = ?1, Z_OPT = Z_OPT + 1 WHERE Z_PK = ?2"
                ),
                (state, pk),
            )?;
            tx.execute(
                "UPDATE ZINTERNALRESOURCE SET ZCLOUDLOCALSTATE = 1, ZREMOTEAVAILABILITY = 1 WHERE ZASSET = ?1",
                [pk],
            )?;
        }
        set_max(&tx, &writer)?;
        tx.commit()?;
    }

    // Read both files while the connection is open: closing it would checkpoint the -wal
    // into the main file and delete it.
    let main = read_main(&path)?;
    let wal = std::fs::read(&wal_path)?;
    drop(conn);
    Ok((main, wal))
}

fn set_max(conn: &Connection, w: &Writer) -> Result<(), SynthError> {
    conn.execute(
        "UPDATE Z_PRIMARYKEY SET Z_MAX = CASE Z_ENT WHEN ?1 THEN ?3 WHEN ?2 THEN ?4 ELSE ?4 END",
        (ENT_RESOURCE, ENT_ASSET, w.next_resource, w.next_asset),
    )?;
    Ok(())
}

type Columns = Vec<(&'static str, &'static str)>;

struct Writer {
    asset_cols: Columns,
    attr_cols: Columns,
    resource_cols: Columns,
    next_asset: i64,
    next_resource: i64,
    rng: Rng,
}

impl Writer {
    /// Writes one asset with its attributes and resources; returns its Z_PK.
    fn write(
        &mut self,
        stmts: &mut [rusqlite::Statement<'_>; 3],
        a: &Asset,
    ) -> Result<i64, SynthError> {
        self.next_asset += 1;
        let pk = self.next_asset;
        let video = pk % 10 == 0;
        let (w, h) = if video { (1920, 1080) } else { (4032, 3024) };
        let name = format!(
            "IMG_{:04}.{}",
            pk % 10_000,
            if video { "MOV" } else { "HEIC" }
        );
        let uuid = format!(
            "{:08X}-{:04X}-4{:03X}-8{:03X}-{:012X}",
            pk,
            self.rng.below(0x10000),
            self.rng.below(0x1000),
            self.rng.below(0x1000),
            self.rng.below(1 << 48)
        );
        let state = if a.state_changes_in_wal {
            ZCLOUDLOCALSTATE_WAITING
        } else {
            a.state
        };
        let real = |f: Option<f64>| f.map_or(Value::Null, Value::Real);
        let created = a.added.map(|t| t - 3600.0);
        let mut values = Vec::with_capacity(self.asset_cols.len());
        for (c, _) in &self.asset_cols {
            values.push(match *c {
                "Z_PK" | "ZADDITIONALATTRIBUTES" => Value::Integer(pk),
                "Z_ENT" => Value::Integer(ENT_ASSET),
                "Z_OPT" => Value::Integer(1),
                "ZKIND" => Value::Integer(i64::from(video)),
                // Every third photo a Live Photo (2), whose video the phone keeps beside it.
                "ZKINDSUBTYPE" => Value::Integer(if !video && pk % 3 == 1 { 2 } else { 0 }),
                // Some hidden (Photos' Hidden album): still the user's library.
                "ZHIDDEN" => Value::Integer(i64::from(pk % 7 == 2)),
                "ZBUNDLESCOPE" => Value::Integer(a.bundle_scope),
                "ZCLOUDLOCALSTATE" => Value::Integer(state),
                "ZSAVEDASSETTYPE" => Value::Integer(a.saved_type),
                "ZTRASHEDSTATE" => Value::Integer(i64::from(a.trashed)),
                "ZVISIBILITYSTATE" => Value::Integer(0),
                "ZWIDTH" => Value::Integer(w),
                "ZHEIGHT" => Value::Integer(h),
                "ZADDEDDATE" => real(a.added),
                "ZDATECREATED" | "ZMODIFICATIONDATE" => real(created),
                "ZTRASHEDDATE" => real(a.trashed.then(|| a.added.unwrap_or(0.0) + 60.0)),
                "ZDIRECTORY" => Value::Text(format!("DCIM/{}APPLE", 100 + pk / 1000)),
                "ZFILENAME" => Value::Text(name.clone()),
                "ZUUID" => Value::Text(uuid.clone()),
                "ZCLOUDASSETGUID" => {
                    if state == ZCLOUDLOCALSTATE_SYNCED {
                        Value::Text(uuid.clone())
                    } else {
                        Value::Null
                    }
                }
                _ => Value::Null,
            });
        }
        stmts[0].execute(params_from_iter(values.iter()))?;

        values.clear();
        for (c, _) in &self.attr_cols {
            values.push(match *c {
                "Z_PK" | "ZASSET" => Value::Integer(pk),
                "Z_ENT" => Value::Integer(ENT_ATTRIBUTES),
                "Z_OPT" => Value::Integer(1),
                "ZORIGINALFILESIZE" => Value::Integer(a.size),
                "ZORIGINALWIDTH" => Value::Integer(w),
                "ZORIGINALHEIGHT" => Value::Integer(h),
                "ZTIMEZONEOFFSET" => Value::Integer(3600),
                "ZUPLOADATTEMPTS" => Value::Integer(a.attempts),
                "ZLASTUPLOADATTEMPTDATE" => real(a.last_attempt),
                "ZORIGINALFILENAME" => Value::Text(name.clone()),
                "ZTIMEZONENAME" => Value::Text("GMT+0100".into()),
                _ => Value::Null,
            });
        }
        stmts[1].execute(params_from_iter(values.iter()))?;

        // The original (data store subtype 1), and a large thumbnail (subtype 3) that is now
        // and then not on the device either: only originals count as cloud-only.
        let synced = state == ZCLOUDLOCALSTATE_SYNCED;
        let resources = [
            (1, if a.original_in_icloud_only { -1 } else { 1 }, a.size),
            (3, if pk % 7 == 3 { -1 } else { 1 }, 350_000),
        ];
        for (subtype, local, length) in resources {
            self.next_resource += 1;
            values.clear();
            for (c, _) in &self.resource_cols {
                values.push(match *c {
                    "Z_PK" => Value::Integer(self.next_resource),
                    "Z_ENT" => Value::Integer(ENT_RESOURCE),
                    "Z_OPT" => Value::Integer(1),
                    "ZASSET" => Value::Integer(pk),
                    "ZCLOUDLOCALSTATE" => Value::Integer(i64::from(synced)),
                    "ZDATASTORESUBTYPE" => Value::Integer(subtype),
                    "ZLOCALAVAILABILITY" => Value::Integer(local),
                    "ZREMOTEAVAILABILITY" => Value::Integer(i64::from(synced)),
                    "ZRESOURCETYPE" => Value::Integer(i64::from(video)),
                    "ZTRASHEDSTATE" => Value::Integer(0),
                    "ZDATALENGTH" => Value::Integer(length),
                    "ZRECIPEID" => Value::Integer(if subtype == 1 { 0 } else { 65_739 }),
                    "ZFINGERPRINT" => Value::Text(format!("A{:015x}{subtype}", pk)),
                    _ => Value::Null,
                });
            }
            stmts[2].execute(params_from_iter(values.iter()))?;
        }
        Ok(pk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synccheck_device::photos_query::{summarize, MAIN_FILE, WAL_FILE};

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    fn write(lib: &SynthLibrary, with_wal: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MAIN_FILE), &lib.main).unwrap();
        if with_wal {
            std::fs::write(dir.path().join(WAL_FILE), &lib.wal).unwrap();
        }
        dir
    }

    #[test]
    fn builds_what_summarize_reads_back() {
        let s = LibrarySummary {
            schema: Some("ZASSET".into()),
            assets: Some(300),
            waiting: Some(40),
            waiting_bytes: Some(123_456_789),
            oldest_waiting_added: Some(at(1_735_000_000)),
            waiting_with_failed_attempts: Some(7),
            last_upload_attempt: Some(at(1_748_000_000)),
            failed: Some(3),
            quarantined: Some(2),
            cloud_only_originals: Some(100),
        };
        let lib = build(&s).unwrap();
        assert!(!lib.wal.is_empty());
        let dir = write(&lib, true);
        assert_eq!(summarize(dir.path()).unwrap(), s);
        assert_eq!(expected_summary(&s).unwrap(), s);
    }

    #[test]
    fn none_fields_come_back_none_or_as_documented() {
        let s = LibrarySummary {
            schema: None,
            assets: None,
            waiting: Some(5),
            ..LibrarySummary::default()
        };
        let expected = expected_summary(&s).unwrap();
        assert_eq!(expected.schema.as_deref(), Some("ZASSET"));
        assert_eq!(expected.assets, Some(5 + DEFAULT_EXTRA_ASSETS));
        assert_eq!(expected.failed, Some(0));
        assert_eq!(expected.waiting_bytes, None);
        let dir = write(&build(&s).unwrap(), true);
        assert_eq!(summarize(dir.path()).unwrap(), expected);
    }

    #[test]
    fn refuses_impossible_summaries() {
        let bad = [
            LibrarySummary {
                assets: Some(3),
                waiting: Some(4),
                ..Default::default()
            },
            LibrarySummary {
                waiting: Some(1),
                waiting_with_failed_attempts: Some(2),
                ..Default::default()
            },
            LibrarySummary {
                waiting: Some(0),
                waiting_bytes: Some(10),
                ..Default::default()
            },
            LibrarySummary {
                schema: Some("ZPHOTO".into()),
                ..Default::default()
            },
        ];
        for s in bad {
            assert!(
                matches!(build(&s), Err(SynthError::Inconsistent(_))),
                "{s:?}"
            );
        }
    }

    #[test]
    fn an_empty_library_still_has_a_wal() {
        let s = LibrarySummary {
            schema: Some("ZGENERICASSET".into()),
            assets: Some(0),
            waiting: Some(0),
            waiting_bytes: Some(0),
            waiting_with_failed_attempts: Some(0),
            failed: Some(0),
            quarantined: Some(0),
            cloud_only_originals: Some(0),
            ..Default::default()
        };
        let lib = build(&s).unwrap();
        assert!(!lib.wal.is_empty());
        assert_eq!(summarize(write(&lib, true).path()).unwrap(), s);
    }

    #[test]
    fn unrecognised_libraries_lack_what_they_say() {
        use synccheck_device::photos_query::LibraryError;
        let cases: [(Option<&str>, Vec<String>, Vec<String>); 4] = [
            (
                Some("ZASSET"),
                vec!["ZASSET.ZCLOUDLOCALSTATE".into()],
                vec!["ZASSET.ZCLOUDLOCALSTATE".into()],
            ),
            (
                Some("ZGENERICASSET"),
                vec![
                    "ZGENERICASSET.ZTRASHEDSTATE".into(),
                    "ZGENERICASSET.ZBUNDLESCOPE or ZSAVEDASSETTYPE".into(),
                ],
                vec![
                    "ZGENERICASSET.ZTRASHEDSTATE".into(),
                    "ZGENERICASSET.ZBUNDLESCOPE or ZSAVEDASSETTYPE".into(),
                ],
            ),
            (
                None,
                vec!["ZASSET or ZGENERICASSET".into()],
                vec!["ZASSET or ZGENERICASSET".into()],
            ),
            // Nothing we know how to leave out: the table gets a name no iOS uses.
            (
                Some("ZASSET"),
                vec!["ZASSET'; DROP TABLE x; --".into()],
                vec!["ZASSET or ZGENERICASSET".into()],
            ),
        ];
        for (schema, missing, expected) in cases {
            let lib = build_unrecognised(schema, &missing).unwrap();
            match summarize(write(&lib, true).path()) {
                Err(LibraryError::NotRecognised { missing: got, .. }) => {
                    assert_eq!(got, expected, "{schema:?} {missing:?}")
                }
                other => panic!("{schema:?} {missing:?}: {other:?}"),
            }
        }
    }
}
