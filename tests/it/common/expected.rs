//! The corpus `expected*.json` schema (../shared/corpus/README.md) as a canonical
//! comparison form, and conversion of [`redis_persist::model::Entry`] values into
//! it, so tests can compare what we read with what the live server held.
//!
//! Canonical form of one key: `{"type", "expire_ms", "value", "field_expire_ms"?}`
//! with sets sorted by bytes, zset scores as canonical `f64` text, hash and stream
//! field maps keyed by the corpus key form, stream consumers sorted by name, and
//! every stream with an `idmp` object (the default one when the file has none).
#![allow(dead_code)]

use std::collections::BTreeMap;

use redis_persist::model::{Entry, StreamId, StreamIdmp, Value};
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
        "idmp": canon_idmp_expected(v.get("idmp")),
    })
}

/// The canonical `idmp` object of an expected stream. A stream without one (a
/// server before 8.6) is a stream with the default IDMP state, which is what
/// an 8.6 server holds for it. `producers` is kept as the file has it (an iid
/// `null`, computed by the server for `IDMPAUTO`, matches any iid: see
/// [`diff_dbs`]); when a file records the counts without the producers, only
/// the counts are compared.
pub fn canon_idmp_expected(v: Option<&J>) -> J {
    let Some(v) = v else {
        return canon_idmp(&StreamIdmp::new());
    };
    let mut o = json!({
        "duration": v["duration"],
        "maxsize": v["maxsize"],
        "pids_tracked": v["pids_tracked"],
        "iids_tracked": v["iids_tracked"],
        "iids_added": v["iids_added"],
        "iids_duplicates": v["iids_duplicates"],
    });
    if let Some(p) = v.get("producers").and_then(J::as_object) {
        let producers: Map<String, J> = p
            .iter()
            .map(|(pid, iids)| {
                let iids: Vec<J> = iids
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| {
                        let iid = if x[0].is_null() {
                            J::Null
                        } else {
                            value_form(&bytes_of(&x[0]))
                        };
                        json!([iid, x[1]])
                    })
                    .collect();
                (key_form(&bytes_of_key(pid)), J::Array(iids))
            })
            .collect();
        o["producers"] = J::Object(producers);
    } else if v["pids_tracked"].as_u64() == Some(0) {
        o["producers"] = json!({});
    }
    o
}

/// The canonical `idmp` object of a stream we read.
fn canon_idmp(i: &StreamIdmp) -> J {
    let producers: Map<String, J> = i
        .producers
        .iter()
        .map(|p| {
            let iids: Vec<J> = p
                .iids
                .iter()
                .map(|(iid, id)| json!([value_form(iid), id_text(*id)]))
                .collect();
            (key_form(&p.pid), J::Array(iids))
        })
        .collect();
    json!({
        "duration": i.duration,
        "maxsize": i.maxsize,
        "pids_tracked": i.producers.len(),
        "iids_tracked": i.iids_tracked(),
        "iids_added": i.iids_added,
        "iids_duplicates": i.iids_duplicates,
        "producers": producers,
    })
}

/// Makes `got` compare with `want` where the expected file leaves something
/// open: an `idmp` iid `null` (computed by the server) takes our iid's place,
/// and `producers` missing from `want` are dropped from `got`; an expire
/// time read from a 6.x server (derived from `PTTL`) takes `want`'s when
/// within its tolerance.
fn reconcile(want: &J, got: &J) -> J {
    let mut got = got.clone();
    // An expire time a 6.x server gave as a TTL (`live::entry`).
    if let Some(tol) = got
        .as_object_mut()
        .and_then(|o| o.remove(super::live::EXPIRE_TOLERANCE))
    {
        if let (Some(w), Some(g), Some(tol)) = (
            want["expire_ms"].as_i64(),
            got["expire_ms"].as_i64(),
            tol.as_i64(),
        ) {
            if w.abs_diff(g) <= tol.unsigned_abs() {
                got["expire_ms"] = json!(w);
            }
        }
    }
    if let (Some(wi), Some(gi)) = (want.pointer("/value/idmp"), got.pointer_mut("/value/idmp")) {
        reconcile_idmp(wi, gi);
    }
    got
}

/// [`reconcile`] on two canonical `idmp` objects.
fn reconcile_idmp(want: &J, got: &mut J) {
    match (want.get("producers"), got.as_object_mut()) {
        (None, Some(g)) => {
            g.remove("producers");
        }
        (Some(J::Object(wp)), Some(g)) => {
            if let Some(J::Object(gp)) = g.get_mut("producers") {
                for (pid, wiids) in wp {
                    let (J::Array(wl), Some(J::Array(gl))) = (wiids, gp.get_mut(pid)) else {
                        continue;
                    };
                    for (w, g) in wl.iter().zip(gl.iter_mut()) {
                        if w[0].is_null() {
                            g[0] = J::Null;
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Compares a stream's IDMP state with an expected file's `idmp` object (both
/// absent or default compare equal, as in [`canon_expected`]); `Some((want,
/// got))` in canonical form when they differ.
pub fn idmp_diff(want: Option<&J>, got: Option<&StreamIdmp>) -> Option<(J, J)> {
    let w = canon_idmp_expected(want);
    let mut g = canon_idmp(got.unwrap_or(&StreamIdmp::new()));
    reconcile_idmp(&w, &mut g);
    (w != g).then_some((w, g))
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
                    "idmp": canon_idmp(s.idmp.as_ref().unwrap_or(&StreamIdmp::new())),
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

/// An expected document as the same server replaying its AOF holds it: `dbs`
/// with the keys of `replayed_by_same_server_differs` (Redis 8.6: its RESP
/// rewrite drops the IDMP counters and a `KEEPREF`-deleted message's pending
/// entry) in place of the live values.
pub fn as_replayed(mut doc: J) -> J {
    let Some(J::Object(over)) = doc.get("replayed_by_same_server_differs").cloned() else {
        return doc;
    };
    for (db, keys) in over {
        for (name, e) in keys.as_object().unwrap() {
            doc["dbs"][&db][name] = e.clone();
        }
    }
    doc
}

/// The `types` dataset the base RDB of a version folder's `aof-preamble/`
/// holds: `expected.json`, except that a key no incremental file names is as
/// `expected-aof-preamble.json` records it (that run's own values:
/// server-generated stream ids, delivery times and IDMP iids differ between
/// runs).
pub fn preamble_base_doc(dir: &std::path::Path) -> J {
    let load = |p: std::path::PathBuf| -> J {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let mut doc = load(dir.join("expected.json"));
    let aof = load(dir.join("expected-aof-preamble.json"));
    let mut incr = Vec::new();
    for e in std::fs::read_dir(dir.join("aof-preamble")).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".incr.aof") {
            incr.extend(std::fs::read(&p).unwrap());
        }
    }
    let named = |k: &[u8]| k.is_empty() || incr.windows(k.len()).any(|w| w == k);
    for (db, keys) in aof["dbs"].as_object().unwrap() {
        for (name, e) in keys.as_object().unwrap() {
            let key = bytes_of(&e["key"]);
            if let Some(slot) = doc["dbs"].get_mut(db).and_then(|d| d.get_mut(name)) {
                if !named(&key) {
                    *slot = e.clone();
                }
            }
        }
    }
    doc
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
            match gk.get(k).map(|gv| reconcile(wv, gv)) {
                None => d.push(format!("db {db}: missing key {k:?}")),
                Some(gv) if gv != *wv => {
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
