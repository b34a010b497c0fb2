//! Sorted-set commands, including the `*STORE` family.

use std::collections::HashMap;

use super::super::Engine;
use super::super::args::{self, CmdResult, MpopArgs, SYNTAX, int, is, mpop_args};
use super::super::dataset::{Slot, Value, Zset};

fn zset_or_create<'a>(e: &'a mut Engine, key: &[u8]) -> Result<&'a mut Zset, String> {
    if !e.exists(key) {
        e.set_key(key, Value::Zset(Box::default()));
    }
    e.get_zset(key).map(|z| z.expect("just created"))
}

pub fn zadd(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut incr) = (false, false, false, false, false);
    let mut i = 2;
    while i < a.len() {
        let o = a[i];
        if is(o, "nx") {
            nx = true;
        } else if is(o, "xx") {
            xx = true;
        } else if is(o, "gt") {
            gt = true;
        } else if is(o, "lt") {
            lt = true;
        } else if is(o, "ch") {
        } else if is(o, "incr") {
            incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = &a[i..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(SYNTAX.into());
    }
    if nx && xx {
        return Err("ERR XX and NX options at the same time are not compatible".into());
    }
    if (gt || lt) && nx || (gt && lt) {
        return Err("ERR GT, LT, and/or NX options at the same time are not compatible".into());
    }
    if incr && rest.len() > 2 {
        return Err("ERR INCR option supports a single increment-element pair".into());
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks(2) {
        pairs.push((args::float(p[0])?, p[1]));
    }
    if e.get_zset(a[1])?.is_none() {
        if xx {
            return Ok(());
        }
        zset_or_create(e, a[1])?;
    }
    let z = e.get_zset(a[1])?.expect("exists");
    let mut result = Ok(());
    for (score, m) in pairs {
        let Some(cur) = z.score(m) else {
            if !xx {
                z.insert(m.to_vec(), score);
            }
            continue;
        };
        if nx {
            continue;
        }
        let new = if incr { cur + score } else { score };
        if new.is_nan() {
            result = Err("ERR resulting score is not a number (NaN)".into());
            break;
        }
        if (lt && new >= cur) || (gt && new <= cur) {
            continue;
        }
        z.insert(m.to_vec(), new);
    }
    e.drop_if_empty(a[1]);
    result
}

pub fn zincrby(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let by = args::float(a[2])?;
    e.get_zset(a[1])?;
    let z = zset_or_create(e, a[1])?;
    let new = z.score(a[3]).unwrap_or(0.0) + by;
    if new.is_nan() {
        e.drop_if_empty(a[1]);
        return Err("ERR resulting score is not a number (NaN)".into());
    }
    z.insert(a[3].to_vec(), new);
    Ok(())
}

pub fn zrem(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let Some(z) = e.get_zset(a[1])? else {
        return Ok(());
    };
    for m in &a[2..] {
        z.remove(m);
    }
    e.drop_if_empty(a[1]);
    Ok(())
}

/// A score bound: value and whether it is exclusive.
#[derive(Clone, Copy)]
pub(crate) struct ScoreBound(f64, bool);

pub(crate) fn score_bound(b: &[u8]) -> Result<ScoreBound, String> {
    let err = || "ERR min or max is not a float".to_string();
    match b.first() {
        Some(b'(') => args::parse_f64(&b[1..])
            .map(|v| ScoreBound(v, true))
            .ok_or_else(err),
        _ => args::parse_f64(b)
            .map(|v| ScoreBound(v, false))
            .ok_or_else(err),
    }
}

fn above_min(s: f64, min: ScoreBound) -> bool {
    if min.1 { s > min.0 } else { s >= min.0 }
}
fn below_max(s: f64, max: ScoreBound) -> bool {
    if max.1 { s < max.0 } else { s <= max.0 }
}

#[derive(Clone)]
pub(crate) enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

pub(crate) fn lex_bound(b: &[u8]) -> Result<LexBound, String> {
    match b.first() {
        Some(b'-') if b.len() == 1 => Ok(LexBound::NegInf),
        Some(b'+') if b.len() == 1 => Ok(LexBound::PosInf),
        Some(b'[') => Ok(LexBound::Incl(b[1..].to_vec())),
        Some(b'(') => Ok(LexBound::Excl(b[1..].to_vec())),
        _ => Err("ERR min or max not valid string range item".into()),
    }
}

fn lex_gte_min(m: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::NegInf => true,
        LexBound::PosInf => false,
        LexBound::Incl(v) => m >= v.as_slice(),
        LexBound::Excl(v) => m > v.as_slice(),
    }
}

fn lex_lte_max(m: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::NegInf => false,
        LexBound::PosInf => true,
        LexBound::Incl(v) => m <= v.as_slice(),
        LexBound::Excl(v) => m < v.as_slice(),
    }
}

/// True when a lex range can hold nothing (`sdscmplex(min, max) > 0`, or equal
/// bounds with an exclusive side).
fn lex_range_empty(min: &LexBound, max: &LexBound) -> bool {
    use std::cmp::Ordering;
    let key = |b: &LexBound| -> (u8, Option<Vec<u8>>) {
        match b {
            LexBound::NegInf => (0, None),
            LexBound::Incl(v) | LexBound::Excl(v) => (1, Some(v.clone())),
            LexBound::PosInf => (2, None),
        }
    };
    let exclusive = matches!(min, LexBound::Excl(_)) || matches!(max, LexBound::Excl(_));
    match key(min).cmp(&key(max)) {
        Ordering::Greater => true,
        Ordering::Equal => exclusive,
        Ordering::Less => false,
    }
}

/// The elements a lex range selects, in iteration order, as Redis' listpack
/// code walks them (`zzlFirstInLexRange` / `zzlLastInLexRange`, then while in
/// range): members are assumed to share one score; when they do not, Redis
/// selects a run of consecutive elements in score order, and so does this.
/// `offset` elements after the start are skipped without a range check.
fn lex_range<'z>(
    z: &'z Zset,
    min: &LexBound,
    max: &LexBound,
    rev: bool,
    offset: usize,
) -> Vec<(&'z [u8], f64)> {
    if lex_range_empty(min, max) {
        return Vec::new();
    }
    let items: Vec<(&[u8], f64)> = z.iter().collect();
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return Vec::new();
    };
    if !lex_gte_min(last.0, min) || !lex_lte_max(first.0, max) {
        return Vec::new();
    }
    if rev {
        let Some(j) = items.iter().rposition(|(m, _)| lex_lte_max(m, max)) else {
            return Vec::new();
        };
        if !lex_gte_min(items[j].0, min) {
            return Vec::new();
        }
        items[..=j]
            .iter()
            .rev()
            .skip(offset)
            .take_while(|(m, _)| lex_gte_min(m, min))
            .copied()
            .collect()
    } else {
        let Some(i) = items.iter().position(|(m, _)| lex_gte_min(m, min)) else {
            return Vec::new();
        };
        if !lex_lte_max(items[i].0, max) {
            return Vec::new();
        }
        items[i..]
            .iter()
            .skip(offset)
            .take_while(|(m, _)| lex_lte_max(m, max))
            .copied()
            .collect()
    }
}

pub fn zremrangebyscore(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (min, max) = (score_bound(a[2])?, score_bound(a[3])?);
    let Some(z) = e.get_zset(a[1])? else {
        return Ok(());
    };
    let victims: Vec<Vec<u8>> = z
        .iter()
        .filter(|(_, s)| above_min(*s, min) && below_max(*s, max))
        .map(|(m, _)| m.to_vec())
        .collect();
    for m in victims {
        z.remove(&m);
    }
    e.drop_if_empty(a[1]);
    Ok(())
}

pub fn zremrangebylex(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (min, max) = (lex_bound(a[2])?, lex_bound(a[3])?);
    let Some(z) = e.get_zset(a[1])? else {
        return Ok(());
    };
    let victims: Vec<Vec<u8>> = lex_range(z, &min, &max, false, 0)
        .into_iter()
        .map(|(m, _)| m.to_vec())
        .collect();
    for m in victims {
        z.remove(&m);
    }
    e.drop_if_empty(a[1]);
    Ok(())
}

pub fn zremrangebyrank(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (s, t) = (int(a[2])?, int(a[3])?);
    let Some(z) = e.get_zset(a[1])? else {
        return Ok(());
    };
    if let Some((s, t)) = args::range(s, t, z.len()) {
        let victims: Vec<Vec<u8>> = z
            .iter()
            .skip(s)
            .take(t - s + 1)
            .map(|(m, _)| m.to_vec())
            .collect();
        for m in victims {
            z.remove(&m);
        }
    }
    e.drop_if_empty(a[1]);
    Ok(())
}

fn pop_n(e: &mut Engine, key: &[u8], max: bool, n: usize) -> CmdResult {
    let Some(z) = e.get_zset(key)? else {
        return Ok(());
    };
    for _ in 0..n {
        let m = if max {
            z.iter().next_back()
        } else {
            z.iter().next()
        };
        let Some((m, _)) = m else { break };
        let m = m.to_vec();
        z.remove(&m);
    }
    e.drop_if_empty(key);
    Ok(())
}

fn pop_cmd(e: &mut Engine, a: &[&[u8]], max: bool) -> CmdResult {
    if a[0].first().is_some_and(|c| c.eq_ignore_ascii_case(&b'b')) {
        if a.len() < 3 {
            return Err(super::wrong_args(a));
        }
        for k in &a[1..a.len() - 1] {
            if e.get_zset(k)?.is_some() {
                return pop_n(e, k, max, 1);
            }
        }
        return Ok(());
    }
    let n = match a.len() {
        2 => 1,
        3 => {
            let c = int(a[2])?;
            if c < 0 {
                return Err("ERR value is out of range, must be positive".into());
            }
            c as usize
        }
        _ => return Err(SYNTAX.into()),
    };
    pop_n(e, a[1], max, n)
}

pub fn zpopmin(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    pop_cmd(e, a, false)
}

pub fn zpopmax(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    pop_cmd(e, a, true)
}

fn mpop(e: &mut Engine, a: &[&[u8]], first: usize) -> CmdResult {
    let MpopArgs { keys, dir, count } = mpop_args(a, first)?;
    let max = if is(dir, "max") {
        true
    } else if is(dir, "min") {
        false
    } else {
        return Err(SYNTAX.into());
    };
    for k in keys {
        if e.get_zset(k)?.is_some() {
            return pop_n(e, k, max, count);
        }
    }
    Ok(())
}

pub fn zmpop(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    mpop(e, a, 1)
}

pub fn bzmpop(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    mpop(e, a, 2)
}

/// (member, score) pairs.
type Members = Vec<(Vec<u8>, f64)>;

/// Reads a set or sorted set as (member → score) (sets score 1), or None if
/// missing.
fn read_zset_like(e: &Engine, key: &[u8]) -> Result<Option<Members>, String> {
    match e.slot(key) {
        None => Ok(None),
        Some(Slot {
            value: Value::Zset(z),
            ..
        }) => Ok(Some(z.iter().map(|(m, s)| (m.to_vec(), s)).collect())),
        Some(Slot {
            value: Value::Set(s),
            ..
        }) => Ok(Some(s.iter().map(|m| (m.to_vec(), 1.0)).collect())),
        Some(_) => Err(args::WRONGTYPE.into()),
    }
}

pub(crate) fn store(e: &mut Engine, dst: &[u8], items: impl IntoIterator<Item = (Vec<u8>, f64)>) {
    let mut z = Zset::default();
    for (m, s) in items {
        z.insert(m, s);
    }
    if z.is_empty() {
        e.remove(dst);
    } else {
        e.set_key(dst, Value::Zset(Box::new(z)));
    }
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Min,
    Max,
}

fn aggregate(agg: Agg, acc: f64, v: f64) -> f64 {
    match agg {
        Agg::Sum => {
            let r = acc + v;
            if r.is_nan() { 0.0 } else { r }
        }
        Agg::Min => acc.min(v),
        Agg::Max => acc.max(v),
    }
}

fn union_inter(e: &mut Engine, a: &[&[u8]], union: bool) -> CmdResult {
    let numkeys = int(a[2])?;
    if numkeys < 1 {
        return Err(format!(
            "ERR at least 1 input key is needed for '{}' command",
            String::from_utf8_lossy(a[0]).to_lowercase()
        ));
    }
    let n = numkeys as usize;
    if 3 + n > a.len() {
        return Err(SYNTAX.into());
    }
    let keys = &a[3..3 + n];
    let mut weights = vec![1.0; n];
    let mut agg = Agg::Sum;
    let mut i = 3 + n;
    while i < a.len() {
        if is(a[i], "weights") && i + n < a.len() {
            for (j, w) in weights.iter_mut().enumerate() {
                *w = args::parse_f64(a[i + 1 + j])
                    .ok_or_else(|| "ERR weight value is not a float".to_string())?;
            }
            i += n + 1;
        } else if is(a[i], "aggregate") && i + 1 < a.len() {
            agg = if is(a[i + 1], "sum") {
                Agg::Sum
            } else if is(a[i + 1], "min") {
                Agg::Min
            } else if is(a[i + 1], "max") {
                Agg::Max
            } else {
                return Err(SYNTAX.into());
            };
            i += 2;
        } else {
            return Err(SYNTAX.into());
        }
    }
    let mut inputs = Vec::with_capacity(n);
    for k in keys {
        inputs.push(read_zset_like(e, k)?);
    }
    let weighted = |s: f64, w: f64| {
        let r = s * w;
        if r.is_nan() { 0.0 } else { r }
    };
    let mut out: HashMap<Vec<u8>, f64> = HashMap::new();
    if union {
        for (input, w) in inputs.iter().zip(&weights) {
            for (m, s) in input.iter().flatten() {
                let v = weighted(*s, *w);
                out.entry(m.clone())
                    .and_modify(|acc| *acc = aggregate(agg, *acc, v))
                    .or_insert(v);
            }
        }
    } else if inputs.iter().all(Option::is_some) {
        let maps: Vec<HashMap<&[u8], f64>> = inputs
            .iter()
            .map(|i| {
                i.as_ref()
                    .expect("checked")
                    .iter()
                    .map(|(m, s)| (m.as_slice(), *s))
                    .collect()
            })
            .collect();
        for (m, s) in inputs[0].as_ref().expect("checked") {
            if maps[1..].iter().all(|mp| mp.contains_key(m.as_slice())) {
                let mut acc = weighted(*s, weights[0]);
                for (j, mp) in maps.iter().enumerate().skip(1) {
                    acc = aggregate(agg, acc, weighted(mp[m.as_slice()], weights[j]));
                }
                out.insert(m.clone(), acc);
            }
        }
    }
    store(e, a[1], out);
    Ok(())
}

pub fn zunionstore(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    union_inter(e, a, true)
}

pub fn zinterstore(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    union_inter(e, a, false)
}

pub fn zdiffstore(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let numkeys = int(a[2])?;
    if numkeys < 1 || 3 + numkeys as usize != a.len() {
        return Err(SYNTAX.into());
    }
    let mut inputs = Vec::new();
    for k in &a[3..] {
        inputs.push(read_zset_like(e, k)?);
    }
    let mut it = inputs.into_iter();
    let first = it.next().flatten().unwrap_or_default();
    let others: Vec<std::collections::HashSet<Vec<u8>>> = it
        .flatten()
        .map(|v| v.into_iter().map(|(m, _)| m).collect())
        .collect();
    let out: Vec<(Vec<u8>, f64)> = first
        .into_iter()
        .filter(|(m, _)| !others.iter().any(|o| o.contains(m)))
        .collect();
    store(e, a[1], out);
    Ok(())
}

pub fn zrangestore(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (dst, src) = (a[1], a[2]);
    let (mut byscore, mut bylex, mut rev) = (false, false, false);
    let mut limit: Option<(i64, i64)> = None;
    let mut i = 5;
    while i < a.len() {
        if is(a[i], "byscore") {
            byscore = true;
        } else if is(a[i], "bylex") {
            bylex = true;
        } else if is(a[i], "rev") {
            rev = true;
        } else if is(a[i], "limit") && i + 2 < a.len() {
            limit = Some((int(a[i + 1])?, int(a[i + 2])?));
            i += 2;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    if byscore && bylex {
        return Err(SYNTAX.into());
    }
    if limit.is_some() && !byscore && !bylex {
        return Err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
                .into(),
        );
    }
    let (lo, hi) = if rev { (a[4], a[3]) } else { (a[3], a[4]) };
    let items: Vec<(Vec<u8>, f64)> = match e.slot(src) {
        None => Vec::new(),
        Some(Slot {
            value: Value::Zset(z),
            ..
        }) => {
            let ordered: Box<dyn Iterator<Item = (&[u8], f64)>> = if rev {
                Box::new(z.iter().rev())
            } else {
                Box::new(z.iter())
            };
            if byscore {
                let (min, max) = (score_bound(lo)?, score_bound(hi)?);
                apply_limit(
                    ordered.filter(|(_, s)| above_min(*s, min) && below_max(*s, max)),
                    limit,
                )
            } else if bylex {
                let (min, max) = (lex_bound(lo)?, lex_bound(hi)?);
                let (off, count) = limit.unwrap_or((0, -1));
                if off < 0 {
                    Vec::new()
                } else {
                    let sel = lex_range(z, &min, &max, rev, off as usize)
                        .into_iter()
                        .map(|(m, sc)| (m.to_vec(), sc));
                    if count < 0 {
                        sel.collect()
                    } else {
                        sel.take(count as usize).collect()
                    }
                }
            } else {
                let (s, t) = (int(a[3])?, int(a[4])?);
                match args::range(s, t, z.len()) {
                    Some((s, t)) => ordered
                        .skip(s)
                        .take(t - s + 1)
                        .map(|(m, sc)| (m.to_vec(), sc))
                        .collect(),
                    None => Vec::new(),
                }
            }
        }
        Some(_) => return Err(args::WRONGTYPE.into()),
    };
    store(e, dst, items);
    Ok(())
}

fn apply_limit<'a>(
    it: impl Iterator<Item = (&'a [u8], f64)>,
    limit: Option<(i64, i64)>,
) -> Vec<(Vec<u8>, f64)> {
    let (off, count) = limit.unwrap_or((0, -1));
    if off < 0 {
        return Vec::new();
    }
    let it = it.skip(off as usize).map(|(m, s)| (m.to_vec(), s));
    if count < 0 {
        it.collect()
    } else {
        it.take(count as usize).collect()
    }
}
