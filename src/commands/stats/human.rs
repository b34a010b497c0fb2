//! The human `stats` report: a summary, then comfy-table tables (databases,
//! types with distributions, encodings, biggest keys, prefixes, TTLs), sizes
//! in human units.

use std::io::Write;

use redis_persist::rdb::types::{self, Format};
use redis_persist::stats::prefix::Node;
use redis_persist::stats::rdb::{Analysis, Severity};
use redis_persist::stats::{Options, TopKey};

use super::Origin;
use crate::output::{self, human_size};

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

fn dist(s: &redis_persist::stats::hist::Summary, bytes: bool) -> String {
    let f = |v: u64| if bytes { human_size(v) } else { v.to_string() };
    format!("{} / {} / {} / {}", f(s.p50), f(s.p90), f(s.p99), f(s.max))
}

fn top_table(
    out: &mut impl Write,
    title: &str,
    list: &[TopKey],
    format: Format,
) -> std::io::Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n{title}")?;
    // Below 120 columns the encodings (also in the Encodings table) are left
    // out, so that the key keeps its room.
    let wide = output::width() >= 120;
    let mut header = vec!["#", "db", "key", "type"];
    if wide {
        header.extend(["RDB encoding", "encoding"]);
    }
    header.extend(["size", "elements", "memory"]);
    let mut t = output::table(header);
    for (i, k) in list.iter().enumerate() {
        let mut row = vec![
            (i + 1).to_string(),
            k.db.to_string(),
            output::escape_bytes(&k.key),
            k.kind.name().to_owned(),
        ];
        if wide {
            row.push(
                k.rdb_type
                    .map(|ty| types::type_name_in(format, ty).to_owned())
                    .unwrap_or_default(),
            );
            row.push(k.encoding.to_owned());
        }
        row.extend([
            human_size(k.size),
            k.elements.to_string(),
            human_size(k.memory),
        ]);
        t.add_row(row);
    }
    writeln!(out, "{t}")
}

fn prefix_rows(t: &mut comfy_table::Table, nodes: &[Node], total_mem: u64) {
    for n in nodes {
        let indent = "  ".repeat(n.level.saturating_sub(1));
        t.add_row([
            format!("{indent}{}", output::escape_bytes(&n.prefix)),
            n.counts.keys.to_string(),
            human_size(n.counts.size),
            human_size(n.counts.memory),
            pct(n.counts.memory, total_mem),
        ]);
        prefix_rows(t, &n.children, total_mem);
        if !n.children.is_empty() && n.other.keys > 0 {
            t.add_row([
                format!("{indent}  (other)"),
                n.other.keys.to_string(),
                human_size(n.other.size),
                human_size(n.other.memory),
                pct(n.other.memory, total_mem),
            ]);
        }
    }
}

/// Writes the report, every line within [`output::width`] columns (tables
/// fit it; longer lines of text are wrapped).
pub fn write(
    out: &mut impl Write,
    src: &Origin,
    a: &Analysis,
    opts: &Options,
) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    write_report(&mut buf, src, a, opts)?;
    let text = String::from_utf8_lossy(&buf);
    out.write_all(output::wrap_lines(&text, output::width().into()).as_bytes())?;
    Ok(())
}

fn write_report(
    out: &mut impl Write,
    src: &Origin,
    a: &Analysis,
    opts: &Options,
) -> anyhow::Result<()> {
    let r = &a.report;
    let f = &a.file;
    let format = f.format.unwrap_or(Format::Redis);
    writeln!(out, "== {} ==", src.path)?;
    let creator = f
        .aux_value("redis-ver")
        .map(|v| format!("Redis {}", String::from_utf8_lossy(v)))
        .or_else(|| {
            f.aux_value("valkey-ver")
                .map(|v| format!("Valkey {}", String::from_utf8_lossy(v)))
        });
    if let Some(v) = f.rdb_version {
        writeln!(
            out,
            "RDB version {v}{}{}",
            creator
                .map(|c| format!(", written by {c}"))
                .unwrap_or_default(),
            src.size
                .map(|s| format!(", {} ({s} bytes)", human_size(s)))
                .unwrap_or_default()
        )?;
    }
    if let Some(replay) = &src.replay {
        writeln!(out, "AOF: {replay}")?;
    }
    if let Some(base) = &src.file {
        writeln!(
            out,
            "multi-part AOF: its base {} is analysed; the {} bytes of commands in its INCR files are not included",
            base.display(),
            src.incr_bytes.unwrap_or(0)
        )?;
    }
    if let Some(n) = f.trailing_bytes.filter(|&n| n > 0) {
        writeln!(
            out,
            "hybrid AOF: the RDB preamble is analysed; the {n} bytes of commands after it are not included"
        )?;
    }
    let t = &r.total;
    writeln!(
        out,
        "keys: {} in {} database(s); {} with a TTL, {} already expired; {} elements",
        t.keys,
        r.by_db.len(),
        t.expires,
        t.already_expired,
        t.elements
    )?;
    writeln!(
        out,
        "serialized: {} of keys and values ({} key names, {} values)",
        human_size(t.size),
        human_size(t.key_bytes),
        human_size(t.value_bytes)
    )?;
    let m = &r.memory;
    writeln!(
        out,
        "memory estimate (Redis 7.0, jemalloc): {} = {} keys (MEMORY USAGE) + {} main dict + {} expires + {} dict entry rounding",
        human_size(m.total),
        human_size(m.keys),
        human_size(m.main_dict),
        human_size(m.expires_dict),
        human_size(m.entry_rounding)
    )?;

    if r.by_db.len() > 1 {
        writeln!(out, "\nDatabases")?;
        let mut tb = output::table([
            "db",
            "keys",
            "expires",
            "expired",
            "key bytes",
            "value bytes",
            "memory",
        ]);
        for (db, d) in &r.by_db {
            let g = &d.total;
            tb.add_row([
                db.to_string(),
                g.keys.to_string(),
                g.expires.to_string(),
                g.already_expired.to_string(),
                human_size(g.key_bytes),
                human_size(g.value_bytes),
                human_size(g.memory),
            ]);
        }
        writeln!(out, "{tb}")?;
    }

    if !r.by_type.is_empty() {
        // Two tables, so that each fits an 80-column terminal.
        writeln!(out, "\nTypes")?;
        let mut tb = output::table([
            "type",
            "keys",
            "expires",
            "expired",
            "elements",
            "value bytes",
            "memory",
            "% memory",
        ]);
        for (k, g) in &r.by_type {
            tb.add_row([
                k.name().to_owned(),
                g.keys.to_string(),
                g.expires.to_string(),
                g.already_expired.to_string(),
                g.elements.to_string(),
                human_size(g.value_bytes),
                human_size(g.memory),
                pct(g.memory, r.total.memory),
            ]);
        }
        writeln!(out, "{tb}")?;
        writeln!(
            out,
            "\nTypes (elements and sizes: p50 / p90 / p99 / max per key)"
        )?;
        let mut tb = output::table(["type", "elements per key", "size per key"]);
        for (k, g) in &r.by_type {
            tb.add_row([
                k.name().to_owned(),
                dist(&g.elements_dist.summary(), false),
                dist(&g.size_dist.summary(), true),
            ]);
        }
        writeln!(out, "{tb}")?;
    }

    if !r.encodings.is_empty() {
        writeln!(
            out,
            "\nEncodings (as stored in the file, and in memory after loading)"
        )?;
        let mut tb = output::table(["type", "RDB encoding", "in memory", "keys", "memory"]);
        for e in &r.encodings {
            tb.add_row([
                e.kind.name().to_owned(),
                e.rdb_encoding.unwrap_or("-").to_owned(),
                e.encoding.to_owned(),
                e.keys.to_string(),
                human_size(e.memory),
            ]);
        }
        writeln!(out, "{tb}")?;
    }

    top_table(
        out,
        &format!("Biggest keys by serialized size (top {})", opts.top),
        &r.top_by_size,
        format,
    )?;
    top_table(
        out,
        &format!("Keys with the most elements (top {})", opts.top),
        &r.top_by_elements,
        format,
    )?;
    top_table(
        out,
        &format!("Biggest keys by estimated memory (top {})", opts.top),
        &r.top_by_memory,
        format,
    )?;

    let p = &r.prefixes;
    if p.depth > 0 && (!p.tree.is_empty() || p.no_separator.keys > 0) {
        writeln!(
            out,
            "\nKey prefixes (separator \"{}\", depth {}, largest {} per level by memory{})",
            output::escape_bytes(&p.separator),
            p.depth,
            opts.top,
            if p.truncated {
                "; too many prefixes: the smallest were folded, figures are lower bounds"
            } else {
                ""
            }
        )?;
        let mut tb = output::table(["prefix", "keys", "size", "memory", "% memory"]);
        prefix_rows(&mut tb, &p.tree, r.total.memory);
        // The keys of the level-1 prefixes not listed (below the top N), so
        // that the table accounts for every key.
        let listed = p
            .tree
            .iter()
            .map(|n| &n.counts)
            .chain([&p.no_separator])
            .fold((0, 0, 0), |(k, s, m), c| {
                (k + c.keys, s + c.size, m + c.memory)
            });
        let other = (
            r.total.keys.saturating_sub(listed.0),
            r.total.size.saturating_sub(listed.1),
            r.total.memory.saturating_sub(listed.2),
        );
        if other.0 > 0 {
            tb.add_row([
                "(other)".to_owned(),
                other.0.to_string(),
                human_size(other.1),
                human_size(other.2),
                pct(other.2, r.total.memory),
            ]);
        }
        if p.no_separator.keys > 0 {
            tb.add_row([
                "(no separator)".to_owned(),
                p.no_separator.keys.to_string(),
                human_size(p.no_separator.size),
                human_size(p.no_separator.memory),
                pct(p.no_separator.memory, r.total.memory),
            ]);
        }
        writeln!(out, "{tb}")?;
    }

    if r.total.keys > 0 {
        writeln!(out, "\nTTLs (relative to {})", output::date_ms(opts.now_ms))?;
        let mut tb = output::table(["expires", "keys", "%"]);
        for (label, n) in &r.ttl {
            tb.add_row([(*label).to_owned(), n.to_string(), pct(*n, r.total.keys)]);
        }
        // So that the table accounts for every key.
        let persistent = r
            .total
            .keys
            .saturating_sub(r.ttl.iter().map(|(_, n)| n).sum());
        tb.add_row([
            "no TTL".to_owned(),
            persistent.to_string(),
            pct(persistent, r.total.keys),
        ]);
        writeln!(out, "{tb}")?;
    }
    if r.field_ttl_keys > 0 {
        writeln!(
            out,
            "hash field TTLs: {} fields in {} keys",
            r.field_ttls, r.field_ttl_keys
        )?;
    }
    if let Some(l) = &r.lfu {
        writeln!(
            out,
            "LFU counters on {} keys: p50 {}, p90 {}, p99 {}, max {}",
            l.count, l.p50, l.p90, l.p99, l.max
        )?;
    }
    if let Some(l) = &r.lru {
        writeln!(
            out,
            "LRU idle seconds on {} keys: p50 {}, p90 {}, p99 {}, max {}",
            l.count, l.p50, l.p90, l.p99, l.max
        )?;
    }
    if !f.functions.is_empty() {
        let names: Vec<String> = f
            .functions
            .iter()
            .map(|x| format!("{} ({}, {})", x.name, x.engine, human_size(x.bytes)))
            .collect();
        writeln!(out, "function libraries: {}", names.join(", "))?;
    }
    if f.lua_scripts > 0 {
        writeln!(out, "Lua scripts (lua aux fields): {}", f.lua_scripts)?;
    }
    for (name, (n, b)) in &r.modules {
        writeln!(
            out,
            "module values of type {name}: {n} ({})",
            human_size(*b)
        )?;
    }
    for (name, n) in &f.module_aux {
        writeln!(out, "module aux records of {name}: {n}")?;
    }
    for p in &a.problems {
        let label = match p.severity {
            Severity::Error if p.unsupported => "UNSUPPORTED",
            Severity::Error => "PROBLEM",
            Severity::Warning => "warning",
        };
        write!(out, "{label} at byte {}", p.offset)?;
        match (&p.key, p.db) {
            (Some(k), Some(db)) => write!(out, " (db {db}, key \"{}\")", output::escape_bytes(k))?,
            (None, Some(db)) => write!(out, " (db {db})")?,
            _ => {}
        }
        writeln!(out, ": {}", p.message)?;
    }
    if a.is_unsupported() {
        writeln!(
            out,
            "INCOMPLETE: the input holds content written by a newer server than this tool knows (it may be valid: read it with a newer redis-persist); the statistics cover what could be read"
        )?;
    } else if !a.is_complete() {
        writeln!(
            out,
            "INCOMPLETE: the input is damaged; the statistics cover what could be read"
        )?;
        let stop = a
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.offset)
            .max();
        if let Some(tail) = super::super::unread_tail(f.end_offset.is_some(), stop, src.size) {
            writeln!(
                out,
                "({})",
                super::super::unread_note(tail, src.size.unwrap_or(0))
            )?;
        }
    }
    Ok(())
}
