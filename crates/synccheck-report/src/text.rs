//! The text report a technician reads at the bench: a header with the device, one line per check.

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use super::{DeviceReport, ReportContext};
use synccheck_core::checklist::{Finding, Status};
use synccheck_core::facts::DeviceFacts;
use synccheck_core::units;
use synccheck_wire::phone_text::printable;

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

fn mark(status: Status) -> (&'static str, &'static str) {
    // The word is always printed, so the report reads the same without colour.
    match status {
        Status::Pass => ("✔ pass  ", "32"),
        Status::Warn => ("! warn  ", "33"),
        Status::Fail => ("✘ fail  ", "31;1"),
        Status::Manual => ("? manual", "36"),
    }
}

pub fn write(
    mut out: impl Write,
    reports: &[DeviceReport],
    ctx: &ReportContext,
    style: Style,
) -> io::Result<()> {
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        device(&mut out, r, style)?;
    }
    if let Some(note) = ctx.stale_note() {
        writeln!(out, "\n{}", style.paint("33", &format!("Note: {note}")))?;
    }
    Ok(())
}

fn device(out: &mut impl Write, r: &DeviceReport, style: Style) -> io::Result<()> {
    writeln!(out, "{}", style.paint("1", &headline(&r.facts)))?;
    let mut second = Vec::new();
    if let Some(s) = &r.facts.identity.serial_number {
        second.push(format!("Serial {s}"));
    }
    if let Some(u) = &r.facts.identity.udid {
        second.push(format!("UDID {u}"));
    }
    let when = r
        .captured_at
        .map(|t| {
            format!(
                " on {}",
                DateTime::<Utc>::from(t).format("%Y-%m-%d %H:%M UTC")
            )
        })
        .unwrap_or_default();
    if r.origin.eq_ignore_ascii_case(&r.source) {
        second.push(format!("read over {}{when}", r.origin));
    } else {
        second.push(format!("read from {} ({}){when}", r.origin, r.source));
    }
    writeln!(out, "{}", style.paint("2", &second.join(" · ")))?;
    if let Some(line) = state_line(&r.facts) {
        writeln!(out, "{}", printable(&line))?;
    }
    if let Some(note) = super::rescue::note(&r.facts) {
        writeln!(out, "{}", style.paint("1", &note))?;
    }
    for warning in super::json::warnings(r) {
        writeln!(out, "{}", style.paint("33", &format!("Warning: {warning}")))?;
    }
    writeln!(out)?;
    let width = r
        .evaluation
        .findings
        .iter()
        .map(|f| printable(f.title).chars().count())
        .max()
        .unwrap_or(0);
    for f in &r.evaluation.findings {
        finding(out, f, width, style)?;
    }
    let status = r.evaluation.verdict.status;
    let (_, code) = mark(status);
    writeln!(
        out,
        "\n{} — {}",
        style.paint(
            code,
            &format!("Verdict: {}", status.as_str().to_uppercase())
        ),
        printable(&r.evaluation.verdict.summary)
    )
}

fn headline(f: &DeviceFacts) -> String {
    let id = &f.identity;
    let model = match (&id.marketing_name, &id.product_type) {
        (Some(n), Some(p)) => format!("{n} ({p})"),
        (None, Some(p)) => format!("Unknown iPhone ({p})"),
        _ => "Unknown device".to_string(),
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
    parts.join(" · ")
}

/// Storage and battery at a glance, when known.
fn state_line(f: &DeviceFacts) -> Option<String> {
    let mut parts = Vec::new();
    if let (Some(free), Some(cap)) = (f.storage.free_bytes, f.storage.data_capacity_bytes) {
        parts.push(format!(
            "Storage {} free of {}",
            units::bytes(free),
            units::bytes(cap)
        ));
    }
    if let Some(l) = f.battery.level_percent {
        let state = match (f.battery.charging, f.battery.external_power) {
            (Some(true), _) => ", charging",
            (_, Some(true)) => ", on power",
            (_, Some(false)) => ", on battery",
            _ => "",
        };
        parts.push(format!("Battery {l} %{state}"));
    }
    if let Some(h) = f.battery.health.estimated_health_percent {
        let cycles = f
            .battery
            .health
            .cycle_count
            .map(|c| format!(", {c} cycles"))
            .unwrap_or_default();
        parts.push(format!("health ≈ {}{cycles}", units::percent(h)));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

fn finding(out: &mut impl Write, f: &Finding, width: usize, style: Style) -> io::Result<()> {
    let (word, code) = mark(f.status);
    writeln!(
        out,
        "  {}  {:width$}  {}",
        style.paint(code, word),
        printable(f.title),
        printable(&f.summary)
    )?;
    let indent = " ".repeat(2 + 8 + 2 + width + 2);
    if !f.evidence.is_empty() {
        let ev: Vec<String> = f
            .evidence
            .iter()
            .map(|e| format!("{} = {}", e.source, e.value))
            .collect();
        writeln!(
            out,
            "{indent}{}",
            style.paint("2", &format!("evidence: {}", ev.join("; ")))
        )?;
    }
    // A manual step's summary already says where to look and how to answer; its fix is in the
    // JSON and appears here once the technician answers that the step fails.
    if matches!(f.status, Status::Warn | Status::Fail) && !f.remedy.is_empty() {
        writeln!(out, "{indent}→ {}", printable(&f.remedy))?;
    }
    Ok(())
}
