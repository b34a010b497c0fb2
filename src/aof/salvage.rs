//! Salvage of one AOF file ([`salvage_file`]): every command that survived a
//! damage, written to a new file the server loads.
//!
//! The file is in memory (a mapped file): the search for the next good record
//! looks ahead without copies, and nothing but the largest command's name is
//! ever copied, so memory does not grow with the file.
//!
//! * An RDB part (a hybrid file's preamble, a `.base.rdb`) goes through the RDB
//!   salvage ([`crate::rdb::salvage`]). Where it ends is read from the RDB
//!   itself when it is sound; when it is damaged, the RESP part is taken to
//!   start at the first `EOF` opcode followed by its 8-byte checksum and then
//!   [`RESYNC_COMMANDS`] whole commands.
//! * Commands are read with `redis-check-aof`'s grammar ([`super::resp`]) and
//!   copied byte for byte. A record that does not parse (garbage, a torn or
//!   overwritten record) starts a skipped range ([`SkippedRange`]); reading goes
//!   on at the first later `*` where [`RESYNC_COMMANDS`] whole commands parse in
//!   a row, the first one a command the server knows (fewer when the file ends
//!   after them). A zero-filled tail (a crash artefact) is cut.
//! * Commands the server's loader refuses or runs with undefined effects are
//!   dropped and reported ([`DroppedCommand`]): an unknown command, a wrong
//!   number of arguments, an empty record (`*0`).
//! * A `MULTI` … `EXEC` block is kept whole or dropped whole: dropped when one
//!   of its commands is dropped, when damage cuts it, when the file ends before
//!   its `EXEC`, when another `MULTI` comes before its `EXEC`. The commands read
//!   again after a damaged range up to an `EXEC` with no `MULTI` before it are
//!   the end of a transaction whose start was lost: they are dropped too.
//!
//! `#` annotations (`#TS:`) are kept where they are.

use std::io::Write;

use serde::Serialize;

use crate::io::{Memory, Progress, Source};
use crate::rdb::salvage::{self as rdb_salvage, SalvageOptions};
use crate::rdb::types;

use super::commands::{self, Verdict};
use super::preamble::check_rdb;
use super::resp::{
    ANNOTATION_LINE_MAX, ArgSink, Header, Scanner, StringOutcome, fast_record, is_exec, is_multi,
};

/// Whole commands that must parse in a row after a position for reading to
/// resume there (fewer when the file ends after them).
pub const RESYNC_COMMANDS: usize = 3;

/// Bytes looked at after a damaged range for an `EXEC` that would make the
/// commands before it the end of a transaction whose `MULTI` was lost.
const ORPHAN_LOOKAHEAD: usize = 16 << 20;

/// Bytes searched ahead between two calls of [`Progress::scanned`].
const SCAN_STEP: usize = 1 << 20;

/// Dropped commands listed one by one in a report (the count goes on).
const MAX_LISTED: usize = 10_000;

/// Longest command name kept for the report and the lookup.
const NAME_MAX: usize = 65;

/// Why a command was dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// The server does not know the command (it refuses the file).
    UnknownCommand,
    /// The command's argument count does not fit its arity.
    WrongArity,
    /// `*0` / `*-1`: accepted by `redis-check-aof`, refused by the server.
    EmptyCommand,
    /// Part of a transaction that could not be kept whole.
    Transaction,
    /// Its record parses but runs over the start of the records after it:
    /// bytes are missing inside it.
    Damaged,
}

/// A command that is not in the output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DroppedCommand {
    /// Offset of its record in the file.
    pub offset: u64,
    /// End of its record (exclusive).
    pub end: u64,
    /// Its name as written (at most 65 bytes), lossily as text.
    pub name: String,
    /// Why.
    pub reason: DropReason,
    /// In words.
    pub detail: String,
}

/// A byte range of the file that was skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedRange {
    /// First byte skipped.
    pub start: u64,
    /// First byte read again (exclusive end).
    pub end: u64,
    /// What was wrong at `start`.
    pub reason: String,
    /// The range is a zero-filled tail.
    pub zero_fill: bool,
}

/// The salvage of one file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FileSalvage {
    /// The RDB part's salvage, when the file has one.
    pub rdb: Option<rdb_salvage::Report>,
    /// The RDB part could not be salvaged at all (its header is unreadable):
    /// why. Its range is in `skipped`.
    pub rdb_error: Option<String>,
    /// Offset where the RESP part starts.
    pub resp_start: u64,
    /// Commands written.
    pub commands_kept: u64,
    /// Complete `MULTI` … `EXEC` blocks written.
    pub transactions_kept: u64,
    /// Annotation lines written.
    pub annotations_kept: u64,
    /// Commands dropped (all of them, listed or not).
    pub commands_dropped: u64,
    /// The first 10,000 dropped commands, in file order.
    pub dropped: Vec<DroppedCommand>,
    /// Byte ranges skipped, in file order.
    pub skipped: Vec<SkippedRange>,
    /// Bytes written.
    pub output_bytes: u64,
}

impl FileSalvage {
    /// Nothing of the file was lost: no range skipped, no command dropped, and
    /// its RDB part (if any) clean.
    pub fn is_clean(&self) -> bool {
        self.skipped.is_empty()
            && self.commands_dropped == 0
            && self.rdb_error.is_none()
            && self.rdb.as_ref().is_none_or(rdb_salvage::Report::is_clean)
    }

    /// Bytes of the file skipped.
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped.iter().map(|s| s.end - s.start).sum()
    }

    /// The byte ranges of the file that are not in the output (skipped ranges,
    /// dropped commands, lost RDB records), sorted and merged.
    pub fn lost_ranges(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self
            .skipped
            .iter()
            .map(|s| (s.start, s.end))
            .chain(self.dropped.iter().map(|d| (d.offset, d.end)))
            .collect();
        if let Some(r) = &self.rdb {
            v.extend(r.skipped.iter().map(|s| (s.start, s.end)));
            v.extend(r.keys_lost.iter().map(|k| (k.start, k.end)));
        }
        v.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
        for (s, e) in v {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        out
    }
}

/// Why a file could not be salvaged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SalvageError {
    /// Writing the output failed.
    #[error("write error: {0}")]
    Io(#[from] std::io::Error),
    /// Writing the RDB part failed.
    #[error(transparent)]
    Rdb(rdb_salvage::SalvageError),
}

/// Salvages the AOF file in `data` (an RDB part, then RESP commands) to `out`
/// (see the module documentation). `progress` receives the file offset.
pub fn salvage_file<W: Write>(
    data: &[u8],
    out: &mut W,
    rdb_opts: &SalvageOptions,
    progress: &dyn Progress,
) -> Result<FileSalvage, SalvageError> {
    let mut rep = FileSalvage::default();
    let mut out = Counting { out, n: 0 };
    let mut from = 0;
    if has_rdb_magic(data) {
        let end = rdb_end(data, progress);
        match rdb_salvage::salvage(&data[..end], &mut out, rdb_opts, progress) {
            Ok(r) => {
                // Bytes after the RDB trailer the boundary search did not place
                // (an RDB part taken whole): read them as commands.
                from = end - r.trailing_bytes as usize;
                rep.rdb = Some(r);
            }
            Err(rdb_salvage::SalvageError::Header(e)) => {
                rep.rdb_error = Some(e.to_string());
                if end > 0 {
                    rep.skipped.push(SkippedRange {
                        start: 0,
                        end: end as u64,
                        reason: format!("RDB part unreadable: {e}"),
                        zero_fill: false,
                    });
                }
                from = end;
            }
            Err(e) => return Err(SalvageError::Rdb(e)),
        }
    }
    rep.resp_start = from as u64;
    Resp::new(data, &mut rep, progress).run(from, &mut out)?;
    out.flush()?;
    rep.output_bytes = out.n;
    Ok(rep)
}

/// True when `data` starts with an RDB (as the loader and `check-aof` decide:
/// `REDIS` or `VALKEY` and at least 8 bytes).
pub fn has_rdb_magic(data: &[u8]) -> bool {
    data.len() >= 8 && (data.starts_with(b"REDIS") || data.starts_with(b"VALKEY"))
}

/// Where the RDB part of `data` ends: after its trailer when it reads cleanly;
/// else at the first `EOF` opcode + checksum followed by commands; else the
/// whole file.
///
/// (Both read the whole part ahead of the salvage: `progress` is told where
/// they are, [`Progress::scanned`], so that what they passed need not stay in
/// memory.)
fn rdb_end(data: &[u8], progress: &dyn Progress) -> usize {
    let told = Telling {
        data,
        pos: 0,
        told: 0,
        progress,
    };
    let (src, report) = check_rdb(Source::new(told).with_size(data.len() as u64));
    if report.is_ok() {
        return usize::try_from(src.offset()).map_or(data.len(), |e| e.min(data.len()));
    }
    let zero_from = zero_tail_start(data);
    let mut told = 0;
    (9..data.len())
        .find(|&i| {
            if i - told >= SCAN_STEP {
                progress.scanned(i as u64);
                told = i;
            }
            let at = i + 9;
            data[i] == types::OP_EOF
                && at < data.len()
                && data[at] == b'*'
                && resumes_at(data, at, zero_from)
        })
        .map_or(data.len(), |i| i + 9)
}

/// Bytes in memory read through a [`Source`]'s buffer (a copy, not in
/// place), telling `progress` every [`SCAN_STEP`] bytes how far the reading is
/// ([`Progress::scanned`]).
struct Telling<'a> {
    data: &'a [u8],
    pos: usize,
    /// Where `progress` was last told.
    told: usize,
    progress: &'a dyn Progress,
}

impl std::io::Read for Telling<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.data[self.pos..];
        let n = out.len().min(rest.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        if self.pos - self.told >= SCAN_STEP {
            self.progress.scanned(self.pos as u64);
            self.told = self.pos;
        }
        Ok(n)
    }
}

impl crate::io::Input for Telling<'_> {}

/// Start of the run of zero bytes that ends `data` (its length when the last
/// byte is not zero).
fn zero_tail_start(data: &[u8]) -> usize {
    data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// Can reading resume at `at`: [`RESYNC_COMMANDS`] whole commands in a row (or
/// fewer then the end of the file or its zero-filled tail), the first one a
/// command the server knows with a fitting arity?
fn resumes_at(data: &[u8], at: usize, zero_from: usize) -> bool {
    let Some(r) = fast_record(&data[at..]) else {
        return false;
    };
    if r.argc == 0 {
        return false;
    }
    let b = &data[at..];
    let arg1 = (r.argc > 1).then(|| &b[r.arg1.0..r.arg1.1]);
    if commands::check(&b[r.arg0.0..r.arg0.1], arg1, r.argc) != Verdict::Ok {
        return false;
    }
    let mut pos = at + r.len;
    let mut count = 1;
    while count < RESYNC_COMMANDS {
        if pos >= zero_from {
            return true;
        }
        if data[pos] == b'#' {
            match annotation_len(&data[pos..]) {
                Some(n) => pos += n,
                None => return false,
            }
            continue;
        }
        match fast_record(&data[pos..]) {
            Some(r) if r.argc > 0 => {
                pos += r.len;
                count += 1;
            }
            _ => return false,
        }
    }
    true
}

/// Length of the annotation line at the start of `b` (through its `\n`), if
/// complete within what the loader reads in one line.
fn annotation_len(b: &[u8]) -> Option<usize> {
    let w = &b[..b.len().min(ANNOTATION_LINE_MAX)];
    super::resp::memchr(b'\n', w).map(|i| i + 1)
}

/// A writer that counts what it writes.
struct Counting<'a, W> {
    out: &'a mut W,
    n: u64,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.out.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// One record read at a position.
enum Rec {
    /// A command: end, argc, name, second argument (both cut to 65 bytes).
    Command {
        end: usize,
        argc: i64,
        name: Vec<u8>,
        arg1: Option<Vec<u8>>,
    },
    /// An annotation line ending at `end`.
    Annotation { end: usize },
    /// Not a record: why.
    Bad(String),
}

/// Captures the first two arguments of a record read by the scanner.
#[derive(Default)]
struct Names {
    arg0: Vec<u8>,
    arg1: Vec<u8>,
}

impl ArgSink for Names {
    fn target(&mut self, _index: u64) -> Option<&mut Vec<u8>> {
        None
    }
    fn inspect(&mut self, index: u64, data: &[u8]) {
        let keep = &data[..data.len().min(NAME_MAX)];
        match index {
            0 => self.arg0 = keep.to_vec(),
            1 => self.arg1 = keep.to_vec(),
            _ => {}
        }
    }
}

/// Reads the record at `at`.
fn read_record(data: &[u8], at: usize) -> Rec {
    let b = &data[at..];
    if b.first() == Some(&b'#') {
        return match annotation_len(b) {
            Some(n) => Rec::Annotation { end: at + n },
            None => Rec::Bad("annotation line without its end of line".into()),
        };
    }
    if let Some(r) = fast_record(b) {
        let cut = |(s, e): (usize, usize)| b[s..e.min(s + NAME_MAX)].to_vec();
        return Rec::Command {
            end: at + r.len,
            argc: i64::try_from(r.argc).unwrap_or(i64::MAX),
            name: if r.argc > 0 { cut(r.arg0) } else { Vec::new() },
            arg1: (r.argc > 1).then(|| cut(r.arg1)),
        };
    }
    // The exact grammar (unusual spellings, large payloads), skipping
    // payloads in place.
    let mut sc = Scanner::new(Source::new(Memory(b)), 1);
    let argc = match sc.read_header(b'*') {
        Ok(Header::Value(v)) => v,
        Ok(Header::Bad(e)) => return Rec::Bad(e.describe()),
        Ok(Header::Eof) | Err(_) => return Rec::Bad("end of file".into()),
    };
    let mut names = Names::default();
    let mut i: i64 = 0;
    while i < argc {
        match sc.read_string(i as u64, &mut names) {
            Ok(StringOutcome::Ok { .. }) => {}
            Ok(StringOutcome::Bad(e)) => return Rec::Bad(e.describe()),
            Err(_) => return Rec::Bad("end of file".into()),
        }
        i += 1;
    }
    Rec::Command {
        end: at + sc.src.offset() as usize,
        argc,
        name: names.arg0,
        arg1: (argc > 1).then_some(names.arg1),
    }
}

/// An open `MULTI` block.
struct Block {
    start: usize,
    /// (offset, end, name, own reason to be dropped) of each record in it.
    commands: Vec<Queued>,
    /// Why the block must be dropped at its EXEC (a refused command in it).
    spoiled: Option<String>,
}

/// A record of an open block.
type Queued = (usize, usize, Vec<u8>, Option<(DropReason, String)>);

/// The RESP pass over one file.
struct Resp<'a> {
    data: &'a [u8],
    rep: &'a mut FileSalvage,
    zero_from: usize,
    /// Start of bytes read but not yet written (kept records are copied in runs).
    run_start: usize,
    block: Option<Block>,
    /// Records before this offset end a transaction whose MULTI was lost.
    orphan_until: usize,
    /// The last record, when it is a command kept outside a transaction:
    /// (start, end, name).
    last_plain: Option<(usize, usize, Vec<u8>)>,
    /// Told the position, and where searches ahead are.
    progress: &'a dyn Progress,
}

impl<'a> Resp<'a> {
    fn new(data: &'a [u8], rep: &'a mut FileSalvage, progress: &'a dyn Progress) -> Self {
        Self {
            data,
            rep,
            zero_from: zero_tail_start(data),
            run_start: 0,
            block: None,
            orphan_until: 0,
            last_plain: None,
            progress,
        }
    }

    fn run<W: Write>(mut self, from: usize, out: &mut W) -> std::io::Result<()> {
        let data = self.data;
        let progress = self.progress;
        let mut p = from;
        self.run_start = from;
        let mut next_progress = from;
        while p < data.len() {
            if p >= next_progress {
                // The run of kept bytes so far is written as it grows (up to
                // the last command, which damage right after it may still
                // drop), not in one piece at its end: the write would read
                // the whole run back into memory.
                let kept = self.last_plain.as_ref().map_or(p, |l| l.0);
                if kept > self.run_start {
                    self.flush(out, kept)?;
                }
                progress.set_position(p as u64);
                next_progress = p + (1 << 20);
            }
            if p >= self.zero_from {
                self.flush(out, p)?;
                self.end_block_dropped(p, "the file ends (zero-filled) before its EXEC");
                self.flush(out, p)?;
                self.skip(p, data.len(), "zero-filled tail".into(), true);
                p = data.len();
                self.run_start = p;
                break;
            }
            match read_record(data, p) {
                Rec::Annotation { end } => {
                    self.last_plain = None;
                    if self.block.is_none() && p >= self.orphan_until {
                        self.rep.annotations_kept += 1;
                    }
                    p = end;
                }
                Rec::Command {
                    end,
                    argc,
                    name,
                    arg1,
                } => {
                    self.command(out, p, end, argc, name, arg1.as_deref())?;
                    p = end;
                }
                Rec::Bad(why) => {
                    if let Some(q) = self.overrun(out, p)? {
                        p = q;
                        continue;
                    }
                    self.flush(out, p)?;
                    self.end_block_dropped(p, &format!("damage at offset {p} cuts it"));
                    self.flush(out, p)?;
                    let q = self.resync(p + 1);
                    self.skip(p, q, why, false);
                    self.run_start = q;
                    self.orphan_until = self.orphan_end(q);
                    p = q;
                }
            }
        }
        self.flush(out, p)?;
        self.end_block_dropped(p, "the file ends before its EXEC");
        progress.set_position(data.len() as u64);
        Ok(())
    }

    /// At damage found at `p` right after a kept command: when whole records
    /// start inside that command (its payload ran over their start because
    /// bytes are missing inside it), drops it and returns where to go on.
    fn overrun<W: Write>(&mut self, out: &mut W, p: usize) -> std::io::Result<Option<usize>> {
        let Some((s, e, name)) = self.last_plain.take() else {
            return Ok(None);
        };
        if e != p || self.block.is_some() {
            return Ok(None);
        }
        let data = self.data;
        let mut q = s + 1;
        while q < p {
            let Some(i) = super::resp::memchr(b'*', &data[q..p]) else {
                return Ok(None);
            };
            let at = q + i;
            if resumes_at(data, at, self.zero_from) {
                self.flush(out, s)?;
                self.rep.commands_kept -= 1;
                self.drop_one(
                    s,
                    e,
                    &name,
                    DropReason::Damaged,
                    format!(
                        "its record runs over the records that start at offset {at}: \
                         bytes are missing inside it"
                    ),
                );
                self.run_start = at;
                self.orphan_until = self.orphan_end(at);
                return Ok(Some(at));
            }
            q = at + 1;
        }
        Ok(None)
    }

    /// Handles the command record `[p, end)`.
    #[allow(clippy::too_many_arguments)]
    fn command<W: Write>(
        &mut self,
        out: &mut W,
        p: usize,
        end: usize,
        argc: i64,
        name: Vec<u8>,
        arg1: Option<&[u8]>,
    ) -> std::io::Result<()> {
        self.last_plain = None;
        if p < self.orphan_until {
            // The end of a transaction whose MULTI is in the damaged range.
            self.flush(out, p)?;
            self.drop_one(
                p,
                end,
                &name,
                DropReason::Transaction,
                "the end of a transaction whose MULTI was lost in the damaged range before it"
                    .into(),
            );
            self.run_start = end;
            return Ok(());
        }
        let verdict = if argc < 1 {
            Err((DropReason::EmptyCommand, format!("empty record (*{argc})")))
        } else {
            match commands::check(&name, arg1, argc as u64) {
                Verdict::Ok => Ok(()),
                Verdict::Unknown(n) => Err((
                    DropReason::UnknownCommand,
                    format!(
                        "unknown command '{}' (the server refuses to load it)",
                        String::from_utf8_lossy(&n)
                    ),
                )),
                Verdict::Arity { name: n, arity } => Err((
                    DropReason::WrongArity,
                    format!(
                        "wrong number of arguments for '{}' ({argc}, arity {arity})",
                        String::from_utf8_lossy(&n)
                    ),
                )),
            }
        };
        let nested = self.block.is_some() && verdict.is_ok() && is_multi(&name);
        if nested {
            self.end_block_dropped(p, &format!("another MULTI at offset {p} before its EXEC"));
        }
        if let Some(b) = &mut self.block {
            // In a transaction: a refused command spoils the whole block,
            // which is dropped at its EXEC.
            let exec = verdict.is_ok() && is_exec(&name);
            {
                if let Err((_, detail)) = &verdict {
                    if b.spoiled.is_none() {
                        b.spoiled = Some(format!("its command at offset {p}: {detail}"));
                    }
                }
                b.commands.push((p, end, name, verdict.err()));
                if exec {
                    let b = self.block.take().unwrap_or_else(|| unreachable!());
                    if let Some(why) = b.spoiled.clone() {
                        self.block = Some(b);
                        self.end_block_dropped(end, &why);
                    } else {
                        self.rep.commands_kept += b.commands.len() as u64;
                        self.rep.transactions_kept += 1;
                    }
                }
                return Ok(());
            }
        }
        if let Err((reason, detail)) = verdict {
            self.flush(out, p)?;
            self.drop_one(p, end, &name, reason, detail);
            self.run_start = end;
            return Ok(());
        }
        if is_multi(&name) {
            self.flush(out, p)?;
            self.block = Some(Block {
                start: p,
                commands: vec![(p, end, name, None)],
                spoiled: None,
            });
            return Ok(());
        }
        if is_exec(&name) {
            // An EXEC with no MULTI: what is left of a transaction (its MULTI
            // and queued commands were in a skipped range).
            self.flush(out, p)?;
            self.drop_one(
                p,
                end,
                &name,
                DropReason::Transaction,
                "EXEC without MULTI (the rest of its transaction was lost)".into(),
            );
            self.run_start = end;
            return Ok(());
        }
        self.rep.commands_kept += 1;
        self.last_plain = Some((p, end, name));
        Ok(())
    }

    /// Writes the pending run of kept bytes up to `to` (not while a block is
    /// open: a block is written when its EXEC comes).
    fn flush<W: Write>(&mut self, out: &mut W, to: usize) -> std::io::Result<()> {
        if self.block.is_some() {
            return Ok(());
        }
        if to > self.run_start {
            out.write_all(&self.data[self.run_start..to])?;
        }
        self.run_start = to;
        Ok(())
    }

    /// Drops the open block, if any (its records up to `to`), for `why`.
    fn end_block_dropped(&mut self, to: usize, why: &str) {
        let Some(b) = self.block.take() else { return };
        for (s, e, name, own) in b.commands {
            let (reason, detail) = own.unwrap_or_else(|| {
                (
                    DropReason::Transaction,
                    format!(
                        "in the transaction at offset {} that was dropped whole: {why}",
                        b.start
                    ),
                )
            });
            self.drop_one(s, e, &name, reason, detail);
        }
        self.run_start = to.max(self.run_start);
    }

    fn drop_one(&mut self, s: usize, e: usize, name: &[u8], reason: DropReason, detail: String) {
        self.rep.commands_dropped += 1;
        if self.rep.dropped.len() < MAX_LISTED {
            self.rep.dropped.push(DroppedCommand {
                offset: s as u64,
                end: e as u64,
                name: String::from_utf8_lossy(name).into_owned(),
                reason,
                detail,
            });
        }
    }

    fn skip(&mut self, start: usize, end: usize, reason: String, zero_fill: bool) {
        if end > start {
            self.rep.skipped.push(SkippedRange {
                start: start as u64,
                end: end as u64,
                reason,
                zero_fill,
            });
        }
    }

    /// The first position at or after `from` where reading can resume (the
    /// zero-filled tail, or the end of the file, when none).
    fn resync(&self, from: usize) -> usize {
        let data = self.data;
        let limit = self.zero_from;
        let mut q = from;
        let mut told = from;
        while q < limit {
            // (Searched a step at a time, and what was passed given back:
            // a search through N bytes of damage costs a constant, not N.)
            if q - told >= SCAN_STEP {
                self.progress.scanned(q as u64);
                told = q;
            }
            let to = limit.min(q.saturating_add(SCAN_STEP));
            match super::resp::memchr(b'*', &data[q..to]) {
                None => q = to,
                Some(i) => {
                    let at = q + i;
                    if resumes_at(data, at, self.zero_from) {
                        return at;
                    }
                    q = at + 1;
                }
            }
        }
        limit.min(data.len()).max(from.min(data.len()))
    }

    /// After reading resumes at `q`: the end of the `EXEC` record when the
    /// records from `q` reach an `EXEC` before any `MULTI` (the end of a
    /// transaction whose start was lost), else `q`.
    fn orphan_end(&self, q: usize) -> usize {
        let data = self.data;
        let mut p = q;
        let mut told = q;
        while p < self.zero_from && p - q < ORPHAN_LOOKAHEAD {
            if p - told >= SCAN_STEP {
                self.progress.scanned(p as u64);
                told = p;
            }
            if data[p] == b'#' {
                match annotation_len(&data[p..]) {
                    Some(n) => p += n,
                    None => return q,
                }
                continue;
            }
            let Some(r) = fast_record(&data[p..]) else {
                return q;
            };
            if r.argc > 0 {
                let name = &data[p + r.arg0.0..p + r.arg0.1];
                if is_multi(name) {
                    return q;
                }
                if is_exec(name) {
                    return p + r.len;
                }
            }
            p += r.len;
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoProgress;
    impl Progress for NoProgress {
        fn set_position(&self, _: u64) {}
    }

    fn r(args: &[&str]) -> Vec<u8> {
        let mut v = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            v.extend(format!("${}\r\n{a}\r\n", a.len()).bytes());
        }
        v
    }

    fn run(data: &[u8]) -> (Vec<u8>, FileSalvage) {
        let mut out = Vec::new();
        let rep = salvage_file(data, &mut out, &SalvageOptions::default(), &NoProgress).unwrap();
        (out, rep)
    }

    fn sets(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| r(&["set", &format!("k{i}"), "v"]))
            .collect()
    }

    #[test]
    fn clean_file_is_copied() {
        let mut d = r(&["select", "0"]);
        d.extend(b"#TS:5\r\n");
        d.extend(sets(5));
        let (out, rep) = run(&d);
        assert_eq!(out, d);
        assert!(rep.is_clean());
        assert_eq!(rep.commands_kept, 6);
        assert_eq!(rep.annotations_kept, 1);
    }

    #[test]
    fn garbage_in_the_middle_is_skipped() {
        let a = sets(4);
        let b = sets(4);
        let mut d = a.clone();
        let junk = b"\x01garbage*3\r\n$3\r\nse";
        d.extend(junk);
        d.extend(&b);
        let (out, rep) = run(&d);
        assert_eq!(out, [a, b].concat());
        assert_eq!(rep.skipped.len(), 1);
        assert_eq!(rep.skipped[0].end - rep.skipped[0].start, junk.len() as u64);
        assert!(!rep.is_clean());
    }

    #[test]
    fn zero_tail_and_torn_record() {
        let a = sets(3);
        let mut d = a.clone();
        d.extend(&r(&["set", "x", "y"])[..9]);
        d.extend([0u8; 4096]);
        let (out, rep) = run(&d);
        assert_eq!(out, a);
        assert_eq!(rep.skipped.len(), 2);
        assert!(rep.skipped[1].zero_fill);
        assert_eq!(rep.skipped[1].end, d.len() as u64);
    }

    #[test]
    fn transactions_whole_or_not_at_all() {
        let mut d = sets(2);
        let block: Vec<u8> = [r(&["multi"]), r(&["set", "a", "1"]), r(&["exec"])].concat();
        d.extend(&block);
        // A block with an unknown command: dropped whole.
        d.extend(r(&["multi"]));
        d.extend(r(&["bogus", "a"]));
        d.extend(r(&["exec"]));
        // A block cut by damage, then the rest of another block.
        d.extend(r(&["multi"]));
        d.extend(r(&["set", "b", "2"]));
        d.extend(b"\xff\xfe");
        d.extend(r(&["set", "c", "3"]));
        d.extend(r(&["exec"]));
        let tail = sets(3);
        d.extend(&tail);
        // An unterminated block at the end.
        d.extend(r(&["multi"]));
        d.extend(r(&["set", "z", "9"]));
        let (out, rep) = run(&d);
        assert_eq!(out, [sets(2), block, tail].concat());
        assert_eq!(rep.transactions_kept, 1);
        // 3 + 2 (cut block) + 2 (orphan end) + 2 (unterminated).
        assert_eq!(rep.commands_dropped, 9);
        assert!(
            rep.dropped
                .iter()
                .any(|x| x.reason == DropReason::UnknownCommand)
        );
    }

    #[test]
    fn a_record_that_runs_over_the_next_ones_is_dropped() {
        // 4 bytes missing inside a payload: the payload then ends with the
        // terminator and the next record's `*3`, and its `\r\n` fits.
        let big = r(&["set", "big", &"x".repeat(40)]);
        let mut d = sets(2);
        let cut = d.len() + 30;
        d.extend(&big);
        let after = sets(4);
        d.extend(&after);
        d.drain(cut..cut + 4);
        let (out, rep) = run(&d);
        assert_eq!(out, [sets(2), after].concat());
        assert_eq!(rep.dropped.len(), 1);
        assert_eq!(rep.dropped[0].reason, DropReason::Damaged);
    }

    #[test]
    fn refused_commands_are_dropped() {
        let mut d = sets(1);
        d.extend(b"*0\r\n");
        d.extend(r(&["set", "a"]));
        d.extend(r(&["nosuch"]));
        d.extend(sets(1));
        let (out, rep) = run(&d);
        assert_eq!(out, [sets(1), sets(1)].concat());
        let reasons: Vec<_> = rep.dropped.iter().map(|x| x.reason.clone()).collect();
        assert_eq!(
            reasons,
            [
                DropReason::EmptyCommand,
                DropReason::WrongArity,
                DropReason::UnknownCommand
            ]
        );
    }

    #[test]
    fn never_panics_on_damage() {
        let mut base = sets(6);
        base.extend(r(&["multi"]));
        base.extend(r(&["incr", "n"]));
        base.extend(r(&["exec"]));
        base.extend(b"#TS:9\r\n");
        base.extend(sets(3));
        let mut seed = 99u64;
        let mut rnd = move || crate::testutil::xorshift(&mut seed);
        for _ in 0..3000 {
            let mut d = base.clone();
            let at = (rnd() % d.len() as u64) as usize;
            match rnd() % 4 {
                0 => d.truncate(at),
                1 => d[at] ^= (rnd() % 255 + 1) as u8,
                2 => {
                    d.drain(at..(at + (rnd() % 9) as usize).min(d.len()));
                }
                _ => {
                    d.splice(at..at, [b'*', b'$', 0, b'\r']);
                }
            }
            let (out, _) = run(&d);
            // The output reads cleanly with the checker's grammar.
            let rep = super::super::check::check_resp_bytes(&out, 1, None);
            assert!(rep.stop.is_none(), "{:?}", rep.stop);
        }
    }
}
