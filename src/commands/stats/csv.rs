//! `stats --csv TABLE`: one table of the report as RFC 4180 CSV (a header
//! row, fields quoted when they hold a comma, a quote or a line break), for
//! spreadsheets. Keys and prefixes are written escaped (as in the human
//! report) with a `*_hex` column holding the exact bytes.

use std::io::Write;

use redis_persist::rdb::types::{self, Format};
use redis_persist::stats::rdb::{Analysis, KeyRecord};
use redis_persist::stats::{Group, TopKey};

use super::CsvTable;
use super::json::TTL_KEYS;
use crate::output;

/// One CSV field.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn row(out: &mut impl Write, fields: &[String]) -> std::io::Result<()> {
    let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
    writeln!(out, "{}", line.join(","))
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

const GROUP_HEADER: [&str; 17] = [
    "keys",
    "expires",
    "already_expired",
    "key_bytes",
    "value_bytes",
    "size",
    "elements",
    "memory",
    "elements_mean",
    "elements_p50",
    "elements_p90",
    "elements_p99",
    "elements_max",
    "size_p50",
    "size_p90",
    "size_p99",
    "size_max",
];

fn group_fields(g: &Group) -> Vec<String> {
    let e = g.elements_dist.summary();
    let s = g.size_dist.summary();
    vec![
        g.keys.to_string(),
        g.expires.to_string(),
        g.already_expired.to_string(),
        g.key_bytes.to_string(),
        g.value_bytes.to_string(),
        g.size.to_string(),
        g.elements.to_string(),
        g.memory.to_string(),
        format!("{:.2}", e.mean),
        e.p50.to_string(),
        e.p90.to_string(),
        e.p99.to_string(),
        e.max.to_string(),
        s.p50.to_string(),
        s.p90.to_string(),
        s.p99.to_string(),
        s.max.to_string(),
    ]
}

fn header(out: &mut impl Write, first: &[&str], rest: &[&str]) -> std::io::Result<()> {
    let h: Vec<String> = first.iter().chain(rest).map(|s| (*s).to_owned()).collect();
    row(out, &h)
}

fn top_rows(out: &mut impl Write, list: &[TopKey], format: Format) -> std::io::Result<()> {
    header(
        out,
        &[
            "rank",
            "db",
            "key",
            "key_hex",
            "type",
            "rdb_encoding",
            "encoding",
            "size",
            "elements",
            "memory",
            "expire_ms",
        ],
        &[],
    )?;
    for (i, t) in list.iter().enumerate() {
        row(
            out,
            &[
                (i + 1).to_string(),
                t.db.to_string(),
                output::escape_bytes(&t.key),
                output::hex(&t.key),
                t.kind.name().to_owned(),
                opt(t.rdb_type.map(|ty| types::type_name_in(format, ty))),
                t.encoding.to_owned(),
                t.size.to_string(),
                t.elements.to_string(),
                t.memory.to_string(),
                opt(t.expire_ms),
            ],
        )?;
    }
    Ok(())
}

fn prefix_rows(
    out: &mut impl Write,
    nodes: &[redis_persist::stats::prefix::Node],
    parent: &[u8],
) -> std::io::Result<()> {
    for n in nodes {
        row(
            out,
            &[
                n.level.to_string(),
                output::escape_bytes(&n.prefix),
                output::hex(&n.prefix),
                output::escape_bytes(parent),
                n.counts.keys.to_string(),
                n.counts.size.to_string(),
                n.counts.memory.to_string(),
            ],
        )?;
        prefix_rows(out, &n.children, &n.prefix)?;
    }
    Ok(())
}

/// Writes `table` of the analysis.
pub fn write(out: &mut impl Write, table: CsvTable, a: &Analysis) -> anyhow::Result<()> {
    let r = &a.report;
    let format = a.file.format.unwrap_or(Format::Redis);
    match table {
        CsvTable::Dbs => {
            header(out, &["db"], &GROUP_HEADER)?;
            for (db, d) in &r.by_db {
                let mut f = vec![db.to_string()];
                f.extend(group_fields(&d.total));
                row(out, &f)?;
            }
        }
        CsvTable::Types => {
            header(out, &["type"], &GROUP_HEADER)?;
            for (k, g) in &r.by_type {
                let mut f = vec![k.name().to_owned()];
                f.extend(group_fields(g));
                row(out, &f)?;
            }
        }
        CsvTable::DbTypes => {
            header(out, &["db", "type"], &GROUP_HEADER)?;
            for (db, d) in &r.by_db {
                for (k, g) in &d.by_type {
                    let mut f = vec![db.to_string(), k.name().to_owned()];
                    f.extend(group_fields(g));
                    row(out, &f)?;
                }
            }
        }
        CsvTable::Encodings => {
            header(
                out,
                &["type", "rdb_encoding", "encoding", "keys", "memory"],
                &[],
            )?;
            for e in &r.encodings {
                row(
                    out,
                    &[
                        e.kind.name().to_owned(),
                        e.rdb_encoding.unwrap_or_default().to_owned(),
                        e.encoding.to_owned(),
                        e.keys.to_string(),
                        e.memory.to_string(),
                    ],
                )?;
            }
        }
        CsvTable::RdbEncodings => {
            header(out, &["rdb_type", "rdb_encoding", "type", "keys"], &[])?;
            for e in &r.rdb_encodings {
                row(
                    out,
                    &[
                        e.rdb_type.to_string(),
                        e.name.to_owned(),
                        opt(e.kind.map(redis_persist::model::KeyType::name)),
                        e.keys.to_string(),
                    ],
                )?;
            }
        }
        CsvTable::TopSize => top_rows(out, &r.top_by_size, format)?,
        CsvTable::TopElements => top_rows(out, &r.top_by_elements, format)?,
        CsvTable::TopMemory => top_rows(out, &r.top_by_memory, format)?,
        CsvTable::Prefixes => {
            header(
                out,
                &[
                    "level",
                    "prefix",
                    "prefix_hex",
                    "parent",
                    "keys",
                    "size",
                    "memory",
                ],
                &[],
            )?;
            prefix_rows(out, &r.prefixes.tree, b"")?;
        }
        CsvTable::Ttl => {
            header(out, &["bucket", "label", "keys"], &[])?;
            for (k, (label, n)) in TTL_KEYS.iter().zip(&r.ttl) {
                row(out, &[(*k).to_owned(), (*label).to_owned(), n.to_string()])?;
            }
        }
        CsvTable::Keys => unreachable!("the keys table is streamed by KeysWriter"),
    }
    Ok(())
}

/// Streams the `keys` table.
pub struct KeysWriter<'a, W: Write> {
    out: &'a mut W,
    err: Option<std::io::Error>,
}

impl<'a, W: Write> KeysWriter<'a, W> {
    /// Writes the header.
    pub fn new(out: &'a mut W) -> anyhow::Result<Self> {
        header(
            out,
            &[
                "db",
                "key",
                "key_hex",
                "type",
                "rdb_encoding",
                "encoding",
                "size",
                "value_bytes",
                "elements",
                "memory",
                "expire_ms",
                "field_ttls",
                "offset",
            ],
            &[],
        )?;
        Ok(Self { out, err: None })
    }

    /// Writes one key (the first write error is kept for [`KeysWriter::finish`]).
    pub fn row(&mut self, k: &KeyRecord) {
        if self.err.is_some() {
            return;
        }
        let r = row(
            self.out,
            &[
                k.db.to_string(),
                output::escape_bytes(&k.key),
                output::hex(&k.key),
                k.kind.name().to_owned(),
                k.rdb_encoding.to_owned(),
                k.encoding.to_owned(),
                k.size.to_string(),
                k.value_bytes.to_string(),
                k.elements.to_string(),
                k.memory.to_string(),
                opt(k.expire_ms),
                k.field_ttls.to_string(),
                k.offset.to_string(),
            ],
        );
        if let Err(e) = r {
            self.err = Some(e);
        }
    }

    /// The first write error, if any.
    pub fn finish(self) -> anyhow::Result<()> {
        match self.err {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}
