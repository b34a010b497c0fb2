//! Flat values: the rewrite's fast path from the reader to the writer.
//!
//! A [`Flat`] holds a key's value as the reader hands out its elements, all of
//! them in one buffer (no allocation per element, none of the per-element
//! frees on the writer's thread that an owned [`crate::model::Value`] costs),
//! plus, for the values a target keeps byte for byte, the raw bytes of the
//! value as stored in the input:
//!
//! * an LZF-compressed string: its compressed bytes are copied, not
//!   decompressed and compressed again (the reader still decompresses it to
//!   validate it, as for any string);
//! * a string stored uncompressed: the server that wrote it found it
//!   incompressible (Redis tries LZF on every string longer than 20 bytes), as
//!   the target's would: it is copied without a second attempt (an integer
//!   stored as text still gets the INT encoding);
//! * an intset: kept as stored when it has at most `set-max-intset-entries`
//!   members, as a server loading it keeps the blob (a larger one is written
//!   from its members, as a hashtable);
//! * a set, zset (binary scores, type 5) or hash stored as a hashtable, when
//!   the target keeps it a hashtable too (too many or too long elements for
//!   its intset / listpack / ziplist thresholds): its elements are copied as
//!   stored, in the stored order (a server saves a hashtable in its own
//!   iteration order; a skiplist from the highest score down, as stored), each
//!   string compressed or not as the writing server left it.
//!
//! Everything else is written by the writer's own serializers from the flat
//! elements ([`super::Writer::write_flat`]), under the target's rules (a
//! listpack of the input becomes a ziplist for RDB 9, compressed as the server
//! compresses it), exactly as from an owned value. Only values without hash
//! field TTLs, streams and module values are read flat
//! ([`flat_type`]); those keep the owned path.

use crate::io::Input;
use crate::model::KeyType;
use crate::rdb::types as ty;
use crate::rdb::{Element, Error, KeyEnd, Reader, Str};

/// A key's value, flat.
#[derive(Debug, Clone)]
pub struct Flat {
    /// Which kind of value.
    pub kind: KeyType,
    /// The input's type byte.
    pub rdb_type: u8,
    /// The elements' bytes, one after the other (a hash: field, value, …).
    data: Vec<u8>,
    /// Where each element ends in `data`.
    ends: Vec<usize>,
    /// A zset's scores, one per member.
    scores: Vec<f64>,
    /// The raw bytes of the stored value (an LZF string, an intset), kept as
    /// they are when the target keeps them.
    raw: Option<Vec<u8>>,
}

/// Is a value of input type `t` read flat?
pub fn flat_type(t: u8) -> bool {
    matches!(
        t,
        ty::STRING
            | ty::LIST
            | ty::LIST_ZIPLIST
            | ty::LIST_QUICKLIST
            | ty::LIST_QUICKLIST_2
            | ty::SET
            | ty::SET_INTSET
            | ty::SET_LISTPACK
            | ty::ZSET
            | ty::ZSET_2
            | ty::ZSET_ZIPLIST
            | ty::ZSET_LISTPACK
            | ty::HASH
            | ty::HASH_ZIPMAP
            | ty::HASH_ZIPLIST
            | ty::HASH_LISTPACK
    )
}

/// The first byte of an LZF-compressed string (`RDB_ENCVAL` | `RDB_ENC_LZF`).
const LZF_STRING: u8 = 0xc3;

impl Flat {
    /// Reads the value of the key whose `KeyStart` `r` just returned (input
    /// type `rdb_type`, one [`flat_type`] accepts), with the reader's own
    /// validation; its [`KeyEnd`] with it.
    pub fn read<R: Input>(r: &mut Reader<R>, rdb_type: u8) -> Result<(Self, KeyEnd), Error> {
        let kind = ty::key_type(rdb_type).unwrap_or(KeyType::String);
        let mut v = Self {
            kind,
            rdb_type,
            data: Vec::new(),
            ends: Vec::new(),
            scores: Vec::new(),
            raw: None,
        };
        // The raw bytes are taken only when the reader stands at the value's
        // first byte (it always does right after `KeyStart`).
        let at_value = r.offset() == r.value_offset();
        let capture = at_value
            && match rdb_type {
                ty::SET_INTSET | ty::SET | ty::ZSET_2 | ty::HASH => true,
                ty::STRING => {
                    r.source_mut().peek(1).ok().and_then(<[u8]>::first) == Some(&LZF_STRING)
                }
                _ => false,
            };
        let start = r.value_offset();
        if capture {
            r.source_mut().start_capture();
        }
        let end = r.visit_value(|el| match el {
            Element::String(s) | Element::Item(s) => v.push(s),
            Element::Member { member, score } => {
                v.push(member);
                v.scores.push(score);
            }
            Element::Field { field, value, .. } => {
                v.push(field);
                v.push(value);
            }
            _ => {}
        });
        if capture {
            let src = r.source_mut();
            if let Ok(e) = &end {
                let (at, bytes) = src.take_capture(e.end);
                if at == start && bytes.len() as u64 == e.end - start {
                    v.raw = Some(bytes);
                }
            }
            src.stop_capture();
        }
        let end = end?;
        if rdb_type == ty::STRING && v.raw.is_some() {
            // The stored bytes stand for the string: its text is not kept.
            v.data = Vec::new();
            v.ends.clear();
        }
        Ok((v, end))
    }

    fn push(&mut self, s: Str<'_>) {
        s.append_to(&mut self.data);
        self.ends.push(self.data.len());
    }

    /// Number of elements (a hash: fields and values).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// No element.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty() && self.raw.is_none()
    }

    /// The elements, in order.
    pub fn items(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&e| {
            let s = &self.data[start..e];
            start = e;
            s
        })
    }

    /// A zset's scores.
    pub fn scores(&self) -> &[f64] {
        &self.scores
    }

    /// The stored bytes of the value, when kept.
    pub fn raw(&self) -> Option<&[u8]> {
        self.raw.as_deref()
    }
}
