//! Subcommand dispatch. Each subcommand lives in its own file holding its `Args`
//! and its `run`; `run` returns an [`ExitStatus`] for findings and an `Err` only
//! when the tool could not do its job.

pub mod check_aof;
pub mod check_rdb;
pub mod clobber;
pub mod convert_aof_to_hybrid;
pub mod dump;
pub mod generate;
pub mod replayed;
pub mod rewrite;
pub mod salvage;
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
    /// The input may be valid but needs a newer tool: a newer RDB version, a
    /// type byte or opcode a newer server may write (exit 3).
    Unsupported,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        match s {
            ExitStatus::Ok => ExitCode::SUCCESS,
            ExitStatus::Problems => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
            ExitStatus::Unsupported => ExitCode::from(3),
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
        Command::Salvage(args) => salvage::run(&args, global),
        Command::Rewrite(args) => rewrite::run(&args, global),
        Command::Generate(args) => generate::run(&args),
    }
}

/// An opened input: a buffered source and its size when it is a regular file.
pub type Input = redis_persist::io::Source<Box<dyn std::io::Read>>;

/// Opens `path` read-only (`-` = standard input) as a [`Input`] source. Returns
/// the size when known.
/// Default number of worker threads of `check-rdb` and `stats`: one more than
/// the CPUs. The thread that frames the file for them is idle part of the time
/// (waiting for a free worker); the extra worker fills those gaps (measured on
/// 2 CPUs: 7% less wall time for both; `dump`, whose workers do more per byte,
/// gains nothing and keeps one per CPU). One CPU: one (sequential) worker.
pub fn default_workers() -> usize {
    match std::thread::available_parallelism().map_or(1, usize::from) {
        1 => 1,
        n => n + 1,
    }
}

/// The most worker threads `--threads` accepts. Far more than the workers
/// can use (each one takes a slice of the file, and the framing thread feeds
/// them one at a time), and far fewer than what aborted the process when
/// spawning failed (`--threads 100000`: exit 134).
pub const MAX_THREADS: usize = 1024;

/// Parses `--threads`: 1 to [`MAX_THREADS`]; anything else is a usage error
/// (exit 2), never a silent clamp, so a typo is not taken for a setting.
pub fn parse_threads(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of threads"))?;
    if (1..=MAX_THREADS).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be between 1 and {MAX_THREADS}"))
    }
}

/// A regular file mapped into memory for the parallel readers, which hand
/// slices of it to their worker threads instead of copies of what they read.
pub struct MappedFile {
    map: memmap2::Mmap,
    /// Bytes before this offset were given back (see [`MappedFile::release`]).
    released: std::cell::Cell<usize>,
}

impl MappedFile {
    /// Maps `path`; `None` for stdin, anything that is not a regular file, an
    /// empty file, or when mapping fails (the caller streams the file instead).
    #[allow(unsafe_code)]
    pub fn open(path: &std::path::Path) -> Option<Self> {
        if path.as_os_str() == "-" {
            return None;
        }
        let f = std::fs::File::open(path).ok()?;
        let meta = f.metadata().ok()?;
        if !meta.is_file() || meta.len() == 0 {
            return None;
        }
        // SAFETY: the file is opened read-only and only ever read through the
        // map. Its bytes would change under us only if another process rewrote
        // the file in place while we read it: Redis never does (it writes
        // snapshots and rewritten AOF files to a temporary file and renames
        // it, and only appends to an AOF, past the mapped length). A truncation
        // by another process would end the run with SIGBUS, never with a
        // verdict on bytes that are not the file's.
        let map = unsafe { memmap2::Mmap::map(&f) }.ok()?;
        Some(Self {
            map,
            released: std::cell::Cell::new(0),
        })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Gives back the pages before `upto` (whole 64 KiB blocks) that nothing
    /// will read again in the current pass over the file: they leave this
    /// process's resident memory and stay in the page cache, so memory stays
    /// bounded whatever the file size. An offset lower than the previous one
    /// starts a new pass (a check that abandoned its guessed chunks and reads
    /// the file again from the start): releasing starts over from 0.
    #[allow(unsafe_code)]
    pub fn release(&self, upto: u64) {
        const BLOCK: usize = 64 << 10;
        let end = (upto as usize).min(self.map.len()) / BLOCK * BLOCK;
        if (upto as usize) < self.released.get() {
            self.released.set(0);
        }
        let start = self.released.get();
        if end > start {
            // SAFETY: a read-only, shared file mapping: MADV_DONTNEED only drops
            // this process's page-table entries for the range; a later read of
            // it (none in this pass: every reader is past `upto`; a new pass
            // reads it again) faults the file's bytes back in, unchanged. No
            // reference into the range is used after this call.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    start,
                    end - start,
                )
            };
            self.released.set(end);
        }
    }

    /// The argument of the parallel readers.
    pub fn mapped<'a>(
        &'a self,
        release: &'a dyn Fn(u64),
    ) -> redis_persist::rdb::parallel::Mapped<'a> {
        redis_persist::rdb::parallel::Mapped {
            data: self.bytes(),
            release,
        }
    }
}

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
