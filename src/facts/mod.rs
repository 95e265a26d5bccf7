//! Typed facts about one phone, read from a [`Snapshot`].
//!
//! Every field is an `Option`: what the snapshot does not hold is unknown, never guessed. Units
//! are converted here (centi-°C to °C, mAh to a health percentage) so that the checklist reads
//! plain numbers. Nothing here decides a verdict.

mod account;
mod battery;
pub mod catalog;
mod identity;
pub mod photos;
pub mod read;
pub mod software;
mod storage;

use serde::Serialize;

pub use account::Account;
pub use battery::{Battery, BatteryHealth};
pub use catalog::Catalog;
pub use identity::Identity;
pub use photos::{LibraryFacts, PhotoSync};
pub use read::FactError;
pub use software::{IosVersion, Software};
pub use storage::Storage;

use crate::snapshot::{
    Connection, Snapshot, BACKUP_DOMAIN, BATTERY_DOMAIN, BATTERY_QUERIES, DISK_USAGE_DOMAIN,
    SMART_BATTERY,
};
use read::Values;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceFacts {
    pub identity: Identity,
    pub software: Software,
    pub storage: Storage,
    pub battery: Battery,
    pub account: Account,
    pub network: Network,
    /// The iCloud Photos engine's own state, when the scan read it over AFC.
    pub photos: Option<PhotoSync>,
    /// When the phone was read: ages ("last synced 9 days ago") count from here.
    pub captured_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Network {
    /// How the host reached the phone (usbmuxd's ConnectionType).
    pub connection: Option<Connection>,
    /// `WiFiAddress`: the Wi-Fi MAC (private: redacted in shareable reports).
    pub wifi_address: Option<String>,
    /// `SIMStatus`, e.g. kCTSIMSupportSIMStatusReady; a phone with no SIM has no cellular data.
    pub sim_status: Option<String>,
}

impl DeviceFacts {
    pub fn from_snapshot(snap: &Snapshot, catalog: &Catalog) -> Result<Self, FactError> {
        let root = Values::new("Lockdown", Some(&snap.lockdown));
        let disk_path = format!("Domains/{DISK_USAGE_DOMAIN}");
        let battery_path = format!("Domains/{BATTERY_DOMAIN}");
        let backup_path = format!("Domains/{BACKUP_DOMAIN}");
        let battery_entry = snap.battery_entry();
        let smart_path = format!(
            "IORegistry/{}",
            battery_entry.map_or(SMART_BATTERY, |(q, _)| q.key())
        );

        let identity = Identity::read(&root, catalog)?;
        let ios_version = match root.string("ProductVersion")? {
            None => None,
            Some(s) => Some(s.parse().map_err(|problem| FactError {
                key: root.key_path("ProductVersion"),
                problem,
            })?),
        };
        let software = Software::derive(
            ios_version,
            root.string("BuildVersion")?.map(str::to_owned),
            identity.product_type.as_deref(),
            catalog,
        );
        let storage = Storage::read(&Values::new(&disk_path, snap.domain(DISK_USAGE_DOMAIN)))?;
        let mut battery = Battery::read(
            &Values::new(&battery_path, snap.domain(BATTERY_DOMAIN)),
            &Values::new(&smart_path, battery_entry.map(|(_, d)| d)),
        )?;
        battery.health.source = battery_entry.map(|(q, _)| q.describe());
        battery.health.unknown_reason = battery::unknown_reason(&battery.health, || {
            BATTERY_QUERIES
                .iter()
                .map(|q| q.describe())
                .collect::<Vec<_>>()
                .join(", ")
        });
        let account = Account::read(
            &root,
            &Values::new(&backup_path, snap.domain(BACKUP_DOMAIN)),
        )?;
        let network = Network {
            connection: snap.connection,
            wifi_address: root.string("WiFiAddress")?.map(str::to_owned),
            sim_status: root.string("SIMStatus")?.map(str::to_owned),
        };
        Ok(DeviceFacts {
            identity,
            software,
            storage,
            battery,
            account,
            network,
            photos: snap.photo_library.as_ref().map(PhotoSync::from_library),
            captured_at: snap.captured_at.map(Into::into),
        })
    }
}
