//! synccheck reads an iPhone and tells a repair technician why iCloud Photos is not syncing.
//!
//! The data flows one way, one module per arrow:
//! device → [`snapshot`] → [`facts`] → [`checklist`] → [`report`].
//! A snapshot holds the phone's raw values; facts give them types and units; the checklist
//! turns facts (and the technician's answers) into findings; reports print findings.

pub mod checklist;
pub mod device;
pub mod facts;
pub mod history;
pub mod limits;
pub mod pairing;
pub mod phone_text;
pub mod photos;
pub mod pipeline;
pub mod privacy;
pub mod report;
pub mod sim;
pub mod snapshot;
pub mod units;
pub mod user_file;
pub mod wire;
