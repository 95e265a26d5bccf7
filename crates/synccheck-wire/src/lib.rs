//! Wire formats shared by both ends: the device layer (a client of usbmuxd and lockdownd) and the
//! simulator (a server of both). One codec for both sides means the simulator cannot drift from
//! the client, and every length read from the wire is bounded in one place.
//!
//! Written here rather than taken from idevice because idevice allocates whatever length a peer
//! announces (`vec![0; len]` straight from the 4-byte prefix), so a device that sends a 4 GB
//! length prefix would make it allocate 4 GB; we must refuse such a frame instead.

pub mod afc;
pub mod phone_text;
pub mod plist_bombs;
pub mod plist_bounded;
pub mod plist_describe;
pub mod plist_frame;
pub mod plist_words;
#[cfg(feature = "io")]
pub mod tls;
pub mod usbmux;

/// A message body as written on the wire: the XML plist Apple's hosts and lockdownd send, or,
/// when a key or string holds a character XML 1.0 cannot carry (a control character in a
/// device name), a binary plist, which keeps the value exactly and which every peer's plist
/// reader also takes (phones themselves answer in binary plists). Never invalid XML.
pub fn plist_body(value: &plist::Value) -> Vec<u8> {
    let mut body = Vec::new();
    let written = match crate::phone_text::xml_can_carry(value) {
        Ok(()) => value.to_writer_xml(&mut body),
        Err(_) => value.to_writer_binary(&mut body),
    };
    written.expect("writing a plist to memory cannot fail");
    body
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the connection closed")]
    Closed,
    #[error("the peer announced a {len}-byte message, over the {max}-byte limit")]
    TooLarge { len: u64, max: u64 },
    #[error("the peer sent a message that is not a plist ({0})")]
    NotPlist(String),
    /// A plist over a nesting, object-count or size limit (a bomb, or broken beyond use).
    #[error(transparent)]
    PlistLimit(plist_bounded::PlistLimitError),
    #[error("the peer sent a malformed header ({0})")]
    BadHeader(String),
    #[error(transparent)]
    Io(std::io::Error),
}

impl From<std::io::Error> for FrameError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            FrameError::Closed
        } else {
            FrameError::Io(e)
        }
    }
}
