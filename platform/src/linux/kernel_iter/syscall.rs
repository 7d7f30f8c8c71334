//! The bpf(2) commands the fd iterator needs, on zeroed attribute buffers.

use rustix::fd::{FromRawFd, OwnedFd};
use std::io;

/// Size of the `union bpf_attr` prefix limier fills (the kernel accepts a
/// shorter attr than its own as long as the tail it knows of is zero).
const ATTR_SIZE: usize = 144;

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
}

/// Runs a bpf(2) command that returns a new fd.
///
/// # References
/// bpf(2).
pub fn bpf_fd(command: u32, attr: &mut Attr) -> io::Result<OwnedFd> {
    // SAFETY: `attr` is a live, writable buffer of ATTR_SIZE bytes, and the
    // size passed is that length; the kernel reads (and for some commands
    // writes) only within it. Pointers stored inside it by the caller point
    // to buffers that outlive this call (see each caller).
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
