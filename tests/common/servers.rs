//! The newer real servers of `../shared/servers` (Redis 8.0.6 / 8.6.3, Valkey
//! 8.1.1 / 9.1.2), found through `REDIS_PERSIST_SERVERS` (default
//! `../shared/servers`, relative to the crate root). Missing binaries make a
//! test print a notice and return, and fail it under `CI=true`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use super::{RedisServer, in_ci, root};

/// The folder of the server binaries.
pub fn servers_dir() -> PathBuf {
    std::env::var_os("REDIS_PERSIST_SERVERS")
        .map_or_else(|| root().join("../shared/servers"), PathBuf::from)
}

/// The server binary of `version` (a folder name: `valkey-9.1.2`,
/// `redis-8.0.6`, …), or `None` with a notice outside CI. Panics in CI.
pub fn server_bin(version: &str) -> Option<PathBuf> {
    let dir = servers_dir().join(version);
    let found = ["valkey-server", "redis-server"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            !in_ci(),
            "the {version} server is required in CI (set REDIS_PERSIST_SERVERS; looked in {})",
            dir.display()
        );
        eprintln!(
            "NOTICE: no {version} server in {}: tests needing it skipped",
            dir.display()
        );
    }
    found
}

/// Starts the `version` server with `extra` arguments after copying `files`
/// (path, name) into its directory; `None` when it is missing outside CI.
pub fn start(version: &str, extra: &[&str], files: &[(&Path, &str)]) -> Option<RedisServer> {
    let bin = server_bin(version)?;
    Some(RedisServer::start_bin(&bin, extra, files))
}
