//! The checker behind `check-aof`: `redis-check-aof`'s verdicts, offsets and line
//! counter for every file of an AOF input, what `--fix` would cut, and what
//! `redis-check-aof` does not look at.
//!
//! Per file ([`check_file`]):
//! * an RDB preamble (any file starting with `REDIS`/`VALKEY`, ≥ 8 bytes) is
//!   validated with the RDB reader first; the RESP part starts after its trailer;
//! * the RESP part is scanned with `redis-check-aof`'s grammar ([`super::resp`]) and
//!   its MULTI/EXEC rules: `valid_up_to` is the start of the first bad record, or
//!   the start of the open `MULTI` when the problem comes inside a transaction
//!   (FORMATS.md §7 pitfall 19) — exactly `ok_up_to`; `line` is exactly
//!   `ok_up_to_line` (pitfall 21);
//! * beyond `redis-check-aof`: records the server refuses although the checker
//!   accepts them (`*0`, `*-1`), command names the server does not know and wrong
//!   arities (the `commands` table), and the complete commands that still follow a
//!   damaged region (which a cut would drop).
//!
//! For a whole input ([`check_input`]): the manifest is parsed like the server
//! does, files are checked in load order with one line counter (as
//! `redis-check-aof` does), and [`InputReport::fix_plan`] decides what `--fix` may
//! do: only the last file in load order may be cut (the server refuses a truncated
//! file anywhere else), never inside an RDB preamble.
//!
//! Nothing here writes: the cut itself is [`super::repair`]'s job.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::io::{Input, Progress, Source, SourceError};
use crate::rdb;

use super::commands::{self, Verdict};
use super::input::{FileKind, Resolved};
use super::loader::{self, LoaderReport};
use super::manifest::{Entry, EntryKind, Manifest, ManifestError};
use super::preamble::{RdbMagic, check_rdb, detect_rdb_preamble};
use super::resp::{
    ArgSink, Header, Inconsistency, Scanner, StringOutcome, fast_record, is_exec, is_multi,
    parse_ts_annotation,
};
use super::{Error, ErrorKind};

/// Finding and refusal code of an RDB part (preamble or base) written by a
/// newer server than this tool knows.
pub const UNSUPPORTED_RDB: &str = "unsupported-rdb";

/// How many distinct names are kept for the unknown-command and arity findings.
const MAX_NAMES: usize = 32;

/// Makes the progress sink of a file, given the bytes of the files before it.
pub type ProgressFactory = Box<dyn Fn(u64) -> Box<dyn Progress>>;

/// Check settings.
#[derive(Default)]
pub struct Options {
    /// `--truncate-to-timestamp`: find the first `#TS:` annotation later than this.
    pub truncate_to_timestamp: Option<i64>,
    /// Progress: called once per file with the number of bytes of the files before
    /// it, returns the progress sink for that file.
    pub progress: Option<ProgressFactory>,
}

/// Where the checker's grammar stopped in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stop {
    /// What was wrong.
    pub kind: Inconsistency,
    /// The offset `redis-check-aof` prints in its error line (start of the header,
    /// payload or annotation read last); for a format error, the bad byte.
    pub offset: u64,
    /// The line counter when it stopped (`ok_up_to_line`).
    pub line: u64,
}

/// How often something was seen, and where first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Occurrences.
    pub count: u64,
    /// Offset of the first one.
    pub first_offset: u64,
    /// Line counter at the first one.
    pub first_line: u64,
}

/// A command name flagged by the name/arity checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameFinding {
    /// Lower-case name (`container|sub` for a subcommand).
    pub name: Vec<u8>,
    /// For arity findings: the arity; `None` for unknown commands.
    pub arity: Option<i32>,
    /// Occurrences and first position.
    pub seen: Seen,
    /// Argument count (name included) of the first occurrence.
    pub first_argc: u64,
}

/// `--truncate-to-timestamp`: what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimestampCut {
    /// The first `#TS:` annotation later than the limit.
    At {
        /// Offset of the annotation (the cut point).
        offset: u64,
        /// Its value.
        timestamp: i64,
        /// Complete commands from there to the end of the file.
        commands_after: u64,
    },
    /// A `#TS:` annotation `redis-check-aof` rejects ("Invalid timestamp
    /// annotation"), before any cut point.
    Invalid {
        /// Its offset.
        offset: u64,
    },
}

/// The complete commands found after a damaged region (by resynchronising on the
/// next line that starts a well-formed record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AfterDamage {
    /// Offset of the first one.
    pub first_offset: u64,
    /// How many (a lower bound: records larger than 64 KiB are not recognised).
    pub commands: u64,
}

/// The RESP part of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RespReport {
    /// Offset where the RESP part starts (0, or after an RDB preamble).
    pub start: u64,
    /// `ok_up_to`: the file is valid up to here.
    pub valid_up_to: u64,
    /// `ok_up_to_line`: the line counter at the end (cumulative across files).
    pub line: u64,
    /// Where the grammar stopped, if it did.
    pub stop: Option<Stop>,
    /// The stop came in a transaction (so `valid_up_to` is its MULTI): while
    /// the MULTI was open, or in the record of its EXEC.
    pub stop_in_multi: bool,
    /// Complete commands before the stop (all of them when valid).
    pub commands: u64,
    /// Complete MULTI … EXEC blocks.
    pub multi_blocks: u64,
    /// `#` annotation lines.
    pub annotations: u64,
    /// First and last `#TS:` values.
    pub timestamps: Option<(i64, i64)>,
    /// Complete commands between `valid_up_to` and the stop (the queued part of an
    /// unterminated transaction, MULTI included; with a broken EXEC record, the
    /// whole transaction but the EXEC).
    pub cut_commands: u64,
    /// Complete commands after the damaged region.
    pub after_damage: Option<AfterDamage>,
    /// `*0` / `*-1` / `*` records: accepted by `redis-check-aof`, refused by the
    /// server ("Bad file format").
    pub empty_commands: Option<Seen>,
    /// Command names the server does not know.
    pub unknown_commands: Vec<NameFinding>,
    /// Commands with an argument count their arity rejects.
    pub wrong_arity: Vec<NameFinding>,
    /// `--truncate-to-timestamp` result.
    pub timestamp_cut: Option<TimestampCut>,
}

/// The RDB part of a file.
#[derive(Clone, Debug)]
pub struct RdbPart {
    /// Which magic.
    pub magic: RdbMagic,
    /// The RDB checker's report (keys, version, checksum, problems).
    pub report: rdb::check::Report,
}

impl RdbPart {
    /// True when the RDB is sane.
    pub fn is_ok(&self) -> bool {
        self.report.is_ok()
    }

    /// True when the RDB holds content of a newer server than this tool knows
    /// (a newer version, type or opcode) and nothing corrupt: it may be valid.
    pub fn is_unsupported(&self) -> bool {
        self.report.is_unsupported()
    }
}

/// The check of one file.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// Path.
    pub path: PathBuf,
    /// Name as listed in the manifest (or the file name).
    pub name: Vec<u8>,
    /// Single file, BASE or INCR.
    pub kind: FileKind,
    /// Manifest sequence number.
    pub seq: Option<i64>,
    /// Manifest line.
    pub manifest_line: Option<usize>,
    /// Last file in load order (the only one a cut may touch).
    pub last: bool,
    /// Could not be opened (missing): the message.
    pub open_error: Option<String>,
    /// Size in bytes (as scanned).
    pub size: u64,
    /// The file's identity (device, inode, size, modification time) when it
    /// was opened, before anything was read: a repair compares it with the file
    /// right before changing it. `None` for standard input or a missing file.
    pub identity: Option<super::repair::Identity>,
    /// The RDB preamble, when the file has one.
    pub rdb: Option<RdbPart>,
    /// The RESP part (absent when the file could not be read or its RDB part is
    /// damaged).
    pub resp: Option<RespReport>,
    /// What the server's loader does with it (only worked out for files with a
    /// problem).
    pub loader: Option<LoaderReport>,
}

impl FileReport {
    /// `redis-check-aof`'s verdict: readable, sane preamble, no grammar stop.
    pub fn checker_ok(&self) -> bool {
        self.open_error.is_none()
            && self.rdb.as_ref().is_none_or(RdbPart::is_ok)
            && self.resp.as_ref().is_some_and(|r| r.stop.is_none())
    }

    /// A 0-byte file.
    pub fn is_empty(&self) -> bool {
        self.open_error.is_none() && self.size == 0
    }

    /// Every finding, in file order; `strict` turns every warning into an error.
    pub fn findings(&self, strict: bool) -> Vec<Finding> {
        let mut out = self.findings_lenient();
        if strict {
            strictify(&mut out);
        }
        out
    }

    fn findings_lenient(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Some(e) = &self.open_error {
            let mut msg = e.clone();
            if let Some(l) = self.manifest_line {
                let _ = write!(
                    msg,
                    " (listed on manifest line {l}; the server refuses to start without it)"
                );
            }
            out.push(Finding::error(
                "missing-file",
                None,
                self.manifest_line.map(|l| l as u64),
                msg,
            ));
            return out;
        }
        if let Some(rdb) = &self.rdb {
            for p in &rdb.report.problems {
                let sev = match p.severity {
                    rdb::check::Severity::Error => Severity::Error,
                    rdb::check::Severity::Warning => Severity::Warning,
                };
                let mut msg = format!("RDB preamble: {}", p.message);
                if let Some(k) = &p.key {
                    let _ = write!(msg, " (key \"{}\")", super::escape_for_message(k));
                }
                let unsupported = p.kind == rdb::check::ProblemKind::Unsupported;
                if unsupported {
                    msg.push_str(
                        ": written by a newer server than this tool knows, the file may be valid for that server",
                    );
                }
                out.push(Finding {
                    severity: sev,
                    code: if unsupported {
                        UNSUPPORTED_RDB
                    } else {
                        "rdb-preamble"
                    },
                    offset: Some(p.offset),
                    line: None,
                    message: msg,
                });
            }
            if rdb.report.problems_truncated() {
                let dropped = &rdb.report.problems_dropped;
                let errors = dropped
                    .iter()
                    .filter(|(k, _)| **k != rdb::check::ProblemKind::Warning)
                    .map(|(_, n)| n)
                    .sum::<u64>();
                let all = dropped.values().sum::<u64>();
                out.push(Finding {
                    severity: if errors > 0 {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    code: "rdb-preamble",
                    offset: None,
                    line: None,
                    message: format!(
                        "RDB preamble: {all} more problem(s) ({errors} of them errors) not listed: only the first {} are kept",
                        rdb::check::MAX_PROBLEMS
                    ),
                });
            }
            if !rdb.is_ok() && rdb.report.first_error().is_none() {
                out.push(Finding::error(
                    "rdb-preamble",
                    None,
                    None,
                    "RDB preamble: incomplete".into(),
                ));
            }
        }
        let Some(r) = &self.resp else { return out };
        let names = Severity::Warning;
        if let Some(e) = &r.empty_commands {
            out.push(Finding {
                severity: Severity::Error,
                code: "empty-command",
                offset: Some(e.first_offset),
                line: Some(e.first_line),
                message: format!(
                    "{} empty command record(s) (`*0`, `*-1` or `*`): redis-check-aof accepts them, but the server refuses to load the file (\"Bad file format\"); --fix does not remove them",
                    e.count
                ),
            });
        }
        for n in &r.unknown_commands {
            out.push(Finding {
                severity: names,
                code: "unknown-command",
                offset: Some(n.seen.first_offset),
                line: Some(n.seen.first_line),
                message: format!(
                    "unknown command '{}' ({} time(s)): a server without it refuses to load the file (\"Unknown command\")",
                    super::escape_for_message(&n.name),
                    n.seen.count
                ),
            });
        }
        for n in &r.wrong_arity {
            // An error even when names are warnings: the command is known, and
            // redis-server 7.0 crashes loading it (Valkey refuses to start).
            out.push(Finding {
                severity: Severity::Error,
                code: "wrong-arity",
                offset: Some(n.seen.first_offset),
                line: Some(n.seen.first_line),
                message: format!(
                    "'{}' with {} argument(s) ({} time(s)): its arity is {}; redis-server 7.0 crashes loading it, Valkey refuses to start",
                    super::escape_for_message(&n.name),
                    n.first_argc,
                    n.seen.count,
                    n.arity.unwrap_or(0)
                ),
            });
        }
        if let Some(TimestampCut::Invalid { offset }) = &r.timestamp_cut {
            out.push(Finding::error(
                "invalid-timestamp",
                Some(*offset),
                None,
                "invalid #TS: annotation (redis-check-aof --truncate-to-timestamp rejects it)"
                    .into(),
            ));
        }
        if let Some(s) = &r.stop {
            let mut msg = s.kind.describe();
            if r.stop_in_multi {
                let _ = write!(
                    msg,
                    "; inside the MULTI block that starts at offset {}",
                    r.valid_up_to
                );
            }
            out.push(Finding {
                severity: Severity::Error,
                code: s.kind.code(),
                offset: Some(s.offset),
                line: Some(s.line),
                message: msg,
            });
        }
        if let Some(a) = &r.after_damage {
            out.push(Finding {
                severity: Severity::Error,
                code: "commands-after-damage",
                offset: Some(a.first_offset),
                line: None,
                message: format!(
                    "at least {} complete command(s) follow the damaged region: the damage is not just a cut-off tail, and a cut at offset {} drops them too",
                    a.commands, r.valid_up_to
                ),
            });
        }
        out
    }
}

/// `--strict`: every warning counts as an error.
fn strictify(findings: &mut [Finding]) {
    for f in findings {
        if f.severity == Severity::Warning {
            f.severity = Severity::Error;
        }
    }
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input is not valid (exit 1).
    Error,
    /// Worth knowing; the input is still valid (unless `--strict`).
    Warning,
}

/// One finding, for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// A stable identifier (`short-payload`, `unknown-command`, `manifest-…`).
    pub code: &'static str,
    /// Byte offset in the file, when meaningful.
    pub offset: Option<u64>,
    /// `redis-check-aof` line counter (or manifest line for manifest findings).
    pub line: Option<u64>,
    /// What is wrong, for humans.
    pub message: String,
}

impl Finding {
    fn error(code: &'static str, offset: Option<u64>, line: Option<u64>, message: String) -> Self {
        Self {
            severity: Severity::Error,
            code,
            offset,
            line,
            message,
        }
    }
    fn warning(
        code: &'static str,
        offset: Option<u64>,
        line: Option<u64>,
        message: String,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            code,
            offset,
            line,
            message,
        }
    }
}

/// The manifest of a multi-part input.
#[derive(Clone, Debug)]
pub struct ManifestReport {
    /// Its path.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// The parsed manifest, when the server accepts it.
    pub manifest: Option<Manifest>,
    /// Why the server refuses it.
    pub error: Option<ManifestError>,
    /// Things the server accepts but that deserve a look.
    pub notes: Vec<Finding>,
}

impl ManifestReport {
    /// Every finding.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Some(e) = &self.error {
            let mut msg = e.kind.message().to_owned();
            if let Some((_, text)) = &e.line {
                let _ = write!(msg, ": '{}'", super::escape_for_message(text));
            }
            out.push(Finding::error(
                e.kind.code(),
                None,
                e.line.as_ref().map(|l| l.0 as u64),
                msg,
            ));
        }
        out.extend(self.notes.iter().cloned());
        out
    }
}

/// The check of a whole input.
#[derive(Clone, Debug)]
pub struct InputReport {
    /// What the PATH resolved to.
    pub resolved: Resolved,
    /// The manifest (multi-part inputs).
    pub manifest: Option<ManifestReport>,
    /// Files in load order.
    pub files: Vec<FileReport>,
    /// The `--truncate-to-timestamp` limit used.
    pub truncate_to_timestamp: Option<i64>,
    /// Findings about the input as a whole (a single file that belongs to a
    /// manifest).
    pub notes: Vec<Finding>,
}

/// What `--fix` (or `--truncate-to-timestamp`) would do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FixPlan {
    /// Nothing to cut.
    Nothing,
    /// Truncate `file` (index in [`InputReport::files`]) to `to` bytes.
    Cut {
        /// Index of the file.
        file: usize,
        /// Current size.
        from: u64,
        /// Size after the cut.
        to: u64,
        /// Complete commands removed (a lower bound when the damage is followed
        /// by more data).
        commands: u64,
        /// Why (the finding code of the problem, or `timestamp`).
        reason: &'static str,
    },
    /// The input has problems a cut cannot or must not repair.
    Refuse {
        /// Index of the file concerned, if one.
        file: Option<usize>,
        /// A stable identifier.
        code: &'static str,
        /// What is wrong and what the operator can do.
        explanation: String,
    },
}

impl InputReport {
    /// Every finding of the manifest and the files, with the file index (`None`
    /// for the manifest).
    pub fn findings(&self, strict: bool) -> Vec<(Option<usize>, Finding)> {
        let mut out: Vec<(Option<usize>, Finding)> =
            self.notes.iter().cloned().map(|f| (None, f)).collect();
        if let Some(m) = &self.manifest {
            out.extend(m.findings().into_iter().map(|f| (None, f)));
        }
        if strict {
            for (_, f) in &mut out {
                strictify(std::slice::from_mut(f));
            }
        }
        for (i, f) in self.files.iter().enumerate() {
            out.extend(f.findings(strict).into_iter().map(|x| (Some(i), x)));
        }
        out
    }

    /// True when there is no error-severity finding.
    pub fn is_ok(&self, strict: bool) -> bool {
        self.findings(strict)
            .iter()
            .all(|(_, f)| f.severity != Severity::Error)
    }

    /// True when every error-severity finding is an RDB part (preamble or
    /// base) of a newer server than this tool knows, and there is at least
    /// one: the input may be valid; it needs a newer tool, not a backup.
    pub fn is_unsupported(&self, strict: bool) -> bool {
        let findings = self.findings(strict);
        let errors = || {
            findings
                .iter()
                .filter(|(_, f)| f.severity == Severity::Error)
        };
        errors().next().is_some() && errors().all(|(_, f)| f.code == UNSUPPORTED_RDB)
    }

    /// What `--fix` would do: cut the damaged file where `redis-check-aof --fix`
    /// would, when that is safe.
    pub fn fix_plan(&self) -> FixPlan {
        if let Some(p) = self.blocking_problem() {
            return p;
        }
        for (i, f) in self.files.iter().enumerate() {
            let Some(r) = &f.resp else { continue };
            let Some(stop) = &r.stop else { continue };
            if !f.last {
                return FixPlan::Refuse {
                    file: Some(i),
                    code: "damaged-non-last-file",
                    explanation: non_last_explanation(f, r.valid_up_to, &self.files[i + 1..]),
                };
            }
            let after = r.after_damage.as_ref().map_or(0, |a| a.commands);
            return FixPlan::Cut {
                file: i,
                from: f.size,
                to: r.valid_up_to,
                commands: r.cut_commands + after,
                reason: stop.kind.code(),
            };
        }
        FixPlan::Nothing
    }

    /// What `--truncate-to-timestamp` would do (like `redis-check-aof`: the
    /// first `#TS:` annotation later than the limit, in the last file only).
    pub fn timestamp_plan(&self) -> FixPlan {
        let Some(limit) = self.truncate_to_timestamp else {
            return FixPlan::Nothing;
        };
        if let Some(p) = self.blocking_problem() {
            return p;
        }
        for (i, f) in self.files.iter().enumerate() {
            let Some(r) = &f.resp else { continue };
            match &r.timestamp_cut {
                Some(TimestampCut::Invalid { offset }) => {
                    return FixPlan::Refuse {
                        file: Some(i),
                        code: "invalid-timestamp",
                        explanation: format!(
                            "{}: the #TS: annotation at offset {offset} is not a valid timestamp; nothing was cut",
                            f.path.display()
                        ),
                    };
                }
                Some(TimestampCut::At {
                    offset,
                    commands_after,
                    ..
                }) => {
                    let damaged_before = r.stop.as_ref().is_some_and(|s| s.offset < *offset);
                    if damaged_before {
                        return self.damaged_before_cut(i);
                    }
                    if *offset == 0 {
                        return FixPlan::Refuse {
                            file: Some(i),
                            code: "nothing-before-timestamp",
                            explanation: format!(
                                "{} has nothing before timestamp {limit} (its first annotation is already later): cutting would empty it; nothing was cut",
                                f.path.display()
                            ),
                        };
                    }
                    if !f.last {
                        return FixPlan::Refuse {
                            file: Some(i),
                            code: "timestamp-in-non-last-file",
                            explanation: format!(
                                "{} would be cut at offset {offset}, but it is not the last file of the manifest: the files after it would then apply on top of a cut file. If you insist, delete every file after it from the manifest (and the directory), then re-run.",
                                f.path.display()
                            ),
                        };
                    }
                    return FixPlan::Cut {
                        file: i,
                        from: f.size,
                        to: *offset,
                        commands: *commands_after,
                        reason: "timestamp",
                    };
                }
                None => {
                    if r.stop.is_some() {
                        return self.damaged_before_cut(i);
                    }
                }
            }
        }
        FixPlan::Nothing
    }

    fn damaged_before_cut(&self, i: usize) -> FixPlan {
        FixPlan::Refuse {
            file: Some(i),
            code: "damaged-before-timestamp",
            explanation: format!(
                "{} is damaged before the timestamp cut point; repair it first (--fix), then truncate to the timestamp",
                self.files[i].path.display()
            ),
        }
    }

    /// Problems no cut can repair.
    fn blocking_problem(&self) -> Option<FixPlan> {
        if let Some(m) = &self.manifest {
            if let Some(e) = &m.error {
                return Some(FixPlan::Refuse {
                    file: None,
                    code: e.kind.code(),
                    explanation: format!(
                        "the manifest {} is refused by the server ({e}); --fix does not rewrite manifests: correct that line by hand (keep a copy first)",
                        m.path.display()
                    ),
                });
            }
        }
        for (i, f) in self.files.iter().enumerate() {
            if let Some(e) = &f.open_error {
                return Some(FixPlan::Refuse {
                    file: Some(i),
                    code: "missing-file",
                    explanation: format!(
                        "{e}: the server refuses to start without it. Restore the file from a backup, or, if it is lost, remove its line from the manifest knowing that the data it held is gone"
                    ),
                });
            }
            if let Some(rdb) = &f.rdb {
                if rdb.is_unsupported() {
                    let at = rdb.report.first_error().map(|p| p.offset);
                    return Some(FixPlan::Refuse {
                        file: Some(i),
                        code: UNSUPPORTED_RDB,
                        explanation: format!(
                            "the RDB part of {} holds content written by a newer server than this tool knows{}: the file may be valid for that server and is not necessarily damaged, so --fix changes nothing. Check it with a newer redis-persist, or load it with the server that wrote it",
                            f.path.display(),
                            at.map(|o| format!(" (at offset {o})")).unwrap_or_default(),
                        ),
                    });
                }
                if !rdb.is_ok() {
                    let at = rdb.report.first_error().map(|p| p.offset);
                    // A BASE with an RDB magic is an RDB file alone: `salvage`
                    // recovers it (or the whole directory). A preamble is
                    // followed by commands: `salvage` of the AOF keeps both.
                    let remedy = if f.kind == FileKind::Base {
                        format!(
                            "`redis-persist salvage {0} -o {0}.salvaged` writes a new RDB of every key that survived in it and reports what was lost (the damaged file is not changed): put it in place of {1} (keep the damaged file), or restore {1} from a backup (or resynchronise from a replica)",
                            f.path.display(),
                            String::from_utf8_lossy(&f.name),
                        )
                    } else {
                        "`redis-persist salvage` on this AOF (the file, or the directory of a multi-part AOF) writes a new AOF of every key and command that survived, its RDB part salvaged and the commands after it kept, and reports what was lost (the damaged files are not changed); or restore the file from a backup (or resynchronise from a replica)".to_owned()
                    };
                    return Some(FixPlan::Refuse {
                        file: Some(i),
                        code: "damaged-rdb-preamble",
                        explanation: format!(
                            "the RDB part of {} is damaged{}: a cut there would throw away the whole snapshot, so --fix refuses (the server refuses to load it too, whatever aof-load-truncated says). {remedy}; `redis-persist check-rdb {}` shows where the RDB part breaks and how many keys come before",
                            f.path.display(),
                            at.map(|o| format!(" at offset {o}")).unwrap_or_default(),
                            f.path.display()
                        ),
                    });
                }
            }
        }
        None
    }
}

fn non_last_explanation(f: &FileReport, valid_up_to: u64, later: &[FileReport]) -> String {
    let later_commands: u64 = later
        .iter()
        .filter_map(|x| x.resp.as_ref())
        .map(|r| r.commands)
        .sum();
    let after = if later.is_empty() {
        "files listed after it in its manifest".to_owned()
    } else {
        format!(
            "{} file(s) after it ({later_commands} command(s))",
            later.len()
        )
    };
    format!(
        "{} is damaged but it is not the last file of the manifest: the {after} were written on top of its full content, so cutting it would silently drop commands in the middle of the history (the server refuses to start for the same reason: \"the truncated file is not the last file\"). What you can do: restore {} from a backup; or, accepting the loss of everything after offset {valid_up_to} of it AND of every later file, truncate it to {valid_up_to} bytes and remove the later INCR lines from the manifest (and their files), after taking a copy of the whole directory. Or run `redis-persist salvage` on the directory: it reads past the damage in every file and writes a new directory with every command that survived, reporting what was lost (the damaged files are not changed).",
        f.path.display(),
        String::from_utf8_lossy(&f.name),
    )
}

/// Checks a whole input in load order.
pub fn check_input(resolved: &Resolved, opts: &Options) -> Result<InputReport, Error> {
    let mut report = InputReport {
        resolved: resolved.clone(),
        manifest: None,
        files: Vec::new(),
        truncate_to_timestamp: opts.truncate_to_timestamp,
        notes: Vec::new(),
    };
    // A single file given directly may be one part of a multi-part set: then only
    // the last file of its manifest may be cut.
    let mut single_is_last = true;
    let mut plan: Vec<(PathBuf, Vec<u8>, FileKind, Option<&Entry>)> = Vec::new();
    let manifest;
    match resolved {
        Resolved::Single(path) => {
            let name = path
                .file_name()
                .map(|n| n.as_encoded_bytes().to_vec())
                .unwrap_or_default();
            if let Some((manifest, last)) = owning_manifest(path, &name) {
                single_is_last = last;
                report.notes.push(Finding::warning(
                    "part-of-manifest",
                    None,
                    None,
                    format!(
                        "this file is listed in the manifest {}{}; give the manifest (or its directory) to check the whole set",
                        manifest.display(),
                        if last { "" } else { " (not as its last file, so --fix will not cut it)" }
                    ),
                ));
            }
            plan.push((path.clone(), name, FileKind::Single, None));
        }
        Resolved::Manifest(path) => {
            let (mr, m) = check_manifest(path)?;
            report.manifest = Some(mr);
            manifest = m;
            let dir = path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            if let Some(m) = &manifest {
                for e in m.load_order() {
                    let kind = if e.kind == EntryKind::Base {
                        FileKind::Base
                    } else {
                        FileKind::Incr
                    };
                    plan.push((
                        dir.join(super::input::name_to_path(&e.name)),
                        e.name.clone(),
                        kind,
                        Some(e),
                    ));
                }
            }
        }
    }
    let mut line = 1u64;
    let mut base = 0u64;
    let n = plan.len();
    for (i, (path, name, kind, entry)) in plan.into_iter().enumerate() {
        let progress = opts.progress.as_ref().map(|f| f(base));
        let fr = check_file(
            &path,
            name,
            kind,
            entry,
            i + 1 == n && single_is_last,
            line,
            opts.truncate_to_timestamp,
            progress,
        )?;
        if let Some(r) = &fr.resp {
            line = r.line;
        }
        base += fr.size;
        report.files.push(fr);
    }
    Ok(report)
}

/// The manifest in `file`'s directory that lists it, and whether it is the last
/// file of that manifest's load order.
fn owning_manifest(file: &Path, name: &[u8]) -> Option<(PathBuf, bool)> {
    if file.as_os_str() == "-" {
        return None;
    }
    let dir = crate::io::parent_dir(file);
    for e in std::fs::read_dir(&dir).ok()?.filter_map(Result::ok) {
        let n = e.file_name();
        let n = n.to_string_lossy();
        if !n.ends_with(".manifest") || n.starts_with("temp-") {
            continue;
        }
        let Ok(bytes) = super::input::read_small(&e.path()) else {
            continue;
        };
        let Ok(m) = Manifest::parse(&bytes) else {
            continue;
        };
        let order = m.load_order();
        if let Some(pos) = order.iter().position(|x| x.name == name) {
            return Some((e.path(), pos + 1 == order.len()));
        }
    }
    None
}

/// Reads and parses a manifest; the findings the server accepts go to `notes`.
fn check_manifest(path: &Path) -> Result<(ManifestReport, Option<Manifest>), Error> {
    let bytes = super::input::read_small(path)?;
    let mut mr = ManifestReport {
        path: path.to_path_buf(),
        size: bytes.len() as u64,
        manifest: None,
        error: None,
        notes: Vec::new(),
    };
    match Manifest::parse(&bytes) {
        Err(e) => {
            mr.error = Some(e);
            Ok((mr, None))
        }
        Ok(m) => {
            manifest_notes(path, &m, &mut mr.notes);
            mr.manifest = Some(m.clone());
            Ok((mr, Some(m)))
        }
    }
}

/// What the server accepts in a manifest but an operator should know.
fn manifest_notes(path: &Path, m: &Manifest, notes: &mut Vec<Finding>) {
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    if m.base().is_none() && m.incrs().next().is_none() {
        notes.push(Finding::warning(
            "manifest-nothing-to-load",
            None,
            None,
            "the manifest lists no BASE and no INCR file: the server starts with an empty dataset and writes a new BASE and manifest".into(),
        ));
    }
    if let Some(b) = m.base() {
        if m.entries.first().is_some_and(|e| e.kind != EntryKind::Base) {
            notes.push(Finding::warning(
                "manifest-base-not-first",
                None,
                Some(b.line as u64),
                "the BASE line is not the first entry (the server accepts this and loads the BASE first anyway)".into(),
            ));
        }
    }
    if let Some(e) = m.entries.iter().find(|e| e.non_lowercase_keys) {
        notes.push(Finding::warning(
            "manifest-key-case",
            None,
            Some(e.line as u64),
            "manifest keys are not all lower-case: the server accepts them, but redis-check-aof then takes the manifest for an AOF (and its --fix would truncate the manifest to 0 bytes)".into(),
        ));
    }
    let mut seen: BTreeMap<&[u8], usize> = BTreeMap::new();
    for e in &m.entries {
        if let Some(first) = seen.insert(&e.name, e.line) {
            notes.push(Finding::warning(
                "manifest-duplicate-file",
                None,
                Some(e.line as u64),
                format!(
                    "'{}' is listed twice (lines {first} and {})",
                    super::escape_for_message(&e.name),
                    e.line
                ),
            ));
        }
    }
    for e in m.history() {
        let p = dir.join(super::input::name_to_path(&e.name));
        if !p.exists() {
            notes.push(Finding::warning(
                "manifest-history-missing",
                None,
                Some(e.line as u64),
                format!(
                    "history file '{}' is not on disk (harmless: history files are never loaded and are deleted by the server)",
                    super::escape_for_message(&e.name)
                ),
            ));
        }
    }
    // Extra files: AOF parts named after this manifest's prefix but not listed.
    if let Some(prefix) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".manifest"))
    {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            let listed: Vec<&[u8]> = m.entries.iter().map(|e| e.name.as_slice()).collect();
            let mut extra: Vec<String> = rd
                .filter_map(Result::ok)
                .filter_map(|d| d.file_name().into_string().ok())
                .filter(|n| {
                    n.strip_prefix(prefix)
                        .and_then(|r| r.strip_prefix('.'))
                        .is_some_and(|r| {
                            let mut parts = r.splitn(2, '.');
                            let seq_ok = parts.next().is_some_and(|s| {
                                !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
                            });
                            seq_ok
                                && matches!(
                                    parts.next(),
                                    Some("base.rdb" | "base.aof" | "incr.aof")
                                )
                        })
                })
                .filter(|n| !listed.contains(&n.as_bytes()))
                .collect();
            extra.sort();
            for n in extra {
                notes.push(Finding::warning(
                    "manifest-extra-file",
                    None,
                    None,
                    format!(
                        "'{n}' is in the directory but not in the manifest: the server ignores it"
                    ),
                ));
            }
        }
    }
}

/// Checks one file.
#[allow(clippy::too_many_arguments)]
pub fn check_file(
    path: &Path,
    name: Vec<u8>,
    kind: FileKind,
    entry: Option<&Entry>,
    last: bool,
    line: u64,
    truncate_to_timestamp: Option<i64>,
    progress: Option<Box<dyn Progress>>,
) -> Result<FileReport, Error> {
    let mut fr = FileReport {
        path: path.to_path_buf(),
        name,
        kind,
        seq: entry.map(|e| e.seq),
        manifest_line: entry.map(|e| e.line),
        last,
        open_error: None,
        size: 0,
        identity: None,
        rdb: None,
        resp: None,
        loader: None,
    };
    let stdin = path.as_os_str() == "-";
    let input: Box<dyn Read> = if stdin {
        Box::new(std::io::stdin().lock())
    } else {
        match File::open(path) {
            Ok(f) => {
                fr.identity = f
                    .metadata()
                    .ok()
                    .map(|m| super::repair::Identity::from_metadata(&m));
                Box::new(f)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fr.open_error = Some(format!("{}: {e}", path.display()));
                return Ok(fr);
            }
            Err(e) => return Err(Error::from(e).in_file(path)),
        }
    };
    let mut src = Source::with_capacity(input, 1 << 20);
    if let Some(p) = progress {
        src.set_progress(p);
    }
    let rdb_magic = detect_rdb_preamble(&mut src).map_err(|e| source_error(e, path))?;
    if let Some(magic) = rdb_magic {
        let (s, report) = check_rdb(src);
        src = s;
        let ok = report.is_ok();
        let unsupported = report.is_unsupported();
        fr.rdb = Some(RdbPart { magic, report });
        if !ok {
            fr.size = file_size(path, src.offset());
            // A newer server's RDB part: what that server does is unknown here.
            fr.loader = (!unsupported).then_some(LoaderReport {
                outcome: loader::Outcome::RdbPreamble,
                commands: 0,
            });
            return Ok(fr);
        }
    }
    let mut ck = RespChecker::new(Scanner::new(src, line), truncate_to_timestamp);
    ck.endless = stdin || std::fs::metadata(path).is_ok_and(|m| !m.is_file());
    ck.run().map_err(|e| source_error(e, path))?;
    let end = ck.sc.src.offset();
    let resp = ck.finish();
    let flagged = resp.stop.is_some()
        || resp.empty_commands.is_some()
        || !resp.unknown_commands.is_empty()
        || !resp.wrong_arity.is_empty();
    if flagged && !stdin {
        // A second pass with the server's grammar, from the RESP part (not
        // possible on standard input, which cannot be read twice).
        let file = File::open(path).map_err(|e| Error::from(e).in_file(path))?;
        let mut src = Source::new(file);
        src.skip(resp.start).map_err(|e| source_error(e, path))?;
        fr.loader = Some(loader::simulate(src).map_err(|e| source_error(e, path))?);
    }
    fr.resp = Some(resp);
    fr.size = end;
    Ok(fr)
}

fn file_size(path: &Path, at_least: u64) -> u64 {
    if path.as_os_str() == "-" {
        return at_least;
    }
    std::fs::metadata(path).map_or(at_least, |m| m.len().max(at_least))
}

fn source_error(e: SourceError, path: &Path) -> Error {
    match e {
        SourceError::Io(e) => Error::from(e).in_file(path),
        SourceError::Eof { .. } => {
            Error::new(ErrorKind::Io(std::io::ErrorKind::UnexpectedEof.into())).in_file(path)
        }
    }
}

/// Checks the RESP records of an in-memory buffer (for tests and small inputs):
/// the same as [`check_file`]'s RESP part.
pub fn check_resp_bytes(data: &[u8], line: u64, truncate_to_timestamp: Option<i64>) -> RespReport {
    let mut ck = RespChecker::new(Scanner::new(Source::new(data), line), truncate_to_timestamp);
    ck.run().expect("reading from memory cannot fail");
    ck.finish()
}

/// Captures the first two arguments (up to 64 bytes each) in the slow path.
struct NameSink {
    arg0: [u8; 64],
    arg0_len: usize,
    arg0_whole: bool,
    arg1: [u8; 64],
    arg1_len: usize,
    arg1_whole: bool,
}

impl Default for NameSink {
    fn default() -> Self {
        Self {
            arg0: [0; 64],
            arg0_len: 0,
            arg0_whole: false,
            arg1: [0; 64],
            arg1_len: 0,
            arg1_whole: false,
        }
    }
}

impl ArgSink for NameSink {
    fn target(&mut self, _index: u64) -> Option<&mut Vec<u8>> {
        None
    }
    fn inspect(&mut self, index: u64, data: &[u8]) {
        let n = data.len().min(64);
        match index {
            0 => {
                self.arg0[..n].copy_from_slice(&data[..n]);
                self.arg0_len = n;
                self.arg0_whole = data.len() <= 64;
            }
            1 => {
                self.arg1[..n].copy_from_slice(&data[..n]);
                self.arg1_len = n;
                self.arg1_whole = data.len() <= 64;
            }
            _ => {}
        }
    }
}

/// Per-file statistics and name checks, shared by the fast and slow paths.
#[derive(Default)]
struct Stats {
    cache: commands::Cache,
    unknown: Vec<NameFinding>,
    arity: Vec<NameFinding>,
    empty: Option<Seen>,
}

impl Stats {
    #[inline]
    fn note(
        &mut self,
        arg0: Option<&[u8]>,
        arg1: Option<&[u8]>,
        argc: i64,
        offset: u64,
        line: u64,
    ) {
        if argc < 1 {
            let e = self.empty.get_or_insert(Seen {
                count: 0,
                first_offset: offset,
                first_line: line,
            });
            e.count += 1;
            return;
        }
        let Some(name) = arg0 else {
            // A name longer than the buffer: certainly unknown.
            Self::add(
                &mut self.unknown,
                b"<very long name>".to_vec(),
                None,
                argc as u64,
                offset,
                line,
            );
            return;
        };
        match self.cache.check(name, arg1, argc as u64) {
            Verdict::Ok => {}
            Verdict::Unknown(n) => Self::add(&mut self.unknown, n, None, argc as u64, offset, line),
            Verdict::Arity { name, arity } => {
                Self::add(
                    &mut self.arity,
                    name,
                    Some(arity),
                    argc as u64,
                    offset,
                    line,
                );
            }
        }
    }

    fn add(
        list: &mut Vec<NameFinding>,
        name: Vec<u8>,
        arity: Option<i32>,
        argc: u64,
        offset: u64,
        line: u64,
    ) {
        if let Some(f) = list.iter_mut().find(|f| f.name == name) {
            f.seen.count += 1;
            return;
        }
        if list.len() < MAX_NAMES {
            list.push(NameFinding {
                name,
                arity,
                seen: Seen {
                    count: 1,
                    first_offset: offset,
                    first_line: line,
                },
                first_argc: argc,
            });
        }
    }
}

/// The record loop of `checkSingleAof`.
struct RespChecker<R> {
    sc: Scanner<R>,
    /// `multi` of the C code: 0, or 1 while a MULTI is open.
    multi: i32,
    /// `pos`: start of the current record, not updated while a MULTI is open.
    pos: u64,
    start: u64,
    commands: u64,
    /// `commands` when `pos` was last set: the complete commands after it are
    /// the ones a cut at `pos` drops. `pos` stays put only inside a
    /// transaction, so commands after it mean a MULTI was read since (it may
    /// have been closed by the EXEC of a record that then broke:
    /// `redis-check-aof` counts the EXEC when it reads the first argument).
    commands_at_pos: u64,
    multi_blocks: u64,
    annotations: u64,
    timestamps: Option<(i64, i64)>,
    truncate_to: Option<i64>,
    ts_cut: Option<TimestampCut>,
    commands_at_ts_cut: u64,
    stats: Stats,
    stop: Option<Stop>,
    after_damage: Option<AfterDamage>,
    /// The input may never end (standard input, a device): an input that
    /// cannot be an AOF is not read past its first byte (no resync).
    endless: bool,
}

/// Refill the buffer when fewer bytes than this are buffered, so that the fast path
/// sees whole records.
const REFILL_BELOW: usize = 64 * 1024;

impl<R: Input> RespChecker<R> {
    fn new(sc: Scanner<R>, truncate_to: Option<i64>) -> Self {
        let start = sc.src.offset();
        Self {
            sc,
            multi: 0,
            pos: start,
            start,
            commands: 0,
            commands_at_pos: 0,
            multi_blocks: 0,
            annotations: 0,
            timestamps: None,
            truncate_to,
            ts_cut: None,
            commands_at_ts_cut: 0,
            stats: Stats::default(),
            stop: None,
            after_damage: None,
            endless: false,
        }
    }

    fn stop_at(&mut self, kind: Inconsistency, offset: u64) {
        self.stop = Some(Stop {
            kind,
            offset,
            line: self.sc.line,
        });
    }

    fn run(&mut self) -> Result<(), SourceError> {
        loop {
            if self.multi == 0 {
                self.pos = self.sc.src.offset();
                self.commands_at_pos = self.commands;
            }
            if self.sc.src.buffered().len() < REFILL_BELOW {
                self.sc.src.fill_buf(REFILL_BELOW)?;
            }
            let buf = self.sc.src.buffered();
            let Some(&first) = buf.first() else {
                // End of input at a record boundary.
                if self.multi != 0 {
                    let epos = self.sc.epos;
                    self.stop_at(Inconsistency::EofInMulti, epos);
                }
                return Ok(());
            };
            match first {
                b'*' => {
                    if !self.fast_record() && !self.slow_record()? {
                        break;
                    }
                }
                b'#' => {
                    if !self.annotation()? {
                        return Ok(());
                    }
                }
                byte => {
                    let at = self.sc.src.offset();
                    self.stop_at(Inconsistency::FormatError { byte }, at);
                    if at == 0 && self.endless {
                        // A stream that starts with neither a record nor an
                        // RDB magic is not an AOF: no resync, which would read
                        // an endless one (`/dev/zero`, a pipe) forever. (A
                        // regular file is read to its end, to count what a
                        // cut would lose.)
                        return Ok(());
                    }
                    break;
                }
            }
        }
        self.resync()
    }

    /// The fast path: a canonical record entirely in the buffer, with no MULTI/EXEC
    /// error. Returns false (having consumed nothing) otherwise.
    #[inline]
    fn fast_record(&mut self) -> bool {
        let Self {
            sc,
            stats,
            multi,
            commands,
            multi_blocks,
            ..
        } = self;
        let offset = sc.src.offset();
        let buf = sc.src.buffered();
        let Some(r) = fast_record(buf) else {
            return false;
        };
        let (arg0, arg1) = (&buf[r.arg0.0..r.arg0.1], &buf[r.arg1.0..r.arg1.1]);
        if r.argc > 0 {
            if is_multi(arg0) {
                if *multi != 0 {
                    return false;
                }
                *multi = 1;
            } else if is_exec(arg0) {
                if *multi != 1 {
                    return false;
                }
                *multi = 0;
                *multi_blocks += 1;
            }
        }
        let line = sc.line;
        stats.note(
            (r.argc > 0).then_some(arg0),
            (r.argc > 1).then_some(arg1),
            r.argc as i64,
            offset,
            line,
        );
        *commands += 1;
        sc.line += r.lines;
        // The offset of the last read, as the slow path would leave it: the
        // last payload, or the header line of an empty array.
        sc.epos = offset + if r.argc == 0 { 0 } else { r.last_data as u64 };
        sc.src.consume(r.len);
        true
    }

    /// The exact path, for everything else. Returns false when the grammar stopped.
    fn slow_record(&mut self) -> Result<bool, SourceError> {
        let offset = self.sc.src.offset();
        let line = self.sc.line;
        let argc = match self.sc.read_header(b'*')? {
            Header::Value(v) => v,
            Header::Eof => unreachable!("a '*' is buffered"),
            Header::Bad(k) => {
                let e = self.sc.epos;
                self.stop_at(k, e);
                return Ok(false);
            }
        };
        let mut sink = NameSink::default();
        // An EXEC closes the MULTI at its first argument (as in
        // `redis-check-aof`), but the block is complete only with the record.
        let mut closes_block = false;
        let mut i: u64 = 0;
        while i128::from(i) < i128::from(argc) {
            match self.sc.read_string(i, &mut sink)? {
                StringOutcome::Ok { head, head_len, .. } => {
                    if i == 0 {
                        let head = &head[..head_len];
                        if is_multi(head) {
                            if self.multi != 0 {
                                let e = self.sc.epos;
                                self.stop_at(Inconsistency::UnexpectedMulti, e);
                                return Ok(false);
                            }
                            self.multi = 1;
                        } else if is_exec(head) {
                            if self.multi != 1 {
                                let e = self.sc.epos;
                                self.stop_at(Inconsistency::UnexpectedExec, e);
                                return Ok(false);
                            }
                            self.multi = 0;
                            closes_block = true;
                        }
                    }
                }
                StringOutcome::Bad(k) => {
                    let e = self.sc.epos;
                    let k = if k == Inconsistency::Truncated && self.multi != 0 {
                        Inconsistency::EofInMulti
                    } else {
                        k
                    };
                    self.stop_at(k, e);
                    return Ok(false);
                }
            }
            i += 1;
        }
        let arg0 = (argc >= 1 && sink.arg0_whole).then(|| &sink.arg0[..sink.arg0_len]);
        let arg1 = (argc >= 2 && sink.arg1_whole).then(|| &sink.arg1[..sink.arg1_len]);
        // A first argument longer than 64 bytes is not a known command name.
        let arg0 = if argc >= 1 && !sink.arg0_whole {
            Some(&b"<long name>"[..])
        } else {
            arg0
        };
        self.stats.note(arg0, arg1, argc, offset, line);
        self.commands += 1;
        if closes_block {
            self.multi_blocks += 1;
        }
        Ok(true)
    }

    /// `processAnnotations`. Returns false when checking must end (an invalid
    /// `#TS:` in timestamp mode, as `redis-check-aof` exits there).
    fn annotation(&mut self) -> Result<bool, SourceError> {
        let offset = self.sc.src.offset();
        let ts = self.sc.read_annotation(parse_ts_annotation)?;
        self.annotations += 1;
        match ts {
            Some(Ok(t)) => {
                self.timestamps = Some(match self.timestamps {
                    None => (t, t),
                    Some((a, _)) => (a, t),
                });
                if let Some(limit) = self.truncate_to {
                    if self.ts_cut.is_none() && t > limit && self.stop.is_none() {
                        self.ts_cut = Some(TimestampCut::At {
                            offset,
                            timestamp: t,
                            commands_after: 0,
                        });
                        self.commands_at_ts_cut = self.commands;
                    }
                }
            }
            Some(Err(())) if self.truncate_to.is_some() && self.ts_cut.is_none() => {
                self.ts_cut = Some(TimestampCut::Invalid { offset });
                return Ok(false);
            }
            Some(Err(())) | None => {}
        }
        Ok(true)
    }

    /// After a stop in the middle of the data: counts the complete records that
    /// still follow (resynchronising on line starts).
    fn resync(&mut self) -> Result<(), SourceError> {
        let src = &mut self.sc.src;
        let mut found = 0u64;
        let mut first = None;
        let mut at_line_start = true;
        loop {
            let buf = src.fill_buf(REFILL_BELOW)?;
            if buf.is_empty() {
                break;
            }
            let cand = buf.iter().enumerate().position(|(i, &b)| {
                b == b'*'
                    && if i == 0 {
                        at_line_start
                    } else {
                        buf[i - 1] == b'\n'
                    }
            });
            let Some(i) = cand else {
                at_line_start = buf.last() == Some(&b'\n');
                let n = buf.len();
                src.consume(n);
                continue;
            };
            src.consume(i);
            let off = src.offset();
            let buf = src.fill_buf(REFILL_BELOW)?;
            match fast_record(buf) {
                Some(r) if r.argc >= 1 => {
                    found += 1;
                    first.get_or_insert(off);
                    src.consume(r.len);
                    at_line_start = true;
                }
                _ => {
                    src.consume(1);
                    at_line_start = false;
                }
            }
        }
        if let Some(first_offset) = first {
            self.after_damage = Some(AfterDamage {
                first_offset,
                commands: found,
            });
        }
        Ok(())
    }

    fn finish(self) -> RespReport {
        let cut_commands = if self.stop.is_some() {
            self.commands - self.commands_at_pos
        } else {
            0
        };
        // In a transaction: its MULTI is open, or it was read (a complete
        // command after `pos`) and its EXEC record broke.
        let stop_in_multi = self.stop.is_some() && (self.multi != 0 || cut_commands > 0);
        let valid_up_to = if self.stop.is_some() {
            self.pos
        } else {
            self.sc.src.offset()
        };
        let timestamp_cut = match self.ts_cut {
            Some(TimestampCut::At {
                offset, timestamp, ..
            }) => Some(TimestampCut::At {
                offset,
                timestamp,
                commands_after: self.commands - self.commands_at_ts_cut
                    + self.after_damage.as_ref().map_or(0, |a| a.commands),
            }),
            other => other,
        };
        RespReport {
            start: self.start,
            valid_up_to,
            line: self.sc.line,
            stop: self.stop,
            stop_in_multi,
            commands: self.commands,
            multi_blocks: self.multi_blocks,
            annotations: self.annotations,
            timestamps: self.timestamps,
            cut_commands,
            after_damage: self.after_damage,
            empty_commands: self.stats.empty,
            unknown_commands: self.stats.unknown,
            wrong_arity: self.stats.arity,
            timestamp_cut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(args: &[&str]) -> Vec<u8> {
        let mut v = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            v.extend(format!("${}\r\n{a}\r\n", a.len()).bytes());
        }
        v
    }

    fn check(data: &[u8]) -> RespReport {
        let a = check_resp_bytes(data, 1, None);
        // The same through a 1-byte-at-a-time reader with a tiny buffer (slow path
        // everywhere) must agree.
        struct OneByte<'a>(&'a [u8]);
        impl crate::io::Input for OneByte<'_> {}
        impl std::io::Read for OneByte<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() || out.is_empty() {
                    return Ok(0);
                }
                out[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let mut ck = RespChecker::new(
            Scanner::new(Source::with_capacity(OneByte(data), 16), 1),
            None,
        );
        ck.run().unwrap();
        let b = ck.finish();
        assert_eq!(a, b, "fast and slow paths disagree");
        a
    }

    #[test]
    fn upstream_c1_c2() {
        // C1: R(set foo hello) + R(set bar world) minus its last byte.
        let mut d = r(&["set", "foo", "hello"]);
        let mut second = r(&["set", "bar", "world"]);
        second.pop();
        d.extend(&second);
        let rep = check(&d);
        assert_eq!(rep.valid_up_to, 33);
        assert_eq!(rep.line, 14);
        let s = rep.stop.unwrap();
        assert_eq!(s.offset, 0x3b);
        assert_eq!(
            s.kind,
            Inconsistency::ShortPayload {
                expected: 7,
                got: 6
            }
        );
        // C2: R(set foo hello) + "!!!".
        let mut d = r(&["set", "foo", "hello"]);
        d.extend(b"!!!");
        let rep = check(&d);
        assert_eq!((rep.valid_up_to, rep.line), (33, 8));
        assert_eq!(
            rep.stop.unwrap().kind,
            Inconsistency::FormatError { byte: b'!' }
        );
    }

    #[test]
    fn multi_rules() {
        let mut d = r(&["set", "foo", "hello"]);
        d.extend(r(&["multi"]));
        d.extend(r(&["set", "bar", "world"]));
        let rep = check(&d);
        assert_eq!((rep.valid_up_to, rep.line), (33, 18));
        let s = rep.stop.clone().unwrap();
        assert_eq!((s.kind, s.offset), (Inconsistency::EofInMulti, 0x4a));
        assert_eq!(rep.cut_commands, 2);
        // Nested MULTI at offset 0 → cut everything.
        let mut d = r(&["multi"]);
        d.extend(r(&["set", "a", "1"]));
        d.extend(r(&["multi"]));
        d.extend(r(&["exec"]));
        let rep = check(&d);
        assert_eq!(rep.valid_up_to, 0);
        assert_eq!(rep.stop.unwrap().kind, Inconsistency::UnexpectedMulti);
        // A complete block.
        let mut d = r(&["multi"]);
        d.extend(r(&["set", "a", "1"]));
        d.extend(r(&["EXEC"]));
        let rep = check(&d);
        assert!(rep.stop.is_none());
        assert_eq!((rep.multi_blocks, rep.commands), (1, 3));
    }

    /// Found by `fuzz/fuzz_targets/aof_read.rs`: an EXEC record whose argument
    /// count promises more than it has. `redis-check-aof` closes the MULTI on
    /// the first argument and then stops, its `pos` still at the MULTI, so the
    /// cut drops the whole transaction: the report must count its commands and
    /// say the stop is in it.
    #[test]
    fn a_broken_exec_record_cuts_its_transaction() {
        let mut d = r(&["set", "a", "1"]);
        let multi_at = d.len() as u64;
        d.extend(r(&["multi"]));
        d.extend(r(&["set", "b", "2"]));
        d.extend(r(&["set", "c", "3"]));
        let exec_at = d.len() as u64;
        d.extend(b"*2\r\n$4\r\nEXEC\r\n");
        d.extend(r(&["set", "d", "4"]));
        let rep = check(&d);
        assert_eq!(rep.valid_up_to, multi_at);
        let s = rep.stop.clone().unwrap();
        assert_eq!(s.offset, exec_at + 14, "{s:?}");
        assert!(rep.stop_in_multi);
        assert_eq!((rep.commands, rep.cut_commands), (4, 3));
        assert_eq!(rep.multi_blocks, 0, "the block never completed");
        let again = check(&d[..multi_at as usize]);
        assert!(again.stop.is_none());
        assert_eq!(again.commands + rep.cut_commands, rep.commands);
    }

    #[test]
    fn empty_arrays_and_names() {
        let mut d = r(&["set", "a", "1"]);
        d.extend(b"*0\r\n*-1\r\n");
        d.extend(r(&["bla", "x"]));
        d.extend(r(&["set", "x"]));
        let rep = check(&d);
        assert!(rep.stop.is_none());
        assert_eq!(rep.empty_commands.as_ref().unwrap().count, 2);
        assert_eq!(rep.unknown_commands[0].name, b"bla");
        assert_eq!(rep.wrong_arity[0].name, b"set");
        assert_eq!(rep.commands, 5);
    }

    #[test]
    fn damage_in_the_middle_is_followed_by_commands() {
        let mut d = r(&["set", "a", "1"]);
        d.extend(b"*3abc\r\n");
        d.extend(r(&["set", "b", "2"]));
        d.extend(r(&["set", "c", "3"]));
        let rep = check(&d);
        assert_eq!(rep.valid_up_to, 27);
        assert_eq!(rep.after_damage.unwrap().commands, 2);
    }

    /// Random damage to a varied AOF: the fast path (whole records in a big
    /// buffer) and the exact path (1-byte reads, 16-byte buffer) agree on every
    /// field, nothing panics, and the cut point is a record boundary of the
    /// original before the damage.
    #[test]
    fn fast_and_exact_paths_agree_on_random_damage() {
        let mut base = b"#TS:1\r\n".to_vec();
        base.extend(r(&["set", "k", "v\r\nw"]));
        base.extend(r(&["multi"]));
        base.extend(r(&["rpush", "l", "a", "", "c"]));
        base.extend(r(&["exec"]));
        base.extend(b"*2\r\n$4\r\nping\r\n$0\r\n\r\n");
        base.extend(r(&["select", "3"]));
        let big = "x".repeat(300);
        base.extend(r(&["set", "big", &big]));
        base.extend(r(&["MULTI"]));
        base.extend(r(&["incr", "c"]));
        base.extend(r(&["EXEC"]));
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let bytes = b"*$#\r\n0123456789-+ x\x00\xffabc";
        for _ in 0..3000 {
            let mut d = base.clone();
            for _ in 0..=(rnd() % 3) {
                let at = (rnd() % d.len() as u64) as usize;
                match rnd() % 4 {
                    0 => d.truncate(at),
                    1 => d[at] = bytes[(rnd() % bytes.len() as u64) as usize],
                    2 => d.insert(at, bytes[(rnd() % bytes.len() as u64) as usize]),
                    _ => {
                        d.remove(at);
                    }
                }
                if d.is_empty() {
                    break;
                }
            }
            let rep = check(&d);
            assert!(rep.valid_up_to <= d.len() as u64);
            if rep.stop.is_none() {
                assert_eq!(rep.valid_up_to, d.len() as u64);
            } else {
                // The cut leaves a prefix the checker accepts.
                let again = check(&d[..rep.valid_up_to as usize]);
                assert!(again.stop.is_none(), "{d:?} cut at {}", rep.valid_up_to);
            }
        }
    }

    #[test]
    fn timestamps() {
        let mut d = b"#TS:100\r\n".to_vec();
        d.extend(r(&["set", "a", "1"]));
        d.extend(b"#TS:200\r\n");
        d.extend(r(&["set", "b", "2"]));
        let rep = check_resp_bytes(&d, 1, Some(150));
        assert_eq!(
            rep.timestamp_cut,
            Some(TimestampCut::At {
                offset: 36,
                timestamp: 200,
                commands_after: 1
            })
        );
        assert_eq!(rep.timestamps, Some((100, 200)));
        let rep = check_resp_bytes(b"#TS:abc\r\n", 1, Some(1));
        assert_eq!(rep.timestamp_cut, Some(TimestampCut::Invalid { offset: 0 }));
    }
}
