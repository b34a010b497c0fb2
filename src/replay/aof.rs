//! Replays an AOF input (a single file, a manifest or an AOF directory) into a
//! [`Dataset`]: the dataset a Redis server holds right after loading it. This is
//! the glue between the AOF reader ([`crate::aof`]), the RDB reader (for RDB
//! preambles and `.base.rdb` files) and the replay [`Engine`], shared by
//! `convert-aof-to-hybrid` and by `dump`/`stats` on AOF inputs.
//!
//! # Two steps
//!
//! 1. [`precheck`] runs the `check-aof` checker ([`crate::aof::check`]) over the
//!    whole input and decides whether it can be replayed faithfully. An input is
//!    **admitted** when the checker finds it valid, or when its only problem is
//!    the one Redis itself tolerates with `aof-load-truncated yes` (the default):
//!    the **last** file ends inside a record or inside an unfinished `MULTI`,
//!    and no complete command follows the damage. Such a tail is dropped, as the
//!    server drops it. Everything else is **refused** with the checker's finding
//!    (file, offset, what is wrong): a damaged RDB preamble, bytes that break the
//!    grammar, a truncated file that is not the last one (the server refuses to
//!    start on those too), `*0` records, a refused manifest, a missing file.
//!    With [`Options::strict`], warnings and a truncated tail are refused too.
//!    The checker is stricter than the server's loader in a few places (e.g. a
//!    nested `MULTI`, `*3abc`, bytes other than `\r\n` after a payload): those
//!    inputs are refused here although a server would load them; `check-aof
//!    --fix` repairs them.
//! 2. [`replay`] reads the admitted files again in load order (each through the
//!    same number of bytes the checker saw, so a file a server is still appending
//!    to is replayed exactly as checked), loads RDB parts with
//!    [`Dataset::load_rdb`], applies every RESP command with [`Engine::apply`]
//!    (each file starting in db 0, an unfinished `MULTI` discarded at its end),
//!    then deletes the keys and hash fields already expired at
//!    [`Options::now_ms`] (unless [`Options::keep_expired`]) — what a server does
//!    right after loading.
//!
//! [`replay_input`] does both for a PATH: the one call `dump` and `stats` need
//! for "the dataset after replay".
//!
//! # What stops a replay
//!
//! A command the engine cannot apply (an unknown or module command, a Lua
//! script body, a raw `XREADGROUP`, an empty command) stops the replay with its
//! file, offset and name ([`ErrorKind::Unsupported`]). So does a `SELECT`,
//! `MOVE`, `COPY … DB` or `SWAPDB` naming a database beyond
//! [`Options::databases`] ([`ErrorKind::DbOutOfRange`]): the server that wrote
//! the file had more databases, and replaying with fewer would put keys in the
//! wrong database. Runtime errors the server replies with and ignores while
//! loading (wrong type, bad argument) are counted in the [`Summary`] with their
//! offsets; with [`Options::strict`] the first one stops the replay.

use std::fs::File;
use std::io::{Read, Take};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::aof::check::{self, Finding, InputReport, Severity};
use crate::aof::loader;
use crate::aof::{self, CommandReader, FileKind, Resolved};
use crate::io::{Progress, Source};
use crate::rdb::{self, Entries, Reader};

use super::{Dataset, Engine, Outcome, ReplayError};

/// Which pass a progress sink is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The `check-aof` pass of [`precheck`].
    Check,
    /// The replay pass of [`replay`].
    Replay,
}

/// Makes the progress sink of one file: called with the phase and the number of
/// bytes of the files before it (offsets given to the sink are relative to the
/// file).
pub type ProgressFactory = Rc<dyn Fn(Phase, u64) -> Box<dyn Progress>>;

/// Replay settings.
#[derive(Clone)]
pub struct Options {
    /// Number of databases (Redis' `databases` setting, default 16).
    pub databases: usize,
    /// Reference time, Unix milliseconds: keys and hash fields expired at this
    /// time are deleted at the end (unless `keep_expired`), and the few
    /// relative-time command forms (`EXPIRE`, `SET … EX`, `XADD *`) use it as
    /// "now".
    pub now_ms: i64,
    /// Keep keys and fields already expired at `now_ms`.
    pub keep_expired: bool,
    /// Refuse what is tolerated otherwise: `check-aof` warnings, a truncated
    /// last file, and commands that fail with a runtime error.
    pub strict: bool,
    /// Progress sinks.
    pub progress: Option<ProgressFactory>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("databases", &self.databases)
            .field("now_ms", &self.now_ms)
            .field("keep_expired", &self.keep_expired)
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            databases: 16,
            now_ms: now_ms(),
            keep_expired: false,
            strict: false,
            progress: None,
        }
    }
}

/// The wall clock in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A replay error: where (file, byte offset of the command or record) and what.
#[derive(Debug)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    path: Option<PathBuf>,
    offset: Option<u64>,
    kind: ErrorKind,
}

/// What stopped the replay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The pre-check found a problem the replay must not paper over.
    #[error("{message} [{code}]")]
    Refused {
        /// The checker's finding code (`short-payload`, `damaged-non-last-file`, …).
        code: String,
        /// What is wrong.
        message: String,
    },
    /// A command the engine cannot apply.
    #[error("cannot replay '{command}': {reason}")]
    Unsupported {
        /// The command name as written.
        command: String,
        /// Why.
        reason: String,
    },
    /// A database index beyond the configured number of databases.
    #[error(
        "'{command}' uses database {db}, but only {databases} databases are configured (the server that wrote this file had more: give the number of databases it had)"
    )]
    DbOutOfRange {
        /// The command name as written.
        command: String,
        /// The index.
        db: i64,
        /// The configured number of databases.
        databases: usize,
    },
    /// A command failed with a runtime error (only with [`Options::strict`]).
    #[error("'{command}' fails when replayed: {message}")]
    CommandFailed {
        /// The command name as written.
        command: String,
        /// The error Redis replies with.
        message: String,
    },
    /// The RDB part of a file cannot be loaded.
    #[error("RDB part: {0}")]
    Rdb(rdb::Error),
    /// Reading the AOF failed (or the file changed since the pre-check).
    #[error("{0}")]
    Aof(aof::Error),
}

impl Error {
    fn new(kind: ErrorKind) -> Self {
        Self(Box::new(Inner {
            path: None,
            offset: None,
            kind,
        }))
    }

    fn at(mut self, path: &Path, offset: Option<u64>) -> Self {
        self.0.path = Some(path.to_path_buf());
        self.0.offset = offset;
        self
    }

    fn at_opt(mut self, path: Option<PathBuf>, offset: Option<u64>) -> Self {
        self.0.path = path;
        self.0.offset = offset;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The file concerned, when known.
    pub fn path(&self) -> Option<&Path> {
        self.0.path.as_deref()
    }

    /// Byte offset in that file (start of the command or record), when known.
    pub fn offset(&self) -> Option<u64> {
        self.0.offset
    }

    /// True when the input itself is the problem (refused, unsupported command,
    /// damaged data); false when the tool could not read it (I/O errors, a PATH
    /// that does not exist).
    pub fn is_input_problem(&self) -> bool {
        match &self.0.kind {
            ErrorKind::Aof(e) => matches!(
                e.kind(),
                aof::ErrorKind::Truncated(_)
                    | aof::ErrorKind::Syntax(_)
                    | aof::ErrorKind::Manifest(_)
                    | aof::ErrorKind::Rdb(_)
            ),
            ErrorKind::Rdb(e) => !matches!(e.kind(), rdb::ErrorKind::Io(_)),
            ErrorKind::Refused { .. }
            | ErrorKind::Unsupported { .. }
            | ErrorKind::DbOutOfRange { .. }
            | ErrorKind::CommandFailed { .. } => true,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // An AOF error already names its file and offset.
        if let ErrorKind::Aof(e) = &self.0.kind {
            if e.path().is_some() {
                return write!(f, "{e}");
            }
        }
        if let Some(p) = &self.0.path {
            write!(f, "{}: ", p.display())?;
        }
        if let Some(o) = self.0.offset {
            write!(f, "at byte {o}: ")?;
        }
        write!(f, "{}", self.0.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            ErrorKind::Rdb(e) => Some(e),
            ErrorKind::Aof(e) => Some(e),
            _ => None,
        }
    }
}

impl From<aof::Error> for Error {
    fn from(e: aof::Error) -> Self {
        Self(Box::new(Inner {
            path: e.path().map(Path::to_path_buf),
            offset: e.offset(),
            kind: ErrorKind::Aof(e),
        }))
    }
}

/// The truncated tail dropped from the last file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TruncatedTail {
    /// Index of the file in [`Admitted::files`].
    pub file: usize,
    /// The file.
    pub path: PathBuf,
    /// Where the replay stops (the start of the incomplete record, or of the
    /// unfinished `MULTI`): what `check-aof --fix` would keep.
    pub valid_up_to: u64,
    /// Size of the file as checked.
    pub size: u64,
    /// The checker's code (`short-payload`, `truncated`, `eof-in-multi`, …).
    pub code: String,
    /// What is wrong there.
    pub message: String,
}

/// One file to replay.
#[derive(Clone, Debug)]
pub struct AdmittedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its name in the manifest (or the file name).
    pub name: Vec<u8>,
    /// Single file, BASE or INCR.
    pub kind: FileKind,
    /// Manifest sequence number.
    pub seq: Option<i64>,
    /// Bytes the checker read (the replay reads no more).
    pub size: u64,
}

/// An input the pre-check admitted.
#[derive(Clone, Debug)]
pub struct Admitted {
    /// What the PATH resolved to.
    pub resolved: Resolved,
    /// The files in load order.
    pub files: Vec<AdmittedFile>,
    /// The truncated tail that will be dropped, if any.
    pub truncated_tail: Option<TruncatedTail>,
    /// Warnings of the checker (file path, finding), e.g. unknown command names.
    pub warnings: Vec<(Option<PathBuf>, Finding)>,
    /// The full checker report.
    pub report: InputReport,
}

/// Runs the checker over the input and decides whether it can be replayed (see
/// the module docs). A refusal is an [`ErrorKind::Refused`] error carrying the
/// finding's file and offset.
pub fn precheck(resolved: &Resolved, opts: &Options) -> Result<Admitted, Error> {
    if resolved.path().as_os_str() == "-" {
        return Err(Error::new(ErrorKind::Aof(aof::Error::new(
            aof::ErrorKind::Resolve(
                "standard input cannot be replayed (it would have to be read twice): give a file"
                    .into(),
            ),
        ))));
    }
    let progress = opts.progress.clone();
    let copts = check::Options {
        truncate_to_timestamp: None,
        progress: progress
            .map(|f| Box::new(move |before| f(Phase::Check, before)) as check::ProgressFactory),
    };
    let report = check::check_input(resolved, &copts)?;
    admit(report, opts.strict)
}

/// The admission decision on a checker report (see the module docs).
pub fn admit(report: InputReport, strict: bool) -> Result<Admitted, Error> {
    let findings = report.findings(strict);
    let path_of = |i: Option<usize>| -> Option<PathBuf> {
        match i {
            Some(i) => report.files.get(i).map(|f| f.path.clone()),
            None => report
                .manifest
                .as_ref()
                .map(|m| m.path.clone())
                .or_else(|| Some(report.resolved.path().to_path_buf())),
        }
    };
    let errors: Vec<&(Option<usize>, Finding)> = findings
        .iter()
        .filter(|(_, f)| f.severity == Severity::Error)
        .collect();
    let mut truncated_tail = None;
    if let Some((i, f)) = errors.first() {
        let tolerated = errors.len() == 1 && tolerated_tail(&report, *i, f);
        match (tolerated, i) {
            (true, Some(i)) if !strict => {
                let fr = &report.files[*i];
                let valid_up_to = fr.resp.as_ref().map_or(0, |r| r.valid_up_to);
                truncated_tail = Some(TruncatedTail {
                    file: *i,
                    path: fr.path.clone(),
                    valid_up_to,
                    size: fr.size,
                    code: f.code.to_owned(),
                    message: f.message.clone(),
                });
            }
            (true, Some(_)) => {
                let mut message = f.message.clone();
                message.push_str(
                    "; the last file is truncated (the server would drop the incomplete tail and load the rest): refused because of --strict",
                );
                return Err(refusal(f.code, message).at_opt(path_of(*i), f.offset));
            }
            _ => {
                let (code, message) = refusal_text(&report, *i, f);
                return Err(refusal(code, message).at_opt(path_of(*i), f.offset));
            }
        }
    }
    let warnings = findings
        .iter()
        .filter(|(_, f)| f.severity == Severity::Warning)
        .map(|(i, f)| (path_of(*i), f.clone()))
        .collect();
    let files = report
        .files
        .iter()
        .map(|f| AdmittedFile {
            path: f.path.clone(),
            name: f.name.clone(),
            kind: f.kind,
            seq: f.seq,
            size: f.size,
        })
        .collect();
    Ok(Admitted {
        resolved: report.resolved.clone(),
        files,
        truncated_tail,
        warnings,
        report,
    })
}

fn refusal(code: &str, message: String) -> Error {
    Error::new(ErrorKind::Refused {
        code: code.to_owned(),
        message,
    })
}

/// The only error finding is the grammar stop of the last file, the data merely
/// ends early there, nothing complete follows, and the server's loader would
/// truncate the file and go on.
fn tolerated_tail(report: &InputReport, file: Option<usize>, f: &Finding) -> bool {
    let Some(i) = file else { return false };
    let fr = &report.files[i];
    let Some(resp) = &fr.resp else { return false };
    let Some(stop) = &resp.stop else { return false };
    if !fr.last || f.code != stop.kind.code() || resp.after_damage.is_some() {
        return false;
    }
    match fr.loader.as_ref().map(|l| &l.outcome) {
        Some(loader::Outcome::Truncates { .. }) => true,
        Some(_) => false,
        None => stop.kind.is_truncation(),
    }
}

/// The code and message of a refusal, with what the operator can do.
fn refusal_text(report: &InputReport, file: Option<usize>, f: &Finding) -> (&'static str, String) {
    let fr = file.and_then(|i| report.files.get(i));
    let mut msg = f.message.clone();
    let resp_stop = fr
        .and_then(|fr| fr.resp.as_ref())
        .and_then(|r| r.stop.as_ref());
    if let (Some(fr), Some(stop)) = (fr, resp_stop) {
        if f.code == stop.kind.code() {
            if !fr.last && stop.kind.is_truncation() {
                msg.push_str(
                    "; this file is not the last one of the manifest, so its tail cannot be dropped (the server refuses to start on it too)",
                );
                return ("damaged-non-last-file", msg);
            }
            msg.push_str("; repair the input first (`redis-persist check-aof --fix`) and convert the repaired copy");
        }
    }
    (f.code, msg)
}

/// What was read from one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    /// Where it is.
    pub path: PathBuf,
    /// Its name in the manifest (or the file name).
    pub name: Vec<u8>,
    /// Single file, BASE or INCR.
    pub kind: FileKind,
    /// Manifest sequence number.
    pub seq: Option<i64>,
    /// Bytes replayed.
    pub bytes: u64,
    /// Its RDB part, if it has one.
    pub rdb: Option<RdbPart>,
    /// RESP commands read (`MULTI`/`EXEC` included).
    pub commands: u64,
}

/// The RDB part of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RdbPart {
    /// Magic.
    pub format: rdb::types::Format,
    /// RDB version.
    pub version: u32,
    /// Keys loaded.
    pub keys: u64,
    /// The major version of the `valkey-ver` aux field (a file Valkey wrote),
    /// if any.
    pub valkey_major: Option<u32>,
}

/// A command that failed with a runtime error (ignored, as the server does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandFailure {
    /// The file.
    pub path: PathBuf,
    /// Offset of the command (of the `EXEC` for a command inside a transaction).
    pub offset: u64,
    /// The command name as written.
    pub command: String,
    /// The error Redis replies with.
    pub message: String,
}

/// What a replay did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The files, in load order.
    pub files: Vec<FileSummary>,
    /// Commands applied (each command of a transaction once; `MULTI`/`EXEC`
    /// not counted).
    pub applied: u64,
    /// Commands that failed with a runtime error (ignored, as the server does).
    pub failed: u64,
    /// The first failures, at most [`Summary::MAX_FAILURES`].
    pub failures: Vec<CommandFailure>,
    /// Unfinished `MULTI` blocks discarded at the end of a file.
    pub discarded_transactions: u64,
    /// The truncated tail dropped, if any.
    pub truncated_tail: Option<TruncatedTail>,
    /// Keys deleted because they had expired at the reference time.
    pub expired_keys: u64,
    /// Hash fields deleted because they had expired at the reference time.
    pub expired_fields: u64,
}

impl Summary {
    /// How many failures are kept with their offsets.
    pub const MAX_FAILURES: usize = 20;

    /// The RDB part with the highest version, if any file has one: the newest
    /// format the server that wrote the input produced.
    pub fn newest_rdb(&self) -> Option<RdbPart> {
        self.files
            .iter()
            .filter_map(|f| f.rdb)
            .max_by_key(|r| r.version)
    }

    /// Bytes replayed in all files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// Resolves `path`, pre-checks it and replays it: the dataset a server holds
/// right after loading the AOF (with the expired keys removed unless
/// [`Options::keep_expired`]).
pub fn replay_input(path: &Path, opts: &Options) -> Result<(Dataset, Summary), Error> {
    let resolved = aof::resolve(path)?;
    let admitted = precheck(&resolved, opts)?;
    replay(&admitted, opts)
}

/// Replays an admitted input (see the module docs).
pub fn replay(admitted: &Admitted, opts: &Options) -> Result<(Dataset, Summary), Error> {
    let mut engine = Engine::with_databases(opts.databases);
    engine.set_now_ms(opts.now_ms);
    let mut summary = Summary {
        truncated_tail: admitted.truncated_tail.clone(),
        ..Summary::default()
    };
    let mut before = 0u64;
    for (i, f) in admitted.files.iter().enumerate() {
        let limit = admitted
            .truncated_tail
            .as_ref()
            .filter(|t| t.file == i)
            .map(|t| t.valid_up_to);
        let progress = opts.progress.as_ref().map(|p| p(Phase::Replay, before));
        let fs = replay_file(&mut engine, f, limit, progress, opts, &mut summary)?;
        before += f.size;
        summary.files.push(fs);
    }
    let stats = engine.stats();
    summary.applied = stats.commands - stats.errors;
    summary.failed = stats.errors;
    summary.discarded_transactions = stats.discarded_transactions;
    let mut ds = engine.into_dataset();
    if !opts.keep_expired {
        let (k, f) = ds.remove_expired(opts.now_ms);
        summary.expired_keys = k;
        summary.expired_fields = f;
    }
    Ok((ds, summary))
}

/// Replays one file: its RDB part, then its commands up to `limit` (the start
/// of a tolerated truncated tail).
fn replay_file(
    engine: &mut Engine,
    f: &AdmittedFile,
    limit: Option<u64>,
    progress: Option<Box<dyn Progress>>,
    opts: &Options,
    summary: &mut Summary,
) -> Result<FileSummary, Error> {
    let path = &f.path;
    let file = File::open(path).map_err(|e| aof::Error::from(e).in_file(path))?;
    // Read exactly the bytes the checker saw.
    let mut src: Source<Take<File>> = Source::with_capacity(file.take(f.size), 1 << 20);
    src = src.with_size(f.size);
    if let Some(p) = progress {
        src.set_progress(p);
    }
    let mut fs = FileSummary {
        path: path.clone(),
        name: f.name.clone(),
        kind: f.kind,
        seq: f.seq,
        bytes: 0,
        rdb: None,
        commands: 0,
    };
    engine.start_file();
    let magic = aof::detect_rdb_preamble(&mut src).map_err(|e| {
        let io = match e {
            crate::io::SourceError::Io(e) => e,
            crate::io::SourceError::Eof { .. } => std::io::ErrorKind::UnexpectedEof.into(),
        };
        Error::from(aof::Error::from(io).in_file(path))
    })?;
    if magic.is_some() {
        let mut entries = Entries::new(Reader::new(src));
        let mut valkey_major = None;
        let keys = engine
            .dataset_mut()
            .load_rdb_with_aux(&mut entries, |name, value| {
                if name == b"valkey-ver" {
                    valkey_major = value
                        .split(|&b| b == b'.')
                        .next()
                        .and_then(|m| std::str::from_utf8(m).ok())
                        .and_then(|m| m.parse().ok());
                }
            })
            .map_err(|e| {
                let offset = e.offset();
                Error::new(ErrorKind::Rdb(e)).at(path, Some(offset))
            })?;
        let reader = entries.into_reader();
        fs.rdb = Some(RdbPart {
            format: reader.format(),
            version: reader.version(),
            keys,
            valkey_major,
        });
        src = reader.into_source();
    }
    let mut reader = CommandReader::new(src);
    let mut cmd = aof::Command::default();
    loop {
        if limit.is_some_and(|l| reader.offset() >= l) {
            break;
        }
        match reader.read_command_into(&mut cmd) {
            Ok(true) => {}
            Ok(false) => break,
            // The record the checker found incomplete (possibly after the
            // commands of the unfinished MULTI it belongs to).
            Err(e) if limit.is_some_and(|l| e.record_offset().unwrap_or(0) >= l) => break,
            Err(e) => {
                return Err(Error::from(e.in_file(path)));
            }
        }
        fs.commands += 1;
        apply(engine, &cmd, path, opts, summary)?;
    }
    fs.bytes = reader.offset();
    engine.finish_file();
    Ok(fs)
}

/// Applies one command, turning engine refusals into errors with the offset.
fn apply(
    engine: &mut Engine,
    cmd: &aof::Command,
    path: &Path,
    opts: &Options,
    summary: &mut Summary,
) -> Result<(), Error> {
    let name = || {
        cmd.args
            .first()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .unwrap_or_default()
    };
    if let Some(db) = db_out_of_range(&cmd.args, opts.databases) {
        return Err(Error::new(ErrorKind::DbOutOfRange {
            command: name(),
            db,
            databases: opts.databases,
        })
        .at(path, Some(cmd.offset)));
    }
    let errors_before = engine.stats().errors;
    let outcome = engine.apply(&cmd.args).map_err(|e| {
        let kind = match e {
            ReplayError::Unsupported { command, reason } => {
                ErrorKind::Unsupported { command, reason }
            }
            ReplayError::Empty => ErrorKind::Unsupported {
                command: String::new(),
                reason: "empty command (the server refuses the file)".into(),
            },
            ReplayError::TooLarge { command, bytes } => ErrorKind::Unsupported {
                command,
                reason: format!(
                    "the server keeps the string of {bytes} bytes it builds (its AOF loader does not apply proto-max-bulk-len), more than this tool holds in memory; nothing is dropped: the replay stops"
                ),
            },
        };
        Error::new(kind).at(path, Some(cmd.offset))
    })?;
    let message = match outcome {
        Outcome::Failed(e) => Some(e.0),
        // An EXEC whose block had failing commands: the engine counted them.
        Outcome::Applied if engine.stats().errors > errors_before => Some(
            engine
                .stats()
                .error_samples
                .last()
                .map(|(c, m)| format!("(in the transaction) {c}: {m}"))
                .unwrap_or_default(),
        ),
        _ => None,
    };
    if let Some(message) = message {
        if opts.strict {
            return Err(Error::new(ErrorKind::CommandFailed {
                command: name(),
                message,
            })
            .at(path, Some(cmd.offset)));
        }
        if summary.failures.len() < Summary::MAX_FAILURES {
            summary.failures.push(CommandFailure {
                path: path.to_path_buf(),
                offset: cmd.offset,
                command: name(),
                message,
            });
        }
    }
    Ok(())
}

/// The first database index a command names that is outside `0..databases`
/// (`SELECT n`, `MOVE key n`, `SWAPDB a b`, `COPY src dst DB n`).
fn db_out_of_range(args: &[Vec<u8>], databases: usize) -> Option<i64> {
    let name = args.first()?.to_ascii_lowercase();
    let positions: Vec<usize> = match name.as_slice() {
        b"select" => vec![1],
        b"move" => vec![2],
        b"swapdb" => vec![1, 2],
        b"copy" => args
            .iter()
            .enumerate()
            .skip(3)
            .filter(|(_, a)| a.eq_ignore_ascii_case(b"db"))
            .map(|(i, _)| i + 1)
            .collect(),
        _ => return None,
    };
    positions.into_iter().find_map(|p| {
        // Not a number: the server replies with an error and the engine counts it.
        let n: i64 = std::str::from_utf8(args.get(p)?).ok()?.parse().ok()?;
        (n < 0 || n >= i64::try_from(databases).unwrap_or(i64::MAX)).then_some(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<Vec<u8>> {
        a.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn database_indexes() {
        assert_eq!(db_out_of_range(&args(&["SELECT", "15"]), 16), None);
        assert_eq!(db_out_of_range(&args(&["select", "16"]), 16), Some(16));
        assert_eq!(db_out_of_range(&args(&["SELECT", "-1"]), 16), Some(-1));
        assert_eq!(db_out_of_range(&args(&["SELECT", "x"]), 16), None);
        assert_eq!(db_out_of_range(&args(&["MOVE", "k", "20"]), 16), Some(20));
        assert_eq!(db_out_of_range(&args(&["SWAPDB", "0", "31"]), 32), None);
        assert_eq!(db_out_of_range(&args(&["SWAPDB", "0", "32"]), 32), Some(32));
        assert_eq!(
            db_out_of_range(&args(&["COPY", "a", "b", "REPLACE", "DB", "99"]), 16),
            Some(99)
        );
        assert_eq!(db_out_of_range(&args(&["COPY", "a", "db"]), 16), None);
        assert_eq!(db_out_of_range(&args(&["SET", "k", "99"]), 16), None);
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn resp(cmds: &[&[&str]]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in cmds {
            out.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
            for a in *c {
                out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
            }
        }
        out
    }

    fn opts() -> Options {
        Options {
            now_ms: 1_700_000_000_000,
            ..Options::default()
        }
    }

    #[test]
    fn replays_a_single_file() {
        let dir = tempfile::tempdir().unwrap();
        let head: &[&[&str]] = &[
            &["SET", "a", "1"],
            &["MULTI"],
            &["INCR", "a"],
            &["LPUSH", "a", "x"],
        ];
        let exec_at = resp(head).len() as u64;
        let mut bytes = resp(head);
        bytes.extend(resp(&[
            &["EXEC"],
            &["SELECT", "2"],
            &["SET", "old", "v", "PXAT", "1600000000000"],
            &["SET", "new", "v", "PXAT", "1800000000000"],
        ]));
        let p = write(dir.path(), "a.aof", &bytes);
        let (ds, s) = replay_input(&p, &opts()).unwrap();
        assert_eq!(ds.key_count(), 2);
        assert_eq!(s.expired_keys, 1);
        assert_eq!(s.failed, 1);
        assert_eq!(s.failures.len(), 1);
        // The failure is reported at the EXEC of its transaction.
        assert_eq!(s.failures[0].offset, exec_at);
        assert_eq!(s.files[0].commands, 8);
        let keep = Options {
            keep_expired: true,
            ..opts()
        };
        let (ds, _) = replay_input(&p, &keep).unwrap();
        assert_eq!(ds.key_count(), 3);
        let strict = Options {
            strict: true,
            ..opts()
        };
        let e = replay_input(&p, &strict).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::CommandFailed { .. }), "{e}");
        assert_eq!(e.offset(), Some(exec_at));
    }

    #[test]
    fn unsupported_command_has_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = resp(&[&["SET", "a", "1"]]);
        let at = bytes.len() as u64;
        bytes.extend(resp(&[&["EVAL", "return 1", "0"]]));
        let p = write(dir.path(), "a.aof", &bytes);
        let e = replay_input(&p, &opts()).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Unsupported { .. }), "{e}");
        assert_eq!(e.offset(), Some(at));
        assert_eq!(e.path(), Some(p.as_path()));
        assert!(e.is_input_problem());
        assert!(e.to_string().contains(&format!("at byte {at}")), "{e}");
    }

    #[test]
    fn truncated_tail_is_dropped_unless_strict() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = resp(&[&["SET", "a", "1"], &["MULTI"], &["SET", "b", "2"]]);
        let multi_at = resp(&[&["SET", "a", "1"]]).len() as u64;
        bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nc");
        let p = write(dir.path(), "a.aof", &bytes);
        let (ds, s) = replay_input(&p, &opts()).unwrap();
        assert_eq!(ds.key_count(), 1);
        let t = s.truncated_tail.unwrap();
        assert_eq!(t.valid_up_to, multi_at);
        assert_eq!(t.code, "short-payload");
        assert!(t.message.contains("MULTI"), "{}", t.message);
        // The replay stops before the unfinished MULTI.
        assert_eq!(s.discarded_transactions, 0);
        assert_eq!(s.files[0].commands, 1);
        let strict = Options {
            strict: true,
            ..opts()
        };
        let e = replay_input(&p, &strict).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Refused { .. }), "{e}");
    }

    #[test]
    fn damage_in_the_middle_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = resp(&[&["SET", "a", "1"]]);
        bytes.extend_from_slice(b"xx");
        bytes.extend(resp(&[&["SET", "b", "1"]]));
        let p = write(dir.path(), "a.aof", &bytes);
        let e = replay_input(&p, &opts()).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Refused { .. }), "{e}");
        assert_eq!(e.offset(), Some(27));
        assert!(e.is_input_problem());
    }

    #[test]
    fn truncated_non_last_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut base = resp(&[&["SET", "a", "1"]]);
        base.extend_from_slice(b"*2\r\n$3\r\nDEL");
        write(dir.path(), "appendonly.aof.1.base.aof", &base);
        write(
            dir.path(),
            "appendonly.aof.1.incr.aof",
            &resp(&[&["SET", "b", "1"]]),
        );
        write(
            dir.path(),
            "appendonly.aof.manifest",
            b"file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
        );
        let e = replay_input(dir.path(), &opts()).unwrap_err();
        match e.kind() {
            ErrorKind::Refused { code, .. } => assert_eq!(code, "damaged-non-last-file"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn select_beyond_the_databases_stops() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "a.aof",
            &resp(&[&["SELECT", "20"], &["SET", "a", "1"]]),
        );
        let e = replay_input(&p, &opts()).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::DbOutOfRange { db: 20, .. }),
            "{e}"
        );
        let more = Options {
            databases: 32,
            ..opts()
        };
        let (ds, _) = replay_input(&p, &more).unwrap();
        assert_eq!(ds.db_sizes(20).0, 1);
    }

    #[test]
    fn missing_path_is_not_an_input_problem() {
        let e = replay_input(Path::new("/nonexistent/x.aof"), &opts()).unwrap_err();
        assert!(!e.is_input_problem(), "{e}");
    }
}
