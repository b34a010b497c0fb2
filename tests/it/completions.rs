//! The committed shell completions work (issue 18): each shell sources the
//! script in `completions/` and completes real command lines, the hidden
//! `generate` subcommand is never offered, and the scripts are what the
//! binary generates now (`redis-persist generate`; `UPDATE_GENERATED=1 cargo
//! test --test generated` rewrites them).
//!
//! bash is required. zsh and fish are tested when installed (Debian's `zsh`
//! and `fish` packages; `.ci/run` installs them, and under `CI=true` a
//! missing shell fails the test).

#![allow(clippy::print_stderr)]

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn completions_dir() -> std::path::PathBuf {
    common::root().join("completions")
}

/// Whether `shell` can run here; under `CI=true` it must.
fn have(shell: &str) -> bool {
    let ok = Command::new(shell)
        .arg("-c")
        .arg("true")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{shell} is not installed (CI=true): apt-get install -y {shell}"
        );
        eprintln!("NOTICE: {shell} is not installed: its completions are not tested");
    }
    ok
}

/// The words bash completes for `words` (the last one being completed).
fn bash(words: &[&str]) -> BTreeSet<String> {
    let script = format!(
        r#"source "{}/redis-persist.bash"
COMP_WORDS=({})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
COMPREPLY=()
_redis__persist redis-persist "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        completions_dir().display(),
        words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    run("bash", &["--norc", "--noprofile", "-c", &script])
}

/// The words fish completes for `line`.
fn fish(line: &str) -> BTreeSet<String> {
    let script = format!(
        "source '{}/redis-persist.fish'; complete -C '{line}'",
        completions_dir().display()
    );
    run("fish", &["--no-config", "-c", &script])
        .into_iter()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .collect()
}

/// The words zsh's completion system offers for `line` (typed into an
/// interactive zsh in a pseudo-terminal, then TAB; `compadd` records what
/// the completion function adds).
fn zsh(line: &str) -> BTreeSet<String> {
    let tmp = tempfile::tempdir().unwrap();
    let driver = tmp.path().join("complete.zsh");
    std::fs::write(&driver, ZSH_DRIVER).unwrap();
    let out = tmp.path().join("matches");
    run(
        "zsh",
        &[
            "-f",
            driver.to_str().unwrap(),
            completions_dir().to_str().unwrap(),
            line,
            out.to_str().unwrap(),
        ],
    )
}

const ZSH_DRIVER: &str = r#"zmodload zsh/zpty
local dir=$1 line=$2 out=$3
: > $out
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=($dir \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' menu no"
zpty -w z "compadd() { local -a __h; builtin compadd -O __h \"\$@\"; print -rl -- \$__h >> $out; builtin compadd \"\$@\"; }"
zpty -w z "bindkey '^I' complete-word"
zpty -w -n z "$line"$'\t'
local i
for i in {1..50}; do [[ -s $out ]] && break; sleep 0.1; done
sleep 0.5
zpty -d z
cat $out
"#;

fn run(shell: &str, args: &[&str]) -> BTreeSet<String> {
    let out = Command::new(shell).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{shell} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn set(words: &[&str]) -> BTreeSet<String> {
    words.iter().map(|&w| w.to_owned()).collect()
}

/// What every shell must offer: `dump --format` values, `check-rdb`'s flags,
/// the subcommands without `generate`.
fn check(shell: &str, complete: &dyn Fn(&[&str]) -> BTreeSet<String>) {
    let formats = complete(&["redis-persist", "dump", "--format", ""]);
    assert!(
        set(&["jsonl", "json", "resp"]).is_subset(&formats),
        "{shell}: dump --format offers {formats:?}"
    );
    let flags = complete(&["redis-persist", "check-rdb", "--"]);
    assert!(
        set(&["--json", "--threads", "--now", "--no-duplicate-check"]).is_subset(&flags),
        "{shell}: check-rdb -- offers {flags:?}"
    );
    assert!(
        !flags.contains("--fix"),
        "{shell}: check-aof's flag offered for check-rdb"
    );
    let subs = complete(&["redis-persist", ""]);
    assert!(
        set(&[
            "check-rdb",
            "check-aof",
            "dump",
            "stats",
            "convert-aof-to-hybrid",
            "salvage"
        ])
        .is_subset(&subs),
        "{shell}: subcommands offered: {subs:?}"
    );
    assert!(
        !subs.contains("generate"),
        "{shell} offers the hidden generate: {subs:?}"
    );
    let fix = complete(&["redis-persist", "check-aof", "--f"]);
    assert!(
        fix.contains("--fix"),
        "{shell}: check-aof --f offers {fix:?}"
    );
}

#[test]
fn bash_completes() {
    assert!(have("bash"), "bash is needed");
    check("bash", &|w| bash(w));
}

#[test]
fn fish_completes() {
    if have("fish") {
        check("fish", &|w| fish(&w.join(" ")));
    }
}

#[test]
fn zsh_completes() {
    if have("zsh") {
        check("zsh", &|w| zsh(&w.join(" ")));
    }
}

/// The committed scripts are what the binary generates now, and none of them
/// mentions `generate`.
#[test]
fn committed_scripts_are_generated() {
    let tmp = tempfile::tempdir().unwrap();
    common::generate_into(tmp.path());
    let dir = completions_dir();
    let mut names = Vec::new();
    for e in std::fs::read_dir(tmp.path().join("completions")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let want = std::fs::read(e.path()).unwrap();
        let have = std::fs::read(dir.join(&name)).unwrap_or_default();
        assert!(
            want == have,
            "completions/{name} differs from `redis-persist generate` (UPDATE_GENERATED=1 cargo test --release --test it generated::)"
        );
        assert!(
            !String::from_utf8_lossy(&want).contains("generate"),
            "completions/{name} offers the hidden generate"
        );
        names.push(name);
    }
    names.sort();
    assert_eq!(
        names,
        [
            "_redis-persist",
            "_redis-persist.ps1",
            "redis-persist.bash",
            "redis-persist.elv",
            "redis-persist.fish"
        ]
    );
    assert!(Path::new(&dir).is_dir());
}
