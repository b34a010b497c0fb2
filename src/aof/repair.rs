//! Changing an AOF file safely: a verified backup first, then an in-place
//! truncation, each made durable before the next step.
//!
//! The sequence ([`write_backup`], then [`truncate`]):
//! 1. the file is copied to `<backup>.partial` (created exclusively, never
//!    overwriting anything), the copy is fsynced, re-read and compared (size and
//!    CRC-64) with what was read from the original;
//! 2. the copy is renamed to its final name and its directory fsynced — only now
//!    does the backup exist under the name that is reported;
//! 3. the original is checked to be the file that was checked (same device, inode,
//!    size and modification time: a server still appending to it is detected),
//!    truncated in place with `ftruncate` (the inode stays, as with
//!    `redis-check-aof --fix` and the server's own truncation), fsynced, and its
//!    directory fsynced.
//!
//! A crash at any point leaves the original either untouched or truncated (a
//! truncation is a single metadata update), and a backup under its final name
//! is always complete; at worst a `.partial` copy remains. [`Hook`] lets a caller
//! observe each step (the binary's crash-safety tests stop the process there).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::io::Crc64;

use super::Error;
use super::ErrorKind;

/// The steps of a repair, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
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
    pub const ALL: [Step; 8] = [
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

    fn from_metadata(m: &fs::Metadata) -> Self {
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

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
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
/// (see the module docs). On error nothing is left under `dest` (a `.partial`
/// file is removed when possible).
pub fn write_backup(
    file: &Path,
    expect: &Identity,
    dest: &Path,
    hook: &dyn Hook,
) -> Result<Backup, Error> {
    let tmp = partial(dest);
    let res = write_backup_inner(file, expect, dest, &tmp, hook);
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

fn write_backup_inner(
    file: &Path,
    expect: &Identity,
    dest: &Path,
    tmp: &Path,
    hook: &dyn Hook,
) -> Result<Backup, Error> {
    let mut src = File::open(file).map_err(|e| io_err(file, "opening", e))?;
    let now = Identity::from_metadata(&src.metadata().map_err(|e| io_err(file, "reading", e))?);
    if &now != expect {
        return Err(changed(file));
    }
    if exists(dest) {
        return Err(Error::new(ErrorKind::Resolve(format!(
            "{} already exists",
            dest.display()
        ))));
    }
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(|e| io_err(tmp, "creating the backup", e))?;
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
    if exists(dest) {
        return Err(Error::new(ErrorKind::Resolve(format!(
            "{} already exists",
            dest.display()
        ))));
    }
    fs::rename(tmp, dest).map_err(|e| io_err(dest, "renaming the backup to", e))?;
    sync_dir(&parent_dir(dest)).map_err(|e| io_err(&parent_dir(dest), "syncing directory", e))?;
    hook.step(Step::BackupDone);
    Ok(Backup {
        path: dest.to_path_buf(),
        size: copied,
    })
}

fn changed(file: &Path) -> Error {
    Error::new(ErrorKind::Resolve(format!(
        "{} changed since it was checked (is a server still writing to it?); nothing was modified",
        file.display()
    )))
}

/// Truncates `file` (which must still match `expect`) to `to` bytes, in place,
/// durably.
pub fn truncate(file: &Path, expect: &Identity, to: u64, hook: &dyn Hook) -> Result<(), Error> {
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
    hook.step(Step::BeforeTruncate);
    f.set_len(to).map_err(|e| io_err(file, "truncating", e))?;
    hook.step(Step::Truncated);
    f.sync_all().map_err(|e| io_err(file, "syncing", e))?;
    sync_dir(&parent_dir(file)).map_err(|e| io_err(&parent_dir(file), "syncing directory", e))?;
    hook.step(Step::TruncateSynced);
    Ok(())
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
}
