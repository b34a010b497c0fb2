//! Issue 19, "Nothing lost, nothing unbounded": the tool never aborts on an
//! out-of-range setting, never destroys an input by writing over it, never
//! panics on a failed write to its output streams.
#![allow(clippy::print_stderr)]

use crate::common;

use std::path::{Path, PathBuf};

/// A copy of the small test RDB in `dir`.
fn rdb_copy(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::copy(common::testdata("rdb/redis-7.0-types.rdb"), &p).unwrap();
    p
}

/// `--threads` out of range (0, or more than the tool accepts) is a usage
/// error (exit 2) for every subcommand that has it; it used to abort with
/// exit 134 (`--threads 100000`) when spawning the threads failed.
#[test]
fn threads_out_of_range_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let rdb = rdb_copy(dir.path(), "dump.rdb");
    let rdb = rdb.to_str().unwrap();
    for sub in ["check-rdb", "dump", "stats"] {
        for n in ["0", "100000", "18446744073709551616", "x"] {
            let out = common::run(&[sub, "--threads", n, rdb]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{sub} --threads {n}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("--threads"),
                "{sub} --threads {n}: the error names the option"
            );
        }
        // In range: it runs (the file is valid).
        let out = common::run(&[sub, "--threads", "1024", rdb]);
        assert_eq!(out.status.code(), Some(0), "{sub} --threads 1024");
    }
}

/// A multi-part AOF directory (a RESP base and a RESP incr) in `dir`.
fn aof_dir(dir: &Path) -> PathBuf {
    let d = dir.join("appendonlydir");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(
        d.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    std::fs::write(
        d.join("appendonly.aof.1.base.aof"),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n",
    )
    .unwrap();
    std::fs::write(
        d.join("appendonly.aof.1.incr.aof"),
        "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n",
    )
    .unwrap();
    d
}

/// Every file under `p` (or `p` itself) with its bytes, to compare before and
/// after a run.
fn snapshot(p: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    if p.is_dir() {
        let mut v: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|f| {
                let b = std::fs::read(&f).unwrap();
                (f, b)
            })
            .collect();
        v.sort();
        v
    } else {
        vec![(p.to_path_buf(), std::fs::read(p).unwrap())]
    }
}

/// Runs `args`; the run must be refused (exit 2, saying an input is never
/// replaced) and leave `input` byte for byte as it was.
fn assert_refused(args: &[&str], input: &Path) {
    let before = snapshot(input);
    let out = common::run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains("input"), "{args:?}: {err}");
    assert_eq!(snapshot(input), before, "{args:?} changed its input");
}

/// Every subcommand that writes a file, with its output on its own input: by
/// name, through a symlink, through a hard link, and inside an input AOF
/// directory. `dump in.rdb -o in.rdb` used to exit 0 leaving JSON in place of
/// the RDB.
#[test]
fn an_output_never_replaces_an_input() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let rdb = rdb_copy(t, "in.rdb");
    let link = t.join("link.rdb");
    std::os::unix::fs::symlink(&rdb, &link).unwrap();
    let hard = t.join("hard.rdb");
    std::fs::hard_link(&rdb, &hard).unwrap();
    let dir = aof_dir(t);
    let manifest = dir.join("appendonly.aof.manifest");
    let incr = dir.join("appendonly.aof.1.incr.aof");
    let single = t.join("single.aof");
    std::fs::copy(&incr, &single).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (rdb_s, link_s, hard_s) = (s(&rdb), s(&link), s(&hard));
    let (dir_s, manifest_s, incr_s, single_s) = (s(&dir), s(&manifest), s(&incr), s(&single));

    for o in [&rdb_s, &link_s, &hard_s] {
        assert_refused(&["dump", &rdb_s, "-o", o], &rdb);
        assert_refused(&["salvage", &rdb_s, "-o", o, "--force"], &rdb);
        assert_refused(
            &[
                "salvage",
                &rdb_s,
                "-o",
                &s(&t.join("x.rdb")),
                "--lost",
                o,
                "--force",
            ],
            &rdb,
        );
    }
    for o in [&manifest_s, &incr_s] {
        assert_refused(&["dump", &dir_s, "-o", o], &dir);
        assert_refused(&["dump", &manifest_s, "-o", o], &dir);
        assert_refused(
            &[
                "convert-aof-to-hybrid",
                &dir_s,
                "--single-file",
                "-o",
                o,
                "--force",
            ],
            &dir,
        );
    }
    assert_refused(
        &["convert-aof-to-hybrid", &dir_s, "-o", &dir_s, "--force"],
        &dir,
    );
    assert_refused(
        &[
            "convert-aof-to-hybrid",
            &manifest_s,
            "-o",
            &dir_s,
            "--force",
        ],
        &dir,
    );
    assert_refused(
        &[
            "convert-aof-to-hybrid",
            &single_s,
            "--single-file",
            "-o",
            &single_s,
            "--force",
        ],
        &single,
    );
    assert_refused(&["dump", &single_s, "-o", &single_s], &single);
    // rewrite: its output over its (or one of its merged) inputs, by name,
    // symlink or hard link; a split whose directory would take an input's name.
    let other = rdb_copy(t, "other.rdb");
    let other_s = s(&other);
    for o in [&rdb_s, &link_s, &hard_s] {
        assert_refused(
            &[
                "rewrite",
                "--target",
                "redis-8.6",
                &rdb_s,
                "-o",
                o,
                "--force",
            ],
            &rdb,
        );
        assert_refused(
            &[
                "rewrite",
                "--target",
                "redis-8.6",
                &other_s,
                &rdb_s,
                "-o",
                o,
                "--duplicates",
                "first",
                "--force",
            ],
            &rdb,
        );
    }
    let nodes = t.join("nodes");
    std::fs::create_dir(&nodes).unwrap();
    let node0 = nodes.join("node0.rdb");
    std::fs::copy(&rdb, &node0).unwrap();
    assert_refused(
        &[
            "rewrite",
            "--target",
            "redis-8.6",
            &s(&node0),
            "--split-by-slot",
            "3",
            "-o",
            &s(&nodes),
            "--force",
        ],
        &node0,
    );
    assert_refused(
        &[
            "rewrite",
            "--target",
            "redis-8.6",
            &dir_s,
            "--aof",
            "-o",
            &manifest_s,
            "--force",
        ],
        &dir,
    );
    // salvage of an AOF: over its directory, its manifest or one of its files.
    assert_refused(&["salvage", &dir_s, "-o", &dir_s, "--force"], &dir);
    for o in [&manifest_s, &incr_s] {
        assert_refused(
            &["salvage", &dir_s, "--single-file", "-o", o, "--force"],
            &dir,
        );
    }
    assert_refused(&["salvage", &single_s, "-o", &single_s, "--force"], &single);

    // A new output beside the inputs is still written.
    let fresh = t.join("out.jsonl");
    let out = common::run(&["dump", &dir_s, "-o", &s(&fresh)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&fresh).unwrap().contains("\"b\""));
}

/// `path` opened for writing, to stand for a full disk (`/dev/full`).
fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
}

/// A failed write to stderr or stdout never panics (exit 101): `check-aof
/// --fix --yes 2>/dev/full` used to write the backup, panic in `eprintln!` and
/// never truncate. Now the repair completes (or is not started).
#[test]
fn a_failed_write_never_panics() {
    if !Path::new("/dev/full").exists() {
        common::skip("there is no /dev/full to test failed writes with");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let aof = tmp.path().join("appendonly.aof");
    let good = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n".to_vec();
    let mut damaged = good.clone();
    damaged.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1");
    std::fs::write(&aof, &damaged).unwrap();
    for json in [false, true] {
        for out_full in [false, true] {
            std::fs::write(&aof, &damaged).unwrap();
            let mut c = common::bin();
            c.args(["--no-progress", "check-aof", "--fix", "--yes"]);
            if json {
                c.arg("--json");
            }
            c.arg(&aof)
                .stdin(std::process::Stdio::null())
                .stderr(dev_full());
            if out_full {
                c.stdout(dev_full());
            }
            let out = c.output().unwrap();
            let code = out.status.code();
            let now = std::fs::read(&aof).unwrap();
            let case = format!("json {json}, stdout full {out_full}: exit {code:?}");
            assert!(code.is_some() && code != Some(101), "{case}");
            if out_full {
                // The human report comes before the repair and cannot be
                // written: the repair is not started (exit 2, file untouched).
                // The JSON report comes after it: the repair is completed and
                // the lost report makes it exit 2.
                assert!(
                    (code == Some(2) && now == damaged)
                        || (matches!(code, Some(0 | 2)) && now == good),
                    "{case}"
                );
            } else {
                // Only stderr is full: the repair is done, and reported on stdout.
                assert_eq!(now, good, "the repair is completed ({case})");
                assert_eq!(code, Some(0), "{case}");
            }
        }
    }
    // Reports, errors and warnings to a full stdout / stderr: an exit code,
    // never a panic.
    let rdb = rdb_copy(tmp.path(), "dump.rdb");
    let rdb = rdb.to_str().unwrap();
    let aof = aof.to_str().unwrap();
    let missing = tmp.path().join("missing.rdb");
    let missing = missing.to_str().unwrap();
    let runs: [&[&str]; 8] = [
        &["check-rdb", rdb],
        &["check-rdb", "--json", rdb],
        &["check-rdb", missing],
        &["dump", rdb],
        &["stats", rdb],
        &["check-aof", aof],
        &["check-aof", "--json", aof],
        &["convert-aof-to-hybrid", missing, "-o", missing],
    ];
    for args in runs {
        for (out_full, err_full) in [(true, false), (false, true), (true, true)] {
            let mut c = common::bin();
            c.args(args).stdin(std::process::Stdio::null());
            if out_full {
                c.stdout(dev_full());
            }
            if err_full {
                c.stderr(dev_full());
            }
            let out = c.output().unwrap();
            let code = out.status.code();
            assert!(
                code.is_some() && code != Some(101),
                "{args:?} (stdout full: {out_full}, stderr full: {err_full}): {code:?} {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// `INCRBYFLOAT` / `HINCRBYFLOAT` replayed as the server computes them (x87
/// `long double`, stored as `%.17Lf` trimmed), against the live Redis: the same
/// commands fail, and every key ends with the server's value. `INCRBYFLOAT k
/// 1e30` gives `1000000000000000000024696061952` (the f64 replay stored
/// `1000000000000000019884624838656`); `HINCRBYFLOAT h f inf` is refused
/// without creating `h` (it left an empty hash, which `dump` then failed on).
#[test]
fn float_increments_follow_the_server() {
    use common::Reply;
    use redis_persist::model::Value;
    use redis_persist::replay::{Engine, Outcome};
    let Some(mut s) = common::RedisServer::start() else {
        return;
    };
    let w = |c: &str| -> Vec<Vec<u8>> { c.split(' ').map(|a| a.as_bytes().to_vec()).collect() };
    let mut cmds: Vec<Vec<Vec<u8>>> = [
        "INCRBYFLOAT f:big 1e30",
        "INCRBYFLOAT f:tenth 0.1",
        "INCRBYFLOAT f:tenth 0.1",
        "INCRBYFLOAT f:tenth 0.1",
        "INCRBYFLOAT f:huge 1e308",
        "INCRBYFLOAT f:huge 1e308",
        "INCRBYFLOAT f:huge 1e4000",
        "INCRBYFLOAT f:over 1e4932",
        "INCRBYFLOAT f:over 1e4932",
        "INCRBYFLOAT f:inf inf",
        "INCRBYFLOAT f:inf -inf",
        "INCRBYFLOAT f:nan nan",
        "INCRBYFLOAT f:range 1e5000",
        "INCRBYFLOAT f:range 1e-5000",
        "INCRBYFLOAT f:tiny 1e-20",
        "INCRBYFLOAT f:tiny 1e-4940",
        "INCRBYFLOAT f:hex 0x1p-3",
        "INCRBYFLOAT f:hex 0X1.8P+1",
        "INCRBYFLOAT f:neg -2.5",
        "INCRBYFLOAT f:neg 2.5",
        "INCRBYFLOAT f:pi 3.14159265358979323846264338327950288",
        "INCRBYFLOAT f:bad abc",
        "INCRBYFLOAT f:bad 1e",
        "INCRBYFLOAT f:bad .",
        "INCRBYFLOAT f:bad 0x",
        "SET f:str 5.0e3",
        "INCRBYFLOAT f:str 2.0e2",
        "SET f:int 9007199254740993",
        "INCRBYFLOAT f:int 1",
        "SET f:inf2 inf",
        "INCRBYFLOAT f:inf2 1",
        "HINCRBYFLOAT h:inf f inf",
        "HINCRBYFLOAT h:inf f -inf",
        "HINCRBYFLOAT h:inf f nan",
        "HINCRBYFLOAT h:big f 1e30",
        "HINCRBYFLOAT h:big g 0.1",
        "HINCRBYFLOAT h:big g 0.2",
        "HSET h:str f 1.5 g x h inf",
        "HINCRBYFLOAT h:str f 1e-17",
        "HINCRBYFLOAT h:str g 1",
        "HINCRBYFLOAT h:str h 1",
        "HINCRBYFLOAT h:over f 1e4932",
        "HINCRBYFLOAT h:over f 1e4932",
    ]
    .iter()
    .map(|c| w(c))
    .collect();
    cmds.push(vec![
        b"INCRBYFLOAT".to_vec(),
        b"f:long".to_vec(),
        format!("0.{}1", "0".repeat(3000)).into_bytes(),
    ]);
    cmds.push(vec![
        b"INCRBYFLOAT".to_vec(),
        b"f:long".to_vec(),
        format!("1{}", "7".repeat(5200)).into_bytes(),
    ]);
    // A generated family: random mantissas and exponents, on a few keys.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..400 {
        let r = next();
        let mant = format!(
            "{}{}.{}",
            if r & 1 == 0 { "" } else { "-" },
            r % 1_000_000,
            (r >> 20) % 100_000
        );
        let exp = ((r >> 40) % 80) as i64 - 40;
        let arg = if (r >> 50) % 3 == 0 {
            mant
        } else {
            format!("{mant}e{exp}")
        };
        let key = format!("g:{}", (r >> 56) % 5);
        let cmd = if (r >> 60) % 2 == 0 {
            vec![b"INCRBYFLOAT".to_vec(), key.into_bytes(), arg.into_bytes()]
        } else {
            vec![
                b"HINCRBYFLOAT".to_vec(),
                format!("h{key}").into_bytes(),
                b"f".to_vec(),
                arg.into_bytes(),
            ]
        };
        cmds.push(cmd);
    }
    let mut e = Engine::new();
    for c in &cmds {
        let reply = s.cmd(c);
        let out = e.apply(c).unwrap();
        assert_eq!(
            matches!(reply, Reply::Error(_)),
            matches!(out, Outcome::Failed(_)),
            "{:?}: server {reply:?}, replay {out:?}",
            String::from_utf8_lossy(&c.join(&b' '))
        );
    }
    let entries: Vec<_> = e.dataset().entries().collect();
    assert_eq!(
        s.cmd(&["DBSIZE"]).int(),
        entries.len() as i64,
        "the same keys (no empty hash)"
    );
    for en in entries {
        match &en.value {
            Value::String(v) => {
                let got = s.cmd(&[b"GET".as_slice(), &en.key]).bytes();
                assert_eq!(
                    String::from_utf8_lossy(v),
                    String::from_utf8_lossy(&got),
                    "{}",
                    String::from_utf8_lossy(&en.key)
                );
            }
            Value::Hash(fields) => {
                assert_eq!(
                    s.cmd(&[b"HLEN".as_slice(), &en.key]).int(),
                    fields.len() as i64
                );
                for f in fields {
                    let got = s.cmd(&[b"HGET".as_slice(), &en.key, &f.field]).bytes();
                    assert_eq!(
                        String::from_utf8_lossy(&f.value),
                        String::from_utf8_lossy(&got),
                        "{} {}",
                        String::from_utf8_lossy(&en.key),
                        String::from_utf8_lossy(&f.field)
                    );
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        s.cmd(&["GET", "f:big"]).bytes(),
        b"1000000000000000000024696061952"
    );
    assert_eq!(s.cmd(&["EXISTS", "h:inf"]).int(), 0);
}
