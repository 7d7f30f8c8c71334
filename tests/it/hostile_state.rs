//! Hostile or broken state, tried as an attacker would: pid files naming
//! init or the test's own shell, a worktree_path of /usr, state files that
//! are FIFOs, links to /dev/zero or floods, directory sweeps of system
//! trees. Nothing wrong is selected, nothing hangs, each refusal is one line.

use crate::support::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A repo in ecluse 0.3.1's layout with one session, `alpha`, in slot 1.
struct Repo {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Repo {
    fn new(worktree_path: Option<&Path>) -> Repo {
        let (dir, root) = temp_dir();
        std::fs::write(
            root.join(".ecluse.toml"),
            "mode = \"host\"\nmax_slots = 4\n\n[[services]]\nname = \"web\"\nbase_port = 7300\ncommand = \"x\"\n",
        )
        .unwrap();
        let worktree = root.join(".ecluse/worktrees/alpha");
        std::fs::create_dir_all(&worktree).unwrap();
        std::fs::write(root.join(".ecluse/state.lock"), "").unwrap();
        let state = json!({"version": 1, "sessions": [{
            "slug": "alpha", "mode": "host", "slot": 1, "branch": "alpha",
            "worktree_path": worktree_path.unwrap_or(&worktree),
            "started_at": "2026-11-27T10:00:00+00:00",
            "process_manager": "nohup", "pid_files": []
        }]});
        std::fs::write(root.join(".ecluse/state.json"), state.to_string()).unwrap();
        Repo { _dir: dir, root }
    }

    /// A pid file for `pid` with the start token ecluse writes (`ps -o lstart=`).
    fn pid_file(&self, pid: u32) {
        let token = ps_lstart(pid);
        let dir = self.root.join(".ecluse/pids/alpha");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("web.pid"), format!("{pid}\n{token}\n")).unwrap();
    }

    fn state_path(&self) -> PathBuf {
        self.root.join(".ecluse/state.json")
    }

    /// `limier ecluse ARGS --repo ROOT --json`, bounded in time.
    fn run(&self, args: &[&str]) -> (Option<Value>, i32, String) {
        let output = output_within(
            Command::new(env!("CARGO_BIN_EXE_limier")).args(args).args([
                "--repo",
                self.root.to_str().unwrap(),
                "--json",
            ]),
            Duration::from_secs(20),
        );
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (
            strict_json(&stdout).ok(),
            output.status.code().unwrap_or(-1),
            stderr,
        )
    }
}

/// The parent of this test process: the shell or cargo that runs the tests,
/// an ancestor of every limier it starts.
fn parent_pid() -> u32 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    stat.rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_pid_file_naming_init_or_limiers_own_ancestor_selects_nothing() {
    // A child of the test's parent (a sibling of this test): what a pid
    // file naming the parent would have taken with it.
    let sibling = ChildGuard::spawn(Command::new("sleep").arg("60"));
    for named in [1, parent_pid()] {
        let repo = Repo::new(None);
        repo.pid_file(named);
        let (report, code, stderr) = repo.run(&["ecluse", "down", "alpha", "--dry-run"]);
        let report = report.unwrap_or_else(|| panic!("pid {named}: no JSON ({stderr})"));
        let swept = swept_pids(&report);
        assert!(
            swept.is_empty(),
            "pid file naming {named} selected {swept:?}: {report}"
        );
        assert_eq!(code, 1, "nothing to do: {report}");
        let skipped = report["skipped"].to_string();
        assert!(
            skipped.contains(&format!("pid {named} is")) && skipped.contains("selects nothing"),
            "{skipped}"
        );
    }
    assert!(alive(sibling.pid()));
}

#[test]
fn a_pid_file_naming_an_older_untagged_process_is_a_note_not_a_kill() {
    // A session that started a minute after the process (the slack for
    // clocks rounding differently is 2 s).
    let old = ChildGuard::spawn(Command::new("sleep").arg("60"));
    let repo = Repo::new(None);
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.state_path()).unwrap()).unwrap();
    let now = std::process::Command::new("date")
        .args(["-u", "-d", "+60 seconds", "+%Y-%m-%dT%H:%M:%S+00:00"])
        .output()
        .unwrap();
    state["sessions"][0]["started_at"] = json!(String::from_utf8_lossy(&now.stdout).trim());
    std::fs::write(repo.state_path(), state.to_string()).unwrap();
    repo.pid_file(old.pid());
    let (report, _, stderr) = repo.run(&["ecluse", "down", "alpha", "--dry-run"]);
    let report = report.unwrap_or_else(|| panic!("no JSON ({stderr})"));
    assert!(swept_pids(&report).is_empty(), "{report}");
    assert!(
        report["skipped"]
            .to_string()
            .contains("started before session alpha"),
        "{report}"
    );
    assert!(alive(old.pid()));
}

#[test]
fn a_worktree_path_outside_the_repo_is_refused_and_nothing_below_it_selected() {
    // Another user's home: a directory with a process living in it.
    let (_other, other_home) = temp_dir();
    let bystander = ChildGuard::spawn(Command::new("sleep").arg("60").current_dir(&other_home));
    let other = other_home.to_str().unwrap().to_owned();
    for worktree in ["/usr", "/etc", other.as_str()] {
        let repo = Repo::new(Some(Path::new(worktree)));
        let (report, _, stderr) = repo.run(&["ecluse", "down", "alpha", "--dry-run"]);
        let report = report.unwrap_or_else(|| panic!("{worktree}: no JSON ({stderr})"));
        let swept = swept_pids(&report);
        assert!(swept.is_empty(), "{worktree}: {report}");
        assert!(
            report["skipped"]
                .to_string()
                .contains(&format!("{worktree} is neither below worktree_dir")),
            "{report}"
        );
        let (status, _, stderr) = repo.run(&["ecluse", "status"]);
        let status = status.unwrap_or_else(|| panic!("no JSON ({stderr})"));
        assert!(status["skipped"].to_string().contains(worktree), "{status}");
    }
    assert!(alive(bystander.pid()));
}

/// A state.json hard-linked to a file elsewhere is read as what it is: a
/// regular file within the cap, whose text decides; text that is not a
/// state is one error line.
#[test]
fn a_hard_linked_state_file_is_only_text() {
    let repo = Repo::new(None);
    let (_guard, elsewhere) = temp_dir();
    let target = elsewhere.join("not-state.txt");
    std::fs::write(&target, "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::remove_file(repo.state_path()).unwrap();
    std::fs::hard_link(&target, repo.state_path()).unwrap();
    let (_, code, stderr) = repo.run(&["ecluse", "down", "alpha", "--dry-run"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("state.json"), "{stderr}");
}

#[test]
fn state_files_that_block_link_or_flood_are_one_line_errors_at_once() {
    let make_fifo = |path: &Path| {
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    };
    type Plant = fn(&Path, &dyn Fn(&Path));
    let plants: [(&str, Plant, &str); 3] = [
        ("fifo", |p, fifo| fifo(p), "is a FIFO"),
        (
            "link to /dev/zero",
            |p, _| std::os::unix::fs::symlink("/dev/zero", p).unwrap(),
            "symbolic link",
        ),
        (
            "flood",
            |p, _| {
                let file = std::fs::File::create(p).unwrap();
                file.set_len(65 << 20).unwrap();
            },
            "larger than",
        ),
    ];
    for (what, plant, needle) in plants {
        let repo = Repo::new(None);
        std::fs::remove_file(repo.state_path()).unwrap();
        plant(&repo.state_path(), &make_fifo);
        for command in [
            &["ecluse", "status"][..],
            &["ecluse", "down", "alpha", "--dry-run"],
        ] {
            let started = Instant::now();
            let (_, code, stderr) = repo.run(command);
            assert_eq!(code, 2, "{what} {command:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
            assert!(
                stderr.contains("state.json") && stderr.contains(needle),
                "{what}: {stderr}"
            );
            // Not a wait for a writer, not a read of 4 GB.
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{what}: {:?}",
                started.elapsed()
            );
        }
    }
}

#[test]
fn a_pid_file_that_is_a_fifo_is_skipped_and_said() {
    let repo = Repo::new(None);
    let dir = repo.root.join(".ecluse/pids/alpha");
    std::fs::create_dir_all(&dir).unwrap();
    let c = std::ffi::CString::new(dir.join("web.pid").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (report, _, stderr) = repo.run(&["ecluse", "status"]);
    let report = report.unwrap_or_else(|| panic!("no JSON ({stderr})"));
    assert!(
        report["skipped"].to_string().contains("is a FIFO"),
        "{report}"
    );
}

#[test]
fn kill_by_a_system_directory_is_refused_unless_allowed() {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    for dir in ["/usr", "/usr/lib", "/etc", "/lib", "/dev", "/proc", "/home"] {
        assert_usage_error(
            &["kill", "--dir", dir, "--dry-run"],
            "a sweep of it would select nearly every process",
        );
    }
    // The home directory itself, by the user database (what HOME usually says).
    if Path::new(&home).is_dir()
        && limier::platform::home_dir(limier::platform::effective_uid()).as_deref()
            == Some(Path::new(&home))
    {
        assert_usage_error(
            &["kill", "--dir", &home, "--dry-run"],
            "a home directory itself",
        );
    }
    // Meant: allowed, and still a dry run.
    let output = limier(&[
        "kill",
        "--dir",
        "/usr/share/zoneinfo",
        "--dry-run",
        "--allow-system-dir",
        "--json",
    ]);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{output:?}");
    // A project directory is no system directory.
    let (_guard, project) = temp_dir();
    let output = limier(&["kill", "--dir", project.to_str().unwrap(), "--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
}

/// Inside a pid namespace (a user namespace makes one without root), pid 2
/// is the namespace's second process, not kthreadd: `tree` lists it and
/// `kill --pid 2` selects it.
#[test]
fn pid_two_in_a_pid_namespace_is_an_ordinary_process() {
    let limier = env!("CARGO_BIN_EXE_limier");
    let script = format!(
        "sleep 30 & sleep 30 & sleep 0.3; {limier} kill --pid 2 --dry-run --json; {limier} tree --json"
    );
    let output = output_within(
        Command::new("unshare")
            .args([
                "--user",
                "--map-root-user",
                "--pid",
                "--fork",
                "--mount-proc",
                "sh",
                "-c",
            ])
            .arg(&script),
        Duration::from_secs(20),
    );
    if !output.status.success() && output.stdout.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("skipped: no user and pid namespace here ({stderr})");
        return;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut documents = serde_json::Deserializer::from_str(&stdout).into_iter::<Value>();
    let kill = documents.next().unwrap().unwrap();
    assert_eq!(fates(&kill), [(2, "would_signal".to_string())], "{kill}");
    let tree = documents.next().unwrap().unwrap().to_string();
    for pid in ["\"pid\":2", "\"pid\":3"] {
        assert!(tree.contains(pid), "{pid} missing from the tree: {tree}");
    }
}

/// In a pid namespace whose /proc is still its parent's (`unshare --pid
/// --fork` without `--mount-proc`), /proc's pids name other processes to
/// kill(2) here: limier refuses, in one line, before reading or signalling
/// anything — and the innocent process that is pid 3 here lives.
#[test]
fn a_proc_of_another_pid_namespace_is_refused_in_one_line() {
    let limier = env!("CARGO_BIN_EXE_limier");
    let script = format!(
        "sleep 30 & sleep 30 & sleep 0.3; {limier} kill --pid 3 --grace 100ms; echo \"exit $?\"; kill -0 3 && echo alive"
    );
    let output = output_within(
        Command::new("unshare")
            .args(["--user", "--map-root-user", "--pid", "--fork", "sh", "-c"])
            .arg(&script),
        Duration::from_secs(20),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stdout.contains("exit ") {
        eprintln!("skipped: no user and pid namespace here ({stderr})");
        return;
    }
    assert!(stdout.contains("exit 2"), "{stdout} {stderr}");
    assert!(
        stdout.contains("alive"),
        "pid 3 of the namespace was signalled: {stdout}"
    );
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("limier:"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("belongs to another pid namespace"),
        "{stderr}"
    );
}

/// A pid file past its cap (512 bytes) is one error line, exit 2: no pid
/// file ecluse wrote is that large.
#[test]
fn an_oversized_pid_file_is_one_error_line() {
    let repo = Repo::new(None);
    let dir = repo.root.join(".ecluse/pids/alpha");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("web.pid"), format!("1\n{}\n", "x".repeat(600))).unwrap();
    for command in [
        &["ecluse", "status"][..],
        &["ecluse", "down", "alpha", "--dry-run"],
    ] {
        let (_, code, stderr) = repo.run(command);
        assert_eq!(code, 2, "{command:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("web.pid: is larger than 512 bytes"),
            "{stderr}"
        );
    }
}

/// Slugs are joined to directories: a tag `ECLUSE_SLUG=../../../../usr` (or
/// `/usr`) on a process in the repo names no session, and a flush selects
/// nothing of /usr's users through it.
#[test]
fn a_slug_that_climbs_out_of_the_repo_names_no_session() {
    let repo = Repo::new(None);
    let bystander = ChildGuard::spawn(Command::new("sleep").arg("60").current_dir("/usr"));
    let mut tagged = Vec::new();
    for slug in ["../../../../../../../../usr", "/usr"] {
        tagged.push(ChildGuard::spawn(
            Command::new("sleep")
                .arg("60")
                .current_dir(&repo.root)
                .env("ECLUSE_SLUG", slug),
        ));
    }
    let (report, _, stderr) = repo.run(&["ecluse", "flush", "--dry-run"]);
    let report = report.unwrap_or_else(|| panic!("no JSON ({stderr})"));
    let swept = swept_pids(&report);
    assert!(!swept.contains(&bystander.pid()), "{report}");
    let (_, code, stderr) = repo.run(&["ecluse", "down", "../../usr", "--dry-run"]);
    assert_eq!(code, 2, "{stderr}");
    // A state.json with such a slug is refused whole.
    let state = r#"{"version": 1, "sessions": [{"slug": "../../usr", "slot": 1, "worktree_path": "/usr"}]}"#;
    std::fs::write(repo.state_path(), state).unwrap();
    let (_, code, stderr) = repo.run(&["ecluse", "flush", "--dry-run"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a single path component"), "{stderr}");
    assert!(alive(bystander.pid()));
}

/// A pid file path state.json lists outside `.ecluse/pids/<slug>/` is never
/// opened (a tty, a file on a dead mount), and said.
#[test]
fn a_listed_pid_file_outside_the_pid_directory_is_never_read() {
    let repo = Repo::new(None);
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.state_path()).unwrap()).unwrap();
    state["sessions"][0]["pid_files"] = json!(["/dev/zero", "/etc/hostname"]);
    std::fs::write(repo.state_path(), state.to_string()).unwrap();
    let (report, _, stderr) = repo.run(&["ecluse", "status"]);
    let report = report.unwrap_or_else(|| panic!("no JSON ({stderr})"));
    let skipped = report["skipped"].to_string();
    assert!(
        skipped.contains("/dev/zero") && skipped.contains("not read"),
        "{skipped}"
    );
}

/// A worktree_dir of `..` (the repo's parent) or `/usr` is not swept and
/// gives no evidence.
#[test]
fn a_worktree_dir_above_the_repo_or_in_the_system_is_not_swept() {
    for worktree_dir in ["..", "/usr"] {
        let repo = Repo::new(None);
        let config = format!(
            "mode = \"host\"\nmax_slots = 4\nworktree_dir = \"{worktree_dir}\"\n\n[[services]]\nname = \"web\"\nbase_port = 7300\ncommand = \"x\"\n"
        );
        std::fs::write(repo.root.join(".ecluse.toml"), config).unwrap();
        let beside = ChildGuard::spawn(
            Command::new("sleep")
                .arg("60")
                .current_dir(repo.root.parent().unwrap()),
        );
        let (report, _, stderr) = repo.run(&["ecluse", "flush", "--dry-run"]);
        let report = report.unwrap_or_else(|| panic!("{worktree_dir}: no JSON ({stderr})"));
        assert!(!swept_pids(&report).contains(&beside.pid()), "{report}");
        assert!(
            report["skipped"].to_string().contains("worktree_dir"),
            "{worktree_dir}: {report}"
        );
    }
}
