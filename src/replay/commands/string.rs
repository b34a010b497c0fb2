//! String commands: `SET` and its relatives, counters, ranges, bit operations and
//! the `HyperLogLog` commands (HLLs are strings).

use super::super::Engine;
use super::super::args::{self, CmdResult, NOT_INT, SYNTAX, WRONGTYPE, int, is, itoa};
use super::super::dataset::Value;
use super::super::hll;
use super::wrong_args;
use crate::replay::long_double::Ld;

/// The largest string SETRANGE/APPEND/SETBIT/BITFIELD may build in a replay.
/// The server's loader does not apply `proto-max-bulk-len` (it obeys the AOF
/// client: a 512 MiB+ string loads), so this is not the server's limit but
/// this tool's memory: beyond it the replay stops with an error
/// ([`crate::replay::ReplayError::TooLarge`]), never drops the command.
const MAX_STRING: u64 = 4 << 30;

/// Expiry option of SET / GETEX.
enum Ttl {
    None,
    Keep,
    Persist,
    At(i64),
}

/// Parses EX/PX/EXAT/PXAT value into an absolute time.
/// `KEEPTTL`, or `EX|PX|EXAT|PXAT n` at `a[*i]` (SET and MSETEX share them):
/// sets `ttl`, leaves `*i` on the option's last argument and answers true;
/// false when `a[*i]` is neither (or its value is missing).
fn ttl_option(
    e: &Engine,
    a: &[&[u8]],
    i: &mut usize,
    ttl: &mut Ttl,
    cmd: &str,
) -> Result<bool, String> {
    let o = a[*i];
    if is(o, "keepttl") {
        *ttl = Ttl::Keep;
    } else if (is(o, "ex") || is(o, "px") || is(o, "exat") || is(o, "pxat")) && *i + 1 < a.len() {
        *ttl = Ttl::At(expire_at(e, o, a[*i + 1], cmd)?);
        *i += 1;
    } else {
        return Ok(false);
    }
    Ok(true)
}

fn expire_at(e: &Engine, unit: &[u8], v: &[u8], cmd: &str) -> Result<i64, String> {
    let invalid = || format!("ERR invalid expire time in '{cmd}' command");
    let n = int(v)?;
    let seconds = is(unit, "ex") || is(unit, "exat");
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(invalid());
    }
    let ms = if seconds { n * 1000 } else { n };
    if is(unit, "ex") || is(unit, "px") {
        ms.checked_add(e.now_ms).ok_or_else(invalid)
    } else {
        Ok(ms)
    }
}

/// A compare-and-set condition of `SET` (Valkey 8.1+ `IFEQ`; Redis 8.4+ also
/// `IFNE`, `IFDEQ`, `IFDNE`) or `DELEX` (Redis 8.4+).
#[derive(Clone, Copy)]
enum Cond<'a> {
    /// The key holds a string equal to this (a missing key fails).
    Eq(&'a [u8]),
    /// The key is missing or holds a string different from this.
    Ne(&'a [u8]),
    /// The key holds a string whose digest is this (16 characters).
    DigestEq(&'a [u8]),
    /// The key is missing or its string's digest is not this.
    DigestNe(&'a [u8]),
}

/// The condition option at `a[i]` with its argument, if it is one.
fn cond_option<'a>(a: &[&'a [u8]], i: usize) -> Result<Option<Cond<'a>>, String> {
    let o = a[i];
    let named = ["ifeq", "ifne", "ifdeq", "ifdne"]
        .iter()
        .position(|n| is(o, n));
    let Some(which) = named else {
        return Ok(None);
    };
    let Some(v) = a.get(i + 1).copied() else {
        return Err(SYNTAX.into());
    };
    Ok(Some(match which {
        0 => Cond::Eq(v),
        1 => Cond::Ne(v),
        // Redis 8.6 checks only the length; the digest is then compared as
        // text, ignoring case (a non-hex argument never matches).
        _ if v.len() != 16 => {
            return Err("ERR must be exactly 16 hexadecimal characters".into());
        }
        2 => Cond::DigestEq(v),
        _ => Cond::DigestNe(v),
    }))
}

/// Redis 8.4's `DIGEST` of a string value: XXH3-64 of its bytes, as 16
/// lowercase hex digits.
fn digest(v: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    let h = xxhash_rust::xxh3::xxh3_64(v);
    for (i, o) in out.iter_mut().enumerate() {
        *o = b"0123456789abcdef"[((h >> (60 - 4 * i)) & 15) as usize];
    }
    out
}

/// Does the key's current string satisfy `c`? (`WRONGTYPE` for another type.)
fn cond_holds(e: &Engine, key: &[u8], c: Cond<'_>) -> Result<bool, String> {
    let cur = e.get_string(key)?;
    Ok(match (c, cur) {
        (Cond::Eq(_) | Cond::DigestEq(_), None) => false,
        (Cond::Ne(_) | Cond::DigestNe(_), None) => true,
        (Cond::Eq(v), Some(s)) => s.as_slice() == v,
        (Cond::Ne(v), Some(s)) => s.as_slice() != v,
        (Cond::DigestEq(d), Some(s)) => digest(s).eq_ignore_ascii_case(d),
        (Cond::DigestNe(d), Some(s)) => !digest(s).eq_ignore_ascii_case(d),
    })
}

/// `SET key value [NX|XX|IFEQ v|IFNE v|IFDEQ d|IFDNE d] [GET]
/// [EX|PX|EXAT|PXAT t|KEEPTTL]`. A condition cannot follow `NX`/`XX` (syntax
/// error on both servers); Redis 8.6 accepts `NX`/`XX` after one (both must
/// then hold), Valkey refuses it, so it never appears in a Valkey AOF.
pub fn set(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (key, val) = (a[1], a[2]);
    let (mut nx, mut xx, mut get) = (false, false, false);
    let mut cond: Option<Cond<'_>> = None;
    let mut ttl = Ttl::None;
    let mut i = 3;
    while i < a.len() {
        let o = a[i];
        let has_ttl = !matches!(ttl, Ttl::None);
        if is(o, "nx") && !xx {
            nx = true;
        } else if is(o, "xx") && !nx {
            xx = true;
        } else if let Some(c) = cond_option(a, i)? {
            // The same condition again replaces the first; two different
            // ones, or one after NX/XX, are a syntax error.
            let same = matches!(
                (cond, c),
                (Some(Cond::Eq(_)), Cond::Eq(_))
                    | (Some(Cond::Ne(_)), Cond::Ne(_))
                    | (Some(Cond::DigestEq(_)), Cond::DigestEq(_))
                    | (Some(Cond::DigestNe(_)), Cond::DigestNe(_))
            );
            if nx || xx || (cond.is_some() && !same) {
                return Err(SYNTAX.into());
            }
            cond = Some(c);
            i += 1;
        } else if is(o, "get") {
            get = true;
        } else if has_ttl || !ttl_option(e, a, &mut i, &mut ttl, "set")? {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    if get {
        e.get_string(key)?;
    }
    if let Some(c) = cond {
        if !cond_holds(e, key, c)? {
            return Ok(());
        }
    }
    let found = e.exists(key);
    if (nx && found) || (xx && !found) {
        return Ok(());
    }
    match ttl {
        Ttl::Keep => e.set_key_keepttl(key, Value::String(val.to_vec())),
        Ttl::At(t) => {
            e.set_key(key, Value::String(val.to_vec()));
            e.slot_mut(key).expect("set").expire_ms = Some(t);
        }
        Ttl::None | Ttl::Persist => e.set_key(key, Value::String(val.to_vec())),
    }
    Ok(())
}

pub fn setnx(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if !e.exists(a[1]) {
        e.set_key(a[1], Value::String(a[2].to_vec()));
    }
    Ok(())
}

fn setex_generic(e: &mut Engine, a: &[&[u8]], unit: &str, cmd: &str) -> CmdResult {
    let t = expire_at(e, unit.as_bytes(), a[2], cmd)?;
    e.set_key(a[1], Value::String(a[3].to_vec()));
    e.slot_mut(a[1]).expect("set").expire_ms = Some(t);
    Ok(())
}

pub fn setex(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    setex_generic(e, a, "ex", "setex")
}

pub fn psetex(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    setex_generic(e, a, "px", "psetex")
}

pub fn mset(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(wrong_args(a));
    }
    for kv in a[1..].chunks(2) {
        e.set_key(kv[0], Value::String(kv[1].to_vec()));
    }
    Ok(())
}

/// `MSETEX numkeys key value [key value …] [NX|XX] [EX|PX|EXAT|PXAT t|KEEPTTL]`
/// (Redis 8.4, Valkey 9.1; both propagate it with `PXAT`): NX sets only when no
/// key exists, XX only when all exist; without an expiry option the keys lose
/// their TTL, as with `SET`.
pub fn msetex(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let n = int(a[1])?;
    let pairs_end = usize::try_from(n)
        .ok()
        .filter(|&n| n >= 1)
        .and_then(|n| n.checked_mul(2))
        .and_then(|n| n.checked_add(2))
        .filter(|&end| end <= a.len())
        .ok_or_else(|| "ERR invalid numkeys value".to_string())?;
    let (mut nx, mut xx) = (false, false);
    let mut ttl = Ttl::None;
    let mut i = pairs_end;
    while i < a.len() {
        let o = a[i];
        let has_ttl = !matches!(ttl, Ttl::None);
        if is(o, "nx") && !xx {
            nx = true;
        } else if is(o, "xx") && !nx {
            xx = true;
        } else if has_ttl || !ttl_option(e, a, &mut i, &mut ttl, "msetex")? {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    let pairs = &a[2..pairs_end];
    if (nx && pairs.chunks(2).any(|kv| e.exists(kv[0])))
        || (xx && !pairs.chunks(2).all(|kv| e.exists(kv[0])))
    {
        return Ok(());
    }
    for kv in pairs.chunks(2) {
        let v = Value::String(kv[1].to_vec());
        match ttl {
            Ttl::Keep => e.set_key_keepttl(kv[0], v),
            Ttl::At(t) => {
                e.set_key(kv[0], v);
                e.slot_mut(kv[0]).expect("set").expire_ms = Some(t);
            }
            Ttl::None | Ttl::Persist => e.set_key(kv[0], v),
        }
    }
    Ok(())
}

/// `DELEX key [IFEQ v|IFNE v|IFDEQ d|IFDNE d]` (Redis 8.4; propagated as
/// `DEL`): without a condition, `DEL` of one key of any type; with one, the
/// key must hold a string.
pub fn delex(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let cond = match a.len() {
        2 => None,
        4 => Some(cond_option(a, 2)?.ok_or_else(|| SYNTAX.to_string())?),
        _ => return Err(SYNTAX.into()),
    };
    if let Some(c) = cond {
        if !e.exists(a[1]) {
            return Ok(());
        }
        if e.get_string(a[1]).is_err() {
            return Err("ERR Key should be of string type if conditions are specified".into());
        }
        if !cond_holds(e, a[1], c)? {
            return Ok(());
        }
    }
    e.remove(a[1]);
    Ok(())
}

/// `DELIFEQ key value` (Valkey 9.0; propagated as `DEL`): deletes the key when
/// it holds exactly `value`.
pub fn delifeq(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if a.len() != 3 {
        return Err(wrong_args(a));
    }
    if cond_holds(e, a[1], Cond::Eq(a[2]))? {
        e.remove(a[1]);
    }
    Ok(())
}

pub fn msetnx(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(wrong_args(a));
    }
    if a[1..].chunks(2).any(|kv| e.exists(kv[0])) {
        return Ok(());
    }
    mset(e, a)
}

fn string_mut<'a>(e: &'a mut Engine, key: &[u8]) -> Result<Option<&'a mut Vec<u8>>, String> {
    match e.slot_mut(key) {
        None => Ok(None),
        Some(s) => match &mut s.value {
            Value::String(v) => Ok(Some(v)),
            _ => Err(WRONGTYPE.into()),
        },
    }
}

/// Stops the replay: the server would build a string of `bytes` bytes, more
/// than [`MAX_STRING`].
fn too_big(e: &mut Engine, bytes: u64) -> String {
    e.too_large = Some(bytes);
    format!("string of {bytes} bytes is larger than this tool replays")
}

pub fn append(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    match string_mut(e, a[1])? {
        Some(v) => {
            let n = (v.len() + a[2].len()) as u64;
            if n > MAX_STRING {
                return Err(too_big(e, n));
            }
            v.extend_from_slice(a[2]);
        }
        None => e.set_key(a[1], Value::String(a[2].to_vec())),
    }
    Ok(())
}

pub fn setrange(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let off = int(a[2])?;
    if off < 0 {
        return Err("ERR offset is out of range".into());
    }
    let off = off as u64;
    let val = a[3];
    let exists = e.get_string(a[1])?.is_some();
    if val.is_empty() {
        return Ok(());
    }
    if off + val.len() as u64 > MAX_STRING {
        return Err(too_big(e, off + val.len() as u64));
    }
    if !exists {
        e.set_key(a[1], Value::String(Vec::new()));
    }
    let s = string_mut(e, a[1])?.expect("exists");
    let end = off as usize + val.len();
    if s.len() < end {
        s.resize(end, 0);
    }
    s[off as usize..end].copy_from_slice(val);
    Ok(())
}

pub fn getset(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    e.get_string(a[1])?;
    e.set_key(a[1], Value::String(a[2].to_vec()));
    Ok(())
}

pub fn getdel(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if e.get_string(a[1])?.is_some() {
        e.remove(a[1]);
    }
    Ok(())
}

pub fn getex(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let mut ttl = Ttl::None;
    let mut i = 2;
    while i < a.len() {
        let o = a[i];
        if is(o, "persist") && matches!(ttl, Ttl::None) {
            ttl = Ttl::Persist;
        } else if (is(o, "ex") || is(o, "px") || is(o, "exat") || is(o, "pxat"))
            && matches!(ttl, Ttl::None)
            && i + 1 < a.len()
        {
            ttl = Ttl::At(expire_at(e, o, a[i + 1], "getex")?);
            i += 1;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    if e.get_string(a[1])?.is_none() {
        return Ok(());
    }
    let slot = e.slot_mut(a[1]).expect("exists");
    match ttl {
        Ttl::Persist => slot.expire_ms = None,
        Ttl::At(t) => slot.expire_ms = Some(t),
        Ttl::None | Ttl::Keep => {}
    }
    Ok(())
}

fn incr_generic(e: &mut Engine, key: &[u8], by: i64) -> CmdResult {
    let cur = match e.get_string(key)? {
        Some(v) => args::parse_i64_strict(v).ok_or_else(|| NOT_INT.to_string())?,
        None => 0,
    };
    let new = cur
        .checked_add(by)
        .ok_or_else(|| "ERR increment or decrement would overflow".to_string())?;
    e.set_key_keepttl(key, Value::String(itoa(new)));
    Ok(())
}

pub fn incr(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    incr_generic(e, a[1], 1)
}

pub fn decr(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    incr_generic(e, a[1], -1)
}

pub fn incrby(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    incr_generic(e, a[1], int(a[2])?)
}

pub fn decrby(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let by = int(a[2])?;
    if by == i64::MIN {
        return Err("ERR decrement would overflow".into());
    }
    incr_generic(e, a[1], -by)
}

/// `INCRBYFLOAT`: computed in `long double` and stored as Redis formats it
/// (`%.17Lf` trimmed: `INCRBYFLOAT k 1e30` holds
/// `1000000000000000000024696061952`), see [`Ld`].
pub fn incrbyfloat(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let cur = match e.get_string(a[1])? {
        Some(v) => Ld::parse(v).ok_or_else(|| args::NOT_FLOAT.to_string())?,
        None => Ld::zero(),
    };
    let by = Ld::parse(a[2]).ok_or_else(|| args::NOT_FLOAT.to_string())?;
    let new = cur
        .checked_add(by)
        .and_then(Ld::human)
        .ok_or_else(|| "ERR increment would produce NaN or Infinity".to_string())?;
    e.set_key_keepttl(a[1], Value::String(new));
    Ok(())
}

fn bit_offset(arg: &[u8], hash: bool, bits: u64) -> Result<u64, String> {
    let err = || "ERR bit offset is not an integer or out of range".to_string();
    let (mul, digits) = match arg.first() {
        Some(b'#') if hash => (bits, &arg[1..]),
        _ => (1, arg),
    };
    let v = args::parse_i64_strict(digits).ok_or_else(err)?;
    if v < 0 {
        return Err(err());
    }
    // No `proto-max-bulk-len` check: the loader does not apply it (the
    // string is bounded where it grows, [`string_for_bits`]).
    (v as u64).checked_mul(mul).ok_or_else(err)
}

/// The string at `key`, created or grown (zero-padded) to hold bit `max_bit`.
fn string_for_bits<'a>(
    e: &'a mut Engine,
    key: &[u8],
    max_bit: u64,
) -> Result<&'a mut Vec<u8>, String> {
    let need = (max_bit >> 3) + 1;
    if need > MAX_STRING && e.get_string(key)?.is_none_or(|s| (s.len() as u64) < need) {
        return Err(too_big(e, need));
    }
    if e.get_string(key)?.is_none() {
        e.set_key(key, Value::String(Vec::new()));
    }
    let s = string_mut(e, key)?.expect("exists");
    let need = need as usize;
    if s.len() < need {
        s.resize(need, 0);
    }
    Ok(s)
}

pub fn setbit(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let off = bit_offset(a[2], false, 0)?;
    let on = match a[3] {
        b"1" => true,
        b"0" => false,
        _ => return Err("ERR bit is not an integer or out of range".into()),
    };
    let s = string_for_bits(e, a[1], off)?;
    let byte = (off >> 3) as usize;
    let bit = 7 - (off & 7) as u32;
    if on {
        s[byte] |= 1 << bit;
    } else {
        s[byte] &= !(1 << bit);
    }
    Ok(())
}

fn get_unsigned(p: &[u8], mut off: u64, bits: u64) -> u64 {
    let mut v = 0u64;
    for _ in 0..bits {
        let byte = (off >> 3) as usize;
        let bit = 7 - (off & 7);
        let b = p.get(byte).map_or(0, |x| (x >> bit) & 1);
        v = (v << 1) | u64::from(b);
        off += 1;
    }
    v
}

fn get_signed(p: &[u8], off: u64, bits: u64) -> i64 {
    let mut v = get_unsigned(p, off, bits);
    if bits < 64 && v & (1u64 << (bits - 1)) != 0 {
        v |= u64::MAX << bits;
    }
    v as i64
}

fn set_unsigned(p: &mut [u8], mut off: u64, bits: u64, value: u64) {
    for j in 0..bits {
        let bitval = (value >> (bits - 1 - j)) & 1;
        let byte = (off >> 3) as usize;
        let bit = 7 - (off & 7);
        if bitval == 1 {
            p[byte] |= 1 << bit;
        } else {
            p[byte] &= !(1 << bit);
        }
        off += 1;
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// Redis `checkSignedBitfieldOverflow`: Some(limit) on overflow (limit is the
/// wrapped or saturated value; unused for FAIL).
fn signed_overflow(value: i64, incr: i64, bits: u64, ow: Overflow) -> Option<i64> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => min,
        })
    } else {
        None
    }
}

/// Redis `checkUnsignedBitfieldOverflow`.
fn unsigned_overflow(value: u64, incr: i64, bits: u64, ow: Overflow) -> Option<u64> {
    let max: u64 = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || {
        let mask = if bits >= 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => 0,
        })
    } else {
        None
    }
}

enum BfOp {
    Get,
    Set(i64),
    Incr(i64),
}

pub fn bitfield(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let mut ops = Vec::new();
    let mut ow = Overflow::Wrap;
    let mut i = 2;
    let mut writes = false;
    let mut max_bit = 0u64;
    while i < a.len() {
        let o = a[i];
        let remaining = a.len() - i - 1;
        if is(o, "overflow") && remaining >= 1 {
            ow = if is(a[i + 1], "wrap") {
                Overflow::Wrap
            } else if is(a[i + 1], "sat") {
                Overflow::Sat
            } else if is(a[i + 1], "fail") {
                Overflow::Fail
            } else {
                return Err("ERR Invalid OVERFLOW type specified".into());
            };
            i += 2;
            continue;
        }
        let (get, set, incrby) = (is(o, "get"), is(o, "set"), is(o, "incrby"));
        if !(get && remaining >= 2 || (set || incrby) && remaining >= 3) {
            return Err(SYNTAX.into());
        }
        let ty = a[i + 1];
        let bad_type = || {
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.".to_string()
        };
        let signed = match ty.first() {
            Some(b'i' | b'I') => true,
            Some(b'u' | b'U') => false,
            _ => return Err(bad_type()),
        };
        let bits = args::parse_i64_strict(&ty[1..]).ok_or_else(bad_type)?;
        if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
            return Err(bad_type());
        }
        let bits = bits as u64;
        let off = bit_offset(a[i + 2], true, bits)?;
        let op = if get {
            i += 3;
            BfOp::Get
        } else {
            let v = int(a[i + 3])?;
            i += 4;
            writes = true;
            max_bit = max_bit.max(off + bits - 1);
            if set { BfOp::Set(v) } else { BfOp::Incr(v) }
        };
        ops.push((op, signed, bits, off, ow));
    }
    if !writes {
        e.get_string(a[1])?;
        return Ok(());
    }
    let s = string_for_bits(e, a[1], max_bit)?;
    for (op, signed, bits, off, ow) in ops {
        match op {
            BfOp::Get => {}
            BfOp::Set(v) | BfOp::Incr(v) => {
                let is_incr = matches!(op, BfOp::Incr(_));
                if signed {
                    let old = get_signed(s, off, bits);
                    let (overflow, new) = if is_incr {
                        match signed_overflow(old, v, bits, ow) {
                            Some(w) => (true, w),
                            None => (false, old.wrapping_add(v)),
                        }
                    } else {
                        match signed_overflow(v, 0, bits, ow) {
                            Some(w) => (true, w),
                            None => (false, v),
                        }
                    };
                    if !(overflow && ow == Overflow::Fail) {
                        set_unsigned(s, off, bits, new as u64);
                    }
                } else {
                    let old = get_unsigned(s, off, bits);
                    let (overflow, new) = if is_incr {
                        match unsigned_overflow(old, v, bits, ow) {
                            Some(w) => (true, w),
                            None => (false, old.wrapping_add(v as u64)),
                        }
                    } else {
                        match unsigned_overflow(v as u64, 0, bits, ow) {
                            Some(w) => (true, w),
                            None => (false, v as u64),
                        }
                    };
                    if !(overflow && ow == Overflow::Fail) {
                        set_unsigned(s, off, bits, new);
                    }
                }
            }
        }
    }
    Ok(())
}

/// `BITOP AND|OR|XOR|NOT|DIFF|DIFF1|ANDOR|ONE dest key…`; the last four are
/// Redis 8.2's: `DIFF X Y…` = X ∧ ¬(Y₁ ∨ …), `DIFF1` = ¬X ∧ (Y₁ ∨ …),
/// `ANDOR` = X ∧ (Y₁ ∨ …) (each with at least two sources), `ONE` = the bits
/// set in exactly one source.
pub fn bitop(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let op = a[1];
    let not = is(op, "not");
    let names = ["and", "or", "xor", "not", "diff", "diff1", "andor", "one"];
    let Some(which) = names.iter().position(|n| is(op, n)) else {
        return Err(SYNTAX.into());
    };
    if not && a.len() != 4 {
        return Err("ERR BITOP NOT must be called with a single source key.".into());
    }
    if (4..=6).contains(&which) && a.len() < 5 {
        return Err(format!(
            "ERR BITOP {} must be called with at least two source keys.",
            names[which].to_ascii_uppercase()
        ));
    }
    let mut srcs = Vec::new();
    for k in &a[3..] {
        srcs.push(e.get_string(k)?.cloned().unwrap_or_default());
    }
    let maxlen = srcs.iter().map(Vec::len).max().unwrap_or(0);
    if maxlen == 0 {
        e.remove(a[2]);
        return Ok(());
    }
    let mut res = vec![0u8; maxlen];
    for (j, out) in res.iter_mut().enumerate() {
        let byte = |s: &Vec<u8>| s.get(j).copied().unwrap_or(0);
        let first = byte(&srcs[0]);
        let others = || srcs[1..].iter().fold(0u8, |acc, s| acc | byte(s));
        *out = match which {
            3 => !first,
            4 => first & !others(),
            5 => !first & others(),
            6 => first & others(),
            7 => {
                let (mut once, mut more) = (0u8, 0u8);
                for s in &srcs {
                    let b = byte(s);
                    more |= once & b;
                    once |= b;
                }
                once & !more
            }
            _ => {
                let mut acc = first;
                for s in &srcs[1..] {
                    let b = byte(s);
                    match which {
                        0 => acc &= b,
                        1 => acc |= b,
                        _ => acc ^= b,
                    }
                }
                acc
            }
        };
    }
    e.set_key(a[2], Value::String(res));
    Ok(())
}

const INVALID_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";

pub fn pfadd(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let key = a[1];
    let created = match e.get_string(key)? {
        None => {
            e.set_key(key, Value::String(hll::new_sparse()));
            true
        }
        Some(v) => {
            if !hll::is_valid(v) {
                return Err(INVALID_HLL.into());
            }
            false
        }
    };
    let s = string_mut(e, key)?.expect("exists");
    let mut updated = created;
    for el in &a[2..] {
        match hll::add(s, el) {
            Ok(true) => updated = true,
            Ok(false) => {}
            Err(hll::Corrupt) => return Err("INVALIDOBJ Corrupted HLL object detected".into()),
        }
    }
    if updated {
        hll::invalidate_cache(s);
    }
    Ok(())
}

pub fn pfmerge(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let mut max = vec![0u8; hll::REGISTERS];
    let mut use_dense = false;
    for k in &a[1..] {
        let Some(v) = e.get_string(k)? else { continue };
        if !hll::is_valid(v) {
            return Err(INVALID_HLL.into());
        }
        if hll::is_dense(v) {
            use_dense = true;
        }
        hll::merge_into(&mut max, v)
            .map_err(|hll::Corrupt| "INVALIDOBJ Corrupted HLL object detected".to_string())?;
    }
    if e.get_string(a[1])?.is_none() {
        e.set_key(a[1], Value::String(hll::new_sparse()));
    }
    let s = string_mut(e, a[1])?.expect("exists");
    if use_dense {
        hll::to_dense(s)
            .map_err(|hll::Corrupt| "INVALIDOBJ Corrupted HLL object detected".to_string())?;
    }
    for (j, &m) in max.iter().enumerate() {
        if m != 0 {
            hll::set_register(s, j, m)
                .map_err(|hll::Corrupt| "INVALIDOBJ Corrupted HLL object detected".to_string())?;
        }
    }
    hll::invalidate_cache(s);
    Ok(())
}

pub fn pfcount(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if a.len() != 2 {
        // Counting several keys merges into a temporary: nothing is written.
        for k in &a[1..] {
            if let Some(v) = e.get_string(k)? {
                if !hll::is_valid(v) {
                    return Err(INVALID_HLL.into());
                }
            }
        }
        return Ok(());
    }
    let Some(v) = string_mut(e, a[1])? else {
        return Ok(());
    };
    if !hll::is_valid(v) {
        return Err(INVALID_HLL.into());
    }
    hll::refresh_cache(v)
        .map_err(|hll::Corrupt| "INVALIDOBJ Corrupted HLL object detected".to_string())
}

pub fn pfdebug(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let Some(v) = string_mut(e, a[2])? else {
        return Err("ERR The specified key does not exist".into());
    };
    if !hll::is_valid(v) {
        return Err(INVALID_HLL.into());
    }
    if is(a[1], "getreg") || is(a[1], "todense") {
        hll::to_dense(v)
            .map_err(|hll::Corrupt| "INVALIDOBJ Corrupted HLL object detected".to_string())?;
    }
    Ok(())
}
