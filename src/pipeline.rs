//! The one place the arrows meet: snapshot → facts → checklist → report.

use crate::checklist::{self, Context};
use crate::facts::{Catalog, DeviceFacts, FactError};
use crate::report::{self, DeviceReport};
use crate::snapshot::Snapshot;

/// Evaluates one phone's snapshot. `origin` names it in the report (a file name, or "USB").
pub fn report_for(
    snapshot: &Snapshot,
    origin: &str,
    ctx: &Context,
    redact: bool,
) -> Result<DeviceReport, FactError> {
    let mut facts = DeviceFacts::from_snapshot(snapshot, Catalog::builtin())?;
    let evaluation = checklist::evaluate(&facts, ctx);
    // Redact after evaluating: no check reads identity, and the evidence never quotes it.
    if redact {
        report::redact(&mut facts);
    }
    Ok(DeviceReport {
        origin: origin.to_string(),
        source: snapshot.source.as_str().to_string(),
        captured_at: snapshot.captured_at,
        facts,
        evaluation,
    })
}
