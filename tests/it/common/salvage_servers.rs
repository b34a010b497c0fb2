//! Loading an RDB in the real server that reads its version: Debian's
//! `redis-server` 7.0 (on `PATH`) for `REDIS` versions up to 10, and the
//! servers of `$REDIS_PERSIST_SERVERS` (default `../shared/servers`) for newer
//! ones: Valkey 8.1.1 (RDB 11), Redis 8.0.6 (12), Redis 8.6.3 (13), Valkey
//! 9.1.2 (`VALKEY080`). A missing server fails under `CI=true` and is skipped
//! with a notice otherwise.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redis_persist::rdb::types::Format;

/// The folder of the newer servers.
pub fn servers_dir() -> PathBuf {
    std::env::var_os("REDIS_PERSIST_SERVERS")
        .map_or_else(|| super::root().join("../shared/servers"), PathBuf::from)
}

/// The server binary that reads `format` / `version`, or `None` (with a
/// notice; a panic in CI) when it is missing.
pub fn server_for(format: Format, version: u32) -> Option<PathBuf> {
    let dir = servers_dir();
    let p = match (format, version) {
        (Format::Redis, ..=10) => return super::redis_server_bin(),
        (Format::Redis, 11) => dir.join("valkey-8.1.1/valkey-server"),
        (Format::Redis, 12) => dir.join("redis-8.0.6/redis-server"),
        (Format::Redis, _) => dir.join("redis-8.6.3/redis-server"),
        (Format::Valkey, _) => dir.join("valkey-9.1.2/valkey-server"),
    };
    super::summary_at_exit();
    if p.is_file() {
        return Some(p);
    }
    assert!(
        !super::in_ci(),
        "{} is required in CI (set REDIS_PERSIST_SERVERS)",
        p.display()
    );
    super::skip(&format!(
        "{} is missing (set REDIS_PERSIST_SERVERS)",
        p.display()
    ));
    None
}

/// Starts `server` on a copy of `rdb` (on a Unix socket, no TCP port), waits
/// until it has loaded it, and returns the keys it holds (the sum of `INFO
/// keyspace`). `Err` with the server's log when it refused the file.
pub fn load(server: &Path, rdb: &Path) -> Result<u64, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::copy(rdb, dir.path().join("dump.rdb")).map_err(|e| e.to_string())?;
    let sock = dir.path().join("s.sock");
    let log = dir.path().join("server.log");
    let mut child = Command::new(server)
        .args([
            "--port",
            "0",
            "--unixsocket",
            &sock.display().to_string(),
            "--dir",
            &dir.path().display().to_string(),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            &log.display().to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", server.display()))?;
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    let result = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!("the server exited ({status}):\n{}", read_log()));
        }
        if Instant::now() > deadline {
            break Err(format!("the server did not answer:\n{}", read_log()));
        }
        if let Ok(mut s) = UnixStream::connect(&sock) {
            match info_keys(&mut s) {
                Ok(Some(n)) => break Ok(n),
                Ok(None) => {}
                Err(e) => break Err(e),
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// `INFO keyspace`: the keys of every database; `None` while loading.
fn info_keys(s: &mut UnixStream) -> Result<Option<u64>, String> {
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"INFO keyspace\r\n")
        .map_err(|e| e.to_string())?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).map_err(|e| e.to_string())?;
    if line.starts_with("-LOADING") {
        return Ok(None);
    }
    let Some(n) = line.strip_prefix('$') else {
        return Err(format!("unexpected reply {line:?}"));
    };
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("bad reply {line:?}"))?;
    let mut body = vec![0; n + 2];
    r.read_exact(&mut body).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&body);
    let mut keys = 0;
    for l in text.lines() {
        // db0:keys=3,expires=1,avg_ttl=0...
        if let Some(rest) = l.split_once(":keys=").map(|x| x.1) {
            keys += rest
                .split(',')
                .next()
                .and_then(|k| k.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(Some(keys))
}
