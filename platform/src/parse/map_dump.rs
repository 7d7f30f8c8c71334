//! The byte stream of limier's mapping iterator program
//! (`linux/kernel_iter`): one record per run of a process's memory mappings
//! that map the same open file, in the kernel's iteration order.
//!
//! A record is a 24-byte little-endian header — tgid (u32), the path length
//! (i32: bytes including the trailing NUL, or a negative number when the
//! program could not render the path exactly as `/proc/PID/maps` would),
//! the process's start time in boot-clock nanoseconds (u64), the file's
//! inode number (u64) — followed by the path bytes, as `bpf_d_path` renders
//! them (` (deleted)` appended for an unlinked file, nothing escaped).
//!
//! A record whose length is [`MAP_DUMP_VISITED`] (`i32::MIN`) carries no
//! file: it says the program visited the process, and is written first for
//! each process when the program reports only the files below some
//! directories.

use super::dump_record::next_record;
use super::fdlink::strip_deleted;
use super::ParseError;
use crate::records::{MappedFile, ProcessId};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Size of a record's header.
pub const MAP_DUMP_HEADER: usize = 24;
/// The longest path the program writes (PATH_MAX, with its NUL).
pub const MAP_DUMP_PATH_MAX: usize = 4096;

/// The length field of a record that only says a process was visited.
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

/// What a record says of its process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapDumpEntry {
    /// It maps this file.
    File(MappedFile),
    /// It maps a file whose path the program could not render as the maps
    /// file would (the caller reads `/proc/PID/maps` instead).
    Unrendered,
    /// The program visited it (a [`MAP_DUMP_VISITED`] record).
    Visited,
}

fn error(reason: impl Into<String>) -> ParseError {
    ParseError::new("map dump", reason)
}

/// Parses a whole dump.
pub fn parse_map_dump(bytes: &[u8]) -> Result<Vec<MapDumpRow>, ParseError> {
    let mut rows = Vec::with_capacity(bytes.len() / 64);
    let mut rest = bytes;
    while !rest.is_empty() {
        let record = next_record(&mut rest, MAP_DUMP_HEADER, 4, MAP_DUMP_PATH_MAX, "map dump")?;
        let entry = match record.path {
            None if record.length == MAP_DUMP_VISITED => MapDumpEntry::Visited,
            None => MapDumpEntry::Unrendered,
            Some(path) => {
                let path = path
                    .strip_suffix(b"\0")
                    .ok_or_else(|| error("path without its NUL"))?;
                if path.first() != Some(&b'/') {
                    return Err(error("a mapped file's path that is not absolute"));
                }
                let (path, deleted) = strip_deleted(path);
                MapDumpEntry::File(MappedFile {
                    path: PathBuf::from(OsStr::from_bytes(path)),
                    inode: record.long(16),
                    deleted,
                })
            }
        };
        rows.push(MapDumpRow {
            pid: ProcessId(record.word(0)),
            start_ns: record.long(8),
            entry,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: u32, start: u64, inode: u64, path: Option<&[u8]>) -> Vec<u8> {
        record_of_length(
            pid,
            start,
            inode,
            path,
            path.map_or(-1, |p| p.len() as i32 + 1),
        )
    }

    fn record_of_length(
        pid: u32,
        start: u64,
        inode: u64,
        path: Option<&[u8]>,
        length: i32,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&pid.to_le_bytes());
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&inode.to_le_bytes());
        if let Some(path) = path {
            out.extend_from_slice(path);
            out.push(0);
        }
        out
    }

    #[test]
    fn parses_paths_deleted_files_and_unrendered_rows() {
        let mut dump = record(
            4242,
            123_456_789_000,
            1311019,
            Some(b"/usr/lib/x86_64-linux-gnu/libc.so.6"),
        );
        dump.extend(record(
            4242,
            123_456_789_000,
            77,
            Some(b"/tmp/dir with space/data.bin (deleted)"),
        ));
        dump.extend(record(
            4242,
            123_456_789_000,
            78,
            Some(b"/tmp/new\nline.so"),
        ));
        dump.extend(record(7, 1, 5, None));
        dump.extend(record_of_length(8, 2, 0, None, MAP_DUMP_VISITED));
        dump.extend(record_of_length(8, 2, 0, None, -36));
        let rows = parse_map_dump(&dump).unwrap();
        assert_eq!(rows.len(), 6);
        assert_eq!(rows[0].pid, ProcessId(4242));
        assert_eq!(rows[0].start_ns, 123_456_789_000);
        assert_eq!(
            rows[0].entry,
            MapDumpEntry::File(MappedFile {
                path: "/usr/lib/x86_64-linux-gnu/libc.so.6".into(),
                inode: 1311019,
                deleted: false
            })
        );
        assert_eq!(
            rows[1].entry,
            MapDumpEntry::File(MappedFile {
                path: "/tmp/dir with space/data.bin".into(),
                inode: 77,
                deleted: true
            })
        );
        // d_path does not escape: a newline is the name's own byte.
        let MapDumpEntry::File(file) = &rows[2].entry else {
            panic!("{:?}", rows[2])
        };
        assert_eq!(file.path, PathBuf::from("/tmp/new\nline.so"));
        assert_eq!(
            (rows[3].pid, rows[3].entry.clone()),
            (ProcessId(7), MapDumpEntry::Unrendered)
        );
        assert_eq!(
            (rows[4].pid, rows[4].start_ns, rows[4].entry.clone()),
            (ProcessId(8), 2, MapDumpEntry::Visited)
        );
        // A d_path error (-ENAMETOOLONG) is a file not rendered, not a visit.
        assert_eq!(rows[5].entry, MapDumpEntry::Unrendered);
        assert!(parse_map_dump(&[]).unwrap().is_empty());
    }

    #[test]
    fn rejects_truncated_and_malformed_records() {
        let dump = record(1, 1, 1, Some(b"/x"));
        assert!(parse_map_dump(&dump[..10]).is_err());
        assert!(parse_map_dump(&dump[..dump.len() - 1]).is_err());
        let mut huge = dump.clone();
        huge[4..8].copy_from_slice(&5000i32.to_le_bytes());
        assert!(parse_map_dump(&huge).is_err());
        let relative = record(1, 1, 1, Some(b"anon_inode:x"));
        assert!(parse_map_dump(&relative).is_err());
        let mut no_nul = record(1, 1, 1, Some(b"/x"));
        *no_nul.last_mut().unwrap() = b'y';
        assert!(parse_map_dump(&no_nul).is_err());
    }
}
