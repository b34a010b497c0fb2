//! What the server's AOF loader (Redis 7.x / Valkey 8.x `loadSingleAppendOnlyFile`,
//! FORMATS.md §5.2) does with a file, for the report: the loader and
//! `redis-check-aof` accept different languages (pitfall 18) and cut at different
//! places (pitfall 19), so "why won't my instance start, and what will it do with
//! `aof-load-truncated yes`" needs its own answer.
//!
//! The loader reads header lines with `fgets` into a 1024-byte buffer, takes the
//! count with `atoi` (junk after it ignored; `< 1` is a format error), requires
//! each argument line to start with `$`, reads `strtol` bytes of payload and skips
//! the next two bytes without looking at them. An unknown command is fatal. A
//! `MULTI` remembers the offset before it; every later command except `EXEC` is
//! queued (a nested `MULTI` too); `EXEC` without `MULTI` is only an error reply.
//! After each command the "valid" offset moves past it. At a clean end inside a
//! transaction the valid offset goes back to the `MULTI`. A short read anywhere
//! is a truncation: with `aof-load-truncated yes` (the default) the server cuts
//! the file to the valid offset and goes on — but refuses to start afterwards if
//! that file is not the last one. A negative argument length crashes it.
//!
//! Only used for files the checker found something wrong with (elsewhere the two
//! agree, except for the `*0` records and unknown commands the checker reports).

use crate::io::{Input, Source, SourceError};

use super::commands;
use super::resp::{ANNOTATION_LINE_MAX, c_str, memchr, strtol};

/// Why the loader stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Loads every command.
    Loads,
    /// Short read (or a clean end inside a MULTI): with `aof-load-truncated yes`
    /// the server truncates the file to `valid_up_to` and keeps what it loaded;
    /// with `no` it refuses to start ("Unexpected end of file").
    Truncates {
        /// The size the server cuts the file to.
        valid_up_to: u64,
        /// The cut reverts an unfinished MULTI (clean end inside a transaction).
        reverts_multi: bool,
        /// The cut leaves an unterminated MULTI in the file (a record cut short
        /// inside a transaction), which the next start reverts again.
        leaves_open_multi: bool,
    },
    /// "Bad file format reading the append only file": refuses to start.
    BadFormat {
        /// Offset of the offending line.
        offset: u64,
    },
    /// "Unknown command '…' reading the append only file": refuses to start.
    UnknownCommand {
        /// Offset of the record.
        offset: u64,
        /// The name (lower-case; `container|sub` for a subcommand).
        name: Vec<u8>,
    },
    /// A negative argument length: the server crashes while loading.
    Crashes {
        /// Offset of the `$` line.
        offset: u64,
    },
    /// A known command with a number of arguments its arity rejects (`SET a`,
    /// `GET`): redis-server 7.0 crashes while loading it (its loader calls the
    /// command without checking the arity), Valkey 8.1 / 9.1 refuse to start
    /// ("wrong number of arguments"), Redis 8.0 / 8.6 load it.
    WrongArity {
        /// Offset of the record.
        offset: u64,
        /// The name (lower-case; `container|sub` for a subcommand).
        name: Vec<u8>,
    },
    /// The RDB preamble cannot be loaded: "Error reading the RDB preamble of the
    /// AOF file" / "Error reading the RDB base file", whatever
    /// `aof-load-truncated` says.
    RdbPreamble,
}

impl LoaderReport {
    /// What the server does, in words; `last` tells whether the file is the last
    /// one of its set, `rdb_preamble` whether it has an RDB part.
    pub fn describe(&self, last: bool, rdb_preamble: bool) -> String {
        match &self.outcome {
            Outcome::Loads => "the server loads this file as it is (its loader does not check what is wrong here)".to_owned(),
            Outcome::Truncates { valid_up_to, reverts_multi, leaves_open_multi } => {
                let mut how = format!("cuts this file itself to {valid_up_to} bytes");
                if *reverts_multi {
                    how.push_str(" (reverting the unfinished MULTI)");
                }
                if *leaves_open_multi {
                    how.push_str(" (after the last complete queued command: the unfinished MULTI stays and is reverted again at the next start)");
                }
                if *valid_up_to == 0 && rdb_preamble {
                    how.push_str(", losing its RDB preamble");
                }
                if last {
                    format!("the server, with aof-load-truncated yes (the default), {how} and starts; with aof-load-truncated no it refuses to start")
                } else {
                    format!("the server, with aof-load-truncated yes (the default), {how} on disk and then refuses to start (\"the truncated file is not the last file\"); with no it refuses to start")
                }
            }
            Outcome::BadFormat { offset } => {
                format!("the server refuses to start: \"Bad file format\" (record at offset {offset})")
            }
            Outcome::UnknownCommand { offset, name } => format!(
                "the server refuses to start: \"Unknown command '{}'\" (offset {offset})",
                super::escape_for_message(name)
            ),
            Outcome::Crashes { offset } => {
                format!("the server crashes while loading it (negative argument length at offset {offset})")
            }
            Outcome::WrongArity { offset, name } => format!(
                "redis-server 7.0 crashes while loading it and Valkey 8.1 / 9.1 refuse to start (\"wrong number of arguments for '{}' command\", record at offset {offset}); Redis 8.0 / 8.6 load it",
                super::escape_for_message(name)
            ),
            Outcome::RdbPreamble => "the server refuses to start: it cannot load the RDB part, whatever aof-load-truncated says".to_owned(),
        }
    }
}

/// What the loader would do with one file's RESP part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoaderReport {
    /// The outcome.
    pub outcome: Outcome,
    /// Commands it executes (or queues) before stopping.
    pub commands: u64,
}

/// Simulates the loader on the RESP records of `src` (positioned after any RDB
/// preamble). Like the server, the valid offset starts at 0 — even after a
/// preamble, so a hybrid file whose first RESP record is cut short would be
/// truncated to 0 bytes by the server.
pub fn simulate<R: Input>(mut src: Source<R>) -> Result<LoaderReport, SourceError> {
    let mut valid_up_to: u64 = 0;
    let mut valid_before_multi: u64 = 0;
    let mut in_multi = false;
    let mut commands = 0u64;
    let mut arg0: Vec<u8> = Vec::new();
    let mut arg1: Vec<u8> = Vec::new();
    let truncated = |valid_up_to: u64, in_multi: bool, commands: u64| LoaderReport {
        outcome: Outcome::Truncates {
            valid_up_to,
            reverts_multi: false,
            leaves_open_multi: in_multi,
        },
        commands,
    };
    loop {
        let start = src.offset();
        let Some(line) = fgets(&mut src)? else { break };
        if line.first() == Some(&b'#') {
            continue;
        }
        if line.first() != Some(&b'*') {
            return Ok(LoaderReport {
                outcome: Outcome::BadFormat { offset: start },
                commands,
            });
        }
        // `buf[1] == '\0'`: a lone `*` at the end of the input (or a NUL).
        if line.get(1).is_none_or(|&b| b == 0) {
            if src.at_eof()? {
                return Ok(truncated(valid_up_to, in_multi, commands));
            }
            return Ok(LoaderReport {
                outcome: Outcome::BadFormat { offset: start },
                commands,
            });
        }
        // atoi: strtol truncated to int.
        let argc = strtol(c_str(&line[1..])).value as i32;
        if argc < 1 {
            return Ok(LoaderReport {
                outcome: Outcome::BadFormat { offset: start },
                commands,
            });
        }
        arg0.clear();
        arg1.clear();
        for j in 0..argc {
            let at = src.offset();
            let Some(l) = fgets(&mut src)? else {
                return Ok(truncated(valid_up_to, in_multi, commands));
            };
            if l.first() != Some(&b'$') {
                return Ok(LoaderReport {
                    outcome: Outcome::BadFormat { offset: at },
                    commands,
                });
            }
            let len = strtol(c_str(&l[1..])).value;
            if len < 0 {
                return Ok(LoaderReport {
                    outcome: Outcome::Crashes { offset: at },
                    commands,
                });
            }
            let len = len as u64;
            // Keep the first two arguments (command lookup), skip the rest.
            let keep = match j {
                0 => Some(&mut arg0),
                1 => Some(&mut arg1),
                _ => None,
            };
            let ok = match keep {
                Some(v) if len <= 4096 => src.read_into(len, v).is_ok(),
                _ => src.skip(len).is_ok(),
            };
            if !ok || src.skip(2).is_err() {
                return Ok(truncated(valid_up_to, in_multi, commands));
            }
        }
        let sub = (argc >= 2).then_some(arg1.as_slice());
        match commands::check(&arg0, sub, u64::try_from(argc).unwrap_or(0)) {
            commands::Verdict::Unknown(name) => {
                return Ok(LoaderReport {
                    outcome: Outcome::UnknownCommand {
                        offset: start,
                        name,
                    },
                    commands,
                });
            }
            commands::Verdict::Arity { name, .. } => {
                return Ok(LoaderReport {
                    outcome: Outcome::WrongArity {
                        offset: start,
                        name,
                    },
                    commands,
                });
            }
            commands::Verdict::Ok => {}
        }
        let lower = arg0.to_ascii_lowercase();
        if lower == b"multi" {
            valid_before_multi = valid_up_to;
            in_multi = true;
        } else if lower == b"exec" {
            in_multi = false;
        }
        commands += 1;
        valid_up_to = src.offset();
    }
    if in_multi {
        return Ok(LoaderReport {
            outcome: Outcome::Truncates {
                valid_up_to: valid_before_multi,
                reverts_multi: true,
                leaves_open_multi: false,
            },
            commands,
        });
    }
    Ok(LoaderReport {
        outcome: Outcome::Loads,
        commands,
    })
}

/// `fgets(buf, 1024)`: up to 1023 bytes through the first `\n`; `None` at end of
/// input.
fn fgets<R: Input>(src: &mut Source<R>) -> Result<Option<Vec<u8>>, SourceError> {
    let buf = src.fill_buf(ANNOTATION_LINE_MAX)?;
    if buf.is_empty() {
        return Ok(None);
    }
    let window = &buf[..buf.len().min(ANNOTATION_LINE_MAX)];
    let n = memchr(b'\n', window).map_or(window.len(), |i| i + 1);
    let line = window[..n].to_vec();
    src.consume(n);
    Ok(Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(data: &[u8]) -> Outcome {
        simulate(Source::new(data)).unwrap().outcome
    }

    fn r(args: &[&str]) -> Vec<u8> {
        let mut v = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            v.extend(format!("${}\r\n{a}\r\n", a.len()).bytes());
        }
        v
    }

    #[test]
    fn random_damage_never_panics() {
        let mut base = r(&["set", "a", "1"]);
        base.extend(r(&["multi"]));
        base.extend(b"#TS:5\r\n");
        base.extend(r(&["xgroup", "create", "s", "g", "$"]));
        base.extend(r(&["exec"]));
        let bytes = b"*$#\r\n0123456789-x\x00";
        let mut seed = 77u64;
        let mut rnd = move || crate::testutil::xorshift(&mut seed);
        for _ in 0..3000 {
            let mut d = base.clone();
            let at = (rnd() % d.len() as u64) as usize;
            if rnd() % 3 == 0 {
                d.truncate(at);
            } else {
                d[at] = bytes[(rnd() % bytes.len() as u64) as usize];
            }
            let rep = simulate(Source::new(&d[..])).unwrap();
            if let Outcome::Truncates { valid_up_to, .. } = rep.outcome {
                assert!(valid_up_to <= d.len() as u64);
            }
        }
    }

    #[test]
    fn outcomes() {
        let set = r(&["set", "a", "1"]);
        assert_eq!(sim(&set), Outcome::Loads);
        // Junk after the count and bytes other than CRLF after a payload: loads.
        assert_eq!(
            sim(b"*3abc\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1xx"),
            Outcome::Loads
        );
        assert_eq!(
            sim(&[&set[..], b"!!!"].concat()),
            Outcome::BadFormat { offset: 27 }
        );
        assert_eq!(sim(b"*0\r\n"), Outcome::BadFormat { offset: 0 });
        assert_eq!(sim(b"*1\r\n$-1\r\n"), Outcome::Crashes { offset: 4 });
        assert_eq!(
            sim(&r(&["bla", "x"])),
            Outcome::UnknownCommand {
                offset: 0,
                name: b"bla".to_vec()
            }
        );
        let mut d = set.clone();
        d.extend(r(&["multi"]));
        d.extend(r(&["set", "b", "2"]));
        assert_eq!(
            sim(&d),
            Outcome::Truncates {
                valid_up_to: 27,
                reverts_multi: true,
                leaves_open_multi: false
            }
        );
        d.extend(b"*3\r\n$3\r\nset");
        assert_eq!(
            sim(&d),
            Outcome::Truncates {
                valid_up_to: 69,
                reverts_multi: false,
                leaves_open_multi: true
            }
        );
        let mut t = set.clone();
        t.extend(b"#TS:1\r\n*2\r\n$3\r\n");
        assert_eq!(
            sim(&t),
            Outcome::Truncates {
                valid_up_to: 27,
                reverts_multi: false,
                leaves_open_multi: false
            }
        );
    }
}
