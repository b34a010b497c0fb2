//! Where `dump` writes: standard output, or `-o FILE` written atomically.
//!
//! Atomic: a regular file (or a path that does not exist yet) is written to a
//! temporary file in the same directory, synced, then renamed over the target, so
//! the target is never seen half-written and an interrupted dump leaves it
//! untouched (the temporary file is removed when the dump fails to write). A
//! target that exists and is not a regular file (`/dev/null`, a FIFO, a terminal)
//! is written in place: renaming over it would replace the device.
//!
//! Writes go straight to the file descriptor (a duplicate of standard output, so
//! Rust's line buffering of `stdout` is bypassed); callers hand over large
//! buffers.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The output of a dump.
pub struct Output {
    file: File,
    /// (temporary path, final path) when writing atomically.
    atomic: Option<(PathBuf, PathBuf)>,
    done: bool,
}

impl Output {
    /// Standard output.
    pub fn stdout() -> io::Result<Self> {
        use std::os::fd::AsFd as _;
        let fd = io::stdout().as_fd().try_clone_to_owned()?;
        Ok(Self {
            file: File::from(fd),
            atomic: None,
            done: false,
        })
    }

    /// `path`, atomically when it is a regular file or does not exist.
    pub fn file(path: &Path) -> io::Result<Self> {
        let target = match std::fs::symlink_metadata(path) {
            // Replace what the link points to, not the link.
            Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)?,
            _ => path.to_path_buf(),
        };
        match std::fs::metadata(&target) {
            Ok(m) if !m.is_file() => {
                if m.is_dir() {
                    return Err(io::Error::other(format!(
                        "{} is a directory",
                        path.display()
                    )));
                }
                let file = OpenOptions::new().write(true).open(&target)?;
                return Ok(Self {
                    file,
                    atomic: None,
                    done: false,
                });
            }
            _ => {}
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map_or_else(|| "dump".into(), |n| n.to_string_lossy().into_owned());
        let mut n = 0u32;
        loop {
            let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(file) => {
                    // Keep the permissions of the file being replaced.
                    if let Ok(m) = std::fs::metadata(&target) {
                        let _ = file.set_permissions(m.permissions());
                    }
                    return Ok(Self {
                        file,
                        atomic: Some((tmp, target)),
                        done: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// The temporary file being written, when writing atomically.
    pub fn temp_path(&self) -> Option<&Path> {
        self.atomic.as_ref().map(|(tmp, _)| tmp.as_path())
    }

    /// The file being written.
    pub fn handle(&self) -> &File {
        &self.file
    }

    /// Writes all of `b`.
    #[inline]
    pub fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.file.write_all(b)
    }

    /// Finishes the output: syncs and renames the temporary file into place.
    pub fn commit(mut self) -> io::Result<()> {
        self.done = true;
        self.file.flush()?;
        if let Some((tmp, target)) = self.atomic.take() {
            let res = self
                .file
                .sync_all()
                .and_then(|()| std::fs::rename(&tmp, &target));
            if res.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            res?;
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.atomic.take() {
            if !self.done {
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
}
