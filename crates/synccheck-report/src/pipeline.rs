//! The one place the arrows meet: snapshot → facts → checklist → report.

use crate::{self as report, DeviceReport};
use synccheck_core::checklist::{self, Context, EarlierScan};
use synccheck_core::facts::{Catalog, DeviceFacts};
use synccheck_core::snapshot::Snapshot;

/// Evaluates one phone's snapshot. `origin` names it in the report (a file name, or "USB").
/// Any snapshot evaluates: a value of a type or range no phone sends makes only its own fact
/// unknown (and is reported), never the report.
pub fn report_for(snapshot: &Snapshot, origin: &str, ctx: &Context, redact: bool) -> DeviceReport {
    report_since(snapshot, origin, ctx, redact, None)
}

/// [`report_for`], comparing the photo library with an earlier scan of the same phone.
pub fn report_since(
    snapshot: &Snapshot,
    origin: &str,
    ctx: &Context,
    redact: bool,
    earlier: Option<&EarlierScan>,
) -> DeviceReport {
    let mut facts = DeviceFacts::from_snapshot(snapshot, Catalog::builtin());
    let evaluation = checklist::evaluate_since(&facts, earlier, ctx);
    // Redact after evaluating: no check reads identity, and the evidence never quotes it.
    if redact {
        report::redact(&mut facts);
    }
    DeviceReport {
        origin: origin.to_string(),
        source: snapshot.source.as_str().to_string(),
        captured_at: snapshot.captured_at,
        facts,
        evaluation,
    }
}

/// An earlier scan's snapshot as what `photos-upload` compares with, named `label`; `None`
/// when it has no capture time or photo count.
pub fn earlier_scan(label: &str, snapshot: &Snapshot) -> Option<EarlierScan> {
    let facts = DeviceFacts::from_snapshot(snapshot, Catalog::builtin());
    EarlierScan::from_facts(label, &facts)
}
