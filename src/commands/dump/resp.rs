//! The RESP renderer of `dump`: commands that recreate the dataset in a live
//! server (`redis-cli --pipe`), in the spirit of Redis' own AOF rewrite.
//!
//! * `SELECT db` whenever the database changes (and before the first key of
//!   every chunk in parallel mode: harmless repetitions);
//! * strings: `SET`; lists: `RPUSH`; sets: `SADD`; sorted sets: `ZADD` (scores
//!   as Redis prints them: exact, `inf`/`-inf`); hashes: `HSET`; aggregates are
//!   split into commands of at most `batch` elements (and about 1 MiB);
//! * key TTLs: `PEXPIREAT` after the value; hash field TTLs (Redis 7.4+):
//!   `HPEXPIREAT key ms FIELDS n f…`, one per distinct time;
//! * streams: `XADD` of every entry with its id (an empty stream: the
//!   `XADD … MAXLEN 0 0-1 x y` trick of the AOF rewrite), `XGROUP CREATE … id
//!   [ENTRIESREAD n]`, `XCLAIM … 0 id TIME ms RETRYCOUNT n JUSTID FORCE` per
//!   pending entry (consumer, delivery time and count restored),
//!   `XGROUP CREATECONSUMER` for consumers without pending entries, then `XSETID
//!   last-id [ENTRIESADDED n MAXDELETEDID id]`. Pending entries whose stream
//!   entry was deleted (XCLAIM needs the entry to exist) get a placeholder entry
//!   that is removed again after the claims (`XTRIM MINID` below the first live
//!   entry, `XDEL` elsewhere). When a group has an entries-read counter, the
//!   `XSETID` is also sent before the groups, as Redis' AOF rewrite does (Redis
//!   8.6 caps `ENTRIESREAD` at the stream's entries-added counter). A Redis 8.6
//!   stream's IDMP state (RDB type 26): `XCFGSET key IDMP-DURATION d
//!   IDMP-MAXSIZE m` when its configuration is not the default, then one
//!   `XIDMPRECORD key pid iid id` per iid, oldest first (what Redis 8.6's AOF
//!   rewrite writes; like it, the `iids_added` and `iids_duplicates` counters
//!   are not carried: a server loading the commands counts the records as
//!   added);
//! * vector sets (Redis 8): one `VADD` per element (see [`vadd_commands`]);
//! * other module values: `RESTORE key ttl payload ABSTTL` with a DUMP payload
//!   built from the stored module data (the target needs the module);
//! * function libraries: `FUNCTION LOAD`;
//! * with `--replace`: `DEL key` before each key and `FUNCTION LOAD REPLACE`.
//!
//! Not expressible as commands, hence not restored: LRU/LFU metadata, consumer
//! seen/active times (the server sets them when the commands run), aux fields,
//! module aux data (counted and reported).

use redis_persist::io::crc64;
use redis_persist::model::{ModuleValue, Stream, StreamId, write_score};
use redis_persist::rdb::vectorset::{self, VectorSet};
use redis_persist::rdb::{Checksum, Element, Str};

use super::render::{KeyHead, Meta, Render, Stats};
use super::stream::Out;

/// Largest argument payload batched into one command (elements beyond go to the
/// next command).
const BATCH_BYTES: usize = 1 << 20;

/// RESP renderer settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Elements per command.
    pub batch: usize,
    /// `DEL` each key first; `FUNCTION LOAD REPLACE`.
    pub replace: bool,
    /// Keep hash fields whose TTL has passed (otherwise they are left out).
    pub include_expired: bool,
    /// "Now", Unix ms.
    pub now_ms: i64,
}

/// The RESP renderer.
pub struct RespRender {
    set: Settings,
    /// Database selected by the last `SELECT` written, if any.
    db: Option<u64>,
    /// The database of a `SELECT` written at the very start of the output (a
    /// fork's first command), which [`Render::join`] drops when that database is
    /// already selected.
    leading_select: Option<u64>,
    /// The command of the current aggregate (`RPUSH`, `SADD`, `ZADD`, `HSET`).
    cmd: &'static [u8],
    /// Encoded arguments of the pending batch, and their count.
    args: Vec<u8>,
    nargs: usize,
    /// Elements written for the current key.
    written: u64,
    /// (expire ms, field) of the current hash's fields with a TTL.
    ttls: Vec<(i64, Vec<u8>)>,
    /// A score's text (reused: no allocation per element).
    score: Vec<u8>,
    stats: Stats,
}

impl RespRender {
    /// A renderer.
    pub fn new(set: Settings) -> Self {
        Self {
            set,
            db: None,
            leading_select: None,
            cmd: b"",
            args: Vec::new(),
            nargs: 0,
            written: 0,
            ttls: Vec::new(),
            score: Vec::with_capacity(32),
            stats: Stats::default(),
        }
    }

    fn select(&mut self, out: &mut Vec<u8>, db: u64) {
        if self.db != Some(db) {
            if self.db.is_none() && out.is_empty() {
                self.leading_select = Some(db);
            }
            let mut b = itoa::Buffer::new();
            command(out, &[b"SELECT", b.format(db).as_bytes()]);
            self.db = Some(db);
        }
    }

    fn start_key(&mut self, out: &mut Vec<u8>, head: &KeyHead<'_>) {
        self.select(out, head.db);
        if self.set.replace {
            command(out, &[b"DEL", head.key]);
        }
    }

    fn expire(out: &mut Vec<u8>, head: &KeyHead<'_>) {
        if let Some(t) = head.expire_ms {
            let mut b = itoa::Buffer::new();
            command(out, &[b"PEXPIREAT", head.key, b.format(t).as_bytes()]);
        }
    }

    /// Writes the pending batch as one command.
    fn flush_batch(&mut self, out: &mut Vec<u8>, key: &[u8]) {
        if self.nargs == 0 {
            return;
        }
        header(out, 2 + self.nargs);
        bulk(out, self.cmd);
        bulk(out, key);
        out.extend_from_slice(&self.args);
        self.args.clear();
        self.nargs = 0;
    }

    /// An element too large to batch (more than [`BATCH_BYTES`]): it ends its
    /// command (as [`Render::element`] would have it: the batch is full), which is
    /// written with the element in pieces.
    fn large_element(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, el: &Element<'_>) {
        let parts: [Option<Str<'_>>; 2] = match *el {
            Element::Item(s) | Element::String(s) => [Some(s), None],
            Element::Member { member, .. } => [None, Some(member)],
            Element::Field {
                field,
                value,
                expire_ms,
            } => {
                if let Some(t) = expire_ms {
                    if t < self.set.now_ms && !self.set.include_expired {
                        self.stats.expired_fields += 1;
                        return;
                    }
                    self.ttls.push((t, field.to_vec()));
                }
                [Some(field), Some(value)]
            }
            _ => return,
        };
        if self.written == 0 && self.set.replace {
            command(out, &[b"DEL", head.key]);
        }
        self.written += 1;
        let score = matches!(el, Element::Member { .. });
        let n = parts.iter().flatten().count() + usize::from(score);
        header(out, 2 + self.nargs + n);
        bulk(out, self.cmd);
        bulk(out, head.key);
        out.extend_from_slice(&self.args);
        self.args.clear();
        self.nargs = 0;
        if let Element::Member { score, .. } = *el {
            let mut sb = Vec::with_capacity(24);
            write_score(&mut sb, score);
            bulk(out, &sb);
        }
        for p in parts.into_iter().flatten() {
            bulk_stepped(out, p);
        }
    }

    fn stream_commands(&mut self, out: &mut Out<'_>, key: &[u8], s: &Stream) {
        let mut ib = itoa::Buffer::new();
        // Pending entries whose stream entry no longer exists (XDEL or trimming
        // after delivery): XCLAIM only claims existing entries, so they are added
        // as placeholders and removed after the claims.
        let mut dangling: Vec<StreamId> = s
            .groups
            .iter()
            .flat_map(|g| g.pel.iter().map(|p| p.id))
            .filter(|id| s.entries.binary_search_by(|e| e.id.cmp(id)).is_err())
            .collect();
        dangling.sort_unstable();
        dangling.dedup();

        if s.entries.is_empty() && dangling.is_empty() {
            command(out, &[b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]);
        } else {
            let (mut i, mut d) = (0, 0);
            let mut idbuf = Vec::with_capacity(42);
            while i < s.entries.len() || d < dangling.len() {
                let take_live =
                    d >= dangling.len() || (i < s.entries.len() && s.entries[i].id < dangling[d]);
                idbuf.clear();
                if take_live {
                    let e = &s.entries[i];
                    i += 1;
                    write_id(&mut idbuf, e.id);
                    header(out, 3 + 2 * e.fields.len());
                    bulk(out, b"XADD");
                    bulk(out, key);
                    bulk(out, &idbuf);
                    for (f, v) in &e.fields {
                        bulk_stepped(out, Str::Bytes(f));
                        bulk_stepped(out, Str::Bytes(v));
                    }
                    out.step();
                } else {
                    write_id(&mut idbuf, dangling[d]);
                    d += 1;
                    command(out, &[b"XADD", key, &idbuf, b"x", b"y"]);
                }
            }
        }

        // Before the groups: ENTRIESREAD is capped at entries-added.
        let placed = (s.entries.len() + dangling.len()) as u64;
        if s.groups.iter().any(|g| g.entries_read.is_some())
            && s.entries_added.is_some_and(|n| n >= placed)
        {
            xsetid(out, key, s);
        }
        for g in &s.groups {
            let pel: std::collections::HashMap<StreamId, &redis_persist::model::PendingEntry> =
                g.pel.iter().map(|p| (p.id, p)).collect();
            let mut idbuf = Vec::with_capacity(42);
            write_id(&mut idbuf, g.last_delivered_id);
            match g.entries_read {
                Some(n) => command(
                    out,
                    &[
                        b"XGROUP",
                        b"CREATE",
                        key,
                        &g.name,
                        &idbuf,
                        b"ENTRIESREAD",
                        ib.format(n).as_bytes(),
                    ],
                ),
                None => command(out, &[b"XGROUP", b"CREATE", key, &g.name, &idbuf]),
            }
            for c in &g.consumers {
                if c.pel.is_empty() {
                    command(out, &[b"XGROUP", b"CREATECONSUMER", key, &g.name, &c.name]);
                    continue;
                }
                for id in &c.pel {
                    // Every consumer PEL id is in the group PEL (the reader checks).
                    let Some(p) = pel.get(id) else { continue };
                    idbuf.clear();
                    write_id(&mut idbuf, p.id);
                    let mut tb = itoa::Buffer::new();
                    let mut cb = itoa::Buffer::new();
                    command(
                        out,
                        &[
                            b"XCLAIM",
                            key,
                            &g.name,
                            &c.name,
                            b"0",
                            &idbuf,
                            b"TIME",
                            tb.format(p.delivery_time_ms).as_bytes(),
                            b"RETRYCOUNT",
                            cb.format(p.delivery_count).as_bytes(),
                            b"JUSTID",
                            b"FORCE",
                        ],
                    );
                }
            }
        }

        if !dangling.is_empty() {
            // Placeholders below the first live entry go with XTRIM MINID, which
            // (unlike XDEL) leaves max-deleted-id alone: that is where trimmed
            // entries were. The others were deleted with XDEL in the source too.
            let first_live = s.entries.first().map(|e| e.id);
            let head_end = dangling
                .iter()
                .position(|id| first_live.is_some_and(|f| *id > f))
                .unwrap_or(dangling.len());
            if head_end > 0 {
                let mut idbuf = Vec::new();
                match first_live {
                    Some(f) => {
                        write_id(&mut idbuf, f);
                        command(out, &[b"XTRIM", key, b"MINID", &idbuf]);
                    }
                    None => command(out, &[b"XTRIM", key, b"MAXLEN", b"0"]),
                }
            }
            let rest = &dangling[head_end..];
            if !rest.is_empty() {
                if s.max_deleted_entry_id
                    .is_some_and(|m| m < rest[rest.len() - 1])
                {
                    self.stats.inexact_streams += 1;
                }
                for part in rest.chunks(self.set.batch.max(1)) {
                    header(out, 2 + part.len());
                    bulk(out, b"XDEL");
                    bulk(out, key);
                    let mut idbuf = Vec::new();
                    for id in part {
                        idbuf.clear();
                        write_id(&mut idbuf, *id);
                        bulk(out, &idbuf);
                    }
                }
            }
        }

        xsetid(out, key, s);
        if let Some(idmp) = &s.idmp {
            idmp_commands(out, key, idmp);
        }
    }
}

/// `XSETID key last-id [ENTRIESADDED n MAXDELETEDID id]`.
fn xsetid(out: &mut Vec<u8>, key: &[u8], s: &Stream) {
    let mut ib = itoa::Buffer::new();
    let mut last = Vec::with_capacity(42);
    write_id(&mut last, s.last_id);
    match (s.entries_added, s.max_deleted_entry_id) {
        (Some(n), Some(m)) => {
            let mut mb = Vec::with_capacity(42);
            write_id(&mut mb, m);
            command(
                out,
                &[
                    b"XSETID",
                    key,
                    &last,
                    b"ENTRIESADDED",
                    ib.format(n).as_bytes(),
                    b"MAXDELETEDID",
                    &mb,
                ],
            );
        }
        _ => command(out, &[b"XSETID", key, &last]),
    }
}

/// `XCFGSET` (when not the default configuration) and one `XIDMPRECORD` per
/// iid: after XCFGSET, which clears the producers.
fn idmp_commands(out: &mut Vec<u8>, key: &[u8], idmp: &redis_persist::model::StreamIdmp) {
    use redis_persist::model::StreamIdmp;
    if idmp.duration != StreamIdmp::DEFAULT_DURATION || idmp.maxsize != StreamIdmp::DEFAULT_MAXSIZE
    {
        let mut db = itoa::Buffer::new();
        let mut mb = itoa::Buffer::new();
        command(
            out,
            &[
                b"XCFGSET",
                key,
                b"IDMP-DURATION",
                db.format(idmp.duration).as_bytes(),
                b"IDMP-MAXSIZE",
                mb.format(idmp.maxsize).as_bytes(),
            ],
        );
    }
    let mut idbuf = Vec::with_capacity(42);
    for p in &idmp.producers {
        for (iid, id) in &p.iids {
            idbuf.clear();
            write_id(&mut idbuf, *id);
            command(out, &[b"XIDMPRECORD", key, &p.pid, iid, &idbuf]);
        }
    }
}

/// Appends `*n\r\n`.
#[inline]
fn header(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends one bulk string.
#[inline]
fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(itoa::Buffer::new().format(b.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// Appends a string element as a bulk string (integers as their decimal text).
#[inline]
fn bulk_str(out: &mut Vec<u8>, s: Str<'_>) {
    match s {
        Str::Bytes(b) => bulk(out, b),
        Str::Int(i) => bulk(out, itoa::Buffer::new().format(i).as_bytes()),
    }
}

/// Appends a string element as a bulk string, a large one in pieces.
#[inline]
fn bulk_stepped(out: &mut Out<'_>, s: Str<'_>) {
    match s {
        Str::Bytes(b) if b.len() > out.piece => {
            out.push(b'$');
            out.extend_from_slice(itoa::Buffer::new().format(b.len()).as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_stepped(b);
            out.extend_from_slice(b"\r\n");
        }
        _ => bulk_str(out, s),
    }
}

/// Bytes of a string element (0 for an integer).
#[inline]
fn str_len(s: Str<'_>) -> usize {
    match s {
        Str::Bytes(b) => b.len(),
        Str::Int(_) => 0,
    }
}

/// Appends a whole command.
fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    header(out, args.len());
    for a in args {
        bulk(out, a);
    }
}

fn write_id(out: &mut Vec<u8>, id: StreamId) {
    out.extend_from_slice(itoa::Buffer::new().format(id.ms).as_bytes());
    out.push(b'-');
    out.extend_from_slice(itoa::Buffer::new().format(id.seq).as_bytes());
}

/// Appends an RDB length (FORMATS.md §1.3, shortest form).
fn rdb_len(out: &mut Vec<u8>, n: u64) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if let Ok(v) = u32::try_from(n) {
        out.push(0x80);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// The DUMP payload of a module value (type 7, RDB version 8 in the footer: the
/// oldest version with this type, accepted by every server since Redis 4.0).
pub fn module_payload(m: &ModuleValue) -> Vec<u8> {
    let mut p = Vec::with_capacity(m.raw.len() + 20);
    p.push(redis_persist::rdb::types::MODULE_2);
    rdb_len(&mut p, m.module_id);
    p.extend_from_slice(&m.raw);
    p.extend_from_slice(&8u16.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// The `VADD` commands that re-create a vector set (FORMATS.md §8.5.11.1): one
/// per element in ascending node id order, each with the quantization flag,
/// `M` when it is not 16, `REDUCE dim` for a projected set, `SETATTR` when the
/// element has attributes, and `VALUES` of the element's VEMB floats (for a
/// REDUCE set: a preimage of them through the projection). Returns how many
/// elements `VADD` would not store with exactly their stored vector bytes (by
/// emulating it).
fn vadd_commands(out: &mut Vec<u8>, key: &[u8], vs: &VectorSet) -> u64 {
    let mut inexact = 0;
    let mut ib = itoa::Buffer::new();
    let m = vs.effective_m();
    let reduce = vs.projection.as_ref().map(|_| vs.dim.to_string());
    let mut texts: Vec<String> = Vec::new();
    for e in vs.by_id() {
        let (values, exact) = vectorset::vadd_values(vs, e);
        inexact += u64::from(!exact);
        texts.clear();
        texts.extend(values.iter().map(|&x| vectorset::float_text(x)));
        let n = values.len().to_string();
        let mut args: Vec<&[u8]> = vec![b"VADD", key];
        if let Some(r) = &reduce {
            args.push(b"REDUCE");
            args.push(r.as_bytes());
        }
        args.push(b"VALUES");
        args.push(n.as_bytes());
        args.extend(texts.iter().map(String::as_bytes));
        args.push(&e.name);
        args.push(vs.quant.vadd_flag().as_bytes());
        let m_text;
        if m != vectorset::DEFAULT_M {
            m_text = ib.format(m).to_owned();
            args.push(b"M");
            args.push(m_text.as_bytes());
        }
        if !e.attributes.is_empty() {
            args.push(b"SETATTR");
            args.push(&e.attributes);
        }
        command(out, &args);
    }
    inexact
}

/// What the output of a fork starts and ends with.
#[derive(Debug, Default, Clone, Copy)]
pub struct Side {
    /// The database of a `SELECT` at the very start of the output.
    leading_select: Option<u64>,
    /// The database selected at the end of the output.
    last_db: Option<u64>,
}

impl Render for RespRender {
    type Side = Side;
    type Checkpoint = (Stats, Option<u64>, Option<u64>);

    fn checkpoint(&self) -> Self::Checkpoint {
        (self.stats, self.db, self.leading_select)
    }

    fn restore(&mut self, (stats, db, leading_select): Self::Checkpoint) {
        self.stats = stats;
        self.db = db;
        self.leading_select = leading_select;
    }

    fn fork(&self) -> Self {
        Self::new(self.set)
    }

    fn take(&mut self) -> (Side, Stats) {
        (
            Side {
                leading_select: self.leading_select.take(),
                last_db: self.db,
            },
            std::mem::take(&mut self.stats),
        )
    }

    fn join<'o>(&mut self, side: &Side, out: &'o [u8]) -> &'o [u8] {
        // A fork starts by selecting its first key's database: redundant when
        // that database is already selected, and dropped so that the output is
        // the same as from one renderer.
        let mut out = out;
        if let (Some(db), Some(cur)) = (side.leading_select, self.db) {
            if db == cur {
                let mut sel = Vec::new();
                let mut b = itoa::Buffer::new();
                command(&mut sel, &[b"SELECT", b.format(db).as_bytes()]);
                if out.starts_with(&sel) {
                    out = &out[sel.len()..];
                }
            }
        }
        if side.last_db.is_some() {
            self.db = side.last_db;
        }
        out
    }

    fn merge(&mut self, _side: Side, stats: &Stats) {
        self.stats.add(stats);
    }

    fn stats(&mut self) -> &mut Stats {
        &mut self.stats
    }

    fn meta(&mut self, out: &mut Out<'_>, meta: &Meta<'_>) {
        match meta {
            Meta::Function { code } => {
                if self.set.replace {
                    command(out, &[b"FUNCTION", b"LOAD", b"REPLACE", code]);
                } else {
                    command(out, &[b"FUNCTION", b"LOAD", code]);
                }
            }
            Meta::ModuleAux { .. } => self.stats.module_aux_dropped += 1,
            Meta::Header { .. }
            | Meta::Aux { .. }
            | Meta::SlotInfo { .. }
            | Meta::SlotImport { .. } => {}
        }
    }

    fn string(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, value: Str<'_>) {
        self.start_key(out, head);
        header(out, 3);
        bulk(out, b"SET");
        bulk(out, head.key);
        bulk_stepped(out, value);
        Self::expire(out, head);
        self.stats.keys += 1;
    }

    fn begin(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>) {
        self.select(out, head.db);
        self.cmd = match head.kind {
            redis_persist::model::KeyType::List => b"RPUSH",
            redis_persist::model::KeyType::Set => b"SADD",
            redis_persist::model::KeyType::Zset => b"ZADD",
            _ => b"HSET",
        };
        self.args.clear();
        self.nargs = 0;
        self.written = 0;
        self.ttls.clear();
    }

    #[inline]
    fn element(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, el: &Element<'_>) {
        match *el {
            Element::Item(s) | Element::String(s) => {
                if str_len(s) > BATCH_BYTES {
                    return self.large_element(out, head, el);
                }
                bulk_str(&mut self.args, s);
                self.nargs += 1;
            }
            Element::Member { member, score } => {
                if str_len(member) > BATCH_BYTES {
                    return self.large_element(out, head, el);
                }
                self.score.clear();
                write_score(&mut self.score, score);
                bulk(&mut self.args, &self.score);
                bulk_str(&mut self.args, member);
                self.nargs += 2;
            }
            Element::Field {
                field,
                value,
                expire_ms,
            } => {
                if str_len(field) + str_len(value) > BATCH_BYTES {
                    return self.large_element(out, head, el);
                }
                if let Some(t) = expire_ms {
                    if t < self.set.now_ms && !self.set.include_expired {
                        self.stats.expired_fields += 1;
                        return;
                    }
                    self.ttls.push((t, field.to_vec()));
                }
                bulk_str(&mut self.args, field);
                bulk_str(&mut self.args, value);
                self.nargs += 2;
            }
            _ => return,
        }
        if self.written == 0 && self.set.replace {
            command(out, &[b"DEL", head.key]);
        }
        self.written += 1;
        let per = if head.kind == redis_persist::model::KeyType::List
            || head.kind == redis_persist::model::KeyType::Set
        {
            1
        } else {
            2
        };
        if self.nargs >= self.set.batch * per || self.args.len() >= BATCH_BYTES {
            self.flush_batch(out, head.key);
        }
    }

    fn end(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, empty: bool) {
        self.flush_batch(out, head.key);
        if empty {
            self.stats.empty_keys += 1;
        }
        if self.written == 0 {
            // Nothing to create (Redis skips empty aggregates when loading, and a
            // hash whose fields all expired no longer exists).
            self.ttls.clear();
            return;
        }
        if !self.ttls.is_empty() {
            let mut ttls = std::mem::take(&mut self.ttls);
            ttls.sort();
            for group in ttls.chunk_by(|a, b| a.0 == b.0) {
                for part in group.chunks(self.set.batch.max(1)) {
                    let mut tb = itoa::Buffer::new();
                    let mut nb = itoa::Buffer::new();
                    header(out, 5 + part.len());
                    bulk(out, b"HPEXPIREAT");
                    bulk(out, head.key);
                    bulk(out, tb.format(part[0].0).as_bytes());
                    bulk(out, b"FIELDS");
                    bulk(out, nb.format(part.len()).as_bytes());
                    for (_, f) in part {
                        bulk(out, f);
                    }
                    out.step();
                }
            }
            ttls.clear();
            self.ttls = ttls;
        }
        Self::expire(out, head);
        self.stats.keys += 1;
    }

    fn stream(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, s: &Stream) {
        self.start_key(out, head);
        self.stream_commands(out, head.key, s);
        Self::expire(out, head);
        self.stats.keys += 1;
    }

    fn module(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, m: &ModuleValue) {
        if let Some(Ok(vs)) = vectorset::from_module(m) {
            self.start_key(out, head);
            self.stats.inexact_vectors += vadd_commands(out, head.key, &vs);
            Self::expire(out, head);
            self.stats.keys += 1;
            return;
        }
        self.select(out, head.db);
        let payload = module_payload(m);
        let ttl = head.expire_ms.unwrap_or(0).to_string();
        header(out, if self.set.replace { 6 } else { 5 });
        bulk(out, b"RESTORE");
        bulk(out, head.key);
        bulk(out, ttl.as_bytes());
        bulk_stepped(out, Str::Bytes(&payload));
        bulk(out, b"ABSTTL");
        if self.set.replace {
            bulk(out, b"REPLACE");
        }
        self.stats.keys += 1;
    }

    fn finish(&mut self, _out: &mut Out<'_>, _checksum: Option<Checksum>, _error: Option<&str>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdb_lengths() {
        for (n, want) in [
            (0u64, vec![0u8]),
            (63, vec![63]),
            (64, vec![0x40, 64]),
            (16383, vec![0x7f, 0xff]),
            (16384, vec![0x80, 0, 0, 0x40, 0]),
            (1 << 32, vec![0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            let mut v = Vec::new();
            rdb_len(&mut v, n);
            assert_eq!(v, want, "{n}");
        }
    }

    /// A module payload decodes back (through the library's DUMP decoder) to the
    /// same module value.
    #[test]
    fn module_payload_round_trips() {
        // Module data: UINT 5, STRING "ab", EOF.
        let raw = vec![2u8, 5, 5, 2, b'a', b'b', 0];
        let id = (0x3f_u64 << 58) | 3; // "_AAAAAAAA" version 3
        let m = ModuleValue {
            module_id: id,
            type_name: redis_persist::rdb::types::module_name(id).0,
            encver: 3,
            raw,
        };
        let p = module_payload(&m);
        let back = redis_persist::rdb::payload::decode(&p, true).unwrap();
        assert_eq!(back.value, redis_persist::model::Value::Module(m));
    }
}
