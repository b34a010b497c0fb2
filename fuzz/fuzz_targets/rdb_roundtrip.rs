//! Any RDB file the check finds valid, read into the model, written back by
//! the RDB writer (the version it was read as, clamped to what the writer
//! writes: 9 to 12) and read again, holds the same items: keys, values,
//! expiries, LRU/LFU, functions and aux fields the writer keeps. The CRC-64
//! trailer is recomputed unless it is zero.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redis_persist::io::Source;
use redis_persist::model::{Entry, FunctionLibrary};
use redis_persist::rdb::check::{self, CheckOptions};
use redis_persist::rdb::writer::{WriterOptions, write_all};
use redis_persist::rdb::{Entries, Item, Reader};

fn read(bytes: &[u8]) -> Option<(u32, Vec<FunctionLibrary>, Vec<Entry>)> {
    let mut e = Entries::new(Reader::new(Source::new(bytes).with_size(bytes.len() as u64)));
    let (mut version, mut functions, mut entries) = (0, Vec::new(), Vec::new());
    loop {
        match e.next_item() {
            Ok(Some(Item::Header { version: v, .. })) => version = v,
            Ok(Some(Item::Function(f))) => functions.push(f),
            Ok(Some(Item::Entry(en))) => entries.push(*en),
            Ok(Some(_)) => {}
            Ok(None) => return Some((version, functions, entries)),
            Err(_) => return None,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    let n = bytes.len();
    if n > 17 && bytes[n - 8..] != [0; 8] {
        let crc = redis_persist::io::crc64(&bytes[..n - 8]);
        bytes[n - 8..].copy_from_slice(&crc.to_le_bytes());
    }
    let opts = CheckOptions {
        now_ms: 0,
        ..CheckOptions::default()
    };
    let report = check::check(
        Reader::new(Source::new(&bytes[..]).with_size(n as u64)),
        opts,
    )
    .0;
    if !report.is_ok() {
        return;
    }
    let (version, functions, entries) = read(&bytes).expect("valid for check, unreadable by dump");
    let wopts = WriterOptions::for_version(version.clamp(9, 12));
    let written = match write_all(Vec::new(), wopts, &functions, entries.clone(), |_| (0, 0)) {
        Ok(w) => w,
        // What the target version cannot hold (a value type newer than it).
        Err(_) => return,
    };
    let (_, functions2, entries2) = read(&written).expect("our own output is unreadable");
    assert_eq!(format!("{functions:?}"), format!("{functions2:?}"));
    assert_eq!(entries.len(), entries2.len());
    for (a, b) in entries.iter().zip(&entries2) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
});
