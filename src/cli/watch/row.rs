//! The words of `watch`: one row per phone on a terminal, cut to its width so it never wraps,
//! and one log line per change in a pipe or a log file. Pure functions of a phone's seat, the
//! width and whether to colour, so every layout is unit-tested.

use console::{measure_text_width, truncate_str};
use synccheck_core::checklist::Status;
use synccheck_report::words::{status_symbol, status_word};
use synccheck_report::DeviceReport;
use synccheck_wire::phone_text::printable;

use super::bench::{Phase, Seat};

const NUMBER: usize = 2;
const PHONE: usize = 16;
const IOS: usize = 7;
const VERDICT: usize = 10;
/// `HH:MM`, local time.
const TIME: usize = 5;

/// What one phone's row shows, copied out of its seat so the board can redraw it at another
/// width without the bench.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub number: usize,
    /// How the log names the phone: its UDID, or "iPhone" under --redact.
    pub label: String,
    /// The phone's name, else its model: what the technician reads on the row.
    pub phone: String,
    /// Name, model and iOS, for the log line.
    pub identity: String,
    pub ios: String,
    pub phase: Phase,
    /// The top problem (or what the phone is doing now).
    pub problem: String,
    /// When the scan was read, local `HH:MM`.
    pub time: Option<String>,
}

impl Row {
    pub fn from_seat(seat: &Seat, redact: bool) -> Row {
        let report = seat.report.as_ref().filter(|_| is_done(&seat.phase));
        let identity = report.map(|r| &r.facts.identity);
        let model = identity.and_then(|i| i.marketing_name.clone().or(i.product_type.clone()));
        // Under --redact the report's name is already hidden: the model names the phone.
        let name = identity
            .and_then(|i| i.name.clone())
            .filter(|n| !redact && !n.trim().is_empty() && n != synccheck_report::REDACTED);
        let ios = report
            .and_then(|r| r.facts.software.ios_version)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let phone = name
            .clone()
            .or(model.clone())
            .unwrap_or_else(|| "iPhone".into());
        let mut identity = Vec::new();
        if let Some(n) = &name {
            identity.push(format!("\"{n}\""));
        }
        identity.push(model.unwrap_or_else(|| "iPhone".into()));
        if !ios.is_empty() {
            identity.push(format!("iOS {ios}"));
        }
        let problem = match report {
            Some(r) => top_problem(r),
            None => seat.phase.describe(),
        };
        let time = report.and_then(|r| r.captured_at).map(|t| {
            chrono::DateTime::<chrono::Local>::from(t)
                .format("%H:%M")
                .to_string()
        });
        Row {
            number: seat.number,
            label: if redact {
                "iPhone".into()
            } else {
                seat.udid.clone()
            },
            phone: printable(&phone).into_owned(),
            identity: printable(&identity.join(" · ")).into_owned(),
            ios: printable(&ios).into_owned(),
            phase: seat.phase.clone(),
            problem: printable(&problem).into_owned(),
            time,
        }
    }
}

fn is_done(phase: &Phase) -> bool {
    matches!(phase, Phase::Done { .. })
}

/// The worst finding first: a fail, else a warn, with how many more problems there are; the
/// steps left to check on the phone; or that every check passes.
pub fn top_problem(r: &DeviceReport) -> String {
    let findings = &r.evaluation.findings;
    let worst_first = [Status::Fail, Status::Warn]
        .into_iter()
        .flat_map(|s| findings.iter().filter(move |f| f.status == s));
    let problems: Vec<_> = worst_first.collect();
    if let Some(first) = problems.first() {
        let top = first.summary.trim_end_matches('.');
        return match problems.len() - 1 {
            0 => top.to_string(),
            more => format!("{top} (+{more} more)"),
        };
    }
    let manual: Vec<_> = findings
        .iter()
        .filter(|f| f.status == Status::Manual)
        .map(|f| f.id.as_str())
        .collect();
    match manual.len() {
        0 => "every check passes".into(),
        1 => format!("1 step to check on the phone: {}", manual[0]),
        n => format!("{n} steps to check on the phone: {}", manual.join(", ")),
    }
}

/// The verdict as the report says it (the report's one vocabulary: `✔ pass`, `? to check`,
/// `! warn`, `✘ fail`), with its colour; the word is always there, so the row reads the same
/// without colour.
fn verdict(status: Status) -> (String, &'static str) {
    let code = match status {
        Status::Pass => "32",
        Status::Manual => "36",
        Status::Warn => "33",
        Status::Fail => "31;1",
    };
    (said(status), code)
}

/// `✘ fail`: the symbol and the word, as every surface prints a status.
fn said(status: Status) -> String {
    format!("{} {}", status_symbol(status), status_word(status))
}

/// Cut to `width` columns (an ellipsis marks the cut), then padded to exactly `width`.
fn fit(text: &str, width: usize) -> String {
    // console's truncate_str also cuts a text that fits exactly, and needs room for the tail.
    let cut = match width {
        _ if measure_text_width(text) <= width => text.into(),
        0 => "".into(),
        _ => truncate_str(text, width, "…"),
    };
    let pad = width.saturating_sub(measure_text_width(&cut));
    format!("{cut}{}", " ".repeat(pad))
}

/// `#  phone  iOS  verdict  top problem  scanned`, aligned over the rows.
pub fn header(width: usize) -> String {
    let problem = width.saturating_sub(fixed_width());
    let line = format!(
        "{:>NUMBER$} {}  {}  {} {}  {}",
        "#",
        fit("phone", PHONE),
        fit("iOS", IOS),
        fit("verdict", VERDICT),
        fit("top problem", problem),
        fit("time", TIME),
    );
    fit(&line, width).trim_end().to_string()
}

/// Every column but the top problem's, with their gaps.
fn fixed_width() -> usize {
    NUMBER + 1 + PHONE + 2 + IOS + 2 + VERDICT + 1 + 2 + TIME
}

/// One row, at most `width` columns: the top problem takes what the other columns leave.
pub fn render(row: &Row, width: usize, color: bool) -> String {
    let (word, code) = match &row.phase {
        Phase::Done { status, .. } => verdict(*status),
        Phase::Failed { .. } => ("✘ unread".to_string(), "31"),
        Phase::Attached | Phase::Scanning(_) => ("… reading".to_string(), "2"),
        Phase::Unplugged { .. } => ("– gone".to_string(), "2"),
    };
    let mut verdict = fit(&word, VERDICT);
    if color {
        verdict = format!("\x1b[{code}m{verdict}\x1b[0m");
    }
    let mut problem = row.problem.clone();
    if let Phase::Done {
        attached: false, ..
    } = row.phase
    {
        problem = format!("unplugged · {problem}");
    }
    let line = format!(
        "{:>NUMBER$} {}  {}  {} {}  {}",
        row.number,
        fit(&row.phone, PHONE),
        fit(&row.ios, IOS),
        verdict,
        fit(&problem, width.saturating_sub(fixed_width())),
        fit(row.time.as_deref().unwrap_or(""), TIME),
    );
    // Narrower than the fixed columns: cut the row itself (the colour codes count for nothing).
    truncate_str(&line, width, "").trim_end().to_string()
}

/// The log's line for a change: no colour, no width, one line (the board writes it with the
/// time in front).
pub fn log_line(row: &Row) -> String {
    let what = match &row.phase {
        Phase::Done {
            status,
            history_id,
            attached: true,
        } => {
            let recorded = history_id
                .map(|id| format!(" (history #{id})"))
                .unwrap_or_default();
            format!(
                "{} · {} · {}{recorded}",
                said(*status),
                row.identity,
                row.problem
            )
        }
        phase => printable(&phase.describe()).into_owned(),
    };
    format!("[{}] {}: {what}", row.number, printable(&row.label))
}

/// The log's line when a verdict already logged has been recorded: its history number.
pub fn recorded_line(row: &Row) -> String {
    let id = match row.phase {
        Phase::Done {
            history_id: Some(id),
            ..
        } => id.to_string(),
        _ => "?".into(),
    };
    format!(
        "[{}] {}: recorded as history #{id}",
        row.number,
        printable(&row.label)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(status: Status) -> Row {
        Row {
            number: 3,
            label: "00008030-001E2D3C4B5A6978".into(),
            phone: "Sam’s iPhone".into(),
            identity: "\"Sam’s iPhone\" · iPhone 11 · iOS 17.5".into(),
            ios: "17.5".into(),
            phase: Phase::Done {
                status,
                history_id: Some(54),
                attached: true,
            },
            problem: "iCloud storage is full: 5.0 GB of 5.0 GB used, so nothing more can upload (+2 more)".into(),
            time: Some("14:32".into()),
        }
    }

    #[test]
    fn a_row_never_passes_the_width_and_keeps_its_time() {
        for width in [120, 80, 77, 60, 50] {
            let line = render(&done(Status::Fail), width, false);
            assert!(measure_text_width(&line) <= width, "{width}: {line}");
            assert!(line.ends_with("14:32"), "{width}: {line}");
            assert!(line.starts_with(" 3 Sam’s iPhone"), "{line}");
            assert!(line.contains("✘ fail"), "{line}");
        }
        let wide = render(&done(Status::Fail), 200, false);
        assert!(wide.contains("(+2 more)") && !wide.contains('…'), "{wide}");
        let narrow = render(&done(Status::Fail), 80, false);
        assert!(narrow.contains('…'), "cut with an ellipsis: {narrow}");
        // Narrower than the fixed columns: still one line.
        assert!(measure_text_width(&render(&done(Status::Fail), 20, false)) <= 20);
    }

    #[test]
    fn colour_is_only_on_the_verdict_and_costs_no_width() {
        let plain = render(&done(Status::Warn), 80, false);
        let coloured = render(&done(Status::Warn), 80, true);
        assert!(!plain.contains('\x1b'));
        assert!(coloured.contains("\x1b[33m! warn"), "{coloured:?}");
        assert_eq!(measure_text_width(&plain), measure_text_width(&coloured));
    }

    #[test]
    fn wide_characters_in_a_name_are_measured_by_their_columns() {
        let mut row = done(Status::Pass);
        row.phone = "山田さんのiPhone 📱📱📱".into();
        let line = render(&row, 80, false);
        assert!(measure_text_width(&line) <= 80, "{line}");
        assert!(line.ends_with("14:32"), "{line}");
    }

    #[test]
    fn the_header_lines_up_with_the_rows() {
        let header = header(80);
        let row = render(&done(Status::Fail), 80, false);
        let column = |line: &str, word: &str| line.find(word).map(|i| line[..i].chars().count());
        assert_eq!(
            column(&header, "iOS"),
            column(&row, "17.5"),
            "{header}\n{row}"
        );
        assert_eq!(column(&header, "verdict"), column(&row, "✘ fail"));
        assert!(header.ends_with("time"), "{header}");
    }

    #[test]
    fn the_log_line_is_one_line_with_the_history_number() {
        let line = log_line(&done(Status::Fail));
        assert_eq!(
            line,
            "[3] 00008030-001E2D3C4B5A6978: ✘ fail · \"Sam’s iPhone\" · iPhone 11 · iOS 17.5 · iCloud storage is full: 5.0 GB of 5.0 GB used, so nothing more can upload (+2 more) (history #54)"
        );
        let mut gone = done(Status::Fail);
        gone.phase = Phase::Done {
            status: Status::Fail,
            history_id: Some(54),
            attached: false,
        };
        assert_eq!(log_line(&gone), "[3] 00008030-001E2D3C4B5A6978: unplugged");
        assert_eq!(
            recorded_line(&done(Status::Fail)),
            "[3] 00008030-001E2D3C4B5A6978: recorded as history #54"
        );
    }
}
