//! The AOF half of `salvage` (the library's [`redis_persist::aof::salvage`]):
//! a single file, a hybrid file, or a multi-part directory / manifest.
//!
//! * **Layout.** A multi-part input gives a new multi-part directory: the
//!   manifest `<f>.manifest` and one file per file of the input's load order,
//!   named as Redis 7 names them, with the input's sequence numbers:
//!   `<f>.<seq>.base.rdb` (or `.base.aof` when the salvaged BASE has no RDB
//!   part), `<f>.<seq>.incr.aof`; `<f>` is the input manifest's
//!   `appendfilename` (`appendonly.aof` when it is not a plain name). HISTORY
//!   files are not copied (the server never loads them); a file the manifest
//!   lists but that is missing is reported and left out. A single-file input
//!   gives a single file; `--single-file` writes a multi-part input as one file
//!   too (its BASE, then every INCR's commands).
//! * **Atomicity.** Everything is written under a temporary name beside OUTPUT,
//!   synced, re-checked with the `check-aof` checker (which must find no error
//!   and no command the server refuses), and only then renamed to OUTPUT (the
//!   installation of `convert-aof-to-hybrid`: an existing OUTPUT needs
//!   `--force`, a directory is replaced only when it holds only AOF files).
//! * **`--replay`.** The salvaged AOF (under its temporary name) is then
//!   replayed and written as a hybrid directory (or file, `--single-file`) by
//!   `convert-aof-to-hybrid`, which prints its own report after this one.
//!   Memory is then the dataset's.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use redis_persist::aof::salvage::{self as aof_salvage, FileSalvage};
use redis_persist::aof::{self, AofFile, FileKind, Layout, Resolved};
use redis_persist::rdb::salvage::SalvageOptions;
use serde_json::{Value as J, json};

use super::super::convert_aof_to_hybrid::{self as convert, Target, TempGuard, install, sync_dir};
use super::super::{ExitStatus, Global, MappedFile};
use super::{Args, TempFile, parent_dir};
use crate::output::progress::Bar;

/// The prefix of the files of a new directory when the input's is unusable.
const DEFAULT_PREFIX: &str = "appendonly.aof";

/// What happened to one input file.
struct FileRun {
    path: PathBuf,
    name: String,
    kind: FileKind,
    seq: Option<i64>,
    size: u64,
    missing: bool,
    /// Name of its file in the output directory.
    out_name: Option<String>,
    salvage: FileSalvage,
}

/// Runs `salvage` on an AOF input (`input`: the path to read, which is
/// standard input's copy when INPUT is `-`).
pub(super) fn run(
    args: &Args,
    global: Global,
    input_path: &Path,
    rdb_opts: &SalvageOptions,
) -> anyhow::Result<ExitStatus> {
    let input =
        aof::open(input_path).with_context(|| format!("reading {}", args.input.display()))?;
    let multi_in = input.layout() == Layout::MultiPart;
    let single_out = !multi_in || args.single_file;
    let mut inputs: Vec<PathBuf> = vec![input_path.to_path_buf()];
    inputs.extend(input.files().iter().map(|f| f.path.clone()));
    let input_refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    super::super::clobber::refuse_output_over_input(&args.output, &input_refs)?;
    if let Some(lost) = &args.lost {
        super::super::clobber::refuse_output_over_input(lost, &input_refs)?;
        if lost.exists() && !args.force {
            bail!("{} exists (use --force to replace it)", lost.display());
        }
    }
    // With --replay, OUTPUT is convert-aof-to-hybrid's; the salvaged AOF is a
    // stage beside it.
    let target = if args.replay {
        None
    } else {
        Some(Target::new(&args.output, single_out, args.force)?)
    };
    let stage_single = if args.replay { !multi_in } else { single_out };
    let tmp = match &target {
        Some(t) => t.temp_path("tmp"),
        None => parent_dir(&args.output).join(format!(
            ".{}.salvage-{}.stage",
            args.output
                .file_name()
                .map_or_else(|| "salvage".into(), |n| n.to_string_lossy()),
            std::process::id()
        )),
    };
    let mut guard = TempGuard {
        path: Some(tmp.clone()),
    };
    let mut lost = match &args.lost {
        Some(l) => Some(TempFile::create(&parent_dir(l), l, "lost")?),
        None => None,
    };

    let total: u64 = input
        .files()
        .iter()
        .filter_map(|f| fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    let bar = Bar::new(
        global.progress && !args.json,
        Some(total),
        &format!("salvaging {}", args.input.display()),
    );
    let prefix = prefix_of(&input.resolved);
    let runs = if stage_single {
        write_single(&tmp, input.files(), rdb_opts, &bar, lost.as_mut())
    } else {
        write_dir(&tmp, &prefix, input.files(), rdb_opts, &bar, lost.as_mut())
    };
    bar.finish();
    let runs = runs?;
    // A single file that is not an AOF at all (random bytes, a JSON file):
    // its first byte cannot start one and no command parses anywhere in it.
    // Nothing to salvage; nothing is written (exit 1, the input's problem).
    let first = input
        .files()
        .first()
        .and_then(|f| fs::File::open(&f.path).ok())
        .and_then(|mut f| {
            let mut b = [0u8; 1];
            std::io::Read::read(&mut f, &mut b)
                .ok()
                .filter(|&n| n == 1)
                .map(|_| b[0])
        });
    if !multi_in
        && first.is_some_and(|b| b != b'*' && b != b'#')
        && runs
            .iter()
            .all(|r| r.salvage.commands_kept == 0 && r.salvage.rdb.is_none())
    {
        return Err(super::super::input_problem(format!(
            "{} is neither an RDB file (no REDIS/VALKEY magic) nor an AOF (no command in it): \
             nothing to salvage, nothing was written",
            args.input.display()
        )));
    }
    let resolved = if stage_single {
        Resolved::Single(tmp.clone())
    } else {
        Resolved::Manifest(tmp.join(format!("{prefix}.manifest")))
    };
    recheck(&resolved)?;
    if let (Some(l), Some(path)) = (lost.take(), &args.lost) {
        l.file
            .sync_all()
            .with_context(|| format!("syncing {}", l.path.display()))?;
        l.persist(path)?;
    }
    let clean = runs.iter().all(|r| !r.missing && r.salvage.is_clean());
    if let Some(t) = &target {
        install(t, &tmp)?;
        guard.disarm();
    }
    let layout = if stage_single {
        "single-file"
    } else {
        "multi-part"
    };
    let mut doc = args
        .json
        .then(|| json_report(args, &input, &runs, clean, layout, &prefix));
    if !args.json {
        write_human(&mut std::io::stderr().lock(), args, &runs, layout)?;
    } else if !args.replay {
        print_doc(doc.take())?;
    }
    let status = if clean {
        ExitStatus::Ok
    } else {
        ExitStatus::Problems
    };
    if !args.replay {
        return Ok(status);
    }
    let cargs = convert::Args {
        input: tmp.clone(),
        output: args.output.clone(),
        single_file: args.single_file,
        rdb_version: args.rdb_version,
        force: args.force,
        appendfilename: None,
        now: None,
        keep_expired: false,
        databases: 16,
        strict: false,
        json: args.json,
    };
    // One JSON document: the conversion's report goes under `replay`.
    let (replayed, conversion) = convert::run_capturing_json(&cargs, global);
    let replayed = replayed?;
    if let Some(serde_json::Value::Object(d)) = doc.as_mut() {
        d.insert("replay".into(), conversion.unwrap_or_default());
    }
    print_doc(doc)?;
    drop(guard);
    Ok(if replayed == ExitStatus::Ok {
        status
    } else {
        replayed
    })
}

/// The input manifest's file prefix (`appendfilename`), when it is a plain
/// name; else `appendonly.aof`.
fn prefix_of(resolved: &Resolved) -> String {
    let Resolved::Manifest(p) = resolved else {
        return DEFAULT_PREFIX.into();
    };
    p.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".manifest"))
        .filter(|n| {
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'/'))
        })
        .map_or_else(|| DEFAULT_PREFIX.into(), str::to_owned)
}

/// Progress over several files: the bar at the bytes of the files before
/// this one plus the offset, and the mapped pages well behind given back.
struct Track<'a> {
    bar: &'a Bar,
    map: Option<&'a MappedFile>,
    base: u64,
}

impl redis_persist::io::Progress for Track<'_> {
    fn set_position(&self, offset: u64) {
        redis_persist::io::Progress::set_position(self.bar, self.base + offset);
        if let Some(m) = self.map {
            m.release(offset.saturating_sub(4 << 20));
        }
    }

    fn scanned(&self, offset: u64) {
        if let Some(m) = self.map {
            m.release_scanned(offset);
        }
    }
}

/// Salvages one input file to `out` (and its lost bytes to `lost`).
fn salvage_one(
    f: &AofFile,
    out: &mut dyn Write,
    rdb_opts: &SalvageOptions,
    bar: &Bar,
    base: u64,
    lost: Option<&mut TempFile>,
    rdb_allowed: bool,
) -> anyhow::Result<FileRun> {
    let mut run = FileRun {
        path: f.path.clone(),
        name: String::from_utf8_lossy(&f.name).into_owned(),
        kind: f.kind,
        seq: f.seq,
        size: 0,
        missing: false,
        out_name: None,
        salvage: FileSalvage::default(),
    };
    let meta = match fs::metadata(&f.path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            run.missing = true;
            return Ok(run);
        }
        Err(e) => return Err(e).with_context(|| format!("opening {}", f.path.display())),
    };
    run.size = meta.len();
    let map = if meta.len() == 0 {
        None
    } else {
        Some(
            MappedFile::open(&f.path)
                .with_context(|| format!("{}: cannot be mapped", f.path.display()))?,
        )
    };
    let data = map.as_ref().map_or(&[][..], MappedFile::bytes);
    if !rdb_allowed && aof_salvage::has_rdb_magic(data) {
        bail!(
            "{} starts with an RDB part but is not the first file: it cannot go into a single \
             file (leave out --single-file); nothing was written",
            f.path.display()
        );
    }
    let track = Track {
        bar,
        map: map.as_ref(),
        base,
    };
    let mut out = out;
    run.salvage = aof_salvage::salvage_file(data, &mut out, rdb_opts, &track)
        .with_context(|| format!("salvaging {}", f.path.display()))?;
    if let Some(l) = lost {
        let mut w = BufWriter::new(&l.file);
        for (s, e) in run.salvage.lost_ranges() {
            w.write_all(&data[s as usize..e as usize])?;
        }
        w.flush()?;
    }
    Ok(run)
}

/// Writes every file, in load order, into the single file `path`.
fn write_single(
    path: &Path,
    files: &[AofFile],
    rdb_opts: &SalvageOptions,
    bar: &Bar,
    mut lost: Option<&mut TempFile>,
) -> anyhow::Result<Vec<FileRun>> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut runs = Vec::new();
    let mut base = 0;
    for (i, f) in files.iter().enumerate() {
        let r = salvage_one(
            f,
            &mut out,
            rdb_opts,
            bar,
            base,
            lost.as_deref_mut(),
            i == 0,
        )?;
        base += r.size;
        runs.push(r);
    }
    let file = out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)
        .with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(runs)
}

/// Writes a new multi-part directory at `dir`: one file per input file, then
/// the manifest.
fn write_dir(
    dir: &Path,
    prefix: &str,
    files: &[AofFile],
    rdb_opts: &SalvageOptions,
    bar: &Bar,
    mut lost: Option<&mut TempFile>,
) -> anyhow::Result<Vec<FileRun>> {
    fs::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut runs = Vec::new();
    let mut manifest = String::new();
    let mut base = 0;
    for f in files {
        let part = dir.join(".part.tmp");
        let file = File::create(&part).with_context(|| format!("creating {}", part.display()))?;
        let mut out = BufWriter::new(file);
        let mut r = salvage_one(f, &mut out, rdb_opts, bar, base, lost.as_deref_mut(), true)?;
        let file = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)
            .with_context(|| format!("writing {}", part.display()))?;
        file.sync_all()
            .with_context(|| format!("syncing {}", part.display()))?;
        base += r.size;
        if r.missing {
            fs::remove_file(&part).ok();
            runs.push(r);
            continue;
        }
        let seq = f.seq.unwrap_or(1);
        let (name, t) = if f.kind == FileKind::Incr {
            (format!("{prefix}.{seq}.incr.aof"), 'i')
        } else if r.salvage.rdb.is_some() {
            (format!("{prefix}.{seq}.base.rdb"), 'b')
        } else {
            (format!("{prefix}.{seq}.base.aof"), 'b')
        };
        let to = dir.join(&name);
        if to.exists() {
            bail!("two files of the input would both be written as {name}; nothing was written");
        }
        fs::rename(&part, &to).with_context(|| format!("renaming {}", part.display()))?;
        let _ = writeln!(manifest, "file {name} seq {seq} type {t}");
        r.out_name = Some(name);
        runs.push(r);
    }
    if manifest.is_empty() {
        bail!("every file the manifest lists is missing: there is nothing to salvage");
    }
    let mpath = dir.join(format!("{prefix}.manifest"));
    let mut m = File::create(&mpath).with_context(|| format!("creating {}", mpath.display()))?;
    m.write_all(manifest.as_bytes())?;
    m.sync_all()
        .with_context(|| format!("syncing {}", mpath.display()))?;
    sync_dir(dir).with_context(|| format!("syncing {}", dir.display()))?;
    Ok(runs)
}

/// Checks the written output with the `check-aof` checker: no error, and no
/// command the server refuses. Anything found is a bug of the salvage, and
/// the output is not kept.
fn recheck(resolved: &Resolved) -> anyhow::Result<()> {
    let rep = aof::check::check_input(resolved, &aof::check::Options::default())
        .context("re-checking the salvaged output")?;
    let refused = rep.files.iter().filter_map(|f| f.resp.as_ref()).any(|r| {
        r.empty_commands.is_some() || !r.unknown_commands.is_empty() || !r.wrong_arity.is_empty()
    });
    if !rep.is_ok(false) || refused {
        let why = rep
            .findings(false)
            .into_iter()
            .map(|(_, f)| f.message)
            .next()
            .unwrap_or_else(|| "a command the server refuses".into());
        bail!("the salvaged output does not pass check-aof ({why}); nothing was written");
    }
    Ok(())
}

fn json_report(
    args: &Args,
    input: &aof::AofInput,
    runs: &[FileRun],
    clean: bool,
    layout: &str,
    prefix: &str,
) -> J {
    let files: Vec<J> = runs
        .iter()
        .map(|r| {
            json!({
                "path": r.path.display().to_string(),
                "name": r.name,
                "kind": r.kind.name(),
                "seq": r.seq,
                "size": r.size,
                "missing": r.missing,
                "output_name": r.out_name,
                "clean": !r.missing && r.salvage.is_clean(),
                "skipped_bytes": r.salvage.skipped_bytes(),
                "salvage": r.salvage,
                "rdb_keys_lost": r.salvage.rdb.as_ref().map(|x| super::keys_json(x.format, &x.keys_lost)),
                "rdb_keys_changed": r.salvage.rdb.as_ref().map(|x| super::keys_json(x.format, &x.keys_changed)),
            })
        })
        .collect();
    let rdb_keys: Option<u64> = runs
        .iter()
        .filter_map(|r| r.salvage.rdb.as_ref().map(|x| x.keys_kept))
        .reduce(|a, b| a + b);
    let rdb_lost: usize = runs
        .iter()
        .filter_map(|r| r.salvage.rdb.as_ref().map(|x| x.keys_lost.len()))
        .sum();
    json!({
        "error": null,
        "input": args.input.display().to_string(),
        "output": args.output.display().to_string(),
        "kind": "aof",
        "input_layout": match input.layout() {
            Layout::SingleFile => "single-file",
            Layout::MultiPart => "multi-part",
        },
        "output_layout": if args.replay { "replayed" } else { layout },
        "appendfilename": prefix,
        "clean": clean,
        "commands_kept": runs.iter().map(|r| r.salvage.commands_kept).sum::<u64>(),
        "commands_dropped": runs.iter().map(|r| r.salvage.commands_dropped).sum::<u64>(),
        "skipped_bytes": runs.iter().map(|r| r.salvage.skipped_bytes()).sum::<u64>(),
        "keys_recovered_in_rdb_parts": rdb_keys,
        "keys_lost_in_rdb_parts": rdb_lost,
        "files_missing": runs.iter().filter(|r| r.missing).count(),
        "files": files,
        "rechecked": true,
    })
}

fn write_human(
    out: &mut impl Write,
    args: &Args,
    runs: &[FileRun],
    layout: &str,
) -> anyhow::Result<()> {
    let kept: u64 = runs.iter().map(|r| r.salvage.commands_kept).sum();
    let dropped: u64 = runs.iter().map(|r| r.salvage.commands_dropped).sum();
    let skipped: u64 = runs.iter().map(|r| r.salvage.skipped_bytes()).sum();
    writeln!(
        out,
        "salvaged {} -> {} ({})",
        args.input.display(),
        args.output.display(),
        if args.replay {
            "replayed: see the conversion report"
        } else {
            layout
        }
    )?;
    writeln!(
        out,
        "commands kept: {kept}; commands dropped: {dropped}; bytes skipped: {skipped}"
    )?;
    for r in runs {
        let s = &r.salvage;
        if r.missing {
            writeln!(
                out,
                "{} ({}): MISSING: listed in the manifest but not on disk; left out",
                r.path.display(),
                r.kind.name()
            )?;
            continue;
        }
        write!(
            out,
            "{} ({}, {} bytes): {} command(s) kept, {} dropped",
            r.path.display(),
            r.kind.name(),
            r.size,
            s.commands_kept,
            s.commands_dropped
        )?;
        if let Some(n) = &r.out_name {
            write!(out, " -> {n}")?;
        }
        writeln!(out)?;
        if let Some(rdb) = &s.rdb {
            writeln!(
                out,
                "  RDB part (version {}, bytes 0..{}): {} key(s) kept, {} lost, {} range(s) skipped{}",
                rdb.rdb_version,
                s.resp_start,
                rdb.keys_kept,
                rdb.keys_lost.len(),
                rdb.skipped.len(),
                if rdb.is_clean() { "" } else { " (see --json)" }
            )?;
            let lost = rdb.keys_lost.iter().take(20).map(|k| ("lost", k));
            let changed = rdb.keys_changed.iter().take(20).map(|k| ("changed", k));
            for (what, k) in lost.chain(changed) {
                writeln!(
                    out,
                    "  {what} key \"{}\" bytes {}..{}: {}",
                    super::short_name(&k.key),
                    k.start,
                    k.end,
                    k.reason
                )?;
            }
        }
        if let Some(e) = &s.rdb_error {
            writeln!(out, "  RDB part unreadable: {e}")?;
        }
        for k in &s.skipped {
            writeln!(out, "  skipped bytes {}..{}: {}", k.start, k.end, k.reason)?;
        }
        for d in s.dropped.iter().take(50) {
            writeln!(
                out,
                "  dropped '{}' at offset {}: {}",
                d.name, d.offset, d.detail
            )?;
        }
        if s.dropped.len() > 50 {
            writeln!(
                out,
                "  ... {} more dropped command(s) (see --json)",
                s.commands_dropped - 50
            )?;
        }
    }
    writeln!(out, "output re-checked with check-aof: ok")?;
    Ok(())
}

/// Prints the JSON report (when there is one) on stdout.
fn print_doc(doc: Option<serde_json::Value>) -> anyhow::Result<()> {
    if let Some(doc) = doc {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    }
    Ok(())
}
