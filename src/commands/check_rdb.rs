//! `check-rdb` (in progress).

use std::path::PathBuf;

use super::{ExitStatus, Global};

/// Arguments of `check-rdb`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// RDB files to check (`-` reads standard input).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print one JSON document instead of the human report.
    #[arg(long)]
    pub json: bool,
}

/// Runs `check-rdb`.
pub fn run(_args: &Args, _global: Global) -> anyhow::Result<ExitStatus> {
    super::not_implemented("check-rdb")
}
