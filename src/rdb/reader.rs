//! [`Reader`]: the streaming, pull-style RDB reader.
//!
//! `next_event` returns the file's events in order, each borrowing the reader's
//! buffers until the next call (like `csv::Reader::read_byte_record`). Aggregate
//! values arrive as one [`Element`] per member, so a reader holds at most one
//! element, or one encoded blob (a listpack, ziplist, intset or zipmap with its
//! decoded entry table), in memory at a time.
//!
//! Validation is always deep, equivalent to Redis' `sanitize-dump-payload yes`
//! (FORMATS.md §1.16): every embedded structure is walked entry by entry before
//! any of its elements is returned, duplicates within a value are errors, stream
//! nodes are checked against their master entry, consumer PELs against the group
//! PEL, scores for NaN, field TTLs for range and order, lengths against the bytes
//! left in the input before anything is allocated. Empty aggregates (which the
//! server skips and `redis-check-rdb` rejects) are not errors of the reader: the
//! [`KeyEnd`] event says `empty: true` and the caller decides.

use super::compact::{self, CompactError, Val};
use super::dups::DupSet;
use super::error::{Error, ErrorKind, KeyContext};
use super::str::Str;
use super::types::{self as t, Format};
use crate::io::{Input, MAX_SLICE, Source, SourceError};
use crate::model::StreamId;

/// Largest expire time accepted for hash fields (`EB_EXPIRE_TIME_MAX`, 2^48 − 1).
pub const EB_EXPIRE_TIME_MAX: u64 = (1 << 48) - 1;
/// Cap on any single string or blob (Redis' `proto-max-bulk-len` maximum is far
/// lower in practice; this only guards against absurd lengths on pipes).
const MAX_STRING: u64 = 1 << 40;

/// Reader options.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Verify the CRC-64 trailer (default true).
    pub verify_checksum: bool,
    /// Frame only: in [`Reader::skip_value`], follow the structure (lengths,
    /// opcodes, stream metadata) without decompressing or validating the contents
    /// of values. Used by the thread that cuts a file into chunks for parallel
    /// checking; the chunks are then checked in full. Default false.
    pub frame_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            verify_checksum: true,
            frame_only: false,
        }
    }
}

/// Status of the CRC-64 trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Checksum {
    /// Present and correct.
    Ok,
    /// Stored as zero: the writer disabled checksums (`rdbchecksum no`).
    Disabled,
    /// RDB version < 5: no trailer exists.
    Absent,
    /// Present but not verified (verification turned off).
    Unverified,
}

impl Checksum {
    /// The status of a stored CRC-64 trailer: zero means disabled; otherwise
    /// unverified when verification is off, else `computed` (called only then)
    /// must match it, or `Err` carries the computed value.
    pub fn of_trailer(
        stored: u64,
        verify: bool,
        computed: impl FnOnce() -> u64,
    ) -> Result<Self, u64> {
        if stored == 0 {
            Ok(Checksum::Disabled)
        } else if !verify {
            Ok(Checksum::Unverified)
        } else {
            let c = computed();
            if c == stored {
                Ok(Checksum::Ok)
            } else {
                Err(c)
            }
        }
    }
}

/// Information about a key, at the start of its record.
#[derive(Debug, Clone, Copy)]
pub struct KeyInfo<'a> {
    /// Offset of the first byte of the key record (including its expire/LRU/LFU
    /// opcodes).
    pub offset: u64,
    /// Database.
    pub db: u64,
    /// Key name (exact bytes).
    pub key: &'a [u8],
    /// RDB type byte.
    pub rdb_type: u8,
    /// Absolute expiry in Unix milliseconds.
    pub expire_ms: Option<i64>,
    /// LRU idle seconds (`IDLE` opcode).
    pub lru_idle: Option<u64>,
    /// LFU counter (`FREQ` opcode).
    pub lfu_freq: Option<u8>,
    /// Number of key-metadata classes that preceded the key (Redis 8.6 `KEY_META`).
    pub meta_classes: u64,
}

/// The end of a key record.
#[derive(Debug, Clone, Copy)]
pub struct KeyEnd {
    /// Offset of the first byte of the record (as in [`KeyInfo`]).
    pub offset: u64,
    /// Offset just after the record: `end - offset` is its serialized size.
    pub end: u64,
    /// Number of elements returned (members, fields, entries; 1 for a string).
    pub elements: u64,
    /// True for an aggregate with no element, which Redis skips when loading and
    /// `redis-check-rdb` rejects.
    pub empty: bool,
    /// Number of hash fields with a TTL.
    pub field_ttls: u64,
}

/// A live stream entry, borrowing the node's decoded listpack.
#[derive(Debug, Clone, Copy)]
pub struct StreamEntryRef<'a> {
    /// Entry id.
    pub id: StreamId,
    blob: &'a [u8],
    /// SAMEFIELDS: the master fields; otherwise empty.
    master: &'a [Val],
    /// SAMEFIELDS: the values; otherwise the interleaved field/value pairs.
    vals: &'a [Val],
}

impl<'a> StreamEntryRef<'a> {
    /// Number of field/value pairs.
    pub fn len(&self) -> usize {
        if self.master.is_empty() {
            self.vals.len() / 2
        } else {
            self.vals.len()
        }
    }

    /// True for an entry without fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The field/value pairs in stored order.
    pub fn fields(&self) -> impl Iterator<Item = (Str<'a>, Str<'a>)> + 'a {
        let (blob, master, vals) = (self.blob, self.master, self.vals);
        let n = if master.is_empty() {
            vals.len() / 2
        } else {
            vals.len()
        };
        (0..n).map(move |i| {
            if master.is_empty() {
                (vals[2 * i].get(blob), vals[2 * i + 1].get(blob))
            } else {
                (master[i].get(blob), vals[i].get(blob))
            }
        })
    }
}

/// Stream metadata, after the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamMeta {
    /// Number of live entries as stored.
    pub length: u64,
    /// Last generated id.
    pub last_id: StreamId,
    /// First live id (types 19+).
    pub first_id: Option<StreamId>,
    /// Largest deleted id (types 19+).
    pub max_deleted_entry_id: Option<StreamId>,
    /// All-time entries added (types 19+).
    pub entries_added: Option<u64>,
    /// Number of consumer groups that follow.
    pub groups: u64,
    /// Number of listpack nodes the stream had.
    pub nodes: u64,
}

/// A consumer group header (its PEL and consumers follow as elements).
#[derive(Debug, Clone, Copy)]
pub struct StreamGroupRef<'a> {
    /// Group name.
    pub name: &'a [u8],
    /// Last delivered id.
    pub last_delivered_id: StreamId,
    /// Entries-read counter (types 19+; `None` when unknown or not stored).
    pub entries_read: Option<i64>,
    /// Number of pending entries that follow.
    pub pel_len: u64,
}

/// A pending entry of a consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingRef {
    /// Entry id.
    pub id: StreamId,
    /// Last delivery time (Unix ms).
    pub delivery_time_ms: i64,
    /// Delivery count.
    pub delivery_count: u64,
}

/// A consumer header (its PEL ids follow as elements).
#[derive(Debug, Clone, Copy)]
pub struct StreamConsumerRef<'a> {
    /// Consumer name.
    pub name: &'a [u8],
    /// Seen time (Unix ms).
    pub seen_time_ms: i64,
    /// Active time (type 21 only; -1 = never).
    pub active_time_ms: Option<i64>,
    /// Number of PEL ids that follow.
    pub pel_len: u64,
}

/// The IDMP configuration of a type-26 stream (Redis 8.6), after its groups;
/// its producers follow as elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamIdmpMeta {
    /// How long an iid is kept, in seconds (1..=86400).
    pub duration: u64,
    /// Iids kept per producer (1..=10000).
    pub maxsize: u64,
    /// Number of producers that follow.
    pub producers: u64,
}

/// An IDMP producer of a type-26 stream (its iids follow as elements).
#[derive(Debug, Clone, Copy)]
pub struct StreamProducerRef<'a> {
    /// Producer id.
    pub pid: &'a [u8],
    /// Number of iids stored for it (a duplicate iid is not returned, as the
    /// loader skips it).
    pub iids: u64,
}

/// A module value or module aux payload, skipped by its opcode framing.
#[derive(Debug, Clone, Copy)]
pub struct ModuleRef<'a> {
    /// The 64-bit module type id.
    pub module_id: u64,
    /// The encoding version (low 10 bits of the id).
    pub encver: u16,
    /// The annotated data after the id, up to and including the EOF opcode.
    pub data: &'a [u8],
}

impl ModuleRef<'_> {
    /// The 9-character module type name.
    pub fn type_name(&self) -> String {
        t::module_name(self.module_id).0
    }
}

/// One element of a value.
#[derive(Debug, Clone, Copy)]
pub enum Element<'a> {
    /// The value of a string key.
    String(Str<'a>),
    /// A list element or set member.
    Item(Str<'a>),
    /// A sorted-set member.
    Member {
        /// Member.
        member: Str<'a>,
        /// Score.
        score: f64,
    },
    /// A hash field.
    Field {
        /// Field name.
        field: Str<'a>,
        /// Value.
        value: Str<'a>,
        /// Absolute field expiry (Unix ms), if any.
        expire_ms: Option<i64>,
    },
    /// A live stream entry.
    StreamEntry(StreamEntryRef<'a>),
    /// Stream metadata (after the entries, before the groups).
    StreamMeta(StreamMeta),
    /// A consumer group.
    StreamGroup(StreamGroupRef<'a>),
    /// A pending entry of the last group.
    StreamPending(PendingRef),
    /// A consumer of the last group.
    StreamConsumer(StreamConsumerRef<'a>),
    /// A pending-entry id owned by the last consumer.
    StreamConsumerPending(StreamId),
    /// The IDMP configuration of a type-26 stream (after the groups).
    StreamIdmp(StreamIdmpMeta),
    /// An IDMP producer of the stream.
    StreamProducer(StreamProducerRef<'a>),
    /// An idempotent id of the last producer, oldest first, with the stream
    /// id it produced.
    StreamIid {
        /// The iid (arbitrary bytes).
        iid: &'a [u8],
        /// The entry id it produced.
        id: StreamId,
    },
    /// The IDMP all-time counters, the stream's last element (type 26).
    StreamIdmpCounters {
        /// Iids ever added.
        iids_added: u64,
        /// Duplicate iids ever rejected.
        iids_duplicates: u64,
    },
    /// A module value (type 7).
    Module(ModuleRef<'a>),
}

/// One event of an RDB file.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The header: which format and version.
    Header {
        /// `REDIS` or `VALKEY` magic.
        format: Format,
        /// Version number.
        version: u32,
    },
    /// An `AUX` field.
    Aux {
        /// Field name.
        name: &'a [u8],
        /// Field value.
        value: &'a [u8],
    },
    /// A `MODULE_AUX` record.
    ModuleAux {
        /// The module data.
        module: ModuleRef<'a>,
        /// When it was written: 1 before the keys, 2 after.
        when: u64,
    },
    /// A function library (`FUNCTION2`): its source code.
    Function {
        /// Library code, starting with `#!<engine> name=<library>`.
        code: &'a [u8],
    },
    /// `SELECTDB`.
    SelectDb {
        /// The database.
        db: u64,
    },
    /// `RESIZEDB` sizing hint.
    ResizeDb {
        /// Keys in the database.
        keys: u64,
        /// Keys with an expire.
        expires: u64,
    },
    /// `SLOT_INFO` sizing hint (Redis 7.4+ cluster).
    SlotInfo {
        /// Slot.
        slot: u64,
        /// Keys in the slot.
        keys: u64,
        /// Keys with an expire.
        expires: u64,
    },
    /// `SLOT_IMPORT` (Valkey 9): an in-progress slot import.
    SlotImport {
        /// Job name.
        job: &'a [u8],
        /// Slot ranges (start, end).
        ranges: &'a [(u64, u64)],
    },
    /// Start of a key record.
    KeyStart(KeyInfo<'a>),
    /// One element of the current key's value.
    Element(Element<'a>),
    /// End of a key record.
    KeyEnd(KeyEnd),
    /// End of file: the `EOF` opcode and the trailer were read. The last event.
    Eof {
        /// Offset of the `EOF` opcode.
        offset: u64,
        /// Offset just after the trailer.
        end: u64,
        /// Trailer status.
        checksum: Checksum,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blob {
    Zipmap,
    ListZiplist,
    Intset,
    ZsetZiplist,
    HashZiplist,
    HashListpack,
    ZsetListpack,
    SetListpack,
    HashListpackEx,
}

#[derive(Debug, Clone, Copy)]
enum Stream {
    /// Reading nodes; `left` nodes remain after the current one.
    Nodes {
        left: u64,
    },
    /// Iterating the decoded node in `vals` starting at `pos`; `entries` entries
    /// (live + deleted) remain in this node.
    Entries {
        left: u64,
        pos: usize,
        entries: u64,
    },
    Meta,
    Groups {
        left: u64,
    },
    Pel {
        groups_left: u64,
        left: u64,
    },
    Consumers {
        groups_left: u64,
        left: u64,
    },
    ConsumerPel {
        groups_left: u64,
        consumers_left: u64,
        left: u64,
    },
    /// Type 26: the IDMP configuration after the groups.
    Idmp,
    Producers {
        left: u64,
    },
    Iids {
        producers_left: u64,
        left: u64,
    },
    IdmpCounters,
}

#[derive(Debug, Clone, Copy)]
enum Value {
    String,
    Items { left: u64 },
    Zset { left: u64, binary: bool },
    Hash { left: u64 },
    HashMeta { left: u64, min: Option<u64> },
    ValkeyHash2 { left: u64 },
    BlobStart(Blob),
    Blob { kind: Blob, idx: usize },
    Quicklist { left: u64, v2: bool },
    QuicklistNode { left: u64, v2: bool, idx: usize },
    Stream(Stream),
    Module,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Magic,
    Body,
    Value(Value),
    KeyEnd,
    Done,
}

/// The streaming RDB reader. See the module documentation.
pub struct Reader<R> {
    src: Source<R>,
    opts: Options,
    state: State,
    format: Format,
    version: u32,
    /// Reading a DUMP payload: one value, no key, no opcodes.
    payload: bool,
    /// Reading a fragment (whole records cut from a file): the end of the input
    /// at a record boundary ends it.
    fragment: bool,
    /// In a fragment, the first record boundary at or after this offset ends
    /// it too ([`Reader::stop_at`]).
    stop_at: u64,
    /// Longest key name accepted ([`Reader::limit_keys`]).
    key_limit: u64,
    db: u64,
    // Key-scoped opcodes waiting for the next key.
    expire: Option<i64>,
    idle: Option<u64>,
    freq: Option<u8>,
    meta_classes: u64,
    pending_start: Option<u64>,
    // The current key.
    key: Vec<u8>,
    rdb_type: u8,
    key_offset: u64,
    value_offset: u64,
    elements: u64,
    field_ttls: u64,
    // Scratch buffers.
    sa: Vec<u8>,
    sb: Vec<u8>,
    tmp: Vec<u8>,
    blob: Vec<u8>,
    blob_offset: u64,
    blob_lzf: bool,
    vals: Vec<Val>,
    dups: DupSet,
    dups2: DupSet,
    ranges: Vec<(u64, u64)>,
    // Stream state.
    master_id: StreamId,
    master_fields: (usize, usize),
    stream_live: u64,
    stream_nodes: u64,
    stream_type: u8,
    node_keys: DupSet,
    // Findings that do not stop the reader ([`Reader::take_warnings`]).
    warnings: Vec<Error>,
    /// Once-per-reader warnings already given ([`Warned`] bits).
    warned: u8,
    /// The current key's `KEY_META` classes: (class spec, data range in
    /// `key_meta`).
    key_meta: Vec<u8>,
    key_meta_classes: Vec<(u32, usize, usize)>,
}

/// Warnings given once per reader (bits of `Reader::warned`).
struct Warned;

impl Warned {
    const FUNCTION_PRE_GA: u8 = 1;
    const RAM_LRU: u8 = 2;
    const SLOT_NUM: u8 = 4;
}

/// Most warnings a reader keeps before [`Reader::take_warnings`] is called
/// (readers whose user never takes them stay bounded).
const MAX_PENDING_WARNINGS: usize = 64;

/// One class of a key's `KEY_META` (Redis 8.6, FORMATS.md §8.1.3).
#[derive(Debug, Clone, Copy)]
pub struct KeyMetaClass<'a> {
    /// The raw 32-bit class spec (bits 31..8 name, 7..3 version, 2..0 flags).
    pub spec: u32,
    /// The class's module-framed data, up to and including its EOF opcode.
    pub data: &'a [u8],
}

impl KeyMetaClass<'_> {
    /// The 4-character class name (6 bits per character, `A-Z a-z 0-9 _ -`).
    pub fn name(&self) -> String {
        const CHARSET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        (0..4)
            .map(|i| CHARSET[((self.spec >> (26 - 6 * i)) & 63) as usize] as char)
            .collect()
    }

    /// The class version (0..31).
    pub fn version(&self) -> u8 {
        ((self.spec >> 3) & 31) as u8
    }

    /// The flags (bit 0: `ALLOW_IGNORE`).
    pub fn flags(&self) -> u8 {
        (self.spec & 7) as u8
    }
}

/// Where the bytes of an element are (resolved by `render`).
#[derive(Debug, Clone, Copy)]
enum Src {
    A,
    B,
    Int(i64),
    Blob(Val),
}

#[derive(Debug, Clone, Copy)]
enum RawElem {
    String(Src),
    Item(Src),
    Member {
        member: Src,
        score: f64,
    },
    Field {
        field: Src,
        value: Src,
        expire_ms: Option<i64>,
    },
    StreamEntry {
        id: StreamId,
        same: bool,
        start: usize,
        len: usize,
    },
    StreamMeta(StreamMeta),
    StreamGroup {
        last_delivered_id: StreamId,
        entries_read: Option<i64>,
        pel_len: u64,
    },
    StreamPending(PendingRef),
    StreamConsumer {
        seen_time_ms: i64,
        active_time_ms: Option<i64>,
        pel_len: u64,
    },
    ConsumerPending(StreamId),
    StreamIdmp(StreamIdmpMeta),
    StreamProducer {
        iids: u64,
    },
    StreamIid(StreamId),
    StreamIdmpCounters(u64, u64),
    Module {
        module_id: u64,
    },
}

#[derive(Debug, Clone, Copy)]
enum Raw {
    Header,
    Aux,
    ModuleAux {
        module_id: u64,
        when: u64,
    },
    Function,
    SelectDb(u64),
    ResizeDb(u64, u64),
    SlotInfo(u64, u64, u64),
    SlotImport,
    KeyStart,
    Elem(RawElem),
    KeyEnd(KeyEnd),
    Eof {
        offset: u64,
        end: u64,
        checksum: Checksum,
    },
}

/// A plain length or a special string encoding (`11xxxxxx`).
enum Len {
    Plain(u64),
    Special(u8),
}

type Res<T> = Result<T, Error>;

#[inline]
fn src_err(at: u64, e: SourceError, reading: &'static str) -> Error {
    Error::from_source(at, e, reading)
}

/// Reads an RDB length (FORMATS.md §1.3).
#[inline]
fn read_len_raw<R: Input>(src: &mut Source<R>, reading: &'static str) -> Res<Len> {
    let at = src.offset();
    let b = src.read_u8().map_err(|e| src_err(at, e, reading))?;
    len_rest(src, b, at, reading)
}

/// Finishes reading a length whose first byte `b` (at offset `at`) was read.
#[inline]
fn len_rest<R: Input>(src: &mut Source<R>, b: u8, at: u64, reading: &'static str) -> Res<Len> {
    match b >> 6 {
        0 => Ok(Len::Plain(u64::from(b & 0x3f))),
        1 => {
            let b2 = src.read_u8().map_err(|e| src_err(at, e, reading))?;
            Ok(Len::Plain((u64::from(b & 0x3f) << 8) | u64::from(b2)))
        }
        2 => match b {
            0x80 => {
                let v = src.read_array::<4>().map_err(|e| src_err(at, e, reading))?;
                Ok(Len::Plain(u64::from(u32::from_be_bytes(v))))
            }
            0x81 => {
                let v = src.read_array::<8>().map_err(|e| src_err(at, e, reading))?;
                Ok(Len::Plain(u64::from_be_bytes(v)))
            }
            _ => Err(Error::new(at, ErrorKind::BadLength(b)).within(reading)),
        },
        _ => Ok(Len::Special(b & 0x3f)),
    }
}

/// Fails when the string about to be read is declared longer than `limit`
/// bytes ([`Reader::limit_keys`]); reads nothing. The declared length is a
/// plain one or an LZF string's compressed length (its expansion is bounded
/// by that: [`lzf_read`]); an integer encoding, an invalid one, or a header
/// cut by the end of the input passes (its own read fails or is short).
#[cold]
fn check_limit<R: Input>(src: &mut Source<R>, limit: u64, reading: &'static str) -> Res<()> {
    let at = src.offset();
    let head = src.peek(10).map_err(|e| src_err(at, e, reading))?;
    let declared = declared_len(head);
    if declared > limit {
        let what = if reading == "a key" {
            "key name"
        } else {
            reading
        };
        // Built by hand: a reader that tries positions that may not be
        // records (the only one with a limit) fails here often, and
        // `format!` cost as much as the rest of such a try.
        let (mut a, mut b) = (itoa::Buffer::new(), itoa::Buffer::new());
        let mut msg = String::with_capacity(48);
        for part in [
            what,
            " of ",
            a.format(declared),
            " bytes (limit ",
            b.format(limit),
            ")",
        ] {
            msg.push_str(part);
        }
        return Err(Error::corrupt(at, msg));
    }
    Ok(())
}

/// The length of the string whose header starts `head`, as written: a plain
/// length, or an LZF string's compressed length; 0 for an integer or invalid
/// encoding, or a header not all in `head`.
fn declared_len(head: &[u8]) -> u64 {
    let plain = |p: usize| match (plain_len(head, p), head.get(p)) {
        (Some((_, n)), _) => n as u64,
        (None, Some(0x81)) => head
            .get(p + 1..p + 9)
            .map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap_or_default())),
        _ => 0,
    };
    match head.first() {
        Some(0xc3) => plain(1),
        Some(_) => plain(0),
        None => 0,
    }
}

/// Reads a plain length: a count, an id, a database number, a compressed
/// length. A special-encoding byte (`11xxxxxx`) there is the length of its low
/// six bits, as Redis reads it (`rdbLoadLen` without `isencoded`: the loader,
/// `redis-check-rdb` and `RESTORE` accept it), so the verdicts agree.
#[inline]
fn read_len<R: Input>(src: &mut Source<R>, reading: &'static str) -> Res<u64> {
    match read_len_raw(src, reading)? {
        Len::Plain(n) => Ok(n),
        Len::Special(x) => Ok(u64::from(x)),
    }
}

/// Reads a count of items that each take at least `min_bytes`, bounded by what is
/// left of the input.
#[inline]
fn read_count<R: Input>(src: &mut Source<R>, reading: &'static str, min_bytes: u64) -> Res<u64> {
    let at = src.offset();
    let n = read_len(src, reading)?;
    if let Some(rem) = src.remaining() {
        if n.saturating_mul(min_bytes) > rem {
            return Err(Error::new(
                at,
                ErrorKind::LengthTooLarge {
                    reading,
                    len: n,
                    remaining: rem,
                },
            ));
        }
    }
    Ok(n)
}

#[inline]
fn read_u8<R: Input>(src: &mut Source<R>, reading: &'static str) -> Res<u8> {
    let at = src.offset();
    src.read_u8().map_err(|e| src_err(at, e, reading))
}

#[inline]
fn read_i64le<R: Input>(src: &mut Source<R>, reading: &'static str) -> Res<i64> {
    let at = src.offset();
    Ok(i64::from_le_bytes(
        src.read_array::<8>().map_err(|e| src_err(at, e, reading))?,
    ))
}

/// Reads an RDB string (FORMATS.md §1.4). Integer encodings return `Read2::Int`;
/// otherwise the bytes are in `out` (replaced).
fn read_string<R: Input>(
    src: &mut Source<R>,
    out: &mut Vec<u8>,
    tmp: &mut Vec<u8>,
    reading: &'static str,
) -> Res<Read2> {
    let at = src.offset();
    match read_len_raw(src, reading)? {
        Len::Plain(n) => {
            out.clear();
            read_bytes(src, n, out, at, reading)?;
            Ok(Read2::Bytes)
        }
        Len::Special(0) => {
            let b = src.read_array::<1>().map_err(|e| src_err(at, e, reading))?;
            Ok(Read2::Int(i64::from(b[0] as i8)))
        }
        Len::Special(1) => {
            let b = src.read_array::<2>().map_err(|e| src_err(at, e, reading))?;
            Ok(Read2::Int(i64::from(i16::from_le_bytes(b))))
        }
        Len::Special(2) => {
            let b = src.read_array::<4>().map_err(|e| src_err(at, e, reading))?;
            Ok(Read2::Int(i64::from(i32::from_le_bytes(b))))
        }
        Len::Special(3) => {
            let clen = read_len(src, reading)?;
            let ulen = read_len(src, reading)?;
            lzf_body(src, clen, ulen, out, tmp, at, reading)?;
            Ok(Read2::Bytes)
        }
        Len::Special(x) => {
            Err(Error::new(at, ErrorKind::BadStringEncoding(0xc0 | x)).within(reading))
        }
    }
}

fn read_bytes<R: Input>(
    src: &mut Source<R>,
    n: u64,
    out: &mut Vec<u8>,
    at: u64,
    reading: &'static str,
) -> Res<()> {
    bound_by_remaining(src, n, at, reading)?;
    if n > MAX_STRING {
        return Err(Error::new(
            at,
            ErrorKind::LengthTooLarge {
                reading,
                len: n,
                remaining: MAX_STRING,
            },
        ));
    }
    src.read_into(n, out).map_err(|e| src_err(at, e, reading))
}

/// Reads `clen` compressed bytes and decompresses them into `out` (`ulen` bytes).
fn lzf_body<R: Input>(
    src: &mut Source<R>,
    clen: u64,
    ulen: u64,
    out: &mut Vec<u8>,
    tmp: &mut Vec<u8>,
    at: u64,
    reading: &'static str,
) -> Res<()> {
    lzf_read(src, clen, ulen, tmp, at, reading, |input, ulen| {
        super::lzf::decompress_into(input, ulen, out)
    })
}

/// Reads `clen` compressed bytes and checks that they decompress to exactly
/// `ulen` bytes, without producing them (a value nobody reads): the verdict of
/// [`lzf_body`] at a fraction of the cost.
fn lzf_check<R: Input>(
    src: &mut Source<R>,
    clen: u64,
    ulen: u64,
    tmp: &mut Vec<u8>,
    at: u64,
    reading: &'static str,
) -> Res<()> {
    lzf_read(src, clen, ulen, tmp, at, reading, super::lzf::validate)
}

/// Reads `clen` compressed bytes declared to expand to `ulen` and hands them to
/// `decode` (straight from the input buffer when they fit in [`IN_PLACE`], else
/// through `tmp`).
fn lzf_read<R: Input>(
    src: &mut Source<R>,
    clen: u64,
    ulen: u64,
    tmp: &mut Vec<u8>,
    at: u64,
    reading: &'static str,
    decode: impl FnOnce(&[u8], usize) -> Result<(), super::lzf::LzfError>,
) -> Res<()> {
    if ulen > MAX_STRING || ulen > clen.saturating_mul(88).saturating_add(8) {
        return Err(Error::new(
            at,
            ErrorKind::Lzf(format!(
                "{clen} compressed bytes cannot expand to the declared {ulen} bytes"
            )),
        )
        .within(reading));
    }
    let verdict = if clen <= IN_PLACE {
        decode(read_in_place(src, clen, at, reading)?, ulen as usize)
    } else {
        tmp.clear();
        read_bytes(src, clen, tmp, at, reading)?;
        decode(tmp, ulen as usize)
    };
    verdict.map_err(|e| Error::new(at, ErrorKind::Lzf(e.to_string())).within(reading))
}

/// Strings (and compressed strings) up to this size are read straight from the
/// input buffer instead of being copied out.
const IN_PLACE: u64 = 1 << 20;

/// Reads `n` (at most [`IN_PLACE`]) bytes as a slice of the input buffer,
/// bounded by what is left of the input.
#[inline]
fn read_in_place<'s, R: Input>(
    src: &'s mut Source<R>,
    n: u64,
    at: u64,
    reading: &'static str,
) -> Res<&'s [u8]> {
    bound_by_remaining(src, n, at, reading)?;
    src.read_slice(n as usize)
        .map_err(|e| src_err(at, e, reading))
}

/// Fails when `n` bytes are more than what is left of the input (when its size
/// is known), before anything is read or allocated.
#[inline]
fn bound_by_remaining<R: Input>(
    src: &Source<R>,
    n: u64,
    at: u64,
    reading: &'static str,
) -> Res<()> {
    match src.remaining() {
        Some(rem) if n > rem => Err(Error::new(
            at,
            ErrorKind::LengthTooLarge {
                reading,
                len: n,
                remaining: rem,
            },
        )),
        _ => Ok(()),
    }
}

/// Skips `n` bytes, bounded by what is left of the input.
fn read_skip<R: Input>(src: &mut Source<R>, n: u64, at: u64, reading: &'static str) -> Res<()> {
    bound_by_remaining(src, n, at, reading)?;
    src.skip(n).map_err(|e| src_err(at, e, reading))
}

/// Reads a string as bytes (integers converted to text) into `out`: a name
/// (a key, an AUX field, a function library, a stream group or consumer),
/// failing before anything is read when it is declared longer than `limit`
/// ([`Reader::limit_keys`]; `u64::MAX`: no limit).
#[inline]
fn read_string_bytes<R: Input>(
    src: &mut Source<R>,
    out: &mut Vec<u8>,
    tmp: &mut Vec<u8>,
    limit: u64,
    reading: &'static str,
) -> Res<()> {
    if limit != u64::MAX {
        check_limit(src, limit, reading)?;
    }
    if let Read2::Int(i) = read_string(src, out, tmp, reading)? {
        out.clear();
        out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    }
    Ok(())
}

/// Copies the raw bytes of one length to `out`.
fn copy_len<R: Input>(src: &mut Source<R>, out: &mut Vec<u8>, reading: &'static str) -> Res<Len> {
    let at = src.offset();
    let b = read_u8(src, reading)?;
    out.push(b);
    let extra = match b >> 6 {
        0 | 3 => 0,
        1 => 1,
        _ => match b {
            0x80 => 4,
            0x81 => 8,
            _ => return Err(Error::new(at, ErrorKind::BadLength(b)).within(reading)),
        },
    };
    if extra > 0 {
        let s = src.read_slice(extra).map_err(|e| src_err(at, e, reading))?;
        out.extend_from_slice(s);
    }
    let tail = &out[out.len() - 1 - extra..];
    Ok(match b >> 6 {
        0 => Len::Plain(u64::from(b & 0x3f)),
        1 => Len::Plain((u64::from(b & 0x3f) << 8) | u64::from(tail[1])),
        3 => Len::Special(b & 0x3f),
        _ => {
            let mut v = 0u64;
            for &x in &tail[1..] {
                v = (v << 8) | u64::from(x);
            }
            Len::Plain(v)
        }
    })
}

/// Copies the raw bytes of one string to `out` (validating LZF framing only by
/// lengths: module payloads are kept as they are), or with `to` skips them.
fn copy_string<R: Input>(
    src: &mut Source<R>,
    out: &mut Vec<u8>,
    to: ModuleData,
    reading: &'static str,
) -> Res<()> {
    let at = src.offset();
    let n = match copy_len(src, out, reading)? {
        Len::Plain(n) => n,
        Len::Special(0) => 1,
        Len::Special(1) => 2,
        Len::Special(2) => 4,
        Len::Special(3) => {
            // Both LZF lengths are plain lengths (see `read_len`).
            let clen = match copy_len(src, out, reading)? {
                Len::Plain(n) => n,
                Len::Special(x) => u64::from(x),
            };
            copy_len(src, out, reading)?;
            clen
        }
        Len::Special(x) => {
            return Err(Error::new(at, ErrorKind::BadStringEncoding(0xc0 | x)).within(reading));
        }
    };
    match to {
        ModuleData::Skip => read_skip(src, n, at, reading),
        ModuleData::Copy(limit) if (out.len() as u64).saturating_add(n) > limit => {
            Err(Error::corrupt(
                at,
                format!("{reading} past {limit} bytes of module data (limit)"),
            ))
        }
        ModuleData::Copy(_) => read_bytes(src, n, out, at, reading),
    }
}

/// What [`copy_module_data`] does with the bytes it walks.
#[derive(Clone, Copy)]
enum ModuleData {
    /// Appends them, failing once they would pass this many bytes
    /// ([`Reader::limit_keys`]; `u64::MAX`: no limit).
    Copy(u64),
    /// Skips its strings without copying them (a frame-only reader passing a
    /// module value: what chance bytes frame as one can span the rest of the
    /// input); `out` then holds only the small fields.
    Skip,
}

/// Walks module data (FORMATS.md §1.13) up to and including the EOF opcode,
/// appending the raw bytes to `out` (see [`ModuleData`]).
fn copy_module_data<R: Input>(src: &mut Source<R>, out: &mut Vec<u8>, to: ModuleData) -> Res<()> {
    loop {
        if matches!(to, ModuleData::Skip) {
            out.clear();
        }
        let at = src.offset();
        let op = match copy_len(src, out, "module data opcode")? {
            Len::Plain(n) => n,
            Len::Special(x) => {
                return Err(Error::corrupt(
                    at,
                    format!("invalid module data opcode 0x{:02x}", 0xc0 | x),
                ));
            }
        };
        match op {
            0 => return Ok(()),
            1 | 2 => {
                if let Len::Special(_) = copy_len(src, out, "module integer")? {
                    return Err(Error::corrupt(at, "invalid module integer"));
                }
            }
            3 | 4 => {
                let n = if op == 3 { 4 } else { 8 };
                let s = src
                    .read_slice(n)
                    .map_err(|e| src_err(at, e, "module float"))?;
                out.extend_from_slice(s);
            }
            5 => copy_string(src, out, to, "module string")?,
            _ => {
                return Err(Error::corrupt(
                    at,
                    format!("unknown module data opcode {op}"),
                ));
            }
        }
    }
}

/// Reads a zset score: 8 bytes little-endian (type 5) or a text double (type 3:
/// a length byte, 253/254/255 meaning NaN/+inf/-inf). NaN is returned as is (the
/// caller rejects it).
fn read_score<R: Input>(src: &mut Source<R>, binary: bool) -> Res<f64> {
    let at = src.offset();
    if binary {
        return Ok(f64::from_le_bytes(
            src.read_array::<8>()
                .map_err(|e| src_err(at, e, "a score"))?,
        ));
    }
    Ok(match read_u8(src, "a score")? {
        253 => f64::NAN,
        254 => f64::INFINITY,
        255 => f64::NEG_INFINITY,
        n => {
            let s = src
                .read_slice(n as usize)
                .map_err(|e| src_err(at, e, "a score"))?;
            std::str::from_utf8(s)
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .ok_or_else(|| Error::corrupt(at, "unparsable text score"))?
        }
    })
}

/// Whether [`parse_score`] accepts `s`, without computing the value when the
/// text is a plain decimal (`-?digits(.digits)?`, what Redis writes for most
/// scores), which every float parser accepts and which is never NaN. Checking
/// a file only needs the verdict, and correctly rounded parsing was 5% of
/// checking a large RDB.
fn score_is_valid(s: Str<'_>) -> bool {
    if let Str::Bytes(b) = s {
        let digits = b.strip_prefix(b"-").unwrap_or(b);
        let (int, frac) = match digits.iter().position(|&c| c == b'.') {
            Some(dot) => (&digits[..dot], Some(&digits[dot + 1..])),
            None => (digits, None),
        };
        let all_digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
        if all_digits(int) && frac.is_none_or(all_digits) {
            return true;
        }
    }
    parse_score(s).is_some()
}

fn parse_score(s: Str<'_>) -> Option<f64> {
    let v = match s {
        Str::Int(i) => i as f64,
        Str::Bytes(b) => std::str::from_utf8(b).ok()?.parse::<f64>().ok()?,
    };
    if v.is_nan() { None } else { Some(v) }
}

/// Reads a stream id made of two lengths.
fn read_id<R: Input>(src: &mut Source<R>, reading: &'static str) -> Res<StreamId> {
    let ms = read_len(src, reading)?;
    let seq = read_len(src, reading)?;
    Ok(StreamId::new(ms, seq))
}

fn read_raw_id<R: Input>(src: &mut Source<R>, reading: &'static str) -> Res<StreamId> {
    let at = src.offset();
    let b = src
        .read_array::<16>()
        .map_err(|e| src_err(at, e, reading))?;
    Ok(StreamId::from_be_bytes(&b))
}

impl<R: Input> Reader<R> {
    /// Returns the next event, or `None` after the end of the file (or, for a
    /// payload reader, after the value).
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, Error> {
        let in_key = matches!(self.state, State::Value(_) | State::KeyEnd);
        match self.step() {
            Ok(raw) => Ok(raw.map(|r| self.render(r))),
            Err(e) => {
                self.state = State::Done;
                Err(if in_key {
                    e.with_key(self.key_ctx())
                } else {
                    e.with_db(self.db)
                })
            }
        }
    }

    fn src_str(&self, s: Src) -> Str<'_> {
        match s {
            Src::A => Str::Bytes(&self.sa),
            Src::B => Str::Bytes(&self.sb),
            Src::Int(i) => Str::Int(i),
            Src::Blob(v) => v.get(&self.blob),
        }
    }

    fn render_elem(&self, e: RawElem) -> Element<'_> {
        match e {
            RawElem::String(s) => Element::String(self.src_str(s)),
            RawElem::Item(s) => Element::Item(self.src_str(s)),
            RawElem::Member { member, score } => Element::Member {
                member: self.src_str(member),
                score,
            },
            RawElem::Field {
                field,
                value,
                expire_ms,
            } => Element::Field {
                field: self.src_str(field),
                value: self.src_str(value),
                expire_ms,
            },
            RawElem::StreamEntry {
                id,
                same,
                start,
                len,
            } => {
                let (ms, mn) = self.master_fields;
                Element::StreamEntry(StreamEntryRef {
                    id,
                    blob: &self.blob,
                    master: if same { &self.vals[ms..ms + mn] } else { &[] },
                    vals: &self.vals[start..start + len],
                })
            }
            RawElem::StreamMeta(m) => Element::StreamMeta(m),
            RawElem::StreamGroup {
                last_delivered_id,
                entries_read,
                pel_len,
            } => Element::StreamGroup(StreamGroupRef {
                name: &self.sa,
                last_delivered_id,
                entries_read,
                pel_len,
            }),
            RawElem::StreamPending(p) => Element::StreamPending(p),
            RawElem::StreamConsumer {
                seen_time_ms,
                active_time_ms,
                pel_len,
            } => Element::StreamConsumer(StreamConsumerRef {
                name: &self.sa,
                seen_time_ms,
                active_time_ms,
                pel_len,
            }),
            RawElem::ConsumerPending(id) => Element::StreamConsumerPending(id),
            RawElem::StreamIdmp(m) => Element::StreamIdmp(m),
            RawElem::StreamProducer { iids } => Element::StreamProducer(StreamProducerRef {
                pid: &self.sa,
                iids,
            }),
            RawElem::StreamIid(id) => Element::StreamIid { iid: &self.sa, id },
            RawElem::StreamIdmpCounters(iids_added, iids_duplicates) => {
                Element::StreamIdmpCounters {
                    iids_added,
                    iids_duplicates,
                }
            }
            RawElem::Module { module_id } => Element::Module(ModuleRef {
                module_id,
                encver: (module_id & 1023) as u16,
                data: &self.blob,
            }),
        }
    }

    fn render(&self, raw: Raw) -> Event<'_> {
        match raw {
            Raw::Header => Event::Header {
                format: self.format,
                version: self.version,
            },
            Raw::Aux => Event::Aux {
                name: &self.sa,
                value: &self.sb,
            },
            Raw::ModuleAux { module_id, when } => Event::ModuleAux {
                module: ModuleRef {
                    module_id,
                    encver: (module_id & 1023) as u16,
                    data: &self.blob,
                },
                when,
            },
            Raw::Function => Event::Function { code: &self.sa },
            Raw::SelectDb(db) => Event::SelectDb { db },
            Raw::ResizeDb(keys, expires) => Event::ResizeDb { keys, expires },
            Raw::SlotInfo(slot, keys, expires) => Event::SlotInfo {
                slot,
                keys,
                expires,
            },
            Raw::SlotImport => Event::SlotImport {
                job: &self.sa,
                ranges: &self.ranges,
            },
            Raw::KeyStart => Event::KeyStart(KeyInfo {
                offset: self.key_offset,
                db: self.db,
                key: &self.key,
                rdb_type: self.rdb_type,
                expire_ms: self.expire,
                lru_idle: self.idle,
                lfu_freq: self.freq,
                meta_classes: self.meta_classes,
            }),
            Raw::Elem(e) => Event::Element(self.render_elem(e)),
            Raw::KeyEnd(k) => Event::KeyEnd(k),
            Raw::Eof {
                offset,
                end,
                checksum,
            } => Event::Eof {
                offset,
                end,
                checksum,
            },
        }
    }

    fn step(&mut self) -> Res<Option<Raw>> {
        match self.state {
            State::Magic => self.read_magic().map(Some),
            State::Body => self.read_record(),
            State::Value(v) => self.read_value(v).map(Some),
            State::KeyEnd => {
                let end = KeyEnd {
                    offset: self.key_offset,
                    end: self.src.offset(),
                    elements: self.elements,
                    field_ttls: self.field_ttls,
                    empty: !self.opts.frame_only
                        && self.elements == 0
                        && !matches!(
                            t::key_type(self.rdb_type),
                            Some(
                                crate::model::KeyType::Stream
                                    | crate::model::KeyType::String
                                    | crate::model::KeyType::Module
                            )
                        ),
                };
                self.state = if self.payload {
                    State::Done
                } else {
                    State::Body
                };
                Ok(Some(Raw::KeyEnd(end)))
            }
            State::Done => Ok(None),
        }
    }

    fn read_magic(&mut self) -> Res<Raw> {
        let at = self.src.offset();
        let head = self
            .src
            .peek(9)
            .map_err(|e| src_err(at, e, "the RDB header"))?
            .to_vec();
        let (format, digits) = if head.starts_with(b"REDIS") {
            (Format::Redis, &head[5..])
        } else if head.starts_with(b"VALKEY") {
            (Format::Valkey, &head[6..])
        } else {
            if head.len() < 9
                && (b"REDIS".starts_with(&head[..head.len().min(5)])
                    || b"VALKEY".starts_with(&head[..head.len().min(6)]))
            {
                return Err(Error::new(
                    at,
                    ErrorKind::UnexpectedEof {
                        reading: "the RDB header",
                        needed: (9 - head.len()) as u64,
                    },
                ));
            }
            return Err(Error::new(at, ErrorKind::BadMagic(head)));
        };
        if head.len() < 9 {
            return Err(Error::new(
                at,
                ErrorKind::UnexpectedEof {
                    reading: "the RDB header",
                    needed: (9 - head.len()) as u64,
                },
            ));
        }
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(Error::new(at, ErrorKind::BadMagic(head)));
        }
        let version: u32 = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let newest = match format {
            Format::Redis => t::NEWEST_REDIS,
            Format::Valkey => t::NEWEST_VALKEY,
        };
        let oldest = match format {
            Format::Redis => 1,
            Format::Valkey => 80,
        };
        if version < oldest {
            // Not a newer server's file: no server writes this header.
            return Err(Error::corrupt(
                at + 5,
                format!(
                    "invalid RDB version {version} for the {} magic (versions {oldest} to {newest} exist)",
                    match format {
                        Format::Redis => "REDIS",
                        Format::Valkey => "VALKEY",
                    }
                ),
            ));
        }
        if version > newest {
            return Err(Error::new(
                at + 5,
                ErrorKind::UnsupportedVersion { version, newest },
            ));
        }
        self.src
            .skip(9)
            .map_err(|e| src_err(at, e, "the RDB header"))?;
        self.format = format;
        self.version = version;
        self.state = State::Body;
        Ok(Raw::Header)
    }

    fn clear_pending(&mut self) {
        self.expire = None;
        self.idle = None;
        self.freq = None;
        self.meta_classes = 0;
        self.key_meta.clear();
        self.key_meta_classes.clear();
        self.pending_start = None;
    }

    /// Records a finding that does not stop the reader.
    #[cold]
    fn warn(&mut self, e: Error) {
        if self.warnings.len() < MAX_PENDING_WARNINGS {
            self.warnings.push(e);
        }
    }

    /// Records a warning the first time a `bit` of [`Warned`] is seen.
    #[cold]
    fn warn_once(&mut self, bit: u8, e: impl FnOnce() -> Error) {
        if self.warned & bit == 0 {
            self.warned |= bit;
            self.warn(e());
        }
    }

    /// Reads opcodes until something to report.
    fn read_record(&mut self) -> Res<Option<Raw>> {
        loop {
            let at = self.src.offset();
            if self.fragment
                && self.pending_start.is_none()
                && (at >= self.stop_at
                    || self
                        .src
                        .at_eof()
                        .map_err(|e| src_err(at, e, "a record type"))?)
            {
                self.state = State::Done;
                return Ok(None);
            }
            let op = read_u8(&mut self.src, "a record type")?;
            if self.payload {
                return self.start_key(op, at, true).map(Some);
            }
            match op {
                t::OP_EOF => return self.read_eof(at).map(Some),
                t::OP_SELECTDB => {
                    let db = read_len(&mut self.src, "SELECTDB")?;
                    self.db = db;
                    return Ok(Some(Raw::SelectDb(db)));
                }
                t::OP_RESIZEDB => {
                    let a = read_len(&mut self.src, "RESIZEDB")?;
                    let b = read_len(&mut self.src, "RESIZEDB")?;
                    return Ok(Some(Raw::ResizeDb(a, b)));
                }
                t::OP_AUX => {
                    read_string_bytes(
                        &mut self.src,
                        &mut self.sa,
                        &mut self.tmp,
                        self.key_limit,
                        "an AUX field name",
                    )?;
                    read_string_bytes(
                        &mut self.src,
                        &mut self.sb,
                        &mut self.tmp,
                        self.key_limit,
                        "an AUX field value",
                    )?;
                    return Ok(Some(Raw::Aux));
                }
                t::OP_EXPIRETIME_MS => {
                    self.pending_start.get_or_insert(at);
                    self.expire = Some(read_i64le(&mut self.src, "EXPIRETIME_MS")?);
                }
                t::OP_EXPIRETIME => {
                    self.pending_start.get_or_insert(at);
                    let b = self
                        .src
                        .read_array::<4>()
                        .map_err(|e| src_err(at, e, "EXPIRETIME"))?;
                    self.expire = Some(i64::from(i32::from_le_bytes(b)) * 1000);
                }
                t::OP_IDLE => {
                    self.pending_start.get_or_insert(at);
                    self.idle = Some(read_len(&mut self.src, "IDLE")?);
                }
                t::OP_FREQ => {
                    self.pending_start.get_or_insert(at);
                    self.freq = Some(read_u8(&mut self.src, "FREQ")?);
                }
                t::OP_MODULE_AUX => {
                    let module_id = read_len(&mut self.src, "MODULE_AUX module id")?;
                    let wat = self.src.offset();
                    let when_op = read_len(&mut self.src, "MODULE_AUX")?;
                    if when_op != 2 {
                        return Err(Error::corrupt(
                            wat,
                            format!("bad when_opcode {when_op} in MODULE_AUX (expected 2)"),
                        ));
                    }
                    let when = read_len(&mut self.src, "MODULE_AUX")?;
                    self.blob.clear();
                    let to = ModuleData::Copy(self.key_limit);
                    copy_module_data(&mut self.src, &mut self.blob, to).map_err(|e| {
                        e.within(format!(
                            "MODULE_AUX data of module {}",
                            t::module_name(module_id).0
                        ))
                    })?;
                    return Ok(Some(Raw::ModuleAux { module_id, when }));
                }
                t::OP_FUNCTION2 => {
                    read_string_bytes(
                        &mut self.src,
                        &mut self.sa,
                        &mut self.tmp,
                        self.key_limit,
                        "a function library",
                    )?;
                    return Ok(Some(Raw::Function));
                }
                t::OP_FUNCTION_PRE_GA => {
                    self.read_function_pre_ga()?;
                    self.warn_once(Warned::FUNCTION_PRE_GA, || {
                        Error::corrupt(
                            at,
                            "function library in the pre-release format of Redis 7.0 release candidates (FUNCTION_PRE_GA): Redis 7.0 loads it, Redis 7.2 and later refuse the file",
                        )
                    });
                    return Ok(Some(Raw::Function));
                }
                t::OP_SLOT_INFO => {
                    let a = read_len(&mut self.src, "SLOT_INFO")?;
                    let b = read_len(&mut self.src, "SLOT_INFO")?;
                    let c = read_len(&mut self.src, "SLOT_INFO")?;
                    return Ok(Some(Raw::SlotInfo(a, b, c)));
                }
                t::OP_F3 if self.format == Format::Valkey => {
                    read_string_bytes(
                        &mut self.src,
                        &mut self.sa,
                        &mut self.tmp,
                        self.key_limit,
                        "SLOT_IMPORT job name",
                    )?;
                    let n = read_count(&mut self.src, "SLOT_IMPORT ranges", 2)?;
                    self.ranges.clear();
                    for _ in 0..n {
                        let a = read_len(&mut self.src, "SLOT_IMPORT range")?;
                        let b = read_len(&mut self.src, "SLOT_IMPORT range")?;
                        self.ranges.push((a, b));
                    }
                    return Ok(Some(Raw::SlotImport));
                }
                t::OP_F3 if self.version >= 13 => {
                    // Redis 8.6 KEY_META: LEN classes, each a 4-byte class spec and
                    // module-annotated data ending with EOF. Skipped and counted.
                    self.pending_start.get_or_insert(at);
                    let n = read_count(&mut self.src, "KEY_META classes", 5)?;
                    for _ in 0..n {
                        let cat = self.src.offset();
                        let spec = self
                            .src
                            .read_array::<4>()
                            .map_err(|e| src_err(cat, e, "KEY_META class spec"))?;
                        // Host order, little-endian on every platform Redis runs on.
                        let spec = u32::from_le_bytes(spec);
                        let start = self.key_meta.len();
                        let to = ModuleData::Copy(self.key_limit);
                        copy_module_data(&mut self.src, &mut self.key_meta, to)
                            .map_err(|e| e.within("KEY_META class data"))?;
                        self.key_meta_classes
                            .push((spec, start, self.key_meta.len()));
                    }
                    self.meta_classes += n;
                }
                t::OP_ENT_RAM_LRU | t::OP_ENT_SLOT_NUM if self.format == Format::Redis => {
                    // Redis Enterprise opcodes: one length each, skipped as
                    // redis/librdb does (Redis' own loader refuses them).
                    self.pending_start.get_or_insert(at);
                    read_len(&mut self.src, "a Redis Enterprise opcode")?;
                    let (bit, name) = if op == t::OP_ENT_RAM_LRU {
                        (Warned::RAM_LRU, "RAM_LRU")
                    } else {
                        (Warned::SLOT_NUM, "SLOT_NUM")
                    };
                    self.warn_once(bit, || {
                        Error::corrupt(
                            at,
                            format!(
                                "Redis Enterprise opcode {op} ({name}) skipped, as redis/librdb does: Redis and Valkey refuse to load this file"
                            ),
                        )
                    });
                }
                0xf0..=0xf3 if self.newest_version() => {
                    return Err(Error::new(at, ErrorKind::UnknownOpcode(op)));
                }
                0xf0..=0xf3 => {
                    return Err(Error::corrupt(
                        at,
                        format!(
                            "invalid opcode 0x{op:02x}: no server writes it in RDB version {}",
                            self.version
                        ),
                    ));
                }
                _ => return self.start_key(op, at, false).map(Some),
            }
        }
    }

    fn read_eof(&mut self, at: u64) -> Res<Raw> {
        let checksum = if self.version >= 5 {
            let computed = self.src.crc().unwrap_or(0);
            let tat = self.src.offset();
            let stored = u64::from_le_bytes(
                self.src
                    .read_array::<8>()
                    .map_err(|e| src_err(tat, e, "the CRC-64 trailer"))?,
            );
            Checksum::of_trailer(stored, self.opts.verify_checksum, || computed)
                .map_err(|_| Error::new(tat, ErrorKind::ChecksumMismatch { stored, computed }))?
        } else {
            Checksum::Absent
        };
        self.src.stop_crc();
        self.state = State::Done;
        Ok(Raw::Eof {
            offset: at,
            end: self.src.offset(),
            checksum,
        })
    }

    /// Validates a type byte for this file's format.
    fn check_type(&self, ty: u8, at: u64) -> Res<()> {
        let unsupported = |name: &'static str| {
            Err(Error::new(
                at,
                ErrorKind::UnsupportedType {
                    rdb_type: ty,
                    name,
                    version: self.version,
                },
            ))
        };
        match ty {
            0..=5 | 7 | 9..=21 => Ok(()),
            t::STREAM_LISTPACKS_4 if self.format == Format::Redis => Ok(()),
            t::MODULE_PRE_GA => Err(Error::corrupt(
                at,
                "pre-release module format (type 6) not supported",
            )),
            22 | 23 if self.format == Format::Valkey => {
                if ty == 23 {
                    unsupported("path-hash (Valkey 9.2 development), not documented")
                } else {
                    Ok(())
                }
            }
            22..=25 if self.format == Format::Redis => Ok(()),
            _ if !self.newest_version() => Err(Error::corrupt(
                at,
                format!(
                    "invalid or unsupported type byte {ty}: no server writes it in RDB \
                     version {}, so the file is damaged here",
                    self.version
                ),
            )),
            26 | 27 => unsupported(t::type_name(ty)),
            _ => unsupported("unknown"),
        }
    }

    /// Is this file of the newest version this tool knows for its magic
    /// (`REDIS0013`, `VALKEY081`)? Only there can a type byte or opcode we do
    /// not know come from a newer server (one that adds a type without a new
    /// version); in an older version every byte its servers write is known, so
    /// an unknown one is damage, as the loader of that version says.
    fn newest_version(&self) -> bool {
        match self.format {
            Format::Redis => self.version >= t::NEWEST_REDIS,
            Format::Valkey => self.version >= t::NEWEST_VALKEY,
        }
    }

    /// Fails when the key name about to be read is declared longer than
    fn start_key(&mut self, ty: u8, at: u64, payload: bool) -> Res<Raw> {
        self.check_type(ty, at)?;
        self.key_offset = self.pending_start.unwrap_or(at);
        self.rdb_type = ty;
        self.elements = 0;
        self.field_ttls = 0;
        if payload {
            self.key.clear();
        } else {
            read_string_bytes(
                &mut self.src,
                &mut self.key,
                &mut self.tmp,
                self.key_limit,
                "a key",
            )?;
        }
        self.value_offset = self.src.offset();
        let value = match ty {
            t::STRING => Value::String,
            t::LIST | t::SET => {
                let left = read_count(&mut self.src, "the element count", 1)?;
                self.dups.clear_for(left);
                Value::Items { left }
            }
            t::ZSET | t::ZSET_2 => {
                let left = read_count(&mut self.src, "the member count", 2)?;
                self.dups.clear_for(left);
                Value::Zset {
                    left,
                    binary: ty == t::ZSET_2,
                }
            }
            t::HASH => {
                let left = read_count(&mut self.src, "the field count", 2)?;
                self.dups.clear_for(left);
                Value::Hash { left }
            }
            t::HASH_METADATA_PRE_GA if self.format == Format::Valkey => {
                let left = read_count(&mut self.src, "the field count", 10)?;
                self.dups.clear_for(left);
                Value::ValkeyHash2 { left }
            }
            t::HASH_METADATA_PRE_GA | t::HASH_METADATA => {
                let min = if ty == t::HASH_METADATA {
                    let mat = self.src.offset();
                    let m = read_i64le(&mut self.src, "the minimum field expire time")? as u64;
                    if m > EB_EXPIRE_TIME_MAX + 1 {
                        return Err(Error::corrupt(
                            mat,
                            format!("invalid minimum field expire time {m}"),
                        ));
                    }
                    Some(m)
                } else {
                    None
                };
                let left = read_count(&mut self.src, "the field count", 3)?;
                self.dups.clear_for(left);
                Value::HashMeta { left, min }
            }
            t::HASH_ZIPMAP => Value::BlobStart(Blob::Zipmap),
            t::LIST_ZIPLIST => Value::BlobStart(Blob::ListZiplist),
            t::SET_INTSET => Value::BlobStart(Blob::Intset),
            t::ZSET_ZIPLIST => Value::BlobStart(Blob::ZsetZiplist),
            t::HASH_ZIPLIST => Value::BlobStart(Blob::HashZiplist),
            t::HASH_LISTPACK => Value::BlobStart(Blob::HashListpack),
            t::ZSET_LISTPACK => Value::BlobStart(Blob::ZsetListpack),
            t::SET_LISTPACK => Value::BlobStart(Blob::SetListpack),
            t::HASH_LISTPACK_EX_PRE_GA => Value::BlobStart(Blob::HashListpackEx),
            t::HASH_LISTPACK_EX => {
                // The stored minimum expire is a hint and can be stale (FORMATS.md).
                read_i64le(&mut self.src, "the minimum field expire time")?;
                Value::BlobStart(Blob::HashListpackEx)
            }
            t::LIST_QUICKLIST | t::LIST_QUICKLIST_2 => {
                let left = read_count(&mut self.src, "the quicklist node count", 2)?;
                Value::Quicklist {
                    left,
                    v2: ty == t::LIST_QUICKLIST_2,
                }
            }
            t::STREAM_LISTPACKS
            | t::STREAM_LISTPACKS_2
            | t::STREAM_LISTPACKS_3
            | t::STREAM_LISTPACKS_4 => {
                let left = read_count(&mut self.src, "the stream node count", 2)?;
                self.stream_type = ty;
                self.stream_live = 0;
                self.stream_nodes = left;
                self.node_keys.clear();
                Value::Stream(Stream::Nodes { left })
            }
            t::MODULE_2 => Value::Module,
            _ => unreachable!("check_type accepted type {ty}"),
        };
        self.state = State::Value(value);
        Ok(Raw::KeyStart)
    }

    fn finish_key(&mut self) {
        self.state = State::KeyEnd;
        if !self.payload {
            self.clear_pending();
        }
    }

    /// Reads one string element into `sa` or `sb`.
    fn elem(&mut self, b: bool, reading: &'static str) -> Res<Src> {
        let out = if b { &mut self.sb } else { &mut self.sa };
        Ok(
            match read_string(&mut self.src, out, &mut self.tmp, reading)? {
                Read2::Int(i) => Src::Int(i),
                Read2::Bytes => {
                    if b {
                        Src::B
                    } else {
                        Src::A
                    }
                }
            },
        )
    }

    /// Reads the next element of a counted value (types 1-5, 22, 24 and Valkey's
    /// 22), checking duplicates; `v` is the value's state (its `left` > 0).
    fn counted_elem(&mut self, v: Value) -> Res<RawElem> {
        let at = self.src.offset();
        let (e, first, what) = match v {
            Value::Items { .. } => {
                let s = self.elem(false, "an element")?;
                (
                    RawElem::Item(s),
                    (self.rdb_type == t::SET).then_some(s),
                    "set member",
                )
            }
            Value::Zset { binary, .. } => {
                let m = self.elem(false, "a member")?;
                let sat = self.src.offset();
                let score = read_score(&mut self.src, binary)?;
                if score.is_nan() {
                    return Err(Error::corrupt(sat, "zset with NaN score"));
                }
                (RawElem::Member { member: m, score }, Some(m), "zset member")
            }
            Value::Hash { .. } => {
                let f = self.elem(false, "a hash field")?;
                let val = self.elem(true, "a hash value")?;
                (
                    RawElem::Field {
                        field: f,
                        value: val,
                        expire_ms: None,
                    },
                    Some(f),
                    "hash field",
                )
            }
            Value::HashMeta { min, .. } => {
                let expire_ms = self.field_ttl(min)?;
                let f = self.elem(false, "a hash field")?;
                let val = self.elem(true, "a hash value")?;
                (
                    RawElem::Field {
                        field: f,
                        value: val,
                        expire_ms,
                    },
                    Some(f),
                    "hash field",
                )
            }
            Value::ValkeyHash2 { .. } => {
                let f = self.elem(false, "a hash field")?;
                let val = self.elem(true, "a hash value")?;
                let expire_ms = self.field_expire()?;
                (
                    RawElem::Field {
                        field: f,
                        value: val,
                        expire_ms,
                    },
                    Some(f),
                    "hash field",
                )
            }
            _ => unreachable!("not a counted value"),
        };
        if let Some(first) = first {
            if !self.src_insert_dup(first) {
                return Err(Error::corrupt(
                    at,
                    format!("duplicate {what} at element {}", self.elements),
                ));
            }
        }
        if let RawElem::Field {
            expire_ms: Some(_), ..
        } = e
        {
            self.field_ttls += 1;
        }
        self.elements += 1;
        Ok(e)
    }

    /// A hash field read by a frame-only reader: its hash, for the duplicate
    /// check, or `None` when it is longer than [`IN_PLACE`] (skipped, never
    /// read: what chance bytes frame as a field can claim the rest of the
    /// input; such a field is not checked for duplicates).
    fn framed_field(&mut self) -> Res<Option<u128>> {
        let at = self.src.offset();
        let head = self
            .src
            .peek(9)
            .map_err(|e| src_err(at, e, "a hash field"))?;
        if head.first().is_some_and(|&b| b >> 6 != 3) && declared_len(head) > IN_PLACE {
            self.skip_string("a hash field")?;
            return Ok(None);
        }
        self.hash_string("a hash field").map(Some)
    }

    /// Fails when a hash field (its hash `h`, read at `at`) was seen before in
    /// this value.
    fn dup_field(&mut self, h: Option<u128>, at: u64) -> Res<()> {
        if h.is_none_or(|h| self.dups.insert_hash(h)) {
            return Ok(());
        }
        Err(Error::corrupt(
            at,
            format!("duplicate hash field at element {}", self.elements),
        ))
    }

    /// Reads a field TTL of a hash with field TTLs (Redis 7.4, before its
    /// field): the expire time, `None` for none.
    fn field_ttl(&mut self, min: Option<u64>) -> Res<Option<i64>> {
        let at = self.src.offset();
        let ttl = read_len(&mut self.src, "a field TTL")?;
        let expire_at = match min {
            Some(m) if ttl != 0 => ttl.wrapping_add(m).wrapping_sub(1),
            _ => ttl,
        };
        if expire_at > EB_EXPIRE_TIME_MAX {
            return Err(Error::corrupt(
                at,
                format!("invalid field expire time {expire_at}"),
            ));
        }
        Ok((expire_at != 0).then_some(expire_at as i64))
    }

    /// Reads a field expire time of a Valkey `HASH_2` (after its field and
    /// value): `None` for none.
    fn field_expire(&mut self) -> Res<Option<i64>> {
        let eat = self.src.offset();
        let exp = read_i64le(&mut self.src, "a field expire time")?;
        // Valkey's loader: -1 is "no TTL", anything below is corrupt.
        if exp < -1 {
            return Err(Error::corrupt(
                eat,
                format!(
                    "invalid field expire time {exp} at element {} (HASH_2 allows -1 or a time >= 0)",
                    self.elements
                ),
            ));
        }
        Ok((exp != -1).then_some(exp))
    }

    /// The element of a decoded blob whose first entry is `vals[idx]`.
    fn blob_elem(&mut self, kind: Blob, idx: usize) -> RawElem {
        self.elements += 1;
        let a = Src::Blob(self.vals[idx]);
        match kind {
            Blob::ListZiplist | Blob::Intset | Blob::SetListpack => RawElem::Item(a),
            Blob::ZsetZiplist | Blob::ZsetListpack => RawElem::Member {
                member: a,
                // Validated by load_blob: parses, and is not NaN.
                score: parse_score(self.vals[idx + 1].get(&self.blob)).unwrap_or(0.0),
            },
            Blob::HashListpackEx => {
                // Validated by load_blob: an integer TTL.
                let ttl = self.vals[idx + 2].get(&self.blob).as_int().unwrap_or(0);
                self.field_ttls += u64::from(ttl != 0);
                RawElem::Field {
                    field: a,
                    value: Src::Blob(self.vals[idx + 1]),
                    expire_ms: (ttl != 0).then_some(ttl),
                }
            }
            _ => RawElem::Field {
                field: a,
                value: Src::Blob(self.vals[idx + 1]),
                expire_ms: None,
            },
        }
    }

    fn src_insert_dup(&mut self, s: Src) -> bool {
        let st = match s {
            Src::A => Str::Bytes(&self.sa),
            Src::B => Str::Bytes(&self.sb),
            Src::Int(i) => Str::Int(i),
            Src::Blob(v) => v.get(&self.blob),
        };
        self.dups.insert(st)
    }

    fn read_value(&mut self, v: Value) -> Res<Raw> {
        match v {
            Value::String => {
                let s = self.elem(false, "a string value")?;
                self.elements = 1;
                self.finish_key();
                Ok(Raw::Elem(RawElem::String(s)))
            }
            Value::Items { left }
            | Value::Zset { left, .. }
            | Value::Hash { left }
            | Value::HashMeta { left, .. }
            | Value::ValkeyHash2 { left } => {
                if left == 0 {
                    self.finish_key();
                    return self.step().map(|r| r.expect("key end"));
                }
                let e = self.counted_elem(v)?;
                self.state = State::Value(v.with_left(left - 1));
                Ok(Raw::Elem(e))
            }
            Value::BlobStart(kind) => {
                self.load_blob(kind)?;
                self.state = State::Value(Value::Blob { kind, idx: 0 });
                self.read_value(State::value_of(self.state))
            }
            Value::Blob { kind, idx } => {
                if idx >= self.vals.len() {
                    self.finish_key();
                    return self.step().map(|r| r.expect("key end"));
                }
                self.state = State::Value(Value::Blob {
                    kind,
                    idx: idx + kind.step(),
                });
                Ok(Raw::Elem(self.blob_elem(kind, idx)))
            }
            Value::Quicklist { left, v2 } => {
                if left == 0 {
                    self.finish_key();
                    return self.step().map(|r| r.expect("key end"));
                }
                self.load_quicklist_node(v2)?;
                self.state = State::Value(Value::QuicklistNode {
                    left: left - 1,
                    v2,
                    idx: 0,
                });
                self.read_value(State::value_of(self.state))
            }
            Value::QuicklistNode { left, v2, idx } => {
                if idx >= self.vals.len() {
                    self.state = State::Value(Value::Quicklist { left, v2 });
                    return self.read_value(Value::Quicklist { left, v2 });
                }
                self.elements += 1;
                self.state = State::Value(Value::QuicklistNode {
                    left,
                    v2,
                    idx: idx + 1,
                });
                Ok(Raw::Elem(RawElem::Item(Src::Blob(self.vals[idx]))))
            }
            Value::Stream(s) => self.read_stream(s),
            Value::Module => {
                let module_id = self.read_module_value(ModuleData::Copy(u64::MAX))?;
                Ok(Raw::Elem(RawElem::Module { module_id }))
            }
        }
    }

    /// Reads a module value (its module id, then its data into `blob`, see
    /// [`ModuleData`]) and ends the key; returns the module id.
    fn read_module_value(&mut self, to: ModuleData) -> Res<u64> {
        let module_id = read_len(&mut self.src, "the module id")?;
        self.blob.clear();
        copy_module_data(&mut self.src, &mut self.blob, to).map_err(|e| {
            e.within(format!(
                "module value of type {}",
                t::module_name(module_id).0
            ))
        })?;
        self.elements = 1;
        self.finish_key();
        Ok(module_id)
    }

    /// Reads one quicklist node (v1: a ziplist; v2: a container and a PLAIN
    /// element or a PACKED listpack) into `vals`.
    fn load_quicklist_node(&mut self, v2: bool) -> Res<()> {
        let at = self.src.offset();
        let container = if v2 {
            read_len(&mut self.src, "a quicklist node container")?
        } else {
            2
        };
        if container != 1 && container != 2 {
            return Err(Error::corrupt(
                at,
                format!(
                    "quicklist node after element {}: invalid container {container}",
                    self.elements
                ),
            ));
        }
        self.read_blob("a quicklist node")?;
        if self.blob.is_empty() {
            return Err(Error::corrupt(at, "quicklist node of 0 bytes"));
        }
        if container == 1 {
            // PLAIN node: the blob is one element.
            self.vals.clear();
            self.vals.push(Val::Str {
                start: 0,
                len: self.blob.len() as u32,
            });
            return Ok(());
        }
        let r = if v2 {
            compact::listpack::parse(&self.blob, &mut self.vals)
        } else {
            compact::ziplist::parse(&self.blob, &mut self.vals)
        };
        r.map_err(|e| self.blob_error(e).within("quicklist node"))
    }

    /// Reads a blob string into `self.blob`, remembering where it was.
    fn read_blob(&mut self, reading: &'static str) -> Res<()> {
        let at = self.src.offset();
        self.blob_lzf = matches!(
            self.src.peek(1).ok().and_then(|b| b.first().copied()),
            Some(0xc3)
        );
        let int = match read_string(&mut self.src, &mut self.blob, &mut self.tmp, reading)? {
            Read2::Int(i) => {
                self.blob.clear();
                self.blob
                    .extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
                true
            }
            Read2::Bytes => false,
        };
        // Offset of the blob's first byte (approximate for LZF and for an
        // integer-encoded string, where positions inside the blob are of the
        // decompressed bytes or of the decimal text, which can be longer than
        // the bytes read).
        let hdr = if self.blob_lzf || int {
            0
        } else {
            self.src.offset() - at - self.blob.len() as u64
        };
        self.blob_offset = at + hdr;
        Ok(())
    }

    fn blob_error(&self, e: CompactError) -> Error {
        if self.blob_lzf {
            Error::corrupt(
                self.blob_offset,
                format!("{e} (inside the LZF-compressed blob starting here)"),
            )
        } else {
            Error::corrupt(self.blob_offset + e.pos as u64, e.msg)
        }
    }

    fn load_blob(&mut self, kind: Blob) -> Res<()> {
        self.read_blob("an encoded value")?;
        let r = match kind {
            Blob::Zipmap => compact::zipmap::parse(&self.blob, &mut self.vals),
            Blob::ListZiplist | Blob::ZsetZiplist | Blob::HashZiplist => {
                compact::ziplist::parse(&self.blob, &mut self.vals)
            }
            Blob::Intset => compact::intset::parse(&self.blob, &mut self.vals),
            _ => compact::listpack::parse(&self.blob, &mut self.vals),
        };
        r.map_err(|e| self.blob_error(e))?;
        let tuple = match kind {
            Blob::ListZiplist | Blob::Intset => return Ok(()),
            Blob::SetListpack => 1,
            Blob::HashListpackEx => 3,
            _ => 2,
        };
        let what = match kind {
            Blob::SetListpack => "set member",
            Blob::ZsetZiplist | Blob::ZsetListpack => "zset member",
            _ => "hash field",
        };
        if !self.vals.len().is_multiple_of(tuple) {
            return Err(Error::corrupt(
                self.blob_offset,
                format!("{} entries is not a multiple of {tuple}", self.vals.len()),
            ));
        }
        self.dups.clear_for((self.vals.len() / tuple) as u64);
        let mut last_expire: i64 = -1;
        for i in (0..self.vals.len()).step_by(tuple) {
            let first = self.vals[i].get(&self.blob);
            if !self.dups.insert(first) {
                return Err(Error::corrupt(
                    self.blob_offset,
                    format!("duplicate {what} at entry {i}"),
                ));
            }
            match kind {
                Blob::ZsetZiplist | Blob::ZsetListpack
                    if !score_is_valid(self.vals[i + 1].get(&self.blob)) =>
                {
                    return Err(Error::corrupt(
                        self.blob_offset,
                        format!("invalid score at entry {}", i + 1),
                    ));
                }
                Blob::HashListpackEx => {
                    let ttl = self.vals[i + 2].get(&self.blob).as_int().ok_or_else(|| {
                        Error::corrupt(
                            self.blob_offset,
                            format!("field TTL at entry {} is not an integer", i + 2),
                        )
                    })?;
                    if ttl < 0 || ttl as u64 > EB_EXPIRE_TIME_MAX {
                        return Err(Error::corrupt(
                            self.blob_offset,
                            format!("field TTL {ttl} at entry {} is out of range", i + 2),
                        ));
                    }
                    if ttl != 0 && (last_expire == 0 || ttl < last_expire) {
                        return Err(Error::corrupt(
                            self.blob_offset,
                            format!("field TTLs out of order at entry {}", i + 2),
                        ));
                    }
                    last_expire = ttl;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Value {
    /// A counted value's state with `left` elements to go.
    fn with_left(self, left: u64) -> Value {
        match self {
            Value::Items { .. } => Value::Items { left },
            Value::Zset { binary, .. } => Value::Zset { left, binary },
            Value::Hash { .. } => Value::Hash { left },
            Value::HashMeta { min, .. } => Value::HashMeta { left, min },
            Value::ValkeyHash2 { .. } => Value::ValkeyHash2 { left },
            other => other,
        }
    }
}

impl Blob {
    /// Entries per element.
    fn step(self) -> usize {
        match self {
            Blob::ListZiplist | Blob::Intset | Blob::SetListpack => 1,
            Blob::HashListpackEx => 3,
            _ => 2,
        }
    }
}

impl State {
    fn value_of(s: State) -> Value {
        match s {
            State::Value(v) => v,
            _ => unreachable!("not inside a value"),
        }
    }
}

/// Where a string was read to.
enum Read2 {
    Int(i64),
    Bytes,
}

impl<R: Input> Reader<R> {
    /// A reader over `src`, which must be positioned at the magic (`REDIS…`).
    /// The CRC is computed from the current position.
    pub fn new(src: Source<R>) -> Self {
        Self::with_options(src, Options::default())
    }

    /// A reader with options.
    pub fn with_options(mut src: Source<R>, opts: Options) -> Self {
        src.start_crc();
        Self::without_crc(src, opts)
    }

    /// A reader in its initial state, the source's CRC left as it is.
    fn without_crc(src: Source<R>, opts: Options) -> Self {
        Self {
            src,
            opts,
            state: State::Magic,
            format: Format::Redis,
            version: 0,
            payload: false,
            fragment: false,
            stop_at: u64::MAX,
            key_limit: u64::MAX,
            db: 0,
            expire: None,
            idle: None,
            freq: None,
            meta_classes: 0,
            pending_start: None,
            key: Vec::new(),
            rdb_type: 0,
            key_offset: 0,
            value_offset: 0,
            elements: 0,
            field_ttls: 0,
            sa: Vec::new(),
            sb: Vec::new(),
            tmp: Vec::new(),
            blob: Vec::new(),
            blob_offset: 0,
            blob_lzf: false,
            vals: Vec::new(),
            dups: DupSet::default(),
            dups2: DupSet::default(),
            ranges: Vec::new(),
            master_id: StreamId::default(),
            master_fields: (0, 0),
            stream_live: 0,
            stream_nodes: 0,
            stream_type: 0,
            node_keys: DupSet::default(),
            warnings: Vec::new(),
            warned: 0,
            key_meta: Vec::new(),
            key_meta_classes: Vec::new(),
        }
    }

    /// A reader of one DUMP-payload value (type byte + value; the source may
    /// include the 10-byte footer, which RESTORE lets a value read into)
    /// written by RDB `version`. It yields `KeyStart` (with an
    /// empty key), the elements and `KeyEnd`, then `None`.
    pub fn for_payload(src: Source<R>, version: u32) -> Self {
        let mut r = Self::with_options(
            src,
            Options {
                verify_checksum: false,
                frame_only: false,
            },
        );
        r.src.stop_crc();
        r.payload = true;
        r.version = version;
        // Valkey 9's payloads carry 80 (`rdbUseValkeyMagic(v)` = v > 79): its
        // type table (22 = HASH_2).
        if version > 79 {
            r.format = Format::Valkey;
        }
        r.state = State::Body;
        r
    }

    /// A reader of a fragment of an RDB file: whole records (keys and opcodes)
    /// cut at a key boundary by a frame-only reader, whose source starts at the
    /// fragment's absolute offset. `db` is the database selected at its start. The
    /// end of the input at a record boundary ends the fragment (`None`).
    pub fn for_fragment(src: Source<R>, format: Format, version: u32, db: u64) -> Self {
        Self::for_fragment_with(src, format, version, db, Options::default())
    }

    /// [`Reader::for_fragment`] with options: `frame_only` gives a light reader
    /// of a chunk, for callers that measure values from the chunk's bytes
    /// themselves (`stats`) instead of validating them.
    pub fn for_fragment_with(
        src: Source<R>,
        format: Format,
        version: u32,
        db: u64,
        opts: Options,
    ) -> Self {
        let mut r = Self::without_crc(src, opts);
        r.src.stop_crc();
        r.fragment = true;
        r.format = format;
        r.version = version;
        r.db = db;
        r.state = State::Body;
        r
    }

    /// Ends a fragment at its first record boundary at or after `offset` (no
    /// expire/LRU/LFU opcode pending), as well as at the end of the input: a
    /// chunk whose end is a guess reads on to where a record really ends.
    pub fn stop_at(&mut self, offset: u64) {
        self.stop_at = offset;
    }

    /// Fails on a key name longer than `max` bytes (as written: the compressed
    /// length of an LZF key), before reading it. Not a check of the format
    /// (Redis keys may be up to 512 MB): for a reader that tries positions
    /// that may not be records at all ([`super::speculative`]), where a random
    /// byte read as a key length would otherwise copy kilobytes per try.
    pub fn limit_keys(&mut self, max: u64) {
        self.key_limit = max;
    }

    /// The RDB version (0 before the header is read).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The format told by the magic.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The current database.
    pub fn db(&self) -> u64 {
        self.db
    }

    /// The current (or last) key.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The current (or last) key's RDB type byte.
    pub fn rdb_type(&self) -> u8 {
        self.rdb_type
    }

    /// Absolute offset of the current (or last) key's value: the first byte
    /// after the key name (for aggregates, where the element count starts).
    pub fn value_offset(&self) -> u64 {
        self.value_offset
    }

    /// Absolute offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.src.offset()
    }

    /// The underlying source, positioned after what was read (after the trailer
    /// once `Eof` was returned: RESP commands of a hybrid AOF follow).
    pub fn into_source(self) -> Source<R> {
        self.src
    }

    /// The source (offsets, bytes skipped).
    pub fn source(&self) -> &Source<R> {
        &self.src
    }

    /// Access to the source (progress, size).
    pub fn source_mut(&mut self) -> &mut Source<R> {
        &mut self.src
    }

    /// Findings since the last call that did not stop the reader (warnings:
    /// a stream whose stored length is above its live entries, a skipped
    /// Redis Enterprise opcode, a pre-release function library). At most a
    /// few dozen are kept between calls.
    pub fn take_warnings(&mut self) -> Vec<Error> {
        std::mem::take(&mut self.warnings)
    }

    /// True when [`Reader::take_warnings`] has something.
    pub fn has_warnings(&self) -> bool {
        !self.warnings.is_empty()
    }

    /// The `KEY_META` classes (Redis 8.6) of the current key, from its
    /// `KeyStart` to its `KeyEnd`.
    pub fn key_meta(&self) -> impl Iterator<Item = KeyMetaClass<'_>> + '_ {
        self.key_meta_classes
            .iter()
            .map(|&(spec, a, b)| KeyMetaClass {
                spec,
                data: &self.key_meta[a..b],
            })
    }

    /// Reads a `FUNCTION_PRE_GA` record (Redis 7.0-rc1/rc2: library name,
    /// engine name, a description flag and the description, the code) into
    /// `sa` as Redis 7.0's `rdbFunctionLoad` translates it:
    /// `#!<engine> name=<name>\n<code>`.
    fn read_function_pre_ga(&mut self) -> Res<()> {
        read_string_bytes(
            &mut self.src,
            &mut self.sb,
            &mut self.tmp,
            self.key_limit,
            "a pre-release function library name",
        )?;
        let name = std::mem::take(&mut self.sb);
        read_string_bytes(
            &mut self.src,
            &mut self.sb,
            &mut self.tmp,
            self.key_limit,
            "a pre-release function engine name",
        )?;
        let engine = std::mem::take(&mut self.sb);
        if read_len(&mut self.src, "a pre-release function description flag")? != 0 {
            read_string_bytes(
                &mut self.src,
                &mut self.sb,
                &mut self.tmp,
                self.key_limit,
                "a pre-release function description",
            )?;
        }
        read_string_bytes(
            &mut self.src,
            &mut self.sb,
            &mut self.tmp,
            self.key_limit,
            "a pre-release function library",
        )?;
        self.sa.clear();
        self.sa.extend_from_slice(b"#!");
        self.sa.extend_from_slice(&engine);
        self.sa.extend_from_slice(b" name=");
        self.sa.extend_from_slice(&name);
        self.sa.push(b'\n');
        self.sa.extend_from_slice(&self.sb);
        self.sb = name;
        Ok(())
    }

    fn key_ctx(&self) -> KeyContext {
        KeyContext {
            db: self.db,
            key: self.key.clone(),
            rdb_type: self.rdb_type,
            format: self.format,
        }
    }

    fn int_at(&self, i: usize) -> Option<i64> {
        self.vals.get(i).and_then(|v| v.get(&self.blob).as_int())
    }

    /// Validates the node listpack in `vals` as a stream node (FORMATS.md §1.12,
    /// Redis `streamValidateListpackIntegrity` deep) and returns (first entry
    /// position, total entries, live entries).
    fn check_stream_node(&self) -> Result<(usize, u64, u64), String> {
        if self.vals.is_empty() {
            return Err("empty listpack inside stream".into());
        }
        let bad = |what: &str| format!("stream node: invalid {what}");
        let count = self
            .int_at(0)
            .filter(|&c| c >= 0)
            .ok_or_else(|| bad("entry count"))?;
        let deleted = self
            .int_at(1)
            .filter(|&c| c >= 0)
            .ok_or_else(|| bad("deleted count"))?;
        let nf = self
            .int_at(2)
            .filter(|&c| c >= 0)
            .ok_or_else(|| bad("master field count"))? as usize;
        if 3 + nf >= self.vals.len() {
            return Err(bad("master entry (runs past the node)"));
        }
        if self.int_at(3 + nf) != Some(0) {
            return Err(bad("master entry terminator"));
        }
        let mut pos = 4 + nf;
        let total = (count as u64).saturating_add(deleted as u64);
        let mut live = 0u64;
        for e in 0..total {
            let flags = self
                .int_at(pos)
                .ok_or_else(|| format!("stream node entry {e}: invalid flags"))?;
            if self.int_at(pos + 1).is_none() || self.int_at(pos + 2).is_none() {
                return Err(format!("stream node entry {e}: invalid id"));
            }
            let (fields, extra, vstart) = if flags & 2 == 0 {
                let n = self
                    .int_at(pos + 3)
                    .filter(|&n| n >= 0)
                    .ok_or_else(|| format!("stream node entry {e}: invalid field count"))?
                    as usize;
                (n, 3 + n + 1, pos + 4)
            } else {
                (nf, 3, pos + 3)
            };
            let per = if flags & 2 == 0 { 2 * fields } else { fields };
            let lp_pos = vstart + per;
            let lp_count = self
                .int_at(lp_pos)
                .ok_or_else(|| format!("stream node entry {e}: runs past the node"))?;
            if lp_count != (fields + extra) as i64 {
                return Err(format!(
                    "stream node entry {e}: lp-count {lp_count} does not match its {} elements",
                    fields + extra
                ));
            }
            if flags & 1 == 0 {
                live += 1;
            }
            pos = lp_pos + 1;
        }
        if pos != self.vals.len() {
            return Err(format!(
                "stream node: {} elements after the last entry",
                self.vals.len() - pos
            ));
        }
        if live != count as u64 {
            return Err(format!(
                "stream node: master entry says {count} live entries but {live} are not deleted"
            ));
        }
        Ok((4 + nf, total, live))
    }

    fn read_stream(&mut self, mut s: Stream) -> Res<Raw> {
        loop {
            match s {
                Stream::Nodes { left } => {
                    if left == 0 {
                        s = Stream::Meta;
                        continue;
                    }
                    let at = self.src.offset();
                    read_string_bytes(
                        &mut self.src,
                        &mut self.sa,
                        &mut self.tmp,
                        self.key_limit,
                        "a stream node key",
                    )?;
                    if self.sa.len() != 16 {
                        return Err(Error::corrupt(
                            at,
                            format!("stream node key of {} bytes (expected 16)", self.sa.len()),
                        ));
                    }
                    if !self.node_keys.insert_bytes(&self.sa) {
                        return Err(Error::corrupt(
                            at,
                            "stream node re-added with an existing key",
                        ));
                    }
                    let mut k = [0u8; 16];
                    k.copy_from_slice(&self.sa);
                    self.master_id = StreamId::from_be_bytes(&k);
                    if self.opts.frame_only {
                        self.skip_string("a stream node listpack")?;
                        s = Stream::Nodes { left: left - 1 };
                        continue;
                    }
                    self.read_blob("a stream node listpack")?;
                    compact::listpack::parse(&self.blob, &mut self.vals)
                        .map_err(|e| self.blob_error(e).within("stream node"))?;
                    let (pos, entries, live) = self
                        .check_stream_node()
                        .map_err(|m| Error::corrupt(self.blob_offset, m))?;
                    self.stream_live += live;
                    let nf = self.int_at(2).unwrap_or(0) as usize;
                    self.master_fields = (3, nf);
                    s = Stream::Entries {
                        left: left - 1,
                        pos,
                        entries,
                    };
                }
                Stream::Entries { left, pos, entries } => {
                    if entries == 0 {
                        s = Stream::Nodes { left };
                        continue;
                    }
                    // The structure was validated by check_stream_node.
                    let flags = self.int_at(pos).unwrap_or(0);
                    let msd = self.int_at(pos + 1).unwrap_or(0);
                    let sqd = self.int_at(pos + 2).unwrap_or(0);
                    let (same, start, len) = if flags & 2 == 0 {
                        let n = self.int_at(pos + 3).unwrap_or(0) as usize;
                        (false, pos + 4, 2 * n)
                    } else {
                        (true, pos + 3, self.master_fields.1)
                    };
                    let next = start + len + 1;
                    s = Stream::Entries {
                        left,
                        pos: next,
                        entries: entries - 1,
                    };
                    if flags & 1 != 0 {
                        continue; // deleted
                    }
                    self.state = State::Value(Value::Stream(s));
                    self.elements += 1;
                    let id = StreamId::new(
                        self.master_id.ms.wrapping_add(msd as u64),
                        self.master_id.seq.wrapping_add(sqd as u64),
                    );
                    return Ok(Raw::Elem(RawElem::StreamEntry {
                        id,
                        same,
                        start,
                        len,
                    }));
                }
                Stream::Meta => {
                    let at = self.src.offset();
                    let length = read_len(&mut self.src, "the stream length")?;
                    let last_id = read_id(&mut self.src, "the stream last id")?;
                    let (first_id, max_deleted_entry_id, entries_added) =
                        if self.stream_type >= t::STREAM_LISTPACKS_2 {
                            let f = read_id(&mut self.src, "the stream first id")?;
                            let m = read_id(&mut self.src, "the stream max deleted id")?;
                            let a = read_len(&mut self.src, "the stream entries-added counter")?;
                            (Some(f), Some(m), Some(a))
                        } else {
                            (None, None, None)
                        };
                    if length != 0 && self.stream_nodes == 0 {
                        return Err(Error::corrupt(
                            at,
                            "stream length inconsistent with its nodes",
                        ));
                    }
                    if length < self.stream_live && !self.opts.frame_only {
                        return Err(Error::corrupt(
                            at,
                            format!(
                                "stream length {length} but its nodes hold {} live entries",
                                self.stream_live
                            ),
                        ));
                    }
                    if length > self.stream_live && !self.opts.frame_only {
                        // Redis 5.0-era files; the loader keeps the stored
                        // length (XLEN answers it): not a reason to refuse.
                        let w = Error::corrupt(
                            at,
                            format!(
                                "stream length {length} but its nodes hold {} live entries: the server loads it and XLEN answers {length}",
                                self.stream_live
                            ),
                        )
                        .with_key(self.key_ctx());
                        self.warn(w);
                    }
                    let groups = read_count(&mut self.src, "the consumer group count", 4)?;
                    self.node_keys.clear();
                    self.state = State::Value(Value::Stream(Stream::Groups { left: groups }));
                    return Ok(Raw::Elem(RawElem::StreamMeta(StreamMeta {
                        length,
                        last_id,
                        first_id,
                        max_deleted_entry_id,
                        entries_added,
                        groups,
                        nodes: self.stream_nodes,
                    })));
                }
                Stream::Groups { left } => {
                    if left == 0 && self.stream_type >= t::STREAM_LISTPACKS_4 {
                        s = Stream::Idmp;
                        continue;
                    }
                    if left == 0 {
                        self.finish_key();
                        return self.step().map(|r| r.expect("key end"));
                    }
                    let at = self.src.offset();
                    read_string_bytes(
                        &mut self.src,
                        &mut self.sa,
                        &mut self.tmp,
                        self.key_limit,
                        "a consumer group name",
                    )?;
                    if !self.node_keys.insert_bytes(&self.sa) {
                        return Err(Error::corrupt(at, "duplicate consumer group name"));
                    }
                    let last_delivered_id = read_id(&mut self.src, "a consumer group last id")?;
                    let entries_read = if self.stream_type >= t::STREAM_LISTPACKS_2 {
                        let v = read_len(&mut self.src, "a consumer group entries-read counter")?;
                        if v == u64::MAX { None } else { Some(v as i64) }
                    } else {
                        None
                    };
                    let pel_len = read_count(&mut self.src, "the group PEL size", 17)?;
                    self.dups.clear();
                    self.dups2.clear();
                    self.state = State::Value(Value::Stream(Stream::Pel {
                        groups_left: left - 1,
                        left: pel_len,
                    }));
                    return Ok(Raw::Elem(RawElem::StreamGroup {
                        last_delivered_id,
                        entries_read,
                        pel_len,
                    }));
                }
                Stream::Pel { groups_left, left } => {
                    if left == 0 {
                        let n = read_count(&mut self.src, "the consumer count", 10)?;
                        s = Stream::Consumers {
                            groups_left,
                            left: n,
                        };
                        continue;
                    }
                    let at = self.src.offset();
                    let id = read_raw_id(&mut self.src, "a PEL entry id")?;
                    let delivery_time_ms = read_i64le(&mut self.src, "a PEL delivery time")?;
                    let delivery_count = read_len(&mut self.src, "a PEL delivery count")?;
                    if !self.dups.insert_bytes(&id.to_be_bytes()) {
                        return Err(Error::corrupt(
                            at,
                            format!("duplicate group PEL entry {id}"),
                        ));
                    }
                    self.state = State::Value(Value::Stream(Stream::Pel {
                        groups_left,
                        left: left - 1,
                    }));
                    return Ok(Raw::Elem(RawElem::StreamPending(PendingRef {
                        id,
                        delivery_time_ms,
                        delivery_count,
                    })));
                }
                Stream::Consumers { groups_left, left } => {
                    if left == 0 {
                        if !self.dups.is_empty() {
                            return Err(Error::corrupt(
                                self.src.offset(),
                                format!("{} group PEL entries have no consumer", self.dups.len()),
                            ));
                        }
                        s = Stream::Groups { left: groups_left };
                        continue;
                    }
                    let at = self.src.offset();
                    read_string_bytes(
                        &mut self.src,
                        &mut self.sa,
                        &mut self.tmp,
                        self.key_limit,
                        "a consumer name",
                    )?;
                    if !self.dups2.insert_bytes(&self.sa) {
                        return Err(Error::corrupt(at, "duplicate consumer name"));
                    }
                    let seen_time_ms = read_i64le(&mut self.src, "a consumer seen time")?;
                    let active_time_ms = if self.stream_type >= t::STREAM_LISTPACKS_3 {
                        Some(read_i64le(&mut self.src, "a consumer active time")?)
                    } else {
                        None
                    };
                    let pel_len = read_count(&mut self.src, "the consumer PEL size", 16)?;
                    self.state = State::Value(Value::Stream(Stream::ConsumerPel {
                        groups_left,
                        consumers_left: left - 1,
                        left: pel_len,
                    }));
                    return Ok(Raw::Elem(RawElem::StreamConsumer {
                        seen_time_ms,
                        active_time_ms,
                        pel_len,
                    }));
                }
                Stream::ConsumerPel {
                    groups_left,
                    consumers_left,
                    left,
                } => {
                    if left == 0 {
                        s = Stream::Consumers {
                            groups_left,
                            left: consumers_left,
                        };
                        continue;
                    }
                    let at = self.src.offset();
                    let id = read_raw_id(&mut self.src, "a consumer PEL id")?;
                    if !self.dups.remove_bytes(&id.to_be_bytes()) {
                        return Err(Error::corrupt(
                            at,
                            format!(
                                "consumer PEL entry {id} is not in the group PEL (or has two owners)"
                            ),
                        ));
                    }
                    self.state = State::Value(Value::Stream(Stream::ConsumerPel {
                        groups_left,
                        consumers_left,
                        left: left - 1,
                    }));
                    return Ok(Raw::Elem(RawElem::ConsumerPending(id)));
                }
                Stream::Idmp => return self.read_idmp_config(),
                Stream::Producers { left } => {
                    if left == 0 {
                        s = Stream::IdmpCounters;
                        continue;
                    }
                    let at = self.src.offset();
                    read_string_bytes(
                        &mut self.src,
                        &mut self.sa,
                        &mut self.tmp,
                        self.key_limit,
                        "an IDMP producer id",
                    )?;
                    // The loader inserts producers with raxTryInsert: a second
                    // one with the same pid fails the load.
                    if !self.node_keys.insert_bytes(&self.sa) {
                        return Err(Error::corrupt(at, "duplicate IDMP producer id"));
                    }
                    let iids = read_count(&mut self.src, "the IDMP iid count", 3)?;
                    self.dups.clear();
                    self.state = State::Value(Value::Stream(Stream::Iids {
                        producers_left: left - 1,
                        left: iids,
                    }));
                    return Ok(Raw::Elem(RawElem::StreamProducer { iids }));
                }
                Stream::Iids {
                    producers_left,
                    left,
                } => {
                    if left == 0 {
                        s = Stream::Producers {
                            left: producers_left,
                        };
                        continue;
                    }
                    read_string_bytes(
                        &mut self.src,
                        &mut self.sa,
                        &mut self.tmp,
                        self.key_limit,
                        "an IDMP iid",
                    )?;
                    let id = read_id(&mut self.src, "the stream id of an IDMP iid")?;
                    s = Stream::Iids {
                        producers_left,
                        left: left - 1,
                    };
                    // A duplicate iid within a producer is skipped by the
                    // loader (idmpInsertEntry keeps the first): not an error.
                    if !self.dups.insert_bytes(&self.sa) {
                        continue;
                    }
                    self.state = State::Value(Value::Stream(s));
                    return Ok(Raw::Elem(RawElem::StreamIid(id)));
                }
                Stream::IdmpCounters => {
                    let added = read_len(&mut self.src, "the IDMP iids-added counter")?;
                    let dups = read_len(&mut self.src, "the IDMP iids-duplicates counter")?;
                    self.node_keys.clear();
                    self.dups.clear();
                    self.finish_key();
                    return Ok(Raw::Elem(RawElem::StreamIdmpCounters(added, dups)));
                }
            }
        }
    }

    /// Reads the IDMP configuration of a type-26 stream (FORMATS.md §8.1.2),
    /// with the loader's range checks.
    fn read_idmp_config(&mut self) -> Res<Raw> {
        let at = self.src.offset();
        let duration = read_len(&mut self.src, "the IDMP duration")?;
        if !crate::model::StreamIdmp::DURATION_RANGE.contains(&duration) {
            return Err(Error::corrupt(
                at,
                format!("stream IDMP duration {duration} out of range 1..86400"),
            ));
        }
        let at = self.src.offset();
        let maxsize = read_len(&mut self.src, "the IDMP maxsize")?;
        if !crate::model::StreamIdmp::MAXSIZE_RANGE.contains(&maxsize) {
            return Err(Error::corrupt(
                at,
                format!("stream IDMP maxsize {maxsize} out of range 1..10000"),
            ));
        }
        // A producer is at least a pid, a count and the two counters after it.
        let producers = read_count(&mut self.src, "the IDMP producer count", 2)?;
        self.node_keys.clear();
        self.state = State::Value(Value::Stream(Stream::Producers { left: producers }));
        Ok(Raw::Elem(RawElem::StreamIdmp(StreamIdmpMeta {
            duration,
            maxsize,
            producers,
        })))
    }
}

impl<R: Input> Reader<R> {
    /// Reads and validates the rest of the current key's value without returning
    /// its elements, and returns its [`KeyEnd`] (no separate `KeyEnd` event
    /// follows). Call it right after `KeyStart` (or after some elements). This is
    /// the fast path of checking: members are hashed for duplicate detection
    /// straight from the input buffer, without copies or per-element events.
    pub fn skip_value(&mut self) -> Result<KeyEnd, Error> {
        match self.skip_value_inner() {
            Ok(end) => Ok(end),
            Err(e) => {
                self.state = State::Done;
                Err(e.with_key(self.key_ctx()))
            }
        }
    }

    /// Skips the current key's value up to `end`, the absolute offset just
    /// after it, which the caller found by reading the value's bytes itself
    /// (`stats` measures values from a chunk's bytes, and this spares walking
    /// them twice). Call it right after `KeyStart`. Nothing is validated and
    /// the returned [`KeyEnd`] counts no elements; an `end` before the current
    /// position or past the input is an error.
    pub fn skip_value_to(&mut self, end: u64) -> Result<KeyEnd, Error> {
        let at = self.src.offset();
        let r = if !matches!(self.state, State::Value(_)) {
            Err(Error::corrupt(at, "skip_value_to called outside a value"))
        } else if end < at {
            Err(Error::corrupt(
                at,
                format!("skip_value_to: end {end} is before the current position"),
            ))
        } else {
            read_skip(&mut self.src, end - at, at, "a value").map(|()| {
                self.finish_key();
            })
        };
        match r.and_then(|()| self.step()) {
            Ok(Some(Raw::KeyEnd(k))) => Ok(k),
            Ok(_) => Err(Error::corrupt(at, "skip_value_to: no key end").with_key(self.key_ctx())),
            Err(e) => {
                self.state = State::Done;
                Err(e.with_key(self.key_ctx()))
            }
        }
    }

    fn skip_value_inner(&mut self) -> Res<KeyEnd> {
        loop {
            match self.state {
                State::Value(Value::String) => {
                    // Nobody reads the bytes: checked (LZF included) and skipped.
                    self.skip_string("a string value")?;
                    self.elements = 1;
                    self.finish_key();
                }
                State::Value(Value::HashMeta { left, min }) if self.opts.frame_only => {
                    // Fields hashed for the duplicate check and values
                    // skipped, as the counted path checks them, never copied.
                    for _ in 0..left {
                        let at = self.src.offset();
                        let ttl = self.field_ttl(min)?;
                        let h = self.framed_field()?;
                        self.skip_string("a hash value")?;
                        self.dup_field(h, at)?;
                        self.field_ttls += u64::from(ttl.is_some());
                        self.elements += 1;
                    }
                    self.finish_key();
                }
                State::Value(Value::ValkeyHash2 { left }) if self.opts.frame_only => {
                    for _ in 0..left {
                        let at = self.src.offset();
                        let h = self.framed_field()?;
                        self.skip_string("a hash value")?;
                        let ttl = self.field_expire()?;
                        self.dup_field(h, at)?;
                        self.field_ttls += u64::from(ttl.is_some());
                        self.elements += 1;
                    }
                    self.finish_key();
                }
                State::Value(Value::Module) if self.opts.frame_only => {
                    self.read_module_value(ModuleData::Skip)?;
                }
                State::Value(Value::BlobStart(_)) if self.opts.frame_only => {
                    self.skip_string("an encoded value")?;
                    self.finish_key();
                }
                State::Value(Value::Items { left } | Value::Hash { left })
                    if self.opts.frame_only =>
                {
                    let per = if matches!(self.state, State::Value(Value::Hash { .. })) {
                        2
                    } else {
                        1
                    };
                    self.skip_strings(left * per, 0, "an element")?;
                    self.elements += left;
                    self.finish_key();
                }
                State::Value(Value::Zset { left, binary: true }) if self.opts.frame_only => {
                    // A member and an 8-byte binary score each.
                    self.skip_strings(left, 8, "a member")?;
                    self.elements += left;
                    self.finish_key();
                }
                State::Value(Value::Zset { left, binary }) if self.opts.frame_only => {
                    for _ in 0..left {
                        self.skip_string("a member")?;
                        let at = self.src.offset();
                        let n = if binary {
                            8
                        } else {
                            match read_u8(&mut self.src, "a score")? {
                                253..=255 => 0,
                                n => u64::from(n),
                            }
                        };
                        self.src.skip(n).map_err(|e| src_err(at, e, "a score"))?;
                    }
                    self.elements += left;
                    self.finish_key();
                }
                State::Value(Value::Quicklist { left, v2 }) if self.opts.frame_only => {
                    for _ in 0..left {
                        let at = self.src.offset();
                        let container = if v2 {
                            read_len(&mut self.src, "a quicklist node container")?
                        } else {
                            2
                        };
                        if container != 1 && container != 2 {
                            return Err(Error::corrupt(
                                at,
                                format!("invalid quicklist node container {container}"),
                            ));
                        }
                        self.skip_string("a quicklist node")?;
                    }
                    self.finish_key();
                }
                State::Value(Value::Items { left }) => {
                    let set = self.rdb_type == t::SET;
                    for _ in 0..left {
                        let at = self.src.offset();
                        if set {
                            let h = self.hash_string("an element")?;
                            if !self.dups.insert_hash(h) {
                                return Err(Error::corrupt(
                                    at,
                                    format!("duplicate set member at element {}", self.elements),
                                ));
                            }
                        } else {
                            self.skip_string("an element")?;
                        }
                        self.elements += 1;
                    }
                    self.finish_key();
                }
                State::Value(Value::Zset { left, binary }) => {
                    for _ in 0..left {
                        let at = self.src.offset();
                        let h = self.hash_string("a member")?;
                        let sat = self.src.offset();
                        let score = read_score(&mut self.src, binary)?;
                        if score.is_nan() {
                            return Err(Error::corrupt(sat, "zset with NaN score"));
                        }
                        if !self.dups.insert_hash(h) {
                            return Err(Error::corrupt(
                                at,
                                format!("duplicate zset member at element {}", self.elements),
                            ));
                        }
                        self.elements += 1;
                    }
                    self.finish_key();
                }
                State::Value(Value::Hash { left }) => {
                    for _ in 0..left {
                        let at = self.src.offset();
                        let h = self.hash_string("a hash field")?;
                        self.skip_string("a hash value")?;
                        if !self.dups.insert_hash(h) {
                            return Err(Error::corrupt(
                                at,
                                format!("duplicate hash field at element {}", self.elements),
                            ));
                        }
                        self.elements += 1;
                    }
                    self.finish_key();
                }
                State::Value(Value::Blob { kind, idx }) => {
                    let step = match kind {
                        Blob::ListZiplist | Blob::Intset | Blob::SetListpack => 1,
                        Blob::HashListpackEx => 3,
                        _ => 2,
                    };
                    let n = self.vals.len().saturating_sub(idx);
                    self.elements += n.div_ceil(step) as u64;
                    if kind == Blob::HashListpackEx {
                        for i in (idx..self.vals.len()).step_by(3) {
                            let ttl = self
                                .vals
                                .get(i + 2)
                                .and_then(|v| v.get(&self.blob).as_int())
                                .unwrap_or(0);
                            self.field_ttls += u64::from(ttl != 0);
                        }
                    }
                    self.finish_key();
                }
                State::Value(Value::QuicklistNode { left, v2, idx }) => {
                    self.elements += self.vals.len().saturating_sub(idx) as u64;
                    for _ in 0..left {
                        self.load_quicklist_node(v2)?;
                        self.elements += self.vals.len() as u64;
                    }
                    self.finish_key();
                }
                State::Value(Value::Quicklist { left, v2 }) => {
                    for _ in 0..left {
                        self.load_quicklist_node(v2)?;
                        self.elements += self.vals.len() as u64;
                    }
                    self.finish_key();
                }
                State::KeyEnd => {
                    return match self.step()? {
                        Some(Raw::KeyEnd(k)) => Ok(k),
                        _ => unreachable!("KeyEnd state yields KeyEnd"),
                    };
                }
                State::Value(_) => {
                    // Strings, streams, modules, blobs not loaded yet: the general
                    // path (which may finish the key at once).
                    if let Some(Raw::KeyEnd(k)) = self.step()? {
                        return Ok(k);
                    }
                }
                State::Magic | State::Body | State::Done => {
                    return Err(Error::corrupt(
                        self.src.offset(),
                        "skip_value called outside a key",
                    ));
                }
            }
        }
    }

    /// Reads a string and returns the 128-bit hash of its value.
    #[inline]
    fn hash_string(&mut self, reading: &'static str) -> Res<u128> {
        let at = self.src.offset();
        let b = self.src.read_u8().map_err(|e| src_err(at, e, reading))?;
        if b >> 6 != 3 {
            if let Len::Plain(n) = len_rest(&mut self.src, b, at, reading)? {
                // (In memory, any slice is read in place: no copy.)
                if n <= IN_PLACE || R::IN_MEMORY && n <= MAX_SLICE as u64 {
                    let s = read_in_place(&mut self.src, n, at, reading)?;
                    return Ok(xxhash_rust::xxh3::xxh3_128(s));
                }
                self.sa.clear();
                read_bytes(&mut self.src, n, &mut self.sa, at, reading)?;
                return Ok(xxhash_rust::xxh3::xxh3_128(&self.sa));
            }
        }
        self.hash_special_string(b, at, reading)
    }

    #[cold]
    fn hash_special_string(&mut self, b: u8, at: u64, reading: &'static str) -> Res<u128> {
        let int = |v: i64| xxhash_rust::xxh3::xxh3_128(itoa::Buffer::new().format(v).as_bytes());
        match b & 0x3f {
            0 => {
                let v = self
                    .src
                    .read_array::<1>()
                    .map_err(|e| src_err(at, e, reading))?;
                Ok(int(i64::from(v[0] as i8)))
            }
            1 => {
                let v = self
                    .src
                    .read_array::<2>()
                    .map_err(|e| src_err(at, e, reading))?;
                Ok(int(i64::from(i16::from_le_bytes(v))))
            }
            2 => {
                let v = self
                    .src
                    .read_array::<4>()
                    .map_err(|e| src_err(at, e, reading))?;
                Ok(int(i64::from(i32::from_le_bytes(v))))
            }
            3 => {
                let clen = read_len(&mut self.src, reading)?;
                let ulen = read_len(&mut self.src, reading)?;
                lzf_body(
                    &mut self.src,
                    clen,
                    ulen,
                    &mut self.sa,
                    &mut self.tmp,
                    at,
                    reading,
                )?;
                Ok(xxhash_rust::xxh3::xxh3_128(&self.sa))
            }
            _ => Err(Error::new(at, ErrorKind::BadStringEncoding(b)).within(reading)),
        }
    }

    /// Skips `count` strings, each followed by `tail` fixed bytes (frame-only
    /// mode): strings lying in the buffered input (plain lengths as
    /// [`plain_in`] reads them, integers, or LZF with short lengths, which is
    /// not decompressed here) are stepped over in a
    /// tight loop; anything else (long lengths, a string crossing the end of
    /// the buffer) goes through [`Reader::skip_string`], one at a time.
    fn skip_strings(&mut self, count: u64, tail: usize, reading: &'static str) -> Res<()> {
        let mut left = count;
        while left > 0 {
            let buf = self.src.buffered();
            let mut p = 0usize;
            while left > 0 {
                let Some(&b) = buf.get(p) else { break };
                let end = match b {
                    // Plain lengths (`plain_in` declines 64-bit ones and
                    // strings that do not fit).
                    0x00..=0xbf => match plain_in(buf, p) {
                        Some((_, end)) => end,
                        None => break,
                    },
                    // Integers of 1, 2 and 4 bytes.
                    0xc0 => p + 2,
                    0xc1 => p + 3,
                    0xc2 => p + 5,
                    // LZF, when both its lengths are one-byte ones (frame-only
                    // mode does not decompress: the compressed length frames
                    // it). Longer lengths take the general path.
                    0xc3 => match (buf.get(p + 1), buf.get(p + 2)) {
                        (Some(&c), Some(&u)) if c < 0x40 && u < 0x40 => p + 3 + usize::from(c),
                        _ => break,
                    },
                    _ => break,
                } + tail;
                if end > buf.len() {
                    break;
                }
                p = end;
                left -= 1;
            }
            self.src.consume(p);
            if left > 0 {
                self.skip_string(reading)?;
                if tail > 0 {
                    let at = self.src.offset();
                    read_skip(&mut self.src, tail as u64, at, "a score")?;
                }
                left -= 1;
            }
        }
        Ok(())
    }

    /// Reads and validates a string without keeping it.
    #[inline]
    fn skip_string(&mut self, reading: &'static str) -> Res<()> {
        let at = self.src.offset();
        let b = self.src.read_u8().map_err(|e| src_err(at, e, reading))?;
        if b >> 6 != 3 {
            if let Len::Plain(n) = len_rest(&mut self.src, b, at, reading)? {
                return read_skip(&mut self.src, n, at, reading);
            }
        }
        // Special encodings: put the byte back by re-reading through the slow path.
        self.skip_special_string(b, at, reading)
    }

    #[cold]
    fn skip_special_string(&mut self, b: u8, at: u64, reading: &'static str) -> Res<()> {
        let x = b & 0x3f;
        match x {
            0 => read_skip(&mut self.src, 1, at, reading),
            1 => read_skip(&mut self.src, 2, at, reading),
            2 => read_skip(&mut self.src, 4, at, reading),
            3 => {
                let clen = read_len(&mut self.src, reading)?;
                let ulen = read_len(&mut self.src, reading)?;
                if self.opts.frame_only {
                    // Skip by the encoded length: no decompression.
                    return read_skip(&mut self.src, clen, at, reading);
                }
                lzf_check(&mut self.src, clen, ulen, &mut self.tmp, at, reading)
            }
            _ => Err(Error::new(at, ErrorKind::BadStringEncoding(b)).within(reading)),
        }
    }
}

/// A plain length (6, 14 or 32 bits) whose header starts at `buf[p]`, when the
/// header is all in `buf`: where the string's bytes start, and how many.
#[inline]
fn plain_len(buf: &[u8], p: usize) -> Option<(usize, usize)> {
    let b = *buf.get(p)?;
    Some(match b >> 6 {
        0 => (p + 1, usize::from(b & 0x3f)),
        1 => (
            p + 2,
            usize::from(b & 0x3f) << 8 | usize::from(*buf.get(p + 1)?),
        ),
        2 if b == 0x80 => {
            let l = buf.get(p + 1..p + 5)?;
            (p + 5, u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
        }
        _ => return None,
    })
}

/// The bounds of a string with a plain length whose header starts at `buf[p]`,
/// when the header and the bytes are all in `buf`.
#[inline]
fn plain_in(buf: &[u8], p: usize) -> Option<(usize, usize)> {
    let (start, n) = plain_len(buf, p)?;
    let end = start.checked_add(n)?;
    (end <= buf.len()).then_some((start, end))
}

impl<R: Input> Reader<R> {
    /// One element of a hashtable-encoded set (`Items`), binary-score zset or
    /// hash, straight from the buffered input when its strings have plain
    /// lengths and lie in the buffer: the same checks (NaN score, duplicate) in
    /// the same order as [`Reader::counted_elem`], without copying. Returns
    /// false, having consumed nothing, when the element is not all there.
    #[inline]
    fn visit_in_place(&mut self, v: Value, f: &mut dyn FnMut(Element<'_>)) -> Res<bool> {
        let at = self.src.offset();
        let buf = self.src.buffered();
        let Some((s, e)) = plain_in(buf, 0) else {
            return Ok(false);
        };
        let first = &buf[s..e];
        let (elem, used, what) = match v {
            Value::Items { .. } => (Element::Item(Str::Bytes(first)), e, "set member"),
            Value::Zset { .. } => {
                let Some(sc) = buf.get(e..e + 8) else {
                    return Ok(false);
                };
                let score =
                    f64::from_le_bytes([sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], sc[7]]);
                if score.is_nan() {
                    return Err(Error::corrupt(at + e as u64, "zset with NaN score"));
                }
                (
                    Element::Member {
                        member: Str::Bytes(first),
                        score,
                    },
                    e + 8,
                    "zset member",
                )
            }
            _ => {
                let Some((vs, ve)) = plain_in(buf, e) else {
                    return Ok(false);
                };
                (
                    Element::Field {
                        field: Str::Bytes(first),
                        value: Str::Bytes(&buf[vs..ve]),
                        expire_ms: None,
                    },
                    ve,
                    "hash field",
                )
            }
        };
        if !self.dups.insert_bytes(first) {
            return Err(Error::corrupt(
                at,
                format!("duplicate {what} at element {}", self.elements),
            ));
        }
        self.elements += 1;
        f(elem);
        self.src.consume(used);
        Ok(true)
    }
}

impl<R: Input> Reader<R> {
    /// Reads the rest of the current key's value, calling `f` with each element,
    /// and returns its [`KeyEnd`] (no separate `KeyEnd` event follows). The same
    /// elements and validation as the `Element` events of [`Reader::next_event`],
    /// without a trip through the event state machine per element: the fast path
    /// for consumers that render every element (dump).
    pub fn visit_value<F: FnMut(Element<'_>)>(&mut self, mut f: F) -> Result<KeyEnd, Error> {
        match self.visit_inner(&mut f) {
            Ok(end) => Ok(end),
            Err(e) => {
                self.state = State::Done;
                Err(e.with_key(self.key_ctx()))
            }
        }
    }

    fn visit_inner(&mut self, f: &mut dyn FnMut(Element<'_>)) -> Res<KeyEnd> {
        loop {
            match self.state {
                State::Value(
                    v @ (Value::Items { left }
                    | Value::Zset { left, binary: true }
                    | Value::Hash { left }),
                ) if self.rdb_type != t::LIST => {
                    // Hashtable-encoded sets, zsets and hashes: elements lying
                    // in the buffered input are hashed and handed out in place
                    // (no copy); the others take the general path.
                    for done in 0..left {
                        self.state = State::Value(v.with_left(left - done));
                        if !self.visit_in_place(v, f)? {
                            let e = self.counted_elem(v)?;
                            f(self.render_elem(e));
                        }
                    }
                    self.finish_key();
                }
                State::Value(
                    v @ (Value::Items { left }
                    | Value::Zset { left, .. }
                    | Value::Hash { left }
                    | Value::HashMeta { left, .. }
                    | Value::ValkeyHash2 { left }),
                ) => {
                    for done in 0..left {
                        // Keep the state right if an element fails.
                        self.state = State::Value(v.with_left(left - done));
                        let e = self.counted_elem(v)?;
                        f(self.render_elem(e));
                    }
                    self.finish_key();
                }
                State::Value(Value::Blob { kind, idx }) => {
                    let mut i = idx;
                    while i < self.vals.len() {
                        let e = self.blob_elem(kind, i);
                        f(self.render_elem(e));
                        i += kind.step();
                    }
                    self.finish_key();
                }
                State::Value(Value::QuicklistNode { left, v2, idx }) => {
                    for i in idx..self.vals.len() {
                        self.elements += 1;
                        f(Element::Item(self.vals[i].get(&self.blob)));
                    }
                    self.state = State::Value(Value::Quicklist { left, v2 });
                }
                State::Value(Value::Quicklist { left, v2 }) => {
                    for n in 0..left {
                        self.state = State::Value(Value::Quicklist { left: left - n, v2 });
                        self.load_quicklist_node(v2)?;
                        for v in &self.vals {
                            f(Element::Item(v.get(&self.blob)));
                        }
                        self.elements += self.vals.len() as u64;
                    }
                    self.finish_key();
                }
                State::KeyEnd => {
                    return match self.step()? {
                        Some(Raw::KeyEnd(k)) => Ok(k),
                        _ => unreachable!("KeyEnd state yields KeyEnd"),
                    };
                }
                State::Value(_) => {
                    // Strings, streams, modules, blobs not loaded yet: the event
                    // path (which may finish the key at once).
                    match self.step()? {
                        Some(Raw::Elem(e)) => f(self.render_elem(e)),
                        Some(Raw::KeyEnd(k)) => return Ok(k),
                        _ => {}
                    }
                }
                State::Magic | State::Body | State::Done => {
                    return Err(Error::corrupt(
                        self.src.offset(),
                        "visit_value called outside a key",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_fast_path_gives_the_parser_verdict() {
        let texts: &[&[u8]] = &[
            b"0",
            b"-0",
            b"12",
            b"-12",
            b"3.25",
            b"-3.25",
            b"007.500",
            b"1.",
            b".5",
            b"-.5",
            b"-",
            b".",
            b"",
            b"1.2.3",
            b"--1",
            b"+1",
            b" 1",
            b"1 ",
            b"1e5",
            b"-1E-5",
            b"inf",
            b"-inf",
            b"infinity",
            b"nan",
            b"NaN",
            b"-nan",
            b"0x10",
            b"1_000",
            b"\xff",
            b"123456789012345678901234567890.5",
        ];
        for t in texts {
            let s = Str::Bytes(t);
            assert_eq!(
                score_is_valid(s),
                parse_score(s).is_some(),
                "{:?}",
                String::from_utf8_lossy(t)
            );
        }
        assert!(score_is_valid(Str::Int(-7)));
    }

    /// Found by the `rdb_roundtrip` fuzz target: an encoded value (zipmap,
    /// ziplist) stored as an integer-encoded string, whose decimal text is
    /// longer than the bytes read (`0xc0 0x80` is "-128"). The blob's offset
    /// was computed by subtracting the text's length from the bytes read: an
    /// overflow (a panic with overflow checks, an offset before the value
    /// without). The error is reported inside the value.
    #[test]
    fn an_integer_encoded_blob_is_reported_inside_the_value() {
        use crate::rdb::check::{CheckOptions, check};
        for (ty, int) in [(9u8, &b"\xc0\x80"[..]), (10, b"\xc2\x00\x00\x00\x80")] {
            let mut rdb = b"REDIS0009\xfe\x00".to_vec();
            rdb.extend_from_slice(&[ty, 1, b'k']);
            let value_at = rdb.len() as u64;
            rdb.extend_from_slice(int);
            rdb.push(0xff);
            rdb.extend_from_slice(&[0; 8]);
            let src = Source::new(&rdb[..]).with_size(rdb.len() as u64);
            let report = check(Reader::new(src), CheckOptions::default()).0;
            let p = report.problems.first().expect("a problem");
            assert!(
                p.offset >= value_at && p.offset < value_at + 12,
                "type {ty}: problem at {} (the value starts at {value_at}): {}",
                p.offset,
                p.message
            );
        }
    }

    /// A fragment reader over `body` (records of an RDB 11 file, at offset
    /// 9), frame-only or validating, limited like a probe when `limit` is set.
    fn fragment(
        body: &[u8],
        frame_only: bool,
        limit: Option<u64>,
    ) -> Reader<crate::io::Memory<'_>> {
        let src = Source::new(crate::io::Memory(body))
            .with_size(body.len() as u64 + 9)
            .with_start_offset(9);
        let opts = Options {
            verify_checksum: false,
            frame_only,
        };
        let mut r = Reader::for_fragment_with(src, Format::Redis, 11, 0, opts);
        if let Some(l) = limit {
            r.limit_keys(l);
        }
        r
    }

    /// A 32-bit RDB length.
    fn len32(n: u32) -> Vec<u8> {
        let mut v = vec![0x80];
        v.extend(n.to_be_bytes());
        v
    }

    /// A probe (a reader with a key limit) meets records between keys whose
    /// strings claim most of the input (chance bytes): it fails before
    /// reading them, at the string, where a reader without a limit reads them
    /// (here they are all there).
    #[test]
    fn a_probe_does_not_read_long_names_between_keys() {
        let big = 1u32 << 20;
        let payload = vec![b'x'; big as usize];
        for (op, what) in [
            (t::OP_AUX, "an AUX field name"),
            (t::OP_FUNCTION2, "a function library"),
            (t::OP_FUNCTION_PRE_GA, "a pre-release function library name"),
        ] {
            let mut body = vec![op];
            body.extend(len32(big));
            body.extend(&payload);
            body.extend([1, b'e', 0, 0]);
            let mut probe = fragment(&body, true, Some(1024));
            let e = probe.next_event().expect_err("refused");
            assert_eq!(e.offset(), 10, "{what}: {e}");
            assert!(
                e.to_string()
                    .contains(&format!("{what} of {big} bytes (limit 1024)")),
                "{e}"
            );
            let mut plain = fragment(&body, true, None);
            assert!(plain.next_event().is_ok(), "{what}: read without a limit");
        }
        // A key compressed with LZF is bounded by its compressed length.
        let mut body = vec![t::STRING, 0xc3];
        body.extend(len32(big));
        body.extend(len32(big * 2));
        body.extend(&payload);
        let e = fragment(&body, true, Some(1024))
            .next_event()
            .expect_err("refused");
        assert!(
            e.to_string().contains(&format!("key name of {big} bytes")),
            "{e}"
        );
    }

    #[test]
    fn declared_lengths_are_read_from_string_headers() {
        assert_eq!(declared_len(&[0x05]), 5);
        assert_eq!(declared_len(&[0x41, 0x00]), 256);
        assert_eq!(declared_len(&[0x80, 0, 1, 0, 0]), 65536);
        assert_eq!(declared_len(&[0x81, 0, 0, 0, 1, 0, 0, 0, 0]), 1 << 32);
        assert_eq!(declared_len(&[0xc3, 0x80, 0, 0, 1, 0, 0x40, 0]), 256);
        assert_eq!(declared_len(&[0xc0, 0x05]), 0, "an integer");
        assert_eq!(declared_len(&[0x80, 0, 1]), 0, "a header cut short");
        assert_eq!(declared_len(&[]), 0);
    }

    /// A frame-only reader steps over a module value and a hash with field
    /// TTLs (Redis 7.4) without copying their strings, and ends them where
    /// the validating reader does; the hash's duplicate fields are still
    /// found.
    #[test]
    fn frame_only_skips_module_values_and_hashes_with_field_ttls() {
        let big = vec![b'v'; 100_000];
        let mut module = vec![t::MODULE_2, 1, b'm', 0x81];
        module.extend(0x1234_5678_9abc_de00u64.to_be_bytes());
        module.extend([5]);
        module.extend(len32(big.len() as u32));
        module.extend(&big);
        module.extend([2, 7, 0]);
        let mut hash = vec![t::HASH_METADATA, 1, b'h'];
        hash.extend(0u64.to_le_bytes());
        hash.extend([2, 0, 1, b'a']);
        hash.extend(len32(big.len() as u32));
        hash.extend(&big);
        hash.extend([0, 1, b'b', 1, b'c']);
        for body in [&module, &hash] {
            let ends: Vec<u64> = [true, false]
                .into_iter()
                .map(|frame_only| {
                    let mut r = fragment(body, frame_only, Some(1024));
                    assert!(matches!(r.next_event(), Ok(Some(Event::KeyStart(_)))));
                    r.skip_value().expect("framed");
                    r.offset()
                })
                .collect();
            assert_eq!(ends, [body.len() as u64 + 9; 2], "type {}", body[0]);
        }
        // The same field twice.
        let mut dup = vec![t::HASH_METADATA, 1, b'h'];
        dup.extend(0u64.to_le_bytes());
        dup.extend([2, 0, 1, b'a', 1, b'x', 0, 1, b'a', 1, b'y']);
        let mut r = fragment(&dup, true, None);
        assert!(matches!(r.next_event(), Ok(Some(Event::KeyStart(_)))));
        let e = r.skip_value().expect_err("duplicate");
        assert!(
            e.to_string().contains("duplicate hash field at element 1"),
            "{e}"
        );
    }

    /// A compressed set member claiming 88 times its compressed length, its
    /// bytes not LZF: refused as LZF (checked before the output is made, the
    /// verdict of decompressing it), by the validating reader.
    #[test]
    fn an_lzf_claim_is_checked_before_its_output_is_made() {
        let clen = 64u32 << 10;
        let mut body = vec![t::SET, 1, b's', 1, 0xc3];
        body.extend(len32(clen));
        body.extend(len32(clen * 88));
        body.extend(std::iter::repeat_n(0xff, clen as usize));
        let mut r = fragment(&body, false, None);
        assert!(matches!(r.next_event(), Ok(Some(Event::KeyStart(_)))));
        let e = r.skip_value().expect_err("not LZF");
        assert!(matches!(e.kind(), ErrorKind::Lzf(_)), "{e}");
    }
}
