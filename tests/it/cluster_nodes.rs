//! `redis_persist::cluster` against real cluster nodes (issue 17's slot split
//! needs the server's own hashing and layouts), the cluster-node test helper
//! of `tests/common/cluster.rs`, and the Redis 6.0 / 6.2 servers of
//! `tests/common/servers_py.rs`:
//!
//! * `key_slot_matches_cluster_keyslot`: [`key_slot`] equals `CLUSTER
//!   KEYSLOT` of Redis 6.0, 7.0 and Valkey 9 for thousands of keys (hash
//!   tags, empty tags, unbalanced braces, binary bytes, the empty key);
//! * `layout_from_real_nodes_conf_and_shards`: a 3-node cluster with ragged
//!   ranges, single slots and a migrating / importing slot; its `nodes.conf`
//!   and its `CLUSTER SHARDS` (`redis-cli --json`, RESP3 and RESP2) parse to
//!   the slots assigned;
//! * `equal_layout_matches_redis_cli_cluster_create`: [`Layout::equal`] gives
//!   what `redis-cli --cluster create` assigns to 3 and 5 masters;
//! * `cluster_nodes_hold_their_slots_keys`: per-node RDBs loaded by real
//!   nodes pass the helper's check, and a node given another node's file
//!   takes those slots (the check names them);
//! * `keys_of_another_nodes_slots_are_imported_or_deleted`: a node whose
//!   `nodes.conf` gives a key's slot to another master loads the key and
//!   marks the slot importing (6.x, 7.0, 8.0), or deletes the key ("Deleting
//!   keys in the slot": Redis 8.6, Valkey 8.1 / 9.1), so a split file must
//!   hold exactly its node's slots;
//! * `cluster_node_refuses_other_databases`: an RDB with keys in db 1 makes
//!   every server fail to start in cluster mode: 6.x loads it and exits ("You
//!   can't have keys in a DB different than DB 0 when in Cluster mode"),
//!   Redis 8 and Valkey 8.1 / 9.1 refuse it ("FATAL: Data file was created
//!   with a ... server configured to handle more than 1 databases"), and
//!   Redis 7.0.15 crashes (SIGSEGV in `slotToKeyAddEntry`); with db 0 alone
//!   the node starts and takes the slots of its keys; Valkey 9 started with
//!   `--cluster-databases 16` loads db 1;
//! * `cluster_node_rdb_records`: what a cluster node's `SAVE` writes beyond
//!   a plain server's file: per-slot records before each slot's keys (opcode
//!   `SLOT_INFO` on Redis 8, aux `slot-info` on Valkey 8.1 / 9.1, nothing on
//!   6.x / 7.0), keys in slot order where those are written, and an empty aux
//!   `cluster-asm-task` on Redis 8.6;
//! * `py_servers_load_the_corpus`: Redis 6.0.9 and 6.2.14 load every RDB of
//!   their corpus folder (but `expired.rdb`) with the keys and types of its
//!   `expected*.json` and the `DEBUG DIGEST` Redis 7.0 computes for the same
//!   file, and a cluster node of theirs loads `cluster.rdb`.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::cluster::{Cluster, ClusterNode, resp};
use common::expected::bytes_of;
use common::servers::server_bin;
use common::{RedisServer, Reply, Rng, redis_server_bin, redis_tool};
use redis_persist::cluster::{Layout, key_slot};

/// Every server at hand: Debian's Redis 7.0, Redis 6.0.9 / 6.2.14 (`PyPI`),
/// and those of `../shared/servers`; missing ones fail under `CI=true`.
fn all_servers() -> Vec<(String, PathBuf)> {
    let mut bins: Vec<(String, PathBuf)> = redis_server_bin()
        .map(|b| ("redis-7.0".to_string(), b))
        .into_iter()
        .collect();
    for v in common::servers_py::VERSIONS
        .iter()
        .chain(&common::servers::VERSIONS)
    {
        if let Some(b) = server_bin(v) {
            bins.push(((*v).to_string(), b));
        }
    }
    bins
}

/// The keys of the sweep: edge cases, then random keys rich in braces.
fn sweep_keys(n: usize) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = [
        &b""[..],
        b"foo",
        b"{",
        b"}",
        b"{}",
        b"}{",
        b"{}foo",
        b"foo{}",
        b"{a",
        b"a}",
        b"{{}}",
        b"{{a}}",
        b"a{b}{c}",
        b"{}{c}",
        b"{user1000}.following",
        b"{user1000}.followers",
        b"\x00",
        b"\xff\xfe{\x00}",
        b"{\x00\x00}x",
        b"123456789",
    ]
    .iter()
    .map(|k| k.to_vec())
    .collect();
    let mut rng = Rng(0x5107_c0de);
    let alphabet = b"{}{}ab\x00\xff";
    let mut seen: std::collections::HashSet<Vec<u8>> = keys.iter().cloned().collect();
    while keys.len() < n {
        let len = rng.below(24) as usize;
        let key: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(3) == 0 {
                    alphabet[rng.below(alphabet.len() as u64) as usize]
                } else {
                    rng.below(256) as u8
                }
            })
            .collect();
        if seen.insert(key.clone()) {
            keys.push(key);
        }
    }
    keys
}

#[test]
fn key_slot_matches_cluster_keyslot() {
    let Some(debian) = redis_server_bin() else {
        return;
    };
    let mut bins = vec![("redis-7.0", debian)];
    for v in ["redis-6.0.9", "valkey-9.1.2"] {
        if let Some(b) = server_bin(v) {
            bins.push((v, b));
        }
    }
    let keys = sweep_keys(5000);
    assert!(keys.iter().filter(|k| k.contains(&b'{')).count() > 1000);
    for (version, bin) in bins {
        let mut node = ClusterNode::start(&bin, None);
        let raw: Vec<u8> = keys
            .iter()
            .flat_map(|k| resp(&[&b"CLUSTER"[..], b"KEYSLOT", k]))
            .collect();
        let replies = node.server.pipe_all(&raw);
        assert_eq!(replies.len(), keys.len());
        let wrong: Vec<String> = keys
            .iter()
            .zip(&replies)
            .filter(|(k, r)| i64::from(key_slot(k)) != r.int())
            .map(|(k, r)| format!("{k:?}: ours {}, server {r:?}", key_slot(k)))
            .collect();
        assert!(wrong.is_empty(), "{version}: {wrong:?}");
    }
    assert_eq!(key_slot(b"foo"), 12182);
    assert_eq!(key_slot(b""), 0);
}

/// The layout of the parsing test: ragged ranges and single slots.
fn ragged_ranges() -> [Vec<std::ops::RangeInclusive<u16>>; 3] {
    [
        vec![0..=100, 102..=102, 10000..=16383],
        vec![101..=101, 103..=4999],
        vec![5000..=9999],
    ]
}

/// `redis-cli --json CLUSTER SHARDS` (with `-2`: RESP2) against `port`.
fn shards_json(port: u16, resp2: bool) -> String {
    let cli = redis_tool("redis-cli").expect("redis-cli");
    let mut cmd = Command::new(cli);
    cmd.args(["-p", &port.to_string()]);
    if resp2 {
        cmd.arg("-2");
    }
    let out = cmd.args(["--json", "CLUSTER", "SHARDS"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn ranges_by_id(layout: &Layout) -> BTreeMap<String, Vec<std::ops::RangeInclusive<u16>>> {
    layout
        .nodes()
        .iter()
        .map(|n| (n.id.clone(), n.ranges.clone()))
        .collect()
}

#[test]
fn layout_from_real_nodes_conf_and_shards() {
    for (version, bin) in all_servers() {
        layout_from_nodes_conf_and_shards(&version, &bin);
    }
}

/// [`layout_from_real_nodes_conf_and_shards`] for one server (6.x has no
/// `CLUSTER SHARDS`).
fn layout_from_nodes_conf_and_shards(version: &str, bin: &Path) {
    let bin = bin.to_path_buf();
    let mut cluster = Cluster { nodes: Vec::new() };
    let mut want = BTreeMap::new();
    for ranges in ragged_ranges() {
        let mut node = ClusterNode::start(&bin, None);
        node.assign(&ranges).unwrap();
        node.check(&ranges).unwrap();
        want.insert(node.id.clone(), ranges);
        cluster.nodes.push(node);
    }
    cluster.join().unwrap();
    // A slot in migration: `[5->-id]` on the source, `[5-<-id]` on the target.
    let (src, dst) = (cluster.nodes[0].id.clone(), cluster.nodes[1].id.clone());
    let r = cluster.nodes[0]
        .server
        .cmd(&["CLUSTER", "SETSLOT", "5", "MIGRATING", &dst]);
    assert_eq!(r, Reply::Status("OK".into()));
    let r = cluster.nodes[1]
        .server
        .cmd(&["CLUSTER", "SETSLOT", "5", "IMPORTING", &src]);
    assert_eq!(r, Reply::Status("OK".into()));
    for (i, node) in cluster.nodes.iter_mut().enumerate() {
        let conf = node.nodes_conf();
        if i < 2 {
            assert!(conf.contains("[5-"), "{conf}");
        }
        assert!(
            conf.contains("\nvars ") || conf.starts_with("vars "),
            "{conf}"
        );
        let layout =
            Layout::from_nodes_conf(&conf).unwrap_or_else(|e| panic!("{version}: {e}\n{conf}"));
        assert_eq!(ranges_by_id(&layout), want, "{version}: {conf}");
        assert_eq!(layout.nodes().len(), 3);
        for n in layout.nodes() {
            assert!(
                n.addr.as_deref().unwrap().starts_with("127.0.0.1:"),
                "{n:?}"
            );
        }
        // CLUSTER NODES prints the same lines.
        let text = String::from_utf8(node.server.cmd(&["CLUSTER", "NODES"]).bytes()).unwrap();
        assert_eq!(ranges_by_id(&Layout::from_nodes_conf(&text).unwrap()), want);
    }
    let port = cluster.nodes[2].server.port;
    let shards = if version.starts_with("redis-6.") {
        vec![]
    } else {
        vec![false, true]
    };
    for resp2 in shards {
        let json = shards_json(port, resp2);
        let layout = Layout::from_shards_json(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
        assert_eq!(ranges_by_id(&layout), want, "{json}");
        for n in layout.nodes() {
            let port = n.addr.as_deref().unwrap().rsplit(':').next().unwrap();
            let owner = cluster
                .nodes
                .iter()
                .find(|c| c.id == n.id)
                .expect("a node of ours");
            assert_eq!(port, owner.server.port.to_string());
        }
    }
    // Every slot's owner as the servers say.
    let layout = Layout::from_nodes_conf(&cluster.nodes[0].nodes_conf()).unwrap();
    for key in sweep_keys(300) {
        let owner = &layout.nodes()[layout.node_of_key(&key)].id;
        let slot = key_slot(&key);
        let node = cluster.nodes.iter().find(|n| &n.id == owner).unwrap();
        assert!(want[&node.id].iter().any(|r| r.contains(&slot)));
    }
}

#[test]
fn equal_layout_matches_redis_cli_cluster_create() {
    let (Some(bin), Some(cli)) = (redis_server_bin(), redis_tool("redis-cli")) else {
        return;
    };
    for n in [3, 5, 7] {
        let nodes: Vec<ClusterNode> = (0..n).map(|_| ClusterNode::start(&bin, None)).collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|c| format!("127.0.0.1:{}", c.server.port))
            .collect();
        let out = Command::new(&cli)
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let json = shards_json(nodes[0].server.port, false);
        let got = Layout::from_shards_json(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
        let by_addr: BTreeMap<&str, &Vec<_>> = got
            .nodes()
            .iter()
            .map(|n| (n.addr.as_deref().unwrap(), &n.ranges))
            .collect();
        let want = Layout::equal(n).unwrap();
        for (addr, node) in addrs.iter().zip(want.nodes()) {
            assert_eq!(
                by_addr[addr.as_str()],
                &node.ranges,
                "{n} nodes, {addr}: {json}"
            );
        }
    }
}

/// An RDB saved by `bin` (not a cluster node) holding `keys` in db 0 (a
/// string, and a hash / list / set / zset for every tenth key) and
/// `other_db` keys in db 1.
fn saved_rdb(bin: &Path, keys: &[Vec<u8>], other_db: &[&str]) -> (RedisServer, PathBuf) {
    let mut s = RedisServer::start_bin(bin, &["--dbfilename", "dump.rdb"], &[]);
    let mut raw = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let cmd: Vec<&[u8]> = match i % 10 {
            1 => vec![b"HSET", k, b"f", b"v"],
            2 => vec![b"RPUSH", k, b"a", b"b"],
            3 => vec![b"SADD", k, b"m"],
            4 => vec![b"ZADD", k, b"1.5", b"m"],
            _ => vec![b"SET", k, b"value"],
        };
        raw.extend(resp(&cmd));
    }
    for r in s.pipe_all(&raw) {
        assert!(!matches!(r, Reply::Error(_)), "{r:?}");
    }
    if !other_db.is_empty() {
        s.cmd(&["SELECT", "1"]);
        for k in other_db {
            assert_eq!(s.cmd(&["SET", k, "x"]), Reply::Status("OK".into()));
        }
        s.cmd(&["SELECT", "0"]);
    }
    let path = s.save();
    (s, path)
}

#[test]
fn cluster_nodes_hold_their_slots_keys() {
    for (version, bin) in all_servers() {
        hold_their_slots_keys(&version, &bin);
    }
}

/// [`cluster_nodes_hold_their_slots_keys`] for one server.
fn hold_their_slots_keys(version: &str, bin: &Path) {
    let bin = bin.to_path_buf();
    let layout = Layout::equal(3).unwrap();
    let keys = sweep_keys(3000);
    let mut per_node: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 3];
    for k in keys {
        per_node[layout.node_of_key(&k)].push(k);
    }
    let saved: Vec<(RedisServer, PathBuf)> = per_node
        .iter()
        .map(|keys| saved_rdb(&bin, keys, &[]))
        .collect();
    let rdbs: Vec<Option<&Path>> = saved.iter().map(|(_, p)| Some(p.as_path())).collect();
    let (mut cluster, found) =
        Cluster::start(&bin, &layout, &rdbs).unwrap_or_else(|e| panic!("{version}: {e}"));
    for (i, (node_keys, want)) in found.iter().zip(&mut per_node).enumerate() {
        want.sort();
        want.dedup();
        assert_eq!(&node_keys.keys, want, "{version} node {i}");
        assert!(node_keys.slots_with_keys > 100);
    }
    // A node serves its keys once its state is ok, and the cluster forms.
    cluster.nodes[2].wait_ok().unwrap();
    for k in &per_node[2] {
        assert_eq!(
            cluster.nodes[2].server.cmd(&[&b"EXISTS"[..], k]),
            Reply::Int(1)
        );
    }
    cluster.join().unwrap();

    // Node 0's slots given node 1's file: it loads the keys and takes their
    // (unassigned) slots, which the check reports.
    let mut node = ClusterNode::start(&bin, Some(&saved[1].1));
    let ranges = layout.nodes()[0].ranges.clone();
    node.assign(&ranges).unwrap();
    let err = node.check(&ranges).unwrap_err();
    assert!(err.contains("owns slots") && err.contains("5461"), "{err}");
    assert!(
        node.server
            .log()
            .contains("I have keys for unassigned slot"),
        "{}",
        node.server.log()
    );
    assert_eq!(node.server.cmd(&["DBSIZE"]).int(), per_node[1].len() as i64);
}

#[test]
fn cluster_node_refuses_other_databases() {
    let bins = all_servers();
    for (version, bin) in bins {
        // The file is saved by the same server, so that it can read it.
        let (_saver, rdb) = saved_rdb(&bin, &[b"foo".to_vec()], &["bar"]);
        let started = ClusterNode::try_start(&bin, Some(&rdb), &[]);
        let Err(log) = started else {
            panic!("{version} started in cluster mode with keys in db 1");
        };
        // 6.x loads the file, then exits; 8.x and Valkey refuse at the
        // SELECTDB (1 database in cluster mode); 7.0 crashes in the load.
        let outcome = if log.contains("You can't have keys in a DB different than DB 0") {
            "exits after loading"
        } else if log.contains("configured to handle more than 1 databases") {
            "refuses"
        } else if log.contains("exited (signal: 11") {
            "crashes"
        } else {
            panic!("{version}: neither refused nor crashed:\n{log}")
        };
        let want = match version.as_str() {
            "redis-7.0" => "crashes",
            v if v.starts_with("redis-6.") => "exits after loading",
            _ => "refuses",
        };
        assert_eq!(outcome, want, "{version}:\n{log}");
        // With db 0 alone, it starts and takes the key's slot.
        let (_saver, rdb) = saved_rdb(&bin, &[b"foo".to_vec()], &[]);
        let mut node = ClusterNode::try_start(&bin, Some(&rdb), &[]).unwrap();
        assert_eq!(node.owned(), [12182..=12182], "{version}");
        // Valkey 9 with several cluster databases loads db 1 too.
        if version == "valkey-9.1.2" {
            let (_saver, rdb) = saved_rdb(&bin, &[b"foo".to_vec()], &["bar"]);
            let mut node =
                ClusterNode::try_start(&bin, Some(&rdb), &["--cluster-databases", "16"]).unwrap();
            assert_eq!(
                node.server.cmd(&["SELECT", "1"]),
                Reply::Status("OK".into())
            );
            assert_eq!(node.server.cmd(&["DBSIZE"]).int(), 1);
        }
    }
}

#[test]
fn py_servers_load_the_corpus() {
    let (Some(corpus), Some(debian)) = (common::corpus(), redis_server_bin()) else {
        return;
    };
    for (version, folder) in [("6.0.9", "redis-6.0.9"), ("6.2", "redis-6.2.14")] {
        let Some(bin) = server_bin(version) else {
            continue;
        };
        let out = Command::new(&bin).arg("--version").output().unwrap();
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        let want_version = if version == "6.2" { "6.2.14" } else { version };
        assert!(line.contains(&format!("v={want_version} ")), "{line}");
        let dir = corpus.join(folder);
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let mut files = 0;
        for (name, d) in manifest["datasets"].as_object().unwrap() {
            // Expired keys are dropped by the loader: not the expected file.
            if d["kind"] != "rdb" || name == "expired.rdb" {
                continue;
            }
            let expected = dir.join(d["expected"].as_str().unwrap());
            load_corpus_file(version, &bin, &debian, &dir.join(name), &expected);
            files += 1;
        }
        assert_eq!(files, 7, "{version}");
        // The single-node cluster's file, loaded by a cluster node of the
        // same version owning every slot.
        let layout = Layout::equal(1).unwrap();
        let cluster_rdb = dir.join("cluster.rdb");
        let (_, keys) = Cluster::start(&bin, &layout, &[Some(&cluster_rdb)])
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected-cluster.json")).unwrap())
                .unwrap();
        assert_eq!(
            keys[0].keys.len(),
            doc["dbs"]["0"].as_object().unwrap().len(),
            "{version}"
        );
    }
}

/// Loads the corpus file `rdb` into the `version` server `bin` and checks
/// its key counts and types against `expected`, and its `DEBUG DIGEST`
/// against Redis 7.0's (`debian`) for the same file.
fn load_corpus_file(version: &str, bin: &Path, debian: &Path, rdb: &Path, expected: &Path) {
    let what = format!("{version} {}", rdb.display());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(expected).unwrap()).unwrap();
    let mut s = RedisServer::start_bin(bin, &["--dbfilename", "dump.rdb"], &[(rdb, "dump.rdb")]);
    let mut keys_seen = 0;
    for (db, keys) in doc["dbs"].as_object().unwrap() {
        assert_eq!(s.cmd(&["SELECT", db]), Reply::Status("OK".into()));
        let keys = keys.as_object().unwrap();
        assert_eq!(
            s.cmd(&["DBSIZE"]).int(),
            keys.len() as i64,
            "{what} db {db}"
        );
        for e in keys.values() {
            let key = bytes_of(&e["key"]);
            let ty = s.cmd(&[&b"TYPE"[..], &key]).bytes();
            assert_eq!(
                String::from_utf8(ty).unwrap(),
                e["type"].as_str().unwrap(),
                "{what} db {db} {:?}",
                e["key"]
            );
            keys_seen += 1;
        }
    }
    assert!(keys_seen >= 20, "{what}: {keys_seen} keys");
    // The same file loaded by Redis 7.0: the same dataset digest.
    let mut reference = RedisServer::start_bin(
        debian,
        &["--dbfilename", "dump.rdb", "--enable-debug-command", "yes"],
        &[(rdb, "dump.rdb")],
    );
    let digest = s.cmd(&["DEBUG", "DIGEST"]).bytes();
    assert_eq!(
        digest,
        reference.cmd(&["DEBUG", "DIGEST"]).bytes(),
        "{what}"
    );
    assert_ne!(digest, vec![b'0'; 40]);
}

/// The records of an RDB file that say where keys and slots are: header,
/// aux fields (values of `slot-info` only), `SELECTDB`, `RESIZEDB`,
/// `SLOT_INFO` and key names, one line each.
fn record_trace(bytes: &[u8]) -> Vec<String> {
    use redis_persist::io::{Memory, Source};
    use redis_persist::rdb::{Event, Reader};
    let mut r = Reader::new(Source::new(Memory(bytes)).with_size(bytes.len() as u64));
    let mut out = Vec::new();
    while let Some(ev) = r.next_event().unwrap() {
        match ev {
            Event::Header { format, version } => out.push(format!("header {format:?} {version}")),
            Event::Aux { name, value } if name == b"slot-info" => {
                out.push(format!("aux slot-info={}", String::from_utf8_lossy(value)));
            }
            Event::Aux { name, .. } => out.push(format!("aux {}", String::from_utf8_lossy(name))),
            Event::SelectDb { db } => out.push(format!("selectdb {db}")),
            Event::ResizeDb { keys, expires } => out.push(format!("resizedb {keys} {expires}")),
            Event::SlotInfo {
                slot,
                keys,
                expires,
            } => out.push(format!("slot_info {slot} {keys} {expires}")),
            Event::KeyStart(k) => out.push(format!("key {}", String::from_utf8_lossy(k.key))),
            _ => {}
        }
    }
    out
}

#[test]
fn cluster_node_rdb_records() {
    let bins = all_servers();
    let keys = [
        ("foo", false),
        ("bar", true),
        ("{a}1", false),
        ("{a}2", true),
    ];
    for (version, bin) in bins {
        let mut node = ClusterNode::start(&bin, None);
        node.assign(&[0..=16383]).unwrap();
        node.wait_ok().unwrap();
        let mut plain = RedisServer::start_bin(&bin, &["--dbfilename", "dump.rdb"], &[]);
        for s in [&mut node.server, &mut plain] {
            for (k, ttl) in keys {
                assert_eq!(s.cmd(&["SET", k, "v"]), Reply::Status("OK".into()));
                if ttl {
                    assert_eq!(s.cmd(&["PEXPIRE", k, "100000000"]), Reply::Int(1));
                }
            }
        }
        let cluster = record_trace(&std::fs::read(node.server.save()).unwrap());
        let plain = record_trace(&std::fs::read(plain.save()).unwrap());
        let context = format!("{version}:\n  {}", cluster.join("\n  "));
        // The aux fields of a cluster node: those of a plain server, plus an
        // empty `cluster-asm-task` on Redis 8.6 (before SELECTDB).
        let aux_names = |t: &[String]| -> Vec<String> {
            t.iter()
                .filter(|l| l.starts_with("aux ") && !l.starts_with("aux slot-info"))
                .cloned()
                .collect()
        };
        let mut want_aux = aux_names(&plain);
        if version == "redis-8.6.3" {
            want_aux.push("aux cluster-asm-task".into());
        }
        assert_eq!(aux_names(&cluster), want_aux, "{context}");
        // Per-slot records before each slot's keys: opcode SLOT_INFO on Redis
        // 8 (RDB 12+), aux `slot-info` on Valkey (3 numbers on 8.1, 4 on 9.1,
        // the last one keys with volatile fields); none on 6.x / 7.0. Where
        // they are written, the keys come in ascending slot order.
        let body: Vec<&String> = cluster
            .iter()
            .skip_while(|l| !l.starts_with("resizedb"))
            .skip(1)
            .collect();
        let mut marker: Option<(u16, usize, usize)> = None; // slot, keys, seen
        let mut markers = 0;
        let mut key_slots = Vec::new();
        for line in &body {
            let numbers = |text: &str, sep: char| -> Vec<usize> {
                text.split(sep).map(|n| n.parse().unwrap()).collect()
            };
            let record = if let Some(r) = line.strip_prefix("slot_info ") {
                Some((numbers(r, ' '), "opcode"))
            } else {
                line.strip_prefix("aux slot-info=")
                    .map(|r| (numbers(r, ','), "aux"))
            };
            if let Some((n, kind)) = record {
                let want_kind = if version.starts_with("valkey") {
                    "aux"
                } else {
                    "opcode"
                };
                assert_eq!(kind, want_kind, "{context}");
                let want_len = if version == "valkey-9.1.2" { 4 } else { 3 };
                assert_eq!(n.len(), want_len, "{context}");
                if let Some((_, k, seen)) = marker {
                    assert_eq!(k, seen, "{context}");
                }
                let slot = n[0] as u16;
                let (count, expires) = (n[1], n[2]);
                let want_expires = keys
                    .iter()
                    .filter(|(k, ttl)| *ttl && key_slot(k.as_bytes()) == slot)
                    .count();
                assert_eq!(expires, want_expires, "{context}");
                marker = Some((slot, count, 0));
                markers += 1;
            } else if let Some(k) = line.strip_prefix("key ") {
                let slot = key_slot(k.as_bytes());
                key_slots.push(slot);
                if let Some((m, _, seen)) = &mut marker {
                    assert_eq!(*m, slot, "{context}");
                    *seen += 1;
                }
            }
        }
        let want_markers = match version.as_str() {
            "redis-7.0" | "redis-6.0.9" | "redis-6.2" => 0,
            _ => 3,
        };
        assert_eq!(markers, want_markers, "{context}");
        assert_eq!(key_slots.len(), 4, "{context}");
        if markers > 0 {
            assert!(key_slots.is_sorted(), "{context}");
        }
    }
}

#[test]
fn keys_of_another_nodes_slots_are_imported_or_deleted() {
    // A node whose nodes.conf gives slots 5001-16383 to another master, and
    // an RDB with "bar" (5061) and "foo" (12182): up to Redis 8.0 the keys
    // are loaded and their slots set importing from that master; Redis 8.6
    // and Valkey 8.1 / 9.1 delete them after the load.
    for (version, bin) in all_servers() {
        let (_saver, rdb) = saved_rdb(&bin, &[b"foo".to_vec(), b"bar".to_vec()], &[]);
        let other = "2".repeat(40);
        let conf = format!(
            "{} 127.0.0.1:1@2 myself,master - 0 0 1 connected 0-5000\n\
             {other} 127.0.0.1:3@4 master - 0 0 2 connected 5001-16383\n\
             vars currentEpoch 2 lastVoteEpoch 0\n",
            "1".repeat(40)
        );
        let tmp = tempfile::tempdir().unwrap();
        let conf_path = tmp.path().join("nodes.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut server = RedisServer::start_bin(
            &bin,
            &common::cluster::CLUSTER_ARGS,
            &[(&rdb, "dump.rdb"), (&conf_path, "nodes.conf")],
        );
        let nodes = String::from_utf8(server.cmd(&["CLUSTER", "NODES"]).bytes()).unwrap();
        let deletes = matches!(
            version.as_str(),
            "redis-8.6.3" | "valkey-8.1.1" | "valkey-9.1.2"
        );
        if deletes {
            assert_eq!(server.cmd(&["DBSIZE"]).int(), 0, "{version}");
            let log = server.log();
            assert!(
                log.contains("but the slot is assigned to another node. Deleting keys in the slot"),
                "{version}:\n{log}"
            );
        } else {
            assert_eq!(server.cmd(&["DBSIZE"]).int(), 2, "{version}");
            for slot in [5061, 12182] {
                assert!(
                    nodes.contains(&format!("[{slot}-<-{other}]")),
                    "{version}:\n{nodes}"
                );
            }
        }
        let layout = Layout::from_nodes_conf(&nodes).unwrap();
        assert_eq!(layout.nodes()[layout.node_of(12182)].id, other);
    }
}
