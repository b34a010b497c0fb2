//! `dump` against real data: the corpus files read back through JSON Lines equal
//! their `expected*.json`; the RESP output piped into a real `redis-server` 7.0
//! (with `redis-cli --pipe`) recreates exactly that dataset; binary keys and
//! values generated with a live server round-trip byte for byte; filters agree
//! with the server's own `KEYS`; closed pipes, truncated and corrupt files, `-o`
//! and large (parallel) inputs behave as documented.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::expected::{self, Canon};
use common::{RedisServer, Reply};
use serde_json::{Value as J, json};

type Dbs = BTreeMap<u64, BTreeMap<String, J>>;

// ---------------------------------------------------------------------------
// Helpers

fn dump(args: &[&str]) -> Output {
    common::bin()
        .arg("dump")
        .args(args)
        .output()
        .expect("running redis-persist dump")
}

fn dump_ok(args: &[&str]) -> Vec<u8> {
    let out = dump(args);
    assert!(
        out.status.success(),
        "dump {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn load_json(p: &Path) -> J {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The JSON records of a JSON Lines dump.
fn records(stdout: &[u8]) -> Vec<J> {
    stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l)
                .unwrap_or_else(|e| panic!("bad JSON line {}: {e}", String::from_utf8_lossy(l)))
        })
        .collect()
}

/// Key records in the canonical comparison form, by db and key.
fn canon_records(recs: &[J], c: Canon) -> Dbs {
    let mut dbs = Dbs::new();
    for r in recs.iter().filter(|r| r.get("record").is_none()) {
        let db = r["db"].as_u64().unwrap();
        let k = expected::key_form(&expected::bytes_of(&r["key"]));
        let prev = dbs
            .entry(db)
            .or_default()
            .insert(k.clone(), expected::canon_expected(r, c));
        assert!(prev.is_none(), "duplicate record for {k}");
    }
    dbs
}

fn assert_same(want: &Dbs, got: &Dbs, what: &str) {
    let diffs = expected::diff_dbs(want, got);
    assert!(
        diffs.is_empty(),
        "{what}: {} differences:\n{}",
        diffs.len(),
        diffs[..diffs.len().min(12)].join("\n")
    );
}

/// Corpus folders whose files Redis 7.0 loads (RDB 9 and 10).
fn loadable_by_7_0(dir: &Path) -> bool {
    load_json(&dir.join("expected.json"))["rdb_version"]
        .as_u64()
        .unwrap()
        <= 10
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A flat RESP2 map reply (`[k1, v1, k2, v2, …]`) as (name, value) pairs.
fn flat_map(r: &Reply) -> BTreeMap<String, Reply> {
    let items = r.array();
    items
        .chunks(2)
        .map(|p| (s(&p[0].bytes()), p[1].clone()))
        .collect()
}

/// Reads a live server's whole dataset in the canonical form (consumer seen and
/// active times left out: commands cannot set them).
fn server_dataset(srv: &mut RedisServer) -> Dbs {
    common::live::dataset(
        srv,
        common::live::LiveOptions {
            ignore_consumer_times: true,
        },
    )
}

/// Sets to null, in `got`, the stream fields that `want` has as null: fields the
/// source version does not record (RDB 9 has no first id, max deleted id,
/// entries added or entries read), which a 7.0 server computes by itself.
fn mask_unrecorded(want: &Dbs, got: &mut Dbs) {
    for (db, keys) in want {
        for (k, w) in keys {
            let Some(g) = got.get_mut(db).and_then(|m| m.get_mut(k)) else {
                continue;
            };
            if w["type"] != "stream" {
                continue;
            }
            for f in ["first_id", "max_deleted_entry_id", "entries_added"] {
                if w["value"][f].is_null() {
                    g["value"][f] = J::Null;
                }
            }
            let wg = w["value"]["groups"].as_array().unwrap();
            if let Some(gg) = g["value"]["groups"].as_array_mut() {
                for (a, b) in wg.iter().zip(gg.iter_mut()) {
                    if a["entries_read"].is_null() {
                        b["entries_read"] = J::Null;
                    }
                }
            }
        }
    }
}

/// Pipes `resp` into the server with `redis-cli --pipe`; asserts no error.
fn redis_cli_pipe(srv: &RedisServer, resp: &[u8]) {
    let cli = common::which("redis-cli").expect("redis-cli is installed with redis-server");
    let mut child = Command::new(cli)
        .args(["-p", &srv.port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = resp.to_vec();
    let writer = std::thread::spawn(move || {
        stdin.write_all(&data).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let text = s(&out.stdout);
    assert!(
        out.status.success() && text.contains("errors: 0,"),
        "redis-cli --pipe reported errors:\n{text}\n{}",
        s(&out.stderr)
    );
}

/// Starts a server that does not save on shutdown.
fn fresh_server() -> Option<RedisServer> {
    RedisServer::start_with(&["--enable-debug-command", "yes"], &[])
}

// ---------------------------------------------------------------------------
// Corpus: JSON Lines equal expected*.json

fn check_jsonl(path: &Path, expected_file: &Path, c: Canon) -> Vec<J> {
    check_jsonl_doc(path, &load_json(expected_file), c)
}

fn check_jsonl_doc(path: &Path, doc: &J, c: Canon) -> Vec<J> {
    let out = dump_ok(&[path.to_str().unwrap(), "--meta"]);
    let recs = records(&out);
    let want = expected::expected_dbs(doc, c);
    let got = canon_records(&recs, c);
    assert_same(&want, &got, &path.display().to_string());
    recs
}

#[test]
fn jsonl_of_every_corpus_rdb_equals_expected() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut checked = 0;
    for dir in common::corpus_version_dirs(&corpus) {
        let exp = load_json(&dir.join("expected.json"));
        let per_file = &exp["per_file"];
        for name in [
            "types.rdb",
            "types-nocompress.rdb",
            "types-nochecksum.rdb",
            "types-lfu.rdb",
            "types-lru.rdb",
            "types-repl.rdb",
        ] {
            let path = dir.join(name);
            let recs = check_jsonl(&path, &dir.join("expected.json"), Canon::default());
            let meta = |kind: &str| -> Vec<&J> {
                recs.iter().filter(|r| r["record"] == json!(kind)).collect()
            };
            // File-level records.
            let header = meta("header");
            assert_eq!(header.len(), 1, "{}", path.display());
            assert_eq!(header[0]["rdb_version"], exp["rdb_version"]);
            let eof = meta("eof");
            assert_eq!(
                eof[0]["checksum"],
                json!(if name == "types-nochecksum.rdb" {
                    "disabled"
                } else {
                    "ok"
                })
            );
            let ver_aux = if exp["server"] == "valkey" {
                "valkey-ver"
            } else {
                "redis-ver"
            };
            assert!(
                meta("aux")
                    .iter()
                    .any(|a| a["name"] == ver_aux && a["value"] == exp["version"]),
                "{}: {ver_aux} aux record",
                path.display()
            );
            let mut want_funcs: Vec<String> = exp["functions"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .map(|x| x["code"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            let mut got_funcs: Vec<String> = meta("function")
                .iter()
                .map(|f| f["code"].as_str().unwrap().to_string())
                .collect();
            want_funcs.sort();
            got_funcs.sort();
            assert_eq!(want_funcs, got_funcs, "{}: functions", path.display());
            // LFU counters and LRU idle times.
            let key_recs = || {
                recs.iter()
                    .filter(|r| r.get("record").is_none() && r["db"] == 0)
            };
            if name == "types-lfu.rdb" {
                let want: BTreeMap<String, u64> =
                    serde_json::from_value(per_file[name]["lfu_freq"]["0"].clone()).unwrap();
                let got: BTreeMap<String, u64> = key_recs()
                    .map(|r| {
                        (
                            expected::key_form(&expected::bytes_of(&r["key"])),
                            r["lfu_freq"].as_u64().unwrap(),
                        )
                    })
                    .collect();
                assert_eq!(want, got, "{}: LFU", path.display());
            }
            if name == "types-lru.rdb" {
                let want: BTreeMap<String, u64> =
                    serde_json::from_value(per_file[name]["lru_idle_s"]["0"].clone()).unwrap();
                let got: BTreeMap<String, u64> = key_recs()
                    .map(|r| {
                        (
                            expected::key_form(&expected::bytes_of(&r["key"])),
                            r["lru_idle_s"].as_u64().unwrap(),
                        )
                    })
                    .collect();
                assert_eq!(want, got, "{}: LRU", path.display());
            }
            if name == "types.rdb" {
                assert!(
                    key_recs()
                        .all(|r| r.get("lfu_freq").is_none() && r.get("lru_idle_s").is_none())
                );
            }
            checked += 1;
        }
        check_jsonl(
            &dir.join("expired.rdb"),
            &dir.join("expected-expired.json"),
            Canon::default(),
        );
        check_jsonl(
            &dir.join("cluster.rdb"),
            &dir.join("expected-cluster.json"),
            Canon::default(),
        );
        checked += 2;
        // Multi-part base files and the preamble of single-file hybrid AOFs hold
        // the `types` dataset (written by another run: consumer times differ,
        // and so do the keys with server-generated ids, see preamble_base_doc).
        let ignore_times = Canon {
            ignore_consumer_times: true,
        };
        let base_dir = dir.join("aof-preamble");
        if base_dir.is_dir() {
            for e in std::fs::read_dir(&base_dir).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "rdb") {
                    check_jsonl_doc(&p, &expected::preamble_base_doc(&dir), ignore_times);
                    checked += 1;
                }
            }
        }
        let hybrid = dir.join("appendonly-preamble.aof");
        if hybrid.is_file() {
            let out = dump(&[hybrid.to_str().unwrap()]);
            assert!(out.status.success(), "{}", s(&out.stderr));
            let err = s(&out.stderr);
            assert!(
                err.contains("AOF tail was not replayed"),
                "no warning about the AOF tail: {err}"
            );
            let want = expected::expected_dbs(&exp, ignore_times);
            assert_same(
                &want,
                &canon_records(&records(&out.stdout), ignore_times),
                &hybrid.display().to_string(),
            );
            checked += 1;
        }
    }
    assert!(checked >= 70, "checked only {checked} files");
}

/// The same records in one JSON document, with the file-level records as members.
#[test]
fn json_document_holds_the_same_records() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for dir in ["redis-7.0.15", "valkey-8.0.1", "redis-7.4.1"] {
        let path = corpus.join(dir).join("types.rdb");
        let p = path.to_str().unwrap();
        let lines = records(&dump_ok(&[p]));
        let doc: J = serde_json::from_slice(&dump_ok(&[p, "--format", "json"])).unwrap();
        assert_eq!(doc["keys"].as_array().unwrap(), &lines, "{dir}");
        assert_eq!(doc["checksum"], "ok");
        assert_eq!(doc["error"], J::Null);
        assert_eq!(doc["format"], "redis");
        assert!(doc["rdb_version"].as_u64().unwrap() >= 10);
        assert!(!doc["aux"].as_array().unwrap().is_empty());
        assert_eq!(doc["functions"].as_array().unwrap().len(), 2, "{dir}");
        // With filters leaving nothing, still a valid document.
        let empty: J =
            serde_json::from_slice(&dump_ok(&[p, "--format", "json", "--db", "7"])).unwrap();
        assert_eq!(empty["keys"], json!([]));
    }
}

// ---------------------------------------------------------------------------
// Corpus: RESP into a real server equals expected*.json

#[test]
fn resp_of_corpus_files_recreates_the_dataset_in_redis_7_0() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    if common::redis_server_bin().is_none() {
        return;
    }
    let c = Canon {
        ignore_consumer_times: true,
    };
    let mut checked = 0;
    for dir in common::corpus_version_dirs(&corpus) {
        if !loadable_by_7_0(&dir) {
            continue;
        }
        for (file, exp_file) in [
            ("types.rdb", "expected.json"),
            ("types-lfu.rdb", "expected.json"),
            ("types-repl.rdb", "expected.json"),
            ("cluster.rdb", "expected-cluster.json"),
            ("expired.rdb", "expected-expired.json"),
        ] {
            let path = dir.join(file);
            let doc = load_json(&dir.join(exp_file));
            let mut want = expected::expected_dbs(&doc, c);
            // Keys already expired at dump time are not written.
            if let Some(saved) = doc["saved_at_ms"].as_i64() {
                let now = saved + 1;
                for keys in want.values_mut() {
                    keys.retain(|_, e| e["expire_ms"].as_i64().is_none_or(|t| t >= now));
                }
            }
            let resp = dump_ok(&[path.to_str().unwrap(), "--format", "resp"]);
            let mut srv = fresh_server().unwrap();
            redis_cli_pipe(&srv, &resp);
            let mut got = server_dataset(&mut srv);
            mask_unrecorded(&want, &mut got);
            assert_same(&want, &got, &format!("{} via RESP", path.display()));
            // Function libraries.
            if let Some(funcs) = doc["functions"].as_array() {
                let listed = srv.cmd(&["FUNCTION", "LIST", "WITHCODE"]).array();
                let mut have: Vec<String> = listed
                    .iter()
                    .map(|l| s(&flat_map(l)["library_code"].bytes()))
                    .collect();
                let mut want_f: Vec<String> = funcs
                    .iter()
                    .map(|f| f["code"].as_str().unwrap().to_string())
                    .collect();
                have.sort();
                want_f.sort();
                assert_eq!(want_f, have, "{}: functions", path.display());
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 15, "three folders × five files");
}

// ---------------------------------------------------------------------------
// Generated data: binary keys and values, every stream feature

/// Fills a live server with binary-unsafe names and values of every type.
fn populate_binary(srv: &mut RedisServer) {
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut rand = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut bytes = |n: usize| -> Vec<u8> { (0..n).map(|_| rand() as u8).collect() };
    let all: Vec<u8> = (0..=255u8).collect();
    let odd_names: Vec<Vec<u8>> = vec![
        all.clone(),
        b"\x00".to_vec(),
        b"\xff\xfe\x80".to_vec(),
        b"\xc3\x28".to_vec(),
        b"hex:6869".to_vec(),
        b"crlf\r\n\"quote\"\\".to_vec(),
        "ключ-😀".as_bytes().to_vec(),
        Vec::new(),
        b"12345".to_vec(),
    ];
    for (i, name) in odd_names.iter().enumerate() {
        let mut k = name.clone();
        k.extend_from_slice(format!(":{i}").as_bytes());
        let v = bytes(50 + i * 37);
        assert_eq!(
            srv.cmd(&[b"SET".as_slice(), &k, &v]),
            Reply::Status("OK".into())
        );
        let mut lk = k.clone();
        lk.extend_from_slice(b":list");
        let mut args: Vec<Vec<u8>> = vec![b"RPUSH".to_vec(), lk];
        args.extend(odd_names.iter().cloned());
        args.push(bytes(300));
        srv.cmd(&args);
        let mut sk = k.clone();
        sk.extend_from_slice(b":set");
        let mut args: Vec<Vec<u8>> = vec![b"SADD".to_vec(), sk];
        args.extend(odd_names.iter().cloned());
        srv.cmd(&args);
        let mut hk = k.clone();
        hk.extend_from_slice(b":hash");
        let mut args: Vec<Vec<u8>> = vec![b"HSET".to_vec(), hk];
        for n in &odd_names {
            args.push(n.clone());
            args.push(bytes(20));
        }
        srv.cmd(&args);
    }
    // Scores that must stay exact.
    let scores = [
        "0.1",
        "-0",
        "1e300",
        "5e-324",
        "inf",
        "-inf",
        "0.3333333333333333",
        "-9007199254740993",
        "123456.78901234567",
        "1.7976931348623157e308",
        "2.2250738585072014e-308",
        "42",
    ];
    let mut args: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"zset:\xffscores".to_vec()];
    for (i, sc) in scores.iter().enumerate() {
        args.push(sc.as_bytes().to_vec());
        let mut m = odd_names[i % odd_names.len()].clone();
        m.push(i as u8);
        args.push(m);
    }
    srv.cmd(&args);
    // Large values (skiplist / hashtable encodings, several RESP batches).
    let mut args: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"zset:large".to_vec()];
    for i in 0..1000u32 {
        args.push(format!("{}", f64::from(i) / 7.0 - 50.0).into_bytes());
        args.push(bytes(8));
    }
    srv.cmd(&args);
    let mut args: Vec<Vec<u8>> = vec![b"RPUSH".to_vec(), b"list:large".to_vec()];
    args.extend((0..3000).map(|i| bytes(i % 97)));
    srv.cmd(&args);
    let mut args: Vec<Vec<u8>> = vec![b"HSET".to_vec(), b"hash:large".to_vec()];
    for i in 0..700u32 {
        args.push(format!("f{i}").into_bytes());
        args.push(bytes(70));
    }
    srv.cmd(&args);
    let mut args: Vec<Vec<u8>> = vec![b"SADD".to_vec(), b"set:ints".to_vec()];
    args.extend((0..200i64).map(|i| (i * 1_000_003 - 77).to_string().into_bytes()));
    srv.cmd(&args);
    // Key TTLs.
    srv.cmd(&["PEXPIREAT", "list:large", "4102444800123"]);
    srv.cmd(&[
        b"PEXPIREAT".as_slice(),
        b"zset:\xffscores",
        b"9223372036854775807",
    ]);
    // Other databases.
    srv.cmd(&["SELECT", "3"]);
    srv.cmd(&[b"SET".as_slice(), b"\x00db3\xff", b"\x01\x02"]);
    srv.cmd(&["HSET", "h3", "f", "v"]);
    srv.cmd(&["SELECT", "15"]);
    srv.cmd(&["RPUSH", "l15", "a", "b"]);
    srv.cmd(&["SELECT", "0"]);

    // Streams.
    let st = b"stream:\xfe".as_slice();
    for i in 1..=30u32 {
        let id = format!("{i}-{}", i % 3);
        let f = if i % 2 == 0 {
            b"\xff\x00field".to_vec()
        } else {
            b"field".to_vec()
        };
        srv.cmd(&[
            b"XADD".as_slice(),
            st,
            id.as_bytes(),
            &f,
            &bytes(9),
            b"n",
            i.to_string().as_bytes(),
        ]);
    }
    srv.cmd(&[
        b"XGROUP".as_slice(),
        b"CREATE",
        st,
        b"g\xff1",
        b"0",
        b"ENTRIESREAD",
        b"0",
    ]);
    srv.cmd(&[b"XGROUP".as_slice(), b"CREATE", st, b"g2", b"$"]);
    srv.cmd(&[b"XGROUP".as_slice(), b"CREATE", st, b"g3", b"5-2"]);
    srv.cmd(&[
        b"XREADGROUP".as_slice(),
        b"GROUP",
        b"g\xff1",
        b"c\x001",
        b"COUNT",
        b"6",
        b"STREAMS",
        st,
        b">",
    ]);
    srv.cmd(&[
        b"XREADGROUP".as_slice(),
        b"GROUP",
        b"g\xff1",
        b"c2",
        b"COUNT",
        b"4",
        b"STREAMS",
        st,
        b">",
    ]);
    srv.cmd(&[
        b"XREADGROUP".as_slice(),
        b"GROUP",
        b"g3",
        b"c9",
        b"COUNT",
        b"3",
        b"STREAMS",
        st,
        b">",
    ]);
    srv.cmd(&[b"XGROUP".as_slice(), b"CREATECONSUMER", st, b"g2", b"idle"]);
    // Pinned delivery times and counts.
    srv.cmd(&[
        b"XCLAIM".as_slice(),
        st,
        b"g\xff1",
        b"c2",
        b"0",
        b"2-2",
        b"TIME",
        b"1700000000000",
        b"RETRYCOUNT",
        b"7",
        b"JUSTID",
    ]);
    srv.cmd(&[
        b"XCLAIM".as_slice(),
        st,
        b"g\xff1",
        b"c\x001",
        b"0",
        b"9-0",
        b"TIME",
        b"1600000000000",
        b"RETRYCOUNT",
        b"2",
        b"JUSTID",
    ]);
    // A pending entry deleted from the stream (dangling PEL entry).
    srv.cmd(&[b"XDEL".as_slice(), st, b"4-1"]);
    srv.cmd(&[b"XDEL".as_slice(), st, b"20-2"]);
    // Pending entries removed by trimming, in another stream.
    let st2 = b"stream:trimmed-pending".as_slice();
    for i in 1..=10u32 {
        srv.cmd(&[
            b"XADD".as_slice(),
            st2,
            format!("{i}-0").as_bytes(),
            b"f",
            b"v",
        ]);
    }
    srv.cmd(&[b"XGROUP".as_slice(), b"CREATE", st2, b"g", b"0"]);
    srv.cmd(&[
        b"XREADGROUP".as_slice(),
        b"GROUP",
        b"g",
        b"c",
        b"COUNT",
        b"4",
        b"STREAMS",
        st2,
        b">",
    ]);
    srv.cmd(&[b"XTRIM".as_slice(), st2, b"MINID", b"3-0"]);
    // An empty stream that keeps its last id and a group.
    let st3 = b"stream:emptied".as_slice();
    srv.cmd(&[b"XADD".as_slice(), st3, b"7-7", b"f", b"v"]);
    srv.cmd(&[b"XGROUP".as_slice(), b"CREATE", st3, b"g", b"0"]);
    srv.cmd(&[b"XDEL".as_slice(), st3, b"7-7"]);
    srv.cmd(&[
        b"XGROUP".as_slice(),
        b"CREATE",
        b"stream:mk",
        b"g",
        b"$",
        b"MKSTREAM",
    ]);
    srv.cmd(&[
        b"XADD".as_slice(),
        b"stream:dupfields",
        b"1-1",
        b"a",
        b"1",
        b"a",
        b"2",
    ]);
    srv.cmd(&["PEXPIREAT", "stream:mk", "4102444800000"]);
}

/// Binary keys and values (and every stream feature) round-trip byte for byte
/// through JSON Lines and through RESP into a fresh server.
#[test]
fn binary_data_round_trips_through_jsonl_and_resp() {
    let Some(mut a) = fresh_server() else {
        return;
    };
    populate_binary(&mut a);
    let rdb = a.save();
    let want = server_dataset(&mut a);
    let nkeys: usize = want.values().map(BTreeMap::len).sum();
    assert!(nkeys > 40, "{nkeys} keys");
    let c = Canon {
        ignore_consumer_times: true,
    };
    let p = rdb.to_str().unwrap();

    // JSON Lines, read back (stream entries with a repeated field name are an
    // array of pairs: compared through their own check below).
    let recs = records(&dump_ok(&[p]));
    let dup = recs
        .iter()
        .find(|r| r["key"] == "stream:dupfields")
        .expect("stream:dupfields");
    assert_eq!(
        dup["value"]["entries"],
        json!([["1-1", [["a", "1"], ["a", "2"]]]])
    );
    let mut got = canon_records(
        &recs
            .iter()
            .filter(|r| r["key"] != "stream:dupfields")
            .cloned()
            .collect::<Vec<_>>(),
        c,
    );
    let mut want_no_dup = want.clone();
    want_no_dup.get_mut(&0).unwrap().remove("stream:dupfields");
    assert_same(&want_no_dup, &got, "jsonl");

    // RESP through redis-cli --pipe into a fresh server.
    let resp = dump_ok(&[p, "--format", "resp", "--batch", "50"]);
    let mut b = fresh_server().unwrap();
    redis_cli_pipe(&b, &resp);
    got = server_dataset(&mut b);
    assert_same(&want, &got, "resp");
    // Same through the test's own client, with --replace over existing data.
    let resp = dump_ok(&[p, "--format", "resp", "--replace"]);
    let n = count_commands(&resp);
    for r in b.pipe(&resp, n) {
        assert!(!matches!(r, Reply::Error(_)), "{r:?}");
    }
    got = server_dataset(&mut b);
    assert_same(&want, &got, "resp --replace over the same data");
}

/// Number of commands in a RESP stream of arrays of bulk strings.
fn count_commands(resp: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    let line = |i: &mut usize| -> usize {
        let start = *i;
        while resp[*i] != b'\r' {
            *i += 1;
        }
        let v: usize = std::str::from_utf8(&resp[start + 1..*i])
            .unwrap()
            .parse()
            .unwrap();
        *i += 2;
        v
    };
    while i < resp.len() {
        assert_eq!(resp[i], b'*');
        let argc = line(&mut i);
        for _ in 0..argc {
            assert_eq!(resp[i], b'$');
            let len = line(&mut i);
            i += len + 2;
        }
        n += 1;
    }
    n
}

// ---------------------------------------------------------------------------
// Filters

#[test]
fn filters_select_keys_like_redis() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = corpus.join("redis-7.0.15");
    let rdb = dir.join("types.rdb");
    let p = rdb.to_str().unwrap();
    let doc = load_json(&dir.join("expected.json"));
    let all = records(&dump_ok(&[p]));
    let keys_of = |recs: &[J], db: u64| -> BTreeSet<Vec<u8>> {
        recs.iter()
            .filter(|r| r["db"] == db)
            .map(|r| expected::bytes_of(&r["key"]))
            .collect()
    };

    // --db
    let db1 = records(&dump_ok(&[p, "--db", "1"]));
    assert!(db1.iter().all(|r| r["db"] == 1));
    assert_eq!(db1.len(), doc["dbs"]["1"].as_object().unwrap().len());
    let two = records(&dump_ok(&[p, "--db", "1", "--db", "15"]));
    assert_eq!(
        two.len(),
        db1.len() + doc["dbs"]["15"].as_object().unwrap().len()
    );

    // --type
    let ts = records(&dump_ok(&[p, "--type", "hash", "--type", "stream"]));
    let want_n = all
        .iter()
        .filter(|r| r["type"] == "hash" || r["type"] == "stream")
        .count();
    assert_eq!(ts.len(), want_n);
    assert!(want_n > 10);

    // --key-regex
    let re = regex::bytes::Regex::new("^string:int:i(8|16):").unwrap();
    let got = keys_of(
        &records(&dump_ok(&[p, "--key-regex", "^string:int:i(8|16):"])),
        0,
    );
    let want: BTreeSet<Vec<u8>> = keys_of(&all, 0)
        .into_iter()
        .filter(|k| re.is_match(k))
        .collect();
    assert_eq!(got, want);
    assert!(want.len() >= 2);

    // --key: the same keys as the server's KEYS for the same pattern.
    if let Some(mut srv) = RedisServer::with_rdb(&rdb) {
        for pat in [
            "*", "string:*", "*:int:*", "h?sh:*", "[sz]et:*", "[^s]*", "*[0-9]", "[a-c]*", "**",
            "*\\**", "[", "[abc", "\\h*", "*e*e*e*", "hex:*", "",
        ] {
            let want: BTreeSet<Vec<u8>> = srv
                .cmd(&["KEYS", pat])
                .array()
                .iter()
                .map(Reply::bytes)
                .collect();
            let got = keys_of(&records(&dump_ok(&[p, "--db", "0", "--key", pat])), 0);
            assert_eq!(got, want, "pattern {pat:?}");
        }
        // Several patterns: a key matching any of them.
        let got = keys_of(
            &records(&dump_ok(&[p, "--key", "set:*", "--key-regex", "^zset:"])),
            0,
        );
        let want: BTreeSet<Vec<u8>> = keys_of(&all, 0)
            .into_iter()
            .filter(|k| k.starts_with(b"set:") || k.starts_with(b"zset:"))
            .collect();
        assert_eq!(got, want);
    }

    // --expired / --not-expired relative to --now.
    let exp_dir = corpus.join("redis-7.0.15");
    let expired_rdb = exp_dir.join("expired.rdb");
    let ep = expired_rdb.to_str().unwrap();
    let edoc = load_json(&exp_dir.join("expected-expired.json"));
    let now = edoc["saved_at_ms"].as_i64().unwrap();
    let now_s = now.to_string();
    let want_expired: BTreeSet<String> = edoc["dbs"]["0"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, e)| e["expired_at_save"] == true)
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(want_expired.len(), 3);
    let names = |recs: Vec<J>| -> BTreeSet<String> {
        recs.iter()
            .map(|r| r["key"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(records(&dump_ok(&[ep, "--expired", "--now", &now_s]))),
        want_expired
    );
    let not = names(records(&dump_ok(&[ep, "--not-expired", "--now", &now_s])));
    assert!(not.is_disjoint(&want_expired));
    assert_eq!(not.len() + 3, edoc["dbs"]["0"].as_object().unwrap().len());
    // RESP leaves expired keys out unless asked.
    let resp = s(&dump_ok(&[ep, "--format", "resp", "--now", &now_s]));
    assert!(!resp.contains("expired:string"));
    assert!(resp.contains("expired:live"));
    let resp = s(&dump_ok(&[
        ep,
        "--format",
        "resp",
        "--now",
        &now_s,
        "--include-expired",
    ]));
    assert!(resp.contains("expired:string"));

    // Bad arguments: exit 2.
    let out = dump(&[p, "--key-regex", "("]);
    assert_eq!(out.status.code(), Some(2));
    let out = dump(&[p, "--expired", "--not-expired"]);
    assert_eq!(out.status.code(), Some(2));
}

// ---------------------------------------------------------------------------
// Pipes, broken files, output files

/// `dump … | head`: the closed pipe ends the dump quietly with exit 0.
fn closed_pipe_exits_zero(args: &[&str]) {
    let mut child = common::bin()
        .arg("dump")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", s(&out.stderr));
    assert!(out.stderr.is_empty(), "stderr: {}", s(&out.stderr));
}

#[test]
fn closed_pipe_ends_quietly() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let p = corpus.join("redis-7.0.15/types-nocompress.rdb");
    let p = p.to_str().unwrap();
    // The output must be larger than a pipe buffer.
    assert!(dump_ok(&[p, "--format", "json"]).len() > 256 * 1024);
    for fmt in ["jsonl", "json", "resp"] {
        closed_pipe_exits_zero(&[p, "--format", fmt]);
    }
}

/// Offsets just after each complete key record of an RDB file.
fn key_ends(path: &Path) -> Vec<u64> {
    use redis_persist::io::Source;
    use redis_persist::rdb::{Event, Reader};
    let f = std::fs::File::open(path).unwrap();
    let size = f.metadata().unwrap().len();
    let mut r = Reader::new(Source::new(f).with_size(size));
    let mut ends = Vec::new();
    while let Some(ev) = r.next_event().unwrap() {
        if let Event::KeyEnd(e) = ev {
            ends.push(e.end);
        }
    }
    ends
}

/// A truncated file: every complete key before the cut is written, then the
/// error (with its offset) on stderr and exit 1.
fn check_truncations(path: &Path, extra: &[&str], cuts: &[u64]) {
    let full = std::fs::read(path).unwrap();
    let ends = key_ends(path);
    let p = path.to_str().unwrap();
    let mut args = vec![p];
    args.extend_from_slice(extra);
    let all = records(&dump_ok(&args));
    assert_eq!(all.len(), ends.len());
    let dir = tempfile::tempdir().unwrap();
    for &cut in cuts {
        let t = dir.path().join("cut.rdb");
        std::fs::write(&t, &full[..cut as usize]).unwrap();
        let mut args = vec![t.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = dump(&args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "cut at {cut}: {}",
            s(&out.stderr)
        );
        let err = s(&out.stderr);
        assert!(
            err.contains("error") && err.contains("byte"),
            "cut at {cut}: stderr {err}"
        );
        let got = records(&out.stdout);
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(got.len(), complete, "cut at {cut}: records written");
        assert_eq!(
            &got[..],
            &all[..complete],
            "cut at {cut}: a prefix of the dump"
        );
    }
}

#[test]
fn truncated_files_dump_what_is_valid_then_fail() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let path = corpus.join("redis-7.0.15/types.rdb");
    let size = std::fs::metadata(&path).unwrap().len();
    let cuts: Vec<u64> = [9, 200, size / 3, size / 2, size - 100, size - 9, size - 1]
        .into_iter()
        .collect();
    check_truncations(&path, &[], &cuts);

    // A wrong checksum: every key is written, then the error.
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("badcrc.rdb");
    std::fs::write(&bad, &bytes).unwrap();
    let out = dump(&[bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(s(&out.stderr).contains("checksum"), "{}", s(&out.stderr));
    assert_eq!(records(&out.stdout).len(), key_ends(&path).len());

    // The JSON document stays valid and says what went wrong.
    let t = dir.path().join("cut.rdb");
    std::fs::write(&t, &std::fs::read(&path).unwrap()[..(size / 2) as usize]).unwrap();
    let out = dump(&[t.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: J = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["error"].as_str().unwrap().contains("byte"));
    assert_eq!(doc["checksum"], J::Null);
    assert!(!doc["keys"].as_array().unwrap().is_empty());

    // Not an RDB at all.
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"hello world, not an rdb").unwrap();
    let out = dump(&[junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn aof_inputs_dump_their_rdb_snapshot_or_are_refused_clearly() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let ignore_times = Canon {
        ignore_consumer_times: true,
    };
    // AOFs are dumped as the dataset after replay: every corpus AOF equals its
    // expected-aof-*.json (consumer times excluded: XCLAIM resets them).
    let mut replayed = 0;
    for dir in common::corpus_version_dirs(&corpus) {
        for (sub, exp, extra) in [
            ("aof-preamble", "expected-aof-preamble.json", None),
            ("aof-nopreamble", "expected-aof-nopreamble.json", None),
            ("aof-timestamps", "expected-aof-timestamps.json", None),
            (
                "appendonly-nopreamble.aof",
                "expected-aof-nopreamble.json",
                None,
            ),
            (
                "appendonly-preamble.aof",
                "expected-aof-preamble.json",
                Some("--replay"),
            ),
        ] {
            let input = dir.join(sub);
            if !input.exists() {
                continue;
            }
            let mut args = vec![input.to_str().unwrap()];
            args.extend(extra);
            let out = dump(&args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                input.display(),
                s(&out.stderr)
            );
            let want = expected::expected_dbs(
                &expected::as_replayed(load_json(&dir.join(exp))),
                ignore_times,
            );
            let mut got = canon_records(&records(&out.stdout), ignore_times);
            // 6.x does not record these stream fields; the replayed dataset has them.
            mask_unrecorded(&want, &mut got);
            assert_same(&want, &got, &input.display().to_string());
            replayed += 1;
        }
    }
    assert!(replayed >= 20, "{replayed}");
    // With --base-only, a command-only AOF has no RDB part (exit 2, clear message).
    let aof = corpus.join("redis-6.2.14/appendonly-nopreamble.aof");
    let out = dump(&["--base-only", aof.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        s(&out.stderr).contains("RESP commands"),
        "{}",
        s(&out.stderr)
    );
    let dir = corpus.join("redis-7.0.15/aof-nopreamble");
    let out = dump(&["--base-only", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        s(&out.stderr).contains("RESP commands"),
        "{}",
        s(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    // Multi-part AOFs with an RDB base and --base-only: the base is dumped
    // (directory or manifest), and stderr says that the INCR files were not
    // replayed.
    for v in ["redis-7.0.15", "redis-7.4.1", "valkey-8.0.1"] {
        let dir = corpus.join(v).join("aof-preamble");
        let want = expected::expected_dbs(
            &load_json(&corpus.join(v).join("expected.json")),
            ignore_times,
        );
        let by_dir = dump(&["--base-only", dir.to_str().unwrap()]);
        assert_eq!(by_dir.status.code(), Some(0), "{}", s(&by_dir.stderr));
        assert!(
            s(&by_dir.stderr).contains("INCR file(s)"),
            "{}",
            s(&by_dir.stderr)
        );
        assert_same(
            &want,
            &canon_records(&records(&by_dir.stdout), ignore_times),
            v,
        );
        let manifest = dir.join("appendonly.aof.manifest");
        let by_manifest = dump(&["--base-only", manifest.to_str().unwrap()]);
        assert_eq!(by_manifest.status.code(), Some(0));
        assert_eq!(by_manifest.stdout, by_dir.stdout);
    }
    // A hybrid BASE: its RDB part, and both notes.
    let edge = corpus.join("edge-cases/aof-multipart");
    let out = dump(&[
        "--base-only",
        edge.join("rdb-base/appendonlydir").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let keys: BTreeSet<String> = records(&out.stdout)
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, ["k1", "k2"].into_iter().map(String::from).collect());
    let err = s(&out.stderr);
    assert!(err.contains("INCR") && err.contains("AOF tail"), "{err}");
    // A manifest the server refuses: the input is broken (exit 1).
    for case in ["blank-line", "empty-manifest", "junk-line"] {
        let out = dump(&[edge.join(case).join("appendonlydir").to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{case}: {}", s(&out.stderr));
        assert!(s(&out.stderr).contains("manifest"), "{case}");
        assert!(out.stdout.is_empty());
    }
    let out = dump(&["/nonexistent/file.rdb"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn output_file_is_written_atomically() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let path = corpus.join("redis-7.0.15/types.rdb");
    let p = path.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.jsonl");
    let t = target.to_str().unwrap();
    let stdout = dump_ok(&[p]);

    // A new file.
    assert!(dump_ok(&[p, "-o", t]).is_empty());
    assert_eq!(std::fs::read(&target).unwrap(), stdout);
    // Replacing an existing file, keeping its permissions.
    std::fs::write(&target, b"old").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    dump_ok(&[p, "--format", "resp", "-o", t]);
    assert_eq!(
        std::fs::read(&target).unwrap(),
        dump_ok(&[p, "--format", "resp"])
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
    // A dump that cannot run leaves the target untouched.
    std::fs::write(&target, b"old").unwrap();
    let out = dump(&["/nonexistent.rdb", "-o", t]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    // A broken input: the valid part is written, exit 1.
    let cut = dir.path().join("cut.rdb");
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let out = dump(&[cut.to_str().unwrap(), "-o", t]);
    assert_eq!(out.status.code(), Some(1));
    let partial = records(&std::fs::read(&target).unwrap());
    assert!(!partial.is_empty());
    assert_eq!(&partial[..], &records(&stdout)[..partial.len()]);
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    // A device is written in place, not replaced.
    dump_ok(&[p, "-o", "/dev/null"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
    // A directory that does not exist: exit 2.
    let out = dump(&[
        p,
        "-o",
        dir.path().join("no/such/dir.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

// ---------------------------------------------------------------------------
// Large files: the parallel path

/// Builds an RDB of more than 8 MiB (the size from which several threads are
/// used) with every type, using a live server.
fn big_rdb(srv: &mut RedisServer) -> PathBuf {
    assert_eq!(
        srv.cmd(&["DEBUG", "POPULATE", "400000", "pop", "12"]),
        Reply::Status("OK".into())
    );
    let mut raw = Vec::new();
    let mut n = 0;
    let mut cmd = |args: Vec<Vec<u8>>| {
        raw.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in &args {
            raw.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            raw.extend_from_slice(a);
            raw.extend_from_slice(b"\r\n");
        }
        n += 1;
    };
    for i in 0..6000u32 {
        let k = |t: &str| format!("{t}:{i}").into_bytes();
        cmd([b"RPUSH".to_vec(), k("list")]
            .into_iter()
            .chain((0..20).map(|j| format!("e{j}\x00{i}").into_bytes()))
            .collect());
        cmd([b"HSET".to_vec(), k("hash")]
            .into_iter()
            .chain((0..10).flat_map(|j| [format!("f{j}").into_bytes(), vec![b'v'; j * 3]]))
            .collect());
        cmd([b"ZADD".to_vec(), k("zset")]
            .into_iter()
            .chain((0..15).flat_map(|j| {
                [
                    format!("{}", f64::from(i * 15 + j) / 3.0).into_bytes(),
                    format!("m{j}").into_bytes(),
                ]
            }))
            .collect());
        cmd(vec![
            b"SADD".to_vec(),
            k("set"),
            b"a".to_vec(),
            b"\xff".to_vec(),
            i.to_string().into_bytes(),
        ]);
        if i % 10 == 0 {
            cmd(vec![
                b"XADD".to_vec(),
                k("stream"),
                b"*".to_vec(),
                b"f".to_vec(),
                b"v".to_vec(),
            ]);
            cmd(vec![
                b"PEXPIREAT".to_vec(),
                k("list"),
                b"4102444800000".to_vec(),
            ]);
        }
    }
    for r in srv.pipe(&raw, n) {
        assert!(!matches!(r, Reply::Error(_)), "{r:?}");
    }
    let rdb = srv.save();
    assert!(
        std::fs::metadata(&rdb).unwrap().len() > 8 << 20,
        "big enough"
    );
    rdb
}

#[test]
fn large_files_dump_in_parallel_with_the_same_output() {
    let Some(mut srv) = fresh_server() else {
        return;
    };
    let rdb = big_rdb(&mut srv);
    let p = rdb.to_str().unwrap();
    for fmt in ["jsonl", "json", "resp"] {
        let one = dump_ok(&[p, "--format", fmt, "--threads", "1"]);
        let two = dump_ok(&[p, "--format", fmt, "--threads", "2"]);
        let three = dump_ok(&[p, "--format", fmt, "--threads", "3"]);
        assert!(one == two && one == three, "{fmt}: parallel output differs");
        if fmt == "json" {
            let doc: J = serde_json::from_slice(&two).unwrap();
            assert!(doc["keys"].as_array().unwrap().len() > 400_000);
        }
    }
    // Filters in parallel.
    let a = dump_ok(&[p, "--type", "zset", "--key", "*:1??", "--threads", "1"]);
    let b = dump_ok(&[p, "--type", "zset", "--key", "*:1??", "--threads", "2"]);
    assert_eq!(a, b);
    assert_eq!(records(&a).len(), 100);
    // Truncations and a closed pipe, in parallel.
    let size = std::fs::metadata(&rdb).unwrap().len();
    check_truncations(
        &rdb,
        &["--threads", "2"],
        &[size / 5, size / 2 + 7, size - 20],
    );
    closed_pipe_exits_zero(&[p, "--threads", "2"]);
    // RESP of the big file into a fresh server equals the original.
    let want = {
        let mut all = Dbs::new();
        // Reading 170,000 keys one by one is slow: compare counts and a sample.
        for r in records(&dump_ok(&[p])) {
            let db = r["db"].as_u64().unwrap();
            let k = expected::key_form(&expected::bytes_of(&r["key"]));
            if k.ends_with('7') {
                all.entry(db).or_default().insert(
                    k,
                    expected::canon_expected(
                        &r,
                        Canon {
                            ignore_consumer_times: true,
                        },
                    ),
                );
            }
        }
        all
    };
    let resp = dump_ok(&[p, "--format", "resp"]);
    let mut b = fresh_server().unwrap();
    redis_cli_pipe(&b, &resp);
    assert_eq!(
        b.cmd(&["DBSIZE"]).int(),
        srv.cmd(&["DBSIZE"]).int(),
        "key count after RESP"
    );
    let mut got = Dbs::new();
    for (db, keys) in &want {
        for k in keys.keys() {
            let key = expected::bytes_of_key(k);
            assert_eq!(
                b.cmd(&["SELECT", &db.to_string()]),
                Reply::Status("OK".into())
            );
            let e = common::live::entry(
                &mut b,
                &key,
                common::live::LiveOptions {
                    ignore_consumer_times: true,
                },
            );
            got.entry(*db).or_default().insert(k.clone(), e);
        }
    }
    assert_same(&want, &got, "big file via RESP (sample)");
}

// ---------------------------------------------------------------------------
// Old encodings (upstream fixtures): what redis-server 7.0 holds after loading
// the file is what `dump` prints and what its RESP recreates.

#[test]
fn upstream_fixtures_match_what_redis_loads() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    if common::redis_server_bin().is_none() {
        return;
    }
    let c = Canon {
        ignore_consumer_times: true,
    };
    for name in [
        "encodings.rdb",
        "hash-zipmap.rdb",
        "hash-ziplist.rdb",
        "list-quicklist.rdb",
        "zset-ziplist.rdb",
        "corrupt_empty_keys.rdb",
    ] {
        let path = corpus.join("upstream/redis").join(name);
        let p = path.to_str().unwrap();
        let mut loaded = RedisServer::with_rdb(&path).unwrap();
        let want = server_dataset(&mut loaded);
        let n: usize = want.values().map(BTreeMap::len).sum();
        assert_eq!(
            n == 0,
            name == "corrupt_empty_keys.rdb",
            "{name}: {n} keys loaded"
        );
        // The server drops keys whose TTL has passed and empty aggregates.
        let out = dump(&[p, "--not-expired"]);
        assert!(out.status.success(), "{name}: {}", s(&out.stderr));
        let recs = records(&out.stdout);
        let empty: Vec<&J> = recs
            .iter()
            .filter(|r| r["value"] == json!([]) || r["value"] == json!({}))
            .collect();
        if name == "corrupt_empty_keys.rdb" {
            assert_eq!(empty.len(), 9, "{name}: the nine empty keys are shown");
            assert!(s(&out.stderr).contains("9 empty aggregate key(s)"));
        } else {
            assert!(empty.is_empty());
        }
        let non_empty: Vec<J> = recs
            .iter()
            .filter(|r| r["value"] != json!([]) && r["value"] != json!({}))
            .cloned()
            .collect();
        assert_same(
            &want,
            &canon_records(&non_empty, c),
            &format!("{name} (jsonl)"),
        );
        let resp = dump_ok(&[p, "--format", "resp"]);
        let mut fresh = fresh_server().unwrap();
        redis_cli_pipe(&fresh, &resp);
        let got = server_dataset(&mut fresh);
        assert_same(&want, &got, &format!("{name} (resp)"));
    }
}

// ---------------------------------------------------------------------------
// Hash field TTLs in RESP (Redis 7.4+ files; no such server here to load them,
// so the commands themselves are checked against expected.json)

/// The commands of a RESP stream.
fn parse_commands(resp: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut cmds = Vec::new();
    let mut i = 0;
    let line = |i: &mut usize| -> usize {
        let start = *i;
        while resp[*i] != b'\r' {
            *i += 1;
        }
        let v = std::str::from_utf8(&resp[start + 1..*i])
            .unwrap()
            .parse()
            .unwrap();
        *i += 2;
        v
    };
    while i < resp.len() {
        assert_eq!(resp[i], b'*');
        let argc = line(&mut i);
        let mut args = Vec::with_capacity(argc);
        for _ in 0..argc {
            assert_eq!(resp[i], b'$');
            let len = line(&mut i);
            args.push(resp[i..i + len].to_vec());
            assert_eq!(&resp[i + len..i + len + 2], b"\r\n");
            i += len + 2;
        }
        cmds.push(args);
    }
    cmds
}

#[test]
fn resp_restores_hash_field_ttls_with_hpexpireat() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for v in ["redis-7.4.1", "redis-8.0-m01"] {
        let dir = corpus.join(v);
        let doc = load_json(&dir.join("expected.json"));
        let rdb = dir.join("types.rdb");
        // "Now" before every TTL of the dataset: no field is left out.
        let resp = dump_ok(&[
            rdb.to_str().unwrap(),
            "--format",
            "resp",
            "--now",
            "0",
            "--batch",
            "2",
        ]);
        let cmds = parse_commands(&resp);
        let mut checked = 0;
        for (_, e) in doc["dbs"]["0"].as_object().unwrap() {
            let Some(want_ttls) = e.get("field_expire_ms").and_then(J::as_object) else {
                continue;
            };
            let key = expected::bytes_of(&e["key"]);
            let mut fields: BTreeMap<String, J> = BTreeMap::new();
            let mut ttls: BTreeMap<String, J> = BTreeMap::new();
            let mut order = Vec::new();
            for c in cmds.iter().filter(|c| c.len() > 1 && c[1] == key) {
                order.push(s(&c[0]));
                match c[0].as_slice() {
                    b"HSET" => {
                        assert!(c.len() <= 2 + 2 * 2, "batches of 2 fields");
                        for p in c[2..].chunks(2) {
                            fields.insert(expected::key_form(&p[0]), expected::value_form(&p[1]));
                        }
                    }
                    b"HPEXPIREAT" => {
                        assert_eq!(c[3], b"FIELDS");
                        let n: usize = s(&c[4]).parse().unwrap();
                        assert_eq!(c.len(), 5 + n);
                        assert!(n <= 2);
                        let ms: i64 = s(&c[2]).parse().unwrap();
                        for f in &c[5..] {
                            ttls.insert(expected::key_form(f), json!(ms));
                        }
                    }
                    b"PEXPIREAT" | b"DEL" => {}
                    other => panic!("unexpected {}", s(other)),
                }
            }
            let want_fields: BTreeMap<String, J> = e["value"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(fields, want_fields, "{v}: {}", e["key"]);
            let want_ttls: BTreeMap<String, J> = want_ttls
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(ttls, want_ttls, "{v}: {}", e["key"]);
            // The field TTLs come after the fields exist, the key TTL last.
            let first_ttl = order.iter().position(|c| c == "HPEXPIREAT").unwrap();
            assert!(order[..first_ttl].iter().all(|c| c == "HSET"));
            if e["expire_ms"].is_i64() {
                assert_eq!(order.last().unwrap(), "PEXPIREAT");
            }
            checked += 1;
        }
        assert!(checked >= 5, "{v}: {checked} hashes with field TTLs");

        // Fields whose TTL had passed when the file was saved are left out.
        let edoc = load_json(&dir.join("expected-expired.json"));
        let now = edoc["saved_at_ms"].as_i64().unwrap().to_string();
        let out = dump(&[
            dir.join("expired.rdb").to_str().unwrap(),
            "--format",
            "resp",
            "--now",
            &now,
        ]);
        assert!(out.status.success());
        assert!(
            s(&out.stderr).contains("hash field(s) whose TTL has passed"),
            "{}",
            s(&out.stderr)
        );
        let cmds = parse_commands(&out.stdout);
        let mut gone = 0;
        for (_, e) in edoc["dbs"]["0"].as_object().unwrap() {
            let Some(expired) = e.get("fields_expired_at_save").and_then(J::as_array) else {
                continue;
            };
            let key = expected::bytes_of(&e["key"]);
            let written: BTreeSet<Vec<u8>> = cmds
                .iter()
                .filter(|c| c[0] == b"HSET" && c[1] == key)
                .flat_map(|c| c[2..].chunks(2).map(|p| p[0].clone()).collect::<Vec<_>>())
                .collect();
            assert!(!written.is_empty(), "{}", e["key"]);
            for f in expired {
                assert!(!written.contains(&expected::bytes_of_key(f.as_str().unwrap())));
                gone += 1;
            }
            assert_eq!(
                written.len() + expired.len(),
                e["value"].as_object().unwrap().len(),
                "{}",
                e["key"]
            );
        }
        assert!(gone > 0, "{v}: expired fields in expired.rdb");
    }
}

/// `-` reads standard input (sequentially): the same output as the file.
#[test]
fn standard_input_is_read_like_a_file() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for name in [
        "redis-7.0.15/types.rdb",
        "redis-6.2.14/appendonly-preamble.aof",
    ] {
        let path = corpus.join(name);
        let want = dump_ok(&[path.to_str().unwrap()]);
        let mut child = common::bin()
            .args(["dump", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = std::fs::read(&path).unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&data));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success(), "{}", s(&out.stderr));
        assert_eq!(out.stdout, want, "{name}");
        assert_eq!(
            s(&out.stderr).contains("AOF tail"),
            name.contains("appendonly"),
            "{name}: {}",
            s(&out.stderr)
        );
    }
}
