//! Corruption sweep: real files of several versions, truncated at many offsets
//! and with bytes flipped at many offsets, are always reported invalid with an
//! offset, never with a panic, a hang or a silent "OK". A flip inside a
//! checksummed file is always caught. Both the sequential and the parallel checker
//! are exercised (the parallel one with small chunks).

use crate::common;

use std::sync::mpsc;
use std::time::Duration;

use common::Rng;
use redis_persist::io::Source;
use redis_persist::rdb::check::{self, CheckOptions, Report};
use redis_persist::rdb::{Entries, Reader};

/// Checks `bytes` both ways on another thread, failing on a hang.
fn check_both(bytes: Vec<u8>) -> (Report, Report) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let opts = CheckOptions {
            now_ms: 0,
            chunk_size: 4096,
            ..CheckOptions::default()
        };
        let src = Source::new(&bytes[..]).with_size(bytes.len() as u64);
        let seq = check::check(Reader::new(src), opts).0;
        let src = Source::new(&bytes[..]).with_size(bytes.len() as u64);
        let par = check::check_parallel(src, opts, 3).0;
        // The mapped variant (chunks as slices of the data) reports the same.
        // Release offsets stay within the data and never decrease within a
        // pass; a pass over guessed chunks that was abandoned is followed by
        // one from the start (counted: a valid file needs no second pass).
        let released = std::cell::Cell::new(0u64);
        let passes = std::cell::Cell::new(1u32);
        let release = |upto: u64| {
            assert!(upto <= bytes.len() as u64);
            if upto < released.get() {
                passes.set(passes.get() + 1);
            }
            released.set(upto);
        };
        let src = Source::new(&bytes[..]).with_size(bytes.len() as u64);
        let mapped = check::check_parallel_in(
            src,
            Some(redis_persist::rdb::parallel::Mapped {
                data: &bytes,
                release: &release,
                pages: None,
            }),
            opts,
            3,
        )
        .0;
        assert_eq!(
            format!("{mapped:?}"),
            format!("{par:?}"),
            "mapped vs streamed"
        );
        // The guessed chunks alone: the same report for a valid file, and
        // nothing (the walk then reports) for a broken one.
        let guessed = check::check_guessed(
            redis_persist::rdb::parallel::Mapped {
                data: &bytes,
                release: &|_| {},
                pages: None,
            },
            opts,
            3,
        );
        if par.is_ok() {
            assert_eq!(
                format!("{guessed:?}"),
                format!("{:?}", Some(&par)),
                "guessed chunks vs walk"
            );
            assert_eq!(passes.get(), 1, "a valid file read twice");
        } else {
            assert!(guessed.is_none(), "a broken file with a guessed report");
        }
        // The entries adaptor (used by dump) must not panic either.
        let mut e = Entries::new(Reader::new(
            Source::new(&bytes[..]).with_size(bytes.len() as u64),
        ));
        while let Ok(Some(_)) = e.next_item() {}
        let _ = tx.send((seq, par));
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the check hung or panicked")
}

fn assert_invalid(r: &Report, what: &str, len: usize) {
    assert!(!r.is_ok(), "{what}: reported valid");
    let p = r
        .first_error()
        .unwrap_or_else(|| panic!("{what}: invalid without an error problem"));
    assert!(
        p.offset <= len as u64,
        "{what}: offset {} beyond the {len} bytes",
        p.offset
    );
    assert!(!p.message.is_empty());
}

#[test]
fn truncations_and_bit_flips_are_always_caught() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let files = [
        "redis-6.0.9/types.rdb",
        "redis-6.2.14/types-lfu.rdb",
        "redis-7.0.15/types.rdb",
        "redis-7.2.6/types.rdb",
        "redis-7.4.1/types.rdb",
        "redis-8.0-m01/expired.rdb",
        "valkey-8.0.1/cluster.rdb",
        "valkey-unstable-55bbbe09/types-nocompress.rdb",
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut checks = 0;
    for f in files {
        let good = std::fs::read(corpus.join(f)).unwrap();
        let n = good.len();
        let (a, b) = check_both(good.clone());
        assert!(
            a.is_ok() && b.is_ok(),
            "{f}: {:?} {:?}",
            a.problems,
            b.problems
        );
        assert_eq!(a.keys, b.keys, "{f}: parallel key count");
        assert_eq!(a.dbs, b.dbs, "{f}: parallel per-db counts");
        assert_eq!(a.encodings, b.encodings, "{f}: parallel encodings");
        // Truncations: the start, the end, and random offsets.
        let mut cuts: Vec<usize> = (0..24).chain(n - 24..n).collect();
        cuts.extend((0..60).map(|_| rng.below(n as u64) as usize));
        for cut in cuts {
            let (a, b) = check_both(good[..cut].to_vec());
            assert_invalid(&a, &format!("{f} cut at {cut}"), cut);
            assert_invalid(&b, &format!("{f} cut at {cut} (parallel)"), cut);
            checks += 2;
        }
        // Flips: every file here has a CRC, so each one must be caught.
        for _ in 0..80 {
            let at = rng.below(n as u64) as usize;
            let mask = (rng.below(255) + 1) as u8;
            let mut bad = good.clone();
            bad[at] ^= mask;
            let (a, b) = check_both(bad);
            assert_invalid(&a, &format!("{f} flip {mask:#04x} at {at}"), n);
            assert_invalid(&b, &format!("{f} flip {mask:#04x} at {at} (parallel)"), n);
            checks += 2;
        }
    }
    assert!(checks > 2000);
}

#[test]
fn flips_without_a_checksum_never_panic() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for f in [
        "redis-7.0.15/types-nochecksum.rdb",
        "redis-7.4.1/types-nochecksum.rdb",
    ] {
        let good = std::fs::read(corpus.join(f)).unwrap();
        for _ in 0..150 {
            let mut bad = good.clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(bad.len() as u64) as usize;
                bad[at] ^= (rng.below(255) + 1) as u8;
            }
            let (a, b) = check_both(bad);
            // Undetectable flips (inside string payloads) leave the file valid;
            // anything else must be reported with an offset.
            for r in [a, b] {
                if let Some(p) = r.first_error() {
                    assert!(!p.message.is_empty());
                }
            }
        }
    }
}

#[test]
fn the_cli_exits_1_with_an_offset() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let good = std::fs::read(corpus.join("redis-7.2.6/types.rdb")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("cut.rdb", good[..good.len() / 3].to_vec()),
        ("flip.rdb", {
            let mut b = good.clone();
            b[5000] ^= 0x40;
            b
        }),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let out = common::run(&["check-rdb", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("PROBLEM at byte "), "{name}: {text}");
        let out = common::run(&["check-rdb", "--json", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["ok"], false);
        assert!(doc["files"][0]["problems"][0]["offset"].as_u64().is_some());
    }
    // An unreadable file is exit 2 (the tool could not run), the others still checked.
    let out = common::run(&[
        "check-rdb",
        "/nonexistent.rdb",
        corpus.join("redis-7.2.6/types.rdb").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK: the file is valid"));
}
