//! Hostile inputs (issue 19): what is kept stays bounded whatever the input,
//! and an input that cannot be what a command reads ends at once, even when
//! it never ends (`/dev/zero`, an endless pipe).
//!
//! Peak memory is the child's `VmHWM` (from `/proc/PID/status`, read while it
//! runs), asserted under a bound.

use crate::common;

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Peak resident memory allowed to a check of a bomb, in KiB.
const PEAK_BOUND_KB: u64 = 64 * 1024;

/// Longest a bomb may take before the test calls it a hang.
const TIMEOUT: Duration = Duration::from_secs(120);

/// What a child did: its exit status, its standard output and its peak
/// resident memory in KiB.
pub(crate) struct Run {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    pub(crate) peak_kb: u64,
}

/// The child's `VmHWM` in KiB, while it exists.
fn vm_hwm(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Waits for `child` (polling its peak memory), killing it and failing after
/// [`TIMEOUT`].
fn watch(mut child: Child, what: &str) -> Run {
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_reader = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let mut peak_kb = 0;
    let status = loop {
        if let Some(kb) = vm_hwm(child.id()) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {TIMEOUT:?} (peak {peak_kb} KiB)");
        }
        thread::sleep(Duration::from_millis(5));
    };
    Run {
        status,
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
        peak_kb,
    }
}

/// Runs the binary with `args` on no input.
pub(crate) fn run_watched(args: &[&str]) -> Run {
    let child = common::bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    watch(child, &args.join(" "))
}

/// Runs the binary with `args`, its standard input `head` then zero bytes
/// without end (until it stops reading).
fn run_endless_stdin(args: &[&str], head: &'static [u8]) -> Run {
    let mut child = common::bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = thread::spawn(move || {
        let zeros = vec![0u8; 64 * 1024];
        if stdin.write_all(head).is_err() {
            return;
        }
        while stdin.write_all(&zeros).is_ok() {}
    });
    let run = watch(child, &format!("{} < endless", args.join(" ")));
    writer.join().unwrap();
    run
}

/// A file of `head` then `fill` repeated up to `size` bytes.
fn bomb(path: &Path, head: &[u8], fill: &[u8], size: usize) {
    let mut data = Vec::with_capacity(size + fill.len());
    data.extend_from_slice(head);
    while data.len() < size {
        data.extend_from_slice(fill);
    }
    fs::write(path, data).unwrap();
}

/// Checks a `check-rdb --json` document of a bomb: invalid, a bounded
/// problem list that says it is truncated, counts of every problem, and the
/// stop on damage stated.
fn assert_bounded_report(doc: &Value, what: &str) {
    assert_eq!(doc["ok"], false, "{what}");
    let f = &doc["files"][0];
    assert_eq!(f["verdict"], "corrupt", "{what}");
    let kept = f["problems"].as_array().unwrap().len() as u64;
    assert!((1..=1001).contains(&kept), "{what}: {kept} problems kept");
    assert_eq!(f["problems_truncated"], true, "{what}");
    let total: u64 = f["problem_counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert!(total > kept, "{what}: {total} counted, {kept} kept");
    let stopped = f["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["message"].as_str().unwrap().starts_with("check stopped"));
    assert!(stopped, "{what}: the stop on damage is not stated");
}

/// A valid RDB header followed by zero bytes (millions of empty, duplicate
/// string keys), and a family around it (other versions, other repeated
/// damage), for 1 MiB and 30 MiB: `check-rdb --json` stays under the bound,
/// says the list is truncated and stops on the damage.
#[test]
fn zero_filled_rdb_is_checked_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let family: [(&[u8], &[u8]); 5] = [
        (b"REDIS0010", b"\0"),
        (b"REDIS0009", b"\0"),
        (b"REDIS0012", b"\0"),
        (b"VALKEY080", b"\0"),
        // The same one-letter key again and again.
        (b"REDIS0011", b"\x00\x01a\x01b"),
    ];
    for (i, (head, fill)) in family.iter().enumerate() {
        for size in [1usize << 20, 30 << 20] {
            if i > 0 && size > 1 << 20 {
                continue;
            }
            let p = tmp.path().join(format!("bomb{i}-{size}.rdb"));
            bomb(&p, head, fill, size);
            let path = p.to_str().unwrap();
            let what = format!(
                "{} + {:?} to {size} bytes",
                String::from_utf8_lossy(head),
                fill
            );
            for threads in ["1", "3"] {
                let r = run_watched(&["check-rdb", "--json", "--threads", threads, path]);
                assert_eq!(
                    r.status.code(),
                    Some(1),
                    "{what}: {}",
                    String::from_utf8_lossy(&r.stderr)
                );
                let doc: Value = serde_json::from_slice(&r.stdout).unwrap();
                assert_bounded_report(&doc, &what);
                assert!(
                    r.peak_kb < PEAK_BOUND_KB,
                    "{what} (--threads {threads}): peak {} KiB",
                    r.peak_kb
                );
            }
            // The human output states the truncation too.
            let r = run_watched(&["check-rdb", path]);
            assert_eq!(r.status.code(), Some(1), "{what}");
            let text = String::from_utf8_lossy(&r.stdout);
            assert!(
                text.contains("only the first 1000 problems are listed"),
                "{what}: {text}"
            );
            assert!(text.contains("check stopped"), "{what}");
            assert!(
                text.lines().count() < 1100,
                "{what}: {} lines",
                text.lines().count()
            );
            assert!(r.peak_kb < PEAK_BOUND_KB, "{what}: peak {} KiB", r.peak_kb);
        }
    }
}

/// `(printf REDIS0010; cat /dev/zero) | redis-persist check-rdb -` ends, with
/// the damage reported, in bounded memory.
#[test]
fn endless_zero_rdb_on_stdin_ends() {
    for json in [false, true] {
        let mut args = vec!["check-rdb"];
        if json {
            args.push("--json");
        }
        args.push("-");
        let r = run_endless_stdin(&args, b"REDIS0010");
        assert_eq!(
            r.status.code(),
            Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        assert!(
            String::from_utf8_lossy(&r.stdout).contains("check stopped"),
            "{args:?}"
        );
        assert!(
            r.peak_kb < PEAK_BOUND_KB,
            "{args:?}: peak {} KiB",
            r.peak_kb
        );
    }
}

/// An AOF whose RDB preamble is a zero bomb: `check-aof --json` stays bounded
/// and says how many problems it did not list.
#[test]
fn zero_filled_preamble_aof_is_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bomb.aof");
    bomb(&p, b"REDIS0010", b"\0", 4 << 20);
    let r = run_watched(&["check-aof", "--json", p.to_str().unwrap()]);
    assert_eq!(
        r.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(
        text.contains("not listed: only the first 1000"),
        "{text:.2000}"
    );
    assert!(r.peak_kb < PEAK_BOUND_KB, "peak {} KiB", r.peak_kb);
}

/// `check-aof` and `convert-aof-to-hybrid` on an input that cannot be an AOF
/// and never ends (`/dev/zero`, an endless pipe) end at once with an error.
#[test]
fn endless_non_aof_input_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.aof");
    let out = out.to_str().unwrap();
    for args in [
        vec!["check-aof", "/dev/zero"],
        vec!["check-aof", "--json", "/dev/zero"],
        vec!["convert-aof-to-hybrid", "/dev/zero", "-o", out],
    ] {
        let started = Instant::now();
        let r = run_watched(&args);
        assert!(
            matches!(r.status.code(), Some(1 | 2)),
            "{args:?}: {:?} {}",
            r.status,
            String::from_utf8_lossy(&r.stderr)
        );
        assert!(started.elapsed() < Duration::from_secs(30), "{args:?}");
        assert!(!Path::new(out).exists(), "{args:?} wrote an output");
    }
    // A regular file is still read to its end: the commands after damage at
    // its first byte are counted (a cut would drop them).
    let damaged = tmp.path().join("damaged.aof");
    fs::write(&damaged, b"x\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n").unwrap();
    let r = run_watched(&["check-aof", damaged.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("at least 1 complete command(s) follow"),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    for args in [
        vec!["check-aof", "-"],
        vec!["convert-aof-to-hybrid", "-", "-o", out],
    ] {
        let r = run_endless_stdin(&args, b"");
        assert!(
            matches!(r.status.code(), Some(1 | 2)),
            "{args:?}: {:?} {}",
            r.status,
            String::from_utf8_lossy(&r.stderr)
        );
        assert!(!Path::new(out).exists(), "{args:?} wrote an output");
    }
}

/// One RESP command.
fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n", a.len()).bytes());
        out.extend_from_slice(a);
        out.extend(b"\r\n");
    }
    out
}

/// What a server holds of the strings built past 512 MiB.
fn big_strings(s: &mut common::RedisServer) -> (i64, Vec<u8>, i64, Vec<u8>) {
    (
        s.cmd(&["STRLEN", "k"]).int(),
        s.cmd(&["GETRANGE", "k", "536870910", "-1"]).bytes(),
        s.cmd(&["STRLEN", "b"]).int(),
        // GETBIT refuses that offset from a client: bit 4294967296 is the
        // high bit of byte 536870912.
        s.cmd(&["GETRANGE", "b", "536870911", "-1"]).bytes(),
    )
}

/// The AOF loader does not apply `proto-max-bulk-len`: redis-server 7.0 keeps
/// `SETRANGE k 536870912 x`, an `APPEND` past 512 MiB and `SETBIT b
/// 4294967296 1`. The replay keeps them too (it used to drop them with a
/// warning): the converted file loads into the same server with the same
/// strings.
#[test]
fn replay_keeps_strings_past_proto_max_bulk_len() {
    let tmp = tempfile::tempdir().unwrap();
    let aof = tmp.path().join("appendonly.aof");
    let mut d = resp(&[b"SELECT", b"0"]);
    d.extend(resp(&[b"SETRANGE", b"k", b"536870912", b"x"]));
    d.extend(resp(&[b"APPEND", b"k", b"yz"]));
    d.extend(resp(&[b"SETBIT", b"b", b"4294967296", b"1"]));
    fs::write(&aof, &d).unwrap();
    let aof_args = ["--appendonly", "yes", "--appendfilename", "appendonly.aof"];
    let Some(mut server) = common::RedisServer::start_with(&aof_args, &[(&aof, "appendonly.aof")])
    else {
        return;
    };
    let want = big_strings(&mut server);
    drop(server);
    assert_eq!(
        want,
        (
            536_870_915,
            b"\0\0xyz".to_vec(),
            536_870_913,
            b"\0\x80".to_vec()
        )
    );

    let out = tmp.path().join("out.aof");
    let r = common::run(&[
        "convert-aof-to-hybrid",
        aof.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--single-file",
        "--rdb-version",
        "10",
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let mut server =
        common::RedisServer::start_with(&aof_args, &[(&out, "appendonly.aof")]).unwrap();
    assert_eq!(big_strings(&mut server), want);
}

/// A string larger than the replay holds (here 5 GB, from one `SETBIT`) stops
/// the conversion with an error naming the command; nothing is written and
/// nothing is dropped silently.
#[test]
fn replay_fails_on_a_string_too_large_to_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let aof = tmp.path().join("appendonly.aof");
    let mut d = resp(&[b"SET", b"a", b"1"]);
    d.extend(resp(&[b"SETBIT", b"b", b"40000000000", b"1"]));
    fs::write(&aof, &d).unwrap();
    let out = tmp.path().join("out.aof");
    let r = run_watched(&[
        "convert-aof-to-hybrid",
        aof.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--single-file",
    ]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_ne!(r.status.code(), Some(0), "{err}");
    assert!(
        err.contains("SETBIT") && err.contains("5000000001 bytes"),
        "{err}"
    );
    assert!(!out.exists());
    assert!(r.peak_kb < PEAK_BOUND_KB, "peak {} KiB", r.peak_kb);
}

/// A known command with the wrong number of arguments (`SET a`, `GET`,
/// `EXPIRE a`): redis-server 7.0 does not start on such an AOF (it crashes),
/// so `check-aof` calls the file invalid, with the server outcome in the JSON.
#[test]
fn wrong_arity_is_an_error_with_the_server_outcome() {
    let Some(bin) = common::redis_server_bin() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cases: [&[&[u8]]; 3] = [&[b"SET", b"a"], &[b"GET"], &[b"EXPIRE", b"a"]];
    for bad in cases {
        let mut d = resp(&[b"SET", b"x", b"1"]);
        d.extend(resp(bad));
        d.extend(resp(&[b"SET", b"y", b"2"]));
        let aof = tmp.path().join("appendonly.aof");
        fs::write(&aof, &d).unwrap();
        let what = String::from_utf8_lossy(&bad.join(&b' ')).into_owned();
        assert!(
            server_refuses(
                &bin,
                &aof,
                &["--appendonly", "yes", "--appendfilename", "appendonly.aof"],
                "appendonly.aof"
            ),
            "{what}: redis-server 7.0 loaded it"
        );

        let r = run_watched(&["check-aof", "--json", aof.to_str().unwrap()]);
        assert_eq!(r.status.code(), Some(1), "{what}");
        let v: Value = serde_json::from_slice(&r.stdout).unwrap();
        let f = &v["files"][0];
        assert_eq!(f["ok"], false, "{what}");
        let p = f["problems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"] == "wrong-arity")
            .unwrap_or_else(|| panic!("{what}: {f}"));
        assert_eq!(p["severity"], "error", "{what}");
        assert_eq!(p["offset"], 27, "{what}");
        assert_eq!(f["server"]["outcome"], "wrong-arity", "{what}: {f}");
        assert_eq!(f["server"]["starts"], false, "{what}");
    }
}

/// Starts `bin` on a copy of `file` (named `name`) in a new directory,
/// listening on a Unix socket only, and tells whether it stopped by itself
/// (refused or crashed) within 5 s; a server still running then is killed.
fn server_refuses(bin: &Path, file: &Path, extra: &[&str], name: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(file, dir.path().join(name)).unwrap();
    let mut server = std::process::Command::new(bin)
        .args(["--port", "0", "--save", ""])
        .arg("--unixsocket")
        .arg(dir.path().join("s.sock"))
        .arg("--dir")
        .arg(dir.path())
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A small file loads in milliseconds: still running after 5 s, the
    // server took it (its socket exists before it loads, so it says nothing).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if server.try_wait().unwrap().is_some() {
            return true;
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            let _ = server.wait();
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A function library whose metadata redis-server 7.0 refuses (a library name
/// outside `[a-zA-Z0-9_]`, an unknown engine) makes it refuse the whole RDB
/// (redis-check-rdb 7.0 calls such a file OK): `check-rdb` reports it. The
/// file is one the real server wrote, patched (checksum disabled).
#[test]
fn function_library_metadata_is_checked_as_the_loader_does() {
    let Some(bin) = common::redis_server_bin() else {
        return;
    };
    let Some(mut server) = common::RedisServer::start_with(&["--dbfilename", "dump.rdb"], &[])
    else {
        return;
    };
    let code = "#!lua name=mylib\nredis.register_function('f', function() return 1 end)";
    server.cmd(&["FUNCTION", "LOAD", code]);
    server.cmd(&["SET", "k", "v"]);
    let saved = fs::read(server.save()).unwrap();
    drop(server);
    let tmp = tempfile::tempdir().unwrap();
    let patch = |from: &[u8], to: &[u8]| {
        let at = saved.windows(from.len()).position(|w| w == from).unwrap();
        let mut d = saved.clone();
        d[at..at + to.len()].copy_from_slice(to);
        let n = d.len();
        d[n - 8..].fill(0);
        d
    };
    let cases: [(&str, Vec<u8>, bool); 3] = [
        ("good", patch(b"name=mylib", b"name=mylib"), true),
        ("name", patch(b"name=mylib", b"name=my-ib"), false),
        ("engine", patch(b"#!lua", b"#!lux"), false),
    ];
    for (what, data, ok) in cases {
        let f = tmp.path().join(format!("{what}.rdb"));
        fs::write(&f, &data).unwrap();
        let refused = server_refuses(&bin, &f, &["--dbfilename", "dump.rdb"], "dump.rdb");
        assert_eq!(refused, !ok, "{what}: redis-server 7.0");
        let r = run_watched(&["check-rdb", "--json", f.to_str().unwrap()]);
        let v: Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!(v["ok"], ok, "{what}: {v}");
        assert_eq!(r.status.code(), Some(i32::from(!ok)), "{what}");
        if !ok {
            let msg = v["files"][0]["problems"][0]["message"].as_str().unwrap();
            assert!(msg.starts_with("function library refused"), "{what}: {msg}");
        }
    }
}
