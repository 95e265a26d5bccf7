//! What the iCloud Photos engine's status file adds to steps decided elsewhere: the server's
//! "this iOS is too old" for `ios-update`, and what iCloud holds and whether sync is held by a
//! snapshot for `photos-upload`. Kept apart from those checks' own rules, which stand as they
//! are; this only adds the engine's word (and, for "too old", the verdict it forces).

use super::photos::engine_flag;
use crate::checklist::finding::{CheckId, Finding, Status};
use crate::facts::photos::{keys, EngineStatus, LibraryFacts};
use crate::facts::DeviceFacts;
use crate::photos;
use crate::units::thousands;

fn source(key: &str) -> String {
    format!("{} {key}", photos::SYNC_STATUS)
}

fn engine(facts: &DeviceFacts) -> Option<&EngineStatus> {
    facts.photos.as_ref()?.engine.as_ref()
}

/// Adds "unknown: found X, expected Y" for each of `keys` the engine's file held in a form we
/// do not read: the reason a fact stayed unknown.
pub(super) fn refused(facts: &DeviceFacts, keys: &[&str], mut f: Finding) -> Finding {
    let Some(e) = engine(facts) else { return f };
    for r in &e.refused {
        let Some(key) = crate::facts::photos::status_key(&r.key) else {
            continue;
        };
        let base = key.split('/').next().unwrap_or_default();
        if keys.contains(&base) {
            f = f.with(
                source(key),
                format!("unknown: found {}, {}", r.value, r.reason),
            );
        }
    }
    f
}

const NO_NEWER_IOS: &str = "This iPhone cannot run a newer iOS, so it cannot sync this iCloud Photos library any more: copy the photos waiting on it to a computer (or AirDrop them to a newer device) so none are lost, and use iCloud.com or a newer device for the library.";

/// `ios-update`: the iCloud Photos server told the engine this iOS is too old for the library.
/// Whatever the model table says, that stops iCloud Photos, so the step fails; the remedy
/// depends on whether this iPhone can run anything newer.
pub(super) fn ios_too_old(facts: &DeviceFacts, f: Finding) -> Finding {
    let f = refused(facts, &[keys::CLIENT_TOO_OLD], f);
    let Some((true, evidence)) =
        engine_flag(facts, keys::CLIENT_TOO_OLD, |e| e.client_version_too_old)
    else {
        return f;
    };
    let sw = &facts.software;
    let installed = sw
        .ios_version
        .map(|v| format!("iOS {v}"))
        .unwrap_or_else(|| "this iOS".to_string());
    let (summary, remedy) = match (sw.update_available, sw.latest_ios) {
        (Some(true), Some(latest)) => (
            format!("iCloud Photos reports {installed} is too old for this iCloud library; iOS {latest} is available"),
            format!("Install iOS {latest} in Settings > General > Software Update, on Wi-Fi and charging; iCloud Photos syncs again once the phone runs it."),
        ),
        (Some(false), _) => (
            format!("iCloud Photos reports {installed} is too old for this iCloud library, and it is the newest this iPhone can run"),
            NO_NEWER_IOS.to_string(),
        ),
        _ => (
            format!("iCloud Photos reports {installed} is too old for this iCloud library"),
            format!("Install the newest iOS offered in Settings > General > Software Update, on Wi-Fi and charging. If none is offered: {NO_NEWER_IOS}"),
        ),
    };
    let mut out = Finding::new(CheckId::IosUpdate, Status::Fail, summary, remedy);
    out.evidence = f.evidence;
    out.with(evidence, "true")
}

/// `photos-upload`: evidence only. What iCloud holds beside what the phone holds, and a sync
/// held by a snapshot, are the engine's word with no verified meaning for the verdict (what the
/// server counts, and what a "snapshot" is, are not public), so they explain and never decide.
pub(super) fn upload_evidence(facts: &DeviceFacts, f: Finding) -> Finding {
    let mut f = refused(
        facts,
        &[
            keys::BUSY_STATE,
            keys::BLOCKED_BY_SNAPSHOT,
            keys::CLOUD_ASSET_COUNTS,
            keys::CLOUD_ASSET_COUNTS_CHECKED,
        ],
        f,
    );
    let Some(e) = engine(facts) else { return f };
    if e.blocked_by_snapshot == Some(true) {
        let (key, value) = match e.busy_state {
            Some(state) => (keys::BUSY_STATE, state.to_string()),
            None => (keys::BLOCKED_BY_SNAPSHOT, "true".to_string()),
        };
        f = f.with(
            source(key),
            format!("{value} (blocked by snapshot: the engine holds sync while it captures one)"),
        );
    }
    let (Some(counts), Some(total)) = (&e.cloud_asset_counts, e.cloud_asset_total()) else {
        return f;
    };
    let per_type: Vec<String> = counts
        .iter()
        .map(|(kind, n)| format!("{kind} {}", thousands(*n)))
        .collect();
    let checked = e
        .cloud_asset_counts_checked
        .map(|t| format!(", as of {}", t.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    f = f.with(
        source(keys::CLOUD_ASSET_COUNTS),
        format!(
            "{} in iCloud ({}){checked}",
            thousands(total),
            per_type.join(", ")
        ),
    );
    let local = match facts.photos.as_ref().map(|p| &p.library) {
        Some(LibraryFacts::Read(c)) => c.assets,
        _ => None,
    };
    if let Some(local) = local {
        let gap = match local.cmp(&total) {
            std::cmp::Ordering::Greater => {
                format!(" ({} more on the phone)", thousands(local - total))
            }
            std::cmp::Ordering::Less => format!(" ({} more in iCloud)", thousands(total - local)),
            std::cmp::Ordering::Equal => " (the same)".to_string(),
        };
        f = f.with(
            "iCloud against this iPhone",
            format!(
                "{} in iCloud, {} in this iPhone's library{gap}; the two may count shared and hidden items differently",
                thousands(total),
                thousands(local)
            ),
        );
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::checks::test_facts::{syncing, unknown};
    use crate::facts::photos::LibraryCounts;
    use crate::facts::Software;

    fn with_engine(engine: EngineStatus, assets: Option<u64>) -> DeviceFacts {
        let library = LibraryFacts::Read(LibraryCounts {
            assets,
            ..LibraryCounts::default()
        });
        syncing(Some(engine), library)
    }

    fn too_old() -> EngineStatus {
        EngineStatus {
            client_version_too_old: Some(true),
            ..EngineStatus::default()
        }
    }

    fn passed() -> Finding {
        Finding::new(CheckId::IosUpdate, Status::Pass, "fine", "")
            .with("Lockdown ProductVersion", "15.8")
    }

    #[test]
    fn too_old_fails_the_update_step_with_the_remedy_the_model_allows() {
        let mut facts = with_engine(too_old(), None);
        facts.software = Software {
            ios_version: "15.8".parse().ok(),
            latest_ios: "15.8".parse().ok(),
            update_available: Some(false),
            ..Software::default()
        };
        let f = ios_too_old(&facts, passed());
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.summary.contains("newest this iPhone can run"),
            "{}",
            f.summary
        );
        assert!(f.remedy.contains("cannot sync"), "{}", f.remedy);
        assert_eq!(f.evidence.len(), 2, "the step's own evidence is kept");

        facts.software.latest_ios = "16.7".parse().ok();
        facts.software.update_available = Some(true);
        let f = ios_too_old(&facts, passed());
        assert_eq!(f.status, Status::Fail);
        assert!(f.remedy.starts_with("Install iOS 16.7"), "{}", f.remedy);

        facts.software = Software::default();
        let f = ios_too_old(&facts, passed());
        assert_eq!(f.status, Status::Fail);
        assert!(f.summary.contains("this iOS is too old"), "{}", f.summary);
    }

    #[test]
    fn not_too_old_or_unknown_leaves_the_step_as_decided() {
        let facts = with_engine(
            EngineStatus {
                client_version_too_old: Some(false),
                ..EngineStatus::default()
            },
            None,
        );
        assert_eq!(ios_too_old(&facts, passed()), passed());
        assert_eq!(ios_too_old(&unknown(), passed()), passed());
    }

    #[test]
    fn cloud_counts_and_a_snapshot_block_are_evidence_only() {
        let engine = EngineStatus {
            busy_state: Some(2),
            blocked_by_snapshot: Some(true),
            cloud_asset_counts: Some(
                [
                    ("public.image".to_string(), 7900),
                    ("public.movie".to_string(), 310),
                ]
                .into_iter()
                .collect(),
            ),
            ..EngineStatus::default()
        };
        let facts = with_engine(engine, Some(8421));
        let before = Finding::new(CheckId::PhotosUpload, Status::Warn, "waiting", "do");
        let f = upload_evidence(&facts, before.clone());
        assert_eq!((f.status, &f.summary), (before.status, &before.summary));
        let lines: Vec<String> = f
            .evidence
            .iter()
            .map(|e| format!("{}: {}", e.source, e.value))
            .collect();
        assert!(
            lines[0].contains("busyState: 2 (blocked by snapshot"),
            "{lines:?}"
        );
        assert!(
            lines[1].ends_with("8,210 in iCloud (public.image 7,900, public.movie 310)"),
            "{lines:?}"
        );
        assert!(lines[2].contains("(211 more on the phone)"), "{lines:?}");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
