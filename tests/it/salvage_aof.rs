//! `salvage` of AOF inputs (issue 16): the AOFs of the corpus (single files
//! with and without an RDB preamble, multi-part directories with a RESP or an
//! RDB base) and a generated one with transactions get seeded corruptions of
//! every kind, in any of their files. For each case:
//!
//! * `salvage` runs (exit 0 or 1) and its output passes our `check-aof` (no
//!   error, no command the server refuses);
//! * it loads in the real `redis-server` 7.0 (when the undamaged input does)
//!   and in the server that wrote it when that one is in `../shared/servers`,
//!   with `aof-load-truncated no`;
//! * it holds no command that was not in the input: its commands, less those
//!   whose record in the damaged file overlaps the damage (a changed byte
//!   inside a payload cannot be seen: an AOF has no checksum), are a
//!   subsequence of the original's;
//! * it keeps every complete command outside the damaged range (and outside a
//!   transaction the damage cuts), in order.
//!
//! The figures per kind of corruption are printed.
//! `REDIS_PERSIST_SALVAGE_AOF_CASES` sets the cases per input and kind
//! (default 1), `REDIS_PERSIST_SALVAGE_AOF_LOADS=0` turns the server loads off.

#![allow(clippy::print_stderr)]

use crate::common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use common::{RedisServer, Rng};
use redis_persist::aof::CommandReader;
use redis_persist::aof::check::{self, Options};
use redis_persist::io::Source;

/// An AOF input: its files in load order (relative names), and how to load it.
#[derive(Clone)]
struct Input {
    label: String,
    /// The path given to `salvage`: a directory, or a single file.
    path: PathBuf,
    /// The server that wrote it, when it is in `../shared/servers`.
    writer: Option<&'static str>,
}

/// One command of a file: its canonical encoding and its byte range.
#[derive(Clone)]
struct Cmd {
    enc: Vec<u8>,
    start: u64,
    end: u64,
    /// Range of the MULTI … EXEC block it is in.
    block: Option<(u64, u64)>,
    /// The server accepts it (known name, fitting arity).
    accepted: bool,
}

fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend(format!("${}\r\n", a.len()).bytes());
        v.extend(a);
        v.extend(b"\r\n");
    }
    v
}

/// The files of a resolved (valid) input in load order, each with the
/// commands of its RESP part.
fn commands_of(path: &Path) -> Vec<(PathBuf, Vec<Cmd>)> {
    let resolved = redis_persist::aof::resolve(path).unwrap();
    let rep = check::check_input(&resolved, &Options::default()).unwrap();
    let mut out = Vec::new();
    for f in &rep.files {
        let mut cmds = Vec::new();
        if let Some(r) = &f.resp {
            let file = std::fs::File::open(&f.path).unwrap();
            let mut src = Source::new(file);
            src.skip(r.start).unwrap();
            let mut rd = CommandReader::new(src);
            let mut open: Option<usize> = None;
            while let Ok(Some(c)) = rd.next_command() {
                let end = rd.offset();
                let name = c.args.first().cloned().unwrap_or_default();
                let accepted = !c.args.is_empty()
                    && redis_persist::aof::check_command(
                        &name,
                        c.args.get(1).map(Vec::as_slice),
                        c.args.len() as u64,
                    ) == redis_persist::aof::CommandVerdict::Ok;
                let lower = name.to_ascii_lowercase();
                cmds.push(Cmd {
                    enc: encode(&c.args),
                    start: c.offset,
                    end,
                    block: None,
                    accepted,
                });
                if lower == b"multi" {
                    open = Some(cmds.len() - 1);
                } else if lower == b"exec" {
                    if let Some(i) = open.take() {
                        let range = (cmds[i].start, end);
                        for c in &mut cmds[i..] {
                            c.block = Some(range);
                        }
                    }
                }
            }
        }
        out.push((f.path.clone(), cmds));
    }
    out
}

/// The kinds of corruption.
const KINDS: [&str; 7] = [
    "bit-flip",
    "overwrite-run",
    "insert",
    "delete",
    "truncate",
    "zero-page",
    "zero-tail",
];

/// Applies `kind` to `b`; returns the damaged range in original coordinates
/// (an insertion is the empty range at its position) and in the damaged
/// file's (a deletion is the empty range at its position).
fn mutate(kind: &str, r: &mut Rng, b: &mut Vec<u8>) -> (u64, u64, u64, u64) {
    let len = b.len() as u64;
    let at = r.below(len.max(1));
    let a = at as usize;
    match kind {
        "bit-flip" => {
            let n = 1 + r.below(3);
            for _ in 0..n {
                b[a] ^= 1 << r.below(8);
            }
            (at, at + 1, at, at + 1)
        }
        "overwrite-run" => {
            let k = (1 + r.below(64)).min(len - at);
            for x in &mut b[a..a + k as usize] {
                *x = r.next() as u8;
            }
            (at, at + k, at, at + k)
        }
        "insert" => {
            let k = 1 + r.below(32);
            let ins: Vec<u8> = (0..k).map(|_| r.next() as u8).collect();
            b.splice(a..a, ins);
            (at, at, at, at + k)
        }
        "delete" => {
            let k = (1 + r.below(32)).min(len - at);
            b.drain(a..a + k as usize);
            (at, at + k, at, at)
        }
        "truncate" => {
            b.truncate(a);
            (at, len, at, at)
        }
        "zero-page" => {
            let s = at / 4096 * 4096;
            let e = (s + 4096).min(len);
            b[s as usize..e as usize].fill(0);
            (s, e, s, e)
        }
        _ => {
            b.truncate(a);
            let k = 1 + r.below(16384);
            b.extend(std::iter::repeat_n(0u8, k as usize));
            (at, len, at, b.len() as u64)
        }
    }
}

/// Does the record `[s, e)` overlap the damage `[ds, de)` (an insertion at
/// `ds` when empty)?
fn touched(s: u64, e: u64, ds: u64, de: u64) -> bool {
    if ds == de {
        s < ds && ds < e
    } else {
        s < de && e > ds
    }
}

/// Copies `input` (a directory or a file) to `dir`, returning the new path.
fn copy_input(input: &Path, dir: &Path) -> PathBuf {
    let to = dir.join(input.file_name().unwrap());
    if input.is_dir() {
        std::fs::create_dir(&to).unwrap();
        for e in std::fs::read_dir(input).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    } else {
        std::fs::copy(input, &to).unwrap();
    }
    to
}

/// Loads the salvaged `out` in `bin` with AOF on (`aof-load-truncated no`);
/// the number of keys, or why it refused.
fn load(bin: &Path, out: &Path) -> Result<i64, String> {
    // A server that exits while loading resets the connection the helpers
    // read from (a panic there).
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load_inner(bin, out)))
        .unwrap_or_else(|_| Err("the server exited while loading".into()))
}

fn load_inner(bin: &Path, out: &Path) -> Result<i64, String> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut prefix = "appendonly.aof".to_owned();
    if out.is_dir() {
        for e in std::fs::read_dir(out).unwrap() {
            let e = e.unwrap();
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(p) = n.strip_suffix(".manifest") {
                p.clone_into(&mut prefix);
            }
            files.push((e.path(), format!("appendonlydir/{n}")));
        }
    } else {
        files.push((out.to_path_buf(), "appendonly.aof".into()));
    }
    let refs: Vec<(&Path, &str)> = files
        .iter()
        .map(|(p, n)| (p.as_path(), n.as_str()))
        .collect();
    let mut s = RedisServer::try_start_bin(
        bin,
        &[
            "--appendonly",
            "yes",
            "--appenddirname",
            "appendonlydir",
            "--appendfilename",
            &prefix,
            "--aof-load-truncated",
            "no",
        ],
        &refs,
    )?;
    // Counted once the server says it is ready (some versions answer before
    // loading an old-style AOF).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !s.log().contains("eady to accept connections") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut keys = 0;
    for db in 0..16 {
        s.cmd(&["SELECT", &db.to_string()]);
        keys += s.cmd(&["DBSIZE"]).int();
    }
    Ok(keys)
}

fn inputs() -> Vec<Input> {
    let mut v = Vec::new();
    let Some(corpus) = common::corpus() else {
        return v;
    };
    for dir in common::corpus_version_dirs(&corpus) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let writer = common::servers::VERSIONS
            .iter()
            .copied()
            .find(|&s| s == name);
        for sub in [
            "aof-preamble",
            "aof-nopreamble",
            "appendonly-preamble.aof",
            "appendonly-nopreamble.aof",
        ] {
            let p = dir.join(sub);
            if p.exists() {
                v.push(Input {
                    label: format!("{name}/{sub}"),
                    path: p,
                    writer,
                });
            }
        }
    }
    v
}

/// A generated single-file AOF with transactions and annotations.
fn generated(dir: &Path) -> Input {
    let mut b = Vec::new();
    let arg = |v: &[&str]| encode(&v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>());
    b.extend(arg(&["SELECT", "0"]));
    for i in 0..400 {
        if i % 50 == 0 {
            b.extend(format!("#TS:{}\r\n", 1_700_000_000 + i).bytes());
        }
        if i % 7 == 0 {
            b.extend(arg(&["MULTI"]));
            b.extend(arg(&["INCR", &format!("counter:{}", i % 13)]));
            b.extend(arg(&[
                "RPUSH",
                &format!("list:{}", i % 5),
                &"x".repeat(i % 90),
            ]));
            b.extend(arg(&["EXEC"]));
        } else {
            b.extend(arg(&["SET", &format!("key:{i}"), &"v".repeat(i * 3 % 700)]));
        }
    }
    let p = dir.join("generated.aof");
    std::fs::write(&p, b).unwrap();
    Input {
        label: "generated.aof".into(),
        path: p,
        writer: None,
    }
}

#[derive(Default)]
struct Figures {
    cases: u64,
    exit1: u64,
    loads_ok: u64,
    loads: u64,
    untouched: u64,
    untouched_kept: u64,
    altered: u64,
    dropped: u64,
    skipped_bytes: u64,
}

#[test]
#[allow(clippy::too_many_lines)]
fn salvage_aof_corruptions() {
    let cases = common::env_u64("REDIS_PERSIST_SALVAGE_AOF_CASES", 1);
    let do_loads = common::env_u64("REDIS_PERSIST_SALVAGE_AOF_LOADS", 1) > 0;
    let gen_dir = tempfile::tempdir().unwrap();
    let mut all = inputs();
    all.push(generated(gen_dir.path()));
    let redis70 = if do_loads {
        common::redis_server_bin()
    } else {
        None
    };
    let mut figures: BTreeMap<&str, Figures> = BTreeMap::new();
    let mut failures = Vec::new();
    let only = std::env::var("REDIS_PERSIST_SALVAGE_AOF_ONLY").unwrap_or_default();
    let keep = std::env::var_os("REDIS_PERSIST_SALVAGE_AOF_KEEP").map(PathBuf::from);
    for input in all.iter().filter(|i| i.label.contains(&only)) {
        // One sequence per input, so that a filtered run repeats its cases.
        let mut rng = Rng(input.label.bytes().fold(0x5a1_7a9e_a0f1_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        }));
        let orig = commands_of(&input.path);
        // Which servers load the undamaged input.
        let mut servers: Vec<PathBuf> = Vec::new();
        if do_loads {
            if let Some(b) = &redis70 {
                if load(b, &input.path).is_ok() {
                    servers.push(b.clone());
                }
            }
            if let Some(w) = input.writer.and_then(common::servers::server_bin) {
                servers.push(w);
            }
        }
        let orig_all: HashSet<Vec<u8>> = orig
            .iter()
            .flat_map(|(_, c)| c.iter().map(|c| c.enc.clone()))
            .collect();
        for kind in KINDS {
            for case in 0..cases {
                let tmp = tempfile::tempdir().unwrap();
                let work = copy_input(&input.path, tmp.path());
                let files = commands_of(&work);
                let fi = rng.below(files.len() as u64) as usize;
                let target = files[fi].0.clone();
                let mut bytes = std::fs::read(&target).unwrap();
                if bytes.is_empty() {
                    continue;
                }
                let (ds, de, ms, me) = mutate(kind, &mut rng, &mut bytes);
                std::fs::write(&target, &bytes).unwrap();
                let what = format!(
                    "{} {kind} #{case} in {} at {ds}..{de}",
                    input.label,
                    target.file_name().unwrap().to_string_lossy()
                );
                let out = tmp.path().join("out");
                let res = common::run(&[
                    "salvage",
                    work.to_str().unwrap(),
                    "-o",
                    out.to_str().unwrap(),
                    "--json",
                ]);
                let code = res.status.code();
                if !matches!(code, Some(0 | 1)) {
                    failures.push(format!(
                        "{what}: exit {code:?}: {}",
                        String::from_utf8_lossy(&res.stderr)
                    ));
                    continue;
                }
                let doc: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
                let f = figures.entry(kind).or_default();
                f.cases += 1;
                f.exit1 += u64::from(code == Some(1));
                f.dropped += doc["commands_dropped"].as_u64().unwrap_or(0);
                f.skipped_bytes += doc["skipped_bytes"].as_u64().unwrap_or(0);
                // Our check-aof.
                let chk = common::run(&["check-aof", out.to_str().unwrap()]);
                if chk.status.code() != Some(0) {
                    failures.push(format!(
                        "{what}: check-aof on the output: {}",
                        String::from_utf8_lossy(&chk.stdout)
                    ));
                    continue;
                }
                // The output's commands.
                let got: Vec<Vec<u8>> = commands_of(&out)
                    .into_iter()
                    .flat_map(|(_, c)| c.into_iter().map(|c| c.enc))
                    .collect();
                // Commands outside the damage, in order.
                let mut want: Vec<&[u8]> = Vec::new();
                for (i, (_, cmds)) in orig.iter().enumerate() {
                    for c in cmds {
                        let hit = i == fi
                            && (touched(c.start, c.end, ds, de)
                                || c.block.is_some_and(|(s, e)| touched(s, e, ds, de))
                                || c.block.is_some_and(|(s, e)| {
                                    cmds.iter().any(|x| x.block == Some((s, e)) && !x.accepted)
                                }));
                        if !hit && c.accepted {
                            want.push(&c.enc);
                        }
                    }
                }
                f.untouched += want.len() as u64;
                let mut k = 0;
                for g in &got {
                    if k < want.len() && want[k] == g.as_slice() {
                        k += 1;
                    }
                }
                f.untouched_kept += k as u64;
                if k < want.len() {
                    failures.push(format!(
                        "{what}: {} of {} commands outside the damage kept; first missing: {:?}",
                        k,
                        want.len(),
                        String::from_utf8_lossy(&want[k][..want[k].len().min(80)])
                    ));
                }
                // Nothing invented: a command not in the original is in the
                // damaged file across the damaged range.
                let mut plain: Vec<&[u8]> = Vec::new();
                for g in &got {
                    if orig_all.contains(g) {
                        plain.push(g);
                        continue;
                    }
                    f.altered += 1;
                    let found = find_all(&bytes, g).any(|p| {
                        let (p, e) = (p as u64, (p + g.len()) as u64);
                        p <= me && e >= ms
                    });
                    if !found {
                        failures.push(format!(
                            "{what}: the output holds a command that is not in the input: {:?}",
                            String::from_utf8_lossy(&g[..g.len().min(80)])
                        ));
                    }
                }
                let seq: Vec<&[u8]> = orig
                    .iter()
                    .flat_map(|(_, c)| c.iter().map(|c| c.enc.as_slice()))
                    .collect();
                let mut j = 0;
                for p in &plain {
                    while j < seq.len() && seq[j] != *p {
                        j += 1;
                    }
                    if j == seq.len() {
                        failures.push(format!("{what}: the output's commands are out of order"));
                        break;
                    }
                    j += 1;
                }
                // Loads in the real servers.
                for s in &servers {
                    f.loads += 1;
                    match load(s, &out) {
                        Ok(_) => f.loads_ok += 1,
                        Err(e) => {
                            if let Some(k) = &keep {
                                let to = k.join(format!(
                                    "{}-{kind}-{case}",
                                    input.label.replace('/', "_")
                                ));
                                let _ = std::fs::create_dir_all(&to);
                                let _ = copy_input(&work, &to);
                                let _ = copy_input(&out, &to);
                            }
                            failures.push(format!(
                                "{what}: {} refuses the output: {}",
                                s.display(),
                                e.lines().rev().take(4).collect::<Vec<_>>().join(" | ")
                            ));
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "{:<14} {:>5} {:>6} {:>10} {:>18} {:>8} {:>8} {:>10}",
        "kind", "cases", "exit 1", "loads ok", "untouched kept", "altered", "dropped", "skipped B"
    );
    for (k, f) in &figures {
        eprintln!(
            "{:<14} {:>5} {:>6} {:>10} {:>18} {:>8} {:>8} {:>10}",
            k,
            f.cases,
            f.exit1,
            format!("{}/{}", f.loads_ok, f.loads),
            format!("{}/{}", f.untouched_kept, f.untouched),
            f.altered,
            f.dropped,
            f.skipped_bytes
        );
    }
    assert!(
        figures.values().map(|f| f.cases).sum::<u64>() >= KINDS.len() as u64,
        "too few cases ran"
    );
    common::assert_no_failures(&failures);
}

/// Positions of `needle` in `hay`.
fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    (0..=hay.len().saturating_sub(needle.len()))
        .filter(move |&i| hay[i..].starts_with(needle) && !needle.is_empty())
}

/// A multi-part directory whose BASE (not the last file) has garbage in the
/// middle, as `redis-check-aof --fix` cannot repair it.
fn damaged_dir(root: &Path) -> (PathBuf, Vec<u8>) {
    let dir = root.join("appendonlydir");
    std::fs::create_dir(&dir).unwrap();
    let arg = |v: &[&str]| encode(&v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>());
    let mut base = arg(&["SELECT", "0"]);
    for i in 0..50 {
        base.extend(arg(&["SET", &format!("base:{i}"), "v"]));
    }
    let garbage = b"\x00\x13*9\r\n$zz garbage".to_vec();
    let cut = base.len();
    base.extend(&garbage);
    for i in 50..100 {
        base.extend(arg(&["SET", &format!("base:{i}"), "v"]));
    }
    let _ = cut;
    let mut incr = Vec::new();
    for i in 0..20 {
        incr.extend(arg(&["SET", &format!("incr:{i}"), "w"]));
    }
    incr.extend(arg(&["NOSUCHCOMMAND", "x"]));
    std::fs::write(dir.join("appendonly.aof.1.base.aof"), base).unwrap();
    std::fs::write(dir.join("appendonly.aof.1.incr.aof"), incr).unwrap();
    std::fs::write(
        dir.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    (dir, garbage)
}

#[test]
fn cli_layouts_exit_codes_and_lost_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, garbage) = damaged_dir(tmp.path());
    let out = tmp.path().join("out");
    let lost = tmp.path().join("lost.bin");
    let r = common::run(&[
        "salvage",
        dir.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--lost",
        lost.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        r.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(doc["commands_kept"], 121);
    assert_eq!(doc["commands_dropped"], 1);
    assert_eq!(doc["skipped_bytes"], garbage.len() as u64);
    assert_eq!(doc["rechecked"], true);
    let dropped = &doc["files"][1]["salvage"]["dropped"][0];
    assert_eq!(dropped["name"], "NOSUCHCOMMAND");
    assert_eq!(dropped["reason"], "unknown-command");
    // The layout Redis 7 writes, with the input's names and numbers.
    assert_eq!(
        std::fs::read_to_string(out.join("appendonly.aof.manifest")).unwrap(),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    // --lost: the skipped bytes, then the dropped command's record.
    let lost_bytes = std::fs::read(&lost).unwrap();
    assert!(lost_bytes.starts_with(&garbage));
    assert!(lost_bytes.ends_with(b"$13\r\nNOSUCHCOMMAND\r\n$1\r\nx\r\n"));
    assert_eq!(
        common::run(&["check-aof", out.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    // The output is clean: salvaging it again changes nothing (exit 0).
    let again = tmp.path().join("again");
    let r = common::run(&[
        "salvage",
        out.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    for n in ["appendonly.aof.1.base.aof", "appendonly.aof.1.incr.aof"] {
        assert_eq!(
            std::fs::read(out.join(n)).unwrap(),
            std::fs::read(again.join(n)).unwrap()
        );
    }
    // An existing OUTPUT needs --force; an input is never replaced.
    let r = common::run(&[
        "salvage",
        dir.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(2));
    for target in [dir.clone(), dir.join("appendonly.aof.1.incr.aof")] {
        let r = common::run(&[
            "salvage",
            dir.to_str().unwrap(),
            "-o",
            target.to_str().unwrap(),
            "--force",
            "--single-file",
        ]);
        assert_eq!(r.status.code(), Some(2));
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("appendonly.aof.manifest"))
            .unwrap()
            .lines()
            .count(),
        2
    );
    // --single-file: one file, the BASE's commands then the INCR's.
    let single = tmp.path().join("single.aof");
    let r = common::run(&[
        "salvage",
        dir.join("appendonly.aof.manifest").to_str().unwrap(),
        "-o",
        single.to_str().unwrap(),
        "--single-file",
    ]);
    assert_eq!(r.status.code(), Some(1));
    let parts = [
        std::fs::read(out.join("appendonly.aof.1.base.aof")).unwrap(),
        std::fs::read(out.join("appendonly.aof.1.incr.aof")).unwrap(),
    ]
    .concat();
    assert_eq!(std::fs::read(&single).unwrap(), parts);
    // Both load in redis-server 7.0 with every key kept.
    if let Some(bin) = common::redis_server_bin() {
        assert_eq!(load(&bin, &out), Ok(120));
        assert_eq!(load(&bin, &single), Ok(120));
        // The input itself is refused.
        assert!(load(&bin, &dir).is_err());
    }
}

#[test]
fn replay_writes_a_hybrid_directory_the_server_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = damaged_dir(tmp.path());
    let out = tmp.path().join("replayed");
    let r = common::run(&[
        "salvage",
        dir.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--replay",
    ]);
    assert_eq!(
        r.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let names: HashSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains("appendonly.aof.2.base.rdb"), "{names:?}");
    // No stage left beside it.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 2);
    let dump = common::run(&["dump", out.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&dump.stdout).lines().count(), 120);
    if let Some(bin) = common::redis_server_bin() {
        assert_eq!(load(&bin, &out), Ok(120));
    }
    // With --json: one document, the conversion's report under `replay`.
    let out2 = tmp.path().join("replayed-json");
    let r = common::run(&[
        "salvage",
        dir.to_str().unwrap(),
        "-o",
        out2.to_str().unwrap(),
        "--replay",
        "--json",
    ]);
    assert_eq!(r.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout)
        .unwrap_or_else(|e| panic!("one JSON document on stdout ({e})"));
    assert_eq!(doc["error"], serde_json::Value::Null);
    assert!(doc["commands_kept"].as_u64().unwrap() > 0, "{doc}");
    assert_eq!(doc["replay"]["ok"], serde_json::Value::Bool(true), "{doc}");
    assert_eq!(doc["replay"]["keys"].as_u64(), Some(120), "{doc}");
}
