//! The offline AOF replay engine: applies the write commands Redis writes to an
//! AOF (FORMATS.md §5.7–5.9) to an in-memory [`Dataset`], with the semantics the
//! server's AOF loader gives them.
//!
//! What it follows from the loader (§5.2, §5.8):
//! * every file starts in db 0: call [`Engine::start_file`] before each AOF file
//!   (BASE, then each INCR) and [`Engine::finish_file`] after it, which discards an
//!   unterminated `MULTI` block;
//! * `MULTI` buffers commands until `EXEC`; a command inside the block that this
//!   engine cannot apply is reported when it is queued (so the caller can name its
//!   offset), not at `EXEC`;
//! * keys and hash fields never expire during replay: expiry times are stored as
//!   absolute Unix milliseconds, and the caller applies them at the end with
//!   [`Dataset::remove_expired`] relative to a reference time of its choice;
//! * runtime errors Redis itself replies with and ignores while loading (wrong
//!   type, out-of-range `SELECT`, syntax errors, `BUSYKEY`, …) are **not** fatal:
//!   [`Engine::apply`] returns [`Outcome::Failed`] with the error text Redis would
//!   reply, and they are counted in [`ReplayStats`];
//! * a command it cannot apply (unknown names, module commands, scripts that
//!   need a Lua interpreter, a raw `XREADGROUP`) is a [`ReplayError`]: the
//!   caller should stop and report it with its offset. Read-only commands are
//!   accepted and do nothing, as in the loader.
//!
//! `RESTORE` decodes its DUMP payload with [`crate::rdb::payload::decode`]
//! (footer version and CRC-64 checked, value deeply validated).
//!
//! Commands whose effect depends on the clock in their user-facing form
//! (`EXPIRE`, `SET … EX`, `XADD *`, `XCLAIM` without `TIME`, …) use
//! [`Engine::set_now_ms`] as "now" (default: the wall clock when the engine was
//! created). Redis never writes those forms in 7.x AOFs; they matter only for
//! hand-made or very old files.

pub mod aof;
mod args;
pub mod bytes;
mod commands;
pub mod dataset;
pub mod hll;
pub mod long_double;
pub mod packed;

use std::fmt;

pub use bytes::Bytes;
pub use dataset::{Dataset, Slot, Value};

/// A command the engine cannot apply: replay must stop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The command is not supported, with the reason.
    #[error("cannot replay command '{command}': {reason}")]
    Unsupported {
        /// The command name as written (lossy UTF-8).
        command: String,
        /// Why it cannot be applied.
        reason: String,
    },
    /// An empty command (`*0`), which the server rejects as a format error.
    #[error("empty command")]
    Empty,
    /// The command builds a string the server would keep (its loader does
    /// not apply `proto-max-bulk-len`) but too large for this tool to hold.
    #[error(
        "cannot replay command '{command}': the server keeps the string of {bytes} bytes it builds (its AOF loader does not apply proto-max-bulk-len), more than this tool holds in memory"
    )]
    TooLarge {
        /// The command name as written (lossy UTF-8).
        command: String,
        /// The string's length.
        bytes: u64,
    },
}

impl ReplayError {
    fn unsupported(command: &[u8], reason: impl Into<String>) -> Self {
        Self::Unsupported {
            command: String::from_utf8_lossy(command).into_owned(),
            reason: reason.into(),
        }
    }
}

/// A runtime error Redis would reply to the command and otherwise ignore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError(pub String);

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied (including commands that had nothing to do, like `DEL` of a
    /// missing key).
    Applied,
    /// Queued inside a `MULTI` block.
    Queued,
    /// Redis would have replied with this error; the dataset is unchanged by
    /// this command (or, inside `EXEC`, by the failed commands of the block).
    Failed(CommandError),
}

/// Counters of a replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Commands applied (each command of an `EXEC` block counts once).
    pub commands: u64,
    /// Commands that failed with a runtime error (ignored, as Redis does).
    pub errors: u64,
    /// The first errors (command name, error text), at most
    /// [`ReplayStats::MAX_SAMPLES`].
    pub error_samples: Vec<(String, String)>,
    /// `MULTI` blocks discarded because their file ended before `EXEC`.
    pub discarded_transactions: u64,
    /// `XADD … IDMPAUTO` entries added without their IDMP record: the iid is
    /// a digest the server computes, which replay does not reproduce.
    pub idmp_auto_unrecorded: u64,
}

impl ReplayStats {
    /// How many error samples are kept.
    pub const MAX_SAMPLES: usize = 20;
}

/// The replay engine.
pub struct Engine {
    pub(crate) ds: Dataset,
    pub(crate) db: usize,
    pub(crate) now_ms: i64,
    multi: Option<Vec<Vec<Vec<u8>>>>,
    stats: ReplayStats,
    /// Set by a command that would build a string too large to hold
    /// ([`ReplayError::TooLarge`]).
    pub(crate) too_large: Option<u64>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("keys", &self.ds.key_count())
            .field("db", &self.db)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over an empty dataset of 16 databases.
    pub fn new() -> Self {
        Self::with_dataset(Dataset::new(16))
    }

    /// An engine over an empty dataset of `databases` databases (Redis'
    /// `databases` setting; `SELECT` beyond it fails).
    pub fn with_databases(databases: usize) -> Self {
        Self::with_dataset(Dataset::new(databases))
    }

    /// An engine continuing from `ds` (e.g. loaded from an RDB preamble).
    pub fn with_dataset(ds: Dataset) -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Self {
            ds,
            db: 0,
            now_ms,
            multi: None,
            stats: ReplayStats::default(),
            too_large: None,
        }
    }

    /// Sets the time used as "now" by relative-time command forms.
    pub fn set_now_ms(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
    }

    /// The dataset so far.
    pub fn dataset(&self) -> &Dataset {
        &self.ds
    }

    /// Mutable access to the dataset (e.g. to load an RDB preamble into it).
    pub fn dataset_mut(&mut self) -> &mut Dataset {
        &mut self.ds
    }

    /// The dataset, consuming the engine.
    pub fn into_dataset(self) -> Dataset {
        self.ds
    }

    /// Counters so far.
    pub fn stats(&self) -> &ReplayStats {
        &self.stats
    }

    /// Counts an `XADD … IDMPAUTO` whose IDMP record could not be kept.
    pub(crate) fn note_idmp_auto_unrecorded(&mut self) {
        self.stats.idmp_auto_unrecorded += 1;
    }

    /// The currently selected database.
    pub fn selected_db(&self) -> usize {
        self.db
    }

    /// True while a `MULTI` block is open.
    pub fn in_transaction(&self) -> bool {
        self.multi.is_some()
    }

    /// Starts a new AOF file: the selected database goes back to 0, as the server
    /// replays each file with a fresh client.
    pub fn start_file(&mut self) {
        self.db = 0;
        self.multi = None;
    }

    /// Ends an AOF file: an unterminated `MULTI` block is discarded (as the
    /// server reverts it). Returns the number of commands discarded, if a block
    /// was open.
    pub fn finish_file(&mut self) -> Option<usize> {
        let q = self.multi.take()?;
        self.stats.discarded_transactions += 1;
        Some(q.len())
    }

    /// Applies one command (`args[0]` is the name, compared case-insensitively).
    ///
    /// `Ok(Outcome::Failed(_))` is a runtime error Redis would ignore while
    /// loading; `Err` means the command cannot be replayed by this engine.
    pub fn apply<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Outcome, ReplayError> {
        let Some(first) = args.first() else {
            return Err(ReplayError::Empty);
        };
        let name = first.as_ref().to_ascii_lowercase();
        if self.multi.is_some() {
            if name == b"exec" {
                let queue = self.multi.take().unwrap_or_default();
                for cmd in queue {
                    self.run_one(&cmd)?;
                }
                return Ok(Outcome::Applied);
            }
            commands::check_supported(&name, args)?;
            if let Some(queue) = &mut self.multi {
                queue.push(args.iter().map(|a| a.as_ref().to_vec()).collect());
            }
            return Ok(Outcome::Queued);
        }
        match name.as_slice() {
            b"multi" => {
                self.multi = Some(Vec::new());
                Ok(Outcome::Applied)
            }
            b"exec" => Ok(self.fail(&name, "ERR EXEC without MULTI".into())),
            _ => {
                let args: Vec<&[u8]> = args.iter().map(AsRef::as_ref).collect();
                self.run_one(&args)
            }
        }
    }

    fn run_one<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Outcome, ReplayError> {
        let args: Vec<&[u8]> = args.iter().map(AsRef::as_ref).collect();
        let name = args[0].to_ascii_lowercase();
        let res = commands::dispatch(self, &name, &args)?;
        if let Some(bytes) = self.too_large.take() {
            return Err(ReplayError::TooLarge {
                command: String::from_utf8_lossy(args[0]).into_owned(),
                bytes,
            });
        }
        match res {
            Ok(()) => {
                self.stats.commands += 1;
                Ok(Outcome::Applied)
            }
            Err(e) => Ok(self.fail(&name, e)),
        }
    }

    fn fail(&mut self, name: &[u8], msg: String) -> Outcome {
        self.stats.commands += 1;
        self.stats.errors += 1;
        if self.stats.error_samples.len() < ReplayStats::MAX_SAMPLES {
            self.stats
                .error_samples
                .push((String::from_utf8_lossy(name).into_owned(), msg.clone()));
        }
        Outcome::Failed(CommandError(msg))
    }
}

#[cfg(test)]
mod tests;
