//! `Reader::visit_value` (the per-key visitor used by dump) yields exactly the
//! elements, `KeyEnd`s and errors of the event path, on every corpus RDB and on
//! corrupted copies of some of them.

mod common;

use common::Rng;
use redis_persist::io::Source;
use redis_persist::rdb::{Event, Reader};

/// A trace of a whole read: one line per key or element, then the outcome.
fn trace(bytes: &[u8], visit: bool) -> Vec<String> {
    let mut r = Reader::new(Source::new(bytes).with_size(bytes.len() as u64));
    let mut out = Vec::new();
    loop {
        let ev = match r.next_event() {
            Ok(Some(ev)) => ev,
            Ok(None) => break,
            Err(e) => {
                out.push(format!("error {e}"));
                break;
            }
        };
        match ev {
            Event::KeyStart(k) => {
                out.push(format!("key {:?} {}", k.key, k.rdb_type));
                if visit {
                    let mut els = Vec::new();
                    match r.visit_value(|e| els.push(format!("{e:?}"))) {
                        Ok(end) => {
                            out.extend(els);
                            out.push(format!("end {end:?}"));
                        }
                        Err(e) => {
                            out.extend(els);
                            out.push(format!("error {e}"));
                            break;
                        }
                    }
                }
            }
            Event::Element(e) => out.push(format!("{e:?}")),
            Event::KeyEnd(end) => out.push(format!("end {end:?}")),
            other => out.push(format!("{other:?}")),
        }
    }
    out
}

#[test]
fn visit_value_equals_the_event_path() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut files = Vec::new();
    for dir in common::corpus_version_dirs(&corpus) {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rdb") {
                files.push(p);
            }
        }
    }
    for e in std::fs::read_dir(corpus.join("upstream/redis")).unwrap() {
        files.push(e.unwrap().path());
    }
    let mut rng = Rng(77);
    for f in &files {
        let good = std::fs::read(f).unwrap();
        assert_eq!(trace(&good, true), trace(&good, false), "{}", f.display());
        if f.file_name().is_some_and(|n| n == "types-nochecksum.rdb") {
            for _ in 0..40 {
                let mut bad = good.clone();
                let at = rng.below(bad.len() as u64) as usize;
                bad[at] ^= (rng.below(255) + 1) as u8;
                assert_eq!(
                    trace(&bad, true),
                    trace(&bad, false),
                    "{} flip at {at}",
                    f.display()
                );
                let cut = rng.below(good.len() as u64) as usize;
                assert_eq!(
                    trace(&good[..cut], true),
                    trace(&good[..cut], false),
                    "{} cut at {cut}",
                    f.display()
                );
            }
        }
    }
    assert!(files.len() > 60);
}
