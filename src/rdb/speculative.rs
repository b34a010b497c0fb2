//! Processing a mapped RDB on several threads without following its structure
//! first: [`map_chunks_speculative`].
//!
//! [`super::parallel::map_chunks_in`] has one thread walk every record of the
//! file (frame-only) to cut it into chunks at key boundaries; on a 187 MB file
//! that walk is about an eighth of all the CPU time of a check, taken from the
//! workers. When the whole file is in memory, the cuts can be guessed instead
//! ([`find_boundary`]) and proven afterwards:
//!
//! - A chunk's reader starts at the chunk's start and stops at the first record
//!   boundary at or after the chunk's guessed end ([`Chunk::stop`]; its bytes
//!   go on past the guess, so it can finish a record that crosses it).
//! - Results are taken in file order. The first chunk starts where a reader of
//!   the whole file met its first key: a true record boundary. A result whose
//!   chunk started where the taken results so far end (a true boundary, by
//!   induction) is the reading of the file from there: it is taken, and its
//!   reader's stopping point is the next true boundary.
//! - Where no cut can be guessed near a target (inside a value larger than the
//!   scan), the cut is found by walking the records from the previous cut
//!   (`walk_to`), a guess like the others as far as the proof goes.
//! - If the guess was right, the chunk before stopped exactly at it, and the next
//!   chunk's result is taken as is. If not, the chunk before went past it (the
//!   first boundary at or after a wrong guess is later): the next chunk's result
//!   is dropped, and the stretch from where the taken results end to that
//!   chunk's own guessed end is read again on this thread (a repair), from a
//!   true boundary. A wrong guess costs one chunk's work, never a wrong result.
//!
//! Anything else ends the run with `None` and the caller uses the walk, which
//! then reports what is wrong exactly as it always did: a reader error (in a
//! result taken as the file's reading: a corrupt file), no `EOF` opcode at the
//! end, a checksum mismatch, a broken header, a file without keys. A broken file
//! thus costs one abandoned pass more; a valid one never goes through the walk.
//!
//! The database selected at the start of a chunk is not known when it is cut
//! (the `SELECTDB` records before it are in other chunks): chunks are read with
//! [`UNKNOWN_DB`] (the first one with its true database), each worker reports
//! the database selected at its end, and the sink gets every taken result with
//! the database selected at its start, to put in place of [`UNKNOWN_DB`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};

use super::Error;
use super::parallel::{Chunk, Mapped, Settings, next_job, next_result};
use super::reader::{Checksum, Event, Options, Reader};
use super::types::Format;
use crate::io::{Crc64, Input, Memory, Source};

/// The database of a chunk's keys before the chunk's first `SELECTDB`, when the
/// chunk was cut without following the file (see the module documentation).
pub const UNKNOWN_DB: u64 = u64::MAX;

/// Whole key records a guessed cut must be followed by.
pub const PROBE_KEYS: usize = 16;

/// Keys a probe reads before the record where it cuts.
pub const PROBE_SKIP: usize = 8;

/// Positions tried after a target offset before giving up on a guess there
/// (the cut is then found by walking from the previous one: [`walk_to`]).
const SCAN: u64 = 64 << 10;

/// Longest key name a probe reads: a random byte taken for a key length would
/// otherwise have each wrong try copy up to 16 KiB. A record with a longer key
/// is never taken for a cut (the search goes on past it, or walks).
const PROBE_KEY_LIMIT: u64 = 1024;

/// Bytes a probe may read past its position.
const PROBE_WINDOW: u64 = 4 << 20;

/// Bytes all the probes of one search may look at together (bytes skipped
/// over by a length cost nothing: the file is in memory, see
/// [`Source::skipped`]): a value that looks like records for a while cannot
/// make a search expensive. On a real 187 MB file, the median search looks at
/// 0.3 MB and one in ten at more than 2.8 MB.
const PROBE_BUDGET: u64 = 4 << 20;

/// Bytes a worker's chunk goes on past its guessed end, to finish the record
/// that crosses it. A record that goes on further is finished by a repair on
/// the delivering thread (with the rest of the file), so that a chunk that
/// started at a wrong guess cannot read (or allocate) far.
const OVERRUN: u64 = 1 << 20;

/// How a chunk's reader finished, reported with its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The reader ended without an error.
    pub clean: bool,
    /// Where it stopped: the first record boundary at or after
    /// [`Chunk::stop`], or just after the trailer when it read the `EOF` opcode.
    pub end: u64,
    /// The database selected at the end of the chunk ([`UNKNOWN_DB`] when the
    /// chunk has no `SELECTDB` and started with it).
    pub end_db: u64,
    /// Offset of the `EOF` opcode, when the chunk reached it.
    pub eof: Option<u64>,
}

/// The end of a file whose reading was all taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// Offset of the `EOF` opcode.
    pub eof: u64,
    /// Offset just after the trailer.
    pub end: u64,
    /// Trailer status (a mismatch abandons the run instead).
    pub checksum: Checksum,
}

/// A guessed cut, from the thread that guesses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// The next chunk ends at the first record boundary at or after this.
    At(u64),
    /// The next chunk is the last one.
    End,
}

/// A job for a worker: the chunk from `start` with its records ending at the
/// first boundary at or after `stop`.
#[derive(Clone, Copy)]
struct Job {
    index: usize,
    start: u64,
    stop: u64,
    db: u64,
}

/// Runs `work` over chunks of the mapped RDB `m.data`, cut at guessed record
/// boundaries (see the module documentation), on `settings.threads` workers.
/// `on_event` sees the records before the first key (header, aux fields,
/// functions, module aux, `SELECTDB`), each with the offset where it starts;
/// `sink` gets each taken result in file order with the database selected at
/// the start of its chunk, and returns false to abandon the run. Returns `None`
/// when the run was abandoned (see the module documentation): the caller then
/// uses the walk-first path. Pages are released (`m.release`) as results are
/// taken. `work` must read each chunk with [`Chunk::reader`] (or a reader that
/// stops the same way) and report how it ended in its [`Outcome`].
pub fn map_chunks_speculative<T, E, W, S>(
    m: Mapped<'_>,
    settings: Settings,
    on_event: E,
    work: W,
    sink: S,
) -> Option<End>
where
    T: Send,
    E: FnMut(&Event<'_>, u64),
    W: Fn(Chunk<'_>) -> (T, Outcome) + Sync,
    S: FnMut(T, u64) -> bool,
{
    map_chunks_guessed(m, settings, Mode::default(), on_event, work, sink).ok()
}

/// How [`map_chunks_guessed`] runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// Chunks are read with a guess at the database selected at their start
    /// (the one selected where the taken results end when the chunk is handed
    /// out) instead of [`UNKNOWN_DB`]; a result whose guess proves wrong is
    /// read again on the calling thread with the right one. For a worker whose
    /// output depends on the database (a dump), and costs nothing on a file
    /// with one database.
    pub guess_db: bool,
    /// A result that failed where a chunk truly starts (a broken value, a cut
    /// file: what the walk would report too) is handed to the sink (which
    /// reports what it read before the error) and ends the run
    /// ([`Stop::Abandoned`], the sink knows why), instead of abandoning it
    /// unseen; a checksum mismatch and a file without its `EOF` record end it
    /// with their own [`Stop`]. For a caller that writes as it goes and
    /// cannot start again with the walk.
    pub deliver_errors: bool,
    /// `threads - 1` workers, and the calling thread reads a chunk itself
    /// whenever one is queued while it would otherwise wait (as
    /// [`super::parallel::map_chunks_shared`]): on a machine whose other CPUs
    /// are busy the run costs about what one thread costs.
    pub caller_runs: bool,
}

/// Why [`map_chunks_guessed`] ended without reading the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Nothing was handed to the sink and no thread started: no key record
    /// was found by a reader of the whole file (a file without keys, a broken
    /// header or aux field); the walk reports it.
    NoKeys,
    /// The sink returned false, a guess could not be proven, or (without
    /// [`Mode::deliver_errors`]) a result failed; results may have been handed
    /// to the sink before.
    Abandoned,
    /// Every record was read, and the CRC-64 in the trailer after the `EOF`
    /// opcode at `eof` is not the file's.
    Mismatch {
        /// Offset of the `EOF` opcode.
        eof: u64,
        /// The stored checksum.
        stored: u64,
        /// The checksum of the file's bytes.
        computed: u64,
    },
    /// Every record up to `at` was read, and the file ends there without its
    /// `EOF` record.
    NoEof {
        /// Where the records end.
        at: u64,
    },
}

/// Where the results taken so far end, and what they found.
struct Taken {
    /// A true record boundary: where the last taken result's reader stopped.
    at: u64,
    /// The database selected there.
    db: u64,
    /// The `EOF` opcode and the end of the trailer, once a result reached it.
    eof: Option<(u64, u64)>,
    failed: bool,
    /// The CRC-64 of the file's first `crc.len()` bytes: the head, then the
    /// chunks' bytes (to their guessed end), in order.
    crc: Crc64,
}

/// A chunk's result, and the CRC-64 of the chunk's bytes up to its guessed
/// end (computed by the thread that read it, which gives its pages back
/// afterwards; `None` for the last chunk, which holds the trailer).
struct Done<T> {
    job: Job,
    t: T,
    o: Outcome,
    crc: Option<Crc64>,
}

/// [`map_chunks_speculative`] with a [`Mode`]; ends with the file's [`End`]
/// or why it stopped.
#[allow(clippy::too_many_lines)]
pub fn map_chunks_guessed<T, E, W, S>(
    m: Mapped<'_>,
    settings: Settings,
    mode: Mode,
    mut on_event: E,
    work: W,
    mut sink: S,
) -> Result<End, Stop>
where
    T: Send,
    E: FnMut(&Event<'_>, u64),
    W: Fn(Chunk<'_>) -> (T, Outcome) + Sync,
    S: FnMut(T, u64) -> bool,
{
    let data = m.data;
    let len = data.len() as u64;
    // The records before the first key, read in full (their checks are the
    // walk's); the first key's record is where the first chunk starts. That
    // record starts at its first prefix opcode (an expire, idle or frequency),
    // and a file may hold other records (an aux field, a SELECTDB) between
    // that opcode and the key, as Redis accepts: the first chunk reads (and
    // reports) those, so the head hands over only the records that start
    // before the first chunk's start. One pass finds it, a second delivers.
    let head_reader = || {
        Reader::with_options(
            Source::new(Memory(data)).with_size(len),
            Options {
                verify_checksum: settings.verify_checksum,
                frame_only: true,
            },
        )
    };
    let mut head = head_reader();
    let (first, db0) = loop {
        match head.next_event() {
            Ok(Some(Event::KeyStart(k))) => break (k.offset, k.db),
            Ok(Some(Event::Eof { .. }) | None) | Err(_) => return Err(Stop::NoKeys),
            Ok(Some(_)) => {}
        }
    };
    let (format, version) = (head.format(), head.version());
    let mut head = head_reader();
    // A record that starts before the first chunk ends at or before it.
    while head.offset() < first {
        let at = head.offset();
        match head.next_event() {
            Ok(Some(ev)) => on_event(&ev, at),
            _ => break,
        }
    }
    drop(head);

    // A chunk's bytes: from its start to OVERRUN past its guessed end, or to
    // the end of the file for a repair.
    let chunk = |job: Job, to_end: bool| {
        let upto = if to_end {
            len
        } else {
            job.stop.saturating_add(OVERRUN).min(len)
        };
        Chunk {
            index: job.index,
            start: job.start,
            bytes: &data[job.start as usize..upto as usize],
            stop: job.stop,
            db: job.db,
            format,
            version,
        }
    };
    let threads = settings.threads.max(1);
    let workers = if mode.caller_runs {
        threads - 1
    } else {
        threads
    };
    let chunk_size = settings.chunk_size.max(1);
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(threads);
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (res_tx, res_rx) = mpsc::channel::<Done<T>>();
    let work = &work;
    let chunk = &chunk;
    // A chunk read where it was cut (by a worker, or here): its bytes' CRC is
    // computed with it, and its pages are given back as soon as it is read (a
    // result may wait a while for the ones before it to be taken; the pages
    // of a chunk queued are not touched before a thread reads it).
    let read = |job: Job| {
        let crc = (settings.verify_checksum && job.stop < len).then(|| {
            let mut c = Crc64::new();
            c.update(&data[job.start as usize..job.stop as usize]);
            c
        });
        let (t, o) = work(chunk(job, false));
        if let Some(p) = m.pages {
            p.release_range(job.start, job.stop);
        }
        Done { job, t, o, crc }
    };
    let read = &read;

    std::thread::scope(|scope| {
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let res_tx = res_tx.clone();
            scope.spawn(move || {
                while let Some(job) = next_job(&job_rx) {
                    if res_tx.send(read(job)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(res_tx);
        // The oldest chunk waiting in the queue, for this thread to read.
        // (`try_lock`: a worker waiting for a job holds the lock while the
        // queue is empty, and only this thread fills it.)
        let queued = || job_rx.try_lock().ok().and_then(|rx| rx.try_recv().ok());

        // Taking results in file order.
        let mut pending: BTreeMap<usize, Done<T>> = BTreeMap::new();
        let mut next_out = 0usize;
        let mut st = Taken {
            at: first,
            db: db0,
            eof: None,
            failed: false,
            crc: Crc64::new(),
        };
        if settings.verify_checksum {
            st.crc.update(&data[..first as usize]);
        }
        // Takes (or drops, or repairs) one result; false when the run ends.
        let mut take = |st: &mut Taken, job: Job, t: T, o: Outcome| -> bool {
            if st.eof.is_some() {
                // Past the records (bytes after the trailer): not the file's.
                return true;
            }
            // A chunk read again here starts where the taken results end, with
            // the database selected there.
            let again = |start: u64| Job {
                start,
                db: if mode.guess_db { st.db } else { UNKNOWN_DB },
                ..job
            };
            let (t, o) = if job.start == st.at {
                if !o.clean && job.stop.saturating_add(OVERRUN) < len {
                    // Maybe a record running past the chunk's bytes: read it
                    // again with the rest of the file.
                    work(chunk(again(job.start), true))
                } else if mode.guess_db && job.db != st.db {
                    // Read with the wrong database.
                    work(chunk(again(job.start), false))
                } else {
                    (t, o)
                }
            } else if job.start < st.at && st.at < job.stop {
                // The chunk before went past this chunk's (wrong) start: read
                // from where it stopped to this chunk's guessed end.
                work(chunk(again(st.at), true))
            } else if job.start < st.at {
                // Wholly read by the chunk before.
                return true;
            } else {
                return false;
            };
            if !o.clean || o.end < st.at {
                // From a true boundary: what the walk would find too.
                if mode.deliver_errors && o.end >= st.at {
                    sink(t, st.db);
                }
                return false;
            }
            let start_db = st.db;
            if o.end_db != UNKNOWN_DB {
                st.db = o.end_db;
            }
            if !sink(t, start_db) {
                return false;
            }
            st.at = o.end;
            if let Some(at) = o.eof {
                st.eof = Some((at, o.end));
            }
            (m.release)(st.at);
            true
        };
        let mut take_ready =
            |st: &mut Taken, pending: &mut BTreeMap<usize, Done<T>>, next_out: &mut usize| {
                while let Some(d) = pending.remove(next_out) {
                    *next_out += 1;
                    // The chunks' bytes tile the file from the first key to the
                    // last chunk, whatever their readers found.
                    if let Some(c) = &d.crc {
                        st.crc.combine(c);
                    }
                    if !st.failed && !take(st, d.job, d.t, d.o) {
                        st.failed = true;
                    }
                }
            };
        // One result more (when `blocking`, waiting for one; sharing, first
        // reading a queued chunk here instead), then the results next in
        // order; false when none came and none was taken.
        let mut deliver = |blocking: bool,
                           st: &mut Taken,
                           pending: &mut BTreeMap<usize, Done<T>>,
                           next_out: &mut usize| {
            let own = if mode.caller_runs && blocking {
                queued().map(read)
            } else {
                None
            };
            let got = own.or_else(|| next_result(&res_rx, blocking && workers > 0));
            let any = got.is_some();
            if let Some(d) = got {
                pending.insert(d.job.index, d);
            }
            let before = *next_out;
            take_ready(st, pending, next_out);
            any || *next_out > before
        };

        // The cuts, guessed on a thread of their own that runs a little ahead
        // of the workers (guessing costs a few percent of checking). Its lead
        // is bounded: the pages its guesses read stay resident until the
        // results before them are taken.
        let (cut_tx, cut_rx) = mpsc::sync_channel::<Cut>(threads + 1);
        scope.spawn(move || {
            let mut pos = first;
            loop {
                // No guess near a target (a value larger than the scan, say):
                // the chunk grows to the next target, up to a point.
                let target = pos.saturating_add(chunk_size);
                let cut = if target.saturating_add(chunk_size / 2) >= len {
                    Cut::End
                } else if let Some(c) = find_boundary(data, target, format, version) {
                    Cut::At(c)
                } else {
                    // No guess near the target (a value larger than the
                    // scan, say): walk there from the last cut instead.
                    walk_to(data, pos, target, format, version).map_or(Cut::End, Cut::At)
                };
                if cut_tx.send(cut).is_err() {
                    return;
                }
                match cut {
                    Cut::At(c) => pos = c,
                    Cut::End => return,
                }
            }
        });
        // Hand out chunks; the CRC follows the cuts.
        let mut pos = first;
        let mut sent = 0usize;
        let max_in_flight = if mode.caller_runs {
            4 * threads + 4
        } else {
            2 * threads + 2
        };
        loop {
            let stop = match cut_rx.recv() {
                Ok(Cut::At(c)) => c,
                Ok(Cut::End) => len,
                Err(_) => {
                    st.failed = true;
                    break;
                }
            };
            let job = Job {
                index: sent,
                start: pos,
                stop,
                db: if sent == 0 {
                    db0
                } else if mode.guess_db {
                    st.db
                } else {
                    UNKNOWN_DB
                },
            };
            sent += 1;
            // Sharing, a full queue means the workers are busy: read the
            // oldest queued chunk here instead of waiting for room, and queue
            // this one (reading this one, the newest, would have its result
            // wait for the queued ones: more results held at a time).
            let sent_ok = if mode.caller_runs {
                match job_tx.try_send(job) {
                    Ok(()) => Ok(()),
                    Err(mpsc::TrySendError::Full(job)) => {
                        let left = match queued() {
                            Some(old) => {
                                let d = read(old);
                                pending.insert(d.job.index, d);
                                match job_tx.try_send(job) {
                                    Ok(()) => None,
                                    Err(
                                        mpsc::TrySendError::Full(job)
                                        | mpsc::TrySendError::Disconnected(job),
                                    ) => Some(job),
                                }
                            }
                            None => Some(job),
                        };
                        if let Some(job) = left {
                            let d = read(job);
                            pending.insert(d.job.index, d);
                        }
                        Ok(())
                    }
                    Err(mpsc::TrySendError::Disconnected(_)) => Err(()),
                }
            } else {
                job_tx.send(job).map_err(|_| ())
            };
            if sent_ok.is_err() {
                st.failed = true;
                break;
            }
            if stop == len {
                break;
            }
            pos = stop;
            while deliver(false, &mut st, &mut pending, &mut next_out) {}
            while !st.failed && sent.saturating_sub(next_out) > max_in_flight {
                if !deliver(true, &mut st, &mut pending, &mut next_out) {
                    break;
                }
            }
            if st.failed {
                break;
            }
        }
        drop(cut_rx);
        drop(job_tx);
        while next_out < sent {
            if !deliver(true, &mut st, &mut pending, &mut next_out) {
                st.failed = true;
                break;
            }
        }
        if st.failed {
            return Err(Stop::Abandoned);
        }
        let (eof, end) = st.eof.ok_or(Stop::NoEof { at: st.at })?;
        let checksum = if version >= 5 {
            let stored = data
                .get(eof as usize + 1..eof as usize + 9)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
                .ok_or(Stop::Abandoned)?;
            // The CRC covers everything up to the EOF opcode included.
            Checksum::of_trailer(stored, settings.verify_checksum, || {
                let through = eof + 1;
                let mut crc = st.crc.clone();
                if through < crc.len() {
                    crc = Crc64::new();
                }
                crc.update(&data[crc.len() as usize..through as usize]);
                crc.value()
            })
            .map_err(|computed| Stop::Mismatch {
                eof,
                stored,
                computed,
            })?
        } else {
            Checksum::Absent
        };
        Ok(End { eof, end, checksum })
    })
}

/// How a chunk's records from `from` (a record boundary inside it, where
/// database `db` is selected) end, following them frame-only to the chunk's
/// stopping point, as [`Chunk::reader`] would stop: for a worker that reads a
/// chunk only up to a record (a dump leaves a key too large to hold rendered
/// to the thread that writes) and must still report its [`Outcome`].
pub fn frame_outcome(chunk: &Chunk<'_>, from: u64, db: u64) -> Outcome {
    let end = chunk.start + chunk.bytes.len() as u64;
    let data = usize::try_from(from.saturating_sub(chunk.start))
        .ok()
        .and_then(|a| chunk.bytes.get(a..))
        .unwrap_or_default();
    let src = Source::new(Memory(data))
        .with_size(end)
        .with_start_offset(from);
    let mut r = Reader::for_fragment_with(
        src,
        chunk.format,
        chunk.version,
        db,
        Options {
            verify_checksum: false,
            frame_only: true,
        },
    );
    r.stop_at(chunk.stop);
    let mut eof = None;
    let clean = loop {
        let at = r.offset();
        match r.next_event() {
            Ok(Some(Event::KeyStart(_))) => {
                if r.skip_value().is_err() {
                    break false;
                }
            }
            Ok(Some(Event::Eof { .. })) => {
                eof = Some(at);
                break true;
            }
            Ok(Some(_)) => {}
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    Outcome {
        clean,
        end: r.offset(),
        end_db: r.db(),
        eof,
    }
}

/// A guess at a record boundary at or after `from`, to be proven by the worker
/// of the chunk before it. From each position within 64 KiB (`SCAN`) that can
/// start a record, a frame-only reader tries to read [`PROBE_KEYS`] whole key
/// records in a row (or fewer, followed by the end of the file's records); the
/// first position where it succeeds is not taken as such (the first "record"
/// read from a wrong position may swallow real records and land, by chance,
/// on a real boundary, after which the rest parses for real), but the start of
/// the record after the first [`PROBE_SKIP`] keys: by then the reader follows
/// the file's own structure unless a long run of chances says otherwise (and
/// then the proof fails and the stretch is repaired).
pub fn find_boundary(data: &[u8], from: u64, format: Format, version: u32) -> Option<u64> {
    let len = data.len() as u64;
    let stop = from.saturating_add(SCAN).min(len);
    let mut budget = PROBE_BUDGET;
    let mut p = from;
    while p < stop {
        if plausible_start(data[p as usize]) {
            let (cut, used) = probe(data, p, format, version);
            if cut.is_some() {
                return cut;
            }
            budget = budget.checked_sub(used)?;
        }
        p += 1;
    }
    None
}

/// The first key record at or after `target`, found by walking the records
/// from `pos` with a frame-only reader (what the walk-first path does for the
/// whole file): for stretches where no cut can be guessed, such as values
/// larger than the scan. From a true boundary `pos` the result is one too;
/// from a wrong guess it is as wrong, and proven wrong like any guess. `None`
/// when the walk meets the end of the records or an error first: the chunk
/// from `pos` is then the last one.
fn walk_to(data: &[u8], pos: u64, target: u64, format: Format, version: u32) -> Option<u64> {
    let mut r = frame_reader(data, pos, data.len() as u64, format, version);
    walk_keys(&mut r, |at| at >= target).ok().flatten()
}

/// Follows the records of a frame-only reader (the values of keys skipped):
/// the offset of the first key record for which `stop` holds, `Ok(None)` at
/// the end of the records (its `EOF` opcode, or the end of its input), or the
/// reader's first error.
pub fn walk_keys<R: Input>(
    r: &mut Reader<R>,
    mut stop: impl FnMut(u64) -> bool,
) -> Result<Option<u64>, Error> {
    loop {
        match r.next_event()? {
            Some(Event::KeyStart(k)) => {
                if stop(k.offset) {
                    return Ok(Some(k.offset));
                }
                r.skip_value()?;
            }
            Some(Event::Eof { .. }) | None => return Ok(None),
            Some(_) => {}
        }
    }
}

/// A frame-only reader of the records of `data[from..to]` (absolute offsets,
/// database [`UNKNOWN_DB`]), read in place.
fn frame_reader(
    data: &[u8],
    from: u64,
    to: u64,
    format: Format,
    version: u32,
) -> Reader<Memory<'_>> {
    let src = Source::new(Memory(&data[from as usize..to as usize]))
        .with_size(to)
        .with_start_offset(from);
    Reader::for_fragment_with(
        src,
        format,
        version,
        UNKNOWN_DB,
        Options {
            verify_checksum: false,
            frame_only: true,
        },
    )
}

/// Whether a record can start with byte `b`: a value type, or an opcode that
/// may come between keys (expire, LRU, LFU, `SELECTDB`, `RESIZEDB`).
fn plausible_start(b: u8) -> bool {
    matches!(b, 0..=5 | 7 | 9..=25 | 0xf8 | 0xf9 | 0xfb..=0xfe)
}

/// Reads whole records from `p` with a frame-only reader. Returns where to cut
/// (the start of the record of key number [`PROBE_SKIP`] + 1) when
/// [`PROBE_KEYS`] keys were read, or that key and the end of the file's records
/// after it; and how many bytes were read.
fn probe(data: &[u8], p: u64, format: Format, version: u32) -> (Option<u64>, u64) {
    let len = data.len() as u64;
    let end = p.saturating_add(PROBE_WINDOW).min(len);
    let mut r = frame_reader(data, p, end, format, version);
    r.limit_keys(PROBE_KEY_LIMIT);
    let mut keys = 0usize;
    let mut cut = None;
    let ok = loop {
        match r.next_event() {
            Ok(Some(Event::KeyStart(k))) => {
                if keys == PROBE_SKIP {
                    cut = Some(k.offset);
                }
                if r.skip_value().is_err() {
                    break false;
                }
                keys += 1;
                if keys >= PROBE_KEYS {
                    break true;
                }
            }
            // The end of the records, ending the file exactly, or the end of
            // a window that reaches the file's end.
            Ok(Some(Event::Eof { end: e, .. })) => break e == len,
            Ok(None) => break end == len,
            Ok(Some(_)) => {}
            Err(_) => break false,
        }
    };
    (cut.filter(|_| ok), r.offset() - p - r.source().skipped())
}
