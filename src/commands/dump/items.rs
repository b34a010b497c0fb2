//! The generic path of `dump`: any source of [`Item`]s (whole
//! [`redis_persist::model::Entry`] values, function libraries, aux fields) into
//! a [`Render`]. This is where a dataset that is not an RDB file plugs in (a
//! replayed AOF: its `Dataset::entries()` mapped to [`Item::Entry`]); the RDB fast
//! path ([`super::rdb`]) produces the same output for the same data.
//!
//! Until AOF replay lands, only the tests drive this path (comparing it with the
//! RDB fast path on the corpus), hence the `dead_code` allowance.
#![cfg_attr(not(test), allow(dead_code))]

use redis_persist::model::KeyType;
use redis_persist::rdb::{Checksum, Item, types};

use super::filter::Filter;
use super::rdb::{End, Failure};
use super::render::{KeyHead, Meta, Render, head_of, render_value};
use super::stream::Out;

/// A source of items, in dump order.
pub type ItemSource<'a> = dyn Iterator<Item = anyhow::Result<Item>> + 'a;

/// Renders every item of `items` (see [`super::rdb::drive`] for `flush_at`).
pub fn drive<Rn: Render>(
    items: &mut ItemSource<'_>,
    filter: &Filter,
    r: &mut Rn,
    out: &mut Out<'_>,
    flush_at: usize,
) -> Result<End, Failure> {
    let mut checksum: Option<Checksum> = None;
    for item in items {
        if out.len() >= flush_at {
            out.flush().map_err(Failure::Io)?;
        }
        match item.map_err(Failure::Other)? {
            Item::Header { format, version } => r.meta(out, &Meta::Header { format, version }),
            Item::Aux { name, value } => r.meta(
                out,
                &Meta::Aux {
                    name: &name,
                    value: &value,
                },
            ),
            Item::Function(lib) => r.meta(out, &Meta::Function { code: &lib.code }),
            Item::ModuleAux { module, when } => r.meta(
                out,
                &Meta::ModuleAux {
                    type_name: &module.type_name,
                    encver: module.encver,
                    when,
                    data: &module.raw,
                },
            ),
            Item::Entry(e) => {
                let kind = e.value.key_type();
                if !filter.accepts(e.db, &e.key, kind, e.expire_ms) {
                    r.stats().filtered += 1;
                    continue;
                }
                // A whole value: written out as it is rendered.
                out.begin_key(false);
                out.go_live();
                render_value(r, out, &head_of(&e, None), &e.value);
                out.end_key();
                out.take_error().map_err(Failure::Io)?;
            }
            Item::EmptyKey { db, key, rdb_type } => {
                let kind = types::key_type(rdb_type).unwrap_or(KeyType::String);
                if !filter.accepts(db, &key, kind, None) {
                    r.stats().filtered += 1;
                    continue;
                }
                let head = KeyHead {
                    db,
                    key: &key,
                    kind,
                    encoding: None,
                    expire_ms: None,
                    lru_idle: None,
                    lfu_freq: None,
                    key_meta: &[],
                };
                r.begin(out, &head);
                r.end(out, &head, true);
            }
            Item::Eof { checksum: c } => checksum = Some(c),
        }
    }
    Ok(End {
        checksum,
        offset: 0,
        deferred: None,
    })
}
