//! The host's usbmuxd client: list phones, read and save pair records, and open a stream to a
//! port on a phone. One connection per request, as libusbmuxd does, because `Connect` and
//! `Listen` turn the socket into something else.

use std::time::Duration;

use super::address::UsbmuxdAddress;
use super::error::within;
use super::{BoxStream, DeviceError};
use crate::pairing::PairRecord;
use synccheck_core::snapshot::Connection;
use synccheck_wire::usbmux::{self, MAX_MESSAGE, RESULT_BAD_DEVICE, RESULT_OK};

/// One attached phone as usbmuxd lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedDevice {
    pub device_id: u64,
    pub udid: String,
    pub connection: Option<Connection>,
}

#[derive(Debug, Clone)]
pub struct Usbmuxd {
    addr: UsbmuxdAddress,
    timeout: Duration,
}

/// An event from usbmuxd's `Listen` feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MuxEvent {
    Attached(AttachedDevice),
    Detached { device_id: u64 },
}

impl Usbmuxd {
    pub fn new(addr: UsbmuxdAddress, timeout: Duration) -> Self {
        Usbmuxd { addr, timeout }
    }

    pub fn address(&self) -> &UsbmuxdAddress {
        &self.addr
    }

    async fn open(&self) -> Result<BoxStream, DeviceError> {
        let failed = |e| connect_error(&self.addr, e);
        within(self.timeout, "the usbmuxd connection", async {
            Ok(match &self.addr {
                UsbmuxdAddress::Unix(path) => Box::new(
                    tokio::net::UnixStream::connect(path)
                        .await
                        .map_err(failed)?,
                ) as BoxStream,
                UsbmuxdAddress::Tcp(sock) => {
                    let s = tokio::net::TcpStream::connect(sock).await.map_err(failed)?;
                    // Lockdown messages are small request/reply pairs: never wait for Nagle.
                    let _ = s.set_nodelay(true);
                    Box::new(s) as BoxStream
                }
            })
        })
        .await
    }

    fn request(kind: &str) -> plist::Dictionary {
        let mut d = plist::Dictionary::new();
        d.insert("MessageType".into(), kind.into());
        d.insert(
            "ClientVersionString".into(),
            concat!("synccheck ", env!("CARGO_PKG_VERSION")).into(),
        );
        d.insert("ProgName".into(), "synccheck".into());
        d.insert("kLibUSBMuxVersion".into(), 3u64.into());
        d
    }

    /// Sends one request on a new connection and reads the reply, keeping the connection.
    async fn exchange(
        &self,
        what: &'static str,
        body: plist::Dictionary,
    ) -> Result<(BoxStream, plist::Dictionary), DeviceError> {
        // A UDID comes from the phone: one holding a control character would make the request
        // invalid XML, which usbmuxd cannot read. Refused here, for this phone only.
        synccheck_wire::phone_text::xml_can_carry(&plist::Value::Dictionary(body.clone()))
            .map_err(|at| DeviceError::Unsendable { what, at })?;
        let mut stream = self.open().await?;
        within(self.timeout, what, async {
            usbmux::write(&mut stream, 1, &body)
                .await
                .map_err(|e| DeviceError::from_frame(what, e.into()))?;
            let reply = usbmux::read(&mut stream, MAX_MESSAGE)
                .await
                .map_err(|e| DeviceError::from_frame(what, e))?;
            Ok((stream, reply.body))
        })
        .await
    }

    fn result_number(reply: &plist::Dictionary) -> Option<u64> {
        match reply.get("MessageType").and_then(|v| v.as_string()) {
            Some("Result") => reply.get("Number").and_then(|v| v.as_unsigned_integer()),
            _ => None,
        }
    }

    pub async fn list_devices(&self) -> Result<Vec<AttachedDevice>, DeviceError> {
        let (_, reply) = self
            .exchange("ListDevices", Self::request("ListDevices"))
            .await?;
        let list =
            reply
                .get("DeviceList")
                .and_then(|v| v.as_array())
                .ok_or(DeviceError::Usbmuxd {
                    what: "ListDevices",
                    number: Self::result_number(&reply).unwrap_or(u64::MAX),
                })?;
        Ok(list
            .iter()
            .filter_map(|v| attached(v.as_dictionary()?))
            .collect())
    }

    /// The pair record for `udid`, or `None` when this computer never paired with it.
    pub async fn read_pair_record(&self, udid: &str) -> Result<Option<PairRecord>, DeviceError> {
        let mut req = Self::request("ReadPairRecord");
        req.insert("PairRecordID".into(), udid.into());
        let (_, reply) = self.exchange("ReadPairRecord", req).await?;
        match reply.get("PairRecordData") {
            Some(plist::Value::Data(bytes)) => Ok(Some(PairRecord::from_bytes(bytes)?)),
            _ => match Self::result_number(&reply) {
                // usbmuxd answers a missing record with ENOENT (2).
                Some(RESULT_BAD_DEVICE) => Ok(None),
                n => Err(DeviceError::Usbmuxd {
                    what: "ReadPairRecord",
                    number: n.unwrap_or(u64::MAX),
                }),
            },
        }
    }

    pub async fn save_pair_record(
        &self,
        udid: &str,
        device_id: u64,
        record: Vec<u8>,
    ) -> Result<(), DeviceError> {
        let mut req = Self::request("SavePairRecord");
        req.insert("PairRecordID".into(), udid.into());
        req.insert("PairRecordData".into(), plist::Value::Data(record));
        req.insert("DeviceID".into(), device_id.into());
        let (_, reply) = self.exchange("SavePairRecord", req).await?;
        match Self::result_number(&reply) {
            Some(RESULT_OK) => Ok(()),
            n => Err(DeviceError::Usbmuxd {
                what: "SavePairRecord",
                number: n.unwrap_or(u64::MAX),
            }),
        }
    }

    pub async fn read_buid(&self) -> Result<String, DeviceError> {
        let (_, reply) = self.exchange("ReadBUID", Self::request("ReadBUID")).await?;
        reply
            .get("BUID")
            .and_then(|v| v.as_string())
            .map(str::to_owned)
            .ok_or(DeviceError::Usbmuxd {
                what: "ReadBUID",
                number: Self::result_number(&reply).unwrap_or(u64::MAX),
            })
    }

    /// A raw stream to `port` on the phone (lockdownd is 62078).
    pub async fn connect(
        &self,
        device_id: u64,
        port: u16,
        what: &'static str,
    ) -> Result<BoxStream, DeviceError> {
        let mut req = Self::request("Connect");
        req.insert("DeviceID".into(), device_id.into());
        req.insert(
            "PortNumber".into(),
            u64::from(usbmux::port_to_wire(port)).into(),
        );
        let (stream, reply) = self.exchange(what, req).await?;
        match Self::result_number(&reply) {
            Some(RESULT_OK) => Ok(stream),
            Some(RESULT_BAD_DEVICE) => Err(DeviceError::Unplugged(what)),
            n => Err(DeviceError::Usbmuxd {
                what,
                number: n.unwrap_or(u64::MAX),
            }),
        }
    }

    /// Subscribes to attach and detach events; the devices already attached come first.
    pub async fn listen(&self) -> Result<Listener, DeviceError> {
        let (stream, reply) = self.exchange("Listen", Self::request("Listen")).await?;
        match Self::result_number(&reply) {
            Some(RESULT_OK) => Ok(Listener { stream }),
            n => Err(DeviceError::Usbmuxd {
                what: "Listen",
                number: n.unwrap_or(u64::MAX),
            }),
        }
    }
}

/// usbmuxd's event feed; no timeout, since phones come when they come.
pub struct Listener {
    stream: BoxStream,
}

impl Listener {
    /// The next attach or detach; `Err(Unplugged)` when usbmuxd closes the feed.
    pub async fn next(&mut self) -> Result<MuxEvent, DeviceError> {
        loop {
            let msg = usbmux::read(&mut self.stream, MAX_MESSAGE)
                .await
                .map_err(|e| DeviceError::from_frame("the usbmuxd event feed", e))?;
            let body = msg.body;
            match body.get("MessageType").and_then(|v| v.as_string()) {
                Some("Attached") => {
                    if let Some(d) = attached(&body) {
                        return Ok(MuxEvent::Attached(d));
                    }
                }
                Some("Detached") => {
                    if let Some(id) = body.get("DeviceID").and_then(|v| v.as_unsigned_integer()) {
                        return Ok(MuxEvent::Detached { device_id: id });
                    }
                }
                // Paired and anything newer: nothing to do.
                _ => {}
            }
        }
    }
}

/// A failed connection to usbmuxd, in the bench's words: not running, or not allowed.
fn connect_error(addr: &UsbmuxdAddress, e: std::io::Error) -> DeviceError {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound | ConnectionRefused => DeviceError::NoUsbmuxd(addr.clone()),
        PermissionDenied => DeviceError::UsbmuxdPermission(addr.clone()),
        _ => DeviceError::UsbmuxdIo {
            addr: addr.clone(),
            source: e,
        },
    }
}

fn attached(entry: &plist::Dictionary) -> Option<AttachedDevice> {
    let props = entry.get("Properties")?.as_dictionary()?;
    let device_id = entry
        .get("DeviceID")
        .or_else(|| props.get("DeviceID"))?
        .as_unsigned_integer()?;
    Some(AttachedDevice {
        device_id,
        udid: props.get("SerialNumber")?.as_string()?.to_string(),
        connection: props
            .get("ConnectionType")
            .and_then(|v| v.as_string())
            .and_then(Connection::parse),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    #[test]
    fn connection_failures_say_what_to_fix() {
        let addr = UsbmuxdAddress::parse("/var/run/usbmuxd").unwrap();
        let e = connect_error(&addr, Error::from(ErrorKind::NotFound));
        assert!(matches!(e, DeviceError::NoUsbmuxd(_)));
        let e = connect_error(&addr, Error::from(ErrorKind::ConnectionRefused));
        assert!(matches!(e, DeviceError::NoUsbmuxd(_)));
        let e = connect_error(&addr, Error::from(ErrorKind::PermissionDenied));
        assert_eq!(
            e.to_string(),
            "permission denied on the usbmuxd socket UNIX:/var/run/usbmuxd"
        );
    }

    #[test]
    fn device_list_entries_parse() {
        let mut props = plist::Dictionary::new();
        props.insert("SerialNumber".into(), "U1".into());
        props.insert("ConnectionType".into(), "Network".into());
        let mut entry = plist::Dictionary::new();
        entry.insert("DeviceID".into(), 7u64.into());
        entry.insert("Properties".into(), plist::Value::Dictionary(props));
        let d = attached(&entry).unwrap();
        assert_eq!(
            (d.device_id, d.udid.as_str(), d.connection),
            (7, "U1", Some(Connection::Network))
        );
        assert!(attached(&plist::Dictionary::new()).is_none());
    }
}
