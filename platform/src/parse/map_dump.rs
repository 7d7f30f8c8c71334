//! The byte stream of limier's mapping iterator program
//! (`linux/kernel_iter`): one record per run of a process's memory mappings
//! that map the same open file, in the kernel's iteration order.
//!
//! Every record is a [`MAP_DUMP_HEADER`]-byte little-endian header and
//! nothing else:
//!
//! | at | field |
//! |---|---|
//! | 0 | tgid (u32) |
//! | 4 | kind (i32): [`MAP_DUMP_FILE`], [`MAP_DUMP_UNRENDERED`] (a file the program cannot describe as `/proc/PID/maps` would; any other negative number reads the same) or [`MAP_DUMP_VISITED`] |
//! | 8 | the process's start time, boot-clock nanoseconds (u64) |
//! | 16 | the file's inode number (u64) |
//! | 24, 32 | the addresses of the file's `vfsmount` and dentry (u64 each): which path it is |
//! | 40, 48 | the first mapping's start and end address (u64 each): its `/proc/PID/map_files` name |
//! | 56 | 1 when the kernel had unlinked the dentry (u32), then 4 bytes of padding |
//!
//! The program renders no path: the reader asks the kernel for it.

use super::ParseError;
use crate::records::ProcessId;

/// Size of a record.
pub const MAP_DUMP_HEADER: usize = 64;
/// The kind of a record that describes a mapped file.
pub const MAP_DUMP_FILE: i32 = 0;
/// The kind of a record whose file the program could not describe.
pub const MAP_DUMP_UNRENDERED: i32 = -1;
/// The kind of a record that only says a process was visited.
pub const MAP_DUMP_VISITED: i32 = i32::MIN;

/// One record: a mapped file of one process as the kernel iterator saw it,
/// or the mark that it visited the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDumpRow {
    /// The process (thread group id).
    pub pid: ProcessId,
    /// `task->start_boottime`: what `/proc/PID/stat` reports, in nanoseconds.
    pub start_ns: u64,
    /// What the record says of it.
    pub entry: MapDumpEntry,
}

/// A mapped file as the program describes it: which object it is, and
/// where to ask for its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MapDumpFile {
    /// The file's inode number.
    pub inode: u64,
    /// The kernel address of the path's `vfsmount`.
    pub mount: u64,
    /// The kernel address of the path's dentry.
    pub dentry: u64,
    /// The start of the first mapping of the run.
    pub vm_start: u64,
    /// The end of that mapping.
    pub vm_end: u64,
    /// The kernel had unlinked the dentry: its path ends in " (deleted)".
    pub deleted: bool,
}

/// What a record says of its process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapDumpEntry {
    /// It maps this file.
    File(MapDumpFile),
    /// It maps a file the program could not describe as the maps file
    /// would (the caller reads `/proc/PID/maps` instead).
    Unrendered,
    /// The program visited it (a [`MAP_DUMP_VISITED`] record).
    Visited,
}

fn error(reason: impl Into<String>) -> ParseError {
    ParseError::new("map dump", reason)
}

fn u32_at(record: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([record[at], record[at + 1], record[at + 2], record[at + 3]])
}

fn u64_at(record: &[u8], at: usize) -> u64 {
    u64::from(u32_at(record, at)) | u64::from(u32_at(record, at + 4)) << 32
}

/// Parses a whole dump.
pub fn parse_map_dump(bytes: &[u8]) -> Result<Vec<MapDumpRow>, ParseError> {
    let records = bytes.chunks_exact(MAP_DUMP_HEADER);
    if !records.remainder().is_empty() {
        return Err(error(format!(
            "{} bytes left over, a record is {MAP_DUMP_HEADER}",
            records.remainder().len()
        )));
    }
    records
        .map(|record| {
            let entry = match u32_at(record, 4) as i32 {
                MAP_DUMP_VISITED => MapDumpEntry::Visited,
                MAP_DUMP_FILE => {
                    let file = MapDumpFile {
                        inode: u64_at(record, 16),
                        mount: u64_at(record, 24),
                        dentry: u64_at(record, 32),
                        vm_start: u64_at(record, 40),
                        vm_end: u64_at(record, 48),
                        deleted: match u32_at(record, 56) {
                            0 => false,
                            1 => true,
                            other => return Err(error(format!("deleted flag {other}"))),
                        },
                    };
                    if file.vm_start >= file.vm_end {
                        return Err(error(format!(
                            "mapping {:#x}-{:#x} is empty",
                            file.vm_start, file.vm_end
                        )));
                    }
                    MapDumpEntry::File(file)
                }
                kind if kind < 0 => MapDumpEntry::Unrendered,
                kind => return Err(error(format!("record kind {kind}"))),
            };
            Ok(MapDumpRow {
                pid: ProcessId(u32_at(record, 0)),
                start_ns: u64_at(record, 8),
                entry,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: u32, start: u64, kind: i32, file: MapDumpFile) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&pid.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        for word in [
            start,
            file.inode,
            file.mount,
            file.dentry,
            file.vm_start,
            file.vm_end,
            u64::from(file.deleted),
        ] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out
    }

    const LIBC: MapDumpFile = MapDumpFile {
        inode: 1311019,
        mount: 0xffff_8881_0000_1000,
        dentry: 0xffff_8881_2222_3340,
        vm_start: 0x7f00_0000_0000,
        vm_end: 0x7f00_0002_8000,
        deleted: false,
    };

    #[test]
    fn parses_files_deleted_files_unrendered_and_visited_rows() {
        let gone = MapDumpFile {
            deleted: true,
            ..LIBC
        };
        let none = MapDumpFile {
            inode: 5,
            mount: 0,
            dentry: 0,
            vm_start: 0,
            vm_end: 0,
            deleted: false,
        };
        let mut dump = record(4242, 123_456_789_000, MAP_DUMP_FILE, LIBC);
        dump.extend(record(4242, 123_456_789_000, MAP_DUMP_FILE, gone));
        dump.extend(record(7, 1, MAP_DUMP_UNRENDERED, none));
        dump.extend(record(8, 2, MAP_DUMP_VISITED, none));
        dump.extend(record(8, 2, -36, none));
        let rows = parse_map_dump(&dump).unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].pid, ProcessId(4242));
        assert_eq!(rows[0].start_ns, 123_456_789_000);
        assert_eq!(rows[0].entry, MapDumpEntry::File(LIBC));
        assert_eq!(rows[1].entry, MapDumpEntry::File(gone));
        assert_eq!(
            (rows[2].pid, rows[2].entry.clone()),
            (ProcessId(7), MapDumpEntry::Unrendered)
        );
        assert_eq!(
            (rows[3].pid, rows[3].start_ns, rows[3].entry.clone()),
            (ProcessId(8), 2, MapDumpEntry::Visited)
        );
        // Any other negative kind is a file not described, not a visit.
        assert_eq!(rows[4].entry, MapDumpEntry::Unrendered);
        assert!(parse_map_dump(&[]).unwrap().is_empty());
    }

    #[test]
    fn rejects_truncated_and_malformed_records() {
        let dump = record(1, 1, MAP_DUMP_FILE, LIBC);
        assert!(parse_map_dump(&dump[..10]).is_err());
        assert!(parse_map_dump(&dump[..dump.len() - 1]).is_err());
        assert!(parse_map_dump(&record(1, 1, 3, LIBC)).is_err());
        let mut flag = dump.clone();
        flag[56] = 2;
        assert!(parse_map_dump(&flag).is_err());
        let empty = MapDumpFile {
            vm_end: LIBC.vm_start,
            ..LIBC
        };
        assert!(parse_map_dump(&record(1, 1, MAP_DUMP_FILE, empty)).is_err());
    }
}
