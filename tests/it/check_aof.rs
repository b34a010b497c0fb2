//! `check-aof` against the shared corpus: every real AOF is valid, every edge-case
//! fixture gives the verdict, offsets and post-`--fix` sizes its README records for
//! `redis-check-aof` (or a documented deliberate difference), plus the CLI
//! behaviours of `--fix` (confirmation, dry run, backups, idempotence, refusals).

use crate::aof_support;
use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use aof_support::{backups, check_aof, check_json, copy_dir, make_writable, sizes};
use serde_json::Value;

fn corpus_or_skip() -> Option<PathBuf> {
    common::corpus()
}

/// Every AOF input of the corpus version folders and the upstream fixtures.
fn corpus_inputs(corpus: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(corpus)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    for d in dirs {
        let mut entries: Vec<PathBuf> = fs::read_dir(&d)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_file()
                && name.starts_with("appendonly")
                && p.extension().is_some_and(|e| e == "aof")
            {
                out.push(p);
            } else if p.is_dir() && name.starts_with("aof-") {
                out.push(p.clone());
                out.push(p.join("appendonly.aof.manifest"));
            }
        }
    }
    for v in ["redis", "valkey"] {
        out.push(corpus.join("upstream").join(v).join("rdb-preamble.aof"));
    }
    out.push(corpus.join("edge-cases/aof-propagation/appendonlydir"));
    out
}

#[test]
fn every_corpus_aof_is_valid() {
    let Some(corpus) = corpus_or_skip() else {
        return;
    };
    let inputs = corpus_inputs(&corpus);
    assert!(
        inputs.len() >= 40,
        "expected the whole corpus, found {inputs:?}"
    );
    for p in &inputs {
        let (code, v) = check_json(p, &["--strict"]);
        assert_eq!(code, 0, "{}: {v:#}", p.display());
        assert_eq!(v["ok"], true);
        assert_eq!(v["errors"], 0, "{}", p.display());
        assert_eq!(v["warnings"], 0, "{}: {v:#}", p.display());
        let files = v["files"].as_array().unwrap();
        assert!(!files.is_empty());
        let mut commands = 0;
        for f in files {
            assert_eq!(f["ok"], true, "{}: {f:#}", p.display());
            assert_eq!(f["valid_up_to"], f["size"], "{}", p.display());
            assert_eq!(f["redis_check_aof"]["diff"], 0);
            commands += f["commands"].as_u64().unwrap();
            if f["format"] == "rdb-preamble" {
                let rdb = &f["rdb"];
                assert_eq!(rdb["ok"], true);
                assert_eq!(rdb["end_offset"], f["resp_start"]);
            }
        }
        assert!(commands > 0, "{}: no command read", p.display());
        let name = p.display().to_string();
        if name.contains("aof-timestamps") {
            let ann: u64 = files
                .iter()
                .map(|f| f["annotations"].as_u64().unwrap())
                .sum();
            assert!(ann > 0, "{name}: #TS annotations expected");
        }
        if name.contains("aof-preamble") {
            assert_eq!(files[0]["format"], "rdb-preamble", "{name}");
            assert!(files[0]["rdb"]["keys"].as_u64().unwrap() > 100, "{name}");
        }
        if p.is_dir() || name.ends_with(".manifest") {
            assert_eq!(v["layout"], "multi-part");
            assert_eq!(files[0]["kind"], "base");
            assert_eq!(files.last().unwrap()["kind"], "incr");
        } else {
            assert_eq!(v["layout"], "single");
        }
    }
}

/// One row of an edge-case README table.
#[derive(Debug)]
struct Row {
    name: String,
    checker: String,
    fix: String,
    loader_yes: String,
    loader_no: String,
}

fn readme_rows(corpus: &Path, section: &str, next: &str) -> Vec<Row> {
    let text = fs::read_to_string(corpus.join("edge-cases/README.md")).unwrap();
    let start = text.find(section).unwrap();
    let end = start + text[start..].find(next).unwrap();
    text[start..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            assert_eq!(cols.len(), 8, "unexpected README row {l}");
            Row {
                name: cols[1].trim_matches('`').to_owned(),
                checker: cols[3].to_owned(),
                fix: cols[4].to_owned(),
                loader_yes: cols[5].to_owned(),
                loader_no: cols[6].to_owned(),
            }
        })
        .collect()
}

fn exit_of(cell: &str) -> i32 {
    let i = cell.rfind("(exit ").unwrap() + 6;
    cell[i..].split(')').next().unwrap().parse().unwrap()
}

/// `AOF analyzed:` entries of a README checker cell (lines joined with ` / `).
fn analyzed_in(cell: &str) -> Vec<aof_support::Analyzed> {
    aof_support::parse_analyzed(&cell.replace(" / ", "\n").replace(" (exit", "\n(exit"))
}

/// Deliberate differences from `redis-check-aof`, by fixture: (our exit for the
/// check, our exit for `--fix`, why).
fn single_differences() -> BTreeMap<&'static str, (i32, i32, &'static str)> {
    BTreeMap::from([
        (
            "zero-argc.aof",
            (
                1,
                1,
                "`*0` passes redis-check-aof but the server refuses the file: reported, not cut",
            ),
        ),
        (
            "negative-argc.aof",
            (
                1,
                1,
                "`*-1` passes redis-check-aof but the server refuses the file: reported, not cut",
            ),
        ),
    ])
}

#[test]
fn edge_cases_single_files_match_the_readme() {
    let Some(corpus) = corpus_or_skip() else {
        return;
    };
    let rows = readme_rows(&corpus, "### Single-file AOFs", "### Multi-part");
    let dir = corpus.join("edge-cases/aof-single");
    let on_disk = fs::read_dir(&dir).unwrap().count();
    assert_eq!(rows.len(), on_disk, "one README row per fixture");
    let diffs = single_differences();
    let mut predictions = 0;
    for row in &rows {
        let src = dir.join(&row.name);
        let orig = fs::read(&src).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join(&row.name);
        fs::copy(&src, &file).unwrap();
        make_writable(&file);

        // Check.
        let (code, v) = check_json(&file, &[]);
        let want_exit = exit_of(&row.checker);
        let diff = diffs.get(row.name.as_str());
        assert_eq!(code, diff.map_or(want_exit, |d| d.0), "{}: {v:#}", row.name);
        let f = &v["files"][0];
        for a in analyzed_in(&row.checker) {
            let up = &f["redis_check_aof"];
            assert_eq!(up["ok_up_to"], a.ok_up_to, "{}", row.name);
            assert_eq!(up["ok_up_to_line"], a.ok_up_to_line, "{}", row.name);
            assert_eq!(up["diff"], a.diff, "{}", row.name);
            assert_eq!(f["size"], a.size, "{}", row.name);
        }
        // The error line redis-check-aof prints, byte for byte (offset and text).
        if let Some(line) = row.checker.split(" / ").find(|l| l.starts_with("0x")) {
            let ours = f["redis_check_aof"]["error"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let ours = ours.replace(&format!("{}", file.display()), &row.name);
            assert_eq!(collapse(&ours), collapse(line), "{}", row.name);
        }
        predictions += usize::from(check_server_prediction(
            f,
            &row.loader_yes,
            &row.loader_no,
            &row.name,
        ));
        if row.checker.contains("not sane") {
            assert_eq!(f["format"], "rdb-preamble");
            assert_eq!(f["rdb"]["ok"], false, "{}", row.name);
        }

        // Fix.
        let (before, after, fix_exit) = parse_fix_single(&row.fix);
        assert_eq!(before, orig.len() as u64);
        let (code, v) = check_json(&file, &["--fix", "--yes"]);
        assert_eq!(
            code,
            diff.map_or(fix_exit, |d| d.1),
            "{} --fix: {v:#}",
            row.name
        );
        let now = fs::read(&file).unwrap();
        assert_eq!(now.len() as u64, after, "{} --fix size", row.name);
        assert_eq!(now, orig[..now.len()], "{}: a fix only truncates", row.name);
        let b = backups(tmp.path());
        if after < before {
            assert_eq!(b.len(), 1, "{}: one backup", row.name);
            assert_eq!(
                fs::read(&b[0]).unwrap(),
                orig,
                "{}: the backup holds the original",
                row.name
            );
            assert_eq!(v["fix"]["applied"], true);
            assert_eq!(v["fix"]["backup"], b[0].display().to_string());
            assert_eq!(v["fix"]["cut_bytes"], before - after);
            // Idempotent: a second run finds it valid and does nothing.
            let (code2, v2) = check_json(&file, &["--fix", "--yes"]);
            assert_eq!(code2, 0, "{}: {v2:#}", row.name);
            assert_eq!(v2["fix"], Value::Null);
            assert_eq!(backups(tmp.path()).len(), 1);
            assert_eq!(fs::read(&file).unwrap(), now);
        } else {
            assert!(b.is_empty(), "{}: no backup when nothing is cut", row.name);
        }
    }
    // Every fixture the checker flags gets a prediction of the server's behaviour.
    assert!(predictions >= 17, "{predictions} predictions");
}

/// Compares our prediction of the server's loader (present for the files with a
/// problem) with the README's loader columns: starts / refuses / crashes, and the
/// size the server leaves.
fn check_server_prediction(f: &Value, yes: &str, no: &str, ctx: &str) -> bool {
    let s = &f["server"];
    if s.is_null() {
        return false;
    }
    let outcome = s["outcome"].as_str().unwrap();
    let name = f["name"].as_str().unwrap();
    match outcome {
        "crashes" => {
            assert!(
                yes.starts_with("crashes") && no.starts_with("crashes"),
                "{ctx}: {yes}"
            );
        }
        "loads" | "truncates" => {
            let starts = s["starts"].as_bool().unwrap();
            assert_eq!(yes.starts_with("starts"), starts, "{ctx}: {yes} vs {s:#}");
            // With aof-load-truncated no, a truncation refuses.
            assert_eq!(
                no.starts_with("starts"),
                outcome == "loads",
                "{ctx}: {no} vs {s:#}"
            );
            // The size the server leaves (single files: `1.incr.aof=N`; multi-part:
            // `<seq>.<kind>.aof=N` after "size: ").
            let want = s["truncates_to"]
                .as_u64()
                .unwrap_or_else(|| f["size"].as_u64().unwrap());
            let key = name.strip_prefix("appendonly.aof.").unwrap_or("1.incr.aof");
            let sizes = yes
                .split("size: ")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap();
            let got = sizes
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("{ctx}: no size of {key} in {yes}"));
            assert_eq!(
                got.trim_end_matches(','),
                want.to_string(),
                "{ctx}: size left by the server"
            );
        }
        _ => {
            assert!(
                yes.starts_with("refuses") && no.starts_with("refuses"),
                "{ctx}: {outcome} vs {yes}"
            );
        }
    }
    true
}

/// `0x              3b: …` → `0x 3b: …` (the README collapses the padding).
fn collapse(s: &str) -> String {
    let mut out = String::new();
    let mut prev_space = false;
    for c in s.chars() {
        if c == ' ' {
            if !prev_space {
                out.push(c);
            }
            prev_space = true;
        } else {
            out.push(c);
            prev_space = false;
        }
    }
    out
}

fn parse_fix_single(cell: &str) -> (u64, u64, i32) {
    let (a, rest) = cell.split_once(" → ").unwrap();
    let b = rest.split_whitespace().next().unwrap();
    (a.trim().parse().unwrap(), b.parse().unwrap(), exit_of(cell))
}

/// Multi-part differences: (our check exit, our fix exit, sizes after our fix, why).
type Difference = (i32, i32, Option<Vec<(&'static str, u64)>>, &'static str);

fn multipart_differences() -> BTreeMap<&'static str, Difference> {
    BTreeMap::from([
        (
            "uppercase-keys",
            (
                0,
                0,
                Some(vec![
                    ("appendonly.aof.1.incr.aof", 29),
                    ("appendonly.aof.manifest", 44),
                ]),
                "the server accepts upper-case keys: we read it as a manifest; redis-check-aof takes it for an AOF and --fix empties it",
            ),
        ),
        (
            "empty-manifest",
            (
                1,
                1,
                None,
                "the server refuses an empty manifest; redis-check-aof calls it an empty AOF",
            ),
        ),
        (
            "comment-only",
            (
                0,
                0,
                None,
                "same verdict, but read as a manifest listing nothing (the server then starts empty), with a warning, not as a one-line AOF",
            ),
        ),
    ])
}

#[test]
fn edge_cases_multipart_match_the_readme() {
    let Some(corpus) = corpus_or_skip() else {
        return;
    };
    let rows = readme_rows(&corpus, "### Multi-part directories", "## Notable");
    let root = corpus.join("edge-cases/aof-multipart");
    assert_eq!(
        rows.len(),
        fs::read_dir(&root).unwrap().count(),
        "one README row per fixture"
    );
    let diffs = multipart_differences();
    let mut predictions = 0;
    for row in &rows {
        let src = root.join(&row.name).join("appendonlydir");
        for via_dir in [true, false] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("appendonlydir");
            copy_dir(&src, &dir);
            let input = if via_dir {
                dir.clone()
            } else {
                dir.join("appendonly.aof.manifest")
            };
            let diff = diffs.get(row.name.as_str());
            let (code, v) = check_json(&input, &[]);
            assert_eq!(
                code,
                diff.map_or(exit_of(&row.checker), |d| d.0),
                "{}: {v:#}",
                row.name
            );
            if matches!(row.name.as_str(), "comment-only" | "history-only") {
                assert_eq!(
                    v["manifest"]["problems"][0]["code"], "manifest-nothing-to-load",
                    "{}",
                    row.name
                );
            }
            if row.name == "empty-manifest" {
                assert_eq!(v["manifest"]["problems"][0]["code"], "manifest-empty");
            }
            for f in v["files"].as_array().unwrap() {
                predictions += usize::from(check_server_prediction(
                    f,
                    &row.loader_yes,
                    &row.loader_no,
                    &row.name,
                ));
            }
            if diff.is_none() {
                for a in analyzed_in(&row.checker) {
                    let f = v["files"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|f| f["name"] == a.filename.as_str())
                        .unwrap_or_else(|| panic!("{}: no file {} in {v:#}", row.name, a.filename));
                    let up = &f["redis_check_aof"];
                    assert_eq!(
                        (
                            up["ok_up_to"].as_u64(),
                            up["ok_up_to_line"].as_u64(),
                            up["diff"].as_u64()
                        ),
                        (Some(a.ok_up_to), Some(a.ok_up_to_line), Some(a.diff)),
                        "{} {}",
                        row.name,
                        a.filename
                    );
                }
                // Manifest errors: same message, same line.
                if row.checker.contains("FATAL AOF MANIFEST FILE ERROR") {
                    let p = &v["manifest"]["problems"][0];
                    let msg = row
                        .checker
                        .split(" / ")
                        .last()
                        .unwrap()
                        .split(" (exit")
                        .next()
                        .unwrap();
                    assert!(
                        p["message"].as_str().unwrap().starts_with(msg),
                        "{}: {p:#}",
                        row.name
                    );
                    if let Some(i) = row.checker.find("at line ") {
                        let n: u64 = row.checker[i + 8..]
                            .split(' ')
                            .next()
                            .unwrap()
                            .parse()
                            .unwrap();
                        assert_eq!(p["line"], n, "{}", row.name);
                    }
                    assert_eq!(v["manifest"]["ok"], false);
                }
                if row.checker.contains("Cannot open file") {
                    assert!(
                        v["files"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|f| f["missing"] == true),
                        "{}",
                        row.name
                    );
                }
            }
            // Fix.
            let before: BTreeMap<String, Vec<u8>> = sizes(&dir)
                .into_iter()
                .map(|(n, _)| (n.clone(), fs::read(dir.join(&n)).unwrap()))
                .collect();
            let (fix_exit, want_sizes) = parse_fix_multi(&row.fix);
            let (code, v) = check_json(&input, &["--fix", "--yes"]);
            let want_sizes = match diff.and_then(|d| d.2.clone()) {
                Some(s) => s.into_iter().map(|(n, z)| (n.to_owned(), z)).collect(),
                None => want_sizes,
            };
            assert_eq!(
                code,
                diff.map_or(fix_exit, |d| d.1),
                "{} --fix: {v:#}",
                row.name
            );
            assert_eq!(sizes(&dir), want_sizes, "{} sizes after --fix", row.name);
            for b in backups(&dir) {
                let name = b.file_name().unwrap().to_string_lossy();
                let orig = name.split(".bak-").next().unwrap();
                assert_eq!(
                    fs::read(&b).unwrap(),
                    before[orig],
                    "{}: backup of {orig}",
                    row.name
                );
            }
        }
    }
    assert!(predictions >= 6, "{predictions} predictions");
}

fn parse_fix_multi(cell: &str) -> (i32, Vec<(String, u64)>) {
    let (exit, rest) = cell.split_once(';').unwrap();
    let exit: i32 = exit.trim().trim_start_matches("exit ").parse().unwrap();
    let mut v: Vec<(String, u64)> = rest
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (n, z) = s.rsplit_once('=').unwrap();
            (n.to_owned(), z.parse().unwrap())
        })
        .collect();
    v.sort();
    (exit, v)
}

#[test]
fn fix_needs_a_terminal_or_yes_and_dry_run_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("a.aof");
    let mut data = aof_support::rs("set foo hello");
    let mut tail = aof_support::rs("set bar world");
    tail.pop();
    data.extend(&tail);
    fs::write(&f, &data).unwrap();
    let p = f.to_str().unwrap();
    // No terminal, no --yes: refuses, changes nothing, exit 1.
    let (code, out, _) = check_aof(&["--fix", p]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--yes"), "{out}");
    assert_eq!(fs::read(&f).unwrap(), data);
    assert!(backups(tmp.path()).is_empty());
    // Dry run: says what it would do, changes nothing.
    let (code, out, _) = check_aof(&["--fix", "--dry-run", "--yes", p]);
    assert_eq!(code, 1);
    assert!(out.contains("from 65 to 33 bytes"), "{out}");
    assert!(out.contains("dry run"), "{out}");
    assert_eq!(fs::read(&f).unwrap(), data);
    assert!(backups(tmp.path()).is_empty());
    // JSON reports the plan.
    let (code, v) = check_json(&f, &["--fix", "--dry-run"]);
    assert_eq!(code, 1);
    assert_eq!(v["fix"]["to_size"], 33);
    assert_eq!(v["fix"]["cut_bytes"], 32);
    assert_eq!(v["fix"]["applied"], false);
    assert_eq!(v["fix"]["dry_run"], true);
    assert_eq!(v["files"][0]["would_cut"]["to_size"], 33);
    // --backup-dir.
    let bdir = tmp.path().join("backups");
    fs::create_dir(&bdir).unwrap();
    let (code, v) = check_json(
        &f,
        &["--fix", "--yes", "--backup-dir", bdir.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(fs::read(&f).unwrap(), data[..33]);
    let b = backups(&bdir);
    assert_eq!(b.len(), 1);
    assert_eq!(fs::read(&b[0]).unwrap(), data);
    assert!(
        b[0].file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("a.aof.bak-")
    );
}

#[test]
fn a_backup_that_cannot_be_written_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("a.aof");
    let mut data = aof_support::rs("set foo hello");
    data.extend(b"!!!");
    fs::write(&f, &data).unwrap();
    // /proc accepts no new files, even for root.
    let (code, out, err) = check_aof(&[
        "--fix",
        "--yes",
        "--backup-dir",
        "/proc",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("nothing was modified"), "{err}");
    assert_eq!(fs::read(&f).unwrap(), data);
    // A backup dir that is not a directory.
    let (code, _, err) = check_aof(&[
        "--fix",
        "--yes",
        "--backup-dir",
        f.to_str().unwrap(),
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(fs::read(&f).unwrap(), data);
}

#[test]
fn strict_turns_command_warnings_into_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("a.aof");
    let mut data = aof_support::rs("set foo hello");
    data.extend(aof_support::rs("bla foo hello"));
    data.extend(aof_support::rs("set foo"));
    fs::write(&f, &data).unwrap();
    let (code, v) = check_json(&f, &[]);
    // A wrong arity is an error either way (redis-server 7.0 crashes on it).
    assert_eq!(code, 1);
    assert_eq!(v["warnings"], 1);
    let codes: Vec<&str> = v["files"][0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["unknown-command", "wrong-arity"]);
    assert_eq!(v["files"][0]["problems"][0]["offset"], 33);
    let (code, v) = check_json(&f, &["--strict"]);
    assert_eq!(code, 1);
    assert_eq!(v["errors"], 2);
    // Manifest notes too: a BASE listed after the INCR is accepted by the server.
    let dir = tmp.path().join("appendonlydir");
    fs::create_dir(&dir).unwrap();
    fs::write(
        dir.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.1.base.aof seq 1 type b\n",
    )
    .unwrap();
    fs::write(
        dir.join("appendonly.aof.1.base.aof"),
        aof_support::rs("set k1 v1"),
    )
    .unwrap();
    fs::write(
        dir.join("appendonly.aof.1.incr.aof"),
        aof_support::rs("set k2 v2"),
    )
    .unwrap();
    let (code, v) = check_json(&dir, &[]);
    assert_eq!((code, v["warnings"].as_u64()), (0, Some(1)), "{v:#}");
    assert_eq!(
        v["manifest"]["problems"][0]["code"],
        "manifest-base-not-first"
    );
    assert_eq!(v["manifest"]["problems"][0]["line"], 2);
    assert_eq!(v["files"][0]["kind"], "base", "the BASE loads first");
    let (code, _) = check_json(&dir, &["--strict"]);
    assert_eq!(code, 1);
    // --fix has nothing to cut for them.
    let (code, v) = check_json(&f, &["--strict", "--fix", "--yes"]);
    assert_eq!(code, 1);
    assert_eq!(v["fix"], Value::Null);
    assert_eq!(fs::read(&f).unwrap(), data);
}

#[test]
fn missing_path_is_exit_2_and_directory_without_manifest_too() {
    let (code, _, err) = check_aof(&["/nonexistent/appendonly.aof"]);
    assert_eq!(code, 2, "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = check_aof(&[tmp.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no *.manifest"), "{err}");
}

#[test]
fn human_report_names_the_problem_and_the_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("a.aof");
    let mut data = aof_support::rs("set foo hello");
    data.extend(aof_support::rs("multi"));
    data.extend(aof_support::rs("set bar world"));
    fs::write(&f, &data).unwrap();
    let (code, out, _) = check_aof(&[f.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("NOT VALID"), "{out}");
    assert!(out.contains("valid up to offset 33"), "{out}");
    assert!(out.contains("ok_up_to_line 18"), "{out}");
    assert!(out.contains("MULTI"), "{out}");
    assert!(
        out.contains("from 81 to 33 bytes: cut 48 bytes, 2 complete commands"),
        "{out}"
    );
}
