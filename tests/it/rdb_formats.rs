//! Formats the corpus has no file for, built byte by byte from FORMATS.md: Valkey
//! 9 (`VALKEY080`, type 22 `HASH_2`, opcode `SLOT_IMPORT`), Redis 8.6 (RDB 13,
//! `KEY_META`; its stream type 26 has its own file, `rdb_stream_idmp.rs`),
//! versions and types we do not support (a clear error, never a
//! misparse), the magic deciding what type 22 means, old headers carrying newer
//! types, and standard input.

use crate::common;

use redis_persist::io::{Source, crc64};
use redis_persist::model::{HashField, Value};
use redis_persist::rdb::check::{self, CheckOptions};
use redis_persist::rdb::{Entries, ErrorKind, Event, Item, Reader};

fn string(b: &mut Vec<u8>, s: &[u8]) {
    assert!(s.len() < 64);
    b.push(s.len() as u8);
    b.extend_from_slice(s);
}

fn finish(mut b: Vec<u8>) -> Vec<u8> {
    b.push(0xff);
    let c = crc64(&b);
    b.extend_from_slice(&c.to_le_bytes());
    b
}

fn items(bytes: &[u8]) -> Result<Vec<Item>, redis_persist::rdb::Error> {
    let mut e = Entries::new(Reader::new(
        Source::new(bytes).with_size(bytes.len() as u64),
    ));
    let mut v = Vec::new();
    while let Some(i) = e.next_item()? {
        v.push(i);
    }
    Ok(v)
}

fn entry_values(bytes: &[u8]) -> Vec<(Vec<u8>, Value)> {
    items(bytes)
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            Item::Entry(e) => Some((e.key, e.value)),
            _ => None,
        })
        .collect()
}

fn error_of(bytes: &[u8]) -> redis_persist::rdb::Error {
    items(bytes).expect_err("must fail")
}

#[test]
fn valkey_9_hash_with_field_ttls_and_slot_import() {
    let mut b = b"VALKEY080".to_vec();
    // SLOT_IMPORT: job name, 2 ranges.
    b.push(0xf3);
    string(&mut b, b"0123456789abcdef0123456789abcdef01234567");
    b.extend_from_slice(&[2, 0, 10, 20, 30]);
    b.extend_from_slice(&[0xf4, 5, 1, 0]); // SLOT_INFO
    b.extend_from_slice(&[0xfe, 0]);
    // Type 22 in a VALKEY file: HASH_2 = n × (field, value, MS64 expiry or -1).
    b.push(22);
    string(&mut b, b"h");
    b.push(2);
    string(&mut b, b"a");
    string(&mut b, b"1");
    b.extend_from_slice(&4_102_444_800_000i64.to_le_bytes());
    string(&mut b, b"b");
    string(&mut b, b"2");
    b.extend_from_slice(&(-1i64).to_le_bytes());
    let b = finish(b);
    let mut r = Reader::new(Source::new(&b[..]));
    let mut ranges = None;
    while let Some(ev) = r.next_event().unwrap() {
        if let Event::SlotImport { job, ranges: rg } = ev {
            assert_eq!(job.len(), 40);
            ranges = Some(rg.to_vec());
        }
    }
    assert_eq!(ranges, Some(vec![(0, 10), (20, 30)]));
    assert_eq!(
        entry_values(&b),
        vec![(
            b"h".to_vec(),
            Value::Hash(vec![
                HashField {
                    field: b"a".to_vec(),
                    value: b"1".to_vec(),
                    expire_ms: Some(4_102_444_800_000)
                },
                HashField {
                    field: b"b".to_vec(),
                    value: b"2".to_vec(),
                    expire_ms: None
                },
            ])
        )]
    );
    let rep = check::check(Reader::new(Source::new(&b[..])), CheckOptions::default()).0;
    assert!(rep.is_ok(), "{:?}", rep.problems);
    assert_eq!((rep.keys, rep.subexpires), (1, 1));
    assert_eq!(rep.encodings.get("hash-2"), Some(&1));
}

#[test]
fn the_magic_decides_what_type_22_means() {
    // The same bytes after a REDIS0012 header are a Redis 7.4 RC hash (22:
    // n × (ttl, field, value)), which reads differently.
    let mut b = b"REDIS0012".to_vec();
    b.extend_from_slice(&[0xfe, 0, 22]);
    string(&mut b, b"h");
    b.push(1);
    b.push(0); // ttl 0 = none
    string(&mut b, b"f");
    string(&mut b, b"v");
    let b = finish(b);
    assert_eq!(
        entry_values(&b),
        vec![(
            b"h".to_vec(),
            Value::Hash(vec![HashField {
                field: b"f".to_vec(),
                value: b"v".to_vec(),
                expire_ms: None
            }])
        )]
    );
    // Opcode 0xf3 means nothing in a REDIS file below version 13: no server
    // writes it there, so it is damage, not a newer server's content.
    let mut b = b"REDIS0012".to_vec();
    b.extend_from_slice(&[0xf3, 0]);
    let e = error_of(&finish(b));
    assert!(!e.is_unsupported(), "{e}");
    assert!(e.to_string().contains("invalid opcode 0xf3"), "{e}");
}

#[test]
fn redis_8_6_key_metadata_is_skipped_and_counted() {
    let mut b = b"REDIS0013".to_vec();
    b.extend_from_slice(&[0xfe, 0]);
    // KEY_META: 1 class: 4-byte spec, module data (UINT 7, STRING "x"), EOF.
    b.extend_from_slice(&[0xf3, 1, b'm', b'e', b't', b'a', 2, 7, 5, 1, b'x', 0]);
    b.push(0);
    string(&mut b, b"k");
    string(&mut b, b"v");
    let b = finish(b);
    let mut r = Reader::new(Source::new(&b[..]));
    let mut seen = false;
    while let Some(ev) = r.next_event().unwrap() {
        if let Event::KeyStart(k) = ev {
            assert_eq!((k.key, k.meta_classes, k.offset), (&b"k"[..], 1, 11));
            seen = true;
        }
    }
    assert!(seen);
    // Type 27 (Redis 8.8 streams, not documented) is a clear error; type 26
    // (8.6 streams with IDMP state) is read (tests/it/rdb_stream_idmp.rs).
    let mut b = b"REDIS0013".to_vec();
    b.extend_from_slice(&[0xfe, 0, 27]);
    string(&mut b, b"s");
    let e = error_of(&finish(b));
    assert!(
        matches!(e.kind(), ErrorKind::UnsupportedType { rdb_type: 27, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("unsupported type byte 27"), "{e}");
}

#[test]
fn unsupported_versions_and_types_are_clear_errors() {
    for (magic, newest) in [(&b"REDIS0014"[..], 13), (b"VALKEY082", 81)] {
        let e = error_of(&finish(magic.to_vec()));
        match e.kind() {
            ErrorKind::UnsupportedVersion { newest: n, .. } => assert_eq!(*n, newest),
            other => panic!("{}: {other:?}", String::from_utf8_lossy(magic)),
        }
        assert!(e.to_string().contains("unsupported RDB version"), "{e}");
        assert!(e.is_unsupported(), "{e}");
    }
    // Versions below the magic's range are no newer server's: corrupt.
    for magic in [&b"REDIS0000"[..], b"VALKEY079"] {
        let e = error_of(&finish(magic.to_vec()));
        assert!(matches!(e.kind(), ErrorKind::Corrupt(_)), "{e}");
        assert!(e.to_string().contains("invalid RDB version"), "{e}");
        assert!(!e.is_unsupported(), "{e}");
    }
    for bad in [&b"RDB000012"[..], b"REDIS001x", b"\x00\x01"] {
        let e = error_of(bad);
        assert!(
            matches!(
                e.kind(),
                ErrorKind::BadMagic(_) | ErrorKind::UnexpectedEof { .. }
            ),
            "{e}"
        );
    }
    // Valkey 9.2's type 23 and unknown types stop with the type and version.
    let mut b = b"VALKEY081".to_vec();
    b.extend_from_slice(&[0xfe, 0, 23]);
    let e = error_of(&finish(b));
    assert!(
        matches!(
            e.kind(),
            ErrorKind::UnsupportedType {
                rdb_type: 23,
                version: 81,
                ..
            }
        ),
        "{e}"
    );
    // An unknown type byte is a newer server's only in the newest version we
    // know; in an older one it is damage (that version's loader refuses it).
    let mut b = b"REDIS0013".to_vec();
    b.extend_from_slice(&[0xfe, 0, 42]);
    let e = error_of(&finish(b));
    assert!(
        matches!(e.kind(), ErrorKind::UnsupportedType { rdb_type: 42, .. }),
        "{e}"
    );
    assert_eq!(e.offset(), 11);
    let mut b = b"REDIS0011".to_vec();
    b.extend_from_slice(&[0xfe, 0, 42]);
    let e = error_of(&finish(b));
    assert!(!e.is_unsupported(), "{e}");
    assert!(
        e.to_string()
            .contains("invalid or unsupported type byte 42"),
        "{e}"
    );
    assert_eq!(e.offset(), 11);
}

#[test]
fn old_headers_may_carry_newer_types() {
    // A version-9 header with a type-16 (listpack hash) key is accepted, as Redis
    // does: the version only bounds what a reader must support.
    let mut lp = redis_persist::rdb::writer::Listpack::new();
    lp.push(b"f");
    lp.push(b"1");
    let lp = lp.finish();
    let mut b = b"REDIS0009".to_vec();
    b.extend_from_slice(&[0xfe, 0, 16]);
    string(&mut b, b"h");
    b.push(lp.len() as u8);
    b.extend_from_slice(&lp);
    let b = finish(b);
    assert_eq!(
        entry_values(&b),
        vec![(
            b"h".to_vec(),
            Value::Hash(vec![HashField {
                field: b"f".to_vec(),
                value: b"1".to_vec(),
                expire_ms: None
            }])
        )]
    );
}

#[test]
fn module_values_are_walked_and_counted() {
    // Type 7: module id, annotated data (SINT, DOUBLE, STRING), EOF.
    const CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let id: u64 = (b"ReJSON-RL".iter().fold(0u64, |acc, c| {
        (acc << 6) | CHARSET.iter().position(|x| x == c).unwrap() as u64
    }) << 10)
        | 3;
    let mut b = b"REDIS0010".to_vec();
    b.extend_from_slice(&[0xfe, 0, 7]);
    string(&mut b, b"m");
    b.push(0x81);
    b.extend_from_slice(&id.to_be_bytes());
    b.extend_from_slice(&[1, 5, 4]);
    b.extend_from_slice(&1.5f64.to_le_bytes());
    b.extend_from_slice(&[5, 2, b'h', b'i', 0]);
    let b = finish(b);
    let rep = check::check(Reader::new(Source::new(&b[..])), CheckOptions::default()).0;
    assert!(rep.is_ok(), "{:?}", rep.problems);
    assert_eq!(rep.modules.get("ReJSON-RL"), Some(&1));
    let v = entry_values(&b);
    let Value::Module(m) = &v[0].1 else { panic!() };
    assert_eq!((m.type_name.as_str(), m.encver), ("ReJSON-RL", 3));
    // An unknown module opcode is corruption (redis-check-rdb silently loops).
    // Data: ... 05 02 'h' 'i' 00 | ff + CRC. Turn the STRING opcode 5 into 9.
    let mut bad = b[..b.len() - 9].to_vec();
    let n = bad.len();
    assert_eq!(bad[n - 5], 5);
    bad[n - 5] = 9;
    let rep = check::check(
        Reader::new(Source::new(&finish(bad)[..])),
        CheckOptions::default(),
    )
    .0;
    let p = rep
        .first_error()
        .expect("unknown module opcode must be an error");
    assert!(
        p.message.contains("unknown module data opcode 9"),
        "{}",
        p.message
    );
}

#[test]
fn standard_input_and_several_files() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let f = corpus.join("redis-7.0.15/types.rdb");
    let out = common::bin()
        .args(["check-rdb", "--json", "-"])
        .stdin(std::fs::File::open(&f).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["files"][0]["keys"], 112);
    assert_eq!(doc["files"][0]["path"], "-");
    let out = common::run(&[
        "check-rdb",
        f.to_str().unwrap(),
        corpus.join("redis-7.4.1/types.rdb").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("OK: the file is valid")
            .count(),
        2
    );
}
