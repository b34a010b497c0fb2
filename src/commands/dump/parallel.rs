//! Dumping a large RDB on several cores, in file order and bounded memory, with
//! [`map_chunks_until`]: this thread follows the file's structure without looking
//! inside values (a frame-only reader, which also verifies the CRC-64) and cuts
//! it into chunks of whole key records ([`CHUNK`] bytes by default); worker
//! threads read each chunk in full (deep validation, as in the sequential path)
//! and render it into their own buffer with a fork of the renderer; this thread
//! writes the rendered chunks in file order ([`Render::join`] makes the output
//! identical to the sequential one). Only a few chunks are in flight at a time,
//! so memory stays bounded (by the largest single value, at worst).
//!
//! Records before the first key (header, aux fields, functions) are rendered
//! here; records after it are part of the chunks and rendered by the workers, so
//! everything keeps its file order.
//!
//! Errors: a chunk that fails (a corrupt value found by the deep reader) has its
//! valid keys written, then the dump stops with its error; a structural error
//! found by this thread stops the framing, the complete records before it are
//! still dumped, then its error is returned. Either way everything valid before
//! the first error is written, and nothing after it.

use std::cell::RefCell;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use redis_persist::io::Source;
use redis_persist::rdb::parallel::{Chunk, Mapped, Settings, map_chunks_in};
use redis_persist::rdb::{self, Entries, Event};

use super::filter::Filter;
use super::rdb::{End, Failure, drive};
use super::render::{Meta, Render, Stats};

/// Default target size of a chunk of key records handed to a worker.
pub const CHUNK: u64 = 1 << 20;

/// A rendered chunk.
struct Done<S> {
    out: Vec<u8>,
    side: S,
    stats: Stats,
    error: Option<rdb::Error>,
}

/// Output buffers handed back by the writer for the next chunks: rendering into
/// a buffer that already has its capacity avoids regrowing (copying) it and
/// faulting in fresh pages for every chunk.
#[derive(Default)]
struct Pool(Mutex<Vec<Vec<u8>>>);

impl Pool {
    fn get(&self, want: usize) -> Vec<u8> {
        let v = self.0.lock().ok().and_then(|mut p| p.pop());
        let mut v = v.unwrap_or_default();
        v.clear();
        v.reserve(want);
        v
    }

    fn put(&self, v: Vec<u8>) {
        if let Ok(mut p) = self.0.lock() {
            // Enough for the chunks in flight; larger buffers (a huge value) are
            // not kept.
            if p.len() < 16 && v.capacity() <= 64 << 20 {
                p.push(v);
            }
        }
    }
}

/// What the framing callback and the sink share (on this thread).
struct Writer<'a, Rn: Render> {
    render: &'a mut Rn,
    pool: &'a Pool,
    sink: &'a mut dyn FnMut(&[u8]) -> io::Result<()>,
    /// The first key was met: later records belong to the chunks.
    in_keys: bool,
    end: Option<End>,
    failed: Option<Failure>,
}

impl<Rn: Render> Writer<'_, Rn> {
    fn write(&mut self, b: &[u8]) {
        if self.failed.is_none() && !b.is_empty() {
            if let Err(e) = (self.sink)(b) {
                self.failed = Some(Failure::Io(e));
            }
        }
    }

    /// A framing event (this thread, in file order, before the chunk holding it).
    fn event(&mut self, ev: &Event<'_>) {
        let mut head = Vec::new();
        match *ev {
            Event::KeyStart(_) => self.in_keys = true,
            Event::Eof { end, checksum, .. } => {
                self.end = Some(End {
                    checksum: Some(checksum),
                    offset: end,
                });
            }
            // After the first key, records are rendered with their chunk.
            _ if self.in_keys => {}
            Event::Header { format, version } => {
                self.render
                    .meta(&mut head, &Meta::Header { format, version });
            }
            Event::Aux { name, value } => self.render.meta(&mut head, &Meta::Aux { name, value }),
            Event::Function { code } => self.render.meta(&mut head, &Meta::Function { code }),
            Event::SlotInfo {
                slot,
                keys,
                expires,
            } => self.render.meta(
                &mut head,
                &Meta::SlotInfo {
                    slot,
                    keys,
                    expires,
                },
            ),
            Event::SlotImport { job, ranges } => {
                self.render
                    .meta(&mut head, &Meta::SlotImport { job, ranges });
            }
            Event::ModuleAux { module, when } => {
                let type_name = module.type_name();
                self.render.meta(
                    &mut head,
                    &Meta::ModuleAux {
                        type_name: &type_name,
                        encver: module.encver,
                        when,
                        data: module.data,
                    },
                );
            }
            _ => {}
        }
        self.write(&head);
    }

    /// A rendered chunk (in file order).
    fn chunk(&mut self, d: Done<Rn::Side>) {
        if self.failed.is_some() {
            return;
        }
        let out = self.render.join(&d.side, &d.out);
        self.write(out);
        self.render.merge(d.side, &d.stats);
        self.pool.put(d.out);
        if let Some(e) = d.error {
            if self.failed.is_none() {
                self.failed = Some(Failure::Rdb(e));
            }
        }
    }
}

/// Dumps the RDB in `src` with `threads` workers, in chunks of about
/// `chunk_bytes` bytes. `sink` receives the output in order.
pub fn run<R: redis_persist::io::Input, Rn: Render>(
    src: Source<R>,
    mapped: Option<Mapped<'_>>,
    threads: usize,
    chunk_bytes: u64,
    filter: &Filter,
    render: &mut Rn,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<End, Failure> {
    let proto = render.fork();
    let pool = Pool::default();
    let w = RefCell::new(Writer {
        render,
        pool: &pool,
        sink,
        in_keys: false,
        end: None,
        failed: None,
    });
    // Once the output failed (an error in a chunk, a closed pipe), the framing
    // stops and the chunks still in flight are not rendered.
    let stop = AtomicBool::new(false);
    let (_src, res) = map_chunks_in(
        src,
        mapped,
        Settings {
            threads: threads.max(1),
            chunk_size: chunk_bytes,
            verify_checksum: true,
        },
        &stop,
        |ev| w.borrow_mut().event(ev),
        |chunk| {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            Some(render_chunk(&proto, filter, &chunk, &pool))
        },
        |done| {
            let mut w = w.borrow_mut();
            if let Some(d) = done {
                w.chunk(d);
            }
            if w.failed.is_some() {
                stop.store(true, Ordering::Relaxed);
            }
        },
    );
    let mut w = w.into_inner();
    if let Some(f) = w.failed.take() {
        return Err(f);
    }
    res?;
    w.end.ok_or_else(|| {
        Failure::Rdb(rdb::Error::corrupt(
            0,
            "the file ended without its EOF record",
        ))
    })
}

/// Reads and renders one chunk (in a worker thread).
fn render_chunk<Rn: Render>(
    proto: &Rn,
    filter: &Filter,
    chunk: &Chunk<'_>,
    pool: &Pool,
) -> Done<Rn::Side> {
    let mut entries = Entries::new(chunk.reader());
    let mut r = proto.fork();
    // JSON is about twice the size of the RDB on typical data, more with hex.
    let mut out = pool.get(chunk.bytes.len() * 3 + 1024);
    let res = drive(
        &mut entries,
        filter,
        &mut r,
        &mut out,
        usize::MAX,
        &mut |_| Ok(()),
    );
    let (side, stats) = r.take();
    Done {
        out,
        side,
        stats,
        error: match res {
            Ok(_) => None,
            Err(Failure::Rdb(e)) => Some(e),
            // The worker writes nothing itself and reads only the RDB.
            Err(Failure::Io(e)) => Some(rdb::Error::corrupt(chunk.start, format!("internal: {e}"))),
            Err(Failure::Other(e)) => {
                Some(rdb::Error::corrupt(chunk.start, format!("internal: {e:#}")))
            }
        },
    }
}
