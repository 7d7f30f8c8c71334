//! A process's mapped files through the `PROCMAP_QUERY` ioctl on
//! `/proc/PID/maps` (Linux 6.11 and later): binary records asked for one
//! file-backed mapping at a time, instead of the maps text, which formats
//! every mapping and renders its path once per mapping.
//!
//! Where the kernel lacks the ioctl, the caller reads the text.

use crate::parse::{first_of_each_path, strip_deleted};
use crate::records::MappedFile;
use rustix::fd::{AsRawFd, OwnedFd};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// `_IOWR(PROCFS_IOCTL_MAGIC, 17, struct procmap_query)`.
const PROCMAP_QUERY: libc::c_ulong = 0xC068_6611;
const COVERING_OR_NEXT_VMA: u64 = 0x10;
const FILE_BACKED_VMA: u64 = 0x20;
const NAME_MAX_BYTES: usize = 4096;

/// `struct procmap_query` (include/uapi/linux/fs.h).
#[repr(C)]
#[derive(Default)]
struct ProcmapQuery {
    size: u64,
    query_flags: u64,
    query_addr: u64,
    vma_start: u64,
    vma_end: u64,
    vma_flags: u64,
    vma_page_size: u64,
    vma_offset: u64,
    inode: u64,
    dev_major: u32,
    dev_minor: u32,
    vma_name_size: u32,
    build_id_size: u32,
    vma_name_addr: u64,
    build_id_addr: u64,
}

/// One file-backed mapping at or after `addr`, with its path in `name`
/// when given; `Ok(None)` past the last one.
///
/// # References
/// proc(5) `/proc/pid/maps`; Linux `fs/proc/task_mmu.c` `do_procmap_query`.
fn query(maps: &OwnedFd, addr: u64, name: Option<&mut [u8]>) -> io::Result<Option<ProcmapQuery>> {
    let mut q = ProcmapQuery {
        size: std::mem::size_of::<ProcmapQuery>() as u64,
        query_flags: COVERING_OR_NEXT_VMA | FILE_BACKED_VMA,
        query_addr: addr,
        ..Default::default()
    };
    if let Some(name) = name {
        q.vma_name_size = name.len() as u32;
        q.vma_name_addr = name.as_mut_ptr() as u64;
    }
    loop {
        // SAFETY: `q` is a live, properly sized `struct procmap_query`; the
        // kernel writes at most `vma_name_size` bytes at `vma_name_addr`,
        // which points into `name`, borrowed mutably for this call.
        let result = unsafe { libc::ioctl(maps.as_raw_fd(), PROCMAP_QUERY, &mut q) };
        if result == 0 {
            return Ok(Some(q));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENOENT) => return Ok(None),
            Some(libc::EINTR) => continue,
            _ => return Err(err),
        }
    }
}

/// The distinct files `maps` (an open `/proc/PID/maps`) maps, in address
/// order; `Ok(None)` when the kernel has no `PROCMAP_QUERY`.
///
/// A run of adjacent mappings of the same file (device and inode) is one
/// file, whose path is asked once: a shared library is four or five
/// mappings. Paths are as the maps file shows them, unescaped.
pub(super) fn mapped_files(maps: &OwnedFd) -> io::Result<Option<Vec<MappedFile>>> {
    let mut files: Vec<MappedFile> = Vec::new();
    let mut name = vec![0u8; NAME_MAX_BYTES];
    // (major, minor, inode, end) of the previous mapping.
    let mut previous: Option<(u32, u32, u64, u64)> = None;
    let mut addr = 0;
    loop {
        let found = match query(maps, addr, None) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(Some(first_of_each_path(files))),
            Err(err)
                if addr == 0 && matches!(err.raw_os_error(), Some(libc::ENOTTY | libc::EINVAL)) =>
            {
                return Ok(None)
            }
            Err(err) => return Err(err),
        };
        addr = found.vma_end;
        let key = (found.dev_major, found.dev_minor, found.inode);
        let same_run = previous.is_some_and(|(major, minor, inode, end)| {
            (major, minor, inode) == key && end == found.vma_start
        });
        previous = Some((key.0, key.1, key.2, found.vma_end));
        if same_run {
            continue;
        }
        let Some(named) = query(maps, found.vma_start, Some(&mut name))? else {
            return Ok(Some(first_of_each_path(files)));
        };
        if named.vma_start != found.vma_start {
            // The mappings changed between the two questions: go on from
            // the one just named.
            previous = Some((named.dev_major, named.dev_minor, named.inode, named.vma_end));
            addr = named.vma_end;
        }
        let length = (named.vma_name_size as usize)
            .saturating_sub(1)
            .min(name.len());
        let path = &name[..length];
        if path.first() != Some(&b'/') {
            continue;
        }
        let (path, deleted) = strip_deleted(path);
        files.push(MappedFile {
            path: PathBuf::from(OsStr::from_bytes(path)),
            inode: named.inode,
            deleted,
            deleted_by_kernel: false,
            device: Some((named.dev_major, named.dev_minor)),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{Mode, OFlags};

    /// The ioctl and the maps text name the same files, for a child that
    /// maps a file with a space in its name, the same file twice apart, and
    /// one deleted after mapping.
    #[test]
    fn the_ioctl_and_the_maps_text_agree() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("mapped file.bin");
        let gone = dir.path().join("gone.bin");
        let child = crate::linux::mapping_child::MappingChild::start(&[&kept, &gone, &kept], &gone);
        let path = format!("/proc/{}/maps", child.pid());
        let text = std::fs::read(&path).unwrap();
        let maps =
            rustix::fs::open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap();
        let queried = mapped_files(&maps).unwrap();
        child.finish();
        let Some(queried) = queried else {
            let release = rustix::system::uname();
            eprintln!(
                "no PROCMAP_QUERY on {:?}: nothing to compare",
                release.release()
            );
            return;
        };
        let from_text = crate::parse::parse_maps(&text).unwrap();
        assert_eq!(queried, from_text);
        assert!(queried.iter().any(|f| f.path == kept && !f.deleted));
        assert!(queried.iter().any(|f| f.path == gone && f.deleted));
        assert_eq!(queried.iter().filter(|f| f.path == kept).count(), 1);
    }
}
