//! Any RDB file the check finds valid, read into the model, written back by
//! the RDB writer (the version it was read as, clamped to what the writer
//! writes: 9 to 12) and read again, holds the same items: keys, values,
//! expiries, LRU/LFU and functions. Order is compared only where it means
//! something: set members, hash fields and zset members may come back in
//! another order (the writer sorts an intset and a zset by score, as Redis
//! does), stream groups, consumers and PELs too. The CRC-64 trailer is
//! recomputed unless it is zero.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redis_persist::model::{Entry, FunctionLibrary, Value};
use redis_persist::rdb::check::{self, CheckOptions};
use redis_persist::rdb::writer::{WriterOptions, write_all};
use redis_persist::rdb::{Entries, Item, Reader};

#[path = "../../tests/it/common/paths.rs"]
#[allow(dead_code)]
mod paths;

fn read(bytes: &[u8]) -> Option<(u32, Vec<FunctionLibrary>, Vec<Entry>)> {
    let mut e = Entries::new(Reader::new(paths::src(bytes)));
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

/// `e` with its unordered collections in one order.
fn canonical(mut e: Entry) -> Entry {
    match &mut e.value {
        Value::Set(s) => s.sort(),
        Value::Hash(h) => h.sort_by(|a, b| a.field.cmp(&b.field)),
        Value::Zset(z) => {
            for m in z.iter_mut() {
                // -0 and 0 are one score.
                if m.1 == 0.0 {
                    m.1 = 0.0;
                }
            }
            z.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Value::Stream(s) => {
            s.groups.sort_by(|a, b| a.name.cmp(&b.name));
            for g in &mut s.groups {
                g.pel.sort_by_key(|p| p.id);
                g.consumers.sort_by(|a, b| a.name.cmp(&b.name));
                for c in &mut g.consumers {
                    c.pel.sort();
                }
            }
        }
        _ => {}
    }
    e
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    paths::fix_crc_trailer(&mut bytes);
    let opts = CheckOptions {
        now_ms: 0,
        ..CheckOptions::default()
    };
    let report = check::check(Reader::new(paths::src(&bytes)), opts).0;
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
    for (a, b) in entries.into_iter().zip(entries2) {
        let (x, y) = (format!("{:?}", canonical(a)), format!("{:?}", canonical(b)));
        if x != y {
            let at = x
                .bytes()
                .zip(y.bytes())
                .position(|(p, q)| p != q)
                .unwrap_or(x.len().min(y.len()));
            let from = at.saturating_sub(300);
            panic!(
                "differs at char {at}:\n  read    …{}…\n  written …{}…",
                x.get(from..(at + 300).min(x.len())).unwrap_or(""),
                y.get(from..(at + 300).min(y.len())).unwrap_or("")
            );
        }
    }
});
