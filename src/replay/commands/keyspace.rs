//! Keyspace commands (DEL, RENAME, MOVE, COPY, SWAPDB, FLUSH*, SELECT), the
//! expire family, RESTORE and FUNCTION.

use super::super::Engine;
use super::super::args::{self, CmdResult, SYNTAX, int, is};
use super::super::dataset;
use crate::model;

pub fn del(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    for k in &a[1..] {
        e.remove(k);
    }
    Ok(())
}

fn rename_generic(e: &mut Engine, a: &[&[u8]], nx: bool) -> CmdResult {
    let (src, dst) = (a[1], a[2]);
    if !e.exists(src) {
        return Err("ERR no such key".into());
    }
    if src == dst {
        return Ok(());
    }
    if nx && e.exists(dst) {
        return Ok(());
    }
    let slot = e.remove(src).expect("exists");
    e.dbm().insert(dst.into(), slot);
    Ok(())
}

pub fn rename(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    rename_generic(e, a, false)
}

pub fn renamenx(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    rename_generic(e, a, true)
}

fn db_index(e: &Engine, b: &[u8]) -> Result<usize, String> {
    let n = args::parse_i64_strict(b)
        .ok_or_else(|| "ERR value is not an integer or out of range".to_string())?;
    if n < 0 || n as usize >= e.ds.dbs.len() {
        return Err("ERR DB index is out of range".into());
    }
    Ok(n as usize)
}

pub fn move_(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let dst = db_index(e, a[2])?;
    if dst == e.db {
        return Err("ERR source and destination objects are the same".into());
    }
    if !e.exists(a[1]) || e.ds.dbs[dst].contains_key(a[1]) {
        return Ok(());
    }
    let slot = e.remove(a[1]).expect("exists");
    e.ds.dbs[dst].insert(a[1].into(), slot);
    Ok(())
}

pub fn copy(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (src, dst) = (a[1], a[2]);
    let mut dstdb = e.db;
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        if is(a[i], "replace") {
            replace = true;
        } else if is(a[i], "db") && i + 1 < a.len() {
            dstdb = db_index(e, a[i + 1])?;
            i += 1;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    if src == dst && dstdb == e.db {
        return Err("ERR source and destination objects are the same".into());
    }
    let Some(slot) = e.slot(src).cloned() else {
        return Ok(());
    };
    if e.ds.dbs[dstdb].contains_key(dst) && !replace {
        return Ok(());
    }
    e.ds.dbs[dstdb].insert(dst.into(), slot);
    Ok(())
}

pub fn swapdb(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let x = db_index(e, a[1]).map_err(|_| "ERR invalid first DB index".to_string())?;
    let y = db_index(e, a[2]).map_err(|_| "ERR invalid second DB index".to_string())?;
    e.ds.dbs.swap(x, y);
    Ok(())
}

fn flush_opt(a: &[&[u8]]) -> CmdResult {
    match a.len() {
        1 => Ok(()),
        2 if is(a[1], "async") || is(a[1], "sync") => Ok(()),
        _ => Err(SYNTAX.into()),
    }
}

pub fn flushdb(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    flush_opt(a)?;
    e.dbm().clear();
    Ok(())
}

pub fn flushall(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    flush_opt(a)?;
    for db in &mut e.ds.dbs {
        db.clear();
    }
    Ok(())
}

// The cluster hash slot of a key: one definition, in `crate::cluster`.
use crate::cluster::key_slot;

/// Deletes the keys of every database whose slot `in_slots` accepts.
fn delete_slots(e: &mut Engine, in_slots: impl Fn(u16) -> bool) {
    for db in &mut e.ds.dbs {
        db.retain(|k, _| !in_slots(key_slot(k)));
    }
}

fn slot_arg(v: &[u8]) -> Result<u16, String> {
    int(v)
        .ok()
        .and_then(|n| u16::try_from(n).ok())
        .filter(|&n| n < 16384)
        .ok_or_else(|| {
            format!(
                "ERR Invalid or out of range slot '{}'",
                String::from_utf8_lossy(v)
            )
        })
}

/// `TRIMSLOTS RANGES n start end …` (Redis 8.4+, cluster; written to the AOF
/// as is): deletes the keys of those slots in every database.
pub fn trimslots(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if !is(a[1], "ranges") {
        return Err(SYNTAX.into());
    }
    let n = usize::try_from(int(a[2])?).map_err(|_| SYNTAX.to_string())?;
    if n == 0 || a.len() != 3 + 2 * n {
        return Err(SYNTAX.into());
    }
    let mut ranges = Vec::with_capacity(n);
    for r in a[3..].chunks(2) {
        let (start, end) = (slot_arg(r[0])?, slot_arg(r[1])?);
        if start > end {
            return Err("ERR start slot number is greater than end slot number".into());
        }
        ranges.push(start..=end);
    }
    delete_slots(e, |s| ranges.iter().any(|r| r.contains(&s)));
    Ok(())
}

/// `CLUSTER FLUSHSLOT slot [ASYNC|SYNC]` (Valkey 9, written to the AOF as
/// is): deletes the slot's keys in every database. The other `CLUSTER`
/// subcommands change no data (and are not written to an AOF).
pub fn cluster(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if !is(a[1], "flushslot") {
        return Err(format!(
            "ERR unknown subcommand '{}'",
            String::from_utf8_lossy(a[1])
        ));
    }
    let (Some(slot), true) = (a.get(2), a.len() <= 4) else {
        return Err(super::wrong_args(a));
    };
    if let Some(mode) = a.get(3) {
        if !is(mode, "async") && !is(mode, "sync") {
            return Err(SYNTAX.into());
        }
    }
    let slot = slot_arg(slot)?;
    delete_slots(e, |s| s == slot);
    Ok(())
}

pub fn select(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let n = int(a[1]).map_err(|_| "ERR invalid DB index".to_string())?;
    if n < 0 || n as usize >= e.ds.dbs.len() {
        return Err("ERR DB index is out of range".into());
    }
    e.db = n as usize;
    Ok(())
}

fn expire_generic(e: &mut Engine, a: &[&[u8]], unit_ms: i64, relative: bool) -> CmdResult {
    let name = String::from_utf8_lossy(a[0]).to_lowercase();
    let t = int(a[2])?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in &a[3..] {
        if is(o, "nx") {
            nx = true;
        } else if is(o, "xx") {
            xx = true;
        } else if is(o, "gt") {
            gt = true;
        } else if is(o, "lt") {
            lt = true;
        } else {
            return Err(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(o)
            ));
        }
    }
    if nx && (xx || gt || lt) {
        return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
    }
    if gt && lt {
        return Err("ERR GT and LT options at the same time are not compatible".into());
    }
    let invalid = || format!("ERR invalid expire time in '{name}' command");
    let mut when = t.checked_mul(unit_ms).ok_or_else(invalid)?;
    if relative {
        when = when.checked_add(e.now_ms).ok_or_else(invalid)?;
    }
    let Some(slot) = e.slot_mut(a[1]) else {
        return Ok(());
    };
    let cur = slot.expire_ms;
    if nx && cur.is_some() || xx && cur.is_none() {
        return Ok(());
    }
    if gt && cur.is_none_or(|c| when <= c) {
        return Ok(());
    }
    if lt && cur.is_some_and(|c| when >= c) {
        return Ok(());
    }
    // The loader never deletes a key for a time in the past: it stores it.
    slot.expire_ms = Some(when);
    Ok(())
}

pub fn expire(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    expire_generic(e, a, 1000, true)
}
pub fn pexpire(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    expire_generic(e, a, 1, true)
}
pub fn expireat(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    expire_generic(e, a, 1000, false)
}
pub fn pexpireat(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    expire_generic(e, a, 1, false)
}

pub fn persist(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if let Some(s) = e.slot_mut(a[1]) {
        s.expire_ms = None;
    }
    Ok(())
}

pub fn restore(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (key, payload) = (a[1], a[3]);
    let ttl = int(a[2])?;
    let (mut replace, mut absttl) = (false, false);
    let mut i = 4;
    while i < a.len() {
        if is(a[i], "replace") {
            replace = true;
        } else if is(a[i], "absttl") {
            absttl = true;
        } else if (is(a[i], "idletime") || is(a[i], "freq")) && i + 1 < a.len() {
            int(a[i + 1])?;
            i += 1;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    if ttl < 0 {
        return Err("ERR Invalid TTL value, must be >= 0".into());
    }
    if !replace && e.exists(key) {
        return Err("BUSYKEY Target key name already exists.".into());
    }
    // The footer (RDB version, CRC-64) is checked first, as `verifyDumpPayload`.
    let decoded = crate::rdb::payload::decode(payload, true).map_err(|err| match err.kind() {
        crate::rdb::ErrorKind::ChecksumMismatch { .. }
        | crate::rdb::ErrorKind::UnsupportedVersion { .. } => {
            "ERR DUMP payload version or checksum are wrong".to_string()
        }
        _ => format!("ERR Bad data format ({err})"),
    })?;
    let value = dataset::from_model(decoded.value)?;
    if value.is_empty_aggregate() {
        return Err("ERR Bad data format".into());
    }
    let expire = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(t.saturating_add(e.now_ms)),
    };
    e.set_key(key, value);
    e.slot_mut(key).expect("set").expire_ms = expire;
    Ok(())
}

fn valid_library_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

pub fn function(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let sub = a[1];
    if is(sub, "load") {
        let (replace, code) = match a.len() {
            3 => (false, a[2]),
            4 if is(a[2], "replace") => (true, a[3]),
            _ => return Err(SYNTAX.into()),
        };
        let lib = model::FunctionLibrary {
            code: code.to_vec(),
        };
        let (engine, name) = lib
            .engine_and_name()
            .ok_or_else(|| "ERR Missing library metadata".to_string())?;
        if !engine.eq_ignore_ascii_case("lua") {
            return Err(format!("ERR Engine '{engine}' not found"));
        }
        if !valid_library_name(&name) {
            return Err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
        }
        if !replace && e.ds.functions.contains_key(name.as_bytes()) {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        e.ds.functions.insert(name.into_bytes(), code.to_vec());
        Ok(())
    } else if is(sub, "delete") {
        if a.len() != 3 {
            return Err(super::wrong_args(a));
        }
        if e.ds.functions.remove(a[2]).is_none() {
            return Err("ERR Library not found".into());
        }
        Ok(())
    } else if is(sub, "restore") {
        function_restore(e, a)
    } else if is(sub, "flush") {
        flush_opt(&a[1..])?;
        e.ds.functions.clear();
        Ok(())
    } else {
        // Read-only subcommands (LIST, STATS, DUMP) never reach an AOF; anything
        // else is rejected like an unknown subcommand.
        Err(format!(
            "ERR unknown subcommand '{}'",
            String::from_utf8_lossy(sub)
        ))
    }
}

pub fn nested_multi(_: &mut Engine, _: &[&[u8]]) -> CmdResult {
    Err("ERR MULTI calls can not be nested".into())
}

pub fn discard(_: &mut Engine, _: &[&[u8]]) -> CmdResult {
    Err("ERR DISCARD without MULTI".into())
}

pub fn noop(_: &mut Engine, _: &[&[u8]]) -> CmdResult {
    Ok(())
}

/// Reads one RDB length (§1.3) at `p`; `Err` on truncation. Returns (value,
/// is-special-encoding).
fn rdb_len(b: &[u8], p: &mut usize) -> Result<(u64, bool), ()> {
    let first = *b.get(*p).ok_or(())?;
    *p += 1;
    match first >> 6 {
        0 => Ok((u64::from(first & 0x3f), false)),
        1 => {
            let second = *b.get(*p).ok_or(())?;
            *p += 1;
            Ok(((u64::from(first & 0x3f) << 8) | u64::from(second), false))
        }
        3 => Ok((u64::from(first & 0x3f), true)),
        _ => {
            let n = match first {
                0x80 => 4,
                0x81 => 8,
                _ => return Err(()),
            };
            let bytes = b.get(*p..*p + n).ok_or(())?;
            *p += n;
            Ok((
                bytes.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
                false,
            ))
        }
    }
}

/// Reads one RDB string (§1.4: raw, integer-encoded or LZF) at `p`.
fn rdb_string(b: &[u8], p: &mut usize) -> Result<Vec<u8>, ()> {
    let (n, special) = rdb_len(b, p)?;
    if !special {
        let n = usize::try_from(n).map_err(|_| ())?;
        let s = b.get(*p..p.checked_add(n).ok_or(())?).ok_or(())?.to_vec();
        *p += n;
        return Ok(s);
    }
    let int = |w: usize, p: &mut usize| -> Result<i64, ()> {
        let bytes = b.get(*p..*p + w).ok_or(())?;
        *p += w;
        let mut buf = [0u8; 8];
        buf[..w].copy_from_slice(bytes);
        let v = i64::from_le_bytes(buf);
        let shift = 64 - 8 * w as u32;
        Ok((v << shift) >> shift)
    };
    match n {
        0 => int(1, p).map(|v| v.to_string().into_bytes()),
        1 => int(2, p).map(|v| v.to_string().into_bytes()),
        2 => int(4, p).map(|v| v.to_string().into_bytes()),
        3 => {
            let (clen, _) = rdb_len(b, p)?;
            let (ulen, _) = rdb_len(b, p)?;
            let clen = usize::try_from(clen).map_err(|_| ())?;
            let data = b.get(*p..p.checked_add(clen).ok_or(())?).ok_or(())?;
            *p += clen;
            let ulen = usize::try_from(ulen).map_err(|_| ())?;
            if ulen > b.len().saturating_mul(300) {
                return Err(());
            }
            let out = lzf::decompress(data, ulen).map_err(|_| ())?;
            if out.len() == ulen { Ok(out) } else { Err(()) }
        }
        _ => Err(()),
    }
}

/// `FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]`: the payload of
/// `FUNCTION DUMP` is a sequence of `FUNCTION2` records (0xF5, library code) with
/// the DUMP footer (RDB version, CRC-64).
fn function_restore(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let payload = *a.get(2).ok_or_else(|| super::wrong_args(a))?;
    let policy =
        match a.get(3) {
            None => "append",
            Some(p) if is(p, "append") => "append",
            Some(p) if is(p, "replace") => "replace",
            Some(p) if is(p, "flush") => "flush",
            Some(_) => return Err(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."
                    .into(),
            ),
        };
    if a.len() > 4 {
        return Err(super::wrong_args(a));
    }
    let bad = || "ERR payload version or checksum are wrong".to_string();
    if payload.len() < 10 {
        return Err(bad());
    }
    let n = payload.len();
    let crc = u64::from_le_bytes(payload[n - 8..].try_into().map_err(|_| bad())?);
    if crate::io::crc64(&payload[..n - 8]) != crc {
        return Err(bad());
    }
    let body = &payload[..n - 10];
    let mut libs = Vec::new();
    let mut p = 0;
    while p < body.len() {
        if body[p] != 0xf5 {
            return Err("ERR given type is not a function".into());
        }
        p += 1;
        let code = rdb_string(body, &mut p).map_err(|()| "ERR Bad data format".to_string())?;
        let lib = model::FunctionLibrary { code };
        let (_, name) = lib
            .engine_and_name()
            .ok_or_else(|| "ERR Missing library metadata".to_string())?;
        libs.push((name.into_bytes(), lib.code));
    }
    if policy == "append" {
        if let Some((name, _)) = libs.iter().find(|(n, _)| e.ds.functions.contains_key(n)) {
            return Err(format!(
                "ERR Library {} already exists",
                String::from_utf8_lossy(name)
            ));
        }
    }
    if policy == "flush" {
        e.ds.functions.clear();
    }
    e.ds.functions.extend(libs);
    Ok(())
}

#[cfg(test)]
mod slot_tests {
    #[test]
    fn key_slots_as_cluster_keyslot_reports_them() {
        // CLUSTER KEYSLOT of Redis 8.6.3 / Valkey 9.1.2.
        assert_eq!(super::key_slot(b"a"), 15495);
        assert_eq!(super::key_slot(b"{a}x"), 15495);
        assert_eq!(super::key_slot(b"foo"), 12182);
        assert_eq!(super::key_slot(b"{}a"), super::key_slot(b"{}a"));
        assert_ne!(super::key_slot(b"{}a"), super::key_slot(b"a"));
    }
}
