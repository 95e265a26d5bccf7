//! The JSON report, schema `synccheck.report/1` (documented in docs/formats.md). Fields are only
//! ever added within a schema version; a rename or removal bumps it.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{DeviceReport, ReportContext};

pub const SCHEMA: &str = "synccheck.report/1";

pub fn to_value(reports: &[DeviceReport], ctx: &ReportContext) -> Value {
    json!({
        "schema": SCHEMA,
        "generated_at": ctx.generated_at.to_rfc3339(),
        "synccheck_version": env!("CARGO_PKG_VERSION"),
        "model_table": {
            "updated": ctx.model_table_updated.to_string(),
            "stale": ctx.model_table_stale,
        },
        "devices": reports.iter().map(device).collect::<Vec<_>>(),
    })
}

pub(crate) fn device(r: &DeviceReport) -> Value {
    json!({
        "origin": r.origin,
        "source": r.source,
        "captured_at": r.captured_at.map(|t| DateTime::<Utc>::from(t).to_rfc3339()),
        "facts": r.facts,
        "checks": r.evaluation.findings,
        "verdict": r.evaluation.verdict,
        // One sentence per value refused (`facts.refused_values` has them field by field).
        "warnings": warnings(r),
        // Photos only on this phone, and the command that copies them (docs/rescue.md).
        "rescue": super::rescue::note(&r.facts),
    })
}

/// The report's warnings for one phone, as the text report prints them.
pub fn warnings(r: &DeviceReport) -> Vec<String> {
    r.facts
        .refused_values
        .iter()
        .map(|refusal| refusal.warning())
        .collect()
}

pub fn write(
    mut out: impl std::io::Write,
    reports: &[DeviceReport],
    ctx: &ReportContext,
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut out, &to_value(reports, ctx))?;
    writeln!(out)
}
