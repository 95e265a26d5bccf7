use serde::Serialize;

use super::finding::{Finding, Status};

/// The overall outcome in one sentence, naming what blocks syncing (fails first, then warns).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The worst status of any check: fail, then warn, then manual, then pass.
    pub status: Status,
    pub summary: String,
}

impl Verdict {
    pub fn from_findings(findings: &[Finding]) -> Self {
        let with = |s: Status| findings.iter().filter(move |f| f.status == s);
        // Summaries keep their capitals: most start with a name (iPhone, iOS, iCloud, Low Power Mode).
        let list = |s: Status| {
            with(s)
                .map(|f| f.summary.trim_end_matches('.').to_string())
                .collect::<Vec<_>>()
        };
        let fails = list(Status::Fail);
        let warns = list(Status::Warn);
        let manual: Vec<_> = with(Status::Manual).map(|f| f.id.as_str()).collect();
        let status = findings
            .iter()
            .map(|f| f.status)
            .max()
            .unwrap_or(Status::Pass);

        let summary =
            if !fails.is_empty() {
                let mut s = format!("Blocking iCloud Photos: {}", fails.join("; "));
                if !warns.is_empty() {
                    s.push_str(&format!("; also worth fixing: {}", warns.join("; ")));
                }
                s + "."
            } else if !warns.is_empty() {
                format!(
                    "Nothing blocks iCloud Photos outright; worth fixing: {}.",
                    warns.join("; ")
                )
            } else if !manual.is_empty() {
                format!(
                "Nothing the phone reports blocks iCloud Photos; {} {} to check on the phone: {}.",
                manual.len(),
                if manual.len() == 1 { "step is left" } else { "steps are left" },
                manual.join(", ")
            )
            } else {
                "Every check passes.".to_string()
            };
        Verdict { status, summary }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::CheckId;

    fn f(id: CheckId, status: Status, summary: &str) -> Finding {
        Finding::new(id, status, summary, "")
    }

    #[test]
    fn fails_come_before_warns() {
        let v = Verdict::from_findings(&[
            f(CheckId::IosUpdate, Status::Warn, "iOS 27.0.1 is available."),
            f(CheckId::DeviceStorage, Status::Fail, "Only 0.5 GB free"),
            f(CheckId::Restart, Status::Manual, "Restart"),
        ]);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(
            v.summary,
            "Blocking iCloud Photos: Only 0.5 GB free; also worth fixing: iOS 27.0.1 is available."
        );
    }

    #[test]
    fn manual_only_names_the_steps() {
        let v = Verdict::from_findings(&[
            f(CheckId::Power, Status::Pass, "ok"),
            f(CheckId::Restart, Status::Manual, "Restart"),
        ]);
        assert_eq!(v.status, Status::Manual);
        assert!(
            v.summary
                .contains("1 step is left to check on the phone: restart"),
            "{}",
            v.summary
        );
        let v = Verdict::from_findings(&[f(CheckId::Power, Status::Pass, "ok")]);
        assert_eq!(v.summary, "Every check passes.");
    }
}
