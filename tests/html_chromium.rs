//! The customer's sheet in a real browser: Debian's Chromium renders it (screenshot) and prints
//! it (PDF, Letter and A4); poppler-utils reads the PDF back. Each sheet must be one page, not
//! blank, hold every check's title, escape the phone's hostile name, and show no redacted value.
//!
//! Fails, rather than skips, when CI=true and chromium or poppler-utils is missing (`.ci/run`
//! installs both). `SYNCCHECK_UPDATE_SCREENSHOT=1` copies the many-problems render to
//! `docs/report-sheet.png`, the README's picture.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::fixture;

const LIMIT: Duration = Duration::from_secs(90);

/// The flags a sandboxed, offline CI machine needs: no sandbox as root, no GPU, and none of
/// Chromium's own network traffic (which a closed network refuses, slowly).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

fn tools_present() -> bool {
    common::debian_tools_present(
        &["chromium", "pdfinfo", "pdftotext"],
        "chromium poppler-utils",
    )
}

/// Runs a command to completion within LIMIT; a hang is a failure with a message.
fn run(cmd: &mut Command) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    common::wait_bounded(child, &format!("{cmd:?}"), LIMIT)
}

/// The sheet is in local time: a fixed zone (UTC+05:30 as a POSIX TZ string, no tzdata
/// needed), so the words do not depend on the machine.
const TZ: &str = "IST-5:30";

fn synccheck(args: &[&str]) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(args)
        .env("TZ", TZ))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Chromium on `html` with a fresh profile: `--screenshot=PNG` or `--print-to-pdf=PDF`.
fn chromium(dir: &Path, html: &Path, output_flag: String) {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let out = run(Command::new("chromium")
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--window-size=900,1250")
        .arg("--no-pdf-header-footer")
        .arg(output_flag)
        .arg(format!("file://{}", html.display())));
    assert!(
        out.status.success(),
        "chromium failed: {}",
        text(&out.stderr)
    );
}

fn pages(pdf: &Path) -> (u32, String) {
    let out = run(Command::new("pdfinfo").arg(pdf));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = text(&out.stdout);
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in {info}"));
    let size = info
        .lines()
        .find_map(|l| l.strip_prefix("Page size:"))
        .unwrap_or_default()
        .trim()
        .to_string();
    (pages, size)
}

/// The PDF's text with every run of whitespace made one space, so a wrapped line still matches.
fn pdf_text(pdf: &Path) -> String {
    let out = run(Command::new("pdftotext").arg(pdf).arg("-"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the screenshot shows something: enough pixels that are not the background.
fn ink_fraction(png_path: &Path) -> f64 {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let total = pixels.len() / channels;
    let inked = pixels
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    inked as f64 / total as f64
}

/// What the checks are called and what the phone would give away, from the JSON report.
fn titles_and_secrets(fixture_path: &Path) -> (Vec<String>, Vec<String>) {
    let out = synccheck(&["scan", "--from", fixture_path.to_str().unwrap(), "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let device = &report["devices"][0];
    let titles = device["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect();
    let facts = &device["facts"];
    let secrets = [
        &facts["identity"]["serial_number"],
        &facts["identity"]["udid"],
        &facts["identity"]["name"],
        &facts["network"]["wifi_address"],
    ]
    .iter()
    .filter_map(|v| v.as_str().map(str::to_string))
    .collect();
    (titles, secrets)
}

/// Renders `fixture`'s sheet and checks it in the browser; returns the PDF's text and the
/// screenshot's path.
fn check_sheet(dir: &Path, name: &str, fixture_path: &Path, redact: bool) -> (String, PathBuf) {
    let html = dir.join(format!("{name}.html"));
    let mut args = vec![
        "report",
        "--from",
        fixture_path.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ];
    if redact {
        args.push("--redact");
    }
    let out = synccheck(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let png = dir.join(format!("{name}.png"));
    chromium(dir, &html, format!("--screenshot={}", png.display()));
    let ink = ink_fraction(&png);
    assert!(
        ink > 0.02,
        "{name}: the screenshot is blank ({ink:.4} inked)"
    );

    // Letter is Chromium's default paper; A4 comes from a copy asking for it.
    let letter = dir.join(format!("{name}-letter.pdf"));
    chromium(dir, &html, format!("--print-to-pdf={}", letter.display()));
    let a4_html = dir.join(format!("{name}-a4.html"));
    let page = std::fs::read_to_string(&html).unwrap();
    std::fs::write(
        &a4_html,
        page.replacen("</head>", "<style>@page { size: A4; }</style></head>", 1),
    )
    .unwrap();
    let a4 = dir.join(format!("{name}-a4.pdf"));
    chromium(dir, &a4_html, format!("--print-to-pdf={}", a4.display()));
    for (pdf, paper) in [(&letter, "letter"), (&a4, "A4")] {
        let (count, size) = pages(pdf);
        assert_eq!(count, 1, "{name}: {count} pages on {paper} ({size})");
        assert!(
            size.contains(paper),
            "{name}: printed on {size}, not {paper}"
        );
    }

    let words = pdf_text(&letter);
    let (titles, secrets) = titles_and_secrets(fixture_path);
    assert_eq!(titles.len(), 12);
    for t in &titles {
        assert!(
            words.contains(t.as_str()),
            "{name}: no \"{t}\" in the PDF:\n{words}"
        );
    }
    if redact {
        for s in &secrets {
            assert!(
                !words.contains(s.as_str()),
                "{name}: {s} printed despite --redact"
            );
        }
        assert!(words.contains("[redacted]"));
    }
    (words, png)
}

#[test]
fn a_healthy_phone_prints_on_one_page_redacted() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (words, _) = check_sheet(dir.path(), "healthy", &fixture("healthy.plist"), true);
    assert!(words.contains("iPhone 15 Pro"), "{words}");
}

#[test]
fn a_phone_with_many_problems_and_a_hostile_name_prints_its_name_as_text() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (words, _) = check_sheet(dir.path(), "failures", &fixture("failures.plist"), false);
    // Printed as text: had it been markup, the browser would have run it, not shown it.
    assert!(words.contains("<script>alert(1)</script>"), "{words}");
    assert!(words.contains("✘ fail"), "{words}");
}

/// The customer's words: the model's name without Apple's code, steps "to check on the
/// phone", no shouted headings, one local date format, battery health said once, and a
/// verdict that says what to do first.
#[test]
fn the_sheet_speaks_plainly() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (words, _) = check_sheet(dir.path(), "plain", &fixture("failures.plist"), false);
    assert!(words.contains("iPhone 11"), "{words}");
    assert!(!words.contains("iPhone12,1"), "Apple's code: {words}");
    assert!(words.contains("? to check on the phone"), "{words}");
    assert!(
        !words.contains("Check Apple ID") && !words.contains("? Check"),
        "{words}"
    );
    for shouted in ["ICLOUD", "IPHONE", "WHAT THE", "THE CHECKS"] {
        assert!(!words.contains(shouted), "{shouted}: {words}");
    }
    // Captured 2026-11-24 15:30 UTC, printed at UTC+05:30, with no "UTC" anywhere.
    assert!(words.contains("Checked 24 November 2026, 21:00"), "{words}");
    assert!(
        !words.contains("UTC") && !words.contains("2026-11"),
        "{words}"
    );
    // Battery health once: the battery-health line, not again beside the battery level.
    assert_eq!(words.matches("55.5 %").count(), 1, "{words}");
    assert!(words.contains("12 %, not on power"), "{words}");
    assert!(
        words.contains("What to do first: Free space in Settings > General > iPhone Storage"),
        "{words}"
    );
}

#[test]
fn the_many_problems_sheet_redacted_is_the_readme_picture() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, png) = check_sheet(
        dir.path(),
        "failures-redacted",
        &fixture("failures.plist"),
        true,
    );
    if std::env::var_os("SYNCCHECK_UPDATE_SCREENSHOT").is_some() {
        let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-sheet.png");
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&png, &target).unwrap();
    }
}

#[test]
fn a_phone_with_photo_evidence_prints_it() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo-iphone.plist");
    let (words, _) = check_sheet(dir.path(), "demo", &demo, false);
    assert!(
        words.contains("1204 photos were waiting to upload"),
        "{words}"
    );
    // 2026-11-21 22:10 UTC is the next morning at UTC+05:30.
    assert!(
        words.contains("Last sync with iCloud: 22 November 2026, 03:40."),
        "{words}"
    );
}
