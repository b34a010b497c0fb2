//! The RDB event loop of `dump`: reads a [`Reader`]'s events and feeds a
//! [`Render`]. Strings, lists, sets, sorted sets and hashes go element by element
//! from the reader's buffers to the output (no allocation per element); streams
//! and module values are assembled whole ([`Entries::read_value`]) because their
//! output needs the whole value (PEL owners, placeholder entries). Keys that the
//! filter rejects are skipped with [`Reader::skip_value`], which still validates
//! them.
//!
//! A key's output is appended only once the key was read completely: on an
//! error, the partial output of the failing key is removed, so everything written
//! is valid. A large value is the exception that keeps memory bounded
//! ([`super::stream`]): a string, stream or module value is written out while
//! it is rendered (it was read whole, so it is valid); a key read element by
//! element whose output grows past [`Out::big`] is read to its end first, then
//! read again ([`Reread`]) and written out while it is rendered.

use std::io;
use std::path::Path;

use redis_persist::io::Source;
use redis_persist::model::KeyType;
use redis_persist::rdb::{self, Checksum, Element, Entries, Event, Reader, types};

use super::filter::Filter;
use super::render::{KeyHead, Meta, Render, render_value};
use super::stream::Out;

/// How a key whose output is too large to hold is read again.
#[derive(Clone, Copy)]
pub enum Reread<'a> {
    /// It cannot be (a stream: standard input, a replayed AOF): its output is
    /// held whole, as for any key.
    No,
    /// The input is this file, opened again (the sequential path).
    File(&'a Path),
    /// The input is in memory: `data`, whose first byte has offset `start`.
    Bytes {
        /// Offset of `data[0]`.
        start: u64,
        /// The bytes.
        data: &'a [u8],
    },
    /// Not here (a worker of the parallel path): the dump stops before the key
    /// and says where it starts ([`End::deferred`]), for the thread that writes
    /// the output to render it from there.
    Defer,
}

/// Why the event loop stopped early.
#[derive(Debug)]
pub enum Failure {
    /// The input is broken (exit 1).
    Rdb(rdb::Error),
    /// Writing the output failed.
    Io(io::Error),
    /// Another source of entries failed (exit 1).
    #[cfg_attr(not(test), allow(dead_code))] // built by the generic item path
    Other(anyhow::Error),
}

impl From<rdb::Error> for Failure {
    fn from(e: rdb::Error) -> Self {
        Self::Rdb(e)
    }
}

/// How the input ended.
#[derive(Debug, Clone, Copy)]
pub struct End {
    /// Trailer status (`None` for a fragment, which has no trailer).
    pub checksum: Option<Checksum>,
    /// Offset just after the trailer (or the end of the fragment).
    pub offset: u64,
    /// With [`Reread::Defer`]: the key too large to render here (offset of its
    /// record, its database). Nothing of it or after it was rendered.
    pub deferred: Option<(u64, u64)>,
}

/// Reads every event of `entries` into `r`, appending to `out`; writes `out`
/// out whenever it holds at least `flush_at` bytes (between keys). Ends at the
/// `Eof` event (a whole file) or at the end of the input (a fragment). `reread`
/// says how a key too large to hold rendered is read again.
pub fn drive<R: redis_persist::io::Input, Rn: Render>(
    entries: &mut Entries<R>,
    filter: &Filter,
    r: &mut Rn,
    out: &mut Out<'_>,
    flush_at: usize,
    reread: Reread<'_>,
) -> Result<End, Failure> {
    let mut key: Vec<u8> = Vec::new();
    let mut key_meta: Vec<(u32, Vec<u8>)> = Vec::new();
    let watch = !matches!(reread, Reread::No);
    loop {
        if out.len() >= flush_at {
            out.flush().map_err(Failure::Io)?;
        }
        let record = entries.reader().offset();
        let Some(ev) = entries.reader().next_event()? else {
            let offset = entries.reader().offset();
            return Ok(End {
                checksum: None,
                offset,
                deferred: None,
            });
        };
        let k = match ev {
            Event::KeyStart(k) => k,
            Event::Header { format, version } => {
                r.meta(out, &Meta::Header { format, version });
                continue;
            }
            Event::Aux { name, value } => {
                r.meta(out, &Meta::Aux { name, value });
                continue;
            }
            Event::Function { code } => {
                r.meta(out, &Meta::Function { code });
                continue;
            }
            Event::ModuleAux { module, when } => {
                let type_name = module.type_name();
                r.meta(
                    out,
                    &Meta::ModuleAux {
                        type_name: &type_name,
                        encver: module.encver,
                        when,
                        data: module.data,
                    },
                );
                continue;
            }
            Event::Eof { end, checksum, .. } => {
                return Ok(End {
                    checksum: Some(checksum),
                    offset: end,
                    deferred: None,
                });
            }
            Event::SlotInfo {
                slot,
                keys,
                expires,
            } => {
                r.meta(
                    out,
                    &Meta::SlotInfo {
                        slot,
                        keys,
                        expires,
                    },
                );
                continue;
            }
            Event::SlotImport { job, ranges } => {
                r.meta(out, &Meta::SlotImport { job, ranges });
                continue;
            }
            Event::SelectDb { .. }
            | Event::ResizeDb { .. }
            | Event::Element(_)
            | Event::KeyEnd(_) => continue,
        };
        let ty = k.rdb_type;
        // Unknown type bytes never get here: the reader rejects them.
        let kind = types::key_type(ty).unwrap_or(KeyType::String);
        key.clear();
        key.extend_from_slice(k.key);
        let (db, expire_ms, lru_idle, lfu_freq) = (k.db, k.expire_ms, k.lru_idle, k.lfu_freq);
        key_meta.clear();
        if k.meta_classes > 0 {
            key_meta.extend(
                entries
                    .reader()
                    .key_meta()
                    .map(|c| (c.spec, c.data.to_vec())),
            );
        }
        if !filter.accepts(db, &key, kind, expire_ms) {
            r.stats().filtered += 1;
            entries.reader().skip_value()?;
            continue;
        }
        let head = KeyHead {
            db,
            key: &key,
            kind,
            encoding: Some(types::encoding_name(ty)),
            expire_ms,
            lru_idle,
            lfu_freq,
            key_meta: &key_meta,
        };
        let before = r.checkpoint();
        out.begin_key(watch);
        if let Err(e) = one_key(entries, r, out, &head, ty) {
            out.drop_key();
            return Err(e.into());
        }
        if out.end_key() {
            // Too large to hold rendered: read it again and write it out as it
            // is rendered (it was read to its end: it is valid).
            r.restore(before);
            let (format, version) = (entries.reader().format(), entries.reader().version());
            match reread {
                Reread::Defer => {
                    return Ok(End {
                        checksum: None,
                        offset: record,
                        deferred: Some((record, db)),
                    });
                }
                Reread::File(path) => {
                    let (f, size) = reopen(path, record).map_err(Failure::Io)?;
                    let src = Source::new(f).with_start_offset(record).with_size(size);
                    again(fragment(src, format, version, db), r, out, &head, ty)?;
                }
                Reread::Bytes { start, data } => {
                    let from = usize::try_from(record.saturating_sub(start)).unwrap_or(usize::MAX);
                    let bytes = data.get(from..).unwrap_or_default();
                    let src = Source::new(redis_persist::io::Memory(bytes))
                        .with_start_offset(record)
                        .with_size(start + data.len() as u64);
                    again(fragment(src, format, version, db), r, out, &head, ty)?;
                }
                Reread::No => {}
            }
        }
        out.take_error().map_err(Failure::Io)?;
    }
}

/// A full reader of the records in `src` (as [`rdb::parallel::Chunk::reader`]).
pub fn fragment<R: redis_persist::io::Input>(
    src: Source<R>,
    format: types::Format,
    version: u32,
    db: u64,
) -> Reader<R> {
    Reader::for_fragment_with(
        src,
        format,
        version,
        db,
        rdb::Options {
            verify_checksum: false,
            frame_only: false,
        },
    )
}

/// `path` opened at `offset`, with its size.
fn reopen(path: &Path, offset: u64) -> io::Result<(std::fs::File, u64)> {
    use std::io::Seek as _;
    let mut f = std::fs::File::open(path)?;
    let size = f.metadata()?.len();
    f.seek(io::SeekFrom::Start(offset))?;
    Ok((f, size))
}

/// Renders the key whose record `reader` starts at, writing its output out as it
/// is rendered.
fn again<R: redis_persist::io::Input, Rn: Render>(
    reader: Reader<R>,
    r: &mut Rn,
    out: &mut Out<'_>,
    head: &KeyHead<'_>,
    ty: u8,
) -> Result<(), Failure> {
    let mut entries = Entries::new(reader);
    loop {
        match entries.reader().next_event()? {
            Some(Event::KeyStart(_)) => break,
            Some(_) => {}
            None => {
                return Err(Failure::Rdb(rdb::Error::corrupt(
                    entries.reader().offset(),
                    "the key read again is not there (did the file change?)",
                )));
            }
        }
    }
    out.begin_key(false);
    out.go_live();
    let res = one_key(&mut entries, r, out, head, ty);
    out.end_key();
    res.map_err(Failure::Rdb)
}

/// Reads the value of the key whose `KeyStart` was just returned and renders it.
fn one_key<R: redis_persist::io::Input, Rn: Render>(
    entries: &mut Entries<R>,
    r: &mut Rn,
    out: &mut Out<'_>,
    head: &KeyHead<'_>,
    ty: u8,
) -> Result<(), rdb::Error> {
    match head.kind {
        KeyType::String => {
            let mut seen = false;
            loop {
                match entries.reader().next_event()? {
                    Some(Event::Element(Element::String(s))) => {
                        // The whole string was read: it may be written out as
                        // it is rendered.
                        out.go_live();
                        r.string(out, head, s);
                        seen = true;
                    }
                    Some(Event::KeyEnd(_)) | None => break,
                    Some(_) => {}
                }
            }
            debug_assert!(seen, "a string key always has its value");
        }
        KeyType::List | KeyType::Set | KeyType::Zset | KeyType::Hash => {
            element_by_element(entries, r, out, head)?;
        }
        KeyType::Stream if r.stream_events() => element_by_element(entries, r, out, head)?,
        KeyType::Stream | KeyType::Module | KeyType::VectorSet => {
            if let Some(v) = entries.read_value(ty)? {
                out.go_live();
                render_value(r, out, head, &v);
            }
        }
    }
    Ok(())
}

/// Feeds the elements of the current key to `r`, from `begin` to `end`.
fn element_by_element<R: redis_persist::io::Input, Rn: Render>(
    entries: &mut Entries<R>,
    r: &mut Rn,
    out: &mut Out<'_>,
    head: &KeyHead<'_>,
) -> Result<(), rdb::Error> {
    r.begin(out, head);
    // The reader's visitor walks the value in tight per-type loops, handing each
    // element over in place (no event per element).
    let end = entries.reader().visit_value(|el| {
        r.element(out, head, &el);
        out.step();
    })?;
    r.end(out, head, end.empty);
    Ok(())
}
