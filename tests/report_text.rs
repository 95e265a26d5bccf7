//! The text report as a technician reads it, end to end on the fixtures: it fits one screen
//! at 80 columns, problems come first with their fix, the steps to check give their
//! `--answer`, the verdict is last, evidence only with `--details`, times in local time, and
//! the same words as the customer's sheet.

mod common;

use std::process::{Command, Output};

use common::fixture;

/// A fixed zone (UTC+05:30, a half-hour offset, so a wrong conversion cannot hide behind a
/// whole hour) given as a POSIX TZ string: no tzdata needed.
const TZ: &str = "IST-5:30";

fn synccheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(args)
        .env("TZ", TZ)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn report(name: &str, extra: &[&str]) -> String {
    let path = fixture(name);
    let mut args = vec!["scan", "--from", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = synccheck(&args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Rows the text takes on an 80-column terminal: a line longer than 80 takes more than one.
/// Every character in these reports is one column wide.
fn rows_at_80(text: &str) -> usize {
    text.lines()
        .map(|l| l.chars().count().div_ceil(80).max(1))
        .sum()
}

#[test]
fn one_phone_fits_one_screen_at_80_columns() {
    for (name, most) in [
        ("healthy.plist", 20),
        ("failures.plist", 30),
        ("warnings.plist", 30),
    ] {
        let text = report(name, &[]);
        let rows = rows_at_80(&text);
        assert!(rows <= most, "{name}: {rows} rows, at most {most}:\n{text}");
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{name}: wider than 80 columns: {line}"
            );
        }
    }
}

#[test]
fn problems_first_then_steps_to_check_then_passes_and_the_verdict_last() {
    let text = report("failures.plist", &[]);
    let first_at = |prefix: &str| text.lines().position(|l| l.starts_with(prefix));
    let fail = first_at("✘ fail").expect("the failures phone has fails");
    let check = first_at("? to check").expect("and steps to check");
    assert!(fail < check, "{text}");
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("✘ Verdict: fail — 4 problems, all blocking"),
        "{text}"
    );

    let text = report("warnings.plist", &[]);
    let warn = text.lines().position(|l| l.starts_with("! warn")).unwrap();
    let check = text
        .lines()
        .position(|l| l.starts_with("? to check"))
        .unwrap();
    assert!(warn < check, "{text}");

    // A fail answered by the technician comes before the warnings the phone gave.
    let text = report("warnings.plist", &["--answer", "restart=no"]);
    let lines: Vec<&str> = text.lines().collect();
    let fail = lines.iter().position(|l| l.starts_with("✘ fail")).unwrap();
    let warn = lines.iter().position(|l| l.starts_with("! warn")).unwrap();
    assert!(fail < warn, "{text}");

    let text = report("healthy.plist", &[]);
    let check = text
        .lines()
        .position(|l| l.starts_with("? to check"))
        .unwrap();
    let pass = text.lines().position(|l| l.starts_with("✔ pass")).unwrap();
    assert!(check < pass, "{text}");
    // The passes in one block: every passing title, on one or two rows, not one row each.
    assert!(
        text.lines().filter(|l| l.starts_with("✔ pass")).count() == 1,
        "{text}"
    );
    for title in ["Apple ID signed in", "iPhone storage", "Battery health"] {
        assert!(text.contains(title), "{title}: {text}");
    }
}

#[test]
fn each_problem_has_its_fix_and_wrapped_lines_keep_their_indent() {
    let text = report("failures.plist", &[]);
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("✘ fail") {
            let fix = lines[i + 1..]
                .iter()
                .take_while(|l| l.starts_with(' '))
                .find(|l| l.trim_start().starts_with('→'));
            assert!(fix.is_some(), "no fix under {line}:\n{text}");
        }
    }
    // Past the header (model, serial and source, storage and battery), no line starts at
    // column 0 unless it starts with a status: wrapped text keeps its indent.
    let body = &lines[4..];
    for line in body {
        let starts_ok = line.is_empty()
            || line.starts_with(' ')
            || ["✘ ", "! ", "? ", "✔ "].iter().any(|s| line.starts_with(s));
        assert!(starts_ok, "wrapped to column 0: {line}\n{text}");
    }
    // The longest fix wraps, indented under the text it continues.
    assert!(
        body.iter()
            .any(|l| l.starts_with("          ") && l.contains("Optimize iPhone Storage")),
        "{text}"
    );
}

#[test]
fn each_step_to_check_gives_an_answer_that_is_taken() {
    let text = report("healthy.plist", &[]);
    let answers: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("? to check"))
        .map(|l| {
            let (_, answer) = l.split_once("--answer ").expect("the step's --answer");
            answer.trim().to_string()
        })
        .collect();
    assert_eq!(answers.len(), 7, "{text}");
    for answer in answers {
        // "icloud-photos=on|off": each side is a word the step takes.
        let (id, words) = answer.split_once('=').unwrap();
        for word in words.split('|') {
            let given = format!("{id}={word}");
            let text = report("healthy.plist", &["--answer", &given]);
            assert!(
                !text.contains(&format!("--answer {id}=")),
                "{given}: {text}"
            );
        }
    }
}

#[test]
fn evidence_and_where_to_look_only_with_details() {
    let raw = "com.apple.disk_usage AmountDataAvailable = 640000000";
    let where_to_look = "Settings > Wi-Fi shows a joined network";
    let text = report("failures.plist", &[]);
    assert!(!text.contains(raw), "{text}");
    assert!(!text.contains(where_to_look), "{text}");

    let detailed = report("failures.plist", &["--details"]);
    assert!(detailed.contains(raw), "{detailed}");
    assert!(detailed.contains(where_to_look), "{detailed}");
    // Still wrapped with its indent, never a 600-character line.
    assert!(
        detailed.lines().all(|l| l.chars().count() <= 80),
        "{detailed}"
    );

    // The JSON always has the evidence, with or without --details.
    let path = fixture("failures.plist");
    let out = synccheck(&["scan", "--json", "--from", path.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("AmountDataAvailable"));
}

#[test]
fn several_phones_end_with_one_line_each() {
    let (a, b, c) = (
        fixture("failures.plist"),
        fixture("healthy.plist"),
        fixture("warnings.plist"),
    );
    let out = synccheck(&[
        "scan",
        "--from",
        a.to_str().unwrap(),
        "--from",
        b.to_str().unwrap(),
        "--from",
        c.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len() - 4..];
    assert_eq!(tail[0], "3 phones:", "{text}");
    for (line, (number, word, model)) in tail[1..].iter().zip([
        ("1", "✘ fail", "iPhone 11"),
        ("2", "? to check", "iPhone 15 Pro"),
        ("3", "! warn", "iPhone 13"),
    ]) {
        assert!(line.trim_start().starts_with(number), "{line}");
        assert!(line.contains(word) && line.contains(model), "{line}");
        assert!(line.chars().count() <= 80, "{line}");
    }
    // One phone: no summary.
    assert!(!report("healthy.plist", &[]).contains("phones:"));
}

#[test]
fn times_are_local_on_screen_and_utc_with_offset_in_json() {
    // Captured 2026-11-24 15:30 UTC: 21:00 at UTC+05:30.
    let text = report("healthy.plist", &[]);
    assert!(text.contains("2026-11-24 21:00"), "{text}");
    // A time inside a finding (the checklist judges in UTC) is shown local too, in the same
    // format, and nothing on screen says UTC.
    let text = report("photos/paused.plist", &[]);
    assert!(
        text.contains("iCloud Photos is paused until 2026-11-25 17:00 (reason: user)"),
        "{text}"
    );
    let detailed = report("photos/paused.plist", &["--details"]);
    assert!(!detailed.contains("UTC"), "{detailed}");

    let path = fixture("healthy.plist");
    let out = synccheck(&["scan", "--json", "--from", path.to_str().unwrap()]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["devices"][0]["captured_at"],
        "2026-11-24T15:30:00+00:00"
    );
}

#[test]
fn text_and_sheet_say_the_same_words() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("sheet.html");
    let path = fixture("failures.plist");
    let out = synccheck(&[
        "scan",
        "--from",
        path.to_str().unwrap(),
        "--html",
        sheet.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let page = std::fs::read_to_string(&sheet).unwrap();
    // The battery's state, in one set of words.
    assert!(text.contains("Battery 12 %, not on power"), "{text}");
    assert!(page.contains("12 %, not on power"), "{page}");
    for other in ["on battery", "not charging"] {
        assert!(!text.contains(other) && !page.contains(other), "{other}");
    }
    // The status words: the sheet's cells say what the text's rows say.
    for (symbol, word) in [("✘", "fail"), ("?", "to check")] {
        let mark = format!("{symbol} {word}");
        assert!(text.contains(&mark), "{mark}: {text}");
        let cell = format!("<span class=\"sym\">{symbol}</span> {word}");
        assert!(page.contains(&cell), "{cell}: {page}");
    }
    assert!(page.contains("to check on the phone"));
    for old in ["> Check<", "> Fail<", "MANUAL", "FAIL"] {
        assert!(!page.contains(old) && !text.contains(old), "{old}");
    }
    // The same local time on both, each in its own one format.
    assert!(text.contains("2026-11-24 21:00"), "{text}");
    assert!(page.contains("Checked 24 November 2026, 21:00"), "{page}");
}

/// The answer table in docs/guide.md lists every step and every word `--answer` takes.
#[test]
fn the_guides_answer_table_is_complete() {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/guide.md"),
    )
    .unwrap();
    let section = guide
        .split("## The technician's answers")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the answers section");
    let mut listed = std::collections::BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let words =
            |cell: &str| -> Vec<String> { cell.split(',').map(|w| w.trim().to_string()).collect() };
        let mut all = words(cells[2]);
        all.extend(words(cells[3]));
        for id in cells[1].split(',') {
            listed.insert(id.trim().trim_matches('`').to_string(), all.clone());
        }
    }
    // What the program takes, as its own error message lists it.
    let ids = synccheck_core::checklist::CheckId::ALL;
    assert_eq!(listed.len(), ids.len(), "{listed:?}");
    for id in ids {
        let (pass, fail) = synccheck_core::checklist::answer_words(id);
        let mut taken: Vec<String> = pass.iter().chain(fail).map(|w| w.to_string()).collect();
        let mut in_guide = listed.get(id.as_str()).cloned().unwrap_or_default();
        taken.sort();
        in_guide.sort();
        assert_eq!(in_guide, taken, "{id} in the guide's answer table");
    }
}

/// On a terminal the report wraps at the terminal's width, not at 80: run under a
/// pseudo-terminal (util-linux `script`) whose width `stty` sets.
#[test]
fn a_terminal_wraps_at_its_own_width() {
    if !common::debian_tools_present(&["script"], "bsdutils") {
        return;
    }
    let path = fixture("failures.plist");
    let at = |cols: usize| -> Vec<String> {
        let command = format!(
            "stty cols {cols} rows 50; '{}' scan --color never --from '{}'",
            env!("CARGO_BIN_EXE_synccheck"),
            path.display()
        );
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("TZ", TZ)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let (narrow, wide) = (at(60), at(120));
    assert!(narrow.iter().any(|l| l.contains("Verdict")), "{narrow:?}");
    for (lines, cols) in [(&narrow, 60), (&wide, 120)] {
        for l in lines.iter() {
            assert!(l.chars().count() <= cols, "wider than {cols}: {l}");
        }
    }
    assert!(
        wide.iter().any(|l| l.chars().count() > 80),
        "120 columns are used: {wide:?}"
    );
    assert!(narrow.len() > wide.len(), "{narrow:?}\n{wide:?}");
}

/// A step left to check for a reason of its own (the library could not be read) says why,
/// without --details: what is unknown is unknown with its reason.
#[test]
fn a_step_left_unknown_says_why() {
    let text = report("photos/corrupt-db.plist", &[]);
    let lines: Vec<&str> = text.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.starts_with("? to check") && l.contains("photos-upload="))
        .expect("photos-upload is left to check");
    assert!(
        lines[row + 1]
            .trim_start()
            .starts_with("Could not read the photo library"),
        "{text}"
    );
}
