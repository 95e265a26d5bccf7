//! Files the CLI writes for people (snapshots, HTML sheets): written beside the target and
//! renamed into place, so a crash or a full disk never leaves half a file under its name.

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

/// `scan.plist` → `scan-<tag>.plist`: one file per phone.
pub fn per_device(path: &Path, tag: &str) -> PathBuf {
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
