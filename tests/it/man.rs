//! The committed man pages (issue 18): one per public subcommand plus the
//! main page, each with the exit codes and an EXAMPLES section of on-call
//! recipes, no reference to a page that does not exist (`redis-persist-help(1)`
//! was one), and exactly what the binary generates now.

use crate::common;

use std::collections::BTreeMap;

fn pages(dir: &std::path::Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect()
}

/// The text of a roff page without its escapes (`\-` is `-`).
fn plain(roff: &str) -> String {
    roff.replace("\\-", "-").replace("\\e", "\\")
}

#[test]
fn committed_pages_are_generated() {
    let tmp = tempfile::tempdir().unwrap();
    common::generate_into(tmp.path());
    let want = pages(&tmp.path().join("man"));
    let have = pages(&common::root().join("man"));
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        have.keys().collect::<Vec<_>>()
    );
    for (name, text) in &want {
        assert!(
            have[name] == *text,
            "man/{name} differs from `redis-persist generate` (UPDATE_GENERATED=1 cargo test --test generated)"
        );
    }
}

#[test]
fn every_page_has_exit_codes_and_examples_and_real_references() {
    let dir = common::root().join("man");
    let pages = pages(&dir);
    // The main page and one per public subcommand.
    let help = common::run(&["--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    for sub in [
        "check-rdb",
        "check-aof",
        "dump",
        "stats",
        "convert-aof-to-hybrid",
        "salvage",
    ] {
        assert!(help.contains(sub));
        assert!(
            pages.contains_key(&format!("redis-persist-{sub}.1")),
            "no page for {sub}"
        );
    }
    assert!(pages.contains_key("redis-persist.1"));
    let reference = regex::Regex::new(r"(redis-persist(?:-[a-z0-9-]+)?)\(1\)").unwrap();
    for (name, roff) in &pages {
        let text = plain(roff);
        assert!(
            text.contains(".SH \"EXIT STATUS\""),
            "{name}: no EXIT STATUS"
        );
        for code in ["0", "1", "2", "3"] {
            assert!(
                text.contains(&format!(".TP\n{code}\n")),
                "{name}: exit code {code} missing"
            );
        }
        let examples = text
            .split(".SH EXAMPLES\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{name}: no EXAMPLES"));
        let examples = examples.split(".SH ").next().unwrap();
        // Every example command is a real invocation of a public subcommand.
        let commands: Vec<&str> = examples
            .lines()
            .filter(|l| l.starts_with("redis-persist "))
            .collect();
        assert!(!commands.is_empty(), "{name}: no example command");
        for c in &commands {
            let sub = c.split_whitespace().nth(1).unwrap();
            assert!(
                pages.contains_key(&format!("redis-persist-{sub}.1")),
                "{name}: example of an unknown subcommand: {c}"
            );
        }
        for cap in reference.captures_iter(&text) {
            let page = format!("{}.1", &cap[1]);
            assert!(
                pages.contains_key(&page),
                "{name} refers to {page}, which does not exist"
            );
        }
        assert!(
            !text.contains("generate"),
            "{name} mentions the hidden generate"
        );
    }
    // The main page holds the on-call recipes.
    let main = plain(&pages["redis-persist.1"]);
    for recipe in [
        "check-rdb",
        "check-aof --fix --backup-dir",
        "salvage",
        "--format resp",
        "stats --top",
    ] {
        assert!(main.contains(recipe), "main page: no recipe with {recipe}");
    }
}

/// Every example flag exists: each example runs `--help` cleanly when its
/// input and output are left out (a typo in a flag would be a usage error).
#[test]
fn example_flags_exist() {
    let dir = common::root().join("man");
    for (name, roff) in pages(&dir) {
        let text = plain(&roff);
        let examples = text.split(".SH EXAMPLES\n").nth(1).unwrap();
        let examples = examples.split(".SH ").next().unwrap();
        for line in examples.lines().filter(|l| l.starts_with("redis-persist ")) {
            // The command itself, without its pipe or redirection.
            let cmd = line.split(['|', '>']).next().unwrap();
            let mut args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
            args.push("--help");
            let out = common::run(&args);
            assert!(
                out.status.success(),
                "{name}: `{cmd}`: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
