//! `convert-aof-to-hybrid` on the corpus AOF directories of the newer servers
//! (Valkey 9.1.2, Valkey 8.1.1, Redis 8.0.6), checked against the real server
//! of the same version (`../shared/servers`, `REDIS_PERSIST_SERVERS`): the
//! output loads in that server with the same `DEBUG DIGEST` and the same
//! `DEBUG DIGEST-VALUE` for every key as the server loading the original AOF
//! directory, and holds the folder's `expected-aof-*.json` key by key.
//!
//! Valkey 9: a preamble input (`VALKEY080` base) is written as `VALKEY080`
//! with type 22 by default; a RESP-only input is written for Redis by default
//! (RDB 12 for its field TTLs, which Valkey 9 refuses: "Can't handle RDB
//! format version 12"), and for Valkey 9 with `--rdb-version 80`.

#![allow(clippy::print_stderr)] // lists what was compared (with --nocapture)

use crate::common;
use crate::convert_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::RedisServer;
use common::expected::{Canon, expected_dbs};
use convert_support::{assert_same_dbs, base_of, convert_paths, digest, expect_exit, live_dbs};
use serde_json::Value as J;

const C: Canon = Canon {
    ignore_consumer_times: true,
};

/// Starts the `version` server on a multi-part AOF directory.
fn server_on_dir(version: &str, dir: &Path) -> Option<RedisServer> {
    let names: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.path(),
                format!("appendonlydir/{}", e.file_name().to_string_lossy()),
            )
        })
        .collect();
    let files: Vec<(&Path, &str)> = names
        .iter()
        .map(|(p, n)| (p.as_path(), n.as_str()))
        .collect();
    common::servers::start(
        version,
        &[
            "--appendonly",
            "yes",
            "--appenddirname",
            "appendonlydir",
            "--enable-debug-command",
            "yes",
        ],
        &files,
    )
}

/// `DEBUG DIGEST-VALUE` of every key of every database (db, key) → digest.
fn key_digests(s: &mut RedisServer) -> BTreeMap<(u64, Vec<u8>), Vec<u8>> {
    let mut out = BTreeMap::new();
    for db in 0..16u64 {
        s.cmd(&["SELECT", &db.to_string()]);
        for k in s.cmd(&["KEYS", "*"]).array() {
            let k = k.bytes();
            let d = s.cmd(&[b"DEBUG".as_slice(), b"DIGEST-VALUE", &k]).array();
            out.insert((db, k), d[0].bytes());
        }
    }
    s.cmd(&["SELECT", "0"]);
    out
}

fn has_vector_sets(doc: &J) -> bool {
    doc["dbs"].as_object().unwrap().values().any(|keys| {
        keys.as_object()
            .unwrap()
            .values()
            .any(|e| e["type"] == "vectorset")
    })
}

/// Converts `folder/aof-<kind>` with `extra` and checks it in `version`'s
/// server; `want_version` is the RDB version the output must have.
fn check(version: &str, kind: &str, extra: &[&str], want_version: u64) -> Option<String> {
    check_in(version, version, kind, extra, want_version)
}

/// [`check`] of `version`'s folder, loaded in the `server` server.
fn check_in(
    version: &str,
    server: &str,
    kind: &str,
    extra: &[&str],
    want_version: u64,
) -> Option<String> {
    let corpus = common::corpus()?;
    let folder = corpus.join(version);
    let input = folder.join(format!("aof-{kind}"));
    let doc: J = serde_json::from_slice(
        &std::fs::read(folder.join(format!("expected-aof-{kind}.json"))).unwrap(),
    )
    .unwrap();
    let label = format!("{version}/aof-{kind} {} in {server}", extra.join(" "));
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let o = convert_paths(&input, &out, &args);
    expect_exit(&o, 0, &label);
    let j: J = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["rdb_version"], want_version, "{label}: {j}");
    let base = std::fs::read(base_of(&out, "appendonly.aof")).unwrap();
    if want_version == 80 {
        assert_eq!(&base[..9], b"VALKEY080", "{label}");
    } else {
        assert_eq!(
            &base[..9],
            format!("REDIS{want_version:04}").as_bytes(),
            "{label}"
        );
    }

    let mut original = server_on_dir(server, &input)?;
    let mut converted = server_on_dir(server, &out)?;
    assert!(
        converted.log().contains("DB loaded from base file"),
        "{label}: the server did not load our base:\n{}",
        converted.log()
    );
    assert_eq!(
        digest(&mut original),
        digest(&mut converted),
        "{label}: DEBUG DIGEST"
    );
    let (a, b) = (key_digests(&mut original), key_digests(&mut converted));
    assert_eq!(a.len(), b.len(), "{label}: key count");
    for (k, d) in &a {
        assert_eq!(
            b.get(k),
            Some(d),
            "{label}: DIGEST-VALUE of db {} {:?}",
            k.0,
            String::from_utf8_lossy(&k.1)
        );
    }
    // Key by key against what the live server held when the files were made
    // (vector sets have no canonical form here: the digests above cover them).
    if !has_vector_sets(&doc) {
        assert_same_dbs(&label, &expected_dbs(&doc, C), &live_dbs(&mut converted));
    }
    Some(format!(
        "{label}: RDB {want_version}, {} keys, same digests",
        a.len()
    ))
}

#[test]
fn valkey_9_aofs_convert_to_valkey080_and_load_in_valkey_9() {
    let mut done = Vec::new();
    done.extend(check("valkey-9.1.2", "preamble", &[], 80));
    // RESP-only: nothing in the input says Valkey; ask for it.
    done.extend(check(
        "valkey-9.1.2",
        "nopreamble",
        &["--rdb-version", "80"],
        80,
    ));
    done.extend(check(
        "valkey-9.1.2",
        "timestamps",
        &["--rdb-version", "80"],
        80,
    ));
    eprintln!("{}", done.join("\n"));
}

#[test]
fn valkey_9_resp_only_input_defaults_to_redis_and_valkey_9_refuses_it() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let input = corpus.join("valkey-9.1.2/aof-nopreamble");
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let o = convert_paths(&input, &out, &["--json"]);
    expect_exit(&o, 0, "default");
    let j: J = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["rdb_version"], 12, "{j}");
    assert!(
        j["rdb_version_note"]
            .as_str()
            .unwrap()
            .contains("--rdb-version 80"),
        "{j}"
    );
    // What Valkey 9 does with it: the reason `--rdb-version 80` exists.
    let Some(bin) = common::servers::server_bin("valkey-9.1.2") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("appendonlydir")).unwrap();
    for f in std::fs::read_dir(&out).unwrap() {
        let f = f.unwrap();
        std::fs::copy(
            f.path(),
            dir.path().join("appendonlydir").join(f.file_name()),
        )
        .unwrap();
    }
    let logfile = dir.path().join("server.log");
    let mut child = std::process::Command::new(bin)
        .args([
            "--port",
            &common::free_port().to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .args([
            "--appendonly",
            "yes",
            "--appenddirname",
            "appendonlydir",
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(dir.path())
        .arg("--logfile")
        .arg(&logfile)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let log = std::fs::read_to_string(&logfile).unwrap_or_default();
    assert!(
        status.is_some_and(|s| !s.success()),
        "valkey 9 loaded RDB 12:\n{log}"
    );
    assert!(log.contains("Can't handle RDB format version 12"), "{log}");
    // An explicit 81 is refused by the argument parser, nothing written.
    let out81 = work.path().join("out81");
    let o = convert_paths(&input, &out81, &["--rdb-version", "81"]);
    expect_exit(&o, 2, "--rdb-version 81");
    assert!(!out81.exists());
}

#[test]
fn valkey_8_and_redis_8_0_aofs_load_in_their_own_server() {
    let mut done = Vec::new();
    for kind in ["preamble", "nopreamble", "timestamps"] {
        let v11 = if kind == "preamble" { 11 } else { 10 };
        done.extend(check("valkey-8.1.1", kind, &[], v11));
        // Redis 8.0.6 writes RDB 12; its RESP-only AOFs hold field TTLs (12).
        done.extend(check("redis-8.0.6", kind, &[], 12));
    }
    eprintln!("{}", done.join("\n"));
}

/// `--rdb-version 13` (Redis 8.6, from the target table) is taken and
/// loads in Redis 8.6.3 with the digests of the AOF it came from; so does
/// the default for its AOF with an RDB 13 preamble.
#[test]
fn redis_8_6_aof_converted_to_rdb_13_loads_there() {
    let mut done = Vec::new();
    done.extend(check(
        "redis-8.6.3",
        "preamble",
        &["--rdb-version", "13"],
        13,
    ));
    done.extend(check("redis-8.6.3", "preamble", &[], 13));
    eprintln!("{}", done.join("\n"));
}

#[test]
fn a_value_the_target_cannot_hold_fails_with_the_key_and_writes_nothing() {
    // Redis 8.0.6's preamble holds vector sets (the built-in vectorset
    // module): Valkey 9 has no such module.
    let Some(corpus) = common::corpus() else {
        return;
    };
    let input = corpus.join("redis-8.0.6/aof-preamble");
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let o = convert_paths(&input, &out, &["--rdb-version", "80", "--json"]);
    expect_exit(&o, 1, "redis 8 vector sets to VALKEY080");
    let j: J = serde_json::from_slice(&o.stdout).unwrap();
    let msg = j["error"]["message"].as_str().unwrap();
    assert!(msg.contains("vset:") && msg.contains("vector set"), "{j}");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        0,
        "a temporary was left"
    );
}

#[test]
fn a_redis_8_resp_aof_converted_for_valkey_9_loads_there() {
    // Valkey 9 loads Redis 8.0's RESP AOF as is; our VALKEY080 conversion of
    // it gives the same digests there (type 22 for its field TTLs).
    let mut done = Vec::new();
    done.extend(check_in(
        "redis-8.0.6",
        "valkey-9.1.2",
        "nopreamble",
        &["--rdb-version", "80"],
        80,
    ));
    eprintln!("{}", done.join("\n"));
}
