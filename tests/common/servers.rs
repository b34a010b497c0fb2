//! The real servers of `../shared/servers` (`$REDIS_PERSIST_SERVERS`, default
//! `../shared/servers` from the crate root): Redis 8.0.6 / 8.6.3, Valkey
//! 8.1.1 / 9.1.2, for tests that ask them what they do with a file.
//!
//! Same policy as the corpus: missing servers fail the test under `CI=true`,
//! and otherwise give a notice and `None`.

use std::path::PathBuf;

/// The servers folder, or `None` with a notice outside CI. Panics in CI.
pub fn dir() -> Option<PathBuf> {
    let dir = std::env::var_os("REDIS_PERSIST_SERVERS")
        .map_or_else(|| super::root().join("../shared/servers"), PathBuf::from);
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    assert!(
        !super::in_ci(),
        "the servers are missing at {} (set REDIS_PERSIST_SERVERS); CI requires them",
        dir.display()
    );
    eprintln!(
        "NOTICE: servers not found at {} (set REDIS_PERSIST_SERVERS): tests asking them skipped",
        dir.display()
    );
    None
}

/// A checker of one server version, e.g. `checker("redis-8.6.3",
/// "redis-check-rdb")`: the server binary started under the checker's name
/// (a symbolic link in a temporary directory, which the caller keeps alive),
/// as the packaged tools are, so it checks a file with that server's loader.
/// `None` with a notice outside CI; panics in CI when it is missing.
pub fn checker(version: &str, name: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    let folder = dir()?.join(version);
    let server = ["redis-server", "valkey-server"]
        .iter()
        .map(|s| folder.join(s))
        .find(|p| p.is_file());
    let Some(server) = server else {
        assert!(
            !super::in_ci(),
            "no server binary in {}; CI requires it",
            folder.display()
        );
        eprintln!("NOTICE: no server in {}: test skipped", folder.display());
        return None;
    };
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join(name);
    std::os::unix::fs::symlink(&server, &link).unwrap();
    Some((tmp, link))
}
