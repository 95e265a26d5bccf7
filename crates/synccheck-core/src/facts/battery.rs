use serde::Serialize;

use super::read::{first_present, Values};

/// Charge state from `com.apple.mobile.battery`, health from diagnostics_relay's battery entry
/// (AppleSmartBattery, AppleARMPMUCharger on iPhone 7 and older, or whatever answered by class
/// IOPMPowerSource: they share the keys read here).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Battery {
    /// Charge level, 0–100 %.
    pub level_percent: Option<u8>,
    pub charging: Option<bool>,
    /// A charger or computer supplies power.
    pub external_power: Option<bool>,
    pub fully_charged: Option<bool>,
    pub health: BatteryHealth,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BatteryHealth {
    pub cycle_count: Option<u32>,
    pub design_capacity_mah: Option<u32>,
    pub full_charge_capacity_mah: Option<u32>,
    /// Which IORegistry key gave the full-charge capacity.
    pub full_charge_key: Option<&'static str>,
    /// Full-charge capacity against design, as a percentage. An estimate: Apple's Settings figure
    /// uses a formula Apple does not publish.
    pub estimated_health_percent: Option<f64>,
    pub temperature_c: Option<f64>,
    /// Which IORegistry entry gave these values ("AppleARMPMUCharger", "class IOPMPowerSource").
    pub source: Option<String>,
    /// Why the health estimate is unknown, when it is.
    pub unknown_reason: Option<String>,
}

/// Ranges no real iPhone battery leaves; values beyond them are corrupt input.
const MAX_MAH: u64 = 20_000;
const MAX_CYCLES: u64 = 100_000;
const CENTI_CELSIUS: std::ops::RangeInclusive<i128> = -4_000..=10_000;
/// No iPhone battery holds 100 mAh or less: a capacity key at or below this is a percentage
/// (as `MaxCapacity` became on iOS 12.2 and later), never mAh, so it is passed over.
const PERCENT_CEILING: u64 = 100;

impl Battery {
    pub(super) fn read(domain: &Values, smart: &Values) -> Self {
        // The lockdown domain answers without diagnostics_relay; IORegistry fills what it lacks
        // (what it lacks, not what it sent in a form we refused).
        let level = if domain.has("BatteryCurrentCapacity") {
            domain.unsigned("BatteryCurrentCapacity", 100)
        } else {
            iokit_level(smart)
        };
        let flag = |domain_key, iokit_key| {
            first_present(&[(domain, domain_key), (smart, iokit_key)], Values::boolean)
                .map(|(v, _)| v)
        };
        Battery {
            level_percent: level.map(|l| l as u8),
            charging: flag("BatteryIsCharging", "IsCharging"),
            external_power: flag("ExternalConnected", "ExternalConnected"),
            fully_charged: flag("FullyCharged", "FullyCharged"),
            health: BatteryHealth::read(smart),
        }
    }
}

/// IOPMPowerSource's charge level: `CurrentCapacity` over `MaxCapacity`, which share a unit
/// (mAh on older iOS, percent on newer). `CurrentCapacity` alone is a level only when its unit
/// is known, so without `MaxCapacity` the level is unknown.
fn iokit_level(smart: &Values) -> Option<u64> {
    let current = smart.unsigned("CurrentCapacity", MAX_MAH);
    let max = smart.unsigned("MaxCapacity", MAX_MAH);
    match (current, max) {
        (Some(c), Some(m)) if m > 0 && c <= m => Some((c * 100 + m / 2) / m),
        _ => None,
    }
}

/// The first of `keys` the phone sent, within `max`. A value at or below `floor` is passed over
/// for the next key (a percentage where mAh belongs); a value refused for its type or range is
/// not replaced by a later key: the fact is unknown.
fn first_within(
    keys: &[(&Values, &'static str)],
    max: u64,
    floor: Option<u64>,
) -> Option<(u32, &'static str)> {
    for (values, key) in keys {
        if !values.has(key) {
            continue;
        }
        match values.unsigned(key, max) {
            Some(v) if floor.is_some_and(|f| v <= f) => continue,
            Some(v) => return Some((v as u32, *key)),
            None => return None,
        }
    }
    None
}

impl BatteryHealth {
    fn read(smart: &Values) -> Self {
        // Newer iOS moves some values into a nested BatteryData dictionary: fall back to it.
        // Named after whichever entry answered (AppleSmartBattery, AppleARMPMUCharger, ...).
        let nested = smart.nested("BatteryData");
        let mah = Some(PERCENT_CEILING);
        let cycle_count = first_within(
            &[(smart, "CycleCount"), (&nested, "CycleCount")],
            MAX_CYCLES,
            None,
        )
        .map(|(v, _)| v);
        let design = first_within(
            &[(smart, "DesignCapacity"), (&nested, "DesignCapacity")],
            MAX_MAH,
            mah,
        )
        .map(|(v, _)| v);
        // AppleRawMaxCapacity is the mAh the battery holds today; MaxCapacity is a percentage on
        // modern iOS and is never used as mAh. iOS 27 keeps the mAh values only in BatteryData.
        let full = first_within(
            &[
                (smart, "AppleRawMaxCapacity"),
                (smart, "NominalChargeCapacity"),
                (&nested, "FullChargeCapacity"),
                (&nested, "NominalChargeCapacity"),
            ],
            MAX_MAH,
            mah,
        );
        let estimated_health_percent = match (full, design) {
            (Some((f, _)), Some(d)) if d > 0 => Some((f as f64 * 1000.0 / d as f64).round() / 10.0),
            _ => None,
        };
        BatteryHealth {
            cycle_count,
            design_capacity_mah: design,
            full_charge_capacity_mah: full.map(|(v, _)| v),
            full_charge_key: full.map(|(_, k)| k),
            estimated_health_percent,
            temperature_c: smart
                .integer("Temperature", CENTI_CELSIUS)
                .map(|c| c as f64 / 100.0),
            source: None,
            unknown_reason: None,
        }
    }
}

/// Why `health` has no estimate, or `None` when it has one. `asked` lists what a scan asks for.
pub(super) fn unknown_reason(
    health: &BatteryHealth,
    asked: impl FnOnce() -> String,
) -> Option<String> {
    if health.estimated_health_percent.is_some() {
        return None;
    }
    let Some(source) = &health.source else {
        return Some(format!(
            "the phone gave no battery entry in IORegistry (asked {})",
            asked()
        ));
    };
    let mut lacking = Vec::new();
    if health.full_charge_capacity_mah.is_none() {
        lacking.push("full-charge capacity in mAh (AppleRawMaxCapacity, NominalChargeCapacity or BatteryData FullChargeCapacity; MaxCapacity is a percentage)");
    }
    if health.design_capacity_mah.is_none() {
        lacking.push("DesignCapacity in mAh");
    }
    Some(format!("{source} has no {}", lacking.join(" and no ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::facts::read::{Refusal, Refusals};

    /// Reads the battery domain and AppleSmartBattery dictionaries (`None`: not captured).
    fn read(
        domain: Option<&plist::Dictionary>,
        smart: Option<&plist::Dictionary>,
    ) -> (Battery, Vec<Refusal>) {
        let r = Refusals::new();
        let b = Battery::read(
            &r.values("Domains/com.apple.mobile.battery", domain),
            &r.values("IORegistry/AppleSmartBattery", smart),
        );
        (b, r.into_vec())
    }

    fn dict(pairs: &[(&str, plist::Value)]) -> plist::Dictionary {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn health_from_raw_max_and_centi_celsius() {
        let smart = dict(&[
            ("AppleRawMaxCapacity", 2_600.into()),
            ("DesignCapacity", 3_227.into()),
            ("CycleCount", 512.into()),
            ("Temperature", 2_879.into()),
            ("MaxCapacity", 100.into()),
        ]);
        let (b, _) = read(None, Some(&smart));
        assert_eq!(b.health.estimated_health_percent, Some(80.6));
        assert_eq!(b.health.full_charge_key, Some("AppleRawMaxCapacity"));
        assert_eq!(b.health.temperature_c, Some(28.79));
        assert_eq!(b.health.cycle_count, Some(512));
    }

    #[test]
    fn falls_back_to_battery_data_and_to_iokit_charge_state() {
        let inner = dict(&[
            ("FullChargeCapacity", 3_000.into()),
            ("DesignCapacity", 4_000.into()),
        ]);
        let smart = dict(&[
            ("BatteryData", plist::Value::Dictionary(inner)),
            ("CurrentCapacity", 44.into()),
            ("MaxCapacity", 100.into()),
            ("IsCharging", true.into()),
        ]);
        let (b, _) = read(None, Some(&smart));
        assert_eq!(b.health.estimated_health_percent, Some(75.0));
        assert_eq!(b.level_percent, Some(44));
        assert_eq!(b.charging, Some(true));
        assert_eq!(b.external_power, None);
    }

    #[test]
    fn domain_wins_over_iokit() {
        let domain = dict(&[
            ("BatteryCurrentCapacity", 12.into()),
            ("ExternalConnected", false.into()),
        ]);
        let smart = dict(&[
            ("CurrentCapacity", 13.into()),
            ("ExternalConnected", true.into()),
        ]);
        let (b, _) = read(Some(&domain), Some(&smart));
        assert_eq!(b.level_percent, Some(12));
        assert_eq!(b.external_power, Some(false));
    }

    #[test]
    fn absurd_or_mistyped_values_are_refused_and_only_their_fact_is_unknown() {
        let domain = dict(&[
            ("BatteryCurrentCapacity", 250.into()),
            ("ExternalConnected", true.into()),
        ]);
        // IOKit's level does not stand in for a level the domain sent and we refused.
        let smart = dict(&[
            ("CurrentCapacity", 86.into()),
            ("Temperature", 20_000.into()),
        ]);
        let (b, refused) = read(Some(&domain), Some(&smart));
        assert_eq!(b.level_percent, None);
        assert_eq!(b.external_power, Some(true));
        assert_eq!(b.health.temperature_c, None);
        let keys: Vec<&str> = refused.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "Domains/com.apple.mobile.battery/BatteryCurrentCapacity",
                "IORegistry/AppleSmartBattery/Temperature"
            ]
        );
        assert_eq!(refused[0].value, "the integer 250");

        let domain = dict(&[("BatteryCurrentCapacity", "57".into())]);
        let (b, refused) = read(Some(&domain), None);
        assert_eq!(b.level_percent, None);
        assert_eq!(refused[0].value, "the string \"57\"");
        assert_eq!(refused[0].reason, "expected an integer from 0 to 100");
    }

    #[test]
    fn battery_data_of_another_type_is_refused_and_the_rest_read() {
        let smart = dict(&[
            ("BatteryData", "opaque".into()),
            ("AppleRawMaxCapacity", 2_600.into()),
            ("DesignCapacity", 3_227.into()),
            ("CycleCount", plist::Value::Real(12.5)),
        ]);
        let (b, refused) = read(None, Some(&smart));
        assert_eq!(b.health.estimated_health_percent, Some(80.6));
        assert_eq!(b.health.cycle_count, None);
        let keys: Vec<&str> = refused.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "IORegistry/AppleSmartBattery/BatteryData",
                "IORegistry/AppleSmartBattery/CycleCount"
            ]
        );
    }

    /// iOS 27 (as macOS 27): mAh only inside BatteryData, MaxCapacity and CurrentCapacity
    /// percentages. MaxCapacity 100 must never become 100 mAh.
    #[test]
    fn ios27_layout_reads_mah_from_battery_data_and_never_a_percentage() {
        let inner = dict(&[
            ("FullChargeCapacity", 2_790.into()),
            ("DesignCapacity", 3_274.into()),
        ]);
        let smart = dict(&[
            ("BatteryData", plist::Value::Dictionary(inner)),
            ("MaxCapacity", 100.into()),
            ("CurrentCapacity", 86.into()),
        ]);
        let b = read(None, Some(&smart)).0;
        assert_eq!(b.health.full_charge_capacity_mah, Some(2_790));
        assert_eq!(b.health.full_charge_key, Some("FullChargeCapacity"));
        assert_eq!(b.health.estimated_health_percent, Some(85.2));
        assert_eq!(b.level_percent, Some(86));

        // Only percentages: no capacity in mAh at all, so health is unknown, with a reason.
        let smart = dict(&[
            ("MaxCapacity", 100.into()),
            ("NominalChargeCapacity", 100.into()),
            ("DesignCapacity", 3_274.into()),
        ]);
        let mut b = read(None, Some(&smart)).0;
        assert_eq!(b.health.full_charge_capacity_mah, None);
        assert_eq!(b.health.estimated_health_percent, None);
        b.health.source = Some("AppleSmartBattery".into());
        let why = unknown_reason(&b.health, String::new).unwrap();
        assert!(
            why.starts_with("AppleSmartBattery has no a full-charge")
                || why.contains("full-charge capacity in mAh"),
            "{why}"
        );
    }

    /// CurrentCapacity is a level only against MaxCapacity in the same unit: mAh on older iOS.
    #[test]
    fn iokit_level_is_current_over_max_and_unknown_without_max() {
        let level = |pairs: &[(&str, plist::Value)]| {
            let smart = dict(pairs);
            read(None, Some(&smart)).0.level_percent
        };
        assert_eq!(
            level(&[
                ("CurrentCapacity", 1_200.into()),
                ("MaxCapacity", 1_600.into())
            ]),
            Some(75)
        );
        assert_eq!(level(&[("CurrentCapacity", 44.into())]), None);
        assert_eq!(level(&[("CurrentCapacity", 1_500.into())]), None);
        assert_eq!(
            level(&[("CurrentCapacity", 90.into()), ("MaxCapacity", 80.into())]),
            None
        );
    }

    #[test]
    fn no_entry_is_unknown_with_what_was_asked() {
        let b = read(None, None).0;
        let why = unknown_reason(&b.health, || {
            "AppleSmartBattery, class IOPMPowerSource".into()
        })
        .unwrap();
        assert!(why.contains("no battery entry"), "{why}");
        assert!(why.contains("class IOPMPowerSource"), "{why}");
    }
}
