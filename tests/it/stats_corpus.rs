//! `stats` against the corpus: for every RDB (and hybrid AOF) of every Redis
//! and Valkey version, the counts per database and type, TTL counts, element
//! counts, RDB encodings, field TTLs, LFU/LRU and function figures equal what
//! the live server held (`expected*.json`); top-N lists equal a top N computed
//! independently (element counts from the expected data, record sizes from a
//! separate pass of the RDB reader); the in-memory encodings the model
//! predicts equal what Redis 7.0.15 reported after reloading its own files
//! (`manifest.json`); and the JSON parses into the documented schema.

use crate::common;
use crate::stats_support;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use common::expected::{bytes_of, key_form};
use redis_persist::io::Source;
use redis_persist::rdb::{Event, Reader};
use serde_json::Value as J;
use stats_support::{Doc, check_top, stats_csv, stats_json};

fn load(path: &Path) -> J {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Elements of an expected entry, as `stats` counts them.
fn elements(e: &J) -> u64 {
    let v = &e["value"];
    match e["type"].as_str().unwrap() {
        "string" => 1,
        "list" | "set" | "zset" => v.as_array().unwrap().len() as u64,
        "hash" => v.as_object().unwrap().len() as u64,
        "stream" => v["length"].as_u64().unwrap(),
        "vectorset" => v["card"].as_u64().unwrap(),
        other => panic!("type {other}"),
    }
}

/// (db, key form) → expected entry.
fn entries(doc: &J) -> BTreeMap<(u64, String), J> {
    let mut m = BTreeMap::new();
    for (db, keys) in doc["dbs"].as_object().unwrap() {
        for e in keys.as_object().unwrap().values() {
            m.insert(
                (db.parse().unwrap(), key_form(&bytes_of(&e["key"]))),
                e.clone(),
            );
        }
    }
    m
}

/// The serialized size of every record, by a separate pass of the reader.
fn record_sizes(path: &Path) -> BTreeMap<(u64, String), u64> {
    let f = File::open(path).unwrap();
    let size = f.metadata().unwrap().len();
    let mut r = Reader::new(Source::new(f).with_size(size));
    let mut out = BTreeMap::new();
    while let Some(ev) = r.next_event().unwrap() {
        if let Event::KeyStart(k) = ev {
            let (db, key, off) = (k.db, key_form(k.key), k.offset);
            let end = r.skip_value().unwrap();
            out.insert((db, key), end.end - off);
        }
    }
    out
}

/// The key form of a top-list entry.
fn top_key(t: &stats_support::TopKey) -> String {
    key_form(&common::expected::unhex(&t.key_hex))
}

/// Checks one file against its expected dataset.
fn check_file(path: &Path, want: &J, now: Option<i64>, label: &str) -> Doc {
    check_file_args(path, want, now, label, &[])
}

fn check_file_args(path: &Path, want: &J, now: Option<i64>, label: &str, args: &[&str]) -> Doc {
    let now_s = now.map(|n| n.to_string());
    let mut extra = vec!["--top", "10"];
    extra.extend(args);
    if let Some(n) = &now_s {
        extra.extend(["--now", n.as_str()]);
    }
    let (code, doc) = stats_json(path, &extra);
    assert_eq!(code, 0, "{label}: exit code");
    assert!(doc.complete, "{label}: incomplete: {:?}", doc.problems);
    assert!(doc.problems.is_empty(), "{label}: {:?}", doc.problems);
    let exp = entries(want);

    // Counts per database and per type, TTLs, elements.
    let mut per_db: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    let mut per_type: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut per_db_type: BTreeMap<(u64, String), (u64, u64)> = BTreeMap::new();
    let mut rdb_types: BTreeMap<u8, u64> = BTreeMap::new();
    let (mut field_keys, mut fields) = (0, 0);
    let mut expired = 0;
    for ((db, _), e) in &exp {
        let has_ttl = !e["expire_ms"].is_null();
        let d = per_db.entry(*db).or_default();
        d.0 += 1;
        d.1 += u64::from(has_ttl);
        let ty = e["type"].as_str().unwrap().to_string();
        let t = per_type.entry(ty.clone()).or_default();
        t.0 += 1;
        t.1 += elements(e);
        t.2 += u64::from(has_ttl);
        let dt = per_db_type.entry((*db, ty)).or_default();
        dt.0 += 1;
        dt.1 += elements(e);
        if let Some(t) = e.get("rdb_type").and_then(J::as_u64) {
            *rdb_types.entry(t as u8).or_default() += 1;
        }
        if let Some(f) = e.get("field_expire_ms").and_then(J::as_object) {
            if !f.is_empty() {
                field_keys += 1;
                fields += f.len() as u64;
            }
        }
        expired += u64::from(e.get("expired_at_save").and_then(J::as_bool) == Some(true));
    }
    assert_eq!(doc.keys, exp.len() as u64, "{label}: keys");
    assert_eq!(
        doc.expires,
        per_db.values().map(|d| d.1).sum::<u64>(),
        "{label}: expires"
    );
    let got_db: BTreeMap<u64, (u64, u64)> = doc
        .by_db
        .iter()
        .map(|(db, g)| (db.parse().unwrap(), (g.keys, g.expires)))
        .collect();
    assert_eq!(got_db, per_db, "{label}: keys and expires per db");
    let got_type: BTreeMap<String, (u64, u64, u64)> = doc
        .by_type
        .iter()
        .map(|(t, g)| (t.clone(), (g.keys, g.elements, g.expires)))
        .collect();
    assert_eq!(
        got_type, per_type,
        "{label}: keys, elements, expires per type"
    );
    let got_db_type: BTreeMap<(u64, String), (u64, u64)> = doc
        .by_db
        .iter()
        .flat_map(|(db, g)| {
            g.by_type
                .iter()
                .map(move |(t, g)| ((db.parse().unwrap(), t.clone()), (g.keys, g.elements)))
        })
        .collect();
    assert_eq!(got_db_type, per_db_type, "{label}: per db and type");
    assert_eq!(
        doc.elements,
        per_type.values().map(|t| t.1).sum::<u64>(),
        "{label}: elements"
    );
    if now.is_some() {
        assert_eq!(doc.already_expired, expired, "{label}: already expired");
    }
    // The expected files give the type byte written for each key in
    // types.rdb, expired.rdb and cluster.rdb.
    if !rdb_types.is_empty()
        && label.to_ascii_lowercase().ends_with(".rdb")
        && !label.contains("types-")
    {
        let got: BTreeMap<u8, u64> = doc
            .rdb_encodings
            .values()
            .map(|e| (e.rdb_type, e.keys))
            .collect();
        assert_eq!(got, rdb_types, "{label}: keys per RDB type");
    }
    assert_eq!(
        (doc.field_ttls.keys, doc.field_ttls.fields),
        (field_keys, fields),
        "{label}: field TTLs"
    );
    // The TTL buckets add up, and the "none" bucket is the keys without TTL.
    let t = &doc.ttl;
    assert_eq!(
        t.already_expired + t.lt_1h + t.lt_1d + t.lt_7d + t.lt_30d + t.ge_30d + t.none,
        doc.keys
    );
    assert_eq!(t.none, doc.keys - doc.expires, "{label}: keys without TTL");

    // Top lists against independent computations.
    let elems: BTreeMap<(u64, String), u64> =
        exp.iter().map(|(k, e)| (k.clone(), elements(e))).collect();
    let listed: Vec<(u64, String, u64)> = doc
        .top_by_elements
        .iter()
        .map(|t| (t.db, top_key(t), t.elements))
        .collect();
    check_top(&format!("{label} top_by_elements"), &listed, &elems, 10);
    let rdb = doc
        .analysed_file
        .as_deref()
        .map_or_else(|| path.to_path_buf(), PathBuf::from);
    let sizes = record_sizes(&rdb);
    assert_eq!(sizes.len(), exp.len(), "{label}: reader pass");
    let listed: Vec<(u64, String, u64)> = doc
        .top_by_size
        .iter()
        .map(|t| (t.db, top_key(t), t.size))
        .collect();
    check_top(&format!("{label} top_by_size"), &listed, &sizes, 10);
    assert_eq!(
        doc.by_db.values().map(|g| g.size).sum::<u64>(),
        sizes.values().sum::<u64>(),
        "{label}: serialized sizes"
    );
    doc
}

#[test]
fn every_corpus_file_matches_its_expected_dataset() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut checked = 0;
    for dir in common::corpus_version_dirs(&corpus) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let types = load(&dir.join("expected.json"));
        for f in [
            "types.rdb",
            "types-nocompress.rdb",
            "types-nochecksum.rdb",
            "types-lfu.rdb",
            "types-lru.rdb",
            "types-repl.rdb",
        ] {
            let p = dir.join(f);
            let label = format!("{name}/{f}");
            let doc = check_file(&p, &types, None, &label);
            checked += 1;
            // Functions (7.0+).
            if let Some(funcs) = types["functions"].as_array() {
                let mut want: Vec<String> = funcs
                    .iter()
                    .map(|f| f["library_name"].as_str().unwrap().to_string())
                    .collect();
                want.sort();
                let mut got: Vec<String> = doc.functions.iter().map(|f| f.name.clone()).collect();
                got.sort();
                assert_eq!(got, want, "{label}: function libraries");
            }
            match f {
                "types-lfu.rdb" => {
                    let lfu = doc.lfu.as_ref().expect("LFU summary");
                    assert_eq!(lfu.count, doc.keys, "{label}: every key has a counter");
                    let want = &types["per_file"]["types-lfu.rdb"]["lfu_freq"]["0"];
                    let max = want
                        .as_object()
                        .unwrap()
                        .values()
                        .map(|v| v.as_u64().unwrap())
                        .max()
                        .unwrap();
                    assert_eq!(lfu.max, max, "{label}: LFU max");
                    assert!(doc.lru_idle_seconds.is_none());
                }
                "types-lru.rdb" => {
                    let lru = doc.lru_idle_seconds.as_ref().expect("LRU summary");
                    assert_eq!(lru.count, doc.keys, "{label}: every key has an idle time");
                    assert!(doc.lfu.is_none());
                }
                "types-repl.rdb" => {
                    if types["per_file"]["types-repl.rdb"]["lua_aux_expected"] == J::Bool(true) {
                        assert!(doc.lua_scripts > 0, "{label}: lua scripts");
                    }
                }
                "types.rdb" if name.starts_with("redis-6") => {
                    // Ziplists become listpacks when Redis 7.0 loads them.
                    let h = &doc.encodings["hash"]["listpack"];
                    assert_eq!(h.from.get("hash-ziplist"), Some(&h.keys), "{label}");
                    let z = &doc.encodings["zset"]["listpack"];
                    assert_eq!(z.from.get("zset-ziplist"), Some(&z.keys), "{label}");
                    assert_eq!(doc.checksum.as_deref(), Some("ok"));
                }
                "types-nochecksum.rdb" => {
                    assert_eq!(doc.checksum.as_deref(), Some("disabled"));
                }
                _ => {
                    assert!(doc.lfu.is_none() && doc.lru_idle_seconds.is_none());
                    assert_eq!(doc.checksum.as_deref(), Some("ok"));
                }
            }
        }
        let expired = load(&dir.join("expected-expired.json"));
        let saved = expired["saved_at_ms"].as_i64().unwrap();
        check_file(
            &dir.join("expired.rdb"),
            &expired,
            Some(saved),
            &format!("{name}/expired.rdb"),
        );
        check_file(
            &dir.join("cluster.rdb"),
            &load(&dir.join("expected-cluster.json")),
            None,
            &format!("{name}/cluster.rdb"),
        );
        checked += 2;
        // The RDB base of the multi-part AOF holds the types dataset.
        let base = dir.join("aof-preamble");
        if base.is_dir() {
            let rdb = std::fs::read_dir(&base)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.to_string_lossy().ends_with(".base.rdb"))
                .expect("a base.rdb");
            check_file(&rdb, &types, None, &format!("{name}/aof base"));
            // The directory itself with --base-only: its base is analysed, the
            // INCR commands are reported, not counted. (Without it, the replayed
            // dataset: tests/it/stats_replay.rs.)
            let doc = check_file_args(
                &base,
                &types,
                None,
                &format!("{name}/aof-preamble dir"),
                &["--base-only"],
            );
            assert_eq!(doc.input, "aof-base");
            assert!(doc.analysed_file.unwrap().ends_with(".base.rdb"));
            assert!(doc.incr_bytes.unwrap() > 0);
            let out = common::run(&[
                "stats",
                "--base-only",
                dir.join("aof-nopreamble").to_str().unwrap(),
            ]);
            assert_eq!(out.status.code(), Some(2), "{name}: a base of commands");
            checked += 2;
        }
        // A 6.x hybrid single-file AOF: its preamble is the types dataset; the
        // commands after it are reported, not counted.
        let hybrid = dir.join("appendonly-preamble.aof");
        if hybrid.is_file() {
            let doc = check_file(&hybrid, &types, None, &format!("{name}/hybrid aof"));
            assert_eq!(doc.input, "hybrid-aof");
            assert!(doc.trailing_bytes.unwrap() > 0);
            checked += 1;
        }
    }
    assert!(checked >= 8 * 9, "{checked} files checked");
}

#[test]
fn predicted_encodings_are_those_of_redis_7_0_after_reload() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = corpus.join("redis-7.0.15");
    let want = entries(&load(&dir.join("expected.json")));
    let manifest = load(&dir.join("manifest.json"));
    // The encodings Redis 7.0.15 reported after reloading types.rdb: the
    // generating server's, with the changes the self-check observed.
    let mut changed: BTreeMap<(u64, String), String> = BTreeMap::new();
    for check in manifest["self_checks"].as_array().unwrap() {
        if check["check"] == "types.rdb reloaded" {
            for d in check["encoding_differences"].as_array().unwrap() {
                // "db 0 key NAME: raw -> embstr"
                let d = d.as_str().unwrap();
                let rest = d.strip_prefix("db ").unwrap();
                let (db, rest) = rest.split_once(" key ").unwrap();
                let (key, change) = rest.rsplit_once(": ").unwrap();
                let (_, to) = change.split_once(" -> ").unwrap();
                changed.insert((db.parse().unwrap(), key.to_string()), to.to_string());
            }
        }
    }
    assert!(!changed.is_empty(), "the manifest lists reload differences");
    let rows = stats_csv(&dir.join("types.rdb"), "keys", &[]);
    assert_eq!(rows.len(), want.len());
    for r in rows {
        let k = (
            r["db"].parse::<u64>().unwrap(),
            key_form(&common::expected::unhex(&r["key_hex"])),
        );
        let e = &want[&k];
        let expected = changed
            .get(&k)
            .cloned()
            .unwrap_or_else(|| e["encoding"].as_str().unwrap().to_string());
        assert_eq!(r["encoding"], expected, "key {k:?}");
        assert_eq!(r["elements"].parse::<u64>().unwrap(), elements(e), "{k:?}");
        assert_eq!(r["type"], e["type"].as_str().unwrap(), "{k:?}");
    }
}

#[test]
fn prefix_tree_counts_match_the_key_names() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = corpus.join("redis-7.0.15");
    let want = entries(&load(&dir.join("expected.json")));
    let (code, doc) = stats_json(&dir.join("types.rdb"), &["--top", "1000", "--depth", "2"]);
    assert_eq!(code, 0);
    assert!(!doc.prefixes.truncated);
    // Independent count of level-1 and level-2 prefixes from the key names.
    let mut l1: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let mut l2: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let mut none = 0;
    for e in want.values() {
        let key = bytes_of(&e["key"]);
        let seps: Vec<usize> = key
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b':')
            .map(|(i, _)| i)
            .collect();
        match seps.as_slice() {
            [] => none += 1,
            [a] => *l1.entry(key[..=*a].to_vec()).or_default() += 1,
            [a, b, ..] => {
                *l1.entry(key[..=*a].to_vec()).or_default() += 1;
                *l2.entry(key[..=*b].to_vec()).or_default() += 1;
            }
        }
    }
    assert_eq!(doc.prefixes.no_separator.keys, none);
    let got1: BTreeMap<Vec<u8>, u64> = doc
        .prefixes
        .tree
        .iter()
        .map(|n| (common::expected::unhex(&n.prefix_hex), n.keys))
        .collect();
    assert_eq!(got1, l1);
    let got2: BTreeMap<Vec<u8>, u64> = doc
        .prefixes
        .tree
        .iter()
        .flat_map(|n| n.children.iter())
        .map(|n| (common::expected::unhex(&n.prefix_hex), n.keys))
        .collect();
    assert_eq!(got2, l2);
    // Memory and sizes of the level-1 prefixes add up with the rest.
    let total: u64 =
        doc.prefixes.tree.iter().map(|n| n.memory).sum::<u64>() + doc.prefixes.no_separator.memory;
    assert_eq!(total, doc.memory.keys);
}
