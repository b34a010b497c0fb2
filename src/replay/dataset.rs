//! The in-memory dataset the replay engine mutates: databases of keys, each with a
//! value in a structure suited to the commands (a `VecDeque` for lists, a hash set
//! for sets, a member→score map plus an ordered index for sorted sets, a field map
//! with per-field TTLs for hashes, an ordered entry map with consumer groups for
//! streams), and the function libraries.
//!
//! Conversion to and from the interchange model ([`crate::model::Entry`]) lives
//! here too: [`Dataset::entries`] yields one entry at a time (so a writer can
//! stream), [`Dataset::insert_entry`] loads entries from an RDB preamble or base.
//! Collections are exported in a canonical order (sets and hash fields sorted by
//! bytes, sorted sets by score then member, keys sorted per database) so that the
//! same dataset always produces the same file.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::bytes::Bytes;
use super::packed::{FastMap, PackedMap, PackedSet};
use crate::model::{self, StreamId};
use crate::rdb::writer::{FieldRef, ValueRef};

/// A score with a total order (scores are never NaN in a sorted set).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // NaN never enters a sorted set; total_cmp would order -0.0 before 0.0,
        // which Redis treats as equal, so compare numerically.
        self.0
            .partial_cmp(&other.0)
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// A sorted set. Small ones (at most [`Zset::SMALL_ENTRIES`] members of at most
/// [`Zset::SMALL_VALUE`] bytes, the server's listpack limits) are one vector
/// in (score, member) order, as compact as the server's listpack and searched
/// the same way; larger ones are a member → score map plus the (score, member)
/// index Redis' skiplist keeps, so ranges by rank or score come out in Redis
/// order. A set converted to the large form stays large, as on the server.
#[derive(Clone, Debug)]
pub struct Zset(ZsetRepr);

#[derive(Clone, Debug)]
enum ZsetRepr {
    Small(Vec<(Score, Bytes)>),
    Large {
        scores: FastMap<Bytes, f64>,
        index: BTreeSet<(Score, Bytes)>,
    },
}

impl PartialEq for Zset {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
    }
}

impl Default for Zset {
    fn default() -> Self {
        Self(ZsetRepr::Small(Vec::new()))
    }
}

/// The iterator of [`Zset::iter`].
enum ZsetIter<'a> {
    Small(std::slice::Iter<'a, (Score, Bytes)>),
    Large(std::collections::btree_set::Iter<'a, (Score, Bytes)>),
}

impl<'a> Iterator for ZsetIter<'a> {
    type Item = (&'a [u8], f64);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Small(i) => i.next(),
            Self::Large(i) => i.next(),
        }
        .map(|(s, m)| (m.as_slice(), s.0))
    }
}

impl DoubleEndedIterator for ZsetIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Self::Small(i) => i.next_back(),
            Self::Large(i) => i.next_back(),
        }
        .map(|(s, m)| (m.as_slice(), s.0))
    }
}

impl Zset {
    /// Most members of a small sorted set (`zset-max-listpack-entries`).
    pub const SMALL_ENTRIES: usize = 128;
    /// Longest member of a small sorted set (`zset-max-listpack-value`).
    pub const SMALL_VALUE: usize = 64;

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.0 {
            ZsetRepr::Small(v) => v.len(),
            ZsetRepr::Large { scores, .. } => scores.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.0 {
            ZsetRepr::Small(v) => v
                .iter()
                .find(|(_, m)| m.as_slice() == member)
                .map(|(s, _)| s.0),
            ZsetRepr::Large { scores, .. } => scores.get(member).copied(),
        }
    }

    /// Converts a small set to the large form.
    fn grow(&mut self) {
        if let ZsetRepr::Small(v) = &mut self.0 {
            let v = std::mem::take(v);
            let scores = v.iter().map(|(s, m)| (m.clone(), s.0)).collect();
            let index = v.into_iter().collect();
            self.0 = ZsetRepr::Large { scores, index };
        }
    }

    /// Inserts or updates a member; returns true when it was new.
    pub fn insert(&mut self, member: impl Into<Bytes>, score: f64) -> bool {
        let member: Bytes = member.into();
        // -0.0 is stored as 0.0, as Redis' listpack/skiplist comparisons do not
        // distinguish them and RDB writes would otherwise differ.
        let score = score + 0.0;
        if let ZsetRepr::Small(v) = &mut self.0 {
            let at = v.iter().position(|(_, m)| *m == member);
            if let Some(i) = at {
                if v[i].0.0.to_bits() == score.to_bits() {
                    return false;
                }
                v.remove(i);
            } else if v.len() >= Self::SMALL_ENTRIES || member.len() > Self::SMALL_VALUE {
                self.grow();
                return self.insert(member, score);
            }
            let key = (Score(score), member);
            let pos = v.partition_point(|e| *e < key);
            v.insert(pos, key);
            return at.is_none();
        }
        let ZsetRepr::Large { scores, index } = &mut self.0 else {
            unreachable!("small sets returned above")
        };
        if let Some(old) = scores.get_mut(&member) {
            if old.to_bits() != score.to_bits() {
                index.remove(&(Score(*old), member.clone()));
                *old = score;
                index.insert((Score(score), member));
            }
            return false;
        }
        index.insert((Score(score), member.clone()));
        scores.insert(member, score);
        true
    }

    /// Removes a member; returns true when it existed.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.0 {
            ZsetRepr::Small(v) => match v.iter().position(|(_, m)| m.as_slice() == member) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
            ZsetRepr::Large { scores, index } => match scores.remove(member) {
                Some(s) => {
                    index.remove(&(Score(s), Bytes::from(member)));
                    true
                }
                None => false,
            },
        }
    }

    /// Members in (score, member) order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> {
        match &self.0 {
            ZsetRepr::Small(v) => ZsetIter::Small(v.iter()),
            ZsetRepr::Large { index, .. } => ZsetIter::Large(index.iter()),
        }
    }
}

/// A pending entry of a consumer group.
#[derive(Clone, Debug, PartialEq)]
pub struct Nack {
    /// Last delivery time (Unix ms).
    pub delivery_time_ms: i64,
    /// Delivery count.
    pub delivery_count: u64,
    /// Owning consumer.
    pub consumer: Vec<u8>,
}

/// A consumer of a group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConsumerState {
    /// Last seen time (Unix ms).
    pub seen_time_ms: i64,
    /// Last active time (Unix ms), -1 if never active.
    pub active_time_ms: i64,
    /// Ids of the entries pending for this consumer.
    pub pel: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    /// Last delivered id.
    pub last_id: StreamId,
    /// Entries read counter; -1 when unknown.
    pub entries_read: i64,
    /// Group PEL by id.
    pub pel: BTreeMap<StreamId, Nack>,
    /// Consumers by name (Redis keeps them in a radix tree, i.e. byte order).
    pub consumers: BTreeMap<Vec<u8>, ConsumerState>,
}

/// The field/value pairs of a stream entry, in order (packed).
pub type Fields = super::packed::PackedPairs;

/// A stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamValue {
    /// Live entries by id.
    pub entries: BTreeMap<StreamId, Fields>,
    /// Last generated id.
    pub last_id: StreamId,
    /// Largest deleted id.
    pub max_deleted_id: StreamId,
    /// All-time count of added entries.
    pub entries_added: u64,
    /// Groups by name (byte order, as Redis' radix tree).
    pub groups: BTreeMap<Vec<u8>, Group>,
    /// The IDMP state (Redis 8.6), once a command or the loaded file set it.
    pub idmp: Option<Box<Idmp>>,
}

/// The IDMP state of a stream in replay form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idmp {
    /// Seconds an iid is kept.
    pub duration: u64,
    /// Iids kept per producer.
    pub maxsize: u64,
    /// Producers by pid (byte order, as Redis' radix tree): (iid, entry id),
    /// oldest first.
    pub producers: BTreeMap<Vec<u8>, VecDeque<(Bytes, StreamId)>>,
    /// Iids ever added.
    pub iids_added: u64,
    /// Duplicates ever rejected.
    pub iids_duplicates: u64,
}

impl Default for Idmp {
    fn default() -> Self {
        Self {
            duration: model::StreamIdmp::DEFAULT_DURATION,
            maxsize: model::StreamIdmp::DEFAULT_MAXSIZE,
            producers: BTreeMap::new(),
            iids_added: 0,
            iids_duplicates: 0,
        }
    }
}

impl Idmp {
    fn to_model(&self) -> model::StreamIdmp {
        model::StreamIdmp {
            duration: self.duration,
            maxsize: self.maxsize,
            producers: self
                .producers
                .iter()
                .map(|(pid, iids)| model::IdmpProducer {
                    pid: pid.clone(),
                    iids: iids.iter().map(|(i, id)| (i.to_vec(), *id)).collect(),
                })
                .collect(),
            iids_added: self.iids_added,
            iids_duplicates: self.iids_duplicates,
        }
    }

    fn from_model(m: model::StreamIdmp) -> Self {
        Self {
            duration: m.duration,
            maxsize: m.maxsize,
            producers: m
                .producers
                .into_iter()
                .map(|p| {
                    let iids = p.iids.into_iter().map(|(i, id)| (i.into(), id)).collect();
                    (p.pid, iids)
                })
                .collect(),
            iids_added: m.iids_added,
            iids_duplicates: m.iids_duplicates,
        }
    }
}

impl StreamValue {
    /// The first live id, or 0-0 when empty (what Redis stores after the last
    /// entry is deleted or trimmed).
    pub fn first_id(&self) -> StreamId {
        self.entries.keys().next().copied().unwrap_or_default()
    }
}

/// A key's value in replay form.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// String (also `HyperLogLog` and bitmap).
    String(Vec<u8>),
    /// List, head first.
    List(VecDeque<Bytes>),
    /// Set (packed: see [`PackedSet`]).
    Set(Box<PackedSet>),
    /// Sorted set.
    Zset(Box<Zset>),
    /// Hash, with per-field TTLs (packed: see [`PackedMap`]).
    Hash(Box<PackedMap>),
    /// Stream.
    Stream(Box<StreamValue>),
    /// Module value, opaque.
    Module(Box<model::ModuleValue>),
    /// A vector set written to by `VADD`/`VREM`/`VSETATTR` (one loaded from an
    /// RDB stays a [`Value::Module`] until then).
    VectorSet(Box<VsetValue>),
}

/// A replayed vector set: its elements and the node id counter.
#[derive(Clone, Debug, PartialEq)]
pub struct VsetValue {
    /// The set (its graph is synthesized when written).
    pub set: crate::rdb::vectorset::VectorSet,
    /// The largest node id ever allocated (`hnsw->last_id`).
    pub last_id: u64,
}

impl VsetValue {
    /// From a decoded set (the loader's `last_id`: the largest id present).
    pub fn from_set(set: crate::rdb::vectorset::VectorSet) -> Self {
        let last_id = set.elements.iter().map(|e| e.id).max().unwrap_or(0);
        Self { set, last_id }
    }

    /// The module value Redis loads (FORMATS.md §8.5.10): the elements with a
    /// synthesized single-layer graph.
    pub fn to_module(&self) -> model::ModuleValue {
        use crate::rdb::vectorset;
        let mut set = self.set.clone();
        // The replay refuses sets beyond the limit (`check_limit`), so this
        // cannot fail; a failure would leave the (empty) graph as it is.
        let _ = vectorset::synthesize_graph(&mut set);
        model::ModuleValue {
            module_id: vectorset::MODULE_ID,
            type_name: "vectorset".into(),
            encver: 0,
            raw: vectorset::encode(&set),
        }
    }
}

impl Value {
    /// The Redis type.
    pub fn key_type(&self) -> model::KeyType {
        match self {
            Self::String(_) => model::KeyType::String,
            Self::List(_) => model::KeyType::List,
            Self::Set(_) => model::KeyType::Set,
            Self::Zset(_) => model::KeyType::Zset,
            Self::Hash(_) => model::KeyType::Hash,
            Self::Stream(_) => model::KeyType::Stream,
            Self::Module(m) if crate::rdb::vectorset::is_vectorset(m.module_id) => {
                model::KeyType::VectorSet
            }
            Self::Module(_) => model::KeyType::Module,
            Self::VectorSet(_) => model::KeyType::VectorSet,
        }
    }

    /// True for an aggregate that has no element left (Redis deletes such keys).
    pub fn is_empty_aggregate(&self) -> bool {
        match self {
            Self::List(l) => l.is_empty(),
            Self::Set(s) => s.is_empty(),
            Self::Zset(z) => z.is_empty(),
            Self::Hash(h) => h.is_empty(),
            Self::VectorSet(v) => v.set.elements.is_empty(),
            _ => false,
        }
    }
}

/// A key's value and expiry.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    /// The value.
    pub value: Value,
    /// Absolute expiry, Unix ms.
    pub expire_ms: Option<i64>,
}

/// One database.
pub type Db = FastMap<Bytes, Slot>;

/// The whole dataset: databases and function libraries.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Databases by index (always `databases` of them).
    pub dbs: Vec<Db>,
    /// Function libraries by name, with their source code.
    pub functions: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Module AUX records loaded from an RDB (kept raw and written back), with
    /// their `when` (1 before the keys, 2 after).
    pub module_aux: Vec<(model::ModuleValue, u64)>,
}

impl Dataset {
    /// An empty dataset with `databases` databases (Redis default: 16).
    pub fn new(databases: usize) -> Self {
        Self {
            dbs: (0..databases.max(1)).map(|_| Db::default()).collect(),
            functions: BTreeMap::new(),
            module_aux: Vec::new(),
        }
    }

    /// Number of keys in all databases.
    pub fn key_count(&self) -> usize {
        self.dbs.iter().map(FastMap::len).sum()
    }

    /// (keys, keys with an expiry) of database `db`.
    pub fn db_sizes(&self, db: usize) -> (u64, u64) {
        self.dbs.get(db).map_or((0, 0), |d| {
            (
                d.len() as u64,
                d.values().filter(|s| s.expire_ms.is_some()).count() as u64,
            )
        })
    }

    /// Deletes every key whose expiry is before `now_ms` and every hash field whose
    /// TTL is before it (Redis: a key is expired when `now > when`), as Redis does
    /// right after loading. Returns (keys removed, fields removed).
    pub fn remove_expired(&mut self, now_ms: i64) -> (u64, u64) {
        let mut keys = 0;
        let mut fields = 0;
        for db in &mut self.dbs {
            db.retain(|_, slot| {
                if slot.expire_ms.is_some_and(|e| now_ms > e) {
                    keys += 1;
                    return false;
                }
                if let Value::Hash(h) = &mut slot.value {
                    fields += h.retain(|f| f.expire_ms.is_none_or(|e| now_ms <= e)) as u64;
                    if h.is_empty() {
                        keys += 1;
                        return false;
                    }
                }
                true
            });
        }
        (keys, fields)
    }

    /// The function libraries in the model form, by library name.
    pub fn function_libraries(&self) -> Vec<model::FunctionLibrary> {
        self.functions
            .values()
            .map(|c| model::FunctionLibrary { code: c.clone() })
            .collect()
    }

    /// Adds a function library (as loaded from an RDB preamble). A library with the
    /// same name is replaced. Returns false when its shebang cannot be parsed.
    pub fn insert_function(&mut self, lib: &model::FunctionLibrary) -> bool {
        match lib.engine_and_name() {
            Some((_, name)) => {
                self.functions.insert(name.into_bytes(), lib.code.clone());
                true
            }
            None => false,
        }
    }

    /// Every key as a model entry, database by database, keys in byte order.
    /// Values are converted one at a time, so the extra memory is one value.
    pub fn entries(&self) -> impl Iterator<Item = model::Entry> + '_ {
        self.slots()
            .map(|(db, k, slot)| model::Entry::new(db, k, slot.expire_ms, to_model(&slot.value)))
    }

    /// Every key with its slot, database by database, keys in byte order.
    fn slots(&self) -> impl Iterator<Item = (u64, &[u8], &Slot)> + '_ {
        self.dbs.iter().enumerate().flat_map(|(i, db)| {
            let mut keys: Vec<(&Bytes, &Slot)> = db.iter().collect();
            keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
            keys.into_iter()
                .map(move |(k, slot)| (i as u64, k.as_slice(), slot))
        })
    }

    /// The lowest RDB version that can hold the dataset, and what needs it: 12
    /// for hash field TTLs, 10 for function libraries, else 9.
    pub fn min_rdb_version(&self) -> (u32, &'static str) {
        let field_ttls =
            self.dbs.iter().flat_map(|db| db.values()).any(
                |s| matches!(&s.value, Value::Hash(h) if h.iter().any(|v| v.expire_ms.is_some())),
            );
        let idmp = self
            .dbs
            .iter()
            .flat_map(|db| db.values())
            .any(|s| match &s.value {
                Value::Stream(st) => st.idmp.as_ref().is_some_and(|i| {
                    i.duration != model::StreamIdmp::DEFAULT_DURATION
                        || i.maxsize != model::StreamIdmp::DEFAULT_MAXSIZE
                        || !i.producers.is_empty()
                }),
                _ => false,
            });
        if idmp {
            (13, "stream IDMP state")
        } else if field_ttls {
            (12, "hash field TTLs")
        } else if !self.functions.is_empty() {
            (10, "function libraries")
        } else {
            (9, "")
        }
    }

    /// Writes the dataset as an RDB file (module AUX records and functions, then
    /// every database in index order with its sizes), one entry at a time.
    pub fn write_rdb<W: std::io::Write>(
        &self,
        out: W,
        opts: crate::rdb::writer::WriterOptions,
    ) -> Result<W, crate::rdb::writer::WriteError> {
        let mut w = crate::rdb::writer::Writer::new(out, opts)?;
        // Redis' order: module AUX "before", functions, keys, module AUX "after".
        for (m, when) in self.module_aux.iter().filter(|(_, w)| *w != 2) {
            w.write_module_aux(m, *when)?;
        }
        for f in self.function_libraries() {
            w.write_function(&f)?;
        }
        let mut current = None;
        for (db, key, slot) in self.slots() {
            if current != Some(db) {
                let (keys, expires) = self.db_sizes(usize::try_from(db).unwrap_or(usize::MAX));
                w.select_db(db, keys, expires)?;
                current = Some(db);
            }
            // Strings and aggregates are written from the dataset (a large
            // value is not copied again: a slice per element at most).
            let exp = slot.expire_ms;
            match (&slot.value, Elements::of(&slot.value)) {
                (Value::String(s), _) => w.write_string(db, key, exp, s.as_slice())?,
                (_, Some(e)) => w.write_borrowed(db, key, exp, &e.as_ref())?,
                (v, None) => w.write_entry(&model::Entry::new(db, key, exp, to_model(v)))?,
            }
        }
        for (m, when) in self.module_aux.iter().filter(|(_, w)| *w == 2) {
            w.write_module_aux(m, *when)?;
        }
        w.finish()
    }

    /// Loads an RDB (an AOF preamble or a `.base.rdb`) into the dataset: every
    /// key (replacing keys of the same name; empty aggregates are skipped, as
    /// Redis does), every function library and module AUX record, up to the
    /// RDB's EOF opcode. The
    /// entries' reader is left right after the RDB trailer, where a hybrid AOF
    /// continues with RESP commands. Returns the number of keys loaded.
    pub fn load_rdb<R: crate::io::Input>(
        &mut self,
        entries: &mut crate::rdb::Entries<R>,
    ) -> Result<u64, crate::rdb::Error> {
        self.load_rdb_with_aux(entries, |_, _| {})
    }

    /// [`Dataset::load_rdb`], handing each aux field (name, value) to `aux`.
    pub fn load_rdb_with_aux<R: crate::io::Input>(
        &mut self,
        entries: &mut crate::rdb::Entries<R>,
        mut aux: impl FnMut(&[u8], &[u8]),
    ) -> Result<u64, crate::rdb::Error> {
        let mut keys = 0;
        while let Some(item) = entries.next_item()? {
            match item {
                crate::rdb::Item::Entry(e) => {
                    let offset = entries.reader().offset();
                    self.insert_entry(*e)
                        .map_err(|m| crate::rdb::Error::corrupt(offset, m))?;
                    keys += 1;
                }
                crate::rdb::Item::Function(f) if !self.insert_function(&f) => {
                    let offset = entries.reader().offset();
                    return Err(crate::rdb::Error::corrupt(
                        offset,
                        "function library without a valid shebang line",
                    ));
                }
                crate::rdb::Item::ModuleAux { module, when } => {
                    self.module_aux.push((module, when));
                }
                crate::rdb::Item::Aux { name, value } => aux(&name, &value),
                crate::rdb::Item::Eof { .. } => break,
                _ => {}
            }
        }
        Ok(keys)
    }

    /// Inserts a model entry (from an RDB preamble or base file), replacing any
    /// key of the same name. Fails when the database index is out of range.
    pub fn insert_entry(&mut self, entry: model::Entry) -> Result<(), String> {
        let n = self.dbs.len();
        let db = self
            .dbs
            .get_mut(usize::try_from(entry.db).unwrap_or(usize::MAX))
            .ok_or_else(|| format!("database {} out of range (0..{n})", entry.db))?;
        let value = from_model(entry.value)?;
        if value.is_empty_aggregate() {
            // Redis skips empty keys when loading.
            return Ok(());
        }
        db.insert(
            Bytes::from(entry.key),
            Slot {
                value,
                expire_ms: entry.expire_ms,
            },
        );
        Ok(())
    }
}

/// An aggregate's elements borrowed in the canonical order of the model (and
/// of what the writer writes): lists head first, set members and hash fields
/// by their bytes, zset members by score then bytes.
enum Elements<'a> {
    List(Vec<&'a [u8]>),
    Set(Vec<&'a [u8]>),
    Zset(Vec<(&'a [u8], f64)>),
    Hash(Vec<FieldRef<'a>>),
}

impl<'a> Elements<'a> {
    /// The elements of a list, set, zset or hash; `None` for other types.
    fn of(v: &'a Value) -> Option<Self> {
        match v {
            Value::List(l) => Some(Self::list(l)),
            Value::Set(m) => Some(Self::set(m)),
            Value::Zset(z) => Some(Self::zset(z)),
            Value::Hash(h) => Some(Self::hash(h)),
            Value::String(_) | Value::Stream(_) | Value::Module(_) | Value::VectorSet(_) => None,
        }
    }

    fn list(l: &'a VecDeque<Bytes>) -> Self {
        Elements::List(l.iter().map(Bytes::as_slice).collect())
    }

    fn set(m: &'a PackedSet) -> Self {
        let mut m: Vec<&[u8]> = m.iter().collect();
        m.sort_unstable();
        Elements::Set(m)
    }

    fn zset(z: &'a Zset) -> Self {
        Elements::Zset(z.iter().collect())
    }

    fn hash(h: &'a PackedMap) -> Self {
        let mut f: Vec<FieldRef<'_>> = h
            .iter()
            .map(|v| FieldRef {
                field: v.field,
                value: v.value,
                expire_ms: v.expire_ms,
            })
            .collect();
        f.sort_unstable_by(|a, b| a.field.cmp(b.field));
        Elements::Hash(f)
    }

    fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Elements::List(l) => ValueRef::List(l),
            Elements::Set(m) => ValueRef::Set(m),
            Elements::Zset(z) => ValueRef::Zset(z),
            Elements::Hash(f) => ValueRef::Hash(f),
        }
    }

    /// The owned model value.
    fn to_model(&self) -> model::Value {
        let owned = |b: &[&[u8]]| b.iter().map(|e| e.to_vec()).collect();
        match self {
            Elements::List(l) => model::Value::List(owned(l)),
            Elements::Set(m) => model::Value::Set(owned(m)),
            Elements::Zset(z) => {
                model::Value::Zset(z.iter().map(|(m, s)| (m.to_vec(), *s)).collect())
            }
            Elements::Hash(f) => model::Value::Hash(
                f.iter()
                    .map(|f| model::HashField {
                        field: f.field.to_vec(),
                        value: f.value.to_vec(),
                        expire_ms: f.expire_ms,
                    })
                    .collect(),
            ),
        }
    }
}

/// Converts a replay value to the model form (canonical order).
pub fn to_model(v: &Value) -> model::Value {
    match v {
        Value::String(s) => model::Value::String(s.clone()),
        Value::List(l) => Elements::list(l).to_model(),
        Value::Set(m) => Elements::set(m).to_model(),
        Value::Zset(z) => Elements::zset(z).to_model(),
        Value::Hash(h) => Elements::hash(h).to_model(),
        Value::Stream(s) => model::Value::Stream(Box::new(stream_to_model(s))),
        Value::Module(m) => model::Value::Module((**m).clone()),
        Value::VectorSet(v) => model::Value::Module(v.to_module()),
    }
}

fn stream_to_model(s: &StreamValue) -> model::Stream {
    model::Stream {
        entries: s
            .entries
            .iter()
            .map(|(id, f)| model::StreamEntry {
                id: *id,
                fields: f.iter().map(|(a, b)| (a.to_vec(), b.to_vec())).collect(),
            })
            .collect(),
        length: s.entries.len() as u64,
        last_id: s.last_id,
        first_id: Some(s.first_id()),
        max_deleted_entry_id: Some(s.max_deleted_id),
        entries_added: Some(s.entries_added),
        groups: s
            .groups
            .iter()
            .map(|(name, g)| model::ConsumerGroup {
                name: name.clone(),
                last_delivered_id: g.last_id,
                entries_read: Some(g.entries_read),
                pel: g
                    .pel
                    .iter()
                    .map(|(id, n)| model::PendingEntry {
                        id: *id,
                        delivery_time_ms: n.delivery_time_ms,
                        delivery_count: n.delivery_count,
                    })
                    .collect(),
                consumers: g
                    .consumers
                    .iter()
                    .map(|(cname, c)| model::Consumer {
                        name: cname.clone(),
                        seen_time_ms: c.seen_time_ms,
                        active_time_ms: Some(c.active_time_ms),
                        pel: c.pel.iter().copied().collect(),
                    })
                    .collect(),
            })
            .collect(),
        idmp: s.idmp.as_ref().map(|i| i.to_model()),
    }
}

/// Converts a model value to the replay form. Fails only on a hash of more
/// than 4 GiB ([`PackedMap::insert`]).
pub fn from_model(v: model::Value) -> Result<Value, String> {
    Ok(match v {
        model::Value::String(s) => Value::String(s),
        model::Value::List(l) => Value::List(l.into_iter().map(Bytes::from).collect()),
        model::Value::Set(s) => Value::Set(Box::new(PackedSet::from_members(
            s.iter().map(Vec::as_slice),
        )?)),
        model::Value::Zset(z) => {
            let mut out = Zset::default();
            for (m, s) in z {
                out.insert(m, s);
            }
            Value::Zset(Box::new(out))
        }
        model::Value::Hash(h) => {
            let mut out = PackedMap::new();
            for f in h {
                out.insert(&f.field, &f.value, f.expire_ms)?;
            }
            out.shrink_to_fit();
            Value::Hash(Box::new(out))
        }
        model::Value::Stream(s) => Value::Stream(Box::new(stream_from_model(*s))),
        model::Value::Module(m) => Value::Module(Box::new(m)),
    })
}

fn stream_from_model(s: model::Stream) -> StreamValue {
    let length = s.entries.len() as u64;
    let mut out = StreamValue {
        last_id: s.last_id,
        max_deleted_id: s.max_deleted_entry_id.unwrap_or_default(),
        entries_added: s.entries_added.unwrap_or(length),
        idmp: s.idmp.map(|i| Box::new(Idmp::from_model(i))),
        ..StreamValue::default()
    };
    for e in s.entries {
        out.entries.insert(
            e.id,
            Fields::from_pairs(e.fields.iter().map(|(a, b)| (a.as_slice(), b.as_slice()))),
        );
    }
    for g in s.groups {
        let mut group = Group {
            last_id: g.last_delivered_id,
            entries_read: g.entries_read.unwrap_or(-1),
            ..Group::default()
        };
        let mut owners: HashMap<StreamId, Vec<u8>> = HashMap::new();
        for c in g.consumers {
            for id in &c.pel {
                owners.insert(*id, c.name.clone());
            }
            group.consumers.insert(
                c.name,
                ConsumerState {
                    seen_time_ms: c.seen_time_ms,
                    active_time_ms: c.active_time_ms.unwrap_or(c.seen_time_ms),
                    pel: c.pel.into_iter().collect(),
                },
            );
        }
        for p in g.pel {
            let consumer = owners.remove(&p.id).unwrap_or_default();
            group.pel.insert(
                p.id,
                Nack {
                    delivery_time_ms: p.delivery_time_ms,
                    delivery_count: p.delivery_count,
                    consumer,
                },
            );
        }
        out.groups.insert(g.name, group);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zset_order_and_update() {
        let mut z = Zset::default();
        assert!(z.insert(b"b".to_vec(), 2.0));
        assert!(z.insert(b"a".to_vec(), 2.0));
        assert!(z.insert(b"c".to_vec(), -1.0));
        assert!(!z.insert(b"c".to_vec(), 5.0));
        let order: Vec<&[u8]> = z.iter().map(|(m, _)| m).collect();
        assert_eq!(order, vec![&b"a"[..], b"b", b"c"]);
        assert!(z.remove(b"a"));
        assert_eq!(z.len(), 2);
        assert_eq!(z.iter().count(), 2);
        // Past the small limits the set converts and keeps its order.
        let mut big = Zset::default();
        for i in (0..300).rev() {
            assert!(big.insert(format!("m{i:03}").into_bytes(), f64::from(i % 10)));
        }
        assert!(!big.insert(b"m005".to_vec(), -1.0));
        assert!(big.insert(vec![b'x'; 65], 0.5));
        assert_eq!(big.len(), 301);
        let order: Vec<(Vec<u8>, f64)> = big.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        let mut sorted = order.clone();
        sorted.sort_by(|a, b| Score(a.1).cmp(&Score(b.1)).then(a.0.cmp(&b.0)));
        assert_eq!(order, sorted);
        assert_eq!(order[0], (b"m005".to_vec(), -1.0));
        assert!(big.remove(b"m005"));
        assert_eq!(big.score(b"m010"), Some(0.0));
    }

    #[test]
    fn model_round_trip() {
        let mut ds = Dataset::new(16);
        let e = model::Entry::new(
            3,
            b"k",
            Some(5),
            model::Value::Zset(vec![(b"a".to_vec(), 1.5), (b"b".to_vec(), 2.0)]),
        );
        ds.insert_entry(e.clone()).unwrap();
        let back: Vec<model::Entry> = ds.entries().collect();
        assert_eq!(back, vec![e]);
        assert!(
            ds.insert_entry(model::Entry {
                db: 99,
                ..back[0].clone()
            })
            .is_err()
        );
    }

    #[test]
    fn writing_from_the_dataset_gives_the_bytes_of_its_model_entries() {
        // write_rdb borrows strings and aggregates from the dataset; the
        // entries' path (owned model values, `Writer::write_entry`) is the
        // reference. Every encoding boundary the writer knows is crossed.
        let mut ds = Dataset::new(16);
        let members = |n: usize, f: &dyn Fn(usize) -> String| -> Vec<Vec<u8>> {
            (0..n).map(|i| f(i).into_bytes()).collect()
        };
        let mut add = |db: u64, key: &str, expire_ms: Option<i64>, value: model::Value| {
            ds.insert_entry(model::Entry::new(db, key, expire_ms, value))
                .unwrap();
        };
        add(0, "s", None, model::Value::String(b"12".to_vec()));
        add(
            0,
            "s:big",
            Some(7),
            model::Value::String(vec![b'z'; (1 << 20) + 1]),
        );
        for (n, vlen) in [(3, 5), (200, 5), (3, 70), (20_000, 1)] {
            let items = members(n, &|i| format!("{i}{}", "x".repeat(vlen)));
            add(
                0,
                &format!("l:{n}:{vlen}"),
                None,
                model::Value::List(items.clone()),
            );
            let mut sorted = items.clone();
            sorted.sort_unstable();
            add(
                1,
                &format!("set:{n}:{vlen}"),
                Some(9),
                model::Value::Set(sorted),
            );
            let z = items
                .iter()
                .enumerate()
                .map(|(i, m)| (m.clone(), (i % 7) as f64 / 4.0));
            add(
                2,
                &format!("z:{n}:{vlen}"),
                None,
                model::Value::Zset(z.collect()),
            );
            let mut h: Vec<model::HashField> = items
                .iter()
                .map(|m| model::HashField {
                    field: m.clone(),
                    value: m.repeat(2),
                    expire_ms: None,
                })
                .collect();
            h.sort_unstable_by(|a, b| a.field.cmp(&b.field));
            add(
                3,
                &format!("h:{n}:{vlen}"),
                None,
                model::Value::Hash(h.clone()),
            );
            h[0].expire_ms = Some(4_102_444_800_000);
            add(4, &format!("hx:{n}:{vlen}"), None, model::Value::Hash(h));
        }
        let ints = members(100, &|i| (i * 3).to_string());
        add(
            5,
            "set:ints",
            None,
            model::Value::Set({
                let mut v = ints;
                v.sort_unstable();
                v
            }),
        );
        // Field TTLs need RDB 12: with them, older versions fail alike.
        for (version, ttls) in [(12, true), (11, true), (11, false), (10, false), (9, false)] {
            if !ttls {
                ds.dbs[4].clear();
            }
            let opts = crate::rdb::writer::WriterOptions {
                ctime: Some(0),
                ..crate::rdb::writer::WriterOptions::for_version(version)
            };
            let borrowed = ds.write_rdb(Vec::new(), opts.clone());
            let owned = crate::rdb::writer::write_all(
                Vec::new(),
                opts,
                &ds.function_libraries(),
                ds.entries(),
                |db| ds.db_sizes(usize::try_from(db).unwrap()),
            );
            match (borrowed, owned) {
                (Ok(b), Ok(o)) => assert!(b == o, "RDB {version}: the bytes differ"),
                (Err(b), Err(o)) if ttls && version < 12 => {
                    assert_eq!(b.to_string(), o.to_string());
                }
                (b, o) => panic!(
                    "RDB {version}: {:?} vs {:?}",
                    b.map(|v| v.len()),
                    o.map(|v| v.len())
                ),
            }
        }
    }
}
