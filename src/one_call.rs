//! One call per question, in plain pids: what ecluse asks `lsof`, `pgrep`,
//! `ps` and `kill` today. Each call captures only the layers its question
//! needs; for several questions of one moment, capture a
//! [`Snapshot`](crate::snapshot::Snapshot) and use [`crate::query`].

use crate::query::{holder_pids, holders, resolve_typed_dir, users_below, PortQuery};
use crate::query::{is_descendant as descends, RESOLVE_PATIENCE};
use crate::snapshot::{capture, CaptureOptions, Layers, Snapshot};
use crate::sweep::{sweep, Selection, Selector, SweepOptions, SweepReport};
use crate::Error;
use limier_platform::{Backend, ProcessId};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// Every process holding a TCP `LISTEN` socket on `port`, IPv4 and IPv6,
/// sorted and without repeats (`lsof -t -iTCP:PORT -sTCP:LISTEN`).
///
/// A listener whose holder cannot be seen (another user's process, when not
/// root) is not named; [`port_owner`] tells that case apart.
///
/// ```no_run
/// let pids: Vec<u32> = limier::listeners(3000)?;
/// println!("port 3000 is held by {pids:?}");
/// # Ok::<(), limier::Error>(())
/// ```
pub fn listeners(port: u16) -> Result<Vec<u32>, Error> {
    let snapshot = capture_layers(Layers::PORTS)?;
    let holdings = holders(&snapshot, PortQuery::tcp_listeners(port))?;
    Ok(plain(holder_pids(&holdings)))
}

/// Every process using `dir` or anything below it, at any depth: cwd, root,
/// exe, open files and mapped files (`lsof +D DIR`, without walking the
/// filesystem). The calling process is left out. A symlinked `dir` is
/// resolved; a deleted directory (a removed worktree) is matched by the path
/// it had, so processes whose cwd was deleted under them are found.
///
/// Run by an ordinary user, another user's processes cannot be inspected
/// (their links are refused) and are not named; capture a
/// [`Snapshot`](crate::snapshot::Snapshot) and ask
/// [`users_below`](crate::query::users_below) to count them too.
///
/// ```no_run
/// for pid in limier::dir_users(std::path::Path::new("/repo/.ecluse/worktrees/feat-b"))? {
///     println!("{pid} uses the worktree");
/// }
/// # Ok::<(), limier::Error>(())
/// ```
pub fn dir_users(dir: &Path) -> Result<Vec<u32>, Error> {
    let typed = resolve_typed_dir(dir, RESOLVE_PATIENCE)?;
    let snapshot = capture(&Backend::new()?, typed.capture_options(Layers::FILES))?;
    let users = users_below(&snapshot, &typed.path)?;
    Ok(users.into_iter().map(|user| user.pid.0).collect())
}

/// Whether `pid` descends from `ancestor`, at any depth (`pgrep -P`
/// recursively). A process is not its own descendant; a pid that does not
/// exist descends from nothing.
///
/// ```no_run
/// let mine = limier::is_descendant(std::process::id(), 4242)?;
/// # Ok::<(), limier::Error>(())
/// ```
pub fn is_descendant(ancestor: u32, pid: u32) -> Result<bool, Error> {
    let snapshot = capture_layers(Layers::PROCESSES)?;
    Ok(descends(&snapshot, ProcessId(ancestor), ProcessId(pid)))
}

/// Ends `pid`'s whole tree: the process, its descendants, and the process
/// group and session it leads (members reparented to init after their parent
/// died stay in both), with the race-resistant sweep — freeze, SIGTERM, wait
/// up to `grace`, SIGKILL, verify — that never signals a recycled pid, pid 1,
/// a kernel thread, the caller or its ancestors (`kill -TERM -- -PGID`, a
/// poll loop of `kill -0`, then `kill -KILL`).
///
/// The report says what became of each process; `pid` 1 is refused.
///
/// ```no_run
/// let report = limier::kill_tree(4242, std::time::Duration::from_secs(2))?;
/// for process in &report.processes {
///     let name = process.comm.to_string_lossy();
///     println!("{} {name}: {}", process.pid(), report.fate_text(&process.fate));
/// }
/// # Ok::<(), limier::Error>(())
/// ```
pub fn kill_tree(pid: u32, grace: Duration) -> Result<SweepReport, Error> {
    kill_trees(&[pid], grace)
}

/// [`kill_tree`] for several trees at once: one sweep over their union, with
/// one grace (a pid may be given that names no process: it is skipped).
/// An empty list ends nothing.
///
/// ```no_run
/// let report = limier::kill_trees(&[4242, 4343], std::time::Duration::from_secs(2))?;
/// println!("{} gone", report.gone_count());
/// # Ok::<(), limier::Error>(())
/// ```
pub fn kill_trees(pids: &[u32], grace: Duration) -> Result<SweepReport, Error> {
    let options = SweepOptions {
        grace,
        ..SweepOptions::default()
    };
    if pids.is_empty() {
        return Ok(SweepReport::nothing(&options));
    }
    let backend = Backend::new()?;
    let selection = Selection::new(
        pids.iter()
            .map(|&pid| Selector::Tree(ProcessId(pid)))
            .collect(),
    );
    Ok(sweep(&backend, &selection, &options)?)
}

/// Ends the trees of pid files' processes: for each `(pid, token)` — a pid
/// and the start token written beside it (`ps -o lstart=` text, see
/// [`start_token`]) — the process's tree if it is still the process the
/// token names. One pinned snapshot decides which pids match and the sweep
/// signals exactly those processes (a pid reused after the check is never
/// signalled); one sweep, one grace. A pid whose start does not match, or
/// that is gone, is left out.
///
/// ```no_run
/// let token = limier::start_token(4242)?.unwrap_or_default();
/// let report = limier::kill_started_trees(&[(4242, token.as_str())], std::time::Duration::from_secs(2))?;
/// println!("{} gone", report.gone_count());
/// # Ok::<(), limier::Error>(())
/// ```
pub fn kill_started_trees(entries: &[(u32, &str)], grace: Duration) -> Result<SweepReport, Error> {
    let options = SweepOptions {
        grace,
        ..SweepOptions::default()
    };
    let backend = Backend::new()?;
    let mut capture_options = CaptureOptions::new(Layers::PROCESSES);
    capture_options.pin = true;
    let snapshot = capture(&backend, capture_options)?;
    let selectors: Vec<Selector> = entries
        .iter()
        .filter(|(pid, token)| {
            snapshot.process(ProcessId(*pid)).is_some_and(|p| {
                p.record.state != limier_platform::ProcessState::Zombie
                    && crate::ecluse::token_matches(token, p.record.started_at_ms)
            })
        })
        .map(|&(pid, _)| Selector::Tree(ProcessId(pid)))
        .collect();
    if selectors.is_empty() {
        return Ok(SweepReport::nothing(&options));
    }
    Ok(crate::sweep::sweep_from(
        &backend,
        Some(&snapshot),
        &Selection::new(selectors),
        &options,
    )?)
}

/// Whether `pid` names a live process (`kill -0 PID`, except that a zombie
/// — exited, not yet reaped — is not alive: it serves nothing).
///
/// ```no_run
/// if !limier::pid_alive(4242)? { println!("4242 is gone"); }
/// # Ok::<(), limier::Error>(())
/// ```
pub fn pid_alive(pid: u32) -> Result<bool, Error> {
    let backend = Backend::new()?;
    Ok(match backend.read_stat(ProcessId(pid)) {
        Ok(stat) => !matches!(
            stat.state,
            limier_platform::ProcessState::Zombie | limier_platform::ProcessState::Dead
        ),
        Err(err) if err.is_gone() => false,
        Err(err) => return Err(err.into()),
    })
}

/// Whether process group `pgid` has a live member (`kill -0 -- -PGID`,
/// zombies not counted).
pub fn group_alive(pgid: u32) -> Result<bool, Error> {
    // `kill -0 -- -0` is the caller's own group; pid 0 names no group.
    if pgid == 0 {
        return Ok(false);
    }
    let snapshot = capture_layers(Layers::PROCESSES)?;
    Ok(snapshot
        .group_members(ProcessId(pgid))
        .iter()
        .filter_map(|&pid| snapshot.process(pid))
        .any(|p| p.record.state != limier_platform::ProcessState::Zombie))
}

/// The start of `pid` as `ps -o lstart=` prints it (`Fri Dec  4 16:40:33
/// 2026`, local time): the token ecluse writes into its pid files. `None`
/// when the pid names no process.
pub fn start_token(pid: u32) -> Result<Option<String>, Error> {
    let backend = Backend::new()?;
    let record = match backend.read_record(ProcessId(pid)) {
        Ok(record) => record,
        Err(err) if err.is_gone() => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    Ok(crate::ecluse::start_token_of(record.started_at_ms))
}

/// Whether `pid` is the process a pid file's start token was written for:
/// alive, and started at the second the token names (`ps -o lstart=`
/// format, one second either way: ps and limier round the boot time
/// differently). A reused pid started at another time.
pub fn pid_matches_token(pid: u32, token: &str) -> Result<bool, Error> {
    let backend = Backend::new()?;
    Ok(match backend.read_record(ProcessId(pid)) {
        Ok(record) => {
            record.state != limier_platform::ProcessState::Zombie
                && crate::ecluse::token_matches(token, record.started_at_ms)
        }
        Err(err) if err.is_gone() => false,
        Err(err) => return Err(err.into()),
    })
}

/// `pid`'s command line, words joined by spaces (`ps -o args=`); `None`
/// when the pid names no process or its command line cannot be read.
pub fn cmdline(pid: u32) -> Result<Option<String>, Error> {
    let backend = Backend::new()?;
    let record = match backend
        .open_process(ProcessId(pid))
        .and_then(|dir| dir.record())
    {
        Ok(record) => record,
        Err(err) if err.is_gone() => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let process = crate::snapshot::Process::from_record(record);
    Ok((!process.record.cmdline.is_empty()).then(|| process.command_line()))
}

/// The TCP ports `pid` listens on, IPv4 and IPv6, sorted and without
/// repeats (`lsof -p PID -iTCP -sTCP:LISTEN`).
pub fn listening_ports(pid: u32) -> Result<Vec<u16>, Error> {
    let snapshot = capture_layers(Layers::PORTS)?;
    Ok(crate::query::tcp_listening_ports(&snapshot, ProcessId(pid)))
}

/// `pid`'s direct children, in pid order (`pgrep -P PID`).
pub fn children(pid: u32) -> Result<Vec<u32>, Error> {
    let snapshot = capture_layers(Layers::PROCESSES)?;
    let mut children = plain(snapshot.children(ProcessId(pid)).to_vec());
    children.sort_unstable();
    Ok(children)
}

/// Who listens on a service's port, judged against the pid that should.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PortOwner {
    /// A listener is the expected process or one of its descendants.
    Up {
        /// That listener (the expected pid itself when it listens).
        listener: u32,
    },
    /// Nothing listens on the port.
    Down,
    /// Something else listens. `None`: a socket listens but its holder
    /// cannot be seen (another user's process, when not root).
    WrongOwner {
        /// The first listener that is neither the expected process nor a
        /// descendant of it, when it can be seen.
        listener: Option<u32>,
    },
}

impl std::fmt::Display for PortOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortOwner::Up { listener } => write!(f, "up (pid {listener})"),
            PortOwner::Down => f.write_str("down"),
            PortOwner::WrongOwner {
                listener: Some(pid),
            } => write!(f, "wrong owner (pid {pid})"),
            PortOwner::WrongOwner { listener: None } => {
                f.write_str("wrong owner (a process that cannot be seen)")
            }
        }
    }
}

/// Whether the TCP listener on `port` is `expected` or one of its
/// descendants — the check that tells a healthy service from an orphan of
/// another session holding its port.
///
/// `expected` 0 (the kernel) or 1 (init) is every process's ancestor,
/// which proves nothing of a listener: it is `Up` only on its own socket
/// (a pid file naming init selects nothing). [`listeners`] asks "who holds
/// the port" without a verdict.
///
/// ```no_run
/// use limier::PortOwner;
/// match limier::port_owner(4242, 3000)? {
///     PortOwner::Up { listener } => println!("healthy, served by {listener}"),
///     PortOwner::Down => println!("down"),
///     PortOwner::WrongOwner { listener } => println!("port taken by {listener:?}"),
/// }
/// # Ok::<(), limier::Error>(())
/// ```
pub fn port_owner(expected: u32, port: u16) -> Result<PortOwner, Error> {
    let snapshot = capture_layers(Layers::PORTS)?;
    let holdings = holders(&snapshot, PortQuery::tcp_listeners(port))?;
    Ok(judge_owner(
        &snapshot,
        ProcessId(expected),
        &holder_pids(&holdings),
        !holdings.is_empty(),
    ))
}

/// The verdict of [`port_owner`] from the listeners found.
fn judge_owner(
    snapshot: &Snapshot,
    expected: ProcessId,
    listeners: &[ProcessId],
    any_socket: bool,
) -> PortOwner {
    // Init (and the kernel, pid 0) is every process's ancestor: an expected
    // pid of 0 or 1 (a pid file naming init) owns only its own sockets.
    let ours = listeners
        .iter()
        .find(|&&pid| pid == expected || (expected.0 > 1 && descends(snapshot, expected, pid)));
    match (ours, listeners.first()) {
        (Some(pid), _) => PortOwner::Up { listener: pid.0 },
        (None, Some(other)) => PortOwner::WrongOwner {
            listener: Some(other.0),
        },
        (None, None) if any_socket => PortOwner::WrongOwner { listener: None },
        (None, None) => PortOwner::Down,
    }
}

fn capture_layers(layers: Layers) -> Result<Snapshot, Error> {
    let backend = Backend::new()?;
    Ok(capture(&backend, CaptureOptions::new(layers))?)
}

fn plain(pids: Vec<ProcessId>) -> Vec<u32> {
    pids.into_iter().map(|pid| pid.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use limier_platform::{ProcessRecord, StartTime};

    fn process(pid: u32, ppid: u32) -> crate::snapshot::Process {
        crate::snapshot::Process::from_record(ProcessRecord::bare(
            ProcessId(pid),
            ProcessId(ppid),
            StartTime(u64::from(pid)),
            "x",
        ))
    }

    #[test]
    fn the_owner_is_the_expected_process_or_a_descendant_and_nothing_else() {
        // 10 → 11 → 12 (a wrapper chain); 20 unrelated.
        let snapshot = Snapshot::from_parts(
            vec![
                process(1, 0),
                process(10, 1),
                process(11, 10),
                process(12, 11),
                process(20, 1),
            ],
            Vec::new(),
            Layers::PROCESSES,
            ProcessId(99),
            0,
        );
        let pid = ProcessId;
        let cases: [(&[ProcessId], bool, PortOwner); 6] = [
            (&[pid(10)], true, PortOwner::Up { listener: 10 }),
            (&[pid(12)], true, PortOwner::Up { listener: 12 }),
            (&[pid(12), pid(20)], true, PortOwner::Up { listener: 12 }),
            (
                &[pid(20)],
                true,
                PortOwner::WrongOwner { listener: Some(20) },
            ),
            (&[], true, PortOwner::WrongOwner { listener: None }),
            (&[], false, PortOwner::Down),
        ];
        for (listeners, any_socket, want) in cases {
            assert_eq!(
                judge_owner(&snapshot, pid(10), listeners, any_socket),
                want,
                "{listeners:?}"
            );
        }
        // Expecting the grandchild: its parent listening is not ours.
        assert_eq!(
            judge_owner(&snapshot, pid(12), &[pid(11)], true),
            PortOwner::WrongOwner { listener: Some(11) }
        );
    }
}
