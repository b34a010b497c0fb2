//! Hash commands, including field TTLs (Redis 7.4+: `HEXPIRE` family and
//! `HPERSIST`). Field TTLs are kept as absolute times and never applied during
//! replay, like key TTLs.

use super::super::Engine;
use super::super::args::{self, CmdResult, NOT_INT, SYNTAX, int, is, itoa};
use super::super::dataset::Value;
use super::super::packed::PackedMap;
use crate::replay::long_double::Ld;

/// Largest field expiry Redis accepts (`EB_EXPIRE_TIME_MAX`).
const FIELD_EXPIRE_MAX: i64 = (1 << 48) - 1;

fn hash_or_create<'a>(e: &'a mut Engine, key: &[u8]) -> Result<&'a mut PackedMap, String> {
    if !e.exists(key) {
        e.set_key(key, Value::Hash(Box::default()));
    }
    e.get_hash(key).map(|h| h.expect("just created"))
}

pub fn hset(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if !a.len().is_multiple_of(2) {
        return Err(super::wrong_args(a));
    }
    let h = hash_or_create(e, a[1])?;
    for fv in a[2..].chunks(2) {
        // Overwriting a field's value drops its TTL (hashTypeSet without KEEP_TTL).
        h.insert(fv[0], fv[1], None)?;
    }
    Ok(())
}

pub fn hsetnx(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let h = hash_or_create(e, a[1])?;
    if !h.contains_key(a[2]) {
        h.insert(a[2], a[3], None)?;
    }
    Ok(())
}

pub fn hdel(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let Some(h) = e.get_hash(a[1])? else {
        return Ok(());
    };
    for f in &a[2..] {
        h.remove(f);
    }
    e.drop_if_empty(a[1]);
    Ok(())
}

pub fn hincrby(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let by = int(a[3])?;
    let h = hash_or_create(e, a[1])?;
    let cur = match h.get(a[2]) {
        Some(v) => args::parse_i64_strict(v.value)
            .ok_or_else(|| "ERR hash value is not an integer".to_string())?,
        None => 0,
    };
    let Some(new) = cur.checked_add(by) else {
        return Err("ERR increment or decrement would overflow".into());
    };
    let ttl = h.get(a[2]).and_then(|v| v.expire_ms);
    h.insert(a[2], &itoa(new), ttl)?;
    Ok(())
}

pub fn hincrbyfloat(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    // As the server: the increment is checked before the key is created (an
    // infinite one left an empty hash), then computed in `long double`.
    let by = Ld::parse(a[3]).ok_or_else(|| args::NOT_FLOAT.to_string())?;
    if !by.is_finite() {
        return Err("ERR value is NaN or Infinity".into());
    }
    let h = hash_or_create(e, a[1])?;
    let cur = match h.get(a[2]) {
        Some(v) => Ld::parse(v.value).ok_or_else(|| "ERR hash value is not a float".to_string())?,
        None => Ld::zero(),
    };
    let new = cur
        .checked_add(by)
        .and_then(Ld::human)
        .ok_or_else(|| "ERR increment would produce NaN or Infinity".to_string())?;
    let ttl = h.get(a[2]).and_then(|v| v.expire_ms);
    h.insert(a[2], &new, ttl)?;
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Cond {
    None,
    Nx,
    Xx,
    Gt,
    Lt,
}

/// Parses `[NX|XX|GT|LT] FIELDS n f…` starting at `i`; returns the condition and
/// the fields.
fn fields_spec<'a>(a: &[&'a [u8]], mut i: usize) -> Result<(Cond, Vec<&'a [u8]>), String> {
    let mut cond = Cond::None;
    if i < a.len() && !is(a[i], "fields") {
        cond = if is(a[i], "nx") {
            Cond::Nx
        } else if is(a[i], "xx") {
            Cond::Xx
        } else if is(a[i], "gt") {
            Cond::Gt
        } else if is(a[i], "lt") {
            Cond::Lt
        } else {
            return Err(format!(
                "ERR unsupported option {}",
                String::from_utf8_lossy(a[i])
            ));
        };
        i += 1;
    }
    if i >= a.len() || !is(a[i], "fields") {
        return Err("ERR Mandatory argument FIELDS is missing or not at the right position".into());
    }
    let n = int(a.get(i + 1).copied().unwrap_or(b"x")).map_err(|_| NOT_INT.to_string())?;
    if n <= 0 {
        return Err("ERR Parameter `numFields` should be greater than 0".into());
    }
    let fields = &a[i + 2..];
    if fields.len() != n as usize {
        return Err("ERR The `numfields` parameter must match the number of arguments".into());
    }
    Ok((cond, fields.to_vec()))
}

fn hexpire_generic(e: &mut Engine, a: &[&[u8]], unit_ms: i64, relative: bool) -> CmdResult {
    let t = int(a[2])?;
    let invalid = || format!("ERR invalid expire time, must be >= 0 and <= {FIELD_EXPIRE_MAX}");
    if !(0..=FIELD_EXPIRE_MAX).contains(&t) {
        return Err(invalid());
    }
    let mut at = t * unit_ms;
    if relative {
        at = at.checked_add(e.now_ms).ok_or_else(invalid)?;
    }
    if at > FIELD_EXPIRE_MAX {
        return Err(invalid());
    }
    let (cond, fields) = fields_spec(a, 3)?;
    let Some(h) = e.get_hash(a[1])? else {
        return Ok(());
    };
    for f in fields {
        let Some(v) = h.get(f) else { continue };
        let ok = match (cond, v.expire_ms) {
            (Cond::None, _) | (Cond::Nx | Cond::Lt, None) => true,
            (Cond::Nx, Some(_)) | (Cond::Xx | Cond::Gt, None) => false,
            (Cond::Xx, Some(_)) => true,
            (Cond::Gt, Some(cur)) => at > cur,
            (Cond::Lt, Some(cur)) => at < cur,
        };
        if ok {
            h.set_expire(f, Some(at))?;
        }
    }
    Ok(())
}

pub fn hexpire(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    hexpire_generic(e, a, 1000, true)
}
pub fn hpexpire(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    hexpire_generic(e, a, 1, true)
}
pub fn hexpireat(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    hexpire_generic(e, a, 1000, false)
}
pub fn hpexpireat(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    hexpire_generic(e, a, 1, false)
}

pub fn hpersist(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (cond, fields) = fields_spec(a, 2)?;
    if cond != Cond::None {
        return Err(SYNTAX.into());
    }
    let Some(h) = e.get_hash(a[1])? else {
        return Ok(());
    };
    for f in fields {
        h.set_expire(f, None)?;
    }
    Ok(())
}

/// Parses `FIELDS n item…` at `a[i]` where each item spans `per` arguments.
fn fields_block<'a>(a: &[&'a [u8]], i: usize, per: usize) -> Result<Vec<&'a [u8]>, String> {
    if i >= a.len() || !is(a[i], "fields") {
        return Err("ERR Mandatory argument FIELDS is missing or not at the right position".into());
    }
    let n = int(a.get(i + 1).copied().unwrap_or(b"x")).map_err(|_| NOT_INT.to_string())?;
    if n <= 0 {
        return Err("ERR Parameter `numFields` should be greater than 0".into());
    }
    let rest = &a[i + 2..];
    if rest.len() != n as usize * per {
        return Err("ERR The `numfields` parameter must match the number of arguments".into());
    }
    Ok(rest.to_vec())
}

/// Expiry option of HSETEX / HGETEX.
enum FieldTtl {
    Clear,
    Keep,
    At(i64),
}

fn field_ttl(e: &Engine, unit: &[u8], v: &[u8]) -> Result<i64, String> {
    let t = int(v)?;
    let invalid = || format!("ERR invalid expire time, must be >= 0 and <= {FIELD_EXPIRE_MAX}");
    let seconds = is(unit, "ex") || is(unit, "exat");
    let ms = if seconds {
        t.checked_mul(1000).ok_or_else(invalid)?
    } else {
        t
    };
    let at = if is(unit, "ex") || is(unit, "px") {
        ms.checked_add(e.now_ms).ok_or_else(invalid)?
    } else {
        ms
    };
    if t < 0 || !(0..=FIELD_EXPIRE_MAX).contains(&at) {
        return Err(invalid());
    }
    Ok(at)
}

/// `HSETEX key [NX|XX] [FNX|FXX] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] FIELDS n
/// f v…` (Redis 8.0; also how 8.x propagates HINCRBYFLOAT). `NX`/`XX` (the
/// key must not / must exist) are Valkey 9's, which propagates the command
/// without them; Redis refuses them, so they never reach a Redis AOF.
pub fn hsetex(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (mut fnx, mut fxx) = (false, false);
    let (mut nx, mut xx) = (false, false);
    let mut ttl = FieldTtl::Clear;
    let mut i = 2;
    while i < a.len() && !is(a[i], "fields") {
        let o = a[i];
        if is(o, "nx") {
            nx = true;
        } else if is(o, "xx") {
            xx = true;
        } else if is(o, "fnx") {
            fnx = true;
        } else if is(o, "fxx") {
            fxx = true;
        } else if is(o, "keepttl") {
            ttl = FieldTtl::Keep;
        } else if (is(o, "ex") || is(o, "px") || is(o, "exat") || is(o, "pxat")) && i + 1 < a.len()
        {
            ttl = FieldTtl::At(field_ttl(e, o, a[i + 1])?);
            i += 1;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    if (fnx && fxx) || (nx && xx) {
        return Err(SYNTAX.into());
    }
    let items = fields_block(a, i, 2)?;
    let found = e.get_hash(a[1])?.is_some();
    if (nx && found) || (xx && !found) {
        return Ok(());
    }
    let existing: Vec<bool> = match e.get_hash(a[1])? {
        Some(h) => items.chunks(2).map(|p| h.contains_key(p[0])).collect(),
        None => vec![false; items.len() / 2],
    };
    if (fnx && existing.iter().any(|x| *x)) || (fxx && !existing.iter().all(|x| *x)) {
        return Ok(());
    }
    let h = hash_or_create(e, a[1])?;
    for p in items.chunks(2) {
        let expire_ms = match ttl {
            FieldTtl::Clear => None,
            FieldTtl::Keep => h.get(p[0]).and_then(|v| v.expire_ms),
            FieldTtl::At(t) => Some(t),
        };
        h.insert(p[0], p[1], expire_ms)?;
    }
    Ok(())
}

/// `HGETDEL key FIELDS n f…` (Redis 8.0): deletes the fields.
pub fn hgetdel(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let fields = fields_block(a, 2, 1)?;
    let Some(h) = e.get_hash(a[1])? else {
        return Ok(());
    };
    for f in fields {
        h.remove(f);
    }
    e.drop_if_empty(a[1]);
    Ok(())
}

/// `HGETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST] FIELDS n f…` (Redis 8.0).
pub fn hgetex(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let mut ttl = FieldTtl::Keep;
    let mut i = 2;
    if i < a.len() && !is(a[i], "fields") {
        let o = a[i];
        if is(o, "persist") {
            ttl = FieldTtl::Clear;
            i += 1;
        } else if (is(o, "ex") || is(o, "px") || is(o, "exat") || is(o, "pxat")) && i + 1 < a.len()
        {
            ttl = FieldTtl::At(field_ttl(e, o, a[i + 1])?);
            i += 2;
        } else {
            return Err(SYNTAX.into());
        }
    }
    let fields = fields_block(a, i, 1)?;
    let Some(h) = e.get_hash(a[1])? else {
        return Ok(());
    };
    for f in fields {
        match ttl {
            FieldTtl::Clear => h.set_expire(f, None)?,
            FieldTtl::At(t) => h.set_expire(f, Some(t))?,
            FieldTtl::Keep => false,
        };
    }
    Ok(())
}
