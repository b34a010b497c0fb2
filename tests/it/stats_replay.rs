//! `stats` of AOF inputs is the dataset after replay: for every corpus AOF
//! (multi-part directories with and without an RDB preamble, with `#TS`
//! annotations, and the 6.x single files), the key counts per database and type,
//! the expires and the element counts equal what the live server held
//! (`expected-aof-*.json`).

use crate::common;
use crate::stats_support;

use std::collections::BTreeMap;

use serde_json::Value as J;
use stats_support::stats_json;

fn elements(e: &J) -> u64 {
    let v = &e["value"];
    match e["type"].as_str().unwrap() {
        "string" => 1,
        "list" | "set" | "zset" => v.as_array().unwrap().len() as u64,
        "hash" => v.as_object().unwrap().len() as u64,
        "stream" => v["entries"].as_array().unwrap().len() as u64,
        "vectorset" => v["card"].as_u64().unwrap(),
        other => panic!("{other}"),
    }
}

#[test]
fn stats_of_replayed_corpus_aofs_match_the_live_dataset() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut checked = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs.iter().filter(|d| d.join("expected.json").is_file()) {
        let mut inputs = Vec::new();
        for (sub, exp) in [
            ("aof-preamble", "expected-aof-preamble.json"),
            ("aof-nopreamble", "expected-aof-nopreamble.json"),
            ("aof-timestamps", "expected-aof-timestamps.json"),
            ("appendonly-preamble.aof", "expected-aof-preamble.json"),
            ("appendonly-nopreamble.aof", "expected-aof-nopreamble.json"),
        ] {
            if dir.join(sub).exists() {
                inputs.push((dir.join(sub), dir.join(exp)));
            }
        }
        for (input, exp) in inputs {
            let doc: J = serde_json::from_slice(&std::fs::read(&exp).unwrap()).unwrap();
            // A hybrid single file is replayed with --replay (its preamble alone by default).
            let extra: &[&str] = if input.is_file() && input.to_string_lossy().contains("-preamble")
            {
                &["--replay"]
            } else {
                &[]
            };
            let (code, got) = stats_json(&input, extra);
            assert_eq!(code, 0, "{}", input.display());
            assert_eq!(got.input, "aof-replayed", "{}", input.display());
            let mut want_keys: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new(); // type -> keys, expires, elements
            let mut want_db: BTreeMap<String, u64> = BTreeMap::new();
            for (db, keys) in doc["dbs"].as_object().unwrap() {
                for e in keys.as_object().unwrap().values() {
                    let t = want_keys
                        .entry(e["type"].as_str().unwrap().to_string())
                        .or_default();
                    t.0 += 1;
                    t.1 += u64::from(!e["expire_ms"].is_null());
                    t.2 += elements(e);
                    *want_db.entry(db.clone()).or_default() += 1;
                }
            }
            let got_keys: BTreeMap<String, (u64, u64, u64)> = got
                .by_type
                .iter()
                .filter(|(_, g)| g.keys > 0)
                .map(|(t, g)| (t.clone(), (g.keys, g.expires, g.elements)))
                .collect();
            assert_eq!(got_keys, want_keys, "{}", input.display());
            let got_db: BTreeMap<String, u64> =
                got.by_db.iter().map(|(d, g)| (d.clone(), g.keys)).collect();
            assert_eq!(got_db, want_db, "{}", input.display());
            checked += 1;
        }
    }
    assert!(checked >= 20, "checked {checked}");
}
