//! Dumping a large RDB on several cores, in file order and bounded memory, with
//! [`map_chunks_shared`]: this thread follows the file's structure without
//! looking inside values (a frame-only reader, which also verifies the CRC-64)
//! and cuts it into chunks of whole key records ([`CHUNK`] bytes by default);
//! `threads - 1` worker threads and this one read each chunk in full (deep
//! validation, as in the sequential path) and render it into a buffer of its own
//! with a fork of the renderer; this thread writes the rendered chunks in file
//! order ([`Render::join`] makes the output identical to the sequential one).
//! This thread takes a chunk itself whenever enough are queued for the workers,
//! and instead of waiting for one, so that no thread idles while work is
//! available: on a machine whose other CPUs are busy the run costs about what
//! one thread costs, instead of three threads fighting over the free CPU. Only a
//! few chunks are in flight at a time, so memory stays bounded (by the largest
//! single value, at worst); rendered buffers are recycled (`Pool`).
//!
//! Records before the first key (header, aux fields, functions) are rendered
//! here; records after it are part of the chunks and rendered by the workers, so
//! everything keeps its file order.
//!
//! A key too large to hold rendered ([`super::stream`]) is not rendered by its
//! worker, which stops before it: this thread renders it and the rest of its
//! chunk, writing the output as it goes.
//!
//! Errors: a chunk that fails (a corrupt value found by the deep reader) has its
//! valid keys written, then the dump stops with its error; a structural error
//! found by this thread stops the framing, the complete records before it are
//! still dumped, then its error is returned. Either way everything valid before
//! the first error is written, and nothing after it.

use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use redis_persist::io::{Memory, Source};
use redis_persist::rdb::parallel::{Chunk, Mapped, Settings, map_chunks_shared};
use redis_persist::rdb::speculative::{self, Mode, Outcome, Stop, frame_outcome};
use redis_persist::rdb::types::Format;
use redis_persist::rdb::{self, Entries, Event};

use super::filter::Filter;
use super::rdb::{End, Failure, Reread, drive, fragment};
use super::render::{Meta, Render, Stats};
use super::stream::Out;

/// Default target size of a chunk of key records handed to a worker.
pub const CHUNK: u64 = 1 << 20;

/// A rendered chunk.
struct Done<S> {
    out: Vec<u8>,
    side: S,
    stats: Stats,
    error: Option<rdb::Error>,
    /// The part of the chunk left to the writer (from a key too large).
    rest: Option<Rest>,
    /// How the chunk's records ended.
    outcome: Outcome,
}

/// The records of a chunk from a key too large for its worker to render.
struct Rest {
    /// Offset of the key's record.
    start: u64,
    /// End of the chunk.
    end: u64,
    db: u64,
    format: Format,
    version: u32,
    /// The bytes from `start` to `end` when the file is not mapped.
    bytes: Option<Vec<u8>>,
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
struct Writer<'a, 's, Rn: Render> {
    render: &'a mut Rn,
    pool: &'a Pool,
    out: &'a mut Out<'s>,
    filter: &'a Filter,
    /// The whole file, when mapped.
    mapped: Option<&'a [u8]>,
    /// The first key was met: later records belong to the chunks.
    in_keys: bool,
    end: Option<End>,
    failed: Option<Failure>,
}

impl<'a, 's, Rn: Render> Writer<'a, 's, Rn> {
    fn new(
        render: &'a mut Rn,
        pool: &'a Pool,
        out: &'a mut Out<'s>,
        filter: &'a Filter,
        mapped: Option<&'a [u8]>,
    ) -> Self {
        Self {
            render,
            pool,
            out,
            filter,
            mapped,
            in_keys: false,
            end: None,
            failed: None,
        }
    }

    fn write(&mut self, b: &[u8]) {
        if self.failed.is_none() && !b.is_empty() {
            if let Err(e) = self.out.write_through(b) {
                self.failed = Some(Failure::Io(e));
            }
        }
    }

    /// Renders the rest of a chunk here, writing it out as it goes.
    fn rest(&mut self, rest: &Rest) {
        let data = match (&rest.bytes, self.mapped) {
            (Some(b), _) => b.as_slice(),
            (None, Some(m)) => usize::try_from(rest.start)
                .ok()
                .zip(usize::try_from(rest.end).ok())
                .and_then(|(a, b)| m.get(a..b))
                .unwrap_or_default(),
            (None, None) => &[],
        };
        let src = Source::new(Memory(data))
            .with_size(rest.end)
            .with_start_offset(rest.start);
        let mut entries = Entries::new(fragment(src, rest.format, rest.version, rest.db));
        let reread = Reread::Bytes {
            start: rest.start,
            data,
        };
        let res = drive(
            &mut entries,
            self.filter,
            self.render,
            self.out,
            super::FLUSH_AT,
            reread,
        );
        if let Err(e) = res.and_then(|_| self.out.flush().map_err(Failure::Io)) {
            self.failed = Some(e);
        }
    }

    /// A framing event (this thread, in file order, before the chunk holding it).
    fn event(&mut self, ev: &Event<'_>) {
        let mut head = Out::new(Vec::new());
        match *ev {
            Event::KeyStart(_) => self.in_keys = true,
            Event::Eof { end, checksum, .. } => {
                self.end = Some(End {
                    checksum: Some(checksum),
                    offset: end,
                    deferred: None,
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
        if let Some(rest) = &d.rest {
            if self.failed.is_none() {
                self.rest(rest);
            }
        }
        if let Some(e) = d.error {
            if self.failed.is_none() {
                self.failed = Some(Failure::Rdb(e));
            }
        }
    }
}

/// Dumps the RDB in `src` with `threads` workers, in chunks of about
/// `chunk_bytes` bytes. The output goes to `out`'s sink, in order.
pub fn run<R: redis_persist::io::Input, Rn: Render>(
    src: Source<R>,
    mapped: Option<Mapped<'_>>,
    threads: usize,
    chunk_bytes: u64,
    filter: &Filter,
    render: &mut Rn,
    out: &mut Out<'_>,
) -> Result<End, Failure> {
    let proto = render.fork();
    let pool = Pool::default();
    let (piece, big) = (out.piece, out.big);
    let is_mapped = mapped.is_some();
    let w = RefCell::new(Writer::new(
        render,
        &pool,
        out,
        filter,
        mapped.map(|m| m.data),
    ));
    // Once the output failed (an error in a chunk, a closed pipe), the framing
    // stops and the chunks still in flight are not rendered.
    let stop = AtomicBool::new(false);
    let (_src, res) = map_chunks_shared(
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
            Some(render_chunk(
                &proto, filter, &chunk, &pool, is_mapped, piece, big,
            ))
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

/// [`run`] over a mapped file whose chunks are cut at guessed record
/// boundaries ([`speculative::map_chunks_guessed`]) instead of where a thread
/// that walks every record finds them: no thread frames the file, which is
/// most of what a second thread cost over one. The output is the same (each
/// chunk's result is taken only once proven to start where the one before it
/// ended, with the database selected there; a wrong guess costs one chunk's
/// work on this thread). `None` when the file has no key record that a reader
/// of the whole file reaches (nothing was written): the caller uses [`run`],
/// which reports what is wrong.
pub fn run_guessed<Rn: Render>(
    m: Mapped<'_>,
    threads: usize,
    chunk_bytes: u64,
    filter: &Filter,
    render: &mut Rn,
    out: &mut Out<'_>,
    progress: Option<&dyn redis_persist::io::Progress>,
) -> Option<Result<End, Failure>> {
    let proto = render.fork();
    let pool = Pool::default();
    let (piece, big) = (out.piece, out.big);
    let w = RefCell::new(Writer::new(render, &pool, out, filter, Some(m.data)));
    let stop = AtomicBool::new(false);
    let res = speculative::map_chunks_guessed(
        m,
        Settings {
            threads: threads.max(1),
            chunk_size: chunk_bytes,
            verify_checksum: true,
        },
        Mode {
            guess_db: true,
            deliver_errors: true,
            caller_runs: true,
        },
        |ev, _| w.borrow_mut().event(ev),
        |chunk| {
            if stop.load(Ordering::Relaxed) {
                let o = Outcome {
                    clean: false,
                    end: chunk.start,
                    end_db: chunk.db,
                    eof: None,
                };
                return (None, o);
            }
            let d = render_chunk(&proto, filter, &chunk, &pool, true, piece, big);
            let o = d.outcome;
            (Some(d), o)
        },
        |done, _start_db| {
            let mut w = w.borrow_mut();
            if let Some(d) = done {
                let at = d.outcome.end;
                w.chunk(d);
                if let Some(p) = progress {
                    p.set_position(at);
                }
            }
            if w.failed.is_some() {
                stop.store(true, Ordering::Relaxed);
                return false;
            }
            true
        },
    );
    let mut w = w.into_inner();
    if let Some(f) = w.failed.take() {
        return Some(Err(f));
    }
    Some(match res {
        Ok(end) => Ok(End {
            checksum: Some(end.checksum),
            offset: end.end,
            deferred: None,
        }),
        Err(Stop::NoKeys) => return None,
        // Everything before the error was written, as the walk writes it. A
        // checksum mismatch is the reader's own error at the trailer; for
        // the rest (a file cut after a record), the walk's error is found by
        // a frame-only pass.
        Err(Stop::Mismatch {
            eof,
            stored,
            computed,
        }) => Err(Failure::Rdb(rdb::Error::new(
            eof + 1,
            rdb::ErrorKind::ChecksumMismatch { stored, computed },
        ))),
        Err(Stop::NoEof { .. } | Stop::Abandoned) => Err(Failure::Rdb(walk_error(m.data))),
    })
}

/// The first error a frame-only reader of the whole file `data` meets (for a
/// run over guessed chunks that found the file broken: the error the walk
/// reports).
fn walk_error(data: &[u8]) -> rdb::Error {
    let src = Source::new(Memory(data)).with_size(data.len() as u64);
    let mut r = rdb::Reader::with_options(
        src,
        rdb::Options {
            verify_checksum: true,
            frame_only: true,
        },
    );
    match speculative::walk_keys(&mut r, |_| false) {
        Err(e) => e,
        Ok(_) => rdb::Error::corrupt(
            r.offset(),
            "the file could not be read in chunks (internal)",
        ),
    }
}

/// Reads and renders one chunk (in a worker thread).
fn render_chunk<Rn: Render>(
    proto: &Rn,
    filter: &Filter,
    chunk: &Chunk<'_>,
    pool: &Pool,
    mapped: bool,
    piece: usize,
    big: usize,
) -> Done<Rn::Side> {
    let mut entries = Entries::new(chunk.reader());
    let mut r = proto.fork();
    let guessed = chunk.stop < chunk.start + chunk.bytes.len() as u64;
    // JSON is about twice the size of the RDB on typical data, more with hex.
    let mut out = Out::new(pool.get(chunk.bytes.len() * 3 + 1024));
    (out.piece, out.big) = (piece, big);
    let res = drive(
        &mut entries,
        filter,
        &mut r,
        &mut out,
        usize::MAX,
        Reread::Defer,
    );
    let (side, stats) = r.take();
    // How the chunk's records end (for a chunk cut at a guessed boundary,
    // whose end is proven by where its reader stopped; past a deferred key,
    // found by framing the rest).
    let outcome = match &res {
        Ok(End {
            deferred: Some((start, db)),
            ..
        }) => frame_outcome(chunk, *start, *db),
        Ok(end) => Outcome {
            clean: true,
            end: end.offset,
            end_db: entries.reader().db(),
            eof: end
                .checksum
                .map(|_| end.offset - if chunk.version >= 5 { 9 } else { 1 }),
        },
        Err(_) => Outcome {
            clean: false,
            end: entries.reader().offset(),
            end_db: entries.reader().db(),
            eof: None,
        },
    };
    let rest = match &res {
        Ok(End {
            deferred: Some((start, db)),
            ..
        }) => {
            let end = if guessed {
                outcome.end
            } else {
                chunk.start + chunk.bytes.len() as u64
            };
            let from = usize::try_from(start.saturating_sub(chunk.start)).unwrap_or(usize::MAX);
            let upto = usize::try_from(end.saturating_sub(chunk.start)).unwrap_or(usize::MAX);
            Some(Rest {
                start: *start,
                end,
                db: *db,
                format: chunk.format,
                version: chunk.version,
                bytes: (!mapped).then(|| chunk.bytes.get(from..upto).unwrap_or_default().to_vec()),
            })
        }
        _ => None,
    };
    Done {
        out: out.into_inner(),
        side,
        stats,
        rest,
        outcome,
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
