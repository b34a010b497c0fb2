//! The upstream fixtures (`corpus/upstream/{redis,valkey}`), the hand-made golden
//! vectors (`corpus/edge-cases/rdb`) and the RDB scenarios of
//! UPSTREAM-TEST-CASES.md §4 give the verdicts and contents their READMEs record.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use redis_persist::io::Source;
use redis_persist::model::{HashField, Value};
use redis_persist::rdb::check::{self, CheckOptions, Report, Severity};
use redis_persist::rdb::{Checksum, Entries, Reader};

fn report(bytes: &[u8]) -> Report {
    let r = Reader::new(Source::new(bytes).with_size(bytes.len() as u64));
    check::check(
        r,
        CheckOptions {
            count_trailing: true,
            now_ms: 1_800_000_000_000,
            ..CheckOptions::default()
        },
    )
    .0
}

fn entries(bytes: &[u8]) -> BTreeMap<Vec<u8>, Value> {
    let mut e = Entries::new(Reader::new(
        Source::new(bytes).with_size(bytes.len() as u64),
    ));
    let mut out = BTreeMap::new();
    while let Some(x) = e.next_entry().unwrap() {
        out.insert(x.key, x.value);
    }
    out
}

fn s(v: &str) -> Vec<u8> {
    v.as_bytes().to_vec()
}

fn hash(pairs: &[(&str, &str)]) -> Value {
    Value::Hash(
        pairs
            .iter()
            .map(|(f, v)| HashField {
                field: s(f),
                value: s(v),
                expire_ms: None,
            })
            .collect(),
    )
}

fn upstream(corpus: &Path, name: &str) -> Vec<u8> {
    let a = std::fs::read(corpus.join("upstream/redis").join(name)).unwrap();
    let b = std::fs::read(corpus.join("upstream/valkey").join(name)).unwrap();
    assert_eq!(a, b, "{name} differs between the redis and valkey copies");
    a
}

#[test]
fn upstream_fixtures() {
    let Some(corpus) = common::corpus() else {
        return;
    };

    // encodings.rdb: RDB v4, no trailer, 13 keys of every old encoding.
    let b = upstream(&corpus, "encodings.rdb");
    let r = report(&b);
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(
        (r.rdb_version, r.keys, r.checksum),
        (Some(4), 13, Some(Checksum::Absent))
    );
    let e = entries(&b);
    let list8: Vec<Vec<u8>> = ["1", "2", "3", "a", "b", "c", "100000", "6000000000"]
        .iter()
        .map(|x| s(x))
        .collect();
    assert_eq!(e[&s("list_zipped")], Value::List(list8.clone()));
    assert_eq!(
        e[&s("list")],
        Value::List([list8.clone(), list8.clone(), list8.clone()].concat())
    );
    assert_eq!(e[&s("string")], Value::String(s("Hello World")));
    // The corpus README says 130 bytes, but the LZF header in the file declares
    // 137 (`c3 09 40 89`) and the data decodes to exactly that.
    assert_eq!(e[&s("compressible")], Value::String(vec![b'a'; 137]));
    assert_eq!(e[&s("number")], Value::String(s("10")));
    let set = |v: &Value| -> Vec<Vec<u8>> {
        let Value::Set(m) = v else { panic!() };
        let mut m = m.clone();
        m.sort();
        m
    };
    assert_eq!(
        set(&e[&s("set_zipped_1")]),
        vec![s("1"), s("2"), s("3"), s("4")]
    );
    assert_eq!(
        set(&e[&s("set_zipped_2")]),
        vec![s("100000"), s("200000"), s("300000"), s("400000")]
    );
    assert_eq!(set(&e[&s("set_zipped_3")]).len(), 6);
    assert_eq!(set(&e[&s("set")]).len(), 8);
    assert_eq!(
        e[&s("hash_zipped")],
        hash(&[("a", "1"), ("b", "2"), ("c", "3")])
    );
    let Value::Zset(z) = &e[&s("zset_zipped")] else {
        panic!()
    };
    assert_eq!(z, &vec![(s("a"), 1.0), (s("b"), 2.0), (s("c"), 3.0)]);
    let Value::Zset(z) = &e[&s("zset")] else {
        panic!()
    };
    let zm: BTreeMap<Vec<u8>, f64> = z.iter().cloned().collect();
    assert_eq!(zm.len(), 12);
    assert_eq!(zm[&s("bbbb")], 5_000_000_000.0);
    assert_eq!(zm[&s("cccc")], 123_456_789.0);
    let Value::Hash(h) = &e[&s("hash")] else {
        panic!()
    };
    assert_eq!(h.len(), 11);
    assert!(
        h.iter()
            .any(|f| f.field == s("eee") && f.value == s("5000000000"))
    );

    // hash-ziplist.rdb, hash-zipmap.rdb, zset-ziplist.rdb, list-quicklist.rdb.
    for (name, version) in [("hash-ziplist.rdb", 9), ("hash-zipmap.rdb", 3)] {
        let b = upstream(&corpus, name);
        let r = report(&b);
        assert!(
            r.is_ok() && r.rdb_version == Some(version) && r.keys == 1,
            "{name}: {r:?}"
        );
        assert_eq!(
            entries(&b)[&s("hash")],
            hash(&[("f1", "v1"), ("f2", "v2")]),
            "{name}"
        );
    }
    let b = upstream(&corpus, "zset-ziplist.rdb");
    assert!(report(&b).is_ok());
    assert_eq!(
        entries(&b)[&s("zset")],
        Value::Zset(vec![(s("one"), 1.0), (s("two"), 2.0)])
    );
    let b = upstream(&corpus, "list-quicklist.rdb");
    let r = report(&b);
    assert!(r.is_ok() && r.rdb_version == Some(8) && r.keys == 2);
    let e = entries(&b);
    assert_eq!(e[&s("x")], Value::String(s("7")));
    assert_eq!(e[&s("list")], Value::List(vec![s("7")]));

    // scriptbackup.rdb: aux fields only, the lua one included.
    let b = upstream(&corpus, "scriptbackup.rdb");
    let r = report(&b);
    assert!(r.is_ok() && r.keys == 0);
    assert_eq!(
        r.aux_value("lua"),
        Some(&b"return redis.call('set', 'foo', 'bar')"[..])
    );
    assert_eq!(
        r.aux_value("repl-id"),
        Some(&b"349eeafec1f98f3f56277e95fc86bc48b30651a2"[..])
    );

    // rdb-preamble.aof: a valid RDB v10 of 117 bytes followed by the RESP tail.
    let b = upstream(&corpus, "rdb-preamble.aof");
    let r = report(&b);
    assert!(r.is_ok() && r.keys == 2 && r.rdb_version == Some(10));
    assert_eq!((r.end_offset, r.trailing_bytes), (Some(117), Some(52)));
    assert_eq!(r.aux_value("aof-preamble"), Some(&b"1"[..]));

    // corrupt_empty_keys.rdb: nine empty aggregates; redis-check-rdb rejects the
    // file (the server skips them). We read every key and report each.
    let b = upstream(&corpus, "corrupt_empty_keys.rdb");
    let r = report(&b);
    assert!(!r.is_ok());
    assert_eq!((r.keys, r.empty_keys), (9, 9));
    let mut names: Vec<String> = r
        .problems
        .iter()
        .map(|p| String::from_utf8(p.key.clone().unwrap()).unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "hash",
            "hash_ziplist",
            "list_quicklist",
            "list_quicklist_empty_ziplist",
            "list_ziplist",
            "set",
            "zset",
            "zset_listpack",
            "zset_ziplist"
        ]
    );
    // We point at the start of the record of `set` (its type byte, offset 94);
    // redis-check-rdb prints how far it had read when it gave up (offset 100).
    assert_eq!(r.problems[0].offset, 94);
    assert_eq!(r.problems[0].key.as_deref(), Some(&b"set"[..]));

    // corrupt_ziplist.rdb: key:000000000091 has type 13 with a 5-byte value.
    let b = upstream(&corpus, "corrupt_ziplist.rdb");
    let r = report(&b);
    assert!(!r.is_ok());
    let p = r.first_error().unwrap();
    assert_eq!(p.key.as_deref(), Some(&b"key:000000000091"[..]));
    assert_eq!(p.rdb_type, Some(13));
    assert!((489..=494).contains(&p.offset), "offset {}", p.offset);
    assert!(p.message.contains("ziplist"), "{}", p.message);
    assert_eq!(r.keys, 15, "the 15 keys before it were read");
}

#[test]
fn golden_vectors() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = corpus.join("edge-cases/rdb");
    let r = report(&std::fs::read(dir.join("minimal-v12.rdb")).unwrap());
    assert!(r.is_ok());
    assert_eq!((r.keys, r.expires, r.checksum), (1, 0, Some(Checksum::Ok)));
    let r = report(&std::fs::read(dir.join("minimal-v11-expire.rdb")).unwrap());
    assert!(r.is_ok());
    assert_eq!(
        (r.keys, r.expires, r.already_expired, r.checksum),
        (1, 1, 1, Some(Checksum::Ok))
    );
    let b = std::fs::read(dir.join("minimal-v11-checksum-zero.rdb")).unwrap();
    let r = report(&b);
    assert!(r.is_ok());
    assert_eq!(r.checksum, Some(Checksum::Disabled));
    let e = entries(&b);
    assert_eq!(e[&s("k")], Value::String(s("v")));
}

#[test]
fn a_wrong_crc_is_a_crc_error() {
    // UPSTREAM-TEST-CASES §4 "Server should not start if RDB is corrupted": the
    // 8 trailer bytes replaced by `foobar00`.
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut b = std::fs::read(corpus.join("redis-7.0.15/types.rdb")).unwrap();
    let n = b.len();
    b[n - 8..].copy_from_slice(b"foobar00");
    let r = report(&b);
    assert!(!r.is_ok());
    let p = r.first_error().unwrap();
    assert!(p.message.contains("checksum mismatch"), "{}", p.message);
    assert_eq!(p.offset, n as u64 - 8);
    assert_eq!(r.keys, 112, "every key was read before the trailer");
    assert!(r.problems.iter().all(|p| p.severity == Severity::Error));
}
