//! The `synccheck` binary: a thin shell over the library (see `src/cli`).

mod cli;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    init_logging(cli.verbose);
    let code = match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            err.print();
            err.exit_code()
        }
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
