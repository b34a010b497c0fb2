//! "Unsupported is not corrupt" and no false alarms (issue 15), through the
//! CLI, on files built byte by byte: a newer RDB version, a type byte or opcode
//! a newer server may write (exit 3, `"kind": "unsupported"`, no advice to
//! restore a backup), and what the real loaders accept although it is unusual:
//! a stream stored longer than its live entries (Redis 5.0-era files), the
//! Redis 7.0 release-candidate function format, Redis Enterprise opcodes,
//! bytes after the checksum. Where Redis 7.0 (`/usr/bin/redis-server`,
//! `redis-check-rdb`) can say what it does with the file, it is asked.

use crate::common;

use std::path::{Path, PathBuf};

use redis_persist::io::crc64;
use redis_persist::rdb::writer::Listpack;
use serde_json::Value as J;

fn string(b: &mut Vec<u8>, s: &[u8]) {
    assert!(s.len() < 64);
    b.push(s.len() as u8);
    b.extend_from_slice(s);
}

/// `EOF` and the CRC-64 trailer.
fn finish(mut b: Vec<u8>) -> Vec<u8> {
    b.push(0xff);
    let c = crc64(&b);
    b.extend_from_slice(&c.to_le_bytes());
    b
}

/// A header and `SELECTDB 0`.
fn head(magic: &[u8]) -> Vec<u8> {
    let mut b = magic.to_vec();
    b.extend_from_slice(&[0xfe, 0]);
    b
}

/// A string key `k` = `v`.
fn string_key(b: &mut Vec<u8>, k: &[u8], v: &[u8]) {
    b.push(0);
    string(b, k);
    string(b, v);
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `check-rdb --json` on `paths`: exit code and document.
fn check_json(paths: &[&Path]) -> (i32, J) {
    let mut args = vec!["check-rdb", "--json"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let out = common::run(&args);
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code().unwrap(), doc)
}

/// `check-rdb` (human) on `path`: exit code and stdout.
fn check_human(path: &Path) -> (i32, String) {
    let out = common::run(&["check-rdb", path.to_str().unwrap()]);
    (out.status.code().unwrap(), text(&out.stdout))
}

/// Files a newer server may write: (name, bytes, what the problem says).
fn newer_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut v = Vec::new();
    v.push((
        "redis14.rdb",
        finish(b"REDIS0014".to_vec()),
        "unsupported RDB version 14",
    ));
    v.push((
        "valkey82.rdb",
        finish(b"VALKEY082".to_vec()),
        "unsupported RDB version 82",
    ));
    // Type 27 (Redis 8.8's next stream type) in an RDB 13 file, after a valid key.
    let mut b = head(b"REDIS0013");
    string_key(&mut b, b"a", b"1");
    b.push(27);
    string(&mut b, b"s");
    b.extend_from_slice(&[0; 8]);
    v.push(("type27.rdb", finish(b), "unsupported type byte 27"));
    // Type 23 (PATH_HASH, undocumented) in a Valkey 9.2 file.
    let mut b = head(b"VALKEY081");
    b.push(23);
    string(&mut b, b"p");
    b.extend_from_slice(&[0; 8]);
    v.push(("type23.rdb", finish(b), "unsupported type byte 23"));
    // An opcode in 0xF0..0xF2 of the newest version we know, where a newer
    // server's opcodes would go (in an older version it is damage).
    let mut b = head(b"REDIS0013");
    b.extend_from_slice(&[0xf1, 0]);
    v.push(("opcode-f1.rdb", finish(b), "unsupported opcode 0xf1"));
    v
}

#[test]
fn newer_versions_types_and_opcodes_are_unsupported_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, says) in newer_files() {
        let p = write(dir.path(), name, &bytes);
        let (code, doc) = check_json(&[&p]);
        assert_eq!(code, 3, "{name}: {doc:#}");
        let f = &doc["files"][0];
        assert_eq!(f["verdict"], "unsupported", "{name}");
        assert_eq!(f["unsupported"], true, "{name}");
        assert_eq!(f["ok"], false, "{name}");
        let problems = f["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 1, "{name}: {problems:?}");
        assert_eq!(problems[0]["kind"], "unsupported", "{name}");
        assert_eq!(problems[0]["severity"], "error", "{name}");
        let msg = problems[0]["message"].as_str().unwrap();
        assert!(msg.contains(says), "{name}: {msg}");
        let (code, human) = check_human(&p);
        assert_eq!(code, 3, "{name}");
        assert!(human.contains("UNSUPPORTED at byte"), "{name}: {human}");
        assert!(human.contains("newer server"), "{name}: {human}");
        assert!(!human.contains("INVALID"), "{name}: {human}");
        // dump and stats stop there too, with exit 3 and the same wording.
        for cmd in ["dump", "stats"] {
            let out = common::run(&[cmd, p.to_str().unwrap()]);
            assert_eq!(
                out.status.code(),
                Some(3),
                "{cmd} {name}: {}",
                text(&out.stderr)
            );
            let all = text(&out.stderr) + &text(&out.stdout);
            assert!(all.contains(says), "{cmd} {name}: {all}");
            assert!(all.contains("newer"), "{cmd} {name}: {all}");
        }
        let out = common::run(&["stats", "--json", p.to_str().unwrap()]);
        let doc: J = serde_json::from_slice(&out.stdout).unwrap();
        let kinds: Vec<&J> = doc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["kind"])
            .collect();
        assert_eq!(kinds, [&J::from("unsupported")], "stats {name}");
    }
}

#[test]
fn versions_no_server_writes_are_corrupt_not_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    for magic in [&b"REDIS0000"[..], b"VALKEY079"] {
        let p = write(dir.path(), "old.rdb", &finish(magic.to_vec()));
        let (code, doc) = check_json(&[&p]);
        assert_eq!(code, 1, "{doc:#}");
        let pr = &doc["files"][0]["problems"][0];
        assert_eq!(pr["kind"], "corrupt");
        assert!(
            pr["message"]
                .as_str()
                .unwrap()
                .contains("invalid RDB version"),
            "{pr}"
        );
    }
}

#[test]
fn corruption_wins_over_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    // A duplicate key (corrupt: the server refuses it), then type 27.
    let mut b = head(b"REDIS0013");
    string_key(&mut b, b"a", b"1");
    string_key(&mut b, b"a", b"2");
    b.push(27);
    string(&mut b, b"s");
    let both = write(dir.path(), "both.rdb", &finish(b));
    let (code, doc) = check_json(&[&both]);
    assert_eq!(code, 1, "{doc:#}");
    let f = &doc["files"][0];
    assert_eq!(f["verdict"], "corrupt");
    let kinds: Vec<&str> = f["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["corrupt", "unsupported"]);
    // Across files: a corrupt file gives 1, unsupported and valid files 3.
    let newer = write(dir.path(), "newer.rdb", &finish(b"REDIS0014".to_vec()));
    let mut b = head(b"REDIS0011");
    string_key(&mut b, b"k", b"v");
    let valid = write(dir.path(), "valid.rdb", &finish(b));
    assert_eq!(check_json(&[&valid, &newer]).0, 3);
    assert_eq!(check_json(&[&newer, &both, &valid]).0, 1);
    assert_eq!(check_json(&[&valid]).0, 0);
    // A missing file: 2 wins over everything.
    let missing = dir.path().join("missing.rdb");
    assert_eq!(check_json(&[&newer, &missing]).0, 2);
}

/// `*n` RESP command.
fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[test]
fn check_aof_does_not_advise_a_backup_for_a_newer_preamble_or_base() {
    let dir = tempfile::tempdir().unwrap();
    let tail = resp(&[b"SET", b"x", b"1"]);
    for (name, rdb, _) in newer_files() {
        // A hybrid single-file AOF whose preamble is a newer server's.
        let mut aof = rdb.clone();
        aof.extend_from_slice(&tail);
        let p = write(dir.path(), &format!("{name}.aof"), &aof);
        for json in [false, true] {
            let mut args = vec!["check-aof", p.to_str().unwrap()];
            if json {
                args.push("--json");
            }
            let out = common::run(&args);
            let all = text(&out.stdout) + &text(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{name}: {all}");
            assert!(!all.contains("backup"), "{name}: {all}");
            assert!(!all.contains("NOT VALID"), "{name}: {all}");
            assert!(all.contains("newer server"), "{name}: {all}");
            if json {
                let doc: J = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(doc["unsupported"], true, "{name}");
                assert_eq!(doc["ok"], false, "{name}");
            }
        }
        // --fix changes nothing.
        let out = common::run(&["check-aof", "--fix", "--yes", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
        assert_eq!(std::fs::read(&p).unwrap(), aof);
    }
    // A multi-part AOF whose base is a newer server's RDB.
    let md = dir.path().join("appendonlydir");
    std::fs::create_dir(&md).unwrap();
    let (_, rdb, _) = &newer_files()[2];
    std::fs::write(md.join("appendonly.aof.1.base.rdb"), rdb).unwrap();
    std::fs::write(md.join("appendonly.aof.1.incr.aof"), &tail).unwrap();
    std::fs::write(
        md.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    let out = common::run(&["check-aof", md.to_str().unwrap()]);
    let all = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(!all.contains("backup"), "{all}");
    assert!(all.contains("unsupported type byte 27"), "{all}");
    // A damaged preamble (a flipped value byte: checksum mismatch) still gets
    // the backup advice (exit 1).
    let mut bad = head(b"REDIS0011");
    string_key(&mut bad, b"k", b"v");
    let mut bad = finish(bad);
    let at = bad.len() - 10;
    bad[at] = b'w';
    bad.extend_from_slice(&tail);
    let p = write(dir.path(), "bad.aof", &bad);
    let out = common::run(&["check-aof", p.to_str().unwrap()]);
    let all = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("NOT VALID"), "{all}");
}

/// A Redis 5.0 (RDB 9) file with stream `s`: one node of 2 live entries and a
/// stored length of `length`.
fn stream_file(length: u8) -> Vec<u8> {
    let mut lp = Listpack::new();
    // Master entry: count, deleted, 1 field "f", terminator.
    lp.push_int(2);
    lp.push_int(0);
    lp.push_int(1);
    lp.push(b"f");
    lp.push_int(0);
    for (i, v) in [b"a", b"b"].iter().enumerate() {
        lp.push_int(2); // SAMEFIELDS
        lp.push_int(i as i64); // ms delta
        lp.push_int(0); // seq delta
        lp.push(*v);
        lp.push_int(4);
    }
    let lp = lp.finish();
    let mut b = head(b"REDIS0009");
    b.push(15);
    string(&mut b, b"s");
    b.push(1); // one node
    b.push(16);
    b.extend_from_slice(&redis_persist::model::StreamId::new(1000, 0).to_be_bytes());
    assert!(lp.len() < 64);
    b.push(lp.len() as u8);
    b.extend_from_slice(&lp);
    b.push(length);
    redis_persist::rdb::writer::put_len(&mut b, 1001); // last id ms
    b.push(0); // last id seq
    b.push(0); // no groups
    finish(b)
}

#[test]
fn a_stream_stored_longer_than_its_entries_is_a_warning_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "stream5.rdb", &stream_file(5));
    let (code, doc) = check_json(&[&p]);
    assert_eq!(code, 0, "{doc:#}");
    let f = &doc["files"][0];
    assert_eq!(
        (f["keys"].as_u64(), f["verdict"].as_str()),
        (Some(1), Some("ok"))
    );
    let pr = &f["problems"][0];
    assert_eq!(
        (pr["severity"].as_str(), pr["kind"].as_str()),
        (Some("warning"), Some("warning"))
    );
    assert_eq!(pr["key"], "s");
    assert!(
        pr["message"].as_str().unwrap().contains("stream length 5"),
        "{pr}"
    );
    // dump keeps the stored length; stats reads the file too.
    let out = common::run(&["dump", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line: J = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["value"]["length"], 5, "{line}");
    assert_eq!(line["value"]["entries"].as_array().unwrap().len(), 2);
    let out = common::run(&["stats", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // stats --deep (which validates the values as check-rdb does) gives the
    // same warning.
    let out = common::run(&["stats", "--deep", "--json", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: J = serde_json::from_slice(&out.stdout).unwrap();
    let pr = &doc["problems"][0];
    assert_eq!(
        (pr["severity"].as_str(), pr["kind"].as_str()),
        (Some("warning"), Some("warning"))
    );
    assert!(
        pr["message"].as_str().unwrap().contains("stream length 5"),
        "{pr}"
    );
    // Fewer stored than live is still an error.
    let p3 = write(dir.path(), "stream1.rdb", &stream_file(1));
    assert_eq!(check_json(&[&p3]).0, 1);
    // Redis 7.0 loads the file and XLEN answers the stored length.
    if let Some(mut srv) = common::RedisServer::with_rdb(&p) {
        assert_eq!(srv.cmd(&["XLEN", "s"]), common::Reply::Int(5));
        assert_eq!(srv.cmd(&["DBSIZE"]), common::Reply::Int(1));
    }
}

#[test]
fn zipmap_count_byte_must_be_254_or_the_real_count() {
    let dir = tempfile::tempdir().unwrap();
    let checker = common::redis_tool("redis-check-rdb");
    for (zmlen, ok) in [(1u8, true), (254, true), (255, false), (2, false)] {
        let zm = [zmlen, 1, b'f', 1, 0, b'v', 0xff];
        let mut b = head(b"REDIS0006");
        b.push(9);
        string(&mut b, b"h");
        string(&mut b, &zm);
        let p = write(dir.path(), &format!("zm{zmlen}.rdb"), &finish(b));
        let (code, doc) = check_json(&[&p]);
        assert_eq!(code, i32::from(!ok), "count byte {zmlen}: {doc:#}");
        if !ok {
            let pr = &doc["files"][0]["problems"][0];
            assert_eq!(pr["kind"], "corrupt");
            assert!(
                pr["message"]
                    .as_str()
                    .unwrap()
                    .contains("zipmap header says"),
                "{pr}"
            );
            assert_eq!(
                common::run(&["dump", p.to_str().unwrap()]).status.code(),
                Some(1)
            );
        }
        // redis-check-rdb 7.0 (zipmapValidateIntegrity, deep) agrees.
        if let Some(c) = &checker {
            let st = std::process::Command::new(c).arg(&p).output().unwrap();
            assert_eq!(
                st.status.success(),
                ok,
                "redis-check-rdb, count byte {zmlen}"
            );
        }
    }
}

#[test]
fn redis_7_0_rc_function_libraries_are_read_as_redis_7_0_loads_them() {
    let dir = tempfile::tempdir().unwrap();
    let code = b"redis.register_function('rcf', function() return 7 end)";
    let mut b = b"REDIS0010".to_vec();
    // FUNCTION_PRE_GA: name, engine, has-description 1, description, code.
    b.push(0xf6);
    string(&mut b, b"rclib");
    string(&mut b, b"LUA");
    b.push(1);
    string(&mut b, b"a library");
    b.push(0x40);
    b.push(code.len() as u8);
    b.extend_from_slice(code);
    b.extend_from_slice(&[0xfe, 0]);
    string_key(&mut b, b"k", b"v");
    let p = write(dir.path(), "rc.rdb", &finish(b));
    let (code_, doc) = check_json(&[&p]);
    assert_eq!(code_, 0, "{doc:#}");
    let f = &doc["files"][0];
    assert_eq!(
        (f["functions"].as_u64(), f["keys"].as_u64()),
        (Some(1), Some(1))
    );
    let pr = &f["problems"][0];
    assert_eq!(pr["severity"], "warning");
    assert!(
        pr["message"]
            .as_str()
            .unwrap()
            .contains("Redis 7.2 and later refuse"),
        "{pr}"
    );
    // The library as Redis 7.0 translates it: "#!<engine> name=<name>\n<code>".
    let out = common::run(&["dump", "--meta", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lib = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<J>(l).unwrap())
        .find(|j| j["record"] == "function")
        .expect("a function record");
    assert_eq!(
        (lib["engine"].as_str(), lib["library"].as_str()),
        (Some("LUA"), Some("rclib"))
    );
    let mut expected = b"#!LUA name=rclib\n".to_vec();
    expected.extend_from_slice(code);
    assert_eq!(lib["code"], text(&expected));
    // Redis 7.0 loads the file with that library.
    if let Some(mut srv) = common::RedisServer::with_rdb(&p) {
        assert_eq!(srv.cmd(&["FCALL", "rcf", "0"]), common::Reply::Int(7));
        assert_eq!(
            srv.cmd(&["GET", "k"]),
            common::Reply::Bulk(Some(b"v".to_vec()))
        );
    }
    // Redis 8.0 (like 7.2 and later, and Valkey) refuses it, as the warning says.
    if let Some((_tmp, c)) = common::servers::checker("redis-8.0.6", "redis-check-rdb") {
        let out = std::process::Command::new(&c).arg(&p).output().unwrap();
        assert!(!out.status.success(), "{}", text(&out.stdout));
        assert!(
            text(&out.stdout).contains("Pre-release function format not supported"),
            "{}",
            text(&out.stdout)
        );
    }
}

#[test]
fn redis_enterprise_opcodes_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = head(b"REDIS0009");
    // RAM_LRU (107) and SLOT_NUM (121), one length each, before keys.
    for k in [&b"a"[..], b"b"] {
        b.extend_from_slice(&[107, 0x41, 0x00, 121, 5]);
        string_key(&mut b, k, b"v");
    }
    let p = write(dir.path(), "ent.rdb", &finish(b));
    let (code, doc) = check_json(&[&p]);
    assert_eq!(code, 0, "{doc:#}");
    let f = &doc["files"][0];
    assert_eq!(f["keys"], 2);
    let msgs: Vec<&str> = f["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["severity"], "warning");
            p["message"].as_str().unwrap()
        })
        .collect();
    // One warning per opcode, at its first occurrence.
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[0].contains("opcode 107 (RAM_LRU)"), "{msgs:?}");
    assert!(msgs[1].contains("opcode 121 (SLOT_NUM)"), "{msgs:?}");
    assert_eq!(f["problems"][0]["offset"], 11);
    let out = common::run(&["dump", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 2);
}

#[test]
fn bytes_after_the_checksum_are_garbage_unless_they_are_commands() {
    let dir = tempfile::tempdir().unwrap();
    let mut rdb = head(b"REDIS0010");
    string_key(&mut rdb, b"k", b"v");
    let rdb = finish(rdb);
    let end = rdb.len() as u64;
    let mut garbage = rdb.clone();
    garbage.extend_from_slice(b"\x00\x01junk that is not RESP");
    let p = write(dir.path(), "garbage.rdb", &garbage);
    let (code, doc) = check_json(&[&p]);
    assert_eq!(code, 0, "{doc:#}");
    let f = &doc["files"][0];
    assert_eq!(
        (f["trailing_bytes"].as_u64(), f["trailing_resp"].as_bool()),
        (Some(23), Some(false))
    );
    let pr = &f["problems"][0];
    assert_eq!(
        (pr["severity"].as_str(), pr["offset"].as_u64()),
        (Some("warning"), Some(end))
    );
    assert!(
        pr["message"]
            .as_str()
            .unwrap()
            .contains("23 bytes of trailing garbage"),
        "{pr}"
    );
    let (_, human) = check_human(&p);
    assert!(human.contains("trailing garbage"), "{human}");
    assert!(!human.contains("check-aof"), "{human}");
    // Redis ignores them (hence a warning, not a problem).
    if let Some(c) = common::redis_tool("redis-check-rdb") {
        let out = std::process::Command::new(c).arg(&p).output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stdout));
    }
    // RESP commands: today's wording, no problem.
    let mut hybrid = rdb.clone();
    hybrid.extend_from_slice(&resp(&[b"SET", b"a", b"1"]));
    hybrid.extend_from_slice(&resp(&[b"DEL", b"a"]));
    let p = write(dir.path(), "hybrid.aof", &hybrid);
    let (code, doc) = check_json(&[&p]);
    assert_eq!(code, 0);
    let f = &doc["files"][0];
    assert_eq!(f["trailing_resp"], true);
    assert_eq!(f["problems"].as_array().unwrap().len(), 0);
    let (_, human) = check_human(&p);
    assert!(human.contains("check-aof"), "{human}");
    // A damaged command tail (garbage after commands, a cut command) is still
    // a hybrid AOF's: check-aof's business.
    let mut mixed = hybrid.clone();
    mixed.extend_from_slice(b"garbage");
    let mut cut = rdb.clone();
    cut.extend_from_slice(b"*2\r\n$3\r\nDEL");
    for (name, bytes) in [("mixed.aof", mixed), ("cut.aof", cut)] {
        let p = write(dir.path(), name, &bytes);
        let (code, doc) = check_json(&[&p]);
        assert_eq!(code, 0, "{name}");
        assert_eq!(doc["files"][0]["trailing_resp"], true, "{name}");
        assert_eq!(doc["files"][0]["problems"].as_array().unwrap().len(), 0);
    }
}

#[test]
fn slot_import_and_slot_info_are_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = b"VALKEY080".to_vec();
    b.push(0xf3);
    string(&mut b, b"0123456789abcdef0123456789abcdef01234567");
    b.extend_from_slice(&[2, 0x41, 0x40, 0x41, 0x40, 0x51, 0x61, 0x51, 0x61]);
    b.extend_from_slice(&[0xfe, 0]);
    b.extend_from_slice(&[0xf4, 0x41, 0x40, 1, 0]); // SLOT_INFO 320: 1 key, 0 expires
    string_key(&mut b, b"k", b"v");
    let p = write(dir.path(), "slots.rdb", &finish(b));
    let (code, doc) = check_json(&[&p]);
    assert_eq!(code, 0, "{doc:#}");
    let f = &doc["files"][0];
    assert_eq!(
        f["slot_info"],
        serde_json::json!({"records": 1, "keys": 1, "expires": 0})
    );
    assert_eq!(f["slot_import_count"], 1);
    let si = &f["slot_imports"][0];
    assert_eq!(si["job"], "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(si["ranges"], serde_json::json!([[320, 320], [4449, 4449]]));
    let (_, human) = check_human(&p);
    assert!(human.contains("slots 320-320,4449-4449"), "{human}");
    assert!(human.contains("SLOT_INFO records: 1 (1 keys"), "{human}");
}

/// The key `km:str` = `v` preceded by the `KEY_META` of FORMATS.md §8.1.3
/// (class `KMT2` version 3 `ALLOW_IGNORE`: STRING "meta-two", UINT 1, FLOAT
/// 1.5, STRING, EOF), in an RDB 13 file. Returns the file and the class data.
fn key_meta_file() -> (Vec<u8>, Vec<u8>) {
    let mut data = vec![5, 8];
    data.extend_from_slice(b"meta-two");
    data.extend_from_slice(&[2, 1, 3, 0x00, 0x00, 0xc0, 0x3f, 5, 9]);
    data.extend_from_slice(b"0xa.aap-5");
    data.push(0);
    let mut b = head(b"REDIS0013");
    b.extend_from_slice(&[0xf3, 1, 0x19, 0xf6, 0xc4, 0x28]);
    b.extend_from_slice(&data);
    string_key(&mut b, b"km:str", b"v");
    string_key(&mut b, b"plain", b"w");
    (finish(b), data)
}

#[test]
fn key_metadata_classes_are_reported_per_class_and_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, data) = key_meta_file();
    let p = write(dir.path(), "keymeta.rdb", &bytes);
    let (code, doc) = check_json(&[&p]);
    assert_eq!(code, 0, "{doc:#}");
    let f = &doc["files"][0];
    assert_eq!(f["keys"], 2);
    assert_eq!(
        f["key_meta"],
        serde_json::json!([{"class": "KMT2", "version": 3, "keys": 1}])
    );
    let (_, human) = check_human(&p);
    assert!(
        human.contains("key metadata (KEY_META) of class KMT2 version 3: on 1 keys"),
        "{human}"
    );
    // dump --meta: per key, class, version, flags and the raw class data.
    let out = common::run(&["dump", "--meta", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<J> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let km = lines.iter().find(|l| l["key"] == "km:str").unwrap();
    let hex = hex(&data);
    assert_eq!(
        km["key_meta"],
        serde_json::json!([{"class": "KMT2", "version": 3, "flags": 1, "raw": {"hex": hex}}])
    );
    let plain = lines.iter().find(|l| l["key"] == "plain").unwrap();
    assert!(plain.get("key_meta").is_none(), "{plain}");
    // Without --meta, key lines are unchanged.
    let out = common::run(&["dump", p.to_str().unwrap()]);
    assert!(!text(&out.stdout).contains("key_meta"));
    // Redis 8.6.3's checker (its loader in check mode) reads the file.
    if let Some((_tmp, c)) = common::servers::checker("redis-8.6.3", "redis-check-rdb") {
        let out = std::process::Command::new(&c).arg(&p).output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stdout));
        assert!(
            text(&out.stdout).contains("2 keys read"),
            "{}",
            text(&out.stdout)
        );
    }
}

#[test]
fn dump_meta_shows_slot_import_and_slot_info() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = b"VALKEY080".to_vec();
    b.push(0xf3);
    string(&mut b, b"0123456789abcdef0123456789abcdef01234567");
    b.extend_from_slice(&[1, 0x41, 0x40, 0x41, 0x40]);
    b.extend_from_slice(&[0xfe, 0]);
    b.extend_from_slice(&[0xf4, 0x41, 0x40, 1, 0]);
    string_key(&mut b, b"k", b"v");
    let p = write(dir.path(), "slots.rdb", &finish(b));
    let out = common::run(&["dump", "--meta", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<J> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let imp = lines.iter().find(|l| l["record"] == "slot_import").unwrap();
    assert_eq!(imp["job"], "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(imp["ranges"], serde_json::json!([[320, 320]]));
    let info = lines.iter().find(|l| l["record"] == "slot_info").unwrap();
    assert_eq!(
        (
            info["slot"].as_u64(),
            info["keys"].as_u64(),
            info["expires"].as_u64()
        ),
        (Some(320), Some(1), Some(0))
    );
    // The JSON document is unchanged by them, and still valid.
    let out = common::run(&["dump", "--format", "json", p.to_str().unwrap()]);
    let doc: J = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["keys"].as_array().unwrap().len(), 1);
}

/// A 9 MiB RDB 13 file (checked by several threads) with the records of this
/// issue spread through it: Enterprise opcodes, `KEY_META`, `SLOT_INFO`, a
/// stream stored longer than its entries, trailing garbage; with `dup`, a
/// duplicate key too (which sends the check to the walk-first way).
fn big_file(dup: bool) -> Vec<u8> {
    let mut b = head(b"REDIS0013");
    let value = vec![b'x'; 1000];
    for i in 0..9500u32 {
        if i % 1000 == 7 {
            b.extend_from_slice(&[0xf4, 0x41, 0x40, 1, 0]);
        }
        if i % 997 == 5 {
            b.extend_from_slice(&[107, 3, 121, 9]);
        }
        if i % 1500 == 3 {
            b.extend_from_slice(&[0xf3, 1, 0x19, 0xf6, 0xc4, 0x28, 2, 1, 0]);
        }
        b.push(0);
        let k = format!("key:{i}");
        string(&mut b, k.as_bytes());
        b.extend_from_slice(&[0x80, 0, 0, 3, 0xe8]);
        b.extend_from_slice(&value);
        if i == 4000 {
            // The stream of `stream_file` (5 stored, 2 live) as key "s".
            let s = stream_file(5);
            b.extend_from_slice(&s[11..s.len() - 9]);
        }
    }
    if dup {
        string_key(&mut b, b"key:1", b"again");
    }
    let mut b = finish(b);
    b.extend_from_slice(b"not RESP at all");
    b
}

#[test]
fn parallel_checks_report_what_the_walk_reports() {
    let dir = tempfile::tempdir().unwrap();
    for dup in [false, true] {
        let bytes = big_file(dup);
        assert!(bytes.len() > 9 << 20);
        let p = write(dir.path(), "big.rdb", &bytes);
        let run = |threads: &str| {
            let out = common::run(&[
                "check-rdb",
                "--json",
                "--threads",
                threads,
                p.to_str().unwrap(),
            ]);
            let mut doc: J = serde_json::from_slice(&out.stdout).unwrap();
            (out.status.code().unwrap(), doc["files"][0].take())
        };
        let (c1, one) = run("1");
        let (c3, three) = run("3");
        assert_eq!(one, three, "dup {dup}");
        assert_eq!((c1, c3), (i32::from(dup), i32::from(dup)));
        assert_eq!(one["keys"], 9501 + u64::from(dup));
        assert_eq!(one["slot_info"]["records"], 10);
        assert_eq!(
            one["key_meta"],
            serde_json::json!([{"class": "KMT2", "version": 3, "keys": 7}])
        );
        let warnings: Vec<&str> = one["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["severity"] == "warning")
            .map(|p| p["message"].as_str().unwrap())
            .collect();
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].contains("RAM_LRU"), "{warnings:?}");
        assert!(warnings[1].contains("SLOT_NUM"), "{warnings:?}");
        assert!(warnings[2].contains("stream length 5"), "{warnings:?}");
        assert!(
            warnings[3].contains("15 bytes of trailing garbage"),
            "{warnings:?}"
        );
    }
}

#[test]
fn convert_refuses_a_newer_servers_preamble_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let (_, rdb, says) = &newer_files()[2];
    let mut aof = rdb.clone();
    aof.extend_from_slice(&resp(&[b"SET", b"x", b"1"]));
    let p = write(dir.path(), "newer.aof", &aof);
    let outp = dir.path().join("out");
    let out = common::run(&[
        "convert-aof-to-hybrid",
        p.to_str().unwrap(),
        "-o",
        outp.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let doc: J = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["code"], "unsupported-rdb");
    assert!(doc["error"]["message"].as_str().unwrap().contains(says));
    assert_eq!(doc["written"], false);
    assert!(!outp.exists());
}
