//! `synccheck rescue` end to end against the simulator, run in this process so the test can
//! read what the phone was asked (its write requests, the originals it opened).
//!
//! What must be rescued is decided here independently of synccheck's own query: the test
//! builds the library the simulator serves and selects, in its own SQL, the main library's
//! assets not yet uploaded (hidden included; trashed, shared-album, iCloud-link and
//! Shared-with-You left out), with each Live Photo's video. The bytes each file must hold come
//! from the simulator's seed ([`synccheck_sim::originals::contents`]).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{fixture, synccheck_at};
use synccheck_core::photos::DatabaseRead;
use synccheck_core::snapshot::{load_file, Snapshot};
use synccheck_sim::{Fault, Faults, ListenAddr, SimConfig, SimDevice, SimHandle};

const LIMIT: Duration = Duration::from_secs(120);

/// A simulator in this process, serving one phone.
struct Phone {
    runtime: tokio::runtime::Runtime,
    handle: Option<SimHandle>,
    _dir: tempfile::TempDir,
    snapshot: Snapshot,
}

impl Phone {
    fn start(name: &str, faults: Vec<Fault>) -> Phone {
        let snapshot = load_file(&fixture(&format!("photos/{name}.plist"))).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut device = SimDevice::new(snapshot.clone());
        let mut f = Faults::default();
        for fault in faults {
            f.add(fault);
        }
        device.faults = f;
        let handle = runtime
            .block_on(synccheck_sim::start(SimConfig {
                devices: vec![device],
                listen: ListenAddr::Unix(dir.path().join("mux.sock")),
            }))
            .unwrap();
        Phone {
            runtime,
            handle: Some(handle),
            _dir: dir,
            snapshot,
        }
    }

    fn address(&self) -> String {
        self.handle.as_ref().unwrap().address().to_string()
    }

    fn rescue(&self, args: &[&str]) -> Output {
        let mut all = vec!["rescue"];
        all.extend_from_slice(args);
        synccheck_at(&self.address(), &all, LIMIT)
    }

    fn activity(&self) -> synccheck_sim::AfcActivity {
        self.handle.as_ref().unwrap().afc_activity(1).unwrap()
    }

    /// Every original the phone serves, path → size, and the ones that must be rescued.
    fn originals(&self, all: bool) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
        let DatabaseRead::Summary(summary) =
            &self.snapshot.photo_library.as_ref().unwrap().database
        else {
            panic!("the fixture has a library summary")
        };
        let lib = synccheck_sim::synth::build(summary).unwrap();
        let mut served = BTreeMap::new();
        for item in synccheck_sim::originals::list(&lib.main, &lib.wal).unwrap() {
            served.insert(item.path.clone(), item.size);
            if let Some((video, size)) = item.live_video {
                served.insert(video, size);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Photos.sqlite"), &lib.main).unwrap();
        std::fs::write(dir.path().join("Photos.sqlite-wal"), &lib.wal).unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("Photos.sqlite")).unwrap();
        let state = if all { "" } else { "AND ZCLOUDLOCALSTATE = 0" };
        let mut stmt = conn
            .prepare(&format!(
                "SELECT ZDIRECTORY || '/' || ZFILENAME, ZKINDSUBTYPE FROM ZASSET \
                 WHERE ZTRASHEDSTATE = 0 AND ZBUNDLESCOPE = 0 {state}"
            ))
            .unwrap();
        let rows: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut wanted = BTreeMap::new();
        for (path, subtype) in rows {
            wanted.insert(path.clone(), served[&path]);
            if subtype == 2 {
                let video = format!("{}.MOV", path.rsplit_once('.').unwrap().0);
                wanted.insert(video.clone(), served[&video]);
            }
        }
        // The library must hold what rescue has to leave out, or this test proves nothing.
        let excluded: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM ZASSET WHERE ZCLOUDLOCALSTATE = 0 \
                 AND (ZTRASHEDSTATE = 1 OR ZBUNDLESCOPE != 0)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            excluded > 0,
            "the library has no trashed or shared waiting assets"
        );
        let hidden: i64 = conn
            .query_row(
                &format!(
                    "SELECT COUNT(*) FROM ZASSET WHERE ZHIDDEN = 1 AND ZTRASHEDSTATE = 0 \
                     AND ZBUNDLESCOPE = 0 {state}"
                ),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(hidden > 0, "no hidden asset to rescue");
        assert!(wanted.keys().any(|p| p.ends_with(".MOV")));
        (served, wanted)
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.runtime.block_on(handle.shutdown());
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The files under `folder` (relative, `/`-separated), the manifest left out.
fn files_in(folder: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(folder)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if rel != "manifest.json" {
                    out.insert(rel, std::fs::read(&path).unwrap());
                }
            }
        }
    }
    out
}

/// The only folder in `dir`.
fn phone_folder(dir: &Path) -> PathBuf {
    let folders: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    folders[0].clone()
}

fn manifest(folder: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap()
}

fn status_of<'a>(m: &'a serde_json::Value, path: &str) -> &'a str {
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} not in the manifest"))["status"]
        .as_str()
        .unwrap()
}

fn assert_byte_for_byte(folder: &Path, wanted: &BTreeMap<String, u64>) {
    let got = files_in(folder);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        wanted.keys().collect::<Vec<_>>(),
        "the rescued files are exactly the waiting originals"
    );
    for (path, size) in wanted {
        assert!(
            got[path] == synccheck_sim::originals::contents(path, *size),
            "{path} differs from the phone's"
        );
    }
}

#[test]
fn rescues_exactly_the_waiting_originals_byte_for_byte_and_only_once() {
    let phone = Phone::start("rescue-waiting", vec![]);
    let (_, wanted) = phone.originals(false);
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().to_str().unwrap();

    let out = phone.rescue(&["--to", dir]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let folder = phone_folder(to.path());
    assert_eq!(folder.file_name().unwrap(), "Sam_s_iPhone-F4GZK2LMN7Q1");
    assert_byte_for_byte(&folder, &wanted);
    let first = phone.activity();
    assert_eq!(first.write_requests, 0, "a write request reached the phone");
    assert_eq!(first.original_opens, wanted.len() as u64);
    // File names stay in the folder and the manifest.
    assert!(!text(&out).contains("IMG_"), "{}", text(&out));

    let m = manifest(&folder);
    assert_eq!(m["format"], "synccheck-rescue/1");
    assert_eq!(m["phone"]["serial"], "F4GZK2LMN7Q1");
    assert_eq!(m["counts"]["copied_files"], wanted.len() as u64);
    assert_eq!(m["counts"]["rescued_bytes"], wanted.values().sum::<u64>());
    assert!(m["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["date"].is_string()));

    // A second run reads no file again, and says so.
    let again = phone.rescue(&["--to", dir]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        text(&again).contains(&format!("{} were already there", wanted.len())),
        "{}",
        text(&again)
    );
    let second = phone.activity();
    assert_eq!(
        second.original_opens, first.original_opens,
        "a file was read again"
    );
    assert_eq!(second.write_requests, 0);
    assert_byte_for_byte(&folder, &wanted);
}

#[test]
fn refused_vanishing_and_changing_files_are_reported_and_the_rest_rescued() {
    // Choose three waiting stills that are not Live Photos.
    let probe = Phone::start("rescue-waiting", vec![]);
    let (_, wanted) = probe.originals(false);
    drop(probe);
    let stills: Vec<&String> = wanted
        .keys()
        .filter(|p| p.ends_with(".HEIC") && !wanted.contains_key(&p.replace(".HEIC", ".MOV")))
        .collect();
    let [refused, vanishing, changing] = [stills[0], stills[1], stills[2]];
    let phone = Phone::start(
        "rescue-waiting",
        vec![
            Fault::AfcDenied(refused.clone()),
            Fault::OriginalVanishes(vanishing.clone()),
            Fault::OriginalChanges(changing.clone()),
        ],
    );
    let to = tempfile::tempdir().unwrap();
    let out = phone.rescue(&["--to", to.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("the iPhone refused to let it be read"),
        "{said}"
    );
    assert!(said.contains("it is no longer on the iPhone"), "{said}");
    assert!(
        said.contains("it changed on the iPhone during each of 3 copies"),
        "{said}"
    );

    let folder = phone_folder(to.path());
    let mut rest = wanted.clone();
    for p in [refused, vanishing, changing] {
        rest.remove(p);
    }
    assert_byte_for_byte(&folder, &rest);
    let m = manifest(&folder);
    assert_eq!(status_of(&m, refused), "refused");
    assert_eq!(status_of(&m, vanishing), "vanished");
    assert_eq!(status_of(&m, changing), "kept-changing");
    assert_eq!(m["counts"]["not_rescued"], 3);
    assert_eq!(phone.activity().write_requests, 0);
}

#[test]
fn a_full_disk_stops_the_copy_cleanly_and_the_next_run_finishes_it() {
    let phone = Phone::start("rescue-waiting", vec![]);
    let (_, wanted) = phone.originals(false);
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().to_str().unwrap();

    // Too little for what the library announces: nothing is copied at all.
    let out = phone.rescue(&["--to", dir, "--disk-budget", "1000"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("not enough room"), "{}", text(&out));
    assert_eq!(std::fs::read_dir(to.path()).unwrap().count(), 0);

    // Enough for the stills as the library announces them, not for their Live Photo videos:
    // the disk fills during the copy.
    let live_video =
        |p: &str| p.ends_with(".MOV") && wanted.contains_key(&p.replace(".MOV", ".HEIC"));
    let stills: u64 = wanted
        .iter()
        .filter(|(p, _)| !live_video(p))
        .map(|(_, s)| s)
        .sum();
    let budget = (stills + 1).to_string();
    let out = phone.rescue(&["--to", dir, "--disk-budget", &budget]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("disk budget"), "{}", text(&out));
    let folder = phone_folder(to.path());
    let got = files_in(&folder);
    assert!(!got.is_empty() && got.len() < wanted.len(), "{}", got.len());
    // Whole files only: no partial copy is left behind under any name.
    for (path, bytes) in &got {
        assert!(!path.contains(".synccheck-rescue-"), "{path} left behind");
        assert_eq!(
            *bytes,
            synccheck_sim::originals::contents(path, wanted[path])
        );
    }
    let m = manifest(&folder);
    assert!(m["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["status"] == "disk-full"));

    // Room again: the rest, and only the rest, is read from the phone.
    let before = phone.activity().original_opens;
    let out = phone.rescue(&["--to", dir]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_byte_for_byte(&folder, &wanted);
    assert_eq!(
        phone.activity().original_opens - before,
        (wanted.len() - got.len()) as u64
    );
    assert_eq!(phone.activity().write_requests, 0);
}

#[test]
fn dry_run_says_what_would_be_copied_and_copies_nothing() {
    let phone = Phone::start("rescue-waiting", vec![]);
    let to = tempfile::tempdir().unwrap();
    let target = to.path().join("out");
    let out = phone.rescue(&["--to", target.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("Would copy 12 photos and videos only on this iPhone"),
        "{said}"
    );
    assert!(
        said.contains("Oldest: 20") && said.contains("newest: 20"),
        "{said}"
    );
    assert!(!target.exists());
    assert_eq!(phone.activity().original_opens, 0);
}

#[test]
fn redact_hides_the_phone_in_its_folder_manifest_and_messages() {
    let phone = Phone::start("rescue-waiting", vec![]);
    let (_, wanted) = phone.originals(false);
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().to_str().unwrap();
    let udid = phone.handle.as_ref().unwrap().udids()[0].clone();
    for run in 0..2 {
        let out = phone.rescue(&["--to", dir, "--redact", "-v"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let said = text(&out);
        for secret in ["F4GZK2LMN7Q1", "Sam", udid.as_str()] {
            assert!(!said.contains(secret), "run {run} shows {secret}: {said}");
        }
        let folder = phone_folder(to.path());
        assert_eq!(folder.file_name().unwrap(), "phone1");
        let m = std::fs::read_to_string(folder.join("manifest.json")).unwrap();
        for secret in ["F4GZK2LMN7Q1", "Sam", udid.as_str()] {
            assert!(!m.contains(secret), "the manifest shows {secret}");
        }
        assert_byte_for_byte(&folder, &wanted);
    }
}

#[test]
fn with_icloud_photos_off_it_copies_all_only_when_asked() {
    let phone = Phone::start("rescue-off", vec![]);
    let (_, wanted) = phone.originals(true);
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().to_str().unwrap();
    let out = phone.rescue(&["--to", dir]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("iCloud Photos is off"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("--all"), "{}", text(&out));
    assert_eq!(std::fs::read_dir(to.path()).unwrap().count(), 0);

    let out = phone.rescue(&["--to", dir, "--all"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_byte_for_byte(&phone_folder(to.path()), &wanted);
    assert_eq!(phone.activity().write_requests, 0);
}

#[test]
fn reports_say_when_photos_wait_and_how_to_rescue_them() {
    let path = fixture("photos/rescue-waiting.plist");
    let path = path.to_str().unwrap();
    let words = "12 photos (1 MB) are only on this phone: `synccheck rescue --to DIR` copies them before any repair";
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_synccheck"))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The text report wraps at 80 columns: the sentence is read across its lines.
    let flat = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat(run(&["scan", "--from", path])).contains(words));
    let json = run(&["scan", "--from", path, "--json"]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["devices"][0]["rescue"], words);
    let sheet = tempfile::tempdir().unwrap();
    let html = sheet.path().join("sheet.html");
    run(&["report", "--from", path, "--html", html.to_str().unwrap()]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("are only on this phone"),
        "the sheet says nothing"
    );

    let synced = fixture("photos/synced.plist");
    let json = run(&["scan", "--from", synced.to_str().unwrap(), "--json"]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(report["devices"][0]["rescue"].is_null());
}

/// Every byte of the history's files (the database and any WAL beside it).
fn history_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A stored rescue: (bench, udid, serial, selection, copied, already there, failed, bytes,
/// complete).
type StoredRescue = (String, String, String, String, i64, i64, i64, i64, bool);

#[test]
fn each_run_is_recorded_in_the_history_with_counts_and_never_a_file_name() {
    let probe = Phone::start("rescue-waiting", vec![]);
    let (_, wanted) = probe.originals(false);
    drop(probe);
    let refused = wanted
        .keys()
        .find(|p| p.ends_with(".HEIC"))
        .unwrap()
        .clone();
    let phone = Phone::start("rescue-waiting", vec![Fault::AfcDenied(refused.clone())]);
    let udid = phone.handle.as_ref().unwrap().udids()[0].clone();
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().to_str().unwrap();
    let db_dir = tempfile::tempdir().unwrap();
    let db = db_dir.path().join("history.sqlite");
    let db = db.to_str().unwrap();

    // A dry run copies and checks nothing: nothing to record.
    let out = phone.rescue(&["--to", dir, "--dry-run", "--db", db]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!Path::new(db).exists(), "a dry run made the history");

    for run in 0..2 {
        let out = phone.rescue(&["--to", dir, "--db", db, "--bench", "bench-2"]);
        assert_eq!(out.status.code(), Some(1), "run {run}: {}", text(&out));
        assert!(!text(&out).contains("not recorded"), "{}", text(&out));
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    let rows: Vec<StoredRescue> = conn
        .prepare(
            "SELECT bench, udid, serial, selection, copied, already_there, failed, bytes, complete
             FROM rescues ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(conn);
    let files = wanted.len() as i64;
    let bytes: u64 = wanted.values().sum::<u64>() - wanted[&refused];
    let phone_cols = |r: &StoredRescue| (r.0.clone(), r.1.clone(), r.2.clone(), r.3.clone());
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert_eq!(
            phone_cols(row),
            (
                "bench-2".to_string(),
                udid.clone(),
                "F4GZK2LMN7Q1".to_string(),
                "waiting".to_string()
            )
        );
    }
    assert_eq!(
        (rows[0].4, rows[0].5, rows[0].6, rows[0].7, rows[0].8),
        (files - 1, 0, 1, bytes as i64, false)
    );
    assert_eq!(
        (rows[1].4, rows[1].5, rows[1].6, rows[1].7, rows[1].8),
        (0, files - 1, 1, 0, false)
    );

    let listed = synccheck_at(
        &phone.address(),
        &["history", "rescues", "--db", db, "--udid", &udid],
        LIMIT,
    );
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed));
    let said = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert_eq!(said.lines().count(), 3, "{said}");
    assert!(
        said.contains("bench-2") && said.contains("F4GZK2LMN7Q1"),
        "{said}"
    );
    assert!(
        said.contains("Sam’s iPhone") && said.contains("waiting"),
        "{said}"
    );
    let redacted = synccheck_at(
        &phone.address(),
        &["history", "rescues", "--db", db, "--redact", "--limit", "1"],
        LIMIT,
    );
    let said = text(&redacted);
    assert_eq!(redacted.stdout.split(|&b| b == b'\n').count(), 3, "{said}");
    for secret in ["F4GZK2LMN7Q1", "Sam", udid.as_str()] {
        assert!(!said.contains(secret), "--redact shows {secret}: {said}");
    }
    let other = synccheck_at(
        &phone.address(),
        &["history", "rescues", "--db", db, "--udid", "NOT-THIS-PHONE"],
        LIMIT,
    );
    assert!(
        text(&other).contains("No rescues recorded yet."),
        "{}",
        text(&other)
    );

    // The customer's file names and the folder stay out of the history, byte for byte.
    let stored = history_bytes(db_dir.path());
    assert!(
        contains(&stored, "F4GZK2LMN7Q1"),
        "the check reads the wrong file"
    );
    let folder = phone_folder(to.path());
    let mut private: Vec<String> = vec![
        dir.to_string(),
        folder.file_name().unwrap().to_string_lossy().into_owned(),
        "DCIM".into(),
        "100APPLE".into(),
    ];
    for path in wanted.keys() {
        let name = path.rsplit('/').next().unwrap();
        private.push(name.to_string());
        private.push(name.rsplit_once('.').unwrap().0.to_string());
    }
    for secret in private {
        assert!(!contains(&stored, &secret), "the history holds {secret}");
    }
}

#[test]
fn a_history_that_cannot_be_written_does_not_fail_the_rescue() {
    let phone = Phone::start("rescue-waiting", vec![]);
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().to_str().unwrap();
    // Nothing listens on port 1: the server cannot be reached.
    let out = phone.rescue(&[
        "--to",
        dir,
        "--db",
        "postgres://bench@127.0.0.1:1/synccheck",
    ]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("Everything waiting on this iPhone is rescued."),
        "{said}"
    );
    assert!(
        said.contains("synccheck: warning: this rescue was not recorded in the history: the history server postgres://bench@127.0.0.1:1/synccheck: cannot reach it"),
        "{said}"
    );
    // A --db that is no history at all is refused before the phone is read.
    let out = phone.rescue(&["--to", dir, "--db", "mysql://shop/synccheck"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is not a history"), "{}", text(&out));
}
