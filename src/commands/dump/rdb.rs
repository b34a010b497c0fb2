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
//! is valid.

use std::io;

use redis_persist::model::KeyType;
use redis_persist::rdb::{self, Checksum, Element, Entries, Event, types};

use super::filter::Filter;
use super::render::{KeyHead, Meta, Render, render_value};

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
}

/// Reads every event of `entries` into `r`, appending to `out`; calls `flush`
/// with `out` whenever it holds at least `flush_at` bytes (between keys). Ends at
/// the `Eof` event (a whole file) or at the end of the input (a fragment).
pub fn drive<R: redis_persist::io::Input, Rn: Render>(
    entries: &mut Entries<R>,
    filter: &Filter,
    r: &mut Rn,
    out: &mut Vec<u8>,
    flush_at: usize,
    flush: &mut dyn FnMut(&mut Vec<u8>) -> io::Result<()>,
) -> Result<End, Failure> {
    let mut key: Vec<u8> = Vec::new();
    let mut key_meta: Vec<(u32, Vec<u8>)> = Vec::new();
    loop {
        if out.len() >= flush_at {
            flush(out).map_err(Failure::Io)?;
        }
        let Some(ev) = entries.reader().next_event()? else {
            let offset = entries.reader().offset();
            return Ok(End {
                checksum: None,
                offset,
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
        let mark = out.len();
        if let Err(e) = one_key(entries, r, out, &head, ty) {
            out.truncate(mark);
            return Err(e.into());
        }
    }
}

/// Reads the value of the key whose `KeyStart` was just returned and renders it.
fn one_key<R: redis_persist::io::Input, Rn: Render>(
    entries: &mut Entries<R>,
    r: &mut Rn,
    out: &mut Vec<u8>,
    head: &KeyHead<'_>,
    ty: u8,
) -> Result<(), rdb::Error> {
    match head.kind {
        KeyType::String => {
            let mut seen = false;
            loop {
                match entries.reader().next_event()? {
                    Some(Event::Element(Element::String(s))) => {
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
    out: &mut Vec<u8>,
    head: &KeyHead<'_>,
) -> Result<(), rdb::Error> {
    r.begin(out, head);
    // The reader's visitor walks the value in tight per-type loops, handing each
    // element over in place (no event per element).
    let end = entries
        .reader()
        .visit_value(|el| r.element(out, head, &el))?;
    r.end(out, head, end.empty);
    Ok(())
}
