//! The `stats --json` document (schema in the README, `## stats`). Byte
//! strings (keys, prefixes) are written as escaped text (`key`, the human
//! escaping) with the exact bytes in hex (`key_hex`), as `check-rdb` does.

use redis_persist::stats::hist::Summary;
use redis_persist::stats::prefix::{Counts, Node};
use redis_persist::stats::rdb::{Analysis, Severity};
use redis_persist::stats::{Group, Options, TopKey};
use std::collections::BTreeMap;

use serde_json::{Map, Value as J, json};

use super::Origin;
use crate::output;

fn dist(s: &Summary) -> J {
    json!({
        "count": s.count, "min": s.min, "max": s.max, "mean": s.mean,
        "p50": s.p50, "p90": s.p90, "p99": s.p99,
    })
}

/// A group of keys (a type, a database, or both).
pub fn group(g: &Group) -> J {
    json!({
        "keys": g.keys,
        "expires": g.expires,
        "already_expired": g.already_expired,
        "key_bytes": g.key_bytes,
        "value_bytes": g.value_bytes,
        "size": g.size,
        "elements": g.elements,
        "memory": g.memory,
        "elements_dist": dist(&g.elements_dist.summary()),
        "size_dist": dist(&g.size_dist.summary()),
        "memory_dist": dist(&g.memory_dist.summary()),
    })
}

fn top(list: &[TopKey], format: redis_persist::rdb::types::Format) -> J {
    J::Array(
        list.iter()
            .map(|t| {
                json!({
                    "db": t.db,
                    "key": output::escape_bytes(&t.key),
                    "key_hex": output::hex(&t.key),
                    "type": t.kind.name(),
                    "rdb_encoding": t.rdb_type.map(|ty| redis_persist::rdb::types::type_name_in(format, ty)),
                    "encoding": t.encoding,
                    "size": t.size,
                    "elements": t.elements,
                    "memory": t.memory,
                    "expire_ms": t.expire_ms,
                    "offset": t.offset,
                })
            })
            .collect(),
    )
}

fn counts(c: Counts) -> J {
    json!({"keys": c.keys, "size": c.size, "memory": c.memory})
}

fn node(n: &Node) -> J {
    json!({
        "prefix": output::escape_bytes(&n.prefix),
        "prefix_hex": output::hex(&n.prefix),
        "level": n.level,
        "keys": n.counts.keys,
        "size": n.counts.size,
        "memory": n.counts.memory,
        "other": counts(n.other),
        "children": n.children.iter().map(node).collect::<Vec<_>>(),
    })
}

/// The JSON keys of the TTL buckets, in order.
pub const TTL_KEYS: [&str; 7] = [
    "already_expired",
    "lt_1h",
    "lt_1d",
    "lt_7d",
    "lt_30d",
    "ge_30d",
    "none",
];

/// The whole document.
pub fn document(src: &Origin, a: &Analysis, opts: &Options) -> J {
    let r = &a.report;
    let f = &a.file;
    let format = f.format.unwrap_or(redis_persist::rdb::types::Format::Redis);
    let by_db: Map<String, J> = r
        .by_db
        .iter()
        .map(|(db, d)| {
            let mut g = group(&d.total);
            g["by_type"] = J::Object(
                d.by_type
                    .iter()
                    .map(|(k, g)| (k.name().to_owned(), group(g)))
                    .collect(),
            );
            (db.to_string(), g)
        })
        .collect();
    let by_type: Map<String, J> = r
        .by_type
        .iter()
        .map(|(k, g)| (k.name().to_owned(), group(g)))
        .collect();
    let rdb_encodings: Map<String, J> = r
        .rdb_encodings
        .iter()
        .map(|e| {
            (
                e.name.to_owned(),
                json!({"rdb_type": e.rdb_type, "type": e.kind.map(redis_persist::model::KeyType::name), "keys": e.keys}),
            )
        })
        .collect();
    // type → in-memory encoding → {keys, memory, from: {RDB encoding: keys}}
    type Enc<'a> = (u64, u64, BTreeMap<&'a str, u64>);
    let mut enc: BTreeMap<&str, BTreeMap<&str, Enc<'_>>> = BTreeMap::new();
    for e in &r.encodings {
        let x = enc
            .entry(e.kind.name())
            .or_default()
            .entry(e.encoding)
            .or_default();
        x.0 += e.keys;
        x.1 += e.memory;
        *x.2.entry(e.rdb_encoding.unwrap_or("none")).or_default() += e.keys;
    }
    let encodings: Map<String, J> = enc
        .into_iter()
        .map(|(t, m)| {
            let m: Map<String, J> = m
                .into_iter()
                .map(|(e, (k, mem, from))| {
                    (
                        e.to_owned(),
                        json!({"keys": k, "memory": mem, "from": from}),
                    )
                })
                .collect();
            (t.to_owned(), J::Object(m))
        })
        .collect();
    let modules: Map<String, J> = r
        .modules
        .iter()
        .map(|(n, (k, b))| (n.clone(), json!({"keys": k, "bytes": b})))
        .collect();
    let ttl: Map<String, J> = TTL_KEYS
        .iter()
        .zip(&r.ttl)
        .map(|(k, (_, n))| ((*k).to_owned(), json!(n)))
        .collect();
    let aux = output::json_aux(&f.aux);
    let problems: Vec<J> = a
        .problems
        .iter()
        .map(|p| {
            json!({
                "severity": match p.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "offset": p.offset,
                "message": p.message,
                "db": p.db,
                "key": p.key.as_deref().map(output::escape_bytes),
                "key_hex": p.key.as_deref().map(output::hex),
                "truncated": p.truncated,
                "kind": match p.severity {
                    Severity::Warning => "warning",
                    Severity::Error if p.unsupported => "unsupported",
                    Severity::Error => "corrupt",
                },
            })
        })
        .collect();
    let m = &r.memory;
    let mut doc = json!({
        "path": src.path,
        "input": src.kind,
        "analysed_file": src.file.as_ref().map(|f| f.display().to_string()),
        "incr_bytes": src.incr_bytes,
        "replay": src.replay,
        "size": src.size,
        "format": f.format,
        "rdb_version": f.rdb_version,
        "aux": aux,
        "complete": a.is_complete(),
        "checksum": f.checksum,
        "trailing_bytes": f.trailing_bytes,
        "keys": r.total.keys,
        "expires": r.total.expires,
        "already_expired": r.total.already_expired,
        "key_bytes": r.total.key_bytes,
        "value_bytes": r.total.value_bytes,
        "elements": r.total.elements,
        "memory": {
            "model": "redis-7.0-jemalloc",
            "keys": m.keys,
            "main_dict": m.main_dict,
            "expires_dict": m.expires_dict,
            "entry_rounding": m.entry_rounding,
            "total": m.total,
        },
        "by_db": by_db,
        "by_type": by_type,
        "rdb_encodings": rdb_encodings,
        "encodings": encodings,
        "modules": modules,
        "module_aux": f.module_aux,
        "functions": f.functions.iter().map(|x| json!({"engine": x.engine, "name": x.name, "bytes": x.bytes})).collect::<Vec<_>>(),
        "lua_scripts": f.lua_scripts,
        "ttl": ttl,
        "field_ttls": {"keys": r.field_ttl_keys, "fields": r.field_ttls},
        "lfu": r.lfu.as_ref().map(dist),
        "lru_idle_seconds": r.lru.as_ref().map(dist),
        "top": opts.top,
        "top_by_size": top(&r.top_by_size, format),
        "top_by_elements": top(&r.top_by_elements, format),
        "top_by_memory": top(&r.top_by_memory, format),
        "prefixes": {
            "separator": output::escape_bytes(&r.prefixes.separator),
            "depth": r.prefixes.depth,
            "truncated": r.prefixes.truncated,
            "no_separator": counts(r.prefixes.no_separator),
            "tree": r.prefixes.tree.iter().map(node).collect::<Vec<_>>(),
        },
        "problems": problems,
    });
    // A failed run's document has the same keys, with `error` set.
    doc["error"] = J::Null;
    doc
}
