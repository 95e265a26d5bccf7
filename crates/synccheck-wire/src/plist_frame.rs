//! lockdownd and its services (diagnostics_relay and most others): a 4-byte big-endian length,
//! then a plist (XML from hosts; binary or XML from phones).

#[cfg(feature = "io")]
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::plist_bounded::{self, Limits, PlistLimitError};
use super::FrameError;

/// Lockdown replies are a few kilobytes; a full IORegistry dump is under a megabyte.
pub const MAX_FRAME: u32 = 16 * 1024 * 1024;

/// The body length a prefix announces, refused when over `max` (before anything is allocated).
pub fn body_len(prefix: [u8; 4], max: u32) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix);
    if len > max {
        return Err(FrameError::TooLarge {
            len: len.into(),
            max: max.into(),
        });
    }
    Ok(len as usize)
}

/// Decodes a body that must be a plist dictionary (every lockdown message is); XML or binary.
/// Read within [`Limits::DEVICE`]: a frame's size says nothing of what a binary plist that
/// reuses its objects expands to, nor how deep it nests.
pub fn decode_dict(body: &[u8]) -> Result<plist::Dictionary, FrameError> {
    let parsed = plist_bounded::parse(body, &Limits::DEVICE, "the message");
    match parsed {
        Ok(plist::Value::Dictionary(d)) => {
            // Found by fuzzing: a UID (binary plists only) decoded here could not be encoded
            // again, so echoing such a message, or saving the snapshot it went into, failed
            // or panicked. Lockdown never sends one: refused like any other malformed message.
            let uid = d
                .iter()
                .find_map(|(k, v)| crate::plist_describe::uid_path(v).map(|p| format!("{k}{p}")));
            match uid {
                None => Ok(d),
                Some(at) => Err(FrameError::NotPlist(format!(
                    "{at}: {}",
                    crate::plist_describe::UID_PROBLEM
                ))),
            }
        }
        Ok(other) => Err(FrameError::NotPlist(format!(
            "{} where a dictionary belongs",
            crate::plist_describe::describe(&other)
        ))),
        Err(PlistLimitError::Malformed { detail, .. }) => Err(FrameError::NotPlist(detail)),
        Err(over) => Err(FrameError::PlistLimit(over)),
    }
}

/// Reads the rest of a frame whose 4-byte prefix has been read.
#[cfg(feature = "io")]
pub async fn read_body<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    prefix: [u8; 4],
    max: u32,
) -> Result<plist::Dictionary, FrameError> {
    let mut body = vec![0u8; body_len(prefix, max)?];
    reader.read_exact(&mut body).await?;
    decode_dict(&body)
}

/// Reads one framed plist dictionary.
#[cfg(feature = "io")]
pub async fn read_dict<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    max: u32,
) -> Result<plist::Dictionary, FrameError> {
    let mut prefix = [0u8; 4];
    reader.read_exact(&mut prefix).await?;
    read_body(reader, prefix, max).await
}

/// Encodes a message as the XML plist that Apple's hosts and lockdownd send (binary when XML
/// cannot hold it: see [`super::plist_body`]).
pub fn encode(message: &plist::Dictionary) -> Vec<u8> {
    encode_value(&plist::Value::Dictionary(message.clone()))
}

fn encode_value(value: &plist::Value) -> Vec<u8> {
    let body = super::plist_body(value);
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Writes one framed plist in a single write: the idevice crate writes the length and the body
/// separately, which costs a round trip per message on TCP without TCP_NODELAY.
#[cfg(feature = "io")]
pub async fn write<W: AsyncWrite + Unpin + ?Sized>(
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

    #[cfg(feature = "io")]
    #[tokio::test]
    async fn round_trip() {
        let bytes = encode(&dict("Request", "QueryType"));
        let got = read_dict(&mut &bytes[..], MAX_FRAME).await.unwrap();
        assert_eq!(got, dict("Request", "QueryType"));
    }

    #[cfg(feature = "io")]
    #[tokio::test]
    async fn a_4gb_length_is_refused_before_allocating() {
        let bytes = [0xFF, 0xFF, 0xFF, 0xFF, b'<'];
        let err = read_dict(&mut &bytes[..], MAX_FRAME).await.unwrap_err();
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

    #[cfg(feature = "io")]
    #[tokio::test]
    async fn garbage_truncation_and_non_dictionaries_are_errors() {
        let mut bytes = 5u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"\x01\x02\x03\x04\x05");
        let got = read_dict(&mut &bytes[..], MAX_FRAME).await;
        assert!(matches!(got, Err(FrameError::NotPlist(_))));
        let short = [0, 0, 0, 9, b'<'];
        let got = read_dict(&mut &short[..], MAX_FRAME).await;
        assert!(matches!(got, Err(FrameError::Closed)));
        let got = read_dict(&mut &[][..], MAX_FRAME).await;
        assert!(matches!(got, Err(FrameError::Closed)));
        let array = encode_value(&plist::Value::Array(vec![]));
        let got = read_dict(&mut &array[..], MAX_FRAME).await;
        assert!(matches!(got, Err(FrameError::NotPlist(_))));
    }

    #[cfg(feature = "io")]
    #[tokio::test]
    async fn bombs_are_refused_in_bounded_memory_and_stack() {
        use crate::plist_bombs::Bomb;
        for bomb in [
            Bomb::Reuse {
                levels: 5,
                width: 64,
            },
            Bomb::Deep {
                depth: 20_000,
                dicts: true,
            },
        ] {
            let body = bomb.in_message(&[("Request", "GetValue")], "Value");
            let mut frame = (body.len() as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(&body);
            let err = read_dict(&mut &frame[..], MAX_FRAME).await.unwrap_err();
            assert!(matches!(err, FrameError::PlistLimit(_)), "{err}");
            assert!(
                err.to_string().starts_with("the message goes over"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_uid_which_xml_cannot_carry_is_refused() {
        // Found by fuzzing: decode_dict accepted it, and encoding the dictionary failed.
        let mut d = dict("Request", "GetValue");
        d.insert("Value".into(), plist::Value::Uid(plist::Uid::new(1)));
        let mut body = Vec::new();
        plist::Value::Dictionary(d)
            .to_writer_binary(&mut body)
            .unwrap();
        let err = decode_dict(&body).unwrap_err();
        assert!(
            matches!(&err, FrameError::NotPlist(why) if why.starts_with("Value:")),
            "{err}"
        );
    }
}
