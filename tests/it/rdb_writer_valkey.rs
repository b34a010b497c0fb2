//! The writer's Valkey 9 target (`VALKEY080`, version 80): what it writes
//! loads into a live valkey-server 9.1.2 (`../shared/servers`) with the same
//! dataset, hash field TTLs included (type 22 `HASH_2`), and the encodings the
//! server itself would choose; it round-trips through the project's reader.

use crate::common;
use crate::replay_support;

use redis_persist::io::Source;
use redis_persist::model::{
    Entry, FunctionLibrary, HashField, Stream, StreamEntry, StreamId, Value,
};
use redis_persist::rdb::writer::{AofMarker, VALKEY_9, WriteError, Writer, WriterOptions};
use redis_persist::rdb::{Entries, Item, Reader};
use replay_support::{assert_same, canonical, read_functions, read_server};

const FUTURE: i64 = 4_102_444_800_000; // 2100-01-01

fn e(db: u64, key: &str, expire_ms: Option<i64>, value: Value) -> Entry {
    Entry::new(db, key, expire_ms, value)
}

fn hf(f: &str, v: &str, t: Option<i64>) -> HashField {
    HashField {
        field: f.as_bytes().to_vec(),
        value: v.as_bytes().to_vec(),
        expire_ms: t,
    }
}

fn dataset() -> Vec<Entry> {
    let big = vec![b'x'; 10_000];
    vec![
        e(0, "s", None, Value::String(b"hello".to_vec())),
        e(0, "n", Some(FUTURE), Value::String(b"-32768".to_vec())),
        e(0, "s:big", None, Value::String(vec![b'a'; 3000])),
        e(
            0,
            "l",
            None,
            Value::List((0..3000).map(|i| format!("e{i}").into_bytes()).collect()),
        ),
        e(
            0,
            "l:plain",
            None,
            Value::List(vec![b"a".to_vec(), big, b"b".to_vec()]),
        ),
        e(
            0,
            "set:lp",
            None,
            Value::Set(vec![b"a".to_vec(), b"b".to_vec()]),
        ),
        e(
            0,
            "set:int",
            None,
            Value::Set(vec![b"1".to_vec(), b"-70000".to_vec()]),
        ),
        e(
            0,
            "set:ht",
            None,
            Value::Set((0..200).map(|i| format!("m{i}").into_bytes()).collect()),
        ),
        e(
            0,
            "z:lp",
            None,
            Value::Zset(vec![(b"a".to_vec(), 0.5), (b"b".to_vec(), f64::INFINITY)]),
        ),
        e(
            0,
            "z:sl",
            None,
            Value::Zset(
                (0..200)
                    .map(|i| (format!("m{i}").into_bytes(), f64::from(i) - 0.25))
                    .collect(),
            ),
        ),
        e(
            0,
            "h:lp",
            None,
            Value::Hash(vec![hf("a", "1", None), hf("b", "", None)]),
        ),
        e(
            0,
            "h:ht",
            None,
            Value::Hash((0..600).map(|i| hf(&format!("f{i}"), "v", None)).collect()),
        ),
        // Hash field TTLs: HASH_2 whatever the size.
        e(
            0,
            "hfe:small",
            None,
            Value::Hash(vec![
                hf("a", "1", Some(FUTURE)),
                hf("b", "2", None),
                hf("c", "3", Some(FUTURE + 5)),
            ]),
        ),
        e(
            0,
            "hfe:large",
            Some(FUTURE + 1000),
            Value::Hash(
                (0..700)
                    .map(|i| {
                        hf(
                            &format!("f{i}"),
                            &"v".repeat(i % 80),
                            (i % 3 == 0).then_some(FUTURE + i as i64),
                        )
                    })
                    .collect(),
            ),
        ),
        e(
            0,
            "hfe:one",
            None,
            Value::Hash(vec![hf("m", "v", Some(70_368_744_177_663))]),
        ),
        e(3, "db3", None, Value::String(b"x".to_vec())),
        e(
            0,
            "x",
            None,
            Value::Stream(Box::new(Stream {
                entries: (1..=5)
                    .map(|i| StreamEntry {
                        id: StreamId::new(i, 0),
                        fields: vec![(b"f".to_vec(), i.to_string().into_bytes())],
                    })
                    .collect(),
                length: 5,
                last_id: StreamId::new(9, 0),
                first_id: None,
                max_deleted_entry_id: Some(StreamId::new(7, 0)),
                entries_added: Some(8),
                groups: vec![],
                idmp: None,
            })),
        ),
    ]
}

fn lib() -> FunctionLibrary {
    FunctionLibrary {
        code: b"#!lua name=vlib\nserver.register_function('v_echo', function(keys, args) return args[1] end)\n"
            .to_vec(),
    }
}

/// Writes `entries` at version 80; returns the bytes and each key's type byte.
fn write(entries: &[Entry]) -> (Vec<u8>, Vec<u8>) {
    let opts = WriterOptions {
        ctime: Some(1_700_000_000),
        aof: AofMarker::None,
        ..WriterOptions::for_version(VALKEY_9)
    };
    let mut w = Writer::new(Vec::new(), opts).unwrap();
    w.write_function(&lib()).unwrap();
    let mut types = Vec::new();
    for en in entries {
        w.write_entry(en).unwrap();
        types.push(w.last_type().unwrap());
    }
    (w.finish().unwrap(), types)
}

#[test]
fn valkey_9_file_round_trips_through_the_reader() {
    let entries = dataset();
    let (bytes, types) = write(&entries);
    assert_eq!(&bytes[..9], b"VALKEY080");
    for (en, t) in entries.iter().zip(&types) {
        let ttl = matches!(&en.value, Value::Hash(h) if h.iter().any(|f| f.expire_ms.is_some()));
        assert_eq!(ttl, *t == 22, "key {:?} written as type {t}", en.key);
        assert!(![24, 25].contains(t));
    }
    let mut it = Entries::new(Reader::new(
        Source::new(&bytes[..]).with_size(bytes.len() as u64),
    ));
    let mut back = Vec::new();
    let mut aux = Vec::new();
    while let Some(item) = it.next_item().unwrap() {
        match item {
            Item::Entry(en) => back.push(*en),
            Item::Aux { name, value } => aux.push((name, value)),
            Item::Eof { checksum } => assert_eq!(format!("{checksum:?}"), "Ok"),
            _ => {}
        }
    }
    assert!(
        aux.iter().any(|(n, v)| n == b"valkey-ver" && v == b"9.1.2"),
        "{aux:?}"
    );
    assert!(!aux.iter().any(|(n, _)| n == b"redis-ver"));
    assert_same(
        "VALKEY080 through the reader",
        &canonical(entries, false),
        &canonical(back, false),
    );
}

#[test]
fn valkey_9_loads_what_the_writer_writes() {
    let entries = dataset();
    let (bytes, types) = write(&entries);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v80.rdb");
    std::fs::write(&path, &bytes).unwrap();
    let Some(mut server) = common::servers::start(
        "valkey-9.1.2",
        &["--dbfilename", "dump.rdb"],
        &[(&path, "dump.rdb")],
    ) else {
        return;
    };
    assert!(
        server.log().contains("Done loading RDB"),
        "valkey 9.1.2 did not load the file:\n{}",
        server.log()
    );
    assert_same(
        "VALKEY080 loaded by valkey-server 9.1.2",
        &canonical(entries.clone(), false),
        &canonical(read_server(&mut server, 16), false),
    );
    assert_eq!(read_functions(&mut server), vec![lib().code]);
    // The encodings Valkey picks for what it loaded are those of the types
    // written (a volatile hash is always a hashtable in Valkey 9).
    for (en, t) in entries.iter().zip(&types) {
        server.cmd(&["SELECT", &en.db.to_string()]);
        let enc = String::from_utf8(
            server
                .cmd(&[b"OBJECT".as_slice(), b"ENCODING", &en.key])
                .bytes(),
        )
        .unwrap();
        let want = match t {
            0 => enc.as_str(),
            18 => "quicklist",
            11 => "intset",
            16 | 17 | 20 => "listpack",
            2 | 4 | 22 => "hashtable",
            5 => "skiplist",
            21 => "stream",
            other => panic!("type {other}"),
        };
        assert_eq!(
            enc,
            want,
            "key {:?} written as type {t}",
            String::from_utf8_lossy(&en.key)
        );
    }
    // The server saves what it loaded in the same format.
    let saved = server.save();
    let again = std::fs::read(saved).unwrap();
    assert_eq!(&again[..9], b"VALKEY080");
}

#[test]
fn valkey_9_refuses_what_it_cannot_hold_before_writing_it() {
    // A Redis 8 vector set has no Valkey form (no such module in Valkey).
    let vset = e(
        0,
        "v",
        None,
        Value::Module(redis_persist::model::ModuleValue {
            module_id: 0xbde7_2da2_bb1e_b400,
            type_name: "vectorset".into(),
            encver: 0,
            raw: vec![0],
        }),
    );
    let mut w = Writer::new(Vec::new(), WriterOptions::for_version(VALKEY_9)).unwrap();
    w.select_db(0, 1, 0).unwrap();
    let n = w.bytes_written();
    let err = w.write_entry(&vset).unwrap_err();
    assert!(matches!(err, WriteError::Unrepresentable { .. }), "{err}");
    assert_eq!(w.bytes_written(), n);
    // And a Valkey 9 file is refused by a Redis target only at the field TTL
    // level below 12 (Redis 12 writes 24/25 for the same hash).
    let h = e(0, "h", None, Value::Hash(vec![hf("a", "1", Some(FUTURE))]));
    let mut r = Writer::new(Vec::new(), WriterOptions::for_version(11)).unwrap();
    assert!(r.write_entry(&h).is_err());
    let mut r = Writer::new(Vec::new(), WriterOptions::for_version(12)).unwrap();
    r.write_entry(&h).unwrap();
    assert_eq!(r.last_type(), Some(25));
}
