//! The mapping iterator program, assembled from the running kernel's
//! offsets.
//!
//! The kernel's `task_vma` iterator visits every memory mapping of every
//! process. For each one backed by a file, the program writes one record
//! (see [`crate::parse::parse_map_dump`]) — the tgid, the process start time,
//! the file's inode number and the path `bpf_d_path` renders — unless the
//! mapping before it, in the same process, mapped the very same open file
//! (a shared library is four or five mappings of one file): the text
//! formatting of `/proc/PID/maps` and one `d_path` per mapping are what make
//! reading mappings slow.
//!
//! `/proc/PID/maps` names a stacked file system's file (overlayfs, FUSE
//! passthrough) by the path the user opened, while the mapping holds the
//! backing file; the program cannot tell that path, so for a file whose
//! `f_mode` may carry FMODE_BACKING (bit 25 before Linux 6.14, bit 24
//! since) it writes a record without a path, and the caller reads that
//! process's maps file instead.

use super::assembler::*;
use super::program::{d_path, lookup_scratch, write_record, Offsets};
use crate::parse::{MAP_DUMP_HEADER, MAP_DUMP_PATH_MAX};

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
const RECORD: i32 = 24;

// `struct bpf_iter__task_vma` (the program's context).
const CTX_META: i16 = 0;

/// Size of the scratch map's value.
pub const VMA_SCRATCH_SIZE: u32 = RECORD as u32 + (MAP_DUMP_HEADER + MAP_DUMP_PATH_MAX) as u32;

/// Assembles the program, keeping its state and building records in the
/// one-entry array map `map_fd` (of [`VMA_SCRATCH_SIZE`] bytes). The map is
/// not per CPU: the iterator may move between CPUs from one mapping to the
/// next, and only this program's one reader runs it.
pub fn assemble_vma(offsets: &Offsets, map_fd: i32) -> Vec<u64> {
    let mut asm = Assembler::new();
    let exit = asm.exit();
    let new_file = asm.label();
    let unrendered = asm.label();
    asm.mov_reg(R6, R1); // r6 = ctx
    asm.load64(R7, R6, CTX_TASK);
    asm.jump_if_zero(R7, exit);
    asm.load64(R8, R6, CTX_VMA);
    asm.jump_if_zero(R8, exit);
    asm.load64(R8, R8, offsets.vma_file);
    asm.jump_if_zero(R8, exit); // anonymous memory
    lookup_scratch(&mut asm, map_fd, R9);
    // The same open file as the previous mapping of the same process, in
    // this session: done.
    asm.load64(R3, R6, CTX_META);
    asm.load64(R3, R3, offsets.meta_session);
    asm.load64(R1, R9, LAST_FILE);
    asm.jump_if_registers_differ(R1, R8, new_file);
    asm.load64(R1, R9, LAST_SESSION);
    asm.jump_if_registers_differ(R1, R3, new_file);
    asm.load32(R1, R9, LAST_TGID);
    asm.load32(R2, R7, offsets.task_tgid);
    asm.jump_if_registers_equal(R1, R2, exit);
    asm.bind(new_file);
    asm.store64(R9, LAST_FILE, R8);
    asm.store64(R9, LAST_SESSION, R3);
    asm.load32(R1, R7, offsets.task_tgid);
    asm.store32(R9, LAST_TGID, R1);
    // Header: tgid, (length after d_path), start time, inode.
    asm.store32(R9, RECORD as i16, R1);
    asm.load64(R1, R7, offsets.task_start_boottime);
    asm.store64(R9, RECORD as i16 + 8, R1);
    asm.mov_imm(R1, 0);
    asm.store64(R9, RECORD as i16 + 16, R1);
    asm.load64(R1, R8, offsets.file_inode);
    asm.jump_if_zero(R1, unrendered);
    asm.load64(R1, R1, offsets.inode_ino);
    asm.store64(R9, RECORD as i16 + 16, R1);
    asm.load32(R1, R8, offsets.file_mode);
    asm.and_imm(R1, MAYBE_BACKING);
    asm.jump_if_not_equal_imm(R1, 0, unrendered);
    d_path(
        &mut asm,
        offsets,
        R8,
        R9,
        RECORD + MAP_DUMP_HEADER as i32,
        MAP_DUMP_PATH_MAX,
    );
    let write = asm.label();
    asm.goto(write);
    // No path: a negative length, the caller reads /proc/PID/maps.
    asm.bind(unrendered);
    asm.mov_imm(R0, -1);
    asm.bind(write);
    asm.store32(R9, RECORD as i16 + 4, R0);
    asm.mov_reg(R7, R9);
    asm.add_imm(R7, RECORD);
    write_record(
        &mut asm,
        R7,
        MAP_DUMP_HEADER,
        MAP_DUMP_PATH_MAX,
        offsets.meta_seq,
    );
    asm.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::kernel_iter::assembler::decode;
    use crate::linux::kernel_iter::program::tests::OFFSETS;

    #[test]
    fn checks_the_backing_bits_and_dedupes_on_the_file_pointer() {
        let program = assemble_vma(&OFFSETS, 9);
        let decoded: Vec<_> = program.iter().map(|i| decode(*i)).collect();
        assert_eq!(decoded.last().unwrap().0, 0x95);
        // f_mode & (bit 24 | bit 25)
        assert!(decoded
            .iter()
            .any(|&(code, dst, _, _, imm)| (code, dst, imm) == (0x57, R1, MAYBE_BACKING)));
        // the previous file compared with this one, the same tgid exits
        assert!(decoded
            .iter()
            .any(|&(code, dst, src, _, _)| (code, dst, src) == (0x5d, R1, R8)));
        assert!(decoded
            .iter()
            .any(|&(code, dst, src, _, _)| (code, dst, src) == (0x1d, R1, R2)));
        // vm_file read from the mapping
        assert!(decoded
            .iter()
            .any(|&(code, dst, src, off, _)| (code, dst, src, off) == (0x79, R8, R8, 160)));
        // every jump lands inside the program, forward
        for (index, &(code, _, _, off, _)) in decoded.iter().enumerate() {
            if code & 0x07 == 0x05 && code != 0x85 && code != 0x95 {
                let target = index as i64 + 1 + off as i64;
                assert!(target > index as i64 && target < program.len() as i64);
            }
        }
    }
}
