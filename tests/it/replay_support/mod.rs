//! Helpers shared by the replay and RDB writer tests: read a live server's whole
//! dataset into model entries, put entries in a canonical form for comparison,
//! parse RESP AOF files, and read the corpus `expected*.json` files.
#![allow(dead_code, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::Path;

use redis_persist::model::{
    Consumer, ConsumerGroup, Entry, HashField, PendingEntry, Stream, StreamEntry, StreamId, Value,
};

use crate::common::{RedisServer, Reply};

/// One key in canonical form: (db, key) → (expire, value).
pub type Canon = BTreeMap<(u64, Vec<u8>), (Option<i64>, Value)>;

/// Canonical form of entries: sets and hash fields sorted, zsets by (score,
/// member), consumers by name; optionally zeroes consumer seen/active times.
pub fn canonical(entries: impl IntoIterator<Item = Entry>, ignore_consumer_times: bool) -> Canon {
    let mut out = Canon::new();
    for e in entries {
        let v = match e.value {
            Value::Set(mut s) => {
                s.sort();
                Value::Set(s)
            }
            Value::Hash(mut h) => {
                h.sort_by(|a, b| a.field.cmp(&b.field));
                Value::Hash(h)
            }
            Value::Zset(mut z) => {
                z.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
                // -0 and 0 are the same score.
                for m in &mut z {
                    if m.1 == 0.0 {
                        m.1 = 0.0;
                    }
                }
                Value::Zset(z)
            }
            Value::Stream(mut s) => {
                s.length = s.entries.len() as u64;
                s.first_id = Some(s.entries.first().map_or_else(StreamId::default, |e| e.id));
                s.max_deleted_entry_id = Some(s.max_deleted_entry_id.unwrap_or_default());
                s.entries_added = Some(s.entries_added.unwrap_or(s.length));
                s.groups.sort_by(|a, b| a.name.cmp(&b.name));
                for g in &mut s.groups {
                    g.entries_read = Some(g.entries_read.unwrap_or(-1));
                    g.pel.sort_by_key(|p| p.id);
                    g.consumers.sort_by(|a, b| a.name.cmp(&b.name));
                    for c in &mut g.consumers {
                        c.pel.sort();
                        if ignore_consumer_times {
                            c.seen_time_ms = 0;
                            c.active_time_ms = None;
                        }
                    }
                }
                Value::Stream(s)
            }
            other => other,
        };
        out.insert((e.db, e.key), (e.expire_ms, v));
    }
    out
}

/// Asserts two canonical datasets are equal, reporting the first differences.
pub fn assert_same(label: &str, expected: &Canon, actual: &Canon) {
    let mut problems = Vec::new();
    for (k, v) in expected {
        match actual.get(k) {
            None => problems.push(format!(
                "missing db {} key {:?}",
                k.0,
                String::from_utf8_lossy(&k.1)
            )),
            Some(a) if a != v => {
                let (x, y) = (format!("{v:?}"), format!("{a:?}"));
                let at = x
                    .bytes()
                    .zip(y.bytes())
                    .position(|(p, q)| p != q)
                    .unwrap_or(x.len().min(y.len()));
                let from = at.saturating_sub(200);
                problems.push(format!(
                    "db {} key {:?} differs at char {at}:\n  expected …{}…\n  actual   …{}…",
                    k.0,
                    String::from_utf8_lossy(&k.1),
                    x.get(from..(at + 300).min(x.len())).unwrap_or(""),
                    y.get(from..(at + 300).min(y.len())).unwrap_or("")
                ));
            }
            _ => {}
        }
    }
    for k in actual.keys() {
        if !expected.contains_key(k) {
            problems.push(format!(
                "unexpected db {} key {:?}",
                k.0,
                String::from_utf8_lossy(&k.1)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{label}: {} differences (of {} keys):\n{}",
        problems.len(),
        expected.len(),
        problems
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn bulk(r: &Reply) -> Vec<u8> {
    r.bytes()
}

fn sid(r: &Reply) -> StreamId {
    String::from_utf8(r.bytes()).unwrap().parse().unwrap()
}

fn map_of(r: &Reply) -> BTreeMap<String, Reply> {
    let items = r.array();
    items
        .chunks(2)
        .map(|kv| (String::from_utf8(kv[0].bytes()).unwrap(), kv[1].clone()))
        .collect()
}

fn int_or_nil(r: &Reply) -> Option<i64> {
    match r {
        Reply::Int(i) => Some(*i),
        Reply::Bulk(None) => None,
        Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).parse().ok(),
        other => panic!("not an int: {other:?}"),
    }
}

/// Reads every key of databases `0..dbs` from a live server.
pub fn read_server(s: &mut RedisServer, dbs: u64) -> Vec<Entry> {
    let mut out = Vec::new();
    for db in 0..dbs {
        assert_eq!(
            s.cmd(&["SELECT", &db.to_string()]),
            Reply::Status("OK".into())
        );
        let keys = s.cmd(&["KEYS", "*"]).array();
        for k in keys {
            let key = bulk(&k);
            let ty = match s.cmd(&[b"TYPE".as_slice(), &key]) {
                Reply::Status(t) => t,
                other => panic!("TYPE: {other:?}"),
            };
            let pexp = s.cmd(&[b"PEXPIRETIME".as_slice(), &key]).int();
            let expire_ms = (pexp >= 0).then_some(pexp);
            let value = read_value(s, &key, &ty);
            out.push(Entry {
                db,
                key,
                expire_ms,
                lru_idle: None,
                lfu_freq: None,
                value,
            });
        }
    }
    s.cmd(&["SELECT", "0"]);
    out
}

fn read_value(s: &mut RedisServer, key: &[u8], ty: &str) -> Value {
    let k = key;
    match ty {
        "string" => Value::String(bulk(&s.cmd(&[b"GET".as_slice(), k]))),
        "list" => Value::List(
            s.cmd(&[b"LRANGE".as_slice(), k, b"0", b"-1"])
                .array()
                .iter()
                .map(bulk)
                .collect(),
        ),
        "set" => Value::Set(
            s.cmd(&[b"SMEMBERS".as_slice(), k])
                .array()
                .iter()
                .map(bulk)
                .collect(),
        ),
        "zset" => {
            let items = s
                .cmd(&[b"ZRANGE".as_slice(), k, b"0", b"-1", b"WITHSCORES"])
                .array();
            Value::Zset(
                items
                    .chunks(2)
                    .map(|p| {
                        (
                            bulk(&p[0]),
                            String::from_utf8(bulk(&p[1]))
                                .unwrap()
                                .parse::<f64>()
                                .unwrap(),
                        )
                    })
                    .collect(),
            )
        }
        "hash" => {
            let items = s.cmd(&[b"HGETALL".as_slice(), k]).array();
            let mut fields: Vec<HashField> = items
                .chunks(2)
                .map(|p| HashField {
                    field: bulk(&p[0]),
                    value: bulk(&p[1]),
                    expire_ms: None,
                })
                .collect();
            // Field TTLs (Redis 7.4+, Valkey 9); older servers reply an error.
            let mut args: Vec<Vec<u8>> = vec![
                b"HPEXPIRETIME".to_vec(),
                k.to_vec(),
                b"FIELDS".to_vec(),
                fields.len().to_string().into_bytes(),
            ];
            args.extend(fields.iter().map(|f| f.field.clone()));
            if let Reply::Array(Some(ttls)) = s.cmd(&args) {
                for (f, t) in fields.iter_mut().zip(ttls) {
                    if let Reply::Int(ms) = t {
                        f.expire_ms = (ms >= 0).then_some(ms);
                    }
                }
            }
            Value::Hash(fields)
        }
        "stream" => Value::Stream(Box::new(read_stream(s, k))),
        other => panic!("unexpected type {other}"),
    }
}

fn read_stream(s: &mut RedisServer, k: &[u8]) -> Stream {
    let info = map_of(&s.cmd(&[b"XINFO".as_slice(), b"STREAM", k, b"FULL", b"COUNT", b"0"]));
    let entries: Vec<StreamEntry> = info["entries"]
        .array()
        .iter()
        .map(|e| {
            let e = e.array();
            let kv = e[1].array();
            StreamEntry {
                id: sid(&e[0]),
                fields: kv.chunks(2).map(|p| (bulk(&p[0]), bulk(&p[1]))).collect(),
            }
        })
        .collect();
    let groups = info["groups"]
        .array()
        .iter()
        .map(|g| {
            let g = map_of(g);
            let pel: Vec<(StreamId, Vec<u8>, PendingEntry)> = g["pending"]
                .array()
                .iter()
                .map(|p| {
                    let p = p.array();
                    (
                        sid(&p[0]),
                        bulk(&p[1]),
                        PendingEntry {
                            id: sid(&p[0]),
                            delivery_time_ms: p[2].int(),
                            delivery_count: p[3].int() as u64,
                        },
                    )
                })
                .collect();
            let consumers = g["consumers"]
                .array()
                .iter()
                .map(|c| {
                    let c = map_of(c);
                    let name = bulk(&c["name"]);
                    Consumer {
                        pel: pel.iter().filter(|p| p.1 == name).map(|p| p.0).collect(),
                        name,
                        seen_time_ms: c["seen-time"].int(),
                        active_time_ms: c.get("active-time").map(Reply::int),
                    }
                })
                .collect();
            ConsumerGroup {
                name: bulk(&g["name"]),
                last_delivered_id: sid(&g["last-delivered-id"]),
                entries_read: int_or_nil(&g["entries-read"]),
                pel: pel.into_iter().map(|p| p.2).collect(),
                consumers,
            }
        })
        .collect();
    Stream {
        length: info["length"].int() as u64,
        last_id: sid(&info["last-generated-id"]),
        first_id: Some(sid(&info["recorded-first-entry-id"])),
        max_deleted_entry_id: Some(sid(&info["max-deleted-entry-id"])),
        entries_added: Some(info["entries-added"].int() as u64),
        entries,
        groups,
        idmp: None,
    }
}

/// The function libraries' code on a live server, sorted by library name.
pub fn read_functions(s: &mut RedisServer) -> Vec<Vec<u8>> {
    let libs = s.cmd(&["FUNCTION", "LIST", "WITHCODE"]).array();
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = libs
        .iter()
        .map(|l| {
            let m = map_of(l);
            (bulk(&m["library_name"]), bulk(&m["library_code"]))
        })
        .collect();
    out.sort();
    out.into_iter().map(|x| x.1).collect()
}

/// Parses a RESP AOF (commands and `#` annotation lines) into argument vectors.
pub fn parse_resp(data: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut p = 0;
    let line = |p: &mut usize| -> Vec<u8> {
        let start = *p;
        while data[*p] != b'\n' {
            *p += 1;
        }
        *p += 1;
        data[start..*p - 2].to_vec()
    };
    while p < data.len() {
        match data[p] {
            b'#' => {
                line(&mut p);
            }
            b'*' => {
                let l = line(&mut p);
                let n: usize = std::str::from_utf8(&l[1..]).unwrap().parse().unwrap();
                let mut args = Vec::with_capacity(n);
                for _ in 0..n {
                    let l = line(&mut p);
                    assert_eq!(l[0], b'$');
                    let len: usize = std::str::from_utf8(&l[1..]).unwrap().parse().unwrap();
                    args.push(data[p..p + len].to_vec());
                    p += len + 2;
                }
                out.push(args);
            }
            other => panic!("unexpected byte {other} at {p}"),
        }
    }
    out
}

/// Files listed in a multi-part AOF manifest, in load order (base first).
pub fn manifest_files(dir: &Path, manifest: &str) -> Vec<std::path::PathBuf> {
    let text = std::fs::read_to_string(dir.join(manifest)).unwrap();
    let mut base = Vec::new();
    let mut incr = Vec::new();
    for l in text.lines() {
        let t: Vec<&str> = l.split_whitespace().collect();
        let name = t[1];
        match t[5] {
            "b" => base.push(dir.join(name)),
            "i" => incr.push(dir.join(name)),
            _ => {}
        }
    }
    base.into_iter().chain(incr).collect()
}
