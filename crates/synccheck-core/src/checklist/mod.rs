//! The "iCloud Photos is not syncing" checklist: facts (and the technician's answers) in,
//! findings out. Pure logic: nothing here touches a socket or a file.

mod answers;
mod checks;
mod finding;
pub mod thresholds;
mod verdict;

pub use answers::{accepted, answer_words, Answer, AnswerError, Answers};
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

/// What an earlier scan of the same phone counted in its photo library. Two counts some time
/// apart are the strongest evidence that uploads move, stronger than any flag of the engine's
/// (`shared/reference/device-facts.md`), so `photos-upload` compares with it.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierScan {
    /// How the report names that scan: "history #12".
    pub label: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub waiting: u64,
    /// Waiting plus uploaded: a count that falls because photos were deleted is not progress.
    pub assets: Option<u64>,
}

impl EarlierScan {
    /// `None` when that scan has no capture time or no waiting count to compare with.
    pub fn from_facts(label: impl Into<String>, facts: &DeviceFacts) -> Option<Self> {
        let counts = match &facts.photos.as_ref()?.library {
            crate::facts::photos::LibraryFacts::Read(c) => c,
            crate::facts::photos::LibraryFacts::NotRead { .. }
            | crate::facts::photos::LibraryFacts::NotRecognised { .. } => return None,
        };
        Some(EarlierScan {
            label: label.into(),
            at: facts.captured_at?,
            waiting: counts.waiting?,
            assets: counts.assets,
        })
    }
}

pub fn evaluate(facts: &DeviceFacts, ctx: &Context) -> Evaluation {
    evaluate_since(facts, None, ctx)
}

/// [`evaluate`], comparing the photo library with an earlier scan of the same phone.
pub fn evaluate_since(
    facts: &DeviceFacts,
    earlier: Option<&EarlierScan>,
    ctx: &Context,
) -> Evaluation {
    // Ages count from when the phone was read, so a saved snapshot evaluates the same later.
    let now = facts.captured_at.unwrap_or_else(chrono::Utc::now);
    let findings: Vec<Finding> = CheckId::ALL
        .iter()
        .map(|&id| {
            let from_phone = checks::run(id, facts, earlier, &ctx.thresholds, now);
            answers::apply(from_phone, ctx.answers.get(id), ctx.trust_answers)
        })
        .collect();
    let verdict = Verdict::from_findings(&findings);
    Evaluation { findings, verdict }
}
