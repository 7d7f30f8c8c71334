//! The fds of every process from one kernel pass (the Linux BPF fd
//! iterator), and the rule for when a snapshot may trust them.

use crate::parse::FdDumpRow;
use crate::records::{FdRecord, ProcessId, StartTime};
use std::collections::HashMap;

/// Which fds a pass reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdScope {
    /// Every open fd.
    All,
    /// Socket fds only (what port questions need).
    Sockets,
}

/// The fds of every process, as one iterator pass saw them.
#[derive(Debug)]
pub struct FdTable {
    processes: HashMap<ProcessId, DumpedProcess>,
    /// Clock ticks since boot when the pass began: a process started before
    /// then that the pass did not report had no open fd — if the kernel's
    /// iterators visit it at all (see `visited`).
    began_ticks: u64,
    /// The processes the kernel's task iterator visited (pid and start),
    /// when known. A kernel may hide a process from its iterators (this
    /// machine's hides pid 1, a process even root may not inspect): one
    /// that was not visited is not taken for one without fds.
    visited: Option<HashMap<ProcessId, StartTime>>,
    /// How many fd records the pass produced.
    pub rows: usize,
}

#[derive(Debug)]
struct DumpedProcess {
    start: StartTime,
    fds: Vec<FdRecord>,
    /// False when the kernel could not render one of its paths.
    complete: bool,
}

impl FdTable {
    /// The fds of process `pid` started at `start`, when the pass covered
    /// exactly that incarnation; `None` means "read them with readlink".
    pub fn take(&mut self, pid: ProcessId, start: StartTime) -> Option<Vec<FdRecord>> {
        match self.processes.remove(&pid) {
            Some(dumped) if dumped.start == start && dumped.complete => Some(dumped.fds),
            Some(_) => None,
            // One tick of slack: start times are rounded down to ticks.
            None if start.0.saturating_add(1) < self.began_ticks && self.visited(pid, start) => {
                Some(Vec::new())
            }
            None => None,
        }
    }

    /// Records which processes the kernel's iterators visit (a task
    /// iterator's pass over every process, run about when this one ran).
    /// Until it is given, a process the pass did not report is read with
    /// readlink.
    pub fn set_visited(&mut self, visited: impl IntoIterator<Item = (ProcessId, StartTime)>) {
        self.visited = Some(visited.into_iter().collect());
    }

    fn visited(&self, pid: ProcessId, start: StartTime) -> bool {
        self.visited
            .as_ref()
            .is_some_and(|visited| visited.get(&pid) == Some(&start))
    }

    /// Groups parsed rows by process.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn from_rows(rows: Vec<FdDumpRow>, began_ticks: u64, ns_per_tick: u64) -> Self {
        let count = rows.len();
        let mut processes: HashMap<ProcessId, DumpedProcess> = HashMap::new();
        for row in rows {
            let start = StartTime(row.start_ns / ns_per_tick);
            let entry = processes.entry(row.pid).or_insert_with(|| DumpedProcess {
                start,
                fds: Vec::new(),
                complete: true,
            });
            match row.target {
                Some(target) => entry.fds.push(FdRecord {
                    fd: row.fd,
                    target,
                    mount_id: row.mount_id,
                }),
                None => entry.complete = false,
            }
        }
        FdTable {
            processes,
            began_ticks,
            visited: None,
            rows: count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::FdTarget;

    fn row(pid: u32, fd: u32, start_ns: u64, target: Option<FdTarget>) -> FdDumpRow {
        FdDumpRow {
            pid: ProcessId(pid),
            fd,
            start_ns,
            target,
            mount_id: None,
        }
    }

    #[test]
    fn take_trusts_the_dump_only_for_the_incarnation_it_saw() {
        let pipe = FdTarget::Pipe { inode: 9 };
        let rows = vec![
            row(10, 0, 50_000_000, Some(pipe.clone())),
            row(10, 1, 50_000_000, Some(pipe.clone())),
            row(11, 0, 60_000_000, None),
            row(12, 3, 70_000_000, Some(pipe.clone())),
        ];
        // 10 ms ticks; the pass began at tick 100.
        let mut table = FdTable::from_rows(rows, 100, 10_000_000);
        assert_eq!(table.rows, 4);
        assert_eq!(table.take(ProcessId(10), StartTime(5)).unwrap().len(), 2);
        // Unrenderable path: read it with readlink.
        assert_eq!(table.take(ProcessId(11), StartTime(6)), None);
        // Pid reused after the pass: another start time.
        assert_eq!(table.take(ProcessId(12), StartTime(8)), None);
        // Absent, started long before the pass, but whether the kernel's
        // iterators visit it is not known: unknown.
        assert_eq!(table.take(ProcessId(13), StartTime(50)), None);
        table.set_visited([
            (ProcessId(13), StartTime(50)),
            (ProcessId(14), StartTime(99)),
        ]);
        // Visited, absent, started long before the pass: no fds at all.
        assert_eq!(table.take(ProcessId(13), StartTime(50)), Some(Vec::new()));
        // Absent, started as the pass began: unknown.
        assert_eq!(table.take(ProcessId(14), StartTime(99)), None);
        // Hidden from the iterators (not visited), or visited as another
        // incarnation: unknown.
        assert_eq!(table.take(ProcessId(1), StartTime(1)), None);
        table.set_visited([(ProcessId(15), StartTime(40))]);
        assert_eq!(table.take(ProcessId(15), StartTime(41)), None);
    }
}
