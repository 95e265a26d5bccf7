//! Photo-sync facts from the iCloud Photos engine's own files (the snapshot's `PhotoLibrary`).
//!
//! The phone writes these files for itself, so their formats are not a public contract: every
//! value is optional, a file the phone refused is unknown (never "off"), and a file that does
//! not parse is unknown too, not an error that would sink the rest of the report.

use std::collections::BTreeMap;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Refusal;
use crate::photos::{self, DatabaseRead, FileRead, LibrarySummary, PhotoLibrary};

/// How a state file came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    Present,
    NotFound,
    PermissionDenied,
    Failed,
    /// Present, but not in the format we know: treated as unknown.
    Unparsable,
}

impl FileState {
    pub fn describe(self) -> &'static str {
        match self {
            FileState::Present => "present",
            FileState::NotFound => "not found",
            FileState::PermissionDenied => "permission denied (unknown)",
            FileState::Failed => "could not be read (unknown)",
            FileState::Unparsable => "not in a known format (unknown)",
        }
    }
}

/// `PhotoData/CPL/syncstatus.plist`, key by key. The keys are Apple's (CPLStatus); their value
/// types are unverified, so a flag may be a boolean or 0/1 and a date a date or seconds since 2001.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EngineStatus {
    pub last_sync: Option<DateTime<Utc>>,
    pub library_exists: Option<bool>,
    pub exceeding_quota: Option<bool>,
    pub exceeding_shared_library_quota: Option<bool>,
    pub not_authenticated: Option<bool>,
    pub connected_to_network: Option<bool>,
    pub cellular_restricted: Option<bool>,
    pub airplane_mode: Option<bool>,
    pub low_disk_space: Option<bool>,
    pub very_low_disk_space: Option<bool>,
    pub low_battery: Option<bool>,
    pub blocked_by_low_power_mode: Option<bool>,
    pub constrained_network: Option<bool>,
    pub poor_network_quality: Option<bool>,
    pub thermal_pressure: Option<bool>,
    pub has_changes_to_process: Option<bool>,
    pub blocked_reason: Option<String>,
    /// Set while the engine switches iCloud Photos off and deletes its local state.
    pub exit_delete_time: Option<DateTime<Utc>>,
    /// The iCloud Photos server refused this iOS as too old for the library (the engine sets it
    /// on the server's "client is too old" error).
    pub client_version_too_old: Option<bool>,
    /// The engine found the library's main scope wiped on the server (deleted from iCloud).
    pub library_wiped: Option<bool>,
    /// `busyState`, an integer; 2 is what `CPLStatus` calls "blocked by snapshot". Other values
    /// are not documented anywhere we know of.
    pub busy_state: Option<i64>,
    /// Sync held while the engine captures a snapshot: `busyState` 2, or an
    /// `isBlockedBySnapshot` flag should a file carry one (CPLStatus derives it, not stores it).
    pub blocked_by_snapshot: Option<bool>,
    /// When the first full sync with iCloud finished (`initialSyncDate`).
    pub initial_sync: Option<DateTime<Utc>>,
    /// What iCloud holds, per type (UTI), as the server last told the engine
    /// (`cloudAssetCountPerType`); the engine itself sums them for its total.
    pub cloud_asset_counts: Option<BTreeMap<String, u64>>,
    /// When the engine last asked the server for those counts.
    pub cloud_asset_counts_checked: Option<DateTime<Utc>>,
    /// Keys present with a value we cannot read: those facts are unknown, and this says why.
    /// The same refusals as the lockdown values' (keys under `PhotoData/CPL/syncstatus.plist/`),
    /// so they are also the report's warnings.
    pub refused: Vec<Refusal>,
}

impl EngineStatus {
    /// The total iCloud holds across types, as the engine counts it.
    pub fn cloud_asset_total(&self) -> Option<u64> {
        self.cloud_asset_counts
            .as_ref()?
            .values()
            .try_fold(0u64, |sum, n| sum.checked_add(*n))
    }

    /// Why `key` (of the status file) is unknown, when its value was refused.
    pub fn refusal(&self, key: &str) -> Option<&Refusal> {
        self.refused
            .iter()
            .find(|r| status_key(&r.key) == Some(key))
    }
}

/// The plist key behind each engine flag, for evidence lines.
pub mod keys {
    pub const LAST_SYNC: &str = "lastSyncDate";
    pub const LIBRARY_EXISTS: &str = "iCloudLibraryExists";
    pub const EXCEEDING_QUOTA: &str = "isExceedingQuota";
    pub const EXCEEDING_SHARED_QUOTA: &str = "isExceedingSharedLibraryQuota";
    pub const NOT_AUTHENTICATED: &str = "iCloudLibraryClientIsNotAuthenticated";
    pub const CONNECTED: &str = "connectedToNetwork";
    pub const CELLULAR_RESTRICTED: &str = "cellularIsRestricted";
    pub const AIRPLANE: &str = "inAirplaneMode";
    pub const LOW_DISK: &str = "lowDiskSpace";
    pub const VERY_LOW_DISK: &str = "veryLowDiskSpace";
    pub const LOW_BATTERY: &str = "lowBatteryLevel";
    pub const LOW_POWER_MODE: &str = "isBlockedByLowPowerModeKey";
    pub const CONSTRAINED: &str = "constrainedNetwork";
    pub const POOR_NETWORK: &str = "poorNetworkQuality";
    pub const THERMAL: &str = "thermalPressure";
    pub const HAS_CHANGES: &str = "hasChangesToProcess";
    pub const BLOCKED_REASON: &str = "blockedReason";
    pub const EXIT_DELETE: &str = "exitDeleteTime";
    pub const CLIENT_TOO_OLD: &str = "iCloudLibraryClientVersionTooOld";
    pub const LIBRARY_WIPED: &str = "iCloudLibraryHasBeenWiped";
    pub const BUSY_STATE: &str = "busyState";
    pub const BLOCKED_BY_SNAPSHOT: &str = "isBlockedBySnapshot";
    pub const INITIAL_SYNC_DATE: &str = "initialSyncDate";
    pub const CLOUD_ASSET_COUNTS: &str = "cloudAssetCountPerType";
    pub const CLOUD_ASSET_COUNTS_CHECKED: &str = "cloudAssetCountPerTypeLastCheckDate";
    pub const PAUSE_REASON: &str = "reason";
    pub const PAUSE_UNTIL: &str = "unpauseTime";
    pub const PREFETCH_MODE: &str = "Library.CPL.PrefetchMode";
}

/// The library database, summarised, or why it was not.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum LibraryFacts {
    Read(LibraryCounts),
    NotRead {
        reason: String,
    },
    /// Photos.sqlite was there and sound, but in a format we do not know (a future iOS, or an
    /// iOS older than any we know): `missing` names the table or columns it lacks.
    NotRecognised {
        schema: Option<String>,
        missing: Vec<String>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LibraryCounts {
    pub schema: Option<String>,
    pub assets: Option<u64>,
    pub waiting: Option<u64>,
    pub waiting_bytes: Option<u64>,
    pub oldest_waiting_added: Option<DateTime<Utc>>,
    pub waiting_with_failed_attempts: Option<u64>,
    pub last_upload_attempt: Option<DateTime<Utc>>,
    pub failed: Option<u64>,
    pub quarantined: Option<u64>,
    pub cloud_only_originals: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoSync {
    /// Each state file's outcome, by path.
    pub files: BTreeMap<String, FileState>,
    /// iCloud Photos on; `enabled_by` names the file that decided.
    pub enabled: Option<bool>,
    pub enabled_by: Option<&'static str>,
    /// The date text in `cpl_enabled_marker`.
    pub enabled_since: Option<String>,
    pub initial_sync_done: Option<bool>,
    pub paused: Option<bool>,
    pub pause_reason: Option<String>,
    pub paused_until: Option<DateTime<Utc>>,
    pub engine: Option<EngineStatus>,
    /// Optimize iPhone Storage (PrefetchMode 0); other modes are unverified, so unknown.
    pub optimize_storage: Option<bool>,
    pub library: LibraryFacts,
}

fn utc(t: SystemTime) -> DateTime<Utc> {
    t.into()
}

/// Core Data / Apple epoch: 2001-01-01 UTC.
const APPLE_EPOCH: i64 = 978_307_200;

fn flag(d: &plist::Dictionary, key: &str) -> Option<bool> {
    match d.get(key)? {
        plist::Value::Boolean(b) => Some(*b),
        plist::Value::Integer(i) => match i.as_signed() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        _ => None,
    }
}

fn date(d: &plist::Dictionary, key: &str) -> Option<DateTime<Utc>> {
    let seconds = match d.get(key)? {
        plist::Value::Date(t) => return Some(utc((*t).into())),
        plist::Value::Real(r) if r.is_finite() => *r,
        plist::Value::Integer(i) => i.as_signed()? as f64,
        _ => return None,
    };
    // Seconds since 2001, within 2001..2100: anything else is not a date we understand.
    (0.0..3.2e9)
        .contains(&seconds)
        .then(|| DateTime::from_timestamp(APPLE_EPOCH + seconds as i64, 0))
        .flatten()
}

fn text(d: &plist::Dictionary, key: &str) -> Option<String> {
    match d.get(key)? {
        plist::Value::String(s) => Some(s.clone()),
        plist::Value::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

fn parse_dict(contents: &[u8]) -> Option<plist::Dictionary> {
    use synccheck_wire::plist_bounded::{parse, Limits};
    match parse(contents, &Limits::DEVICE, "a photo state file") {
        Ok(plist::Value::Dictionary(d)) => Some(d),
        _ => None,
    }
}

/// `busyState` value that `CPLStatus` reads as "blocked by snapshot".
const BUSY_BLOCKED_BY_SNAPSHOT: i64 = 2;
/// More types than any library has: a longer list is not the engine's.
const MAX_COUNT_TYPES: usize = 64;
/// More items of one type than any iCloud library holds.
const MAX_COUNT: u64 = 1_000_000_000;

/// Reads the keys this build relies on for the first time (issue 13), keeping a refusal for
/// each value of an unexpected type: unknown, with the reason, never a guess.
struct Strict<'a> {
    d: &'a plist::Dictionary,
    refused: Vec<Refusal>,
}

/// A refusal's key within the status file (`busyState`), from its path.
pub fn status_key(path: &str) -> Option<&str> {
    path.strip_prefix(photos::SYNC_STATUS)?.strip_prefix('/')
}

impl Strict<'_> {
    fn refuse(&mut self, key: &str, found: &plist::Value, expected: &'static str) {
        self.refused.push(Refusal {
            key: format!("{}/{key}", photos::SYNC_STATUS),
            value: crate::snapshot::describe_value(found),
            reason: format!("expected {expected}"),
        });
    }

    fn flag(&mut self, key: &str) -> Option<bool> {
        let v = self.d.get(key)?;
        let read = flag(self.d, key);
        if read.is_none() {
            self.refuse(key, v, "a boolean (or 0/1)");
        }
        read
    }

    fn date(&mut self, key: &str) -> Option<DateTime<Utc>> {
        let v = self.d.get(key)?;
        let read = date(self.d, key);
        if read.is_none() {
            self.refuse(key, v, "a date between 2001 and 2100");
        }
        read
    }

    fn integer(&mut self, key: &str) -> Option<i64> {
        let v = self.d.get(key)?;
        let read = v.as_signed_integer();
        if read.is_none() {
            self.refuse(key, v, "an integer");
        }
        read
    }

    /// A dictionary of type → count; one bad entry refuses the whole (a partial total would
    /// mislead more than none).
    fn counts(&mut self, key: &str) -> Option<BTreeMap<String, u64>> {
        const EXPECTED: &str = "a dictionary of types to counts";
        let v = self.d.get(key)?;
        let Some(dict) = v.as_dictionary() else {
            self.refuse(key, v, EXPECTED);
            return None;
        };
        if dict.len() > MAX_COUNT_TYPES {
            self.refuse(key, v, EXPECTED);
            return None;
        }
        let mut counts = BTreeMap::new();
        for (kind, n) in dict {
            match n.as_unsigned_integer().filter(|n| *n <= MAX_COUNT) {
                Some(n) => {
                    counts.insert(kind.chars().take(64).collect(), n);
                }
                None => {
                    self.refuse(&format!("{key}/{kind}"), n, "a count of items");
                    return None;
                }
            }
        }
        Some(counts)
    }
}

impl EngineStatus {
    fn parse(d: &plist::Dictionary) -> Self {
        use keys::*;
        let mut strict = Strict {
            d,
            refused: Vec::new(),
        };
        let busy_state = strict.integer(BUSY_STATE);
        let blocked_by_snapshot = strict
            .flag(BLOCKED_BY_SNAPSHOT)
            .or(busy_state.map(|s| s == BUSY_BLOCKED_BY_SNAPSHOT));
        EngineStatus {
            last_sync: date(d, LAST_SYNC),
            library_exists: flag(d, LIBRARY_EXISTS),
            exceeding_quota: flag(d, EXCEEDING_QUOTA),
            exceeding_shared_library_quota: flag(d, EXCEEDING_SHARED_QUOTA),
            not_authenticated: flag(d, NOT_AUTHENTICATED),
            connected_to_network: flag(d, CONNECTED),
            cellular_restricted: flag(d, CELLULAR_RESTRICTED),
            airplane_mode: flag(d, AIRPLANE),
            low_disk_space: flag(d, LOW_DISK),
            very_low_disk_space: flag(d, VERY_LOW_DISK),
            low_battery: flag(d, LOW_BATTERY),
            blocked_by_low_power_mode: flag(d, LOW_POWER_MODE),
            constrained_network: flag(d, CONSTRAINED),
            poor_network_quality: flag(d, POOR_NETWORK),
            thermal_pressure: flag(d, THERMAL),
            has_changes_to_process: flag(d, HAS_CHANGES),
            blocked_reason: text(d, BLOCKED_REASON),
            exit_delete_time: date(d, EXIT_DELETE),
            client_version_too_old: strict.flag(CLIENT_TOO_OLD),
            library_wiped: strict.flag(LIBRARY_WIPED),
            busy_state,
            blocked_by_snapshot,
            initial_sync: strict.date(INITIAL_SYNC_DATE),
            cloud_asset_counts: strict.counts(CLOUD_ASSET_COUNTS),
            cloud_asset_counts_checked: strict.date(CLOUD_ASSET_COUNTS_CHECKED),
            refused: strict.refused,
        }
    }
}

/// `Library.CPL.PrefetchMode`, as a dotted key or as nested dictionaries (unverified which).
fn prefetch_mode(d: &plist::Dictionary) -> Option<i64> {
    if let Some(v) = d.get(keys::PREFETCH_MODE) {
        return v.as_signed_integer();
    }
    d.get("Library")?
        .as_dictionary()?
        .get("CPL")?
        .as_dictionary()?
        .get("PrefetchMode")?
        .as_signed_integer()
}

impl PhotoSync {
    pub fn from_library(lib: &PhotoLibrary) -> Self {
        let mut files = BTreeMap::new();
        let mut contents = BTreeMap::new();
        for path in photos::STATE_FILES {
            let state = match lib.files.get(path) {
                None => continue,
                Some(FileRead::Present { contents: c, .. }) => {
                    contents.insert(path, c.as_slice());
                    FileState::Present
                }
                Some(FileRead::NotFound) => FileState::NotFound,
                Some(FileRead::PermissionDenied) => FileState::PermissionDenied,
                Some(FileRead::Failed(_)) => FileState::Failed,
            };
            files.insert(path.to_string(), state);
        }
        let state = |path: &str| files.get(path).copied();
        let photo_data_seen = files.values().any(|s| *s == FileState::Present)
            || matches!(
                lib.database,
                DatabaseRead::Summary(_)
                    | DatabaseRead::Unreadable(_)
                    | DatabaseRead::NotRecognised { .. }
            );

        let (enabled, enabled_by) = if state(photos::CPL_ENABLED_MARKER) == Some(FileState::Present)
        {
            (Some(true), Some(photos::CPL_ENABLED_MARKER))
        } else if state(photos::INITIAL_SYNC_MARKER) == Some(FileState::Present) {
            (Some(true), Some(photos::INITIAL_SYNC_MARKER))
        } else if state(photos::CPL_ENABLED_MARKER) == Some(FileState::NotFound) && photo_data_seen
        {
            // The marker is removed when iCloud Photos is turned off. Its absence counts only
            // where the rest of PhotoData was there to see: a phone (or a simulator) that shows
            // no PhotoData at all says nothing about iCloud Photos.
            (Some(false), Some(photos::CPL_ENABLED_MARKER))
        } else {
            (None, None)
        };
        let enabled_since = contents
            .get(photos::CPL_ENABLED_MARKER)
            .map(|c| {
                String::from_utf8_lossy(c)
                    .trim()
                    .chars()
                    .take(64)
                    .collect::<String>()
            })
            .filter(|s| !s.is_empty());
        let initial_sync_done = match state(photos::INITIAL_SYNC_MARKER) {
            Some(FileState::Present) => Some(true),
            Some(FileState::NotFound) => Some(false),
            _ => None,
        };

        let status_dict = contents.get(photos::SYNC_STATUS).map(|c| parse_dict(c));
        let engine = status_dict
            .as_ref()
            .and_then(|d| d.as_ref().map(EngineStatus::parse));

        let (paused, pause_reason, paused_until) = match state(photos::PAUSE) {
            Some(FileState::Present) => {
                let d = contents.get(photos::PAUSE).and_then(|c| parse_dict(c));
                (
                    Some(true),
                    d.as_ref().and_then(|d| text(d, keys::PAUSE_REASON)),
                    d.as_ref().and_then(|d| date(d, keys::PAUSE_UNTIL)),
                )
            }
            Some(FileState::NotFound) => (Some(false), None, None),
            _ => (None, None, None),
        };

        let optimize_storage = contents
            .get(photos::APP_PRIVATE_DATA)
            .and_then(|c| parse_dict(c))
            .and_then(|d| prefetch_mode(&d))
            .and_then(|mode| (mode == 0).then_some(true));

        if matches!(status_dict, Some(None)) {
            files.insert(photos::SYNC_STATUS.to_string(), FileState::Unparsable);
        }
        PhotoSync {
            files,
            enabled,
            enabled_by,
            enabled_since,
            initial_sync_done,
            paused,
            pause_reason,
            paused_until,
            engine,
            optimize_storage,
            library: LibraryFacts::from_read(&lib.database),
        }
    }

    /// The engine's status, when syncstatus.plist was read and parsed.
    pub fn engine_flag(&self, get: impl Fn(&EngineStatus) -> Option<bool>) -> Option<bool> {
        self.engine.as_ref().and_then(get)
    }
}

impl LibraryFacts {
    fn from_read(read: &DatabaseRead) -> Self {
        let not_read = |reason: &str| LibraryFacts::NotRead {
            reason: reason.to_string(),
        };
        match read {
            // A summary without any upload state (from a snapshot written before such a schema
            // was refused) is the same unknown format.
            DatabaseRead::Summary(s)
                if s.waiting.is_none() && s.failed.is_none() && s.quarantined.is_none() =>
            {
                let table = s.schema.as_deref().unwrap_or("ZASSET");
                LibraryFacts::NotRecognised {
                    schema: s.schema.clone(),
                    missing: vec![format!("{table}.ZCLOUDLOCALSTATE")],
                }
            }
            DatabaseRead::Summary(s) => LibraryFacts::Read(LibraryCounts::from(s)),
            DatabaseRead::NotFound => not_read("the phone has no Photos.sqlite"),
            DatabaseRead::PermissionDenied => not_read("the phone refused to share Photos.sqlite"),
            DatabaseRead::Unreadable(why) => LibraryFacts::NotRead {
                reason: format!("could not read the photo library: {why}"),
            },
            DatabaseRead::Skipped => not_read("skipped (--no-photo-library)"),
            DatabaseRead::NotRecognised { schema, missing } => LibraryFacts::NotRecognised {
                schema: schema.clone(),
                missing: missing.clone(),
            },
        }
    }
}

impl From<&LibrarySummary> for LibraryCounts {
    fn from(s: &LibrarySummary) -> Self {
        LibraryCounts {
            schema: s.schema.clone(),
            assets: s.assets,
            waiting: s.waiting,
            waiting_bytes: s.waiting_bytes,
            oldest_waiting_added: s.oldest_waiting_added.map(utc),
            waiting_with_failed_attempts: s.waiting_with_failed_attempts,
            last_upload_attempt: s.last_upload_attempt.map(utc),
            failed: s.failed,
            quarantined: s.quarantined,
            cloud_only_originals: s.cloud_only_originals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plist_bytes(pairs: &[(&str, plist::Value)]) -> Vec<u8> {
        let d: plist::Dictionary = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let mut out = Vec::new();
        plist::Value::Dictionary(d).to_writer_xml(&mut out).unwrap();
        out
    }

    fn lib(files: &[(&str, FileRead)]) -> PhotoLibrary {
        PhotoLibrary {
            files: files
                .iter()
                .map(|(p, r)| (p.to_string(), r.clone()))
                .collect(),
            database: DatabaseRead::Skipped,
            copied_bytes: None,
            read_at: None,
        }
    }

    fn present(contents: &[u8]) -> FileRead {
        FileRead::Present {
            contents: contents.to_vec(),
            modified: None,
        }
    }

    #[test]
    fn markers_decide_enabled_and_refusal_is_unknown() {
        let on = PhotoSync::from_library(&lib(&[(
            photos::CPL_ENABLED_MARKER,
            present(b"2026-01-02 10:00:00 +0000\n"),
        )]));
        assert_eq!(on.enabled, Some(true));
        assert_eq!(
            on.enabled_since.as_deref(),
            Some("2026-01-02 10:00:00 +0000")
        );
        let off = PhotoSync::from_library(&lib(&[
            (photos::CPL_ENABLED_MARKER, FileRead::NotFound),
            (photos::APP_PRIVATE_DATA, present(b"<plist/>")),
        ]));
        assert_eq!(off.enabled, Some(false));
        let nothing =
            PhotoSync::from_library(&lib(&[(photos::CPL_ENABLED_MARKER, FileRead::NotFound)]));
        assert_eq!(nothing.enabled, None, "no PhotoData at all says nothing");
        let refused = PhotoSync::from_library(&lib(&[
            (photos::CPL_ENABLED_MARKER, FileRead::PermissionDenied),
            (photos::INITIAL_SYNC_MARKER, FileRead::PermissionDenied),
        ]));
        assert_eq!(refused.enabled, None, "a refused file is unknown, not off");
        let by_initial = PhotoSync::from_library(&lib(&[
            (photos::CPL_ENABLED_MARKER, FileRead::PermissionDenied),
            (photos::INITIAL_SYNC_MARKER, present(b"")),
        ]));
        assert_eq!(by_initial.enabled_by, Some(photos::INITIAL_SYNC_MARKER));
    }

    #[test]
    fn engine_flags_accept_booleans_integers_and_both_date_forms() {
        let status = plist_bytes(&[
            ("isExceedingQuota", true.into()),
            ("inAirplaneMode", 0.into()),
            ("lowDiskSpace", 7.into()),
            ("lastSyncDate", plist::Value::Real(786_000_000.0)),
            ("blockedReason", "quota".into()),
        ]);
        let s = PhotoSync::from_library(&lib(&[(photos::SYNC_STATUS, present(&status))]));
        let e = s.engine.unwrap();
        assert_eq!(e.exceeding_quota, Some(true));
        assert_eq!(e.airplane_mode, Some(false));
        assert_eq!(e.low_disk_space, None, "7 is not a flag");
        assert_eq!(e.last_sync.unwrap().timestamp(), APPLE_EPOCH + 786_000_000);
        assert_eq!(e.blocked_reason.as_deref(), Some("quota"));
    }

    #[test]
    fn newer_engine_keys_are_read_and_odd_values_are_refused_with_the_reason() {
        let counts: plist::Dictionary = [
            ("public.image".to_string(), plist::Value::from(8000)),
            ("public.movie".to_string(), plist::Value::from(400)),
        ]
        .into_iter()
        .collect();
        let status = plist_bytes(&[
            ("iCloudLibraryClientVersionTooOld", true.into()),
            ("iCloudLibraryHasBeenWiped", false.into()),
            ("busyState", 2.into()),
            ("initialSyncDate", plist::Value::Real(700_000_000.0)),
            ("cloudAssetCountPerType", plist::Value::Dictionary(counts)),
        ]);
        let s = PhotoSync::from_library(&lib(&[(photos::SYNC_STATUS, present(&status))]));
        let e = s.engine.unwrap();
        assert_eq!(e.client_version_too_old, Some(true));
        assert_eq!(e.library_wiped, Some(false));
        assert_eq!(e.busy_state, Some(2));
        assert_eq!(e.blocked_by_snapshot, Some(true));
        assert_eq!(
            e.initial_sync.unwrap().timestamp(),
            APPLE_EPOCH + 700_000_000
        );
        assert_eq!(e.cloud_asset_total(), Some(8400));
        assert!(e.refused.is_empty());

        let bad_counts: plist::Dictionary = [
            ("public.image".to_string(), plist::Value::from(8000)),
            ("public.movie".to_string(), plist::Value::from("many")),
        ]
        .into_iter()
        .collect();
        let status = plist_bytes(&[
            ("iCloudLibraryClientVersionTooOld", "yes".into()),
            ("busyState", "busy".into()),
            ("initialSyncDate", "yesterday".into()),
            (
                "cloudAssetCountPerType",
                plist::Value::Dictionary(bad_counts),
            ),
            ("cloudAssetCountPerTypeLastCheckDate", true.into()),
            ("iCloudLibraryHasBeenWiped", plist::Value::Array(vec![])),
        ]);
        let s = PhotoSync::from_library(&lib(&[(photos::SYNC_STATUS, present(&status))]));
        let e = s.engine.unwrap();
        assert_eq!(e.client_version_too_old, None);
        assert_eq!(e.library_wiped, None);
        assert_eq!(e.busy_state, None);
        assert_eq!(e.blocked_by_snapshot, None);
        assert_eq!(e.initial_sync, None);
        assert_eq!(e.cloud_asset_counts, None);
        assert_eq!(e.cloud_asset_counts_checked, None);
        let r = e.refusal(keys::CLIENT_TOO_OLD).unwrap();
        assert_eq!(r.value, "the string \"yes\"");
        assert!(e.refusal("cloudAssetCountPerType/public.movie").is_some());
        assert_eq!(e.refused.len(), 6, "{:?}", e.refused);

        // isBlockedBySnapshot, should a file carry it, is read as a flag; another busyState is
        // not "blocked by snapshot".
        let status = plist_bytes(&[("busyState", 1.into())]);
        let e = PhotoSync::from_library(&lib(&[(photos::SYNC_STATUS, present(&status))]))
            .engine
            .unwrap();
        assert_eq!(e.blocked_by_snapshot, Some(false));
        let status = plist_bytes(&[("isBlockedBySnapshot", true.into())]);
        let e = PhotoSync::from_library(&lib(&[(photos::SYNC_STATUS, present(&status))]))
            .engine
            .unwrap();
        assert_eq!(e.blocked_by_snapshot, Some(true));
    }

    #[test]
    fn garbage_state_file_is_unknown_not_an_error() {
        let s = PhotoSync::from_library(&lib(&[(photos::SYNC_STATUS, present(b"\x00garbage"))]));
        assert!(s.engine.is_none());
        assert_eq!(s.files[photos::SYNC_STATUS], FileState::Unparsable);
    }

    #[test]
    fn pause_and_optimize() {
        let pause = plist_bytes(&[
            ("reason", "user".into()),
            ("unpauseTime", plist::Value::Real(790_000_000.0)),
        ]);
        let prefs = plist_bytes(&[(
            "Library",
            plist::Value::Dictionary(
                [(
                    "CPL".to_string(),
                    plist::Value::Dictionary(
                        [("PrefetchMode".to_string(), plist::Value::from(0))]
                            .into_iter()
                            .collect(),
                    ),
                )]
                .into_iter()
                .collect(),
            ),
        )]);
        let s = PhotoSync::from_library(&lib(&[
            (photos::PAUSE, present(&pause)),
            (photos::APP_PRIVATE_DATA, present(&prefs)),
        ]));
        assert_eq!(s.paused, Some(true));
        assert_eq!(s.pause_reason.as_deref(), Some("user"));
        assert!(s.paused_until.is_some());
        assert_eq!(s.optimize_storage, Some(true));
        let none = PhotoSync::from_library(&lib(&[(photos::PAUSE, FileRead::NotFound)]));
        assert_eq!(none.paused, Some(false));
    }
}
