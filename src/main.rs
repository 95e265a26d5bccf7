//! The `synccheck` binary: a thin shell over the library (see `src/cli`).

mod cli;
mod closed_pipe;

use clap::Parser;

fn main() {
    closed_pipe::install();
    let cli = cli::Cli::parse();
    init_logging(cli.verbose);
    // Unwinding, not aborting: a print to a closed pipe comes back here after the command's
    // destructors ran (see closed_pipe.rs); any other panic goes on as a panic.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cli::run(cli)));
    let code = match outcome {
        Ok(Ok(code)) => code,
        Ok(Err(err)) if err.is_closed_pipe() => closed_pipe::EXIT_CODE,
        Ok(Err(err)) => {
            err.print();
            err.exit_code()
        }
        Err(payload) if closed_pipe::was_closed_pipe(payload.as_ref()) => closed_pipe::EXIT_CODE,
        Err(payload) => std::panic::resume_unwind(payload),
    };
    std::process::exit(code);
}

/// Logs go to stderr so that `--json` on stdout stays machine-readable.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "synccheck=debug",
        _ => "synccheck=trace",
    };
    let filter =
        EnvFilter::try_from_env("SYNCCHECK_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // The PostgreSQL client logs every statement's parameters at debug level: serials, UDIDs
    // and snapshots, which --redact must keep out of stderr. Its warnings still show.
    let filter = filter.add_directive("tokio_postgres=warn".parse().expect("a fixed directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| PrintableStderr)
        // Plain text: log lines quote what phones sent (an error, a value), so every control
        // character is escaped by the writer, colour codes included.
        .with_ansi(false)
        .with_target(false)
        .init();
}

/// stderr for log lines: each line made printable (a phone's text in a field or message
/// reaches the terminal as visible escapes, never as terminal commands).
struct PrintableStderr;

impl std::io::Write for PrintableStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let (body, end) = match line.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (line, ""),
            };
            out.push_str(&synccheck_wire::phone_text::printable(body));
            out.push_str(end);
        }
        std::io::stderr().lock().write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
