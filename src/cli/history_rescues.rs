//! `synccheck history rescues`: past `rescue` runs, newest first, one line each, in the
//! history's own columns (time, bench, phone) and the rescue's counts.

use synccheck_history::{ListFilter, RescueRow, RescueSelection};

use super::args::DbArgs;
use super::error::CliError;
use super::history::{cell, open_to_read, phone_cells, time_cell};

/// Which rescues, and whether to hide the phones.
pub struct RescuesAsked<'a> {
    pub udid: Option<String>,
    pub limit: Option<u32>,
    pub since: Option<i64>,
    pub redact: bool,
    pub db: &'a DbArgs,
}

pub fn list(asked: RescuesAsked<'_>) -> Result<i32, CliError> {
    let Some(history) = open_to_read(asked.db)? else {
        eprintln!("No rescues recorded yet.");
        return Ok(0);
    };
    let filter = ListFilter {
        udid: asked.udid,
        bench: asked.db.bench.clone(),
        since: asked.since,
        limit: asked.limit,
    };
    let rows = history.list_rescues(&filter)?;
    if rows.is_empty() {
        eprintln!("No rescues recorded yet.");
        return Ok(0);
    }
    println!(
        "{:>5}  {:<16}  {:<12}  {:<14}  {:<18}  {:<18}  {:<7}  {:>6}  {:>7}  {:>12}  {:>8}  all rescued",
        "id", "time", "bench", "serial", "name", "model", "asked", "copied", "there",
        "not rescued", "size"
    );
    for r in rows {
        println!("{}", line(&r, asked.redact));
    }
    Ok(0)
}

/// One rescue's line; `size` is what this run copied.
fn line(r: &RescueRow, redact: bool) -> String {
    let (serial, name) = phone_cells(
        r.serial.as_deref(),
        r.udid.as_deref(),
        r.name.as_deref(),
        redact,
    );
    let asked = match r.selection {
        Some(RescueSelection::Waiting) => "waiting",
        Some(RescueSelection::All) => "all",
        None => "?",
    };
    format!(
        "{:>5}  {:<16}  {:<12}  {:<14}  {:<18}  {:<18}  {:<7}  {:>6}  {:>7}  {:>12}  {:>8}  {}",
        r.id,
        time_cell(r.rescued_at),
        cell(r.bench.as_deref(), 12),
        serial,
        name,
        cell(r.model.as_deref(), 18),
        asked,
        r.copied,
        r.already_there,
        r.failed,
        super::rescue::bytes(r.bytes),
        if r.complete { "yes" } else { "no" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> RescueRow {
        RescueRow {
            id: 3,
            rescued_at: 1_764_669_600,
            bench: Some("bench-2".into()),
            udid: Some("00008030-0011".into()),
            serial: Some("F4GZK2LMN7Q1".into()),
            name: Some("Sam\u{1b}[2J".into()),
            product_type: Some("iPhone16,1".into()),
            model: Some("iPhone 15 Pro".into()),
            selection: Some(RescueSelection::Waiting),
            copied: 15,
            already_there: 0,
            failed: 1,
            bytes: 650_000,
            complete: false,
        }
    }

    #[test]
    fn a_line_shows_the_phone_printable_and_the_counts() {
        let l = line(&row(), false);
        assert!(l.contains("2025-12-02 10:00"), "{l}");
        assert!(l.contains("bench-2") && l.contains("F4GZK2LMN7Q1"), "{l}");
        assert!(!l.contains('\u{1b}'), "{l}");
        assert!(
            l.contains("waiting") && l.contains("650 kB") && l.ends_with("no"),
            "{l}"
        );
    }

    #[test]
    fn redacted_it_hides_serial_udid_and_name() {
        let l = line(&row(), true);
        for secret in ["F4GZK2LMN7Q1", "00008030-0011", "Sam"] {
            assert!(!l.contains(secret), "{l}");
        }
        assert!(l.contains("iPhone 15 Pro"), "{l}");
    }
}
