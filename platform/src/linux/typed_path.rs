//! Resolving a directory the user typed, without asking its filesystem for
//! attributes.

use rustix::fs::{Mode, OFlags};
use std::path::{Path, PathBuf};

/// The canonical path of the directory at `path`.
///
/// Opened with `O_PATH | O_DIRECTORY` and named by readlink of
/// `/proc/self/fd/N`: no stat() of the directory itself, so a directory that
/// is the root of a mount whose server stopped answering (a dead NFS or
/// FUSE mount) still resolves. Components *inside* such a mount are looked
/// up by the kernel and may still block; callers bound the wait.
///
/// # References
/// open(2) (`O_PATH`, `O_DIRECTORY`), proc(5) `/proc/self/fd`, readlink(2).
pub fn resolve_dir(path: &Path) -> std::io::Result<PathBuf> {
    let fd = rustix::fs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let link = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
    let target = rustix::fs::readlink(link.as_str(), Vec::new())?;
    let target: std::ffi::OsString = std::os::unix::ffi::OsStringExt::from_vec(target.into_bytes());
    Ok(PathBuf::from(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_symlinks_dots_and_rejects_files() {
        let dir = std::env::temp_dir().join(format!("limier-typed-{}", std::process::id()));
        let real = dir.join("real");
        std::fs::create_dir_all(real.join("sub")).unwrap();
        let link = dir.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let canonical = std::fs::canonicalize(&real).unwrap();
        assert_eq!(resolve_dir(&link.join("sub/..")).unwrap(), canonical);
        std::fs::write(dir.join("file"), "x").unwrap();
        let not_dir = resolve_dir(&dir.join("file")).unwrap_err();
        assert_eq!(
            not_dir.raw_os_error(),
            Some(rustix::io::Errno::NOTDIR.raw_os_error())
        );
        let missing = resolve_dir(&dir.join("missing")).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
