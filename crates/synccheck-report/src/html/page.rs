//! What the customer's sheet says, worked out from a report: every value already in words, so
//! the template only lays it out (and escapes it).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::document::{CheckDocument, DeviceDocument, PhotosDocument};
use crate::first_steps::first_steps;
use crate::words::{self, status_from_json, status_symbol, status_word, TO_CHECK_ON_THE_PHONE};
use synccheck_core::checklist::Status;
use synccheck_core::units;

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub device: DeviceView,
    pub verdict: StatusLine,
    /// What to do first, most urgent first: the verdict box says it.
    pub first_steps: Vec<String>,
    pub checks: Vec<CheckView>,
    pub photos: Option<PhotosView>,
    /// Values the iPhone sent that were refused, one sentence each (the report's warnings).
    pub warnings: Vec<String>,
    /// "25 November 2026, 07:21" in the local time zone, or "unknown".
    pub scanned_at: String,
    pub synccheck_version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeviceView {
    /// "iPhone 11": the customer's name for it, without Apple's code.
    pub model: String,
    pub name: Option<String>,
    pub serial: Option<String>,
    pub udid: Option<String>,
    pub wifi_address: Option<String>,
    /// "18.6 (22G86)".
    pub ios: Option<String>,
    /// "iOS 27.0.1 is available" or "the newest for this iPhone".
    pub ios_note: Option<String>,
    pub storage: Option<StorageView>,
    /// "12 %, not on power", in the text report's words. Battery health is said once, by
    /// the battery-health check's line.
    pub battery: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StorageView {
    /// 0 to 100, for the bar's width.
    pub used_percent: u8,
    /// "53 GB used of 54 GB, 640 MB free".
    pub words: String,
}

/// A status as the sheet prints it: a symbol and a word, never colour alone.
#[derive(Debug, Clone, Serialize)]
pub struct StatusLine {
    /// `pass`, `warn`, `fail`, `manual`: the CSS class.
    pub status: String,
    pub symbol: &'static str,
    /// The word every surface prints for the status ([`words::status_word`]).
    pub word: &'static str,
    /// The word where there is room for it in full: "to check on the phone" for a step the
    /// phone does not report, the word itself for the others.
    pub label: &'static str,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckView {
    pub title: String,
    pub line: StatusLine,
    /// What to do, with the Settings path; empty when nothing is to be done.
    pub fix: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhotosView {
    /// "iCloud Photos is on" / "off" / "paused".
    pub state: String,
    /// "1204 photos (4.1 GB) were waiting to upload, the oldest added 9 November 2026".
    pub waiting: Option<String>,
    /// "21 November 2026, 23:10", local time.
    pub last_sync: Option<String>,
}

pub fn page(device: &DeviceDocument) -> Page {
    let checks = device.checks.iter().map(check).collect();
    let verdict = match &device.verdict {
        Some(v) => status_line(&v.status, &verdict_words(device, &v.status, &v.summary)),
        None => status_line("manual", "No verdict was recorded."),
    };
    Page {
        device: device_view(device),
        verdict,
        first_steps: first_steps(device)
            .iter()
            .map(|s| sheet_words(&s.sentence()))
            .collect(),
        checks,
        photos: device.facts.photos.as_ref().map(photos),
        warnings: device.warnings.clone(),
        scanned_at: device
            .captured_at
            .as_deref()
            .and_then(when)
            .unwrap_or_else(|| "unknown".into()),
        synccheck_version: env!("CARGO_PKG_VERSION"),
    }
}

fn device_view(d: &DeviceDocument) -> DeviceView {
    let f = &d.facts;
    let id = &f.identity;
    let model = words::model_name(id.marketing_name.as_deref(), id.product_type.as_deref());
    let ios = f
        .software
        .ios_version
        .as_ref()
        .map(|v| match &f.software.build {
            Some(b) => format!("{v} ({b})"),
            None => v.clone(),
        });
    let ios_note = match (f.software.update_available, &f.software.latest_ios) {
        (Some(true), Some(latest)) => Some(format!("iOS {latest} is available")),
        // A table over a year old at the scan cannot vouch for "newest".
        (Some(false), _) if f.software.model_table_stale != Some(true) => {
            Some("the newest this iPhone can run".into())
        }
        _ => None,
    };
    let capacity = f.storage.data_capacity_bytes.or(f.storage.total_bytes);
    let storage = match (capacity, f.storage.free_bytes) {
        (Some(total), Some(free)) if total > 0 && free <= total => {
            let used = total - free;
            Some(StorageView {
                used_percent: ((used as f64 / total as f64) * 100.0).round() as u8,
                words: format!(
                    "{} used of {}, {} free",
                    units::bytes(used),
                    units::bytes(total),
                    units::bytes(free)
                ),
            })
        }
        _ => None,
    };
    let b = &f.battery;
    let battery = b
        .level_percent
        .map(|level| words::battery_state(level, b.charging, b.external_power));
    DeviceView {
        model,
        name: id.name.clone(),
        serial: id.serial_number.clone(),
        udid: id.udid.clone(),
        wifi_address: f.network.wifi_address.clone(),
        ios,
        ios_note,
        storage,
        battery,
    }
}

fn check(c: &CheckDocument) -> CheckView {
    CheckView {
        title: c.title.clone(),
        line: status_line(&c.status, &sheet_words(&customer_words(&c.summary))),
        fix: sheet_words(&c.remedy),
    }
}

/// The technician's summary without what only the technician needs: how to answer a manual
/// step on the command line, and "Check on the phone:", which the status word already says.
fn customer_words(summary: &str) -> String {
    let s = match summary.find(" (answer with --answer") {
        Some(i) if summary.ends_with(')') => &summary[..i],
        _ => summary,
    };
    let (s, stripped) = match s.strip_prefix("Check on the phone: ") {
        Some(rest) => (rest.trim(), true),
        None => (s.trim(), false),
    };
    let mut s = s.to_string();
    // "the top of Settings" starts a sentence now; "iPhone", "iOS" and "iCloud" keep their case.
    let mut chars = s.chars();
    if let (true, Some(first), Some(second)) = (stripped, chars.next(), chars.next()) {
        if first.is_lowercase() && !second.is_uppercase() {
            s.replace_range(..first.len_utf8(), &first.to_uppercase().to_string());
        }
    }
    if s.is_empty() || s.ends_with('.') {
        s
    } else {
        format!("{s}.")
    }
}

pub(super) fn status_line(status: &str, summary: &str) -> StatusLine {
    let status = status_from_json(status);
    StatusLine {
        status: status.as_str().to_string(),
        symbol: status_symbol(status),
        word: status_word(status),
        label: match status {
            Status::Manual => TO_CHECK_ON_THE_PHONE,
            _ => status_word(status),
        },
        summary: summary.to_string(),
    }
}

/// The verdict in the customer's words: how many problems and which, by the names of their
/// lines below (each line says what was found, once), or how many steps are left to check.
fn verdict_words(device: &DeviceDocument, status: &str, summary: &str) -> String {
    let titles = |wanted: Status| -> Vec<&str> {
        device
            .checks
            .iter()
            .filter(|c| status_from_json(&c.status) == wanted)
            .map(|c| c.title.as_str())
            .collect()
    };
    let (fails, warns, manual) = (
        titles(Status::Fail),
        titles(Status::Warn),
        titles(Status::Manual).len(),
    );
    let count = |n: usize, one: &str, many: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    };
    let left = match manual {
        0 => String::new(),
        n => format!(
            "; {} {TO_CHECK_ON_THE_PHONE}",
            count(n, "step is left", "steps are left")
        ),
    };
    match status_from_json(status) {
        // A verdict with no check behind it (a report from another version): its own words.
        _ if device.checks.is_empty() => sheet_words(summary),
        Status::Fail => {
            let mut s = format!(
                "{} iCloud Photos: {}",
                count(
                    fails.len(),
                    "problem stops or holds up",
                    "problems stop or hold up"
                ),
                fails.join(", ")
            );
            if !warns.is_empty() {
                s += &format!("; also worth fixing: {}", warns.join(", "));
            }
            format!("{s}{left}.")
        }
        Status::Warn => format!(
            "Nothing stops iCloud Photos, but {} worth fixing: {}{left}.",
            count(warns.len(), "thing is", "things are"),
            warns.join(", ")
        ),
        Status::Manual => format!("Nothing the phone reports stops iCloud Photos{left}."),
        Status::Pass => "Every check passes.".to_string(),
    }
}

/// Times the checklist wrote in UTC, in the sheet's one format and the local time zone.
fn sheet_words(text: &str) -> String {
    words::localise_times(text, words::SHEET_TIME, Some(words::SHEET_DAY))
}

fn photos(p: &PhotosDocument) -> PhotosView {
    let state = match (p.enabled, p.paused) {
        (Some(true), Some(true)) => "iCloud Photos is on, but paused",
        (Some(true), _) => "iCloud Photos is on",
        (Some(false), _) => "iCloud Photos is off",
        (None, _) => "Whether iCloud Photos is on could not be read",
    }
    .to_string();
    let waiting = p.library.waiting.map(|n| {
        let mut s = match n {
            0 => "No photos were waiting to upload".to_string(),
            1 => "1 photo was waiting to upload".to_string(),
            n => format!("{n} photos were waiting to upload"),
        };
        if let (Some(bytes), true) = (p.library.waiting_bytes, n > 0) {
            s.push_str(&format!(" ({})", units::bytes(bytes)));
        }
        if let (Some(oldest), true) = (p.library.oldest_waiting_added.as_deref(), n > 0) {
            if let Some(day) = day(oldest) {
                s.push_str(&format!(", the oldest added {day}"));
            }
        }
        s
    });
    let last_sync = p
        .engine
        .as_ref()
        .and_then(|e| e.last_sync.as_deref())
        .and_then(when);
    PhotosView {
        state,
        waiting,
        last_sync,
    }
}

fn parse(rfc3339: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn when(rfc3339: &str) -> Option<String> {
    parse(rfc3339).map(|t| words::local(t, words::SHEET_TIME))
}

fn day(rfc3339: &str) -> Option<String> {
    parse(rfc3339).map(|t| words::local(t, words::SHEET_DAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_table_does_not_say_newest() {
        let doc = |stale: Option<bool>| DeviceDocument {
            rescue: None,
            captured_at: None,
            facts: crate::document::FactsDocument {
                software: crate::document::SoftwareDocument {
                    ios_version: Some("27.2".into()),
                    latest_ios: Some("27.2".into()),
                    update_available: Some(false),
                    model_table_stale: stale,
                    ..Default::default()
                },
                ..Default::default()
            },
            checks: Vec::new(),
            verdict: None,
            warnings: Vec::new(),
        };
        let note = |stale| device_view(&doc(stale)).ios_note;
        assert_eq!(
            note(None).as_deref(),
            Some("the newest this iPhone can run")
        );
        assert_eq!(
            note(Some(false)).as_deref(),
            Some("the newest this iPhone can run")
        );
        assert_eq!(note(Some(true)), None);
    }

    #[test]
    fn the_verdict_names_the_problems_once_and_counts_the_steps_left() {
        let device = |checks: &[(&str, &str)]| DeviceDocument {
            rescue: None,
            captured_at: None,
            facts: Default::default(),
            checks: checks
                .iter()
                .map(|(title, status)| CheckDocument {
                    id: String::new(),
                    title: title.to_string(),
                    status: status.to_string(),
                    summary: format!("{title} said so"),
                    remedy: String::new(),
                })
                .collect(),
            verdict: None,
            warnings: Vec::new(),
        };
        let d = device(&[("A", "fail"), ("B", "warn"), ("C", "manual"), ("D", "pass")]);
        assert_eq!(
            verdict_words(&d, "fail", "ignored"),
            "1 problem stops or holds up iCloud Photos: A; also worth fixing: B; 1 step is left to check on the phone."
        );
        let d = device(&[("B", "warn"), ("E", "warn")]);
        assert_eq!(
            verdict_words(&d, "warn", "ignored"),
            "Nothing stops iCloud Photos, but 2 things are worth fixing: B, E."
        );
        let d = device(&[("C", "manual"), ("F", "manual")]);
        assert_eq!(
            verdict_words(&d, "manual", "ignored"),
            "Nothing the phone reports stops iCloud Photos; 2 steps are left to check on the phone."
        );
        // No checks to go by: the report's own sentence.
        assert_eq!(
            verdict_words(&device(&[]), "fail", "Its words."),
            "Its words."
        );
    }

    #[test]
    fn manual_steps_lose_the_command_line_hint() {
        assert_eq!(
            customer_words("Check on the phone: restart it (answer with --answer restart=done|no)"),
            "Restart it."
        );
        assert_eq!(customer_words("Storage is fine."), "Storage is fine.");
        assert_eq!(
            customer_words("iPhone storage is full: 1 GB free"),
            "iPhone storage is full: 1 GB free."
        );
        assert_eq!(
            customer_words("Check on the phone: iCloud Photos should be on"),
            "iCloud Photos should be on."
        );
    }

    #[test]
    fn every_status_has_a_word_and_a_symbol() {
        for (s, word) in [
            ("pass", "pass"),
            ("warn", "warn"),
            ("fail", "fail"),
            ("manual", "to check"),
            ("from-the-future", "to check"),
        ] {
            let line = status_line(s, "x");
            assert_eq!(line.word, word);
            assert!(!line.symbol.is_empty());
            assert!(["pass", "warn", "fail", "manual"].contains(&line.status.as_str()));
        }
    }

    #[test]
    fn what_is_not_a_time_reads_as_nothing() {
        // Local times are tested with TZ set, end to end (tests/report_sheet.rs).
        assert_eq!(when("yesterday"), None);
        assert_eq!(day("2026-13-01T00:00:00Z"), None);
    }
}
