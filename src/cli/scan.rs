//! `synccheck scan`: read attached phones (or evaluate saved snapshots with `--from`), then
//! report.

use std::path::Path;

use synccheck_core::checklist::Context;
use synccheck_core::snapshot::{self, Snapshot};
use synccheck_device::DeviceError;
use synccheck_history::{judge_and_record, Judging};
use synccheck_report::pipeline;
use synccheck_report::DeviceReport;

use super::args::ScanArgs;
use super::error::CliError;
use super::live::{self, StatusBoard};
use super::phones::{Failures, Phone};
use super::report;

pub fn run(args: ScanArgs) -> Result<i32, CliError> {
    if args.from.is_empty() {
        run_live(args)
    } else {
        run_offline(args)
    }
}

/// One judged phone, in the command's order, with what names it in an error.
struct Judged {
    order: usize,
    /// Its UDID, for a live phone (a snapshot's file names it otherwise).
    udid: Option<String>,
    origin: String,
    report: DeviceReport,
}

/// Each `--from` file on its own: one that cannot be read or is not a snapshot is that file's
/// error, told after the reports of the others.
fn run_offline(args: ScanArgs) -> Result<i32, CliError> {
    let ctx = report::context(&args.report)?;
    let mut judged = Vec::with_capacity(args.from.len());
    let mut failures = Failures::new(args.report.redact);
    for (order, path) in args.from.iter().enumerate() {
        match judge_file(path, &ctx, args.report.redact) {
            Ok(report) => judged.push(Judged {
                order,
                udid: None,
                origin: path.display().to_string(),
                report,
            }),
            Err(e) => failures.add(order, Phone::File, e),
        }
    }
    finish(&args, judged, failures)
}

fn judge_file(path: &Path, ctx: &Context, redact: bool) -> Result<DeviceReport, CliError> {
    let snap = snapshot::load_file(path)?;
    tracing::debug!(path = %path.display(), source = snap.source.as_str(), "snapshot loaded");
    let origin = path.display().to_string();
    Ok(pipeline::report_for(&snap, &origin, ctx, redact))
}

/// Reads every phone at once, then judges, records, saves and reports each on its own: a phone
/// that cannot be read, or whose snapshot cannot be saved, is that phone's error only.
fn run_live(args: ScanArgs) -> Result<i32, CliError> {
    super::history::check_db(&args.db)?;
    if args.report.redact {
        synccheck_core::privacy::hide_identifiers();
    }
    let ctx = report::context(&args.report)?;
    let mux = live::usbmuxd(&args.connection)?;
    let scope = live::photo_scope(args.no_photo_library, &args.limits);
    let options = live::options(&args.connection, &args.trust, Some(&args.limits), scope);
    let board = StatusBoard::new();
    // Ctrl-C or SIGTERM drops the reads: each removes its private library copy and stops
    // its SQLite work as it unwinds, and the runtime is only gone once that work has stopped.
    let read = live::runtime()?.block_on(async {
        let devices = live::select(&mux, args.udid.as_deref()).await?;
        let read = live::read_all(&mux, &devices, options, &board, args.report.redact);
        tokio::select! {
            results = read => Ok::<_, DeviceError>(Ok((devices, results))),
            code = live::wait_for_stop() => Ok(Err(code)),
        }
    })?;
    drop(board);
    let (devices, results) = match read {
        Ok(read) => read,
        Err(code) => {
            eprintln!(
                "synccheck: stopped before the scan finished; nothing was reported or recorded."
            );
            return Ok(code);
        }
    };

    let several = devices.len() > 1;
    let mut history = match super::history::open_to_record(&args.db) {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("synccheck: warning: scans will not be recorded: {e}");
            None
        }
    };
    let mut judged = Vec::new();
    let mut failures = Failures::new(args.report.redact);
    let mut snapshot_files = args
        .save_snapshot
        .as_deref()
        .map(super::files::PerDevice::new);
    for (order, (device, result)) in devices.iter().zip(results).enumerate() {
        let phone = Phone::Attached {
            udid: &device.udid,
            position: order + 1,
        };
        let snap = match result {
            Ok(snap) => snap,
            Err(source) => {
                failures.add(order, phone, CliError::Device(source));
                continue;
            }
        };
        let origin = device
            .connection
            .map(|c| c.as_str())
            .unwrap_or("usbmuxd")
            .to_string();
        // The snapshot is saved whatever the report says: it is what the phone said.
        if let (Some(path), Some(names)) = (&args.save_snapshot, &mut snapshot_files) {
            let path = if several {
                names.path_for(&device.udid)
            } else {
                path.clone()
            };
            if let Err(e) = save(&snap, &path) {
                failures.add(order, phone, e);
            }
        }
        let judging = Judging {
            ctx: &ctx,
            answers: &args.report.answers,
            trust_answers: args.report.trust_answers,
            redact: args.report.redact,
        };
        let scan = judge_and_record(history.as_mut(), &snap, &device.udid, &origin, &judging);
        // A scan that cannot be recorded is still reported: the history is a convenience, the
        // report is the job.
        if let Some(Err(e)) = scan.recorded {
            let why = e.to_string();
            eprintln!(
                "synccheck: warning: this scan was not recorded: {}",
                synccheck_wire::phone_text::printable(&why)
            );
        }
        judged.push(Judged {
            order,
            udid: Some(device.udid.clone()),
            origin,
            report: scan.report,
        });
    }
    finish(&args, judged, failures)
}

/// Writes each judged phone's sheet, prints the reports, then the phones' errors; returns the
/// exit code (see [`Failures::finish`]).
fn finish(args: &ScanArgs, judged: Vec<Judged>, mut failures: Failures) -> Result<i32, CliError> {
    let (phones, reports): (Vec<_>, Vec<_>) = judged
        .into_iter()
        .map(|j| ((j.order, j.udid, j.origin), j.report))
        .unzip();
    if let Some(path) = &args.html.html {
        let written = super::html::write_each(path, &reports);
        for ((order, udid, origin), result) in phones.iter().zip(written) {
            if let Err(e) = result {
                let phone = match udid {
                    Some(udid) => Phone::Attached {
                        udid,
                        position: order + 1,
                    },
                    None => Phone::Named(origin),
                };
                failures.add(*order, phone, e);
            }
        }
    }
    let verdicts = if reports.is_empty() {
        0
    } else {
        report::print(&args.report, &reports)?
    };
    Ok(failures.finish(verdicts))
}

fn save(snap: &Snapshot, path: &Path) -> Result<(), CliError> {
    super::files::write_atomically(path, |f| snap.write(f).map_err(std::io::Error::other)).map_err(
        |source| CliError::SaveSnapshot {
            path: path.to_path_buf(),
            source,
        },
    )
}
