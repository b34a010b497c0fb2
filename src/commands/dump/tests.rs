//! The three ways `dump` reads keys give the same output on every corpus RDB:
//! the sequential RDB event loop, the parallel path (with tiny chunks, so that
//! every file is cut into many), and the generic item path (whole entries, where
//! a replayed dataset plugs in). Broken inputs stop at the same place in both RDB
//! paths, with the same output before the error.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

use redis_persist::io::Source;
use redis_persist::rdb::{Entries, Event, Reader};

use super::filter::Filter;
use super::jsonl::{JsonRender, Mode};
use super::rdb::{Failure, Reread, drive};
use super::render::Render;
use super::resp::{RespRender, Settings};
use super::stream::Out;
use super::{items, parallel};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("REDIS_PERSIST_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
        PathBuf::from,
    );
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "the corpus is required in CI (set REDIS_PERSIST_CORPUS)"
    );
    eprintln!("NOTICE: corpus not found: dump equivalence tests skipped");
    None
}

fn corpus_rdbs(corpus: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for d in std::fs::read_dir(corpus).unwrap() {
        let d = d.unwrap().path();
        if !d.join("expected.json").is_file() {
            continue;
        }
        for f in std::fs::read_dir(&d).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|x| x == "rdb") {
                files.push(f);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 60, "{} corpus RDB files", files.len());
    files
}

const NOW: i64 = 1_795_484_581_652;

type MakeRender = Box<dyn Fn() -> AnyRender>;

fn renderers() -> Vec<(&'static str, MakeRender)> {
    vec![
        (
            "jsonl",
            Box::new(|| AnyRender::Json(JsonRender::new(Mode::Lines { meta: true }))),
        ),
        (
            "json",
            Box::new(|| AnyRender::Json(JsonRender::new(Mode::Document))),
        ),
        (
            "resp",
            Box::new(|| {
                AnyRender::Resp(RespRender::new(Settings {
                    batch: 7,
                    replace: false,
                    include_expired: true,
                    now_ms: NOW,
                }))
            }),
        ),
    ]
}

enum AnyRender {
    Json(JsonRender),
    Resp(RespRender),
}

/// Output and error message of a dump through `path` = "seq", "par" or "items".
fn run_one(bytes: &[u8], how: &str, threads: usize, r: AnyRender) -> (Vec<u8>, Option<String>) {
    match r {
        AnyRender::Json(r) => run_with(bytes, how, threads, r),
        AnyRender::Resp(r) => run_with(bytes, how, threads, r),
    }
}

fn run_with<Rn: Render>(
    bytes: &[u8],
    how: &str,
    threads: usize,
    mut r: Rn,
) -> (Vec<u8>, Option<String>) {
    let filter = Filter::all(NOW);
    let mut got = Vec::new();
    let mut sink = |b: &[u8]| {
        got.extend_from_slice(b);
        Ok(())
    };
    let mut out = Out::with_sink(Vec::new(), &mut sink);
    // "…-small": every value of more than a few bytes is rendered in pieces,
    // and every key of more than a few bytes of output is read again (or
    // handed to the writing thread), as a huge one is.
    let how = match how.strip_suffix("-small") {
        Some(h) => {
            (out.piece, out.big) = (3, 8);
            h
        }
        None => how,
    };
    let src = || Source::new(bytes).with_size(bytes.len() as u64);
    let res = match how {
        "seq" => {
            let mut entries = Entries::new(Reader::new(src()));
            let reread = Reread::Bytes {
                start: 0,
                data: bytes,
            };
            drive(&mut entries, &filter, &mut r, &mut out, 4096, reread)
        }
        "par" => parallel::run(src(), None, threads, 4096, &filter, &mut r, &mut out),
        "items" => {
            let mut entries = Entries::new(Reader::new(src()));
            let mut it = std::iter::from_fn(|| match entries.next_item() {
                Ok(Some(i)) => Some(Ok(i)),
                Ok(None) => None,
                Err(e) => Some(Err(anyhow::Error::new(e))),
            });
            items::drive(&mut it, &filter, &mut r, &mut out, 4096)
        }
        other => unreachable!("{other}"),
    };
    let (checksum, err) = match res {
        Ok(end) => (end.checksum, None),
        Err(Failure::Rdb(e)) => (None, Some(e.to_string())),
        Err(Failure::Other(e)) => (None, Some(format!("{e:#}"))),
        Err(Failure::Io(e)) => panic!("io error {e}"),
    };
    r.finish(&mut out, checksum, err.as_deref());
    out.flush().unwrap();
    drop(out);
    (got, err)
}

/// The generic path knows no RDB encodings: drop them before comparing.
fn without_encodings(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out).into_owned();
    let mut s = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("\"encoding\":") {
        s.push_str(&rest[..i]);
        rest = &rest[i + "\"encoding\":".len()..];
        let end = if let Some(quoted) = rest.strip_prefix('"') {
            quoted.find('"').map_or(rest.len(), |j| j + 2)
        } else {
            "null".len()
        };
        rest = &rest[end..];
    }
    s.push_str(rest);
    s
}

/// `s` without its `--meta` lines of `SLOT_INFO` / `SLOT_IMPORT` records.
fn without_slot_records(s: &[u8]) -> Vec<u8> {
    s.split_inclusive(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"{\"record\":\"slot_"))
        .flatten()
        .copied()
        .collect()
}

#[test]
fn sequential_parallel_and_generic_paths_agree_on_the_corpus() {
    let Some(corpus) = corpus() else { return };
    for path in corpus_rdbs(&corpus) {
        let bytes = std::fs::read(&path).unwrap();
        for (name, mk) in renderers() {
            let (seq, e1) = run_one(&bytes, "seq", 1, mk());
            assert!(e1.is_none(), "{}: {e1:?}", path.display());
            for threads in [1, 2, 3] {
                let (par, e2) = run_one(&bytes, "par", threads, mk());
                assert!(e2.is_none(), "{}: {e2:?}", path.display());
                assert!(
                    seq == par,
                    "{} {name}: parallel ({threads} threads) differs",
                    path.display()
                );
            }
            // Values rendered in pieces and keys read again give the same
            // bytes.
            for how in ["seq-small", "par-small"] {
                let (small, e) = run_one(&bytes, how, 2, mk());
                assert!(e.is_none(), "{} {how}: {e:?}", path.display());
                assert!(seq == small, "{} {name}: {how} differs", path.display());
            }
            let (gen_out, e3) = run_one(&bytes, "items", 1, mk());
            assert!(e3.is_none(), "{}: {e3:?}", path.display());
            // The generic path renders `Item`s, which hold the dataset: no
            // SLOT_INFO / SLOT_IMPORT records (file-level sizing and
            // migration state, which `--meta` shows from the reader's events).
            assert_eq!(
                without_encodings(&without_slot_records(&seq)),
                without_encodings(&gen_out),
                "{} {name}: generic path differs",
                path.display()
            );
        }
    }
}

/// The record range (offset, end) of `key` in an RDB.
fn record_of(bytes: &[u8], key: &[u8]) -> (u64, u64) {
    let mut r = Reader::new(Source::new(bytes).with_size(bytes.len() as u64));
    let mut start = None;
    while let Some(ev) = r.next_event().unwrap() {
        match ev {
            Event::KeyStart(k) if k.key == key => start = Some(k.offset),
            Event::KeyEnd(e) if start.is_some() => return (start.unwrap(), e.end),
            _ => {}
        }
    }
    panic!("no key {key:?}")
}

#[test]
fn broken_inputs_stop_at_the_same_place_in_both_paths() {
    let Some(corpus) = corpus() else { return };
    let path = corpus.join("redis-7.0.15/types-nocompress.rdb");
    let good = std::fs::read(&path).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [10, 4000, good.len() / 3, good.len() / 2, good.len() - 5] {
        cases.push((format!("cut at {cut}"), good[..cut].to_vec()));
    }
    // A value only deep validation catches (the frame-only reader skips it): the
    // end marker of a listpack.
    for key in [&b"hash:small"[..], b"zset:small", b"list:small"] {
        let (_, end) = record_of(&good, key);
        let mut bad = good.clone();
        bad[end as usize - 1] = 0x00;
        cases.push((format!("corrupt {}", String::from_utf8_lossy(key)), bad));
    }
    for (what, bytes) in cases {
        for (name, mk) in renderers() {
            let (seq, e1) = run_one(&bytes, "seq", 1, mk());
            assert!(e1.is_some(), "{what} {name}: no error");
            for threads in [1, 2] {
                let (par, e2) = run_one(&bytes, "par", threads, mk());
                assert!(e2.is_some(), "{what} {name}: no error in parallel");
                let before = |o: &[u8]| {
                    // The JSON document ends with the error message itself.
                    let t = String::from_utf8_lossy(o).into_owned();
                    t.rsplit_once(",\"error\":")
                        .map_or(t.clone(), |(a, _)| a.to_string())
                };
                assert_eq!(
                    before(&seq),
                    before(&par),
                    "{what} {name}: output before the error"
                );
                // The same place (offset, key); the wording may differ when the
                // framing thread finds the problem first.
                let place = |e: &Option<String>| {
                    let e = e.as_deref().unwrap_or_default();
                    e.split("): ").next().unwrap_or(e).to_string()
                };
                assert_eq!(
                    place(&e1),
                    place(&e2),
                    "{what} {name}: error {e1:?} vs {e2:?}"
                );
            }
        }
    }
}

/// Corrupt bytes anywhere never make the dump panic or hang, in either path,
/// and both paths agree on the output before the first error.
#[test]
fn random_corruption_never_panics() {
    let Some(corpus) = corpus() else { return };
    let good = std::fs::read(corpus.join("redis-7.2.6/types.rdb")).unwrap();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..150 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut bad = good.clone();
        let at = 9 + (x % (good.len() as u64 - 9)) as usize;
        bad[at] ^= ((x >> 32) as u8) | 1;
        if round % 3 == 0 {
            bad.truncate(at + 1);
        }
        for (name, mk) in renderers() {
            let (seq, e1) = run_one(&bad, "seq", 1, mk());
            let (par, e2) = run_one(&bad, "par", 2, mk());
            assert_eq!(
                e1.is_some(),
                e2.is_some(),
                "byte {at} {name}: {e1:?} vs {e2:?}"
            );
            let before = |o: &[u8]| {
                let t = String::from_utf8_lossy(o).into_owned();
                t.rsplit_once(",\"error\":")
                    .map_or(t.clone(), |(a, _)| a.to_string())
            };
            assert!(
                before(&seq) == before(&par),
                "byte {at} {name}: outputs differ"
            );
        }
    }
}
