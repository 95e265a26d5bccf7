//! Files the CLI writes for people (snapshots, HTML sheets): written beside the target and
//! renamed into place, so a crash or a full disk never leaves half a file under its name.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `path` through `fill`; the file appears whole or not at all.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    fill(tmp.as_file_mut())?;
    tmp.as_file_mut().flush()?;
    // On disk before the rename: after a power cut the name holds the whole file, not an empty one.
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The files of one command's phones: `scan.plist` → `scan-<tag>.plist`, one per phone. The
/// tag comes from the phone (its UDID), so it goes through the one file-name sanitiser
/// ([`synccheck_wire::phone_text::file_name_part`]): no `../`, slash, NUL or overlong name reaches the
/// file system, and every file stays in the target's folder. Two phones whose tags are the same
/// (a cloned or tampered UDID, or two that sanitise alike) get `-2`, `-3`, ... so one never
/// overwrites the other.
pub struct PerDevice<'a> {
    path: &'a Path,
    taken: HashSet<String>,
}

impl<'a> PerDevice<'a> {
    pub fn new(path: &'a Path) -> Self {
        PerDevice {
            path,
            taken: HashSet::new(),
        }
    }

    /// The next phone's file, named by `tag`.
    pub fn path_for(&mut self, tag: &str) -> PathBuf {
        let safe = synccheck_wire::phone_text::file_name_part(tag);
        let mut n = 1;
        let name = loop {
            let candidate = match n {
                1 => safe.clone(),
                n => format!("{safe}-{n}"),
            };
            // Case-insensitive: two names differing only in case are one file on macOS.
            if self.taken.insert(candidate.to_ascii_lowercase()) {
                break candidate;
            }
            n += 1;
        };
        per_device(self.path, &name)
    }
}

/// `scan.plist` → `scan-<tag>.plist`, `tag` already safe for a file name.
fn per_device(path: &Path, tag: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{tag}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{tag}"),
    };
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_tags_stay_in_the_folder_and_never_collide() {
        let mut names = PerDevice::new(Path::new("out/scan.plist"));
        let got: Vec<PathBuf> = ["../../x", "U1", "U1", "u1", "a/b\0", &"F".repeat(300)]
            .iter()
            .map(|t| names.path_for(t))
            .collect();
        let want = [
            "out/scan-______x.plist".to_string(),
            "out/scan-U1.plist".to_string(),
            "out/scan-U1-2.plist".to_string(),
            "out/scan-u1-3.plist".to_string(),
            "out/scan-a_b_.plist".to_string(),
            format!("out/scan-{}.plist", "F".repeat(64)),
        ];
        assert_eq!(got, want.map(PathBuf::from));
        assert!(got.iter().all(|p| p.parent() == Some(Path::new("out"))));
    }

    #[test]
    fn per_device_names_keep_the_extension() {
        assert_eq!(
            per_device(Path::new("out/scan.plist"), "U1"),
            PathBuf::from("out/scan-U1.plist")
        );
        assert_eq!(
            per_device(Path::new("scan"), "U1"),
            PathBuf::from("scan-U1")
        );
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.html");
        let err = write_atomically(&target, |_| Err(std::io::Error::other("disk full")));
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_atomically(&target, |f| f.write_all(b"whole")).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
    }
}
