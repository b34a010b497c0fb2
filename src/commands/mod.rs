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

/// Runs the parsed command line. Every subcommand goes through the same
/// contract (README, "Exit codes"): an `Err` it returns is rendered here, once,
/// as one line on stderr saying what to do next, and, under `--json`, as one
/// JSON document on stdout with the subcommand's keys (see [`Contract`]).
pub fn run(cli: Cli) -> ExitStatus {
    let global = Global {
        progress: !cli.no_progress,
    };
    // One line per subcommand: does it print a JSON document, on which input,
    // with which top-level keys (the keys of its successful document).
    let (contract, result) = match cli.command {
        Command::CheckRdb(a) => (
            Contract::new(a.json, a.files.first(), check_rdb::JSON_KEYS),
            check_rdb::run(&a, global),
        ),
        Command::CheckAof(a) => (
            Contract::new(a.json, Some(&a.path), check_aof::JSON_KEYS),
            check_aof::run(&a, global),
        ),
        Command::Dump(a) => (
            Contract::new(a.json_on_stdout(), Some(&a.path), dump::JSON_KEYS),
            dump::run(&a, global),
        ),
        Command::Stats(a) => (
            Contract::new(a.json, Some(&a.path), stats::JSON_KEYS),
            stats::run(&a, global),
        ),
        Command::ConvertAofToHybrid(a) => (
            Contract::new(a.json, Some(&a.input), convert_aof_to_hybrid::JSON_KEYS),
            convert_aof_to_hybrid::run(&a, global),
        ),
        Command::Salvage(a) => (
            Contract::new(a.json, Some(&a.input), salvage::JSON_KEYS),
            salvage::run(&a, global),
        ),
        Command::Rewrite(a) => (
            Contract::new(a.json, a.inputs.first(), rewrite::JSON_KEYS),
            rewrite::run(&a, global),
        ),
        Command::Generate(a) => (Contract::new(false, None, &[]), generate::run(&a)),
    };
    match result {
        Ok(status) => status,
        Err(err) => contract.fail(&err),
    }
}

/// What a subcommand promises when it fails (README, "Exit codes").
pub struct Contract {
    /// `--json` was given: a failure still prints one document.
    json: bool,
    /// The (first) input path as given.
    path: Option<String>,
    /// The top-level keys of the subcommand's JSON document.
    keys: &'static [&'static str],
}

impl Contract {
    fn new(json: bool, path: Option<&std::path::PathBuf>, keys: &'static [&'static str]) -> Self {
        Self {
            json,
            path: path.map(|p| p.display().to_string()),
            keys,
        }
    }

    /// Renders a failure: one line on stderr (with a hint), and under `--json`
    /// the subcommand's document with `error` set, `ok` false, the input path,
    /// and null for everything else. Returns the exit status it calls for.
    fn fail(&self, err: &anyhow::Error) -> ExitStatus {
        if crate::output::is_broken_pipe(err) {
            return ExitStatus::Ok;
        }
        let status = status_of(err);
        let message = crate::output::error_message(err);
        crate::output::eprint_line(&format!("{message} ({})", hint(err, status)));
        if self.json {
            let doc = failure_document(self.keys, self.path.as_deref(), &message);
            let mut out = std::io::stdout().lock();
            if serde_json::to_writer_pretty(&mut out, &doc).is_err()
                || std::io::Write::write_all(&mut out, b"\n").is_err()
            {
                return ExitStatus::Error;
            }
        }
        status
    }
}

/// The JSON document of a failed run: every key of the subcommand's document
/// (`keys`), null where unknown, with `error` set to `message`, `ok` / `clean`
/// false, and the input path under `path` (or `input` when there is no `path`).
pub fn failure_document(
    keys: &[&str],
    path: Option<&str>,
    message: &str,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let path_key = if keys.contains(&"path") {
        "path"
    } else {
        "input"
    };
    let mut doc = serde_json::Map::new();
    for k in keys.iter().copied().chain(["error"]) {
        let v = match k {
            "ok" | "clean" => Value::Bool(false),
            "error" => Value::String(message.to_owned()),
            k if k == path_key => path.map_or(Value::Null, |p| Value::String(p.to_owned())),
            _ => Value::Null,
        };
        doc.insert(k.to_owned(), v);
    }
    doc
}

/// A problem in the input that stops a subcommand before it produced its
/// result: not a persistence file at all (an empty file, random bytes, a JSON
/// file), or a damaged one it cannot work with. Exit 1, where every other
/// `Err` is exit 2 (the tool could not run).
#[derive(Debug)]
pub struct InputProblem(pub String);

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputProblem {}

/// An [`InputProblem`] error (exit 1).
pub fn input_problem(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(InputProblem(msg.into()))
}

/// The exit status an `Err` calls for: 1 when the input is the problem
/// ([`InputProblem`], a replay refused by the input, an RDB that does not
/// read), 3 when it needs a newer tool, else 2.
pub fn status_of(err: &anyhow::Error) -> ExitStatus {
    for c in err.chain() {
        if c.downcast_ref::<InputProblem>().is_some() || replayed::is_input_problem_cause(c) {
            return ExitStatus::Problems;
        }
        if let Some(e) = c.downcast_ref::<redis_persist::rdb::Error>() {
            return match e.kind() {
                redis_persist::rdb::ErrorKind::Io(_) => ExitStatus::Error,
                _ if e.is_unsupported() => ExitStatus::Unsupported,
                _ => ExitStatus::Problems,
            };
        }
    }
    ExitStatus::Error
}

/// What the user can do next, by the kind of failure.
pub fn hint(err: &anyhow::Error, status: ExitStatus) -> &'static str {
    let io = err.chain().find_map(|c| c.downcast_ref::<std::io::Error>());
    hint_for(status, io.map(std::io::Error::kind))
}

/// What the user can do next after a failure of exit status `status`, caused
/// (when known) by an I/O error of kind `io`.
pub fn hint_for(status: ExitStatus, io: Option<std::io::ErrorKind>) -> &'static str {
    use std::io::ErrorKind as K;
    match status {
        ExitStatus::Problems => {
            return "check the path: it should be an RDB file or an AOF; `redis-persist \
                    check-rdb` / `check-aof` say what is wrong, `salvage` recovers the keys \
                    of a damaged RDB, `check-aof --fix` repairs a torn AOF";
        }
        ExitStatus::Unsupported => {
            return "the input may be valid for a newer server: try a newer redis-persist";
        }
        _ => {}
    }
    match io {
        Some(K::NotFound) => "check the path; `-` reads standard input",
        Some(K::PermissionDenied) => {
            "check the file's permissions, or run as a user who may read it"
        }
        Some(K::IsADirectory) => {
            "give a file; `check-aof`, `dump` and `stats` also read an AOF directory"
        }
        Some(_) => "check the disk and the path, then run the command again",
        None => "see `redis-persist help` and the README for what this subcommand accepts",
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
    released: std::sync::atomic::AtomicUsize,
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
            released: std::sync::atomic::AtomicUsize::new(0),
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
    pub fn release(&self, upto: u64) {
        const BLOCK: usize = 64 << 10;
        let end = (upto as usize).min(self.map.len()) / BLOCK * BLOCK;
        use std::sync::atomic::Ordering::Relaxed;
        if (upto as usize) < self.released.load(Relaxed) {
            self.released.store(0, Relaxed);
        }
        let start = self.released.load(Relaxed);
        if end > start {
            // (No reader of this pass reads before `upto` again; a new pass
            // reads it again from the page cache.)
            self.release_range(start as u64, end as u64);
            self.released.store(end, Relaxed);
        }
    }

    /// Gives back the pages from `from` (rounded up to a 64 KiB block) to the
    /// end that a look ahead read (salvage's resync probes): the walk has not
    /// reached them, and reads them again from the page cache when it does, so
    /// that what probes touch far ahead does not add up with the number of
    /// damaged places.
    pub fn release_after(&self, from: u64) {
        self.release_range(from, u64::MAX);
    }

    /// A search ahead of the reader passed `offset`
    /// ([`redis_persist::io::Progress::scanned`], told at least every few
    /// MiB): gives back what it read from 12 MiB to 4 MiB behind `offset`,
    /// and more than 4 MiB ahead of it (records framed by chance claim
    /// lengths that end anywhere). A search through damage then costs a
    /// constant, not the length of the damage.
    pub fn release_scanned(&self, offset: u64) {
        const STEP: u64 = 4 << 20;
        const WINDOW: u64 = 8 << 20;
        let behind = offset.saturating_sub(STEP);
        self.release_range(behind.saturating_sub(WINDOW), behind);
        self.release_after(offset.saturating_add(STEP));
    }

    /// Gives back the pages of `[from, to)` (the whole 64 KiB blocks inside
    /// it) that a look ahead read, whatever the reader's position (a search
    /// through damage: what it passed is read again, if ever, from the page
    /// cache). `release`'s own progress is unchanged.
    #[allow(unsafe_code)]
    pub fn release_range(&self, from: u64, to: u64) {
        const BLOCK: usize = 64 << 10;
        let start = usize::try_from(from)
            .unwrap_or(usize::MAX)
            .div_ceil(BLOCK)
            .saturating_mul(BLOCK);
        let end = usize::try_from(to)
            .unwrap_or(usize::MAX)
            .min(self.map.len());
        let end = if end == self.map.len() {
            end
        } else {
            end / BLOCK * BLOCK
        };
        if start < end {
            // SAFETY: a read-only, shared file mapping: MADV_DONTNEED only
            // drops this process's page-table entries for the range; a later
            // read of it faults the file's bytes back in, unchanged. No
            // reference into the range is used after this call.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    start,
                    end - start,
                )
            };
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
            pages: Some(self),
        }
    }
}

impl redis_persist::rdb::parallel::Pages for MappedFile {
    fn release_range(&self, from: u64, to: u64) {
        MappedFile::release_range(self, from, to);
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
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            format!("{} is a directory", path.display()),
        )
        .into());
    }
    let size = meta.is_file().then_some(meta.len());
    let reader: Box<dyn std::io::Read> = Box::new(f);
    let mut src = redis_persist::io::Source::new(reader);
    if let Some(s) = size {
        src = src.with_size(s);
    }
    Ok((src, size))
}

/// The part of a damaged RDB that a check or `stats` did not read: from where
/// the damage stopped the reading (`stop`, the last error's offset) to the
/// end of the file, as (offset, bytes). `None` when the end was reached, or
/// where the size or the stop is unknown.
pub fn unread_tail(end_reached: bool, stop: Option<u64>, size: Option<u64>) -> Option<(u64, u64)> {
    if end_reached {
        return None;
    }
    let (stop, size) = (stop?, size?);
    (size > stop).then(|| (stop, size - stop))
}

/// How [`unread_tail`] is said in a human report.
pub fn unread_note((from, bytes): (u64, u64), size: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let pct = bytes as f64 * 100.0 / size.max(1) as f64;
    format!(
        "counted up to byte {from}, where damage stopped the reading: the last {bytes} bytes \
         ({pct:.1}% of the file) were not checked (`salvage` reads past the damage)"
    )
}
