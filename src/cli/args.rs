use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Reads an iPhone and tells you why iCloud Photos is not syncing.
#[derive(Debug, Parser)]
#[command(name = "synccheck", version, about, propagate_version = true)]
pub struct Cli {
    /// More logging on stderr (-v debug, -vv trace); SYNCCHECK_LOG=filter for finer control.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read every attached iPhone (or the one named) and evaluate the iCloud Photos checklist.
    Scan(ScanArgs),
    /// Bench mode: scan every iPhone as it is plugged in, until Ctrl-C.
    Watch(WatchArgs),
    /// List attached iPhones: UDID, name, model, iOS, USB or network, paired or not.
    List(ListArgs),
    /// Ask an iPhone to trust this computer (it shows "Trust This Computer?").
    Pair(PairArgs),
    /// List past scans, or reprint one (`history show ID`).
    History(HistoryArgs),
    /// Make the customer's printable HTML sheet from a snapshot or a saved JSON report.
    Report(ReportFromArgs),
    /// Serve simulated iPhones behind a usbmuxd-compatible socket until Ctrl-C.
    Sim(SimArgs),
    /// Start the built-in simulated iPhone and scan it: try synccheck with no phone.
    Demo(DemoArgs),
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// A snapshot to serve as one phone; repeat for several. Default: the built-in demo phone.
    #[arg(long = "snapshot", value_name = "FILE")]
    pub snapshots: Vec<PathBuf>,

    /// The Unix socket to listen on. Default: synccheck-sim-<pid>.sock in the temp directory.
    #[arg(long, value_name = "PATH", conflicts_with = "listen")]
    pub socket: Option<PathBuf>,

    /// Listen on TCP instead, e.g. 127.0.0.1:27015 (loopback only: the simulator hands out
    /// pair records with private keys to whoever connects).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,

    /// Make a phone misbehave: MODE[=VALUE][@N], N the device number in --snapshot order (all
    /// devices without @N); repeat to combine. Modes: not-paired, user-denied,
    /// password-protected, unplug-after=N, replug-after=N, latency=MS, garbage, huge-length,
    /// slow-tls, afc-denied=PATH, torn-db, not-sqlite-db, growing-db, impostor-certificate,
    /// plist-bomb, deep-plist, afc-plist-bomb. While it runs, type `unplug N` or `plug N` on
    /// stdin to pull phone N off the bus or plug it back in.
    #[arg(long = "fault", value_name = "MODE[=VALUE][@N]")]
    pub faults: Vec<synccheck::sim::FaultSpec>,

    /// With `--fault not-paired`: the simulated user taps Trust this many seconds after the
    /// first Pair request. Default: never.
    #[arg(long, value_name = "SECS")]
    pub trust_after: Option<u64>,

    /// Serve each snapshot's UniqueDeviceID exactly as written (usbmuxd's SerialNumber too),
    /// even repeated or malformed: a tampered phone, for testing. By default a repeated UDID
    /// gets a distinct successor and a malformed one a made-up UDID.
    #[arg(long)]
    pub exact_udids: bool,

    /// Serve every value exactly as captured. By default each snapshot is replayed as if it
    /// were captured now: its dates (the phone's clock, last backup, last sync, photos waiting
    /// since…) move forward by the time since its capture, so ages read the same on any day.
    #[arg(long)]
    pub as_captured: bool,
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Evaluate a saved snapshot, `ideviceinfo -x` output or `pymobiledevice3 lockdown info`
    /// JSON instead of a connected phone. Repeat for several phones.
    #[arg(long = "from", value_name = "FILE", conflicts_with_all = ["udid", "save_snapshot"])]
    pub from: Vec<PathBuf>,

    /// Scan only the iPhone with this UDID (default: every attached iPhone).
    #[arg(long, value_name = "UDID")]
    pub udid: Option<String>,

    /// Write what was read as a snapshot, to replay with `scan --from` or serve with `sim`.
    /// With several phones, each file gets the phone's UDID before the extension.
    #[arg(long, value_name = "FILE")]
    pub save_snapshot: Option<PathBuf>,

    /// Do not copy the photo library database (the iCloud Photos engine's state files are
    /// still read): faster on a large library, but `photos-upload` is then left to you.
    #[arg(long)]
    pub no_photo_library: bool,

    #[command(flatten)]
    pub html: HtmlArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub trust: TrustArgs,

    #[command(flatten)]
    pub db: DbArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Also write each finished scan's JSON report here, as <UDID>-<time>.json (with --redact:
    /// phone<N>-<time>.json). The directory is created if missing.
    #[arg(long, value_name = "DIR")]
    pub json_dir: Option<PathBuf>,

    /// Do not copy the photo library database (see `scan --no-photo-library`).
    #[arg(long)]
    pub no_photo_library: bool,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub trust: TrustArgs,

    #[command(flatten)]
    pub db: DbArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// The customer's sheet.
#[derive(Debug, clap::Args)]
pub struct HtmlArgs {
    /// Also write the customer's one-page HTML sheet here (print it from a browser). With
    /// several phones, each file gets the phone's UDID (or its number, with --redact) before
    /// the extension.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ReportFromArgs {
    /// A snapshot (or an import `scan --from` reads), or a JSON report (`--json` output,
    /// `watch --json-dir` files).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,

    /// Where to write the HTML sheet.
    #[arg(long, value_name = "FILE", required = true)]
    pub html: PathBuf,

    /// Answer a step the phone cannot report (snapshots only: a JSON report is already judged).
    #[arg(long = "answer", value_name = "CHECK=VALUE")]
    pub answers: Vec<String>,

    /// Let an --answer decide a step even where the phone's own evidence says otherwise.
    #[arg(long)]
    pub trust_answers: bool,

    /// A TOML file overriding the pass/warn/fail limits (snapshots only).
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,

    /// Hide the serial number, UDID, device name and Wi-Fi address.
    #[arg(long)]
    pub redact: bool,
}

/// Where the scan history lives.
#[derive(Debug, clap::Args)]
pub struct DbArgs {
    /// The history database. Default: SYNCCHECK_DB, else history.sqlite in the user's data
    /// directory (~/.local/share/synccheck on Linux, ~/Library/Application Support/synccheck on
    /// macOS).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub show: Option<HistoryCommand>,

    /// Only this phone's scans.
    #[arg(long, value_name = "UDID")]
    pub udid: Option<String>,

    /// Hide serial numbers, UDIDs and device names.
    #[arg(long)]
    pub redact: bool,

    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Reprint the report of one past scan (its snapshot evaluated again, with its answers).
    Show {
        /// The scan's number, as `synccheck history` lists it.
        id: i64,

        #[command(flatten)]
        db: DbArgs,

        #[command(flatten)]
        html: HtmlArgs,

        #[command(flatten)]
        report: ReportArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Hide each phone's UDID and name (phones are then told apart by their number).
    #[arg(long)]
    pub redact: bool,
}

#[derive(Debug, clap::Args)]
pub struct PairArgs {
    /// Pair only the iPhone with this UDID (default: every attached iPhone).
    #[arg(long, value_name = "UDID")]
    pub udid: Option<String>,

    /// Hide each phone's UDID in what is printed (phones are then told apart by their number).
    #[arg(long)]
    pub redact: bool,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub trust: TrustArgs,
}

/// How to reach usbmuxd and how long to wait for a phone.
#[derive(Debug, clap::Args)]
pub struct ConnectionArgs {
    /// usbmuxd's address: UNIX:/path, /path, unix:///path or host:port. Default: the
    /// USBMUXD_SOCKET_ADDRESS environment variable, else /var/run/usbmuxd.
    #[arg(long, value_name = "ADDR")]
    pub usbmuxd: Option<String>,

    /// Seconds to wait for any one answer from usbmuxd or a phone.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = positive_seconds)]
    pub timeout: f64,
}

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// Seconds to wait for someone to tap Trust on a phone that does not trust this computer.
    #[arg(long, value_name = "SECS", default_value_t = 60.0, value_parser = positive_seconds)]
    pub trust_timeout: f64,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!(
            "\"{s}\" is not a number of seconds between 0 and 86400"
        )),
    }
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub report: ReportArgs,
}

/// How findings are decided and printed; shared by every command that prints a report.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Print the versioned JSON report (schema synccheck.report/1) instead of text.
    #[arg(long)]
    pub json: bool,

    /// Answer a step the phone cannot report, e.g. icloud-photos=on or icloud-storage=full.
    #[arg(long = "answer", value_name = "CHECK=VALUE")]
    pub answers: Vec<String>,

    /// Let an --answer decide a step even where the phone's own evidence says otherwise.
    #[arg(long)]
    pub trust_answers: bool,

    /// A TOML file overriding the pass/warn/fail limits (see docs/guide.md, "Thresholds").
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,

    /// Hide the serial number, UDID, device name and Wi-Fi address (for reports that leave the shop).
    #[arg(long)]
    pub redact: bool,

    /// When to colour the text report.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}
