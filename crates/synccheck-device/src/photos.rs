//! The iCloud Photos engine's state over AFC: the small state files, and the library database,
//! read in place page by page (`photos_in_place`, the default) or, for comparison, copied to a
//! private directory and summarised there. Read-only from start to end: nothing is ever opened
//! for writing on the phone, and a copy is deleted when the summary is made.
//!
//! The copy is bounded by the scan's [`ScanLimits`], never by what the phone says: its disk
//! budget (checked against the size announced, the free space, and every chunk written) and
//! its deadline (the copy and the summary give up when it passes). Either way the library is
//! "not read" with the reason, and the state files already read stand. The copy's directory
//! is owner-only (0700, files 0600) and removed when the read ends, however it ends.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::time::SystemTime;

use tokio::io::AsyncWriteExt;

use super::afc::{Afc, AfcError, FileKind};
use super::DeviceError;
use crate::limits::ScanLimits;
use crate::photos_guard::{judge_attempt, stat_before, unchanged_since, Attempt, NOT_READ};
use crate::photos_query::{self as query, LibraryError};
use synccheck_core::photos::{self, DatabaseRead, FileRead, PhotoLibrary};

/// How much of the photo evidence to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoScope {
    /// Nothing: no AFC connection at all.
    None,
    /// The state files only (`--no-photo-library`).
    StateFiles,
    /// The state files and the library database, read in place, page by page
    /// (`photos_in_place`): only what the summary needs crosses the cable.
    Everything,
    /// The state files and the library database, copied whole to a private folder first and
    /// summarised there: the way before in-place reading, kept so benchmarks can compare
    /// both in one run (`--photo-read copy`).
    EverythingByCopy,
}

/// A live database copied file by file can tear (a write lands between our reads). A copy
/// whose files changed while it was taken, or that fails SQLite's check, is taken again.
const COPY_ATTEMPTS: usize = 3;

/// Reads the state files and, when asked, the library, within `limits`. `progress` hears
/// (bytes read, bytes expected) while the database is read or copied.
pub async fn read_photo_library(
    afc: &mut Afc,
    scope: PhotoScope,
    limits: &ScanLimits,
    mut progress: impl FnMut(u64, u64),
) -> Result<PhotoLibrary, DeviceError> {
    let mut files = std::collections::BTreeMap::new();
    for path in photos::STATE_FILES {
        files.insert(path.to_string(), read_state_file(afc, path).await?);
    }
    let (database, copied_bytes) = match scope {
        PhotoScope::Everything | PhotoScope::EverythingByCopy => {
            let deadline = limits.stop.deadline().into();
            let read = match scope {
                PhotoScope::Everything => {
                    tokio::time::timeout_at(
                        deadline,
                        crate::photos_in_place::read_database_in_place(afc, limits, &mut progress),
                    )
                    .await
                }
                _ => {
                    tokio::time::timeout_at(deadline, read_database(afc, limits, &mut progress))
                        .await
                }
            };
            match read {
                Ok(read) => read?,
                Err(_) => (
                    DatabaseRead::Unreadable(format!("{NOT_READ}: {}", limits.stop.passed())),
                    None,
                ),
            }
        }
        _ => (DatabaseRead::Skipped, None),
    };
    Ok(PhotoLibrary {
        files,
        database,
        copied_bytes,
        read_at: Some(SystemTime::now()),
    })
}

/// The same outcome for every file, when AFC itself could not be started.
pub fn unavailable(why: &str) -> PhotoLibrary {
    PhotoLibrary {
        files: photos::STATE_FILES
            .iter()
            .map(|p| (p.to_string(), FileRead::Failed(why.to_string())))
            .collect(),
        database: DatabaseRead::Unreadable(why.to_string()),
        copied_bytes: None,
        read_at: Some(SystemTime::now()),
    }
}

/// Per-file outcomes become evidence; a broken connection ends the read.
fn file_outcome(e: AfcError) -> Result<FileRead, DeviceError> {
    match e {
        AfcError::Device(d) => Err(d),
        AfcError::NotFound => Ok(FileRead::NotFound),
        AfcError::PermissionDenied => Ok(FileRead::PermissionDenied),
        other => Ok(FileRead::Failed(other.to_string())),
    }
}

async fn read_state_file(afc: &mut Afc, path: &str) -> Result<FileRead, DeviceError> {
    let stat = match afc.stat(path).await {
        Ok(s) => s,
        Err(e) => return file_outcome(e),
    };
    if stat.kind == FileKind::Directory {
        return Ok(FileRead::Failed("a directory, not a file".into()));
    }
    match afc.read_small(path, photos::MAX_STATE_FILE).await {
        Ok(contents) => Ok(FileRead::Present {
            contents,
            modified: stat.modified,
        }),
        Err(e) => file_outcome(e),
    }
}

/// A private directory for the copy under `$TMPDIR`: owner-only, removed when dropped.
fn private_dir() -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("synccheck-photos-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
}

async fn read_database(
    afc: &mut Afc,
    limits: &ScanLimits,
    progress: &mut impl FnMut(u64, u64),
) -> Result<(DatabaseRead, Option<u64>), DeviceError> {
    query_database(
        afc,
        limits,
        progress,
        query::summarize_until,
        DatabaseRead::Summary,
    )
    .await
}

/// Copies the library (with the torn-copy guard, the disk budget and the deadline of
/// [`read_photo_library`]) and runs `query` on the copy, on a blocking thread that stops when
/// `limits.stop` does. `done` turns its answer into `R`; a library not read is
/// `R::from(DatabaseRead::...)` with the reason. A copy that fails SQLite's check is taken
/// again. Returns the bytes copied too.
pub async fn query_database<T, R, Q>(
    afc: &mut Afc,
    limits: &ScanLimits,
    progress: &mut impl FnMut(u64, u64),
    query: Q,
    done: fn(T) -> R,
) -> Result<(R, Option<u64>), DeviceError>
where
    T: Send + 'static,
    R: From<DatabaseRead>,
    Q: Fn(&std::path::Path, &crate::limits::ScanStop) -> Result<T, LibraryError>
        + Clone
        + Send
        + 'static,
{
    let mut last_problem = String::new();
    let mut copied_total = 0u64;
    for attempt in 1..=COPY_ATTEMPTS {
        let (before_db, before_wal) = match stat_before(afc).await? {
            Ok(stats) => stats,
            Err(read) => return Ok((read.into(), None)),
        };
        // The copy lives in a directory only we can enter, and goes with it; its bytes count
        // against the scan's disk budget until then.
        let dir = match private_dir() {
            Ok(dir) => dir,
            // This computer's trouble, not the phone's: the rest of the scan stands.
            Err(e) => {
                let why = format!("{NOT_READ}: cannot make a private folder for the copy: {e}");
                return Ok((DatabaseRead::Unreadable(why).into(), Some(copied_total)));
            }
        };
        let mut charge = limits.disk.charge();
        let total = before_db
            .size
            .saturating_add(before_wal.map_or(0, |w| w.size));
        // What the phone announces is checked first: a library that cannot fit is not copied.
        if let Err(e) = limits.disk.check(dir.path(), total) {
            let why = format!(
                "{NOT_READ}: the iPhone reports {} for it and {e}",
                synccheck_core::units::bytes(total)
            );
            return Ok((DatabaseRead::Unreadable(why).into(), Some(copied_total)));
        }
        let mut copied = 0u64;
        let mut outcome = copy_file(
            afc,
            photos::DATABASE,
            &dir.path().join(query::MAIN_FILE),
            (0, total),
            &mut charge,
            progress,
        )
        .await;
        if let (Ok(n), Some(_)) = (&outcome, before_wal) {
            copied += n;
            outcome = copy_file(
                afc,
                photos::DATABASE_WAL,
                &dir.path().join(query::WAL_FILE),
                (copied, total),
                &mut charge,
                progress,
            )
            .await;
        }
        copied_total += charge.bytes();
        let outcome = outcome.map(|_| ());
        match outcome {
            Err(AfcError::Device(d)) => return Err(d),
            // The budget is ours, not the phone's: taking the copy again would not help.
            Err(AfcError::Limit(e)) => {
                let why = format!(
                    "{NOT_READ}: the copy was stopped at {}: {e}",
                    synccheck_core::units::bytes(charge.bytes())
                );
                return Ok((DatabaseRead::Unreadable(why).into(), Some(copied_total)));
            }
            Err(AfcError::PermissionDenied) => {
                return Ok((DatabaseRead::PermissionDenied.into(), Some(copied_total)))
            }
            Err(e) => {
                last_problem = e.to_string();
                continue;
            }
            Ok(()) => {}
        }
        if !unchanged_since(afc, before_db, &before_wal).await? {
            tracing::debug!(attempt, "the photo library changed during the copy");
            last_problem = "the library kept changing while it was copied".into();
            continue;
        }
        let path = dir.path().to_path_buf();
        let stop = limits.stop.clone();
        // Dropped before the summary is done (the deadline, an unplugged phone in `watch`,
        // Ctrl-C): the query on the blocking thread is told to stop.
        let cancel = limits.stop.cancel_on_drop();
        tracing::debug!(attempt, "summarising the photo library copy");
        let query = query.clone();
        let summary = tokio::task::spawn_blocking(move || {
            let summary = query(&path, &stop);
            // Logged here, on the thread: it ends even when nobody awaits it any more.
            if let Err(e) = &summary {
                tracing::debug!("the photo library summary ended: {e}");
            }
            summary
        })
        .await
        .map_err(|e| DeviceError::Refused {
            what: "the photo library summary",
            error: e.to_string(),
        })?;
        cancel.disarm();
        match judge_attempt(summary, done, attempt) {
            Attempt::Done(read) => return Ok((read, Some(copied_total))),
            // A torn copy can fail SQLite's own check: take it again.
            Attempt::Again(why) => last_problem = why,
        }
    }
    Ok((
        DatabaseRead::Unreadable(last_problem).into(),
        Some(copied_total),
    ))
}

/// Copies one file into `to` (owner-only), charging `charge`, reporting progress as part of a
/// copy of `total` bytes of which `base` are done.
async fn copy_file(
    afc: &mut Afc,
    from: &str,
    to: &std::path::Path,
    (base, total): (u64, u64),
    charge: &mut crate::limits::DiskCharge,
    progress: &mut impl FnMut(u64, u64),
) -> Result<u64, AfcError> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(AfcError::Local)?;
    let mut file = tokio::fs::File::from_std(file);
    let n = afc
        .copy_within(from, &mut file, charge, |done, _| {
            progress(base + done, total.max(base + done))
        })
        .await?;
    file.flush().await.map_err(AfcError::Local)?;
    Ok(n)
}
