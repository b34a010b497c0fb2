//! Every subcommand on the real server-written files of `testdata/`, with
//! neither the corpus nor a server: a fresh clone tests each one for real.
//! (`check-rdb`: `rdb_testdata`; `salvage`: `salvage::cli_salvage`; `rewrite`: here; `stats` of
//! an RDB: `stats_cli`; here: `dump` of the RDB, and `check-aof`, `dump`,
//! `stats` and `convert-aof-to-hybrid` of the AOF.)
//!
//! `testdata/aof/redis-7.0-preamble/` is the `appendonlydir` of the Debian
//! `redis-server` 7.0 after [`workload`] (an RDB-preamble base written by
//! `BGREWRITEAOF`, then an incremental file of commands), and
//! `redis-7.0-preamble.expected.json` what that server held, read back over
//! RESP. `UPDATE_TESTDATA=1 cargo test --release --test it
//! testdata_subcommands::shipped_aof_is_what_the_server_held -- --exact`
//! regenerates both with the `redis-server` on `PATH`.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::expected::{self, Canon};
use common::live::{self, LiveOptions};
use common::{RedisServer, Reply};
use serde_json::{Value as J, json};

type Dbs = BTreeMap<u64, BTreeMap<String, J>>;

const AOF: &str = "aof/redis-7.0-preamble";
const AOF_EXPECTED: &str = "aof/redis-7.0-preamble.expected.json";

/// Consumers' seen times are not compared (not recorded in the expected
/// file): a replay sets them to the time of the replay, as the server's does.
const IGNORE_TIMES: Canon = Canon {
    ignore_consumer_times: true,
};

fn ok(s: &mut RedisServer, args: &[&str]) {
    let r = s.cmd(args);
    assert!(!matches!(r, Reply::Error(_)), "{args:?} -> {r:?}");
}

/// Commands of every type, in two databases, with expiries, deletions,
/// overwrites and a transaction; half before the rewrite (into the RDB base),
/// half after (into the incremental file).
fn workload(s: &mut RedisServer, after_rewrite: bool) {
    if after_rewrite {
        for c in [
            &["SET", "s:counter", "41"][..],
            &["INCR", "s:counter"],
            &["APPEND", "s:text", " and more"],
            &["DEL", "s:gone"],
            &["RPUSH", "l:small", "d", "e"],
            &["LPOP", "l:small"],
            &["SADD", "set:ints", "-5", "70000"],
            &["SREM", "set:strs", "b"],
            &["ZADD", "z:small", "2.5", "c", "-inf", "low"],
            &["ZINCRBY", "z:small", "1", "a"],
            &["HSET", "h:small", "f3", "v3"],
            &["HDEL", "h:small", "f1"],
            &["XADD", "x:stream", "5-1", "k", "v5"],
            &["XDEL", "x:stream", "2-1"],
            &[
                "XREADGROUP",
                "GROUP",
                "g1",
                "alice",
                "COUNT",
                "2",
                "STREAMS",
                "x:stream",
                ">",
            ],
            &["XACK", "x:stream", "g1", "1-1"],
            &["PEXPIREAT", "s:text", "4102444800000"],
            &["PERSIST", "h:small"],
            &["MULTI"],
            &["SET", "s:tx", "in a transaction"],
            &["LPUSH", "l:small", "tx"],
            &["EXEC"],
            &["SELECT", "3"],
            &["SET", "db3:new", "after the rewrite"],
            &["RENAME", "db3:key", "db3:renamed"],
            &["SELECT", "0"],
            &["SETEX", "s:setex", "100000000", "expires"],
        ] {
            ok(s, c);
        }
        return;
    }
    let big: String = "x".repeat(200);
    let mut cmds: Vec<Vec<String>> = vec![
        vec!["SET".into(), "s:text".into(), "hello".into()],
        vec!["SET".into(), "s:int".into(), "-123456789".into()],
        vec!["SET".into(), "s:big".into(), big.clone()],
        vec!["SET".into(), "s:gone".into(), "deleted later".into()],
        vec!["SET".into(), "s:bin\u{1}\u{ff}".into(), "\u{0}\r\n".into()],
        vec![
            "RPUSH".into(),
            "l:small".into(),
            "a".into(),
            "b".into(),
            "c".into(),
        ],
        vec![
            "SADD".into(),
            "set:ints".into(),
            "1".into(),
            "2".into(),
            "3".into(),
        ],
        vec![
            "SADD".into(),
            "set:strs".into(),
            "a".into(),
            "b".into(),
            "c".into(),
        ],
        vec![
            "ZADD".into(),
            "z:small".into(),
            "1".into(),
            "a".into(),
            "0.1".into(),
            "b".into(),
        ],
        vec![
            "HSET".into(),
            "h:small".into(),
            "f1".into(),
            "v1".into(),
            "f2".into(),
            "v2".into(),
        ],
        vec!["PEXPIREAT".into(), "h:small".into(), "4102444800000".into()],
        vec![
            "XADD".into(),
            "x:stream".into(),
            "1-1".into(),
            "k".into(),
            "v1".into(),
        ],
        vec![
            "XADD".into(),
            "x:stream".into(),
            "2-1".into(),
            "k".into(),
            "v2".into(),
        ],
        vec![
            "XADD".into(),
            "x:stream".into(),
            "3-1".into(),
            "k".into(),
            "v3".into(),
        ],
        vec![
            "XGROUP".into(),
            "CREATE".into(),
            "x:stream".into(),
            "g1".into(),
            "0".into(),
        ],
        vec!["SELECT".into(), "3".into()],
        vec!["SET".into(), "db3:key".into(), "in db 3".into()],
        vec!["SELECT".into(), "0".into()],
    ];
    // Encodings past the small ones: a quicklist, a hashtable set and hash,
    // a skiplist.
    let mut list = vec!["RPUSH".to_owned(), "l:big".to_owned()];
    let mut set = vec!["SADD".to_owned(), "set:big".to_owned()];
    let mut hash = vec!["HSET".to_owned(), "h:big".to_owned()];
    let mut zset = vec!["ZADD".to_owned(), "z:big".to_owned()];
    for i in 0..150 {
        list.push(format!("item-{i}"));
        set.push(format!("member-{i}"));
        hash.extend([format!("field-{i}"), format!("value-{i}")]);
        zset.extend([format!("{}", f64::from(i) / 4.0), format!("m-{i}")]);
    }
    list.push(big);
    cmds.extend([list, set, hash, zset]);
    for c in &cmds {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        ok(s, &args);
    }
}

/// Waits until the server has no AOF rewrite running or scheduled.
fn wait_for_rewrite(s: &mut RedisServer) {
    for _ in 0..500 {
        let info = String::from_utf8(s.cmd(&["INFO", "persistence"]).bytes()).unwrap();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the AOF rewrite did not finish");
}

fn regenerate() {
    let Some(mut s) = RedisServer::start_with(
        &["--appendonly", "yes", "--aof-use-rdb-preamble", "yes"],
        &[],
    ) else {
        panic!("UPDATE_TESTDATA needs redis-server")
    };
    wait_for_rewrite(&mut s);
    workload(&mut s, false);
    ok(&mut s, &["BGREWRITEAOF"]);
    wait_for_rewrite(&mut s);
    workload(&mut s, true);
    let version = String::from_utf8(s.cmd(&["INFO", "server"]).bytes()).unwrap();
    let version = version
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap()
        .trim()
        .to_string();
    let dbs = live::dataset(
        &mut s,
        LiveOptions {
            ignore_consumer_times: true,
        },
    );
    let dst = common::testdata(AOF);
    let _ = std::fs::remove_dir_all(&dst);
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(s.dir.path().join("appendonlydir")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dst.join(p.file_name().unwrap())).unwrap();
    }
    let doc = json!({ "redis_version": version, "dbs": dbs });
    std::fs::write(
        common::testdata(AOF_EXPECTED),
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();
}

fn run_ok(args: &[&str]) -> Output {
    let out = common::run(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The records of a JSON Lines dump, canonical form, by db and key.
fn dumped(input: &Path, c: Canon) -> Dbs {
    let out = run_ok(&["--no-progress", "dump", &s(input)]);
    let mut dbs = Dbs::new();
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let r: J = serde_json::from_slice(line).unwrap();
        if r.get("record").is_some() {
            continue;
        }
        let key = expected::key_form(&expected::bytes_of(&r["key"]));
        let db = r["db"].as_u64().unwrap();
        let prev = dbs
            .entry(db)
            .or_default()
            .insert(key.clone(), expected::canon_expected(&r, c));
        assert!(prev.is_none(), "{}: two records of {key}", input.display());
    }
    dbs
}

/// The expected file's `dbs` (the AOF's was recorded without consumer times).
fn expected_dbs(rel: &str) -> Dbs {
    let doc: J = serde_json::from_slice(&std::fs::read(common::testdata(rel)).unwrap()).unwrap();
    let mut want: Dbs = serde_json::from_value(doc["dbs"].clone()).unwrap();
    // Files written before the `idmp` object: the default IDMP state.
    for e in want.values_mut().flat_map(BTreeMap::values_mut) {
        if e["type"] == "stream" && e["value"].get("idmp").is_none() {
            e["value"]["idmp"] = expected::canon_idmp_expected(None);
        }
    }
    want
}

fn assert_same(want: &Dbs, got: &Dbs, what: &str) {
    let diffs = expected::diff_dbs(want, got);
    assert!(diffs.is_empty(), "{what}:\n{}", diffs.join("\n"));
}

fn aof_copy(tmp: &Path) -> PathBuf {
    let dir = tmp.join("appendonlydir");
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir(common::testdata(AOF)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    dir
}

fn incr_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .expect("an incremental file")
}

#[test]
fn shipped_aof_is_what_the_server_held() {
    if std::env::var_os("UPDATE_TESTDATA").is_some() {
        regenerate();
    }
    let dir = common::testdata(AOF);
    // The shape the tests rely on: an RDB-preamble base and commands after it.
    let base = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".base.rdb"))
        .expect("an RDB base");
    assert!(std::fs::read(base).unwrap().starts_with(b"REDIS"));
    assert!(std::fs::metadata(incr_file(&dir)).unwrap().len() > 0);

    // dump replays it to the server's dataset.
    let want = expected_dbs(AOF_EXPECTED);
    assert!(want.values().map(BTreeMap::len).sum::<usize>() >= 15);
    assert_same(&want, &dumped(&dir, IGNORE_TIMES), "dump of the AOF");

    // check-aof: valid, human and JSON.
    let out = run_ok(&["--no-progress", "check-aof", &s(&dir)]);
    assert!(out.stderr.is_empty() || !String::from_utf8_lossy(&out.stdout).is_empty());
    let out = run_ok(&["--no-progress", "check-aof", "--json", &s(&dir)]);
    let doc: J = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], J::Bool(true), "{doc}");

    // stats counts the keys of the replayed dataset.
    let out = run_ok(&["--no-progress", "stats", "--json", &s(&dir)]);
    let doc: J = serde_json::from_slice(&out.stdout).unwrap();
    let keys = want.values().map(BTreeMap::len).sum::<usize>() as u64;
    assert_eq!(doc["keys"].as_u64(), Some(keys), "stats keys");
    assert_eq!(doc["input"], "aof-replayed", "{}", doc["input"]);
}

/// `dump` of the shipped RDB (the README's first file) holds what the server did.
#[test]
fn shipped_rdb_dumps_to_what_the_server_held() {
    let rdb = common::testdata("rdb/redis-7.0-types.rdb");
    let want = expected_dbs("rdb/redis-7.0-types.expected.json");
    assert_same(&want, &dumped(&rdb, Canon::default()), "dump of the RDB");
}

/// `convert-aof-to-hybrid` of the shipped AOF: a valid hybrid AOF holding the
/// same dataset, and the input unchanged.
#[test]
fn shipped_aof_converts_to_the_same_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let input = aof_copy(tmp.path());
    let before: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&input)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    let output = tmp.path().join("converted");
    run_ok(&[
        "--no-progress",
        "convert-aof-to-hybrid",
        &s(&input),
        "-o",
        &s(&output),
    ]);
    for (p, b) in &before {
        assert_eq!(&std::fs::read(p).unwrap(), b, "{} changed", p.display());
    }
    let out = run_ok(&["--no-progress", "check-aof", "--json", &s(&output)]);
    let doc: J = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], J::Bool(true), "{doc}");
    let want = expected_dbs(AOF_EXPECTED);
    assert_same(
        &want,
        &dumped(&output, IGNORE_TIMES),
        "dump of the conversion",
    );
}

/// `check-aof` on the shipped AOF with its last command torn, as a crash
/// leaves it: exit 1, then `--fix` cuts exactly the torn command (with a
/// backup) and the result is valid again.
#[test]
fn torn_shipped_aof_is_found_and_fixed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = aof_copy(tmp.path());
    let incr = incr_file(&dir);
    let bytes = std::fs::read(&incr).unwrap();
    // The start of the last command, then a cut in its middle.
    let last = bytes
        .windows(3)
        .rposition(|w| w == b"\r\n*")
        .expect("a last command")
        + 2;
    let cut = last + (bytes.len() - last) / 2;
    std::fs::write(&incr, &bytes[..cut]).unwrap();
    let out = common::run(&["--no-progress", "check-aof", &s(&dir)]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run_ok(&["--no-progress", "check-aof", "--fix", "--yes", &s(&dir)]);
    let fixed = std::fs::read(&incr).unwrap();
    assert!(
        fixed == bytes[..last],
        "the fix keeps every whole command and only them: {} bytes left of {cut}, want {last}\n{}",
        fixed.len(),
        String::from_utf8_lossy(&out.stdout)
    );
    let backups = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("bak")
        })
        .count();
    assert!(backups >= 1, "a backup beside the file");
    run_ok(&["--no-progress", "check-aof", &s(&dir)]);
}

/// `check-rdb` and `stats --deep` never give counts that leave part of a
/// damaged file out without saying how much (issue 18): the shipped damaged
/// Valkey 9 file stops the reading at its type-22 record, 21,400 bytes before
/// its end.
#[test]
fn counts_of_a_damaged_file_say_what_was_not_checked() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/rdb/hash2-damaged-input.rdb");
    let size = std::fs::metadata(&path).unwrap().len();
    let p = path.to_str().unwrap();
    let r = common::run(&["check-rdb", "--json", p]);
    assert_eq!(r.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let file = &doc["files"][0];
    assert_eq!(file["end_offset"], serde_json::Value::Null);
    let unchecked = file["unchecked_bytes"].as_u64().expect("unchecked_bytes");
    let stop = file["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["offset"].as_u64())
        .max()
        .unwrap();
    assert_eq!(unchecked, size - stop);
    assert!(unchecked > 0);
    let human = common::run(&["check-rdb", p]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains(&format!("the last {unchecked} bytes")) && text.contains("not checked"),
        "{text}"
    );
    let stats = common::run(&["stats", "--deep", p]);
    let text = String::from_utf8_lossy(&stats.stdout).replace('\n', " ");
    assert!(
        text.contains(&format!("the last {unchecked}")) && text.contains("not checked"),
        "{text}"
    );
    // An undamaged file says nothing of the kind.
    let good = common::run(&["check-rdb", "--json", "testdata/rdb/redis-7.0-types.rdb"]);
    let doc: serde_json::Value = serde_json::from_slice(&good.stdout).unwrap();
    assert_eq!(doc["files"][0]["unchecked_bytes"], serde_json::Value::Null);
}

/// `rewrite` of the shipped RDB (no corpus or server needed): for Valkey 9
/// (`VALKEY080`) nothing changes and the dataset is the one the server held;
/// for Redis 6.2 (RDB 9) the function library is dropped under
/// `--incompatible drop-feature` (reported, exit 1) and every key keeps its
/// value (streams: their entries; RDB 9 has no group counters).
#[test]
fn shipped_rdb_rewrites_for_older_and_other_servers() {
    let tmp = tempfile::tempdir().unwrap();
    let rdb = common::testdata("rdb/redis-7.0-types.rdb");
    let want = expected_dbs("rdb/redis-7.0-types.expected.json");

    let valkey = tmp.path().join("valkey9.rdb");
    run_ok(&[
        "--no-progress",
        "rewrite",
        &s(&rdb),
        "-o",
        &s(&valkey),
        "--target",
        "valkey-9.0",
    ]);
    assert!(std::fs::read(&valkey).unwrap().starts_with(b"VALKEY080"));
    // RDB 11+ stores a consumer's active time, which a loader of the RDB 10
    // input derives from its seen time: written as that.
    let mut got = dumped(&valkey, Canon::default());
    for c in got
        .values_mut()
        .flat_map(BTreeMap::values_mut)
        .filter(|e| e["type"] == "stream")
        .flat_map(|e| e["value"]["groups"].as_array_mut().unwrap().iter_mut())
        .flat_map(|g| g["consumers"].as_array_mut().unwrap().iter_mut())
    {
        assert_eq!(c["active_time_ms"], c["seen_time_ms"], "{c}");
        c["active_time_ms"] = J::Null;
    }
    assert_same(&want, &got, "rewrite for valkey-9.0");

    let old = tmp.path().join("redis62.rdb");
    let out = common::run(&[
        "--no-progress",
        "rewrite",
        &s(&rdb),
        "-o",
        &s(&old),
        "--target",
        "redis-6.2",
        "--incompatible",
        "drop-feature",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: J = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["functions_in"].as_u64(), Some(1), "{report}");
    assert_eq!(report["functions_out"].as_u64(), Some(0), "{report}");
    assert_eq!(
        report["functions_dropped"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    // Only the streams' RDB 10 fields are reported changed.
    for c in report["changed"].as_array().unwrap() {
        assert!(c["key"].as_str().unwrap().starts_with("st"), "{c}");
    }
    assert_eq!(
        report["skipped"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    assert!(std::fs::read(&old).unwrap().starts_with(b"REDIS0009"));
    let got = dumped(&old, Canon::default());
    assert_eq!(
        want.values().map(BTreeMap::len).collect::<Vec<_>>(),
        got.values().map(BTreeMap::len).collect::<Vec<_>>()
    );
    for (db, keys) in &want {
        for (key, e) in keys {
            let g = &got[db][key];
            if e["type"] == "stream" {
                assert_eq!(e["value"]["entries"], g["value"]["entries"], "{key}");
            } else {
                assert_eq!(e, g, "{key}");
            }
        }
    }
}
