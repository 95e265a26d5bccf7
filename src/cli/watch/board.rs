//! What `watch` shows. On a terminal: a header and one row per phone that never wraps, cut to
//! the terminal's width at every redraw (and redrawn whole when the terminal is resized), a
//! spinner while a phone is read, the verdict in colour. Otherwise (a pipe, a log file): one
//! time-stamped line at every change, so a log reads as a history of the bench.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use synccheck_wire::phone_text::printable;

use super::bench::{Phase, Seat};
use super::row::{self, Row};

/// Where the spinner goes, before each row: two columns.
const SPINNER: usize = 2;

/// How often a row without a spinner is drawn again (see [`Board::show`]).
const STILL_TICK: Duration = Duration::from_millis(250);

/// A terminal that says no width (or an absurd one) is drawn at 80 columns.
const DEFAULT_WIDTH: usize = 80;

pub struct Board {
    live: Option<Live>,
    /// Log mode: what each phone's last line said, so a line is only written when it changes.
    last: HashMap<String, Phase>,
    redact: bool,
}

/// The rows on a terminal.
struct Live {
    multi: MultiProgress,
    header: ProgressBar,
    bars: HashMap<String, (ProgressBar, Row)>,
    color: bool,
    /// The width the rows were last drawn at.
    width: usize,
}

impl Board {
    /// `color`: whether colour is wanted on a terminal (`--color`, NO_COLOR); the board only
    /// colours what goes to one.
    pub fn new(redact: bool, color: bool) -> Self {
        let live = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::new();
            let header = multi.add(ProgressBar::new_spinner());
            header.set_style(still());
            header.enable_steady_tick(STILL_TICK);
            let width = terminal_width();
            header.set_message(row::header(width - SPINNER));
            Live {
                multi,
                header,
                bars: HashMap::new(),
                color,
                width,
            }
        });
        Board {
            live,
            last: HashMap::new(),
            redact,
        }
    }

    /// A line above the phones' rows: what watch is doing and how to use it. Notes may quote
    /// what a phone said (an error): made printable here, as every line the board writes.
    pub fn note(&self, text: &str) {
        let text = printable(text);
        match &self.live {
            Some(live) => {
                let _ = live.multi.println(text);
            }
            None => eprintln!("{} {text}", now()),
        }
    }

    /// Shows where `seat` is now.
    pub fn show(&mut self, seat: &Seat) {
        let row = Row::from_seat(seat, self.redact);
        let Some(live) = &mut self.live else {
            let last = self.last.get(&seat.udid);
            let line = match (last, &seat.phase) {
                (Some(p), phase) if p.same_line(phase) => None,
                // The verdict is a line up: only its history number is new.
                (Some(p), phase) if p.only_recorded(phase) => Some(row::recorded_line(&row)),
                _ => Some(row::log_line(&row)),
            };
            if let Some(line) = line {
                eprintln!("{} {line}", now());
                self.last.insert(seat.udid.clone(), seat.phase.clone());
            }
            return;
        };
        let width = terminal_width();
        let scanning = seat.phase.is_scanning();
        let bar = match live.bars.get_mut(&seat.udid) {
            Some((bar, kept)) => {
                *kept = row.clone();
                bar.clone()
            }
            None => {
                let bar = live.multi.add(ProgressBar::new_spinner());
                live.bars
                    .insert(seat.udid.clone(), (bar.clone(), row.clone()));
                bar
            }
        };
        // Every row keeps ticking, a still one slowly: indicatif drops a draw that comes too
        // soon after the last (its rate limit), and only a later draw of the same row shows
        // it. Without a tick, a phone's verdict arriving just after another's could stay
        // unseen, its row stuck on "scanning…".
        if scanning {
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
        } else {
            bar.set_style(still());
            bar.enable_steady_tick(STILL_TICK);
        }
        bar.set_message(row::render(&row, width - SPINNER, live.color));
        // Resized with no SIGWINCH seen yet: redrawn now.
        if width != live.width {
            self.redraw();
        }
    }

    /// Draws every row again at the terminal's width now (after a resize). A narrower
    /// terminal has already reflowed the old, wider rows onto more lines than the board drew,
    /// where it cannot find them to clear: the screen is cleared and the rows drawn at its top.
    pub fn redraw(&mut self) {
        let Some(live) = &mut self.live else {
            return;
        };
        let before = live.width;
        live.width = terminal_width();
        let width = live.width - SPINNER;
        live.header.set_message(row::header(width));
        for (bar, row) in live.bars.values() {
            bar.set_message(row::render(row, width, live.color));
        }
        if live.width != before {
            live.multi.suspend(|| {
                use std::io::Write;
                let mut err = std::io::stderr().lock();
                // Home, then erase the whole screen.
                let _ = err.write_all(b"\x1b[H\x1b[2J");
                let _ = err.flush();
            });
        }
    }

    /// Runs `print` (a full report on stdout) without the live rows drawing over it.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.live {
            Some(live) => live.multi.suspend(print),
            None => print(),
        }
    }
}

/// A row without a spinner, aligned with those that have one.
fn still() -> ProgressStyle {
    ProgressStyle::with_template("  {msg}").expect("a valid template")
}

/// The terminal's width now, less one column: a row that fills the last column makes some
/// terminals wrap.
fn terminal_width() -> usize {
    let columns = console::Term::stderr()
        .size_checked()
        .map(|(_, c)| usize::from(c))
        .filter(|c| (SPINNER + 10..=1000).contains(c))
        .unwrap_or(DEFAULT_WIDTH);
    columns - 1
}

/// The log's time stamp: local time.
fn now() -> impl std::fmt::Display {
    chrono::Local::now().format("%H:%M:%S")
}

impl Drop for Board {
    /// Leaves the last state of every phone on screen, without spinners.
    fn drop(&mut self) {
        if let Some(live) = &self.live {
            live.header.disable_steady_tick();
            live.header.abandon();
            for (bar, _) in live.bars.values() {
                bar.disable_steady_tick();
                bar.abandon();
            }
        }
    }
}
