//! The real servers of newer versions in `../shared/servers` (Redis 8.0.6 and
//! 8.6.3, Valkey 8.1.1 and 9.1.2): locating their binaries
//! (`$REDIS_PERSIST_SERVERS`, default `../shared/servers` from the crate root)
//! and starting one as a [`RedisServer`].
//!
//! Policy as for the corpus: a missing binary fails the test under `CI=true`,
//! and otherwise prints a notice and the test returns.
#![allow(dead_code, clippy::print_stderr)]

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{RedisServer, Reply, free_port, in_ci, root, wait_for_server};

/// The four server versions of `../shared/servers`, as their folder names.
pub const VERSIONS: [&str; 4] = ["redis-8.0.6", "redis-8.6.3", "valkey-8.1.1", "valkey-9.1.2"];

/// The folder of the servers (`$REDIS_PERSIST_SERVERS`, relative to the crate
/// root when relative; default `../shared/servers`).
pub fn servers_dir() -> PathBuf {
    std::env::var_os("REDIS_PERSIST_SERVERS")
        .map_or_else(|| root().join("../shared/servers"), |p| root().join(p))
}

/// The server binary of `version` (a folder of [`VERSIONS`], or Redis 6.0 /
/// 6.2 of [`super::servers_py`]), or `None` with a notice when it is missing
/// outside CI. Panics in CI.
pub fn server_bin(version: &str) -> Option<PathBuf> {
    if super::servers_py::is_py_version(version) {
        return super::servers_py::py_server_bin(version);
    }
    let name = if version.starts_with("valkey") {
        "valkey-server"
    } else {
        "redis-server"
    };
    let path = servers_dir().join(version).join(name);
    super::summary_at_exit();
    if path.is_file() {
        return Some(path);
    }
    assert!(
        !in_ci(),
        "{} is missing (set REDIS_PERSIST_SERVERS); CI requires it",
        path.display()
    );
    super::skip(&format!(
        "{} is missing (set REDIS_PERSIST_SERVERS)",
        path.display()
    ));
    None
}

/// How long a reply may take before the test fails instead of hanging.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

impl RedisServer {
    /// Starts `bin` (any redis-server or valkey-server) on a free loopback port
    /// in a new temporary directory, with `--save ''` and `extra` arguments,
    /// after copying `files` (path, name relative to the directory) into it.
    /// Waits until the dataset is loaded. Errors: the server did not start (or
    /// refused to load its files), with the end of its log.
    pub fn try_start_bin(
        bin: &Path,
        extra: &[&str],
        files: &[(&Path, &str)],
    ) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        for (src, name) in files {
            let dst = dir.path().join(name);
            if let Some(parent) = dst.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::copy(src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
        let log_path = dir.path().join("server.log");
        let log = || {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        };
        let mut attempt = 0;
        let (child, port, stream) = loop {
            attempt += 1;
            let port = free_port();
            let mut args: Vec<String> = vec![
                "--port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--dir".into(),
                dir.path().display().to_string(),
                "--save".into(),
                String::new(),
                "--daemonize".into(),
                "no".into(),
                "--logfile".into(),
                log_path.display().to_string(),
            ];
            args.extend(extra.iter().map(|s| (*s).to_string()));
            let mut child = Command::new(bin)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("starting {}: {e}", bin.display()))?;
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
                    let _ = child.wait();
                    return Err(format!("{} did not start: {e}\n{}", bin.display(), log()));
                }
            }
        };
        stream
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let mut server = Self {
            child,
            dir,
            port,
            conn: BufReader::new(stream),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match server.cmd(&["PING"]) {
                Reply::Status(_) => return Ok(server),
                Reply::Error(e) if e.starts_with("LOADING") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return Err(format!("PING answered {other:?}\n{}", server.log())),
            }
        }
    }

    /// Sends a whole RESP command stream, as `redis-cli --pipe` does (written
    /// by another thread while the replies are read, then an `ECHO` marker),
    /// and returns one reply per command.
    pub fn pipe_all(&mut self, raw: &[u8]) -> Vec<Reply> {
        let marker = b"redis-persist:pipe-end:5f0c1d";
        let mut data = raw.to_vec();
        data.extend_from_slice(format!("*2\r\n$4\r\nECHO\r\n${}\r\n", marker.len()).as_bytes());
        data.extend_from_slice(marker);
        data.extend_from_slice(b"\r\n");
        let mut writer = self.conn.get_ref().try_clone().unwrap();
        let sender = std::thread::spawn(move || writer.write_all(&data));
        let mut replies = Vec::new();
        loop {
            let r = self.read_reply();
            if r == Reply::Bulk(Some(marker.to_vec())) {
                break;
            }
            replies.push(r);
        }
        sender.join().unwrap().unwrap();
        replies
    }
}

/// A checker of one server version, e.g. `checker("redis-8.6.3",
/// "redis-check-rdb")`: the server binary started under the checker's name
/// (a symbolic link in a temporary directory, which the caller keeps alive),
/// as the packaged tools are, so it checks a file with that server's loader.
/// `None` with a notice outside CI; panics in CI when it is missing.
pub fn checker(version: &str, name: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    let server = server_bin(version)?;
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join(name);
    std::os::unix::fs::symlink(&server, &link).unwrap();
    Some((tmp, link))
}

/// Starts the `version` server with `extra` arguments after copying `files`
/// (path, name) into its directory; `None` when it is missing outside CI.
pub fn start(version: &str, extra: &[&str], files: &[(&Path, &str)]) -> Option<RedisServer> {
    let bin = server_bin(version)?;
    Some(RedisServer::start_bin(&bin, extra, files))
}

/// Redis 8.6.3 (RDB 13, streams with IDMP), if present.
pub fn redis_86() -> Option<PathBuf> {
    server_bin("redis-8.6.3")
}
