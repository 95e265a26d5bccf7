//! What `rescue` records in the history (docs/rescue.md#the-history): one row per run that
//! copied or checked files, with the phone, what was asked and the counts. Never a file name,
//! nor the destination folder (the shop's, but it may carry the customer's name).

use std::time::{SystemTime, UNIX_EPOCH};

use synccheck_core::facts::DeviceFacts;
use synccheck_device::rescue::Outcome;
use synccheck_device::rescue_query::Selection;
use synccheck_history::{Rescue, RescueSelection};
use synccheck_wire::phone_text::printable;

use super::args::DbArgs;

/// The phone as scans record it: what lockdown said, unredacted (the shop looks phones up by
/// serial; `--redact` hides them in what is printed, as for scans).
pub struct RecordedPhone {
    udid: Option<String>,
    serial: Option<String>,
    name: Option<String>,
    product_type: Option<String>,
    model: Option<String>,
}

impl RecordedPhone {
    /// `attached_udid` (usbmuxd's) stands in when lockdown gave no UDID.
    pub fn new(facts: &DeviceFacts, attached_udid: &str) -> RecordedPhone {
        let id = &facts.identity;
        RecordedPhone {
            udid: id.udid.clone().or_else(|| Some(attached_udid.to_string())),
            serial: id.serial_number.clone(),
            name: id.name.clone(),
            product_type: id.product_type.clone(),
            model: id.marketing_name.clone(),
        }
    }
}

/// The row for one run: `outcomes` one per planned file, `unplaced` the assets the library
/// gives no place for (not rescued either).
pub fn rescue_row(
    phone: &RecordedPhone,
    selection: Selection,
    outcomes: &[Outcome],
    unplaced: u64,
    at: SystemTime,
) -> Rescue {
    let mut copied = 0u64;
    let mut bytes = 0u64;
    let mut already_there = 0u64;
    let mut failed = unplaced;
    for outcome in outcomes {
        match outcome {
            Outcome::Copied(n) => {
                copied += 1;
                bytes = bytes.saturating_add(*n);
            }
            Outcome::AlreadyThere(_) => already_there += 1,
            // A Live Photo without its video on the phone: nothing to rescue.
            Outcome::NoVideo => {}
            _ => failed += 1,
        }
    }
    Rescue {
        rescued_at: at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs().min(i64::MAX as u64) as i64),
        udid: phone.udid.clone(),
        serial: phone.serial.clone(),
        name: phone.name.clone(),
        product_type: phone.product_type.clone(),
        model: phone.model.clone(),
        selection: match selection {
            Selection::All => RescueSelection::All,
            Selection::NotUploaded => RescueSelection::Waiting,
        },
        copied,
        already_there,
        failed,
        bytes,
        complete: failed == 0,
    }
}

/// Records `rescue` in the history `db` names. The history helps, the rescue is the job: a
/// history that cannot be opened or written is a warning, never a failed rescue.
pub fn record(db: &DbArgs, rescue: &Rescue) {
    let recorded =
        super::history::open_to_record(db).and_then(|mut history| history.record_rescue(rescue));
    if let Err(e) = recorded {
        eprintln!(
            "synccheck: warning: this rescue was not recorded in the history: {}",
            printable(&e.to_string())
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone() -> RecordedPhone {
        RecordedPhone {
            udid: Some("U1".into()),
            serial: Some("S1".into()),
            name: None,
            product_type: None,
            model: None,
        }
    }

    #[test]
    fn counts_files_not_videos_that_do_not_exist_and_unplaced_assets_as_not_rescued() {
        let outcomes = [
            Outcome::Copied(10),
            Outcome::Copied(5),
            Outcome::AlreadyThere(7),
            Outcome::NoVideo,
            Outcome::Failed("not reached".into()),
        ];
        let r = rescue_row(&phone(), Selection::NotUploaded, &outcomes, 2, UNIX_EPOCH);
        assert_eq!(
            (r.copied, r.already_there, r.failed, r.bytes, r.complete),
            (2, 1, 3, 15, false)
        );
        assert_eq!(r.selection, RescueSelection::Waiting);
        let done = rescue_row(&phone(), Selection::All, &outcomes[..4], 0, UNIX_EPOCH);
        assert!(done.complete);
        assert_eq!(done.selection, RescueSelection::All);
    }
}
