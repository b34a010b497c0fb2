//! `rewrite` on small files written by the library's writer: the filters
//! (`--db`, `--key` with Redis glob rules, `--key-regex`, `--type`,
//! `--drop-expired`), `--db-map`, the `--duplicates` and `--incompatible`
//! policies, function libraries, the clobber guard, standard input, an AOF
//! input, and the report's per-database reconciliation. What a file holds
//! is read back with the library's reader.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use redis_persist::io::Source;
use redis_persist::model::{Entry, FunctionLibrary, HashField, Value};
use redis_persist::rdb::writer::{WriterOptions, write_all};
use redis_persist::rdb::{Entries, Item, Reader};
use serde_json::Value as J;

fn s(x: &str) -> Vec<u8> {
    x.as_bytes().to_vec()
}

fn string(db: u64, key: &str, v: &str) -> Entry {
    Entry::new(db, key, None, Value::String(s(v)))
}

/// Writes `entries` (and `functions`) as an RDB file of `version`.
fn rdb(
    dir: &Path,
    name: &str,
    version: u32,
    functions: &[FunctionLibrary],
    entries: Vec<Entry>,
) -> PathBuf {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).unwrap();
    write_all(
        f,
        WriterOptions::for_version(version),
        functions,
        entries,
        |_| (0, 0),
    )
    .unwrap();
    path
}

/// (db, key) -> entry.
type Keys = BTreeMap<(u64, Vec<u8>), Entry>;

/// Every key of an RDB file, with the header's version and the libraries.
fn read(path: &Path) -> (u32, Keys, Vec<FunctionLibrary>) {
    let f = std::fs::File::open(path).unwrap();
    let mut it = Entries::new(Reader::new(Source::new(f)));
    let (mut version, mut keys, mut libs) = (0, BTreeMap::new(), Vec::new());
    while let Some(item) = it.next_item().unwrap() {
        match item {
            Item::Header { version: v, .. } => version = v,
            Item::Entry(e) => {
                assert!(
                    keys.insert((e.db, e.key.clone()), *e).is_none(),
                    "duplicate key"
                );
            }
            Item::Function(l) => libs.push(l),
            _ => {}
        }
    }
    (version, keys, libs)
}

fn run(args: &[&str]) -> (Output, J) {
    let o = common::run(&[&["rewrite", "--json"][..], args].concat());
    let j = serde_json::from_slice(&o.stdout).unwrap_or(J::Null);
    (o, j)
}

fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

fn keys_of(path: &Path) -> Vec<(u64, String)> {
    read(path)
        .1
        .keys()
        .map(|(d, k)| (*d, String::from_utf8_lossy(k).into_owned()))
        .collect()
}

fn sample() -> Vec<Entry> {
    vec![
        string(0, "user:1", "a"),
        string(0, "user:2", "b"),
        string(0, "user:10", "c"),
        string(0, "us*r", "star"),
        string(0, "session:x", "d"),
        Entry::new(0, "old", Some(1_000), Value::String(s("expired"))),
        Entry::new(
            0,
            "later",
            Some(4_000_000_000_000),
            Value::String(s("kept")),
        ),
        Entry::new(0, "list", None, Value::List(vec![s("x"), s("y")])),
        Entry::new(0, "set", None, Value::Set(vec![s("m")])),
        string(1, "user:1", "db1"),
        string(2, "other", "db2"),
    ]
}

fn filtered(args: &[&str]) -> Vec<(u64, String)> {
    let dir = tempfile::tempdir().unwrap();
    let input = rdb(dir.path(), "in.rdb", 10, &[], sample());
    let out = dir.path().join("out.rdb");
    let mut a = vec![p(&input), "-o", p(&out), "--target", "redis-7.0"];
    a.extend_from_slice(args);
    let (o, j) = run(&a);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {j} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(j["keys_in"], 11);
    assert_eq!(
        j["keys_out"].as_u64().unwrap() + j["filtered"].as_u64().unwrap(),
        11,
        "{j}"
    );
    for db in j["dbs"].as_array().unwrap() {
        assert_eq!(db["written"], db["read_back"], "{j}");
        assert_eq!(db["ok"], true);
    }
    keys_of(&out)
}

fn k(db: u64, key: &str) -> (u64, String) {
    (db, key.to_owned())
}

#[test]
fn glob_filter_follows_redis_rules() {
    assert_eq!(
        filtered(&["--key", "user:?"]),
        vec![k(0, "user:1"), k(0, "user:2"), k(1, "user:1")]
    );
    assert_eq!(
        filtered(&["--key", "user:[!-1]*", "--db", "0"]),
        vec![k(0, "user:1"), k(0, "user:10")]
    );
    assert_eq!(filtered(&["--key", "user:[^1]"]), vec![k(0, "user:2")]);
    assert_eq!(filtered(&["--key", "us\\*r"]), vec![k(0, "us*r")]);
    assert_eq!(
        filtered(&["--key", "us*r"]),
        vec![k(0, "us*r")],
        "* matches any run, but no user:N ends in r"
    );
    assert_eq!(
        filtered(&["--key", "session:*", "--key", "other"]),
        vec![k(0, "session:x"), k(2, "other")]
    );
}

#[test]
fn regex_type_db_and_expiry_filters() {
    assert_eq!(
        filtered(&["--key-regex", "^user:1\\d$"]),
        vec![k(0, "user:10")]
    );
    assert_eq!(
        filtered(&["--type", "list", "--type", "set"]),
        vec![k(0, "list"), k(0, "set")]
    );
    assert_eq!(
        filtered(&["--db", "1", "--db", "2"]),
        vec![k(1, "user:1"), k(2, "other")]
    );
    let all = filtered(&[]);
    assert_eq!(all.len(), 11);
    let live = filtered(&["--drop-expired", "--now", "2000"]);
    assert_eq!(live.len(), 10);
    assert!(!live.contains(&k(0, "old")) && live.contains(&k(0, "later")));
    // Everything is still there before the expiry.
    assert_eq!(filtered(&["--drop-expired", "--now", "500"]).len(), 11);
}

#[test]
fn db_map_moves_databases_after_the_filters() {
    assert_eq!(
        filtered(&["--db", "2", "--db-map", "2=5"]),
        vec![k(5, "other")]
    );
    // Mapping onto a database that has the same key is a duplicate.
    let dir = tempfile::tempdir().unwrap();
    let input = rdb(dir.path(), "in.rdb", 10, &[], sample());
    let out = dir.path().join("out.rdb");
    let (o, j) = run(&[
        p(&input),
        "-o",
        p(&out),
        "--target",
        "7.0",
        "--db-map",
        "1=0",
        "--duplicates",
        "first",
    ]);
    assert_eq!(o.status.code(), Some(1), "{j}");
    assert_eq!(j["duplicates"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(j["duplicates"][0]["key"], "user:1");
    let (_, keys, _) = read(&out);
    assert_eq!(keys[&(0, s("user:1"))].value, Value::String(s("a")));
    assert!(!keys.keys().any(|(d, _)| *d == 1));
}

fn two_inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let a = rdb(
        dir,
        "a.rdb",
        10,
        &[],
        vec![
            string(0, "only-a", "1"),
            string(0, "both", "from-a"),
            string(1, "x", "a"),
        ],
    );
    let b = rdb(
        dir,
        "b.rdb",
        11,
        &[],
        vec![
            string(0, "both", "from-b"),
            string(0, "only-b", "2"),
            string(1, "x", "b"),
        ],
    );
    (a, b)
}

#[test]
fn merge_duplicates_policies() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_inputs(dir.path());
    let out = dir.path().join("out.rdb");

    // fail (the default): every duplicate listed, nothing written.
    let (o, j) = run(&[p(&a), p(&b), "-o", p(&out), "--target", "redis-7.2"]);
    assert_eq!(o.status.code(), Some(2), "{j}");
    assert_eq!(j["written"], false);
    let refused: Vec<(u64, String)> = j["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["db"].as_u64().unwrap(),
                r["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(refused, vec![k(0, "both"), k(1, "x")]);
    assert!(!out.exists());
    assert!(
        std::fs::read_dir(dir.path()).unwrap().count() == 2,
        "no temporary file left"
    );

    for (policy, want) in [("first", "a"), ("last", "b")] {
        let (o, j) = run(&[
            p(&a),
            p(&b),
            "-o",
            p(&out),
            "--target",
            "redis-7.2",
            "--duplicates",
            policy,
            "--force",
        ]);
        assert_eq!(o.status.code(), Some(1), "{policy}: {j}");
        assert_eq!(j["keys_in"], 6);
        assert_eq!(j["keys_out"], 4);
        assert_eq!(j["duplicates"].as_array().unwrap().len(), 2);
        let (v, keys, _) = read(&out);
        assert_eq!(v, 11);
        assert_eq!(keys.len(), 4);
        assert_eq!(
            keys[&(0, s("both"))].value,
            Value::String(s(&format!("from-{want}")))
        );
        assert_eq!(keys[&(1, s("x"))].value, Value::String(s(want)));
        assert!(keys.contains_key(&(0, s("only-a"))) && keys.contains_key(&(0, s("only-b"))));
        // The dropped record is the other input's.
        let dropped_from: Vec<u64> = j["duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["input"].as_u64().unwrap())
            .collect();
        assert_eq!(
            dropped_from,
            if want == "a" { vec![1, 1] } else { vec![0, 0] }
        );
    }

    // No overlap: exit 0.
    let (o, j) = run(&[
        p(&a),
        p(&b),
        "-o",
        p(&out),
        "--target",
        "redis-7.2",
        "--key",
        "only-*",
        "--force",
    ]);
    assert_eq!(o.status.code(), Some(0), "{j}");
    assert_eq!(keys_of(&out), vec![k(0, "only-a"), k(0, "only-b")]);
}

fn ttl_hash() -> Entry {
    Entry::new(
        0,
        "h",
        None,
        Value::Hash(vec![
            HashField {
                field: s("keep"),
                value: s("1"),
                expire_ms: Some(4_000_000_000_000),
            },
            HashField {
                field: s("gone"),
                value: s("2"),
                expire_ms: Some(1_000),
            },
            HashField {
                field: s("plain"),
                value: s("3"),
                expire_ms: None,
            },
        ]),
    )
}

#[test]
fn incompatible_policies_for_field_ttls() {
    let dir = tempfile::tempdir().unwrap();
    let input = rdb(
        dir.path(),
        "in.rdb",
        12,
        &[],
        vec![ttl_hash(), string(0, "s", "v")],
    );
    let out = dir.path().join("out.rdb");
    let base = [p(&input), "-o", p(&out), "--now", "2000"];

    let (o, j) = run(&[&base[..], &["--target", "redis-7.2"]].concat());
    assert_eq!(o.status.code(), Some(2), "{j}");
    assert_eq!(j["refused"][0]["key"], "h");
    assert!(
        j["refused"][0]["what"]
            .as_str()
            .unwrap()
            .contains("2 hash field TTL"),
        "{j}"
    );
    assert!(!out.exists());

    let (o, j) = run(&[
        &base[..],
        &["--target", "redis-7.2", "--incompatible", "skip-key"],
    ]
    .concat());
    assert_eq!(o.status.code(), Some(1), "{j}");
    assert_eq!(j["skipped"][0]["key"], "h");
    assert_eq!(keys_of(&out), vec![k(0, "s")]);

    let (o, j) = run(&[
        &base[..],
        &[
            "--target",
            "valkey-8.1",
            "--incompatible",
            "drop-feature",
            "--force",
        ],
    ]
    .concat());
    assert_eq!(o.status.code(), Some(1), "{j}");
    assert!(
        j["changed"][0]["what"]
            .as_str()
            .unwrap()
            .contains("1 already expired field"),
        "{j}"
    );
    let (v, keys, _) = read(&out);
    assert_eq!(v, 11);
    let Value::Hash(h) = &keys[&(0, s("h"))].value else {
        panic!()
    };
    let fields: Vec<(&[u8], Option<i64>)> = h
        .iter()
        .map(|f| (f.field.as_slice(), f.expire_ms))
        .collect();
    assert_eq!(fields, vec![(&b"keep"[..], None), (&b"plain"[..], None)]);
    // The Valkey flavour of RDB 11: valkey-ver.
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.windows(10).any(|w| w == b"valkey-ver"));

    // Targets that hold them: Redis 7.4 (24/25) and Valkey 9 (22), no change.
    for (t, v) in [("redis-7.4", 12), ("valkey-9.0", 80)] {
        let (o, j) = run(&[&base[..], &["--target", t, "--force"]].concat());
        assert_eq!(o.status.code(), Some(0), "{t}: {j}");
        let (ver, keys, _) = read(&out);
        assert_eq!(ver, v);
        let sorted = |e: &Entry| {
            let Value::Hash(h) = &e.value else { panic!() };
            let mut h = h.clone();
            h.sort_by(|a, b| a.field.cmp(&b.field));
            h
        };
        assert_eq!(sorted(&keys[&(0, s("h"))]), sorted(&ttl_hash()), "{t}");
    }
}

#[test]
fn functions_need_redis_7() {
    let dir = tempfile::tempdir().unwrap();
    let lib = FunctionLibrary {
        code: s("#!lua name=mylib\nredis.register_function('f', function() return 1 end)"),
    };
    let input = rdb(
        dir.path(),
        "in.rdb",
        10,
        std::slice::from_ref(&lib),
        vec![string(0, "s", "v")],
    );
    let out = dir.path().join("out.rdb");
    let (o, j) = run(&[p(&input), "-o", p(&out), "--target", "redis-6.2"]);
    assert_eq!(o.status.code(), Some(2), "{j}");
    assert!(j["refused"][0]["what"].as_str().unwrap().contains("mylib"));
    let (o, j) = run(&[
        p(&input),
        "-o",
        p(&out),
        "--target",
        "redis-6.0",
        "--incompatible",
        "drop-feature",
    ]);
    assert_eq!(o.status.code(), Some(1), "{j}");
    assert_eq!(j["functions_out"], 0);
    let (v, keys, libs) = read(&out);
    assert_eq!((v, keys.len(), libs.len()), (9, 1, 0));
    // The same library in two inputs is written once.
    let (o, j) = run(&[
        p(&input),
        p(&input),
        "-o",
        p(&out),
        "--target",
        "redis-7.0",
        "--duplicates",
        "first",
        "--force",
    ]);
    assert_eq!(o.status.code(), Some(1), "{j}");
    assert_eq!(j["functions_in"], 2);
    assert_eq!(j["functions_out"], 1);
    assert_eq!(read(&out).2, vec![lib]);
}

#[test]
fn outputs_never_replace_inputs_and_need_force() {
    let dir = tempfile::tempdir().unwrap();
    let input = rdb(dir.path(), "in.rdb", 10, &[], vec![string(0, "s", "v")]);
    let before = std::fs::read(&input).unwrap();
    let (o, _) = run(&[
        p(&input),
        "-o",
        p(&input),
        "--target",
        "redis-6.2",
        "--force",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&input).unwrap(), before);
    let out = dir.path().join("out.rdb");
    std::fs::write(&out, b"keep").unwrap();
    let (o, _) = run(&[p(&input), "-o", p(&out), "--target", "redis-6.2"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep");
    let (o, _) = run(&[p(&input), "-o", p(&out), "--target", "nosuch-1.0"]);
    assert_eq!(o.status.code(), Some(2));
    let (o, _) = run(&[p(&input), "-o", p(&out)]);
    assert_eq!(o.status.code(), Some(2), "a target is required");
}

#[test]
fn standard_input_and_rdb_version() {
    let dir = tempfile::tempdir().unwrap();
    let input = rdb(dir.path(), "in.rdb", 12, &[], sample());
    let out = dir.path().join("out.rdb");
    let o = common::bin()
        .args([
            "rewrite",
            "-",
            "-o",
            p(&out),
            "--rdb-version",
            "9",
            "--json",
        ])
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (v, keys, _) = read(&out);
    assert_eq!(v, 9);
    assert_eq!(keys.len(), 11);
    assert_eq!(read(&input).1, keys);
}

#[test]
fn an_aof_is_rewritten_as_its_dataset_after_replay() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let folder = corpus.join("redis-7.0.15");
    let doc: J = serde_json::from_slice(
        &std::fs::read(folder.join("expected-aof-nopreamble.json")).unwrap(),
    )
    .unwrap();
    let want: usize = doc["dbs"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m.as_object().unwrap().len())
        .sum();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.rdb");
    let (o, j) = run(&[
        p(&folder.join("aof-nopreamble")),
        "-o",
        p(&out),
        "--target",
        "redis-7.2",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{j} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(j["inputs"][0]["kind"], "aof");
    let (v, keys, libs) = read(&out);
    assert_eq!(v, 11);
    assert_eq!(keys.len(), want);
    let mut codes: Vec<Vec<u8>> = libs.into_iter().map(|l| l.code).collect();
    let mut want_codes: Vec<Vec<u8>> = doc["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| s(f["code"].as_str().unwrap()))
        .collect();
    codes.sort();
    want_codes.sort();
    assert_eq!(codes, want_codes);
}

#[test]
fn damaged_newer_and_hybrid_inputs_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = rdb(dir.path(), "in.rdb", 10, &[], sample());
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.rdb");
    std::fs::write(&cut, &bytes[..bytes.len() - 20]).unwrap();
    let newer = dir.path().join("newer.rdb");
    std::fs::write(&newer, b"REDIS0014").unwrap();
    let out = dir.path().join("out.rdb");
    let files = || {
        let mut v: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let before = files();
    let (o, _) = run(&[p(&cut), "-o", p(&out), "--target", "redis-7.2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("salvage"));
    let (o, _) = run(&[p(&newer), "-o", p(&out), "--target", "redis-7.2"]);
    assert_eq!(o.status.code(), Some(3));
    // A later input's damage: nothing of the first is left either.
    let (o, _) = run(&[p(&good), p(&cut), "-o", p(&out), "--target", "redis-7.2"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(files(), before, "no output, no temporary file");

    let Some(corpus) = common::corpus() else {
        return;
    };
    let folder = corpus.join("redis-6.2.14");
    let hybrid = folder.join("appendonly-preamble.aof");
    let (o, _) = run(&[p(&hybrid), "-o", p(&out), "--target", "redis-7.2"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a hybrid AOF is not read as its preamble alone"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--aof"));
    let (o, j) = run(&[p(&hybrid), "-o", p(&out), "--target", "redis-7.2", "--aof"]);
    assert_eq!(o.status.code(), Some(0), "{j}");
    let doc: J =
        serde_json::from_slice(&std::fs::read(folder.join("expected-aof-preamble.json")).unwrap())
            .unwrap();
    let want: usize = doc["dbs"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m.as_object().unwrap().len())
        .sum();
    assert_eq!(read(&out).1.len(), want);
}

/// Every key's type byte in an RDB file.
fn types_of(path: &Path) -> BTreeMap<Vec<u8>, u8> {
    let f = std::fs::File::open(path).unwrap();
    let mut r = Reader::new(Source::new(f));
    let mut out = BTreeMap::new();
    while let Some(ev) = r.next_event().unwrap() {
        if let redis_persist::rdb::Event::KeyStart(k) = ev {
            out.insert(k.key.to_vec(), k.rdb_type);
        }
    }
    out
}

/// Sets and hashes in a canonical order (a hashtable is written in its
/// stored order, an intset sorted).
fn normalized(mut keys: Keys) -> Keys {
    for e in keys.values_mut() {
        match &mut e.value {
            Value::Set(m) => m.sort(),
            Value::Hash(h) => h.sort_by(|a, b| a.field.cmp(&b.field)),
            _ => {}
        }
    }
    keys
}

/// The rewrite's fast path (values read flat; what the target keeps byte
/// for byte copied as stored) against a Redis 7.0 file: every value reads
/// back the same, in the encoding Redis 6.2 gives it: LZF, incompressible
/// and integer strings; an intset; sets, zsets and hashes that stay
/// hashtables (too many or too long elements) and ones that become
/// ziplists; a quicklist of listpacks that becomes one of ziplists.
#[test]
fn fast_path_keeps_values_and_takes_the_targets_encodings() {
    let dir = tempfile::tempdir().unwrap();
    let words = |n: usize, w: usize| -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("{i:0w$}-{}", "m".repeat(w)).into_bytes())
            .collect()
    };
    let mut random = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..120)
        .map(|_| {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            (random >> 56) as u8
        })
        .collect();
    let hash = |n: usize, w: usize| {
        Value::Hash(
            words(n, w)
                .into_iter()
                .enumerate()
                .map(|(i, v)| HashField {
                    field: format!("f{i}").into_bytes(),
                    value: v,
                    expire_ms: None,
                })
                .collect(),
        )
    };
    let zset = |n: usize, w: usize| {
        Value::Zset(
            words(n, w)
                .into_iter()
                .enumerate()
                .map(|(i, m)| (m, i as f64 / 4.0))
                .collect(),
        )
    };
    let e = |k: &str, v: Value| Entry::new(0, k, None, v);
    let entries = vec![
        e("lzf", Value::String(s(&"abcdefgh".repeat(20)))),
        e("noise", Value::String(noise)),
        e("int", Value::String(s("-123456"))),
        e("short", Value::String(s("hello"))),
        e(
            "intset",
            Value::Set((1..=10).map(|i| i.to_string().into_bytes()).collect()),
        ),
        e(
            "ints-600",
            Value::Set((0..600).map(|i| (i * 7).to_string().into_bytes()).collect()),
        ),
        e("set-words", Value::Set(words(200, 3))),
        e("set-small", Value::Set(words(5, 3))),
        e("hash-600", hash(600, 2)),
        e("hash-long", hash(2, 100)),
        e("hash-small", hash(10, 2)),
        e("zset-200", zset(200, 2)),
        e("zset-long", zset(3, 100)),
        e("zset-small", zset(10, 2)),
        e("list", Value::List(words(3000, 20))),
        Entry::new(
            0,
            "expiring",
            Some(4_102_444_800_000),
            Value::Set(words(150, 1)),
        ),
    ];
    let input = rdb(dir.path(), "in.rdb", 10, &[], entries);
    let out = dir.path().join("out.rdb");
    let (o, _) = run(&[p(&input), "-o", p(&out), "--target", "redis-6.2"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (v, keys, _) = read(&out);
    assert_eq!(v, 9);
    assert_eq!(normalized(read(&input).1), normalized(keys));
    let types = types_of(&out);
    let want: &[(&str, u8)] = &[
        ("lzf", 0),
        ("noise", 0),
        ("int", 0),
        ("short", 0),
        ("intset", 11),
        ("ints-600", 2),
        ("set-words", 2),
        ("set-small", 2),
        ("hash-600", 4),
        ("hash-long", 4),
        ("hash-small", 13),
        ("zset-200", 5),
        ("zset-long", 5),
        ("zset-small", 12),
        ("list", 14),
        ("expiring", 2),
    ];
    for (k, t) in want {
        assert_eq!(types[k.as_bytes()], *t, "{k}");
    }
    // The compressible string stays LZF-compressed (its stored bytes), the
    // others are not: the output is smaller than the text.
    let bytes = std::fs::read(&out).unwrap();
    let at = bytes.windows(4).position(|w| w == b"\x03lzf").unwrap() + 4;
    assert_eq!(bytes[at], 0xc3);
}
