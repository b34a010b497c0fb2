//! `stats` (not implemented yet: exits 2).

use std::path::PathBuf;

use super::{ExitStatus, Global};

/// Arguments of `stats`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input path (`-` reads standard input).
    pub path: PathBuf,
}

/// Runs `stats`.
pub fn run(_args: &Args, _global: Global) -> anyhow::Result<ExitStatus> {
    super::not_implemented("stats")
}
