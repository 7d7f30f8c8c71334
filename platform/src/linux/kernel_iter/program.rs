//! The fd iterator program, assembled from the running kernel's offsets.
//!
//! For every (process, fd, file) the kernel's `task_file` iterator visits,
//! the program writes one record (see [`crate::parse::parse_fd_dump`]): the
//! tgid, the fd, the process start time, the id of the mount the file is
//! on (every fd, when the kernel's `struct mount` is known), and the path
//! `bpf_d_path` renders, which is the text readlink(2) on `/proc/PID/fd/N`
//! would return. Threads
//! with an fd table of their own are skipped (`/proc/PID/fd` shows the
//! leader's), and in the sockets-only variant every fd whose inode is not a
//! socket.

use super::assembler::*;
use super::layout::{BelowOffsets, Offsets};
use crate::fd_table::FdScope as Scope;
use crate::parse::{FD_DUMP_HEADER, FD_DUMP_PATH_MAX};

// Helper function ids (include/uapi/linux/bpf.h, `___BPF_FUNC_MAPPER`).
pub const MAP_LOOKUP_ELEM: i32 = 1;
pub const SEQ_WRITE: i32 = 127;
const D_PATH: i32 = 147;
const PROBE_READ_KERNEL: i32 = 113;

// `struct bpf_iter__task_file` (the program's context).
const CTX_META: i16 = 0;
const CTX_TASK: i16 = 8;
const CTX_FD: i16 = 16;
const CTX_FILE: i16 = 24;

const S_IFMT: i32 = 0o170000;
const S_IFSOCK: i32 = 0o140000;

/// Size of the scratch map's value: a record's header and the longest path.
pub const SCRATCH_SIZE: u32 = (FD_DUMP_HEADER + FD_DUMP_PATH_MAX) as u32;

/// Assembles the program for `scope`, writing records through the per-CPU
/// scratch map `map_fd` (one entry of [`SCRATCH_SIZE`] bytes). With
/// `mount` (the offsets of `struct mount`), every record of the all-fds
/// scope carries its file's mount id.
pub fn assemble(
    offsets: &Offsets,
    mount: Option<&BelowOffsets>,
    scope: Scope,
    map_fd: i32,
) -> Vec<u64> {
    let mut asm = Assembler::new();
    let exit = asm.exit();
    asm.mov_reg(R6, R1); // r6 = ctx
    asm.load64(R7, R6, CTX_TASK);
    asm.jump_if_zero(R7, exit);
    asm.load64(R8, R6, CTX_FILE);
    asm.jump_if_zero(R8, exit);
    // A thread that unshared its fd table: /proc/PID/fd shows the leader's.
    asm.load32(R1, R7, offsets.task_pid);
    asm.load32(R2, R7, offsets.task_tgid);
    asm.jump_if_registers_differ(R1, R2, exit);
    if scope == Scope::Sockets {
        asm.load64(R1, R8, offsets.file_inode);
        asm.jump_if_zero(R1, exit);
        asm.load16(R1, R1, offsets.inode_mode);
        asm.and_imm(R1, S_IFMT);
        asm.jump_if_not_equal_imm(R1, S_IFSOCK, exit);
    }
    // r9 = this CPU's scratch record.
    lookup_scratch(&mut asm, map_fd, R9);
    // Header: tgid, fd, start time, (length after d_path), reserved.
    asm.load32(R1, R7, offsets.task_tgid);
    asm.store32(R9, 0, R1);
    asm.load32(R1, R6, CTX_FD);
    asm.store32(R9, 4, R1);
    asm.load64(R1, R7, offsets.task_start_boottime);
    asm.store64(R9, 8, R1);
    asm.store32_imm(R9, 20, 0);
    if let (Scope::All, Some(mount)) = (scope, mount) {
        // The mount id: bpf_probe_read_kernel(record + 20, 4,
        // (struct mount *)file->f_path.mnt + mnt_id), zeroed if it faults.
        asm.load64(R3, R8, offsets.file_path_mnt);
        asm.add_imm(R3, mount.mount_id - mount.mount_mnt);
        asm.mov_reg(R1, R9);
        asm.add_imm(R1, 20);
        asm.mov_imm(R2, 4);
        asm.call(PROBE_READ_KERNEL);
    }
    d_path(
        &mut asm,
        offsets,
        R8,
        R9,
        FD_DUMP_HEADER as i32,
        FD_DUMP_PATH_MAX,
    );
    asm.store32(R9, 16, R0);
    write_record(
        &mut asm,
        R9,
        FD_DUMP_HEADER,
        FD_DUMP_PATH_MAX,
        offsets.meta_seq,
    );
    asm.finish()
}

/// `r0 = bpf_d_path(&file->f_path, buffer + at, path_max)`: the path of the
/// `struct file` in register `file`, written into the scratch value in
/// register `buffer` at offset `at`.
pub fn d_path(
    asm: &mut Assembler,
    offsets: &Offsets,
    file: u8,
    buffer: u8,
    at: i32,
    path_max: usize,
) {
    asm.mov_reg(R1, file);
    asm.add_imm(R1, offsets.file_path);
    asm.mov_reg(R2, buffer);
    asm.add_imm(R2, at);
    asm.mov_imm(R3, path_max as i32);
    asm.call(D_PATH);
}

/// Points `into` at the scratch map's only value (exits if there is none).
pub fn lookup_scratch(asm: &mut Assembler, map_fd: i32, into: u8) {
    let exit = asm.exit();
    asm.store32_imm(R10, -4, 0);
    asm.load_map(R1, map_fd);
    asm.mov_reg(R2, R10);
    asm.add_imm(R2, -4);
    asm.call(MAP_LOOKUP_ELEM);
    asm.jump_if_zero(R0, exit);
    asm.mov_reg(into, R0);
}

/// Writes the record at `record` — its header and the clamp(r0, 0,
/// path_max) path bytes `bpf_d_path` returned — to the iterator's seq file
/// (r6 is the context).
pub fn write_record(
    asm: &mut Assembler,
    record: u8,
    header: usize,
    path_max: usize,
    meta_seq: i16,
) {
    let positive = asm.label();
    let within = asm.label();
    asm.mov_reg(R3, R0);
    asm.jump_if_signed_greater(R3, 0, positive);
    asm.mov_imm(R3, 0);
    asm.bind(positive);
    asm.jump_if_at_most(R3, path_max as i32, within);
    asm.mov_imm(R3, path_max as i32);
    asm.bind(within);
    asm.add_imm(R3, header as i32);
    // bpf_seq_write(ctx->meta->seq, record, r3)
    asm.mov_reg(R2, record);
    asm.load64(R1, R6, CTX_META);
    asm.load64(R1, R1, meta_seq);
    asm.call(SEQ_WRITE);
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::linux::kernel_iter::assembler::decode;

    pub const OFFSETS: Offsets = Offsets {
        task_pid: 100,
        task_tgid: 104,
        task_start_boottime: 200,
        file_path: 64,
        file_inode: 32,
        inode_mode: 0,
        meta_seq: 0,
        meta_session: 8,
        vma_file: 160,
        file_mode: 20,
        inode_ino: 64,
        file_path_mnt: 64,
        file_path_dentry: 72,
        dentry_parent: 24,
        dentry_hash_pprev: 16,
        vma_start: 0,
        vma_end: 8,
    };

    #[test]
    fn every_exit_jump_lands_on_the_final_return() {
        for scope in [Scope::All, Scope::Sockets] {
            let program = assemble(&OFFSETS, Some(&MOUNT), scope, 7);
            let last = program.len() - 1;
            assert_eq!(decode(program[last]).0, 0x95, "ends with exit");
            assert_eq!(decode(program[last - 1]), (0xb7, 0, 0, 0, 0), "r0 = 0");
            for (index, insn) in program.iter().enumerate() {
                let (code, _, _, off, _) = decode(*insn);
                if matches!(code, 0x15 | 0x55 | 0x5d) {
                    assert_eq!(index as i64 + 1 + off as i64, last as i64 - 1);
                }
            }
        }
    }

    #[test]
    fn the_map_is_loaded_as_a_pseudo_map_fd_and_sockets_scope_checks_the_mode() {
        let all = assemble(&OFFSETS, None, Scope::All, 7);
        let load = all.iter().position(|i| decode(*i).0 == 0x18).unwrap();
        assert_eq!(decode(all[load]), (0x18, 1, 1, 0, 7));
        assert_eq!(all[load + 1], 0);
        let sockets = assemble(&OFFSETS, Some(&MOUNT), Scope::Sockets, 7);
        assert_eq!(sockets.len(), all.len() + 5);
        assert!(sockets.iter().any(|i| {
            let (code, dst, _, _, imm) = decode(*i);
            (code, dst, imm) == (0x55, R1, S_IFSOCK)
        }));
        assert!(!all.iter().any(|i| decode(*i).4 == S_IFSOCK));
        let pid_check = decode(all[7]);
        assert_eq!((pid_check.0, pid_check.1, pid_check.2), (0x5d, R1, R2));
    }

    const MOUNT: BelowOffsets = BelowOffsets {
        mount_mnt: 32,
        mount_id: 284,
    };

    #[test]
    fn every_fd_s_record_carries_its_mount_id_when_struct_mount_is_known() {
        let with = assemble(&OFFSETS, Some(&MOUNT), Scope::All, 7);
        let decoded: Vec<_> = with.iter().map(|i| decode(*i)).collect();
        // r3 = file->f_path.mnt + (mnt_id - mnt), read into record + 20.
        let at = decoded
            .iter()
            .position(|d| *d == (0x79, R3, R8, OFFSETS.file_path_mnt, 0))
            .expect("f_path.mnt loaded");
        assert_eq!(decoded[at + 1], (0x07, R3, 0, 0, 284 - 32));
        assert_eq!(decoded[at + 3], (0x07, R1, 0, 0, 20));
        assert_eq!(decoded[at + 4], (0xb7, R2, 0, 0, 4));
        assert_eq!(decoded[at + 5], (0x85, 0, 0, 0, PROBE_READ_KERNEL));
        // Without the offsets, or for sockets, no mount is read.
        let without = assemble(&OFFSETS, None, Scope::All, 7);
        assert_eq!(with.len(), without.len() + 6);
        let sockets = assemble(&OFFSETS, Some(&MOUNT), Scope::Sockets, 7);
        assert!(!sockets.iter().any(|i| decode(*i).4 == PROBE_READ_KERNEL));
    }
}
