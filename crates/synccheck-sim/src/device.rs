//! One simulated phone: its values, its pairing state, the service ports it has opened, and
//! whether it is plugged in.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{broadcast, watch};

use super::afc::{Activity, Volume, VolumeSource};
use super::faults::{FaultMode, Faults, Trust, UnlockWhen};
use super::link::{AfcStatsLog, LinkClock};
use super::lock;
use crate::pairing::{DeviceIdentity, TrustedHost};
use synccheck_core::photos::PhotoLibrary;
use synccheck_core::snapshot::DISK_USAGE_DOMAIN;

/// What a lockdown request does to the phone's place on the bus (see `unplug-after` and
/// `replug-after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unplug {
    No,
    ForGood,
    Replug,
}

/// What usbmuxd tells its `Listen` clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MuxEvent {
    Attached(u32),
    Detached(u32),
    Paired(u32),
}

/// A service the phone started for a host and is waiting for it to connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServiceKind {
    DiagnosticsRelay,
    Afc,
}

impl ServiceKind {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "com.apple.mobile.diagnostics_relay" => Some(ServiceKind::DiagnosticsRelay),
            "com.apple.afc" => Some(ServiceKind::Afc),
            _ => None,
        }
    }

    /// Whether the service speaks TLS from its first byte (`EnableServiceSSL`). AFC does not,
    /// on real phones either: its packets travel in plaintext on the service connection.
    pub fn uses_tls(self) -> bool {
        match self {
            ServiceKind::DiagnosticsRelay => true,
            ServiceKind::Afc => false,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PendingService {
    pub kind: ServiceKind,
    /// The host whose session started it; only its certificates open the service's TLS.
    pub host: TrustedHost,
}

/// Services a phone keeps open at once; a client that starts more without connecting is
/// misbehaving, and the table must not grow without bound.
const MAX_PENDING_SERVICES: usize = 32;

/// Real phones hand out ports from the dynamic range; any port not 62078 works with usbmuxd.
const FIRST_SERVICE_PORT: u16 = 49152;

/// How long a restarting phone stays away from the bus.
const RESTART_AWAY: Duration = Duration::from_secs(2);

pub(crate) struct Device {
    pub id: u32,
    pub udid: String,
    pub location_id: u32,
    /// Root-domain lockdown values, `UniqueDeviceID` already set to `udid`.
    pub lockdown: plist::Dictionary,
    pub domains: BTreeMap<String, plist::Dictionary>,
    pub io_registry: BTreeMap<String, plist::Dictionary>,
    pub identity: DeviceIdentity,
    pub faults: Faults,
    /// What AFC serves under PhotoData (see [`super::afc`]).
    photo_library: Option<PhotoLibrary>,
    /// What AFC serves there once the phone has restarted, when it differs.
    after_restart: Option<PhotoLibrary>,
    /// Set when a restart brings `after_restart` in.
    restarted: AtomicBool,
    /// The AFC filesystem after the restart, built on first use as [`Device::afc`] is.
    pub(super) afc_after_restart: tokio::sync::OnceCell<Arc<Volume>>,
    /// When the snapshot was taken: the mtime of what has no other.
    captured_at: Option<SystemTime>,
    library_profile: crate::LibraryProfile,
    /// The AFC filesystem, built on the first AFC connection.
    pub(super) afc: tokio::sync::OnceCell<Arc<Volume>>,
    trusted: Mutex<Vec<TrustedHost>>,
    /// Lockdown requests read so far, over every connection (for `unplug-after`).
    lockdown_requests: AtomicU64,
    /// Unplugged by a fault: stays off the bus until the simulator restarts.
    gone: AtomicBool,
    /// When a host first asked to pair: the trust dialog has been showing since then.
    dialog_since: Mutex<Option<Instant>>,
    /// Fault modes already logged (one bit per mode), so each is logged once.
    logged_faults: AtomicU64,
    services: Mutex<HashMap<u16, PendingService>>,
    next_port: AtomicU16,
    attached: AtomicBool,
    /// Locked since a restart (`locked-after-restart`): sessions are refused until unlocked.
    locked: AtomicBool,
    /// Sessions refused since the phone came back locked.
    locked_refusals: AtomicU32,
    /// Bumped when the phone leaves the bus; every open connection to it ends.
    plug: watch::Sender<u64>,
    events: broadcast::Sender<MuxEvent>,
    /// `link`: when the phone's side of the USB link is next free.
    pub link_clock: LinkClock,
    /// What each AFC connection asked and was sent.
    pub afc_stats: AfcStatsLog,
    /// What hosts asked of the AFC volume, before and after a restart.
    pub afc_activity: Activity,
}

pub(crate) struct DeviceParts {
    pub id: u32,
    pub udid: String,
    pub lockdown: plist::Dictionary,
    pub domains: BTreeMap<String, plist::Dictionary>,
    pub io_registry: BTreeMap<String, plist::Dictionary>,
    pub identity: DeviceIdentity,
    /// The host of the past pairing; `None` for a phone that never trusted one.
    pub trusted: Option<TrustedHost>,
    pub faults: Faults,
    pub photo_library: Option<PhotoLibrary>,
    pub after_restart: Option<PhotoLibrary>,
    pub captured_at: Option<SystemTime>,
    pub library_profile: crate::LibraryProfile,
}

impl Device {
    pub fn new(parts: DeviceParts, events: broadcast::Sender<MuxEvent>) -> Self {
        let (plug, _) = watch::channel(0);
        Device {
            id: parts.id,
            udid: parts.udid,
            // usbmuxd reports the USB location (bus << 24 | port path); one bus, port = id.
            location_id: 0x0100_0000 | (parts.id << 16),
            lockdown: parts.lockdown,
            domains: parts.domains,
            io_registry: parts.io_registry,
            identity: parts.identity,
            faults: parts.faults,
            photo_library: parts.photo_library,
            after_restart: parts.after_restart,
            restarted: AtomicBool::new(false),
            afc_after_restart: tokio::sync::OnceCell::new(),
            captured_at: parts.captured_at,
            library_profile: parts.library_profile,
            afc: tokio::sync::OnceCell::new(),
            trusted: Mutex::new(parts.trusted.into_iter().collect()),
            lockdown_requests: AtomicU64::new(0),
            gone: AtomicBool::new(false),
            dialog_since: Mutex::new(None),
            logged_faults: AtomicU64::new(0),
            services: Mutex::new(HashMap::new()),
            next_port: AtomicU16::new(FIRST_SERVICE_PORT),
            attached: AtomicBool::new(true),
            locked: AtomicBool::new(false),
            locked_refusals: AtomicU32::new(0),
            plug,
            events,
            link_clock: LinkClock::default(),
            afc_stats: AfcStatsLog::default(),
            afc_activity: Activity::default(),
        }
    }

    pub fn is_attached(&self) -> bool {
        self.attached.load(Ordering::SeqCst)
    }

    pub fn trusted_host(&self, host_id: &str) -> Option<TrustedHost> {
        lock(&self.trusted)
            .iter()
            .find(|h| h.host_id == host_id)
            .cloned()
    }

    /// Records a host after a successful `Pair`; a repeated pairing replaces the old entry.
    pub fn trust(&self, host: TrustedHost) {
        let mut t = lock(&self.trusted);
        t.retain(|h| h.host_id != host.host_id);
        t.push(host);
    }

    pub fn forget(&self, host_id: &str) -> bool {
        let mut t = lock(&self.trusted);
        let before = t.len();
        t.retain(|h| h.host_id != host_id);
        t.len() != before
    }

    /// Opens a service port for one connection; `None` when too many are waiting.
    pub fn open_service(&self, kind: ServiceKind, host: TrustedHost) -> Option<u16> {
        let mut services = lock(&self.services);
        if services.len() >= MAX_PENDING_SERVICES {
            return None;
        }
        loop {
            let port = self.next_port.fetch_add(1, Ordering::SeqCst);
            if port < FIRST_SERVICE_PORT {
                // Wrapped around past 65535: start the range again.
                self.next_port.store(FIRST_SERVICE_PORT, Ordering::SeqCst);
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = services.entry(port) {
                e.insert(PendingService { kind, host });
                return Some(port);
            }
        }
    }

    /// Takes the service waiting on `port`, if any: each StartService admits one connection.
    pub fn take_service(&self, port: u16) -> Option<PendingService> {
        lock(&self.services).remove(&port)
    }

    pub fn has_photo_library(&self) -> bool {
        self.photo_library.is_some()
    }

    /// What the AFC filesystem is built from.
    pub(super) fn volume_source(&self) -> VolumeSource {
        let disk = self.domains.get(DISK_USAGE_DOMAIN);
        let number = |keys: &[&str]| {
            keys.iter().find_map(|k| {
                disk.and_then(|d| d.get(k))
                    .and_then(|v| v.as_unsigned_integer())
            })
        };
        VolumeSource {
            library: match self.serves_after_restart() {
                true => self.after_restart.clone(),
                false => self.photo_library.clone(),
            },
            library_profile: self.library_profile,
            faults: self.faults.clone(),
            default_time: self.captured_at.unwrap_or_else(SystemTime::now),
            model: self
                .lockdown
                .get("ProductType")
                .and_then(|v| v.as_string())
                .map(str::to_owned),
            total_bytes: number(&["TotalDataCapacity", "TotalDiskCapacity"]),
            free_bytes: number(&["AmountDataAvailable", "TotalDataAvailable"]),
        }
    }

    /// A receiver that changes when the phone leaves the bus.
    pub fn unplugged(&self) -> watch::Receiver<u64> {
        self.plug.subscribe()
    }

    /// The phone leaves the bus: usbmuxd reports it detached, its connections end, and the
    /// services it had opened are gone.
    pub fn detach(&self) {
        if self.attached.swap(false, Ordering::SeqCst) {
            lock(&self.services).clear();
            self.plug.send_modify(|n| *n += 1);
            let _ = self.events.send(MuxEvent::Detached(self.id));
        }
    }

    pub fn attach(&self) {
        if self.gone.load(Ordering::SeqCst) {
            return;
        }
        if !self.attached.swap(true, Ordering::SeqCst) {
            let _ = self.events.send(MuxEvent::Attached(self.id));
        }
    }

    /// What a restart or shutdown looks like from the host: the phone answers, drops off the
    /// bus a moment later, and comes back once it has booted (here: after a short pause).
    pub fn restart_soon(self: &Arc<Self>) {
        let device = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if device.faults.no_return_after_restart {
                device.fault_acts(FaultMode::NoReturnAfterRestart);
                device.gone.store(true, Ordering::SeqCst);
                device.detach();
                return;
            }
            device.detach();
            tokio::time::sleep(RESTART_AWAY).await;
            // The engine's state after the restart, if the simulator was given one.
            if device.after_restart.is_some() {
                device.restarted.store(true, Ordering::SeqCst);
            }
            // Locked before it is back on the bus: no client can reach it unlocked in between.
            if device.faults.locked_after_restart.is_some() {
                device.locked_refusals.store(0, Ordering::SeqCst);
                device.locked.store(true, Ordering::SeqCst);
            }
            device.attach();
        });
    }

    /// Whether AFC serves the library of after the restart (`sim --after-restart`).
    pub(super) fn serves_after_restart(&self) -> bool {
        self.after_restart.is_some() && self.restarted.load(Ordering::SeqCst)
    }

    /// The owner enters the passcode: a phone locked since its restart opens sessions again.
    pub fn unlock(&self) {
        self.locked.store(false, Ordering::SeqCst);
    }

    /// Whether a `StartSession` is refused with `PasswordProtected` because the phone has not
    /// been unlocked since its restart. With `locked-after-restart=N` the (N+1)th is let in.
    pub fn refuses_session_while_locked(&self) -> bool {
        if !self.locked.load(Ordering::SeqCst) {
            return false;
        }
        self.fault_acts(FaultMode::LockedAfterRestart);
        if let Some(UnlockWhen::AfterRefusals(n)) = self.faults.locked_after_restart {
            if self.locked_refusals.fetch_add(1, Ordering::SeqCst) >= n {
                self.unlock();
                return false;
            }
        }
        true
    }
}

/// Fault behaviour (see [`super::faults`]).
impl Device {
    /// Logs a fault the first time it acts on this phone.
    pub fn fault_acts(&self, mode: FaultMode) {
        if self.logged_faults.fetch_or(mode.bit(), Ordering::SeqCst) & mode.bit() == 0 {
            tracing::debug!(device = self.id, fault = %mode, "simulated fault in effect");
        }
    }

    /// Holds a lockdown or service reply back by the configured latency, and with `link` by
    /// one round trip (these replies are a few hundred bytes: their time on the wire is not
    /// modelled, only AFC's is).
    pub async fn delay_reply(&self) {
        if let Some(latency) = self.faults.latency {
            self.fault_acts(FaultMode::Latency);
            tokio::time::sleep(latency).await;
        }
        if let Some(link) = self.faults.link {
            self.fault_acts(FaultMode::Link);
            tokio::time::sleep(link.rtt).await;
        }
    }

    /// Counts one lockdown request and says whether the phone leaves the bus once it has
    /// answered it.
    pub fn count_lockdown_request(&self) -> Unplug {
        let n = self.lockdown_requests.fetch_add(1, Ordering::SeqCst) + 1;
        if self
            .faults
            .unplug_after
            .is_some_and(|limit| n >= u64::from(limit))
        {
            Unplug::ForGood
        } else if self.faults.replug_after.map(u64::from) == Some(n) {
            // `==`, not `>=`: the cable is pulled once; the rescan after it goes through.
            Unplug::Replug
        } else {
            Unplug::No
        }
    }

    /// The cable is pulled and pushed back in a moment later.
    pub fn replug(self: &Arc<Self>) {
        self.fault_acts(FaultMode::ReplugAfter);
        self.detach();
        let device = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(super::faults::REPLUG_AWAY).await;
            device.attach();
        });
    }

    /// The cable is pulled: unlike a restart, the phone does not come back.
    pub fn unplug_for_good(&self) {
        self.fault_acts(FaultMode::UnplugAfter);
        self.gone.store(true, Ordering::SeqCst);
        self.detach();
    }

    /// Called when a pairing is looked for and not found (no pair record, unknown HostID): on
    /// a `not-paired` phone that is the fault at work, worth its one log line.
    pub fn note_missing_pairing(&self) {
        if self.faults.trust == Trust::NotPaired {
            self.fault_acts(FaultMode::NotPaired);
        }
    }

    /// What the phone's user does about a `Pair` request: `Ok` to trust the host, or the
    /// lockdown error to answer.
    pub fn pairing_verdict(&self) -> Result<(), &'static str> {
        // Locked since a restart: no Trust dialog until the passcode is entered.
        if self.locked.load(Ordering::SeqCst) {
            return Err("PasswordProtected");
        }
        match self.faults.trust {
            Trust::Paired => Ok(()),
            Trust::PasswordProtected => {
                self.fault_acts(FaultMode::PasswordProtected);
                Err("PasswordProtected")
            }
            Trust::UserDenied => {
                self.fault_acts(FaultMode::UserDenied);
                Err("UserDeniedPairing")
            }
            Trust::NotPaired => {
                self.fault_acts(FaultMode::NotPaired);
                let since = *lock(&self.dialog_since).get_or_insert_with(Instant::now);
                match self.faults.trust_after {
                    Some(after) if since.elapsed() >= after => Ok(()),
                    _ => Err("PairingDialogResponsePending"),
                }
            }
        }
    }
}
