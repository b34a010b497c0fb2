//! Replays the corpus AOFs written by real servers (every version folder:
//! the `aof-nopreamble/`, `aof-timestamps/` and `aof-preamble/` multi-part
//! directories — an RDB base is loaded with the RDB reader into the dataset —
//! and the 6.x single files `appendonly-nopreamble.aof` and hybrid
//! `appendonly-preamble.aof`) and compares the dataset with the
//! folder's `expected-aof-*.json`: every key's type, value, TTL and hash field
//! TTLs, streams with groups, PEL and consumers (consumer seen/active times
//! excluded, as the corpus README says), `HyperLogLog` bytes, and the function
//! libraries.

use crate::common;
use crate::replay_support;

use std::path::Path;

use redis_persist::io::Source;
use redis_persist::model::{
    Consumer, ConsumerGroup, Entry, HashField, PendingEntry, Stream, StreamEntry, StreamId, Value,
};
use redis_persist::rdb::{Entries, Reader};
use redis_persist::replay::{Engine, Outcome};
use replay_support::{assert_same, canonical, manifest_files, parse_resp};
use serde_json::Value as J;

fn hexdecode(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

/// A byte string in value form: a JSON string or `{"hex": …}`.
fn bytes(v: &J) -> Vec<u8> {
    match v {
        J::String(s) => s.as_bytes().to_vec(),
        J::Object(o) => hexdecode(o["hex"].as_str().unwrap()),
        other => panic!("not a byte string: {other}"),
    }
}

/// A byte string in object-key form: UTF-8 text or `hex:…`.
fn key_bytes(k: &str) -> Vec<u8> {
    match k.strip_prefix("hex:") {
        Some(h) => hexdecode(h),
        None => k.as_bytes().to_vec(),
    }
}

fn id(v: &J) -> StreamId {
    v.as_str().unwrap().parse().unwrap()
}

fn score(v: &J) -> f64 {
    match v.as_str().unwrap() {
        "inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        s => s.parse().unwrap(),
    }
}

fn stream(v: &J) -> Stream {
    let entries = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| StreamEntry {
            id: id(&e[0]),
            fields: e[1]
                .as_object()
                .unwrap()
                .iter()
                .map(|(f, x)| (key_bytes(f), bytes(x)))
                .collect(),
        })
        .collect();
    let groups = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let pel: Vec<&J> = g["pel"].as_array().unwrap().iter().collect();
            ConsumerGroup {
                name: bytes(&g["name"]),
                last_delivered_id: id(&g["last_delivered_id"]),
                entries_read: g["entries_read"].as_i64(),
                pel: pel
                    .iter()
                    .map(|p| PendingEntry {
                        id: id(&p[0]),
                        delivery_time_ms: p[2].as_i64().unwrap(),
                        delivery_count: p[3].as_u64().unwrap(),
                    })
                    .collect(),
                consumers: g["consumers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| Consumer {
                        name: bytes(&c["name"]),
                        seen_time_ms: 0,
                        active_time_ms: None,
                        pel: c["pel"].as_array().unwrap().iter().map(id).collect(),
                    })
                    .collect(),
            }
        })
        .collect();
    Stream {
        entries,
        length: v["length"].as_u64().unwrap(),
        last_id: id(&v["last_id"]),
        first_id: v["first_id"].as_str().map(|s| s.parse().unwrap()),
        max_deleted_entry_id: v["max_deleted_entry_id"]
            .as_str()
            .map(|s| s.parse().unwrap()),
        entries_added: v["entries_added"].as_u64(),
        groups,
        // Compared apart (`check_idmp`): the file may leave iids open.
        idmp: None,
    }
}

/// Compares every stream's IDMP state (Redis 8.6) with the expected `idmp`
/// objects; returns the differences.
fn check_idmp(doc: &J, got: &[Entry]) -> Vec<String> {
    let mut diffs = Vec::new();
    for (db, keys) in doc["dbs"].as_object().unwrap() {
        let db: u64 = db.parse().unwrap();
        for e in keys.as_object().unwrap().values() {
            if e["type"] != "stream" {
                continue;
            }
            let key = bytes(&e["key"]);
            let ours = got.iter().find(|x| x.db == db && x.key == key);
            let Some(Value::Stream(s)) = ours.map(|x| &x.value) else {
                continue; // reported by the dataset comparison
            };
            if let Some((w, g)) =
                common::expected::idmp_diff(e["value"].get("idmp"), s.idmp.as_ref())
            {
                diffs.push(format!(
                    "db {db} {:?}: idmp\n  want {w}\n  got  {g}",
                    String::from_utf8_lossy(&key)
                ));
            }
        }
    }
    diffs
}

/// The entries an `expected*.json` describes.
fn expected_entries(doc: &J) -> Vec<Entry> {
    let mut out = Vec::new();
    for (db, keys) in doc["dbs"].as_object().unwrap() {
        let db: u64 = db.parse().unwrap();
        for (_, e) in keys.as_object().unwrap() {
            let v = &e["value"];
            let value = match e["type"].as_str().unwrap() {
                "string" => Value::String(bytes(v)),
                "list" => Value::List(v.as_array().unwrap().iter().map(bytes).collect()),
                "set" => Value::Set(v.as_array().unwrap().iter().map(bytes).collect()),
                "zset" => Value::Zset(
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|p| (bytes(&p[0]), score(&p[1])))
                        .collect(),
                ),
                "hash" => {
                    let ttls = e.get("field_expire_ms").and_then(J::as_object);
                    Value::Hash(
                        v.as_object()
                            .unwrap()
                            .iter()
                            .map(|(f, x)| HashField {
                                field: key_bytes(f),
                                value: bytes(x),
                                expire_ms: ttls.and_then(|t| t.get(f)).and_then(J::as_i64),
                            })
                            .collect(),
                    )
                }
                "stream" => Value::Stream(Box::new(stream(v))),
                // Compared in the canonical form (`check`).
                "vectorset" => continue,
                other => panic!("type {other}"),
            };
            out.push(Entry {
                db,
                key: bytes(&e["key"]),
                expire_ms: e["expire_ms"].as_i64(),
                lru_idle: None,
                lfu_freq: None,
                value,
            });
        }
    }
    out
}

fn replay_files(files: &[std::path::PathBuf]) -> Engine {
    let mut engine = Engine::new();
    for f in files {
        let data = std::fs::read(f).unwrap();
        engine.start_file();
        // An RDB preamble (a `.base.rdb`, or the head of a 6.x hybrid file) is
        // loaded into the dataset; RESP commands follow its trailer, if any.
        let mut resp_start = 0;
        if redis_persist::rdb::is_rdb_magic(&data) {
            let src = Source::new(&data[..]).with_size(data.len() as u64);
            let mut entries = Entries::new(Reader::new(src));
            let keys = engine
                .dataset_mut()
                .load_rdb(&mut entries)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(keys > 0, "{}: empty preamble", f.display());
            resp_start = usize::try_from(entries.reader().offset()).unwrap();
        }
        for cmd in parse_resp(&data[resp_start..]) {
            let out = engine
                .apply(&cmd)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(
                !matches!(out, Outcome::Failed(_)),
                "{}: {:?} failed: {out:?}",
                f.display(),
                String::from_utf8_lossy(&cmd[0])
            );
        }
        assert_eq!(engine.finish_file(), None);
    }
    engine
}

fn check(folder: &Path, label: &str, files: &[std::path::PathBuf], expected: &Path) -> usize {
    let doc: J = serde_json::from_slice(&std::fs::read(expected).unwrap()).unwrap();
    let doc = common::expected::as_replayed(doc);
    let engine = replay_files(files);
    let ds = engine.dataset();
    let mut got: Vec<Entry> = ds.entries().collect();
    let idmp = check_idmp(&doc, &got);
    assert!(
        idmp.is_empty(),
        "{} {label}: {}",
        folder.display(),
        idmp.join("\n")
    );
    // The corpus does not record consumer seen/active times.
    for e in &mut got {
        if let Value::Stream(s) = &mut e.value {
            s.idmp = None;
            for g in &mut s.groups {
                for c in &mut g.consumers {
                    c.seen_time_ms = 0;
                    c.active_time_ms = None;
                }
            }
        }
    }
    // Vector sets (Redis 8), in the corpus form: VEMB, attributes, VINFO
    // (max-level aside: the HNSW levels are random in the server).
    let c = common::expected::Canon {
        ignore_consumer_times: true,
    };
    let want_vsets: std::collections::BTreeMap<(u64, String), J> = doc["dbs"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(db, keys)| {
            keys.as_object()
                .unwrap()
                .values()
                .filter(|e| e["type"] == "vectorset")
                .map(move |e| {
                    (
                        (
                            db.parse().unwrap(),
                            common::expected::key_form(&common::expected::bytes_of(&e["key"])),
                        ),
                        common::expected::canon_expected(e, c),
                    )
                })
        })
        .collect();
    let got_vsets: std::collections::BTreeMap<(u64, String), J> = got
        .iter()
        .filter(|e| e.value.key_type() == redis_persist::model::KeyType::VectorSet)
        .map(|e| {
            (
                (e.db, common::expected::key_form(&e.key)),
                common::expected::canon_entry(e, c),
            )
        })
        .collect();
    assert_eq!(
        want_vsets,
        got_vsets,
        "{} {label}: vector sets",
        folder.display()
    );
    got.retain(|e| e.value.key_type() != redis_persist::model::KeyType::VectorSet);
    let mut exp = expected_entries(&doc);
    let n = exp.len();
    // JSON objects do not keep the order of stream entry fields; 6.x servers
    // (RDB 9) have no entries-added / max-deleted / entries-read metadata.
    let old = doc["rdb_version"].as_u64().unwrap() < 10;
    for e in exp.iter_mut().chain(got.iter_mut()) {
        if let Value::Stream(s) = &mut e.value {
            for en in &mut s.entries {
                en.fields.sort();
            }
            if old {
                s.entries_added = None;
                s.max_deleted_entry_id = None;
                for g in &mut s.groups {
                    g.entries_read = None;
                }
            }
        }
    }
    assert_same(
        &format!("{} {label}", folder.display()),
        &canonical(exp, true),
        &canonical(got, true),
    );
    // Function libraries (7.0+).
    if let Some(libs) = doc["functions"].as_array() {
        let mut want: Vec<Vec<u8>> = libs
            .iter()
            .map(|l| l["code"].as_str().unwrap().as_bytes().to_vec())
            .collect();
        want.sort();
        let mut have: Vec<Vec<u8>> = ds
            .function_libraries()
            .into_iter()
            .map(|l| l.code)
            .collect();
        have.sort();
        assert_eq!(have, want, "{label}: function libraries");
    }
    n
}

#[test]
fn corpus_aofs_replay_to_their_expected_datasets() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut checked = 0;
    let mut folders: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    folders.sort();
    for folder in folders.iter().filter(|p| p.join("SHA256SUMS").is_file()) {
        for kind in ["nopreamble", "timestamps", "preamble"] {
            let dir = folder.join(format!("aof-{kind}"));
            let expected = folder.join(format!("expected-aof-{kind}.json"));
            if dir.is_dir() {
                let files = manifest_files(&dir, "appendonly.aof.manifest");
                let n = check(folder, kind, &files, &expected);
                assert!(n > 100, "{}: only {n} keys", dir.display());
                checked += 1;
            }
        }
        for kind in ["nopreamble", "preamble"] {
            let single = folder.join(format!("appendonly-{kind}.aof"));
            if single.is_file() {
                let expected = folder.join(format!("expected-aof-{kind}.json"));
                check(folder, &format!("single-file {kind}"), &[single], &expected);
                checked += 1;
            }
        }
    }
    // 6 folders × 3 multi-part dirs + 2 × 2 single files.
    assert!(checked >= 22, "only {checked} AOFs checked");
}

#[test]
fn propagation_fixture_replays_without_errors() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = corpus.join("edge-cases/aof-propagation/appendonlydir");
    let files: Vec<_> = manifest_files(&dir, "appendonly.aof.manifest")
        .into_iter()
        .filter(|f| !f.to_string_lossy().ends_with(".rdb"))
        .collect();
    let engine = replay_files(&files);
    let ds = engine.dataset();
    // What the README says the INCR file leaves behind (FLUSHDB ran in db 0
    // after most writes; the MULTI blocks came after it).
    let db0: std::collections::BTreeSet<Vec<u8>> = ds.dbs[0]
        .keys()
        .map(redis_persist::replay::Bytes::to_vec)
        .collect();
    let want: std::collections::BTreeSet<Vec<u8>> = [&b"m1"[..], b"m2", b"m3"]
        .iter()
        .map(|k| k.to_vec())
        .collect();
    assert!(want.is_subset(&db0), "{db0:?}");
    assert!(ds.dbs[1].contains_key(&b"indb1"[..]));
}
