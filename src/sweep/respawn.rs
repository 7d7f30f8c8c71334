//! After a port sweep: whether the port is taken again by a new child of a
//! parent the sweep left alive (a supervisor restarting what is killed).

use super::{Selection, Selector};
use crate::query::{holders, PortQuery};
use crate::snapshot::{capture, CaptureOptions, Layers, Snapshot};
use limier_platform::{Backend, ByteString, Identity, ProcessId};
use serde::Serialize;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The longest a sweep watches a port for a respawn after its last round
/// (and never longer than its grace).
pub const WATCH_AT_MOST: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_millis(100);

/// A port taken again after the sweep, by a new child of a process the
/// sweep did not select.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Respawn {
    /// The port selector, as reports label it (`port 3000`).
    pub port: String,
    /// The new holder.
    pub pid: ProcessId,
    /// Its command name.
    pub comm: ByteString,
    /// The process that started it (its parent or an ancestor), alive and
    /// not selected.
    pub parent: ProcessId,
    /// That process's command name.
    pub parent_comm: ByteString,
}

impl std::fmt::Display for Respawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} was taken again by pid {} ({}), started by pid {} ({}), which the sweep did not select: it restarts what is ended; ",
            self.port,
            self.pid,
            self.comm.to_string_lossy(),
            self.parent,
            self.parent_comm.to_string_lossy(),
        )?;
        if is_service_manager(self.parent_comm.as_bytes()) {
            write!(f, "stop the service it runs instead")
        } else {
            write!(f, "end it too (limier kill --pid {})", self.parent)
        }
    }
}

/// A service manager: it restarts a unit's processes, and ending it would
/// end far more (a user's whole session).
fn is_service_manager(comm: &[u8]) -> bool {
    matches!(
        comm,
        b"systemd" | b"launchd" | b"runsv" | b"s6-supervise" | b"supervisord"
    )
}

/// One port to watch, and the parents that may restart its holders.
#[derive(Debug, Clone)]
pub(super) struct Watch {
    query: PortQuery,
    label: String,
    /// The selected holders: the port is watched only if all ended.
    holders: Vec<Identity>,
    /// Every holder when the sweep began, selected or not: none of them is
    /// a respawn.
    known: HashSet<Identity>,
    parents: Vec<(Identity, ByteString)>,
}

impl Watch {
    /// Whether every selected holder of the port ended in the sweep (a
    /// port still held by one it could not end has nothing to watch for).
    pub(super) fn all_ended(&self, processes: &[super::SweptProcess]) -> bool {
        self.holders.iter().all(|id| {
            processes.iter().any(|p| {
                p.identity == *id
                    && matches!(
                        p.fate,
                        super::Fate::Exited
                            | super::Fate::Killed
                            | super::Fate::AlreadyGone
                            | super::Fate::Zombie { .. }
                    )
            })
        })
    }
}

/// What started `pid` and may start it again: its first ancestor that is
/// not a shell (`sh -c` wrappers run a supervisor's commands). `None` when
/// the walk leaves the snapshot.
fn restarter(snapshot: &Snapshot, pid: ProcessId) -> Option<&crate::snapshot::Process> {
    snapshot
        .ancestors(pid)
        .filter_map(|ancestor| snapshot.process(ancestor))
        .find(|ancestor| !super::first_signal::is_shell(ancestor.record.comm.as_bytes()))
}

/// The ports of `selection` whose selected holders' parents survive the
/// sweep: the first ancestor of each that is not a shell (a supervisor runs
/// its commands through `sh -c` often), alive in `snapshot`, not selected
/// (`targets`), not protected (pid 1, limier's ancestors), not tmux.
/// `targets` holds the processes the sweep will signal.
pub(super) fn watches(
    snapshot: &Snapshot,
    selection: &Selection,
    targets: &HashSet<ProcessId>,
    protected: &HashSet<ProcessId>,
) -> Vec<Watch> {
    let mut out = Vec::new();
    for selector in &selection.selectors {
        let Selector::Port(query) = selector else {
            continue;
        };
        let Ok(holdings) = holders(snapshot, *query) else {
            continue;
        };
        let known: HashSet<Identity> = holdings
            .iter()
            .flat_map(|h| h.pids())
            .filter_map(|pid| snapshot.process(pid))
            .map(|p| p.record.identity())
            .collect();
        let selected: Vec<ProcessId> = holdings
            .iter()
            .flat_map(|h| h.pids())
            .filter(|pid| targets.contains(pid))
            .collect();
        let mut parents: Vec<(Identity, ByteString)> = Vec::new();
        for &pid in &selected {
            let Some(record) = restarter(snapshot, pid).map(|p| &p.record) else {
                continue;
            };
            if record.pid.0 <= 1
                || targets.contains(&record.pid)
                || protected.contains(&record.pid)
                || record.kernel_thread
                || super::is_tmux_server(record.comm.as_bytes())
                || parents.iter().any(|(id, _)| id.pid == record.pid)
            {
                continue;
            }
            parents.push((record.identity(), record.comm.clone()));
        }
        if !parents.is_empty() {
            out.push(Watch {
                query: *query,
                label: selector.label(),
                holders: selected
                    .iter()
                    .filter_map(|pid| snapshot.process(*pid))
                    .map(|p| p.record.identity())
                    .collect(),
                known,
                parents,
            });
        }
    }
    out
}

/// Watches each port for up to `limit` (at most [`WATCH_AT_MOST`]): a
/// holder not known when the sweep began and not `handled`, whose
/// restarter (first non-shell ancestor) is a watched parent (the same
/// incarnation), is a respawn. A port whose parents are all gone (or
/// zombies) stops being watched.
pub(super) fn watch(
    backend: &Backend,
    mut watches: Vec<Watch>,
    handled: &HashSet<Identity>,
    limit: Duration,
) -> Vec<Respawn> {
    let deadline = Instant::now() + limit.min(WATCH_AT_MOST);
    let mut found = Vec::new();
    while !watches.is_empty() && Instant::now() < deadline {
        std::thread::sleep(POLL);
        let Ok(snapshot) = capture(backend, CaptureOptions::new(Layers::PORTS)) else {
            break;
        };
        watches.retain_mut(|watch| {
            watch.parents.retain(|(id, _)| {
                snapshot.process(id.pid).is_some_and(|p| {
                    p.record.identity() == *id
                        && p.record.state != limier_platform::ProcessState::Zombie
                })
            });
            if watch.parents.is_empty() {
                return false;
            }
            let Ok(holdings) = holders(&snapshot, watch.query) else {
                return true;
            };
            for pid in holdings.iter().flat_map(|h| h.pids()) {
                let Some(process) = snapshot.process(pid) else {
                    continue;
                };
                let identity = process.record.identity();
                if handled.contains(&identity) || watch.known.contains(&identity) {
                    continue;
                }
                let Some(restarter) = restarter(&snapshot, pid) else {
                    continue;
                };
                let Some((parent, parent_comm)) = watch
                    .parents
                    .iter()
                    .find(|(id, _)| restarter.record.identity() == *id)
                else {
                    continue;
                };
                found.push(Respawn {
                    port: watch.label.clone(),
                    pid,
                    comm: process.record.comm.clone(),
                    parent: parent.pid,
                    parent_comm: parent_comm.clone(),
                });
                return false;
            }
            true
        });
    }
    found
}
