//! Reports: what a technician reads (text) and what other programs read (JSON).
//! Both print the same [`DeviceReport`]s; neither decides anything.

pub mod before_after;
pub mod document;
pub mod first_steps;
pub mod html;
pub mod json;
pub mod pipeline;
pub mod rescue;
pub mod text;
pub mod words;

use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, Utc};

use synccheck_core::checklist::{Evaluation, Status};
use synccheck_core::facts::{Catalog, DeviceFacts};

/// What is printed for one phone.
#[derive(Debug, Clone)]
pub struct DeviceReport {
    /// Where the values came from: a file name, or "USB" for a live scan.
    pub origin: String,
    /// `usb`, `import`, ... from the snapshot.
    pub source: String,
    pub captured_at: Option<SystemTime>,
    pub facts: DeviceFacts,
    pub evaluation: Evaluation,
}

/// Facts about the report as a whole.
#[derive(Debug, Clone)]
pub struct ReportContext {
    pub generated_at: DateTime<Utc>,
    pub model_table_updated: NaiveDate,
    pub model_table_stale: bool,
}

impl ReportContext {
    pub fn now() -> Self {
        Self::at(Utc::now(), Catalog::builtin())
    }

    /// The context of a report made at `generated_at` with `catalog`: the model table's age is
    /// judged against that moment.
    pub fn at(generated_at: DateTime<Utc>, catalog: &Catalog) -> Self {
        ReportContext {
            generated_at,
            model_table_updated: catalog.updated,
            model_table_stale: catalog.is_stale(generated_at.date_naive()),
        }
    }

    /// One sentence when the model table is old enough that "newest iOS" may be wrong.
    pub fn stale_note(&self) -> Option<String> {
        self.model_table_stale.then(|| {
            format!(
                "The iPhone model table was last updated on {}, over a year ago: newer iPhones and iOS releases may be missing, so treat ios-update with care and update synccheck.",
                self.model_table_updated
            )
        })
    }
}

pub use synccheck_core::privacy::REDACTED;

/// Hides what identifies the customer, for reports that leave the shop.
pub fn redact(facts: &mut DeviceFacts) {
    let hide = |v: &mut Option<String>| {
        if v.is_some() {
            *v = Some(REDACTED.to_string());
        }
    };
    hide(&mut facts.identity.name);
    hide(&mut facts.identity.serial_number);
    hide(&mut facts.identity.udid);
    hide(&mut facts.network.wifi_address);
    hide(&mut facts.account.apple_id_masked);
}

/// 0 when every check passes or is manual, 1 when any warns or fails.
pub fn exit_code(reports: &[DeviceReport]) -> i32 {
    let worst = reports
        .iter()
        .map(|r| r.evaluation.verdict.status)
        .max()
        .unwrap_or(Status::Pass);
    match worst {
        Status::Pass | Status::Manual => 0,
        Status::Warn | Status::Fail => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(day: &str) -> DateTime<Utc> {
        format!("{day}T12:00:00Z").parse().unwrap()
    }

    #[test]
    fn stale_model_table_is_said_in_one_sentence() {
        // A fixed day this build's table was checked on, not today: the test must not start
        // failing when the calendar moves on (staleness itself is tested with fixed dates).
        let mut ctx = ReportContext::at(on("2026-12-02"), Catalog::builtin());
        assert_eq!(
            ctx.stale_note(),
            None,
            "the table shipped with this build is fresh on the day it was checked"
        );
        ctx.model_table_stale = true;
        let note = ctx.stale_note().unwrap();
        assert!(
            note.contains(&ctx.model_table_updated.to_string()),
            "{note}"
        );
        assert!(note.contains("over a year ago"));
    }

    #[test]
    fn report_context_judges_the_table_against_its_own_moment() {
        let c = Catalog::builtin();
        let day = |d: u64| {
            (c.updated + chrono::Days::new(d))
                .format("%Y-%m-%d")
                .to_string()
        };
        assert!(!ReportContext::at(on(&day(365)), c).model_table_stale);
        let late = ReportContext::at(on(&day(366)), c);
        assert!(late.model_table_stale);
        assert_eq!(late.model_table_updated, c.updated);
    }
}
