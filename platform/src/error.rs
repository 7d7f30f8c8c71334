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
    /// The process exited (ENOENT/ESRCH on its files).
    Gone {
        /// The process.
        pid: ProcessId,
    },
    /// The OS refused the read (EACCES/EPERM).
    #[error("permission denied reading {}", path.display())]
    PermissionDenied {
        /// The process the file belongs to, when it is a process's.
        pid: Option<ProcessId>,
        /// The file refused.
        path: PathBuf,
    },
    #[error("{}: {source}", path.display())]
    /// Any other I/O error.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS's error.
        source: io::Error,
    },
    /// A call that names no file failed (a libproc or sysctl call).
    #[error("{call}: {source}")]
    Call {
        /// The call, with its argument.
        call: String,
        /// The OS's error.
        source: io::Error,
    },
    /// What a file or a call gave could not be parsed.
    #[error("{from}: cannot parse {source}")]
    Parse {
        /// Where the text came from.
        from: ParseSource,
        /// What was wrong with it.
        source: ParseError,
    },
    /// A bpf(2) step of a kernel iterator failed (with the kernel's
    /// release and the verifier's last words when it refused the program).
    #[error("bpf: {step}: {source}{}", refusal.as_ref().map_or(String::new(), |r| format!(" ({r})")))]
    Bpf {
        /// Which step: loading the program, creating the map, ...
        step: &'static str,
        /// The OS's error.
        source: io::Error,
        /// The verifier's refusal, when it refused the program.
        refusal: Option<VerifierRefusal>,
    },
    /// The proc filesystem read belongs to another pid namespace than this
    /// process's (`unshare --pid --fork` without `--mount-proc`): its pids
    /// are not the ones signals and pidfds take here, so nothing is read.
    #[error("{} belongs to another pid namespace (its self is pid {seen_as}, this process is pid {own} here); refusing to read or signal by its pids (mount this namespace's own proc, e.g. unshare --mount-proc)", proc_root.display())]
    ForeignProcfs {
        /// The proc root.
        proc_root: PathBuf,
        /// What `<proc_root>/self` says this process's pid is.
        seen_as: String,
        /// This process's pid in its own namespace.
        own: u32,
    },
    #[error("{what} is not supported on this system")]
    /// The running system lacks a facility limier can use.
    Unsupported {
        /// The facility.
        what: &'static str,
    },
}

/// A BPF program the kernel's verifier refused: which kernel, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kernel {kernel} refused it: {log}")]
pub struct VerifierRefusal {
    /// The kernel release (`uname -r`).
    pub kernel: String,
    /// The verifier's last lines: the refused instruction and why.
    pub log: String,
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

    /// Whether the process vanished (an ordinary race on a live system).
    pub fn is_gone(&self) -> bool {
        matches!(self, PlatformError::Gone { .. })
    }

    /// Whether the OS refused the read (another user's process, not dumpable).
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
    Gone {
        /// The process.
        pid: ProcessId,
    },
    /// The pid now belongs to another process: it was never signalled.
    #[error("pid {pid} now names another process than the one selected")]
    IdentityChanged {
        /// The pid.
        pid: ProcessId,
    },
    /// EPERM: another user's process.
    #[error("not permitted to signal process {pid}")]
    PermissionDenied {
        /// The process.
        pid: ProcessId,
    },
    /// Any other error from the OS.
    #[error("signalling process {pid}: {source}")]
    Io {
        /// The process.
        pid: ProcessId,
        /// The OS's error.
        source: io::Error,
    },
}

/// Where text that could not be parsed came from: a file, or a call that
/// returns no file (a BPF iterator, a sysctl, a libproc call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseSource {
    /// A file.
    File(PathBuf),
    /// A call, named with its argument (`proc_listpids`,
    /// `KERN_PROCARGS2(4242)`, `the bpf fd iterator`).
    Call(String),
}

impl std::fmt::Display for ParseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseSource::File(path) => write!(f, "{}", path.display()),
            ParseSource::Call(call) => f.write_str(call),
        }
    }
}

impl From<PathBuf> for ParseSource {
    fn from(path: PathBuf) -> Self {
        ParseSource::File(path)
    }
}

impl From<&std::path::Path> for ParseSource {
    fn from(path: &std::path::Path) -> Self {
        ParseSource::File(path.to_path_buf())
    }
}
