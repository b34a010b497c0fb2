//! `Reader::visit_value` (the per-key visitor used by dump) yields exactly the
//! elements, `KeyEnd`s and errors of the event path, on every corpus RDB and on
//! corrupted copies of some of them; and a reader of bytes in memory (read in
//! place, `io::Memory`) yields exactly what a buffered reader does.

use crate::common;

use common::Rng;
use redis_persist::io::{Input, Memory, Source};
use redis_persist::rdb::{Event, Reader};

/// A trace of a whole read: one line per key or element, then the outcome.
/// `cap` is the reader's buffer size: small buffers make strings straddle the
/// buffer's end (the visitor reads elements in place when they lie in it).
fn trace(bytes: &[u8], visit: bool) -> Vec<String> {
    trace_with(bytes, visit, 1 << 16)
}

fn trace_with(bytes: &[u8], visit: bool, cap: usize) -> Vec<String> {
    trace_reader(
        Reader::new(Source::with_capacity(bytes, cap).with_size(bytes.len() as u64)),
        visit,
    )
}

/// The trace of a reader of `bytes` in memory (no buffer, no copies).
fn trace_in_memory(bytes: &[u8], visit: bool) -> Vec<String> {
    trace_reader(
        Reader::new(Source::new(Memory(bytes)).with_size(bytes.len() as u64)),
        visit,
    )
}

fn trace_reader<R: Input>(mut r: Reader<R>, visit: bool) -> Vec<String> {
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
        let events = trace(&good, false);
        assert_eq!(trace(&good, true), events, "{}", f.display());
        for visit in [false, true] {
            assert_eq!(
                trace_in_memory(&good, visit),
                events,
                "{} in memory",
                f.display()
            );
        }
        for cap in [16, 61, 1000] {
            assert_eq!(
                trace_with(&good, true, cap),
                events,
                "{} with a {cap}-byte buffer",
                f.display()
            );
        }
        if f.file_name().is_some_and(|n| n == "types-nochecksum.rdb") {
            for _ in 0..40 {
                let mut bad = good.clone();
                let at = rng.below(bad.len() as u64) as usize;
                bad[at] ^= (rng.below(255) + 1) as u8;
                let events = trace(&bad, false);
                assert_eq!(trace(&bad, true), events, "{} flip at {at}", f.display());
                assert_eq!(
                    trace_in_memory(&bad, true),
                    events,
                    "{} flip at {at}, in memory",
                    f.display()
                );
                assert_eq!(
                    trace_in_memory(&bad, false),
                    events,
                    "{} flip at {at}, in memory",
                    f.display()
                );
                let cut = rng.below(good.len() as u64) as usize;
                let events = trace(&good[..cut], false);
                assert_eq!(
                    trace(&good[..cut], true),
                    events,
                    "{} cut at {cut}",
                    f.display()
                );
                assert_eq!(
                    trace_in_memory(&good[..cut], true),
                    events,
                    "{} cut at {cut}, in memory",
                    f.display()
                );
            }
        }
    }
    assert!(files.len() > 60);
}

/// Hashtable-encoded values with a duplicate member or field, or a NaN score:
/// the visitor (in place, or across a small buffer's end) reports the same
/// error at the same offset as the event path.
#[test]
fn visit_value_reports_duplicates_and_nan_scores_like_the_event_path() {
    fn string(b: &mut Vec<u8>, s: &[u8]) {
        b.push(s.len() as u8);
        b.extend_from_slice(s);
    }
    let nan = f64::NAN.to_le_bytes();
    let one = 1.0f64.to_le_bytes();
    // (type, key, elements as raw bytes)
    // (type, elements as raw bytes, the error expected)
    let cases: Vec<(u8, Vec<u8>, Option<&str>)> = vec![
        (
            2,
            b"\x03\x01a\x01b\x01a".to_vec(),
            Some("duplicate set member"),
        ),
        (2, b"\x03\x01a\x01b\x01c".to_vec(), None),
        (
            5,
            [b"\x02\x01a".as_slice(), &one, b"\x01a", &one].concat(),
            Some("duplicate zset member"),
        ),
        (
            5,
            [b"\x02\x01a".as_slice(), &one, b"\x01b", &nan].concat(),
            Some("NaN"),
        ),
        (
            4,
            b"\x02\x01f\x01x\x01f\x01y".to_vec(),
            Some("duplicate hash field"),
        ),
        (4, b"\x02\x01f\x01x\x01g\x01y".to_vec(), None),
    ];
    for (ty, body, expect) in cases {
        let mut b = b"REDIS0009\xfe\x00".to_vec();
        // A filler key first, so that the value under test starts at an odd
        // place in small buffers.
        b.push(0);
        string(&mut b, b"filler");
        string(&mut b, b"0123456789abcdef");
        b.push(ty);
        string(&mut b, b"key");
        b.extend_from_slice(&body);
        b.push(0xff);
        b.extend_from_slice(&[0; 8]);
        let events = trace(&b, false);
        let last = events.last().unwrap();
        match expect {
            Some(msg) => assert!(last.starts_with("error") && last.contains(msg), "{last}"),
            None => assert!(!events.iter().any(|l| l.starts_with("error")), "{events:?}"),
        }
        assert_eq!(trace_in_memory(&b, true), events, "type {ty}, in memory");
        for cap in [16, 17, 20, 23, 29, 1 << 16] {
            assert_eq!(
                trace_with(&b, true, cap),
                events,
                "type {ty}, {cap}-byte buffer"
            );
        }
    }
}
