//! Two scans of one phone side by side: before and after a restart (`synccheck restart`).
//!
//! The checklist already compares the photo backlog with the earlier scan (`photos-upload`
//! says whether it moved); this adds the few lines a technician looks at first: the verdict,
//! the backlog, the engine's own state, and which steps changed.

use synccheck_core::facts::photos::{LibraryFacts, PhotoSync};
use synccheck_core::units;
use synccheck_wire::phone_text::printable;

use crate::words::{local, status_word, SCREEN_TIME};
use crate::DeviceReport;

/// One compared line: what, before, after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub what: &'static str,
    pub before: String,
    pub after: String,
}

impl Change {
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

/// The verdict, the backlog, the engine's state, then every step whose status changed.
pub fn compare(before: &DeviceReport, after: &DeviceReport) -> Vec<Change> {
    let mut out = vec![
        Change {
            what: "verdict",
            before: status_word(before.evaluation.verdict.status).to_string(),
            after: status_word(after.evaluation.verdict.status).to_string(),
        },
        Change {
            what: "waiting to upload",
            before: backlog(before),
            after: backlog(after),
        },
        Change {
            what: "iCloud Photos engine",
            before: engine(before),
            after: engine(after),
        },
    ];
    for now in &after.evaluation.findings {
        let Some(then) = before.evaluation.findings.iter().find(|f| f.id == now.id) else {
            continue;
        };
        if then.status != now.status {
            out.push(Change {
                what: now.id.as_str(),
                before: status_word(then.status).to_string(),
                after: status_word(now.status).to_string(),
            });
        }
    }
    out
}

/// The lines as text, one per change: `  what: before -> after`, or `unchanged`.
pub fn lines(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| {
            if c.changed() {
                format!("  {}: {} -> {}", c.what, c.before, c.after)
            } else {
                format!("  {}: {} (unchanged)", c.what, c.after)
            }
        })
        .collect()
}

/// "1,204 photos (4.1 GB)", or why it is not known.
fn backlog(report: &DeviceReport) -> String {
    let Some(photos) = &report.facts.photos else {
        return "unknown (the engine's files were not read)".into();
    };
    match &photos.library {
        LibraryFacts::Read(counts) => match (counts.waiting, counts.waiting_bytes) {
            (Some(n), Some(b)) => format!("{} ({})", count(n), units::bytes(b)),
            (Some(n), None) => count(n),
            (None, _) => "unknown (the library gives no upload state)".into(),
        },
        LibraryFacts::NotRead { reason } => format!("unknown ({})", printable(reason)),
        LibraryFacts::NotRecognised { .. } => "unknown (a library layout not recognised)".into(),
    }
}

fn count(n: u64) -> String {
    let photos = if n == 1 { "photo" } else { "photos" };
    format!("{} {photos}", units::thousands(n))
}

/// The engine's state in a few words: off, paused, blocked (and why), busy, or idle, with its
/// last sync when it says.
fn engine(report: &DeviceReport) -> String {
    let Some(photos) = &report.facts.photos else {
        return "unknown (the engine's files were not read)".into();
    };
    engine_state(photos)
}

fn engine_state(p: &PhotoSync) -> String {
    if p.enabled == Some(false) {
        return "iCloud Photos off".into();
    }
    if p.paused == Some(true) {
        return match &p.pause_reason {
            Some(r) => format!("paused ({})", printable(r)),
            None => "paused".into(),
        };
    }
    let Some(e) = &p.engine else {
        return "unknown (no engine status on the phone)".into();
    };
    let mut words = Vec::new();
    if let Some(reason) = e.blocked_reason.as_deref().filter(|r| !r.is_empty()) {
        words.push(format!("blocked ({})", printable(reason)));
    }
    for (on, what) in [
        (e.not_authenticated, "signed out of iCloud"),
        (e.exceeding_quota, "iCloud full"),
        (e.low_battery, "low battery"),
        (e.blocked_by_low_power_mode, "Low Power Mode"),
        (e.very_low_disk_space.or(e.low_disk_space), "low storage"),
        (e.thermal_pressure, "too hot"),
        (e.airplane_mode, "Airplane Mode"),
    ] {
        if on == Some(true) {
            words.push(what.to_string());
        }
    }
    if e.connected_to_network == Some(false) {
        words.push("offline".into());
    }
    if words.is_empty() {
        words.push(match e.has_changes_to_process {
            Some(true) => "has changes to process".into(),
            Some(false) => "nothing to process".into(),
            None => "no blocker reported".into(),
        });
    }
    if let Some(at) = e.last_sync {
        words.push(format!("last sync {}", local(at, SCREEN_TIME)));
    }
    words.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline;
    use synccheck_core::checklist::Context;

    #[test]
    fn the_same_scan_twice_changes_nothing_and_counts_read_well() {
        let snap = synccheck_core::snapshot::builtin_demo();
        let report = pipeline::report_for(&snap, "USB", &Context::default(), false);
        let changes = compare(&report, &report);
        assert_eq!(changes.len(), 3, "no step changed: {changes:?}");
        assert!(changes.iter().all(|c| !c.changed()));
        assert!(lines(&changes)[0].ends_with("(unchanged)"));
        assert_eq!(count(1), "1 photo");
        assert_eq!(count(1204), "1,204 photos");
        assert_eq!(count(1_000_000), "1,000,000 photos");
    }

    #[test]
    fn a_changed_step_is_listed_with_both_statuses() {
        let snap = synccheck_core::snapshot::builtin_demo();
        let before = pipeline::report_for(&snap, "USB", &Context::default(), false);
        let mut after = before.clone();
        let restart = after
            .evaluation
            .findings
            .iter_mut()
            .find(|f| f.id == synccheck_core::checklist::CheckId::Restart)
            .unwrap();
        let was = restart.status;
        restart.status = synccheck_core::checklist::Status::Pass;
        let changes = compare(&before, &after);
        let step = changes.iter().find(|c| c.what == "restart").unwrap();
        assert_eq!(
            (step.before.as_str(), step.after.as_str()),
            (status_word(was), "pass")
        );
        assert!(lines(&changes).iter().any(|l| l.contains("restart: ")));
    }
}
