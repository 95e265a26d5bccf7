//! `watch`'s one writer: a thread of its own that records each judged scan in the history and
//! writes its `--json-dir` report (SQLite transactions, fsync and rename), so a slow disk or a
//! locked database never stalls the event loop, other phones' status lines or Ctrl-C.
//!
//! One thread, one queue: scans are recorded one at a time in the order they were judged (the
//! history keeps a single writer), and a phone's JSON report is written after its record, whose
//! number names the file under `--redact`. What happened comes back to the loop as an event.

use std::sync::mpsc;

use synccheck::history::History;
use synccheck::report::DeviceReport;
use synccheck::snapshot::Snapshot;

use super::json_dir::JsonDir;

/// One judged scan to keep.
pub struct Job {
    pub udid: String,
    pub run: u64,
    /// How warnings name the phone: its number on the board, never its UDID (`--redact`).
    pub phone: String,
    pub snapshot: Snapshot,
    /// Judged unredacted: the shop's history keeps serials; the JSON report is redacted here
    /// when asked to.
    pub report: DeviceReport,
}

/// What became of a [`Job`].
pub struct Recorded {
    pub udid: String,
    pub run: u64,
    /// The history's row, when the scan was recorded.
    pub history_id: Option<i64>,
    /// Lines for the board: what could not be recorded or written, and why.
    pub warnings: Vec<String>,
}

/// What the writer needs besides each job.
pub struct Settings {
    pub history: Option<History>,
    pub json_dir: Option<JsonDir>,
    pub answers: Vec<String>,
    pub trust_answers: bool,
    pub redact: bool,
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
                let mut settings = settings;
                for job in queue {
                    done(Some(settings.keep(job)));
                }
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

impl Settings {
    fn keep(&mut self, job: Job) -> Recorded {
        let Job {
            udid,
            run,
            phone,
            snapshot,
            mut report,
        } = job;
        let mut warnings = Vec::new();
        let history_id = self.history.as_mut().and_then(|h| {
            h.record(&snapshot, &report, &self.answers, self.trust_answers)
                .map_err(|e| {
                    warnings.push(format!(
                        "synccheck: warning: {phone}: this scan was not recorded: {e}"
                    ))
                })
                .ok()
        });
        if let Some(dir) = &self.json_dir {
            let stem = match (&report.facts.identity.udid, self.redact) {
                (Some(udid), false) => udid.clone(),
                _ => format!("phone{}", history_id.unwrap_or_default()),
            };
            if self.redact {
                synccheck::report::redact(&mut report.facts);
            }
            if let Err(e) = dir.write(&stem, &report) {
                warnings.push(format!(
                    "synccheck: warning: {phone}: the JSON report was not written: {e}"
                ));
            }
        }
        Recorded {
            udid,
            run,
            history_id,
            warnings,
        }
    }
}
