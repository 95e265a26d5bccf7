//! `synccheck demo`: the built-in simulated iPhone has problems to find.

use std::process::Command;

#[test]
fn demo_finds_the_built_in_phones_problems() {
    let out = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["demo", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = r["devices"][0]["checks"].as_array().unwrap();
    let status = |id: &str| checks.iter().find(|c| c["id"] == id).unwrap()["status"].clone();
    assert_eq!(status("device-storage"), "fail");
    assert_eq!(status("power"), "fail");
    assert_eq!(
        r["devices"][0]["facts"]["identity"]["marketing_name"],
        "iPhone 14 Pro"
    );
}

#[test]
fn demo_text_report_ends_with_the_verdict() {
    let out = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["demo", "--answer", "icloud-photos=on"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("iPhone 14 Pro (iPhone15,2)"), "{text}");
    // The verdict is the last line, where the eye lands; the first problem listed is the
    // one to start with.
    // Only what to do first (the photos to rescue) may follow it.
    let verdict = text
        .lines()
        .position(|l| l.starts_with("✘ Verdict: fail — "))
        .expect("a verdict line");
    assert!(
        text.lines().nth(verdict).unwrap().contains("blocking"),
        "{text}"
    );
    let after: Vec<&str> = text.lines().skip(verdict + 1).collect();
    assert!(
        after.first().is_some_and(|l| l.starts_with("  First: ")),
        "{text}"
    );
    assert!(after.iter().all(|l| l.starts_with("  ")), "{text}");
    // One screen at 80 columns: the demo report took 85 rows.
    assert!(text.lines().count() <= 30, "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    let first_problem = text.lines().find(|l| l.starts_with("✘ fail")).unwrap();
    assert!(first_problem.contains("iPhone storage is full"), "{text}");
}

/// `demo --html FILE`: a newcomer sees the customer's sheet with no phone.
#[test]
fn demo_writes_the_customers_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("demo.html");
    let out = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["demo", "--html", sheet.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the demo phone has problems");
    let page = std::fs::read_to_string(&sheet).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        page.contains("<div class=\"model\">iPhone 14 Pro</div>"),
        "{page}"
    );
    assert!(page.contains("What to do first:"), "{page}");
    // The text report is still printed, ending with its verdict.
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("✘ Verdict: fail")),
        "{text}"
    );
}
