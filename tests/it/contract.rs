//! The contract every subcommand follows (issue 18; README, "Exit codes"),
//! as one table: every subcommand × every kind of input that is not a
//! persistence file × {human, JSON}. For each run: the exit code of the
//! table; with JSON, stdout is one JSON document with an `error` and the same
//! top-level keys as a successful run's document; without, nothing on stdout;
//! and exactly one line on stderr, the error (none when the table says 0).
//!
//! A new subcommand is one more line of [`TABLE`].

#![allow(clippy::print_stderr)]

use crate::common;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::Value as J;

/// The inputs, in the order of [`Row::codes`]. Standard input receives the
/// random bytes.
const INPUTS: [&str; 7] = [
    "missing path",
    "directory",
    "empty file",
    "random bytes",
    "JSON file",
    "unreadable file",
    "stdin",
];

/// One subcommand: its name, the arguments after the input (`{out}` is a
/// fresh output path), the switch that makes its output one JSON document,
/// the input a successful run reads (`rdb` or `aof`), and the exit code for
/// each of [`INPUTS`].
struct Row {
    sub: &'static str,
    args: &'static [&'static str],
    json: &'static [&'static str],
    ok_input: &'static str,
    codes: [i32; 7],
}

/// The contract. An empty file is a valid, empty AOF (the server loads it as
/// an empty dataset; `redis-check-aof` says so with exit 0); a conversion
/// needs a file, not standard input (2).
const TABLE: &[Row] = &[
    Row {
        sub: "check-rdb",
        args: &[],
        json: &["--json"],
        ok_input: "rdb",
        codes: [2, 2, 1, 1, 1, 2, 1],
    },
    Row {
        sub: "check-aof",
        args: &[],
        json: &["--json"],
        ok_input: "aof",
        codes: [2, 2, 0, 1, 1, 2, 1],
    },
    Row {
        sub: "dump",
        args: &[],
        json: &["--format", "json"],
        ok_input: "rdb",
        codes: [2, 2, 1, 1, 1, 2, 1],
    },
    Row {
        sub: "stats",
        args: &[],
        json: &["--json"],
        ok_input: "rdb",
        codes: [2, 2, 1, 1, 1, 2, 1],
    },
    Row {
        sub: "convert-aof-to-hybrid",
        args: &["-o", "{out}"],
        json: &["--json"],
        ok_input: "aof",
        codes: [2, 2, 0, 1, 1, 2, 2],
    },
    Row {
        sub: "salvage",
        args: &["-o", "{out}"],
        json: &["--json"],
        ok_input: "rdb",
        codes: [2, 2, 1, 1, 1, 2, 1],
    },
    Row {
        sub: "rewrite",
        args: &["-o", "{out}", "--target", "redis-7.0"],
        json: &["--json"],
        ok_input: "rdb",
        codes: [2, 2, 1, 1, 1, 2, 1],
    },
];

/// The inputs on disk.
struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    random: Vec<u8>,
    /// Whether this process can read a mode-000 file (root): the unreadable
    /// case then runs the binary as `nobody`.
    root_reads_anything: bool,
    outputs: std::cell::Cell<u32>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        // Traversable by `nobody` (the unreadable case as root), outputs too.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(root.join("out")).unwrap();
        std::fs::set_permissions(root.join("out"), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::create_dir(root.join("dir")).unwrap();
        std::fs::write(root.join("empty"), b"").unwrap();
        let mut rng = common::Rng(18);
        let random: Vec<u8> = (0..4096).map(|_| rng.below(256) as u8).collect();
        std::fs::write(root.join("random"), &random).unwrap();
        std::fs::write(
            root.join("file.json"),
            br#"{"keys": [1, 2, 3], "ok": true}"#,
        )
        .unwrap();
        let unreadable = root.join("unreadable");
        std::fs::write(&unreadable, b"REDIS0011").unwrap();
        std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
        let root_reads_anything = std::fs::File::open(&unreadable).is_ok();
        std::fs::write(
            root.join("ok.aof"),
            b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n",
        )
        .unwrap();
        Self {
            _dir: dir,
            root,
            random,
            root_reads_anything,
            outputs: std::cell::Cell::new(0),
        }
    }

    fn input(&self, i: usize) -> String {
        let name = [
            "missing",
            "dir",
            "empty",
            "random",
            "file.json",
            "unreadable",
            "-",
        ][i];
        if name == "-" {
            return name.to_owned();
        }
        self.root.join(name).display().to_string()
    }

    fn fresh_output(&self) -> String {
        let n = self.outputs.get() + 1;
        self.outputs.set(n);
        self.root
            .join("out")
            .join(format!("o{n}"))
            .display()
            .to_string()
    }

    /// Runs `sub` on `input` with `extra` switches.
    fn run(&self, row: &Row, input: &str, json: bool, as_nobody: bool, stdin: &[u8]) -> Output {
        let mut cmd = common::bin();
        cmd.arg("--no-progress").arg(row.sub);
        if json {
            cmd.args(row.json);
        }
        cmd.arg(input);
        for a in row.args {
            cmd.arg(if *a == "{out}" {
                self.fresh_output()
            } else {
                (*a).to_owned()
            });
        }
        if as_nobody {
            cmd.uid(65534).gid(65534);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("running redis-persist");
        let mut pipe = child.stdin.take().unwrap();
        // The command may stop reading early: a closed pipe is fine.
        let _ = pipe.write_all(stdin);
        drop(pipe);
        child.wait_with_output().unwrap()
    }

    /// The top-level keys of `row`'s document on a valid input.
    fn success_keys(&self, row: &Row) -> BTreeSet<String> {
        let input = match row.ok_input {
            "rdb" => common::root().join("testdata/rdb/redis-7.0-types.rdb"),
            _ => self.root.join("ok.aof"),
        };
        let out = self.run(row, &input.display().to_string(), true, false, b"");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{} on a valid input: {out:?}",
            row.sub
        );
        let doc: J = serde_json::from_slice(&out.stdout).unwrap();
        assert!(doc["error"].is_null(), "{}: {doc}", row.sub);
        keys(&doc)
    }
}

fn keys(doc: &J) -> BTreeSet<String> {
    doc.as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn one_contract_for_every_subcommand() {
    let fx = Fixture::new();
    if fx.root_reads_anything {
        eprintln!("contract: running as root: the unreadable file is read as user nobody");
    }
    let mut failures = Vec::new();
    for row in TABLE {
        let ok_keys = fx.success_keys(row);
        for (i, what) in INPUTS.iter().enumerate() {
            let input = fx.input(i);
            let as_nobody = i == 5 && fx.root_reads_anything;
            let stdin: &[u8] = if input == "-" { &fx.random } else { b"" };
            for json in [false, true] {
                let out = fx.run(row, &input, json, as_nobody, stdin);
                let case = format!(
                    "{} {} ({what}){}",
                    row.sub,
                    input,
                    if json { " JSON" } else { "" }
                );
                let stdout = String::from_utf8_lossy(&out.stdout);
                let stderr = String::from_utf8_lossy(&out.stderr);
                let want = row.codes[i];
                if out.status.code() != Some(want) {
                    failures.push(format!(
                        "{case}: exit {:?}, want {want}; stderr: {stderr}",
                        out.status.code()
                    ));
                    continue;
                }
                let lines: Vec<&str> = stderr.lines().collect();
                if want == 0 {
                    if !lines.is_empty() {
                        failures.push(format!("{case}: exit 0 with stderr: {stderr}"));
                    }
                } else if lines.len() != 1 || !lines[0].starts_with("redis-persist: error: ") {
                    failures.push(format!(
                        "{case}: want one error line on stderr, got: {stderr}"
                    ));
                } else if lines[0].matches("(os error").count() > 1 {
                    failures.push(format!("{case}: error repeated: {}", lines[0]));
                }
                if json {
                    match serde_json::from_slice::<J>(&out.stdout) {
                        Ok(doc) => {
                            if keys(&doc) != ok_keys {
                                failures.push(format!(
                                    "{case}: keys {:?}, a successful run has {ok_keys:?}",
                                    keys(&doc)
                                ));
                            }
                            if (want != 0) == doc["error"].is_null() {
                                failures.push(format!("{case}: error field {}", doc["error"]));
                            }
                        }
                        Err(e) => failures.push(format!(
                            "{case}: stdout is not one JSON document ({e}): {stdout}"
                        )),
                    }
                } else if want != 0 && !out.stdout.is_empty() {
                    failures.push(format!("{case}: stdout not empty: {stdout}"));
                }
            }
        }
    }
    common::assert_no_failures(&failures);
}

/// `check-rdb`'s per-file entry of a file it could not read has the keys of
/// a file it read.
#[test]
fn check_rdb_file_entries_have_one_shape() {
    let fx = Fixture::new();
    let ok = common::run(&["check-rdb", "--json", "testdata/rdb/redis-7.0-types.rdb"]);
    let ok: J = serde_json::from_slice(&ok.stdout).unwrap();
    let missing = fx.input(0);
    let bad = common::run(&["check-rdb", "--json", &missing]);
    assert_eq!(bad.status.code(), Some(2));
    let bad: J = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(keys(&ok["files"][0]), keys(&bad["files"][0]));
    assert!(
        bad["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("No such file")
    );
}

/// `--threads 0` is a usage error everywhere it is accepted.
#[test]
fn zero_threads_is_a_usage_error() {
    for sub in ["check-rdb", "dump", "stats"] {
        let out = common::run(&[sub, "--threads", "0", "testdata/rdb/redis-7.0-types.rdb"]);
        assert_eq!(out.status.code(), Some(2), "{sub}");
        assert!(out.stdout.is_empty(), "{sub}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--threads"),
            "{sub}"
        );
    }
}

fn torn_aof(dir: &Path) -> PathBuf {
    let p = dir.join("torn.aof");
    std::fs::write(
        &p,
        b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\nhel",
    )
    .unwrap();
    p
}

/// `dump` and `stats` of an AOF whose last command is torn: the key of the
/// complete command is there, and stderr says what was dropped, from which
/// offset, with exit 1 (the server drops it with `aof-load-truncated yes`).
#[test]
fn a_torn_last_command_is_never_dropped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let torn = torn_aof(dir.path());
    let torn = torn.to_str().unwrap();
    for args in [
        vec!["dump", torn],
        vec!["stats", torn],
        vec!["stats", "--json", torn],
    ] {
        let out = common::run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("from offset 27")
                && stderr.contains("bytes")
                && stderr.contains("dropped"),
            "{args:?}: {stderr}"
        );
    }
    let out = common::run(&["dump", torn]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""key":"a""#));
}

/// `dump -` of an AOF does not talk about `--base-only` when it was not given.
#[test]
fn dump_stdin_aof_hint_is_right() {
    let mut child = common::bin()
        .args(["dump", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("--base-only"), "{stderr}");
    assert!(stderr.contains("give the AOF as a file"), "{stderr}");
}

/// `check-aof --truncate-to-timestamp --dry-run` of a valid AOF: valid, exit 0.
#[test]
fn truncate_dry_run_of_a_valid_aof_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ts.aof");
    std::fs::write(
        &p,
        b"#TS:1700000000\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n\
          #TS:1700000100\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\nd\r\n",
    )
    .unwrap();
    let before = std::fs::read(&p).unwrap();
    let out = common::run(&[
        "check-aof",
        "--truncate-to-timestamp",
        "1700000050",
        "--dry-run",
        p.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("NOT VALID"), "{stdout}");
    assert!(stdout.contains("would truncate"), "{stdout}");
    assert_eq!(std::fs::read(&p).unwrap(), before);
}

/// A checksum mismatch names no database; the type byte wording.
#[test]
fn problem_wording() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = std::fs::read(common::root().join("testdata/rdb/redis-7.0-types.rdb")).unwrap();
    let n = b.len();
    b[n - 1] ^= 0xff;
    let p = dir.path().join("crc.rdb");
    std::fs::write(&p, &b).unwrap();
    for sub in ["check-rdb", "stats"] {
        let out = common::run(&[sub, p.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{sub}: {stdout}");
        let line = stdout
            .lines()
            .find(|l| l.contains("checksum mismatch"))
            .expect("a checksum line");
        assert!(!line.contains("(db "), "{sub}: {line}");
    }
    let out = common::run(&["dump", p.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("checksum mismatch"))
        .expect("a checksum line");
    assert!(!line.contains("db "), "{line}");
    assert!(line.contains("salvage"), "says what to do: {line}");
}

/// Runs `shell_cmd` under `script`, in a pseudo-terminal (so that the progress
/// bar on stderr is drawn), feeding it `input` a piece at a time. Returns the
/// terminal's bytes and the exit code.
fn in_terminal(shell_cmd: &str, input: &[&[u8]]) -> (String, Option<i32>) {
    let mut child = std::process::Command::new("script")
        .args(["-qec", shell_cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs a command in a pseudo-terminal");
    let mut stdin = child.stdin.take().unwrap();
    for piece in input {
        std::thread::sleep(std::time::Duration::from_millis(700));
        stdin.write_all(piece).unwrap();
        stdin.flush().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

/// The bar labelled `label` was drawn, and erased after its last drawing.
fn bar_drawn_then_cleared(tty: &str, label: &str) -> bool {
    tty.rfind(label)
        .is_some_and(|at| tty[at..].contains("\x1b[2K") && !tty[at + 1..].contains(label))
}

/// `dump … | head`: the closed pipe ends the dump quietly (exit 0, no error)
/// and the progress bar is erased, not left on the screen.
#[test]
fn progress_bar_cleared_when_the_pipe_closes() {
    let f = common::root().join("testdata/stats/redis-7.0-mixed.rdb");
    let cmd = format!(
        "{} dump {} | head -c 10 > /dev/null; exit ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_redis-persist"),
        f.display()
    );
    let (tty, code) = in_terminal(&format!("bash -c '{cmd}'"), &[]);
    assert_eq!(code, Some(0), "{tty:?}");
    assert!(!tty.contains("error"), "{tty:?}");
    assert!(bar_drawn_then_cleared(&tty, "dumping"), "{tty:?}");
}

/// Ctrl-C while a bar is drawn: the bar is erased and the exit code is 130.
#[test]
fn progress_bar_cleared_on_ctrl_c() {
    let cmd = format!("{} check-rdb -", env!("CARGO_BIN_EXE_redis-persist"));
    // A header, then Ctrl-C (the terminal sends SIGINT) while the check waits
    // for more of standard input.
    let (tty, code) = in_terminal(&cmd, &[b"REDIS0011\n", b"\x03"]);
    assert_eq!(code, Some(130), "{tty:?}");
    assert!(bar_drawn_then_cleared(&tty, "checking -"), "{tty:?}");
}
