//! `check-aof --fix` against other processes (issue 19):
//! * two runs at once on the same damaged AOF: each keeps its own backup (or
//!   removes only what it created), the file is cut once;
//! * another process holding the AOF open for writing (a shell holding a
//!   descriptor, a real redis-server with `appendonly yes`): the run stops
//!   with exit 2 and names its process id, the file untouched, unless
//!   `--force`; a process holding it for reading only does not stop it; a
//!   writer that appears after the backup is still caught right before the
//!   truncation.
//!
//! The runs are interleaved with the test-only
//! `REDIS_PERSIST_TEST_FIX_FAULT=<step>:pause` and
//! `REDIS_PERSIST_TEST_FIX_RESUME=<path>` (documented in
//! `src/commands/check_aof.rs`).

use crate::aof_support::{rs, wait_paused};
use crate::common;

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A damaged AOF: commands then a cut-off one. Returns (bytes, valid length).
fn damaged() -> (Vec<u8>, usize) {
    let mut data = Vec::new();
    for i in 0..500 {
        data.extend(rs(&format!("set key:{i} {}", "v".repeat(100))));
    }
    let good = data.len();
    let mut last = rs("set last value");
    last.truncate(last.len() - 3);
    data.extend(last);
    (data, good)
}

/// `bytes` as `appendonly.aof` in a new temporary directory: (the
/// directory, the file).
fn aof_in_tmp(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("appendonly.aof");
    fs::write(&file, bytes).unwrap();
    (tmp, file)
}

/// A `check-aof --fix --yes` run on `file`, paused at `pause` until `resume`
/// exists.
fn spawn_fix(file: &Path, pause: Option<(&str, &Path)>) -> Child {
    let mut c = common::bin();
    c.args(["--no-progress", "check-aof", "--fix", "--yes"])
        .arg(file);
    if let Some((step, resume)) = pause {
        c.env("REDIS_PERSIST_TEST_FIX_FAULT", format!("{step}:pause"))
            .env("REDIS_PERSIST_TEST_FIX_RESUME", resume);
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Resumes a paused run and waits for it: (exit code, stdout, stderr).
fn resume(
    child: Child,
    mut err: BufReader<std::process::ChildStderr>,
    go: &Path,
) -> (Option<i32>, String, String) {
    fs::write(go, b"").unwrap();
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        rest,
    )
}

/// The names in `dir` other than `keep`, sorted.
fn others(dir: &Path, keep: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != keep && !n.starts_with("go-"))
        .collect();
    v.sort();
    v
}

/// Run B chose its backup's name; run A then created the `.partial` file of
/// that same name (same second) and is paused. B must take the next name and
/// leave A's file alone (the old code failed on the clash and removed A's
/// `.partial`); A, resumed, finds the file cut by B and fails, removing only
/// its own `.partial`. The file was cut once, one complete backup remains.
#[test]
fn a_clash_on_the_backup_name_keeps_the_other_runs_file() {
    let (orig, good) = damaged();
    let mut clashed = 0;
    for attempt in 0..5 {
        let (tmp, file) = aof_in_tmp(&orig);
        let (go_a, go_b) = (tmp.path().join("go-a"), tmp.path().join("go-b"));
        let mut b = spawn_fix(&file, Some(("backup-named", &go_b)));
        let (b_err, _) = wait_paused(&mut b, "backup-named");
        let mut a = spawn_fix(&file, Some(("backup-created", &go_a)));
        let (a_err, _) = wait_paused(&mut a, "backup-created");
        let a_partial = others(tmp.path(), "appendonly.aof");
        assert_eq!(a_partial.len(), 1, "{a_partial:?}");
        assert!(a_partial[0].ends_with(".partial"), "{a_partial:?}");
        let (code, out, err) = resume(b, b_err, &go_b);
        assert_eq!(code, Some(0), "run B: {out}{err}");
        // A's file is still there, whatever B did.
        assert!(
            tmp.path().join(&a_partial[0]).exists(),
            "attempt {attempt}: run B removed run A's {}: {err}",
            a_partial[0]
        );
        assert_eq!(fs::read(&file).unwrap(), orig[..good], "cut by B");
        let b_backup = err
            .lines()
            .find_map(|l| l.strip_prefix("backup written: "))
            .and_then(|r| r.rsplit_once(" (").map(|x| x.0.to_owned()))
            .unwrap();
        let a_name = a_partial[0].trim_end_matches(".partial");
        let b_name = Path::new(&b_backup).file_name().unwrap().to_string_lossy();
        if b_name == format!("{a_name}.1") {
            clashed += 1;
        }
        let (code, out, err) = resume(a, a_err, &go_a);
        assert_eq!(
            code,
            Some(2),
            "run A must fail (B cut the file): {out}{err}"
        );
        assert!(err.contains("changed"), "{err}");
        assert_eq!(fs::read(&file).unwrap(), orig[..good], "cut once");
        // Only B's complete backup is left; A removed its own partial copy.
        assert_eq!(others(tmp.path(), "appendonly.aof"), [b_name.to_string()]);
        assert_eq!(fs::read(&b_backup).unwrap(), orig);
        if clashed > 0 {
            break;
        }
    }
    assert!(clashed > 0, "the two runs never chose the same name");
}

/// A paused with its backup complete and verified (`.partial`), B runs to the
/// end, A resumes: both backups survive, complete, under different names; A
/// does not cut the file B already cut.
#[test]
fn two_runs_keep_both_backups_and_cut_once() {
    let (orig, good) = damaged();
    let (tmp, file) = aof_in_tmp(&orig);
    let go = tmp.path().join("go-a");
    let mut a = spawn_fix(&file, Some(("backup-synced", &go)));
    let (a_err, _) = wait_paused(&mut a, "backup-synced");
    let b = spawn_fix(&file, None).wait_with_output().unwrap();
    assert_eq!(
        b.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&b.stderr)
    );
    let (code, out, err) = resume(a, a_err, &go);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("changed since it was checked"), "{err}");
    assert_eq!(fs::read(&file).unwrap(), orig[..good]);
    let backups = others(tmp.path(), "appendonly.aof");
    assert_eq!(backups.len(), 2, "{backups:?}");
    for n in &backups {
        assert!(!n.ends_with(".partial"), "{backups:?}");
        assert_eq!(fs::read(tmp.path().join(n)).unwrap(), orig, "{n}");
    }
}

/// A process holding `file` with the shell redirection `redirect` (`>>`, `<`)
/// on descriptor 3, as `sleep` (its pid is the child's).
fn holder(file: &Path, redirect: &str) -> Child {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 3{redirect}\"$0\"; exec sleep 60"))
        .arg(file)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    for _ in 0..500 {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "sleep" && Path::new(&format!("/proc/{pid}/fd/3")).exists() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the holder did not start");
}

fn fix(file: &Path, extra: &[&str]) -> Output {
    common::bin()
        .args(["--no-progress", "check-aof", "--fix", "--yes"])
        .args(extra)
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_writer_stops_the_fix_unless_forced() {
    let (orig, good) = damaged();
    let (_tmp, file) = aof_in_tmp(&orig);

    // A reader only: no obstacle (it is cut, with a backup).
    let mut reader = holder(&file, "<");
    let r = fix(&file, &[]);
    let _ = reader.kill();
    let _ = reader.wait();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(fs::read(&file).unwrap(), orig[..good]);

    // A writer: exit 2, its pid named, nothing changed, no backup written.
    let (tmp, file) = aof_in_tmp(&orig);
    let mut writer = holder(&file, ">>");
    let r = fix(&file, &[]);
    let stderr = String::from_utf8_lossy(&r.stderr).into_owned();
    assert_eq!(r.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("process {} (sleep, fd 3)", writer.id()))
            && stderr.contains("open for writing")
            && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(fs::read(&file).unwrap(), orig);
    assert_eq!(others(tmp.path(), "appendonly.aof"), Vec::<String>::new());
    // The JSON run says the same on stderr, exit 2.
    let r = fix(&file, &["--json"]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(fs::read(&file).unwrap(), orig);

    // --force: cut anyway.
    let r = fix(&file, &["--force"]);
    let _ = writer.kill();
    let _ = writer.wait();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(fs::read(&file).unwrap(), orig[..good]);
}

/// A writer that opens the file after the backup was written (the window
/// between the first look and the truncation) is caught right before the
/// truncation: exit 2 naming it, the file untouched, the backup kept.
#[test]
fn a_writer_appearing_after_the_backup_is_caught() {
    let (orig, _) = damaged();
    let (tmp, file) = aof_in_tmp(&orig);
    let go = tmp.path().join("go-a");
    let mut a = spawn_fix(&file, Some(("backup-done", &go)));
    let (a_err, _) = wait_paused(&mut a, "backup-done");
    let mut writer = holder(&file, ">>");
    let (code, out, err) = resume(a, a_err, &go);
    let _ = writer.kill();
    let _ = writer.wait();
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains(&format!("process {} (sleep, fd 3)", writer.id())),
        "{err}"
    );
    assert_eq!(fs::read(&file).unwrap(), orig);
    let backups = others(tmp.path(), "appendonly.aof");
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(fs::read(tmp.path().join(&backups[0])).unwrap(), orig);
}

/// A real redis-server with `appendonly yes` holds its AOF open for writing:
/// a torn command appended to its INCR file (as a crash of another writer
/// would leave) is not cut while the server runs; the refusal names the
/// server's process id.
#[test]
fn a_running_server_stops_the_fix() {
    let Some(mut server) = common::RedisServer::start_with(&["--appendonly", "yes"], &[]) else {
        return;
    };
    server.cmd(&["SET", "a", "1"]);
    let info = String::from_utf8(server.cmd(&["INFO", "server"]).bytes()).unwrap();
    let pid = info
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .unwrap()
        .trim()
        .to_owned();
    let dir: PathBuf = server.dir.path().join("appendonlydir");
    let incr = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .unwrap();
    let mut torn = rs("set b 2");
    torn.truncate(torn.len() - 3);
    let mut data = fs::read(&incr).unwrap();
    data.extend(&torn);
    let mut f = fs::OpenOptions::new().append(true).open(&incr).unwrap();
    std::io::Write::write_all(&mut f, &torn).unwrap();
    drop(f);
    let r = fix(&dir, &[]);
    let stderr = String::from_utf8_lossy(&r.stderr).into_owned();
    assert_eq!(r.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("process {pid} (redis-server")),
        "{stderr}"
    );
    assert_eq!(
        fs::read(&incr).unwrap(),
        data,
        "the server's AOF was changed"
    );
    let backups: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".bak-")
        })
        .collect();
    assert!(backups.is_empty());
}
