//! The technician's answers (`--answer KEY=VALUE`) for steps the phone's data cannot decide.

use std::collections::BTreeMap;

use super::finding::{CheckId, Finding, Status};

/// One answer, already checked against the step's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The word the technician typed, as typed (lower-cased).
    pub word: String,
    /// Whether that word means the step is fine.
    pub passes: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers(BTreeMap<CheckId, Answer>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("--answer {0}: expected KEY=VALUE, e.g. icloud-photos=on")]
    NotKeyValue(String),
    #[error(
        "--answer {key}: no check is called \"{key}\"; the checks are {}",
        all_ids()
    )]
    UnknownCheck { key: String },
    #[error("--answer {key}={word}: for {key} answer one of {}", accepted(*id))]
    UnknownWord {
        key: String,
        word: String,
        id: CheckId,
    },
}

fn all_ids() -> String {
    CheckId::ALL.map(CheckId::as_str).join(", ")
}

/// The words `--answer` takes for a step, comma-separated: those meaning fine first.
pub fn accepted(id: CheckId) -> String {
    let (pass, fail) = words(id);
    pass.iter()
        .chain(fail)
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// The words each step accepts: (means fine, means a problem). Per step because "on" is good for
/// iCloud Photos and bad for Low Power Mode.
fn words(id: CheckId) -> (&'static [&'static str], &'static [&'static str]) {
    match id {
        CheckId::AppleId => (&["yes", "signed-in"], &["no", "signed-out"]),
        CheckId::IcloudPhotos => (&["on", "yes"], &["off", "no"]),
        CheckId::PhotosUpload => (&["done", "none"], &["waiting", "stuck"]),
        CheckId::Network => (&["ok", "yes", "online"], &["no", "offline"]),
        CheckId::CellularData => (&["on", "yes", "wifi-only"], &["off", "no"]),
        CheckId::IcloudStorage => (&["ok", "space"], &["full"]),
        CheckId::DeviceStorage => (&["ok", "space"], &["full"]),
        CheckId::Restart => (&["done", "yes"], &["no"]),
        CheckId::IosUpdate => (&["yes", "up-to-date"], &["no", "outdated"]),
        CheckId::Power => (&["yes", "plugged"], &["no", "unplugged"]),
        CheckId::LowPower => (&["off", "no"], &["on", "yes"]),
        CheckId::BatteryHealth => (&["ok", "yes"], &["no", "service"]),
    }
}

/// The words `--answer ID=WORD` takes for a step: (means fine, means a problem), the usual
/// word first. For reports that show how to answer.
pub fn answer_words(id: CheckId) -> (&'static [&'static str], &'static [&'static str]) {
    words(id)
}

/// How the technician answers a step, for a `manual` finding's remedy.
pub fn how_to_answer(id: CheckId) -> String {
    let (pass, fail) = words(id);
    format!("answer with --answer {id}={}|{}", pass[0], fail[0])
}

impl Answers {
    /// Parses `KEY=VALUE` arguments; a later answer for the same step replaces an earlier one.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Self, AnswerError> {
        let mut map = BTreeMap::new();
        for arg in args {
            let arg = arg.as_ref();
            let (key, word) = arg
                .split_once('=')
                .ok_or_else(|| AnswerError::NotKeyValue(arg.to_string()))?;
            let key = key.trim();
            let word = word.trim().to_ascii_lowercase();
            let id: CheckId = key.parse().map_err(|_| AnswerError::UnknownCheck {
                key: key.to_string(),
            })?;
            let (pass, fail) = words(id);
            let passes = if pass.contains(&word.as_str()) {
                true
            } else if fail.contains(&word.as_str()) {
                false
            } else {
                return Err(AnswerError::UnknownWord {
                    key: key.to_string(),
                    word,
                    id,
                });
            };
            map.insert(id, Answer { word, passes });
        }
        Ok(Answers(map))
    }

    pub fn get(&self, id: CheckId) -> Option<&Answer> {
        self.0.get(&id)
    }
}

/// Folds an answer into the phone's finding. A `manual` step takes the answer. Where the
/// phone's own data decided, both are shown and the phone's evidence decides, unless the
/// technician passed `--trust-answers`.
pub(super) fn apply(mut finding: Finding, answer: Option<&Answer>, trust_answers: bool) -> Finding {
    let Some(answer) = answer else { return finding };
    let said = format!("{}={}", finding.id, answer.word);
    let answered = if answer.passes {
        Status::Pass
    } else {
        Status::Fail
    };
    let yes_no = if answer.passes { "yes" } else { "no" };
    if finding.status == Status::Manual {
        finding.status = answered;
        finding.summary = format!(
            "{}: {yes_no}, as the technician answered ({said})",
            finding.title
        );
        finding
            .evidence
            .push(super::Evidence::new("technician", said));
        if answer.passes {
            finding.remedy.clear();
        }
        return finding;
    }
    let agrees = answer.passes == (finding.status == Status::Pass);
    let note = if agrees {
        format!("{said} (agrees with the phone)")
    } else if trust_answers {
        let phone = format!("{}: {}", finding.status.as_str(), finding.summary);
        finding.status = answered;
        finding.summary = format!(
            "{}: {yes_no}, as the technician answered ({said}); the phone's evidence said otherwise",
            finding.title
        );
        format!("{said} decides (--trust-answers); the phone said {phone}")
    } else {
        format!("{said} disagrees with the phone; the phone's evidence decides (--trust-answers lets the answer decide)")
    };
    finding
        .evidence
        .push(super::Evidence::new("technician", note));
    finding
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let a =
            Answers::parse(&["icloud-photos=on", "icloud-storage=FULL", "low-power=on"]).unwrap();
        assert!(a.get(CheckId::IcloudPhotos).unwrap().passes);
        assert!(!a.get(CheckId::IcloudStorage).unwrap().passes);
        assert!(!a.get(CheckId::LowPower).unwrap().passes);
        assert!(a.get(CheckId::Network).is_none());
        assert!(matches!(
            Answers::parse(&["icloud-photos"]),
            Err(AnswerError::NotKeyValue(_))
        ));
        assert!(matches!(
            Answers::parse(&["wifi=on"]),
            Err(AnswerError::UnknownCheck { .. })
        ));
        let e = Answers::parse(&["icloud-storage=maybe"]).unwrap_err();
        assert!(e.to_string().contains("ok, space, full"), "{e}");
    }

    #[test]
    fn answer_decides_only_manual_steps() {
        let manual = Finding::new(CheckId::IcloudPhotos, Status::Manual, "look", "where");
        let a = Answers::parse(&["icloud-photos=off"]).unwrap();
        let f = apply(manual, a.get(CheckId::IcloudPhotos), false);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.evidence[0].source, "technician");

        let decided = Finding::new(CheckId::DeviceStorage, Status::Fail, "full", "free space");
        let a = Answers::parse(&["device-storage=ok"]).unwrap();
        let f = apply(decided.clone(), a.get(CheckId::DeviceStorage), false);
        assert_eq!(f.status, Status::Fail);
        assert!(f.evidence[0].value.contains("disagrees with the phone"));
        let f = apply(decided.clone(), a.get(CheckId::DeviceStorage), true);
        assert_eq!(
            f.status,
            Status::Pass,
            "--trust-answers lets the answer decide"
        );
        assert!(
            f.evidence[0].value.contains("the phone said fail: full"),
            "{}",
            f.evidence[0].value
        );
        let a = Answers::parse(&["device-storage=full"]).unwrap();
        let f = apply(decided, a.get(CheckId::DeviceStorage), false);
        assert!(f.evidence[0].value.contains("agrees with the phone"));
    }
}
