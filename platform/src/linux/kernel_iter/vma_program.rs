//! The mapping iterator program, assembled from the running kernel's
//! offsets.
//!
//! The kernel's `task_vma` iterator visits every memory mapping of every
//! process. For each one backed by a file, the program writes one record
//! (see [`crate::parse::parse_map_dump`]) — the tgid, the process start time,
//! the file's inode number, the addresses of its `vfsmount` and dentry (what
//! makes its path), whether the kernel has unlinked that dentry, and the
//! mapping's address range — unless the mapping before it, in the same
//! process, mapped the very same open file (a shared library is four or
//! five mappings of one file).
//!
//! The program renders no path. A kernel may refuse `bpf_d_path` on the
//! mapped file: `ctx->vma` is not a trusted pointer, and on 6.18.44 walking
//! any pointer that is not (here `vma->vm_file`) gives an *untrusted* one,
//! which the helper refuses (`R1 type=untrusted_ptr_ expected=ptr_,
//! trusted_ptr_, rcu_ptr_`); older kernels gave a plain pointer it took.
//! Loads through untrusted pointers are still allowed (the verifier makes
//! them faulting-safe reads), so the program reads addresses and flags, and
//! the reader renders each distinct `(vfsmount, dentry)` once, by reading
//! the link `/proc/PID/map_files/START-END`: the kernel's own `d_path` of
//! the path `/proc/PID/maps` shows, with nothing looked up in the mapped
//! file's file system.
//!
//! `/proc/PID/maps` names a stacked file system's file (overlayfs, FUSE
//! passthrough) by the path the user opened, while the mapping holds the
//! backing file; for a file whose `f_mode` may carry FMODE_BACKING (bit 25
//! before Linux 6.14, bit 24 since) the program writes an unrendered record,
//! and the caller reads that process's maps file instead.

use super::assembler::*;
use super::layout::{BelowOffsets, Offsets};
use super::program::{lookup_scratch, SEQ_WRITE};
use super::roots::MapRoots;
use crate::parse::{MAP_DUMP_FILE, MAP_DUMP_HEADER, MAP_DUMP_UNRENDERED, MAP_DUMP_VISITED};

const CTX_TASK: i16 = 8;
const CTX_VMA: i16 = 16;

/// FMODE_BACKING's bit in every kernel with backing files: 25 until 6.13,
/// 24 from 6.14 (bit 24 was unused before, bit 25 is rare after).
const MAYBE_BACKING: i32 = 1 << 24 | 1 << 25;

/// Offsets in the scratch value: the file the previous mapping held, the
/// tgid of its process and the iterator session that saw it (a map outlives
/// one session: a reader runs the program for one process after another);
/// the record follows.
const LAST_FILE: i16 = 0;
const LAST_TGID: i16 = 8;
const LAST_SESSION: i16 = 16;
const RECORD: i16 = 24;

/// Offsets of the record's fields (see [`crate::parse::parse_map_dump`]).
const R_TGID: i16 = RECORD;
const R_KIND: i16 = RECORD + 4;
const R_START: i16 = RECORD + 8;
const R_INODE: i16 = RECORD + 16;
const R_MOUNT: i16 = RECORD + 24;
const R_DENTRY: i16 = RECORD + 32;
const R_VM_START: i16 = RECORD + 40;
const R_VM_END: i16 = RECORD + 48;
const R_DELETED: i16 = RECORD + 56;

// `struct bpf_iter__task_vma` (the program's context).
const CTX_META: i16 = 0;

/// Size of the scratch map's value.
pub const VMA_SCRATCH_SIZE: u32 = RECORD as u32 + MAP_DUMP_HEADER as u32;

/// How many parents the program climbs from a file's dentry looking for a
/// directory's; a deeper file is reported, for the caller to judge by its
/// path.
pub const BELOW_DEPTH: usize = 24;

/// `bpf_probe_read_kernel`'s helper id.
const PROBE_READ_KERNEL: i32 = 113;

/// Assembles the program, keeping its state and building records in the
/// one-entry array map `map_fd` (of [`VMA_SCRATCH_SIZE`] bytes). The map is
/// not per CPU: the iterator may move between CPUs from one mapping to the
/// next, and only this program's one reader runs it.
///
/// With `below`, the program writes a [`MAP_DUMP_VISITED`] record for each
/// process (one with no file below must still be told from one the pass
/// never saw), then only the files that lie below one of the roots'
/// directories, or that it cannot judge.
pub fn assemble_vma(
    offsets: &Offsets,
    map_fd: i32,
    below: Option<(&BelowOffsets, &MapRoots)>,
) -> Vec<u64> {
    let mut asm = Assembler::new();
    let exit = asm.exit();
    let new_process = asm.label();
    let new_file = asm.label();
    let unrendered = asm.label();
    let render = asm.label();
    asm.mov_reg(R6, R1); // r6 = ctx
    asm.load64(R7, R6, CTX_TASK);
    asm.jump_if_zero(R7, exit);
    asm.load64(R8, R6, CTX_VMA);
    asm.jump_if_zero(R8, exit);
    asm.load64(R8, R8, offsets.vma_file);
    asm.jump_if_zero(R8, exit); // anonymous memory
    lookup_scratch(&mut asm, map_fd, R9);
    // Another process, or another iterator session (a map outlives one
    // session: a reader runs the program for one process after another).
    asm.load64(R3, R6, CTX_META);
    asm.load64(R3, R3, offsets.meta_session);
    asm.load64(R1, R9, LAST_SESSION);
    asm.jump_if_registers_differ(R1, R3, new_process);
    asm.load32(R1, R9, LAST_TGID);
    asm.load32(R2, R7, offsets.task_tgid);
    asm.jump_if_registers_differ(R1, R2, new_process);
    // The same open file as the previous mapping of the same process: done.
    asm.load64(R1, R9, LAST_FILE);
    asm.jump_if_registers_equal(R1, R8, exit);
    asm.goto(new_file);
    asm.bind(new_process);
    asm.store64(R9, LAST_SESSION, R3);
    asm.load32(R1, R7, offsets.task_tgid);
    asm.store32(R9, LAST_TGID, R1);
    if below.is_some() {
        write_header(&mut asm, offsets);
        asm.store32_imm(R9, R_KIND, MAP_DUMP_VISITED);
        write_scratch_record(&mut asm, offsets);
    }
    asm.bind(new_file);
    asm.store64(R9, LAST_FILE, R8);
    write_header(&mut asm, offsets);
    asm.load64(R1, R8, offsets.file_inode);
    asm.jump_if_zero(R1, unrendered);
    asm.load64(R1, R1, offsets.inode_ino);
    asm.store64(R9, R_INODE, R1);
    asm.load32(R1, R8, offsets.file_mode);
    asm.and_imm(R1, MAYBE_BACKING);
    asm.jump_if_not_equal_imm(R1, 0, unrendered);
    if let Some((below_offsets, roots)) = below {
        below_or_exit(&mut asm, offsets, below_offsets, roots, render);
    }
    asm.bind(render);
    let write = asm.label();
    let kept = asm.label();
    // The path's parts, and the mapping's range (ctx->vma again: r8 holds
    // the file now).
    asm.load64(R1, R8, offsets.file_path_mnt);
    asm.store64(R9, R_MOUNT, R1);
    asm.load64(R2, R8, offsets.file_path_dentry);
    asm.store64(R9, R_DENTRY, R2);
    asm.load64(R1, R6, CTX_VMA);
    asm.jump_if_zero(R1, exit);
    asm.load64(R3, R1, offsets.vma_start);
    asm.store64(R9, R_VM_START, R3);
    asm.load64(R3, R1, offsets.vma_end);
    asm.store64(R9, R_VM_END, R3);
    // d_unlinked(): unhashed and not its own parent, what makes d_path add
    // " (deleted)".
    asm.jump_if_zero(R2, kept);
    asm.load64(R3, R2, offsets.dentry_hash_pprev);
    asm.jump_if_not_equal_imm(R3, 0, kept);
    asm.load64(R3, R2, offsets.dentry_parent);
    asm.jump_if_registers_equal(R3, R2, kept);
    asm.store32_imm(R9, R_DELETED, 1);
    asm.bind(kept);
    asm.store32_imm(R9, R_KIND, MAP_DUMP_FILE);
    asm.goto(write);
    asm.bind(unrendered);
    asm.store32_imm(R9, R_KIND, MAP_DUMP_UNRENDERED);
    asm.bind(write);
    write_scratch_record(&mut asm, offsets);
    asm.finish()
}

/// Writes the record in the scratch value (r9) to the iterator's seq file:
/// `bpf_seq_write(ctx->meta->seq, record, MAP_DUMP_HEADER)`.
fn write_scratch_record(asm: &mut Assembler, offsets: &Offsets) {
    asm.mov_reg(R2, R9);
    asm.add_imm(R2, i32::from(RECORD));
    asm.mov_imm(R3, MAP_DUMP_HEADER as i32);
    asm.load64(R1, R6, CTX_META);
    asm.load64(R1, R1, offsets.meta_seq);
    asm.call(SEQ_WRITE);
}

/// The record's header: tgid and start time, every other field zero.
fn write_header(asm: &mut Assembler, offsets: &Offsets) {
    asm.mov_imm(R1, 0);
    for field in [R_INODE, R_MOUNT, R_DENTRY, R_VM_START, R_VM_END, R_DELETED] {
        asm.store64(R9, field, R1);
    }
    asm.load32(R1, R7, offsets.task_tgid);
    asm.store32(R9, R_TGID, R1);
    asm.load64(R1, R7, offsets.task_start_boottime);
    asm.store64(R9, R_START, R1);
}

/// Goes on to `render` when the file in r8 lies below one of `roots`, or
/// when that cannot be told; exits otherwise.
///
/// A file is below a directory when the directory's dentry is among its
/// ancestors (at most [`BELOW_DEPTH`] up) — through whichever mount it was
/// reached, since a dentry is the file system's own object, the same under
/// a bind mount or in another mount namespace — or when it is reached
/// through a mount whose mount point lies below the directory (in limier's
/// mount namespace). A deleted dentry on the way, or a deeper file, cannot
/// be judged this way and is rendered. Nothing is stat()ed or looked up:
/// the program follows `d_parent` pointers and reads one mount id. The
/// caller places each path it is given in the asked tree by mount table.
fn below_or_exit(
    asm: &mut Assembler,
    offsets: &Offsets,
    below: &BelowOffsets,
    roots: &MapRoots,
    render: Label,
) {
    let exit = asm.exit();
    if !roots.nested.is_empty() {
        // The id of the file's mount: bpf_probe_read_kernel(fp - 8, 4,
        // (struct mount *)file->f_path.mnt + mnt_id).
        asm.load64(R3, R8, offsets.file_path_mnt);
        asm.add_imm(R3, below.mount_id - below.mount_mnt);
        asm.mov_reg(R1, R10);
        asm.add_imm(R1, -8);
        asm.mov_imm(R2, 4);
        asm.call(PROBE_READ_KERNEL);
        asm.jump_if_not_equal_imm(R0, 0, render);
        asm.load32(R1, R10, -8);
        for id in &roots.nested {
            asm.jump_if_equal_imm(R1, *id as i32, render);
        }
    }
    // r2 = file->f_path.dentry, then its parents.
    asm.load64(R2, R8, offsets.file_path_dentry);
    for _ in 0..BELOW_DEPTH {
        for dentry in &roots.dentries {
            asm.load_imm64(R3, *dentry);
            asm.jump_if_registers_equal(R2, R3, render);
        }
        asm.load64(R3, R2, offsets.dentry_parent);
        // The file system's root is its own parent.
        asm.jump_if_registers_equal(R3, R2, exit);
        // A deleted file or directory on the way: its path still names
        // where it was, which may be below a directory made again since;
        // the caller judges the path, as for every other reader.
        asm.load64(R1, R2, offsets.dentry_hash_pprev);
        asm.jump_if_zero(R1, render);
        asm.mov_reg(R2, R3);
    }
    asm.goto(render);
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::linux::kernel_iter::assembler::decode;
    use crate::linux::kernel_iter::program::tests::OFFSETS;

    pub const BELOW: BelowOffsets = BelowOffsets {
        mount_mnt: 32,
        mount_id: 292,
    };

    /// Every jump lands inside the program, forward.
    fn jumps_stay_inside(program: &[u64]) {
        let decoded: Vec<_> = program.iter().map(|i| decode(*i)).collect();
        for (index, &(code, _, _, off, _)) in decoded.iter().enumerate() {
            if code & 0x07 == 0x05 && code != 0x85 && code != 0x95 {
                let target = index as i64 + 1 + off as i64;
                assert!(target > index as i64 && target < program.len() as i64);
            }
        }
    }

    #[test]
    fn with_directories_it_marks_each_process_and_compares_dentries_and_mount_ids() {
        let roots = MapRoots::made_up(
            vec![0xffff_8881_2222_3340, 0xffff_8881_2222_5580],
            vec![97, 98],
        );
        let plain = assemble_vma(&OFFSETS, 9, None);
        let program = assemble_vma(&OFFSETS, 9, Some((&BELOW, &roots)));
        jumps_stay_inside(&program);
        let decoded: Vec<_> = program.iter().map(|i| decode(*i)).collect();
        // The visited mark, only with directories.
        let mark = (0x62, R9, 0, R_KIND, MAP_DUMP_VISITED);
        assert!(decoded.contains(&mark));
        assert!(!plain.iter().any(|i| decode(*i) == mark));
        // A dentry's address as a 64-bit immediate, low half first; no
        // mount's address is compared (a bind mount reaches the same
        // dentries).
        let at = decoded
            .iter()
            .position(|d| *d == (0x18, R3, 0, 0, 0x2222_3340))
            .expect("the dentry compared");
        assert_eq!(decoded[at + 1], (0, 0, 0, 0, 0xffff_8881_u32 as i32));
        assert!(!decoded
            .iter()
            .any(|&(code, dst, _, _, _)| code == 0x18 && dst == R2));
        // Each dentry compared at every level climbed (and the parent read
        // once more for the deleted flag).
        let dentry_loads = decoded
            .iter()
            .filter(|d| **d == (0x18, R3, 0, 0, 0x2222_3340))
            .count();
        assert_eq!(dentry_loads, BELOW_DEPTH);
        let parents = decoded
            .iter()
            .filter(|d| **d == (0x79, R3, R2, OFFSETS.dentry_parent, 0))
            .count();
        assert_eq!(parents, BELOW_DEPTH + 1);
        // A deleted dentry is reported: d_hash.pprev loaded at each level.
        let hashes = decoded
            .iter()
            .filter(|d| **d == (0x79, R1, R2, OFFSETS.dentry_hash_pprev, 0))
            .count();
        assert_eq!(hashes, BELOW_DEPTH);
        // The nested mounts' ids, read with bpf_probe_read_kernel.
        assert!(decoded.contains(&(0x07, R3, 0, 0, BELOW.mount_id - BELOW.mount_mnt)));
        assert!(decoded.contains(&(0x85, 0, 0, 0, PROBE_READ_KERNEL)));
        for id in [97, 98] {
            assert!(decoded
                .iter()
                .any(|&(code, dst, _, _, imm)| (code, dst, imm) == (0x15, R1, id)));
        }
    }

    #[test]
    fn renders_no_path_and_records_mount_dentry_range_and_unlinked_flag() {
        let program = assemble_vma(&OFFSETS, 9, None);
        let decoded: Vec<_> = program.iter().map(|i| decode(*i)).collect();
        // No bpf_d_path (helper 147): a kernel may refuse it on vm_file.
        assert!(!decoded.iter().any(|d| d.0 == 0x85 && d.4 == 147));
        // f_path.mnt and f_path.dentry stored, the range read from ctx->vma.
        assert!(decoded.contains(&(0x79, R1, R8, OFFSETS.file_path_mnt, 0)));
        assert!(decoded.contains(&(0x7b, R9, R1, R_MOUNT, 0)));
        assert!(decoded.contains(&(0x79, R2, R8, OFFSETS.file_path_dentry, 0)));
        assert!(decoded.contains(&(0x7b, R9, R2, R_DENTRY, 0)));
        assert!(decoded.contains(&(0x79, R3, R1, OFFSETS.vma_start, 0)));
        assert!(decoded.contains(&(0x79, R3, R1, OFFSETS.vma_end, 0)));
        // Unlinked: d_hash.pprev null and not its own parent.
        assert!(decoded.contains(&(0x79, R3, R2, OFFSETS.dentry_hash_pprev, 0)));
        assert!(decoded.contains(&(0x62, R9, 0, R_DELETED, 1)));
        // Every record is the fixed header: bpf_seq_write(.., .., 64).
        assert!(decoded.contains(&(0xb7, R3, 0, 0, MAP_DUMP_HEADER as i32)));
        jumps_stay_inside(&program);
    }

    #[test]
    fn checks_the_backing_bits_and_dedupes_on_the_file_pointer() {
        let program = assemble_vma(&OFFSETS, 9, None);
        let decoded: Vec<_> = program.iter().map(|i| decode(*i)).collect();
        assert_eq!(decoded.last().unwrap().0, 0x95);
        // f_mode & (bit 24 | bit 25)
        assert!(decoded
            .iter()
            .any(|&(code, dst, _, _, imm)| (code, dst, imm) == (0x57, R1, MAYBE_BACKING)));
        // another tgid is a new process; the previous file, the same, exits
        assert!(decoded
            .iter()
            .any(|&(code, dst, src, _, _)| (code, dst, src) == (0x5d, R1, R2)));
        assert!(decoded
            .iter()
            .any(|&(code, dst, src, _, _)| (code, dst, src) == (0x1d, R1, R8)));
        // vm_file read from the mapping
        assert!(decoded
            .iter()
            .any(|&(code, dst, src, off, _)| (code, dst, src, off) == (0x79, R8, R8, 160)));
        jumps_stay_inside(&program);
    }
}
