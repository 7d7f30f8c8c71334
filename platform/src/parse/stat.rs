//! `/proc/PID/stat` and the `btime` line of `/proc/stat`.

use super::{parse_decimal, ParseError};
use crate::records::{ByteString, ProcessId, ProcessState, StartTime};

/// The fields of `/proc/PID/stat` that limier uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatFields {
    /// The process id (field 1).
    pub pid: ProcessId,
    /// The command name, without its parentheses (field 2).
    pub comm: ByteString,
    /// The scheduler state (field 3).
    pub state: ProcessState,
    /// The parent pid (field 4).
    pub ppid: ProcessId,
    /// The process group id (field 5).
    pub pgid: ProcessId,
    /// The session id (field 6).
    pub sid: ProcessId,
    /// The controlling terminal (field 7, `tty_nr`); `None` for 0.
    pub tty: Option<u32>,
    /// `flags` (field 9): `PF_KTHREAD` marks kernel threads.
    pub flags: u32,
    /// Number of threads (field 20).
    pub threads: u32,
    /// Start time in clock ticks since boot (field 22).
    pub start: StartTime,
}

impl StatFields {
    /// A process record holding only what stat says (no owner, links or
    /// argv): the cheapest record a snapshot can hold.
    pub fn into_record(self, started_at_ms: u64) -> crate::records::ProcessRecord {
        // PF_KTHREAD alone: in a pid namespace, pid 2 and its children are
        // ordinary processes.
        let kernel_thread = self.flags & PF_KTHREAD != 0;
        crate::records::ProcessRecord {
            pid: self.pid,
            ppid: self.ppid,
            pgid: self.pgid,
            sid: self.sid,
            tty: self.tty,
            uid: None,
            state: self.state,
            start: self.start,
            started_at_ms,
            comm: self.comm,
            cmdline: Vec::new(),
            exe: None,
            cwd: None,
            cwd_deleted: false,
            exe_deleted: false,
            root: None,
            kernel_thread,
            threads: self.threads,
            inspectable: true,
            pin: crate::records::Pin::StartTime,
            mount_ns: None,
        }
    }
}

/// `PF_KTHREAD` from include/linux/sched.h.
pub const PF_KTHREAD: u32 = 0x0020_0000;

/// Parses one `/proc/PID/stat` line.
///
/// The comm field may hold spaces and parentheses, so it runs from the first
/// `(` to the *last* `)`.
///
/// # References
/// proc(5), `/proc/pid/stat`.
pub fn parse_stat(text: &[u8]) -> Result<StatFields, ParseError> {
    let err = |reason: &str| ParseError::new("stat", reason);
    let open = text
        .iter()
        .position(|&b| b == b'(')
        .ok_or_else(|| err("no '(' before comm"))?;
    let close = text
        .iter()
        .rposition(|&b| b == b')')
        .ok_or_else(|| err("no ')' after comm"))?;
    if close < open {
        return Err(err("')' before '('"));
    }
    let pid = parse_decimal(trim(&text[..open])).ok_or_else(|| err("bad pid"))?;
    let comm = ByteString::from(&text[open + 1..close]);
    let rest: Vec<&[u8]> = text[close + 1..]
        .split(|&b| b == b' ' || b == b'\n')
        .filter(|field| !field.is_empty())
        .collect();
    // rest[0] is field 3 (state); field N is rest[N - 3].
    let field = |n: usize| {
        rest.get(n - 3)
            .copied()
            .ok_or_else(|| err("too few fields"))
    };
    let number = |n: usize| -> Result<u64, ParseError> {
        parse_decimal(field(n)?).ok_or_else(|| err("non-numeric field"))
    };
    let state_field = field(3)?;
    if state_field.len() != 1 {
        return Err(err("state is not one letter"));
    }
    Ok(StatFields {
        pid: ProcessId(pid),
        comm,
        state: ProcessState::from_letter(state_field[0]),
        ppid: ProcessId(to_u32(number(4)?).ok_or_else(|| err("ppid out of range"))?),
        pgid: ProcessId(to_u32(number(5)?).ok_or_else(|| err("pgid out of range"))?),
        sid: ProcessId(to_u32(number(6)?).ok_or_else(|| err("sid out of range"))?),
        // Printed as a signed int: a value that does not read as a device
        // number names no terminal rather than failing the record.
        tty: number(7).ok().and_then(to_u32).filter(|&tty| tty != 0),
        flags: to_u32(number(9)?).ok_or_else(|| err("flags out of range"))?,
        threads: to_u32(number(20)?).ok_or_else(|| err("threads out of range"))?,
        start: StartTime(number(22)?),
    })
}

/// Parses the `btime` line (boot time, seconds since the epoch) of `/proc/stat`.
///
/// # References
/// proc(5), `/proc/stat`.
pub fn parse_boot_time(text: &[u8]) -> Result<u64, ParseError> {
    text.split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"btime "))
        .and_then(|value| parse_decimal(trim(value)))
        .ok_or_else(|| ParseError::new("stat", "no btime line"))
}

fn to_u32(value: u64) -> Option<u32> {
    u32::try_from(value).ok()
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from `cat /proc/self/stat` on a 6.x kernel.
    const CAT: &[u8] = b"4127 (cat) R 4101 4127 4101 34816 4127 4194304 93 0 0 0 0 0 0 0 20 0 1 0 1284467 8273920 226 18446744073709551615 94760235597824 94760235614145 140727012873200 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94760235630576 94760235632160 94760266829824 140727012880237 140727012880257 140727012880257 140727012884459 0\n";

    #[test]
    fn parses_captured_cat_stat() {
        let stat = parse_stat(CAT).unwrap();
        assert_eq!(stat.pid, ProcessId(4127));
        assert_eq!(stat.comm.as_bytes(), b"cat");
        assert_eq!(stat.state, ProcessState::Running);
        assert_eq!(stat.ppid, ProcessId(4101));
        assert_eq!(stat.pgid, ProcessId(4127));
        assert_eq!(stat.sid, ProcessId(4101));
        assert_eq!(stat.tty, Some(34816), "pts/0: major 136, minor 0");
        assert_eq!(stat.flags, 4194304);
        assert_eq!(stat.threads, 1);
        assert_eq!(stat.start, StartTime(1284467));
    }

    #[test]
    fn comm_with_spaces_and_parens_runs_to_last_paren() {
        let line = b"77 (a b) c) (d) S 1 77 77 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 3 0 555 0 0\n";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.comm.as_bytes(), b"a b) c) (d");
        assert_eq!(stat.state, ProcessState::Sleeping);
        assert_eq!(stat.ppid, ProcessId(1));
        assert_eq!(stat.threads, 3);
        assert_eq!(stat.start, StartTime(555));
    }

    #[test]
    fn kernel_thread_flag_is_read() {
        let line = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0\n";
        let stat = parse_stat(line).unwrap();
        assert_ne!(stat.flags & PF_KTHREAD, 0);
        assert_eq!(stat.ppid, ProcessId(0));
        assert!(stat.into_record(0).kernel_thread);
    }

    #[test]
    fn pid_two_and_its_children_in_a_pid_namespace_are_ordinary_processes() {
        // `sleep` as pid 2 of a pid namespace, and its child: no PF_KTHREAD.
        for line in [
            &b"2 (sleep) S 1 1 1 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 363845 0 0
"[..],
            b"3 (sh) S 2 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 363850 0 0
",
        ] {
            let record = parse_stat(line).unwrap().into_record(0);
            assert!(!record.kernel_thread, "{record:?}");
        }
    }

    #[test]
    fn malformed_stat_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"12",
            b"12 (x",
            b") 12 (",
            b"12 (x) S",
            b"12 (x) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
            b"x (y) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 5",
            b"12 (x) S 99999999999 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 5",
        ] {
            assert!(
                parse_stat(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn boot_time_is_read_from_proc_stat() {
        let text = b"cpu  1 2 3\ncpu0 1 2 3\nintr 0\nctxt 99\nbtime 1764150000\nprocesses 3\n";
        assert_eq!(parse_boot_time(text), Ok(1764150000));
        assert!(parse_boot_time(b"cpu 1\n").is_err());
        assert!(parse_boot_time(b"btime x\n").is_err());
    }
}
