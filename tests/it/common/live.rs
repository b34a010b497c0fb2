//! Reading a live server's whole dataset in the canonical comparison form of
//! [`super::expected`] (what `expected*.json` would hold), over RESP.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::{Map, Value as J, json};

use super::expected::{key_form, score_text, value_form};
use super::{RedisServer, Reply};

fn bulk(r: &Reply) -> Vec<u8> {
    r.bytes()
}

fn map_of(r: &Reply) -> BTreeMap<String, Reply> {
    let v = r.array();
    v.chunks(2)
        .map(|p| (String::from_utf8(bulk(&p[0])).unwrap(), p[1].clone()))
        .collect()
}

fn id_or_null(r: &Reply) -> J {
    match r {
        Reply::Bulk(None) => J::Null,
        other => J::String(String::from_utf8(bulk(other)).unwrap()),
    }
}

fn int_or_null(r: Option<&Reply>) -> J {
    match r {
        Some(Reply::Int(i)) => json!(i),
        _ => J::Null,
    }
}

/// Options of the read-back.
#[derive(Clone, Copy, Default)]
pub struct LiveOptions {
    /// Drop stream consumers' seen/active times.
    pub ignore_consumer_times: bool,
}

/// Every key of every database, canonical form (db -> key form -> entry).
pub fn dataset(s: &mut RedisServer, opts: LiveOptions) -> BTreeMap<u64, BTreeMap<String, J>> {
    let mut out = BTreeMap::new();
    let dbs: u64 = String::from_utf8(s.cmd(&["CONFIG", "GET", "databases"]).array()[1].bytes())
        .unwrap()
        .parse()
        .unwrap();
    for db in 0..dbs {
        s.cmd(&["SELECT", &db.to_string()]);
        let keys: Vec<Vec<u8>> = s.cmd(&["KEYS", "*"]).array().iter().map(bulk).collect();
        if keys.is_empty() {
            continue;
        }
        let mut m = BTreeMap::new();
        for k in keys {
            m.insert(key_form(&k), entry(s, &k, opts));
        }
        out.insert(db, m);
    }
    s.cmd(&["SELECT", "0"]);
    out
}

/// One key in canonical form.
pub fn entry(s: &mut RedisServer, k: &[u8], opts: LiveOptions) -> J {
    let ty = String::from_utf8(s.cmd(&[&b"TYPE"[..], k]).bytes()).unwrap();
    let (exp, approx) = expire_time(s, k);
    let mut field_ttls = Map::new();
    let value = match ty.as_str() {
        "string" => value_form(&bulk(&s.cmd(&[&b"GET"[..], k]))),
        "list" => J::Array(
            s.cmd(&[&b"LRANGE"[..], k, b"0", b"-1"])
                .array()
                .iter()
                .map(|x| value_form(&bulk(x)))
                .collect(),
        ),
        "set" => {
            let mut m: Vec<Vec<u8>> = s
                .cmd(&[&b"SMEMBERS"[..], k])
                .array()
                .iter()
                .map(bulk)
                .collect();
            m.sort();
            J::Array(m.iter().map(|b| value_form(b)).collect())
        }
        "zset" => {
            let r = s
                .cmd(&[&b"ZRANGE"[..], k, b"0", b"-1", b"WITHSCORES"])
                .array();
            let mut m: Vec<(Vec<u8>, f64)> = r
                .chunks(2)
                .map(|p| {
                    let t = String::from_utf8(bulk(&p[1])).unwrap();
                    let f = match t.as_str() {
                        "inf" => f64::INFINITY,
                        "-inf" => f64::NEG_INFINITY,
                        t => t.parse().unwrap(),
                    };
                    (bulk(&p[0]), f)
                })
                .collect();
            m.sort_by(|a, b| a.0.cmp(&b.0));
            J::Array(
                m.iter()
                    .map(|(b, f)| json!([value_form(b), score_text(*f)]))
                    .collect(),
            )
        }
        "hash" => {
            let r = s.cmd(&[&b"HGETALL"[..], k]).array();
            let mut o = Map::new();
            for p in r.chunks(2) {
                let f = bulk(&p[0]);
                o.insert(key_form(&f), value_form(&bulk(&p[1])));
            }
            // Field TTLs exist from Redis 7.4 on.
            if let Reply::Array(Some(ttls)) =
                s.cmd(&[&b"HPEXPIRETIME"[..], k, b"FIELDS", b"1", b"\x00probe"])
            {
                let _ = ttls;
                let fields: Vec<Vec<u8>> = r.chunks(2).map(|p| bulk(&p[0])).collect();
                let mut args: Vec<Vec<u8>> = vec![
                    b"HPEXPIRETIME".to_vec(),
                    k.to_vec(),
                    b"FIELDS".to_vec(),
                    fields.len().to_string().into_bytes(),
                ];
                args.extend(fields.iter().cloned());
                let t = s.cmd(&args).array();
                for (f, v) in fields.iter().zip(t) {
                    if let Reply::Int(ms) = v {
                        if ms >= 0 {
                            field_ttls.insert(key_form(f), json!(ms));
                        }
                    }
                }
            }
            J::Object(o)
        }
        "stream" => stream(s, k, opts),
        other => panic!("unexpected type {other}"),
    };
    let mut o = Map::new();
    o.insert("type".into(), J::String(ty));
    o.insert(
        "expire_ms".into(),
        if exp < 0 { J::Null } else { json!(exp) },
    );
    o.insert("value".into(), value);
    if approx && exp >= 0 {
        o.insert(EXPIRE_TOLERANCE.into(), json!(PTTL_TOLERANCE_MS));
    }
    if !field_ttls.is_empty() {
        o.insert("field_expire_ms".into(), J::Object(field_ttls));
    }
    J::Object(o)
}

/// The member of an entry read from a server older than 7.0 (no
/// `PEXPIRETIME`) whose `expire_ms` is derived from `PTTL` and the clock:
/// how many milliseconds it may be off. [`super::expected::diff_dbs`]
/// accepts an expected time that close and drops the member.
pub const EXPIRE_TOLERANCE: &str = "expire_ms_tolerance";

/// The tolerance of an expire time derived from `PTTL`: the time between the
/// server's clock reading and ours (a loopback round trip), with a wide
/// margin for a loaded machine.
pub const PTTL_TOLERANCE_MS: i64 = 2000;

/// A key's absolute expire time in Unix ms (negative: none), and whether it
/// is derived: `PEXPIRETIME` (7.0+), else, on 6.x which lacks it, `PTTL`
/// added to the current time.
fn expire_time(s: &mut RedisServer, k: &[u8]) -> (i64, bool) {
    match s.cmd(&[&b"PEXPIRETIME"[..], k]) {
        Reply::Int(ms) => (ms, false),
        Reply::Error(e) if e.to_ascii_lowercase().contains("unknown command") => {
            let ttl = s.cmd(&[&b"PTTL"[..], k]).int();
            if ttl < 0 {
                return (-1, false);
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            (now.saturating_add(ttl), true)
        }
        other => panic!("PEXPIRETIME: {other:?}"),
    }
}

fn stream(s: &mut RedisServer, k: &[u8], opts: LiveOptions) -> J {
    let info = map_of(&s.cmd(&[&b"XINFO"[..], b"STREAM", k, b"FULL", b"COUNT", b"0"]));
    let entries: Vec<J> = info["entries"]
        .array()
        .iter()
        .map(|e| {
            let e = e.array();
            let id = String::from_utf8(bulk(&e[0])).unwrap();
            let f: Map<String, J> = e[1]
                .array()
                .chunks(2)
                .map(|p| (key_form(&bulk(&p[0])), value_form(&bulk(&p[1]))))
                .collect();
            json!([id, f])
        })
        .collect();
    let groups: Vec<J> = info["groups"]
        .array()
        .iter()
        .map(|g| {
            let g = map_of(g);
            let pel: Vec<J> = g["pending"]
                .array()
                .iter()
                .map(|p| {
                    let p = p.array();
                    json!([
                        String::from_utf8(bulk(&p[0])).unwrap(),
                        value_form(&bulk(&p[1])),
                        p[2].int(),
                        p[3].int()
                    ])
                })
                .collect();
            let mut consumers: Vec<(Vec<u8>, J)> = g["consumers"]
                .array()
                .iter()
                .map(|c| {
                    let c = map_of(c);
                    let name = bulk(&c["name"]);
                    let pel: Vec<String> = c["pending"]
                        .array()
                        .iter()
                        .map(|p| String::from_utf8(bulk(&p.array()[0])).unwrap())
                        .collect();
                    let mut o = json!({"name": value_form(&name), "pel": pel});
                    if !opts.ignore_consumer_times {
                        o["seen_time_ms"] = int_or_null(c.get("seen-time"));
                        o["active_time_ms"] = int_or_null(c.get("active-time"));
                    }
                    (name, o)
                })
                .collect();
            consumers.sort_by(|a, b| a.0.cmp(&b.0));
            json!({
                "name": value_form(&bulk(&g["name"])),
                "last_delivered_id": id_or_null(&g["last-delivered-id"]),
                "entries_read": int_or_null(g.get("entries-read")),
                "pel": pel,
                "consumers": consumers.into_iter().map(|x| x.1).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "entries": entries,
        "length": info["length"].int(),
        "last_id": id_or_null(&info["last-generated-id"]),
        "first_id": info.get("recorded-first-entry-id").map_or(J::Null, id_or_null),
        "max_deleted_entry_id": info.get("max-deleted-entry-id").map_or(J::Null, id_or_null),
        "entries_added": int_or_null(info.get("entries-added")),
        "groups": groups,
        "idmp": idmp(&info),
    })
}

/// The canonical `idmp` object from `XINFO STREAM FULL` (Redis 8.6 reports the
/// counts, not the iids: producers are compared only when there are none);
/// the default state for older servers.
fn idmp(info: &BTreeMap<String, Reply>) -> J {
    let Some(duration) = info.get("idmp-duration") else {
        return super::expected::canon_idmp_expected(None);
    };
    let n = |k: &str| info.get(k).map_or(0, Reply::int);
    super::expected::canon_idmp_expected(Some(&json!({
        "duration": duration.int(),
        "maxsize": n("idmp-maxsize"),
        "pids_tracked": n("pids-tracked"),
        "iids_tracked": n("iids-tracked"),
        "iids_added": n("iids-added"),
        "iids_duplicates": n("iids-duplicates"),
    })))
}
