//! `generate` (hidden): writes the shell completions and man pages derived from the
//! clap definition. `tests/it/generated.rs` runs it and compares with the committed
//! `completions/` and `man/` (set `UPDATE_GENERATED=1` to rewrite them).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use super::ExitStatus;
use crate::cli::Cli;

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory receiving `completions/` and `man/`.
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
}

/// Writes every generated file under `args.out_dir`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    write_completions(&args.out_dir.join("completions"))?;
    write_man(&args.out_dir.join("man"))?;
    Ok(ExitStatus::Ok)
}

fn command() -> clap::Command {
    // The hidden `generate` subcommand is not part of the public interface.
    Cli::command().mut_subcommand("generate", |c| c.hide(true))
}

fn write_completions(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        let mut cmd = command();
        clap_complete::generate_to(shell, &mut cmd, "redis-persist", dir)
            .with_context(|| format!("writing {shell} completions"))?;
    }
    Ok(())
}

fn write_man(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cmd = command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    fs::write(dir.join("redis-persist.1"), &buf)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("redis-persist-{}", sub.get_name());
        let sub = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("redis-persist {}", sub.get_name()));
        let mut buf = Vec::new();
        clap_mangen::Man::new(sub).render(&mut buf)?;
        fs::write(dir.join(format!("{name}.1")), &buf)?;
    }
    Ok(())
}
