//! The process forest: every process under its parent, annotated.

use super::{is_listening, Markers};
use crate::snapshot::Snapshot;
use limier_platform::{ByteString, FdTarget, ProcessId};
use serde::Serialize;
use std::collections::HashSet;

/// One node of the forest (`limier tree --json`).
#[derive(Debug, Clone, Serialize)]
pub struct TreeNode {
    /// The process.
    pub pid: ProcessId,
    /// Its command name.
    pub comm: ByteString,
    /// Its argument words (empty without the details layer).
    pub cmdline: Vec<ByteString>,
    /// Its effective uid, the owner of `/proc/PID` (without the details layer, `null`).
    pub uid: Option<u32>,
    /// That uid's name, when it has one.
    pub user: Option<String>,
    /// Its working directory (without the links layer, `null`).
    #[serde(serialize_with = "limier_platform::records::serialize_opt_path")]
    pub cwd: Option<std::path::PathBuf>,
    /// Its process group.
    pub pgid: ProcessId,
    /// Its session.
    pub sid: ProcessId,
    /// `3000/tcp`-style listening ports this process holds (TCP LISTEN,
    /// bound UDP).
    pub listening: Vec<String>,
    /// Leader, orphan and kernel-thread markers.
    pub markers: Markers,
    /// Its children, in pid order.
    pub children: Vec<TreeNode>,
}

/// The forest below `root`, or, without one, every process whose parent is
/// pid 0 or not in the snapshot as a root. Kernel threads only when asked.
/// `None` when `root` is not in the snapshot.
pub fn forest(
    snapshot: &Snapshot,
    root: Option<ProcessId>,
    kernel_threads: bool,
) -> Option<Vec<TreeNode>> {
    let roots: Vec<ProcessId> = match root {
        Some(pid) => {
            snapshot.process(pid)?;
            vec![pid]
        }
        None => snapshot
            .processes()
            .filter(|p| p.record.ppid.0 == 0 || snapshot.process(p.record.ppid).is_none())
            .map(|p| p.pid())
            .collect(),
    };
    let mut seen = HashSet::new();
    Some(
        roots
            .into_iter()
            .filter_map(|pid| node(snapshot, pid, kernel_threads, &mut seen))
            .collect(),
    )
}

fn node(
    snapshot: &Snapshot,
    pid: ProcessId,
    kernel_threads: bool,
    seen: &mut HashSet<ProcessId>,
) -> Option<TreeNode> {
    let process = snapshot.process(pid)?;
    let record = &process.record;
    if !seen.insert(pid) || (record.kernel_thread && !kernel_threads) {
        return None;
    }
    let children = snapshot
        .children(pid)
        .iter()
        .filter_map(|&child| node(snapshot, child, kernel_threads, seen))
        .collect();
    // In the order of the process's fds, each port once.
    let held = snapshot.sockets_held_by(pid);
    let mut listening: Vec<String> = Vec::new();
    for fd in process.fds.iter().flatten() {
        let FdTarget::Socket { inode } = fd.target else {
            continue;
        };
        for socket in held.iter().filter(|s| s.inode == inode && is_listening(s)) {
            let port = format!("{}/{}", socket.local_port, socket.protocol);
            if !listening.contains(&port) {
                listening.push(port);
            }
        }
    }
    Some(TreeNode {
        pid,
        comm: record.comm.clone(),
        cmdline: record.cmdline.clone(),
        uid: record.uid,
        user: record.uid.and_then(limier_platform::user_name),
        cwd: record.cwd.clone(),
        pgid: record.pgid,
        sid: record.sid,
        listening,
        markers: Markers::of(snapshot, pid),
        children,
    })
}
