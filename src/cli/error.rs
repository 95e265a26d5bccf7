use std::path::PathBuf;

use synccheck_core::checklist::AnswerError;
use synccheck_core::snapshot::SnapshotError;
use synccheck_device::{AddressError, DeviceError};
use synccheck_history::HistoryError;
use synccheck_sim::SimError;

/// Exit codes beyond 0 (all pass or manual) and 1 (a warn or fail); documented in docs/guide.md.
pub mod exit {
    pub const USAGE_OR_INPUT: i32 = 2;
    pub const NO_USBMUXD: i32 = 3;
    pub const NO_DEVICE: i32 = 4;
    pub const TRUST_TIMED_OUT: i32 = 5;
    pub const USER_DENIED: i32 = 6;
    pub const PASSCODE_LOCKED: i32 = 7;
    pub const DEVICE_FAILED: i32 = 8;
    /// `restart`: the phone did not go down, or did not come back, within `--timeout`.
    pub const NOT_BACK: i32 = 10;
}

/// Everything that stops a command, each printed as one sentence and a hint.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error("{path}: {detail}")]
    Thresholds { path: PathBuf, detail: String },
    #[error("cannot write the report: {0}")]
    Output(std::io::Error),
    #[error("cannot write the snapshot {path}: {source}")]
    SaveSnapshot {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the simulator cannot start: {0}")]
    Sim(#[from] SimError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Address(#[from] AddressError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    History(#[from] synccheck_history::HistoryError),
    #[error("{path}: {source}")]
    Document {
        path: PathBuf,
        source: synccheck_report::document::DocumentError,
    },
    #[error("cannot make the HTML sheet {path}: {source}")]
    Html {
        path: PathBuf,
        source: synccheck_report::html::HtmlError,
    },
    #[error("cannot write the HTML sheet {path}: {source}")]
    WriteHtml {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl CliError {
    /// The reader of stdout went away (`synccheck history | head -2`): nothing to report.
    pub fn is_closed_pipe(&self) -> bool {
        matches!(self, CliError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Device(e) => device_exit_code(e),
            _ => exit::USAGE_OR_INPUT,
        }
    }

    /// Prints the error as the CLI's one sentence and a hint, on stderr. The sentence may
    /// quote a phone (its UDID, an error it sent): made printable, never raw on the terminal.
    pub fn print(&self) {
        let line = self.to_string();
        eprintln!(
            "synccheck: error: {}",
            synccheck_wire::phone_text::printable(&line)
        );
        if let Some(hint) = self.hint() {
            eprintln!("  hint: {hint}");
        }
    }

    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            CliError::Snapshot(SnapshotError::Io { .. }) => "check the path and that you may read the file",
            CliError::Snapshot(SnapshotError::NotAFile { .. }) => {
                "give the path of a saved snapshot file, not a pipe, device or folder"
            }
            CliError::Snapshot(SnapshotError::TooLarge { .. }) => {
                "check the path: a snapshot is a few hundred kilobytes"
            }
            CliError::Snapshot(SnapshotError::Unrecognised { .. })
            | CliError::Snapshot(SnapshotError::BadPlist { .. })
            | CliError::Snapshot(SnapshotError::BadJson { .. })
            | CliError::Snapshot(SnapshotError::Empty { .. }) => {
                "expected a synccheck snapshot, `ideviceinfo -x` output or `pymobiledevice3 lockdown info` JSON"
            }
            CliError::Snapshot(SnapshotError::Shape { key, .. }) if key == "SnapshotVersion" => {
                "a newer synccheck saved this snapshot: read it with that version, or update this one"
            }
            // The layout of the file itself: the phone's own values never stop a report.
            CliError::Snapshot(SnapshotError::Shape { .. }) => {
                "the file is not laid out as a synccheck snapshot; save it again with `synccheck scan --save-snapshot`, or fix that key"
            }
            CliError::Snapshot(SnapshotError::PlistLimit { .. }) => {
                "the file nests or repeats values far beyond anything a phone sends; it is no capture"
            }
            CliError::Answer(_) => {
                "`synccheck scan --help` lists every check --answer takes and its words"
            }
            CliError::Thresholds { .. } => "see \"Thresholds\" in docs/guide.md for the keys and ranges",
            CliError::Sim(SimError::InUse(_)) => "stop the other simulator, or give another --socket",
            CliError::Sim(_) => "run with -v for details",
            CliError::Usage(_) => "see `synccheck --help`",
            CliError::Address(_) => "for example --usbmuxd UNIX:/var/run/usbmuxd or --usbmuxd 127.0.0.1:27015",
            CliError::Device(e) => return device_hint(e),
            CliError::History(HistoryError::NoFolder(_)) => {
                "check --db (or SYNCCHECK_DB) for a typo; only the default history's folder is created for you"
            }
            CliError::History(HistoryError::Missing(_)) => {
                "check --db (or SYNCCHECK_DB) for a typo; a live scan creates the history the first time it records one"
            }
            CliError::History(HistoryError::NotAFile { .. }) => {
                "give --db (or SYNCCHECK_DB) the path of a history database file"
            }
            CliError::History(HistoryError::BadUrl(_)) => {
                "give --db (or SYNCCHECK_DB) a file path or a URL such as postgres://bench@server:5432/synccheck (docs/shared-history.md)"
            }
            CliError::History(HistoryError::Tls(_)) => {
                "set PGSSLROOTCERT to the PEM file of the CA that signed the server's certificate (docs/shared-history.md, \"TLS\")"
            }
            CliError::History(HistoryError::Postgres { .. }) => {
                "check that the server runs and accepts this bench, and the URL, PGUSER and PGPASSWORD (docs/shared-history.md)"
            }
            CliError::History(_) => "check --db (or SYNCCHECK_DB) and that the file is writable",
            CliError::Document { .. } => {
                "give a synccheck snapshot, or a JSON report made by `synccheck scan --json` or `watch --json-dir`"
            }
            CliError::WriteHtml { .. } => "check that the folder exists and is writable",
            CliError::Html { .. } => "please report this: the page template failed",
            CliError::Output(_) | CliError::Runtime(_) | CliError::SaveSnapshot { .. } => return None,
        })
    }
}

fn device_exit_code(e: &DeviceError) -> i32 {
    use DeviceError::*;
    match e {
        NoUsbmuxd(_) | UsbmuxdPermission(_) | UsbmuxdIo { .. } => exit::NO_USBMUXD,
        NoDevice | UnknownDevice(_) => exit::NO_DEVICE,
        TrustTimedOut(_) | TrustPending => exit::TRUST_TIMED_OUT,
        UserDenied => exit::USER_DENIED,
        PasscodeLocked => exit::PASSCODE_LOCKED,
        DidNotRestart(_) | DidNotReturn(_) => exit::NOT_BACK,
        _ => exit::DEVICE_FAILED,
    }
}

pub(super) fn device_hint(e: &DeviceError) -> Option<&'static str> {
    use DeviceError::*;
    Some(match e {
        NoUsbmuxd(_) if cfg!(target_os = "macos") => {
            "usbmuxd is part of macOS: check --usbmuxd and USBMUXD_SOCKET_ADDRESS, or run `synccheck demo` to try the simulator"
        }
        NoUsbmuxd(_) => {
            "start usbmuxd: sudo systemctl start usbmuxd (install it with: sudo apt-get install usbmuxd); or run `synccheck demo` to try the simulator"
        }
        UsbmuxdPermission(_) => "run synccheck with sudo, or as a user allowed on the usbmuxd socket",
        UsbmuxdIo { .. } => "check --usbmuxd and USBMUXD_SOCKET_ADDRESS",
        NoDevice => "plug the iPhone in with a data cable and unlock it; `synccheck list` shows what usbmuxd sees",
        UnknownDevice(_) => "`synccheck list` shows the UDIDs of the attached iPhones",
        TrustTimedOut(_) | TrustPending => {
            "unlock the iPhone, tap Trust and enter its passcode, then scan again (or give more --trust-timeout)"
        }
        UserDenied => "unplug and replug the iPhone so it asks again, and tap Trust this time",
        PasscodeLocked => "unlock the iPhone with its passcode, then scan again",
        NotPaired(_) | PairingInvalid => "run `synccheck pair` and tap Trust on the iPhone",
        Unplugged(_) => "keep the iPhone connected until the scan ends (check the cable), then scan again",
        Timeout { .. } => "the iPhone or cable may be slow: scan again, or give more --timeout",
        Garbage { .. } | Refused { .. } | Usbmuxd { .. } | Tls(_) => {
            "scan again; if it keeps failing, restart the iPhone (-v shows details)"
        }
        BadPairRecord(_) => "pair again: `synccheck pair` (the saved pairing is damaged)",
        NotThePairedPhone => {
            "do not trust this phone or cable; if the iPhone was erased or paired with another record, remove its pair record and run `synccheck pair`"
        }
        Unsendable { .. } => "this phone reports a malformed UDID: it may be tampered with; other phones are not affected",
        DidNotRestart(_) => {
            "restart it by hand (hold the side button and a volume button, slide to power off), then scan again"
        }
        DidNotReturn(_) => {
            "look at the screen: it may still be starting (then scan it when it is), stuck on the Apple logo, or off; check the cable, or give more --timeout"
        }
    })
}

/// Every `hint:` must point at something that exists: a `synccheck` command, an option some
/// command takes, a section of docs/guide.md, a file under docs/. The hints are read from this
/// file's own text, so a hint added later is checked too.
#[cfg(test)]
mod hint_tests {
    use clap::CommandFactory;

    const SOURCE: &str = include_str!("error.rs");
    const GUIDE: &str = include_str!("../../docs/guide.md");

    /// The quoted text of every hint in this file (its string literals in `hint` and
    /// `device_hint`), without this test module.
    fn hints() -> Vec<String> {
        let code = SOURCE.split("mod hint_tests").next().unwrap();
        let start = code.find("pub fn hint(").unwrap();
        let body = &code[start..];
        let mut hints = Vec::new();
        let mut rest = body;
        while let Some(open) = rest.find('"') {
            let after = &rest[open + 1..];
            let mut end = 0;
            let bytes = after.as_bytes();
            while end < bytes.len()
                && !(bytes[end] == b'"' && (end == 0 || bytes[end - 1] != b'\\'))
            {
                end += 1;
            }
            hints.push(after[..end].replace("\\\"", "\""));
            rest = &after[(end + 1).min(after.len())..];
        }
        hints
    }

    fn options_and_commands() -> (Vec<String>, Vec<String>) {
        let cli = super::super::args::Cli::command();
        let mut options: Vec<String> = Vec::new();
        let mut commands: Vec<String> = Vec::new();
        let mut stack = vec![cli];
        while let Some(cmd) = stack.pop() {
            commands.push(cmd.get_name().to_string());
            options.extend(
                cmd.get_arguments()
                    .filter_map(|a| a.get_long().map(str::to_string)),
            );
            stack.extend(cmd.get_subcommands().cloned());
        }
        (options, commands)
    }

    #[test]
    fn hints_point_at_commands_options_and_sections_that_exist() {
        let hints = hints();
        assert!(hints.len() > 30, "the hints were found: {hints:?}");
        let (mut options, commands) = options_and_commands();
        // clap's own, on every command.
        options.extend(["help", "version"].map(String::from));
        for hint in &hints {
            for word in hint.split(|c: char| c.is_whitespace() || "`(),;:".contains(c)) {
                if let Some(option) = word.strip_prefix("--") {
                    let option = option.split('=').next().unwrap();
                    assert!(
                        options.iter().any(|o| o == option),
                        "hint {hint:?} names --{option}, which no command takes"
                    );
                }
            }
            let mut after = hint.as_str();
            // A command to type is in backquotes: `synccheck pair`.
            while let Some(i) = after.find("`synccheck ") {
                after = &after[i + "`synccheck ".len()..];
                let command: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase())
                    .collect();
                assert!(
                    command.is_empty() || commands.contains(&command),
                    "hint {hint:?} names `synccheck {command}`, which does not exist"
                );
            }
            // "Thresholds" in docs/guide.md: a heading of the guide.
            if let Some(i) = hint.find("\" in docs/guide.md") {
                let section = hint[..i].rsplit('"').next().unwrap();
                assert!(
                    GUIDE
                        .lines()
                        .any(|l| l.starts_with('#') && l.trim_start_matches('#').trim() == section),
                    "hint {hint:?} names a section \"{section}\" the guide does not have"
                );
            }
            for doc in hint.split_whitespace().filter(|w| w.starts_with("docs/")) {
                let doc = doc.trim_end_matches(|c: char| !c.is_alphanumeric());
                let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
                assert!(
                    path.exists(),
                    "hint {hint:?} names {doc}, which does not exist"
                );
            }
        }
    }

    #[test]
    fn the_answer_hint_is_kept_by_scan_help() {
        let mut cli = super::super::args::Cli::command();
        let help = cli
            .find_subcommand_mut("scan")
            .unwrap()
            .render_long_help()
            .to_string();
        for id in synccheck_core::checklist::CheckId::ALL {
            assert!(
                help.contains(id.as_str()),
                "`scan --help` lists {id:?}:\n{help}"
            );
        }
    }
}
