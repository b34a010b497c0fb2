//! The newer real servers of `../shared/servers` (Redis 8.0.6 / 8.6.3, Valkey
//! 8.1.1 / 9.1.2, see its README), found through `$REDIS_PERSIST_SERVERS`
//! (default `../shared/servers` beside the crate), and started as a
//! [`RedisServer`] like the Debian one. Missing binaries: a notice and `None`
//! outside CI, a failure under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{RedisServer, Reply, free_port, in_ci, root, wait_for_server};

/// The servers folder (`$REDIS_PERSIST_SERVERS`, default `../shared/servers`).
pub fn servers_dir() -> PathBuf {
    std::env::var_os("REDIS_PERSIST_SERVERS")
        .map_or_else(|| root().join("../shared/servers"), PathBuf::from)
}

/// The server binary `exe` of version folder `folder` (e.g. `redis-8.6.3`,
/// `redis-server`), or `None` with a notice outside CI. Panics in CI.
pub fn server_bin(folder: &str, exe: &str) -> Option<PathBuf> {
    let p = servers_dir().join(folder).join(exe);
    if p.is_file() {
        return Some(p);
    }
    assert!(
        !in_ci(),
        "{} is missing (set REDIS_PERSIST_SERVERS); CI requires it",
        p.display()
    );
    eprintln!(
        "NOTICE: {} not found (set REDIS_PERSIST_SERVERS): tests needing it skipped",
        p.display()
    );
    None
}

/// Redis 8.6.3 (RDB 13, streams with IDMP), if present.
pub fn redis_86() -> Option<PathBuf> {
    server_bin("redis-8.6.3", "redis-server")
}

/// Starts `bin` on a private port and directory with `extra` arguments, after
/// copying `files` (path, name) into its directory; waits until it has loaded.
pub fn start(bin: &Path, extra: &[&str], files: &[(&Path, &str)]) -> RedisServer {
    let dir = tempfile::tempdir().unwrap();
    for (src, name) in files {
        let dst = dir.path().join(name);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::copy(src, &dst).unwrap();
    }
    let log = || std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    let mut attempt = 0;
    let (child, port, stream) = loop {
        attempt += 1;
        let port = free_port();
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &dir.path().display().to_string(),
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            &dir.path().join("server.log").display().to_string(),
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_string()));
        let mut child = Command::new(bin)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        match wait_for_server(&mut child, port, Duration::from_secs(30)) {
            Ok(stream) => break (child, port, stream),
            Err(e)
                if attempt < 5
                    && (e == "port taken" || log().contains("Address already in use")) =>
            {
                let _ = child.kill();
                let _ = child.wait();
            }
            Err(e) => {
                let _ = child.kill();
                panic!("{} did not start: {e}\n{}", bin.display(), log());
            }
        }
    };
    let mut server = RedisServer {
        child,
        dir,
        port,
        conn: std::io::BufReader::new(stream),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match server.cmd(&["PING"]) {
            Reply::Status(_) => break,
            Reply::Error(e) if e.starts_with("LOADING") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => panic!("PING failed: {other:?}\n{}", server.log()),
        }
    }
    server
}
