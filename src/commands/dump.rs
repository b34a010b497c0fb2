//! `dump`: every key of a snapshot, binary-safe, as JSON Lines, one JSON document
//! or RESP commands, with filters applied while streaming.
//!
//! Inputs: an RDB file or standard input (`-`); an AOF — a multi-part directory
//! or manifest, or a file of commands — whose dataset after replay is dumped
//! (`super::replayed`: replayed offline and streamed as an RDB); a hybrid
//! single-file AOF, whose RDB preamble is dumped (the command tail is said on
//! stderr) unless `--replay`. `--base-only` dumps an AOF's RDB base or preamble
//! alone, streaming.
//!
//! Structure: the input is a source of keys (the RDB event loop in [`rdb`], or
//! any iterator of [`redis_persist::rdb::Item`]s in [`items`], where a replayed
//! dataset plugs in); a [`render::Render`] ([`jsonl`] or [`resp`]) turns keys into
//! bytes; [`out::Output`] writes them. Large files are read on several cores
//! ([`parallel`]) with the output in file order.
//!
//! Exit status: 0 done; 1 the input is broken (everything valid before the error
//! was written, then the error is printed); 2 the dump could not run (bad
//! arguments, unreadable input, output error). A closed output pipe ends quietly
//! with 0.

pub(crate) mod filter;
mod items;
mod jsonl;
pub(crate) mod out;
mod parallel;
mod rdb;
mod render;
mod resp;
mod stream;
#[cfg(test)]
mod tests;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use redis_persist::model::KeyType;
use redis_persist::rdb::check::now_ms;
use redis_persist::rdb::{Entries, Reader};

use super::{ExitStatus, Global, Input, open_input};
use crate::output::progress::Bar;
use filter::{Expiry, Filter, KeyArgs};
use render::{Render, Stats};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per key and per line.
    Jsonl,
    /// One JSON document with a `keys` array.
    Json,
    /// RESP commands that recreate the dataset (`redis-cli --pipe`).
    Resp,
}

/// Data types, for `--type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TypeArg {
    /// Strings (also bitmaps, `HyperLogLogs`).
    String,
    /// Lists.
    List,
    /// Sets.
    Set,
    /// Sorted sets.
    Zset,
    /// Hashes.
    Hash,
    /// Streams.
    Stream,
    /// Module values.
    Module,
}

impl TypeArg {
    /// The model's type.
    pub fn key_type(self) -> KeyType {
        match self {
            Self::String => KeyType::String,
            Self::List => KeyType::List,
            Self::Set => KeyType::Set,
            Self::Zset => KeyType::Zset,
            Self::Hash => KeyType::Hash,
            Self::Stream => KeyType::Stream,
            Self::Module => KeyType::Module,
        }
    }
}

/// Arguments of `dump`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Keys and values are binary-safe. In JSON, a byte string is a JSON string when it \
is valid UTF-8 and {\"hex\": \"<lowercase hex>\"} otherwise; an object key (hash \
field, stream field) is the text when valid UTF-8 and not starting with \"hex:\", \
else \"hex:\" followed by the hex. Sorted-set scores are strings printed as Redis \
prints doubles (exact: \"inf\", \"-inf\", \"0.1\").

Examples:
  redis-persist dump dump.rdb | jq -c 'select(.type == \"hash\")'
  redis-persist dump dump.rdb --format resp --db 0 --key 'user:*' | redis-cli --pipe
  redis-persist dump appendonlydir --format json -o snapshot.json")]
pub struct Args {
    /// Input: an RDB file, a hybrid AOF (its RDB preamble), or a multi-part AOF
    /// directory or manifest (its BASE snapshot, when it is an RDB); `-` reads
    /// standard input.
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Write to FILE (atomically: a temporary file renamed into place) instead of
    /// standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub select: KeyArgs,
    /// Only keys whose expire time has passed (relative to --now).
    #[arg(long, conflicts_with = "not_expired")]
    pub expired: bool,
    /// Only keys without an expire time or whose expire time is still ahead.
    #[arg(long)]
    pub not_expired: bool,
    /// With --format resp: also write keys whose expire time has passed (by
    /// default they are left out, as a server loading the file drops them; a live
    /// server deletes them as soon as their PEXPIREAT runs).
    #[arg(long)]
    pub include_expired: bool,
    /// "Now" for the expiry filters, in Unix milliseconds (default: the current
    /// time).
    #[arg(long, value_name = "UNIX_MS")]
    pub now: Option<i64>,
    /// With --format jsonl: also write file-level records (header, aux fields,
    /// function libraries, module aux data, end of file), marked by a `record`
    /// field. The JSON document always has them.
    #[arg(long)]
    pub meta: bool,
    /// With --format resp: `DEL` every key before recreating it and load
    /// functions with `FUNCTION LOAD REPLACE` (for a server that already holds
    /// some of the keys).
    #[arg(long)]
    pub replace: bool,
    /// With --format resp: elements per command for large values (RPUSH, SADD,
    /// ZADD, HSET).
    #[arg(long, value_name = "N", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
    /// Threads reading and rendering files of 8 MiB and more, the calling
    /// thread included (default: the number of CPUs).
    #[arg(long, value_name = "N", value_parser = super::parse_threads)]
    pub threads: Option<usize>,
    /// For an AOF input, dump only its RDB base or preamble (streaming, in
    /// bounded memory) instead of the dataset after replaying every file.
    #[arg(long, conflicts_with = "replay")]
    pub base_only: bool,
    /// Replay a hybrid single-file AOF (RDB preamble + commands) instead of
    /// dumping its preamble alone. Directories, manifests and AOFs of commands are
    /// always replayed unless `--base-only`.
    #[arg(long)]
    pub replay: bool,
}

/// Files at least this large are dumped by several threads.
const PARALLEL_FROM: u64 = 8 << 20;
/// Output is written in pieces of about this size.
const FLUSH_AT: usize = 256 * 1024;

/// The top-level keys of the `--format json` document (also those of a failed
/// run's).
pub const JSON_KEYS: &[&str] = &[
    "format",
    "rdb_version",
    "keys",
    "aux",
    "functions",
    "module_aux",
    "checksum",
    "error",
];

impl Args {
    /// The output is one JSON document on stdout (`--format json`, no `-o`
    /// file): a failure then prints one too.
    pub fn json_on_stdout(&self) -> bool {
        self.format == Format::Json && self.output.as_ref().is_none_or(|p| p.as_os_str() == "-")
    }
}

/// Runs `dump`.
pub fn run(args: &Args, global: Global) -> anyhow::Result<ExitStatus> {
    if let Some(o) = &args.output {
        super::clobber::refuse_output_over_input(o, &[&args.path])?;
    }
    let now = args.now.unwrap_or_else(now_ms);
    let filter = build_filter(args, now)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    match args.format {
        Format::Jsonl => run_with(
            jsonl::JsonRender::new(jsonl::Mode::Lines { meta: args.meta }),
            args,
            global,
            &filter,
            threads,
        ),
        Format::Json => run_with(
            jsonl::JsonRender::new(jsonl::Mode::Document),
            args,
            global,
            &filter,
            threads,
        ),
        Format::Resp => run_with(
            resp::RespRender::new(resp::Settings {
                batch: args.batch as usize,
                replace: args.replace,
                include_expired: args.include_expired || args.expired,
                now_ms: now,
            }),
            args,
            global,
            &filter,
            threads,
        ),
    }
}

fn build_filter(args: &Args, now: i64) -> anyhow::Result<Filter> {
    let expiry = if args.expired {
        Expiry::Expired
    } else if args.not_expired || (args.format == Format::Resp && !args.include_expired) {
        Expiry::NotExpired
    } else {
        Expiry::Any
    };
    Filter::from_options(&args.select, expiry, now)
}

/// Prints a warning on stderr (a failed write is ignored: it never panics).
fn warn(msg: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "redis-persist: warning: {msg}");
}

/// An opened input.
struct Opened {
    src: Input,
    size: Option<u64>,
    /// The file actually read (the BASE of a multi-part set).
    display: String,
    /// What is not dumped (the INCR files of a multi-part set).
    notes: Vec<String>,
    /// What a replay dropped (a torn last command): a warning, and exit 1.
    lost: Option<String>,
    /// The thread writing a replayed AOF into `src`.
    writer: Option<super::replayed::WriterThread>,
    /// The regular file `src` reads from its first byte, if any (it can be
    /// mapped for the parallel path).
    file: Option<std::path::PathBuf>,
}

/// Why an input cannot be dumped.
enum OpenError {
    /// The input is broken (exit 1), e.g. a manifest the server refuses.
    Broken(String),
    /// It cannot be read or is not supported (exit 2).
    Cannot(anyhow::Error),
}

impl From<anyhow::Error> for OpenError {
    fn from(e: anyhow::Error) -> Self {
        Self::Cannot(e)
    }
}

/// Opens the input: an RDB file or hybrid AOF, or a multi-part AOF (its
/// directory or manifest), whose BASE is dumped when it is an RDB.
fn open(path: &Path, args: &Args, global: Global) -> Result<Opened, OpenError> {
    use redis_persist::aof;
    if (super::replayed::is_aof_input(path) && !args.base_only)
        || (args.replay && path.as_os_str() != "-")
    {
        let now = args.now.unwrap_or_else(now_ms);
        let progress =
            global.progress && args.output.as_ref().is_some_and(|p| p.as_os_str() != "-");
        return match super::replayed::open(path, now, progress) {
            Ok(r) => Ok(Opened {
                lost: r.dropped_tail(),
                src: r.source,
                size: None,
                display: path.display().to_string(),
                notes: Vec::new(),
                writer: Some(r.writer),
                file: None,
            }),
            Err(e) if super::replayed::is_input_problem(&e) => {
                Err(OpenError::Broken(crate::output::error_message(&e)))
            }
            Err(e) => Err(OpenError::Cannot(e)),
        };
    }
    if path.as_os_str() != "-" {
        let resolved = aof::resolve(path).map_err(|e| OpenError::Cannot(e.into()))?;
        if let aof::Resolved::Manifest(_) = resolved {
            return open_multipart(path);
        }
    }
    let (mut src, size) = open_input(path)?;
    let head = src
        .peek(9)
        .with_context(|| format!("reading {}", path.display()))?
        .to_vec();
    if !redis_persist::rdb::is_rdb_magic(&head)
        && head.first().is_some_and(|&b| b == b'*' || b == b'#')
    {
        let how = if args.base_only {
            "it has no RDB part for --base-only (drop it to dump the dataset after replay)"
        } else {
            "standard input is read as an RDB; give the AOF as a file to dump the dataset \
             after replaying it"
        };
        return Err(OpenError::Cannot(anyhow::anyhow!(
            "{} is an AOF of RESP commands: {how}",
            path.display()
        )));
    }
    // Anything else that is not an RDB: the reader reports the bad magic (exit 1).
    Ok(Opened {
        src,
        size,
        display: path.display().to_string(),
        notes: Vec::new(),
        lost: None,
        writer: None,
        file: (path.as_os_str() != "-").then(|| path.to_path_buf()),
    })
}

fn open_multipart(path: &Path) -> Result<Opened, OpenError> {
    use redis_persist::aof;
    let input = aof::open(path).map_err(|e| match e.kind() {
        aof::ErrorKind::Manifest(_) => OpenError::Broken(format!("{e}")),
        _ => OpenError::Cannot(e.into()),
    })?;
    let files = input.files();
    let Some(base) = files.first().filter(|f| f.kind == aof::FileKind::Base) else {
        return Err(OpenError::Cannot(anyhow::anyhow!(
            "{}: the manifest lists no BASE file: there is no RDB part for --base-only \
             (drop it to dump the dataset after replay)",
            path.display()
        )));
    };
    let content = base.open().map_err(|e| OpenError::Cannot(e.into()))?;
    if content.rdb_preamble().is_none() {
        return Err(OpenError::Cannot(anyhow::anyhow!(
            "{}: the BASE {} holds RESP commands (aof-use-rdb-preamble no): there is no \
             RDB part for --base-only (drop it to dump the dataset after replay)",
            path.display(),
            base.path.display()
        )));
    }
    drop(content);
    let mut notes = Vec::new();
    let incr: Vec<&aof::AofFile> = files[1..].iter().collect();
    let incr_bytes: u64 = incr
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    if incr_bytes > 0 {
        notes.push(format!(
            "{}: only the BASE snapshot {} was dumped (--base-only); the {} INCR file(s) \
             ({} bytes of commands) were not replayed",
            path.display(),
            base.path.display(),
            incr.len(),
            incr_bytes
        ));
    }
    let (src, size) = open_input(&base.path)?;
    Ok(Opened {
        src,
        size,
        display: base.path.display().to_string(),
        notes,
        lost: None,
        writer: None,
        file: Some(base.path.clone()),
    })
}

fn run_with<Rn: Render>(
    mut render: Rn,
    args: &Args,
    global: Global,
    filter: &Filter,
    threads: usize,
) -> anyhow::Result<ExitStatus> {
    let Opened {
        mut src,
        size,
        display,
        notes,
        lost,
        writer,
        file,
    } = match open(&args.path, args, global) {
        Ok(o) => o,
        Err(OpenError::Cannot(e)) => return Err(e),
        Err(OpenError::Broken(msg)) => return Err(super::input_problem(msg)),
    };
    let to_file = args.output.as_ref().is_some_and(|p| p.as_os_str() != "-");
    let mut output = if to_file {
        let p = args.output.as_deref().unwrap_or(Path::new("-"));
        out::Output::file(p).with_context(|| format!("creating {}", p.display()))?
    } else {
        out::Output::stdout().context("opening standard output")?
    };
    // A progress bar only when the output does not go to the terminal.
    let bar = Bar::new(
        global.progress && (to_file || !std::io::stdout().is_terminal()),
        size,
        &format!("dumping {display}"),
    );
    src.set_progress(bar.handle());

    let mut sink = |b: &[u8]| output.write_all(b);
    let mut out = stream::Out::with_sink(Vec::with_capacity(FLUSH_AT + 64 * 1024), &mut sink);
    let parallel = threads > 1 && size.is_some_and(|s| s >= PARALLEL_FROM);
    let (result, tail) = if parallel {
        let map = file.as_deref().and_then(super::MappedFile::open);
        let res = if let Some(map) = &map {
            // A regular file: mapped, chunks handed out as slices of it, cut
            // at guessed record boundaries; a file without a key record the
            // guesses can start from goes to the walk, which reports why.
            let release = |upto| map.release(upto);
            let handle = bar.handle();
            let guessed = parallel::run_guessed(
                map.mapped(&release),
                threads,
                parallel::CHUNK,
                filter,
                &mut render,
                &mut out,
                Some(&*handle),
            );
            guessed.unwrap_or_else(|| {
                // The framing reader reads the map in place (no copy of the
                // file into its buffer; lengths it skips are never touched).
                let mut msrc =
                    redis_persist::io::Source::new(redis_persist::io::Memory(map.bytes()))
                        .with_size(map.bytes().len() as u64);
                msrc.set_progress(bar.handle());
                parallel::run(
                    msrc,
                    Some(map.mapped(&release)),
                    threads,
                    parallel::CHUNK,
                    filter,
                    &mut render,
                    &mut out,
                )
            })
        } else {
            parallel::run(
                src,
                None,
                threads,
                parallel::CHUNK,
                filter,
                &mut render,
                &mut out,
            )
        };
        let tail = match (&res, size) {
            (Ok(end), Some(size)) => size.saturating_sub(end.offset),
            _ => 0,
        };
        (res, tail)
    } else {
        let mut entries = Entries::new(Reader::new(src));
        // A key too large to hold rendered is read again from the file.
        let reread = match (&file, size) {
            (Some(f), Some(_)) => rdb::Reread::File(f),
            _ => rdb::Reread::No,
        };
        let res = rdb::drive(
            &mut entries,
            filter,
            &mut render,
            &mut out,
            FLUSH_AT,
            reread,
        );
        let tail = match (&res, size) {
            (Ok(end), Some(size)) => size.saturating_sub(end.offset),
            // Standard input: is anything left after the trailer?
            (Ok(_), None) => {
                let mut src = entries.into_reader().into_source();
                u64::from(src.peek(1).is_ok_and(|b| !b.is_empty()))
            }
            (Err(_), _) => 0,
        };
        (res, tail)
    };
    bar.finish();
    if let Some(w) = writer {
        // The replayed dataset was read to its end unless the dump stopped early.
        w.finish(result.is_ok())?;
    }

    let mut unsupported = false;
    let (checksum, error) = match result {
        Ok(end) => (end.checksum, None),
        Err(rdb::Failure::Rdb(e)) if e.is_unsupported() => {
            unsupported = true;
            (
                None,
                Some(format!(
                    "reading {display}: {e}: the file holds content of a newer server than this tool knows (it may be valid: read it with a newer redis-persist)"
                )),
            )
        }
        Err(rdb::Failure::Rdb(e)) => (None, Some(format!("reading {display}: {e}"))),
        Err(rdb::Failure::Other(e)) => (None, Some(format!("reading {display}: {e:#}"))),
        Err(rdb::Failure::Io(e)) => return Err(e).context("writing the dump"),
    };
    render.finish(&mut out, checksum, error.as_deref());
    out.flush().context("writing the dump")?;
    drop(out);
    output.commit().context("writing the dump")?;

    let (_, stats) = render.take();
    for n in &notes {
        warn(n);
    }
    report(&stats, args, &display, tail);
    if let Some(l) = &lost {
        warn(l);
    }
    match error {
        Some(e) => {
            let status = if unsupported {
                ExitStatus::Unsupported
            } else {
                ExitStatus::Problems
            };
            crate::output::eprint_line(&format!("{e} ({})", super::hint_for(status, None)));
            Ok(status)
        }
        None if lost.is_some() => Ok(ExitStatus::Problems),
        None => Ok(ExitStatus::Ok),
    }
}

/// Warnings about what the output does not hold. `tail`: bytes after the RDB
/// trailer (on standard input, only whether there are any: 1).
fn report(stats: &Stats, args: &Args, display: &str, tail: u64) {
    if tail > 0 {
        let what = if display == "-" {
            "data follows".to_string()
        } else {
            format!("{tail} bytes follow")
        };
        warn(&format!(
            "{display}: {what} the RDB (a hybrid AOF's commands): only the RDB preamble \
             was dumped, the AOF tail was not replayed (--replay replays it)"
        ));
    }
    if stats.empty_keys > 0 {
        warn(&format!(
            "{} empty aggregate key(s) (Redis skips them when loading){}",
            stats.empty_keys,
            if args.format == Format::Resp {
                ": not written"
            } else {
                ""
            }
        ));
    }
    if stats.module_aux_dropped > 0 {
        warn(&format!(
            "{} module aux record(s) cannot be expressed as commands: not written",
            stats.module_aux_dropped
        ));
    }
    if stats.expired_fields > 0 {
        warn(&format!(
            "{} hash field(s) whose TTL has passed were left out (--include-expired keeps them)",
            stats.expired_fields
        ));
    }
    if stats.inexact_streams > 0 {
        warn(&format!(
            "{} stream(s) have pending entries for deleted entries: their max-deleted-id \
             cannot be restored exactly",
            stats.inexact_streams
        ));
    }
    if stats.inexact_vectors > 0 {
        warn(&format!(
            "{} vector set element(s) of REDUCE sets: the VADD values written project to \
             slightly different quantized vectors",
            stats.inexact_vectors
        ));
    }
}
