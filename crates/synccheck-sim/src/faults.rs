//! Misbehaviour a simulated phone can be asked to show (`synccheck sim --fault`), so that clients
//! meet, on demand, the ways a real phone on a repair bench lets them down.
//!
//! Syntax: `MODE[=VALUE][@N]`, N being the 1-based device number in `--snapshot` order; without
//! `@N` the fault applies to every device. Faults combine; each device keeps its own [`Faults`].
//!
//! The pairing faults form a ladder, and the strongest one given for a device wins:
//! `password-protected` (a locked phone shows no trust dialog, so there is nothing to deny) over
//! `user-denied` over `not-paired`. All three mean the host has no pair record for the phone.
//!
//! Two faults take the phone off the bus after it has answered N lockdown requests (counted over
//! every connection, `list`'s included): `unplug-after=N` for good, as a pulled cable;
//! `replug-after=N` once, coming back [`REPLUG_AWAY`] later, as a cable pulled mid-scan and
//! pushed back in.
//!
//! The AFC faults act on the photo library the phone serves over `com.apple.afc`:
//! - `afc-denied=PATH`: every request at or below PATH (relative to the AFC root
//!   `/var/mobile/Media`, e.g. `PhotoData/CPL`) answers AFC error 10, permission denied, as
//!   iOS does for folders a host may not read. The path still shows in its parent's listing.
//!   Repeat it for several paths. (A PATH holding `@` cannot be given: `@` starts the device.)
//! - `torn-db`: the first copy of `PhotoData/Photos.sqlite` tears. Until then the file is an
//!   older version of the database (another change counter, one page longer, a minute older);
//!   right after the first read of the first handle opened on it, the phone "writes": size,
//!   mtime and the bytes not yet read switch to the current database. A copy made from that
//!   handle mixes both versions, and a stat after it disagrees with the stat before. Later copies
//!   read the current database, consistently.
//! - `not-sqlite-db`: `Photos.sqlite` is random bytes (the size of the real one, never starting
//!   with SQLite's magic), the same bytes on every read.
//! - `growing-db`: every handle opened on `Photos.sqlite` sees it grow by [`GROWTH_BYTES`] at its
//!   first read (and the mtime advance by a second), so the size before a copy never matches
//!   the size after it.
//! - `afc-plist-bomb`: `PhotoData/CPL/syncstatus.plist` is a binary plist of a few hundred bytes
//!   that reuses one array until it would expand to a billion values
//!   ([`synccheck_wire::plist_bombs`]).
//!
//! All five only matter on a phone whose snapshot has a `PhotoLibrary` section.
//!
//! `impostor-certificate`: in every TLS handshake (lockdown session and services) the phone
//! presents a certificate of a key of its own instead of the `DeviceCertificate` of the host's
//! pair record, as a device posing as the paired phone would. Its handshake signatures are
//! valid; only pinning the pair record's certificate tells it apart.
//!
//! Two faults answer the first GetValue of each lockdown session (as `garbage` does) with a
//! hostile but well-formed binary plist dictionary: `plist-bomb` holds a reuse bomb of about
//! 500 bytes that expands to a billion values, `deep-plist` holds 20,000 nested arrays
//! (about 300 KB). A client must refuse both within bounded memory and stack.
//!
//! The time and disk faults (issue 14) misbehave the way a hostile or broken phone can:
//! - `endless-db=BYTES`: `Photos.sqlite` claims BYTES in its stat and its reads never end, a
//!   full chunk of zeros for every read, whatever the claimed size.
//! - `trickle=MS`: every read of `Photos.sqlite` and its `-wal` answers one byte, MS
//!   milliseconds late: each wait stays short, the copy never ends.
//! - `slow-db`: `Photos.sqlite` is a small, sound library in a known format whose summary
//!   takes minutes (a generated column over a huge expression, see
//!   `photos::synth::build_pathological`).
//! - `afc-silent`: the AFC service is started and accepts its connection, then reads every
//!   request and never answers one.
//!
//! The restart faults (issue 17) act when the phone restarts on diagnostics_relay's `Restart`:
//! - `locked-after-restart[=N]`: the phone comes back locked, as a real one does until its
//!   passcode is entered once after a restart ("before first unlock"): `StartSession` and `Pair`
//!   answer `PasswordProtected`. Without N it stays locked until told (`unlock N` on the sim's
//!   stdin, or `SimHandle::unlock`); with N it unlocks after refusing N sessions, so a test
//!   knows exactly when, without a clock.
//! - `no-return-after-restart`: the phone answers `Restart`, leaves the bus and never comes
//!   back (a phone stuck on the Apple logo, or one that powered off).
//!
//! The originals' faults (issue 17, `synccheck rescue`; see [`super::originals`]), PATH an
//! original's path below the AFC root, e.g. `DCIM/100APPLE/IMG_0003.HEIC`:
//! - `original-changes=PATH`: the phone rewrites that file at the first read of every handle
//!   opened on it (longer, a second newer, other bytes), so no copy of it ever checks out.
//! - `original-vanishes=PATH`: the file is deleted at the first read of the first handle opened
//!   on it; that handle reads on, every later stat, open or listing finds nothing.
//!
//! A refused original is `afc-denied=PATH`.
//!
//! `link=MBPS,RTT_MS` (issue 16) models the USB link instead of a local socket: every lockdown,
//! service and AFC reply waits one round trip (RTT_MS milliseconds, fractions allowed) after its
//! request arrived, and AFC replies share MBPS megabytes (10^6 bytes) per second of bandwidth
//! per phone. A client that pipelines AFC requests pays one round trip for the batch; one that
//! waits for each reply pays one per request (see [`crate::link`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Longest `latency=MS` accepted: more than a minute per reply is a hang, not a slow phone.
pub const MAX_LATENCY_MS: u64 = 60_000;

/// How long a `replug-after` phone stays off the bus.
pub const REPLUG_AWAY: Duration = Duration::from_millis(500);

/// How much `growing-db` adds to Photos.sqlite per copy: one 4 KiB database page.
pub const GROWTH_BYTES: usize = 4096;

/// Longest `trickle=MS`: as for `latency`, longer is a hang, not a slow phone.
pub const MAX_TRICKLE_MS: u64 = MAX_LATENCY_MS;

/// Longest `afc-denied=PATH`: PATH_MAX on iOS.
const MAX_AFC_PATH: usize = 1024;

/// How far the phone is from trusting the host. Ordered by strength: the larger one wins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// A past pairing: usbmuxd holds a record and the phone knows its HostID.
    #[default]
    Paired,
    /// Never paired: `Pair` waits on the trust dialog (`PairingDialogResponsePending`).
    NotPaired,
    /// The user tapped "Don't Trust": `Pair` answers `UserDeniedPairing`.
    UserDenied,
    /// Locked with a passcode: `Pair` answers `PasswordProtected` until it is unlocked.
    PasswordProtected,
}

/// The fault modes, without their values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultMode {
    NotPaired,
    UserDenied,
    PasswordProtected,
    UnplugAfter,
    ReplugAfter,
    Latency,
    Garbage,
    HugeLength,
    SlowTls,
    AfcDenied,
    TornDb,
    NotSqliteDb,
    GrowingDb,
    ImpostorCertificate,
    PlistBomb,
    DeepPlist,
    AfcPlistBomb,
    EndlessDb,
    Trickle,
    AfcSilent,
    SlowDb,
    LockedAfterRestart,
    NoReturnAfterRestart,
    OriginalChanges,
    OriginalVanishes,
    Link,
}

impl FaultMode {
    pub const ALL: [FaultMode; 26] = [
        FaultMode::NotPaired,
        FaultMode::UserDenied,
        FaultMode::PasswordProtected,
        FaultMode::UnplugAfter,
        FaultMode::ReplugAfter,
        FaultMode::Latency,
        FaultMode::Garbage,
        FaultMode::HugeLength,
        FaultMode::SlowTls,
        FaultMode::AfcDenied,
        FaultMode::TornDb,
        FaultMode::NotSqliteDb,
        FaultMode::GrowingDb,
        FaultMode::ImpostorCertificate,
        FaultMode::PlistBomb,
        FaultMode::DeepPlist,
        FaultMode::AfcPlistBomb,
        FaultMode::EndlessDb,
        FaultMode::Trickle,
        FaultMode::AfcSilent,
        FaultMode::SlowDb,
        FaultMode::LockedAfterRestart,
        FaultMode::NoReturnAfterRestart,
        FaultMode::OriginalChanges,
        FaultMode::OriginalVanishes,
        FaultMode::Link,
    ];

    /// The name used on the command line and in logs.
    pub fn name(self) -> &'static str {
        match self {
            FaultMode::NotPaired => "not-paired",
            FaultMode::UserDenied => "user-denied",
            FaultMode::PasswordProtected => "password-protected",
            FaultMode::UnplugAfter => "unplug-after",
            FaultMode::ReplugAfter => "replug-after",
            FaultMode::Latency => "latency",
            FaultMode::Garbage => "garbage",
            FaultMode::HugeLength => "huge-length",
            FaultMode::SlowTls => "slow-tls",
            FaultMode::AfcDenied => "afc-denied",
            FaultMode::TornDb => "torn-db",
            FaultMode::NotSqliteDb => "not-sqlite-db",
            FaultMode::GrowingDb => "growing-db",
            FaultMode::ImpostorCertificate => "impostor-certificate",
            FaultMode::PlistBomb => "plist-bomb",
            FaultMode::DeepPlist => "deep-plist",
            FaultMode::AfcPlistBomb => "afc-plist-bomb",
            FaultMode::EndlessDb => "endless-db",
            FaultMode::Trickle => "trickle",
            FaultMode::AfcSilent => "afc-silent",
            FaultMode::SlowDb => "slow-db",
            FaultMode::LockedAfterRestart => "locked-after-restart",
            FaultMode::NoReturnAfterRestart => "no-return-after-restart",
            FaultMode::OriginalChanges => "original-changes",
            FaultMode::OriginalVanishes => "original-vanishes",
            FaultMode::Link => "link",
        }
    }

    /// The placeholder for the value, for the modes that take one.
    fn value_name(self) -> Option<&'static str> {
        match self {
            FaultMode::UnplugAfter | FaultMode::ReplugAfter => Some("N"),
            FaultMode::Latency => Some("MS"),
            FaultMode::AfcDenied | FaultMode::OriginalChanges | FaultMode::OriginalVanishes => {
                Some("PATH")
            }
            FaultMode::EndlessDb => Some("BYTES"),
            FaultMode::Trickle => Some("MS"),
            // Optional: without it the phone stays locked until told.
            FaultMode::LockedAfterRestart => Some("N"),
            FaultMode::Link => Some("MBPS,RTT_MS"),
            _ => None,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// A distinct bit per mode, so a device can remember which faults it has already logged.
    pub(crate) fn bit(self) -> u64 {
        1 << (self as u64)
    }
}

impl fmt::Display for FaultMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One fault with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    NotPaired,
    UserDenied,
    PasswordProtected,
    /// Leaves the bus after answering this many lockdown requests.
    UnplugAfter(u32),
    /// Leaves the bus after answering this many lockdown requests and is plugged back in a
    /// moment later, once: the cable pulled mid-scan and pushed back.
    ReplugAfter(u32),
    /// Delays every lockdown and service reply.
    Latency(Duration),
    Garbage,
    HugeLength,
    SlowTls,
    /// AFC answers permission denied at and below this path (relative to the AFC root, no
    /// leading or trailing slash).
    AfcDenied(String),
    TornDb,
    NotSqliteDb,
    GrowingDb,
    ImpostorCertificate,
    /// The first GetValue of each session is answered with a reuse bomb.
    PlistBomb,
    /// The first GetValue of each session is answered with 20,000 nested arrays.
    DeepPlist,
    /// syncstatus.plist is a reuse bomb.
    AfcPlistBomb,
    /// Photos.sqlite claims this many bytes and its reads never end.
    EndlessDb(u64),
    /// The library's reads answer one byte, this late.
    Trickle(Duration),
    AfcSilent,
    SlowDb,
    /// Comes back from a restart locked, until told (`None`) or after refusing N sessions.
    LockedAfterRestart(Option<u32>),
    /// Leaves the bus on `Restart` and never comes back.
    NoReturnAfterRestart,
    /// The phone rewrites the original at this path during every copy of it.
    OriginalChanges(String),
    /// The original at this path is deleted during its first copy.
    OriginalVanishes(String),
    /// A USB link of this bandwidth and round trip (`link=MBPS,RTT_MS`).
    Link(crate::link::Link),
}

impl Fault {
    pub fn mode(&self) -> FaultMode {
        match self {
            Fault::NotPaired => FaultMode::NotPaired,
            Fault::UserDenied => FaultMode::UserDenied,
            Fault::PasswordProtected => FaultMode::PasswordProtected,
            Fault::UnplugAfter(_) => FaultMode::UnplugAfter,
            Fault::ReplugAfter(_) => FaultMode::ReplugAfter,
            Fault::Latency(_) => FaultMode::Latency,
            Fault::Garbage => FaultMode::Garbage,
            Fault::HugeLength => FaultMode::HugeLength,
            Fault::SlowTls => FaultMode::SlowTls,
            Fault::AfcDenied(_) => FaultMode::AfcDenied,
            Fault::TornDb => FaultMode::TornDb,
            Fault::NotSqliteDb => FaultMode::NotSqliteDb,
            Fault::GrowingDb => FaultMode::GrowingDb,
            Fault::ImpostorCertificate => FaultMode::ImpostorCertificate,
            Fault::PlistBomb => FaultMode::PlistBomb,
            Fault::DeepPlist => FaultMode::DeepPlist,
            Fault::AfcPlistBomb => FaultMode::AfcPlistBomb,
            Fault::EndlessDb(_) => FaultMode::EndlessDb,
            Fault::Trickle(_) => FaultMode::Trickle,
            Fault::AfcSilent => FaultMode::AfcSilent,
            Fault::SlowDb => FaultMode::SlowDb,
            Fault::LockedAfterRestart(_) => FaultMode::LockedAfterRestart,
            Fault::NoReturnAfterRestart => FaultMode::NoReturnAfterRestart,
            Fault::OriginalChanges(_) => FaultMode::OriginalChanges,
            Fault::OriginalVanishes(_) => FaultMode::OriginalVanishes,
            Fault::Link(_) => FaultMode::Link,
        }
    }
}

/// One `--fault` argument: the fault and the device it is for (`None`: every device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    pub fault: Fault,
    /// 1-based, in `--snapshot` order.
    pub device: Option<usize>,
}

/// Why a `--fault` or `--trust-after` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error(
        "empty fault; expected MODE[=VALUE][@N], MODE one of {}",
        known_modes()
    )]
    Empty,
    #[error("unknown fault mode `{0}`; known modes: {known}", known = known_modes())]
    UnknownMode(String),
    #[error("`{mode}` needs a value: {mode}={placeholder}")]
    MissingValue {
        mode: FaultMode,
        placeholder: &'static str,
    },
    #[error("`{mode}` takes no value, but `={value}` was given")]
    UnexpectedValue { mode: FaultMode, value: String },
    #[error("`{mode}={value}`: {why}")]
    BadValue {
        mode: FaultMode,
        value: String,
        why: String,
    },
    #[error("`@{0}` is not a device number; devices are numbered 1, 2, ... in --snapshot order")]
    BadDevice(String),
    #[error(
        "--fault ...@{n}: there is no device {n}, only {count} simulated (one per --snapshot)"
    )]
    NoSuchDevice { n: usize, count: usize },
    #[error("--trust-after only matters for a phone with `--fault not-paired`")]
    TrustAfterUnused,
}

fn known_modes() -> String {
    FaultMode::ALL
        .iter()
        .map(|m| match m.value_name() {
            Some(v) if *m == FaultMode::LockedAfterRestart => format!("{m}[={v}]"),
            Some(v) => format!("{m}={v}"),
            None => m.name().to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for FaultSpec {
    type Err = FaultError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        // The device suffix comes last, so `latency=250@2` splits at the last `@`.
        let (body, device) = match s.rsplit_once('@') {
            Some((body, n)) => (body, Some(parse_device(n)?)),
            None => (s, None),
        };
        let (name, value) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        if name.is_empty() {
            return Err(FaultError::Empty);
        }
        let mode =
            FaultMode::from_name(name).ok_or_else(|| FaultError::UnknownMode(name.to_string()))?;
        let fault = match (mode, value) {
            // The one mode whose value may be left out.
            (FaultMode::LockedAfterRestart, None) => Fault::LockedAfterRestart(None),
            (FaultMode::LockedAfterRestart, Some(v)) => match v.parse::<u32>() {
                Ok(n) => Fault::LockedAfterRestart(Some(n)),
                Err(_) => {
                    return Err(FaultError::BadValue {
                        mode,
                        value: v.to_string(),
                        why: "expected how many sessions to refuse before unlocking, e.g. locked-after-restart=2".into(),
                    })
                }
            },
            (
                FaultMode::UnplugAfter
                | FaultMode::ReplugAfter
                | FaultMode::Latency
                | FaultMode::AfcDenied
                | FaultMode::EndlessDb
                | FaultMode::Trickle
                | FaultMode::OriginalChanges
                | FaultMode::OriginalVanishes
                | FaultMode::Link,
                Some(v),
            ) if !v.is_empty() => parse_value(mode, v)?,
            (
                FaultMode::UnplugAfter
                | FaultMode::ReplugAfter
                | FaultMode::Latency
                | FaultMode::AfcDenied
                | FaultMode::EndlessDb
                | FaultMode::Trickle
                | FaultMode::OriginalChanges
                | FaultMode::OriginalVanishes
                | FaultMode::Link,
                _,
            ) => {
                return Err(FaultError::MissingValue {
                    mode,
                    placeholder: mode.value_name().unwrap_or("VALUE"),
                })
            }
            (_, Some(v)) => {
                return Err(FaultError::UnexpectedValue {
                    mode,
                    value: v.to_string(),
                })
            }
            (FaultMode::NotPaired, None) => Fault::NotPaired,
            (FaultMode::UserDenied, None) => Fault::UserDenied,
            (FaultMode::PasswordProtected, None) => Fault::PasswordProtected,
            (FaultMode::Garbage, None) => Fault::Garbage,
            (FaultMode::HugeLength, None) => Fault::HugeLength,
            (FaultMode::SlowTls, None) => Fault::SlowTls,
            (FaultMode::TornDb, None) => Fault::TornDb,
            (FaultMode::NotSqliteDb, None) => Fault::NotSqliteDb,
            (FaultMode::GrowingDb, None) => Fault::GrowingDb,
            (FaultMode::ImpostorCertificate, None) => Fault::ImpostorCertificate,
            (FaultMode::PlistBomb, None) => Fault::PlistBomb,
            (FaultMode::DeepPlist, None) => Fault::DeepPlist,
            (FaultMode::AfcPlistBomb, None) => Fault::AfcPlistBomb,
            (FaultMode::AfcSilent, None) => Fault::AfcSilent,
            (FaultMode::SlowDb, None) => Fault::SlowDb,
            (FaultMode::NoReturnAfterRestart, None) => Fault::NoReturnAfterRestart,
        };
        Ok(FaultSpec { fault, device })
    }
}

fn parse_device(n: &str) -> Result<usize, FaultError> {
    match n.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(FaultError::BadDevice(n.to_string())),
    }
}

/// Parses the value of a mode that takes one (unplug-after, replug-after, latency, afc-denied).
fn parse_value(mode: FaultMode, value: &str) -> Result<Fault, FaultError> {
    let bad = |why: String| FaultError::BadValue {
        mode,
        value: value.to_string(),
        why,
    };
    if matches!(
        mode,
        FaultMode::AfcDenied | FaultMode::OriginalChanges | FaultMode::OriginalVanishes
    ) {
        // Accept the full device path too: the AFC root is /var/mobile/Media.
        let relative = value
            .strip_prefix("/var/mobile/Media")
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .unwrap_or(value);
        let path = normalize_afc_path(relative).map_err(|why| bad(why.into()))?;
        return Ok(match mode {
            FaultMode::OriginalChanges => Fault::OriginalChanges(path),
            FaultMode::OriginalVanishes => Fault::OriginalVanishes(path),
            _ => Fault::AfcDenied(path),
        });
    }
    if mode == FaultMode::EndlessDb {
        return match value.parse::<u64>() {
            Ok(n) => Ok(Fault::EndlessDb(n)),
            Err(_) => Err(bad(
                "expected the size to claim in bytes, e.g. endless-db=1000000000000".into(),
            )),
        };
    }
    if mode == FaultMode::Link {
        return crate::link::Link::parse(value)
            .map(Fault::Link)
            .map_err(|why| bad(why.into()));
    }
    if mode == FaultMode::Trickle {
        return match value.parse::<u64>() {
            Ok(ms) if ms <= MAX_TRICKLE_MS => Ok(Fault::Trickle(Duration::from_millis(ms))),
            Ok(_) => Err(bad(format!("at most {MAX_TRICKLE_MS} milliseconds"))),
            Err(_) => Err(bad(
                "expected whole milliseconds per byte, e.g. trickle=100".into(),
            )),
        };
    }
    if matches!(mode, FaultMode::UnplugAfter | FaultMode::ReplugAfter) {
        return match value.parse::<u32>() {
            Ok(0) => Err(bad("the phone must answer at least one request".into())),
            Ok(n) if mode == FaultMode::UnplugAfter => Ok(Fault::UnplugAfter(n)),
            Ok(n) => Ok(Fault::ReplugAfter(n)),
            Err(_) => Err(bad("expected a whole number of lockdown requests".into())),
        };
    }
    match value.parse::<u64>() {
        Ok(ms) if ms <= MAX_LATENCY_MS => Ok(Fault::Latency(Duration::from_millis(ms))),
        Ok(_) => Err(bad(format!("at most {MAX_LATENCY_MS} milliseconds"))),
        Err(_) => Err(bad("expected whole milliseconds, e.g. latency=250".into())),
    }
}

/// An AFC path relative to the AFC root: no leading, trailing or doubled slashes, no `.` or
/// `..` components. `/` alone (the root) is allowed and becomes the empty path.
pub(crate) fn normalize_afc_path(path: &str) -> Result<String, &'static str> {
    if path.len() > MAX_AFC_PATH {
        return Err("longer than PATH_MAX (1024)");
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("`..` is not allowed; give a path below the AFC root"),
            p if p.contains('\0') => return Err("a path cannot hold NUL"),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// Everything one simulated phone is asked to get wrong. The default is a well-behaved phone
/// that has trusted the host before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Faults {
    pub trust: Trust,
    /// For `not-paired`: the simulated user taps Trust this long after the first `Pair`
    /// request. `None`: never.
    pub trust_after: Option<Duration>,
    pub unplug_after: Option<u32>,
    pub replug_after: Option<u32>,
    pub latency: Option<Duration>,
    /// The first `GetValue` of every lockdown session is answered with a frame of random bytes.
    pub garbage: bool,
    /// The first `GetValue` of every lockdown session is answered with a ~4 GB length prefix,
    /// a few bytes, and then silence (wins over `garbage` when both are set).
    pub huge_length: bool,
    /// Every TLS handshake (lockdown session and services) stalls before the ServerHello.
    pub slow_tls: bool,
    /// AFC paths (normalized, relative to the AFC root) at and below which every request is
    /// answered with permission denied.
    pub afc_denied: Vec<String>,
    /// The first copy of Photos.sqlite tears (see the module documentation).
    pub torn_db: bool,
    /// Photos.sqlite is random bytes.
    pub not_sqlite_db: bool,
    /// Photos.sqlite grows at the first read of every handle opened on it.
    pub growing_db: bool,
    /// Every TLS handshake presents a certificate that is not the pair record's.
    pub impostor_certificate: bool,
    /// The first `GetValue` of every lockdown session is answered with a plist reuse bomb.
    pub plist_bomb: bool,
    /// The first `GetValue` of every lockdown session is answered with 20,000 nested arrays.
    pub deep_plist: bool,
    /// syncstatus.plist is a plist reuse bomb.
    pub afc_plist_bomb: bool,
    /// `endless-db`: the size Photos.sqlite claims; its reads never end.
    pub endless_db: Option<u64>,
    /// `trickle`: the library's reads answer one byte this late.
    pub trickle: Option<Duration>,
    /// `afc-silent`: AFC reads requests and never answers.
    pub afc_silent: bool,
    /// `slow-db`: Photos.sqlite is a library whose summary takes minutes.
    pub slow_db: bool,
    /// `locked-after-restart`: when a restarted phone unlocks.
    pub locked_after_restart: Option<UnlockWhen>,
    /// `no-return-after-restart`: a restart takes the phone off the bus for good.
    pub no_return_after_restart: bool,
    /// `original-changes`: originals (normalized paths) rewritten during every copy.
    pub original_changes: Vec<String>,
    /// `original-vanishes`: originals deleted during their first copy.
    pub original_vanishes: Vec<String>,
    /// `link`: replies wait a round trip and share this link's bandwidth.
    pub link: Option<crate::link::Link>,
}

/// When a phone that came back locked from a restart is unlocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlockWhen {
    /// When told: `unlock N` on the simulator's stdin, or `SimHandle::unlock`.
    Told,
    /// After refusing this many `StartSession`s (0: it comes back unlocked).
    AfterRefusals(u32),
}

impl Faults {
    pub fn is_empty(&self) -> bool {
        *self == Faults::default()
    }

    /// Adds one fault; a repeated value-carrying fault replaces the earlier value, except
    /// `afc-denied`, whose paths accumulate.
    pub fn add(&mut self, fault: Fault) {
        match fault {
            Fault::NotPaired => self.trust = self.trust.max(Trust::NotPaired),
            Fault::UserDenied => self.trust = self.trust.max(Trust::UserDenied),
            Fault::PasswordProtected => self.trust = self.trust.max(Trust::PasswordProtected),
            Fault::UnplugAfter(n) => self.unplug_after = Some(n),
            Fault::ReplugAfter(n) => self.replug_after = Some(n),
            Fault::Latency(d) => self.latency = Some(d),
            Fault::Garbage => self.garbage = true,
            Fault::HugeLength => self.huge_length = true,
            Fault::SlowTls => self.slow_tls = true,
            Fault::AfcDenied(path) => {
                if !self.afc_denied.contains(&path) {
                    self.afc_denied.push(path);
                }
            }
            Fault::TornDb => self.torn_db = true,
            Fault::NotSqliteDb => self.not_sqlite_db = true,
            Fault::GrowingDb => self.growing_db = true,
            Fault::ImpostorCertificate => self.impostor_certificate = true,
            Fault::PlistBomb => self.plist_bomb = true,
            Fault::DeepPlist => self.deep_plist = true,
            Fault::AfcPlistBomb => self.afc_plist_bomb = true,
            Fault::EndlessDb(n) => self.endless_db = Some(n),
            Fault::Trickle(d) => self.trickle = Some(d),
            Fault::AfcSilent => self.afc_silent = true,
            Fault::SlowDb => self.slow_db = true,
            Fault::LockedAfterRestart(n) => {
                self.locked_after_restart = Some(match n {
                    None => UnlockWhen::Told,
                    Some(n) => UnlockWhen::AfterRefusals(n),
                })
            }
            Fault::NoReturnAfterRestart => self.no_return_after_restart = true,
            Fault::OriginalChanges(path) => {
                if !self.original_changes.contains(&path) {
                    self.original_changes.push(path);
                }
            }
            Fault::OriginalVanishes(path) => {
                if !self.original_vanishes.contains(&path) {
                    self.original_vanishes.push(path);
                }
            }
            Fault::Link(link) => self.link = Some(link),
        }
    }

    /// The modes in force, for the start-up log.
    pub fn modes(&self) -> Vec<FaultMode> {
        let mut out = Vec::new();
        match self.trust {
            Trust::Paired => {}
            Trust::NotPaired => out.push(FaultMode::NotPaired),
            Trust::UserDenied => out.push(FaultMode::UserDenied),
            Trust::PasswordProtected => out.push(FaultMode::PasswordProtected),
        }
        for (on, mode) in [
            (self.unplug_after.is_some(), FaultMode::UnplugAfter),
            (self.replug_after.is_some(), FaultMode::ReplugAfter),
            (self.latency.is_some(), FaultMode::Latency),
            (self.garbage, FaultMode::Garbage),
            (self.huge_length, FaultMode::HugeLength),
            (self.slow_tls, FaultMode::SlowTls),
            (!self.afc_denied.is_empty(), FaultMode::AfcDenied),
            (self.torn_db, FaultMode::TornDb),
            (self.not_sqlite_db, FaultMode::NotSqliteDb),
            (self.growing_db, FaultMode::GrowingDb),
            (self.impostor_certificate, FaultMode::ImpostorCertificate),
            (self.plist_bomb, FaultMode::PlistBomb),
            (self.deep_plist, FaultMode::DeepPlist),
            (self.afc_plist_bomb, FaultMode::AfcPlistBomb),
            (self.endless_db.is_some(), FaultMode::EndlessDb),
            (self.trickle.is_some(), FaultMode::Trickle),
            (self.afc_silent, FaultMode::AfcSilent),
            (self.slow_db, FaultMode::SlowDb),
            (
                self.locked_after_restart.is_some(),
                FaultMode::LockedAfterRestart,
            ),
            (
                self.no_return_after_restart,
                FaultMode::NoReturnAfterRestart,
            ),
            (
                !self.original_changes.is_empty(),
                FaultMode::OriginalChanges,
            ),
            (
                !self.original_vanishes.is_empty(),
                FaultMode::OriginalVanishes,
            ),
            (self.link.is_some(), FaultMode::Link),
        ] {
            if on {
                out.push(mode);
            }
        }
        out
    }

    /// Spreads `--fault` arguments over `devices` phones (in `--snapshot` order) and applies
    /// `--trust-after` to the phones that are not paired.
    pub fn per_device(
        specs: &[FaultSpec],
        devices: usize,
        trust_after: Option<Duration>,
    ) -> Result<Vec<Faults>, FaultError> {
        let mut out = vec![Faults::default(); devices];
        for spec in specs {
            match spec.device {
                None => out.iter_mut().for_each(|f| f.add(spec.fault.clone())),
                Some(n) if (1..=devices).contains(&n) => out[n - 1].add(spec.fault.clone()),
                Some(n) => {
                    return Err(FaultError::NoSuchDevice { n, count: devices });
                }
            }
        }
        if let Some(after) = trust_after {
            let mut used = false;
            for f in out.iter_mut().filter(|f| f.trust == Trust::NotPaired) {
                f.trust_after = Some(after);
                used = true;
            }
            if !used {
                return Err(FaultError::TrustAfterUnused);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<FaultSpec, FaultError> {
        s.parse()
    }

    #[test]
    fn parses_every_mode_with_and_without_a_device() {
        assert_eq!(
            parse("not-paired").unwrap(),
            FaultSpec {
                fault: Fault::NotPaired,
                device: None
            }
        );
        assert_eq!(
            parse("latency=250@2").unwrap(),
            FaultSpec {
                fault: Fault::Latency(Duration::from_millis(250)),
                device: Some(2)
            }
        );
        assert_eq!(
            parse("unplug-after=3").unwrap().fault,
            Fault::UnplugAfter(3)
        );
        assert_eq!(
            parse("replug-after=4@2").unwrap(),
            FaultSpec {
                fault: Fault::ReplugAfter(4),
                device: Some(2)
            }
        );
        for (s, f) in [
            ("user-denied", Fault::UserDenied),
            ("password-protected@1", Fault::PasswordProtected),
            ("garbage", Fault::Garbage),
            ("huge-length", Fault::HugeLength),
            ("slow-tls@3", Fault::SlowTls),
            ("plist-bomb", Fault::PlistBomb),
            ("deep-plist@2", Fault::DeepPlist),
            ("afc-plist-bomb", Fault::AfcPlistBomb),
        ] {
            assert_eq!(parse(s).unwrap().fault, f, "{s}");
        }
    }

    #[test]
    fn unknown_modes_are_named_with_the_known_ones() {
        let err = parse("unpluged-after=3").unwrap_err();
        assert_eq!(err, FaultError::UnknownMode("unpluged-after".into()));
        let text = err.to_string();
        assert!(
            text.contains("unplug-after=N") && text.contains("slow-tls"),
            "{text}"
        );
        assert_eq!(parse("").unwrap_err(), FaultError::Empty);
        assert_eq!(parse("@2").unwrap_err(), FaultError::Empty);
    }

    #[test]
    fn values_must_be_present_exactly_when_the_mode_takes_one() {
        assert!(matches!(
            parse("latency").unwrap_err(),
            FaultError::MissingValue {
                mode: FaultMode::Latency,
                ..
            }
        ));
        assert!(matches!(
            parse("unplug-after=@2").unwrap_err(),
            FaultError::MissingValue { .. }
        ));
        assert_eq!(
            parse("garbage=1").unwrap_err(),
            FaultError::UnexpectedValue {
                mode: FaultMode::Garbage,
                value: "1".into()
            }
        );
        for bad in [
            "latency=fast",
            "latency=-5",
            "latency=600001",
            "unplug-after=0",
            "unplug-after=x",
        ] {
            assert!(
                matches!(parse(bad).unwrap_err(), FaultError::BadValue { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn device_numbers_are_one_based_and_checked_against_the_devices() {
        for bad in ["garbage@0", "garbage@", "garbage@two", "garbage@-1"] {
            assert!(
                matches!(parse(bad).unwrap_err(), FaultError::BadDevice(_)),
                "{bad}"
            );
        }
        let spec = parse("garbage@3").unwrap();
        assert_eq!(
            Faults::per_device(&[spec], 2, None).unwrap_err(),
            FaultError::NoSuchDevice { n: 3, count: 2 }
        );
    }

    #[test]
    fn faults_combine_per_device_and_the_strongest_pairing_fault_wins() {
        let specs: Vec<FaultSpec> = [
            "latency=10",
            "garbage@2",
            "not-paired@2",
            "password-protected@2",
            "user-denied@2",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let f = Faults::per_device(&specs, 2, None).unwrap();
        assert_eq!(f[0].latency, Some(Duration::from_millis(10)));
        assert!(!f[0].garbage);
        assert_eq!(f[0].trust, Trust::Paired);
        assert!(f[1].garbage);
        assert_eq!(f[1].trust, Trust::PasswordProtected);
        assert_eq!(
            f[1].modes(),
            vec![
                FaultMode::PasswordProtected,
                FaultMode::Latency,
                FaultMode::Garbage
            ]
        );
    }

    #[test]
    fn trust_after_goes_to_the_unpaired_phones_and_is_refused_without_one() {
        let specs = [parse("not-paired@1").unwrap()];
        let f = Faults::per_device(&specs, 2, Some(Duration::from_secs(1))).unwrap();
        assert_eq!(f[0].trust_after, Some(Duration::from_secs(1)));
        assert_eq!(f[1].trust_after, None);
        assert_eq!(
            Faults::per_device(&[], 1, Some(Duration::from_secs(1))).unwrap_err(),
            FaultError::TrustAfterUnused
        );
    }

    #[test]
    fn afc_faults_parse_and_paths_are_normalized() {
        assert_eq!(
            parse("afc-denied=PhotoData/CPL@2").unwrap(),
            FaultSpec {
                fault: Fault::AfcDenied("PhotoData/CPL".into()),
                device: Some(2)
            }
        );
        for (given, want) in [
            ("/PhotoData/CPL/", "PhotoData/CPL"),
            (
                "PhotoData//private/./com.apple.assetsd",
                "PhotoData/private/com.apple.assetsd",
            ),
            ("/var/mobile/Media/PhotoData", "PhotoData"),
            ("/", ""),
        ] {
            assert_eq!(
                parse(&format!("afc-denied={given}")).unwrap().fault,
                Fault::AfcDenied(want.into()),
                "{given}"
            );
        }
        for bad in ["afc-denied=../etc", "afc-denied=PhotoData/../.."] {
            assert!(
                matches!(parse(bad).unwrap_err(), FaultError::BadValue { .. }),
                "{bad}"
            );
        }
        assert!(matches!(
            parse("afc-denied").unwrap_err(),
            FaultError::MissingValue {
                mode: FaultMode::AfcDenied,
                placeholder: "PATH"
            }
        ));
        for (s, f) in [
            ("torn-db", Fault::TornDb),
            ("not-sqlite-db@1", Fault::NotSqliteDb),
            ("growing-db", Fault::GrowingDb),
            (
                "endless-db=1000000000000",
                Fault::EndlessDb(1_000_000_000_000),
            ),
            ("trickle=100@2", Fault::Trickle(Duration::from_millis(100))),
            ("afc-silent", Fault::AfcSilent),
            ("slow-db", Fault::SlowDb),
        ] {
            assert_eq!(parse(s).unwrap().fault, f, "{s}");
        }
        for bad in ["endless-db=huge", "trickle=60001", "trickle=-1"] {
            assert!(
                matches!(parse(bad).unwrap_err(), FaultError::BadValue { .. }),
                "{bad}"
            );
        }
        assert!(matches!(
            parse("trickle").unwrap_err(),
            FaultError::MissingValue { .. }
        ));
        assert!(matches!(
            parse("torn-db=1").unwrap_err(),
            FaultError::UnexpectedValue { .. }
        ));

        let specs: Vec<FaultSpec> = [
            "afc-denied=PhotoData/CPL",
            "afc-denied=PhotoData/private@2",
            "afc-denied=PhotoData/CPL@2",
            "growing-db@2",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let f = Faults::per_device(&specs, 2, None).unwrap();
        assert_eq!(f[0].afc_denied, vec!["PhotoData/CPL".to_string()]);
        assert_eq!(
            f[1].afc_denied,
            vec!["PhotoData/CPL".to_string(), "PhotoData/private".to_string()]
        );
        assert!(f[1].growing_db && !f[0].growing_db);
        assert_eq!(
            f[1].modes(),
            vec![FaultMode::AfcDenied, FaultMode::GrowingDb]
        );
        assert!(known_modes().contains("afc-denied=PATH"));
    }

    #[test]
    fn original_faults_take_a_path_below_the_afc_root() {
        assert_eq!(
            parse("original-changes=/var/mobile/Media/DCIM/100APPLE/IMG_0003.HEIC@1").unwrap(),
            FaultSpec {
                fault: Fault::OriginalChanges("DCIM/100APPLE/IMG_0003.HEIC".into()),
                device: Some(1)
            }
        );
        assert_eq!(
            parse("original-vanishes=DCIM//100APPLE/IMG_0004.MOV")
                .unwrap()
                .fault,
            Fault::OriginalVanishes("DCIM/100APPLE/IMG_0004.MOV".into())
        );
        assert!(matches!(
            parse("original-vanishes=../x").unwrap_err(),
            FaultError::BadValue { .. }
        ));
        assert!(matches!(
            parse("original-changes").unwrap_err(),
            FaultError::MissingValue { .. }
        ));
    }

    #[test]
    fn link_takes_a_bandwidth_and_a_round_trip() {
        use crate::link::Link;
        assert_eq!(
            parse("link=30,1@2").unwrap(),
            FaultSpec {
                fault: Fault::Link(Link {
                    bytes_per_sec: 30_000_000,
                    rtt: Duration::from_millis(1)
                }),
                device: Some(2)
            }
        );
        assert_eq!(
            parse("link=0.5,0.25").unwrap().fault,
            Fault::Link(Link {
                bytes_per_sec: 500_000,
                rtt: Duration::from_micros(250)
            })
        );
        for bad in [
            "link=30",
            "link=0,1",
            "link=30,-1",
            "link=x,1",
            "link=30,60001",
            "link=30,1,2",
        ] {
            assert!(
                matches!(parse(bad).unwrap_err(), FaultError::BadValue { .. }),
                "{bad}"
            );
        }
        assert!(matches!(
            parse("link").unwrap_err(),
            FaultError::MissingValue { .. }
        ));
        assert!(known_modes().contains("link=MBPS,RTT_MS"));
    }

    #[test]
    fn mode_bits_are_distinct() {
        let mut seen = 0u64;
        for m in FaultMode::ALL {
            assert_eq!(seen & m.bit(), 0);
            seen |= m.bit();
        }
    }

    #[test]
    fn restart_faults_parse_with_an_optional_count() {
        let mut f = Faults::default();
        f.add(parse("locked-after-restart").unwrap().fault);
        assert_eq!(f.locked_after_restart, Some(UnlockWhen::Told));
        f.add(parse("locked-after-restart=2@1").unwrap().fault);
        assert_eq!(f.locked_after_restart, Some(UnlockWhen::AfterRefusals(2)));
        f.add(parse("no-return-after-restart").unwrap().fault);
        assert!(f.no_return_after_restart);
        assert_eq!(
            f.modes(),
            vec![
                FaultMode::LockedAfterRestart,
                FaultMode::NoReturnAfterRestart
            ]
        );
        assert!(matches!(
            parse("locked-after-restart=soon"),
            Err(FaultError::BadValue { .. })
        ));
        assert!(matches!(
            parse("no-return-after-restart=1"),
            Err(FaultError::UnexpectedValue { .. })
        ));
        assert!(known_modes().contains("locked-after-restart[=N]"));
    }
}
