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
use redis_persist::rdb::{Checksum, Element, Str, StreamEntryRef};

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
    /// Arguments (elements) per element of the current aggregate: 1 or 2.
    per: usize,
    /// Digits of the argument count of a full batch, for 1 and 2 arguments per
    /// element.
    full_digits: [usize; 2],
    /// The pending batch (see [`RespRender::open_batch`]): its element
    /// arguments so far (0: no batch open), where its command starts, how many
    /// digits the count in its header was given, where its element arguments
    /// start, and whether it is held in `args` (a live output) rather than
    /// written in the output.
    nargs: usize,
    batch_at: usize,
    batch_digits: usize,
    args_at: usize,
    staged: bool,
    /// The pending batch while the output is live.
    args: Vec<u8>,
    /// Elements written for the current key.
    written: u64,
    /// (expire ms, field) of the current hash's fields with a TTL.
    ttls: Vec<(i64, Vec<u8>)>,
    /// A score's text (reused: no allocation per element).
    score: Vec<u8>,
    /// The stream being rendered element by element: what follows its entries
    /// (metadata, groups, IDMP state; `entries` stays empty).
    stream: Box<Stream>,
    /// The ids of its entries written, and where each one's `XADD` starts in
    /// the output.
    live: Vec<StreamId>,
    xadd_at: Vec<usize>,
    /// The placeholders of the last stream (see [`dangling_ids`]): for the
    /// stream's reading again, live, when its output overflowed (the reading
    /// that overflowed is complete, and by the same renderer: `end` found them);
    /// and how many of them are written.
    placeholders: Vec<StreamId>,
    placed: usize,
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
            per: 1,
            full_digits: [1, 2].map(|per| {
                let full = set.batch.saturating_mul(per).saturating_add(2);
                itoa::Buffer::new().format(full).len()
            }),
            nargs: 0,
            batch_at: 0,
            batch_digits: 0,
            args_at: 0,
            staged: false,
            args: Vec::new(),
            written: 0,
            ttls: Vec::new(),
            score: Vec::with_capacity(32),
            stream: Box::default(),
            live: Vec::new(),
            xadd_at: Vec::new(),
            placeholders: Vec::new(),
            placed: 0,
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

    /// Starts a batch: its command (`DEL` first for the key's first one with
    /// `--replace`), then its arguments are written as they come, straight into
    /// the output, where they stay. Its argument count is not known yet: the
    /// header gets a placeholder of as many digits as the count is likely to
    /// have (a key's first batch: 2, as most aggregates are small; later ones: a
    /// full batch's), which [`RespRender::close_batch`] overwrites, moving the
    /// batch only when the count has another number of digits (then as much
    /// copying as staging the arguments elsewhere costs every time). While the
    /// output is live (a key read again to be written out as it is rendered),
    /// an [`Out::step`] may write out what is buffered: the batch is then held
    /// in `args` until it is complete.
    fn open_batch(&mut self, out: &mut Out<'_>, key: &[u8]) {
        if self.written == 0 && self.set.replace {
            command(out, &[b"DEL", key]);
        }
        self.staged = out.is_live();
        let digits = if self.written == 0 {
            2
        } else {
            self.full_digits[self.per - 1]
        };
        let dst: &mut Vec<u8> = if self.staged {
            self.args.clear();
            &mut self.args
        } else {
            out
        };
        self.batch_at = dst.len();
        dst.push(b'*');
        dst.extend_from_slice(&b"00000000000000000000"[..digits]);
        dst.extend_from_slice(b"\r\n");
        bulk(dst, self.cmd);
        bulk(dst, key);
        self.batch_digits = digits;
        self.args_at = dst.len();
    }

    /// Completes the pending batch's command: its argument count in its header.
    fn close_batch(&mut self, out: &mut Out<'_>) {
        if self.nargs == 0 {
            return;
        }
        let mut b = itoa::Buffer::new();
        let n = b.format(2 + self.nargs).as_bytes();
        let dst: &mut Vec<u8> = if self.staged { &mut self.args } else { out };
        let (from, to) = (self.batch_at + 1, self.batch_at + 1 + self.batch_digits);
        // Otherwise the key's output was dropped (it overflowed, see
        // `Out::step`): it is rendered again.
        if to <= dst.len() {
            if n.len() == self.batch_digits {
                dst[from..to].copy_from_slice(n);
            } else {
                dst.splice(from..to, n.iter().copied());
            }
        }
        if self.staged {
            out.extend_from_slice(&self.args);
            self.args.clear();
        }
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
        if self.nargs == 0 {
            self.open_batch(out, head.key);
        }
        self.written += 1;
        let score = matches!(el, Element::Member { .. });
        self.nargs += parts.iter().flatten().count() + usize::from(score);
        self.close_batch(out);
        if let Element::Member { score, .. } = *el {
            self.score.clear();
            write_score(&mut self.score, score);
            bulk(out, &self.score);
        }
        for p in parts.into_iter().flatten() {
            bulk_stepped(out, p);
        }
    }

    /// A stream entry: its `XADD`, after the placeholders that go before it
    /// when they are known (the stream is read again, live).
    #[inline]
    fn stream_entry(&mut self, out: &mut Out<'_>, key: &[u8], e: &StreamEntryRef<'_>) {
        placeholders_before(out, key, &self.placeholders, &mut self.placed, Some(e.id));
        self.live.push(e.id);
        self.xadd_at.push(out.len());
        xadd(out, key, e.id, e.len(), e.fields());
    }

    /// The commands of a whole stream (read whole: from a replayed AOF).
    fn stream_commands(&mut self, out: &mut Out<'_>, key: &[u8], s: &Stream) {
        let live: Vec<StreamId> = s.entries.iter().map(|e| e.id).collect();
        let dangling = dangling_ids(s, &live);
        let mut d = 0;
        for e in &s.entries {
            placeholders_before(out, key, &dangling, &mut d, Some(e.id));
            xadd(
                out,
                key,
                e.id,
                e.fields.len(),
                e.fields.iter().map(|(f, v)| (Str::Bytes(f), Str::Bytes(v))),
            );
            out.step();
        }
        placeholders_before(out, key, &dangling, &mut d, None);
        self.stream_rest(out, key, s, &live, &dangling);
    }

    /// The end of a stream rendered element by element (its entries were
    /// written as they came): the placeholders of deleted pending entries, then
    /// what follows the entries.
    fn end_stream(&mut self, out: &mut Out<'_>, key: &[u8]) {
        let s = std::mem::take(&mut self.stream);
        let dangling = dangling_ids(&s, &self.live);
        if out.is_live() {
            // The key is read again to be written out as it is rendered: the
            // placeholders were known from the first reading (`placeholders`)
            // and written among the entries as they came.
            debug_assert_eq!(dangling, self.placeholders, "placeholders known ahead");
            placeholders_before(out, key, &self.placeholders, &mut self.placed, None);
        } else {
            if !dangling.is_empty() {
                self.insert_placeholders(out, key, &dangling);
            }
            // For a reading again of this key, live (see `begin`).
            self.placeholders.clone_from(&dangling);
        }
        let live = std::mem::take(&mut self.live);
        self.stream_rest(out, key, &s, &live, &dangling);
        self.live = live;
        self.stream = s;
    }

    /// Inserts the placeholder `XADD`s of `dangling` (sorted) among the entries'
    /// `XADD`s written in the output (at `xadd_at`): a rare case (pending entries
    /// of deleted entries), paid by moving the key's commands once.
    #[cold]
    fn insert_placeholders(&self, out: &mut Out<'_>, key: &[u8], dangling: &[StreamId]) {
        let start = self.xadd_at.first().copied().unwrap_or(out.len());
        // Otherwise the key's output was dropped (it overflowed, see
        // `Out::step`): it is rendered again.
        let sound = start <= out.len()
            && self.xadd_at.windows(2).all(|w| w[0] <= w[1])
            && self.xadd_at.last().is_none_or(|&x| x <= out.len());
        if !sound {
            return;
        }
        let tail = out[start..].to_vec();
        out.truncate(start);
        let mut d = 0;
        for (i, id) in self.live.iter().enumerate() {
            placeholders_before(out, key, dangling, &mut d, Some(*id));
            let from = self.xadd_at[i] - start;
            let to = self.xadd_at.get(i + 1).map_or(tail.len(), |&x| x - start);
            out.extend_from_slice(&tail[from..to]);
        }
        placeholders_before(out, key, dangling, &mut d, None);
    }

    /// What follows a stream's entries (and placeholders): `XSETID`, groups,
    /// consumers and their pending entries, the removal of the placeholders,
    /// IDMP state. `live`: the ids of the entries; `dangling`: those of the
    /// placeholders ([`dangling_ids`]).
    fn stream_rest(
        &mut self,
        out: &mut Out<'_>,
        key: &[u8],
        s: &Stream,
        live: &[StreamId],
        dangling: &[StreamId],
    ) {
        let mut ib = itoa::Buffer::new();
        if live.is_empty() && dangling.is_empty() {
            command(out, &[b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]);
        }
        // Before the groups: ENTRIESREAD is capped at entries-added.
        let placed = (live.len() + dangling.len()) as u64;
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
            let first_live = live.first().copied();
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

/// The ids pending in a group of `s` whose entry is not among `live` (sorted):
/// XCLAIM only claims existing entries, so they are added as placeholders and
/// removed after the claims (their entries were deleted, by XDEL or trimming,
/// after delivery).
fn dangling_ids(s: &Stream, live: &[StreamId]) -> Vec<StreamId> {
    let mut dangling: Vec<StreamId> = s
        .groups
        .iter()
        .flat_map(|g| g.pel.iter().map(|p| p.id))
        .filter(|id| live.binary_search(id).is_err())
        .collect();
    dangling.sort_unstable();
    dangling.dedup();
    dangling
}

/// `XADD key id field value …`.
#[inline]
fn xadd<'a>(
    out: &mut Out<'_>,
    key: &[u8],
    id: StreamId,
    nfields: usize,
    fields: impl Iterator<Item = (Str<'a>, Str<'a>)>,
) {
    let mut idbuf = [0u8; 41];
    let n = write_id_into(&mut idbuf, id);
    header(out, 3 + 2 * nfields);
    bulk(out, b"XADD");
    bulk(out, key);
    bulk(out, &idbuf[..n]);
    for (f, v) in fields {
        bulk_stepped(out, f);
        bulk_stepped(out, v);
    }
}

/// The placeholders `ids[*next..]` (sorted) with an id below `before` (all of
/// them with `None`), `*next` moved past them: placeholders merged in id order
/// with the entries' `XADD`s.
fn placeholders_before(
    out: &mut Vec<u8>,
    key: &[u8],
    ids: &[StreamId],
    next: &mut usize,
    before: Option<StreamId>,
) {
    while let Some(&id) = ids.get(*next).filter(|&&id| before.is_none_or(|b| id < b)) {
        placeholder(out, key, id);
        *next += 1;
    }
}

/// The placeholder entry `XADD key id x y` of a deleted pending entry.
fn placeholder(out: &mut Vec<u8>, key: &[u8], id: StreamId) {
    let mut idbuf = Vec::with_capacity(41);
    write_id(&mut idbuf, id);
    command(out, &[b"XADD", key, &idbuf, b"x", b"y"]);
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
    if n < 10 {
        out.extend_from_slice(&[b'*', DIGITS[2 * n + 1], b'\r', b'\n']);
    } else {
        out.push(b'*');
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// The two-digit decimal texts of 0 to 99.
const DIGITS: &[u8; 200] = b"\
0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/// Appends one bulk string. A short one (most elements) is written with
/// fixed-size stores, without a call to `memcpy` for a few bytes: its space is
/// appended zeroed, filled, then cut to size.
#[allow(clippy::inline_always)] // measured: 7% of the instructions of a dump otherwise
#[inline(always)]
fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len();
    if n < SHORT {
        let at = out.len();
        out.extend_from_slice(&[0u8; SHORT + 7]);
        let d = &mut out[at..at + SHORT + 7];
        let h = if n < 10 {
            d[..4].copy_from_slice(&[b'$', DIGITS[2 * n + 1], b'\r', b'\n']);
            4
        } else {
            d[..5].copy_from_slice(&[b'$', DIGITS[2 * n], DIGITS[2 * n + 1], b'\r', b'\n']);
            5
        };
        copy_short(&mut d[h..h + SHORT], b);
        d[h + n] = b'\r';
        d[h + n + 1] = b'\n';
        out.truncate(at + h + n + 2);
    } else {
        out.reserve(n + 24);
        out.push(b'$');
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(b);
        out.extend_from_slice(b"\r\n");
    }
}

/// Bulk strings shorter than this are written by [`copy_short`].
const SHORT: usize = 32;

/// Copies `b` (shorter than [`SHORT`]) to the start of `d` with two
/// overlapping fixed-size copies.
#[allow(clippy::inline_always)]
#[inline(always)]
fn copy_short(d: &mut [u8], b: &[u8]) {
    let n = b.len();
    match n {
        0 => {}
        1..=3 => {
            d[0] = b[0];
            d[n / 2] = b[n / 2];
            d[n - 1] = b[n - 1];
        }
        4..=7 => {
            d[..4].copy_from_slice(&b[..4]);
            d[n - 4..n].copy_from_slice(&b[n - 4..]);
        }
        8..=16 => {
            d[..8].copy_from_slice(&b[..8]);
            d[n - 8..n].copy_from_slice(&b[n - 8..]);
        }
        _ => {
            d[..16].copy_from_slice(&b[..16]);
            d[n - 16..n].copy_from_slice(&b[n - 16..]);
        }
    }
}

/// Appends a string element as a bulk string (integers as their decimal text).
#[allow(clippy::inline_always)]
#[inline(always)]
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

/// Writes `ms-seq` at the start of `buf`; returns its length.
fn write_id_into(buf: &mut [u8; 41], id: StreamId) -> usize {
    let mut b = itoa::Buffer::new();
    let ms = b.format(id.ms).as_bytes();
    buf[..ms.len()].copy_from_slice(ms);
    buf[ms.len()] = b'-';
    let n = ms.len() + 1;
    let seq = b.format(id.seq).as_bytes();
    buf[n..n + seq.len()].copy_from_slice(seq);
    n + seq.len()
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
        if head.kind == redis_persist::model::KeyType::Stream {
            self.start_key(out, head);
            *self.stream = Stream::default();
            self.live.clear();
            self.xadd_at.clear();
            if !out.is_live() {
                self.placeholders.clear();
            }
            self.placed = 0;
            return;
        }
        self.select(out, head.db);
        let (cmd, per): (&'static [u8], usize) = match head.kind {
            redis_persist::model::KeyType::List => (b"RPUSH", 1),
            redis_persist::model::KeyType::Set => (b"SADD", 1),
            redis_persist::model::KeyType::Zset => (b"ZADD", 2),
            _ => (b"HSET", 2),
        };
        (self.cmd, self.per) = (cmd, per);
        self.nargs = 0;
        self.written = 0;
        self.ttls.clear();
    }

    #[inline]
    fn element(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, el: &Element<'_>) {
        // Checks that may leave the element out or to `large_element`, before a
        // batch is opened for it.
        match *el {
            Element::Item(s) | Element::String(s) if str_len(s) > BATCH_BYTES => {
                return self.large_element(out, head, el);
            }
            Element::Member { member, .. } if str_len(member) > BATCH_BYTES => {
                return self.large_element(out, head, el);
            }
            Element::Field { field, value, .. }
                if str_len(field) + str_len(value) > BATCH_BYTES =>
            {
                return self.large_element(out, head, el);
            }
            Element::Field {
                field,
                expire_ms: Some(t),
                ..
            } => {
                if t < self.set.now_ms && !self.set.include_expired {
                    self.stats.expired_fields += 1;
                    return;
                }
                self.ttls.push((t, field.to_vec()));
            }
            Element::Item(_)
            | Element::String(_)
            | Element::Member { .. }
            | Element::Field { .. } => {}
            Element::StreamEntry(e) => return self.stream_entry(out, head.key, &e),
            Element::Module(_) => return,
            _ => return redis_persist::rdb::push_stream_element(&mut self.stream, *el),
        }
        if self.nargs == 0 {
            self.open_batch(out, head.key);
        }
        let dst: &mut Vec<u8> = if self.staged { &mut self.args } else { out };
        match *el {
            Element::Item(s) | Element::String(s) => {
                bulk_str(dst, s);
                self.nargs += 1;
            }
            Element::Member { member, score } => {
                self.score.clear();
                write_score(&mut self.score, score);
                bulk(dst, &self.score);
                bulk_str(dst, member);
                self.nargs += 2;
            }
            Element::Field { field, value, .. } => {
                bulk_str(dst, field);
                bulk_str(dst, value);
                self.nargs += 2;
            }
            _ => {}
        }
        let bytes = dst.len().saturating_sub(self.args_at);
        self.written += 1;
        if self.nargs >= self.set.batch * self.per || bytes >= BATCH_BYTES {
            self.close_batch(out);
        }
    }

    fn end(&mut self, out: &mut Out<'_>, head: &KeyHead<'_>, empty: bool) {
        if head.kind == redis_persist::model::KeyType::Stream {
            self.end_stream(out, head.key);
            Self::expire(out, head);
            self.stats.keys += 1;
            return;
        }
        self.close_batch(out);
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

    fn stream_events(&self) -> bool {
        true
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

    /// Parses RESP commands strictly (no leading zeros, exact lengths).
    fn parse(mut b: &[u8]) -> Vec<Vec<Vec<u8>>> {
        fn line(b: &mut &[u8], tag: u8) -> usize {
            assert_eq!(
                b[0],
                tag,
                "{:?}",
                String::from_utf8_lossy(&b[..b.len().min(20)])
            );
            let end = b.windows(2).position(|w| w == b"\r\n").unwrap();
            let text = std::str::from_utf8(&b[1..end]).unwrap();
            assert!(text == "0" || !text.starts_with('0'), "{text}");
            *b = &b[end + 2..];
            text.parse().unwrap()
        }
        let mut cmds = Vec::new();
        while !b.is_empty() {
            let n = line(&mut b, b'*');
            let mut args = Vec::new();
            for _ in 0..n {
                let len = line(&mut b, b'$');
                args.push(b[..len].to_vec());
                assert_eq!(&b[len..len + 2], b"\r\n");
                b = &b[len + 2..];
            }
            cmds.push(args);
        }
        cmds
    }

    /// Lists, sets, sorted sets and hashes of every size around the batch
    /// boundaries and the header guesses (1 to 3 digits), with elements over
    /// the byte cap, buffered or written out live: every command's count is
    /// right, batches hold at most `batch` elements, and the arguments are the
    /// elements in order.
    #[test]
    fn batches_count_their_arguments() {
        use redis_persist::model::KeyType;
        let big = vec![b'x'; BATCH_BYTES + 5];
        for batch in [1usize, 3, 7, 49, 50, 128] {
            for kind in [KeyType::List, KeyType::Set, KeyType::Zset, KeyType::Hash] {
                for n in [1usize, 2, 4, 5, 9, 48, 49, 50, 97, 98, 130, 300] {
                    for (live, large) in
                        [(false, false), (true, false), (false, true), (true, true)]
                    {
                        // Elements over the byte cap: a few sizes are enough.
                        if large && !(matches!(batch, 3 | 128) && matches!(n, 9 | 50 | 130)) {
                            continue;
                        }
                        let item = |i: usize| -> Vec<u8> {
                            if large && i % 37 == 5 {
                                big.clone()
                            } else {
                                format!("e{i}").into_bytes()
                            }
                        };
                        let mut r = RespRender::new(Settings {
                            batch,
                            replace: true,
                            include_expired: true,
                            now_ms: 0,
                        });
                        let head = KeyHead {
                            db: 0,
                            key: b"k",
                            kind,
                            encoding: None,
                            expire_ms: Some(5),
                            lru_idle: None,
                            lfu_freq: None,
                            key_meta: &[],
                        };
                        let mut written = Vec::new();
                        let mut sink = |b: &[u8]| {
                            written.extend_from_slice(b);
                            Ok(())
                        };
                        let mut out = Out::with_sink(Vec::new(), &mut sink);
                        out.begin_key(false);
                        if live {
                            out.go_live();
                        }
                        r.begin(&mut out, &head);
                        let items: Vec<Vec<u8>> = (0..n).map(item).collect();
                        for (i, it) in items.iter().enumerate() {
                            let s = Str::Bytes(it);
                            let el = match kind {
                                KeyType::Zset => Element::Member {
                                    member: s,
                                    score: i as f64,
                                },
                                KeyType::Hash => Element::Field {
                                    field: s,
                                    value: Str::Int(i as i64),
                                    expire_ms: None,
                                },
                                _ => Element::Item(s),
                            };
                            r.element(&mut out, &head, &el);
                            out.step();
                        }
                        r.end(&mut out, &head, false);
                        out.end_key();
                        out.flush().unwrap();
                        drop(out);
                        let what =
                            format!("{kind:?} n={n} batch={batch} live={live} large={large}");
                        let cmds = parse(&written);
                        let (first, last) = (&cmds[..2], &cmds[cmds.len() - 1]);
                        assert_eq!(first[0], [b"SELECT".to_vec(), b"0".to_vec()], "{what}");
                        assert_eq!(first[1], [b"DEL".to_vec(), b"k".to_vec()], "{what}");
                        assert_eq!(last[0], b"PEXPIREAT", "{what}");
                        let per = if matches!(kind, KeyType::Zset | KeyType::Hash) {
                            2
                        } else {
                            1
                        };
                        let mut args = Vec::new();
                        for c in &cmds[2..cmds.len() - 1] {
                            assert_eq!(&c[1], b"k", "{what}");
                            assert!(c.len() - 2 <= batch * per, "{what}: {}", c.len());
                            args.extend_from_slice(&c[2..]);
                        }
                        let want: Vec<Vec<u8>> = items
                            .iter()
                            .enumerate()
                            .flat_map(|(i, it)| match kind {
                                KeyType::Zset => vec![i.to_string().into_bytes(), it.clone()],
                                KeyType::Hash => vec![it.clone(), i.to_string().into_bytes()],
                                _ => vec![it.clone()],
                            })
                            .collect();
                        assert!(args == want, "{what}");
                    }
                }
            }
        }
    }
}
