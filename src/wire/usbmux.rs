//! usbmuxd's plist protocol: a 16-byte little-endian header (total length, version, message type,
//! tag) and an XML plist body. Version 1 and message type 8 are the plist protocol every client
//! since iOS 5 speaks; replies echo the request's tag.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::FrameError;

pub const HEADER_LEN: usize = 16;
pub const VERSION_PLIST: u32 = 1;
pub const MESSAGE_PLIST: u32 = 8;
/// usbmuxd messages are small; a device list of dozens of phones is a few tens of kilobytes.
pub const MAX_MESSAGE: u32 = 4 * 1024 * 1024;

/// The result codes usbmuxd puts in `Number`.
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
}

/// One message: its header and, for plist messages, the dictionary.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub header: Header,
    pub body: plist::Dictionary,
}

/// Reads one message; a length below the header size or over `max` is refused unread.
pub async fn read<R: AsyncRead + Unpin>(reader: &mut R, max: u32) -> Result<Message, FrameError> {
    let mut raw = [0u8; HEADER_LEN];
    reader.read_exact(&mut raw).await?;
    let header = Header::parse(&raw);
    if (header.length as usize) < HEADER_LEN {
        return Err(FrameError::BadHeader(format!(
            "length {} is shorter than the header",
            header.length
        )));
    }
    if header.length > max {
        return Err(FrameError::TooLarge {
            len: header.length.into(),
            max: max.into(),
        });
    }
    let mut body = vec![0u8; header.length as usize - HEADER_LEN];
    reader.read_exact(&mut body).await?;
    if header.message != MESSAGE_PLIST {
        // The old binary protocol: the caller answers with BadVersion; the body is not a plist.
        return Ok(Message {
            header,
            body: plist::Dictionary::new(),
        });
    }
    match plist::from_bytes(&body) {
        Ok(plist::Value::Dictionary(d)) => Ok(Message { header, body: d }),
        Ok(_) => Err(FrameError::NotPlist("not a dictionary".into())),
        Err(e) => Err(FrameError::NotPlist(e.to_string())),
    }
}

pub fn encode(tag: u32, body: &plist::Dictionary) -> Vec<u8> {
    let mut xml = Vec::new();
    plist::Value::Dictionary(body.clone())
        .to_writer_xml(&mut xml)
        .expect("writing a plist to memory cannot fail");
    let length = (HEADER_LEN + xml.len()) as u32;
    let mut out = Vec::with_capacity(length as usize);
    for word in [length, VERSION_PLIST, MESSAGE_PLIST, tag] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(&xml);
    out
}

pub async fn write<W: AsyncWrite + Unpin>(
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

    #[tokio::test]
    async fn lengths_are_bounded_both_ways() {
        let mut short = [0u8; HEADER_LEN];
        short[0] = 3;
        assert!(matches!(
            read(&mut &short[..], MAX_MESSAGE).await,
            Err(FrameError::BadHeader(_))
        ));
        let mut huge = [0u8; HEADER_LEN];
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            read(&mut &huge[..], MAX_MESSAGE).await,
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn lockdown_port_is_byte_swapped() {
        assert_eq!(port_to_wire(62078), 0x7EF2);
        assert_eq!(port_from_wire(0x7EF2), 62078);
    }
}
