//! What the phone's own iCloud Photos engine says, as read over AFC: the engine's small state
//! files (markers and plists) and a summary of the photo library database.
//!
//! This is the `PhotoLibrary` section of a snapshot: written by a live scan, evaluated by
//! `scan --from`, served by `sim`. Only the summary of the database goes into a snapshot, never
//! the database or any file name from it. Nothing here is ever written to the phone.
//!
//! Paths are relative to the AFC root (`/var/mobile/Media`), as Apple's own code names them
//! (see `shared/reference/device-facts.md`, section 3).

mod model;

pub use model::{DatabaseRead, FileRead, LibrarySummary, PhotoLibrary};

/// Written when iCloud Photos is turned on (its contents: a date), removed when turned off.
pub const CPL_ENABLED_MARKER: &str = "PhotoData/cpl_enabled_marker";
/// The initial sync finished; Apple's own settings code reads its existence as "enabled".
pub const INITIAL_SYNC_MARKER: &str = "PhotoData/CPL/initialsync_marker";
/// The initial download finished (not "last sync").
pub const DOWNLOAD_FINISHED_MARKER: &str = "PhotoData/cpl_download_finished_marker";
/// The engine's status: last sync, quota, network, Low Power Mode, blocked reasons.
pub const SYNC_STATUS: &str = "PhotoData/CPL/syncstatus.plist";
/// Present while the user (or the system) paused syncing: `reason`, `unpauseTime`.
pub const PAUSE: &str = "PhotoData/CPL/pauseICloudPhotos";
/// Photos' private settings: `Library.CPL.PrefetchMode` (0 = Optimize iPhone Storage).
pub const APP_PRIVATE_DATA: &str = "PhotoData/private/com.apple.assetsd/appPrivateData.plist";

/// The small files a scan reads whole, in this order.
pub const STATE_FILES: [&str; 6] = [
    CPL_ENABLED_MARKER,
    INITIAL_SYNC_MARKER,
    DOWNLOAD_FINISHED_MARKER,
    SYNC_STATUS,
    PAUSE,
    APP_PRIVATE_DATA,
];

/// The library database and its write-ahead log: recent rows live only in the `-wal` until a
/// checkpoint, so both are copied. The `-shm` index is rebuilt by SQLite from them.
pub const DATABASE: &str = "PhotoData/Photos.sqlite";
pub const DATABASE_WAL: &str = "PhotoData/Photos.sqlite-wal";

/// State files are a few kilobytes; more is not one of them.
pub const MAX_STATE_FILE: u64 = 1024 * 1024;
