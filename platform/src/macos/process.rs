//! One process through libproc and sysctl.

use super::pid_error;
use crate::error::PlatformError;
use crate::parse::darwin::{
    parse_procargs2, region_from_buffer, vnode_path_at, CWD_PATH_OFFSET, FD_VNODE_PATH_OFFSET,
    REGION_WITH_PATH_SIZE, ROOT_PATH_OFFSET, VNODE_INFO_PATH_SIZE,
};
use crate::parse::darwin_map::{
    fd_target_of_type, record_from_bsdinfo, start_from_bsdinfo, stat_from_bsdinfo, BsdInfo,
    FDTYPE_SOCKET, FDTYPE_VNODE,
};
use crate::parse::StatFields;
use crate::records::{
    EnvVar, FdRecord, FdTarget, MappedFile, ProcessId, ProcessRecord, SocketInode,
};
use libproc::libproc::bsd_info::BSDInfo;
use libproc::libproc::file_info::{pidfdinfo, ListFDs, PIDFDInfo, PIDFDInfoFlavor};
use libproc::libproc::net_info::SocketFDInfo;
use libproc::libproc::proc_pid::{listpidinfo, pidinfo, pidpath, PIDInfo, PidInfoFlavor};
use std::collections::HashSet;

use std::path::PathBuf;

/// A process as of one `PROC_PIDTBSDINFO` read.
pub struct ProcessDir {
    pid: ProcessId,
    info: BSDInfo,
}

impl std::fmt::Debug for ProcessDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessDir")
            .field("pid", &self.pid)
            .field("start", &start_from_bsdinfo(&self.bsd_fields()))
            .finish()
    }
}

/// `struct proc_vnodepathinfo` as raw bytes (cwd and root).
#[repr(C, align(8))]
struct VnodePathInfo {
    bytes: [u8; 2 * VNODE_INFO_PATH_SIZE],
}

impl Default for VnodePathInfo {
    fn default() -> Self {
        VnodePathInfo {
            bytes: [0; 2 * VNODE_INFO_PATH_SIZE],
        }
    }
}

impl PIDInfo for VnodePathInfo {
    fn flavor() -> PidInfoFlavor {
        PidInfoFlavor::VNodePathInfo
    }
}

/// `struct vnode_fdinfowithpath` as raw bytes.
#[repr(C, align(8))]
struct VnodeFdInfoWithPath {
    bytes: [u8; FD_VNODE_PATH_OFFSET + 1024],
}

impl Default for VnodeFdInfoWithPath {
    fn default() -> Self {
        VnodeFdInfoWithPath {
            bytes: [0; FD_VNODE_PATH_OFFSET + 1024],
        }
    }
}

impl PIDFDInfo for VnodeFdInfoWithPath {
    fn flavor() -> PIDFDInfoFlavor {
        PIDFDInfoFlavor::VNodePathInfo
    }
}

fn c_bytes(chars: &[libc::c_char]) -> Vec<u8> {
    chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect()
}

impl ProcessDir {
    /// # References
    /// libproc.h `proc_pidinfo(PROC_PIDTBSDINFO)`.
    pub(super) fn open(pid: ProcessId) -> Result<Self, PlatformError> {
        let info =
            pidinfo::<BSDInfo>(pid.0 as i32, 0).map_err(|_| pid_error(pid, "proc_pidinfo"))?;
        Ok(ProcessDir { pid, info })
    }

    /// The pid this process's info belongs to.
    pub fn pid(&self) -> ProcessId {
        self.pid
    }

    /// The fields limier reads of this read's BSD info, copied out.
    fn bsd_fields(&self) -> BsdInfo {
        let info = &self.info;
        BsdInfo {
            pid: self.pid.0,
            name: c_bytes(&info.pbi_name),
            comm: c_bytes(&info.pbi_comm),
            status: info.pbi_status,
            ppid: info.pbi_ppid,
            pgid: info.pbi_pgid,
            tdev: info.e_tdev,
            uid: info.pbi_uid,
            start_sec: info.pbi_start_tvsec,
            start_usec: info.pbi_start_tvusec,
        }
    }

    /// The session id (`proc_bsdinfo` has none); 0 when it cannot be read.
    ///
    /// # References
    /// getsid(2).
    fn sid(&self) -> u32 {
        nix::unistd::getsid(Some(nix::unistd::Pid::from_raw(self.pid.0 as i32)))
            .map_or(0, |sid| sid.as_raw().max(0) as u32)
    }

    /// The stat-equivalent fields, re-read now (so a later call sees a reused pid).
    ///
    /// # References
    /// libproc.h `proc_pidinfo(PROC_PIDTBSDINFO)`, getsid(2).
    pub fn stat(&self) -> Result<StatFields, PlatformError> {
        let fresh = ProcessDir::open(self.pid)?;
        Ok(fresh.stat_of_this_read())
    }

    fn stat_of_this_read(&self) -> StatFields {
        stat_from_bsdinfo(&self.bsd_fields(), self.sid())
    }

    /// The cheap layer: BSD info and the session id.
    pub fn basic(&self) -> Result<ProcessRecord, PlatformError> {
        Ok(record_from_bsdinfo(&self.bsd_fields(), self.sid()))
    }

    /// The same as [`basic`](Self::basic): the owner comes with the BSD
    /// info here, at no extra cost.
    pub fn stat_record(&self) -> Result<ProcessRecord, PlatformError> {
        self.basic()
    }

    /// exe (`proc_pidpath`), cwd and root (`PROC_PIDVNODEPATHINFO`): what
    /// directory questions match.
    pub fn add_links(&self, record: &mut ProcessRecord) -> Result<(), PlatformError> {
        if record.kernel_thread {
            return Ok(());
        }
        let pid = self.pid.0 as i32;
        match pidpath(pid) {
            Ok(path) => record.exe = Some(PathBuf::from(path)),
            Err(_) => record.inspectable = false,
        }
        match pidinfo::<VnodePathInfo>(pid, 0) {
            Ok(paths) => {
                record.cwd = vnode_path_at(&paths.bytes, CWD_PATH_OFFSET);
                record.root = vnode_path_at(&paths.bytes, ROOT_PATH_OFFSET);
            }
            Err(_) => record.inspectable = false,
        }
        Ok(())
    }

    /// argv (`KERN_PROCARGS2`).
    pub fn add_cmdline(&self, record: &mut ProcessRecord) -> Result<(), PlatformError> {
        if record.kernel_thread {
            return Ok(());
        }
        match self.procargs() {
            Ok(args) => record.cmdline = args.argv,
            Err(err) if err.is_gone() => {}
            Err(_) => record.inspectable = false,
        }
        Ok(())
    }

    /// # References
    /// sysctl(3) `KERN_ARGMAX`, `KERN_PROCARGS2`.
    fn procargs(&self) -> Result<crate::parse::darwin::ProcArgs, PlatformError> {
        let mut argmax: libc::c_int = 0;
        let mut size = std::mem::size_of::<libc::c_int>();
        let mut mib = [libc::CTL_KERN, libc::KERN_ARGMAX];
        // SAFETY: mib has 2 entries; argmax and size are live locals of the sizes passed.
        let rc = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                2,
                (&mut argmax as *mut libc::c_int).cast(),
                &mut size,
                std::ptr::null_mut(),
                0,
            )
        };
        if rc != 0 || argmax <= 0 {
            return Err(pid_error(self.pid, "sysctl(KERN_ARGMAX)"));
        }
        let mut buffer = vec![0u8; argmax as usize];
        let mut size = buffer.len();
        let mut mib = [
            libc::CTL_KERN,
            libc::KERN_PROCARGS2,
            self.pid.0 as libc::c_int,
        ];
        // SAFETY: mib has 3 entries; buffer is writable for `size` bytes and
        // sysctl writes back how many it filled.
        let rc = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                3,
                buffer.as_mut_ptr().cast(),
                &mut size,
                std::ptr::null_mut(),
                0,
            )
        };
        if rc != 0 {
            return Err(pid_error(self.pid, "sysctl(KERN_PROCARGS2)"));
        }
        buffer.truncate(size);
        parse_procargs2(&buffer).map_err(|source| PlatformError::Parse {
            from: crate::error::ParseSource::Call(format!("KERN_PROCARGS2({})", self.pid)),
            source,
        })
    }

    /// Every open fd: vnode paths, socket identities (`soi_so`), pipes.
    /// The list buffer grows until it holds every fd.
    ///
    /// # References
    /// libproc.h `proc_pidinfo(PROC_PIDLISTFDS)`, `proc_pidfdinfo`.
    pub fn fds(&self) -> Result<Vec<FdRecord>, PlatformError> {
        let pid = self.pid.0 as i32;
        let mut capacity = self.info.pbi_nfiles as usize + 16;
        let list = loop {
            let list = listpidinfo::<ListFDs>(pid, capacity)
                .map_err(|_| pid_error(self.pid, "proc_pidinfo"))?;
            if list.len() < capacity || capacity > 1 << 20 {
                break list;
            }
            capacity *= 2;
        };
        let mut fds = Vec::with_capacity(list.len());
        for entry in list {
            let fd = entry.proc_fd as u32;
            let target = match entry.proc_fdtype {
                FDTYPE_VNODE => match pidfdinfo::<VnodeFdInfoWithPath>(pid, entry.proc_fd) {
                    Ok(info) => match vnode_path_at(&info.bytes, FD_VNODE_PATH_OFFSET) {
                        Some(path) => FdTarget::Path {
                            path,
                            deleted: false,
                        },
                        None => continue,
                    },
                    Err(_) => continue,
                },
                FDTYPE_SOCKET => match pidfdinfo::<SocketFDInfo>(pid, entry.proc_fd) {
                    Ok(info) => FdTarget::Socket {
                        inode: SocketInode(info.psi.soi_so),
                    },
                    Err(_) => continue,
                },
                other => match fd_target_of_type(other) {
                    Some(target) => target,
                    None => continue,
                },
            };
            fds.push(FdRecord {
                fd,
                target,
                mount_id: None,
            });
        }
        Ok(fds)
    }

    /// [`maps`](Self::maps), with the reader that served (libproc).
    pub fn maps_read(&self) -> Result<(Vec<MappedFile>, crate::LayerReader), PlatformError> {
        self.maps()
            .map(|files| (files, crate::LayerReader::Libproc))
    }

    /// Files mapped into the process, walking its regions.
    ///
    /// # References
    /// libproc.h `proc_pidinfo(PROC_PIDREGIONPATHINFO)`.
    pub fn maps(&self) -> Result<Vec<MappedFile>, PlatformError> {
        let mut files = Vec::new();
        let mut seen = HashSet::new();
        let mut address: u64 = 0;
        let mut buffer = vec![0u8; REGION_WITH_PATH_SIZE];
        for _ in 0..100_000 {
            // SAFETY: buffer is writable for its whole length, which is the
            // size passed; proc_pidinfo writes at most that many bytes.
            let written = unsafe {
                libproc_sys_pidinfo(
                    self.pid.0 as i32,
                    8,
                    address,
                    buffer.as_mut_ptr().cast(),
                    buffer.len() as i32,
                )
            };
            if written <= 0 {
                break;
            }
            let Some((start, size, path)) = region_from_buffer(&buffer) else {
                break;
            };
            if let Some(path) = path {
                if seen.insert(path.clone()) {
                    files.push(MappedFile {
                        path,
                        inode: 0,
                        deleted: false,
                        deleted_by_kernel: false,
                        device: None,
                    });
                }
            }
            if size == 0 {
                break;
            }
            address = start.saturating_add(size);
        }
        if files.is_empty() && address == 0 {
            return Err(pid_error(self.pid, "proc_pidinfo(PROC_PIDREGIONPATHINFO)"));
        }
        Ok(files)
    }

    /// The environment from `KERN_PROCARGS2`.
    pub fn environ(&self) -> Result<Vec<EnvVar>, PlatformError> {
        Ok(self.procargs()?.environ)
    }
}

extern "C" {
    #[link_name = "proc_pidinfo"]
    fn libproc_sys_pidinfo(
        pid: libc::c_int,
        flavor: libc::c_int,
        arg: u64,
        buffer: *mut libc::c_void,
        buffersize: libc::c_int,
    ) -> libc::c_int;
}
