use serde::Serialize;

use super::read::{first_present, Values};

/// Charge state from `com.apple.mobile.battery`, health from diagnostics_relay's AppleSmartBattery.
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
}

/// Ranges no real iPhone battery leaves; values beyond them are corrupt input.
const MAX_MAH: u64 = 20_000;
const MAX_CYCLES: u64 = 100_000;
const CENTI_CELSIUS: std::ops::RangeInclusive<i128> = -4_000..=10_000;

impl Battery {
    pub(super) fn read(domain: &Values, smart: &Values) -> Self {
        // The lockdown domain answers without diagnostics_relay; IORegistry fills what it lacks
        // (what it lacks, not what it sent in a form we refused).
        let level = first_present(
            &[
                (domain, "BatteryCurrentCapacity"),
                (smart, "CurrentCapacity"),
            ],
            |v, key| v.unsigned(key, 100),
        );
        let flag = |domain_key, iokit_key| {
            first_present(&[(domain, domain_key), (smart, iokit_key)], Values::boolean)
                .map(|(v, _)| v)
        };
        Battery {
            level_percent: level.map(|(l, _)| l as u8),
            charging: flag("BatteryIsCharging", "IsCharging"),
            external_power: flag("ExternalConnected", "ExternalConnected"),
            fully_charged: flag("FullyCharged", "FullyCharged"),
            health: BatteryHealth::read(smart),
        }
    }
}

impl BatteryHealth {
    fn read(smart: &Values) -> Self {
        // Newer iOS moves some values into a nested BatteryData dictionary: fall back to it.
        let nested = smart.nested("BatteryData");
        let first = |keys: &[(&Values, &'static str)], max: u64| {
            first_present(keys, |v, key| v.unsigned(key, max)).map(|(v, key)| (v as u32, key))
        };
        let cycle_count = first(
            &[(smart, "CycleCount"), (&nested, "CycleCount")],
            MAX_CYCLES,
        )
        .map(|(v, _)| v);
        let design = first(
            &[(smart, "DesignCapacity"), (&nested, "DesignCapacity")],
            MAX_MAH,
        )
        .map(|(v, _)| v);
        // AppleRawMaxCapacity is the mAh the battery holds today; MaxCapacity is a percentage on
        // modern iOS and is never used as mAh.
        let full = first(
            &[
                (smart, "AppleRawMaxCapacity"),
                (smart, "NominalChargeCapacity"),
                (&nested, "FullChargeCapacity"),
                (&nested, "NominalChargeCapacity"),
            ],
            MAX_MAH,
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
        }
    }
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
}
