//! What the commands that talk to phones share: reaching usbmuxd, choosing phones, the runtime,
//! and the status line a technician watches while a phone is read.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use synccheck_device::photos::PhotoScope;
use synccheck_device::{
    AttachedDevice, DeviceError, Progress, ScanOptions, TrustWait, Usbmuxd, UsbmuxdAddress,
};

use super::args::{ConnectionArgs, LimitArgs, PhotoRead, TrustArgs};
use super::error::CliError;

pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

pub fn usbmuxd(args: &ConnectionArgs) -> Result<Usbmuxd, CliError> {
    let addr = UsbmuxdAddress::resolve(args.usbmuxd.as_deref())?;
    tracing::debug!(%addr, "usbmuxd");
    Ok(Usbmuxd::new(addr, Duration::from_secs_f64(args.timeout)))
}

pub fn options(
    connection: &ConnectionArgs,
    trust: &TrustArgs,
    limits: Option<&LimitArgs>,
    photos: PhotoScope,
) -> ScanOptions {
    let mut options = ScanOptions {
        timeout: Duration::from_secs_f64(connection.timeout),
        trust_timeout: Duration::from_secs_f64(trust.trust_timeout),
        photos,
        ..ScanOptions::default()
    };
    if let Some(limits) = limits {
        options.deadline = Duration::from_secs_f64(limits.deadline);
        options.disk_budget = limits.disk_budget;
    }
    options
}

/// What a scan reads over AFC: `--no-photo-library` keeps the engine's state files and skips
/// the library; `--photo-read copy` copies it whole instead of reading it in place.
pub fn photo_scope(no_photo_library: bool, limits: &LimitArgs) -> PhotoScope {
    match (no_photo_library, limits.photo_read) {
        (true, _) => PhotoScope::StateFiles,
        (false, PhotoRead::InPlace) => PhotoScope::Everything,
        (false, PhotoRead::Copy) => PhotoScope::EverythingByCopy,
    }
}

/// The attached phones, or just the one named; none at all is an error.
pub async fn select(mux: &Usbmuxd, udid: Option<&str>) -> Result<Vec<AttachedDevice>, DeviceError> {
    let all = mux.list_devices().await?;
    let chosen: Vec<_> = match udid {
        Some(u) => all
            .into_iter()
            .filter(|d| d.udid.eq_ignore_ascii_case(u))
            .collect(),
        None => all,
    };
    match (chosen.is_empty(), udid) {
        (true, Some(u)) => Err(DeviceError::UnknownDevice(u.to_string())),
        (true, None) => Err(DeviceError::NoDevice),
        (false, _) => Ok(chosen),
    }
}

/// Status lines on stderr: spinners on a terminal, plain lines (only what needs a person)
/// otherwise, so logs and pipes stay readable.
pub struct StatusBoard {
    multi: Option<MultiProgress>,
}

impl StatusBoard {
    pub fn new() -> Self {
        StatusBoard {
            multi: std::io::stderr().is_terminal().then(MultiProgress::new),
        }
    }

    /// A phone's line; `label` names it (its UDID, which the phone chose: made printable).
    pub fn line(&self, label: String) -> StatusLine {
        let label = synccheck_wire::phone_text::printable(&label).into_owned();
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            bar.set_style(spinner_style());
            bar.set_prefix(label.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        StatusLine {
            bar,
            label,
            last: None,
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix}: {msg}").expect("a valid template")
}

pub struct StatusLine {
    bar: Option<ProgressBar>,
    label: String,
    last: Option<Progress>,
}

impl StatusLine {
    pub fn update(&mut self, p: Progress) {
        if self.last == Some(p) {
            return;
        }
        let was_copying = matches!(self.last, Some(Progress::CopyingLibrary { .. }));
        self.last = Some(p);
        if let Progress::CopyingLibrary { copied, total } = p {
            // A bar in place of the spinner while the library copies; nothing without a terminal.
            if let Some(bar) = &self.bar {
                if !was_copying {
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix}: reading the photo library [{bar:30}] {bytes} of about {total_bytes} {bytes_per_sec}",
                        )
                        .expect("a valid template")
                        .progress_chars("=> "),
                    );
                }
                bar.set_length(total);
                bar.set_position(copied);
            }
            return;
        }
        if was_copying {
            if let Some(bar) = &self.bar {
                bar.set_style(spinner_style());
            }
        }
        let msg = match p {
            Progress::Scanning => "reading…",
            Progress::Pairing => "asking the iPhone to trust this computer…",
            Progress::WaitingForTrust(TrustWait::Dialog) => {
                "Unlock the iPhone and tap Trust, then enter its passcode"
            }
            Progress::WaitingForTrust(TrustWait::Unlock) => {
                "Unlock the iPhone (it is locked with a passcode) so it can show the Trust dialog"
            }
            Progress::CopyingLibrary { .. } => unreachable!("handled above"),
        };
        match &self.bar {
            Some(bar) => bar.set_message(msg),
            // Without a terminal only what needs a person is worth a line.
            None if matches!(p, Progress::WaitingForTrust(_)) => eprintln!("{}: {msg}", self.label),
            None => {}
        }
    }

    /// Clears the line: the report (or the error) that follows says how it went.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Reads every phone at once; one phone's trouble (a Trust dialog, an unplug) never holds up
/// another.
pub async fn read_all(
    mux: &Usbmuxd,
    devices: &[AttachedDevice],
    options: ScanOptions,
    board: &StatusBoard,
    redact: bool,
) -> Vec<Result<synccheck_core::snapshot::Snapshot, DeviceError>> {
    let jobs = devices.iter().enumerate().map(|(i, d)| {
        let label = match redact {
            true => super::phones::label(&d.udid, i + 1, true),
            false => d.udid.clone(),
        };
        let mut line = board.line(label);
        async move {
            let result = synccheck_device::read_phone(mux, d, options, |p| line.update(p)).await;
            line.finish();
            result
        }
    });
    futures::future::join_all(jobs).await
}

/// stdin, line by line, read on a plain thread: a blocking read must never hold up shutdown.
/// At end of input the channel closes (a `select!` branch on it then stays disabled).
pub fn stdin_lines() -> tokio::sync::mpsc::Receiver<String> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Ctrl-C, or SIGTERM from a test harness or service manager: both end serving cleanly so sockets and temporary
/// files are removed. Returns the exit code a shell gives a process the signal ended: 128 +
/// the signal's number.
pub async fn wait_for_stop() -> i32 {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => 128 + 2,
        _ = term => 128 + 15,
    }
}
