//! Bad input: one line on stderr, exit 2, never a panic.

use crate::support::*;

#[test]
fn bad_ports_are_one_line_errors() {
    assert_usage_error(&["who", "0"], "port \"0\" is out of range (1-65535)");
    assert_usage_error(
        &["who", "70000"],
        "port \"70000\" is out of range (1-65535)",
    );
    assert_usage_error(&["who", "abc"], "port \"abc\" is not a number");
    assert_usage_error(&["70000"], "out of range");
    assert_usage_error(&["who", "80/sctp"], "is not tcp or udp");
}

#[test]
fn missing_directory_and_pid_are_one_line_errors() {
    assert_usage_error(
        &["in", "/nonexistent/limier-test-dir"],
        "/nonexistent/limier-test-dir: no such directory",
    );
    assert_usage_error(&["in", "/etc/hostname"], "not a directory");
    // Missing one level down, with nothing using a directory deleted from
    // there: as much a typo as one level up (exit 2, never "free").
    let (_guard, root) = temp_dir();
    let typo = root.join("no-such-worktree");
    assert_usage_error(
        &["in", typo.to_str().unwrap()],
        "no-such-worktree: no such directory (and no process",
    );
    assert_usage_error(
        &["kill", "--dir", typo.to_str().unwrap(), "--dry-run"],
        "no such directory (and no process",
    );
    // Beside a directory that matched, the typo is still an error.
    let resident = Scenario::start(&["cwd", root.to_str().unwrap()]);
    assert_usage_error(
        &[
            "kill",
            "--dir",
            root.to_str().unwrap(),
            "--dir",
            typo.to_str().unwrap(),
            "--dry-run",
        ],
        "no-such-worktree: no such directory",
    );
    drop(resident);
    assert_usage_error(&["who", "--pid", "0"], "pid \"0\" is not a process");
    assert_usage_error(&["bogus-command"], "bogus-command");
    // clap's multi-line verdicts keep the names they list, on one line.
    assert_usage_error(&["in"], "arguments were not provided: <DIR>");
    assert_usage_error(&["ecluse", "down"], "arguments were not provided: <SLUG>");
    assert_usage_error(&["kill", "--foo"], "unexpected argument '--foo'");
}

#[test]
fn a_missing_pid_is_nothing_found_for_who_tree_and_kill_alike() {
    // pid_max is at most 2^22, so this pid cannot exist.
    for args in [
        &["who", "--pid", "2000000000"][..],
        &["tree", "2000000000"],
        &["kill", "--pid", "2000000000"],
    ] {
        let output = limier(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("limier: no process with pid 2000000000"),
            "{args:?}: {stderr}"
        );
    }
    let (report, code) = limier_json(&["who", "--pid", "2000000000"]);
    assert_eq!(code, 1);
    assert_eq!(report["missing_pids"][0], 2000000000u32, "{report}");
}

#[test]
#[cfg(target_os = "linux")] // setpriv
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: runs limier as nobody, through setpriv"
)]
fn a_directory_this_user_may_not_search_is_one_line_naming_it() {
    needs_root!();
    let (_guard, root) = temp_dir();
    let private = root.join("private");
    std::fs::create_dir_all(private.join("inner")).unwrap();
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let inner = private.join("inner");
    let output = nobody_command(env!("CARGO_BIN_EXE_limier"))
        .args(["in", inner.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "limier: {}: permission denied (this user may not search it or a directory above it)",
            inner.display()
        )
    );
}

#[test]
fn closed_stdout_is_not_an_error() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_limier"))
        .args(["snapshot", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
}

#[test]
fn help_has_examples_for_every_command() {
    let commands: [&[&str]; 11] = [
        &["who"],
        &["in"],
        &["tree"],
        &["snapshot"],
        &["kill"],
        &["ecluse"],
        &["ecluse", "status"],
        &["ecluse", "down"],
        &["ecluse", "flush"],
        &["completions"],
        &["man"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let output = limier(&args);
        assert_eq!(output.status.code(), Some(0), "{command:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Example"),
            "{command:?} --help has no examples"
        );
    }
}

#[test]
fn completions_and_man_page_are_generated_from_the_definitions() {
    let bash = limier(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let bash = String::from_utf8_lossy(&bash.stdout);
    assert!(
        bash.contains("_limier()") && bash.contains("complete -F _limier"),
        "{bash}"
    );
    assert!(bash.contains("--all-states") && bash.contains("--lock-timeout"));
    let zsh = String::from_utf8_lossy(&limier(&["completions", "zsh"]).stdout).into_owned();
    assert!(zsh.starts_with("#compdef limier"));
    let fish = String::from_utf8_lossy(&limier(&["completions", "fish"]).stdout).into_owned();
    assert!(fish.contains("complete -c limier"));
    assert_usage_error(&["completions", "tcsh"], "tcsh");
    let man = limier(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    let man = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.starts_with(".ie") || man.starts_with(".TH"),
        "{}",
        &man[..80]
    );
    assert!(man.contains(".TH limier 1"));
    assert!(
        man.contains("race\\-resistant") || man.contains("Race\\-resistant"),
        "subcommands are listed"
    );
}

#[test]
fn every_command_has_its_man_page_and_every_page_referred_to_exists() {
    let kill = String::from_utf8_lossy(&limier(&["man", "kill"]).stdout).into_owned();
    assert!(kill.contains(".TH limier-kill 1"), "{kill}");
    for flag in [
        "grace",
        "signal",
        "dry\\-run",
        "no\\-freeze",
        "json",
        "port",
    ] {
        assert!(
            kill.contains(&format!("\\-\\-{flag}")),
            "--{flag} missing from limier-kill(1)"
        );
    }
    let (_guard, dir) = temp_dir();
    let output = limier(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let written: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for page in &written {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        for reference in text.split("limier\\-").skip(1) {
            let Some(end) = reference.find("(1)") else {
                continue;
            };
            let name = reference[..end].replace("\\-", "-");
            if name.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                assert!(
                    written.contains(&format!("limier-{name}.1")),
                    "{page} refers to limier-{name}(1), which was not written: {written:?}"
                );
            }
        }
    }
    assert!(
        written.contains(&"limier-ecluse-down.1".to_owned()),
        "{written:?}"
    );
    assert_usage_error(&["man", "bogus"], "no man page for \"bogus\"");
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let pid = std::process::id().to_string();
    let run = |no_color: bool| -> String {
        let mut command = std::process::Command::new("script");
        command.args([
            "-qec",
            &format!("{} who --pid {pid}", env!("CARGO_BIN_EXE_limier")),
            "/dev/null",
        ]);
        command.env_remove("NO_COLOR").env("TERM", "xterm");
        if no_color {
            command.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&command.output().expect("script (util-linux)").stdout).into_owned()
    };
    assert!(run(false).contains("\x1b[1m"), "bold on a terminal");
    assert!(!run(true).contains('\x1b'), "NO_COLOR turns colour off");
    let piped = limier(&["who", "--pid", &pid]);
    assert!(!piped.stdout.contains(&0x1b), "no colour into a pipe");
}

#[test]
fn typos_keep_clap_s_did_you_mean() {
    assert_usage_error(
        &["whoo", "3000"],
        "unrecognized subcommand 'whoo'; did you mean 'who'?",
    );
    assert_usage_error(&["who", "--josn"], "did you mean '--json'?");
    assert_usage_error(
        &["who", "3010-3000"],
        "port range \"3010-3000\" runs backwards",
    );
    assert_usage_error(&["kill", "--port", "3000,"], "no port between the commas");
    // A sweep never takes a mistyped range: nothing is signalled.
    assert_usage_error(
        &["kill", "--port", "3000-30000"],
        "the ports given name 27001 ports; a sweep takes at most 256",
    );
}
