//! The originals of a simulated phone's photos and videos, where its library says they are.
//!
//! On a phone, `com.apple.afc` roots at `/var/mobile/Media`, beside `PhotoData/` sits `DCIM/`,
//! and each asset's original is the file `ZDIRECTORY/ZFILENAME` of its row in the asset table
//! (`DCIM/100APPLE/IMG_0001.HEIC`). A Live Photo (`ZKINDSUBTYPE` 2) keeps its video beside the
//! still, with the same base name and `.MOV` (see docs/device-facts.md, "Rescue").
//!
//! The simulator reads its own Photos.sqlite (whatever [`crate::synth`] built: trashed, hidden,
//! shared-album, iCloud-link and Shared-with-You rows included) and serves one file for every
//! asset row with a directory and a name, of the size `ZORIGINALFILESIZE` gives it. Nothing is
//! held in memory or on disk: the bytes are made on demand from a seed (the path), so a
//! library of many gigabytes costs nothing until it is read, and a test can check a rescued
//! file byte for byte with [`contents`].
//!
//! Two fault modes act on one original each (see [`super::faults`]): `original-changes=PATH`
//! (the phone rewrites it while every copy is under way) and `original-vanishes=PATH` (it is
//! deleted during the first copy). A refused original is `afc-denied=PATH`.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OpenFlags};
use synccheck_device::photos_query::{from_core_data, MAIN_FILE, WAL_FILE};

use super::lock;
use super::paged::Contents;

/// Size of an original whose library row gives none (or an absurd one): a typical HEIC.
const DEFAULT_SIZE: u64 = 2_400_000;

/// A Live Photo's video is about this fraction of its still's size (3 s of HEVC at 1080p).
const LIVE_VIDEO_DIVISOR: u64 = 2;

/// How much an original grows each time the `original-changes` fault rewrites it.
pub const CHANGE_GROWTH: u64 = 4096;

/// `ZKINDSUBTYPE` of a Live Photo.
const KIND_SUBTYPE_LIVE: i64 = 2;

/// One original file the phone serves.
#[derive(Debug)]
pub(crate) struct Original {
    /// Its path below the AFC root, which seeds its bytes.
    pub path: String,
    state: Mutex<OriginalState>,
}

#[derive(Debug, Clone, Copy)]
struct OriginalState {
    size: u64,
    mtime: SystemTime,
    /// How many times the phone rewrote it: each rewrite changes every byte.
    generation: u64,
    gone: bool,
}

impl Original {
    pub fn new(path: String, size: u64, mtime: SystemTime) -> Self {
        Original {
            path,
            state: Mutex::new(OriginalState {
                size,
                mtime,
                generation: 0,
                gone: false,
            }),
        }
    }

    pub fn size(&self) -> u64 {
        lock(&self.state).size
    }

    pub fn mtime(&self) -> SystemTime {
        lock(&self.state).mtime
    }

    pub fn is_gone(&self) -> bool {
        lock(&self.state).gone
    }

    /// `original-changes`: the phone writes the file (an edit saved): longer, newer, new bytes.
    pub fn change(&self) {
        let mut s = lock(&self.state);
        s.size += CHANGE_GROWTH;
        s.mtime += Duration::from_secs(1);
        s.generation += 1;
    }

    /// `original-vanishes`: the file is deleted; handles already open read on, as on Unix.
    pub fn vanish(&self) {
        lock(&self.state).gone = true;
    }

    /// Up to `len` bytes from `offset`, as they are now.
    pub fn read(&self, offset: u64, len: u64) -> Vec<u8> {
        let s = *lock(&self.state);
        let end = offset.saturating_add(len).min(s.size);
        if offset >= end {
            return Vec::new();
        }
        bytes_at(seed(&self.path, s.generation), offset, end - offset)
    }
}

/// The bytes of the original at `path` (below the AFC root) as first served, `size` long: what a
/// rescue must have copied.
pub fn contents(path: &str, size: u64) -> Vec<u8> {
    bytes_at(seed(path, 0), 0, size)
}

fn seed(path: &str, generation: u64) -> u64 {
    // FNV-1a: stable across runs and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ generation.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// splitmix64: each 8-byte word of a file is a function of its seed and index alone, so any
/// range is made without the bytes before it.
fn word(seed: u64, index: u64) -> [u8; 8] {
    let mut z = seed.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)).to_le_bytes()
}

fn bytes_at(seed: u64, offset: u64, len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len as usize);
    let mut pos = offset;
    let end = offset + len;
    while pos < end {
        let w = word(seed, pos / 8);
        let from = (pos % 8) as usize;
        let take = ((end - pos) as usize).min(8 - from);
        out.extend_from_slice(&w[from..from + take]);
        pos += take as u64;
    }
    out
}

/// One asset row's original, as the library describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// `ZDIRECTORY/ZFILENAME`, relative to the AFC root.
    pub path: String,
    pub size: u64,
    pub modified: Option<SystemTime>,
    /// The path of the paired video of a Live Photo.
    pub live_video: Option<(String, u64)>,
}

/// Every original the library at (`main`, `wal`) places on the phone, trashed, hidden and
/// shared ones included. A library without the columns that say where files are has none.
pub fn list(main: &[u8], wal: &[u8]) -> Result<Vec<Listed>, String> {
    list_contents(&Contents::Flat(std::sync::Arc::new(main.to_vec())), wal)
}

/// [`list`] over a library as the AFC volume serves it, flat or paged.
pub(crate) fn list_contents(main: &Contents, wal: &[u8]) -> Result<Vec<Listed>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    write_contents(&dir.path().join(MAIN_FILE), main).map_err(|e| e.to_string())?;
    if !wal.is_empty() {
        std::fs::write(dir.path().join(WAL_FILE), wal).map_err(|e| e.to_string())?;
    }
    list_at(&dir.path().join(MAIN_FILE)).map_err(|e| e.to_string())
}

/// Writes `contents` a slice at a time: a realistic library is served from pages and never
/// held whole in memory.
fn write_contents(path: &Path, contents: &Contents) -> std::io::Result<()> {
    use std::io::Write;
    const SLICE: u64 = 16 << 20;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut at = 0;
    while at < contents.len() {
        let end = (at + SLICE).min(contents.len());
        file.write_all(&contents.read(at, end))?;
        at = end;
    }
    file.flush()
}

fn list_at(main: &Path) -> Result<Vec<Listed>, rusqlite::Error> {
    let conn = Connection::open_with_flags(main, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let has_table = |t: &str| -> Result<bool, rusqlite::Error> {
        conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [t],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
    };
    let columns = |t: &str| -> Result<Vec<String>, rusqlite::Error> {
        let mut stmt = conn.prepare(&format!("PRAGMA table_info({t})"))?;
        let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
        names.collect()
    };
    let Some(table) = ["ZASSET", "ZGENERICASSET"]
        .into_iter()
        .find(|t| has_table(t).unwrap_or(false))
    else {
        return Ok(Vec::new());
    };
    let cols = columns(table)?;
    let has = |c: &str| cols.iter().any(|x| x == c);
    if !(has("ZDIRECTORY") && has("ZFILENAME")) {
        return Ok(Vec::new());
    }
    let attrs = has_table("ZADDITIONALASSETATTRIBUTES")?
        .then(|| columns("ZADDITIONALASSETATTRIBUTES"))
        .transpose()?
        .unwrap_or_default();
    let size = if attrs.iter().any(|c| c == "ZORIGINALFILESIZE")
        && attrs.iter().any(|c| c == "ZASSET")
    {
        "(SELECT aa.ZORIGINALFILESIZE FROM ZADDITIONALASSETATTRIBUTES aa WHERE aa.ZASSET = a.Z_PK LIMIT 1)"
    } else {
        "NULL"
    };
    let subtype = if has("ZKINDSUBTYPE") {
        "a.ZKINDSUBTYPE"
    } else {
        "0"
    };
    let created = if has("ZDATECREATED") {
        "a.ZDATECREATED"
    } else {
        "NULL"
    };
    let sql = format!(
        "SELECT a.ZDIRECTORY, a.ZFILENAME, {size}, {subtype}, {created} FROM {table} a \
         WHERE a.ZDIRECTORY IS NOT NULL AND a.ZFILENAME IS NOT NULL"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<i64>>(2).ok().flatten(),
            r.get::<_, Option<i64>>(3).ok().flatten(),
            r.get::<_, Option<f64>>(4).ok().flatten(),
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (directory, name, size, subtype, created) = row?;
        let size = size
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_SIZE);
        let path = format!("{}/{}", directory.trim_matches('/'), name);
        let live_video = (subtype == Some(KIND_SUBTYPE_LIVE)).then(|| {
            let base = name.rsplit_once('.').map_or(name.as_str(), |(b, _)| b);
            (
                format!("{}/{base}.MOV", directory.trim_matches('/')),
                (size / LIVE_VIDEO_DIVISOR).max(1),
            )
        });
        out.push(Listed {
            path,
            size,
            modified: created.and_then(from_core_data),
            live_video,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_the_same_whatever_the_range() {
        let whole = contents("DCIM/100APPLE/IMG_0001.HEIC", 1000);
        assert_eq!(whole.len(), 1000);
        let o = Original::new(
            "DCIM/100APPLE/IMG_0001.HEIC".into(),
            1000,
            SystemTime::UNIX_EPOCH,
        );
        let mut pieced = Vec::new();
        for (from, len) in [(0, 3), (3, 17), (20, 500), (520, 4096)] {
            pieced.extend(o.read(from, len));
        }
        assert_eq!(pieced, whole);
        assert_ne!(contents("DCIM/100APPLE/IMG_0002.HEIC", 1000), whole);
    }

    #[test]
    fn a_change_makes_new_bytes_and_a_new_size() {
        let o = Original::new("a/b".into(), 100, SystemTime::UNIX_EPOCH);
        let before = o.read(0, 100);
        o.change();
        assert_eq!(o.size(), 100 + CHANGE_GROWTH);
        assert_ne!(o.read(0, 100), before);
    }

    #[test]
    fn lists_every_row_with_a_place_and_pairs_live_videos() {
        let summary = synccheck_core::photos::LibrarySummary {
            waiting: Some(3),
            failed: Some(0),
            quarantined: Some(0),
            waiting_bytes: Some(30_000),
            assets: Some(40),
            ..Default::default()
        };
        let lib = crate::synth::build(&summary).unwrap();
        let listed = list(&lib.main, &lib.wal).unwrap();
        assert!(listed.len() >= 40, "{}", listed.len());
        assert!(listed.iter().all(|l| l.path.starts_with("DCIM/")));
        assert!(listed.iter().any(|l| l.live_video.is_some()));
    }
}
