//! Reports: what a technician reads (text) and what other programs read (JSON).
//! Both print the same [`DeviceReport`]s; neither decides anything.

pub mod document;
pub mod html;
pub mod json;
pub mod text;

use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, Utc};

use crate::checklist::{Evaluation, Status};
use crate::facts::{Catalog, DeviceFacts};

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
        let generated_at = Utc::now();
        let catalog = Catalog::builtin();
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

/// What a hidden value reads as.
pub const REDACTED: &str = "[redacted]";

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

    #[test]
    fn stale_model_table_is_said_in_one_sentence() {
        let mut ctx = ReportContext::now();
        assert_eq!(
            ctx.stale_note(),
            None,
            "the table shipped with this build is fresh"
        );
        ctx.model_table_stale = true;
        let note = ctx.stale_note().unwrap();
        assert!(
            note.contains(&ctx.model_table_updated.to_string()),
            "{note}"
        );
        assert!(note.contains("over a year ago"));
    }
}
