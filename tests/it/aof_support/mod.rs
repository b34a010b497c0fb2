//! Helpers shared by the `check_aof*` integration tests: RESP encoding, running the
//! binary with `--json`, running the real `redis-check-aof`, and parsing its output.
#![allow(dead_code, clippy::print_stderr)]

use std::io::Write;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Output, Stdio};

use serde_json::Value;

use super::common;

/// RESP encoding of one command.
pub fn r(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend(format!("${}\r\n", a.len()).bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// RESP encoding of a command given as text words.
pub fn rs(words: &str) -> Vec<u8> {
    let args: Vec<&[u8]> = words.split(' ').map(str::as_bytes).collect();
    r(&args)
}

/// Runs `redis-persist check-aof <args>` and returns the exit code and stdout.
pub fn check_aof(args: &[&str]) -> (i32, String, String) {
    let out = common::bin()
        .arg("check-aof")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `check-aof --json <args> <path>` and returns the exit code and document.
pub fn check_json(path: &Path, extra: &[&str]) -> (i32, Value) {
    let out = common::bin()
        .arg("check-aof")
        .arg("--json")
        .args(extra)
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check-aof --json {} did not print JSON ({e}); exit {code}\nstdout: {}\nstderr: {}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

/// The real `redis-check-aof`, or `None` with a notice outside CI.
pub fn redis_check_aof_bin() -> Option<PathBuf> {
    common::redis_tool("redis-check-aof")
}

/// Runs the real `redis-check-aof` in `dir` with `args`, feeding `stdin`.
pub fn run_upstream(bin: &Path, dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut i = child.stdin.take().unwrap();
        let _ = i.write_all(stdin);
    }
    child.wait_with_output().unwrap()
}

/// One `AOF analyzed:` line of `redis-check-aof`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analyzed {
    pub filename: String,
    pub size: u64,
    pub ok_up_to: u64,
    pub ok_up_to_line: u64,
    pub diff: u64,
}

/// Parses every `AOF analyzed:` line of a `redis-check-aof` output.
pub fn parse_analyzed(text: &str) -> Vec<Analyzed> {
    text.lines()
        .filter_map(|l| l.split_once("AOF analyzed: ").map(|x| x.1))
        .map(|rest| {
            let get = |key: &str| -> String {
                let k = format!("{key}=");
                let start = rest.find(&k).unwrap() + k.len();
                let end = rest[start..].find(", ").map_or(rest.len(), |e| start + e);
                rest[start..end].to_owned()
            };
            Analyzed {
                filename: get("filename"),
                size: get("size").parse().unwrap(),
                ok_up_to: get("ok_up_to").parse().unwrap(),
                ok_up_to_line: get("ok_up_to_line").parse().unwrap(),
                diff: get("diff").parse().unwrap(),
            }
        })
        .collect()
}

/// The `0x…: message` error lines of a `redis-check-aof` output.
pub fn error_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("0x"))
        .map(str::to_owned)
        .collect()
}

/// Copies every regular file of `src` into `dst` (created).
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            let to = dst.join(e.file_name());
            std::fs::copy(e.path(), &to).unwrap();
            make_writable(&to);
        }
    }
}

/// Makes a copied file writable (the corpus is read-only).
pub fn make_writable(p: &Path) {
    let mut perm = std::fs::metadata(p).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(p, perm).unwrap();
}

/// Sizes of the regular files in `dir` whose name does not contain `.bak-`.
pub fn sizes(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .filter(|(n, _)| !n.contains(".bak-"))
        .collect();
    v.sort();
    v
}

/// The backups (`*.bak-*`) in `dir`.
pub fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".bak-"))
        .collect();
    v.sort();
    v
}

/// Reads the stderr of a `check-aof --fix` child run with a test pause until
/// it says it paused at `step`: that stderr's reader (to be drained when the
/// child ends) and what it printed up to the pause.
pub fn wait_paused(child: &mut Child, step: &str) -> (BufReader<ChildStderr>, String) {
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "ended without pausing at {step}: {seen}"
        );
        seen.push_str(&line);
        if line.contains(&format!("test pause at {step}")) {
            return (err, seen);
        }
    }
}
