//! The `stats` library (`redis_persist::stats`) without a server:
//! * the fixture made by redis-server 7.0 (`testdata/stats`): counts,
//!   encodings and the memory estimate of every key equal what the server
//!   reported after loading the file;
//! * how the file is cut into chunks and how many threads read it does not
//!   change the report, and neither does deep validation;
//! * damaged inputs (every truncation point, flipped bytes) never panic and
//!   report the problem with statistics of what was read;
//! * `Reader::skip_value_to`, which the light path relies on.

use crate::common;

use std::collections::BTreeMap;

use redis_persist::io::Source;
use redis_persist::rdb::{Event, Options, Reader};
use redis_persist::stats::rdb::{self, Analysis, KeyRecord, Settings};
use serde_json::Value as J;

fn analyze_bytes(data: &[u8], opts: &redis_persist::stats::Options, s: Settings) -> Analysis {
    rdb::analyze(Source::new(data).with_size(data.len() as u64), opts, s).0
}

fn fixture() -> (Vec<u8>, J) {
    let dir = common::testdata("stats");
    let data = std::fs::read(dir.join("redis-7.0-mixed.rdb")).unwrap();
    let exp: J =
        serde_json::from_slice(&std::fs::read(dir.join("redis-7.0-mixed.expected.json")).unwrap())
            .unwrap();
    (data, exp)
}

#[test]
fn fixture_counts_encodings_and_memory_equal_the_server() {
    let (data, exp) = fixture();
    let opts = redis_persist::stats::Options::default();
    let mut records: Vec<KeyRecord> = Vec::new();
    let (a, _) = rdb::analyze_with(
        Source::new(&data[..]).with_size(data.len() as u64),
        &opts,
        Settings {
            threads: 2,
            chunk_size: 4096,
            ..Settings::default()
        },
        |k| records.push(k.clone()),
    );
    assert!(a.is_complete(), "{:?}", a.problems);
    // Records come in file order.
    assert!(records.windows(2).all(|w| w[0].offset < w[1].offset));
    let want: BTreeMap<(u64, String), &J> = exp["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                (
                    k["db"].as_u64().unwrap(),
                    k["key_hex"].as_str().unwrap().to_string(),
                ),
                k,
            )
        })
        .collect();
    assert_eq!(records.len(), want.len());
    assert_eq!(a.report.total.keys, want.len() as u64);
    let (mut est, mut mu) = (0u64, 0u64);
    for r in &records {
        let k = (r.db, common::expected::hex(&r.key));
        let w = want
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected key {k:?}"));
        assert_eq!(r.kind.name(), w["type"], "{k:?}");
        assert_eq!(r.encoding, w["encoding"], "{k:?}");
        assert_eq!(r.elements, w["elements"].as_u64().unwrap(), "{k:?}");
        let exp_ms = w["expire_ms"].as_i64().unwrap();
        assert_eq!(r.expire_ms, (exp_ms >= 0).then_some(exp_ms), "{k:?}");
        let m = w["memory_usage"].as_u64().unwrap();
        if r.encoding == "skiplist" {
            let err = (r.memory as f64 - m as f64).abs() / m as f64;
            assert!(err < 0.10, "{k:?}: {} vs {m}", r.memory);
        } else {
            assert_eq!(r.memory, m, "{k:?}: memory estimate vs MEMORY USAGE");
        }
        est += r.memory;
        mu += m;
    }
    assert_eq!(a.report.memory.keys, est);
    assert!((est as f64 - mu as f64).abs() / (mu as f64) < 0.01);
    // Keys and expires per database: INFO keyspace.
    for (db, ks) in exp["keyspace"].as_object().unwrap() {
        let g = &a.report.by_db[&db.parse::<u64>().unwrap()].total;
        assert_eq!(g.keys, ks["keys"].as_u64().unwrap());
        assert_eq!(g.expires, ks["expires"].as_u64().unwrap());
    }
}

/// The report of a file must not depend on how it is read.
fn same_whatever_the_chunking(data: &[u8], label: &str) {
    let opts = redis_persist::stats::Options {
        now_ms: 1_700_000_000_000,
        top: 7,
        ..Default::default()
    };
    let base = analyze_bytes(
        data,
        &opts,
        Settings {
            threads: 1,
            chunk_size: 1 << 30,
            ..Settings::default()
        },
    );
    assert!(base.is_complete(), "{label}: {:?}", base.problems);
    for (threads, chunk, deep) in [
        (3, 1, false),
        (2, 700, false),
        (4, 5000, true),
        (1, 64, true),
    ] {
        let a = analyze_bytes(
            data,
            &opts,
            Settings {
                threads,
                chunk_size: chunk,
                deep,
                count_trailing: false,
            },
        );
        assert_eq!(
            a.report, base.report,
            "{label}: {threads} threads, chunks of {chunk}, deep {deep}"
        );
        assert_eq!(a.file, base.file, "{label}");
        assert_eq!(a.problems, base.problems, "{label}");
    }
}

#[test]
fn chunking_threads_and_deep_validation_do_not_change_the_report() {
    let (data, _) = fixture();
    same_whatever_the_chunking(&data, "fixture");
    let types = std::fs::read(common::testdata("rdb/redis-7.0-types.rdb")).unwrap();
    same_whatever_the_chunking(&types, "testdata types");
    if let Some(corpus) = common::corpus() {
        for v in ["redis-6.0.9", "redis-7.4.1", "valkey-8.0.1"] {
            let d = std::fs::read(corpus.join(v).join("types.rdb")).unwrap();
            same_whatever_the_chunking(&d, v);
        }
        let d = std::fs::read(corpus.join("upstream/redis/encodings.rdb")).unwrap();
        same_whatever_the_chunking(&d, "upstream encodings.rdb");
    }
}

#[test]
fn damaged_inputs_report_problems_and_never_panic() {
    let (data, _) = fixture();
    let opts = redis_persist::stats::Options::default();
    let full = analyze_bytes(&data, &opts, Settings::default());
    let total = full.report.total.keys;
    let settings = Settings {
        threads: 2,
        chunk_size: 2048,
        ..Settings::default()
    };
    // Truncations: at every 251st byte and at every byte of the last 200.
    let cuts: Vec<usize> = (0..data.len())
        .step_by(251)
        .chain(data.len().saturating_sub(200)..data.len())
        .collect();
    for cut in cuts {
        let a = analyze_bytes(&data[..cut], &opts, settings);
        assert!(!a.is_complete(), "cut at {cut} read as complete");
        assert!(a.report.total.keys <= total);
        let p = a
            .problems
            .iter()
            .find(|p| p.severity == rdb::Severity::Error)
            .unwrap_or_else(|| panic!("cut at {cut}: no problem reported"));
        assert!(
            p.offset <= cut as u64,
            "cut at {cut}: problem at {}",
            p.offset
        );
    }
    // A truncation inside the trailer: every key was read, but
    // `parallel::map_chunks` hands out the chunk of a structural error only up
    // to its last key (which may be the damaged one), so that key is not
    // counted.
    let a = analyze_bytes(&data[..data.len() - 3], &opts, settings);
    assert!(a.report.total.keys + 1 >= total);
    assert!(a.problems.iter().any(|p| p.truncated));
    // Flipped bytes: never a panic; the checksum (or the structure) catches it.
    for pos in (9..data.len()).step_by(97) {
        let mut d = data.clone();
        d[pos] ^= 0x5a;
        for deep in [false, true] {
            let a = analyze_bytes(&d, &opts, Settings { deep, ..settings });
            assert!(!a.is_complete() || a.report != full.report || pos >= data.len() - 8);
            if a.is_complete() {
                continue;
            }
            assert!(!a.problems.is_empty(), "byte {pos} flipped: no problem");
        }
    }
}

#[test]
fn skip_value_to_skips_exactly_and_refuses_going_back() {
    let (data, _) = fixture();
    // The end of every value, by the reader itself.
    let mut ends = Vec::new();
    let mut r = Reader::new(Source::new(&data[..]).with_size(data.len() as u64));
    while let Some(ev) = r.next_event().unwrap() {
        if let Event::KeyStart(_) = ev {
            ends.push(r.skip_value().unwrap().end);
        }
    }
    let frame = Options {
        verify_checksum: true,
        frame_only: true,
    };
    let mut r = Reader::with_options(Source::new(&data[..]).with_size(data.len() as u64), frame);
    let mut i = 0;
    let mut eof = false;
    while let Some(ev) = r.next_event().unwrap() {
        match ev {
            Event::KeyStart(k) => {
                let start = k.offset;
                assert!(r.value_offset() > start);
                let e = r.skip_value_to(ends[i]).unwrap();
                assert_eq!(e.end, ends[i]);
                i += 1;
            }
            Event::Eof { .. } => eof = true,
            _ => {}
        }
    }
    assert!(eof && i == ends.len());
    // Going back is an error, not a panic or a desynchronized reader.
    let mut r = Reader::with_options(Source::new(&data[..]).with_size(data.len() as u64), frame);
    loop {
        match r.next_event().unwrap() {
            Some(Event::KeyStart(k)) => {
                let back = k.offset;
                assert!(r.skip_value_to(back).is_err());
                break;
            }
            Some(_) => {}
            None => panic!("no key"),
        }
    }
    assert!(r.next_event().is_err() || r.next_event().unwrap().is_none());
}

#[test]
fn non_rdb_and_empty_inputs() {
    let opts = redis_persist::stats::Options::default();
    for data in [
        &b""[..],
        b"REDIS",
        b"*1\r\n$4\r\nPING\r\n",
        b"REDIS0010\xff",
    ] {
        let a = analyze_bytes(data, &opts, Settings::default());
        assert!(!a.is_complete(), "{data:?}");
        assert_eq!(a.report.total.keys, 0);
        assert!(!a.problems.is_empty());
    }
}

/// An RDB of `n` string keys named by `name`, written by the crate's writer.
fn synthetic(n: u64, name: impl Fn(u64) -> String) -> Vec<u8> {
    use redis_persist::model::{Entry, Value};
    use redis_persist::rdb::writer::{Writer, WriterOptions};
    let mut w = Writer::new(Vec::new(), WriterOptions::default()).unwrap();
    w.select_db(0, n, 0).unwrap();
    for i in 0..n {
        w.write_entry(&Entry {
            db: 0,
            key: name(i).into_bytes(),
            expire_ms: None,
            lru_idle: None,
            lfu_freq: None,
            value: Value::String(format!("v{i}").into_bytes()),
        })
        .unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn millions_of_distinct_prefixes_stay_within_the_cap() {
    // 200,000 distinct second-level prefixes, one big first-level family.
    let data = synthetic(200_000, |i| format!("u:{i}:name"));
    let opts = redis_persist::stats::Options {
        max_prefixes: 1000,
        top: 5,
        ..Default::default()
    };
    let a = analyze_bytes(
        &data,
        &opts,
        Settings {
            threads: 2,
            chunk_size: 64 * 1024,
            ..Settings::default()
        },
    );
    assert!(a.is_complete());
    let p = &a.report.prefixes;
    assert!(p.truncated, "the cap was hit");
    assert_eq!(p.tree.len(), 1);
    // The family's totals stay exact.
    assert_eq!(p.tree[0].prefix, b"u:");
    assert_eq!(p.tree[0].counts.keys, 200_000);
    assert_eq!(p.tree[0].counts.memory, a.report.memory.keys);
    assert_eq!(p.tree[0].children.len(), 5);
    // Without the cap pressure nothing is folded.
    let small = synthetic(500, |i| format!("u:{i}:name"));
    let a = analyze_bytes(&small, &opts, Settings::default());
    assert!(!a.report.prefixes.truncated);
    assert_eq!(a.report.prefixes.tree[0].other.keys, 495);
}

#[test]
fn modules_module_aux_lfu_lru_and_field_ttls() {
    use redis_persist::model::{Entry, HashField, ModuleValue, Value};
    use redis_persist::rdb::writer::{Writer, WriterOptions};
    let id = 0x0123_4567_89ab_c000 | 3;
    let module = ModuleValue {
        module_id: id,
        type_name: String::new(),
        encver: 3,
        // UINT 5, STRING "ab", EOF.
        raw: vec![0x02, 0x05, 0x05, 0x02, b'a', b'b', 0x00],
    };
    let e = |key: &str, value: Value| Entry {
        db: 0,
        key: key.as_bytes().to_vec(),
        expire_ms: None,
        lru_idle: None,
        lfu_freq: None,
        value,
    };
    let mut w = Writer::new(Vec::new(), WriterOptions::for_version(12)).unwrap();
    w.write_module_aux(&module, 1).unwrap();
    w.select_db(0, 6, 0).unwrap();
    for i in 0..3u8 {
        let mut m = e(&format!("mod:{i}"), Value::Module(module.clone()));
        m.lfu_freq = Some(10 * i);
        w.write_entry(&m).unwrap();
    }
    let mut s = e("plain", Value::String(b"x".to_vec()));
    s.lru_idle = Some(77);
    w.write_entry(&s).unwrap();
    let hf = |f: &str, t: Option<i64>| HashField {
        field: f.as_bytes().to_vec(),
        value: b"v".to_vec(),
        expire_ms: t,
    };
    w.write_entry(&e(
        "hfe:small",
        Value::Hash(vec![hf("a", Some(4_102_444_800_000)), hf("b", None)]),
    ))
    .unwrap();
    w.write_entry(&e(
        "hfe:large",
        Value::Hash(
            (0..600)
                .map(|i| hf(&format!("f{i}"), (i % 3 == 0).then_some(4_102_444_800_000)))
                .collect(),
        ),
    ))
    .unwrap();
    w.write_module_aux(&module, 2).unwrap();
    let data = w.finish().unwrap();
    for chunk in [1 << 20, 1] {
        let a = analyze_bytes(
            &data,
            &redis_persist::stats::Options::default(),
            Settings {
                threads: 2,
                chunk_size: chunk,
                ..Settings::default()
            },
        );
        assert!(a.is_complete(), "{:?}", a.problems);
        let name = redis_persist::rdb::types::module_name(id).0;
        let r = &a.report;
        assert_eq!(r.modules.get(&name).map(|m| m.0), Some(3));
        assert_eq!(a.file.module_aux.get(&name), Some(&2));
        let lfu = r.lfu.unwrap();
        assert_eq!((lfu.count, lfu.max), (3, 20));
        assert_eq!(r.lru.unwrap().max, 77);
        assert_eq!(r.field_ttl_keys, 2);
        assert_eq!(r.field_ttls, 1 + 200);
        assert_eq!(r.total.keys, 6);
        let kinds: Vec<&str> = r.by_type.keys().map(|k| k.name()).collect();
        assert_eq!(kinds, ["string", "hash", "module"]);
        assert_eq!(
            r.by_type[&redis_persist::model::KeyType::Module].elements,
            3
        );
    }
}
