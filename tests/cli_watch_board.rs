//! `synccheck watch` on a real terminal: tmux gives it an 80×24 pseudo-terminal, four phones
//! are plugged in, and the screen must show a header and exactly one row per phone, none wider
//! than the terminal, the verdict in colour; after the window is made narrower, the same rows
//! cut to the new width, with nothing left over from the wider ones.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{fixture, start_sim_with};

/// Generous: a debug build on a loaded 2-core CI machine. Waits end as soon as the screen is
/// as expected.
const WAIT: Duration = Duration::from_secs(60);

/// A tmux server of this test's own (its socket in a private directory), killed when dropped.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// The pane's text, with colour escapes when `escapes`.
    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", "watch"];
        if escapes {
            args.push("-e");
        }
        String::from_utf8_lossy(&self.run(&args).stdout).into_owned()
    }

    /// Waits until the screen satisfies `ok`, and returns it.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen(false);
            if ok(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("the screen never showed {what} within {WAIT:?}:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The phones' rows: a number, then the phone, ending in the scan's time `HH:MM`.
fn rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.chars().next().is_some_and(|c| c.is_ascii_digit())
                && t.split_whitespace().nth(1).is_some()
        })
        .collect()
}

fn ends_in_a_time(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() >= 5 && {
        let t = &b[b.len() - 5..];
        t[..2].iter().chain(&t[3..]).all(u8::is_ascii_digit) && t[2] == b':'
    }
}

/// Four rows, each with its verdict and time, none wider than `width`; the header; and no
/// other line but the notes above (nothing left of an earlier, wider drawing).
fn board_ok(screen: &str, width: usize) -> bool {
    let rows = rows(screen);
    let verdicts = ["? to check", "! warn", "✘ fail"];
    rows.len() == 4
        && rows.iter().all(|r| {
            r.chars().count() <= width
                && ends_in_a_time(r)
                && verdicts.iter().any(|v| r.contains(v))
        })
        && screen
            .lines()
            .any(|l| l.contains("phone") && l.contains("verdict"))
        && screen.lines().all(|l| l.chars().count() <= width)
}

fn synccheck() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_synccheck"))
}

#[test]
fn four_phones_fill_four_rows_at_80_columns_and_resizing_redraws_them() {
    if !common::debian_tools_present(&["tmux"], "tmux") {
        return;
    }
    let sim = start_sim_with(
        &[
            fixture("healthy.plist"),
            fixture("warnings.plist"),
            fixture("failures.plist"),
            fixture("find-my-associated.plist"),
        ],
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux {
        socket: dir.path().join("tmux.sock"),
    };
    let db = dir.path().join("history.sqlite");
    // `env` sets the command's environment whatever the tmux server's; NO_COLOR unset, so
    // colour is on, as on a technician's terminal.
    let command = format!(
        "env -u NO_COLOR TERM=screen TZ=UTC USBMUXD_SOCKET_ADDRESS='{}' '{}' watch --db '{}'",
        sim.address,
        synccheck().display(),
        db.display()
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "watch",
        "-x",
        "80",
        "-y",
        "24",
        &command,
    ]);
    assert!(started.status.success(), "{started:?}");

    let screen = tmux.wait_for("four rows at 80 columns", |s| board_ok(s, 79));
    let rows = rows(&screen);
    for (i, row) in rows.iter().enumerate() {
        assert!(
            row.trim_start().starts_with(&format!("{} ", i + 1)),
            "rows in phone order: {screen}"
        );
    }
    assert!(
        screen.contains("✘ fail") && screen.contains("! warn") && screen.contains("? to check"),
        "{screen}"
    );
    // In colour: the verdict words carry their colour codes (red fail, yellow warn).
    let coloured = tmux.screen(true);
    assert!(
        coloured.contains("\x1b[33m! warn") && coloured.contains("31m✘ fail"),
        "{coloured:?}"
    );
    // The history number is not on the rows.
    assert!(!screen.contains("history #"), "{screen}");

    // Narrower: every row is cut again, and nothing of the 80-column rows is left.
    let resized = tmux.run(&["resize-window", "-t", "watch", "-x", "60", "-y", "24"]);
    assert!(resized.status.success(), "{resized:?}");
    tmux.wait_for("four rows at 60 columns", |s| {
        board_ok(s, 59) && s.lines().filter(|l| !l.trim().is_empty()).count() <= 6
    });
}
