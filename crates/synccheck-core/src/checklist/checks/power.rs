//! Power, Low Power Mode and battery health. Apple documents that iCloud Photos uploads mostly
//! while the phone charges on Wi-Fi, and pauses on a low battery and in Low Power Mode.

use super::manual;
use super::photos::{engine_flag, unknown_files};
use crate::checklist::finding::{CheckId, Finding, Status};
use crate::checklist::thresholds::{BatteryHealthLimits, PowerLimits};
use crate::facts::photos::keys;
use crate::facts::DeviceFacts;
use crate::photos;
use crate::units;

const PLUG_IN: &str = "Plug the phone into a charger and leave it on Wi-Fi (overnight for a large library): iCloud Photos uploads mostly while charging.";

pub(super) fn power(facts: &DeviceFacts, limits: &PowerLimits) -> Finding {
    let id = CheckId::Power;
    // The engine saying the battery is too low outranks our own reading of the level.
    if let Some((true, source)) = engine_flag(facts, keys::LOW_BATTERY, |e| e.low_battery) {
        let mut f = Finding::new(
            id,
            Status::Fail,
            "iCloud Photos has paused uploads for a low battery",
            PLUG_IN,
        )
        .with(source, "true");
        if let Some(l) = facts.battery.level_percent {
            f = f.with("battery.level_percent", l.to_string());
        }
        return f;
    }
    let b = &facts.battery;
    let Some(external) = b.external_power else {
        let mut f = manual(
            id,
            "the battery icon shows a lightning bolt while the phone charges",
            PLUG_IN,
        );
        if let Some(level) = b.level_percent {
            f = f.with("battery.level_percent", level.to_string());
        }
        return f;
    };
    let level = b.level_percent;
    let at = level.map(|l| format!(" at {l} %")).unwrap_or_default();
    let charging = b.charging == Some(true);
    let full = b.fully_charged == Some(true);
    let (status, summary) = if !external {
        match level {
            Some(l) if l < limits.fail_below_percent => (
                Status::Fail,
                format!("Battery{at} and not on power: iOS pauses uploads on a low battery"),
            ),
            _ => (
                Status::Warn,
                format!("Not on power (battery{at}): uploads mostly wait for a charger"),
            ),
        }
    } else if charging || full {
        (
            Status::Pass,
            format!(
                "On power and {}{at}",
                if full { "fully charged" } else { "charging" }
            ),
        )
    } else {
        (
            Status::Warn,
            format!("On power but not charging{at}: Optimised Battery Charging may be holding it, or the charger is too weak"),
        )
    };
    let mut f = Finding::new(
        id,
        status,
        summary,
        if status == Status::Pass { "" } else { PLUG_IN },
    )
    .with("battery.external_power", external.to_string());
    if let Some(l) = level {
        f = f.with("battery.level_percent", l.to_string());
    }
    if let Some(c) = b.charging {
        f = f.with("battery.charging", c.to_string());
    }
    if let Some(c) = b.fully_charged {
        f = f.with("battery.fully_charged", c.to_string());
    }
    f
}

const LOW_POWER_OFF: &str = "Turn off Settings > Battery > Low Power Mode (or tap its button in Control Centre): iOS pauses iCloud Photos uploads while it is on.";

pub(super) fn low_power(facts: &DeviceFacts, limits: &PowerLimits) -> Finding {
    let id = CheckId::LowPower;
    // No lockdown key reports Low Power Mode (none was found in any real dump); the engine does.
    match engine_flag(facts, keys::LOW_POWER_MODE, |e| e.blocked_by_low_power_mode) {
        Some((true, source)) => {
            return Finding::new(
                id,
                Status::Fail,
                "Low Power Mode is blocking iCloud Photos",
                LOW_POWER_OFF,
            )
            .with(source, "true");
        }
        Some((false, source)) => {
            return Finding::new(
                id,
                Status::Pass,
                "iCloud Photos is not blocked by Low Power Mode",
                "",
            )
            .with(source, "false");
        }
        None => {}
    }
    let mut f = manual(
        id,
        "a yellow battery icon means Low Power Mode is on; see Settings > Battery > Low Power Mode",
        LOW_POWER_OFF,
    );
    f = unknown_files(facts, &[photos::SYNC_STATUS], f);
    if let Some(level) = facts.battery.level_percent {
        let note = if level <= limits.fail_below_percent {
            format!("{level} (iOS offers Low Power Mode at this level)")
        } else {
            level.to_string()
        };
        f = f.with("battery.level_percent", note);
    }
    f
}

const BATTERY_SERVICE: &str = "Offer a battery service: a worn battery drains fast and drops the phone into Low Power Mode, which pauses uploads. Compare with Settings > Battery > Battery Health, which uses Apple's own formula.";

pub(super) fn battery_health(facts: &DeviceFacts, limits: &BatteryHealthLimits) -> Finding {
    let id = CheckId::BatteryHealth;
    let h = &facts.battery.health;
    let (Some(health), Some(full), Some(design)) = (
        h.estimated_health_percent,
        h.full_charge_capacity_mah,
        h.design_capacity_mah,
    ) else {
        let f = manual(
            id,
            "Settings > Battery > Battery Health (Battery Health & Charging on iOS 16 and 17) shows Maximum Capacity",
            BATTERY_SERVICE,
        );
        return match &h.unknown_reason {
            Some(why) => f.with("battery health unknown", why.clone()),
            None => f,
        };
    };
    let entry = h.source.as_deref().unwrap_or("AppleSmartBattery");
    let cycles = h
        .cycle_count
        .map(|c| format!(", {c} cycles"))
        .unwrap_or_default();
    let detail = format!("{full} of {design} mAh design{cycles}");
    let (status, summary) = if health < limits.fail_below_percent {
        (
            Status::Fail,
            format!(
                "Battery is worn out: estimated health {} ({detail})",
                units::percent(health)
            ),
        )
    } else if health < limits.warn_below_percent {
        (
            Status::Warn,
            format!(
                "Battery is worn: estimated health {} ({detail})",
                units::percent(health)
            ),
        )
    } else {
        (
            Status::Pass,
            format!("Estimated health {} ({detail})", units::percent(health)),
        )
    };
    let mut f = Finding::new(
        id,
        status,
        summary,
        if status == Status::Pass {
            ""
        } else {
            BATTERY_SERVICE
        },
    )
    .with(
        format!("{entry} {}", h.full_charge_key.unwrap_or("full charge")),
        full.to_string(),
    )
    .with(format!("{entry} DesignCapacity"), design.to_string());
    if let Some(c) = h.cycle_count {
        f = f.with(format!("{entry} CycleCount"), c.to_string());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::checks::test_facts::unknown;

    fn power_status(
        level: Option<u8>,
        external: Option<bool>,
        charging: Option<bool>,
        full: Option<bool>,
    ) -> Status {
        let mut facts = unknown();
        facts.battery.level_percent = level;
        facts.battery.external_power = external;
        facts.battery.charging = charging;
        facts.battery.fully_charged = full;
        power(&facts, &PowerLimits::default()).status
    }

    #[test]
    fn power_boundaries() {
        assert_eq!(
            power_status(Some(19), Some(false), Some(false), None),
            Status::Fail
        );
        assert_eq!(
            power_status(Some(20), Some(false), Some(false), None),
            Status::Warn
        );
        assert_eq!(power_status(None, Some(false), None, None), Status::Warn);
        assert_eq!(
            power_status(Some(5), Some(true), Some(true), None),
            Status::Pass
        );
        assert_eq!(
            power_status(Some(100), Some(true), Some(false), Some(true)),
            Status::Pass
        );
        assert_eq!(
            power_status(Some(80), Some(true), Some(false), Some(false)),
            Status::Warn
        );
        assert_eq!(power_status(Some(80), None, None, None), Status::Manual);
    }

    fn health_status(full: u32, design: u32) -> Status {
        let mut facts = unknown();
        let h = &mut facts.battery.health;
        h.full_charge_capacity_mah = Some(full);
        h.design_capacity_mah = Some(design);
        h.estimated_health_percent = Some((full as f64 * 1000.0 / design as f64).round() / 10.0);
        battery_health(&facts, &BatteryHealthLimits::default()).status
    }

    #[test]
    fn health_boundaries() {
        assert_eq!(health_status(800, 1000), Status::Pass);
        assert_eq!(health_status(799, 1000), Status::Warn);
        assert_eq!(health_status(600, 1000), Status::Warn);
        assert_eq!(health_status(599, 1000), Status::Fail);
        assert_eq!(
            battery_health(&unknown(), &BatteryHealthLimits::default()).status,
            Status::Manual
        );
    }

    #[test]
    fn low_power_is_manual_with_level_evidence() {
        let mut facts = unknown();
        facts.battery.level_percent = Some(15);
        let f = low_power(&facts, &PowerLimits::default());
        assert_eq!(f.status, Status::Manual);
        assert!(f.evidence[0].value.contains("offers Low Power Mode"));
    }
}
