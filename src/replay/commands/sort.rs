//! `SORT … STORE` (Redis writes it unchanged to the AOF). Without `STORE`, SORT
//! is read-only and does nothing here.

use std::cmp::Ordering;
use std::collections::VecDeque;

use super::super::Engine;
use super::super::args::{self, CmdResult, SYNTAX, int, is};
use super::super::bytes::Bytes;
use super::super::dataset::{Slot, Value};

/// Redis `lookupKeyByPattern`: `#` is the element itself; `*` is replaced by
/// the element; `->field` reads a hash field.
fn lookup_by_pattern(e: &Engine, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(elem.to_vec());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&p| p + 2 < after.len());
    let (postfix, field) = match arrow {
        Some(p) => (&after[..p], Some(&after[p + 2..])),
        None => (after, None),
    };
    let mut key = pattern[..star].to_vec();
    key.extend_from_slice(elem);
    key.extend_from_slice(postfix);
    match (e.slot(&key), field) {
        (
            Some(Slot {
                value: Value::String(s),
                ..
            }),
            None,
        ) => Some(s.clone()),
        (
            Some(Slot {
                value: Value::Hash(h),
                ..
            }),
            Some(f),
        ) => h.get(f).map(|v| v.value.to_vec()),
        _ => None,
    }
}

pub fn sort(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (mut desc, mut alpha) = (false, false);
    let mut limit = (0i64, -1i64);
    let mut sortby: Option<&[u8]> = None;
    let mut dontsort = false;
    let mut gets: Vec<&[u8]> = Vec::new();
    let mut store: Option<&[u8]> = None;
    let mut i = 2;
    while i < a.len() {
        let o = a[i];
        let left = a.len() - i - 1;
        if is(o, "asc") {
            desc = false;
        } else if is(o, "desc") {
            desc = true;
        } else if is(o, "alpha") {
            alpha = true;
        } else if is(o, "limit") && left >= 2 {
            limit = (int(a[i + 1])?, int(a[i + 2])?);
            i += 2;
        } else if is(o, "store") && left >= 1 {
            store = Some(a[i + 1]);
            i += 1;
        } else if is(o, "by") && left >= 1 {
            sortby = Some(a[i + 1]);
            if !a[i + 1].contains(&b'*') {
                dontsort = true;
            }
            i += 1;
        } else if is(o, "get") && left >= 1 {
            gets.push(a[i + 1]);
            i += 1;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    let Some(dst) = store else {
        return match e.slot(a[1]) {
            None
            | Some(Slot {
                value: Value::List(_) | Value::Set(_) | Value::Zset(_),
                ..
            }) => Ok(()),
            Some(_) => Err(args::WRONGTYPE.into()),
        };
    };
    let mut elems: Vec<Vec<u8>> = match e.slot(a[1]) {
        None => Vec::new(),
        Some(Slot {
            value: Value::List(l),
            ..
        }) => l.iter().map(Bytes::to_vec).collect(),
        Some(Slot {
            value: Value::Set(s),
            ..
        }) => {
            if dontsort {
                // Redis forces an ALPHA sort of sets when storing, for a
                // deterministic result.
                dontsort = false;
                alpha = true;
                sortby = None;
            }
            s.iter().map(<[u8]>::to_vec).collect()
        }
        Some(Slot {
            value: Value::Zset(z),
            ..
        }) => {
            if dontsort && desc {
                z.iter().rev().map(|(m, _)| m.to_vec()).collect()
            } else {
                z.iter().map(|(m, _)| m.to_vec()).collect()
            }
        }
        Some(_) => return Err(args::WRONGTYPE.into()),
    };
    if !dontsort {
        // Weights: the element itself, or the BY lookup.
        let mut keyed: Vec<(Vec<u8>, Option<Vec<u8>>, f64)> = Vec::with_capacity(elems.len());
        for el in elems {
            let by = match sortby {
                Some(p) => lookup_by_pattern(e, p, &el),
                None => None,
            };
            let mut score = 0.0;
            if !alpha {
                let src = if sortby.is_some() {
                    by.as_deref()
                } else {
                    Some(el.as_slice())
                };
                if let Some(s) = src {
                    score = args::strtod_full(s).ok_or_else(|| {
                        "ERR One or more scores can't be converted into double".to_string()
                    })?;
                }
            }
            keyed.push((el, by, score));
        }
        keyed.sort_by(|x, y| {
            let c = if alpha {
                if sortby.is_some() {
                    match (&x.1, &y.1) {
                        (None, None) => Ordering::Equal,
                        (None, Some(_)) => Ordering::Less,
                        (Some(_), None) => Ordering::Greater,
                        (Some(p), Some(q)) => p.cmp(q),
                    }
                } else {
                    x.0.cmp(&y.0)
                }
            } else {
                x.2.partial_cmp(&y.2)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| x.0.cmp(&y.0))
            };
            if desc { c.reverse() } else { c }
        });
        elems = keyed.into_iter().map(|k| k.0).collect();
    }
    let len = elems.len() as i64;
    let start = limit.0.max(0);
    let mut end = if limit.1 < 0 {
        len - 1
    } else {
        start.saturating_add(limit.1).saturating_sub(1)
    };
    let start = if start >= len {
        end = len - 2;
        len - 1
    } else {
        start
    };
    if end >= len {
        end = len - 1;
    }
    let mut out: VecDeque<Bytes> = VecDeque::new();
    if start >= 0 && end >= start {
        for el in &elems[start as usize..=end as usize] {
            if gets.is_empty() {
                out.push_back(el.as_slice().into());
            } else {
                for g in &gets {
                    out.push_back(lookup_by_pattern(e, g, el).unwrap_or_default().into());
                }
            }
        }
    }
    if out.is_empty() {
        e.remove(dst);
    } else {
        e.set_key(dst, Value::List(out));
    }
    Ok(())
}
