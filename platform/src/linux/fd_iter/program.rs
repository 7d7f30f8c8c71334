//! The fd iterator program, assembled from the running kernel's offsets.
//!
//! For every (process, fd, file) the kernel's `task_file` iterator visits,
//! the program writes one record (see [`crate::parse::parse_fd_dump`]): the
//! tgid, the fd, the process start time, and the path `bpf_d_path` renders,
//! which is the text readlink(2) on `/proc/PID/fd/N` would return. Threads
//! with an fd table of their own are skipped (`/proc/PID/fd` shows the
//! leader's), and in the sockets-only variant every fd whose inode is not a
//! socket.

use crate::fd_table::FdScope as Scope;
use crate::parse::{FD_DUMP_HEADER, FD_DUMP_PATH_MAX};

/// Offsets of the kernel structure members the program reads.
#[derive(Debug, Clone, Copy)]
pub struct Offsets {
    pub task_pid: i16,
    pub task_tgid: i16,
    pub task_start_boottime: i16,
    pub file_path: i32,
    pub file_inode: i16,
    pub inode_mode: i16,
    pub meta_seq: i16,
}

// Helper function ids (include/uapi/linux/bpf.h, `___BPF_FUNC_MAPPER`).
const MAP_LOOKUP_ELEM: i32 = 1;
const SEQ_WRITE: i32 = 127;
const D_PATH: i32 = 147;

// `struct bpf_iter__task_file` (the program's context).
const CTX_META: i16 = 0;
const CTX_TASK: i16 = 8;
const CTX_FD: i16 = 16;
const CTX_FILE: i16 = 24;

const S_IFMT: i32 = 0o170000;
const S_IFSOCK: i32 = 0o140000;

/// Size of the scratch map's value: a record's header and the longest path.
pub const SCRATCH_SIZE: u32 = (FD_DUMP_HEADER + FD_DUMP_PATH_MAX) as u32;

// Registers.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R6: u8 = 6;
const R7: u8 = 7;
const R8: u8 = 8;
const R9: u8 = 9;
const R10: u8 = 10;

/// One 8-byte instruction, or a jump to the exit label still to be resolved.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Insn {
        code: u8,
        dst: u8,
        src: u8,
        off: i16,
        imm: i32,
    },
    JumpToExit {
        code: u8,
        dst: u8,
        imm: i32,
    },
}

struct Assembler(Vec<Slot>);

impl Assembler {
    fn insn(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.0.push(Slot::Insn {
            code,
            dst,
            src,
            off,
            imm,
        });
    }
    fn mov_reg(&mut self, dst: u8, src: u8) {
        self.insn(0xbf, dst, src, 0, 0);
    }
    fn mov_imm(&mut self, dst: u8, imm: i32) {
        self.insn(0xb7, dst, 0, 0, imm);
    }
    fn add_imm(&mut self, dst: u8, imm: i32) {
        self.insn(0x07, dst, 0, 0, imm);
    }
    fn and_imm(&mut self, dst: u8, imm: i32) {
        self.insn(0x57, dst, 0, 0, imm);
    }
    fn load64(&mut self, dst: u8, src: u8, off: i16) {
        self.insn(0x79, dst, src, off, 0);
    }
    fn load32(&mut self, dst: u8, src: u8, off: i16) {
        self.insn(0x61, dst, src, off, 0);
    }
    fn load16(&mut self, dst: u8, src: u8, off: i16) {
        self.insn(0x69, dst, src, off, 0);
    }
    fn store64(&mut self, dst: u8, off: i16, src: u8) {
        self.insn(0x7b, dst, src, off, 0);
    }
    fn store32(&mut self, dst: u8, off: i16, src: u8) {
        self.insn(0x63, dst, src, off, 0);
    }
    fn store32_imm(&mut self, dst: u8, off: i16, imm: i32) {
        self.insn(0x62, dst, 0, off, imm);
    }
    fn call(&mut self, helper: i32) {
        self.insn(0x85, 0, 0, 0, helper);
    }
    /// `ld_imm64 dst, map fd` (BPF_PSEUDO_MAP_FD): two slots.
    fn load_map(&mut self, dst: u8, map_fd: i32) {
        self.insn(0x18, dst, 1, 0, map_fd);
        self.insn(0, 0, 0, 0, 0);
    }
    /// Skips the next `count` instructions when `dst` (signed) > imm.
    fn skip_if_signed_greater(&mut self, dst: u8, imm: i32, count: i16) {
        self.insn(0x65, dst, 0, count, imm);
    }
    /// Skips the next `count` instructions when `dst` (unsigned) <= imm.
    fn skip_if_at_most(&mut self, dst: u8, imm: i32, count: i16) {
        self.insn(0xb5, dst, 0, count, imm);
    }
    fn exit_if_zero(&mut self, dst: u8) {
        self.0.push(Slot::JumpToExit {
            code: 0x15,
            dst,
            imm: 0,
        });
    }
    fn exit_if_not_equal_imm(&mut self, dst: u8, imm: i32) {
        self.0.push(Slot::JumpToExit {
            code: 0x55,
            dst,
            imm,
        });
    }
    fn exit_if_registers_differ(&mut self, dst: u8, src: u8) {
        // jne dst, src: register form, src in the upper nibble.
        self.0.push(Slot::JumpToExit {
            code: 0x5d,
            dst: dst | src << 4,
            imm: 0,
        });
    }

    /// Appends `r0 = 0; exit` and encodes every slot.
    fn finish(mut self) -> Vec<u64> {
        let exit = self.0.len();
        self.mov_imm(R0, 0);
        self.insn(0x95, 0, 0, 0, 0);
        self.0
            .iter()
            .enumerate()
            .map(|(index, slot)| match *slot {
                Slot::Insn {
                    code,
                    dst,
                    src,
                    off,
                    imm,
                } => encode(code, dst, src, off, imm),
                Slot::JumpToExit { code, dst, imm } => {
                    let off = (exit - index - 1) as i16;
                    encode(code, dst & 0x0f, dst >> 4, off, imm)
                }
            })
            .collect()
    }
}

fn encode(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[0] = code;
    bytes[1] = (src << 4) | (dst & 0x0f);
    bytes[2..4].copy_from_slice(&off.to_le_bytes());
    bytes[4..8].copy_from_slice(&imm.to_le_bytes());
    u64::from_le_bytes(bytes)
}

/// Assembles the program for `scope`, writing records through the per-CPU
/// scratch map `map_fd` (one entry of [`SCRATCH_SIZE`] bytes).
pub fn assemble(offsets: &Offsets, scope: Scope, map_fd: i32) -> Vec<u64> {
    let mut asm = Assembler(Vec::new());
    asm.mov_reg(R6, R1); // r6 = ctx
    asm.load64(R7, R6, CTX_TASK);
    asm.exit_if_zero(R7);
    asm.load64(R8, R6, CTX_FILE);
    asm.exit_if_zero(R8);
    // A thread that unshared its fd table: /proc/PID/fd shows the leader's.
    asm.load32(R1, R7, offsets.task_pid);
    asm.load32(R2, R7, offsets.task_tgid);
    asm.exit_if_registers_differ(R1, R2);
    if scope == Scope::Sockets {
        asm.load64(R1, R8, offsets.file_inode);
        asm.exit_if_zero(R1);
        asm.load16(R1, R1, offsets.inode_mode);
        asm.and_imm(R1, S_IFMT);
        asm.exit_if_not_equal_imm(R1, S_IFSOCK);
    }
    // r9 = this CPU's scratch record.
    asm.store32_imm(R10, -4, 0);
    asm.load_map(R1, map_fd);
    asm.mov_reg(R2, R10);
    asm.add_imm(R2, -4);
    asm.call(MAP_LOOKUP_ELEM);
    asm.exit_if_zero(R0);
    asm.mov_reg(R9, R0);
    // Header: tgid, fd, start time, (length after d_path), reserved.
    asm.load32(R1, R7, offsets.task_tgid);
    asm.store32(R9, 0, R1);
    asm.load32(R1, R6, CTX_FD);
    asm.store32(R9, 4, R1);
    asm.load64(R1, R7, offsets.task_start_boottime);
    asm.store64(R9, 8, R1);
    asm.store32_imm(R9, 20, 0);
    // r0 = bpf_d_path(&file->f_path, record + header, PATH_MAX)
    asm.mov_reg(R1, R8);
    asm.add_imm(R1, offsets.file_path);
    asm.mov_reg(R2, R9);
    asm.add_imm(R2, FD_DUMP_HEADER as i32);
    asm.mov_imm(R3, FD_DUMP_PATH_MAX as i32);
    asm.call(D_PATH);
    asm.store32(R9, 16, R0);
    // r3 = header + clamp(r0, 0, PATH_MAX): the bytes to write.
    asm.mov_reg(R3, R0);
    asm.skip_if_signed_greater(R3, 0, 1);
    asm.mov_imm(R3, 0);
    asm.skip_if_at_most(R3, FD_DUMP_PATH_MAX as i32, 1);
    asm.mov_imm(R3, FD_DUMP_PATH_MAX as i32);
    asm.add_imm(R3, FD_DUMP_HEADER as i32);
    // bpf_seq_write(ctx->meta->seq, record, r3)
    asm.mov_reg(R2, R9);
    asm.load64(R1, R6, CTX_META);
    asm.load64(R1, R1, offsets.meta_seq);
    asm.call(SEQ_WRITE);
    asm.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFSETS: Offsets = Offsets {
        task_pid: 100,
        task_tgid: 104,
        task_start_boottime: 200,
        file_path: 64,
        file_inode: 32,
        inode_mode: 0,
        meta_seq: 0,
    };

    fn decode(insn: u64) -> (u8, u8, u8, i16, i32) {
        let b = insn.to_le_bytes();
        (
            b[0],
            b[1] & 0x0f,
            b[1] >> 4,
            i16::from_le_bytes([b[2], b[3]]),
            i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        )
    }

    #[test]
    fn every_exit_jump_lands_on_the_final_return() {
        for scope in [Scope::All, Scope::Sockets] {
            let program = assemble(&OFFSETS, scope, 7);
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
        let all = assemble(&OFFSETS, Scope::All, 7);
        let load = all.iter().position(|i| decode(*i).0 == 0x18).unwrap();
        assert_eq!(decode(all[load]), (0x18, 1, 1, 0, 7));
        assert_eq!(all[load + 1], 0);
        let sockets = assemble(&OFFSETS, Scope::Sockets, 7);
        assert_eq!(sockets.len(), all.len() + 5);
        assert!(sockets.iter().any(|i| {
            let (code, dst, _, _, imm) = decode(*i);
            (code, dst, imm) == (0x55, R1, S_IFSOCK)
        }));
        assert!(!all.iter().any(|i| decode(*i).4 == S_IFSOCK));
        let pid_check = decode(all[7]);
        assert_eq!((pid_check.0, pid_check.1, pid_check.2), (0x5d, R1, R2));
    }
}
