//! What limier's iterator programs need to know of the running kernel —
//! member offsets and the iterators' attach ids — read from its BTF once
//! per process, and kept for the boot in a root-only cache file.
//!
//! Every offset the programs use comes from here; none is compiled in.

use crate::error::PlatformError;
use crate::parse::parse_btf;
use std::io;

pub(super) const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";
const FILE_ITERATOR: &str = "bpf_iter_task_file";
const VMA_ITERATOR: &str = "bpf_iter_task_vma";
const TASK_ITERATOR: &str = "bpf_iter_task";

/// Offsets of the kernel structure members the fd, mapping and roots
/// programs read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offsets {
    pub task_pid: i16,
    pub task_tgid: i16,
    pub task_start_boottime: i16,
    pub file_path: i32,
    pub file_inode: i16,
    pub inode_mode: i16,
    pub meta_seq: i16,
    /// `bpf_iter_meta.session_id`.
    pub meta_session: i16,
    /// `vm_area_struct.vm_file`.
    pub vma_file: i16,
    /// `file.f_mode`.
    pub file_mode: i16,
    /// `inode.i_ino`.
    pub inode_ino: i16,
    /// `file.f_path.mnt` and `file.f_path.dentry`, from the file's start.
    pub file_path_mnt: i16,
    pub file_path_dentry: i16,
    /// `dentry.d_parent`.
    pub dentry_parent: i16,
    /// `dentry.d_hash.pprev`: null once the dentry is unhashed (its file
    /// deleted).
    pub dentry_hash_pprev: i16,
    /// `vm_area_struct.vm_start` and `vm_end`.
    pub vma_start: i16,
    pub vma_end: i16,
}

/// Offsets the program needs to tell, in the kernel, whether a file lies
/// below a directory reached through a mount below it (see [`MapRoots`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BelowOffsets {
    /// `mount.mnt` (the `vfsmount` inside a `struct mount`), `mount.mnt_id`.
    pub mount_mnt: i32,
    pub mount_id: i32,
}

/// Offsets of the kernel structure members the process-table program
/// reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskOffsets {
    pub task_pid: i16,
    pub task_tgid: i16,
    pub task_real_parent: i16,
    pub task_signal: i16,
    pub task_start_boottime: i16,
    pub task_flags: i16,
    pub task_state: i16,
    pub task_exit_state: i16,
    pub task_comm: i16,
    /// `signal_struct.pids[PIDTYPE_PGID]` and `[PIDTYPE_SID]` (the
    /// enumerators read from the BTF too).
    pub signal_pgid_pid: i16,
    pub signal_sid_pid: i16,
    pub signal_nr_threads: i16,
    pub signal_tty: i16,
    /// `pid.numbers[0].nr`: the id in the initial pid namespace.
    pub pid_first_nr: i16,
    pub tty_driver: i16,
    pub tty_index: i16,
    pub driver_major: i16,
    pub driver_minor_start: i16,
    /// `bpf_iter_meta.seq`.
    pub meta_seq: i16,
}

/// The kernel's BTF: mapped where the kernel allows it (6.16 and later),
/// read otherwise.
///
/// # References
/// mmap(2); Linux `Documentation/bpf/btf.rst`.
fn vmlinux_btf() -> Result<BtfBytes, PlatformError> {
    let io_error = |err: io::Error| PlatformError::from_io(None, VMLINUX_BTF.into(), err);
    let file = std::fs::File::open(VMLINUX_BTF).map_err(io_error)?;
    let size = file.metadata().map_err(io_error)?.len() as usize;
    if size > 0 {
        // SAFETY: a fresh private read-only mapping of a file we hold open;
        // no Rust reference to it exists until mmap returns, and it is
        // unmapped only in BtfBytes::drop, after the last borrow.
        let mapped = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                size,
                rustix::mm::ProtFlags::READ,
                rustix::mm::MapFlags::PRIVATE,
                &file,
                0,
            )
        };
        if let Ok(address) = mapped {
            return Ok(BtfBytes::Mapped { address, size });
        }
    }
    let mut bytes = Vec::with_capacity(size);
    std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(io_error)?;
    Ok(BtfBytes::Read(bytes))
}

/// The BTF blob, mapped or read.
enum BtfBytes {
    Mapped {
        address: *mut std::ffi::c_void,
        size: usize,
    },
    Read(Vec<u8>),
}

impl BtfBytes {
    fn bytes(&self) -> &[u8] {
        match self {
            // SAFETY: the mapping is `size` readable bytes, alive until drop,
            // and never written (PROT_READ, MAP_PRIVATE).
            BtfBytes::Mapped { address, size } => unsafe {
                std::slice::from_raw_parts(*address as *const u8, *size)
            },
            BtfBytes::Read(bytes) => bytes,
        }
    }
}

impl Drop for BtfBytes {
    fn drop(&mut self) {
        if let BtfBytes::Mapped { address, size } = *self {
            // SAFETY: the mapping made in vmlinux_btf, unmapped once; every
            // slice of it was borrowed from `self` and has ended.
            let _ = unsafe { rustix::mm::munmap(address, size) };
        }
    }
}

/// What the programs need to know of the running kernel: member offsets
/// and the iterators' attach ids (`None` for a kernel without `task_vma`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KernelLayout {
    pub(super) offsets: Offsets,
    /// What the mapping program needs to report only the files below some
    /// directories (`None`: it reports every file).
    pub(super) below: Option<BelowOffsets>,
    pub(super) file_iterator: u32,
    pub(super) vma_iterator: Option<u32>,
    /// The `task` iterator's attach id.
    pub(super) task_iterator: Option<u32>,
    /// The process-table program's offsets (`None`: a member it reads is
    /// missing from the BTF).
    pub(super) tasks: Option<TaskOffsets>,
}

/// The kernel's layout, read from its BTF once per process (it changes
/// only with the kernel): a program that captures many times — a library
/// user calling `limier::listeners` in a loop — walks the 150,000 types
/// once.
///
/// The programs of one capture load on several threads at once: the first
/// reads the BTF while the others wait for it (a lock, not a race in which
/// each walks the types).
///
/// Walking the types costs 1–2 ms, a tenth of a port question; as root the
/// layout is also kept in `/run/limier/kernel-layout` for the rest of the
/// boot (see
/// [`LayoutCache`]).
pub(super) fn kernel_layout() -> Result<KernelLayout, PlatformError> {
    static FOUND: std::sync::Mutex<Option<KernelLayout>> = std::sync::Mutex::new(None);
    let mut found = FOUND
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(layout) = *found {
        return Ok(layout);
    }
    let cache = LayoutCache::for_this_boot();
    let layout = match cache.as_ref().and_then(LayoutCache::read) {
        Some(layout) => layout,
        None => {
            let layout = read_kernel_layout()?;
            if let Some(cache) = &cache {
                cache.write(&layout);
            }
            layout
        }
    };
    *found = Some(layout);
    Ok(layout)
}

/// Where root keeps the layout: `/run` is a tmpfs emptied at every boot.
const CACHE_DIR: &str = "/run/limier";
const CACHE_NAME: &str = "kernel-layout";
/// A cache file is a few hundred bytes; anything longer is not one.
const CACHE_MAX: usize = 16 * 1024;

/// The layout cache of this boot, for root only.
///
/// The file is keyed by the boot id, the kernel release and the BTF's
/// size, so a kernel that changes (which takes a boot) is read afresh. It
/// is trusted only as a root-owned regular file, in a root-owned directory,
/// that no one else may write: offsets read from a file another user
/// planted could make the programs read the wrong members, and so name the
/// wrong parent of a process. Anything else — another owner, a link, a
/// key that differs, a name missing — and the BTF is read as without it.
pub(super) struct LayoutCache {
    key: String,
    /// [`CACHE_DIR`], but in tests.
    dir: std::path::PathBuf,
}

impl LayoutCache {
    /// The cache for this boot, when limier runs as root and the boot id,
    /// release and BTF can be read.
    ///
    /// # References
    /// proc(5) `/proc/sys/kernel/random/boot_id`; uname(2).
    fn for_this_boot() -> Option<LayoutCache> {
        if !rustix::process::geteuid().is_root() {
            return None;
        }
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let btf_size = std::fs::metadata(VMLINUX_BTF).ok()?.len();
        Some(LayoutCache {
            dir: CACHE_DIR.into(),
            // The format's version (raised when a name's meaning changes)
            // and a digest of every name it holds (a build that adds or
            // renames one reads the BTF afresh).
            key: format!(
                "limier kernel layout 2 {:016x}\nboot {}\nrelease {}\nbtf_size {btf_size}\n",
                names_digest(),
                boot.trim(),
                crate::os_release()
            ),
        })
    }

    /// The cached layout, when the file is root's alone and its key is
    /// this boot's.
    ///
    /// # References
    /// openat(2) (`O_NOFOLLOW`, `O_DIRECTORY`); fstat(2).
    fn read(&self) -> Option<KernelLayout> {
        use rustix::fs::{Mode, OFlags};
        let dir = rustix::fs::open(
            &self.dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let file = rustix::fs::openat(
            &dir,
            CACHE_NAME,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let root_only = |fd: &rustix::fd::OwnedFd, kind: rustix::fs::FileType| {
            rustix::fs::fstat(fd).is_ok_and(|stat| {
                stat.st_uid == 0
                    && stat.st_mode & 0o022 == 0
                    && rustix::fs::FileType::from_raw_mode(stat.st_mode) == kind
            })
        };
        if !root_only(&dir, rustix::fs::FileType::Directory)
            || !root_only(&file, rustix::fs::FileType::RegularFile)
        {
            return None;
        }
        let mut text = Vec::with_capacity(1024);
        std::io::Read::read_to_end(
            &mut std::io::Read::take(std::fs::File::from(file), CACHE_MAX as u64 + 1),
            &mut text,
        )
        .ok()?;
        if text.len() > CACHE_MAX {
            return None;
        }
        let text = std::str::from_utf8(&text).ok()?;
        KernelLayout::from_text(text.strip_prefix(self.key.as_str())?)
    }

    /// Writes `layout` for the rest of the boot: a new file made root's
    /// alone, renamed into place. Best effort: a read-only or missing
    /// `/run` only means the BTF is read each time.
    ///
    /// # References
    /// mkdir(2); openat(2) (`O_EXCL`); renameat(2).
    fn write(&self, layout: &KernelLayout) {
        use rustix::fs::{Mode, OFlags};
        let _ = rustix::fs::mkdir(&self.dir, Mode::from_raw_mode(0o700));
        let Ok(dir) = rustix::fs::open(
            &self.dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return;
        };
        let owned = rustix::fs::fstat(&dir).is_ok_and(|s| s.st_uid == 0 && s.st_mode & 0o022 == 0);
        if !owned {
            return;
        }
        let temporary = format!("{CACHE_NAME}.{}", std::process::id());
        let Ok(file) = rustix::fs::openat(
            &dir,
            temporary.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        ) else {
            return;
        };
        let text = format!("{}{}", self.key, layout.to_text());
        let written = std::io::Write::write_all(&mut std::fs::File::from(file), text.as_bytes());
        if written.is_err()
            || rustix::fs::renameat(&dir, temporary.as_str(), &dir, CACHE_NAME).is_err()
        {
            let _ = rustix::fs::unlinkat(&dir, temporary.as_str(), rustix::fs::AtFlags::empty());
        }
    }
}

/// FNV-1a over every cached member's name, in order.
fn names_digest() -> u64 {
    [Offsets::NAMES, BelowOffsets::NAMES, TaskOffsets::NAMES]
        .iter()
        .flat_map(|names| names.bytes().chain([b';']))
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// A struct of offsets written as `name value` lines, one a member, and
/// read back only whole: the struct literal in [`cached_fields!`] names
/// every member, so a member added to the struct and not to the list does
/// not compile.
trait CachedFields: Sized {
    /// The members' names, as listed.
    const NAMES: &'static str;
    fn write_to(&self, prefix: &str, out: &mut String);
    fn read_from(prefix: &str, values: &std::collections::HashMap<&str, i64>) -> Option<Self>;
}

macro_rules! cached_fields {
    ($type:ident { $($field:ident),* $(,)? }) => {
        impl CachedFields for $type {
            const NAMES: &'static str = stringify!($($field),*);
            fn write_to(&self, prefix: &str, out: &mut String) {
                $(out.push_str(&format!("{prefix}{} {}\n", stringify!($field), self.$field));)*
            }
            fn read_from(
                prefix: &str,
                values: &std::collections::HashMap<&str, i64>,
            ) -> Option<Self> {
                Some($type {
                    $($field: (*values.get(format!("{prefix}{}", stringify!($field)).as_str())?)
                        .try_into()
                        .ok()?,)*
                })
            }
        }
    };
}

cached_fields!(Offsets {
    task_pid,
    task_tgid,
    task_start_boottime,
    file_path,
    file_inode,
    inode_mode,
    meta_seq,
    meta_session,
    vma_file,
    file_mode,
    inode_ino,
    file_path_mnt,
    file_path_dentry,
    dentry_parent,
    dentry_hash_pprev,
    vma_start,
    vma_end,
});
cached_fields!(BelowOffsets {
    mount_mnt,
    mount_id
});
cached_fields!(TaskOffsets {
    task_pid,
    task_tgid,
    task_real_parent,
    task_signal,
    task_start_boottime,
    task_flags,
    task_state,
    task_exit_state,
    task_comm,
    signal_pgid_pid,
    signal_sid_pid,
    signal_nr_threads,
    signal_tty,
    pid_first_nr,
    tty_driver,
    tty_index,
    driver_major,
    driver_minor_start,
    meta_seq,
});

impl KernelLayout {
    /// The layout as `name value` lines (optional parts only when present).
    fn to_text(self) -> String {
        let mut out = String::new();
        self.offsets.write_to("", &mut out);
        if let Some(below) = &self.below {
            below.write_to("below.", &mut out);
        }
        out.push_str(&format!("file_iterator {}\n", self.file_iterator));
        if let Some(id) = self.vma_iterator {
            out.push_str(&format!("vma_iterator {id}\n"));
        }
        if let Some(id) = self.task_iterator {
            out.push_str(&format!("task_iterator {id}\n"));
        }
        if let Some(tasks) = &self.tasks {
            tasks.write_to("tasks.", &mut out);
        }
        out.push_str("end\n");
        out
    }

    /// The layout [`to_text`](Self::to_text) wrote; `None` for anything
    /// else (a line that is not `name number`, a name twice, a member
    /// missing).
    fn from_text(text: &str) -> Option<KernelLayout> {
        let mut values = std::collections::HashMap::new();
        // Whole or nothing: a file cut short lacks its last line.
        let framed = format!("\n{text}");
        for line in framed.strip_suffix("\nend\n")?.lines().skip(1) {
            let (name, value) = line.split_once(' ')?;
            if values.insert(name, value.parse::<i64>().ok()?).is_some() {
                return None;
            }
        }
        let id = |name: &str| values.get(name).and_then(|&v| u32::try_from(v).ok());
        let present = |prefix: &str| values.keys().any(|name| name.starts_with(prefix));
        let below = if present("below.") {
            Some(BelowOffsets::read_from("below.", &values)?)
        } else {
            None
        };
        let tasks = if present("tasks.") {
            Some(TaskOffsets::read_from("tasks.", &values)?)
        } else {
            None
        };
        Some(KernelLayout {
            offsets: Offsets::read_from("", &values)?,
            below,
            file_iterator: id("file_iterator")?,
            vma_iterator: id("vma_iterator"),
            task_iterator: id("task_iterator"),
            tasks,
        })
    }
}

/// Reads the member offsets the programs need from the kernel's BTF.
fn read_kernel_layout() -> Result<KernelLayout, PlatformError> {
    let blob = vmlinux_btf()?;
    let btf = parse_btf(blob.bytes()).map_err(|source| PlatformError::Parse {
        from: std::path::Path::new(VMLINUX_BTF).into(),
        source,
    })?;
    let missing = |what: &str| PlatformError::Parse {
        from: std::path::Path::new(VMLINUX_BTF).into(),
        source: crate::parse::ParseError::new("btf", format!("no {what}")),
    };
    const STRUCTS: [&str; 14] = [
        "task_struct",
        "file",
        "inode",
        "bpf_iter_meta",
        "vm_area_struct",
        "path",
        "dentry",
        "mount",
        "hlist_bl_node",
        "signal_struct",
        "pid",
        "upid",
        "tty_struct",
        "tty_driver",
    ];
    let [ids, functions, enums] = btf.type_ids(
        &STRUCTS,
        &[FILE_ITERATOR, VMA_ITERATOR, TASK_ITERATOR],
        &["pid_type"],
    );
    // `signal->pids[type]` for a pid type, the index checked against the
    // enum's PIDTYPE_MAX (the array's length).
    let pid_slot = |signal_pids: i16, name: &str| -> Option<i16> {
        let id = enums[0]?;
        let index = btf.enum_value(id, name)?;
        let length = btf.enum_value(id, "PIDTYPE_MAX")?;
        (0..length).contains(&index).then_some(())?;
        signal_pids.checked_add(i16::try_from(index).ok()?.checked_mul(8)?)
    };
    let offset = |index: usize, member: &str| -> Result<i16, PlatformError> {
        ids[index]
            .and_then(|id| btf.member_offset_in(id, member))
            .and_then(|offset| i16::try_from(offset).ok())
            .ok_or_else(|| missing(&format!("{}.{member}", STRUCTS[index])))
    };
    let member = |index: usize, member: &str| offset(index, member).map(i32::from);
    let file_path = member(1, "f_path")?;
    let within_file =
        |at: i32| i16::try_from(file_path + at).map_err(|_| missing("file.f_path within reach"));
    let offsets = Offsets {
        task_pid: offset(0, "pid")?,
        task_tgid: offset(0, "tgid")?,
        task_start_boottime: offset(0, "start_boottime")?,
        file_path,
        file_inode: offset(1, "f_inode")?,
        inode_mode: offset(2, "i_mode")?,
        meta_seq: offset(3, "seq")?,
        meta_session: offset(3, "session_id")?,
        vma_file: offset(4, "vm_file")?,
        file_mode: offset(1, "f_mode")?,
        inode_ino: offset(2, "i_ino")?,
        file_path_mnt: within_file(member(5, "mnt")?)?,
        file_path_dentry: within_file(member(5, "dentry")?)?,
        dentry_parent: offset(6, "d_parent")?,
        dentry_hash_pprev: offset(6, "d_hash")?
            .checked_add(offset(8, "pprev")?)
            .ok_or_else(|| missing("dentry.d_hash.pprev within reach"))?,
        vma_start: offset(4, "vm_start")?,
        vma_end: offset(4, "vm_end")?,
    };
    let below = (|| {
        Some(BelowOffsets {
            mount_mnt: i32::from(offset(7, "mnt").ok()?),
            mount_id: i32::from(offset(7, "mnt_id").ok()?),
        })
    })();
    let tasks = (|| {
        Some(TaskOffsets {
            task_pid: offsets.task_pid,
            task_tgid: offsets.task_tgid,
            task_real_parent: offset(0, "real_parent").ok()?,
            task_signal: offset(0, "signal").ok()?,
            task_start_boottime: offsets.task_start_boottime,
            task_flags: offset(0, "flags").ok()?,
            task_state: offset(0, "__state").ok()?,
            task_exit_state: offset(0, "exit_state").ok()?,
            // Read as two 8-byte words: the second must be in reach too.
            task_comm: offset(0, "comm")
                .ok()
                .filter(|comm| comm.checked_add(8).is_some())?,
            signal_pgid_pid: pid_slot(offset(9, "pids").ok()?, "PIDTYPE_PGID")?,
            signal_sid_pid: pid_slot(offset(9, "pids").ok()?, "PIDTYPE_SID")?,
            signal_nr_threads: offset(9, "nr_threads").ok()?,
            signal_tty: offset(9, "tty").ok()?,
            pid_first_nr: offset(10, "numbers")
                .ok()?
                .checked_add(offset(11, "nr").ok()?)?,
            tty_driver: offset(12, "driver").ok()?,
            tty_index: offset(12, "index").ok()?,
            driver_major: offset(13, "major").ok()?,
            driver_minor_start: offset(13, "minor_start").ok()?,
            meta_seq: offsets.meta_seq,
        })
    })();
    Ok(KernelLayout {
        offsets,
        below,
        file_iterator: functions[0].ok_or_else(|| missing(FILE_ITERATOR))?,
        vma_iterator: functions[1],
        task_iterator: functions[2],
        tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> KernelLayout {
        let task = TaskOffsets {
            task_pid: 1,
            task_tgid: 2,
            task_real_parent: 3,
            task_signal: 4,
            task_start_boottime: 5,
            task_flags: 6,
            task_state: 7,
            task_exit_state: 8,
            task_comm: 9,
            signal_pgid_pid: 10,
            signal_sid_pid: 19,
            signal_nr_threads: 11,
            signal_tty: 12,
            pid_first_nr: 13,
            tty_driver: 14,
            tty_index: 15,
            driver_major: 16,
            driver_minor_start: 17,
            meta_seq: 18,
        };
        KernelLayout {
            offsets: super::super::program::tests::OFFSETS,
            below: Some(BelowOffsets {
                mount_mnt: 32,
                mount_id: 284,
            }),
            file_iterator: 64101,
            vma_iterator: Some(64110),
            task_iterator: Some(64096),
            tasks: Some(task),
        }
    }

    #[test]
    fn a_layout_reads_back_as_written_and_only_whole() {
        let full = layout();
        assert_eq!(KernelLayout::from_text(&full.to_text()), Some(full));
        let bare = KernelLayout {
            below: None,
            vma_iterator: None,
            task_iterator: None,
            tasks: None,
            ..full
        };
        assert_eq!(KernelLayout::from_text(&bare.to_text()), Some(bare));
        let text = full.to_text();
        // A member missing, a member twice, a value out of range, junk.
        let without = text.replace("tasks.signal_tty 12\n", "");
        assert_eq!(KernelLayout::from_text(&without), None);
        let twice = text.replace("end\n", "task_pid 1\nend\n");
        assert_eq!(KernelLayout::from_text(&twice), None);
        // A file cut short, even at a line's end.
        let cut = &text[..text.len() - "end\n".len()];
        assert_eq!(KernelLayout::from_text(cut), None);
        let cut = &text[..text.rfind("tasks.meta_seq").unwrap()];
        assert_eq!(KernelLayout::from_text(&format!("{cut}end\n")), None);
        let wide = text.replace("task_pid 100\n", "task_pid 70000\n");
        assert_eq!(KernelLayout::from_text(&wide), None);
        assert_eq!(KernelLayout::from_text("not a layout"), None);
    }

    /// As root on a kernel with BTF: the cached layout is the one the BTF
    /// gives, and a file or directory someone else could have written, a
    /// link, or another boot's key is not read.
    #[test]
    fn the_cache_holds_this_kernel_s_layout_and_trusts_only_root_s_file() {
        use std::os::unix::fs::PermissionsExt;
        let (Some(this_boot), Ok(fresh)) = (LayoutCache::for_this_boot(), read_kernel_layout())
        else {
            eprintln!("not root, or no BTF: no cache here");
            return;
        };
        let scratch = tempfile::tempdir().unwrap();
        let cache = LayoutCache {
            dir: scratch.path().join("limier"),
            key: this_boot.key.clone(),
        };
        let file = cache.dir.join(CACHE_NAME);
        assert_eq!(cache.read(), None, "nothing written yet");
        cache.write(&fresh);
        let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(
            (mode(&cache.dir) & 0o777, mode(&file) & 0o777),
            (0o700, 0o600)
        );
        assert_eq!(cache.read(), Some(fresh));
        let other = LayoutCache {
            dir: cache.dir.clone(),
            key: cache.key.replace("boot ", "boot x"),
        };
        assert_eq!(other.read(), None, "another boot's key");
        let chmod = |path: &std::path::Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        chmod(&file, 0o620);
        assert_eq!(cache.read(), None, "a file others may write");
        chmod(&file, 0o600);
        chmod(&cache.dir, 0o777);
        assert_eq!(cache.read(), None, "a directory others may write");
        chmod(&cache.dir, 0o700);
        let elsewhere = scratch.path().join("elsewhere");
        std::fs::rename(&file, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
        assert_eq!(cache.read(), None, "a link");
        std::fs::remove_file(&file).unwrap();
        std::fs::rename(&elsewhere, &file).unwrap();
        assert_eq!(cache.read(), Some(fresh));
        rustix::fs::chown(&file, Some(rustix::process::Uid::from_raw(65534)), None).unwrap();
        assert_eq!(cache.read(), None, "another owner's file");
    }
}
