//! `watch --json-dir`: each finished scan as its own JSON report, for the shop's other tools.
//! Written beside the target and renamed into place, so a reader polling the directory never
//! sees half a report, whatever happens to this process.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use synccheck_report::{self as report, DeviceReport, ReportContext};

pub struct JsonDir {
    dir: PathBuf,
}

impl JsonDir {
    /// Creates the directory if needed, so a typo fails at start-up rather than at the first
    /// phone.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        // Probe that files can be made here.
        tempfile::NamedTempFile::new_in(dir)?;
        Ok(JsonDir {
            dir: dir.to_path_buf(),
        })
    }

    /// Writes `report` as `<stem>-<time>.json` (`-2`, `-3`, ... when that name is taken, as
    /// for two scans within one second) and returns the path.
    pub fn write(&self, stem: &str, report: &DeviceReport) -> std::io::Result<PathBuf> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".synccheck-")
            .suffix(".json.tmp")
            .tempfile_in(&self.dir)?;
        report::json::write(
            &mut tmp,
            std::slice::from_ref(report),
            &ReportContext::now(),
        )?;
        tmp.flush()?;
        tmp.as_file().sync_all()?;
        let base = file_stem(stem, report.captured_at.unwrap_or_else(SystemTime::now));
        let mut n = 1;
        loop {
            let name = match n {
                1 => format!("{base}.json"),
                n => format!("{base}-{n}.json"),
            };
            let path = self.dir.join(name);
            // No-clobber: an earlier report is never replaced.
            match tmp.persist_noclobber(&path) {
                Ok(_) => return Ok(path),
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => {
                    tmp = e.file;
                    n += 1;
                }
                Err(e) => return Err(e.error),
            }
        }
    }
}

/// `00008030-001A…-20261125T101502Z`: sorts by phone, then by time.
fn file_stem(stem: &str, at: SystemTime) -> String {
    let at: DateTime<Utc> = at.into();
    // The phone chose its UDID: the one file-name sanitiser decides what of it may be a name.
    let safe = synccheck_wire::phone_text::file_name_part(stem);
    format!("{safe}-{}", at.format("%Y%m%dT%H%M%SZ"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn names_carry_the_phone_and_the_utc_time_and_nothing_unsafe() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(file_stem("00008030-0A", at), "00008030-0A-20261118T110640Z");
        assert_eq!(file_stem("../x/y", at).split('-').next(), Some("___x_y"));
        assert_eq!(file_stem("..", at).split('-').next(), Some("phone"));
    }

    #[test]
    fn reports_land_whole_and_never_replace_an_earlier_one() {
        let dir = tempfile::tempdir().unwrap();
        let out = JsonDir::open(&dir.path().join("new")).unwrap();
        let snap = synccheck_core::snapshot::builtin_demo();
        let report = synccheck_report::pipeline::report_for(
            &snap,
            "USB",
            &synccheck_core::checklist::Context::default(),
            false,
        );
        let first = out.write("U1", &report).unwrap();
        let second = out.write("U1", &report).unwrap();
        assert_ne!(first, second);
        assert!(second.to_string_lossy().ends_with("-2.json"), "{second:?}");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("new"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&first).unwrap()).unwrap();
        assert_eq!(v["devices"].as_array().unwrap().len(), 1);
    }
}
