//! One function per check: facts and thresholds in, one finding out. Answers are folded in
//! afterwards by the caller, so a check only says what the phone's own data decides.

mod account;
mod engine;
mod network;
mod photos;
mod power;
mod software;
mod storage;

use chrono::{DateTime, Utc};

use super::answers::how_to_answer;
use super::finding::{CheckId, Finding, Status};
use super::thresholds::Thresholds;
use super::EarlierScan;
use crate::facts::DeviceFacts;

pub(super) fn run(
    id: CheckId,
    facts: &DeviceFacts,
    earlier: Option<&EarlierScan>,
    t: &Thresholds,
    now: DateTime<Utc>,
) -> Finding {
    let finding = judge(id, facts, earlier, t, now);
    with_refusals(finding, facts)
}

fn judge(
    id: CheckId,
    facts: &DeviceFacts,
    earlier: Option<&EarlierScan>,
    t: &Thresholds,
    now: DateTime<Utc>,
) -> Finding {
    match id {
        CheckId::AppleId => account::apple_id(facts),
        CheckId::IcloudPhotos => account::icloud_photos(facts),
        CheckId::PhotosUpload => engine::upload_evidence(
            facts,
            photos::photos_upload(facts, earlier, &t.photos_upload, now),
        ),
        CheckId::IcloudStorage => account::icloud_storage(facts),
        CheckId::Network => network::network(facts),
        CheckId::CellularData => network::cellular_data(facts),
        CheckId::DeviceStorage => storage::device_storage(facts, &t.device_storage),
        CheckId::Restart => software::restart(facts),
        CheckId::IosUpdate => {
            engine::ios_too_old(facts, software::ios_update(facts, &t.ios_update))
        }
        CheckId::Power => power::power(facts, &t.power),
        CheckId::LowPower => power::low_power(facts, &t.power),
        CheckId::BatteryHealth => power::battery_health(facts, &t.battery_health),
    }
}

/// The snapshot keys each check's facts come from, as key paths (`Domains/<domain>/<key>`,
/// `IORegistry/<entry>/<key>`, `Lockdown/<key>`); a path also covers what is nested under it.
/// A value refused under one of them made a fact of that check unknown, so its finding says so.
/// A key read into the facts that no check uses is in [`KEYS_NO_CHECK_READS`] (a unit test holds
/// every key the facts read to one list or the other).
fn keys_read(id: CheckId) -> &'static [&'static str] {
    match id {
        CheckId::AppleId => &[
            "Lockdown/NonVolatileRAM/fm-activation-locked",
            "Lockdown/NonVolatileRAM/fm-account-masked",
            "Lockdown/NonVolatileRAM",
            "Domains/com.apple.mobile.backup/CloudBackupEnabled",
            "Domains/com.apple.mobile.backup/LastCloudBackupDate",
            "Domains/com.apple.fmip/IsAssociated",
        ],
        CheckId::Network => &["Domains/com.apple.mobile.backup/LastCloudBackupDate"],
        CheckId::CellularData => &["Lockdown/SIMStatus"],
        CheckId::DeviceStorage => &["Domains/com.apple.disk_usage"],
        CheckId::IosUpdate => &[
            "Lockdown/ProductVersion",
            "Lockdown/BuildVersion",
            "Lockdown/ProductType",
        ],
        CheckId::Power => &[
            "Domains/com.apple.mobile.battery/BatteryCurrentCapacity",
            "Domains/com.apple.mobile.battery/BatteryIsCharging",
            "Domains/com.apple.mobile.battery/ExternalConnected",
            "Domains/com.apple.mobile.battery/FullyCharged",
            "IORegistry/AppleSmartBattery/CurrentCapacity",
            "IORegistry/AppleSmartBattery/IsCharging",
            "IORegistry/AppleSmartBattery/ExternalConnected",
            "IORegistry/AppleSmartBattery/FullyCharged",
            "IORegistry/AppleSmartBattery/MaxCapacity",
        ],
        CheckId::LowPower => &[
            "Domains/com.apple.mobile.battery/BatteryCurrentCapacity",
            "IORegistry/AppleSmartBattery/CurrentCapacity",
            "IORegistry/AppleSmartBattery/MaxCapacity",
        ],
        CheckId::BatteryHealth => &[
            "IORegistry/AppleSmartBattery/CycleCount",
            "IORegistry/AppleSmartBattery/DesignCapacity",
            "IORegistry/AppleSmartBattery/AppleRawMaxCapacity",
            "IORegistry/AppleSmartBattery/NominalChargeCapacity",
            "IORegistry/AppleSmartBattery/BatteryData",
        ],
        CheckId::IcloudPhotos
        | CheckId::PhotosUpload
        | CheckId::IcloudStorage
        | CheckId::Restart => &[],
    }
}

/// Keys the facts read that no check's verdict rests on (identity, shown in the header only).
/// A refusal of one of them is still a warning in the report.
#[cfg(test)]
const KEYS_NO_CHECK_READS: &[&str] = &[
    "Lockdown/DeviceName",
    "Lockdown/ModelNumber",
    "Lockdown/RegionInfo",
    "Lockdown/SerialNumber",
    "Lockdown/UniqueDeviceID",
    "Lockdown/ActivationState",
    "Lockdown/PasswordProtected",
    "Lockdown/WiFiAddress",
    "Domains/com.apple.disk_usage/TotalDiskCapacity",
    "Domains/com.apple.disk_usage/PhotoUsage",
    "Domains/com.apple.disk_usage/CameraUsage",
    "IORegistry/AppleSmartBattery/Temperature",
];

fn covers(pattern: &str, key: &str) -> bool {
    let key = battery_entry_as_smart_battery(key);
    let key = key.as_str();
    key == pattern
        || key
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The patterns name the battery's IORegistry entry `AppleSmartBattery`; an older phone's
/// answers under another name or class (`AppleARMPMUCharger`, `IOPMPowerSource`) feed the same
/// facts, so a refusal there is matched as if it were under AppleSmartBattery.
fn battery_entry_as_smart_battery(key: &str) -> String {
    for query in crate::snapshot::BATTERY_QUERIES {
        if let Some(rest) = key
            .strip_prefix("IORegistry/")
            .and_then(|k| k.strip_prefix(query.key()))
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        {
            return format!("IORegistry/{}{rest}", crate::snapshot::SMART_BATTERY);
        }
    }
    key.to_string()
}

/// Adds to `finding` each refused value its facts would have come from.
fn with_refusals(mut finding: Finding, facts: &DeviceFacts) -> Finding {
    let patterns = keys_read(finding.id);
    for r in &facts.refused_values {
        if patterns.iter().any(|p| covers(p, &r.key)) {
            finding = finding.with(r.key.clone(), r.evidence());
        }
    }
    finding
}

/// A step the phone's data cannot decide: where to look on the phone, and how to answer.
fn manual(id: CheckId, look: &str, remedy: &str) -> Finding {
    Finding::new(
        id,
        Status::Manual,
        format!("Check on the phone: {look} ({})", how_to_answer(id)),
        remedy,
    )
}

#[cfg(test)]
pub(crate) mod test_facts {
    use crate::facts::*;

    /// Facts with nothing known, for tests to fill in.
    pub fn unknown() -> DeviceFacts {
        DeviceFacts {
            identity: Identity::default(),
            software: Software::default(),
            storage: Storage::default(),
            battery: Battery::default(),
            account: Account::default(),
            network: Network::default(),
            photos: None,
            captured_at: None,
            refused_values: Vec::new(),
        }
    }

    /// Facts of a phone with iCloud Photos on and past its first sync, whose engine said
    /// `engine` and whose library read as `library`; nothing else known.
    pub fn syncing(
        engine: Option<photos::EngineStatus>,
        library: photos::LibraryFacts,
    ) -> DeviceFacts {
        let mut f = unknown();
        f.photos = Some(PhotoSync {
            files: Default::default(),
            enabled: Some(true),
            enabled_by: None,
            enabled_since: None,
            initial_sync_done: Some(true),
            paused: Some(false),
            pause_reason: None,
            paused_until: None,
            engine,
            optimize_storage: None,
            library,
        });
        f
    }
}

#[cfg(test)]
mod refusal_tests {
    use super::*;
    use crate::facts::Catalog;
    use crate::snapshot::{Snapshot, Source};

    /// Every key the facts read bears on a check, or is listed as bearing on none: a fact added
    /// later must say which check a refusal of it concerns.
    #[test]
    fn every_key_the_facts_read_is_claimed() {
        // Every dictionary present and empty, so every key (and every fallback) is asked for.
        let mut snap = Snapshot::new(Source::Usb);
        for d in crate::snapshot::DOMAINS {
            snap.domains.insert(d.to_string(), plist::Dictionary::new());
        }
        let nested = |keys: &[&str]| -> plist::Dictionary {
            keys.iter()
                .map(|k| (k.to_string(), plist::Value::Dictionary(Default::default())))
                .collect()
        };
        snap.domains.insert(
            crate::snapshot::FMIP_DOMAIN.to_string(),
            plist::Dictionary::new(),
        );
        snap.lockdown = nested(&["NonVolatileRAM"]);
        // Each battery entry a phone may answer under (old phones: another name, or a class).
        let mut asked = Vec::new();
        for query in crate::snapshot::BATTERY_QUERIES {
            snap.io_registry.clear();
            snap.io_registry
                .insert(query.key().into(), nested(&["BatteryData"]));
            let keys = crate::facts::asked_keys(&snap, Catalog::builtin());
            // Fallback keys count too.
            let fallback = format!("IORegistry/{}/BatteryData/FullChargeCapacity", query.key());
            assert!(keys.contains(&fallback), "{keys:?}");
            asked.extend(keys);
        }
        assert!(asked.len() > 20, "{asked:?}");
        assert!(asked.contains(&"Domains/com.apple.fmip/IsAssociated".to_string()));
        for key in asked {
            let claimed = CheckId::ALL
                .iter()
                .any(|&id| keys_read(id).iter().any(|p| covers(p, &key)))
                || KEYS_NO_CHECK_READS.contains(&battery_entry_as_smart_battery(&key).as_str());
            assert!(
                claimed,
                "{key} is read into the facts but neither a check's keys_read nor KEYS_NO_CHECK_READS names it"
            );
        }
    }

    #[test]
    fn a_refusal_is_evidence_in_the_checks_it_concerns_only() {
        let mut facts = test_facts::unknown();
        facts.refused_values.push(crate::facts::Refusal {
            key: "Domains/com.apple.mobile.battery/BatteryCurrentCapacity".into(),
            value: "the string \"57\"".into(),
            reason: "expected an integer from 0 to 100".into(),
        });
        let t = Thresholds::default();
        let now = chrono::Utc::now();
        for id in CheckId::ALL {
            let f = run(id, &facts, None, &t, now);
            let quoted = f.evidence.iter().any(|e| {
                e.source == "Domains/com.apple.mobile.battery/BatteryCurrentCapacity"
                    && e.value.contains("the string \"57\"")
                    && e.value.contains("expected an integer")
            });
            let concerned = matches!(id, CheckId::Power | CheckId::LowPower);
            assert_eq!(quoted, concerned, "{id}: {:?}", f.evidence);
        }
        assert!(!covers(
            "Lockdown/NonVolatileRAM",
            "Lockdown/NonVolatileRAMx"
        ));
        assert!(covers(
            "IORegistry/AppleSmartBattery/CycleCount",
            "IORegistry/AppleARMPMUCharger/CycleCount"
        ));
        assert!(!covers(
            "IORegistry/AppleSmartBattery/CycleCount",
            "IORegistry/AppleARMPMUChargerX/CycleCount"
        ));
    }
}
