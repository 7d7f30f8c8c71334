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
    // pid_max is at most 2^22, so this pid cannot exist.
    assert_usage_error(
        &["who", "--pid", "2000000000"],
        "no process with pid 2000000000",
    );
    assert_usage_error(&["who", "--pid", "0"], "pid \"0\" is not a process");
    assert_usage_error(&["tree", "2000000000"], "no process with pid 2000000000");
    assert_usage_error(&["bogus-command"], "bogus-command");
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
    for command in [
        "who",
        "in",
        "tree",
        "snapshot",
        "kill",
        "completions",
        "man",
    ] {
        let output = limier(&[command, "--help"]);
        assert_eq!(output.status.code(), Some(0), "{command}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Example"),
            "{command} --help has no examples"
        );
    }
}
