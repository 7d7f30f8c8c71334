//! Pinning a process by its pidfs inode while a capture reads it.
//!
//! A pidfd is opened before the process's `/proc` entry is read. If the
//! process it names has not exited once the read is done, it owned the pid
//! for the whole read (a pid is reused only after its owner is reaped), so
//! the record and the pidfd name one process. The pidfd's inode in pidfs is
//! then that process's identity for as long as the machine runs.

use super::OsBackend;
use crate::records::{Pin, ProcessId};
use rustix::event::{PollFd, PollFlags};
use rustix::fd::OwnedFd;
use rustix::process::{Pid, PidfdFlags};
use std::sync::OnceLock;

/// `PIDFS_MAGIC` from include/uapi/linux/magic.h.
const PIDFS_MAGIC: i64 = 0x5049_4446;

/// A pidfd opened before a process is read; [`after_read`](Self::after_read)
/// turns it into the [`Pin`] the record keeps.
#[derive(Debug)]
pub struct PinAttempt(Attempt);

#[derive(Debug)]
enum Attempt {
    /// This kernel's pidfds have no inode of their own (before 6.9).
    NoPidfs,
    /// The pid named no process when the pidfd was asked for.
    Gone,
    /// Opened: the pidfd and its inode.
    Open(OwnedFd, u64),
}

impl OsBackend {
    /// Opens a pidfd for `pid` before its `/proc` entry is read (see the
    /// module's documentation). Two system calls; nothing when the kernel
    /// has no pidfs.
    ///
    /// # References
    /// pidfd_open(2); fstat(2); Linux `fs/pidfs.c` (one inode per `struct
    /// pid`, numbered uniquely on 64-bit, since 6.9).
    pub fn pin_before_read(&self, pid: ProcessId) -> PinAttempt {
        if !pidfs_available() {
            return PinAttempt(Attempt::NoPidfs);
        }
        let Some(raw) = Pid::from_raw(pid.0 as i32) else {
            return PinAttempt(Attempt::Gone);
        };
        let Ok(pidfd) = rustix::process::pidfd_open(raw, PidfdFlags::empty()) else {
            return PinAttempt(Attempt::Gone);
        };
        match rustix::fs::fstat(&pidfd) {
            Ok(stat) => PinAttempt(Attempt::Open(pidfd, stat.st_ino)),
            Err(_) => PinAttempt(Attempt::Gone),
        }
    }
}

impl PinAttempt {
    /// What the record read since [`crate::Backend::pin_before_read`] may be
    /// signalled on: the inode when the pidfd's process is still alive,
    /// [`Pin::Exited`] when it exited meanwhile or was gone already (the
    /// read may then be of a later owner of the pid).
    ///
    /// # References
    /// pidfd_open(2) ("the file descriptor becomes readable when the
    /// process terminates"); poll(2).
    pub fn after_read(self) -> Pin {
        match self.0 {
            Attempt::NoPidfs => Pin::StartTime,
            Attempt::Gone => Pin::Exited,
            Attempt::Open(pidfd, inode) => {
                let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
                let now = rustix::event::Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                match rustix::event::poll(&mut fds, Some(&now)) {
                    Ok(0) => Pin::Pidfs(inode),
                    _ => Pin::Exited,
                }
            }
        }
    }
}

/// Whether pidfds live in pidfs here (asked once, on this process's own).
///
/// # References
/// fstatfs(2); include/uapi/linux/magic.h `PIDFS_MAGIC`.
pub(super) fn pidfs_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let Some(own) = Pid::from_raw(std::process::id() as i32) else {
            return false;
        };
        rustix::process::pidfd_open(own, PidfdFlags::empty())
            .and_then(|pidfd| rustix::fs::fstatfs(&pidfd))
            // `f_type`'s width differs between architectures.
            .is_ok_and(|stats| {
                #[allow(clippy::unnecessary_cast)]
                let kind = stats.f_type as i64;
                kind == PIDFS_MAGIC
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_child_is_pinned_by_an_inode_and_a_reaped_one_is_not() {
        let backend = OsBackend::new().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = ProcessId(child.id());
        let pin = backend.pin_before_read(pid).after_read();
        if pidfs_available() {
            let Pin::Pidfs(inode) = pin else {
                panic!("a live child pinned as {pin:?}");
            };
            let again = backend.pin_before_read(pid).after_read();
            assert_eq!(again, Pin::Pidfs(inode));
            // Another process has another inode.
            let own = backend
                .pin_before_read(ProcessId(std::process::id()))
                .after_read();
            assert_ne!(own, Pin::Pidfs(inode));
        } else {
            assert_eq!(pin, Pin::StartTime);
        }
        let attempt = backend.pin_before_read(pid);
        child.kill().unwrap();
        child.wait().unwrap();
        // Exited between the opening and the check: not pinned.
        let expected = if pidfs_available() {
            Pin::Exited
        } else {
            Pin::StartTime
        };
        assert_eq!(attempt.after_read(), expected);
        assert_eq!(backend.pin_before_read(pid).after_read(), expected);
    }
}
