//! `manifest.json` in a phone's rescue folder: what was rescued, from which phone, and when.
//! It is the one record that names the customer's files (they are in the folder beside it
//! anyway); `--redact` leaves out the phone's name and serial.
//!
//! A later run merges: the files it copied or found, plus the files earlier runs rescued that
//! are still in the folder (a photo uploaded since is no longer listed by the library, but its
//! copy is still here).

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The manifest's file name in the phone's folder.
pub const FILE_NAME: &str = "manifest.json";

/// The format's name and version, first in the file.
pub const FORMAT: &str = "synccheck-rescue/1";

/// The largest manifest read back: some 2 million entries of a few hundred bytes would pass
/// this long before memory is a worry; more is not ours.
const MAX_MANIFEST_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub phone: ManifestPhone,
    /// When this run finished (RFC 3339, UTC).
    pub rescued_at: String,
    /// `not-uploaded`, or `all` with `--all`.
    pub selection: String,
    pub counts: ManifestCounts,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManifestPhone {
    pub model: Option<String>,
    /// `None` with `--redact`.
    pub name: Option<String>,
    /// `None` with `--redact`.
    pub serial: Option<String>,
    /// A tag a later `--redact` run finds this folder by; no identifier can be read from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManifestCounts {
    /// Files in the folder (copied now or before).
    pub rescued_files: u64,
    pub rescued_bytes: u64,
    /// Copied by this run.
    pub copied_files: u64,
    pub copied_bytes: u64,
    /// Files not rescued by this run (refused, gone, changing, disk full, failed).
    pub not_rescued: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Its path in the phone's folder (`DCIM/100APPLE/IMG_0001.HEIC`).
    pub path: String,
    /// Where it was on the phone, below `/var/mobile/Media`.
    pub phone_path: String,
    /// The photo's date (when it was taken, else added), RFC 3339.
    pub date: Option<String>,
    pub size: Option<u64>,
    /// `copied`, `already-there`, `refused`, `vanished`, `kept-changing`, `disk-full`, `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub live_photo_video: bool,
}

impl ManifestFile {
    pub fn is_rescued(&self) -> bool {
        matches!(self.status.as_str(), "copied" | "already-there")
    }
}

pub fn time(t: std::time::SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The manifest in `folder`, if there is one this version can read; anything else is `None`
/// (the run then writes a fresh one).
pub fn read(folder: &Path) -> Option<Manifest> {
    let path = folder.join(FILE_NAME);
    let meta = std::fs::metadata(&path).ok()?;
    if meta.len() > MAX_MANIFEST_BYTES {
        return None;
    }
    let bytes = std::fs::read(&path).ok()?;
    serde_json::from_slice::<Manifest>(&bytes)
        .ok()
        .filter(|m| m.format == FORMAT)
}

impl Manifest {
    /// This run's files, then those of `earlier` still in `folder` that this run did not list.
    pub fn merge_earlier(&mut self, earlier: Option<Manifest>, folder: &Path) {
        let Some(earlier) = earlier else { return };
        let listed: std::collections::HashSet<String> =
            self.files.iter().map(|f| f.path.clone()).collect();
        for f in earlier.files {
            // The manifest is a file anyone with the folder can edit: a path that is absolute
            // or climbs out (`/etc/passwd`, `../x`) names nothing in this folder.
            let inside = !f.path.is_empty()
                && Path::new(&f.path)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            if inside
                && f.is_rescued()
                && !listed.contains(&f.path)
                && folder.join(&f.path).is_file()
            {
                self.files.push(f);
            }
        }
    }

    /// Counts the files as they now stand (the copied ones are this run's).
    pub fn count(&mut self, copied_files: u64, copied_bytes: u64) {
        let rescued = self.files.iter().filter(|f| f.is_rescued());
        self.counts = ManifestCounts {
            rescued_files: rescued.clone().count() as u64,
            rescued_bytes: rescued.map(|f| f.size.unwrap_or(0)).sum(),
            copied_files,
            copied_bytes,
            not_rescued: self.files.iter().filter(|f| !f.is_rescued()).count() as u64,
        };
    }

    /// Writes `folder/manifest.json` whole or not at all.
    pub fn write(&self, folder: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let mut tmp = tempfile::NamedTempFile::new_in(folder)?;
        serde_json::to_writer_pretty(&mut tmp, self).map_err(std::io::Error::other)?;
        tmp.write_all(b"\n")?;
        tmp.as_file().sync_all()?;
        tmp.persist(folder.join(FILE_NAME)).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, status: &str) -> ManifestFile {
        ManifestFile {
            path: path.into(),
            phone_path: path.into(),
            date: None,
            size: Some(5),
            status: status.into(),
            live_photo_video: false,
        }
    }

    fn manifest(files: Vec<ManifestFile>) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            phone: ManifestPhone::default(),
            rescued_at: "2026-01-01T00:00:00Z".into(),
            selection: "not-uploaded".into(),
            counts: ManifestCounts::default(),
            files,
        }
    }

    #[test]
    fn earlier_files_still_here_are_kept_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"12345").unwrap();
        let earlier = manifest(vec![
            file("a", "copied"),
            file("gone", "copied"),
            file("b", "refused"),
        ]);
        earlier.write(dir.path()).unwrap();
        let mut now = manifest(vec![file("c", "copied"), file("b", "refused")]);
        now.merge_earlier(read(dir.path()), dir.path());
        now.count(1, 5);
        let paths: Vec<_> = now.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["c", "b", "a"]);
        assert_eq!(now.counts.rescued_files, 2);
        assert_eq!(now.counts.rescued_bytes, 10);
        assert_eq!(now.counts.not_rescued, 1);
    }

    #[test]
    fn an_unreadable_manifest_is_none() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        assert!(read(dir.path()).is_none());
    }
}
