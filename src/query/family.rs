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

/// Whether `pid` descends from `ancestor` (a process is not its own descendant).
pub fn is_descendant(snapshot: &Snapshot, ancestor: ProcessId, pid: ProcessId) -> bool {
    let mut seen = HashSet::new();
    let mut current = pid;
    while seen.insert(current) {
        let Some(process) = snapshot.process(current) else {
            return false;
        };
        let parent = process.record.ppid;
        if parent == ancestor {
            return true;
        }
        if parent.0 == 0 || parent == current {
            return false;
        }
        current = parent;
    }
    false
}
