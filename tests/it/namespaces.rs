//! The right process and the right directory across mount and pid
//! namespaces: private mounts over a directory, bind mounts, a user
//! namespace impostor, and a pid reused within one clock tick.

use crate::support::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

/// A shell started by `program args…` that runs `script`, says `ready`
/// and becomes `sleep 600` (the same pid throughout: `unshare` without
/// `--fork` and `exec`).
fn ready(program: &[&str], script: &str) -> ChildGuard {
    let mut command = Command::new(program[0]);
    command
        .args(&program[1..])
        .args(["sh", "-c"])
        .arg(format!("{script} && echo ready && exec sleep 600"))
        .stdout(Stdio::piped());
    let mut child = ChildGuard::spawn(&mut command);
    assert_eq!(child.first_line(), "ready", "{program:?} {script}");
    child
}

/// Unmounts (lazily) the mount at its path when dropped.
struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0).status();
    }
}

/// The pids `limier in DIR --json` lists.
fn users(dir: &Path) -> (Vec<u32>, Value) {
    let (report, _) = limier_json(&["in", dir.to_str().unwrap()]);
    let pids = report["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["pid"].as_u64().unwrap() as u32)
        .collect();
    (pids, report)
}

/// The pids `limier kill --dir DIR --dry-run --json` would signal.
fn would_signal(dir: &Path) -> Vec<u32> {
    let (report, _) = limier_json(&["kill", "--dir", dir.to_str().unwrap(), "--dry-run"]);
    fates(&report)
        .into_iter()
        .filter(|(_, fate)| fate == "would_signal")
        .map(|(pid, _)| pid)
        .collect()
}

/// The `via` of `pid`'s first use in an `in --json` report.
fn via_of(report: &Value, pid: u32) -> Value {
    report["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["pid"] == pid)
        .map(|u| u["uses"][0]["via"].clone())
        .unwrap_or(Value::Null)
}

fn own_mount_ns() -> u64 {
    let link = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    let text = link.to_str().unwrap();
    text.trim_start_matches("mnt:[")
        .trim_end_matches(']')
        .parse()
        .unwrap()
}

/// Runs as root and as an ordinary user: a user namespace lets anyone
/// mount in their own mount namespace.
#[test]
fn another_namespaces_private_mount_under_the_same_path_is_not_a_use() {
    let (_guard, repo) = temp_dir();
    std::fs::create_dir_all(repo.join("wt")).unwrap();
    std::fs::create_dir_all(repo.join("lib")).unwrap();
    let r = repo.display();
    let private = ["unshare", "--user", "--map-root-user", "--mount"];
    // A tmpfs over REPO/wt in its own namespace, its cwd inside.
    let over = ready(
        &private,
        &format!("mount -t tmpfs limier-over {r}/wt && mkdir {r}/wt/in && cd {r}/wt/in"),
    );
    // PrivateTmp: a tmpfs over /tmp, and a directory made at REPO's text.
    let private_tmp = ready(
        &private,
        &format!("mount -t tmpfs limier-tmp /tmp && mkdir -p {r}/lib && cd {r}/lib"),
    );
    // Its own namespace, but REPO itself: a use, reached from there.
    let same = ready(&private, &format!("cd {r}/lib"));
    let (pids, report) = users(&repo);
    assert_eq!(pids, vec![same.pid()], "{report:#}");
    let via = via_of(&report, same.pid());
    assert_eq!(via["path"], repo.to_str().unwrap(), "{report:#}");
    let namespace = via["mount_ns"].as_u64().expect("the namespace is named");
    assert_ne!(namespace, own_mount_ns());
    assert_eq!(would_signal(&repo), vec![same.pid()]);
    // The sweep leaves the impostors alive, and kills the real user.
    let (report, code) = limier_json(&["kill", "--dir", repo.to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(swept_pids(&report), vec![same.pid()]);
    assert!(alive(over.pid()) && alive(private_tmp.pid()));
}

#[test]
#[cfg_attr(not(limier_tests_as_root), ignore = "needs root: mount --bind")]
fn the_same_directory_under_a_bind_mount_is_found_for_cwd_fd_and_exe() {
    needs_root!();
    let (_guard, base) = temp_dir();
    let src = base.join("src");
    let dst = base.join("dst");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::create_dir_all(&dst).unwrap();
    std::fs::write(src.join("data"), "x").unwrap();
    std::fs::copy("/bin/sleep", src.join("sleeper")).unwrap();
    let status = Command::new("mount")
        .args(["--bind", src.to_str().unwrap(), dst.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let _unmount = Unmount(&dst);
    let d = dst.display();
    let cwd = ready(&["env"], &format!("cd {d}/sub"));
    let fd = ready(&["env"], &format!("exec 3<{d}/data && cd /"));
    let mut exe = ChildGuard::spawn(
        Command::new(dst.join("sleeper"))
            .arg("600")
            .current_dir("/"),
    );
    assert!(eventually(std::time::Duration::from_secs(5), || {
        std::fs::read_link(format!("/proc/{}/exe", exe.pid())).is_ok_and(|e| e.starts_with(&dst))
    }));
    let mut expected = vec![cwd.pid(), fd.pid(), exe.pid()];
    expected.sort();
    let (pids, report) = users(&src);
    assert_eq!(pids, expected, "{report:#}");
    for pid in &expected {
        let via = via_of(&report, *pid);
        assert_eq!(via["path"], dst.to_str().unwrap(), "{report:#}");
        assert!(via.get("mount_ns").is_none(), "{report:#}");
    }
    // lsof +D agrees on the set.
    if let Ok(out) = Command::new("lsof")
        .args(["-t", "+D", src.to_str().unwrap()])
        .output()
    {
        let mut lsof: Vec<u32> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        lsof.sort();
        lsof.dedup();
        if out.status.code().is_some() && !lsof.is_empty() {
            assert_eq!(lsof, expected);
        }
    }
    assert_eq!(would_signal(&src), expected);
    let _ = exe.0.kill();
}

#[test]
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: runs the impostor as nobody"
)]
fn an_ordinary_users_namespace_impostor_is_not_selected_by_root() {
    needs_root!();
    let (_guard, base) = temp_dir();
    let repo = base.join("repo");
    let decoy = base.join("decoy");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&decoy).unwrap();
    let chown = Command::new("chown")
        .args(["nobody", decoy.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(chown.success());
    let r = repo.display();
    let mut command = nobody_command("unshare");
    command
        .args(["-Urm", "sh", "-c"])
        .arg(format!(
            "mount --bind {} {r} && cd {r} && echo ready && exec sleep 600",
            decoy.display()
        ))
        .stdout(Stdio::piped());
    let mut impostor = ChildGuard::spawn(&mut command);
    let line = impostor.first_line();
    if line != "ready" {
        eprintln!("skipped: user namespaces are not open to nobody here");
        return;
    }
    // Its cwd reads REPO; it is the decoy.
    let cwd = std::fs::read_link(format!("/proc/{}/cwd", impostor.pid())).unwrap();
    assert_eq!(cwd, repo);
    let (pids, report) = users(&repo);
    assert!(pids.is_empty(), "{report:#}");
    assert!(would_signal(&repo).is_empty());
    let (decoy_users, _) = users(&decoy);
    assert_eq!(decoy_users, vec![impostor.pid()]);
}

/// Run by [`a_pid_reused_within_one_tick_is_never_signalled`] as pid 1 of
/// a fresh pid namespace (nothing else forks there, so `ns_last_pid` picks
/// the next pid).
#[test]
#[ignore = "runs inside a fresh pid namespace, started by another test"]
fn pid_reuse_inside_a_fresh_namespace() {
    use limier::platform::{Pin, ProcessId};
    use limier::snapshot::{capture, CaptureOptions, Layers};
    use limier::sweep::{execute, plan, Fate, Selection, Selector, SpareReason, SweepOptions};
    let backend = limier::Backend::new().unwrap();
    let set_next = |pid: u32| std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string());
    let mut same_tick = 0;
    for _ in 0..30 {
        set_next(100).unwrap();
        let mut first = Command::new("sleep").arg("600").spawn().unwrap();
        assert_eq!(first.id(), 100);
        let mut options = CaptureOptions::new(Layers::default());
        options.pin = true;
        let snapshot = capture(&backend, options).unwrap();
        let record = snapshot.process(ProcessId(100)).unwrap().record.clone();
        assert!(matches!(record.pin, Pin::Pidfs(_)), "{:?}", record.pin);
        let planned = plan(
            &snapshot,
            &Selection::new(vec![Selector::Pid(ProcessId(100))]),
        )
        .unwrap();
        first.kill().unwrap();
        first.wait().unwrap();
        set_next(100).unwrap();
        let mut newcomer = Command::new("sleep").arg("600").spawn().unwrap();
        assert_eq!(newcomer.id(), 100);
        let newcomer_start = start_ticks(100).unwrap();
        // The start time alone passes for the newcomer when it started in
        // the same tick; make every try look so.
        let mut forged = planned.clone();
        forged.targets[0].identity.start = limier::platform::StartTime(newcomer_start);
        if newcomer_start == record.start.0 {
            same_tick += 1;
        }
        assert!(backend
            .open_handle(forged.targets[0].identity, Pin::StartTime)
            .is_ok());
        for attempt in [&planned, &forged] {
            let swept = execute(&backend, attempt, &SweepOptions::default());
            assert!(
                matches!(
                    swept[0].fate,
                    Fate::Spared {
                        why: SpareReason::IdentityChanged
                    }
                ),
                "{:?}",
                swept[0].fate
            );
        }
        assert!(
            newcomer.try_wait().unwrap().is_none(),
            "the newcomer was signalled"
        );
        newcomer.kill().unwrap();
        newcomer.wait().unwrap();
    }
    println!("same-tick reuses: {same_tick}");
    assert!(same_tick > 0, "no try reused the pid within one tick");
}

#[test]
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: unshare --pid and ns_last_pid"
)]
fn a_pid_reused_within_one_tick_is_never_signalled() {
    needs_root!();
    let output = output_within(
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "namespaces::pid_reuse_inside_a_fresh_namespace",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ]),
        std::time::Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "stdout {stdout} stderr {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// " (deleted)" is the kernel's suffix, but a name can end so too: the
/// kernel decides which (the object's link count, and whether the entry of
/// that whole name is the object itself), never the text.
#[test]
fn a_name_ending_in_deleted_is_not_taken_for_a_deleted_path() {
    let (_guard, base) = temp_dir();
    let names = base.join("names");
    for dir in [
        "foo",
        "foo (deleted)",
        "bar",
        "gone",
        "qux",
        "qux (deleted)",
    ] {
        std::fs::create_dir_all(names.join(dir)).unwrap();
    }
    std::fs::write(names.join("bar (deleted)"), "x").unwrap();
    let n = names.display();
    // Its cwd is the directory named "foo (deleted)", which exists.
    let literal_dir = ready(&["env"], &format!("cd '{n}/foo (deleted)'"));
    // It holds open the file named "bar (deleted)", beside the directory bar.
    let literal_file = ready(&["env"], &format!("exec 3<'{n}/bar (deleted)' && cd /"));
    // Its cwd is really deleted: nothing is named "gone (deleted)".
    let deleted = ready(&["env"], &format!("cd '{n}/gone'"));
    std::fs::remove_dir(names.join("gone")).unwrap();
    // Its cwd is deleted too, and another directory is named "qux (deleted)".
    let shadowed = ready(&["env"], &format!("cd '{n}/qux'"));
    std::fs::remove_dir(names.join("qux")).unwrap();
    for dir in ["foo", "bar"] {
        let dir = names.join(dir);
        assert!(would_signal(&dir).is_empty(), "{}", dir.display());
        let (report, _) = limier_json(&["kill", "--dir", dir.to_str().unwrap(), "--dry-run"]);
        assert!(undecided(&report).is_empty(), "decided: {report:#}");
    }
    // Asked about the literal directory: its user, by its whole name.
    let literal = names.join("foo (deleted)");
    let (pids, report) = users(&literal);
    assert_eq!(pids, vec![literal_dir.pid()], "{report:#}");
    let cwd = &report["users"][0]["uses"][0];
    assert_eq!(cwd["path"], literal.to_str().unwrap(), "{report:#}");
    assert_eq!(cwd["deleted"], false, "{report:#}");
    assert!(undecided(&report).is_empty(), "{report:#}");
    assert_eq!(would_signal(&literal), vec![literal_dir.pid()]);
    // The deleted directories' users are selected by the paths they had,
    // the one beside a namesake "qux (deleted)" too; the namesake has none.
    assert_eq!(would_signal(&names.join("gone")), vec![deleted.pid()]);
    assert_eq!(would_signal(&names.join("qux")), vec![shadowed.pid()]);
    let (pids, report) = users(&names.join("qux (deleted)"));
    assert!(
        pids.is_empty() && undecided(&report).is_empty(),
        "{report:#}"
    );
    let (pids, report) = users(&names);
    let mut all = vec![
        literal_dir.pid(),
        literal_file.pid(),
        deleted.pid(),
        shadowed.pid(),
    ];
    all.sort();
    assert_eq!(pids, all, "{report:#}");
    // With another mount namespace about, an fd read by readlink is placed
    // by its fdinfo's mount: the file named by its whole name still is.
    let _other = ready(&["unshare", "--user", "--map-root-user", "--mount"], "true");
    let (again, _) = limier_json_env(
        &["in", names.to_str().unwrap()],
        &[("LIMIER_FD_SOURCE", "proc")],
    );
    assert_eq!(again["users"], report["users"], "{again:#}");
    // Each use says what it is: the file by its whole name, not deleted.
    let uses_of = |pid: u32| {
        report["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["pid"] == pid)
            .map(|u| u["uses"][0].clone())
            .unwrap()
    };
    let file = uses_of(literal_file.pid());
    assert_eq!(file["path"], names.join("bar (deleted)").to_str().unwrap());
    assert_eq!(file["deleted"], false, "{report:#}");
    let gone = uses_of(deleted.pid());
    assert_eq!(gone["path"], names.join("gone").to_str().unwrap());
    assert_eq!(gone["deleted"], true, "{report:#}");
}

/// A use whose link changed after the capture (its directory removed
/// since) is not decided from the name alone: the literal directory's user
/// is not taken for a user of its namesake without the suffix.
#[test]
fn a_link_changed_after_the_capture_is_not_decided_by_the_name_alone() {
    use limier::snapshot::{capture, CaptureOptions, Layers};
    let (_guard, base) = temp_dir();
    let r = base.join("r");
    std::fs::create_dir_all(r.join("wt")).unwrap();
    std::fs::create_dir_all(r.join("wt (deleted)")).unwrap();
    let user = ready(&["env"], &format!("cd '{}/wt (deleted)'", r.display()));
    let backend = limier::platform::Backend::new().unwrap();
    let snapshot = capture(&backend, CaptureOptions::new(Layers::FILES)).unwrap();
    // Its cwd now reads ".../wt (deleted) (deleted)"; no entry is named
    // ".../wt (deleted)" any more.
    std::fs::remove_dir(r.join("wt (deleted)")).unwrap();
    let found = limier::query::dir_users_below(&snapshot, &r.join("wt")).unwrap();
    assert!(
        !found.users.iter().any(|u| u.pid.0 == user.pid()),
        "{:?}",
        found.users
    );
    assert!(
        found.undecided.iter().any(|u| u.pid.0 == user.pid()),
        "{:?}",
        found.undecided
    );
}

/// A file opened before its process left limier's namespace is named in
/// limier's frame; a process of limier's namespace that went into another
/// namespace's private mount names its cwd in that namespace's frame. The
/// mount each is on decides, not the text. Root and ordinary user alike.
#[test]
fn a_use_is_placed_by_the_mount_its_object_is_on() {
    let (_guard, base) = temp_dir();
    let r = base.join("r");
    std::fs::create_dir_all(&r).unwrap();
    std::fs::write(r.join("file"), "x").unwrap();
    let d = r.display();
    // fd 3 on REPO/file, then its own namespace with a tmpfs over REPO.
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "exec 3<{d}/file && exec unshare --user --map-root-user --mount sh -c \
             'mount -t tmpfs t {d} && mkdir {d}/in && cd {d}/in && echo ready && exec sleep 600'"
        ))
        .stdout(Stdio::piped());
    let mut inherited = ChildGuard::spawn(&mut command);
    assert_eq!(inherited.first_line(), "ready");
    // A process of limier's namespace whose cwd is that private tmpfs.
    let visitor = ready(&["env"], &format!("cd /proc/{}/cwd", inherited.pid()));
    let cwd = std::fs::read_link(format!("/proc/{}/cwd", visitor.pid())).unwrap();
    assert_eq!(cwd, r.join("in"), "its cwd reads as below REPO");
    let (pids, report) = users(&r);
    assert_eq!(pids, vec![inherited.pid()], "{report:#}");
    let uses = &report["users"][0]["uses"];
    assert_eq!(uses.as_array().unwrap().len(), 1, "{report:#}");
    assert_eq!(uses[0]["use"]["kind"], "fd", "{report:#}");
    assert!(uses[0].get("via").is_none(), "{report:#}");
    assert_eq!(would_signal(&r), vec![inherited.pid()]);
}

/// A directory with a file system mounted over it since: a file opened and
/// a cwd entered before are on the hidden mount, named by the same text,
/// and are not uses of the directory the path reaches now. The fd's mount
/// comes with the kernel fd dump, or from fdinfo; the cwd's from statx.
#[test]
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: mounts a tmpfs over a directory"
)]
fn a_file_under_a_mount_stacked_since_is_not_a_use_of_the_new_one() {
    needs_root!();
    let (_guard, base) = temp_dir();
    let r = base.join("r");
    std::fs::create_dir_all(r.join("in")).unwrap();
    std::fs::write(r.join("file"), "x").unwrap();
    let d = r.display();
    let held = ready(&["env"], &format!("exec 3<{d}/file && cd /"));
    let entered = ready(&["env"], &format!("cd {d}/in"));
    let mut mapper = ChildGuard::spawn(
        Command::new("python3")
            .args([
                "-c",
                "import mmap,sys,time\n\
                 f=open(sys.argv[1],'rb')\n\
                 m=mmap.mmap(f.fileno(),0,access=mmap.ACCESS_READ)\n\
                 f.close()\n\
                 print('ready',flush=True)\n\
                 time.sleep(600)",
            ])
            .arg(r.join("file"))
            .current_dir("/")
            .stdout(Stdio::piped()),
    );
    assert_eq!(mapper.first_line(), "ready");
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "limier-test", d.to_string().as_str()])
        .status()
        .unwrap();
    assert!(status.success());
    let _unmount = Unmount(&r);
    std::fs::write(r.join("file"), "y").unwrap();
    let fresh = ready(&["env"], &format!("exec 3<{d}/file && cd /"));
    // Both texts read as below the directory.
    let link = std::fs::read_link(format!("/proc/{}/fd/3", held.pid())).unwrap();
    assert_eq!(link, r.join("file"));
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", mapper.pid())).unwrap();
    assert!(maps.contains(r.join("file").to_str().unwrap()), "{maps}");
    for source in ["kernel", "proc"] {
        let (report, _) = limier_json_env(
            &["in", r.to_str().unwrap()],
            &[("LIMIER_FD_SOURCE", source), ("LIMIER_MAPS_SOURCE", source)],
        );
        let pids: Vec<u64> = report["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["pid"].as_u64().unwrap())
            .collect();
        assert_eq!(pids, vec![u64::from(fresh.pid())], "{source}: {report:#}");
        let _ = (&held, &entered, &mapper);
    }
    assert_eq!(would_signal(&r), vec![fresh.pid()]);
}

/// The `undecided` entries of a report's `unseen` (`in` and `kill --dir`
/// say them alike).
fn undecided(report: &Value) -> Vec<&Value> {
    report["unseen"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["kind"] == "undecided")
        .collect()
}
