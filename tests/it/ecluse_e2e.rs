//! End to end against the real ecluse 0.3.1 (installed by .ci/run) in tmux:
//! ecluse's own teardown leaves a setsid child holding its port; limier
//! reports the session, then removes what ecluse left. And the case limier
//! exists for: a leftover of an ended session holding another session's
//! port, named as such by `who` and `ecluse status`, and removed — alone —
//! by `limier ecluse down` of the ended session.

use crate::support::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

struct EcluseWorld {
    _dir: tempfile::TempDir,
    home: PathBuf,
    tmux_dir: PathBuf,
    repo: PathBuf,
    slugs: Vec<String>,
}

impl EcluseWorld {
    /// A git repo with `.ecluse.toml` and `serve.sh`, committed, and a home
    /// whose ecluse config runs services in tmux (on a private tmux socket
    /// directory).
    fn new(slugs: Vec<String>, ecluse_toml: &str, serve_sh: &str) -> EcluseWorld {
        let (dir, root) = temp_dir();
        let world = EcluseWorld {
            home: root.join("home"),
            tmux_dir: root.join("tmux"),
            repo: root.join("repo"),
            slugs,
            _dir: dir,
        };
        for path in [
            &world.home.join(".config/ecluse"),
            &world.tmux_dir,
            &world.repo,
        ] {
            std::fs::create_dir_all(path).unwrap();
        }
        std::fs::write(
            world.home.join(".config/ecluse/config.toml"),
            "process_manager = \"tmux\"\n",
        )
        .unwrap();
        std::fs::write(world.repo.join(".ecluse.toml"), ecluse_toml).unwrap();
        std::fs::write(world.repo.join("serve.sh"), serve_sh).unwrap();
        world.run("git", &["init", "-q"]);
        world.run("git", &["add", "."]);
        world.run("git", &["commit", "-qm", "init"]);
        world
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(&self.repo)
            .env("HOME", &self.home)
            .env("TMUX_TMPDIR", &self.tmux_dir)
            .env_remove("TMUX")
            .env("GIT_AUTHOR_NAME", "limier")
            .env("GIT_AUTHOR_EMAIL", "limier@example.invalid")
            .env("GIT_COMMITTER_NAME", "limier")
            .env("GIT_COMMITTER_EMAIL", "limier@example.invalid");
        command
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let output = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn limier(&self, args: &[&str]) -> (Value, i32) {
        let output = self
            .command(env!("CARGO_BIN_EXE_limier"))
            .args(args)
            .arg("--json")
            .output()
            .unwrap();
        let value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap_or_else(|e| {
            panic!(
                "limier {args:?}: {e}: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (value, output.status.code().unwrap())
    }
}

impl Drop for EcluseWorld {
    fn drop(&mut self) {
        let _ = self.command("tmux").arg("kill-server").output();
        for slug in &self.slugs {
            let tag = format!("ECLUSE_SLUG={slug}");
            let _ = Command::new(env!("CARGO_BIN_EXE_limier"))
                .args(["kill", "--env", &tag, "--grace", "200ms"])
                .output();
        }
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn listener_of(port: u16) -> Option<u32> {
    let output = limier(&["-t", &port.to_string()]);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

fn ppid_of(pid: u32) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    text.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn limier_ecluse_down_removes_the_setsid_child_real_ecluse_leaves_behind() {
    assert!(
        on_path("ecluse") && on_path("tmux"),
        "this test needs ecluse 0.3.1 and tmux on PATH: `bash .ci/run` installs both"
    );
    // ecluse runs lsof, which stats every open file on the machine.
    let _stats = exclusive_stats();
    let (main_port, side_port) = (free_port(), free_port());
    let world = EcluseWorld::new(
        vec![format!("e2e-{}", std::process::id())],
        &format!(
            "mode = \"host\"\nmax_slots = 2\n\n[[services]]\nname = \"web\"\nbase_port = {}\ncommand = \"sh ./serve.sh\"\nextra_ports = [{{ base_port = {}, port_env = \"WEB_SIDE_PORT\" }}]\n",
            main_port - 1,
            side_port - 1
        ),
        // A wrapper chain (pane sh → sh serve.sh → sh -c → python) plus a setsid child.
        "#!/bin/sh\nsetsid python3 -m http.server \"$WEB_SIDE_PORT\" --bind 127.0.0.1 >/dev/null 2>&1 &\nsh -c 'python3 -m http.server \"$PORT\" --bind 127.0.0.1'\n",
    );
    let slug = world.slugs[0].clone();
    world.run("ecluse", &["up", &slug]);

    assert!(
        eventually(Duration::from_secs(15), || listener_of(main_port).is_some()
            && listener_of(side_port).is_some()),
        "the service never listened on {main_port} and {side_port}"
    );
    let (status, code) = world.limier(&["ecluse", "status", &slug]);
    assert_eq!(code, 0, "{status}");
    let web = &status["sessions"][0]["services"][0];
    assert_eq!(web["name"], "web");
    assert_eq!(web["verdict"], "up", "{status}");
    assert_eq!(web["healthy"], true);
    assert_eq!(web["port"], main_port);
    assert_eq!(
        web["pid_file"]["pid_file"], "verified",
        "ecluse's lstart token is matched natively: {status}"
    );

    world.run("ecluse", &["down", &slug, "--keep-worktree"]);
    assert!(
        eventually(Duration::from_secs(10), || listener_of(main_port).is_none()),
        "ecluse stopped the main server"
    );
    let escapee = listener_of(side_port).expect("the setsid child survived ecluse down");
    assert!(
        eventually(Duration::from_secs(5), || ppid_of(escapee) == Some(1)),
        "reparented to init"
    );

    let (report, code) = world.limier(&["ecluse", "down", &slug]);
    assert_eq!(code, 0, "{report}");
    let swept = report["processes"].as_array().unwrap();
    let entry = swept
        .iter()
        .find(|p| p["pid"] == escapee)
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(entry["fate"], "exited");
    assert!(eventually(Duration::from_secs(2), || !alive(escapee)));
    assert_eq!(listener_of(side_port), None, "the port is free again");
    let leftovers: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| alive(pid))
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|&b| b == 0)
                    .any(|var| var == format!("ECLUSE_SLUG={}", slug).as_bytes())
            })
        })
        .filter(|&pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd| cwd.starts_with(&world.repo))
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "session processes left: {leftovers:?}"
    );
}

/// Two free ports, one after the other (slots 1 and 2 of one service).
fn adjacent_free_ports() -> u16 {
    for _ in 0..50 {
        let first = free_port();
        if first < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", first + 1)).is_ok() {
            return first;
        }
    }
    panic!("no two adjacent free ports");
}

/// The session limier's `who --json` names for the holder of `port`.
fn who_session(world: &EcluseWorld, port: u16) -> Value {
    let (report, code) = world.limier(&["who", &port.to_string()]);
    assert_eq!(code, 0, "{report}");
    report["ports"][0]["sockets"][0]["holders"][0]["session"].clone()
}

/// A leftover of session A (started from A's worktree, tagged
/// `ECLUSE_SLUG=A`, escaped with setsid) holds session B's port after B's
/// service died. While A is active, and after `ecluse down A` ended it —
/// its worktree kept or removed — limier names A as the holder's session
/// (ended, with the evidence), `ecluse status B` says wrong owner, naming
/// A; `limier ecluse down A` removes the leftover and nothing of B.
fn a_leftover_of_an_ended_session_on_another_sessions_port(keep_worktree: bool) {
    assert!(
        on_path("ecluse") && on_path("tmux"),
        "this test needs ecluse 0.3.1 and tmux on PATH: `bash .ci/run` installs both"
    );
    let _stats = exclusive_stats();
    let base = adjacent_free_ports() - 1;
    let tag = std::process::id();
    let (a, b) = (
        format!("ea{tag}{keep_worktree}"),
        format!("eb{tag}{keep_worktree}"),
    );
    let world = EcluseWorld::new(
        vec![a.clone(), b.clone()],
        &format!(
            "mode = \"host\"\nmax_slots = 3\n\n[[services]]\nname = \"web\"\nbase_port = {base}\ncommand = \"sh ./serve.sh\"\n"
        ),
        // The pane's shell outlives its server: what B keeps running.
        "#!/bin/sh\npython3 -m http.server \"$PORT\" --bind 127.0.0.1\nsleep 3600\n",
    );
    world.run("ecluse", &["up", &a]);
    world.run("ecluse", &["up", &b]);
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(world.repo.join(".ecluse/state.json")).unwrap(),
    )
    .unwrap();
    let slot_of = |slug: &str| -> u16 {
        state["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["slug"] == slug)
            .and_then(|s| s["slot"].as_u64())
            .unwrap_or_else(|| panic!("{slug} not in {state}")) as u16
    };
    let (a_port, b_port) = (base + slot_of(&a), base + slot_of(&b));
    assert!(
        eventually(Duration::from_secs(15), || listener_of(a_port).is_some()
            && listener_of(b_port).is_some()),
        "the services never listened on {a_port} and {b_port}"
    );
    let a_worktree = world.repo.join(".ecluse/worktrees").join(&a);
    let b_server = listener_of(b_port).unwrap();
    let b_shell = ppid_of(b_server).expect("b's server has a parent");

    // B's service dies; a process started from A's worktree takes its port.
    unsafe_kill(b_server);
    assert!(eventually(Duration::from_secs(5), || listener_of(b_port).is_none()));
    world.run(
        "sh",
        &[
            "-c",
            &format!(
                "cd '{}' && ECLUSE_SLUG='{a}' setsid python3 -m http.server {b_port} --bind 127.0.0.1 >/dev/null 2>&1 &",
                a_worktree.display()
            ),
        ],
    );
    assert!(eventually(Duration::from_secs(10), || listener_of(b_port).is_some()));
    let impostor = listener_of(b_port).unwrap();

    // A active: the holder is A's.
    let session = who_session(&world, b_port);
    assert_eq!(session["owner"], "session", "{session}");
    assert_eq!(session["slug"], a.as_str(), "{session}");
    assert_eq!(session["ended"], false, "{session}");

    // A ends (ecluse down), its leftover stays.
    let mut down = vec!["down", a.as_str()];
    down.push(if keep_worktree {
        "--keep-worktree"
    } else {
        "--delete-worktree"
    });
    world.run("ecluse", &down);
    assert!(
        alive(impostor),
        "ecluse down {a} does not reach the leftover"
    );
    assert_eq!(a_worktree.exists(), keep_worktree);
    assert_eq!(listener_of(b_port), Some(impostor));

    let session = who_session(&world, b_port);
    assert_eq!(session["owner"], "session", "{session}");
    assert_eq!(
        session["slug"],
        a.as_str(),
        "the port is no evidence: {session}"
    );
    assert_eq!(session["ended"], true, "{session}");
    let kinds: Vec<&str> = session["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["tag", "worktree"], "{session}");
    assert_eq!(
        session["evidence"][1]["deleted"], !keep_worktree,
        "{session}"
    );
    let text = world
        .command(env!("CARGO_BIN_EXE_limier"))
        .args(["who", &b_port.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "leftover of ended session {a} (tagged ECLUSE_SLUG, cwd in its worktree"
        )),
        "{text}"
    );

    let (status, code) = world.limier(&["ecluse", "status", &b]);
    assert_eq!(code, 1, "{status}");
    let web = &status["sessions"][0]["services"][0];
    assert_eq!(web["verdict"], "wrong_owner", "{status}");
    assert_eq!(web["wrong_owner"], true, "{status}");
    assert_eq!(web["listener_pid"], impostor, "{status}");
    assert_eq!(web["listener_session"]["slug"], a.as_str(), "{status}");
    assert_eq!(web["listener_session"]["ended"], true, "{status}");
    let text = world
        .command(env!("CARGO_BIN_EXE_limier"))
        .args(["ecluse", "status", &b])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("WRONG OWNER"), "{text}");
    assert!(
        text.contains(&format!("leftover of ended session {a}")),
        "{text}"
    );

    // limier ecluse down A: the leftover, nothing else.
    let (report, code) = world.limier(&["ecluse", "down", &a]);
    assert_eq!(code, 0, "{report}");
    let swept: Vec<u32> = fates(&report)
        .into_iter()
        .filter(|(_, fate)| fate != "spared")
        .map(|(pid, _)| pid)
        .collect();
    assert_eq!(swept, [impostor], "{report}");
    assert!(eventually(Duration::from_secs(2), || !alive(impostor)));
    assert_eq!(listener_of(b_port), None, "B's port is free again");
    assert!(alive(b_shell), "B's pane shell lives on");
    assert!(
        listener_of(a_port).is_none(),
        "A's own service went with ecluse down"
    );
    world.run("ecluse", &["down", &b, "--delete-worktree"]);
}

/// SIGTERM to a pid the test found itself.
fn unsafe_kill(pid: u32) {
    let status = Command::new("kill").arg(pid.to_string()).status().unwrap();
    assert!(status.success(), "kill {pid}");
}

#[test]
fn the_leftover_of_an_ended_session_with_its_worktree_kept() {
    a_leftover_of_an_ended_session_on_another_sessions_port(true);
}

#[test]
fn the_leftover_of_an_ended_session_with_its_worktree_removed() {
    a_leftover_of_an_ended_session_on_another_sessions_port(false);
}
