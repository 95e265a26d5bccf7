//! The device layer: reads a phone through usbmuxd into a [`Snapshot`](synccheck_core::snapshot::Snapshot).
//! It never decides a verdict; it only captures what the phone says.
//!
//! usbmuxd, lockdownd, diagnostics_relay and AFC are spoken with synccheck's own bounded codecs
//! (`synccheck_wire`) rather than idevice's clients: idevice allocates whatever length a peer
//! announces, and cannot pipeline requests. See synccheck-wire.

pub mod address;
pub mod afc;
mod capture;
mod diagnostics;
mod error;
pub mod limits;
mod lockdown;
mod pair;
pub mod pairing;
pub mod photos;
mod photos_guard;
mod photos_in_place;
pub mod photos_pages;
pub mod photos_query;
mod photos_vfs;
pub mod rescue;
pub mod rescue_manifest;
pub mod rescue_query;
pub mod restart;
mod session;
pub mod tls;
mod usbmuxd;

pub use crate::pairing::PairRecord;
pub use address::{AddressError, UsbmuxdAddress};
pub use afc::{Afc, AfcError, FileKind, FileStat};
pub use capture::{capture, capture_within};
pub use error::DeviceError;
pub use lockdown::{Lockdown, ServicePort, ValueQuery, LOCKDOWN_PORT};
pub use pair::{pair, TrustWait};
pub use session::{read_phone, summarize, DeviceSummary, Progress, ScanOptions};
pub use synccheck_core::snapshot::DOMAINS;
pub use usbmuxd::{AttachedDevice, Listener, MuxEvent, Usbmuxd};

/// Any byte stream to usbmuxd or a phone: Unix or TCP socket, plain or TLS.
pub trait DeviceStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> DeviceStream for T {}

pub type BoxStream = Box<dyn DeviceStream>;
