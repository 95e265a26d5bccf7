//! Reading a file whose path the user gave (`--from`, `--thresholds`, `report --from`): only a
//! regular file, and only up to a size limit checked before anything is read.
//!
//! A FIFO given as a path would block the open (until a writer comes) and then the read (until
//! it writes); a device or a huge file would be read for as long as it yields bytes. So the
//! path is opened without blocking, the opened handle (not the path, which may change between a
//! check and an open) is asked what it is and how large, and only then read, still bounded in
//! case the file grows meanwhile.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Why a user-given file was not read.
#[derive(Debug, thiserror::Error)]
pub enum UserFileError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a regular file (it is {0}), so it is not read")]
    NotAFile(&'static str),
    #[error("the file is {size} bytes, over the limit of {limit} bytes, so it is not read")]
    TooLarge { size: u64, limit: u64 },
}

/// Reads the regular file at `path` whole, refusing anything else and anything over `limit`
/// bytes before reading a byte of it.
pub fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, UserFileError> {
    let file = open_regular_file(path)?;
    let size = file.metadata()?.len();
    if size > limit {
        return Err(UserFileError::TooLarge { size, limit });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        // It grew after the size was read.
        return Err(UserFileError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Opens `path` for reading without blocking, and keeps it only if the opened handle is a
/// regular file.
pub fn open_regular_file(path: &Path) -> Result<File, UserFileError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading blocks until a writer opens it, unless O_NONBLOCK.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(UserFileError::NotAFile(describe(&kind)));
    }
    Ok(file)
}

/// What a file that is not a regular file is, in a technician's words.
fn describe(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else {
        "not a plain file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(read_regular_file(&path, 5).unwrap(), b"hello");
        assert!(matches!(
            read_regular_file(&path, 4),
            Err(UserFileError::TooLarge { size: 5, limit: 4 })
        ));
    }

    #[test]
    fn a_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_regular_file(dir.path(), 10),
            Err(UserFileError::NotAFile("a folder"))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        // No writer ever opens it: a blocking open would hang this test.
        assert!(matches!(
            read_regular_file(&path, 10),
            Err(UserFileError::NotAFile("a named pipe"))
        ));
    }

    #[test]
    fn a_huge_sparse_file_is_refused_by_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge");
        // Sparse: no disk is filled.
        File::create(&path).unwrap().set_len(1 << 32).unwrap();
        assert!(matches!(
            read_regular_file(&path, 1024),
            Err(UserFileError::TooLarge { size, limit: 1024 }) if size == 1 << 32
        ));
    }
}
