//! synccheck's core: what a phone said and what it means, with no sockets, runtime or database.
//!
//! The data flows one way, one module per arrow:
//! device → [`snapshot`] → [`facts`] → [`checklist`] → report.
//! A snapshot holds the phone's raw values; facts give them types and units; the checklist
//! turns facts (and the technician's answers) into findings; reports (synccheck-report) print
//! findings.

pub mod checklist;
pub mod facts;
pub mod photos;
pub mod privacy;
pub mod snapshot;
pub mod units;
pub mod user_file;
