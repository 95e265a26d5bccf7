//! com.apple.afc on the host side: stat, list, and read files under the phone's media root
//! (`/var/mobile/Media`). Files are only ever opened read-only; nothing here can write to the
//! phone.
//!
//! Two kinds of failure come back as [`AfcError`]: what the phone says about one file (not
//! found, permission denied, another AFC status), which is evidence about that file, and
//! [`AfcError::Device`], a broken, silent or unplugged connection, which ends the read. Every
//! wait is bounded by the timeout the connection was opened with, and every length the phone
//! announces is bounded by what was asked before anything is allocated (see `wire::afc`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::ClientConfig;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::error::within;
use super::lockdown::{start_service_on, ServicePort};
use super::usbmuxd::{AttachedDevice, Usbmuxd};
use super::{tls, BoxStream, DeviceError};
use synccheck_wire::afc::{self as codec, code, mode, op, Packet};
use synccheck_wire::FrameError;

pub const SERVICE: &str = "com.apple.afc";

/// Bytes asked for per read while copying. pymobiledevice3 reads real phones in 4 MiB requests;
/// larger requests are not known to be honoured.
pub const READ_CHUNK: u64 = 4 * 1024 * 1024;

/// Reads kept in flight while copying, so the phone is never idle waiting for the host to write
/// the last chunk to disk. AFC replies echo the packet number and come in request order.
const READS_IN_FLIGHT: usize = 2;

/// Replies that carry a status, a handle or a stat: a few hundred bytes on a phone.
const MAX_INFO_BODY: usize = 64 * 1024;

/// A directory listing: names of up to 255 bytes each; this allows some 60,000 of them.
const MAX_LISTING_BODY: usize = 16 * 1024 * 1024;

/// A file may grow while it is copied (a live database), but not without end: a copy stops with
/// [`AfcError::TooLarge`] past twice its size at the start plus this much.
const MAX_GROWTH_DURING_COPY: u64 = 256 * 1024 * 1024;

const WHAT: &str = "AFC";

/// What went wrong reading one path.
#[derive(Debug, thiserror::Error)]
pub enum AfcError {
    #[error("not found on the iPhone")]
    NotFound,
    #[error("the iPhone refused access (AFC permission denied)")]
    PermissionDenied,
    #[error("a directory, not a file")]
    NotAFile,
    #[error("{size} bytes, over the {max}-byte limit")]
    TooLarge { size: u64, max: u64 },
    #[error("the iPhone answered AFC error {0} ({desc})", desc = code::describe(*.0))]
    Other(u64),
    #[error("cannot write the local copy: {0}")]
    Local(#[source] std::io::Error),
    /// The scan's disk budget would be passed: the copy stops before writing more.
    #[error(transparent)]
    Limit(#[from] crate::limits::LimitError),
    /// The connection failed: nothing more can be read over it.
    #[error(transparent)]
    Device(#[from] DeviceError),
}

impl AfcError {
    fn from_code(c: u64) -> Self {
        match c {
            code::OBJECT_NOT_FOUND => AfcError::NotFound,
            code::PERMISSION_DENIED => AfcError::PermissionDenied,
            code::OBJECT_IS_DIR => AfcError::NotAFile,
            other => AfcError::Other(other),
        }
    }

    /// The connection is gone (as opposed to one file being unreadable).
    pub fn is_connection(&self) -> bool {
        matches!(self, AfcError::Device(_))
    }
}

/// What `st_ifmt` says a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
    Symlink,
    Other,
}

/// A path's size, modification time and kind, from GET_FILE_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub size: u64,
    /// `st_mtime`, which phones send in nanoseconds since 1970.
    pub modified: Option<SystemTime>,
    pub kind: FileKind,
}

/// Reads kept in flight by [`Afc::read_ranges`]: enough to cover a USB round trip at full
/// bandwidth, few enough that the requests (about 60 bytes each) never fill a socket buffer
/// while the phone waits for us to take its replies.
const RANGE_REQUESTS_IN_FLIGHT: usize = 32;

/// What one AFC connection has cost: requests sent and file bytes received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfcCounters {
    /// Every request: stat, open, seek, read, close…
    pub requests: u64,
    /// The bytes of every FILE_READ reply.
    pub read_bytes: u64,
    /// Pipelined batches of range reads ([`Afc::read_ranges`]): each costs about one round
    /// trip, whatever the number of requests in it.
    pub range_batches: u64,
}

/// An AFC connection to one phone.
pub struct Afc {
    stream: BoxStream,
    timeout: Duration,
    next_packet: u64,
    counters: AfcCounters,
}

/// Opens AFC on a paired phone: a lockdown session just long enough to start the service.
pub async fn connect(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    timeout: Duration,
) -> Result<Afc, DeviceError> {
    let (service, config) = start_service_on(mux, device, SERVICE, timeout).await?;
    Afc::open(mux, device.device_id, service, config, timeout).await
}

fn absolute(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

fn garbage(why: String) -> DeviceError {
    DeviceError::Garbage {
        what: WHAT,
        source: FrameError::BadHeader(why),
    }
}

/// Parses GET_FILE_INFO's key/value reply.
fn parse_stat(body: &[u8]) -> Result<FileStat, DeviceError> {
    let pairs = codec::decode_pairs(body).map_err(|e| DeviceError::from_frame(WHAT, e))?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let size = get("st_size")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| garbage("AFC file info without a numeric st_size".into()))?;
    let modified = get("st_mtime")
        .and_then(|v| v.parse::<u64>().ok())
        .map(|ns| UNIX_EPOCH + Duration::from_nanos(ns));
    let kind = match get("st_ifmt") {
        Some("S_IFREG") => FileKind::File,
        Some("S_IFDIR") => FileKind::Directory,
        Some("S_IFLNK") => FileKind::Symlink,
        _ => FileKind::Other,
    };
    Ok(FileStat {
        size,
        modified,
        kind,
    })
}

impl Afc {
    /// AFC over an already connected service stream (plaintext, as phones serve it).
    pub fn new(stream: BoxStream, timeout: Duration) -> Self {
        Afc {
            stream,
            timeout,
            next_packet: 0,
            counters: AfcCounters::default(),
        }
    }

    /// What this connection has cost so far.
    pub fn counters(&self) -> AfcCounters {
        self.counters
    }

    /// The service stream, for tools and tests that speak AFC packets themselves.
    pub fn into_inner(self) -> BoxStream {
        self.stream
    }

    /// Connects to the port lockdown's StartService gave, with TLS if it asked for it.
    pub async fn open(
        mux: &Usbmuxd,
        device_id: u64,
        service: ServicePort,
        config: Arc<ClientConfig>,
        timeout: Duration,
    ) -> Result<Afc, DeviceError> {
        let mut stream = mux.connect(device_id, service.port, WHAT).await?;
        if service.ssl {
            stream = within(
                timeout,
                "the AFC TLS handshake",
                tls::connect(config, stream),
            )
            .await?;
        }
        Ok(Afc::new(stream, timeout))
    }

    async fn send(&mut self, operation: u64, args: &[u8]) -> Result<u64, DeviceError> {
        let number = self.next_packet;
        self.next_packet += 1;
        self.counters.requests += 1;
        let bytes = codec::encode(number, operation, args, &[]);
        let stream = &mut self.stream;
        within(self.timeout, WHAT, async {
            stream
                .write_all(&bytes)
                .await
                .map_err(|e| DeviceError::from_frame(WHAT, e.into()))?;
            stream
                .flush()
                .await
                .map_err(|e| DeviceError::from_frame(WHAT, e.into()))
        })
        .await?;
        Ok(number)
    }

    /// Reads the reply to packet `number`: a body over `max_body` is refused unread.
    async fn receive(&mut self, number: u64, max_body: usize) -> Result<Packet, DeviceError> {
        let stream = &mut self.stream;
        let reply = within(self.timeout, WHAT, async {
            codec::read(stream, max_body)
                .await
                .map_err(|e| DeviceError::from_frame(WHAT, e))
        })
        .await?;
        if reply.packet_num() != number {
            return Err(garbage(format!(
                "AFC reply to packet {} where {number} was expected",
                reply.packet_num()
            )));
        }
        Ok(reply)
    }

    /// A reply's body when it is `expect`; a STATUS with an error is that error. An empty
    /// success STATUS where data was expected counts as no data.
    fn body_of(reply: Packet, expect: u64) -> Result<Vec<u8>, AfcError> {
        match reply.status() {
            Some(code::SUCCESS) if expect == op::DATA || expect == op::STATUS => Ok(Vec::new()),
            Some(code::SUCCESS) => Err(garbage(format!(
                "AFC answered a bare success where operation {expect:#x} was due"
            ))
            .into()),
            Some(c) => Err(AfcError::from_code(c)),
            None if reply.operation() == expect => Ok(reply.body),
            None => Err(garbage(format!(
                "AFC answered operation {:#x} where {expect:#x} was due",
                reply.operation()
            ))
            .into()),
        }
    }

    async fn call(
        &mut self,
        operation: u64,
        args: &[u8],
        expect: u64,
        max_body: usize,
    ) -> Result<Vec<u8>, AfcError> {
        let number = self.send(operation, args).await?;
        let reply = self.receive(number, max_body).await?;
        Self::body_of(reply, expect)
    }

    /// Size, mtime and kind of a path.
    pub async fn stat(&mut self, path: &str) -> Result<FileStat, AfcError> {
        let body = self
            .call(
                op::GET_FILE_INFO,
                &codec::cstring(&absolute(path)),
                op::DATA,
                MAX_INFO_BODY,
            )
            .await?;
        Ok(parse_stat(&body)?)
    }

    /// The names in a directory, without `.` and `..`.
    pub async fn list_dir(&mut self, path: &str) -> Result<Vec<String>, AfcError> {
        let body = self
            .call(
                op::READ_DIR,
                &codec::cstring(&absolute(path)),
                op::DATA,
                MAX_LISTING_BODY,
            )
            .await?;
        let names = codec::decode_strings(&body).map_err(|e| DeviceError::from_frame(WHAT, e))?;
        Ok(names
            .into_iter()
            .filter(|n| n != "." && n != "..")
            .collect())
    }

    /// The filesystem's model and sizes (`Model`, `FSTotalBytes`, `FSFreeBytes`, `FSBlockSize`).
    pub async fn device_info(&mut self) -> Result<Vec<(String, String)>, AfcError> {
        let body = self
            .call(op::GET_DEVICE_INFO, &[], op::DATA, MAX_INFO_BODY)
            .await?;
        Ok(codec::decode_pairs(&body).map_err(|e| DeviceError::from_frame(WHAT, e))?)
    }

    /// Opens a file read-only; the only open mode synccheck sends.
    pub(crate) async fn open_read(&mut self, path: &str) -> Result<u64, AfcError> {
        let mut args = mode::READ_ONLY.to_le_bytes().to_vec();
        args.extend_from_slice(&codec::cstring(&absolute(path)));
        let body = self
            .call(op::FILE_OPEN, &args, op::FILE_OPEN_RESULT, MAX_INFO_BODY)
            .await?;
        Ok(codec::u64_at(&body, 0)
            .ok_or_else(|| garbage("AFC open reply without a handle".into()))?)
    }

    pub(crate) async fn close_file(&mut self, handle: u64) -> Result<(), AfcError> {
        self.call(
            op::FILE_CLOSE,
            &handle.to_le_bytes(),
            op::STATUS,
            MAX_INFO_BODY,
        )
        .await
        .map(|_| ())
    }

    async fn send_read(&mut self, handle: u64, size: u64) -> Result<u64, DeviceError> {
        let mut args = handle.to_le_bytes().to_vec();
        args.extend_from_slice(&size.to_le_bytes());
        self.send(op::FILE_READ, &args).await
    }

    /// The data answering read `number`, which asked for `size` bytes: more is refused unread.
    async fn receive_read(&mut self, number: u64, size: u64) -> Result<Vec<u8>, AfcError> {
        let max = usize::try_from(size).unwrap_or(usize::MAX);
        let reply = self.receive(number, max).await?;
        let body = Self::body_of(reply, op::DATA)?;
        self.counters.read_bytes += body.len() as u64;
        Ok(body)
    }

    async fn send_seek(&mut self, handle: u64, offset: u64) -> Result<u64, DeviceError> {
        let mut args = handle.to_le_bytes().to_vec();
        args.extend_from_slice(&0u64.to_le_bytes()); // SEEK_SET
        args.extend_from_slice(&offset.to_le_bytes());
        self.send(op::FILE_SEEK, &args).await
    }

    /// Reads each `(offset, length)` range of an open file: a seek and a read per range, up
    /// to [`RANGE_REQUESTS_IN_FLIGHT`] requests sent before their replies are read, so a batch
    /// costs about one round trip, not one per range. Every read has its seek, so a read
    /// answered short never shifts the next one. A range answered short is read on where it
    /// stopped, until the phone answers nothing (the end of the file).
    pub(crate) async fn read_ranges(
        &mut self,
        handle: u64,
        ranges: &[(u64, u64)],
    ) -> Result<Vec<Vec<u8>>, AfcError> {
        enum Sent {
            Seek,
            Read(usize, u64),
        }
        let mut out: Vec<Vec<u8>> = vec![Vec::new(); ranges.len()];
        let mut plan: VecDeque<(usize, u64, u64)> = ranges
            .iter()
            .enumerate()
            .filter(|(_, (_, len))| *len > 0)
            .map(|(i, &(offset, len))| (i, offset, len))
            .collect();
        let mut in_flight: VecDeque<(u64, Sent)> = VecDeque::new();
        let mut failure: Option<AfcError> = None;
        self.counters.range_batches += 1;
        loop {
            while failure.is_none() && in_flight.len() + 2 <= RANGE_REQUESTS_IN_FLIGHT {
                let Some((i, offset, len)) = plan.pop_front() else {
                    break;
                };
                let len = len.min(READ_CHUNK);
                in_flight.push_back((self.send_seek(handle, offset).await?, Sent::Seek));
                in_flight.push_back((self.send_read(handle, len).await?, Sent::Read(i, len)));
            }
            let Some((number, sent)) = in_flight.pop_front() else {
                break;
            };
            match sent {
                Sent::Seek => {
                    let reply = self.receive(number, MAX_INFO_BODY).await?;
                    if let Err(e) = Self::body_of(reply, op::STATUS) {
                        failure.get_or_insert(e);
                    }
                }
                Sent::Read(i, asked) => match self.receive_read(number, asked).await {
                    Err(e @ AfcError::Device(_)) => return Err(e),
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                    Ok(bytes) => {
                        out[i].extend_from_slice(&bytes);
                        let (offset, len) = ranges[i];
                        let done = out[i].len() as u64;
                        if !bytes.is_empty() && done < len {
                            plan.push_front((i, offset + done, len - done));
                        }
                    }
                },
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// A whole small file and its stat; a file over `max` bytes (at the stat, or as it is
    /// read) is refused.
    pub async fn read_file(
        &mut self,
        path: &str,
        max: u64,
    ) -> Result<(FileStat, Vec<u8>), AfcError> {
        let stat = self.stat(path).await?;
        match stat.kind {
            FileKind::Directory => return Err(AfcError::NotAFile),
            _ if stat.size > max => {
                return Err(AfcError::TooLarge {
                    size: stat.size,
                    max,
                })
            }
            _ => {}
        }
        let handle = self.open_read(path).await?;
        let mut data = Vec::new();
        let read = async {
            loop {
                // One byte more than allowed, to notice a file that grew past the limit.
                let want = max
                    .saturating_add(1)
                    .saturating_sub(data.len() as u64)
                    .min(READ_CHUNK);
                let number = self.send_read(handle, want).await?;
                let chunk = self.receive_read(number, want).await?;
                if chunk.is_empty() {
                    return Ok(());
                }
                data.extend_from_slice(&chunk);
                if data.len() as u64 > max {
                    return Err(AfcError::TooLarge {
                        size: data.len() as u64,
                        max,
                    });
                }
            }
        }
        .await;
        self.finish(handle, read).await?;
        Ok((stat, data))
    }

    /// A whole file of at most `max` bytes.
    pub async fn read_small(&mut self, path: &str, max: u64) -> Result<Vec<u8>, AfcError> {
        Ok(self.read_file(path, max).await?.1)
    }

    /// Copies a file into `local` in large reads, a few in flight, until the phone reports the
    /// end (a file that grows while it is copied is copied as it grows). `progress` hears
    /// (bytes copied, bytes expected) after every chunk; the expected size is the size at the
    /// start, or what has been copied when that is more. Returns the bytes copied.
    pub async fn copy_to<W: AsyncWrite + Unpin + ?Sized>(
        &mut self,
        path: &str,
        local: &mut W,
        progress: impl FnMut(u64, u64),
    ) -> Result<u64, AfcError> {
        let mut unlimited = crate::limits::DiskBudget::new(u64::MAX).charge();
        self.copy_within(path, local, &mut unlimited, progress)
            .await
    }

    /// As [`copy_to`](Self::copy_to), charging every chunk to `charge` before it is written:
    /// the copy stops with [`AfcError::Limit`] when the next chunk would pass the budget,
    /// whatever size the phone announced.
    pub async fn copy_within<W: AsyncWrite + Unpin + ?Sized>(
        &mut self,
        path: &str,
        local: &mut W,
        charge: &mut crate::limits::DiskCharge,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, AfcError> {
        let stat = self.stat(path).await?;
        if stat.kind == FileKind::Directory {
            return Err(AfcError::NotAFile);
        }
        let limit = stat
            .size
            .saturating_mul(2)
            .saturating_add(MAX_GROWTH_DURING_COPY);
        let handle = self.open_read(path).await?;
        let mut in_flight: VecDeque<u64> = VecDeque::with_capacity(READS_IN_FLIGHT);
        let mut copied = 0u64;
        let pump = async {
            for _ in 0..READS_IN_FLIGHT {
                in_flight.push_back(self.send_read(handle, READ_CHUNK).await?);
            }
            while let Some(number) = in_flight.pop_front() {
                let chunk = self.receive_read(number, READ_CHUNK).await?;
                if chunk.is_empty() {
                    // The end; the reads still in flight answer empty too.
                    continue;
                }
                // Ask for the next chunk before writing this one, so the phone keeps sending.
                in_flight.push_back(self.send_read(handle, READ_CHUNK).await?);
                charge.add(chunk.len() as u64)?;
                local.write_all(&chunk).await.map_err(AfcError::Local)?;
                copied += chunk.len() as u64;
                if copied > limit {
                    return Err(AfcError::TooLarge {
                        size: copied,
                        max: limit,
                    });
                }
                progress(copied, stat.size.max(copied));
            }
            local.flush().await.map_err(AfcError::Local)
        }
        .await;
        // After an error, take the replies still owed off the stream before closing the file.
        let pump = match pump {
            Err(e) if !e.is_connection() => {
                let mut outcome = Err(e);
                while let Some(number) = in_flight.pop_front() {
                    if let Err(d @ AfcError::Device(_)) =
                        self.receive_read(number, READ_CHUNK).await
                    {
                        outcome = Err(d);
                        break;
                    }
                }
                outcome
            }
            other => other,
        };
        self.finish(handle, pump).await?;
        Ok(copied)
    }

    /// Closes a file after reading it: the read's own error comes first, then a failed close.
    async fn finish(&mut self, handle: u64, read: Result<(), AfcError>) -> Result<(), AfcError> {
        match read {
            Err(e) if e.is_connection() => Err(e),
            Err(e) => {
                // A close that fails after a failed read adds nothing the caller needs.
                if let Err(d @ AfcError::Device(_)) = self.close_file(handle).await {
                    return Err(d);
                }
                Err(e)
            }
            Ok(()) => self.close_file(handle).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::DuplexStream;

    /// A phone that answers each request with the next scripted reply (given the request's
    /// packet number), then goes silent.
    fn phone(replies: Vec<Box<dyn Fn(u64) -> Vec<u8> + Send>>) -> Afc {
        let (host, mut phone): (DuplexStream, DuplexStream) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            for reply in replies {
                let Ok(req) = codec::read(&mut phone, 1 << 20).await else {
                    return;
                };
                if phone.write_all(&reply(req.packet_num())).await.is_err() {
                    return;
                }
            }
            // Silent, connection open.
            let _ = codec::read(&mut phone, 1 << 20).await;
            std::future::pending::<()>().await;
        });
        Afc::new(Box::new(host), Duration::from_millis(500))
    }

    fn status(c: u64) -> Box<dyn Fn(u64) -> Vec<u8> + Send> {
        Box::new(move |n| codec::encode(n, op::STATUS, &c.to_le_bytes(), &[]))
    }

    fn data(bytes: &'static [u8]) -> Box<dyn Fn(u64) -> Vec<u8> + Send> {
        Box::new(move |n| codec::encode(n, op::DATA, &[], bytes))
    }

    #[tokio::test]
    async fn status_codes_become_per_file_outcomes() {
        let mut afc = phone(vec![
            status(code::OBJECT_NOT_FOUND),
            status(code::PERMISSION_DENIED),
            status(code::READ_ERROR),
        ]);
        assert!(matches!(afc.stat("a").await, Err(AfcError::NotFound)));
        assert!(matches!(
            afc.list_dir("/b").await,
            Err(AfcError::PermissionDenied)
        ));
        let e = afc.stat("c").await.unwrap_err();
        assert!(matches!(e, AfcError::Other(4)), "{e}");
        assert!(e.to_string().contains("read error"));
        // Then silence: a timeout, which is about the connection.
        let e = afc.stat("d").await.unwrap_err();
        assert!(
            matches!(e, AfcError::Device(DeviceError::Timeout { .. })),
            "{e}"
        );
    }

    #[tokio::test]
    async fn stat_parses_the_key_value_reply() {
        let mut afc = phone(vec![data(
            b"st_size\x0012\x00st_blocks\x008\x00st_nlink\x001\x00st_ifmt\x00S_IFREG\x00st_mtime\x001700000000123456789\x00st_birthtime\x001700000000000000000\x00",
        )]);
        let s = afc.stat("/PhotoData/x").await.unwrap();
        assert_eq!(s.size, 12);
        assert_eq!(s.kind, FileKind::File);
        assert_eq!(
            s.modified,
            Some(UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789))
        );
    }

    #[tokio::test]
    async fn huge_lengths_and_garbage_are_refused_as_broken_replies() {
        let huge: Box<dyn Fn(u64) -> Vec<u8> + Send> = Box::new(|n| {
            let mut h = codec::header(n, op::DATA, 0, 0);
            h.entire_length = u64::MAX;
            h.to_bytes().to_vec()
        });
        let mut afc = phone(vec![huge]);
        let e = afc.list_dir("/").await.unwrap_err();
        assert!(
            matches!(
                e,
                AfcError::Device(DeviceError::Garbage {
                    source: FrameError::TooLarge { .. },
                    ..
                })
            ),
            "{e}"
        );

        let junk: Box<dyn Fn(u64) -> Vec<u8> + Send> = Box::new(|_| vec![0xEE; 64]);
        let mut afc = phone(vec![junk]);
        let e = afc.stat("/").await.unwrap_err();
        assert!(
            matches!(e, AfcError::Device(DeviceError::Garbage { .. })),
            "{e}"
        );

        // A reply to another packet, and a stat that is not key/value pairs.
        let wrong: Box<dyn Fn(u64) -> Vec<u8> + Send> =
            Box::new(|n| codec::encode(n + 5, op::DATA, &[], b""));
        let mut afc = phone(vec![wrong, data(b"st_size\0")]);
        assert!(afc.stat("/").await.unwrap_err().is_connection());
        let mut afc = phone(vec![data(b"st_size\0")]);
        assert!(afc.stat("/").await.unwrap_err().is_connection());
    }

    #[tokio::test]
    async fn a_read_bigger_than_asked_is_refused() {
        // stat: 4 bytes; open: handle 1; read(5 = max + 1): 6 bytes back.
        let mut afc = phone(vec![
            data(b"st_size\x004\x00st_ifmt\x00S_IFREG\x00"),
            Box::new(|n| codec::encode(n, op::FILE_OPEN_RESULT, &1u64.to_le_bytes(), &[])),
            data(b"123456"),
        ]);
        let e = afc.read_small("/x", 4).await.unwrap_err();
        assert!(
            matches!(
                e,
                AfcError::Device(DeviceError::Garbage {
                    source: FrameError::TooLarge { len: 6, max: 5 },
                    ..
                })
            ),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_copy_stops_before_a_chunk_would_pass_the_disk_budget() {
        // A file that says 4 bytes and then streams 8-byte chunks: the second would pass the
        // 12-byte budget, so only the first is written. The reads in flight are drained and
        // the file closed, leaving the connection usable.
        let chunk = || data(b"00000000");
        let mut afc = phone(vec![
            data(b"st_size\x004\x00st_ifmt\x00S_IFREG\x00"),
            Box::new(|n| codec::encode(n, op::FILE_OPEN_RESULT, &1u64.to_le_bytes(), &[])),
            chunk(),
            chunk(),
            chunk(),
            chunk(),
            status(code::SUCCESS),
            data(b"st_size\x004\x00st_ifmt\x00S_IFREG\x00"),
        ]);
        let budget = crate::limits::DiskBudget::new(12);
        let mut charge = budget.charge();
        let mut written = Vec::new();
        let e = afc
            .copy_within("/x", &mut written, &mut charge, |_, _| {})
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                AfcError::Limit(crate::limits::LimitError::OverBudget { limit: 12 })
            ),
            "{e}"
        );
        assert_eq!(written.len(), 8);
        assert_eq!(charge.bytes(), 8);
        assert_eq!(budget.held(), 8);
        assert!(afc.stat("/x").await.is_ok());
        drop(charge);
        assert_eq!(budget.held(), 0);
    }

    #[tokio::test]
    async fn a_closed_connection_is_an_unplugged_phone() {
        let (host, phone) = tokio::io::duplex(64);
        drop(phone);
        let mut afc = Afc::new(Box::new(host), Duration::from_secs(1));
        let e = afc.stat("/").await.unwrap_err();
        assert!(
            matches!(e, AfcError::Device(DeviceError::Unplugged(_))),
            "{e}"
        );
    }

    #[test]
    fn relative_paths_are_taken_from_the_root() {
        assert_eq!(absolute("PhotoData/CPL"), "/PhotoData/CPL");
        assert_eq!(absolute("/PhotoData"), "/PhotoData");
    }
}
