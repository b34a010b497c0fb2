//! Replays RESP AOF files with the replay engine and writes the dataset as an
//! RDB file: the library half of `convert-aof-to-hybrid`, for benchmarking
//! (`benches/replay_write.sh`) until the command exists.
//!
//! Usage: `replay_write OUT.rdb FILE.aof [FILE.aof …]` (files replayed in order,
//! each starting in db 0; RESP only).
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::time::Instant;

use redis_persist::rdb::writer::{AofMarker, WriterOptions};
use redis_persist::replay::Engine;

/// A minimal RESP command splitter over a memory map (the real AOF reader
/// lives in `redis_persist::aof`).
fn commands(data: &[u8], mut f: impl FnMut(&[&[u8]])) -> Result<(), String> {
    let mut p = 0;
    let mut args: Vec<&[u8]> = Vec::new();
    let line = |p: &mut usize| -> Result<&[u8], String> {
        let start = *p;
        let nl = memchr(&data[start..]).ok_or("truncated line")?;
        *p = start + nl + 1;
        Ok(&data[start..start + nl.saturating_sub(1)])
    };
    while p < data.len() {
        match data[p] {
            b'#' => {
                line(&mut p)?;
            }
            b'*' => {
                let l = line(&mut p)?;
                let n: usize = std::str::from_utf8(&l[1..])
                    .map_err(|e| e.to_string())?
                    .parse()
                    .map_err(|e| format!("{e}"))?;
                args.clear();
                for _ in 0..n {
                    let l = line(&mut p)?;
                    let len: usize = std::str::from_utf8(&l[1..])
                        .map_err(|e| e.to_string())?
                        .parse()
                        .map_err(|e| format!("{e}"))?;
                    let end = p + len;
                    if end + 2 > data.len() {
                        return Err("truncated bulk".into());
                    }
                    args.push(&data[p..end]);
                    p = end + 2;
                }
                f(&args);
            }
            b => return Err(format!("unexpected byte {b} at {p}")),
        }
    }
    Ok(())
}

fn memchr(h: &[u8]) -> Option<usize> {
    h.iter().position(|&b| b == b'\n')
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, files) = args
        .split_first()
        .ok_or("usage: replay_write OUT.rdb FILE.aof…")?;
    let t0 = Instant::now();
    let mut engine = Engine::new();
    let mut n = 0u64;
    for f in files {
        // Read the whole file (benchmark only; the AOF reader streams).
        let data = std::fs::read(f)?;
        engine.start_file();
        let mut fatal = None;
        commands(&data, |a| {
            n += 1;
            if fatal.is_none() {
                if let Err(e) = engine.apply(a) {
                    fatal = Some(e);
                }
            }
        })?;
        if let Some(e) = fatal {
            return Err(Box::new(e));
        }
        engine.finish_file();
    }
    let t1 = Instant::now();
    let ds = engine.dataset();
    let w = std::io::BufWriter::new(std::fs::File::create(out)?);
    let opts = WriterOptions {
        aof: AofMarker::Aof,
        ..WriterOptions::default()
    };
    let mut w = ds.write_rdb(w, opts)?;
    w.flush()?;
    let t2 = Instant::now();
    println!(
        "commands {n} keys {} errors {} replay {:.2}s write {:.2}s total {:.2}s",
        ds.key_count(),
        engine.stats().errors,
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64(),
        (t2 - t0).as_secs_f64()
    );
    Ok(())
}
