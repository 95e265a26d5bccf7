//! The usbmuxd side of the simulator: the plist protocol libusbmuxd speaks.
//!
//! Every message has a 16-byte little-endian header (total length including the header,
//! protocol version, message type, tag) and, for version 1 / type 8, an XML plist body whose
//! `MessageType` names the request. Replies echo the tag. `Connect` turns the socket into a raw
//! stream to a port on the device; `Listen` turns it into an event feed of Attached / Detached /
//! Paired messages with tag 0. Result numbers are usbmuxd's: 0 ok, 1 bad command, 2 bad device
//! (also ENOENT for a missing pair record), 3 connection refused, 6 bad version, 22 EINVAL.
//!
//! The old binary protocol (version 0) is answered with a binary "bad command" result: clients
//! only fall back to it when a plist request is refused with "bad version", which never happens
//! here.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;

use super::device::{Device, MuxEvent};
use super::frame::{BoxStream, BODY_TIMEOUT};
use super::lockdownd::Target;
use super::Shared;

use synccheck_wire::usbmux::{
    self as codec, Header, HEADER_LEN, MESSAGE_PLIST as MSG_PLIST, MESSAGE_RESULT as MSG_RESULT,
    RESULT_BAD_COMMAND as RESULT_BADCOMMAND, RESULT_BAD_DEVICE as RESULT_BADDEV,
    RESULT_BAD_VERSION as RESULT_BADVERSION, RESULT_CONNECTION_REFUSED as RESULT_CONNREFUSED,
    RESULT_OK,
};

/// usbmuxd reads a command into a 64 KiB buffer and drops a client whose message is larger.
const MAX_MESSAGE: u32 = 0x10000;
/// A command connection that stays silent this long is dropped (Listen connections are not).
const COMMAND_IDLE: Duration = Duration::from_secs(300);

const ENOENT: u64 = 2;
const EINVAL: u64 = 22;

/// The port lockdownd listens on.
pub const LOCKDOWN_PORT: u16 = 62078;
/// Apple's USB product ID for iPhones (as modern iPhones enumerate).
const PRODUCT_ID: u64 = 0x12a8;
/// USB 2.0 high speed, what iPhones over Lightning report.
const CONNECTION_SPEED: u64 = 480_000_000;
/// Pair records usbmuxd keeps; a client saving more is filling memory.
const MAX_PAIR_RECORDS: usize = 256;

#[derive(Debug, thiserror::Error)]
enum MuxError {
    #[error("client closed the connection")]
    Closed,
    #[error("no command within {0:?}")]
    Idle(Duration),
    #[error("message body did not arrive in time")]
    SlowBody,
    /// Too short, too long: the codec shared with the client says which.
    #[error(transparent)]
    Wire(#[from] synccheck_wire::FrameError),
    #[error("payload is not a plist with a MessageType: {0}")]
    BadPlist(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Where the simulated usbmuxd listens.
pub(crate) enum Listener {
    Unix(tokio::net::UnixListener),
    Tcp(tokio::net::TcpListener),
}

impl Listener {
    async fn accept(&self) -> std::io::Result<BoxStream> {
        Ok(match self {
            Listener::Unix(l) => Box::new(l.accept().await?.0),
            Listener::Tcp(l) => {
                let (stream, _) = l.accept().await?;
                // Request/reply traffic: never wait for Nagle.
                let _ = stream.set_nodelay(true);
                Box::new(stream)
            }
        })
    }
}

pub(crate) async fn serve(
    listener: Listener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(stream) => spawn_client(&mut tasks, &shared, stream),
                Err(e) => {
                    tracing::warn!("usbmuxd accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.shutdown().await;
}

fn spawn_client(tasks: &mut JoinSet<()>, shared: &Arc<Shared>, stream: BoxStream) {
    let shared = Arc::clone(shared);
    let number = shared.next_client.fetch_add(1, Ordering::SeqCst);
    tasks.spawn(async move {
        let mut client = Client {
            shared,
            stream,
            number,
            info: plist::Dictionary::new(),
        };
        match client.commands().await {
            Ok(Next::Listen(events)) => client.listen(events).await,
            Ok(Next::Connect(device, target)) => {
                super::lockdownd::serve_port(device, target, client.stream).await
            }
            Err(e) => match e {
                MuxError::Closed => tracing::trace!(client = number, "usbmuxd client left"),
                other => tracing::debug!(client = number, "usbmuxd client dropped: {other}"),
            },
        }
    });
}

enum Next {
    Listen(broadcast::Receiver<MuxEvent>),
    Connect(Arc<Device>, Target),
}

struct Client {
    shared: Arc<Shared>,
    stream: BoxStream,
    number: u64,
    /// What the client said about itself (BundleID, ProgName, ...), for ListListeners.
    info: plist::Dictionary,
}

impl Client {
    async fn read_message(&mut self) -> Result<(Header, Vec<u8>), MuxError> {
        let mut head = [0u8; HEADER_LEN];
        let first = tokio::time::timeout(COMMAND_IDLE, self.stream.read(&mut head[..1]))
            .await
            .map_err(|_| MuxError::Idle(COMMAND_IDLE))??;
        if first == 0 {
            return Err(MuxError::Closed);
        }
        tokio::time::timeout(BODY_TIMEOUT, async {
            self.stream.read_exact(&mut head[1..]).await?;
            let header = Header::parse(&head);
            let mut payload = vec![0u8; header.payload_len(MAX_MESSAGE)?];
            self.stream.read_exact(&mut payload).await?;
            Ok((header, payload))
        })
        .await
        .map_err(|_| MuxError::SlowBody)?
    }

    async fn send_raw(
        &mut self,
        version: u32,
        message: u32,
        tag: u32,
        payload: &[u8],
    ) -> Result<(), MuxError> {
        let out = codec::encode_raw(version, message, tag, payload);
        self.stream.write_all(&out).await?;
        self.stream.flush().await?;
        Ok(())
    }

    async fn send_plist(&mut self, tag: u32, dict: plist::Dictionary) -> Result<(), MuxError> {
        codec::write(&mut self.stream, tag, &dict).await?;
        Ok(())
    }

    async fn send_result(&mut self, tag: u32, number: u64) -> Result<(), MuxError> {
        let mut d = plist::Dictionary::new();
        d.insert("MessageType".into(), "Result".into());
        d.insert("Number".into(), number.into());
        self.send_plist(tag, d).await
    }

    /// Answers requests until the connection closes or turns into a Listen feed or a device
    /// stream.
    async fn commands(&mut self) -> Result<Next, MuxError> {
        loop {
            let (header, payload) = self.read_message().await?;
            if header.version != 1 {
                // Binary protocol (0) or a version no usbmuxd knows: answer in binary, as
                // usbmuxd does for a client that has not spoken plist yet.
                let number = if header.version == 0 {
                    RESULT_BADCOMMAND
                } else {
                    RESULT_BADVERSION
                } as u32;
                tracing::debug!(
                    client = self.number,
                    version = header.version,
                    "refusing a non-plist usbmuxd request"
                );
                self.send_raw(0, MSG_RESULT, header.tag, &number.to_le_bytes())
                    .await?;
                continue;
            }
            if header.message != MSG_PLIST {
                self.send_result(header.tag, RESULT_BADCOMMAND).await?;
                continue;
            }
            let dict = synccheck_wire::plist_frame::decode_dict(&payload)?;
            let Some(kind) = dict.get("MessageType").and_then(|v| v.as_string()) else {
                return Err(MuxError::BadPlist("no MessageType".into()));
            };
            let kind = kind.to_string();
            for key in [
                "BundleID",
                "ClientVersionString",
                "ProgName",
                "kLibUSBMuxVersion",
            ] {
                if let Some(v) = dict.get(key) {
                    self.info.insert(key.into(), v.clone());
                }
            }
            tracing::trace!(client = self.number, request = %kind, "usbmuxd request");
            let tag = header.tag;
            match kind.as_str() {
                "ListDevices" => {
                    let list: Vec<plist::Value> = self
                        .shared
                        .devices
                        .iter()
                        .filter(|d| d.is_attached())
                        .map(|d| plist::Value::Dictionary(attached_message(d)))
                        .collect();
                    let mut reply = plist::Dictionary::new();
                    reply.insert("DeviceList".into(), plist::Value::Array(list));
                    self.send_plist(tag, reply).await?;
                }
                "Listen" => {
                    // Subscribe before announcing the current devices so that nothing that
                    // happens in between is lost.
                    let events = self.shared.events.subscribe();
                    self.send_result(tag, RESULT_OK).await?;
                    return Ok(Next::Listen(events));
                }
                "Connect" => {
                    let device_id = dict.get("DeviceID").and_then(|v| v.as_unsigned_integer());
                    let port = dict.get("PortNumber").and_then(|v| v.as_unsigned_integer());
                    let Some(device_id) = device_id else {
                        self.send_result(tag, RESULT_BADDEV).await?;
                        continue;
                    };
                    let Some(port) = port else {
                        self.send_result(tag, RESULT_BADCOMMAND).await?;
                        continue;
                    };
                    // PortNumber travels in network byte order inside the integer.
                    let port = (port as u16).swap_bytes();
                    let device = u32::try_from(device_id)
                        .ok()
                        .and_then(|id| self.shared.device(id))
                        .filter(|d| d.is_attached())
                        .cloned();
                    let Some(device) = device else {
                        self.send_result(tag, RESULT_BADDEV).await?;
                        continue;
                    };
                    let Some(target) = super::lockdownd::open_port(&device, port) else {
                        self.send_result(tag, RESULT_CONNREFUSED).await?;
                        continue;
                    };
                    self.send_result(tag, RESULT_OK).await?;
                    return Ok(Next::Connect(device, target));
                }
                "ReadBUID" => {
                    let mut reply = plist::Dictionary::new();
                    reply.insert("BUID".into(), self.shared.system_buid.clone().into());
                    self.send_plist(tag, reply).await?;
                }
                "ReadPairRecord" => {
                    let Some(id) = dict.get("PairRecordID").and_then(|v| v.as_string()) else {
                        self.send_result(tag, EINVAL).await?;
                        continue;
                    };
                    let record = super::lock(&self.shared.pair_records).get(id).cloned();
                    match record {
                        Some(data) => {
                            let mut reply = plist::Dictionary::new();
                            reply.insert("PairRecordData".into(), plist::Value::Data(data));
                            self.send_plist(tag, reply).await?;
                        }
                        None => {
                            if let Some(d) = self.shared.devices.iter().find(|d| d.udid == id) {
                                d.note_missing_pairing();
                            }
                            self.send_result(tag, ENOENT).await?
                        }
                    }
                }
                "SavePairRecord" => {
                    let id = dict.get("PairRecordID").and_then(|v| v.as_string());
                    let data = dict.get("PairRecordData").and_then(|v| v.as_data());
                    let (Some(id), Some(data)) = (id, data) else {
                        self.send_result(tag, EINVAL).await?;
                        continue;
                    };
                    let stored = {
                        let mut store = super::lock(&self.shared.pair_records);
                        if store.len() >= MAX_PAIR_RECORDS && !store.contains_key(id) {
                            false
                        } else {
                            store.insert(id.to_string(), data.to_vec());
                            true
                        }
                    };
                    if !stored {
                        self.send_result(tag, EINVAL).await?;
                        continue;
                    }
                    // Listeners learn of a pairing only when the saver names the device and it
                    // is the one the record is for.
                    if let Some(dev) = dict
                        .get("DeviceID")
                        .and_then(|v| v.as_unsigned_integer())
                        .and_then(|n| u32::try_from(n).ok())
                        .and_then(|n| self.shared.device(n))
                    {
                        if dev.udid == id && dev.is_attached() {
                            let _ = self.shared.events.send(MuxEvent::Paired(dev.id));
                        }
                    }
                    self.send_result(tag, RESULT_OK).await?;
                }
                "DeletePairRecord" => {
                    let Some(id) = dict.get("PairRecordID").and_then(|v| v.as_string()) else {
                        self.send_result(tag, EINVAL).await?;
                        continue;
                    };
                    let removed = super::lock(&self.shared.pair_records).remove(id).is_some();
                    self.send_result(tag, if removed { RESULT_OK } else { ENOENT })
                        .await?;
                }
                "ListListeners" => {
                    let list: Vec<plist::Value> = super::lock(&self.shared.listeners)
                        .iter()
                        .map(|(n, info)| plist::Value::Dictionary(listener_entry(*n, info)))
                        .collect();
                    let mut reply = plist::Dictionary::new();
                    reply.insert("ListenerList".into(), plist::Value::Array(list));
                    self.send_plist(tag, reply).await?;
                }
                other => {
                    tracing::debug!(
                        client = self.number,
                        request = other,
                        "unknown usbmuxd request"
                    );
                    self.send_result(tag, RESULT_BADCOMMAND).await?;
                }
            }
        }
    }

    /// Feeds Attached / Detached / Paired events until the client goes away.
    async fn listen(mut self, mut events: broadcast::Receiver<MuxEvent>) {
        super::lock(&self.shared.listeners).insert(self.number, self.info.clone());
        let result = self.listen_loop(&mut events).await;
        super::lock(&self.shared.listeners).remove(&self.number);
        if let Err(e) = result {
            match e {
                MuxError::Closed => tracing::trace!(client = self.number, "listener left"),
                other => tracing::debug!(client = self.number, "listener dropped: {other}"),
            }
        }
    }

    async fn listen_loop(
        &mut self,
        events: &mut broadcast::Receiver<MuxEvent>,
    ) -> Result<(), MuxError> {
        let attached: Vec<plist::Dictionary> = self
            .shared
            .devices
            .iter()
            .filter(|d| d.is_attached())
            .map(|d| attached_message(d))
            .collect();
        for msg in attached {
            self.send_plist(0, msg).await?;
        }
        let mut probe = [0u8; 1];
        loop {
            tokio::select! {
                read = self.stream.read(&mut probe) => {
                    // usbmuxd takes no further commands on a listening connection.
                    return match read? {
                        0 => Err(MuxError::Closed),
                        _ => Err(MuxError::BadPlist("command on a Listen connection".into())),
                    };
                }
                event = events.recv() => match event {
                    Ok(MuxEvent::Attached(id)) => {
                        if let Some(d) = self.shared.device(id).cloned() {
                            self.send_plist(0, attached_message(&d)).await?;
                        }
                    }
                    Ok(MuxEvent::Detached(id)) => {
                        self.send_plist(0, id_message("Detached", id)).await?;
                    }
                    Ok(MuxEvent::Paired(id)) => {
                        self.send_plist(0, id_message("Paired", id)).await?;
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!(client = self.number, missed = n, "listener fell behind");
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                }
            }
        }
    }
}

fn attached_message(d: &Device) -> plist::Dictionary {
    let mut props = plist::Dictionary::new();
    props.insert("ConnectionSpeed".into(), CONNECTION_SPEED.into());
    props.insert("ConnectionType".into(), "USB".into());
    props.insert("DeviceID".into(), u64::from(d.id).into());
    props.insert("LocationID".into(), u64::from(d.location_id).into());
    props.insert("ProductID".into(), PRODUCT_ID.into());
    props.insert("SerialNumber".into(), d.udid.clone().into());
    // The USB descriptor's serial has no dash; usbmuxd inserts it when it forms the UDID.
    props.insert("USBSerialNumber".into(), d.udid.replace('-', "").into());
    let mut msg = plist::Dictionary::new();
    msg.insert("DeviceID".into(), u64::from(d.id).into());
    msg.insert("MessageType".into(), "Attached".into());
    msg.insert("Properties".into(), plist::Value::Dictionary(props));
    msg
}

fn id_message(kind: &str, id: u32) -> plist::Dictionary {
    let mut msg = plist::Dictionary::new();
    msg.insert("DeviceID".into(), u64::from(id).into());
    msg.insert("MessageType".into(), kind.into());
    msg
}

fn listener_entry(number: u64, info: &plist::Dictionary) -> plist::Dictionary {
    let prog = info
        .get("ProgName")
        .and_then(|v| v.as_string())
        .unwrap_or("unknown")
        .to_string();
    let mut l = plist::Dictionary::new();
    l.insert("Blacklisted".into(), false.into());
    if let Some(b) = info.get("BundleID") {
        l.insert("BundleID".into(), b.clone());
    }
    l.insert("ConnType".into(), 0u64.into());
    l.insert("ID String".into(), format!("{number}-{prog}").into());
    l.insert("ProgName".into(), prog.into());
    let version = info
        .get("kLibUSBMuxVersion")
        .and_then(|v| v.as_unsigned_integer())
        .unwrap_or(0);
    l.insert("kLibUSBMuxVersion".into(), version.into());
    l
}
