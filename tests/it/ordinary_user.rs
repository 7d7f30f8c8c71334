//! An ordinary user's view: another user's listener and processes are
//! named, not guessed at; exit codes say "nothing found"; warnings come
//! only when they can change the answer, after it; a sweep never waits for
//! what it may not signal. As root these run limier as nobody; as an
//! ordinary user, directly (see `Foreign`). Also the sweep's own edge cases
//! an ordinary user met.

use crate::support::*;
use limier::platform::{Backend, ProcessId, Signal};
use limier::snapshot::{capture, CaptureOptions, Layers};
use limier::sweep::{execute, plan, Fate, Selection, Selector, SweepOptions};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A process of another user (root) for an ordinary user to ask about: a
/// listener, and a resident of a directory. Run as root, the tests start
/// them and run limier as nobody; run as an ordinary user (the second pass
/// of `.ci/run`), they are root's fixtures that `.ci/as-user` started and
/// names in `LIMIER_TEST_FOREIGN_PORT`, `_PID` (the listener) and `_DIR`.
struct Foreign {
    port: u16,
    pid: u32,
    dir: std::path::PathBuf,
    _started: Option<(Scenario, Scenario, tempfile::TempDir)>,
}

impl Foreign {
    fn get() -> Result<Foreign, &'static str> {
        if limier::platform::is_superuser() {
            let server = Scenario::start(&["chain", "1"]);
            let (guard, dir) = temp_dir();
            std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
            let resident = Scenario::start(&["cwd", dir.to_str().unwrap()]);
            return Ok(Foreign {
                port: server.port(),
                pid: server.pid("leaf"),
                dir,
                _started: Some((server, resident, guard)),
            });
        }
        let var = |key: &str| std::env::var(key).ok();
        match (
            var("LIMIER_TEST_FOREIGN_PORT").and_then(|p| p.parse().ok()),
            var("LIMIER_TEST_FOREIGN_PID").and_then(|p| p.parse().ok()),
            var("LIMIER_TEST_FOREIGN_DIR"),
        ) {
            (Some(port), Some(pid), Some(dir)) => Ok(Foreign {
                port,
                pid,
                dir: dir.into(),
                _started: None,
            }),
            _ => Err("as an ordinary user, root's fixtures that .ci/as-user starts (LIMIER_TEST_FOREIGN_*)"),
        }
    }
}

/// The foreign fixtures, or a skip saying why.
macro_rules! foreign {
    () => {
        match Foreign::get() {
            Ok(foreign) => foreign,
            Err(why) => {
                eprintln!("skipped: needs {why}");
                return;
            }
        }
    };
}

/// limier run by an ordinary user.
fn as_user(args: &[&str]) -> std::process::Output {
    unprivileged_command(env!("CARGO_BIN_EXE_limier"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("LIMIER_QUIET")
        .stdin(Stdio::null())
        .output()
        .expect("setpriv (util-linux)")
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn another_users_listener_is_nothing_found_with_its_owner_named() {
    let foreign = foreign!();
    let port = foreign.port.to_string();
    let owner = format!("port {port}/tcp is held by another user (root, uid 0)");

    let output = as_user(&["who", &port, "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains(&owner),
        "{}",
        stderr_of(&output)
    );
    let report = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert_eq!(report["unseen"][0]["kind"], "socket", "{report}");
    assert_eq!(report["unseen"][0]["uid"], 0, "{report}");
    assert_eq!(report["unseen"][0]["port"], foreign.port, "{report}");

    let terse = as_user(&["-t", &port]);
    assert_eq!(terse.status.code(), Some(1));
    assert!(terse.stdout.is_empty());
    assert!(stderr_of(&terse).contains(&owner));

    let kill = as_user(&["kill", "--port", &port]);
    assert_eq!(kill.status.code(), Some(1), "{}", stderr_of(&kill));
    assert!(stderr_of(&kill).contains(&owner), "{}", stderr_of(&kill));
    assert!(alive(foreign.pid));

    // The answer first, then the note; quiet silences the note only.
    let quiet = as_user(&["-q", "who", &port]);
    assert_eq!(quiet.status.code(), Some(1));
    assert!(quiet.stderr.is_empty(), "{}", stderr_of(&quiet));
    let quiet = unprivileged_command(env!("CARGO_BIN_EXE_limier"))
        .args(["who", &port])
        .env("LIMIER_QUIET", "1")
        .output()
        .unwrap();
    assert!(quiet.stderr.is_empty(), "{}", stderr_of(&quiet));
}

#[test]
fn a_sweep_predicts_and_never_waits_for_a_process_it_may_not_signal() {
    let foreign = foreign!();
    let leaf = foreign.pid.to_string();

    let dry = as_user(&["kill", "--pid", &leaf, "--dry-run"]);
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        text.contains("would be refused: permission denied (owned by root, uid 0)"),
        "{text}"
    );
    assert_eq!(dry.status.code(), Some(3), "{text}");

    let real = as_user(&["kill", "--pid", &leaf, "--grace", "60s", "--json"]);
    assert_eq!(real.status.code(), Some(3));
    let report = strict_json(&String::from_utf8_lossy(&real.stdout)).unwrap();
    assert_eq!(report["processes"][0]["why"]["reason"], "permission_denied");
    assert_eq!(report["processes"][0]["why"]["detail"]["owner"], 0);
    // The 60 s grace is not waited for a process that could not be
    // signalled.
    assert_grace_not_waited(&report);
    assert!(alive(foreign.pid));
}

#[test]
fn warnings_only_where_they_change_the_answer() {
    let foreign = foreign!();
    // root lives in the directory; an ordinary user cannot see it there.
    let dir = foreign.dir.to_str().unwrap();
    let in_dir = as_user(&["in", dir]);
    assert_eq!(in_dir.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&in_dir.stdout).starts_with("no process uses "),
        "{}",
        String::from_utf8_lossy(&in_dir.stdout)
    );
    assert!(
        stderr_of(&in_dir).contains("of other users were not checked; run as root to include them"),
        "{}",
        stderr_of(&in_dir)
    );

    // The user's own listener, asked by the user: found whole, nothing to
    // warn of.
    let port = free_port();
    // The system's python: root's own (pyenv) may not be readable by nobody.
    let mut own = unprivileged_command("/usr/bin/python3");
    own.args([
        "-c",
        &format!(
            "import socket,time\ns=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen()\nprint('ready', flush=True); time.sleep(60)"
        ),
    ])
    .stdout(Stdio::piped());
    let mut own = ChildGuard::spawn(&mut own);
    assert_eq!(own.first_line(), "ready");
    let who = as_user(&["who", &port.to_string()]);
    assert_eq!(who.status.code(), Some(0), "{}", stderr_of(&who));
    assert!(who.stderr.is_empty(), "{}", stderr_of(&who));
    // Nor for tree, whose forest is whole whoever asks.
    let tree = as_user(&["tree"]);
    assert_eq!(tree.status.code(), Some(0));
    assert!(tree.stderr.is_empty(), "{}", stderr_of(&tree));
}

#[test]
fn without_freeze_a_child_forked_after_the_plan_gets_the_first_signal() {
    // The parent forks when told, after the plan was made; SIGUSR1 ends
    // both. A child that missed the first signal would be killed only after
    // the 10 s grace.
    // Not ChildGuard::spawn, which gives the child no stdin.
    let mut parent = ChildGuard(
        Command::new("/usr/bin/python3")
            .args([
                "-c",
                // The parent outlives the signal by 300 ms, as a wrapper
                // waiting for its child does: the child is still below it
                // when the sweep looks for forks. The child dies of SIGUSR1.
                "import os,signal,sys,time\nsys.stdin.readline()\npid=os.fork()\nif pid==0:\n    time.sleep(60)\n    os._exit(0)\nsignal.signal(signal.SIGUSR1, lambda *_: (time.sleep(0.3), os._exit(0)))\nprint(pid, flush=True)\ntime.sleep(60)",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let backend = Backend::new().unwrap();
    let snapshot = capture(&backend, CaptureOptions::new(Layers::PROCESSES)).unwrap();
    let planned = plan(
        &snapshot,
        &Selection::new(vec![Selector::Pid(ProcessId(parent.pid()))]),
    )
    .unwrap();
    parent.0.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
    let child: u32 = parent.first_line().parse().unwrap();
    let options = SweepOptions {
        signal: Signal::Usr1,
        grace: Duration::from_secs(10),
        freeze: false,
        ..SweepOptions::default()
    };
    let started = Instant::now();
    let swept = execute(&backend, &planned, &options);
    assert!(started.elapsed() < Duration::from_secs(5), "{swept:?}");
    let fate = |pid: u32| {
        swept
            .iter()
            .find(|p| p.pid().0 == pid)
            .map(|p| p.fate.clone())
    };
    assert_eq!(fate(parent.pid()), Some(Fate::Exited), "{swept:?}");
    assert_eq!(fate(child), Some(Fate::Exited), "{swept:?}");
}

#[test]
fn the_summary_counts_add_up_to_the_rows_and_name_an_unreaped_zombie() {
    // This test's own child: it is not reaped until the guard drops.
    let child = ChildGuard::spawn(Command::new("sleep").arg("60"));
    let output = limier(&["kill", "--pid", &child.pid().to_string()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("zombie (parent"), "{text}");
    let summary = text.lines().last().unwrap();
    assert!(
        summary.ends_with(" ms: 1 exited; 1 left a zombie its parent has not reaped"),
        "{text}"
    );
}
