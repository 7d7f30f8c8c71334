//! The byte stream of limier's fd iterator program (`linux/kernel_iter`): one
//! record per open fd of every process, in the kernel's iteration order.
//!
//! A record is a 24-byte little-endian header — tgid (u32), fd (u32), the
//! process's start time in boot-clock nanoseconds (u64), the path length
//! (i32: bytes including the trailing NUL, or a negative errno when
//! `bpf_d_path` failed), the id of the mount the file is on (u32; 0: not
//! read) — followed by the path bytes.

use super::dump_record::next_record;
use super::{parse_fd_link, ParseError};
use crate::records::{FdTarget, ProcessId};

/// Size of a record's header.
pub const FD_DUMP_HEADER: usize = 24;
/// The longest path the program writes (PATH_MAX, with its NUL).
pub const FD_DUMP_PATH_MAX: usize = 4096;

/// One open fd as the kernel iterator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdDumpRow {
    /// The process (thread group id) holding the fd.
    pub pid: ProcessId,
    /// The fd number.
    pub fd: u32,
    /// `task->start_boottime`: what `/proc/PID/stat` reports, in nanoseconds.
    pub start_ns: u64,
    /// Where the fd points, as readlink(2) would say; `None` when the kernel
    /// could not render the path (the caller falls back to readlink).
    pub target: Option<FdTarget>,
    /// The id of the mount the file is on, when the program read it.
    pub mount_id: Option<u32>,
}

/// Parses a whole dump.
pub fn parse_fd_dump(bytes: &[u8]) -> Result<Vec<FdDumpRow>, ParseError> {
    let mut rows = Vec::with_capacity(bytes.len() / 48);
    let mut rest = bytes;
    while !rest.is_empty() {
        let record = next_record(&mut rest, FD_DUMP_HEADER, 16, FD_DUMP_PATH_MAX, "fd dump")?;
        let target = record
            .path
            .map(|path| parse_fd_link(path.strip_suffix(b"\0").unwrap_or(path)));
        rows.push(FdDumpRow {
            pid: ProcessId(record.word(0)),
            fd: record.word(4),
            start_ns: record.long(8),
            target,
            mount_id: Some(record.word(20)).filter(|&id| id != 0),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::SocketInode;
    use std::path::PathBuf;

    fn record(pid: u32, fd: u32, start: u64, path: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&pid.to_le_bytes());
        out.extend_from_slice(&fd.to_le_bytes());
        out.extend_from_slice(&start.to_le_bytes());
        match path {
            Some(path) => {
                out.extend_from_slice(&(path.len() as i32 + 1).to_le_bytes());
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(path);
                out.push(0);
            }
            None => {
                out.extend_from_slice(&(-36i32).to_le_bytes());
                out.extend_from_slice(&[0; 4]);
            }
        }
        out
    }

    #[test]
    fn parses_sockets_paths_and_failures() {
        let mut dump = record(4242, 3, 123_456_789_000, Some(b"socket:[98765]"));
        dump.extend(record(
            4242,
            4,
            123_456_789_000,
            Some(b"/srv/a b (deleted)"),
        ));
        dump.extend(record(7, 0, 1, None));
        let rows = parse_fd_dump(&dump).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].pid, ProcessId(4242));
        assert_eq!(rows[0].start_ns, 123_456_789_000);
        assert_eq!(
            rows[0].target,
            Some(FdTarget::Socket {
                inode: SocketInode(98765)
            })
        );
        assert_eq!(
            rows[1].target,
            Some(FdTarget::Path {
                path: PathBuf::from("/srv/a b"),
                deleted: true
            })
        );
        assert_eq!(
            (rows[2].pid, rows[2].fd, rows[2].target.clone()),
            (ProcessId(7), 0, None)
        );
        assert!(parse_fd_dump(&[]).unwrap().is_empty());
        // The reserved word: no mount id read.
        assert_eq!(rows[1].mount_id, None);
    }

    #[test]
    fn a_record_carries_its_mount_id() {
        let mut dump = record(9, 3, 1, Some(b"/srv/x"));
        dump[20..24].copy_from_slice(&311u32.to_le_bytes());
        assert_eq!(parse_fd_dump(&dump).unwrap()[0].mount_id, Some(311));
    }

    #[test]
    fn rejects_truncated_records() {
        let dump = record(1, 1, 1, Some(b"/x"));
        assert!(parse_fd_dump(&dump[..10]).is_err());
        assert!(parse_fd_dump(&dump[..dump.len() - 1]).is_err());
        let mut huge = dump.clone();
        huge[16..20].copy_from_slice(&5000i32.to_le_bytes());
        assert!(parse_fd_dump(&huge).is_err());
    }
}
