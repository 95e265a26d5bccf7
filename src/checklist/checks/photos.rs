//! The iCloud Photos engine's evidence: the `photos-upload` check, and the helpers other checks
//! use to consult the engine before asking the technician.

use chrono::{DateTime, Utc};

use super::manual;
use crate::checklist::finding::{CheckId, Finding, Status};
use crate::checklist::thresholds::PhotosUploadLimits;
use crate::facts::photos::{EngineStatus, FileState, LibraryFacts};
use crate::facts::DeviceFacts;
use crate::photos;
use crate::units;

/// An engine flag and the evidence line naming its file and key, when the phone reported it.
pub(super) fn engine_flag(
    facts: &DeviceFacts,
    key: &'static str,
    get: fn(&EngineStatus) -> Option<bool>,
) -> Option<(bool, String)> {
    let value = facts.photos.as_ref()?.engine.as_ref().and_then(get)?;
    Some((value, format!("{} {key}", photos::SYNC_STATUS)))
}

/// Evidence for state files the phone refused or that did not parse: why a step stayed manual.
pub(super) fn unknown_files(facts: &DeviceFacts, paths: &[&str], mut f: Finding) -> Finding {
    let Some(p) = &facts.photos else { return f };
    for path in paths {
        if let Some(state) = p.files.get(*path) {
            if !matches!(state, FileState::Present | FileState::NotFound) {
                f = f.with(*path, state.describe());
            }
        }
    }
    f
}

fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn photos_word(n: u64) -> String {
    if n == 1 {
        "1 photo".to_string()
    } else {
        format!("{n} photos")
    }
}

const STUCK: &str = "Open the Photos app and look at the bottom of Library for the upload status; keep the phone on Wi-Fi and charging overnight. If the count does not move, restart the phone; photos that keep failing may be damaged: find them in Photos > Albums > Utilities and export or delete them.";

pub(super) fn photos_upload(
    facts: &DeviceFacts,
    limits: &PhotosUploadLimits,
    now: DateTime<Utc>,
) -> Finding {
    let id = CheckId::PhotosUpload;
    let look = "the bottom of Library in the Photos app says how many items are uploading";
    let Some(p) = &facts.photos else {
        return manual(id, look, STUCK);
    };
    let counts = match &p.library {
        LibraryFacts::Read(c) => c,
        LibraryFacts::NotRead { reason } => {
            let summary = format!("{}; check on the phone: {look}", upper_first(reason));
            return Finding::new(id, Status::Manual, summary, STUCK)
                .with(photos::DATABASE, reason.clone());
        }
    };
    let mut evidence: Vec<(String, String)> = Vec::new();
    let mut note = |k: &str, v: String| evidence.push((format!("{} {k}", photos::DATABASE), v));
    if let Some(n) = counts.assets {
        note("assets in the main library", n.to_string());
    }
    if let Some(n) = counts.waiting {
        note("waiting to upload (ZCLOUDLOCALSTATE 0)", n.to_string());
    }
    if let Some(b) = counts.waiting_bytes {
        note("size waiting", units::bytes(b));
    }
    if let Some(n) = counts.waiting_with_failed_attempts {
        note(
            "waiting with failed attempts (ZUPLOADATTEMPTS)",
            n.to_string(),
        );
    }
    if let Some(n) = counts.failed {
        note("failed (ZCLOUDLOCALSTATE 2)", n.to_string());
    }
    if let Some(n) = counts.quarantined {
        note("quarantined (ZCLOUDLOCALSTATE 4)", n.to_string());
    }
    if let Some(t) = counts.last_upload_attempt {
        note("last upload attempt", date(t));
    }
    let last_sync = p.engine.as_ref().and_then(|e| e.last_sync);
    if let Some(t) = last_sync {
        evidence.push((format!("{} lastSyncDate", photos::SYNC_STATUS), date(t)));
    }
    let finish = |status: Status, summary: String| {
        let remedy = if status == Status::Pass { "" } else { STUCK };
        evidence
            .iter()
            .fold(Finding::new(id, status, summary, remedy), |f, (s, v)| {
                f.with(s.clone(), v.clone())
            })
    };

    let failed = counts.failed.unwrap_or(0);
    let quarantined = counts.quarantined.unwrap_or(0);
    let Some(waiting) = counts.waiting else {
        return finish(Status::Manual, format!("The library was read but its upload state is unknown on this iOS; check on the phone: {look}"));
    };
    let size = counts
        .waiting_bytes
        .map(|b| format!(" ({})", units::bytes(b)))
        .unwrap_or_default();
    let backlog = format!("{}{size} waiting to upload", photos_word(waiting));
    let oldest = counts
        .oldest_waiting_added
        .map(|t| format!(", the oldest added {}", t.format("%Y-%m-%d")))
        .unwrap_or_default();

    if p.enabled == Some(false) {
        return if waiting == 0 {
            finish(Status::Pass, "Nothing is waiting to upload".into())
        } else {
            finish(
                Status::Warn,
                format!("{backlog}{oldest}, but iCloud Photos is off, so none of them will"),
            )
        };
    }
    if failed + quarantined > 0 {
        let mut parts = Vec::new();
        if failed > 0 {
            parts.push(format!("{} failed to upload", photos_word(failed)));
        }
        if quarantined > 0 {
            parts.push(format!(
                "{} could not sync (quarantined)",
                photos_word(quarantined)
            ));
        }
        let also = if waiting > 0 {
            format!("; {backlog}")
        } else {
            String::new()
        };
        return finish(
            Status::Fail,
            format!("{}{also}", upper_first(&parts.join(" and "))),
        );
    }
    if waiting == 0 {
        return finish(Status::Pass, "Nothing is waiting to upload".into());
    }
    if let Some(n) = counts.waiting_with_failed_attempts.filter(|&n| n > 0) {
        return finish(
            Status::Fail,
            format!(
                "{backlog}{oldest}; {} already failed an attempt",
                photos_word(n)
            ),
        );
    }
    if let Some(t) = last_sync {
        let age = now - t;
        if age > chrono::Duration::days(limits.fail_after_days.into()) {
            return finish(
                Status::Fail,
                format!(
                    "{backlog}{oldest}, and the last sync was {} days ago",
                    age.num_days()
                ),
            );
        }
        if age <= chrono::Duration::hours(limits.recent_sync_hours.into())
            && waiting <= limits.small_backlog
        {
            return finish(
                Status::Pass,
                format!(
                    "{backlog}; the engine synced {} and is working through them",
                    date(t)
                ),
            );
        }
    }
    finish(Status::Warn, format!("{backlog}{oldest}"))
}

pub(super) fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::checks::test_facts::unknown;
    use crate::facts::photos::{LibraryCounts, PhotoSync};
    use std::collections::BTreeMap;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap()
    }

    fn facts(counts: LibraryCounts, last_sync_days_ago: Option<i64>) -> DeviceFacts {
        let mut f = unknown();
        f.photos = Some(PhotoSync {
            files: BTreeMap::new(),
            enabled: Some(true),
            enabled_by: None,
            enabled_since: None,
            initial_sync_done: Some(true),
            paused: Some(false),
            pause_reason: None,
            paused_until: None,
            engine: last_sync_days_ago.map(|d| EngineStatus {
                last_sync: Some(now() - chrono::Duration::days(d)),
                ..EngineStatus::default()
            }),
            optimize_storage: None,
            library: LibraryFacts::Read(counts),
        });
        f
    }

    fn status(counts: LibraryCounts, days: Option<i64>) -> Status {
        photos_upload(&facts(counts, days), &PhotosUploadLimits::default(), now()).status
    }

    fn waiting(n: u64) -> LibraryCounts {
        LibraryCounts {
            waiting: Some(n),
            waiting_bytes: Some(n * 3_000_000),
            failed: Some(0),
            quarantined: Some(0),
            waiting_with_failed_attempts: Some(0),
            ..LibraryCounts::default()
        }
    }

    #[test]
    fn nothing_waiting_passes() {
        assert_eq!(status(waiting(0), None), Status::Pass);
    }

    #[test]
    fn backlog_warns_and_a_small_one_with_a_recent_sync_passes() {
        assert_eq!(status(waiting(300), Some(0)), Status::Warn);
        assert_eq!(status(waiting(50), Some(0)), Status::Pass);
        assert_eq!(status(waiting(51), Some(0)), Status::Warn);
        assert_eq!(status(waiting(10), None), Status::Warn);
        assert_eq!(status(waiting(10), Some(2)), Status::Warn);
    }

    #[test]
    fn stale_sync_failed_attempts_and_failures_fail() {
        assert_eq!(status(waiting(10), Some(7)), Status::Warn);
        assert_eq!(status(waiting(10), Some(8)), Status::Fail);
        let with_failures = LibraryCounts {
            waiting_with_failed_attempts: Some(2),
            ..waiting(10)
        };
        assert_eq!(status(with_failures, Some(0)), Status::Fail);
        let failed = LibraryCounts {
            failed: Some(1),
            ..waiting(0)
        };
        assert_eq!(status(failed, None), Status::Fail);
        let quarantined = LibraryCounts {
            quarantined: Some(1),
            ..waiting(0)
        };
        assert_eq!(status(quarantined, None), Status::Fail);
    }

    #[test]
    fn summary_names_the_count_and_size() {
        let f = photos_upload(
            &facts(waiting(312), Some(0)),
            &PhotosUploadLimits::default(),
            now(),
        );
        assert!(
            f.summary
                .starts_with("312 photos (936 MB) waiting to upload"),
            "{}",
            f.summary
        );
        assert!(f
            .evidence
            .iter()
            .any(|e| e.source.contains("ZCLOUDLOCALSTATE 0")));
    }

    #[test]
    fn unread_library_is_manual_with_the_reason() {
        let mut f = facts(waiting(0), None);
        f.photos.as_mut().unwrap().library = LibraryFacts::NotRead {
            reason: "could not read the photo library: not a database".into(),
        };
        let finding = photos_upload(&f, &PhotosUploadLimits::default(), now());
        assert_eq!(finding.status, Status::Manual);
        assert!(
            finding
                .summary
                .starts_with("Could not read the photo library"),
            "{}",
            finding.summary
        );
        assert_eq!(
            photos_upload(&unknown(), &PhotosUploadLimits::default(), now()).status,
            Status::Manual
        );
    }
}
