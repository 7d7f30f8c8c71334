//! The process-table iterator program, assembled from the running
//! kernel's offsets.
//!
//! For every thread group leader the kernel's `task` iterator visits, the
//! program writes one fixed record (see [`crate::parse::parse_task_dump`])
//! of the fields `/proc/PID/stat` renders from the same members
//! (`fs/proc/array.c`, `do_task_stat`): the parent's tgid, the group and
//! session ids, the start time, flags, state, thread count, controlling
//! terminal and `comm`. It replaces one open, read and close of
//! `/proc/PID/stat` per process with one pass.
//!
//! Every pointer walked (`real_parent`, `signal`, `signal->pids[]`,
//! `signal->tty`, `tty->driver`) is read with `bpf_probe_read_kernel`; a
//! read that faults marks the record [`TASK_DUMP_UNREAD`] (its process is
//! then read from `/proc`), never leaves a zero standing for a parent or a
//! group. The parent and the pids are safe to read under the iterator's RCU
//! hold; `signal->tty` is read without the tty lock, as a faulting-safe
//! read, so a terminal freed during the pass could give a wrong `tty_nr` —
//! limier uses it only to spare a user's terminal. A kernel thread's `comm` in stat is its full name or workqueue
//! description, so the reader reads those from `/proc` (see
//! [`super::dump_tasks`]).
//!
//! The visits program ([`assemble_visits`]) writes only each process's
//! tgid and start time: which processes the kernel's iterators see at all
//! (a kernel may hide some), for the fd dump's "absent, so no fds" rule.

use super::assembler::*;
use super::layout::{Offsets, TaskOffsets};
use super::program::SEQ_WRITE;
use crate::parse::{TASK_DUMP_RECORD, TASK_DUMP_TERMINAL, TASK_DUMP_UNREAD, VISIT_DUMP_RECORD};

// `struct bpf_iter__task` (the program's context).
const CTX_META: i16 = 0;
const CTX_TASK: i16 = 8;

/// The record is built on the program's stack, at `r10 - RECORD`; the
/// pointers walked are kept below it.
const RECORD: i16 = TASK_DUMP_RECORD as i16;
const PARENT: i16 = RECORD + 8;
const SIGNAL: i16 = RECORD + 16;
const PID: i16 = RECORD + 24;
const TTY: i16 = RECORD + 32;
const DRIVER: i16 = RECORD + 40;

/// bpf-helpers(7) `bpf_probe_read_kernel`.
const PROBE_READ_KERNEL: i32 = 113;

/// The record's flags are gathered in r8 while it is built.
const FLAGS: u8 = R8;

/// `r10 - slot`'s `size` bytes = the kernel memory at `*(r10 - base) +
/// offset` (a pointer read earlier into a stack slot); a read that faults
/// (a null pointer) marks the record unread.
fn read_through(asm: &mut Assembler, slot: i16, size: i32, base: i16, offset: i16) {
    asm.load64(R3, R10, -base);
    asm.add_imm(R3, i32::from(offset));
    read_at(asm, slot, size);
}

/// `r10 - slot`'s `size` bytes = the kernel memory at r3, marking the
/// record unread when the read fails.
fn read_at(asm: &mut Assembler, slot: i16, size: i32) {
    let read = asm.label();
    asm.mov_reg(R1, R10);
    asm.add_imm(R1, -i32::from(slot));
    asm.mov_imm(R2, size);
    asm.call(PROBE_READ_KERNEL);
    asm.jump_if_zero(R0, read);
    asm.or_imm(FLAGS, TASK_DUMP_UNREAD as i32);
    asm.bind(read);
}

/// Assembles the program.
///
/// The task's own fields are loaded directly; every pointer walked from it
/// is read with `bpf_probe_read_kernel`. A pointer loaded from the trusted
/// task directly would make the verifier search the kernel's whole BTF for
/// `task_struct__safe_*` types, four times per load (2 ms at every run on
/// 6.18), and the reads cost less than that in the pass.
pub fn assemble_tasks(offsets: &TaskOffsets) -> Vec<u64> {
    // The record's field at byte `field`, as a slot below r10.
    let field = |at: i16| RECORD - at;
    let mut asm = Assembler::new();
    let no_tty = asm.label();
    leaders_only(&mut asm, offsets.task_pid, offsets.task_tgid);
    asm.mov_imm(FLAGS, 0);
    asm.store32(R10, -field(0), R1);
    asm.load64(R1, R7, offsets.task_start_boottime);
    asm.store64(R10, -field(16), R1);
    asm.load32(R1, R7, offsets.task_flags);
    asm.store32(R10, -field(24), R1);
    asm.load32(R1, R7, offsets.task_state);
    asm.store32(R10, -field(28), R1);
    asm.load32(R1, R7, offsets.task_exit_state);
    asm.store32(R10, -field(32), R1);
    asm.load64(R1, R7, offsets.task_comm);
    asm.store64(R10, -field(56), R1);
    asm.load64(R1, R7, offsets.task_comm + 8);
    asm.store64(R10, -field(64), R1);
    // The parent's tgid.
    asm.mov_reg(R3, R7);
    asm.add_imm(R3, i32::from(offsets.task_real_parent));
    read_at(&mut asm, PARENT, 8);
    read_through(&mut asm, field(4), 4, PARENT, offsets.task_tgid);
    // Group and session: signal->pids[type]->numbers[0].nr.
    asm.mov_reg(R3, R7);
    asm.add_imm(R3, i32::from(offsets.task_signal));
    read_at(&mut asm, SIGNAL, 8);
    for (slot, at) in [(offsets.signal_pgid_pid, 8), (offsets.signal_sid_pid, 12)] {
        read_through(&mut asm, PID, 8, SIGNAL, slot);
        read_through(&mut asm, field(at), 4, PID, offsets.pid_first_nr);
    }
    read_through(&mut asm, field(36), 4, SIGNAL, offsets.signal_nr_threads);
    // The terminal: whether there is one, its index, and its driver's
    // major and first minor.
    for at in [44, 48, 52] {
        asm.store32_imm(R10, -field(at), 0);
    }
    read_through(&mut asm, TTY, 8, SIGNAL, offsets.signal_tty);
    asm.load64(R1, R10, -TTY);
    asm.jump_if_zero(R1, no_tty);
    asm.or_imm(FLAGS, TASK_DUMP_TERMINAL as i32);
    read_through(&mut asm, field(52), 4, TTY, offsets.tty_index);
    read_through(&mut asm, DRIVER, 8, TTY, offsets.tty_driver);
    read_through(&mut asm, field(44), 4, DRIVER, offsets.driver_major);
    read_through(&mut asm, field(48), 4, DRIVER, offsets.driver_minor_start);
    asm.bind(no_tty);
    asm.store32(R10, -field(40), FLAGS);
    write_stack_record(&mut asm, RECORD, offsets.meta_seq);
    asm.finish()
}

/// r6 = ctx, r7 = ctx->task; exits for no task and for a thread other than
/// its group's leader (stat, and the visits, are the leader's).
fn leaders_only(asm: &mut Assembler, task_pid: i16, task_tgid: i16) {
    let exit = asm.exit();
    asm.mov_reg(R6, R1);
    asm.load64(R7, R6, CTX_TASK);
    asm.jump_if_zero(R7, exit);
    asm.load32(R1, R7, task_pid);
    asm.load32(R2, R7, task_tgid);
    asm.jump_if_registers_differ(R1, R2, exit);
}

/// `bpf_seq_write(ctx->meta->seq, r10 - size, size)`: the record built on
/// the stack (r6 is the context).
fn write_stack_record(asm: &mut Assembler, size: i16, meta_seq: i16) {
    asm.load64(R1, R6, CTX_META);
    asm.load64(R1, R1, meta_seq);
    asm.mov_reg(R2, R10);
    asm.add_imm(R2, -i32::from(size));
    asm.mov_imm(R3, i32::from(size));
    asm.call(SEQ_WRITE);
}

/// Assembles the visits program: per thread group leader, its tgid, four
/// zero bytes and its start time (`task->start_boottime`), nothing
/// walked.
pub fn assemble_visits(offsets: &Offsets) -> Vec<u64> {
    let record = VISIT_DUMP_RECORD as i16;
    let mut asm = Assembler::new();
    leaders_only(&mut asm, offsets.task_pid, offsets.task_tgid);
    asm.store32(R10, -record, R1);
    asm.store32_imm(R10, 4 - record, 0);
    asm.load64(R1, R7, offsets.task_start_boottime);
    asm.store64(R10, 8 - record, R1);
    write_stack_record(&mut asm, record, offsets.meta_seq);
    asm.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::kernel_iter::assembler::decode;

    const OFFSETS: TaskOffsets = TaskOffsets {
        task_pid: 100,
        task_tgid: 104,
        task_real_parent: 120,
        task_signal: 128,
        task_start_boottime: 200,
        task_flags: 44,
        task_state: 24,
        task_exit_state: 300,
        task_comm: 400,
        signal_pgid_pid: 80,
        signal_sid_pid: 88,
        signal_nr_threads: 12,
        signal_tty: 96,
        pid_first_nr: 80,
        tty_driver: 16,
        tty_index: 32,
        driver_major: 8,
        driver_minor_start: 12,
        meta_seq: 0,
    };

    /// The stack bytes each instruction writes: stores, and the
    /// probe reads whose destination (r1 = r10 - slot) and size (r2) the
    /// two instructions before the call set.
    fn written(program: &[u64]) -> Vec<(i16, usize)> {
        let decoded: Vec<_> = program.iter().map(|i| decode(*i)).collect();
        let mut out = Vec::new();
        for (index, &(code, dst, _, off, imm)) in decoded.iter().enumerate() {
            match code {
                0x63 | 0x62 if dst == R10 => out.push((off, 4)),
                0x7b if dst == R10 => out.push((off, 8)),
                0x85 if imm == PROBE_READ_KERNEL => {
                    let (_, _, _, _, size) = decoded[index - 1];
                    let (_, _, _, _, slot) = decoded[index - 2];
                    out.push((slot as i16, size as usize));
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn every_byte_of_the_record_is_written_before_it_is_sent() {
        let program = assemble_tasks(&OFFSETS);
        let mut record = [false; TASK_DUMP_RECORD];
        for (off, size) in written(&program) {
            let start = off + RECORD;
            if start >= 0 {
                let start = start as usize;
                record[start..start + size]
                    .iter_mut()
                    .for_each(|b| *b = true);
            }
        }
        assert!(record.iter().all(|&b| b), "{record:?}");
        let call = program.iter().rposition(|i| decode(*i).0 == 0x85).unwrap();
        assert_eq!(decode(program[call]).4, SEQ_WRITE);
        assert_eq!(decode(program[call - 1]), (0xb7, R3, 0, 0, RECORD as i32));
    }

    #[test]
    fn every_failed_read_marks_the_record_unread() {
        let program = assemble_tasks(&OFFSETS);
        let decoded: Vec<_> = program.iter().map(|i| decode(*i)).collect();
        let reads: Vec<usize> = (0..decoded.len())
            .filter(|&i| decoded[i].0 == 0x85 && decoded[i].4 == PROBE_READ_KERNEL)
            .collect();
        assert!(reads.len() >= 10);
        for call in reads {
            // if r0 == 0 skip; r8 |= UNREAD
            assert_eq!(decoded[call + 1], (0x15, R0, 0, 1, 0), "at {call}");
            assert_eq!(
                decoded[call + 2],
                (0x47, FLAGS, 0, 0, TASK_DUMP_UNREAD as i32),
                "at {call}"
            );
        }
        // The flags start clear and are stored in the record's word 40.
        assert!(decoded.contains(&(0xb7, FLAGS, 0, 0, 0)));
        assert!(decoded.contains(&(0x63, R10, FLAGS, 40 - RECORD, 0)));
    }

    #[test]
    fn the_visits_program_writes_its_whole_record() {
        let offsets = crate::linux::kernel_iter::program::tests::OFFSETS;
        let program = assemble_visits(&offsets);
        let mut record = [false; VISIT_DUMP_RECORD];
        for (off, size) in written(&program) {
            let start = (off + VISIT_DUMP_RECORD as i16) as usize;
            record[start..start + size]
                .iter_mut()
                .for_each(|b| *b = true);
        }
        assert!(record.iter().all(|&b| b), "{record:?}");
        let decoded: Vec<_> = program.iter().map(|i| decode(*i)).collect();
        assert!(decoded.contains(&(0x79, R1, R7, offsets.task_start_boottime, 0)));
        assert!(!decoded
            .iter()
            .any(|d| d.0 == 0x85 && d.4 == PROBE_READ_KERNEL));
    }

    #[test]
    fn no_pointer_is_loaded_from_the_task_and_the_walks_read_the_right_members() {
        let program = assemble_tasks(&OFFSETS);
        let decoded: Vec<_> = program.iter().map(|i| decode(*i)).collect();
        // Loads from the task (r7) are its scalar members only.
        let from_task: Vec<i16> = decoded
            .iter()
            .filter(|d| matches!(d.0, 0x79 | 0x61) && d.2 == R7)
            .map(|d| d.3)
            .collect();
        for pointer in [OFFSETS.task_real_parent, OFFSETS.task_signal] {
            assert!(!from_task.contains(&pointer));
        }
        // Every offset added before a probe read.
        let added: Vec<i32> = decoded
            .iter()
            .filter(|d| d.0 == 0x07 && d.1 == R3)
            .map(|d| d.4)
            .collect();
        for member in [
            OFFSETS.task_real_parent,
            OFFSETS.task_signal,
            OFFSETS.signal_pgid_pid,
            OFFSETS.signal_sid_pid,
            OFFSETS.pid_first_nr,
            OFFSETS.signal_nr_threads,
            OFFSETS.signal_tty,
            OFFSETS.tty_index,
            OFFSETS.tty_driver,
            OFFSETS.driver_major,
            OFFSETS.driver_minor_start,
        ] {
            assert!(added.contains(&i32::from(member)), "{member}");
        }
    }
}
