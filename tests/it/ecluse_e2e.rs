//! End to end against the real ecluse 0.3.1 (installed by .ci/run) in tmux:
//! ecluse's own teardown leaves a setsid child holding its port; limier
//! reports the session, then removes what ecluse left.

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
    slug: String,
}

impl EcluseWorld {
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
        let tag = format!("ECLUSE_SLUG={}", self.slug);
        let _ = Command::new(env!("CARGO_BIN_EXE_limier"))
            .args(["kill", "--env", &tag, "--grace", "200ms"])
            .output();
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
    let (dir, root) = temp_dir();
    let world = EcluseWorld {
        home: root.join("home"),
        tmux_dir: root.join("tmux"),
        repo: root.join("repo"),
        slug: format!("e2e-{}", std::process::id()),
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
    let (main_port, side_port) = (free_port(), free_port());
    std::fs::write(
        world.repo.join(".ecluse.toml"),
        format!(
            "mode = \"host\"\nmax_slots = 2\n\n[[services]]\nname = \"web\"\nbase_port = {}\ncommand = \"sh ./serve.sh\"\nextra_ports = [{{ base_port = {}, port_env = \"WEB_SIDE_PORT\" }}]\n",
            main_port - 1,
            side_port - 1
        ),
    )
    .unwrap();
    // A wrapper chain (pane sh → sh serve.sh → sh -c → python) plus a setsid child.
    std::fs::write(
        world.repo.join("serve.sh"),
        "#!/bin/sh\nsetsid python3 -m http.server \"$WEB_SIDE_PORT\" --bind 127.0.0.1 >/dev/null 2>&1 &\nsh -c 'python3 -m http.server \"$PORT\" --bind 127.0.0.1'\n",
    )
    .unwrap();
    world.run("git", &["init", "-q"]);
    world.run("git", &["add", "."]);
    world.run("git", &["commit", "-qm", "init"]);
    world.run("ecluse", &["up", &world.slug]);

    assert!(
        eventually(Duration::from_secs(15), || listener_of(main_port).is_some()
            && listener_of(side_port).is_some()),
        "the service never listened on {main_port} and {side_port}"
    );
    let (status, code) = world.limier(&["ecluse", "status", &world.slug]);
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

    world.run("ecluse", &["down", &world.slug, "--keep-worktree"]);
    assert!(
        eventually(Duration::from_secs(10), || listener_of(main_port).is_none()),
        "ecluse stopped the main server"
    );
    let escapee = listener_of(side_port).expect("the setsid child survived ecluse down");
    assert!(
        eventually(Duration::from_secs(5), || ppid_of(escapee) == Some(1)),
        "reparented to init"
    );

    let (report, code) = world.limier(&["ecluse", "down", &world.slug]);
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
                    .any(|var| var == format!("ECLUSE_SLUG={}", world.slug).as_bytes())
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
