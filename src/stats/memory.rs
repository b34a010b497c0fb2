//! The memory model: what a key costs in a Redis 7.0 server (64-bit, jemalloc)
//! right after that server loaded it from an RDB file, computed the way
//! `MEMORY USAGE key SAMPLES 0` computes it.
//!
//! # What is modelled
//!
//! `MEMORY USAGE` (Redis 7.0 `object.c`) is the sum of:
//! * the key: its sds allocation plus `sizeof(dictEntry)` (24);
//! * the value object (`objectComputeSize`): `sizeof(robj)` (16) plus the
//!   allocation of each structure, with jemalloc's size classes
//!   ([`alloc_size`]) for everything obtained from the allocator (sds strings,
//!   listpacks, intsets, skiplist nodes), and `sizeof` for dict entries, dict
//!   tables and fixed structures:
//!
//! | encoding | bytes |
//! |---|---|
//! | `int` | 16 |
//! | `embstr` (≤ 44 bytes) | `alloc(16 + 3 + len + 1)` |
//! | `raw` | 16 + `alloc(sdshdr + len + 1)` |
//! | `listpack` (hash, zset, set) | 16 + `alloc(listpack bytes)` |
//! | `intset` | 16 + `alloc(8 + n × width)` |
//! | `quicklist` | 16 + 40 + Σ nodes (40 + `alloc(node bytes)`) |
//! | `hashtable` (set) | 16 + 56 + 8 × slots + Σ (24 + sds) |
//! | `hashtable` (hash) | 16 + 56 + 8 × slots + Σ (24 + sds(field) + sds(value)) |
//! | `skiplist` | 16 + 16 + 32 + 56 + 8 × slots + 640 + Σ (sds + 24 + node) |
//! | `stream` | 16 + 80 + rax + Σ `alloc(node listpack)` + groups |
//!
//! `slots` is the dict table size: the loader pre-sizes dicts to the element
//! count, so it is the next power of two (at least 4). A skiplist node is
//! `24 + 16 × level` bytes with a random level (p = 1/4), so its expected
//! allocation ([`SKIPLIST_NODE`]) is used. Stream radix trees are counted as
//! Redis counts them (`streamRadixTreeMemoryUsage`: 16 per element plus 244 per
//! rax node); the number of rax nodes is computed exactly from the sorted
//! 128-bit ids ([`RaxNodes`]).
//!
//! # Encoding decisions of the loader
//!
//! What the file says is not always what memory holds. The loader of Redis 7.0,
//! with its default thresholds ([`Config`]):
//! * turns strings that are canonical integers of ≤ 20 characters into `int`,
//!   and strings of ≤ 44 bytes into `embstr`;
//! * builds small hashtable-encoded hashes, sets and sorted sets of the file
//!   as listpacks / intsets (within `hash-max-listpack-entries` and `-value`,
//!   `set-max-intset-entries`, `zset-max-listpack-*`), and converts listpacks
//!   and intsets over the entry limits to hashtables / skiplists;
//! * converts ziplists and zipmaps (Redis ≤ 6.2 files) to listpacks, ziplist
//!   quicklist nodes to listpack nodes, and old linked lists / ziplist lists
//!   to quicklists filled up to `list-max-listpack-size`;
//! * keeps listpack blobs, quicklist nodes and stream nodes exactly as stored.
//!
//! Types Redis 7.0 cannot load (listpack sets of 7.2, hashes with field TTLs
//! of 7.4, Valkey 9 hashes) are estimated with the same rules as the closest
//! 7.0 structure; module values as their serialized size plus the object.
//!
//! Not in `MEMORY USAGE` and so not in the per-key figure: the main dict's
//! bucket array, the expires dict (an entry and a bucket per key with a TTL),
//! and the difference between `sizeof(dictEntry)` (24) and its allocation (32).
//! [`overhead`] adds them for the total.

/// `sizeof(robj)`.
pub const ROBJ: u64 = 16;
/// `sizeof(dictEntry)` in Redis 7.0 (key, value, next).
pub const DICT_ENTRY: u64 = 24;
/// `sizeof(dict)` in Redis 7.0.
pub const DICT: u64 = 56;
/// `sizeof(quicklist)` in Redis 7.0.
pub const QUICKLIST: u64 = 40;
/// `sizeof(quicklistNode)` in Redis 7.0 (`sz` became a `size_t` in 7.0).
pub const QUICKLIST_NODE: u64 = 40;
/// `sizeof(zset)` (dict pointer, skiplist pointer).
pub const ZSET: u64 = 16;
/// `sizeof(zskiplist)`.
pub const ZSKIPLIST: u64 = 32;
/// Allocation of the skiplist header node (32 levels: `24 + 32 × 16` = 536).
pub const ZSKIPLIST_HEADER: u64 = 640;
/// `sizeof(stream)` in Redis 7.0.
pub const STREAM: u64 = 80;
/// `sizeof(streamCG)`.
pub const STREAM_CG: u64 = 40;
/// `sizeof(streamConsumer)` in Redis 7.0.
pub const STREAM_CONSUMER: u64 = 24;
/// `sizeof(streamNACK)`.
pub const STREAM_NACK: u64 = 24;
/// What `streamRadixTreeMemoryUsage` counts per rax node
/// (`sizeof(raxNode)` + 30 longs).
pub const RAX_NODE: u64 = 4 + 30 * 8;
/// What it counts per rax element (`sizeof(streamID)`).
pub const RAX_ELEMENT: u64 = 16;

/// The jemalloc (5.x, 64-bit, 16-byte quantum) size class that serves a
/// request of `n` bytes: 8, then multiples of 16 up to 128, then four classes
/// per power of two (160, 192, 224, 256, 320, …).
#[inline]
pub fn alloc_size(n: u64) -> u64 {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return (n + 15) & !15;
    }
    let e = (n - 1).ilog2(); // n in (2^e, 2^(e+1)]
    let step = 1u64 << (e - 2);
    n.saturating_add(step - 1) & !(step - 1)
}

/// Header size of an sds string of `len` bytes (`sdsReqType`).
#[inline]
pub fn sds_header(len: u64) -> u64 {
    if len < 1 << 5 {
        1
    } else if len < 1 << 8 {
        3
    } else if len < 1 << 16 {
        5
    } else if len < 1 << 32 {
        9
    } else {
        17
    }
}

/// Allocation of an sds string of `len` bytes (header, bytes, NUL).
#[inline]
pub fn sds(len: u64) -> u64 {
    alloc_size(sds_header(len) + len + 1)
}

/// What the main dict entry and the key name cost (`MEMORY USAGE` counts them).
#[inline]
pub fn key(len: u64) -> u64 {
    sds(len) + DICT_ENTRY
}

/// Number of decimal characters of `v`.
#[inline]
pub fn int_len(v: i64) -> u64 {
    let mut n = u64::from(v < 0);
    let mut u = v.unsigned_abs();
    loop {
        n += 1;
        u /= 10;
        if u == 0 {
            return n;
        }
    }
}

/// Table size of a dict pre-sized for `n` elements (next power of two, ≥ 4).
#[inline]
pub fn dict_slots(n: u64) -> u64 {
    n.max(4).checked_next_power_of_two().unwrap_or(1 << 63)
}

/// The bucket count of a dict as the loader grows it, for the paths where it
/// is not pre-sized to its final count: `dictExpand` and `dictAdd` as in
/// Redis 7.0, with incremental rehashing (one bucket moved per add, so a
/// dict can end its load with both tables allocated, and `MEMORY USAGE`
/// counts both). How many buckets are non-empty depends on the hash seed,
/// so the number of steps a rehash takes is its expectation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DictSim {
    t0: u64,
    t1: u64,
    used: u64,
    /// Non-empty buckets of the old table still to move.
    left: u64,
}

impl DictSim {
    /// A new, empty dict (no table yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// `dictExpand(d, size)`.
    pub fn expand(&mut self, size: u64) {
        if self.t1 != 0 || self.used > size {
            return;
        }
        let exp = dict_slots(size);
        if exp == self.t0 {
            return;
        }
        if self.t0 == 0 {
            self.t0 = exp;
            return;
        }
        self.t1 = exp;
        // Expected non-empty buckets of the old table.
        let t = self.t0 as f64;
        self.left = (t * (1.0 - (1.0 - 1.0 / t).powf(self.used as f64))).round() as u64;
    }

    /// `dictAdd` of a new element.
    pub fn add(&mut self) {
        if self.t1 != 0 {
            // _dictRehashStep: one bucket; the rehash ends with the last one.
            if self.left <= 1 {
                self.t0 = self.t1;
                self.t1 = 0;
                self.left = 0;
            } else {
                self.left -= 1;
            }
        }
        if self.t1 == 0 {
            if self.t0 == 0 {
                self.t0 = 4;
            } else if self.used >= self.t0 {
                self.expand(self.used + 1);
            }
        }
        self.used += 1;
    }

    /// Buckets of both tables (`dictSlots`).
    pub fn slots(&self) -> u64 {
        self.t0 + self.t1
    }
}

/// Expected allocation of a skiplist node (`24 + 16 × level` bytes, level
/// drawn with p = 1/4 up to 32), to 1/1000 byte.
pub const SKIPLIST_NODE_MILLI: u64 = skiplist_node_milli();

/// [`SKIPLIST_NODE_MILLI`] in bytes (rounded).
pub const SKIPLIST_NODE: u64 = SKIPLIST_NODE_MILLI.div_ceil(1000);

const fn alloc_size_const(n: u64) -> u64 {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return (n + 15) & !15;
    }
    let e = (n - 1).ilog2();
    let step = 1u64 << (e - 2);
    (n + step - 1) & !(step - 1)
}

const fn skiplist_node_milli() -> u64 {
    // P(level = l) = (3/4)(1/4)^(l-1), the rest at 32. Computed in units of
    // 4^-31 to stay exact in integers.
    let mut total: u128 = 0;
    let mut l = 1u32;
    let mut remaining: u128 = 1u128 << 62; // 4^31
    while l < 32 {
        let p = remaining * 3 / 4;
        total += p * alloc_size_const(24 + 16 * l as u64) as u128;
        remaining -= p;
        l += 1;
    }
    total += remaining * alloc_size_const(24 + 16 * 32) as u128;
    (total * 1000 / (1u128 << 62)) as u64
}

/// The encoding thresholds of the loading server (Redis 7.0 defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// `hash-max-listpack-entries` (512).
    pub hash_max_listpack_entries: u64,
    /// `hash-max-listpack-value` (64).
    pub hash_max_listpack_value: u64,
    /// `zset-max-listpack-entries` (128).
    pub zset_max_listpack_entries: u64,
    /// `zset-max-listpack-value` (64).
    pub zset_max_listpack_value: u64,
    /// `set-max-intset-entries` (512).
    pub set_max_intset_entries: u64,
    /// `set-max-listpack-entries` (128; Redis 7.2+, used for listpack sets).
    pub set_max_listpack_entries: u64,
    /// `list-max-listpack-size` (-2: 8 KB nodes).
    pub list_max_listpack_size: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            list_max_listpack_size: -2,
        }
    }
}

impl Config {
    /// Sets a threshold by its redis.conf name (`ziplist` aliases accepted).
    /// Returns false for an unknown name.
    pub fn set(&mut self, name: &str, value: i64) -> bool {
        let u = value.max(0) as u64;
        match name
            .to_ascii_lowercase()
            .replace("ziplist", "listpack")
            .as_str()
        {
            "hash-max-listpack-entries" => self.hash_max_listpack_entries = u,
            "hash-max-listpack-value" => self.hash_max_listpack_value = u,
            "zset-max-listpack-entries" => self.zset_max_listpack_entries = u,
            "zset-max-listpack-value" => self.zset_max_listpack_value = u,
            "set-max-intset-entries" => self.set_max_intset_entries = u,
            "set-max-listpack-entries" => self.set_max_listpack_entries = u,
            "list-max-listpack-size" => self.list_max_listpack_size = value,
            _ => return false,
        }
        true
    }
}

/// A string element as far as the model needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    /// An integer (its string form is the decimal text).
    Int(i64),
    /// Bytes.
    Bytes(&'a [u8]),
    /// A string of this length whose bytes were not looked at; used for
    /// strings longer than 20 bytes, which are never integers.
    Long(u64),
}

impl Elem<'_> {
    /// Length of the string form.
    #[inline]
    pub fn len(&self) -> u64 {
        match *self {
            Elem::Int(i) => int_len(i),
            Elem::Bytes(b) => b.len() as u64,
            Elem::Long(n) => n,
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer a listpack or intset would store, if any (canonical
    /// decimal text of an `i64`, as `string2ll` accepts).
    #[inline]
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Elem::Int(i) => Some(i),
            Elem::Bytes(b) if b.len() <= 20 => crate::rdb::str::parse_canonical_i64(b),
            Elem::Bytes(_) | Elem::Long(_) => None,
        }
    }
}

/// Bytes of a listpack entry holding `e`: encoding, data and backlen.
#[inline]
pub fn lp_entry(e: Elem<'_>) -> u64 {
    let body = if let Some(v) = e.as_int() {
        if (0..=127).contains(&v) {
            1
        } else if (-4096..=4095).contains(&v) {
            2
        } else if (-32768..=32767).contains(&v) {
            3
        } else if (-8_388_608..=8_388_607).contains(&v) {
            4
        } else if i32::try_from(v).is_ok() {
            5
        } else {
            9
        }
    } else {
        let n = e.len();
        if n < 64 {
            1 + n
        } else if n < 4096 {
            2 + n
        } else {
            5 + n
        }
    };
    body + crate::rdb::compact::listpack::backlen_size(body as usize) as u64
}

/// Header and end byte of a listpack.
pub const LP_OVERHEAD: u64 = 7;

/// The memory estimate of one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Estimate {
    /// What `OBJECT ENCODING` would say after loading.
    pub encoding: &'static str,
    /// `objectComputeSize` of the value (without the key).
    pub value: u64,
    /// Dict entries allocated by the value (hashtable elements), for the
    /// allocation-rounding part of [`overhead`].
    pub dict_entries: u64,
}

/// A string value.
pub fn string(e: Elem<'_>) -> Estimate {
    let len = e.len();
    if len <= 20 && e.as_int().is_some() {
        return Estimate {
            encoding: "int",
            value: ROBJ,
            dict_entries: 0,
        };
    }
    if len <= 44 {
        Estimate {
            encoding: "embstr",
            value: alloc_size(ROBJ + 3 + len + 1),
            dict_entries: 0,
        }
    } else {
        Estimate {
            encoding: "raw",
            value: ROBJ + sds(len),
            dict_entries: 0,
        }
    }
}

/// A value stored as one listpack blob of `bytes` bytes.
pub fn listpack(bytes: u64) -> Estimate {
    Estimate {
        encoding: "listpack",
        value: ROBJ + alloc_size(bytes),
        dict_entries: 0,
    }
}

/// A set stored as an intset blob of `bytes` bytes.
pub fn intset(bytes: u64) -> Estimate {
    Estimate {
        encoding: "intset",
        value: ROBJ + alloc_size(bytes),
        dict_entries: 0,
    }
}

/// A set stored as a hashtable of `n` members whose sds allocations sum to
/// `sds_total`, in a dict of `slots` buckets (usually [`dict_slots`]`(n)`).
pub fn set_hashtable(n: u64, sds_total: u64, slots: u64) -> Estimate {
    Estimate {
        encoding: "hashtable",
        value: ROBJ + DICT + 8 * slots + n * DICT_ENTRY + sds_total,
        dict_entries: n,
    }
}

/// A hash stored as a hashtable of `n` fields whose field and value sds
/// allocations sum to `sds_total`, in a dict of `slots` buckets.
pub fn hash_hashtable(n: u64, sds_total: u64, slots: u64) -> Estimate {
    set_hashtable(n, sds_total, slots)
}

/// A sorted set stored as a skiplist of `n` members whose sds allocations sum
/// to `sds_total`, with a dict of `slots` buckets.
pub fn zset_skiplist(n: u64, sds_total: u64, slots: u64) -> Estimate {
    Estimate {
        encoding: "skiplist",
        value: ROBJ
            + ZSET
            + ZSKIPLIST
            + DICT
            + 8 * slots
            + ZSKIPLIST_HEADER
            + sds_total
            + n * DICT_ENTRY
            + (n * SKIPLIST_NODE_MILLI).div_ceil(1000),
        dict_entries: n,
    }
}

/// Builds the estimate of a list from its quicklist nodes.
#[derive(Debug, Clone, Default)]
pub struct QuicklistMem {
    nodes: u64,
    bytes: u64,
}

impl QuicklistMem {
    /// A node kept as stored: a listpack (or a PLAIN element) of `bytes`.
    #[inline]
    pub fn node(&mut self, bytes: u64) {
        self.nodes += 1;
        self.bytes += QUICKLIST_NODE + alloc_size(bytes);
    }

    /// The estimate.
    pub fn finish(&self) -> Estimate {
        Estimate {
            encoding: "quicklist",
            value: ROBJ + QUICKLIST + self.bytes,
            dict_entries: 0,
        }
    }
}

/// Builds a quicklist by pushing elements at the tail, as the loader does for
/// old linked lists and ziplist lists (nodes filled up to
/// `list-max-listpack-size`).
#[derive(Debug, Clone)]
pub struct ListPushMem {
    limit: u64,
    count_limit: u64,
    node_bytes: u64,
    node_count: u64,
    ql: QuicklistMem,
}

/// `SIZE_ESTIMATE_OVERHEAD` of quicklist.c.
const QL_SIZE_ESTIMATE_OVERHEAD: u64 = 8;
/// `SIZE_SAFETY_LIMIT` of quicklist.c.
const QL_SIZE_SAFETY_LIMIT: u64 = 8192;

impl ListPushMem {
    /// A list built with the thresholds of `cfg`.
    pub fn new(cfg: &Config) -> Self {
        let fill = cfg.list_max_listpack_size;
        let (limit, count_limit) = if fill < 0 {
            let idx = (fill.unsigned_abs() - 1).min(4);
            (4096u64 << idx, u64::MAX)
        } else {
            (QL_SIZE_SAFETY_LIMIT, fill.max(1) as u64)
        };
        Self {
            limit,
            count_limit,
            node_bytes: 0,
            node_count: 0,
            ql: QuicklistMem::default(),
        }
    }

    /// Pushes one element (`_quicklistNodeAllowInsert`).
    #[inline]
    pub fn push(&mut self, e: Elem<'_>) {
        let len = e.len();
        let fits = self.node_count > 0
            && self.node_bytes + len + QL_SIZE_ESTIMATE_OVERHEAD <= self.limit
            && self.node_count < self.count_limit;
        if !fits {
            self.flush();
            self.node_bytes = LP_OVERHEAD;
        }
        self.node_bytes += lp_entry(e);
        self.node_count += 1;
    }

    fn flush(&mut self) {
        if self.node_count > 0 {
            self.ql.node(self.node_bytes);
        }
        self.node_bytes = 0;
        self.node_count = 0;
    }

    /// The estimate.
    pub fn finish(mut self) -> Estimate {
        self.flush();
        self.ql.finish()
    }
}

/// Builds the estimate of a set from its members.
#[derive(Debug, Clone)]
pub struct SetMem {
    n: u64,
    all_int: bool,
    /// Members before the first one that is not an integer.
    ints_first: u64,
    width: u64,
    sds: u64,
}

impl Default for SetMem {
    fn default() -> Self {
        Self {
            n: 0,
            all_int: true,
            ints_first: 0,
            width: 2,
            sds: 0,
        }
    }
}

impl SetMem {
    /// Adds a member.
    #[inline]
    pub fn add(&mut self, e: Elem<'_>) {
        self.n += 1;
        self.sds += sds(e.len());
        if self.all_int {
            match e.as_int() {
                Some(v) => {
                    self.ints_first += 1;
                    let w = if i16::try_from(v).is_ok() {
                        2
                    } else if i32::try_from(v).is_ok() {
                        4
                    } else {
                        8
                    };
                    self.width = self.width.max(w);
                }
                None => self.all_int = false,
            }
        }
    }

    /// The estimate as the loader builds it: an intset when every member is an
    /// integer and there are at most `set-max-intset-entries`, else a hashtable.
    pub fn finish(&self, cfg: &Config) -> Estimate {
        if self.n > cfg.set_max_intset_entries {
            return self.hashtable();
        }
        if self.all_int {
            return intset(8 + self.n * self.width);
        }
        // Built as an intset until the first member that is not an integer,
        // then converted: the dict is sized for the integers, then expanded
        // to the full count (and may still be rehashing at the end).
        let i = self.ints_first;
        let mut d = DictSim::new();
        d.expand(i);
        for _ in 0..i {
            d.add();
        }
        d.expand(self.n);
        for _ in i..self.n {
            d.add();
        }
        set_hashtable(self.n, self.sds, d.slots())
    }

    /// The estimate as a hashtable pre-sized for its members.
    pub fn hashtable(&self) -> Estimate {
        set_hashtable(self.n, self.sds, dict_slots(self.n))
    }
}

/// Builds the estimate of a hash from its fields and values.
#[derive(Debug, Clone)]
pub struct HashMem {
    value_limit: u64,
    n: u64,
    max_len: u64,
    /// Index of the first field whose field or value is over `value_limit`.
    first_long: Option<u64>,
    lp: u64,
    sds: u64,
}

impl Default for HashMem {
    fn default() -> Self {
        Self::new(&Config::default())
    }
}

impl HashMem {
    /// A hash loaded with the thresholds of `cfg`.
    pub fn new(cfg: &Config) -> Self {
        Self {
            value_limit: cfg.hash_max_listpack_value,
            n: 0,
            max_len: 0,
            first_long: None,
            lp: 0,
            sds: 0,
        }
    }

    /// Adds a field and its value.
    #[inline]
    pub fn add(&mut self, field: Elem<'_>, value: Elem<'_>) {
        let (fl, vl) = (field.len(), value.len());
        if self.first_long.is_none() && fl.max(vl) > self.value_limit {
            self.first_long = Some(self.n);
        }
        self.n += 1;
        self.max_len = self.max_len.max(fl).max(vl);
        self.lp += lp_entry(field) + lp_entry(value);
        self.sds += sds(fl) + sds(vl);
    }

    /// Number of fields added.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True when no field was added.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The estimate when the loader builds the hash from its fields (type 4):
    /// a listpack within the thresholds, else a hashtable.
    pub fn finish(&self, cfg: &Config) -> Estimate {
        if self.n > cfg.hash_max_listpack_entries {
            return self.hashtable();
        }
        if self.max_len <= cfg.hash_max_listpack_value {
            return listpack(LP_OVERHEAD + self.lp);
        }
        // Built as a listpack until the first long field or value, then
        // converted (dict sized for the fields so far), the long pair added,
        // the dict expanded for the fields still to come.
        let i = self.first_long.unwrap_or(0);
        let mut d = DictSim::new();
        d.expand(i);
        for _ in 0..=i {
            d.add();
        }
        let rest = self.n - i - 1;
        if rest > 4 {
            d.expand(rest);
        }
        for _ in 0..rest {
            d.add();
        }
        hash_hashtable(self.n, self.sds, d.slots())
    }

    /// The estimate as a hashtable pre-sized for its fields.
    pub fn hashtable(&self) -> Estimate {
        hash_hashtable(self.n, self.sds, dict_slots(self.n))
    }

    /// Listpack bytes of the fields added so far.
    pub fn listpack_bytes(&self) -> u64 {
        LP_OVERHEAD + self.lp
    }
}

/// Builds the estimate of a sorted set from its members and scores.
#[derive(Debug, Clone, Default)]
pub struct ZsetMem {
    n: u64,
    max_len: u64,
    lp: u64,
    sds: u64,
    /// Whether the listpack size is worth computing (formatting scores is
    /// not free, and only small zsets can become listpacks).
    track_lp: bool,
}

impl ZsetMem {
    /// A zset that will get about `expected` members by [`ZsetMem::add`].
    pub fn new(expected: u64, cfg: &Config) -> Self {
        Self {
            track_lp: expected <= cfg.zset_max_listpack_entries,
            ..Self::default()
        }
    }

    /// A zset built from listpack / ziplist entries ([`ZsetMem::add_entry`]).
    pub fn for_entries() -> Self {
        Self {
            track_lp: true,
            ..Self::default()
        }
    }

    /// Adds a member with its score.
    #[inline]
    pub fn add(&mut self, member: Elem<'_>, score: f64) {
        let len = member.len();
        self.n += 1;
        self.max_len = self.max_len.max(len);
        self.sds += sds(len);
        if self.track_lp {
            // The listpack form stores the score as d2string text.
            let text = d2string(score);
            self.lp += lp_entry(member) + lp_entry(Elem::Bytes(text.as_bytes()));
        }
    }

    /// Adds a member whose score entry in a listpack is `score` (as stored in a
    /// ziplist or listpack: an integer or text).
    #[inline]
    pub fn add_entry(&mut self, member: Elem<'_>, score: Elem<'_>) {
        let len = member.len();
        self.n += 1;
        self.max_len = self.max_len.max(len);
        self.sds += sds(len);
        self.lp += lp_entry(member) + lp_entry(score);
    }

    /// The estimate when the loader builds the zset from members (types 3
    /// and 5): converted to a listpack within the thresholds.
    pub fn finish(&self, cfg: &Config) -> Estimate {
        if self.track_lp
            && self.n <= cfg.zset_max_listpack_entries
            && self.max_len <= cfg.zset_max_listpack_value
        {
            listpack(LP_OVERHEAD + self.lp)
        } else {
            self.skiplist()
        }
    }

    /// Listpack bytes of the members added so far.
    pub fn listpack_bytes(&self) -> u64 {
        LP_OVERHEAD + self.lp
    }

    /// The estimate as a skiplist built with its dict pre-sized (types 3
    /// and 5).
    pub fn skiplist(&self) -> Estimate {
        zset_skiplist(self.n, self.sds, dict_slots(self.n))
    }

    /// The estimate as a skiplist converted from a listpack (`zsetConvert`
    /// grows the dict one element at a time).
    pub fn skiplist_converted(&self) -> Estimate {
        let mut d = DictSim::new();
        for _ in 0..self.n {
            d.add();
        }
        zset_skiplist(self.n, self.sds, d.slots())
    }
}

/// A score as Redis 7.0's `d2string` writes it (`%.17g`, integers without a
/// fraction, `inf`, `-inf`, `-0`).
pub fn d2string(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    if v > -4_503_599_627_370_495.0 && v < 4_503_599_627_370_496.0 && v == (v as i64) as f64 {
        return (v as i64).to_string();
    }
    // %.17g: 17 significant digits, exponent form when exp < -4 or >= 17,
    // trailing zeros removed.
    let e = format!("{v:.16e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let strip = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-4..17).contains(&exp) {
        strip(&format!("{v:.prec$}", prec = (16 - exp) as usize))
    } else {
        format!(
            "{}e{}{:02}",
            strip(mant),
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        )
    }
}

/// Counts the nodes of a rax holding sorted, distinct 16-byte keys, as
/// inserted by Redis (a compressed trie: a branching node holds one byte per
/// child; a run of bytes with a single child is one compressed node; each key
/// ends at a leaf), in O(16) memory. Keys must come in ascending order; an
/// out-of-order key is counted as if it added a branch (2 nodes).
#[derive(Debug, Clone, Default)]
pub struct RaxNodes {
    prev: [u8; 16],
    keys: u64,
    /// Depths of the rightmost path below the root (the root, depth 0, is
    /// implicit).
    stack: Vec<u8>,
    internal: u64,
    extra: u64,
    root_children: u64,
    root_long_edges: u64,
    unordered: u64,
}

impl RaxNodes {
    /// An empty rax.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys added.
    pub fn len(&self) -> u64 {
        self.keys
    }

    /// True when no key was added.
    pub fn is_empty(&self) -> bool {
        self.keys == 0
    }

    /// The edge from a node at `child` depth to its parent at `parent` depth.
    fn edge(&mut self, child: u8, parent: u8) {
        let long = child - parent >= 2;
        if parent == 0 {
            self.root_children += 1;
            self.root_long_edges += u64::from(long);
        } else if long {
            // A branching node keeps one byte of the edge; the rest is one
            // compressed node.
            self.extra += 1;
        }
    }

    /// Adds the next key.
    pub fn add(&mut self, key: &[u8; 16]) {
        if self.keys == 0 {
            self.stack.push(16);
            self.prev = *key;
            self.keys = 1;
            return;
        }
        if key <= &self.prev {
            self.unordered += 1;
            self.keys += 1;
            return;
        }
        let l = key
            .iter()
            .zip(&self.prev)
            .take_while(|(a, b)| a == b)
            .count() as u8;
        let mut last: Option<u8> = None;
        while let Some(&top) = self.stack.last() {
            if top <= l {
                break;
            }
            self.stack.pop();
            if let Some(child) = last {
                self.edge(child, top);
            }
            last = Some(top);
        }
        let top = self.stack.last().copied().unwrap_or(0);
        if let Some(child) = last {
            if top == l {
                self.edge(child, top);
            } else {
                // A new branching node at depth l splits the edge.
                self.internal += 1;
                self.edge(child, l);
                self.stack.push(l);
            }
        }
        self.stack.push(16);
        self.prev = *key;
        self.keys += 1;
    }

    /// The number of rax nodes (`rax->numnodes`), the head included.
    pub fn nodes(&self) -> u64 {
        if self.keys == 0 {
            return 1;
        }
        // Close the rightmost path.
        let mut s = self.clone();
        while let Some(child) = s.stack.pop() {
            let parent = s.stack.last().copied().unwrap_or(0);
            s.edge(child, parent);
        }
        let root_extra = if s.root_children >= 2 {
            s.root_long_edges
        } else {
            0
        };
        1 + s.internal + (s.keys - s.unordered) + s.extra + root_extra + 2 * s.unordered
    }

    /// What `streamRadixTreeMemoryUsage` reports for this rax.
    pub fn usage(&self) -> u64 {
        self.keys * RAX_ELEMENT + self.nodes() * RAX_NODE
    }
}

/// Builds the estimate of a stream.
#[derive(Debug, Clone, Default)]
pub struct StreamMem {
    nodes: RaxNodes,
    listpacks: u64,
    groups: u64,
    pel: Option<RaxNodes>,
    consumer_pel: Option<RaxNodes>,
}

impl StreamMem {
    /// A listpack node with master id `key` of `bytes` bytes.
    #[inline]
    pub fn node(&mut self, key: &[u8; 16], bytes: u64) {
        self.nodes.add(key);
        self.listpacks += alloc_size(bytes);
    }

    fn close_consumer(&mut self) {
        if let Some(p) = self.consumer_pel.take() {
            self.groups += p.usage();
        }
    }

    fn close_group(&mut self) {
        self.close_consumer();
        if let Some(p) = self.pel.take() {
            self.groups += p.usage() + p.len() * STREAM_NACK;
        }
    }

    /// A consumer group starts.
    pub fn group(&mut self) {
        self.close_group();
        self.groups += STREAM_CG;
        self.pel = Some(RaxNodes::new());
    }

    /// A pending entry of the current group.
    pub fn pending(&mut self, id: &[u8; 16]) {
        if let Some(p) = &mut self.pel {
            p.add(id);
        }
    }

    /// A consumer of the current group, with a name of `name_len` bytes.
    pub fn consumer(&mut self, name_len: u64) {
        self.close_consumer();
        // objectComputeSize adds sdslen(name), not its allocation.
        self.groups += STREAM_CONSUMER + name_len;
        self.consumer_pel = Some(RaxNodes::new());
    }

    /// A pending id owned by the current consumer.
    pub fn consumer_pending(&mut self, id: &[u8; 16]) {
        if let Some(p) = &mut self.consumer_pel {
            p.add(id);
        }
    }

    /// The estimate.
    pub fn finish(mut self) -> Estimate {
        self.close_group();
        Estimate {
            encoding: "stream",
            value: ROBJ + STREAM + self.nodes.usage() + self.listpacks + self.groups,
            dict_entries: 0,
        }
    }
}

/// A module value: its serialized size stands for its memory.
pub fn module(serialized: u64) -> Estimate {
    Estimate {
        encoding: "module",
        value: ROBJ + serialized,
        dict_entries: 0,
    }
}

/// A vector set's index: the module's `vsetObject` plus the `HNSW` structure
/// with its per-thread slot locks and epochs.
pub const VSET_INDEX: u64 = 1024;
/// An `hnswNode`: id, level, l2, range, pointers and its 32 per-thread visit
/// epochs.
pub const VSET_NODE: u64 = 320;
/// An `hnswNodeLayer` (links pointer, counts, worst link).
pub const VSET_LAYER: u64 = 24;

/// A Redis 8 vector set, from its decoded structure (not `MEMORY USAGE`, which
/// the module computes from averages): `16 + VSET_INDEX + alloc(4·input_dim·dim)`
/// plus per element `VSET_NODE + alloc(vector bytes) + Σ layers (VSET_LAYER +
/// alloc(8·max_links)) + 16` (the node's value) `+ 16 + sds(name)` (the name
/// object) `+ RAX_ELEMENT + name length` (the name index) `[+ 16 + sds(attr)]`.
pub fn vectorset(vs: &crate::rdb::vectorset::VectorSet) -> Estimate {
    let mut value = ROBJ + VSET_INDEX;
    if let Some(p) = &vs.projection {
        value += alloc_size(4 * u64::from(p.input_dim) * u64::from(vs.dim));
    }
    for e in &vs.elements {
        value += VSET_NODE + alloc_size(e.vector.len() as u64);
        for l in &e.layers {
            value += VSET_LAYER + alloc_size(8 * l.max_links);
        }
        let name = e.name.len() as u64;
        value += 16 + ROBJ + sds(name) + RAX_ELEMENT + name;
        if !e.attributes.is_empty() {
            value += ROBJ + sds(e.attributes.len() as u64);
        }
    }
    Estimate {
        encoding: "vectorset",
        value,
        dict_entries: 0,
    }
}

/// Memory outside `MEMORY USAGE` for a database of `keys` keys, `expires` of
/// them with a TTL, whose values hold `dict_entries` hashtable entries: the
/// main dict's buckets, the expires dict (buckets and entries), and the
/// rounding of every `dictEntry` from 24 to its 32-byte allocation.
pub fn overhead(keys: u64, expires: u64, dict_entries: u64) -> u64 {
    let main = if keys == 0 { 0 } else { 8 * dict_slots(keys) };
    let exp = if expires == 0 {
        0
    } else {
        8 * dict_slots(expires) + expires * alloc_size(DICT_ENTRY)
    };
    main + exp + (keys + dict_entries) * (alloc_size(DICT_ENTRY) - DICT_ENTRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jemalloc_classes() {
        let classes = [
            8u64, 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640,
            768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
            10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768,
        ];
        let mut prev = 0;
        for &c in &classes {
            for n in prev + 1..=c {
                assert_eq!(alloc_size(n), c, "request {n}");
            }
            prev = c;
        }
        assert_eq!(alloc_size(0), 8);
        assert_eq!(alloc_size(1 << 30), 1 << 30);
        assert_eq!(alloc_size((1 << 30) + 1), (1 << 30) + (1 << 28));
        assert_eq!(alloc_size(u64::MAX), !((1u64 << 61) - 1));
    }

    #[test]
    fn sds_and_strings() {
        assert_eq!(sds(0), 8);
        assert_eq!(sds(31), 48); // 1 + 31 + 1 = 33
        assert_eq!(sds(32), 48); // 3 + 32 + 1 = 36
        assert_eq!(key(1), 32);
        // Figures measured with MEMORY USAGE on Redis 7.0 (minus key overhead).
        assert_eq!(string(Elem::Bytes(b"12345")).value, 16);
        assert_eq!(string(Elem::Bytes(b"hello")).value, 32);
        assert_eq!(string(Elem::Long(44)).value, 64);
        assert_eq!(string(Elem::Long(45)).value, 80);
        assert_eq!(string(Elem::Bytes(b"007")).encoding, "embstr");
        assert_eq!(string(Elem::Int(-5)).encoding, "int");
        assert_eq!(int_len(i64::MIN), 20);
        assert_eq!(int_len(0), 1);
        assert_eq!(int_len(-10), 3);
    }

    #[test]
    fn listpack_entries_match_the_encoder() {
        let samples: Vec<Vec<u8>> = vec![
            b"0".to_vec(),
            b"127".to_vec(),
            b"128".to_vec(),
            b"-4096".to_vec(),
            b"4096".to_vec(),
            b"-32768".to_vec(),
            b"8388607".to_vec(),
            b"-8388609".to_vec(),
            b"2147483648".to_vec(),
            b"007".to_vec(),
            vec![b'x'; 63],
            vec![b'x'; 64],
            vec![b'x'; 127],
            vec![b'x'; 4095],
            vec![b'x'; 4096],
            vec![b'x'; 20000],
            Vec::new(),
        ];
        for s in &samples {
            let mut w = crate::rdb::writer::Listpack::new();
            w.push(s);
            let lp = w.finish();
            assert_eq!(
                LP_OVERHEAD + lp_entry(Elem::Bytes(s)),
                lp.len() as u64,
                "entry {:?}",
                String::from_utf8_lossy(&s[..s.len().min(10)])
            );
        }
    }

    #[test]
    fn d2string_matches_printf() {
        assert_eq!(d2string(1.5), "1.5");
        assert_eq!(d2string(0.1), "0.10000000000000001");
        assert_eq!(d2string(3.0), "3");
        assert_eq!(d2string(-0.0), "-0");
        assert_eq!(d2string(f64::INFINITY), "inf");
        assert_eq!(d2string(1e300), "1.0000000000000001e+300");
        assert_eq!(d2string(5e-324), "4.9406564584124654e-324");
        assert_eq!(d2string(std::f64::consts::PI), "3.1415926535897931");
        assert_eq!(d2string(1e17), "1e+17");
        assert_eq!(d2string(1.0e16), "10000000000000000");
        assert_eq!(d2string(0.0001), "0.0001");
        assert_eq!(d2string(0.00001), "1.0000000000000001e-05");
    }

    #[test]
    fn skiplist_node_expectation() {
        // 0.75*48 + 0.1875*64 + 0.046875*80 + ... ≈ 53.3
        assert!(
            (53_000..53_700).contains(&SKIPLIST_NODE_MILLI),
            "{SKIPLIST_NODE_MILLI}"
        );
    }

    fn id(ms: u64, seq: u64) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&ms.to_be_bytes());
        k[8..].copy_from_slice(&seq.to_be_bytes());
        k
    }

    /// Node count of the compressed trie by recursion over sorted keys
    /// (an independent formulation).
    fn rax_recursive(keys: &[[u8; 16]]) -> u64 {
        fn node(keys: &[[u8; 16]], d: usize, parent_branching: bool) -> u64 {
            // A node at depth d holding `keys`, reached by an edge whose last
            // byte is at d-1.
            if keys.len() == 1 {
                return if d == 16 {
                    1
                } else {
                    1 + u64::from(parent_branching)
                };
            }
            let (first, last) = (keys[0], keys[keys.len() - 1]);
            let c = first.iter().zip(&last).take_while(|(a, b)| a == b).count();
            let mut n = 1; // the branching node at depth c
            if c > d && parent_branching {
                n += 1; // compressed node for the bytes d..c
            }
            let mut i = 0;
            while i < keys.len() {
                let b = keys[i][c];
                let j = i + keys[i..].iter().take_while(|k| k[c] == b).count();
                n += node(&keys[i..j], c + 1, true);
                i = j;
            }
            n
        }
        if keys.is_empty() {
            return 1;
        }
        if keys.len() == 1 {
            return 2;
        }
        let c = keys[0]
            .iter()
            .zip(&keys[keys.len() - 1])
            .take_while(|(a, b)| a == b)
            .count();
        // The head is compressed (c > 0) or branching (c == 0).
        let below = node(keys, c, false) - 1; // the node at depth c, counted as head when c == 0
        if c == 0 { 1 + below } else { 2 + below }
    }

    #[test]
    fn rax_node_counts() {
        let cases: Vec<Vec<[u8; 16]>> = vec![
            vec![],
            vec![id(1, 1)],
            vec![id(1, 1), id(1, 2)],
            vec![id(1, 1), id(2, 1)],
            vec![
                id(0, 1),
                id(1, 0),
                id(1_526_919_030_474, 55),
                id(u64::MAX, u64::MAX),
            ],
            (0..300)
                .map(|i| id(1_700_000_000_000 + i * 37, i % 3))
                .collect(),
            (0..50).map(|i| id(5, i * 1000)).collect(),
        ];
        for keys in cases {
            let mut r = RaxNodes::new();
            for k in &keys {
                r.add(k);
            }
            assert_eq!(r.nodes(), rax_recursive(&keys), "{} keys", keys.len());
        }
        let mut r = RaxNodes::new();
        r.add(&id(1, 1));
        assert_eq!(r.nodes(), 2);
        assert_eq!(r.usage(), 16 + 2 * 244);
    }

    #[test]
    fn list_push_fills_8k_nodes() {
        let cfg = Config::default();
        let mut l = ListPushMem::new(&cfg);
        for _ in 0..1000 {
            l.push(Elem::Long(100));
        }
        // 102-byte entries (1 + 100 + 1 backlen): about 80 per node.
        let est = l.finish();
        let per_node = (8192 - 7) / (100 + 8);
        let nodes = 1000u64.div_ceil(per_node);
        assert!(est.value > 16 + 40 + nodes * (40 + 8192 - 1024));
        assert_eq!(est.encoding, "quicklist");
    }
}
