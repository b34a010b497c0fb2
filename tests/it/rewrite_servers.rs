//! `rewrite` against real servers: every corpus folder's `types.rdb` and
//! `cluster.rdb` rewritten for every target whose server is here (Redis 6.0.9
//! and 6.2 from their `PyPI` packages, 7.0 from Debian, 8.0.6, 8.6.3, Valkey
//! 8.1.1, 9.1.2 from `../shared/servers`), downgrades, upgrades and Redis <->
//! Valkey alike, loaded by that server and
//! compared key by key with the folder's `expected*.json`, minus what the
//! report says `--incompatible drop-feature` changed or left out. Vector sets
//! (which the comparison form cannot read back over RESP) and, where the
//! report lists no change, the whole dataset are compared by `DEBUG DIGEST` /
//! `DEBUG DIGEST-VALUE` with the source file loaded in its own server.
//! Redis 6.x has no `PEXPIRETIME`: its expire times are read as `PTTL` plus
//! the clock, equal within [`live::PTTL_TOLERANCE_MS`].
//!
//! Redis -> Valkey 9 and Valkey 9 -> Redis 7.4+ (8.0.6, 8.6.3) are asserted
//! to have loaded, by name.

#![allow(clippy::print_stderr)]

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::RedisServer;
use common::expected::{Canon, canon_idmp_expected, expected_dbs, key_form};
use common::live::{self, LiveOptions};
use serde_json::Value as J;

const C: Canon = Canon {
    ignore_consumer_times: true,
};

/// A target with a server here: (target name, how to find its binary).
type ServerRow = (&'static str, fn() -> Option<PathBuf>);

/// The targets tested, with their servers.
const SERVERS: &[ServerRow] = &[
    ("redis-6.0", || common::servers::server_bin("redis-6.0.9")),
    ("redis-6.2", || common::servers::server_bin("redis-6.2")),
    ("redis-7.0", common::redis_server_bin),
    ("redis-8.0", || common::servers::server_bin("redis-8.0.6")),
    ("redis-8.6", || common::servers::server_bin("redis-8.6.3")),
    ("valkey-8.1", || common::servers::server_bin("valkey-8.1.1")),
    ("valkey-9.0", || common::servers::server_bin("valkey-9.1.2")),
];

/// The server that wrote a corpus folder, when it is here (for digests).
fn source_server(folder: &str) -> Option<PathBuf> {
    match folder {
        "redis-7.0.15" => common::redis_server_bin(),
        "redis-8.0.6" | "redis-8.6.3" | "valkey-8.1.1" | "valkey-9.1.2" => {
            common::servers::server_bin(folder)
        }
        _ => None,
    }
}

/// Starts `bin` (the server of `line`, a target or corpus folder name) on a
/// copy of `rdb`, with `DEBUG` allowed (a 7.0+ setting; 6.x allows it and
/// refuses the setting).
fn start(bin: &Path, line: &str, rdb: &Path) -> Result<RedisServer, String> {
    let six = line.starts_with("redis-6.");
    let debug: &[&str] = if six {
        &[]
    } else {
        &["--enable-debug-command", "yes"]
    };
    RedisServer::try_start_bin(
        bin,
        &[&["--dbfilename", "dump.rdb"], debug].concat(),
        &[(rdb, "dump.rdb")],
    )
}

/// Every key of the server in canonical form, vector sets as their
/// `DEBUG DIGEST-VALUE` (db -> key form -> entry).
fn read_back(s: &mut RedisServer) -> BTreeMap<u64, BTreeMap<String, J>> {
    let mut out = BTreeMap::new();
    for db in 0..16u64 {
        s.cmd(&["SELECT", &db.to_string()]);
        let keys: Vec<Vec<u8>> = s
            .cmd(&["KEYS", "*"])
            .array()
            .iter()
            .map(common::Reply::bytes)
            .collect();
        let mut m = BTreeMap::new();
        for k in keys {
            let ty = s.cmd(&[b"TYPE".as_slice(), &k]).bytes();
            let v = if ty == b"vectorset" {
                vset_digest(s, &k)
            } else {
                live::entry(
                    s,
                    &k,
                    LiveOptions {
                        ignore_consumer_times: true,
                    },
                )
            };
            m.insert(key_form(&k), v);
        }
        if !m.is_empty() {
            out.insert(db, m);
        }
    }
    s.cmd(&["SELECT", "0"]);
    out
}

fn vset_digest(s: &mut RedisServer, k: &[u8]) -> J {
    let d = s.cmd(&[b"DEBUG".as_slice(), b"DIGEST-VALUE", k]).array();
    J::String(format!(
        "vectorset digest {}",
        String::from_utf8_lossy(&d[0].bytes())
    ))
}

/// The expected dataset after what the report says was changed or skipped
/// (`now`: the reference time of the rewrite).
fn adjust(
    mut want: BTreeMap<u64, BTreeMap<String, J>>,
    report: &J,
    now: i64,
) -> BTreeMap<u64, BTreeMap<String, J>> {
    for s in report["skipped"].as_array().unwrap() {
        let db = s["db"].as_u64().unwrap();
        let k = key_form(&common::expected::bytes_of(&s["key"]));
        want.get_mut(&db).unwrap().remove(&k);
    }
    for c in report["changed"].as_array().unwrap() {
        let db = c["db"].as_u64().unwrap();
        let k = key_form(&common::expected::bytes_of(&c["key"]));
        let what = c["what"].as_str().unwrap();
        let e = want.get_mut(&db).unwrap().get_mut(&k).unwrap();
        if what.contains("field TTL(s) dropped") {
            let ttls = e.as_object_mut().unwrap().remove("field_expire_ms");
            if let Some(J::Object(t)) = ttls {
                for (f, ms) in t {
                    if ms.as_i64().unwrap() < now {
                        e["value"].as_object_mut().unwrap().remove(&f);
                    }
                }
            }
        }
        if what.contains("IDMP state dropped") {
            e["value"]["idmp"] = canon_idmp_expected(None);
        }
        if what.contains("entries added") {
            // RDB 9: the loader derives them; [`align`] leaves them out.
            for f in ["entries_added", "first_id", "max_deleted_entry_id"] {
                e["value"][f] = J::Null;
            }
            for g in e["value"]["groups"].as_array_mut().unwrap() {
                g["entries_read"] = J::Null;
            }
        }
    }
    want
}

/// A stream's fields the source server did not have (null in a 6.x folder's
/// `expected.json`): a newer server derives them when it loads the file, so
/// they are not compared; nor are those a 6.x target server lacks.
///
/// `XINFO STREAM` shows an IDMP state's counts, not its producers: those are
/// compared through `DEBUG DIGEST` only.
fn align(
    want: &mut BTreeMap<u64, BTreeMap<String, J>>,
    got: &mut BTreeMap<u64, BTreeMap<String, J>>,
) {
    for (db, keys) in want {
        for (k, w) in keys {
            let Some(g) = got.get_mut(db).and_then(|m| m.get_mut(k)) else {
                continue;
            };
            if w["type"] != "stream" || g["type"] != "stream" {
                continue;
            }
            if g["value"]["idmp"].get("producers").is_none() {
                if let Some(i) = w["value"]["idmp"].as_object_mut() {
                    i.remove("producers");
                }
            }
            // Null in `got`: a 6.x server, which has no such fields.
            for f in ["entries_added", "first_id", "max_deleted_entry_id"] {
                if w["value"][f].is_null() {
                    g["value"][f] = J::Null;
                } else if g["value"][f].is_null() {
                    w["value"][f] = J::Null;
                }
            }
            let (Some(wg), Some(gg)) = (
                w["value"]["groups"].as_array(),
                g["value"]["groups"].as_array_mut(),
            ) else {
                continue;
            };
            for (wg, gg) in wg.iter().zip(gg.iter_mut()) {
                if wg["entries_read"].is_null() {
                    gg["entries_read"] = J::Null;
                }
            }
        }
    }
}

#[test]
fn corpus_rewritten_for_every_target_loads_in_its_server() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let servers: Vec<(&str, PathBuf)> = SERVERS
        .iter()
        .filter_map(|(t, f)| f().map(|b| (*t, b)))
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut failures = Vec::new();
    // (folder, target) of the types.rdb files loaded and equal.
    let mut loaded_equal = std::collections::BTreeSet::new();
    let mut compared = 0;
    let mut digests = 0;
    for folder in common::corpus_version_dirs(&corpus) {
        let fname = folder.file_name().unwrap().to_string_lossy().into_owned();
        for (file, expected) in [
            ("types.rdb", "expected.json"),
            ("cluster.rdb", "expected-cluster.json"),
        ] {
            let input = folder.join(file);
            if !input.is_file() {
                continue;
            }
            let doc: J =
                serde_json::from_slice(&std::fs::read(folder.join(expected)).unwrap()).unwrap();
            let mut source = source_server(&fname).and_then(|b| start(&b, &fname, &input).ok());
            for (target, bin) in &servers {
                let label = format!("{fname}/{file} -> {target}");
                let work = tempfile::tempdir().unwrap();
                let out = work.path().join("out.rdb");
                let o = common::run(&[
                    "rewrite",
                    input.to_str().unwrap(),
                    "-o",
                    out.to_str().unwrap(),
                    "--target",
                    target,
                    "--incompatible",
                    "drop-feature",
                    "--now",
                    &now.to_string(),
                    "--json",
                ]);
                let Ok(report) = serde_json::from_slice::<J>(&o.stdout) else {
                    failures.push(format!(
                        "{label}: no report; {}",
                        String::from_utf8_lossy(&o.stderr)
                    ));
                    continue;
                };
                let lossless = report["changed"].as_array().unwrap().is_empty()
                    && report["skipped"].as_array().unwrap().is_empty()
                    && report["functions_dropped"].as_array().unwrap().is_empty();
                let want_code = i32::from(!lossless);
                if o.status.code() != Some(want_code) || report["written"] != true {
                    failures.push(format!(
                        "{label}: exit {:?} (want {want_code}): {report}",
                        o.status.code()
                    ));
                    continue;
                }
                let mut server = match start(bin, target, &out) {
                    Ok(s) => s,
                    Err(e) => {
                        failures.push(format!("{label}: the server refused the output: {e}"));
                        continue;
                    }
                };
                let got = read_back(&mut server);
                let mut want = adjust(expected_dbs(&doc, C), &report, now);
                // Vector sets: compared by digest with the source's server.
                let mut vsets = Vec::new();
                for (db, keys) in &mut want {
                    keys.retain(|k, v| {
                        let is = v["type"] == "vectorset";
                        if is {
                            vsets.push((*db, k.clone()));
                        }
                        !is
                    });
                }
                let mut got_plain = got.clone();
                for (db, k) in &vsets {
                    if let Some(m) = got_plain.get_mut(db) {
                        m.remove(k);
                    }
                }
                want.retain(|_, m| !m.is_empty());
                got_plain.retain(|_, m| !m.is_empty());
                align(&mut want, &mut got_plain);
                let diff = common::expected::diff_dbs(&want, &got_plain);
                if diff.is_empty() && file == "types.rdb" {
                    loaded_equal.insert((fname.clone(), *target));
                }
                if !diff.is_empty() {
                    failures.push(format!(
                        "{label}:\n  {}",
                        diff.iter()
                            .take(8)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("\n  ")
                    ));
                }
                compared += 1;
                // The target's server on the original file, when it loads it
                // (digests differ between server versions: 8.0 and 7.0 on the
                // same file disagree).
                let mut orig = start(bin, target, &input).ok();
                let lossless_digest = orig.as_mut().map(common_digest);
                if let Some(src) = orig.as_mut().or(source.as_mut()) {
                    for (db, k) in &vsets {
                        let Some(g) = got.get(db).and_then(|m| m.get(k)) else {
                            failures.push(format!("{label}: vector set {k} missing"));
                            continue;
                        };
                        src.cmd(&["SELECT", &db.to_string()]);
                        let w = vset_digest(src, &common::expected::bytes_of_key(k));
                        src.cmd(&["SELECT", "0"]);
                        if &w != g {
                            failures.push(format!("{label}: vector set {k}: {g} != {w}"));
                        }
                    }
                }
                if let (true, Some(want)) = (lossless, &lossless_digest) {
                    let d = common_digest(&mut server);
                    if &d != want {
                        failures.push(format!(
                            "{label}: DEBUG DIGEST {d} != {want} (the original in the same server)"
                        ));
                    }
                    digests += 1;
                }
            }
        }
    }
    eprintln!("{compared} rewritten files loaded and compared, {digests} by DEBUG DIGEST too");
    // Named: Redis -> Valkey 9, and Valkey 9 -> Redis 7.4+.
    let have = |t: &str| servers.iter().any(|(n, _)| *n == t);
    for folder in common::corpus_version_dirs(&corpus) {
        let fname = folder.file_name().unwrap().to_string_lossy().into_owned();
        if !folder.join("types.rdb").is_file() {
            continue;
        }
        let to: &[&str] = if fname.starts_with("redis-") {
            &["valkey-9.0"]
        } else if fname == "valkey-9.1.2" {
            &["redis-8.0", "redis-8.6"]
        } else {
            &[]
        };
        for t in to.iter().filter(|t| have(t)) {
            if !loaded_equal.contains(&(fname.clone(), *t)) {
                failures.push(format!(
                    "{fname}/types.rdb -> {t}: not loaded with equal keys"
                ));
            }
        }
    }
    common::assert_no_failures(&failures);
    assert!(compared > 0 || servers.is_empty());
}

fn common_digest(s: &mut RedisServer) -> String {
    match s.cmd(&["DEBUG", "DIGEST"]) {
        common::Reply::Status(d) => d,
        other => panic!("DEBUG DIGEST: {other:?}"),
    }
}
