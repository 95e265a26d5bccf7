//! The `PhotoLibrary` snapshot section and its plist form.

use std::collections::BTreeMap;
use std::time::SystemTime;

/// One state file as the scan found it. A file the phone refused is not the same as a file
/// that is absent: absent can mean "off", refused means "unknown".
#[derive(Debug, Clone, PartialEq)]
pub enum FileRead {
    Present {
        contents: Vec<u8>,
        modified: Option<SystemTime>,
    },
    NotFound,
    PermissionDenied,
    /// Any other AFC error, or a file too large to be a state file.
    Failed(String),
}

/// What the photo library database told us, or why it could not.
#[derive(Debug, Clone, PartialEq)]
pub enum DatabaseRead {
    Summary(LibrarySummary),
    NotFound,
    PermissionDenied,
    /// Copied but not readable: not SQLite, torn, or failing `PRAGMA quick_check`.
    Unreadable(String),
    /// The technician asked for no database read (`--no-photo-library`).
    Skipped,
    /// A sound database in a format we do not know: no asset table we know, or one without
    /// the columns the summary needs (see [`crate::photos::query::REQUIRED_ASSET_COLUMNS`]).
    /// `schema` is the asset table found, if any; `missing` names what is not there.
    NotRecognised {
        schema: Option<String>,
        missing: Vec<String>,
    },
}

/// Counts, sizes and dates from Photos.sqlite: never a file name. Every field is optional
/// because the columns behind it vary by iOS version; a missing column makes its count unknown.
/// Counts cover the main library only: no shared albums, iCloud links, Shared-with-You or trash.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LibrarySummary {
    /// `ZASSET` (iOS 14 and later) or `ZGENERICASSET` (iOS 11 to 13).
    pub schema: Option<String>,
    pub assets: Option<u64>,
    /// Not yet uploaded (`ZCLOUDLOCALSTATE` = 0) while iCloud Photos is on.
    pub waiting: Option<u64>,
    pub waiting_bytes: Option<u64>,
    pub oldest_waiting_added: Option<SystemTime>,
    /// Waiting assets that already had failed upload attempts.
    pub waiting_with_failed_attempts: Option<u64>,
    pub last_upload_attempt: Option<SystemTime>,
    /// Upload failed (`ZCLOUDLOCALSTATE` = 2).
    pub failed: Option<u64>,
    /// Quarantined, "Couldn't sync" (`ZCLOUDLOCALSTATE` = 4).
    pub quarantined: Option<u64>,
    /// Originals kept only in iCloud: Optimize iPhone Storage at work.
    pub cloud_only_originals: Option<u64>,
}

/// The whole section.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoLibrary {
    /// State file path (relative to the AFC root) → what reading it gave.
    pub files: BTreeMap<String, FileRead>,
    pub database: DatabaseRead,
    /// How many bytes of the database were read from the phone (in place, or copied whole),
    /// and when the read finished.
    pub copied_bytes: Option<u64>,
    pub read_at: Option<SystemTime>,
}

/// A malformed `PhotoLibrary` section: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct SectionError {
    pub key: String,
    pub problem: String,
}

const STATUS_OK: &str = "ok";
const STATUS_NOT_FOUND: &str = "not-found";
const STATUS_DENIED: &str = "permission-denied";
const STATUS_ERROR: &str = "error";
const STATUS_UNREADABLE: &str = "unreadable";
const STATUS_SKIPPED: &str = "skipped";
const STATUS_NOT_RECOGNISED: &str = "not-recognised";

/// The summary's plist keys, with how each is stored.
enum Field {
    Count(&'static str, fn(&mut LibrarySummary) -> &mut Option<u64>),
    Date(
        &'static str,
        fn(&mut LibrarySummary) -> &mut Option<SystemTime>,
    ),
}

const FIELDS: [Field; 9] = [
    Field::Count("Assets", |s| &mut s.assets),
    Field::Count("Waiting", |s| &mut s.waiting),
    Field::Count("WaitingBytes", |s| &mut s.waiting_bytes),
    Field::Date("OldestWaitingAdded", |s| &mut s.oldest_waiting_added),
    Field::Count("WaitingWithFailedAttempts", |s| {
        &mut s.waiting_with_failed_attempts
    }),
    Field::Date("LastUploadAttempt", |s| &mut s.last_upload_attempt),
    Field::Count("Failed", |s| &mut s.failed),
    Field::Count("Quarantined", |s| &mut s.quarantined),
    Field::Count("CloudOnlyOriginals", |s| &mut s.cloud_only_originals),
];

fn status(s: &str) -> plist::Value {
    plist::Value::String(s.to_string())
}

impl PhotoLibrary {
    pub fn to_plist(&self) -> plist::Value {
        let mut files = plist::Dictionary::new();
        for (path, read) in &self.files {
            let mut d = plist::Dictionary::new();
            match read {
                FileRead::Present { contents, modified } => {
                    d.insert("Status".into(), status(STATUS_OK));
                    d.insert("Contents".into(), plist::Value::Data(contents.clone()));
                    if let Some(m) = modified {
                        d.insert("Modified".into(), plist::Value::Date((*m).into()));
                    }
                }
                FileRead::NotFound => {
                    d.insert("Status".into(), status(STATUS_NOT_FOUND));
                }
                FileRead::PermissionDenied => {
                    d.insert("Status".into(), status(STATUS_DENIED));
                }
                FileRead::Failed(why) => {
                    d.insert("Status".into(), status(STATUS_ERROR));
                    d.insert("Error".into(), why.clone().into());
                }
            }
            files.insert(path.clone(), plist::Value::Dictionary(d));
        }
        let mut db = plist::Dictionary::new();
        match &self.database {
            DatabaseRead::Summary(s) => {
                db.insert("Status".into(), status(STATUS_OK));
                if let Some(schema) = &s.schema {
                    db.insert("Schema".into(), schema.clone().into());
                }
                let mut s = s.clone();
                for field in FIELDS {
                    match field {
                        Field::Count(key, get) => {
                            if let Some(v) = *get(&mut s) {
                                db.insert(key.into(), v.into());
                            }
                        }
                        Field::Date(key, get) => {
                            if let Some(v) = *get(&mut s) {
                                db.insert(key.into(), plist::Value::Date(v.into()));
                            }
                        }
                    }
                }
            }
            DatabaseRead::NotFound => {
                db.insert("Status".into(), status(STATUS_NOT_FOUND));
            }
            DatabaseRead::PermissionDenied => {
                db.insert("Status".into(), status(STATUS_DENIED));
            }
            DatabaseRead::Unreadable(why) => {
                db.insert("Status".into(), status(STATUS_UNREADABLE));
                db.insert("Error".into(), why.clone().into());
            }
            DatabaseRead::Skipped => {
                db.insert("Status".into(), status(STATUS_SKIPPED));
            }
            DatabaseRead::NotRecognised { schema, missing } => {
                db.insert("Status".into(), status(STATUS_NOT_RECOGNISED));
                if let Some(schema) = schema {
                    db.insert("Schema".into(), schema.clone().into());
                }
                db.insert(
                    "Missing".into(),
                    plist::Value::Array(missing.iter().map(|m| m.clone().into()).collect()),
                );
            }
        }
        let mut root = plist::Dictionary::new();
        root.insert("Files".into(), plist::Value::Dictionary(files));
        root.insert("Database".into(), plist::Value::Dictionary(db));
        if let Some(n) = self.copied_bytes {
            root.insert("CopiedBytes".into(), n.into());
        }
        if let Some(at) = self.read_at {
            root.insert("ReadAt".into(), plist::Value::Date(at.into()));
        }
        plist::Value::Dictionary(root)
    }

    /// Reads the section; `prefix` names it in errors (`PhotoLibrary`).
    pub fn from_plist(prefix: &str, value: &plist::Value) -> Result<Self, SectionError> {
        let err = |key: String, problem: &str| SectionError {
            key,
            problem: problem.to_string(),
        };
        let root = value
            .as_dictionary()
            .ok_or_else(|| err(prefix.into(), "expected a dictionary"))?;
        let mut files = BTreeMap::new();
        if let Some(v) = root.get("Files") {
            let dict = v
                .as_dictionary()
                .ok_or_else(|| err(format!("{prefix}/Files"), "expected a dictionary"))?;
            for (path, entry) in dict {
                let key = format!("{prefix}/Files/{path}");
                let entry = entry
                    .as_dictionary()
                    .ok_or_else(|| err(key.clone(), "expected a dictionary"))?;
                let read = match entry.get("Status").and_then(|v| v.as_string()) {
                    Some(STATUS_OK) => FileRead::Present {
                        contents: entry
                            .get("Contents")
                            .and_then(|v| v.as_data())
                            .ok_or_else(|| err(format!("{key}/Contents"), "expected data"))?
                            .to_vec(),
                        modified: match entry.get("Modified") {
                            None => None,
                            Some(plist::Value::Date(d)) => Some((*d).into()),
                            Some(_) => {
                                return Err(err(format!("{key}/Modified"), "expected a date"))
                            }
                        },
                    },
                    Some(STATUS_NOT_FOUND) => FileRead::NotFound,
                    Some(STATUS_DENIED) => FileRead::PermissionDenied,
                    Some(STATUS_ERROR) => FileRead::Failed(
                        entry
                            .get("Error")
                            .and_then(|v| v.as_string())
                            .unwrap_or("unknown")
                            .to_string(),
                    ),
                    _ => {
                        return Err(err(
                            format!("{key}/Status"),
                            "expected ok, not-found, permission-denied or error",
                        ))
                    }
                };
                files.insert(path.clone(), read);
            }
        }
        let db_key = format!("{prefix}/Database");
        let database = match root.get("Database") {
            None => DatabaseRead::Skipped,
            Some(v) => {
                let db = v
                    .as_dictionary()
                    .ok_or_else(|| err(db_key.clone(), "expected a dictionary"))?;
                match db.get("Status").and_then(|v| v.as_string()) {
                    Some(STATUS_OK) => {
                        let mut s = LibrarySummary {
                            schema: db
                                .get("Schema")
                                .and_then(|v| v.as_string())
                                .map(str::to_owned),
                            ..LibrarySummary::default()
                        };
                        for field in FIELDS {
                            match field {
                                Field::Count(key, get) => {
                                    *get(&mut s) = match db.get(key) {
                                        None => None,
                                        Some(v) => {
                                            Some(v.as_unsigned_integer().ok_or_else(|| {
                                                err(
                                                    format!("{db_key}/{key}"),
                                                    "expected a non-negative integer",
                                                )
                                            })?)
                                        }
                                    }
                                }
                                Field::Date(key, get) => {
                                    *get(&mut s) = match db.get(key) {
                                        None => None,
                                        Some(plist::Value::Date(d)) => Some((*d).into()),
                                        Some(_) => {
                                            return Err(err(
                                                format!("{db_key}/{key}"),
                                                "expected a date",
                                            ))
                                        }
                                    }
                                }
                            }
                        }
                        DatabaseRead::Summary(s)
                    }
                    Some(STATUS_NOT_FOUND) => DatabaseRead::NotFound,
                    Some(STATUS_DENIED) => DatabaseRead::PermissionDenied,
                    Some(STATUS_UNREADABLE) => DatabaseRead::Unreadable(
                        db.get("Error")
                            .and_then(|v| v.as_string())
                            .unwrap_or("unknown")
                            .to_string(),
                    ),
                    Some(STATUS_SKIPPED) => DatabaseRead::Skipped,
                    Some(STATUS_NOT_RECOGNISED) => DatabaseRead::NotRecognised {
                        schema: db
                            .get("Schema")
                            .and_then(|v| v.as_string())
                            .map(str::to_owned),
                        missing: match db.get("Missing") {
                            None => Vec::new(),
                            Some(plist::Value::Array(items)) => items
                                .iter()
                                .map(|v| {
                                    v.as_string().map(str::to_owned).ok_or_else(|| {
                                        err(format!("{db_key}/Missing"), "expected strings")
                                    })
                                })
                                .collect::<Result<_, _>>()?,
                            Some(_) => {
                                return Err(err(format!("{db_key}/Missing"), "expected an array"))
                            }
                        },
                    },
                    _ => {
                        return Err(err(
                            format!("{db_key}/Status"),
                            "expected ok, not-found, permission-denied, unreadable, skipped or not-recognised",
                        ))
                    }
                }
            }
        };
        let copied_bytes = match root.get("CopiedBytes") {
            None => None,
            Some(v) => Some(v.as_unsigned_integer().ok_or_else(|| {
                err(
                    format!("{prefix}/CopiedBytes"),
                    "expected a non-negative integer",
                )
            })?),
        };
        let read_at = match root.get("ReadAt") {
            None => None,
            Some(plist::Value::Date(d)) => Some((*d).into()),
            Some(_) => return Err(err(format!("{prefix}/ReadAt"), "expected a date")),
        };
        Ok(PhotoLibrary {
            files,
            database,
            copied_bytes,
            read_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn sample() -> PhotoLibrary {
        let at = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let mut files = BTreeMap::new();
        files.insert(
            crate::photos::SYNC_STATUS.to_string(),
            FileRead::Present {
                contents: b"<plist/>".to_vec(),
                modified: Some(at),
            },
        );
        files.insert(crate::photos::PAUSE.to_string(), FileRead::NotFound);
        files.insert(
            crate::photos::APP_PRIVATE_DATA.to_string(),
            FileRead::PermissionDenied,
        );
        files.insert(
            crate::photos::INITIAL_SYNC_MARKER.to_string(),
            FileRead::Failed("AFC error 7".into()),
        );
        PhotoLibrary {
            files,
            database: DatabaseRead::Summary(LibrarySummary {
                schema: Some("ZASSET".into()),
                assets: Some(1200),
                waiting: Some(40),
                waiting_bytes: Some(120_000_000),
                oldest_waiting_added: Some(at),
                waiting_with_failed_attempts: Some(3),
                last_upload_attempt: Some(at),
                failed: Some(1),
                quarantined: Some(0),
                cloud_only_originals: None,
            }),
            copied_bytes: Some(4096),
            read_at: Some(at),
        }
    }

    #[test]
    fn round_trips_through_plist() {
        let lib = sample();
        assert_eq!(
            PhotoLibrary::from_plist("PhotoLibrary", &lib.to_plist()).unwrap(),
            lib
        );
        for db in [
            DatabaseRead::NotFound,
            DatabaseRead::PermissionDenied,
            DatabaseRead::Unreadable("not a database".into()),
            DatabaseRead::Skipped,
            DatabaseRead::NotRecognised {
                schema: Some("ZASSET".into()),
                missing: vec!["ZASSET.ZCLOUDLOCALSTATE".into()],
            },
            DatabaseRead::NotRecognised {
                schema: None,
                missing: vec!["ZASSET or ZGENERICASSET".into()],
            },
        ] {
            let lib = PhotoLibrary {
                database: db,
                ..sample()
            };
            assert_eq!(
                PhotoLibrary::from_plist("PhotoLibrary", &lib.to_plist()).unwrap(),
                lib
            );
        }
    }

    #[test]
    fn wrong_shapes_name_the_key() {
        let mut v = sample().to_plist();
        let db = v
            .as_dictionary_mut()
            .unwrap()
            .get_mut("Database")
            .unwrap()
            .as_dictionary_mut()
            .unwrap();
        db.insert("Waiting".into(), "lots".into());
        let e = PhotoLibrary::from_plist("PhotoLibrary", &v).unwrap_err();
        assert_eq!(e.key, "PhotoLibrary/Database/Waiting");
        let e = PhotoLibrary::from_plist("PhotoLibrary", &plist::Value::Boolean(true)).unwrap_err();
        assert_eq!(e.key, "PhotoLibrary");
    }
}
