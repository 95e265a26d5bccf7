//! The snapshot: everything a scan read from one phone, as plain plist values.
//!
//! One format serves three uses: what a live scan captured (`--save-snapshot`), what
//! `scan --from` evaluates offline, and what `sim` serves. It keeps the device's own values
//! untouched (no interpretation happens here) so that the simulator can hand them back byte for
//! byte and a later synccheck can read facts an earlier one did not know about. The one
//! transformation, [`Snapshot::replayed_at`], moves only dates, for `sim` to replay it now.

mod error;
mod import;
mod load;
mod replay;

use std::collections::BTreeMap;
use std::time::SystemTime;

pub use error::SnapshotError;
pub(crate) use load::kind as value_kind;
pub use load::{describe as describe_value, load_file, parse_bytes, MAX_SNAPSHOT_BYTES};

/// The phone `sim` and `demo` serve when given no snapshot: storage nearly full, battery low and
/// unplugged, so the demo has something to find.
const DEMO_PLIST: &[u8] = include_bytes!("../../../../data/demo-iphone.plist");

/// The built-in demo phone.
pub fn builtin_demo() -> Snapshot {
    parse_bytes(std::path::Path::new("data/demo-iphone.plist"), DEMO_PLIST)
        .expect("the built-in demo snapshot is valid (a unit test reads it)")
}

/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u64 = 1;

/// The IORegistry entry that carries battery health (iPhone 8 and newer).
pub const SMART_BATTERY: &str = "AppleSmartBattery";
/// The battery's entry on iPhone 7 and older (libimobiledevice issues 660, 1095).
pub const PMU_CHARGER: &str = "AppleARMPMUCharger";
/// The class every battery entry belongs to; asked by class when no name answers.
pub const POWER_SOURCE_CLASS: &str = "IOPMPowerSource";

/// How a live scan asks diagnostics_relay for the battery, in order, and the `IORegistry` key
/// of the snapshot that holds the answer: an entry name, or the class name when only the
/// class answered. Facts read the first of these keys the snapshot holds.
pub const BATTERY_QUERIES: [BatteryQuery; 3] = [
    BatteryQuery::Name(SMART_BATTERY),
    BatteryQuery::Name(PMU_CHARGER),
    BatteryQuery::Class(POWER_SOURCE_CLASS),
];

/// One IORegistry request: by entry name (`EntryName`) or by class (`EntryClass`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatteryQuery {
    Name(&'static str),
    Class(&'static str),
}

impl BatteryQuery {
    /// The snapshot's `IORegistry` key for what this request returned.
    pub fn key(self) -> &'static str {
        match self {
            BatteryQuery::Name(n) | BatteryQuery::Class(n) => n,
        }
    }

    /// As the evidence names it: "AppleSmartBattery" or "class IOPMPowerSource".
    pub fn describe(self) -> String {
        match self {
            BatteryQuery::Name(n) => n.to_string(),
            BatteryQuery::Class(c) => format!("class {c}"),
        }
    }
}

/// Lockdown domains the checklist reads; a live scan captures these.
pub const DISK_USAGE_DOMAIN: &str = "com.apple.disk_usage";
pub const BATTERY_DOMAIN: &str = "com.apple.mobile.battery";
pub const BACKUP_DOMAIN: &str = "com.apple.mobile.backup";
/// Find My: `IsAssociated` (a boolean) says whether the phone is associated with a Find My
/// account. Stored in the snapshot as `Domains/com.apple.fmip/IsAssociated`.
/// The lockdown domains a scan reads; each bears on a check.
pub const DOMAINS: [&str; 3] = [DISK_USAGE_DOMAIN, BATTERY_DOMAIN, BACKUP_DOMAIN];

pub const FMIP_DOMAIN: &str = "com.apple.fmip";
pub const FMIP_IS_ASSOCIATED: &str = "IsAssociated";

/// Values lockdownd gives only when asked by domain and key: a GetValue for the whole domain
/// leaves them out (libimobiledevice issues 275 and 378). A live scan asks for each by key, and
/// `sim` answers them only that way.
pub const KEYED_ONLY_VALUES: [(&str, &str); 1] = [(FMIP_DOMAIN, FMIP_IS_ASSOCIATED)];

/// Where a snapshot came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Captured from a phone over usbmuxd.
    Usb,
    /// Converted from another tool's output (`ideviceinfo -x`, `pymobiledevice3 lockdown info`).
    Import(String),
    /// Anything else a snapshot file names (kept verbatim).
    Other(String),
}

impl Source {
    pub fn as_str(&self) -> &str {
        match self {
            Source::Usb => "usb",
            Source::Import(_) => "import",
            Source::Other(s) => s,
        }
    }

    pub fn from_name(name: &str) -> Self {
        match name {
            "usb" => Source::Usb,
            "import" => Source::Import(String::new()),
            other => Source::Other(other.to_string()),
        }
    }
}

/// How the phone was reached, as usbmuxd reports it (`ConnectionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Connection {
    Usb,
    Network,
}

impl Connection {
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::Usb => "USB",
            Connection::Network => "Network",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "usb" => Some(Connection::Usb),
            "network" | "wifi" => Some(Connection::Network),
            _ => None,
        }
    }
}

/// One phone's captured values.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub captured_at: Option<SystemTime>,
    pub source: Source,
    pub connection: Option<Connection>,
    /// Root lockdown values (what `ideviceinfo -x` prints).
    pub lockdown: plist::Dictionary,
    /// Lockdown domain name → that domain's values.
    pub domains: BTreeMap<String, plist::Dictionary>,
    /// IORegistry entry name (or, for an answer by class only, the class name) → the
    /// dictionary diagnostics_relay returned for it. See [`BATTERY_QUERIES`].
    pub io_registry: BTreeMap<String, plist::Dictionary>,
    /// What the iCloud Photos engine's files and library said over AFC; absent in snapshots
    /// taken without it (older ones, imports).
    pub photo_library: Option<crate::photos::PhotoLibrary>,
}

impl Snapshot {
    pub fn new(source: Source) -> Self {
        Snapshot {
            captured_at: None,
            source,
            connection: None,
            lockdown: plist::Dictionary::new(),
            domains: BTreeMap::new(),
            io_registry: BTreeMap::new(),
            photo_library: None,
        }
    }

    pub fn domain(&self, name: &str) -> Option<&plist::Dictionary> {
        self.domains.get(name)
    }

    pub fn smart_battery(&self) -> Option<&plist::Dictionary> {
        self.io_registry.get(SMART_BATTERY)
    }

    /// The battery's IORegistry answer, whichever entry or class gave it, with its key. An empty
    /// dictionary is no answer (a phone answers an entry it lacks with one).
    pub fn battery_entry(&self) -> Option<(BatteryQuery, &plist::Dictionary)> {
        BATTERY_QUERIES.iter().find_map(|q| {
            self.io_registry
                .get(q.key())
                .filter(|d| !d.is_empty())
                .map(|d| (*q, d))
        })
    }

    /// The snapshot as the plist dictionary that is written to disk.
    pub fn to_plist(&self) -> plist::Value {
        let mut root = plist::Dictionary::new();
        root.insert(
            "SnapshotVersion".into(),
            plist::Value::Integer(SNAPSHOT_VERSION.into()),
        );
        if let Some(at) = self.captured_at {
            root.insert("CapturedAt".into(), plist::Value::Date(at.into()));
        }
        root.insert(
            "Source".into(),
            plist::Value::String(self.source.as_str().into()),
        );
        if let Source::Import(from) = &self.source {
            if !from.is_empty() {
                root.insert("ImportedFrom".into(), plist::Value::String(from.clone()));
            }
        }
        if let Some(c) = self.connection {
            root.insert("Connection".into(), plist::Value::String(c.as_str().into()));
        }
        root.insert(
            "Lockdown".into(),
            plist::Value::Dictionary(self.lockdown.clone()),
        );
        root.insert("Domains".into(), dict_of_dicts(&self.domains));
        root.insert("IORegistry".into(), dict_of_dicts(&self.io_registry));
        if let Some(photos) = &self.photo_library {
            root.insert("PhotoLibrary".into(), photos.to_plist());
        }
        plist::Value::Dictionary(root)
    }

    /// Writes the snapshot as an XML plist (readable in a diff, served as is by `sim`).
    /// XML 1.0 cannot hold most control characters: with a phone value holding one, the XML
    /// written is not XML to other tools (plistutil, Python's plistlib). [`Snapshot::write`]
    /// is what saves and records a snapshot.
    pub fn write_xml(&self, writer: impl std::io::Write) -> Result<(), plist::Error> {
        self.to_plist().to_writer_xml(writer)
    }

    /// Writes the snapshot as an XML plist when XML 1.0 can hold every key and string in it,
    /// and as a binary plist otherwise. A snapshot keeps what the phone said exactly (a device
    /// name with ESC or NUL in it included), and a binary plist can: replacing the characters
    /// would change the evidence, refusing would lose the scan. Everything that reads a
    /// snapshot (`scan --from`, `sim`, the history, other plist tools) reads both formats.
    pub fn write(&self, writer: impl std::io::Write) -> Result<(), plist::Error> {
        let value = self.to_plist();
        match synccheck_wire::phone_text::xml_can_carry(&value) {
            Ok(()) => value.to_writer_xml(writer),
            Err(at) => {
                tracing::debug!(%at, "a value XML cannot hold: snapshot written as binary plist");
                value.to_writer_binary(writer)
            }
        }
    }
}

fn dict_of_dicts(map: &BTreeMap<String, plist::Dictionary>) -> plist::Value {
    let mut out = plist::Dictionary::new();
    for (name, values) in map {
        out.insert(name.clone(), plist::Value::Dictionary(values.clone()));
    }
    plist::Value::Dictionary(out)
}

#[cfg(test)]
mod write_tests {
    use super::*;

    #[test]
    fn a_value_xml_cannot_hold_is_kept_exactly_in_a_binary_plist() {
        let mut snap = builtin_demo();
        let hostile = "Bob\u{1}\u{1b}]0;x\u{7}\u{0}";
        snap.lockdown.insert("DeviceName".into(), hostile.into());
        let mut out = Vec::new();
        snap.write(&mut out).unwrap();
        assert!(out.starts_with(b"bplist00"));
        let back = parse_bytes(std::path::Path::new("x"), &out).unwrap();
        assert_eq!(back, snap);

        let mut xml = Vec::new();
        builtin_demo().write(&mut xml).unwrap();
        assert!(xml.starts_with(b"<?xml"), "plain values stay XML");
    }
}
