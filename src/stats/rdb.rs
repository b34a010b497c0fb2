//! The RDB key source: statistics of an RDB file (or the RDB preamble of a
//! hybrid AOF) on several threads.
//!
//! [`crate::rdb::parallel::map_chunks`] frames the file on the calling thread
//! (structure, opcodes, CRC-64) and hands chunks of whole key records to
//! worker threads. Each worker reads its chunk with a frame-only reader (or a
//! fully validating one with [`Settings::deep`]), measures each value from its
//! serialized bytes ([`super::walk`]) and folds the keys into a partial
//! [`Stats`]; the partial results are merged in file order. File-level records
//! (aux fields, functions, module aux data) are collected from the framing
//! thread's events.
//!
//! Without `deep`, the contents of encoded values (listpacks, ziplists,
//! intsets) are not validated beyond what the measurement reads: the CRC-64
//! trailer, which covers every byte, is what detects corruption. With `deep`,
//! every value is validated as `check-rdb` does.

use std::collections::BTreeMap;

use super::memory::{self, StreamMem};
use super::walk::{Measure, Partial, Walker};
use super::{KeySummary, Options, Report, Stats};
use crate::io::{Input, Source};
use crate::model::KeyType;
use crate::rdb::parallel::{self, Chunk};
use crate::rdb::types::{self as t, Format};
use crate::rdb::vectorset;
use crate::rdb::{Checksum, Element, Error, Event, Reader};

/// How the file is read.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Worker threads.
    pub threads: usize,
    /// Target chunk size.
    pub chunk_size: u64,
    /// Validate every value in depth (slower), as `check-rdb` does.
    pub deep: bool,
    /// Count the bytes after the RDB trailer (the command part of a hybrid
    /// AOF); reads the input to its end.
    pub count_trailing: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            chunk_size: 1 << 20,
            deep: false,
            count_trailing: false,
        }
    }
}

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file is damaged: the statistics cover only what could be read.
    Error,
    /// Worth knowing; the statistics are complete.
    Warning,
}

/// A problem met while reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Absolute byte offset.
    pub offset: u64,
    /// What is wrong.
    pub message: String,
    /// Database, when known.
    pub db: Option<u64>,
    /// Key, when inside a key.
    pub key: Option<Vec<u8>>,
    /// True when the input ended early.
    pub truncated: bool,
    /// True when the input may be valid for a newer server than this tool
    /// knows ([`Error::is_unsupported`]): not a sign of damage.
    pub unsupported: bool,
}

impl Problem {
    fn from_error(e: &Error) -> Self {
        Self {
            severity: Severity::Error,
            offset: e.offset(),
            message: e.message(),
            db: e.db(),
            key: e.key().map(|k| k.key.clone()),
            truncated: e.is_truncation(),
            unsupported: e.is_unsupported(),
        }
    }
}

/// A function library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Engine (`LUA`), from the `#!` line.
    pub engine: String,
    /// Library name.
    pub name: String,
    /// Bytes of code.
    pub bytes: u64,
}

/// What the file holds besides keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileInfo {
    /// Magic (`redis` or `valkey`).
    pub format: Option<Format>,
    /// RDB version.
    pub rdb_version: Option<u32>,
    /// Aux fields in file order (except `lua`).
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Lua scripts (`lua` aux fields, Redis ≤ 6.2 replication files).
    pub lua_scripts: u64,
    /// Function libraries.
    pub functions: Vec<Function>,
    /// Module aux records per module type name.
    pub module_aux: BTreeMap<String, u64>,
    /// `RESIZEDB` hints per database (keys, expires).
    pub resize_db: BTreeMap<u64, (u64, u64)>,
    /// Trailer status, when the end was reached.
    pub checksum: Option<Checksum>,
    /// Offset just after the trailer, when the end was reached.
    pub end_offset: Option<u64>,
    /// Bytes after the trailer, when counted.
    pub trailing_bytes: Option<u64>,
}

impl FileInfo {
    /// The value of an aux field.
    pub fn aux_value(&self, name: &str) -> Option<&[u8]> {
        self.aux
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
}

/// The outcome of [`analyze`].
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The statistics.
    pub report: Report,
    /// File-level information.
    pub file: FileInfo,
    /// Problems, in file order.
    pub problems: Vec<Problem>,
}

impl Analysis {
    /// True when the whole file was read without an error.
    pub fn is_complete(&self) -> bool {
        self.file.end_offset.is_some()
            && !self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// True when what stopped the analysis is content a newer server may
    /// write (a newer RDB version, an unknown type or opcode), and nothing
    /// corrupt was found: the input needs a newer tool, not a backup.
    pub fn is_unsupported(&self) -> bool {
        let errors = || {
            self.problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
        };
        errors().any(|p| p.unsupported) && errors().all(|p| p.unsupported)
    }
}

fn on_event(file: &mut FileInfo, ev: &Event<'_>) {
    match ev {
        Event::Header { format, version } => {
            file.format = Some(*format);
            file.rdb_version = Some(*version);
        }
        Event::Aux { name, value } => {
            if *name == b"lua" {
                file.lua_scripts += 1;
            } else {
                file.aux.push((name.to_vec(), value.to_vec()));
            }
        }
        Event::Function { code } => {
            let lib = crate::model::FunctionLibrary {
                code: code.to_vec(),
            };
            let (engine, name) = lib.engine_and_name().unwrap_or_default();
            file.functions.push(Function {
                engine,
                name,
                bytes: code.len() as u64,
            });
        }
        Event::ModuleAux { module, .. } => {
            *file.module_aux.entry(module.type_name()).or_default() += 1;
        }
        Event::ResizeDb { .. } | Event::SelectDb { .. } => {}
        Event::Eof { end, checksum, .. } => {
            file.checksum = Some(*checksum);
            file.end_offset = Some(*end);
        }
        _ => {}
    }
}

/// Reads to the end of the input and returns how many bytes there were.
fn count_rest<R: Input>(src: &mut Source<R>) -> u64 {
    let mut n = 0u64;
    while let Ok(b) = src.peek(64 * 1024) {
        let k = b.len();
        if k == 0 || src.skip(k as u64).is_err() {
            break;
        }
        n += k as u64;
    }
    n
}

/// One key, for callers that want every key ([`analyze_with`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Database.
    pub db: u64,
    /// Key name.
    pub key: Vec<u8>,
    /// Data type.
    pub kind: KeyType,
    /// RDB type byte.
    pub rdb_type: u8,
    /// Its name (`hash-listpack`, …).
    pub rdb_encoding: &'static str,
    /// In-memory encoding after loading.
    pub encoding: &'static str,
    /// Absolute expiry (Unix ms).
    pub expire_ms: Option<i64>,
    /// Serialized record size.
    pub size: u64,
    /// Serialized value size.
    pub value_bytes: u64,
    /// Elements.
    pub elements: u64,
    /// Estimated memory (`MEMORY USAGE` semantics).
    pub memory: u64,
    /// Hash fields with a TTL.
    pub field_ttls: u64,
    /// Offset of the record.
    pub offset: u64,
}

/// Computes the statistics of the RDB in `src` (positioned at its magic).
/// Returns the analysis and the source (after the trailer when the end was
/// reached). A damaged file still gives the statistics of what could be read,
/// with the problem.
pub fn analyze<R: Input>(
    src: Source<R>,
    opts: &Options,
    settings: Settings,
) -> (Analysis, Source<R>) {
    analyze_in(src, None, opts, settings, None)
}

/// [`analyze`], also calling `on_key` for every key counted, in file order
/// (from the calling thread; at most a few chunks of keys are held at a time).
pub fn analyze_with<R: Input>(
    src: Source<R>,
    opts: &Options,
    settings: Settings,
    mut on_key: impl FnMut(&KeyRecord),
) -> (Analysis, Source<R>) {
    analyze_in(src, None, opts, settings, Some(&mut on_key))
}

/// [`analyze`] (with `on_key`: [`analyze_with`]), optionally of a file that is
/// all in memory: with `mapped`, `src` must read exactly `mapped.data` from its
/// first byte, and the workers get slices of it instead of copies.
pub fn analyze_in<R: Input>(
    src: Source<R>,
    mapped: Option<parallel::Mapped<'_>>,
    opts: &Options,
    settings: Settings,
    mut on_key: Option<&mut dyn FnMut(&KeyRecord)>,
) -> (Analysis, Source<R>) {
    let per_key = on_key.is_some();
    let mut file = FileInfo::default();
    let mut stats = Stats::new(opts);
    let mut problems = Vec::new();
    let mut resize = BTreeMap::new();
    let mut db = 0u64;
    let par = parallel::Settings {
        threads: settings.threads.max(1),
        chunk_size: settings.chunk_size.max(1),
        verify_checksum: true,
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (mut src, result) = parallel::map_chunks_in(
        src,
        mapped,
        par,
        &stop,
        |ev| {
            match ev {
                Event::SelectDb { db: d } => db = *d,
                Event::ResizeDb { keys, expires } => {
                    resize.insert(db, (*keys, *expires));
                }
                _ => {}
            }
            on_event(&mut file, ev);
        },
        |chunk| analyze_chunk(&chunk, opts, settings.deep, per_key),
        |(s, p, keys): (Stats, Vec<Problem>, Vec<KeyRecord>)| {
            stats.merge(s);
            problems.extend(p);
            if let Some(f) = on_key.as_mut() {
                for k in &keys {
                    f(k);
                }
            }
        },
    );
    file.resize_db = resize;
    if let Err(e) = result {
        problems.push(Problem::from_error(&e));
    }
    if settings.count_trailing && file.end_offset.is_some() {
        file.trailing_bytes = Some(count_rest(&mut src));
    }
    problems.sort_by_key(|p| p.offset);
    // Each chunk's reader gives its once-per-reader warnings: keep the first.
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| {
        p.severity != Severity::Warning || p.key.is_some() || seen.insert(p.message.clone())
    });
    let report = stats.finish(file.format.unwrap_or(Format::Redis));
    (
        Analysis {
            report,
            file,
            problems,
        },
        src,
    )
}

/// The statistics of one chunk.
fn analyze_chunk(
    chunk: &Chunk<'_>,
    opts: &Options,
    deep: bool,
    per_key: bool,
) -> (Stats, Vec<Problem>, Vec<KeyRecord>) {
    let mut stats = Stats::new(opts);
    let mut problems = Vec::new();
    let mut records = Vec::new();
    let end = chunk.start + chunk.bytes.len() as u64;
    let src = Source::new(crate::io::Memory(chunk.bytes))
        .with_size(end)
        .with_start_offset(chunk.start);
    let mut r = Reader::for_fragment_with(
        src,
        chunk.format,
        chunk.version,
        chunk.db,
        crate::rdb::Options {
            verify_checksum: false,
            frame_only: !deep,
        },
    );
    let mut walker = Walker::new(opts.memory, chunk.format);
    let mut key = Vec::new();
    loop {
        if r.has_warnings() {
            take_warnings(&mut r, &mut problems);
        }
        let k = match r.next_event() {
            Ok(Some(Event::KeyStart(k))) => k,
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) => {
                problems.push(Problem::from_error(&e));
                break;
            }
        };
        key.clear();
        key.extend_from_slice(k.key);
        let (offset, kdb, ty) = (k.offset, k.db, k.rdb_type);
        let (expire_ms, lru_idle, lfu_freq) = (k.expire_ms, k.lru_idle, k.lfu_freq);
        let vstart = r.value_offset();
        let rel = (vstart - chunk.start) as usize;
        let rest = chunk.bytes.get(rel..).unwrap_or_default();
        let walk_problem = |msg: String, pos: usize| Problem {
            severity: Severity::Error,
            offset: vstart + pos as u64,
            message: msg,
            db: Some(kdb),
            key: Some(key.clone()),
            truncated: false,
            unsupported: false,
        };
        let mut module = None;
        // A valid vector set: (elements, memory estimate).
        let mut vset = None;
        let (measure, vend) = match ty {
            t::MODULE_2
            | t::STREAM_LISTPACKS
            | t::STREAM_LISTPACKS_2
            | t::STREAM_LISTPACKS_3
            | t::STREAM_LISTPACKS_4 => {
                // The reader's events give the module name and the stream
                // groups; the walker measures the stream nodes.
                let mut sm = None;
                let mut measure = Measure::default();
                if ty != t::MODULE_2 {
                    match walker.measure(ty, rest) {
                        Ok(Partial::Stream(s)) => sm = Some(*s),
                        Ok(_) => {}
                        Err(e) => problems.push(walk_problem(e.msg, e.pos)),
                    }
                }
                let mut sm = sm.unwrap_or_else(StreamMem::default);
                let mut bad_vset = None;
                let vend = loop {
                    match r.next_event() {
                        Ok(Some(Event::Element(el))) => match el {
                            Element::Module(m) => {
                                module = Some(m.type_name());
                                // A vector set is held to check-rdb's rules:
                                // one it refuses is a problem of its key (the
                                // statistics are then incomplete).
                                match vectorset::from_module_ref(&m, chunk.version) {
                                    Some(Ok(vs)) => {
                                        vset = Some((vs.card(), memory::vectorset(&vs)));
                                    }
                                    Some(Err(e)) => bad_vset = Some((m.data.len() as u64, e)),
                                    None => {}
                                }
                            }
                            Element::StreamMeta(m) => measure.elements = m.length,
                            Element::StreamGroup(_) => sm.group(),
                            Element::StreamPending(p) => sm.pending(&p.id.to_be_bytes()),
                            Element::StreamConsumer(c) => sm.consumer(c.name.len() as u64),
                            Element::StreamConsumerPending(id) => {
                                sm.consumer_pending(&id.to_be_bytes());
                            }
                            _ => {}
                        },
                        Ok(Some(Event::KeyEnd(e))) => break Some(e.end),
                        Ok(Some(_)) => {}
                        Ok(None) => break None,
                        Err(e) => {
                            problems.push(Problem::from_error(&e));
                            break None;
                        }
                    }
                };
                let Some(vend) = vend else { break };
                if let Some((len, e)) = bad_vset {
                    // (The module data ends where the value does, as in
                    // check-rdb.)
                    problems.push(Problem {
                        severity: Severity::Error,
                        offset: (vend - len) + e.offset as u64,
                        message: e.to_string(),
                        db: Some(kdb),
                        key: Some(key.clone()),
                        truncated: false,
                        unsupported: e.kind == vectorset::ErrorKind::Unsupported,
                    });
                }
                if let Some((card, mem)) = vset {
                    measure.elements = card;
                    measure.mem = mem;
                } else if ty == t::MODULE_2 {
                    measure.elements = 1;
                    measure.mem = memory::module(vend - vstart);
                } else {
                    measure.mem = sm.finish();
                }
                (measure, vend)
            }
            _ => {
                // The walker finds where the value ends; the reader then skips
                // it without walking it again (unless validating in depth).
                let measured = walker.measure(ty, rest);
                let end = match &measured {
                    Ok(Partial::Done(m)) if !deep => r.skip_value_to(vstart + m.bytes),
                    _ => r.skip_value(),
                };
                let vend = match end {
                    Ok(e) => e.end,
                    Err(e) => {
                        problems.push(Problem::from_error(&e));
                        break;
                    }
                };
                let fallback = Measure {
                    elements: 0,
                    field_ttls: 0,
                    mem: memory::module(vend - vstart),
                    bytes: vend - vstart,
                };
                match measured {
                    Ok(Partial::Done(m)) if m.bytes == vend - vstart => (m, vend),
                    Ok(Partial::Done(m)) => {
                        problems.push(walk_problem(
                            format!(
                                "the value measured {} bytes but the reader read {}",
                                m.bytes,
                                vend - vstart
                            ),
                            0,
                        ));
                        (fallback, vend)
                    }
                    Ok(_) => (fallback, vend),
                    Err(e) => {
                        problems.push(walk_problem(e.msg, e.pos));
                        (fallback, vend)
                    }
                }
            }
        };
        let kind = if vset.is_some() {
            KeyType::VectorSet
        } else {
            t::key_type(ty).unwrap_or(KeyType::Module)
        };
        if measure.elements == 0 && !matches!(kind, KeyType::Stream | KeyType::String) {
            // Redis skips empty aggregates when loading.
            problems.push(Problem {
                severity: Severity::Warning,
                offset,
                message: format!(
                    "empty {} ({}): Redis skips it when loading; not counted",
                    kind.name(),
                    t::type_name_in(chunk.format, ty)
                ),
                db: Some(kdb),
                key: Some(key.clone()),
                truncated: false,
                unsupported: false,
            });
            continue;
        }
        let summary = KeySummary {
            db: kdb,
            key: &key,
            kind,
            rdb_type: Some(ty),
            encoding: measure.mem.encoding,
            expire_ms,
            lru_idle,
            lfu_freq,
            size: vend - offset,
            value_bytes: vend - vstart,
            elements: measure.elements,
            memory: memory::key(key.len() as u64) + measure.mem.value,
            dict_entries: measure.mem.dict_entries,
            field_ttls: measure.field_ttls,
            module: module.as_deref(),
            pos: offset,
        };
        stats.add_key(&summary);
        if per_key {
            records.push(KeyRecord {
                db: kdb,
                key: key.clone(),
                kind,
                rdb_type: ty,
                rdb_encoding: t::type_name_in(chunk.format, ty),
                encoding: summary.encoding,
                expire_ms,
                size: summary.size,
                value_bytes: summary.value_bytes,
                elements: summary.elements,
                memory: summary.memory,
                field_ttls: summary.field_ttls,
                offset,
            });
        }
    }
    take_warnings(&mut r, &mut problems);
    (stats, problems, records)
}

/// Moves what the reader let through with a warning (a stream stored longer
/// than its live entries, a skipped Redis Enterprise opcode) to `problems`.
fn take_warnings<R: crate::io::Input>(r: &mut Reader<R>, problems: &mut Vec<Problem>) {
    problems.extend(r.take_warnings().iter().map(|w| Problem {
        severity: Severity::Warning,
        ..Problem::from_error(w)
    }));
}
