//! The one vocabulary every surface prints: the status words and symbols, the battery's state,
//! the model's name, and times in the local time zone. The text report, the customer's sheet,
//! `history` and `watch` take their words from here, so they never drift apart. The JSON keeps
//! its values (`manual` stays `manual` in `synccheck.report/1`); only what people read changes.

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};

use synccheck_core::checklist::Status;

/// The word a status is printed as, everywhere people read it.
pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Warn => "warn",
        Status::Fail => "fail",
        Status::Manual => "to check",
    }
}

/// The symbol printed before the word: the word and symbol together never rely on colour.
pub fn status_symbol(status: Status) -> &'static str {
    match status {
        Status::Pass => "✔",
        Status::Warn => "!",
        Status::Fail => "✘",
        Status::Manual => "?",
    }
}

/// What a manual step asks, said in full where there is room (the sheet, the verdict).
pub const TO_CHECK_ON_THE_PHONE: &str = "to check on the phone";

/// A status as the JSON writes it (`pass`, `warn`, `fail`, `manual`); anything else, from a
/// report of another version, reads as a step to check rather than as a verdict it is not.
pub fn status_from_json(value: &str) -> Status {
    match value {
        "pass" => Status::Pass,
        "warn" => Status::Warn,
        "fail" => Status::Fail,
        _ => Status::Manual,
    }
}

/// "12 %, charging", "86 %, on power, not charging", "54 %, not on power": the words the
/// `power` check uses, on every surface.
pub fn battery_state(level: u8, charging: Option<bool>, external_power: Option<bool>) -> String {
    let power = match (charging, external_power) {
        (Some(true), _) => ", charging",
        (_, Some(true)) => ", on power, not charging",
        (_, Some(false)) => ", not on power",
        (Some(false), None) => ", not charging",
        (None, None) => "",
    };
    format!("{level} %{power}")
}

/// The model as a customer names it: "iPhone 11", never Apple's code ("iPhone12,1") beside
/// it. A model the table does not know is named by its code, which is all there is.
pub fn model_name(marketing_name: Option<&str>, product_type: Option<&str>) -> String {
    match (marketing_name, product_type) {
        (Some(n), _) => n.to_string(),
        (None, Some(p)) => format!("iPhone (model {p})"),
        (None, None) => "iPhone".to_string(),
    }
}

/// How a moment is printed on the screen: local time, sortable, one format for the surface.
pub const SCREEN_TIME: &str = "%Y-%m-%d %H:%M";
/// How a moment is printed on the customer's sheet: local time, in words.
pub const SHEET_TIME: &str = "%-d %B %Y, %H:%M";
/// How a day is printed on the customer's sheet.
pub const SHEET_DAY: &str = "%-d %B %Y";

/// `at` in the local time zone (TZ, else /etc/localtime: chrono's `Local` reads both).
pub fn local(at: DateTime<Utc>, format: &str) -> String {
    at.with_timezone(&Local).format(format).to_string()
}

/// `text` with every "2026-11-24 15:30 UTC" the checklist wrote (it judges in UTC, and the
/// JSON keeps that), and every "2023-09-30 18:02:11 +0000" a phone's file gave, turned into
/// local time in `format`; with `day_format`, every other "2026-11-09" is reprinted as a day
/// in that format. The rest of the text is untouched.
pub fn localise_times(text: &str, format: &str, day_format: Option<&str>) -> String {
    const STAMP: usize = "2026-11-24 15:30 UTC".len();
    const ZONED: usize = "2023-09-30 18:02:11 +0000".len();
    const DAY: usize = "2026-11-24".len();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if starts_word && looks_like_day(&bytes[i..]) {
            if let Some(stamp) = text.get(i..i + STAMP).filter(|s| s.ends_with(" UTC")) {
                let parsed = NaiveDateTime::parse_from_str(&stamp[..STAMP - 4], "%Y-%m-%d %H:%M");
                if let Ok(naive) = parsed {
                    out.push_str(&local(Utc.from_utc_datetime(&naive), format));
                    i += STAMP;
                    continue;
                }
            }
            if let Some(zoned) = text.get(i..i + ZONED) {
                if let Ok(t) = DateTime::parse_from_str(zoned, "%Y-%m-%d %H:%M:%S %z") {
                    out.push_str(&local(t.with_timezone(&Utc), format));
                    i += ZONED;
                    continue;
                }
            }
            let ends_word = bytes
                .get(i + DAY)
                .is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'-');
            if let (Some(day_format), true) = (day_format, ends_word) {
                if let Ok(day) = chrono::NaiveDate::parse_from_str(&text[i..i + DAY], "%Y-%m-%d") {
                    out.push_str(&day.format(day_format).to_string());
                    i += DAY;
                    continue;
                }
            }
        }
        let ch = text[i..].chars().next().expect("i is on a char boundary");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn looks_like_day(b: &[u8]) -> bool {
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_one_word_and_one_symbol() {
        let all = [Status::Pass, Status::Warn, Status::Fail, Status::Manual];
        for s in all {
            assert_eq!(status_from_json(s.as_str()), s, "JSON values read back");
            assert!(!status_symbol(s).is_empty());
        }
        assert_eq!(status_word(Status::Manual), "to check");
        assert!(TO_CHECK_ON_THE_PHONE.starts_with(status_word(Status::Manual)));
        assert_eq!(status_from_json("from-the-future"), Status::Manual);
    }

    #[test]
    fn battery_state_uses_the_power_checks_words() {
        assert_eq!(
            battery_state(12, Some(false), Some(false)),
            "12 %, not on power"
        );
        assert_eq!(battery_state(86, Some(true), Some(true)), "86 %, charging");
        assert_eq!(
            battery_state(100, Some(false), Some(true)),
            "100 %, on power, not charging"
        );
        assert_eq!(battery_state(40, Some(false), None), "40 %, not charging");
        assert_eq!(battery_state(40, None, None), "40 %");
    }

    #[test]
    fn the_model_is_named_without_apples_code() {
        assert_eq!(
            model_name(Some("iPhone 11"), Some("iPhone12,1")),
            "iPhone 11"
        );
        assert_eq!(
            model_name(None, Some("iPhone99,1")),
            "iPhone (model iPhone99,1)"
        );
        assert_eq!(model_name(None, None), "iPhone");
    }

    // Local-time conversion is tested end to end with TZ set (tests/report_text.rs): TZ is
    // process-wide, and unit tests run in parallel threads.
    #[test]
    fn only_whole_stamps_and_days_are_rewritten() {
        let day = Some("%d/%m/%Y");
        assert_eq!(
            localise_times(
                "oldest added 2026-11-09, model table of 2026-12-02.",
                "x",
                day
            ),
            "oldest added 09/11/2026, model table of 02/12/2026."
        );
        for untouched in [
            "serial 12026-11-09",
            "2026-11-09x",
            "2026-13-45",
            "2026-11-0",
            "ÿ2026-1",
            "",
        ] {
            assert_eq!(localise_times(untouched, "x", day), untouched);
        }
        assert_eq!(localise_times("2026-11-09", "x", None), "2026-11-09");
        let stamp = localise_times("as of 2026-11-24 15:30 UTC.", "<%Y>", day);
        assert_eq!(stamp, "as of <2026>.");
        let zoned = localise_times("on (since 2023-09-30 18:02:11 +0000)", "<%Y>", day);
        assert_eq!(zoned, "on (since <2023>)");
        // Not a time: left as the phone wrote it.
        let odd = "since 2023-09-30 18:02:11 +99xx";
        assert_eq!(localise_times(odd, "<%Y>", None), odd);
    }
}
