//! `stats`: the whole-keyspace analysis of an RDB file, the RDB preamble of a
//! hybrid AOF, or the RDB base of a multi-part AOF, in one streaming pass.
//!
//! The command opens the input, picks the key source (today the RDB reader,
//! [`redis_persist::stats::rdb`]; a replayed dataset can plug in as another
//! source producing the same `Analysis`), and renders the report as tables,
//! one JSON document ([`json`]) or one CSV table ([`csv`]).
//!
//! Exit status: 0 the whole input was read; 1 the input is damaged (the
//! statistics cover what could be read, and the problem is reported); 2 the
//! input could not be read at all or is not something `stats` understands.

mod csv;
mod human;
mod json;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use redis_persist::stats::rdb::{self as stats_rdb, KeyRecord, Settings};
use redis_persist::stats::{Options, memory};

use super::{ExitStatus, Global, Input, open_input};
use crate::output::progress::Bar;

/// A table of the report, for `--csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CsvTable {
    /// One row per database.
    Dbs,
    /// One row per data type (all databases).
    Types,
    /// One row per database and data type.
    DbTypes,
    /// Keys and memory per type and in-memory encoding.
    Encodings,
    /// Keys per RDB encoding (type byte).
    RdbEncodings,
    /// The biggest keys by serialized size.
    TopSize,
    /// The keys with the most elements.
    TopElements,
    /// The keys with the largest memory estimate.
    TopMemory,
    /// The prefix tree (largest prefixes per level).
    Prefixes,
    /// Keys per TTL bucket.
    Ttl,
    /// Every key (streamed in file order; like a per-key memory report).
    Keys,
}

/// Arguments of `stats`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An RDB file, a hybrid AOF (its RDB preamble is analysed), or a
    /// multi-part AOF directory or manifest whose base is an RDB (`-` reads
    /// standard input).
    pub path: PathBuf,
    /// Length of the top lists, and of each level of the prefix tree.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,
    /// Key prefix separator.
    #[arg(long, default_value = ":", value_name = "SEP")]
    pub separator: String,
    /// Levels of the prefix tree (0 turns prefix statistics off).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub depth: usize,
    /// Distinct prefixes kept before the smallest are folded away (bounds
    /// memory on keyspaces with millions of prefixes).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub max_prefixes: usize,
    /// Print one JSON document on stdout instead of tables.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print one table as CSV on stdout instead of the report.
    #[arg(long, value_enum, value_name = "TABLE")]
    pub csv: Option<CsvTable>,
    /// Reference time for TTLs, in Unix milliseconds (default: now).
    #[arg(long, value_name = "UNIX_MS")]
    pub now: Option<i64>,
    /// Worker threads (default: one more than the number of CPUs, as the thread
    /// that frames the file is often idle).
    #[arg(long, value_name = "N", value_parser = super::parse_threads)]
    pub threads: Option<usize>,
    /// Validate every value in depth, as check-rdb does (slower). Without it,
    /// values are measured, and the CRC-64 detects corruption.
    #[arg(long)]
    pub deep: bool,
    /// An encoding threshold of the server the estimate is for, as in
    /// redis.conf (e.g. `hash-max-listpack-entries=128`); repeatable. Defaults
    /// are Redis 7.0's.
    #[arg(long = "server-config", value_name = "NAME=VALUE")]
    pub server_config: Vec<String>,
    /// For an AOF input, analyse only its RDB base or preamble (streaming, in
    /// bounded memory) instead of the dataset after replaying every file.
    #[arg(long, conflicts_with = "replay")]
    pub base_only: bool,
    /// Replay a hybrid single-file AOF (RDB preamble + commands) instead of
    /// analysing its preamble alone. Directories, manifests and AOFs of commands
    /// are always replayed unless `--base-only`.
    #[arg(long)]
    pub replay: bool,
}

/// What `stats` read, where from.
pub struct Origin {
    /// The path as given.
    path: String,
    /// What the input turned out to be (`rdb`, `hybrid-aof`, `aof-base`).
    kind: &'static str,
    /// The file analysed, when it differs from the path (a multi-part base).
    file: Option<PathBuf>,
    /// Its size, when known.
    size: Option<u64>,
    /// Bytes of the multi-part INCR files (commands, not included).
    incr_bytes: Option<u64>,
    /// How the AOF was replayed, when it was.
    replay: Option<String>,
}

/// An input opened and positioned at its RDB magic.
enum Opened {
    /// A file or standard input.
    Plain(Input),
    /// The base of a multi-part AOF.
    Base(redis_persist::io::Source<std::fs::File>),
    /// An AOF replayed into an RDB stream.
    Replayed(Box<super::replayed::Replayed>),
}

/// Opens the input: an RDB or hybrid AOF file (or standard input), or a
/// multi-part AOF directory or manifest whose base starts with an RDB.
fn open(path: &Path, args: &Args, global: Global) -> anyhow::Result<(Opened, Origin)> {
    use redis_persist::aof::{self, FileKind, Resolved};
    let display = path.display().to_string();
    if (super::replayed::is_aof_input(path) && !args.base_only)
        || (args.replay && path.as_os_str() != "-")
    {
        let now = args.now.unwrap_or_else(redis_persist::rdb::check::now_ms);
        let progress = global.progress && !args.json && args.csv.is_none();
        let r = super::replayed::open(path, now, progress)?;
        let replay = Some(format!(
            "{} (analysed as an RDB {} stream)",
            r.describe(),
            r.rdb_version
        ));
        return Ok((
            Opened::Replayed(Box::new(r)),
            Origin {
                path: display,
                kind: "aof-replayed",
                file: None,
                size: None,
                incr_bytes: None,
                replay,
            },
        ));
    }
    let multi = path.as_os_str() != "-"
        && (path.is_dir() || matches!(aof::resolve(path), Ok(Resolved::Manifest(_))));
    if multi {
        let input = aof::open(path).with_context(|| format!("reading {display}"))?;
        let base = input
            .files()
            .iter()
            .find(|f| f.kind == FileKind::Base)
            .with_context(|| format!("{display}: the manifest lists no base file"))?;
        let incr_bytes = input
            .files()
            .iter()
            .filter(|f| f.kind == FileKind::Incr)
            .map(|f| std::fs::metadata(&f.path).map_or(0, |m| m.len()))
            .sum();
        let content = base
            .open()
            .with_context(|| format!("reading {}", base.path.display()))?;
        if content.rdb_preamble().is_none() {
            anyhow::bail!(
                "{display}: the base {} is an AOF of commands, so there is no RDB part for --base-only (drop it to analyse the replayed dataset)",
                base.path.display()
            );
        }
        let size = std::fs::metadata(&base.path).ok().map(|m| m.len());
        return Ok((
            Opened::Base(content.into_source()),
            Origin {
                path: display,
                kind: "aof-base",
                file: Some(base.path.clone()),
                size,
                incr_bytes: Some(incr_bytes),
                replay: None,
            },
        ));
    }
    let (mut src, size) = open_input(path)?;
    let head = src
        .peek(9)
        .with_context(|| format!("reading {display}"))?
        .to_vec();
    if !redis_persist::rdb::is_rdb_magic(&head) {
        if head.first() == Some(&b'*') {
            let how = if args.base_only {
                "drop --base-only to analyse the replayed dataset"
            } else {
                "standard input is read as an RDB; give the AOF as a file to replay it"
            };
            // Not a problem of the input: what was asked cannot be done (2).
            anyhow::bail!("{display}: an AOF of commands has no RDB part ({how})");
        }
        return Err(super::input_problem(if head.is_empty() {
            format!("{display}: empty, not an RDB file or an AOF")
        } else {
            format!("{display}: not an RDB file (no REDIS or VALKEY magic) nor an AOF")
        }));
    }
    Ok((
        Opened::Plain(src),
        Origin {
            path: display,
            kind: "rdb",
            file: None,
            size,
            incr_bytes: None,
            replay: None,
        },
    ))
}

fn options(args: &Args) -> anyhow::Result<Options> {
    let mut mem = memory::Config::default();
    for kv in &args.server_config {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--server-config {kv}: expected NAME=VALUE"))?;
        let v: i64 = v
            .trim()
            .parse()
            .with_context(|| format!("--server-config {kv}: the value is not an integer"))?;
        if !mem.set(k.trim(), v) {
            anyhow::bail!(
                "--server-config {kv}: unknown setting (hash-max-listpack-entries, hash-max-listpack-value, zset-max-listpack-entries, zset-max-listpack-value, set-max-intset-entries, set-max-listpack-entries, list-max-listpack-size)"
            );
        }
    }
    if args.separator.is_empty() {
        anyhow::bail!("--separator must not be empty");
    }
    Ok(Options {
        top: args.top,
        separator: args.separator.as_bytes().to_vec(),
        depth: args.depth,
        max_prefixes: args.max_prefixes,
        now_ms: args.now.unwrap_or_else(redis_persist::rdb::check::now_ms),
        memory: mem,
    })
}

/// The top-level keys of the `--json` document (also those of a failed run's).
pub const JSON_KEYS: &[&str] = &[
    "error",
    "path",
    "input",
    "analysed_file",
    "size",
    "incr_bytes",
    "replay",
    "format",
    "rdb_version",
    "aux",
    "complete",
    "checksum",
    "trailing_bytes",
    "problems",
    "keys",
    "expires",
    "already_expired",
    "field_ttls",
    "elements",
    "key_bytes",
    "value_bytes",
    "memory",
    "by_type",
    "by_db",
    "encodings",
    "rdb_encodings",
    "top",
    "top_by_size",
    "top_by_elements",
    "top_by_memory",
    "prefixes",
    "ttl",
    "lfu",
    "lru_idle_seconds",
    "functions",
    "lua_scripts",
    "modules",
    "module_aux",
];

/// Runs `stats`.
pub fn run(args: &Args, global: Global) -> anyhow::Result<ExitStatus> {
    let opts = options(args)?;
    let (input, origin) = open(&args.path, args, global)?;
    // The key source: the RDB, the RDB base / preamble, or the replayed dataset
    // streamed as an RDB.
    match input {
        Opened::Plain(src) => analyse_file(src, origin, args, global, &opts),
        Opened::Base(src) => analyse_file(src, origin, args, global, &opts),
        Opened::Replayed(r) => {
            let r = *r;
            let lost = r.dropped_tail();
            let status = analyse(r.source, None, origin, args, global, &opts);
            // The stream was read to its end unless the analysis failed.
            r.writer.finish(status.is_ok())?;
            match lost {
                Some(l) => {
                    use std::io::Write as _;
                    let _ = writeln!(std::io::stderr(), "redis-persist: warning: {l}");
                    status.map(|s| match s {
                        ExitStatus::Ok | ExitStatus::Unsupported => ExitStatus::Problems,
                        s => s,
                    })
                }
                None => status,
            }
        }
    }
}

/// Analyses a regular file mapped into memory when it can be (the workers then
/// get slices of it instead of copies), else the stream `src` reads.
fn analyse_file<R: redis_persist::io::Input>(
    src: redis_persist::io::Source<R>,
    origin: Origin,
    args: &Args,
    global: Global,
    opts: &Options,
) -> anyhow::Result<ExitStatus> {
    let path = origin
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(&origin.path));
    // Only a source that is at the file's first byte can be swapped for a map.
    let map = (src.offset() == 0)
        .then(|| super::MappedFile::open(&path))
        .flatten();
    match map {
        Some(map) => {
            let msrc =
                redis_persist::io::Source::new(map.bytes()).with_size(map.bytes().len() as u64);
            analyse(msrc, Some(&map), origin, args, global, opts)
        }
        None => analyse(src, None, origin, args, global, opts),
    }
}

/// Analyses the RDB in `src` (which reads `map` when there is one) and writes
/// the report.
fn analyse<R: redis_persist::io::Input>(
    mut src: redis_persist::io::Source<R>,
    map: Option<&super::MappedFile>,
    mut origin: Origin,
    args: &Args,
    global: Global,
    opts: &Options,
) -> anyhow::Result<ExitStatus> {
    let bar = Bar::new(
        global.progress && !args.json && args.csv.is_none(),
        origin.size,
        &format!("analysing {}", origin.path),
    );
    src.set_progress(bar.handle());
    let settings = Settings {
        threads: args.threads.unwrap_or_else(super::default_workers).max(1),
        deep: args.deep,
        count_trailing: true,
        ..Settings::default()
    };

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let release = |upto| {
        if let Some(m) = map {
            m.release(upto);
        }
    };
    // With a map, `src` reads it: hand its bytes to the workers too.
    let mapped = map.map(|m| m.mapped(&release));
    let analysis = if args.csv == Some(CsvTable::Keys) {
        // Streamed: rows are written as the chunks come back, in file order.
        let mut w = csv::KeysWriter::new(&mut out)?;
        let mut row = |k: &KeyRecord| w.row(k);
        let a = stats_rdb::analyze_in(src, mapped, opts, settings, Some(&mut row)).0;
        w.finish()?;
        a
    } else {
        stats_rdb::analyze_in(src, mapped, opts, settings, None).0
    };
    bar.finish();
    if origin.kind == "rdb" && analysis.file.trailing_bytes.is_some_and(|n| n > 0) {
        origin.kind = "hybrid-aof";
    }

    match args.csv {
        Some(CsvTable::Keys) => {}
        Some(table) => csv::write(&mut out, table, &analysis)?,
        None if args.json => {
            let doc = json::document(&origin, &analysis, opts);
            serde_json::to_writer_pretty(&mut out, &doc).context("writing JSON")?;
            writeln!(out)?;
        }
        None => human::write(&mut out, &origin, &analysis, opts)?,
    }
    out.flush()?;
    Ok(if analysis.is_complete() {
        ExitStatus::Ok
    } else if analysis.is_unsupported() {
        ExitStatus::Unsupported
    } else {
        ExitStatus::Problems
    })
}
