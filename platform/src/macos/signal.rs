//! Identity-checked signalling and kqueue exit waits.

use super::OsBackend;
use crate::error::{PlatformError, SignalError};
use crate::records::{Identity, Pin};
use crate::signal::Signal;
use std::time::Instant;

/// A verified process incarnation. macOS has no pidfd: every signal re-reads
/// the start time immediately before kill(2), leaving only the microseconds
/// between that read and the kill for a pid to be reused.
#[derive(Debug)]
pub struct ProcessHandle {
    identity: Identity,
}

impl OsBackend {
    /// Checks the start time (microseconds) of `identity.pid`; every
    /// signal checks it again. macOS has no pidfd: `pin` is always
    /// [`Pin::StartTime`] there, unless the record was of a process that
    /// had exited ([`Pin::Exited`]: never opened).
    ///
    /// # References
    /// libproc.h `proc_pidinfo(PROC_PIDTBSDINFO)`.
    pub fn open_handle(&self, identity: Identity, pin: Pin) -> Result<ProcessHandle, SignalError> {
        if pin == Pin::Exited {
            return Err(SignalError::Gone { pid: identity.pid });
        }
        check(identity)?;
        Ok(ProcessHandle { identity })
    }
}

impl OsBackend {
    /// What a process does with `signal`: not read on macOS (libproc gives
    /// no signal masks), so always `None`, and a sweep waits out the grace.
    pub fn disposition(&self, _identity: Identity, _signal: Signal) -> Option<crate::Disposition> {
        None
    }
}

fn check(identity: Identity) -> Result<(), SignalError> {
    let pid = identity.pid;
    let dir = super::ProcessDir::open(pid).map_err(|err| match err {
        PlatformError::Gone { .. } => SignalError::Gone { pid },
        _ => SignalError::PermissionDenied { pid },
    })?;
    let stat = dir.stat().map_err(|_| SignalError::Gone { pid })?;
    if stat.start != identity.start {
        return Err(SignalError::IdentityChanged { pid });
    }
    Ok(())
}

impl ProcessHandle {
    /// The (pid, start time) this handle was opened for and checked against.
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// # References
    /// kill(2).
    pub fn send_signal(&self, signal: Signal) -> Result<(), SignalError> {
        check(self.identity)?;
        let pid = self.identity.pid;
        let target = nix::unistd::Pid::from_raw(pid.0 as i32);
        nix::sys::signal::kill(target, to_nix(signal)).map_err(|errno| match errno {
            nix::errno::Errno::ESRCH => SignalError::Gone { pid },
            nix::errno::Errno::EPERM => SignalError::PermissionDenied { pid },
            other => SignalError::Io {
                pid,
                source: std::io::Error::from_raw_os_error(other as i32),
            },
        })
    }

    /// Whether this process may be signalled by the caller, asking without
    /// signalling: `PermissionDenied` for another user's process when not
    /// root.
    ///
    /// # References
    /// kill(2) (signal 0).
    pub fn test_signal(&self) -> Result<(), SignalError> {
        check(self.identity)?;
        let pid = self.identity.pid;
        let target = nix::unistd::Pid::from_raw(pid.0 as i32);
        nix::sys::signal::kill(target, None).map_err(|errno| match errno {
            nix::errno::Errno::ESRCH => SignalError::Gone { pid },
            nix::errno::Errno::EPERM => SignalError::PermissionDenied { pid },
            other => SignalError::Io {
                pid,
                source: std::io::Error::from_raw_os_error(other as i32),
            },
        })
    }

    /// True once the process is gone, a zombie, or the pid names another process.
    pub fn has_exited(&self) -> bool {
        match super::ProcessDir::open(self.identity.pid).and_then(|d| d.stat()) {
            Ok(stat) => {
                stat.start != self.identity.start
                    || stat.state == crate::records::ProcessState::Zombie
            }
            Err(_) => true,
        }
    }

    /// Waits on a kqueue (`EVFILT_PROC`, `NOTE_EXIT`) until every handle's
    /// process exited or `deadline` passes.
    ///
    /// # References
    /// kqueue(2), kevent(2).
    pub fn wait_for_exits(handles: &[&ProcessHandle], deadline: Instant) -> Vec<bool> {
        let mut exited: Vec<bool> = handles.iter().map(|h| h.has_exited()).collect();
        // SAFETY: kqueue takes no arguments and returns a new descriptor or -1.
        let kq = unsafe { libc::kqueue() };
        if kq < 0 {
            return exited;
        }
        let mut changes: Vec<libc::kevent> = Vec::new();
        let mut slots: Vec<usize> = Vec::new();
        for (i, handle) in handles.iter().enumerate() {
            if exited[i] {
                continue;
            }
            changes.push(libc::kevent {
                ident: handle.identity.pid.0 as libc::uintptr_t,
                filter: libc::EVFILT_PROC,
                flags: libc::EV_ADD | libc::EV_ONESHOT | libc::EV_RECEIPT,
                fflags: libc::NOTE_EXIT,
                data: 0,
                udata: std::ptr::null_mut(),
            });
            slots.push(i);
        }
        if !changes.is_empty() {
            let mut receipts = changes.clone();
            // SAFETY: both arrays are live and sized as passed; a zero
            // timeout makes the call return the receipts at once.
            let zero = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let n = unsafe {
                libc::kevent(
                    kq,
                    changes.as_ptr(),
                    changes.len() as libc::c_int,
                    receipts.as_mut_ptr(),
                    receipts.len() as libc::c_int,
                    &zero,
                )
            };
            for receipt in receipts.iter().take(n.max(0) as usize) {
                // ESRCH on registration: it exited before we could watch it.
                if receipt.flags & libc::EV_ERROR != 0 && receipt.data != 0 {
                    if let Some(pos) = slots
                        .iter()
                        .position(|&i| handles[i].identity.pid.0 as usize == receipt.ident)
                    {
                        exited[slots[pos]] = true;
                    }
                }
            }
        }
        let mut events: Vec<libc::kevent> = changes.clone();
        while exited.iter().any(|e| !e) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let remaining = deadline - now;
            let timeout = libc::timespec {
                tv_sec: remaining.as_secs() as libc::time_t,
                tv_nsec: remaining.subsec_nanos() as libc::c_long,
            };
            // SAFETY: `events` is live and sized as passed; no changes are submitted.
            let n = unsafe {
                libc::kevent(
                    kq,
                    std::ptr::null(),
                    0,
                    events.as_mut_ptr(),
                    events.len() as libc::c_int,
                    &timeout,
                )
            };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            for event in events.iter().take(n as usize) {
                if event.filter == libc::EVFILT_PROC && event.fflags & libc::NOTE_EXIT != 0 {
                    for (i, handle) in handles.iter().enumerate() {
                        if handle.identity.pid.0 as usize == event.ident {
                            exited[i] = true;
                        }
                    }
                }
            }
        }
        // SAFETY: kq is a descriptor this function opened and still owns.
        unsafe { libc::close(kq) };
        exited
    }
}

fn to_nix(signal: Signal) -> nix::sys::signal::Signal {
    use nix::sys::signal::Signal as S;
    match signal {
        Signal::Term => S::SIGTERM,
        Signal::Kill => S::SIGKILL,
        Signal::Stop => S::SIGSTOP,
        Signal::Cont => S::SIGCONT,
        Signal::Hup => S::SIGHUP,
        Signal::Int => S::SIGINT,
        Signal::Quit => S::SIGQUIT,
        Signal::Usr1 => S::SIGUSR1,
        Signal::Usr2 => S::SIGUSR2,
    }
}
