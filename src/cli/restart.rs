//! `synccheck restart`: scan the phone (the "before"), ask it to restart, wait for it to come
//! back on usbmuxd and to be unlocked, scan it again, and compare. The after scan is recorded
//! with the `restart` step answered `done`.

use std::time::Duration;

use synccheck_core::checklist::Answers;
use synccheck_core::snapshot::Snapshot;
use synccheck_device::restart::{self, RestartProgress, UnlockWait};
use synccheck_device::{AttachedDevice, DeviceError, ScanOptions, Usbmuxd, UsbmuxdAddress};
use synccheck_history::{judge, judge_and_record, History, Judging};
use synccheck_report::{before_after, pipeline, DeviceReport};

use super::args::RestartArgs;
use super::error::CliError;
use super::live::{self, StatusBoard};
use super::phones::{self, Failures, Phone};
use super::report;

/// The answer the after scan is judged and recorded with.
const RESTART_DONE: &str = "restart=done";

/// The longest wait for any one answer, as `scan --timeout` defaults to; shorter when the whole
/// restart is given less.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(args: RestartArgs) -> Result<i32, CliError> {
    let redact = args.report.redact;
    if redact {
        synccheck_core::privacy::hide_identifiers();
    }
    let back_within = Duration::from_secs_f64(args.timeout);
    let answer_timeout = ANSWER_TIMEOUT.min(back_within);
    let mux = Usbmuxd::new(
        UsbmuxdAddress::resolve(args.usbmuxd.as_deref())?,
        answer_timeout,
    );
    let before_ctx = report::context(&args.report)?;
    let mut after_answers: Vec<String> = args
        .report
        .answers
        .iter()
        .filter(|a| !a.trim_start().starts_with("restart"))
        .cloned()
        .collect();
    after_answers.push(RESTART_DONE.into());
    let mut after_ctx = before_ctx.clone();
    after_ctx.answers = Answers::parse(&after_answers)?;
    let options = ScanOptions {
        timeout: answer_timeout,
        trust_timeout: Duration::from_secs_f64(args.trust.trust_timeout),
        photos: live::photo_scope(args.no_photo_library, &args.limits),
        deadline: Duration::from_secs_f64(args.limits.deadline),
        disk_budget: args.limits.disk_budget,
    };

    let runtime = live::runtime()?;
    let device = runtime.block_on(phones::one(&mux, args.udid.as_deref(), "restart"))?;
    // Where the report says the values came from, as `scan` says it.
    let origin = device.connection.map(|c| c.as_str()).unwrap_or("usbmuxd");
    let name = phones::label(&device.udid, 1, redact);
    // The phone's words (an engine's blocked reason, its UDID) reach the terminal escaped.
    let say = |msg: &str| {
        let line = format!("{name}: {msg}");
        eprintln!(
            "synccheck: {}",
            synccheck_wire::phone_text::printable(&line)
        )
    };
    let mut failures = Failures::new(redact);
    let phone = Phone::Attached {
        udid: &device.udid,
        position: 1,
    };
    let mut history = match super::history::open_to_record(&args.db) {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("synccheck: warning: scans will not be recorded: {e}");
            None
        }
    };

    let flow = async {
        say("scanning before the restart…");
        let before_snap = scan(&mux, &device, options, redact).await?;
        let judging = Judging {
            ctx: &before_ctx,
            answers: &args.report.answers,
            trust_answers: args.report.trust_answers,
            redact,
        };
        let before = judge_and_record(
            history.as_mut(),
            &before_snap,
            &device.udid,
            origin,
            &judging,
        );
        warn_unrecorded(&before.recorded, "the scan before the restart");
        say(&format!("before: {}", summary(&before.report)));

        say("asking the iPhone to restart…");
        let back = restart::restart_and_wait(&mux, &device, answer_timeout, back_within, |p| {
            say(match p {
                RestartProgress::Accepted => "restarting; waiting for it to come back",
                RestartProgress::Away => "it has gone down; waiting for it to start up again",
                RestartProgress::Back => "it is back on usbmuxd",
            })
        })
        .await?;
        if args.no_rescan {
            return Ok(Outcome::Back(Box::new(before.report)));
        }

        let unlock_within = Duration::from_secs_f64(args.trust.trust_timeout);
        // Each kind of wait is said once, when it starts: a locked phone is asked every half
        // second, and a refused service is the same request to the technician.
        let mut last: Option<bool> = None;
        restart::wait_until_unlocked(&mux, &back, answer_timeout, unlock_within, |wait| {
            let locked = !matches!(wait, UnlockWait::Starting);
            if last != Some(locked) {
                say(&match locked {
                    false => "waiting for it to finish starting up…".to_string(),
                    true => format!(
                        "unlock the iPhone with its passcode: after a restart it keeps its data locked until then (waiting up to {} s)",
                        unlock_within.as_secs()
                    ),
                });
                last = Some(locked);
            }
        })
        .await?;

        say("scanning again…");
        let after_snap = scan(&mux, &back, options, redact).await?;
        Ok(Outcome::Rescanned {
            before: Box::new(before.report),
            before_snap: Box::new(before_snap),
            after_snap: Box::new(after_snap),
        })
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = flow => Ok(outcome),
            code = live::wait_for_stop() => Err(code),
        }
    });
    let outcome = match outcome {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => {
            failures.add(0, phone, CliError::Device(e));
            return Ok(failures.finish(0));
        }
        Err(code) => {
            eprintln!("synccheck: stopped before the restart finished; the scan after it was not made or recorded.");
            return Ok(code);
        }
    };
    match outcome {
        Outcome::Back(before) => {
            say("back; not scanning again (--no-rescan). The report is the scan before the restart.");
            report::print(&args.report, &[*before])
        }
        Outcome::Rescanned {
            before,
            before_snap,
            after_snap,
        } => {
            let report = after(
                history.as_mut(),
                &before_snap,
                &after_snap,
                &after_ctx,
                &after_answers,
                origin,
                &args,
            );
            let code = report::print(&args.report, std::slice::from_ref(&report))?;
            let lines = before_after::lines(&before_after::compare(&before, &report));
            let heading = "\nBefore and after the restart:";
            if args.report.json {
                // stdout holds only the JSON report.
                eprintln!("{heading}");
                lines.iter().for_each(|l| eprintln!("{l}"));
            } else {
                println!("{heading}");
                lines.iter().for_each(|l| println!("{l}"));
            }
            Ok(code)
        }
    }
}

enum Outcome {
    /// `--no-rescan`: the phone is back; the report is the one before.
    Back(Box<DeviceReport>),
    Rescanned {
        before: Box<DeviceReport>,
        before_snap: Box<Snapshot>,
        after_snap: Box<Snapshot>,
    },
}

/// One scan with the status line a technician watches (Trust, the library copy).
async fn scan(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    options: ScanOptions,
    redact: bool,
) -> Result<Snapshot, DeviceError> {
    let board = StatusBoard::new();
    let mut results =
        live::read_all(mux, std::slice::from_ref(device), options, &board, redact).await;
    results.remove(0)
}

/// Judges the after scan, compared with the scan before the restart (not the history's last,
/// which may be an older scan when the before could not be recorded), and records it with the
/// `restart` step done; returns the report to show.
fn after(
    history: Option<&mut History>,
    before: &Snapshot,
    after: &Snapshot,
    ctx: &synccheck_core::checklist::Context,
    answers: &[String],
    origin: &str,
    args: &RestartArgs,
) -> DeviceReport {
    let earlier = pipeline::earlier_scan("the scan before the restart", before);
    let judging = Judging {
        ctx,
        answers,
        trust_answers: args.report.trust_answers,
        redact: args.report.redact,
    };
    let judged = judge(after, origin, earlier.as_ref(), &judging);
    if let Some(history) = history {
        let recorded = judged.record(history, after, answers, args.report.trust_answers);
        warn_unrecorded(&Some(recorded), "the scan after the restart");
    }
    judged.shown()
}

fn warn_unrecorded(recorded: &Option<Result<i64, synccheck_history::HistoryError>>, what: &str) {
    if let Some(Err(e)) = recorded {
        let why = e.to_string();
        eprintln!(
            "synccheck: warning: {what} was not recorded: {}",
            synccheck_wire::phone_text::printable(&why)
        );
    }
}

/// "verdict: warn; waiting to upload: 1,204 photos (4.1 GB); iCloud Photos engine: …".
fn summary(report: &DeviceReport) -> String {
    let changes = before_after::compare(report, report);
    changes
        .iter()
        .take(3)
        .map(|c| format!("{}: {}", c.what, c.after))
        .collect::<Vec<_>>()
        .join("; ")
}
