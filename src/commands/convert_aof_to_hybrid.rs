//! `convert-aof-to-hybrid` (not implemented yet: exits 2).

use std::path::PathBuf;

use super::{ExitStatus, Global};

/// Arguments of `convert-aof-to-hybrid`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input path (`-` reads standard input).
    pub path: PathBuf,
}

/// Runs `convert-aof-to-hybrid`.
pub fn run(_args: &Args, _global: Global) -> anyhow::Result<ExitStatus> {
    super::not_implemented("convert-aof-to-hybrid")
}
