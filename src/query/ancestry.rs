//! How a process came to be: its chain of parents to pid 1.

use super::QueryError;
use crate::snapshot::Snapshot;
use limier_platform::{ByteString, ProcessId};
use serde::Serialize;

/// What is notable about one link of a chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Markers {
    /// Called setsid(): pid == sid.
    pub session_leader: bool,
    /// Leads its process group: pid == pgid.
    pub group_leader: bool,
    /// Left behind by what started it (see [`is_orphaned`] for the exact
    /// evidence).
    pub orphaned: bool,
    /// A kernel thread (kthreadd's child).
    pub kernel_thread: bool,
}

impl Markers {
    /// The markers of `pid` in `snapshot` (all false for a pid not in it).
    pub fn of(snapshot: &Snapshot, pid: ProcessId) -> Markers {
        let Some(process) = snapshot.process(pid) else {
            return Markers::default();
        };
        let record = &process.record;
        Markers {
            session_leader: record.pid == record.sid,
            group_leader: record.pid == record.pgid,
            orphaned: is_orphaned(snapshot, pid),
            kernel_thread: record.kernel_thread,
        }
    }
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
    let chain = std::iter::once(pid)
        .chain(snapshot.ancestors(pid))
        .map_while(|pid| snapshot.process(pid))
        .map(|process| {
            let record = &process.record;
            ChainLink {
                pid: record.pid,
                comm: record.comm.clone(),
                markers: Markers::of(snapshot, record.pid),
            }
        })
        .collect();
    Ok(chain)
}

/// Whether `pid` was left behind by what started it: its parent is pid 1
/// (or a per-user service manager acting as subreaper), and either
///
/// - its session or process group was created by a process that is not
///   among its ancestors any more (the double-fork escape), or
/// - its environment names it a job of a session: `TMUX_PANE` (a command in
///   a tmux pane), `WINDOW` (in a screen window) or `ECLUSE_SLUG` (an ecluse
///   service) — the `setsid()` escape whose parent then died.
///
/// A process that daemonised on purpose is not an orphan: a tmux or screen
/// server, sshd, or a user service carry none of those variables (`TERM`,
/// `SSH_TTY` or `TMUX` inherited from the terminal that started them are not
/// evidence) and lead the session they made. The environment is read only
/// when the snapshot has it (see [`orphan_candidates`]); without it, only
/// the first rule can mark.
///
/// The one decision `who`, `tree` and `snapshot` all show.
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

/// Environment variables set for the jobs of a session, never for the
/// server that runs it.
const JOB_MARKERS: [&[u8]; 3] = [b"TMUX_PANE", b"WINDOW", b"ECLUSE_SLUG"];

fn started_interactively(process: &crate::snapshot::Process) -> bool {
    JOB_MARKERS
        .iter()
        .any(|key| process.env_value(key).is_some())
}

/// Processes whose orphan marker depends on their environment: reparented
/// to a reaper, not marked by their session or group already, environment
/// not read. Load their environments (e.g. with
/// [`Snapshot::load_details`](crate::snapshot::Snapshot::load_details)) so
/// that [`is_orphaned`] judges them on every rule.
pub fn orphan_candidates(snapshot: &Snapshot) -> Vec<ProcessId> {
    snapshot
        .processes()
        .filter(|p| p.environ.is_none() && !p.record.kernel_thread && p.pid().0 != 1)
        .filter(|p| is_reaper(snapshot, p.record.ppid))
        .filter(|p| !is_orphaned(snapshot, p.pid()))
        .map(|p| p.pid())
        .collect()
}

/// Init, or a per-user service manager acting as child subreaper.
fn is_reaper(snapshot: &Snapshot, pid: ProcessId) -> bool {
    pid.0 == 1
        || snapshot
            .process(pid)
            .is_some_and(|p| p.record.comm.as_bytes() == b"systemd")
}

#[cfg(test)]
mod orphan_tests {
    use super::*;
    use crate::snapshot::{Layers, Process};
    use limier_platform::{EnvVar, ProcessRecord, StartTime};

    /// A process: pid, parent, session, group, name, environment.
    fn process(pid: u32, ppid: u32, sid: u32, pgid: u32, comm: &str, env: &[&str]) -> Process {
        let mut record = ProcessRecord::bare(
            ProcessId(pid),
            ProcessId(ppid),
            StartTime(u64::from(pid)),
            comm,
        );
        record.sid = ProcessId(sid);
        record.pgid = ProcessId(pgid);
        let mut process = Process::from_record(record);
        process.environ = Some(
            env.iter()
                .map(|var| {
                    let (key, value) = var.split_once('=').unwrap();
                    EnvVar {
                        key: ByteString::from(key),
                        value: ByteString::from(value),
                    }
                })
                .collect(),
        );
        process
    }

    #[test]
    fn only_real_evidence_marks_an_orphan() {
        let snapshot = Snapshot::from_parts(
            vec![
                process(1, 0, 1, 1, "init", &[]),
                // A tmux server: daemonised on purpose, TERM and SSH_TTY from
                // the terminal that started it.
                process(
                    100,
                    1,
                    100,
                    100,
                    "tmux: server",
                    &["TERM=xterm", "SSH_TTY=/dev/pts/0", "TMUX=x"],
                ),
                // Its pane's shell, and a setsid() escapee of that pane
                // whose parent died.
                process(101, 100, 101, 101, "bash", &["TERM=tmux", "TMUX_PANE=%1"]),
                process(120, 1, 120, 120, "workerd", &["TERM=tmux", "TMUX_PANE=%1"]),
                // An ecluse service's escapee.
                process(130, 1, 130, 130, "node", &["ECLUSE_SLUG=feat-a"]),
                // A screen window's escapee; the screen server.
                process(140, 1, 140, 140, "vite", &["STY=1.pts", "WINDOW=0"]),
                process(141, 1, 141, 141, "SCREEN", &["TERM=xterm", "STY=1.pts"]),
                // sshd.
                process(150, 1, 150, 150, "sshd", &[]),
                // The double-fork escape: session 160 made by a process gone.
                process(161, 1, 160, 160, "python3", &[]),
                // A child of a live parent, whatever it carries.
                process(170, 101, 101, 170, "sleep", &["TMUX_PANE=%1"]),
            ],
            Vec::new(),
            Layers::ALL,
            ProcessId(999),
            0,
        );
        let cases = [
            (100, false, "tmux server"),
            (101, false, "pane shell (parent alive)"),
            (120, true, "setsid escapee of a pane"),
            (130, true, "ecluse service escapee"),
            (140, true, "screen window escapee"),
            (141, false, "screen server"),
            (150, false, "sshd"),
            (161, true, "double-fork escapee"),
            (170, false, "child of a live parent"),
            (1, false, "init"),
        ];
        for (pid, orphaned, what) in cases {
            assert_eq!(is_orphaned(&snapshot, ProcessId(pid)), orphaned, "{what}");
            let chain = ancestry(&snapshot, ProcessId(pid)).unwrap();
            assert_eq!(
                chain[0].markers.orphaned, orphaned,
                "{what}: ancestry agrees"
            );
        }
        // Every environment was read: nothing is left to load.
        assert!(orphan_candidates(&snapshot).is_empty());
    }

    #[test]
    fn without_environments_the_reparented_are_candidates() {
        let mut escapee = process(120, 1, 120, 120, "workerd", &[]);
        escapee.environ = None;
        let mut double = process(161, 1, 160, 160, "python3", &[]);
        double.environ = None;
        let snapshot = Snapshot::from_parts(
            vec![process(1, 0, 1, 1, "init", &[]), escapee, double],
            Vec::new(),
            Layers::PORTS,
            ProcessId(999),
            0,
        );
        // The double-fork escapee is marked by structure; the other needs
        // its environment read.
        assert_eq!(orphan_candidates(&snapshot), vec![ProcessId(120)]);
        assert!(is_orphaned(&snapshot, ProcessId(161)));
    }
}
