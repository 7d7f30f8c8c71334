//! Strange and hostile processes: churn, other users, zombies, stopped
//! processes, huge fd tables and command lines, bytes that are not text.

use crate::support::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn snapshots_and_sweeps_under_fork_churn_stay_consistent() {
    // The churner stops by itself after 60 s; the test ends it long before.
    let churner = Scenario::start(&["churn", "60"]);
    let bystander = ChildGuard::spawn(Command::new("sleep").arg("60"));
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut snapshots = 0;
    while snapshots < 4 || Instant::now() < deadline {
        // Both fd sources in turn: the kernel dump must not pin fds on a
        // pid that was reused after the pass.
        let sources = fd_sources();
        let source = sources[snapshots % sources.len()];
        let (snapshot, code) = limier_json_env(
            &["snapshot", "--no-environ"],
            &[("LIMIER_FD_SOURCE", source), ("LIMIER_MAPS_SOURCE", source)],
        );
        assert_eq!(code, 0);
        snapshots += 1;
        for process in snapshot["processes"].as_array().unwrap() {
            let pid = process["pid"].as_u64().unwrap() as u32;
            let start = process["start"].as_u64().unwrap();
            // A pid that now has another start time was reused after the
            // capture: its new incarnation must be younger.
            if let Some(now) = start_ticks(pid) {
                assert!(
                    now >= start,
                    "pid {pid}: snapshot start {start} is newer than the live {now}"
                );
            }
        }
        // A sweep of an unrelated (already gone) pid selection never touches the bystander.
        let output = limier(&["kill", "--pid", "2000000000"]);
        assert_eq!(output.status.code(), Some(1));
        assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    }
    let (report, code) = limier_json(&["kill", "--pid", &churner.pid("churner").to_string()]);
    assert_eq!(code, 0, "{report}");
    assert!(alive(bystander.pid()), "the bystander was never signalled");
}

#[test]
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: runs limier as nobody against a process of root's"
)]
fn unprivileged_limier_flags_roots_processes_as_not_inspectable() {
    needs_root!();
    let server = Scenario::start(&["chain", "1"]);
    let port = server.port().to_string();
    let output = nobody_command(env!("CARGO_BIN_EXE_limier"))
        .args(["who", &port, "--json"])
        .env("NO_COLOR", "1")
        .output()
        .expect("setpriv (util-linux)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the socket is found, its holder is not: {stderr}"
    );
    let report: Value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert!(report["not_inspectable"].as_u64().unwrap() > 0, "{report}");
    assert!(
        stderr.contains("is held by another user (root, uid 0)"),
        "{stderr}"
    );
    let holders = report["ports"][0]["sockets"][0]["holders"]
        .as_array()
        .unwrap();
    assert!(
        holders.is_empty(),
        "root's fds are unreadable to nobody: {report}"
    );

    let output = nobody_command(env!("CARGO_BIN_EXE_limier"))
        .args(["who", &port])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("(holder not visible: owned by another user (root, uid 0); run as root)"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    // The dossier of root's process, as nobody, says why it is incomplete.
    let output = nobody_command(env!("CARGO_BIN_EXE_limier"))
        .args(["who", "--pid", &server.pid("leaf").to_string()])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("(not fully inspectable: another user's process)"),
        "{text}"
    );

    // Signalling root's process as nobody: reported, not fatal, exit 3.
    let output = nobody_command(env!("CARGO_BIN_EXE_limier"))
        .args(["kill", "--pid", &server.pid("leaf").to_string(), "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let report: Value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert_eq!(
        report["processes"][0]["why"]["reason"], "permission_denied",
        "{report}"
    );
    assert!(alive(server.pid("leaf")));
}

#[test]
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: starts a process as nobody, through setpriv"
)]
fn another_users_process_is_listed_with_its_owner() {
    needs_root!();
    let mut command = nobody_command("sleep");
    command.arg("60");
    let sleeper = ChildGuard::spawn(&mut command);
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{}/comm", sleeper.pid()))
            .is_ok_and(|c| c.trim() == "sleep")
    }));
    let (report, code) = limier_json(&["who", "--pid", &sleeper.pid().to_string()]);
    assert_eq!(code, 0);
    assert_eq!(report["processes"][0]["user"], "nobody");
}

#[test]
fn zombies_and_stopped_processes_are_reported_not_fatal() {
    let scenario = Scenario::start(&["zombie"]);
    let zombie = scenario.pid("zombie");
    let (report, _) = limier_json(&["who", "--pid", &zombie.to_string()]);
    assert_eq!(report["processes"][0]["state"], "zombie");
    let (sweep, code) = limier_json(&["kill", "--pid", &zombie.to_string()]);
    assert_eq!(code, 0, "{sweep}");
    assert_eq!(sweep["processes"][0]["fate"], "zombie");
    assert_eq!(sweep["processes"][0]["parent"], scenario.pid("parent"));

    let stopped = ChildGuard::spawn(Command::new("sleep").arg("60"));
    // SAFETY: plain syscall on our own child.
    unsafe { libc::kill(stopped.pid() as i32, libc::SIGSTOP) };
    assert!(eventually(Duration::from_secs(2), || {
        limier_json(&["who", "--pid", &stopped.pid().to_string()]).0["processes"][0]["state"]
            == "stopped"
    }));
    // The human dossier's first line names the state.
    for (pid, state) in [(stopped.pid(), "[stopped]"), (zombie, "[zombie]")] {
        let human = limier(&["who", "--pid", &pid.to_string()]);
        let text = String::from_utf8_lossy(&human.stdout);
        let first = text.lines().next().unwrap_or_default();
        assert!(first.ends_with(&format!("  {state}")), "{text}");
    }
    let (sweep, code) =
        limier_json(&["kill", "--pid", &stopped.pid().to_string(), "--grace", "5s"]);
    assert_eq!(code, 0, "{sweep}");
    assert_eq!(
        sweep["processes"][0]["fate"], "exited",
        "TERM then CONT ends a stopped process: {sweep}"
    );
}

#[test]
fn a_process_with_100000_fds_is_read_whole() {
    // 100,000 where RLIMIT_NOFILE may be raised that far; otherwise (a
    // sandbox without CAP_SYS_RESOURCE) as many as the hard limit allows.
    let holder = Scenario::start(&["many-fds", "100000"]);
    let pid = holder.pid("holder");
    let held = holder.lines[0]["fds"].as_u64().unwrap() as usize;
    assert!(held >= 10_000, "only {held} fds could be opened");
    if held < 100_000 {
        eprintln!("note: hard RLIMIT_NOFILE allowed only {held} fds here");
    }
    let (snapshot, code) = limier_json(&["snapshot", "--no-environ"]);
    assert_eq!(code, 0);
    let process = snapshot["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == pid)
        .unwrap();
    let null_fds = process["fds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|fd| fd["target"]["path"] == "/dev/null")
        .count();
    assert!(null_fds >= held, "{null_fds} of {held}");
    let (users, _) = limier_json(&["in", "/dev"]);
    let uses = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["pid"] == pid)
        .unwrap();
    assert!(uses["uses"].as_array().unwrap().len() >= held);
}

#[test]
fn a_one_mebibyte_command_line_survives() {
    // One argument may be at most 128 KiB (MAX_ARG_STRLEN): ten of 105 KiB.
    let word = "x".repeat(105 * 1024);
    // sh keeps its operands in argv while it waits on sleep.
    let child = ChildGuard::spawn(
        Command::new("sh")
            .arg("-c")
            .arg("sleep 60; : \"$@\"")
            .arg("sh")
            .args(std::iter::repeat_n(&word, 10)),
    );
    assert!(eventually(Duration::from_secs(5), || std::fs::read(
        format!("/proc/{}/cmdline", child.pid())
    )
    .is_ok_and(|c| c.len() > 1024 * 1024)));
    let (report, code) = limier_json(&["who", "--pid", &child.pid().to_string()]);
    assert_eq!(code, 0);
    let total: usize = report["processes"][0]["cmdline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().len())
        .sum();
    assert!(total > 1024 * 1024, "{total}");
    let human = limier(&["who", "--pid", &child.pid().to_string()]);
    assert_eq!(human.status.code(), Some(0));
}

#[test]
fn hostile_bytes_are_sanitised_on_screen_and_lossless_in_json() {
    let (_guard, root) = temp_dir();
    let dir_name: &[u8] = b"d\xff\x1b[31mred";
    let dir = root.join(OsStr::from_bytes(dir_name));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join(OsStr::from_bytes(b"e\x1b]0;x\x07"));
    std::fs::copy("/bin/sleep", &program).unwrap();
    let child = ChildGuard::spawn(
        Command::new(&program)
            .arg("60")
            .current_dir(&dir)
            .arg0_hack(),
    );
    // Until the exec is done: right after the fork the child still has the
    // test's name.
    assert!(eventually(Duration::from_secs(5), || std::fs::read(
        format!("/proc/{}/comm", child.pid())
    )
    .is_ok_and(|comm| comm == b"e\x1b]0;x\x07\n")));
    let pid = child.pid().to_string();
    let human = limier(&["who", "--pid", &pid]);
    let screen = human.stdout;
    assert!(
        !screen.contains(&0x1b),
        "an escape byte reached the terminal: {}",
        String::from_utf8_lossy(&screen)
    );
    assert!(!screen.contains(&0x07));
    let text = String::from_utf8(screen).expect("human output is UTF-8");
    assert!(text.contains("\\x1b"), "{text}");

    let (report, _) = limier_json(&["who", "--pid", &pid]);
    let cwd = &report["processes"][0]["cwd"];
    let bytes: Vec<u8> = cwd["bytes"]
        .as_array()
        .expect("non-UTF-8 cwd as bytes")
        .iter()
        .map(|b| b.as_u64().unwrap() as u8)
        .collect();
    assert_eq!(
        bytes,
        dir.as_os_str().as_bytes(),
        "JSON keeps the exact bytes"
    );
    assert_eq!(
        report["processes"][0]["comm"], "e\u{1b}]0;x\u{7}",
        "valid UTF-8 is kept as is in JSON"
    );
}

trait Arg0Hack {
    fn arg0_hack(&mut self) -> &mut Self;
}

impl Arg0Hack for Command {
    /// Puts raw escape and non-UTF-8 bytes into argv too.
    fn arg0_hack(&mut self) -> &mut Self {
        use std::os::unix::process::CommandExt;
        self.arg0(OsStr::from_bytes(b"\x1b[2J\xfeargv0"))
    }
}

#[test]
fn a_cwd_deleted_and_recreated_is_told_apart() {
    let (_guard, root) = temp_dir();
    let dir = root.join("work");
    std::fs::create_dir_all(&dir).unwrap();
    let old = Scenario::start(&["cwd", dir.to_str().unwrap()]);
    std::fs::remove_dir(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    let new = Scenario::start(&["cwd", dir.to_str().unwrap()]);
    let (report, _) = limier_json(&["in", root.to_str().unwrap()]);
    let deleted = |pid: u32| -> bool {
        let user = report["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["pid"] == pid)
            .unwrap();
        user["uses"][0]["deleted"].as_bool().unwrap()
    };
    assert!(deleted(old.pid("cwd")), "{report}");
    assert!(!deleted(new.pid("cwd")), "{report}");
}

#[test]
fn no_stat_call_ever_goes_through_an_fd_link_or_cwd() {
    // A dead NFS or FUSE mount blocks stat(2) on paths inside it; limier
    // only readlinks /proc links, which never calls into the target
    // filesystem. strace proves no stat-family call touches those links.
    let (_guard, root) = temp_dir();
    let file = root.join("held.txt");
    std::fs::write(&file, "x").unwrap();
    let opener = Scenario::start(&["open", file.to_str().unwrap()]);
    // A user by its cwd: whose mount limier asks by statx through the link,
    // only in a process it leaves behind and never syncing attributes.
    let dweller = ChildGuard::spawn(Command::new("sleep").arg("600").current_dir(&root));
    // Both fd sources (the kernel dump as root): readlink on
    // /proc/PID/fd/N, and the kernel dump.
    for &source in fd_sources() {
        let trace = root.join(format!("trace-{source}"));
        let output = Command::new("strace")
            .args([
                "-f",
                "-qq",
                "-e",
                "trace=stat,lstat,fstat,newfstatat,statx,access,faccessat,faccessat2,open,openat",
                "-o",
            ])
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_limier"))
            .args(["in", root.to_str().unwrap(), "--json"])
            .env("LIMIER_FD_SOURCE", source)
            .env("LIMIER_MAPS_SOURCE", source)
            .output()
            .expect("strace is installed by .ci/run");
        assert_eq!(output.status.code(), Some(0), "{source}");
        let report: serde_json::Value =
            strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
        let mut users: Vec<u64> = report["users"]
            .as_array()
            .unwrap()
            .iter()
            // strace writes its trace into the directory too.
            .filter(|u| u["comm"] != "strace")
            .map(|u| u["pid"].as_u64().unwrap())
            .collect();
        users.sort();
        let mut expected = vec![u64::from(opener.pid("opener")), u64::from(dweller.pid())];
        expected.sort();
        assert_eq!(users, expected, "{source}: {report:#}");
        let trace = std::fs::read_to_string(&trace).unwrap();
        let offending: Vec<&str> = trace
            .lines()
            .filter(|l| {
                l.contains("/fd/")
                    || l.contains("\"cwd\"")
                    || l.contains("/cwd\"")
                    || l.contains("\"exe\"")
                    || l.contains("\"root\"")
            })
            .filter(|l| !l.contains("openat(") || !l.contains("O_DIRECTORY"))
            // The mount id of a cwd: asked without syncing attributes (no
            // call into the file system; in a forked helper where a mount
            // could make it wait on a server).
            .filter(|l| {
                !(l.contains("statx(")
                    && l.contains("AT_STATX_DONT_SYNC")
                    && l.contains("STATX_MNT_ID"))
            })
            .collect();
        assert!(
            trace
                .lines()
                .any(|l| l.contains("statx(") && l.contains("/cwd\"")),
            "{source}: the dweller's cwd mount was not asked"
        );
        assert!(
            offending.is_empty(),
            "{source}: stat/open through a link: {offending:#?}"
        );
        assert!(
            !trace.contains("held.txt"),
            "{source}: the held file itself was touched"
        );
    }
}

/// A FUSE mount (tests/fixtures/hung_fuse.py) whose server can be stopped,
/// so that any stat() inside it blocks as on a dead NFS or FUSE mount.
/// Dropping it kills the server (aborting the connection: blocked calls
/// fail with ENOTCONN), then reaps the processes it held, then unmounts.
struct HungMount {
    server: std::process::Child,
    holders: Vec<std::process::Child>,
    mountpoint: std::path::PathBuf,
    root: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl HungMount {
    fn mount() -> HungMount {
        let (dir, root) = temp_dir();
        let mountpoint = root.join("mnt");
        std::fs::create_dir(&mountpoint).unwrap();
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hung_fuse.py");
        let mut server = Command::new("python3")
            .arg(script)
            .arg(&mountpoint)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 is installed by .ci/run");
        assert_eq!(
            first_line(&mut server),
            "ready",
            "the FUSE server did not mount (needs root and /dev/fuse)"
        );
        HungMount {
            server,
            holders: Vec::new(),
            mountpoint,
            root,
            _dir: dir,
        }
    }

    /// Starts `sh -c script` with its cwd inside the mount; returns its pid.
    fn hold(&mut self, script: &str) -> u32 {
        let child = Command::new("sh")
            .args(["-c", script])
            .current_dir(&self.mountpoint)
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        self.reap_later(child);
        pid
    }

    /// Stops the server and waits until it is stopped: a request it read
    /// while stopping would stay "in userspace", and its caller unkillable,
    /// until the server dies. Requests made after this stay queued, and
    /// their callers killable.
    fn stop_answering(&self) {
        let pid = self.server.id();
        // SAFETY: plain syscall on our own child.
        unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
        assert!(eventually(Duration::from_secs(5), || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('T'))
            })
        }));
    }

    /// Kills the server: the connection is aborted and every call blocked
    /// on the mount fails with ENOTCONN.
    fn abort(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }

    /// Keeps `child` to be killed and reaped once the server is gone (it may
    /// be blocked on the mount until then).
    fn reap_later(&mut self, child: std::process::Child) {
        self.holders.push(child);
    }
}

impl Drop for HungMount {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        for holder in &mut self.holders {
            let _ = holder.kill();
            let _ = holder.wait();
        }
        let path = std::ffi::CString::new(self.mountpoint.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; MNT_DETACH never blocks on the
        // (now dead) server.
        unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Maps argv[1], says "mapped", and on a line from stdin reads the mapping
/// (through libc, so that the page fault happens outside Python's lock).
const FAULTER: &str = "import ctypes, os, sys
libc = ctypes.CDLL(None)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDONLY)
address = libc.mmap(None, 4096, 1, 1, fd, 0)
print('mapped', flush=True)
sys.stdin.readline()
buffer = ctypes.create_string_buffer(1)
libc.memcpy(buffer, ctypes.c_void_p(address), 1)
";

#[test]
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: mounts a FUSE filesystem on /dev/fuse"
)]
fn a_mount_that_stops_answering_never_hangs_limier() {
    needs_root!();
    let _stats = exclusive_stats();
    let mut mount = HungMount::mount();
    let file = mount.mountpoint.join("file");
    let holder = mount.hold("exec 3<file; exec sleep 300");
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_link(format!("/proc/{holder}/fd/3")).is_ok_and(|target| target == file)
    }));
    // A process that maps the file and, once the server is stopped, reads
    // the mapping: it blocks in a page fault, the case in which ps(1) used
    // to hang reading its cmdline (mmap_lock held across the fault).
    let mut faulter = Command::new("python3")
        .args(["-c", FAULTER, file.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let faulter_pid = faulter.id();
    assert_eq!(first_line(&mut faulter), "mapped");
    mount.stop_answering();
    std::io::Write::write_all(faulter.stdin.as_mut().unwrap(), b"touch\n").unwrap();
    mount.reap_later(faulter);
    assert!(
        eventually(Duration::from_secs(5), || {
            std::fs::read_to_string(format!("/proc/{faulter_pid}/wchan"))
                .is_ok_and(|w| w == "request_wait_answer")
        }),
        "the faulting read did not block on the mount"
    );

    // The mount is really hung: stat() of the held file does not return.
    let mut stat = Command::new("stat").arg(&file).spawn().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        stat.try_wait().unwrap().is_none(),
        "stat returned: the mount is not hung and this test would prove nothing"
    );
    mount.reap_later(stat);

    let limit = Duration::from_secs(20);
    let root = mount.root.to_str().unwrap().to_owned();
    let pid = holder.to_string();
    for &source in fd_sources() {
        let run = |args: &[&str]| -> (Value, i32) {
            let output = output_within(
                Command::new(env!("CARGO_BIN_EXE_limier"))
                    .args(args)
                    .arg("--json")
                    .env("LIMIER_FD_SOURCE", source)
                    .env("LIMIER_MAPS_SOURCE", source),
                limit,
            );
            let value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap_or_else(|e| {
                panic!(
                    "{source} {args:?}: {e}: {}",
                    String::from_utf8_lossy(&output.stderr)
                )
            });
            (value, output.status.code().unwrap())
        };
        let (report, code) = run(&["in", &root]);
        assert_eq!(code, 0, "{source}: {report}");
        let uses_of = |pid: u32| -> Vec<Value> {
            let user = report["users"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["pid"] == pid)
                .unwrap_or_else(|| panic!("{source}: {pid} is not listed: {report}"));
            user["uses"].as_array().unwrap().clone()
        };
        let uses = uses_of(holder);
        let mountpoint = mount.mountpoint.to_str().unwrap();
        let held = file.to_str().unwrap();
        assert!(uses
            .iter()
            .any(|u| u["use"]["kind"] == "cwd" && u["path"] == mountpoint));
        assert!(uses
            .iter()
            .any(|u| u["use"]["fd"] == 3 && u["path"] == held));
        // The process blocked in a page fault: its maps were read.
        assert!(uses_of(faulter_pid)
            .iter()
            .any(|u| u["use"]["kind"] == "map" && u["path"] == held));
        let (who, code) = run(&["who", "--pid", &faulter_pid.to_string()]);
        assert_eq!(code, 0, "{source}: {who}");
        let cmdline = who["processes"][0]["cmdline"].as_array().unwrap();
        assert_eq!(cmdline.last().unwrap(), file.to_str().unwrap(), "{who}");

        let (who, code) = run(&["who", "--pid", &pid]);
        assert_eq!(code, 0, "{source}: {who}");
        assert_eq!(
            who["processes"][0]["cwd"],
            mount.mountpoint.to_str().unwrap()
        );
        let (snapshot, code) = run(&["snapshot"]);
        assert_eq!(code, 0, "{source}");
        assert!(snapshot["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == holder));
        let (_, code) = run(&["tree"]);
        assert_eq!(code, 0, "{source}");
    }

    // Directories typed inside the hung mount. Its root resolves without a
    // word to the server; a path below it is looked up by the kernel, which
    // blocks, so limier stops waiting after 2 s and matches it as typed.
    let typed = |args: &[&OsStr]| {
        output_within(
            Command::new(env!("CARGO_BIN_EXE_limier"))
                .args(args)
                .arg("--json"),
            limit,
        )
    };
    let lists_holder = |output: &std::process::Output| -> bool {
        let report: Value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
        let users = report["users"]
            .as_array()
            .or(report["processes"].as_array());
        users.unwrap().iter().any(|u| u["pid"] == holder)
    };
    let at_root = typed(&["in".as_ref(), mount.mountpoint.as_os_str()]);
    assert_eq!(at_root.status.code(), Some(0));
    assert!(lists_holder(&at_root));
    assert!(!String::from_utf8_lossy(&at_root.stderr).contains("matched as"));
    let report: Value = strict_json(&String::from_utf8_lossy(&at_root.stdout)).unwrap();
    assert!(report.get("unresolved").is_none(), "{report}");
    let below = file.join("..");
    // Bounded by `limit` (never hangs); its patience said in the note.
    let output = typed(&["in".as_ref(), below.as_os_str()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(lists_holder(&output));
    let note = format!(
        "{} did not answer within 2000 ms (a hung mount?); matched as {}, symlinks not followed",
        below.display(),
        mount.mountpoint.display()
    );
    assert!(stderr.contains(&note), "{stderr}");
    let report: Value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert_eq!(report["dir"], mount.mountpoint.to_str().unwrap());
    assert_eq!(
        report["unresolved"],
        "did not answer within 2000 ms (a hung mount?)"
    );
    let output = typed(&[
        "kill".as_ref(),
        "--dir".as_ref(),
        below.as_os_str(),
        "--dry-run".as_ref(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(lists_holder(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains(&note));

    // Asked from inside the hung mount, `who` looks for an ecluse repo
    // around its cwd; that search gives up after 2 s and the port is
    // answered anyway.
    let started = Instant::now();
    let output = output_within(
        Command::new(env!("CARGO_BIN_EXE_limier"))
            .args(["who", "1", "--json"])
            .current_dir(&mount.mountpoint),
        limit,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "ecluse context skipped: the current directory did not answer within 2000 ms"
        ),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // A sweep of the holder finishes too: the process dies into close(),
    // which waits on the stopped server, so it outlives SIGKILL; limier
    // says where it is stuck and exits 3 instead of waiting with it.
    let started = Instant::now();
    let output = output_within(
        Command::new(env!("CARGO_BIN_EXE_limier"))
            .args(["kill", "--pid", &pid, "--grace", "500ms", "--json"]),
        limit,
    );
    let sweep: Value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert_eq!(output.status.code(), Some(3), "{sweep}");
    let entry = &sweep["processes"][0];
    assert_eq!(entry["pid"], holder);
    assert_eq!(entry["fate"], "survived", "{sweep}");
    let detail = entry["detail"].as_str().unwrap();
    assert!(detail.contains("asleep in the kernel at"), "{detail}");
    assert!(detail.contains("FUSE"), "{detail}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // The server dies: the kernel now fails lookups below the mount with
    // ENOTCONN at once, and limier still matches the path as typed.
    mount.abort();
    let output = typed(&["in".as_ref(), below.as_os_str()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("could not be resolved: Transport endpoint is not connected"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("matched as {}", mount.mountpoint.display())));
}

/// The hard case of a dead mount: another process's lookup is already stuck
/// in the same directory when limier looks a name up there. limier's lookup
/// then waits, uninterruptibly, for the directory's lock — a thread doing it
/// would keep limier from ever finishing its exit (a zombie its caller's
/// `wait()` never reaps). It runs in a process limier leaves behind, so
/// limier answers after its 2 s patience and is gone, reaped, at once.
#[test]
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: mounts a FUSE filesystem on /dev/fuse"
)]
fn a_lookup_stuck_behind_another_on_a_dead_mount_never_keeps_limier_from_exiting() {
    needs_root!();
    let _stats = exclusive_stats();
    let mut mount = HungMount::mount();
    let holder = mount.hold("exec sleep 300");
    mount.stop_answering();
    // The first lookup of the name: blocks in the server, holding the
    // directory's FUSE lock.
    let first = Command::new("stat")
        .arg(mount.mountpoint.join("newname"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first_pid = first.id();
    mount.reap_later(first);
    assert!(
        eventually(Duration::from_secs(5), || {
            std::fs::read_to_string(format!("/proc/{first_pid}/wchan"))
                .is_ok_and(|w| w == "request_wait_answer")
        }),
        "the first lookup did not block on the mount"
    );
    // A second plain lookup now waits behind it, in D state.
    let mut second = Command::new("stat")
        .arg(mount.mountpoint.join("newname"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second lookup returned"
    );
    mount.reap_later(second);

    let typed = mount.mountpoint.join("newname");
    let typed = typed.to_str().unwrap();
    // Runs limier in `cwd`; returns once it is reaped (a process one of
    // whose threads is stuck in the kernel never is), within the test's
    // limit (`output_within` fails the test otherwise).
    let bounded = |args: &[&str], cwd: &std::path::Path| -> (String, String, Option<i32>) {
        let output = output_within(
            Command::new(env!("CARGO_BIN_EXE_limier"))
                .args(args)
                .current_dir(cwd),
            Duration::from_secs(15),
        );
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (stdout, stderr, output.status.code())
    };
    let outside = std::env::temp_dir();
    for args in [
        vec!["in", typed, "--json"],
        vec!["kill", "--dir", typed, "--dry-run", "--json"],
    ] {
        let (stdout, stderr, code) = bounded(&args, &outside);
        assert!(
            stderr.contains("did not answer within 2000 ms"),
            "{args:?}: {stderr}"
        );
        let report = strict_json(&stdout).unwrap();
        // Matched as typed: the holder's cwd is the mount, not below the name.
        assert!(
            !report.to_string().contains(&format!("\"pid\":{holder}")),
            "{report}"
        );
        assert!(matches!(code, Some(0 | 1)), "{args:?}: {stderr}");
    }
    // From a cwd in the mount, `who` and `ecluse` look for .ecluse.toml
    // there (a lookup in the same stuck directory): they say so and exit.
    let (_, stderr, code) = bounded(&["who", "1", "--json"], &mount.mountpoint);
    assert!(
        stderr.contains("ecluse context skipped: the current directory did not answer"),
        "{stderr}"
    );
    assert_eq!(code, Some(1), "{stderr}");
    let (_, stderr, code) = bounded(&["ecluse", "status"], &mount.mountpoint);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("did not answer within 2000 ms (a hung mount?); name the repo with --repo"),
        "{stderr}"
    );
}
