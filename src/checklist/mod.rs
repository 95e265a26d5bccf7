//! The "iCloud Photos is not syncing" checklist: facts (and the technician's answers) in,
//! findings out. Pure logic: nothing here touches a socket or a file.

mod answers;
mod checks;
mod finding;
pub mod thresholds;
mod verdict;

pub use answers::{Answer, AnswerError, Answers};
pub use finding::{CheckId, Evidence, Finding, Status};
pub use thresholds::Thresholds;
pub use verdict::Verdict;

use crate::facts::DeviceFacts;

/// What the checks need besides the phone's facts.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub thresholds: Thresholds,
    pub answers: Answers,
    /// Let the technician's answers decide even where the phone's evidence says otherwise.
    pub trust_answers: bool,
}

/// Every check's finding, in the order technicians try the steps, and the overall verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
}

pub fn evaluate(facts: &DeviceFacts, ctx: &Context) -> Evaluation {
    // Ages count from when the phone was read, so a saved snapshot evaluates the same later.
    let now = facts.captured_at.unwrap_or_else(chrono::Utc::now);
    let findings: Vec<Finding> = CheckId::ALL
        .iter()
        .map(|&id| {
            let from_phone = checks::run(id, facts, &ctx.thresholds, now);
            answers::apply(from_phone, ctx.answers.get(id), ctx.trust_answers)
        })
        .collect();
    let verdict = Verdict::from_findings(&findings);
    Evaluation { findings, verdict }
}
