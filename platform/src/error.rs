//! The platform layer's error type.

use crate::parse::ParseError;
use crate::records::ProcessId;
use std::io;
use std::path::PathBuf;

/// Why the OS backend could not produce a record.
///
/// `Gone` and `PermissionDenied` are ordinary on a live system (a process exits
/// mid-scan; another user's process hides its links): callers count them, they
/// never abort a snapshot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    #[error("process {pid} is gone")]
    Gone { pid: ProcessId },
    #[error("permission denied reading {}", path.display())]
    PermissionDenied {
        pid: Option<ProcessId>,
        path: PathBuf,
    },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: cannot parse {source}", path.display())]
    Parse { path: PathBuf, source: ParseError },
    /// A bpf(2) step of the fd iterator failed (with the verifier's last
    /// words when it refused the program).
    #[error("bpf: {step}: {source}{}", if log.is_empty() { String::new() } else { format!(" ({log})") })]
    Bpf {
        step: &'static str,
        source: io::Error,
        log: String,
    },
    #[error("{what} is not supported on this system")]
    Unsupported { what: &'static str },
}

impl PlatformError {
    /// Classifies an I/O error on a file that belongs to process `pid`.
    pub fn from_io(pid: Option<ProcessId>, path: PathBuf, err: io::Error) -> Self {
        match (err.raw_os_error(), pid) {
            (Some(code), Some(pid)) if code == ENOENT || code == ESRCH => {
                PlatformError::Gone { pid }
            }
            (Some(code), _) if code == EACCES || code == EPERM => {
                PlatformError::PermissionDenied { pid, path }
            }
            _ => PlatformError::Io { path, source: err },
        }
    }

    pub fn is_gone(&self) -> bool {
        matches!(self, PlatformError::Gone { .. })
    }

    pub fn is_permission_denied(&self) -> bool {
        matches!(self, PlatformError::PermissionDenied { .. })
    }
}

// errno values shared by Linux and macOS.
const EPERM: i32 = 1;
const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
const EACCES: i32 = 13;

/// Why a signal was not delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignalError {
    /// The process exited (and was reaped) before the signal.
    #[error("process {pid} is gone")]
    Gone { pid: ProcessId },
    /// The pid now belongs to another process: it was never signalled.
    #[error("pid {pid} was reused (start time {found} differs from the one selected)")]
    IdentityChanged { pid: ProcessId, found: u64 },
    #[error("not permitted to signal process {pid}")]
    PermissionDenied { pid: ProcessId },
    #[error("signalling process {pid}: {source}")]
    Io { pid: ProcessId, source: io::Error },
}
