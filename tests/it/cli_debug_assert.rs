//! Sanity checks of the command-line definition.

use crate::common;

#[test]
fn help_lists_every_subcommand() {
    let out = common::run(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in [
        "check-rdb",
        "check-aof",
        "dump",
        "stats",
        "convert-aof-to-hybrid",
    ] {
        assert!(text.contains(sub), "--help does not list {sub}");
    }
    assert!(
        !text.contains("generate"),
        "the generate subcommand must stay hidden"
    );
}
