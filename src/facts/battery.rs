use serde::Serialize;

use super::read::{FactError, Values};

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
    pub(super) fn read(domain: &Values, smart: &Values) -> Result<Self, FactError> {
        // The lockdown domain answers without diagnostics_relay; IORegistry fills what it lacks.
        let level = match domain.unsigned("BatteryCurrentCapacity", 100)? {
            Some(l) => Some(l),
            None => iokit_level(smart)?,
        };
        let either = |a: Option<bool>, key: &str| -> Result<Option<bool>, FactError> {
            Ok(match a {
                Some(v) => Some(v),
                None => smart.boolean(key)?,
            })
        };
        Ok(Battery {
            level_percent: level.map(|l| l as u8),
            charging: either(domain.boolean("BatteryIsCharging")?, "IsCharging")?,
            external_power: either(domain.boolean("ExternalConnected")?, "ExternalConnected")?,
            fully_charged: either(domain.boolean("FullyCharged")?, "FullyCharged")?,
            health: BatteryHealth::read(smart)?,
        })
    }
}

/// IOPMPowerSource's charge level: `CurrentCapacity` over `MaxCapacity`, which share a unit
/// (mAh on older iOS, percent on newer). `CurrentCapacity` alone is a level only when its unit
/// is known, so without `MaxCapacity` the level is unknown.
fn iokit_level(smart: &Values) -> Result<Option<u64>, FactError> {
    let current = smart.unsigned("CurrentCapacity", MAX_MAH)?;
    let max = smart.unsigned("MaxCapacity", MAX_MAH)?;
    Ok(match (current, max) {
        (Some(c), Some(m)) if m > 0 && c <= m => Some((c * 100 + m / 2) / m),
        _ => None,
    })
}

impl BatteryHealth {
    fn read(smart: &Values) -> Result<Self, FactError> {
        // Newer iOS moves some values into a nested BatteryData dictionary: fall back to it.
        // Named after whichever entry answered (AppleSmartBattery, AppleARMPMUCharger, ...).
        let nested_path = smart.key_path("BatteryData");
        let nested = smart.nested("BatteryData", &nested_path)?;
        // The first key present, within `max`; `floor` passes over values at or below it.
        let first = |keys: &[(&Values, &'static str)],
                     max: u64,
                     floor: Option<u64>|
         -> Result<Option<(u32, &'static str)>, FactError> {
            for (values, key) in keys {
                match values.unsigned(key, max)? {
                    Some(v) if floor.is_some_and(|f| v <= f) => continue,
                    Some(v) => return Ok(Some((v as u32, *key))),
                    None => {}
                }
            }
            Ok(None)
        };
        let mah = Some(PERCENT_CEILING);
        let cycle_count = first(
            &[(smart, "CycleCount"), (&nested, "CycleCount")],
            MAX_CYCLES,
            None,
        )?
        .map(|(v, _)| v);
        let design = first(
            &[(smart, "DesignCapacity"), (&nested, "DesignCapacity")],
            MAX_MAH,
            mah,
        )?
        .map(|(v, _)| v);
        // AppleRawMaxCapacity is the mAh the battery holds today; MaxCapacity is a percentage on
        // modern iOS and is never used as mAh. iOS 27 keeps the mAh values only in BatteryData.
        let full = first(
            &[
                (smart, "AppleRawMaxCapacity"),
                (smart, "NominalChargeCapacity"),
                (&nested, "FullChargeCapacity"),
                (&nested, "NominalChargeCapacity"),
            ],
            MAX_MAH,
            mah,
        )?;
        let estimated_health_percent = match (full, design) {
            (Some((f, _)), Some(d)) if d > 0 => Some((f as f64 * 1000.0 / d as f64).round() / 10.0),
            _ => None,
        };
        Ok(BatteryHealth {
            cycle_count,
            design_capacity_mah: design,
            full_charge_capacity_mah: full.map(|(v, _)| v),
            full_charge_key: full.map(|(_, k)| k),
            estimated_health_percent,
            temperature_c: smart
                .integer("Temperature", CENTI_CELSIUS)?
                .map(|c| c as f64 / 100.0),
            source: None,
            unknown_reason: None,
        })
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
        let b = Battery::read(&Values::new("d", None), &Values::new("s", Some(&smart))).unwrap();
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
        let b = Battery::read(&Values::new("d", None), &Values::new("s", Some(&smart))).unwrap();
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
        let b = Battery::read(
            &Values::new("d", Some(&domain)),
            &Values::new("s", Some(&smart)),
        )
        .unwrap();
        assert_eq!(b.level_percent, Some(12));
        assert_eq!(b.external_power, Some(false));
    }

    #[test]
    fn absurd_values_are_errors() {
        let domain = dict(&[("BatteryCurrentCapacity", 250.into())]);
        assert!(Battery::read(&Values::new("d", Some(&domain)), &Values::new("s", None)).is_err());
        let smart = dict(&[("Temperature", 20_000.into())]);
        assert!(Battery::read(&Values::new("d", None), &Values::new("s", Some(&smart))).is_err());
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
        let b = Battery::read(&Values::new("d", None), &Values::new("s", Some(&smart))).unwrap();
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
        let mut b =
            Battery::read(&Values::new("d", None), &Values::new("s", Some(&smart))).unwrap();
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
            Battery::read(&Values::new("d", None), &Values::new("s", Some(&smart)))
                .unwrap()
                .level_percent
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
        let b = Battery::read(&Values::new("d", None), &Values::new("s", None)).unwrap();
        let why = unknown_reason(&b.health, || {
            "AppleSmartBattery, class IOPMPowerSource".into()
        })
        .unwrap();
        assert!(why.contains("no battery entry"), "{why}");
        assert!(why.contains("class IOPMPowerSource"), "{why}");
    }
}
