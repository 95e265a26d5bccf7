//! A simulated iPhone behind a usbmuxd-compatible socket (`synccheck sim`).
//!
//! It speaks the real wire protocols, so unmodified clients (libimobiledevice's tools, idevice,
//! pymobiledevice3, and synccheck's own live scan) talk to it as to a phone on USB:
//! usbmuxd's plist protocol ([`usbmuxd`]), lockdownd on port 62078 with its TLS session
//! ([`lockdownd`]), the diagnostics_relay service ([`diagnostics`]) and AFC, the media
//! filesystem with the iCloud Photos engine's files and library ([`afc`]). Values come from
//! snapshots, untouched (the CLI replays them as of now unless `--as-captured`: see
//! `Snapshot::replayed_at`). On request a phone misbehaves in the ways real ones do on a repair
//! bench (not paired, locked, unplugged mid-read, slow, or sending broken frames): see
//! [`faults`].
//!
//! The protocol code is written here, not taken from a library: the idevice crate (a client,
//! which the simulator's tests use as an independent reader) has no server side, and nothing
//! else in Rust does.
//!
//! Each snapshot becomes one device, usbmuxd DeviceID 1..n in the order given. Two snapshots
//! with the same `UniqueDeviceID` (the same file passed several times, e.g. for a benchmark)
//! would be one phone to every client, so each later copy gets a UDID of its own: the original
//! with its last four hex digits replaced by the copy number (`…0001` → `…0002`), keeping the
//! length and character set clients expect. usbmuxd's `SerialNumber` and lockdown's
//! `UniqueDeviceID` both carry that UDID, so the two views agree.

mod afc;
mod device;
mod diagnostics;
pub mod faults;
mod frame;
pub mod link;
#[cfg(test)]
mod link_tests;
mod lockdownd;
pub mod originals;
pub mod paged;
pub mod pairing;
#[cfg(test)]
mod query_stop_tests;
pub mod synth;
pub mod synth_realistic;
#[cfg(test)]
mod synth_realistic_tests;
mod tls;
mod usbmuxd;
#[cfg(test)]
mod wire_tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use device::{Device, DeviceParts, MuxEvent};
use pairing::PairNewDevice;
use synccheck_core::snapshot::Snapshot;
use synccheck_device::pairing::{HostIdentity, PairingError};

pub use faults::{Fault, FaultError, FaultMode, FaultSpec, Faults, Trust, UnlockWhen};
pub use link::{AfcCounters, Link};
pub use synth_realistic::LibraryProfile;

/// One phone to simulate.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub snapshot: Snapshot,
    pub faults: Faults,
    /// Serve the snapshot's `UniqueDeviceID` exactly as written, as usbmuxd's `SerialNumber`
    /// and lockdown's `UniqueDeviceID`, even when another phone has it too or it is no UDID at
    /// all (`../../x`, a NUL, 500 characters): a tampered phone, for testing what a client does
    /// with one. Phones that share a UDID share its pairing, as usbmuxd keeps one pair record
    /// per UDID.
    pub exact_udid: bool,
    /// What the iCloud Photos engine's files and library say once the phone has restarted on
    /// diagnostics_relay's `Restart` (`sim --after-restart FILE`): a fresh engine state, so a
    /// restart's before and after can differ. `None`: the same as before.
    pub after_restart: Option<synccheck_core::photos::PhotoLibrary>,
    /// How large a Photos.sqlite to make from the snapshot's database summary.
    pub library_profile: LibraryProfile,
}

impl SimDevice {
    pub fn new(snapshot: Snapshot) -> Self {
        SimDevice {
            snapshot,
            faults: Faults::default(),
            exact_udid: false,
            after_restart: None,
            library_profile: LibraryProfile::default(),
        }
    }
}

/// Where the simulated usbmuxd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub devices: Vec<SimDevice>,
    pub listen: ListenAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("no device to simulate")]
    NoDevices,
    #[error("there is no device {n}: devices are numbered 1 to {count}")]
    NoSuchDevice { n: usize, count: usize },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: another usbmuxd is already serving that socket")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; not replacing it")]
    NotASocket(PathBuf),
    #[error("cannot make the pair records: {0}")]
    Pairing(#[from] PairingError),
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("key generation task failed: {0}")]
    Task(String),
}

/// State every connection shares: the devices, usbmuxd's pair record store and its listeners.
pub(crate) struct Shared {
    pub devices: Vec<Arc<Device>>,
    pub events: broadcast::Sender<MuxEvent>,
    pub system_buid: String,
    /// usbmuxd's host-side store, keyed by `PairRecordID` (the UDID).
    pub pair_records: Mutex<HashMap<String, Vec<u8>>>,
    /// Clients in Listen mode, by connection number, with what they said about themselves.
    pub listeners: Mutex<BTreeMap<u64, plist::Dictionary>>,
    pub next_client: AtomicU64,
}

impl Shared {
    pub fn device(&self, id: u32) -> Option<&Arc<Device>> {
        self.devices.iter().find(|d| d.id == id)
    }
}

/// A poisoned lock only means another connection task panicked mid-update of a small table;
/// the table itself is still usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What hosts asked of one phone's AFC volume.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfcActivity {
    /// Requests that would have written, created, removed or renamed something (all refused).
    pub write_requests: u64,
    /// Originals (photos and videos under `DCIM/`) opened for reading.
    pub original_opens: u64,
}

/// A running simulator.
pub struct SimHandle {
    address: String,
    udids: Vec<String>,
    socket_path: Option<PathBuf>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// The value for `USBMUXD_SOCKET_ADDRESS`: `UNIX:/path` or `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The UDIDs served, in DeviceID order.
    pub fn udids(&self) -> &[String] {
        &self.udids
    }

    /// Pulls phone `n` (1-based, `--snapshot` order) off the bus, as a cable pulled out: Listen
    /// clients hear `Detached` and every connection to it ends.
    pub fn unplug(&self, n: usize) -> Result<(), SimError> {
        self.numbered(n)?.detach();
        Ok(())
    }

    /// Plugs phone `n` back in: Listen clients hear `Attached`. A phone unplugged for good by
    /// `unplug-after` stays away.
    pub fn plug(&self, n: usize) -> Result<(), SimError> {
        self.numbered(n)?.attach();
        Ok(())
    }

    /// Unlocks phone `n`, as its owner entering the passcode: a phone that came back locked from
    /// a restart (`locked-after-restart`) opens sessions again. A phone not locked is unchanged.
    pub fn unlock(&self, n: usize) -> Result<(), SimError> {
        self.numbered(n)?.unlock();
        Ok(())
    }

    /// What hosts have asked of phone `n`'s AFC volume so far (all zero before its first AFC
    /// connection).
    pub fn afc_activity(&self, n: usize) -> Result<AfcActivity, SimError> {
        Ok(self.numbered(n)?.afc_activity.snapshot())
    }

    /// What each AFC connection to phone `n` (1-based) asked and was sent, oldest first: for
    /// tests and benchmarks that assert round trips and bytes rather than times.
    pub fn afc_counters(&self, n: usize) -> Result<Vec<AfcCounters>, SimError> {
        Ok(self.numbered(n)?.afc_stats.snapshot())
    }

    fn numbered(&self, n: usize) -> Result<&Arc<Device>, SimError> {
        n.checked_sub(1)
            .and_then(|i| self.shared.devices.get(i))
            .ok_or(SimError::NoSuchDevice {
                n,
                count: self.shared.devices.len(),
            })
    }

    /// Stops serving, ends every connection and removes the socket file.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.remove_socket();
    }

    fn remove_socket(&mut self) {
        if let Some(path) = self.socket_path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.remove_socket();
    }
}

/// Gives repeated UDIDs distinct successors (see the module documentation).
fn distinct_udids(devices: &[SimDevice]) -> Vec<String> {
    let mut used: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(devices.len());
    for (i, d) in devices.iter().enumerate() {
        let exact = d
            .snapshot
            .lockdown
            .get("UniqueDeviceID")
            .and_then(|v| v.as_string())
            .filter(|s| d.exact_udid && !s.is_empty());
        if let Some(udid) = exact {
            out.push(udid.to_string());
            continue;
        }
        let original = d
            .snapshot
            .lockdown
            .get("UniqueDeviceID")
            .and_then(|v| v.as_string())
            .filter(|s| s.len() >= 8 && s.is_ascii())
            .map(str::to_string)
            // A snapshot without a UDID (an import may lack it) still needs one to be served.
            .unwrap_or_else(|| format!("00008101-{:016X}", 0x5111_0000_0000_0000u64 + i as u64));
        let mut udid = original.clone();
        let mut copy: u32 = 1;
        while used.contains(&udid) {
            copy += 1;
            let lower = original.chars().any(|c| c.is_ascii_lowercase());
            let suffix = if lower {
                format!("{:04x}", copy & 0xffff)
            } else {
                format!("{:04X}", copy & 0xffff)
            };
            udid = format!("{}{}", &original[..original.len() - 4], suffix);
        }
        used.insert(udid.clone());
        out.push(udid);
    }
    out
}

fn wifi_address(lockdown: &plist::Dictionary, id: u32) -> String {
    lockdown
        .get("WiFiAddress")
        .and_then(|v| v.as_string())
        .map(str::to_string)
        .unwrap_or_else(|| format!("02:00:00:00:00:{:02x}", id & 0xff))
}

/// Generates the pair records, binds the socket and serves in the background.
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    if config.devices.is_empty() {
        return Err(SimError::NoDevices);
    }
    let udids = distinct_udids(&config.devices);
    let wifi: Vec<String> = config
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| wifi_address(&d.snapshot.lockdown, i as u32 + 1))
        .collect();

    // RSA key generation takes a while; keep it off the async workers.
    let (host, pairings) = tokio::task::spawn_blocking(move || {
        let host = HostIdentity::generate()?;
        let pairings = wifi
            .iter()
            .map(|w| host.pair_new_device(w))
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, PairingError>((host, pairings))
    })
    .await
    .map_err(|e| SimError::Task(e.to_string()))??;
    // usbmuxd keeps one pair record per UDID: phones served with the same UDID (exact_udid)
    // share the first one's pairing, so either can be read with that record.
    let pairings: Vec<_> = (0..pairings.len())
        .map(|i| {
            let first = udids.iter().position(|u| *u == udids[i]).unwrap_or(i);
            pairings[first].clone()
        })
        .collect();

    let (events, _) = broadcast::channel(256);
    let mut devices = Vec::new();
    let mut records = HashMap::new();
    for (i, ((sim, udid), pairing)) in config
        .devices
        .into_iter()
        .zip(udids.iter())
        .zip(pairings)
        .enumerate()
    {
        let mut lockdown = sim.snapshot.lockdown.clone();
        lockdown.insert("UniqueDeviceID".into(), udid.clone().into());
        // A phone that never trusted this host: neither side remembers a pairing.
        let paired = sim.faults.trust == Trust::Paired;
        if paired {
            records.insert(udid.clone(), pairing.record.to_xml_bytes());
        }
        let modes = sim.faults.modes();
        if !modes.is_empty() {
            let modes: Vec<&str> = modes.iter().map(|m| m.name()).collect();
            tracing::info!(device = i + 1, faults = %modes.join(","), "simulating faults");
        }
        let parts = DeviceParts {
            id: i as u32 + 1,
            udid: udid.clone(),
            lockdown,
            domains: sim.snapshot.domains,
            io_registry: sim.snapshot.io_registry,
            identity: pairing.identity,
            trusted: paired.then_some(pairing.trusted),
            faults: sim.faults,
            photo_library: sim.snapshot.photo_library,
            after_restart: sim.after_restart,
            captured_at: sim.snapshot.captured_at,
            library_profile: sim.library_profile,
        };
        devices.push(Arc::new(Device::new(parts, events.clone())));
    }
    // Generating a large Photos.sqlite takes a moment: start on it now, so the first AFC client
    // does not wait for it (one that comes sooner waits for this same build).
    for device in devices.iter().filter(|d| d.has_photo_library()) {
        let device = Arc::clone(device);
        tokio::spawn(async move {
            device.afc_volume().await;
        });
    }
    let shared = Arc::new(Shared {
        devices,
        events,
        system_buid: host.system_buid().to_string(),
        pair_records: Mutex::new(records),
        listeners: Mutex::new(BTreeMap::new()),
        next_client: AtomicU64::new(1),
    });

    let (stop, stop_rx) = watch::channel(false);
    let (address, socket_path, task) = match &config.listen {
        ListenAddr::Unix(path) => {
            let listener = bind_unix(path)?;
            let task = tokio::spawn(usbmuxd::serve(
                usbmuxd::Listener::Unix(listener),
                Arc::clone(&shared),
                stop_rx,
            ));
            (format!("UNIX:{}", path.display()), Some(path.clone()), task)
        }
        ListenAddr::Tcp(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| SimError::Bind {
                    addr: addr.to_string(),
                    source,
                })?;
            let local = listener.local_addr().map_err(|source| SimError::Bind {
                addr: addr.to_string(),
                source,
            })?;
            let task = tokio::spawn(usbmuxd::serve(
                usbmuxd::Listener::Tcp(listener),
                Arc::clone(&shared),
                stop_rx,
            ));
            (local.to_string(), None, task)
        }
    };
    tracing::info!(%address, devices = udids.len(), "simulated usbmuxd listening");
    Ok(SimHandle {
        address,
        udids,
        socket_path,
        shared,
        stop,
        task: Some(task),
    })
}

/// Binds the Unix socket, replacing a stale socket file (as usbmuxd does at start-up) but never
/// a live one or a file that is not a socket.
fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener, SimError> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(SimError::NotASocket(path.to_path_buf()));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(SimError::InUse(path.to_path_buf()));
        }
        let _ = std::fs::remove_file(path);
    }
    tokio::net::UnixListener::bind(path).map_err(|source| SimError::Bind {
        addr: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use synccheck_core::snapshot::Source;

    fn snap(udid: &str) -> SimDevice {
        let mut s = Snapshot::new(Source::Usb);
        s.lockdown
            .insert("UniqueDeviceID".into(), udid.to_string().into());
        SimDevice::new(s)
    }

    #[test]
    fn repeated_udids_get_distinct_successors() {
        let devices = vec![
            snap("00008120-0000DE0051A00001"),
            snap("00008120-0000DE0051A00001"),
            snap("00008120-0000DE0051A00001"),
            snap("c16b08b10c9dbb4ef48c88f7127431c5d9ef69fd"),
            snap("c16b08b10c9dbb4ef48c88f7127431c5d9ef69fd"),
        ];
        let u = distinct_udids(&devices);
        assert_eq!(u[0], "00008120-0000DE0051A00001");
        assert_eq!(u[1], "00008120-0000DE0051A00002");
        assert_eq!(u[2], "00008120-0000DE0051A00003");
        assert_eq!(u[3], "c16b08b10c9dbb4ef48c88f7127431c5d9ef69fd");
        assert_eq!(u[4], "c16b08b10c9dbb4ef48c88f7127431c5d9ef0002");
    }

    #[test]
    fn exact_udids_are_served_as_written_even_repeated() {
        let mut devices = vec![snap("../../x"), snap("../../x"), snap("a\u{0}b")];
        for d in &mut devices {
            d.exact_udid = true;
        }
        assert_eq!(distinct_udids(&devices), ["../../x", "../../x", "a\u{0}b"]);
    }
}
