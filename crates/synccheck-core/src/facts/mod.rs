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
pub use catalog::{Catalog, UncountableMajor};
pub use identity::Identity;
pub use photos::{LibraryFacts, PhotoSync};
pub use read::{Refusal, Refusals};
pub use software::{IosVersion, Software};
pub use storage::Storage;

use crate::snapshot::{
    Connection, Snapshot, BACKUP_DOMAIN, BATTERY_DOMAIN, BATTERY_QUERIES, DISK_USAGE_DOMAIN,
    FMIP_DOMAIN, SMART_BATTERY,
};

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
    /// Values of a type or range no phone should send, each left out so that the one fact it
    /// gives is unknown ([`read`]). The checks they concern quote them; reports warn of each.
    pub refused_values: Vec<Refusal>,
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
    /// Reads every fact the snapshot holds. Never fails: what is absent or refused is unknown.
    pub fn from_snapshot(snap: &Snapshot, catalog: &Catalog) -> Self {
        let refusals = Refusals::new();
        let mut facts = Self::read(snap, catalog, &refusals);
        facts.refused_values = refusals.into_vec();
        // The engine's status file refuses its own odd values; they are warnings all the same.
        if let Some(engine) = facts.photos.as_ref().and_then(|p| p.engine.as_ref()) {
            facts.refused_values.extend(engine.refused.iter().cloned());
        }
        facts
    }

    fn read(snap: &Snapshot, catalog: &Catalog, refusals: &Refusals) -> Self {
        let root = refusals.values("Lockdown", Some(&snap.lockdown));
        let domain = |name: &str| refusals.values(format!("Domains/{name}"), snap.domain(name));

        let identity = Identity::read(&root, catalog);
        let software = Software::derive(
            root.parsed("ProductVersion", "an iOS version such as 17.4.1"),
            root.string("BuildVersion").map(str::to_owned),
            identity.product_type.as_deref(),
            catalog,
            snap.captured_at
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t).date_naive()),
        );
        let storage = Storage::read(&domain(DISK_USAGE_DOMAIN));
        let battery_entry = snap.battery_entry();
        let mut battery = Battery::read(
            &domain(BATTERY_DOMAIN),
            &refusals.values(
                format!(
                    "IORegistry/{}",
                    battery_entry.map_or(SMART_BATTERY, |(q, _)| q.key())
                ),
                battery_entry.map(|(_, d)| d),
            ),
        );
        battery.health.source = battery_entry.map(|(q, _)| q.describe());
        battery.health.unknown_reason = battery::unknown_reason(&battery.health, || {
            BATTERY_QUERIES
                .iter()
                .map(|q| q.describe())
                .collect::<Vec<_>>()
                .join(", ")
        });
        let account = Account::read(&root, &domain(BACKUP_DOMAIN), &domain(FMIP_DOMAIN));
        let network = Network {
            connection: snap.connection,
            wifi_address: root.string("WiFiAddress").map(str::to_owned),
            sim_status: root.string("SIMStatus").map(str::to_owned),
        };
        DeviceFacts {
            identity,
            software,
            storage,
            battery,
            account,
            network,
            photos: snap.photo_library.as_ref().map(PhotoSync::from_library),
            captured_at: snap.captured_at.map(Into::into),
            refused_values: Vec::new(),
        }
    }
}

/// Every key path reading `snap` asks for, for the test that each bears on a check.
#[cfg(test)]
pub(crate) fn asked_keys(snap: &Snapshot, catalog: &Catalog) -> Vec<String> {
    let refusals = Refusals::new();
    DeviceFacts::read(snap, catalog, &refusals);
    refusals.asked()
}
