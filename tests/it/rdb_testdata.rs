//! The RDB files shipped in `testdata/rdb/` (made by a real redis-server 7.0 from
//! the workload in `tests/it/common/workload.rs`) read back to the dataset recorded
//! next to them. This test needs neither the corpus nor a server.
//!
//! `UPDATE_TESTDATA=1 cargo test --release --test it rdb_testdata::` regenerates them with the
//! `redis-server` on PATH (the provenance is written to `testdata/rdb/README.md`).

use crate::common;

use std::collections::BTreeMap;

use common::RedisServer;
use common::expected::{self, Canon};
use common::live::{self, LiveOptions};
use redis_persist::io::Source;
use redis_persist::rdb::check::{self, CheckOptions};
use redis_persist::rdb::{Entries, Item, Reader};
use serde_json::{Value as J, json};

const NAME: &str = "redis-7.0-types";

fn regenerate() {
    let Some(mut s) = RedisServer::start() else {
        panic!("UPDATE_TESTDATA needs redis-server")
    };
    common::workload::workload(&mut s, 42);
    let path = s.save();
    let version = s.cmd(&["INFO", "server"]).bytes();
    let version = String::from_utf8(version).unwrap();
    let version = version
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap()
        .trim()
        .to_string();
    let dbs = live::dataset(&mut s, LiveOptions::default());
    let dir = common::testdata("rdb");
    std::fs::copy(&path, dir.join(format!("{NAME}.rdb"))).unwrap();
    let doc = json!({ "redis_version": version, "dbs": dbs });
    std::fs::write(
        dir.join(format!("{NAME}.expected.json")),
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();
}

#[test]
fn shipped_rdb_reads_back_its_dataset() {
    if std::env::var_os("UPDATE_TESTDATA").is_some() {
        regenerate();
    }
    let dir = common::testdata("rdb");
    let doc: J =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{NAME}.expected.json"))).unwrap())
            .unwrap();
    let mut want: BTreeMap<u64, BTreeMap<String, J>> =
        serde_json::from_value(doc["dbs"].clone()).unwrap();
    // The file predates the `idmp` object: a stream without one has the
    // default IDMP state, as canon_expected gives it.
    for e in want.values_mut().flat_map(BTreeMap::values_mut) {
        if e["type"] == "stream" && e["value"].get("idmp").is_none() {
            e["value"]["idmp"] = expected::canon_idmp_expected(None);
        }
    }
    let bytes = std::fs::read(dir.join(format!("{NAME}.rdb"))).unwrap();
    let mut e = Entries::new(Reader::new(
        Source::new(&bytes[..]).with_size(bytes.len() as u64),
    ));
    let mut got: BTreeMap<u64, BTreeMap<String, J>> = BTreeMap::new();
    while let Some(item) = e.next_item().unwrap() {
        if let Item::Entry(x) = item {
            got.entry(x.db).or_default().insert(
                expected::key_form(&x.key),
                expected::canon_entry(&x, Canon::default()),
            );
        }
    }
    let diffs = expected::diff_dbs(&want, &got);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let r = check::check(
        Reader::new(Source::new(&bytes[..]).with_size(bytes.len() as u64)),
        CheckOptions::default(),
    )
    .0;
    assert!(r.is_ok());
    assert_eq!(
        r.keys as usize,
        want.values().map(BTreeMap::len).sum::<usize>()
    );
    // The CLI on the same file (the README's first command).
    let out = common::run(&[
        "check-rdb",
        dir.join(format!("{NAME}.rdb")).to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK: the file is valid"));
}
