//! What `watch` shows: on a terminal, one live line per phone (a spinner while it is read);
//! otherwise a time-stamped log line at every change, so a log file or a pipe reads as a
//! history of the bench.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use synccheck_wire::phone_text::printable;

use super::bench::{Phase, Seat};

pub struct Board {
    live: Option<MultiProgress>,
    bars: HashMap<String, ProgressBar>,
    /// What each phone's last plain line said, so a line is only written when it changes.
    last: HashMap<String, Phase>,
    redact: bool,
}

impl Board {
    pub fn new(redact: bool) -> Self {
        Board {
            live: std::io::stderr().is_terminal().then(MultiProgress::new),
            bars: HashMap::new(),
            last: HashMap::new(),
            redact,
        }
    }

    /// A line before any phone's: what watch is doing and how to use it. Notes may quote what
    /// a phone said (an error): made printable here, as every line the board writes.
    pub fn note(&self, text: &str) {
        let text = printable(text);
        match &self.live {
            Some(m) => {
                let _ = m.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    /// Shows where `seat` is now.
    pub fn show(&mut self, seat: &Seat) {
        let label = self.label(seat);
        let Some(multi) = &self.live else {
            let unchanged = self
                .last
                .get(&seat.udid)
                .is_some_and(|p| p.same_line(&seat.phase));
            if !unchanged {
                let now = chrono::Local::now().format("%H:%M:%S");
                eprintln!("{now} {label}: {}", printable(&seat.phase.log_line()));
                self.last.insert(seat.udid.clone(), seat.phase.clone());
            }
            return;
        };
        let bar = self.bars.entry(seat.udid.clone()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_prefix(label);
            bar
        });
        if seat.phase.is_scanning() {
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {msg}")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
        } else {
            bar.disable_steady_tick();
            bar.set_style(
                ProgressStyle::with_template("  {prefix}: {msg}").expect("a valid template"),
            );
        }
        bar.set_message(printable(&seat.phase.describe()).into_owned());
    }

    /// Runs `print` (a full report on stdout) without the live lines drawing over it.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.live {
            Some(m) => m.suspend(print),
            None => print(),
        }
    }

    fn label(&self, seat: &Seat) -> String {
        if self.redact {
            format!("[{}] iPhone", seat.number)
        } else {
            format!("[{}] {}", seat.number, printable(&seat.udid))
        }
    }
}

impl Drop for Board {
    /// Leaves the last state of every phone on screen, without spinners.
    fn drop(&mut self) {
        for bar in self.bars.values() {
            bar.disable_steady_tick();
            bar.abandon();
        }
    }
}
