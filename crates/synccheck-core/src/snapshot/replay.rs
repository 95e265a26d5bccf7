//! A snapshot replayed now: every date in it moved forward by the time since it was captured.
//!
//! A real phone's dates are relative to its own present: its clock (`TimeIntervalSince1970`),
//! its last iCloud backup, the engine's last sync, when a waiting photo was added. A snapshot
//! freezes them at its capture. The checklist judges ages against the moment of the scan, so a
//! phone served unchanged by `sim` a month after its capture would look a month staler than the
//! phone that was captured: the demo's "synced two days ago" would turn, day by day, into
//! "synced 40 days ago". Moving every date by the same amount keeps each phone telling the story
//! it was captured with, on any day. (`sim --as-captured` serves the values byte for byte.)
//!
//! Only dates move; counts, flags and text stay as read. Dates are found by type (`<date>`) and,
//! for the few values the phone stores as plain numbers, by key.

use std::time::{Duration, SystemTime};

use super::Snapshot;
use crate::photos::{DatabaseRead, FileRead, PhotoLibrary};

/// Values that are dates stored as numbers of seconds (the epoch does not matter for a shift):
/// lockdown's clock (`TimeIntervalSince1970`, Unix seconds) and its last iCloud backup
/// (`com.apple.mobile.backup` `LastCloudBackupDate`, seconds since 2001); the iCloud Photos
/// engine's `lastSyncDate`, `unpauseTime`, `exitDeleteTime`, `initialSyncDate` and
/// `cloudAssetCountPerTypeLastCheckDate`, which may be stored as seconds since 2001 (see
/// `facts::photos::keys` and `shared/reference/device-facts.md`).
const NUMERIC_DATE_KEYS: [&str; 7] = [
    "TimeIntervalSince1970",
    "LastCloudBackupDate",
    "lastSyncDate",
    "unpauseTime",
    "exitDeleteTime",
    "initialSyncDate",
    "cloudAssetCountPerTypeLastCheckDate",
];

/// How far to move every date: forward (the usual case) or back (a snapshot from the future,
/// e.g. a phone whose clock was wrong).
#[derive(Debug, Clone, Copy)]
enum Shift {
    Forward(Duration),
    Back(Duration),
}

impl Shift {
    fn time(self, t: SystemTime) -> SystemTime {
        let moved = match self {
            Shift::Forward(d) => t.checked_add(d),
            Shift::Back(d) => t.checked_sub(d),
        };
        // Found while writing the snapshot fuzz target: a snapshot captured in year 1 holding a
        // date in year 9000 moved that date past 9999, which a plist cannot write (the plist
        // crate panics writing it as XML, as `sim` does for every lockdown reply). A date that
        // would leave the years a plist holds stays where it was, as on an overflow.
        moved.filter(|m| plist_can_hold(*m)).unwrap_or(t)
    }

    fn seconds(self) -> f64 {
        match self {
            Shift::Forward(d) => d.as_secs_f64(),
            Shift::Back(d) => -d.as_secs_f64(),
        }
    }

    fn value(self, key: Option<&str>, v: &mut plist::Value) {
        match v {
            plist::Value::Date(d) => *d = self.time((*d).into()).into(),
            plist::Value::Dictionary(d) => self.dict(d),
            plist::Value::Array(a) => a.iter_mut().for_each(|v| self.value(None, v)),
            plist::Value::Real(r) if key.is_some_and(is_numeric_date) => *r += self.seconds(),
            plist::Value::Integer(i) if key.is_some_and(is_numeric_date) => {
                let moved = i
                    .as_signed()
                    .and_then(|s| s.checked_add(self.seconds().round() as i64));
                if let Some(m) = moved {
                    *i = m.into();
                }
            }
            _ => {}
        }
    }

    fn dict(self, d: &mut plist::Dictionary) {
        for (k, v) in d.iter_mut() {
            self.value(Some(k), v);
        }
    }

    /// A state file that is a plist gets its dates moved and is written back in its own format
    /// (binary or XML); a marker or anything else unreadable stays as it was.
    fn file(self, contents: &mut Vec<u8>) {
        use synccheck_wire::plist_bounded::{parse, Limits};
        let Ok(mut value) = parse(contents, &Limits::DEVICE, "a photo state file") else {
            return;
        };
        self.value(None, &mut value);
        let mut out = Vec::new();
        let written = if contents.starts_with(b"bplist") {
            value.to_writer_binary(&mut out)
        } else {
            value.to_writer_xml(&mut out)
        };
        if written.is_ok() {
            *contents = out;
        }
    }

    fn library(self, lib: &mut PhotoLibrary) {
        for read in lib.files.values_mut() {
            if let FileRead::Present { contents, modified } = read {
                self.file(contents);
                *modified = modified.map(|m| self.time(m));
            }
        }
        if let DatabaseRead::Summary(s) = &mut lib.database {
            for date in [&mut s.oldest_waiting_added, &mut s.last_upload_attempt] {
                *date = date.map(|t| self.time(t));
            }
        }
        lib.read_at = lib.read_at.map(|t| self.time(t));
    }
}

/// Years 0001 to 9999: within what the plist crate reads and writes as a date.
fn plist_can_hold(t: SystemTime) -> bool {
    const BEFORE_EPOCH: Duration = Duration::from_secs(62_135_596_800); // 0001-01-01
    const AFTER_EPOCH: Duration = Duration::from_secs(253_402_300_799); // 9999-12-31 23:59:59
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => after <= AFTER_EPOCH,
        Err(before) => before.duration() <= BEFORE_EPOCH,
    }
}

fn is_numeric_date(key: &str) -> bool {
    NUMERIC_DATE_KEYS.contains(&key)
}

impl Snapshot {
    /// This snapshot as if it had been captured at `now`. One without a capture time has
    /// nothing to measure the shift from and is returned unchanged.
    pub fn replayed_at(&self, now: SystemTime) -> Snapshot {
        let mut snap = self.clone();
        let Some(captured) = self.captured_at else {
            return snap;
        };
        let shift = match now.duration_since(captured) {
            Ok(d) => Shift::Forward(d),
            Err(e) => Shift::Back(e.duration()),
        };
        shift.dict(&mut snap.lockdown);
        for d in snap
            .domains
            .values_mut()
            .chain(snap.io_registry.values_mut())
        {
            shift.dict(d);
        }
        if let Some(lib) = &mut snap.photo_library {
            shift.library(lib);
        }
        snap.captured_at = Some(now);
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photos::LibrarySummary;
    use crate::snapshot::Source;
    use std::collections::BTreeMap;

    const DAY: Duration = Duration::from_secs(86_400);

    fn at(unix: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix)
    }

    fn sample(captured: SystemTime) -> Snapshot {
        let mut s = Snapshot::new(Source::Usb);
        s.captured_at = Some(captured);
        s.lockdown.insert(
            "TimeIntervalSince1970".into(),
            plist::Value::Real(1_700_000_000.5),
        );
        s.lockdown
            .insert("ProductVersion".into(), plist::Value::String("26.6".into()));
        let mut backup = plist::Dictionary::new();
        backup.insert(
            "LastCloudBackupDate".into(),
            plist::Value::Integer(785_577_600.into()),
        );
        backup.insert("CloudBackupEnabled".into(), plist::Value::Boolean(true));
        s.domains.insert("com.apple.mobile.backup".into(), backup);
        let mut status = plist::Dictionary::new();
        status.insert("lastSyncDate".into(), plist::Value::Date(at(1_000).into()));
        status.insert("unpauseTime".into(), plist::Value::Real(790_000_000.0));
        status.insert("isExceedingQuota".into(), plist::Value::Boolean(false));
        let mut xml = Vec::new();
        plist::Value::Dictionary(status)
            .to_writer_xml(&mut xml)
            .unwrap();
        let mut files = BTreeMap::new();
        files.insert(
            "PhotoData/CPL/syncstatus.plist".to_string(),
            FileRead::Present {
                contents: xml,
                modified: Some(at(2_000)),
            },
        );
        files.insert(
            "PhotoData/cpl_enabled_marker".to_string(),
            FileRead::Present {
                contents: b"2023-09-30 18:02:11 +0000\n".to_vec(),
                modified: None,
            },
        );
        s.photo_library = Some(PhotoLibrary {
            files,
            database: DatabaseRead::Summary(LibrarySummary {
                waiting: Some(12),
                oldest_waiting_added: Some(at(3_000)),
                ..Default::default()
            }),
            copied_bytes: Some(10),
            read_at: Some(captured),
        });
        s
    }

    #[test]
    fn a_date_that_would_leave_the_years_a_plist_holds_stays_put() {
        // A snapshot captured in year 1 with a date in year 9000, replayed now: moving the
        // date past 9999 made writing the snapshot as XML panic.
        let year_1 = SystemTime::UNIX_EPOCH - Duration::from_secs(62_135_596_800);
        let year_9000 = at(221_845_392_000);
        let mut s = Snapshot::new(Source::Usb);
        s.captured_at = Some(year_1);
        s.lockdown
            .insert("When".into(), plist::Value::Date(year_9000.into()));
        let moved = s.replayed_at(at(1_800_000_000));
        assert_eq!(moved.lockdown["When"], plist::Value::Date(year_9000.into()));
        moved.write_xml(&mut Vec::new()).unwrap();
    }

    #[test]
    fn every_date_moves_by_the_time_since_capture_and_nothing_else_changes() {
        let captured = at(1_800_000_000);
        let moved = sample(captured).replayed_at(captured + 10 * DAY);
        let shift = 10.0 * 86_400.0;
        assert_eq!(moved.captured_at, Some(captured + 10 * DAY));
        assert_eq!(
            moved.lockdown["TimeIntervalSince1970"],
            plist::Value::Real(1_700_000_000.5 + shift)
        );
        assert_eq!(moved.lockdown["ProductVersion"], "26.6".into());
        let backup = &moved.domains["com.apple.mobile.backup"];
        assert_eq!(
            backup["LastCloudBackupDate"],
            plist::Value::Integer((785_577_600 + 864_000).into())
        );
        assert_eq!(backup["CloudBackupEnabled"], plist::Value::Boolean(true));

        let lib = moved.photo_library.unwrap();
        let FileRead::Present { contents, modified } = &lib.files["PhotoData/CPL/syncstatus.plist"]
        else {
            panic!("still present");
        };
        assert_eq!(*modified, Some(at(2_000) + 10 * DAY));
        assert!(contents.starts_with(b"<?xml"), "written back as XML");
        let status: plist::Dictionary = plist::from_bytes(contents).unwrap();
        assert_eq!(
            status["lastSyncDate"],
            plist::Value::Date((at(1_000) + 10 * DAY).into())
        );
        assert_eq!(
            status["unpauseTime"],
            plist::Value::Real(790_000_000.0 + shift)
        );
        assert_eq!(status["isExceedingQuota"], plist::Value::Boolean(false));
        let FileRead::Present { contents, .. } = &lib.files["PhotoData/cpl_enabled_marker"] else {
            panic!("still present");
        };
        assert_eq!(
            contents, b"2023-09-30 18:02:11 +0000\n",
            "not a plist: as read"
        );
        let DatabaseRead::Summary(s) = lib.database else {
            panic!("still a summary");
        };
        assert_eq!(s.oldest_waiting_added, Some(at(3_000) + 10 * DAY));
        assert_eq!(s.waiting, Some(12));
        assert_eq!(lib.read_at, Some(captured + 10 * DAY));
    }

    #[test]
    fn a_binary_state_file_stays_binary_and_a_shift_can_go_back() {
        let captured = at(1_800_000_000);
        let mut snap = sample(captured);
        let lib = snap.photo_library.as_mut().unwrap();
        let mut bin = Vec::new();
        let mut d = plist::Dictionary::new();
        d.insert("lastSyncDate".into(), plist::Value::Date(at(5_000).into()));
        plist::Value::Dictionary(d)
            .to_writer_binary(&mut bin)
            .unwrap();
        lib.files.insert(
            "PhotoData/CPL/syncstatus.plist".into(),
            FileRead::Present {
                contents: bin,
                modified: None,
            },
        );
        let moved = snap.replayed_at(captured - DAY);
        let lib = moved.photo_library.unwrap();
        let FileRead::Present { contents, .. } = &lib.files["PhotoData/CPL/syncstatus.plist"]
        else {
            panic!("still present");
        };
        assert!(contents.starts_with(b"bplist00"));
        let status: plist::Dictionary = plist::from_bytes(contents).unwrap();
        assert_eq!(
            status["lastSyncDate"],
            plist::Value::Date((at(5_000) - DAY).into())
        );
    }

    #[test]
    fn without_a_capture_time_nothing_moves() {
        let mut snap = sample(at(1_800_000_000));
        snap.captured_at = None;
        assert_eq!(snap.replayed_at(at(1_900_000_000)), snap);
    }
}
