//! `synccheck rescue`'s copy: the originals the library lists ([`crate::rescue_query`]) from
//! the phone over AFC into a folder on this computer, verified, resumable, read-only on the
//! phone.
//!
//! Each file: the phone's stat first (a file already here at that size is skipped without a
//! read); then a read-only copy into a temporary name beside its final one, its size checked
//! against the stat, the phone's stat taken again (a file that changed while it was copied is
//! copied again, [`ATTEMPTS`] times, then reported), flushed to disk, and renamed into place.
//! A file the phone refuses, or that is gone, is reported and the rest go on; a disk that is
//! full (or the `--disk-budget`) ends the copy, and what is left is reported. Only a broken
//! connection is an error of the whole run.
//!
//! Names from the phone become local paths through [`local_path`]: every part through the one
//! file-name sanitiser ([`synccheck_wire::phone_text::file_name_part`]), so nothing from the
//! phone leaves the phone's folder, starts with a dot, or holds a separator.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::afc::{Afc, AfcError, FileKind, FileStat};
use crate::limits::{DiskBudget, DiskCharge, LimitError, ScanLimits};
use crate::photos_in_place::query_database_in_place;
use crate::rescue_query::{RescueAsset, RescueList, Selection};
use crate::DeviceError;
use synccheck_core::photos::DatabaseRead;
use synccheck_wire::phone_text::file_name_part;

/// How many times a file that changes while it is copied is copied.
pub const ATTEMPTS: usize = 3;

/// Longest file extension kept as one (`.HEIC`, `.JPEG`, `.MOV`); a longer one is part of
/// the name.
const MAX_EXTENSION: usize = 8;

/// One file to copy.
#[derive(Debug, Clone, PartialEq)]
pub struct RescueFile {
    /// Its path on the phone, below the AFC root (the phone's text: never logged above debug).
    pub phone_path: String,
    /// Where it goes, relative to the phone's folder: sanitised, distinct from every other.
    pub local: PathBuf,
    /// What the library says of its size; the phone's stat decides.
    pub library_size: Option<u64>,
    pub date: Option<SystemTime>,
    /// The video of a Live Photo: copied when the phone has one, skipped quietly otherwise.
    pub live_video: bool,
}

/// The files for `list`: each asset's original, and after each Live Photo its video.
pub fn plan(list: &RescueList) -> Vec<RescueFile> {
    let mut taken = Taken::default();
    let mut files = Vec::with_capacity(list.assets.len());
    for asset in &list.assets {
        let (dir, stem, ext) = local_parts(asset);
        let stem = distinct(&mut taken, &dir, &stem, &ext, asset.live_photo);
        let directory = asset.directory.trim_matches('/');
        let join = |name: &str| {
            if directory.is_empty() {
                name.to_string()
            } else {
                format!("{directory}/{name}")
            }
        };
        files.push(RescueFile {
            phone_path: join(&asset.file_name),
            local: dir.join(with_ext(&stem, &ext)),
            library_size: asset.size,
            date: asset.date,
            live_video: false,
        });
        if asset.live_photo {
            let base = asset
                .file_name
                .rsplit_once('.')
                .map_or(asset.file_name.as_str(), |(b, _)| b);
            files.push(RescueFile {
                phone_path: join(&format!("{base}.MOV")),
                local: dir.join(with_ext(&stem, "MOV")),
                library_size: None,
                date: asset.date,
                live_video: true,
            });
        }
    }
    files
}

fn with_ext(stem: &str, ext: &str) -> String {
    if ext.is_empty() {
        stem.to_string()
    } else {
        format!("{stem}.{ext}")
    }
}

/// The asset's local folder, name and extension, each through the sanitiser.
fn local_parts(asset: &RescueAsset) -> (PathBuf, String, String) {
    let dir: PathBuf = asset
        .directory
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(file_name_part)
        .collect();
    let (stem, ext) = match asset.file_name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && !ext.is_empty()
                && ext.len() <= MAX_EXTENSION
                && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            (stem, ext)
        }
        _ => (asset.file_name.as_str(), ""),
    };
    (dir, file_name_part(stem), ext.to_string())
}

/// The local names given so far (lowercased, as macOS compares them), and for each name asked
/// for, the suffix to try next: every one before it is taken already, and stays so.
#[derive(Default)]
struct Taken {
    names: HashSet<String>,
    next: HashMap<(String, bool), usize>,
}

/// A name no other file of this rescue has (case-insensitively, as on macOS): `-2`, `-3`, ...
/// after the name when two sanitise alike. A Live Photo reserves its video's name too.
fn distinct(taken: &mut Taken, dir: &Path, stem: &str, ext: &str, live: bool) -> String {
    let key = |s: &str, e: &str| dir.join(with_ext(s, e)).to_string_lossy().to_lowercase();
    let asked = (key(stem, ext), live);
    let mut n = taken.next.get(&asked).copied().unwrap_or(1);
    loop {
        let candidate = match n {
            1 => stem.to_string(),
            n => format!("{stem}-{n}"),
        };
        let clash = taken.names.contains(&key(&candidate, ext))
            || (live && taken.names.contains(&key(&candidate, "MOV")));
        if !clash {
            taken.names.insert(key(&candidate, ext));
            if live {
                taken.names.insert(key(&candidate, "MOV"));
            }
            taken.next.insert(asked, n + 1);
            return candidate;
        }
        n += 1;
    }
}

/// How one file went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Copied and verified: this many bytes.
    Copied(u64),
    /// Already in the folder at the phone's size: not read again.
    AlreadyThere(u64),
    /// A Live Photo whose video the phone does not have: nothing to copy, nothing missing.
    NoVideo,
    /// The phone refused to let it be read (AFC permission denied).
    Refused,
    /// Not on the phone, or gone while it was copied.
    Vanished,
    /// It changed during every one of [`ATTEMPTS`] copies.
    KeptChanging,
    /// This computer's disk (or the `--disk-budget`) is full: this file and the rest wait.
    DiskFull(String),
    /// Anything else this file met (a local write error, an odd AFC error), in one sentence.
    Failed(String),
}

impl Outcome {
    /// Whether the file is safe in the folder (or there was nothing to copy).
    pub fn is_rescued(&self) -> bool {
        matches!(
            self,
            Outcome::Copied(_) | Outcome::AlreadyThere(_) | Outcome::NoVideo
        )
    }

    /// A word for the manifest.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Copied(_) => "copied",
            Outcome::AlreadyThere(_) => "already-there",
            Outcome::NoVideo => "no-video",
            Outcome::Refused => "refused",
            Outcome::Vanished => "vanished",
            Outcome::KeptChanging => "kept-changing",
            Outcome::DiskFull(_) => "disk-full",
            Outcome::Failed(_) => "failed",
        }
    }

    /// Why a file was not rescued, in plain words (no file name).
    pub fn reason(&self) -> Option<String> {
        match self {
            Outcome::Copied(_) | Outcome::AlreadyThere(_) | Outcome::NoVideo => None,
            Outcome::Refused => Some("the iPhone refused to let it be read".into()),
            Outcome::Vanished => Some("it is no longer on the iPhone".into()),
            Outcome::KeptChanging => Some(format!(
                "it changed on the iPhone during each of {ATTEMPTS} copies"
            )),
            Outcome::DiskFull(why) => Some(why.clone()),
            Outcome::Failed(why) => Some(why.clone()),
        }
    }

    /// The bytes now in the folder for this file.
    pub fn bytes(&self) -> u64 {
        match self {
            Outcome::Copied(n) | Outcome::AlreadyThere(n) => *n,
            _ => 0,
        }
    }
}

/// Where the files go and what they may spend.
pub struct Destination {
    /// The phone's folder; created with the folders inside it as needed.
    pub root: PathBuf,
    pub budget: DiskBudget,
}

/// Copies one file into `dest` (see the module documentation). `progress` hears the bytes of
/// each chunk as it is written. Only a lost connection is an `Err`.
pub async fn rescue_file(
    afc: &mut Afc,
    file: &RescueFile,
    dest: &Destination,
    charge: &mut DiskCharge,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<Outcome, DeviceError> {
    let target = dest.root.join(&file.local);
    let before = match afc.stat(&file.phone_path).await {
        Ok(s) if s.kind == FileKind::Directory => {
            return Ok(Outcome::Failed("a folder, not a file".into()))
        }
        Ok(s) => s,
        Err(AfcError::NotFound) if file.live_video => return Ok(Outcome::NoVideo),
        Err(e) => return outcome_of(e),
    };
    // Resumable: a file already here at the phone's size was copied whole (renamed into place
    // only after its check), so it is not read again.
    if let Ok(meta) = std::fs::metadata(&target) {
        if meta.is_file() && meta.len() == before.size {
            return Ok(Outcome::AlreadyThere(before.size));
        }
    }
    let folder = target.parent().unwrap_or(&dest.root).to_path_buf();
    if let Err(e) = std::fs::create_dir_all(&folder) {
        return Ok(local_failure(e));
    }
    let mut before = before;
    for attempt in 1..=ATTEMPTS {
        if let Err(e) = dest.budget.check(&folder, before.size) {
            return Ok(Outcome::DiskFull(limit_words(e)));
        }
        let tmp = match tempfile::Builder::new()
            .prefix(".synccheck-rescue-")
            .suffix(".partial")
            .tempfile_in(&folder)
        {
            Ok(tmp) => tmp,
            Err(e) => return Ok(local_failure(e)),
        };
        let copied = {
            let mut local = tokio::fs::File::from_std(match tmp.as_file().try_clone() {
                Ok(f) => f,
                Err(e) => return Ok(local_failure(e)),
            });
            afc.copy_within(&file.phone_path, &mut local, charge, |done, _| {
                progress(done);
            })
            .await
        };
        let copied = match copied {
            Ok(n) => n,
            Err(e) => return outcome_of(e),
        };
        let after = match afc.stat(&file.phone_path).await {
            Ok(s) => s,
            Err(AfcError::NotFound) => return Ok(Outcome::Vanished),
            Err(e) => return outcome_of(e),
        };
        if !unchanged(&before, &after) || copied != after.size {
            tracing::debug!(attempt, "a file changed on the phone while it was copied");
            before = after;
            continue;
        }
        return Ok(match finish(tmp, &target, file.date) {
            Ok(()) => Outcome::Copied(copied),
            Err(e) => local_failure(e),
        });
    }
    Ok(Outcome::KeptChanging)
}

fn unchanged(a: &FileStat, b: &FileStat) -> bool {
    a.size == b.size && a.modified == b.modified
}

/// On disk, then under its name: after a power cut the name holds the whole file or nothing.
fn finish(
    tmp: tempfile::NamedTempFile,
    target: &Path,
    date: Option<SystemTime>,
) -> std::io::Result<()> {
    let mut file = tmp.as_file();
    file.flush()?;
    if let Some(date) = date {
        // The photo's own date on the copy, so a folder sorts by when it was taken.
        let _ = file.set_modified(date);
    }
    file.sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    if let Some(dir) = target.parent() {
        // The rename itself on disk.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

fn outcome_of(e: AfcError) -> Result<Outcome, DeviceError> {
    Ok(match e {
        AfcError::Device(d) => return Err(d),
        AfcError::NotFound => Outcome::Vanished,
        AfcError::PermissionDenied => Outcome::Refused,
        AfcError::Limit(l) => Outcome::DiskFull(limit_words(l)),
        AfcError::Local(io) => local_failure(io),
        other => Outcome::Failed(other.to_string()),
    })
}

fn limit_words(e: LimitError) -> String {
    match e {
        LimitError::OverBudget { limit } => format!(
            "the rescue's disk budget of {} (--disk-budget) is used up",
            synccheck_core::units::bytes(limit)
        ),
        other => other.to_string(),
    }
}

/// A local error; a full disk is told as such, as it stops the rescue.
fn local_failure(e: std::io::Error) -> Outcome {
    if e.raw_os_error() == Some(libc::ENOSPC) || e.kind() == std::io::ErrorKind::StorageFull {
        Outcome::DiskFull("this computer's disk is full".into())
    } else {
        Outcome::Failed(format!("cannot write it here: {e}"))
    }
}

/// The library's answer: the assets, or why the library could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum Listing {
    Listed(RescueList),
    NotRead(DatabaseRead),
}

impl From<DatabaseRead> for Listing {
    fn from(read: DatabaseRead) -> Self {
        Listing::NotRead(read)
    }
}

/// Lists the assets to rescue, reading the library in place as a scan does (only the pages the
/// listing needs cross the cable; nothing is copied), within `limits`' deadline. `progress`
/// hears (bytes read, bytes the read may come to).
pub async fn list_assets(
    afc: &mut Afc,
    limits: &ScanLimits,
    selection: Selection,
    progress: &mut impl FnMut(u64, u64),
) -> Result<Listing, DeviceError> {
    let query = move |conn: &rusqlite::Connection| crate::rescue_query::list(conn, selection);
    let read = query_database_in_place(afc, limits, progress, query, Listing::Listed);
    match tokio::time::timeout_at(limits.stop.deadline().into(), read).await {
        Ok(read) => Ok(read?.0),
        Err(_) => Ok(Listing::NotRead(DatabaseRead::Unreadable(format!(
            "photo library not read: {}",
            limits.stop.passed()
        )))),
    }
}

/// What `--dry-run` prints: how many, how large (as the library says), oldest and newest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub assets: u64,
    pub live_photos: u64,
    pub bytes: u64,
    /// Assets whose size the library does not give (not in `bytes`).
    pub without_size: u64,
    pub oldest: Option<SystemTime>,
    pub newest: Option<SystemTime>,
}

pub fn totals(list: &RescueList) -> Totals {
    let mut t = Totals::default();
    for a in &list.assets {
        t.assets += 1;
        t.live_photos += u64::from(a.live_photo);
        match a.size {
            Some(n) => t.bytes = t.bytes.saturating_add(n),
            None => t.without_size += 1,
        }
        if let Some(d) = a.date {
            t.oldest = Some(t.oldest.map_or(d, |o| o.min(d)));
            t.newest = Some(t.newest.map_or(d, |o| o.max(d)));
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(dir: &str, name: &str, live: bool) -> RescueAsset {
        RescueAsset {
            directory: dir.into(),
            file_name: name.into(),
            date: None,
            size: Some(10),
            live_photo: live,
            hidden: false,
        }
    }

    fn locals(assets: Vec<RescueAsset>) -> Vec<String> {
        plan(&RescueList {
            assets,
            ..RescueList::default()
        })
        .iter()
        .map(|f| f.local.to_string_lossy().into_owned())
        .collect()
    }

    #[test]
    fn the_phones_folders_are_kept_and_live_videos_follow_their_stills() {
        let got = plan(&RescueList {
            assets: vec![
                asset("DCIM/100APPLE", "IMG_0001.HEIC", true),
                asset("DCIM/101APPLE", "IMG_0001.HEIC", false),
            ],
            ..RescueList::default()
        });
        let pairs: Vec<_> = got
            .iter()
            .map(|f| {
                (
                    f.phone_path.as_str(),
                    f.local.to_str().unwrap(),
                    f.live_video,
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [
                (
                    "DCIM/100APPLE/IMG_0001.HEIC",
                    "DCIM/100APPLE/IMG_0001.HEIC",
                    false
                ),
                (
                    "DCIM/100APPLE/IMG_0001.MOV",
                    "DCIM/100APPLE/IMG_0001.MOV",
                    true
                ),
                (
                    "DCIM/101APPLE/IMG_0001.HEIC",
                    "DCIM/101APPLE/IMG_0001.HEIC",
                    false
                ),
            ]
        );
    }

    #[test]
    fn hostile_names_stay_inside_and_never_collide() {
        let got = locals(vec![
            asset("../../etc", "passwd", false),
            asset("/DCIM//./100APPLE/", "../x.HEIC", false),
            asset("DCIM", "a b.JPG", false),
            asset("DCIM", "a_b.JPG", false),
            asset("DCIM", "A_B.jpg", false),
            asset("DCIM", ".hidden", false),
            asset("DCIM", "x\0y\u{1b}[2J.HEIC", false),
        ]);
        assert_eq!(
            got,
            [
                "phone/phone/etc/passwd",
                "DCIM/100APPLE/___x.HEIC",
                "DCIM/a_b.JPG",
                "DCIM/a_b-2.JPG",
                "DCIM/A_B-3.jpg",
                "DCIM/_hidden",
                "DCIM/x_y__2J.HEIC",
            ]
        );
        for p in &got {
            assert!(Path::new(p)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_))));
        }
    }

    #[test]
    fn a_live_photo_reserves_its_videos_name() {
        let got = locals(vec![
            asset("DCIM", "IMG_1.MOV", false),
            asset("DCIM", "IMG_1.HEIC", true),
        ]);
        assert_eq!(
            got,
            ["DCIM/IMG_1.MOV", "DCIM/IMG_1-2.HEIC", "DCIM/IMG_1-2.MOV"]
        );
    }

    #[test]
    fn many_files_that_sanitise_alike_each_get_the_next_free_name() {
        // A crafted library can name every asset alike: each name costs a try or two, not one
        // per earlier file (20,000 alike took some 200 million tries, and 2 million alike,
        // within MAX_ASSETS, would take 2 trillion).
        let n = 20_000;
        let mut assets: Vec<_> = (0..n).map(|_| asset("DCIM", "x?.HEIC", false)).collect();
        assets.push(asset("DCIM", "X_.heic", true));
        let got = locals(assets);
        assert_eq!(got.len(), n + 2);
        assert_eq!(got[0], "DCIM/x_.HEIC");
        assert_eq!(got[n - 1], format!("DCIM/x_-{n}.HEIC"));
        assert_eq!(got[n], format!("DCIM/X_-{}.heic", n + 1));
        assert_eq!(got[n + 1], format!("DCIM/X_-{}.MOV", n + 1));
        let distinct: HashSet<String> = got.iter().map(|p| p.to_lowercase()).collect();
        assert_eq!(distinct.len(), got.len());
    }

    #[test]
    fn totals_count_sizes_and_dates() {
        let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        let t1 = t0 + std::time::Duration::from_secs(50);
        let mut a = asset("DCIM", "a.HEIC", true);
        a.date = Some(t1);
        let mut b = asset("DCIM", "b.HEIC", false);
        b.date = Some(t0);
        b.size = None;
        let t = totals(&RescueList {
            assets: vec![a, b],
            ..RescueList::default()
        });
        assert_eq!(
            t,
            Totals {
                assets: 2,
                live_photos: 1,
                bytes: 10,
                without_size: 1,
                oldest: Some(t0),
                newest: Some(t1)
            }
        );
    }
}
