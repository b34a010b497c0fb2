//! The corpus `expected*.json` schema (../shared/corpus/README.md) as a canonical
//! comparison form, and conversion of [`redis_persist::model::Entry`] values into
//! it, so tests can compare what we read with what the live server held.
//!
//! Canonical form of one key: `{"type", "expire_ms", "value", "field_expire_ms"?}`
//! with sets sorted by bytes, zset scores as canonical `f64` text, hash and stream
//! field maps keyed by the corpus key form, stream consumers sorted by name.
#![allow(dead_code)]

use std::collections::BTreeMap;

use redis_persist::model::{Entry, StreamId, Value};
use serde_json::{Map, Value as J, json};

/// Bytes in the corpus "value form".
pub fn value_form(b: &[u8]) -> J {
    match std::str::from_utf8(b) {
        Ok(s) => J::String(s.to_string()),
        Err(_) => json!({ "hex": hex(b) }),
    }
}

/// Bytes in the corpus "object key form".
pub fn key_form(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if !s.starts_with("hex:") => s.to_string(),
        _ => format!("hex:{}", hex(b)),
    }
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// Decodes a value-form JSON back to bytes.
pub fn bytes_of(v: &J) -> Vec<u8> {
    match v {
        J::String(s) => s.as_bytes().to_vec(),
        J::Object(o) => unhex(o["hex"].as_str().expect("hex")),
        other => panic!("not a byte string: {other}"),
    }
}

/// Decodes a key-form string back to bytes.
pub fn bytes_of_key(k: &str) -> Vec<u8> {
    match k.strip_prefix("hex:") {
        Some(h) => unhex(h),
        None => k.as_bytes().to_vec(),
    }
}

/// Decodes hex.
pub fn unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

/// A score as canonical text (compare as f64: `-0` equals `0`).
pub fn score_text(f: f64) -> String {
    if f == 0.0 {
        "0".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{f:?}")
    }
}

fn parse_score(s: &str) -> f64 {
    match s {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        s => s.parse().unwrap_or_else(|_| panic!("bad score {s}")),
    }
}

fn id_text(id: StreamId) -> String {
    id.to_string()
}

/// Options of the comparison.
#[derive(Clone, Copy, Default)]
pub struct Canon {
    /// Drop stream consumers' seen/active times (AOF replays reset them) and
    /// vector sets' VINFO `max-level` (random HNSW levels: another run of the
    /// workload, or a replay, draws others).
    pub ignore_consumer_times: bool,
}

/// Canonical form of a corpus expected entry.
pub fn canon_expected(e: &J, c: Canon) -> J {
    let ty = e["type"].as_str().unwrap();
    let value = &e["value"];
    let v = match ty {
        "string" => value_form(&bytes_of(value)),
        "list" => J::Array(
            value
                .as_array()
                .unwrap()
                .iter()
                .map(|x| value_form(&bytes_of(x)))
                .collect(),
        ),
        "set" => {
            let mut m: Vec<Vec<u8>> = value.as_array().unwrap().iter().map(bytes_of).collect();
            m.sort();
            J::Array(m.iter().map(|b| value_form(b)).collect())
        }
        "zset" => {
            let mut m: Vec<(Vec<u8>, f64)> = value
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (bytes_of(&p[0]), parse_score(p[1].as_str().unwrap())))
                .collect();
            m.sort_by(|a, b| a.0.cmp(&b.0));
            J::Array(
                m.iter()
                    .map(|(b, s)| json!([value_form(b), score_text(*s)]))
                    .collect(),
            )
        }
        "hash" => {
            let o = value.as_object().unwrap();
            J::Object(
                o.iter()
                    .map(|(k, v)| (key_form(&bytes_of_key(k)), value_form(&bytes_of(v))))
                    .collect(),
            )
        }
        "stream" => canon_stream_expected(value, c),
        "vectorset" => canon_vectorset_expected(value, c),
        other => panic!("unexpected type {other}"),
    };
    let mut out = Map::new();
    out.insert("type".into(), J::String(ty.into()));
    out.insert("expire_ms".into(), e["expire_ms"].clone());
    out.insert("value".into(), v);
    if let Some(f) = e.get("field_expire_ms").and_then(J::as_object) {
        if !f.is_empty() {
            out.insert(
                "field_expire_ms".into(),
                J::Object(
                    f.iter()
                        .map(|(k, v)| (key_form(&bytes_of_key(k)), v.clone()))
                        .collect(),
                ),
            );
        }
    }
    J::Object(out)
}

/// A VEMB component as canonical text (compared as a number).
fn vemb_text(s: &str) -> String {
    match s {
        "nan" => "nan".into(),
        s => score_text(parse_score(s)),
    }
}

/// Canonical vector set: `{dim, card, info, elements: {name: {vector, attributes}}}`
/// with names in key form, VEMB floats compared as numbers.
fn canon_vectorset_expected(v: &J, c: Canon) -> J {
    let elements: Map<String, J> = v["elements"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, e)| {
            let vector: Vec<J> = e["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| J::String(vemb_text(x.as_str().unwrap())))
                .collect();
            let attributes = match &e["attributes"] {
                J::Null => J::Null,
                a => value_form(&bytes_of(a)),
            };
            (
                key_form(&bytes_of_key(k)),
                json!({"vector": vector, "attributes": attributes}),
            )
        })
        .collect();
    let mut info = v["info"].clone();
    if c.ignore_consumer_times {
        info["max-level"] = J::Null;
    }
    json!({"dim": v["dim"], "card": v["card"], "info": info, "elements": elements})
}

/// Canonical form of a vector set we decoded.
pub fn canon_vectorset(vs: &redis_persist::rdb::vectorset::VectorSet, c: Canon) -> J {
    use redis_persist::rdb::vectorset::{InfoValue, float_text};
    let mut info: Map<String, J> = vs
        .info()
        .fields()
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                InfoValue::Text(t) => json!(t),
                InfoValue::Int(n) => json!(n),
            };
            (k.to_string(), v)
        })
        .collect();
    if c.ignore_consumer_times {
        info.insert("max-level".into(), J::Null);
    }
    let elements: Map<String, J> = vs
        .elements
        .iter()
        .map(|e| {
            let vector: Vec<J> = vs
                .vemb(e)
                .into_iter()
                .map(|x| J::String(vemb_text(&float_text(x))))
                .collect();
            let attributes = if e.attributes.is_empty() {
                J::Null
            } else {
                value_form(&e.attributes)
            };
            (
                key_form(&e.name),
                json!({"vector": vector, "attributes": attributes}),
            )
        })
        .collect();
    json!({"dim": vs.dim, "card": vs.card(), "info": info, "elements": elements})
}

fn canon_stream_expected(v: &J, c: Canon) -> J {
    let entries: Vec<J> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let fields: Map<String, J> = e[1]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (key_form(&bytes_of_key(k)), value_form(&bytes_of(v))))
                .collect();
            json!([e[0], fields])
        })
        .collect();
    let groups: Vec<J> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let pel: Vec<J> = g["pel"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| json!([p[0], value_form(&bytes_of(&p[1])), p[2], p[3]]))
                .collect();
            let mut consumers: Vec<(Vec<u8>, J)> = g["consumers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|cn| {
                    let name = bytes_of(&cn["name"]);
                    let mut o = json!({"name": value_form(&name), "pel": cn["pel"]});
                    if !c.ignore_consumer_times {
                        o["seen_time_ms"] = cn["seen_time_ms"].clone();
                        o["active_time_ms"] = cn["active_time_ms"].clone();
                    }
                    (name, o)
                })
                .collect();
            consumers.sort_by(|a, b| a.0.cmp(&b.0));
            json!({
                "name": value_form(&bytes_of(&g["name"])),
                "last_delivered_id": g["last_delivered_id"],
                "entries_read": g["entries_read"],
                "pel": pel,
                "consumers": consumers.into_iter().map(|x| x.1).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "entries": entries,
        "length": v["length"],
        "last_id": v["last_id"],
        "first_id": v["first_id"],
        "max_deleted_entry_id": v["max_deleted_entry_id"],
        "entries_added": v["entries_added"],
        "groups": groups,
    })
}

/// Canonical form of an entry we read.
pub fn canon_entry(e: &Entry, c: Canon) -> J {
    let mut field_ttls = Map::new();
    let (ty, v) = match &e.value {
        Value::String(s) => ("string", value_form(s)),
        Value::List(l) => ("list", J::Array(l.iter().map(|x| value_form(x)).collect())),
        Value::Set(s) => {
            let mut m = s.clone();
            m.sort();
            ("set", J::Array(m.iter().map(|b| value_form(b)).collect()))
        }
        Value::Zset(z) => {
            let mut m = z.clone();
            m.sort_by(|a, b| a.0.cmp(&b.0));
            (
                "zset",
                J::Array(
                    m.iter()
                        .map(|(b, s)| json!([value_form(b), score_text(*s)]))
                        .collect(),
                ),
            )
        }
        Value::Hash(h) => {
            let mut o = Map::new();
            for f in h {
                o.insert(key_form(&f.field), value_form(&f.value));
                if let Some(t) = f.expire_ms {
                    field_ttls.insert(key_form(&f.field), json!(t));
                }
            }
            ("hash", J::Object(o))
        }
        Value::Stream(s) => {
            let entries: Vec<J> = s
                .entries
                .iter()
                .map(|en| {
                    let f: Map<String, J> = en
                        .fields
                        .iter()
                        .map(|(k, v)| (key_form(k), value_form(v)))
                        .collect();
                    json!([id_text(en.id), f])
                })
                .collect();
            let groups: Vec<J> = s
                .groups
                .iter()
                .map(|g| {
                    let owner: BTreeMap<StreamId, &[u8]> = g
                        .consumers
                        .iter()
                        .flat_map(|c| c.pel.iter().map(move |id| (*id, c.name.as_slice())))
                        .collect();
                    let pel: Vec<J> = g
                        .pel
                        .iter()
                        .map(|p| {
                            json!([
                                id_text(p.id),
                                value_form(owner.get(&p.id).copied().unwrap_or(b"")),
                                p.delivery_time_ms,
                                p.delivery_count
                            ])
                        })
                        .collect();
                    let mut consumers: Vec<(Vec<u8>, J)> = g
                        .consumers
                        .iter()
                        .map(|cn| {
                            let mut o = json!({
                                "name": value_form(&cn.name),
                                "pel": cn.pel.iter().map(|id| id_text(*id)).collect::<Vec<_>>(),
                            });
                            if !c.ignore_consumer_times {
                                o["seen_time_ms"] = json!(cn.seen_time_ms);
                                o["active_time_ms"] = json!(cn.active_time_ms);
                            }
                            (cn.name.clone(), o)
                        })
                        .collect();
                    consumers.sort_by(|a, b| a.0.cmp(&b.0));
                    json!({
                        "name": value_form(&g.name),
                        "last_delivered_id": id_text(g.last_delivered_id),
                        "entries_read": g.entries_read,
                        "pel": pel,
                        "consumers": consumers.into_iter().map(|x| x.1).collect::<Vec<_>>(),
                    })
                })
                .collect();
            (
                "stream",
                json!({
                    "entries": entries,
                    "length": s.length,
                    "last_id": id_text(s.last_id),
                    "first_id": s.first_id.map(id_text),
                    "max_deleted_entry_id": s.max_deleted_entry_id.map(id_text),
                    "entries_added": s.entries_added,
                    "groups": groups,
                }),
            )
        }
        Value::Module(m) => match redis_persist::rdb::vectorset::from_module(m) {
            Some(Ok(vs)) => ("vectorset", canon_vectorset(&vs, c)),
            _ => (
                "module",
                json!({"type_name": m.type_name, "raw": hex(&m.raw)}),
            ),
        },
    };
    let mut out = Map::new();
    out.insert("type".into(), J::String(ty.into()));
    out.insert("expire_ms".into(), json!(e.expire_ms));
    out.insert("value".into(), v);
    if !field_ttls.is_empty() {
        out.insert("field_expire_ms".into(), J::Object(field_ttls));
    }
    J::Object(out)
}

/// db -> key (key form) -> canonical entry, from an expected file.
pub fn expected_dbs(doc: &J, c: Canon) -> BTreeMap<u64, BTreeMap<String, J>> {
    let mut out = BTreeMap::new();
    for (db, keys) in doc["dbs"].as_object().unwrap() {
        let m: BTreeMap<String, J> = keys
            .as_object()
            .unwrap()
            .iter()
            .map(|(_k, e)| (key_form(&bytes_of(&e["key"])), canon_expected(e, c)))
            .collect();
        out.insert(db.parse().unwrap(), m);
    }
    out
}

/// Describes the first differences between two db maps (empty when equal).
pub fn diff_dbs(
    want: &BTreeMap<u64, BTreeMap<String, J>>,
    got: &BTreeMap<u64, BTreeMap<String, J>>,
) -> Vec<String> {
    let mut d = Vec::new();
    for (db, wk) in want {
        let empty = BTreeMap::new();
        let gk = got.get(db).unwrap_or(&empty);
        for (k, wv) in wk {
            match gk.get(k) {
                None => d.push(format!("db {db}: missing key {k:?}")),
                Some(gv) if gv != wv => {
                    let (ws, gs) = (wv.to_string(), gv.to_string());
                    let cut = |s: &str| s.chars().take(600).collect::<String>();
                    d.push(format!(
                        "db {db}: key {k:?} differs:\n  want {}\n  got  {}",
                        cut(&ws),
                        cut(&gs)
                    ));
                }
                _ => {}
            }
        }
        for k in gk.keys() {
            if !wk.contains_key(k) {
                d.push(format!("db {db}: unexpected key {k:?}"));
            }
        }
    }
    for db in got.keys() {
        if !want.contains_key(db) && !got[db].is_empty() {
            d.push(format!("unexpected db {db}"));
        }
    }
    d
}
