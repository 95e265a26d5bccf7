//! The sheet the customer takes home: one self-contained HTML page per phone (inline CSS, no
//! script, nothing fetched), laid out to print on one A4 or Letter page.
//!
//! Rendered with minijinja from [`page::Page`], built from the report as its JSON document, so
//! a fresh scan and a JSON report saved last week print the same sheet. The template is named
//! `*.html`, which turns on minijinja's HTML auto-escaping: every value, the phone's own name
//! included, is printed as text, never as markup.

mod page;

use minijinja::Environment;

pub use page::{page, CheckView, DeviceView, Page, PhotosView, StatusLine, StorageView};

use super::document::{DocumentError, ReportDocument};
use super::{json, DeviceReport, ReportContext};

const TEMPLATE_NAME: &str = "report.html";
const TEMPLATE: &str = include_str!("report.html");

#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("the HTML template failed: {0}")]
    Template(#[from] minijinja::Error),
}

/// One page per device of a report made just now.
pub fn render_reports(
    reports: &[DeviceReport],
    ctx: &ReportContext,
) -> Result<Vec<String>, HtmlError> {
    let doc = ReportDocument::from_value(json::to_value(reports, ctx))?;
    render_document(&doc)
}

/// One page per device of a report document.
pub fn render_document(doc: &ReportDocument) -> Result<Vec<String>, HtmlError> {
    let mut env = Environment::new();
    env.set_formatter(printable_formatter);
    env.add_template(TEMPLATE_NAME, TEMPLATE)?;
    let template = env.get_template(TEMPLATE_NAME)?;
    doc.devices
        .iter()
        .map(|d| Ok(template.render(page(d))?))
        .collect()
}

/// Prints every value as minijinja does (HTML-escaped), after making strings printable: a
/// phone's name may hold ESC, C1 controls or bidi overrides, which HTML escaping leaves in the
/// page (a browser shows them invisibly, reordered, or the page goes to a terminal as text).
fn printable_formatter(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    match value.as_str() {
        Some(text) if !value.is_safe() => {
            let shown = synccheck_wire::phone_text::printable(text);
            minijinja::escape_formatter(out, state, &minijinja::Value::from(shown.as_ref()))
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::report_for;
    use synccheck_core::checklist::{CheckId, Context};
    use synccheck_core::snapshot;

    fn report(fixture: &str, redact: bool) -> DeviceReport {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(fixture);
        let snap = snapshot::load_file(&path).unwrap();
        report_for(&snap, fixture, &Context::default(), redact)
    }

    /// A fixed moment, so no page depends on the day the tests run.
    fn context() -> ReportContext {
        let at = chrono::DateTime::from_timestamp(1_796_212_800, 0).unwrap(); // 2026-12-02
        ReportContext::at(at, synccheck_core::facts::Catalog::builtin())
    }

    fn html(fixture: &str, redact: bool) -> String {
        render_reports(&[report(fixture, redact)], &context())
            .unwrap()
            .remove(0)
    }

    #[test]
    fn every_check_appears_with_its_status_word() {
        let r = report("fixtures/failures.plist", false);
        let page = html("fixtures/failures.plist", false);
        assert_eq!(r.evaluation.findings.len(), CheckId::ALL.len());
        // Each row: the status class, the symbol and word, then the title.
        for f in &r.evaluation.findings {
            let line = page::status_line(f.status.as_str(), "");
            let row = format!(
                "<tr class=\"{}\">\n      <td class=\"status\"><span class=\"sym\">{}</span> {}</td>\n      <td class=\"check\"><b>{}</b>",
                line.status, line.symbol, line.label, f.title
            );
            assert!(page.contains(&row), "no row {row}");
        }
    }

    #[test]
    fn values_from_the_phone_are_text_not_markup() {
        let page = html("fixtures/failures.plist", false);
        // The fixture's phone is named `<script>alert(1)</script>`.
        assert!(!page.contains("<script"), "a tag got through");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
    }

    #[test]
    fn terminal_controls_from_the_phone_never_reach_the_page() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join("data/demo-iphone.plist");
        let mut snap = snapshot::load_file(&path).unwrap();
        snap.lockdown.insert(
            "DeviceName".into(),
            "Eve\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}\u{202e}gpj.exe".into(),
        );
        let r = report_for(&snap, "x", &Context::default(), false);
        let page = render_reports(&[r], &context()).unwrap().remove(0);
        for bad in ['\u{1b}', '\u{9b}', '\u{202e}', '\u{7}'] {
            assert!(!page.contains(bad), "{bad:?} in the page");
        }
        assert!(
            page.contains("Eve\\u{1b}]0;pwned"),
            "shown as a visible escape"
        );
    }

    #[test]
    fn self_contained_no_script_no_fetch() {
        let page = html("data/demo-iphone.plist", false);
        for banned in [
            "<script", "<link", "@import", "url(", "src=", "http://", "https://",
        ] {
            assert!(!page.contains(banned), "{banned} in the page");
        }
    }

    #[test]
    fn redaction_hides_the_same_values_as_in_text_and_json() {
        let plain = report("fixtures/failures.plist", false);
        let secrets = [
            plain.facts.identity.serial_number.clone().unwrap(),
            plain.facts.identity.udid.clone().unwrap(),
            plain.facts.network.wifi_address.clone().unwrap(),
            "alert(1)".to_string(),
        ];
        // Redacted before rendering (scan --redact) and redacted from a saved JSON report.
        let fresh = html("fixtures/failures.plist", true);
        let mut doc = ReportDocument::from_value(json::to_value(&[plain], &context())).unwrap();
        doc.redact();
        let saved = render_document(&doc).unwrap().remove(0);
        for page in [&fresh, &saved] {
            for s in &secrets {
                assert!(!page.contains(s.as_str()), "{s} leaked");
            }
            assert!(page.contains("[redacted]"));
        }
    }

    #[test]
    fn photo_evidence_shows_when_present() {
        let page = html("data/demo-iphone.plist", false);
        let oldest = crate::words::local(
            "2026-11-09T16:40:00Z".parse().unwrap(),
            crate::words::SHEET_DAY,
        );
        assert!(
            page.contains(&format!(
                "1204 photos were waiting to upload (4.1 GB), the oldest added {oldest}"
            )),
            "{page}"
        );
        // In the machine's time zone, whatever it is (TZ-set runs: tests/report_sheet.rs).
        let last_sync = crate::words::local(
            "2026-11-21T22:10:00Z".parse().unwrap(),
            crate::words::SHEET_TIME,
        );
        assert!(page.contains(&format!("Last sync with iCloud: {last_sync}.")));
        assert!(!html("fixtures/healthy.plist", false).contains("iCloud Photos on this iPhone"));
    }

    #[test]
    fn refused_values_are_listed_and_the_sheet_still_renders() {
        let page = html("fixtures/bad/absurd-battery.plist", false);
        assert!(page.contains("Values not understood"), "{page}");
        assert!(
            page.contains("Domains&#x2f;com.apple.mobile.battery&#x2f;BatteryCurrentCapacity is the integer 250"),
            "{page}"
        );
        assert!(!html("fixtures/healthy.plist", false).contains("Values not understood"));
        // A JSON report from before the warnings field still renders.
        let mut value = json::to_value(
            &[report("fixtures/bad/absurd-battery.plist", false)],
            &ReportContext::now(),
        );
        value["devices"][0]
            .as_object_mut()
            .unwrap()
            .remove("warnings");
        let doc = ReportDocument::from_value(value).unwrap();
        assert!(doc.devices[0].warnings.is_empty());
        assert!(!render_document(&doc).unwrap()[0].contains("Values not understood"));
    }

    #[test]
    fn storage_bar_and_battery_in_words() {
        let page = html("fixtures/failures.plist", false);
        assert!(page.contains("free"), "{page}");
        assert!(page.contains("12 %, not on power"), "{page}");
        // Battery health is said once, by its check's line.
        assert_eq!(page.matches("1408 cycles").count(), 1, "{page}");
        assert!(!page.contains("charge cycles"), "{page}");
        assert!(page.contains("style=\"width: 99%\""), "{page}");
    }
}
