//! Reading Photos.sqlite in place over AFC: SQLite runs a query (the scan's summary, the
//! rescue's list) on a blocking thread through our VFS (`photos_vfs`), whose page reader (`photos_pages`) asks this side for
//! byte ranges; this side holds the AFC connection and reads them, pipelined, from files
//! opened read-only. Nothing is written, on the phone or here.
//!
//! The torn-read guard: the phone writes its library while we read it. Before the query the
//! sizes and times of both files are taken; after it, they are taken again and the first
//! bytes of each file (the main header with its change counter, the `-wal` header with its
//! salts and checkpoint number) are read again and compared with what SQLite was served. Any
//! difference, or a library SQLite finds damaged, and the read is made again from scratch,
//! a few times at most, then reported.

use rusqlite::Connection;
use tokio::sync::mpsc;

use super::afc::{Afc, AfcError};
use super::DeviceError;
use crate::limits::ScanLimits;
use crate::photos_guard::{judge_attempt, stat_before, unchanged_since, Attempt};
use crate::photos_pages::{Fetch, FetchError, LibraryFile, PageReader};
use crate::photos_query::{self as query, LibraryError};
use synccheck_core::photos::{self, DatabaseRead};

/// Reads of a library that keeps changing, before it is reported as such.
const ATTEMPTS: usize = 3;

/// The bytes at the start of each file compared before and after: the main file's header
/// (the change counter, the page count) and the `-wal`'s (the salts, the checkpoint number).
const MAIN_HEADER: u64 = 100;
const WAL_HEADER: u64 = 32;

/// A range request from the page reader, answered on `reply`.
struct Request {
    file: LibraryFile,
    ranges: Vec<(u64, u64)>,
    estimate: u64,
    reply: std::sync::mpsc::SyncSender<Result<Vec<Vec<u8>>, FetchError>>,
}

/// The page reader's side of the channel.
struct ChannelFetch(mpsc::UnboundedSender<Request>);

impl Fetch for ChannelFetch {
    fn fetch(
        &mut self,
        file: LibraryFile,
        ranges: &[(u64, u64)],
        estimate: u64,
    ) -> Result<Vec<Vec<u8>>, FetchError> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.0
            .send(Request {
                file,
                ranges: ranges.to_vec(),
                estimate,
                reply,
            })
            .map_err(|_| FetchError::Gone)?;
        // Dropped unanswered when the read is abandoned (deadline, unplug): Gone.
        answer.recv().map_err(|_| FetchError::Gone)?
    }
}

/// The two files opened on the phone for one attempt, and the first bytes served of each.
#[derive(Default)]
struct OpenFiles {
    handles: [Option<u64>; 2],
    first_bytes: [Option<Vec<u8>>; 2],
}

fn path_of(file: LibraryFile) -> &'static str {
    match file {
        LibraryFile::Main => photos::DATABASE,
        LibraryFile::Wal => photos::DATABASE_WAL,
    }
}

impl OpenFiles {
    async fn handle(&mut self, afc: &mut Afc, file: LibraryFile) -> Result<u64, AfcError> {
        if let Some(h) = self.handles[file.index()] {
            return Ok(h);
        }
        let h = afc.open_read(path_of(file)).await?;
        self.handles[file.index()] = Some(h);
        Ok(h)
    }

    async fn fetch(
        &mut self,
        afc: &mut Afc,
        file: LibraryFile,
        ranges: &[(u64, u64)],
    ) -> Result<Vec<Vec<u8>>, AfcError> {
        let h = self.handle(afc, file).await?;
        let data = afc.read_ranges(h, ranges).await?;
        if self.first_bytes[file.index()].is_none() {
            if let Some(i) = ranges.iter().position(|(offset, _)| *offset == 0) {
                self.first_bytes[file.index()] = Some(data[i].clone());
            }
        }
        Ok(data)
    }

    /// Whether each file's first bytes on the phone are still what was served.
    async fn unchanged(&mut self, afc: &mut Afc) -> Result<bool, AfcError> {
        for (file, len) in [
            (LibraryFile::Main, MAIN_HEADER),
            (LibraryFile::Wal, WAL_HEADER),
        ] {
            let Some(served) = self.first_bytes[file.index()].clone() else {
                continue;
            };
            let h = self.handle(afc, file).await?;
            let now = afc.read_ranges(h, &[(0, len)]).await?;
            let n = (len as usize).min(served.len());
            if now[0].get(..n) != served.get(..n) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Closes what is open; only a broken connection is worth reporting.
    async fn close(&mut self, afc: &mut Afc) -> Result<(), DeviceError> {
        for h in self.handles.iter_mut() {
            if let Some(handle) = h.take() {
                if let Err(AfcError::Device(d)) = afc.close_file(handle).await {
                    return Err(d);
                }
            }
        }
        Ok(())
    }
}

/// Reads the library in place and summarises it; `progress` hears (bytes read, bytes the read
/// may come to). Returns the outcome and the bytes read from the phone.
pub(crate) async fn read_database_in_place(
    afc: &mut Afc,
    limits: &ScanLimits,
    progress: &mut impl FnMut(u64, u64),
) -> Result<(DatabaseRead, Option<u64>), DeviceError> {
    query_database_in_place(
        afc,
        limits,
        progress,
        query::summarize_open,
        DatabaseRead::Summary,
    )
    .await
}

/// Runs `query` on the library read in place (with the torn-read guard, the retries and the
/// deadline of [`read_database_in_place`]), on a blocking thread that stops when
/// `limits.stop` does: the summary, or the rescue's list. `done` turns its answer into `R`; a
/// library not read is `R::from(DatabaseRead::...)` with the reason. `progress` hears (bytes
/// read, bytes the read may come to). Returns the bytes read from the phone too.
pub(crate) async fn query_database_in_place<T, R, Q>(
    afc: &mut Afc,
    limits: &ScanLimits,
    progress: &mut impl FnMut(u64, u64),
    query: Q,
    done: fn(T) -> R,
) -> Result<(R, Option<u64>), DeviceError>
where
    T: Send + 'static,
    R: From<DatabaseRead>,
    Q: Fn(&Connection) -> Result<T, LibraryError> + Clone + Send + 'static,
{
    let mut last_problem = String::new();
    let mut read_total = 0u64;
    let start = afc.counters();
    for attempt in 1..=ATTEMPTS {
        let (before_db, before_wal) = match stat_before(afc).await? {
            Ok(stats) => stats,
            Err(read) => return Ok((read.into(), None)),
        };
        let attempt_start = afc.counters();
        let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
        let reader = PageReader::new(
            Box::new(ChannelFetch(tx)),
            before_db.size,
            before_wal.map(|w| w.size),
        );
        let stop = limits.stop.clone();
        // Dropped before the query is done (the deadline, an unplugged phone in `watch`,
        // Ctrl-C): the query on the blocking thread is told to stop, and its next read finds
        // the channel gone.
        let cancel = limits.stop.cancel_on_drop();
        let has_wal = before_wal.is_some();
        tracing::debug!(attempt, "querying the photo library in place");
        let query = query.clone();
        let mut querying = tokio::task::spawn_blocking(move || {
            let outcome = query::query_in_place(reader, has_wal, &stop, query);
            if let Err(e) = &outcome {
                tracing::debug!("the photo library query ended: {e}");
            }
            outcome
        });
        let mut files = OpenFiles::default();
        let mut broken: Option<DeviceError> = None;
        let mut asking = true;
        let outcome = loop {
            tokio::select! {
                request = rx.recv(), if asking => match request {
                    None => asking = false,
                    Some(request) => {
                        let answer = match &broken {
                            Some(_) => Err(FetchError::Gone),
                            None => match files.fetch(afc, request.file, &request.ranges).await {
                                Ok(data) => Ok(data),
                                Err(AfcError::Device(d)) => {
                                    let why = FetchError::Failed(d.to_string());
                                    broken = Some(d);
                                    Err(why)
                                }
                                Err(e) => Err(FetchError::Failed(e.to_string())),
                            },
                        };
                        let read = afc.counters().read_bytes - start.read_bytes;
                        progress(read, request.estimate.max(read));
                        // The query may have ended meanwhile: nobody to tell.
                        let _ = request.reply.send(answer);
                    }
                },
                ended = &mut querying => break ended,
            }
        };
        let outcome = outcome.map_err(|e| DeviceError::Refused {
            what: "the photo library query",
            error: e.to_string(),
        })?;
        cancel.disarm();
        if let Some(d) = broken {
            return Err(d);
        }
        read_total = afc.counters().read_bytes - start.read_bytes;
        let counters = afc.counters();
        tracing::debug!(
            attempt,
            requests = counters.requests - attempt_start.requests,
            batches = counters.range_batches - attempt_start.range_batches,
            bytes = counters.read_bytes - attempt_start.read_bytes,
            of = before_db.size + before_wal.map_or(0, |w| w.size),
            "photo library read in place"
        );

        // The guard: sizes, times and first bytes as they were?
        let headers_same = files.unchanged(afc).await;
        files.close(afc).await?;
        let headers_same = match headers_same {
            Ok(same) => same,
            Err(AfcError::Device(d)) => return Err(d),
            Err(_) => false,
        };
        let stats_same = unchanged_since(afc, before_db, &before_wal).await?;
        if !headers_same || !stats_same {
            tracing::debug!(attempt, "the photo library changed while it was read");
            last_problem = "the library kept changing while it was read".into();
            continue;
        }
        match judge_attempt(outcome, done, attempt) {
            Attempt::Done(read) => return Ok((read, Some(read_total))),
            Attempt::Again(why) => last_problem = why,
        }
    }
    Ok((
        DatabaseRead::Unreadable(last_problem).into(),
        Some(read_total),
    ))
}
