//! `rewrite`: writes the keys of one or more snapshots (or AOFs, after replay)
//! as an RDB for another server line (`--target redis-6.2`, `valkey-9.0`, …):
//! a downgrade, Redis ↔ Valkey, filtered, several inputs merged.
//!
//! The pipeline is the library's ([`redis_persist::rdb::rewrite`]): each
//! input's records (the streaming RDB reader, or a replayed AOF dataset) go
//! through the filters, the database map, duplicate detection and the
//! target's rules into one RDB writer, or with `--split-by-slot` into one
//! writer per master of a cluster layout (the library's `SplitSink`, behind
//! the same `Sink` trait): OUTPUT is then a directory receiving `<node>.rdb`
//! per node.
//!
//! Each output is written to a temporary file next to it, checked by the
//! `check-rdb` checker (with the target's version rules and duplicate-key
//! detection) reading its bytes as they are written, on its own thread
//! ([`rewrite::Checked`]), synced, reconciled database by database against
//! what was written to it, and only then renamed into place (all of them, or
//! none).
//!
//! Exit status: 0 every key read was written unchanged (filtered keys aside);
//! 1 the output was written but a key was changed, skipped or dropped as a
//! duplicate (or a library / module aux record was dropped); 2 nothing was
//! written (a key refused under `--incompatible fail` or `--duplicates
//! fail`, a damaged input, the re-check or reconciliation failed, I/O);
//! 3 an input is of a newer format than this tool reads.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use redis_persist::cluster::{Layout, RangeList};
use redis_persist::model::{Entry, KeyType};
use redis_persist::rdb::check::{self, CheckOptions};
use redis_persist::rdb::rewrite::{
    self, Checked, ClusterDb, Dedup, Duplicates, Incompatible, LastIndex, Next, Record, Report,
    Rewriter, Sink, SplitSink, Step,
};
use redis_persist::rdb::target::{self, Target};
use redis_persist::rdb::writer::Writer;
use redis_persist::rdb::{Entries, Reader};
use serde_json::{Value as J, json};

use super::dump::filter::{Expiry, Filter, KeyArgs};
use super::dump::out::Output;
use super::{ExitStatus, Global};
use crate::output::{self, progress::Bar};

/// What to do with what the target cannot hold.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum IncompatibleArg {
    /// List every such key and library and write nothing (exit 2).
    Fail,
    /// Leave such keys out (listed in the report; exit 1).
    SkipKey,
    /// Drop the feature and keep the key (listed; exit 1): field TTLs (fields
    /// already expired are left out), stream IDMP state, stream counters and
    /// consumer active times older formats lack, function libraries. A vector
    /// set for a server without them is left out.
    DropFeature,
}

/// Which record of a key found in several inputs is kept.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum DuplicatesArg {
    /// List every duplicate key and write nothing (exit 2).
    Fail,
    /// The first, in input order.
    First,
    /// The last, in input order (reads the inputs twice; not with `-`).
    Last,
}

/// Arguments of `rewrite`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Targets (RDB version, magic): redis-6.0, redis-6.2 (9, REDIS0009); redis-7.0 (10); \
redis-7.2 (11); redis-7.4, redis-8.0, redis-8.2, redis-8.4 (12); redis-8.6 (13); \
valkey-7.2, valkey-8.0, valkey-8.1 (11, REDIS0011); valkey-9.0, valkey-9.1 (80, VALKEY080).

Examples:
  redis-persist rewrite dump.rdb -o dump-6.2.rdb --target redis-6.2
  redis-persist rewrite dump.rdb -o valkey.rdb --target valkey-9.0 --incompatible drop-feature
  redis-persist rewrite a.rdb b.rdb -o merged.rdb --target 7.0 --duplicates last --db-map 1=0
  redis-persist rewrite dump.rdb -o shards/ --target redis-7.0 --split-by-slot nodes.conf --db 0")]
pub struct Args {
    /// Inputs: RDB files (`-` = standard input), AOF files, directories or
    /// manifests (their dataset after replay, held in memory).
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<PathBuf>,
    /// The RDB to write (atomically; never one of the inputs); with
    /// --split-by-slot, the directory receiving one RDB per node (created if
    /// missing).
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: PathBuf,
    /// The server line to write for (see below).
    #[arg(long, value_name = "SERVER-VERSION", value_parser = parse_target,
          required_unless_present = "rdb_version", conflicts_with = "rdb_version")]
    pub target: Option<Target>,
    /// Write RDB version N for the first server that writes it (9: Redis 6.2,
    /// 10: 7.0, 11: 7.2, 12: 7.4, 13: 8.6, 80: Valkey 9).
    #[arg(long, value_name = "N", value_parser = parse_rdb_version)]
    pub rdb_version: Option<Target>,
    /// What the target cannot hold.
    #[arg(long, value_enum, default_value = "fail", value_name = "POLICY")]
    pub incompatible: IncompatibleArg,
    /// A key in several inputs (or twice in one).
    #[arg(long, value_enum, value_name = "POLICY")]
    pub duplicates: Option<DuplicatesArg>,
    #[command(flatten)]
    pub select: KeyArgs,
    /// Leave out keys whose expire time has passed (relative to --now).
    #[arg(long)]
    pub drop_expired: bool,
    /// "Now" in Unix milliseconds (default: the current time), for
    /// --drop-expired and for hash fields already expired when their TTLs are
    /// dropped.
    #[arg(long, value_name = "UNIX_MS")]
    pub now: Option<i64>,
    /// Move the keys of database FROM to database TO (repeatable; filters
    /// apply to the input's database numbers).
    #[arg(long = "db-map", value_name = "FROM=TO", value_parser = parse_db_map)]
    pub db_map: Vec<(u64, u64)>,
    /// Split by cluster hash slot: one RDB per master of LAYOUT, holding
    /// exactly the keys of its slots (db 0 only; keys of other databases
    /// follow --incompatible). LAYOUT is a number N (N equal ranges, as
    /// `redis-cli --cluster create` assigns; files node0.rdb..) or a file: a
    /// nodes.conf / CLUSTER NODES text, or `redis-cli --json CLUSTER SHARDS`
    /// (files <node-id>.rdb).
    #[arg(long, value_name = "LAYOUT")]
    pub split_by_slot: Option<OsString>,
    /// Read every INPUT file as an AOF and replay it (for a hybrid single-file
    /// AOF, which would otherwise be read as its RDB preamble and refused).
    #[arg(long)]
    pub aof: bool,
    /// Replace OUTPUT when it exists.
    #[arg(long)]
    pub force: bool,
    /// Print the report as one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

fn parse_target(s: &str) -> Result<Target, String> {
    target::by_name(s).ok_or_else(|| {
        format!(
            "unknown target; one of: {}",
            target::names().collect::<Vec<_>>().join(", ")
        )
    })
}

fn parse_rdb_version(s: &str) -> Result<Target, String> {
    let v: u32 = s.parse().map_err(|e| format!("{e}"))?;
    target::for_rdb_version(v).ok_or_else(|| format!("one of {}", target::versions_text()))
}

fn parse_db_map(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s.split_once('=').ok_or("expected FROM=TO")?;
    let n = |x: &str| x.trim().parse::<u64>().map_err(|e| format!("{x:?}: {e}"));
    Ok((n(a)?, n(b)?))
}

/// One input as read.
#[derive(Debug, Default)]
struct InputInfo {
    kind: &'static str,
    rdb: Option<(String, u32)>,
    note: Option<String>,
}

/// Why nothing was written.
enum Stop {
    /// An input of a newer format (exit 3).
    Unsupported(anyhow::Error),
    /// Anything else (exit 2).
    Error(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Stop {
    fn from(e: E) -> Self {
        Self::Error(e.into())
    }
}

/// The top-level keys of the `--json` document (also of a failed run's, README
/// "Exit codes").
pub const JSON_KEYS: &[&str] = &[
    "error",
    "target",
    "rdb_version",
    "magic",
    "output",
    "written",
    "inputs",
    "keys_in",
    "keys_out",
    "filtered",
    "changed",
    "skipped",
    "duplicates",
    "refused",
    "functions_in",
    "functions_out",
    "functions_dropped",
    "module_aux_dropped",
    "modules_passed",
    "dbs",
    "nodes",
    "problems",
];

/// Runs `rewrite`.
pub fn run(args: &Args, global: Global) -> anyhow::Result<ExitStatus> {
    let Some(target) = args.target.or(args.rdb_version) else {
        bail!("give --target or --rdb-version");
    };
    let inputs: Vec<&Path> = args.inputs.iter().map(PathBuf::as_path).collect();
    let layout = args.split_by_slot.as_deref().map(load_layout).transpose()?;
    let paths: Vec<PathBuf> = match &layout {
        None => vec![args.output.clone()],
        Some(l) => {
            if args.output.exists() && !args.output.is_dir() {
                bail!(
                    "{} is not a directory (--split-by-slot writes one RDB per node into OUTPUT)",
                    args.output.display()
                );
            }
            node_paths(&args.output, l)
        }
    };
    for p in &paths {
        super::clobber::refuse_output_over_input(p, &inputs)?;
    }
    if args.inputs.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        bail!("standard input (`-`) can be given once");
    }
    for p in &paths {
        if std::fs::symlink_metadata(p).is_ok() && !args.force {
            bail!("{} exists (use --force to replace it)", p.display());
        }
    }
    let now = args.now.unwrap_or_else(check::now_ms);
    let duplicates = match args.duplicates {
        None | Some(DuplicatesArg::Fail) => Duplicates::Fail,
        Some(DuplicatesArg::First) => Duplicates::First,
        Some(DuplicatesArg::Last) => Duplicates::Last,
    };
    let dedup = args.inputs.len() > 1 || args.duplicates.is_some();
    if duplicates == Duplicates::Last && args.inputs.iter().any(|p| p.as_os_str() == "-") {
        bail!("--duplicates last reads the inputs twice: standard input cannot be one");
    }
    let incompatible = match args.incompatible {
        IncompatibleArg::Fail => Incompatible::Fail,
        IncompatibleArg::SkipKey => Incompatible::SkipKey,
        IncompatibleArg::DropFeature => Incompatible::DropFeature,
    };
    // Fail on a bad regular expression before reading anything.
    filter_steps(args, now)?;

    // With `last`, a first pass notes where each key is seen last.
    let mut last = None;
    let mut last_functions = HashMap::new();
    if dedup && duplicates == Duplicates::Last {
        let mut index = LastIndex::default();
        let mut steps = filter_steps(args, now)?;
        for (i, path) in args.inputs.iter().enumerate() {
            let r = read_input(path, args, global, now, "indexing", &mut |rec| {
                let mut e = match rec {
                    Record::Entry(e) => *e,
                    Record::Flat(f) => f.entry,
                    Record::Function(lib) => {
                        if let Some((_, name)) = lib.engine_and_name() {
                            last_functions.insert(name.into_bytes(), i);
                        }
                        return Ok(());
                    }
                    Record::ModuleAux { .. } | Record::EmptyKey { .. } => return Ok(()),
                };
                if rewrite::kept_by(&mut steps, i, &mut e) {
                    index.note(i, e.db, &e.key);
                }
                Ok(())
            });
            if let Err(stop) = r {
                return stopped(stop);
            }
        }
        last = Some(index);
    }

    // The directories created here are removed again when nothing is
    // written (declared before the outputs: dropped after them, once their
    // temporary files are gone).
    let mut created = match layout {
        Some(_) => CreatedDirs::create(&args.output)?,
        None => CreatedDirs::default(),
    };
    let outs = paths
        .iter()
        .map(|p| Output::file(p).with_context(|| format!("creating {}", p.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut tmps = Vec::new();
    for (out, p) in outs.iter().zip(&paths) {
        let Some(tmp) = out.temp_path() else {
            bail!("{} is not a regular file", p.display());
        };
        tmps.push(tmp.to_path_buf());
    }
    // Each output is checked as it is written (rewrite::Checked: the checker
    // on its own thread reads the bytes as they are produced).
    let check_opts = CheckOptions {
        count_trailing: true,
        ..CheckOptions::default()
    };
    let mut writers = outs
        .iter()
        .zip(&tmps)
        .map(|(out, tmp)| {
            let checked = Checked::new(out.handle(), check_opts)
                .with_context(|| format!("starting the check of {}", tmp.display()))?;
            Writer::new(checked, target.writer_options())
                .with_context(|| format!("writing {}", tmp.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut steps = filter_steps(args, now)?;
    if dedup {
        steps.push(Box::new(match last {
            Some(index) => Dedup::last(index),
            None => Dedup::new(duplicates),
        }));
    }
    if layout.is_some() {
        steps.push(Box::new(ClusterDb(incompatible)));
    }
    let mut split = layout.map(|l| SplitSink::new(l, std::mem::take(&mut writers)));
    let mut infos = Vec::new();
    let report = {
        let sink: &mut dyn Sink = match &mut split {
            Some(s) => s,
            None => &mut writers[0],
        };
        let mut rw = Rewriter::new(target, incompatible, duplicates, steps, sink, now);
        rw.set_last_functions(last_functions);
        for (i, path) in args.inputs.iter().enumerate() {
            rw.begin_input(i);
            match read_input(path, args, global, now, "rewriting", &mut |rec| {
                rw.push(rec)
                    .with_context(|| format!("writing {}", args.output.display()))
            }) {
                Ok(info) => infos.push(info),
                Err(stop) => return stopped(stop),
            }
        }
        rw.finish()
    };
    // What each output should hold, by database: the layout's nodes with
    // the keys routed to them, or the one output.
    let (finishing, mut nodes) = match split.take() {
        Some(s) => {
            let nodes: Vec<NodeOut> = s
                .layout()
                .nodes()
                .iter()
                .zip(s.keys())
                .zip(&paths)
                .map(|((n, &keys), p)| NodeOut {
                    id: n.id.clone(),
                    ranges: RangeList(&n.ranges).to_string(),
                    output: p.clone(),
                    keys,
                    read_back: None,
                })
                .collect();
            (s.into_writers(), nodes)
        }
        None => (std::mem::take(&mut writers), Vec::new()),
    };
    drop(writers);
    drop(split);
    if !report.refused.is_empty() {
        drop(finishing);
        drop(outs);
        for n in &mut nodes {
            n.keys = 0;
        }
        drop(created);
        emit(args, target, &report, &infos, None, &nodes)?;
        return Ok(ExitStatus::Error);
    }
    let mut reports = Vec::new();
    for (w, tmp) in finishing.into_iter().zip(&tmps) {
        let checked = w
            .finish()
            .with_context(|| format!("writing {}", tmp.display()))?;
        reports.push(checked.finish());
    }
    let mut checked = Recheck {
        dbs: BTreeMap::new(),
        problems: Vec::new(),
    };
    for (i, (out, tmp)) in outs.iter().zip(&tmps).enumerate() {
        out.handle()
            .sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        let written: BTreeMap<u64, u64> = match nodes.get(i) {
            Some(n) => BTreeMap::from([(0, n.keys)]),
            None => report.dbs_out.iter().map(|(d, c)| (*d, c.keys)).collect(),
        };
        // Duplicate keys found by hash are confirmed on the written bytes.
        if let Some(r) = reports[i]
            .as_mut()
            .filter(|r| !r.unconfirmed_duplicates.is_empty())
        {
            let f =
                std::fs::File::open(tmp).with_context(|| format!("reading {}", tmp.display()))?;
            let _ = check::confirm_duplicates(r, redis_persist::io::Source::new(f));
        }
        let c = recheck(reports[i].take(), target, &written);
        for (db, n) in &c.dbs {
            *checked.dbs.entry(*db).or_default() += n;
        }
        if let Some(node) = nodes.get_mut(i) {
            node.read_back = Some(c.dbs.values().sum());
            let name = node.output.display().to_string();
            checked
                .problems
                .extend(c.problems.into_iter().map(|p| format!("{name}: {p}")));
        } else {
            checked.problems.extend(c.problems);
        }
    }
    if !report.balanced() {
        checked
            .problems
            .push("keys read ≠ written + filtered + skipped + duplicates".into());
    }
    let ok = checked.problems.is_empty();
    if ok {
        for (i, (out, p)) in outs.into_iter().zip(&paths).enumerate() {
            if let Err(e) = out.commit() {
                // In a directory of this run, the files renamed before go.
                if created.any() {
                    for done in &paths[..i] {
                        let _ = std::fs::remove_file(done);
                    }
                }
                return Err(e).with_context(|| format!("renaming into {}", p.display()));
            }
        }
        created.keep();
    } else {
        drop(outs);
        drop(created);
    }
    emit(args, target, &report, &infos, Some(&checked), &nodes)?;
    Ok(if !ok {
        ExitStatus::Error
    } else if report.is_lossless() {
        ExitStatus::Ok
    } else {
        ExitStatus::Problems
    })
}

/// The directories `--split-by-slot` created for OUTPUT (it and its missing
/// parents), removed again when dropped before [`CreatedDirs::keep`]: a run
/// that writes nothing (a damaged input, a refused key, a failed re-check,
/// an I/O error) leaves nothing it created. Only empty directories are
/// removed, so nothing of anyone else's goes.
#[derive(Default)]
struct CreatedDirs {
    /// Deepest first.
    dirs: Vec<PathBuf>,
    keep: bool,
}

impl CreatedDirs {
    /// Creates `dir` and its missing parents.
    fn create(dir: &Path) -> anyhow::Result<Self> {
        let mut dirs = Vec::new();
        let mut d = Some(dir);
        while let Some(p) = d.filter(|p| !p.as_os_str().is_empty()) {
            if std::fs::symlink_metadata(p).is_ok() {
                break;
            }
            dirs.push(p.to_path_buf());
            d = p.parent();
        }
        let guard = Self { dirs, keep: false };
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(guard)
    }

    /// Whether this run created OUTPUT.
    fn any(&self) -> bool {
        !self.dirs.is_empty()
    }

    /// The outputs are in place: the directories stay.
    fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        if !self.keep {
            for d in &self.dirs {
                let _ = std::fs::remove_dir(d);
            }
        }
    }
}

/// One output of a split: a master of the layout and what it was given.
struct NodeOut {
    id: String,
    /// Its slot ranges, as Redis lists them.
    ranges: String,
    output: PathBuf,
    /// Keys routed to it.
    keys: u64,
    /// Keys the re-read found in its file.
    read_back: Option<u64>,
}

/// The layout of `--split-by-slot`: a number N (N equal ranges), or a file
/// (nodes.conf / CLUSTER NODES text, or CLUSTER SHARDS JSON).
fn load_layout(arg: &std::ffi::OsStr) -> anyhow::Result<Layout> {
    if let Some(n) = arg.to_str().and_then(|s| s.trim().parse::<usize>().ok()) {
        return Layout::equal(n).context("--split-by-slot");
    }
    let path = Path::new(arg);
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the cluster layout {}", path.display()))?;
    Layout::parse(&text).with_context(|| format!("cluster layout {}", path.display()))
}

/// The file of each node in `dir`: `<node id>.rdb` (`node0.rdb`.. for N equal
/// ranges), or `node<i>.rdb` when an id is not a plain file name.
fn node_paths(dir: &Path, layout: &Layout) -> Vec<PathBuf> {
    layout
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let plain = !n.id.is_empty()
                && n.id.len() <= 200
                && n.id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if plain {
                dir.join(format!("{}.rdb", n.id))
            } else {
                dir.join(format!("node{i}.rdb"))
            }
        })
        .collect()
}

/// A run stopped by its input: an error for the contract to render (exit 1
/// for a damaged input or one that is not an RDB, 3 for a newer format, 2
/// otherwise; README, "Exit codes").
fn stopped(stop: Stop) -> anyhow::Result<ExitStatus> {
    match stop {
        Stop::Error(e) => Err(e),
        Stop::Unsupported(e) => Err(e.context("nothing was written")),
    }
}

/// The filter steps: database, key name, type, expiry; then `--db-map`.
fn filter_steps(args: &Args, now: i64) -> anyhow::Result<Vec<Box<dyn Step>>> {
    let expiry = if args.drop_expired {
        Expiry::NotExpired
    } else {
        Expiry::Any
    };
    let filter = Filter::from_options(&args.select, expiry, now)?;
    let keep = move |e: &Entry| {
        let kind = match e.value.key_type() {
            KeyType::VectorSet => KeyType::Module,
            k => k,
        };
        filter.accepts(e.db, &e.key, kind, e.expire_ms)
    };
    Ok(vec![
        Box::new(rewrite::Filter(keep)),
        Box::new(rewrite::DbMap(args.db_map.iter().copied().collect())),
    ])
}

/// Reads one input, handing each record to `f`.
fn read_input(
    path: &Path,
    args: &Args,
    global: Global,
    now: i64,
    what: &str,
    f: &mut dyn FnMut(Record) -> anyhow::Result<()>,
) -> Result<InputInfo, Stop> {
    let show = path.display();
    let progress = global.progress && !args.json;
    if path.as_os_str() != "-" && (args.aof || super::replayed::is_aof_input(path)) {
        let opts = redis_persist::replay::aof::Options {
            now_ms: now,
            keep_expired: true,
            ..Default::default()
        };
        let (ds, summary) = redis_persist::replay::aof::replay_input(path, &opts)
            .map_err(|e| anyhow::anyhow!("replaying {show}: {e}"))?;
        for lib in ds.function_libraries() {
            f(Record::Function(lib))?;
        }
        for e in ds.entries() {
            f(Record::Entry(Box::new(e)))?;
        }
        let note = format!(
            "{} file(s) replayed, {} commands applied",
            summary.files.len(),
            summary.applied
        );
        // Freeing a large dataset takes time nobody waits for.
        std::mem::forget(ds);
        return Ok(InputInfo {
            kind: "aof",
            rdb: None,
            note: Some(note),
        });
    }
    // The reader runs on its own thread, ahead of the transforms and the
    // writer (about 1.6 times faster on 2 CPUs). Records travel in batches
    // (a record at a time, the two threads spent a fifth of their time
    // waking each other); memory stays bounded by the channel's capacity in
    // batches, each at most BATCH_BYTES of input (or one larger record).
    let mut info = InputInfo {
        kind: "rdb",
        ..InputInfo::default()
    };
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Result<Next, Stop>>>(AHEAD);
        let reader = scope.spawn(move || read_rdb(path, progress, what, &tx));
        let mut result = Ok(());
        for item in rx.iter().flatten() {
            let r = match item {
                Err(stop) => Err(stop),
                Ok(Next::Header { format, version }) => {
                    info.rdb = Some((format!("{format:?}"), version));
                    Ok(())
                }
                Ok(Next::Eof) => Ok(()),
                Ok(Next::Record(rec)) => f(rec).map_err(Stop::Error),
            };
            if r.is_err() {
                result = r;
                break;
            }
        }
        // (Dropping the receiver stops a reader still going.)
        drop(rx);
        let _ = reader.join();
        result
    })?;
    Ok(info)
}

/// Batches the reader thread may read ahead.
const AHEAD: usize = 2;
/// A batch is sent once it holds this many bytes of input…
const BATCH_BYTES: u64 = 64 * 1024;
/// … or this many records.
const BATCH_RECORDS: usize = 256;

/// The reader thread: sends every item of the RDB at `path`, or why it
/// stopped, in batches.
fn read_rdb(
    path: &Path,
    progress: bool,
    what: &str,
    tx: &std::sync::mpsc::SyncSender<Vec<Result<Next, Stop>>>,
) {
    let show = path.display();
    let (mut src, size) = match super::open_input(path) {
        Ok(x) => x,
        Err(e) => {
            let _ = tx.send(vec![Err(Stop::Error(e))]);
            return;
        }
    };
    let bar = Bar::new(progress, size, &format!("{what} {show}"));
    src.set_progress(bar.handle());
    let mut entries = Entries::new(Reader::new(src));
    let mut batch = Vec::with_capacity(BATCH_RECORDS);
    let mut batch_start = 0;
    let tx = |batch: &mut Vec<Result<Next, Stop>>| {
        tx.send(std::mem::replace(batch, Vec::with_capacity(BATCH_RECORDS)))
    };
    loop {
        let item = match rewrite::next_read(&mut entries) {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(e) => {
                let stop = if e.is_unsupported() {
                    Stop::Unsupported(anyhow::Error::new(e).context(format!("reading {show}")))
                } else {
                    Stop::Error(anyhow::Error::new(e).context(format!(
                        "reading {show} (a damaged file can be read with `salvage` first); \
                         nothing was written"
                    )))
                };
                batch.push(Err(stop));
                break;
            }
        };
        if matches!(item, Next::Eof) {
            let src = entries.reader().source_mut();
            if src.peek(1).ok().and_then(<[u8]>::first) == Some(&b'*') {
                batch.push(Err(Stop::Error(anyhow::anyhow!(
                    "{show} is a hybrid AOF (commands follow its RDB preamble): give \
                     --aof to rewrite its dataset after replay; nothing was written"
                ))));
                break;
            }
        }
        batch.push(Ok(item));
        let at = entries.reader().offset();
        if batch.len() >= BATCH_RECORDS || at - batch_start >= BATCH_BYTES {
            batch_start = at;
            if tx(&mut batch).is_err() {
                break;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx(&mut batch);
    }
    bar.finish();
}

/// What the re-read of the output found.
struct Recheck {
    dbs: BTreeMap<u64, u64>,
    problems: Vec<String>,
}

/// What the checker (duplicate keys included) found in a written file
/// (`None`: the checker failed to run), under the target's rules, and the
/// reconciliation of its databases with what was written to it (`written`:
/// keys per database).
fn recheck(rep: Option<check::Report>, target: Target, written: &BTreeMap<u64, u64>) -> Recheck {
    let Some(rep) = rep else {
        return Recheck {
            dbs: BTreeMap::new(),
            problems: vec!["the check of the output did not run to its end".into()],
        };
    };
    let mut problems: Vec<String> = rep
        .problems
        .iter()
        .filter(|p| p.severity == check::Severity::Error)
        .map(|p| p.message.clone())
        .collect();
    if rep.trailing_bytes.unwrap_or(0) != 0 {
        problems.push("bytes after the trailer".into());
    }
    if rep.rdb_version != Some(target.rdb_version) {
        problems.push(format!(
            "version {:?}, not the target's {}",
            rep.rdb_version, target.rdb_version
        ));
    }
    if rep.functions > 0 && !target.functions() {
        problems.push(format!("{} holds no functions", target.name));
    }
    if rep.types.get("vectorset").is_some_and(|n| *n > 0) && !target.vector_sets {
        problems.push(format!("{} has no vector sets", target.name));
    }
    let dbs: BTreeMap<u64, u64> = rep.dbs.iter().map(|(d, c)| (*d, c.keys)).collect();
    let nonzero = |m: &BTreeMap<u64, u64>| {
        m.iter()
            .filter(|(_, n)| **n > 0)
            .map(|(d, n)| (*d, *n))
            .collect::<BTreeMap<_, _>>()
    };
    if nonzero(&dbs) != nonzero(written) {
        problems.push(format!(
            "per-database counts differ: written {written:?}, read back {dbs:?}"
        ));
    }
    Recheck { dbs, problems }
}

fn note_json(n: &rewrite::KeyNote) -> J {
    json!({"input": n.input, "db": n.db, "key": output::json_bytes(&n.key), "what": n.what})
}

/// Prints the report (JSON on stdout, or human on stderr).
fn emit(
    args: &Args,
    target: Target,
    r: &Report,
    infos: &[InputInfo],
    recheck: Option<&Recheck>,
    nodes: &[NodeOut],
) -> anyhow::Result<()> {
    let written = recheck.is_some_and(|c| c.problems.is_empty());
    let mut dbs = Vec::new();
    let mut all: Vec<u64> = r.dbs_out.keys().copied().collect();
    if let Some(c) = recheck {
        all.extend(c.dbs.keys().copied());
    }
    all.sort_unstable();
    all.dedup();
    for db in all {
        let w = r.dbs_out.get(&db).map_or(0, |c| c.keys);
        let back = recheck.map(|c| c.dbs.get(&db).copied().unwrap_or(0));
        dbs.push((db, w, back));
    }
    if args.json {
        let doc = json!({
            "error": null,
            "target": target.name,
            "rdb_version": target.rdb_version,
            "magic": target.magic(),
            "output": args.output.display().to_string(),
            "written": written,
            "inputs": args.inputs.iter().enumerate().map(|(i, p)| {
                let info = infos.get(i);
                json!({
                    "path": p.display().to_string(),
                    "kind": info.map(|x| x.kind),
                    "rdb_version": info.and_then(|x| x.rdb.as_ref().map(|r| r.1)),
                    "format": info.and_then(|x| x.rdb.as_ref().map(|r| r.0.clone())),
                    "note": info.and_then(|x| x.note.clone()),
                    "dbs": r.dbs_in.get(i).map(|m| m.iter().map(|(d, n)| (d.to_string(), json!(n))).collect::<serde_json::Map<_, _>>()),
                })
            }).collect::<Vec<_>>(),
            "keys_in": r.keys_in,
            "keys_out": if r.refused.is_empty() { r.keys_out } else { 0 },
            "filtered": r.filtered,
            "changed": r.changed.iter().map(note_json).collect::<Vec<_>>(),
            "skipped": r.skipped.iter().map(note_json).collect::<Vec<_>>(),
            "duplicates": r.duplicates.iter().map(note_json).collect::<Vec<_>>(),
            "refused": r.refused.iter().map(note_json).collect::<Vec<_>>(),
            "functions_in": r.functions_in,
            "functions_out": r.functions_out,
            "functions_dropped": r.functions_dropped,
            "module_aux_dropped": r.module_aux_dropped,
            "modules_passed": r.modules_passed,
            "dbs": dbs.iter().map(|(db, w, b)| json!({"db": db, "written": w, "read_back": b, "ok": b.is_none_or(|b| b == *w)})).collect::<Vec<_>>(),
            "nodes": (args.split_by_slot.is_some()).then(|| nodes.iter().map(|n| json!({
                "id": n.id,
                "ranges": n.ranges,
                "output": n.output.display().to_string(),
                "keys": n.keys,
                "read_back": n.read_back,
            })).collect::<Vec<_>>()),
            "problems": recheck.map(|c| c.problems.clone()).unwrap_or_default(),
        });
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(());
    }
    let mut e = std::io::stderr().lock();
    let mut line = |s: String| {
        let _ = writeln!(e, "{s}");
    };
    for (i, p) in args.inputs.iter().enumerate() {
        let info = infos.get(i);
        let what = match info {
            Some(InputInfo {
                rdb: Some((f, v)), ..
            }) => format!("{f} RDB {v}"),
            Some(InputInfo { note: Some(n), .. }) => format!("AOF, {n}"),
            _ => "not read".into(),
        };
        let n: u64 = r.dbs_in.get(i).map_or(0, |m| m.values().sum());
        line(format!("input {i}: {} ({what}): {n} key(s)", p.display()));
    }
    let list = |title: &str, notes: &[rewrite::KeyNote], line: &mut dyn FnMut(String)| {
        if !notes.is_empty() {
            line(format!("{title} ({}):", notes.len()));
            for n in notes {
                line(format!(
                    "  input {} db {} {}: {}",
                    n.input,
                    n.db,
                    output::escape_bytes(&n.key),
                    n.what
                ));
            }
        }
    };
    list("refused", &r.refused, &mut line);
    list("changed", &r.changed, &mut line);
    list("skipped", &r.skipped, &mut line);
    list("duplicates not written", &r.duplicates, &mut line);
    for f in r.functions_dropped.iter().chain(&r.module_aux_dropped) {
        line(format!("dropped: {f}"));
    }
    for (m, n) in &r.modules_passed {
        line(format!(
            "{n} value(s) of module {m} passed through unchanged (the target needs that module)"
        ));
    }
    if !r.refused.is_empty() {
        line(format!(
            "nothing was written: {} key(s) or librar(ies) refused (see --incompatible, --duplicates)",
            r.refused.len()
        ));
        return Ok(());
    }
    for (db, w, b) in &dbs {
        line(format!(
            "db {db}: {w} key(s) written{}",
            b.map_or(String::new(), |b| format!(", {b} read back"))
        ));
    }
    for n in nodes {
        line(format!(
            "node {} (slots {}): {} key(s) -> {}{}",
            n.id,
            n.ranges,
            n.keys,
            n.output.display(),
            n.read_back
                .map_or(String::new(), |b| format!(", {b} read back"))
        ));
    }
    if let Some(c) = recheck {
        for p in &c.problems {
            line(format!("problem: {p}"));
        }
    }
    line(format!(
        "{}: {} for {} ({}): {} key(s) in, {} out, {} filtered, {} changed, {} skipped, {} duplicate(s){}",
        args.output.display(),
        if written { "written" } else { "NOT written" },
        target.name,
        target.magic(),
        r.keys_in,
        r.keys_out,
        r.filtered,
        r.changed.len(),
        r.skipped.len(),
        r.duplicates.len(),
        if r.functions_in > 0 {
            format!(
                ", {}/{} function libraries",
                r.functions_out, r.functions_in
            )
        } else {
            String::new()
        }
    ));
    Ok(())
}
