//! A small eBPF assembler: the instructions limier's iterator programs use,
//! with forward jumps to labels resolved when the program is finished.
//!
//! # References
//! Linux `Documentation/bpf/standardization/instruction-set.rst`.

// Registers.
pub const R0: u8 = 0;
pub const R1: u8 = 1;
pub const R2: u8 = 2;
pub const R3: u8 = 3;
pub const R6: u8 = 6;
pub const R7: u8 = 7;
pub const R8: u8 = 8;
pub const R9: u8 = 9;
pub const R10: u8 = 10;

/// A place in the program a jump can go to; bound once with [`Assembler::bind`].
#[derive(Debug, Clone, Copy)]
pub struct Label(usize);

/// One 8-byte instruction, or a jump whose offset waits for its label.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Insn {
        code: u8,
        dst: u8,
        src: u8,
        off: i16,
        imm: i32,
    },
    Jump {
        code: u8,
        dst: u8,
        src: u8,
        imm: i32,
        to: Label,
    },
}

pub struct Assembler {
    slots: Vec<Slot>,
    /// Where each label was bound (an index into `slots`).
    bound: Vec<Option<usize>>,
    exit: Label,
}

impl Assembler {
    pub fn new() -> Self {
        Assembler {
            slots: Vec::new(),
            bound: vec![None],
            exit: Label(0),
        }
    }

    /// The label of the final `r0 = 0; exit`.
    pub fn exit(&self) -> Label {
        self.exit
    }

    pub fn label(&mut self) -> Label {
        self.bound.push(None);
        Label(self.bound.len() - 1)
    }

    /// Binds `label` to the next instruction.
    pub fn bind(&mut self, label: Label) {
        self.bound[label.0] = Some(self.slots.len());
    }

    pub fn insn(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.slots.push(Slot::Insn {
            code,
            dst,
            src,
            off,
            imm,
        });
    }
    pub fn mov_reg(&mut self, dst: u8, src: u8) {
        self.insn(0xbf, dst, src, 0, 0);
    }
    pub fn mov_imm(&mut self, dst: u8, imm: i32) {
        self.insn(0xb7, dst, 0, 0, imm);
    }
    pub fn add_imm(&mut self, dst: u8, imm: i32) {
        self.insn(0x07, dst, 0, 0, imm);
    }
    pub fn and_imm(&mut self, dst: u8, imm: i32) {
        self.insn(0x57, dst, 0, 0, imm);
    }
    pub fn or_imm(&mut self, dst: u8, imm: i32) {
        self.insn(0x47, dst, 0, 0, imm);
    }
    pub fn load64(&mut self, dst: u8, src: u8, off: i16) {
        self.insn(0x79, dst, src, off, 0);
    }
    pub fn load32(&mut self, dst: u8, src: u8, off: i16) {
        self.insn(0x61, dst, src, off, 0);
    }
    pub fn load16(&mut self, dst: u8, src: u8, off: i16) {
        self.insn(0x69, dst, src, off, 0);
    }
    pub fn store64(&mut self, dst: u8, off: i16, src: u8) {
        self.insn(0x7b, dst, src, off, 0);
    }
    pub fn store32(&mut self, dst: u8, off: i16, src: u8) {
        self.insn(0x63, dst, src, off, 0);
    }
    pub fn store32_imm(&mut self, dst: u8, off: i16, imm: i32) {
        self.insn(0x62, dst, 0, off, imm);
    }
    pub fn call(&mut self, helper: i32) {
        self.insn(0x85, 0, 0, 0, helper);
    }
    /// `ld_imm64 dst, map fd` (BPF_PSEUDO_MAP_FD): two slots.
    pub fn load_map(&mut self, dst: u8, map_fd: i32) {
        self.insn(0x18, dst, 1, 0, map_fd);
        self.insn(0, 0, 0, 0, 0);
    }
    /// `ld_imm64 dst, value`: two slots.
    pub fn load_imm64(&mut self, dst: u8, value: u64) {
        self.insn(0x18, dst, 0, 0, value as u32 as i32);
        self.insn(0, 0, 0, 0, (value >> 32) as u32 as i32);
    }
    fn jump(&mut self, code: u8, dst: u8, src: u8, imm: i32, to: Label) {
        self.slots.push(Slot::Jump {
            code,
            dst,
            src,
            imm,
            to,
        });
    }
    pub fn goto(&mut self, to: Label) {
        self.jump(0x05, 0, 0, 0, to);
    }
    pub fn jump_if_zero(&mut self, dst: u8, to: Label) {
        self.jump(0x15, dst, 0, 0, to);
    }
    pub fn jump_if_equal_imm(&mut self, dst: u8, imm: i32, to: Label) {
        self.jump(0x15, dst, 0, imm, to);
    }
    pub fn jump_if_not_equal_imm(&mut self, dst: u8, imm: i32, to: Label) {
        self.jump(0x55, dst, 0, imm, to);
    }
    pub fn jump_if_registers_differ(&mut self, dst: u8, src: u8, to: Label) {
        self.jump(0x5d, dst, src, 0, to);
    }
    pub fn jump_if_registers_equal(&mut self, dst: u8, src: u8, to: Label) {
        self.jump(0x1d, dst, src, 0, to);
    }
    /// Jumps when `dst` (signed) > imm.
    pub fn jump_if_signed_greater(&mut self, dst: u8, imm: i32, to: Label) {
        self.jump(0x65, dst, 0, imm, to);
    }
    /// Jumps when `dst` (unsigned) <= imm.
    pub fn jump_if_at_most(&mut self, dst: u8, imm: i32, to: Label) {
        self.jump(0xb5, dst, 0, imm, to);
    }

    /// Appends `r0 = 0; exit` (the exit label) and encodes every slot.
    ///
    /// # Panics
    /// When a jump's label was never bound or lies behind it: a bug in the
    /// program's assembly, caught by its unit tests.
    pub fn finish(mut self) -> Vec<u64> {
        let exit = self.exit;
        self.bind(exit);
        self.mov_imm(R0, 0);
        self.insn(0x95, 0, 0, 0, 0);
        let bound = self.bound;
        self.slots
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
                Slot::Jump {
                    code,
                    dst,
                    src,
                    imm,
                    to,
                } => {
                    let target = bound[to.0].expect("every label is bound");
                    assert!(target > index, "jumps go forward");
                    encode(code, dst, src, (target - index - 1) as i16, imm)
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

/// Splits an encoded instruction into (code, dst, src, off, imm), for tests.
#[cfg(test)]
pub fn decode(insn: u64) -> (u8, u8, u8, i16, i32) {
    let b = insn.to_le_bytes();
    (
        b[0],
        b[1] & 0x0f,
        b[1] >> 4,
        i16::from_le_bytes([b[2], b[3]]),
        i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_land_on_their_labels() {
        let mut asm = Assembler::new();
        let later = asm.label();
        let exit = asm.exit();
        asm.jump_if_zero(R1, later); // 0
        asm.mov_imm(R2, 1); // 1
        asm.jump_if_registers_differ(R1, R2, exit); // 2
        asm.bind(later);
        asm.mov_imm(R3, 2); // 3
        let program = asm.finish(); // 4: r0 = 0, 5: exit
        assert_eq!(decode(program[0]), (0x15, R1, 0, 2, 0));
        assert_eq!(decode(program[2]), (0x5d, R1, R2, 1, 0));
        assert_eq!(decode(program[4]), (0xb7, R0, 0, 0, 0));
        assert_eq!(decode(program[5]).0, 0x95);
    }

    #[test]
    fn a_64_bit_immediate_takes_two_slots_low_half_first() {
        let mut asm = Assembler::new();
        asm.load_imm64(R2, 0xffff_8881_2345_6780);
        let program = asm.finish();
        assert_eq!(decode(program[0]), (0x18, R2, 0, 0, 0x2345_6780));
        assert_eq!(decode(program[1]), (0, 0, 0, 0, 0xffff_8881_u32 as i32));
    }
}
