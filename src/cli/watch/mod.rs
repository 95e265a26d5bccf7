//! `synccheck watch`: bench mode. Subscribes to usbmuxd's attach and detach events and scans
//! every phone as it is plugged in, each on its own task, so a phone waiting on its Trust
//! dialog never holds up another. Every finished scan is recorded in the history (and with
//! `--json-dir` written as a JSON report) by one writer thread (`recorder.rs`), never on the
//! event loop; typing a phone's number and Enter prints its full report. Ctrl-C stops: scans
//! under way are cancelled and not recorded; finished ones are written first.

mod bench;
mod board;
mod json_dir;
mod recorder;
mod row;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use synccheck_core::checklist::{Context, EarlierScan};
use synccheck_core::snapshot::Snapshot;
use synccheck_device::{DeviceError, MuxEvent, Progress, ScanOptions, Usbmuxd};
use synccheck_history::{History, Judging};
use tokio::signal::unix::{Signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::args::WatchArgs;
use super::error::{device_hint, CliError};
use super::{live, report};
use bench::{Bench, Phase};
use board::Board;
use json_dir::JsonDir;
use recorder::{Job, Recorded, Recorder};

/// How long to wait before listening again when usbmuxd drops the event feed (it restarts
/// when its package is upgraded, or the host sleeps).
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// How long Ctrl-C waits for finished scans still being written: longer than the history's
/// busy timeout (10 s), so a locked database ends in a clear "not recorded".
const WRITES_AT_STOP: Duration = Duration::from_secs(15);

/// A second connection to the history, for reading earlier scans off the event loop (the
/// history is in WAL mode: reading never waits for the writer).
type Reader = Arc<Mutex<History>>;

/// What the phones' tasks and the event feed tell the loop.
enum Event {
    Mux(MuxEvent),
    /// The feed broke; the feed task is listening again.
    FeedLost(DeviceError),
    FeedBack,
    Progress {
        udid: String,
        run: u64,
        progress: Progress,
    },
    Finished {
        udid: String,
        run: u64,
        /// Boxed: a snapshot is large, and most events are small.
        result: Box<Result<Snapshot, DeviceError>>,
        /// The same phone's last recorded scan, read by the scan's task.
        earlier: Option<EarlierScan>,
    },
    /// The writer kept (or could not keep) a judged scan.
    Recorded(Recorded),
    /// The writer has written everything and stopped (after [`Recorder::close`]).
    RecorderDone,
}

pub fn run(args: WatchArgs) -> Result<i32, CliError> {
    super::history::check_db(&args.db)?;
    let ctx = report::context(&args.report)?;
    let mux = live::usbmuxd(&args.connection)?;
    let scope = live::photo_scope(args.no_photo_library, &args.limits);
    let options = live::options(&args.connection, &args.trust, Some(&args.limits), scope);
    let json_dir = match &args.json_dir {
        Some(dir) => Some(
            JsonDir::open(dir)
                .map_err(|e| CliError::Usage(format!("--json-dir {}: {e}", dir.display())))?,
        ),
        None => None,
    };
    let history = match super::history::open_to_record_retrying(&args.db, false) {
        Ok(h) => Some(h),
        Err(e) => {
            // The path or server is the user's, but may hold any bytes: printed escaped, as the
            // other history warnings are.
            eprintln!(
                "synccheck: warning: scans will not be recorded: {}",
                synccheck_wire::phone_text::printable(&e.to_string())
            );
            None
        }
    };
    let reader = history
        .as_ref()
        .and_then(|_| super::history::open_to_record_retrying(&args.db, true).ok())
        .map(|h| Arc::new(Mutex::new(h)));
    let redact = args.report.redact;
    let args_color = args.report.color;
    if redact {
        synccheck_core::privacy::hide_identifiers();
    }
    let (tx, events) = mpsc::unbounded_channel();
    let recorded_tx = tx.clone();
    let settings = recorder::Settings {
        history,
        json_dir,
        answers: args.report.answers.clone(),
        trust_answers: args.report.trust_answers,
        redact,
    };
    let recorder = Recorder::start(settings, move |recorded| {
        let _ = recorded_tx.send(recorded.map_or(Event::RecorderDone, Event::Recorded));
    })
    .map_err(CliError::Runtime)?;
    live::runtime()?.block_on(async move {
        // No usbmuxd at start-up is the technician's to fix now; later losses are retried.
        let listener = mux.listen().await?;
        let mut watch = Watch {
            mux,
            options,
            ctx,
            args,
            recorder,
            reader,
            awaiting: HashMap::new(),
            bench: Bench::default(),
            board: Board::new(redact, report::wants_color(args_color)),
            scans: HashMap::new(),
            recorded: 0,
        };
        watch.serve(listener, tx, events).await
    })
}

struct Watch {
    mux: Usbmuxd,
    options: ScanOptions,
    ctx: Context,
    args: WatchArgs,
    /// The history and `--json-dir` writer.
    recorder: Recorder,
    reader: Option<Reader>,
    /// Judged scans shown once the writer has recorded them (by UDID: run, report as shown).
    awaiting: HashMap<String, (u64, synccheck_report::DeviceReport)>,
    bench: Bench,
    board: Board,
    /// The scan task of each phone being read, by UDID.
    scans: HashMap<String, AbortHandle>,
    recorded: usize,
}

impl Watch {
    async fn serve(
        &mut self,
        listener: synccheck_device::Listener,
        tx: mpsc::UnboundedSender<Event>,
        mut events: mpsc::UnboundedReceiver<Event>,
    ) -> Result<i32, CliError> {
        let feed = tokio::spawn(feed(self.mux.clone(), listener, tx.clone()));
        let mut commands = live::stdin_lines();
        self.board
            .note("Watching for iPhones. Type a phone's # and Enter for its report; Ctrl-C stops.");
        let stop = live::wait_for_stop();
        tokio::pin!(stop);
        // A resized terminal: every row is cut again to the new width.
        let mut resized = tokio::signal::unix::signal(SignalKind::window_change()).ok();
        loop {
            tokio::select! {
                _ = &mut stop => break,
                Some(event) = events.recv() => self.handle(event, &tx),
                Some(line) = commands.recv() => self.command(&line),
                Some(()) = next_signal(&mut resized) => self.board.redraw(),
            }
        }
        feed.abort();
        for (_, scan) in self.scans.drain() {
            scan.abort();
        }
        // Judged scans waiting for the writer are finished, not under way.
        let under_way = self.bench.scanning().saturating_sub(self.awaiting.len());
        // Finished scans are still written, within a bound: the writer may be stuck on a disk.
        self.recorder.close();
        let written = tokio::time::timeout(WRITES_AT_STOP, async {
            while let Some(event) = events.recv().await {
                match event {
                    Event::Recorded(r) => self.recorded(r),
                    Event::RecorderDone => break,
                    _ => {}
                }
            }
        })
        .await;
        drop(std::mem::replace(&mut self.board, Board::new(true, false)));
        let cancelled = match under_way {
            0 => String::new(),
            n => format!("; {n} scan(s) under way were cancelled and not recorded"),
        };
        let unwritten = match (written, self.recorder.outstanding) {
            (Err(_), n) if n > 0 => format!("; {n} finished scan(s) could not be written in time"),
            _ => String::new(),
        };
        eprintln!(
            "Stopped: {} scan(s) recorded this session{cancelled}{unwritten}.",
            self.recorded
        );
        Ok(0)
    }

    fn handle(&mut self, event: Event, tx: &mpsc::UnboundedSender<Event>) {
        match event {
            Event::Mux(MuxEvent::Attached(device)) => {
                if let Some(start) = self.bench.attached(device) {
                    let handle = tokio::spawn(scan(
                        self.mux.clone(),
                        start.device,
                        start.udid.clone(),
                        start.run,
                        self.options,
                        self.reader.clone(),
                        tx.clone(),
                    ));
                    // A phone replugged while the feed was down may still have its old scan.
                    if let Some(old) = self.scans.insert(start.udid.clone(), handle.abort_handle())
                    {
                        old.abort();
                    }
                    self.show(&start.udid);
                }
            }
            Event::Mux(MuxEvent::Detached { device_id }) => {
                if let Some((udid, mid_scan)) = self.bench.detached(device_id) {
                    if mid_scan {
                        if let Some(scan) = self.scans.remove(&udid) {
                            scan.abort();
                        }
                    }
                    self.show(&udid);
                }
            }
            Event::FeedLost(e) => self.board.note(&format!(
                "synccheck: lost usbmuxd's event feed ({e}); listening again…"
            )),
            Event::FeedBack => self.board.note("synccheck: listening to usbmuxd again."),
            Event::Progress {
                udid,
                run,
                progress,
            } => {
                if let Some(seat) = self.bench.progress(&udid, run, progress) {
                    self.board.show(seat);
                }
            }
            Event::Finished {
                udid,
                run,
                result,
                earlier,
            } => self.finished(udid, run, *result, earlier),
            Event::Recorded(r) => self.recorded(r),
            Event::RecorderDone => {}
        }
    }

    fn finished(
        &mut self,
        udid: String,
        run: u64,
        result: Result<Snapshot, DeviceError>,
        earlier: Option<EarlierScan>,
    ) {
        let is_current = self
            .bench
            .seat(&udid)
            .is_some_and(|s| s.run == run && s.phase.is_scanning());
        if !is_current {
            return;
        }
        self.scans.remove(&udid);
        let shown = match result {
            Ok(snap) => self.judge(&udid, run, snap, earlier),
            Err(e) => {
                let unplugged = matches!(e, DeviceError::Unplugged(_));
                let mut why = match device_hint(&e) {
                    Some(hint) if !unplugged => format!("{e} ({hint})"),
                    _ => e.to_string(),
                };
                // The error may quote the UDID (no pair record for …): the board's label
                // already hides it under --redact, the line must too.
                if self.args.report.redact && !udid.is_empty() {
                    why = why.replace(&udid, synccheck_report::REDACTED);
                }
                self.bench.failed(&udid, run, unplugged, why).is_some()
            }
        };
        if shown {
            self.show(&udid);
        }
    }

    /// Judges a snapshot and hands it to the writer. It is shown once recorded, so a shown
    /// verdict is in the history; when the writer is still busy with another phone's scan, it
    /// is shown at once and its history number follows ([`Self::recorded`]). Returns whether
    /// the seat changed.
    fn judge(
        &mut self,
        udid: &str,
        run: u64,
        snapshot: Snapshot,
        earlier: Option<EarlierScan>,
    ) -> bool {
        // A phone plugged in again is compared with its last scan: is the backlog going down?
        // Judged unredacted and recorded so on the writer thread; shown redacted when asked
        // (the order is the history crate's: `Judged`).
        let judging = Judging {
            ctx: &self.ctx,
            answers: &self.args.report.answers,
            trust_answers: self.args.report.trust_answers,
            redact: self.args.report.redact,
        };
        let judged = synccheck_history::judge(&snapshot, "USB", earlier.as_ref(), &judging);
        let shown = judged.shown();
        // Warnings name the phone by its number on the board (never its UDID: --redact).
        let phone = self
            .bench
            .seat(udid)
            .map_or_else(|| "a phone".to_string(), |s| format!("[{}]", s.number));
        let job = Job {
            udid: udid.to_string(),
            run,
            phone,
            snapshot,
            judged,
        };
        if self.recorder.send(job) {
            self.bench.scanned(udid, run, shown, None).is_some()
        } else {
            self.awaiting.insert(udid.to_string(), (run, shown));
            false
        }
    }

    /// The writer is done with a scan: its warnings, and its verdict with its history number.
    fn recorded(&mut self, r: Recorded) {
        if !r.later {
            self.recorder.outstanding = self.recorder.outstanding.saturating_sub(1);
        }
        for warning in &r.warnings {
            self.board.note(warning);
        }
        if r.history_id.is_some() {
            self.recorded += 1;
        }
        let shown = match self.awaiting.remove(&r.udid) {
            Some((run, report)) if run == r.run => self
                .bench
                .scanned(&r.udid, run, report, r.history_id)
                .is_some(),
            _ => r
                .history_id
                .is_some_and(|id| self.bench.recorded(&r.udid, r.run, id).is_some()),
        };
        if shown {
            self.show(&r.udid);
        }
    }

    /// A line typed at the bench: a phone's number prints its last report.
    fn command(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let Ok(number) = line.trim_start_matches('#').parse::<usize>() else {
            self.board.note(
                "Type a phone's number (the first column) and Enter for its full report; Ctrl-C stops.",
            );
            return;
        };
        let Some(seat) = self.bench.numbered(number) else {
            self.board.note(&format!("No phone [{number}] yet."));
            return;
        };
        let Some(report) = &seat.report else {
            self.board.note(&format!(
                "[{number}] has no finished scan yet: {}",
                seat.phase.describe()
            ));
            return;
        };
        // The history number is where it is useful: with the report, to reprint it later.
        if let Phase::Done {
            history_id: Some(id),
            ..
        } = seat.phase
        {
            self.board.note(&format!(
                "Phone {number}'s report (history #{id}; `synccheck history show {id}` prints it again):"
            ));
        }
        let printed = self
            .board
            .suspend(|| report::print(&self.args.report, std::slice::from_ref(report)));
        if let Err(e) = printed {
            self.board.note(&format!("synccheck: error: {e}"));
        }
    }

    fn show(&mut self, udid: &str) {
        if let Some(seat) = self.bench.seat(udid) {
            self.board.show(seat);
        }
    }
}

/// Reads one phone and says how it went; cancelled (aborted) when the phone is pulled out.
async fn scan(
    mux: Usbmuxd,
    device: synccheck_device::AttachedDevice,
    udid: String,
    run: u64,
    options: ScanOptions,
    reader: Option<Reader>,
    tx: mpsc::UnboundedSender<Event>,
) {
    let progress_tx = tx.clone();
    let progress_udid = udid.clone();
    let result = synccheck_device::read_phone(&mux, &device, options, move |progress| {
        let _ = progress_tx.send(Event::Progress {
            udid: progress_udid.clone(),
            run,
            progress,
        });
    })
    .await;
    // The earlier scan is read here, on a blocking thread, not on the event loop.
    let earlier = match (&result, reader) {
        (Ok(_), Some(reader)) => {
            let udid = udid.clone();
            tokio::task::spawn_blocking(move || {
                let history = reader.lock().unwrap_or_else(|e| e.into_inner());
                synccheck_history::earlier_scan(Some(&history), Some(&udid), None)
            })
            .await
            .ok()
            .flatten()
        }
        _ => None,
    };
    let _ = tx.send(Event::Finished {
        udid,
        run,
        result: Box::new(result),
        earlier,
    });
}

/// Forwards usbmuxd's events; when the feed breaks, says so and listens again until it can.
async fn feed(
    mux: Usbmuxd,
    mut listener: synccheck_device::Listener,
    tx: mpsc::UnboundedSender<Event>,
) {
    loop {
        let lost = loop {
            match listener.next().await {
                Ok(event) => {
                    if tx.send(Event::Mux(event)).is_err() {
                        return;
                    }
                }
                Err(e) => break e,
            }
        };
        if tx.send(Event::FeedLost(lost)).is_err() {
            return;
        }
        listener = loop {
            tokio::time::sleep(RELISTEN_AFTER).await;
            if let Ok(l) = mux.listen().await {
                break l;
            }
        };
        if tx.send(Event::FeedBack).is_err() {
            return;
        }
    }
}

/// The next delivery of `signal`; never, when it could not be listened to.
async fn next_signal(signal: &mut Option<Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
