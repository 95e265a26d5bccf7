//! Every photo fixture, served by `synccheck sim`, scanned twice in one run: read in place
//! (the default) and copied whole (`--photo-read copy`, the way before issue 16). The facts
//! and findings must be the same, phone by phone.

mod common;

use std::time::Duration;

use common::{fixture, report_json as json, start_sim_with, synccheck_at};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(180);

/// Each phone's photo facts and findings, by device, in the report's order. The facts hold
/// the library's counts, sizes and dates and why anything is unknown.
fn photo_evidence(r: &Value) -> Vec<(Value, Value, Value)> {
    r["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let udid = d["facts"]["identity"]["udid"].clone();
            (udid, d["facts"]["photos"].clone(), d["checks"].clone())
        })
        .collect()
}

#[test]
fn every_photo_fixture_reads_the_same_in_place_as_copied() {
    let names: Vec<_> = std::fs::read_dir(fixture("photos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "plist"))
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    let sim = start_sim_with(&names, &[]);
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "--json"];
        args.extend_from_slice(extra);
        let out = synccheck_at(&sim.address, &args, LIMIT);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut phones = photo_evidence(&json(&out));
        phones.sort_by_key(|p| p.0.to_string());
        phones
    };
    let in_place = scan(&[]);
    let copied = scan(&["--photo-read", "copy"]);
    assert_eq!(in_place.len(), names.len());
    for (a, b) in in_place.iter().zip(&copied) {
        assert_eq!(a, b, "{}", a.0);
    }
    // Not a vacuous comparison: libraries were read and counted.
    let counted = in_place
        .iter()
        .filter(|p| p.1["library"]["waiting"].is_u64())
        .count();
    assert!(counted >= 3, "{in_place:?}");
    assert!(in_place.iter().all(|p| p.0.is_string()), "{in_place:?}");
}
