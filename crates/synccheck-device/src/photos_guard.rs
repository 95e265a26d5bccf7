//! What the two ways of reading the photo library share (`photos.rs` copies it,
//! `photos_in_place.rs` reads it in place): the torn-read guard's before-and-after stats, and
//! what one attempt's query outcome means: done, or read again because a write tore it.

use super::afc::{Afc, AfcError, FileStat};
use super::DeviceError;
use crate::photos_query::LibraryError;
use synccheck_core::photos::{self, DatabaseRead};

/// The words before every reason the library was given up on.
pub(crate) const NOT_READ: &str = "photo library not read";

/// Whether a file looks the same before and after the read.
fn same(a: &Option<FileStat>, b: &Option<FileStat>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.size == b.size && a.modified == b.modified,
        (None, None) => true,
        _ => false,
    }
}

/// The file's stat, `None` when the phone has no such file.
async fn stat_optional(afc: &mut Afc, path: &str) -> Result<Option<FileStat>, AfcError> {
    match afc.stat(path).await {
        Ok(s) => Ok(Some(s)),
        Err(AfcError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A stat refused after a good read: a broken connection stays what it is; any other refusal
/// ends the read with the phone's own words ("AFC: ..."), since reading again would not say
/// more. (A file gone since the read is not an error: `stat_optional` makes it `None`, which
/// the guard counts as changed.)
fn device_or_keep(e: AfcError) -> DeviceError {
    match e {
        AfcError::Device(d) => d,
        other => DeviceError::Refused {
            what: "AFC",
            error: other.to_string(),
        },
    }
}

/// The guard's first look, before an attempt: the main file's stat and the `-wal`'s, `None`
/// when the phone has none (a refused or odd `-wal` too: the main file is then read alone, and
/// a failure says so). `Ok(Err(..))` is the outcome when the main file cannot be read at all.
pub(crate) async fn stat_before(
    afc: &mut Afc,
) -> Result<Result<(FileStat, Option<FileStat>), DatabaseRead>, DeviceError> {
    let db = match afc.stat(photos::DATABASE).await {
        Ok(s) => s,
        Err(AfcError::NotFound) => return Ok(Err(DatabaseRead::NotFound)),
        Err(AfcError::PermissionDenied) => return Ok(Err(DatabaseRead::PermissionDenied)),
        Err(AfcError::Device(d)) => return Err(d),
        Err(other) => return Ok(Err(DatabaseRead::Unreadable(other.to_string()))),
    };
    let wal = match stat_optional(afc, photos::DATABASE_WAL).await {
        Ok(s) => s,
        Err(AfcError::Device(d)) => return Err(d),
        Err(_) => None,
    };
    Ok(Ok((db, wal)))
}

/// The guard's second look, after the read: whether both files still have the size and time
/// [`stat_before`] found (a file gone since counts as changed; other refusals are
/// [`device_or_keep`]'s).
pub(crate) async fn unchanged_since(
    afc: &mut Afc,
    db: FileStat,
    wal: &Option<FileStat>,
) -> Result<bool, DeviceError> {
    let after_db = stat_optional(afc, photos::DATABASE)
        .await
        .map_err(device_or_keep)?;
    let after_wal = stat_optional(afc, photos::DATABASE_WAL)
        .await
        .map_err(device_or_keep)?;
    Ok(same(&Some(db), &after_db) && same(wal, &after_wal))
}

/// What one attempt's query outcome means, once the guard found the library unchanged.
pub(crate) enum Attempt<R> {
    /// The answer, or why the library cannot be read: reading it again would not help.
    Done(R),
    /// A read torn by a write that SQLite noticed before the guard did: read it again.
    Again(String),
}

/// `outcome` of attempt `attempt` as an [`Attempt`]; `done` turns a query's answer into `R`.
pub(crate) fn judge_attempt<T, R: From<DatabaseRead>>(
    outcome: Result<T, LibraryError>,
    done: fn(T) -> R,
    attempt: usize,
) -> Attempt<R> {
    match outcome {
        Ok(answer) => Attempt::Done(done(answer)),
        Err(LibraryError::Stopped(e)) => Attempt::Done(
            DatabaseRead::Unreadable(format!("{NOT_READ}: while summarising it, {e}")).into(),
        ),
        Err(e @ (LibraryError::Corrupt(_) | LibraryError::NotSqlite(_))) => {
            tracing::debug!(attempt, "the photo library read does not check out: {e}");
            Attempt::Again(e.to_string())
        }
        // A schema we do not know is not a torn read: reading it again would not help.
        Err(LibraryError::NotRecognised { table, missing }) => Attempt::Done(
            DatabaseRead::NotRecognised {
                schema: table,
                missing,
            }
            .into(),
        ),
        Err(e) => Attempt::Done(DatabaseRead::Unreadable(e.to_string()).into()),
    }
}
