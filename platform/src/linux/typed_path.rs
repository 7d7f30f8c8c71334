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

/// [`resolve_dir`], run in a process limier can leave behind: `None` when
/// no answer came within `patience`.
///
/// A lookup inside a mount whose server stopped answering blocks in the
/// kernel, and may do so uninterruptibly (waiting for a directory's lock
/// that another stuck lookup holds). A thread blocked that way keeps its
/// process from ever finishing its exit — a zombie whose parent's `wait()`
/// never returns. So the lookup runs in a grandchild (see `answer_forked`).
///
/// # References
/// open(2) `O_PATH`, readlink(2), proc(5) `/proc/self/fd`.
pub fn resolve_dir_within(
    path: &Path,
    patience: std::time::Duration,
) -> Option<std::io::Result<PathBuf>> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = match std::ffi::CString::new(path.as_os_str().as_bytes()) {
        Ok(c_path) => c_path,
        Err(_) => {
            return Some(Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a NUL in the path",
            )))
        }
    };
    // SAFETY: the grandchild's work calls only open, readlink and write,
    // on `c_path` (made before the fork) and stack buffers.
    let answer =
        unsafe { answer_forked(patience, |out| resolve_in_grandchild(c_path.as_ptr(), out)) };
    Some(answer?.and_then(|bytes| decode_answer(&bytes)))
}

/// For each of `paths`, whether it names a regular file (following links),
/// asked in a process limier can leave behind: `None` when no answer came
/// within `patience` (a path on a mount that stopped answering). A path
/// that cannot be looked up at all (missing, refused) is not a file.
///
/// # References
/// stat(2).
pub fn regular_files_within(paths: &[&Path], patience: std::time::Duration) -> Option<Vec<bool>> {
    let kinds = kinds_within(paths, patience)?;
    Some(kinds.iter().map(|&kind| kind == KIND_REGULAR).collect())
}

/// For each of `links` (a process's `cwd`, `root` or `exe` under
/// `/proc/PID`), the id of the mount its target is on, asked in a process
/// limier leaves behind (see `answer_forked`) with `AT_STATX_DONT_SYNC`,
/// so that no file system is asked for attributes: `None` when no answer
/// came within `patience`; an entry is `None` when the link could not be
/// followed (gone, refused).
///
/// # References
/// statx(2) (`STATX_MNT_ID`, `AT_STATX_DONT_SYNC`); proc(5) `/proc/pid/cwd`.
pub fn mount_ids_within(
    links: &[&Path],
    patience: std::time::Duration,
) -> Option<Vec<Option<u32>>> {
    let c_paths = c_strings(links.iter().copied())?;
    if c_paths.len() > MAX_MOUNT_IDS {
        return None;
    }
    // SAFETY: the grandchild calls only statx and write, on the CStrings
    // made before the fork and a stack buffer.
    let answer = unsafe { answer_forked(patience, |out| link_mount_ids(&c_paths, out)) };
    let bytes = answer?.ok()?;
    (bytes.len() == links.len() * 4).then(|| {
        bytes
            .chunks_exact(4)
            .map(|id| {
                let id = u32::from_ne_bytes([id[0], id[1], id[2], id[3]]);
                (id != 0).then_some(id)
            })
            .collect()
    })
}

/// For each of `paths`, the object it names (device, inode, link count),
/// asked in a process limier leaves behind (see [`answer_forked`]) with
/// `AT_STATX_DONT_SYNC`, so that no file system is asked for attributes:
/// `None` when no answer came within `patience`. A path whose `follow` is
/// false is looked up as a directory entry (a last symbolic link not
/// followed); one whose `follow` is true is followed (a process's
/// `/proc/PID/cwd` or `fd/N` link reaches its target so). An entry is
/// [`Missing`](crate::ObjectAnswer::Missing) only on `ENOENT` or `ENOTDIR`;
/// any other failure (refused, for one) is
/// [`Unknown`](crate::ObjectAnswer::Unknown).
///
/// # References
/// statx(2) (`STATX_INO`, `STATX_NLINK`, `AT_STATX_DONT_SYNC`,
/// `AT_SYMLINK_NOFOLLOW`).
pub fn objects_within(
    paths: &[(&Path, bool)],
    patience: std::time::Duration,
) -> Option<Vec<crate::ObjectAnswer>> {
    let asks: Vec<(std::ffi::CString, bool)> = c_strings(paths.iter().map(|(path, _)| *path))?
        .into_iter()
        .zip(paths.iter().map(|(_, follow)| *follow))
        .collect();
    if asks.len() > MAX_OBJECTS {
        return None;
    }
    // SAFETY: the grandchild calls only statx and write, on the CStrings
    // made before the fork and a stack buffer.
    let answer = unsafe { answer_forked(patience, |out| object_ids(&asks, out)) };
    let bytes = answer?.ok()?;
    (bytes.len() == paths.len() * OBJECT_ANSWER).then(|| {
        bytes
            .chunks_exact(OBJECT_ANSWER)
            .map(|answer| {
                let word = |at: usize| {
                    u32::from_ne_bytes([answer[at], answer[at + 1], answer[at + 2], answer[at + 3]])
                };
                match word(0) {
                    OBJECT_FOUND => crate::ObjectAnswer::Found(crate::ObjectId {
                        device: (word(4), word(8)),
                        links: word(12),
                        inode: u64::from(word(16)) | u64::from(word(20)) << 32,
                    }),
                    OBJECT_MISSING => crate::ObjectAnswer::Missing,
                    _ => crate::ObjectAnswer::Unknown,
                }
            })
            .collect()
    })
}

/// At most this many paths a call of [`objects_within`] (its answer is
/// written from one stack buffer).
pub const MAX_OBJECTS: usize = 512;

/// Bytes of one answer of [`object_ids`]: what was found (u32: one of the
/// `OBJECT_*` below), device major and minor, link count, inode (two u32
/// halves, low first).
const OBJECT_ANSWER: usize = 24;
const OBJECT_UNKNOWN: u32 = 0;
const OBJECT_FOUND: u32 = 1;
const OBJECT_MISSING: u32 = 2;

/// The grandchild's work for [`objects_within`]. Async-signal-safe: statx,
/// errno and write, on a stack buffer.
fn object_ids(paths: &[(std::ffi::CString, bool)], out: libc::c_int) {
    let mut answers = [0u8; MAX_OBJECTS * OBJECT_ANSWER];
    for (at, (path, follow)) in paths.iter().enumerate().take(MAX_OBJECTS) {
        // SAFETY: `statx` is plain old data, all zeroes a valid value.
        let mut stx: libc::statx = unsafe { std::mem::zeroed() };
        let flags = libc::AT_STATX_DONT_SYNC
            | if *follow {
                0
            } else {
                libc::AT_SYMLINK_NOFOLLOW
            };
        let wanted = libc::STATX_INO | libc::STATX_NLINK;
        // SAFETY: `path` is NUL-terminated; `stx` is a live, writable statx.
        let done = unsafe { libc::statx(libc::AT_FDCWD, path.as_ptr(), flags, wanted, &mut stx) };
        let errno = std::io::Error::last_os_error().raw_os_error();
        let words = if done == 0 && stx.stx_mask & wanted == wanted {
            [
                OBJECT_FOUND,
                stx.stx_dev_major,
                stx.stx_dev_minor,
                stx.stx_nlink,
                stx.stx_ino as u32,
                (stx.stx_ino >> 32) as u32,
            ]
        } else if done != 0 && matches!(errno, Some(libc::ENOENT | libc::ENOTDIR)) {
            [OBJECT_MISSING, 0, 0, 0, 0, 0]
        } else {
            [OBJECT_UNKNOWN, 0, 0, 0, 0, 0]
        };
        for (slot, word) in words.iter().enumerate() {
            let start = at * OBJECT_ANSWER + slot * 4;
            answers[start..start + 4].copy_from_slice(&word.to_ne_bytes());
        }
    }
    let count = paths.len().min(MAX_OBJECTS) * OBJECT_ANSWER;
    // SAFETY: `answers` holds `count` initialised bytes.
    unsafe { libc::write(out, answers.as_ptr().cast(), count) };
}

/// Whether this kernel's statx reports mount ids (Linux 5.8 and later),
/// asked once of `/`.
///
/// # References
/// statx(2) `STATX_MNT_ID`.
pub(super) fn link_mount_ids_supported() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        // SAFETY: `statx` is plain old data, all zeroes a valid value.
        let mut stx: libc::statx = unsafe { std::mem::zeroed() };
        // SAFETY: a NUL-terminated literal and a live, writable statx.
        let done = unsafe {
            libc::statx(
                libc::AT_FDCWD,
                c"/".as_ptr(),
                libc::AT_STATX_DONT_SYNC,
                libc::STATX_MNT_ID,
                &mut stx,
            )
        } == 0;
        done && stx.stx_mask & libc::STATX_MNT_ID != 0
    })
}

/// At most this many links a call of [`mount_ids_within`] (its answer is
/// written from one stack buffer).
pub const MAX_MOUNT_IDS: usize = 4096;

/// The grandchild's work for [`mount_ids_within`]: four bytes per link,
/// the mount id (0: none), written to `out`. Async-signal-safe.
fn link_mount_ids(paths: &[std::ffi::CString], out: libc::c_int) {
    let mut ids = [0u8; MAX_MOUNT_IDS * 4];
    for (at, path) in paths.iter().enumerate().take(MAX_MOUNT_IDS) {
        // SAFETY: `statx` is plain old data, all zeroes a valid value.
        let mut stx: libc::statx = unsafe { std::mem::zeroed() };
        // SAFETY: `path` is NUL-terminated; `stx` is a live, writable statx.
        let found = unsafe {
            libc::statx(
                libc::AT_FDCWD,
                path.as_ptr(),
                libc::AT_STATX_DONT_SYNC,
                libc::STATX_MNT_ID,
                &mut stx,
            )
        } == 0;
        if found && stx.stx_mask & libc::STATX_MNT_ID != 0 {
            let id = stx.stx_mnt_id as u32;
            ids[at * 4..at * 4 + 4].copy_from_slice(&id.to_ne_bytes());
        }
    }
    let count = paths.len().min(MAX_MOUNT_IDS) * 4;
    // SAFETY: `ids` holds `count` initialised bytes.
    unsafe { libc::write(out, ids.as_ptr().cast(), count) };
}

/// `paths` as the C strings a forked helper passes to the kernel, made
/// before the fork (the helper may not allocate); `None` when one holds a
/// NUL byte.
fn c_strings<'p>(paths: impl Iterator<Item = &'p Path>) -> Option<Vec<std::ffi::CString>> {
    use std::os::unix::ffi::OsStrExt;
    paths
        .map(|path| std::ffi::CString::new(path.as_os_str().as_bytes()).ok())
        .collect()
}

const KIND_MISSING: u8 = 0;
const KIND_REGULAR: u8 = 1;
const KIND_OTHER: u8 = 2;

/// One kind byte per path (symbolic links followed), looked up in a forked
/// grandchild (see [`answer_forked`]); `None` when no answer came within
/// `patience`.
fn kinds_within(paths: &[&Path], patience: std::time::Duration) -> Option<Vec<u8>> {
    let c_paths = c_strings(paths.iter().copied())?;
    if c_paths.len() > 4096 {
        return None;
    }
    // SAFETY: the grandchild calls only stat and write, on the CStrings
    // made before the fork and a stack buffer.
    let answer = unsafe { answer_forked(patience, |out| path_kinds(&c_paths, out)) };
    let bytes = answer?.ok()?;
    (bytes.len() == paths.len()).then_some(bytes)
}

/// The grandchild's work for [`kinds_within`]: one kind byte per path,
/// written to `out`. Async-signal-safe: stat and write, on a stack buffer.
fn path_kinds(paths: &[std::ffi::CString], out: libc::c_int) {
    let mut kinds = [KIND_MISSING; 4096];
    for (at, path) in paths.iter().enumerate().take(kinds.len()) {
        // SAFETY: `stat` is plain old data, all zeroes a valid value.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `path` is NUL-terminated; `st` is a live, writable stat.
        let found = unsafe { libc::stat(path.as_ptr(), &mut st) } == 0;
        kinds[at] = if !found {
            KIND_MISSING
        } else if st.st_mode & libc::S_IFMT == libc::S_IFREG {
            KIND_REGULAR
        } else {
            KIND_OTHER
        };
    }
    let count = paths.len().min(kinds.len());
    // SAFETY: `kinds` holds `count` initialised bytes.
    unsafe { libc::write(out, kinds.as_ptr().cast(), count) };
}

/// Runs `work` in a grandchild process — forked twice: the middle process
/// exits at once and is reaped here, the grandchild belongs to init — with
/// every fd closed but a pipe `work` writes its answer to, and reads that
/// answer: `None` when it did not come (the pipe closed) within
/// `patience`. limier never waits for the grandchild, so a call that
/// blocks in the kernel there cannot keep limier from exiting, and the
/// grandchild holds none of limier's fds (a caller reading limier's output
/// to its end does not wait for it).
///
/// # Safety
/// `work` runs in a forked child of a possibly multithreaded process: it
/// may call only async-signal-safe functions (no allocation, no lock), on
/// memory prepared before the call.
///
/// # References
/// fork(2), pipe2(2), poll(2), waitpid(2), close_range(2), _exit(2).
unsafe fn answer_forked(
    patience: std::time::Duration,
    work: impl FnOnce(libc::c_int),
) -> Option<std::io::Result<Vec<u8>>> {
    use std::io::{Error, ErrorKind};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let mut ends = [0; 2];
    // SAFETY: `ends` is a writable array of two c_ints, what pipe2 fills.
    if unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Some(Err(Error::last_os_error()));
    }
    // SAFETY: pipe2 succeeded: both are new fds nothing else owns.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    // SAFETY: after fork the child runs only fork, close_range/close,
    // `work` (async-signal-safe by the caller's contract) and _exit.
    let middle = unsafe { libc::fork() };
    if middle < 0 {
        return Some(Err(Error::last_os_error()));
    }
    if middle == 0 {
        // SAFETY: as above.
        unsafe {
            if libc::fork() == 0 {
                close_all_but(write_end.as_raw_fd());
                // Out of the caller's cwd: a grandchild stuck on a dead
                // mount must not itself be a user of the directory a sweep
                // then selects (it could never be killed).
                libc::chdir(c"/".as_ptr());
                work(write_end.as_raw_fd());
            }
            libc::_exit(0);
        }
    }
    drop(write_end);
    let mut status = 0;
    // SAFETY: `middle` is our child; `status` is a live c_int.
    while unsafe { libc::waitpid(middle, &mut status, 0) } < 0
        && Error::last_os_error().kind() == ErrorKind::Interrupted
    {}
    let deadline = std::time::Instant::now() + patience;
    let mut answer = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let mut poll = libc::pollfd {
            fd: read_end.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = left.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one live pollfd.
        match unsafe { libc::poll(&mut poll, 1, millis) } {
            0 => return None,
            n if n < 0 => {
                if Error::last_os_error().kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Some(Err(Error::last_os_error()));
            }
            _ => {}
        }
        let mut chunk = [0u8; 4096];
        // SAFETY: `chunk` is writable for its length.
        let read =
            unsafe { libc::read(read_end.as_raw_fd(), chunk.as_mut_ptr().cast(), chunk.len()) };
        match read {
            0 => return Some(Ok(answer)),
            n if n > 0 => answer.extend_from_slice(&chunk[..n as usize]),
            _ if Error::last_os_error().kind() == ErrorKind::Interrupted => {}
            _ => return Some(Err(Error::last_os_error())),
        }
    }
}

/// Closes every fd but `keep` (close_range where the kernel has it, 5.9+;
/// one close at a time below 4096 otherwise).
///
/// # Safety
/// Async-signal-safe; meant for a freshly forked child, where no other
/// code uses the fds it closes.
unsafe fn close_all_but(keep: libc::c_int) {
    // SAFETY: close_range(2) and close(2) take plain integers.
    unsafe {
        let below = keep == 0 || libc::syscall(libc::SYS_close_range, 0, keep - 1, 0) == 0;
        let above = libc::syscall(libc::SYS_close_range, keep + 1, libc::c_uint::MAX, 0) == 0;
        if !(below && above) {
            for fd in 0..4096 {
                if fd != keep {
                    libc::close(fd);
                }
            }
        }
    }
}

/// The grandchild's message: `b'P'` and the path, or `b'E'` and the errno
/// (i32, native order).
fn decode_answer(answer: &[u8]) -> std::io::Result<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    match answer.split_first() {
        Some((b'P', path)) if !path.is_empty() => {
            Ok(PathBuf::from(std::ffi::OsStr::from_bytes(path)))
        }
        Some((b'E', errno)) if errno.len() == 4 => {
            Err(std::io::Error::from_raw_os_error(i32::from_ne_bytes([
                errno[0], errno[1], errno[2], errno[3],
            ])))
        }
        _ => Err(std::io::Error::other(
            "the resolving process ended without an answer",
        )),
    }
}

/// The grandchild's work: opens `path` (`O_PATH | O_DIRECTORY`), reads its
/// name back from `/proc/self/fd/N`, writes the answer to `out`.
///
/// # Safety
/// Called only in a freshly forked child of a possibly multithreaded
/// process, with `path` a NUL-terminated string alive in it: only
/// async-signal-safe functions are called, on stack memory.
unsafe fn resolve_in_grandchild(path: *const libc::c_char, out: libc::c_int) {
    let mut message = [0u8; 1 + 4096];
    let length;
    // SAFETY: `path` is NUL-terminated (the caller's contract).
    let fd = unsafe { libc::open(path, libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        length = error_message(&mut message);
    } else {
        // "/proc/self/fd/" and the fd's decimal digits, built on the stack.
        let mut link = [0u8; 32];
        let prefix = b"/proc/self/fd/";
        link[..prefix.len()].copy_from_slice(prefix);
        let mut digits = [0u8; 10];
        let (mut value, mut count) = (fd as u32, 0);
        loop {
            digits[count] = b'0' + (value % 10) as u8;
            count += 1;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        for at in 0..count {
            link[prefix.len() + at] = digits[count - 1 - at];
        }
        // SAFETY: `link` is NUL-terminated (zeroed past the digits);
        // `message[1..]` is writable for 4096 bytes.
        let read = unsafe {
            libc::readlink(
                link.as_ptr().cast(),
                message[1..].as_mut_ptr().cast(),
                message.len() - 1,
            )
        };
        if read < 0 || read as usize >= message.len() - 1 {
            length = error_message(&mut message);
        } else {
            message[0] = b'P';
            length = 1 + read as usize;
        }
    }
    // SAFETY: `message` holds `length` initialised bytes.
    unsafe { libc::write(out, message.as_ptr().cast(), length) };
}

/// Writes `b'E'` and the current errno into `message`; returns its length.
fn error_message(message: &mut [u8; 1 + 4096]) -> usize {
    let errno = std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO);
    message[0] = b'E';
    message[1..5].copy_from_slice(&errno.to_ne_bytes());
    5
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
        assert_eq!(
            regular_files_within(
                &[&dir.join("file"), &dir, &dir.join("missing"), &link],
                std::time::Duration::from_secs(5)
            ),
            Some(vec![true, false, false, false])
        );
        // The same answers from the forked resolver.
        let patience = std::time::Duration::from_secs(5);
        let within = |path: &Path| resolve_dir_within(path, patience).expect("an answer in time");
        assert_eq!(within(&link.join("sub/..")).unwrap(), canonical);
        assert_eq!(
            within(&dir.join("file")).unwrap_err().raw_os_error(),
            Some(rustix::io::Errno::NOTDIR.raw_os_error())
        );
        assert_eq!(
            within(&dir.join("missing")).unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
