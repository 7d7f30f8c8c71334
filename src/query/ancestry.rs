//! How a process came to be: its chain of parents to pid 1.

use super::QueryError;
use crate::snapshot::Snapshot;
use limier_platform::{ByteString, ProcessId};
use serde::Serialize;
use std::collections::HashSet;

/// What is notable about one link of a chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Markers {
    /// Called setsid(): pid == sid.
    pub session_leader: bool,
    /// Leads its process group: pid == pgid.
    pub group_leader: bool,
    /// Reparented to init or a subreaper: its parent is pid 1 (or a user
    /// service manager) while either its session or process group was
    /// created by another process that is no longer among its ancestors (the
    /// double-fork escape), or its environment shows it was started from a
    /// terminal, tmux or ecluse (`TMUX`, `TMUX_PANE`, `SSH_TTY`, `STY`,
    /// `ECLUSE_SLUG`, `TERM`), which init never gives its own services (the
    /// `setsid()` escape whose parent died). Heuristic: a service started by
    /// init with such variables, or a snapshot without environments, can be
    /// judged wrongly.
    pub orphaned: bool,
    /// A kernel thread (kthreadd's child).
    pub kernel_thread: bool,
}

/// One link of an ancestry chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLink {
    /// The process.
    pub pid: ProcessId,
    /// Its command name.
    pub comm: ByteString,
    /// Leader, orphan and kernel-thread markers.
    pub markers: Markers,
}

/// The chain from `pid` up to pid 1 (or the first parent not in the
/// snapshot), `pid` first. Cycle-safe.
pub fn ancestry(snapshot: &Snapshot, pid: ProcessId) -> Result<Vec<ChainLink>, QueryError> {
    snapshot
        .process(pid)
        .ok_or(QueryError::NoSuchProcess(pid))?;
    let mut chain = Vec::new();
    let mut seen = HashSet::new();
    let mut current = pid;
    while seen.insert(current) {
        let Some(process) = snapshot.process(current) else {
            break;
        };
        let record = &process.record;
        chain.push(ChainLink {
            pid: current,
            comm: record.comm.clone(),
            markers: Markers {
                session_leader: record.pid == record.sid,
                group_leader: record.pid == record.pgid,
                orphaned: is_orphaned(snapshot, current),
                kernel_thread: record.kernel_thread,
            },
        });
        if record.ppid.0 == 0 {
            break;
        }
        current = record.ppid;
    }
    Ok(chain)
}

/// Whether `pid` looks reparented (see [`Markers::orphaned`]).
pub fn is_orphaned(snapshot: &Snapshot, pid: ProcessId) -> bool {
    let Some(process) = snapshot.process(pid) else {
        return false;
    };
    let record = &process.record;
    if record.kernel_thread || pid.0 == 1 || !is_reaper(snapshot, record.ppid) {
        return false;
    }
    let created_elsewhere = |leader: ProcessId| {
        leader != pid && leader.0 != 0 && !super::is_descendant(snapshot, leader, pid)
    };
    created_elsewhere(record.sid)
        || created_elsewhere(record.pgid)
        || started_interactively(process)
}

/// Environment variables that mark a process started from a terminal session.
const INTERACTIVE_MARKERS: [&[u8]; 6] = [
    b"TMUX",
    b"TMUX_PANE",
    b"SSH_TTY",
    b"STY",
    b"ECLUSE_SLUG",
    b"TERM",
];

fn started_interactively(process: &crate::snapshot::Process) -> bool {
    INTERACTIVE_MARKERS
        .iter()
        .any(|key| process.env_value(key).is_some())
}

/// Init, or a per-user service manager acting as child subreaper.
fn is_reaper(snapshot: &Snapshot, pid: ProcessId) -> bool {
    pid.0 == 1
        || snapshot
            .process(pid)
            .is_some_and(|p| p.record.comm.as_bytes() == b"systemd")
}
