//! The one judge-and-record flow that `scan` and `watch` share, so that the privacy order is
//! written once: find the phone's earlier scan, judge unredacted, record, and only then redact.
//!
//! Judged unredacted because the shop's history keeps serials (the technician looks a phone up
//! by them); recorded before redacting for the same reason; redacted last, so that what leaves
//! the shop (printed, written as JSON or HTML) never carries them under `--redact`.

use synccheck_core::checklist::{Context, EarlierScan};
use synccheck_core::snapshot::Snapshot;
use synccheck_report::{pipeline, DeviceReport};

use crate::{History, HistoryError};

/// How a scan is judged and recorded.
pub struct Judging<'a> {
    /// The technician's answers and thresholds.
    pub ctx: &'a Context,
    /// The answers as given on the command line, kept with the scan in the history.
    pub answers: &'a [String],
    /// Whether the answers were trusted (`--trust-answers`), kept with them.
    pub trust_answers: bool,
    /// Hide what identifies the customer in the report handed back (`--redact`).
    pub redact: bool,
}

/// One judged scan.
pub struct JudgedScan {
    /// The report: redacted when [`Judging::redact`] asked for it.
    pub report: DeviceReport,
    /// The UDID the phone itself reported, read before redaction (`None` when it gave none).
    pub reported_udid: Option<String>,
    /// The history row the scan was recorded as; `None` when there is no history to record
    /// into, an error when recording failed (the scan is still judged and reported).
    pub recorded: Option<Result<i64, HistoryError>>,
}

/// The same phone's last recorded scan (before scan `before`), for `photos-upload` to compare
/// its photo count with. The history only helps here: when it cannot be read, nothing is
/// compared.
pub fn earlier_scan(
    history: Option<&History>,
    udid: Option<&str>,
    before: Option<i64>,
) -> Option<EarlierScan> {
    let stored = history?.previous(udid?, before).ok()??;
    pipeline::earlier_scan(&format!("history #{}", stored.row.id), &stored.snapshot)
}

/// A scan judged unredacted and not yet recorded. The unredacted report never leaves this
/// type except into the history ([`Judged::record`]); what is shown is [`Judged::shown`],
/// redacted when asked. `watch` judges on its event loop and records on its writer thread, so
/// the two steps are apart; the order between them is held here.
pub struct Judged {
    report: DeviceReport,
    redact: bool,
}

impl Judged {
    /// The report to print or write: redacted under `--redact`.
    pub fn shown(&self) -> DeviceReport {
        let mut report = self.report.clone();
        if self.redact {
            synccheck_report::redact(&mut report.facts);
        }
        report
    }

    /// The UDID the phone itself reported (`None` when it gave none).
    pub fn reported_udid(&self) -> Option<&str> {
        self.report.facts.identity.udid.as_deref()
    }

    /// Records the scan, unredacted (the shop looks phones up by serial), in `history`, with
    /// the answers it was judged with ([`Judging::answers`], [`Judging::trust_answers`]).
    pub fn record(
        &self,
        history: &mut History,
        snapshot: &Snapshot,
        answers: &[String],
        trust_answers: bool,
    ) -> Result<i64, HistoryError> {
        history.record(snapshot, &self.report, answers, trust_answers)
    }

    /// [`Judged::record`] again, after it failed for a server out of reach: never twice.
    pub fn record_again(
        &self,
        history: &mut History,
        snapshot: &Snapshot,
        answers: &[String],
        trust_answers: bool,
    ) -> Result<i64, HistoryError> {
        history.record_again(snapshot, &self.report, answers, trust_answers)
    }
}

/// Judges the snapshot unredacted, compared with `earlier` (the phone's last scan).
pub fn judge(
    snapshot: &Snapshot,
    origin: &str,
    earlier: Option<&EarlierScan>,
    judging: &Judging<'_>,
) -> Judged {
    Judged {
        report: pipeline::report_since(snapshot, origin, judging.ctx, false, earlier),
        redact: judging.redact,
    }
}

/// Judges the snapshot of the phone `udid` (compared with its earlier scan in `history`),
/// records it in `history`, then redacts the report when asked: in that order, always.
pub fn judge_and_record(
    history: Option<&mut History>,
    snapshot: &Snapshot,
    udid: &str,
    origin: &str,
    judging: &Judging<'_>,
) -> JudgedScan {
    let earlier = earlier_scan(history.as_deref(), Some(udid), None);
    let judged = judge(snapshot, origin, earlier.as_ref(), judging);
    let recorded =
        history.map(|h| judged.record(h, snapshot, judging.answers, judging.trust_answers));
    JudgedScan {
        reported_udid: judged.reported_udid().map(str::to_owned),
        report: judged.shown(),
        recorded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_and_records_unredacted_then_redacts_what_it_hands_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::open(&dir.path().join("h.sqlite")).unwrap();
        let snap = synccheck_core::snapshot::builtin_demo();
        let ctx = Context::default();
        let judging = Judging {
            ctx: &ctx,
            answers: &[],
            trust_answers: false,
            redact: true,
        };
        let udid = pipeline::report_for(&snap, "USB", &ctx, false)
            .facts
            .identity
            .udid
            .unwrap();

        let first = judge_and_record(Some(&mut history), &snap, &udid, "USB", &judging);
        let id = first.recorded.unwrap().unwrap();
        assert_eq!(first.reported_udid.as_deref(), Some(udid.as_str()));
        // Handed back redacted; kept unredacted, so the phone is found again by its UDID.
        assert_eq!(
            first.report.facts.identity.udid.as_deref(),
            Some(synccheck_report::REDACTED)
        );
        assert_eq!(history.previous(&udid, None).unwrap().unwrap().row.id, id);
        let row = &history.list(None).unwrap()[0];
        assert!(row.serial.is_some());
        assert_ne!(row.serial.as_deref(), Some(synccheck_report::REDACTED));

        // The next scan of the same phone is compared with the first.
        let earlier = earlier_scan(Some(&history), Some(&udid), None).unwrap();
        let second = judge_and_record(Some(&mut history), &snap, &udid, "USB", &judging);
        assert!(second.recorded.unwrap().unwrap() > id);
        assert_eq!(earlier.label, format!("history #{id}"));

        // With no history, nothing is recorded and the report is still judged.
        let alone = judge_and_record(None, &snap, &udid, "USB", &judging);
        assert!(alone.recorded.is_none());
        assert_eq!(
            alone.report.evaluation.verdict.status,
            first.report.evaluation.verdict.status
        );
    }
}
