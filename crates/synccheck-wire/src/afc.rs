//! AFC, the Apple File Conduit (`com.apple.afc`): the phone's file service, rooted at
//! `/var/mobile/Media`, plaintext on the service connection.
//!
//! Every packet, request or reply, is a 40-byte little-endian header and a body:
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `CFA6LPAA` |
//! | 8..16 | `entire_length`: header + body |
//! | 16..24 | `this_length`: header + the body's "header payload" (the arguments) |
//! | 24..32 | `packet_num`: chosen by the host, echoed by the phone |
//! | 32..40 | `operation` ([`op`]) |
//!
//! The body is the header payload (arguments: a path, a handle and a size, ...) followed by the
//! bulk payload (file data, a listing). Peers disagree on where the split goes: hosts put the
//! arguments of most requests in the header payload (`this_length == entire_length`), phones
//! answer data in the bulk payload (`this_length == 40`) and status codes and handles in the
//! header payload. Both sides here therefore read the body as one piece and take the arguments
//! from its start, which works for every framing seen in libimobiledevice, pymobiledevice3,
//! go-ios and idevice.
//!
//! Written here, not taken from idevice: its AFC client allocates `entire_length` straight from
//! the wire, so a phone announcing 2^63 bytes would make it try to allocate that. Here the body
//! length is checked against a limit the caller chooses for what it expects (a read's requested
//! size, a listing's cap) before a single byte is allocated; see [`Header::body_len`].

#[cfg(feature = "io")]
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::FrameError;

pub const MAGIC: [u8; 8] = *b"CFA6LPAA";
pub const HEADER_LEN: usize = 40;

/// Operations (the header's `operation`).
pub mod op {
    pub const STATUS: u64 = 0x01;
    pub const DATA: u64 = 0x02;
    pub const READ_DIR: u64 = 0x03;
    pub const READ_FILE: u64 = 0x04;
    pub const WRITE_FILE: u64 = 0x05;
    pub const WRITE_PART: u64 = 0x06;
    pub const TRUNCATE: u64 = 0x07;
    pub const REMOVE_PATH: u64 = 0x08;
    pub const MAKE_DIR: u64 = 0x09;
    pub const GET_FILE_INFO: u64 = 0x0A;
    pub const GET_DEVICE_INFO: u64 = 0x0B;
    pub const WRITE_FILE_ATOMIC: u64 = 0x0C;
    pub const FILE_OPEN: u64 = 0x0D;
    pub const FILE_OPEN_RESULT: u64 = 0x0E;
    pub const FILE_READ: u64 = 0x0F;
    pub const FILE_WRITE: u64 = 0x10;
    pub const FILE_SEEK: u64 = 0x11;
    pub const FILE_TELL: u64 = 0x12;
    pub const FILE_TELL_RESULT: u64 = 0x13;
    pub const FILE_CLOSE: u64 = 0x14;
    pub const FILE_SET_SIZE: u64 = 0x15;
    pub const GET_CONNECTION_INFO: u64 = 0x16;
    pub const SET_CONNECTION_OPTIONS: u64 = 0x17;
    pub const RENAME_PATH: u64 = 0x18;
    pub const SET_FS_BLOCK_SIZE: u64 = 0x19;
    pub const SET_SOCKET_BLOCK_SIZE: u64 = 0x1A;
    pub const FILE_LOCK: u64 = 0x1B;
    pub const MAKE_LINK: u64 = 0x1C;
    pub const GET_FILE_HASH: u64 = 0x1D;
    pub const SET_FILE_TIME: u64 = 0x1E;
    pub const REMOVE_PATH_AND_CONTENTS: u64 = 0x22;
}

/// `FILE_OPEN` modes, as fopen(3) spells them.
pub mod mode {
    /// `r`: the only mode synccheck ever sends.
    pub const READ_ONLY: u64 = 1;
    /// `r+`
    pub const READ_WRITE: u64 = 2;
    /// `w`
    pub const WRITE_ONLY: u64 = 3;
    /// `w+`
    pub const WRITE_READ: u64 = 4;
    /// `a`
    pub const APPEND: u64 = 5;
    /// `a+`
    pub const READ_APPEND: u64 = 6;
}

/// Status codes in a `STATUS` reply (a u64 in the header payload; 0 is success).
pub mod code {
    pub const SUCCESS: u64 = 0;
    pub const UNKNOWN_ERROR: u64 = 1;
    pub const OP_HEADER_INVALID: u64 = 2;
    pub const NO_RESOURCES: u64 = 3;
    pub const READ_ERROR: u64 = 4;
    pub const WRITE_ERROR: u64 = 5;
    pub const UNKNOWN_PACKET_TYPE: u64 = 6;
    pub const INVALID_ARG: u64 = 7;
    pub const OBJECT_NOT_FOUND: u64 = 8;
    pub const OBJECT_IS_DIR: u64 = 9;
    pub const PERMISSION_DENIED: u64 = 10;
    pub const SERVICE_NOT_CONNECTED: u64 = 11;
    pub const OP_TIMEOUT: u64 = 12;
    pub const TOO_MUCH_DATA: u64 = 13;
    pub const END_OF_DATA: u64 = 14;
    pub const OP_NOT_SUPPORTED: u64 = 15;
    pub const OBJECT_EXISTS: u64 = 16;
    pub const OBJECT_BUSY: u64 = 17;
    pub const NO_SPACE_LEFT: u64 = 18;
    pub const OP_WOULD_BLOCK: u64 = 19;
    pub const IO_ERROR: u64 = 20;
    pub const OP_INTERRUPTED: u64 = 21;
    pub const OP_IN_PROGRESS: u64 = 22;
    pub const INTERNAL_ERROR: u64 = 23;
    pub const MUX_ERROR: u64 = 30;
    pub const NO_MEM: u64 = 31;
    pub const NOT_ENOUGH_DATA: u64 = 32;
    pub const DIR_NOT_EMPTY: u64 = 33;

    /// What a status code means, for messages.
    pub fn describe(code: u64) -> &'static str {
        match code {
            SUCCESS => "success",
            UNKNOWN_ERROR => "unknown error",
            OP_HEADER_INVALID => "operation header invalid",
            NO_RESOURCES => "no resources",
            READ_ERROR => "read error",
            WRITE_ERROR => "write error",
            UNKNOWN_PACKET_TYPE => "unknown packet type",
            INVALID_ARG => "invalid argument",
            OBJECT_NOT_FOUND => "object not found",
            OBJECT_IS_DIR => "object is a directory",
            PERMISSION_DENIED => "permission denied",
            SERVICE_NOT_CONNECTED => "service not connected",
            OP_TIMEOUT => "operation timed out",
            TOO_MUCH_DATA => "too much data",
            END_OF_DATA => "end of data",
            OP_NOT_SUPPORTED => "operation not supported",
            OBJECT_EXISTS => "object exists",
            OBJECT_BUSY => "object busy",
            NO_SPACE_LEFT => "no space left",
            OP_WOULD_BLOCK => "operation would block",
            IO_ERROR => "I/O error",
            OP_INTERRUPTED => "operation interrupted",
            OP_IN_PROGRESS => "operation in progress",
            INTERNAL_ERROR => "internal error",
            MUX_ERROR => "mux error",
            NO_MEM => "out of memory",
            NOT_ENOUGH_DATA => "not enough data",
            DIR_NOT_EMPTY => "directory not empty",
            _ => "unknown AFC status",
        }
    }
}

/// A packet header as it travels, magic already checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub entire_length: u64,
    pub this_length: u64,
    pub packet_num: u64,
    pub operation: u64,
}

impl Header {
    /// Parses 40 bytes; anything but the AFC magic is refused.
    pub fn parse(raw: &[u8; HEADER_LEN]) -> Result<Self, FrameError> {
        if raw[..8] != MAGIC {
            return Err(FrameError::BadHeader(format!(
                "AFC packet without the CFA6LPAA magic (starts {:02x?})",
                &raw[..8]
            )));
        }
        let word = |i: usize| u64::from_le_bytes(raw[i..i + 8].try_into().expect("8 bytes"));
        Ok(Header {
            entire_length: word(8),
            this_length: word(16),
            packet_num: word(24),
            operation: word(32),
        })
    }

    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..8].copy_from_slice(&MAGIC);
        for (i, word) in [
            self.entire_length,
            self.this_length,
            self.packet_num,
            self.operation,
        ]
        .into_iter()
        .enumerate()
        {
            out[8 + i * 8..16 + i * 8].copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    /// The body length this header announces. Lengths that contradict each other (shorter
    /// than the header, `this_length` past the end) are malformed; a body over `max` is
    /// refused before anything is allocated, because the length comes from the peer and a
    /// u64 can announce more memory than any machine has.
    pub fn body_len(&self, max: usize) -> Result<usize, FrameError> {
        let header = HEADER_LEN as u64;
        if self.entire_length < header || self.this_length < header {
            return Err(FrameError::BadHeader(format!(
                "AFC lengths {}/{} are shorter than the header",
                self.entire_length, self.this_length
            )));
        }
        if self.this_length > self.entire_length {
            return Err(FrameError::BadHeader(format!(
                "AFC this_length {} exceeds entire_length {}",
                self.this_length, self.entire_length
            )));
        }
        let body = self.entire_length - header;
        if body > max as u64 {
            return Err(FrameError::TooLarge {
                len: body,
                max: max as u64,
            });
        }
        Ok(body as usize)
    }
}

/// One packet: its header and its body (header payload and bulk payload together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub header: Header,
    pub body: Vec<u8>,
}

impl Packet {
    pub fn packet_num(&self) -> u64 {
        self.header.packet_num
    }

    pub fn operation(&self) -> u64 {
        self.header.operation
    }

    /// The status code of a `STATUS` packet; `None` for any other operation. A status packet
    /// too short to hold its code counts as an unknown error rather than success.
    pub fn status(&self) -> Option<u64> {
        (self.header.operation == op::STATUS)
            .then(|| u64_at(&self.body, 0).unwrap_or(code::UNKNOWN_ERROR))
    }
}

/// The header for a packet whose arguments are `args_len` bytes and whose bulk payload is
/// `payload_len` bytes.
pub fn header(packet_num: u64, operation: u64, args_len: usize, payload_len: usize) -> Header {
    let this = (HEADER_LEN + args_len) as u64;
    Header {
        entire_length: this + payload_len as u64,
        this_length: this,
        packet_num,
        operation,
    }
}

/// A whole packet in one buffer.
pub fn encode(packet_num: u64, operation: u64, args: &[u8], payload: &[u8]) -> Vec<u8> {
    let h = header(packet_num, operation, args.len(), payload.len());
    let mut out = Vec::with_capacity(HEADER_LEN + args.len() + payload.len());
    out.extend_from_slice(&h.to_bytes());
    out.extend_from_slice(args);
    out.extend_from_slice(payload);
    out
}

/// Writes one packet: header and arguments in one write, a large payload in a second one so it
/// is not copied.
#[cfg(feature = "io")]
pub async fn write<W: AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    packet_num: u64,
    operation: u64,
    args: &[u8],
    payload: &[u8],
) -> std::io::Result<()> {
    if payload.len() <= 64 * 1024 {
        writer
            .write_all(&encode(packet_num, operation, args, payload))
            .await?;
    } else {
        let h = header(packet_num, operation, args.len(), payload.len());
        let mut head = Vec::with_capacity(HEADER_LEN + args.len());
        head.extend_from_slice(&h.to_bytes());
        head.extend_from_slice(args);
        writer.write_all(&head).await?;
        writer.write_all(payload).await?;
    }
    writer.flush().await
}

/// Reads a header (the caller may bound the wait for its first byte separately).
#[cfg(feature = "io")]
pub async fn read_header<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
) -> Result<Header, FrameError> {
    let mut raw = [0u8; HEADER_LEN];
    reader.read_exact(&mut raw).await?;
    Header::parse(&raw)
}

/// Reads the body a header announced, refused over `max_body`.
#[cfg(feature = "io")]
pub async fn read_body<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    header: Header,
    max_body: usize,
) -> Result<Packet, FrameError> {
    let mut body = vec![0u8; header.body_len(max_body)?];
    reader.read_exact(&mut body).await?;
    Ok(Packet { header, body })
}

/// Reads one packet whose body may be at most `max_body` bytes.
#[cfg(feature = "io")]
pub async fn read<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    max_body: usize,
) -> Result<Packet, FrameError> {
    let header = read_header(reader).await?;
    read_body(reader, header, max_body).await
}

/// The little-endian u64 at word `index` of a body.
pub fn u64_at(body: &[u8], index: usize) -> Option<u64> {
    let start = index.checked_mul(8)?;
    let bytes = body.get(start..start.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// A path argument: up to the first NUL (hosts differ on whether they send one), UTF-8.
pub fn path_arg(bytes: &[u8]) -> Option<&str> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    std::str::from_utf8(&bytes[..end]).ok()
}

/// A path argument as hosts send it: NUL-terminated.
pub fn cstring(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 1);
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    out
}

/// NUL-terminated strings, one after another (a directory listing).
pub fn encode_strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = Vec::new();
    for s in items {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    out
}

fn malformed(what: &str) -> FrameError {
    FrameError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        what.to_string(),
    ))
}

/// Splits a listing into its strings. A missing final NUL is tolerated (the last string ends
/// with the body); an empty string between NULs is skipped; text that is not UTF-8 is refused.
pub fn decode_strings(body: &[u8]) -> Result<Vec<String>, FrameError> {
    let mut parts: Vec<&[u8]> = body.split(|&b| b == 0).collect();
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            String::from_utf8(p.to_vec())
                .map_err(|_| malformed("an AFC listing holds a name that is not UTF-8"))
        })
        .collect()
}

/// Key/value pairs as `GET_FILE_INFO` and `GET_DEVICE_INFO` answer them: key NUL value NUL ...
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Decodes key/value pairs; an odd number of strings is malformed. Empty values are kept (a
/// key may have an empty value), so this splits exactly rather than skipping empty strings.
pub fn decode_pairs(body: &[u8]) -> Result<Vec<(String, String)>, FrameError> {
    let mut parts: Vec<&[u8]> = body.split(|&b| b == 0).collect();
    // The terminating NUL of the last value leaves one empty tail.
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    if parts.len() % 2 != 0 {
        return Err(malformed("AFC key/value reply has a key without a value"));
    }
    parts
        .chunks(2)
        .map(|kv| {
            let text = |b: &[u8]| {
                String::from_utf8(b.to_vec())
                    .map_err(|_| malformed("AFC key/value reply is not UTF-8"))
            };
            Ok((text(kv[0])?, text(kv[1])?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "io")]
    #[tokio::test]
    async fn round_trip_keeps_number_operation_and_body() {
        let bytes = encode(7, op::FILE_OPEN, &mode::READ_ONLY.to_le_bytes(), b"");
        assert_eq!(&bytes[..8], b"CFA6LPAA");
        let p = read(&mut &bytes[..], 1024).await.unwrap();
        assert_eq!(p.packet_num(), 7);
        assert_eq!(p.operation(), op::FILE_OPEN);
        assert_eq!(u64_at(&p.body, 0), Some(mode::READ_ONLY));
        assert_eq!(p.header.this_length, p.header.entire_length);

        // Data after the arguments: this_length marks the split, the body holds both.
        let bytes = encode(1, op::DATA, b"", b"payload");
        let p = read(&mut &bytes[..], 1024).await.unwrap();
        assert_eq!(p.header.this_length, HEADER_LEN as u64);
        assert_eq!(p.body, b"payload");
    }

    #[cfg(feature = "io")]
    #[tokio::test]
    async fn large_payloads_are_written_in_two_pieces_and_read_back_whole() {
        let payload = vec![0xA5u8; 200_000];
        let mut out = Vec::new();
        write(&mut out, 3, op::DATA, b"", &payload).await.unwrap();
        let p = read(&mut &out[..], payload.len()).await.unwrap();
        assert_eq!(p.body, payload);
    }

    #[cfg(feature = "io")]
    #[tokio::test]
    async fn huge_lengths_are_refused_before_allocating() {
        for entire in [u64::MAX, 1 << 62, (HEADER_LEN as u64) + 1025] {
            let h = Header {
                entire_length: entire,
                this_length: HEADER_LEN as u64,
                packet_num: 0,
                operation: op::DATA,
            };
            let bytes = h.to_bytes();
            let err = read(&mut &bytes[..], 1024).await.unwrap_err();
            assert!(
                matches!(err, FrameError::TooLarge { max: 1024, .. }),
                "{err}"
            );
        }
    }

    #[cfg(feature = "io")]
    #[tokio::test]
    async fn contradictory_lengths_and_garbage_are_malformed() {
        let mut h = header(0, op::STATUS, 8, 0);
        h.this_length = 12; // shorter than the header
        let err = read(&mut &h.to_bytes()[..], 1024).await.unwrap_err();
        assert!(matches!(err, FrameError::BadHeader(_)), "{err}");
        let mut h = header(0, op::STATUS, 8, 0);
        h.this_length = h.entire_length + 1;
        let err = read(&mut &h.to_bytes()[..], 1024).await.unwrap_err();
        assert!(matches!(err, FrameError::BadHeader(_)), "{err}");
        let mut h = header(0, op::STATUS, 8, 0);
        h.entire_length = 3;
        let err = read(&mut &h.to_bytes()[..], 1024).await.unwrap_err();
        assert!(matches!(err, FrameError::BadHeader(_)), "{err}");

        let garbage = [0xFFu8; 64];
        let err = read(&mut &garbage[..], 1024).await.unwrap_err();
        assert!(matches!(err, FrameError::BadHeader(_)), "{err}");
        // An HTTP request or a plist where AFC belongs.
        let http = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n0123456789abcdef";
        assert!(matches!(
            read(&mut &http[..], 1024).await.unwrap_err(),
            FrameError::BadHeader(_)
        ));
    }

    #[cfg(feature = "io")]
    #[tokio::test]
    async fn truncation_is_a_closed_connection() {
        let bytes = encode(1, op::DATA, b"", b"0123456789");
        for cut in [0, 5, HEADER_LEN, HEADER_LEN + 4] {
            let err = read(&mut &bytes[..cut], 1024).await.unwrap_err();
            assert!(matches!(err, FrameError::Closed), "cut {cut}: {err}");
        }
    }

    #[test]
    fn status_packets_carry_their_code() {
        let p = Packet {
            header: header(0, op::STATUS, 8, 0),
            body: code::PERMISSION_DENIED.to_le_bytes().to_vec(),
        };
        assert_eq!(p.status(), Some(code::PERMISSION_DENIED));
        let short = Packet {
            header: header(0, op::STATUS, 2, 0),
            body: vec![0, 0],
        };
        assert_eq!(short.status(), Some(code::UNKNOWN_ERROR));
        let data = Packet {
            header: header(0, op::DATA, 0, 0),
            body: vec![],
        };
        assert_eq!(data.status(), None);
        assert_eq!(code::describe(code::OBJECT_NOT_FOUND), "object not found");
    }

    #[test]
    fn paths_stop_at_the_first_nul_with_or_without_one() {
        assert_eq!(path_arg(b"/PhotoData\0"), Some("/PhotoData"));
        assert_eq!(path_arg(b"/PhotoData"), Some("/PhotoData"));
        assert_eq!(path_arg(b"a\0b"), Some("a"));
        assert_eq!(path_arg(b"\xff\xfe"), None);
        assert_eq!(cstring("x"), b"x\0");
    }

    #[test]
    fn listings_and_pairs_round_trip_and_refuse_garbage() {
        let body = encode_strings([".", "..", "CPL", "Photos.sqlite"]);
        assert_eq!(
            decode_strings(&body).unwrap(),
            vec![".", "..", "CPL", "Photos.sqlite"]
        );
        assert_eq!(decode_strings(b"a\0b").unwrap(), vec!["a", "b"]);
        assert!(decode_strings(b"ok\0\xff\0").is_err());
        assert!(decode_strings(b"").unwrap().is_empty());

        let body = encode_pairs([("st_size", "12".to_string()), ("st_ifmt", "S_IFREG".into())]);
        assert_eq!(
            decode_pairs(&body).unwrap(),
            vec![
                ("st_size".to_string(), "12".to_string()),
                ("st_ifmt".to_string(), "S_IFREG".to_string())
            ]
        );
        assert!(decode_pairs(b"st_size\0").is_err());
        assert!(decode_pairs(b"k\0\xff\0").is_err());
        assert_eq!(
            decode_pairs(b"k\0\0").unwrap(),
            vec![("k".to_string(), String::new())]
        );
    }

    #[test]
    fn u64_words_are_bounds_checked() {
        let body = [1u8, 0, 0, 0, 0, 0, 0, 0, 2, 0];
        assert_eq!(u64_at(&body, 0), Some(1));
        assert_eq!(u64_at(&body, 1), None);
        assert_eq!(u64_at(&body, usize::MAX), None);
    }
}
