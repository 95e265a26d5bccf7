//! `synccheck completions SHELL` and `synccheck man`: generated from the same clap definitions
//! as `--help`, so they list exactly the commands and options this binary has.

use std::io::Write;

use clap::CommandFactory;

use super::args::{Cli, CompletionsArgs, ManArgs};
use super::error::CliError;

pub fn completions(args: CompletionsArgs) -> Result<i32, CliError> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "synccheck", &mut out);
    write_stdout(&out)
}

pub fn man(args: ManArgs) -> Result<i32, CliError> {
    let cmd = Cli::command();
    match args.dir {
        Some(dir) => {
            clap_mangen::generate_to(cmd, &dir).map_err(|source| {
                CliError::Usage(format!(
                    "cannot write the man pages into {}: {source}",
                    dir.display()
                ))
            })?;
            eprintln!("Wrote the man pages into {}.", dir.display());
            Ok(0)
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(CliError::Output)?;
            write_stdout(&out)
        }
    }
}

/// Writes `bytes` to stdout; a closed pipe comes back as `CliError::Output` (quiet in main).
pub fn write_stdout(bytes: &[u8]) -> Result<i32, CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|_| stdout.flush())
        .map_err(CliError::Output)?;
    Ok(0)
}
