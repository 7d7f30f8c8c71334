//! `limier ecluse` against fixture repos written in ecluse 0.3.1's formats,
//! with real processes behind the pid files.

use crate::support::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A repo laid out exactly as ecluse 0.3.1 lays it out.
struct FixtureRepo {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl FixtureRepo {
    fn new(config: &str) -> FixtureRepo {
        let (dir, root) = temp_dir();
        std::fs::write(root.join(".ecluse.toml"), config).unwrap();
        std::fs::create_dir_all(root.join(".ecluse/worktrees")).unwrap();
        std::fs::write(root.join(".ecluse/state.lock"), "").unwrap();
        FixtureRepo { _dir: dir, root }
    }

    fn worktree(&self, slug: &str) -> PathBuf {
        let path = self.root.join(".ecluse/worktrees").join(slug);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join(".ecluse.toml"), "mode = \"host\"\n").unwrap();
        path
    }

    /// `sessions`: (slug, slot, port_overrides, status).
    fn write_state(&self, sessions: &[(&str, u8, Value, Option<&str>)]) {
        let sessions: Vec<Value> = sessions
            .iter()
            .map(|(slug, slot, ports, status)| {
                let mut session = json!({
                    "slug": slug, "mode": "host", "slot": slot, "branch": slug,
                    "worktree_path": self.root.join(".ecluse/worktrees").join(slug),
                    "compose_project": null, "overlay_file": null, "app_port": null,
                    "started_at": "2026-11-27T10:00:00+00:00",
                    "port_overrides": ports,
                    "process_manager": "nohup",
                    "pid_files": [self.root.join(".ecluse/pids").join(slug).join("web.pid")],
                });
                if let Some(status) = status {
                    session["status"] = json!(status);
                }
                session
            })
            .collect();
        let state = json!({"version": 1, "sessions": sessions});
        std::fs::write(
            self.root.join(".ecluse/state.json"),
            serde_json::to_string_pretty(&state).unwrap(),
        )
        .unwrap();
    }

    /// A daemon escaped from session `slug` (`setsid`, reparented to
    /// init), tagged `ECLUSE_SLUG=slug`, with its cwd in that session's
    /// worktree, listening on a port of its own.
    fn escaped_daemon(&self, slug: &str) -> Scenario {
        let worktree = self.worktree(slug);
        Scenario::start_with(
            &["daemon", worktree.to_str().unwrap()],
            None,
            &[("ECLUSE_SLUG", slug)],
        )
    }

    /// Writes `<pid>\n<ps -o lstart= token>\n`, as ecluse does.
    fn write_pid_file(&self, slug: &str, service: &str, pid: u32) {
        let token = ps_lstart(pid);
        self.write_raw_pid_file(slug, service, &format!("{pid}\n{token}\n"));
    }

    fn write_raw_pid_file(&self, slug: &str, service: &str, text: &str) {
        let dir = self.root.join(".ecluse/pids").join(slug);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{service}.pid")), text).unwrap();
    }

    fn limier(&self, args: &[&str]) -> (Value, i32) {
        let mut all = args.to_vec();
        let root = self.root.to_str().unwrap().to_owned();
        all.extend(["--repo", &root, "--json"]);
        let output = limier(&all);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let value = strict_json(&stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: {e}: {stdout} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (value, output.status.code().unwrap())
    }
}

const CONFIG: &str = r#"
mode = "host"
max_slots = 4

[[services]]
name = "web"
base_port = 7300
command = "python3 -m http.server $PORT"
extra_ports = [{ base_port = 9300, port_env = "WEB_HMR_PORT" }]

[[services]]
name = "db"
base_port = 5432
run = "docker"
"#;

fn service<'a>(report: &'a Value, slug: &str, name: &str) -> &'a Value {
    report["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == slug)
        .unwrap_or_else(|| panic!("no session {slug}: {report}"))["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

#[test]
fn status_reports_a_healthy_service_through_a_wrapper_chain() {
    let repo = FixtureRepo::new(CONFIG);
    let worktree = repo.worktree("alpha");
    let server = Scenario::start_with(
        &["chain", "3"],
        Some(&worktree),
        &[("ECLUSE_SLUG", "alpha")],
    );
    let wrapper = server.root_pid();
    repo.write_state(&[("alpha", 1, json!({"web": server.port()}), None)]);
    repo.write_pid_file("alpha", "web", wrapper);
    let (report, code) = repo.limier(&["ecluse", "status"]);
    assert_eq!(code, 0, "{report}");
    let web = service(&report, "alpha", "web");
    assert_eq!(web["verdict"], "up");
    assert_eq!(web["healthy"], true);
    assert_eq!(web["type"], "native");
    assert_eq!(web["pid"], wrapper);
    assert_eq!(web["port"], server.port());
    assert_eq!(web["listener_pid"], server.pid("leaf"));
    assert_eq!(web["wrong_owner"], false);
    assert_eq!(web["listener_session"]["slug"], "alpha");
    assert_eq!(
        web["pid_file"],
        json!({"pid_file": "verified", "pid": wrapper})
    );
    let db = service(&report, "alpha", "db");
    assert_eq!(db["verdict"], "not_judged");
    assert_eq!(db["healthy"], Value::Null);
    assert_eq!(report["sessions"][0]["all_healthy"], true);
}

#[test]
fn status_reports_a_service_down_and_exits_1() {
    let repo = FixtureRepo::new(CONFIG);
    repo.worktree("alpha");
    let port = free_port();
    repo.write_state(&[("alpha", 1, json!({"web": port}), None)]);
    repo.write_raw_pid_file("alpha", "web", "2000000000\nThu Jan  1 00:00:00 1970\n");
    let (report, code) = repo.limier(&["ecluse", "status", "alpha"]);
    assert_eq!(code, 1);
    let web = service(&report, "alpha", "web");
    assert_eq!(web["verdict"], "down");
    assert_eq!(web["healthy"], false);
    assert_eq!(web["pid_file"]["pid_file"], "dead");
}

#[test]
fn status_names_another_sessions_orphan_as_wrong_owner() {
    let repo = FixtureRepo::new(CONFIG);
    repo.worktree("beta");
    // alpha's escaped daemon squats on the port beta was assigned.
    let squatter = repo.escaped_daemon("alpha");
    let orphan = squatter.pid("daemon");
    let port = squatter.port();
    repo.write_state(&[
        ("alpha", 1, json!({"web": free_port()}), None),
        ("beta", 2, json!({"web": port}), None),
    ]);
    let (report, code) = repo.limier(&["ecluse", "status", "beta"]);
    assert_eq!(code, 1, "{report}");
    let web = service(&report, "beta", "web");
    assert_eq!(web["verdict"], "wrong_owner");
    assert_eq!(web["wrong_owner"], true);
    assert_eq!(web["listener_pid"], orphan);
    assert_eq!(web["listener_session"]["owner"], "session");
    assert_eq!(web["listener_session"]["slug"], "alpha");
    // who, from inside the repo, says the same and warns.
    let output = limier_in(&["who", &port.to_string(), "--json"], Some(&repo.root));
    let who: Value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert_eq!(who["ports"][0]["ecluse"][0]["session"], "beta");
    assert_eq!(who["ports"][0]["ecluse"][0]["service"], "web");
    assert_eq!(
        who["ports"][0]["sockets"][0]["holders"][0]["session"]["slug"],
        "alpha"
    );
    assert!(
        who["warnings"][0]
            .as_str()
            .unwrap()
            .contains("belongs to session alpha"),
        "{who}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("warning: port"));
}

#[test]
fn who_names_slot_and_service_by_the_formula() {
    let repo = FixtureRepo::new(CONFIG);
    repo.write_state(&[]);
    // Slot 3's extra port by the formula: 9300 + 3.
    let output = limier_in(&["who", "9303", "--json"], Some(&repo.root));
    let who: Value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert_eq!(
        who["ports"][0]["ecluse"],
        json!([{"port": 9303, "service": "web", "slot": 3, "kind": "extra", "docker": false, "session": null}])
    );
}

#[test]
fn a_recycled_pid_file_is_never_attributed_or_signalled() {
    let repo = FixtureRepo::new(CONFIG);
    repo.worktree("alpha");
    let bystander = ChildGuard::spawn(Command::new("sleep").arg("60"));
    repo.write_state(&[("alpha", 1, json!({"web": free_port()}), None)]);
    repo.write_raw_pid_file(
        "alpha",
        "web",
        &format!("{}\nWed Jan  1 00:00:00 1986\n", bystander.pid()),
    );
    let (report, _) = repo.limier(&["ecluse", "status", "alpha"]);
    assert_eq!(
        service(&report, "alpha", "web")["pid_file"]["pid_file"],
        "recycled"
    );
    assert!(
        report["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("recycled")),
        "{report}"
    );
    let (down, code) = repo.limier(&["ecluse", "down", "alpha"]);
    assert_eq!(code, 1, "nothing of alpha runs: {down}");
    assert!(alive(bystander.pid()));
}

#[test]
fn a_legacy_pid_file_counts_when_the_tag_agrees() {
    let repo = FixtureRepo::new(CONFIG);
    let worktree = repo.worktree("alpha");
    let server = Scenario::start_with(
        &["chain", "2"],
        Some(&worktree),
        &[("ECLUSE_SLUG", "alpha")],
    );
    repo.write_state(&[("alpha", 1, json!({"web": server.port()}), None)]);
    repo.write_raw_pid_file("alpha", "web", &format!("{}\n", server.root_pid()));
    let (report, code) = repo.limier(&["ecluse", "status"]);
    assert_eq!(code, 0, "{report}");
    let web = service(&report, "alpha", "web");
    assert_eq!(
        web["pid_file"],
        json!({"pid_file": "legacy", "pid": server.root_pid(), "corroborated": true})
    );
    assert_eq!(web["verdict"], "up");
    // Without the tag the same legacy file is not trusted.
    let untagged = Scenario::start(&["chain", "2"]);
    repo.write_state(&[("alpha", 1, json!({"web": untagged.port()}), None)]);
    repo.write_raw_pid_file("alpha", "web", &format!("{}\n", untagged.root_pid()));
    let (report, _) = repo.limier(&["ecluse", "status"]);
    let web = service(&report, "alpha", "web");
    assert_eq!(web["pid_file"]["corroborated"], false);
    assert_eq!(
        web["verdict"], "wrong_owner",
        "an unverified listener is not ours: {report}"
    );
}

#[test]
fn down_catches_setsid_escapees_by_tag_and_by_deleted_worktree() {
    let repo = FixtureRepo::new(CONFIG);
    let gamma = repo.worktree("gamma");
    let home = gamma.join("app");
    std::fs::create_dir_all(&home).unwrap();
    // Tagged, and living in the main checkout: this repo's gamma.
    let tagged = Scenario::start_with(
        &["daemon", repo.root.to_str().unwrap(), "0"],
        None,
        &[("ECLUSE_SLUG", "gamma")],
    );
    let resident = Scenario::start(&["daemon", home.to_str().unwrap(), "0"]);
    let other = repo.worktree("delta");
    let neighbour = Scenario::start_with(
        &["cwd", other.to_str().unwrap()],
        None,
        &[("ECLUSE_SLUG", "delta")],
    );
    // ecluse already forgot gamma and its worktree is gone.
    repo.write_state(&[("delta", 2, json!({"web": free_port()}), None)]);
    std::fs::remove_dir_all(&gamma).unwrap();
    let (dry, _) = repo.limier(&["ecluse", "down", "gamma", "--dry-run"]);
    let mut expected = vec![tagged.pid("daemon"), resident.pid("daemon")];
    expected.sort_unstable();
    assert_eq!(swept_pids(&dry), expected, "{dry}");
    assert!(
        dry["skipped"].as_array().unwrap().iter().any(|s| s
            .as_str()
            .unwrap()
            .contains(&format!("pid {} is tagged", tagged.root_pid()))),
        "the tagged parent outside the repo is left alone and said so: {dry}"
    );
    let (report, code) = repo.limier(&["ecluse", "down", "gamma"]);
    assert_eq!(code, 0, "{report}");
    assert!(eventually(Duration::from_secs(2), || !alive(
        tagged.pid("daemon")
    ) && !alive(
        resident.pid("daemon")
    )));
    assert!(
        alive(neighbour.pid("cwd")),
        "delta's process is not gamma's"
    );
}

#[test]
fn down_leaves_a_terminal_in_the_worktree_to_its_user() {
    let repo = FixtureRepo::new(CONFIG);
    let alpha = repo.worktree("alpha");
    let alpha_text = alpha.to_str().unwrap();
    // The session's service (tagged), a detached process living in the
    // worktree, and a user's shell there on a terminal of its own.
    let service = Scenario::start_with(&["cwd", alpha_text], None, &[("ECLUSE_SLUG", "alpha")]);
    let resident = Scenario::start(&["cwd", alpha_text]);
    let terminal = Scenario::start(&["terminal", alpha_text]);
    repo.write_state(&[("alpha", 1, json!({}), None)]);
    let (report, code) = repo.limier(&["ecluse", "down", "alpha"]);
    let user = terminal.pid("terminal");
    let entry = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == user)
        .unwrap_or_else(|| panic!("the terminal is listed: {report}"));
    assert_eq!(entry["fate"], "spared", "{report}");
    let why = entry["why"]["detail"].as_str().unwrap();
    assert!(
        why.starts_with("runs on a terminal (pts/")
            && why.ends_with("tied to session alpha by worktree use alone: a user's, left alone"),
        "{why}"
    );
    assert_eq!(
        code, 3,
        "a spare that is not protection shows in the exit code"
    );
    assert!(eventually(Duration::from_secs(2), || !alive(
        service.pid("cwd")
    ) && !alive(
        resident.pid("cwd")
    )));
    assert!(alive(user), "the user's terminal is left alone");
    // flush leaves it too.
    let (flush, _) = repo.limier(&["ecluse", "flush", "--dry-run"]);
    let fate = flush["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == user)
        .map(|p| p["fate"].clone());
    assert_eq!(fate, Some(json!("spared")), "{flush}");
}

#[test]
fn down_ends_a_port_squatter_with_its_children() {
    let repo = FixtureRepo::new(CONFIG);
    repo.worktree("gamma");
    // A server started by hand outside the repo holds gamma's port; its
    // worker holds no socket and has no evidence of its own.
    let mut squatter = ChildGuard::spawn(
        Command::new("python3")
            .arg("-c")
            .arg(
                "import os, socket, sys, time\n\
                 s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n\
                 child = os.fork()\n\
                 if child == 0:\n    s.close(); time.sleep(60); os._exit(0)\n\
                 print(s.getsockname()[1], child, flush=True)\n\
                 time.sleep(60)\n",
            )
            .current_dir("/")
            .stdout(std::process::Stdio::piped()),
    );
    let line = squatter.first_line();
    let mut words = line.split_whitespace();
    let port: u16 = words.next().unwrap().parse().unwrap();
    let worker: u32 = words.next().unwrap().parse().unwrap();
    repo.write_state(&[("gamma", 3, json!({"web": port}), None)]);
    let (report, code) = repo.limier(&["ecluse", "down", "gamma"]);
    assert_eq!(code, 0, "{report}");
    assert!(
        eventually(Duration::from_secs(3), || !alive(squatter.pid())
            && !alive(worker)),
        "the squatter {} or its worker {worker} survived: {report}",
        squatter.pid()
    );
    let selected: Vec<String> = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["pid"] == worker)
        .map(|p| p["selected_by"][0]["selector"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        selected,
        vec![format!(
            "below pid {}, which holds web's port {port}",
            squatter.pid()
        )]
    );
}

#[test]
fn a_terminal_holding_the_session_s_port_is_not_spared() {
    let repo = FixtureRepo::new(CONFIG);
    let beta = repo.worktree("beta");
    let port = free_port();
    // `npm run dev` typed in a terminal in the worktree: the next session
    // needs its port.
    let server = Scenario::start(&["terminal", beta.to_str().unwrap(), &port.to_string()]);
    let pid = server.pid("terminal");
    repo.write_state(&[("beta", 2, json!({"web": port}), None)]);
    let (report, code) = repo.limier(&["ecluse", "down", "beta"]);
    assert_eq!(code, 0, "{report}");
    assert!(
        eventually(Duration::from_secs(2), || !alive(pid)),
        "the terminal holding the session's port {port} was left: {report}"
    );
}

#[test]
fn down_spares_a_process_with_conflicting_evidence() {
    let repo = FixtureRepo::new(CONFIG);
    let alpha = repo.worktree("alpha");
    repo.worktree("beta");
    // Tagged for beta, living in alpha's worktree.
    let confused = Scenario::start_with(
        &["cwd", alpha.to_str().unwrap()],
        None,
        &[("ECLUSE_SLUG", "beta")],
    );
    repo.write_state(&[("alpha", 1, json!({}), None), ("beta", 2, json!({}), None)]);
    let (report, code) = repo.limier(&["ecluse", "down", "alpha"]);
    let pid = confused.pid("cwd");
    let entry = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == pid)
        .expect("listed");
    assert_eq!(entry["fate"], "spared");
    assert_eq!(
        entry["why"]["detail"], "conflict: beta (tagged ECLUSE_SLUG) / alpha (cwd in its worktree)",
        "{report}"
    );
    assert_eq!(
        code, 3,
        "a non-protection spare is reported in the exit code"
    );
    assert!(report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s.as_str().unwrap()
            == format!("pid {pid}: {}", entry["why"]["detail"].as_str().unwrap())));
    assert!(alive(pid));
}

#[test]
fn a_stopped_session_is_reported_and_can_be_swept() {
    let repo = FixtureRepo::new(CONFIG);
    let worktree = repo.worktree("old");
    let leftover = Scenario::start_with(
        &["cwd", worktree.to_str().unwrap()],
        None,
        &[("ECLUSE_SLUG", "old")],
    );
    repo.write_state(&[("old", 1, json!({"web": free_port()}), Some("stopped"))]);
    let (report, _) = repo.limier(&["ecluse", "status"]);
    assert_eq!(report["sessions"][0]["status"], "stopped");
    let (report, code) = repo.limier(&["ecluse", "down", "old"]);
    assert_eq!(code, 0, "{report}");
    assert!(eventually(Duration::from_secs(2), || !alive(
        leftover.pid("cwd")
    )));
}

#[test]
fn flush_dry_run_covers_worktrees_tags_and_native_ports_and_skips_docker() {
    let repo = FixtureRepo::new(CONFIG);
    let a = repo.worktree("a");
    repo.worktree("b");
    let sitter = Scenario::start(&["cwd", a.to_str().unwrap()]);
    // A tagged daemon whose worktree was removed under it: its cwd is the
    // deleted directory, selected by the tag and by the path it had.
    let tagged = repo.escaped_daemon("c");
    std::fs::remove_dir_all(repo.worktree("c")).unwrap();
    repo.write_state(&[("b", 2, json!({}), None)]);
    let (report, code) = repo.limier(&["ecluse", "flush", "--dry-run"]);
    assert_eq!(code, 0, "{report}");
    let processes = report["processes"].as_array().unwrap();
    assert!(processes
        .iter()
        .any(|p| p["pid"] == sitter.pid("cwd") && p["fate"] == "would_signal"));
    let daemon = processes
        .iter()
        .find(|p| p["pid"] == tagged.pid("daemon"))
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(daemon["fate"], "would_signal", "{report}");
    assert!(
        daemon["selected_by"]
            .to_string()
            .contains("tagged ECLUSE_SLUG=c"),
        "{report}"
    );
    let skipped = report["skipped"].as_array().unwrap();
    assert!(
        skipped.iter().any(|s| s
            .as_str()
            .unwrap()
            .starts_with("docker service ports left alone: 5433 (db slot 1)")),
        "{report}"
    );
    assert!(alive(sitter.pid("cwd")));
}

fn assert_ecluse_error(repo: &Path, args: &[&str], needle: &str) {
    let mut all = args.to_vec();
    let root = repo.to_str().unwrap().to_owned();
    all.extend(["--repo", &root]);
    assert_usage_error(&all, needle);
}

#[test]
fn malformed_ecluse_files_are_one_line_errors_or_skips() {
    let (_guard, empty) = temp_dir();
    assert_ecluse_error(&empty, &["ecluse", "status"], "no .ecluse.toml");

    let repo = FixtureRepo::new("mode = [");
    assert_ecluse_error(&repo.root, &["ecluse", "status"], ".ecluse.toml");
    let repo = FixtureRepo::new("mode = \"cloud\"\n");
    assert_ecluse_error(
        &repo.root,
        &["ecluse", "flush", "--dry-run"],
        "mode \"cloud\"",
    );

    let repo = FixtureRepo::new(CONFIG);
    std::fs::write(
        repo.root.join(".ecluse/state.json"),
        "{\"version\":1,\"sessions\":[{\"slug\":",
    )
    .unwrap();
    assert_ecluse_error(&repo.root, &["ecluse", "status"], "state.json");
    std::fs::write(
        repo.root.join(".ecluse/state.json"),
        "{\"version\":7,\"sessions\":[]}",
    )
    .unwrap();
    assert_ecluse_error(
        &repo.root,
        &["ecluse", "down", "x"],
        "state version 7 is not supported",
    );

    repo.write_state(&[("alpha", 1, json!({}), None)]);
    assert_ecluse_error(
        &repo.root,
        &["ecluse", "status", "nope"],
        "no session \"nope\" in .ecluse/state.json (ended, or never started)",
    );
    assert_ecluse_error(
        &repo.root,
        &["ecluse", "down", "nope"],
        "no session \"nope\": not in .ecluse/state.json, and nothing of it remains",
    );
    repo.write_raw_pid_file("alpha", "web", "\u{0}garbage\u{7f}\n");
    let (report, _) = repo.limier(&["ecluse", "status"]);
    assert_eq!(
        service(&report, "alpha", "web")["pid_file"]["pid_file"],
        "invalid"
    );
    assert!(report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s.as_str().unwrap().contains("web.pid")));
}

#[test]
fn a_state_lock_held_too_long_is_an_error_not_a_hang() {
    let repo = FixtureRepo::new(CONFIG);
    repo.write_state(&[]);
    let lock = repo.root.join(".ecluse/state.lock");
    let holder = Scenario::from_command({
        let mut command = Command::new("python3");
        command.arg("-c").arg(format!(
            "import fcntl,os,time,json\nf=open({:?},'w')\nfcntl.flock(f,fcntl.LOCK_EX)\nprint(json.dumps({{'role':'locker','pid':os.getpid()}}))\nprint(json.dumps({{'ready':True}}),flush=True)\ntime.sleep(30)",
            lock.to_str().unwrap()
        ));
        command
    });
    // It gave up at its timeout (the holder keeps the lock for 30 s).
    assert_ecluse_error(
        &repo.root,
        &["ecluse", "status", "--lock-timeout", "300ms"],
        "held exclusively by another process for more than 300ms",
    );
    drop(holder);
}

#[test]
fn the_repo_is_found_from_inside_a_worktree() {
    let repo = FixtureRepo::new(CONFIG);
    // The worktree holds its own copy of .ecluse.toml, as a git checkout does.
    let worktree = repo.worktree("alpha");
    let deep = worktree.join("src/app");
    std::fs::create_dir_all(&deep).unwrap();
    repo.write_state(&[("alpha", 1, json!({"web": free_port()}), None)]);
    let output = limier_in(&["ecluse", "status", "--json"], Some(&deep));
    let report: Value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert_eq!(
        report["repo"],
        repo.root.to_str().unwrap(),
        "the root above the worktree"
    );
    assert_eq!(report["sessions"][0]["slug"], "alpha");
}

/// The ecluse commands speak the JSON every other command speaks (one
/// version, one name per fact), and docs/JSON.md's ecluse examples name
/// only fields they print: the ecluse-only fields of `who` and `kill`
/// included, which the plain commands never print.
#[test]
fn ecluse_commands_speak_the_documented_json() {
    use crate::json::{assert_documented_keys_printed, key_names, same_names_for_the_same_facts};
    use std::collections::BTreeSet;
    let repo = FixtureRepo::new(CONFIG);
    repo.worktree("beta");
    // alpha's escaped daemon squats on beta's port: a wrong owner with
    // evidence; alpha's own service is up behind a verified pid file.
    let squatter = repo.escaped_daemon("alpha");
    let alpha = repo.worktree("alpha");
    let server = Scenario::start_with(&["chain", "2"], Some(&alpha), &[("ECLUSE_SLUG", "alpha")]);
    repo.write_state(&[
        ("alpha", 1, json!({"web": server.port()}), None),
        ("beta", 2, json!({"web": squatter.port()}), None),
    ]);
    repo.write_pid_file("alpha", "web", server.root_pid());
    let port = squatter.port().to_string();
    let root = repo.root.to_str().unwrap();
    let runs: [(&str, &[&str]); 4] = [
        ("## `limier ecluse status", &["ecluse", "status"]),
        ("## `limier who", &["who", &port, "--repo", root]),
        ("## `limier kill", &["ecluse", "down", "beta", "--dry-run"]),
        ("## `limier kill", &["ecluse", "flush", "--dry-run"]),
    ];
    let mut printed: std::collections::BTreeMap<&str, BTreeSet<String>> = Default::default();
    for (heading, args) in runs {
        let (value, code) = if args[0] == "who" {
            let mut all = args.to_vec();
            all.push("--json");
            let output = limier(&all);
            let stdout = String::from_utf8_lossy(&output.stdout);
            (
                strict_json(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}")),
                output.status.code().unwrap(),
            )
        } else {
            repo.limier(args)
        };
        assert!(code == 0 || code == 1, "{args:?}: exit {code}: {value}");
        assert_eq!(value["schema_version"], 1, "{args:?}: {value}");
        same_names_for_the_same_facts(args, &value);
        key_names(&value, printed.entry(heading).or_default());
    }
    // The hidden holder's `unseen` kind, the example's ellipsis, and the
    // fates only a real kill or a spared ancestor prints (json.rs checks
    // those on plain `kill`).
    let elsewhere = [
        "...",
        "kind",
        "why",
        "reason",
        "detail",
        "unreaped_by",
        // Readers in `sources.*.served`: they depend on privilege and kernel.
        "kernel-iterator",
        "stat-file",
    ];
    for (heading, printed) in &printed {
        assert_documented_keys_printed(heading, printed, &elsewhere);
    }
    assert!(alive(squatter.pid("daemon")) && alive(server.pid("leaf")));
}

/// A tagged process whose cwd reads as a worktree's path but is another
/// mount namespace's private tmpfs there (entered through
/// `/proc/PID/cwd`): flush places its cwd by the mount it is on, so the
/// tag alone selects nothing.
#[test]
fn flush_does_not_take_a_tagged_process_in_another_namespaces_mount_for_a_worktree_s() {
    let repo = FixtureRepo::new(CONFIG);
    let worktree = repo.worktree("a");
    let w = worktree.display();
    let mut private = ChildGuard::spawn(
        Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
            .arg(format!(
                "mount -t tmpfs t {w} && cd {w} && echo ready && exec sleep 600"
            ))
            .stdout(std::process::Stdio::piped()),
    );
    assert_eq!(private.first_line(), "ready");
    let mut visitor = ChildGuard::spawn(
        Command::new("sh")
            .args(["-c"])
            .arg(format!(
                "cd /proc/{}/cwd && echo ready && exec sleep 600",
                private.pid()
            ))
            .env("ECLUSE_SLUG", "a")
            .current_dir("/")
            .stdout(std::process::Stdio::piped()),
    );
    assert_eq!(visitor.first_line(), "ready");
    let cwd = std::fs::read_link(format!("/proc/{}/cwd", visitor.pid())).unwrap();
    assert_eq!(cwd, worktree, "its cwd reads as the worktree");
    let (report, _) = repo.limier(&["ecluse", "flush", "--dry-run"]);
    let selected: Vec<u64> = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["fate"] == "would_signal")
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    assert!(
        !selected.contains(&u64::from(visitor.pid())),
        "the visitor uses another directory: {report}"
    );
    assert!(
        report["skipped"].to_string().contains(&format!(
            "pid {} is tagged ECLUSE_SLUG=a but uses nothing inside",
            visitor.pid()
        )),
        "{report}"
    );
}
