//! Shared by the `stats` tests: the JSON document as typed structs (every
//! object with `deny_unknown_fields`, so a field added or renamed without the
//! README schema being updated fails the tests), and running the binary.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// Count, min, max, mean and percentiles.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Dist {
    pub count: u64,
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
}

/// A group of keys.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub keys: u64,
    pub expires: u64,
    pub already_expired: u64,
    pub key_bytes: u64,
    pub value_bytes: u64,
    pub size: u64,
    pub elements: u64,
    pub memory: u64,
    pub elements_dist: Dist,
    pub size_dist: Dist,
    pub memory_dist: Dist,
}

/// A database: a group and its types.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DbGroup {
    pub keys: u64,
    pub expires: u64,
    pub already_expired: u64,
    pub key_bytes: u64,
    pub value_bytes: u64,
    pub size: u64,
    pub elements: u64,
    pub memory: u64,
    pub elements_dist: Dist,
    pub size_dist: Dist,
    pub memory_dist: Dist,
    pub by_type: BTreeMap<String, Group>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    pub model: String,
    pub keys: u64,
    pub main_dict: u64,
    pub expires_dict: u64,
    pub entry_rounding: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RdbEncoding {
    pub rdb_type: u8,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub keys: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EncodingStat {
    pub keys: u64,
    pub memory: u64,
    /// RDB encoding name → keys loaded from it.
    pub from: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModuleStat {
    pub keys: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Function {
    pub engine: String,
    pub name: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ttl {
    pub already_expired: u64,
    pub lt_1h: u64,
    pub lt_1d: u64,
    pub lt_7d: u64,
    pub lt_30d: u64,
    pub ge_30d: u64,
    pub none: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldTtls {
    pub keys: u64,
    pub fields: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopKey {
    pub db: u64,
    pub key: String,
    pub key_hex: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub rdb_encoding: Option<String>,
    pub encoding: String,
    pub size: u64,
    pub elements: u64,
    pub memory: u64,
    pub expire_ms: Option<i64>,
    pub offset: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub keys: u64,
    pub size: u64,
    pub memory: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrefixNode {
    pub prefix: String,
    pub prefix_hex: String,
    pub level: usize,
    pub keys: u64,
    pub size: u64,
    pub memory: u64,
    pub other: Counts,
    pub children: Vec<PrefixNode>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Prefixes {
    pub separator: String,
    pub depth: usize,
    pub truncated: bool,
    pub no_separator: Counts,
    pub tree: Vec<PrefixNode>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    pub severity: String,
    pub offset: u64,
    pub message: String,
    pub db: Option<u64>,
    pub key: Option<String>,
    pub key_hex: Option<String>,
    pub truncated: bool,
    /// `corrupt`, `unsupported` (a newer server's content) or `warning`.
    pub kind: String,
}

/// The whole `stats --json` document.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Doc {
    /// Why the run failed (null when it did not).
    pub error: Option<String>,
    pub path: String,
    pub input: String,
    pub analysed_file: Option<String>,
    pub incr_bytes: Option<u64>,
    /// How the AOF was replayed (AOF inputs).
    pub replay: Option<String>,
    pub size: Option<u64>,
    pub format: Option<String>,
    pub rdb_version: Option<u32>,
    pub aux: BTreeMap<String, serde_json::Value>,
    pub complete: bool,
    pub checksum: Option<String>,
    pub trailing_bytes: Option<u64>,
    pub keys: u64,
    pub expires: u64,
    pub already_expired: u64,
    pub key_bytes: u64,
    pub value_bytes: u64,
    pub elements: u64,
    pub memory: Memory,
    pub by_db: BTreeMap<String, DbGroup>,
    pub by_type: BTreeMap<String, Group>,
    pub rdb_encodings: BTreeMap<String, RdbEncoding>,
    pub encodings: BTreeMap<String, BTreeMap<String, EncodingStat>>,
    pub modules: BTreeMap<String, ModuleStat>,
    pub module_aux: BTreeMap<String, u64>,
    pub functions: Vec<Function>,
    pub lua_scripts: u64,
    pub ttl: Ttl,
    pub field_ttls: FieldTtls,
    pub lfu: Option<Dist>,
    pub lru_idle_seconds: Option<Dist>,
    pub top: usize,
    pub top_by_size: Vec<TopKey>,
    pub top_by_elements: Vec<TopKey>,
    pub top_by_memory: Vec<TopKey>,
    pub prefixes: Prefixes,
    pub problems: Vec<Problem>,
}

/// Runs `stats --json` with `extra` arguments; returns the exit code and the
/// document.
pub fn stats_json(path: &Path, extra: &[&str]) -> (i32, Doc) {
    let out = super::common::bin()
        .arg("stats")
        .arg("--json")
        .args(extra)
        .arg(path)
        .output()
        .expect("running redis-persist");
    let doc: Doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: bad JSON ({e}); stderr: {}\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

/// Parses RFC 4180 CSV (quoted fields with doubled quotes).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => row.push(std::mem::take(&mut field)),
                '\n' => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                '\r' => {}
                c => field.push(c),
            }
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Runs `stats --csv TABLE` and returns the rows as maps from the header.
pub fn stats_csv(path: &Path, table: &str, extra: &[&str]) -> Vec<BTreeMap<String, String>> {
    let out = super::common::bin()
        .args(["stats", "--csv", table])
        .args(extra)
        .arg(path)
        .output()
        .expect("running redis-persist");
    assert!(
        out.status.success(),
        "stats --csv {table} {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = parse_csv(&String::from_utf8(out.stdout).expect("UTF-8 CSV"));
    let header = rows.first().expect("a header row").clone();
    rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "row {r:?} vs header {header:?}");
            header.iter().cloned().zip(r.iter().cloned()).collect()
        })
        .collect()
}

/// Checks a top list against the true metric of every key: the listed
/// metrics are the N largest (in order, ties included), each listed key has
/// its true metric, and every key strictly above the N-th metric is listed.
pub fn check_top(
    what: &str,
    listed: &[(u64, String, u64)],
    truth: &BTreeMap<(u64, String), u64>,
    n: usize,
) {
    let mut all: Vec<u64> = truth.values().copied().collect();
    all.sort_unstable_by(|a, b| b.cmp(a));
    all.truncate(n);
    let got: Vec<u64> = listed.iter().map(|x| x.2).collect();
    assert_eq!(got, all, "{what}: metrics of the top {n}");
    for (db, key, m) in listed {
        assert_eq!(
            truth.get(&(*db, key.clone())),
            Some(m),
            "{what}: db {db} key {key}"
        );
    }
    if let Some(&last) = all.last() {
        for ((db, key), m) in truth {
            if *m > last {
                assert!(
                    listed.iter().any(|x| x.0 == *db && &x.1 == key),
                    "{what}: db {db} key {key} ({m}) is missing from the top {n}"
                );
            }
        }
    }
}
