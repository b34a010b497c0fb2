//! `salvage` of a damaged RDB (issue 16): peak memory bounded whatever the
//! file's size (the input is mapped; pages behind the reader are given back,
//! and nothing reads the whole file twice), and a damaged 9-byte header
//! (`REDIX0011`, `RE\0IS0011`, `REDIS00x1`) read as an RDB's, the output
//! loading in the server that reads its version.

use crate::adversarial::run_watched;
use crate::common;

use std::path::Path;

use common::{Rng, salvage_servers};
use redis_persist::model::{Entry, Value};
use redis_persist::rdb::types::Format;
use redis_persist::rdb::writer::{Writer, WriterOptions};

/// Peak resident memory allowed to the salvage of the damaged file, in KiB:
/// well under the file's size (the bench's 140 and 187 MB files stay under
/// 64 MB).
const PEAK_BOUND_KB: u64 = 40 * 1024;

/// Size of the generated file, in bytes (`REDIS_PERSIST_SALVAGE_MB` MiB).
fn file_size() -> usize {
    (common::env_u64("REDIS_PERSIST_SALVAGE_MB", 64) as usize) << 20
}

/// An RDB 10 of about `size` bytes of incompressible strings and sets.
pub(crate) fn big_rdb(size: usize) -> Vec<u8> {
    let mut rng = Rng(0x5a17_a6e5);
    let mut bytes = |n: usize| (0..n).map(|_| rng.next() as u8).collect::<Vec<u8>>();
    let opts = WriterOptions::for_version(10);
    let mut w = Writer::new(Vec::with_capacity(size + (1 << 20)), opts).unwrap();
    let mut i = 0u64;
    let mut written = 0usize;
    while written < size {
        let key = format!("key:{i}").into_bytes();
        let value = if i.is_multiple_of(10) {
            Value::Set(
                (0..50)
                    .map(|m| [format!("m{m}:").as_bytes(), &bytes(20)].concat())
                    .collect(),
            )
        } else {
            Value::String(bytes(1000))
        };
        written += 1050;
        w.write_entry(&Entry::new(0, key, None, value)).unwrap();
        i += 1;
    }
    w.finish().unwrap()
}

/// The damaged file: a run overwritten in the middle and a 4 KiB page zeroed
/// at three quarters, the checksum left wrong.
#[test]
fn damaged_rdb_salvaged_in_bounded_memory() {
    let mut data = big_rdb(file_size());
    let n = data.len();
    data[n / 2..n / 2 + 64].fill(0xfe);
    let page = n * 3 / 4 / 4096 * 4096;
    data[page..page + 4096].fill(0);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("damaged.rdb");
    std::fs::write(&input, &data).unwrap();
    drop(data);
    let out = dir.path().join("salvaged.rdb");
    let s = |p: &Path| p.display().to_string();
    let run = run_watched(&[
        "--no-progress",
        "salvage",
        &s(&input),
        "-o",
        &s(&out),
        "--json",
    ]);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(doc["rechecked"], true);
    assert_eq!(doc["undamaged_copy"], false);
    let kept = doc["keys_kept"].as_u64().unwrap();
    let keys = n as u64 / 1050;
    assert!(kept > keys * 99 / 100, "{kept} of about {keys} keys kept");
    assert!(
        run.peak_kb < PEAK_BOUND_KB,
        "salvaging a damaged {} MB file peaked at {} KiB",
        n >> 20,
        run.peak_kb
    );
    let check = common::run(&["check-rdb", &s(&out)]);
    assert_eq!(check.status.code(), Some(0), "the output passes check-rdb");
}

/// Damaged headers of real servers' files: each salvaged to the same bytes as
/// the undamaged file (header restored, every record kept), reported as a
/// damaged header (exit 1), and the output loads in the server that reads its
/// version.
#[test]
fn damaged_magic_is_salvaged_as_an_rdb() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let files = [
        "redis-6.2.14/types.rdb",
        "redis-7.0.15/types.rdb",
        "valkey-8.1.1/types.rdb",
        "redis-8.0.6/types.rdb",
        "redis-8.6.3/types.rdb",
        "valkey-9.1.2/types.rdb",
    ];
    // (offset, byte): a changed letter, a NUL in the magic, a version digit
    // that is not one, two bytes at once.
    let damages: &[&[(usize, u8)]] = &[
        &[(4, b'X')],
        &[(2, 0)],
        &[(7, b'x')],
        &[(0, b'r'), (8, 0xff)],
        &[(5, 0), (6, 0), (7, 0), (8, 0)],
    ];
    let dir = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.display().to_string();
    let mut failures = Vec::new();
    for f in files {
        let orig = std::fs::read(corpus.join(f)).unwrap();
        let (format, version) = if orig.starts_with(b"VALKEY") {
            (Format::Valkey, 80)
        } else {
            let v = std::str::from_utf8(&orig[5..9]).unwrap().parse().unwrap();
            (Format::Redis, v)
        };
        let server = salvage_servers::server_for(format, version);
        for (i, d) in damages.iter().enumerate() {
            let mut bad = orig.clone();
            for &(at, b) in *d {
                bad[at] = b;
            }
            let input = dir.path().join(format!("in-{i}.rdb"));
            let out = dir.path().join(format!("out-{i}.rdb"));
            std::fs::write(&input, &bad).unwrap();
            let o = common::run(&["salvage", &s(&input), "-o", &s(&out), "--force", "--json"]);
            let what = format!("{f} with header {:?}", String::from_utf8_lossy(&bad[..9]));
            if o.status.code() != Some(1) {
                failures.push(format!(
                    "{what}: exit {:?}: {}",
                    o.status.code(),
                    String::from_utf8_lossy(&o.stderr)
                ));
                continue;
            }
            let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            if doc["header"]["version"] != version || doc["keys_lost"] != serde_json::json!([]) {
                failures.push(format!(
                    "{what}: header {} lost {}",
                    doc["header"], doc["keys_lost"]
                ));
            }
            if std::fs::read(&out).unwrap() != orig {
                failures.push(format!("{what}: the output is not the undamaged file"));
            }
            if let Some(server) = &server {
                match salvage_servers::load(server, &out) {
                    Ok(n) if n == doc["keys_kept"].as_u64().unwrap() => {}
                    Ok(n) => failures.push(format!("{what}: the server loaded {n} keys")),
                    Err(e) => failures.push(format!("{what}: the server refused it: {e}")),
                }
            }
        }
    }
    common::assert_no_failures(&failures);
}

/// Not every file is a damaged RDB: a newer version than this one reads is
/// unsupported (not repaired as damage), and bytes shaped like a header
/// followed by no RDB records are not an RDB.
#[test]
fn undamaged_or_foreign_headers_are_not_guessed() {
    use redis_persist::rdb::salvage::guess_header;
    let Some(corpus) = common::corpus() else {
        return;
    };
    let orig = std::fs::read(corpus.join("redis-7.0.15/types.rdb")).unwrap();
    assert_eq!(guess_header(&orig), None, "an intact header");
    let mut newer = orig.clone();
    newer[5..9].copy_from_slice(b"0099");
    assert_eq!(guess_header(&newer), None, "a newer version");
    let mut aof = b"REDIX0011".to_vec();
    aof.extend_from_slice(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".repeat(20).as_slice());
    assert_eq!(guess_header(&aof), None, "no RDB records after it");
    let mut far = orig.clone();
    far[..5].copy_from_slice(b"HELLO");
    assert_eq!(guess_header(&far), None, "too far from an RDB header");
}
