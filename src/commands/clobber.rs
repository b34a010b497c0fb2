//! The guard every writing subcommand runs before it creates its output: an
//! output never replaces one of the run's inputs. Files are compared by device
//! and inode, so a symlink, a hard link or another spelling of the same path
//! is caught, not only the same name.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

/// A file's identity: (device, inode).
type Id = (u64, u64);

fn id(m: &std::fs::Metadata) -> Id {
    (m.dev(), m.ino())
}

/// Fails when writing `output` would replace or overwrite one of `inputs`.
///
/// An input that is a directory (a multi-part AOF directory) or a manifest
/// counts with every file of its directory: an output there that would replace
/// one of them (`dump appendonlydir -o appendonlydir/appendonly.aof.manifest`)
/// is refused. An output that is a directory holding an input (replaced as a
/// whole by `convert-aof-to-hybrid --force`) is refused too. `-` (standard
/// input or output) and an output that does not exist yet pass.
pub fn refuse_output_over_input(output: &Path, inputs: &[&Path]) -> anyhow::Result<()> {
    if output.as_os_str() == "-" {
        return Ok(());
    }
    // Through a symlink: what it points to is what the write replaces.
    let Ok(out) = std::fs::metadata(output) else {
        return Ok(());
    };
    let out_id = id(&out);
    let mut ids: HashSet<Id> = HashSet::new();
    for input in inputs.iter().filter(|p| p.as_os_str() != "-") {
        let Ok(m) = std::fs::metadata(input) else {
            continue;
        };
        ids.insert(id(&m));
        let dir = if m.is_dir() {
            Some(input.to_path_buf())
        } else if input.extension().is_some_and(|e| e == "manifest") {
            Some(parent_dir(input))
        } else {
            None
        };
        if let Some(dir) = dir {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if let Ok(m) = std::fs::metadata(e.path()) {
                    ids.insert(id(&m));
                }
            }
        }
        if out.is_dir() {
            if let Ok(canon) = std::fs::canonicalize(input) {
                for anc in canon.ancestors().skip(1) {
                    if std::fs::metadata(anc).is_ok_and(|a| id(&a) == out_id) {
                        anyhow::bail!(
                            "{} holds the input {}: an input is never replaced; write elsewhere",
                            output.display(),
                            input.display()
                        );
                    }
                }
            }
        }
    }
    if ids.contains(&out_id) {
        anyhow::bail!(
            "{} is an input of this run (or one of its files): an input is never replaced; write elsewhere",
            output.display()
        );
    }
    Ok(())
}

pub use redis_persist::io::parent_dir;
