//! `synccheck scan`: read attached phones (or evaluate saved snapshots with `--from`), then
//! report.

use std::path::Path;

use synccheck::device::DeviceError;
use synccheck::history::History;
use synccheck::pipeline;
use synccheck::snapshot::{self, Snapshot};

use super::args::ScanArgs;
use super::error::CliError;
use super::live::{self, StatusBoard};
use super::report;

pub fn run(args: ScanArgs) -> Result<i32, CliError> {
    if args.from.is_empty() {
        run_live(args)
    } else {
        run_offline(args)
    }
}

fn run_offline(args: ScanArgs) -> Result<i32, CliError> {
    let ctx = report::context(&args.report)?;
    let mut reports = Vec::with_capacity(args.from.len());
    for path in &args.from {
        let snap = snapshot::load_file(path)?;
        tracing::debug!(path = %path.display(), source = snap.source.as_str(), "snapshot loaded");
        let origin = path.display().to_string();
        reports.push(pipeline::report_for(
            &snap,
            &origin,
            &ctx,
            args.report.redact,
        ));
    }
    if let Some(path) = &args.html.html {
        super::html::write_reports(path, &reports)?;
    }
    report::print(&args.report, &reports)
}

fn run_live(args: ScanArgs) -> Result<i32, CliError> {
    let ctx = report::context(&args.report)?;
    let mux = live::usbmuxd(&args.connection)?;
    let scope = live::photo_scope(args.no_photo_library);
    let options = live::options(&args.connection, &args.trust, scope);
    let board = StatusBoard::new();
    let (devices, results) = live::runtime()?.block_on(async {
        let devices = live::select(&mux, args.udid.as_deref()).await?;
        let results = live::read_all(&mux, &devices, options, &board).await;
        Ok::<_, DeviceError>((devices, results))
    })?;
    drop(board);

    let several = devices.len() > 1;
    let db = super::history::db_path(&args.db);
    let mut history = match History::open(&db) {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("synccheck: warning: scans will not be recorded: {e}");
            None
        }
    };
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (device, result) in devices.iter().zip(results) {
        let snap = match result {
            Ok(snap) => snap,
            Err(source) => {
                failures.push(CliError::OnDevice {
                    udid: device.udid.clone(),
                    source,
                });
                continue;
            }
        };
        if let Some(path) = &args.save_snapshot {
            let path = if several {
                super::files::per_device(path, &device.udid)
            } else {
                path.clone()
            };
            save(&snap, &path)?;
        }
        let origin = device
            .connection
            .map(|c| c.as_str())
            .unwrap_or("usbmuxd")
            .to_string();
        // Evaluated without redaction: the shop's history keeps serials; output hides them.
        let earlier = super::history::earlier_scan(history.as_ref(), Some(&device.udid), None);
        let mut r = pipeline::report_since(&snap, &origin, &ctx, false, earlier.as_ref());
        record(&mut history, &snap, &r, &args);
        if args.report.redact {
            synccheck::report::redact(&mut r.facts);
        }
        reports.push(r);
    }
    if let (Some(path), false) = (&args.html.html, reports.is_empty()) {
        super::html::write_reports(path, &reports)?;
    }
    let code = if reports.is_empty() {
        0
    } else {
        report::print(&args.report, &reports)?
    };
    // A phone that could not be read outranks the verdicts of the others: its code says why.
    match failures.first() {
        None => Ok(code),
        Some(first) => {
            let first_code = first.exit_code();
            for f in &failures {
                f.print();
            }
            Ok(first_code)
        }
    }
}

/// A scan that cannot be recorded is still reported: the history is a convenience, the report
/// is the job.
fn record(
    history: &mut Option<History>,
    snap: &Snapshot,
    report: &synccheck::report::DeviceReport,
    args: &ScanArgs,
) {
    if let Some(h) = history {
        if let Err(e) = h.record(
            snap,
            report,
            &args.report.answers,
            args.report.trust_answers,
        ) {
            eprintln!("synccheck: warning: this scan was not recorded: {e}");
        }
    }
}

fn save(snap: &Snapshot, path: &Path) -> Result<(), CliError> {
    super::files::write_atomically(path, |f| snap.write_xml(f).map_err(std::io::Error::other))
        .map_err(|source| CliError::SaveSnapshot {
            path: path.to_path_buf(),
            source,
        })
}
