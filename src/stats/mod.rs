//! Whole-keyspace statistics in one streaming pass, in bounded memory: what
//! `stats` reports.
//!
//! The pieces:
//! * [`Stats`] folds one [`KeySummary`] per key into counts per database and
//!   type, distributions ([`hist::Histogram`]), top-N lists ([`topn::TopN`]),
//!   a prefix tree ([`prefix::Prefixes`]), TTL buckets and LFU/LRU
//!   distributions. Everything in it merges exactly, so worker threads build
//!   partial statistics for chunks of a file and the results are merged in
//!   file order; memory does not grow with the number of keys (except the
//!   prefix tree, which is capped).
//! * [`rdb::analyze`] is the key source for RDB files (and RDB preambles):
//!   it frames the file on one thread, measures the values of each chunk on
//!   the others ([`walk`]) and feeds [`Stats`]. Another key source (a replayed
//!   AOF, say) plugs in by producing [`KeySummary`] values, with
//!   [`memory`] for the estimate.
//! * [`memory`] is the model of what each key costs in a Redis 7.0 server.
//!
//! [`Stats::finish`] turns the accumulator into a [`Report`].

pub mod hist;
pub mod memory;
pub mod prefix;
pub mod rdb;
pub mod topn;
pub mod walk;

use std::collections::BTreeMap;

use crate::model::KeyType;
use hist::{Histogram, Summary};
use prefix::Prefixes;
use topn::TopN;

/// Settings of a statistics run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Length of the top-N lists (and of each level of the prefix tree).
    pub top: usize,
    /// Prefix separator.
    pub separator: Vec<u8>,
    /// Prefix levels (0: no prefix statistics).
    pub depth: usize,
    /// Cap on distinct prefixes kept.
    pub max_prefixes: usize,
    /// "Now" in Unix milliseconds, for TTLs.
    pub now_ms: i64,
    /// Thresholds of the loading server, for the memory estimate.
    pub memory: memory::Config,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            top: 20,
            separator: b":".to_vec(),
            depth: 2,
            max_prefixes: 100_000,
            now_ms: crate::rdb::check::now_ms(),
            memory: memory::Config::default(),
        }
    }
}

/// One key, as a key source describes it to [`Stats::add_key`].
#[derive(Debug, Clone, Copy)]
pub struct KeySummary<'a> {
    /// Database.
    pub db: u64,
    /// Key name.
    pub key: &'a [u8],
    /// Data type.
    pub kind: KeyType,
    /// RDB type byte (`None` for keys that do not come from an RDB).
    pub rdb_type: Option<u8>,
    /// In-memory encoding after loading (what `OBJECT ENCODING` would say).
    pub encoding: &'static str,
    /// Absolute expiry (Unix ms).
    pub expire_ms: Option<i64>,
    /// LRU idle seconds, when the file has them.
    pub lru_idle: Option<u64>,
    /// LFU counter, when the file has it.
    pub lfu_freq: Option<u8>,
    /// Serialized size of the whole record (expiry, type, key, value).
    pub size: u64,
    /// Serialized size of the value alone.
    pub value_bytes: u64,
    /// Elements (1 for strings and module values; stream entries).
    pub elements: u64,
    /// Estimated memory of the key (`MEMORY USAGE` semantics, key included).
    pub memory: u64,
    /// Hashtable entries of the value (for the allocator-rounding overhead).
    pub dict_entries: u64,
    /// Hash fields with a TTL.
    pub field_ttls: u64,
    /// Module type name, for module values.
    pub module: Option<&'a str>,
    /// Position (file offset), used to break ties in top lists.
    pub pos: u64,
}

/// A key of a top list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopKey {
    /// Database.
    pub db: u64,
    /// Key name.
    pub key: Vec<u8>,
    /// Data type.
    pub kind: KeyType,
    /// RDB type byte, when known.
    pub rdb_type: Option<u8>,
    /// In-memory encoding after loading.
    pub encoding: &'static str,
    /// Serialized record size.
    pub size: u64,
    /// Elements.
    pub elements: u64,
    /// Estimated memory.
    pub memory: u64,
    /// Absolute expiry (Unix ms).
    pub expire_ms: Option<i64>,
    /// File offset of the record.
    pub offset: u64,
}

/// Counts and distributions of a group of keys (a type in a database).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    /// Keys.
    pub keys: u64,
    /// Keys with a TTL.
    pub expires: u64,
    /// Keys whose TTL is already past.
    pub already_expired: u64,
    /// Bytes of key names.
    pub key_bytes: u64,
    /// Serialized bytes of the values.
    pub value_bytes: u64,
    /// Serialized bytes of the whole records.
    pub size: u64,
    /// Elements.
    pub elements: u64,
    /// Estimated memory.
    pub memory: u64,
    /// Hashtable entries of the values.
    pub dict_entries: u64,
    /// Distribution of the element count per key.
    pub elements_dist: Histogram,
    /// Distribution of the serialized record size per key.
    pub size_dist: Histogram,
    /// Distribution of the estimated memory per key.
    pub memory_dist: Histogram,
}

impl Group {
    fn add(&mut self, k: &KeySummary<'_>, expired: bool) {
        self.keys += 1;
        self.expires += u64::from(k.expire_ms.is_some());
        self.already_expired += u64::from(expired);
        self.key_bytes += k.key.len() as u64;
        self.value_bytes += k.value_bytes;
        self.size += k.size;
        self.elements += k.elements;
        self.memory += k.memory;
        self.dict_entries += k.dict_entries;
        self.elements_dist.add(k.elements);
        self.size_dist.add(k.size);
        self.memory_dist.add(k.memory);
    }

    /// Adds everything of `o`.
    pub fn merge(&mut self, o: &Group) {
        self.keys += o.keys;
        self.expires += o.expires;
        self.already_expired += o.already_expired;
        self.key_bytes += o.key_bytes;
        self.value_bytes += o.value_bytes;
        self.size += o.size;
        self.elements += o.elements;
        self.memory += o.memory;
        self.dict_entries += o.dict_entries;
        self.elements_dist.merge(&o.elements_dist);
        self.size_dist.merge(&o.size_dist);
        self.memory_dist.merge(&o.memory_dist);
    }
}

/// TTL buckets, by time left relative to "now".
pub const TTL_BUCKETS: [&str; 7] = [
    "already expired",
    "< 1 hour",
    "< 1 day",
    "< 7 days",
    "< 30 days",
    ">= 30 days",
    "no TTL",
];

/// The statistics accumulator. See the module documentation.
#[derive(Debug, Clone)]
pub struct Stats {
    top: usize,
    now_ms: i64,
    /// Per database, per type (indexed like [`KeyType::ALL`]).
    dbs: BTreeMap<u64, [Group; KeyType::ALL.len()]>,
    /// Keys per RDB type byte.
    rdb_types: Vec<u64>,
    /// (type, encoding, RDB type) → (keys, memory).
    encodings: BTreeMap<(KeyType, &'static str, Option<u8>), (u64, u64)>,
    /// Module type name → (keys, serialized bytes).
    modules: BTreeMap<String, (u64, u64)>,
    ttl: [u64; 7],
    field_ttl_keys: u64,
    field_ttls: u64,
    lfu: Histogram,
    lru: Histogram,
    top_size: TopN<TopKey>,
    top_elements: TopN<TopKey>,
    top_memory: TopN<TopKey>,
    prefixes: Prefixes,
}

fn type_index(k: KeyType) -> usize {
    KeyType::ALL.iter().position(|&x| x == k).unwrap_or(0)
}

impl Stats {
    /// An empty accumulator.
    pub fn new(opts: &Options) -> Self {
        Self {
            top: opts.top,
            now_ms: opts.now_ms,
            dbs: BTreeMap::new(),
            rdb_types: vec![0; 256],
            encodings: BTreeMap::new(),
            modules: BTreeMap::new(),
            ttl: [0; 7],
            field_ttl_keys: 0,
            field_ttls: 0,
            lfu: Histogram::new(),
            lru: Histogram::new(),
            top_size: TopN::new(opts.top),
            top_elements: TopN::new(opts.top),
            top_memory: TopN::new(opts.top),
            prefixes: Prefixes::new(&opts.separator, opts.depth, opts.max_prefixes),
        }
    }

    fn ttl_bucket(&self, exp: Option<i64>) -> usize {
        const H: i64 = 3_600_000;
        match exp {
            None => 6,
            Some(e) if e < self.now_ms => 0,
            Some(e) => {
                let left = e - self.now_ms;
                if left < H {
                    1
                } else if left < 24 * H {
                    2
                } else if left < 7 * 24 * H {
                    3
                } else if left < 30 * 24 * H {
                    4
                } else {
                    5
                }
            }
        }
    }

    /// Counts one key.
    pub fn add_key(&mut self, k: &KeySummary<'_>) {
        let bucket = self.ttl_bucket(k.expire_ms);
        self.ttl[bucket] += 1;
        let expired = bucket == 0;
        self.dbs.entry(k.db).or_default()[type_index(k.kind)].add(k, expired);
        if let Some(t) = k.rdb_type {
            self.rdb_types[t as usize] += 1;
        }
        let e = self
            .encodings
            .entry((k.kind, k.encoding, k.rdb_type))
            .or_default();
        e.0 += 1;
        e.1 += k.memory;
        if let Some(m) = k.module {
            let e = self.modules.entry(m.to_owned()).or_default();
            e.0 += 1;
            e.1 += k.value_bytes;
        }
        if k.field_ttls > 0 {
            self.field_ttl_keys += 1;
            self.field_ttls += k.field_ttls;
        }
        if let Some(f) = k.lfu_freq {
            self.lfu.add(u64::from(f));
        }
        if let Some(i) = k.lru_idle {
            self.lru.add(i);
        }
        let q = (
            self.top_size.qualifies(k.size, k.pos),
            self.top_elements.qualifies(k.elements, k.pos),
            self.top_memory.qualifies(k.memory, k.pos),
        );
        if q.0 || q.1 || q.2 {
            let t = TopKey {
                db: k.db,
                key: k.key.to_vec(),
                kind: k.kind,
                rdb_type: k.rdb_type,
                encoding: k.encoding,
                size: k.size,
                elements: k.elements,
                memory: k.memory,
                expire_ms: k.expire_ms,
                offset: k.pos,
            };
            if q.0 {
                self.top_size.push(k.size, k.pos, t.clone());
            }
            if q.1 {
                self.top_elements.push(k.elements, k.pos, t.clone());
            }
            if q.2 {
                self.top_memory.push(k.memory, k.pos, t);
            }
        }
        self.prefixes.add(k.key, k.size, k.memory);
    }

    /// Adds everything counted by `o` (built with the same options).
    pub fn merge(&mut self, o: Stats) {
        for (db, groups) in o.dbs {
            let mine = self.dbs.entry(db).or_default();
            for (a, b) in mine.iter_mut().zip(groups.iter()) {
                a.merge(b);
            }
        }
        for (a, b) in self.rdb_types.iter_mut().zip(&o.rdb_types) {
            *a += b;
        }
        for (k, (n, m)) in o.encodings {
            let e = self.encodings.entry(k).or_default();
            e.0 += n;
            e.1 += m;
        }
        for (k, (n, b)) in o.modules {
            let e = self.modules.entry(k).or_default();
            e.0 += n;
            e.1 += b;
        }
        for (a, b) in self.ttl.iter_mut().zip(o.ttl) {
            *a += b;
        }
        self.field_ttl_keys += o.field_ttl_keys;
        self.field_ttls += o.field_ttls;
        self.lfu.merge(&o.lfu);
        self.lru.merge(&o.lru);
        self.top_size.merge(o.top_size);
        self.top_elements.merge(o.top_elements);
        self.top_memory.merge(o.top_memory);
        self.prefixes.merge(o.prefixes);
    }

    /// Number of keys counted so far.
    pub fn keys(&self) -> u64 {
        self.dbs.values().flatten().map(|g| g.keys).sum()
    }

    /// The report. `format` names RDB encodings (Valkey reuses type numbers).
    pub fn finish(self, format: crate::rdb::types::Format) -> Report {
        let mut total = Group::default();
        let mut by_type: BTreeMap<KeyType, Group> = BTreeMap::new();
        let mut by_db = BTreeMap::new();
        let mut mem = MemoryTotals::default();
        for (db, groups) in &self.dbs {
            let mut db_total = Group::default();
            let mut types = BTreeMap::new();
            for (i, g) in groups.iter().enumerate() {
                if g.keys == 0 {
                    continue;
                }
                db_total.merge(g);
                by_type.entry(KeyType::ALL[i]).or_default().merge(g);
                types.insert(KeyType::ALL[i], g.clone());
            }
            total.merge(&db_total);
            let main = 8 * memory::dict_slots(db_total.keys);
            let exp = if db_total.expires == 0 {
                0
            } else {
                8 * memory::dict_slots(db_total.expires)
                    + db_total.expires * memory::alloc_size(memory::DICT_ENTRY)
            };
            mem.main_dict += main;
            mem.expires_dict += exp;
            mem.entry_rounding += (db_total.keys + db_total.dict_entries)
                * (memory::alloc_size(memory::DICT_ENTRY) - memory::DICT_ENTRY);
            by_db.insert(
                *db,
                DbReport {
                    total: db_total,
                    by_type: types,
                },
            );
        }
        mem.keys = total.memory;
        mem.total = mem.keys + mem.main_dict + mem.expires_dict + mem.entry_rounding;
        let rdb_encodings = self
            .rdb_types
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| {
                let t = t as u8;
                RdbEncoding {
                    rdb_type: t,
                    name: crate::rdb::types::type_name_in(format, t),
                    kind: crate::rdb::types::key_type(t),
                    keys: *n,
                }
            })
            .collect();
        let encodings = self
            .encodings
            .iter()
            .map(|((k, e, t), (n, m))| Encoding {
                kind: *k,
                encoding: e,
                rdb_type: *t,
                rdb_encoding: t.map(|t| crate::rdb::types::type_name_in(format, t)),
                keys: *n,
                memory: *m,
            })
            .collect();
        Report {
            total,
            by_db,
            by_type,
            rdb_encodings,
            encodings,
            modules: self.modules,
            ttl: TTL_BUCKETS.iter().copied().zip(self.ttl).collect(),
            field_ttl_keys: self.field_ttl_keys,
            field_ttls: self.field_ttls,
            lfu: (self.lfu.count() > 0).then(|| self.lfu.summary()),
            lru: (self.lru.count() > 0).then(|| self.lru.summary()),
            top_by_size: self
                .top_size
                .into_sorted()
                .into_iter()
                .map(|x| x.1)
                .collect(),
            top_by_elements: self
                .top_elements
                .into_sorted()
                .into_iter()
                .map(|x| x.1)
                .collect(),
            top_by_memory: self
                .top_memory
                .into_sorted()
                .into_iter()
                .map(|x| x.1)
                .collect(),
            prefixes: PrefixReport {
                separator: self.prefixes.separator().to_vec(),
                depth: self.prefixes.depth(),
                truncated: self.prefixes.truncated(),
                no_separator: self.prefixes.no_separator(),
                tree: self.prefixes.tree(self.top),
            },
            memory: mem,
        }
    }
}

/// A database in a [`Report`].
#[derive(Debug, Clone, PartialEq)]
pub struct DbReport {
    /// All keys of the database.
    pub total: Group,
    /// Per type (types without keys are absent).
    pub by_type: BTreeMap<KeyType, Group>,
}

/// Keys per RDB type byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbEncoding {
    /// The type byte.
    pub rdb_type: u8,
    /// Its name (`hash-listpack`, `quicklist-v2`, …).
    pub name: &'static str,
    /// The data type it stores.
    pub kind: Option<KeyType>,
    /// Keys.
    pub keys: u64,
}

/// Keys per in-memory encoding and the RDB encoding it was loaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    /// Data type.
    pub kind: KeyType,
    /// Encoding after loading (`listpack`, `hashtable`, …).
    pub encoding: &'static str,
    /// The RDB type byte it was loaded from (`None` for other key sources).
    pub rdb_type: Option<u8>,
    /// Its name (`hash-listpack`, …).
    pub rdb_encoding: Option<&'static str>,
    /// Keys.
    pub keys: u64,
    /// Their estimated memory.
    pub memory: u64,
}

/// The memory estimate in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryTotals {
    /// Sum of the per-key estimates (`MEMORY USAGE` semantics).
    pub keys: u64,
    /// Bucket arrays of the main dicts.
    pub main_dict: u64,
    /// Expires dicts (buckets and entries).
    pub expires_dict: u64,
    /// `dictEntry` allocations (32 bytes) beyond the 24 `MEMORY USAGE` counts.
    pub entry_rounding: u64,
    /// Everything.
    pub total: u64,
}

/// The prefix tree in a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixReport {
    /// Separator.
    pub separator: Vec<u8>,
    /// Levels.
    pub depth: usize,
    /// True when small prefixes were folded away (figures are lower bounds).
    pub truncated: bool,
    /// Keys without a separator.
    pub no_separator: prefix::Counts,
    /// The largest prefixes.
    pub tree: Vec<prefix::Node>,
}

/// What [`Stats::finish`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Every key.
    pub total: Group,
    /// Per database.
    pub by_db: BTreeMap<u64, DbReport>,
    /// Per type, all databases.
    pub by_type: BTreeMap<KeyType, Group>,
    /// Keys per RDB type byte.
    pub rdb_encodings: Vec<RdbEncoding>,
    /// Keys and memory per in-memory encoding and RDB encoding.
    pub encodings: Vec<Encoding>,
    /// Module values per module type name: (keys, serialized bytes).
    pub modules: BTreeMap<String, (u64, u64)>,
    /// Keys per TTL bucket ([`TTL_BUCKETS`]).
    pub ttl: Vec<(&'static str, u64)>,
    /// Keys with at least one hash field TTL.
    pub field_ttl_keys: u64,
    /// Hash fields with a TTL.
    pub field_ttls: u64,
    /// LFU counters, when the file has them.
    pub lfu: Option<Summary>,
    /// LRU idle seconds, when the file has them.
    pub lru: Option<Summary>,
    /// Largest serialized records.
    pub top_by_size: Vec<TopKey>,
    /// Most elements.
    pub top_by_elements: Vec<TopKey>,
    /// Largest memory estimates.
    pub top_by_memory: Vec<TopKey>,
    /// Prefixes.
    pub prefixes: PrefixReport,
    /// Memory totals.
    pub memory: MemoryTotals,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(db: u64, key: &[u8], kind: KeyType, size: u64, pos: u64) -> KeySummary<'_> {
        KeySummary {
            db,
            key,
            kind,
            rdb_type: Some(0),
            encoding: "embstr",
            expire_ms: None,
            lru_idle: None,
            lfu_freq: None,
            size,
            value_bytes: size / 2,
            elements: size % 7,
            memory: size * 3,
            dict_entries: 0,
            field_ttls: 0,
            module: None,
            pos,
        }
    }

    #[test]
    fn merging_chunks_equals_one_pass() {
        let opts = Options {
            top: 5,
            now_ms: 1_000_000,
            ..Options::default()
        };
        let names: Vec<Vec<u8>> = (0..500)
            .map(|i| format!("p{}:k{i}", i % 4).into_bytes())
            .collect();
        let mut keys = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let mut k = key(
                (i % 3) as u64,
                n,
                KeyType::ALL[i % 6],
                (i as u64 * 7919) % 1000,
                i as u64,
            );
            if i % 5 == 0 {
                k.expire_ms = Some(1_000_000 + (i as i64 - 250) * 100_000);
            }
            if i % 2 == 0 {
                k.lfu_freq = Some((i % 256) as u8);
            }
            keys.push(k);
        }
        let mut one = Stats::new(&opts);
        for k in &keys {
            one.add_key(k);
        }
        let mut merged = Stats::new(&opts);
        for chunk in keys.chunks(33) {
            let mut s = Stats::new(&opts);
            for k in chunk {
                s.add_key(k);
            }
            merged.merge(s);
        }
        let (a, b) = (
            one.finish(crate::rdb::types::Format::Redis),
            merged.finish(crate::rdb::types::Format::Redis),
        );
        assert_eq!(a, b);
        assert_eq!(a.total.keys, 500);
        assert_eq!(a.by_db.len(), 3);
        assert_eq!(a.top_by_size.len(), 5);
        assert_eq!(a.ttl.iter().map(|x| x.1).sum::<u64>(), 500);
        assert_eq!(a.ttl[6].1, 400);
        assert!(a.ttl[0].1 > 0);
        assert_eq!(a.lfu.unwrap().count, 250);
        let want_top: Vec<u64> = {
            let mut v: Vec<(u64, u64)> = keys.iter().map(|k| (k.size, k.pos)).collect();
            v.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
            v.iter().take(5).map(|x| x.1).collect()
        };
        let got_top: Vec<u64> = a.top_by_size.iter().map(|t| t.offset).collect();
        assert_eq!(got_top, want_top);
    }
}
