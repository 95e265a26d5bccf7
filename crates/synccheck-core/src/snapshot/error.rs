use std::path::PathBuf;

/// Why a snapshot file could not be read. Every variant names the file; shape errors also name
/// the key, so the technician can open the file and see what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: cannot read the file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is larger than {limit} bytes, which no snapshot is")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path}: not a regular file (it is {kind}), so it is not read")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: not a valid plist: {detail}")]
    BadPlist { path: PathBuf, detail: String },
    /// Over a plist nesting, object-count or expanded-size limit (`wire::plist_bounded`).
    #[error("{path}: {error}")]
    PlistLimit {
        path: PathBuf,
        error: synccheck_wire::plist_bounded::PlistLimitError,
    },
    #[error("{path}: not valid JSON: {detail}")]
    BadJson { path: PathBuf, detail: String },
    #[error("{path}: {key}: {problem}")]
    Shape {
        path: PathBuf,
        key: String,
        problem: String,
    },
    #[error("{path}: does not look like a snapshot, `ideviceinfo -x` output or `pymobiledevice3 lockdown info` JSON ({why})")]
    Unrecognised { path: PathBuf, why: String },
}
