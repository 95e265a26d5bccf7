use std::path::PathBuf;

use synccheck::checklist::AnswerError;
use synccheck::facts::FactError;
use synccheck::sim::SimError;
use synccheck::snapshot::SnapshotError;

/// Everything that stops a command, each printed as one sentence and a hint.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("{path}: {source}")]
    Facts { path: PathBuf, source: FactError },
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error("{path}: {detail}")]
    Thresholds { path: PathBuf, detail: String },
    #[error("cannot write the report: {0}")]
    Output(std::io::Error),
    #[error("the simulator cannot start: {0}")]
    Sim(#[from] SimError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl CliError {
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            CliError::Snapshot(SnapshotError::Io { .. }) => "check the path and that you may read the file",
            CliError::Snapshot(SnapshotError::Unrecognised { .. }) | CliError::Snapshot(SnapshotError::BadPlist { .. }) | CliError::Snapshot(SnapshotError::BadJson { .. }) | CliError::Snapshot(SnapshotError::Empty { .. }) => {
                "expected a synccheck snapshot, `ideviceinfo -x` output or `pymobiledevice3 lockdown info` JSON"
            }
            CliError::Snapshot(_) | CliError::Facts { .. } => {
                "the file holds a value no phone sends; capture it again, or fix that key"
            }
            CliError::Answer(_) => "run `synccheck scan --help`; the check ids are listed in the README",
            CliError::Thresholds { .. } => "see \"Thresholds\" in the README for the keys and ranges",
            CliError::Sim(SimError::InUse(_)) => "stop the other simulator, or give another --socket",
            CliError::Sim(_) => "run with -v for details",
            CliError::Usage(_) => "see `synccheck --help`",
            CliError::Output(_) | CliError::Runtime(_) => return None,
        })
    }
}
