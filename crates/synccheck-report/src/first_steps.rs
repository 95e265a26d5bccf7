//! What to do first, for the verdict: the text report's last lines and the sheet's verdict box
//! say it, from the same report document, so both name the same first step.
//!
//! A note that comes before any check's fix (say, photos that are only on this phone and must
//! be saved before anything else is tried) goes at the front of the list, as a
//! [`FirstStep::Note`]: every surface then prints it, in full, before the fix.

use synccheck_core::checklist::Status;

use crate::document::DeviceDocument;
use crate::words::{status_from_json, TO_CHECK_ON_THE_PHONE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstStep {
    /// A sentence of its own, printed in full everywhere.
    Note(String),
    /// The most urgent problem: the first failing check in the order technicians try them,
    /// else the first warning. The text report names it (its fix is printed above); the sheet
    /// prints the fix.
    Fix { title: String, remedy: String },
    /// Nothing the phone reports is wrong, and steps are left to check by hand.
    CheckOnThePhone { steps: usize },
}

impl FirstStep {
    /// The step in one sentence for the customer's sheet.
    pub fn sentence(&self) -> String {
        match self {
            FirstStep::Note(s) => s.clone(),
            FirstStep::Fix { title, remedy } if remedy.is_empty() => format!("{title}."),
            FirstStep::Fix { remedy, .. } => remedy.clone(),
            FirstStep::CheckOnThePhone { steps: 1 } => {
                format!("Look at the step marked {TO_CHECK_ON_THE_PHONE} below.")
            }
            FirstStep::CheckOnThePhone { .. } => {
                format!("Look at the steps marked {TO_CHECK_ON_THE_PHONE} below.")
            }
        }
    }
}

/// The first steps for one phone, most urgent first; empty when every check passes.
pub fn first_steps(device: &DeviceDocument) -> Vec<FirstStep> {
    let mut steps = Vec::new();
    // Photos only on this phone are saved before anything else is tried (docs/rescue.md).
    if let Some(note) = &device.rescue {
        steps.push(FirstStep::Note(note.clone()));
    }
    let with = |wanted: Status| {
        device
            .checks
            .iter()
            .filter(move |c| status_from_json(&c.status) == wanted)
    };
    let problem = with(Status::Fail)
        .next()
        .or_else(|| with(Status::Warn).next());
    if let Some(c) = problem {
        steps.push(FirstStep::Fix {
            title: c.title.clone(),
            remedy: c.remedy.clone(),
        });
    } else {
        let manual = with(Status::Manual).count();
        if manual > 0 {
            steps.push(FirstStep::CheckOnThePhone { steps: manual });
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::CheckDocument;

    fn device(checks: &[(&str, &str)]) -> DeviceDocument {
        DeviceDocument {
            rescue: None,
            captured_at: None,
            facts: Default::default(),
            checks: checks
                .iter()
                .map(|(title, status)| CheckDocument {
                    id: title.to_lowercase(),
                    title: title.to_string(),
                    status: status.to_string(),
                    summary: String::new(),
                    remedy: format!("Fix {title}."),
                })
                .collect(),
            verdict: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_fail_comes_before_an_earlier_warning() {
        let d = device(&[("A", "manual"), ("B", "warn"), ("C", "fail"), ("D", "fail")]);
        assert_eq!(
            first_steps(&d),
            vec![FirstStep::Fix {
                title: "C".into(),
                remedy: "Fix C.".into()
            }]
        );
        assert_eq!(first_steps(&d)[0].sentence(), "Fix C.");
    }

    #[test]
    fn with_no_problem_the_steps_on_the_phone_come_first() {
        let d = device(&[("A", "manual"), ("B", "pass"), ("C", "manual")]);
        let steps = first_steps(&d);
        assert_eq!(steps, vec![FirstStep::CheckOnThePhone { steps: 2 }]);
        assert!(steps[0].sentence().contains("to check on the phone"));
        assert!(first_steps(&device(&[("A", "pass")])).is_empty());
    }
}
