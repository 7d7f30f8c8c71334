//! Descendant walks of unbounded depth.

use crate::snapshot::Snapshot;
use limier_platform::ProcessId;
use std::collections::HashSet;

/// Every descendant of `pid` (not `pid` itself), breadth-first, any depth.
///
/// Cycle-safe: each pid is visited once even if the table is inconsistent.
pub fn descendants(snapshot: &Snapshot, pid: ProcessId) -> Vec<ProcessId> {
    let mut seen: HashSet<ProcessId> = HashSet::from([pid]);
    let mut order = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &child in snapshot.children(parent) {
            if seen.insert(child) {
                order.push(child);
                frontier.push(child);
            }
        }
    }
    order
}

/// Whether `pid` descends from `ancestor` (a process is not its own
/// descendant). Pid 0, the kernel, is the ancestor of every process in the
/// snapshot.
pub fn is_descendant(snapshot: &Snapshot, ancestor: ProcessId, pid: ProcessId) -> bool {
    if ancestor.0 == 0 {
        return pid.0 != 0 && snapshot.process(pid).is_some();
    }
    snapshot.ancestors(pid).any(|a| a == ancestor)
}
