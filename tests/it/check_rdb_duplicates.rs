//! Duplicate keys (issue 20: found by a 64-bit hash per key, at most 16 bytes
//! a key, then confirmed on the key bytes): reported with the same message,
//! database, key and offset by the single-thread check, both parallel checks
//! and a check of standard input; the same name in another database is no
//! duplicate; and Redis refuses the file, while it loads it without them.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use redis_persist::io::crc64;
use serde_json::Value as J;

/// An RDB 9 file of `n` string keys `key:<i>` in database 0 with values of
/// `value` bytes, then `key:5` in database 2 (no duplicate), with `dups`: a
/// second `key:5` and a second `key:7` in database 0 and a second `other` in
/// database 2. Returns the bytes and the (db, key, offset) of each duplicate.
fn file(n: usize, value: usize, dups: bool) -> (Vec<u8>, Vec<(u64, String, u64)>) {
    let mut b = b"REDIS0009".to_vec();
    let mut expected = Vec::new();
    let mut key = |b: &mut Vec<u8>, db: u64, k: &str, v: &[u8], dup: bool| {
        if dup {
            expected.push((db, k.to_owned(), b.len() as u64));
        }
        b.push(0);
        for s in [k.as_bytes(), v] {
            // 14-bit length encoding.
            b.extend_from_slice(&[0x40 | (s.len() >> 8) as u8, s.len() as u8]);
            b.extend_from_slice(s);
        }
    };
    b.extend_from_slice(&[0xfe, 0]);
    let v = vec![b'v'; value];
    for i in 0..n {
        key(&mut b, 0, &format!("key:{i}"), &v, false);
        if dups && i == n / 2 {
            key(&mut b, 0, "key:5", b"again", true);
        }
    }
    if dups {
        key(&mut b, 0, "key:7", b"again", true);
    }
    b.extend_from_slice(&[0xfe, 2]);
    key(&mut b, 2, "key:5", b"other db", false);
    key(&mut b, 2, "other", b"1", false);
    if dups {
        key(&mut b, 2, "other", b"2", true);
    }
    b.push(0xff);
    let c = crc64(&b);
    b.extend_from_slice(&c.to_le_bytes());
    (b, expected)
}

/// The exit code and the (db, key, offset, message) of each problem of a
/// `check-rdb --json` run with `args`, `stdin` fed to it.
fn check(args: &[&str], stdin: &[u8]) -> (i32, Vec<(u64, String, u64, String)>) {
    let mut child = common::bin()
        .arg("check-rdb")
        .arg("--json")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    let doc: J = serde_json::from_slice(&out.stdout).unwrap();
    let problems = doc["files"][0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["db"].as_u64().unwrap(),
                p["key"].as_str().unwrap().to_owned(),
                p["offset"].as_u64().unwrap(),
                p["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (out.status.code().unwrap(), problems)
}

fn expected_problems(dups: &[(u64, String, u64)]) -> Vec<(u64, String, u64, String)> {
    dups.iter()
        .map(|(db, k, at)| {
            let m = format!(
                "duplicate key in db {db}: Redis aborts loading a file with duplicated keys"
            );
            (*db, k.clone(), *at, m)
        })
        .collect()
}

#[test]
fn every_path_reports_the_same_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    // 3,000 keys (one thread), and 9,000 of 1 KB (9 MiB: checked by several
    // threads; the guessed chunks see the duplicate and hand the file to the
    // walk, which reports it).
    for (n, value) in [(3000, 10), (9000, 1000)] {
        let (bytes, dups) = file(n, value, true);
        let p = dir.path().join(format!("dups-{n}.rdb"));
        std::fs::write(&p, &bytes).unwrap();
        let path = p.to_str().unwrap();
        let want = expected_problems(&dups);
        assert_eq!(want.len(), 3);
        for args in [
            vec!["--threads", "1", path],
            vec![path],
            vec!["--threads", "2", path],
            vec!["-"],
        ] {
            let stdin: &[u8] = if args == ["-"] { &bytes } else { b"" };
            let (code, got) = check(&args, stdin);
            assert_eq!(code, 1, "{n} keys, {args:?}");
            assert_eq!(got, want, "{n} keys, {args:?}");
        }
        let (clean, _) = file(n, value, false);
        std::fs::write(&p, &clean).unwrap();
        for args in [vec!["--threads", "1", path], vec![path], vec!["-"]] {
            let stdin: &[u8] = if args == ["-"] { &clean } else { b"" };
            assert_eq!(check(&args, stdin), (0, vec![]), "{n} keys, {args:?}");
        }
    }
}

/// The duplicates are why Redis refuses the file: it loads the same file
/// without them (with `key:5` in two databases).
#[test]
fn redis_refuses_the_duplicates_and_loads_the_rest() {
    let Some(bin) = common::servers::server_bin("redis-8.0.6") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let starts = |dups: bool| {
        let p = dir.path().join(format!("{dups}.rdb"));
        std::fs::write(&p, file(3000, 10, dups).0).unwrap();
        common::RedisServer::try_start_bin(
            &bin,
            &["--dbfilename", "dump.rdb"],
            &[(Path::new(&p), "dump.rdb")],
        )
        .map(|mut s| s.cmd(&["DBSIZE"]))
    };
    assert!(starts(true).is_err());
    assert_eq!(starts(false).unwrap(), common::Reply::Int(3000));
}
