//! Dumping a large RDB on several cores, in file order and bounded memory.
//!
//! This thread follows the file's structure without looking inside values (a
//! frame-only [`Reader`], which also verifies the CRC-64) and cuts it into
//! chunks of whole key records, about [`CHUNK`] bytes each by default. Worker threads read
//! each chunk in full (deep validation, as in the sequential path) with a
//! [`Reader::for_fragment`] reader and render it into its own buffer with a fork
//! of the renderer. This thread writes the rendered chunks in file order. At most
//! [`MAX_IN_FLIGHT`] chunks exist at any time (input bytes plus rendered output),
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

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, mpsc};

use redis_persist::io::Source;
use redis_persist::rdb::types::Format;
use redis_persist::rdb::{self, Entries, Event, Options, Reader};

use super::filter::Filter;
use super::rdb::{End, Failure, drive};
use super::render::{Meta, Render, Stats};

/// Default target size of a chunk of key records handed to a worker.
pub const CHUNK: u64 = 1 << 20;

/// Chunks that may exist at once (queued, being rendered, or rendered and
/// waiting for their turn to be written), per worker thread.
pub const MAX_IN_FLIGHT: usize = 3;

struct Job {
    idx: usize,
    start: u64,
    bytes: Vec<u8>,
    db: u64,
    format: Format,
    version: u32,
}

struct Done<S> {
    idx: usize,
    out: Vec<u8>,
    side: S,
    stats: Stats,
    error: Option<rdb::Error>,
}

/// Writes finished chunks in order.
struct InOrder<'a, Rn: Render> {
    pending: BTreeMap<usize, Done<Rn::Side>>,
    next: usize,
    render: &'a mut Rn,
    sink: &'a mut dyn FnMut(&[u8]) -> io::Result<()>,
    failed: Option<Failure>,
}

impl<Rn: Render> InOrder<'_, Rn> {
    fn accept(&mut self, d: Done<Rn::Side>) {
        self.pending.insert(d.idx, d);
        while self.failed.is_none() {
            let Some(d) = self.pending.remove(&self.next) else {
                break;
            };
            self.next += 1;
            let out = self.render.join(&d.side, &d.out);
            if let Err(e) = (self.sink)(out) {
                self.failed = Some(Failure::Io(e));
                break;
            }
            self.render.merge(d.side, &d.stats);
            if let Some(e) = d.error {
                self.failed = Some(Failure::Rdb(e));
            }
        }
    }
}

/// Dumps the RDB in `src` with `threads` workers, in chunks of about
/// `chunk_bytes` bytes. `sink` receives the output in order.
pub fn run<R: Read, Rn: Render>(
    src: Source<R>,
    threads: usize,
    chunk_bytes: u64,
    filter: &Filter,
    render: &mut Rn,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<End, Failure> {
    let threads = threads.max(1);
    let mut main = Reader::with_options(
        src,
        Options {
            verify_checksum: true,
            frame_only: true,
        },
    );
    main.source_mut().start_capture();
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(threads);
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (res_tx, res_rx) = mpsc::channel::<Done<Rn::Side>>();
    let max_in_flight = MAX_IN_FLIGHT * threads;

    std::thread::scope(|scope| {
        for _ in 0..threads {
            let job_rx = Arc::clone(&job_rx);
            let res_tx = res_tx.clone();
            let proto = render.fork();
            scope.spawn(move || {
                loop {
                    let job = {
                        let Ok(guard) = job_rx.lock() else { return };
                        guard.recv()
                    };
                    let Ok(job) = job else { return };
                    let done = render_chunk(&proto, filter, job);
                    if res_tx.send(done).is_err() {
                        return;
                    }
                }
            });
        }
        drop(res_tx);

        let mut w = InOrder {
            pending: BTreeMap::new(),
            next: 0,
            render,
            sink,
            failed: None,
        };
        let mut head = Vec::new();
        let mut db = 0u64;
        // (start offset, db at start) of the chunk being gathered.
        let mut chunk: Option<(u64, u64)> = None;
        let mut sent = 0usize;
        // Offset just after the last record framed without error.
        let mut last_good = 0u64;
        let mut result: Result<End, Failure> = Err(Failure::Io(io::Error::other("no end")));

        let send = |main: &mut Reader<R>,
                    upto: u64,
                    chunk_db: u64,
                    sent: &mut usize,
                    w: &mut InOrder<'_, Rn>| {
            // Bound the chunks in flight: wait for the oldest to be written.
            while *sent - w.next >= max_in_flight && w.failed.is_none() {
                match res_rx.recv() {
                    Ok(d) => w.accept(d),
                    Err(_) => break,
                }
            }
            let (format, version) = (main.format(), main.version());
            let (start, bytes) = main.source_mut().take_capture(upto);
            if !bytes.is_empty() && w.failed.is_none() {
                let job = Job {
                    idx: *sent,
                    start,
                    bytes,
                    db: chunk_db,
                    format,
                    version,
                };
                if job_tx.send(job).is_ok() {
                    *sent += 1;
                }
            }
        };

        loop {
            while let Ok(d) = res_rx.try_recv() {
                w.accept(d);
            }
            if w.failed.is_some() {
                break;
            }
            let ev = match main.next_event() {
                Ok(Some(ev)) => ev,
                Ok(None) => break,
                Err(e) => {
                    if let Some((_, cdb)) = chunk {
                        send(&mut main, last_good, cdb, &mut sent, &mut w);
                    }
                    result = Err(Failure::Rdb(e));
                    break;
                }
            };
            match ev {
                Event::KeyStart(k) => {
                    let off = k.offset;
                    match chunk {
                        None => {
                            // Records before the first key were rendered here.
                            let _ = main.source_mut().take_capture(off);
                            chunk = Some((off, db));
                        }
                        Some((start, cdb)) if off - start >= chunk_bytes => {
                            send(&mut main, off, cdb, &mut sent, &mut w);
                            chunk = Some((off, db));
                        }
                        Some(_) => {}
                    }
                    if let Err(e) = main.skip_value() {
                        if let Some((_, cdb)) = chunk {
                            send(&mut main, off, cdb, &mut sent, &mut w);
                        }
                        result = Err(Failure::Rdb(e));
                        break;
                    }
                }
                Event::SelectDb { db: d } => db = d,
                Event::Eof {
                    offset,
                    end,
                    checksum,
                } => {
                    if let Some((_, cdb)) = chunk {
                        send(&mut main, offset, cdb, &mut sent, &mut w);
                    }
                    result = Ok(End {
                        checksum: Some(checksum),
                        offset: end,
                    });
                }
                // After the first key, records belong to the chunks.
                _ if chunk.is_some() => {}
                Event::Header { format, version } => {
                    w.render.meta(&mut head, &Meta::Header { format, version });
                }
                Event::Aux { name, value } => w.render.meta(&mut head, &Meta::Aux { name, value }),
                Event::Function { code } => w.render.meta(&mut head, &Meta::Function { code }),
                Event::ModuleAux { module, when } => {
                    let type_name = module.type_name();
                    w.render.meta(
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
            last_good = main.offset();
            if !head.is_empty() {
                if let Err(e) = (w.sink)(&head) {
                    w.failed = Some(Failure::Io(e));
                }
                head.clear();
            }
        }
        drop(job_tx);
        while w.next < sent && w.failed.is_none() {
            match res_rx.recv() {
                Ok(d) => w.accept(d),
                Err(_) => break,
            }
        }
        match w.failed.take() {
            Some(f) => Err(f),
            None => result,
        }
    })
}

/// Reads and renders one chunk (in a worker thread).
fn render_chunk<Rn: Render>(proto: &Rn, filter: &Filter, job: Job) -> Done<Rn::Side> {
    let Job {
        idx,
        start,
        bytes,
        db,
        format,
        version,
    } = job;
    let end = start + bytes.len() as u64;
    let src = Source::new(&bytes[..])
        .with_size(end)
        .with_start_offset(start);
    let mut entries = Entries::new(Reader::for_fragment(src, format, version, db));
    let mut r = proto.fork();
    // JSON is about twice the size of the RDB on typical data.
    let mut out = Vec::with_capacity(bytes.len() * 2 + 1024);
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
        idx,
        out,
        side,
        stats,
        error: match res {
            Ok(_) => None,
            Err(Failure::Rdb(e)) => Some(e),
            // The worker writes nothing itself and reads only the RDB.
            Err(Failure::Io(e)) => Some(rdb::Error::new(
                start,
                rdb::ErrorKind::Corrupt(format!("internal: {e}")),
            )),
            Err(Failure::Other(e)) => Some(rdb::Error::new(
                start,
                rdb::ErrorKind::Corrupt(format!("internal: {e:#}")),
            )),
        },
    }
}
