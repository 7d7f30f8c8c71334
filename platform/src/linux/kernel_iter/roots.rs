//! The directories a [`MapReader`](super::MapReader) reports mapped files
//! below, as the kernel knows them: the dentry of each (the same under every
//! mount that shows it), and the ids of the mounts whose mount point lies
//! below one.
//!
//! limier opens each directory (`O_PATH`, nothing read) and runs a small
//! `task_file` iterator program over its own fds, which writes the address
//! of each file's `vfsmount` and dentry ([`crate::parse::parse_root_dump`]).
//! The mapping program compares those addresses with what a mapped file's
//! `f_path` holds; nothing is dereferenced in user space.

use super::assembler::*;
use super::layout::Offsets;
use super::program::SEQ_WRITE;
use super::{kernel_layout, load_program, require_initial_pid_namespace, run_into};
use crate::error::PlatformError;
use crate::linux::read_parsed;
use crate::parse::{parse_mount_points, parse_root_dump, ROOT_DUMP_RECORD};
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use std::path::{Path, PathBuf};

/// At most this many directories: the program compares every dentry it
/// climbs through with each.
pub const MAX_DIRS: usize = 4;
/// At most this many mounts below the directories.
pub const MAX_NESTED_MOUNTS: usize = 32;

// `struct bpf_iter__task_file` (the roots program's context).
const CTX_META: i16 = 0;
const CTX_FD: i16 = 16;
const CTX_FILE: i16 = 24;

/// Directories whose mapped files alone a mapping reader reports (see
/// [`super::MapReader::new`]).
#[derive(Debug, Clone)]
pub struct MapRoots {
    /// The dentry of each directory (the same under every mount of it).
    pub(super) dentries: Vec<u64>,
    /// Ids of the mounts whose mount point is at or below a directory.
    pub(super) nested: Vec<u32>,
}

impl MapRoots {
    /// Finds `dirs` (absolute, canonical) in the kernel.
    ///
    /// Fails, and the caller reads every mapped file, for more than
    /// `MAX_DIRS` directories or `MAX_NESTED_MOUNTS` mounts below them,
    /// where a directory cannot be opened, or where the BPF iterators are
    /// not available (see `dump_fds`).
    ///
    /// # References
    /// open(2) `O_PATH`; bpf(2); proc_pid_mountinfo(5).
    pub fn resolve(proc_root: &Path, dirs: &[PathBuf]) -> Result<Self, PlatformError> {
        if dirs.is_empty() || dirs.len() > MAX_DIRS {
            return Err(PlatformError::Unsupported {
                what: "a mapping filter for this many directories",
            });
        }
        // Every mapped file is below `/`, even those of internal mounts
        // (`/memfd:…`, `/SYSV…`) no mount point names.
        if dirs.iter().any(|dir| dir.parent().is_none()) {
            return Err(PlatformError::Unsupported {
                what: "a mapping filter for the root directory",
            });
        }
        require_initial_pid_namespace(proc_root)?;
        let layout = kernel_layout()?;
        if layout.below.is_none() {
            return Err(PlatformError::Unsupported {
                what: "the mount members in this kernel's BTF",
            });
        }
        // The mounts below the directories: a file on one is below them
        // (its id is compared), and so is the same file reached through
        // another mount of it — a bind elsewhere, another namespace's copy
        // — whose dentries climb to that mount's root: its root dentry is
        // compared too.
        let points = read_parsed(proc_root.join("self/mountinfo"), None, parse_mount_points)?;
        let nested_points: Vec<&crate::parse::MountPoint> = points
            .iter()
            .filter(|point| dirs.iter().any(|dir| point.path.starts_with(dir)))
            .collect();
        if nested_points.len() > MAX_NESTED_MOUNTS {
            return Err(PlatformError::Unsupported {
                what: "a mapping filter over this many mounts",
            });
        }
        let nested: Vec<u32> = nested_points.iter().map(|point| point.id).collect();
        let wanted: Vec<&Path> = dirs
            .iter()
            .map(PathBuf::as_path)
            .chain(nested_points.iter().map(|point| point.path.as_path()))
            .collect();
        let opened = wanted
            .iter()
            .map(|dir| {
                rustix::fs::open(
                    *dir,
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|err| PlatformError::from_io(None, dir.to_path_buf(), err.into()))
            })
            .collect::<Result<Vec<OwnedFd>, _>>()?;
        let program = load_program(
            &assemble_roots(&layout.offsets),
            layout.file_iterator,
            b"limier_roots",
            "loading the roots iterator",
        )?;
        let mut dump = Vec::new();
        run_into(&program, Some(std::process::id()), &mut dump)?;
        let rows = parse_root_dump(&dump).map_err(|source| PlatformError::Parse {
            from: crate::error::ParseSource::Call("the bpf roots iterator".into()),
            source,
        })?;
        let mut dentries: Vec<u64> = Vec::new();
        for (dir, fd) in wanted.iter().zip(&opened) {
            let row = rows
                .iter()
                .find(|row| row.fd == fd.as_raw_fd() as u32)
                .ok_or_else(|| PlatformError::Parse {
                    from: (*dir).into(),
                    source: crate::parse::ParseError::new(
                        "root dump",
                        "the directory's fd is not in the dump",
                    ),
                })?;
            if !dentries.contains(&row.dentry) {
                dentries.push(row.dentry);
            }
        }
        Ok(MapRoots { dentries, nested })
    }

    /// Roots with made-up addresses, for the programs' unit tests.
    #[cfg(test)]
    pub(super) fn made_up(dentries: Vec<u64>, nested: Vec<u32>) -> Self {
        MapRoots { dentries, nested }
    }
}

/// The roots program: for each fd of the process it is attached to, a
/// [`ROOT_DUMP_RECORD`]-byte record of the fd and the addresses of its
/// file's `vfsmount` and dentry.
fn assemble_roots(offsets: &Offsets) -> Vec<u64> {
    let mut asm = Assembler::new();
    let exit = asm.exit();
    asm.mov_reg(R6, R1); // r6 = ctx
    asm.load64(R8, R6, CTX_FILE);
    asm.jump_if_zero(R8, exit);
    asm.load32(R1, R6, CTX_FD);
    asm.store32(R10, -24, R1);
    asm.store32_imm(R10, -20, 0);
    asm.load64(R1, R8, offsets.file_path_mnt);
    asm.store64(R10, -16, R1);
    asm.load64(R1, R8, offsets.file_path_dentry);
    asm.store64(R10, -8, R1);
    // bpf_seq_write(ctx->meta->seq, fp - 24, 24)
    asm.load64(R1, R6, CTX_META);
    asm.load64(R1, R1, offsets.meta_seq);
    asm.mov_reg(R2, R10);
    asm.add_imm(R2, -(ROOT_DUMP_RECORD as i32));
    asm.mov_imm(R3, ROOT_DUMP_RECORD as i32);
    asm.call(SEQ_WRITE);
    asm.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::kernel_iter::assembler::decode;
    use crate::linux::kernel_iter::program::tests::OFFSETS;

    #[test]
    fn the_roots_program_writes_fd_mount_and_dentry_from_the_stack() {
        let program = assemble_roots(&OFFSETS);
        let decoded: Vec<_> = program.iter().map(|i| decode(*i)).collect();
        // f_path.mnt and f_path.dentry, stored at fp-16 and fp-8
        let mnt = OFFSETS.file_path_mnt;
        let dentry = OFFSETS.file_path_dentry;
        assert!(decoded.contains(&(0x79, R1, R8, mnt, 0)));
        assert!(decoded.contains(&(0x7b, R10, R1, -16, 0)));
        assert!(decoded.contains(&(0x79, R1, R8, dentry, 0)));
        assert!(decoded.contains(&(0x7b, R10, R1, -8, 0)));
        // bpf_seq_write(seq, fp - 24, 24)
        assert!(decoded.contains(&(0xb7, R3, 0, 0, ROOT_DUMP_RECORD as i32)));
        assert!(decoded.contains(&(0x85, 0, 0, 0, SEQ_WRITE)));
    }
}
