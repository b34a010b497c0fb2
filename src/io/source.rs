//! [`Source`]: a buffered reader that tracks absolute offsets.
//!
//! Every parser in this crate reads through a `Source`. It hands out slices of its
//! own buffer (so small reads cost no allocation), knows the absolute offset of the
//! next byte (for error messages and for `--fix`), can compute the CRC-64 of
//! everything consumed (for RDB trailers), and reports progress. Reads larger than
//! the buffer grow it, but only as far as the data really exists: a corrupt length
//! prefix of 4 GB never causes a 4 GB allocation, because [`Source::read_into`]
//! copies in bounded chunks and stops at end of input (and fails at once when
//! the input's size is known to be too small).
//!
//! Bytes already in memory (a mapped file or a chunk of one, a DUMP payload) are
//! given as [`Memory`]: the source then reads them in place, with no buffer and
//! no copy, and skipping a length costs nothing. On the 187 MB bench file this
//! took the copying of chunks into reader buffers (about 7% of a check's CPU)
//! away, and made guessing chunk cuts cheap enough that it rarely falls back to
//! walking the records.

use std::io::{self, Read};

use super::Crc64;

/// The bytes `pos..end` index into: the buffer, or for an in-memory input the
/// input itself. (A macro, not a method, so that it borrows only those fields.)
macro_rules! data {
    ($s:expr) => {
        if R::IN_MEMORY {
            $s.inner.memory()
        } else {
            &$s.buf[..]
        }
    };
}

const DEFAULT_CAPACITY: usize = 256 * 1024;
/// Largest slice handed out by [`Source::read_slice`] / [`Source::peek`]; larger
/// reads go through [`Source::read_into`].
pub const MAX_SLICE: usize = 64 * 1024 * 1024;

/// Receives the input position as a reader advances (a progress bar, or nothing).
pub trait Progress {
    /// The reader has consumed input up to `offset` (absolute, in bytes).
    fn set_position(&self, offset: u64);

    /// A search that looks ahead of the reader (salvage's search for where
    /// records read again after damage) has passed `offset`: what it read
    /// before that, and far after it, need not stay in memory. The position
    /// of the reader is unchanged. Nothing by default.
    fn scanned(&self, _offset: u64) {}
}

/// What a [`Source`] reads from: any reader (read into the source's buffer),
/// or bytes already in memory ([`Memory`]: a mapped file, a chunk of one, a
/// DUMP payload), which the source reads in place: no buffer, no copy, and
/// skipping costs nothing whatever the length. The choice is made by the type,
/// at compile time, so the buffered path pays nothing for it.
pub trait Input: Read {
    /// Whether [`Input::memory`] is the whole input.
    const IN_MEMORY: bool = false;
    /// The whole input, when [`Input::IN_MEMORY`].
    fn memory(&self) -> &[u8] {
        &[]
    }
}

/// Bytes in memory, read in place by a [`Source`].
#[derive(Debug, Clone, Copy)]
pub struct Memory<'a>(pub &'a [u8]);

impl Read for Memory<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.0.read(out)
    }
}

impl Input for Memory<'_> {
    const IN_MEMORY: bool = true;
    #[inline]
    fn memory(&self) -> &[u8] {
        self.0
    }
}

// The readers the crate's sources read (any other reader can come boxed).
impl Input for &[u8] {}
impl Input for std::fs::File {}
impl<R: Read> Input for io::Take<R> {}
impl<R: Read + ?Sized> Input for Box<R> {}

/// Why a read from a [`Source`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The input ended before `needed` more bytes could be read.
    #[error("unexpected end of input ({needed} more bytes needed)")]
    Eof {
        /// How many bytes were missing (at least).
        needed: u64,
    },
    /// The operating system reported an error.
    #[error("read error: {0}")]
    Io(#[from] io::Error),
}

/// A buffered reader with absolute offsets, optional CRC-64 and progress reporting.
pub struct Source<R> {
    inner: R,
    buf: Vec<u8>,
    /// Next unread byte in `buf`.
    pos: usize,
    /// Number of valid bytes in `buf`.
    end: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    /// Total input size, when known (a regular file).
    size: Option<u64>,
    eof: bool,
    crc: Option<Crc64>,
    /// `buf[crc_from..pos]` has been consumed but not yet fed to the CRC (or the
    /// capture).
    crc_from: usize,
    /// When capturing: every consumed byte from `capture_start` on.
    capture: Option<Vec<u8>>,
    capture_start: u64,
    progress: Option<Box<dyn Progress>>,
    /// In-memory inputs: bytes passed over by [`Source::skip`] (never looked at).
    skipped: u64,
}

impl<R: Input> Source<R> {
    /// Wraps `inner`, whose first byte has offset 0.
    pub fn new(inner: R) -> Self {
        Self::with_capacity(inner, DEFAULT_CAPACITY)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes (at least 16).
    /// (An in-memory input ([`Memory`]) has no buffer: `capacity` is ignored.)
    pub fn with_capacity(inner: R, capacity: usize) -> Self {
        let end = if R::IN_MEMORY {
            inner.memory().len()
        } else {
            0
        };
        Self {
            buf: if R::IN_MEMORY {
                Vec::new()
            } else {
                vec![0; capacity.max(16)]
            },
            inner,
            pos: 0,
            end,
            base: 0,
            size: None,
            eof: R::IN_MEMORY,
            crc: None,
            crc_from: 0,
            capture: None,
            capture_start: 0,
            progress: None,
            skipped: 0,
        }
    }

    /// Declares the total size of the input (used to bound length prefixes and for
    /// progress). Only call it when the size is known for sure (regular files).
    #[must_use]
    pub fn with_size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Sets the offset of the next byte (for inputs that do not start at offset 0).
    #[must_use]
    pub fn with_start_offset(mut self, offset: u64) -> Self {
        self.base = offset - self.pos as u64;
        self
    }

    /// Reports progress to `p` on every buffer refill.
    pub fn set_progress(&mut self, p: Box<dyn Progress>) {
        self.progress = Some(p);
    }

    /// Absolute offset of the next unread byte.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// For an in-memory input ([`Memory`]), how many of the bytes consumed so
    /// far were skipped over without being looked at (0 for other inputs): what
    /// reading cost is `consumed - skipped`, not `consumed`.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Total size of the input, when known.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Bytes left in the input after the current position, when the size is known.
    pub fn remaining(&self) -> Option<u64> {
        self.size.map(|s| s.saturating_sub(self.offset()))
    }

    /// Starts computing the CRC-64 of every byte consumed from now on.
    pub fn start_crc(&mut self) {
        self.crc = Some(Crc64::new());
        self.crc_from = self.pos;
    }

    /// The CRC-64 of the bytes consumed since [`Source::start_crc`], or `None` if
    /// it was never started.
    pub fn crc(&mut self) -> Option<u64> {
        self.flush_crc();
        self.crc.as_ref().map(Crc64::value)
    }

    /// Feeds the bytes consumed so far to the CRC (and the capture) and
    /// reports the position to the progress bar. A buffered input does both
    /// on every refill; an in-memory one ([`Memory`]) is never refilled, so a
    /// reader that walks a large mapped file calls this now and then (say,
    /// every megabyte): the CRC is then computed along the walk, over bytes
    /// it just passed, instead of over the whole file when asked for at the
    /// end (on one thread, after the pages were given back).
    pub fn checkpoint(&mut self) {
        self.flush_crc();
        if let Some(p) = &self.progress {
            p.set_position(self.offset());
        }
    }

    /// Stops the CRC computation.
    pub fn stop_crc(&mut self) {
        self.crc = None;
    }

    fn flush_crc(&mut self) {
        if self.pos > self.crc_from {
            if let Some(c) = self.crc.as_mut() {
                c.update(&data!(self)[self.crc_from..self.pos]);
            }
            if let Some(cap) = self.capture.as_mut() {
                cap.extend_from_slice(&data!(self)[self.crc_from..self.pos]);
            }
        }
        self.crc_from = self.pos;
    }

    /// Starts keeping a copy of every byte consumed from now on (see
    /// [`Source::take_capture`]). Used to hand byte ranges to worker threads.
    pub fn start_capture(&mut self) {
        self.flush_crc();
        self.capture = Some(Vec::new());
        self.capture_start = self.offset();
    }

    /// Returns the captured bytes from the capture start up to absolute offset
    /// `upto` (which must lie between the capture start and the current offset)
    /// with the offset of their first byte, and restarts the capture at `upto`.
    pub fn take_capture(&mut self, upto: u64) -> (u64, Vec<u8>) {
        self.flush_crc();
        let start = self.capture_start;
        let Some(cap) = self.capture.as_mut() else {
            return (start, Vec::new());
        };
        let cut = (upto.saturating_sub(start) as usize).min(cap.len());
        let rest = cap.split_off(cut);
        let head = std::mem::replace(cap, rest);
        self.capture_start = start + cut as u64;
        (start, head)
    }

    /// Stops keeping a copy of consumed bytes; what the capture held is
    /// dropped.
    pub fn stop_capture(&mut self) {
        self.flush_crc();
        self.capture = None;
    }

    /// Bytes currently held by the capture.
    pub fn captured_len(&self) -> u64 {
        self.capture.as_ref().map_or(0, |c| c.len() as u64) + (self.pos - self.crc_from) as u64
    }

    /// Unwraps the inner reader. Buffered bytes not yet consumed are lost.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Number of bytes available in the buffer without reading.
    #[inline]
    fn available(&self) -> usize {
        self.end - self.pos
    }

    /// Makes at least `n` bytes available (fewer only at end of input). Returns the
    /// number available.
    fn fill(&mut self, n: usize) -> io::Result<usize> {
        if R::IN_MEMORY || self.available() >= n || self.eof {
            return Ok(self.available());
        }
        // Move the unread tail to the front.
        self.flush_crc();
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            self.crc_from = 0;
        }
        if n > self.buf.len() {
            self.buf.resize(n.next_power_of_two(), 0);
        }
        while self.end < n {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(p) = &self.progress {
            p.set_position(self.base + self.end as u64);
        }
        Ok(self.available())
    }

    fn need(&mut self, n: usize) -> Result<(), SourceError> {
        self.within_size(n as u64)?;
        let have = self.fill(n)?;
        if have < n {
            return Err(SourceError::Eof {
                needed: (n - have) as u64,
            });
        }
        Ok(())
    }

    /// True when no byte is left.
    pub fn at_eof(&mut self) -> Result<bool, SourceError> {
        Ok(self.fill(1)? == 0)
    }

    /// Up to `n` bytes starting at the current position, without consuming them
    /// (fewer at end of input). `n` must not exceed [`MAX_SLICE`].
    pub fn peek(&mut self, n: usize) -> Result<&[u8], SourceError> {
        let have = self.fill(n.min(MAX_SLICE))?;
        Ok(&data!(self)[self.pos..self.pos + have.min(n)])
    }

    /// The unread bytes already in the buffer (no I/O; may be empty). For parsers
    /// that scan the buffer directly and then [`Source::consume`] what they used.
    #[inline]
    pub fn buffered(&self) -> &[u8] {
        &data!(self)[self.pos..self.end]
    }

    /// The unread buffered bytes, after reading more input if fewer than `min` are
    /// buffered (fewer than `min` only at end of input). `min` is capped at
    /// `MAX_SLICE`; the buffer only grows when `min` exceeds its capacity.
    #[inline]
    pub fn fill_buf(&mut self, min: usize) -> Result<&[u8], SourceError> {
        if self.available() < min {
            self.fill(min.min(MAX_SLICE))?;
        }
        Ok(&data!(self)[self.pos..self.end])
    }

    /// Marks `n` bytes returned by [`Source::buffered`] / [`Source::fill_buf`] as
    /// consumed. `n` must not exceed the number of buffered bytes.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        assert!(n <= self.available(), "consume({n}) past the buffered data");
        self.pos += n;
    }

    /// Reads one byte.
    #[inline]
    pub fn read_u8(&mut self) -> Result<u8, SourceError> {
        if self.pos < self.end {
            let b = data!(self)[self.pos];
            self.pos += 1;
            return Ok(b);
        }
        self.read_u8_slow()
    }

    #[cold]
    fn read_u8_slow(&mut self) -> Result<u8, SourceError> {
        self.need(1)?;
        let b = data!(self)[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// Reads exactly `N` bytes.
    #[inline]
    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N], SourceError> {
        if let Some(s) = data!(self)
            .get(self.pos..self.pos + N)
            .filter(|_| self.pos + N <= self.end)
        {
            let mut a = [0u8; N];
            a.copy_from_slice(s);
            self.pos += N;
            return Ok(a);
        }
        self.need(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&data!(self)[self.pos..self.pos + N]);
        self.pos += N;
        Ok(a)
    }

    /// Reads exactly `n` bytes and returns them as a slice of the internal buffer.
    /// `n` must not exceed [`MAX_SLICE`]; use [`Source::read_into`] for larger data.
    #[inline]
    pub fn read_slice(&mut self, n: usize) -> Result<&[u8], SourceError> {
        assert!(n <= MAX_SLICE, "read_slice of {n} bytes");
        if self.available() < n {
            self.need(n)?;
        }
        let s = &data!(self)[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Appends exactly `n` bytes to `out`. The destination grows only as data
    /// arrives, so a bogus huge `n` fails with [`SourceError::Eof`] without a huge
    /// allocation.
    pub fn read_into(&mut self, n: u64, out: &mut Vec<u8>) -> Result<(), SourceError> {
        let mut left = n;
        if let Some(rem) = self.remaining() {
            if rem < n {
                // Known to be short: do not copy anything.
                return Err(SourceError::Eof { needed: n - rem });
            }
            out.reserve(n as usize);
        }
        if R::IN_MEMORY {
            // Everything is available: all of it, or an end of input.
            let k = left.min(self.available() as u64) as usize;
            out.extend_from_slice(&data!(self)[self.pos..self.pos + k]);
            self.pos += k;
            if (k as u64) < left {
                return Err(SourceError::Eof {
                    needed: left - k as u64,
                });
            }
            return Ok(());
        }
        while left > 0 {
            let want = left.min(self.buf.len() as u64) as usize;
            let have = self.fill(want)?;
            if have == 0 {
                return Err(SourceError::Eof { needed: left });
            }
            let k = have.min(want);
            out.extend_from_slice(&data!(self)[self.pos..self.pos + k]);
            self.pos += k;
            left -= k as u64;
        }
        Ok(())
    }

    /// Skips exactly `n` bytes.
    #[inline]
    pub fn skip(&mut self, n: u64) -> Result<(), SourceError> {
        if (self.end - self.pos) as u64 >= n {
            self.pos += n as usize;
            if R::IN_MEMORY {
                self.skipped += n;
            }
            return Ok(());
        }
        self.skip_slow(n)
    }

    /// Fails at once when the input is known to hold fewer than `n` more bytes:
    /// a bogus huge length is neither copied through the buffer nor allocated.
    #[inline]
    fn within_size(&self, n: u64) -> Result<(), SourceError> {
        match self.remaining() {
            Some(rem) if rem < n => Err(SourceError::Eof { needed: n - rem }),
            _ => Ok(()),
        }
    }

    #[cold]
    fn skip_slow(&mut self, n: u64) -> Result<(), SourceError> {
        self.within_size(n)?;
        if R::IN_MEMORY {
            // Fewer than `n` bytes are left (the fast path took the rest).
            let left = n - self.available() as u64;
            self.skipped += self.available() as u64;
            self.pos = self.end;
            return Err(SourceError::Eof { needed: left });
        }
        let mut left = n;
        while left > 0 {
            let want = left.min(self.buf.len() as u64) as usize;
            let have = self.fill(want)?;
            if have == 0 {
                return Err(SourceError::Eof { needed: left });
            }
            let k = have.min(want);
            self.pos += k;
            left -= k as u64;
        }
        Ok(())
    }

    /// Reads a line ending with `\n` (included in the result) of at most `max`
    /// bytes. Returns `Ok(None)` at a clean end of input. If the input ends before
    /// the newline, returns what is left (without a newline). If `max` bytes pass
    /// without a newline, returns those `max` bytes (without a newline).
    pub fn read_line(&mut self, max: usize) -> Result<Option<&[u8]>, SourceError> {
        let max = max.min(MAX_SLICE);
        let mut scanned = 0;
        loop {
            let avail = self.available();
            let window = avail.min(max);
            if let Some(i) = data!(self)[self.pos + scanned..self.pos + window]
                .iter()
                .position(|&b| b == b'\n')
            {
                let n = scanned + i + 1;
                let s = &data!(self)[self.pos..self.pos + n];
                self.pos += n;
                return Ok(Some(s));
            }
            scanned = window;
            if window >= max {
                let s = &data!(self)[self.pos..self.pos + max];
                self.pos += max;
                return Ok(Some(s));
            }
            let have = self.fill(avail + 1)?;
            if have == avail {
                // End of input.
                if avail == 0 {
                    return Ok(None);
                }
                let s = &data!(self)[self.pos..self.pos + avail];
                self.pos += avail;
                return Ok(Some(s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::crc64;

    /// A reader that returns one byte per call, to exercise every refill path.
    struct OneByte<'a>(&'a [u8]);
    impl crate::io::Input for OneByte<'_> {}
    impl std::io::Read for OneByte<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || out.is_empty() {
                return Ok(0);
            }
            out[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    #[test]
    fn offsets_and_reads() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut s = Source::with_capacity(OneByte(&data), 16);
        assert_eq!(s.read_u8().unwrap(), 0);
        assert_eq!(s.read_array::<3>().unwrap(), [1, 2, 3]);
        assert_eq!(s.offset(), 4);
        assert_eq!(s.read_slice(40).unwrap(), &data[4..44]);
        let mut v = Vec::new();
        s.read_into(50, &mut v).unwrap();
        assert_eq!(v, &data[44..94]);
        s.skip(3).unwrap();
        assert_eq!(s.offset(), 97);
        assert!(matches!(
            s.read_slice(5),
            Err(SourceError::Eof { needed: 2 })
        ));
    }

    #[test]
    fn crc_over_consumed_bytes() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        let mut s = Source::with_capacity(OneByte(&data), 16);
        s.skip(10).unwrap();
        s.start_crc();
        s.skip(1000).unwrap();
        let _ = s.read_slice(33).unwrap();
        assert_eq!(s.crc(), Some(crc64(&data[10..1043])));
        let mut v = Vec::new();
        s.read_into(2000, &mut v).unwrap();
        assert_eq!(s.crc(), Some(crc64(&data[10..3043])));
    }

    #[test]
    fn capture_hands_out_consumed_ranges() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let mut s = Source::with_capacity(OneByte(&data), 16);
        s.skip(100).unwrap();
        s.start_capture();
        s.skip(500).unwrap();
        let (at, head) = s.take_capture(350);
        assert_eq!((at, head.as_slice()), (100, &data[100..350]));
        let _ = s.read_slice(40).unwrap();
        let mut v = Vec::new();
        s.read_into(1000, &mut v).unwrap();
        let (at, head) = s.take_capture(s.offset());
        assert_eq!((at, head.as_slice()), (350, &data[350..1640]));
    }

    #[test]
    fn huge_declared_length_does_not_allocate() {
        let data = [1u8; 10];
        let mut s = Source::new(&data[..]).with_size(10);
        let mut v = Vec::new();
        assert!(matches!(
            s.read_into(u64::MAX / 2, &mut v),
            Err(SourceError::Eof { .. })
        ));
        assert!(v.capacity() < 1024);
        // Unknown size (a pipe): fails at the real end.
        let mut s = Source::new(OneByte(&data));
        assert!(matches!(
            s.read_into(1 << 40, &mut v),
            Err(SourceError::Eof { .. })
        ));
    }

    #[test]
    fn in_memory_reads_like_a_buffered_source() {
        // The same operations on the same bytes: a buffered source reading one
        // byte per call, and the bytes read in place.
        fn run<R: Input>(mut s: Source<R>) -> Vec<String> {
            let mut out = Vec::new();
            s.start_crc();
            out.push(format!("{:?}", s.read_u8().unwrap()));
            out.push(format!("{:?}", s.read_array::<3>().unwrap()));
            out.push(format!("{:?}", s.peek(4).unwrap()));
            out.push(format!("{:?}", s.read_slice(5).unwrap()));
            s.start_capture();
            s.skip(6).unwrap();
            let mut v = Vec::new();
            s.read_into(7, &mut v).unwrap();
            out.push(format!("{v:?} {}", s.offset()));
            out.push(format!("{:?}", s.read_line(100).unwrap()));
            out.push(format!("{:?}", s.take_capture(s.offset() - 2)));
            out.push(format!("{:?}", s.crc()));
            // Past the end: skip, read_into and read_slice fail with the
            // number of bytes missing.
            let left = s.remaining().unwrap();
            out.push(format!("{:?}", s.skip(left + 3)));
            out.push(format!("{:?}", s.read_into(left + 5, &mut v)));
            out.push(format!(
                "{:?}",
                s.read_slice(usize::try_from(left).unwrap() + 1)
            ));
            out.push(format!("{:?}", s.skip(left)));
            out.push(format!("{:?} {:?}", s.at_eof(), s.offset()));
            out
        }
        let data: Vec<u8> = (0..60u8).map(|b| if b == 40 { b'\n' } else { b }).collect();
        let size = data.len() as u64;
        let buffered = run(Source::with_capacity(OneByte(&data), 16).with_size(size));
        let in_memory = run(Source::new(Memory(&data)).with_size(size));
        assert_eq!(in_memory, buffered);
        assert!(buffered[3].contains("[4, 5, 6, 7, 8]"), "{buffered:?}");
        assert!(buffered[8].contains("needed: 3"), "{buffered:?}");
        // Skipped bytes are counted for in-memory inputs only.
        let mut s = Source::new(Memory(&data));
        s.skip(10).unwrap();
        s.read_u8().unwrap();
        assert!(s.skip(100).is_err());
        assert_eq!(s.skipped(), 59);
        let mut s = Source::new(&data[..]);
        s.skip(10).unwrap();
        assert_eq!(s.skipped(), 0);
    }

    #[test]
    fn buffer_access() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut s = Source::with_capacity(OneByte(&data), 16);
        assert!(s.buffered().is_empty());
        let b = s.fill_buf(5).unwrap();
        assert!(b.len() >= 5);
        assert_eq!(&b[..5], &data[..5]);
        s.consume(3);
        assert_eq!(s.offset(), 3);
        assert_eq!(s.buffered()[0], 3);
        // Asking for more than the capacity grows the buffer.
        let b = s.fill_buf(40).unwrap();
        assert_eq!(&b[..40], &data[3..43]);
        s.consume(40);
        s.start_crc();
        let n = s.fill_buf(1000).unwrap().len();
        assert_eq!(n, 57);
        s.consume(n);
        assert_eq!(s.crc(), Some(crc64(&data[43..])));
        assert!(s.fill_buf(1).unwrap().is_empty());
    }

    #[test]
    fn lines() {
        let data = b"ab\ncd\r\nlong-line-without-end";
        let mut s = Source::with_capacity(OneByte(data), 16);
        assert_eq!(s.read_line(100).unwrap(), Some(&b"ab\n"[..]));
        assert_eq!(s.read_line(100).unwrap(), Some(&b"cd\r\n"[..]));
        assert_eq!(s.read_line(4).unwrap(), Some(&b"long"[..]));
        assert_eq!(s.read_line(100).unwrap(), Some(&b"-line-without-end"[..]));
        assert_eq!(s.read_line(100).unwrap(), None);
    }
}
