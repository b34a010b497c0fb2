//! `check-rdb`: validates RDB files (or the RDB preamble of a hybrid AOF, or a
//! multi-part AOF `.base.rdb`) with deep validation and the CRC-64, and reports
//! what they hold.
//!
//! Exit status: 0 every file valid; 1 a problem found in at least one file; 2 a
//! file could not be read at all (missing, unreadable) — the others are still
//! checked and reported; 3 no file is corrupt but at least one holds content of
//! a newer server than this tool knows (unsupported, not corrupt). 2 wins over
//! 1, and 1 over 3.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use redis_persist::io::Source;
use redis_persist::rdb::check::{self, CheckOptions, ProblemKind, Report, Severity};
use redis_persist::rdb::types;
use redis_persist::rdb::{Checksum, Reader};
use serde_json::{Map, Value as J, json};

use super::{ExitStatus, Global, MappedFile, open_input};
use crate::output::{self, progress::Bar};

/// Arguments of `check-rdb`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// RDB files to check (`-` reads standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print one JSON document on stdout instead of the human report.
    #[arg(long)]
    pub json: bool,
    /// Do not look for duplicate keys (saves up to 16 bytes of memory per key;
    /// Redis refuses to load a file with duplicate keys, redis-check-rdb does not
    /// look for them).
    #[arg(long)]
    pub no_duplicate_check: bool,
    /// Reference time for "already expired" counts, in Unix milliseconds
    /// (default: now).
    #[arg(long, value_name = "UNIX_MS")]
    pub now: Option<i64>,
    /// Worker threads for files of 8 MiB and more (default: one more than the
    /// number of CPUs, which measured fastest as the threads that cut the file
    /// are idle part of the time; 1 checks in a single thread, stopping at the
    /// first corrupt value).
    #[arg(long, value_name = "N", value_parser = super::parse_threads)]
    pub threads: Option<usize>,
}

/// Files at least this large are checked by several threads.
const PARALLEL_FROM: u64 = 8 << 20;

/// The outcome for one file.
struct FileResult {
    path: String,
    size: Option<u64>,
    /// `Err` when the file could not be read at all: the message, and the
    /// hint saying what to do.
    report: Result<Report, (String, &'static str)>,
}

impl FileResult {
    /// Why the file has no report (it could not be read, or it is not an RDB
    /// file at all: no valid header), for `error` and the line on stderr.
    fn error(&self) -> Option<(String, &'static str)> {
        match &self.report {
            Err(e) => Some(e.clone()),
            Ok(rep) if rep.rdb_version.is_none() && !rep.is_unsupported() => Some((
                rep.problems
                    .first()
                    .map_or_else(|| "not an RDB file".to_owned(), |p| p.message.clone()),
                super::hint_for(ExitStatus::Problems, None),
            )),
            Ok(_) => None,
        }
    }
}

/// The top-level keys of the `--json` document (also those of a failed run's).
pub const JSON_KEYS: &[&str] = &["ok", "error", "files"];

/// Runs `check-rdb`.
pub fn run(args: &Args, global: Global) -> anyhow::Result<ExitStatus> {
    let opts = CheckOptions {
        now_ms: args.now.unwrap_or_else(check::now_ms),
        duplicate_keys: !args.no_duplicate_check,
        verify_checksum: true,
        count_trailing: true,
        ..CheckOptions::default()
    };
    let mut results = Vec::new();
    for path in &args.files {
        let display = path.display().to_string();
        let (src, size) = match open_input(path) {
            Ok(x) => x,
            Err(e) => {
                results.push(FileResult {
                    path: display,
                    size: None,
                    report: Err((
                        output::error_message(&e),
                        super::hint(&e, ExitStatus::Error),
                    )),
                });
                continue;
            }
        };
        let bar = Bar::new(
            global.progress && !args.json,
            size,
            &format!("checking {display}"),
        );
        let threads = args.threads.unwrap_or_else(super::default_workers);
        let parallel = threads > 1 && size.is_some_and(|s| s >= PARALLEL_FROM);
        // A regular file checked in parallel is read through a map.
        let map = parallel.then(|| MappedFile::open(path)).flatten();
        let mut report = if let Some(map) = &map {
            // Progress follows the chunks checked (in file order), whichever
            // way they were cut.
            let src = Source::new(map.bytes()).with_size(map.bytes().len() as u64);
            let release = |upto| {
                map.release(upto);
                redis_persist::io::Progress::set_position(&bar, upto);
            };
            check::check_parallel_in(src, Some(map.mapped(&release)), opts, threads).0
        } else {
            let mut src = src;
            src.set_progress(bar.handle());
            if parallel {
                check::check_parallel(src, opts, threads).0
            } else {
                check::check(Reader::new(src), opts).0
            }
        };
        bar.finish();
        confirm_duplicates(&mut report, path, size);
        results.push(FileResult {
            path: display,
            size,
            report: Ok(report),
        });
    }

    // A file without a report is one line on stderr, in both modes; reports
    // go to stdout.
    for r in &results {
        if let Some((e, hint)) = r.error() {
            output::eprint_line(&format!("{}: {e} ({hint})", r.path));
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        let doc = json_document(&results);
        serde_json::to_writer_pretty(&mut out, &doc).context("writing JSON")?;
        writeln!(out)?;
    } else {
        let mut first = true;
        for r in &results {
            if r.error().is_some() {
                continue;
            }
            if !first {
                writeln!(out)?;
            }
            first = false;
            write_human(&mut out, r)?;
        }
    }
    out.flush()?;
    Ok(exit_status(&results))
}

/// Confirms on the key bytes the duplicate keys found by hash
/// ([`check::confirm_duplicates`]), reading a regular file's keys again. From
/// standard input or a pipe, which cannot be read twice, they stay reported
/// on the hash alone (a false one has odds of about n²/2⁶⁵ for n keys).
fn confirm_duplicates(report: &mut Report, path: &std::path::Path, size: Option<u64>) {
    if report.unconfirmed_duplicates.is_empty() || size.is_none() {
        return;
    }
    if let Ok((src, _)) = open_input(path) {
        // (On an error the duplicates stay reported, as found.)
        let _ = check::confirm_duplicates(report, src);
    }
}

/// 2 if a file could not be read, else 1 if a file has a problem that is not
/// "unsupported", else 3 if a file is unsupported, else 0.
fn exit_status(results: &[FileResult]) -> ExitStatus {
    let reports = || results.iter().filter_map(|r| r.report.as_ref().ok());
    if results.iter().any(|r| r.report.is_err()) {
        ExitStatus::Error
    } else if reports().all(Report::is_ok) {
        ExitStatus::Ok
    } else if reports().all(|r| r.is_ok() || r.is_unsupported()) {
        ExitStatus::Unsupported
    } else {
        ExitStatus::Problems
    }
}

/// `"ok"`, `"corrupt"` or `"unsupported"` (written by a newer server than this
/// tool knows).
fn verdict(rep: &Report) -> &'static str {
    if rep.is_ok() {
        "ok"
    } else if rep.is_unsupported() {
        "unsupported"
    } else {
        "corrupt"
    }
}

fn checksum_name(r: &Report) -> Option<&'static str> {
    if r.problems
        .iter()
        .any(|p| p.message.starts_with("checksum mismatch"))
    {
        return Some("mismatch");
    }
    r.checksum.map(|c| match c {
        Checksum::Ok => "ok",
        Checksum::Disabled => "disabled",
        Checksum::Absent => "absent",
        Checksum::Unverified => "unverified",
    })
}

fn json_document(results: &[FileResult]) -> J {
    let files: Vec<J> = results.iter().map(json_file).collect();
    let ok = results
        .iter()
        .all(|r| r.report.as_ref().is_ok_and(Report::is_ok));
    // `error`: the first file without a report (unreadable, or not an RDB).
    let error = results
        .iter()
        .find_map(|r| r.error().map(|(e, _)| format!("{}: {e}", r.path)));
    json!({ "ok": ok, "error": error, "files": files })
}

fn json_file(r: &FileResult) -> J {
    let rep = match &r.report {
        Ok(rep) => rep,
        Err((e, _)) => {
            // The keys of a file's document, null where unknown.
            let J::Object(keys) = json_file(&FileResult {
                path: String::new(),
                size: None,
                report: Ok(Report::default()),
            }) else {
                unreachable!("a file's document is an object")
            };
            let mut doc: Map<String, J> = keys.into_iter().map(|(k, _)| (k, J::Null)).collect();
            doc.insert("path".into(), r.path.clone().into());
            doc.insert("ok".into(), false.into());
            doc.insert("error".into(), e.clone().into());
            doc.insert("size".into(), r.size.into());
            return J::Object(doc);
        }
    };
    let aux = output::json_aux(&rep.aux);
    let dbs: Map<String, J> = rep
        .dbs
        .iter()
        .map(|(db, c)| (db.to_string(), serde_json::to_value(c).unwrap_or(J::Null)))
        .collect();
    let problems: Vec<J> = rep
        .problems
        .iter()
        .map(|p| {
            json!({
                "severity": p.severity,
                "offset": p.offset,
                "message": p.message,
                "db": p.db,
                "key": p.key.as_deref().map(output::escape_bytes),
                "key_hex": p.key.as_deref().map(output::hex),
                "rdb_type": p.rdb_type,
                "type_name": p.rdb_type.map(types::type_name),
                "truncated": p.truncated,
                "kind": p.kind,
            })
        })
        .collect();
    let key_meta: Vec<J> = rep
        .key_meta
        .iter()
        .map(|((class, version), n)| json!({"class": class, "version": version, "keys": n}))
        .collect();
    let slot_imports: Vec<J> = rep
        .slot_imports
        .iter()
        .map(|s| {
            json!({
                "job": output::escape_bytes(&s.job),
                "job_hex": output::hex(&s.job),
                "ranges": s.ranges,
            })
        })
        .collect();
    json!({
        "path": r.path,
        "ok": rep.is_ok(),
        "verdict": verdict(rep),
        "unsupported": rep.is_unsupported(),
        "error": r.error().map(|(e, _)| e),
        "size": r.size,
        "format": rep.format,
        "rdb_version": rep.rdb_version,
        "aux": aux,
        "keys": rep.keys,
        "expires": rep.expires,
        "already_expired": rep.already_expired,
        "subexpires": rep.subexpires,
        "empty_keys": rep.empty_keys,
        "functions": rep.functions,
        "dbs": dbs,
        "types": rep.types,
        "encodings": rep.encodings,
        "modules": rep.modules,
        "module_aux": rep.module_aux,
        "lfu_keys": rep.lfu_keys,
        "lru_keys": rep.lru_keys,
        "checksum": checksum_name(rep),
        "end_offset": rep.end_offset,
        "unchecked_bytes": unread(rep, r.size).map(|(_, n)| n),
        "trailing_bytes": rep.trailing_bytes,
        "trailing_resp": rep.trailing_resp,
        "key_meta": key_meta,
        "slot_info": {
            "records": rep.slot_info.0, "keys": rep.slot_info.1, "expires": rep.slot_info.2,
        },
        "slot_imports": slot_imports,
        "slot_import_count": rep.slot_import_count,
        "problems": problems,
        "problems_truncated": rep.problems_truncated(),
        "problem_counts": rep.problem_counts(),
    })
}

/// A problem kind as the JSON names it.
fn kind_name(k: ProblemKind) -> &'static str {
    match k {
        ProblemKind::Corrupt => "corrupt",
        ProblemKind::Unsupported => "unsupported",
        ProblemKind::Warning => "warning",
    }
}

fn write_human(out: &mut impl Write, r: &FileResult) -> anyhow::Result<()> {
    writeln!(out, "== {} ==", r.path)?;
    let rep = match &r.report {
        Ok(rep) => rep,
        Err((e, _)) => {
            writeln!(out, "ERROR: cannot read the file: {e}")?;
            return Ok(());
        }
    };
    let creator = rep
        .aux_value("redis-ver")
        .map(|v| format!("Redis {}", String::from_utf8_lossy(v)))
        .or_else(|| {
            rep.aux_value("valkey-ver")
                .map(|v| format!("Valkey {}", String::from_utf8_lossy(v)))
        });
    match rep.rdb_version {
        Some(v) => writeln!(
            out,
            "RDB version {v}{}{}",
            creator
                .map(|c| format!(", written by {c}"))
                .unwrap_or_default(),
            r.size
                .map(|s| format!(", {} ({s} bytes)", output::human_size(s)))
                .unwrap_or_default()
        )?,
        None => writeln!(out, "not an RDB file (no valid header)")?,
    }
    if !rep.aux.is_empty() {
        let aux: Vec<String> = rep
            .aux
            .iter()
            .filter(|(n, _)| n.as_slice() != b"lua")
            .map(|(n, v)| format!("{}={}", output::escape_bytes(n), output::escape_bytes(v)))
            .collect();
        let lua = rep
            .aux
            .iter()
            .filter(|(n, _)| n.as_slice() == b"lua")
            .count();
        write!(out, "aux: {}", aux.join(" "))?;
        if lua > 0 {
            write!(out, " (+{lua} lua script fields)")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "keys: {} ({} with expire, {} already expired, {} with field TTLs) in {} database(s)",
        rep.keys,
        rep.expires,
        rep.already_expired,
        rep.subexpires,
        rep.dbs.len()
    )?;
    if let Some(tail) = unread(rep, r.size) {
        writeln!(out, "  ({})", super::unread_note(tail, r.size.unwrap_or(0)))?;
    }
    if !rep.dbs.is_empty() {
        let mut t = output::table(["db", "keys", "expires", "already expired"]);
        for (db, c) in &rep.dbs {
            t.add_row([
                db.to_string(),
                c.keys.to_string(),
                c.expires.to_string(),
                c.already_expired.to_string(),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    if !rep.encodings.is_empty() {
        let mut t = output::table(["type", "RDB encoding", "keys"]);
        let mut rows: Vec<(&str, &str, u64)> = rep
            .encodings
            .iter()
            .map(|(enc, n)| {
                let ty = (0u8..=255)
                    .find(|&b| {
                        types::type_name(b) == *enc
                            || types::type_name_in(types::Format::Valkey, b) == *enc
                    })
                    .and_then(types::key_type)
                    .map_or("?", |k| k.name());
                (ty, *enc, *n)
            })
            .collect();
        // Valid vector sets are module values of their own type.
        if let Some(&v) = rep.types.get("vectorset") {
            if let Some(r) = rows.iter_mut().find(|r| r.0 == "module") {
                r.2 -= v.min(r.2);
                let enc = r.1;
                rows.push(("vectorset", enc, v));
            }
            rows.retain(|r| r.2 > 0);
        }
        rows.sort_unstable();
        for (ty, enc, n) in rows {
            t.add_row([ty.to_string(), enc.to_string(), n.to_string()]);
        }
        writeln!(out, "{t}")?;
    }
    if rep.functions > 0 {
        writeln!(out, "function libraries: {}", rep.functions)?;
    }
    for (name, n) in &rep.modules {
        if name == "vectorset" {
            writeln!(
                out,
                "module values of type {name}: {n} (Redis 8 vector sets, decoded and checked)"
            )?;
        } else {
            writeln!(
                out,
                "module values of type {name}: {n} (walked by their framing, not decoded)"
            )?;
        }
    }
    for (name, n) in &rep.module_aux {
        writeln!(out, "module aux records of {name}: {n}")?;
    }
    for ((class, version), n) in &rep.key_meta {
        writeln!(
            out,
            "key metadata (KEY_META) of class {class} version {version}: on {n} keys"
        )?;
    }
    let (records, keys, expires) = rep.slot_info;
    if records > 0 {
        writeln!(
            out,
            "SLOT_INFO records: {records} ({keys} keys, {expires} with expire)"
        )?;
    }
    for s in &rep.slot_imports {
        let ranges: Vec<String> = s.ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        writeln!(
            out,
            "SLOT_IMPORT (slot migration in progress): job \"{}\", slots {}",
            output::escape_bytes(&s.job),
            ranges.join(",")
        )?;
    }
    if rep.slot_import_count > rep.slot_imports.len() as u64 {
        writeln!(
            out,
            "... {} more SLOT_IMPORT records",
            rep.slot_import_count - rep.slot_imports.len() as u64
        )?;
    }
    if rep.lfu_keys > 0 {
        writeln!(out, "LFU counters on {} keys", rep.lfu_keys)?;
    }
    if rep.lru_keys > 0 {
        writeln!(out, "LRU idle times on {} keys", rep.lru_keys)?;
    }
    match checksum_name(rep) {
        Some("ok") => writeln!(out, "checksum: OK")?,
        Some("disabled") => writeln!(
            out,
            "checksum: disabled by the writer (rdbchecksum no): not verified"
        )?,
        Some("absent") => writeln!(out, "checksum: none (RDB version below 5)")?,
        Some("mismatch") => writeln!(out, "checksum: MISMATCH")?,
        _ => writeln!(out, "checksum: not reached")?,
    }
    if let Some(n) = rep
        .trailing_bytes
        .filter(|&n| n > 0 && rep.trailing_resp == Some(true))
    {
        writeln!(
            out,
            "{n} bytes follow the RDB trailer (ignored by Redis; in a hybrid AOF this is the command tail: check it with `redis-persist check-aof`)"
        )?;
    }
    for p in &rep.problems {
        let label = match (p.severity, p.kind) {
            (Severity::Error, ProblemKind::Unsupported) => "UNSUPPORTED",
            (Severity::Error, _) => "PROBLEM",
            (Severity::Warning, _) => "warning",
        };
        write!(out, "{label} at byte {}", p.offset)?;
        match (&p.key, p.db) {
            (Some(k), Some(db)) => write!(
                out,
                " (db {db}, key \"{}\", type {} {})",
                output::escape_bytes(k),
                p.rdb_type.unwrap_or(0),
                types::type_name_in(
                    rep.format.unwrap_or(types::Format::Redis),
                    p.rdb_type.unwrap_or(0)
                )
            )?,
            (None, Some(db)) => write!(out, " (db {db})")?,
            _ => {}
        }
        writeln!(out, ": {}", p.message)?;
        if p.truncated {
            writeln!(
                out,
                "  the file is truncated: everything before this offset was read correctly"
            )?;
        }
    }
    if rep.problems_truncated() {
        let counts: Vec<String> = rep
            .problem_counts()
            .iter()
            .map(|(k, n)| format!("{n} {}", kind_name(*k)))
            .collect();
        writeln!(
            out,
            "only the first {} problems are listed; found in all: {}",
            check::MAX_PROBLEMS,
            counts.join(", ")
        )?;
    }
    if rep.is_ok() {
        writeln!(out, "OK: the file is valid")?;
    } else if rep.is_unsupported() {
        writeln!(
            out,
            "UNSUPPORTED: the file holds content written by a newer server than this tool knows; it may well be valid (this is not a sign of damage): check it with a newer redis-persist, or with the server that wrote it"
        )?;
    } else {
        let n = rep
            .problem_counts()
            .iter()
            .filter(|(k, _)| **k != ProblemKind::Warning)
            .map(|(_, n)| n)
            .sum::<u64>();
        writeln!(out, "INVALID: {n} problem(s)")?;
        if rep.rdb_version.is_some() {
            writeln!(
                out,
                "to recover what still reads: redis-persist salvage {} -o NEW.rdb",
                r.path
            )?;
        }
    }
    Ok(())
}

/// The unread tail of a damaged file (see [`super::unread_tail`]).
fn unread(rep: &Report, size: Option<u64>) -> Option<(u64, u64)> {
    let stop = rep
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.offset)
        .max();
    super::unread_tail(rep.end_offset.is_some(), stop, size)
}
