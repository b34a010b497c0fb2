//! RDB type 26 `STREAM_LISTPACKS_4` (Redis 8.6: a stream with its IDMP state,
//! FORMATS.md §8.1.2) built byte by byte: the trailer is read into the model,
//! every reading path agrees on it (check, parallel and guessed checks, dump's
//! adaptor, stats), the loader's rules hold (duration 1..86400, maxsize
//! 1..10000, a repeated producer fails, a repeated iid is skipped), DUMP
//! payloads of version 13 decode, a cut trailer is an error at its offset,
//! and type 27 stays unsupported.

use crate::common;

use common::paths::{disagreements, src};
use redis_persist::io::crc64;
use redis_persist::model::{IdmpProducer, StreamId, StreamIdmp, Value};
use redis_persist::rdb::check::{self, CheckOptions};
use redis_persist::rdb::{Entries, ErrorKind, Item, Reader, payload};

/// A producer as written: pid, then (iid, id ms, id seq) each.
type Producer<'a> = (&'a [u8], &'a [(&'a [u8], u8, u8)]);

/// The IDMP trailer of a stream.
struct Trailer<'a> {
    duration: &'a [u8],
    maxsize: &'a [u8],
    producers: &'a [Producer<'a>],
    added: u8,
    duplicates: u8,
}

/// A stream value of type 26: one node holding entry 1-0 `f v`, last id 5-0,
/// no group, then the trailer.
fn stream_value(t: &Trailer<'_>) -> Vec<u8> {
    let mut v = vec![1, 16];
    v.extend_from_slice(&StreamId::new(1, 0).to_be_bytes());
    // Listpack: master entry (count 1, deleted 0, 1 field "f", 0), then one
    // SAMEFIELDS entry (flags 2, ms 0, seq 0, value "v", lp-count 4).
    let elems: &[&[u8]] = &[
        &[0x01],
        &[0x00],
        &[0x01],
        &[0x81, b'f'],
        &[0x00],
        &[0x02],
        &[0x00],
        &[0x00],
        &[0x81, b'v'],
        &[0x04],
    ];
    let mut lp = Vec::new();
    for e in elems {
        lp.extend_from_slice(e);
        lp.push(e.len() as u8); // backlen
    }
    let total = 6 + lp.len() + 1;
    let mut blob = (total as u32).to_le_bytes().to_vec();
    blob.extend_from_slice(&(elems.len() as u16).to_le_bytes());
    blob.extend_from_slice(&lp);
    blob.push(0xff);
    v.push(blob.len() as u8);
    v.extend_from_slice(&blob);
    // length 1, last 5-0, first 1-0, max deleted 0-0, added 1, 0 groups.
    v.extend_from_slice(&[1, 5, 0, 1, 0, 0, 0, 1, 0]);
    v.extend_from_slice(t.duration);
    v.extend_from_slice(t.maxsize);
    v.push(t.producers.len() as u8);
    for (pid, iids) in t.producers {
        v.push(pid.len() as u8);
        v.extend_from_slice(pid);
        v.push(iids.len() as u8);
        for (iid, ms, seq) in *iids {
            v.push(iid.len() as u8);
            v.extend_from_slice(iid);
            v.extend_from_slice(&[*ms, *seq]);
        }
    }
    v.extend_from_slice(&[t.added, t.duplicates]);
    v
}

fn file(ty: u8, value: &[u8]) -> Vec<u8> {
    let mut b = b"REDIS0013".to_vec();
    b.extend_from_slice(&[0xfe, 0, ty, 1, b's']);
    b.extend_from_slice(value);
    b.push(0xff);
    let c = crc64(&b);
    b.extend_from_slice(&c.to_le_bytes());
    b
}

fn read(bytes: &[u8]) -> Result<Vec<Value>, redis_persist::rdb::Error> {
    let mut e = Entries::new(Reader::new(src(bytes)));
    let mut out = Vec::new();
    while let Some(i) = e.next_item()? {
        if let Item::Entry(en) = i {
            out.push(en.value);
        }
    }
    Ok(out)
}

fn idmp_of(bytes: &[u8]) -> StreamIdmp {
    match read(bytes).unwrap().as_slice() {
        [Value::Stream(s)] => {
            assert_eq!(s.entries.len(), 1);
            assert_eq!(s.last_id, StreamId::new(5, 0));
            s.idmp.clone().expect("type 26 has IDMP state")
        }
        other => panic!("{other:?}"),
    }
}

const PRODUCERS: &[Producer<'static>] = &[
    (b"p", &[(b"a", 1, 0), (b"b", 5, 0), (b"a", 9, 9)]),
    (b"q\x00", &[(b"\xff", 1, 0)]),
];

#[test]
fn the_idmp_trailer_is_read_with_the_loader_rules() {
    // Never configured: the defaults, no producer.
    let plain = file(
        26,
        &stream_value(&Trailer {
            duration: &[0x40, 100],
            maxsize: &[0x40, 100],
            producers: &[],
            added: 0,
            duplicates: 0,
        }),
    );
    assert_eq!(idmp_of(&plain), StreamIdmp::new());
    // Producers in file order; the repeated iid "a" of p is skipped as the
    // loader skips it (the first is kept).
    let with = file(
        26,
        &stream_value(&Trailer {
            duration: &[60],
            maxsize: &[0x40, 100], // a 14-bit length
            producers: PRODUCERS,
            added: 9,
            duplicates: 4,
        }),
    );
    let got = idmp_of(&with);
    assert_eq!(
        got,
        StreamIdmp {
            duration: 60,
            maxsize: 100,
            producers: vec![
                IdmpProducer {
                    pid: b"p".to_vec(),
                    iids: vec![
                        (b"a".to_vec(), StreamId::new(1, 0)),
                        (b"b".to_vec(), StreamId::new(5, 0)),
                    ],
                },
                IdmpProducer {
                    pid: b"q\x00".to_vec(),
                    iids: vec![(b"\xff".to_vec(), StreamId::new(1, 0))],
                },
            ],
            iids_added: 9,
            iids_duplicates: 4,
        }
    );
    for f in [&plain, &with] {
        let d = disagreements(f);
        assert!(d.is_empty(), "{d:?}");
        let rep = check::check(Reader::new(src(f)), CheckOptions::default()).0;
        assert!(rep.is_ok(), "{:?}", rep.problems);
        assert_eq!(rep.keys, 1);
    }
    // A DUMP payload of version 13 carries the same value.
    let value = stream_value(&Trailer {
        duration: &[60],
        maxsize: &[0x40, 100],
        producers: PRODUCERS,
        added: 9,
        duplicates: 4,
    });
    let p = payload::decode(&payload::encode(26, &value, 13), true).unwrap();
    match p.value {
        Value::Stream(s) => assert_eq!(s.idmp, Some(got)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn what_the_loader_rejects_is_corrupt() {
    let cases: &[(&str, Trailer<'_>)] = &[
        (
            "duration 0",
            Trailer {
                duration: &[0],
                maxsize: &[0x40, 100],
                producers: &[],
                added: 0,
                duplicates: 0,
            },
        ),
        (
            "maxsize 0",
            Trailer {
                duration: &[1],
                maxsize: &[0],
                producers: &[],
                added: 0,
                duplicates: 0,
            },
        ),
        (
            "maxsize 10001",
            Trailer {
                duration: &[1],
                maxsize: &[0x67, 0x11],
                producers: &[],
                added: 0,
                duplicates: 0,
            },
        ),
        (
            "a repeated producer",
            Trailer {
                duration: &[1],
                maxsize: &[1],
                producers: &[(b"p", &[]), (b"p", &[])],
                added: 0,
                duplicates: 0,
            },
        ),
    ];
    for (what, t) in cases {
        let f = file(26, &stream_value(t));
        let e = read(&f).expect_err(what);
        assert!(matches!(e.kind(), ErrorKind::Corrupt(_)), "{what}: {e}");
        let rep = check::check(Reader::new(src(&f)), CheckOptions::default()).0;
        assert!(!rep.is_ok(), "{what}");
        let d = disagreements(&f);
        assert!(d.is_empty(), "{what}: {d:?}");
    }
    // Duration 86401 (a 32-bit length).
    let mut v = stream_value(&Trailer {
        duration: &[0],
        maxsize: &[1],
        producers: &[],
        added: 0,
        duplicates: 0,
    });
    let at = v.len() - 5;
    v.splice(at..=at, [0x80, 0, 1, 0x51, 0x81]);
    let e = read(&file(26, &v)).unwrap_err();
    assert!(e.to_string().contains("86401"), "{e}");
}

#[test]
fn a_cut_trailer_and_huge_counts_are_errors() {
    let v = stream_value(&Trailer {
        duration: &[60],
        maxsize: &[3],
        producers: PRODUCERS,
        added: 9,
        duplicates: 4,
    });
    // The value cut anywhere in the trailer (no EOF opcode after it).
    let trailer_start = v.len() - 21;
    for cut in trailer_start..v.len() {
        let mut b = b"REDIS0013".to_vec();
        b.extend_from_slice(&[0xfe, 0, 26, 1, b's']);
        b.extend_from_slice(&v[..cut]);
        assert!(read(&b).is_err(), "cut at {cut}");
    }
    // 2^32 producers declared in a few bytes: refused before any allocation.
    let mut v2 = stream_value(&Trailer {
        duration: &[60],
        maxsize: &[3],
        producers: &[],
        added: 0,
        duplicates: 0,
    });
    let at = v2.len() - 3;
    v2.splice(at..=at, [0x81, 0, 0, 0, 1, 0, 0, 0, 0]);
    let e = read(&file(26, &v2)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LengthTooLarge { .. }), "{e}");
}

#[test]
fn type_27_stays_unsupported_and_26_is_redis_only() {
    let e = read(&file(27, &[0])).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::UnsupportedType { rdb_type: 27, .. }),
        "{e}"
    );
    // In a Valkey file 26 is no stream: unsupported in the newest Valkey
    // version we know (a newer Valkey may use it), damage in VALKEY080.
    let mut b = b"VALKEY081".to_vec();
    b.extend_from_slice(&[0xfe, 0, 26, 1, b's', 0]);
    let e = read(&b).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::UnsupportedType { rdb_type: 26, .. }),
        "{e}"
    );
    let mut b = b"VALKEY080".to_vec();
    b.extend_from_slice(&[0xfe, 0, 26, 1, b's', 0]);
    let e = read(&b).unwrap_err();
    assert!(!e.is_unsupported(), "{e}");
}
