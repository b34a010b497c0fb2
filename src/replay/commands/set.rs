//! Set commands.

use super::super::packed::{FastSet, PackedSet};

use super::super::Engine;
use super::super::args::{CmdResult, int};
use super::super::bytes::Bytes;
use super::super::dataset::Value;

pub fn sadd(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let s = e.set_or_create(a[1])?;
    for m in &a[2..] {
        s.insert(m)?;
    }
    Ok(())
}

pub fn srem(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let Some(s) = e.get_set(a[1])? else {
        return Ok(());
    };
    for m in &a[2..] {
        s.remove(m);
    }
    e.drop_if_empty(a[1]);
    Ok(())
}

pub fn smove(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (src, dst, m) = (a[1], a[2], a[3]);
    if e.get_set(src)?.is_none() {
        return Ok(());
    }
    e.get_set(dst)?;
    if src == dst {
        return Ok(());
    }
    let s = e.get_set(src)?.expect("exists");
    if !s.remove(m) {
        return Ok(());
    }
    e.drop_if_empty(src);
    e.set_or_create(dst)?.insert(m)?;
    Ok(())
}

/// SPOP in its user form. Redis picks random members and writes the ones it
/// popped as `SREM`; replaying the raw form cannot know them, so this pops the
/// smallest members by bytes (deterministic, same count).
pub fn spop(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let count = match a.len() {
        2 => 1,
        3 => {
            let c = int(a[2])?;
            if c < 0 {
                return Err("ERR value is out of range, must be positive".into());
            }
            c as usize
        }
        _ => return Err(super::wrong_args(a)),
    };
    let Some(s) = e.get_set(a[1])? else {
        return Ok(());
    };
    if count >= s.len() {
        e.remove(a[1]);
        return Ok(());
    }
    let mut members: Vec<Vec<u8>> = s.iter().map(<[u8]>::to_vec).collect();
    members.sort_unstable();
    for m in members.into_iter().take(count) {
        s.remove(&m);
    }
    e.drop_if_empty(a[1]);
    Ok(())
}

fn inputs(e: &Engine, keys: &[&[u8]]) -> Result<Vec<Option<FastSet<Bytes>>>, String> {
    keys.iter().map(|k| e.read_set_like(k)).collect()
}

fn store(e: &mut Engine, dst: &[u8], res: &FastSet<Bytes>) -> CmdResult {
    if res.is_empty() {
        e.remove(dst);
    } else {
        let set = PackedSet::from_members(res.iter().map(Bytes::as_slice))?;
        e.set_key(dst, Value::Set(Box::new(set)));
    }
    Ok(())
}

pub fn sinterstore(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let sets = inputs(e, &a[2..])?;
    let res = if sets.iter().any(Option::is_none) {
        FastSet::default()
    } else {
        let mut sets: Vec<FastSet<Bytes>> = sets.into_iter().flatten().collect();
        sets.sort_by_key(FastSet::len);
        let (first, rest) = sets.split_first().expect("at least one key");
        first
            .iter()
            .filter(|m| rest.iter().all(|s| s.contains(*m)))
            .cloned()
            .collect()
    };
    store(e, a[1], &res)
}

pub fn sunionstore(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let sets = inputs(e, &a[2..])?;
    let mut res = FastSet::default();
    for s in sets.into_iter().flatten() {
        res.extend(s);
    }
    store(e, a[1], &res)
}

pub fn sdiffstore(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let sets = inputs(e, &a[2..])?;
    let mut it = sets.into_iter();
    let mut res = it.next().flatten().unwrap_or_default();
    for s in it.flatten() {
        res.retain(|m| !s.contains(m));
    }
    store(e, a[1], &res)
}
