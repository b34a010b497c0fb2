//! Subcommand dispatch. Each subcommand lives in its own file holding its `Args`
//! and its `run`; `run` returns an [`ExitStatus`] for findings and an `Err` only
//! when the tool could not do its job.

pub mod check_aof;
pub mod check_rdb;
pub mod convert_aof_to_hybrid;
pub mod dump;
pub mod generate;
pub mod replayed;
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

/// An opened input: a buffered source and its size when it is a regular file.
pub type Input = redis_persist::io::Source<Box<dyn std::io::Read>>;

/// Opens `path` read-only (`-` = standard input) as a [`Input`] source. Returns
/// the size when known.
pub fn open_input(path: &std::path::Path) -> anyhow::Result<(Input, Option<u64>)> {
    use anyhow::Context as _;
    if path.as_os_str() == "-" {
        let stdin: Box<dyn std::io::Read> = Box::new(std::io::stdin());
        return Ok((redis_persist::io::Source::new(stdin), None));
    }
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let meta = f
        .metadata()
        .with_context(|| format!("reading the size of {}", path.display()))?;
    if meta.is_dir() {
        anyhow::bail!("{} is a directory", path.display());
    }
    let size = meta.is_file().then_some(meta.len());
    let reader: Box<dyn std::io::Read> = Box::new(f);
    let mut src = redis_persist::io::Source::new(reader);
    if let Some(s) = size {
        src = src.with_size(s);
    }
    Ok((src, size))
}
