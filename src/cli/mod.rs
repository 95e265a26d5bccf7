//! The command line: parse arguments, call the library, turn its errors into one sentence and a
//! hint, and choose the exit code (0 all pass or manual, 1 a warn or fail, 2 usage or input).

mod args;
mod demo;
mod error;
mod files;
mod history;
mod history_rescues;
mod html;
mod list;
mod live;
mod pair;
mod phones;
mod report;
mod rescue;
mod rescue_history;
mod restart;
mod scan;
mod shell;
mod sim;
mod watch;

pub use args::Cli;
pub use error::CliError;

use args::Command;

pub fn run(cli: Cli) -> Result<i32, CliError> {
    match cli.command {
        Command::Scan(scan) => scan::run(scan),
        Command::Watch(args) => watch::run(args),
        Command::List(args) => list::run(args),
        Command::Pair(args) => pair::run(args),
        Command::History(args) => history::run(args),
        Command::Report(args) => html::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Restart(args) => restart::run(args),
        Command::Rescue(args) => rescue::run(args),
        Command::Completions(args) => shell::completions(args),
        Command::Man(args) => shell::man(args),
    }
}
