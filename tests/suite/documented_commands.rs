//! The commands the documentation shows run as written: the README's two commands, in the order
//! it gives them, then every example of every `--help`, in a fresh directory that holds the
//! repository's `examples/` (the examples are written to be run from the repository's root). A
//! help example that repeats a line already run there (the README's `prove` and `verify`) is not
//! run twice: its outcome would be the same.

use crate::common;

use common::scratch_dir;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_kerafold");

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A directory to run documented commands in: `examples/` of the repository, a private
/// parameter cache, nothing else.
fn workdir(tag: &str) -> common::Scratch {
    let dir = scratch_dir(tag);
    let link = dir.join("examples");
    if !link.exists() {
        std::os::unix::fs::symlink(repo().join("examples"), &link).unwrap();
    }
    dir
}

/// Runs one documented `kerafold …` line (no quoting in documented lines: split on spaces).
fn run_line(dir: &Path, line: &str) -> Output {
    assert!(
        !line.contains(['"', '\'', '$', '|', '>', '<']),
        "documented command needs a shell: {line}"
    );
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("kerafold"), "{line}");
    let out = Command::new(BIN)
        .args(words)
        .current_dir(dir)
        .env("KERAFOLD_PARAMS", dir.join("params"))
        .output()
        .expect("run kerafold");
    assert!(
        out.status.success(),
        "`{line}` failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The fenced `sh` blocks of the README's "Two commands" section.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Two commands"))
        .expect("README has a 'Two commands' section");
    section
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().trim().to_string())
        .collect()
}

/// The example lines (`  kerafold …` after an `Examples` heading) of a help text.
fn examples(help: &str) -> Vec<String> {
    let mut out = vec![];
    let mut inside = false;
    for line in help.lines() {
        if line.starts_with("Examples") {
            inside = true;
        } else if inside && line.trim_start().starts_with("kerafold ") {
            out.push(line.trim().to_string());
        } else if inside && !line.starts_with("  ") {
            inside = false;
        }
    }
    out
}

fn help(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// The names in the "Commands:" list of a help text (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.split("Commands:\n")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .take_while(|l| l.starts_with("  "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|c| *c != "help")
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
#[cfg_attr(debug_assertions, ignore = "proves for real: run with --release")]
fn the_readme_commands_and_every_help_example_run_as_written() {
    // 1. The README: the main job (through `cargo run --release --`, i.e. this binary), then the
    //    test command, which is exactly what CI runs.
    let blocks = readme_commands();
    assert_eq!(blocks.len(), 2, "two commands: {blocks:?}");
    let dir = workdir("documented");
    let mut done = std::collections::HashSet::new();
    let mut verified = false;
    for part in blocks[0].split("&&") {
        let line = part
            .trim()
            .strip_prefix("cargo run --release -- ")
            .unwrap_or_else(|| panic!("the main job runs the binary: {part}"));
        let line = format!("kerafold {line}");
        let out = run_line(&dir, &line);
        verified |= String::from_utf8_lossy(&out.stdout).contains("valid proof");
        done.insert(line);
    }
    assert!(verified, "the README's main job ends in a verified proof");
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == blocks[1]),
        ".ci/run runs the README's test command `{}`",
        blocks[1]
    );

    // 2. Every `--help` example, top level first, then each command's (and sub-command's).
    let top = help(&[]);
    let mut helps = vec![(vec![], top.clone())];
    for cmd in subcommands(&top) {
        let h = help(&[&cmd]);
        for sub in subcommands(&h) {
            helps.push((vec![cmd.clone(), sub.clone()], help(&[&cmd, &sub])));
        }
        helps.push((vec![cmd], h));
    }
    let mut ran = 0;
    for (cmd, text) in &helps {
        for line in examples(text) {
            eprintln!("{cmd:?}: {line}");
            if done.insert(line.clone()) {
                run_line(&dir, &line);
            }
            ran += 1;
        }
    }
    assert!(ran >= 9, "only {ran} help examples found");
}
