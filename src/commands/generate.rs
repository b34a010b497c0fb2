//! `generate` (hidden): writes the shell completions and man pages derived from the
//! clap definition. `tests/it/generated.rs` runs it and compares with the committed
//! `completions/` and `man/` (set `UPDATE_GENERATED=1` to rewrite them).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::{Generator as _, Shell};

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

/// The public command line: the clap definition without its hidden
/// subcommands (`generate`), which completions must not offer (`clap_complete`
/// offers hidden subcommands) and man pages must not list.
pub fn command() -> clap::Command {
    let full = Cli::command();
    let mut c = clap::Command::new(full.get_name().to_owned())
        .propagate_version(true)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(v) = full.get_version() {
        c = c.version(v.to_owned());
    }
    if let Some(a) = full.get_about() {
        c = c.about(a.clone());
    }
    if let Some(a) = full.get_long_about() {
        c = c.long_about(a.clone());
    }
    c
}

/// The shells completions are written for, with their file names.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

/// The completion script for `shell`. Bash: `clap_complete` names the states it
/// records in `cmd` after the binary with `-` turned into `__` (`redis__persist`),
/// but labels the `case` arms that read them with `-` turned into `__subcmd__`
/// (`redis__subcmd__persist__…`), so with a hyphenated binary name no arm ever
/// matches and nothing is completed after the subcommand: the arms are renamed
/// to the states.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut buf);
    if shell == Shell::Bash {
        let text =
            String::from_utf8_lossy(&buf).replace("redis__subcmd__persist", "redis__persist");
        return text.into_bytes();
    }
    buf
}

const BIN: &str = "redis-persist";

fn write_completions(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for shell in SHELLS {
        let name = shell.file_name(BIN);
        fs::write(dir.join(&name), completion(shell))
            .with_context(|| format!("writing {shell} completions"))?;
    }
    Ok(())
}

/// Exit codes, on every page (README, "Exit codes").
const EXIT_STATUS: [(&str, &str); 4] = [
    ("0", "everything valid / the job was done"),
    (
        "1",
        "a problem was found in the input (corruption, an invalid file, a file that is not \
         an RDB or AOF at all, data dropped); `--json` still prints one document, with `error`",
    ),
    (
        "2",
        "the tool could not run: usage error, missing or unreadable file, I/O error",
    ),
    (
        "3",
        "unsupported: content of a newer server than this tool knows (it may be valid; use a \
         newer redis-persist)",
    ),
];

/// The on-call recipes of a page: (what, command). `None`: the main page.
fn examples(sub: Option<&str>) -> Vec<(&'static str, &'static str)> {
    let check = [
        (
            "Check a snapshot before restarting a server on it:",
            "redis-persist check-rdb /var/lib/redis/dump.rdb",
        ),
        (
            "Check an AOF (a multi-part directory, its manifest, or one file):",
            "redis-persist check-aof /var/lib/redis/appendonlydir",
        ),
    ];
    let fix = (
        "Fix a torn AOF where redis-check-aof --fix would cut it, keeping a backup first:",
        "redis-persist check-aof --fix --backup-dir /root/aof-backup /var/lib/redis/appendonlydir",
    );
    let salvage = (
        "Recover every key that still validates from a damaged snapshot (the input is never changed):",
        "redis-persist salvage dump.rdb -o recovered.rdb",
    );
    let dump = (
        "Load a snapshot's keys into a running server:",
        "redis-persist dump --format resp dump.rdb | redis-cli --pipe",
    );
    let stats = (
        "The 20 biggest keys and the prefixes that use the most memory:",
        "redis-persist stats --top 20 dump.rdb",
    );
    match sub {
        None => vec![check[0], check[1], fix, salvage, dump, stats],
        Some("check-rdb") => vec![
            check[0],
            (
                "A script's check (one JSON document; exit 1 when something is wrong):",
                "redis-persist check-rdb --json dump.rdb > report.json",
            ),
            salvage,
        ],
        Some("check-aof") => vec![
            check[1],
            (
                "See what --fix would do, without changing anything:",
                "redis-persist check-aof --fix --dry-run appendonly.aof",
            ),
            fix,
        ],
        Some("dump") => vec![
            dump,
            (
                "Every key as JSON Lines (an AOF is replayed first, as the server loads it):",
                "redis-persist dump appendonly.aof > keys.jsonl",
            ),
        ],
        Some("stats") => vec![
            stats,
            (
                "One table as CSV for a spreadsheet:",
                "redis-persist stats --csv top-memory dump.rdb > top.csv",
            ),
        ],
        Some("convert-aof-to-hybrid") => vec![(
            "Rewrite an AOF offline into an RDB-preamble AOF (check it first):",
            "redis-persist convert-aof-to-hybrid /var/lib/redis/appendonlydir -o /tmp/appendonlydir",
        )],
        Some("salvage") => vec![
            salvage,
            (
                "Recover a damaged multi-part AOF into a new directory the server loads:",
                "redis-persist salvage /var/lib/redis/appendonlydir -o /tmp/appendonlydir",
            ),
            (
                "Then check the result:",
                "redis-persist check-rdb recovered.rdb",
            ),
        ],
        Some("rewrite") => vec![
            (
                "After rolling back to Redis 7.0, turn the newer server's snapshot into one it loads:",
                "redis-persist rewrite dump.rdb -o dump-7.0.rdb --target redis-7.0",
            ),
            (
                "Move a snapshot from Redis to Valkey 9, dropping what Valkey cannot hold (listed):",
                "redis-persist rewrite dump.rdb -o valkey.rdb --target valkey-9.0 --incompatible skip-key",
            ),
            (
                "Keep only the session keys of db 0, as a new snapshot:",
                "redis-persist rewrite dump.rdb -o sessions.rdb --target redis-8.0 --db 0 --key 'session:*'",
            ),
        ],
        Some(_) => Vec::new(),
    }
}

/// Escapes text for roff.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

/// The EXIT STATUS and EXAMPLES sections of a page.
fn extra_sections(sub: Option<&str>) -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    for (code, what) in EXIT_STATUS {
        let _ = write!(s, ".TP\n{code}\n{}\n", roff(what));
    }
    let ex = examples(sub);
    if !ex.is_empty() {
        s.push_str(".SH EXAMPLES\n");
        for (what, cmd) in ex {
            let _ = write!(
                s,
                ".PP\n{}\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE\n",
                roff(what),
                roff(cmd)
            );
        }
    }
    s
}

/// A man page: `clap_mangen`'s sections, then EXIT STATUS and EXAMPLES, then
/// the version.
fn page(cmd: &clap::Command, sub: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    if cmd.get_subcommands().next().is_some() {
        man.render_subcommands_section(&mut buf)?;
    }
    buf.extend_from_slice(extra_sections(sub).as_bytes());
    man.render_version_section(&mut buf)?;
    Ok(buf)
}

/// Every man page: (file name, content).
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    // No `help` subcommand in the pages: it has no page of its own.
    let mut cmd = command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = vec![(format!("{BIN}.1"), page(&cmd, None)?)];
    for sub in cmd.get_subcommands() {
        let name = format!("{BIN}-{}", sub.get_name());
        let page_cmd = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("{BIN} {}", sub.get_name()));
        pages.push((format!("{name}.1"), page(&page_cmd, Some(sub.get_name()))?));
    }
    Ok(pages)
}

fn write_man(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, content) in man_pages()? {
        fs::write(dir.join(&name), content).with_context(|| format!("writing {name}"))?;
    }
    Ok(())
}
