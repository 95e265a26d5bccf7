//! `watch`'s one writer: a thread of its own that records each judged scan in the history and
//! writes its `--json-dir` report (SQLite transactions, fsync and rename), so a slow disk or a
//! locked database never stalls the event loop, other phones' status lines or Ctrl-C.
//!
//! One thread, one queue: scans are recorded one at a time in the order they were judged (the
//! history keeps a single writer), and a phone's JSON report is written after its record, whose
//! number names the file under `--redact`. What happened comes back to the loop as an event.
//!
//! A shared history server out of reach does not lose the scans taken meanwhile: they wait
//! here (at most [`PENDING_AT_MOST`]) and are written when it is back, tried again with each
//! new scan and every [`RETRY_EVERY`].

use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::Duration;

use synccheck_core::snapshot::Snapshot;
use synccheck_history::{History, Judged};

use super::json_dir::JsonDir;

/// How often scans waiting for an unreachable history server are tried again.
const RETRY_EVERY: Duration = Duration::from_secs(5);

/// How many scans wait for an unreachable server, at most: each holds its snapshot in memory.
const PENDING_AT_MOST: usize = 100;

/// One judged scan to keep.
pub struct Job {
    pub udid: String,
    pub run: u64,
    /// How warnings name the phone: its number on the board, never its UDID (`--redact`).
    pub phone: String,
    pub snapshot: Snapshot,
    /// Judged unredacted: recorded so (the shop's history keeps serials); the JSON report is
    /// the shown one, redacted when asked to.
    pub judged: Judged,
}

/// What became of a [`Job`].
pub struct Recorded {
    pub udid: String,
    pub run: u64,
    /// The history's row, when the scan was recorded.
    pub history_id: Option<i64>,
    /// Lines for the board: what could not be recorded or written, and why.
    pub warnings: Vec<String>,
    /// A scan kept earlier and recorded now that the history server is back: not a job of
    /// its own (the loop counted it done when it was first tried).
    pub later: bool,
}

/// A judged scan the history server was out of reach for.
struct Pending {
    udid: String,
    run: u64,
    phone: String,
    snapshot: Snapshot,
    judged: Judged,
}

/// What the writer needs besides each job.
pub struct Settings {
    pub history: Option<History>,
    pub json_dir: Option<JsonDir>,
    pub answers: Vec<String>,
    pub trust_answers: bool,
    pub redact: bool,
}

/// The writer's own state: its settings and the scans waiting for the server.
struct Writer {
    settings: Settings,
    pending: VecDeque<Pending>,
}

/// The loop's end of the writer thread.
pub struct Recorder {
    jobs: Option<mpsc::Sender<Job>>,
    /// Jobs sent and not yet reported back.
    pub outstanding: usize,
}

impl Recorder {
    /// Starts the writer; every finished job is handed to `done` (on the writer's thread), and
    /// `done(None)` is the last call, once the loop has closed the queue and all is written.
    pub fn start(
        settings: Settings,
        done: impl Fn(Option<Recorded>) + Send + 'static,
    ) -> std::io::Result<Recorder> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("watch-recorder".into())
            .spawn(move || {
                let mut writer = Writer {
                    settings,
                    pending: VecDeque::new(),
                };
                loop {
                    let job = if writer.pending.is_empty() {
                        queue.recv().ok()
                    } else {
                        match queue.recv_timeout(RETRY_EVERY) {
                            Ok(job) => Some(job),
                            Err(mpsc::RecvTimeoutError::Timeout) => {
                                writer.retry(&done);
                                continue;
                            }
                            Err(mpsc::RecvTimeoutError::Disconnected) => None,
                        }
                    };
                    let Some(job) = job else { break };
                    // The older scans first, so the history keeps the order they were taken.
                    writer.retry(&done);
                    let recorded = writer.keep(job);
                    done(Some(recorded));
                }
                writer.retry(&done);
                writer.give_up(&done);
                done(None);
            })?;
        Ok(Recorder {
            jobs: Some(jobs),
            outstanding: 0,
        })
    }

    /// Queues a job; `false` when nothing is waiting before it (it is written next).
    pub fn send(&mut self, job: Job) -> bool {
        let queued_behind = self.outstanding > 0;
        if let Some(jobs) = &self.jobs {
            // The writer only ends when this sender is dropped: sending cannot fail before.
            if jobs.send(job).is_ok() {
                self.outstanding += 1;
            }
        }
        queued_behind
    }

    /// No more jobs: the writer finishes what it has and says `done(None)`.
    pub fn close(&mut self) {
        self.jobs = None;
    }
}

impl Writer {
    /// Records the scans waiting for the server, oldest first, until one fails again.
    fn retry(&mut self, done: &impl Fn(Option<Recorded>)) {
        let Some(history) = self.settings.history.as_mut() else {
            return;
        };
        while let Some(p) = self.pending.front() {
            let written = p.judged.record_again(
                history,
                &p.snapshot,
                &self.settings.answers,
                self.settings.trust_answers,
            );
            let Ok(id) = written else { return };
            let p = self.pending.pop_front().expect("looked at just above");
            done(Some(Recorded {
                udid: p.udid,
                run: p.run,
                history_id: Some(id),
                warnings: vec![format!(
                    "synccheck: {}: the history server is back; this scan is recorded now",
                    p.phone
                )],
                later: true,
            }));
        }
    }

    /// At the end of `watch`: the scans still waiting are said, not dropped silently.
    fn give_up(&mut self, done: &impl Fn(Option<Recorded>)) {
        for p in self.pending.drain(..) {
            done(Some(Recorded {
                udid: p.udid,
                run: p.run,
                history_id: None,
                warnings: vec![format!(
                    "synccheck: warning: {}: the history server is still out of reach; this scan was not recorded",
                    p.phone
                )],
                later: true,
            }));
        }
    }

    fn keep(&mut self, job: Job) -> Recorded {
        let Job {
            udid,
            run,
            phone,
            snapshot,
            judged,
        } = job;
        let mut warnings = Vec::new();
        let settings = &mut self.settings;
        let mut unreachable = false;
        let history_id = settings.history.as_mut().and_then(|h| {
            judged
                .record(h, &snapshot, &settings.answers, settings.trust_answers)
                .map_err(|e| {
                    unreachable = e.is_unreachable();
                    let later = if unreachable {
                        "; it is kept and recorded when the server is back"
                    } else {
                        ""
                    };
                    warnings.push(format!(
                        "synccheck: warning: {phone}: this scan was not recorded: {e}{later}"
                    ))
                })
                .ok()
        });
        if let Some(dir) = &settings.json_dir {
            let stem = match (judged.reported_udid(), settings.redact) {
                (Some(udid), false) => udid.to_string(),
                _ => format!("phone{}", history_id.unwrap_or_default()),
            };
            if let Err(e) = dir.write(&stem, &judged.shown()) {
                warnings.push(format!(
                    "synccheck: warning: {phone}: the JSON report was not written: {e}"
                ));
            }
        }
        if unreachable {
            if self.pending.len() == PENDING_AT_MOST {
                if let Some(dropped) = self.pending.pop_front() {
                    warnings.push(format!(
                        "synccheck: warning: {}: too many scans wait for the history server; that one's scan will not be recorded",
                        dropped.phone
                    ));
                }
            }
            self.pending.push_back(Pending {
                udid: udid.clone(),
                run,
                phone,
                snapshot,
                judged,
            });
        }
        Recorded {
            udid,
            run,
            history_id,
            warnings,
            later: false,
        }
    }
}
