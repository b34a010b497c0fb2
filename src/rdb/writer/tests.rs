//! Byte-level tests of the writer (the live-server tests are in
//! `tests/rdb_writer*.rs`).

use super::*;
use crate::model::{Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry, StreamId};

fn entry(key: &str, value: Value) -> Entry {
    Entry::new(0, key, None, value)
}

fn body_of(version: u32, entries: &[Entry]) -> Vec<u8> {
    let opts = WriterOptions {
        ctime: Some(0),
        ..WriterOptions::for_version(version)
    };
    let header = Writer::new(Vec::new(), opts.clone())
        .unwrap()
        .finish()
        .unwrap();
    let file = write_all(Vec::new(), opts, &[], entries.iter().cloned(), |_| {
        (entries.len() as u64, 0)
    })
    .unwrap();
    // Strip magic+aux (same as an empty file minus its EOF and CRC) and the trailer.
    let n = file.len();
    assert_eq!(
        u64::from_le_bytes(file[n - 8..].try_into().unwrap()),
        crate::io::crc64(&file[..n - 8])
    );
    file[header.len() - 9..n - 9].to_vec()
}

#[test]
fn minimal_v12_body_matches_golden_file() {
    // corpus edge-cases/rdb/minimal-v12.rdb: fe 00 fb 01 00 00 01 61 c0 01 ff
    let body = body_of(12, &[entry("a", Value::String(b"1".to_vec()))]);
    assert_eq!(
        body,
        [0xfe, 0x00, 0xfb, 0x01, 0x00, 0x00, 0x01, 0x61, 0xc0, 0x01]
    );
}

#[test]
fn header_and_aux_fields() {
    let opts = WriterOptions {
        ctime: Some(1_700_000_000),
        aof: AofMarker::Aof,
        ..WriterOptions::for_version(9)
    };
    let f = Writer::new(Vec::new(), opts).unwrap().finish().unwrap();
    assert!(f.starts_with(b"REDIS0009"));
    let text = String::from_utf8_lossy(&f);
    assert!(text.contains("redis-ver") && text.contains("6.2.14") && text.contains("aof-preamble"));
    let f = Writer::new(
        Vec::new(),
        WriterOptions {
            aof: AofMarker::Aof,
            ..Default::default()
        },
    )
    .unwrap()
    .finish()
    .unwrap();
    assert!(f.starts_with(b"REDIS0010"));
    assert!(String::from_utf8_lossy(&f).contains("aof-base"));
    let f = Writer::new(Vec::new(), WriterOptions::for_version(13))
        .unwrap()
        .finish()
        .unwrap();
    assert!(f.starts_with(b"REDIS0013") && String::from_utf8_lossy(&f).contains("8.6.3"));
    assert!(matches!(
        Writer::new(Vec::new(), WriterOptions::for_version(14)),
        Err(WriteError::UnsupportedVersion(14))
    ));
}

#[test]
fn string_encodings() {
    let mut out = Vec::new();
    put_string(&mut out, b"-129", None);
    assert_eq!(out, [0xc1, 0x7f, 0xff]);
    out.clear();
    put_string(&mut out, b"2147483648", None);
    assert_eq!(out[0], 10);
    out.clear();
    let mut c = lzf::Compressor::new();
    put_string(&mut out, &[b'x'; 40], Some(&mut c));
    assert_eq!(
        out,
        [
            0xc3, 0x09, 0x28, 0x01, 0x78, 0x78, 0xe0, 0x1b, 0x00, 0x01, 0x78, 0x78
        ]
    );
    out.clear();
    put_string(&mut out, &[b'x'; 20], Some(&mut c));
    assert_eq!(out[0], 20, "20 bytes are never compressed");
}

#[test]
fn set_encoding_depends_on_version() {
    let s = Value::Set(vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(body_of(11, &[entry("s", s.clone())])[5], 20);
    assert_eq!(body_of(10, &[entry("s", s)])[5], 2);
    let ints = Value::Set(vec![b"1".to_vec(), b"70000".to_vec()]);
    let b = body_of(11, &[entry("s", ints)]);
    assert_eq!(b[5], 11);
    // STR length 16: encoding 4, length 2, then 1 and 70000 as i32.
    assert_eq!(
        &b[8..25],
        &[
            16, 4, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0x70, 0x11, 0x01, 0x00
        ]
    );
}

#[test]
fn hash_field_ttls_need_version_12() {
    let h = Value::Hash(vec![
        HashField {
            field: b"a".to_vec(),
            value: b"1".to_vec(),
            expire_ms: None,
        },
        HashField {
            field: b"b".to_vec(),
            value: b"2".to_vec(),
            expire_ms: Some(5000),
        },
    ]);
    let e = entry("h", h);
    let err = write_all(
        Vec::new(),
        WriterOptions::for_version(11),
        &[],
        [e.clone()],
        |_| (1, 0),
    )
    .unwrap_err();
    assert!(matches!(err, WriteError::Unrepresentable { .. }), "{err}");
    let b = body_of(12, &[e]);
    assert_eq!(b[5], 25);
    // min expire, then the listpack: b 2 5000, a 1 0 (TTL fields first).
    assert_eq!(&b[8..16], &5000i64.to_le_bytes());
    let lp = &b[17..];
    assert_eq!(&lp[6..10], &[0x81, b'b', 2, 2]);
}

/// A field expire time Redis cannot hold (beyond 2^48-1 ms, negative, or 0,
/// which a listpack reads as "no TTL") fails before writing in RDB 12/13, at
/// any hash size; Valkey 9 writes it (`HASH_2`), and what is written reads
/// back with the same TTL.
#[test]
fn field_ttls_beyond_redis_range_fail_before_writing() {
    let max = crate::rdb::EB_EXPIRE_TIME_MAX as i64;
    let hash = |n: usize, ttl: i64| {
        Value::Hash(
            (0..n)
                .map(|i| HashField {
                    field: format!("f{i}").into_bytes(),
                    value: b"v".to_vec(),
                    expire_ms: Some(if i == 0 { ttl } else { 5000 }),
                })
                .collect(),
        )
    };
    for n in [1, 600] {
        for ttl in [max + 1, i64::MAX, -1, 0] {
            for v in [12, 13] {
                let err = write_all(
                    Vec::new(),
                    WriterOptions::for_version(v),
                    &[],
                    [entry("h", hash(n, ttl))],
                    |_| (1, 0),
                )
                .unwrap_err();
                assert!(
                    matches!(err, WriteError::Unrepresentable { .. }),
                    "{n} fields, TTL {ttl}, RDB {v}: {err}"
                );
            }
        }
        // The largest Redis holds is written, and reads back.
        for v in [12, 13] {
            let out = write_all(
                Vec::new(),
                WriterOptions::for_version(v),
                &[],
                [entry("h", hash(n, max))],
                |_| (1, 0),
            )
            .unwrap();
            let (src, res) = crate::rdb::check::validate(crate::io::Source::new(&out[..]));
            drop(src);
            let rep = res.unwrap_or_else(|e| panic!("{n} fields, RDB {v}: {e}"));
            assert_eq!(rep.subexpires, 1);
        }
    }
    let valkey = write_all(
        Vec::new(),
        WriterOptions::for_version(VALKEY_9),
        &[],
        [entry("h", hash(1, max + 1))],
        |_| (1, 0),
    );
    assert!(valkey.is_ok());
}

#[test]
fn type_24_offsets_ttls_from_the_minimum() {
    let fields: Vec<HashField> = (0..600)
        .map(|i| HashField {
            field: format!("f{i}").into_bytes(),
            value: b"v".to_vec(),
            expire_ms: (i % 2 == 0).then_some(1000 + i),
        })
        .collect();
    let b = body_of(12, &[entry("h", Value::Hash(fields))]);
    assert_eq!(b[5], 24);
    assert_eq!(&b[8..16], &1000i64.to_le_bytes());
    // n = 600 (2-byte length), then f0: ttl 1 (1000 - 1000 + 1).
    assert_eq!(&b[16..20], &[0x42, 0x58, 0x01, 0x02]);
}

#[test]
fn stream_v3_layout_with_groups() {
    let s = Stream {
        entries: vec![
            StreamEntry {
                id: StreamId::new(1, 1),
                fields: vec![(b"f".to_vec(), b"v".to_vec())],
            },
            StreamEntry {
                id: StreamId::new(2, 0),
                fields: vec![(b"f".to_vec(), b"w".to_vec())],
            },
        ],
        length: 2,
        last_id: StreamId::new(3, 0),
        first_id: None,
        max_deleted_entry_id: Some(StreamId::new(3, 0)),
        entries_added: Some(3),
        groups: vec![ConsumerGroup {
            name: b"g".to_vec(),
            last_delivered_id: StreamId::new(2, 0),
            entries_read: Some(2),
            pel: vec![PendingEntry {
                id: StreamId::new(1, 1),
                delivery_time_ms: 7,
                delivery_count: 1,
            }],
            consumers: vec![Consumer {
                name: b"c".to_vec(),
                seen_time_ms: 8,
                active_time_ms: Some(9),
                pel: vec![StreamId::new(1, 1)],
            }],
        }],
        idmp: None,
    };
    let b = body_of(11, &[entry("x", Value::Stream(Box::new(s.clone())))]);
    assert_eq!(b[5], 21);
    let tail_v11 = b.len();
    let b10 = body_of(10, &[entry("x", Value::Stream(Box::new(s.clone())))]);
    assert_eq!(b10[5], 19);
    assert_eq!(
        tail_v11 - b10.len(),
        8,
        "type 21 adds the consumer active time"
    );
    let b9 = body_of(9, &[entry("x", Value::Stream(Box::new(s.clone())))]);
    assert_eq!(b9[5], 15);
    // Node: 1 node, key = 16-byte id 1-1, listpack count 2 with SAMEFIELDS entries.
    assert_eq!(b[8], 1);
    assert_eq!(b[9], 16);
    assert_eq!(&b[10..26], &StreamId::new(1, 1).to_be_bytes());
    // A PEL entry without an owner is refused.
    let mut bad = s;
    bad.groups[0].consumers.clear();
    let err = write_all(
        Vec::new(),
        WriterOptions::default(),
        &[],
        [entry("x", Value::Stream(Box::new(bad)))],
        |_| (1, 0),
    );
    assert!(matches!(err, Err(WriteError::Invalid { .. })));
}

/// Found by `fuzz/fuzz_targets/rdb_roundtrip.rs`: the recorded first id of a
/// stream (types 19+) is written as read, not recomputed from the entries;
/// Redis keeps it as loaded. Without one (a type 15 stream, or a model built
/// by hand), it is the first entry's id.
#[test]
fn stream_first_id_is_written_as_recorded() {
    let s = Stream {
        entries: vec![StreamEntry {
            id: StreamId::new(5, 0),
            fields: vec![(b"f".to_vec(), b"v".to_vec())],
        }],
        length: 1,
        last_id: StreamId::new(5, 0),
        first_id: Some(StreamId::new(1, 0)),
        max_deleted_entry_id: None,
        entries_added: Some(1),
        groups: Vec::new(),
        idmp: None,
    };
    let read_first_id = |s: &Stream| {
        let file = write_all(
            Vec::new(),
            WriterOptions::for_version(10),
            &[],
            [entry("x", Value::Stream(Box::new(s.clone())))],
            |_| (1, 0),
        )
        .unwrap();
        let src = crate::io::Source::new(&file[..]).with_size(file.len() as u64);
        let mut items = crate::rdb::Entries::new(crate::rdb::Reader::new(src));
        loop {
            match items.next_item().unwrap() {
                Some(crate::rdb::Item::Entry(e)) => match e.value {
                    Value::Stream(s) => return s.first_id,
                    other => panic!("{other:?}"),
                },
                Some(_) => {}
                None => panic!("no entry"),
            }
        }
    };
    assert_eq!(read_first_id(&s), Some(StreamId::new(1, 0)));
    let computed = Stream {
        first_id: None,
        ..s
    };
    assert_eq!(read_first_id(&computed), Some(StreamId::new(5, 0)));
}

#[test]
fn lists_split_into_nodes() {
    let l: Vec<Vec<u8>> = (0..2000)
        .map(|i| format!("element-{i:05}").into_bytes())
        .collect();
    let b = body_of(10, &[entry("l", Value::List(l.clone()))]);
    assert_eq!(b[5], 18);
    assert!(b[8] > 1, "several nodes");
    let big = vec![vec![b'z'; 10_000]];
    let b12 = body_of(12, &[entry("l", Value::List(big.clone()))]);
    assert_eq!(&b12[8..10], &[1, 1], "one PLAIN node on 7.4+");
    let b10 = body_of(10, &[entry("l", Value::List(big))]);
    assert_eq!(&b10[8..10], &[1, 2], "one PACKED node on 7.0");
    assert_eq!(body_of(9, &[entry("l", Value::List(l))])[5], 14);
}

#[test]
fn empty_aggregates_and_functions() {
    let err = write_all(
        Vec::new(),
        WriterOptions::default(),
        &[],
        [entry("l", Value::List(vec![]))],
        |_| (1, 0),
    );
    assert!(matches!(err, Err(WriteError::Invalid { .. })));
    let lib = FunctionLibrary {
        code: b"#!lua name=x\nredis.register_function('f', function() return 1 end)".to_vec(),
    };
    let f = write_all(
        Vec::new(),
        WriterOptions::default(),
        std::slice::from_ref(&lib),
        Vec::<Entry>::new(),
        |_| (0, 0),
    )
    .unwrap();
    assert!(f.windows(lib.code.len()).any(|w| w == lib.code.as_slice()) || f.contains(&0xc3));
    assert!(
        write_all(
            Vec::new(),
            WriterOptions::for_version(9),
            &[lib],
            Vec::<Entry>::new(),
            |_| (0, 0)
        )
        .is_err()
    );
}

#[test]
fn large_strings_are_written_as_small_ones_are() {
    // Values of DIRECT bytes and more go straight to the output after their
    // header; the record must be what `put_string` gives any string.
    let compressible: Vec<u8> = (0..DIRECT + 5000).map(|i| b"abcdefg"[i % 7]).collect();
    let random = random_bytes(DIRECT + 3);
    for compression in [true, false] {
        for (value, ttl, compressible) in [
            (&compressible, None, true),
            (&random, Some(1_700_000_000_000i64), false),
        ] {
            let opts = WriterOptions {
                ctime: Some(0),
                compression,
                ..WriterOptions::for_version(10)
            };
            let mut e = entry("big", Value::String(value.clone()));
            e.expire_ms = ttl;
            let by_entry = write_all(Vec::new(), opts.clone(), &[], [e], |_| (1, 1)).unwrap();
            let mut w = Writer::new(Vec::new(), opts).unwrap();
            w.select_db(0, 1, 1).unwrap();
            w.write_string(0, b"big", ttl, value).unwrap();
            assert_eq!(w.bytes_written(), by_entry.len() as u64 - 9);
            let by_parts = w.finish().unwrap();
            assert_eq!(by_entry, by_parts);
            let mut record = vec![ty::STRING, 3, b'b', b'i', b'g'];
            let mut c = lzf::Compressor::new();
            put_string(&mut record, value, compression.then_some(&mut c));
            let n = by_parts.len();
            assert_eq!(&by_parts[n - 9 - record.len()..n - 9], &record[..]);
            assert_eq!(record[5] == 0xc3, compression && compressible);
            assert_eq!(
                u64::from_le_bytes(by_parts[n - 8..].try_into().unwrap()),
                crate::io::crc64(&by_parts[..n - 8])
            );
        }
    }
}

fn ttl_hash(n: usize) -> Value {
    Value::Hash(
        (0..n)
            .map(|i| HashField {
                field: format!("f{i}").into_bytes(),
                value: b"v".to_vec(),
                expire_ms: (i % 2 == 0).then_some(1_000_000 + i as i64),
            })
            .collect(),
    )
}

#[test]
fn valkey_9_header_and_aux_fields() {
    let opts = WriterOptions {
        ctime: Some(0),
        aof: AofMarker::Aof,
        ..WriterOptions::for_version(VALKEY_9)
    };
    let f = Writer::new(Vec::new(), opts).unwrap().finish().unwrap();
    // Valkey 9.1.2's own preamble: VALKEY080, valkey-ver first, then the same
    // fields as Redis (corpus valkey-9.1.2/aof-preamble).
    assert!(f.starts_with(b"VALKEY080\xfa\x0avalkey-ver\x059.1.2\xfa\x0aredis-bits"));
    assert!(!String::from_utf8_lossy(&f).contains("redis-ver"));
    assert!(String::from_utf8_lossy(&f).contains("aof-base"));
    for v in [14, 79, 81] {
        assert!(matches!(
            Writer::new(Vec::new(), WriterOptions::for_version(v)),
            Err(WriteError::UnsupportedVersion(_))
        ));
    }
}

#[test]
fn valkey_9_hash_with_field_ttls_is_hash_2_at_any_size() {
    for n in [2, 600] {
        let b = body_of(VALKEY_9, &[entry("h", ttl_hash(n))]);
        // fe 00 fb 01 00 | type | key "h"
        assert_eq!(b[5], 22, "{n} fields");
        let mut expect = Vec::new();
        put_len(&mut expect, n as u64);
        expect.extend_from_slice(b"\x02f0\x01v");
        expect.extend_from_slice(&1_000_000i64.to_le_bytes());
        expect.extend_from_slice(b"\x02f1\x01v");
        expect.extend_from_slice(&(-1i64).to_le_bytes());
        assert_eq!(&b[8..8 + expect.len()], &expect[..], "{n} fields");
    }
    // A hash without field TTLs keeps the plain types, as Valkey 9 writes it.
    let plain = Value::Hash(vec![HashField {
        field: b"a".to_vec(),
        value: b"1".to_vec(),
        expire_ms: None,
    }]);
    assert_eq!(body_of(VALKEY_9, &[entry("h", plain)])[5], 16);
    // Valkey 9 sets and streams as Redis 7.2+ writes them.
    let set = Value::Set(vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(body_of(VALKEY_9, &[entry("s", set)])[5], 20);
}

#[test]
fn valkey_9_refuses_negative_field_expiry_and_vector_sets() {
    let mut h = ttl_hash(2);
    if let Value::Hash(f) = &mut h {
        f[0].expire_ms = Some(-5);
    }
    let opts = WriterOptions::for_version(VALKEY_9);
    let mut w = Writer::new(Vec::new(), opts).unwrap();
    w.select_db(0, 3, 0).unwrap();
    let before = w.bytes_written();
    let err = w.write_entry(&entry("h", h.clone())).unwrap_err();
    assert!(matches!(err, WriteError::Invalid { .. }), "{err}");
    assert_eq!(w.bytes_written(), before, "nothing of the key written");
    // Redis 8.6's vector set module id (FORMATS.md §8.1.4).
    let vset = Value::Module(model::ModuleValue {
        module_id: 0xbde7_2da2_bb1e_b400,
        type_name: "vectorset".into(),
        encver: 0,
        raw: vec![0],
    });
    let err = w.write_entry(&entry("v", vset.clone())).unwrap_err();
    assert!(err.to_string().contains("vector set"), "{err}");
    assert_eq!(w.bytes_written(), before);
    // The same value is written for Redis.
    let mut r = Writer::new(Vec::new(), WriterOptions::for_version(12)).unwrap();
    r.write_entry(&entry("v", vset)).unwrap();
    // Negative field TTLs are Valkey-only refusals (Redis' types store them).
    w.write_entry(&entry("ok", ttl_hash(3))).unwrap();
    assert!(w.bytes_written() > before);
}

#[test]
fn type_table_per_target() {
    // The last check on every record: what each loader refuses.
    assert!(type_allowed(VALKEY_9, ty::HASH_METADATA_PRE_GA));
    assert!(!type_allowed(VALKEY_9, ty::HASH_METADATA));
    assert!(!type_allowed(VALKEY_9, ty::HASH_LISTPACK_EX));
    assert!(!type_allowed(12, ty::HASH_METADATA_PRE_GA));
    assert!(type_allowed(12, ty::HASH_LISTPACK_EX));
    assert!(!type_allowed(11, ty::HASH_METADATA));
    assert!(!type_allowed(10, ty::SET_LISTPACK));
    assert!(type_allowed(11, ty::SET_LISTPACK));
    assert!(!type_allowed(9, ty::LIST_QUICKLIST_2));
    assert!(!type_allowed(12, ty::STREAM_LISTPACKS_4));
    assert!(!type_allowed(VALKEY_9, ty::STREAM_LISTPACKS_4));
    // Hash field TTLs for a Redis target stay 24/25.
    assert_eq!(body_of(12, &[entry("h", ttl_hash(600))])[5], 24);
    let err = write_all(
        Vec::new(),
        WriterOptions::for_version(11),
        &[],
        [entry("h", ttl_hash(2))],
        |_| (1, 0),
    )
    .unwrap_err();
    assert!(err.to_string().contains("hash field TTL"), "{err}");
}
