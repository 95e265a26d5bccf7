//! One function per check: facts and thresholds in, one finding out. Answers are folded in
//! afterwards by the caller, so a check only says what the phone's own data decides.

mod account;
mod engine;
mod network;
mod photos;
mod power;
mod software;
mod storage;

use chrono::{DateTime, Utc};

use super::answers::how_to_answer;
use super::finding::{CheckId, Finding, Status};
use super::thresholds::Thresholds;
use super::EarlierScan;
use crate::facts::DeviceFacts;

pub(super) fn run(
    id: CheckId,
    facts: &DeviceFacts,
    earlier: Option<&EarlierScan>,
    t: &Thresholds,
    now: DateTime<Utc>,
) -> Finding {
    match id {
        CheckId::AppleId => account::apple_id(facts),
        CheckId::IcloudPhotos => account::icloud_photos(facts),
        CheckId::PhotosUpload => engine::upload_evidence(
            facts,
            photos::photos_upload(facts, earlier, &t.photos_upload, now),
        ),
        CheckId::IcloudStorage => account::icloud_storage(facts),
        CheckId::Network => network::network(facts),
        CheckId::CellularData => network::cellular_data(facts),
        CheckId::DeviceStorage => storage::device_storage(facts, &t.device_storage),
        CheckId::Restart => software::restart(facts),
        CheckId::IosUpdate => {
            engine::ios_too_old(facts, software::ios_update(facts, &t.ios_update))
        }
        CheckId::Power => power::power(facts, &t.power),
        CheckId::LowPower => power::low_power(facts, &t.power),
        CheckId::BatteryHealth => power::battery_health(facts, &t.battery_health),
    }
}

/// A step the phone's data cannot decide: where to look on the phone, and how to answer.
fn manual(id: CheckId, look: &str, remedy: &str) -> Finding {
    Finding::new(
        id,
        Status::Manual,
        format!("Check on the phone: {look} ({})", how_to_answer(id)),
        remedy,
    )
}

#[cfg(test)]
pub(crate) mod test_facts {
    use crate::facts::*;

    /// Facts with nothing known, for tests to fill in.
    pub fn unknown() -> DeviceFacts {
        DeviceFacts {
            identity: Identity::default(),
            software: Software::default(),
            storage: Storage::default(),
            battery: Battery::default(),
            account: Account::default(),
            network: Network::default(),
            photos: None,
            captured_at: None,
        }
    }
}
