//! The customer's sheet: `scan --html`, `history show ID --html` and `synccheck report --from
//! FILE --html OUT`.

use std::io::Write;
use std::path::Path;

use synccheck::checklist::Context;
use synccheck::pipeline;
use synccheck::report::document::{self, ReportDocument};
use synccheck::report::{html, DeviceReport, ReportContext};
use synccheck::snapshot;

use super::args::ReportFromArgs;
use super::error::CliError;
use super::report;

/// Writes one sheet per report: `path` itself for one phone; with several, each file gets the
/// phone's UDID (or its position, when redacted) before the extension.
pub fn write_reports(path: &Path, reports: &[DeviceReport]) -> Result<(), CliError> {
    let pages =
        html::render_reports(reports, &ReportContext::now()).map_err(|source| CliError::Html {
            path: path.to_path_buf(),
            source,
        })?;
    let names: Vec<Option<String>> = reports
        .iter()
        .map(|r| r.facts.identity.udid.clone())
        .collect();
    write_pages(path, &pages, &names)
}

fn write_pages(path: &Path, pages: &[String], udids: &[Option<String>]) -> Result<(), CliError> {
    for (i, page) in pages.iter().enumerate() {
        let target = if pages.len() == 1 {
            path.to_path_buf()
        } else {
            let tag = match udids.get(i).cloned().flatten() {
                Some(u) if u != synccheck::report::REDACTED => u,
                _ => format!("phone{}", i + 1),
            };
            super::files::per_device(path, &tag)
        };
        super::files::write_atomically(&target, |f| f.write_all(page.as_bytes())).map_err(
            |source| CliError::WriteHtml {
                path: target.clone(),
                source,
            },
        )?;
        eprintln!("synccheck: wrote {}", target.display());
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
    let udids: Vec<Option<String>> = doc
        .devices
        .iter()
        .map(|d| d.facts.identity.udid.clone())
        .collect();
    write_pages(path, &pages, &udids)?;
    Ok(0)
}
