//! Differential test against the real `redis-check-aof` (Debian 7.0.15): AOFs written
//! by a real `redis-server` (single-file RESP, single-file hybrid, multi-part RESP
//! and multi-part with an RDB base), truncated, corrupted or padded at many
//! offsets. For every damaged input:
//! * the check gives the same `ok_up_to`, `ok_up_to_line`, `diff` and error line
//!   (offset and message) per file, and the same verdict;
//! * after `redis-check-aof --fix` (answered `y`) and `check-aof --fix --yes`,
//!   every file is byte-identical;
//! * our backup holds the original bytes, and a re-check passes.
//!
//! Documented exceptions (counted, and the test fails if they become the norm):
//! inputs on which `redis-check-aof` crashes (a huge declared length makes its
//! `zmalloc` abort), and inputs where a line starting with `file` makes the 7.0.15
//! checker take the file for a manifest.

#![allow(clippy::print_stderr)]

use crate::aof_support;
use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use aof_support::{
    backups, check_json, copy_dir, error_lines, parse_analyzed, redis_check_aof_bin, run_upstream,
};
use common::{RedisServer, Reply};
use serde_json::Value;

/// A deterministic pseudo-random generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn value(rng: &mut Rng, len: usize) -> Vec<u8> {
    let alphabet: &[u8] = b"abcdefghij0123456789\r\n\x00\xff *$#:-";
    let mut v: Vec<u8> = (0..len)
        .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
        .collect();
    // Never start a payload with "file": the 7.0.15 checker would take the file
    // for a manifest.
    if v.starts_with(b"file") {
        v[0] = b'F';
    }
    v
}

fn ok(r: &Reply) {
    assert!(!matches!(r, Reply::Error(_)), "{r:?}");
}

/// Writes a varied workload: strings (binary, empty, 100 KB, optionally 1.2 MB),
/// lists, hashes, sets, sorted sets, streams, MULTI/EXEC, a script (written as
/// MULTI/EXEC), SELECT, expirations, deletions.
fn workload(s: &mut RedisServer, rng: &mut Rng, rounds: usize, huge: bool) {
    for i in 0..rounds {
        let len = rng.below(300) as usize;
        let v = value(rng, len);
        ok(&s.cmd(&[b"SET".to_vec(), format!("key:{i}").into_bytes(), v]));
        if i % 7 == 0 {
            ok(&s.cmd(&["RPUSH", "list", "a", "b\r\nc", ""]));
            ok(&s.cmd(&["HSET", "hash", &format!("f{i}"), "v", "g", "w"]));
            ok(&s.cmd(&["ZADD", "zset", "1.5", &format!("m{i}")]));
            ok(&s.cmd(&["SADD", "set", &format!("s{i}")]));
        }
        if i % 11 == 0 {
            ok(&s.cmd(&["XADD", "stream", "*", "field", "value"]));
            ok(&s.cmd(&["MULTI"]));
            for c in [
                vec!["SET", "tx:a", "1"],
                vec!["INCR", "counter"],
                vec!["LPUSH", "l", "x"],
            ] {
                assert_eq!(s.cmd(&c), Reply::Status("QUEUED".into()));
            }
            ok(&s.cmd(&["EXEC"]));
        }
        if i % 13 == 0 {
            ok(&s.cmd(&[
                "EVAL",
                "redis.call('set', KEYS[1], ARGV[1]); redis.call('incr', KEYS[2])",
                "2",
                "ev:a",
                "ev:b",
                "val",
            ]));
            ok(&s.cmd(&["SELECT", "2"]));
            ok(&s.cmd(&["SET", "db2:key", "v"]));
            ok(&s.cmd(&["SELECT", "0"]));
            ok(&s.cmd(&["EXPIRE", &format!("key:{i}"), "100000"]));
            ok(&s.cmd(&["DEL", "key:1"]));
        }
    }
    ok(&s.cmd(&[b"SET".to_vec(), b"empty".to_vec(), Vec::new()]));
    let big = value(rng, 100_000);
    ok(&s.cmd(&[b"SET".to_vec(), b"big".to_vec(), big]));
    if huge {
        let huge = value(rng, 1_200_000);
        ok(&s.cmd(&[b"SET".to_vec(), b"huge".to_vec(), huge]));
    }
    ok(&s.cmd(&["INCRBYFLOAT", "float", "1.5"]));
}

fn rewrite(s: &mut RedisServer) {
    ok(&s.cmd(&["BGREWRITEAOF"]));
    for _ in 0..500 {
        let info = String::from_utf8(s.cmd(&["INFO", "persistence"]).bytes()).unwrap();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            // The manifest is switched right after the rewrite child ends.
            std::thread::sleep(Duration::from_millis(200));
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("BGREWRITEAOF did not finish");
}

/// A multi-part AOF directory written by a real server, copied out.
fn make_aofdir(
    preamble: bool,
    timestamps: bool,
    huge: bool,
    seed: u64,
) -> Option<tempfile::TempDir> {
    let mut s = RedisServer::start_with(
        &[
            "--appendonly",
            "yes",
            "--appenddirname",
            "appendonlydir",
            "--appendfsync",
            "always",
            "--aof-use-rdb-preamble",
            if preamble { "yes" } else { "no" },
            "--aof-timestamp-enabled",
            if timestamps { "yes" } else { "no" },
        ],
        &[],
    )?;
    let mut rng = Rng(seed);
    workload(&mut s, &mut rng, 40, false);
    rewrite(&mut s);
    if timestamps {
        std::thread::sleep(Duration::from_millis(1100));
    }
    workload(&mut s, &mut rng, 60, huge);
    let out = tempfile::tempdir().unwrap();
    copy_dir(&s.dir.path().join("appendonlydir"), out.path());
    drop(s);
    Some(out)
}

/// The load-order files of a multi-part directory (base, incr).
fn parts(dir: &Path) -> (String, String) {
    let m = fs::read_to_string(dir.join("appendonly.aof.manifest")).unwrap();
    let name = |t: &str| {
        m.lines()
            .find(|l| l.ends_with(&format!("type {t}")))
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .to_owned()
    };
    (name("b"), name("i"))
}

/// A damage to apply to one file.
#[derive(Clone, Debug)]
enum Damage {
    Truncate(u64),
    Replace(u64, u8),
    Insert(u64, &'static [u8]),
}

fn apply(data: &[u8], d: &Damage) -> Vec<u8> {
    match *d {
        Damage::Truncate(n) => data[..n as usize].to_vec(),
        Damage::Replace(at, b) => {
            let mut v = data.to_vec();
            v[at as usize] = b;
            v
        }
        Damage::Insert(at, junk) => [&data[..at as usize], junk, &data[at as usize..]].concat(),
    }
}

/// Offsets where a record starts (after a `\r\n`, a `*`).
fn record_starts(data: &[u8]) -> Vec<u64> {
    let mut v = vec![0];
    for i in 2..data.len() {
        if data[i] == b'*' && data[i - 2] == b'\r' && data[i - 1] == b'\n' {
            v.push(i as u64);
        }
    }
    v
}

fn damages(
    data: &[u8],
    rng: &mut Rng,
    truncations: usize,
    replacements: usize,
    head: u64,
) -> Vec<Damage> {
    let len = data.len() as u64;
    let mut offs: Vec<u64> = (0..head.min(len)).collect();
    for &s in record_starts(data).iter().take(40) {
        offs.extend([s.saturating_sub(1), s, s + 1, s + 3]);
    }
    offs.extend((1..=40).map(|k| len.saturating_sub(k)));
    for _ in 0..truncations {
        offs.push(rng.below(len));
    }
    offs.retain(|&o| o < len);
    offs.sort_unstable();
    offs.dedup();
    let mut v: Vec<Damage> = offs.into_iter().map(Damage::Truncate).collect();
    let bytes: &[u8] = b"x\n\r*$#09\x00\xff-";
    for _ in 0..replacements {
        let at = rng.below(len);
        let b = bytes[rng.below(bytes.len() as u64) as usize];
        if data[at as usize] != b {
            v.push(Damage::Replace(at, b));
        }
    }
    for _ in 0..replacements / 6 {
        let junk: &[&'static [u8]] = &[b"!!!", b"\r\n", b"*1\r\n", b"$", b"#TS:1\r\n"];
        v.push(Damage::Insert(
            rng.below(len + 1),
            junk[rng.below(junk.len() as u64) as usize],
        ));
    }
    v
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    invalid: usize,
    fixed: usize,
    skipped_crash: usize,
    skipped_manifest_misdetection: usize,
}

/// Compares one input (directory `dir`, input `target` inside it) with
/// `redis-check-aof`, for the check and for `--fix`.
fn compare(bin: &Path, src_dir: &Path, target: &str, single: bool, tally: &mut Tally, what: &str) {
    tally.cases += 1;
    let up_dir = tempfile::tempdir().unwrap();
    copy_dir(src_dir, up_dir.path());
    let out = run_upstream(bin, up_dir.path(), &[target], b"");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let Some(up_code) = out.status.code() else {
        tally.skipped_crash += 1;
        return;
    };
    if single && text.contains("Start checking Multi Part AOF") {
        tally.skipped_manifest_misdetection += 1;
        return;
    }
    let (code, v) = check_json(&src_dir.join(target), &[]);
    let ctx = || format!("{what}\nupstream ({up_code}):\n{text}\nours ({code}): {v:#}");
    let files = v["files"].as_array().unwrap();
    let analyzed = parse_analyzed(&text);
    for a in &analyzed {
        let f = if single {
            &files[0]
        } else {
            files
                .iter()
                .find(|f| f["name"] == a.filename.as_str())
                .unwrap_or_else(|| panic!("{}", ctx()))
        };
        let u = &f["redis_check_aof"];
        assert_eq!(
            (
                u["ok_up_to"].as_u64(),
                u["ok_up_to_line"].as_u64(),
                u["diff"].as_u64(),
                f["size"].as_u64()
            ),
            (
                Some(a.ok_up_to),
                Some(a.ok_up_to_line),
                Some(a.diff),
                Some(a.size)
            ),
            "{}",
            ctx()
        );
    }
    // The error line, byte for byte (paths as redis-check-aof prints them).
    let up_err = error_lines(&text);
    let ours_err: Vec<String> = files
        .iter()
        .filter_map(|f| f["redis_check_aof"]["error"].as_str())
        .map(|e| e.replace(&src_dir.display().to_string(), "."))
        .map(|e| e.replace("./", if single { "" } else { "./" }))
        .collect();
    assert_eq!(up_err.len(), ours_err.len(), "{}", ctx());
    for (u, o) in up_err.iter().zip(&ours_err) {
        // After "got: 00" redis-check-aof prints a stale byte of its buffer.
        // (printed as a signed char: 2 or 8 hex digits).
        let same = u == o || (o.ends_with("got: 0000") && u.starts_with(&o[..o.len() - 2]));
        assert!(
            same,
            "error line differs\n  upstream: {u}\n  ours:     {o}\n{}",
            ctx()
        );
    }
    let rdb_bad = text.contains("RDB preamble of AOF file is not sane");
    if rdb_bad {
        assert!(files.iter().any(|f| f["rdb"]["ok"] == false), "{}", ctx());
    }
    // Same verdict (our only stricter verdict here: `*0`/`*-1` records).
    let empty_cmd = files.iter().any(|f| {
        f["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["code"] == "empty-command")
    });
    if !empty_cmd {
        assert_eq!(code, up_code, "{}", ctx());
    }
    if up_code == 0 {
        return;
    }
    tally.invalid += 1;

    // --fix on both sides.
    let before: BTreeMap<String, Vec<u8>> = file_map(src_dir);
    let up_fix = tempfile::tempdir().unwrap();
    copy_dir(src_dir, up_fix.path());
    let out = run_upstream(bin, up_fix.path(), &["--fix", target], b"y\n");
    let up_fix_text = String::from_utf8_lossy(&out.stdout).into_owned();
    let up_fix_code = out.status.code().unwrap();
    let ours = tempfile::tempdir().unwrap();
    copy_dir(src_dir, ours.path());
    let (code, v) = check_json(&ours.path().join(target), &["--fix", "--yes"]);
    let ctx =
        || format!("{what}\nupstream --fix ({up_fix_code}):\n{up_fix_text}\nours ({code}): {v:#}");
    assert_eq!(
        file_map(ours.path()),
        file_map(up_fix.path()),
        "files differ after --fix\n{}",
        ctx()
    );
    if !empty_cmd {
        assert_eq!(code, up_fix_code, "{}", ctx());
    }
    let b = backups(ours.path());
    let changed: Vec<&String> = before
        .keys()
        .filter(|n| before[*n] != file_map(ours.path())[*n])
        .collect();
    assert_eq!(
        b.len(),
        changed.len(),
        "one backup per changed file\n{}",
        ctx()
    );
    for bk in &b {
        let name = bk.file_name().unwrap().to_string_lossy().into_owned();
        let orig = name.split(".bak-").next().unwrap();
        assert_eq!(
            fs::read(bk).unwrap(),
            before[orig],
            "backup of {orig}\n{}",
            ctx()
        );
        assert_eq!(v["fix"]["backup"], bk.display().to_string());
    }
    if up_fix_code == 0 {
        tally.fixed += 1;
        // A re-check passes (modulo `*0` records) and a second --fix does nothing.
        let (code2, v2) = check_json(&ours.path().join(target), &["--fix", "--yes"]);
        if !empty_cmd {
            assert_eq!(code2, 0, "re-check after --fix: {v2:#}\n{}", ctx());
        }
        assert_eq!(v2["fix"], Value::Null);
        assert_eq!(backups(ours.path()).len(), b.len());
    }
}

fn file_map(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.contains(".bak-"))
        .map(|n| {
            let b = fs::read(dir.join(&n)).unwrap();
            (n, b)
        })
        .collect()
}

/// Runs `damages` of file `victim` of directory `dir` (input `target`).
fn run_cases(
    bin: &Path,
    dir: &Path,
    target: &str,
    victim: &str,
    single: bool,
    ds: &[Damage],
    tally: &mut Tally,
) {
    let orig = fs::read(dir.join(victim)).unwrap();
    for d in ds {
        let work = tempfile::tempdir().unwrap();
        copy_dir(dir, work.path());
        fs::write(work.path().join(victim), apply(&orig, d)).unwrap();
        compare(
            bin,
            work.path(),
            target,
            single,
            tally,
            &format!("{victim} {d:?}"),
        );
    }
}

fn finish(tally: &Tally, min_cases: usize) {
    eprintln!("differential: {tally:?}");
    assert!(tally.cases >= min_cases, "{tally:?}");
    assert!(
        tally.invalid * 2 >= tally.cases,
        "most damages must be detected: {tally:?}"
    );
    assert!(tally.fixed * 3 >= tally.invalid, "{tally:?}");
    assert!(
        tally.skipped_crash + tally.skipped_manifest_misdetection <= tally.cases / 20,
        "{tally:?}"
    );
}

#[test]
fn single_file_resp_aof() {
    let Some(bin) = redis_check_aof_bin() else {
        return;
    };
    let Some(src) = make_aofdir(false, false, true, 11) else {
        return;
    };
    let (_, incr) = parts(src.path());
    // An old-style single file: the INCR file on its own.
    let dir = tempfile::tempdir().unwrap();
    fs::copy(src.path().join(&incr), dir.path().join("appendonly.aof")).unwrap();
    let data = fs::read(dir.path().join("appendonly.aof")).unwrap();
    assert!(data.len() > 1_200_000);
    let mut rng = Rng(1);
    let ds = damages(&data, &mut rng, 60, 120, 200);
    let mut tally = Tally::default();
    compare(
        &bin,
        dir.path(),
        "appendonly.aof",
        true,
        &mut tally,
        "undamaged",
    );
    run_cases(
        &bin,
        dir.path(),
        "appendonly.aof",
        "appendonly.aof",
        true,
        &ds,
        &mut tally,
    );
    finish(&tally, 300);
}

#[test]
fn single_file_hybrid_aof() {
    let Some(bin) = redis_check_aof_bin() else {
        return;
    };
    let Some(src) = make_aofdir(true, false, false, 12) else {
        return;
    };
    let (base, incr) = parts(src.path());
    // An old-style hybrid file: RDB preamble + RESP tail.
    let dir = tempfile::tempdir().unwrap();
    let hybrid = [
        fs::read(src.path().join(&base)).unwrap(),
        fs::read(src.path().join(&incr)).unwrap(),
    ]
    .concat();
    fs::write(dir.path().join("appendonly.aof"), &hybrid).unwrap();
    let rdb_len = fs::metadata(src.path().join(&base)).unwrap().len();
    let mut rng = Rng(2);
    let mut ds = damages(&hybrid[rdb_len as usize..], &mut rng, 30, 60, 60);
    // Shift to the RESP tail, and add damage inside the RDB part.
    for d in &mut ds {
        match d {
            Damage::Truncate(o) | Damage::Replace(o, _) | Damage::Insert(o, _) => *o += rdb_len,
        }
    }
    for _ in 0..15 {
        ds.push(Damage::Truncate(rng.below(rdb_len)));
        ds.push(Damage::Replace(rng.below(rdb_len), b'x'));
    }
    let mut tally = Tally::default();
    compare(
        &bin,
        dir.path(),
        "appendonly.aof",
        true,
        &mut tally,
        "undamaged",
    );
    run_cases(
        &bin,
        dir.path(),
        "appendonly.aof",
        "appendonly.aof",
        true,
        &ds,
        &mut tally,
    );
    finish(&tally, 150);
}

#[test]
fn multi_part_resp_base_and_timestamps() {
    let Some(bin) = redis_check_aof_bin() else {
        return;
    };
    let Some(src) = make_aofdir(false, true, false, 13) else {
        return;
    };
    let (base, incr) = parts(src.path());
    let data = fs::read(src.path().join(&incr)).unwrap();
    assert!(data.starts_with(b"#TS:"), "timestamps expected");
    let mut rng = Rng(3);
    let ds = damages(&data, &mut rng, 40, 80, 80);
    let mut tally = Tally::default();
    compare(
        &bin,
        src.path(),
        "appendonly.aof.manifest",
        false,
        &mut tally,
        "undamaged",
    );
    run_cases(
        &bin,
        src.path(),
        "appendonly.aof.manifest",
        &incr,
        false,
        &ds,
        &mut tally,
    );
    // Damage in the BASE (not the last file): both refuse to cut.
    let base_data = fs::read(src.path().join(&base)).unwrap();
    let ds: Vec<Damage> = (0..25)
        .map(|_| Damage::Truncate(rng.below(base_data.len() as u64)))
        .collect();
    run_cases(
        &bin,
        src.path(),
        "appendonly.aof.manifest",
        &base,
        false,
        &ds,
        &mut tally,
    );
    finish(&tally, 200);
}

#[test]
fn multi_part_rdb_base() {
    let Some(bin) = redis_check_aof_bin() else {
        return;
    };
    let Some(src) = make_aofdir(true, false, false, 14) else {
        return;
    };
    let (base, incr) = parts(src.path());
    assert!(base.ends_with(".base.rdb"));
    let data = fs::read(src.path().join(&incr)).unwrap();
    let mut rng = Rng(4);
    let ds = damages(&data, &mut rng, 30, 60, 60);
    let mut tally = Tally::default();
    compare(
        &bin,
        src.path(),
        "appendonly.aof.manifest",
        false,
        &mut tally,
        "undamaged",
    );
    run_cases(
        &bin,
        src.path(),
        "appendonly.aof.manifest",
        &incr,
        false,
        &ds,
        &mut tally,
    );
    let base_data = fs::read(src.path().join(&base)).unwrap();
    let mut ds = Vec::new();
    for _ in 0..12 {
        ds.push(Damage::Truncate(rng.below(base_data.len() as u64)));
        ds.push(Damage::Replace(rng.below(base_data.len() as u64), b'x'));
    }
    run_cases(
        &bin,
        src.path(),
        "appendonly.aof.manifest",
        &base,
        false,
        &ds,
        &mut tally,
    );
    finish(&tally, 150);
}

/// How a real server ended up with a damaged INCR file.
#[derive(Debug, PartialEq, Eq)]
enum ServerResult {
    /// Started; the INCR file's size afterwards.
    Started(u64),
    /// Exited with an error (refused to start).
    Refused,
    /// Killed by a signal.
    Crashed,
}

/// Starts `redis-server` on a copy of `dir` (an `appendonlydir`) and reports what
/// happened.
fn real_server(dir: &Path, incr: &str) -> ServerResult {
    let Some(bin) = common::redis_server_bin() else {
        unreachable!()
    };
    let work = tempfile::tempdir().unwrap();
    copy_dir(dir, &work.path().join("appendonlydir"));
    // Retry when another test's server took the port (see common::wait_for_server).
    for _ in 0..5 {
        let port = common::free_port();
        let mut child = std::process::Command::new(&bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--daemonize",
                "no",
            ])
            .args([
                "--appendonly",
                "yes",
                "--appenddirname",
                "appendonlydir",
                "--aof-load-truncated",
                "yes",
            ])
            .arg("--dir")
            .arg(work.path())
            .arg("--logfile")
            .arg(work.path().join("log"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let log = || fs::read_to_string(work.path().join("log")).unwrap_or_default();
        match common::wait_for_server(&mut child, port, Duration::from_secs(20)) {
            Ok(mut stream) => {
                if let Err(e) = common::wait_until_loaded(&mut stream, Duration::from_secs(20)) {
                    // The server can still die while loading (the crash cases).
                    let deadline = std::time::Instant::now() + Duration::from_secs(20);
                    let st = loop {
                        if let Some(st) = child.try_wait().unwrap() {
                            break st;
                        }
                        assert!(
                            std::time::Instant::now() < deadline,
                            "redis-server alive but not loading: {e}"
                        );
                        std::thread::sleep(Duration::from_millis(20));
                    };
                    return if st.code().is_some() {
                        ServerResult::Refused
                    } else {
                        ServerResult::Crashed
                    };
                }
                let size = fs::metadata(work.path().join("appendonlydir").join(incr))
                    .unwrap()
                    .len();
                let _ = child.kill();
                let _ = child.wait();
                return ServerResult::Started(size);
            }
            Err(e) if e == "port taken" || log().contains("Address already in use") => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Err(e) if e.starts_with("exited") => {
                let st = child.wait().unwrap();
                return if st.code().is_some() {
                    ServerResult::Refused
                } else {
                    ServerResult::Crashed
                };
            }
            Err(e) => panic!("redis-server neither started nor exited: {e}"),
        }
    }
    panic!("no free port for redis-server after 5 attempts");
}

/// Our prediction of the server's loader (`server` in the JSON, for files with a
/// problem) against a real `redis-server` started on the damaged files.
#[test]
fn loader_prediction_matches_a_real_server() {
    if redis_check_aof_bin().is_none() {
        return;
    }
    let Some(src) = make_aofdir(false, false, false, 15) else {
        return;
    };
    let (_, incr) = parts(src.path());
    let data = fs::read(src.path().join(&incr)).unwrap();
    let mut rng = Rng(5);
    let mut ds: Vec<Damage> = (0..20)
        .map(|_| Damage::Truncate(rng.below(data.len() as u64)))
        .collect();
    // Damage inside record headers, where checker and loader disagree most.
    let starts = record_starts(&data);
    let bytes: &[u8] = b"x\n*$0-#";
    for _ in 0..30 {
        let at = starts[rng.below(starts.len() as u64) as usize] + rng.below(10);
        if at < data.len() as u64 {
            ds.push(Damage::Replace(
                at,
                bytes[rng.below(bytes.len() as u64) as usize],
            ));
        }
    }
    let mut compared = 0;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for d in &ds {
        let work = tempfile::tempdir().unwrap();
        copy_dir(src.path(), work.path());
        fs::write(work.path().join(&incr), apply(&data, d)).unwrap();
        let (_, v) = check_json(work.path(), &[]);
        let f = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == incr.as_str())
            .unwrap();
        let s = &f["server"];
        if s.is_null() {
            continue;
        }
        let predicted = match s["outcome"].as_str().unwrap() {
            "loads" => ServerResult::Started(f["size"].as_u64().unwrap()),
            "truncates" => ServerResult::Started(s["truncates_to"].as_u64().unwrap()),
            "crashes" => ServerResult::Crashed,
            _ => ServerResult::Refused,
        };
        let got = real_server(work.path(), &incr);
        // A crash may also show as an exit through the server's crash handler.
        let same = got == predicted
            || (predicted == ServerResult::Crashed && got == ServerResult::Refused);
        assert!(
            same,
            "{d:?}: predicted {predicted:?}, the server did {got:?}\n{s:#}"
        );
        compared += 1;
        *kinds
            .entry(s["outcome"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    eprintln!("loader predictions compared with a real server: {compared} {kinds:?}");
    assert!(compared >= 30, "{compared}");
    assert!(kinds.len() >= 3, "{kinds:?}");
}

/// The corpus AOFs written by 7.0 (the checker's own version) give the same
/// numbers as `redis-check-aof`.
#[test]
fn corpus_7_0_aofs_same_numbers() {
    let Some(bin) = redis_check_aof_bin() else {
        return;
    };
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut tally = Tally::default();
    for d in ["aof-nopreamble", "aof-preamble", "aof-timestamps"] {
        let dir = corpus.join("redis-7.0.15").join(d);
        compare(&bin, &dir, "appendonly.aof.manifest", false, &mut tally, d);
    }
    for v in ["redis-6.0.9", "redis-6.2.14"] {
        for f in ["appendonly-nopreamble.aof", "appendonly-preamble.aof"] {
            let tmp = tempfile::tempdir().unwrap();
            fs::copy(corpus.join(v).join(f), tmp.path().join(f)).unwrap();
            compare(&bin, tmp.path(), f, true, &mut tally, f);
        }
    }
    assert_eq!(tally.cases, 7);
}
