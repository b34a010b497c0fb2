//! The interface between what `dump` reads and what it writes: a [`Render`]
//! turns keys (element by element, or whole [`Value`]s) and file-level records
//! ([`Meta`]) into output bytes appended to an [`Out`] buffer.
//!
//! Two callers drive a renderer: the RDB event loop ([`super::rdb`]), which feeds
//! strings, lists, sets, sorted sets and hashes element by element straight from
//! the reader's buffers (no allocation per element: this is the hot path), and
//! assembles only streams and module values whole; and the generic item loop
//! ([`super::items`]), which feeds whole [`model::Entry`] values from any source
//! (a replayed AOF dataset, or [`redis_persist::rdb::Entries`]). Both produce
//! identical output for the same data (a test checks it on the corpus).

use redis_persist::model::{self, KeyType, ModuleValue, Stream, Value};
use redis_persist::rdb::types::Format;
use redis_persist::rdb::{Checksum, Element, Str};

use super::stream::Out;

/// What is known about a key before its value.
#[derive(Debug, Clone, Copy)]
pub struct KeyHead<'a> {
    /// Database.
    pub db: u64,
    /// Key name.
    pub key: &'a [u8],
    /// Data type.
    pub kind: KeyType,
    /// The encoding Redis reports after loading (`OBJECT ENCODING`), when known.
    /// Strings compute theirs from the value (`int`, `embstr`, `raw`).
    pub encoding: Option<&'static str>,
    /// Absolute expiry, Unix ms.
    pub expire_ms: Option<i64>,
    /// LRU idle seconds, when stored.
    pub lru_idle: Option<u64>,
    /// LFU counter, when stored.
    pub lfu_freq: Option<u8>,
    /// Redis 8.6 `KEY_META` classes: (class spec, module-framed data).
    pub key_meta: &'a [(u32, Vec<u8>)],
}

/// A file-level record (not a key).
#[derive(Debug, Clone, Copy)]
pub enum Meta<'a> {
    /// The file header.
    Header {
        /// Magic.
        format: Format,
        /// RDB version.
        version: u32,
    },
    /// An aux field.
    Aux {
        /// Name.
        name: &'a [u8],
        /// Value.
        value: &'a [u8],
    },
    /// A function library.
    Function {
        /// Its source code.
        code: &'a [u8],
    },
    /// A module aux record.
    ModuleAux {
        /// The 9-character module type name.
        type_name: &'a str,
        /// Encoding version.
        encver: u16,
        /// 1 = written before the keys, 2 = after.
        when: u64,
        /// The annotated module data.
        data: &'a [u8],
    },
    /// A `SLOT_INFO` record (Redis 7.4+ cluster sizing hint).
    SlotInfo {
        /// Slot.
        slot: u64,
        /// Keys in the slot.
        keys: u64,
        /// Keys with an expire.
        expires: u64,
    },
    /// A `SLOT_IMPORT` record (Valkey 9, slot migration in progress).
    SlotImport {
        /// Job name.
        job: &'a [u8],
        /// Slot ranges (start, end).
        ranges: &'a [(u64, u64)],
    },
}

/// Counters reported at the end (warnings on stderr).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Keys written.
    pub keys: u64,
    /// Keys left out by the filters (expired keys included).
    pub filtered: u64,
    /// Aggregates with no element (Redis skips them when loading).
    pub empty_keys: u64,
    /// Module aux records that the output format cannot express.
    pub module_aux_dropped: u64,
    /// Hash fields left out because their TTL had passed.
    pub expired_fields: u64,
    /// Streams whose pending entries refer to deleted entries and whose
    /// max-deleted-id could not be reproduced exactly.
    pub inexact_streams: u64,
    /// Vector set elements whose re-creating `VADD` does not store exactly the
    /// same vector (REDUCE sets whose preimage was not found).
    pub inexact_vectors: u64,
}

impl Stats {
    /// Adds `o` to `self`.
    pub fn add(&mut self, o: &Stats) {
        self.keys += o.keys;
        self.filtered += o.filtered;
        self.empty_keys += o.empty_keys;
        self.module_aux_dropped += o.module_aux_dropped;
        self.expired_fields += o.expired_fields;
        self.inexact_streams += o.inexact_streams;
        self.inexact_vectors += o.inexact_vectors;
    }
}

/// Turns keys and records into output bytes. One renderer per output stream; the
/// parallel path gives every chunk its own [`Render::fork`] and merges the side
/// results back with [`Render::merge`].
pub trait Render: Send + Sync + Sized {
    /// Results kept aside instead of written inline (the one-document JSON
    /// format collects aux fields and functions for its end).
    type Side: Send + Default;
    /// The state that rendering a key changes and that [`Render::restore`]
    /// puts back when the key's output is dropped (to render it again).
    type Checkpoint: Copy;

    /// The state before a key.
    fn checkpoint(&self) -> Self::Checkpoint;
    /// Goes back to the state of `c`.
    fn restore(&mut self, c: Self::Checkpoint);

    /// A fresh renderer with the same settings, for an independent chunk of keys
    /// whose output is appended after what this one wrote.
    fn fork(&self) -> Self;
    /// Takes the side results and counters accumulated so far.
    fn take(&mut self) -> (Self::Side, Stats);
    /// Adjusts the output of a fork (`out`, with its side results) so that it
    /// follows what this renderer and earlier forks wrote, as if one renderer had
    /// written everything: the result is the part of `out` to write. Called in
    /// output order, before [`Render::merge`].
    fn join<'o>(&mut self, side: &Self::Side, out: &'o [u8]) -> &'o [u8];
    /// Merges side results of a fork (in output order).
    fn merge(&mut self, side: Self::Side, stats: &Stats);
    /// Counters.
    fn stats(&mut self) -> &mut Stats;

    /// A file-level record.
    fn meta(&mut self, out: &mut Out<'_>, meta: &Meta<'_>);
    /// A whole string key.
    fn string(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, value: Str<'_>);
    /// The start of a list, set, sorted set or hash (or a stream, see
    /// [`Render::stream_events`]) read element by element.
    fn begin(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>);
    /// One element (`Item`, `Member` or `Field`) of the aggregate begun last.
    fn element(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, el: &Element<'_>);
    /// The end of the aggregate begun last; `empty` when it had no element.
    fn end(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, empty: bool);
    /// True when streams are to be fed element by element (`begin`, the
    /// `Stream*` elements, `end`) rather than whole to [`Render::stream`]: no
    /// allocation per entry.
    fn stream_events(&self) -> bool {
        false
    }
    /// A whole stream.
    fn stream(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, s: &Stream);
    /// A whole module value.
    fn module(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, m: &ModuleValue);
    /// Writes what ends the output (`checksum` when the end of the input was
    /// reached, `error` when reading failed).
    fn finish(&mut self, out: &mut Out<'_>, checksum: Option<Checksum>, error: Option<&str>);
}

/// The `OBJECT ENCODING` Redis gives a string value when it loads it
/// (`tryObjectEncoding`): `int` for the canonical text of an `i64`, `embstr` up
/// to 44 bytes, `raw` beyond.
pub fn string_encoding(v: Str<'_>) -> &'static str {
    match v {
        Str::Int(_) => "int",
        Str::Bytes(b)
            if b.len() <= 20 && redis_persist::rdb::str::parse_canonical_i64(b).is_some() =>
        {
            "int"
        }
        Str::Bytes(b) if b.len() <= 44 => "embstr",
        Str::Bytes(_) => "raw",
    }
}

/// Feeds a whole value to a renderer (the same calls the event loop makes).
pub fn render_value<R: Render>(r: &mut R, out: &mut Out<'_>, head: &KeyHead<'_>, value: &Value) {
    match value {
        Value::String(s) => r.string(out, head, Str::Bytes(s)),
        Value::List(items) | Value::Set(items) => {
            r.begin(out, head);
            for x in items {
                r.element(out, head, &Element::Item(Str::Bytes(x)));
                out.step();
            }
            r.end(out, head, items.is_empty());
        }
        Value::Zset(members) => {
            r.begin(out, head);
            for (m, score) in members {
                r.element(
                    out,
                    head,
                    &Element::Member {
                        member: Str::Bytes(m),
                        score: *score,
                    },
                );
                out.step();
            }
            r.end(out, head, members.is_empty());
        }
        Value::Hash(fields) => {
            r.begin(out, head);
            for f in fields {
                r.element(
                    out,
                    head,
                    &Element::Field {
                        field: Str::Bytes(&f.field),
                        value: Str::Bytes(&f.value),
                        expire_ms: f.expire_ms,
                    },
                );
                out.step();
            }
            r.end(out, head, fields.is_empty());
        }
        Value::Stream(s) => r.stream(out, head, s),
        Value::Module(m) => r.module(out, head, m),
    }
}

/// The head of a whole entry (encoding unknown except for strings).
#[cfg_attr(not(test), allow(dead_code))] // used by the generic item path
pub fn head_of<'a>(e: &'a model::Entry, encoding: Option<&'static str>) -> KeyHead<'a> {
    KeyHead {
        db: e.db,
        key: &e.key,
        kind: e.value.key_type(),
        encoding,
        expire_ms: e.expire_ms,
        lru_idle: e.lru_idle,
        lfu_freq: e.lfu_freq,
        key_meta: &[],
    }
}
