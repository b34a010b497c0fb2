//! Writer → reader round trips for every RDB version the writer produces
//! (9–12): RDB 11 and 12 cannot be loaded by the Redis 7.0 test server, so they
//! are validated with the project's RDB reader (deep validation and CRC-64 on),
//! including what only they can hold (set listpacks, stream v3 consumer active
//! times, hash field TTLs of types 24/25). Module values round-trip raw.

use crate::replay_support;

use redis_persist::io::Source;
use redis_persist::model::{
    Consumer, ConsumerGroup, Entry, FunctionLibrary, HashField, ModuleValue, PendingEntry, Stream,
    StreamEntry, StreamId, Value,
};
use redis_persist::rdb::writer::{AofMarker, WriteError, WriterOptions, write_all};
use redis_persist::rdb::{Entries, Item, Reader};
use replay_support::{assert_same, canonical};

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

fn dataset(version: u32) -> Vec<Entry> {
    let mut v = vec![
        e(0, "s", None, Value::String(b"hello".to_vec())),
        e(
            0,
            "n",
            Some(1_700_000_000_123),
            Value::String(b"-32768".to_vec()),
        ),
        e(
            0,
            "lzf",
            None,
            Value::String(b"abcabcabcabcabcabcabcabcabcabcabcabc".to_vec()),
        ),
        e(
            0,
            "l",
            None,
            Value::List((0..3000).map(|i| format!("e{i}").into_bytes()).collect()),
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
        e(
            0,
            "mod",
            None,
            Value::Module(ModuleValue {
                module_id: 0x0123_4567_89ab_c000 | 3,
                type_name: String::new(),
                encver: 3,
                // UINT 5, STRING "ab", EOF.
                raw: vec![0x02, 0x05, 0x05, 0x02, b'a', b'b', 0x00],
            }),
        ),
        e(3, "db3", None, Value::String(b"x".to_vec())),
        e(
            15,
            "db15",
            Some(4_102_444_800_000),
            Value::List(vec![b"y".to_vec()]),
        ),
    ];
    let ids: Vec<StreamId> = (1..=5).map(|i| StreamId::new(i, 0)).collect();
    v.push(e(
        0,
        "x",
        None,
        Value::Stream(Box::new(Stream {
            entries: ids
                .iter()
                .map(|id| StreamEntry {
                    id: *id,
                    fields: vec![(b"f".to_vec(), id.ms.to_string().into_bytes())],
                })
                .collect(),
            length: 5,
            last_id: StreamId::new(9, 0),
            first_id: None,
            max_deleted_entry_id: Some(StreamId::new(7, 0)),
            entries_added: Some(8),
            groups: vec![ConsumerGroup {
                name: b"g".to_vec(),
                last_delivered_id: ids[2],
                entries_read: Some(3),
                pel: vec![PendingEntry {
                    id: ids[1],
                    delivery_time_ms: 1_700_000_000_000,
                    delivery_count: 2,
                }],
                consumers: vec![
                    Consumer {
                        name: b"c".to_vec(),
                        seen_time_ms: 1_700_000_000_001,
                        active_time_ms: Some(1_700_000_000_002),
                        pel: vec![ids[1]],
                    },
                    Consumer {
                        name: b"never".to_vec(),
                        seen_time_ms: 1_700_000_000_003,
                        active_time_ms: Some(-1),
                        pel: vec![],
                    },
                ],
            }],
            idmp: None,
        })),
    ));
    if version >= 12 {
        v.push(e(
            0,
            "hfe:lp",
            None,
            Value::Hash(vec![
                hf("a", "1", Some(4_102_444_800_000)),
                hf("b", "2", None),
                hf("c", "3", Some(1_700_000_000_000)),
            ]),
        ));
        let big: Vec<HashField> = (0..700)
            .map(|i| {
                hf(
                    &format!("f{i}"),
                    "v",
                    (i % 3 == 0).then_some(1_700_000_000_000 + i64::from(i)),
                )
            })
            .collect();
        v.push(e(0, "hfe:ht", Some(4_102_444_800_000), Value::Hash(big)));
        v.push(e(
            0,
            "hfe:max",
            None,
            Value::Hash(vec![hf("m", "v", Some(70_368_744_177_663))]),
        ));
    }
    v
}

/// Normalizes what a version cannot store (see the writer's table).
fn normalize(entries: Vec<Entry>, version: u32) -> Vec<Entry> {
    entries
        .into_iter()
        .map(|mut en| {
            if let Value::Stream(s) = &mut en.value {
                for g in &mut s.groups {
                    for c in &mut g.consumers {
                        if version < 11 {
                            c.active_time_ms = None;
                        }
                    }
                    if version < 10 {
                        g.entries_read = None;
                    }
                }
                if version < 10 {
                    s.max_deleted_entry_id = None;
                    s.entries_added = None;
                }
            }
            if let Value::Module(m) = &mut en.value {
                // The name and version are derived from the id by the reader.
                m.type_name = String::new();
                m.encver = 0;
            }
            en
        })
        .collect()
}

/// Entries, function libraries and aux fields read back from a file.
type ReadBack = (Vec<Entry>, Vec<FunctionLibrary>, Vec<(Vec<u8>, Vec<u8>)>);

fn read_back(bytes: &[u8]) -> ReadBack {
    let mut entries = Entries::new(Reader::new(
        Source::new(bytes).with_size(bytes.len() as u64),
    ));
    let (mut out, mut fns, mut aux) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(item) = entries.next_item().unwrap() {
        match item {
            Item::Entry(en) => out.push(*en),
            Item::Function(f) => fns.push(f),
            Item::Aux { name, value } => aux.push((name, value)),
            Item::Eof { checksum } => assert_eq!(format!("{checksum:?}"), "Ok"),
            Item::EmptyKey { key, .. } => panic!("empty key {key:?}"),
            _ => {}
        }
    }
    (out, fns, aux)
}

#[test]
fn every_version_round_trips_through_the_reader() {
    let lib = FunctionLibrary {
        code: b"#!lua name=l\nredis.register_function('f', function() return 1 end)".to_vec(),
    };
    for version in 9..=12 {
        let entries = dataset(version);
        let fns = if version >= 10 {
            vec![lib.clone()]
        } else {
            vec![]
        };
        let opts = WriterOptions {
            aof: AofMarker::Aof,
            ctime: Some(1_700_000_000),
            ..WriterOptions::for_version(version)
        };
        let bytes = write_all(Vec::new(), opts, &fns, entries.clone(), |_| (0, 0)).unwrap();
        assert_eq!(&bytes[..9], format!("REDIS{version:04}").as_bytes());
        let (back, back_fns, aux) = read_back(&bytes);
        assert_eq!(back_fns, fns, "RDB {version}: functions");
        let marker: &[u8] = if version >= 10 {
            b"aof-base"
        } else {
            b"aof-preamble"
        };
        assert!(
            aux.iter().any(|(n, v)| n == marker && v == b"1"),
            "RDB {version}: {aux:?}"
        );
        assert_same(
            &format!("RDB {version} through the reader"),
            &canonical(normalize(entries, version), false),
            &canonical(normalize(back, version), false),
        );
    }
}

#[test]
fn field_ttls_are_refused_below_version_12() {
    for version in 9..=11 {
        let h = e(0, "h", None, Value::Hash(vec![hf("a", "1", Some(5))]));
        let err = write_all(
            Vec::new(),
            WriterOptions::for_version(version),
            &[],
            [h],
            |_| (1, 0),
        )
        .unwrap_err();
        assert!(matches!(err, WriteError::Unrepresentable { .. }), "{err}");
    }
}

#[test]
fn lru_lfu_and_module_aux_round_trip_through_a_dataset() {
    let mut w = redis_persist::rdb::writer::Writer::new(Vec::new(), WriterOptions::for_version(10))
        .unwrap();
    let aux = ModuleValue {
        module_id: 0x0123_4567_89ab_c000 | 1,
        type_name: String::new(),
        encver: 1,
        raw: vec![0x02, 0x07, 0x00],
    };
    w.write_module_aux(&aux, 1).unwrap();
    w.select_db(0, 2, 0).unwrap();
    let mut a = e(0, "a", None, Value::String(b"1".to_vec()));
    a.lru_idle = Some(12);
    let mut b = e(0, "b", None, Value::String(b"2".to_vec()));
    b.lfu_freq = Some(5);
    w.write_entry(&a).unwrap();
    w.write_entry(&b).unwrap();
    w.write_module_aux(&aux, 2).unwrap();
    let bytes = w.finish().unwrap();
    let (back, _, _) = read_back(&bytes);
    assert_eq!(back[0].lru_idle, Some(12));
    assert_eq!(back[1].lfu_freq, Some(5));

    // Through a dataset: keys and module AUX records are kept and written back
    // in Redis' order (before-keys records first, after-keys records last).
    let mut ds = redis_persist::replay::Dataset::new(16);
    let mut entries = Entries::new(Reader::new(
        Source::new(&bytes[..]).with_size(bytes.len() as u64),
    ));
    assert_eq!(ds.load_rdb(&mut entries).unwrap(), 2);
    assert_eq!(ds.module_aux.len(), 2);
    assert_eq!(ds.module_aux[0].0.raw, aux.raw);
    let again = ds
        .write_rdb(Vec::new(), WriterOptions::for_version(10))
        .unwrap();
    let mut entries = Entries::new(Reader::new(
        Source::new(&again[..]).with_size(again.len() as u64),
    ));
    let mut order = Vec::new();
    while let Some(item) = entries.next_item().unwrap() {
        match item {
            Item::ModuleAux { when, .. } => order.push(format!("aux{when}")),
            Item::Entry(en) => order.push(String::from_utf8(en.key).unwrap()),
            _ => {}
        }
    }
    assert_eq!(order, ["aux1", "a", "b", "aux2"]);
}
