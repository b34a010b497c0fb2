//! `rewrite --split-by-slot` against real cluster nodes (issue 17): an input
//! is split into 3 and 5 nodes — `N` equal ranges (what `redis-cli --cluster
//! create` assigns), a ragged `nodes.conf` and a ragged `CLUSTER SHARDS` JSON
//! — and each output is loaded by a real cluster node owning its slots
//! (`tests/common/cluster.rs`: Redis 6.2 from `PyPI`, Debian's Redis 7.0,
//! Redis 8.6.3, Valkey 8.1.1 and 9.1.2; the last three delete the keys of
//! slots another node owns). Every key lands once, on
//! the node of its slot, the per-node counts equal the report's, and the
//! union is the input's db-0 keys as our reader reads them.
//!
//! Inputs: a file written by the library's writer (6,000 keys of several
//! types, a third of them sharing hash tags, and keys in db 1) and the
//! corpus' `types.rdb` of each server's own version with `--db 0`. Also: keys of
//! another database follow `--incompatible` (refused, nothing written; or
//! skipped and listed), and `--db-map 1=0` moves them.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::cluster::Cluster;
use common::servers::server_bin;
use redis_persist::cluster::Layout;
use redis_persist::io::Source;
use redis_persist::model::{Entry, HashField, Value};
use redis_persist::rdb::writer::{WriterOptions, write_all};
use redis_persist::rdb::{Entries, Item, Reader};
use serde_json::Value as J;

/// The keys (db, key) of an RDB file, as our reader reads them.
fn read_keys(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let f = std::fs::File::open(path).unwrap();
    let mut it = Entries::new(Reader::new(Source::new(f)));
    let mut keys = Vec::new();
    while let Some(item) = it.next_item().unwrap() {
        if let Item::Entry(e) = item {
            keys.push((e.db, e.key));
        }
    }
    keys
}

/// A generated input: 6,000 keys in db 0 (strings, hashes, lists, sets;
/// every third key shares one of 40 hash tags), 20 in db 1.
fn generated(dir: &Path) -> PathBuf {
    let mut entries = Vec::new();
    for i in 0..6000u32 {
        let key = if i % 3 == 0 {
            format!("{{tag{}}}:item:{i}", i % 40)
        } else {
            format!("key:{i}")
        };
        let value = match i % 4 {
            0 => Value::String(format!("v{i}").into_bytes()),
            1 => Value::Hash(
                (0..3)
                    .map(|f| HashField {
                        field: format!("f{f}").into_bytes(),
                        value: format!("{i}").into_bytes(),
                        expire_ms: None,
                    })
                    .collect(),
            ),
            2 => Value::List((0..4).map(|x| format!("e{x}").into_bytes()).collect()),
            _ => Value::Set((0..3).map(|x| format!("m{x}").into_bytes()).collect()),
        };
        entries.push(Entry::new(0, key, None, value));
    }
    for i in 0..20 {
        entries.push(Entry::new(
            1,
            format!("db1:{i}"),
            None,
            Value::String(b"x".to_vec()),
        ));
    }
    let path = dir.join("input.rdb");
    let f = std::fs::File::create(&path).unwrap();
    write_all(f, WriterOptions::for_version(10), &[], entries, |_| (0, 0)).unwrap();
    path
}

/// A 3-node `nodes.conf` with ragged ranges (single slots, several ranges
/// per node, a replica and the `vars` line).
const RAGGED_NODES_CONF: &str = "\
1111111111111111111111111111111111111111 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-100 5000-7000 12182 16000-16383
2222222222222222222222222222222222222222 127.0.0.1:7002@17002 master - 0 0 2 connected 101-4999 7001
4444444444444444444444444444444444444444 127.0.0.1:7004@17004 slave 2222222222222222222222222222222222222222 0 0 2 connected
3333333333333333333333333333333333333333 127.0.0.1:7003@17003 master - 0 0 3 connected 7002-12181 12183-15999
vars currentEpoch 3 lastVoteEpoch 0
";

/// A 5-shard `CLUSTER SHARDS` JSON (`redis-cli --json`) with ragged ranges.
const RAGGED_SHARDS: &str = r#"[
 {"slots":[0,1000,9000,9100],"nodes":[{"id":"s0","port":7000,"ip":"127.0.0.1","endpoint":"127.0.0.1","role":"master"}]},
 {"slots":[1001,4000],"nodes":[{"id":"s1","port":7001,"ip":"127.0.0.1","endpoint":"127.0.0.1","role":"master"}]},
 {"slots":[4001,8999],"nodes":[{"id":"s2","port":7002,"ip":"127.0.0.1","endpoint":"127.0.0.1","role":"master"}]},
 {"slots":[9101,9101],"nodes":[{"id":"s3","port":7003,"ip":"127.0.0.1","endpoint":"127.0.0.1","role":"master"}]},
 {"slots":[9102,16383],"nodes":[{"id":"s4","port":7004,"ip":"127.0.0.1","endpoint":"127.0.0.1","role":"master"}]}
]"#;

/// Runs `rewrite INPUT -o OUT --target TARGET --split-by-slot LAYOUT
/// EXTRA... --json`; returns the exit code and the report.
fn split(input: &Path, out: &Path, target: &str, layout: &str, extra: &[&str]) -> (i32, J) {
    let mut args = vec![
        "rewrite",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--target",
        target,
        "--split-by-slot",
        layout,
        "--json",
    ];
    args.extend_from_slice(extra);
    let o = common::run(&args);
    let doc: J = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o.status.code().unwrap(), doc)
}

/// Splits `input` by `layout_arg` (parsed as `layout`), loads each output
/// into a cluster node of `bin` owning its slots, and checks the keys.
#[allow(clippy::too_many_arguments)]
fn split_and_load(
    what: &str,
    bin: &Path,
    target: &str,
    input: &Path,
    layout_arg: &str,
    layout: &Layout,
    extra: &[&str],
    work: &Path,
) {
    let out = work.join(format!("out-{}", what.replace(['/', ' '], "_")));
    let (code, doc) = split(input, &out, target, layout_arg, extra);
    assert_eq!(code, 0, "{what}: {doc:#}");
    assert_eq!(doc["written"], true, "{what}");
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), layout.nodes().len(), "{what}");
    let want: BTreeSet<Vec<u8>> = read_keys(input)
        .into_iter()
        .filter(|(db, _)| *db == 0)
        .map(|(_, k)| k)
        .collect();
    let mut rdbs = Vec::new();
    for (n, l) in nodes.iter().zip(layout.nodes()) {
        assert_eq!(n["id"], l.id.as_str(), "{what}");
        assert_eq!(n["keys"], n["read_back"], "{what}: {n}");
        let path = PathBuf::from(n["output"].as_str().unwrap());
        assert!(path.starts_with(&out), "{what}: {}", path.display());
        // Our reader agrees on what each file holds: db 0 and the node's
        // slots only.
        let keys = read_keys(&path);
        assert_eq!(keys.len() as u64, n["keys"].as_u64().unwrap(), "{what}");
        for (db, k) in &keys {
            assert_eq!(*db, 0);
            assert_eq!(layout.nodes()[layout.node_of_key(k)].id, l.id, "{what}");
        }
        rdbs.push(path);
    }
    let total: u64 = nodes.iter().map(|n| n["keys"].as_u64().unwrap()).sum();
    assert_eq!(total, doc["keys_out"].as_u64().unwrap(), "{what}");
    let rdb_refs: Vec<Option<&Path>> = rdbs.iter().map(|p| Some(p.as_path())).collect();
    let (_cluster, found) =
        Cluster::start(bin, layout, &rdb_refs).unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut union = BTreeSet::new();
    for (i, (node_keys, n)) in found.iter().zip(nodes).enumerate() {
        assert_eq!(
            node_keys.keys.len() as u64,
            n["keys"].as_u64().unwrap(),
            "{what}: node {i} loaded another number of keys than the report's"
        );
        for k in &node_keys.keys {
            assert_eq!(layout.node_of_key(k), i, "{what}");
            assert!(union.insert(k.clone()), "{what}: {k:?} on two nodes");
        }
    }
    assert_eq!(
        union, want,
        "{what}: the nodes' keys are not the input's db 0"
    );
}

/// The servers of the test: Redis 6.2 (`PyPI`), Debian's Redis 7.0, Redis
/// 8.6.3, Valkey 8.1.1 and 9.1.2, with their target and corpus folder.
fn servers() -> Vec<(&'static str, PathBuf, &'static str)> {
    let mut v = Vec::new();
    if let Some(b) = server_bin("redis-6.2") {
        v.push(("redis-6.2", b, "redis-6.2.14"));
    }
    if let Some(b) = common::redis_server_bin() {
        v.push(("redis-7.0", b, "redis-7.0.15"));
    }
    for (target, version) in [
        ("redis-8.6", "redis-8.6.3"),
        ("valkey-8.1", "valkey-8.1.1"),
        ("valkey-9.1", "valkey-9.1.2"),
    ] {
        if let Some(b) = server_bin(version) {
            v.push((target, b, version));
        }
    }
    v
}

#[test]
fn split_into_3_and_5_nodes_loads_in_real_cluster_nodes() {
    let work = tempfile::tempdir().unwrap();
    let input = generated(work.path());
    let conf = work.path().join("nodes.conf");
    std::fs::write(&conf, RAGGED_NODES_CONF).unwrap();
    let shards = work.path().join("shards.json");
    std::fs::write(&shards, RAGGED_SHARDS).unwrap();
    let layouts = [
        ("3".to_string(), Layout::equal(3).unwrap()),
        ("5".to_string(), Layout::equal(5).unwrap()),
        (
            conf.to_str().unwrap().to_string(),
            Layout::parse(RAGGED_NODES_CONF).unwrap(),
        ),
        (
            shards.to_str().unwrap().to_string(),
            Layout::parse(RAGGED_SHARDS).unwrap(),
        ),
    ];
    assert_eq!(layouts[2].1.nodes().len(), 3);
    assert_eq!(layouts[3].1.nodes().len(), 5);
    let corpus = common::corpus();
    for (target, bin, folder) in servers() {
        for (i, (arg, layout)) in layouts.iter().enumerate() {
            split_and_load(
                &format!("{target} generated layout {i}"),
                &bin,
                target,
                &input,
                arg,
                layout,
                &["--db", "0"],
                work.path(),
            );
        }
        if let Some(c) = &corpus {
            let types = c.join(folder).join("types.rdb");
            for (i, (arg, layout)) in layouts.iter().enumerate() {
                split_and_load(
                    &format!("{target} {folder}/types.rdb layout {i}"),
                    &bin,
                    target,
                    &types,
                    arg,
                    layout,
                    &["--db", "0"],
                    work.path(),
                );
            }
        }
    }
}

#[test]
fn keys_of_other_databases_follow_incompatible() {
    let work = tempfile::tempdir().unwrap();
    let input = generated(work.path());
    let out = work.path().join("out");
    // fail (the default): every db-1 key listed, nothing written, exit 2.
    let (code, doc) = split(&input, &out, "redis-7.0", "3", &[]);
    assert_eq!(code, 2, "{doc:#}");
    let refused = doc["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 20);
    assert!(
        refused
            .iter()
            .all(|r| r["db"] == 1 && r["what"].as_str().unwrap().contains("only database 0"))
    );
    assert_eq!(doc["written"], false);
    assert!(!out.exists(), "the directory it created is removed");
    // skip-key: written without them, listed, exit 1.
    let (code, doc) = split(
        &input,
        &out,
        "redis-7.0",
        "3",
        &["--incompatible", "skip-key"],
    );
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["skipped"].as_array().unwrap().len(), 20);
    assert_eq!(doc["keys_out"], 6000);
    let n: usize = (0..3)
        .map(|i| read_keys(&out.join(format!("node{i}.rdb"))).len())
        .sum();
    assert_eq!(n, 6000);
    // An output that exists needs --force.
    let (code, _) = split(&input, &out, "redis-7.0", "3", &["--db", "0"]);
    assert_ne!(code, 0);
    // --db-map 1=0 moves them (no name collides): every key written.
    let (code, doc) = split(
        &input,
        &out,
        "redis-7.0",
        "3",
        &["--db-map", "1=0", "--force"],
    );
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["keys_out"], 6020);
    let all: BTreeSet<Vec<u8>> = (0..3)
        .flat_map(|i| read_keys(&out.join(format!("node{i}.rdb"))))
        .map(|(db, k)| {
            assert_eq!(db, 0);
            k
        })
        .collect();
    assert_eq!(all.len(), 6020);
    assert!(all.contains(b"db1:7".as_slice()));
}

/// A damaged input in the middle of a split (issue 17): nothing this run
/// created is left, neither the output directory (with the parents it made)
/// nor a node's file or temporary, also when an earlier input was read whole;
/// a directory that existed before stays, empty.
#[test]
fn damaged_input_leaves_nothing_behind() {
    let work = tempfile::tempdir().unwrap();
    let input = generated(work.path());
    let bytes = std::fs::read(&input).unwrap();
    let damaged = work.path().join("damaged.rdb");
    // Half the file: thousands of keys reach the node writers first.
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    let listing = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let run = |inputs: &[&Path], out: &Path, layout: &str| {
        let mut args = vec!["rewrite"];
        args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
        args.extend([
            "-o",
            out.to_str().unwrap(),
            "--target",
            "redis-7.0",
            "--split-by-slot",
            layout,
            "--db",
            "0",
            "--duplicates",
            "first",
        ]);
        common::run(&args)
    };
    let conf = work.path().join("layout").join("nodes.conf");
    std::fs::create_dir(conf.parent().unwrap()).unwrap();
    std::fs::write(&conf, RAGGED_NODES_CONF).unwrap();
    let before_layout = listing(conf.parent().unwrap());
    let before = listing(work.path());
    for (what, inputs, layout) in [
        ("damaged alone, 3 nodes", vec![damaged.as_path()], "3"),
        (
            "whole input then damaged, 5 nodes",
            vec![input.as_path(), damaged.as_path()],
            "5",
        ),
        (
            "damaged, nodes.conf",
            vec![damaged.as_path()],
            conf.to_str().unwrap(),
        ),
    ] {
        // A new directory two levels down: both levels go.
        let out = work.path().join("new").join("shards");
        let o = run(&inputs, &out, layout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(0), "{what}: {stderr}");
        assert!(stderr.contains("nothing was written"), "{what}: {stderr}");
        assert_eq!(listing(work.path()), before, "{what}: left behind");
        assert_eq!(listing(conf.parent().unwrap()), before_layout, "{what}");
        // An existing empty directory stays, empty.
        let existing = work.path().join("existing");
        std::fs::create_dir(&existing).unwrap();
        let o = run(&inputs, &existing, layout);
        assert_ne!(o.status.code(), Some(0), "{what}");
        assert!(existing.is_dir(), "{what}");
        assert!(
            listing(&existing).is_empty(),
            "{what}: {:?}",
            listing(&existing)
        );
        std::fs::remove_dir(&existing).unwrap();
    }
    // The same whole input is written (the directories are kept).
    let out = work.path().join("new").join("shards");
    let o = run(&[input.as_path()], &out, "3");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(listing(&out), ["node0.rdb", "node1.rdb", "node2.rdb"]);
}
