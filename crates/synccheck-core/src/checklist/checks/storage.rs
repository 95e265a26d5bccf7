//! iPhone storage: iCloud Photos stops when the phone has no room to work in.

use super::manual;
use super::photos::engine_flag;
use crate::checklist::finding::{CheckId, Finding, Status};
use crate::checklist::thresholds::DeviceStorageLimits;
use crate::facts::photos::keys;
use crate::facts::DeviceFacts;
use crate::units;

const FREE_SPACE: &str = "Free space in Settings > General > iPhone Storage (offload unused apps, delete large videos and old message attachments), and turn on Settings > [your name] > iCloud > Photos > Optimize iPhone Storage.";

/// The lockdown figures decide, unless the engine reports low disk space, which is worse news
/// than any figure: then the worse of the two wins and both are shown.
pub(super) fn device_storage(facts: &DeviceFacts, limits: &DeviceStorageLimits) -> Finding {
    let from_lockdown = from_disk_usage(facts, limits);
    let very_low = engine_flag(facts, keys::VERY_LOW_DISK, |e| e.very_low_disk_space);
    let low = engine_flag(facts, keys::LOW_DISK, |e| e.low_disk_space);
    let (status, summary, source) = match (very_low, low) {
        (Some((true, s)), _) => (
            Status::Fail,
            "iCloud Photos reports very low disk space and has stopped",
            s,
        ),
        (_, Some((true, s))) => (Status::Warn, "iCloud Photos reports low disk space", s),
        _ => return from_lockdown,
    };
    let mut f = if status > from_lockdown.status || from_lockdown.status == Status::Manual {
        let mut f = Finding::new(CheckId::DeviceStorage, status, summary, FREE_SPACE);
        f.evidence = from_lockdown.evidence;
        f
    } else {
        from_lockdown
    };
    f.evidence
        .push(crate::checklist::Evidence::new(source, "true"));
    f
}

fn from_disk_usage(facts: &DeviceFacts, limits: &DeviceStorageLimits) -> Finding {
    let id = CheckId::DeviceStorage;
    let s = &facts.storage;
    let (Some(free), Some(key)) = (s.free_bytes, s.free_key) else {
        // Absent or refused: a refused figure is quoted in the evidence by the caller.
        let why = if facts.refused_values.iter().any(|r| {
            r.key
                .starts_with(&format!("Domains/{}/", crate::snapshot::DISK_USAGE_DOMAIN))
        }) {
            "the phone's free-space figure was refused"
        } else {
            "the snapshot has no free-space figure from com.apple.disk_usage"
        };
        return manual(
            id,
            &format!("Settings > General > iPhone Storage shows how much is free ({why})"),
            FREE_SPACE,
        );
    };
    let capacity = s.data_capacity_bytes.filter(|&c| c > 0);
    let share = capacity.map(|c| free as f64 * 100.0 / c as f64);
    let fail_at = capacity
        .map(|c| (c as f64 * limits.fail_below_percent / 100.0) as u64)
        .unwrap_or(0)
        .max(limits.fail_below_bytes);
    let warn = share.is_some_and(|p| p < limits.warn_below_percent);

    let of = match (capacity, share) {
        (Some(c), Some(p)) => format!(" of {} ({})", units::bytes(c), units::percent(p)),
        _ => String::new(),
    };
    let (status, summary) = if free < fail_at {
        (
            Status::Fail,
            format!("iPhone storage is full: {} free{of}", units::bytes(free)),
        )
    } else if warn {
        (
            Status::Warn,
            format!(
                "iPhone storage is nearly full: {} free{of}",
                units::bytes(free)
            ),
        )
    } else {
        (Status::Pass, format!("{} free{of}", units::bytes(free)))
    };
    let mut f = Finding::new(
        id,
        status,
        summary,
        if status == Status::Pass {
            ""
        } else {
            FREE_SPACE
        },
    )
    .with(format!("com.apple.disk_usage {key}"), free.to_string());
    if let Some(c) = capacity {
        f = f.with("com.apple.disk_usage TotalDataCapacity", c.to_string());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::checks::test_facts::unknown;

    fn run(free: u64, capacity: Option<u64>) -> Status {
        let mut facts = unknown();
        facts.storage.free_bytes = Some(free);
        facts.storage.free_key = Some("AmountDataAvailable");
        facts.storage.data_capacity_bytes = capacity;
        device_storage(&facts, &DeviceStorageLimits::default()).status
    }

    #[test]
    fn boundaries_on_a_small_phone() {
        // 10 GB capacity: 5 % is 0.5 GB, so the 1 GB floor decides the fail line.
        let cap = Some(10_000_000_000);
        assert_eq!(run(999_999_999, cap), Status::Fail);
        assert_eq!(run(1_000_000_000, cap), Status::Pass);
    }

    #[test]
    fn boundaries_on_a_large_phone() {
        // 100 GB capacity: fail below 5 GB, warn below 10 GB.
        let cap = Some(100_000_000_000);
        assert_eq!(run(4_999_999_999, cap), Status::Fail);
        assert_eq!(run(5_000_000_000, cap), Status::Warn);
        assert_eq!(run(9_999_999_999, cap), Status::Warn);
        assert_eq!(run(10_000_000_000, cap), Status::Pass);
    }

    #[test]
    fn unknown_capacity_uses_the_floor_only_and_unknown_free_is_manual() {
        assert_eq!(run(500_000_000, None), Status::Fail);
        assert_eq!(run(2_000_000_000, None), Status::Pass);
        assert_eq!(
            device_storage(&unknown(), &DeviceStorageLimits::default()).status,
            Status::Manual
        );
    }

    #[test]
    fn evidence_names_the_key() {
        let mut facts = unknown();
        facts.storage.free_bytes = Some(3);
        facts.storage.free_key = Some("TotalDataAvailable");
        let f = device_storage(&facts, &DeviceStorageLimits::default());
        assert_eq!(
            f.evidence[0].source,
            "com.apple.disk_usage TotalDataAvailable"
        );
        assert!(f.remedy.contains("Optimize iPhone Storage"));
    }
}
