//! Processing an RDB on several threads: [`map_chunks`].
//!
//! The calling thread follows the file's structure with a frame-only [`Reader`]
//! (lengths and opcodes, no decompression, CRC computed along the way) and cuts
//! the file into [`Chunk`]s of whole key records, about `chunk_size` bytes each:
//! copies of the bytes it read, or, for a file that is all in memory (a map,
//! [`map_chunks_in`]), slices of it.
//! Worker threads run a closure over each chunk — typically with
//! [`Chunk::reader`], a full reader of just that chunk — and the results are
//! handed to a sink on the calling thread **in file order**. At most a few chunks
//! are in flight, so memory stays bounded whatever the file size.
//!
//! File-level records (header, aux fields, functions, module aux, `SELECTDB`,
//! `KeyStart` of every key, `Eof`) are also passed to an `on_event` callback on
//! the calling thread as the framing reader meets them, before the chunk that
//! contains them is handed out.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

use super::Error;
use super::reader::{Event, Options, Reader};
use super::types::Format;
use crate::io::{Input, Memory, Source};

/// Settings of [`map_chunks`].
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Target chunk size in bytes (a chunk holds whole keys, so it can be larger).
    pub chunk_size: u64,
    /// Verify the CRC-64 trailer.
    pub verify_checksum: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            chunk_size: 1 << 20,
            verify_checksum: true,
        }
    }
}

/// A run of whole records (key records, and opcodes between them) cut from a
/// file, with what is needed to read it on its own.
#[derive(Debug)]
pub struct Chunk<'a> {
    /// Position of the chunk in the file (0, 1, 2, …).
    pub index: usize,
    /// Absolute offset of the first byte.
    pub start: u64,
    /// The bytes.
    pub bytes: &'a [u8],
    /// Where the chunk's records end: the end of `bytes` for a chunk cut by a
    /// walk; for a guessed cut ([`super::speculative`]) the guess, `bytes`
    /// going on past it so that a reader can finish a record that crosses it.
    /// [`Chunk::reader`] stops at the first record boundary at or after it.
    pub stop: u64,
    /// Database selected at the start of the chunk.
    pub db: u64,
    /// The file's format.
    pub format: Format,
    /// The file's RDB version.
    pub version: u32,
}

impl<'a> Chunk<'a> {
    /// A full reader of this chunk (absolute offsets, deep validation). It ends
    /// (`None`) at the end of the chunk. It does not verify a trailer's CRC (it
    /// has not seen the file before the chunk): a chunk that reaches the `EOF`
    /// opcode reports the trailer as unverified, and whoever cut the chunks
    /// verifies it.
    pub fn reader(&self) -> Reader<Memory<'a>> {
        let end = self.start + self.bytes.len() as u64;
        let src = Source::new(Memory(self.bytes))
            .with_size(end)
            .with_start_offset(self.start);
        let mut r = Reader::for_fragment_with(
            src,
            self.format,
            self.version,
            self.db,
            Options {
                verify_checksum: false,
                frame_only: false,
            },
        );
        r.stop_at(self.stop);
        r
    }
}

struct Job<'d> {
    index: usize,
    start: u64,
    bytes: JobBytes<'d>,
    db: u64,
    format: Format,
    version: u32,
}

/// A chunk's bytes: copied out of a stream, or borrowed from a mapped file.
enum JobBytes<'d> {
    Owned(Vec<u8>),
    Borrowed(&'d [u8]),
}

impl JobBytes<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            JobBytes::Owned(v) => v,
            JobBytes::Borrowed(b) => b,
        }
    }
}

/// Runs `work` over every chunk of the RDB in `src` on worker threads and hands
/// each result to `sink` in file order. `on_event` sees the framing reader's
/// events (never `Element` or `KeyEnd`). Returns the source (positioned after the
/// trailer when the end was reached) and the first error of the file's
/// *structure*, if any; the chunks before that point were all processed. Errors
/// inside values are the business of `work` (its chunk reader reports them).
pub fn map_chunks<R, T, E, W, S>(
    src: Source<R>,
    settings: Settings,
    on_event: E,
    work: W,
    sink: S,
) -> (Source<R>, Result<(), Error>)
where
    R: Input,
    T: Send,
    E: FnMut(&Event<'_>),
    W: Fn(Chunk<'_>) -> T + Sync,
    S: FnMut(T),
{
    let stop = AtomicBool::new(false);
    map_chunks_until(src, settings, &stop, on_event, work, sink)
}

/// [`map_chunks`] that also stops framing once `stop` is set (by the sink or
/// `on_event`, e.g. when the output was closed): no new chunk is handed out, the
/// chunks in flight are finished and delivered, and the result is `Ok`.
pub fn map_chunks_until<R, T, E, W, S>(
    src: Source<R>,
    settings: Settings,
    stop: &AtomicBool,
    on_event: E,
    work: W,
    sink: S,
) -> (Source<R>, Result<(), Error>)
where
    R: Input,
    T: Send,
    E: FnMut(&Event<'_>),
    W: Fn(Chunk<'_>) -> T + Sync,
    S: FnMut(T),
{
    map_chunks_in(src, None, settings, stop, on_event, work, sink)
}

/// The next job of a worker from the queue the workers share; `None` once the
/// queue is closed (or poisoned).
pub(super) fn next_job<J>(rx: &Mutex<mpsc::Receiver<J>>) -> Option<J> {
    let guard = rx.lock().ok()?;
    guard.recv().ok()
}

/// The next finished result, waiting for one when `blocking`; `None` when none
/// is ready (or every worker is gone).
pub(super) fn next_result<T>(rx: &mpsc::Receiver<T>, blocking: bool) -> Option<T> {
    if blocking {
        rx.recv().ok()
    } else {
        rx.try_recv().ok()
    }
}

/// A file that is all in memory (mapped), for [`map_chunks_in`].
#[derive(Clone, Copy)]
pub struct Mapped<'a> {
    /// The whole file.
    pub data: &'a [u8],
    /// Called on this thread with an offset before which no thread will read
    /// the data again in this pass (every chunk before it was delivered): a
    /// mapped file can let the pages go, so that memory stays bounded. The
    /// offsets of one pass never decrease; a lower one starts a new pass over
    /// the file (after [`super::speculative::map_chunks_speculative`] was
    /// abandoned), which reads the data again from the start.
    pub release: &'a dyn Fn(u64),
    /// Called on any thread with a range of the file a worker finished
    /// reading, when the mapping can give back the pages of a range: a
    /// chunk's pages then leave memory when its result is made, not when it is
    /// taken in file order, so that the results waiting for an earlier one
    /// cost their output only. Reading the range again (a chunk read once
    /// more) faults it back in from the page cache.
    pub pages: Option<&'a dyn Pages>,
}

/// A mapping whose pages can be given back by range, from any thread
/// ([`Mapped::pages`]).
pub trait Pages: Sync {
    /// Gives back the whole pages inside `[from, to)`.
    fn release_range(&self, from: u64, to: u64);
}

/// [`map_chunks_until`], optionally over a file that is all in memory (mapped):
/// with `mapped`, `src` must read exactly those bytes from the first one, and
/// the chunks handed to the workers are slices of them instead of copies of
/// what `src` read.
pub fn map_chunks_in<R, T, E, W, S>(
    src: Source<R>,
    mapped: Option<Mapped<'_>>,
    settings: Settings,
    stop: &AtomicBool,
    mut on_event: E,
    work: W,
    sink: S,
) -> (Source<R>, Result<(), Error>)
where
    R: Input,
    T: Send,
    E: FnMut(&Event<'_>),
    W: Fn(Chunk<'_>) -> T + Sync,
    S: FnMut(T),
{
    map_chunks_at(
        src,
        mapped,
        settings,
        stop,
        |ev, _| on_event(ev),
        work,
        sink,
    )
}

/// [`map_chunks_in`] whose `on_event` also gets the offset where the event's
/// record starts.
pub fn map_chunks_at<R, T, E, W, S>(
    src: Source<R>,
    mapped: Option<Mapped<'_>>,
    settings: Settings,
    stop: &AtomicBool,
    on_event: E,
    work: W,
    sink: S,
) -> (Source<R>, Result<(), Error>)
where
    R: Input,
    T: Send,
    E: FnMut(&Event<'_>, u64),
    W: Fn(Chunk<'_>) -> T + Sync,
    S: FnMut(T),
{
    run_chunks(
        src,
        mapped,
        settings,
        Sharing::Workers,
        stop,
        on_event,
        work,
        sink,
    )
}

/// [`map_chunks_in`] where the calling thread shares the work: it starts
/// `threads - 1` workers and, between framing records and handing results to
/// the sink, reads chunks itself whenever enough are queued to keep the workers
/// busy (and instead of waiting while any is queued). No thread waits while a
/// chunk is available, and `threads` is the number of threads that run `work`
/// (with 1 the calling thread does everything). On a machine whose other cores
/// are busy this costs little more than one thread: the framing reader only
/// runs ahead of the chunks by a few.
pub fn map_chunks_shared<R, T, E, W, S>(
    src: Source<R>,
    mapped: Option<Mapped<'_>>,
    settings: Settings,
    stop: &AtomicBool,
    mut on_event: E,
    work: W,
    sink: S,
) -> (Source<R>, Result<(), Error>)
where
    R: Input,
    T: Send,
    E: FnMut(&Event<'_>),
    W: Fn(Chunk<'_>) -> T + Sync,
    S: FnMut(T),
{
    run_chunks(
        src,
        mapped,
        settings,
        Sharing::CallerRuns,
        stop,
        |ev, _| on_event(ev),
        work,
        sink,
    )
}

/// Who reads the chunks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sharing {
    /// `threads` workers; the calling thread frames and delivers only.
    Workers,
    /// `threads - 1` workers and the calling thread.
    CallerRuns,
}

/// The queue of chunks waiting for a thread: a deque under a mutex, so that the
/// calling thread can take a chunk itself without waiting (a worker waiting for
/// work does not hold the lock).
struct Queue<J> {
    state: Mutex<QueueState<J>>,
    ready: Condvar,
    room: Condvar,
}

struct QueueState<J> {
    jobs: VecDeque<J>,
    closed: bool,
}

impl<J> Queue<J> {
    fn new(cap: usize) -> Self {
        Self {
            state: Mutex::new(QueueState {
                jobs: VecDeque::with_capacity(cap),
                closed: false,
            }),
            ready: Condvar::new(),
            room: Condvar::new(),
        }
    }

    /// Queues a job, first waiting while `cap` or more are queued.
    fn push(&self, job: J, cap: usize) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        while st.jobs.len() >= cap {
            st = match self.room.wait(st) {
                Ok(st) => st,
                Err(_) => return,
            };
        }
        st.jobs.push_back(job);
        drop(st);
        self.ready.notify_one();
    }

    /// The oldest queued job, waiting for one; `None` once closed and empty.
    fn pop_wait(&self) -> Option<J> {
        let mut st = self.state.lock().ok()?;
        loop {
            if let Some(j) = st.jobs.pop_front() {
                drop(st);
                self.room.notify_one();
                return Some(j);
            }
            if st.closed {
                return None;
            }
            st = self.ready.wait(st).ok()?;
        }
    }

    /// The oldest queued job, if any (never waits for one).
    fn try_pop(&self) -> Option<J> {
        let j = self.state.lock().ok()?.jobs.pop_front();
        if j.is_some() {
            self.room.notify_one();
        }
        j
    }

    fn len(&self) -> usize {
        self.state.lock().map_or(0, |st| st.jobs.len())
    }

    /// No more jobs: workers end once the queue is empty.
    fn close(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.closed = true;
        }
        self.ready.notify_all();
    }
}

/// Closes the queue when dropped (also when a closure panics), so that no
/// worker waits forever.
struct CloseOnDrop<'q, J>(&'q Queue<J>);

impl<J> Drop for CloseOnDrop<'_, J> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Runs `work` over one job.
fn run_job<T, W: Fn(Chunk<'_>) -> T>(work: &W, job: &Job<'_>) -> (usize, u64, T) {
    let end = job.start + job.bytes.as_slice().len() as u64;
    let chunk = Chunk {
        index: job.index,
        start: job.start,
        bytes: job.bytes.as_slice(),
        stop: end,
        db: job.db,
        format: job.format,
        version: job.version,
    };
    (job.index, end, work(chunk))
}

#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
fn run_chunks<R, T, E, W, S>(
    src: Source<R>,
    mapped: Option<Mapped<'_>>,
    settings: Settings,
    sharing: Sharing,
    stop: &AtomicBool,
    mut on_event: E,
    work: W,
    mut sink: S,
) -> (Source<R>, Result<(), Error>)
where
    R: Input,
    T: Send,
    E: FnMut(&Event<'_>, u64),
    W: Fn(Chunk<'_>) -> T + Sync,
    S: FnMut(T),
{
    let threads = settings.threads.max(1);
    let caller_runs = sharing == Sharing::CallerRuns;
    let workers = if caller_runs { threads - 1 } else { threads };
    let mut main = Reader::with_options(
        src,
        Options {
            verify_checksum: settings.verify_checksum,
            frame_only: true,
        },
    );
    if mapped.is_none() {
        main.source_mut().start_capture();
    }
    // With workers only, the framing thread waits while `threads` chunks are
    // queued; sharing, it never waits to queue one (it reads one itself when
    // enough are queued).
    let cap = if caller_runs { usize::MAX } else { threads };
    let queue = Queue::<Job<'_>>::new(threads + 1);
    let (res_tx, res_rx) = mpsc::channel::<(usize, u64, T)>();
    let work = &work;
    let queue = &queue;

    let (main, result) = std::thread::scope(|scope| {
        let _close = CloseOnDrop(queue);
        for _ in 0..workers {
            let res_tx = res_tx.clone();
            scope.spawn(move || {
                while let Some(job) = queue.pop_wait() {
                    if res_tx.send(run_job(work, &job)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(res_tx);

        // Results waiting for their turn, and how far the sink got.
        let mut pending: BTreeMap<usize, (u64, T)> = BTreeMap::new();
        let mut next_out = 0usize;
        let mut sent = 0usize;
        // Sharing, the framing thread runs further ahead (a worker that is not
        // scheduled does not stall it as soon).
        let max_in_flight = if caller_runs {
            4 * threads + 4
        } else {
            2 * threads + 2
        };
        // Hands over the results that are next in order; with `wait`, first
        // reads a queued chunk here or, when none is queued, waits for a result.
        // False when nothing came (no result ready, or every worker is gone).
        let mut deliver =
            |wait: bool, pending: &mut BTreeMap<usize, (u64, T)>, next_out: &mut usize| {
                let own = if caller_runs && wait {
                    queue.try_pop().map(|job| run_job(work, &job))
                } else {
                    None
                };
                let got = match own {
                    Some(r) => Some(r),
                    None => next_result(&res_rx, wait && (workers > 0 || !caller_runs)),
                };
                let any = got.is_some();
                if let Some((i, end, t)) = got {
                    pending.insert(i, (end, t));
                }
                while let Some((end, t)) = pending.remove(next_out) {
                    sink(t);
                    *next_out += 1;
                    if let Some(m) = mapped {
                        (m.release)(end);
                    }
                }
                any
            };

        let mut db = 0u64;
        let mut chunk: Option<(u64, u64)> = None; // (start, db at start)
        // Offset just after the last record framed without error: when the next
        // one is broken, everything before it still goes to the workers.
        let mut last_good = 0u64;
        let send = |main: &mut Reader<R>, from: u64, upto: u64, chunk_db: u64, sent: &mut usize| {
            let (format, version) = (main.format(), main.version());
            // A mapped file read in place: the CRC follows the cuts (and the
            // progress bar too).
            main.source_mut().checkpoint();
            let (start, bytes) = if let Some(m) = mapped {
                let range = m.data.get(from as usize..upto as usize).unwrap_or_default();
                (from, JobBytes::Borrowed(range))
            } else {
                let (start, bytes) = main.source_mut().take_capture(upto);
                (start, JobBytes::Owned(bytes))
            };
            if bytes.as_slice().is_empty() {
                return;
            }
            let job = Job {
                index: *sent,
                start,
                bytes,
                db: chunk_db,
                format,
                version,
            };
            *sent += 1;
            queue.push(job, cap);
        };
        let result = loop {
            if stop.load(Ordering::Relaxed) {
                break Ok(());
            }
            let at = main.offset();
            let ev = match main.next_event() {
                Ok(Some(ev)) => ev,
                Ok(None) => break Ok(()),
                Err(e) => {
                    if let Some((from, cdb)) = chunk {
                        send(&mut main, from, last_good, cdb, &mut sent);
                    }
                    break Err(e);
                }
            };
            on_event(&ev, at);
            match ev {
                Event::SelectDb { db: d } => db = d,
                Event::KeyStart(k) => {
                    let off = k.offset;
                    match chunk {
                        None => {
                            // Everything before the first key (header, aux,
                            // functions) stays with the framing reader.
                            if mapped.is_none() {
                                let _ = main.source_mut().take_capture(off);
                            }
                            chunk = Some((off, db));
                        }
                        Some((start, cdb)) if off - start >= settings.chunk_size => {
                            send(&mut main, start, off, cdb, &mut sent);
                            chunk = Some((off, db));
                        }
                        Some(_) => {}
                    }
                    if let Err(e) = main.skip_value() {
                        if let Some((from, cdb)) = chunk {
                            send(&mut main, from, off, cdb, &mut sent);
                        }
                        break Err(e);
                    }
                }
                Event::Eof { .. } => {
                    // The last chunk ends with the last whole record, not at
                    // the EOF opcode: an expire, idle or frequency opcode
                    // right before EOF (which Redis reads and forgets) would
                    // leave its chunk's reader inside an unfinished record.
                    if let Some((from, cdb)) = chunk {
                        send(&mut main, from, last_good, cdb, &mut sent);
                    }
                    chunk = None;
                }
                _ => {}
            }
            last_good = main.offset();
            // Hand over finished results; keep the number in flight bounded.
            while deliver(false, &mut pending, &mut next_out) {}
            // Sharing: enough chunks queued for every worker, read one here.
            if caller_runs && queue.len() > workers {
                deliver(true, &mut pending, &mut next_out);
            }
            while sent.saturating_sub(next_out) > max_in_flight {
                if !deliver(true, &mut pending, &mut next_out) {
                    break;
                }
            }
        };
        queue.close();
        while next_out < sent {
            if !deliver(true, &mut pending, &mut next_out) {
                break;
            }
        }
        (main, result)
    });
    (main.into_source(), result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::Element;

    fn sample_rdb(keys: usize) -> Vec<u8> {
        // A version-9 file with SELECTDB, string keys of varied sizes and a set.
        let mut b = b"REDIS0009".to_vec();
        b.extend_from_slice(&[0xfe, 0x00]);
        for i in 0..keys {
            b.push(0); // string
            let k = format!("key:{i}");
            b.push(k.len() as u8);
            b.extend_from_slice(k.as_bytes());
            let v = "v".repeat(i % 50);
            b.push(v.len() as u8);
            b.extend_from_slice(v.as_bytes());
            if i == keys / 2 {
                b.extend_from_slice(&[0xfe, 0x03]);
            }
        }
        b.push(0xff);
        let crc = crate::io::crc64(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn chunks_cover_every_key_in_order() {
        let data = sample_rdb(5000);
        let mut keys_seen = 0;
        type Keys = Vec<(u64, Vec<u8>)>;
        let mut results: Vec<(usize, Keys)> = Vec::new();
        let settings = Settings {
            threads: 3,
            chunk_size: 997,
            verify_checksum: true,
        };
        let (_, res) = map_chunks(
            Source::new(&data[..]).with_size(data.len() as u64),
            settings,
            |ev| {
                if matches!(ev, Event::KeyStart(_)) {
                    keys_seen += 1;
                }
            },
            |chunk| {
                let mut r = chunk.reader();
                let mut keys = Vec::new();
                while let Some(ev) = r.next_event().unwrap() {
                    if let Event::KeyStart(k) = ev {
                        keys.push((k.db, k.key.to_vec()));
                    }
                    if let Event::Element(Element::String(_)) = ev {}
                }
                (chunk.index, keys)
            },
            |r| results.push(r),
        );
        res.unwrap();
        assert_eq!(keys_seen, 5000);
        assert!(results.len() > 10);
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.0, i, "results out of order");
        }
        let all: Vec<(u64, Vec<u8>)> = results.into_iter().flat_map(|r| r.1).collect();
        assert_eq!(all.len(), 5000);
        for (i, (db, k)) in all.iter().enumerate() {
            assert_eq!(k, format!("key:{i}").as_bytes());
            assert_eq!(*db, if i <= 2500 { 0 } else { 3 });
        }
    }

    /// The mapped variant hands out slices of the data: the same chunks, the
    /// same keys in the same order, as the streaming one; and a cut file still
    /// gets every complete key before the cut.
    #[test]
    fn mapped_chunks_equal_streamed_chunks() {
        let data = sample_rdb(5000);
        let settings = Settings {
            threads: 3,
            chunk_size: 997,
            verify_checksum: true,
        };
        let run = |bytes: &[u8], mapped: bool| {
            let mut got: Vec<(usize, u64, Vec<u8>, u64)> = Vec::new();
            let stop = AtomicBool::new(false);
            let src = Source::new(bytes).with_size(bytes.len() as u64);
            let work = |c: Chunk<'_>| (c.index, c.start, c.bytes.to_vec(), c.db);
            let release = |_: u64| {};
            let mapped = mapped.then_some(Mapped {
                data: bytes,
                release: &release,
                pages: None,
            });
            let (_, res) =
                map_chunks_in(src, mapped, settings, &stop, |_| {}, work, |r| got.push(r));
            (got, res.map_err(|e| e.to_string()))
        };
        let (streamed, r1) = run(&data, false);
        let (mapped, r2) = run(&data, true);
        assert!(r1.is_ok() && r2.is_ok());
        assert!(streamed.len() > 10);
        assert_eq!(mapped, streamed);
        for (i, (_, start, bytes, _)) in mapped.iter().enumerate() {
            assert_eq!(
                &data[*start as usize..*start as usize + bytes.len()],
                &bytes[..],
                "chunk {i}"
            );
        }
        let cut = &data[..data.len() * 2 / 3];
        let (streamed, r1) = run(cut, false);
        let (mapped, r2) = run(cut, true);
        assert!(r1.is_err());
        assert_eq!(r1, r2);
        assert_eq!(mapped, streamed);
    }

    /// Sharing the work with the calling thread (1 to 4 threads, mapped or
    /// streamed, whole or cut) hands the sink the same results, in the same
    /// order, with the same error, as workers alone.
    #[test]
    fn shared_work_gives_the_same_results() {
        let data = sample_rdb(6000);
        let settings = |threads| Settings {
            threads,
            chunk_size: 701,
            verify_checksum: true,
        };
        let work = |c: Chunk<'_>| {
            let mut r = c.reader();
            let mut keys = Vec::new();
            while let Ok(Some(ev)) = r.next_event() {
                if let Event::KeyStart(k) = ev {
                    keys.push(k.key.to_vec());
                }
            }
            (c.index, c.start, c.db, keys)
        };
        let release = |_: u64| {};
        for bytes in [&data[..], &data[..data.len() / 3]] {
            let stop = AtomicBool::new(false);
            let mut want = Vec::new();
            let (_, want_res) = map_chunks_in(
                Source::new(bytes).with_size(bytes.len() as u64),
                None,
                settings(2),
                &stop,
                |_| {},
                work,
                |r| want.push(r),
            );
            let want_res = want_res.map_err(|e| e.to_string());
            assert!(want.len() > 10);
            for threads in 1..=4 {
                for mapped in [false, true] {
                    let mut got = Vec::new();
                    let mut events = 0usize;
                    let m = mapped.then_some(Mapped {
                        data: bytes,
                        release: &release,
                        pages: None,
                    });
                    let (_, res) = map_chunks_shared(
                        Source::new(bytes).with_size(bytes.len() as u64),
                        m,
                        settings(threads),
                        &stop,
                        |ev| events += usize::from(matches!(ev, Event::KeyStart(_))),
                        work,
                        |r| got.push(r),
                    );
                    assert_eq!(res.map_err(|e| e.to_string()), want_res);
                    assert_eq!(got, want, "{threads} threads, mapped {mapped}");
                    let keys: usize = got.iter().map(|g| g.3.len()).sum();
                    assert!(events >= keys && keys > 0);
                }
            }
        }
    }

    /// Stopping also works when the calling thread shares the work.
    #[test]
    fn shared_work_stops_early() {
        let data = sample_rdb(20_000);
        for threads in [1, 2] {
            let stop = AtomicBool::new(false);
            let mut delivered = 0usize;
            let (_, res) = map_chunks_shared(
                Source::new(&data[..]).with_size(data.len() as u64),
                None,
                Settings {
                    threads,
                    chunk_size: 1000,
                    verify_checksum: true,
                },
                &stop,
                |_| {},
                |chunk| chunk.index,
                |i| {
                    assert_eq!(i, delivered);
                    delivered += 1;
                    if delivered == 3 {
                        stop.store(true, Ordering::Relaxed);
                    }
                },
            );
            assert!(res.is_ok());
            assert!((3..40).contains(&delivered), "{delivered}");
        }
    }

    #[test]
    fn structural_errors_are_reported_after_earlier_chunks() {
        let mut data = sample_rdb(3000);
        data.truncate(data.len() / 2);
        let mut n = 0;
        let (_, res) = map_chunks(
            Source::new(&data[..]).with_size(data.len() as u64),
            Settings {
                threads: 2,
                chunk_size: 500,
                verify_checksum: true,
            },
            |_| {},
            |chunk| {
                let mut r = chunk.reader();
                let mut k = 0;
                while let Ok(Some(ev)) = r.next_event() {
                    k += usize::from(matches!(ev, Event::KeyStart(_)));
                }
                k
            },
            |k| n += k,
        );
        let e = res.unwrap_err();
        assert!(e.is_truncation(), "{e}");
        assert!(n > 1000 && n < 3000, "{n}");
    }

    #[test]
    fn stopping_ends_the_framing_early() {
        let data = sample_rdb(20_000);
        let stop = AtomicBool::new(false);
        let mut delivered = 0usize;
        let (_, res) = map_chunks_until(
            Source::new(&data[..]).with_size(data.len() as u64),
            Settings {
                threads: 2,
                chunk_size: 1000,
                verify_checksum: true,
            },
            &stop,
            |_| {},
            |chunk| chunk.index,
            |_| {
                delivered += 1;
                if delivered == 3 {
                    stop.store(true, Ordering::Relaxed);
                }
            },
        );
        assert!(res.is_ok());
        // A few chunks were in flight when it stopped; far fewer than all.
        assert!((3..40).contains(&delivered), "{delivered}");
    }

    /// A file cut inside a key header: every complete key before the cut still
    /// reaches the workers (the last one included).
    #[test]
    fn the_last_complete_key_before_a_broken_record_is_processed() {
        let data = sample_rdb(400);
        // Cut in the middle of key 300's header (`00`, name length, "key:300").
        let at = data.windows(7).position(|w| w == b"key:300").unwrap() - 1 + 3;
        let cut = &data[..at];
        let mut n = 0;
        let (_, res) = map_chunks(
            Source::new(cut).with_size(cut.len() as u64),
            Settings {
                threads: 2,
                chunk_size: 100,
                verify_checksum: true,
            },
            |_| {},
            |chunk| {
                let mut r = chunk.reader();
                let mut k = 0;
                while let Ok(Some(ev)) = r.next_event() {
                    k += usize::from(matches!(ev, Event::KeyStart(_)));
                }
                k
            },
            |k| n += k,
        );
        assert!(res.is_err());
        assert_eq!(n, 300, "keys 0..=299 are complete");
    }
}
