//! Helpers shared by the `convert-aof-to-hybrid` tests: running the command,
//! reading its output back (manifest, RDB base) with the library's RDB reader,
//! starting a real redis-server on an AOF directory or single file, and
//! comparing datasets.
#![allow(dead_code, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Output;

use redis_persist::aof::Manifest;
use redis_persist::io::Source;
use redis_persist::model::{Entry, FunctionLibrary};
use redis_persist::rdb::{Entries, Item, Reader};
use serde_json::Value as J;

use crate::common::expected::{Canon, canon_entry};
use crate::common::live::{self, LiveOptions};
use crate::common::{self, RedisServer, Reply};

/// Runs `redis-persist --no-progress convert-aof-to-hybrid ARGS`.
pub fn convert(args: &[&str]) -> Output {
    let mut all = vec!["--no-progress", "convert-aof-to-hybrid"];
    all.extend_from_slice(args);
    common::run(&all)
}

/// Like [`convert`] with paths.
pub fn convert_paths(input: &Path, output: &Path, extra: &[&str]) -> Output {
    let (i, o) = (input.display().to_string(), output.display().to_string());
    let mut args = vec![i.as_str(), "-o", o.as_str()];
    args.extend_from_slice(extra);
    convert(&args)
}

/// Panics with the output unless the exit code is `code`.
pub fn expect_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What an RDB file holds, read with the library's reader.
pub struct RdbContent {
    /// RDB version.
    pub version: u32,
    /// Aux fields.
    pub aux: BTreeMap<String, String>,
    /// Keys.
    pub entries: Vec<Entry>,
    /// Function libraries.
    pub functions: Vec<FunctionLibrary>,
    /// Offset just after the trailer.
    pub end: u64,
}

/// Reads a whole RDB (or the RDB part of a hybrid file).
pub fn read_rdb(path: &Path) -> RdbContent {
    let f = File::open(path).unwrap();
    let mut entries = Entries::new(Reader::new(Source::new(f)));
    let mut c = RdbContent {
        version: 0,
        aux: BTreeMap::new(),
        entries: Vec::new(),
        functions: Vec::new(),
        end: 0,
    };
    loop {
        match entries
            .next_item()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        {
            Some(Item::Header { version, .. }) => c.version = version,
            Some(Item::Aux { name, value }) => {
                c.aux.insert(
                    String::from_utf8_lossy(&name).into_owned(),
                    String::from_utf8_lossy(&value).into_owned(),
                );
            }
            Some(Item::Entry(e)) => c.entries.push(*e),
            Some(Item::Function(f)) => c.functions.push(f),
            Some(Item::Eof { .. }) | None => break,
            Some(_) => {}
        }
    }
    c.end = entries.reader().offset();
    c
}

/// The parsed manifest of an output directory (named `prefix.manifest`).
pub fn manifest(dir: &Path, prefix: &str) -> (Vec<u8>, Manifest) {
    let bytes = std::fs::read(dir.join(format!("{prefix}.manifest"))).unwrap();
    let m = Manifest::parse(&bytes).unwrap();
    (bytes, m)
}

/// The BASE file of an output directory.
pub fn base_of(dir: &Path, prefix: &str) -> PathBuf {
    let (_, m) = manifest(dir, prefix);
    dir.join(String::from_utf8(m.base().unwrap().name.clone()).unwrap())
}

/// Canonical form of entries (db -> key form -> entry), as `live::dataset` and
/// `expected::expected_dbs` give.
pub fn canon_dbs(entries: &[Entry], c: Canon) -> BTreeMap<u64, BTreeMap<String, J>> {
    let mut out: BTreeMap<u64, BTreeMap<String, J>> = BTreeMap::new();
    for e in entries {
        out.entry(e.db)
            .or_default()
            .insert(common::expected::key_form(&e.key), canon_entry(e, c));
    }
    out
}

/// Starts redis-server on a multi-part AOF directory (copied in as
/// `appendonlydir`), with `DEBUG` enabled.
pub fn server_on_dir(dir: &Path, extra: &[&str]) -> Option<RedisServer> {
    let names: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.path(),
                format!("appendonlydir/{}", e.file_name().to_string_lossy()),
            )
        })
        .collect();
    let files: Vec<(&Path, &str)> = names
        .iter()
        .map(|(p, n)| (p.as_path(), n.as_str()))
        .collect();
    let mut args = vec![
        "--appendonly",
        "yes",
        "--appenddirname",
        "appendonlydir",
        "--enable-debug-command",
        "yes",
    ];
    args.extend_from_slice(extra);
    RedisServer::start_with(&args, &files)
}

/// Starts redis-server on a single-file AOF placed as `appendonly.aof` (Redis 7
/// upgrades it into a directory at start).
pub fn server_on_single_file(file: &Path) -> Option<RedisServer> {
    RedisServer::start_with(
        &[
            "--appendonly",
            "yes",
            "--appendfilename",
            "appendonly.aof",
            "--appenddirname",
            "appendonlydir",
            "--enable-debug-command",
            "yes",
        ],
        &[(file, "appendonly.aof")],
    )
}

/// `DEBUG DIGEST` of a server.
pub fn digest(s: &mut RedisServer) -> String {
    match s.cmd(&["DEBUG", "DIGEST"]) {
        Reply::Status(d) => d,
        other => panic!("DEBUG DIGEST: {other:?}"),
    }
}

/// The whole dataset of a live server in canonical form (consumer times
/// ignored: a server sets them when it loads).
pub fn live_dbs(s: &mut RedisServer) -> BTreeMap<u64, BTreeMap<String, J>> {
    live::dataset(
        s,
        LiveOptions {
            ignore_consumer_times: true,
        },
    )
}

/// Sorted function library codes of a live server.
pub fn live_functions(s: &mut RedisServer) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = s
        .cmd(&["FUNCTION", "LIST", "WITHCODE"])
        .array()
        .iter()
        .map(|lib| {
            let items = lib.array();
            let pos = items
                .iter()
                .position(|r| matches!(r, Reply::Bulk(Some(b)) if b == b"library_code"))
                .unwrap();
            items[pos + 1].bytes()
        })
        .collect();
    out.sort();
    out
}

/// Asserts two canonical datasets are equal.
pub fn assert_same_dbs(
    label: &str,
    want: &BTreeMap<u64, BTreeMap<String, J>>,
    got: &BTreeMap<u64, BTreeMap<String, J>>,
) {
    let d = common::expected::diff_dbs(want, got);
    assert!(
        d.is_empty(),
        "{label}: {} difference(s):\n{}",
        d.len(),
        d.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
    let n: usize = want.values().map(BTreeMap::len).sum();
    assert!(n > 0, "{label}: empty dataset compared");
}

/// The names of the entries of a directory (sorted).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every file under `path` (a file or a directory) with its bytes, to prove
/// the input was not modified.
pub fn snapshot(path: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let meta = std::fs::metadata(path).unwrap();
    if meta.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            out.extend(snapshot(&e.unwrap().path()));
        }
    } else {
        out.insert(
            path.to_path_buf(),
            (std::fs::read(path).unwrap(), meta.modified().unwrap()),
        );
    }
    out
}
