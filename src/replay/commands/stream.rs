//! Stream commands: entries (`XADD`, `XTRIM`, `XDEL`, `XSETID`, and Redis 8.2's
//! `XDELEX`), consumer groups (`XGROUP`), the pending-entries list (`XCLAIM` in
//! every form Redis writes, `XACK`, `XAUTOCLAIM`, `XACKDEL`), and Redis 8.6's
//! idempotent producers (`XADD … IDMP pid iid` / `IDMPAUTO pid`, `XCFGSET`,
//! `XIDMPRECORD`).
//!
//! Trimming (`XADD`, `XTRIM`) honours Redis 8.2's reference policies
//! (`KEEPREF`, `DELREF`, `ACKED`, see [`RefPolicy`]).
//!
//! Approximate trimming (`~`) is applied exactly: Redis writes `=` with the
//! resulting threshold in 6.2+ AOFs, and the node layout that decides what an
//! approximate trim removes is not part of the dataset.
//!
//! Deletion policies (Redis 8.2, on `XADD`/`XTRIM` trimming, `XDELEX`,
//! `XACKDEL`): `KEEPREF` (the default) leaves consumer groups' pending entries
//! alone, `DELREF` removes the deleted entries from every group's PEL, `ACKED`
//! deletes only entries no group still references (every group has read past
//! them and none has them pending).
//!
//! IDMP, as an 8.6 server replays its own AOF: a new (pid, iid) is recorded with
//! the entry's id (the producer keeps its newest `maxsize` iids) and counted in
//! `iids_added`; a known one makes `XADD` add nothing and counts a duplicate.
//! The server writes a successful `XADD … IDMP` with the generated id and a
//! duplicate one as received (`*`), so an `IDMPAUTO … *` command in an AOF is a
//! duplicate. The iid of `IDMPAUTO` is a digest the server computes from the
//! fields, which is not reproduced: its entry is added but its IDMP record is
//! not kept (counted in [`ReplayStats::idmp_auto_unrecorded`]; an AOF rewrite
//! carries such records as `XIDMPRECORD` with the iid bytes, which replay
//! exactly). IDMP records are never expired by time here (the server drops
//! iids older than the duration in the background).
//!
//! [`ReplayStats::idmp_auto_unrecorded`]: crate::replay::ReplayStats::idmp_auto_unrecorded

use super::super::Engine;
use super::super::args::{self, CmdResult, SYNTAX, int, is, sid};
use super::super::dataset::{ConsumerState, Group, Idmp, Nack, StreamValue, Value};
use crate::model::{StreamId, StreamIdmp};

const NOGROUP: &str = "NOGROUP No such key or consumer group";

#[derive(Clone, Copy)]
enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// Parses trimming options at `a[*i]` if present.
fn parse_trim(a: &[&[u8]], i: &mut usize) -> Result<Option<Trim>, String> {
    let o = a[*i];
    let maxlen = is(o, "maxlen");
    if !(maxlen || is(o, "minid")) {
        return Ok(None);
    }
    *i += 1;
    if *i < a.len() && (a[*i] == b"~" || a[*i] == b"=") {
        *i += 1;
    }
    let Some(t) = a.get(*i) else {
        return Err(SYNTAX.into());
    };
    let trim = if maxlen {
        let n = int(t)?;
        if n < 0 {
            return Err("ERR The MAXLEN argument must be >= 0.".into());
        }
        Trim::MaxLen(n as u64)
    } else {
        Trim::MinId(sid(t)?)
    };
    *i += 1;
    if *i + 1 < a.len() && is(a[*i], "limit") {
        // LIMIT is left over from an approximate trim; ignored on replay.
        int(a[*i + 1])?;
        *i += 2;
    }
    Ok(Some(trim))
}

/// What deleting an entry does to the consumer groups' references to it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RefPolicy {
    KeepRef,
    DelRef,
    Acked,
}

/// Parses `KEEPREF` / `DELREF` / `ACKED` at `a[i]`.
fn ref_policy(arg: &[u8]) -> Option<RefPolicy> {
    if is(arg, "keepref") {
        Some(RefPolicy::KeepRef)
    } else if is(arg, "delref") {
        Some(RefPolicy::DelRef)
    } else if is(arg, "acked") {
        Some(RefPolicy::Acked)
    } else {
        None
    }
}

/// True while some group has not read past `id` or has it pending.
fn referenced(s: &StreamValue, id: StreamId) -> bool {
    s.groups
        .values()
        .any(|g| g.last_id < id || g.pel.contains_key(&id))
}

/// Removes `id` from every group's PEL and its consumer's.
fn drop_refs(s: &mut StreamValue, id: StreamId) {
    for g in s.groups.values_mut() {
        if let Some(n) = g.pel.remove(&id) {
            if let Some(c) = g.consumers.get_mut(&n.consumer) {
                c.pel.remove(&id);
            }
        }
    }
}

fn apply_trim(s: &mut StreamValue, t: Trim, policy: RefPolicy) {
    let over = |s: &StreamValue, id: StreamId| match t {
        Trim::MaxLen(n) => s.entries.len() as u64 > n,
        Trim::MinId(min) => id < min,
    };
    if policy == RefPolicy::Acked {
        // Referenced entries are kept and skipped: the trim goes on past them.
        let ids: Vec<StreamId> = s.entries.keys().copied().collect();
        for id in ids {
            if !over(s, id) {
                break;
            }
            if !referenced(s, id) {
                s.entries.remove(&id);
            }
        }
        return;
    }
    while let Some(id) = s.entries.first_key_value().map(|(id, _)| *id) {
        if !over(s, id) {
            break;
        }
        s.entries.pop_first();
        if policy == RefPolicy::DelRef {
            drop_refs(s, id);
        }
    }
}

impl Idmp {
    /// Records (pid, iid) → id unless the producer already has the iid; the
    /// producer keeps its newest `maxsize` iids. True when recorded.
    fn record(&mut self, pid: &[u8], iid: &[u8], id: StreamId) -> bool {
        let p = self.producers.entry(pid.to_vec()).or_default();
        if p.iter().any(|(i, _)| i.as_ref() == iid) {
            return false;
        }
        p.push_back((iid.into(), id));
        while p.len() as u64 > self.maxsize {
            p.pop_front();
        }
        true
    }

    fn has(&self, pid: &[u8], iid: &[u8]) -> bool {
        self.producers
            .get(pid)
            .is_some_and(|p| p.iter().any(|(i, _)| i.as_ref() == iid))
    }
}

fn idmp_of(s: &mut StreamValue) -> &mut Idmp {
    s.idmp.get_or_insert_with(Box::default)
}

/// `XADD`'s IDMP option: (pid, iid), the iid `None` for `IDMPAUTO`.
type IdmpArg<'a> = (&'a [u8], Option<&'a [u8]>);

fn stream_or_create<'a>(e: &'a mut Engine, key: &[u8]) -> Result<&'a mut StreamValue, String> {
    if !e.exists(key) {
        e.set_key(key, Value::Stream(Box::default()));
    }
    e.get_stream(key).map(|s| s.expect("just created"))
}

pub fn xadd(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let mut i = 2;
    let mut nomkstream = false;
    let mut trim = None;
    let mut policy = RefPolicy::KeepRef;
    let mut policy_given = false;
    let mut idmp: Option<IdmpArg<'_>> = None;
    while i < a.len() {
        if is(a[i], "nomkstream") {
            nomkstream = true;
            i += 1;
        } else if let Some(p) = ref_policy(a[i]).filter(|_| !policy_given) {
            // A second one is taken for the id, as Redis does.
            policy = p;
            policy_given = true;
            i += 1;
        } else if is(a[i], "idmp") || is(a[i], "idmpauto") {
            if idmp.is_some() {
                return Err("ERR IDMP/IDMPAUTO specified multiple times".into());
            }
            let auto = is(a[i], "idmpauto");
            let need = if auto { 2 } else { 3 };
            if i + need > a.len() {
                return Err(SYNTAX.into());
            }
            let opt = if auto { "IDMPAUTO" } else { "IDMP" };
            if a[i + 1].is_empty() {
                return Err(format!("ERR {opt} requires a non-empty producer ID"));
            }
            let iid = (!auto).then(|| a[i + 2]);
            if iid.is_some_and(<[u8]>::is_empty) {
                return Err("ERR IDMP requires a non-empty idempotent ID".into());
            }
            idmp = Some((a[i + 1], iid));
            i += need;
        } else if let Some(t) = parse_trim(a, &mut i)? {
            trim = Some(t);
        } else {
            break;
        }
    }
    let Some(idarg) = a.get(i) else {
        return Err(super::wrong_args(a));
    };
    let fields = &a[i + 1..];
    if fields.is_empty() || !fields.len().is_multiple_of(2) {
        return Err(super::wrong_args(a));
    }
    // Explicit id, `ms-*` (seq auto), or `*`.
    let explicit: Option<(StreamId, bool)> = if *idarg == b"*" {
        None
    } else if let Some(ms) = idarg.strip_suffix(b"-*") {
        let ms = args::stream_id(ms, 0)
            .filter(|_| !ms.contains(&b'-'))
            .ok_or_else(|| sid(b"x").unwrap_err())?;
        Some((ms, false))
    } else {
        let seq_given = idarg.contains(&b'-');
        Some((sid(idarg)?, seq_given))
    };
    if let Some((id, true)) = explicit {
        if id == StreamId::new(0, 0) {
            return Err("ERR The ID specified in XADD must be greater than 0-0".into());
        }
    }
    if e.get_stream(a[1])?.is_none() && nomkstream {
        return Ok(());
    }
    if let (Some((pid, iid)), Some(s)) = (idmp, e.get_stream(a[1])?) {
        // A known iid adds nothing. An `IDMPAUTO … *` in an AOF is one the
        // server found known (it writes the id it generated otherwise).
        let dup = match iid {
            Some(iid) => s.idmp.as_ref().is_some_and(|st| st.has(pid, iid)),
            None => explicit.is_none(),
        };
        if dup {
            idmp_of(s).iids_duplicates += 1;
            return Ok(());
        }
    }
    let now = e.now_ms.max(0) as u64;
    let s = stream_or_create(e, a[1])?;
    let last = s.last_id;
    let id = match explicit {
        Some((id, true)) => id,
        Some((id, false)) => {
            if last.ms == id.ms {
                if last.seq == u64::MAX {
                    return Err("ERR The ID specified in XADD is equal or smaller than the target stream top item".into());
                }
                StreamId::new(id.ms, last.seq + 1)
            } else {
                id
            }
        }
        None => {
            if now > last.ms {
                StreamId::new(now, 0)
            } else if last.seq == u64::MAX {
                if last.ms == u64::MAX {
                    return Err("ERR The stream has exhausted the last possible ID, unable to add more items".into());
                }
                StreamId::new(last.ms + 1, 0)
            } else {
                StreamId::new(last.ms, last.seq + 1)
            }
        }
    };
    if id <= last {
        e.drop_if_empty(a[1]);
        return Err(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item"
                .into(),
        );
    }
    let pairs = super::super::dataset::Fields::from_pairs(fields.chunks(2).map(|p| (p[0], p[1])));
    s.entries.insert(id, pairs);
    s.last_id = id;
    s.entries_added += 1;
    let mut unrecorded = false;
    if let Some((pid, iid)) = idmp {
        let st = idmp_of(s);
        st.iids_added += 1;
        match iid {
            Some(iid) => {
                st.record(pid, iid, id);
            }
            None => unrecorded = true,
        }
    }
    if let Some(t) = trim {
        apply_trim(s, t, policy);
    }
    if unrecorded {
        e.note_idmp_auto_unrecorded();
    }
    Ok(())
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT n] [KEEPREF|DELREF|ACKED]`
/// (the options in any order, as Redis parses them).
pub fn xtrim(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let mut i = 2;
    let mut trim = None;
    let mut policy = RefPolicy::KeepRef;
    let mut policy_given = false;
    while i < a.len() {
        if let Some(p) = ref_policy(a[i]) {
            if policy_given {
                return Err(SYNTAX.into());
            }
            policy = p;
            policy_given = true;
            i += 1;
        } else if let Some(t) = parse_trim(a, &mut i)? {
            if trim.is_some() {
                return Err(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
                        .into(),
                );
            }
            trim = Some(t);
        } else {
            return Err(SYNTAX.into());
        }
    }
    let Some(t) = trim else {
        return Err(SYNTAX.into());
    };
    if let Some(s) = e.get_stream(a[1])? {
        apply_trim(s, t, policy);
    }
    Ok(())
}

/// Parses `[KEEPREF|DELREF|ACKED] IDS n id…` from `a[i]`.
fn policy_and_ids(a: &[&[u8]], mut i: usize) -> Result<(RefPolicy, Vec<StreamId>), String> {
    let mut policy = RefPolicy::KeepRef;
    if let Some(p) = a.get(i).and_then(|x| ref_policy(x)) {
        policy = p;
        i += 1;
    }
    if !a.get(i).is_some_and(|x| is(x, "ids")) || i + 1 >= a.len() {
        return Err(SYNTAX.into());
    }
    let n = int(a[i + 1])?;
    let ids = &a[i + 2..];
    if n <= 0 || n as usize != ids.len() {
        return Err("ERR Number of IDs must be a positive integer matching the IDs given".into());
    }
    let ids = ids.iter().map(|x| sid(x)).collect::<Result<Vec<_>, _>>()?;
    Ok((policy, ids))
}

/// Deletes entry `id` (if present) under `policy`, as `XDELEX` does.
fn delete_entry(s: &mut StreamValue, id: StreamId, policy: RefPolicy) {
    if !s.entries.contains_key(&id) || (policy == RefPolicy::Acked && referenced(s, id)) {
        return;
    }
    s.entries.remove(&id);
    if id > s.max_deleted_id {
        s.max_deleted_id = id;
    }
    if policy == RefPolicy::DelRef {
        drop_refs(s, id);
    }
}

/// `XDELEX key [KEEPREF|DELREF|ACKED] IDS n id…` (Redis 8.2).
pub fn xdelex(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (policy, ids) = policy_and_ids(a, 2)?;
    let Some(s) = e.get_stream(a[1])? else {
        return Ok(());
    };
    for id in ids {
        delete_entry(s, id, policy);
    }
    Ok(())
}

/// `XACKDEL key group [KEEPREF|DELREF|ACKED] IDS n id…` (Redis 8.2): each id
/// pending in the group is acknowledged, then deleted under the policy; an id
/// the group does not have pending is left alone.
pub fn xackdel(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (policy, ids) = policy_and_ids(a, 3)?;
    let Some(s) = e.get_stream(a[1])? else {
        return Err(NOGROUP.into());
    };
    if !s.groups.contains_key(a[2]) {
        return Err(NOGROUP.into());
    }
    for id in ids {
        let Some(g) = s.groups.get_mut(a[2]) else {
            break;
        };
        let Some(n) = g.pel.remove(&id) else {
            continue;
        };
        if let Some(c) = g.consumers.get_mut(&n.consumer) {
            c.pel.remove(&id);
        }
        delete_entry(s, id, policy);
    }
    Ok(())
}

/// `XCFGSET key [IDMP-DURATION s] [IDMP-MAXSIZE n]` (Redis 8.6): a change of
/// either clears every producer's iids.
pub fn xcfgset(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (mut duration, mut maxsize) = (None, None);
    let mut i = 2;
    if i >= a.len() {
        return Err("ERR At least one parameter must be specified".into());
    }
    while i < a.len() {
        if i + 1 >= a.len() {
            return Err(SYNTAX.into());
        }
        let n = int(a[i + 1]);
        if is(a[i], "idmp-duration") {
            match n {
                Ok(n) if n >= 0 && StreamIdmp::DURATION_RANGE.contains(&(n as u64)) => {
                    duration = Some(n as u64);
                }
                _ => return Err("ERR IDMP-DURATION must be between 1 and 86400 seconds".into()),
            }
        } else if is(a[i], "idmp-maxsize") {
            match n {
                Ok(n) if n >= 0 && StreamIdmp::MAXSIZE_RANGE.contains(&(n as u64)) => {
                    maxsize = Some(n as u64);
                }
                _ => return Err("ERR IDMP-MAXSIZE must be between 1 and 10000 entries".into()),
            }
        } else {
            return Err(SYNTAX.into());
        }
        i += 2;
    }
    let Some(s) = e.get_stream(a[1])? else {
        return Err("ERR no such key".into());
    };
    let st = idmp_of(s);
    let d = duration.unwrap_or(st.duration);
    let m = maxsize.unwrap_or(st.maxsize);
    if d != st.duration || m != st.maxsize {
        st.duration = d;
        st.maxsize = m;
        st.producers.clear();
    }
    Ok(())
}

/// `XIDMPRECORD key pid iid id` (Redis 8.6, written by its AOF rewrite): records
/// an iid for an existing entry; a known iid changes nothing.
pub fn xidmprecord(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if a.len() != 5 {
        return Err(super::wrong_args(a));
    }
    let id = sid(a[4])?;
    let Some(s) = e.get_stream(a[1])? else {
        return Err("ERR no such key".into());
    };
    if !s.entries.contains_key(&id) {
        return Err("ERR No such message in stream".into());
    }
    let st = idmp_of(s);
    if st.record(a[2], a[3], id) {
        st.iids_added += 1;
    }
    Ok(())
}

pub fn xdel(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let ids = a[2..]
        .iter()
        .map(|x| sid(x))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(s) = e.get_stream(a[1])? else {
        return Ok(());
    };
    for id in ids {
        if s.entries.remove(&id).is_some() && id > s.max_deleted_id {
            s.max_deleted_id = id;
        }
    }
    Ok(())
}

fn group_mut<'a>(
    e: &'a mut Engine,
    key: &[u8],
    group: &[u8],
) -> Result<Option<&'a mut Group>, String> {
    Ok(e.get_stream(key)?.and_then(|s| s.groups.get_mut(group)))
}

pub fn xack(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let ids = a[3..]
        .iter()
        .map(|x| sid(x))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(g) = group_mut(e, a[1], a[2])? else {
        return Ok(());
    };
    for id in ids {
        if let Some(n) = g.pel.remove(&id) {
            if let Some(c) = g.consumers.get_mut(&n.consumer) {
                c.pel.remove(&id);
            }
        }
    }
    Ok(())
}

fn ensure_consumer<'a>(g: &'a mut Group, name: &[u8], now: i64) -> &'a mut ConsumerState {
    g.consumers
        .entry(name.to_vec())
        .or_insert_with(|| ConsumerState {
            seen_time_ms: now,
            active_time_ms: -1,
            pel: std::collections::BTreeSet::new(),
        })
}

/// Moves (or creates) the pending entry `id` to `consumer`.
fn claim(
    g: &mut Group,
    id: StreamId,
    consumer: &[u8],
    delivery: i64,
    retry: Option<u64>,
    justid: bool,
    now: i64,
) {
    let nack = g.pel.entry(id).or_insert_with(|| Nack {
        delivery_time_ms: now,
        delivery_count: 1,
        consumer: Vec::new(),
    });
    let old = std::mem::take(&mut nack.consumer);
    nack.delivery_time_ms = delivery;
    if let Some(r) = retry {
        nack.delivery_count = r;
    } else if !justid {
        nack.delivery_count += 1;
    }
    nack.consumer = consumer.to_vec();
    if !old.is_empty() && old != consumer {
        if let Some(c) = g.consumers.get_mut(&old) {
            c.pel.remove(&id);
        }
    }
    let c = ensure_consumer(g, consumer, now);
    c.seen_time_ms = now;
    c.active_time_ms = now;
    c.pel.insert(id);
}

pub fn xclaim(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let now = e.now_ms;
    let minidle = int(a[4])?;
    let mut j = 5;
    let mut ids = Vec::new();
    while j < a.len() {
        match args::stream_id(a[j], 0) {
            Some(id) if !a[j].is_empty() && a[j][0].is_ascii_digit() => ids.push(id),
            _ => break,
        }
        j += 1;
    }
    let (mut delivery, mut retry, mut force, mut justid, mut lastid) =
        (None, None, false, false, None);
    while j < a.len() {
        let o = a[j];
        let more = j + 1 < a.len();
        if is(o, "force") {
            force = true;
        } else if is(o, "justid") {
            justid = true;
        } else if is(o, "idle") && more {
            delivery = Some(now.saturating_sub(int(a[j + 1])?));
            j += 1;
        } else if is(o, "time") && more {
            delivery = Some(int(a[j + 1])?);
            j += 1;
        } else if is(o, "retrycount") && more {
            retry = Some(args::uint(a[j + 1])?);
            j += 1;
        } else if is(o, "lastid") && more {
            lastid = Some(sid(a[j + 1])?);
            j += 1;
        } else {
            return Err(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                String::from_utf8_lossy(o)
            ));
        }
        j += 1;
    }
    let delivery = match delivery {
        Some(d) if d >= 0 && d <= now => d,
        _ => now,
    };
    let Some(s) = e.get_stream(a[1])? else {
        return Err(NOGROUP.into());
    };
    let existing: Vec<bool> = ids.iter().map(|id| s.entries.contains_key(id)).collect();
    let Some(g) = s.groups.get_mut(a[2]) else {
        return Err(NOGROUP.into());
    };
    if let Some(l) = lastid {
        if l > g.last_id {
            g.last_id = l;
        }
    }
    // The consumer is created (and seen) before any id is looked at, so even
    // when none can be claimed (xclaimCommand since Redis 7.2; 7.0 created it
    // only when claiming an entry).
    ensure_consumer(g, a[3], now).seen_time_ms = now;
    for (id, exists) in ids.into_iter().zip(existing) {
        if !exists {
            // The entry is gone: drop it from the PEL.
            if let Some(n) = g.pel.remove(&id) {
                if let Some(c) = g.consumers.get_mut(&n.consumer) {
                    c.pel.remove(&id);
                }
            }
            continue;
        }
        let has = g.pel.contains_key(&id);
        if !has && !force {
            continue;
        }
        if has && minidle > 0 {
            let idle = now.saturating_sub(g.pel[&id].delivery_time_ms);
            if idle < minidle {
                continue;
            }
        }
        claim(g, id, a[3], delivery, retry, justid, now);
    }
    Ok(())
}

pub fn xautoclaim(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let now = e.now_ms;
    let minidle = int(a[4])?.max(0);
    let start = sid(a[5])?;
    let mut count = 100i64;
    let mut justid = false;
    let mut j = 6;
    while j < a.len() {
        if is(a[j], "count") && j + 1 < a.len() {
            count = int(a[j + 1])?;
            if count < 1 {
                return Err("ERR COUNT must be > 0".into());
            }
            j += 2;
        } else if is(a[j], "justid") {
            justid = true;
            j += 1;
        } else {
            return Err(SYNTAX.into());
        }
    }
    let Some(s) = e.get_stream(a[1])? else {
        return Err(NOGROUP.into());
    };
    let live: std::collections::HashSet<StreamId> = s.entries.keys().copied().collect();
    let Some(g) = s.groups.get_mut(a[2]) else {
        return Err(NOGROUP.into());
    };
    let mut attempts = count.saturating_mul(10);
    let mut claimed = 0;
    let candidates: Vec<StreamId> = g.pel.range(start..).map(|(id, _)| *id).collect();
    for id in candidates {
        if attempts == 0 || claimed >= count {
            break;
        }
        attempts -= 1;
        if !live.contains(&id) {
            if let Some(n) = g.pel.remove(&id) {
                if let Some(c) = g.consumers.get_mut(&n.consumer) {
                    c.pel.remove(&id);
                }
            }
            continue;
        }
        if now.saturating_sub(g.pel[&id].delivery_time_ms) < minidle {
            continue;
        }
        claim(g, id, a[3], now, None, justid, now);
        claimed += 1;
    }
    Ok(())
}

fn entries_read_arg(a: &[&[u8]], i: usize) -> Result<i64, String> {
    if i >= a.len() {
        return Ok(-1);
    }
    if !is(a[i], "entriesread") || i + 2 != a.len() {
        return Err(SYNTAX.into());
    }
    let n = int(a[i + 1])?;
    if n < 0 && n != -1 {
        return Err("ERR value for ENTRIESREAD must be positive or -1".into());
    }
    Ok(n)
}

pub fn xgroup(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let sub = a[1];
    if a.len() < 4 {
        return Err(super::wrong_args(a));
    }
    let (key, gname) = (a[2], a[3]);
    let now = e.now_ms;
    if is(sub, "create") {
        if a.len() < 5 {
            return Err(super::wrong_args(a));
        }
        let mut i = 5;
        let mut mkstream = false;
        if i < a.len() && is(a[i], "mkstream") {
            mkstream = true;
            i += 1;
        }
        let entries_read = entries_read_arg(a, i)?;
        let exists = e.get_stream(key)?.is_some();
        let id = if a[4] == b"$" {
            e.get_stream(key)?
                .map_or(StreamId::default(), |s| s.last_id)
        } else {
            sid(a[4])?
        };
        if !exists {
            if !mkstream {
                return Err("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.".into());
            }
            stream_or_create(e, key)?;
        }
        let s = e.get_stream(key)?.expect("exists");
        if s.groups.contains_key(gname) {
            return Err("BUSYGROUP Consumer Group name already exists".into());
        }
        s.groups.insert(
            gname.to_vec(),
            Group {
                last_id: id,
                entries_read,
                ..Group::default()
            },
        );
        return Ok(());
    }
    let Some(s) = e.get_stream(key)? else {
        return Err("ERR The XGROUP subcommand requires the key to exist.".into());
    };
    if is(sub, "destroy") {
        s.groups.remove(gname);
        return Ok(());
    }
    let last_id = s.last_id;
    let Some(g) = s.groups.get_mut(gname) else {
        return Err(NOGROUP.into());
    };
    if is(sub, "setid") {
        if a.len() < 5 {
            return Err(super::wrong_args(a));
        }
        let id = if a[4] == b"$" { last_id } else { sid(a[4])? };
        let er = entries_read_arg(a, 5)?;
        g.last_id = id;
        g.entries_read = er;
    } else if is(sub, "createconsumer") {
        if a.len() != 5 {
            return Err(super::wrong_args(a));
        }
        ensure_consumer(g, a[4], now);
    } else if is(sub, "delconsumer") {
        if a.len() != 5 {
            return Err(super::wrong_args(a));
        }
        if let Some(c) = g.consumers.remove(a[4]) {
            for id in c.pel {
                g.pel.remove(&id);
            }
        }
    } else {
        return Err(format!(
            "ERR unknown subcommand '{}'",
            String::from_utf8_lossy(sub)
        ));
    }
    Ok(())
}

pub fn xsetid(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let id = sid(a[2])?;
    let (mut added, mut maxdel) = (None, None);
    let mut i = 3;
    while i < a.len() {
        if is(a[i], "entriesadded") && i + 1 < a.len() {
            let n = int(a[i + 1])?;
            if n < 0 {
                return Err("ERR entries_added must be positive".into());
            }
            added = Some(n as u64);
        } else if is(a[i], "maxdeletedid") && i + 1 < a.len() {
            let m = sid(a[i + 1])?;
            if id < m {
                return Err("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id".into());
            }
            maxdel = Some(m);
        } else {
            return Err(SYNTAX.into());
        }
        i += 2;
    }
    let Some(s) = e.get_stream(a[1])? else {
        return Err("ERR no such key".into());
    };
    if added.is_some_and(|n| (s.entries.len() as u64) > n) {
        return Err(
            "ERR The entries_added specified in XSETID is smaller than the target stream length"
                .into(),
        );
    }
    if let Some((top, _)) = s.entries.last_key_value() {
        if id < *top {
            return Err(
                "ERR The ID specified in XSETID is smaller than the target stream top item".into(),
            );
        }
    }
    s.last_id = id;
    if let Some(n) = added {
        s.entries_added = n;
    }
    if let Some(m) = maxdel {
        if m != StreamId::default() {
            s.max_deleted_id = m;
        }
    }
    Ok(())
}
