#![no_main]
//! A state.json and a pid file of any content, run through attribution and
//! the sweep planner (down of every session, and flush) on a fixed world:
//! no plan ever signals a protected process (init, a kernel thread, limier
//! or one of its ancestors), nor anything but the repo's own processes —
//! those in its worktree, on its ports, or below a pid file that checked
//! out.
//!
//! Input: one byte N, N bytes of pid file (`.ecluse/pids/a/web.pid`), then
//! state.json.
use libfuzzer_sys::fuzz_target;
use limier::ecluse::{down_selection, flush_selection, Attribution, PidFileCheck, Repo};
use limier::platform::{ByteString, EnvVar, FdRecord, FdTarget};
use limier::snapshot::{Layers, Process, Snapshot};
use limier::sweep::plan;
use limier::{
    Port, ProcessId, ProcessRecord, Protocol, SocketInode, SocketRecord, SocketState, StartTime,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const SELF: u32 = 99_999;
const CONFIG: &str = "mode = \"host\"\nmax_slots = 4\n\n[[services]]\nname = \"web\"\nbase_port = 7300\ncommand = \"x\"\n";

fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("limier-fuzz-ecluse-{}", std::process::id()));
        std::fs::create_dir_all(root.join(".ecluse/worktrees/a")).unwrap();
        std::fs::create_dir_all(root.join(".ecluse/pids/a")).unwrap();
        std::fs::write(root.join(".ecluse.toml"), CONFIG).unwrap();
        root
    })
}

fn process(pid: u32, ppid: u32, comm: &str, cwd: Option<&Path>) -> Process {
    let mut record = ProcessRecord::bare(
        ProcessId(pid),
        ProcessId(ppid),
        StartTime(u64::from(pid) * 10),
        comm,
    );
    record.started_at_ms = u64::from(pid) * 10;
    record.uid = Some(1000);
    record.cwd = cwd.map(Path::to_owned);
    let mut process = Process::from_record(record);
    process.fds = Some(Vec::new());
    process.maps = Some(Vec::new());
    process.environ = Some(Vec::new());
    process
}

/// init, kthreadd and a worker, sshd → bash → limier (and vim beside it),
/// the session's node (tagged, in its worktree, on its port) and its
/// child, a python in /usr and its child, cron in /.
fn world(root: &Path) -> Snapshot {
    let worktree = root.join(".ecluse/worktrees/a");
    let mut processes = vec![
        process(1, 0, "systemd", Some(Path::new("/"))),
        process(2, 0, "kthreadd", None),
        process(70, 2, "kworker/0:1", None),
        process(40, 1, "sshd", Some(Path::new("/"))),
        process(50, 40, "bash", Some(Path::new("/home/dev"))),
        process(SELF, 50, "limier", Some(Path::new("/home/dev"))),
        process(51, 50, "vim", Some(Path::new("/home/dev"))),
        process(100, 1, "node", Some(&worktree)),
        process(101, 100, "esbuild", Some(&worktree)),
        process(200, 1, "python3", Some(Path::new("/usr/lib"))),
        process(201, 200, "python3", Some(Path::new("/usr/lib"))),
        process(300, 1, "cron", Some(Path::new("/"))),
    ];
    for process in &mut processes {
        if matches!(process.pid().0, 2 | 70) {
            process.record.kernel_thread = true;
        }
    }
    let node = processes.iter_mut().find(|p| p.pid().0 == 100).unwrap();
    node.environ = Some(vec![EnvVar {
        key: ByteString(b"ECLUSE_SLUG".to_vec()),
        value: ByteString(b"a".to_vec()),
    }]);
    node.fds = Some(vec![FdRecord {
        fd: 3,
        target: FdTarget::Socket {
            inode: SocketInode(4242),
        },
        mount_id: None,
    }]);
    let socket = SocketRecord {
        protocol: Protocol::Tcp,
        local_addr: "127.0.0.1".parse().unwrap(),
        local_port: Port(7301),
        remote_addr: None,
        remote_port: None,
        state: SocketState::Listen,
        inode: SocketInode(4242),
        uid: 1000,
    };
    Snapshot::from_parts(processes, vec![socket], Layers::ALL, ProcessId(SELF), 1_000_000)
}

/// `pid` and everything below it.
fn subtree(snapshot: &Snapshot, pid: ProcessId) -> Vec<ProcessId> {
    let mut found = vec![pid];
    let mut at = 0;
    while at < found.len() {
        found.extend_from_slice(snapshot.children(found[at]));
        at += 1;
    }
    found
}

fuzz_target!(|data: &[u8]| {
    let Some((&length, rest)) = data.split_first() else {
        return;
    };
    let (pid_file, state) = rest.split_at(rest.len().min(usize::from(length)));
    let root = repo_root();
    std::fs::write(root.join(".ecluse/pids/a/web.pid"), pid_file).unwrap();
    std::fs::write(root.join(".ecluse/state.json"), state).unwrap();
    let Ok(repo) = Repo::load_unlocked(root) else {
        return;
    };
    let snapshot = world(root);
    let attribution = Attribution::build(&snapshot, &repo, &["a".to_string()]);
    let protected: BTreeSet<u32> = [0, 1, 2, 70, 40, 50, SELF].into();
    let mut allowed: BTreeSet<ProcessId> = [ProcessId(100), ProcessId(101)].into();
    for check in attribution.pid_files.values() {
        if let PidFileCheck::Verified { pid } | PidFileCheck::Legacy { pid, corroborated: true } = check {
            assert!(!protected.contains(&pid.0), "a pid file took protected {pid}");
            allowed.extend(subtree(&snapshot, *pid));
        }
    }
    let mut plans = vec![flush_selection(&snapshot, &repo, &attribution)];
    for view in &attribution.sessions {
        if let Ok(teardown) = down_selection(&snapshot, &attribution, &view.slug) {
            plans.push(teardown);
        }
    }
    for teardown in plans {
        let Ok(plan) = plan(&snapshot, &teardown.selection) else {
            continue;
        };
        for target in plan.to_signal() {
            let pid = target.identity.pid;
            assert!(!protected.contains(&pid.0), "protected {pid} would be signalled");
            assert!(
                allowed.contains(&pid),
                "{pid} is none of the repo's, yet selected by {:?}",
                target.selected_by
            );
        }
    }
});
