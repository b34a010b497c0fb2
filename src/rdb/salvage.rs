//! Salvage: reading a damaged RDB past its damage and writing every record that
//! survived to a new RDB the server loads ([`salvage`]).
//!
//! The input is in memory (a mapped file), which lets the search for the next
//! good record look ahead without copies. Records are read one at a time with
//! the validating [`Reader`] (as deep as `sanitize-dump-payload yes`):
//!
//! * a record that validates is kept: by default its bytes are copied as they
//!   are (same version, same flavour, same encodings: nothing is re-encoded, so
//!   nothing can be invented), or, with a target version ([`Target::Rewrite`]),
//!   re-encoded by the [`super::writer`];
//! * a key whose value fails validation but whose record can still be framed
//!   (its lengths are intact and the records after it parse) is dropped alone
//!   and reported with its byte range ([`LostKey`]);
//! * damage to the structure (a bad length, opcode or type byte) is skipped by
//!   resynchronising: from the byte after the record that failed, the first
//!   position where [`RESYNC_KEYS`] whole key records in a row validate (or
//!   fewer followed by the end of the records) is where reading goes on
//!   ([`Skipped`]); the names of the key records that can still be framed in the
//!   skipped range are reported;
//! * a truncated file keeps every complete record; a file whose trailer does not
//!   match keeps every record that validates, and the report says so.
//!
//! As the server's loader does: empty aggregates are dropped (Redis skips them
//! when loading); of duplicate keys the first is kept (or the last,
//! [`Duplicates::Last`]) where Redis would refuse the file; already-expired keys
//! are kept as they are (the loader drops them itself against its own clock when
//! it loads the output as a master, and keeps them on a replica).
//!
//! A run of zero bytes parses as records (type 0, empty key, empty value): a
//! zero-filled page is a common crash artefact, so two such records in a row are
//! taken as damage, never as keys.
//!
//! Memory: the input is read in place; one value (the largest) is held when
//! re-encoding; duplicate detection keeps a 128-bit hash per key.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use serde::Serialize;

use super::dups::DupSet;
use super::reader::{Event, Options, Reader};
use super::types::Format;
use super::writer::{WriteError, Writer, WriterOptions};
use super::{Entries, Error, ErrorKind, Item};
use crate::io::{Crc64, Memory, Progress, Source};

/// Whole key records that must validate in a row after a position for reading
/// to resume there (fewer when the end of the records follows them).
pub const RESYNC_KEYS: usize = 6;

/// Longest key name read while looking for where records resume (as written).
const PROBE_KEY_LIMIT: u64 = 64 << 10;

/// Longest key name (as written) of a record where reading may resume: chance
/// bytes taken for a long key can swallow real records.
const RESYNC_KEY_LIMIT: u64 = 1024;

/// Key record types whose first record where reading resumes is dropped
/// unless its place is confirmed ([`uncertain_record`]): strings and the
/// plain aggregates (a count, then strings), which chance bytes frame easily;
/// the compact encodings validate their own structure deeply.
const LOOSE_TYPES: u8 = 5;

/// Records dropped in a row as uncertain after one damage ([`uncertain_record`]).
const MAX_UNCERTAIN: u32 = 3;

/// Bytes of a skipped range searched for key names that can still be framed.
const NAME_SCAN: u64 = 1 << 20;

/// Largest key record a search for where reading resumes validates (a larger
/// one that frames is validated by the walk, when reading resumes on it).
const PROBE_VALIDATE_LIMIT: u64 = 4 << 20;

/// Bytes searched for where records read again between two calls of
/// [`Progress::scanned`].
const SCAN_STEP: u64 = 1 << 20;

/// Which of two records of the same key to keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplicates {
    /// The first in file order (the default).
    #[default]
    First,
    /// The last in file order.
    Last,
}

/// What the output is.
#[derive(Clone, Debug, Default)]
pub enum Target {
    /// The input's version and flavour: kept records are copied byte for byte.
    #[default]
    Copy,
    /// Every kept record re-encoded by the RDB writer with these options.
    Rewrite(WriterOptions),
}

/// Salvage settings.
#[derive(Clone, Debug, Default)]
pub struct SalvageOptions {
    /// Which duplicate to keep.
    pub duplicates: Duplicates,
    /// What to write.
    pub target: Target,
    /// List the input byte range of every key record written, in output order
    /// ([`Report::kept_ranges`]; 16 bytes per key: for tests and tools that
    /// trace each output key to its input bytes).
    pub kept_ranges: bool,
}

/// A key that was not kept (or, as a [`ChangedKey`], kept but maybe changed).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LostKey {
    /// Database (as selected where the record was; after a resynchronisation,
    /// the one selected before the damage).
    pub db: u64,
    /// The key name (exact bytes).
    #[serde(skip)]
    pub key: Vec<u8>,
    /// RDB type byte, when read.
    pub rdb_type: Option<u8>,
    /// Byte range of its record in the input (`end` exclusive).
    pub start: u64,
    /// End of the range.
    pub end: u64,
    /// Why it was lost (for a changed key: what may have changed, and why).
    pub reason: String,
}

/// A key kept that the damage may have changed: the database it was written
/// in, its name, its type byte (always read), its record's byte range in the
/// input, and what may have changed.
pub type ChangedKey = LostKey;

/// Why the first key record read after damage is reported changed.
const PREFIX_DOUBT: &str = "kept without any expire, LRU or LFU it may have had: the bytes \
                            before it were damaged (a key's expire comes right before its type)";

/// A byte range of the input that was skipped.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Skipped {
    /// First byte skipped.
    pub start: u64,
    /// First byte read again (exclusive end).
    pub end: u64,
    /// The error that started it.
    pub reason: String,
    /// Whether the damage is a format this reader does not support (a newer
    /// type), not corruption.
    pub unsupported: bool,
}

/// The trailer of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum TrailerStatus {
    /// Present and matching.
    Ok,
    /// Stored as zero (`rdbchecksum no`).
    Disabled,
    /// RDB version below 5: no checksum.
    Absent,
    /// The stored checksum does not match the bytes.
    Mismatch {
        /// The stored value.
        stored: u64,
        /// The value computed from the bytes.
        computed: u64,
    },
    /// No `EOF` record was reached (truncated or damaged end).
    Missing,
}

/// What a salvage did.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The input's magic.
    pub format: Format,
    /// The input's RDB version.
    pub rdb_version: u32,
    /// The output's RDB version.
    pub output_version: u32,
    /// Keys written to the output.
    pub keys_kept: u64,
    /// Non-key records kept (aux fields, functions, module aux, slot info);
    /// database selectors and sizes are not counted.
    pub records_kept: u64,
    /// Keys lost, in file order (duplicates and empty aggregates are not here).
    pub keys_lost: Vec<LostKey>,
    /// Keys kept that the damage may have changed, in file order: the first
    /// key record read where reading resumed after damage, with no expire of
    /// its own (an expire, LRU or LFU prefix before it was in the damaged
    /// bytes, or not: nothing says).
    pub keys_changed: Vec<ChangedKey>,
    /// Byte ranges skipped, in file order.
    pub skipped: Vec<Skipped>,
    /// Other records of a duplicate key dropped.
    pub duplicates_dropped: u64,
    /// Empty aggregates dropped (as the server's loader does).
    pub empty_dropped: u64,
    /// Non-key records that could not be written to the target version.
    pub records_dropped: u64,
    /// The input's trailer.
    pub trailer: TrailerStatus,
    /// Bytes after the input's trailer (ignored, as the server does).
    pub trailing_bytes: u64,
    /// Bytes of output written.
    pub output_bytes: u64,
    /// With [`SalvageOptions::kept_ranges`]: the input range of each key record
    /// written, in output order.
    #[serde(skip)]
    pub kept_ranges: Option<Vec<(u64, u64)>>,
    /// The input's 9-byte header was damaged: what was read in its place.
    pub header: Option<HeaderGuess>,
}

/// A damaged RDB header and what the salvage took it for ([`guess_header`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeaderGuess {
    /// The input's first 9 bytes, escaped.
    pub found: String,
    /// The flavour taken.
    pub format: Format,
    /// The version taken.
    pub version: u32,
    /// How the version was chosen.
    pub how: String,
}

impl Report {
    /// True when nothing of the input was lost or doubtful: no key lost or
    /// changed, no range skipped, the trailer present and not mismatched.
    pub fn is_clean(&self) -> bool {
        self.header.is_none()
            && self.keys_lost.is_empty()
            && self.keys_changed.is_empty()
            && self.skipped.is_empty()
            && !matches!(
                self.trailer,
                TrailerStatus::Mismatch { .. } | TrailerStatus::Missing
            )
    }
}

/// Why a salvage could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SalvageError {
    /// The header cannot be read: nothing says how to read the rest.
    #[error("cannot read the RDB header: {0}")]
    Header(#[source] Error),
    /// Writing the output failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Writing the output failed.
    #[error("write error: {0}")]
    Io(#[from] std::io::Error),
}

/// Salvages the RDB in `data` to `out` (see the module documentation).
/// `progress` receives the input offset as records are read.
pub fn salvage<W: Write>(
    data: &[u8],
    out: W,
    opts: &SalvageOptions,
    progress: &dyn Progress,
) -> Result<Report, SalvageError> {
    let mut hdr = Reader::with_options(
        Source::new(Memory(data)).with_size(data.len() as u64),
        Options {
            verify_checksum: false,
            frame_only: false,
        },
    );
    let (format, version, guessed) = match hdr.next_event() {
        Ok(Some(Event::Header { format, version })) => (format, version, None),
        Ok(_) => {
            return Err(SalvageError::Header(Error::corrupt(0, "no RDB header")));
        }
        Err(e) => match guess_header(data) {
            Some(g) => (g.format, g.version, Some(g)),
            None => return Err(SalvageError::Header(e)),
        },
    };
    let body = if guessed.is_some() { 9 } else { hdr.offset() };
    drop(hdr);
    let last = if opts.duplicates == Duplicates::Last {
        // A first pass finds the last good record of each key.
        let mut last = HashMap::new();
        let mut sink: Output<std::io::Sink> = Output::Null;
        walk(
            data,
            (format, version, body),
            &mut sink,
            &mut Keep::Collect(&mut last),
            progress,
            false,
        )?;
        Some(last)
    } else {
        None
    };
    let mut sink = match &opts.target {
        Target::Copy => {
            let mut w = CrcWriter {
                out,
                crc: Crc64::new(),
                written: 0,
            };
            match &guessed {
                Some(g) => w.write(g.format.magic(g.version).as_bytes())?,
                None => w.write(&data[..body as usize])?,
            }
            Output::Copy(Box::new(w), version, 0)
        }
        Target::Rewrite(wo) => Output::Rewrite(Box::new(Writer::new(out, wo.clone())?)),
    };
    let output_version = match &sink {
        Output::Rewrite(w) => w.options().version,
        _ => version,
    };
    let mut keep = match &last {
        Some(l) => Keep::Last(l),
        None => Keep::First(BTreeMap::new()),
    };
    let mut rep = walk(
        data,
        (format, version, body),
        &mut sink,
        &mut keep,
        progress,
        opts.kept_ranges,
    )?;
    rep.output_version = output_version;
    rep.output_bytes = sink.finish()?;
    rep.header = guessed;
    Ok(rep)
}

/// Bytes of the header that may differ from an RDB header's shape
/// (`REDIS` + 4 digits, `VALKEY` + 3 digits) for it to be taken as damaged:
/// at most [`MAGIC_DAMAGE`] of its letters, the rest among its digits.
const HEADER_DAMAGE: usize = 5;

/// Letters of `REDIS` / `VALKEY` that may differ in a damaged header.
const MAGIC_DAMAGE: usize = 2;

/// Key records whose framing, from byte 9, scores a candidate version.
const HEADER_PROBE_KEYS: usize = 64;

/// An RDB whose 9-byte header is damaged: its first bytes are within
/// [`HEADER_DAMAGE`] bytes of an RDB header's shape (a changed letter, a
/// version digit that is not one), or that shape with version 0; and the
/// records after it frame as an RDB's. `None` for an intact header, a newer
/// version than this one reads (unsupported, not damage), or bytes that are
/// not an RDB's. The version is one of the known versions under which the
/// most records frame (up to [`HEADER_PROBE_KEYS`] keys): the one its digits
/// say when they are all intact, else the one the server named by the
/// `redis-ver` (or `valkey-ver`) aux field writes, else the newest the
/// intact digits allow, else the newest.
pub fn guess_header(data: &[u8]) -> Option<HeaderGuess> {
    let head = data.get(..9)?;
    let shape = |magic: &[u8]| {
        let off = magic.iter().zip(head).filter(|(a, b)| a != b).count();
        let digits = &head[magic.len()..];
        off + digits.iter().filter(|b| !b.is_ascii_digit()).count()
    };
    let letters = |magic: &[u8]| magic.iter().zip(head).filter(|(a, b)| a != b).count();
    let (format, magic, dist) = [
        (Format::Redis, b"REDIS".as_slice()),
        (Format::Valkey, b"VALKEY".as_slice()),
    ]
    .into_iter()
    .filter(|(_, m)| letters(m) <= MAGIC_DAMAGE)
    .map(|(f, m)| (f, m, shape(m)))
    .min_by_key(|&(_, _, d)| d)?;
    let digits = &head[magic.len()..];
    let written = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse::<u32>().ok());
    if dist > HEADER_DAMAGE || (dist == 0 && written != Some(0)) {
        return None;
    }
    let known: Vec<u32> = match format {
        Format::Redis => (1..=super::types::NEWEST_REDIS).collect(),
        Format::Valkey => (super::types::VALKEY_9..=super::types::NEWEST_VALKEY).collect(),
    };
    // Whether the digits that are digits allow version `v`.
    let fits = |v: u32| {
        let s = format!("{v:0width$}", width = digits.len());
        s.bytes()
            .zip(digits)
            .all(|(a, &b)| !b.is_ascii_digit() || a == b)
    };
    let scored: Vec<(u32, usize)> = known
        .iter()
        .map(|&v| (v, frame_score(data, format, v)))
        .collect();
    let best = scored.iter().map(|&(_, n)| n).max()?;
    if best < 3 {
        return None;
    }
    let tied: Vec<u32> = scored
        .iter()
        .filter(|&&(_, n)| n == best)
        .map(|&(v, _)| v)
        .collect();
    let newest_fit = tied.iter().rev().copied().find(|&v| fits(v));
    let (version, how) = if let Some(v) = written.filter(|v| tied.contains(v)) {
        (v, "the version its digits say")
    } else if tied.len() == 1 {
        (tied[0], "the only version under which its records read")
    } else if let Some(h) = aux_version(data, format).filter(|h| tied.contains(h)) {
        (h, "the version the server named in its aux fields writes")
    } else if let Some(v) = newest_fit {
        (v, "the newest version its intact digits allow")
    } else {
        (
            *tied.last()?,
            "the newest version under which its records read",
        )
    };
    let how = how.to_owned();
    Some(HeaderGuess {
        found: super::escape_short(head),
        format,
        version,
        how,
    })
}

/// Records (of any kind) that frame from byte 9 as version `version`, up to
/// [`HEADER_PROBE_KEYS`] keys; the end of the records at the end of the file
/// counts for more.
fn frame_score(data: &[u8], format: Format, version: u32) -> usize {
    let mut r = reader_with(data, 9, format, version, 0, true);
    r.limit_keys(PROBE_KEY_LIMIT);
    let (mut events, mut keys) = (0usize, 0usize);
    loop {
        match r.next_event() {
            Ok(Some(Event::KeyStart(_))) => {
                if r.skip_value().is_err() {
                    return events;
                }
                events += 1;
                keys += 1;
                if keys >= HEADER_PROBE_KEYS {
                    return events;
                }
            }
            Ok(Some(Event::Eof { end, .. })) => {
                return events + if end == data.len() as u64 { 1000 } else { 0 };
            }
            Ok(Some(_)) => events += 1,
            Ok(None) | Err(_) => return events,
        }
    }
}

/// The RDB version the server named in the aux fields after byte 9 writes
/// (`redis-ver`, or `valkey-ver`: Valkey 7.2 and 8 write RDB 11, Valkey 9
/// its own version 80).
fn aux_version(data: &[u8], format: Format) -> Option<u32> {
    let newest = match format {
        Format::Redis => super::types::NEWEST_REDIS,
        Format::Valkey => super::types::NEWEST_VALKEY,
    };
    let mut r = reader_with(data, 9, format, newest, 0, true);
    let (mut redis, mut valkey) = (None, None);
    for _ in 0..64 {
        match r.next_event() {
            Ok(Some(Event::Aux { name, value })) => {
                let v = std::str::from_utf8(value).ok().and_then(|v| {
                    let mut p = v.split('.').map(str::parse::<u32>);
                    Some((p.next()?.ok()?, p.next()?.ok()?))
                });
                match name {
                    b"redis-ver" => redis = v,
                    b"valkey-ver" => valkey = v,
                    _ => {}
                }
            }
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    match (format, valkey, redis) {
        (Format::Valkey, Some((9.., _)), _) => Some(super::types::VALKEY_9),
        // (Valkey 7.2 and 8 write `REDIS0011`.)
        (Format::Redis, Some((7 | 8, _)), _) => Some(11),
        (Format::Redis, None, Some(v)) => Some(match v {
            (..=2, _) | (3, 0..=1) => 6,
            (3, _) => 7,
            (4, _) => 8,
            (5 | 6, _) => 9,
            (7, 0..=1) => 10,
            (7, 2..=3) => 11,
            (7, _) | (8, 0..=3) => 12,
            _ => 13,
        }),
        _ => None,
    }
}

/// The fast path of an input that is not damaged: `check-rdb`'s checker
/// (its guessed-chunk pass, [`super::check::check_guessed`], on `threads`
/// threads over the mapped file `m`, duplicate keys detected with a 64-bit
/// hash per key) reads it whole and finds nothing at all to report: no problem
/// (warnings included), a CRC-64 trailer that matches, nothing after it, no
/// empty aggregate. The salvage of such a file is the file itself, byte for
/// byte (every record kept as it is, and the fresh CRC is the stored one):
/// returned is the report of that salvage, whose `output_bytes` is the length
/// of the input. `None`: the input needs [`salvage`].
///
/// (The guessed pass stops at the first damage it meets, where `check-rdb`
/// would read the file again to say what is wrong: [`salvage`] says that. A
/// file the guessed pass cannot cut, one without keys say, goes to [`salvage`]
/// too, whose output is then the same bytes.)
pub fn undamaged(m: super::parallel::Mapped<'_>, threads: usize) -> Option<Report> {
    use super::check::{CheckOptions, check_guessed};
    use super::reader::Checksum;
    let opts = CheckOptions {
        count_trailing: true,
        ..CheckOptions::default()
    };
    let c = check_guessed(m, opts, threads)?;
    let clean = c.is_ok()
        && c.problems.is_empty()
        && c.checksum == Some(Checksum::Ok)
        && c.end_offset == Some(m.data.len() as u64)
        && c.trailing_bytes.unwrap_or(0) == 0
        && c.empty_keys == 0;
    if !clean {
        return None;
    }
    let (format, version) = (c.format?, c.rdb_version?);
    Some(Report {
        format,
        rdb_version: version,
        output_version: version,
        keys_kept: c.keys,
        records_kept: c.aux.len() as u64
            + c.functions
            + c.module_aux.values().sum::<u64>()
            + c.slot_info.0
            + c.slot_import_count,
        keys_lost: Vec::new(),
        keys_changed: Vec::new(),
        skipped: Vec::new(),
        duplicates_dropped: 0,
        empty_dropped: 0,
        records_dropped: 0,
        trailer: TrailerStatus::Ok,
        trailing_bytes: 0,
        output_bytes: m.data.len() as u64,
        kept_ranges: None,
        header: None,
    })
}

/// The duplicate policy while walking.
enum Keep<'a> {
    /// Keep the first record of each key.
    First(BTreeMap<u64, DupSet>),
    /// First pass of [`Duplicates::Last`]: note the last good record of each key.
    Collect(&'a mut HashMap<(u64, u128), u64>),
    /// Keep the record noted by the first pass.
    Last(&'a HashMap<(u64, u128), u64>),
}

impl Keep<'_> {
    /// Whether the record of `key` at `offset` is the one to keep.
    fn keep(&mut self, db: u64, key: &[u8], offset: u64) -> bool {
        match self {
            Keep::First(sets) => sets.entry(db).or_default().insert_bytes(key),
            Keep::Collect(map) => {
                map.insert((db, xxhash_rust::xxh3::xxh3_128(key)), offset);
                true
            }
            Keep::Last(map) => map.get(&(db, xxhash_rust::xxh3::xxh3_128(key))) == Some(&offset),
        }
    }
}

/// Writes through the CRC-64 of the output.
struct CrcWriter<W> {
    out: W,
    crc: Crc64,
    written: u64,
}

impl<W: Write> CrcWriter<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.crc.update(b);
        self.written += b.len() as u64;
        self.out.write_all(b)
    }
}

/// Where kept records go.
enum Output<W: Write> {
    /// Nowhere (the first pass of [`Duplicates::Last`]).
    Null,
    /// Copied byte for byte; the input's version; the database selected in
    /// the output.
    Copy(Box<CrcWriter<W>>, u32, u64),
    /// Re-encoded.
    Rewrite(Box<Writer<W>>),
}

/// A record to keep, as the walk found it.
struct Record<'a> {
    bytes: &'a [u8],
    /// A key record (else an opcode record, after which `db` is selected).
    key: bool,
    db: u64,
    format: Format,
    version: u32,
}

impl<W: Write> Output<W> {
    /// Writes a kept record. `Ok(Some(reason))` when the target cannot hold it.
    fn record(&mut self, rec: &Record<'_>) -> Result<Option<String>, SalvageError> {
        match self {
            Output::Null => Ok(None),
            Output::Copy(w, _, out_db) => {
                if !rec.key {
                    *out_db = rec.db;
                } else if rec.db != *out_db {
                    // Its SELECTDB was in a skipped range.
                    let mut sel = vec![super::types::OP_SELECTDB];
                    super::writer::put_len(&mut sel, rec.db);
                    w.write(&sel)?;
                    *out_db = rec.db;
                }
                w.write(rec.bytes)?;
                Ok(None)
            }
            Output::Rewrite(w) => {
                let src = Source::new(Memory(rec.bytes)).with_size(rec.bytes.len() as u64);
                let reader = Reader::for_fragment_with(
                    src,
                    rec.format,
                    rec.version,
                    rec.db,
                    Options {
                        verify_checksum: false,
                        frame_only: false,
                    },
                );
                let mut entries = Entries::new(reader);
                let item = match entries.next_item() {
                    Ok(Some(item)) => item,
                    Ok(None) => return Ok(None),
                    Err(e) => return Ok(Some(e.message())),
                };
                let r = match item {
                    Item::Entry(e) => w.write_entry(&e),
                    Item::Function(f) => w.write_function(&f),
                    Item::ModuleAux { module, when } => w.write_module_aux(&module, when),
                    // The writer writes its own aux fields and database
                    // selectors.
                    _ => Ok(()),
                };
                match r {
                    Ok(()) => Ok(None),
                    Err(e @ (WriteError::Unrepresentable { .. } | WriteError::Invalid { .. })) => {
                        Ok(Some(e.to_string()))
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Ends the output; returns the bytes written.
    fn finish(self) -> Result<u64, SalvageError> {
        match self {
            Output::Null => Ok(0),
            Output::Copy(mut w, version, _) => {
                w.write(&[super::types::OP_EOF])?;
                if version >= 5 {
                    let crc = w.crc.value();
                    w.out.write_all(&crc.to_le_bytes())?;
                    w.written += 8;
                }
                w.out.flush()?;
                Ok(w.written)
            }
            Output::Rewrite(w) => {
                let n = w.bytes_written() + 9;
                w.finish()?;
                Ok(n)
            }
        }
    }
}

/// A reader of the records from `pos` on (absolute offsets), validating.
fn reader_at(data: &[u8], pos: u64, format: Format, version: u32, db: u64) -> Reader<Memory<'_>> {
    reader_with(data, pos, format, version, db, false)
}

fn reader_with(
    data: &[u8],
    pos: u64,
    format: Format,
    version: u32,
    db: u64,
    frame_only: bool,
) -> Reader<Memory<'_>> {
    let src = Source::new(Memory(&data[pos as usize..]))
        .with_size(data.len() as u64)
        .with_start_offset(pos);
    Reader::for_fragment_with(
        src,
        format,
        version,
        db,
        Options {
            verify_checksum: false,
            frame_only,
        },
    )
}

/// A key record of zero bytes only (type 0, empty key, empty value).
fn zero_record(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

/// Whether the module id at `at` (a length-encoded 64-bit number: a 9-character
/// name of 6-bit symbols, then a 10-bit version) can be a real module's: chance
/// bytes give small ids, whose names start with `AA`.
fn plausible_module(data: &[u8], at: u64) -> bool {
    let at = at as usize;
    let id = match data.get(at) {
        Some(0x80) => data.get(at + 1..at + 5).map_or(0, |b| {
            u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }),
        Some(0x81) => data
            .get(at + 1..at + 9)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_be_bytes),
        _ => 0,
    };
    id >> 52 != 0
}

/// Whether the byte at `at` is the opcode of a key's prefix: an expire, an
/// LRU idle time, an LFU counter, or (Redis 8.6) key metadata.
fn key_prefix_at(data: &[u8], at: u64, format: Format) -> bool {
    use super::types::{OP_EXPIRETIME, OP_EXPIRETIME_MS, OP_F3, OP_FREQ, OP_IDLE};
    usize::try_from(at)
        .ok()
        .and_then(|a| data.get(a))
        .is_some_and(|&b| {
            matches!(b, OP_EXPIRETIME_MS | OP_EXPIRETIME | OP_IDLE | OP_FREQ)
                || (b == OP_F3 && format == Format::Redis)
        })
}

/// Whether a record may start with byte `b`: a value type or an opcode.
fn plausible_start(b: u8) -> bool {
    matches!(b, 0..=5 | 7 | 9..=27 | 0xf4..=0xff)
}

/// A kept key record (or aux field, or function library) not yet written: it
/// is written once the record after it reads (a damaged length can frame a
/// record across the real ones after it and still validate; the failure of
/// the next record then shows it, and reading resumes inside it).
struct Pending {
    start: u64,
    end: u64,
    db: u64,
    /// The key name (an aux field's name, a library's first line).
    key: Vec<u8>,
    /// The type byte (the opcode of a record that is no key).
    rdb_type: u8,
    /// Not a key record: an aux field or a function library.
    aux: bool,
    /// The first key record read where reading resumed after damage, with
    /// no expire of its own ([`PREFIX_DOUBT`]).
    after_damage: bool,
}

/// The walk: reads every record, keeps what validates, skips damage.
fn walk<W: Write>(
    data: &[u8],
    (format, version, body): (Format, u32, u64),
    out: &mut Output<W>,
    keep: &mut Keep<'_>,
    progress: &dyn Progress,
    kept_ranges: bool,
) -> Result<Report, SalvageError> {
    let len = data.len() as u64;
    let mut rep = Report {
        format,
        rdb_version: version,
        output_version: version,
        keys_kept: 0,
        records_kept: 0,
        keys_lost: Vec::new(),
        keys_changed: Vec::new(),
        skipped: Vec::new(),
        duplicates_dropped: 0,
        empty_dropped: 0,
        records_dropped: 0,
        trailer: TrailerStatus::Missing,
        trailing_bytes: 0,
        output_bytes: 0,
        kept_ranges: None,
        header: None,
    };
    if kept_ranges {
        rep.kept_ranges = Some(Vec::new());
    }
    let mut pos = body;
    let mut db = 0u64;
    let mut last_progress = 0u64;
    // The CRC-64 of the input, taken as reading goes (the bytes are those
    // just read: the trailer is checked without a second pass over the file).
    let mut crc = RunningCrc::new(progress);
    let mut pending: Option<Pending> = None;
    let mut libraries = super::check::Libraries::default();
    // Where reading resumed after a run of hash fields was skipped
    // ([`past_fields`]): a failure right there is still in that hash.
    let mut after_fields: Option<u64> = None;
    // Where reading resumed after damage, until the first key record read
    // there is decided ([`uncertain_record`]).
    let mut uncertain: Option<u64> = None;
    // Where reading resumed after damage (until the first key record read
    // there), and where that damage started: that record is dropped too
    // when it is the tail of a value starting in the damage ([`value_tail`]).
    let mut resumed: Option<u64> = None;
    let mut damage_from = 0u64;
    let mut drops = 0u32;
    // Where reading resumed after damage: a key record read right there
    // may have lost its expire / LRU / LFU prefix ([`PREFIX_DOUBT`]).
    let mut after_damage: Option<u64> = None;
    // The last key record kept before the one pending, since the last damage
    // ([`framed_across`]).
    let mut kept_before: Option<(u64, u64)> = None;
    // Key records read in the database selected last, and the number of
    // keys its `RESIZEDB` announced ([`selector_tail`]).
    let (mut db_keys, mut db_hint) = (0u64, None::<u64>);
    // Damage since the database was selected, and where reading resumed
    // after it; whether the database is uncertain ([`uncertain_db`]); the end
    // of a `SELECTDB` with no `RESIZEDB` after it yet, and the database
    // selected before it.
    let (mut db_damaged, mut resume_at, mut db_doubt) = (false, 0u64, false);
    let mut bare_selector: Option<(u64, u64)> = None;
    let commit = |p: Option<Pending>, out: &mut Output<W>, rep: &mut Report| {
        let Some(p) = p else {
            return Ok::<(), SalvageError>(());
        };
        let rec = Record {
            bytes: &data[p.start as usize..p.end as usize],
            key: !p.aux,
            db: p.db,
            format,
            version,
        };
        match out.record(&rec)? {
            None if p.aux => rep.records_kept += 1,
            Some(_) if p.aux => rep.records_dropped += 1,
            None => {
                rep.keys_kept += 1;
                if let Some(r) = &mut rep.kept_ranges {
                    r.push((p.start, p.end));
                }
                if p.after_damage {
                    rep.keys_changed.push(ChangedKey {
                        db: p.db,
                        key: p.key,
                        rdb_type: Some(p.rdb_type),
                        start: p.start,
                        end: p.end,
                        reason: PREFIX_DOUBT.into(),
                    });
                }
            }
            Some(reason) => rep.keys_lost.push(LostKey {
                db: p.db,
                key: p.key,
                rdb_type: Some(p.rdb_type),
                start: p.start,
                end: p.end,
                reason,
            }),
        }
        Ok(())
    };
    'outer: while pos < len {
        let mut r = reader_at(data, pos, format, version, db);
        loop {
            let start = r.offset();
            if start.saturating_sub(last_progress) >= 1 << 20 {
                crc.to(data, start);
                progress.set_position(start);
                last_progress = start;
            }
            let failure = match r.next_event() {
                Ok(None) => {
                    pos = len;
                    break 'outer;
                }
                Ok(Some(Event::Eof { offset, end, .. })) => {
                    rep.trailer = trailer(data, offset, version, &mut crc);
                    rep.trailing_bytes = len - end;
                    pos = len;
                    break 'outer;
                }
                Ok(Some(Event::KeyStart(k))) => {
                    let (kstart, kdb, ktype) = (k.offset, k.db, k.rdb_type);
                    let has_expire = k.expire_ms.is_some();
                    let key = k.key.to_vec();
                    let kvalue = r.value_offset();
                    match skip_checked(&mut r, ktype, kstart, version) {
                        Ok(end) => {
                            let kend = r.offset();
                            let bytes = &data[kstart as usize..kend as usize];
                            if zero_record(bytes)
                                && data.get(kend as usize..kend as usize + 3) == Some(&[0, 0, 0])
                            {
                                Failure {
                                    start: kstart,
                                    key: Some((kdb, key, Some(ktype))),
                                    reason: "zero-filled bytes".into(),
                                    unsupported: false,
                                }
                            } else {
                                // A key past the number its database's size
                                // announced, right after a record whose last
                                // bytes are a `SELECTDB` and `RESIZEDB`: a
                                // length the damage made longer ran that
                                // record over the selector. It is dropped,
                                // and reading goes on in that database.
                                let over = pending
                                    .as_ref()
                                    .filter(|p| !p.aux && db_hint == Some(db_keys));
                                if let Some((d, hint)) =
                                    over.and_then(|p| selector_tail(data, p.start, p.end, db))
                                {
                                    if let Some(p) = pending.take() {
                                        over_selector(&mut rep, p);
                                    }
                                    (db, db_keys, db_hint) = (d, 0, Some(hint));
                                    pos = kstart;
                                    continue 'outer;
                                }
                                // A key past that number after damage in
                                // this database: the damage took a
                                // selector, and the keys read since then
                                // may be another database's.
                                if db_damaged && db_hint == Some(db_keys) {
                                    db_doubt = true;
                                    if let Some(p) =
                                        pending.take_if(|p| !p.aux && p.start >= resume_at)
                                    {
                                        uncertain_db(
                                            &mut rep, p.db, p.key, p.rdb_type, p.start, p.end,
                                        );
                                    }
                                }
                                bare_selector = None;
                                if let Some(p) = pending.as_ref().filter(|p| !p.aux) {
                                    kept_before = Some((p.start, p.end));
                                }
                                commit(pending.take(), out, &mut rep)?;
                                if db_doubt {
                                    uncertain_db(&mut rep, kdb, key, ktype, kstart, kend);
                                    db = r.db();
                                    continue;
                                }
                                let loose =
                                    uncertain.take() == Some(kstart) && ktype <= LOOSE_TYPES;
                                // (Whatever confirmed its place: the tail
                                // of a value that starts in the damage, or
                                // a record whose header holds a record
                                // ending where it ends, is chance bytes.)
                                let tail = resumed.take() == Some(kstart)
                                    && (value_tail(data, damage_from, kstart, kend)
                                        || ziplist_tail(data, kstart, kend)
                                        || in_expire(data, damage_from, kstart, ktype)
                                        || name_holds_name(data, kstart, kvalue)
                                        || header_holds(
                                            data,
                                            (kstart, kvalue, kend),
                                            (format, version),
                                            kdb,
                                        ));
                                let doubt = loose || tail;
                                // (Not those taken for chance bytes.)
                                db_keys += u64::from(!doubt);
                                if doubt {
                                    uncertain_record(&mut rep, kdb, key, ktype, kstart, kend);
                                    after_damage = Some(kend);
                                    // The record after it may be chance
                                    // bytes too, holding real records: where
                                    // records read again from its end.
                                    let q = next_resume(
                                        data,
                                        kend,
                                        len,
                                        (format, version),
                                        0,
                                        progress,
                                    )
                                    .unwrap_or(len);
                                    // (Not into the fields of a hash with
                                    // field TTLs: they read as records.)
                                    let q = if hash_fields_at(data, kend, format).is_some()
                                        || hash_header_in(data, kend, q, (format, version))
                                    {
                                        kend
                                    } else {
                                        q
                                    };
                                    // (Past them, where they read on as
                                    // records: [`fields_run_at`].)
                                    let q = if fields_run_at(data, q, (format, version)) {
                                        past_fields(data, q, (format, version), progress)
                                    } else {
                                        q
                                    };
                                    if q > kend {
                                        let _ =
                                            names(data, kend, q, (format, version), kdb, &mut rep);
                                        if let Some(s) = rep.skipped.last_mut() {
                                            s.end = q;
                                        }
                                        db = r.db();
                                        pos = q;
                                        after_damage = Some(q);
                                        if drops < MAX_UNCERTAIN {
                                            drops += 1;
                                            uncertain = Some(q);
                                            resumed = Some(q);
                                        }
                                        continue 'outer;
                                    }
                                } else if end.empty {
                                    rep.empty_dropped += 1;
                                } else if !keep.keep(kdb, &key, kstart) {
                                    rep.duplicates_dropped += 1;
                                } else {
                                    pending = Some(Pending {
                                        start: kstart,
                                        end: kend,
                                        db: kdb,
                                        key,
                                        rdb_type: ktype,
                                        aux: false,
                                        after_damage: after_damage == Some(kstart) && !has_expire,
                                    });
                                }
                                db = r.db();
                                continue;
                            }
                        }
                        Err(e) => Failure {
                            start: kstart,
                            key: Some((kdb, key, Some(ktype))),
                            unsupported: is_unsupported(&e),
                            reason: e.message(),
                        },
                    }
                }
                // A key's prefix (expire, LRU, LFU, key metadata) before a
                // record that is no key: a server writes one only right
                // before a key's type byte, so this is damage (copied as it
                // reads, the prefix would go to the next key written).
                Ok(Some(_)) if key_prefix_at(data, start, format) => Failure {
                    start,
                    key: None,
                    reason: "an expire, LRU, LFU or key metadata opcode before a record that \
                             is no key (a server writes one only before a key's type byte)"
                        .into(),
                    unsupported: false,
                },
                Ok(Some(ev)) => {
                    // (A key after a database selector or size where reading
                    // resumed is still the first one read there.)
                    let selector = matches!(
                        ev,
                        Event::SelectDb { .. } | Event::ResizeDb { .. } | Event::SlotInfo { .. }
                    );
                    let doubt = uncertain.take() == Some(start) && selector;
                    // (Database selectors and sizes are not counted as kept
                    // records: the output writes its own where needed.)
                    let counted = !matches!(ev, Event::SelectDb { .. } | Event::ResizeDb { .. });
                    let (select, before) = (matches!(ev, Event::SelectDb { .. }), db);
                    match ev {
                        Event::SelectDb { db: d } => {
                            (db, db_keys, db_hint) = (d, 0, None);
                            (db_damaged, db_doubt) = (false, false);
                        }
                        Event::ResizeDb { keys, .. } => {
                            db_hint = Some(keys);
                            bare_selector = None;
                        }
                        _ => {}
                    }
                    // A function library the server's loader refuses (its
                    // metadata, or a second library of a name) would make the
                    // output refused whole: it is left out, as a lost record.
                    let refused = match ev {
                        Event::Function { code } => libraries.refused(code).map(|why| {
                            let line = code.split(|&b| b == b'\n').next().unwrap_or_default();
                            (line[..line.len().min(256)].to_vec(), why)
                        }),
                        _ => None,
                    };
                    // An aux field or a function library waits for the record
                    // after it, as a key record does (its length can be
                    // damaged too: [`Pending`]).
                    let held = match ev {
                        Event::Aux { name, .. } => Some((name.to_vec(), super::types::OP_AUX)),
                        Event::Function { code } => {
                            let line = code.split(|&b| b == b'\n').next().unwrap_or_default();
                            Some((
                                line[..line.len().min(256)].to_vec(),
                                super::types::OP_FUNCTION2,
                            ))
                        }
                        _ => None,
                    };
                    let end = r.offset();
                    if select {
                        bare_selector = Some((end, before));
                    }
                    uncertain = doubt.then_some(end);
                    if resumed == Some(start) && selector {
                        resumed = Some(end);
                    }
                    commit(pending.take(), out, &mut rep)?;
                    if let Some((line, why)) = refused {
                        rep.keys_lost.push(LostKey {
                            db,
                            key: line,
                            rdb_type: None,
                            start,
                            end,
                            reason: format!(
                                "function library left out: the server's loader refuses it ({why})"
                            ),
                        });
                        continue;
                    }
                    if let Some((key, rdb_type)) = held {
                        pending = Some(Pending {
                            start,
                            end,
                            db,
                            key,
                            rdb_type,
                            aux: true,
                            after_damage: false,
                        });
                        continue;
                    }
                    let rec = Record {
                        bytes: &data[start as usize..end as usize],
                        key: false,
                        db,
                        format,
                        version,
                    };
                    match out.record(&rec)? {
                        None => rep.records_kept += u64::from(counted),
                        Some(_) => rep.records_dropped += 1,
                    }
                    continue;
                }
                Err(e) => Failure {
                    start,
                    key: e.key().map(|k| (k.db, k.key.clone(), Some(k.rdb_type))),
                    unsupported: is_unsupported(&e),
                    reason: e.message(),
                },
            };
            let from = pending.as_ref().map_or(failure.start, |p| p.start);
            let in_fields = after_fields.is_some_and(|a| a == from || a == failure.start);
            let (next, drop_pending, fields, place) = recover(
                data,
                (format, version),
                db,
                &failure,
                (pending.as_ref(), in_fields),
                &mut rep,
                progress,
            );
            after_fields = fields.then_some(next);
            uncertain = (place == Place::Uncertain).then_some(next);
            resumed = Some(next);
            after_damage = Some(next);
            damage_from = from;
            drops = 0;
            if let Some(d) = selected_in(data, from, next, format, version) {
                (db, db_keys, db_hint) = (d, 0, None);
                (db_damaged, db_doubt) = (false, false);
            } else {
                // (A selector right before the damage with no size after it,
                // where the version has one: chance bytes of the damage.)
                // (That changes the database, else nothing is in doubt.)
                db_doubt |= version >= 7
                    && bare_selector.is_some_and(|(e, before)| e == failure.start && before != db);
                db_damaged = true;
                // (A size read right before the damage, with no key after it,
                // may be damaged itself.)
                if db_keys == 0 {
                    db_hint = None;
                }
            }
            bare_selector = None;
            resume_at = next;
            // A kept record with an empty name right before a record whose
            // type byte does not read, where nothing explains that byte as
            // damage to it: chance bytes of a damaged value (the bytes after
            // a listpack's or a ziplist's header, above all), which end
            // where no record starts.
            // The same with a name the failed record has too, right after
            // it: a server writes a key once, so one of the two is chance
            // bytes (a run of empty names, above all).
            let same_name = pending.as_ref().is_some_and(|p| {
                !p.aux
                    && p.end == failure.start
                    && failure
                        .key
                        .as_ref()
                        .is_some_and(|(d, k, _)| *d == p.db && *k == p.key)
            });
            let empty_before = pending.as_ref().is_some_and(|p| {
                !p.aux
                    && p.end == failure.start
                    && failure.key.is_none()
                    && (p.key.is_empty()
                        || kept_before.is_some_and(|(s, e)| {
                            e <= p.start
                                && framed_across(data, (s, p.start), next, (format, version))
                        }))
            }) && place != Place::Exact
                || same_name;
            kept_before = None;
            // (A record dropped with the damage is not counted in its
            // database.)
            if pending.as_ref().is_some_and(|p| !p.aux) && (drop_pending || empty_before) {
                db_keys = db_keys.saturating_sub(1);
            }
            if drop_pending {
                pending = None;
            } else if let Some(p) = pending.take_if(|_| empty_before) {
                // (The skipped range, in file order, starts at its start.)
                match rep.skipped.last_mut() {
                    Some(s) if s.start == p.end => s.start = p.start,
                    _ => rep.skipped.push(Skipped {
                        start: p.start,
                        end: p.end,
                        reason: "uncertain record after damage".into(),
                        unsupported: false,
                    }),
                }
                let at = rep
                    .keys_lost
                    .iter()
                    .rposition(|k| k.start < p.start)
                    .map_or(0, |i| i + 1);
                rep.keys_lost.insert(
                    at,
                    LostKey {
                        db: p.db,
                        key: p.key,
                        rdb_type: Some(p.rdb_type),
                        start: p.start,
                        end: p.end,
                        reason: "uncertain record before damage (chance bytes of a damaged \
                             value can read as it)"
                            .into(),
                    },
                );
            } else {
                commit(pending.take(), out, &mut rep)?;
            }
            pos = next;
            continue 'outer;
        }
    }
    commit(pending.take(), out, &mut rep)?;
    progress.set_position(pos.min(len));
    Ok(rep)
}

/// Whether a key record framed from a place after the start of the key
/// record kept last, `start`, and before the record pending at `inside`
/// (within [`PROBE_KEY_LIMIT`] bytes of it) ends at `next`, where records
/// read again after the failure right after the pending record, or past it
/// where records read again too: the kept record's length, made longer by the
/// damage, ran it into a real record (the one framed, which ends where the
/// real records go on), and the pending record is chance bytes from inside
/// that real record, followed by more of them that do not read.
fn framed_across(
    data: &[u8],
    (start, inside): (u64, u64),
    next: u64,
    (format, version): (Format, u32),
) -> bool {
    let lo = (start + 1).max(inside.saturating_sub(PROBE_KEY_LIMIT));
    (lo..inside).any(|q| {
        plausible_start(data[q as usize])
            && frame_one(data, q, format, version, 0).is_some_and(|e| {
                e == next || e > next && resumes(data, e, format, version, 0).is_some()
            })
    })
}

/// Reports the first key record read where reading resumed after damage, at
/// a place nothing confirms, as lost: chance bytes of the damage (the tail of
/// a compressed string or of a ziplist, above all) can frame as a record that
/// ends exactly where a real one starts, and such a record is no key of the
/// file. The place is confirmed ([`recover`]) when the failed record's own
/// lengths end exactly there, when records framed from inside the skipped
/// range lead exactly there, or when it is within [`NEAR_END`] bytes of the
/// failure; and for a record whose type is not one of [`LOOSE_TYPES`] (its
/// compact encoding validates deeply). Whatever confirmed its place, it is
/// dropped when its bytes show they are the damaged record's own
/// ([`value_tail`], [`ziplist_tail`], [`header_holds`], [`in_expire`]). The
/// walk then looks again from its end (the record there may be chance bytes
/// holding real records), up to [`MAX_UNCERTAIN`] times.
fn uncertain_record(rep: &mut Report, db: u64, key: Vec<u8>, ty: u8, start: u64, end: u64) {
    let why = "uncertain record after damage (chance bytes of the damage can read as it)";
    let lost = (db, key, ty, start, end);
    lose_record(rep, lost, why, "uncertain record after damage", false);
}

/// Reports the key record `(db, key, type, start, end)` lost with `why` and adds
/// its bytes to the skipped ranges: to the last one when that ends where it
/// starts (with `same_reason`, only when that range's reason is `reason`), else
/// as a new range with `reason`.
fn lose_record(
    rep: &mut Report,
    (db, key, ty, start, end): (u64, Vec<u8>, u8, u64, u64),
    why: &str,
    reason: &str,
    same_reason: bool,
) {
    rep.keys_lost.push(LostKey {
        db,
        key,
        rdb_type: Some(ty),
        start,
        end,
        reason: why.into(),
    });
    match rep.skipped.last_mut() {
        Some(s) if s.end == start && (!same_reason || s.reason == reason) => s.end = end,
        _ => rep.skipped.push(Skipped {
            start,
            end,
            reason: reason.into(),
            unsupported: false,
        }),
    }
}

/// Reports a key record read where its database is uncertain as lost: after
/// damage in a database, a key past the number its `RESIZEDB` announced (a
/// server writes the exact number; not one read right before the damage), or
/// after a `SELECTDB` of another database right before damage with no
/// `RESIZEDB` after it (which a server writes from RDB version 7): the damage
/// took a selector, or the one read is chance bytes. Up to the
/// next selector (with the record before it when read after the damage);
/// nothing in the file says which database they are in.
fn uncertain_db(rep: &mut Report, db: u64, key: Vec<u8>, ty: u8, start: u64, end: u64) {
    let why = "database uncertain after damage (a database selector may be in the skipped bytes)";
    lose_record(rep, (db, key, ty, start, end), why, DB_UNCERTAIN, true);
}

/// The reason of a range skipped by [`uncertain_db`].
const DB_UNCERTAIN: &str = "database uncertain after damage";

/// Reports the record `p`, whose last bytes are a database selector and size
/// ([`selector_tail`]), as lost: its length is damaged.
fn over_selector(rep: &mut Report, p: Pending) {
    rep.skipped.push(Skipped {
        start: p.start,
        end: p.end,
        reason: "record run over a database selector".into(),
        unsupported: false,
    });
    rep.keys_lost.push(LostKey {
        db: p.db,
        key: p.key,
        rdb_type: Some(p.rdb_type),
        start: p.start,
        end: p.end,
        reason: "its length runs over the database selector after it (a damaged length)".into(),
    });
}

/// A `SELECTDB d` and `RESIZEDB n _` ending exactly at `end`, inside the
/// record `start..end`, that select a database after `db` (a server writes
/// them in ascending order): `(d, n)`. Read where a key follows the last key
/// the database's size announced (a server writes the exact number): the
/// record ran over them.
fn selector_tail(data: &[u8], start: u64, end: u64, db: u64) -> Option<(u64, u64)> {
    let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
    let len = |p: usize| match len_at(data, p) {
        Some((v, false, n)) if n <= end => Some((v, n)),
        _ => None,
    };
    // (An opcode and up to 9 bytes per length.)
    (end.saturating_sub(29).max(start + 1)..end).find_map(|i| {
        if *data.get(i)? != super::types::OP_SELECTDB {
            return None;
        }
        let (d, p) = len(i + 1)?;
        if *data.get(p)? != super::types::OP_RESIZEDB {
            return None;
        }
        let (n, p) = len(p + 1)?;
        let (_, p) = len(p)?;
        (p == end && d > db).then_some((d, n))
    })
}

/// Where and why reading failed.
struct Failure {
    /// Start of the record that failed.
    start: u64,
    /// Its key (db, name, type), when its header was read.
    key: Option<(u64, Vec<u8>, Option<u8>)>,
    reason: String,
    unsupported: bool,
}

/// A type this version does not read (a newer format), not an unknown byte.
fn is_unsupported(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::UnsupportedType { name, .. } => *name != "unknown",
        ErrorKind::UnsupportedVersion { .. } => true,
        _ => false,
    }
}

/// The CRC-64 of the input's first `upto` bytes.
struct RunningCrc<'a> {
    crc: Crc64,
    upto: u64,
    /// Told every [`SCAN_STEP`] bytes taken in at once (the bytes of a long
    /// skipped range, or the whole input again): they need not stay in memory.
    progress: &'a dyn Progress,
}

impl<'a> RunningCrc<'a> {
    fn new(progress: &'a dyn Progress) -> Self {
        Self {
            crc: Crc64::new(),
            upto: 0,
            progress,
        }
    }

    /// Takes in the bytes up to `to` (nothing when reading went back, after
    /// damage, to before what was taken).
    fn to(&mut self, data: &[u8], to: u64) {
        let to = to.min(data.len() as u64);
        if to < self.upto {
            return;
        }
        // (A long stretch, the bytes of a long run of damage above all, is
        // taken in by steps, each given back after it: reading it whole would
        // hold it all in memory at once.)
        while to - self.upto > SCAN_STEP {
            let step = self.upto + SCAN_STEP;
            self.crc.update(&data[self.upto as usize..step as usize]);
            self.upto = step;
            self.progress.scanned(step);
        }
        self.crc.update(&data[self.upto as usize..to as usize]);
        self.upto = to;
    }

    /// The CRC-64 of the first `through` bytes (taken again from the start
    /// when more was taken: an `EOF` opcode found after reading went back).
    fn through(&mut self, data: &[u8], through: u64) -> u64 {
        if through < self.upto {
            (self.crc, self.upto) = (Crc64::new(), 0);
        }
        self.to(data, through);
        self.crc.value()
    }
}

/// The trailer of the input, whose `EOF` opcode is at `eof` (`crc`: the
/// input's CRC-64 as far as it was taken).
fn trailer(data: &[u8], eof: u64, version: u32, crc: &mut RunningCrc) -> TrailerStatus {
    if version < 5 {
        return TrailerStatus::Absent;
    }
    let at = eof as usize + 1;
    let Some(stored) = data
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
    else {
        return TrailerStatus::Missing;
    };
    if stored == 0 {
        return TrailerStatus::Disabled;
    }
    let computed = crc.through(data, at as u64);
    if computed == stored {
        TrailerStatus::Ok
    } else {
        TrailerStatus::Mismatch { stored, computed }
    }
}

/// After a failure: finds where records read again. When that is inside the
/// kept record before the failure (`pending`), that record was framed across
/// real records by a damaged length: it is dropped (the second value) and the
/// range from its start is skipped. When it is the end of the failed record
/// framed alone, only that key is dropped. Returns where to go on, whether
/// `pending` is dropped, whether a run of hash fields was skipped
/// ([`past_fields`]; `in_fields`: the failure is where the last such run
/// ended), and whether the place where reading goes on is confirmed (else its
/// first record is dropped: [`uncertain_record`]).
fn recover(
    data: &[u8],
    (format, version): (Format, u32),
    db: u64,
    f: &Failure,
    (pending, in_fields): (Option<&Pending>, bool),
    rep: &mut Report,
    progress: &dyn Progress,
) -> (u64, bool, bool, Place) {
    let len = data.len() as u64;
    // The failed record is a hash with field TTLs (its header reads).
    let header = hash_fields_at(data, f.start, format);
    let failed_hash = !f.unsupported
        && (header.is_some()
            || f.key
                .as_ref()
                .is_some_and(|(_, _, ty)| ty.is_some_and(|t| field_ttl_hash(format, t))));
    // First, whether the kept record before the failure runs over real
    // records (a damaged length that still validates): records then read
    // from a place inside it, on past the failure. (Not when the failure is
    // a hash with field TTLs: chance records from inside the kept one then
    // run into its fields.)
    if let Some(pk) = pending.filter(|_| !failed_hash) {
        if let Some(p) = next_resume(
            data,
            pk.start + 1,
            f.start,
            (format, version),
            f.start + 1,
            progress,
        ) {
            let fields = in_fields
                || field_ttl_hash(format, pk.rdb_type)
                || hash_header_in(data, pk.start, p, (format, version))
                || fields_run_at(data, p, (format, version));
            let p = if fields {
                past_fields(data, p, (format, version), progress)
            } else {
                p
            };
            let (next, drop) = dropped_pending(data, (format, version), db, f, pk, p, rep);
            return (next, drop, fields, Place::Uncertain);
        }
    }
    // A value that fails validation in a record whose framing holds (and
    // records read after it): the record alone is dropped.
    if let Some((kdb, key, ty)) = &f.key {
        if !f.unsupported {
            if let Some(end) = frame_one(data, f.start, format, version, *kdb) {
                if end > f.start && resumes(data, end, format, version, 0).is_some() {
                    rep.keys_lost.push(LostKey {
                        db: *kdb,
                        key: key.clone(),
                        rdb_type: *ty,
                        start: f.start,
                        end,
                        reason: f.reason.clone(),
                    });
                    return (end, false, false, Place::Exact);
                }
            }
        }
    }
    // Damage to the structure: the next place where records read again.
    // (The header of a hash with field TTLs is parsed here: the reader can
    // fail on its field count before it names the key.)
    let next = match header {
        Some(fields) if !f.unsupported => {
            resume_after_fields(data, f.start, fields, (format, version), progress)
        }
        _ => next_resume(data, f.start + 1, len, (format, version), 0, progress),
    }
    .unwrap_or(len);
    // Reading resumes inside (or near) the failed record's declared extent:
    // at the place nearest to its end instead (see [`near_declared_end`]).
    let near = header
        .is_none()
        .then(|| near_declared_end(data, f, next, (format, version)))
        .flatten();
    let exact = near.is_some_and(|(_, exact)| exact);
    let next = near.map_or(next, |(q, _)| q);
    // After damage inside a hash with field TTLs, its fields with no TTL read
    // as string records: the run of them where reading would resume is
    // skipped with the damage.
    let fields = failed_hash
        || !f.unsupported
            && (in_fields
                || hash_header_in(data, f.start, next, (format, version))
                || fields_run_at(data, next, (format, version)));
    let next = if fields {
        past_fields(data, next, (format, version), progress)
    } else {
        next
    };
    if let Some((kdb, key, ty)) = &f.key {
        rep.keys_lost.push(LostKey {
            db: *kdb,
            key: key.clone(),
            rdb_type: *ty,
            start: f.start,
            end: next,
            reason: f.reason.clone(),
        });
    }
    let landed = names(data, f.start + 1, next, (format, version), db, rep);
    let place = if exact {
        Place::Exact
    } else if landed || fields || next - f.start <= NEAR_END {
        Place::Confirmed
    } else {
        Place::Uncertain
    };
    rep.skipped.push(Skipped {
        start: f.start,
        end: next,
        reason: f.reason.clone(),
        unsupported: f.unsupported,
    });
    (next, false, fields, place)
}

/// How the place where reading resumes after damage is confirmed
/// ([`recover`]; else its first record is dropped: [`uncertain_record`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Nothing confirms it.
    Uncertain,
    /// The failed record's own lengths end exactly there.
    Exact,
    /// Records framed from inside the skipped range lead exactly there, it
    /// is within [`NEAR_END`] bytes of where reading failed (a few bytes
    /// inserted or deleted), or it is past the fields of a hash with field
    /// TTLs.
    Confirmed,
}

/// Bytes around the declared end of a failed record searched for where
/// records read again ([`near_declared_end`]).
const NEAR_END: u64 = 64;

/// Where the failed record ends by its own lengths: framed whole (its value
/// may fail validation), or, when its header does not read (a damaged type
/// byte), its value taken as one string (every ziplist, listpack and intset
/// encoding is one).
/// When reading would resume at `next`, before that end or within
/// [`NEAR_END`] bytes after it: the place nearest to that end, within
/// `NEAR_END` bytes either side, where records read again. Damage inside the
/// value (bytes inserted or deleted, a type byte changed) leaves its outer
/// lengths whole, so the record ends there or a few bytes off; the bytes of
/// its value, above all the tail of a compressed string or of a ziplist, can
/// frame as a record ending where the real records start, which the search
/// from its start would take.
fn near_declared_end(
    data: &[u8],
    f: &Failure,
    next: u64,
    (format, version): (Format, u32),
) -> Option<(u64, bool)> {
    let db = f.key.as_ref().map_or(0, |k| k.0);
    let len = data.len() as u64;
    let ends = [
        frame_one(data, f.start, format, version, db),
        f.key
            .is_none()
            .then(|| one_string_end(data, f.start))
            .flatten(),
    ];
    for e in ends.into_iter().flatten() {
        if e <= f.start + 1 || next >= e + NEAR_END {
            continue;
        }
        for d in 0..=NEAR_END {
            let after = Some(e + d);
            let before = (d > 0).then(|| e.checked_sub(d)).flatten();
            for q in [after, before].into_iter().flatten() {
                if q <= f.start || q > len {
                    continue;
                }
                if q == len
                    || plausible_start(data[q as usize])
                        && resumes(data, q, format, version, 0).is_some()
                {
                    return Some((q, d == 0));
                }
            }
        }
    }
    None
}

/// The end of the record at `start` read as its prefixes (expire, LRU,
/// LFU), a type byte of any value, a key and one string.
fn one_string_end(data: &[u8], start: u64) -> Option<u64> {
    let p = after_prefixes(data, usize::try_from(start).ok()?)?;
    let k = str_end(data, p + 1)?;
    Some(str_end(data, k)? as u64)
}

/// Whether the key record at `at` has a Redis Enterprise opcode before its
/// type byte: the reader skips it (as redis/librdb does), the server's loader
/// refuses it, so chance bytes of a damaged record read that way must not be
/// where reading resumes (the record would be copied with it).
fn enterprise_prefix(data: &[u8], at: u64, format: Format) -> bool {
    use super::types::{OP_ENT_RAM_LRU, OP_ENT_SLOT_NUM};
    format == Format::Redis
        && usize::try_from(at)
            .ok()
            .and_then(|a| after_prefixes(data, a))
            .and_then(|p| data.get(p))
            .is_some_and(|&b| b == OP_ENT_RAM_LRU || b == OP_ENT_SLOT_NUM)
}

/// The position of the type byte of the record at `p`, past its expire /
/// LRU / LFU prefixes.
fn after_prefixes(data: &[u8], mut p: usize) -> Option<usize> {
    use super::types::{OP_EXPIRETIME, OP_EXPIRETIME_MS, OP_FREQ, OP_IDLE};
    loop {
        match *data.get(p)? {
            OP_EXPIRETIME_MS => p += 9,
            OP_EXPIRETIME => p += 5,
            OP_FREQ => p += 2,
            OP_IDLE => {
                let (_, false, n) = len_at(data, p + 1)? else {
                    return None;
                };
                p = n;
            }
            _ => return Some(p),
        }
    }
}

/// Past the run of string records with no prefix (no expire, LRU or LFU)
/// from `p`: what the fields with no TTL of a hash with field TTLs
/// ([`field_ttl_hash`]) read as (`LEN` ttl 0, `STR` field, `STR` value). A
/// field cannot be told from a key there; reading resumes at the first record
/// after the run that a field cannot be, and the string records of real keys
/// in the run are lost with the damage (reported by name). Where records do
/// not read on from the end of the run (a field with a TTL, or chance bytes
/// of the damage framed across the real records), the run goes on from the
/// next place inside its last record where records read again. A field
/// with a small TTL between two runs (its TTL read as the type byte of a
/// plain aggregate with no prefix, which frames by chance) is passed over
/// with them.
fn past_fields(
    data: &[u8],
    mut p: u64,
    (format, version): (Format, u32),
    progress: &dyn Progress,
) -> u64 {
    let len = data.len() as u64;
    loop {
        let (mut last, mut q) = bare_run(data, p);
        // (A first record that is no field, chance bytes of the damage,
        // before the run: a key record, or a database selector or size.)
        if q == p {
            if let Some(e) = frame_one(data, p, format, version, 0)
                .or_else(|| frame_selector(data, p, format, version))
            {
                let (l2, q2) = bare_run(data, e);
                if q2 > e {
                    (last, q) = (l2, q2);
                }
            }
        }
        // (A field with a small TTL, between runs of fields, reads as a
        // plain aggregate record with no prefix (its TTL as the type byte):
        // the run goes on past it.)
        while q > p && q < len && (1..=LOOSE_TYPES).contains(&data[q as usize]) {
            let Some(e) = frame_one(data, q, format, version, 0) else {
                break;
            };
            let (l2, q2) = bare_run(data, e);
            if q2 <= e {
                break;
            }
            (last, q) = (l2, q2);
        }
        if q >= len || resumes(data, q, format, version, 0).is_some() {
            return q;
        }
        match next_resume(data, last + 1, len, (format, version), 0, progress) {
            Some(n) if n > last => p = n,
            _ => return q,
        }
    }
}

/// The run of string records with no prefix from `p` (type byte 0, `STR`
/// key, `STR` value, framed only): the start of its last record and its end
/// (`(p, p)` when there is none at `p`).
fn bare_run(data: &[u8], p: u64) -> (u64, u64) {
    let (mut last, mut q) = (p, p);
    while let Some(at) = usize::try_from(q).ok().filter(|&a| data.get(a) == Some(&0)) {
        let Some(end) = str_end(data, at + 1).and_then(|v| str_end(data, v)) else {
            break;
        };
        (last, q) = (q, end as u64);
    }
    (last, q)
}

/// Whether reading resumes at `p` on a run of string records with no prefix
/// after which records do not read on (in a Redis file that can hold hashes
/// with field TTLs): a run of real keys ends at a real record, the fields of
/// such a hash whose header the damage took end at a field with a TTL.
fn fields_run_at(data: &[u8], p: u64, (format, version): (Format, u32)) -> bool {
    if format != Format::Redis || version < 12 {
        return false;
    }
    let len = data.len() as u64;
    let q = bare_run(data, p).1;
    q > p && q < len && resumes(data, q, format, version, 0).is_none()
}

/// Whether the skipped range `[from, to)` holds the header of a hash with
/// field TTLs (Redis type 24: its minimum expire within what the loader
/// accepts, at least one whole field after it) whose fields start before
/// `to`: damage before it or in it leaves reading to resume among its
/// fields. Searched in the first [`NAME_SCAN`] bytes.
fn hash_header_in(data: &[u8], from: u64, to: u64, (format, version): (Format, u32)) -> bool {
    if format != Format::Redis || version < 12 {
        return false;
    }
    let lo = usize::try_from(from).unwrap_or(usize::MAX);
    let hi = usize::try_from(to.min(from.saturating_add(NAME_SCAN)))
        .unwrap_or(usize::MAX)
        .min(data.len());
    (lo..hi).any(|h| {
        data[h] == super::types::HASH_METADATA
            && str_end(data, h + 1).is_some_and(|q| {
                data.get(q..q + 8)
                    .and_then(|b| b.try_into().ok())
                    .is_some_and(|b: [u8; 8]| u64::from_le_bytes(b) <= 1 << 48)
            })
            && hash_fields_at(data, h as u64, format).is_some_and(|(fields, count)| {
                (fields as u64) < to && count > 0 && fields_from(data, fields, 1).1 == 1
            })
    })
}

/// Whether records of type `ty` are hashes with per-field TTLs whose fields
/// (`LEN` ttl, `STR` field, `STR` value) read as string records where a field
/// has no TTL (ttl 0 is the string type byte): Redis types 22 and 24.
fn field_ttl_hash(format: Format, ty: u8) -> bool {
    ty == super::types::HASH_METADATA
        || (ty == super::types::HASH_METADATA_PRE_GA && format == Format::Redis)
}

/// When the record at `start` is a hash with per-field TTLs
/// ([`field_ttl_hash`]) whose header (expire / LRU / LFU prefix, type, key,
/// minimum expire, field count) reads: where its fields start and their
/// declared count.
fn hash_fields_at(data: &[u8], start: u64, format: Format) -> Option<(usize, u64)> {
    let p = after_prefixes(data, usize::try_from(start).ok()?)?;
    let ty = data[p];
    if !field_ttl_hash(format, ty) {
        return None;
    }
    let mut q = str_end(data, p + 1)?;
    if ty == super::types::HASH_METADATA {
        q += 8;
    }
    let (count, false, fields) = len_at(data, q)? else {
        return None;
    };
    Some((fields, count))
}

/// Where reading resumes after the failed record at `start`, a hash with
/// per-field TTLs whose fields start at `fields` ([`hash_fields_at`]). When
/// its fields frame whole up to a last one that runs past the end of the input
/// (a cut file: what is left is fewer bytes than the largest field before),
/// nothing after its start resumes (its fields with no TTL would read as
/// string records). Otherwise, the first place where records read again.
///
/// (Damage in the middle of its fields still lets the fields after the damage
/// be read as records: the declared count and the fields' own lengths were
/// tried as a bound, and cost more real records than they saved; see the
/// seeded test of `tests/it/salvage.rs`.)
fn resume_after_fields(
    data: &[u8],
    start: u64,
    (fields, count): (usize, u64),
    (format, version): (Format, u32),
    progress: &dyn Progress,
) -> Option<u64> {
    let len = data.len();
    let (end, read, largest) = fields_from(data, fields, count);
    // (A file that ends with an `EOF` record and its checksum was not cut:
    // a damaged length ran the fields to its end.)
    let ends_whole = len >= 9 && data[len - 9] == super::types::OP_EOF;
    if read < count && len - end <= largest + 64 && !ends_whole {
        return None;
    }
    next_resume(data, start + 1, len as u64, (format, version), 0, progress)
}

/// Reads up to `max` fields `(LEN ttl, STR field, STR value)` from `p`: the
/// end of the last whole one, how many were read, and the size of the largest.
fn fields_from(data: &[u8], mut p: usize, max: u64) -> (usize, u64, usize) {
    let (mut seen, mut largest) = (0u64, 0usize);
    while seen < max {
        let Some((_, false, f)) = len_at(data, p) else {
            break;
        };
        let Some(v) = str_end(data, f) else { break };
        let Some(e) = str_end(data, v) else { break };
        largest = largest.max(e - p);
        seen += 1;
        p = e;
    }
    (p, seen, largest)
}

/// An RDB length at `p`: its value, whether it is a special encoding (`11`
/// prefix), and the position after it.
fn len_at(data: &[u8], p: usize) -> Option<(u64, bool, usize)> {
    let b = *data.get(p)?;
    match b >> 6 {
        0 => Some((u64::from(b & 0x3f), false, p + 1)),
        1 => Some((
            u64::from(b & 0x3f) << 8 | u64::from(*data.get(p + 1)?),
            false,
            p + 2,
        )),
        2 => match b {
            0x80 => {
                let x = data.get(p + 1..p + 5)?;
                Some((
                    u64::from(u32::from_be_bytes([x[0], x[1], x[2], x[3]])),
                    false,
                    p + 5,
                ))
            }
            0x81 => {
                let x: [u8; 8] = data.get(p + 1..p + 9)?.try_into().ok()?;
                Some((u64::from_be_bytes(x), false, p + 9))
            }
            _ => None,
        },
        _ => Some((u64::from(b & 0x3f), true, p + 1)),
    }
}

/// The end of the RDB string at `p` (within `data`).
fn str_end(data: &[u8], p: usize) -> Option<usize> {
    let (v, enc, n) = len_at(data, p)?;
    let end = if enc {
        match v {
            0 => n + 1,
            1 => n + 2,
            2 => n + 4,
            3 => {
                let (clen, false, n2) = len_at(data, n)? else {
                    return None;
                };
                let (_, false, n3) = len_at(data, n2)? else {
                    return None;
                };
                n3.checked_add(usize::try_from(clen).ok()?)?
            }
            _ => return None,
        }
    } else {
        n.checked_add(usize::try_from(v).ok()?)?
    };
    (end <= data.len()).then_some(end)
}

/// Drops the kept record `pk` before a failure, which runs over real records
/// that read again from `next`, and skips from its start to there.
fn dropped_pending(
    data: &[u8],
    (format, version): (Format, u32),
    db: u64,
    f: &Failure,
    pk: &Pending,
    next: u64,
    rep: &mut Report,
) -> (u64, bool) {
    let what = if pk.aux {
        "record that is no key (an aux field or a function library) left out: it"
    } else {
        "its record"
    };
    rep.keys_lost.push(LostKey {
        db: pk.db,
        key: pk.key.clone(),
        rdb_type: (!pk.aux).then_some(pk.rdb_type),
        start: pk.start,
        end: next,
        reason: format!(
            "{what} runs over the records after it (a damaged length); \
             the record after it failed: {}",
            f.reason
        ),
    });
    let _ = names(data, pk.start + 1, next, (format, version), db, rep);
    rep.skipped.push(Skipped {
        start: pk.start,
        end: next,
        reason: f.reason.clone(),
        unsupported: f.unsupported,
    });
    (next, true)
}

/// The database selected by a `SELECTDB` record inside the skipped range
/// `[from, to)` whose records (framed) lead exactly to `to`: the last one
/// before where reading resumes. From RDB version 7, a `RESIZEDB` right
/// after it, as a server writes (without one, it is chance bytes of the
/// damage). Searched in the last [`NAME_SCAN`] bytes.
fn selected_in(data: &[u8], from: u64, to: u64, format: Format, version: u32) -> Option<u64> {
    let lowest = from.max(to.saturating_sub(NAME_SCAN));
    let mut q = to;
    while q > lowest {
        q -= 1;
        if data[q as usize] != super::types::OP_SELECTDB {
            continue;
        }
        let mut r = reader_with(&data[..to as usize], q, format, version, 0, true);
        r.limit_keys(PROBE_KEY_LIMIT);
        let Ok(Some(Event::SelectDb { db })) = r.next_event() else {
            continue;
        };
        if version >= 7 && !matches!(r.next_event(), Ok(Some(Event::ResizeDb { .. }))) {
            continue;
        }
        let lands = loop {
            match r.next_event() {
                Ok(None) => break r.offset() == to,
                Ok(Some(Event::KeyStart(_))) => {
                    if r.skip_value().is_err() {
                        break false;
                    }
                }
                Ok(Some(Event::ResizeDb { .. } | Event::SlotInfo { .. })) => {}
                _ => break false,
            }
        };
        if lands {
            return Some(db);
        }
    }
    None
}

/// Reports the key names that can still be framed in a skipped range.
fn names(
    data: &[u8],
    from: u64,
    to: u64,
    (format, version): (Format, u32),
    db: u64,
    rep: &mut Report,
) -> bool {
    let found = names_in(data, from, to, format, version, db);
    let landed = !found.is_empty();
    for (kdb, key, ty, s, e) in found {
        rep.keys_lost.push(LostKey {
            db: kdb,
            key,
            rdb_type: Some(ty),
            start: s,
            end: e,
            reason: "in a skipped range".into(),
        });
    }
    landed
}

/// The end of the one key record at `pos`, framed without validating its value.
fn frame_one(data: &[u8], pos: u64, format: Format, version: u32, db: u64) -> Option<u64> {
    let mut r = reader_with(data, pos, format, version, db, true);
    r.limit_keys(PROBE_KEY_LIMIT);
    match r.next_event() {
        Ok(Some(Event::KeyStart(k))) if k.offset == pos => {}
        _ => return None,
    }
    r.skip_value().ok()?;
    Some(r.offset())
}

/// The end of the database selector, size or slot info record at `pos`.
fn frame_selector(data: &[u8], pos: u64, format: Format, version: u32) -> Option<u64> {
    let mut r = reader_with(data, pos, format, version, 0, true);
    match r.next_event() {
        Ok(Some(Event::SelectDb { .. } | Event::ResizeDb { .. } | Event::SlotInfo { .. })) => {
            Some(r.offset())
        }
        _ => None,
    }
}

/// Whether records read again from `p`: [`RESYNC_KEYS`] whole key records
/// validate in a row (fewer when the `EOF` record or the end of the input
/// follows them), none of them zero-filled.
///
/// They are framed first, and validated only when they frame: the same
/// verdict (what does not frame does not validate), but a length that chance
/// bytes make huge is then skipped, never read (reading it would map in, and
/// copy, up to the rest of the file at each place tried).
fn resumes(data: &[u8], p: u64, format: Format, version: u32, past: u64) -> Option<(u64, u64)> {
    resumes_chain(data, p, (format, version), past).map(|c| c.first)
}

/// The records that read again from a place ([`resumes_chain`]).
struct Chain {
    /// The value and the end of its first record (`(p + 1, p + 1)` when it is
    /// a database selector or size: nothing to look for inside it).
    first: (u64, u64),
    /// The type byte, value and end of each key record read, in order.
    keys: [(u8, u64, u64); RESYNC_KEYS],
    /// How many of `keys` were read.
    n: usize,
}

/// [`resumes`], with every key record of the chain.
fn resumes_chain(
    data: &[u8],
    p: u64,
    (format, version): (Format, u32),
    past: u64,
) -> Option<Chain> {
    resumes_read(data, p, (format, version), past, true)?;
    resumes_read(data, p, (format, version), past, false)
}

/// [`resumes`], framing only or validating.
fn resumes_read(
    data: &[u8],
    p: u64,
    (format, version): (Format, u32),
    past: u64,
    frame_only: bool,
) -> Option<Chain> {
    let len = data.len() as u64;
    let unknown = super::speculative::UNKNOWN_DB;
    let mut r = reader_with(data, p, format, version, unknown, frame_only);
    r.limit_keys(RESYNC_KEY_LIMIT);
    // Names seen: bytes taken for records by chance repeat themselves (a run
    // of one byte, a pattern of a compact encoding) or are empty.
    let mut names: Vec<(u64, Vec<u8>)> = Vec::with_capacity(RESYNC_KEYS);
    let mut records = 0usize;
    let mut first_end = None;
    let mut keys = [(0u8, 0u64, 0u64); RESYNC_KEYS];
    let mut n = 0usize;
    let chain = |first: Option<(u64, u64)>, keys, n| Chain {
        first: first.unwrap_or((p + 1, p + 1)),
        keys,
        n,
    };
    loop {
        match r.next_event() {
            Ok(Some(Event::KeyStart(k))) => {
                // (Module values frame themselves whatever their module: a
                // chance one would reach the server as an unknown module.)
                let module = k.rdb_type == super::types::MODULE_2;
                let ty = k.rdb_type;
                let (start, db) = (k.offset, k.db);
                if k.key.is_empty()
                    || blob_key(k.key)
                    || names
                        .iter()
                        .any(|(d, n)| *d == k.db && n.as_slice() == k.key)
                {
                    return None;
                }
                if names.len() < 2 * RESYNC_KEYS {
                    names.push((k.db, k.key.to_vec()));
                }
                if enterprise_prefix(data, k.offset, format) {
                    return None;
                }
                if module && !plausible_module(data, r.value_offset()) {
                    return None;
                }
                let framed = (!frame_only)
                    .then(|| frame_one(data, start, format, version, db))
                    .flatten();
                // A large record (it framed): validated by the walk if
                // reading resumes on it, not here (chance bytes framed across
                // real records would have its value read into memory at each
                // place tried).
                let rec = if let Some(end) = framed.filter(|end| end - start > PROBE_VALIDATE_LIMIT)
                {
                    let rec = (r.value_offset(), end);
                    r = reader_with(data, end, format, version, r.db(), false);
                    r.limit_keys(RESYNC_KEY_LIMIT);
                    rec
                } else {
                    if r.skip_value().is_err() {
                        return None;
                    }
                    (r.value_offset(), r.offset())
                };
                first_end.get_or_insert(rec);
                if n < RESYNC_KEYS {
                    keys[n] = (ty, rec.0, rec.1);
                    n += 1;
                }
                if names.len() >= RESYNC_KEYS && r.offset() >= past {
                    return Some(chain(first_end, keys, n));
                }
            }
            Ok(Some(Event::Eof { end, .. })) => {
                // The end of the records: the trailer ends the file, or what
                // follows it is an AOF tail.
                return ((!names.is_empty() || records > 0 || p + 9 >= end)
                    && (end == len || super::check::resp_follows(data, end)))
                .then(|| chain(first_end, keys, n));
            }
            // The end of the input with no `EOF` record (a cut file) after
            // fewer than RESYNC_KEYS records: the records of a cut file end
            // with a partial one, so a chain that ends exactly there is
            // chance bytes of the record the cut went through.
            Ok(None) => return None,
            // Between keys, only database selectors and their sizes (aux
            // fields, functions and module aux records come before the keys
            // and are easily imitated by chance bytes).
            Ok(Some(Event::SelectDb { .. } | Event::ResizeDb { .. } | Event::SlotInfo { .. })) => {
                // (A short record cannot swallow real ones: nothing to look
                // for inside it.)
                first_end.get_or_insert((p + 1, p + 1));
                records += 1;
                if records > 16 {
                    return None;
                }
            }
            Ok(Some(_)) | Err(_) => return None,
        }
    }
}

/// The first place in `[from, to)` where records read again ([`resumes`]).
/// A place whose first record holds another such place is passed over for
/// that one: chance bytes taken for a record can end exactly where
/// real records start, swallowing the real ones before that; real records are
/// what read again inside it. Not for a place inside whose own first record
/// ends where the outer record ends: that is the tail of the outer record's
/// value taken for a record (the last bytes of a compressed string, the last
/// entries of a ziplist), which chance frames far more often than chance
/// bytes frame a record holding exactly one real record.
fn next_resume(
    data: &[u8],
    from: u64,
    to: u64,
    (format, version): (Format, u32),
    past: u64,
    progress: &dyn Progress,
) -> Option<u64> {
    let first = |lo: u64, hi: u64, tail: Option<u64>| {
        let mut told = lo;
        (lo..hi.min(data.len() as u64)).find_map(|p| {
            // (What a long search read, behind it and far ahead, is given
            // back as it goes: a search through N bytes of damage costs a
            // constant, not N.)
            if p - told >= SCAN_STEP {
                progress.scanned(p);
                told = p;
            }
            // (Two zero bytes are a string record with an empty name, which
            // [`resumes_read`] refuses: a run of zeros is passed over without
            // a reader at each of its bytes.)
            let at = p as usize;
            if plausible_start(data[at]) && data.get(at..at + 2) != Some(&[0, 0]) {
                resumes_chain(data, p, (format, version), past)
                    .filter(|c| tail != Some(c.first.1))
                    .map(|c| (p, c))
            } else {
                None
            }
        })
    };
    // (Inside a record's value: its header, with its expire, is the record's
    // own.)
    let (mut p, mut chain) = first(from, to, None)?;
    'inner: loop {
        let (inner, end) = chain.first;
        if let Some((q, c)) = first(inner, end, Some(end)) {
            (p, chain) = (q, c);
            continue;
        }
        // The later records of the chain too: chance bytes can frame a run
        // of records whose second or third one holds real records (the
        // fields of a module value, each an opcode then a number, frame as
        // records of the set type, one after the other).
        for &(ty, inner, end) in chain.keys.iter().take(chain.n).skip(1) {
            // (Only plain aggregates: a string's bytes, or a compact
            // encoding's (the fields of a hash with field TTLs), frame as
            // records far more often than chance bytes frame one.)
            if !(1..=LOOSE_TYPES).contains(&ty) || end - inner > NAME_SCAN {
                continue;
            }
            if let Some((q, c)) = first(inner, end, Some(end)) {
                (p, chain) = (q, c);
                continue 'inner;
            }
        }
        return Some(p);
    }
}

/// Whether the record `[start, end)` where reading resumed is the tail of a
/// value that starts in the skipped bytes `[from, start)` before it: a
/// ziplist or listpack whose own total length (its first 4 bytes) ends
/// exactly at `end`, on its end byte `0xff`, or a compressed string whose
/// lengths end exactly there. Chance bytes of a damaged record's value frame
/// as a record ending where the value ends (the next real record reads on
/// from there); a real record's start is no such tail but by a 32-bit chance
/// (or the length of a compressed string, 8 bits, that must start before it).
/// Searched in the last [`NAME_SCAN`] bytes before `start`.
fn value_tail(data: &[u8], from: u64, start: u64, end: u64) -> bool {
    let lo = from.max(start.saturating_sub(NAME_SCAN));
    let (Ok(lo), Ok(start), Ok(end)) = (
        usize::try_from(lo),
        usize::try_from(start),
        usize::try_from(end),
    ) else {
        return false;
    };
    let blob_end = end >= 1 && data.get(end - 1) == Some(&0xff);
    (lo..start.min(data.len())).any(|b| {
        let total = data
            .get(b..b + 4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize);
        (blob_end && total == Some(end - b)) || (data[b] == 0xc3 && str_end(data, b) == Some(end))
    })
}

/// Whether the record `[start, end)` is, byte for byte, ziplist entries (each
/// one's previous-entry length that of the one before it) up to the
/// ziplist's end byte `0xff` at `end - 1`: the entries of a damaged record's
/// ziplist (Redis before 7.0) whose header the damage took, read as a string
/// record (`00`, a first entry's previous length, is the string type) ending
/// where the value ends. A real record is such bytes only by chance: its
/// second length must be the first entry's size, and its last byte `0xff`.
fn ziplist_tail(data: &[u8], start: u64, end: u64) -> bool {
    let (Ok(mut p), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
        return false;
    };
    if end > data.len() || end < 2 || data[end - 1] != 0xff {
        return false;
    }
    let mut prev: Option<usize> = None;
    let mut entries = 0;
    while p < end - 1 {
        let at = p;
        let (prevlen, q) = match data[p] {
            0xfe => match data.get(p + 1..p + 5) {
                Some(x) => (u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize, p + 5),
                None => return false,
            },
            0xff => return false,
            b => (usize::from(b), p + 1),
        };
        if prev.is_some_and(|n| n != prevlen) {
            return false;
        }
        let Some(&enc) = data.get(q) else {
            return false;
        };
        let next = match enc >> 6 {
            0 => q + 1 + usize::from(enc & 0x3f),
            1 => match data.get(q + 1) {
                Some(&b) => q + 2 + (usize::from(enc & 0x3f) << 8 | usize::from(b)),
                None => return false,
            },
            2 => match data.get(q + 1..q + 5) {
                Some(x) => q + 5 + u32::from_be_bytes([x[0], x[1], x[2], x[3]]) as usize,
                None => return false,
            },
            _ => match enc {
                0xc0 => q + 3,
                0xd0 => q + 5,
                0xe0 => q + 9,
                0xf0 => q + 4,
                0xfe => q + 2,
                0xf1..=0xfd => q + 1,
                _ => return false,
            },
        };
        prev = Some(next - at);
        p = next;
        entries += 1;
    }
    entries > 0 && p == end - 1
}

/// Whether the string record at `start` begins on the last byte of a
/// millisecond expire (`0xfc` and 8 bytes, little-endian: its last byte is 0
/// for any date before the year 10889) whose opcode is in the skipped bytes
/// from `from`: that byte reads as the string type, the real record's type
/// byte as its key length, and its key and value as a string key and value
/// ending where the real record ends (the real record's header damaged).
fn in_expire(data: &[u8], from: u64, start: u64, ty: u8) -> bool {
    ty == super::types::STRING
        && start >= from + 8
        && data.get((start - 8) as usize) == Some(&super::types::OP_EXPIRETIME_MS)
}

/// Whether a key name is a whole listpack or ziplist (its first 4 bytes its
/// length, its last byte `0xff`): the nodes of a damaged quicklist read as a
/// record (a packed node's container byte 2 as the set type, its listpack as
/// the name), never a real key.
fn blob_key(key: &[u8]) -> bool {
    key.len() >= 7
        && key[key.len() - 1] == 0xff
        && u32::from_le_bytes([key[0], key[1], key[2], key[3]]) as usize == key.len()
}

/// Whether a record framed from a place inside the header (prefixes, type,
/// key) of the record `[start, end)` whose value starts at `value` ends
/// exactly at `end`: one of the two is chance bytes, and where reading
/// resumed after damage that can be the outer one (its key bytes holding the
/// type and key of a real record whose first bytes the damage took).
fn header_holds(
    data: &[u8],
    (start, value, end): (u64, u64, u64),
    (format, version): (Format, u32),
    db: u64,
) -> bool {
    // (From after its type byte: a place inside its expire or LRU / LFU
    // prefix is the other way round, a real record whose prefix's last byte
    // reads as a string record of a key as long as its type byte.)
    let Some(ty) = usize::try_from(start)
        .ok()
        .and_then(|s| after_prefixes(data, s))
    else {
        return false;
    };
    (ty as u64 + 1..value).any(|q| {
        plausible_start(data[q as usize]) && frame_one(data, q, format, version, db) == Some(end)
    })
}

/// Whether the name of the key record at `start`, whose value starts at
/// `value`, ends with a whole name of its own (a length and that many bytes,
/// at least one, ending exactly where the name ends) after at least one byte:
/// the outer record is chance bytes of the damage that run into a real
/// record whose type byte the damage changed (that byte, the real name and
/// value read as the end of the outer name and its value). A real name ends
/// so only by chance: a byte of it must be the count of the bytes after it
/// (a printable byte, 32 or more, in a name of at least 34 bytes).
fn name_holds_name(data: &[u8], start: u64, value: u64) -> bool {
    let Some(ty) = usize::try_from(start)
        .ok()
        .and_then(|s| after_prefixes(data, s))
    else {
        return false;
    };
    let (Some((_, false, name)), Ok(value)) = (len_at(data, ty + 1), usize::try_from(value)) else {
        return false;
    };
    (name + 1..value).any(|p| {
        matches!(len_at(data, p), Some((n, false, _)) if n > 0) && str_end(data, p) == Some(value)
    })
}

/// A key named in a skipped range: database, name, type byte, byte range.
type Named = (u64, Vec<u8>, u8, u64, u64);

/// Key records that can still be framed inside the skipped range
/// `[from, to)`: the first chain of framed records from a position in the
/// range that ends exactly at `to` (a chain that lands on the true boundary
/// follows the file's own records). Searched in the first [`NAME_SCAN`] bytes.
fn names_in(data: &[u8], from: u64, to: u64, format: Format, version: u32, db: u64) -> Vec<Named> {
    let stop = to.min(from.saturating_add(NAME_SCAN));
    let mut q = from;
    while q < stop {
        if plausible_start(data[q as usize]) {
            if let Some(found) = chain(data, q, to, format, version, db) {
                return found;
            }
        }
        q += 1;
    }
    Vec::new()
}

fn chain(
    data: &[u8],
    q: u64,
    to: u64,
    format: Format,
    version: u32,
    db: u64,
) -> Option<Vec<Named>> {
    let mut r = reader_with(&data[..to as usize], q, format, version, db, true);
    r.limit_keys(PROBE_KEY_LIMIT);
    let mut found = Vec::new();
    loop {
        match r.next_event() {
            Ok(Some(Event::KeyStart(k))) => {
                let (s, kdb, key, ty) = (k.offset, k.db, k.key.to_vec(), k.rdb_type);
                r.skip_value().ok()?;
                if zero_record(&data[s as usize..r.offset() as usize]) {
                    return None;
                }
                found.push((kdb, key, ty, s, r.offset()));
            }
            Ok(None) => {
                return (r.offset() == to && !found.is_empty()).then_some(found);
            }
            Ok(Some(Event::Eof { .. })) | Err(_) => return None,
            Ok(Some(_)) => {}
        }
    }
}

/// [`Reader::skip_value`], plus the checks the reader leaves to its callers
/// and the server's loader makes: a vector set (Redis 8's built-in module)
/// must decode as its loader decodes it (the check of `check-rdb` too).
fn skip_checked<R: crate::io::Input>(
    r: &mut Reader<R>,
    rdb_type: u8,
    start: u64,
    version: u32,
) -> Result<super::KeyEnd, super::Error> {
    if rdb_type != super::types::MODULE_2 {
        return r.skip_value();
    }
    let mut bad = None;
    let end = r.visit_value(|el| {
        if let super::Element::Module(m) = el {
            if let Some(Err(e)) = super::vectorset::from_module_ref(&m, version) {
                bad = Some(e);
            }
        }
    })?;
    match bad {
        Some(e) => Err(super::Error::corrupt(start, format!("vector set: {e}"))),
        None => Ok(end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ziplist of "a" and "b": 10-byte header, entries (previous length,
    /// encoding, data), end byte.
    const ZIPLIST: [u8; 17] = [
        17, 0, 0, 0, 13, 0, 0, 0, 2, 0, 0x00, 0x01, b'a', 0x03, 0x01, b'b', 0xff,
    ];

    #[test]
    fn a_ziplist_tail_is_told_from_a_string_record() {
        // Its entries read as the string record "a" = "\x01b\xff".
        let data = [&[0xaa; 5][..], &ZIPLIST].concat();
        let (start, end) = (15, data.len() as u64);
        assert!(ziplist_tail(&data, start, end));
        // The same bytes with a previous length that is not the entry
        // before's: a string record.
        let mut other = data.clone();
        other[18] = 0x04;
        assert!(!ziplist_tail(&other, start, end));
        // A real string record "a" = "xyz".
        let rec = [0x00, 0x01, b'a', 0x03, b'x', b'y', b'z'];
        assert!(!ziplist_tail(&rec, 0, rec.len() as u64));
        // Its 4-byte total length, before the record, ends where it ends.
        assert!(value_tail(&data, 0, start, end));
        assert!(!value_tail(&data, 10, start, end));
        assert!(!value_tail(&rec, 0, 0, rec.len() as u64));
    }

    #[test]
    fn a_selector_at_the_end_of_a_record() {
        // The string record "k" = "ab" + SELECTDB 1 + RESIZEDB 3 1.
        let rec = [
            0x00, 0x01, b'k', 0x07, b'a', b'b', 0xfe, 0x01, 0xfb, 0x03, 0x01,
        ];
        let end = rec.len() as u64;
        assert_eq!(selector_tail(&rec, 0, end, 0), Some((1, 3)));
        // Not a database at or before the one selected.
        assert_eq!(selector_tail(&rec, 0, end, 1), None);
        // Not one that ends before the record does.
        assert_eq!(selector_tail(&rec, 0, end - 1, 0), None);
        // Not without its size.
        let mut bare = rec;
        bare[8] = b'x';
        assert_eq!(selector_tail(&bare, 0, end, 0), None);
    }

    #[test]
    fn a_whole_listpack_is_no_key_name() {
        let lp = [7, 0, 0, 0, 1, 0, 0xff];
        assert!(blob_key(&lp));
        assert!(blob_key(&ZIPLIST));
        assert!(!blob_key(b"listpack"));
        assert!(!blob_key(&[8, 0, 0, 0, 1, 0, 0xff]));
    }

    #[test]
    fn a_name_that_ends_with_a_whole_name() {
        // A string record named `aa 33 02 'a' 'b'`: its last three bytes are
        // the name "ab", after a byte (a damaged type byte).
        let data = [0x00, 0x05, 0xaa, 0x33, 0x02, b'a', b'b', 0x01, b'v'];
        assert!(name_holds_name(&data, 0, 7));
        // The same behind an expire.
        let mut exp = vec![0xfc, 1, 2, 3, 4, 5, 6, 7, 0];
        exp.extend_from_slice(&data);
        assert!(name_holds_name(&exp, 0, 16));
        // A real name "abc", and one whose last byte is a zero length.
        let real = [0x00, 0x03, b'a', b'b', b'c', 0x01, b'v'];
        assert!(!name_holds_name(&real, 0, 5));
        let zero = [0x00, 0x02, b'a', 0x00, 0x01, b'v'];
        assert!(!name_holds_name(&zero, 0, 4));
        // The whole name is no name inside it.
        let one = [0x00, 0x01, 0x00, 0x01, b'v'];
        assert!(!name_holds_name(&one, 0, 3));
    }

    #[test]
    fn a_key_prefix_is_told_from_other_opcodes() {
        use crate::rdb::types::{OP_AUX, OP_F3, OP_RESIZEDB};
        for op in [0xfc, 0xfd, 0xf8, 0xf9] {
            assert!(key_prefix_at(&[op], 0, Format::Redis));
            assert!(key_prefix_at(&[op], 0, Format::Valkey));
        }
        assert!(!key_prefix_at(&[OP_RESIZEDB], 0, Format::Redis));
        assert!(!key_prefix_at(&[OP_AUX], 0, Format::Redis));
        // `KEY_META` in Redis, `SLOT_IMPORT` (no key's) in Valkey.
        assert!(key_prefix_at(&[OP_F3], 0, Format::Redis));
        assert!(!key_prefix_at(&[OP_F3], 0, Format::Valkey));
        assert!(!key_prefix_at(&[], 0, Format::Redis));
    }

    #[test]
    fn a_string_record_on_an_expire_s_last_byte() {
        // `0xfc` + 8 bytes of a millisecond expire, the last one 0.
        let mut data = vec![0xfc, 1, 2, 3, 4, 5, 6, 0x01, 0x00];
        data.extend_from_slice(&[0x0e, 0x01, b'k']);
        assert!(in_expire(&data, 0, 8, crate::rdb::types::STRING));
        // Not when the opcode is before the skipped bytes, nor for another
        // type.
        assert!(!in_expire(&data, 1, 8, crate::rdb::types::STRING));
        assert!(!in_expire(&data, 0, 8, 1));
    }
}
