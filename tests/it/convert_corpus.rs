//! `convert-aof-to-hybrid` on every AOF of the version-by-version corpus (the
//! `aof-nopreamble/`, `aof-timestamps/` and `aof-preamble/` directories of
//! Redis 7.0 to 8.0 and Valkey 8, the 6.x single files with and without an RDB
//! preamble): the output must hold exactly the folder's `expected-aof-*.json`
//! dataset and function libraries —
//!
//! * read back with the library's RDB reader, for every version;
//! * loaded by a real redis-server 7.0 (outputs it can read: RDB ≤ 10; the
//!   RDB 11 inputs are converted again with `--rdb-version 10` for it, and the
//!   RDB 12 ones, which hold hash field TTLs, are refused at 10), compared key
//!   by key;
//! * accepted by `redis-check-aof` 7.0 (outputs in RDB ≤ 10).

#![allow(clippy::print_stderr)] // lists what was compared (with --nocapture)

use crate::common;
use crate::convert_support;

use std::collections::BTreeMap;
use std::path::Path;

use common::expected::{Canon, expected_dbs};
use convert_support::{
    assert_same_dbs, base_of, canon_dbs, convert_paths, expect_exit, live_dbs, live_functions,
    read_rdb, server_on_dir,
};
use serde_json::Value as J;

type Dbs = BTreeMap<u64, BTreeMap<String, J>>;

const C: Canon = Canon {
    ignore_consumer_times: true,
};

/// Redis 6.x (RDB 9) does not track stream first/max-deleted ids, entries-added
/// and groups' entries-read: the expected files have none, so they are not
/// compared for those folders.
fn drop_v10_stream_metadata(dbs: &mut Dbs) {
    for keys in dbs.values_mut() {
        for e in keys.values_mut() {
            if e["type"] != "stream" {
                continue;
            }
            let v = &mut e["value"];
            for f in ["first_id", "max_deleted_entry_id", "entries_added"] {
                v[f] = J::Null;
            }
            if let Some(groups) = v["groups"].as_array_mut() {
                for g in groups {
                    g["entries_read"] = J::Null;
                }
            }
        }
    }
}

fn expected_functions(doc: &J) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = doc["functions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| l["code"].as_str().unwrap().as_bytes().to_vec())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn has_field_ttls(doc: &J) -> bool {
    doc["dbs"].as_object().unwrap().values().any(|keys| {
        keys.as_object().unwrap().values().any(|e| {
            e.get("field_expire_ms")
                .is_some_and(|f| !f.as_object().unwrap().is_empty())
        })
    })
}

/// True when a stream of the dataset has IDMP state that only RDB 13 holds
/// (producers, or a configuration other than the defaults 100 / 100).
fn has_idmp_state(doc: &J) -> bool {
    doc["dbs"].as_object().unwrap().values().any(|keys| {
        keys.as_object().unwrap().values().any(|e| {
            e["value"].get("idmp").is_some_and(|i| {
                i["duration"] != 100
                    || i["maxsize"] != 100
                    || i["pids_tracked"].as_u64().unwrap_or(0) > 0
            })
        })
    })
}

/// Converts one corpus AOF and checks the output; returns what was compared.
fn check_one(folder: &Path, input: &Path, expected: &Path, has_rdb: bool, work: &Path) -> String {
    let label = format!(
        "{}",
        input
            .strip_prefix(folder.parent().unwrap())
            .unwrap()
            .display()
    );
    // As the same server replays its AOF (Redis 8.6's RESP rewrite loses the
    // IDMP counters and a KEEPREF-deleted message's pending entry).
    let doc: J = common::expected::as_replayed(
        serde_json::from_slice(&std::fs::read(expected).unwrap()).unwrap(),
    );
    let folder_version = doc["rdb_version"].as_u64().unwrap() as u32;
    let old = folder_version < 10;
    let mut want = expected_dbs(&doc, C);
    if old {
        drop_v10_stream_metadata(&mut want);
    }
    let out = work.join(label.replace('/', "_"));
    let o = convert_paths(input, &out, &["--json"]);
    expect_exit(&o, 0, &label);
    let j: J = serde_json::from_slice(&o.stdout).unwrap();
    // The version: the input's RDB part (80 for Valkey 9's VALKEY080), else
    // 10 — raised to 12 for field TTLs, to 13 for stream IDMP state.
    let default = if has_rdb { folder_version } else { 10 };
    let default = if has_field_ttls(&doc) && default < 12 {
        12
    } else {
        default
    };
    // Raised to 13 for stream IDMP state (Redis 8.6).
    let default = if has_idmp_state(&doc) && default < 13 {
        13
    } else {
        default
    };
    assert_eq!(j["rdb_version"], default, "{label}: {j}");
    assert_eq!(j["failures"].as_array().unwrap().len(), 0, "{label}: {j}");

    // 1. Read back with our reader.
    let base = base_of(&out, "appendonly.aof");
    let rdb = read_rdb(&base);
    assert_eq!(rdb.version, default);
    let mut got = canon_dbs(&rdb.entries, C);
    if old {
        drop_v10_stream_metadata(&mut got);
    }
    assert_same_dbs(&format!("{label} (read back)"), &want, &got);
    let mut fns: Vec<Vec<u8>> = rdb.functions.iter().map(|f| f.code.clone()).collect();
    fns.sort();
    assert_eq!(fns, expected_functions(&doc), "{label}: functions");
    let mut did = vec!["read back"];

    // 2./3. redis-server 7.0 and redis-check-aof 7.0 (RDB <= 10).
    let loadable = if default <= 10 {
        Some(out.clone())
    } else {
        let out10 = work.join(format!("{}-v10", label.replace('/', "_")));
        let o = convert_paths(input, &out10, &["--rdb-version", "10"]);
        if has_field_ttls(&doc) {
            expect_exit(&o, 1, &format!("{label} --rdb-version 10"));
            assert!(!out10.exists());
            did.push("refused at RDB 10");
            None
        } else {
            expect_exit(&o, 0, &format!("{label} --rdb-version 10"));
            Some(out10)
        }
    };
    if let Some(dir) = loadable {
        if let Some(tool) = common::redis_tool("redis-check-aof") {
            let c = std::process::Command::new(tool)
                .arg(dir.join("appendonly.aof.manifest"))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&c.stdout);
            assert!(
                c.status.success() && text.contains("All AOF files and manifest are valid"),
                "{label}: redis-check-aof: {text}"
            );
            did.push("redis-check-aof");
        }
        if let Some(mut s) = server_on_dir(&dir, &[]) {
            let mut live = live_dbs(&mut s);
            if old {
                drop_v10_stream_metadata(&mut live);
            }
            assert_same_dbs(&format!("{label} (redis-server 7.0)"), &want, &live);
            assert_eq!(live_functions(&mut s), expected_functions(&doc), "{label}");
            did.push("redis-server 7.0");
        }
    }
    format!("{label}: {}", did.join(", "))
}

#[test]
fn corpus_aofs_convert_to_their_expected_datasets() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let mut folders: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("SHA256SUMS").is_file())
        .collect();
    folders.sort();
    let mut done = Vec::new();
    for folder in &folders {
        for (kind, has_rdb) in [
            ("nopreamble", false),
            ("timestamps", false),
            ("preamble", true),
        ] {
            let dir = folder.join(format!("aof-{kind}"));
            if dir.is_dir() {
                let expected = folder.join(format!("expected-aof-{kind}.json"));
                done.push(check_one(folder, &dir, &expected, has_rdb, work.path()));
            }
        }
        for (kind, has_rdb) in [("nopreamble", false), ("preamble", true)] {
            let single = folder.join(format!("appendonly-{kind}.aof"));
            if single.is_file() {
                let expected = folder.join(format!("expected-aof-{kind}.json"));
                done.push(check_one(folder, &single, &expected, has_rdb, work.path()));
            }
        }
    }
    eprintln!("{}", done.join("\n"));
    // 6 folders x 3 directories + 2 x 2 single files.
    assert!(done.len() >= 22, "only {} AOFs converted", done.len());
}
