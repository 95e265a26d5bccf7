//! `synccheck scan --from FILE`: evaluate saved snapshots and imports.

use synccheck::pipeline;
use synccheck::snapshot;

use super::args::ScanArgs;
use super::error::CliError;
use super::report;

pub fn run(args: ScanArgs) -> Result<i32, CliError> {
    let ctx = report::context(&args.report)?;
    let mut reports = Vec::with_capacity(args.from.len());
    for path in &args.from {
        let snap = snapshot::load_file(path)?;
        tracing::debug!(path = %path.display(), source = snap.source.as_str(), "snapshot loaded");
        let origin = path.display().to_string();
        let r =
            pipeline::report_for(&snap, &origin, &ctx, args.report.redact).map_err(|source| {
                CliError::Facts {
                    path: path.clone(),
                    source,
                }
            })?;
        reports.push(r);
    }
    report::print(&args.report, &reports)
}
