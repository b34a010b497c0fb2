//! The RDB writer: [`Writer`] writes an RDB file of version 9, 10, 11, 12 or 13
//! (default 10, what Redis 7.0 writes), or Valkey 9's `VALKEY080` (version
//! [`VALKEY_9`]), one entry at a time.
//!
//! What it writes, in Redis' order (FORMATS.md §1.1): the magic, the aux fields
//! `redis-ver` (`valkey-ver` for Valkey 9), `redis-bits`, `ctime`, `used-mem` and
//! `aof-base` (RDB ≥ 10) or `aof-preamble` (RDB 9), one `FUNCTION2` record per
//! library, then per database `SELECTDB` + `RESIZEDB` and its keys (with
//! `EXPIRETIME_MS`), then `EOF` and the CRC-64 trailer.
//!
//! Every value is written in the encoding Redis would choose for it under the
//! default thresholds (`hash-max-listpack-entries 512`, `-value 64`;
//! `zset-max-listpack-entries 128`, `-value 64`; `set-max-intset-entries 512`;
//! `set-max-listpack-entries 128`, `-value 64`; `list-max-listpack-size -2`;
//! `stream-node-max-bytes 4096`, `stream-node-max-entries 100`), as the target
//! version knows them:
//!
//! | value | RDB 9 | RDB 10 | RDB 11 | RDB 12 | RDB 13 | `VALKEY080` |
//! |---|---|---|---|---|---|
//! | list | 14 (ziplist nodes) | 18 | 18 | 18 (PLAIN nodes for elements > 8 KB) | as 12 |
//! | set of ≤ 512 integers | 11 | 11 | 11 | 11 | 11 |
//! | small set | 2 | 2 | 20 | 20 | 20 |
//! | small zset / hash | 12 / 13 | 17 / 16 | 17 / 16 | 17 / 16 | 17 / 16 |
//! | hash with field TTLs | error | error | error | 25 (small) / 24 | as 12 | 22 (`HASH_2`, any size) |
//! | large set / zset / hash | 2 / 5 / 4 | same | same | same | same | same |
//! | stream | 15 | 19 | 21 | 21 | 26 | 21 |
//!
//! RDB 13 (Redis 8.6) writes every stream as type 26 with its IDMP state (the
//! defaults, duration 100 and maxsize 100 without producers, when the model has
//! none). Older versions refuse a stream whose IDMP state is not the default
//! (producers, or a configuration set by `XCFGSET`): it cannot be carried; its
//! two counters alone are dropped, as the server's own AOF rewrite drops them.
//!
//! Whatever a value's serializer chose, the record is checked against the
//! target's type table before it leaves the record buffer ([`type_allowed`]):
//! a type the target's loader refuses (24/25 in a Valkey file, 22 in a Redis
//! one, a listpack set in RDB 10, 26 before RDB 13, …) fails the key and
//! nothing of it is written. A Redis 8 vector set (the built-in `vectorset`
//! module) is refused for Valkey, which has no such module.
//!
//! Also written when given: module values (type 7, raw), module AUX records
//! ([`Writer::write_module_aux`]), LRU idle times and LFU counters (opcodes
//! `IDLE` / `FREQ`) carried by the entries.
//!
//! Strings use the INT8/16/32 encodings when they are canonical integers, and
//! LZF when longer than 20 bytes and compression saves at least 4 bytes (Redis'
//! rule), with a compressor that reuses its hash table ([`lzf`]).
//!
//! Memory: one serialized value is buffered at a time (the largest value of the
//! dataset bounds it); output goes through a 256 KB buffer.

mod encode;
mod flat;
pub mod lzf;

use std::io::{self, BufWriter, Write};

pub use encode::{Listpack, Ziplist, canonical_i64, intset};
pub use flat::{Flat, flat_type};

use crate::io::Crc64;
use crate::model::{self, Entry, FunctionLibrary, HashField, KeyType, Value};

/// Default `hash-max-listpack-entries`.
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 512;
/// Default `hash-max-listpack-value`.
pub const HASH_MAX_LISTPACK_VALUE: usize = 64;
/// Default `zset-max-listpack-entries`.
pub const ZSET_MAX_LISTPACK_ENTRIES: usize = 128;
/// Default `zset-max-listpack-value`.
pub const ZSET_MAX_LISTPACK_VALUE: usize = 64;
/// Default `set-max-intset-entries`.
pub const SET_MAX_INTSET_ENTRIES: usize = 512;
/// Default `set-max-listpack-entries` (Redis 7.2+).
pub const SET_MAX_LISTPACK_ENTRIES: usize = 128;
/// Default `set-max-listpack-value` (Redis 7.2+).
pub const SET_MAX_LISTPACK_VALUE: usize = 64;
/// Quicklist node size limit for `list-max-listpack-size -2`.
pub const LIST_NODE_MAX_BYTES: usize = 8192;
/// Default `stream-node-max-bytes`.
pub const STREAM_NODE_MAX_BYTES: usize = 4096;
/// Default `stream-node-max-entries`.
pub const STREAM_NODE_MAX_ENTRIES: usize = 100;

/// Object type bytes.
use super::types as ty;

pub use super::types::VALKEY_9;

/// The versions [`Writer`] writes.
pub fn version_supported(version: u32) -> bool {
    (9..=13).contains(&version) || version == VALKEY_9
}

/// Does `version` use the `VALKEY` magic (and Valkey's type table)?
pub fn is_valkey(version: u32) -> bool {
    ty::Format::of_version(version) == ty::Format::Valkey
}

/// Can a loader of RDB `version` read object type `t`? The writer's last check
/// on every record (FORMATS.md §1.9, §8.2): what a server of that version
/// refuses is never written.
pub fn type_allowed(version: u32, t: u8) -> bool {
    match t {
        ty::STRING | ty::SET | ty::HASH | ty::ZSET_2 | ty::MODULE_2 | ty::SET_INTSET => true,
        ty::LIST_QUICKLIST | ty::ZSET_ZIPLIST | ty::HASH_ZIPLIST | ty::STREAM_LISTPACKS => true,
        ty::HASH_LISTPACK | ty::ZSET_LISTPACK | ty::LIST_QUICKLIST_2 | ty::STREAM_LISTPACKS_2 => {
            version >= 10
        }
        ty::SET_LISTPACK | ty::STREAM_LISTPACKS_3 => version >= 11,
        ty::STREAM_LISTPACKS_4 => (13..=79).contains(&version),
        // Valkey 9's HASH_2; in a Redis file 22 is the 7.4 RC type.
        ty::HASH_METADATA_PRE_GA => is_valkey(version),
        ty::HASH_METADATA | ty::HASH_LISTPACK_EX => version >= 12 && !is_valkey(version),
        _ => false,
    }
}

/// The magic `version` is written with.
fn format_of(version: u32) -> ty::Format {
    if is_valkey(version) {
        ty::Format::Valkey
    } else {
        ty::Format::Redis
    }
}

const OP_FUNCTION2: u8 = 0xf5;
const OP_MODULE_AUX: u8 = 0xf7;
const OP_IDLE: u8 = 0xf8;
const OP_FREQ: u8 = 0xf9;
const OP_AUX: u8 = 0xfa;
const OP_RESIZEDB: u8 = 0xfb;
const OP_EXPIRETIME_MS: u8 = 0xfc;
const OP_SELECTDB: u8 = 0xfe;
const OP_EOF: u8 = 0xff;

/// Which AOF marker aux field to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AofMarker {
    /// A plain RDB (`aof-base 0` / `aof-preamble 0`).
    #[default]
    None,
    /// The base of a multi-part AOF or the preamble of a single-file AOF
    /// (`aof-base 1` for RDB ≥ 10, `aof-preamble 1` for RDB 9).
    Aof,
}

/// Settings of a [`Writer`].
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// RDB version, 9 to 13, or [`VALKEY_9`] (80, `VALKEY080`).
    pub version: u32,
    /// The `redis-ver` aux value (`valkey-ver` for Valkey); `None` picks the
    /// release that writes `version` ([`crate::rdb::target::for_rdb_version`]:
    /// 6.2.14, 7.0.15, 7.2.6, 7.4.1, 8.6.3, 9.1.2).
    pub redis_ver: Option<String>,
    /// Name the version aux field `valkey-ver` (what Valkey 7.2+ writes; always
    /// so for a `VALKEY` magic).
    pub valkey_ver: bool,
    /// The `ctime` aux value (Unix seconds); `None` = now.
    pub ctime: Option<i64>,
    /// The `used-mem` aux value.
    pub used_mem: u64,
    /// AOF marker.
    pub aof: AofMarker,
    /// LZF-compress strings longer than 20 bytes when it saves space
    /// (`rdbcompression yes`, the default).
    pub compression: bool,
    /// Write the CRC-64 trailer (`rdbchecksum yes`); otherwise 8 zero bytes.
    pub checksum: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            version: 10,
            redis_ver: None,
            valkey_ver: false,
            ctime: None,
            used_mem: 0,
            aof: AofMarker::None,
            compression: true,
            checksum: true,
        }
    }
}

impl WriterOptions {
    /// Defaults for `version`.
    pub fn for_version(version: u32) -> Self {
        Self {
            version,
            ..Self::default()
        }
    }
}

/// Why writing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The output failed.
    #[error("write error: {0}")]
    Io(#[from] io::Error),
    /// The requested RDB version is not one the writer produces.
    #[error("RDB version {0} is not supported by the writer (9 to 13, or 80 for Valkey 9)")]
    UnsupportedVersion(u32),
    /// A value cannot be represented in the target version.
    #[error("key {key:?}: {what} cannot be written in RDB version {version}")]
    Unrepresentable {
        /// The key (lossy UTF-8).
        key: String,
        /// What cannot be written.
        what: String,
        /// The target version.
        version: u32,
    },
    /// A value is not valid (e.g. a NaN score or an empty aggregate).
    #[error("key {key:?}: invalid value: {reason}")]
    Invalid {
        /// The key (lossy UTF-8).
        key: String,
        /// Why.
        reason: String,
    },
    /// `finish` was already called, or a write failed earlier.
    #[error("the writer is finished")]
    Finished,
}

/// Streaming RDB writer.
pub struct Writer<W: Write> {
    sink: Sink<W>,
    opts: WriterOptions,
    db: Option<u64>,
    buf: Vec<u8>,
    lzf: lzf::Compressor,
    last_type: Option<u8>,
}

/// Where the bytes go: the output, through the CRC-64 of the file.
struct Sink<W: Write> {
    out: BufWriter<W>,
    crc: Crc64,
    checksum: bool,
    written: u64,
    /// Finished, or failed: nothing more may be written.
    done: bool,
}

impl<W: Write> Sink<W> {
    /// Writes `parts` in order, through the CRC; an I/O error closes the writer.
    fn emit(&mut self, parts: &[&[u8]]) -> Result<(), WriteError> {
        for p in parts {
            if self.checksum {
                self.crc.update(p);
            }
            self.written += p.len() as u64;
            if let Err(e) = self.out.write_all(p) {
                self.done = true;
                return Err(e.into());
            }
        }
        Ok(())
    }
}

impl<W: Write> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("version", &self.opts.version)
            .field("written", &self.sink.written)
            .finish_non_exhaustive()
    }
}

/// String values at least this long are written straight to the output after
/// their header, not copied into the record buffer first.
const DIRECT: usize = 1 << 20;

/// An aggregate value whose elements the caller keeps (see
/// [`Writer::write_borrowed`]); the same canonical forms as [`Value`].
#[derive(Clone, Copy, Debug)]
pub enum ValueRef<'a> {
    /// List elements, head first.
    List(&'a [&'a [u8]]),
    /// Set members (written in this order when the set is a hashtable).
    Set(&'a [&'a [u8]]),
    /// Zset members and scores (in any order: written sorted by score).
    Zset(&'a [(&'a [u8], f64)]),
    /// Hash fields.
    Hash(&'a [FieldRef<'a>]),
}

/// A hash field whose bytes the caller keeps.
#[derive(Clone, Copy, Debug)]
pub struct FieldRef<'a> {
    /// Field name.
    pub field: &'a [u8],
    /// Field value.
    pub value: &'a [u8],
    /// Absolute expiry of this field in Unix milliseconds, if any.
    pub expire_ms: Option<i64>,
}

/// A hash field, owned or borrowed.
trait Field {
    fn field(&self) -> &[u8];
    fn value(&self) -> &[u8];
    fn expire_ms(&self) -> Option<i64>;
}

impl Field for HashField {
    fn field(&self) -> &[u8] {
        &self.field
    }
    fn value(&self) -> &[u8] {
        &self.value
    }
    fn expire_ms(&self) -> Option<i64> {
        self.expire_ms
    }
}

impl Field for FieldRef<'_> {
    fn field(&self) -> &[u8] {
        self.field
    }
    fn value(&self) -> &[u8] {
        self.value
    }
    fn expire_ms(&self) -> Option<i64> {
        self.expire_ms
    }
}

fn nonempty(key: &[u8], n: usize) -> Result<(), WriteError> {
    if n == 0 { Err(empty(key)) } else { Ok(()) }
}

fn empty(key: &[u8]) -> WriteError {
    WriteError::Invalid {
        key: lossy(key),
        reason: "empty aggregate".into(),
    }
}

/// A key's metadata before its type byte.
#[derive(Clone, Copy)]
struct KeyMeta {
    expire_ms: Option<i64>,
    lru_idle: Option<u64>,
    lfu_freq: Option<u8>,
}

impl KeyMeta {
    /// An expiry and no LRU / LFU metadata (a key written from a dataset).
    fn expiring(expire_ms: Option<i64>) -> Self {
        Self {
            expire_ms,
            lru_idle: None,
            lfu_freq: None,
        }
    }
}

fn lossy(k: &[u8]) -> String {
    String::from_utf8_lossy(k).into_owned()
}

/// Appends an RDB length (§1.3), shortest form.
pub fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, (n & 0xff) as u8]);
    } else if let Ok(n32) = u32::try_from(n) {
        out.push(0x80);
        out.extend_from_slice(&n32.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends an RDB string (§1.4) with Redis' choice of encoding.
pub fn put_string(out: &mut Vec<u8>, s: &[u8], lzf: Option<&mut lzf::Compressor>) {
    if s.len() <= 11 {
        if let Some(v) = canonical_i64(s) {
            if let Ok(v8) = i8::try_from(v) {
                out.extend_from_slice(&[0xc0, v8 as u8]);
                return;
            } else if let Ok(v16) = i16::try_from(v) {
                out.push(0xc1);
                out.extend_from_slice(&v16.to_le_bytes());
                return;
            } else if let Ok(v32) = i32::try_from(v) {
                out.push(0xc2);
                out.extend_from_slice(&v32.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > 20 {
        if let Some(c) = lzf {
            if let Some(z) = c.compress(s, s.len() - 4) {
                out.push(0xc3);
                put_len(out, z.len() as u64);
                put_len(out, s.len() as u64);
                out.extend_from_slice(z);
                return;
            }
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn is_canonical_int(s: &[u8]) -> Option<i64> {
    canonical_i64(s)
}

/// The zset score text Redis stores in listpacks/ziplists (`d2string`): integers
/// in (-2^52, 2^52) as integers, `inf`/`-inf`, otherwise the shortest form.
/// Replaces the contents of `out` (a buffer reused from score to score).
fn score_text(s: f64, out: &mut Vec<u8>) {
    const LIM: f64 = 4_503_599_627_370_496.0;
    out.clear();
    if s.is_infinite() {
        out.extend_from_slice(if s > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    // Signed zero stays "-0" (`d2string`), so the score keeps its sign.
    if s == 0.0 && s.is_sign_negative() {
        out.extend_from_slice(b"-0");
        return;
    }
    #[allow(clippy::float_cmp)] // exact test for an integral value, as Redis does
    if s > -LIM && s < LIM && s == s.trunc() {
        out.extend_from_slice(itoa::Buffer::new().format(s as i64).as_bytes());
        return;
    }
    model::write_score(out, s);
}

impl<W: Write> Writer<W> {
    /// Starts a file: writes the magic and the aux fields.
    pub fn new(inner: W, opts: WriterOptions) -> Result<Self, WriteError> {
        if !version_supported(opts.version) {
            return Err(WriteError::UnsupportedVersion(opts.version));
        }
        let mut w = Self {
            sink: Sink {
                out: BufWriter::with_capacity(256 * 1024, inner),
                crc: Crc64::new(),
                checksum: opts.checksum,
                written: 0,
                done: false,
            },
            opts,
            db: None,
            buf: Vec::with_capacity(64 * 1024),
            lzf: lzf::Compressor::new(),
            last_type: None,
        };
        let v = w.opts.version;
        w.buf
            .extend_from_slice(ty::Format::of_version(v).magic(v).as_bytes());
        let ver = w.opts.redis_ver.clone().unwrap_or_else(|| {
            super::target::for_rdb_version(v).map_or_else(String::new, |t| t.release.to_owned())
        });
        let ctime = w.opts.ctime.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
        let ver_field: &[u8] = if is_valkey(v) || w.opts.valkey_ver {
            b"valkey-ver"
        } else {
            b"redis-ver"
        };
        w.aux(ver_field, ver.as_bytes());
        w.aux(b"redis-bits", b"64");
        w.aux(b"ctime", ctime.to_string().as_bytes());
        w.aux(b"used-mem", w.opts.used_mem.to_string().as_bytes());
        let marker: &[u8] = if w.opts.aof == AofMarker::Aof {
            b"1"
        } else {
            b"0"
        };
        if v >= 10 {
            w.aux(b"aof-base", marker);
        } else {
            w.aux(b"aof-preamble", marker);
        }
        w.flush_buf()?;
        Ok(w)
    }

    /// The options in use.
    pub fn options(&self) -> &WriterOptions {
        &self.opts
    }

    /// The object type byte of the last entry written (which encoding was chosen).
    pub fn last_type(&self) -> Option<u8> {
        self.last_type
    }

    /// Bytes written so far (including buffered ones).
    pub fn bytes_written(&self) -> u64 {
        self.sink.written + self.buf.len() as u64
    }

    fn aux(&mut self, k: &[u8], v: &[u8]) {
        self.buf.push(OP_AUX);
        put_string(&mut self.buf, k, None);
        put_string(&mut self.buf, v, None);
    }

    fn flush_buf(&mut self) -> Result<(), WriteError> {
        let r = self.sink.emit(&[&self.buf]);
        self.buf.clear();
        r
    }

    fn check_open(&self) -> Result<(), WriteError> {
        if self.sink.done {
            Err(WriteError::Finished)
        } else {
            Ok(())
        }
    }

    /// Writes one function library (`FUNCTION2`, RDB ≥ 10). Call before the keys.
    pub fn write_function(&mut self, lib: &FunctionLibrary) -> Result<(), WriteError> {
        self.check_open()?;
        if self.opts.version < 10 {
            return Err(WriteError::Unrepresentable {
                key: String::new(),
                what: "a function library".into(),
                version: self.opts.version,
            });
        }
        self.buf.push(OP_FUNCTION2);
        let lzf = self.opts.compression.then_some(&mut self.lzf);
        put_string(&mut self.buf, &lib.code, lzf);
        self.flush_buf()
    }

    /// Writes a module AUX record (`MODULE_AUX`): `when` is 1 (before the keys)
    /// or 2 (after them); `module.raw` is the annotated module data including its
    /// final EOF opcode, as the reader returns it.
    pub fn write_module_aux(
        &mut self,
        module: &model::ModuleValue,
        when: u64,
    ) -> Result<(), WriteError> {
        self.check_open()?;
        self.buf.push(OP_MODULE_AUX);
        put_len(&mut self.buf, module.module_id);
        put_len(&mut self.buf, 2);
        put_len(&mut self.buf, when);
        self.buf.extend_from_slice(&module.raw);
        self.flush_buf()
    }

    /// Starts database `db` with its sizes (`SELECTDB` + `RESIZEDB`). Entries
    /// for another database start it implicitly with sizes 0 (a hint only).
    pub fn select_db(&mut self, db: u64, keys: u64, expires: u64) -> Result<(), WriteError> {
        self.check_open()?;
        self.buf.push(OP_SELECTDB);
        put_len(&mut self.buf, db);
        self.buf.push(OP_RESIZEDB);
        put_len(&mut self.buf, keys);
        put_len(&mut self.buf, expires);
        self.db = Some(db);
        self.flush_buf()
    }

    /// Writes one key.
    pub fn write_entry(&mut self, e: &Entry) -> Result<(), WriteError> {
        let meta = KeyMeta {
            expire_ms: e.expire_ms,
            lru_idle: e.lru_idle,
            lfu_freq: e.lfu_freq,
        };
        if let Value::String(s) = &e.value {
            return self.string_key(e.db, &e.key, meta, s);
        }
        self.record(e.db, &e.key, meta, |w| w.value(&e.key, &e.value))
    }

    /// Writes one aggregate key whose elements are borrowed from wherever the
    /// caller keeps them (no copy of the value is made), as
    /// [`Writer::write_entry`] writes the same value as an [`Entry`].
    pub fn write_borrowed(
        &mut self,
        db: u64,
        key: &[u8],
        expire_ms: Option<i64>,
        value: &ValueRef<'_>,
    ) -> Result<(), WriteError> {
        self.write_borrowed_meta(db, key, KeyMeta::expiring(expire_ms), value)
    }

    fn write_borrowed_meta(
        &mut self,
        db: u64,
        key: &[u8],
        meta: KeyMeta,
        value: &ValueRef<'_>,
    ) -> Result<(), WriteError> {
        self.record(db, key, meta, |w| match *value {
            ValueRef::List(l) => nonempty(key, l.len()).map(|()| w.list(l)),
            ValueRef::Set(m) => nonempty(key, m.len()).map(|()| w.set(m)),
            ValueRef::Zset(z) => w.zset_checked(key, z),
            ValueRef::Hash(h) => w.hash_checked(key, h),
        })
    }

    /// Writes one key whose value was read flat ([`Flat`]; `e` gives the
    /// database, key and metadata, its value is not looked at), as
    /// [`Writer::write_entry`] writes the same value as an [`Entry`]: the
    /// same encodings under the target's rules, except that what the target
    /// keeps byte for byte (an LZF string, an intset within
    /// `set-max-intset-entries`) is copied as stored.
    pub fn write_flat(&mut self, e: &Entry, v: &Flat) -> Result<(), WriteError> {
        let meta = KeyMeta {
            expire_ms: e.expire_ms,
            lru_idle: e.lru_idle,
            lfu_freq: e.lfu_freq,
        };
        let key = &e.key[..];
        let raw = |w: &mut Self, raw: &[u8], t: u8| {
            w.buf.extend_from_slice(raw);
            Ok(t)
        };
        match (v.kind, v.raw()) {
            (KeyType::String, Some(r)) => self.record(e.db, key, meta, |w| raw(w, r, ty::STRING)),
            (KeyType::String, None) => {
                let s = v.items().next().unwrap_or_default();
                if s.len() >= DIRECT {
                    return self.string_key(e.db, key, meta, s);
                }
                // Stored uncompressed: the server that wrote it found it
                // incompressible (Redis tries LZF on every string longer than
                // 20 bytes), and so would the target's: it is not tried again.
                // (An integer stored as text still gets the INT encoding.)
                self.record(e.db, key, meta, |w| {
                    put_string(&mut w.buf, s, None);
                    Ok(ty::STRING)
                })
            }
            (KeyType::Set, Some(r))
                if v.rdb_type == ty::SET_INTSET
                    && (1..=SET_MAX_INTSET_ENTRIES).contains(&v.len()) =>
            {
                self.record(e.db, key, meta, |w| raw(w, r, ty::SET_INTSET))
            }
            (KeyType::Set, Some(r)) if v.rdb_type == ty::SET && self.keeps_set_table(v) => {
                self.record(e.db, key, meta, |w| raw(w, r, ty::SET))
            }
            (KeyType::Zset, Some(r))
                if v.rdb_type == ty::ZSET_2 && !Self::small_zset(v.len(), v.items()) =>
            {
                self.record(e.db, key, meta, |w| raw(w, r, ty::ZSET_2))
            }
            (KeyType::Hash, Some(r))
                if v.rdb_type == ty::HASH && !Self::small_hash_parts(v.len() / 2, v.items()) =>
            {
                self.record(e.db, key, meta, |w| raw(w, r, ty::HASH))
            }
            (KeyType::List | KeyType::Set, _) => {
                let items: Vec<&[u8]> = v.items().collect();
                let value = if v.kind == KeyType::List {
                    ValueRef::List(&items)
                } else {
                    ValueRef::Set(&items)
                };
                self.write_borrowed_meta(e.db, key, meta, &value)
            }
            (KeyType::Zset, _) => {
                let z: Vec<(&[u8], f64)> = v.items().zip(v.scores().iter().copied()).collect();
                if z.len() != v.len() {
                    return Err(WriteError::Invalid {
                        key: lossy(key),
                        reason: "a zset member without a score".into(),
                    });
                }
                self.write_borrowed_meta(e.db, key, meta, &ValueRef::Zset(&z))
            }
            (KeyType::Hash, _) => {
                let items: Vec<&[u8]> = v.items().collect();
                if !items.len().is_multiple_of(2) {
                    return Err(WriteError::Invalid {
                        key: lossy(key),
                        reason: "a hash field without a value".into(),
                    });
                }
                let h: Vec<FieldRef<'_>> = items
                    .chunks_exact(2)
                    .map(|p| FieldRef {
                        field: p[0],
                        value: p[1],
                        expire_ms: None,
                    })
                    .collect();
                self.write_borrowed_meta(e.db, key, meta, &ValueRef::Hash(&h))
            }
            (KeyType::Stream | KeyType::Module | KeyType::VectorSet, _) => {
                Err(WriteError::Invalid {
                    key: lossy(key),
                    reason: format!("a {:?} value is not read flat", v.kind),
                })
            }
        }
    }

    /// Would [`Writer::set`] write the members of `v` as a hashtable (neither
    /// an intset nor, for RDB 11+, a listpack)?
    fn keeps_set_table(&self, v: &Flat) -> bool {
        let n = v.len();
        n > 0
            && Self::intset_members(n, v.items()).is_none()
            && !self.set_fits_listpack(n, v.items())
    }

    /// One key record: header, type byte and key name, then what `body`
    /// serializes (it returns the type byte); nothing is written when it fails.
    fn record(
        &mut self,
        db: u64,
        key: &[u8],
        meta: KeyMeta,
        body: impl FnOnce(&mut Self) -> Result<u8, WriteError>,
    ) -> Result<(), WriteError> {
        self.check_open()?;
        let start = self.key_header(db, meta)?;
        let type_pos = self.buf.len();
        self.buf.push(0);
        self.str(key);
        match body(self) {
            Ok(t) if !type_allowed(self.opts.version, t) => {
                self.buf.truncate(start);
                return Err(WriteError::Unrepresentable {
                    key: lossy(key),
                    what: format!(
                        "object type {t} ({})",
                        ty::type_name_in(format_of(self.opts.version), t)
                    ),
                    version: self.opts.version,
                });
            }
            Ok(t) => {
                self.buf[type_pos] = t;
                self.last_type = Some(t);
            }
            Err(err) => {
                self.buf.truncate(start);
                return Err(err);
            }
        }
        self.flush_buf()
    }

    /// Writes one string key from borrowed parts, as [`Writer::write_entry`]
    /// would write it as an [`Entry`] (for a caller that holds the value
    /// elsewhere: no copy of it is made).
    pub fn write_string(
        &mut self,
        db: u64,
        key: &[u8],
        expire_ms: Option<i64>,
        value: &[u8],
    ) -> Result<(), WriteError> {
        let meta = KeyMeta::expiring(expire_ms);
        self.string_key(db, key, meta, value)
    }

    fn string_key(
        &mut self,
        db: u64,
        key: &[u8],
        meta: KeyMeta,
        value: &[u8],
    ) -> Result<(), WriteError> {
        self.check_open()?;
        self.key_header(db, meta)?;
        self.buf.push(ty::STRING);
        self.str(key);
        self.last_type = Some(ty::STRING);
        if value.len() < DIRECT {
            self.str(value);
            return self.flush_buf();
        }
        // A large value goes from where it is to the output, after its
        // header: no copy of it in the record buffer.
        let compressed = if self.opts.compression {
            self.lzf.compress(value, value.len() - 4)
        } else {
            None
        };
        let payload = if let Some(z) = compressed {
            self.buf.push(0xc3);
            put_len(&mut self.buf, z.len() as u64);
            put_len(&mut self.buf, value.len() as u64);
            z
        } else {
            put_len(&mut self.buf, value.len() as u64);
            value
        };
        let r = self.sink.emit(&[&self.buf, payload]);
        self.buf.clear();
        self.lzf.shrink_output(DIRECT);
        r
    }

    /// Selects `db` when needed and appends a key's expiry, LRU idle time and
    /// LFU counter to the record buffer; returns where the record starts.
    fn key_header(&mut self, db: u64, meta: KeyMeta) -> Result<usize, WriteError> {
        if self.db != Some(db) {
            self.select_db(db, 0, 0)?;
        }
        let start = self.buf.len();
        if let Some(t) = meta.expire_ms {
            self.buf.push(OP_EXPIRETIME_MS);
            self.buf.extend_from_slice(&t.to_le_bytes());
        }
        // LRU idle time / LFU counter, when the entry carries them (Redis writes
        // them only under an LRU / LFU `maxmemory-policy`).
        if let Some(idle) = meta.lru_idle {
            self.buf.push(OP_IDLE);
            put_len(&mut self.buf, idle);
        }
        if let Some(freq) = meta.lfu_freq {
            self.buf.extend_from_slice(&[OP_FREQ, freq]);
        }
        Ok(start)
    }

    /// Ends the file: `EOF` and the checksum. Returns the inner writer, flushed.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.check_open()?;
        self.buf.push(OP_EOF);
        self.flush_buf()?;
        let crc = if self.opts.checksum {
            self.sink.crc.value()
        } else {
            0
        };
        self.sink.out.write_all(&crc.to_le_bytes())?;
        self.sink.out.flush()?;
        self.sink.done = true;
        self.sink
            .out
            .into_inner()
            .map_err(|e| WriteError::Io(e.into_error()))
    }

    fn str(&mut self, s: &[u8]) {
        let lzf = self.opts.compression.then_some(&mut self.lzf);
        put_string(&mut self.buf, s, lzf);
    }

    /// Serializes a value into `buf`; returns its type byte.
    fn value(&mut self, key: &[u8], v: &Value) -> Result<u8, WriteError> {
        Ok(match v {
            // (`write_entry` gives strings to `string_key`; this keeps the
            // match total with the same bytes.)
            Value::String(s) => {
                self.str(s);
                ty::STRING
            }
            Value::List(l) => {
                nonempty(key, l.len())?;
                self.list(l)
            }
            Value::Set(s) => {
                nonempty(key, s.len())?;
                self.set(s)
            }
            Value::Zset(z) => self.zset_checked(key, z)?,
            Value::Hash(h) => self.hash_checked(key, h)?,
            Value::Stream(s) => self.stream(key, s)?,
            Value::Module(m) => {
                if is_valkey(self.opts.version) && ty::module_name(m.module_id).0 == "vectorset" {
                    return Err(WriteError::Unrepresentable {
                        key: lossy(key),
                        what: "a vector set (Redis' built-in vectorset module)".into(),
                        version: self.opts.version,
                    });
                }
                put_len(&mut self.buf, m.module_id);
                self.buf.extend_from_slice(&m.raw);
                ty::MODULE_2
            }
        })
    }

    fn zset_checked<B: AsRef<[u8]>>(
        &mut self,
        key: &[u8],
        z: &[(B, f64)],
    ) -> Result<u8, WriteError> {
        nonempty(key, z.len())?;
        if z.iter().any(|(_, s)| s.is_nan()) {
            return Err(WriteError::Invalid {
                key: lossy(key),
                reason: "NaN score".into(),
            });
        }
        Ok(self.zset(z))
    }

    fn hash_checked<F: Field>(&mut self, key: &[u8], h: &[F]) -> Result<u8, WriteError> {
        nonempty(key, h.len())?;
        if !h.iter().any(|f| f.expire_ms().is_some()) {
            return Ok(self.hash(h));
        }
        if self.opts.version < 12 {
            return Err(WriteError::Unrepresentable {
                key: lossy(key),
                what: "a hash field TTL".into(),
                version: self.opts.version,
            });
        }
        if is_valkey(self.opts.version) {
            // HASH_2 stores -1 for "no TTL" and the loader refuses < -1.
            if let Some(t) = h.iter().filter_map(Field::expire_ms).find(|t| *t < 0) {
                return Err(WriteError::Invalid {
                    key: lossy(key),
                    reason: format!("negative hash field expiry {t}"),
                });
            }
            return Ok(self.hash_2(h));
        }
        // Redis (RDB 12+) holds field expire times 1..=2^48-1 ms: the loader
        // refuses more (`EB_EXPIRE_TIME_MAX`), a listpack stores 0 as "no
        // TTL", and the offsets from the minimum assume none is negative. A
        // Valkey 9 field TTL beyond that fails here, before anything is
        // written.
        if let Some(t) = h
            .iter()
            .filter_map(Field::expire_ms)
            .find(|t| !(1..=super::EB_EXPIRE_TIME_MAX as i64).contains(t))
        {
            return Err(WriteError::Unrepresentable {
                key: lossy(key),
                what: format!(
                    "a hash field expire time of {t} ms (Redis holds 1 to {})",
                    super::EB_EXPIRE_TIME_MAX
                ),
                version: self.opts.version,
            });
        }
        Ok(self.hash_with_ttls(h))
    }

    fn list<B: AsRef<[u8]>>(&mut self, l: &[B]) -> u8 {
        let ver = self.opts.version;
        // Elements above this size get a PLAIN node (7.4+); 7.0/7.2 only do it at
        // 1 GB (`packed_threshold`).
        let plain_above = if ver >= 12 {
            LIST_NODE_MAX_BYTES
        } else {
            1 << 30
        };
        let mut nodes: Vec<(u8, Vec<u8>)> = Vec::new();
        if ver >= 10 {
            let mut cur = Listpack::new();
            for el in l {
                let el = el.as_ref();
                if el.len() > plain_above {
                    if !cur.is_empty() {
                        nodes.push((2, std::mem::take(&mut cur).finish()));
                    }
                    nodes.push((1, el.to_vec()));
                    continue;
                }
                // `_quicklistNodeAllowInsert`: node size + element + 8 ≤ 8192.
                if !cur.is_empty() && cur.bytes() + el.len() + 8 > LIST_NODE_MAX_BYTES {
                    nodes.push((2, std::mem::take(&mut cur).finish()));
                }
                cur.push(el);
            }
            if !cur.is_empty() {
                nodes.push((2, cur.finish()));
            }
            put_len(&mut self.buf, nodes.len() as u64);
            for (container, blob) in nodes {
                put_len(&mut self.buf, u64::from(container));
                self.str(&blob);
            }
            ty::LIST_QUICKLIST_2
        } else {
            let mut cur = Ziplist::new();
            for el in l {
                let el = el.as_ref();
                let sz = el.len();
                let overhead = if sz < 254 { 1 } else { 5 }
                    + if sz < 64 {
                        1
                    } else if sz < 16384 {
                        2
                    } else {
                        5
                    };
                if !cur.is_empty() && cur.bytes() + sz + overhead > LIST_NODE_MAX_BYTES {
                    nodes.push((0, std::mem::take(&mut cur).finish()));
                }
                cur.push(el);
            }
            if !cur.is_empty() {
                nodes.push((0, cur.finish()));
            }
            put_len(&mut self.buf, nodes.len() as u64);
            for (_, blob) in nodes {
                self.str(&blob);
            }
            ty::LIST_QUICKLIST
        }
    }

    /// The members of a set of `n` members as the integers of an intset, when
    /// the writer makes it one (at most `set-max-intset-entries`, all
    /// canonical integers).
    fn intset_members<'a>(n: usize, members: impl Iterator<Item = &'a [u8]>) -> Option<Vec<i64>> {
        if n > SET_MAX_INTSET_ENTRIES {
            return None;
        }
        members.map(is_canonical_int).collect()
    }

    /// Is a set of `n` members (no intset) written as a listpack (RDB 11+,
    /// within `set-max-listpack-entries` and `-value`)?
    fn set_fits_listpack<'a>(&self, n: usize, mut members: impl Iterator<Item = &'a [u8]>) -> bool {
        self.opts.version >= 11
            && n <= SET_MAX_LISTPACK_ENTRIES
            && members.all(|m| m.len() <= SET_MAX_LISTPACK_VALUE)
    }

    fn set<B: AsRef<[u8]>>(&mut self, s: &[B]) -> u8 {
        if let Some(mut ints) = Self::intset_members(s.len(), s.iter().map(AsRef::as_ref)) {
            ints.sort_unstable();
            ints.dedup();
            self.str(&intset(&ints));
            return ty::SET_INTSET;
        }
        if self.set_fits_listpack(s.len(), s.iter().map(AsRef::as_ref)) {
            let mut lp = Listpack::new();
            for m in s {
                lp.push(m.as_ref());
            }
            self.str(&lp.finish());
            return ty::SET_LISTPACK;
        }
        put_len(&mut self.buf, s.len() as u64);
        for m in s {
            self.str(m.as_ref());
        }
        ty::SET
    }

    fn zset<B: AsRef<[u8]>>(&mut self, z: &[(B, f64)]) -> u8 {
        let mut sorted: Vec<(&[u8], f64)> = z.iter().map(|(m, s)| (m.as_ref(), *s)).collect();
        sorted.sort_by(|a, b| {
            a.1.partial_cmp(&b.1)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.0.cmp(b.0))
        });
        if Self::small_zset(z.len(), sorted.iter().map(|&(m, _)| m)) {
            let mut text = Vec::with_capacity(32);
            if self.opts.version >= 10 {
                let mut lp = Listpack::new();
                for (m, s) in sorted {
                    lp.push(m);
                    score_text(s, &mut text);
                    lp.push(&text);
                }
                self.str(&lp.finish());
                return ty::ZSET_LISTPACK;
            }
            let mut zl = Ziplist::new();
            for (m, s) in sorted {
                zl.push(m);
                score_text(s, &mut text);
                zl.push(&text);
            }
            self.str(&zl.finish());
            return ty::ZSET_ZIPLIST;
        }
        // Skiplists are written from the highest score to the lowest.
        put_len(&mut self.buf, z.len() as u64);
        for (m, s) in sorted.into_iter().rev() {
            self.str(m);
            self.buf.extend_from_slice(&s.to_le_bytes());
        }
        ty::ZSET_2
    }

    /// Is a zset of `n` members written as a listpack or ziplist (within
    /// `zset-max-listpack-entries` and `-value`)?
    fn small_zset<'a>(n: usize, mut members: impl Iterator<Item = &'a [u8]>) -> bool {
        n <= ZSET_MAX_LISTPACK_ENTRIES && members.all(|m| m.len() <= ZSET_MAX_LISTPACK_VALUE)
    }

    /// Is a hash of `n` fields, whose fields and values are `parts`, written as
    /// a listpack or ziplist (within `hash-max-listpack-entries` and `-value`)?
    fn small_hash_parts<'a>(n: usize, mut parts: impl Iterator<Item = &'a [u8]>) -> bool {
        n <= HASH_MAX_LISTPACK_ENTRIES && parts.all(|p| p.len() <= HASH_MAX_LISTPACK_VALUE)
    }

    fn small_hash<F: Field>(h: &[F]) -> bool {
        Self::small_hash_parts(h.len(), h.iter().flat_map(|f| [f.field(), f.value()]))
    }

    fn hash<F: Field>(&mut self, h: &[F]) -> u8 {
        if Self::small_hash(h) {
            if self.opts.version >= 10 {
                let mut lp = Listpack::new();
                for f in h {
                    lp.push(f.field());
                    lp.push(f.value());
                }
                self.str(&lp.finish());
                return ty::HASH_LISTPACK;
            }
            let mut zl = Ziplist::new();
            for f in h {
                zl.push(f.field());
                zl.push(f.value());
            }
            self.str(&zl.finish());
            return ty::HASH_ZIPLIST;
        }
        put_len(&mut self.buf, h.len() as u64);
        for f in h {
            self.str(f.field());
            self.str(f.value());
        }
        ty::HASH
    }

    /// Valkey 9's `HASH_2` (FORMATS.md §8.2.2): every hash with a field TTL,
    /// whatever its size (Valkey keeps volatile hashes as hashtables):
    /// `len`, then field, value and absolute expiry in ms (-1 = none).
    fn hash_2<F: Field>(&mut self, h: &[F]) -> u8 {
        put_len(&mut self.buf, h.len() as u64);
        for f in h {
            self.str(f.field());
            self.str(f.value());
            self.buf
                .extend_from_slice(&f.expire_ms().unwrap_or(-1).to_le_bytes());
        }
        ty::HASH_METADATA_PRE_GA
    }

    fn hash_with_ttls<F: Field>(&mut self, h: &[F]) -> u8 {
        let min = h.iter().filter_map(Field::expire_ms).min().unwrap_or(0);
        self.buf.extend_from_slice(&min.to_le_bytes());
        if Self::small_hash(h) {
            // Triples ordered by TTL, fields without TTL last.
            let mut sorted: Vec<&F> = h.iter().collect();
            sorted.sort_by_key(|f| (f.expire_ms().is_none(), f.expire_ms().unwrap_or(0)));
            let mut lp = Listpack::new();
            for f in sorted {
                lp.push(f.field());
                lp.push(f.value());
                lp.push_int(f.expire_ms().unwrap_or(0));
            }
            self.str(&lp.finish());
            return ty::HASH_LISTPACK_EX;
        }
        put_len(&mut self.buf, h.len() as u64);
        for f in h {
            let t = f.expire_ms().map_or(0, |e| (e - min) as u64 + 1);
            put_len(&mut self.buf, t);
            self.str(f.field());
            self.str(f.value());
        }
        ty::HASH_METADATA
    }

    fn stream(&mut self, key: &[u8], s: &model::Stream) -> Result<u8, WriteError> {
        let ver = self.opts.version;
        if !(13..=79).contains(&ver) && s.idmp.as_ref().is_some_and(|i| !i.is_default()) {
            return Err(WriteError::Unrepresentable {
                key: lossy(key),
                what: "a stream's IDMP state (producers or an XCFGSET configuration)".into(),
                version: ver,
            });
        }
        // Nodes: split as streamAppendItem does.
        let mut nodes: Vec<(model::StreamId, Vec<u8>)> = Vec::new();
        let mut i = 0;
        while i < s.entries.len() {
            let master = &s.entries[i];
            let master_fields: Vec<&[u8]> =
                master.fields.iter().map(|(f, _)| f.as_slice()).collect();
            let mut lp = Listpack::new();
            // Master entry: count (patched below; at most 100, so one byte),
            // deleted, the field names, and the terminating 0.
            lp.push_int(0);
            lp.push_int(0);
            lp.push_int(master_fields.len() as i64);
            for f in &master_fields {
                lp.push(f);
            }
            lp.push_int(0);
            let mut count = 0usize;
            let mut j = i;
            while j < s.entries.len() {
                let e = &s.entries[j];
                let tot: usize = e.fields.iter().map(|(f, v)| f.len() + v.len()).sum();
                if count > 0
                    && (lp.bytes() + tot >= STREAM_NODE_MAX_BYTES
                        || count >= STREAM_NODE_MAX_ENTRIES)
                {
                    break;
                }
                let same = e.fields.len() == master_fields.len()
                    && e.fields
                        .iter()
                        .zip(&master_fields)
                        .all(|((f, _), m)| f.as_slice() == *m);
                lp.push_int(if same { 2 } else { 0 });
                lp.push_int(e.id.ms.wrapping_sub(master.id.ms) as i64);
                lp.push_int(e.id.seq.wrapping_sub(master.id.seq) as i64);
                if same {
                    for (_, v) in &e.fields {
                        lp.push(v);
                    }
                    lp.push_int(3 + e.fields.len() as i64);
                } else {
                    lp.push_int(e.fields.len() as i64);
                    for (f, v) in &e.fields {
                        lp.push(f);
                        lp.push(v);
                    }
                    lp.push_int(4 + 2 * e.fields.len() as i64);
                }
                count += 1;
                j += 1;
            }
            let mut blob = lp.finish();
            blob[6] = count as u8;
            nodes.push((master.id, blob));
            i = j;
        }
        put_len(&mut self.buf, nodes.len() as u64);
        for (id, blob) in nodes {
            self.str(&id.to_be_bytes());
            self.str(&blob);
        }
        put_len(&mut self.buf, s.entries.len() as u64);
        put_len(&mut self.buf, s.last_id.ms);
        put_len(&mut self.buf, s.last_id.seq);
        if ver >= 10 {
            // The recorded first id as read (Redis keeps it as loaded and
            // uses it for consumer-group lag), else the first entry's.
            let first = s.first_id.unwrap_or_else(|| {
                s.entries
                    .first()
                    .map_or_else(model::StreamId::default, |e| e.id)
            });
            let maxdel = s.max_deleted_entry_id.unwrap_or_default();
            put_len(&mut self.buf, first.ms);
            put_len(&mut self.buf, first.seq);
            put_len(&mut self.buf, maxdel.ms);
            put_len(&mut self.buf, maxdel.seq);
            put_len(
                &mut self.buf,
                s.entries_added.unwrap_or(s.entries.len() as u64),
            );
        }
        put_len(&mut self.buf, s.groups.len() as u64);
        for g in &s.groups {
            self.str(&g.name);
            put_len(&mut self.buf, g.last_delivered_id.ms);
            put_len(&mut self.buf, g.last_delivered_id.seq);
            if ver >= 10 {
                put_len(&mut self.buf, g.entries_read.unwrap_or(-1) as u64);
            }
            put_len(&mut self.buf, g.pel.len() as u64);
            for p in &g.pel {
                if g.owner_of(p.id).is_none() {
                    return Err(WriteError::Invalid {
                        key: lossy(key),
                        reason: format!(
                            "pending entry {} of group {:?} has no consumer",
                            p.id,
                            lossy(&g.name)
                        ),
                    });
                }
                self.buf.extend_from_slice(&p.id.to_be_bytes());
                self.buf
                    .extend_from_slice(&p.delivery_time_ms.to_le_bytes());
                put_len(&mut self.buf, p.delivery_count);
            }
            put_len(&mut self.buf, g.consumers.len() as u64);
            for c in &g.consumers {
                self.str(&c.name);
                self.buf.extend_from_slice(&c.seen_time_ms.to_le_bytes());
                if ver >= 11 {
                    self.buf.extend_from_slice(
                        &c.active_time_ms.unwrap_or(c.seen_time_ms).to_le_bytes(),
                    );
                }
                put_len(&mut self.buf, c.pel.len() as u64);
                for id in &c.pel {
                    if !g.pel.iter().any(|p| p.id == *id) {
                        return Err(WriteError::Invalid {
                            key: lossy(key),
                            reason: format!(
                                "consumer {:?} owns {id}, which is not in the group PEL",
                                lossy(&c.name)
                            ),
                        });
                    }
                    self.buf.extend_from_slice(&id.to_be_bytes());
                }
            }
        }
        // Valkey (80) has no IDMP state: its streams are type 21.
        if (13..=79).contains(&ver) {
            self.stream_idmp(key, s.idmp.as_ref())?;
        }
        Ok(match ver {
            9 => ty::STREAM_LISTPACKS,
            10 => ty::STREAM_LISTPACKS_2,
            13..=79 => ty::STREAM_LISTPACKS_4,
            _ => ty::STREAM_LISTPACKS_3,
        })
    }

    /// The IDMP trailer of a type-26 stream (FORMATS.md §8.1.2), refusing what
    /// the loader rejects (a configuration out of range, a repeated producer).
    fn stream_idmp(
        &mut self,
        key: &[u8],
        idmp: Option<&model::StreamIdmp>,
    ) -> Result<(), WriteError> {
        let default = model::StreamIdmp::new();
        let i = idmp.unwrap_or(&default);
        let invalid = |reason: String| WriteError::Invalid {
            key: lossy(key),
            reason,
        };
        if !model::StreamIdmp::DURATION_RANGE.contains(&i.duration) {
            return Err(invalid(format!(
                "IDMP duration {} out of range 1..86400",
                i.duration
            )));
        }
        if !model::StreamIdmp::MAXSIZE_RANGE.contains(&i.maxsize) {
            return Err(invalid(format!(
                "IDMP maxsize {} out of range 1..10000",
                i.maxsize
            )));
        }
        let mut pids: Vec<&[u8]> = i.producers.iter().map(|p| p.pid.as_slice()).collect();
        pids.sort_unstable();
        if let Some(w) = pids.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid(format!("IDMP producer {:?} repeated", lossy(w[0]))));
        }
        put_len(&mut self.buf, i.duration);
        put_len(&mut self.buf, i.maxsize);
        put_len(&mut self.buf, i.producers.len() as u64);
        for p in &i.producers {
            self.str(&p.pid);
            put_len(&mut self.buf, p.iids.len() as u64);
            for (iid, id) in &p.iids {
                self.str(iid);
                put_len(&mut self.buf, id.ms);
                put_len(&mut self.buf, id.seq);
            }
        }
        put_len(&mut self.buf, i.iids_added);
        put_len(&mut self.buf, i.iids_duplicates);
        Ok(())
    }
}

/// Writes a whole file: functions, then the entries (grouped by database, in
/// the order given), with `RESIZEDB` sizes from `db_sizes(db)`.
pub fn write_all<W: Write, I: IntoIterator<Item = Entry>>(
    inner: W,
    opts: WriterOptions,
    functions: &[FunctionLibrary],
    entries: I,
    db_sizes: impl Fn(u64) -> (u64, u64),
) -> Result<W, WriteError> {
    let mut w = Writer::new(inner, opts)?;
    for f in functions {
        w.write_function(f)?;
    }
    let mut db = None;
    for e in entries {
        if db != Some(e.db) {
            let (k, x) = db_sizes(e.db);
            w.select_db(e.db, k, x)?;
            db = Some(e.db);
        }
        w.write_entry(&e)?;
    }
    w.finish()
}

/// `n` incompressible bytes, the same on every run (xorshift), for tests.
#[cfg(test)]
fn random_bytes(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests;
