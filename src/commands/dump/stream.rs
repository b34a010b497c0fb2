//! [`Out`]: where a renderer appends its bytes, and how a large value's output
//! goes to the output while it is rendered instead of being held whole.
//!
//! Output is normally kept until the key it belongs to was read completely (on
//! an error, the failing key's partial output is removed: everything written is
//! valid). A large value cannot be held rendered (512 MiB of NUL bytes are 3 GiB
//! of JSON), so:
//!
//! * a value that is complete before it is rendered (a string, a stream or module
//!   value read whole) is rendered **live**: the renderers call [`Out::step`]
//!   between pieces of a large byte string ([`Out::piece`] input bytes) and
//!   between commands, which writes out what is buffered;
//! * a key read element by element is **watched**: once its output passes
//!   [`Out::big`] bytes, what it rendered is dropped (the value is still read to
//!   its end, which validates it) and the caller renders it again, live, from a
//!   second reading of its record (`super::rdb::Reread`), or hands it to the
//!   thread that writes the output (a worker of the parallel path).
//!
//! Peak memory is then the value itself (as the reader holds it: a decompressed
//! string, a listpack) plus a bounded buffer, whatever the output format.

use std::io;
use std::ops::{Deref, DerefMut};

use redis_persist::rdb::Str;

use crate::output::json::{self as j, Form};

/// Input bytes of a large byte string rendered between two [`Out::step`]s.
pub const PIECE: usize = 64 << 10;
/// Output of one key above which a watched key is rendered again, live.
pub const BIG: usize = 16 << 20;
/// Buffered output written at a step of a live value.
const DRAIN_AT: usize = 256 << 10;

/// Where the output goes.
pub type Sink<'s> = &'s mut dyn FnMut(&[u8]) -> io::Result<()>;

/// A renderer's output buffer (a `Vec<u8>` through `Deref`), optionally with the
/// sink it drains to.
pub struct Out<'s> {
    buf: Vec<u8>,
    sink: Option<Sink<'s>>,
    /// The current value may be written out while it is rendered.
    live: bool,
    /// The current key's output is watched (see the module docs).
    watch: bool,
    /// [`Out::step`] does something once the buffer is longer than this.
    limit: usize,
    /// Start of the current key's output in `buf`.
    mark: usize,
    /// The watched key passed `big`: its output is being dropped.
    overflow: bool,
    /// A write failed: the error, and later output is dropped.
    err: Option<io::Error>,
    failed: bool,
    /// See [`PIECE`] and [`BIG`] (smaller in tests, to take every path).
    pub piece: usize,
    pub big: usize,
}

impl Deref for Out<'_> {
    type Target = Vec<u8>;
    #[inline]
    fn deref(&self) -> &Vec<u8> {
        &self.buf
    }
}

impl DerefMut for Out<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

impl<'s> Out<'s> {
    /// A buffer that is never drained (a worker's, or the side results').
    pub fn new(buf: Vec<u8>) -> Self {
        Self {
            buf,
            sink: None,
            live: false,
            watch: false,
            limit: usize::MAX,
            mark: 0,
            overflow: false,
            err: None,
            failed: false,
            piece: PIECE,
            big: BIG,
        }
    }

    /// A buffer drained to `sink`.
    pub fn with_sink(buf: Vec<u8>, sink: Sink<'s>) -> Self {
        let mut o = Self::new(buf);
        o.sink = Some(sink);
        o
    }

    /// The buffer.
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }

    /// Starts a key whose output begins at the current end of the buffer.
    #[inline]
    pub fn begin_key(&mut self, watch: bool) {
        self.mark = self.buf.len();
        self.watch = watch;
        self.live = false;
        self.overflow = false;
        self.limit = if watch {
            self.mark.saturating_add(self.big)
        } else {
            usize::MAX
        };
    }

    /// Lets the current (complete) value be written out while it is rendered,
    /// when there is a sink.
    #[inline]
    pub fn go_live(&mut self) {
        if self.sink.is_some() {
            self.live = true;
            self.limit = DRAIN_AT;
        }
    }

    /// True while the current value is written out as it is rendered: what is
    /// appended may leave at the next [`Out::step`].
    #[inline]
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Ends the current key; true when it overflowed (its output was dropped).
    #[inline]
    pub fn end_key(&mut self) -> bool {
        let overflow = self.overflow;
        if overflow {
            self.buf.truncate(self.mark);
        }
        self.live = false;
        self.watch = false;
        self.overflow = false;
        self.limit = usize::MAX;
        overflow
    }

    /// Drops the current key's output (it failed), as far as it was not written.
    pub fn drop_key(&mut self) {
        self.buf.truncate(self.mark.min(self.buf.len()));
        self.live = false;
        self.watch = false;
        self.overflow = false;
        self.limit = usize::MAX;
    }

    /// A point between two pieces of a value (or two elements): a live value's
    /// buffered output is written out; a watched key's is dropped past `big`.
    #[inline]
    pub fn step(&mut self) {
        if self.buf.len() > self.limit {
            self.step_past_limit();
        }
    }

    #[cold]
    fn step_past_limit(&mut self) {
        if self.live {
            self.drain();
        } else if self.watch {
            self.overflow = true;
            self.buf.truncate(self.mark);
            // Everything the key still renders is dropped.
            self.limit = self.mark;
        }
    }

    fn drain(&mut self) {
        if !self.failed {
            if let Some(sink) = self.sink.as_mut() {
                if let Err(e) = sink(&self.buf) {
                    self.err = Some(e);
                    self.failed = true;
                }
            }
        }
        self.buf.clear();
        self.mark = 0;
    }

    /// Writes out everything buffered (nothing without a sink).
    pub fn flush(&mut self) -> io::Result<()> {
        if self.sink.is_some() && !self.buf.is_empty() {
            self.drain();
        }
        self.take_error()
    }

    /// The error of a failed write, once.
    pub fn take_error(&mut self) -> io::Result<()> {
        self.err.take().map_or(Ok(()), Err)
    }

    /// Writes what is buffered, then `b` (appended when there is no sink).
    pub fn write_through(&mut self, b: &[u8]) -> io::Result<()> {
        if self.sink.is_none() {
            self.buf.extend_from_slice(b);
            return Ok(());
        }
        self.flush()?;
        match self.sink.as_mut() {
            Some(sink) if !b.is_empty() && !self.failed => {
                sink(b).inspect_err(|_| self.failed = true)
            }
            _ => Ok(()),
        }
    }

    /// Appends `b` in pieces, with a step after each.
    #[inline]
    pub fn extend_stepped(&mut self, b: &[u8]) {
        for p in b.chunks(self.piece.max(1)) {
            self.buf.extend_from_slice(p);
            self.step();
        }
    }

    /// [`j::write_value_str`], in pieces for a large string.
    // Measured: not inlined otherwise, which costs the per-element path 1%.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub fn json_value(&mut self, s: Str<'_>) {
        match s {
            Str::Bytes(b) if b.len() > self.piece => {
                self.json_text_or_hex(b, b"{\"hex\":\"", b"\"}");
            }
            _ => j::write_value_str(&mut self.buf, s),
        }
    }

    /// [`j::write_key_str`], in pieces for a large string.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub fn json_key(&mut self, s: Str<'_>) {
        match s {
            Str::Bytes(b) if b.len() > self.piece => {
                if b.starts_with(b"hex:") {
                    self.json_hex(b, b"\"hex:", b"\"");
                } else {
                    self.json_text_or_hex(b, b"\"hex:", b"\"");
                }
            }
            _ => j::write_key_str(&mut self.buf, s),
        }
    }

    /// [`j::write_hex`], in pieces.
    pub fn hex(&mut self, b: &[u8]) {
        for p in b.chunks(self.piece.max(1)) {
            j::write_hex(&mut self.buf, p);
            self.step();
        }
    }

    #[inline(never)]
    fn json_text_or_hex(&mut self, b: &[u8], open: &[u8], close: &[u8]) {
        match j::form(b) {
            Form::Text { plain } => {
                self.buf.push(b'"');
                self.extend_stepped(&b[..plain]);
                for p in b[plain..].chunks(self.piece.max(1)) {
                    j::write_escaped(&mut self.buf, p);
                    self.step();
                }
                self.buf.push(b'"');
            }
            Form::Hex => self.json_hex(b, open, close),
        }
    }

    #[inline(never)]
    fn json_hex(&mut self, b: &[u8], open: &[u8], close: &[u8]) {
        self.buf.extend_from_slice(open);
        self.hex(b);
        self.buf.extend_from_slice(close);
    }
}
