//! `check-aof`: validates an AOF (single file, hybrid, or multi-part through its
//! manifest or directory) with `redis-check-aof`'s exact grammar and reports what
//! it does not (unknown commands, wrong arities, records the server refuses,
//! commands after a damaged region); `--fix` truncates the damaged file where
//! `redis-check-aof --fix` would, after a verified backup; `--truncate-to-timestamp`
//! cuts at the first `#TS:` annotation later than a time.
//!
//! Deliberate differences from `redis-check-aof` (also in the README):
//! * a backup is always written (and fsynced, verified) before anything changes;
//! * the cut is confirmed on a terminal, needs `--yes` otherwise, and
//!   `--truncate-to-timestamp` asks too (upstream truncates without asking);
//! * a damaged RDB preamble, a damaged file that is not the last of the manifest,
//!   a missing file or a refused manifest are never cut, with an explanation;
//! * upper-case-key and comment-only manifests are read as manifests (as the
//!   server does), never "fixed" as if they were AOFs; an empty `*.manifest` is an
//!   error (the server refuses it);
//! * an RDB preamble is recognised in INCR files too (as the loader does), so
//!   such a file is never truncated to 0 bytes;
//! * `*0`/`*-1` records are errors (the server refuses them), but `--fix` does not
//!   cut there because `redis-check-aof --fix` would not.
//!
//! Before anything is changed, the file must still be the one that was checked
//! (device, inode, size and modification time taken when the check opened it),
//! and no other process may hold it open for writing (`/proc/*/fd`; a server
//! still appending to it): otherwise the run stops with exit 2, naming the
//! process, unless `--force`. Both are checked before the backup and again
//! right before the truncation.
//!
//! Test-only: the environment variable `REDIS_PERSIST_TEST_FIX_FAULT=<step>:abort`
//! (or `:pause`) makes the process abort (or stop until killed) when the repair
//! reaches `<step>` (see `redis_persist::aof::repair::Step::name`); with
//! `REDIS_PERSIST_TEST_FIX_RESUME=<path>` too, a pause ends when `<path>`
//! exists (to interleave two runs). The crash-safety tests use it. It has no other effect, and it exists only in a
//! build with the `test-fault-hook` feature, which only the tests enable (the
//! crate's dev-dependency on itself): a release binary has no such variable.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context;
use redis_persist::aof::check::{
    self, FileReport, Finding, FixPlan, InputReport, RdbPart, Severity,
};
use redis_persist::aof::loader::Outcome;
use redis_persist::aof::repair::{self, Identity};
#[cfg(feature = "test-fault-hook")]
use redis_persist::aof::repair::{Hook, Step};
use redis_persist::aof::{self, FileKind, Resolved};
use redis_persist::io::Progress;
use serde_json::{Value, json};

use super::{ExitStatus, Global};
use crate::output::progress::Bar;
use crate::output::{escape_bytes, human_size, json_bytes};

/// Arguments of `check-aof`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The AOF: a single file, a multi-part manifest, or the directory holding
    /// the manifest (e.g. `appendonlydir`); `-` reads a single AOF from standard
    /// input (check only).
    pub path: PathBuf,
    /// Repair: truncate the damaged file where `redis-check-aof --fix` would (at
    /// the first bad record, or at the start of the unfinished MULTI), after
    /// writing a backup.
    #[arg(long)]
    pub fix: bool,
    /// Do not ask for confirmation (needed to change files when standard input is
    /// not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// With `--fix` or `--truncate-to-timestamp`: print what would be done, change
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the backup into DIR instead of beside the file.
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// With `--fix` or `--truncate-to-timestamp`: truncate even when another
    /// process holds the file open for writing (by default the run stops with
    /// exit 2 and names it: a server still appending would lose writes it
    /// acknowledged).
    #[arg(long)]
    pub force: bool,
    /// Count every warning (unknown commands, wrong arities, manifest notes) as an
    /// error.
    #[arg(long)]
    pub strict: bool,
    /// Print one JSON document instead of the human report.
    #[arg(long)]
    pub json: bool,
    /// Cut the last file at the first `#TS:` annotation later than TS (Unix
    /// seconds), like `redis-check-aof --truncate-to-timestamp` (with a backup and
    /// a confirmation).
    #[arg(
        long,
        value_name = "TS",
        conflicts_with = "fix",
        allow_negative_numbers = true
    )]
    pub truncate_to_timestamp: Option<i64>,
}

/// What the run did about the plan.
#[derive(Debug, Default)]
struct FixOutcome {
    /// The plan was a cut.
    cut: Option<CutInfo>,
    /// Why nothing was cut although something is wrong.
    refused: Option<(Option<usize>, &'static str, String)>,
    applied: bool,
    declined: bool,
    no_terminal: bool,
    backup: Option<PathBuf>,
    /// The check after the cut.
    after: Option<InputReport>,
}

#[derive(Debug, Clone)]
struct CutInfo {
    file: usize,
    from: u64,
    to: u64,
    commands: u64,
    reason: &'static str,
}

/// The top-level keys of the `--json` document (also those of a failed run's).
pub const JSON_KEYS: &[&str] = &[
    "ok",
    "error",
    "unsupported",
    "path",
    "layout",
    "manifest",
    "notes",
    "files",
    "errors",
    "warnings",
    "strict",
    "truncate_to_timestamp",
    "fix",
    "refused",
];

/// Runs `check-aof`.
pub fn run(args: &Args, global: Global) -> anyhow::Result<ExitStatus> {
    if (args.fix || args.truncate_to_timestamp.is_some()) && args.path.as_os_str() == "-" {
        anyhow::bail!("--fix and --truncate-to-timestamp need a file, not standard input");
    }
    let resolved =
        aof::resolve(&args.path).with_context(|| format!("reading {}", args.path.display()))?;
    let report = run_check(&resolved, args, global)?;
    let modifying = args.fix || args.truncate_to_timestamp.is_some();
    // A check of something that is not an AOF at all (a JSON file, random
    // bytes): an error (exit 1), one line on stderr; under `--json` the report
    // with `error` set. `--fix` still cuts it where redis-check-aof would
    // (to nothing, with a backup).
    let not_aof = (!modifying)
        .then(|| not_an_aof(&report, args.strict))
        .flatten()
        .map(|why| format!("{}: not an AOF: {why}", args.path.display()));
    if let Some(e) = &not_aof {
        if !args.json {
            return Err(super::input_problem(e.clone()));
        }
        crate::output::eprint_line(&format!(
            "{e} ({})",
            super::hint_for(ExitStatus::Problems, None)
        ));
    }
    let plan = if args.truncate_to_timestamp.is_some() {
        report.timestamp_plan()
    } else {
        report.fix_plan()
    };

    let mut out = FixOutcome::default();
    match &plan {
        FixPlan::Nothing => {}
        FixPlan::Refuse {
            file,
            code,
            explanation,
        } => {
            out.refused = Some((*file, code, explanation.clone()));
        }
        FixPlan::Cut {
            file,
            from,
            to,
            commands,
            reason,
        } => {
            out.cut = Some(CutInfo {
                file: *file,
                from: *from,
                to: *to,
                commands: *commands,
                reason,
            });
        }
    }

    if !args.json {
        print_report(&report, args, &plan, modifying)?;
    }
    if modifying && !args.dry_run {
        if let Some(cut) = out.cut.clone() {
            apply_cut(&report, &cut, &resolved, args, global, &mut out)?;
        }
    }
    let status = exit_status(&report, &out, args, modifying);
    if args.json {
        print_json(&report, &out, args, modifying, status, not_aof.as_deref())?;
    } else {
        print_outcome(&report, &out, args, modifying, status)?;
    }
    Ok(status)
}

/// Why the input is not an AOF at all: a single file whose very first record
/// is neither a command (`*`), an annotation (`#`) nor an RDB preamble (the
/// server refuses it with "Bad file format" before reading anything).
fn not_an_aof(report: &InputReport, strict: bool) -> Option<String> {
    let [f] = report.files.as_slice() else {
        return None;
    };
    // (A damaged AOF is told from one that is not an AOF by the complete
    // commands after the damage; an empty file has no error; a stream's size
    // is not known.)
    if !matches!(report.resolved, Resolved::Single(_))
        || f.rdb.is_some()
        || f.resp
            .as_ref()
            .is_some_and(|r| r.after_damage.as_ref().is_some_and(|a| a.commands > 0))
    {
        return None;
    }
    f.findings(strict)
        .into_iter()
        .find(|x| x.severity == Severity::Error)
        .filter(|x| x.code == "format-error" && x.offset == Some(0))
        .map(|x| x.message)
}

/// The exit status: 0 when the input is valid at the end, 1 otherwise (2 is for
/// errors, returned as `Err`).
fn exit_status(report: &InputReport, out: &FixOutcome, args: &Args, modifying: bool) -> ExitStatus {
    if out.applied {
        // Judge the result: the re-check after the cut.
        let after_ok = out.after.as_ref().is_some_and(|a| a.is_ok(args.strict));
        return if after_ok {
            ExitStatus::Ok
        } else {
            ExitStatus::Problems
        };
    }
    if modifying && args.truncate_to_timestamp.is_some() {
        // Nothing to cut, or a dry run of a cut (nothing changed, the input
        // is valid): like redis-check-aof, valid input → 0; a refused cut → 1.
        return if out.refused.is_none()
            && (out.cut.is_none() || args.dry_run)
            && report.is_ok(args.strict)
        {
            ExitStatus::Ok
        } else {
            ExitStatus::Problems
        };
    }
    if report.is_ok(args.strict) {
        ExitStatus::Ok
    } else if report.is_unsupported(args.strict) {
        ExitStatus::Unsupported
    } else {
        ExitStatus::Problems
    }
}

/// Checks with a progress bar.
fn run_check(resolved: &Resolved, args: &Args, global: Global) -> anyhow::Result<InputReport> {
    let total = input_size(resolved);
    let bar = Bar::new(global.progress, total, "checking");
    let b = bar.clone();
    let opts = check::Options {
        truncate_to_timestamp: args.truncate_to_timestamp,
        progress: Some(Box::new(move |base| {
            Box::new(OffsetProgress {
                bar: b.clone(),
                base,
            }) as Box<dyn Progress>
        })),
    };
    let report = check::check_input(resolved, &opts)
        .with_context(|| format!("checking {}", resolved.path().display()))?;
    bar.finish();
    Ok(report)
}

/// Total bytes to read (for the progress bar).
fn input_size(resolved: &Resolved) -> Option<u64> {
    match resolved {
        Resolved::Single(p) if p.as_os_str() == "-" => None,
        Resolved::Single(p) => std::fs::metadata(p).ok().map(|m| m.len()),
        Resolved::Manifest(_) => {
            let input = aof::open(resolved.path()).ok()?;
            Some(
                input
                    .files()
                    .iter()
                    .filter_map(|f| std::fs::metadata(&f.path).ok())
                    .map(|m| m.len())
                    .sum(),
            )
        }
    }
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

/// The test-only fault injection hook (see the module docs).
#[cfg(feature = "test-fault-hook")]
struct FaultHook {
    at: Option<(String, bool)>,
    resume: Option<PathBuf>,
}

#[cfg(feature = "test-fault-hook")]
impl FaultHook {
    fn from_env() -> Self {
        let at = std::env::var("REDIS_PERSIST_TEST_FIX_FAULT")
            .ok()
            .and_then(|v| {
                let (step, action) = v.rsplit_once(':')?;
                Some((step.to_owned(), action == "pause"))
            });
        let resume = std::env::var_os("REDIS_PERSIST_TEST_FIX_RESUME").map(PathBuf::from);
        Self { at, resume }
    }
}

#[cfg(feature = "test-fault-hook")]
impl Hook for FaultHook {
    fn step(&self, step: Step) {
        let Some((name, pause)) = &self.at else {
            return;
        };
        if step.name() != name {
            return;
        }
        if *pause {
            let _ = writeln!(std::io::stderr(), "redis-persist: test pause at {name}");
            let _ = std::io::stderr().flush();
            loop {
                match &self.resume {
                    Some(p) if p.exists() => return,
                    Some(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                    None => std::thread::sleep(std::time::Duration::from_secs(3600)),
                }
            }
        }
        std::process::abort();
    }
}

/// Confirms, backs up, truncates, re-checks.
fn apply_cut(
    report: &InputReport,
    cut: &CutInfo,
    resolved: &Resolved,
    args: &Args,
    global: Global,
    out: &mut FixOutcome,
) -> anyhow::Result<()> {
    let file = &report.files[cut.file];
    let path = &file.path;
    // The identity taken when the check opened the file, before reading it:
    // every later step compares the file with it.
    let identity = file.identity.clone().with_context(|| {
        format!(
            "{}: no identity was taken; nothing was modified",
            path.display()
        )
    })?;
    if identity.size != file.size {
        anyhow::bail!(
            "{} changed while it was checked ({} bytes when opened, {} read): is a server still writing to it? Nothing was modified",
            path.display(),
            identity.size,
            file.size
        );
    }
    if Identity::of(path).with_context(|| format!("reading {}", path.display()))? != identity {
        anyhow::bail!(
            "{} changed since it was checked: is a server still writing to it? Nothing was modified",
            path.display()
        );
    }
    if !args.force {
        repair::refuse_held(path, &repair::writers(path))
            .context("refusing to change it (--force changes it anyway)")?;
    }
    if let Some(dir) = &args.backup_dir {
        if !dir.is_dir() {
            anyhow::bail!(
                "--backup-dir {}: not a directory; nothing was modified",
                dir.display()
            );
        }
    }
    let dest = repair::backup_path(path, args.backup_dir.as_deref(), SystemTime::now());
    // A fresh name (backup_path never returns an existing one): the guard is
    // the one every writing subcommand runs, kept here so none is missed.
    super::clobber::refuse_output_over_input(&dest, &[path])?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            out.no_terminal = true;
            return Ok(());
        }
        let prompt = format!(
            "Truncate {} from {} to {} bytes (cut {} bytes, {} complete command(s))? A backup is written to {} first. [y/N] ",
            path.display(),
            cut.from,
            cut.to,
            cut.from - cut.to,
            cut.commands,
            dest.display()
        );
        if !ask(&prompt)? {
            out.declined = true;
            return Ok(());
        }
    }
    #[cfg(feature = "test-fault-hook")]
    let hook = FaultHook::from_env();
    #[cfg(not(feature = "test-fault-hook"))]
    let hook = repair::NoHook;
    repair::Hook::step(&hook, repair::Step::BackupNamed);
    let backup = repair::write_backup(path, &identity, &dest, &hook).with_context(|| {
        format!(
            "writing the backup of {}; nothing was modified",
            path.display()
        )
    })?;
    out.backup = Some(backup.path.clone());
    announce(
        args,
        &format!(
            "backup written: {} ({} bytes)",
            backup.path.display(),
            backup.size
        ),
    );
    repair::truncate_guarded(path, &identity, cut.to, &hook, !args.force).with_context(|| {
        format!(
            "truncating {} (the backup {} holds the original)",
            path.display(),
            backup.path.display()
        )
    })?;
    out.applied = true;
    let after_args = Args {
        path: args.path.clone(),
        fix: false,
        yes: false,
        dry_run: false,
        backup_dir: None,
        force: false,
        strict: args.strict,
        json: args.json,
        truncate_to_timestamp: None,
    };
    out.after = Some(run_check(resolved, &after_args, global)?);
    Ok(())
}

/// A line on stderr in human mode (progress of the repair), nothing in JSON mode.
/// A failed write is ignored: the repair under way is finished, never left
/// half-done by a panic (`2>/dev/full`).
fn announce(args: &Args, msg: &str) {
    if !args.json {
        let _ = writeln!(std::io::stderr(), "{msg}");
    }
}

/// Asks on stderr, reads one line from stdin: yes only for `y` / `yes`. A
/// prompt that cannot be written is an error: nothing is started.
fn ask(prompt: &str) -> anyhow::Result<bool> {
    let mut err = std::io::stderr();
    write!(err, "{prompt}")?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let a = line.trim().to_ascii_lowercase();
    Ok(a == "y" || a == "yes")
}

// ---------------------------------------------------------------------------
// Human output

fn display_name(f: &FileReport) -> String {
    escape_bytes(&f.name)
}

fn kind_label(k: FileKind) -> &'static str {
    match k {
        FileKind::Single => "AOF",
        FileKind::Base => "BASE",
        FileKind::Incr => "INCR",
    }
}

fn format_label(f: &FileReport) -> String {
    match &f.rdb {
        Some(r) => {
            let rep = &r.report;
            let mut s = format!(
                "RDB preamble ({}{})",
                rep.rdb_version
                    .map(|v| format!("RDB {v}, "))
                    .unwrap_or_default(),
                format_args!("{} keys", rep.keys)
            );
            if f.resp
                .as_ref()
                .is_some_and(|x| x.valid_up_to > x.start || x.stop.is_some())
            {
                s.push_str(" + RESP");
            }
            s
        }
        None if f.open_error.is_some() => "-".to_owned(),
        None if f.is_empty() => "empty".to_owned(),
        None => "RESP".to_owned(),
    }
}

#[allow(clippy::print_stdout)]
fn print_report(
    report: &InputReport,
    args: &Args,
    plan: &FixPlan,
    modifying: bool,
) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    let strict = args.strict;
    match (&report.resolved, &report.manifest) {
        (Resolved::Manifest(p), Some(m)) => {
            writeln!(o, "multi-part AOF: {}", p.display())?;
            let state = if m.error.is_some() {
                "REFUSED BY THE SERVER"
            } else {
                "ok"
            };
            writeln!(
                o,
                "  manifest  {}  {}  {state}",
                p.display(),
                human_size(m.size)
            )?;
            if let Some(man) = &m.manifest {
                let h = man.history().count();
                writeln!(
                    o,
                    "            {} BASE, {} INCR, {} HISTORY entr{}",
                    usize::from(man.base().is_some()),
                    man.incrs().count(),
                    h,
                    if h == 1 { "y" } else { "ies" }
                )?;
            }
            for f in m.findings() {
                write_finding(&mut o, &f, "manifest line")?;
            }
        }
        (r, _) => writeln!(o, "AOF: {}", r.path().display())?,
    }
    for n in &report.notes {
        write_finding(&mut o, n, "line")?;
    }
    for (i, f) in report.files.iter().enumerate() {
        let findings = f.findings(strict);
        let bad = findings.iter().any(|x| x.severity == Severity::Error);
        let state = if f.open_error.is_some() {
            "MISSING"
        } else if f.rdb.as_ref().is_some_and(RdbPart::is_unsupported) {
            "UNSUPPORTED (a newer server's RDB part: may be valid)"
        } else if bad {
            "NOT VALID"
        } else {
            "ok"
        };
        writeln!(
            o,
            "  {:<4}  {}  {}  {}  {state}",
            kind_label(f.kind).to_ascii_lowercase(),
            display_name(f),
            format_label(f),
            human_size(f.size)
        )?;
        if let Some(r) = &f.resp {
            let mut line = format!(
                "        {} command{}, {} MULTI block{}",
                r.commands,
                plural(r.commands),
                r.multi_blocks,
                plural(r.multi_blocks)
            );
            if r.annotations > 0 {
                let _ = write!(
                    line,
                    ", {} annotation{}",
                    r.annotations,
                    plural(r.annotations)
                );
            }
            if let Some((a, b)) = r.timestamps {
                let _ = write!(line, ", #TS {a}..{b}");
            }
            writeln!(o, "{line}")?;
            if r.stop.is_some() {
                writeln!(
                    o,
                    "        valid up to offset {} (redis-check-aof ok_up_to_line {}), {} bytes after it",
                    r.valid_up_to,
                    r.line,
                    f.size - r.valid_up_to
                )?;
            }
        }
        for x in &findings {
            write_finding(&mut o, x, "line")?;
        }
        if let Some(l) = &f.loader {
            writeln!(o, "        server: {}", l.describe(f.last, f.rdb.is_some()))?;
        }
        match plan {
            FixPlan::Cut {
                file,
                from,
                to,
                commands,
                reason,
            } if *file == i => {
                let what = if *reason == "timestamp" {
                    "--truncate-to-timestamp"
                } else {
                    "--fix"
                };
                writeln!(
                    o,
                    "        {what} {} truncate it from {from} to {to} bytes: cut {} bytes, {commands} complete command{}",
                    if modifying && !args.dry_run {
                        "will"
                    } else {
                        "would"
                    },
                    from - to,
                    plural(*commands)
                )?;
            }
            _ => {}
        }
    }
    if let FixPlan::Refuse { explanation, .. } = plan {
        if !report.is_ok(strict) || modifying {
            writeln!(o, "--fix cannot repair this: {explanation}")?;
        }
    }
    Ok(())
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn write_finding(o: &mut impl Write, f: &Finding, line_word: &str) -> std::io::Result<()> {
    let sev = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut at = String::new();
    if let Some(off) = f.offset {
        let _ = write!(at, " at offset {off} (0x{off:x})");
    }
    if let Some(l) = f.line {
        let _ = write!(at, ", {line_word} {l}");
    }
    writeln!(o, "        {sev}{at}: {}", f.message)
}

#[allow(clippy::print_stdout)]
fn print_outcome(
    report: &InputReport,
    out: &FixOutcome,
    args: &Args,
    modifying: bool,
    status: ExitStatus,
) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    if modifying {
        if let Some(c) = &out.cut {
            let f = &report.files[c.file];
            if args.dry_run {
                writeln!(o, "dry run: nothing was changed")?;
            } else if out.no_terminal {
                writeln!(
                    o,
                    "not changing {}: standard input is not a terminal; re-run with --yes to confirm the cut",
                    f.path.display()
                )?;
            } else if out.declined {
                writeln!(o, "aborted: nothing was changed")?;
            } else if out.applied {
                writeln!(
                    o,
                    "truncated {} from {} to {} bytes; backup: {}",
                    f.path.display(),
                    c.from,
                    c.to,
                    out.backup
                        .as_ref()
                        .map_or_else(String::new, |b| b.display().to_string())
                )?;
                if let Some(after) = &out.after {
                    let ok = after.is_ok(args.strict);
                    writeln!(
                        o,
                        "re-check: {}",
                        if ok { "valid" } else { "still NOT VALID" }
                    )?;
                    if !ok {
                        for (_, x) in after.findings(args.strict) {
                            write_finding(&mut o, &x, "line")?;
                        }
                    }
                }
            }
        } else if out.refused.is_none() {
            if args.truncate_to_timestamp.is_some() {
                writeln!(o, "nothing to truncate")?;
            } else if report.is_ok(args.strict) {
                writeln!(o, "nothing to fix")?;
            } else {
                writeln!(
                    o,
                    "--fix has nothing it can cut: the errors above need another remedy"
                )?;
            }
        }
    }
    // After a repair, the counts are those of the re-check.
    let (errors, warnings) = count(
        out.after.as_ref().filter(|_| out.applied).unwrap_or(report),
        args.strict,
    );
    let verdict = match status {
        ExitStatus::Ok if out.applied => "repaired".to_owned(),
        ExitStatus::Ok => "valid".to_owned(),
        ExitStatus::Unsupported => {
            "UNSUPPORTED: written by a newer server than this tool knows, it may be valid (use a newer redis-persist)".to_owned()
        }
        _ if out.refused.is_some() && report.is_ok(args.strict) => {
            "valid, but nothing was cut (see above)".to_owned()
        }
        _ => "NOT VALID".to_owned(),
    };
    writeln!(
        o,
        "result: {verdict} ({errors} error{}, {warnings} warning{})",
        plural(errors),
        plural(warnings)
    )?;
    Ok(())
}

fn count(report: &InputReport, strict: bool) -> (u64, u64) {
    let f = report.findings(strict);
    let e = f
        .iter()
        .filter(|(_, x)| x.severity == Severity::Error)
        .count() as u64;
    (e, f.len() as u64 - e)
}

// ---------------------------------------------------------------------------
// JSON output

fn finding_json(f: &Finding) -> Value {
    json!({
        "severity": f.severity,
        "code": f.code,
        "offset": f.offset,
        "line": f.line,
        "message": f.message,
    })
}

fn upstream_json(f: &FileReport) -> Value {
    let Some(r) = &f.resp else { return Value::Null };
    let error = r.stop.as_ref().and_then(|s| {
        s.kind
            .upstream_message(&f.path.display().to_string())
            .map(|m| format!("0x{:>16x}: {m}", s.offset))
    });
    json!({
        "ok_up_to": r.valid_up_to,
        "ok_up_to_line": r.line,
        "diff": f.size - r.valid_up_to,
        "error": error,
    })
}

fn file_json(f: &FileReport, i: usize, plan: &FixPlan, strict: bool) -> Value {
    let findings = f.findings(strict);
    let ok = !findings.iter().any(|x| x.severity == Severity::Error);
    let rdb = f.rdb.as_ref().map(|r| {
        json!({
            "magic": r.magic,
            "version": r.report.rdb_version,
            "keys": r.report.keys,
            "expires": r.report.expires,
            "checksum": r.report.checksum.map(|c| format!("{c:?}").to_ascii_lowercase()),
            "end_offset": r.report.end_offset,
            "ok": r.is_ok(),
        })
    });
    let would_cut = match plan {
        FixPlan::Cut {
            file,
            from,
            to,
            commands,
            reason,
        } if *file == i => json!({
            "to_size": to, "cut_bytes": from - to, "cut_commands": commands, "reason": reason,
        }),
        _ => Value::Null,
    };
    let r = f.resp.as_ref();
    let server = f.loader.as_ref().map(|l| {
        let (outcome, at) = match &l.outcome {
            Outcome::Loads => ("loads", None),
            Outcome::Truncates { valid_up_to, .. } => ("truncates", Some(*valid_up_to)),
            Outcome::BadFormat { .. } => ("bad-format", None),
            Outcome::UnknownCommand { .. } => ("unknown-command", None),
            Outcome::Crashes { .. } => ("crashes", None),
            Outcome::WrongArity { .. } => ("wrong-arity", None),
            Outcome::RdbPreamble => ("rdb-preamble", None),
        };
        json!({
            "outcome": outcome,
            "truncates_to": at,
            "starts": matches!(l.outcome, Outcome::Loads) || (f.last && at.is_some()),
            "message": l.describe(f.last, f.rdb.is_some()),
        })
    });
    json!({
        "path": f.path.display().to_string(),
        "name": json_bytes(&f.name),
        "kind": f.kind,
        "seq": f.seq,
        "manifest_line": f.manifest_line,
        "last": f.last,
        "ok": ok,
        "missing": f.open_error.is_some(),
        "size": f.size,
        "format": if f.rdb.is_some() { "rdb-preamble" } else { "resp" },
        "rdb": rdb,
        "resp_start": r.map(|r| r.start),
        "valid_up_to": r.map_or(0, |r| r.valid_up_to),
        "valid_up_to_line": r.map(|r| r.line),
        "commands": r.map_or(0, |r| r.commands),
        "multi_blocks": r.map_or(0, |r| r.multi_blocks),
        "annotations": r.map_or(0, |r| r.annotations),
        "timestamps": r.and_then(|r| r.timestamps).map(|(a, b)| json!({"first": a, "last": b})),
        "problems": findings.iter().map(finding_json).collect::<Vec<_>>(),
        "would_cut": would_cut,
        "redis_check_aof": upstream_json(f),
        "server": server,
    })
}

#[allow(clippy::print_stdout)]
fn print_json(
    report: &InputReport,
    out: &FixOutcome,
    args: &Args,
    modifying: bool,
    status: ExitStatus,
    error: Option<&str>,
) -> anyhow::Result<()> {
    let plan = if args.truncate_to_timestamp.is_some() {
        report.timestamp_plan()
    } else {
        report.fix_plan()
    };
    let manifest = report.manifest.as_ref().map(|m| {
        json!({
            "path": m.path.display().to_string(),
            "size": m.size,
            "ok": m.error.is_none(),
            "entries": m.manifest.as_ref().map(|man| man.entries.iter().map(|e| json!({
                "file": json_bytes(&e.name),
                "seq": e.seq,
                "type": e.kind,
                "line": e.line,
            })).collect::<Vec<_>>()),
            "problems": m.findings().iter().map(finding_json).collect::<Vec<_>>(),
        })
    });
    let fix = if modifying {
        out.cut.as_ref().map(|c| {
            json!({
                "file": report.files[c.file].path.display().to_string(),
                "from_size": c.from,
                "to_size": c.to,
                "cut_bytes": c.from - c.to,
                "cut_commands": c.commands,
                "reason": c.reason,
                "backup": out.backup.as_ref().map(|b| b.display().to_string()),
                "applied": out.applied,
                "dry_run": args.dry_run,
                "declined": out.declined,
                "needs_confirmation": out.no_terminal,
                "after_ok": out.after.as_ref().map(|a| a.is_ok(args.strict)),
            })
        })
    } else {
        None
    };
    let refused = out
        .refused
        .as_ref()
        .filter(|_| modifying || !report.is_ok(args.strict))
        .map(|(file, code, expl)| {
            json!({
                "file": file.map(|i| report.files[i].path.display().to_string()),
                "code": code,
                "explanation": expl,
            })
        });
    let (errors, warnings) = count(report, args.strict);
    let doc = json!({
        "ok": status == ExitStatus::Ok,
        "error": error,
        "unsupported": status == ExitStatus::Unsupported,
        "path": args.path.display().to_string(),
        "layout": match report.resolved { Resolved::Single(_) => "single", Resolved::Manifest(_) => "multi-part" },
        "manifest": manifest,
        "notes": report.notes.iter().map(finding_json).collect::<Vec<_>>(),
        "files": report.files.iter().enumerate().map(|(i, f)| file_json(f, i, &plan, args.strict)).collect::<Vec<_>>(),
        "errors": errors,
        "warnings": warnings,
        "strict": args.strict,
        "truncate_to_timestamp": args.truncate_to_timestamp,
        "fix": fix,
        "refused": refused,
    });
    let mut o = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut o, &doc)?;
    writeln!(o)?;
    Ok(())
}
