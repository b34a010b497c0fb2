//! `salvage`: turns a damaged RDB into one the server loads, keeping every key
//! that survived (the library's [`redis_persist::rdb::salvage`]); AOF inputs
//! (single, hybrid, multi-part) are the [`aof`] submodule's.
//!
//! The input is never modified. The output is written to a temporary file in
//! its own directory, synced, re-checked with the `check-rdb` checker, and only
//! then renamed over OUTPUT (an existing OUTPUT needs `--force`; OUTPUT may
//! never be the input, compared by device and inode). Standard input is first
//! copied to a temporary file next to OUTPUT (then mapped), so that memory stays
//! bounded whatever its size.
//!
//! Exit status: 0 nothing was lost; 1 something was (a key, a skipped range,
//! a key kept that may have lost its expire,
//! a missing or mismatched trailer); 2 the salvage could not run.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use redis_persist::io::Source;
use redis_persist::rdb::check::{self, CheckOptions};
use redis_persist::rdb::salvage::{
    self, Duplicates, LostKey, Report, SalvageOptions, Target, TrailerStatus,
};
use redis_persist::rdb::types;
use redis_persist::rdb::writer::WriterOptions;
use redis_persist::rdb::{Reader, is_rdb_magic};
use serde_json::{Value as J, json};

use super::clobber::parent_dir;
use super::{ExitStatus, Global, MappedFile};
use crate::output::{self, progress::Bar};

mod aof;

/// Which duplicate of a key to keep.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum DuplicatesArg {
    /// The first record of the key in the file.
    First,
    /// The last record of the key in the file.
    Last,
}

/// Arguments of `salvage`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The damaged RDB or AOF: an RDB file, a single or hybrid AOF file, a
    /// multi-part AOF directory or its manifest (`-` reads standard input).
    /// It is never modified.
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// Where to write the salvaged RDB or AOF (written atomically): a file, or
    /// a new multi-part directory for a multi-part AOF input.
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: PathBuf,
    /// Replace OUTPUT (and the `--lost` file) when it exists.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON document on stdout instead of the human report on stderr.
    #[arg(long)]
    pub json: bool,
    /// Which record of a duplicated key to keep (Redis refuses a file with
    /// duplicate keys).
    #[arg(long, value_enum, default_value = "first", value_name = "WHICH")]
    pub duplicates: DuplicatesArg,
    /// Re-encode the kept records as RDB version N (a version of rewrite's
    /// target table: 9 to 13, or 80 for Valkey 9) instead of copying them as
    /// they are in the input's version.
    #[arg(long, value_name = "N", value_parser = super::convert_aof_to_hybrid::parse_rdb_version)]
    pub rdb_version: Option<u32>,
    /// Write the raw bytes of every skipped range and every dropped record to
    /// FILE, in input order (their offsets are in the report).
    #[arg(long, value_name = "FILE")]
    pub lost: Option<PathBuf>,
    /// AOF input: write one file (the BASE, then every INCR's commands)
    /// instead of a multi-part directory; with --replay, one hybrid file.
    #[arg(long)]
    pub single_file: bool,
    /// AOF input: replay the surviving commands and write the dataset as a
    /// hybrid AOF directory (or file, --single-file), as
    /// `convert-aof-to-hybrid` does. Memory is then the dataset's.
    #[arg(long)]
    pub replay: bool,
}

/// The top-level keys of the `--json` document (also those of a failed run's).
pub const JSON_KEYS: &[&str] = &[
    "error",
    "input",
    "output",
    "clean",
    "format",
    "rdb_version",
    "output_version",
    "keys_kept",
    "keys_lost",
    "keys_changed",
    "records_kept",
    "records_dropped",
    "duplicates_dropped",
    "empty_dropped",
    "skipped",
    "skipped_bytes",
    "header",
    "trailer",
    "trailing_bytes",
    "undamaged_copy",
    "output_bytes",
    "rechecked",
];

/// Runs `salvage`.
pub fn run(args: &Args, global: Global) -> anyhow::Result<ExitStatus> {
    if args.input.as_os_str() != "-" && is_aof(&args.input)? {
        return aof::run(args, global, &args.input, &rdb_options(args));
    }
    if args.replay && args.input.as_os_str() != "-" && !is_hybrid(&args.input) {
        bail!(
            "--replay is for an AOF input; {} is an RDB",
            args.input.display()
        );
    }
    let out_dir = parent_dir(&args.output);
    refuse_existing(&args.output, &args.input, args.force)?;
    if let Some(lost) = &args.lost {
        refuse_existing(lost, &args.input, args.force)?;
    }
    // The input's bytes, mapped (standard input through a temporary copy).
    let mut spool = None;
    let map = if args.input.as_os_str() == "-" {
        let tmp = TempFile::create(&out_dir, &args.output, "input")?;
        {
            let mut f = &tmp.file;
            std::io::copy(&mut std::io::stdin().lock(), &mut f)
                .context("copying standard input")?;
        }
        let m = MappedFile::open(&tmp.path);
        spool = Some(tmp);
        m
    } else {
        MappedFile::open(&args.input)
    };
    let Some(map) = map else {
        if std::fs::metadata(&args.input).is_ok_and(|m| m.is_file() && m.len() == 0) {
            return Err(super::input_problem(format!(
                "{} is empty: not an RDB file, nothing to salvage",
                args.input.display()
            )));
        }
        bail!("{} is empty or cannot be mapped", args.input.display());
    };
    let data = map.bytes();
    if let Some(spooled) = spool
        .as_ref()
        .filter(|_| !looks_rdb(data) || (args.replay && resp_after_rdb(&map).is_some()))
    {
        // An AOF on standard input: salvaged from its copy.
        let path = spooled.path.clone();
        drop(map);
        return aof::run(args, global, &path, &rdb_options(args));
    }
    if args.replay {
        bail!("--replay is for an AOF input; standard input holds an RDB");
    }
    let opts = rdb_options(args);

    let tmp = TempFile::create(&out_dir, &args.output, "output")?;
    let input_path = spool
        .as_ref()
        .map_or(args.input.as_path(), |s: &TempFile| &s.path);
    let fast = match opts.target {
        Target::Copy => copy_undamaged(input_path, &map, &tmp)?,
        Target::Rewrite(_) => None,
    };
    let undamaged = fast.is_some();
    let rep = if let Some(rep) = fast {
        rep
    } else {
        // (An undamaged RDB has no bytes after its trailer: not a hybrid. A
        // hybrid AOF is told from an RDB only here, so that the fast path
        // never reads every page of an undamaged RDB. A file that ends as an
        // RDB ends, with an `EOF` opcode and its checksum, is not searched
        // for commands now: the salvage below tells, where its records end.)
        let scanned = !ends_as_rdb(data);
        if scanned && resp_after_rdb(&map).is_some() {
            let path = input_path.to_path_buf();
            drop(tmp);
            drop(map);
            return aof::run(args, global, &path, &opts);
        }
        let bar = Bar::new(
            global.progress && !args.json,
            Some(data.len() as u64),
            &format!("salvaging {}", args.input.display()),
        );
        let track = Track {
            bar: &bar,
            map: &map,
            ahead: std::cell::Cell::new(0),
        };
        let out = std::io::BufWriter::with_capacity(1 << 20, &tmp.file);
        let rep = salvage::salvage(data, out, &opts, &track);
        bar.finish();
        let rep = rep.with_context(|| format!("salvaging {}", args.input.display()))?;
        // Commands after the records the salvage read (or, when it found no
        // end of them, after any `EOF` opcode): a hybrid AOF after all.
        let records_end = (data.len() as u64 - rep.trailing_bytes) as usize;
        let hybrid = match rep.trailer {
            TrailerStatus::Missing => !scanned && resp_after_rdb(&map).is_some(),
            _ => rep.trailing_bytes > 0 && is_resp_start(&data[records_end..]),
        };
        if hybrid {
            let path = input_path.to_path_buf();
            drop(tmp);
            drop(map);
            return aof::run(args, global, &path, &opts);
        }
        tmp.file
            .sync_all()
            .with_context(|| format!("syncing {}", tmp.path.display()))?;
        recheck(&tmp.path)?;
        rep
    };
    if let Some(lost) = &args.lost {
        write_lost(lost, data, &rep)?;
    }
    tmp.persist(&args.output)?;
    drop(spool);

    if args.json {
        let doc = json_report(args, &rep, undamaged);
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else {
        write_human(&mut std::io::stderr().lock(), args, &rep, undamaged)?;
    }
    Ok(if rep.is_clean() {
        ExitStatus::Ok
    } else {
        ExitStatus::Problems
    })
}

/// The RDB salvage settings the options give.
fn rdb_options(args: &Args) -> SalvageOptions {
    SalvageOptions {
        duplicates: match args.duplicates {
            DuplicatesArg::First => Duplicates::First,
            DuplicatesArg::Last => Duplicates::Last,
        },
        target: match args.rdb_version {
            None => Target::Copy,
            Some(v) => Target::Rewrite(WriterOptions::for_version(v)),
        },
        kept_ranges: false,
    }
}

/// Is INPUT an AOF: a directory, a manifest or a file without an RDB header?
fn is_aof(input: &Path) -> anyhow::Result<bool> {
    let meta = std::fs::metadata(input).with_context(|| format!("opening {}", input.display()))?;
    if meta.is_dir() {
        return Ok(true);
    }
    if matches!(
        redis_persist::aof::resolve(input),
        Ok(redis_persist::aof::Resolved::Manifest(_))
    ) {
        return Ok(true);
    }
    let Some(map) = MappedFile::open(input) else {
        // Empty, or not a regular file: the RDB path says why.
        return Ok(false);
    };
    // (A file with an RDB header may still be a hybrid AOF: the RDB path
    // tells, after its fast path, so that an undamaged RDB is not read twice.)
    Ok(!looks_rdb(map.bytes()))
}

/// Whether `data` starts as an RDB does, or with a damaged RDB header
/// followed by an RDB's records ([`salvage::guess_header`]).
fn looks_rdb(data: &[u8]) -> bool {
    is_rdb_magic(data) || salvage::guess_header(data).is_some()
}

/// Is INPUT a file with an RDB header followed by commands (a hybrid AOF)?
fn is_hybrid(input: &Path) -> bool {
    MappedFile::open(input)
        .is_some_and(|map| is_rdb_magic(map.bytes()) && resp_after_rdb(&map).is_some())
}

/// The fast path of an undamaged input ([`salvage::undamaged`]). While the
/// checker reads the mapped input on worker threads, another thread copies the
/// input file to the temporary output (in the kernel, `copy_file_range`, so no
/// byte passes through this process) and syncs it. The output is then
/// re-checked: read back, its length and CRC-64 must be those of the input
/// the checker accepted (the output is those bytes). `None`, with the output
/// emptied, when the input needs the full salvage.
fn copy_undamaged(
    input: &Path,
    map: &MappedFile,
    tmp: &TempFile,
) -> anyhow::Result<Option<Report>> {
    use std::io::{Read, Seek, SeekFrom};
    use std::sync::atomic::{AtomicBool, Ordering};
    let src = File::open(input).with_context(|| format!("opening {}", input.display()))?;
    let data = map.bytes();
    let len = data.len() as u64;
    let abandon = AtomicBool::new(false);
    let (rep, copied) = std::thread::scope(|s| {
        let copier = s.spawn(|| -> std::io::Result<bool> {
            const STEP: u64 = 16 << 20;
            let (from, mut to) = (&src, &tmp.file);
            let mut done = 0u64;
            while done < len {
                if abandon.load(Ordering::Relaxed) {
                    return Ok(false);
                }
                let n = std::io::copy(&mut from.take(STEP.min(len - done)), &mut to)?;
                if n == 0 {
                    return Ok(false);
                }
                done += n;
            }
            to.sync_all()?;
            Ok(true)
        });
        let release = |upto| map.release(upto);
        let rep = salvage::undamaged(map.mapped(&release), super::default_workers());
        if rep.is_none() {
            abandon.store(true, Ordering::Relaxed);
        }
        (rep, copier.join())
    });
    let copied = match copied {
        Ok(r) => r.with_context(|| format!("writing {}", tmp.path.display()))?,
        Err(_) => bail!("the copying thread failed"),
    };
    let rep = rep.filter(|_| copied);
    if let Some(rep) = rep {
        // The re-check of the output: its bytes are the input's.
        let mut f =
            File::open(&tmp.path).with_context(|| format!("opening {}", tmp.path.display()))?;
        let mut crc = redis_persist::io::Crc64::new();
        let mut buf = vec![0u8; 1 << 20];
        let (mut read, mut tail) = (0u64, Vec::with_capacity(8));
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            // (The last 8 bytes, the trailer, are not part of the CRC.)
            let body = (len.saturating_sub(8).saturating_sub(read) as usize).min(n);
            crc.update(&buf[..body]);
            tail.extend_from_slice(&buf[body..n]);
            read += n as u64;
        }
        let stored = data[data.len() - 8..].to_vec();
        if read != len || tail != stored || crc.value().to_le_bytes().as_slice() != stored {
            bail!(
                "the copy of the undamaged input is not its bytes (read back {read} of {len} \
                 bytes); nothing was written"
            );
        }
        return Ok(Some(rep));
    }
    tmp.file.set_len(0)?;
    (&tmp.file).seek(SeekFrom::Start(0))?;
    Ok(None)
}

/// Where commands start after an RDB part (a hybrid AOF): the first `EOF`
/// opcode followed by its 8-byte checksum and then a RESP array header with a
/// bulk string (`*N\r\n$`). Found whether or not the RDB part reads. The
/// pages scanned are given back as the scan goes (memory stays bounded
/// whatever the file's size).
fn resp_after_rdb(map: &MappedFile) -> Option<usize> {
    const BLOCK: usize = 1 << 20;
    let data = map.bytes();
    let mut from = 0;
    while from < data.len() {
        let to = (from + BLOCK).min(data.len());
        let found = data[from..to]
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == types::OP_EOF)
            .map(|(i, _)| from + i + 9)
            .find(|&at| data.get(at..).is_some_and(is_resp_start));
        if found.is_some() {
            return found;
        }
        map.release(from as u64);
        from = to;
    }
    None
}

/// Whether `t` starts with a RESP array header and a bulk string (`*N\r\n$`).
fn is_resp_start(t: &[u8]) -> bool {
    let digits = t.iter().skip(1).take_while(|b| b.is_ascii_digit()).count();
    t.first() == Some(&b'*')
        && (1..=10).contains(&digits)
        && t.get(1 + digits..4 + digits) == Some(b"\r\n$".as_slice())
}

/// Whether `data` ends as an RDB file ends: an `EOF` opcode, then its 8-byte
/// checksum (RDB 5 and later) or nothing (earlier versions).
fn ends_as_rdb(data: &[u8]) -> bool {
    let old = data
        .get(5..9)
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|v| v < 5);
    let back = if old { 1 } else { 9 };
    data.len() >= 9 + back && data[data.len() - back] == types::OP_EOF
}

/// Progress: the bar, and the pages of the input well behind the reader given
/// back (they stay in the page cache; a look back reads them again), so that
/// memory does not grow with the input.
///
/// Every 4 MiB of progress, the pages more than 4 MiB ahead of the reader are
/// given back too: resync probes after damage read ahead, and with many damaged
/// places what they touched added up (200 zeroed pages in a 134 MB file: 105 MB
/// peak RSS).
struct Track<'a> {
    bar: &'a Bar,
    map: &'a MappedFile,
    /// Where the pages ahead were last given back.
    ahead: std::cell::Cell<u64>,
}

impl redis_persist::io::Progress for Track<'_> {
    fn set_position(&self, offset: u64) {
        const STEP: u64 = 4 << 20;
        redis_persist::io::Progress::set_position(self.bar, offset);
        self.map.release(offset.saturating_sub(STEP));
        let last = self.ahead.get();
        if offset >= last.saturating_add(STEP) || offset < last {
            self.map.release_after(offset.saturating_add(STEP));
            self.ahead.set(offset);
        }
    }

    fn scanned(&self, offset: u64) {
        self.map.release_scanned(offset);
    }
}

/// Fails when `out` exists and is the input (never allowed) or `--force` is
/// not given.
fn refuse_existing(out: &Path, input: &Path, force: bool) -> anyhow::Result<()> {
    super::clobber::refuse_output_over_input(out, &[input])?;
    let Ok(meta) = std::fs::metadata(out) else {
        return Ok(());
    };
    if !force {
        bail!("{} exists (use --force to replace it)", out.display());
    }
    if meta.is_dir() {
        bail!("{} is a directory", out.display());
    }
    Ok(())
}

/// A temporary file next to the output, removed unless persisted.
struct TempFile {
    path: PathBuf,
    file: File,
    keep: bool,
}

impl TempFile {
    fn create(dir: &Path, output: &Path, what: &str) -> anyhow::Result<Self> {
        let name = output
            .file_name()
            .map_or_else(|| "salvage".into(), |n| n.to_string_lossy().into_owned());
        for i in 0..100u32 {
            let path = dir.join(format!(
                ".{name}.salvage-{what}.{}.{i}.tmp",
                std::process::id()
            ));
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(Self {
                        path,
                        file,
                        keep: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("creating {}", path.display()));
                }
            }
        }
        bail!("cannot create a temporary file in {}", dir.display())
    }

    /// Renames the file to `to` and syncs the directory.
    fn persist(mut self, to: &Path) -> anyhow::Result<()> {
        std::fs::rename(&self.path, to)
            .with_context(|| format!("renaming {} to {}", self.path.display(), to.display()))?;
        self.keep = true;
        if let Ok(d) = File::open(parent_dir(to)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Checks the written output with the `check-rdb` checker (duplicate keys
/// included); any problem is a bug of the salvage, and the output is not kept.
fn recheck(path: &Path) -> anyhow::Result<()> {
    let opts = CheckOptions {
        count_trailing: true,
        ..CheckOptions::default()
    };
    // As check-rdb reads a mapped file: on several threads.
    let rep = if let Some(map) = MappedFile::open(path) {
        let src = Source::new(map.bytes()).with_size(map.bytes().len() as u64);
        let release = |upto| map.release(upto);
        check::check_parallel_in(
            src,
            Some(map.mapped(&release)),
            opts,
            super::default_workers(),
        )
        .0
    } else {
        let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let size = f.metadata()?.len();
        let src = Source::new(Box::new(f) as Box<dyn std::io::Read>).with_size(size);
        check::check(Reader::new(src), opts).0
    };
    if !rep.is_ok() || rep.trailing_bytes.unwrap_or(0) != 0 {
        let why = rep
            .first_error()
            .map_or_else(|| "no end of file".to_owned(), |p| p.message.clone());
        bail!("the salvaged output does not pass check-rdb ({why}); nothing was written");
    }
    Ok(())
}

/// Writes the bytes of every skipped range and dropped record, in input order.
fn write_lost(path: &Path, data: &[u8], rep: &Report) -> anyhow::Result<()> {
    let mut ranges: Vec<(u64, u64)> = rep
        .skipped
        .iter()
        .map(|s| (s.start, s.end))
        .chain(rep.keys_lost.iter().map(|k| (k.start, k.end)))
        .collect();
    ranges.sort_unstable();
    let mut f = std::io::BufWriter::new(
        File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let mut upto = 0u64;
    for (s, e) in ranges {
        let s = s.max(upto);
        if e > s {
            f.write_all(&data[s as usize..e as usize])?;
            upto = e;
        }
    }
    f.flush()?;
    f.get_ref().sync_all()?;
    Ok(())
}

/// A key name for the human report: escaped, at most 200 bytes of it.
fn short_name(key: &[u8]) -> String {
    if key.len() > 200 {
        format!("{}...", output::escape_bytes(&key[..200]))
    } else {
        output::escape_bytes(key)
    }
}

fn trailer_text(t: TrailerStatus) -> String {
    match t {
        TrailerStatus::Ok => "checksum ok".into(),
        TrailerStatus::Disabled => "checksum disabled in the input".into(),
        TrailerStatus::Absent => "no checksum (RDB < 5)".into(),
        TrailerStatus::Mismatch { stored, computed } => format!(
            "CHECKSUM MISMATCH (stored {stored:016x}, content {computed:016x}): every value \
             that validates was kept, but a damaged byte inside a plain string cannot be detected"
        ),
        TrailerStatus::Missing => "no EOF record (truncated or damaged end)".into(),
    }
}

/// Keys lost or changed, in the JSON report: `(db, name, type byte)`, the
/// byte range of each in the input, and why.
pub(super) fn keys_json(format: types::Format, keys: &[LostKey]) -> Vec<J> {
    keys.iter()
        .map(|k| {
            json!({
                "db": k.db,
                "key": output::json_bytes(&k.key),
                "rdb_type": k.rdb_type,
                "type_name": k.rdb_type.map(|t| types::type_name_in(format, t)),
                "start": k.start,
                "end": k.end,
                "reason": k.reason,
            })
        })
        .collect()
}

fn json_report(args: &Args, rep: &Report, undamaged: bool) -> J {
    json!({
        "error": null,
        "input": args.input.display().to_string(),
        "output": args.output.display().to_string(),
        "clean": rep.is_clean(),
        "format": rep.format,
        "rdb_version": rep.rdb_version,
        "output_version": rep.output_version,
        "keys_kept": rep.keys_kept,
        "keys_lost": keys_json(rep.format, &rep.keys_lost),
        "keys_changed": keys_json(rep.format, &rep.keys_changed),
        "skipped": rep.skipped,
        "skipped_bytes": rep.skipped.iter().map(|s| s.end - s.start).sum::<u64>(),
        "records_kept": rep.records_kept,
        "records_dropped": rep.records_dropped,
        "duplicates_dropped": rep.duplicates_dropped,
        "empty_dropped": rep.empty_dropped,
        "header": rep.header,
        "trailer": rep.trailer,
        "trailing_bytes": rep.trailing_bytes,
        "output_bytes": rep.output_bytes,
        "rechecked": true,
        "undamaged_copy": undamaged,
    })
}

fn write_human(
    out: &mut impl Write,
    args: &Args,
    rep: &Report,
    undamaged: bool,
) -> anyhow::Result<()> {
    let skipped: u64 = rep.skipped.iter().map(|s| s.end - s.start).sum();
    writeln!(
        out,
        "salvaged {} -> {}: RDB version {}{}",
        args.input.display(),
        args.output.display(),
        rep.rdb_version,
        if rep.output_version == rep.rdb_version {
            String::new()
        } else {
            format!(" (written as version {})", rep.output_version)
        }
    )?;
    writeln!(
        out,
        "keys kept: {}; keys changed: {}; keys lost: {}; ranges skipped: {} ({skipped} bytes)",
        rep.keys_kept,
        rep.keys_changed.len(),
        rep.keys_lost.len(),
        rep.skipped.len()
    )?;
    if let Some(h) = &rep.header {
        writeln!(
            out,
            "DAMAGED HEADER \"{}\": read and written as {} RDB version {} ({})",
            h.found,
            match h.format {
                redis_persist::rdb::types::Format::Redis => "a Redis",
                redis_persist::rdb::types::Format::Valkey => "a Valkey",
            },
            h.version,
            h.how
        )?;
    }
    writeln!(out, "input trailer: {}", trailer_text(rep.trailer))?;
    for s in &rep.skipped {
        writeln!(
            out,
            "skipped bytes {}..{}: {}{}",
            s.start,
            s.end,
            s.reason,
            if s.unsupported {
                " (a newer format this version does not read, not corruption)"
            } else {
                ""
            }
        )?;
    }
    let lost = rep.keys_lost.iter().map(|k| ("lost", k));
    let changed = rep.keys_changed.iter().map(|k| ("changed", k));
    for (what, k) in lost.chain(changed) {
        writeln!(
            out,
            "{what}: db {} key \"{}\" ({}) bytes {}..{}: {}",
            k.db,
            short_name(&k.key),
            k.rdb_type
                .map_or("unknown type", |t| types::type_name_in(rep.format, t)),
            k.start,
            k.end,
            k.reason
        )?;
    }
    if rep.duplicates_dropped > 0 {
        writeln!(
            out,
            "duplicate key records dropped: {} (kept the {})",
            rep.duplicates_dropped,
            match args.duplicates {
                DuplicatesArg::First => "first",
                DuplicatesArg::Last => "last",
            }
        )?;
    }
    if rep.empty_dropped > 0 {
        writeln!(
            out,
            "empty aggregates dropped: {} (the server skips them when loading)",
            rep.empty_dropped
        )?;
    }
    if rep.records_dropped > 0 {
        writeln!(
            out,
            "records the target version cannot hold dropped: {}",
            rep.records_dropped
        )?;
    }
    if rep.trailing_bytes > 0 {
        writeln!(
            out,
            "bytes after the input's trailer ignored: {}",
            rep.trailing_bytes
        )?;
    }
    if undamaged {
        writeln!(
            out,
            "nothing damaged (check-rdb's checker found no problem): the input was copied \
             whole, and the copy verified against it (length and CRC-64)"
        )?;
    } else {
        writeln!(out, "output re-checked with check-rdb: ok")?;
    }
    Ok(())
}
