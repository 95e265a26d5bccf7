//! com.apple.afc: the phone's media filesystem (`/var/mobile/Media`), read-only, holding what the
//! snapshot's `PhotoLibrary` section says the iCloud Photos engine left there.
//!
//! Plaintext from the first byte, as on a real phone (StartService answers `EnableServiceSSL`
//! false), in the packets of [`synccheck_wire::afc`]. Every reply echoes the request's
//! `packet_num`: STATUS with a code for errors and for operations that return nothing, DATA for
//! listings, key/value info and file contents, FILE_OPEN_RESULT with the handle.
//!
//! The tree ([`Volume`]) is built once per phone, on the first AFC connection:
//! - `PhotoData`, always (empty on a phone whose snapshot has no `PhotoLibrary`);
//! - with a `PhotoLibrary`: `PhotoData/CPL`, `PhotoData/private/com.apple.assetsd`, every state
//!   file read as present (its bytes, its mtime), every file read as permission denied (a name
//!   in its directory whose stat, open and listing answer AFC error 10), nothing for not found;
//! - with a database summary: `PhotoData/Photos.sqlite` and `Photos.sqlite-wal` as
//!   [`crate::synth::build`] makes them; a denied database is two denied names; a
//!   database a scan found unreadable is random bytes; a skipped or absent one is not there;
//! - a state file whose read failed otherwise (`FileRead::Failed`) answers AFC error 4, read
//!   error, to every access.
//!
//! Anything that would write (open for writing, remove, rename, mkdir, ...) answers permission
//! denied: nothing a host does can change the simulated phone. Each such request is logged and
//! counted ([`crate::SimHandle::afc_activity`]), so tests can assert that none came.
//!
//! With a database summary, `DCIM/...` holds every asset's original where the library says it
//! is ([`super::originals`]). The AFC faults (`afc-denied`,
//! `torn-db`, `not-sqlite-db`, `growing-db`, `afc-plist-bomb`, `endless-db`, `trickle`,
//! `afc-silent`, `slow-db`) are described in [`super::faults`]; `latency` delays every AFC
//! reply as it does lockdown's. With `link` ([`crate::link`]) requests are read as they come and
//! each reply leaves after its round trip and its turn on the phone's link, so pipelined
//! requests overlap. Every connection counts what it asked and was sent
//! ([`crate::link::AfcCounters`]) and logs it at debug level when it closes.
//!
//! A realistic library ([`crate::synth_realistic`]) is served from deduplicated pages
//! ([`crate::paged`]), byte for byte as SQLite wrote it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

use super::device::Device;
use super::faults::{normalize_afc_path, FaultMode, Faults, GROWTH_BYTES};
use super::frame::{BoxStream, FrameError, BODY_TIMEOUT, IDLE_TIMEOUT};
use super::link::{AfcConnectionStats, Link};
use super::lock;
use super::lockdownd::ServiceError;
use super::originals::{self, Original};
use super::paged::Contents;
use super::synth_realistic::LibraryProfile;
use synccheck_core::photos::{DatabaseRead, FileRead, PhotoLibrary, DATABASE, DATABASE_WAL};
use synccheck_wire::afc::{self as codec, code, op, Packet};

/// Largest request body the phone takes: path arguments are at most PATH_MAX, and a write (always
/// refused here) carries at most the 8 MiB block size hosts set with SET_FS_BLOCK_SIZE.
const MAX_REQUEST_BODY: usize = 8 * 1024 * 1024 + 64 * 1024;

/// Largest answer to one FILE_READ; a larger request gets this much (a short read, which every
/// host handles by reading on). pymobiledevice3 reads real phones in 4 MiB requests, idevice
/// and libimobiledevice's afcclient in 1 MiB ones; a real phone's own cap is not documented.
pub(crate) const MAX_READ: u64 = 8 * 1024 * 1024;

/// Open files one connection may hold; more answer "no resources".
const MAX_HANDLES: usize = 64;

/// Directories the PhotoData tree always has once there is a photo library.
const LIBRARY_DIRS: [&str; 3] = [
    "PhotoData/CPL",
    "PhotoData/private",
    "PhotoData/private/com.apple.assetsd",
];

/// How much older the pre-tear database is than the current one.
const TORN_AGE: Duration = Duration::from_secs(60);

/// The SQLite file header's first bytes.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

#[derive(Debug, Clone)]
enum Node {
    Dir {
        mtime: SystemTime,
    },
    File {
        data: Arc<Vec<u8>>,
        mtime: SystemTime,
    },
    /// Photos.sqlite, whose bytes may change under the faults.
    Database,
    /// A name the phone shows but will not let the host stat, open or list.
    Denied,
    /// A file whose every access fails with this AFC code (a snapshot's `Failed` read).
    Broken(u64),
    /// A photo's or video's original, made on demand.
    Original(Arc<Original>),
}

/// Photos.sqlite as it changes under `torn-db` and `growing-db`.
struct Database {
    state: Mutex<DbState>,
    /// `torn-db`: the next handle opened on the database is the one that tears.
    tear_armed: AtomicBool,
    growing: bool,
    /// `endless-db`: the size claimed; reads never end.
    endless: Option<u64>,
}

struct DbState {
    bytes: Contents,
    mtime: SystemTime,
    /// `torn-db` before the tear: the current database, served from the tear on.
    after_tear: Option<(Contents, SystemTime)>,
}

impl Database {
    fn snapshot(&self) -> (Contents, SystemTime) {
        let s = lock(&self.state);
        (s.bytes.clone(), s.mtime)
    }

    /// `growing-db`: one more page, a second later.
    fn grow(&self) {
        let mut s = lock(&self.state);
        let mut bytes = s.bytes.to_vec();
        bytes.extend(std::iter::repeat_n(0u8, GROWTH_BYTES));
        s.bytes = Contents::Flat(Arc::new(bytes));
        s.mtime += Duration::from_secs(1);
    }

    /// `torn-db`: the phone writes the database while a host is copying it.
    fn tear(&self) {
        let mut s = lock(&self.state);
        if let Some((bytes, mtime)) = s.after_tear.take() {
            s.bytes = bytes;
            s.mtime = mtime;
        }
    }
}

/// The phone's AFC filesystem.
pub(crate) struct Volume {
    /// Path relative to the AFC root ("" is the root) → node.
    nodes: BTreeMap<String, Node>,
    /// `afc-denied` paths.
    denied: Vec<String>,
    database: Option<Database>,
    /// GET_DEVICE_INFO's answer.
    device_info: Vec<(&'static str, String)>,
    /// `original-changes` and `original-vanishes` paths.
    original_changes: Vec<String>,
    original_vanishes: Vec<String>,
}

/// Counters of what hosts asked of one phone's AFC volume, kept on the phone
/// ([`Device::afc_activity`]) so that they span the volume of before and after a restart.
#[derive(Default)]
pub(crate) struct Activity {
    /// Requests that would write, create, remove or rename (all refused).
    pub write_requests: AtomicU64,
    /// Originals opened for reading (under `DCIM/`).
    pub original_opens: AtomicU64,
}

impl Activity {
    pub fn snapshot(&self) -> crate::AfcActivity {
        crate::AfcActivity {
            write_requests: self.write_requests.load(Ordering::SeqCst),
            original_opens: self.original_opens.load(Ordering::SeqCst),
        }
    }
}

/// What the volume is built from, taken off the device so the build can run on a blocking
/// thread.
pub(crate) struct VolumeSource {
    pub library: Option<PhotoLibrary>,
    pub library_profile: LibraryProfile,
    pub faults: Faults,
    /// The mtime of directories and of files whose snapshot has none.
    pub default_time: SystemTime,
    pub model: Option<String>,
    pub total_bytes: Option<u64>,
    pub free_bytes: Option<u64>,
}

fn is_at_or_below(path: &str, top: &str) -> bool {
    top.is_empty()
        || path == top
        || (path.len() > top.len() && path.starts_with(top) && path.as_bytes()[top.len()] == b'/')
}

fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    Some(path.rsplit_once('/').map_or("", |(p, _)| p))
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    getrandom::getrandom(&mut bytes).expect("the OS gives random bytes");
    if bytes.starts_with(&SQLITE_MAGIC[..4]) {
        bytes[0] ^= 0xFF;
    }
    bytes
}

/// The database as it was a moment before: another change counter, one page longer.
fn older_version(current: &[u8]) -> Vec<u8> {
    let mut older = current.to_vec();
    if older.len() >= 100 && older.starts_with(SQLITE_MAGIC) {
        let counter = u32::from_be_bytes(older[24..28].try_into().expect("4 bytes"));
        older[24..28].copy_from_slice(&counter.wrapping_sub(1).to_be_bytes());
    } else if let Some(first) = older.first_mut() {
        *first ^= 0x5A;
    }
    older.extend(std::iter::repeat_n(0u8, GROWTH_BYTES));
    older
}

/// The library a summary describes, in the profile asked for: main file and `-wal`.
fn build_library(
    summary: &synccheck_core::photos::LibrarySummary,
    profile: LibraryProfile,
) -> Result<(Contents, Vec<u8>), crate::synth::SynthError> {
    match profile {
        LibraryProfile::Compact => {
            let synth = crate::synth::build(summary)?;
            Ok((Contents::Flat(Arc::new(synth.main)), synth.wal))
        }
        LibraryProfile::Realistic => {
            let started = std::time::Instant::now();
            let lazy = crate::synth::build_realistic(summary)?;
            tracing::info!(
                bytes = lazy.main.len(),
                wal_bytes = lazy.wal.len(),
                kept_pages = lazy.main.distinct_pages(),
                elapsed = ?started.elapsed(),
                "realistic Photos.sqlite ready"
            );
            Ok((Contents::Paged(Arc::new(lazy.main)), lazy.wal))
        }
    }
}

impl Volume {
    pub fn build(source: VolumeSource) -> Volume {
        let t0 = source.default_time;
        let mut volume = Volume {
            nodes: BTreeMap::new(),
            denied: source.faults.afc_denied.clone(),
            database: None,
            original_changes: source.faults.original_changes.clone(),
            original_vanishes: source.faults.original_vanishes.clone(),
            device_info: vec![
                ("Model", source.model.unwrap_or_else(|| "iPhone".into())),
                (
                    "FSTotalBytes",
                    source.total_bytes.unwrap_or(64_000_000_000).to_string(),
                ),
                (
                    "FSFreeBytes",
                    source.free_bytes.unwrap_or(16_000_000_000).to_string(),
                ),
                ("FSBlockSize", "4096".into()),
            ],
        };
        volume.add_dir("PhotoData", t0);
        let Some(library) = source.library else {
            return volume;
        };
        for dir in LIBRARY_DIRS {
            volume.add_dir(dir, t0);
        }
        for (path, read) in &library.files {
            let Ok(path) = normalize_afc_path(path) else {
                tracing::warn!(%path, "PhotoLibrary file path is not a path below the AFC root; not served");
                continue;
            };
            if path.is_empty() {
                continue;
            }
            let node = match read {
                FileRead::Present { contents, modified } => Node::File {
                    data: Arc::new(contents.clone()),
                    mtime: modified.unwrap_or(t0),
                },
                FileRead::PermissionDenied => Node::Denied,
                FileRead::NotFound => continue,
                FileRead::Failed(_) => Node::Broken(code::READ_ERROR),
            };
            volume.add(&path, node, t0);
        }
        if source.faults.afc_plist_bomb {
            // Hostile: a few hundred bytes that reuse one array until a billion values.
            let bomb = synccheck_wire::plist_bombs::Bomb::Reuse {
                levels: 5,
                width: 64,
            };
            let node = Node::File {
                data: Arc::new(bomb.in_message(&[], "Bomb")),
                mtime: t0,
            };
            volume.add(synccheck_core::photos::SYNC_STATUS, node, t0);
        }
        let db_time = library.read_at.unwrap_or(t0);
        match &library.database {
            DatabaseRead::Summary(summary) => {
                match build_library(summary, source.library_profile) {
                    Ok((synth_main, synth_wal)) => {
                        volume.add_originals(&synth_main, &synth_wal, t0);
                        let flat = |bytes: Vec<u8>| Contents::Flat(Arc::new(bytes));
                        let (main, wal) = if source.faults.not_sqlite_db {
                            (
                                flat(random_bytes((synth_main.len() as usize).max(4096))),
                                synth_wal,
                            )
                        } else if source.faults.slow_db {
                            match crate::synth::build_pathological() {
                                Ok(slow) => (flat(slow), Vec::new()),
                                Err(e) => {
                                    tracing::warn!("cannot build the slow-db library ({e})");
                                    (synth_main, synth_wal)
                                }
                            }
                        } else {
                            (synth_main, synth_wal)
                        };
                        volume.add_database(main, wal, db_time, &source.faults);
                    }
                    Err(e) => tracing::warn!(
                        "cannot build the simulated Photos.sqlite ({e}); the phone serves none"
                    ),
                }
            }
            // A library in a format the scan did not know: serve one that lacks the same.
            DatabaseRead::NotRecognised { schema, missing } => {
                match crate::synth::build_unrecognised(schema.as_deref(), missing) {
                    Ok(synth) => volume.add_database(
                        Contents::Flat(Arc::new(synth.main)),
                        synth.wal,
                        db_time,
                        &source.faults,
                    ),
                    Err(e) => tracing::warn!(
                        "cannot build the simulated Photos.sqlite ({e}); the phone serves none"
                    ),
                }
            }
            // The copy a scan made could not be read: serve a database nothing can read.
            DatabaseRead::Unreadable(_) => volume.add_database(
                Contents::Flat(Arc::new(random_bytes(64 * 1024))),
                Vec::new(),
                db_time,
                &source.faults,
            ),
            DatabaseRead::PermissionDenied => {
                volume.add(DATABASE, Node::Denied, t0);
                volume.add(DATABASE_WAL, Node::Denied, t0);
            }
            DatabaseRead::NotFound | DatabaseRead::Skipped => {}
        }
        volume
    }

    /// Every original the library places on the phone, under `DCIM/`.
    fn add_originals(&mut self, main: &Contents, wal: &[u8], t0: SystemTime) {
        let listed = match originals::list_contents(main, wal) {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!("cannot list the simulated library's originals ({e}); none served");
                return;
            }
        };
        for item in listed {
            let mtime = item.modified.unwrap_or(t0);
            let files = std::iter::once((item.path, item.size)).chain(item.live_video);
            for (path, size) in files {
                let Ok(path) = normalize_afc_path(&path) else {
                    continue;
                };
                if path.is_empty() || self.nodes.contains_key(&path) {
                    continue;
                }
                let node = Node::Original(Arc::new(Original::new(path.clone(), size, mtime)));
                self.add(&path, node, t0);
            }
        }
    }

    fn add_dir(&mut self, path: &str, mtime: SystemTime) {
        self.add(path, Node::Dir { mtime }, mtime);
    }

    /// Adds a node and the directories above it.
    fn add(&mut self, path: &str, node: Node, dir_time: SystemTime) {
        let mut up = parent(path);
        while let Some(p) = up {
            self.nodes
                .entry(p.to_string())
                .or_insert(Node::Dir { mtime: dir_time });
            up = parent(p);
        }
        self.nodes.insert(path.to_string(), node);
    }

    fn add_database(&mut self, main: Contents, wal: Vec<u8>, mtime: SystemTime, faults: &Faults) {
        let current = main;
        let state = if faults.torn_db {
            DbState {
                bytes: Contents::Flat(Arc::new(older_version(&current.to_vec()))),
                mtime: mtime.checked_sub(TORN_AGE).unwrap_or(mtime),
                after_tear: Some((current, mtime)),
            }
        } else {
            DbState {
                bytes: current,
                mtime,
                after_tear: None,
            }
        };
        self.database = Some(Database {
            state: Mutex::new(state),
            tear_armed: AtomicBool::new(faults.torn_db),
            growing: faults.growing_db,
            endless: faults.endless_db,
        });
        self.add(DATABASE, Node::Database, mtime);
        if !wal.is_empty() {
            self.add(
                DATABASE_WAL,
                Node::File {
                    data: Arc::new(wal),
                    mtime,
                },
                mtime,
            );
        }
    }

    /// The node at a request's path, or the AFC error for it. `afc-denied` wins over
    /// existence, as search permission on a directory is checked before its entries.
    fn lookup(&self, path: &str) -> Result<(String, &Node), u64> {
        let path = normalize_afc_path(path).map_err(|_| code::INVALID_ARG)?;
        if self.denied.iter().any(|d| is_at_or_below(&path, d)) {
            return Err(code::PERMISSION_DENIED);
        }
        match self.nodes.get(&path) {
            Some(Node::Denied) => Err(code::PERMISSION_DENIED),
            Some(Node::Broken(c)) => Err(*c),
            Some(Node::Original(o)) if o.is_gone() => Err(code::OBJECT_NOT_FOUND),
            Some(node) => Ok((path, node)),
            None => Err(code::OBJECT_NOT_FOUND),
        }
    }

    fn children<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = (&'a str, &'a Node)> + 'a {
        self.nodes
            .iter()
            .filter(move |(p, _)| !p.is_empty() && parent(p) == Some(dir))
            .filter(|(_, n)| !matches!(n, Node::Original(o) if o.is_gone()))
            .map(|(p, n)| (p.rsplit_once('/').map_or(p.as_str(), |(_, name)| name), n))
    }

    fn read_dir(&self, path: &str) -> Result<Vec<u8>, u64> {
        let (path, node) = self.lookup(path)?;
        match node {
            Node::Dir { .. } => {
                let names: Vec<&str> = [".", ".."]
                    .into_iter()
                    .chain(self.children(&path).map(|(name, _)| name))
                    .collect();
                Ok(codec::encode_strings(names))
            }
            // opendir(3) on a file fails; which AFC code a phone turns that into is unverified.
            _ => Err(code::READ_ERROR),
        }
    }

    fn file_info(&self, path: &str) -> Result<Vec<u8>, u64> {
        let (path, node) = self.lookup(path)?;
        let (size, mtime, ifmt, nlink) = match node {
            Node::Dir { mtime } => {
                let entries = self.children(&path).count() as u64;
                let subdirs = self
                    .children(&path)
                    .filter(|(_, n)| matches!(n, Node::Dir { .. }))
                    .count() as u64;
                ((entries + 2) * 32, *mtime, "S_IFDIR", 2 + subdirs)
            }
            Node::File { data, mtime } => (data.len() as u64, *mtime, "S_IFREG", 1),
            Node::Original(o) => (o.size(), o.mtime(), "S_IFREG", 1),
            Node::Database => {
                let db = self
                    .database
                    .as_ref()
                    .expect("a Database node has its database");
                let (bytes, mtime) = db.snapshot();
                let size = db.endless.unwrap_or(bytes.len());
                (size, mtime, "S_IFREG", 1)
            }
            Node::Denied | Node::Broken(_) => unreachable!("lookup answers these with an error"),
        };
        let ns = mtime
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64);
        // APFS allocates in 4 KiB blocks; st_blocks counts 512-byte units.
        let blocks = size.div_ceil(4096) * 8;
        Ok(codec::encode_pairs([
            ("st_size", size.to_string()),
            ("st_blocks", blocks.to_string()),
            ("st_nlink", nlink.to_string()),
            ("st_ifmt", ifmt.to_string()),
            ("st_mtime", ns.to_string()),
            ("st_birthtime", ns.to_string()),
        ]))
    }
}

/// An open file on one connection.
struct Handle {
    target: Target,
    pos: u64,
    reads: u64,
    /// `torn-db`: this handle's first read makes the phone write the database.
    tears: bool,
    /// Photos.sqlite or its `-wal`, which `trickle` slows.
    library: bool,
}

enum Target {
    Static(Arc<Vec<u8>>),
    Database,
    Original(Arc<Original>),
}

struct Reply {
    operation: u64,
    args: Vec<u8>,
    payload: Vec<u8>,
}

impl Reply {
    fn status(c: u64) -> Self {
        Reply {
            operation: op::STATUS,
            args: c.to_le_bytes().to_vec(),
            payload: Vec::new(),
        }
    }

    fn data(payload: Vec<u8>) -> Self {
        Reply {
            operation: op::DATA,
            args: Vec::new(),
            payload,
        }
    }

    /// Its size on the wire, header included.
    fn wire_len(&self) -> u64 {
        (codec::HEADER_LEN + self.args.len() + self.payload.len()) as u64
    }

    fn result(result: Result<Vec<u8>, u64>) -> Self {
        match result {
            Ok(payload) => Reply::data(payload),
            Err(c) => Reply::status(c),
        }
    }
}

struct Connection {
    device: Arc<Device>,
    volume: Arc<Volume>,
    handles: HashMap<u64, Handle>,
    next_handle: u64,
    /// `trickle`: how late the reply being sent is.
    reply_delay: Option<Duration>,
    stats: Arc<AfcConnectionStats>,
}

pub(crate) async fn serve(device: Arc<Device>, stream: BoxStream) -> Result<(), ServiceError> {
    let volume = device.afc_volume().await;
    let (number, stats) = device.afc_stats.open();
    let mut conn = Connection {
        device: Arc::clone(&device),
        volume,
        handles: HashMap::new(),
        // pymobiledevice3 takes handle 0 for a failed open: start at 1, as phones do.
        next_handle: 1,
        reply_delay: None,
        stats: Arc::clone(&stats),
    };
    let result = match device.faults.link {
        _ if device.faults.afc_silent => serve_silent(&device, stream).await,
        Some(link) => serve_linked(&mut conn, stream, link).await,
        None => serve_direct(&mut conn, stream).await,
    };
    let c = stats.snapshot();
    tracing::debug!(
        device = device.id,
        connection = number,
        requests = c.requests,
        round_trips = c.round_trips,
        reads = c.reads,
        bytes_read = c.bytes_read,
        library_bytes = c.library_bytes,
        bytes_sent = c.bytes_sent,
        "AFC connection closed"
    );
    result
}

/// `afc-silent`: reads every request and answers none, until the host gives up and hangs up.
async fn serve_silent(device: &Device, mut stream: BoxStream) -> Result<(), ServiceError> {
    device.fault_acts(FaultMode::AfcSilent);
    loop {
        read_request(&mut stream).await?;
    }
}

/// A local socket: each request is answered before the next is read.
async fn serve_direct(conn: &mut Connection, mut stream: BoxStream) -> Result<(), ServiceError> {
    loop {
        let request = read_request(&mut stream).await?;
        conn.stats.request();
        tracing::trace!(
            device = conn.device.id,
            operation = request.operation(),
            "AFC request"
        );
        let reply = conn.answer(&request);
        conn.device.delay_reply().await;
        if let Some(late) = conn.reply_delay.take() {
            tokio::time::sleep(late).await;
        }
        conn.stats.reply_leaves(reply.wire_len());
        codec::write(
            &mut stream,
            request.packet_num(),
            reply.operation,
            &reply.args,
            &reply.payload,
        )
        .await
        .map_err(FrameError::from)?;
    }
}

/// Replies decided and waiting for the link, per connection; a client that sends more waits
/// (its requests stay in the socket), as a phone's queue is not endless either.
const MAX_IN_FLIGHT: usize = 32;

/// The `link` fault: requests are read and answered as they arrive, and each reply is written
/// once its round trip and its turn on the link are over (see [`crate::link`]). Pipelined
/// requests wait out their round trips together.
async fn serve_linked(
    conn: &mut Connection,
    stream: BoxStream,
    link: Link,
) -> Result<(), ServiceError> {
    conn.device.fault_acts(FaultMode::Link);
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Instant, u64, Reply)>(MAX_IN_FLIGHT);
    let stats = Arc::clone(&conn.stats);
    let lag = Arc::new(AtomicU64::new(0));
    let write_lag = Arc::clone(&lag);
    let write = async move {
        while let Some((depart, packet_num, reply)) = rx.recv().await {
            tokio::time::sleep_until(depart).await;
            let late = Instant::now().saturating_duration_since(depart);
            write_lag.store(late.as_nanos() as u64, Ordering::SeqCst);
            stats.reply_leaves(reply.wire_len());
            codec::write(
                &mut writer,
                packet_num,
                reply.operation,
                &reply.args,
                &reply.payload,
            )
            .await
            .map_err(FrameError::from)?;
        }
        Ok(())
    };
    tokio::select! {
        r = answer_linked(conn, &mut reader, link, tx, &lag) => r,
        w = write => w,
    }
}

async fn answer_linked<R: AsyncRead + Unpin>(
    conn: &mut Connection,
    reader: &mut R,
    link: Link,
    replies: tokio::sync::mpsc::Sender<(Instant, u64, Reply)>,
    lag: &AtomicU64,
) -> Result<(), ServiceError> {
    loop {
        let request = read_request(reader).await?;
        // Timers wake on the next millisecond, so the last reply left up to 1 ms after the
        // model said: take that back from this request's arrival, or a client that waits for
        // each reply would pay the rounding once per request, up to twice the round trip.
        let arrived = Instant::now() - Duration::from_nanos(lag.load(Ordering::SeqCst));
        conn.stats.request();
        tracing::trace!(
            device = conn.device.id,
            operation = request.operation(),
            "AFC request"
        );
        let reply = conn.answer(&request);
        let mut ready = arrived + link.rtt;
        if let Some(latency) = conn.device.faults.latency {
            conn.device.fault_acts(FaultMode::Latency);
            ready += latency;
        }
        if let Some(late) = conn.reply_delay.take() {
            ready += late;
        }
        let depart = conn.device.link_clock.book(&link, ready, reply.wire_len());
        if replies
            .send((depart, request.packet_num(), reply))
            .await
            .is_err()
        {
            return Ok(());
        }
    }
}

/// One request: a client may think as long as [`IDLE_TIMEOUT`] before it, the rest must follow
/// within [`BODY_TIMEOUT`]. A packet without the magic, with contradictory lengths or a body over
/// [`MAX_REQUEST_BODY`] ends the connection, nothing allocated for it.
async fn read_request<R: AsyncRead + Unpin + ?Sized>(stream: &mut R) -> Result<Packet, FrameError> {
    let mut raw = [0u8; codec::HEADER_LEN];
    let n = tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut raw[..1]))
        .await
        .map_err(|_| FrameError::Idle(IDLE_TIMEOUT))??;
    if n == 0 {
        return Err(synccheck_wire::FrameError::Closed.into());
    }
    tokio::time::timeout(BODY_TIMEOUT, async {
        stream.read_exact(&mut raw[1..]).await?;
        let header = codec::Header::parse(&raw)?;
        Ok(codec::read_body(stream, header, MAX_REQUEST_BODY).await?)
    })
    .await
    .map_err(|_| FrameError::SlowBody(BODY_TIMEOUT))?
}

impl Connection {
    /// A request that would change the phone: refused, and counted so tests can say none came.
    fn refuse_write(&self, operation: u64) {
        self.device
            .afc_activity
            .write_requests
            .fetch_add(1, Ordering::SeqCst);
        tracing::warn!(
            device = self.device.id,
            operation,
            "refused an AFC request that would change the phone"
        );
    }

    fn answer(&mut self, request: &Packet) -> Reply {
        let args = &request.body;
        let path = || codec::path_arg(args).ok_or(code::INVALID_ARG);
        let word = |i| codec::u64_at(args, i).ok_or(code::INVALID_ARG);
        match request.operation() {
            op::READ_DIR => Reply::result(path().and_then(|p| self.volume.read_dir(p))),
            op::GET_FILE_INFO => Reply::result(path().and_then(|p| self.volume.file_info(p))),
            op::GET_DEVICE_INFO => Reply::data(codec::encode_pairs(
                self.volume.device_info.iter().map(|(k, v)| (*k, v.clone())),
            )),
            op::FILE_OPEN => match self.open(args) {
                Ok(handle) => Reply {
                    operation: op::FILE_OPEN_RESULT,
                    args: handle.to_le_bytes().to_vec(),
                    payload: Vec::new(),
                },
                Err(c) => Reply::status(c),
            },
            op::FILE_READ => match (word(0), word(1)) {
                (Ok(h), Ok(size)) => Reply::result(self.read(h, size)),
                _ => Reply::status(code::INVALID_ARG),
            },
            op::FILE_SEEK => Reply::status(self.seek(args).err().unwrap_or(code::SUCCESS)),
            op::FILE_TELL => match word(0).and_then(|h| self.handle(h)) {
                Ok(handle) => Reply {
                    operation: op::FILE_TELL_RESULT,
                    args: handle.pos.to_le_bytes().to_vec(),
                    payload: Vec::new(),
                },
                Err(c) => Reply::status(c),
            },
            op::FILE_CLOSE => match word(0) {
                Ok(h) if self.handles.remove(&h).is_some() => Reply::status(code::SUCCESS),
                _ => Reply::status(code::INVALID_ARG),
            },
            // A shared or exclusive advisory lock on a read-only file changes nothing.
            op::FILE_LOCK => Reply::status(
                word(0)
                    .and_then(|h| self.handle(h).map(|_| code::SUCCESS))
                    .unwrap_or_else(|c| c),
            ),
            op::SET_CONNECTION_OPTIONS | op::SET_FS_BLOCK_SIZE | op::SET_SOCKET_BLOCK_SIZE => {
                Reply::status(code::SUCCESS)
            }
            op::WRITE_FILE
            | op::WRITE_PART
            | op::TRUNCATE
            | op::REMOVE_PATH
            | op::MAKE_DIR
            | op::WRITE_FILE_ATOMIC
            | op::FILE_WRITE
            | op::FILE_SET_SIZE
            | op::RENAME_PATH
            | op::MAKE_LINK
            | op::SET_FILE_TIME
            | op::REMOVE_PATH_AND_CONTENTS => {
                self.refuse_write(request.operation());
                Reply::status(code::PERMISSION_DENIED)
            }
            op::READ_FILE | op::GET_FILE_HASH | op::GET_CONNECTION_INFO => {
                Reply::status(code::OP_NOT_SUPPORTED)
            }
            _ => Reply::status(code::UNKNOWN_PACKET_TYPE),
        }
    }

    fn handle(&self, h: u64) -> Result<&Handle, u64> {
        self.handles.get(&h).ok_or(code::INVALID_ARG)
    }

    fn open(&mut self, args: &[u8]) -> Result<u64, u64> {
        let mode = codec::u64_at(args, 0).ok_or(code::INVALID_ARG)?;
        let path = codec::path_arg(&args[8..]).ok_or(code::INVALID_ARG)?;
        match mode {
            codec::mode::READ_ONLY => {}
            // Every mode that could create, truncate or write: the phone is read-only.
            2..=6 => {
                self.refuse_write(op::FILE_OPEN);
                return Err(code::PERMISSION_DENIED);
            }
            _ => return Err(code::INVALID_ARG),
        }
        let (normalized, node) = self.volume.lookup(path)?;
        let library = normalized == DATABASE || normalized == DATABASE_WAL;
        let (target, tears) = match node {
            Node::File { data, .. } => (Target::Static(Arc::clone(data)), false),
            Node::Database => {
                let db = self.volume.database.as_ref().expect("database node");
                let tears = db.tear_armed.swap(false, Ordering::SeqCst);
                (Target::Database, tears)
            }
            Node::Original(o) => {
                self.device
                    .afc_activity
                    .original_opens
                    .fetch_add(1, Ordering::SeqCst);
                (Target::Original(Arc::clone(o)), false)
            }
            Node::Dir { .. } => return Err(code::OBJECT_IS_DIR),
            Node::Denied | Node::Broken(_) => unreachable!("lookup answers these with an error"),
        };
        if self.handles.len() >= MAX_HANDLES {
            return Err(code::NO_RESOURCES);
        }
        let h = self.next_handle;
        self.next_handle += 1;
        self.handles.insert(
            h,
            Handle {
                target,
                pos: 0,
                reads: 0,
                tears,
                library,
            },
        );
        Ok(h)
    }

    fn read(&mut self, h: u64, size: u64) -> Result<Vec<u8>, u64> {
        let volume = Arc::clone(&self.volume);
        let device = Arc::clone(&self.device);
        let handle = self.handles.get_mut(&h).ok_or(code::INVALID_ARG)?;
        let db = volume.database.as_ref();
        let bytes = match &handle.target {
            Target::Original(o) => {
                if handle.reads == 0 {
                    if volume.original_changes.contains(&o.path) {
                        device.fault_acts(FaultMode::OriginalChanges);
                        o.change();
                    }
                    if volume.original_vanishes.contains(&o.path) {
                        device.fault_acts(FaultMode::OriginalVanishes);
                        o.vanish();
                    }
                }
                let chunk = o.read(handle.pos, size.min(MAX_READ));
                self.stats.read(chunk.len() as u64, false);
                handle.pos += chunk.len() as u64;
                handle.reads += 1;
                return Ok(chunk);
            }
            Target::Static(data) => Contents::Flat(Arc::clone(data)),
            Target::Database if db.is_some_and(|db| db.endless.is_some()) => {
                // `endless-db`: zeros, as much as was asked, for ever.
                if handle.reads == 0 {
                    device.fault_acts(FaultMode::EndlessDb);
                }
                handle.reads += 1;
                let zeros = size.min(MAX_READ);
                self.stats.read(zeros, true);
                return Ok(vec![0u8; zeros as usize]);
            }
            Target::Database => {
                let db = db.expect("database handle");
                if handle.reads == 0 && db.growing {
                    device.fault_acts(FaultMode::GrowingDb);
                    db.grow();
                }
                db.snapshot().0
            }
        };
        let len = bytes.len();
        let start = handle.pos.min(len);
        let trickle = self.device.faults.trickle.filter(|_| handle.library);
        // `trickle`: one byte per reply, each one late.
        let most = if trickle.is_some() { 1 } else { MAX_READ };
        let end = start.saturating_add(size.min(most)).min(len);
        if trickle.is_some() && handle.reads == 0 {
            device.fault_acts(FaultMode::Trickle);
        }
        self.reply_delay = trickle;
        let chunk = bytes.read(start, end);
        self.stats.read(chunk.len() as u64, handle.library);
        handle.pos = end.max(handle.pos);
        handle.reads += 1;
        if handle.tears && handle.reads == 1 {
            device.fault_acts(FaultMode::TornDb);
            if let Some(db) = db {
                db.tear();
            }
        }
        Ok(chunk)
    }

    fn seek(&mut self, args: &[u8]) -> Result<(), u64> {
        let h = codec::u64_at(args, 0).ok_or(code::INVALID_ARG)?;
        let whence = codec::u64_at(args, 1).ok_or(code::INVALID_ARG)?;
        let offset = codec::u64_at(args, 2).ok_or(code::INVALID_ARG)? as i64;
        let size = {
            let handle = self.handle(h)?;
            match &handle.target {
                Target::Static(d) => d.len() as u64,
                Target::Original(o) => o.size(),
                Target::Database => self
                    .volume
                    .database
                    .as_ref()
                    .map_or(0, |db| db.snapshot().0.len()),
            }
        };
        let handle = self.handles.get_mut(&h).ok_or(code::INVALID_ARG)?;
        let base = match whence {
            0 => 0i128,
            1 => handle.pos as i128,
            2 => size as i128,
            _ => return Err(code::INVALID_ARG),
        };
        let to = base + offset as i128;
        if to < 0 || to > u64::MAX as i128 {
            return Err(code::INVALID_ARG);
        }
        handle.pos = to as u64;
        Ok(())
    }
}

impl Device {
    /// The phone's AFC filesystem, built on first use (making a large Photos.sqlite takes a
    /// moment) and shared by every AFC connection after it, so the faults that change the
    /// database act once per phone.
    pub(crate) async fn afc_volume(self: &Arc<Self>) -> Arc<Volume> {
        let device = Arc::clone(self);
        let volume = match self.serves_after_restart() {
            true => &self.afc_after_restart,
            false => &self.afc,
        };
        volume
            .get_or_init(|| async move {
                let source = device.volume_source();
                for mode in [
                    (!source.faults.afc_denied.is_empty(), FaultMode::AfcDenied),
                    (source.faults.not_sqlite_db, FaultMode::NotSqliteDb),
                    (source.faults.afc_plist_bomb, FaultMode::AfcPlistBomb),
                    (source.faults.slow_db, FaultMode::SlowDb),
                ] {
                    if mode.0 {
                        device.fault_acts(mode.1);
                    }
                }
                let started = std::time::Instant::now();
                let volume = tokio::task::spawn_blocking(move || Volume::build(source))
                    .await
                    .unwrap_or_else(|e| {
                        tracing::error!("building the AFC tree failed: {e}");
                        Volume::build(VolumeSource {
                            library: None,
                            library_profile: LibraryProfile::Compact,
                            faults: Faults::default(),
                            default_time: SystemTime::now(),
                            model: None,
                            total_bytes: None,
                            free_bytes: None,
                        })
                    });
                tracing::debug!(device = device.id, elapsed = ?started.elapsed(), "AFC tree ready");
                Arc::new(volume)
            })
            .await
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synccheck_core::photos::LibrarySummary;

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn library() -> PhotoLibrary {
        let mut files = BTreeMap::new();
        files.insert(
            synccheck_core::photos::SYNC_STATUS.to_string(),
            FileRead::Present {
                contents: b"<plist/>".to_vec(),
                modified: Some(t(1_700_000_000)),
            },
        );
        files.insert(
            synccheck_core::photos::APP_PRIVATE_DATA.to_string(),
            FileRead::PermissionDenied,
        );
        files.insert(
            synccheck_core::photos::PAUSE.to_string(),
            FileRead::NotFound,
        );
        PhotoLibrary {
            files,
            database: DatabaseRead::NotFound,
            copied_bytes: None,
            read_at: None,
        }
    }

    fn volume(library: Option<PhotoLibrary>, faults: Faults) -> Volume {
        Volume::build(VolumeSource {
            library,
            library_profile: LibraryProfile::Compact,
            faults,
            default_time: t(1_600_000_000),
            model: Some("iPhone14,5".into()),
            total_bytes: Some(128),
            free_bytes: Some(64),
        })
    }

    fn names(v: &Volume, path: &str) -> Vec<String> {
        codec::decode_strings(&v.read_dir(path).unwrap()).unwrap()
    }

    #[test]
    fn tree_has_the_library_dirs_files_and_denied_names() {
        let v = volume(Some(library()), Faults::default());
        assert_eq!(names(&v, "/"), vec![".", "..", "PhotoData"]);
        assert_eq!(names(&v, "/PhotoData"), vec![".", "..", "CPL", "private"]);
        assert_eq!(
            names(&v, "PhotoData/CPL/"),
            vec![".", "..", "syncstatus.plist"]
        );
        assert_eq!(
            names(&v, "/PhotoData/private/com.apple.assetsd"),
            vec![".", "..", "appPrivateData.plist"]
        );
        let info =
            codec::decode_pairs(&v.file_info("/PhotoData/CPL/syncstatus.plist").unwrap()).unwrap();
        let get = |k: &str| info.iter().find(|(key, _)| key == k).unwrap().1.clone();
        assert_eq!(get("st_size"), "8");
        assert_eq!(get("st_ifmt"), "S_IFREG");
        assert_eq!(get("st_mtime"), "1700000000000000000");
        assert_eq!(
            v.file_info(synccheck_core::photos::APP_PRIVATE_DATA)
                .unwrap_err(),
            code::PERMISSION_DENIED
        );
        assert_eq!(
            v.file_info(synccheck_core::photos::PAUSE).unwrap_err(),
            code::OBJECT_NOT_FOUND
        );
        assert_eq!(v.read_dir("/nope").unwrap_err(), code::OBJECT_NOT_FOUND);
        assert_eq!(v.read_dir("/../etc").unwrap_err(), code::INVALID_ARG);
    }

    #[test]
    fn no_library_is_an_empty_photodata() {
        let v = volume(None, Faults::default());
        assert_eq!(names(&v, "/"), vec![".", "..", "PhotoData"]);
        assert_eq!(names(&v, "/PhotoData"), vec![".", ".."]);
    }

    #[test]
    fn afc_denied_covers_the_path_and_below_but_not_its_siblings() {
        let mut faults = Faults::default();
        faults.add(super::super::Fault::AfcDenied("PhotoData/CPL".into()));
        let v = volume(Some(library()), faults);
        assert_eq!(
            v.read_dir("PhotoData/CPL").unwrap_err(),
            code::PERMISSION_DENIED
        );
        assert_eq!(
            v.file_info("/PhotoData/CPL/syncstatus.plist").unwrap_err(),
            code::PERMISSION_DENIED
        );
        assert_eq!(
            v.file_info("/PhotoData/CPL/never-there").unwrap_err(),
            code::PERMISSION_DENIED
        );
        assert!(v
            .file_info("/PhotoData/CPLX")
            .is_err_and(|c| c == code::OBJECT_NOT_FOUND));
        assert!(names(&v, "/PhotoData").contains(&"CPL".to_string()));
    }

    #[test]
    fn older_version_differs_in_bytes_and_size() {
        let mut db = SQLITE_MAGIC.to_vec();
        db.resize(8192, 0);
        db[24..28].copy_from_slice(&5u32.to_be_bytes());
        let old = older_version(&db);
        assert_eq!(old.len(), db.len() + GROWTH_BYTES);
        assert_eq!(&old[24..28], &4u32.to_be_bytes());
        assert_ne!(old[..db.len()], db[..]);
        assert!(!random_bytes(64).starts_with(b"SQLi"));
    }

    #[test]
    fn denied_database_is_two_denied_names() {
        let lib = PhotoLibrary {
            database: DatabaseRead::PermissionDenied,
            ..library()
        };
        let v = volume(Some(lib), Faults::default());
        assert_eq!(v.file_info(DATABASE).unwrap_err(), code::PERMISSION_DENIED);
        assert_eq!(
            v.file_info(DATABASE_WAL).unwrap_err(),
            code::PERMISSION_DENIED
        );
        let _ = LibrarySummary::default();
    }
}
