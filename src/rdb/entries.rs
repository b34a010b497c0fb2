//! [`Entries`]: assembles whole [`Entry`] values from a [`Reader`]'s events, for
//! callers (dump, convert, tests) that want values rather than elements. Memory is
//! bounded by the largest single value.

use crate::io::Input;

use super::Error;
use super::reader::{Checksum, Element, Event, Reader};
use super::types::{self as t, Format};
use crate::model::{
    Consumer, ConsumerGroup, Entry, FunctionLibrary, HashField, KeyType, ModuleValue, PendingEntry,
    Stream, StreamEntry, Value,
};

/// What [`Entries::next_item`] returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// The header.
    Header {
        /// Magic.
        format: Format,
        /// Version.
        version: u32,
    },
    /// An aux field.
    Aux {
        /// Name.
        name: Vec<u8>,
        /// Value.
        value: Vec<u8>,
    },
    /// A function library.
    Function(FunctionLibrary),
    /// A module aux record (kept raw).
    ModuleAux {
        /// The module data.
        module: ModuleValue,
        /// 1 = before keys, 2 = after keys.
        when: u64,
    },
    /// A key with its value.
    Entry(Box<Entry>),
    /// A key whose aggregate value is empty. Redis skips such keys when loading;
    /// they are reported, not dropped silently.
    EmptyKey {
        /// Database.
        db: u64,
        /// Key.
        key: Vec<u8>,
        /// RDB type byte.
        rdb_type: u8,
    },
    /// End of file.
    Eof {
        /// Trailer status.
        checksum: Checksum,
    },
}

/// Assembles entries from a reader.
pub struct Entries<R> {
    reader: Reader<R>,
}

impl<R: Input> Entries<R> {
    /// Wraps a reader.
    pub fn new(reader: Reader<R>) -> Self {
        Self { reader }
    }

    /// The inner reader.
    pub fn reader(&mut self) -> &mut Reader<R> {
        &mut self.reader
    }

    /// Unwraps the inner reader.
    pub fn into_reader(self) -> Reader<R> {
        self.reader
    }

    /// The next item, or `None` at the end.
    pub fn next_item(&mut self) -> Result<Option<Item>, Error> {
        loop {
            let Some(ev) = self.reader.next_event()? else {
                return Ok(None);
            };
            match ev {
                Event::Header { format, version } => {
                    return Ok(Some(Item::Header { format, version }));
                }
                Event::Aux { name, value } => {
                    return Ok(Some(Item::Aux {
                        name: name.to_vec(),
                        value: value.to_vec(),
                    }));
                }
                Event::Function { code } => {
                    return Ok(Some(Item::Function(FunctionLibrary {
                        code: code.to_vec(),
                    })));
                }
                Event::ModuleAux { module, when } => {
                    return Ok(Some(Item::ModuleAux {
                        module: module_value(&module),
                        when,
                    }));
                }
                Event::KeyStart(k) => {
                    let (db, key, rdb_type) = (k.db, k.key.to_vec(), k.rdb_type);
                    let (expire_ms, lru_idle, lfu_freq) = (k.expire_ms, k.lru_idle, k.lfu_freq);
                    let value = self.read_value(rdb_type)?;
                    return Ok(Some(match value {
                        Some(value) => Item::Entry(Box::new(Entry {
                            db,
                            key,
                            expire_ms,
                            lru_idle,
                            lfu_freq,
                            value,
                        })),
                        None => Item::EmptyKey { db, key, rdb_type },
                    }));
                }
                Event::Eof { checksum, .. } => return Ok(Some(Item::Eof { checksum })),
                Event::SelectDb { .. }
                | Event::ResizeDb { .. }
                | Event::SlotInfo { .. }
                | Event::SlotImport { .. }
                | Event::Element(_)
                | Event::KeyEnd(_) => {}
            }
        }
    }

    /// The next key entry, skipping everything else (empty keys included).
    pub fn next_entry(&mut self) -> Result<Option<Entry>, Error> {
        while let Some(item) = self.next_item()? {
            if let Item::Entry(e) = item {
                return Ok(Some(*e));
            }
        }
        Ok(None)
    }

    /// Reads the elements of the current key up to its `KeyEnd` and assembles its
    /// value. `None` for an empty aggregate. Callers that drive the events
    /// themselves (through [`Entries::reader`]) call it right after a
    /// `KeyStart` whose value they want whole.
    pub fn read_value(&mut self, rdb_type: u8) -> Result<Option<Value>, Error> {
        let kind = t::key_type(rdb_type).unwrap_or(KeyType::String);
        let mut value = match kind {
            KeyType::String => Value::String(Vec::new()),
            KeyType::List => Value::List(Vec::new()),
            KeyType::Set => Value::Set(Vec::new()),
            KeyType::Zset => Value::Zset(Vec::new()),
            KeyType::Hash => Value::Hash(Vec::new()),
            KeyType::Stream => Value::Stream(Box::default()),
            // Never from a type byte: a vector set is a module value.
            KeyType::Module | KeyType::VectorSet => Value::Module(ModuleValue {
                module_id: 0,
                type_name: String::new(),
                encver: 0,
                raw: Vec::new(),
            }),
        };
        loop {
            let Some(ev) = self.reader.next_event()? else {
                unreachable!("a key always ends with KeyEnd or an error")
            };
            let el = match ev {
                Event::KeyEnd(end) => return Ok(if end.empty { None } else { Some(value) }),
                Event::Element(el) => el,
                _ => continue,
            };
            match (&mut value, el) {
                (Value::String(s), Element::String(v)) => *s = v.to_vec(),
                (Value::List(l) | Value::Set(l), Element::Item(v)) => l.push(v.to_vec()),
                (Value::Zset(z), Element::Member { member, score }) => {
                    z.push((member.to_vec(), score));
                }
                (
                    Value::Hash(h),
                    Element::Field {
                        field,
                        value,
                        expire_ms,
                    },
                ) => {
                    h.push(HashField {
                        field: field.to_vec(),
                        value: value.to_vec(),
                        expire_ms,
                    });
                }
                (Value::Stream(s), el) => push_stream_element(s, el),
                (Value::Module(m), Element::Module(r)) => {
                    let (type_name, encver) = t::module_name(r.module_id);
                    *m = ModuleValue {
                        module_id: r.module_id,
                        type_name,
                        encver,
                        raw: r.data.to_vec(),
                    };
                }
                _ => {}
            }
        }
    }
}

/// The owned form of a consumer group's header (its PEL and consumers follow).
pub fn new_group(g: &super::reader::StreamGroupRef<'_>) -> ConsumerGroup {
    ConsumerGroup {
        name: g.name.to_vec(),
        last_delivered_id: g.last_delivered_id,
        entries_read: g.entries_read,
        pel: Vec::new(),
        consumers: Vec::new(),
    }
}

/// Adds a consumer group's pending entry, consumer or consumer's pending id to
/// the group's owned form (other elements are ignored).
pub fn push_group_element(g: &mut ConsumerGroup, el: Element<'_>) {
    match el {
        Element::StreamPending(p) => g.pel.push(PendingEntry {
            id: p.id,
            delivery_time_ms: p.delivery_time_ms,
            delivery_count: p.delivery_count,
        }),
        Element::StreamConsumer(c) => g.consumers.push(Consumer {
            name: c.name.to_vec(),
            seen_time_ms: c.seen_time_ms,
            active_time_ms: c.active_time_ms,
            pel: Vec::new(),
        }),
        Element::StreamConsumerPending(id) => {
            if let Some(c) = g.consumers.last_mut() {
                c.pel.push(id);
            }
        }
        _ => {}
    }
}

/// Adds a stream's element (as [`Reader::next_event`] hands it over) to its
/// owned form.
pub fn push_stream_element(s: &mut Stream, el: Element<'_>) {
    match el {
        Element::StreamEntry(e) => s.entries.push(StreamEntry {
            id: e.id,
            fields: e.fields().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(),
        }),
        Element::StreamMeta(m) => {
            s.length = m.length;
            s.last_id = m.last_id;
            s.first_id = m.first_id;
            s.max_deleted_entry_id = m.max_deleted_entry_id;
            s.entries_added = m.entries_added;
        }
        Element::StreamGroup(g) => s.groups.push(new_group(&g)),
        el @ (Element::StreamPending(_)
        | Element::StreamConsumer(_)
        | Element::StreamConsumerPending(_)) => {
            if let Some(g) = s.groups.last_mut() {
                push_group_element(g, el);
            }
        }
        Element::StreamIdmp(m) => {
            s.idmp = Some(crate::model::StreamIdmp {
                duration: m.duration,
                maxsize: m.maxsize,
                producers: Vec::new(),
                iids_added: 0,
                iids_duplicates: 0,
            });
        }
        Element::StreamProducer(p) => {
            if let Some(idmp) = &mut s.idmp {
                idmp.producers.push(crate::model::IdmpProducer {
                    pid: p.pid.to_vec(),
                    iids: Vec::new(),
                });
            }
        }
        Element::StreamIid { iid, id } => {
            if let Some(p) = s.idmp.as_mut().and_then(|i| i.producers.last_mut()) {
                p.iids.push((iid.to_vec(), id));
            }
        }
        Element::StreamIdmpCounters {
            iids_added,
            iids_duplicates,
        } => {
            if let Some(idmp) = &mut s.idmp {
                idmp.iids_added = iids_added;
                idmp.iids_duplicates = iids_duplicates;
            }
        }
        _ => {}
    }
}

/// The owned form of a module value or module aux record as the reader hands it
/// over (its type name and encoding version decoded from the module id).
pub(crate) fn module_value(module: &super::reader::ModuleRef<'_>) -> ModuleValue {
    let (type_name, encver) = t::module_name(module.module_id);
    ModuleValue {
        module_id: module.module_id,
        type_name,
        encver,
        raw: module.data.to_vec(),
    }
}
