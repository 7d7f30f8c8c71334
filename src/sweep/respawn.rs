//! After a port sweep: whether the port is taken again by a new child of a
//! parent the sweep left alive (a supervisor restarting what is killed).

use super::{Selection, Selector};
use crate::query::{holders, PortQuery};
use crate::snapshot::{capture, CaptureOptions, Layers, Snapshot};
use limier_platform::{Backend, ByteString, Identity, ProcessId};
use serde::Serialize;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The longest a sweep watches a port for a respawn after its last round.
pub const WATCH_AT_MOST: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_millis(50);

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
            "{} was taken again by pid {} ({}), started by pid {} ({}), which the sweep did not select: it restarts what is ended; end it too (limier kill --pid {})",
            self.port,
            self.pid,
            self.comm.to_string_lossy(),
            self.parent,
            self.parent_comm.to_string_lossy(),
            self.parent
        )
    }
}

/// One port to watch, and the parents that may restart its holders.
#[derive(Debug, Clone)]
pub(super) struct Watch {
    query: PortQuery,
    label: String,
    parents: Vec<(Identity, ByteString)>,
}

/// Commands whose children are never restarted by them: shells and
/// terminal multiplexers end with what they ran or wait for the user.
fn never_restarts(comm: &[u8]) -> bool {
    super::first_signal::is_shell(comm) || super::is_tmux_server(comm)
}

/// The ports of `selection` whose holders' parents survive the sweep: alive
/// in `snapshot`, not selected (`targets`), not protected (pid 1, limier's
/// ancestors), not a shell or tmux.
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
        let mut parents: Vec<(Identity, ByteString)> = Vec::new();
        for pid in holdings.iter().flat_map(|h| h.pids()) {
            let Some(parent) = snapshot
                .process(pid)
                .and_then(|p| snapshot.process(p.record.ppid))
            else {
                continue;
            };
            let record = &parent.record;
            if record.pid.0 <= 1
                || targets.contains(&record.pid)
                || protected.contains(&record.pid)
                || record.kernel_thread
                || never_restarts(record.comm.as_bytes())
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
                parents,
            });
        }
    }
    out
}

/// Watches each port for up to `limit`: a holder not `handled` whose
/// ancestry reaches a watched parent (the same incarnation) is a respawn.
/// A port whose parents are all gone stops being watched.
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
                snapshot
                    .process(id.pid)
                    .is_some_and(|p| p.record.identity() == *id)
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
                if handled.contains(&process.record.identity()) {
                    continue;
                }
                let Some((parent, parent_comm)) = watch
                    .parents
                    .iter()
                    .find(|(id, _)| snapshot.ancestors(pid).any(|a| a == id.pid))
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
