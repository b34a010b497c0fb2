//! The JSON renderers of `dump`: JSON Lines (one object per key, default) and one
//! JSON document (the same objects in a `keys` array).
//!
//! One key record:
//!
//! ```text
//! {"db":0,"key":"k","type":"hash","encoding":"listpack","expire_ms":null,
//!  "lru_idle_s":3,"lfu_freq":5,"value":{...},"field_expire_ms":{...}}
//! ```
//!
//! (`lru_idle_s` / `lfu_freq` only when the file stores them, `field_expire_ms`
//! only for hashes with field TTLs.) Values: string → a string; list, set → an
//! array (stored order); zset → an array of `[member, "score"]` (scores as text,
//! the way Redis prints them, so they stay exact: `"inf"`, `"-inf"`, `"0.1"`);
//! hash → an object `{field: value}`; stream → the corpus stream object
//! (`entries`, `length`, `last_id`, `first_id`, `max_deleted_entry_id`,
//! `entries_added`, `groups` with `pel` and `consumers`, and for RDB type 26
//! `idmp`: `duration`, `maxsize`, `pids_tracked`, `iids_tracked`, `iids_added`,
//! `iids_duplicates` and, when there are producers, `producers` as
//! `{pid: [[iid, id], …]}`, oldest iid first); module value →
//! `{"module": type name, "encver": n, "raw": {"hex": …}}`, except vector sets
//! (type `vectorset`): `{"dim", "card", "info": {VINFO fields but vset-uid},
//! "elements": {name: {"vector": [VEMB floats as text], "attributes": text or
//! null}}}`, the corpus form. Byte strings follow
//! the conventions of [`crate::output::json`].
//!
//! With `--meta`, JSON Lines also carry file-level records, marked by a `record`
//! field (key records have none): `header`, `aux`, `function`, `module_aux`,
//! `eof`. The JSON document always has them, as members after `keys`.

use std::collections::HashMap;

use redis_persist::model::{ConsumerGroup, KeyType, ModuleValue, Stream, StreamId, StreamIdmp};
use redis_persist::rdb::vectorset::{self, InfoValue, VectorSet};
use redis_persist::rdb::{self, Checksum, Element, Str, StreamMeta};

use super::render::{KeyHead, Meta, Render, Stats, string_encoding};
use super::stream::Out;
use crate::output::json as j;

/// Output mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// JSON Lines.
    Lines {
        /// Also write file-level records.
        meta: bool,
    },
    /// One JSON document.
    Document,
}

/// File-level records collected for the end of the JSON document, each element
/// rendered and preceded by a comma.
#[derive(Debug, Default)]
pub struct Side {
    aux: Vec<u8>,
    functions: Vec<u8>,
    module_aux: Vec<u8>,
}

/// The JSON renderer.
pub struct JsonRender {
    mode: Mode,
    /// Elements written in the current aggregate.
    count: u64,
    /// `,"field":ms` pieces of the current hash.
    ttls: Vec<u8>,
    /// The consumer group being read (a stream read element by element: a
    /// group's pending entries come before its consumers, who own them).
    group: Option<ConsumerGroup>,
    /// Groups written for the current stream.
    groups: u64,
    /// The `idmp` object of the current stream (type 26), while it is written.
    idmp: Option<IdmpOut>,
    side: Side,
    stats: Stats,
    /// Document mode: the opening (`{"format":…,"keys":[`) was written.
    opened: bool,
    /// Document mode: records are preceded by a comma (false until the first
    /// record of the document; always true in forks, whose output the parallel
    /// writer fixes up).
    comma: bool,
}

impl JsonRender {
    /// A renderer for `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            count: 0,
            ttls: Vec::new(),
            group: None,
            groups: 0,
            idmp: None,
            side: Side::default(),
            stats: Stats::default(),
            opened: false,
            comma: false,
        }
    }

    fn open_document(&mut self, out: &mut Vec<u8>, header: Option<(&str, u32)>) {
        if self.mode != Mode::Document || self.opened {
            return;
        }
        self.opened = true;
        match header {
            Some((format, version)) => {
                out.extend_from_slice(b"{\"format\":\"");
                out.extend_from_slice(format.as_bytes());
                out.extend_from_slice(b"\",\"rdb_version\":");
                j::write_u64(out, u64::from(version));
            }
            None => out.extend_from_slice(b"{\"format\":null,\"rdb_version\":null"),
        }
        out.extend_from_slice(b",\"keys\":[");
    }

    /// Starts a key record: everything up to `"value":`.
    fn head(&mut self, out: &mut Vec<u8>, h: &KeyHead<'_>, encoding: Option<&str>) {
        self.head_as(out, h, h.kind.name(), encoding);
    }

    /// [`JsonRender::head`] with the `type` given (`vectorset` for the module
    /// values that are vector sets).
    fn head_as(
        &mut self,
        out: &mut Vec<u8>,
        h: &KeyHead<'_>,
        type_name: &str,
        encoding: Option<&str>,
    ) {
        if self.mode == Mode::Document {
            out.extend_from_slice(if self.comma { b",\n" } else { b"\n" });
            self.comma = true;
        }
        out.extend_from_slice(b"{\"db\":");
        j::write_u64(out, h.db);
        out.extend_from_slice(b",\"key\":");
        j::write_bytes(out, h.key);
        out.extend_from_slice(b",\"type\":\"");
        out.extend_from_slice(type_name.as_bytes());
        out.extend_from_slice(b"\",\"encoding\":");
        match encoding {
            Some(e) => {
                out.push(b'"');
                out.extend_from_slice(e.as_bytes());
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"expire_ms\":");
        j::write_opt_i64(out, h.expire_ms);
        if let Some(idle) = h.lru_idle {
            out.extend_from_slice(b",\"lru_idle_s\":");
            j::write_u64(out, idle);
        }
        if let Some(freq) = h.lfu_freq {
            out.extend_from_slice(b",\"lfu_freq\":");
            j::write_u64(out, u64::from(freq));
        }
        if self.mode == (Mode::Lines { meta: true }) && !h.key_meta.is_empty() {
            write_key_meta(out, h.key_meta);
        }
        out.extend_from_slice(b",\"value\":");
    }

    /// Writes the consumer group read so far (stream element by element).
    fn flush_group(&mut self, out: &mut Vec<u8>) {
        if let Some(g) = self.group.take() {
            if self.groups > 0 {
                out.push(b',');
            }
            self.groups += 1;
            write_group(out, &g);
        }
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        out.push(b'}');
        if self.mode != Mode::Document {
            out.push(b'\n');
        }
        self.stats.keys += 1;
    }

    /// Renders a meta record as a JSON object (without separators).
    fn meta_object(out: &mut Vec<u8>, m: &Meta<'_>, with_kind: bool) {
        out.push(b'{');
        if with_kind {
            out.extend_from_slice(b"\"record\":\"");
            out.extend_from_slice(match m {
                Meta::Header { .. } => b"header".as_slice(),
                Meta::Aux { .. } => b"aux",
                Meta::Function { .. } => b"function",
                Meta::ModuleAux { .. } => b"module_aux",
                Meta::SlotInfo { .. } => b"slot_info",
                Meta::SlotImport { .. } => b"slot_import",
            });
            out.extend_from_slice(b"\",");
        }
        match m {
            Meta::Header { format, version } => {
                out.extend_from_slice(b"\"format\":\"");
                out.extend_from_slice(format_name(*format).as_bytes());
                out.extend_from_slice(b"\",\"rdb_version\":");
                j::write_u64(out, u64::from(*version));
            }
            Meta::Aux { name, value } => {
                out.extend_from_slice(b"\"name\":");
                j::write_bytes(out, name);
                out.extend_from_slice(b",\"value\":");
                j::write_bytes(out, value);
            }
            Meta::Function { code } => {
                let lib = redis_persist::model::FunctionLibrary {
                    code: code.to_vec(),
                };
                let (engine, name) = lib.engine_and_name().unzip();
                out.extend_from_slice(b"\"engine\":");
                write_opt_str(out, engine.as_deref());
                out.extend_from_slice(b",\"library\":");
                write_opt_str(out, name.as_deref());
                out.extend_from_slice(b",\"code\":");
                j::write_bytes(out, code);
            }
            Meta::ModuleAux {
                type_name,
                encver,
                when,
                data,
            } => {
                out.extend_from_slice(b"\"module\":");
                j::write_str(out, type_name.as_bytes());
                out.extend_from_slice(b",\"encver\":");
                j::write_u64(out, u64::from(*encver));
                out.extend_from_slice(b",\"when\":");
                out.extend_from_slice(if *when == 2 {
                    b"\"after_keys\""
                } else {
                    b"\"before_keys\""
                });
                out.extend_from_slice(b",\"raw\":{\"hex\":\"");
                j::write_hex(out, data);
                out.extend_from_slice(b"\"}");
            }
            Meta::SlotInfo {
                slot,
                keys,
                expires,
            } => {
                out.extend_from_slice(b"\"slot\":");
                j::write_u64(out, *slot);
                out.extend_from_slice(b",\"keys\":");
                j::write_u64(out, *keys);
                out.extend_from_slice(b",\"expires\":");
                j::write_u64(out, *expires);
            }
            Meta::SlotImport { job, ranges } => {
                out.extend_from_slice(b"\"job\":");
                j::write_bytes(out, job);
                out.extend_from_slice(b",\"ranges\":[");
                for (i, (a, b)) in ranges.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'[');
                    j::write_u64(out, *a);
                    out.push(b',');
                    j::write_u64(out, *b);
                    out.push(b']');
                }
                out.push(b']');
            }
        }
        out.push(b'}');
    }
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => j::write_str(out, s.as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

/// `,"key_meta":[{"class","version","flags","raw":{"hex"}}, …]`: a key's
/// Redis 8.6 `KEY_META` classes (FORMATS.md §8.1.3).
fn write_key_meta(out: &mut Vec<u8>, classes: &[(u32, Vec<u8>)]) {
    out.extend_from_slice(b",\"key_meta\":[");
    for (i, (spec, data)) in classes.iter().enumerate() {
        let c = redis_persist::rdb::KeyMetaClass { spec: *spec, data };
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"class\":");
        j::write_str(out, c.name().as_bytes());
        out.extend_from_slice(b",\"version\":");
        j::write_u64(out, u64::from(c.version()));
        out.extend_from_slice(b",\"flags\":");
        j::write_u64(out, u64::from(c.flags()));
        out.extend_from_slice(b",\"raw\":{\"hex\":\"");
        j::write_hex(out, c.data);
        out.extend_from_slice(b"\"}}");
    }
    out.push(b']');
}

/// `redis` or `valkey`.
pub fn format_name(f: redis_persist::rdb::types::Format) -> &'static str {
    match f {
        redis_persist::rdb::types::Format::Redis => "redis",
        redis_persist::rdb::types::Format::Valkey => "valkey",
    }
}

/// `ok`, `disabled`, `absent`, `unverified`.
pub fn checksum_name(c: Checksum) -> &'static str {
    match c {
        Checksum::Ok => "ok",
        Checksum::Disabled => "disabled",
        Checksum::Absent => "absent",
        Checksum::Unverified => "unverified",
    }
}

fn write_id(out: &mut Vec<u8>, id: StreamId) {
    out.push(b'"');
    j::write_u64(out, id.ms);
    out.push(b'-');
    j::write_u64(out, id.seq);
    out.push(b'"');
}

fn write_opt_id(out: &mut Vec<u8>, id: Option<StreamId>) {
    match id {
        Some(id) => write_id(out, id),
        None => out.extend_from_slice(b"null"),
    }
}

impl Render for JsonRender {
    type Side = Side;
    type Checkpoint = (Stats, bool, bool);

    fn checkpoint(&self) -> Self::Checkpoint {
        (self.stats, self.opened, self.comma)
    }

    fn restore(&mut self, (stats, opened, comma): Self::Checkpoint) {
        self.stats = stats;
        self.opened = opened;
        self.comma = comma;
    }

    fn fork(&self) -> Self {
        let mut r = Self::new(self.mode);
        // A fork's output goes inside the document opened by its parent, after
        // other records (the parallel writer drops the very first comma).
        r.opened = true;
        r.comma = true;
        r
    }

    fn take(&mut self) -> (Side, Stats) {
        (
            std::mem::take(&mut self.side),
            std::mem::take(&mut self.stats),
        )
    }

    fn join<'o>(&mut self, _side: &Side, out: &'o [u8]) -> &'o [u8] {
        // One document: a fork writes every record as ",\n{…}"; the first record
        // of the document must not have its comma.
        if self.mode == Mode::Document && !out.is_empty() {
            let first = !self.comma;
            self.comma = true;
            if first && out[0] == b',' {
                return &out[1..];
            }
        }
        out
    }

    fn merge(&mut self, side: Side, stats: &Stats) {
        self.side.aux.extend_from_slice(&side.aux);
        self.side.functions.extend_from_slice(&side.functions);
        self.side.module_aux.extend_from_slice(&side.module_aux);
        self.stats.add(stats);
    }

    fn stats(&mut self) -> &mut Stats {
        &mut self.stats
    }

    fn meta(&mut self, out: &mut Out<'_>, meta: &Meta<'_>) {
        match self.mode {
            Mode::Lines { meta: false } => {}
            Mode::Lines { meta: true } => {
                Self::meta_object(out, meta, true);
                out.push(b'\n');
            }
            Mode::Document => {
                let buf = match meta {
                    Meta::Header { format, version } => {
                        self.open_document(out, Some((format_name(*format), *version)));
                        return;
                    }
                    Meta::Aux { .. } => &mut self.side.aux,
                    Meta::Function { .. } => &mut self.side.functions,
                    Meta::ModuleAux { .. } => &mut self.side.module_aux,
                    // Not part of the document's format.
                    Meta::SlotInfo { .. } | Meta::SlotImport { .. } => return,
                };
                buf.extend_from_slice(b",\n");
                Self::meta_object(buf, meta, false);
            }
        }
    }

    fn string(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, value: Str<'_>) {
        self.open_document(out, None);
        self.head(out, head, Some(string_encoding(value)));
        out.json_value(value);
        self.close(out);
    }

    fn begin(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>) {
        self.open_document(out, None);
        self.head(out, head, head.encoding);
        self.count = 0;
        self.ttls.clear();
        match head.kind {
            KeyType::Hash => out.push(b'{'),
            KeyType::Stream => {
                self.group = None;
                self.groups = 0;
                self.idmp = None;
                out.extend_from_slice(b"{\"entries\":[");
            }
            _ => out.push(b'['),
        }
    }

    #[inline]
    fn element(&mut self, out: &mut Out<'_>, _head: &KeyHead<'_>, el: &Element<'_>) {
        match *el {
            Element::Item(s) | Element::String(s) => {
                if self.count > 0 {
                    out.push(b',');
                }
                self.count += 1;
                out.json_value(s);
            }
            Element::Member { member, score } => {
                if self.count > 0 {
                    out.push(b',');
                }
                self.count += 1;
                out.push(b'[');
                out.json_value(member);
                out.extend_from_slice(b",\"");
                redis_persist::model::write_score(out, score);
                out.extend_from_slice(b"\"]");
            }
            Element::Field {
                field,
                value,
                expire_ms,
            } => {
                if self.count > 0 {
                    out.push(b',');
                }
                self.count += 1;
                out.json_key(field);
                out.push(b':');
                out.json_value(value);
                if let Some(t) = expire_ms {
                    self.ttls.push(b',');
                    j::write_key_str(&mut self.ttls, field);
                    self.ttls.push(b':');
                    j::write_i64(&mut self.ttls, t);
                }
            }
            Element::StreamEntry(e) => {
                if self.count > 0 {
                    out.push(b',');
                }
                self.count += 1;
                write_entry(out, e.id, || e.fields());
            }
            Element::StreamMeta(m) => write_stream_meta(out, &m),
            Element::StreamGroup(g) => {
                self.flush_group(out);
                self.group = Some(rdb::new_group(&g));
            }
            el @ (Element::StreamPending(_)
            | Element::StreamConsumer(_)
            | Element::StreamConsumerPending(_)) => {
                if let Some(g) = &mut self.group {
                    rdb::push_group_element(g, el);
                }
            }
            Element::StreamIdmp(m) => {
                self.flush_group(out);
                out.push(b']');
                write_idmp_head(out, m.duration, m.maxsize, m.producers);
                self.idmp = Some(IdmpOut {
                    producers: m.producers,
                    seen: 0,
                    in_producer: 0,
                    tracked: 0,
                    closed: false,
                });
            }
            Element::StreamProducer(p) => {
                if let Some(st) = &mut self.idmp {
                    if st.seen > 0 {
                        out.extend_from_slice(b"],");
                    }
                    st.seen += 1;
                    st.in_producer = 0;
                    j::write_key_str(out, Str::Bytes(p.pid));
                    out.extend_from_slice(b":[");
                }
            }
            Element::StreamIid { iid, id } => {
                if let Some(st) = &mut self.idmp {
                    if st.in_producer > 0 {
                        out.push(b',');
                    }
                    st.in_producer += 1;
                    st.tracked += 1;
                    write_iid(out, iid, id);
                }
            }
            Element::StreamIdmpCounters {
                iids_added,
                iids_duplicates,
            } => {
                if let Some(st) = &mut self.idmp {
                    if st.producers > 0 {
                        if st.seen > 0 {
                            out.push(b']');
                        }
                        out.push(b'}');
                    }
                    write_idmp_tail(out, st.tracked, iids_added, iids_duplicates);
                    st.closed = true;
                }
            }
            // Module values are rendered whole.
            Element::Module(_) => {}
        }
    }

    fn stream_events(&self) -> bool {
        true
    }

    fn end(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, empty: bool) {
        if head.kind == KeyType::Stream {
            if self.idmp.take().is_some_and(|st| st.closed) {
                out.push(b'}');
            } else {
                self.flush_group(out);
                out.extend_from_slice(b"]}");
            }
            self.close(out);
            return;
        }
        if empty {
            self.stats.empty_keys += 1;
        }
        out.push(if head.kind == KeyType::Hash {
            b'}'
        } else {
            b']'
        });
        if !self.ttls.is_empty() {
            out.extend_from_slice(b",\"field_expire_ms\":{");
            out.extend_from_slice(&self.ttls[1..]);
            out.push(b'}');
            self.ttls.clear();
        }
        self.close(out);
    }

    fn stream(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, s: &Stream) {
        self.open_document(out, None);
        self.head(out, head, head.encoding);
        out.extend_from_slice(b"{\"entries\":[");
        for (i, e) in s.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_entry(out, e.id, || {
                e.fields.iter().map(|(f, v)| (Str::Bytes(f), Str::Bytes(v)))
            });
        }
        write_stream_meta(
            out,
            &StreamMeta {
                length: s.length,
                last_id: s.last_id,
                first_id: s.first_id,
                max_deleted_entry_id: s.max_deleted_entry_id,
                entries_added: s.entries_added,
                groups: s.groups.len() as u64,
                nodes: 0,
            },
        );
        for (gi, g) in s.groups.iter().enumerate() {
            if gi > 0 {
                out.push(b',');
            }
            write_group(out, g);
        }
        out.push(b']');
        if let Some(idmp) = &s.idmp {
            write_idmp(out, idmp);
        }
        out.push(b'}');
        self.close(out);
    }

    fn module(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, m: &ModuleValue) {
        self.open_document(out, None);
        if let Some(Ok(vs)) = vectorset::from_module(m) {
            self.head_as(out, head, "vectorset", head.encoding);
            write_vectorset(out, &vs);
            self.close(out);
            return;
        }
        self.head(out, head, head.encoding);
        out.extend_from_slice(b"{\"module\":");
        j::write_str(out, m.type_name.as_bytes());
        out.extend_from_slice(b",\"encver\":");
        j::write_u64(out, u64::from(m.encver));
        out.extend_from_slice(b",\"raw\":{\"hex\":\"");
        out.hex(&m.raw);
        out.extend_from_slice(b"\"}}");
        self.close(out);
    }

    fn finish(&mut self, out: &mut Out<'_>, checksum: Option<Checksum>, error: Option<&str>) {
        match self.mode {
            Mode::Lines { meta: true } => {
                if let Some(c) = checksum {
                    out.extend_from_slice(b"{\"record\":\"eof\",\"checksum\":\"");
                    out.extend_from_slice(checksum_name(c).as_bytes());
                    out.extend_from_slice(b"\"}\n");
                }
            }
            Mode::Lines { meta: false } => {}
            Mode::Document => {
                self.open_document(out, None);
                out.extend_from_slice(b"\n]");
                for (name, buf) in [
                    ("aux", &self.side.aux),
                    ("functions", &self.side.functions),
                    ("module_aux", &self.side.module_aux),
                ] {
                    out.extend_from_slice(b",\"");
                    out.extend_from_slice(name.as_bytes());
                    out.extend_from_slice(b"\":[");
                    if !buf.is_empty() {
                        // Each piece starts with ",\n": drop the first comma.
                        out.extend_from_slice(&buf[1..]);
                        out.push(b'\n');
                    }
                    out.push(b']');
                }
                out.extend_from_slice(b",\"checksum\":");
                match checksum {
                    Some(c) => {
                        out.push(b'"');
                        out.extend_from_slice(checksum_name(c).as_bytes());
                        out.push(b'"');
                    }
                    None => out.extend_from_slice(b"null"),
                }
                out.extend_from_slice(b",\"error\":");
                match error {
                    Some(e) => j::write_str(out, e.as_bytes()),
                    None => out.extend_from_slice(b"null"),
                }
                out.extend_from_slice(b"}\n");
            }
        }
    }
}

/// Where the streamed `idmp` object of a type-26 stream is.
#[derive(Debug, Clone, Copy)]
struct IdmpOut {
    /// Producers announced.
    producers: u64,
    /// Producers written.
    seen: u64,
    /// Iids written for the current producer.
    in_producer: u64,
    /// Iids written in all.
    tracked: u64,
    /// The object was closed (the counters were written).
    closed: bool,
}

/// `,"idmp":{` up to the opening of `producers` (when there are producers).
fn write_idmp_head(out: &mut Vec<u8>, duration: u64, maxsize: u64, producers: u64) {
    out.extend_from_slice(b",\"idmp\":{\"duration\":");
    j::write_u64(out, duration);
    out.extend_from_slice(b",\"maxsize\":");
    j::write_u64(out, maxsize);
    out.extend_from_slice(b",\"pids_tracked\":");
    j::write_u64(out, producers);
    if producers > 0 {
        out.extend_from_slice(b",\"producers\":{");
    }
}

/// One iid of a producer: `[iid, id]`.
fn write_iid(out: &mut Vec<u8>, iid: &[u8], id: StreamId) {
    out.push(b'[');
    j::write_value_str(out, Str::Bytes(iid));
    out.push(b',');
    write_id(out, id);
    out.push(b']');
}

/// The counters that close the `idmp` object.
fn write_idmp_tail(out: &mut Vec<u8>, tracked: u64, added: u64, duplicates: u64) {
    out.extend_from_slice(b",\"iids_tracked\":");
    j::write_u64(out, tracked);
    out.extend_from_slice(b",\"iids_added\":");
    j::write_u64(out, added);
    out.extend_from_slice(b",\"iids_duplicates\":");
    j::write_u64(out, duplicates);
    out.push(b'}');
}

/// The whole `idmp` object of a stream value.
fn write_idmp(out: &mut Vec<u8>, idmp: &StreamIdmp) {
    let producers = idmp.producers.len() as u64;
    write_idmp_head(out, idmp.duration, idmp.maxsize, producers);
    for (pi, p) in idmp.producers.iter().enumerate() {
        if pi > 0 {
            out.push(b',');
        }
        j::write_key_str(out, Str::Bytes(&p.pid));
        out.push(b':');
        out.push(b'[');
        for (ii, (iid, id)) in p.iids.iter().enumerate() {
            if ii > 0 {
                out.push(b',');
            }
            write_iid(out, iid, *id);
        }
        out.push(b']');
    }
    if producers > 0 {
        out.push(b'}');
    }
    write_idmp_tail(
        out,
        idmp.iids_tracked() as u64,
        idmp.iids_added,
        idmp.iids_duplicates,
    );
}

/// One stream entry: `[id, fields]`.
fn write_entry<'a, I>(out: &mut Vec<u8>, id: StreamId, fields: impl Fn() -> I)
where
    I: Iterator<Item = (Str<'a>, Str<'a>)>,
{
    out.push(b'[');
    write_id(out, id);
    out.push(b',');
    write_fields(out, fields);
    out.push(b']');
}

/// What follows the entries, up to the opening of the groups array.
fn write_stream_meta(out: &mut Vec<u8>, m: &StreamMeta) {
    out.extend_from_slice(b"],\"length\":");
    j::write_u64(out, m.length);
    out.extend_from_slice(b",\"last_id\":");
    write_id(out, m.last_id);
    out.extend_from_slice(b",\"first_id\":");
    write_opt_id(out, m.first_id);
    out.extend_from_slice(b",\"max_deleted_entry_id\":");
    write_opt_id(out, m.max_deleted_entry_id);
    out.extend_from_slice(b",\"entries_added\":");
    match m.entries_added {
        Some(n) => j::write_u64(out, n),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"groups\":[");
}

/// One consumer group, with the owner of each pending entry.
fn write_group(out: &mut Vec<u8>, g: &ConsumerGroup) {
    out.extend_from_slice(b"{\"name\":");
    j::write_bytes(out, &g.name);
    out.extend_from_slice(b",\"last_delivered_id\":");
    write_id(out, g.last_delivered_id);
    out.extend_from_slice(b",\"entries_read\":");
    j::write_opt_i64(out, g.entries_read);
    out.extend_from_slice(b",\"pel\":[");
    let owner: HashMap<StreamId, &[u8]> = g
        .consumers
        .iter()
        .flat_map(|c| c.pel.iter().map(move |id| (*id, c.name.as_slice())))
        .collect();
    for (pi, p) in g.pel.iter().enumerate() {
        if pi > 0 {
            out.push(b',');
        }
        out.push(b'[');
        write_id(out, p.id);
        out.push(b',');
        match owner.get(&p.id) {
            Some(name) => j::write_bytes(out, name),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b',');
        j::write_i64(out, p.delivery_time_ms);
        out.push(b',');
        j::write_u64(out, p.delivery_count);
        out.push(b']');
    }
    out.extend_from_slice(b"],\"consumers\":[");
    for (ci, c) in g.consumers.iter().enumerate() {
        if ci > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        j::write_bytes(out, &c.name);
        out.extend_from_slice(b",\"seen_time_ms\":");
        j::write_i64(out, c.seen_time_ms);
        out.extend_from_slice(b",\"active_time_ms\":");
        j::write_opt_i64(out, c.active_time_ms);
        out.extend_from_slice(b",\"pel\":[");
        for (ii, id) in c.pel.iter().enumerate() {
            if ii > 0 {
                out.push(b',');
            }
            write_id(out, *id);
        }
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(b"]}");
}

/// Stream entry fields: an object keyed by field name, or, when an entry repeats
/// a field name (which `XADD` allows and a JSON object cannot hold), an array of
/// `[field, value]` pairs in stored order.
fn write_fields<'a, I>(out: &mut Vec<u8>, fields: impl Fn() -> I)
where
    I: Iterator<Item = (Str<'a>, Str<'a>)>,
{
    let n = fields().count();
    let unique = if n <= 16 {
        fields().enumerate().all(|(i, (f, _))| {
            fields()
                .take(i)
                .all(|(g, _)| f.with_bytes(|a| g.with_bytes(|b| a != b)))
        })
    } else {
        let mut seen = std::collections::HashSet::with_capacity(n);
        fields().all(|(f, _)| seen.insert(f.to_vec()))
    };
    if unique {
        out.push(b'{');
        for (i, (f, v)) in fields().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            j::write_key_str(out, f);
            out.push(b':');
            j::write_value_str(out, v);
        }
        out.push(b'}');
    } else {
        out.push(b'[');
        for (i, (f, v)) in fields().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            j::write_value_str(out, f);
            out.push(b',');
            j::write_value_str(out, v);
            out.push(b']');
        }
        out.push(b']');
    }
}

/// A vector set in the corpus form (README, `dump`).
fn write_vectorset(out: &mut Vec<u8>, vs: &VectorSet) {
    out.extend_from_slice(b"{\"dim\":");
    j::write_u64(out, u64::from(vs.dim));
    out.extend_from_slice(b",\"card\":");
    j::write_u64(out, vs.card());
    out.extend_from_slice(b",\"info\":{");
    for (i, (name, v)) in vs.info().fields().into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        j::write_str(out, name.as_bytes());
        out.push(b':');
        match v {
            InfoValue::Text(t) => j::write_str(out, t.as_bytes()),
            InfoValue::Int(n) => j::write_u64(out, n),
        }
    }
    out.extend_from_slice(b"},\"elements\":{");
    for (i, e) in vs.elements.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        j::write_key(out, &e.name);
        out.extend_from_slice(b":{\"vector\":[");
        for (k, x) in vs.vemb(e).into_iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            j::write_str(out, vectorset::float_text(x).as_bytes());
        }
        out.extend_from_slice(b"],\"attributes\":");
        if e.attributes.is_empty() {
            out.extend_from_slice(b"null");
        } else {
            j::write_bytes(out, &e.attributes);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"}}");
}
