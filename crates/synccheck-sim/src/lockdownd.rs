//! lockdownd, the phone's front door on port 62078: device values, the TLS session, pairing,
//! and starting services.
//!
//! Requests and replies are 4-byte big-endian length + plist dictionaries; every reply echoes
//! the `Request` name and carries either the result or an `Error` string from lockdownd's own
//! vocabulary (`MissingValue`, `InvalidHostID`, ...). Before a session only a public subset of
//! the root values answers, as on a phone that has not trusted the host.
//!
//! Session TLS runs on the same socket and ends on `StopSession`. libimobiledevice 1.3.0 sends
//! `StopSession` inside TLS, reads the reply, sends its close_notify without waiting for ours,
//! and then either closes or carries on in plaintext. So after the reply the phone sends no
//! alert of its own (it would land in the client's plaintext stream), takes whatever TLS records
//! are still in flight off the socket, and reads plaintext frames again.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use super::device::{Device, PendingService, ServiceKind, Unplug};
use super::faults::FaultMode;
use super::frame::{
    read_plist, write_plist, BoxStream, Channel, FrameError, Prefixed, IDLE_TIMEOUT,
};
use super::tls;
use crate::pairing::TrustedHost;
use synccheck_core::snapshot::KEYED_ONLY_VALUES;
use synccheck_device::pairing::new_uuid;
use synccheck_wire::plist_bombs::Bomb;

pub use super::usbmuxd::LOCKDOWN_PORT;

/// How long a client may take over a TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// Root values an unpaired host may read: what `ideviceinfo -s` shows on a phone that has not
/// trusted the computer. `DevicePublicKey` answers too, because pairing needs it.
const PUBLIC_VALUES: &[&str] = &[
    "BasebandCertId",
    "BasebandKeyHashInformation",
    "BasebandSerialNumber",
    "BasebandVersion",
    "BoardId",
    "BuildVersion",
    "CPUArchitecture",
    "ChipID",
    "DeviceClass",
    "DeviceColor",
    "DeviceName",
    "DieID",
    "HardwareModel",
    "HasSiDP",
    "PartitionType",
    "ProductName",
    "ProductType",
    "ProductVersion",
    "ProductionSOC",
    "ProtocolVersion",
    "SupportedDeviceFamilies",
    "TelephonyCapability",
    "UniqueChipID",
    "UniqueDeviceID",
    "WiFiAddress",
];

const QUERY_TYPE: &str = "com.apple.mobile.lockdown";

/// What a usbmuxd `Connect` reached on the phone.
pub(crate) enum Target {
    Lockdown,
    Service(PendingService),
}

/// Resolves a port for usbmuxd's `Connect`: lockdownd, or a service the phone started (each
/// start admits one connection). `None` is "connection refused".
pub(crate) fn open_port(device: &Device, port: u16) -> Option<Target> {
    if port == LOCKDOWN_PORT {
        Some(Target::Lockdown)
    } else {
        device.take_service(port).map(Target::Service)
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ServiceError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("TLS handshake failed: {0}")]
    Handshake(std::io::Error),
    #[error("TLS handshake did not finish within {0:?}")]
    HandshakeTimeout(Duration),
    #[error("cannot set up TLS: {0}")]
    TlsConfig(#[from] rustls::Error),
    #[error("request without a Request name")]
    NoRequest,
    #[error("TLS switched on twice on one connection")]
    AlreadyTls,
}

impl ServiceError {
    fn is_quiet(&self) -> bool {
        matches!(self, ServiceError::Frame(f) if f.is_quiet())
    }
}

/// Serves one device connection until it closes or the phone leaves the bus.
pub(crate) async fn serve_port(device: Arc<Device>, target: Target, stream: BoxStream) {
    let mut unplugged = device.unplugged();
    let id = device.id;
    let work = async {
        match target {
            Target::Lockdown => {
                Lockdown {
                    device: Arc::clone(&device),
                    channel: Channel::Plain(Prefixed::new(stream)),
                    session: None,
                }
                .run()
                .await
            }
            Target::Service(service) => match service.kind {
                ServiceKind::DiagnosticsRelay => {
                    super::diagnostics::serve(Arc::clone(&device), service, stream).await
                }
                // Plaintext: AFC needs no TLS, so the host that started it is not checked.
                ServiceKind::Afc => super::afc::serve(Arc::clone(&device), stream).await,
            },
        }
    };
    tokio::select! {
        _ = unplugged.changed() => tracing::debug!(device = id, "device left the bus; connection ends"),
        result = work => match result {
            Ok(()) => tracing::trace!(device = id, "device connection finished"),
            Err(e) if e.is_quiet() => tracing::trace!(device = id, "client went away: {e}"),
            Err(e) => tracing::debug!(device = id, "device connection dropped: {e}"),
        },
    }
}

/// Starts TLS as the server on a plaintext stream, for a session or service of `host`.
pub(crate) async fn accept_tls(
    device: &Device,
    host: TrustedHost,
    mut stream: Prefixed,
) -> Result<tokio_rustls::server::TlsStream<Prefixed>, ServiceError> {
    let impostor = device.faults.impostor_certificate;
    if impostor {
        device.fault_acts(FaultMode::ImpostorCertificate);
    }
    let config = tls::server_config(&device.identity, host, impostor)?;
    if device.faults.slow_tls {
        device.fault_acts(FaultMode::SlowTls);
        hold_client_hello(&mut stream).await?;
    }
    tokio::time::timeout(HANDSHAKE_TIMEOUT, TlsAcceptor::from(config).accept(stream))
        .await
        .map_err(|_| ServiceError::HandshakeTimeout(HANDSHAKE_TIMEOUT))?
        .map_err(ServiceError::Handshake)
}

/// How long `slow-tls` sits on a ClientHello: longer than any client's handshake timeout.
const SLOW_TLS_STALL: Duration = Duration::from_secs(60);

/// What a stalling phone keeps of the client's first flight; a ClientHello is far smaller.
const MAX_HELD_HANDSHAKE: usize = 64 * 1024;

/// `slow-tls`: reads the client's opening flight without answering for [`SLOW_TLS_STALL`],
/// then puts it back so the handshake proceeds as if it had only just arrived. A client that
/// gives up first ends the connection.
async fn hold_client_hello(stream: &mut Prefixed) -> Result<(), ServiceError> {
    let mut held = Vec::new();
    let mut buf = [0u8; 4096];
    let until = tokio::time::Instant::now() + SLOW_TLS_STALL;
    loop {
        match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Err(_) => break,
            Ok(Ok(0)) => return Err(FrameError::Wire(synccheck_wire::FrameError::Closed).into()),
            Ok(Ok(n)) if held.len() + n <= MAX_HELD_HANDSHAKE => held.extend_from_slice(&buf[..n]),
            Ok(Ok(_)) => {
                return Err(ServiceError::Handshake(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "oversized TLS opening flight",
                )))
            }
            Ok(Err(e)) => return Err(FrameError::from(e).into()),
        }
    }
    stream.unread(&held);
    Ok(())
}

struct Session {
    id: String,
    host: TrustedHost,
    /// GetValue requests answered in this session (the broken-reply faults hit the first).
    get_values: u32,
}

struct Lockdown {
    device: Arc<Device>,
    channel: Channel,
    session: Option<Session>,
}

fn reply(request: &str) -> plist::Dictionary {
    let mut d = plist::Dictionary::new();
    d.insert("Request".into(), request.into());
    d
}

fn error(request: &str, error: &str) -> plist::Dictionary {
    let mut d = reply(request);
    d.insert("Error".into(), error.into());
    d
}

fn success(request: &str) -> plist::Dictionary {
    let mut d = reply(request);
    d.insert("Result".into(), "Success".into());
    d
}

fn string<'a>(req: &'a plist::Dictionary, key: &str) -> Option<&'a str> {
    req.get(key).and_then(|v| v.as_string())
}

/// What the connection does after a request.
enum Flow {
    Continue,
    Close,
}

impl Lockdown {
    async fn run(mut self) -> Result<(), ServiceError> {
        loop {
            let req = read_plist(&mut self.channel, IDLE_TIMEOUT).await?;
            let Some(request) = string(&req, "Request").map(str::to_string) else {
                return Err(ServiceError::NoRequest);
            };
            tracing::trace!(device = self.device.id, %request, tls = self.channel.is_tls(), "lockdown request");
            let unplug = self.device.count_lockdown_request();
            let flow = self.answer(&request, &req).await?;
            // The reply is on the wire; pulling the cable now ends this connection and every
            // other one to the phone.
            match unplug {
                Unplug::No => {}
                Unplug::ForGood => {
                    self.device.unplug_for_good();
                    return Ok(());
                }
                Unplug::Replug => {
                    self.device.replug();
                    return Ok(());
                }
            }
            if let Flow::Close = flow {
                return Ok(());
            }
        }
    }

    async fn answer(
        &mut self,
        request: &str,
        req: &plist::Dictionary,
    ) -> Result<Flow, ServiceError> {
        match request {
            "QueryType" => {
                let mut r = reply("QueryType");
                r.insert("Type".into(), QUERY_TYPE.into());
                self.send(r).await?;
            }
            "GetValue" => {
                if let Some(session) = self.session.as_mut() {
                    session.get_values += 1;
                    if session.get_values == 1 {
                        if let Some(flow) = self.poisoned_reply().await? {
                            return Ok(flow);
                        }
                    }
                }
                let r = self.get_value(req);
                self.send(r).await?;
            }
            "SetValue" => self.send(error("SetValue", "SetProhibited")).await?,
            "RemoveValue" => self.send(error("RemoveValue", "RemoveProhibited")).await?,
            "StartSession" => self.start_session(req).await?,
            "StopSession" => {
                if !self.stop_session(req).await? {
                    return Ok(Flow::Close);
                }
            }
            "StartService" => {
                let r = self.start_service(req);
                self.send(r).await?;
            }
            "Pair" | "ValidatePair" | "Unpair" => {
                let r = self.pairing(request, req);
                self.send(r).await?;
            }
            "Goodbye" => {
                self.send(success("Goodbye")).await?;
                return Ok(Flow::Close);
            }
            other => {
                tracing::debug!(
                    device = self.device.id,
                    request = other,
                    "unknown lockdown request"
                );
                self.send(error(other, "InvalidRequest")).await?;
            }
        }
        Ok(Flow::Continue)
    }

    async fn send(&mut self, reply: plist::Dictionary) -> Result<(), ServiceError> {
        self.device.delay_reply().await;
        write_plist(&mut self.channel, reply).await?;
        Ok(())
    }

    /// The `garbage`, `huge-length`, `plist-bomb` and `deep-plist` faults answer the first
    /// GetValue of each session: every
    /// full read of a phone (ideviceinfo, pymobiledevice3, synccheck's scan) asks for values
    /// right after StartSession, so the broken reply meets the client inside TLS, past the
    /// point where it trusts the connection. With both faults set, huge-length wins: after its
    /// stall there is nothing more to say; the plist faults come next, then garbage. `None` when
    /// none is set.
    async fn poisoned_reply(&mut self) -> Result<Option<Flow>, ServiceError> {
        let faults = &self.device.faults;
        if faults.huge_length {
            self.device.fault_acts(FaultMode::HugeLength);
            self.device.delay_reply().await;
            // A prefix announcing ~4 GB and the start of a body that never follows.
            let mut frame = HUGE_LENGTH.to_be_bytes().to_vec();
            frame.extend_from_slice(b"<?xml");
            self.channel
                .write_all(&frame)
                .await
                .map_err(FrameError::from)?;
            self.channel.flush().await.map_err(FrameError::from)?;
            stall(&mut self.channel).await;
            return Ok(Some(Flow::Close));
        }
        if faults.plist_bomb || faults.deep_plist {
            let (mode, bomb) = if faults.plist_bomb {
                (FaultMode::PlistBomb, PLIST_BOMB)
            } else {
                (FaultMode::DeepPlist, DEEP_PLIST)
            };
            self.device.fault_acts(mode);
            self.device.delay_reply().await;
            let body = bomb.in_message(&[("Request", "GetValue")], "Value");
            let mut frame = (body.len() as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(&body);
            self.channel
                .write_all(&frame)
                .await
                .map_err(FrameError::from)?;
            self.channel.flush().await.map_err(FrameError::from)?;
            return Ok(Some(Flow::Continue));
        }
        if faults.garbage {
            self.device.fault_acts(FaultMode::Garbage);
            self.device.delay_reply().await;
            self.channel
                .write_all(&garbage_frame())
                .await
                .map_err(FrameError::from)?;
            self.channel.flush().await.map_err(FrameError::from)?;
            return Ok(Some(Flow::Continue));
        }
        Ok(None)
    }

    /// Looks a value up the way lockdownd does: no key and no domain is the whole root
    /// dictionary, a domain alone is that whole domain except the values a phone gives only
    /// when asked by key (Find My's `IsAssociated`: libimobiledevice issues 275 and 378).
    fn lookup(&self, domain: Option<&str>, key: Option<&str>) -> Option<plist::Value> {
        let device = &self.device;
        let public_key = || plist::Value::Data(device.identity.public_key_pem.as_bytes().to_vec());
        if self.session.is_none() {
            if domain.is_some() {
                return None;
            }
            return match key {
                None => {
                    let mut root = plist::Dictionary::new();
                    for k in PUBLIC_VALUES {
                        if let Some(v) = device.lockdown.get(k) {
                            root.insert((*k).to_string(), v.clone());
                        }
                    }
                    Some(plist::Value::Dictionary(root))
                }
                Some("DevicePublicKey") => Some(public_key()),
                Some(k) if PUBLIC_VALUES.contains(&k) => device.lockdown.get(k).cloned(),
                Some(_) => None,
            };
        }
        match (domain, key) {
            (None, None) => {
                let mut root = device.lockdown.clone();
                if !root.contains_key("DevicePublicKey") {
                    root.insert("DevicePublicKey".into(), public_key());
                }
                Some(plist::Value::Dictionary(root))
            }
            (None, Some("DevicePublicKey")) => device
                .lockdown
                .get("DevicePublicKey")
                .cloned()
                .or_else(|| Some(public_key())),
            (None, Some(k)) => device.lockdown.get(k).cloned(),
            (Some(d), None) => device.domains.get(d).map(|values| {
                let mut values = values.clone();
                for (domain, key) in KEYED_ONLY_VALUES {
                    if domain == d {
                        values.remove(key);
                    }
                }
                plist::Value::Dictionary(values)
            }),
            (Some(d), Some(k)) => device
                .domains
                .get(d)
                .and_then(|values| values.get(k))
                .cloned(),
        }
    }

    fn get_value(&self, req: &plist::Dictionary) -> plist::Dictionary {
        let domain = string(req, "Domain");
        let key = string(req, "Key");
        let mut r = reply("GetValue");
        if let Some(d) = domain {
            r.insert("Domain".into(), d.into());
        }
        if let Some(k) = key {
            r.insert("Key".into(), k.into());
        }
        match self.lookup(domain, key) {
            Some(v) => {
                r.insert("Value".into(), v);
            }
            None => {
                r.insert("Error".into(), "MissingValue".into());
            }
        }
        r
    }

    async fn start_session(&mut self, req: &plist::Dictionary) -> Result<(), ServiceError> {
        let Some(host_id) = string(req, "HostID") else {
            return self.send(error("StartSession", "MissingHostID")).await;
        };
        // Before the first unlock after a restart the phone's pairing data is still encrypted:
        // it cannot check the host, and says so (see docs/device-facts.md, restart).
        if self.device.refuses_session_while_locked() {
            return self.send(error("StartSession", "PasswordProtected")).await;
        }
        let Some(host) = self.device.trusted_host(host_id) else {
            self.device.note_missing_pairing();
            return self.send(error("StartSession", "InvalidHostID")).await;
        };
        if self.session.is_some() {
            return self.send(error("StartSession", "SessionActive")).await;
        }
        let session_id = new_uuid();
        let mut r = reply("StartSession");
        r.insert("EnableSessionSSL".into(), true.into());
        r.insert("SessionID".into(), session_id.clone().into());
        self.send(r).await?;

        let Channel::Plain(plain) = std::mem::replace(&mut self.channel, Channel::Switching) else {
            // Unreachable: no session is active (checked above), so the channel is plaintext.
            return Err(ServiceError::AlreadyTls);
        };
        let tls = accept_tls(&self.device, host.clone(), plain).await?;
        self.channel = Channel::Tls(Box::new(tls));
        self.session = Some(Session {
            id: session_id,
            host,
            get_values: 0,
        });
        Ok(())
    }

    /// Returns false when the client closed the connection right after.
    async fn stop_session(&mut self, req: &plist::Dictionary) -> Result<bool, ServiceError> {
        let Some(session) = &self.session else {
            self.send(error("StopSession", "SessionInactive")).await?;
            return Ok(true);
        };
        match string(req, "SessionID") {
            None => {
                self.send(error("StopSession", "MissingSessionID")).await?;
                return Ok(true);
            }
            Some(id) if id != session.id => {
                self.send(error("StopSession", "InvalidSessionID")).await?;
                return Ok(true);
            }
            Some(_) => {}
        }
        self.send(success("StopSession")).await?;
        self.session = None;
        let Channel::Tls(tls) = std::mem::replace(&mut self.channel, Channel::Switching) else {
            return Ok(true);
        };
        let (mut plain, mut conn) = (*tls).into_inner();
        let open = drain_tls_records(&mut plain, &mut conn).await?;
        self.channel = Channel::Plain(plain);
        Ok(open)
    }

    fn start_service(&self, req: &plist::Dictionary) -> plist::Dictionary {
        let Some(session) = &self.session else {
            return error("StartService", "SessionInactive");
        };
        let Some(name) = string(req, "Service") else {
            return error("StartService", "MissingService");
        };
        let Some(kind) = ServiceKind::from_name(name) else {
            let mut r = error("StartService", "InvalidService");
            r.insert("Service".into(), name.into());
            return r;
        };
        let Some(port) = self.device.open_service(kind, session.host.clone()) else {
            return error("StartService", "ServiceLimit");
        };
        let mut r = reply("StartService");
        // Phones say it either way: true for TLS services, false for AFC.
        r.insert("EnableServiceSSL".into(), kind.uses_tls().into());
        r.insert("Port".into(), u64::from(port).into());
        r.insert("Service".into(), name.into());
        r
    }

    /// Pair, ValidatePair and Unpair. Without a pairing fault a new host is trusted at once, as
    /// if the user tapped Trust; with one, the phone's user answers as the fault says (see
    /// [`Device::pairing_verdict`]).
    fn pairing(&self, verb: &str, req: &plist::Dictionary) -> plist::Dictionary {
        let Some(record) = req.get("PairRecord").and_then(|v| v.as_dictionary()) else {
            return error(verb, "MissingPairRecord");
        };
        let host_id = record.get("HostID").and_then(|v| v.as_string());
        match verb {
            "Pair" => {
                let Some(host) = TrustedHost::from_pair_request(record) else {
                    return error(verb, "InvalidPairRecord");
                };
                if let Err(refusal) = self.device.pairing_verdict() {
                    return error(verb, refusal);
                }
                self.device.trust(host);
                // The host stores this keybag in its pair record and sends it back with
                // StartService when it needs the phone's data while locked.
                let mut r = success(verb);
                r.insert(
                    "EscrowBag".into(),
                    plist::Value::Data(self.device.identity.escrow_bag.clone()),
                );
                r
            }
            "ValidatePair" => match host_id {
                Some(id) if self.device.trusted_host(id).is_some() => success(verb),
                _ => {
                    self.device.note_missing_pairing();
                    error(verb, "InvalidHostID")
                }
            },
            _ => match host_id {
                Some(id) if self.device.forget(id) => success(verb),
                _ => error(verb, "InvalidHostID"),
            },
        }
    }
}

/// The `huge-length` prefix: about 4 GB, just under what a u32 holds.
const HUGE_LENGTH: u32 = 0xFFFF_FFF0;

/// Bytes of noise in a `garbage` reply.
const GARBAGE_LEN: usize = 64;

/// A correctly framed body that is no plist: 0xFF can start neither XML (`<`, a BOM or
/// whitespace), nor a binary plist (`bplist`), nor valid UTF-8.
/// `plist-bomb`: 64^5, about a billion values, from about 500 bytes.
const PLIST_BOMB: Bomb = Bomb::Reuse {
    levels: 5,
    width: 64,
};

/// `deep-plist`: 20,000 nested arrays, about 300 KB.
const DEEP_PLIST: Bomb = Bomb::Deep {
    depth: 20_000,
    dicts: false,
};

fn garbage_frame() -> Vec<u8> {
    let mut body = [0u8; GARBAGE_LEN];
    getrandom::getrandom(&mut body).expect("the OS gives random bytes");
    body[0] = 0xFF;
    let mut frame = (GARBAGE_LEN as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

/// A phone that has stopped talking but keeps the connection: take whatever the client still
/// sends, answer nothing, until it hangs up or stays silent for the idle timeout.
async fn stall<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut sink = [0u8; 1024];
    while let Ok(Ok(n)) = tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut sink)).await {
        if n == 0 {
            break;
        }
    }
}

/// Largest TLS record on the wire: 2^14 bytes of payload plus expansion.
const MAX_TLS_RECORD: usize = 16384 + 2048;

/// Takes the client's closing TLS records (its close_notify) off the socket after StopSession.
/// A plaintext frame starts with a zero byte (lengths stay under 16 MiB); a TLS record starts
/// with its content type (0x15 alert, 0x17 application data in TLS 1.3). Returns false when the
/// client closed the connection instead.
async fn drain_tls_records(
    plain: &mut Prefixed,
    conn: &mut rustls::ServerConnection,
) -> Result<bool, ServiceError> {
    loop {
        let mut first = [0u8; 1];
        let n = tokio::time::timeout(IDLE_TIMEOUT, plain.read(&mut first))
            .await
            .map_err(|_| FrameError::Idle(IDLE_TIMEOUT))?
            .map_err(FrameError::from)?;
        if n == 0 {
            return Ok(false);
        }
        if !matches!(first[0], 0x15 | 0x17) {
            plain.unread(&first);
            return Ok(true);
        }
        let mut header = [0u8; 4];
        let body = tokio::time::timeout(super::frame::BODY_TIMEOUT, async {
            plain.read_exact(&mut header).await?;
            let len = u16::from_be_bytes([header[2], header[3]]) as usize;
            if len > MAX_TLS_RECORD {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "oversized TLS record after StopSession",
                ));
            }
            let mut body = vec![0u8; len];
            plain.read_exact(&mut body).await?;
            Ok(body)
        })
        .await
        .map_err(|_| FrameError::SlowBody(super::frame::BODY_TIMEOUT))?
        .map_err(FrameError::from)?;
        let mut record = Vec::with_capacity(5 + body.len());
        record.push(first[0]);
        record.extend_from_slice(&header);
        record.extend_from_slice(&body);
        // Only to see what it was; the session is over either way.
        let _ = conn.read_tls(&mut std::io::Cursor::new(record));
        match conn.process_new_packets() {
            Ok(state) if state.peer_has_closed() => {
                tracing::trace!("client sent close_notify after StopSession")
            }
            Ok(_) => tracing::trace!("client sent a TLS record after StopSession"),
            Err(e) => tracing::trace!("unreadable TLS record after StopSession: {e}"),
        }
    }
}
