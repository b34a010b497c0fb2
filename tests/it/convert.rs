//! `convert-aof-to-hybrid` on hand-made and corpus edge-case inputs: what is
//! converted (and to what) and what is refused (exit 1, nothing written), the
//! output layout and names, the RDB version choice, `--force`, atomicity (a
//! crash before the final rename leaves OUTPUT absent or untouched), and that
//! the input is never modified.

use crate::common;
use crate::convert_support;

use std::path::{Path, PathBuf};

use convert_support::{
    base_of, convert, convert_paths, dir_names, expect_exit, manifest, read_rdb, snapshot,
};
use redis_persist::model::Value;
use serde_json::Value as J;

fn resp(cmds: &[&[&str]]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in cmds {
        out.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
        for a in *c {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Keys of db `db` in an RDB, sorted.
fn keys(rdb: &Path, db: u64) -> Vec<String> {
    let mut k: Vec<String> = read_rdb(rdb)
        .entries
        .iter()
        .filter(|e| e.db == db)
        .map(|e| String::from_utf8_lossy(&e.key).into_owned())
        .collect();
    k.sort();
    k
}

fn json_of(out: &std::process::Output) -> J {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn resp_file_becomes_a_redis7_directory() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "appendonly.aof",
        &resp(&[
            &["SET", "foo", "bar"],
            &["RPUSH", "l", "a", "b"],
            &["SELECT", "3"],
            &["SET", "k3", "v", "PXAT", "4102444800000"],
        ]),
    );
    let before = snapshot(&input);
    let out = dir.path().join("appendonlydir");
    let o = convert_paths(&input, &out, &[]);
    expect_exit(&o, 0, "convert");
    assert_eq!(snapshot(&input), before, "input modified");
    assert_eq!(
        dir_names(&out),
        [
            "appendonly.aof.1.base.rdb",
            "appendonly.aof.1.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    let (text, _) = manifest(&out, "appendonly.aof");
    assert_eq!(
        text,
        b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    assert_eq!(
        std::fs::metadata(out.join("appendonly.aof.1.incr.aof"))
            .unwrap()
            .len(),
        0
    );
    let base = out.join("appendonly.aof.1.base.rdb");
    let rdb = read_rdb(&base);
    assert_eq!(rdb.version, 10, "default version without an RDB part");
    assert_eq!(rdb.aux.get("aof-base").map(String::as_str), Some("1"));
    assert_eq!(rdb.end, std::fs::metadata(&base).unwrap().len());
    assert_eq!(keys(&base, 0), ["foo", "l"]);
    let k3 = rdb.entries.iter().find(|e| e.db == 3).unwrap();
    assert_eq!(k3.expire_ms, Some(4_102_444_800_000));
    // No temporary left beside the output.
    assert_eq!(dir_names(dir.path()), ["appendonly.aof", "appendonlydir"]);
}

#[test]
fn multi_part_numbering_continues_like_bgrewriteaof() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in");
    std::fs::create_dir(&src).unwrap();
    write(&src, "x.aof.4.base.aof", &resp(&[&["SET", "a", "1"]]));
    write(&src, "x.aof.6.incr.aof", &resp(&[&["SET", "b", "2"]]));
    write(&src, "x.aof.9.incr.aof", &resp(&[&["DEL", "a"]]));
    write(
        &src,
        "x.aof.manifest",
        b"file x.aof.4.base.aof seq 4 type b\nfile x.aof.6.incr.aof seq 6 type i\nfile x.aof.9.incr.aof seq 9 type i\n",
    );
    let out = dir.path().join("out");
    expect_exit(&convert_paths(&src, &out, &[]), 0, "convert");
    let (text, _) = manifest(&out, "x.aof");
    assert_eq!(
        text,
        b"file x.aof.5.base.rdb seq 5 type b\nfile x.aof.10.incr.aof seq 10 type i\n"
    );
    assert_eq!(keys(&out.join("x.aof.5.base.rdb"), 0), ["b"]);
    // --appendfilename renames the set.
    let out2 = dir.path().join("out2");
    expect_exit(
        &convert_paths(
            &src.join("x.aof.manifest"),
            &out2,
            &["--appendfilename", "my aof"],
        ),
        0,
        "convert --appendfilename",
    );
    let (text, m) = manifest(&out2, "my aof");
    assert_eq!(
        text,
        b"file \"my aof.5.base.rdb\" seq 5 type b\nfile \"my aof.10.incr.aof\" seq 10 type i\n"
    );
    assert_eq!(m.base().unwrap().name, b"my aof.5.base.rdb");
    assert!(out2.join("my aof.10.incr.aof").is_file());
}

#[test]
fn single_file_output_holds_the_preamble() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "in.aof",
        &resp(&[&["SET", "a", "1"], &["SADD", "s", "x", "y"]]),
    );
    let out = dir.path().join("appendonly.aof");
    expect_exit(
        &convert_paths(&input, &out, &["--single-file", "--rdb-version", "9"]),
        0,
        "convert",
    );
    let rdb = read_rdb(&out);
    assert_eq!(rdb.version, 9);
    // The layout Redis 4-6 read: aux aof-preamble, nothing after the trailer.
    assert_eq!(rdb.aux.get("aof-preamble").map(String::as_str), Some("1"));
    assert_eq!(rdb.end, std::fs::metadata(&out).unwrap().len());
    assert_eq!(keys(&out, 0), ["a", "s"]);
    // The check-aof of this tool agrees it is a valid hybrid AOF.
    let c = common::run(&["check-aof", out.to_str().unwrap()]);
    assert_eq!(c.status.code(), Some(0), "{c:?}");
}

#[test]
fn rdb_version_follows_the_input_and_what_the_dataset_needs() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // An RDB 12 base: the default follows it.
    let prop = corpus.join("edge-cases/aof-propagation/appendonlydir");
    let out = dir.path().join("p");
    // Before the propagation fixture's TTLs pass (it was written at 1795485246).
    let o = convert_paths(&prop, &out, &["--now", "1795485246000", "--json"]);
    expect_exit(&o, 0, "propagation");
    let j = json_of(&o);
    assert_eq!(j["rdb_version"], 12);
    assert_eq!(j["rdb_version_source"], "input");
    let rdb = read_rdb(&base_of(&out, "appendonly.aof"));
    assert_eq!(rdb.version, 12);
    assert_eq!(rdb.aux.get("aof-base").map(String::as_str), Some("1"));
    // What the README says the INCR file leaves (FLUSHDB ran after most writes).
    assert_eq!(keys(&base_of(&out, "appendonly.aof"), 1), ["indb1"]);
    let k0 = keys(&base_of(&out, "appendonly.aof"), 0);
    for k in ["m1", "m2", "m3"] {
        assert!(k0.iter().any(|x| x == k), "{k0:?}");
    }
    // An explicit version wins.
    let o = convert_paths(
        &prop,
        &dir.path().join("p10"),
        &["--now", "1795485246000", "--rdb-version", "10"],
    );
    expect_exit(&o, 0, "propagation as RDB 10");
    assert_eq!(
        read_rdb(&base_of(&dir.path().join("p10"), "appendonly.aof")).version,
        10
    );

    // No RDB part: 10 by default, raised to 12 for hash field TTLs, with a note.
    let input = write(
        dir.path(),
        "ttl.aof",
        &resp(&[
            &["HSET", "h", "f", "v", "g", "w"],
            &["HPEXPIREAT", "h", "4102444800000", "FIELDS", "1", "f"],
        ]),
    );
    let o = convert_paths(&input, &dir.path().join("t"), &["--json"]);
    expect_exit(&o, 0, "field TTLs");
    let j = json_of(&o);
    assert_eq!(j["rdb_version"], 12);
    assert!(
        j["rdb_version_note"]
            .as_str()
            .unwrap()
            .contains("hash field TTLs")
    );
    let rdb = read_rdb(&base_of(&dir.path().join("t"), "appendonly.aof"));
    match &rdb.entries[0].value {
        Value::Hash(h) => {
            let f = h.iter().find(|f| f.field == b"f").unwrap();
            assert_eq!(f.expire_ms, Some(4_102_444_800_000));
        }
        other => panic!("{other:?}"),
    }
    // Asking for RDB 10 cannot hold them: exit 1, nothing written.
    let out10 = dir.path().join("t10");
    let o = convert_paths(&input, &out10, &["--rdb-version", "10"]);
    expect_exit(&o, 1, "rdb 10 with field TTLs");
    assert!(String::from_utf8_lossy(&o.stderr).contains("hash field TTLs"));
    assert!(!out10.exists());
    assert!(!dir_names(dir.path()).iter().any(|n| n.starts_with('.')));

    // Function libraries need RDB 10.
    let input = write(
        dir.path(),
        "fn.aof",
        &resp(&[&[
            "FUNCTION",
            "LOAD",
            "#!lua name=lib\nredis.register_function('f', function() return 1 end)",
        ]]),
    );
    let o = convert_paths(&input, &dir.path().join("f9"), &["--rdb-version", "9"]);
    expect_exit(&o, 1, "functions in RDB 9");
    assert!(!dir.path().join("f9").exists());
    let o = convert_paths(&input, &dir.path().join("f"), &["--json"]);
    expect_exit(&o, 0, "functions");
    assert_eq!(json_of(&o)["functions"], 1);
    assert_eq!(
        read_rdb(&base_of(&dir.path().join("f"), "appendonly.aof"))
            .functions
            .len(),
        1
    );
}

#[test]
fn unsupported_command_stops_with_its_offset_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let head = resp(&[&["SET", "a", "1"], &["SELECT", "2"]]);
    let mut bytes = head.clone();
    bytes.extend(resp(&[&["EVAL", "redis.call('set','x','1')", "0"]]));
    bytes.extend(resp(&[&["SET", "b", "1"]]));
    let input = write(dir.path(), "in.aof", &bytes);
    let out = dir.path().join("out");
    let o = convert_paths(&input, &out, &[]);
    expect_exit(&o, 1, "EVAL");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("at byte {}", head.len())), "{err}");
    assert!(err.contains("EVAL") && err.contains("in.aof"), "{err}");
    assert!(err.contains("Lua"), "{err}");
    assert!(!out.exists());
    assert_eq!(dir_names(dir.path()), ["in.aof"]);
    // --json: the same failure as a document.
    let o = convert_paths(&input, &out, &["--json"]);
    expect_exit(&o, 1, "EVAL --json");
    let j = json_of(&o);
    assert_eq!(j["ok"], false);
    assert_eq!(j["error"]["code"], "unsupported-command");
    assert_eq!(j["error"]["offset"], head.len());
    assert!(!out.exists());
}

#[test]
fn database_beyond_the_configured_number_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "in.aof",
        &resp(&[&["SELECT", "20"], &["SET", "a", "1"]]),
    );
    let o = convert_paths(&input, &dir.path().join("o"), &[]);
    expect_exit(&o, 1, "select 20");
    assert!(String::from_utf8_lossy(&o.stderr).contains("database 20"));
    let o = convert_paths(&input, &dir.path().join("o"), &["--databases", "32"]);
    expect_exit(&o, 0, "--databases 32");
    assert_eq!(
        keys(&base_of(&dir.path().join("o"), "appendonly.aof"), 20),
        ["a"]
    );
}

/// The single-file fixtures of the corpus: what Redis does with each (the
/// edge-cases README) against what we do. `Some(keys)`: converted, db 0 holds
/// these keys. `None`: refused with exit 1.
#[test]
fn corpus_single_file_edge_cases() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let cases: &[(&str, Option<&[&str]>)] = &[
        ("valid.aof", Some(&["bar", "foo"])),
        ("empty.aof", Some(&[])),
        ("timestamps.aof", Some(&["foo1", "foo2", "foo3"])),
        ("spop.aof", Some(&["set"])),
        ("hybrid-valid.aof", Some(&["k1", "k2", "k3"])),
        // Truncated tails: dropped, as the server does (aof-load-truncated yes).
        ("truncated-tail.aof", Some(&["foo"])),
        ("unterminated-multi.aof", Some(&["foo"])),
        ("truncated-inside-multi.aof", Some(&["a"])),
        ("timestamp-then-truncated.aof", Some(&["a"])),
        ("hybrid-truncated-tail.aof", Some(&["k1", "k2", "k3"])),
        // PEXPIREAT in the past: gone after loading.
        ("past-expire.aof", Some(&[])),
        // The server refuses these.
        ("garbage-tail.aof", None),
        ("hybrid-garbage-tail.aof", None),
        ("hybrid-rdb-truncated.aof", None),
        ("inline-command.aof", None),
        ("lf-only-after-bulk.aof", None),
        ("negative-argc.aof", None),
        ("zero-argc.aof", None),
        ("negative-bulk-len.aof", None),
        ("unknown-command.aof", None),
        // The server loads these, check-aof does not accept them: refused
        // (repair with check-aof --fix first).
        ("bad-bytes-after-bulk.aof", None),
        ("exec-without-multi.aof", None),
        ("junk-after-argc.aof", None),
        ("nested-multi.aof", None),
        // SELECT 99 with 16 databases: refused rather than misplacing keys.
        ("runtime-errors.aof", None),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, want) in cases {
        let input = corpus.join("edge-cases/aof-single").join(name);
        let before = snapshot(&input);
        let out = dir.path().join(name);
        let o = convert_paths(&input, &out, &["--json"]);
        assert_eq!(snapshot(&input), before, "{name}: input modified");
        let j = json_of(&o);
        if let Some(k) = want {
            expect_exit(&o, 0, name);
            assert_eq!(j["ok"], true);
            assert_eq!(keys(&base_of(&out, "appendonly.aof"), 0), *k, "{name}");
            let truncated = name.contains("truncated") || name.contains("unterminated");
            assert_eq!(j["truncated_tail"].is_object(), truncated, "{name}: {j}");
            // --strict refuses the truncated ones.
            let o = convert_paths(&input, &dir.path().join("strict"), &["--strict"]);
            expect_exit(&o, i32::from(truncated), name);
            let _ = std::fs::remove_dir_all(dir.path().join("strict"));
        } else {
            expect_exit(&o, 1, name);
            assert_eq!(j["ok"], false);
            assert!(j["error"]["message"].as_str().unwrap().len() > 10);
            assert!(!out.exists(), "{name}: output written");
        }
    }
    // --keep-expired keeps the key whose PEXPIREAT is in the past.
    let out = dir.path().join("keep");
    let input = corpus.join("edge-cases/aof-single/past-expire.aof");
    expect_exit(&convert_paths(&input, &out, &["--keep-expired"]), 0, "keep");
    let rdb = read_rdb(&base_of(&out, "appendonly.aof"));
    assert_eq!(rdb.entries.len(), 1);
    assert_eq!(rdb.entries[0].expire_ms, Some(1000));
    // ... and so does a reference time before it.
    let out = dir.path().join("early");
    expect_exit(&convert_paths(&input, &out, &["--now", "999"]), 0, "now");
    assert_eq!(keys(&base_of(&out, "appendonly.aof"), 0), ["list"]);
    // The database-count refusal is lifted by --databases.
    let out = dir.path().join("dbs");
    let input = corpus.join("edge-cases/aof-single/runtime-errors.aof");
    let o = convert_paths(&input, &out, &["--databases", "100", "--json"]);
    expect_exit(&o, 0, "--databases 100");
    // INCR of a non-integer and LPUSH on a string fail and are ignored.
    assert_eq!(json_of(&o)["commands_failed"], 2);
}

#[test]
fn corpus_multi_part_edge_cases() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    // (case, Some((keys in db 0, output base seq, incr seq))) or None = refused.
    type Case<'a> = (&'a str, Option<(&'a [&'a str], i64, i64)>);
    let cases: &[Case] = &[
        ("valid", Some((&["k1", "k2"], 2, 2))),
        ("rdb-base", Some((&["k1", "k2", "k3"], 2, 2))),
        ("all-empty", Some((&[], 2, 2))),
        ("empty-incr", Some((&["k1"], 2, 2))),
        ("base-listed-last", Some((&["k1", "k2"], 2, 2))),
        ("comment-lines", Some((&["k1", "k2"], 2, 2))),
        ("crlf-lines", Some((&["k1", "k2"], 2, 2))),
        ("extra-key-value", Some((&["k1", "k2"], 2, 2))),
        ("type-as-word", Some((&["k1", "k2"], 2, 2))),
        ("negative-base-seq", Some((&["k1", "k2"], 1, 2))),
        ("quoted-name", Some((&["k2"], 1, 2))),
        ("uppercase-keys", Some((&["k2"], 1, 2))),
        ("comment-only", Some((&[], 1, 1))),
        ("history-only", Some((&[], 1, 1))),
        ("truncated-last-incr", Some((&["k1", "k2"], 2, 2))),
        ("truncated-base", None),
        ("base-unterminated-multi", None),
        ("missing-incr", None),
        ("blank-line", None),
        ("duplicate-base", None),
        ("empty-manifest", None),
        ("junk-line", None),
        ("missing-seq", None),
        ("no-final-newline", None),
        ("non-monotonic-incr", None),
        ("odd-token-count", None),
        ("path-in-name", None),
        ("seq-zero", None),
        ("too-long-line", None),
        ("unknown-type", None),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (case, want) in cases {
        let input = corpus
            .join("edge-cases/aof-multipart")
            .join(case)
            .join("appendonlydir");
        let before = snapshot(&input);
        let out = dir.path().join(case);
        let o = convert_paths(&input, &out, &[]);
        assert_eq!(snapshot(&input), before, "{case}: input modified");
        if let Some((k, b, i)) = want {
            expect_exit(&o, 0, case);
            let (_, m) = manifest(&out, "appendonly.aof");
            assert_eq!(m.base().unwrap().seq, *b, "{case}");
            assert_eq!(m.incrs().next().unwrap().seq, *i, "{case}");
            assert_eq!(keys(&base_of(&out, "appendonly.aof"), 0), *k, "{case}");
        } else {
            expect_exit(&o, 1, case);
            assert!(!out.exists(), "{case}: output written");
        }
    }
    assert_eq!(
        dir_names(dir.path()).len(),
        cases.iter().filter(|c| c.1.is_some()).count(),
        "temporaries left behind"
    );
}

#[test]
fn existing_output_needs_force_and_only_aof_directories_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.aof", &resp(&[&["SET", "new", "1"]]));
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    write(&out, "appendonly.aof.manifest", b"file x seq 1 type i\n");
    write(&out, "x", b"old");
    // Without --force: exit 2, untouched.
    let o = convert_paths(&input, &out, &[]);
    expect_exit(&o, 2, "exists");
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(dir_names(&out), ["appendonly.aof.manifest", "x"]);
    // "x" is not an AOF-looking file: even --force refuses.
    let o = convert_paths(&input, &out, &["--force"]);
    expect_exit(&o, 2, "not an AOF dir");
    assert_eq!(dir_names(&out), ["appendonly.aof.manifest", "x"]);
    // An AOF directory is replaced with --force.
    std::fs::remove_file(out.join("x")).unwrap();
    write(&out, "appendonly.aof.7.incr.aof", b"");
    let o = convert_paths(&input, &out, &["--force"]);
    expect_exit(&o, 0, "--force");
    assert_eq!(keys(&base_of(&out, "appendonly.aof"), 0), ["new"]);
    assert!(!out.join("appendonly.aof.7.incr.aof").exists());
    assert_eq!(dir_names(dir.path()), ["in.aof", "out"]);
    // A file OUTPUT: --single-file replaces it with --force only.
    let f = write(dir.path(), "f.aof", b"old");
    expect_exit(
        &convert_paths(&input, &f, &["--single-file"]),
        2,
        "file exists",
    );
    assert_eq!(std::fs::read(&f).unwrap(), b"old");
    expect_exit(
        &convert_paths(&input, &f, &["--single-file", "--force"]),
        0,
        "file --force",
    );
    assert_eq!(keys(&f, 0), ["new"]);
    // --single-file never replaces a directory, a directory output never a file.
    expect_exit(
        &convert_paths(&input, &out, &["--single-file", "--force"]),
        2,
        "dir as file",
    );
    expect_exit(&convert_paths(&input, &f, &["--force"]), 2, "file as dir");
    assert_eq!(keys(&f, 0), ["new"]);
}

#[test]
fn output_may_not_be_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("appendonlydir");
    std::fs::create_dir(&src).unwrap();
    write(
        &src,
        "appendonly.aof.1.incr.aof",
        &resp(&[&["SET", "a", "1"]]),
    );
    write(
        &src,
        "appendonly.aof.manifest",
        b"file appendonly.aof.1.incr.aof seq 1 type i\n",
    );
    let before = snapshot(&src);
    let o = convert_paths(&src, &src, &["--force"]);
    expect_exit(&o, 2, "in place");
    assert!(String::from_utf8_lossy(&o.stderr).contains("input"));
    let f = src.join("appendonly.aof.1.incr.aof");
    let o = convert_paths(&f, &f, &["--force", "--single-file"]);
    expect_exit(&o, 2, "file in place");
    assert_eq!(snapshot(&src), before);
    // Standard input cannot be replayed.
    let o = convert(&["-", "-o", dir.path().join("x").to_str().unwrap()]);
    expect_exit(&o, 2, "stdin");
    // A missing input is exit 2 too.
    let o = convert_paths(&dir.path().join("nope"), &dir.path().join("x"), &[]);
    expect_exit(&o, 2, "missing");
    assert_eq!(dir_names(dir.path()), ["appendonlydir"]);
}

/// A crash after everything is written but before the rename leaves OUTPUT
/// absent (or, with --force, the old OUTPUT intact); a crash between the two
/// renames of a --force directory replacement leaves the old directory aside.
#[test]
fn crash_before_install_leaves_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.aof", &resp(&[&["SET", "new", "1"]]));
    let out = dir.path().join("out");
    let run = |extra: &[&str], step: &str| {
        let (i, o) = (input.display().to_string(), out.display().to_string());
        let mut args = vec![
            "--no-progress",
            "convert-aof-to-hybrid",
            i.as_str(),
            "-o",
            o.as_str(),
        ];
        args.extend_from_slice(extra);
        common::bin()
            .args(&args)
            .env("REDIS_PERSIST_TEST_CONVERT_FAULT", step)
            .output()
            .unwrap()
    };
    let o = run(&[], "before-install");
    assert!(!o.status.success());
    assert!(!out.exists());
    // The complete temporary is there (a crash leaves it), nothing else.
    let names = dir_names(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
    let tmp = dir
        .path()
        .join(names.iter().find(|n| n.starts_with(".out.")).unwrap());
    assert_eq!(keys(&base_of(&tmp, "appendonly.aof"), 0), ["new"]);
    std::fs::remove_dir_all(&tmp).unwrap();

    // With --force over an existing output: the old one stays as it was.
    std::fs::create_dir(&out).unwrap();
    write(&out, "old.aof", b"*1\r\n$4\r\nPING\r\n");
    let o = run(&["--force"], "before-install");
    assert!(!o.status.success());
    assert_eq!(dir_names(&out), ["old.aof"]);
    for n in dir_names(dir.path()) {
        if n.starts_with(".out.") {
            std::fs::remove_dir_all(dir.path().join(n)).unwrap();
        }
    }
    let o = run(&["--force"], "after-aside");
    assert!(!o.status.success());
    assert!(!out.exists());
    let aside = dir_names(dir.path())
        .into_iter()
        .find(|n| n.starts_with(".out.") && n.ends_with("old"))
        .unwrap();
    assert_eq!(dir_names(&dir.path().join(aside)), ["old.aof"]);
}
