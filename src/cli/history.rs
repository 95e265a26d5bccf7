//! `synccheck history`: past scans, a past scan's report reprinted, and a history copied into
//! another (`history import`). The history is a SQLite file or a shared PostgreSQL server
//! (docs/shared-history.md): every command here and in `scan` and `watch` works the same on both.

use chrono::{DateTime, Utc};
use synccheck_core::checklist::{Answers, Context};
use synccheck_core::units;
use synccheck_history::{self as history, earlier_scan, History, ListFilter, OpenMode, Target};
use synccheck_report::{pipeline, words};

use super::args::{DbArgs, HistoryArgs, HistoryCommand};
use super::error::CliError;
use super::report;

/// `--db`, else `SYNCCHECK_DB`, else the OS's data directory; and whether the user chose it.
/// A URL-shaped value is a PostgreSQL URL or an error, never a file path.
pub fn db_target(args: &DbArgs) -> Result<(Target, bool), history::HistoryError> {
    match args
        .db
        .clone()
        .or_else(|| std::env::var_os("SYNCCHECK_DB").map(Into::into))
    {
        Some(given) => Ok((Target::parse(given.as_os_str())?, true)),
        None => Ok((Target::File(history::default_path()), false)),
    }
}

/// Checks `--db` before any phone is read: a value that is not a history is the
/// technician's to fix now, not a warning after the scan.
pub fn check_db(args: &DbArgs) -> Result<(), CliError> {
    db_target(args)?;
    Ok(())
}

/// The bench recorded with each scan: `--bench`, else this computer's host name.
fn bench(args: &DbArgs) -> Option<String> {
    args.bench
        .clone()
        .filter(|b| !b.trim().is_empty())
        .or_else(host_name)
}

fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is writable for its whole length, which is passed with it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

/// The history a scan records into, with the bench. Only the default location has its
/// folders made: a path the user gave must be in an existing folder, so a typo is an error,
/// not a new tree.
pub fn open_to_record(args: &DbArgs) -> Result<History, history::HistoryError> {
    let (target, given) = db_target(args)?;
    record_at(&target, given, args)
}

/// [`open_to_record`] at a target already read from `args`.
fn record_at(
    target: &Target,
    given: bool,
    args: &DbArgs,
) -> Result<History, history::HistoryError> {
    let mode = if given {
        OpenMode::RecordAtGiven
    } else {
        OpenMode::RecordAtDefault
    };
    Ok(History::open_target(target, mode)?.with_bench(bench(args)))
}

/// For `watch`, which runs for hours: a history server that cannot be reached now is said
/// once (unless `quiet`), and connected to again with each scan, so recording resumes when it
/// is back.
pub fn open_to_record_retrying(
    args: &DbArgs,
    quiet: bool,
) -> Result<History, history::HistoryError> {
    let (target, given) = db_target(args)?;
    match (&target, record_at(&target, given, args)) {
        (Target::Postgres(pg), Err(e)) if e.is_unreachable() => {
            if !quiet {
                eprintln!(
                    "synccheck: warning: {}; watch records scans once it is back",
                    synccheck_wire::phone_text::printable(&e.to_string())
                );
            }
            Ok(History::postgres_later(pg).with_bench(bench(args)))
        }
        (_, opened) => opened,
    }
}

/// The history to read, which must exist: `None` when the default one was never made (no
/// scan recorded yet); a path the user gave that holds no database is an error.
pub fn open_to_read(args: &DbArgs) -> Result<Option<History>, CliError> {
    let (target, given) = db_target(args)?;
    match History::open_target(&target, OpenMode::Read) {
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
        Some(HistoryCommand::Import { from, db }) => import(&from, &db),
        Some(HistoryCommand::Rescues {
            udid,
            limit,
            since,
            redact,
            db,
        }) => super::history_rescues::list(super::history_rescues::RescuesAsked {
            udid,
            limit,
            since,
            redact,
            db: &db,
        }),
        None => list(&args),
    }
}

/// A column of the listing: made printable, cut to `width` characters so a long phone name
/// cannot push the others out of line.
pub fn cell(text: Option<&str>, width: usize) -> String {
    let text = synccheck_wire::phone_text::printable(text.unwrap_or("?")).into_owned();
    if text.chars().count() <= width {
        return text;
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A listing's time column: local time, as the report prints it; the database keeps UTC.
pub fn time_cell(at: i64) -> String {
    DateTime::<Utc>::from_timestamp(at, 0)
        .map(|t| words::local(t, words::SCREEN_TIME))
        .unwrap_or_default()
}

/// A listing's phone columns: the serial (else the UDID) and the name, both `[redacted]`
/// under `--redact`.
pub fn phone_cells(
    serial: Option<&str>,
    udid: Option<&str>,
    name: Option<&str>,
    redact: bool,
) -> (String, String) {
    let (serial, name) = if redact {
        (Some("[redacted]"), Some("[redacted]"))
    } else {
        (serial.or(udid), name)
    };
    (cell(serial, 14), cell(name, 18))
}

fn list(args: &HistoryArgs) -> Result<i32, CliError> {
    let Some(history) = open_to_read(&args.db)? else {
        eprintln!("No scans recorded yet.");
        return Ok(0);
    };
    let filter = ListFilter {
        udid: args.udid.clone(),
        bench: args.db.bench.clone(),
        since: args.since,
        limit: args.limit,
    };
    let rows = history.list_where(&filter)?;
    if rows.is_empty() {
        eprintln!("No scans recorded yet.");
        return Ok(0);
    }
    println!(
        "{:>5}  {:<16}  {:<12}  {:<14}  {:<18}  {:<18}  {:<8}  {:>8}  {:>7}  verdict",
        "id", "time", "bench", "serial", "name", "model", "iOS", "free", "health"
    );
    for r in rows {
        // The report's word for the stored verdict (`manual` is printed "to check").
        let verdict = words::status_word(words::status_from_json(&r.verdict));
        let (serial, name) = phone_cells(
            r.serial.as_deref(),
            r.udid.as_deref(),
            r.name.as_deref(),
            args.redact,
        );
        println!(
            "{:>5}  {:<16}  {:<12}  {:<14}  {:<18}  {:<18}  {:<8}  {:>8}  {:>7}  {}",
            r.id,
            time_cell(r.scanned_at),
            cell(r.bench.as_deref(), 12),
            serial,
            name,
            cell(r.model.as_deref(), 18),
            cell(r.ios.as_deref(), 8),
            r.free_bytes.map(units::bytes).unwrap_or_else(|| "?".into()),
            r.health_percent
                .map(units::percent)
                .unwrap_or_else(|| "?".into()),
            verdict,
        );
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

/// `history import --from OLD --db NEW`: every scan of OLD copied into NEW, oldest first,
/// each in its own transaction; run again, it copies only what is missing.
fn import(from: &std::path::Path, db: &DbArgs) -> Result<i32, CliError> {
    let source = Target::parse(from.as_os_str())?;
    let source = History::open_target(&source, OpenMode::Read)?;
    let mut destination = open_to_record(db)?;
    if source.place() == destination.place() {
        return Err(CliError::Usage(
            "--from and --db name the same history".to_string(),
        ));
    }
    let done = destination.import_from(&source)?;
    // Rescue runs are named only when the source has some: a history of scans reads as before.
    let rescues = done.rescues_copied + done.rescues_skipped > 0;
    eprintln!(
        "Copied {} scans{} from {} into {}{}.",
        done.copied,
        if rescues {
            format!(" and {} rescue runs", done.rescues_copied)
        } else {
            String::new()
        },
        synccheck_wire::phone_text::printable(source.place()),
        synccheck_wire::phone_text::printable(destination.place()),
        match (done.skipped, done.rescues_skipped) {
            (0, 0) => String::new(),
            (scans, 0) => format!(" ({scans} were already there)"),
            (scans, runs) => format!(" ({scans} scans and {runs} rescue runs were already there)"),
        }
    );
    Ok(0)
}
