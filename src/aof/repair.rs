//! Changing an AOF file safely: a verified backup first, then an in-place
//! truncation, each made durable before the next step.
//!
//! The sequence ([`write_backup`], then [`truncate`]):
//! 1. the file is copied to `<backup>.partial`, created exclusively: when that
//!    name is taken (another run choosing the same name in the same second),
//!    the next free one (`<backup>.1.partial`, …) is used, so two runs never
//!    share a file; the copy is fsynced, re-read and compared (size and CRC-64)
//!    with what was read from the original;
//! 2. the copy is linked under its final name, which must not exist (a hard
//!    link cannot replace a file: another run's backup is never overwritten; the
//!    next free name is taken instead), the `.partial` name is removed and the
//!    directory fsynced — only now does the backup exist under the name that is
//!    reported;
//! 3. the original is checked to be the file that was checked (same device, inode,
//!    size and modification time: a server still appending to it is detected)
//!    and, with [`truncate_guarded`], that no other process holds it open for
//!    writing ([`writers`]); then it is truncated in place with `ftruncate` (the
//!    inode stays, as with `redis-check-aof --fix` and the server's own
//!    truncation), fsynced, and its directory fsynced.
//!
//! Only what this run created is ever removed: a failed backup removes its own
//! `.partial` file, and only while that name still refers to the file it
//! created (same device and inode), never another run's.
//!
//! A crash at any point leaves the original either untouched or truncated (a
//! truncation is a single metadata update), and a backup under its final name
//! is always complete; at worst a `.partial` copy remains. [`Hook`] lets a caller
//! observe each step (the binary's crash-safety tests stop the process there).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::io::{Crc64, parent_dir};

use super::Error;
use super::ErrorKind;

/// The steps of a repair, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The backup's name was chosen (by the caller, with [`backup_path`]);
    /// nothing was created yet.
    BackupNamed,
    /// The `.partial` backup file was created (empty).
    BackupCreated,
    /// About half of the backup was written.
    BackupHalfWritten,
    /// The whole backup was written, not yet synced.
    BackupWritten,
    /// The backup was fsynced and verified.
    BackupSynced,
    /// The backup has its final name and its directory was fsynced.
    BackupDone,
    /// About to truncate the original.
    BeforeTruncate,
    /// Truncated, not yet synced.
    Truncated,
    /// Truncation fsynced (file and directory).
    TruncateSynced,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 9] = [
        Step::BackupNamed,
        Step::BackupCreated,
        Step::BackupHalfWritten,
        Step::BackupWritten,
        Step::BackupSynced,
        Step::BackupDone,
        Step::BeforeTruncate,
        Step::Truncated,
        Step::TruncateSynced,
    ];

    /// A stable name (`backup-created`, …).
    pub fn name(self) -> &'static str {
        match self {
            Step::BackupNamed => "backup-named",
            Step::BackupCreated => "backup-created",
            Step::BackupHalfWritten => "backup-half-written",
            Step::BackupWritten => "backup-written",
            Step::BackupSynced => "backup-synced",
            Step::BackupDone => "backup-done",
            Step::BeforeTruncate => "before-truncate",
            Step::Truncated => "truncated",
            Step::TruncateSynced => "truncate-synced",
        }
    }
}

/// Observes the steps of a repair.
pub trait Hook {
    /// Called when `step` is reached.
    fn step(&self, step: Step);
}

/// A hook that does nothing.
pub struct NoHook;

impl Hook for NoHook {
    fn step(&self, _step: Step) {}
}

/// What identifies the version of a file that was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Size in bytes.
    pub size: u64,
    /// Modification time.
    pub modified: Option<SystemTime>,
    /// Device and inode (Unix).
    pub dev_ino: Option<(u64, u64)>,
}

impl Identity {
    /// The identity of `path` now.
    pub fn of(path: &Path) -> Result<Self, Error> {
        let m = fs::metadata(path).map_err(|e| Error::from(e).in_file(path))?;
        Ok(Self::from_metadata(&m))
    }

    /// The identity of an open file (or of a path's metadata).
    pub fn from_metadata(m: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let dev_ino = {
            use std::os::unix::fs::MetadataExt;
            Some((m.dev(), m.ino()))
        };
        #[cfg(not(unix))]
        let dev_ino = None;
        Self {
            size: m.len(),
            modified: m.modified().ok(),
            dev_ino,
        }
    }
}

/// `NAME.bak-YYYYMMDDTHHMMSS` (UTC) in `dir` (default: beside the file), with
/// `.1`, `.2`, … appended when that name is taken.
pub fn backup_path(file: &Path, dir: Option<&Path>, now: SystemTime) -> PathBuf {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = dir.map_or_else(|| parent_dir(file), Path::to_path_buf);
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let base = dir.join(format!("{name}.bak-{}", utc_stamp(secs)));
    if !exists(&base) && !exists(&partial(&base)) {
        return base;
    }
    // Bounded: a directory cannot hold 2^32 backups of the same second.
    let mut i = 1u32;
    loop {
        let mut p = base.clone().into_os_string();
        p.push(format!(".{i}"));
        let p = PathBuf::from(p);
        if (!exists(&p) && !exists(&partial(&p))) || i == u32::MAX {
            return p;
        }
        i += 1;
    }
}

fn exists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

fn partial(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

/// `YYYYMMDDTHHMMSS` for a Unix time (UTC).
pub fn utc_stamp(secs: u64) -> String {
    let (y, m, d, hh, mm, ss) = utc_civil(secs);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}")
}

/// `YYYY-MM-DD HH:MM:SS UTC` for a Unix time.
pub fn utc_datetime(secs: u64) -> String {
    let (y, m, d, hh, mm, ss) = utc_civil(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

/// Year, month, day, hours, minutes, seconds of a Unix time (UTC).
fn utc_civil(secs: u64) -> (i64, i64, i64, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    // Opening a directory read-only and fsyncing it persists the entries (Linux).
    File::open(dir)?.sync_all()
}

#[allow(clippy::needless_pass_by_value)] // used as map_err(|e| io_err(.., e))
fn io_err(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io(std::io::Error::new(
        e.kind(),
        format!("{what} {}: {e}", path.display()),
    )))
}

/// A written backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    /// Where it is.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
}

/// Copies `file` (which must still match `expect`) to `dest`, durably and verified
/// (see the module docs). When `dest` (or its `.partial` name) is taken, by an
/// earlier backup or by another run at the same moment, the next free name
/// (`dest.1`, `dest.2`, …) is used: the returned [`Backup::path`] is where it
/// is. On error nothing is left under a final name, and the `.partial` file this
/// run created is removed when possible (never one it did not create).
pub fn write_backup(
    file: &Path,
    expect: &Identity,
    dest: &Path,
    hook: &dyn Hook,
) -> Result<Backup, Error> {
    let mut src = File::open(file).map_err(|e| io_err(file, "opening", e))?;
    let now = Identity::from_metadata(&src.metadata().map_err(|e| io_err(file, "reading", e))?);
    if &now != expect {
        return Err(changed(file));
    }
    let (name, tmp, out) = create_partial(dest)?;
    let own = Own::of(&tmp, &out);
    let res = write_backup_inner(&mut src, file, expect, (&name, &tmp), out, hook);
    if res.is_err() {
        own.remove();
    }
    res
}

/// Candidate names for a backup: `dest`, then `dest.1`, `dest.2`, … (bounded:
/// a directory cannot hold 2^32 backups of one file).
fn candidates(dest: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    std::iter::once(dest.to_path_buf()).chain((1..=u32::MAX).map(move |i| {
        let mut p = dest.as_os_str().to_owned();
        p.push(format!(".{i}"));
        PathBuf::from(p)
    }))
}

/// Creates the `.partial` file of the first candidate name (see [`candidates`])
/// that is free, exclusively: (final name, partial name, the open file).
fn create_partial(dest: &Path) -> Result<(PathBuf, PathBuf, File), Error> {
    for name in candidates(dest) {
        if exists(&name) {
            continue;
        }
        let tmp = partial(&name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((name, tmp, f)),
            // Taken (another run's partial copy): the next name.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(&tmp, "creating the backup", e)),
        }
    }
    Err(Error::new(ErrorKind::Resolve(format!(
        "no free backup name beside {}",
        dest.display()
    ))))
}

/// A file this run created, removed only while its name still refers to it.
struct Own<'a> {
    path: &'a Path,
    dev_ino: Option<(u64, u64)>,
}

impl<'a> Own<'a> {
    fn of(path: &'a Path, f: &File) -> Self {
        let dev_ino = f
            .metadata()
            .ok()
            .and_then(|m| Identity::from_metadata(&m).dev_ino);
        Self { path, dev_ino }
    }

    /// Removes the file if `path` is still the file that was created (same
    /// device and inode); a file someone else put there since stays.
    fn remove(&self) {
        let Some(mine) = self.dev_ino else {
            return;
        };
        let now = fs::symlink_metadata(self.path)
            .ok()
            .and_then(|m| Identity::from_metadata(&m).dev_ino);
        if now == Some(mine) {
            let _ = fs::remove_file(self.path);
        }
    }
}

fn write_backup_inner(
    src: &mut File,
    file: &Path,
    expect: &Identity,
    (dest, tmp): (&Path, &Path),
    mut out: File,
    hook: &dyn Hook,
) -> Result<Backup, Error> {
    hook.step(Step::BackupCreated);
    let mut crc = Crc64::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut copied = 0u64;
    let half = expect.size / 2;
    let mut half_reported = false;
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(file, "reading", e)),
        };
        crc.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| io_err(tmp, "writing the backup", e))?;
        copied += n as u64;
        if !half_reported && copied >= half {
            half_reported = true;
            out.flush()
                .map_err(|e| io_err(tmp, "writing the backup", e))?;
            hook.step(Step::BackupHalfWritten);
        }
    }
    if copied != expect.size {
        return Err(changed(file));
    }
    hook.step(Step::BackupWritten);
    out.sync_all()
        .map_err(|e| io_err(tmp, "syncing the backup", e))?;
    drop(out);
    // Verify what is on disk.
    let mut check = Crc64::new();
    let mut back = File::open(tmp).map_err(|e| io_err(tmp, "re-reading the backup", e))?;
    let mut seen = 0u64;
    loop {
        let n = match back.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(tmp, "re-reading the backup", e)),
        };
        check.update(&buf[..n]);
        seen += n as u64;
    }
    if seen != copied || check.value() != crc.value() {
        return Err(Error::new(ErrorKind::Resolve(format!(
            "the backup {} does not read back identical to {}",
            tmp.display(),
            file.display()
        ))));
    }
    hook.step(Step::BackupSynced);
    let path = publish(tmp, dest)?;
    let dir = parent_dir(&path);
    sync_dir(&dir).map_err(|e| io_err(&dir, "syncing directory", e))?;
    hook.step(Step::BackupDone);
    Ok(Backup { path, size: copied })
}

/// Gives the verified copy `tmp` its final name, the first free one from
/// `dest` on: a hard link fails rather than replace an existing file, so a
/// backup another run published meanwhile stays; then the `.partial` name is
/// removed. Where the file system has no hard links, a rename to a name that
/// was just seen free. Returns the final name.
fn publish(tmp: &Path, dest: &Path) -> Result<PathBuf, Error> {
    for name in candidates(dest) {
        match fs::hard_link(tmp, &name) {
            Ok(()) => {
                fs::remove_file(tmp).map_err(|e| io_err(tmp, "removing", e))?;
                return Ok(name);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => {
                if exists(&name) {
                    continue;
                }
                fs::rename(tmp, &name).map_err(|e| io_err(&name, "renaming the backup to", e))?;
                return Ok(name);
            }
        }
    }
    Err(Error::new(ErrorKind::Resolve(format!(
        "no free backup name beside {}",
        dest.display()
    ))))
}

fn changed(file: &Path) -> Error {
    Error::new(ErrorKind::Resolve(format!(
        "{} changed since it was checked (is a server still writing to it?); nothing was modified",
        file.display()
    )))
}

/// Truncates `file` (which must still match `expect`) to `to` bytes, in place,
/// durably. Does not look for other processes holding it: see
/// [`truncate_guarded`].
pub fn truncate(file: &Path, expect: &Identity, to: u64, hook: &dyn Hook) -> Result<(), Error> {
    truncate_guarded(file, expect, to, hook, false)
}

/// [`truncate`], and with `refuse_writers`, refused (nothing changed) when
/// another process holds `file` open for writing ([`writers`]) at the last
/// moment before the cut: a server still appending to it would have writes it
/// acknowledged cut away, or would write past the new end.
pub fn truncate_guarded(
    file: &Path,
    expect: &Identity,
    to: u64,
    hook: &dyn Hook,
    refuse_writers: bool,
) -> Result<(), Error> {
    let f = OpenOptions::new()
        .write(true)
        .open(file)
        .map_err(|e| io_err(file, "opening for writing", e))?;
    let now = Identity::from_metadata(&f.metadata().map_err(|e| io_err(file, "reading", e))?);
    if &now != expect {
        return Err(changed(file));
    }
    if to > now.size {
        return Err(Error::new(ErrorKind::Resolve(format!(
            "refusing to extend {} from {} to {to} bytes",
            file.display(),
            now.size
        ))));
    }
    if refuse_writers {
        refuse_held(file, &writers(file))?;
    }
    hook.step(Step::BeforeTruncate);
    f.set_len(to).map_err(|e| io_err(file, "truncating", e))?;
    hook.step(Step::Truncated);
    f.sync_all().map_err(|e| io_err(file, "syncing", e))?;
    sync_dir(&parent_dir(file)).map_err(|e| io_err(&parent_dir(file), "syncing directory", e))?;
    hook.step(Step::TruncateSynced);
    Ok(())
}

/// A process that holds a file open for writing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// The file descriptor.
    pub fd: u32,
    /// Its command name (`/proc/PID/comm`), when readable.
    pub command: Option<String>,
}

/// `Err` naming the processes in `holders` (see [`writers`]) when there are
/// any: "process 1234 (redis-server) holds FILE open for writing".
pub fn refuse_held(file: &Path, holders: &[Holder]) -> Result<(), Error> {
    if holders.is_empty() {
        return Ok(());
    }
    let mut who: Vec<String> = holders
        .iter()
        .map(|h| match &h.command {
            Some(c) => format!("{} ({c}, fd {})", h.pid, h.fd),
            None => format!("{} (fd {})", h.pid, h.fd),
        })
        .collect();
    who.dedup();
    Err(Error::new(ErrorKind::Resolve(format!(
        "process{} {} hold{} {} open for writing (is a server still running on it?); nothing was modified",
        if who.len() == 1 { "" } else { "es" },
        who.join(", "),
        if who.len() == 1 { "s" } else { "" },
        file.display()
    ))))
}

/// The other processes that hold `file` open for writing (`O_WRONLY` or
/// `O_RDWR`): every `/proc/PID/fd/N` that refers to the same device and inode,
/// with the access mode read from `/proc/PID/fdinfo/N`. This process is left
/// out. A process whose entries cannot be read (another user's, without the
/// privilege) is not seen; off Linux (no `/proc`) nothing is found.
pub fn writers(file: &Path) -> Vec<Holder> {
    let Some(target) = fs::metadata(file)
        .ok()
        .and_then(|m| Identity::from_metadata(&m).dev_ino)
    else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut found = Vec::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        return found;
    };
    for p in procs.filter_map(Result::ok) {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let dir = p.path();
        let Ok(fds) = fs::read_dir(dir.join("fd")) else {
            continue;
        };
        for fd in fds.filter_map(Result::ok) {
            let Some(n) = fd.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            // Sockets, pipes, anonymous inodes and devices are never the
            // file; not stat-ing them keeps a dead network mount elsewhere
            // from being touched either.
            let Ok(link) = fs::read_link(fd.path()) else {
                continue;
            };
            if !link.is_absolute() || link.starts_with("/dev") {
                continue;
            }
            let same = fs::metadata(fd.path())
                .ok()
                .and_then(|m| Identity::from_metadata(&m).dev_ino)
                == Some(target);
            if same && opened_for_writing(&dir.join("fdinfo").join(n.to_string())) {
                let command = fs::read_to_string(dir.join("comm"))
                    .ok()
                    .map(|c| c.trim_end().to_owned());
                found.push(Holder {
                    pid,
                    fd: n,
                    command,
                });
            }
        }
    }
    found.sort_by_key(|h| (h.pid, h.fd));
    found
}

/// Whether the `flags:` line (octal) of an fdinfo file has the access mode
/// `O_WRONLY` (1) or `O_RDWR` (2). Unreadable for another reason than the
/// descriptor being closed meanwhile: assumed to be a writer (it was seen to
/// refer to the file).
fn opened_for_writing(fdinfo: &Path) -> bool {
    let text = match fs::read_to_string(fdinfo) {
        Ok(t) => t,
        Err(e) => return e.kind() != std::io::ErrorKind::NotFound,
    };
    text.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .is_none_or(|flags| flags & 3 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps() {
        assert_eq!(utc_stamp(0), "19700101T000000");
        assert_eq!(utc_stamp(1_628_217_470), "20210806T023750");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000");
    }

    #[test]
    fn backup_then_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("appendonly.aof");
        fs::write(&f, b"0123456789").unwrap();
        let id = Identity::of(&f).unwrap();
        let dest = backup_path(&f, None, SystemTime::UNIX_EPOCH);
        assert_eq!(dest, dir.path().join("appendonly.aof.bak-19700101T000000"));
        let b = write_backup(&f, &id, &dest, &NoHook).unwrap();
        assert_eq!(fs::read(&b.path).unwrap(), b"0123456789");
        // The name is taken now: the next one gets a suffix.
        assert_eq!(
            backup_path(&f, None, SystemTime::UNIX_EPOCH),
            dir.path().join("appendonly.aof.bak-19700101T000000.1")
        );
        truncate(&f, &id, 4, &NoHook).unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"0123");
        // The file changed: refuse.
        assert!(truncate(&f, &id, 2, &NoHook).is_err());
        let dest2 = backup_path(&f, None, SystemTime::UNIX_EPOCH);
        assert!(write_backup(&f, &id, &dest2, &NoHook).is_err());
        assert!(!exists(&dest2) && !exists(&partial(&dest2)));
    }

    /// Another run's `.partial` under the chosen name (it chose the same name
    /// in the same second): this run takes the next name, and neither its
    /// success nor its failure removes the other run's file.
    #[test]
    fn another_runs_partial_is_skipped_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("appendonly.aof");
        fs::write(&f, b"0123456789").unwrap();
        let id = Identity::of(&f).unwrap();
        let dest = dir.path().join("appendonly.aof.bak-x");
        fs::write(partial(&dest), b"theirs").unwrap();
        let b = write_backup(&f, &id, &dest, &NoHook).unwrap();
        assert_eq!(b.path, dir.path().join("appendonly.aof.bak-x.1"));
        assert_eq!(fs::read(&b.path).unwrap(), b"0123456789");
        assert_eq!(fs::read(partial(&dest)).unwrap(), b"theirs");
        // A failed run (the file changed) removes its own partial copy only.
        fs::write(&f, b"01234567890").unwrap();
        assert!(write_backup(&f, &id, &dest, &NoHook).is_err());
        assert_eq!(fs::read(partial(&dest)).unwrap(), b"theirs");
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial"))
            .collect();
        assert_eq!(left, ["appendonly.aof.bak-x.partial"]);
    }

    /// A backup published under the name meanwhile is never replaced.
    #[test]
    fn publish_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("b");
        fs::write(&dest, b"theirs").unwrap();
        fs::write(dir.path().join("b.1"), b"theirs too").unwrap();
        let tmp = dir.path().join("b.2.partial");
        fs::write(&tmp, b"mine").unwrap();
        let got = publish(&tmp, &dest).unwrap();
        assert_eq!(got, dir.path().join("b.2"));
        assert_eq!(fs::read(&got).unwrap(), b"mine");
        assert_eq!(fs::read(&dest).unwrap(), b"theirs");
        assert_eq!(fs::read(dir.path().join("b.1")).unwrap(), b"theirs too");
        assert!(!exists(&tmp));
    }

    /// What this run created is removed only while the name still refers to
    /// it.
    #[test]
    fn own_removes_only_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.partial");
        let f = File::create(&p).unwrap();
        let own = Own::of(&p, &f);
        fs::remove_file(&p).unwrap();
        fs::write(&p, b"someone else's").unwrap();
        own.remove();
        assert_eq!(fs::read(&p).unwrap(), b"someone else's");
        let f = File::create(dir.path().join("y")).unwrap();
        let y = dir.path().join("y");
        Own::of(&y, &f).remove();
        assert!(!exists(&y));
    }

    /// A process holding the file open for writing is found (with its pid and
    /// descriptor); one holding it for reading only is not.
    #[cfg(target_os = "linux")]
    #[test]
    fn writers_are_found_readers_are_not() {
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("appendonly.aof");
        fs::write(&f, b"x").unwrap();
        let hold = |redirect: &str| {
            Command::new("sh")
                .arg("-c")
                .arg(format!("exec 7{redirect}\"$0\"; exec sleep 30"))
                .arg(&f)
                .stdin(Stdio::null())
                .spawn()
                .unwrap()
        };
        // Until the child has exec'd sleep with fd 7 open.
        let wait_for_fd = |pid: u32| {
            for _ in 0..500 {
                let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if comm.trim() == "sleep" && exists(Path::new(&format!("/proc/{pid}/fd/7"))) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            panic!("the holder did not start");
        };
        let mut reader = hold("<");
        wait_for_fd(reader.id());
        assert_eq!(writers(&f), []);
        assert!(refuse_held(&f, &writers(&f)).is_ok());
        let mut writer = hold(">>");
        wait_for_fd(writer.id());
        let w = writers(&f);
        let _ = writer.kill();
        let _ = reader.kill();
        let _ = writer.wait();
        let _ = reader.wait();
        assert_eq!(
            w,
            [Holder {
                pid: writer.id(),
                fd: 7,
                command: Some("sleep".into())
            }]
        );
        let e = refuse_held(&f, &w).unwrap_err().to_string();
        assert!(
            e.contains(&format!("process {} (sleep, fd 7)", writer.id())),
            "{e}"
        );
        // This process's own descriptors are not counted.
        let _mine = OpenOptions::new().append(true).open(&f).unwrap();
        assert_eq!(writers(&f), []);
    }
}
