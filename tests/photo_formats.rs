//! Photos.sqlite across iOS versions, end to end: the simulator serves a library in the layout
//! the fixture's phone had (iOS 11–13 `ZGENERICASSET`, or a future one without the upload-state
//! column), a live scan reads it over AFC, and the report says what a `scan --from` of the
//! fixture says: the counts where the format is known, one clear "not recognised" otherwise.

mod common;

use std::time::Duration;

use common::{finding, fixture, report_json as json, start_sim_with, synccheck_at};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(90);
const FUTURE: &str = "photos/future-schema.plist";
const IOS12: &str = "old/iphone7-ios12-generic-library.plist";

/// A live scan of the fixture through the simulator (as captured, so dates match), saving
/// the snapshot it took; returns the live report and the report of that saved snapshot.
fn live_and_saved(name: &str) -> (Value, Value) {
    let sim = start_sim_with(&[fixture(name)], &["--as-captured"]);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("phone.plist");
    let out = synccheck_at(
        &sim.address,
        &["scan", "--json", "--save-snapshot", saved.to_str().unwrap()],
        LIMIT,
    );
    let live = json(&out);
    let replay = synccheck_at(
        "unused",
        &["scan", "--json", "--from", saved.to_str().unwrap()],
        LIMIT,
    );
    (live, json(&replay))
}

fn offline(name: &str) -> Value {
    let path = fixture(name);
    json(&synccheck_at(
        "unused",
        &["scan", "--json", "--from", path.to_str().unwrap()],
        LIMIT,
    ))
}

fn library(r: &Value) -> &Value {
    &r["devices"][0]["facts"]["photos"]["library"]
}

#[test]
fn a_future_schema_is_one_clear_not_recognised_finding() {
    let from_file = offline(FUTURE);
    let (live, saved) = live_and_saved(FUTURE);
    for (how, r) in [("offline", &from_file), ("live", &live), ("saved", &saved)] {
        let check = finding(r, "photos-upload");
        assert_eq!(check["status"], "manual", "{how}: {check}");
        let summary = check["summary"].as_str().unwrap();
        assert!(
            summary.starts_with("Photo library format not recognised (iOS 27.2)"),
            "{how}: {summary}"
        );
        assert!(
            check["evidence"]
                .to_string()
                .contains("no ZASSET.ZCLOUDLOCALSTATE"),
            "{how}: {check}"
        );
        assert_eq!(library(r)["state"], "not-recognised", "{how}");
        assert_eq!(library(r)["missing"][0], "ZASSET.ZCLOUDLOCALSTATE", "{how}");
        // No silently missing numbers: no count of any kind is reported.
        assert!(library(r).get("waiting").is_none(), "{how}");
    }
}

#[test]
fn an_ios12_library_is_read_live_as_from_the_file() {
    let from_file = offline(IOS12);
    let (live, saved) = live_and_saved(IOS12);
    for (how, r) in [("offline", &from_file), ("live", &live), ("saved", &saved)] {
        let lib = library(r);
        assert_eq!(lib["state"], "read", "{how}");
        assert_eq!(lib["schema"], "ZGENERICASSET", "{how}");
        assert_eq!(lib["assets"], 3120, "{how}");
        assert_eq!(lib["waiting"], 240, "{how}");
        assert_eq!(lib["waiting_bytes"], 610_000_000, "{how}");
        assert_eq!(lib["cloud_only_originals"], Value::Null, "{how}");
        let health = &r["devices"][0]["facts"]["battery"]["health"];
        assert_eq!(health["source"], "AppleARMPMUCharger", "{how}");
    }
    // As captured, the live scan's "now" is later than the fixture's: ages differ, the
    // verdict (a stale backlog) does not.
    assert_eq!(
        finding(&live, "photos-upload")["status"],
        finding(&from_file, "photos-upload")["status"]
    );
}
