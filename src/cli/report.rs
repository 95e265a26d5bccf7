//! What every report-printing command shares: deciding (thresholds, answers) and printing.

use std::io::{IsTerminal, Write};

use synccheck_core::checklist::{Answers, Context, Thresholds};
use synccheck_report::text::{Style, TextOptions, DEFAULT_WIDTH};
use synccheck_report::{self as report, DeviceReport, ReportContext};

use super::args::{ColorWhen, ReportArgs};
use super::error::CliError;

/// The checklist's context from the command line; bad answers and thresholds are usage errors.
pub fn context(args: &ReportArgs) -> Result<Context, CliError> {
    Ok(Context {
        thresholds: load_thresholds(args.thresholds.as_deref())?,
        answers: Answers::parse(&args.answers)?,
        trust_answers: args.trust_answers,
    })
}

/// Prints the reports as text or JSON on stdout and returns the exit code they call for.
pub fn print(args: &ReportArgs, reports: &[DeviceReport]) -> Result<i32, CliError> {
    let report_ctx = ReportContext::now();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        report::json::write(&mut out, reports, &report_ctx)
    } else {
        let no_color = std::env::var_os("NO_COLOR");
        let options = TextOptions {
            style: Style {
                color: use_color(args.color, stdout.is_terminal(), no_color),
            },
            width: terminal_width(&stdout),
            details: args.details,
        };
        report::text::write(&mut out, reports, &report_ctx, options)
    }
    .and_then(|_| out.flush())
    .or_else(|e| match e.kind() {
        // `synccheck scan | head` closed the pipe: the reader has what it wanted.
        std::io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(CliError::Output(e)),
    })?;
    Ok(report::exit_code(reports))
}

/// The terminal's width in columns, when stdout is one; else the text report's default (a pipe
/// or a file has no width, and 80 columns reads everywhere).
fn terminal_width(stdout: &std::io::Stdout) -> usize {
    terminal_size::terminal_size_of(stdout)
        .map(|(terminal_size::Width(w), _)| usize::from(w))
        .filter(|&w| w > 0)
        .unwrap_or(DEFAULT_WIDTH)
}

/// A thresholds file is a few dozen lines; a megabyte is far more than any could need.
const MAX_THRESHOLDS_BYTES: u64 = 1024 * 1024;

fn load_thresholds(path: Option<&std::path::Path>) -> Result<Thresholds, CliError> {
    let Some(path) = path else {
        return Ok(Thresholds::default());
    };
    let fail = |detail: String| CliError::Thresholds {
        path: path.to_path_buf(),
        detail,
    };
    let bytes = synccheck_core::user_file::read_regular_file(path, MAX_THRESHOLDS_BYTES)
        .map_err(|e| fail(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
    Thresholds::from_toml(&text).map_err(|e| fail(e.to_string()))
}

/// Whether `--color` and NO_COLOR allow colour on a terminal (`watch`'s board checks the
/// terminal itself).
pub fn wants_color(when: ColorWhen) -> bool {
    use_color(when, true, std::env::var_os("NO_COLOR"))
}

/// https://no-color.org: a non-empty NO_COLOR turns colour off, whatever the terminal.
fn use_color(when: ColorWhen, is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => is_terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(ColorWhen::Auto, true, None));
        assert!(use_color(ColorWhen::Auto, true, Some("".into())));
        assert!(!use_color(ColorWhen::Auto, true, Some("1".into())));
        assert!(!use_color(ColorWhen::Auto, false, None));
        assert!(use_color(ColorWhen::Always, false, Some("1".into())));
        assert!(!use_color(ColorWhen::Never, true, None));
    }
}
