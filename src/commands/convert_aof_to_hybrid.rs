//! `convert-aof-to-hybrid`: replays an AOF offline (single file, hybrid file,
//! manifest or AOF directory) and writes the dataset back as an RDB-preamble AOF
//! — what `BGREWRITEAOF` does with `aof-use-rdb-preamble yes`, done on files.
//!
//! The library does the work ([`redis_persist::replay::aof`]: the `check-aof`
//! pre-check and the admission rules, the replay, the expiry at the reference
//! time; [`redis_persist::rdb::writer`]: the RDB). This file owns the choices
//! that only concern the output:
//!
//! * **Layout.** By default a new multi-part AOF directory exactly as Redis 7
//!   leaves it after `BGREWRITEAOF`: `<f>.<b>.base.rdb` (aux `aof-base 1`), an
//!   empty `<f>.<i>.incr.aof`, and the manifest `file <f>.<b>.base.rdb seq <b>
//!   type b` / `file <f>.<i>.incr.aof seq <i> type i`. `<f>` is the input
//!   manifest's `appendfilename` (`appendonly.aof` for a single-file input, or
//!   `--appendfilename`). The numbers continue the input's as a rewrite would
//!   (BASE seq + 1, last INCR seq + 1; 1 and 1 for a single-file input), so the
//!   new files never collide with the input's if both end up in one directory.
//!   With `--single-file`: one file holding the RDB preamble and no commands,
//!   the hybrid layout Redis 4–6 load as `appendonly.aof` (and Redis 7 upgrades
//!   into a directory at start).
//! * **RDB version.** `--rdb-version N`, else the version of the input's RDB
//!   part (preamble or `.base.rdb`: what its server writes; 80, `VALKEY080`,
//!   for Valkey 9 — the `VALKEY` magic or a `valkey-ver` aux ≥ 9), else 10
//!   (Redis 7.0: a RESP-only input does not tell its server). Raised to what the dataset needs when defaulted (10 for function
//!   libraries, 12 for hash field TTLs); an explicit version that cannot hold
//!   the dataset is refused before anything is written.
//! * **Atomicity.** Everything is written under a temporary name beside OUTPUT
//!   (`.<name>.redis-persist-<pid>.tmp`), every file fsynced, then renamed to
//!   OUTPUT and the parent directory fsynced. An existing OUTPUT is replaced only
//!   with `--force` (and a directory only when it holds nothing but AOF-looking
//!   files); the input is never opened for writing, and an OUTPUT that is or
//!   contains the input is refused. On any failure the temporary is removed and
//!   nothing appears at OUTPUT. A crash leaves at most the temporary beside
//!   OUTPUT; replacing a directory with `--force` moves the old one aside
//!   (`.<name>.redis-persist-<pid>.old`) for the instant between two renames.
//!
//! Test-only: `REDIS_PERSIST_TEST_CONVERT_FAULT=<step>` aborts the process at
//! `before-install` (everything written and synced under the temporary name)
//! or `after-aside` (`--force` on a directory: the old one moved aside, the new
//! one not yet in place); the atomicity tests use it. It has no other effect.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use redis_persist::aof::{self, FileKind, Resolved};
use redis_persist::io::Progress;
use redis_persist::rdb::target;
use redis_persist::rdb::types::Format;
use redis_persist::rdb::writer::{AofMarker, VALKEY_9, WriterOptions};
use redis_persist::replay::Dataset;
use redis_persist::replay::aof::{self as replay_aof, Admitted, Phase, Summary};
use serde_json::{Value as J, json};

use super::{ExitStatus, Global};
use crate::output::progress::Bar;
use crate::output::{escape_bytes, human_size, json_bytes};

/// Arguments of `convert-aof-to-hybrid`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The AOF to convert: a single file (RESP, or hybrid with an RDB preamble),
    /// a multi-part manifest, or the directory holding it (e.g. `appendonlydir`).
    pub input: PathBuf,
    /// Where to write: a new multi-part AOF directory (with `--single-file`, a
    /// new file). Must not exist unless `--force`.
    #[arg(short = 'o', long, value_name = "OUTPUT")]
    pub output: PathBuf,
    /// Write one file holding the RDB preamble (the hybrid single-file AOF that
    /// Redis 4 to 6 read as `appendonly.aof`) instead of a multi-part directory.
    #[arg(long)]
    pub single_file: bool,
    /// RDB version to write: 9 (Redis 5-6.2), 10 (7.0), 11 (7.2, Valkey 7.2-8),
    /// 12 (Redis 7.4-8.4), 13 (8.6), 80 (Valkey 9: `VALKEY080`). Default: what
    /// the server of the input's RDB preamble or base writes (80 for a Valkey 9
    /// one), or 10.
    #[arg(long, value_name = "N", value_parser = parse_rdb_version)]
    pub rdb_version: Option<u32>,
    /// Replace OUTPUT if it exists (a directory only if it holds nothing but AOF
    /// files and a manifest).
    #[arg(long)]
    pub force: bool,
    /// The file name prefix of the new directory (Redis' `appendfilename`).
    /// Default: the input manifest's, or `appendonly.aof`.
    #[arg(long, value_name = "NAME", conflicts_with = "single_file")]
    pub appendfilename: Option<String>,
    /// Reference time in Unix milliseconds (default: now): keys and hash fields
    /// expired at that time are dropped, as a server drops them after loading.
    #[arg(long, value_name = "UNIX_MS", allow_negative_numbers = true)]
    pub now: Option<i64>,
    /// Keep keys and hash fields already expired at the reference time.
    #[arg(long)]
    pub keep_expired: bool,
    /// Number of databases of the server that wrote the input (its `databases`
    /// setting); a file selecting a database beyond it is refused.
    #[arg(long, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub databases: u32,
    /// Also refuse what is tolerated otherwise: `check-aof` warnings, a
    /// truncated last file, commands that fail when replayed.
    #[arg(long)]
    pub strict: bool,
    /// Print one JSON document instead of the human summary.
    #[arg(long)]
    pub json: bool,
}

/// The top-level keys of the `--json` document (also those of a failed run's).
pub const JSON_KEYS: &[&str] = &[
    "ok",
    "error",
    "input",
    "layout",
    "files",
    "commands_applied",
    "commands_failed",
    "failures",
    "discarded_transactions",
    "expired_keys",
    "expired_fields",
    "keep_expired",
    "now_ms",
    "keys",
    "dbs",
    "functions",
    "truncated_tail",
    "warnings",
    "rdb_version",
    "rdb_version_source",
    "rdb_version_note",
    "output",
    "output_layout",
    "written",
    "manifest",
    "seconds",
];

/// Runs `convert-aof-to-hybrid`.
pub fn run(args: &Args, global: Global) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    if args.input.as_os_str() == "-" {
        bail!("convert-aof-to-hybrid needs a file or directory, not standard input");
    }
    if let Some(n) = &args.appendfilename {
        validate_appendfilename(n)?;
    }
    let target = Target::new(&args.output, args.single_file, args.force)?;
    let resolved =
        aof::resolve(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    refuse_overlap(&resolved, &target)?;

    let bars = std::rc::Rc::new(PhaseBars {
        enabled: global.progress && !args.json,
        total: input_size(&resolved),
        current: std::cell::RefCell::new(None),
    });
    let sinks = bars.clone();
    let opts = replay_aof::Options {
        databases: args.databases as usize,
        now_ms: args.now.unwrap_or_else(replay_aof::now_ms),
        keep_expired: args.keep_expired,
        strict: args.strict,
        progress: Some(std::rc::Rc::new(move |phase, before| {
            sinks.sink(phase, before)
        })),
    };
    let admitted = match replay_aof::precheck(&resolved, &opts) {
        Ok(a) => a,
        Err(e) => {
            bars.finish();
            return input_failure(args, &e);
        }
    };
    let t_check = started.elapsed();
    let replay_started = Instant::now();
    let replayed = replay_aof::replay(&admitted, &opts);
    bars.finish();
    let (ds, summary) = match replayed {
        Ok(r) => r,
        Err(e) => return input_failure(args, &e),
    };
    let t_replay = replay_started.elapsed();

    let version = match choose_version(args.rdb_version, &summary, &ds) {
        Ok(v) => v,
        Err(msg) => {
            return report_failure(
                args,
                "unrepresentable",
                None,
                None,
                &msg,
                ExitStatus::Problems,
            );
        }
    };
    let naming = Naming::new(args, &admitted);
    let write_started = Instant::now();
    let written = match write_output(&target, &naming, &ds, version.version, global, args.json) {
        Ok(w) => w,
        Err(WriteFailure::Input(msg)) => {
            return report_failure(
                args,
                "unrepresentable",
                None,
                None,
                &msg,
                ExitStatus::Problems,
            );
        }
        Err(WriteFailure::Io(e)) => {
            return Err(e.context(format!("writing {}", args.output.display())));
        }
    };
    let t_write = write_started.elapsed();
    let timings = [t_check, t_replay, t_write].map(|d| d.as_secs_f64());
    let report = Report {
        args,
        admitted: &admitted,
        summary: &summary,
        ds: &ds,
        version: &version,
        written: &written,
        now_ms: opts.now_ms,
        timings,
    };
    if args.json {
        print_json(&report)?;
    } else {
        print_human(&report)?;
    }
    // The process exits right after: freeing millions of allocations one by
    // one would only add time (about 5% of a 400,000-key conversion).
    std::mem::forget(ds);
    Ok(ExitStatus::Ok)
}

// ---------------------------------------------------------------------------
// Progress

/// One bar per phase ("checking", then "replaying"), over the input's bytes;
/// a sink for a new phase clears the previous bar.
struct PhaseBars {
    enabled: bool,
    total: Option<u64>,
    current: std::cell::RefCell<Option<(Phase, Bar)>>,
}

impl PhaseBars {
    fn sink(&self, phase: Phase, before: u64) -> Box<dyn Progress> {
        let mut cur = self.current.borrow_mut();
        if cur.as_ref().is_none_or(|(p, _)| *p != phase) {
            if let Some((_, bar)) = cur.take() {
                bar.finish();
            }
            let label = match phase {
                Phase::Check => "checking",
                Phase::Replay => "replaying",
            };
            *cur = Some((phase, Bar::new(self.enabled, self.total, label)));
        }
        match cur.as_ref() {
            Some((_, bar)) => Box::new(OffsetProgress {
                bar: bar.clone(),
                base: before,
            }),
            None => Box::new(NoProgress),
        }
    }

    fn finish(&self) {
        if let Some((_, bar)) = self.current.borrow_mut().take() {
            bar.finish();
        }
    }
}

/// Total size of the input's files (for the bars).
fn input_size(resolved: &Resolved) -> Option<u64> {
    let input = aof::open(resolved.path()).ok()?;
    Some(
        input
            .files()
            .iter()
            .filter_map(|f| fs::metadata(&f.path).ok())
            .map(|m| m.len())
            .sum(),
    )
}

struct NoProgress;

impl Progress for NoProgress {
    fn set_position(&self, _offset: u64) {}
}

/// Feeds a file's offsets to the bar, shifted by the bytes of the files before it.
struct OffsetProgress {
    bar: Bar,
    base: u64,
}

impl Progress for OffsetProgress {
    fn set_position(&self, offset: u64) {
        self.bar.set_position(self.base + offset);
    }
}

// ---------------------------------------------------------------------------
// Failures

/// Reports a replay/pre-check error: exit 1 for a problem of the input, exit 2
/// (via `Err`) when the input could not be read.
fn input_failure(args: &Args, e: &replay_aof::Error) -> anyhow::Result<ExitStatus> {
    if !e.is_input_problem() {
        bail!("{e}");
    }
    let code = match e.kind() {
        replay_aof::ErrorKind::Refused { code, .. } => code.clone(),
        replay_aof::ErrorKind::Unsupported { .. } => "unsupported-command".into(),
        replay_aof::ErrorKind::DbOutOfRange { .. } => "db-out-of-range".into(),
        replay_aof::ErrorKind::CommandFailed { .. } => "command-failed".into(),
        replay_aof::ErrorKind::Rdb(_) => "rdb-part".into(),
        _ => "aof".into(),
    };
    // An RDB part of a newer server than this tool knows: exit 3, not 1.
    let unsupported = code == redis_persist::aof::check::UNSUPPORTED_RDB
        || matches!(e.kind(), replay_aof::ErrorKind::Rdb(r) if r.is_unsupported());
    report_failure(
        args,
        &code,
        e.path(),
        e.offset(),
        &e.to_string(),
        if unsupported {
            ExitStatus::Unsupported
        } else {
            ExitStatus::Problems
        },
    )
}

/// Prints a failure (JSON document or one line on stderr) and returns `status`.
#[allow(clippy::print_stderr)]
fn report_failure(
    args: &Args,
    code: &str,
    path: Option<&Path>,
    offset: Option<u64>,
    message: &str,
    status: ExitStatus,
) -> anyhow::Result<ExitStatus> {
    if args.json {
        let input = args.input.display().to_string();
        let mut doc = super::failure_document(JSON_KEYS, Some(&input), message);
        doc.insert("output".into(), args.output.display().to_string().into());
        doc.insert("written".into(), false.into());
        doc.insert(
            "error".into(),
            json!({
                "code": code,
                "path": path.map(|p| p.display().to_string()),
                "offset": offset,
                "message": message,
            }),
        );
        emit_json(J::Object(doc))?;
    }
    crate::output::eprint_line(&format!(
        "{message}; nothing was written to {} (`check-aof` shows the problem; \
         `check-aof --fix` repairs a torn AOF)",
        args.output.display()
    ));
    Ok(status)
}

// ---------------------------------------------------------------------------
// RDB version

/// `--rdb-version`: a version a server line of the target table writes
/// ([`target::for_rdb_version`]: 9 to 13, or 80 for `VALKEY080`).
pub(crate) fn parse_rdb_version(s: &str) -> Result<u32, String> {
    let v: u32 = s.parse().map_err(|e| format!("{e}"))?;
    if target::for_rdb_version(v).is_some() {
        return Ok(v);
    }
    Err(if v == 81 {
        "81 (VALKEY081, Valkey 9.2) is not written: no released server to verify it against; \
         80 (Valkey 9.0/9.1) is read by Valkey 9.2 too"
            .into()
    } else {
        format!(
            "not a version the writer produces; one of {}",
            target::versions_text()
        )
    })
}

/// Was the input's RDB part written by Valkey 9 or later (the `VALKEY` magic,
/// or a `valkey-ver` aux field of 9 or more)? Development builds call
/// themselves 255.255.255 whatever they are (the corpus' Valkey 8.1-dev
/// writes RDB 11 with it): that placeholder says nothing, the magic decides.
fn from_valkey_9(r: &replay_aof::RdbPart) -> bool {
    r.format == Format::Valkey || r.valkey_major.is_some_and(|m| (9..255).contains(&m))
}

/// The RDB version to write and why.
#[allow(clippy::struct_field_names)] // `version.version` reads fine
struct Version {
    version: u32,
    /// `option`, `input`, `default` (no RDB part in the input).
    source: &'static str,
    /// Why the version differs from the input's, when it does.
    note: Option<String>,
}

fn choose_version(
    explicit: Option<u32>,
    summary: &Summary,
    ds: &Dataset,
) -> Result<Version, String> {
    let (needed, what) = ds.min_rdb_version();
    if let Some(v) = explicit {
        if v < needed {
            return Err(format!(
                "the dataset holds {what}, which RDB version {v} cannot represent (use --rdb-version {needed} or later)"
            ));
        }
        return Ok(Version {
            version: v,
            source: "option",
            note: None,
        });
    }
    let (oldest, newest) = target::redis_version_range();
    let (mut version, source, mut note) = match summary.newest_rdb() {
        None => (10, "default", None),
        Some(r) if r.format == Format::Valkey && r.version > VALKEY_9 => (
            VALKEY_9,
            "input",
            Some(format!(
                "the input's RDB part is Valkey RDB {}, which is not written: writing VALKEY080 (read by Valkey 9.0 and later)",
                r.version
            )),
        ),
        Some(r) if from_valkey_9(&r) => (VALKEY_9, "input", None),
        Some(r) if r.version < oldest => (
            oldest,
            "input",
            Some(format!(
                "the input's RDB part is version {}: writing {oldest}, the oldest version written",
                r.version
            )),
        ),
        Some(r) if r.version > newest => (
            newest,
            "input",
            Some(format!(
                "the input's RDB part is version {}: writing {newest}, the newest version written",
                r.version
            )),
        ),
        Some(r) => (r.version, "input", None),
    };
    if version < needed {
        // Only Redis can be behind: a Valkey 9 target (80) holds everything
        // a dataset replayed from an AOF needs.
        let valkey = if needed >= 12 && source == "default" {
            " (types of Redis 7.4+; for Valkey 9 convert with --rdb-version 80)"
        } else {
            ""
        };
        note = Some(format!(
            "writing RDB {needed} instead of {version}: the dataset holds {what}{valkey}"
        ));
        version = needed;
    }
    Ok(Version {
        version,
        source,
        note,
    })
}

// ---------------------------------------------------------------------------
// Output naming

/// File names of the output directory.
struct Naming {
    prefix: Vec<u8>,
    base_seq: i64,
    incr_seq: i64,
}

impl Naming {
    fn new(args: &Args, admitted: &Admitted) -> Self {
        let manifest = admitted.report.manifest.as_ref();
        let prefix = match (&args.appendfilename, &admitted.resolved) {
            (Some(n), _) => n.as_bytes().to_vec(),
            (None, Resolved::Manifest(p)) => p
                .file_name()
                .map(std::ffi::OsStr::as_encoded_bytes)
                .and_then(|n| n.strip_suffix(b".manifest"))
                .filter(|n| !n.is_empty())
                .map_or_else(|| b"appendonly.aof".to_vec(), <[u8]>::to_vec),
            (None, Resolved::Single(_)) => b"appendonly.aof".to_vec(),
        };
        // Continue the input's numbering as BGREWRITEAOF does.
        let m = manifest.and_then(|m| m.manifest.as_ref());
        let base_seq = m
            .and_then(|m| m.base())
            .map_or(0, |b| b.seq)
            .max(0)
            .saturating_add(1);
        let incr_seq = m
            .and_then(|m| m.incrs().map(|e| e.seq).max())
            .unwrap_or(0)
            .max(0)
            .saturating_add(1);
        Self {
            prefix,
            base_seq,
            incr_seq,
        }
    }

    fn name(&self, seq: i64, suffix: &str) -> Vec<u8> {
        let mut n = self.prefix.clone();
        n.extend_from_slice(format!(".{seq}.{suffix}").as_bytes());
        n
    }

    fn base(&self) -> Vec<u8> {
        self.name(self.base_seq, "base.rdb")
    }

    fn incr(&self) -> Vec<u8> {
        self.name(self.incr_seq, "incr.aof")
    }

    fn manifest_name(&self) -> Vec<u8> {
        let mut n = self.prefix.clone();
        n.extend_from_slice(b".manifest");
        n
    }

    /// The manifest text, as Redis writes it.
    fn manifest(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, seq, t) in [
            (self.base(), self.base_seq, 'b'),
            (self.incr(), self.incr_seq, 'i'),
        ] {
            out.extend_from_slice(b"file ");
            out.extend_from_slice(&manifest_quote(&name));
            out.extend_from_slice(format!(" seq {seq} type {t}\n").as_bytes());
        }
        out
    }
}

/// A file name as Redis writes it in a manifest: as is, or, when it holds a
/// space, a quote, a backslash or a non-printable byte, double-quoted with
/// `sdscatrepr` escapes.
fn manifest_quote(name: &[u8]) -> Vec<u8> {
    let needs = name
        .iter()
        .any(|&b| b == b'\\' || b == b'"' || !(0x21..=0x7e).contains(&b));
    if !needs {
        return name.to_vec();
    }
    let mut out = vec![b'"'];
    for &b in name {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
    out
}

fn validate_appendfilename(n: &str) -> anyhow::Result<()> {
    if n.is_empty() || n.contains('/') || n.contains('\\') || n == "." || n == ".." {
        bail!("--appendfilename must be a plain file name (no path), as Redis requires");
    }
    Ok(())
}

fn os_name(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

// ---------------------------------------------------------------------------
// Output target and atomic installation

/// Where the output goes.
pub(super) struct Target {
    /// OUTPUT as given.
    path: PathBuf,
    /// Its parent directory (where the temporary is made).
    parent: PathBuf,
    /// Its final component.
    name: std::ffi::OsString,
    single_file: bool,
    /// OUTPUT exists and `--force` allows replacing it.
    replace: bool,
}

impl Target {
    pub(super) fn new(path: &Path, single_file: bool, force: bool) -> anyhow::Result<Self> {
        let name = path
            .file_name()
            .filter(|n| *n != "." && *n != "..")
            .with_context(|| format!("{}: not a usable output name", path.display()))?
            .to_os_string();
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            bail!(
                "{}: the directory {} does not exist",
                path.display(),
                parent.display()
            );
        }
        let replace = match fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e).with_context(|| format!("looking at {}", path.display())),
            Ok(_) if !force => bail!(
                "{} already exists; give another OUTPUT or --force to replace it",
                path.display()
            ),
            Ok(meta) => {
                if single_file {
                    if meta.is_dir() {
                        bail!(
                            "{} is a directory; --single-file writes a file (remove it or choose another OUTPUT)",
                            path.display()
                        );
                    }
                } else {
                    check_replaceable_dir(path, &meta)?;
                }
                true
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            parent,
            name,
            single_file,
            replace,
        })
    }

    pub(super) fn temp_path(&self, what: &str) -> PathBuf {
        let mut n = std::ffi::OsString::from(".");
        n.push(&self.name);
        n.push(format!(".redis-persist-{}.{what}", std::process::id()));
        self.parent.join(n)
    }
}

/// `--force` replaces a directory only when it looks like an AOF directory: no
/// subdirectory, only `*.manifest`, `*.aof`, `*.rdb` and `temp-*` files.
fn check_replaceable_dir(path: &Path, meta: &fs::Metadata) -> anyhow::Result<()> {
    if !meta.is_dir() {
        bail!(
            "{} is not a directory; the multi-part output is a directory (use --single-file for a file, or remove it)",
            path.display()
        );
    }
    for e in fs::read_dir(path).with_context(|| format!("listing {}", path.display()))? {
        let e = e.with_context(|| format!("listing {}", path.display()))?;
        let n = e.file_name();
        let s = n.to_string_lossy();
        let aof_like = s.ends_with(".manifest")
            || s.ends_with(".aof")
            || s.ends_with(".rdb")
            || s.starts_with("temp-");
        let is_file = e.file_type().is_ok_and(|t| t.is_file());
        if !aof_like || !is_file {
            bail!(
                "{} holds {s:?}, which is not an AOF file: refusing to replace that directory even with --force",
                path.display()
            );
        }
    }
    Ok(())
}

/// Refuses an OUTPUT that is the input or one of its files, or contains them.
fn refuse_overlap(resolved: &Resolved, target: &Target) -> anyhow::Result<()> {
    let mut inputs = vec![resolved.path().to_path_buf()];
    if let Ok(input) = aof::open(resolved.path()) {
        inputs.extend(input.files().iter().map(|f| f.path.clone()));
    }
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    super::clobber::refuse_output_over_input(&target.path, &inputs)
}

/// Removes a temporary file or directory unless disarmed (on every early
/// return and on panics).
pub(super) struct TempGuard {
    pub(super) path: Option<PathBuf>,
}

impl TempGuard {
    pub(super) fn disarm(&mut self) {
        self.path = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            if p.is_dir() {
                let _ = fs::remove_dir_all(&p);
            } else {
                let _ = fs::remove_file(&p);
            }
        }
    }
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    // Opening a directory read-only and fsyncing it persists its entries (Linux).
    File::open(dir)?.sync_all()
}

/// A file written.
struct WrittenFile {
    path: PathBuf,
    size: u64,
}

/// What was written.
struct Written {
    files: Vec<WrittenFile>,
    manifest: Option<Vec<u8>>,
}

enum WriteFailure {
    /// The dataset cannot be written (exit 1).
    Input(String),
    /// The output could not be written (exit 2).
    Io(anyhow::Error),
}

impl From<io::Error> for WriteFailure {
    fn from(e: io::Error) -> Self {
        Self::Io(e.into())
    }
}

impl From<anyhow::Error> for WriteFailure {
    fn from(e: anyhow::Error) -> Self {
        Self::Io(e)
    }
}

/// Counts bytes for the writing bar.
struct Counting<W> {
    inner: W,
    n: u64,
    bar: Bar,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        self.bar.set_position(self.n);
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the RDB of `ds` to a new file at `path`, fsynced; returns its size.
fn write_rdb(path: &Path, ds: &Dataset, version: u32, bar: &Bar) -> Result<u64, WriteFailure> {
    let file = File::create_new(path).with_context(|| format!("creating {}", path.display()))?;
    let opts = WriterOptions {
        aof: AofMarker::Aof,
        ..WriterOptions::for_version(version)
    };
    let out = Counting {
        inner: file,
        n: 0,
        bar: bar.clone(),
    };
    let out = ds.write_rdb(out, opts).map_err(|e| match e {
        redis_persist::rdb::writer::WriteError::Io(e) => {
            WriteFailure::Io(anyhow::Error::new(e).context(format!("writing {}", path.display())))
        }
        other => WriteFailure::Input(other.to_string()),
    })?;
    let size = out.n;
    out.inner
        .sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(size)
}

fn write_output(
    target: &Target,
    naming: &Naming,
    ds: &Dataset,
    version: u32,
    global: Global,
    json: bool,
) -> Result<Written, WriteFailure> {
    let bar = Bar::new(global.progress && !json, None, "writing");
    let tmp = target.temp_path("tmp");
    let mut guard = TempGuard {
        path: Some(tmp.clone()),
    };
    let written = if target.single_file {
        let size = write_rdb(&tmp, ds, version, &bar)?;
        Written {
            files: vec![WrittenFile {
                path: target.path.clone(),
                size,
            }],
            manifest: None,
        }
    } else {
        fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let base = naming.base();
        let size = write_rdb(&tmp.join(os_name(&base)), ds, version, &bar)?;
        let incr = naming.incr();
        let incr_path = tmp.join(os_name(&incr));
        File::create_new(&incr_path)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("creating {}", incr_path.display()))?;
        let manifest = naming.manifest();
        let mpath = tmp.join(os_name(&naming.manifest_name()));
        let mut f =
            File::create_new(&mpath).with_context(|| format!("creating {}", mpath.display()))?;
        f.write_all(&manifest)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("writing {}", mpath.display()))?;
        sync_dir(&tmp).with_context(|| format!("syncing {}", tmp.display()))?;
        let out = &target.path;
        Written {
            files: vec![
                WrittenFile {
                    path: out.join(os_name(&base)),
                    size,
                },
                WrittenFile {
                    path: out.join(os_name(&incr)),
                    size: 0,
                },
                WrittenFile {
                    path: out.join(os_name(&naming.manifest_name())),
                    size: manifest.len() as u64,
                },
            ],
            manifest: Some(manifest),
        }
    };
    bar.finish();
    install(target, &tmp)?;
    guard.disarm();
    Ok(written)
}

/// The test-only crash hook (see the module docs).
fn fault(step: &str) {
    if std::env::var_os("REDIS_PERSIST_TEST_CONVERT_FAULT").is_some_and(|v| v == step) {
        std::process::abort();
    }
}

/// Moves the finished temporary to OUTPUT and fsyncs the parent directory.
pub(super) fn install(target: &Target, tmp: &Path) -> anyhow::Result<()> {
    fault("before-install");
    let out = &target.path;
    if !target.replace {
        // A file: link(2) fails if OUTPUT appeared meanwhile, so nothing is ever
        // overwritten without --force. A directory: rename(2) fails over a
        // non-empty directory.
        if target.single_file {
            match fs::hard_link(tmp, out) {
                Ok(()) => {
                    fs::remove_file(tmp).with_context(|| format!("removing {}", tmp.display()))?;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    bail!(
                        "{} appeared while converting; nothing was replaced",
                        out.display()
                    );
                }
                // File systems without hard links.
                Err(_) => fs::rename(tmp, out)
                    .with_context(|| format!("renaming {} to {}", tmp.display(), out.display()))?,
            }
        } else {
            fs::rename(tmp, out)
                .with_context(|| format!("renaming {} to {}", tmp.display(), out.display()))?;
        }
    } else if target.single_file {
        // rename(2) replaces the old file atomically.
        fs::rename(tmp, out)
            .with_context(|| format!("renaming {} to {}", tmp.display(), out.display()))?;
    } else {
        // Directories cannot be swapped atomically without renameat2: move the
        // old one aside, put the new one in place, then delete the old one.
        let old = target.temp_path("old");
        fs::rename(out, &old)
            .with_context(|| format!("moving {} aside to {}", out.display(), old.display()))?;
        fault("after-aside");
        if let Err(e) = fs::rename(tmp, out) {
            // Put the old directory back.
            let _ = fs::rename(&old, out);
            return Err(e)
                .with_context(|| format!("renaming {} to {}", tmp.display(), out.display()));
        }
        fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    }
    sync_dir(&target.parent).with_context(|| format!("syncing {}", target.parent.display()))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Reports

struct Report<'a> {
    args: &'a Args,
    admitted: &'a Admitted,
    summary: &'a Summary,
    ds: &'a Dataset,
    version: &'a Version,
    written: &'a Written,
    now_ms: i64,
    /// Seconds spent checking, replaying, writing.
    timings: [f64; 3],
}

impl Report<'_> {
    fn layout(&self) -> &'static str {
        match self.admitted.report.resolved {
            Resolved::Single(_) => "single",
            Resolved::Manifest(_) => "multi-part",
        }
    }

    fn db_sizes(&self) -> Vec<(usize, u64, u64)> {
        (0..self.ds.dbs.len())
            .map(|i| {
                let (k, e) = self.ds.db_sizes(i);
                (i, k, e)
            })
            .filter(|(_, k, _)| *k > 0)
            .collect()
    }
}

fn kind_name(k: FileKind) -> &'static str {
    k.name()
}

#[allow(clippy::print_stdout)]
fn print_human(r: &Report<'_>) -> anyhow::Result<()> {
    let mut o = io::stdout().lock();
    let s = r.summary;
    let layout = match r.admitted.report.resolved {
        Resolved::Single(_) => "single-file AOF",
        Resolved::Manifest(_) => "multi-part AOF",
    };
    writeln!(
        o,
        "input:  {} ({layout}, {} file(s), {})",
        r.args.input.display(),
        s.files.len(),
        human_size(r.admitted.files.iter().map(|f| f.size).sum())
    )?;
    for f in &s.files {
        let rdb = f.rdb.map_or(String::new(), |p| {
            format!(", RDB {} preamble with {} key(s)", p.version, p.keys)
        });
        writeln!(
            o,
            "        {} [{}]{rdb}, {} command(s)",
            escape_bytes(&f.name),
            kind_name(f.kind),
            f.commands
        )?;
    }
    let dbs = r.db_sizes();
    writeln!(
        o,
        "replay: {} command(s) applied, {} failed (ignored, as the server does); {} key(s) in {} database(s), {} function librar{}",
        s.applied,
        s.failed,
        r.ds.key_count(),
        dbs.len(),
        r.ds.functions.len(),
        if r.ds.functions.len() == 1 {
            "y"
        } else {
            "ies"
        }
    )?;
    if r.args.keep_expired {
        writeln!(o, "        expired keys kept (--keep-expired)")?;
    } else {
        writeln!(
            o,
            "        dropped as expired at {} ms: {} key(s), {} hash field(s)",
            r.now_ms, s.expired_keys, s.expired_fields
        )?;
    }
    let out_layout = if r.args.single_file {
        "single-file hybrid AOF"
    } else {
        "multi-part AOF directory"
    };
    writeln!(
        o,
        "output: {} ({out_layout}, RDB version {})",
        r.args.output.display(),
        r.version.version
    )?;
    for f in &r.written.files {
        writeln!(o, "        {} ({})", f.path.display(), human_size(f.size))?;
    }
    writeln!(
        o,
        "time:   check {:.2}s, replay {:.2}s, write {:.2}s",
        r.timings[0], r.timings[1], r.timings[2]
    )?;
    if let Some(n) = &r.version.note {
        writeln!(o, "note: {n}")?;
    }
    if r.version.source == "default" && matches!(r.admitted.report.resolved, Resolved::Single(_)) {
        writeln!(
            o,
            "note: RDB 10 is read by Redis 7.0 and later; for Redis 5 to 6.2 convert with --rdb-version 9"
        )?;
    }
    if let Some(t) = &s.truncated_tail {
        writeln!(
            o,
            "warning: {}: truncated at byte {} ({}); the last {} byte(s) were dropped, as the server drops them with aof-load-truncated yes",
            t.path.display(),
            t.valid_up_to,
            t.message,
            t.size.saturating_sub(t.valid_up_to)
        )?;
    }
    if s.discarded_transactions > 0 {
        writeln!(
            o,
            "warning: {} unfinished MULTI block(s) discarded at the end of a file",
            s.discarded_transactions
        )?;
    }
    for f in &s.failures {
        writeln!(
            o,
            "warning: {}: at byte {}: '{}' failed: {}",
            f.path.display(),
            f.offset,
            escape_bytes(f.command.as_bytes()),
            f.message
        )?;
    }
    if s.failed > s.failures.len() as u64 {
        writeln!(
            o,
            "warning: … and {} more failed command(s)",
            s.failed - s.failures.len() as u64
        )?;
    }
    for (p, f) in &r.admitted.warnings {
        let at = f
            .offset
            .map(|o| format!(" at byte {o}"))
            .unwrap_or_default();
        let p = p
            .as_ref()
            .map(|p| format!("{}:", p.display()))
            .unwrap_or_default();
        writeln!(o, "warning: {p}{at} {}", f.message)?;
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
fn print_json(r: &Report<'_>) -> anyhow::Result<()> {
    let s = r.summary;
    let files: Vec<J> = s
        .files
        .iter()
        .map(|f| {
            json!({
                "path": f.path.display().to_string(),
                "name": json_bytes(&f.name),
                "kind": f.kind.name(),
                "seq": f.seq,
                "bytes": f.bytes,
                "rdb": f.rdb.map(|p| json!({
                    "format": match p.format { Format::Redis => "redis", Format::Valkey => "valkey" },
                    "version": p.version,
                    "keys": p.keys,
                })),
                "commands": f.commands,
            })
        })
        .collect();
    let dbs: serde_json::Map<String, J> = r
        .db_sizes()
        .into_iter()
        .map(|(i, k, e)| (i.to_string(), json!({"keys": k, "expires": e})))
        .collect();
    let doc = json!({
        "ok": true,
        "error": null,
        "input": r.args.input.display().to_string(),
        "layout": r.layout(),
        "files": files,
        "commands_applied": s.applied,
        "commands_failed": s.failed,
        "failures": s.failures.iter().map(|f| json!({
            "path": f.path.display().to_string(),
            "offset": f.offset,
            "command": f.command,
            "message": f.message,
        })).collect::<Vec<_>>(),
        "discarded_transactions": s.discarded_transactions,
        "truncated_tail": s.truncated_tail.as_ref().map(|t| json!({
            "path": t.path.display().to_string(),
            "valid_up_to": t.valid_up_to,
            "size": t.size,
            "dropped_bytes": t.size.saturating_sub(t.valid_up_to),
            "code": t.code,
            "message": t.message,
        })),
        "warnings": r.admitted.warnings.iter().map(|(p, f)| json!({
            "path": p.as_ref().map(|p| p.display().to_string()),
            "code": f.code,
            "offset": f.offset,
            "message": f.message,
        })).collect::<Vec<_>>(),
        "now_ms": r.now_ms,
        "keep_expired": r.args.keep_expired,
        "expired_keys": s.expired_keys,
        "expired_fields": s.expired_fields,
        "keys": r.ds.key_count(),
        "dbs": dbs,
        "functions": r.ds.functions.len(),
        "output": r.args.output.display().to_string(),
        "output_layout": if r.args.single_file { "single-file" } else { "multi-part" },
        "rdb_version": r.version.version,
        "rdb_version_source": r.version.source,
        "rdb_version_note": r.version.note,
        "written": r.written.files.iter().map(|f| json!({
            "path": f.path.display().to_string(),
            "size": f.size,
        })).collect::<Vec<_>>(),
        "manifest": r.written.manifest.as_ref().map(|m| json_bytes(m)),
        "seconds": {"check": r.timings[0], "replay": r.timings[1], "write": r.timings[2]},
    });
    emit_json(doc)
}

/// Where this thread's `--json` document goes.
enum JsonSink {
    /// Printed on stdout.
    Stdout,
    /// Kept for [`run_capturing_json`]'s caller (the document, once made).
    Capture(Option<J>),
}

thread_local! {
    static JSON_SINK: std::cell::RefCell<JsonSink> =
        const { std::cell::RefCell::new(JsonSink::Stdout) };
}

/// Prints the `--json` document on stdout, or hands it to
/// [`run_capturing_json`]'s caller.
#[allow(clippy::print_stdout)]
fn emit_json(doc: J) -> anyhow::Result<()> {
    let doc = JSON_SINK.with(|c| match &mut *c.borrow_mut() {
        JsonSink::Capture(slot) => {
            *slot = Some(doc);
            None
        }
        JsonSink::Stdout => Some(doc),
    });
    if let Some(doc) = doc {
        let mut o = io::stdout().lock();
        serde_json::to_writer_pretty(&mut o, &doc)?;
        writeln!(o)?;
    }
    Ok(())
}

/// [`run`], with the `--json` document returned instead of printed, so that a
/// caller (`salvage --replay`) prints one document holding both reports.
pub fn run_capturing_json(args: &Args, global: Global) -> (anyhow::Result<ExitStatus>, Option<J>) {
    JSON_SINK.with(|c| *c.borrow_mut() = JsonSink::Capture(None));
    let status = run(args, global);
    let doc = JSON_SINK.with(|c| match c.replace(JsonSink::Stdout) {
        JsonSink::Capture(doc) => doc,
        JsonSink::Stdout => None,
    });
    (status, doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis_persist::aof::Manifest;

    #[test]
    fn manifest_names_round_trip_through_the_parser() {
        for prefix in [
            &b"appendonly.aof"[..],
            b"my file.aof",
            b"q\"uote",
            b"tab\tnl\ncr\r\x07\x08\xff\x01",
        ] {
            let n = Naming {
                prefix: prefix.to_vec(),
                base_seq: 3,
                incr_seq: 7,
            };
            let text = n.manifest();
            let m = Manifest::parse(&text).unwrap();
            let order = m.load_order();
            assert_eq!(order.len(), 2);
            assert_eq!(order[0].name, n.base());
            assert_eq!(order[0].seq, 3);
            assert_eq!(order[1].name, n.incr());
            assert_eq!(order[1].seq, 7);
        }
        let n = Naming {
            prefix: b"appendonly.aof".to_vec(),
            base_seq: 1,
            incr_seq: 1,
        };
        assert_eq!(
            n.manifest(),
            b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        assert_eq!(manifest_quote(b"a b"), b"\"a b\"");
    }

    #[test]
    fn what_makes_an_input_valkey_9() {
        let part = |format, version, valkey_major| replay_aof::RdbPart {
            format,
            version,
            keys: 0,
            valkey_major,
        };
        // The corpus: Valkey 9.1.2 (VALKEY080), 8.1.1 and the 8.1-dev build
        // that calls itself 255.255.255 (both REDIS0011), Redis.
        assert!(from_valkey_9(&part(Format::Valkey, 80, Some(9))));
        assert!(!from_valkey_9(&part(Format::Redis, 11, Some(8))));
        assert!(!from_valkey_9(&part(Format::Redis, 11, Some(255))));
        assert!(!from_valkey_9(&part(Format::Redis, 12, None)));
        // A Valkey 9 save for an old replica (REDIS0011, valkey-ver 9.x).
        assert!(from_valkey_9(&part(Format::Redis, 11, Some(9))));
        assert_eq!(parse_rdb_version("80"), Ok(80));
        assert_eq!(parse_rdb_version("12"), Ok(12));
        assert_eq!(parse_rdb_version("13"), Ok(13));
        assert!(parse_rdb_version("81").unwrap_err().contains("Valkey 9.2"));
        for bad in ["8", "14", "79", "x"] {
            assert!(parse_rdb_version(bad).is_err(), "{bad}");
        }
        assert!(
            parse_rdb_version("8")
                .unwrap_err()
                .contains("13 (redis-8.6)")
        );
    }

    #[test]
    fn appendfilename_must_be_a_name() {
        assert!(validate_appendfilename("appendonly.aof").is_ok());
        assert!(validate_appendfilename("a/b").is_err());
        assert!(validate_appendfilename("").is_err());
        assert!(validate_appendfilename("..").is_err());
    }
}
