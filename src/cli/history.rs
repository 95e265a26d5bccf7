//! `synccheck history`: past scans, and a past scan's report reprinted.

use chrono::{DateTime, Utc};
use synccheck_core::checklist::{Answers, Context};
use synccheck_core::units;
use synccheck_history::{self as history, earlier_scan, History, OpenMode};
use synccheck_report::pipeline;

use super::args::{DbArgs, HistoryArgs, HistoryCommand};
use super::error::CliError;
use super::report;

/// `--db`, else `SYNCCHECK_DB`, else the OS's data directory; and whether the user chose it.
pub fn db_path(args: &DbArgs) -> (std::path::PathBuf, bool) {
    match args
        .db
        .clone()
        .or_else(|| std::env::var_os("SYNCCHECK_DB").map(Into::into))
    {
        Some(given) => (given, true),
        None => (history::default_path(), false),
    }
}

/// The history a scan records into. Only the default location has its folders made: a path
/// the user gave must be in an existing folder, so a typo is an error, not a new tree.
pub fn open_to_record(args: &DbArgs) -> Result<History, history::HistoryError> {
    let (path, given) = db_path(args);
    let mode = if given {
        OpenMode::RecordAtGiven
    } else {
        OpenMode::RecordAtDefault
    };
    History::open_with(&path, mode)
}

/// The history to read, which must exist: `None` when the default one was never made (no
/// scan recorded yet); a path the user gave that holds no database is an error.
fn open_to_read(args: &DbArgs) -> Result<Option<History>, CliError> {
    let (path, given) = db_path(args);
    match History::open_with(&path, OpenMode::Read) {
        Err(history::HistoryError::Missing(_)) if !given => Ok(None),
        other => Ok(Some(other?)),
    }
}

pub fn run(args: HistoryArgs) -> Result<i32, CliError> {
    match args.show {
        Some(HistoryCommand::Show {
            id,
            db,
            html,
            report,
        }) => show(id, &db, &html, &report),
        None => list(&args),
    }
}

fn list(args: &HistoryArgs) -> Result<i32, CliError> {
    let Some(history) = open_to_read(&args.db)? else {
        eprintln!("No scans recorded yet.");
        return Ok(0);
    };
    let rows = history.list(args.udid.as_deref())?;
    if rows.is_empty() {
        eprintln!("No scans recorded yet.");
        return Ok(0);
    }
    println!(
        "{:>5}  {:<17}  {:<25}  {:<22}  {:<8}  {:>8}  {:>7}  verdict",
        "id", "time (UTC)", "device", "model", "iOS", "free", "health"
    );
    for r in rows {
        let when = DateTime::<Utc>::from_timestamp(r.scanned_at, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        let device = if args.redact {
            "[redacted]".to_string()
        } else {
            r.serial.or(r.udid).unwrap_or_else(|| "?".into())
        };
        // Serial, UDID, model and version were recorded as the phone gave them: printable.
        let line = format!(
            "{:>5}  {:<17}  {:<25}  {:<22}  {:<8}  {:>8}  {:>7}  {}",
            r.id,
            when,
            device,
            r.model.unwrap_or_else(|| "?".into()),
            r.ios.unwrap_or_else(|| "?".into()),
            r.free_bytes.map(units::bytes).unwrap_or_else(|| "?".into()),
            r.health_percent
                .map(units::percent)
                .unwrap_or_else(|| "?".into()),
            r.verdict
        );
        println!("{}", synccheck_wire::phone_text::printable(&line));
    }
    Ok(0)
}

fn show(
    id: i64,
    db: &DbArgs,
    html: &super::args::HtmlArgs,
    args: &super::args::ReportArgs,
) -> Result<i32, CliError> {
    let no_such_scan = || CliError::Usage(format!("no scan {id} in the history"));
    let history = open_to_read(db)?.ok_or_else(no_such_scan)?;
    let stored = history.get(id)?.ok_or_else(no_such_scan)?;
    // The answers given at the time, unless the technician gives new ones now.
    let mut ctx = report::context(args)?;
    if args.answers.is_empty() {
        ctx = Context {
            answers: Answers::parse(&stored.answers)?,
            trust_answers: stored.trust_answers,
            ..ctx
        };
    }
    let origin = format!("history scan {id}");
    // Compared with the scan before it, as it was when it was recorded.
    let earlier = earlier_scan(Some(&history), stored.row.udid.as_deref(), Some(id));
    let r = pipeline::report_since(
        &stored.snapshot,
        &origin,
        &ctx,
        args.redact,
        earlier.as_ref(),
    );
    if let Some(path) = &html.html {
        super::html::write_reports(path, std::slice::from_ref(&r))?;
    }
    report::print(args, &[r])
}
