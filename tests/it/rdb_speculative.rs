//! Chunks cut at guessed record boundaries (`rdb::speculative`, used by
//! `check-rdb` on mapped files): the report is the walk's report, wrong guesses
//! are repaired, and files where no cut can be guessed, or broken files, fall
//! back to the walk. (The corruption sweep in `rdb_corruption.rs` also compares
//! the guessed report with the walk's on every corpus file it uses and checks
//! that no broken file gets a guessed report.)

use crate::common;

use std::collections::BTreeMap;
use std::sync::Mutex;

use redis_persist::io::{Source, crc64};
use redis_persist::rdb::check::{self, CheckOptions, Report};
use redis_persist::rdb::parallel::{Chunk, Mapped, Pages, Settings};
use redis_persist::rdb::speculative::{
    Mode, Outcome, Stop, UNKNOWN_DB, map_chunks_guessed, map_chunks_speculative,
};
use redis_persist::rdb::{Event, Reader};

fn put_len(b: &mut Vec<u8>, n: usize) {
    if n < 64 {
        b.push(n as u8);
    } else if n < 1 << 14 {
        b.push(0x40 | (n >> 8) as u8);
        b.push(n as u8);
    } else {
        b.push(0x80);
        b.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn put_str(b: &mut Vec<u8>, s: &[u8]) {
    put_len(b, s.len());
    b.extend_from_slice(s);
}

/// A version-9 RDB: `keys` string keys (some with an expire) whose values come
/// from `value(i)`, a `SELECTDB 3` half-way, and a valid CRC.
fn rdb(keys: usize, value: impl Fn(usize) -> Vec<u8>) -> Vec<u8> {
    let mut b = b"REDIS0009".to_vec();
    b.push(0xfa);
    put_str(&mut b, b"redis-ver");
    put_str(&mut b, b"7.0.15");
    b.extend_from_slice(&[0xfe, 0x00]);
    for i in 0..keys {
        if i == keys / 2 {
            b.extend_from_slice(&[0xfe, 0x03]);
        }
        if i % 7 == 0 {
            b.push(0xfc);
            b.extend_from_slice(&(4_000_000_000_000i64 + i as i64).to_le_bytes());
        }
        b.push(0);
        put_str(&mut b, format!("key:{i}").as_bytes());
        put_str(&mut b, &value(i));
    }
    seal(&mut b);
    b
}

/// Ends a file: the EOF opcode and the CRC of everything before it.
fn seal(b: &mut Vec<u8>) {
    b.push(0xff);
    let crc = crc64(b);
    b.extend_from_slice(&crc.to_le_bytes());
}

fn opts() -> CheckOptions {
    CheckOptions {
        now_ms: 0,
        chunk_size: 4096,
        ..CheckOptions::default()
    }
}

fn walk(data: &[u8]) -> Report {
    let src = Source::new(data).with_size(data.len() as u64);
    check::check_parallel(src, opts(), 3).0
}

fn guessed(data: &[u8]) -> Option<Report> {
    check::check_guessed(
        Mapped {
            data,
            release: &|_| {},
            pages: None,
        },
        opts(),
        3,
    )
}

/// Runs the driver directly: the keys (db, name) of the results taken, in
/// order, and how many times each chunk index was read (twice: a repair).
/// Keys as (database, name).
type Keys = Vec<(u64, Vec<u8>)>;

fn keys_and_reads(data: &[u8]) -> (Option<Keys>, BTreeMap<usize, usize>) {
    keys_and_reads_with(data, None, &|_| {})
}

/// [`keys_and_reads`] with the mapping's `pages`, and `done` called with each
/// chunk's start once its reader finished.
fn keys_and_reads_with(
    data: &[u8],
    pages: Option<&dyn Pages>,
    done: &(dyn Fn(u64) + Sync),
) -> (Option<Keys>, BTreeMap<usize, usize>) {
    let reads = Mutex::new(BTreeMap::new());
    let mut keys = Vec::new();
    let end = map_chunks_speculative(
        Mapped {
            data,
            release: &|_| {},
            pages,
        },
        Settings {
            threads: 3,
            chunk_size: 4096,
            verify_checksum: true,
        },
        |_, _| {},
        |chunk| {
            *reads.lock().unwrap().entry(chunk.index).or_insert(0) += 1;
            let res = chunk_keys(&chunk);
            done(chunk.start);
            res
        },
        |got, start_db| {
            keys.extend(
                got.into_iter()
                    .map(|(db, k)| (if db == UNKNOWN_DB { start_db } else { db }, k)),
            );
            true
        },
    );
    (end.map(|_| keys), reads.into_inner().unwrap())
}

/// Reads a chunk as a worker must: its keys (database, name), and how its
/// reader ended.
fn chunk_keys(chunk: &Chunk<'_>) -> (Keys, Outcome) {
    let mut r = chunk.reader();
    let mut got = Vec::new();
    let mut eof = None;
    let clean = loop {
        match r.next_event() {
            Ok(Some(Event::KeyStart(k))) => got.push((k.db, k.key.to_vec())),
            Ok(Some(Event::Eof { offset, .. })) => eof = Some(offset),
            Ok(Some(_)) => {}
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    let o = Outcome {
        clean,
        end: r.offset(),
        end_db: r.db(),
        eof,
    };
    (got, o)
}

/// The sequential check of a valid file, after asserting that the walk and
/// the guessed chunks give the same report.
fn every_path_agrees(data: &[u8]) -> Report {
    let seq = check::check(
        Reader::new(Source::new(data).with_size(data.len() as u64)),
        opts(),
    )
    .0;
    assert!(seq.is_ok(), "{:?}", seq.problems);
    let w = walk(data);
    assert_eq!(format!("{w:?}"), format!("{seq:?}"), "walk vs sequential");
    let g = guessed(data).expect("a valid file gets a guessed report");
    assert_eq!(format!("{g:?}"), format!("{w:?}"), "guessed vs walk");
    seq
}

fn sequential_keys(data: &[u8]) -> Keys {
    let mut r = Reader::new(Source::new(data).with_size(data.len() as u64));
    let mut keys = Vec::new();
    while let Some(ev) = r.next_event().unwrap() {
        if let Event::KeyStart(k) = ev {
            keys.push((k.db, k.key.to_vec()));
        }
    }
    keys
}

#[test]
fn guessed_cuts_give_the_walks_report() {
    let data = rdb(3000, |i| vec![b'a' + (i % 26) as u8; i % 90]);
    let (keys, reads) = keys_and_reads(&data);
    assert!(reads.len() > 10, "only {} chunks", reads.len());
    assert_eq!(keys.expect("abandoned"), sequential_keys(&data));
    let g = guessed(&data).expect("abandoned");
    assert!(g.is_ok());
    assert_eq!(format!("{g:?}"), format!("{:?}", walk(&data)));
    assert_eq!(g.dbs.len(), 2);
}

/// Records the ranges given back, each checked to be a chunk whose reader
/// finished.
#[derive(Default)]
struct Recorder {
    finished: Mutex<std::collections::HashSet<u64>>,
    released: Mutex<Vec<(u64, u64)>>,
}

impl Pages for Recorder {
    fn release_range(&self, from: u64, to: u64) {
        assert!(
            self.finished.lock().unwrap().contains(&from),
            "pages from {from} given back before a reader of the chunk there finished"
        );
        self.released.lock().unwrap().push((from, to));
    }
}

/// A mapping that gives pages back by range gets each chunk's range once its
/// reader is done with it (together the whole file from the first key), and
/// the results are
/// the same; the CRC of the file, computed from the chunks' parts, is still
/// checked (a wrong stored checksum is a mismatch, with the file's CRC).
#[test]
fn chunks_give_their_pages_back_once_read() {
    let data = rdb(3000, |i| vec![b'a' + (i % 26) as u8; i % 90]);
    let rec = Recorder::default();
    let done = |start| {
        rec.finished.lock().unwrap().insert(start);
    };
    let (keys, reads) = keys_and_reads_with(&data, Some(&rec), &done);
    assert_eq!(keys.expect("abandoned"), sequential_keys(&data));
    let mut ranges = rec.released.into_inner().unwrap();
    ranges.sort_unstable();
    assert_eq!(ranges.len(), reads.len(), "{ranges:?} {reads:?}");
    // The first key's record starts at its expire, after `SELECTDB 0`.
    let first_key = data.windows(3).position(|w| w == [0xfe, 0, 0xfc]).unwrap() as u64 + 2;
    assert_eq!(ranges[0].0, first_key);
    for w in ranges.windows(2) {
        assert_eq!(w[0].1, w[1].0, "ranges not contiguous: {ranges:?}");
    }
    assert_eq!(ranges.last().unwrap().1, data.len() as u64);

    let mut bad = data.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    for threads in [1, 2, 3] {
        let res = map_chunks_guessed(
            Mapped {
                data: &bad,
                release: &|_| {},
                pages: None,
            },
            Settings {
                threads,
                chunk_size: 4096,
                verify_checksum: true,
            },
            Mode {
                caller_runs: threads > 1,
                ..Mode::default()
            },
            |_, _| {},
            |chunk| ((), chunk_keys(&chunk).1),
            |(), _| true,
        );
        assert_eq!(
            res,
            Err(Stop::Mismatch {
                eof: n as u64 - 9,
                stored: u64::from_le_bytes(bad[n - 8..].try_into().unwrap()),
                computed: crc64(&data[..n - 8]),
            }),
            "{threads} threads"
        );
    }
}

/// Values that are themselves runs of well-formed string-key records: a probe
/// inside one reads 16 "keys" and guesses a cut that is not a boundary. The
/// chunk before reads past it, the next chunk's result is dropped and its
/// stretch read again: same keys, same report.
#[test]
fn wrong_guesses_are_repaired() {
    let nested = |_: usize| {
        let mut v = Vec::new();
        while v.len() < 1500 {
            v.extend_from_slice(b"\x00\x03abc\x03xyz");
        }
        v
    };
    let data = rdb(400, nested);
    let (keys, reads) = keys_and_reads(&data);
    assert!(
        reads.values().any(|&n| n > 1),
        "no chunk was read again: {reads:?}"
    );
    assert_eq!(keys.expect("abandoned"), sequential_keys(&data));
    let g = guessed(&data).expect("abandoned");
    assert!(g.is_ok());
    assert_eq!(g.keys, 400);
    assert_eq!(format!("{g:?}"), format!("{:?}", walk(&data)));
}

/// A stretch where no record can start (a value of 0xff bytes, much longer
/// than a chunk): no cut is guessed in it, the chunk grows over it (a value is
/// one worker's, as with the walk); same keys, same report.
#[test]
fn a_stretch_without_guesses_grows_the_chunk() {
    let data = rdb(200, |i| {
        if i == 50 {
            vec![0xff; 300_000]
        } else {
            vec![b'v'; 40]
        }
    });
    let (keys, reads) = keys_and_reads(&data);
    assert!(reads.len() > 2);
    assert_eq!(keys.expect("abandoned"), sequential_keys(&data));
    let g = guessed(&data).expect("abandoned");
    assert_eq!(format!("{g:?}"), format!("{:?}", walk(&data)));
    let src = Source::new(&data[..]).with_size(data.len() as u64);
    let mapped = check::check_parallel_in(
        src,
        Some(Mapped {
            data: &data,
            release: &|_| {},
            pages: None,
        }),
        opts(),
        3,
    )
    .0;
    assert!(mapped.is_ok());
    assert_eq!(mapped.keys, 200);
    assert_eq!(format!("{mapped:?}"), format!("{:?}", walk(&data)));
}

/// A file without keys, and broken files: no guessed report.
#[test]
fn broken_or_keyless_files_get_no_guessed_report() {
    let empty = rdb(0, |_| Vec::new());
    assert!(guessed(&empty).is_none());
    let data = rdb(3000, |i| vec![b'x'; i % 50]);
    let mut bad = data.clone();
    let n = bad.len();
    bad[n / 2] ^= 0x20;
    assert!(guessed(&bad).is_none());
    assert!(guessed(&data[..n - 3]).is_none());
    assert!(!walk(&bad).is_ok());
}

/// A key found again in a later chunk: the guessed run gives up (the walk
/// reports the duplicate, with the key).
#[test]
fn duplicate_keys_across_chunks_go_to_the_walk() {
    let renamed = |to: &[u8]| {
        let mut data = rdb(3000, |i| vec![b'd'; i % 70]);
        let at = data
            .windows(9)
            .position(|w| w == b"\x08key:2900")
            .expect("key:2900");
        data[at + 1..at + 9].copy_from_slice(to);
        let n = data.len();
        let crc = crc64(&data[..n - 8]);
        data[n - 8..].copy_from_slice(&crc.to_le_bytes());
        data
    };
    // The same name in another database (key:1000 is in db 0) is no
    // duplicate: the databases of the chunks are put right first.
    let other_db = renamed(b"key:1000");
    let g = guessed(&other_db).expect("abandoned");
    assert!(g.is_ok());
    assert_eq!(format!("{g:?}"), format!("{:?}", walk(&other_db)));
    let data = renamed(b"key:2000");
    // Both keys are in the second half (db 3), chunks apart.
    assert!(guessed(&data).is_none());
    let w = walk(&data);
    assert!(!w.is_ok());
    assert!(
        w.problems
            .iter()
            .any(|p| p.message.contains("duplicate key")
                && p.key.as_deref() == Some(b"key:2000".as_slice())),
        "{:?}",
        w.problems
    );
}

/// Records between a key's expire opcode and the key (an aux field and a
/// SELECTDB here; Redis reads them and keeps the expire for the key) belong to
/// the first key's record, where the first chunk starts: reported once, as the
/// walk and a sequential check report them. (Found by mutating corpus files.)
#[test]
fn records_inside_the_first_keys_prefix_are_reported_once() {
    let mut b = b"REDIS0009".to_vec();
    b.push(0xfa);
    put_str(&mut b, b"redis-ver");
    put_str(&mut b, b"7.0.15");
    b.extend_from_slice(&[0xfe, 0x00]);
    b.push(0xfc);
    b.extend_from_slice(&4_000_000_000_000i64.to_le_bytes());
    b.push(0xfa);
    put_str(&mut b, b"used-mem");
    put_str(&mut b, b"1234");
    b.extend_from_slice(&[0xfe, 0x02]);
    for i in 0..2000 {
        b.push(0);
        put_str(&mut b, format!("key:{i}").as_bytes());
        put_str(&mut b, format!("value {i}").as_bytes());
    }
    seal(&mut b);
    let seq = every_path_agrees(&b);
    let aux: Vec<&[u8]> = seq.aux.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(aux, [&b"redis-ver"[..], b"used-mem"]);
    assert_eq!((seq.keys, seq.expires), (2000, 1));
    assert_eq!(seq.dbs.keys().copied().collect::<Vec<_>>(), [2]);
}

/// An expire opcode right before EOF, with no key after it: Redis reads it and
/// forgets it, and so do the sequential check, the walk (whose last chunk used
/// to end inside that unfinished record), the guessed chunks and `stats`.
/// (Found by mutating corpus files.)
#[test]
fn a_dangling_expire_before_eof_is_ignored_by_every_path() {
    let mut b = rdb(3000, |i| format!("v{i}").into_bytes());
    let crc_at = b.len() - 9;
    assert_eq!(b[crc_at], 0xff);
    b.truncate(crc_at);
    b.push(0xfd);
    b.extend_from_slice(&2_000_000_000u32.to_le_bytes());
    seal(&mut b);
    let seq = every_path_agrees(&b);
    assert_eq!(seq.keys, 3000);
    let an = common::paths::stats_deep(&b, 4096);
    assert!(an.is_complete(), "{:?}", an.problems);
}
