//! List commands. Blocking forms never block during replay: they act as their
//! non-blocking counterparts (an empty source does nothing), as in the loader.

use super::super::Engine;
use super::super::args::{CmdResult, MpopArgs, SYNTAX, int, is, mpop_args};
use super::wrong_args;

fn push(e: &mut Engine, a: &[&[u8]], left: bool, only_existing: bool) -> CmdResult {
    if only_existing && e.get_list(a[1])?.is_none() {
        return Ok(());
    }
    let l = e.list_or_create(a[1])?;
    for v in &a[2..] {
        if left {
            l.push_front((*v).into());
        } else {
            l.push_back((*v).into());
        }
    }
    Ok(())
}

pub fn lpush(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    push(e, a, true, false)
}
pub fn rpush(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    push(e, a, false, false)
}
pub fn lpushx(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    push(e, a, true, true)
}
pub fn rpushx(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    push(e, a, false, true)
}

pub fn linsert(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let after = if is(a[2], "after") {
        true
    } else if is(a[2], "before") {
        false
    } else {
        return Err(SYNTAX.into());
    };
    let Some(l) = e.get_list(a[1])? else {
        return Ok(());
    };
    if let Some(pos) = l.iter().position(|x| x.as_slice() == a[3]) {
        l.insert(if after { pos + 1 } else { pos }, a[4].into());
    }
    Ok(())
}

pub fn lset(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let idx = int(a[2])?;
    let Some(l) = e.get_list(a[1])? else {
        return Err("ERR no such key".into());
    };
    let len = l.len() as i64;
    let i = if idx < 0 { len + idx } else { idx };
    if i < 0 || i >= len {
        return Err("ERR index out of range".into());
    }
    l[i as usize] = a[3].into();
    Ok(())
}

pub fn lrem(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let count = int(a[2])?;
    let Some(l) = e.get_list(a[1])? else {
        return Ok(());
    };
    let target = a[3];
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut removed = 0usize;
    if count >= 0 {
        let mut i = 0;
        while i < l.len() && removed < limit {
            if l[i].as_slice() == target {
                l.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = l.len();
        while i > 0 && removed < limit {
            i -= 1;
            if l[i].as_slice() == target {
                l.remove(i);
                removed += 1;
            }
        }
    }
    e.drop_if_empty(a[1]);
    Ok(())
}

pub fn ltrim(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (s, t) = (int(a[2])?, int(a[3])?);
    let Some(l) = e.get_list(a[1])? else {
        return Ok(());
    };
    match super::super::args::range(s, t, l.len()) {
        Some((s, t)) => {
            l.truncate(t + 1);
            l.drain(..s);
        }
        None => l.clear(),
    }
    e.drop_if_empty(a[1]);
    Ok(())
}

fn pop_n(e: &mut Engine, key: &[u8], left: bool, n: usize) -> CmdResult {
    let Some(l) = e.get_list(key)? else {
        return Ok(());
    };
    for _ in 0..n {
        let popped = if left { l.pop_front() } else { l.pop_back() };
        if popped.is_none() {
            break;
        }
    }
    e.drop_if_empty(key);
    Ok(())
}

fn pop_cmd(e: &mut Engine, a: &[&[u8]], left: bool) -> CmdResult {
    let blocking = a[0].first().is_some_and(|c| c.eq_ignore_ascii_case(&b'b'));
    if blocking {
        // BLPOP key [key …] timeout: pop one element from the first non-empty list.
        if a.len() < 3 {
            return Err(wrong_args(a));
        }
        for k in &a[1..a.len() - 1] {
            if e.get_list(k)?.is_some() {
                return pop_n(e, k, left, 1);
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
        _ => return Err(wrong_args(a)),
    };
    pop_n(e, a[1], left, n)
}

pub fn lpop(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    pop_cmd(e, a, true)
}

pub fn rpop(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    pop_cmd(e, a, false)
}

fn move_generic(
    e: &mut Engine,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
) -> CmdResult {
    if e.get_list(src)?.is_none() {
        return Ok(());
    }
    e.get_list(dst)?;
    let l = e.get_list(src)?.expect("exists");
    let v = if from_left {
        l.pop_front()
    } else {
        l.pop_back()
    };
    let Some(v) = v else { return Ok(()) };
    e.drop_if_empty(src);
    let d = e.list_or_create(dst)?;
    if to_left {
        d.push_front(v);
    } else {
        d.push_back(v);
    }
    Ok(())
}

pub fn rpoplpush(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    move_generic(e, a[1], a[2], false, true)
}

fn side(arg: &[u8]) -> Result<bool, String> {
    if is(arg, "left") {
        Ok(true)
    } else if is(arg, "right") {
        Ok(false)
    } else {
        Err(SYNTAX.into())
    }
}

pub fn lmove(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (from, to) = (side(a[3])?, side(a[4])?);
    move_generic(e, a[1], a[2], from, to)
}

fn mpop(e: &mut Engine, a: &[&[u8]], first: usize) -> CmdResult {
    let MpopArgs { keys, dir, count } = mpop_args(a, first)?;
    let left = side(dir)?;
    for k in keys {
        if e.get_list(k)?.is_some() {
            return pop_n(e, k, left, count);
        }
    }
    Ok(())
}

pub fn lmpop(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    mpop(e, a, 1)
}

pub fn blmpop(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    mpop(e, a, 2)
}
