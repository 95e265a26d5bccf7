//! `synccheck completions SHELL` and `synccheck man` come from the clap definitions: every
//! command is in them, and the pages are well formed enough for the shell and `man` to load.

use std::process::{Command, Output};

fn synccheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(args)
        .output()
        .expect("run synccheck")
}

const COMMANDS: [&str; 10] = [
    "scan",
    "watch",
    "list",
    "pair",
    "history",
    "report",
    "sim",
    "demo",
    "completions",
    "man",
];

#[test]
fn completions_name_every_command_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _synccheck"),
        ("zsh", "#compdef synccheck"),
        ("fish", "complete -c synccheck"),
    ] {
        let out = synccheck(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for command in COMMANDS {
            assert!(
                script.contains(command),
                "{shell} completions miss `{command}`"
            );
        }
        assert!(
            script.contains("--redact"),
            "{shell}: options are completed too"
        );
    }
}

#[test]
fn bash_loads_the_bash_completions() {
    let out = synccheck(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("synccheck.bash");
    std::fs::write(&file, out.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p synccheck",
            file.display()
        ))
        .output()
        .expect("run bash");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn the_man_page_is_roff_with_every_command() {
    let out = synccheck(&["man"]);
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH synccheck 1"), "{page}");
    assert!(page.contains(".SH NAME") && page.contains(".SH SUBCOMMANDS"));
    for command in COMMANDS {
        assert!(page.contains(command), "the man page misses `{command}`");
    }
}

#[test]
fn man_dir_writes_a_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = synccheck(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    for page in [
        "synccheck.1",
        "synccheck-scan.1",
        "synccheck-watch.1",
        "synccheck-list.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
}
