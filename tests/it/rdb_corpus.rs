//! The RDB reader against the real files of the corpus: every `.rdb` of every
//! Redis and Valkey version must read back exactly the dataset the live server
//! held (`expected*.json`), with deep validation and the checksum verified.

use crate::common;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use common::expected::{self, Canon};
use redis_persist::io::Source;
use redis_persist::model::FunctionLibrary;
use redis_persist::rdb::check::{self, CheckOptions};
use redis_persist::rdb::{Checksum, Entries, Item, Reader};
use serde_json::Value as J;

struct ReadBack {
    dbs: BTreeMap<u64, BTreeMap<String, J>>,
    functions: Vec<FunctionLibrary>,
    aux: Vec<(Vec<u8>, Vec<u8>)>,
    lfu: BTreeMap<String, u8>,
    lru: BTreeMap<String, u64>,
    checksum: Checksum,
}

fn read_all(path: &Path, c: Canon) -> ReadBack {
    let f = File::open(path).unwrap();
    let size = f.metadata().unwrap().len();
    let mut entries = Entries::new(Reader::new(Source::new(f).with_size(size)));
    let mut rb = ReadBack {
        dbs: BTreeMap::new(),
        functions: vec![],
        aux: vec![],
        lfu: BTreeMap::new(),
        lru: BTreeMap::new(),
        checksum: Checksum::Absent,
    };
    while let Some(item) = entries
        .next_item()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    {
        match item {
            Item::Entry(e) => {
                let k = expected::key_form(&e.key);
                if e.db == 0 {
                    if let Some(f) = e.lfu_freq {
                        rb.lfu.insert(k.clone(), f);
                    }
                    if let Some(i) = e.lru_idle {
                        rb.lru.insert(k.clone(), i);
                    }
                }
                let prev = rb
                    .dbs
                    .entry(e.db)
                    .or_default()
                    .insert(k.clone(), expected::canon_entry(&e, c));
                assert!(prev.is_none(), "{}: duplicate key {k}", path.display());
            }
            Item::EmptyKey { key, .. } => panic!("{}: empty key {key:?}", path.display()),
            Item::Function(f) => rb.functions.push(f),
            Item::Aux { name, value } => rb.aux.push((name, value)),
            Item::Eof { checksum } => rb.checksum = checksum,
            Item::Header { .. } | Item::ModuleAux { .. } => {}
        }
    }
    rb
}

fn load_json(p: &Path) -> J {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn compare(path: &Path, expected_file: &Path, c: Canon) -> ReadBack {
    compare_doc(path, &load_json(expected_file), expected_file, c)
}

fn compare_doc(path: &Path, doc: &J, expected_file: &Path, c: Canon) -> ReadBack {
    let want = expected::expected_dbs(doc, c);
    let got = read_all(path, c);
    let diffs = expected::diff_dbs(&want, &got.dbs);
    assert!(
        diffs.is_empty(),
        "{} vs {}: {} differences:\n{}",
        path.display(),
        expected_file.display(),
        diffs.len(),
        diffs[..diffs.len().min(15)].join("\n")
    );
    // Function libraries.
    if let Some(funcs) = doc["functions"].as_array() {
        let mut want: Vec<&str> = funcs.iter().map(|f| f["code"].as_str().unwrap()).collect();
        let mut have: Vec<String> = got
            .functions
            .iter()
            .map(|f| String::from_utf8(f.code.clone()).unwrap())
            .collect();
        want.sort_unstable();
        have.sort();
        assert_eq!(want, have, "{}: function libraries", path.display());
    }
    // The checker agrees and counts the same keys.
    let f = File::open(path).unwrap();
    let size = f.metadata().unwrap().len();
    let (rep, _) = check::check(
        Reader::new(Source::new(f).with_size(size)),
        CheckOptions {
            count_trailing: true,
            ..CheckOptions::default()
        },
    );
    assert!(rep.is_ok(), "{}: {:?}", path.display(), rep.problems);
    let nkeys: usize = want.values().map(BTreeMap::len).sum();
    assert_eq!(rep.keys as usize, nkeys, "{}: key count", path.display());
    let with_field_ttls = want
        .values()
        .flat_map(BTreeMap::values)
        .filter(|e| e.get("field_expire_ms").is_some())
        .count();
    assert_eq!(
        rep.subexpires as usize,
        with_field_ttls,
        "{}: keys with field TTLs",
        path.display()
    );
    assert_eq!(rep.trailing_bytes, Some(0), "{}", path.display());
    got
}

#[test]
fn every_corpus_rdb_reads_back_what_the_server_held() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut checked = 0;
    for dir in common::corpus_version_dirs(&corpus) {
        let version = load_json(&dir.join("expected.json"))["version"]
            .as_str()
            .unwrap()
            .to_string();
        let server = load_json(&dir.join("expected.json"))["server"]
            .as_str()
            .unwrap()
            .to_string();
        for name in [
            "types.rdb",
            "types-nocompress.rdb",
            "types-nochecksum.rdb",
            "types-lfu.rdb",
            "types-lru.rdb",
            "types-repl.rdb",
        ] {
            let got = compare(
                &dir.join(name),
                &dir.join("expected.json"),
                Canon::default(),
            );
            let want_ck = if name == "types-nochecksum.rdb" {
                Checksum::Disabled
            } else {
                Checksum::Ok
            };
            assert_eq!(got.checksum, want_ck, "{}/{name}", dir.display());
            let ver_aux = if server == "valkey" {
                "valkey-ver"
            } else {
                "redis-ver"
            };
            let v = got
                .aux
                .iter()
                .find(|(n, _)| n == ver_aux.as_bytes())
                .map(|(_, v)| v.clone());
            assert_eq!(
                v.as_deref(),
                Some(version.as_bytes()),
                "{}/{name}: {ver_aux}",
                dir.display()
            );
            let per_file = &load_json(&dir.join("expected.json"))["per_file"];
            if name == "types-lfu.rdb" {
                let want: BTreeMap<String, u8> =
                    serde_json::from_value(per_file["types-lfu.rdb"]["lfu_freq"]["0"].clone())
                        .unwrap();
                assert_eq!(got.lfu, want, "{}/{name}: LFU counters", dir.display());
            }
            if name == "types-lru.rdb" {
                let want: BTreeMap<String, u64> =
                    serde_json::from_value(per_file["types-lru.rdb"]["lru_idle_s"]["0"].clone())
                        .unwrap();
                assert_eq!(got.lru, want, "{}/{name}: LRU idle", dir.display());
            }
            if name == "types-repl.rdb" {
                for a in ["repl-stream-db", "repl-id", "repl-offset"] {
                    assert!(
                        got.aux.iter().any(|(n, _)| n == a.as_bytes()),
                        "{}: aux {a}",
                        dir.display()
                    );
                }
                if per_file["types-repl.rdb"]["lua_aux_expected"] == J::Bool(true) {
                    let lua: Vec<_> = got.aux.iter().filter(|(n, _)| n == b"lua").collect();
                    assert!(!lua.is_empty(), "{}: lua aux fields", dir.display());
                }
            }
            checked += 1;
        }
        compare(
            &dir.join("expired.rdb"),
            &dir.join("expected-expired.json"),
            Canon::default(),
        );
        compare(
            &dir.join("cluster.rdb"),
            &dir.join("expected-cluster.json"),
            Canon::default(),
        );
        checked += 2;
        // The base of a multi-part AOF made with an RDB preamble holds the `types`
        // dataset (written by another run: consumer times differ, and the keys
        // no incremental file touches are as that run recorded them).
        let base_dir = dir.join("aof-preamble");
        if base_dir.is_dir() {
            for e in std::fs::read_dir(&base_dir).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "rdb") {
                    compare_doc(
                        &p,
                        &expected::preamble_base_doc(&dir),
                        &dir.join("expected.json"),
                        Canon {
                            ignore_consumer_times: true,
                        },
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 70, "checked only {checked} files");
}

/// Every vector set of the Redis 8 corpus files decodes to what the live server
/// reported (dim, card, the VINFO fields, VEMB of every element, attributes),
/// and `check-rdb`'s library check accepts it and counts it as a `vectorset`.
/// Reads each file up to its first unreadable key, so the vector sets before a
/// key another part does not read yet are still compared; the files without
/// such a key must give all five sets.
#[test]
fn vector_sets_read_back_what_the_server_held() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for version in ["redis-8.0.6", "redis-8.6.3"] {
        let dir = corpus.join(version);
        assert!(dir.is_dir(), "corpus folder {version} missing");
        let mut files: Vec<(std::path::PathBuf, &str, Canon)> = [
            "types.rdb",
            "types-nocompress.rdb",
            "types-nochecksum.rdb",
            "types-lfu.rdb",
            "types-lru.rdb",
            "types-repl.rdb",
        ]
        .iter()
        .map(|f| (dir.join(f), "expected.json", Canon::default()))
        .collect();
        if dir.join("types-nostream.rdb").is_file() {
            files.push((
                dir.join("types-nostream.rdb"),
                "expected-nostream.json",
                Canon::default(),
            ));
        }
        let base = dir.join("aof-preamble/appendonly.aof.2.base.rdb");
        files.push((
            base,
            "expected.json",
            Canon {
                ignore_consumer_times: true,
            },
        ));
        let mut complete = 0;
        for (path, exp, c) in files {
            let want = expected::expected_dbs(&load_json(&dir.join(exp)), c);
            let want: BTreeMap<&String, &J> = want[&0]
                .iter()
                .filter(|(k, _)| k.starts_with("vset:"))
                .collect();
            assert_eq!(want.len(), 5, "{}", dir.join(exp).display());
            let f = File::open(&path).unwrap();
            let size = f.metadata().unwrap().len();
            let mut entries = Entries::new(Reader::new(Source::new(f).with_size(size)));
            let mut seen = 0;
            let mut failed = false;
            loop {
                match entries.next_item() {
                    Ok(Some(Item::Entry(e))) if e.key.starts_with(b"vset:") => {
                        let k = expected::key_form(&e.key);
                        let got = expected::canon_entry(&e, c);
                        assert_eq!(&got, want[&k], "{}: {k}", path.display());
                        seen += 1;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            if !failed {
                assert_eq!(seen, 5, "{}", path.display());
                complete += 1;
                let f = File::open(&path).unwrap();
                let (rep, _) = check::check(
                    Reader::new(Source::new(f).with_size(size)),
                    CheckOptions::default(),
                );
                assert!(rep.is_ok(), "{}: {:?}", path.display(), rep.problems);
                assert_eq!(rep.types.get("vectorset"), Some(&5), "{}", path.display());
                assert_eq!(rep.types.get("module"), None, "{}", path.display());
                assert_eq!(rep.modules.get("vectorset"), Some(&5), "{}", path.display());
            }
        }
        assert!(complete > 0, "{version}: no file read to its end");
    }
}

/// `check-rdb` reports a vector set the loader would refuse (a link to a node
/// that does not exist) as a problem of that key, at an offset inside its
/// value, and no longer counts it as a `vectorset`.
#[test]
fn a_corrupt_vector_set_is_a_problem_of_its_key() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut b = std::fs::read(corpus.join("redis-8.0.6/types.rdb")).unwrap();
    let head = b"\x07\x07vset:q8\x81\xbd\xe7\x2d\xa2\xbb\x1e\xb4\x00";
    let at = b.windows(head.len()).position(|w| w == head).unwrap();
    let start = at + head.len();
    // A layer whose first link is node 1 (`02 01` right after max_links
    // `02 20`) links to node 9 instead; the counts stay right.
    let mut changed = 0;
    for i in start..start + 200 {
        if b[i..i + 4] == [0x02, 0x20, 0x02, 0x01][..] {
            b[i + 3] = 0x09;
            changed += 1;
        }
    }
    assert!(changed > 0);
    common::paths::fix_crc_trailer(&mut b);
    let (rep, _) = check::check(Reader::new(common::paths::src(&b)), CheckOptions::default());
    let p = rep.first_error().expect("a problem");
    assert_eq!(p.key.as_deref(), Some(&b"vset:q8"[..]), "{p:?}");
    assert!(
        p.message.contains("vector set") && p.message.contains("missing node 9"),
        "{p:?}"
    );
    assert!(
        (start as u64..start as u64 + 300).contains(&p.offset),
        "{p:?}"
    );
    assert_eq!(rep.types.get("vectorset"), Some(&4));
    assert_eq!(rep.types.get("module"), Some(&1));
}
