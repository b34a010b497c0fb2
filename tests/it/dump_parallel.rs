//! `dump` on several threads over a mapped file, whose chunks are cut at
//! guessed record boundaries (`rdb::speculative::map_chunks_guessed`): the
//! output, the exit status and the error are those of `--threads 1`, on a
//! file built to exercise what guessing must get right: several databases
//! (a chunk's database is guessed, and read again when the guess was wrong),
//! a key too large to hold rendered (left by its worker to the writing
//! thread, which must still know where the chunk ends), hashtable aggregates
//! whose members look like records, and damage: a broken value only the full
//! reader sees, a broken record structure, a wrong checksum, a cut file.

use crate::common;

use std::process::Output;

use redis_persist::rdb::writer::put_len;

fn put_string(b: &mut Vec<u8>, s: &[u8]) {
    redis_persist::rdb::writer::put_string(b, s, None);
}

fn dump(path: &std::path::Path, args: &[&str]) -> Output {
    common::bin()
        .arg("dump")
        .arg(path)
        .args(args)
        .output()
        .expect("running redis-persist dump")
}

struct Built {
    bytes: Vec<u8>,
    /// Offset of the type byte of a set record in the middle of database 1.
    set_in_db1: usize,
    /// Offset of a string record's value bytes (plain, 40 bytes or more).
    plain_value: usize,
}

/// An RDB 11 file of about 40 MB: four databases, strings, sets written as
/// hashtables (members that read as records), expires, and one set whose
/// output passes 16 MiB.
fn build() -> Built {
    let mut b = b"REDIS0011".to_vec();
    let mut set_in_db1 = 0;
    let mut plain_value = 0;
    for (n, db) in [0u64, 3, 1, 7].into_iter().enumerate() {
        b.push(0xfe);
        put_len(&mut b, db);
        b.push(0xfb);
        put_len(&mut b, 30_001);
        put_len(&mut b, 3_000);
        for i in 0..30_000u32 {
            if i % 10 == 0 {
                b.push(0xfc);
                b.extend_from_slice(&(4_102_444_800_000u64 + u64::from(i)).to_le_bytes());
            }
            if i % 3 == 0 {
                if n == 2 && i == 15_000 {
                    set_in_db1 = b.len();
                }
                b.push(2);
                put_string(&mut b, format!("set:{db}:{i}").as_bytes());
                put_len(&mut b, 12);
                for j in 0..12u32 {
                    // Members starting with type and length bytes.
                    let m = [&[(j % 5) as u8, 4][..], format!("m{j}:{i}").as_bytes()].concat();
                    put_string(&mut b, &m);
                }
            } else {
                b.push(0);
                put_string(&mut b, format!("str:{db}:{i}").as_bytes());
                let v = vec![b'a' + (i % 26) as u8; 40 + (i % 300) as usize];
                if n == 1 && i == 20_000 {
                    // Past the key and the value's length byte(s).
                    plain_value = b.len() + 3;
                }
                put_string(&mut b, &v);
            }
        }
        if db == 3 {
            // About 18 MB of output: rendered by the writing thread.
            b.push(2);
            put_string(&mut b, b"huge");
            put_len(&mut b, 400_000);
            for j in 0..400_000u32 {
                put_string(&mut b, format!("member-{j:0>30}").as_bytes());
            }
        }
    }
    b.push(0xff);
    let crc = redis_persist::io::crc64(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    Built {
        bytes: b,
        set_in_db1,
        plain_value,
    }
}

fn with_crc(mut b: Vec<u8>) -> Vec<u8> {
    let n = b.len() - 8;
    let crc = redis_persist::io::crc64(&b[..n]);
    b[n..].copy_from_slice(&crc.to_le_bytes());
    b
}

/// `dump` with 1, 2 and 3 threads: the same stdout, exit status and stderr.
fn same_on_every_thread_count(name: &str, path: &std::path::Path, args: &[&str]) -> Output {
    let run = |t: &str| {
        let mut a = args.to_vec();
        a.extend_from_slice(&["--threads", t]);
        dump(path, &a)
    };
    let one = run("1");
    for t in ["2", "3"] {
        let other = run(t);
        assert_eq!(
            other.status.code(),
            one.status.code(),
            "{name} {args:?} --threads {t}: exit status (stderr: {})",
            String::from_utf8_lossy(&other.stderr)
        );
        assert!(
            other.stdout == one.stdout,
            "{name} {args:?} --threads {t}: output differs ({} vs {} bytes)",
            other.stdout.len(),
            one.stdout.len()
        );
        assert_eq!(
            String::from_utf8_lossy(&other.stderr),
            String::from_utf8_lossy(&one.stderr),
            "{name} {args:?} --threads {t}: stderr"
        );
    }
    one
}

#[test]
fn guessed_chunks_dump_as_one_thread_does() {
    let built = build();
    assert!(built.bytes.len() > 30 << 20, "{} bytes", built.bytes.len());
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };

    let whole = write("whole.rdb", &built.bytes);
    for fmt in ["jsonl", "resp"] {
        let out = same_on_every_thread_count("whole", &whole, &["--format", fmt]);
        assert_eq!(out.status.code(), Some(0));
        if fmt == "jsonl" {
            let lines = out.stdout.split(|&c| c == b'\n').filter(|l| !l.is_empty());
            let (mut keys, mut dbs) = (0, std::collections::BTreeSet::new());
            for l in lines {
                let j: serde_json::Value = serde_json::from_slice(l).unwrap();
                if let Some(db) = j.get("db").and_then(serde_json::Value::as_u64) {
                    keys += 1;
                    dbs.insert(db);
                }
            }
            assert_eq!(keys, 4 * 30_000 + 1);
            assert_eq!(dbs.into_iter().collect::<Vec<_>>(), [0, 1, 3, 7]);
        }
    }
    // A filter on the database: chunks read with a wrong guess would keep or
    // drop the wrong keys.
    same_on_every_thread_count("whole", &whole, &["--db", "1"]);

    // A set with a duplicate member (only the full reader sees it), CRC
    // fixed: everything before it, then the error.
    let mut dup = built.bytes.clone();
    let at = built.set_in_db1;
    let key_len = usize::from(dup[at + 1]);
    let first = at + 2 + key_len + 1; // the first member's length byte
    let len = usize::from(dup[first]) + 1;
    let second = first + len;
    let m: Vec<u8> = dup[first..first + len].to_vec();
    dup[second..second + len].copy_from_slice(&m);
    let dup = write("dup.rdb", &with_crc(dup));
    let out = same_on_every_thread_count("duplicate member", &dup, &[]);
    assert_eq!(out.status.code(), Some(1));

    // A broken record structure (an unknown type byte).
    let mut bad = built.bytes.clone();
    bad[built.set_in_db1] = 0x60;
    let bad = write("bad.rdb", &with_crc(bad));
    let out = same_on_every_thread_count("bad type", &bad, &[]);
    assert_eq!(out.status.code(), Some(1));

    // A changed byte in a plain string, checksum left: every key, then the
    // mismatch.
    let mut flip = built.bytes.clone();
    flip[built.plain_value] ^= 0x20;
    let flip = write("flip.rdb", &flip);
    let out = same_on_every_thread_count("checksum", &flip, &["--format", "resp"]);
    assert_eq!(out.status.code(), Some(1));

    // Cut files: after a record, inside the huge set, before the trailer.
    for cut in [
        built.set_in_db1,
        built.bytes.len() / 3,
        built.bytes.len() - 4,
    ] {
        let p = write("cut.rdb", &built.bytes[..cut]);
        let out = same_on_every_thread_count(&format!("cut at {cut}"), &p, &[]);
        assert_eq!(out.status.code(), Some(1));
    }
}
