//! The loader rules of the hash types with field TTLs, case by case against
//! the real servers: Valkey 9's type 22 (`HASH_2`, `VALKEY080`, FORMATS.md
//! §8.2.2) and Redis' types 24 (`HASH_METADATA`) and 25 (`HASH_LISTPACK_EX`,
//! RDB 12/13). Each case is a small file with one crafted record (records that
//! break a rule, and valid edge cases that must pass); our `check-rdb` verdict
//! must be the verdict of the real server loading the file and of its checker
//! (the server binary started as `valkey-check-rdb` / `redis-check-rdb`).
//! The two files of `testdata/rdb/hash2-*` are the regression of a damaged
//! Valkey file whose salvage kept a type-22 record that had swallowed the next
//! key (its last "expire time" was the next key's bytes, below -1).

use crate::common;

use std::path::Path;

use redis_persist::io::crc64;
use redis_persist::rdb::writer::{Listpack, put_len, put_string};

const VALKEY: &str = "valkey-9.1.2";
const REDIS: [&str; 2] = ["redis-8.0.6", "redis-8.6.3"];
/// 2030-01-01 in Unix ms: a field TTL that has not passed.
const FUTURE: i64 = 1_893_456_000_000;
/// Redis' `EB_EXPIRE_TIME_MAX` (2^48 - 1).
const EB_MAX: u64 = (1 << 48) - 1;

fn finish(mut b: Vec<u8>) -> Vec<u8> {
    b.push(0xff);
    let c = crc64(&b);
    b.extend_from_slice(&c.to_le_bytes());
    b
}

/// A file of `magic` with `SELECTDB 0`, the record `ty key body`, a string key
/// after it (so that a record reading too far swallows a real key), and EOF.
fn file(magic: &[u8], ty: u8, body: &[u8]) -> Vec<u8> {
    let mut b = magic.to_vec();
    b.extend_from_slice(&[0xfe, 0]);
    b.push(ty);
    put_string(&mut b, b"h", None);
    b.extend_from_slice(body);
    b.push(0);
    put_string(&mut b, b"next", None);
    put_string(&mut b, b"value", None);
    finish(b)
}

/// A type-22 body: `count`, then (field, value, ms64 expire) per entry.
fn hash2(count: u64, entries: &[(&[u8], &[u8], i64)]) -> Vec<u8> {
    let mut b = Vec::new();
    put_len(&mut b, count);
    for (f, v, e) in entries {
        put_string(&mut b, f, None);
        put_string(&mut b, v, None);
        b.extend_from_slice(&e.to_le_bytes());
    }
    b
}

/// A type-24 body: ms64 `min`, `count`, then (len ttl, field, value).
fn hash_metadata(min: u64, count: u64, entries: &[(u64, &[u8], &[u8])]) -> Vec<u8> {
    let mut b = min.to_le_bytes().to_vec();
    put_len(&mut b, count);
    for (ttl, f, v) in entries {
        put_len(&mut b, *ttl);
        put_string(&mut b, f, None);
        put_string(&mut b, v, None);
    }
    b
}

/// A listpack-ex entry: field, value, and a TTL that is an integer entry
/// (0 = none) or, with `Err`, a string entry.
type LpExEntry<'a> = (&'a [u8], &'a [u8], Result<i64, &'a [u8]>);

/// A type-25 body: ms64 `min`, then a listpack of (field, value, TTL).
fn listpack_ex(min: u64, entries: &[LpExEntry<'_>]) -> Vec<u8> {
    let mut lp = Listpack::new();
    for (f, v, t) in entries {
        lp.push_str(f);
        lp.push_str(v);
        match t {
            Ok(i) => lp.push_int(*i),
            Err(s) => lp.push_str(s),
        }
    }
    let mut b = min.to_le_bytes().to_vec();
    put_string(&mut b, &lp.finish(), None);
    b
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.rdb"));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Our verdict: `check-rdb` exits 0, and its output.
fn ours(p: &Path) -> (bool, String) {
    let o = common::run(&["check-rdb", &p.display().to_string()]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

/// The real server's verdicts on `p`: its checker, loading it at start, and
/// loading it with `sanitize-dump-payload yes` (the deep checks of listpacks
/// and duplicate fields, which the checker always makes).
fn theirs(version: &str, checker: &Path, p: &Path) -> (bool, bool, bool) {
    let c = std::process::Command::new(checker)
        .arg(p)
        .output()
        .unwrap()
        .status
        .success();
    let server = common::servers::server_bin(version).expect("checked by the caller");
    let l = common::salvage_servers::load(&server, p).is_ok();
    let deep = common::RedisServer::try_start_bin(
        &server,
        &["--sanitize-dump-payload", "yes"],
        &[(p, "dump.rdb")],
    )
    .is_ok();
    (c, l, deep)
}

/// Runs every case against `version`: ours must equal the server's checker
/// and its deep load, and (`shallow_too`) its default load; `want` is the
/// verdict the rules predict (so a case that stops testing what it names
/// fails too).
fn run_cases(
    version: &str,
    checker_name: &str,
    shallow_too: bool,
    cases: &[(&str, bool, Vec<u8>)],
) {
    let Some((_tmp, checker)) = common::servers::checker(version, checker_name) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (name, want, bytes) in cases {
        let p = write(dir.path(), name, bytes);
        let (o, text) = ours(&p);
        let (c, l, deep) = theirs(version, &checker, &p);
        if o != deep || o != c || o != *want || (shallow_too && o != l) {
            failures.push(format!(
                "{version} {name}: ours {o}, {checker_name} {c}, server load {l}, \
                 sanitized load {deep}, expected {want}\n{text}"
            ));
        }
    }
    common::assert_no_failures(&failures);
}

#[test]
fn valkey_hash2_rules_agree_with_valkey_9() {
    let ok: &[u8] = b"v";
    let cases: Vec<(&str, bool, Vec<u8>)> = vec![
        (
            "valid",
            true,
            hash2(2, &[(b"a", ok, FUTURE), (b"b", ok, -1)]),
        ),
        (
            "expire-minus-2",
            false,
            hash2(2, &[(b"a", ok, -1), (b"b", ok, -2)]),
        ),
        ("expire-i64-min", false, hash2(1, &[(b"a", ok, i64::MIN)])),
        (
            "expire-0-past",
            true,
            hash2(2, &[(b"a", ok, 0), (b"b", ok, -1)]),
        ),
        ("all-expired", true, hash2(1, &[(b"a", ok, 1)])),
        ("expire-i64-max", true, hash2(1, &[(b"a", ok, i64::MAX)])),
        (
            "empty-field-ttl",
            true,
            hash2(2, &[(b"", ok, FUTURE), (b"b", ok, -1)]),
        ),
        ("empty-value", true, hash2(1, &[(b"a", b"", FUTURE)])),
        (
            "duplicate-field",
            false,
            hash2(2, &[(b"a", ok, -1), (b"a", ok, FUTURE)]),
        ),
        (
            "duplicate-field-ttls",
            false,
            hash2(2, &[(b"a", ok, FUTURE), (b"a", b"w", FUTURE)]),
        ),
        (
            "count-too-small",
            false,
            hash2(1, &[(b"a", ok, -1), (b"b", ok, -1)]),
        ),
        // One entry short: the loader reads the next key (type 0, "next",
        // "value" and 8 bytes of what follows) as the last entry.
        ("count-one-too-large", false, hash2(2, &[(b"a", ok, -1)])),
        ("truncated-expire", false, {
            let mut b = hash2(1, &[(b"a", ok, -1)]);
            b.truncate(b.len() - 3);
            b
        }),
        ("integer-field", true, {
            // Field "7" stored as an INT8-encoded string.
            let mut b = Vec::new();
            put_len(&mut b, 1);
            b.extend_from_slice(&[0xc0, 7]);
            put_string(&mut b, ok, None);
            b.extend_from_slice(&FUTURE.to_le_bytes());
            b
        }),
        (
            "many-fields",
            true,
            hash2(
                300,
                &(0..300)
                    .map(|i| (format!("f{i}").into_bytes(), i))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(|(f, i)| (f.as_slice(), ok, if i % 2 == 0 { -1 } else { FUTURE }))
                    .collect::<Vec<_>>(),
            ),
        ),
    ];
    let cases: Vec<(&str, bool, Vec<u8>)> = cases
        .into_iter()
        .map(|(n, w, body)| (n, w, file(b"VALKEY080", 22, &body)))
        .collect();
    run_cases(VALKEY, "valkey-check-rdb", true, &cases);
}

#[test]
fn redis_field_ttl_rules_agree_with_redis_8() {
    let ok: &[u8] = b"v";
    let m = FUTURE as u64;
    let many: Vec<(Vec<u8>, u64)> = (0..200u64)
        .map(|i| (format!("f{i}").into_bytes(), i % 2))
        .collect();
    let cases: Vec<(&str, bool, u8, Vec<u8>)> = vec![
        (
            "24-valid",
            true,
            24,
            hash_metadata(m, 2, &[(1, b"a", ok), (0, b"b", ok)]),
        ),
        (
            "24-min-invalid-marker",
            true,
            24,
            hash_metadata(EB_MAX + 1, 1, &[(0, b"a", ok)]),
        ),
        (
            "24-min-too-large",
            false,
            24,
            hash_metadata(EB_MAX + 2, 1, &[(0, b"a", ok)]),
        ),
        (
            "24-expire-too-large",
            false,
            24,
            hash_metadata(m, 1, &[(EB_MAX, b"a", ok)]),
        ),
        (
            "24-expire-max",
            true,
            24,
            hash_metadata(1, 1, &[(EB_MAX, b"a", ok)]),
        ),
        (
            "24-ttl-below-min",
            true,
            24,
            hash_metadata(m, 2, &[(1, b"a", ok), (1, b"b", ok)]),
        ),
        (
            "24-empty-field",
            true,
            24,
            hash_metadata(m, 1, &[(1, b"", ok)]),
        ),
        (
            "24-all-expired",
            true,
            24,
            hash_metadata(1, 1, &[(1, b"a", ok)]),
        ),
        // One entry short: the next key (type 0 = TTL "none", "next",
        // "value") reads as a valid last entry; no loader can tell.
        (
            "24-count-one-too-large",
            true,
            24,
            hash_metadata(m, 2, &[(1, b"a", ok)]),
        ),
        // One entry too many: it reads as the string key "b" (TTL 0 is
        // the string type byte).
        (
            "24-count-too-small",
            true,
            24,
            hash_metadata(m, 1, &[(1, b"a", ok), (0, b"b", ok)]),
        ),
        (
            "24-duplicate-field-small",
            false,
            24,
            hash_metadata(m, 2, &[(1, b"a", ok), (0, b"a", ok)]),
        ),
        (
            "24-duplicate-field-hashtable",
            false,
            24,
            hash_metadata(
                m,
                201,
                &many
                    .iter()
                    .map(|(f, t)| (*t, f.as_slice(), ok))
                    .chain([(1, b"f0".as_slice(), ok)])
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "25-valid",
            true,
            25,
            listpack_ex(m, &[(b"a", ok, Ok(FUTURE)), (b"b", ok, Ok(0))]),
        ),
        (
            "25-ttl-negative",
            false,
            25,
            listpack_ex(m, &[(b"a", ok, Ok(-5))]),
        ),
        (
            "25-ttl-too-large",
            false,
            25,
            listpack_ex(m, &[(b"a", ok, Ok(EB_MAX as i64 + 1))]),
        ),
        (
            "25-ttl-string",
            false,
            25,
            listpack_ex(m, &[(b"a", ok, Err(b"x"))]),
        ),
        (
            "25-duplicate-field",
            false,
            25,
            listpack_ex(m, &[(b"a", ok, Ok(FUTURE)), (b"a", ok, Ok(FUTURE))]),
        ),
        (
            "25-empty-field",
            true,
            25,
            listpack_ex(m, &[(b"", ok, Ok(FUTURE))]),
        ),
        (
            "25-stale-min",
            true,
            25,
            listpack_ex(0, &[(b"a", ok, Ok(FUTURE))]),
        ),
    ];
    for version in REDIS {
        let magic = if version == "redis-8.0.6" {
            b"REDIS0012"
        } else {
            b"REDIS0013"
        };
        let cases: Vec<(&str, bool, Vec<u8>)> = cases
            .iter()
            .map(|(n, w, ty, body)| (*n, *w, file(magic, *ty, body)))
            .collect();
        // Redis' default load checks listpacks shallowly and hashes of
        // type 24 not at all for duplicates (8.0.6 loads a hash with a
        // field twice, HLEN counting both): we follow its deep checks.
        run_cases(version, "redis-check-rdb", false, &cases);
    }
}

/// The salvaged file Valkey refuses, and the damaged file it came from: our
/// verdicts are Valkey's, and the salvaged one is refused at the record that
/// swallowed the next key, naming the rule.
#[test]
fn salvaged_hash2_regression() {
    let Some((_tmp, checker)) = common::servers::checker(VALKEY, "valkey-check-rdb") else {
        return;
    };
    for name in [
        "hash2-salvaged-refused-by-valkey.rdb",
        "hash2-damaged-input.rdb",
    ] {
        let p = common::testdata(&format!("rdb/{name}"));
        let (o, text) = ours(&p);
        let (c, l, deep) = theirs(VALKEY, &checker, &p);
        assert!(!c && !l && !deep, "{name}: Valkey accepts it");
        assert!(!o, "{name}: we accept what Valkey refuses:\n{text}");
    }
    let p = common::testdata("rdb/hash2-salvaged-refused-by-valkey.rdb");
    let (_, text) = ours(&p);
    assert!(text.contains("hash:hsetex:large"), "{text}");
    assert!(
        text.contains("invalid field expire time -3992579607055302528"),
        "{text}"
    );
}

/// Each field TTL belongs to the field read with it, also for the empty
/// field name and integer-encoded fields: what we decode is what Valkey 9
/// holds after loading the file (`HGETALL`, `HPEXPIRETIME`).
#[test]
fn hash2_field_ttls_stay_on_their_fields() {
    let Some(bin) = common::servers::server_bin(VALKEY) else {
        return;
    };
    let mut body = hash2(3, &[(b"", b"v1", FUTURE), (b"b", b"v2", -1)]);
    // Field "7" as an INT8-encoded string, with its own TTL.
    body.extend_from_slice(&[0xc0, 7]);
    put_string(&mut body, b"", None);
    body.extend_from_slice(&(FUTURE + 1).to_le_bytes());
    let bytes = file(b"VALKEY080", 22, &body);
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "fields", &bytes);

    let mut ours = std::collections::BTreeMap::new();
    let mut entries = redis_persist::rdb::Entries::new(redis_persist::rdb::Reader::new(
        redis_persist::io::Source::new(&bytes[..]).with_size(bytes.len() as u64),
    ));
    while let Some(e) = entries.next_entry().unwrap() {
        if let (b"h", redis_persist::model::Value::Hash(fields)) = (e.key.as_slice(), e.value) {
            for f in fields {
                ours.insert(f.field, (f.value, f.expire_ms.unwrap_or(-1)));
            }
        }
    }

    let mut s = common::RedisServer::start_bin(&bin, &[], &[(&p, "dump.rdb")]);
    let mut theirs = std::collections::BTreeMap::new();
    let all = s.cmd(&["HGETALL", "h"]).array();
    for pair in all.chunks(2) {
        let field = pair[0].bytes();
        let ttl = s.cmd(&[b"HPEXPIRETIME".as_slice(), b"h", b"FIELDS", b"1", &field]);
        theirs.insert(field, (pair[1].bytes(), ttl.array()[0].int()));
    }
    assert_eq!(ours.len(), 3, "{ours:?}");
    assert_eq!(ours, theirs);
}

/// The same rules in DUMP payloads (version 80): our decoder and Valkey 9's
/// `RESTORE` accept and refuse the same type-22 values.
#[test]
fn hash2_payload_rules_agree_with_valkey_restore() {
    let Some(bin) = common::servers::server_bin(VALKEY) else {
        return;
    };
    let ok: &[u8] = b"v";
    let cases: Vec<(&str, bool, Vec<u8>)> = vec![
        (
            "valid",
            true,
            hash2(2, &[(b"a", ok, FUTURE), (b"", ok, -1)]),
        ),
        ("expire-minus-2", false, hash2(1, &[(b"a", ok, -2)])),
        (
            "expire-i64-min",
            false,
            hash2(2, &[(b"a", ok, -1), (b"b", ok, i64::MIN)]),
        ),
        (
            "duplicate-field",
            false,
            hash2(2, &[(b"a", ok, -1), (b"a", ok, -1)]),
        ),
        (
            "past-expire",
            true,
            hash2(2, &[(b"a", ok, 5), (b"b", ok, -1)]),
        ),
    ];
    let mut s = common::RedisServer::start_bin(&bin, &[], &[]);
    let mut failures = Vec::new();
    for (i, (name, want, body)) in cases.iter().enumerate() {
        let p = redis_persist::rdb::payload::encode(22, body, 80);
        let o = redis_persist::rdb::payload::decode(&p, true);
        let key = format!("k{i}");
        let r = s.cmd(&[b"RESTORE".as_slice(), key.as_bytes(), b"0", &p]);
        let theirs = matches!(r, common::Reply::Status(_));
        if o.is_ok() != theirs || theirs != *want {
            failures.push(format!(
                "{name}: ours {o:?}, RESTORE {r:?}, expected {want}"
            ));
        }
    }
    common::assert_no_failures(&failures);
}
