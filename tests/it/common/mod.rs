//! Helpers shared by the integration tests: the binary, the external corpus, and a
//! real `redis-server` driven over RESP.
//!
//! Policy: tests that need `../shared/corpus` or `redis-server` fail under
//! `CI=true` when those are missing, and otherwise print a clear notice and return.
#![allow(dead_code, clippy::print_stderr)]

pub mod cluster;
pub mod expected;
pub mod live;
pub mod mutate;
pub mod paths;
pub mod salvage_servers;
pub mod servers;
pub mod servers_py;
pub mod workload;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// Runs the hidden `generate --out-dir DIR` (the completion scripts under
/// `DIR/completions`, the man pages under `DIR/man`) and asserts it succeeded.
pub fn generate_into(dir: &Path) {
    let out = bin()
        .args(["generate", "--out-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `redis-persist` binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_redis-persist"))
}

/// Runs the binary with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("running redis-persist")
}

/// The number in environment variable `name`, or `default` when it is unset
/// or not a number (soak runs raise case counts this way).
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A problem we report where Redis' loader (and so `redis-check-rdb` and
/// `RESTORE`) accepts the input, on purpose (README, "Deliberate differences
/// from `redis-check-rdb`"): duplicate keys, a version that is not 4 digits,
/// a zset listpack score that is not a number, stream metadata the loader
/// reads without checking.
pub fn deliberately_stricter(message: &str) -> bool {
    message.contains("duplicate key in db")
        || message.starts_with("not an RDB file: bad magic REDIS")
        || message.contains("invalid score at entry")
        || (message.contains("stream")
            && [
                "the stream",
                "stream length",
                "listpack header says",
                "consumer group",
                "PEL",
            ]
            .iter()
            .any(|m| message.contains(m)))
}

/// Fails with the number of failed cases and the first ten of them.
pub fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} case(s):\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    root().join("testdata").join(rel)
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The checks of this run that had nothing to check: (test, reason).
static SKIPPED: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Records that the current test skips a check because `reason` (what is
/// missing and how to provide it), and prints it as a notice (shown with
/// `--nocapture`). Outside CI only: the helpers that call it fail under
/// `CI=true` instead. The run ends with a summary of these ([`summary_at_exit`]).
pub fn skip(reason: &str) {
    summary_at_exit();
    eprintln!("NOTICE: {reason}: check skipped");
    let test = std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_owned();
    SKIPPED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push((test, reason.to_owned()));
}

/// Makes the test process print, when it exits (after the test harness's own
/// `test result:` line, so not captured like a test's output), how many checks
/// were skipped and why, or that none was. Called by every helper that looks
/// for the corpus, a server or a tool, so a run of tests that need none prints
/// nothing.
pub fn summary_at_exit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| at_exit::register(print_skipped_summary));
}

extern "C" fn print_skipped_summary() {
    use std::fmt::Write as _;
    let skipped = SKIPPED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut text = String::new();
    if skipped.is_empty() {
        text.push_str(
            "skipped checks: none (the corpus, servers and tools the tests looked for were all found)\n",
        );
    } else {
        let mut reasons: Vec<(&str, usize, usize)> = Vec::new();
        for (i, (test, reason)) in skipped.iter().enumerate() {
            let first_of_test = !skipped[..i].iter().any(|(t, r)| t == test && r == reason);
            match reasons.iter_mut().find(|(r, ..)| r == reason) {
                Some((_, checks, tests)) => {
                    *checks += 1;
                    *tests += usize::from(first_of_test);
                }
                None => reasons.push((reason, 1, 1)),
            }
        }
        for (reason, checks, tests) in &reasons {
            let _ = writeln!(
                text,
                "  skipped {checks} check(s) in {tests} test(s): {reason}"
            );
        }
        let tests = skipped
            .iter()
            .enumerate()
            .filter(|(i, (t, _))| !skipped[..*i].iter().any(|(u, _)| u == t))
            .count();
        let _ = writeln!(
            text,
            "SKIPPED: {} check(s) in {tests} test(s) had nothing to check, because of the {} reason(s) above \
             (they passed without checking; under CI=true they fail; README, \"Set-up on a fresh machine\")",
            skipped.len(),
            reasons.len()
        );
    }
    // Straight to the file descriptor (the harness captures `eprint!` only
    // inside tests); nothing can be done about a failed write at exit.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
}

/// `atexit(3)`: the test harness has no hook after the last test.
#[allow(unsafe_code)]
mod at_exit {
    unsafe extern "C" {
        /// C99 `atexit`: stores the function pointer, called by `exit`.
        safe fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
    }

    /// Calls `callback` when the process exits normally (the harness returns
    /// from `main` or calls `std::process::exit` after failures).
    pub fn register(callback: extern "C" fn()) {
        assert_eq!(atexit(callback), 0, "atexit failed");
    }
}

/// The shared corpus (`$REDIS_PERSIST_CORPUS`, default `../shared/corpus`), or
/// `None` with a notice when it is missing outside CI. Panics in CI.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("REDIS_PERSIST_CORPUS")
        .map_or_else(|| root().join("../shared/corpus"), PathBuf::from);
    summary_at_exit();
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    assert!(
        !in_ci(),
        "the corpus is missing at {} (set REDIS_PERSIST_CORPUS); CI requires it",
        dir.display()
    );
    skip(&format!(
        "the corpus is not at {} (set REDIS_PERSIST_CORPUS)",
        dir.display()
    ));
    None
}

/// The version folders of the corpus (those with an `expected.json`), sorted.
pub fn corpus_version_dirs(corpus: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    v.sort();
    assert!(v.len() >= 8, "expected the 8 version folders, found {v:?}");
    v
}

/// Path of a program on `PATH`, if any.
pub fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// The `redis-server` binary, or `None` with a notice outside CI. Panics in CI.
pub fn redis_server_bin() -> Option<PathBuf> {
    summary_at_exit();
    if let Some(p) = which("redis-server") {
        return Some(p);
    }
    assert!(
        !in_ci(),
        "redis-server is required in CI (apt-get install -y redis-server)"
    );
    skip("redis-server is not on PATH (apt-get install -y redis-server)");
    None
}

/// A reply from the server.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`
    Status(String),
    /// `-ERR ...`
    Error(String),
    /// `:1`
    Int(i64),
    /// `$n` (None for `$-1`)
    Bulk(Option<Vec<u8>>),
    /// `*n` (None for `*-1`)
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The bytes of a bulk reply.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Reply::Bulk(Some(b)) => b.clone(),
            Reply::Status(s) => s.clone().into_bytes(),
            Reply::Int(i) => i.to_string().into_bytes(),
            other => panic!("not a bulk reply: {other:?}"),
        }
    }
    /// The integer of an integer reply.
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(i) => *i,
            other => panic!("not an integer reply: {other:?}"),
        }
    }
    /// The items of an array reply.
    pub fn array(&self) -> Vec<Reply> {
        match self {
            Reply::Array(Some(v)) => v.clone(),
            other => panic!("not an array reply: {other:?}"),
        }
    }
}

/// A running `redis-server` on a private port and directory; killed on drop.
pub struct RedisServer {
    child: Child,
    /// The server's working directory.
    pub dir: tempfile::TempDir,
    /// The port.
    pub port: u16,
    conn: BufReader<TcpStream>,
}

/// A port that was free a moment ago (see [`wait_for_server`] for the race).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until the server behind `stream` has finished loading (PING answers
/// PONG instead of -LOADING).
pub fn wait_until_loaded(stream: &mut TcpStream, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut r = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    loop {
        stream
            .write_all(b"*1\r\n$4\r\nPING\r\n")
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        r.read_line(&mut line).map_err(|e| e.to_string())?;
        if line.starts_with("+PONG") {
            return Ok(());
        }
        if !line.starts_with("-LOADING") || Instant::now() > deadline {
            return Err(format!("PING answered {line:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the redis-server `child` answers on `port`, checking that the
/// server answering is `child` (another test's server may have taken the port).
/// Errors: `"port taken"`, `"exited (...)"`, or `"timed out"`.
pub fn wait_for_server(
    child: &mut Child,
    port: u16,
    timeout: Duration,
) -> Result<TcpStream, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited ({status})"));
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            // INFO answers while loading too.
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            if s.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n").is_ok() {
                let mut r = BufReader::new(s.try_clone().map_err(|e| e.to_string())?);
                let mut head = String::new();
                if r.read_line(&mut head).is_ok() && head.starts_with('$') {
                    let n: usize = head[1..].trim().parse().unwrap_or(0);
                    let mut body = vec![0; n + 2];
                    if r.read_exact(&mut body).is_ok() {
                        let text = String::from_utf8_lossy(&body);
                        let pid = text
                            .lines()
                            .find_map(|l| l.strip_prefix("process_id:"))
                            .map(str::trim);
                        if pid == Some(child.id().to_string().as_str()) {
                            let _ = s.set_read_timeout(None);
                            return Ok(s);
                        }
                        return Err("port taken".into());
                    }
                }
            }
        }
        if Instant::now() > deadline {
            return Err("timed out".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl RedisServer {
    /// Starts a server with `extra` arguments (e.g. `["--appendonly", "yes"]`),
    /// after copying `files` (path, name) into its directory. Returns `None` when
    /// redis-server is unavailable outside CI.
    pub fn start_with(extra: &[&str], files: &[(&Path, &str)]) -> Option<Self> {
        let bin = redis_server_bin()?;
        Some(Self::start_bin(&bin, extra, files))
    }

    /// [`RedisServer::start_with`] for the server binary `bin` (e.g. one of
    /// [`servers`]).
    pub fn start_bin(bin: &Path, extra: &[&str], files: &[(&Path, &str)]) -> Self {
        Self::try_start_bin(bin, extra, files).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts an empty server.
    pub fn start() -> Option<Self> {
        Self::start_with(&[], &[])
    }

    /// Starts a server loading `rdb` as its `dump.rdb`.
    pub fn with_rdb(rdb: &Path) -> Option<Self> {
        Self::start_with(&["--dbfilename", "dump.rdb"], &[(rdb, "dump.rdb")])
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Sends one command and reads its reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            let a = a.as_ref();
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.conn.get_mut().write_all(&out).unwrap();
        self.read_reply()
    }

    /// Sends raw bytes (e.g. a RESP stream) and reads `n` replies.
    pub fn pipe(&mut self, raw: &[u8], n: usize) -> Vec<Reply> {
        self.conn.get_mut().write_all(raw).unwrap();
        (0..n).map(|_| self.read_reply()).collect()
    }

    fn read_line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.conn.read_until(b'\n', &mut line).unwrap();
        if !line.ends_with(b"\r\n") {
            // The server died: its log says why.
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!("bad reply line {line:?}; server log:\n{}", tail.join("\n"));
        }
        line.truncate(line.len() - 2);
        line
    }

    /// Reads one reply.
    pub fn read_reply(&mut self) -> Reply {
        let line = self.read_line();
        let (t, rest) = (line[0], String::from_utf8_lossy(&line[1..]).into_owned());
        match t {
            b'+' => Reply::Status(rest),
            b'-' => Reply::Error(rest),
            b':' => Reply::Int(rest.parse().unwrap()),
            b'$' => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Reply::Bulk(None);
                }
                let mut b = vec![0; n as usize + 2];
                self.conn.read_exact(&mut b).unwrap();
                b.truncate(n as usize);
                Reply::Bulk(Some(b))
            }
            b'*' => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Reply::Array(None);
                }
                Reply::Array(Some((0..n).map(|_| self.read_reply()).collect()))
            }
            other => panic!("unexpected reply type {other}"),
        }
    }

    /// Saves the dataset (`SAVE`) and returns the path of the RDB file.
    pub fn save(&mut self) -> PathBuf {
        let dbfilename = self.cmd(&["CONFIG", "GET", "dbfilename"]).array()[1].bytes();
        assert_eq!(self.cmd(&["SAVE"]), Reply::Status("OK".into()));
        self.dir.path().join(String::from_utf8(dbfilename).unwrap())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A program from the Redis packages (`redis-check-rdb`, `redis-check-aof`), or
/// `None` with a notice outside CI. Panics in CI.
pub fn redis_tool(name: &str) -> Option<PathBuf> {
    summary_at_exit();
    if let Some(p) = which(name) {
        return Some(p);
    }
    assert!(
        !in_ci(),
        "{name} is required in CI (apt-get install -y redis-server redis-tools)"
    );
    skip(&format!(
        "{name} is not on PATH (apt-get install -y redis-server redis-tools)"
    ));
    None
}

/// A deterministic pseudo-random sequence (xorshift64), for sweeps.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
