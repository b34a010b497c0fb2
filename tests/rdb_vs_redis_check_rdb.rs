//! Verdicts agree with `redis-check-rdb` (Debian, Redis 7.0) on every RDB 9/10
//! file of the corpus and on many corruptions of them.
//!
//! Known, deliberate differences (none is expected to show up on these inputs,
//! and the test fails if one does without being listed here):
//! * duplicate keys: Redis refuses to load them; redis-check-rdb does not look.
//! * stream length: we also require the stored length to equal the number of
//!   live entries in the nodes.

mod common;

use std::path::Path;
use std::process::Command;

use common::Rng;
use redis_persist::io::Source;
use redis_persist::rdb::Reader;
use redis_persist::rdb::check::{self, CheckOptions};

fn theirs(tool: &Path, file: &Path) -> bool {
    let out = Command::new(tool).arg(file).output().unwrap();
    out.status.success()
}

fn ours(bytes: &[u8]) -> bool {
    let src = Source::new(bytes).with_size(bytes.len() as u64);
    check::check(Reader::new(src), CheckOptions::default())
        .0
        .is_ok()
}

#[test]
fn verdicts_agree_with_redis_check_rdb() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let Some(tool) = common::redis_tool("redis-check-rdb") else {
        return;
    };
    let mut files = Vec::new();
    for v in ["redis-6.0.9", "redis-6.2.14", "redis-7.0.15"] {
        for e in std::fs::read_dir(corpus.join(v)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rdb") {
                files.push(p);
            }
        }
    }
    files.push(corpus.join("redis-7.0.15/aof-preamble/appendonly.aof.2.base.rdb"));
    files.sort();
    assert!(files.len() >= 25, "{files:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for f in &files {
        let good = std::fs::read(f).unwrap();
        assert!(theirs(&tool, f), "redis-check-rdb rejects {}", f.display());
        assert!(ours(&good), "we reject {}", f.display());
        compared += 1;
        // Corruptions of the main datasets (with and without checksum).
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if !(name == "types.rdb" || name == "types-nochecksum.rdb" || name == "expired.rdb") {
            continue;
        }
        for i in 0..40 {
            let mut bad = good.clone();
            let what = if i % 2 == 0 {
                let cut = rng.below(bad.len() as u64) as usize;
                bad.truncate(cut);
                format!("cut at {cut}")
            } else {
                let at = rng.below(bad.len() as u64) as usize;
                let mask = (rng.below(255) + 1) as u8;
                bad[at] ^= mask;
                format!("flip {mask:#04x} at {at}")
            };
            let p = dir.path().join("bad.rdb");
            std::fs::write(&p, &bad).unwrap();
            let (t, o) = (theirs(&tool, &p), ours(&bad));
            if t != o {
                disagreements.push(format!(
                    "{} {what}: redis-check-rdb {t}, ours {o}",
                    f.display()
                ));
            }
            compared += 1;
        }
    }
    assert!(compared > 200, "{compared}");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
