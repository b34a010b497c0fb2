//! The reader against a live redis-server 7.0: a workload covering every type
//! and encoding (and binary data, integer strings, LZF, expiries, several
//! databases, streams with groups, consumers and pending entries, functions) is
//! written to a real server, saved with SAVE, and what we read from the file
//! must equal what the server reports for every key.

use crate::common;

use std::collections::BTreeMap;

use common::RedisServer;
use common::expected::{self, Canon};
use common::live::{self, LiveOptions};
use common::workload::workload;
use redis_persist::io::Source;
use redis_persist::rdb::check::{self, CheckOptions};
use redis_persist::rdb::{Entries, Item, Reader};

fn read_file(
    path: &std::path::Path,
) -> (BTreeMap<u64, BTreeMap<String, serde_json::Value>>, usize) {
    let f = std::fs::File::open(path).unwrap();
    let size = f.metadata().unwrap().len();
    let mut e = Entries::new(Reader::new(Source::new(f).with_size(size)));
    let mut out: BTreeMap<u64, BTreeMap<String, serde_json::Value>> = BTreeMap::new();
    let mut functions = 0;
    while let Some(item) = e.next_item().unwrap() {
        match item {
            Item::Entry(x) => {
                out.entry(x.db).or_default().insert(
                    expected::key_form(&x.key),
                    expected::canon_entry(&x, Canon::default()),
                );
            }
            Item::Function(_) => functions += 1,
            Item::EmptyKey { key, .. } => panic!("empty key {key:?}"),
            _ => {}
        }
    }
    (out, functions)
}

#[test]
fn what_we_read_is_what_the_server_holds() {
    for (name, config) in [
        ("defaults", vec![]),
        (
            "no compression, small listpacks",
            vec![
                "--rdbcompression",
                "no",
                "--hash-max-listpack-entries",
                "4",
                "--zset-max-listpack-entries",
                "4",
                "--list-max-listpack-size",
                "4",
                "--set-max-intset-entries",
                "2",
            ],
        ),
    ] {
        let Some(mut s) = RedisServer::start_with(&config, &[]) else {
            return;
        };
        workload(&mut s, 42);
        let path = s.save();
        let want = live::dataset(&mut s, LiveOptions::default());
        let (got, functions) = read_file(&path);
        let diffs = expected::diff_dbs(&want, &got);
        assert!(diffs.is_empty(), "{name}: {}", diffs.join("\n"));
        assert_eq!(functions, 1, "{name}");
        let f = std::fs::File::open(&path).unwrap();
        let size = f.metadata().unwrap().len();
        let (rep, _) = check::check(
            Reader::new(Source::new(f).with_size(size)),
            CheckOptions::default(),
        );
        assert!(rep.is_ok(), "{name}: {:?}", rep.problems);
        let nkeys: usize = want.values().map(BTreeMap::len).sum();
        assert!(nkeys >= 40, "{name}: only {nkeys} keys");
        assert_eq!(rep.keys as usize, nkeys);
        assert!(rep.encodings.len() >= 8, "{name}: {:?}", rep.encodings);
    }
}
