//! The command-line definition (clap derive). The same definition generates the
//! shell completions in `completions/` and the man pages in `man/`
//! (`redis-persist generate`), so help, completions and man pages never drift.

use clap::{Parser, Subcommand};

use crate::commands::{
    check_aof, check_rdb, convert_aof_to_hybrid, dump, generate, rewrite, salvage, stats,
};

/// Check, repair, inspect and convert Redis and Valkey persistence files offline.
///
/// Exit codes: 0 = everything valid / done; 1 = a problem was found in the input;
/// 2 = the tool could not run (usage error, unreadable file, I/O error);
/// 3 = unsupported: the input holds content of a newer server than this tool
/// knows (it may be valid). 2 wins over 1, and 1 over 3.
#[derive(Debug, Parser)]
#[command(
    name = "redis-persist",
    version,
    about,
    long_about,
    propagate_version = true
)]
pub struct Cli {
    /// Never show progress bars (they are only shown when stderr is a terminal).
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate RDB snapshots (every Redis and Valkey version), checksum included.
    ///
    /// Walks every key and every embedded structure (listpack, ziplist, intset,
    /// zipmap, stream nodes) with the same depth as Redis' `sanitize-dump-payload
    /// yes`, verifies the CRC-64 trailer, and reports what the file holds.
    /// Also accepts the RDB preamble of a hybrid AOF and a multi-part AOF
    /// `.base.rdb` file.
    CheckRdb(check_rdb::Args),
    /// Validate an AOF (single file, hybrid, or multi-part directory/manifest);
    /// `--fix` repairs it safely.
    ///
    /// `--fix` truncates at the first inconsistency, exactly where
    /// `redis-check-aof --fix` would, after writing a backup.
    CheckAof(check_aof::Args),
    /// Print every key of a snapshot or AOF as JSON Lines, JSON or RESP commands.
    ///
    /// An RDB file is read as it is. An AOF (a file of commands, a multi-part
    /// directory or its manifest) is replayed first, as the server loads it,
    /// so the output is the dataset the server would hold; `--base-only`
    /// dumps only its RDB base or preamble instead. A hybrid single-file AOF
    /// is read as its RDB preamble unless `--replay`.
    Dump(dump::Args),
    /// Analyse the whole keyspace in one streaming pass: counts, sizes, biggest
    /// keys, prefixes, TTLs, memory estimate.
    Stats(stats::Args),
    /// Replay an AOF offline and write it back as an RDB-preamble (hybrid) AOF.
    ConvertAofToHybrid(convert_aof_to_hybrid::Args),
    /// Turn a damaged RDB into one the server loads, keeping every key that
    /// survived.
    ///
    /// Reads past damage: a value that fails validation is dropped alone;
    /// after damage to the structure, reading resumes where whole records
    /// validate again. Writes a new RDB (atomically; the input is never
    /// modified), re-checked before it replaces OUTPUT, and reports what was
    /// kept and lost. Exit 0 when nothing was lost, 1 when something was.
    Salvage(salvage::Args),
    /// Rewrite snapshots for another server: downgrade, Redis <-> Valkey,
    /// filter, merge.
    ///
    /// Each key is re-encoded as the target server would save it; what the
    /// target cannot hold follows `--incompatible`. The output is written
    /// atomically, re-read by the checker and reconciled per database. Exit 0
    /// when every key was written unchanged, 1 when some were changed,
    /// skipped or dropped as duplicates (all listed), 2 when nothing was
    /// written.
    Rewrite(rewrite::Args),
    /// Write shell completions and man pages (used to refresh `completions/` and
    /// `man/`).
    #[command(hide = true)]
    Generate(generate::Args),
}
