//! The in-memory value model: one [`Entry`] per key with its [`Value`].
//!
//! This is the interchange shape between the readers (the RDB reader's
//! [`crate::rdb::Entries`] adaptor assembles it; the AOF replay engine produces
//! it), the writers (RDB writer, RESP output) and `dump`. It mirrors what Redis
//! holds, not how a particular file encoded it: integers inside listpacks come back
//! as their decimal text, zset scores are `f64`, stream ids are numbers.
//!
//! Order conventions: list elements head to tail; set members, hash fields and zset
//! members in the order the source stored them (callers that need a canonical order
//! sort); stream entries in id order.

use std::fmt;

/// A stream entry id (`ms-seq`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// Builds an id.
    pub const fn new(ms: u64, seq: u64) -> Self {
        Self { ms, seq }
    }

    /// Decodes the 16-byte big-endian form used in stream node keys and PELs.
    pub fn from_be_bytes(b: &[u8; 16]) -> Self {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        Self {
            ms: u64::from_be_bytes(ms),
            seq: u64::from_be_bytes(seq),
        }
    }

    /// The 16-byte big-endian form.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl std::str::FromStr for StreamId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let (a, b) = s.split_once('-').ok_or(())?;
        Ok(Self {
            ms: a.parse().map_err(|_| ())?,
            seq: b.parse().map_err(|_| ())?,
        })
    }
}

/// The Redis data type of a key, as `TYPE` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// `string` (also bitmaps, `HyperLogLogs`, integers).
    String,
    /// `list`.
    List,
    /// `set`.
    Set,
    /// `zset`.
    Zset,
    /// `hash`.
    Hash,
    /// `stream`.
    Stream,
    /// A module type (`TYPE` reports the module's type name).
    Module,
}

impl KeyType {
    /// The lower-case name (`string`, `list`, …, `module`).
    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::List => "list",
            Self::Set => "set",
            Self::Zset => "zset",
            Self::Hash => "hash",
            Self::Stream => "stream",
            Self::Module => "module",
        }
    }

    /// Every type, in the order above.
    pub const ALL: [KeyType; 7] = [
        Self::String,
        Self::List,
        Self::Set,
        Self::Zset,
        Self::Hash,
        Self::Stream,
        Self::Module,
    ];
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One hash field, with its optional field TTL (Redis 7.4+ / Valkey 9).
#[derive(Clone, Debug, PartialEq)]
pub struct HashField {
    /// Field name.
    pub field: Vec<u8>,
    /// Field value.
    pub value: Vec<u8>,
    /// Absolute expiry of this field in Unix milliseconds, if any.
    pub expire_ms: Option<i64>,
}

/// One stream entry.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamEntry {
    /// Entry id.
    pub id: StreamId,
    /// Field/value pairs in stored order.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// One entry of a consumer group's pending entries list.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingEntry {
    /// Entry id.
    pub id: StreamId,
    /// Last delivery time, Unix milliseconds.
    pub delivery_time_ms: i64,
    /// Number of deliveries.
    pub delivery_count: u64,
}

/// A consumer of a consumer group.
#[derive(Clone, Debug, PartialEq)]
pub struct Consumer {
    /// Consumer name.
    pub name: Vec<u8>,
    /// Last time the consumer was seen, Unix milliseconds.
    pub seen_time_ms: i64,
    /// Last time the consumer was active (RDB type 21+); `None` in older formats.
    /// `-1` means never active.
    pub active_time_ms: Option<i64>,
    /// Ids of the pending entries owned by this consumer (all in the group PEL).
    pub pel: Vec<StreamId>,
}

/// A stream consumer group.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerGroup {
    /// Group name.
    pub name: Vec<u8>,
    /// Last delivered id.
    pub last_delivered_id: StreamId,
    /// Entries read counter (RDB type 19+); `None` when unknown or not stored.
    pub entries_read: Option<i64>,
    /// The group's pending entries list, in id order.
    pub pel: Vec<PendingEntry>,
    /// Consumers in stored order.
    pub consumers: Vec<Consumer>,
}

impl ConsumerGroup {
    /// The name of the consumer owning pending entry `id`, if any.
    pub fn owner_of(&self, id: StreamId) -> Option<&[u8]> {
        self.consumers
            .iter()
            .find(|c| c.pel.contains(&id))
            .map(|c| c.name.as_slice())
    }
}

/// A stream value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    /// Live entries in id order.
    pub entries: Vec<StreamEntry>,
    /// Number of live entries as stored.
    pub length: u64,
    /// Last id ever generated.
    pub last_id: StreamId,
    /// First live id (RDB type 19+).
    pub first_id: Option<StreamId>,
    /// Largest deleted id (RDB type 19+).
    pub max_deleted_entry_id: Option<StreamId>,
    /// All-time number of entries added (RDB type 19+).
    pub entries_added: Option<u64>,
    /// Consumer groups in stored order.
    pub groups: Vec<ConsumerGroup>,
}

/// A module value, kept as its raw serialization.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleValue {
    /// The 64-bit module type id.
    pub module_id: u64,
    /// The 9-character module type name decoded from the id.
    pub type_name: String,
    /// The encoding version decoded from the id.
    pub encver: u16,
    /// The annotated module data exactly as serialized after the module id,
    /// including the final EOF opcode (RDB type 7 layout).
    pub raw: Vec<u8>,
}

/// A key's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string (bytes).
    String(Vec<u8>),
    /// A list, head to tail.
    List(Vec<Vec<u8>>),
    /// A set.
    Set(Vec<Vec<u8>>),
    /// A sorted set: (member, score).
    Zset(Vec<(Vec<u8>, f64)>),
    /// A hash, with optional per-field TTLs.
    Hash(Vec<HashField>),
    /// A stream.
    Stream(Box<Stream>),
    /// A module value.
    Module(ModuleValue),
}

impl Value {
    /// The data type.
    pub fn key_type(&self) -> KeyType {
        match self {
            Self::String(_) => KeyType::String,
            Self::List(_) => KeyType::List,
            Self::Set(_) => KeyType::Set,
            Self::Zset(_) => KeyType::Zset,
            Self::Hash(_) => KeyType::Hash,
            Self::Stream(_) => KeyType::Stream,
            Self::Module(_) => KeyType::Module,
        }
    }

    /// Number of elements (1 for strings and modules, entries for streams).
    pub fn len(&self) -> usize {
        match self {
            Self::String(_) | Self::Module(_) => 1,
            Self::List(v) | Self::Set(v) => v.len(),
            Self::Zset(v) => v.len(),
            Self::Hash(v) => v.len(),
            Self::Stream(s) => s.entries.len(),
        }
    }

    /// True for an aggregate with no element.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::String(_) | Self::Module(_) | Self::Stream(_) => false,
            _ => self.len() == 0,
        }
    }
}

/// One key with its metadata and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Database index.
    pub db: u64,
    /// Key name.
    pub key: Vec<u8>,
    /// Absolute expiry in Unix milliseconds, if any.
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds, when the file stores it.
    pub lru_idle: Option<u64>,
    /// LFU frequency counter, when the file stores it.
    pub lfu_freq: Option<u8>,
    /// The value.
    pub value: Value,
}

/// A function library (Redis 7.0+), as stored: its whole source code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionLibrary {
    /// Library source, starting with `#!<engine> name=<name>`.
    pub code: Vec<u8>,
}

impl FunctionLibrary {
    /// The engine and library name parsed from the shebang line, if well formed.
    pub fn engine_and_name(&self) -> Option<(String, String)> {
        let first = self.code.split(|&b| b == b'\n').next()?;
        let first = std::str::from_utf8(first).ok()?.trim_end_matches('\r');
        let rest = first.strip_prefix("#!")?;
        let mut parts = rest.split_whitespace();
        let engine = parts.next()?.to_string();
        let name = parts.find_map(|p| p.strip_prefix("name="))?.to_string();
        Some((engine, name))
    }
}

/// Formats a score the way Redis prints doubles in replies and AOF rewrites
/// (`inf`, `-inf`, shortest round-trip decimal; integral values without `.0`).
pub fn format_score(score: f64) -> String {
    if score.is_infinite() {
        return if score > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if score.is_nan() {
        return "nan".into();
    }
    if score == score.trunc() && score.abs() < 1e17 {
        // Integral and exactly representable as an integer in decimal.
        return format!("{}", score as i64);
    }
    // Rust's `{}` for f64 is the shortest representation that round-trips, but it
    // never uses exponent notation; `{:e}` does. Pick the shorter, as %.17g would
    // pick a compact form.
    let plain = format!("{score}");
    let exp = format!("{score:e}");
    if exp.len() < plain.len() { exp } else { plain }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_id_bytes() {
        let id = StreamId::new(1_526_919_030_474, 55);
        assert_eq!(StreamId::from_be_bytes(&id.to_be_bytes()), id);
        assert_eq!(id.to_string(), "1526919030474-55");
        assert_eq!("1526919030474-55".parse::<StreamId>(), Ok(id));
    }

    #[test]
    fn scores_round_trip() {
        for s in [
            0.1,
            5e-324,
            1e300,
            -9_007_199_254_740_992.0,
            3.5,
            f64::MAX,
            -0.0,
            2.5e-7,
        ] {
            let t = format_score(s);
            assert_eq!(t.parse::<f64>().unwrap(), s, "{t}");
        }
        assert_eq!(format_score(f64::INFINITY), "inf");
        assert_eq!(format_score(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_score(1.0), "1");
        assert_eq!(format_score(0.1), "0.1");
    }

    #[test]
    fn library_name() {
        let l = FunctionLibrary {
            code: b"#!lua name=mylib\nredis.register_function(...)".to_vec(),
        };
        assert_eq!(l.engine_and_name(), Some(("lua".into(), "mylib".into())));
    }
}
