//! `redis-persist stats` on the command line: the human report, the JSON
//! document (typed with `deny_unknown_fields`), every CSV table, standard
//! input, and the exit codes for damaged and unsupported inputs. Uses the
//! fixture made by redis-server 7.0 (`testdata/stats`), so it runs without
//! the corpus or a server.

use crate::common;
use crate::stats_support;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

use serde_json::Value as J;
use stats_support::{parse_csv, stats_csv, stats_json};

fn fixture() -> std::path::PathBuf {
    common::testdata("stats/redis-7.0-mixed.rdb")
}

fn expected() -> J {
    serde_json::from_slice(
        &std::fs::read(common::testdata("stats/redis-7.0-mixed.expected.json")).unwrap(),
    )
    .unwrap()
}

/// The earliest TTL of the fixture, less a minute: a "now" at which no key
/// has expired yet.
fn now_before_ttls(exp: &J) -> i64 {
    exp["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["expire_ms"].as_i64().filter(|&t| t > 0))
        .min()
        .unwrap()
        - 60_000
}

#[test]
fn json_document_follows_the_schema_and_the_data() {
    let exp = expected();
    let now = now_before_ttls(&exp);
    let (code, doc) = stats_json(&fixture(), &["--now", &now.to_string(), "--top", "5"]);
    assert_eq!(code, 0);
    assert!(doc.complete && doc.problems.is_empty());
    assert_eq!(doc.input, "rdb");
    assert_eq!(doc.format.as_deref(), Some("redis"));
    assert_eq!(doc.rdb_version, Some(10));
    assert_eq!(doc.checksum.as_deref(), Some("ok"));
    assert_eq!(doc.trailing_bytes, Some(0));
    assert_eq!(doc.memory.model, "redis-7.0-jemalloc");
    assert_eq!(
        doc.memory.total,
        doc.memory.keys
            + doc.memory.main_dict
            + doc.memory.expires_dict
            + doc.memory.entry_rounding
    );
    let keys = exp["keys"].as_array().unwrap();
    assert_eq!(doc.keys, keys.len() as u64);
    assert_eq!(doc.top, 5);
    assert_eq!(doc.top_by_size.len(), 5);
    assert_eq!(doc.top_by_memory.len(), 5);
    // TTL buckets from the expiry times.
    let mut buckets = [0u64; 7];
    for k in keys {
        let t = k["expire_ms"].as_i64().unwrap();
        let b = if t < 0 {
            6
        } else {
            let left = t - now;
            [3_600_000i64, 86_400_000, 7 * 86_400_000, 30 * 86_400_000]
                .iter()
                .position(|&l| left < l)
                .map_or(5, |p| p + 1)
        };
        buckets[b] += 1;
    }
    let t = &doc.ttl;
    assert_eq!(
        [
            t.already_expired,
            t.lt_1h,
            t.lt_1d,
            t.lt_7d,
            t.lt_30d,
            t.ge_30d,
            t.none
        ],
        buckets
    );
    assert!(
        buckets[1..6].iter().all(|&n| n > 0),
        "a key in every TTL bucket"
    );
    // Per-type distributions are consistent with the totals.
    for (ty, g) in &doc.by_type {
        assert_eq!(g.elements_dist.count, g.keys, "{ty}");
        assert_eq!(g.size_dist.count, g.keys, "{ty}");
        assert!(
            g.elements_dist.p50 <= g.elements_dist.p90
                && g.elements_dist.p90 <= g.elements_dist.max
        );
        assert!((g.elements_dist.mean * g.keys as f64 - g.elements as f64).abs() < 1.0);
        assert!(g.memory_dist.max <= g.memory);
    }
    // The biggest key by memory is the one MEMORY USAGE says.
    let biggest = keys
        .iter()
        .max_by_key(|k| k["memory_usage"].as_u64().unwrap())
        .unwrap();
    assert_eq!(
        doc.top_by_memory[0].key_hex,
        biggest["key_hex"].as_str().unwrap()
    );
    // Encodings in memory, keys per RDB type.
    let mut want_enc: BTreeMap<(String, String), u64> = BTreeMap::new();
    for k in keys {
        *want_enc
            .entry((
                k["type"].as_str().unwrap().into(),
                k["encoding"].as_str().unwrap().into(),
            ))
            .or_default() += 1;
    }
    let got_enc: BTreeMap<(String, String), u64> = doc
        .encodings
        .iter()
        .flat_map(|(t, m)| m.iter().map(move |(e, s)| ((t.clone(), e.clone()), s.keys)))
        .collect();
    assert_eq!(got_enc, want_enc);
    for m in doc.encodings.values() {
        for e in m.values() {
            assert_eq!(e.from.values().sum::<u64>(), e.keys);
        }
    }
    assert_eq!(doc.encodings["hash"]["listpack"].from["hash-listpack"], 21);
    assert_eq!(
        doc.rdb_encodings.values().map(|e| e.keys).sum::<u64>(),
        doc.keys
    );
}

#[test]
fn human_report_has_every_section() {
    let out = common::run(&["stats", fixture().to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for s in [
        "RDB version 10, written by Redis 7.0.15",
        "keys: 59 in 2 database(s)",
        "memory estimate (Redis 7.0, jemalloc)",
        "Databases",
        "Types (elements and sizes",
        "Encodings",
        "Biggest keys by serialized size (top 20)",
        "Keys with the most elements (top 20)",
        "Biggest keys by estimated memory (top 20)",
        "Key prefixes (separator \":\", depth 2",
        "user:",
        "TTLs",
        "quicklist",
        "skiplist",
        "intset",
    ] {
        assert!(text.contains(s), "missing {s:?} in\n{text}");
    }
    assert!(out.stderr.is_empty(), "no progress bar off a terminal");
}

#[test]
fn every_csv_table() {
    let f = fixture();
    let (_, doc) = stats_json(&f, &[]);
    let dbs = stats_csv(&f, "dbs", &[]);
    assert_eq!(dbs.len(), doc.by_db.len());
    for r in &dbs {
        assert_eq!(r["keys"].parse::<u64>().unwrap(), doc.by_db[&r["db"]].keys);
    }
    let types = stats_csv(&f, "types", &[]);
    assert_eq!(types.len(), doc.by_type.len());
    for r in &types {
        let g = &doc.by_type[&r["type"]];
        assert_eq!(r["elements"].parse::<u64>().unwrap(), g.elements);
        assert_eq!(
            r["elements_p99"].parse::<u64>().unwrap(),
            g.elements_dist.p99
        );
        assert_eq!(r["memory"].parse::<u64>().unwrap(), g.memory);
    }
    let db_types = stats_csv(&f, "db-types", &[]);
    assert_eq!(
        db_types.len(),
        doc.by_db.values().map(|d| d.by_type.len()).sum::<usize>()
    );
    let enc = stats_csv(&f, "encodings", &[]);
    assert_eq!(
        enc.iter()
            .map(|r| r["keys"].parse::<u64>().unwrap())
            .sum::<u64>(),
        doc.keys
    );
    let rdb_enc = stats_csv(&f, "rdb-encodings", &[]);
    assert_eq!(rdb_enc.len(), doc.rdb_encodings.len());
    for (table, list) in [
        ("top-size", &doc.top_by_size),
        ("top-elements", &doc.top_by_elements),
        ("top-memory", &doc.top_by_memory),
    ] {
        let rows = stats_csv(&f, table, &[]);
        assert_eq!(rows.len(), list.len(), "{table}");
        for (r, t) in rows.iter().zip(list.iter()) {
            assert_eq!(r["key_hex"], t.key_hex, "{table}");
            assert_eq!(r["size"].parse::<u64>().unwrap(), t.size, "{table}");
        }
    }
    let prefixes = stats_csv(&f, "prefixes", &[]);
    let level1: Vec<&BTreeMap<String, String>> =
        prefixes.iter().filter(|r| r["level"] == "1").collect();
    assert_eq!(level1.len(), doc.prefixes.tree.len());
    assert!(
        prefixes
            .iter()
            .any(|r| r["level"] == "2" && r["parent"] == "user:")
    );
    let ttl = stats_csv(&f, "ttl", &[]);
    assert_eq!(ttl.len(), 7);
    assert_eq!(
        ttl.iter()
            .map(|r| r["keys"].parse::<u64>().unwrap())
            .sum::<u64>(),
        doc.keys
    );
    let keys = stats_csv(&f, "keys", &[]);
    assert_eq!(keys.len() as u64, doc.keys);
    assert_eq!(
        keys.iter()
            .map(|r| r["memory"].parse::<u64>().unwrap())
            .sum::<u64>(),
        doc.memory.keys
    );
    // Quoting: fields with commas and quotes survive.
    let rows = parse_csv("a,\"b,c\",\"d\"\"e\"\n1,2,3\n");
    assert_eq!(rows[0], vec!["a", "b,c", "d\"e"]);
}

#[test]
fn standard_input_gives_the_same_report() {
    let f = fixture();
    let (_, from_file) = stats_json(&f, &["--now", "1700000000000"]);
    let mut child = common::bin()
        .args(["stats", "--json", "--now", "1700000000000", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let data = std::fs::read(&f).unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let mut doc: stats_support::Doc = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc.path, "-");
    assert_eq!(doc.size, None);
    doc.path = from_file.path.clone();
    doc.size = from_file.size;
    assert_eq!(doc, from_file);
}

#[test]
fn damaged_and_unsupported_inputs_give_exit_codes_1_and_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::read(fixture()).unwrap();
    // Truncated: exit 1, partial statistics, the problem.
    let cut = dir.path().join("cut.rdb");
    std::fs::write(&cut, &data[..data.len() * 2 / 3]).unwrap();
    let (code, doc) = stats_json(&cut, &[]);
    assert_eq!(code, 1);
    assert!(!doc.complete);
    assert!(doc.keys > 0 && doc.keys < 59);
    assert!(
        doc.problems
            .iter()
            .any(|p| p.truncated && p.severity == "error")
    );
    let out = common::run(&["stats", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("INCOMPLETE"));
    // A corrupt byte: the checksum fails.
    let bad = dir.path().join("bad.rdb");
    let mut d = data.clone();
    let mid = d.len() / 2;
    d[mid] ^= 0x01;
    std::fs::write(&bad, &d).unwrap();
    let (code, doc) = stats_json(&bad, &[]);
    assert_eq!(code, 1, "{:?}", doc.problems);
    assert!(!doc.problems.is_empty());
    // An AOF of commands is replayed; with --base-only it has nothing to read
    // (exit 2); a command the replay cannot apply is a problem of the input (1).
    let aof = dir.path().join("cmds.aof");
    std::fs::write(&aof, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n").unwrap();
    let (code, doc) = stats_json(&aof, &[]);
    assert_eq!((code, doc.keys, doc.input.as_str()), (0, 1, "aof-replayed"));
    let out = common::run(&["stats", "--base-only", aof.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AOF of commands"));
    let bad_cmd = dir.path().join("eval.aof");
    std::fs::write(
        &bad_cmd,
        b"*3\r\n$4\r\nEVAL\r\n$8\r\nreturn 1\r\n$1\r\n0\r\n",
    )
    .unwrap();
    let out = common::run(&["stats", bad_cmd.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("EVAL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A missing file: exit 2; not a persistence file: a problem of the input,
    // exit 1 (issue 18: the same code as check-rdb, dump, check-aof).
    for (path, msg, code) in [
        (
            dir.path().join("missing.rdb").to_str().unwrap().to_string(),
            "opening",
            2,
        ),
        (
            common::testdata("stats/README.md")
                .to_str()
                .unwrap()
                .to_string(),
            "not an RDB",
            1,
        ),
    ] {
        let out = common::run(&["stats", &path]);
        assert_eq!(out.status.code(), Some(code), "{path}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{path}: {err}");
    }
    // Bad options.
    let fx = fixture();
    let fx = fx.to_str().unwrap();
    for args in [
        vec!["--server-config", "nope=1"],
        vec!["--server-config", "hash-max-listpack-entries"],
        vec!["--separator", ""],
        vec!["--json", "--csv", "dbs"],
    ] {
        let mut a = vec!["stats"];
        a.extend(args.iter());
        a.push(fx);
        let out = common::run(&a);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn multi_part_aof_directories_and_manifests_are_replayed_or_give_their_base() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture(), dir.path().join("appendonly.aof.1.base.rdb")).unwrap();
    std::fs::write(
        dir.path().join("appendonly.aof.1.incr.aof"),
        b"*1\r\n$4\r\nPING\r\n",
    )
    .unwrap();
    let manifest = dir.path().join("appendonly.aof.manifest");
    std::fs::write(
        &manifest,
        b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    let (_, from_file) = stats_json(&fixture(), &["--now", "1700000000000"]);
    for p in [dir.path(), manifest.as_path()] {
        // By default the dataset after replay (here the base: PING writes nothing).
        let (code, doc) = stats_json(p, &["--now", "1700000000000"]);
        assert_eq!(code, 0);
        assert_eq!(doc.input, "aof-replayed");
        assert_eq!(doc.keys, from_file.keys);
        // The same keys and elements; serialized sizes may differ from the
        // server's own encoding choices (e.g. score text), so compare counts.
        for (ty, g) in &from_file.by_type {
            let r = &doc.by_type[ty];
            assert_eq!(
                (r.keys, r.expires, r.elements),
                (g.keys, g.expires, g.elements),
                "{ty}"
            );
        }
        // --base-only streams the base.
        let (code, doc) = stats_json(p, &["--now", "1700000000000", "--base-only"]);
        assert_eq!(code, 0);
        assert_eq!(doc.input, "aof-base");
        assert_eq!(doc.incr_bytes, Some(14));
        assert_eq!(doc.keys, from_file.keys);
        assert_eq!(doc.by_type, from_file.by_type);
        assert_eq!(doc.memory, from_file.memory);
    }
    // A base made of commands has no RDB part for --base-only.
    std::fs::write(
        dir.path().join("appendonly.aof.1.base.rdb"),
        b"*1\r\n$4\r\nPING\r\n",
    )
    .unwrap();
    let out = common::run(&["stats", "--base-only", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AOF of commands"));
}

#[test]
fn separator_depth_and_top_options() {
    let f = fixture();
    let (_, doc) = stats_json(&f, &["--depth", "0"]);
    assert!(doc.prefixes.tree.is_empty());
    assert_eq!(doc.prefixes.no_separator.keys, 0);
    let (_, doc) = stats_json(&f, &["--separator", "user", "--depth", "1", "--top", "3"]);
    assert_eq!(doc.prefixes.separator, "user");
    assert_eq!(doc.prefixes.tree.len(), 1);
    assert_eq!(doc.prefixes.tree[0].prefix, "user");
    assert_eq!(doc.prefixes.tree[0].keys, 27);
    assert_eq!(doc.top_by_elements.len(), 3);
    let (_, doc) = stats_json(&f, &["--top", "0"]);
    assert!(doc.top_by_size.is_empty());
    // Folding: with room for very few prefixes the largest stay.
    let (_, doc) = stats_json(&f, &["--max-prefixes", "16", "--depth", "2"]);
    assert!(doc.prefixes.truncated);
    assert!(doc.prefixes.tree.iter().any(|n| n.prefix == "user:"));
}

/// `stats --deep` holds a vector set to `check-rdb`'s rules: a set whose graph
/// a flipped byte broke (CRC recomputed, so only the value check can tell) is a
/// problem of its key, at the offset `check-rdb` gives, and the statistics say
/// they are incomplete (found by `rdb_mutations` on case 1706).
#[test]
fn a_broken_vector_set_is_a_problem_for_stats_too() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut bytes = std::fs::read(corpus.join("redis-8.0.6/types-lru.rdb")).unwrap();
    bytes[106_314] ^= 0x0b;
    common::paths::fix_crc_trailer(&mut bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vset-bad.rdb");
    std::fs::write(&path, &bytes).unwrap();
    let p = path.to_str().unwrap();
    let check = common::run(&["check-rdb", "--json", p]);
    assert_eq!(check.status.code(), Some(1));
    let doc: J = serde_json::from_slice(&check.stdout).unwrap();
    let problem = &doc["files"][0]["problems"][0];
    assert!(
        problem["message"].as_str().unwrap().contains("vector set"),
        "{problem}"
    );
    let stats = common::run(&["stats", "--deep", "--json", p]);
    assert_eq!(stats.status.code(), Some(1));
    let st: J = serde_json::from_slice(&stats.stdout).unwrap();
    let problems = st["problems"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|x| x["offset"] == problem["offset"] && x["key"] == problem["key"]),
        "stats: {problems:?}, check-rdb: {problem}"
    );
}
