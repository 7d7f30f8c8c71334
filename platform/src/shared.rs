//! What both OS backends do the same way, written once on top of what each
//! does its own way (`open_process`, `read_stat`, `ProcessDir::stat`,
//! `add_links`, `add_cmdline`).
//!
//! An incarnation — a pid *and* the start time it was seen with — is
//! opened or asked about as that incarnation only: a pid reused since it
//! was seen names another process, which is gone for every caller here.

#[cfg(target_os = "linux")]
use crate::linux::OsBackend;
#[cfg(target_os = "macos")]
use crate::macos::OsBackend;
use crate::records::ProcessRecord;
use crate::{Identity, PlatformError, ProcessDir};

impl OsBackend {
    /// [`crate::Backend::open_incarnation`]: the process opened, then its
    /// start time read through the open directory and compared.
    ///
    /// # References
    /// proc(5) `/proc/pid/stat` (field 22, `starttime`); on macOS
    /// `proc_pidinfo(PROC_PIDTBSDINFO)`.
    pub fn open_incarnation(&self, identity: Identity) -> Result<ProcessDir, PlatformError> {
        let dir = self.open_process(identity.pid)?;
        if dir.stat()?.start != identity.start {
            return Err(PlatformError::Gone { pid: identity.pid });
        }
        Ok(dir)
    }

    /// [`crate::Backend::is_incarnation`]: the pid's stat read now.
    pub fn is_incarnation(&self, identity: Identity) -> bool {
        self.read_stat(identity.pid)
            .is_ok_and(|stat| stat.start == identity.start)
    }
}

impl ProcessDir {
    /// The full record: the cheap layer ([`basic`](Self::basic): stat and
    /// owner) and the details (cmdline, exe, cwd, root).
    pub fn record(&self) -> Result<ProcessRecord, PlatformError> {
        let mut record = self.basic()?;
        self.add_details(&mut record)?;
        Ok(record)
    }

    /// Reads cmdline, exe, cwd and root into `record`
    /// ([`add_links`](Self::add_links) and [`add_cmdline`](Self::add_cmdline)).
    pub fn add_details(&self, record: &mut ProcessRecord) -> Result<(), PlatformError> {
        self.add_links(record)?;
        self.add_cmdline(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Backend, StartTime};

    #[test]
    fn another_incarnation_is_gone() {
        let backend = Backend::new().unwrap();
        let pid = Backend::self_pid();
        let start = backend.read_stat(pid).unwrap().start;
        let me = Identity { pid, start };
        assert!(backend.open_incarnation(me).is_ok());
        assert!(backend.is_incarnation(me));
        let other = Identity {
            pid,
            start: StartTime(start.0 + 1),
        };
        assert!(matches!(
            backend.open_incarnation(other),
            Err(PlatformError::Gone { pid: gone }) if gone == pid
        ));
        assert!(!backend.is_incarnation(other));
    }
}
