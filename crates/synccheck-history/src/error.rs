use std::path::PathBuf;

/// Why the history cannot be opened, written or read. No variant carries a password: a
/// server is named by [`crate::PgTarget::describe`].
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("the history database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A PostgreSQL history: `at` is the server without its password, `why` the client's
    /// error with its causes.
    #[error("the history server {at}: {why}")]
    Postgres { at: String, why: String },
    #[error("the history {0} was written by a newer synccheck")]
    TooNew(String),
    #[error("--db (or SYNCCHECK_DB) is not a history: {0}")]
    BadUrl(String),
    #[error("TLS to the history server: {0}")]
    Tls(String),
    #[error("cannot create the directory for {path}: {source}")]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the folder of the history database {0} does not exist")]
    NoFolder(PathBuf),
    #[error("there is no history database at {0}")]
    Missing(PathBuf),
    #[error("the history database {path} is not a regular file (it is {kind})")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("cannot open the history database {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("scan {id} in the history cannot be read back: {why}")]
    Damaged { id: i64, why: String },
    #[error("this scan's snapshot cannot be stored: {0}")]
    Unstorable(String),
}

impl HistoryError {
    /// A server that could not be reached or went away: worth trying again later, unlike a
    /// refused login or a schema from a newer synccheck.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, HistoryError::Postgres { why, .. } if why.starts_with(crate::pg::UNREACHABLE))
    }
}
