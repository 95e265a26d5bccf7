//! Restart and iOS version.

use super::manual;
use crate::checklist::finding::{CheckId, Finding, Status};
use crate::checklist::thresholds::IosUpdateLimits;
use crate::facts::{Catalog, DeviceFacts};

const RESTART: &str = "Press and hold the side button and either volume button until the slider appears (side button alone on iPhone SE and 8), slide to power off, wait 30 seconds, then hold the side button until the Apple logo. Settings > General > Shut Down works too.";

pub(super) fn restart(_facts: &DeviceFacts) -> Finding {
    // Lockdown has no uptime, so a restart is the technician's to do and confirm.
    manual(
        CheckId::Restart,
        "restart the phone once; it clears a stuck upload more often than anything else",
        RESTART,
    )
}

pub(super) fn ios_update(facts: &DeviceFacts, limits: &IosUpdateLimits) -> Finding {
    let id = CheckId::IosUpdate;
    let sw = &facts.software;
    let look = "Settings > General > Software Update";
    let Some(installed) = sw.ios_version else {
        return manual(id, look, "Install the update offered in Settings > General > Software Update, on Wi-Fi and charging.");
    };
    let (Some(latest), Some(behind), Some(update)) =
        (sw.latest_ios, sw.majors_behind, sw.update_available)
    else {
        let model = facts.identity.product_type.as_deref().unwrap_or("unknown");
        return manual(id, look, "Install the update offered in Settings > General > Software Update, on Wi-Fi and charging.")
            .with("Lockdown ProductVersion", installed.to_string())
            .with("Lockdown ProductType", format!("{model} (not in the model table)"));
    };
    let remedy = format!(
        "Install iOS {latest} in Settings > General > Software Update, on Wi-Fi and charging; iCloud Photos fixes ship in iOS updates."
    );
    let table = format!(
        "newest for this model, per the model table of {}",
        Catalog::builtin().updated
    );
    let (status, summary, remedy) = if behind >= limits.fail_majors_behind {
        (
            Status::Fail,
            format!("iOS {installed} is {behind} major versions behind iOS {latest}, the newest this iPhone can run"),
            remedy,
        )
    } else if update {
        (
            Status::Warn,
            format!("iOS {latest} is available (installed {installed})"),
            remedy,
        )
    } else if installed > latest {
        (
            Status::Pass,
            format!("iOS {installed} is newer than the model table knows (iOS {latest})"),
            String::new(),
        )
    } else {
        (
            Status::Pass,
            format!("iOS {installed} is the newest this iPhone can run"),
            String::new(),
        )
    };
    let mut f = Finding::new(id, status, summary, remedy)
        .with("Lockdown ProductVersion", installed.to_string());
    if let Some(build) = &sw.build {
        f = f.with("Lockdown BuildVersion", build.clone());
    }
    f.with(table, latest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::checks::test_facts::unknown;
    use crate::facts::Software;

    fn run(product: &str, installed: &str) -> Finding {
        let mut facts = unknown();
        facts.identity.product_type = Some(product.into());
        facts.software = Software::derive(
            installed.parse().ok(),
            None,
            Some(product),
            Catalog::builtin(),
        );
        ios_update(&facts, &IosUpdateLimits::default())
    }

    fn newest(product: &str) -> crate::facts::IosVersion {
        let c = Catalog::builtin();
        c.latest_for(c.model(product).unwrap()).unwrap().latest
    }

    #[test]
    fn boundaries() {
        let top = newest("iPhone14,5");
        assert_eq!(run("iPhone14,5", &top.to_string()).status, Status::Pass);
        let same_major = format!("{}.0", top.major);
        if top.minor > 0 {
            assert_eq!(run("iPhone14,5", &same_major).status, Status::Warn);
        }
        // The table's majors, newest last: 18 then 26 is one release apart.
        let mut majors: Vec<u32> = Catalog::builtin()
            .releases
            .iter()
            .map(|r| r.major)
            .collect();
        majors.sort();
        let older = |n: usize| majors[majors.iter().position(|&m| m == top.major).unwrap() - n];
        let one_behind = format!("{}.9", older(1));
        assert_eq!(run("iPhone14,5", &one_behind).status, Status::Warn);
        let two_behind = format!("{}.9", older(2));
        let f = run("iPhone14,5", &two_behind);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.summary.contains("2 major versions behind"),
            "{}",
            f.summary
        );
    }

    #[test]
    fn newer_than_table_passes_and_unknown_model_is_manual() {
        let top = newest("iPhone14,5");
        let beyond = format!("{}.0", top.major + 1);
        assert_eq!(run("iPhone14,5", &beyond).status, Status::Pass);
        assert_eq!(run("iPhone99,1", "17.0").status, Status::Manual);
        assert_eq!(
            ios_update(&unknown(), &IosUpdateLimits::default()).status,
            Status::Manual
        );
    }

    #[test]
    fn restart_is_always_manual() {
        assert_eq!(restart(&unknown()).status, Status::Manual);
    }
}
