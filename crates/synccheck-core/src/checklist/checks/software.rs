//! Restart and iOS version.

use super::manual;
use crate::checklist::finding::{CheckId, Finding, Status};
use crate::checklist::thresholds::IosUpdateLimits;
use crate::facts::DeviceFacts;

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
    let install = "Install the update offered in Settings > General > Software Update, on Wi-Fi and charging.";
    // The model table travels with the facts: the check judges with the table the facts were
    // derived with, and says which one.
    let table = match sw.model_table_updated {
        Some(day) => format!("the model table of {day}"),
        None => "the model table".to_string(),
    };
    let Some(installed) = sw.ios_version else {
        return manual(id, look, install);
    };
    let (Some(latest), Some(behind), Some(update)) =
        (sw.latest_ios, sw.majors_behind, sw.update_available)
    else {
        let model = facts.identity.product_type.as_deref().unwrap_or("unknown");
        let mut f = manual(id, look, install)
            .with("Lockdown ProductVersion", installed.to_string())
            .with("Lockdown ProductType", model.to_string());
        if let Some(latest) = sw.latest_ios {
            f = f.with(
                format!("newest for this model, per {table}"),
                latest.to_string(),
            );
        }
        if let Some(why) = &sw.update_unknown_reason {
            f = f.with("why synccheck cannot judge", why.clone());
        }
        return f;
    };
    let remedy = format!(
        "Install iOS {latest} in Settings > General > Software Update, on Wi-Fi and charging; iCloud Photos fixes ship in iOS updates."
    );
    let stale = sw.model_table_stale == Some(true);
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
    } else if stale {
        // A table over a year older than the scan may miss a newer release: "up to date"
        // would be a guess.
        (
            Status::Manual,
            format!("iOS {installed} is the newest {table} knows, but that table was over a year old when the phone was read: check {look}"),
            install.to_string(),
        )
    } else if installed > latest {
        (
            Status::Pass,
            format!("iOS {installed} is newer than {table} knows (iOS {latest})"),
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
    f = f.with(
        format!("newest for this model, per {table}"),
        latest.to_string(),
    );
    if stale {
        f = f.with(
            "model table age",
            "over a year old when the phone was read: newer iOS releases may be missing",
        );
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::checks::test_facts::unknown;
    use crate::facts::{Catalog, Software};

    fn run(product: &str, installed: &str) -> Finding {
        let mut facts = unknown();
        facts.identity.product_type = Some(product.into());
        facts.software = Software::derive(
            installed.parse().ok(),
            None,
            Some(product),
            Catalog::builtin(),
            None,
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
    fn old_phones_on_old_ios_fail_by_majors_apple_released() {
        // iPhone 6s Plus on 13.7: 14 and 15 came out since. iPhone 8 on 12.4: 13, 14, 15, 16.
        let f = run("iPhone8,2", "13.7");
        assert_eq!(f.status, Status::Fail, "{}", f.summary);
        assert!(
            f.summary.contains("2 major versions behind"),
            "{}",
            f.summary
        );
        let f = run("iPhone10,1", "12.4");
        assert_eq!(f.status, Status::Fail, "{}", f.summary);
        assert!(
            f.summary.contains("4 major versions behind"),
            "{}",
            f.summary
        );
        // iPhone XS on 17.6: only 18 came out since, and 18 is its last.
        let f = run("iPhone11,2", "17.6");
        assert_eq!(f.status, Status::Warn, "{}", f.summary);
    }

    #[test]
    fn versions_the_table_cannot_place_are_manual_with_the_reason() {
        let top = newest("iPhone14,5");
        let beyond = format!("{}.0", Catalog::builtin().newest_major() + 1);
        for (product, version) in [
            ("iPhone14,5", beyond.as_str()),
            ("iPhone14,5", "20.1"),
            ("iPhone8,1", "8.4"),
            ("iPhone8,1", "16.0"),
        ] {
            let f = run(product, version);
            assert_eq!(f.status, Status::Manual, "{product} on {version}");
            assert!(
                f.evidence
                    .iter()
                    .any(|e| e.source == "why synccheck cannot judge"),
                "{product} on {version}: {:?}",
                f.evidence
            );
        }
        // Newer within the newest major the table knows is still a pass.
        let newer_patch = format!("{}.{}.{}", top.major, top.minor, top.patch + 1);
        assert_eq!(run("iPhone14,5", &newer_patch).status, Status::Pass);
        assert_eq!(run("iPhone99,1", "17.0").status, Status::Manual);
        assert_eq!(
            ios_update(&unknown(), &IosUpdateLimits::default()).status,
            Status::Manual
        );
    }

    /// The check reads the table's date from the facts, not from a global table.
    #[test]
    fn the_table_comes_with_the_facts() {
        let other = Catalog::parse(
            "updated = \"2030-01-02\"\n[majors]\nfirst = 9\nskipped = [{ from = 19, to = 25 }]\n\
             [[ios]]\nmajor = 15\nlatest = \"15.8.8\"\n\
             [[model]]\nproduct_types = [\"iPhone8,1\"]\nname = \"iPhone 6s\"\nmax_ios_major = 15\n",
        )
        .unwrap();
        let mut facts = unknown();
        facts.identity.product_type = Some("iPhone8,1".into());
        facts.software =
            Software::derive("15.8.8".parse().ok(), None, Some("iPhone8,1"), &other, None);
        let f = ios_update(&facts, &IosUpdateLimits::default());
        assert_eq!(f.status, Status::Pass);
        assert!(
            f.evidence
                .iter()
                .any(|e| e.source.contains("model table of 2030-01-02")),
            "{:?}",
            f.evidence
        );
    }

    #[test]
    fn a_table_stale_at_capture_never_says_up_to_date() {
        let c = Catalog::builtin();
        let stale_day = Some(c.updated + chrono::Days::new(400));
        let judge = |installed: &str| {
            let mut facts = unknown();
            facts.identity.product_type = Some("iPhone14,5".into());
            facts.software = Software::derive(
                installed.parse().ok(),
                None,
                Some("iPhone14,5"),
                c,
                stale_day,
            );
            ios_update(&facts, &IosUpdateLimits::default())
        };
        let f = judge(&newest("iPhone14,5").to_string());
        assert_eq!(f.status, Status::Manual, "{}", f.summary);
        assert!(f.summary.contains("over a year old"), "{}", f.summary);
        // Behind by the stale table is behind at least that much: still a fail.
        assert_eq!(judge("16.0").status, Status::Fail);
    }

    #[test]
    fn restart_is_always_manual() {
        assert_eq!(restart(&unknown()).status, Status::Manual);
    }
}
