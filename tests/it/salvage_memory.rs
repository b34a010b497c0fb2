//! `salvage` (and `check-rdb` and `dump`, which share the reader) in memory
//! bounded by the largest value plus a constant, whatever the damage
//! (issue 16): chance records met while looking for where records read
//! again never have what they claim allocated or copied (a function library
//! or AUX field "of" half the file, a hash with field TTLs whose field
//! "is" the rest of it), and a compressed string claiming 88 times its
//! compressed length is checked before its output is made.
//!
//! The generated file holds values of about 1 KB; peak memory is the child's
//! `VmHWM` (see [`crate::adversarial`]), under [`PEAK_BOUND_KB`]. Before the
//! bounds, these inputs peaked at 60 to 140 MB.
//!
//! A long run of damage (random bytes or zeros, 16 then 64 MiB, between the
//! records of an RDB, in the middle of a single-file AOF and of the base of a
//! multi-part AOF) costs a constant: the search through it, and the CRC of the
//! RDB's bytes, give back what they passed, so the peak with 64 MiB is within
//! [`LONG_RUN_SLACK_KB`] of the peak with 16 MiB.

use crate::adversarial::run_watched;
use crate::common;
use crate::salvage_bounds::big_rdb;

use std::path::Path;

use common::Rng;
use redis_persist::io::{Memory, Source};
use redis_persist::rdb::{Event, Reader};

/// Peak resident memory allowed, in KiB: the reader's constant part, the
/// output's buffers, and the pages of the mapped input around where it is
/// read (the values are about 1 KB).
const PEAK_BOUND_KB: u64 = 40 * 1024;

/// How much more a 64 MiB run of damage may cost than a 16 MiB one, in KiB
/// (the pages around where the search is, sampled at a different moment).
const LONG_RUN_SLACK_KB: u64 = 8 * 1024;

/// Size of the generated file (`REDIS_PERSIST_SALVAGE_MEMORY_MB` MiB).
fn file_size() -> usize {
    (common::env_u64("REDIS_PERSIST_SALVAGE_MEMORY_MB", 32) as usize) << 20
}

/// Offsets of the key records of `data` (an undamaged RDB).
fn key_offsets(data: &[u8]) -> Vec<usize> {
    let mut r = Reader::new(Source::new(Memory(data)).with_size(data.len() as u64));
    let mut out = Vec::new();
    while let Some(ev) = r.next_event().unwrap() {
        if let Event::KeyStart(k) = ev {
            out.push(usize::try_from(k.offset).unwrap());
            r.skip_value().unwrap();
        }
    }
    out
}

/// `data` with `insert(at)` inserted before the key records at a quarter, a
/// half and three quarters of the file.
fn spliced(data: &[u8], keys: &[usize], insert: impl Fn(usize) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + (1 << 20));
    let mut last = 0;
    for q in 1..4 {
        let at = keys[keys.len() * q / 4];
        out.extend_from_slice(&data[last..at]);
        out.extend(insert(data.len() - at));
        last = at;
    }
    out.extend_from_slice(&data[last..]);
    out
}

/// A 32-bit RDB length.
fn len32(n: usize) -> [u8; 5] {
    let [a, b, c, d] = u32::try_from(n).unwrap().to_be_bytes();
    [0x80, a, b, c, d]
}

/// The damaged copies: (name, bytes).
fn damaged(data: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let keys = key_offsets(data);
    let mut rng = Rng(0x5a1e_3e30);
    let garbage: Vec<u8> = (0..1 << 20).map(|_| rng.next() as u8).collect();
    // A byte no record starts with, so that reading fails there and the
    // search for where records resume starts; then, a database selector and
    // a record between keys whose first string claims most of what is left.
    let between = |op: u8| {
        move |left: usize| {
            let mut v = vec![0xee, 0xfe, 0x00, op];
            v.extend(len32(left * 2 / 3));
            v
        }
    };
    vec![
        // Redis 7.0's pre-release function library, and an AUX field.
        ("function-pre-ga", spliced(data, &keys, between(0xf6))),
        ("aux", spliced(data, &keys, between(0xfa))),
        // A hash with field TTLs (type 24: its minimum expire, one field,
        // a TTL of none, then the field claiming most of the rest).
        (
            "hash-ttl-field",
            spliced(data, &keys, |left| {
                let mut v = vec![0xee, 24, 1, b'h'];
                v.extend(0u64.to_le_bytes());
                v.extend([1, 0]);
                v.extend(len32(left * 2 / 3));
                v
            }),
        ),
        // A set whose one member is LZF-compressed: 512 KiB claiming to
        // expand 88 times, which are not LZF (a back-reference before the
        // start of the output).
        (
            "lzf-claim",
            spliced(data, &keys, |_| {
                let clen = 512 << 10;
                let mut v = vec![2, 4, b'l', b'z', b'f', b'!', 1, 0xc3];
                v.extend(len32(clen));
                v.extend(len32(clen * 88));
                v.extend(std::iter::repeat_n(0xff, clen));
                v
            }),
        ),
        // Random bytes (1 MiB) in the middle of records.
        ("garbage", {
            let mut v = data.to_vec();
            for q in [3, 2, 1] {
                let at = v.len() * q / 4;
                v.splice(at..at, garbage.iter().copied());
            }
            v
        }),
    ]
}

/// Each damaged copy salvaged, checked and dumped in bounded memory; the
/// salvage's output passes `check-rdb` and keeps almost every key.
#[test]
fn damage_is_read_past_in_bounded_memory() {
    let data = big_rdb(file_size());
    let keys = key_offsets(&data).len() as u64;
    let dir = tempfile::tempdir().unwrap();
    // (REDIS_PERSIST_SALVAGE_MEMORY_KEEP=DIR keeps the inputs there.)
    let keep = std::env::var_os("REDIS_PERSIST_SALVAGE_MEMORY_KEEP");
    let at = keep.as_ref().map_or(dir.path(), Path::new);
    let s = |p: &Path| p.display().to_string();
    let out = dir.path().join("salvaged.rdb");
    let mut failures = Vec::new();
    for (name, bytes) in damaged(&data) {
        let input = at.join(format!("{name}.rdb"));
        std::fs::write(&input, &bytes).unwrap();
        drop(bytes);
        let runs = [
            ("salvage", vec!["salvage", "--json", "--force", "-o"]),
            ("check-rdb", vec!["check-rdb"]),
            // (One thread: a parallel dump's memory also holds the chunks
            // its workers render ahead, which depends on the machine's load.)
            ("dump", vec!["dump", "--threads", "1"]),
        ];
        for (cmd, args) in runs {
            let mut args: Vec<String> = args.into_iter().map(String::from).collect();
            if cmd == "salvage" {
                args.push(s(&out));
            }
            args.insert(0, "--no-progress".into());
            args.push(s(&input));
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = run_watched(&argv);
            if run.status.code() != Some(1) {
                failures.push(format!(
                    "{cmd} {name}: exit {:?} (expected 1: damage found): {}",
                    run.status.code(),
                    String::from_utf8_lossy(&run.stderr)
                ));
            }
            if run.peak_kb >= PEAK_BOUND_KB {
                failures.push(format!(
                    "{cmd} {name}: peak {} KiB (bound {PEAK_BOUND_KB} KiB)",
                    run.peak_kb
                ));
            }
            if cmd == "salvage" && run.status.code() == Some(1) {
                let doc: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
                let kept = doc["keys_kept"].as_u64().unwrap();
                if kept < keys * 99 / 100 {
                    failures.push(format!("salvage {name}: {kept} of {keys} keys kept"));
                }
                let check = common::run(&["check-rdb", &s(&out)]);
                if check.status.code() != Some(0) {
                    failures.push(format!("salvage {name}: the output fails check-rdb"));
                }
            }
        }
    }
    common::assert_no_failures(&failures);
}

/// The JSON report of a run that found damage (exit 1); else `None`, and why
/// in `failures`.
fn damage_found(
    what: &str,
    run: &crate::adversarial::Run,
    failures: &mut Vec<String>,
) -> Option<serde_json::Value> {
    if run.status.code() != Some(1) {
        failures.push(format!(
            "{what}: exit {:?} (expected 1: damage found): {}",
            run.status.code(),
            String::from_utf8_lossy(&run.stderr)
        ));
        return None;
    }
    serde_json::from_slice(&run.stdout).ok()
}

/// `data` with `run` inserted at its middle.
fn with_run(data: &[u8], run: &[u8]) -> Vec<u8> {
    let at = data.len() / 2;
    [&data[..at], run, &data[at..]].concat()
}

/// A single-file AOF of about `size` bytes: `SET`s of 1 KB random values.
fn big_aof(size: usize) -> Vec<u8> {
    let mut rng = Rng(0xa0f_5a1e);
    let mut out = Vec::with_capacity(size + 2048);
    let mut i = 0u64;
    while out.len() < size {
        let key = format!("key:{i}");
        let value: Vec<u8> = (0..1000).map(|_| rng.next() as u8).collect();
        out.extend(format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$1000\r\n", key.len()).bytes());
        out.extend(value);
        out.extend(b"\r\n");
        i += 1;
    }
    out
}

/// The inputs with a long run of damage: (name, file or directory to salvage,
/// what the report counts as kept, how many at least). Each is written under
/// `dir`; `rdb` is an undamaged RDB.
fn long_runs(
    dir: &Path,
    run: &[u8],
    tag: &str,
    rdb: &[u8],
) -> Vec<(String, std::path::PathBuf, &'static str, u64)> {
    // The RDB with the run between two key records at its middle.
    let keys = key_offsets(rdb);
    let at = keys[keys.len() / 2];
    let single_rdb = dir.join(format!("rdb-{tag}.rdb"));
    std::fs::write(&single_rdb, [&rdb[..at], run, &rdb[at..]].concat()).unwrap();
    // (A few keys around the run may be dropped as uncertain.)
    let rdb_keys = keys.len() as u64 * 99 / 100;
    // (About 1 KB a command, a run of damage in the middle.)
    let commands = (file_size() / 1100) as u64;
    let aof = big_aof(file_size());
    let single = dir.join(format!("single-{tag}.aof"));
    std::fs::write(&single, with_run(&aof, run)).unwrap();
    // A multi-part AOF whose base (not its last part) holds the damage.
    let multi = dir.join(format!("multi-{tag}"));
    std::fs::create_dir(&multi).unwrap();
    std::fs::write(multi.join("appendonly.aof.1.base.aof"), with_run(&aof, run)).unwrap();
    std::fs::write(multi.join("appendonly.aof.1.incr.aof"), &aof[..1 << 20]).unwrap();
    std::fs::write(
        multi.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    vec![
        (format!("rdb-{tag}"), single_rdb, "keys_kept", rdb_keys),
        (format!("single-{tag}"), single, "commands_kept", commands),
        (format!("multi-{tag}"), multi, "commands_kept", commands),
    ]
}

/// A run of random bytes or zeros between the records of an RDB, in the
/// middle of a single-file AOF and of a multi-part AOF's base is salvaged past
/// (exit 1, the keys or commands around it kept) with a peak under
/// [`PEAK_BOUND_KB`] that does not grow with the run: 64 MiB costs at most
/// [`LONG_RUN_SLACK_KB`] more than 16 MiB.
#[test]
fn a_long_run_of_damage_costs_a_constant() {
    let dir = tempfile::tempdir().unwrap();
    let rdb = big_rdb(file_size());
    let s = |p: &Path| p.display().to_string();
    let mut failures = Vec::new();
    for kind in ["random", "zeros"] {
        let mut peaks: Vec<(String, u64)> = Vec::new();
        for mib in [16usize, 64] {
            let run: Vec<u8> = if kind == "zeros" {
                vec![0; mib << 20]
            } else {
                let mut rng = Rng(0x10_a6e5 + mib as u64);
                (0..mib << 20).map(|_| rng.next() as u8).collect()
            };
            let tag = format!("{kind}-{mib}");
            for (name, input, counted, expected) in long_runs(dir.path(), &run, &tag, &rdb) {
                let out = dir.path().join(format!("out-{name}"));
                let run = run_watched(&[
                    "--no-progress",
                    "salvage",
                    "--json",
                    "--force",
                    "-o",
                    &s(&out),
                    &s(&input),
                ]);
                let Some(doc) = damage_found(&name, &run, &mut failures) else {
                    continue;
                };
                let kept = doc[counted].as_u64().unwrap_or(0);
                if kept < expected {
                    failures.push(format!("{name}: {kept} kept (expected {expected} or more)"));
                }
                if run.peak_kb >= PEAK_BOUND_KB {
                    failures.push(format!(
                        "{name}: peak {} KiB (bound {PEAK_BOUND_KB} KiB)",
                        run.peak_kb
                    ));
                }
                let base = name.replace(&format!("-{mib}"), "");
                match peaks.iter().find(|(n, _)| *n == base) {
                    Some(&(_, short)) if run.peak_kb > short + LONG_RUN_SLACK_KB => {
                        failures.push(format!(
                            "{name}: peak {} KiB, {short} KiB with a 16 MiB run: it grows with \
                             the damage",
                            run.peak_kb
                        ));
                    }
                    Some(_) => {}
                    None => peaks.push((base, run.peak_kb)),
                }
                let _ = std::fs::remove_dir_all(&out);
                let _ = std::fs::remove_file(&out);
            }
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                let p = entry.unwrap().path();
                let _ = std::fs::remove_dir_all(&p);
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    common::assert_no_failures(&failures);
}
