//! Identity-checked signalling and exit waiting through pidfds.

use super::OsBackend;
use crate::error::{PlatformError, SignalError};
use crate::records::{Identity, Pin, ProcessId};
use crate::signal::Signal;
use rustix::event::{PollFd, PollFlags};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags};
use std::time::Instant;

/// A pidfd bound to one verified process incarnation.
///
/// Signals sent through it can never reach a process that reused the pid.
#[derive(Debug)]
pub struct ProcessHandle {
    identity: Identity,
    pidfd: OwnedFd,
}

impl OsBackend {
    /// Makes room in this process's fd table for `count` more fds.
    ///
    /// A sweep holds a pidfd per target; for hundreds of targets the table
    /// grows by doublings, and each growth of a table that threads share
    /// waits for an RCU grace period (milliseconds). Asking for one fd at
    /// the highest number needed grows it once — and costs nothing before
    /// any thread exists. Best effort: capped by RLIMIT_NOFILE; a failure
    /// only leaves the growth to happen as it would have.
    ///
    /// # References
    /// fcntl(2) `F_DUPFD_CLOEXEC`, getrlimit(2); Linux `fs/file.c`
    /// `expand_fdtable`.
    pub fn reserve_fds(count: usize) {
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        let highest = ((count as u64 + 64).next_power_of_two() - 1).min(soft.saturating_sub(1));
        // The default table holds 64 fds.
        if highest < 64 {
            return;
        }
        let Ok(anchor) = rustix::fs::open(
            "/",
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        ) else {
            return;
        };
        // The lowest free fd at or above `highest`: never one in use. Both
        // are closed on drop.
        let _placed = rustix::io::fcntl_dupfd_cloexec(&anchor, highest as i32);
    }

    /// Opens a pidfd for `identity.pid` and checks that it names the
    /// process selected: by its pidfs inode when `pin` holds one, which is
    /// exact; by the start time read afterwards otherwise.
    ///
    /// The pidfd is opened first: if the start time read afterwards matches,
    /// the process that owned the pid when the fd was opened is the selected
    /// one — unless the pid was reused within one clock tick of the
    /// selected process's start, which only the inode tells. Every later
    /// signal through the fd reaches that process or fails with ESRCH. A
    /// process pinned as [`Pin::Exited`] is not opened at all.
    ///
    /// # References
    /// pidfd_open(2), fstat(2), proc(5) `/proc/pid/stat`.
    pub fn open_handle(&self, identity: Identity, pin: Pin) -> Result<ProcessHandle, SignalError> {
        let pid = identity.pid;
        if pin == Pin::Exited {
            return Err(SignalError::Gone { pid });
        }
        let raw = Pid::from_raw(pid.0 as i32).ok_or(SignalError::Gone { pid })?;
        let pidfd = rustix::process::pidfd_open(raw, PidfdFlags::empty())
            .map_err(|err| signal_error(pid, err))?;
        if let Pin::Pidfs(inode) = pin {
            let found = rustix::fs::fstat(&pidfd).map_err(|err| signal_error(pid, err))?;
            if found.st_ino != inode {
                return Err(SignalError::IdentityChanged { pid });
            }
            return Ok(ProcessHandle { identity, pidfd });
        }
        let stat = self
            .open_process(pid)
            .and_then(|dir| dir.stat())
            .map_err(|err| match err {
                PlatformError::Gone { .. } => SignalError::Gone { pid },
                PlatformError::PermissionDenied { .. } => SignalError::PermissionDenied { pid },
                other => SignalError::Io {
                    pid,
                    source: std::io::Error::other(other.to_string()),
                },
            })?;
        if stat.start != identity.start {
            return Err(SignalError::IdentityChanged { pid });
        }
        Ok(ProcessHandle { identity, pidfd })
    }
}

impl ProcessHandle {
    /// The (pid, start time) this handle was opened for and checked against.
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// Sends `signal` to exactly this incarnation.
    ///
    /// # References
    /// pidfd_send_signal(2).
    pub fn send_signal(&self, signal: Signal) -> Result<(), SignalError> {
        rustix::process::pidfd_send_signal(&self.pidfd, to_rustix(signal))
            .map_err(|err| signal_error(self.identity.pid, err))
    }

    /// Whether this process may be signalled by the caller, asking without
    /// signalling (`kill(pid, 0)`): `PermissionDenied` for another user's
    /// process when not root. The identity was checked when the handle was
    /// opened; every real signal still goes through the pidfd.
    ///
    /// # References
    /// kill(2) (signal 0).
    pub fn test_signal(&self) -> Result<(), SignalError> {
        let pid = self.identity.pid;
        let raw = Pid::from_raw(pid.0 as i32).ok_or(SignalError::Gone { pid })?;
        rustix::process::test_kill_process(raw).map_err(|err| signal_error(pid, err))
    }

    /// True once the process has exited (it may still be an unreaped zombie).
    ///
    /// # References
    /// pidfd_open(2) ("the file descriptor becomes readable when the process terminates"), poll(2).
    pub fn has_exited(&self) -> bool {
        let mut fds = [PollFd::new(&self.pidfd, PollFlags::IN)];
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
    }

    /// Waits, without fixed sleeps, until every handle's process has exited or
    /// `deadline` passes. Returns, per handle, whether it exited.
    ///
    /// # References
    /// poll(2) on pidfds.
    pub fn wait_for_exits(handles: &[&ProcessHandle], deadline: Instant) -> Vec<bool> {
        let mut exited: Vec<bool> = handles.iter().map(|h| h.has_exited()).collect();
        loop {
            let waiting: Vec<usize> = (0..handles.len()).filter(|&i| !exited[i]).collect();
            let now = Instant::now();
            if waiting.is_empty() || now >= deadline {
                return exited;
            }
            let remaining = deadline - now;
            let timeout = rustix::event::Timespec {
                tv_sec: remaining.as_secs() as i64,
                tv_nsec: i64::from(remaining.subsec_nanos()),
            };
            // poll(2) takes at most RLIMIT_NOFILE fds; wait on the first 1,024
            // and come back for the rest.
            let batch = &waiting[..waiting.len().min(1024)];
            let mut fds: Vec<PollFd> = batch
                .iter()
                .map(|&i| PollFd::new(&handles[i].pidfd, PollFlags::IN))
                .collect();
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(_) => return exited,
            }
            for (slot, fd) in batch.iter().zip(&fds) {
                if !fd.revents().is_empty() {
                    exited[*slot] = true;
                }
            }
        }
    }
}

impl OsBackend {
    /// What the incarnation `identity` does with `signal`, from the masks
    /// of its `/proc/PID/status` (read through a directory fd whose start
    /// time matches); `None` when that cannot be read (gone, recycled,
    /// refused).
    ///
    /// # References
    /// proc(5) `/proc/pid/status` (`SigBlk`, `SigIgn`, `SigCgt`); signal(7).
    pub fn disposition(&self, identity: Identity, signal: Signal) -> Option<crate::Disposition> {
        let dir = self.open_incarnation(identity).ok()?;
        let masks = dir.signal_masks().ok()?;
        let bit = 1u64 << (to_rustix(signal).as_raw() - 1);
        Some(if masks.ignored & bit != 0 {
            crate::Disposition::Ignored
        } else if masks.blocked & bit != 0 {
            crate::Disposition::Blocked
        } else if masks.caught & bit != 0 {
            crate::Disposition::Caught
        } else {
            crate::Disposition::Default
        })
    }
}

fn to_rustix(signal: Signal) -> rustix::process::Signal {
    use rustix::process::Signal as S;
    match signal {
        Signal::Term => S::TERM,
        Signal::Kill => S::KILL,
        Signal::Stop => S::STOP,
        Signal::Cont => S::CONT,
        Signal::Hup => S::HUP,
        Signal::Int => S::INT,
        Signal::Quit => S::QUIT,
        Signal::Usr1 => S::USR1,
        Signal::Usr2 => S::USR2,
    }
}

fn signal_error(pid: ProcessId, err: Errno) -> SignalError {
    match err {
        Errno::SRCH => SignalError::Gone { pid },
        Errno::PERM | Errno::ACCESS => SignalError::PermissionDenied { pid },
        other => SignalError::Io {
            pid,
            source: other.into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd_table_size() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("FDSize:")).unwrap();
        line["FDSize:".len()..].trim().parse().unwrap()
    }

    /// The table grows to hold the fds asked for, at once, and no fd in
    /// use is touched.
    #[test]
    fn reserving_fds_grows_the_table_once_and_leaves_open_fds_alone() {
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        let held = std::fs::File::open("/proc/version").unwrap();
        OsBackend::reserve_fds(3000);
        if soft >= 4096 {
            assert!(fd_table_size() >= 4096, "FDSize {}", fd_table_size());
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut &held, &mut text).unwrap();
        assert!(text.starts_with("Linux"));
        // Asking for less than the table holds changes nothing.
        let before = fd_table_size();
        OsBackend::reserve_fds(10);
        assert_eq!(fd_table_size(), before);
    }
}
