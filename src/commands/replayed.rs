//! AOF inputs of `dump` and `stats`: the dataset a server holds right after
//! loading the AOF, replayed offline (`redis_persist::replay::aof`) and handed to
//! their RDB code paths as an RDB written on the fly by a thread through an
//! in-process pipe. Both commands then see exactly what a converted file
//! (`convert-aof-to-hybrid`) would hold, without a temporary file.
//!
//! Memory: the replayed dataset is in memory (replay needs it); the RDB never is
//! (the pipe holds a few KB).
//!
//! Keys already expired at the reference time are kept (`keep_expired`): like an
//! RDB file, the replayed dataset is shown with its expired keys, which `dump`
//! and `stats` then report as such instead of silently dropping them.

use std::fmt::Write as _;
use std::path::Path;
use std::thread::JoinHandle;

use anyhow::Context;
use redis_persist::aof::{self, Resolved};
use redis_persist::io::Source;
use redis_persist::rdb::writer::WriterOptions;
use redis_persist::replay::aof::{Options, Phase, Summary};

use super::Input;

/// An AOF input replayed into an RDB stream.
pub struct Replayed {
    /// The RDB stream (read it with `rdb::Reader`).
    pub source: Input,
    /// What the replay did.
    pub summary: Summary,
    /// The RDB version written.
    pub rdb_version: u32,
    /// The thread writing the RDB stream.
    pub writer: WriterThread,
}

/// The thread writing the replayed dataset into the pipe.
pub struct WriterThread(JoinHandle<Result<(), String>>);

/// True when `path` is an AOF input that only a replay can read: an AOF directory,
/// a manifest, or a file of commands (starting with `*`, or with a `#TS:`
/// annotation). A file starting with
/// an RDB magic is read as an RDB (the preamble of a hybrid AOF) unless the caller
/// asks for a replay.
pub fn is_aof_input(path: &Path) -> bool {
    if path.as_os_str() == "-" {
        return false;
    }
    if path.is_dir() {
        return true;
    }
    if matches!(aof::resolve(path), Ok(Resolved::Manifest(_))) {
        return true;
    }
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    let head = &head[..n];
    head.starts_with(b"*") || head.starts_with(b"#TS:")
}

/// Replays the AOF input at `path` (a single file, a manifest or a directory) and
/// starts writing it as an RDB into a pipe. `progress` enables progress bars.
pub fn open(path: &Path, now_ms: i64, progress: bool) -> anyhow::Result<Replayed> {
    let display = path.display().to_string();
    let factory: Option<redis_persist::replay::aof::ProgressFactory> = progress.then(|| {
        let f: redis_persist::replay::aof::ProgressFactory =
            std::rc::Rc::new(move |phase: Phase, _before: u64| {
                let label = match phase {
                    Phase::Check => "checking the AOF",
                    Phase::Replay => "replaying the AOF",
                };
                crate::output::progress::Bar::new(true, None, label).handle()
            });
        f
    });
    let opts = Options {
        now_ms,
        keep_expired: true,
        progress: factory,
        ..Options::default()
    };
    let (dataset, summary) = redis_persist::replay::aof::replay_input(path, &opts)
        .map_err(|e| {
            anyhow::anyhow!(ReplayFailed {
                input_problem: e.is_input_problem(),
                message: e.to_string()
            })
        })
        .with_context(|| format!("replaying {display}"))?;
    // RDB 10 unless the dataset needs 12 (hash field TTLs): what a 7.0 server
    // would load, which the memory model of `stats` describes.
    let rdb_version = dataset.min_rdb_version().0.max(10);
    let (reader, writer) = std::io::pipe().context("creating a pipe")?;
    let handle = std::thread::spawn(move || {
        let out = std::io::BufWriter::with_capacity(1 << 16, writer);
        let r = dataset
            .write_rdb(out, WriterOptions::for_version(rdb_version))
            .map(drop)
            .map_err(|e| e.to_string());
        // Freeing a large dataset takes time nobody waits for.
        std::mem::forget(dataset);
        r
    });
    let boxed: Box<dyn std::io::Read> = Box::new(reader);
    Ok(Replayed {
        source: Source::new(boxed),
        summary,
        rdb_version,
        writer: WriterThread(handle),
    })
}

impl WriterThread {
    /// Waits for the writer thread; reports its error, if any. Call it after the
    /// reader reached the end of the stream (`reader_done`) or gave up: the writer
    /// then fails on the closed pipe, which is not reported.
    pub fn finish(self, reader_done: bool) -> anyhow::Result<()> {
        match self.0.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) if reader_done => anyhow::bail!("writing the replayed dataset: {e}"),
            Ok(Err(_)) => Ok(()),
            Err(_) => anyhow::bail!("the thread writing the replayed dataset panicked"),
        }
    }
}

impl Replayed {
    /// A one-line description of the replay for human reports.
    pub fn describe(&self) -> String {
        let s = &self.summary;
        let mut t = format!(
            "replayed {} file(s), {} commands applied",
            s.files.len(),
            s.applied
        );
        if s.failed > 0 {
            let _ = write!(
                t,
                ", {} failed with a runtime error (ignored, as Redis does)",
                s.failed
            );
        }
        if let Some(tail) = &s.truncated_tail {
            let _ = write!(
                t,
                ", truncated tail of {} dropped ({} bytes after offset {})",
                tail.path.display(),
                tail.size - tail.valid_up_to,
                tail.valid_up_to
            );
        }
        t
    }
}

impl Replayed {
    /// The warning for a torn last command that the replay dropped, as the
    /// server does with `aof-load-truncated yes` (`None` when nothing was
    /// dropped): which file, from which offset, how many bytes, and why. The
    /// data of that command is not in the output, so the caller exits 1.
    pub fn dropped_tail(&self) -> Option<String> {
        let t = self.summary.truncated_tail.as_ref()?;
        Some(format!(
            "{}: the last command is torn ({}: {}): its {} bytes from offset {} were dropped, \
             as the server does with aof-load-truncated yes, so they are not in the output \
             (exit 1); `check-aof --fix` cuts them off for good",
            t.path.display(),
            t.code,
            t.message,
            t.size - t.valid_up_to,
            t.valid_up_to
        ))
    }
}

/// The replay refused the input or failed: `input_problem` is exit 1 (a problem
/// in the AOF), otherwise exit 2.
#[derive(Debug)]
pub struct ReplayFailed {
    /// True when the input itself is the problem.
    pub input_problem: bool,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for ReplayFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReplayFailed {}

/// True when `err` is a replay refusal caused by the input (exit 1).
pub fn is_input_problem(err: &anyhow::Error) -> bool {
    err.chain().any(is_input_problem_cause)
}

/// True when `cause` (one link of an error chain) is a replay refusal caused
/// by the input.
pub fn is_input_problem_cause(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause
        .downcast_ref::<ReplayFailed>()
        .is_some_and(|r| r.input_problem)
}
