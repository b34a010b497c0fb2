//! Checking a whole RDB: folds a [`Reader`]'s events into a [`Report`] of what the
//! file holds and what is wrong with it. Used by `check-rdb`, and by `check-aof`
//! for RDB preambles and `.base.rdb` files (through [`validate`]).
//!
//! Problems the reader cannot continue past (a truncated file, a corrupt listpack,
//! a checksum mismatch) end the check with one problem. Problems it can continue
//! past are collected: empty aggregates (Redis skips them when loading,
//! `redis-check-rdb` rejects them), duplicate keys in a database (Redis panics
//! while loading; `redis-check-rdb` does not notice), module values without their
//! module (counted by type name, not a problem: the value is walked by its framing).
//! Warnings do not make the file invalid: a database index above 15 (the default
//! `databases 16` refuses it), the reader's warnings ([`Reader::take_warnings`]:
//! a stream length above its live entries, a skipped Redis Enterprise opcode, a
//! pre-release function library), bytes after the trailer that are not RESP.
//!
//! A problem is of one of three [`ProblemKind`]s: corrupt, unsupported (the
//! input may be valid for a newer server than this tool knows: a newer RDB
//! version, an unknown type byte or opcode), or a warning.

use std::collections::BTreeMap;

use serde::Serialize;

use std::collections::HashSet;

use super::dups::{KeySet, key_hash, name_hash, with_db};
use super::reader::{Checksum, Element, Event, KeyEnd, Options, Reader};
use super::types::{self as t, Format};
use super::{Error, ErrorKind};
use crate::io::{Input, Source};

/// Per-database counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DbCounts {
    /// Keys.
    pub keys: u64,
    /// Keys with an expire.
    pub expires: u64,
    /// Keys whose expire time is already past.
    pub already_expired: u64,
}

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file is not valid.
    Error,
    /// Worth knowing; the file is still valid.
    Warning,
}

/// What kind of problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemKind {
    /// The file is damaged or invalid.
    Corrupt,
    /// The file may be valid for a newer server than this tool knows (a newer
    /// RDB version, an unknown type byte or opcode): not a sign of damage.
    Unsupported,
    /// Worth knowing; the file is still valid.
    Warning,
}

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Corrupt, unsupported or warning.
    pub kind: ProblemKind,
    /// Absolute byte offset.
    pub offset: u64,
    /// What is wrong.
    pub message: String,
    /// Database, when known.
    pub db: Option<u64>,
    /// Key (exact bytes), when inside a key.
    #[serde(skip)]
    pub key: Option<Vec<u8>>,
    /// RDB type byte of the key, when inside a key.
    pub rdb_type: Option<u8>,
    /// True when the input ended early (truncation).
    pub truncated: bool,
}

/// What a check found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Magic (`redis` or `valkey`), once read.
    pub format: Option<Format>,
    /// RDB version, once read.
    pub rdb_version: Option<u32>,
    /// Aux fields in file order (name, value).
    #[serde(skip)]
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keys read.
    pub keys: u64,
    /// Keys with an expire.
    pub expires: u64,
    /// Keys whose expire is already past (relative to the check time).
    pub already_expired: u64,
    /// Keys with at least one hash field TTL.
    pub subexpires: u64,
    /// Counts per database.
    pub dbs: BTreeMap<u64, DbCounts>,
    /// Keys per data type (`string`, `list`, …).
    pub types: BTreeMap<&'static str, u64>,
    /// Keys per RDB encoding (`hash-listpack`, `quicklist-v2`, …).
    pub encodings: BTreeMap<&'static str, u64>,
    /// Module values per module type name (walked by their framing, not decoded).
    pub modules: BTreeMap<String, u64>,
    /// Module aux records per module type name.
    pub module_aux: BTreeMap<String, u64>,
    /// Function libraries.
    pub functions: u64,
    /// Aggregates with no element.
    pub empty_keys: u64,
    /// Keys with LFU counters / LRU idle times.
    pub lfu_keys: u64,
    /// Keys with LRU idle times.
    pub lru_keys: u64,
    /// Trailer status (set when the end was reached).
    pub checksum: Option<Checksum>,
    /// Offset just after the trailer (when the end was reached).
    pub end_offset: Option<u64>,
    /// Bytes after the trailer (an AOF tail in a hybrid file; ignored by Redis).
    pub trailing_bytes: Option<u64>,
    /// Whether the bytes after the trailer start with RESP commands (the
    /// command tail of a hybrid AOF); `None` when there are none.
    pub trailing_resp: Option<bool>,
    /// Keys carrying each `KEY_META` class (Redis 8.6), by (class name,
    /// version).
    pub key_meta: BTreeMap<(String, u8), u64>,
    /// `SLOT_INFO` records: (records, keys, expires) summed.
    pub slot_info: (u64, u64, u64),
    /// `SLOT_IMPORT` records (Valkey 9): job name, slot ranges (the
    /// first [`MAX_SLOT_IMPORTS`]; `slot_import_count` counts them all).
    pub slot_imports: Vec<SlotImport>,
    /// Number of `SLOT_IMPORT` records.
    pub slot_import_count: u64,
    /// Problems and warnings, in file order: the first [`MAX_PROBLEMS`]
    /// (see [`Report::add`]); the rest are counted in `problems_dropped`.
    pub problems: Vec<Problem>,
    /// Problems found but not kept in `problems` (beyond [`MAX_PROBLEMS`]),
    /// per kind.
    pub problems_dropped: BTreeMap<ProblemKind, u64>,
    /// The duplicate keys reported on a hash alone ([`super::dups::KeySet`]):
    /// (offset, [`super::dups::key_hash`]) of each, in file order.
    /// [`confirm_duplicates`] checks them on the key bytes and withdraws any
    /// that was a collision of two distinct keys (about n²/2⁶⁵ for n keys).
    #[serde(skip)]
    pub unconfirmed_duplicates: Vec<(u64, u64)>,
}

/// Most problems a [`Report`] keeps in full; the rest are only counted, so a
/// file of millions of broken records is checked in bounded memory.
pub const MAX_PROBLEMS: usize = 1000;

/// A check stops after this many records in a row that each gave a problem
/// with no sound record between them: the input is nothing but damage (a
/// header followed by zero bytes reads as millions of empty duplicate keys).
pub const MAX_DAMAGE_STREAK: u64 = 10_000;

/// A `SLOT_IMPORT` record (Valkey 9 atomic slot migration in progress).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotImport {
    /// Job name (exact bytes).
    #[serde(skip)]
    pub job: Vec<u8>,
    /// Slot ranges (start, end).
    pub ranges: Vec<(u64, u64)>,
}

/// Most `SLOT_IMPORT` records kept in a [`Report`] (a real file has a handful).
pub const MAX_SLOT_IMPORTS: usize = 64;

impl Report {
    /// Keeps `p` when fewer than [`MAX_PROBLEMS`] are kept, else counts it in
    /// `problems_dropped`.
    pub fn add(&mut self, p: Problem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        } else {
            *self.problems_dropped.entry(p.kind).or_default() += 1;
        }
    }

    /// True when some problems were only counted, not kept.
    pub fn problems_truncated(&self) -> bool {
        !self.problems_dropped.is_empty()
    }

    /// Every problem found (kept or not), per kind.
    pub fn problem_counts(&self) -> BTreeMap<ProblemKind, u64> {
        let mut n = self.problems_dropped.clone();
        for p in &self.problems {
            *n.entry(p.kind).or_default() += 1;
        }
        n
    }

    /// How many problems were found (kept or not).
    fn problem_total(&self) -> u64 {
        self.problems.len() as u64 + self.problems_dropped.values().sum::<u64>()
    }

    /// Problems of `kind` found but not kept.
    fn dropped(&self, kind: ProblemKind) -> u64 {
        self.problems_dropped.get(&kind).copied().unwrap_or(0)
    }

    /// True when no error-severity problem was found and the end was reached.
    pub fn is_ok(&self) -> bool {
        self.end_offset.is_some()
            && !self.problems.iter().any(|p| p.severity == Severity::Error)
            && self.dropped(ProblemKind::Corrupt) == 0
            && self.dropped(ProblemKind::Unsupported) == 0
    }

    /// True when the file may be valid for a newer server than this tool
    /// knows: an unsupported problem stopped the check, and nothing corrupt
    /// was found before it (corruption wins: a newer tool would not make a
    /// damaged file valid).
    pub fn is_unsupported(&self) -> bool {
        let errors = || {
            self.problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
        };
        (errors().any(|p| p.kind == ProblemKind::Unsupported)
            || self.dropped(ProblemKind::Unsupported) > 0)
            && errors().all(|p| p.kind == ProblemKind::Unsupported)
            && self.dropped(ProblemKind::Corrupt) == 0
    }

    /// The first error-severity problem.
    pub fn first_error(&self) -> Option<&Problem> {
        self.problems.iter().find(|p| p.severity == Severity::Error)
    }

    /// The value of an aux field.
    pub fn aux_value(&self, name: &str) -> Option<&[u8]> {
        self.aux
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
}

/// Check settings.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// "Now" in Unix milliseconds, for already-expired counts.
    pub now_ms: i64,
    /// Detect duplicate keys within a database (costs at most 16 bytes per key;
    /// see [`Report::unconfirmed_duplicates`]).
    pub duplicate_keys: bool,
    /// Verify the CRC-64 trailer.
    pub verify_checksum: bool,
    /// Count the bytes after the trailer (reads to the end of the input).
    pub count_trailing: bool,
    /// Chunk size of [`check_parallel`].
    pub chunk_size: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            now_ms: now_ms(),
            duplicate_keys: true,
            verify_checksum: true,
            count_trailing: false,
            chunk_size: 1 << 20,
        }
    }
}

impl CheckOptions {
    /// For a check by chunks on `threads` threads: the driver's settings, and
    /// the options of each chunk's check (keys are compared across chunks by
    /// the caller, and trailing bytes counted once at the end of the file).
    fn parallel(self, threads: usize) -> (super::parallel::Settings, CheckOptions) {
        let settings = super::parallel::Settings {
            threads,
            verify_checksum: self.verify_checksum,
            chunk_size: self.chunk_size,
        };
        let frag = CheckOptions {
            duplicate_keys: false,
            count_trailing: false,
            ..self
        };
        (settings, frag)
    }
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn problem_from(e: &Error) -> Problem {
    Problem {
        severity: Severity::Error,
        kind: if e.is_unsupported() {
            ProblemKind::Unsupported
        } else {
            ProblemKind::Corrupt
        },
        offset: e.offset(),
        message: e.message(),
        db: e.db(),
        key: e.key().map(|k| k.key.clone()),
        rdb_type: e.key().map(|k| k.rdb_type),
        truncated: e.is_eof(),
    }
}

/// A reader's warning ([`Reader::take_warnings`]) as a problem.
fn warning_from(e: &Error) -> Problem {
    Problem {
        severity: Severity::Warning,
        kind: ProblemKind::Warning,
        ..problem_from(e)
    }
}

/// Moves the reader's pending warnings into `rep`.
fn take_warnings<R: Input>(rep: &mut Report, reader: &mut Reader<R>) {
    if reader.has_warnings() {
        for w in reader.take_warnings() {
            rep.add(warning_from(&w));
        }
    }
}

/// Reads a whole RDB from `reader`, returning the report and the reader (whose
/// source is positioned after the trailer when the end was reached).
pub fn check<R: Input>(reader: Reader<R>, opts: CheckOptions) -> (Report, Reader<R>) {
    let (rep, reader, _) = check_events(reader, opts, Mode::Whole);
    (rep, reader)
}

/// What [`check_events`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A whole file.
    Whole,
    /// A chunk of keys cut by a thread that walked the file: file-level records
    /// (aux fields, functions, module aux, database warnings) are left to that
    /// thread.
    Framed,
    /// A chunk of keys cut at a guessed boundary ([`super::speculative`]): the
    /// file-level records in it are counted here (nobody else sees them), a
    /// database warning has offset 0 as in [`Mode::Framed`]'s framing thread,
    /// and with `hash_keys` every key's hash goes to [`Tail::keys`] for the
    /// duplicate check across chunks.
    Guessed {
        /// Collect key hashes.
        hash_keys: bool,
    },
}

/// How a check's reader finished, beyond the report.
#[derive(Debug, Default)]
struct Tail {
    /// A reader error ended the check.
    stopped: bool,
    /// Offsets of the `EOF` opcode and just after the trailer, when reached.
    eof: Option<(u64, u64)>,
    /// (database, [`name_hash`]) of every key, in [`Mode::Guessed`] with
    /// `hash_keys`.
    keys: Vec<(u64, u64)>,
    /// Hashes of the names of the function libraries read, in
    /// [`Mode::Guessed`] (a second one of a name in another chunk sends the
    /// file to the walk, which reports it).
    libraries: Vec<u128>,
}

/// The event loop of a check (see [`Mode`]).
fn check_events<R: Input>(
    mut reader: Reader<R>,
    opts: CheckOptions,
    mode: Mode,
) -> (Report, Reader<R>, Tail) {
    let mut rep = Report::default();
    let mut tail = Tail::default();
    let mut keys_seen = KeySet::default();
    let mut warned_db = false;
    // Keys per RDB type byte (folded into names at the end).
    let mut by_type = [0u64; 256];
    // Valid vector sets (counted as their own type, not as `module`).
    let mut vectorsets = 0u64;
    // Keys in a row that each gave a problem, and the problem count when the
    // current key started.
    let (mut streak, mut key_from) = (0u64, 0u64);
    let mut libraries = Libraries::default();
    loop {
        let mut ended = false;
        take_warnings(&mut rep, &mut reader);
        let version = reader.version();
        let record_at = reader.offset();
        // A vector set the loader refuses: (its data length, why).
        let mut bad_vset = None;
        let ev = match reader.next_event() {
            Ok(Some(ev)) => ev,
            Ok(None) => break,
            Err(e) => {
                rep.add(problem_from(&e));
                tail.stopped = true;
                break;
            }
        };
        match ev {
            Event::Header { .. }
            | Event::Aux { .. }
            | Event::ModuleAux { .. }
            | Event::Function { .. }
            | Event::SlotInfo { .. }
            | Event::SlotImport { .. } => {
                if mode != Mode::Framed {
                    file_record(&mut rep, &ev);
                    if let Event::Function { code } = ev {
                        if let Some(p) = libraries.check(code, record_at) {
                            rep.add(p);
                        } else if matches!(mode, Mode::Guessed { .. }) {
                            tail.libraries.extend(library_hash(code));
                        }
                    }
                }
            }
            Event::SelectDb { .. } if mode == Mode::Framed => {}
            Event::SelectDb { db } => {
                if db > 15 && !warned_db {
                    warned_db = true;
                    let at = if mode == Mode::Whole {
                        reader.offset()
                    } else {
                        0
                    };
                    rep.add(db_warning(db, at));
                }
            }
            Event::KeyStart(k) => {
                key_from = rep.problem_total();
                let (db, ty) = (k.db, k.rdb_type);
                if let Mode::Guessed { hash_keys: true } = mode {
                    let h = (db, name_hash(k.key));
                    // The same name as the key just before it: a duplicate
                    // for sure, which sends the file to the walk (it reports
                    // it). The chunk stops there, as a damaged one does,
                    // instead of keeping a hash of every record of a run of
                    // zero bytes (each 3 bytes, an empty key).
                    if tail.keys.last() == Some(&h) {
                        rep.add(duplicate_key(&k));
                        tail.stopped = true;
                        break;
                    }
                    tail.keys.push(h);
                }
                let c = rep.dbs.entry(db).or_default();
                if let Some(exp) = k.expire_ms {
                    c.expires += 1;
                    rep.expires += 1;
                    if exp < opts.now_ms {
                        c.already_expired += 1;
                        rep.already_expired += 1;
                    }
                }
                rep.lfu_keys += u64::from(k.lfu_freq.is_some());
                rep.lru_keys += u64::from(k.lru_idle.is_some());
                if opts.duplicate_keys {
                    let h = key_hash(db, k.key);
                    if !keys_seen.insert(h) {
                        rep.add(duplicate_key(&k));
                        rep.unconfirmed_duplicates.push((k.offset, h));
                    }
                }
                if k.meta_classes > 0 {
                    for c in reader.key_meta() {
                        *rep.key_meta.entry((c.name(), c.version())).or_default() += 1;
                    }
                }
                if ty == t::MODULE_2 {
                    // Read through events to learn the module type name.
                    continue;
                }
                match reader.skip_value() {
                    Ok(end) => {
                        key_end(&mut rep, &reader, end, &mut by_type);
                        ended = true;
                    }
                    Err(e) => {
                        take_warnings(&mut rep, &mut reader);
                        rep.add(problem_from(&e));
                        tail.stopped = true;
                        break;
                    }
                }
            }
            Event::Element(Element::Module(m)) => {
                *rep.modules.entry(m.type_name()).or_default() += 1;
                // A vector set is decoded with the loader's checks.
                match super::vectorset::from_module_ref(&m, version) {
                    Some(Ok(_)) => vectorsets += 1,
                    Some(Err(e)) => bad_vset = Some((m.data.len() as u64, e)),
                    None => {}
                }
            }
            Event::Element(_) => {}
            Event::KeyEnd(end) => {
                key_end(&mut rep, &reader, end, &mut by_type);
                ended = true;
            }
            Event::Eof {
                offset,
                end,
                checksum,
            } => {
                rep.checksum = Some(checksum);
                rep.end_offset = Some(end);
                tail.eof = Some((offset, end));
            }
            Event::ResizeDb { .. } => {}
        }
        if let Some((len, e)) = bad_vset {
            // The module data ends where the reader now is.
            let unsupported = e.kind == super::vectorset::ErrorKind::Unsupported;
            rep.add(Problem {
                severity: Severity::Error,
                kind: if unsupported {
                    ProblemKind::Unsupported
                } else {
                    ProblemKind::Corrupt
                },
                offset: reader.offset() - len + e.offset as u64,
                message: e.to_string(),
                db: Some(reader.db()),
                key: Some(reader.key().to_vec()),
                rdb_type: Some(t::MODULE_2),
                truncated: false,
            });
        }
        if ended {
            if rep.problem_total() == key_from {
                streak = 0;
            } else {
                streak += 1;
                if streak >= MAX_DAMAGE_STREAK {
                    // Kept even past the cap: it says why the check ended.
                    rep.problems.push(damage_stop(reader.offset(), streak));
                    tail.stopped = true;
                    break;
                }
            }
        }
    }
    take_warnings(&mut rep, &mut reader);
    let format = reader.format();
    for (ty, &n) in by_type.iter().enumerate() {
        if n > 0 {
            let ty = ty as u8;
            *rep.types
                .entry(t::key_type(ty).map_or("unknown", |k| k.name()))
                .or_default() += n;
            *rep.encodings
                .entry(t::type_name_in(format, ty))
                .or_default() += n;
        }
    }
    if vectorsets > 0 {
        if let Some(n) = rep.types.get_mut("module") {
            *n -= vectorsets.min(*n);
            if *n == 0 {
                rep.types.remove("module");
            }
        }
        *rep.types.entry("vectorset").or_default() += vectorsets;
    }
    if opts.count_trailing && rep.end_offset.is_some() {
        trailing(&mut rep, reader.source_mut());
    }
    (rep, reader, tail)
}

/// Records a file-level record (header, aux field, module aux, function
/// library) in `rep`; other events are left to the caller.
fn file_record(rep: &mut Report, ev: &Event<'_>) {
    match *ev {
        Event::Header { format, version } => {
            rep.format = Some(format);
            rep.rdb_version = Some(version);
        }
        Event::Aux { name, value } => rep.aux.push((name.to_vec(), value.to_vec())),
        Event::ModuleAux { module, .. } => {
            *rep.module_aux.entry(module.type_name()).or_default() += 1;
        }
        Event::Function { .. } => rep.functions += 1,
        Event::SlotInfo { keys, expires, .. } => {
            rep.slot_info.0 += 1;
            rep.slot_info.1 = rep.slot_info.1.saturating_add(keys);
            rep.slot_info.2 = rep.slot_info.2.saturating_add(expires);
        }
        Event::SlotImport { job, ranges } => {
            rep.slot_import_count += 1;
            if rep.slot_imports.len() < MAX_SLOT_IMPORTS {
                rep.slot_imports.push(SlotImport {
                    job: job.to_vec(),
                    ranges: ranges.to_vec(),
                });
            }
        }
        _ => {}
    }
}

/// The function libraries of a file, as the server's loader takes them in
/// (Redis 7.0+ and Valkey `functionsCreateWithLibraryCtx`): each library's
/// metadata line is checked, and a second library of a name that was already
/// loaded is refused ("Library '…' already exists": the loader does not
/// replace, and refuses the whole file). Names are kept as 128-bit hashes.
#[derive(Default)]
pub(super) struct Libraries {
    names: HashSet<u128>,
}

impl Libraries {
    /// The problem the loader has with the library `code` (whose record starts
    /// at `offset`), after the libraries seen so far.
    fn check(&mut self, code: &[u8], offset: u64) -> Option<Problem> {
        self.refused(code).map(|why| library_problem(offset, &why))
    }

    /// Why the loader refuses the library `code` after the libraries seen so
    /// far (which it then counts as seen); `None` when it takes it.
    pub(super) fn refused(&mut self, code: &[u8]) -> Option<String> {
        match library_name(code) {
            Err(why) => Some(why),
            Ok(name) if self.names.insert(xxhash_rust::xxh3::xxh3_128(name)) => None,
            Ok(name) => Some(format!(
                "library '{}' already exists (a second library of that name)",
                String::from_utf8_lossy(name)
            )),
        }
    }
}

/// The hash of a library's name (see [`Libraries`]), when its metadata is
/// accepted.
fn library_hash(code: &[u8]) -> Option<u128> {
    library_name(code).ok().map(xxhash_rust::xxh3::xxh3_128)
}

fn library_problem(offset: u64, why: &str) -> Problem {
    Problem {
        severity: Severity::Error,
        kind: ProblemKind::Corrupt,
        offset,
        message: format!("function library refused by the server's loader: {why}"),
        db: None,
        key: None,
        rdb_type: None,
        truncated: false,
    }
}

/// A function library's name, or why the server's loader refuses it by its
/// metadata line (Redis 7.0 `functionExtractLibMetaData` and
/// `functionsVerifyName`). (The Lua code itself is not compiled here.)
fn library_name(code: &[u8]) -> Result<&[u8], String> {
    let Some(rest) = code.strip_prefix(b"#!") else {
        return Err("missing library metadata (the code does not start with `#!`)".into());
    };
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        return Err("invalid library metadata (no line after the `#!` line)".into());
    };
    let mut parts = rest[..end]
        .split(u8::is_ascii_whitespace)
        .filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or_default();
    let mut name = None;
    for p in parts {
        match p.strip_prefix(b"name=") {
            Some(_) if name.is_some() => {
                return Err(
                    "invalid metadata value, name argument was given multiple times".into(),
                );
            }
            Some(n) => name = Some(n),
            None => {
                return Err(format!(
                    "invalid metadata value given: {}",
                    String::from_utf8_lossy(p)
                ));
            }
        }
    }
    let Some(name) = name else {
        return Err("library name was not given".into());
    };
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!(
            "engine '{}' not found",
            String::from_utf8_lossy(engine)
        ));
    }
    if name.is_empty() || !name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!(
            "library name '{}': library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
            String::from_utf8_lossy(name)
        ));
    }
    Ok(name)
}

fn duplicate_key(k: &super::KeyInfo<'_>) -> Problem {
    Problem {
        severity: Severity::Error,
        offset: k.offset,
        kind: ProblemKind::Corrupt,
        message: format!(
            "duplicate key in db {}: Redis aborts loading a file with duplicated keys",
            k.db
        ),
        db: Some(k.db),
        key: Some(k.key.to_vec()),
        rdb_type: Some(k.rdb_type),
        truncated: false,
    }
}

/// The problem that ends a check after `streak` damaged records in a row
/// ([`MAX_DAMAGE_STREAK`]), at `offset`.
fn damage_stop(offset: u64, streak: u64) -> Problem {
    Problem {
        severity: Severity::Error,
        kind: ProblemKind::Corrupt,
        offset,
        message: format!(
            "check stopped: {streak} records in a row were damaged with no sound record between them; the input from here on was not read (it looks like nothing but damage)"
        ),
        db: None,
        key: None,
        rdb_type: None,
        truncated: false,
    }
}

fn db_warning(db: u64, offset: u64) -> Problem {
    Problem {
        severity: Severity::Warning,
        kind: ProblemKind::Warning,
        offset,
        message: format!(
            "database {db} is above 15: a server with the default `databases 16` refuses to load this file"
        ),
        db: Some(db),
        key: None,
        rdb_type: None,
        truncated: false,
    }
}

/// How many bytes of the tail [`trailing`] looks at to tell RESP from garbage.
const TAIL_PEEK: usize = 64 * 1024;

/// Counts the bytes after the trailer (at the source's position) into `rep`,
/// and tells whether they are the RESP commands of a hybrid AOF or garbage
/// (a warning: Redis ignores bytes after the trailer when it loads an RDB).
fn trailing<R: Input>(rep: &mut Report, src: &mut Source<R>) {
    let at = src.offset();
    let resp = src.peek(TAIL_PEEK).ok().map(tail_is_resp);
    let n = count_rest(src);
    note_trailing(rep, at, n, resp.unwrap_or(false));
}

/// Records `n` trailing bytes at `at` in `rep` (see [`trailing`]).
fn note_trailing(rep: &mut Report, at: u64, n: u64, resp: bool) {
    rep.trailing_bytes = Some(n);
    if n == 0 {
        return;
    }
    rep.trailing_resp = Some(resp);
    if !resp {
        rep.add(Problem {
            severity: Severity::Warning,
            kind: ProblemKind::Warning,
            offset: at,
            message: format!(
                "{n} bytes of trailing garbage after the RDB checksum (not RESP commands; Redis ignores them when loading the file)"
            ),
            db: None,
            key: None,
            rdb_type: None,
            truncated: false,
        });
    }
}

/// [`tail_is_resp`] of the bytes of `data` from `at` (the first
/// `TAIL_PEEK` of them), for a guess among damaged bytes: a command, or the
/// timestamp annotation Redis writes (any other `#` line is too easily
/// imitated by chance bytes).
pub(crate) fn resp_follows(data: &[u8], at: u64) -> bool {
    let tail = usize::try_from(at)
        .ok()
        .and_then(|at| data.get(at..))
        .unwrap_or_default();
    (tail.starts_with(b"*") || tail.starts_with(b"#TS:"))
        && tail_is_resp(&tail[..tail.len().min(TAIL_PEEK)])
}

/// True when `head` (the first bytes after an RDB trailer) starts like the
/// command tail of a hybrid AOF: a complete RESP record (command or `#`
/// annotation), or one cut by the end of the input. What follows it, damaged
/// or not, is `check-aof`'s business.
fn tail_is_resp(head: &[u8]) -> bool {
    let mut r = crate::aof::CommandReader::new(Source::new(head));
    match r.next_record() {
        Ok(rec) => rec.is_some(),
        Err(e) => matches!(e.kind(), crate::aof::ErrorKind::Truncated(_)),
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

fn key_end<R: Input>(rep: &mut Report, reader: &Reader<R>, end: KeyEnd, by_type: &mut [u64; 256]) {
    let ty = reader.rdb_type();
    let db = reader.db();
    if end.empty {
        rep.empty_keys += 1;
        rep.add(Problem {
            severity: Severity::Error,
            kind: ProblemKind::Corrupt,
            offset: end.offset,
            message: format!(
                "empty {} ({}): Redis skips such keys when loading and redis-check-rdb rejects them",
                t::key_type(ty).map_or("value", |k| k.name()),
                t::type_name_in(reader.format(), ty)
            ),
            db: Some(db),
            key: Some(reader.key().to_vec()),
            rdb_type: Some(ty),
            truncated: false,
        });
    }
    rep.keys += 1;
    if let Some(c) = rep.dbs.get_mut(&db) {
        c.keys += 1;
    }
    rep.subexpires += u64::from(end.field_ttls > 0);
    by_type[ty as usize] += 1;
}

/// A summary of a validated RDB.
pub type Summary = Report;

/// Reads one whole RDB (magic through trailer) from `source` with deep
/// validation. On success the returned source is positioned right after the
/// trailer (where the RESP commands of a hybrid AOF continue). Any problem of
/// error severity (including empty aggregates and duplicate keys) is an `Err`.
pub fn validate<R: Input>(source: Source<R>) -> (Source<R>, Result<Summary, Error>) {
    let reader = Reader::with_options(source, Options::default());
    let (rep, reader) = check(
        reader,
        CheckOptions {
            count_trailing: false,
            ..CheckOptions::default()
        },
    );
    let src = reader.into_source();
    let res = match rep.first_error() {
        Some(p) => {
            let mut e = Error::new(
                p.offset,
                if p.truncated {
                    ErrorKind::UnexpectedEof {
                        reading: "the RDB",
                        needed: 1,
                    }
                } else {
                    ErrorKind::Corrupt(p.message.clone())
                },
            );
            if let (Some(key), Some(ty), Some(db)) = (&p.key, p.rdb_type, p.db) {
                e = e.with_key(super::KeyContext {
                    db,
                    key: key.clone(),
                    rdb_type: ty,
                    format: rep.format.unwrap_or(super::types::Format::Redis),
                });
            }
            Err(e)
        }
        None => Ok(rep),
    };
    (src, res)
}

/// Checks an RDB on `threads` worker threads with [`super::parallel::map_chunks`]:
/// this thread follows the file's structure (and computes the CRC and finds
/// duplicate keys), workers check chunks of whole keys in full. The report is the
/// same as [`check`]'s, except that a corrupt value no longer ends the check:
/// every chunk is checked, so several independent corrupt values can be reported
/// (a corruption of the file's structure still ends it).
pub fn check_parallel<R: Input>(
    src: Source<R>,
    opts: CheckOptions,
    threads: usize,
) -> (Report, Source<R>) {
    check_parallel_in(src, None, opts, threads)
}

/// [`check_parallel`], optionally of a file that is all in memory (mapped):
/// with `mapped`, `src` must read exactly `mapped.data` from its first byte, and
/// the workers get slices of it instead of copies
/// ([`super::parallel::map_chunks_in`]).
pub fn check_parallel_in<R: Input>(
    src: Source<R>,
    mapped: Option<super::parallel::Mapped<'_>>,
    opts: CheckOptions,
    threads: usize,
) -> (Report, Source<R>) {
    if let Some(m) = mapped {
        // Chunks cut at guessed boundaries, each proven by the chunk before it;
        // anything unproven (a broken file, typically) falls back to the walk.
        if let Some(rep) = check_guessed(m, opts, threads) {
            return (rep, src);
        }
    }
    let (settings, frag_opts) = opts.parallel(threads);
    let mut rep = Report::default();
    let mut keys_seen = KeySet::default();
    let mut warned_db = false;
    // Problems of the framing thread (database warning, duplicate keys), and
    // duplicate keys in a row (see [`MAX_DAMAGE_STREAK`]).
    let mut framing = Report::default();
    let mut dups_in_a_row = 0u64;
    let mut parts: Vec<Report> = Vec::new();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut libraries = Libraries::default();
    let (mut src, res) = super::parallel::map_chunks_at(
        src,
        mapped,
        settings,
        &stop,
        |ev, at| match *ev {
            Event::SelectDb { db } if db > 15 && !warned_db => {
                warned_db = true;
                framing.add(db_warning(db, 0));
            }
            Event::KeyStart(k) if opts.duplicate_keys => {
                let h = key_hash(k.db, k.key);
                if keys_seen.insert(h) {
                    dups_in_a_row = 0;
                } else {
                    framing.add(duplicate_key(&k));
                    framing.unconfirmed_duplicates.push((k.offset, h));
                    dups_in_a_row += 1;
                    if dups_in_a_row == MAX_DAMAGE_STREAK {
                        framing.problems.push(damage_stop(k.offset, dups_in_a_row));
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
            Event::KeyStart(_) => dups_in_a_row = 0,
            Event::Eof { end, checksum, .. } => {
                rep.checksum = Some(checksum);
                rep.end_offset = Some(end);
            }
            Event::Function { code } => {
                file_record(&mut rep, ev);
                if let Some(p) = libraries.check(code, at) {
                    framing.add(p);
                }
            }
            _ => file_record(&mut rep, ev),
        },
        |chunk| check_events(chunk.reader(), frag_opts, Mode::Framed).0,
        |part| parts.push(part),
    );
    if let Err(e) = res {
        framing.add(problem_from(&e));
    }
    rep.problems = framing.problems;
    rep.problems_dropped = framing.problems_dropped;
    rep.unconfirmed_duplicates = framing.unconfirmed_duplicates;
    for p in parts {
        absorb(&mut rep, p, |db| db);
    }
    rep.problems.sort_by_key(|p| p.offset);
    dedupe_file_warnings(&mut rep.problems);
    if opts.count_trailing && rep.end_offset.is_some() {
        trailing(&mut rep, &mut src);
    }
    (rep, src)
}

/// Adds the counts and problems of `part` (a chunk's report, or the body of a
/// file) to `rep`, with `fix` applied to every database number
/// ([`super::speculative::UNKNOWN_DB`] becomes the chunk's starting database).
fn absorb(rep: &mut Report, part: Report, fix: impl Fn(u64) -> u64) {
    rep.keys += part.keys;
    rep.expires += part.expires;
    rep.already_expired += part.already_expired;
    rep.subexpires += part.subexpires;
    rep.empty_keys += part.empty_keys;
    rep.lfu_keys += part.lfu_keys;
    rep.lru_keys += part.lru_keys;
    rep.functions += part.functions;
    rep.aux.extend(part.aux);
    for (db, c) in part.dbs {
        let d = rep.dbs.entry(fix(db)).or_default();
        d.keys += c.keys;
        d.expires += c.expires;
        d.already_expired += c.already_expired;
    }
    for (k, n) in part.types {
        *rep.types.entry(k).or_default() += n;
    }
    for (k, n) in part.encodings {
        *rep.encodings.entry(k).or_default() += n;
    }
    for (k, n) in part.modules {
        *rep.modules.entry(k).or_default() += n;
    }
    for (k, n) in part.module_aux {
        *rep.module_aux.entry(k).or_default() += n;
    }
    for (k, n) in part.key_meta {
        *rep.key_meta.entry(k).or_default() += n;
    }
    rep.slot_info.0 += part.slot_info.0;
    rep.slot_info.1 = rep.slot_info.1.saturating_add(part.slot_info.1);
    rep.slot_info.2 = rep.slot_info.2.saturating_add(part.slot_info.2);
    rep.slot_import_count += part.slot_import_count;
    let room = MAX_SLOT_IMPORTS.saturating_sub(rep.slot_imports.len());
    rep.slot_imports
        .extend(part.slot_imports.into_iter().take(room));
    for mut p in part.problems {
        p.db = p.db.map(&fix);
        rep.add(p);
    }
    for (k, n) in part.problems_dropped {
        *rep.problems_dropped.entry(k).or_default() += n;
    }
}

/// [`check_parallel_in`] over chunks cut at guessed record boundaries
/// ([`super::speculative::map_chunks_speculative`]): no thread walks the file
/// first. `None` when a guess was not proven or anything was wrong (a reader
/// error, a duplicate key, a checksum mismatch: the caller then checks with the
/// walk, which reports it); a report from here is the walk's report of the same
/// file.
pub fn check_guessed(
    m: super::parallel::Mapped<'_>,
    opts: CheckOptions,
    threads: usize,
) -> Option<Report> {
    use super::speculative::{Outcome, UNKNOWN_DB, map_chunks_speculative};
    let (settings, frag_opts) = opts.parallel(threads);
    let mode = Mode::Guessed {
        hash_keys: opts.duplicate_keys,
    };
    let mut head = Report::default();
    let mut body = Report::default();
    // 64-bit hashes of the keys: a collision (about n²/2⁶⁵) only sends the
    // file to the walk, whose report is confirmed on the key bytes.
    let mut keys_seen: Option<KeySet> = None;
    // The first RESIZEDB hint sizes the set once (no growing), within what the
    // file can hold (a key record takes at least 3 bytes) and at most a
    // million keys (about 9 MiB), whatever a corrupt hint says.
    let hint = std::cell::Cell::new(None::<u64>);
    let mut libraries = Libraries::default();
    // (Filled by the head's records, then by each chunk's, in file order.)
    let library_names = std::cell::RefCell::new(HashSet::<u128>::new());
    let end = map_chunks_speculative(
        m,
        settings,
        |ev, at| match *ev {
            Event::SelectDb { db } => {
                if db > 15 && head.problems.is_empty() {
                    head.problems.push(db_warning(db, 0));
                }
            }
            Event::ResizeDb { keys, .. } => {
                if hint.get().is_none() {
                    hint.set(Some(keys.min(m.data.len() as u64 / 3).min(1 << 20)));
                }
            }
            Event::Function { code } => {
                file_record(&mut head, ev);
                match libraries.check(code, at) {
                    Some(p) => head.add(p),
                    None => library_names.borrow_mut().extend(library_hash(code)),
                }
            }
            _ => file_record(&mut head, ev),
        },
        |chunk| {
            let (part, reader, tail) = check_events(chunk.reader(), frag_opts, mode);
            let outcome = Outcome {
                clean: !tail.stopped,
                end: reader.offset(),
                end_db: reader.db(),
                eof: tail.eof.map(|(at, _)| at),
            };
            ((part, tail.keys, tail.libraries), outcome)
        },
        |(part, keys, libs), start_db| {
            let fix = |db: u64| if db == UNKNOWN_DB { start_db } else { db };
            // A library of a name seen before: the walk reports it.
            let mut names = library_names.borrow_mut();
            if !libs.into_iter().all(|h| names.insert(h)) {
                return false;
            }
            // A duplicate key: the walk reports it (with the key).
            let seen = keys_seen.get_or_insert_with(|| {
                KeySet::with_capacity(usize::try_from(hint.get().unwrap_or(0)).unwrap_or(0))
            });
            if !keys.iter().all(|&(db, h)| seen.insert(with_db(fix(db), h))) {
                return false;
            }
            absorb(&mut body, part, fix);
            true
        },
    )?;
    let mut rep = head;
    absorb(&mut rep, body, |db| db);
    // One database warning, the first (as the walk's framing thread gives).
    let mut warned = false;
    rep.problems
        .retain(|p| !is_db_warning(p) || !std::mem::replace(&mut warned, true));
    rep.problems.sort_by_key(|p| p.offset);
    dedupe_file_warnings(&mut rep.problems);
    rep.checksum = Some(end.checksum);
    rep.end_offset = Some(end.end);
    if opts.count_trailing {
        let tail = m.data.get(end.end as usize..).unwrap_or_default();
        let resp = tail_is_resp(&tail[..tail.len().min(TAIL_PEEK)]);
        note_trailing(&mut rep, end.end, tail.len() as u64, resp);
    }
    Some(rep)
}

/// Confirms on the key bytes the duplicate keys that `rep` reports on a hash
/// alone ([`Report::unconfirmed_duplicates`]), reading the keys of the same
/// RDB again from `reader` (at its magic; values are only framed) up to the
/// last one reported: one whose name differs from every earlier key of its
/// database with the same hash (a collision of two distinct keys, about
/// n²/2⁶⁵ for n keys) is withdrawn from the report. Memory: the names of the
/// keys that share a hash with a reported one. On an error (the input is not
/// the one checked) the report is left as it is.
pub fn confirm_duplicates<R: Input>(rep: &mut Report, src: Source<R>) -> Result<(), Error> {
    let Some(&(last, _)) = rep.unconfirmed_duplicates.last() else {
        return Ok(());
    };
    let mut reader = Reader::with_options(
        src,
        Options {
            verify_checksum: false,
            frame_only: true,
        },
    );
    // (A key set keeps hashes 0 and 1 as one.)
    let hashes: HashSet<u64> = rep
        .unconfirmed_duplicates
        .iter()
        .map(|&(_, h)| h.max(1))
        .collect();
    let mut names: HashSet<(u64, Box<[u8]>)> = HashSet::new();
    let mut confirmed: HashSet<u64> = HashSet::new();
    while let Some(ev) = reader.next_event()? {
        if let Event::KeyStart(k) = ev {
            if k.offset > last {
                break;
            }
            if hashes.contains(&key_hash(k.db, k.key).max(1)) && !names.insert((k.db, k.key.into()))
            {
                confirmed.insert(k.offset);
            }
            reader.skip_value()?;
        }
    }
    let withdrawn: HashSet<u64> = std::mem::take(&mut rep.unconfirmed_duplicates)
        .into_iter()
        .map(|(at, _)| at)
        .filter(|at| !confirmed.contains(at))
        .collect();
    if !withdrawn.is_empty() {
        let kept = rep.problems.len();
        rep.problems
            .retain(|p| !(withdrawn.contains(&p.offset) && is_duplicate(p)));
        let uncounted = (withdrawn.len() - (kept - rep.problems.len())) as u64;
        if uncounted > 0 {
            if let Some(n) = rep.problems_dropped.get_mut(&ProblemKind::Corrupt) {
                *n -= uncounted.min(*n);
                if *n == 0 {
                    rep.problems_dropped.remove(&ProblemKind::Corrupt);
                }
            }
        }
    }
    Ok(())
}

/// True for a duplicate key problem ([`duplicate_key`]).
fn is_duplicate(p: &Problem) -> bool {
    p.severity == Severity::Error
        && p.key.is_some()
        && p.message.starts_with("duplicate key in db ")
}

/// True for the "database above 15" warning.
fn is_db_warning(p: &Problem) -> bool {
    p.severity == Severity::Warning && p.key.is_none() && p.message.starts_with("database ")
}

/// Keeps the first of identical warnings outside keys (`problems` in file
/// order): each chunk of a parallel check gives the once-per-reader warnings
/// (a skipped Redis Enterprise opcode) that a walk gives once.
fn dedupe_file_warnings(problems: &mut Vec<Problem>) {
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| {
        p.severity != Severity::Warning || p.key.is_some() || seen.insert(p.message.clone())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Memory;

    /// An RDB 9 file of string keys `names` in database 0, and the offset
    /// of each key.
    fn file(names: &[&[u8]]) -> (Vec<u8>, Vec<u64>) {
        let mut b = b"REDIS0009\xfe\x00".to_vec();
        let mut at = Vec::new();
        for k in names {
            at.push(b.len() as u64);
            b.push(0);
            b.push(k.len() as u8);
            b.extend_from_slice(k);
            b.extend_from_slice(b"\x01v");
        }
        b.push(0xff);
        let c = crate::io::crc64(&b);
        b.extend_from_slice(&c.to_le_bytes());
        (b, at)
    }

    #[test]
    fn a_hash_collision_is_withdrawn_and_a_duplicate_kept() {
        let (data, at) = file(&[b"a", b"b", b"a", b"c"]);
        let src = || Source::new(Memory(&data)).with_size(data.len() as u64);
        let (mut rep, _) = check(Reader::new(src()), CheckOptions::default());
        assert_eq!(rep.unconfirmed_duplicates, [(at[2], key_hash(0, b"a"))]);
        // What a collision of "c" with "b" would have reported.
        rep.add(Problem {
            offset: at[3],
            ..rep.problems[0].clone()
        });
        rep.unconfirmed_duplicates.push((at[3], key_hash(0, b"b")));
        confirm_duplicates(&mut rep, src()).unwrap();
        assert!(rep.unconfirmed_duplicates.is_empty());
        assert_eq!(rep.problems.len(), 1);
        assert_eq!(rep.problems[0].offset, at[2]);
        assert_eq!(rep.problems[0].key.as_deref(), Some(b"a".as_slice()));
        // One only counted (past the cap) is uncounted.
        rep.problems_dropped.insert(ProblemKind::Corrupt, 1);
        rep.unconfirmed_duplicates = vec![(at[2], key_hash(0, b"a")), (at[3], key_hash(0, b"b"))];
        confirm_duplicates(&mut rep, src()).unwrap();
        assert!(rep.problems_dropped.is_empty());
        assert_eq!(rep.problems.len(), 1);
    }
}
