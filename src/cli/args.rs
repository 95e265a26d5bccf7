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
    /// Restart an iPhone from the bench: scan it, restart it, wait for it to come back and be
    /// unlocked, scan it again and compare.
    Restart(RestartArgs),
    /// Copy the photos and videos that are only on this iPhone (not yet in iCloud) into a folder.
    Rescue(RescueArgs),
    /// Print shell completions: `synccheck completions bash > ~/.local/share/bash-completion/completions/synccheck`.
    Completions(CompletionsArgs),
    /// Print the man page (roff): `synccheck man > ~/.local/share/man/man1/synccheck.1`.
    Man(ManArgs),
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
    /// plist-bomb, deep-plist, afc-plist-bomb, original-changes=PATH, original-vanishes=PATH,
    /// link=MBPS,RTT_MS (a USB link: every reply waits a round trip, AFC replies share the
    /// bandwidth). While it runs, type `unplug N` or `plug N` on stdin to pull phone N off the
    /// bus or plug it back in.
    /// Restart faults: locked-after-restart[=N], no-return-after-restart; `unlock N` on stdin
    /// enters phone N's passcode.
    #[arg(long = "fault", value_name = "MODE[=VALUE][@N]")]
    pub faults: Vec<synccheck_sim::FaultSpec>,

    /// With `--fault not-paired`: the simulated user taps Trust this many seconds after the
    /// first Pair request. Default: never.
    #[arg(long, value_name = "SECS")]
    pub trust_after: Option<u64>,

    /// Serve each snapshot's UniqueDeviceID exactly as written (usbmuxd's SerialNumber too),
    /// even repeated or malformed: a tampered phone, for testing. By default a repeated UDID
    /// gets a distinct successor and a malformed one a made-up UDID.
    #[arg(long)]
    pub exact_udids: bool,

    /// How large a Photos.sqlite to make from a snapshot's library summary: compact (only the
    /// tables the summary reads, the default) or realistic (the tables and sizes of a real
    /// library, about 7 KB an asset: 0.7 GB for 100,000 assets, served without holding it all).
    #[arg(long, value_name = "PROFILE", default_value = "compact")]
    pub library_profile: synccheck_sim::LibraryProfile,

    /// Serve every value exactly as captured. By default each snapshot is replayed as if it
    /// were captured now: its dates (the phone's clock, last backup, last sync, photos waiting
    /// since…) move forward by the time since its capture, so ages read the same on any day.
    #[arg(long)]
    pub as_captured: bool,

    /// FILE[@N]: once phone N (every phone without @N) restarts on diagnostics_relay's
    /// Restart, it serves the iCloud Photos engine's files and library of this snapshot: a
    /// fresh engine state after the restart.
    #[arg(long, value_name = "FILE[@N]")]
    pub after_restart: Vec<String>,
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

    /// Do not read the photo library database (the iCloud Photos engine's state files are
    /// still read): faster on a large library, but `photos-upload` is then left to you.
    #[arg(long)]
    pub no_photo_library: bool,

    #[command(flatten)]
    pub html: HtmlArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub trust: TrustArgs,

    #[command(flatten)]
    pub db: DbArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, clap::Args)]
pub struct RestartArgs {
    /// Restart the iPhone with this UDID (needed when several are attached).
    #[arg(long, value_name = "UDID")]
    pub udid: Option<String>,

    /// Stop once the iPhone is back on usbmuxd: no wait for the unlock, no second scan.
    #[arg(long)]
    pub no_rescan: bool,

    /// Seconds to wait for the iPhone to go down and come back on usbmuxd (a real one takes
    /// about a minute). Each answer from usbmuxd or the phone waits at most 10 s.
    #[arg(long, value_name = "SECS", default_value_t = 180.0, value_parser = positive_seconds)]
    pub timeout: f64,

    /// usbmuxd's address (see `scan --usbmuxd`).
    #[arg(long, value_name = "ADDR")]
    pub usbmuxd: Option<String>,

    /// Do not copy the photo library database (see `scan --no-photo-library`).
    #[arg(long)]
    pub no_photo_library: bool,

    /// Seconds to wait for Trust, and for the iPhone to be unlocked after its restart.
    #[command(flatten)]
    pub trust: TrustArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

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

    /// Do not read the photo library database (see `scan --no-photo-library`).
    #[arg(long)]
    pub no_photo_library: bool,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

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
    #[arg(long = "answer", value_name = "CHECK=VALUE", long_help = answer_help())]
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
    /// The history: a database file, or a PostgreSQL URL (postgres://user@host:5432/db, what
    /// it leaves out taken from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE)
    /// shared by several benches. Default: SYNCCHECK_DB, else history.sqlite in the user's data
    /// directory (~/.local/share/synccheck on Linux, ~/Library/Application Support/synccheck on
    /// macOS).
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,

    /// The bench recorded with each scan (default: this computer's host name); with
    /// `history`, only that bench's scans are listed.
    #[arg(long, value_name = "NAME")]
    pub bench: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub show: Option<HistoryCommand>,

    /// Only this phone's scans.
    #[arg(long, value_name = "UDID")]
    pub udid: Option<String>,

    /// Only the newest N scans.
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,

    /// Only scans from this day on (YYYY-MM-DD, UTC) or this time (2026-05-01T14:00:00Z).
    #[arg(long, value_name = "DATE", value_parser = since_date)]
    pub since: Option<i64>,

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
    /// List past `rescue` runs: the phone, what was asked, how many files were copied, already
    /// there or not rescued, and whether everything was rescued.
    Rescues {
        /// Only this phone's rescues.
        #[arg(long, value_name = "UDID")]
        udid: Option<String>,

        /// Only the newest N.
        #[arg(long, value_name = "N")]
        limit: Option<u32>,

        /// Only rescues from this day on (YYYY-MM-DD, UTC) or this time (2026-05-01T14:00:00Z).
        #[arg(long, value_name = "DATE", value_parser = since_date)]
        since: Option<i64>,

        /// Hide serial numbers, UDIDs and device names.
        #[arg(long)]
        redact: bool,

        #[command(flatten)]
        db: DbArgs,
    },
    /// Copy every scan of another history (a file or a URL) into this one (--db): how a
    /// bench's SQLite history moves into a shared server. Scans already there are skipped.
    Import {
        /// The history to copy from.
        #[arg(long = "from", value_name = "PATH|URL")]
        from: PathBuf,

        #[command(flatten)]
        db: DbArgs,
    },
}

/// `--since`: a day (midnight UTC) or an RFC 3339 time, as Unix seconds.
fn since_date(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(midnight) = day.and_hms_opt(0, 0, 0) {
            return Ok(midnight.and_utc().timestamp());
        }
    }
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|at| at.timestamp())
        .map_err(|_| format!("\"{s}\" is not a date: give YYYY-MM-DD or e.g. 2026-05-01T14:00:00Z"))
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Hide each phone's UDID and name (phones are then told apart by their number).
    #[arg(long)]
    pub redact: bool,

    /// Print the phones as JSON (an object with a `phones` array) instead of a table.
    #[arg(long)]
    pub json: bool,
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

/// What one phone's read may spend, whatever the phone says or however slowly it answers.
#[derive(Debug, clap::Args)]
pub struct LimitArgs {
    /// Seconds one phone's whole read may take (after any wait for Trust); past it the photo
    /// evidence is given up and the rest is reported. The default covers a 1 GB library over
    /// USB 2.0 several times over.
    #[arg(long, value_name = "SECS", default_value_t = synccheck_device::limits::DEFAULT_DEADLINE.as_secs_f64(), value_parser = positive_seconds)]
    pub deadline: f64,

    /// The most one phone's read may write to disk (the photo library copy), in bytes or with
    /// a decimal unit: 500M, 3G.
    #[arg(long, value_name = "SIZE", default_value = "3G", value_parser = byte_size)]
    pub disk_budget: u64,

    /// How the photo library is read: in place, page by page (the default), or copied whole
    /// first, as before issue 16. Hidden: for benchmarks comparing both in one run.
    #[arg(long, value_name = "HOW", default_value = "in-place", hide = true)]
    pub photo_read: PhotoRead,
}

/// See `LimitArgs::photo_read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PhotoRead {
    InPlace,
    Copy,
}

/// `1500000`, `500M`, `3G`, `2.5GB`: decimal units, as the report writes sizes.
fn byte_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let scale = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" => 1e3,
        "M" | "MB" => 1e6,
        "G" | "GB" => 1e9,
        "T" | "TB" => 1e12,
        _ => f64::NAN,
    };
    match number.parse::<f64>() {
        Ok(n) if scale.is_finite() && n > 0.0 && n * scale >= 1.0 && n * scale < 1e18 => {
            Ok((n * scale) as u64)
        }
        _ => Err(format!(
            "\"{s}\" is not a size: give bytes or a number with K, M, G or T, e.g. 3G"
        )),
    }
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
    pub html: HtmlArgs,

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
    #[arg(long = "answer", value_name = "CHECK=VALUE", long_help = answer_help())]
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

    /// Show the evidence (raw keys and values) under every check, and where to look for each
    /// step to check on the phone. The JSON report always has them.
    #[arg(long)]
    pub details: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}

/// `--answer`'s long help: every check it takes and the words for each, from the checklist's
/// own table, so `--help` and the error a wrong answer gets never disagree.
fn answer_help() -> String {
    use synccheck_core::checklist::{accepted, CheckId};
    let mut help = String::from(
        "Answer a step the phone cannot report, as CHECK=VALUE (repeat for several). The checks and the words each takes (fine first, then a problem):",
    );
    for id in CheckId::ALL {
        help.push_str(&format!("\n  {:<15} {}", id.as_str(), accepted(id)));
    }
    help
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write a page for synccheck and one for each command (synccheck-scan.1, …) into this
    /// folder instead of printing synccheck's page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod limit_tests {
    use super::{byte_size, since_date};

    #[test]
    fn since_takes_a_day_or_a_time_and_refuses_nonsense() {
        assert_eq!(since_date("1970-01-02"), Ok(86_400));
        assert_eq!(since_date("1970-01-01T01:00:00Z"), Ok(3_600));
        assert_eq!(since_date("1970-01-01T01:00:00+01:00"), Ok(0));
        for bad in ["", "yesterday", "2026-13-01", "01/02/2026"] {
            assert!(since_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_take_decimal_units_and_refuse_nonsense() {
        assert_eq!(byte_size("1500"), Ok(1500));
        assert_eq!(byte_size("500M"), Ok(500_000_000));
        assert_eq!(byte_size("2.5GB"), Ok(2_500_000_000));
        assert_eq!(byte_size("3g"), Ok(3_000_000_000));
        for bad in ["", "0", "-1G", "3X", "G", "1e30", "0.1"] {
            assert!(byte_size(bad).is_err(), "{bad}");
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct RescueArgs {
    /// The folder to copy into; the phone gets a folder of its own inside it (its name and
    /// serial, or phoneN with --redact).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,

    /// Rescue the iPhone with this UDID (needed when several are attached).
    #[arg(long, value_name = "UDID")]
    pub udid: Option<String>,

    /// With iCloud Photos off, copy every photo and video of the library (it can be all of it).
    #[arg(long)]
    pub all: bool,

    /// Say what would be copied (count, total size, oldest and newest) and copy nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Hide the phone's serial, UDID and name in the folder name, manifest and messages.
    #[arg(long)]
    pub redact: bool,

    /// The most the rescue may write, in bytes or with a decimal unit (50G). Default: what the
    /// disk has free.
    #[arg(long, value_name = "SIZE", value_parser = byte_size)]
    pub disk_budget: Option<u64>,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub trust: TrustArgs,

    /// Where each run is recorded (the phone and the counts, never a file name), as for scan.
    #[command(flatten)]
    pub db: DbArgs,
}
