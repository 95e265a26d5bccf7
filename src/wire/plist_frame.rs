//! lockdownd and its services (diagnostics_relay and most others): a 4-byte big-endian length,
//! then a plist (XML from hosts; binary or XML from phones).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::FrameError;

/// Lockdown replies are a few kilobytes; a full IORegistry dump is under a megabyte.
pub const MAX_FRAME: u32 = 16 * 1024 * 1024;

/// Reads one framed plist, refusing lengths over `max` before allocating anything.
pub async fn read<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: u32,
) -> Result<plist::Value, FrameError> {
    let mut prefix = [0u8; 4];
    reader.read_exact(&mut prefix).await?;
    let len = u32::from_be_bytes(prefix);
    if len > max {
        return Err(FrameError::TooLarge {
            len: len.into(),
            max: max.into(),
        });
    }
    let mut body = vec![0u8; len as usize];
    reader.read_exact(&mut body).await?;
    plist::from_bytes(&body).map_err(|e| FrameError::NotPlist(e.to_string()))
}

/// Reads one framed plist that must be a dictionary (every lockdown message is).
pub async fn read_dict<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: u32,
) -> Result<plist::Dictionary, FrameError> {
    match read(reader, max).await? {
        plist::Value::Dictionary(d) => Ok(d),
        _ => Err(FrameError::NotPlist("not a dictionary".into())),
    }
}

/// Encodes a message as the XML plist that Apple's hosts send.
pub fn encode(message: &plist::Dictionary) -> Vec<u8> {
    let mut body = Vec::new();
    plist::Value::Dictionary(message.clone())
        .to_writer_xml(&mut body)
        .expect("writing a plist to memory cannot fail");
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Writes one framed plist in a single write: the idevice crate writes the length and the body
/// separately, which costs a round trip per message on TCP without TCP_NODELAY.
pub async fn write<W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &plist::Dictionary,
) -> std::io::Result<()> {
    writer.write_all(&encode(message)).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(k: &str, v: &str) -> plist::Dictionary {
        let mut d = plist::Dictionary::new();
        d.insert(k.into(), v.into());
        d
    }

    #[tokio::test]
    async fn round_trip() {
        let bytes = encode(&dict("Request", "QueryType"));
        let got = read_dict(&mut &bytes[..], MAX_FRAME).await.unwrap();
        assert_eq!(got, dict("Request", "QueryType"));
    }

    #[tokio::test]
    async fn a_4gb_length_is_refused_before_allocating() {
        let bytes = [0xFF, 0xFF, 0xFF, 0xFF, b'<'];
        let err = read(&mut &bytes[..], MAX_FRAME).await.unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::TooLarge {
                    len: 4_294_967_295,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn garbage_and_truncation_are_errors() {
        let mut bytes = 5u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"\x01\x02\x03\x04\x05");
        assert!(matches!(
            read(&mut &bytes[..], MAX_FRAME).await,
            Err(FrameError::NotPlist(_))
        ));
        let short = [0, 0, 0, 9, b'<'];
        assert!(matches!(
            read(&mut &short[..], MAX_FRAME).await,
            Err(FrameError::Closed)
        ));
        assert!(matches!(
            read(&mut &[][..], MAX_FRAME).await,
            Err(FrameError::Closed)
        ));
    }
}
