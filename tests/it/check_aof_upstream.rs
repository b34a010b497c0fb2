//! The AOF scenarios of `UPSTREAM-TEST-CASES.md` (§1.2 `redis-check-aof` runs C1–C17
//! and the checker column of §2.1 M1–M15), each with its documented outcome. Where
//! `redis-check-aof` is installed, the same inputs are also given to it and the
//! numbers compared (except C10, which the Debian 7.0.15 checker gets wrong: it
//! takes any file with a line starting with `file` for a manifest).

use crate::aof_support;
use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use aof_support::{backups, check_json, parse_analyzed, r, redis_check_aof_bin, rs, run_upstream};
use serde_json::Value;

const MAN_I: &str = "file appendonly.aof.1.incr.aof seq 1 type i\n";
const MAN_BI: &str =
    "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";

fn set_foo_hello() -> Vec<u8> {
    rs("set foo hello")
}

fn set_bar_world() -> Vec<u8> {
    rs("set bar world")
}

fn minus_last(mut v: Vec<u8>) -> Vec<u8> {
    v.pop();
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The C4 file: annotations between commands (179 bytes).
fn c4() -> Vec<u8> {
    cat(&[
        b"#TS:1628217470\r\n",
        &rs("set foo1 bar1"),
        b"#TS:1628217471\r\n",
        &rs("set foo2 bar2"),
        b"#TS:1628217472\r\n",
        b"#TS:1628217473\r\n",
        &rs("set foo3 bar3"),
        b"#TS:1628217474\r\n",
    ])
}

/// A directory `appendonlydir` with the given files.
fn aofdir(files: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("appendonlydir");
    fs::create_dir(&dir).unwrap();
    for (n, b) in files {
        fs::write(dir.join(n), b).unwrap();
    }
    (tmp, dir)
}

fn file<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v:#}"))
}

fn upstream_numbers(f: &Value) -> (u64, u64, u64) {
    let u = &f["redis_check_aof"];
    (
        u["ok_up_to"].as_u64().unwrap(),
        u["ok_up_to_line"].as_u64().unwrap(),
        u["diff"].as_u64().unwrap(),
    )
}

/// Cross-checks our numbers with the real `redis-check-aof` on a copy of `dir`
/// (`target` is the manifest or file name inside it).
fn cross_check(dir: &Path, target: &str, ours: &Value) {
    let Some(bin) = redis_check_aof_bin() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    aof_support::copy_dir(dir, tmp.path());
    let out = run_upstream(&bin, tmp.path(), &[target], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    for a in parse_analyzed(&text) {
        let f = file(ours, &a.filename);
        assert_eq!(
            upstream_numbers(f),
            (a.ok_up_to, a.ok_up_to_line, a.diff),
            "{target}: {text}"
        );
    }
    let valid = out.status.code() == Some(0);
    let ours_valid = ours["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["redis_check_aof"]["diff"] == 0 || f["redis_check_aof"].is_null());
    if ours["manifest"]["ok"] != false
        && !ours["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["missing"] == true)
    {
        assert_eq!(valid, ours_valid, "{target}: {text}\n{ours:#}");
    }
}

#[test]
fn c1_c2_c3_truncated_and_garbage_tails() {
    // C1
    let (_t, dir) = aofdir(&[
        ("appendonly.aof.manifest", MAN_I.as_bytes()),
        (
            "appendonly.aof.1.incr.aof",
            &cat(&[&set_foo_hello(), &minus_last(set_bar_world())]),
        ),
    ]);
    let (code, v) = check_json(&dir.join("appendonly.aof.manifest"), &[]);
    assert_eq!(code, 1);
    let f = file(&v, "appendonly.aof.1.incr.aof");
    assert_eq!(upstream_numbers(f), (33, 14, 32));
    assert!(
        f["redis_check_aof"]["error"]
            .as_str()
            .unwrap()
            .ends_with("              3b: Expected to read 7 bytes, got 6 bytes")
    );
    cross_check(&dir, "appendonly.aof.manifest", &v);

    // C2
    let (_t, dir) = aofdir(&[
        ("appendonly.aof.manifest", MAN_I.as_bytes()),
        (
            "appendonly.aof.1.incr.aof",
            &cat(&[&set_foo_hello(), b"!!!"]),
        ),
    ]);
    let m = dir.join("appendonly.aof.manifest");
    let (code, v) = check_json(&m, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        upstream_numbers(file(&v, "appendonly.aof.1.incr.aof")),
        (33, 8, 3)
    );
    cross_check(&dir, "appendonly.aof.manifest", &v);

    // C3b (ours): no confirmation → nothing changes.
    let (code, _) = check_json(&m, &["--fix"]);
    assert_eq!(code, 1);
    assert_eq!(
        fs::metadata(dir.join("appendonly.aof.1.incr.aof"))
            .unwrap()
            .len(),
        36
    );

    // C3: --fix → 33 bytes, exit 0; then the server loads it with
    // aof-load-truncated no: foo = hello, bar absent.
    let (code, v) = check_json(&m, &["--fix", "--yes"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        fs::metadata(dir.join("appendonly.aof.1.incr.aof"))
            .unwrap()
            .len(),
        33
    );
    assert_eq!(backups(&dir).len(), 1);
    let files: Vec<(PathBuf, String)> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().contains(".bak-"))
        .map(|e| {
            (
                e.path(),
                format!("appendonlydir/{}", e.file_name().to_string_lossy()),
            )
        })
        .collect();
    let refs: Vec<(&Path, &str)> = files
        .iter()
        .map(|(p, n)| (p.as_path(), n.as_str()))
        .collect();
    if let Some(mut s) = common::RedisServer::start_with(
        &[
            "--appendonly",
            "yes",
            "--appenddirname",
            "appendonlydir",
            "--aof-load-truncated",
            "no",
        ],
        &refs,
    ) {
        assert_eq!(
            s.cmd(&["GET", "foo"]),
            common::Reply::Bulk(Some(b"hello".to_vec()))
        );
        assert_eq!(s.cmd(&["GET", "bar"]), common::Reply::Bulk(None));
    }
}

#[test]
fn c4_to_c8b_truncate_to_timestamp() {
    let (_t, dir) = aofdir(&[
        ("appendonly.aof.manifest", MAN_I.as_bytes()),
        ("appendonly.aof.1.incr.aof", &c4()),
    ]);
    let m = dir.join("appendonly.aof.manifest");
    let incr = dir.join("appendonly.aof.1.incr.aof");
    let full = c4();
    assert_eq!(full.len(), 179);
    // C4: valid.
    let (code, v) = check_json(&m, &[]);
    assert_eq!(code, 0);
    assert_eq!(file(&v, "appendonly.aof.1.incr.aof")["annotations"], 5);
    // C8b: nothing after 1628217474.
    let (code, v) = check_json(&m, &["--truncate-to-timestamp", "1628217474", "--yes"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["fix"], Value::Null);
    assert_eq!(fs::read(&incr).unwrap(), full);
    // C5, C6, C7: successive cuts (each with a backup of what it cut).
    for (ts, size) in [("1628217473", 163), ("1628217471", 98), ("1628217470", 49)] {
        let (code, v) = check_json(&m, &["--truncate-to-timestamp", ts, "--yes"]);
        assert_eq!(code, 0, "{ts}: {v:#}");
        assert_eq!(v["fix"]["reason"], "timestamp");
        assert_eq!(fs::read(&incr).unwrap(), full[..size], "{ts}");
    }
    assert_eq!(backups(&dir).len(), 3);
    // C8: nothing before 1628217469 → refused, unchanged.
    let (code, v) = check_json(&m, &["--truncate-to-timestamp", "1628217469", "--yes"]);
    assert_eq!(code, 1);
    assert_eq!(v["refused"]["code"], "nothing-before-timestamp");
    assert_eq!(fs::read(&incr).unwrap(), full[..49]);
}

#[test]
fn c9_c10_c11_single_files() {
    let tmp = tempfile::tempdir().unwrap();
    // C9
    let p = tmp.path().join("appendonly.aof.1.incr.aof");
    fs::write(&p, cat(&[&set_foo_hello(), &set_bar_world()])).unwrap();
    let (code, v) = check_json(&p, &[]);
    assert_eq!(code, 0);
    assert_eq!(v["layout"], "single");
    assert_eq!(upstream_numbers(&v["files"][0]), (66, 15, 0));
    // C10: RESP whose payload looks like manifest lines is still an AOF.
    let line: &[u8] = b"file appendonly.aof.2.base.rdb seq 2 type b";
    fs::write(&p, cat(&[&rs("set file file"), &r(&[b"set", line, line])])).unwrap();
    let (code, v) = check_json(&p, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["layout"], "single");
    assert_eq!(upstream_numbers(&v["files"][0]), (146, 15, 0));
    // C11
    let Some(corpus) = common::corpus() else {
        return;
    };
    let pre = corpus.join("upstream/redis/rdb-preamble.aof");
    let (code, v) = check_json(&pre, &[]);
    assert_eq!(code, 0);
    let f = &v["files"][0];
    assert_eq!(upstream_numbers(f), (169, 13, 0));
    assert_eq!(f["format"], "rdb-preamble");
    assert_eq!(f["rdb"]["keys"], 2);
    assert_eq!(f["resp_start"], 117);
}

#[test]
fn c12_c13_base_and_incr() {
    let both = cat(&[&set_foo_hello(), &set_bar_world()]);
    let (_t, dir) = aofdir(&[
        ("appendonly.aof.manifest", MAN_BI.as_bytes()),
        ("appendonly.aof.1.base.aof", &both),
        ("appendonly.aof.1.incr.aof", &both),
    ]);
    let (code, v) = check_json(&dir.join("appendonly.aof.manifest"), &[]);
    assert_eq!(code, 0);
    assert_eq!(
        upstream_numbers(file(&v, "appendonly.aof.1.base.aof")),
        (66, 15, 0)
    );
    assert_eq!(
        upstream_numbers(file(&v, "appendonly.aof.1.incr.aof")),
        (66, 29, 0)
    );
    cross_check(&dir, "appendonly.aof.manifest", &v);

    let Some(corpus) = common::corpus() else {
        return;
    };
    let pre = fs::read(corpus.join("upstream/redis/rdb-preamble.aof")).unwrap();
    let (_t, dir) = aofdir(&[
        ("appendonly.aof.manifest", MAN_BI.as_bytes()),
        ("appendonly.aof.1.base.aof", &pre),
        ("appendonly.aof.1.incr.aof", &both),
    ]);
    let (code, v) = check_json(&dir, &[]);
    assert_eq!(code, 0);
    let base = file(&v, "appendonly.aof.1.base.aof");
    assert_eq!(base["format"], "rdb-preamble");
    assert_eq!(upstream_numbers(base), (169, 13, 0));
    assert_eq!(
        upstream_numbers(file(&v, "appendonly.aof.1.incr.aof")),
        (66, 27, 0)
    );
    cross_check(&dir, "appendonly.aof.manifest", &v);
}

#[test]
fn c14_c15_c16_c17_manifest_junk_and_damaged_base() {
    // C14
    let both = cat(&[&set_foo_hello(), &set_bar_world()]);
    let man = format!("{MAN_BI}!!!\n");
    let (_t, dir) = aofdir(&[
        ("appendonly.aof.manifest", man.as_bytes()),
        ("appendonly.aof.1.base.aof", &both),
        ("appendonly.aof.1.incr.aof", &both),
    ]);
    let (code, v) = check_json(&dir, &[]);
    assert_eq!(code, 1);
    let p = &v["manifest"]["problems"][0];
    assert_eq!(p["code"], "manifest-invalid-format");
    assert_eq!(p["line"], 3);
    assert!(p["message"].as_str().unwrap().contains("'!!!'"));

    // C15
    let base = cat(&[&set_foo_hello(), &rs("multi"), &set_bar_world()]);
    let (_t, dir) = aofdir(&[
        ("appendonly.aof.manifest", MAN_BI.as_bytes()),
        ("appendonly.aof.1.base.aof", &base),
        ("appendonly.aof.1.incr.aof", &both),
    ]);
    let (code, v) = check_json(&dir, &[]);
    assert_eq!(code, 1);
    let b = file(&v, "appendonly.aof.1.base.aof");
    assert_eq!(upstream_numbers(b), (33, 18, 48));
    assert!(
        b["redis_check_aof"]["error"]
            .as_str()
            .unwrap()
            .ends_with("4a: Reached EOF before reading EXEC for MULTI")
    );
    cross_check(&dir, "appendonly.aof.manifest", &v);

    // C16: --fix refuses a damaged file that is not the last one.
    let (code, v) = check_json(&dir, &["--fix", "--yes"]);
    assert_eq!(code, 1);
    assert_eq!(v["refused"]["code"], "damaged-non-last-file");
    assert!(
        v["refused"]["explanation"]
            .as_str()
            .unwrap()
            .contains("not the last file")
    );
    assert_eq!(
        fs::read(dir.join("appendonly.aof.1.base.aof")).unwrap(),
        base
    );
    assert!(backups(&dir).is_empty());
    // The same file given on its own (as redis-check-aof would take it): it is
    // still recognised as a non-last part of its manifest and not cut.
    let (code, v) = check_json(&dir.join("appendonly.aof.1.base.aof"), &["--fix", "--yes"]);
    assert_eq!(code, 1);
    assert_eq!(v["notes"][0]["code"], "part-of-manifest");
    assert_eq!(v["refused"]["code"], "damaged-non-last-file");
    assert_eq!(
        fs::read(dir.join("appendonly.aof.1.base.aof")).unwrap(),
        base
    );
    assert!(backups(&dir).is_empty());

    // C17: timestamp cut in a non-last file → refused.
    let (_t, dir) = aofdir(&[
        ("appendonly.aof.manifest", MAN_BI.as_bytes()),
        ("appendonly.aof.1.base.aof", &c4()),
        ("appendonly.aof.1.incr.aof", &both),
    ]);
    let (code, v) = check_json(&dir, &["--truncate-to-timestamp", "1628217473", "--yes"]);
    assert_eq!(code, 1);
    assert_eq!(v["refused"]["code"], "timestamp-in-non-last-file");
    assert!(
        v["refused"]["explanation"]
            .as_str()
            .unwrap()
            .contains("offset 163")
    );
    assert_eq!(
        fs::read(dir.join("appendonly.aof.1.base.aof")).unwrap(),
        c4()
    );
}

fn k(n: u32) -> Vec<u8> {
    rs(&format!("set k{n} v{n}"))
}

#[test]
fn m1_to_m15_manifests() {
    let man = |lines: &[&str]| lines.iter().fold(String::new(), |acc, l| acc + l + "\n");
    let b1 = "file appendonly.aof.1.base.aof seq 1 type b";
    let i1 = "file appendonly.aof.1.incr.aof seq 1 type i";
    let i2 = "file appendonly.aof.2.incr.aof seq 2 type i";
    let i3 = "file appendonly.aof.3.incr.aof seq 3 type i";
    // (case, manifest, files, expected manifest problem (code, line) or None)
    let long = vec![b1; 43].join(" ");
    type Case<'a> = (
        &'a str,
        String,
        Vec<(&'a str, Vec<u8>)>,
        Option<(&'a str, Option<u64>)>,
    );
    let cases: Vec<Case> = vec![
        (
            "M2",
            man(&[i2, i1]),
            vec![
                ("appendonly.aof.1.incr.aof", k(1)),
                ("appendonly.aof.2.incr.aof", k(2)),
            ],
            Some(("manifest-non-monotonic-seq", Some(2))),
        ),
        (
            "M3",
            man(&[i1, "", i3]),
            vec![
                ("appendonly.aof.1.incr.aof", k(1)),
                ("appendonly.aof.3.incr.aof", k(2)),
            ],
            Some(("manifest-invalid-format", Some(2))),
        ),
        (
            "M4",
            man(&[b1, "file appendonly.aof.2.base.aof seq 2 type b", i1]),
            vec![
                ("appendonly.aof.1.base.aof", k(1)),
                ("appendonly.aof.2.base.aof", k(2)),
                ("appendonly.aof.1.incr.aof", k(3)),
            ],
            Some(("manifest-duplicate-base", Some(2))),
        ),
        (
            "M5",
            man(&["file appendonly.aof.1.base.aof seq 1 type x", i1]),
            vec![
                ("appendonly.aof.1.base.aof", k(1)),
                ("appendonly.aof.1.incr.aof", k(3)),
            ],
            Some(("manifest-unknown-type", Some(1))),
        ),
        (
            "M6",
            man(&["filx appendonly.aof.1.base.aof seq 1 type b", i1]),
            vec![
                ("appendonly.aof.1.base.aof", k(1)),
                ("appendonly.aof.1.incr.aof", k(3)),
            ],
            Some(("manifest-invalid-format", Some(1))),
        ),
        (
            "M7",
            man(&[b1, "file appendonly.aof.1.incr.aof type i"]),
            vec![
                ("appendonly.aof.1.base.aof", k(1)),
                ("appendonly.aof.1.incr.aof", k(3)),
            ],
            Some(("manifest-invalid-format", Some(2))),
        ),
        (
            "M8",
            man(&[&long, i1]),
            vec![
                ("appendonly.aof.1.base.aof", k(1)),
                ("appendonly.aof.1.incr.aof", k(3)),
            ],
            Some(("manifest-line-too-long", None)),
        ),
        (
            "M9",
            man(&[b1, "file appendonly.aof.1.incr.aof seq 1 type i newkey"]),
            vec![
                ("appendonly.aof.1.base.aof", k(1)),
                ("appendonly.aof.1.incr.aof", k(3)),
            ],
            Some(("manifest-invalid-format", Some(2))),
        ),
        ("M10", String::new(), vec![], Some(("manifest-empty", None))),
    ];
    for (case, m, files, want) in cases {
        let mut all: Vec<(&str, &[u8])> = vec![("appendonly.aof.manifest", m.as_bytes())];
        all.extend(files.iter().map(|(n, b)| (*n, b.as_slice())));
        let (_t, dir) = aofdir(&all);
        let (code, v) = check_json(&dir, &[]);
        assert_eq!(code, 1, "{case}: {v:#}");
        let (want_code, want_line) = want.unwrap();
        let p = &v["manifest"]["problems"][0];
        assert_eq!(p["code"], want_code, "{case}: {v:#}");
        assert_eq!(p["line"].as_u64(), want_line, "{case}");
        // --fix never touches anything here.
        let (code, v) = check_json(&dir, &["--fix", "--yes"]);
        assert_eq!(code, 1, "{case}");
        assert!(
            v["refused"]["code"]
                .as_str()
                .unwrap()
                .starts_with("manifest-"),
            "{case}"
        );
        assert!(backups(&dir).is_empty());
        assert_eq!(
            fs::read(dir.join("appendonly.aof.manifest")).unwrap(),
            m.as_bytes()
        );
    }

    // M1: a listed INCR is missing.
    let (_t, dir) = aofdir(&[
        ("appendonly.aof.manifest", man(&[b1, i1, i2]).as_bytes()),
        ("appendonly.aof.1.base.aof", &k(1)),
        ("appendonly.aof.2.incr.aof", &k(2)),
    ]);
    let (code, v) = check_json(&dir, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        upstream_numbers(file(&v, "appendonly.aof.1.base.aof")),
        (29, 8, 0)
    );
    let missing = file(&v, "appendonly.aof.1.incr.aof");
    assert_eq!(missing["missing"], true);
    assert_eq!(missing["problems"][0]["code"], "missing-file");
    let (code, v) = check_json(&dir, &["--fix", "--yes"]);
    assert_eq!(
        (code, v["refused"]["code"].as_str()),
        (1, Some("missing-file"))
    );

    // M13, M14: gaps in INCR numbers and unknown key/value pairs are fine.
    for (case, base_line) in [
        ("M13", b1.to_owned()),
        ("M14", format!("{b1} newkey newvalue")),
    ] {
        let (_t, dir) = aofdir(&[
            (
                "appendonly.aof.manifest",
                man(&[&base_line, i1, i3]).as_bytes(),
            ),
            ("appendonly.aof.1.base.aof", &k(1)),
            ("appendonly.aof.1.incr.aof", &k(2)),
            ("appendonly.aof.3.incr.aof", &k(3)),
        ]);
        let (code, v) = check_json(&dir, &[]);
        assert_eq!(code, 0, "{case}: {v:#}");
        assert_eq!(
            upstream_numbers(file(&v, "appendonly.aof.1.base.aof")),
            (29, 8, 0)
        );
        assert_eq!(
            upstream_numbers(file(&v, "appendonly.aof.1.incr.aof")),
            (29, 15, 0)
        );
        assert_eq!(
            upstream_numbers(file(&v, "appendonly.aof.3.incr.aof")),
            (29, 22, 0)
        );
        cross_check(&dir, "appendonly.aof.manifest", &v);
    }
    // M15: an empty INCR in the middle.
    let (_t, dir) = aofdir(&[
        ("appendonly.aof.manifest", man(&[b1, i1, i3]).as_bytes()),
        ("appendonly.aof.1.base.aof", &k(1)),
        ("appendonly.aof.1.incr.aof", b""),
        ("appendonly.aof.3.incr.aof", &k(3)),
    ]);
    let (code, v) = check_json(&dir, &[]);
    assert_eq!(code, 0);
    assert_eq!(file(&v, "appendonly.aof.1.incr.aof")["size"], 0);
    assert_eq!(
        upstream_numbers(file(&v, "appendonly.aof.3.incr.aof")),
        (29, 15, 0)
    );
    cross_check(&dir, "appendonly.aof.manifest", &v);
}
