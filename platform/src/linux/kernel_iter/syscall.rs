//! The bpf(2) commands the fd iterator needs, on zeroed attribute buffers.

use rustix::fd::{FromRawFd, OwnedFd};
use std::io;

/// Size of the `union bpf_attr` prefix limier fills (the kernel accepts a
/// shorter attr than its own as long as the tail it knows of is zero).
const ATTR_SIZE: usize = 144;

/// `BPF_OBJ_NAME_LEN`: a program name's field, NUL included.
const OBJ_NAME_LEN: usize = 16;

pub const MAP_CREATE: u32 = 0;
pub const PROG_LOAD: u32 = 5;
pub const LINK_CREATE: u32 = 28;
pub const ITER_CREATE: u32 = 33;

/// A `union bpf_attr`, written field by field at the offsets of
/// `include/uapi/linux/bpf.h`.
pub struct Attr([u8; ATTR_SIZE]);

impl Attr {
    pub fn new() -> Self {
        Attr([0; ATTR_SIZE])
    }

    pub fn u32(mut self, offset: usize, value: u32) -> Self {
        self.0[offset..offset + 4].copy_from_slice(&value.to_ne_bytes());
        self
    }

    pub fn u64(mut self, offset: usize, value: u64) -> Self {
        self.0[offset..offset + 8].copy_from_slice(&value.to_ne_bytes());
        self
    }

    pub fn bytes(mut self, offset: usize, value: &[u8]) -> Self {
        self.0[offset..offset + value.len()].copy_from_slice(value);
        self
    }

    /// A program's name at `offset`: `BPF_OBJ_NAME_LEN` (16) bytes with
    /// the terminating NUL, so at most 15 of `name` (a longer name is
    /// cut, never written past its field).
    pub fn name(self, offset: usize, name: &[u8]) -> Self {
        let len = name.len().min(OBJ_NAME_LEN - 1);
        self.bytes(offset, &name[..len])
    }
}

/// Runs a bpf(2) command that returns a new fd.
///
/// # Safety
/// Every pointer the caller stored in `attr` (instructions, license, log,
/// link info) must point to a buffer that is live for the whole call and at
/// least as long as the length stored beside it; a log buffer must be
/// writable. The kernel follows those pointers.
///
/// # References
/// bpf(2).
pub unsafe fn bpf_fd(command: u32, attr: &mut Attr) -> io::Result<OwnedFd> {
    // SAFETY: `attr` is a live, writable buffer of ATTR_SIZE bytes, and the
    // size passed is that length; the kernel reads (and for some commands
    // writes) only within it. The pointers stored inside it are the
    // caller's to keep valid (this function's `# Safety`).
    let result = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command as libc::c_long,
            attr.0.as_mut_ptr(),
            ATTR_SIZE as libc::c_long,
        )
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success these commands return a new file descriptor that
    // nothing else owns; wrapping it makes us its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(result as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_program_name_is_cut_to_its_field() {
        let attr = Attr::new()
            .u32(64, u32::MAX)
            .name(48, b"a_name_far_longer_than_sixteen");
        assert_eq!(&attr.0[48..63], b"a_name_far_long");
        assert_eq!(attr.0[63], 0, "the name keeps its NUL");
        assert_eq!(&attr.0[64..68], &[0xff; 4], "the next field is untouched");
    }
}
