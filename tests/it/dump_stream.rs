//! `dump` of huge values in bounded memory (issue 19): one 512 MiB string of NUL
//! bytes (a 6 MB RDB, LZF) used to peak at 3.7 GB in JSON Lines, its rendered
//! text held whole. Every format now writes a large value out as it renders it,
//! so peak memory stays near the value's own size (the decompressed string, or
//! the file's bytes and the reader's copy of them) whatever the output.
//!
//! The reproducer, then a family around it (a string that is mostly escapes, a
//! string that is not UTF-8, a list and a hash of many elements whose
//! output is several times their size), each dumped in every format to
//! `/dev/null` (sequentially and on several threads) and to a file, with the
//! peak resident memory (`/usr/bin/time`'s maximum RSS) asserted under a bound;
//! the files are decoded back to the values; the RESP of the family is loaded
//! into a real server. Sizes: `REDIS_PERSIST_DUMP_BOMB_MIB` (64; 512 is the
//! reported case, about 7 s per JSON dump) for the reproducer,
//! `REDIS_PERSIST_DUMP_FAMILY_MIB` (24) for the family.

use std::path::Path;
use std::process::Command;

use redis_persist::io::crc64;
use redis_persist::rdb::writer::{put_len, put_string};

use crate::common;

const MIB: u64 = 1 << 20;

/// An RDB 11 file: a header, database 0, `body`, the EOF opcode and the CRC.
fn rdb(body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = b"REDIS0011".to_vec();
    b.extend_from_slice(&[0xfe, 0]);
    body(&mut b);
    b.push(0xff);
    let crc = crc64(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// An LZF stream (as liblzf writes it) of `n` NUL bytes: one literal, then
/// back-references of 264 bytes at distance 1.
fn lzf_zeros(n: usize) -> Vec<u8> {
    let mut z = vec![0u8, 0];
    let mut left = n - 1;
    while left > 0 {
        let len = left.min(264);
        if len < 3 {
            for _ in 0..len {
                z.extend_from_slice(&[0, 0]);
            }
            break;
        }
        // Copies len bytes: 2 + the length field (7 + an extra byte past 6).
        let l = len - 2;
        if l < 7 {
            z.extend_from_slice(&[(l as u8) << 5, 0]);
        } else {
            z.extend_from_slice(&[7 << 5, (l - 7) as u8, 0]);
        }
        left -= len;
    }
    z
}

/// The reproducer: key `k`, a string of `n` NUL bytes, LZF-compressed.
fn nul_string_rdb(n: usize) -> Vec<u8> {
    rdb(|b| {
        b.push(0);
        put_string(b, b"k", None);
        b.push(0xc3);
        let z = lzf_zeros(n);
        put_len(b, z.len() as u64);
        put_len(b, n as u64);
        b.extend_from_slice(&z);
    })
}

/// A value of `n` bytes, mostly JSON escapes, valid UTF-8.
fn escapes(n: usize) -> Vec<u8> {
    let pattern: Vec<u8> = (0u8..0x20)
        .chain(*b"\"\\ plain text, then escapes")
        .collect();
    pattern.iter().copied().cycle().take(n).collect()
}

/// `n` bytes that are not UTF-8 (hex in JSON).
fn binary(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8 | 0x80
        })
        .collect()
}

/// A key of RDB type `ty` holding `items` (a list or a set: one string each; a
/// hash: field, value pairs).
fn aggregate(b: &mut Vec<u8>, ty: u8, key: &[u8], len: usize, item: impl Fn(usize) -> Vec<u8>) {
    b.push(ty);
    put_string(b, key, None);
    put_len(b, len as u64);
    let per = if ty == 4 { 2 } else { 1 };
    for i in 0..len * per {
        put_string(b, &item(i), None);
    }
}

/// Runs `dump` and returns its peak resident memory in MiB.
fn dump_peak(file: &Path, format: &str, threads: Option<&str>, out: &Path) -> u64 {
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "peak-kib %M"])
        .arg(env!("CARGO_BIN_EXE_redis-persist"))
        .arg("dump")
        .arg(file)
        .args(["--format", format, "-o"])
        .arg(out);
    if let Some(t) = threads {
        cmd.args(["--threads", t]);
    }
    let o = cmd.output().expect("/usr/bin/time runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "dump {} --format {format}: {err}",
        file.display()
    );
    let kib: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("peak-kib "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak in {err}"));
    kib / 1024
}

/// Dumps `file` in every format to `/dev/null` on one thread and on the
/// default ones (where a worker hands a large key to the writing thread), then
/// to a file: peak memory under `seq_mib` on one thread, `par_mib` on several.
/// Returns the outputs written to files (format, bytes).
fn dump_everything(
    file: &Path,
    seq_mib: u64,
    par_mib: u64,
    to_files: bool,
) -> Vec<(String, Vec<u8>)> {
    let dir = file.parent().unwrap();
    let mut outputs = Vec::new();
    for format in ["jsonl", "json", "resp"] {
        let null = Path::new("/dev/null");
        let out = dir.join(format!("out.{format}"));
        let mut runs = vec![(Some("1"), null, seq_mib), (None, null, par_mib)];
        if to_files {
            runs.push((None, &out, par_mib));
        }
        for (threads, to, bound) in runs {
            let peak = dump_peak(file, format, threads, to);
            assert!(
                peak <= bound,
                "{} --format {format} --threads {threads:?} -o {}: peak {peak} MiB > {bound} MiB",
                file.display(),
                to.display()
            );
        }
        if to_files {
            outputs.push((format.to_string(), std::fs::read(&out).unwrap()));
            std::fs::remove_file(&out).unwrap();
        }
    }
    outputs
}

fn json_line(out: &[u8]) -> serde_json::Value {
    let line = out.split(|&c| c == b'\n').next().unwrap();
    serde_json::from_slice(line).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The JSON value of a byte string back to its bytes.
fn bytes_of(v: &serde_json::Value) -> Vec<u8> {
    match v {
        serde_json::Value::String(s) => s.as_bytes().to_vec(),
        v => unhex(v["hex"].as_str().unwrap()),
    }
}

/// The reproducer: a 512 MiB string of NUL bytes in a 6 MB RDB (3 GiB of JSON)
/// is dumped in every format in the memory of the string and a little more
/// (it took 3.7 GB in JSON Lines).
#[test]
fn huge_nul_string_is_dumped_in_bounded_memory() {
    // 512 MiB (the reported case) takes about 7 s per JSON dump: 64 by default.
    let mib = common::env_u64("REDIS_PERSIST_DUMP_BOMB_MIB", 64);
    let n = usize::try_from(mib * MIB).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("nul.rdb");
    std::fs::write(&file, nul_string_rdb(n)).unwrap();
    // The decompressed string, once (the file is small: no parallel path).
    let bound = mib * 13 / 10 + 48;
    // To files only the RESP (the value's size): the JSON is 6 times larger.
    dump_everything(&file, bound, bound, false);
    let out = tmp.path().join("out.resp");
    let peak = dump_peak(&file, "resp", None, &out);
    assert!(
        peak <= bound,
        "resp to a file: peak {peak} MiB > {bound} MiB"
    );
    let got = std::fs::read(&out).unwrap();
    let head = format!("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${n}\r\n");
    assert_eq!(got.len(), head.len() + n + 2);
    assert!(got.starts_with(head.as_bytes()) && got.ends_with(b"\r\n"));
    assert!(got[head.len()..got.len() - 2].iter().all(|&c| c == 0));
}

/// The family: large strings (escapes, not UTF-8) and aggregates of many
/// elements whose output is several times their size, dumped sequentially and
/// on several threads (where a worker hands the large key to the writing
/// thread) in bounded memory; the outputs decode back to the values and the
/// RESP loads into a real server with the same values.
#[test]
fn large_values_are_dumped_in_bounded_memory() {
    let mib = common::env_u64("REDIS_PERSIST_DUMP_FAMILY_MIB", 24);
    let n = usize::try_from(mib * MIB).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let text = escapes(n);
    let bin = binary(n);
    // Elements of 64 bytes: an element is small, the key is large.
    let elems = n / 64;
    let item = |i: usize| {
        let mut v = vec![1u8; 64];
        v[..8].copy_from_slice(&(i as u64).to_be_bytes());
        v
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "escapes",
            rdb(|b| {
                b.push(0);
                put_string(b, b"k", None);
                put_string(b, &text, None);
            }),
        ),
        (
            "binary",
            rdb(|b| {
                b.push(0);
                put_string(b, b"k", None);
                put_string(b, &bin, None);
            }),
        ),
        ("list", rdb(|b| aggregate(b, 1, b"k", elems, item))),
        ("hash", rdb(|b| aggregate(b, 4, b"k", elems / 2, item))),
    ];
    let mut server = common::RedisServer::start();
    for (name, bytes) in cases {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("dump.rdb");
        std::fs::write(&file, &bytes).unwrap();
        drop(bytes);
        // One thread: the reader's copy of the value. Several: also the file's
        // bytes, mapped (released once the key was written).
        let seq = mib * 13 / 10 + 48;
        let par = mib * 23 / 10 + 48;
        let outputs = dump_everything(&file, seq, par, true);
        for (format, out) in &outputs {
            match (name, format.as_str()) {
                ("escapes" | "binary", "jsonl") => {
                    let want = if name == "escapes" { &text } else { &bin };
                    let v = json_line(out);
                    assert!(bytes_of(&v["value"]) == *want, "{name} {format}");
                }
                ("list", "json") => {
                    let v: serde_json::Value = serde_json::from_slice(out).unwrap();
                    let a = v["keys"][0]["value"].as_array().unwrap();
                    assert_eq!(a.len(), elems, "{name}");
                    assert_eq!(bytes_of(&a[elems - 1]), item(elems - 1), "{name}");
                }
                ("hash", "jsonl") => {
                    let v = json_line(out);
                    let o = v["value"].as_object().unwrap();
                    assert_eq!(o.len(), elems / 2);
                }
                (_, "resp") => {
                    let Some(s) = server.as_mut() else { continue };
                    s.cmd(&["FLUSHALL"]);
                    let replies = s.pipe_all(out);
                    let errors: Vec<_> = replies
                        .iter()
                        .filter(|r| matches!(r, common::Reply::Error(_)))
                        .take(3)
                        .collect();
                    assert!(errors.is_empty(), "{name}: {errors:?}");
                    let (len_cmd, want) = match name {
                        "escapes" | "binary" => ("STRLEN", n),
                        "list" => ("LLEN", elems),
                        _ => ("HLEN", elems / 2),
                    };
                    assert_eq!(s.cmd(&[len_cmd, "k"]).int(), want as i64, "{name}");
                    if name == "escapes" || name == "binary" {
                        let got = s.cmd(&["GETRANGE", "k", "-100", "-1"]).bytes();
                        let want = if name == "escapes" { &text } else { &bin };
                        assert_eq!(got, want[n - 100..], "{name}");
                    }
                }
                _ => {}
            }
        }
    }
}
