//! Subcommand dispatch. Each subcommand lives in its own file holding its `Args`
//! and its `run`; `run` returns an [`ExitStatus`] for findings and an `Err` only
//! when the tool could not do its job.

pub mod check_aof;
pub mod check_rdb;
pub mod convert_aof_to_hybrid;
pub mod dump;
pub mod generate;
pub mod stats;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything valid / done (exit 0).
    Ok,
    /// A problem was found in the input (exit 1).
    Problems,
    /// The tool could not run (exit 2).
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        match s {
            ExitStatus::Ok => ExitCode::SUCCESS,
            ExitStatus::Problems => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

/// Settings shared by every subcommand.
#[derive(Clone, Copy, Debug)]
pub struct Global {
    /// Progress bars allowed (still only shown when stderr is a terminal).
    pub progress: bool,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let global = Global {
        progress: !cli.no_progress,
    };
    match cli.command {
        Command::CheckRdb(args) => check_rdb::run(&args, global),
        Command::CheckAof(args) => check_aof::run(&args, global),
        Command::Dump(args) => dump::run(&args, global),
        Command::Stats(args) => stats::run(&args, global),
        Command::ConvertAofToHybrid(args) => convert_aof_to_hybrid::run(&args, global),
        Command::Generate(args) => generate::run(&args),
    }
}

/// The error for subcommands that are declared but not built yet (exit 2).
pub fn not_implemented(name: &str) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("{name}: not implemented yet")
}
