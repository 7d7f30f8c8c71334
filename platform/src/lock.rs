//! Shared advisory locks, for reading files another program writes under flock.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A held shared `flock(2)`; released when dropped (the file is closed).
#[derive(Debug)]
pub struct SharedLock {
    _file: File,
}

/// Why a shared lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    #[error("{}: held exclusively by another process for more than {}ms", path.display(), timeout.as_millis())]
    /// Another process held the lock exclusively for longer than `timeout`.
    TimedOut {
        /// The lock file.
        path: PathBuf,
        /// How long limier waited.
        timeout: Duration,
    },
    /// The lock file could not be opened or locked.
    #[error("{}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The OS's error.
        source: io::Error,
    },
}

/// Takes a shared lock on `path`, retrying every 10 ms until `timeout`.
///
/// A missing lock file is not an error: nobody writes under it, so `Ok(None)`.
///
/// # References
/// flock(2).
pub fn lock_shared(path: &Path, timeout: Duration) -> Result<Option<SharedLock>, LockError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(LockError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    let deadline = Instant::now() + timeout;
    loop {
        // SAFETY: the descriptor belongs to `file`, which outlives the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(Some(SharedLock { _file: file }));
        }
        let err = io::Error::last_os_error();
        let busy = err.raw_os_error() == Some(libc::EWOULDBLOCK);
        if !busy && err.kind() != io::ErrorKind::Interrupted {
            return Err(LockError::Io {
                path: path.to_owned(),
                source: err,
            });
        }
        if Instant::now() >= deadline {
            return Err(LockError::TimedOut {
                path: path.to_owned(),
                timeout,
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
