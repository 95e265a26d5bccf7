//! The customer's sheet: `scan --html`, `history show ID --html` and `synccheck report --from
//! FILE --html OUT`.

use std::io::Write;
use std::path::{Path, PathBuf};

use synccheck_core::checklist::Context;
use synccheck_core::snapshot;
use synccheck_report::document::{self, ReportDocument};
use synccheck_report::pipeline;
use synccheck_report::{html, DeviceReport, ReportContext};

use super::args::ReportFromArgs;
use super::error::CliError;
use super::report;

/// Writes one sheet per report: `path` itself for one phone; with several, each file gets the
/// phone's UDID (or its position, when redacted) before the extension. Stops at the first
/// sheet that cannot be made or written.
pub fn write_reports(path: &Path, reports: &[DeviceReport]) -> Result<(), CliError> {
    write_each(path, reports).into_iter().collect()
}

/// [`write_reports`], sheet by sheet: one phone's sheet that cannot be written does not keep
/// the others from theirs. One result per report, in its order.
pub fn write_each(path: &Path, reports: &[DeviceReport]) -> Vec<Result<(), CliError>> {
    let ctx = ReportContext::now();
    let udids: Vec<Option<&str>> = reports
        .iter()
        .map(|r| r.facts.identity.udid.as_deref())
        .collect();
    let targets = sheet_paths(path, &udids);
    reports
        .iter()
        .zip(targets)
        .map(|(r, target)| {
            let pages = html::render_reports(std::slice::from_ref(r), &ctx).map_err(|source| {
                CliError::Html {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
            pages.iter().try_for_each(|page| write_page(&target, page))
        })
        .collect()
}

/// Where each sheet goes: `path` itself for one phone; with several, a file per phone named by
/// its UDID (or its position, when redacted or unknown), through the one file-name sanitiser
/// and never two phones on one file.
fn sheet_paths(path: &Path, udids: &[Option<&str>]) -> Vec<PathBuf> {
    if udids.len() == 1 {
        return vec![path.to_path_buf()];
    }
    let mut names = super::files::PerDevice::new(path);
    udids
        .iter()
        .enumerate()
        .map(|(i, udid)| match udid {
            Some(u) if *u != synccheck_report::REDACTED => names.path_for(u),
            _ => names.path_for(&format!("phone{}", i + 1)),
        })
        .collect()
}

fn write_page(target: &Path, page: &str) -> Result<(), CliError> {
    super::files::write_atomically(target, |f| f.write_all(page.as_bytes())).map_err(|source| {
        CliError::WriteHtml {
            path: target.to_path_buf(),
            source,
        }
    })?;
    eprintln!(
        "synccheck: wrote {}",
        synccheck_wire::phone_text::printable(&target.display().to_string())
    );
    Ok(())
}

fn write_pages(path: &Path, pages: &[String], udids: &[Option<&str>]) -> Result<(), CliError> {
    for (page, target) in pages.iter().zip(sheet_paths(path, udids)) {
        write_page(&target, page)?;
    }
    Ok(())
}

/// `synccheck report --from FILE --html OUT`.
pub fn run(args: ReportFromArgs) -> Result<i32, CliError> {
    let doc_error = |source| CliError::Document {
        path: args.from.clone(),
        source,
    };
    if let Some(mut doc) = document::read_if_report(&args.from).map_err(doc_error)? {
        if !args.answers.is_empty() || args.thresholds.is_some() || args.trust_answers {
            return Err(CliError::Usage(format!(
                "{} is a JSON report, already judged: --answer and --thresholds need a snapshot",
                args.from.display()
            )));
        }
        if args.redact {
            doc.redact();
        }
        return render_document(&args.html, &doc);
    }
    let snap = snapshot::load_file(&args.from)?;
    let report_args = super::args::ReportArgs {
        json: false,
        answers: args.answers.clone(),
        trust_answers: args.trust_answers,
        thresholds: args.thresholds.clone(),
        redact: args.redact,
        color: super::args::ColorWhen::Never,
        details: false,
    };
    let ctx: Context = report::context(&report_args)?;
    let origin = args.from.display().to_string();
    let r = pipeline::report_for(&snap, &origin, &ctx, args.redact);
    write_reports(&args.html, &[r])?;
    Ok(0)
}

fn render_document(path: &Path, doc: &ReportDocument) -> Result<i32, CliError> {
    let pages = html::render_document(doc).map_err(|source| CliError::Html {
        path: path.to_path_buf(),
        source,
    })?;
    let udids: Vec<Option<&str>> = doc
        .devices
        .iter()
        .map(|d| d.facts.identity.udid.as_deref())
        .collect();
    write_pages(path, &pages, &udids)?;
    Ok(0)
}
