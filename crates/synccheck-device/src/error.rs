use std::time::Duration;

use super::address::UsbmuxdAddress;
use synccheck_wire::FrameError;

/// Why reading a phone failed. Each variant is one situation at the bench with its own fix;
/// the CLI turns it into one sentence and a hint.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("no usbmuxd is listening at {0}")]
    NoUsbmuxd(UsbmuxdAddress),
    #[error("permission denied on the usbmuxd socket {0}")]
    UsbmuxdPermission(UsbmuxdAddress),
    #[error("cannot reach usbmuxd at {addr}: {source}")]
    UsbmuxdIo {
        addr: UsbmuxdAddress,
        #[source]
        source: std::io::Error,
    },
    #[error("no iPhone is attached")]
    NoDevice,
    #[error("no attached iPhone has the UDID {0}")]
    UnknownDevice(String),
    #[error("this computer has no pair record for the iPhone {0}")]
    NotPaired(String),
    #[error("the iPhone is waiting for someone to tap Trust")]
    TrustPending,
    #[error("the iPhone's user tapped Don't Trust")]
    UserDenied,
    #[error("the iPhone is locked with a passcode")]
    PasscodeLocked,
    #[error("nobody tapped Trust on the iPhone within {0:?}")]
    TrustTimedOut(Duration),
    #[error("the iPhone no longer trusts this computer (its pairing was reset)")]
    PairingInvalid,
    #[error("the iPhone was unplugged or went away during {0}")]
    Unplugged(&'static str),
    #[error("the iPhone did not answer {what} within {after:?}")]
    Timeout { what: &'static str, after: Duration },
    #[error("the iPhone sent a broken reply to {what}: {source}")]
    Garbage {
        what: &'static str,
        #[source]
        source: FrameError,
    },
    #[error("the iPhone refused {what}: {error}")]
    Refused { what: &'static str, error: String },
    #[error("usbmuxd answered {what} with result {number}")]
    Usbmuxd { what: &'static str, number: u64 },
    #[error("the secure session with the iPhone failed: {0}")]
    Tls(String),
    #[error("the pair record is unusable: {0}")]
    BadPairRecord(String),
    #[error(
        "the iPhone presented a certificate that is not the DeviceCertificate in its pair record: \
         something other than the paired iPhone answered, and the scan stopped at the handshake"
    )]
    NotThePairedPhone,
    /// A request would carry a phone's value (its UDID) that XML cannot hold: usbmuxd reads
    /// XML requests, so it is not sent at all.
    #[error("cannot ask usbmuxd {what}: {at} holds a character XML cannot carry (a control character), which no real iPhone sends")]
    Unsendable { what: &'static str, at: String },
    /// `restart`: the phone accepted the request but never left usbmuxd.
    #[error("the iPhone accepted the restart but did not go down within {0:?}")]
    DidNotRestart(Duration),
    /// `restart`: the phone left usbmuxd and did not come back in time.
    #[error("the iPhone went down for its restart and did not come back within {0:?}")]
    DidNotReturn(Duration),
}

impl From<crate::pairing::PairingError> for DeviceError {
    fn from(e: crate::pairing::PairingError) -> Self {
        DeviceError::BadPairRecord(e.to_string())
    }
}

impl DeviceError {
    /// A frame error on a device stream, turned into the bench's words: a closed stream is an
    /// unplugged phone, the rest is a phone that sent garbage.
    pub fn from_frame(what: &'static str, e: FrameError) -> Self {
        match e {
            FrameError::Closed => DeviceError::Unplugged(what),
            FrameError::Io(ref io) if is_disconnect(io) => DeviceError::Unplugged(what),
            other => DeviceError::Garbage {
                what,
                source: other,
            },
        }
    }
}

pub(crate) fn is_disconnect(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe | NotConnected
    )
}

/// Runs `fut` with the scan's timeout, naming what timed out.
pub(crate) async fn within<T>(
    after: Duration,
    what: &'static str,
    fut: impl std::future::Future<Output = Result<T, DeviceError>>,
) -> Result<T, DeviceError> {
    tokio::time::timeout(after, fut)
        .await
        .map_err(|_| DeviceError::Timeout { what, after })?
}
