//! The byte stream of limier's task iterator program (`linux/kernel_iter`):
//! one fixed-size record per process (thread group leader), in the
//! kernel's iteration order, holding what `/proc/PID/stat` would say.
//!
//! A record is [`TASK_DUMP_RECORD`] little-endian bytes: tgid, ppid, pgid,
//! sid (u32 each), `start_boottime` in nanoseconds (u64), `flags`,
//! `__state`, `exit_state`, `signal->nr_threads`, the record's own flags
//! ([`TASK_DUMP_TERMINAL`], [`TASK_DUMP_UNREAD`]), the terminal driver's
//! major and first minor and the terminal's index (u32 each), and `comm`
//! (16 bytes, NUL-padded).
//!
//! The visits stream ([`parse_visit_dump`]) holds [`VISIT_DUMP_RECORD`]
//! bytes per process: tgid (u32), 4 zero bytes, `start_boottime` (u64).

use super::dump_record::fixed_records;
use super::stat::StatFields;
use super::ParseError;
use crate::records::{ByteString, ProcessId, ProcessState, StartTime};

/// Size of one record.
pub const TASK_DUMP_RECORD: usize = 72;
/// Record flag: the process has a controlling terminal.
pub const TASK_DUMP_TERMINAL: u32 = 1;
/// Record flag: a kernel read failed; the fields read through pointers
/// (parent, group, session, threads, terminal) are not to be trusted.
pub const TASK_DUMP_UNREAD: u32 = 2;
/// Size of one record of the visits stream.
pub const VISIT_DUMP_RECORD: usize = 16;

/// One process as the kernel's task iterator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDumpRow {
    /// The process (thread group id).
    pub pid: ProcessId,
    /// The parent's tgid (`real_parent`).
    pub ppid: ProcessId,
    /// The process group and session ids, in the initial pid namespace.
    pub pgid: ProcessId,
    /// See `pgid`.
    pub sid: ProcessId,
    /// `task->start_boottime`, nanoseconds.
    pub start_ns: u64,
    /// `task->flags` (stat's field 9).
    pub flags: u32,
    /// `task->__state`.
    pub task_state: u32,
    /// `task->exit_state`.
    pub exit_state: u32,
    /// `signal->nr_threads`.
    pub threads: u32,
    /// The controlling terminal: (driver major, driver minor_start, index).
    pub tty: Option<(u32, u32, u32)>,
    /// A kernel read failed while the record was built: read this process
    /// from `/proc` instead.
    pub unread: bool,
    /// `task->comm`, up to its first NUL.
    pub comm: ByteString,
}

// Task state bits (include/linux/sched.h), stable since 4.14 and what
// fs/proc/array.c's `task_state_array` encodes.
const TASK_REPORT: u32 = 0x7f;
const TASK_IDLE: u32 = 0x402;
const TASK_REPORT_IDLE: u32 = TASK_REPORT + 1;
const TASK_UNINTERRUPTIBLE: u32 = 0x2;
const TASK_RTLOCK_WAIT: u32 = 0x1000;
const TASK_FROZEN: u32 = 0x8000;
/// Linux's `MINORBITS`: a kernel `dev_t` is major << 20 | minor.
const MINOR_BITS: u32 = 20;

impl TaskDumpRow {
    /// The state letter stat shows: `task_state_index` (linux/sched.h) —
    /// the lowest set bit of the reported state, idle tasks apart, frozen
    /// and rt-lock waits shown as disk sleep — into `task_state_array`.
    pub fn state(&self) -> ProcessState {
        let mut state = (self.task_state | self.exit_state) & TASK_REPORT;
        if self.task_state & TASK_IDLE == TASK_IDLE {
            state = TASK_REPORT_IDLE;
        }
        if self.task_state & (TASK_RTLOCK_WAIT | TASK_FROZEN) != 0 {
            state = TASK_UNINTERRUPTIBLE;
        }
        // fls(): 0 for none, else the highest set bit's position from 1.
        let index = 32 - state.leading_zeros();
        ProcessState::from_letter(b"RSDTtXZPI"[index.min(8) as usize])
    }

    /// stat's `tty_nr`: `new_encode_dev(tty_devnum(tty))`, `None` without
    /// a terminal.
    pub fn tty_nr(&self) -> Option<u32> {
        let (major, minor_start, index) = self.tty?;
        let device = (major << MINOR_BITS | minor_start).wrapping_add(index);
        let (major, minor) = (device >> MINOR_BITS, device & ((1 << MINOR_BITS) - 1));
        Some((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)).filter(|&tty| tty != 0)
    }

    /// The fields stat would give, the start time in ticks of
    /// `ns_per_tick` nanoseconds.
    pub fn into_stat(self, ns_per_tick: u64) -> StatFields {
        StatFields {
            pid: self.pid,
            state: self.state(),
            ppid: self.ppid,
            pgid: self.pgid,
            sid: self.sid,
            tty: self.tty_nr(),
            flags: self.flags,
            threads: self.threads,
            start: StartTime(self.start_ns / ns_per_tick.max(1)),
            comm: self.comm,
        }
    }
}

/// Parses a whole dump.
pub fn parse_task_dump(bytes: &[u8]) -> Result<Vec<TaskDumpRow>, ParseError> {
    Ok(fixed_records(bytes, TASK_DUMP_RECORD, "task dump")?
        .map(|record| {
            let word = |at: usize| {
                u32::from_le_bytes([record[at], record[at + 1], record[at + 2], record[at + 3]])
            };
            let comm = &record[56..72];
            let comm = &comm[..comm.iter().position(|&b| b == 0).unwrap_or(comm.len())];
            TaskDumpRow {
                pid: ProcessId(word(0)),
                ppid: ProcessId(word(4)),
                pgid: ProcessId(word(8)),
                sid: ProcessId(word(12)),
                start_ns: u64::from(word(16)) | u64::from(word(20)) << 32,
                flags: word(24),
                task_state: word(28),
                exit_state: word(32),
                threads: word(36),
                tty: (word(40) & TASK_DUMP_TERMINAL != 0).then(|| (word(44), word(48), word(52))),
                unread: word(40) & TASK_DUMP_UNREAD != 0,
                comm: ByteString::from(comm),
            }
        })
        .collect())
}

/// Parses a whole visits stream: (tgid, `start_boottime` ns) per process.
pub fn parse_visit_dump(bytes: &[u8]) -> Result<Vec<(ProcessId, u64)>, ParseError> {
    Ok(fixed_records(bytes, VISIT_DUMP_RECORD, "visit dump")?
        .map(|record| {
            let pid = u32::from_le_bytes([record[0], record[1], record[2], record[3]]);
            let mut start = [0u8; 8];
            start.copy_from_slice(&record[8..16]);
            (ProcessId(pid), u64::from_le_bytes(start))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(task_state: u32, exit_state: u32) -> TaskDumpRow {
        TaskDumpRow {
            pid: ProcessId(10),
            ppid: ProcessId(1),
            pgid: ProcessId(10),
            sid: ProcessId(10),
            start_ns: 12_345_000_000,
            flags: 0x0040_0100,
            task_state,
            exit_state,
            threads: 1,
            tty: None,
            unread: false,
            comm: ByteString::from(&b"node"[..]),
        }
    }

    #[test]
    fn states_read_as_stat_letters() {
        let letter = |task_state, exit_state| row(task_state, exit_state).state();
        assert_eq!(letter(0, 0), ProcessState::Running);
        assert_eq!(letter(0x1, 0), ProcessState::Sleeping);
        // TASK_KILLABLE (wakekill | uninterruptible) is disk sleep.
        assert_eq!(letter(0x102, 0), ProcessState::DiskSleep);
        // TASK_STOPPED is wakekill | __TASK_STOPPED.
        assert_eq!(letter(0x104, 0), ProcessState::Stopped);
        assert_eq!(letter(0x8, 0), ProcessState::TracingStop);
        assert_eq!(
            letter(0x80, 0x20),
            ProcessState::Zombie,
            "TASK_DEAD, EXIT_ZOMBIE"
        );
        assert_eq!(letter(0x80, 0x10), ProcessState::Dead);
        assert_eq!(letter(0x402, 0), ProcessState::Idle);
        // A frozen task (TASK_FROZEN with its old state's bits) is D.
        assert_eq!(letter(0x8000 | 0x1, 0), ProcessState::DiskSleep);
    }

    #[test]
    fn the_terminal_encodes_as_stat_s_tty_nr() {
        let mut pts = row(1, 0);
        // pts/3: driver major 136, minor_start 0, index 3.
        pts.tty = Some((136, 0, 3));
        assert_eq!(pts.tty_nr(), Some(136 << 8 | 3));
        // pts/300: the minor's high bits go above the major (new_encode_dev).
        pts.tty = Some((136, 0, 300));
        assert_eq!(
            pts.tty_nr(),
            Some((300 & 0xff) | 136 << 8 | (300 & !0xff) << 12)
        );
        // tty1: major 4, minor_start 1, index 0.
        pts.tty = Some((4, 1, 0));
        assert_eq!(pts.tty_nr(), Some(4 << 8 | 1));
        pts.tty = None;
        assert_eq!(pts.tty_nr(), None);
    }

    #[test]
    fn records_parse_whole_or_not_at_all() {
        let mut bytes = Vec::new();
        for word in [4127u32, 4101, 4127, 4101] {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        bytes.extend_from_slice(&12_845_000_000u64.to_le_bytes());
        for word in [0x0040_0000u32, 1, 0, 3, 1, 136, 0, 0] {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        bytes.extend_from_slice(b"cat\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(bytes.len(), TASK_DUMP_RECORD);
        let rows = parse_task_dump(&bytes).unwrap();
        let stat = rows[0].clone().into_stat(10_000_000);
        assert_eq!(stat.pid, ProcessId(4127));
        assert_eq!(stat.ppid, ProcessId(4101));
        assert_eq!(stat.sid, ProcessId(4101));
        assert_eq!(stat.comm.as_bytes(), b"cat");
        assert_eq!(stat.state, ProcessState::Sleeping);
        assert_eq!(stat.threads, 3);
        assert_eq!(stat.tty, Some(136 << 8));
        assert_eq!(stat.start, StartTime(1284));
        assert!(!rows[0].unread);
        assert!(parse_task_dump(&bytes[..71]).is_err());
        assert!(parse_task_dump(&[]).unwrap().is_empty());
        // Word 40 is the record's flags: a failed read, no terminal.
        bytes[40..44].copy_from_slice(&TASK_DUMP_UNREAD.to_le_bytes());
        let row = &parse_task_dump(&bytes).unwrap()[0];
        assert!(row.unread && row.tty.is_none());
        let mut visits = Vec::new();
        visits.extend_from_slice(&7u32.to_le_bytes());
        visits.extend_from_slice(&[0; 4]);
        visits.extend_from_slice(&12_845_000_000u64.to_le_bytes());
        assert_eq!(
            parse_visit_dump(&visits).unwrap(),
            [(ProcessId(7), 12_845_000_000)]
        );
        assert!(parse_visit_dump(&visits[..15]).is_err());
    }
}
