//! The targets of `/proc/PID/fd/N` symlinks, as returned by readlink(2).

use crate::records::{ByteString, FdTarget, SocketInode};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The suffix the kernel appends to links whose file was unlinked.
pub(crate) const DELETED_SUFFIX: &[u8] = b" (deleted)";

/// Classifies an fd link target: `socket:[N]`, `pipe:[N]`, `anon_inode:…`, or a path.
///
/// # References
/// proc(5), `/proc/pid/fd/`.
pub fn parse_fd_link(link: &[u8]) -> FdTarget {
    if let Some(inode) = bracketed_number(link, b"socket:[") {
        return FdTarget::Socket {
            inode: SocketInode(inode),
        };
    }
    if let Some(inode) = bracketed_number(link, b"pipe:[") {
        return FdTarget::Pipe { inode };
    }
    if let Some(name) = link.strip_prefix(b"anon_inode:") {
        return FdTarget::AnonInode {
            name: String::from_utf8_lossy(name).into_owned(),
        };
    }
    if link.first() == Some(&b'/') {
        let (path, deleted) = strip_deleted(link);
        return FdTarget::Path {
            path: PathBuf::from(OsStr::from_bytes(path)),
            deleted,
        };
    }
    FdTarget::Other {
        link: ByteString::from(link),
    }
}

/// Splits off the kernel's ` (deleted)` marker: the path without it, and
/// whether it was there (a path that is only the marker is kept as it is).
pub fn strip_deleted(path: &[u8]) -> (&[u8], bool) {
    match path.strip_suffix(DELETED_SUFFIX) {
        Some(stripped) if !stripped.is_empty() => (stripped, true),
        _ => (path, false),
    }
}

fn bracketed_number(link: &[u8], prefix: &[u8]) -> Option<u64> {
    let inner = link.strip_prefix(prefix)?.strip_suffix(b"]")?;
    super::parse_decimal(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_captured_links() {
        assert_eq!(
            parse_fd_link(b"socket:[482913]"),
            FdTarget::Socket {
                inode: SocketInode(482913)
            }
        );
        assert_eq!(parse_fd_link(b"pipe:[77]"), FdTarget::Pipe { inode: 77 });
        assert_eq!(
            parse_fd_link(b"anon_inode:[eventpoll]"),
            FdTarget::AnonInode {
                name: "[eventpoll]".into()
            }
        );
        assert_eq!(
            parse_fd_link(b"/repo/a file (deleted)"),
            FdTarget::Path {
                path: "/repo/a file".into(),
                deleted: true
            }
        );
        assert_eq!(
            parse_fd_link(b"/dev/pts/3"),
            FdTarget::Path {
                path: "/dev/pts/3".into(),
                deleted: false
            }
        );
    }

    #[test]
    fn odd_links_fall_back_to_other() {
        assert!(matches!(
            parse_fd_link(b"socket:[x]"),
            FdTarget::Other { .. }
        ));
        assert!(matches!(
            parse_fd_link(b"net:[4026531840]"),
            FdTarget::Other { .. }
        ));
        assert!(matches!(parse_fd_link(b""), FdTarget::Other { .. }));
        // A file literally named " (deleted)" at the root is not stripped to nothing.
        assert_eq!(
            parse_fd_link(b" (deleted)"),
            FdTarget::Other {
                link: ByteString::from(" (deleted)")
            }
        );
    }
}
