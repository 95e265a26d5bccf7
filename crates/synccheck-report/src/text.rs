//! The text report a technician reads at the bench, one screen per phone: who the phone is,
//! the problems (fail, then warn, each with its fix), the steps left to check on the phone,
//! the passes in one block, and the verdict last, where the eye lands. Raw evidence only with
//! `--details` (the JSON always has it). Every line is wrapped at the terminal's width with its
//! indent kept, so nothing wraps back to column 0.

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use super::{DeviceReport, ReportContext};
use crate::document::DeviceDocument;
use crate::first_steps::{first_steps, FirstStep};
use crate::words::{self, status_symbol, status_word, TO_CHECK_ON_THE_PHONE};
use synccheck_core::checklist::{answer_words, Finding, Status};
use synccheck_core::facts::DeviceFacts;
use synccheck_core::units;
use synccheck_wire::phone_text::printable;

/// The width when the output is not a terminal (a pipe, a file, a test).
pub const DEFAULT_WIDTH: usize = 80;
/// Narrower than this, indents would leave no room for words: wrap as if this wide.
const MIN_WIDTH: usize = 40;

/// ANSI colours, or none: off when stdout is not a terminal or NO_COLOR is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// `text` coloured. Every line of the report goes through here or [`printable`], so no
    /// control character or bidi override the phone chose (in its name, a value, an error it
    /// sent) reaches the terminal raw: only the colour codes added here do.
    fn paint(&self, code: &str, text: &str) -> String {
        let text = printable(text);
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// How the text report is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextOptions {
    pub style: Style,
    /// The terminal's width in columns ([`DEFAULT_WIDTH`] off a terminal).
    pub width: usize,
    /// Show every check's evidence and where to look for the steps to check (`--details`).
    pub details: bool,
}

impl TextOptions {
    pub fn plain() -> Self {
        TextOptions {
            style: Style { color: false },
            width: DEFAULT_WIDTH,
            details: false,
        }
    }
}

fn colour(status: Status) -> &'static str {
    match status {
        Status::Pass => "32",
        Status::Warn => "33",
        Status::Fail => "31;1",
        Status::Manual => "36",
    }
}

/// The status column's width for `status`: symbol, space, word, two spaces. Each block holds
/// one status, so its lines align; "to check" needs more room than "fail".
fn mark_width(status: Status) -> usize {
    2 + status_word(status).len() + 2
}

/// The status column: symbol and word. The word is always printed, so the report reads the
/// same without colour.
fn mark(status: Status, style: Style) -> String {
    let plain = format!("{} {}", status_symbol(status), status_word(status));
    format!("{}  ", style.paint(colour(status), &plain))
}

pub fn write(
    mut out: impl Write,
    reports: &[DeviceReport],
    ctx: &ReportContext,
    opts: TextOptions,
) -> io::Result<()> {
    let w = Wrapper::new(opts.width);
    if let Some(note) = ctx.stale_note() {
        for line in w.wrap(&format!("Note: {note}"), "", "      ") {
            writeln!(out, "{}", opts.style.paint("33", &line))?;
        }
        writeln!(out)?;
    }
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        device(&mut out, r, &w, opts)?;
    }
    if reports.len() > 1 {
        summary(&mut out, reports, &w, opts.style)?;
    }
    Ok(())
}

/// Lines at most `width` display columns wide, a hanging indent kept on every wrapped line.
struct Wrapper {
    width: usize,
}

impl Wrapper {
    fn new(width: usize) -> Self {
        Wrapper {
            width: width.max(MIN_WIDTH),
        }
    }

    /// `text` made printable and wrapped: `first` before the first line, `rest` before the
    /// others. Words longer than a line (a raw key, a UDID) are broken rather than overflow.
    fn wrap(&self, text: &str, first: &str, rest: &str) -> Vec<String> {
        let text = printable(text);
        let options = textwrap::Options::new(self.width)
            .initial_indent(first)
            .subsequent_indent(rest)
            // Never at a hyphen: "photos-upload" and "--answer" are typed as printed.
            .word_splitter(textwrap::WordSplitter::NoHyphenation)
            .break_words(true);
        textwrap::wrap(&text, options)
            .into_iter()
            .map(|l| l.into_owned())
            .collect()
    }

    /// `parts` joined with " · ", a new line started where the next part would not fit.
    fn pack(&self, parts: &[String]) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for part in parts {
            let part = printable(part);
            let joined = format!("{line} · {part}");
            if !line.is_empty() && textwrap::core::display_width(&joined) <= self.width {
                line = joined;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut wrapped = self.wrap(&part, "", "  ");
            line = wrapped.pop().unwrap_or_default();
            lines.extend(wrapped);
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// `text` cut to one line, with "…" where it was cut.
    fn cut(&self, text: &str) -> String {
        let text = printable(text);
        if textwrap::core::display_width(&text) <= self.width {
            return text.into_owned();
        }
        let mut out = String::new();
        let mut used = 0;
        for ch in text.chars() {
            let w = textwrap::core::display_width(ch.encode_utf8(&mut [0; 4]));
            if used + w + 1 > self.width {
                break;
            }
            used += w;
            out.push(ch);
        }
        out.push('…');
        out
    }
}

fn device(
    out: &mut impl Write,
    r: &DeviceReport,
    w: &Wrapper,
    opts: TextOptions,
) -> io::Result<()> {
    let style = opts.style;
    let local = |text: &str| words::localise_times(text, words::SCREEN_TIME, None);
    for line in w.pack(&headline(&r.facts)) {
        writeln!(out, "{}", style.paint("1", &line))?;
    }
    for line in w.pack(&identity(r)) {
        writeln!(out, "{}", style.paint("2", &line))?;
    }
    for line in w.pack(&state(&r.facts)) {
        writeln!(out, "{line}")?;
    }
    for warning in super::json::warnings(r) {
        for line in w.wrap(&format!("Warning: {warning}"), "", "  ") {
            writeln!(out, "{}", style.paint("33", &line))?;
        }
    }

    let findings = &r.evaluation.findings;
    let with = |s: Status| findings.iter().filter(move |f| f.status == s);
    for f in with(Status::Fail).chain(with(Status::Warn)) {
        let indent = " ".repeat(mark_width(f.status));
        let lines = w.wrap(&local(&f.summary), &indent, &indent);
        print_marked(out, f.status, &lines, style)?;
        if !f.remedy.is_empty() {
            let (first, rest) = (format!("{indent}→ "), format!("{indent}  "));
            for line in w.wrap(&local(&f.remedy), &first, &rest) {
                writeln!(out, "{line}")?;
            }
        }
        if opts.details {
            evidence(out, f, w, &indent, style)?;
        }
    }

    let manual: Vec<&Finding> = with(Status::Manual).collect();
    let indent = " ".repeat(mark_width(Status::Manual));
    let title_width = manual
        .iter()
        .map(|f| textwrap::core::display_width(&printable(f.title)))
        .max()
        .unwrap_or(0);
    for f in &manual {
        // The step and how to answer it; where to look is in --details (and the JSON).
        let answer = match answer_words(f.id) {
            ([pass, ..], [fail, ..]) => format!("--answer {}={pass}|{fail}", f.id),
            _ => String::new(),
        };
        let title = printable(f.title);
        let pad = title_width.saturating_sub(textwrap::core::display_width(&title));
        let row = format!("{title}{}  {answer}", " ".repeat(pad));
        let lines = w.wrap(row.trim_end(), &indent, &indent);
        print_marked(out, Status::Manual, &lines, style)?;
        // How to answer is on the row already.
        let summary = match f.summary.find(" (answer with --answer ") {
            Some(i) if f.summary.ends_with(')') => &f.summary[..i],
            _ => &f.summary,
        };
        if opts.details {
            for line in w.wrap(&local(summary), &indent, &indent) {
                writeln!(out, "{line}")?;
            }
            evidence(out, f, w, &indent, style)?;
        } else if let Some(why) = unknown_because(summary) {
            // A step left to the technician for a reason of its own (the photo library could
            // not be read): the reason is said, never only in --details.
            for line in w.wrap(&local(why), &indent, &indent) {
                writeln!(out, "{line}")?;
            }
        }
    }

    let indent = " ".repeat(mark_width(Status::Pass));
    if opts.details {
        for f in with(Status::Pass) {
            let lines = w.wrap(&local(&f.summary), &indent, &indent);
            print_marked(out, Status::Pass, &lines, style)?;
            evidence(out, f, w, &indent, style)?;
        }
    } else {
        // A title is never split over two lines: its spaces do not break while wrapping.
        let passes: Vec<String> = with(Status::Pass)
            .map(|f| f.title.replace(' ', "\u{a0}"))
            .collect();
        if !passes.is_empty() {
            let lines: Vec<String> = w
                .wrap(&passes.join(" · "), &indent, &indent)
                .into_iter()
                .map(|l| l.replace('\u{a0}', " "))
                .collect();
            print_marked(out, Status::Pass, &lines, style)?;
        }
    }

    writeln!(out)?;
    verdict(out, r, w, style)
}

/// Why a step is left to check on the phone, when it is more than "the phone does not report
/// this" (every such summary starts "Check on the phone: …"): the part before where to look.
fn unknown_because(summary: &str) -> Option<&str> {
    if summary.starts_with("Check on the phone") {
        return None;
    }
    let why = summary
        .find("; check on the phone")
        .map_or(summary, |i| &summary[..i]);
    (!why.trim().is_empty()).then_some(why)
}

/// Lines wrapped with the status column's width of indent; the first gets the status there.
fn print_marked(
    out: &mut impl Write,
    status: Status,
    lines: &[String],
    style: Style,
) -> io::Result<()> {
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            let text = line.get(mark_width(status)..).unwrap_or(line.trim_start());
            writeln!(out, "{}{text}", mark(status, style))?;
        } else {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The raw keys and values a finding rests on, one a line (`--details`).
fn evidence(
    out: &mut impl Write,
    f: &Finding,
    w: &Wrapper,
    indent: &str,
    style: Style,
) -> io::Result<()> {
    let first = format!("{indent}· ");
    let rest = format!("{indent}    ");
    for e in &f.evidence {
        let value = words::localise_times(&e.value, words::SCREEN_TIME, None);
        for line in w.wrap(&format!("{} = {value}", e.source), &first, &rest) {
            writeln!(out, "{}", style.paint("2", &line))?;
        }
    }
    Ok(())
}

/// The verdict in one sentence, and what to do first.
fn verdict(out: &mut impl Write, r: &DeviceReport, w: &Wrapper, style: Style) -> io::Result<()> {
    let status = r.evaluation.verdict.status;
    let count = |s: Status| {
        r.evaluation
            .findings
            .iter()
            .filter(|f| f.status == s)
            .count()
    };
    let (fails, warns, manual) = (
        count(Status::Fail),
        count(Status::Warn),
        count(Status::Manual),
    );
    // One row at 80 columns for the usual counts: the problems are listed just above.
    let problems = plural(fails + warns, "problem", "problems");
    let mut said = match status {
        Status::Fail if warns == 0 && fails == 1 => format!("{problems}, blocking"),
        Status::Fail if warns == 0 => format!("{problems}, all blocking"),
        Status::Fail => format!("{problems}, {fails} blocking"),
        Status::Warn => format!("{problems}, none blocking"),
        Status::Manual => "no problem in what the phone reports".to_string(),
        Status::Pass => "every check passes".to_string(),
    };
    if manual > 0 {
        said += &format!(
            "; {} {TO_CHECK_ON_THE_PHONE}",
            plural(manual, "step", "steps")
        );
    }
    let head = format!("{} Verdict: {}", status_symbol(status), status_word(status));
    // The first problem is the first listed; only a note of its own (photos to save first)
    // is said again here.
    let notes: Vec<String> = device_document(r)
        .as_ref()
        .map(first_steps)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| match s {
            FirstStep::Note(n) => Some(n),
            FirstStep::Fix { .. } | FirstStep::CheckOnThePhone { .. } => None,
        })
        .collect();
    let lines = w.wrap(&format!("{head} — {said}"), "", "  ");
    for (i, line) in lines.iter().enumerate() {
        match (i, line.strip_prefix(&head)) {
            (0, Some(rest)) => writeln!(out, "{}{rest}", style.paint(colour(status), &head))?,
            _ => writeln!(out, "{line}")?,
        }
    }
    for note in notes {
        for line in w.wrap(&format!("First: {note}"), "  ", "  ") {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The report as its JSON document reads back, for what every surface derives alike.
fn device_document(r: &DeviceReport) -> Option<DeviceDocument> {
    serde_json::from_value(super::json::device(r)).ok()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// With several phones: one line each, in the report's order, cut to the width.
fn summary(
    out: &mut impl Write,
    reports: &[DeviceReport],
    w: &Wrapper,
    style: Style,
) -> io::Result<()> {
    writeln!(out, "\n{} phones:", reports.len())?;
    for (i, r) in reports.iter().enumerate() {
        let status = r.evaluation.verdict.status;
        let top = r
            .evaluation
            .findings
            .iter()
            .filter(|f| f.status == Status::Fail)
            .chain(
                r.evaluation
                    .findings
                    .iter()
                    .filter(|f| f.status == Status::Warn),
            )
            .next()
            .map(|f| words::localise_times(&f.summary, words::SCREEN_TIME, None));
        let manual = r
            .evaluation
            .findings
            .iter()
            .filter(|f| f.status == Status::Manual)
            .count();
        let what = top.unwrap_or_else(|| match manual {
            0 => "every check passes".to_string(),
            n => format!("{} {TO_CHECK_ON_THE_PHONE}", plural(n, "step", "steps")),
        });
        let id = &r.facts.identity;
        let mut who = words::model_name(id.marketing_name.as_deref(), id.product_type.as_deref());
        if let Some(name) = &id.name {
            who += &format!(" \"{name}\"");
        }
        let plain_mark = format!("{} {}", status_symbol(status), status_word(status));
        let line = w.cut(&format!(
            "{:>2}  {plain_mark:<width$}{who} · {what}",
            i + 1,
            width = mark_width(Status::Manual)
        ));
        // Colour only the status, after cutting: the escape codes take no columns.
        let painted = line.replacen(&plain_mark, &style.paint(colour(status), &plain_mark), 1);
        writeln!(out, "{painted}")?;
    }
    Ok(())
}

/// The model, iOS and the phone's name.
fn headline(f: &DeviceFacts) -> Vec<String> {
    let id = &f.identity;
    let model = match (&id.marketing_name, &id.product_type) {
        (Some(n), Some(p)) => format!("{n} ({p})"),
        (None, Some(p)) => format!("Unknown iPhone ({p})"),
        (Some(n), None) => n.clone(),
        (None, None) => "Unknown device".to_string(),
    };
    let mut parts = vec![model];
    if let Some(v) = f.software.ios_version {
        let build = f
            .software
            .build
            .as_ref()
            .map(|b| format!(" ({b})"))
            .unwrap_or_default();
        parts.push(format!("iOS {v}{build}"));
    }
    if let Some(n) = &id.name {
        parts.push(format!("\"{n}\""));
    }
    parts
}

/// Serial, UDID, when and where from.
fn identity(r: &DeviceReport) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(s) = &r.facts.identity.serial_number {
        parts.push(format!("Serial {s}"));
    }
    if let Some(u) = &r.facts.identity.udid {
        parts.push(format!("UDID {u}"));
    }
    let when = r
        .captured_at
        .map(|t| words::local(DateTime::<Utc>::from(t), words::SCREEN_TIME));
    let read = if r.origin.eq_ignore_ascii_case(&r.source) {
        r.origin.clone()
    } else if r.source == "usb" {
        format!("from {}", r.origin)
    } else {
        format!("from {} ({})", r.origin, r.source)
    };
    parts.push(match when {
        Some(when) => format!("{read}, {when}"),
        None => read,
    });
    parts
}

/// Storage and battery at a glance, when known. Battery health is the battery-health check's
/// to say, once.
fn state(f: &DeviceFacts) -> Vec<String> {
    let mut parts = Vec::new();
    if let (Some(free), Some(cap)) = (f.storage.free_bytes, f.storage.data_capacity_bytes) {
        parts.push(format!(
            "Storage {} free of {}",
            units::bytes(free),
            units::bytes(cap)
        ));
    }
    if let Some(l) = f.battery.level_percent {
        parts.push(format!(
            "Battery {}",
            words::battery_state(l, f.battery.charging, f.battery.external_power)
        ));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::report_for;
    use synccheck_core::checklist::Context;
    use synccheck_core::snapshot;

    fn report(file: &str, rename: Option<&str>) -> DeviceReport {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(file);
        let mut snap = snapshot::load_file(&path).unwrap();
        if let Some(name) = rename {
            snap.lockdown.insert("DeviceName".into(), name.into());
        }
        report_for(&snap, file, &Context::default(), false)
    }

    fn render(reports: &[DeviceReport], opts: TextOptions) -> String {
        let ctx = ReportContext::at(
            chrono::DateTime::from_timestamp(1_796_212_800, 0).unwrap(), // 2026-12-02
            synccheck_core::facts::Catalog::builtin(),
        );
        let mut out = Vec::new();
        write(&mut out, reports, &ctx, opts).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The text without colour codes, as wide as the terminal shows it.
    fn shown_width(line: &str) -> usize {
        let mut plain = String::new();
        let mut rest = line;
        while let Some(i) = rest.find('\x1b') {
            plain.push_str(&rest[..i]);
            rest = rest[i..].split_once('m').map_or("", |(_, after)| after);
        }
        plain.push_str(rest);
        textwrap::core::display_width(&plain)
    }

    #[test]
    fn every_line_fits_the_width_names_and_raw_values_included() {
        // A long name without spaces, wide characters, and the phone's own raw evidence.
        let long = format!("{}の iPhone", "x".repeat(150));
        let reports = [
            report("fixtures/failures.plist", Some(&long)),
            report("data/demo-iphone.plist", None),
        ];
        for width in [20, 40, 57, 80, 200] {
            for (details, color) in [(false, false), (true, false), (true, true)] {
                let opts = TextOptions {
                    style: Style { color },
                    width,
                    details,
                };
                let text = render(&reports, opts);
                for line in text.lines() {
                    assert!(
                        shown_width(line) <= width.max(MIN_WIDTH),
                        "{width} columns (details {details}, colour {color}): {line}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_step_left_for_a_reason_of_its_own_says_it() {
        assert_eq!(
            unknown_because(
                "The phone refused to share Photos.sqlite; check on the phone: the bottom of Library"
            ),
            Some("The phone refused to share Photos.sqlite")
        );
        assert_eq!(unknown_because("Check on the phone: restart it"), None);
    }

    #[test]
    fn colour_marks_the_status_and_the_word_is_always_there() {
        let opts = TextOptions {
            style: Style { color: true },
            ..TextOptions::plain()
        };
        let text = render(&[report("fixtures/failures.plist", None)], opts);
        assert!(text.contains("\x1b[31;1m✘ fail\x1b[0m"), "{text}");
        assert!(text.contains("\x1b[36m? to check\x1b[0m"), "{text}");
        let plain = render(
            &[report("fixtures/failures.plist", None)],
            TextOptions::plain(),
        );
        assert!(!plain.contains('\x1b'));
        assert!(plain.contains("✘ fail") && plain.contains("? to check"));
    }

    #[test]
    fn a_phones_controls_never_reach_the_terminal() {
        let hostile = "Eve\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}\u{202e}";
        let reports = [
            report("fixtures/failures.plist", Some(hostile)),
            report("fixtures/healthy.plist", Some(hostile)),
        ];
        for details in [false, true] {
            let text = render(
                &reports,
                TextOptions {
                    details,
                    ..TextOptions::plain()
                },
            );
            for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
                assert!(!text.contains(bad), "{bad:?} reached the terminal");
            }
            // The one-line summary shows the name too, made visible.
            assert!(text.contains("2 phones:"), "{text}");
        }
    }
}
