//! Rewriting RDB records for another server: the transform and sink stages of
//! the record pipeline (source → records → transform → sink).
//!
//! A caller reads its inputs (RDB files through [`super::Entries`], AOFs as a
//! replayed dataset) and pushes every [`Record`] into a [`Rewriter`]. Each key
//! goes through the [`Step`]s in order (filters, database map, duplicate
//! detection, then the target's rules, [`Adapt`]), and what survives goes to
//! the [`Sink`] (one RDB [`Writer`]; or a [`SplitSink`], one writer per master
//! of a cluster [`Layout`], each key to the node owning its hash slot). Every key that is changed, skipped, refused or dropped as a
//! duplicate is recorded in the [`Report`] with the reason; filtered keys are
//! only counted.
//!
//! Memory: one value at a time, plus what a [`Dedup`] step remembers (16 bytes
//! of hash per key, about 32 with the table's overhead; 24 / 40 for
//! [`Duplicates::Last`]) and the report's lists of changed keys. A
//! [`SplitSink`] adds each node's writer buffers (about 0.4 MB per node).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::check::{self, CheckOptions};
use super::target::Target;
use super::types;
use super::types::Format;
use super::writer::{Flat, WriteError, Writer, flat_type};
use super::{Entries, Event, Reader};
use crate::cluster::Layout;
use crate::io::Input;
use crate::model::{Entry, FunctionLibrary, KeyType, ModuleValue, Value};

/// One record of an input.
#[derive(Debug)]
pub enum Record {
    /// A function library.
    Function(FunctionLibrary),
    /// A module aux record (`when`: 1 before the keys, 2 after).
    ModuleAux {
        /// The module data.
        module: ModuleValue,
        /// When.
        when: u64,
    },
    /// A key.
    Entry(Box<Entry>),
    /// A key read flat (the fast path: [`FlatKey::read`]).
    Flat(Box<FlatKey>),
    /// A key whose aggregate value is empty (the server skips it on load).
    EmptyKey {
        /// Database.
        db: u64,
        /// Key.
        key: Vec<u8>,
        /// RDB type byte.
        rdb_type: u8,
    },
}

/// A key whose value was read flat ([`Flat`]): no owned value is built, and
/// what the target keeps byte for byte is copied as stored.
#[derive(Debug)]
pub struct FlatKey {
    /// The key's database, name and metadata; its value is an empty stand-in
    /// of the value's kind (what the filters and the target's rules look at:
    /// a value read flat has no hash field TTL, and is no stream or module
    /// value).
    pub entry: Entry,
    /// The value.
    pub value: Flat,
}

impl FlatKey {
    /// Reads the value of the key whose `KeyStart` `r` just returned (type
    /// `rdb_type`, one [`flat_type`] accepts; `head`: its database, name and
    /// metadata). An empty aggregate comes back as [`Record::EmptyKey`].
    pub fn read<R: Input>(
        r: &mut Reader<R>,
        mut head: Entry,
        rdb_type: u8,
    ) -> Result<Record, super::Error> {
        let (value, end) = Flat::read(r, rdb_type)?;
        if end.empty || value.is_empty() {
            return Ok(Record::EmptyKey {
                db: head.db,
                key: head.key,
                rdb_type,
            });
        }
        head.value = match value.kind {
            KeyType::List => Value::List(Vec::new()),
            KeyType::Set => Value::Set(Vec::new()),
            KeyType::Zset => Value::Zset(Vec::new()),
            KeyType::Hash => Value::Hash(Vec::new()),
            _ => Value::String(Vec::new()),
        };
        Ok(Record::Flat(Box::new(FlatKey { entry: head, value })))
    }
}

/// What [`next_read`] read from an RDB.
#[derive(Debug)]
pub enum Next {
    /// The header.
    Header {
        /// Magic.
        format: Format,
        /// Version.
        version: u32,
    },
    /// A record.
    Record(Record),
    /// The end of the file (its trailer read).
    Eof,
}

/// The next record of an RDB for a rewrite: keys of the types [`flat_type`]
/// accepts are read flat ([`Record::Flat`]), the others whole (as
/// [`Entries`] assembles them); aux fields and database opcodes are passed
/// over (the writer writes its own).
pub fn next_read<R: Input>(entries: &mut Entries<R>) -> Result<Option<Next>, super::Error> {
    loop {
        let Some(ev) = entries.reader().next_event()? else {
            return Ok(None);
        };
        let rec = match ev {
            Event::Header { format, version } => return Ok(Some(Next::Header { format, version })),
            Event::Eof { .. } => return Ok(Some(Next::Eof)),
            Event::Function { code } => Record::Function(FunctionLibrary {
                code: code.to_vec(),
            }),
            Event::ModuleAux { module, when } => Record::ModuleAux {
                module: super::entries::module_value(&module),
                when,
            },
            Event::KeyStart(k) => {
                let rdb_type = k.rdb_type;
                let head = Entry {
                    db: k.db,
                    key: k.key.to_vec(),
                    expire_ms: k.expire_ms,
                    lru_idle: k.lru_idle,
                    lfu_freq: k.lfu_freq,
                    value: Value::String(Vec::new()),
                };
                if flat_type(rdb_type) {
                    FlatKey::read(entries.reader(), head, rdb_type)?
                } else {
                    match entries.read_value(rdb_type)? {
                        Some(value) => Record::Entry(Box::new(Entry { value, ..head })),
                        None => Record::EmptyKey {
                            db: head.db,
                            key: head.key,
                            rdb_type,
                        },
                    }
                }
            }
            Event::Aux { .. }
            | Event::SelectDb { .. }
            | Event::ResizeDb { .. }
            | Event::SlotInfo { .. }
            | Event::SlotImport { .. }
            | Event::Element(_)
            | Event::KeyEnd(_) => continue,
        };
        return Ok(Some(Next::Record(rec)));
    }
}

/// What to do with what the target cannot hold (`--incompatible`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incompatible {
    /// List every such key (and function library) and write nothing.
    Fail,
    /// Leave the key out (reported).
    SkipKey,
    /// Drop the feature, keep the key (reported as changed); a value that is
    /// the feature itself (a vector set for a server without them) is left
    /// out as with `SkipKey`.
    DropFeature,
}

/// Which record of a key present in several inputs is kept (`--duplicates`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duplicates {
    /// List every duplicate and write nothing.
    Fail,
    /// The first record, in input order.
    First,
    /// The last record, in input order (needs [`LastIndex`], a first pass).
    Last,
}

/// Why a key was not written.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dropped {
    /// Left out by a filter (counted, not listed).
    Filtered,
    /// A duplicate of a key already written, or written later.
    Duplicate,
    /// Skipped: the reason.
    Skipped(String),
    /// Refused under `--incompatible fail` / `--duplicates fail`.
    Refused(String),
}

/// A step's verdict on a key.
#[derive(Debug)]
pub enum Verdict {
    /// Go on (the step may have changed the entry and said how in `changes`).
    Keep,
    /// Do not write it.
    Drop(Dropped),
}

/// A per-record transform.
pub trait Step {
    /// Looks at (and may change) one key; `changes` collects what was changed.
    fn apply(&mut self, input: usize, e: &mut Entry, changes: &mut Vec<String>) -> Verdict;
}

/// Where kept records go.
pub trait Sink {
    /// A function library.
    fn function(&mut self, lib: &FunctionLibrary) -> Result<(), WriteError>;
    /// A module aux record.
    fn module_aux(&mut self, m: &ModuleValue, when: u64) -> Result<(), WriteError>;
    /// A key.
    fn entry(&mut self, e: &Entry) -> Result<(), WriteError>;
    /// A key read flat (`e`: its database, name and metadata).
    fn flat(&mut self, e: &Entry, v: &Flat) -> Result<(), WriteError>;
}

impl<W: Write> Sink for Writer<W> {
    fn function(&mut self, lib: &FunctionLibrary) -> Result<(), WriteError> {
        self.write_function(lib)
    }
    fn module_aux(&mut self, m: &ModuleValue, when: u64) -> Result<(), WriteError> {
        self.write_module_aux(m, when)
    }
    fn entry(&mut self, e: &Entry) -> Result<(), WriteError> {
        self.write_entry(e)
    }
    fn flat(&mut self, e: &Entry, v: &Flat) -> Result<(), WriteError> {
        self.write_flat(e, v)
    }
}

/// A split by cluster hash slot: one [`Writer`] per master of a [`Layout`]
/// (in its order), each key written by the writer of the node owning its slot
/// ([`Layout::node_of_key`]: CRC16 of the key or its hash tag), so that every
/// output holds exactly its node's keys. A cluster node holds only database 0
/// (it refuses, or crashes on, a file with others): put a [`ClusterDb`] step in
/// the pipeline; a key of another database that reaches the sink anyway is
/// refused as [`WriteError::Invalid`] (reported as skipped). Function
/// libraries and module aux records go to every node (each master of a
/// cluster holds its own copy of the libraries).
pub struct SplitSink<W: Write> {
    layout: Layout,
    writers: Vec<Writer<W>>,
    keys: Vec<u64>,
}

impl<W: Write> SplitSink<W> {
    /// A split of `layout` into `writers`, one per node in the layout's order.
    ///
    /// # Panics
    /// When the counts differ.
    pub fn new(layout: Layout, writers: Vec<Writer<W>>) -> Self {
        assert_eq!(
            layout.nodes().len(),
            writers.len(),
            "one writer per node of the layout"
        );
        let keys = vec![0; writers.len()];
        Self {
            layout,
            writers,
            keys,
        }
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The keys written to each node, in the layout's order.
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    /// The writers (to finish them), in the layout's order.
    pub fn into_writers(self) -> Vec<Writer<W>> {
        self.writers
    }
}

impl<W: Write> Sink for SplitSink<W> {
    fn function(&mut self, lib: &FunctionLibrary) -> Result<(), WriteError> {
        self.writers
            .iter_mut()
            .try_for_each(|w| w.write_function(lib))
    }
    fn module_aux(&mut self, m: &ModuleValue, when: u64) -> Result<(), WriteError> {
        self.writers
            .iter_mut()
            .try_for_each(|w| w.write_module_aux(m, when))
    }
    fn entry(&mut self, e: &Entry) -> Result<(), WriteError> {
        self.route(e, |w| w.write_entry(e))
    }
    fn flat(&mut self, e: &Entry, v: &Flat) -> Result<(), WriteError> {
        self.route(e, |w| w.write_flat(e, v))
    }
}

impl<W: Write> SplitSink<W> {
    /// Writes `e` with the writer of the node owning its slot.
    fn route(
        &mut self,
        e: &Entry,
        write: impl FnOnce(&mut Writer<W>) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        if e.db != 0 {
            return Err(WriteError::Invalid {
                key: String::from_utf8_lossy(&e.key).into_owned(),
                reason: format!("database {}: a cluster node holds only database 0", e.db),
            });
        }
        let i = self.layout.node_of_key(&e.key);
        write(&mut self.writers[i])?;
        self.keys[i] += 1;
        Ok(())
    }
}

/// An output checked as it is written: every byte written to the inner
/// writer is also handed to the checker ([`check::check`]) running on its
/// own thread, which reads the file's bytes as they are produced instead of
/// reading the file again once written (the same check, overlapped with the
/// writing: on 2 CPUs the re-read added a sixth to a rewrite's time).
/// [`Checked::finish`] ends the stream and returns the checker's report: the
/// caller renames the output into place only after looking at it.
///
/// Memory: at most [`CHECK_AHEAD`] pieces of at most [`CHECK_PIECE`] bytes
/// between the writer and the checker (the writer waits for a slower
/// checker), plus what the checker keeps (its duplicate-key detection).
pub struct Checked<W: Write> {
    inner: W,
    tx: Option<SyncSender<Vec<u8>>>,
    checker: Option<std::thread::JoinHandle<check::Report>>,
}

/// Pieces in flight between a [`Checked`] output and its checker.
pub const CHECK_AHEAD: usize = 4;
/// The largest piece handed to the checker at once (a large value's bytes are
/// cut into such pieces, never copied whole).
pub const CHECK_PIECE: usize = 1 << 20;

impl<W: Write> Checked<W> {
    /// Writes to `inner`, checking what is written with `opts`.
    pub fn new(inner: W, opts: CheckOptions) -> io::Result<Self> {
        let (tx, rx) = sync_channel::<Vec<u8>>(CHECK_AHEAD);
        let checker = std::thread::Builder::new()
            .name("check".into())
            .spawn(move || {
                let bytes = Received {
                    rx,
                    piece: Vec::new(),
                    at: 0,
                };
                let src = crate::io::Source::new(Box::new(bytes) as Box<dyn Read>);
                check::check(super::Reader::new(src), opts).0
            })?;
        Ok(Self {
            inner,
            tx: Some(tx),
            checker: Some(checker),
        })
    }

    /// Ends the stream (call after the last byte was written and flushed) and
    /// waits for the checker: its report, or `None` when it failed to run.
    pub fn finish(mut self) -> Option<check::Report> {
        self.tx = None;
        self.checker.take()?.join().ok()
    }
}

impl<W: Write> Write for Checked<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(b)?;
        if let Some(tx) = &self.tx {
            for piece in b[..n].chunks(CHECK_PIECE) {
                // A checker that stopped (it found a problem: its report says
                // which) reads no more.
                if tx.send(piece.to_vec()).is_err() {
                    self.tx = None;
                    break;
                }
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> std::fmt::Debug for Checked<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked").finish_non_exhaustive()
    }
}

/// The checker's side of a [`Checked`] output: the bytes received, in order;
/// the end of the stream when the writer is done.
struct Received {
    rx: Receiver<Vec<u8>>,
    piece: Vec<u8>,
    at: usize,
}

impl Read for Received {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.piece.len() {
            match self.rx.recv() {
                Ok(p) => {
                    self.piece = p;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.piece.len() - self.at);
        out[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A key named in the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyNote {
    /// Index of the input.
    pub input: usize,
    /// Database (in the output, after `--db-map`).
    pub db: u64,
    /// The key.
    #[serde(skip)]
    pub key: Vec<u8>,
    /// What happened.
    pub what: String,
}

/// Per-database counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DbCount {
    /// Keys.
    pub keys: u64,
    /// Keys with an expire time.
    pub expires: u64,
}

/// What a rewrite did.
#[derive(Debug, Default)]
pub struct Report {
    /// Keys read (empty keys included).
    pub keys_in: u64,
    /// Keys written.
    pub keys_out: u64,
    /// Keys left out by a filter.
    pub filtered: u64,
    /// Keys written with a change (each with what changed).
    pub changed: Vec<KeyNote>,
    /// Keys left out (empty values, `--incompatible skip-key`, a value the
    /// writer refused), with the reason.
    pub skipped: Vec<KeyNote>,
    /// Duplicate records not written.
    pub duplicates: Vec<KeyNote>,
    /// Keys and libraries refused under a `fail` policy (nothing is written).
    pub refused: Vec<KeyNote>,
    /// Function libraries read / written.
    pub functions_in: u64,
    /// Function libraries written.
    pub functions_out: u64,
    /// Function libraries not written (name: reason).
    pub functions_dropped: Vec<String>,
    /// Module aux records not written (module: reason).
    pub module_aux_dropped: Vec<String>,
    /// Module values (other than vector sets) passed through unchanged, by module.
    pub modules_passed: BTreeMap<String, u64>,
    /// Keys written per output database.
    pub dbs_out: BTreeMap<u64, DbCount>,
    /// Keys read per input database, by input.
    pub dbs_in: Vec<BTreeMap<u64, u64>>,
}

impl Report {
    /// Nothing changed, skipped, refused or dropped.
    pub fn is_lossless(&self) -> bool {
        self.changed.is_empty()
            && self.skipped.is_empty()
            && self.duplicates.is_empty()
            && self.refused.is_empty()
            && self.functions_dropped.is_empty()
            && self.module_aux_dropped.is_empty()
    }

    /// Every key read is accounted for: written, filtered, skipped, refused
    /// or a duplicate.
    pub fn balanced(&self) -> bool {
        self.keys_in
            == self.keys_out
                + self.filtered
                + self.skipped.len() as u64
                + self.duplicates.len() as u64
                + self.refused.len() as u64
    }
}

/// Why a rewrite stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// The output failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// The pipeline: steps, then the sink.
pub struct Rewriter<'s> {
    steps: Vec<Box<dyn Step + 's>>,
    sink: &'s mut dyn Sink,
    target: Target,
    incompatible: Incompatible,
    duplicates: Duplicates,
    input: usize,
    functions: HashMap<Vec<u8>, u128>,
    last_functions: HashMap<Vec<u8>, usize>,
    report: Report,
}

impl<'s> Rewriter<'s> {
    /// A pipeline writing to `sink` for `target`; `steps` run in order before
    /// the target's own rules ([`Adapt`], added last).
    pub fn new(
        target: Target,
        incompatible: Incompatible,
        duplicates: Duplicates,
        mut steps: Vec<Box<dyn Step + 's>>,
        sink: &'s mut dyn Sink,
        now_ms: i64,
    ) -> Self {
        steps.push(Box::new(Adapt {
            target,
            policy: incompatible,
            now_ms,
        }));
        Self {
            steps,
            sink,
            target,
            incompatible,
            duplicates,
            input: 0,
            functions: HashMap::new(),
            last_functions: HashMap::new(),
            report: Report::default(),
        }
    }

    /// With [`Duplicates::Last`]: the last input holding each library name.
    pub fn set_last_functions(&mut self, last: HashMap<Vec<u8>, usize>) {
        self.last_functions = last;
    }

    /// The records that follow come from input `i`.
    pub fn begin_input(&mut self, i: usize) {
        self.input = i;
        while self.report.dbs_in.len() <= i {
            self.report.dbs_in.push(BTreeMap::new());
        }
    }

    /// Pushes one record through the pipeline.
    pub fn push(&mut self, rec: Record) -> Result<(), RewriteError> {
        match rec {
            Record::Function(lib) => self.function(&lib),
            Record::ModuleAux { module, when } => {
                let name = types::module_name(module.module_id).0;
                if name == "vectorset" && !self.target.vector_sets {
                    self.report
                        .module_aux_dropped
                        .push(format!("{name}: {} has no vector sets", self.target.name));
                    return Ok(());
                }
                self.sink.module_aux(&module, when)?;
                Ok(())
            }
            Record::EmptyKey { db, key, rdb_type } => {
                self.count_in(db);
                self.report.skipped.push(KeyNote {
                    input: self.input,
                    db,
                    key,
                    what: format!(
                        "empty {} (the server skips it when loading)",
                        types::type_name(rdb_type)
                    ),
                });
                Ok(())
            }
            Record::Entry(mut e) => {
                self.count_in(e.db);
                self.entry(&mut e, None)
            }
            Record::Flat(mut f) => {
                self.count_in(f.entry.db);
                let FlatKey { entry, value } = &mut *f;
                self.entry(entry, Some(value))
            }
        }
    }

    fn count_in(&mut self, db: u64) {
        self.report.keys_in += 1;
        if let Some(m) = self.report.dbs_in.get_mut(self.input) {
            *m.entry(db).or_default() += 1;
        }
    }

    fn entry(&mut self, e: &mut Entry, flat: Option<&Flat>) -> Result<(), RewriteError> {
        let mut changes = Vec::new();
        for step in &mut self.steps {
            if let Verdict::Drop(d) = step.apply(self.input, e, &mut changes) {
                let mut note = |what: String| KeyNote {
                    input: self.input,
                    db: e.db,
                    key: std::mem::take(&mut e.key),
                    what,
                };
                match d {
                    Dropped::Filtered => self.report.filtered += 1,
                    Dropped::Duplicate => {
                        let n = note("duplicate".into());
                        self.report.duplicates.push(n);
                    }
                    Dropped::Skipped(why) => self.report.skipped.push(note(why)),
                    Dropped::Refused(why) => self.report.refused.push(note(why)),
                }
                return Ok(());
            }
        }
        if !self.report.refused.is_empty() {
            // Nothing will be kept: only the list of refusals matters.
            self.report.keys_out += 1;
            return Ok(());
        }
        let written = match flat {
            Some(v) => self.sink.flat(e, v),
            None => self.sink.entry(e),
        };
        match written {
            Ok(()) => {}
            Err(WriteError::Io(err)) => return Err(WriteError::Io(err).into()),
            Err(WriteError::Finished) => return Err(WriteError::Finished.into()),
            Err(err) => {
                self.report.skipped.push(KeyNote {
                    input: self.input,
                    db: e.db,
                    key: e.key.clone(),
                    what: err.to_string(),
                });
                return Ok(());
            }
        }
        if let Value::Module(m) = &e.value {
            let name = types::module_name(m.module_id).0;
            if name != "vectorset" {
                *self.report.modules_passed.entry(name).or_default() += 1;
            }
        }
        self.report.keys_out += 1;
        let c = self.report.dbs_out.entry(e.db).or_default();
        c.keys += 1;
        c.expires += u64::from(e.expire_ms.is_some());
        if !changes.is_empty() {
            self.report.changed.push(KeyNote {
                input: self.input,
                db: e.db,
                key: e.key.clone(),
                what: changes.join("; "),
            });
        }
        Ok(())
    }

    fn function(&mut self, lib: &FunctionLibrary) -> Result<(), RewriteError> {
        self.report.functions_in += 1;
        let name = lib
            .engine_and_name()
            .map_or_else(|| lib.code.clone(), |(_, n)| n.into_bytes());
        let shown = String::from_utf8_lossy(&name).into_owned();
        if !self.target.functions() {
            let why = format!(
                "function library {shown:?}: {} has no functions",
                self.target.name
            );
            if self.incompatible == Incompatible::Fail {
                self.report.refused.push(KeyNote {
                    input: self.input,
                    db: 0,
                    key: name,
                    what: why,
                });
            } else {
                self.report.functions_dropped.push(why);
            }
            return Ok(());
        }
        let hash = xxhash_rust::xxh3::xxh3_128(&lib.code);
        if self.duplicates == Duplicates::Last
            && self
                .last_functions
                .get(&name)
                .is_some_and(|&i| i != self.input)
        {
            self.report.functions_dropped.push(format!(
                "function library {shown:?}: a later input has it (--duplicates last)"
            ));
            return Ok(());
        }
        match self.functions.get(&name) {
            Some(h) if *h == hash => return Ok(()), // the same library again
            Some(_) if self.duplicates == Duplicates::Fail => {
                self.report.refused.push(KeyNote {
                    input: self.input,
                    db: 0,
                    key: name,
                    what: format!("function library {shown:?} differs from an earlier input's"),
                });
                return Ok(());
            }
            Some(_) => {
                self.report.functions_dropped.push(format!(
                    "function library {shown:?}: an earlier input has another version of it"
                ));
                return Ok(());
            }
            None => {}
        }
        self.functions.insert(name, hash);
        self.sink.function(lib)?;
        self.report.functions_out += 1;
        Ok(())
    }

    /// The report.
    pub fn finish(self) -> Report {
        self.report
    }
}

// ---------------------------------------------------------------------------
// Steps

/// Maps databases (`--db-map FROM=TO`); unmapped databases stay.
#[derive(Debug, Default)]
pub struct DbMap(pub BTreeMap<u64, u64>);

impl Step for DbMap {
    fn apply(&mut self, _: usize, e: &mut Entry, _: &mut Vec<String>) -> Verdict {
        if let Some(&to) = self.0.get(&e.db) {
            e.db = to;
        }
        Verdict::Keep
    }
}

/// For a split by slot: a cluster node holds only database 0, so a key of
/// another database (after `--db-map`) is refused under
/// [`Incompatible::Fail`] and skipped otherwise (there is no feature to
/// drop: moving it to database 0 could collide with a key there).
#[derive(Debug)]
pub struct ClusterDb(pub Incompatible);

impl Step for ClusterDb {
    fn apply(&mut self, _: usize, e: &mut Entry, _: &mut Vec<String>) -> Verdict {
        if e.db == 0 {
            return Verdict::Keep;
        }
        let why = format!(
            "database {}: a cluster node holds only database 0 (--db 0, or --db-map {}=0)",
            e.db, e.db
        );
        Verdict::Drop(match self.0 {
            Incompatible::Fail => Dropped::Refused(why),
            Incompatible::SkipKey | Incompatible::DropFeature => Dropped::Skipped(why),
        })
    }
}

/// A filter given as a predicate over the key (database, name, type, expiry).
pub struct Filter<F>(pub F);

impl<F: FnMut(&Entry) -> bool> Step for Filter<F> {
    fn apply(&mut self, _: usize, e: &mut Entry, _: &mut Vec<String>) -> Verdict {
        if (self.0)(e) {
            Verdict::Keep
        } else {
            Verdict::Drop(Dropped::Filtered)
        }
    }
}

/// The identity of a key in the output: a 128-bit hash of its database and
/// name (two keys collide with probability about n²/2¹²⁹).
pub fn key_hash(db: u64, key: &[u8]) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&db.to_le_bytes());
    h.update(key);
    h.digest128()
}

/// Runs `steps` on a key as the [`Rewriter`] would; true when it is kept
/// (the first pass of [`Duplicates::Last`] notes the kept keys in a
/// [`LastIndex`]).
pub fn kept_by(steps: &mut [Box<dyn Step + '_>], input: usize, e: &mut Entry) -> bool {
    let mut changes = Vec::new();
    steps
        .iter_mut()
        .all(|s| matches!(s.apply(input, e, &mut changes), Verdict::Keep))
}

/// Where each key was seen last (input, record number): the first pass of
/// [`Duplicates::Last`].
#[derive(Debug, Default)]
pub struct LastIndex {
    last: HashMap<u128, (u32, u64)>,
    seq: u64,
}

impl LastIndex {
    /// Notes a key of input `input` (after the filters and the database map).
    pub fn note(&mut self, input: usize, db: u64, key: &[u8]) {
        self.seq += 1;
        self.last
            .insert(key_hash(db, key), (input as u32, self.seq));
    }
}

/// Duplicate detection across inputs (and within one).
pub struct Dedup {
    policy: Duplicates,
    seen: HashSet<u128>,
    last: LastIndex,
    seq: u64,
}

impl Dedup {
    /// For `first` / `fail`.
    pub fn new(policy: Duplicates) -> Self {
        Self {
            policy,
            seen: HashSet::new(),
            last: LastIndex::default(),
            seq: 0,
        }
    }

    /// For `last`, with the index of a first pass over the same inputs, which
    /// must see the same keys in the same order.
    pub fn last(index: LastIndex) -> Self {
        Self {
            policy: Duplicates::Last,
            seen: HashSet::new(),
            last: index,
            seq: 0,
        }
    }
}

impl Step for Dedup {
    fn apply(&mut self, input: usize, e: &mut Entry, _: &mut Vec<String>) -> Verdict {
        let h = key_hash(e.db, &e.key);
        match self.policy {
            Duplicates::Last => {
                self.seq += 1;
                match self.last.last.get(&h) {
                    Some(&(i, s)) if (i as usize, s) != (input, self.seq) => {
                        Verdict::Drop(Dropped::Duplicate)
                    }
                    _ => Verdict::Keep,
                }
            }
            Duplicates::First => {
                if self.seen.insert(h) {
                    Verdict::Keep
                } else {
                    Verdict::Drop(Dropped::Duplicate)
                }
            }
            Duplicates::Fail => {
                if self.seen.insert(h) {
                    Verdict::Keep
                } else {
                    Verdict::Drop(Dropped::Refused("duplicate key".into()))
                }
            }
        }
    }
}

/// The target's rules: what it cannot hold, under the `--incompatible` policy.
#[derive(Debug)]
pub struct Adapt {
    /// The target.
    pub target: Target,
    /// The policy.
    pub policy: Incompatible,
    /// "Now" for expired hash fields, Unix ms.
    pub now_ms: i64,
}

impl Adapt {
    /// What the target cannot hold in `e`, each with whether dropping it
    /// leaves the key (`true`) or the value is the feature itself (`false`).
    pub fn lacks(&self, e: &Entry) -> Vec<(String, bool)> {
        let t = &self.target;
        let mut out = Vec::new();
        match &e.value {
            Value::Hash(h) if !t.field_ttls => {
                let n = h.iter().filter(|f| f.expire_ms.is_some()).count();
                if n > 0 {
                    out.push((format!("{n} hash field TTL(s)"), true));
                }
            }
            Value::Module(m)
                if !t.vector_sets && types::module_name(m.module_id).0 == "vectorset" =>
            {
                out.push(("a vector set".to_owned(), false));
            }
            Value::Stream(s) => {
                let l = StreamLacks::of(t, s);
                if l.idmp {
                    out.push(("the stream's IDMP state".to_owned(), true));
                }
                if l.counters {
                    out.push((
                        "the stream's first id, max deleted id, entries added or its groups' \
                         entries-read"
                            .to_owned(),
                        true,
                    ));
                }
                if l.active_times {
                    out.push(("its consumers' active times".to_owned(), true));
                }
            }
            _ => {}
        }
        out
    }

    /// Drops what [`Adapt::lacks`] found; returns what changed, or `None`
    /// when nothing is left of the key (every hash field had expired).
    fn drop_features(&self, e: &mut Entry) -> Option<Vec<String>> {
        let t = &self.target;
        let mut changes = Vec::new();
        match &mut e.value {
            Value::Hash(h) if !t.field_ttls => {
                let before = h.len();
                let with_ttl = h.iter().filter(|f| f.expire_ms.is_some()).count();
                h.retain(|f| f.expire_ms.is_none_or(|x| x >= self.now_ms));
                let expired = before - h.len();
                for f in h.iter_mut() {
                    f.expire_ms = None;
                }
                let mut c = format!(
                    "{} field TTL(s) dropped ({} has none)",
                    with_ttl - expired,
                    t.name
                );
                if expired > 0 {
                    use std::fmt::Write as _;
                    let _ = write!(c, ", {expired} already expired field(s) left out");
                }
                changes.push(c);
                if h.is_empty() {
                    return None;
                }
            }
            Value::Stream(s) => {
                let l = StreamLacks::of(t, s);
                if l.idmp {
                    s.idmp = None;
                    changes.push("IDMP state dropped".to_owned());
                }
                if l.counters {
                    changes.push(format!(
                        "first id, max deleted id, entries added and entries-read dropped \
                         (RDB {} has none: the loader derives them)",
                        t.rdb_version
                    ));
                }
                if l.active_times {
                    changes.push(format!(
                        "consumer active times dropped (RDB {} has none: the loader takes the \
                         seen time)",
                        t.rdb_version
                    ));
                }
            }
            _ => {}
        }
        Some(changes)
    }
}

/// What of a stream a target cannot keep.
struct StreamLacks {
    idmp: bool,
    counters: bool,
    active_times: bool,
}

impl StreamLacks {
    fn of(t: &Target, s: &crate::model::Stream) -> Self {
        let idmp = !t.stream_idmp() && s.idmp.as_ref().is_some_and(|i| !i.is_default());
        // What a loader of RDB < 10 derives (Redis 7.0 `rdbLoadObject`): max
        // deleted id 0-0, entries added = length, first id = the first
        // entry's; entries-read unknown (-1).
        let counters = !t.stream_counters() && {
            let first = s.entries.first().map(|x| x.id).unwrap_or_default();
            let derived = s.max_deleted_entry_id.unwrap_or_default()
                == crate::model::StreamId::default()
                && s.entries_added.unwrap_or(s.length) == s.length
                && s.first_id.unwrap_or(first) == first;
            !derived
                || s.groups
                    .iter()
                    .any(|g| g.entries_read.is_some_and(|r| r != -1))
        };
        // A loader of RDB < 11 takes the seen time as the active time.
        let active_times = !t.consumer_active_time()
            && s.groups.iter().any(|g| {
                g.consumers
                    .iter()
                    .any(|c| c.active_time_ms.is_some_and(|a| a != c.seen_time_ms))
            });
        Self {
            idmp,
            counters,
            active_times,
        }
    }
}

impl Step for Adapt {
    fn apply(&mut self, _: usize, e: &mut Entry, changes: &mut Vec<String>) -> Verdict {
        let lacks = self.lacks(e);
        if lacks.is_empty() {
            return Verdict::Keep;
        }
        let what = format!(
            "{} cannot hold {}",
            self.target.name,
            lacks
                .iter()
                .map(|(w, _)| w.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        match self.policy {
            Incompatible::Fail => Verdict::Drop(Dropped::Refused(what)),
            Incompatible::SkipKey => Verdict::Drop(Dropped::Skipped(what)),
            Incompatible::DropFeature if lacks.iter().any(|(_, droppable)| !droppable) => {
                Verdict::Drop(Dropped::Skipped(what))
            }
            Incompatible::DropFeature => match self.drop_features(e) {
                Some(c) => {
                    changes.extend(c);
                    Verdict::Keep
                }
                None => Verdict::Drop(Dropped::Skipped(format!(
                    "{what}, and every field had expired"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::key_slot;
    use crate::rdb::{Entries, Item, Reader};

    fn keys_of(file: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let src = crate::io::Source::new(file).with_size(file.len() as u64);
        let mut items = Entries::new(Reader::new(src));
        let mut out = Vec::new();
        while let Some(item) = items.next_item().unwrap() {
            if let Item::Entry(e) = item {
                out.push((e.db, e.key));
            }
        }
        out
    }

    /// A [`Checked`] output hands the checker every byte written (a value
    /// larger than a piece included), and its report is the checker's on
    /// those bytes: clean for a file the writer finished, a problem for one
    /// whose end is missing.
    #[test]
    fn checked_output_checks_what_is_written() {
        let target = super::super::target::by_name("redis-6.2").unwrap();
        let opts = CheckOptions {
            count_trailing: true,
            ..CheckOptions::default()
        };
        let big = vec![b'x'; CHECK_PIECE * 2 + 5];
        let mut w = Writer::new(
            Checked::new(Vec::new(), opts).unwrap(),
            target.writer_options(),
        )
        .unwrap();
        for i in 0..1000u32 {
            let e = Entry::new(
                u64::from(i % 3),
                format!("k{i}").into_bytes(),
                None,
                Value::List(vec![b"a".to_vec(), i.to_string().into_bytes()]),
            );
            w.write_entry(&e).unwrap();
        }
        let e = Entry::new(0, b"big".to_vec(), None, Value::String(big));
        w.write_entry(&e).unwrap();
        let rep = w.finish().unwrap().finish().unwrap();
        assert!(rep.is_ok(), "{:?}", rep.problems);
        assert_eq!(rep.rdb_version, Some(9));
        assert_eq!(rep.dbs.values().map(|c| c.keys).sum::<u64>(), 1001);
        assert_eq!(rep.dbs[&0].keys, 335);
        assert_eq!(rep.trailing_bytes, Some(0));

        // A file cut short, or with a byte changed: the checker says so.
        let mut w = Writer::new(Vec::new(), target.writer_options()).unwrap();
        for i in 0..100u32 {
            let e = Entry::new(
                0,
                format!("k{i}").into_bytes(),
                None,
                Value::String(vec![b'v'; 30]),
            );
            w.write_entry(&e).unwrap();
        }
        let file = w.finish().unwrap();
        let check_bytes = |b: &[u8]| {
            let mut c = Checked::new(Vec::new(), opts).unwrap();
            c.write_all(b).unwrap();
            c.finish().unwrap()
        };
        assert!(check_bytes(&file).is_ok());
        assert!(!check_bytes(&file[..file.len() - 20]).is_ok());
        let mut changed = file.clone();
        let n = changed.len();
        changed[n - 30] ^= 0x55;
        assert!(!check_bytes(&changed).is_ok());
    }

    /// Every key lands in the output of the node owning its slot (hash tags
    /// included), keys of other databases follow the policy, and libraries go
    /// to every node.
    #[test]
    fn split_routes_by_slot() {
        let target = super::super::target::by_name("redis-7.0").unwrap();
        let layout = Layout::equal(3).unwrap();
        let mut keys: Vec<Vec<u8>> = (0..600).map(|i| format!("k{i}").into_bytes()).collect();
        keys.extend((0..50).map(|i| format!("{{user7}}.{i}").into_bytes()));
        keys.extend([b"foo".to_vec(), b"bar".to_vec(), b"{}x".to_vec()]);
        for policy in [Incompatible::Fail, Incompatible::SkipKey] {
            let writers = (0..3)
                .map(|_| Writer::new(Vec::new(), target.writer_options()).unwrap())
                .collect();
            let mut sink = SplitSink::new(layout.clone(), writers);
            let report = {
                let steps: Vec<Box<dyn Step>> = vec![Box::new(ClusterDb(policy))];
                let mut rw = Rewriter::new(target, policy, Duplicates::Fail, steps, &mut sink, 0);
                rw.begin_input(0);
                rw.push(Record::Function(FunctionLibrary {
                    code: b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"
                        .to_vec(),
                }))
                .unwrap();
                for k in &keys {
                    let e = Entry::new(0, k.clone(), None, Value::String(k.clone()));
                    rw.push(Record::Entry(Box::new(e))).unwrap();
                }
                let e = Entry::new(3, b"other".to_vec(), None, Value::String(b"v".to_vec()));
                rw.push(Record::Entry(Box::new(e))).unwrap();
                rw.finish()
            };
            assert_eq!(report.keys_in, keys.len() as u64 + 1);
            if policy == Incompatible::Fail {
                assert_eq!(report.refused.len(), 1);
                assert_eq!(report.refused[0].key, b"other");
                continue;
            }
            assert_eq!(report.skipped.len(), 1);
            assert!(report.skipped[0].what.contains("database 3"));
            assert_eq!(report.keys_out, keys.len() as u64);
            let counts = sink.keys().to_vec();
            assert_eq!(counts.iter().sum::<u64>(), keys.len() as u64);
            let mut seen = Vec::new();
            for (i, w) in sink.into_writers().into_iter().enumerate() {
                let file = w.finish().unwrap();
                let got = keys_of(&file);
                assert_eq!(got.len() as u64, counts[i]);
                assert!(counts[i] > 0);
                for (db, k) in got {
                    assert_eq!(db, 0);
                    let slot = key_slot(&k);
                    assert!(layout.nodes()[i].ranges.iter().any(|r| r.contains(&slot)));
                    seen.push(k);
                }
                // The library is in every node's file.
                let src = crate::io::Source::new(&file[..]).with_size(file.len() as u64);
                let mut items = Entries::new(Reader::new(src));
                let mut libs = 0;
                while let Some(item) = items.next_item().unwrap() {
                    libs += usize::from(matches!(item, Item::Function(_)));
                }
                assert_eq!(libs, 1);
            }
            seen.sort();
            let mut want = keys.clone();
            want.sort();
            assert_eq!(seen, want);
            // The tagged keys are together, on the node of "user7".
            assert_eq!(
                layout.node_of_key(b"{user7}.3"),
                layout.node_of_key(b"user7")
            );
        }
    }
}
