//! Reading a small file someone else may have written: never blocking on
//! a FIFO, never following a planted link, never reading without end.

use std::io::{self, Read};
use std::path::Path;

/// Whether a link at the file's own name is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastLink {
    /// Refused (`O_NOFOLLOW`): for files a program writes itself, never as
    /// links (ecluse's state.json and pid files).
    Refuse,
    /// Followed (a configuration file a person may keep elsewhere).
    Follow,
}

/// Reads the regular file at `path` whole, refusing — with an error that
/// says why — anything that is not a regular file (a FIFO, a device, a
/// directory), a link at its own name when `last` says so, and a file of
/// more than `cap` bytes. The open cannot block: `O_NONBLOCK` opens a FIFO
/// at once, and the type is checked (fstat) before any read.
///
/// # References
/// open(2) `O_NONBLOCK`, `O_NOFOLLOW`; fstat(2); read(2).
pub fn read_capped(path: &Path, cap: u64, last: LastLink) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    // O_NOCTTY: a device planted there never becomes a controlling tty.
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    if last == LastLink::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ELOOP) if last == LastLink::Refuse => io::Error::new(
                io::ErrorKind::InvalidData,
                "is a symbolic link; only a regular file is read",
            ),
            _ => err,
        })?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        let what = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_dir() {
            "a directory"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("is {what}; only a regular file is read"),
        ));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("is larger than {cap} bytes; refusing to read it"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_and_refuses_fifos_links_devices_and_floods() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("state.json");
        std::fs::write(&plain, b"{}").unwrap();
        assert_eq!(read_capped(&plain, 2, LastLink::Refuse).unwrap(), b"{}");
        let big = read_capped(&plain, 1, LastLink::Refuse).unwrap_err();
        assert!(big.to_string().contains("larger than 1 bytes"), "{big}");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_capped(&fifo, 100, LastLink::Refuse).unwrap_err();
        assert!(err.to_string().contains("is a FIFO"), "{err}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = read_capped(&link, 100, LastLink::Refuse).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let err = read_capped(&link, 100, LastLink::Follow).unwrap_err();
        assert!(err.to_string().contains("is a device"), "{err}");
        let to_plain = dir.path().join("to-plain");
        std::os::unix::fs::symlink(&plain, &to_plain).unwrap();
        assert_eq!(read_capped(&to_plain, 10, LastLink::Follow).unwrap(), b"{}");
        let err = read_capped(dir.path(), 100, LastLink::Follow).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }
}
