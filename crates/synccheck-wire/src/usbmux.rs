//! usbmuxd's plist protocol: a 16-byte little-endian header (total length, version, message type,
//! tag) and an XML plist body. Version 1 and message type 8 are the plist protocol every client
//! since iOS 5 speaks; replies echo the request's tag.

#[cfg(feature = "io")]
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::FrameError;

pub const HEADER_LEN: usize = 16;
pub const VERSION_BINARY: u32 = 0;
pub const VERSION_PLIST: u32 = 1;
/// The binary protocol's result message, still what usbmuxd answers a binary request with.
pub const MESSAGE_RESULT: u32 = 1;
pub const MESSAGE_PLIST: u32 = 8;
/// usbmuxd itself refuses commands over 64 KiB; replies (a device list, a pair record) stay
/// far below this.
pub const MAX_MESSAGE: u32 = 4 * 1024 * 1024;

/// The result codes usbmuxd puts in `Number` (errno values, as usbmuxd uses them).
pub const RESULT_OK: u64 = 0;
pub const RESULT_BAD_COMMAND: u64 = 1;
pub const RESULT_BAD_DEVICE: u64 = 2;
pub const RESULT_CONNECTION_REFUSED: u64 = 3;
pub const RESULT_BAD_VERSION: u64 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub length: u32,
    pub version: u32,
    pub message: u32,
    pub tag: u32,
}

impl Header {
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Self {
        let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        Header {
            length: word(0),
            version: word(4),
            message: word(8),
            tag: word(12),
        }
    }

    /// The payload length this header announces; below the header size or over `max` is
    /// refused before anything is allocated.
    pub fn payload_len(&self, max: u32) -> Result<usize, FrameError> {
        if (self.length as usize) < HEADER_LEN {
            return Err(FrameError::BadHeader(format!(
                "length {} is shorter than the header",
                self.length
            )));
        }
        if self.length > max {
            return Err(FrameError::TooLarge {
                len: self.length.into(),
                max: max.into(),
            });
        }
        Ok(self.length as usize - HEADER_LEN)
    }
}

/// One plist message: its header and the dictionary.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub header: Header,
    pub body: plist::Dictionary,
}

/// Reads one plist message (the caller checks the version and message type it expects).
#[cfg(feature = "io")]
pub async fn read<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    max: u32,
) -> Result<Message, FrameError> {
    let mut raw = [0u8; HEADER_LEN];
    reader.read_exact(&mut raw).await?;
    let header = Header::parse(&raw);
    let mut payload = vec![0u8; header.payload_len(max)?];
    reader.read_exact(&mut payload).await?;
    Ok(Message {
        header,
        body: super::plist_frame::decode_dict(&payload)?,
    })
}

/// A message with any header words: replies to the old binary protocol use version 0.
pub fn encode_raw(version: u32, message: u32, tag: u32, payload: &[u8]) -> Vec<u8> {
    let length = (HEADER_LEN + payload.len()) as u32;
    let mut out = Vec::with_capacity(length as usize);
    for word in [length, version, message, tag] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// A plist message: XML, or binary when XML cannot hold it (see [`super::plist_body`]; the
/// host side never sends such a request to usbmuxd: `device::usbmuxd` refuses it first).
pub fn encode(tag: u32, body: &plist::Dictionary) -> Vec<u8> {
    let payload = super::plist_body(&plist::Value::Dictionary(body.clone()));
    encode_raw(VERSION_PLIST, MESSAGE_PLIST, tag, &payload)
}

#[cfg(feature = "io")]
pub async fn write<W: AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    tag: u32,
    body: &plist::Dictionary,
) -> std::io::Result<()> {
    writer.write_all(&encode(tag, body)).await?;
    writer.flush().await
}

/// usbmuxd's `Connect` carries the port in network byte order inside a little-endian integer.
pub fn port_to_wire(port: u16) -> u16 {
    port.to_be()
}

pub fn port_from_wire(wire: u16) -> u16 {
    u16::from_be(wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "io")]
    #[tokio::test]
    async fn round_trip_echoes_the_tag() {
        let mut body = plist::Dictionary::new();
        body.insert("MessageType".into(), "ListDevices".into());
        let bytes = encode(7, &body);
        let m = read(&mut &bytes[..], MAX_MESSAGE).await.unwrap();
        assert_eq!(m.header.tag, 7);
        assert_eq!(m.header.version, VERSION_PLIST);
        assert_eq!(m.body, body);
    }

    #[cfg(feature = "io")]
    #[tokio::test]
    async fn lengths_are_bounded_both_ways() {
        let mut short = [0u8; HEADER_LEN];
        short[0] = 3;
        let got = read(&mut &short[..], MAX_MESSAGE).await;
        assert!(matches!(got, Err(FrameError::BadHeader(_))));
        let mut huge = [0u8; HEADER_LEN];
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        let got = read(&mut &huge[..], MAX_MESSAGE).await;
        assert!(matches!(got, Err(FrameError::TooLarge { .. })));
    }

    #[test]
    fn lockdown_port_is_byte_swapped() {
        assert_eq!(port_to_wire(62078), 0x7EF2);
        assert_eq!(port_from_wire(0x7EF2), 62078);
    }
}
