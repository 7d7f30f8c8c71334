//! Reading one process through its `/proc/PID` directory fd.

use super::OsBackend;
use crate::error::PlatformError;
use crate::parse::{
    parse_cmdline, parse_environ, parse_fd_link, parse_maps, parse_stat, strip_deleted, StatFields,
};
use crate::records::{EnvVar, FdRecord, LayerReader, MappedFile, ProcessId, ProcessRecord};
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// An open `/proc/PID` directory: one process incarnation.
///
/// Once the process exits, reads through this fd fail with ESRCH even if the
/// pid is reused, which is what ties a record's fields together.
#[derive(Debug)]
pub struct ProcessDir {
    pid: ProcessId,
    path: PathBuf,
    dir: OwnedFd,
    boot: OsBackend,
}

/// The inode number in a namespace link's text (`mnt:[4026531841]`).
///
/// # References
/// namespaces(7) ("The /proc/pid/ns/ directory").
pub(super) fn parse_namespace_link(text: &[u8]) -> Option<u64> {
    let inside = text.split(|&b| b == b'[').nth(1)?.strip_suffix(b"]")?;
    std::str::from_utf8(inside).ok()?.parse().ok()
}

/// How a read loop knows it has read the whole file.
#[derive(Clone, Copy)]
enum FileEnd {
    /// A read returned nothing (any file).
    EmptyRead,
    /// A read returned less than it was given room for (a file the kernel
    /// renders whole on the first read).
    ShortRead,
}

impl ProcessDir {
    /// # References
    /// proc(5), openat(2).
    pub(super) fn open(backend: &OsBackend, pid: ProcessId) -> Result<Self, PlatformError> {
        let path = backend.proc_root.join(pid.0.to_string());
        let dir = rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|err| PlatformError::from_io(Some(pid), path.clone(), err.into()))?;
        Ok(ProcessDir {
            pid,
            path,
            dir,
            boot: backend.clone(),
        })
    }

    /// The pid this directory belongs to.
    pub fn pid(&self) -> ProcessId {
        self.pid
    }

    fn error(&self, name: &str, err: std::io::Error) -> PlatformError {
        PlatformError::from_io(Some(self.pid), self.path.join(name), err)
    }

    /// Reads a whole file below the process directory.
    ///
    /// A plain read loop: no fstat/lseek size probing, which on /proc only
    /// costs syscalls (proc files report size 0).
    ///
    /// # References
    /// openat(2), read(2).
    fn read_file(&self, name: &str) -> Result<Vec<u8>, PlatformError> {
        self.read_until(name, 1024, FileEnd::EmptyRead)
    }

    /// [`read_file`](Self::read_file) for a file the kernel renders in one
    /// go: a short first read is the whole file.
    ///
    /// # References
    /// proc(5); the kernel's `single_open` seq_file.
    fn read_file_at_once(&self, name: &str) -> Result<Vec<u8>, PlatformError> {
        self.read_until(name, 2048, FileEnd::ShortRead)
    }

    /// Reads `name` into a buffer of `capacity` bytes (grown as needed)
    /// until `end` says the file is over.
    fn read_until(
        &self,
        name: &str,
        capacity: usize,
        end: FileEnd,
    ) -> Result<Vec<u8>, PlatformError> {
        let fd = rustix::fs::openat(
            &self.dir,
            name,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|err| self.error(name, err.into()))?;
        let mut bytes: Vec<u8> = Vec::with_capacity(capacity);
        loop {
            if bytes.capacity() - bytes.len() < 512 {
                bytes.reserve(bytes.capacity().max(512));
            }
            let room = bytes.capacity() - bytes.len();
            // rustix's spare-capacity buffer lengthens `bytes` by what
            // read(2) filled.
            match rustix::io::read(&fd, rustix::buffer::spare_capacity(&mut bytes)) {
                Ok(count) => {
                    let over = match end {
                        FileEnd::EmptyRead => count == 0,
                        FileEnd::ShortRead => count < room,
                    };
                    if over {
                        return Ok(bytes);
                    }
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(err) => return Err(self.error(name, err.into())),
            }
        }
    }

    /// Reads a symlink below the process directory; never follows it.
    ///
    /// # References
    /// readlinkat(2).
    pub(crate) fn read_link(&self, name: &str) -> Result<Vec<u8>, PlatformError> {
        rustix::fs::readlinkat(&self.dir, name, Vec::new())
            .map(|target| target.into_bytes())
            .map_err(|err| self.error(name, err.into()))
    }

    /// Parsed `/proc/PID/stat`.
    ///
    /// One read: the kernel renders the whole file at once (`single_open`),
    /// so a read into a buffer it does not fill is the whole file and the
    /// read that would return 0 is skipped (one syscall a process, on every
    /// capture). A buffer it fills is read on to the end.
    pub fn stat(&self) -> Result<StatFields, PlatformError> {
        let text = self.read_file_at_once("stat")?;
        parse_stat(&text).map_err(|source| PlatformError::Parse {
            from: self.path.join("stat").into(),
            source,
        })
    }

    /// The cheap layer every snapshot reads: stat and owner. cmdline, exe,
    /// cwd and root are left empty until [`add_details`](Self::add_details).
    ///
    /// # References
    /// proc(5): `stat`; fstat(2) on the `/proc/PID` directory (its owner is
    /// the process's effective uid).
    pub fn basic(&self) -> Result<ProcessRecord, PlatformError> {
        let mut record = self.stat_record()?;
        let owner = rustix::fs::fstat(&self.dir)
            .map_err(|err| PlatformError::from_io(Some(self.pid), self.path.clone(), err.into()))?;
        record.uid = Some(owner.st_uid);
        Ok(record)
    }

    /// The record from stat alone, owner unread (`uid: None`): what a
    /// capture needs of every process when only a few are reported.
    ///
    /// # References
    /// proc(5): `stat`.
    pub fn stat_record(&self) -> Result<ProcessRecord, PlatformError> {
        let stat = self.stat()?;
        let started_at_ms = self.boot.start_to_epoch_ms(stat.start);
        Ok(stat.into_record(started_at_ms))
    }

    /// Reads the exe, cwd and root links into `record`: what directory
    /// questions match.
    ///
    /// A link refused with EACCES leaves its field empty and marks the record
    /// not inspectable; a link missing on a zombie leaves it empty.
    ///
    /// # References
    /// proc(5): `exe`, `cwd`, `root`; readlinkat(2).
    pub fn add_links(&self, record: &mut ProcessRecord) -> Result<(), PlatformError> {
        if record.kernel_thread {
            return Ok(());
        }
        let mut inspectable = true;
        let mut link = |name: &str| -> Result<Option<Vec<u8>>, PlatformError> {
            match self.read_link(name) {
                Ok(target) => Ok(Some(target)),
                Err(PlatformError::PermissionDenied { .. }) => {
                    inspectable = false;
                    Ok(None)
                }
                // Zombies and exiting processes have no links; the stat
                // proved the pid exists, a later re-read decides if it is gone.
                Err(PlatformError::Gone { .. }) => Ok(None),
                Err(other) => Err(other),
            }
        };
        let exe = link("exe")?;
        let cwd = link("cwd")?;
        let root = link("root")?;
        let namespace = link("ns/mnt")?;
        if let Some(bytes) = cwd {
            let (path, deleted) = strip_deleted(&bytes);
            record.cwd = Some(path_from(path));
            record.cwd_deleted = deleted;
        }
        if let Some(bytes) = exe {
            let (path, deleted) = strip_deleted(&bytes);
            record.exe = Some(path_from(path));
            record.exe_deleted = deleted;
        }
        record.root = root.map(|bytes| path_from(&bytes));
        record.mount_ns = namespace.as_deref().and_then(parse_namespace_link);
        record.inspectable = record.inspectable && inspectable;
        Ok(())
    }

    /// The inode of the process's mount namespace and whether its root
    /// directory reads `/` (is its namespace's root, or limier's).
    ///
    /// # References
    /// namespaces(7) `/proc/pid/ns/mnt`; proc(5) `/proc/pid/root`.
    pub fn namespace_and_root(&self) -> Result<(Option<u64>, bool), PlatformError> {
        let namespace = parse_namespace_link(&self.read_link("ns/mnt")?);
        let root = self.read_link("root")?;
        Ok((namespace, root == b"/"))
    }

    /// The id of the mount fd `fd`'s file is on, from its fdinfo (procfs
    /// only: the file's own file system is not asked).
    ///
    /// # References
    /// proc_pid_fdinfo(5) (`mnt_id`).
    pub fn fd_mount_id(&self, fd: u32) -> Result<u32, PlatformError> {
        let name = format!("fdinfo/{fd}");
        let text = self.read_file_at_once(&name)?;
        text.split(|&b| b == b'\n')
            .find_map(|line| line.strip_prefix(b"mnt_id:"))
            .and_then(|value| std::str::from_utf8(value).ok()?.trim().parse().ok())
            .ok_or_else(|| PlatformError::Parse {
                from: self.path.join(&name).into(),
                source: crate::parse::ParseError::new("fdinfo", "no mnt_id line"),
            })
    }

    /// Every mount in the process's mount namespace, mount points relative
    /// to its root directory.
    ///
    /// # References
    /// proc_pid_mountinfo(5).
    pub fn mounts(&self) -> Result<Vec<crate::parse::MountPoint>, PlatformError> {
        let bytes = self.read_file("mountinfo")?;
        crate::parse::parse_mount_points(&bytes).map_err(|source| PlatformError::Parse {
            from: self.path.join("mountinfo").into(),
            source,
        })
    }

    /// Reads the command line into `record` (refused: not inspectable; gone
    /// with a zombie: left empty).
    ///
    /// # References
    /// proc(5): `cmdline`.
    pub fn add_cmdline(&self, record: &mut ProcessRecord) -> Result<(), PlatformError> {
        if record.kernel_thread {
            return Ok(());
        }
        match self.read_file("cmdline") {
            Ok(bytes) => record.cmdline = parse_cmdline(&bytes),
            Err(PlatformError::PermissionDenied { .. }) => record.inspectable = false,
            Err(err) if err.is_gone() => {}
            Err(err) => return Err(err),
        }
        Ok(())
    }

    /// Every open fd and where it points, by readlink(2) alone.
    ///
    /// Never stat(2)s through the link: a target on a dead NFS or FUSE mount
    /// would block. An fd closed between listing and reading is skipped.
    ///
    /// # References
    /// proc(5) `/proc/pid/fd/`, readlinkat(2), getdents64(2).
    pub fn fds(&self) -> Result<Vec<FdRecord>, PlatformError> {
        let fd_dir = rustix::fs::openat(
            &self.dir,
            "fd",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|err| self.error("fd", err.into()))?;
        let mut dir = rustix::fs::Dir::new(fd_dir).map_err(|err| self.error("fd", err.into()))?;
        let mut fds = Vec::new();
        let mut buffer = Vec::with_capacity(256);
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|err| self.error("fd", err.into()))?;
            let name = entry.file_name();
            let Some(fd) = std::str::from_utf8(name.to_bytes())
                .ok()
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            let listing = dir.fd().map_err(|err| self.error("fd", err.into()))?;
            match rustix::fs::readlinkat(listing, name, std::mem::take(&mut buffer)) {
                Ok(target) => {
                    let mut bytes = target.into_bytes();
                    fds.push(FdRecord {
                        fd,
                        target: parse_fd_link(&bytes),
                        mount_id: None,
                    });
                    bytes.clear();
                    buffer = bytes;
                }
                Err(rustix::io::Errno::NOENT) => continue,
                Err(err) => return Err(self.error("fd", err.into())),
            }
        }
        Ok(fds)
    }

    /// Where fd `fd` points now (readlink alone); `None` when it is closed
    /// or cannot be read.
    ///
    /// # References
    /// proc(5) `/proc/pid/fd/`; readlinkat(2).
    pub fn fd_target(&self, fd: u32) -> Option<crate::FdTarget> {
        let bytes = self.read_link(&format!("fd/{fd}")).ok()?;
        Some(parse_fd_link(&bytes))
    }

    /// The distinct files mapped into the process: through the
    /// `PROCMAP_QUERY` ioctl where the kernel has it (6.11+), the maps text
    /// otherwise.
    ///
    /// # References
    /// proc(5) `/proc/pid/maps`; ioctl(2).
    pub fn maps(&self) -> Result<Vec<MappedFile>, PlatformError> {
        self.maps_read().map(|(files, _)| files)
    }

    /// [`maps`](Self::maps), with the reader that served.
    ///
    /// # References
    /// proc(5) `/proc/pid/maps`; ioctl(2).
    pub fn maps_read(&self) -> Result<(Vec<MappedFile>, LayerReader), PlatformError> {
        let maps = rustix::fs::openat(
            &self.dir,
            "maps",
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|err| self.error("maps", err.into()))?;
        match super::procmap_query::mapped_files(&maps) {
            Ok(Some(files)) => return Ok((files, LayerReader::ProcmapQuery)),
            Ok(None) => {}
            Err(err) => return Err(self.error("maps", err)),
        }
        Ok((self.maps_text()?, LayerReader::MapsText))
    }

    /// The path of the file the mapping at `start`-`end` maps, as the
    /// kernel's `d_path` renders it (what `/proc/PID/maps` shows, nothing
    /// escaped, " (deleted)" appended for an unlinked file). Needs
    /// CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN; nothing is looked up in the
    /// mapped file's file system.
    ///
    /// # References
    /// proc(5) `/proc/pid/map_files/`; readlinkat(2).
    pub fn map_file_link(&self, start: u64, end: u64) -> Result<Vec<u8>, PlatformError> {
        let name = format!("map_files/{start:x}-{end:x}");
        rustix::fs::readlinkat(&self.dir, name.as_str(), Vec::new())
            .map(|link| link.into_bytes())
            .map_err(|err| self.error(&name, err.into()))
    }

    /// The distinct files mapped into the process, from the maps text.
    ///
    /// # References
    /// proc(5) `/proc/pid/maps`.
    pub fn maps_text(&self) -> Result<Vec<MappedFile>, PlatformError> {
        let text = self.read_file("maps")?;
        parse_maps(&text).map_err(|source| PlatformError::Parse {
            from: self.path.join("maps").into(),
            source,
        })
    }

    /// The signal masks of `status`.
    ///
    /// # References
    /// proc(5) `/proc/pid/status`.
    pub fn signal_masks(&self) -> Result<crate::parse::SignalMasks, PlatformError> {
        let text = self.read_file_at_once("status")?;
        crate::parse::parse_status_signals(&text).map_err(|source| PlatformError::Parse {
            from: self.path.join("status").into(),
            source,
        })
    }

    /// The process's environment as it was at exec (later `setenv` is not visible).
    ///
    /// # References
    /// proc(5) `/proc/pid/environ`.
    pub fn environ(&self) -> Result<Vec<EnvVar>, PlatformError> {
        Ok(parse_environ(&self.read_file("environ")?))
    }

    /// The kernel function the process sleeps in (its wait channel), or
    /// `None` when it is running or the kernel hides the symbol ("0").
    ///
    /// # References
    /// proc(5) `/proc/pid/wchan`.
    pub fn wait_channel(&self) -> Result<Option<String>, PlatformError> {
        Ok(crate::parse::parse_wchan(&self.read_file("wchan")?))
    }
}

fn path_from(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}
