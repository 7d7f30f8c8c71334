//! `limier kill` and the sweep library on real process trees.

use crate::support::*;
use limier::platform::{Backend, ProcessId};
use limier::snapshot::{capture, CaptureOptions, Layers, Snapshot};
use limier::sweep::{execute, plan, Fate, Selection, Selector, SpareReason, SweepOptions};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

fn fate_of(report: &Value, pid: u32) -> Option<String> {
    fates(report)
        .into_iter()
        .find(|(p, _)| *p == pid)
        .map(|(_, f)| f)
}

#[test]
fn eight_deep_chain_exits_on_term_well_before_the_grace() {
    let scenario = Scenario::start(&["chain", "8", "0", "0"]);
    let mut expected = scenario.pids("link");
    expected.push(scenario.pid("leaf"));
    assert_eq!(expected.len(), 8);
    let root = expected[0].to_string();
    let (report, code) = limier_json(&["kill", "--pid", &root, "--grace", "60s"]);
    assert_eq!(code, 0, "{report}");
    let mut sorted = expected.clone();
    sorted.sort_unstable();
    assert_eq!(swept_pids(&report), sorted, "exactly the chain: {report}");
    for (pid, fate) in fates(&report) {
        assert_eq!(fate, "exited", "{pid}");
        assert!(!alive(pid), "{pid} still alive");
    }
    assert_grace_not_waited(&report);
}

/// A process that ignores SIGTERM (SIG_IGN) gets no pointless wait: SIGKILL
/// as soon as the others are signalled, and the report says why.
#[test]
fn a_process_ignoring_term_is_killed_at_once_and_says_why() {
    let scenario = Scenario::start(&["chain", "1", "1", "0"]);
    let stubborn = scenario.pid("leaf");
    let (report, code) = limier_json(&["kill", "--pid", &stubborn.to_string(), "--grace", "30s"]);
    assert_eq!(code, 0, "{report}");
    // Not the 30 s grace: the sweep did not wait for a signal it knew was ignored.
    assert_grace_not_waited(&report);
    let entry = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == stubborn)
        .unwrap()
        .clone();
    assert_eq!(entry["fate"], "killed", "{report}");
    assert_eq!(
        entry["first_signal"],
        serde_json::json!({"kind": "killed_at_once", "instead_of": "SIGTERM", "disposition": "ignored"}),
        "{report}"
    );
    assert!(!alive(stubborn));
    // The human report says it in words.
    let scenario = Scenario::start(&["chain", "1", "1", "0"]);
    let output = limier(&["kill", "--pid", &scenario.pid("leaf").to_string()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("ignores SIGTERM: killed at once"),
        "{stdout}"
    );
}

/// A process that catches SIGTERM and does nothing may yet end on it: it
/// gets the whole grace, then SIGKILL.
#[test]
fn a_process_catching_term_and_lingering_is_killed_after_the_grace() {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: None)\nprint('ready', flush=True)\ntime.sleep(60)",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(first_line(&mut child), "ready");
    let pid = child.id();
    let guard = ChildGuard(child);
    let (report, code) = limier_json(&["kill", "--pid", &pid.to_string(), "--grace", "300ms"]);
    assert_eq!(code, 0, "{report}");
    // The grace was given in full before SIGKILL.
    assert!(report["duration_ms"].as_f64().unwrap() >= 300.0, "{report}");
    assert_eq!(fate_of(&report, pid).as_deref(), Some("killed"), "{report}");
    assert!(
        report["processes"][0].get("first_signal").is_none(),
        "{report}"
    );
    drop(guard);
}

/// An interactive shell (a tmux pane's) ignores SIGTERM and ends on SIGHUP,
/// as it does when tmux closes the pane: that is what it gets.
#[test]
fn an_interactive_shell_gets_sighup_and_exits() {
    let (_guard, dir) = temp_dir();
    let socket = dir.join("tmux.sock");
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(args)
            .env("SHELL", "/bin/bash")
            .output()
            .expect("tmux is installed by .ci/run")
    };
    assert!(
        tmux(&["new-session", "-d", "-s", "t", "/bin/bash", "--norc", "-i"])
            .status
            .success()
    );
    struct Server<'a>(&'a dyn Fn(&[&str]) -> std::process::Output);
    impl Drop for Server<'_> {
        fn drop(&mut self) {
            let _ = (self.0)(&["kill-server"]);
        }
    }
    let _server = Server(&tmux);
    let pane =
        String::from_utf8_lossy(&tmux(&["list-panes", "-t", "=t", "-F", "#{pane_pid}"]).stdout)
            .trim()
            .to_owned();
    let shell: u32 = pane.parse().expect("a pane pid");
    // bash -i sets its dispositions once it reads its first line.
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{shell}/status")).is_ok_and(|s| {
            s.lines().any(|l| {
                l.starts_with("SigIgn:")
                    && u64::from_str_radix(l[7..].trim(), 16).is_ok_and(|m| m & 1 << 14 != 0)
            })
        })
    }));
    let (report, code) = limier_json(&["kill", "--pid", &pane, "--grace", "30s"]);
    assert_eq!(code, 0, "{report}");
    assert_grace_not_waited(&report);
    assert_eq!(
        fate_of(&report, shell).as_deref(),
        Some("exited"),
        "{report}"
    );
    let entry = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == shell)
        .unwrap();
    assert_eq!(entry["first_signal"]["kind"], "hang_up", "{report}");
    assert!(!alive(shell));
}

#[test]
fn setsid_escapee_is_caught_by_env_and_dir_but_not_by_its_former_ancestor() {
    let (_guard, root) = temp_dir();
    let home = root.join("worktree");
    std::fs::create_dir_all(&home).unwrap();
    let tag = format!("limier-test-{}", std::process::id());
    let scenario = Scenario::start_with(
        &["daemon", home.to_str().unwrap(), "0"],
        None,
        &[("LIMIER_TEST_TAG", &tag)],
    );
    let daemon = scenario.pid("daemon");
    let parent = scenario.root_pid().to_string();

    let (by_pid, _) = limier_json(&["kill", "--pid", &parent, "--dry-run"]);
    assert_eq!(
        fate_of(&by_pid, daemon),
        None,
        "--pid does not reach a reparented escapee: {by_pid}"
    );

    let env = format!("LIMIER_TEST_TAG={tag}");
    let (by_env, code) = limier_json(&["kill", "--env", &env, "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(
        fate_of(&by_env, daemon).as_deref(),
        Some("would_signal"),
        "{by_env}"
    );
    let (by_dir, _) = limier_json(&["kill", "--dir", home.to_str().unwrap(), "--dry-run"]);
    assert_eq!(fates(&by_dir), vec![(daemon, "would_signal".to_string())]);
    assert!(alive(daemon), "dry runs signal nothing");

    let (report, code) = limier_json(&["kill", "--env", &env]);
    assert_eq!(code, 0, "{report}");
    assert!(eventually(Duration::from_secs(2), || !alive(daemon)));
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
fn a_respawner_leaves_nothing_behind() {
    let scenario = Scenario::start(&["respawner"]);
    let respawner = scenario.pid("respawner");
    std::thread::sleep(Duration::from_millis(100));
    let (report, code) = limier_json(&["kill", "--pid", &respawner.to_string()]);
    assert_eq!(code, 0, "{report}");
    assert!(
        fates(&report).len() > 1,
        "children were swept too: {report}"
    );
    // Nothing of the respawner remains: no live process runs its script.
    let leftovers: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| alive(pid))
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("scenario.py\0respawner"))
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "respawner processes survived: {leftovers:?}"
    );
}

#[test]
fn a_port_taken_again_by_a_supervisor_names_it_and_exits_3() {
    let scenario = Scenario::start(&["supervisor", "0.3"]);
    let (supervisor, server) = (scenario.pid("supervisor"), scenario.pid("server"));
    let port = scenario.port().to_string();
    let (report, code) = limier_json(&["kill", "--port", &port, "--grace", "2s"]);
    assert_eq!(code, 3, "a respawn is not 'all gone': {report}");
    assert_eq!(
        fates(&report),
        vec![(server, "exited".to_owned())],
        "{report}"
    );
    let respawn = &report["respawned"][0];
    assert_eq!(respawn["port"], format!("port {port}"), "{report}");
    assert_eq!(respawn["parent"], supervisor, "{report}");
    assert_eq!(respawn["parent_comm"], "python3", "{report}");
    let new = respawn["pid"].as_u64().unwrap() as u32;
    assert_ne!(new, server);
    assert!(
        alive(supervisor),
        "the supervisor was not selected: it is named, not ended"
    );
    // The human view says it in a sentence.
    let (_, code) = limier_json(&["kill", "--pid", &supervisor.to_string()]);
    assert_eq!(code, 0);
    // A server whose parent ends with it (a shell, npm) is not watched for
    // long, and nothing is said.
    let plain = Scenario::start(&["chain", "2"]);
    let started = std::time::Instant::now();
    let (report, code) = limier_json(&["kill", "--port", &plain.port().to_string()]);
    assert_eq!(code, 0, "{report}");
    assert!(report.get("respawned").is_none(), "{report}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
#[cfg(target_os = "linux")] // reads /proc; 15-byte names
fn name_full_and_user_select_as_pkill_does() {
    // A command line no other test's process has.
    let marker = format!("600.{}", std::process::id());
    let target = ChildGuard::spawn(Command::new("sleep").arg(&marker));
    let pattern = format!("sleep {marker}");
    // Another user's only: nothing is selected, the process lives, and
    // the note says what -u left out.
    let output = limier(&["kill", "-f", "--name", &pattern, "-u", "65534"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "1 process matched but is not nobody's (-u): left alone (pids {} (sleep))",
            target.pid()
        )),
        "{stderr}"
    );
    assert!(alive(target.pid()));
    // The matches alone, as pkill: a wrapper's child is not selected.
    let wrapper_marker = format!("wrapper-{}", std::process::id());
    let mut wrapper = ChildGuard::spawn(
        Command::new("sh")
            .args(["-c", "sleep 300 & echo $!; wait", &wrapper_marker])
            .stdout(std::process::Stdio::piped()),
    );
    let child: u32 = wrapper.first_line().trim().parse().unwrap();
    // Until it has exec'd sleep, the child is a copy of the shell, whose
    // command line matches too (pkill would take it as well).
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{child}/comm")).is_ok_and(|c| c.trim() == "sleep")
    }));
    let (report, code) = limier_json(&["kill", "-f", "--name", &wrapper_marker]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(swept_pids(&report), vec![wrapper.pid()], "{report}");
    assert!(alive(child), "the child of the match was not selected");
    let _ = limier(&["kill", "--pid", &child.to_string()]);
    assert_usage_error(
        &["kill", "--name", "a-name-longer-than-15"],
        "longer than the 15 bytes of a process name",
    );
    // The name alone is `sleep`: a pattern for the command line does not
    // match it without -f.
    let (report, _) = limier_json(&["kill", "--name", &pattern, "--dry-run"]);
    assert!(!swept_pids(&report).contains(&target.pid()), "{report}");
    let me = limier::platform::effective_uid().to_string();
    let (report, code) = limier_json(&["kill", "-f", "--name", &format!("^{pattern}$"), "-u", &me]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        fates(&report),
        vec![(target.pid(), "exited".to_owned())],
        "{report}"
    );
    assert_eq!(
        report["processes"][0]["selected_by"][0],
        serde_json::json!({"selector": format!("command line ~ ^{pattern}$"), "match": "itself"})
    );
    assert_usage_error(&["kill", "--name", "^$"], "would select every process");
    assert_usage_error(&["kill", "-u", "no-such-user-limier"], "no user named");
    assert_usage_error(&["kill", "-f", "--pid", "1"], "-f/--full applies to --name");
}

fn sleeper() -> ChildGuard {
    ChildGuard::spawn(Command::new("sleep").arg("60"))
}

fn snapshot() -> Snapshot {
    capture(
        &Backend::new().unwrap(),
        CaptureOptions::new(Layers::PROCESSES),
    )
    .unwrap()
}

#[test]
fn stale_identity_from_the_snapshot_is_never_signalled() {
    let victim = sleeper();
    let live = snapshot();
    // The same pid with another start time: what a snapshot of an earlier
    // incarnation of this pid would hold.
    let mut stale = live.process(ProcessId(victim.pid())).unwrap().clone();
    stale.record.start.0 += 1;
    let stale_snapshot = Snapshot::from_parts(
        vec![stale],
        vec![],
        Layers::PROCESSES,
        live.self_pid,
        live.captured_at_ms,
    );
    let selection = Selection::new(vec![Selector::Pid(ProcessId(victim.pid()))]);
    let planned = plan(&stale_snapshot, &selection).unwrap();
    assert_eq!(planned.targets.len(), 1);
    let swept = execute(&Backend::new().unwrap(), &planned, &SweepOptions::default());
    assert_eq!(
        swept[0].fate,
        Fate::Spared {
            why: SpareReason::IdentityChanged
        }
    );
    assert!(
        alive(victim.pid()),
        "the live process with that pid was not touched"
    );
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: writes /proc/sys/kernel/ns_last_pid"
)]
fn a_real_process_that_reused_the_pid_is_spared() {
    needs_root!();
    let first = sleeper();
    let pid = first.pid();
    let old = snapshot();
    let selection = Selection::new(vec![Selector::Pid(ProcessId(pid))]);
    let planned = plan(&old, &selection).unwrap();
    drop(first); // killed and reaped: the pid is free
                 // Start times have clock-tick resolution (10 ms): let at least two ticks
                 // pass so the replacement's start differs, as it always does when a pid
                 // comes round again through pid_max.
    std::thread::sleep(Duration::from_millis(30));
    // Ask the kernel to hand out `pid` again (root only: /proc/sys/kernel/ns_last_pid).
    let mut replacement = None;
    for _ in 0..200 {
        if std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).is_err() {
            break;
        }
        let candidate = sleeper();
        if candidate.pid() == pid {
            replacement = Some(candidate);
            break;
        }
    }
    let Some(replacement) = replacement else {
        panic!("could not make the kernel reuse pid {pid}: this test needs root (CI runs as root)");
    };
    let swept = execute(&Backend::new().unwrap(), &planned, &SweepOptions::default());
    assert_eq!(swept[0].pid().0, pid);
    assert_eq!(
        swept[0].fate,
        Fate::Spared {
            why: SpareReason::IdentityChanged
        }
    );
    assert!(
        alive(replacement.pid()),
        "the new process on the old pid survived"
    );
}

#[test]
fn a_sweep_over_our_own_directory_leaves_limier_out_and_spares_its_ancestors() {
    let (_guard, root) = temp_dir();
    let resident = Scenario::start(&["cwd", root.to_str().unwrap()]);
    let target = resident.pid("cwd");
    let limier = env!("CARGO_BIN_EXE_limier");
    // sh sits in the directory and is limier's parent; the test is its grandparent.
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd '{}' && '{}' kill --dir . --json; echo exit=$?",
            root.display(),
            limier
        ))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (json, tail) = stdout.rsplit_once("exit=").unwrap();
    assert_eq!(tail.trim(), "0", "protection is not a failure: {stdout}");
    let report: Value = strict_json(json).unwrap();
    let shell = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["comm"] == "sh")
        .expect("the shell was selected");
    assert_eq!(shell["fate"], "spared");
    assert_eq!(shell["why"]["reason"], "protected");
    assert!(shell["why"]["detail"]
        .as_str()
        .unwrap()
        .starts_with("ancestor of limier"));
    // limier's own cwd there is an artefact of asking: it is not a user.
    assert!(
        !report["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["comm"] == "limier"),
        "{report}"
    );
    assert_eq!(
        fate_of(&report, target).as_deref(),
        Some("exited"),
        "{report}"
    );
    assert!(!alive(target));
}

#[test]
fn kill_bad_input_is_rejected_before_anything_is_signalled() {
    assert_usage_error(&["kill"], "nothing to select");
    assert_usage_error(&["kill", "--pid", "0"], "pid \"0\" is not a process");
    assert_usage_error(&["kill", "--pid", "1", "--grace", "-1"], "duration \"-1\"");
    assert_usage_error(
        &["kill", "--env", "NOVALUE"],
        "\"NOVALUE\" is not KEY=VALUE",
    );
    assert_usage_error(
        &["kill", "--dir", "/nonexistent/limier"],
        "no such directory",
    );
    assert_usage_error(
        &["kill", "--pid", "1", "--signal", "STOP"],
        "does not end a process",
    );
}

#[test]
fn kill_of_nothing_exits_1_and_selecting_everything_is_refused() {
    let output = limier(&["kill", "--pid", "2000000000"]);
    assert_eq!(output.status.code(), Some(1));
    // Init's descendants, or the users of /, are every process there is.
    assert_usage_error(
        &["kill", "--pid", "1", "--dry-run"],
        "pid 1 would select every process on the machine; refusing",
    );
    assert_usage_error(
        &["kill", "--dir", "/", "--dry-run"],
        "dir / would select every process on the machine; refusing",
    );
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: makes a pid namespace with unshare and enters it with nsenter"
)]
fn init_holding_a_port_is_spared_and_its_children_are_left_alone() {
    needs_root!();
    // In a fresh pid namespace the python below is pid 1, as systemd is on a
    // machine with socket activation: it holds the listening socket and has
    // a child. "The holder and its descendants" must not become everyone.
    let port = free_port();
    let script = format!(
        "import socket, subprocess, time\n\
         s = socket.socket()\n\
         s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', {port}))\n\
         s.listen()\n\
         child = subprocess.Popen(['sleep', '300'])\n\
         print(child.pid, flush=True)\n\
         time.sleep(300)\n"
    );
    let mut unshare = Command::new("unshare");
    unshare
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .args(["python3", "-c", &script])
        .stdout(std::process::Stdio::piped());
    let mut namespace = ChildGuard::spawn(&mut unshare);
    let child_in_namespace: u32 = namespace.first_line().parse().unwrap();
    // Each has exactly one child: unshare the namespace's init, init sleep.
    let only_child = |pid: u32| -> u32 {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let init_on_host = only_child(namespace.pid());
    let child_on_host = only_child(init_on_host);
    let target = init_on_host.to_string();
    let inside = |args: &[&str]| {
        Command::new("nsenter")
            .args(["--target", &target, "--pid", "--mount", "--"])
            .arg(env!("CARGO_BIN_EXE_limier"))
            .args(args)
            .output()
            .unwrap()
    };
    let who = inside(&["who", &port.to_string(), "-t"]);
    assert_eq!(String::from_utf8_lossy(&who.stdout).trim(), "1");

    let output = inside(&["kill", "--port", &port.to_string(), "--json"]);
    let report: Value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert_eq!(
        fates(&report),
        vec![(1, "spared".to_string())],
        "only init was selected, and spared, not its child {child_in_namespace}: {report}"
    );
    assert_eq!(report["processes"][0]["why"]["detail"], "init (pid 1)");
    assert!(alive(child_on_host), "init's child was not signalled");
    assert!(alive(init_on_host));
}

#[test]
fn a_port_held_by_limiers_own_ancestor_spares_it_and_its_children() {
    // python holds the port, has a child, and runs limier: the holder is
    // limier's ancestor, so it is spared, and its other child is not swept
    // as "a descendant of the holder".
    let script = "import socket, subprocess, sys\n\
         s = socket.socket()\n\
         s.bind(('127.0.0.1', 0))\n\
         s.listen()\n\
         child = subprocess.Popen(['sleep', '60'])\n\
         port = str(s.getsockname()[1])\n\
         run = subprocess.run([sys.argv[1], 'kill', '--port', port, '--json'], capture_output=True)\n\
         print(child.pid, flush=True)\n\
         print(run.returncode, flush=True)\n\
         sys.stdout.buffer.write(run.stdout)\n\
         sys.stdout.flush()\n\
         child.kill()\n";
    let output = Command::new("python3")
        .args(["-c", script, env!("CARGO_BIN_EXE_limier")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.splitn(3, '\n');
    let child: u32 = lines.next().unwrap().parse().unwrap();
    let code: i32 = lines.next().unwrap().parse().unwrap();
    let report: Value = strict_json(lines.next().unwrap()).unwrap();
    assert_eq!(code, 0, "protection is not a failure: {report}");
    let processes = report["processes"].as_array().unwrap();
    assert_eq!(processes.len(), 1, "{report}");
    assert_eq!(processes[0]["comm"], "python3");
    assert_eq!(processes[0]["fate"], "spared");
    assert!(processes[0]["why"]["detail"]
        .as_str()
        .unwrap()
        .starts_with("ancestor of limier"));
    assert!(fate_of(&report, child).is_none(), "{report}");
}

#[test]
fn no_freeze_sweeps_without_stopping_and_summarises() {
    let scenario = Scenario::start(&["chain", "3", "0", "0"]);
    let root = scenario.pids("link")[0].to_string();
    let output = limier(&["kill", "--pid", &root, "--no-freeze", "--signal", "USR1"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let summary = text.lines().last().unwrap();
    assert!(summary.starts_with("swept 3 processes in "), "{text}");
    assert!(summary.contains(" ms: 3 exited"), "{text}");
    assert!(!summary.contains(" 0 "), "zero counts are left out: {text}");
    // Each row names the process's user and command line.
    let row = text
        .lines()
        .find(|l| l.starts_with(&format!("{root} ")))
        .unwrap_or_else(|| panic!("no row for {root}: {text}"));
    let me = limier::platform::user_name(limier::platform::effective_uid()).unwrap();
    assert!(row.contains(&format!(" {me} ")), "{row}");
    assert!(row.contains("scenario.py chain 3 0 0"), "{row}");
    assert!(text.contains("exited after SIGUSR1"), "{text}");
    let one = sleeper();
    let dry = limier(&["kill", "--pid", &one.pid().to_string(), "--dry-run"]);
    let dry = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.ends_with("dry run: would signal 1 process\n"), "{dry}");
    for pid in scenario
        .pids("link")
        .into_iter()
        .chain([scenario.pid("leaf")])
    {
        assert!(!alive(pid));
    }
}

#[test]
fn a_process_gone_before_its_signal_is_reported_already_gone() {
    let victim = sleeper();
    let pid = victim.pid();
    let planned = plan(
        &snapshot(),
        &Selection::new(vec![Selector::Pid(ProcessId(pid))]),
    )
    .unwrap();
    drop(victim); // exits and is reaped between the plan and the sweep
    let swept = execute(&Backend::new().unwrap(), &planned, &SweepOptions::default());
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].pid().0, pid);
    assert_eq!(swept[0].fate, Fate::AlreadyGone);
}
