//! The `redis-persist` binary: parses the command line, dispatches to a subcommand
//! and maps the outcome to an exit code (0 valid, 1 problems found, 2 could not
//! run). A closed output pipe ends quietly with exit 0.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    commands::run(cli).into()
}
