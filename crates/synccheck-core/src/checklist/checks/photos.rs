//! The iCloud Photos engine's evidence: the `photos-upload` check, and the helpers other checks
//! use to consult the engine before asking the technician.

use chrono::{DateTime, Utc};

use super::manual;
use crate::checklist::finding::{CheckId, Finding, Status};
use crate::checklist::thresholds::PhotosUploadLimits;
use crate::checklist::EarlierScan;
use crate::facts::photos::{EngineStatus, FileState, LibraryCounts, LibraryFacts};
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

const STUCK: &str = "The bottom of Photos > Library shows the upload status; keep the phone on Wi-Fi and charging overnight. If the count does not move, restart the phone; photos that keep failing may be damaged (Photos > Albums > Utilities): export or delete them.";

/// How the waiting count moved since an earlier scan of the same phone.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Since {
    /// Fewer waiting, and (where the totals are known) more uploaded: the engine is uploading.
    /// Shown at any gap: a replug minutes later can see uploads moving.
    Moving,
    /// No fewer waiting, or fewer only because photos were deleted. (Waiting and uploaded both
    /// rising, new photos taken while others upload, is counted here too: a photo synced down
    /// from another device also adds to "uploaded", so only a falling waiting count is proof.)
    Still,
    /// Not moving, but the earlier scan is too recent to say so: one large video can take an
    /// engine many minutes, so a count that stood still for one minute proves nothing.
    TooSoon(chrono::Duration),
}

/// Compares with `earlier` when it is the same kind of count from within the window in which a
/// sync counts as recent; a scan from last week says nothing about uploads now.
fn since(
    earlier: &EarlierScan,
    counts: &LibraryCounts,
    limits: &PhotosUploadLimits,
    now: DateTime<Utc>,
) -> Option<Since> {
    let apart = now - earlier.at;
    if apart <= chrono::Duration::zero()
        || apart > chrono::Duration::hours(limits.recent_sync_hours.into())
    {
        return None;
    }
    let waiting = counts.waiting?;
    let uploaded_more = match (earlier.assets, counts.assets) {
        (Some(then), Some(total)) => {
            total.saturating_sub(waiting) > then.saturating_sub(earlier.waiting)
        }
        _ => true,
    };
    Some(if waiting < earlier.waiting && uploaded_more {
        Since::Moving
    } else if apart < chrono::Duration::minutes(limits.no_progress_after_minutes.into()) {
        Since::TooSoon(apart)
    } else {
        Since::Still
    })
}

/// "1 minute ago", "12 minutes ago", "less than a minute ago".
fn ago(apart: chrono::Duration) -> String {
    match apart.num_minutes() {
        0 => "less than a minute ago".to_string(),
        1 => "1 minute ago".to_string(),
        n => format!("{n} minutes ago"),
    }
}

pub(super) fn photos_upload(
    facts: &DeviceFacts,
    earlier: Option<&EarlierScan>,
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
        LibraryFacts::NotRecognised { missing, .. } => {
            return not_recognised(facts, missing, look);
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
    let progress = earlier.and_then(|e| Some((e, since(e, counts, limits, now)?)));
    if let Some((e, _)) = progress {
        evidence.push((
            format!("{} at {}", e.label, date(e.at)),
            format!("{} waiting to upload", e.waiting),
        ));
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
    let sync_age = last_sync.map(|t| now - t);
    let stale = sync_age.filter(|&age| age > chrono::Duration::days(limits.fail_after_days.into()));
    // Two counts apart in time outweigh the engine's last-sync date: the count fell, so it is
    // uploading, whatever the date says.
    let mut too_soon = None;
    match progress {
        Some((e, Since::Moving)) => {
            return finish(
                Status::Pass,
                format!(
                    "{backlog}, down from {} at {} ({}): uploads are moving",
                    e.waiting,
                    date(e.at),
                    e.label
                ),
            )
        }
        Some((e, Since::Still)) => {
            let still = format!(
                "{backlog}{oldest}; no upload progress since {} ({})",
                date(e.at),
                e.label
            );
            let status = if stale.is_some() {
                Status::Fail
            } else {
                Status::Warn
            };
            return finish(status, still);
        }
        // Judged as without the earlier scan, saying why it was not used.
        Some((e, Since::TooSoon(apart))) => {
            too_soon = Some(format!(
                "; the last scan ({}) was {}: too soon to judge upload progress",
                e.label,
                ago(apart)
            ))
        }
        None => {}
    }
    let too_soon = too_soon.unwrap_or_default();
    if let Some(age) = stale {
        return finish(
            Status::Fail,
            format!(
                "{backlog}{oldest}, and the last sync was {} days ago{too_soon}",
                age.num_days()
            ),
        );
    }
    if let (Some(t), Some(age)) = (last_sync, sync_age) {
        if age <= chrono::Duration::hours(limits.recent_sync_hours.into())
            && waiting <= limits.small_backlog
        {
            return finish(
                Status::Pass,
                format!(
                    "{backlog}; the engine synced {} and is working through them{too_soon}",
                    date(t)
                ),
            );
        }
    }
    finish(Status::Warn, format!("{backlog}{oldest}{too_soon}"))
}

/// One clear finding for a library in a format we do not know, naming the iOS it came from.
fn not_recognised(facts: &DeviceFacts, missing: &[String], look: &str) -> Finding {
    let ios = facts
        .software
        .ios_version
        .map(|v| format!("iOS {v}"))
        .unwrap_or_else(|| "iOS version unknown".into());
    let summary =
        format!("Photo library format not recognised ({ios}); check on the phone: {look}");
    Finding::new(CheckId::PhotosUpload, Status::Manual, summary, STUCK).with(
        photos::DATABASE,
        format!("format not recognised: no {}", missing.join(", no ")),
    )
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
    use crate::checklist::checks::test_facts::{syncing, unknown};
    use crate::facts::photos::LibraryCounts;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap()
    }

    fn facts(counts: LibraryCounts, last_sync_days_ago: Option<i64>) -> DeviceFacts {
        let engine = last_sync_days_ago.map(|d| EngineStatus {
            last_sync: Some(now() - chrono::Duration::days(d)),
            ..EngineStatus::default()
        });
        syncing(engine, LibraryFacts::Read(counts))
    }

    fn status(counts: LibraryCounts, days: Option<i64>) -> Status {
        photos_upload(
            &facts(counts, days),
            None,
            &PhotosUploadLimits::default(),
            now(),
        )
        .status
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
            None,
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

    fn earlier(hours_ago: i64, waiting: u64, assets: Option<u64>) -> EarlierScan {
        earlier_by(chrono::Duration::hours(hours_ago), waiting, assets)
    }

    fn earlier_by(ago: chrono::Duration, waiting: u64, assets: Option<u64>) -> EarlierScan {
        EarlierScan {
            label: "history #3".into(),
            at: now() - ago,
            waiting,
            assets,
        }
    }

    fn since_earlier(now_counts: LibraryCounts, days: Option<i64>, e: &EarlierScan) -> Finding {
        photos_upload(
            &facts(now_counts, days),
            Some(e),
            &PhotosUploadLimits::default(),
            now(),
        )
    }

    fn of(waiting_now: u64, assets: u64) -> LibraryCounts {
        LibraryCounts {
            assets: Some(assets),
            ..waiting(waiting_now)
        }
    }

    #[test]
    fn a_count_that_fell_since_the_last_scan_passes_even_with_a_stale_sync_date() {
        let e = earlier(2, 1204, Some(6130));
        let f = since_earlier(of(1100, 6130), Some(30), &e);
        assert_eq!(f.status, Status::Pass, "{}", f.summary);
        assert!(
            f.summary.ends_with(
                "down from 1204 at 2026-11-18 09:06 UTC (history #3): uploads are moving"
            ),
            "{}",
            f.summary
        );
        assert!(f
            .evidence
            .iter()
            .any(|ev| ev.source == "history #3 at 2026-11-18 09:06 UTC"
                && ev.value == "1204 waiting to upload"));
    }

    #[test]
    fn a_count_that_fell_because_photos_were_deleted_is_not_progress() {
        // 104 fewer waiting, and 104 fewer photos: nothing more was uploaded.
        let f = since_earlier(of(1100, 6026), Some(0), &earlier(2, 1204, Some(6130)));
        assert_eq!(f.status, Status::Warn);
        assert!(
            f.summary
                .ends_with("no upload progress since 2026-11-18 09:06 UTC (history #3)"),
            "{}",
            f.summary
        );
    }

    #[test]
    fn no_progress_warns_and_with_a_stale_sync_still_fails() {
        let e = earlier(1, 1204, Some(6130));
        assert_eq!(
            since_earlier(of(1204, 6130), Some(0), &e).status,
            Status::Warn
        );
        assert_eq!(since_earlier(of(1250, 6176), None, &e).status, Status::Warn);
        assert_eq!(
            since_earlier(of(1204, 6130), Some(8), &e).status,
            Status::Fail
        );
        // Without the totals, a falling count is taken as progress.
        let f = since_earlier(waiting(1100), None, &earlier(1, 1204, None));
        assert_eq!(f.status, Status::Pass);
    }

    #[test]
    fn a_count_that_stood_still_is_no_progress_only_after_the_gap() {
        let minutes = chrono::Duration::minutes;
        let just_under = minutes(30) - chrono::Duration::seconds(1);
        let f = since_earlier(
            of(1204, 6130),
            None,
            &earlier_by(just_under, 1204, Some(6130)),
        );
        assert_eq!(f.status, Status::Warn);
        assert!(
            f.summary.ends_with(
                "; the last scan (history #3) was 29 minutes ago: too soon to judge upload progress"
            ),
            "{}",
            f.summary
        );
        assert!(!f.summary.contains("no upload progress"), "{}", f.summary);

        let f = since_earlier(
            of(1204, 6130),
            None,
            &earlier_by(minutes(30), 1204, Some(6130)),
        );
        assert!(
            f.summary
                .ends_with("no upload progress since 2026-11-18 10:36 UTC (history #3)"),
            "{}",
            f.summary
        );

        let f = since_earlier(
            of(1204, 6130),
            None,
            &earlier_by(minutes(1), 1204, Some(6130)),
        );
        assert!(
            f.summary.contains("was 1 minute ago: too soon"),
            "{}",
            f.summary
        );
        let seconds = chrono::Duration::seconds(20);
        let f = since_earlier(of(1204, 6130), None, &earlier_by(seconds, 1204, Some(6130)));
        assert!(
            f.summary.contains("was less than a minute ago"),
            "{}",
            f.summary
        );
    }

    #[test]
    fn too_soon_is_judged_as_without_the_earlier_scan() {
        let e = earlier_by(chrono::Duration::minutes(2), 20, Some(6130));
        // A small backlog and a recent sync pass; a stale sync still fails.
        assert_eq!(
            since_earlier(of(20, 6130), Some(0), &e).status,
            Status::Pass
        );
        let stale = since_earlier(of(20, 6130), Some(8), &e);
        assert_eq!(stale.status, Status::Fail);
        assert!(
            stale.summary.contains("too soon to judge"),
            "{}",
            stale.summary
        );
    }

    #[test]
    fn a_falling_count_is_progress_at_any_gap() {
        let e = earlier_by(chrono::Duration::minutes(1), 1204, Some(6130));
        let f = since_earlier(of(1190, 6130), Some(30), &e);
        assert_eq!(f.status, Status::Pass, "{}", f.summary);
        assert!(f.summary.ends_with("uploads are moving"), "{}", f.summary);
    }

    #[test]
    fn the_gap_is_a_threshold() {
        let e = earlier_by(chrono::Duration::minutes(10), 1204, Some(6130));
        let limits = PhotosUploadLimits {
            no_progress_after_minutes: 5,
            ..PhotosUploadLimits::default()
        };
        let f = photos_upload(&facts(of(1204, 6130), None), Some(&e), &limits, now());
        assert!(
            f.summary.contains("no upload progress since"),
            "{}",
            f.summary
        );
    }

    #[test]
    fn failures_still_fail_and_a_scan_from_too_long_ago_is_not_compared() {
        let failing = LibraryCounts {
            failed: Some(3),
            ..of(1100, 6130)
        };
        let e = earlier(2, 1204, Some(6130));
        assert_eq!(since_earlier(failing, Some(0), &e).status, Status::Fail);
        let old = since_earlier(of(1100, 6130), None, &earlier(25, 1204, Some(6130)));
        assert_eq!(old.status, Status::Warn);
        assert!(!old.evidence.iter().any(|ev| ev.source.contains("history")));
        // An "earlier" scan after this one (a clock gone wrong) is not compared either.
        let later = since_earlier(of(1100, 6130), None, &earlier(-1, 1204, Some(6130)));
        assert_eq!(later.status, Status::Warn);
    }

    #[test]
    fn unread_library_is_manual_with_the_reason() {
        let mut f = facts(waiting(0), None);
        f.photos.as_mut().unwrap().library = LibraryFacts::NotRead {
            reason: "could not read the photo library: not a database".into(),
        };
        let finding = photos_upload(&f, None, &PhotosUploadLimits::default(), now());
        assert_eq!(finding.status, Status::Manual);
        assert!(
            finding
                .summary
                .starts_with("Could not read the photo library"),
            "{}",
            finding.summary
        );
        assert_eq!(
            photos_upload(&unknown(), None, &PhotosUploadLimits::default(), now()).status,
            Status::Manual
        );
    }
}
