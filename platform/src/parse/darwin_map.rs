//! From libproc's structs to limier's records, as pure functions.
//!
//! The macOS backend copies the few fields limier reads out of libproc's
//! structs (`proc_bsdinfo`, `in_sockinfo`, a fd's `proc_fdtype`) into the
//! plain values below and calls these functions, so the mapping — states,
//! start times, names, socket addresses, fd kinds — is compiled and tested
//! on every OS, with values built by hand.
//!
//! # References
//! xnu `bsd/sys/proc_info.h` (`proc_bsdinfo`, `in_sockinfo`, `PROX_FDTYPE_*`,
//! `SIDL`..`SZOMB`).

use super::darwin::{addr_from_insi, port_from_insi};
use super::StatFields;
use crate::records::{
    ByteString, FdTarget, Port, ProcessId, ProcessRecord, ProcessState, Protocol, SocketInode,
    SocketRecord, SocketState, StartTime,
};

/// The fields of `proc_bsdinfo` limier reads, copied out of libproc's struct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BsdInfo {
    /// `pbi_pid`.
    pub pid: u32,
    /// `pbi_name` up to its NUL (the long name; may be empty).
    pub name: Vec<u8>,
    /// `pbi_comm` up to its NUL (the name truncated to 16 bytes).
    pub comm: Vec<u8>,
    /// `pbi_status`: 1 `SIDL`, 2 `SRUN`, 3 `SSLEEP`, 4 `SSTOP`, 5 `SZOMB`.
    pub status: u32,
    /// `pbi_ppid`.
    pub ppid: u32,
    /// `pbi_pgid`.
    pub pgid: u32,
    /// `e_tdev`: the controlling terminal's device, `NODEV` (`u32::MAX`)
    /// for none.
    pub tdev: u32,
    /// `pbi_uid`.
    pub uid: u32,
    /// `pbi_start_tvsec`.
    pub start_sec: u64,
    /// `pbi_start_tvusec`.
    pub start_usec: u64,
}

/// The start time of a macOS process: microseconds since the epoch.
pub fn start_from_bsdinfo(info: &BsdInfo) -> StartTime {
    StartTime(
        info.start_sec
            .saturating_mul(1_000_000)
            .saturating_add(info.start_usec),
    )
}

/// The stat fields of a process from its BSD info and its session id
/// (`getsid(2)`: `proc_bsdinfo` has none). The long name is preferred to the
/// truncated one.
pub fn stat_from_bsdinfo(info: &BsdInfo, sid: u32) -> StatFields {
    let comm = if info.name.is_empty() {
        info.comm.clone()
    } else {
        info.name.clone()
    };
    StatFields {
        pid: ProcessId(info.pid),
        comm: ByteString(comm),
        state: match info.status {
            1 | 2 => ProcessState::Running,
            3 => ProcessState::Sleeping,
            4 => ProcessState::Stopped,
            5 => ProcessState::Zombie,
            _ => ProcessState::Other,
        },
        ppid: ProcessId(info.ppid),
        pgid: ProcessId(info.pgid),
        sid: ProcessId(sid),
        tty: Some(info.tdev).filter(|&tdev| tdev != u32::MAX),
        flags: 0,
        threads: 0,
        start: start_from_bsdinfo(info),
    }
}

/// The process-table record of a process from its BSD info: owner included,
/// start time in epoch milliseconds, and only `kernel_task` (pid 0) a kernel
/// thread (macOS has no kthreadd: pid 2 is an ordinary process there).
pub fn record_from_bsdinfo(info: &BsdInfo, sid: u32) -> ProcessRecord {
    let stat = stat_from_bsdinfo(info, sid);
    let started_at_ms = stat.start.0 / 1000;
    let mut record = stat.into_record(started_at_ms);
    record.uid = Some(info.uid);
    record.kernel_thread = info.pid == 0;
    record
}

/// The fields of `in_sockinfo` limier reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InSockInfo {
    /// `insi_vflag`: 1 IPv4, 2 IPv6.
    pub vflag: u8,
    /// `insi_laddr`, 16 bytes in network order (IPv4 in the last four).
    pub local: [u8; 16],
    /// `insi_faddr`, likewise.
    pub remote: [u8; 16],
    /// `insi_lport`, network order in the low 16 bits.
    pub local_port: i32,
    /// `insi_fport`, likewise (0: not connected).
    pub remote_port: i32,
}

/// A UDP socket is connected when it has a peer port.
pub fn udp_state(inet: &InSockInfo) -> SocketState {
    if port_from_insi(inet.remote_port) != 0 {
        SocketState::Connected
    } else {
        SocketState::Bound
    }
}

/// The socket record of an inet socket: `so` (`soi_so`, the kernel's socket
/// address) stands for the inode, `uid` is `soi_stat.vst_uid`.
pub fn socket_from_insockinfo(
    protocol: Protocol,
    inet: &InSockInfo,
    state: SocketState,
    so: u64,
    uid: u32,
) -> SocketRecord {
    let remote_port = port_from_insi(inet.remote_port);
    SocketRecord {
        protocol,
        local_addr: addr_from_insi(inet.vflag, inet.local),
        local_port: Port(port_from_insi(inet.local_port)),
        remote_addr: (remote_port != 0).then(|| addr_from_insi(inet.vflag, inet.remote)),
        remote_port: (remote_port != 0).then_some(Port(remote_port)),
        state,
        inode: SocketInode(so),
        uid,
    }
}

/// `PROX_FDTYPE_VNODE`: a file, whose path needs another call.
pub const FDTYPE_VNODE: u32 = 1;
/// `PROX_FDTYPE_SOCKET`: a socket, whose identity needs another call.
pub const FDTYPE_SOCKET: u32 = 2;

/// What a fd of type `fdtype` points to, for the types that need no further
/// call (`None` for vnodes and sockets, which do).
pub fn fd_target_of_type(fdtype: u32) -> Option<FdTarget> {
    let other = |name: &str| FdTarget::Other {
        link: ByteString::from(name),
    };
    Some(match fdtype {
        FDTYPE_VNODE | FDTYPE_SOCKET => return None,
        0 => other("atalk"),
        3 => other("pshm"),
        4 => other("psem"),
        5 => FdTarget::AnonInode {
            name: "kqueue".into(),
        },
        6 => FdTarget::Pipe { inode: 0 },
        7 => other("fsevents"),
        9 => other("netpolicy"),
        10 => other("channel"),
        11 => other("nexus"),
        n => other(&format!("fdtype {n}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn info() -> BsdInfo {
        BsdInfo {
            pid: 4242,
            name: b"Google Chrome Helper".to_vec(),
            comm: b"Google Chrome He".to_vec(),
            status: 3,
            ppid: 1,
            pgid: 4200,
            tdev: 0x1000003,
            uid: 501,
            start_sec: 1_764_633_600,
            start_usec: 250_000,
        }
    }

    #[test]
    fn bsdinfo_becomes_a_record() {
        let record = record_from_bsdinfo(&info(), 4100);
        assert_eq!(record.pid, ProcessId(4242));
        assert_eq!(record.ppid, ProcessId(1));
        assert_eq!(record.pgid, ProcessId(4200));
        assert_eq!(record.sid, ProcessId(4100));
        assert_eq!(record.tty, Some(0x1000003));
        let detached = BsdInfo {
            tdev: u32::MAX,
            ..info()
        };
        assert_eq!(record_from_bsdinfo(&detached, 4100).tty, None);
        assert_eq!(record.uid, Some(501));
        assert_eq!(record.state, ProcessState::Sleeping);
        assert_eq!(record.start, StartTime(1_764_633_600_250_000));
        assert_eq!(record.started_at_ms, 1_764_633_600_250);
        assert_eq!(record.comm.as_bytes(), b"Google Chrome Helper");
        assert!(!record.kernel_thread);
        assert!(record.inspectable);
    }

    #[test]
    fn names_states_and_kernel_task() {
        let short = BsdInfo {
            name: Vec::new(),
            ..info()
        };
        assert_eq!(
            stat_from_bsdinfo(&short, 1).comm.as_bytes(),
            b"Google Chrome He"
        );
        for (status, state) in [
            (1, ProcessState::Running),
            (2, ProcessState::Running),
            (3, ProcessState::Sleeping),
            (4, ProcessState::Stopped),
            (5, ProcessState::Zombie),
            (9, ProcessState::Other),
        ] {
            let info = BsdInfo { status, ..info() };
            assert_eq!(stat_from_bsdinfo(&info, 1).state, state, "status {status}");
        }
        // Linux's kthreadd rule (pid 2, ppid 2) must not leak in.
        let two = BsdInfo {
            pid: 2,
            ppid: 1,
            ..info()
        };
        assert!(!record_from_bsdinfo(&two, 2).kernel_thread);
        let child_of_two = BsdInfo { ppid: 2, ..info() };
        assert!(!record_from_bsdinfo(&child_of_two, 2).kernel_thread);
        let kernel = BsdInfo {
            pid: 0,
            ppid: 0,
            ..info()
        };
        assert!(record_from_bsdinfo(&kernel, 0).kernel_thread);
        // A start time at the edge of u64 saturates instead of wrapping.
        let far = BsdInfo {
            start_sec: u64::MAX,
            ..info()
        };
        assert_eq!(start_from_bsdinfo(&far), StartTime(u64::MAX));
    }

    #[test]
    fn inet_sockets_become_records() {
        let mut local = [0u8; 16];
        local[12..].copy_from_slice(&[127, 0, 0, 1]);
        let listener = InSockInfo {
            vflag: 1,
            local,
            remote: [0; 16],
            local_port: i32::from(3000u16.to_be()),
            remote_port: 0,
        };
        let record =
            socket_from_insockinfo(Protocol::Tcp, &listener, SocketState::Listen, 0xfeed, 501);
        assert_eq!(record.local_addr, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(record.local_port, Port(3000));
        assert_eq!(record.remote_addr, None);
        assert_eq!(record.remote_port, None);
        assert_eq!(record.inode, SocketInode(0xfeed));
        assert_eq!(record.uid, 501);
        assert_eq!(udp_state(&listener), SocketState::Bound);

        let mut six = [0u8; 16];
        six[15] = 1;
        let connected = InSockInfo {
            vflag: 2,
            local: six,
            remote: six,
            local_port: i32::from(5353u16.to_be()),
            remote_port: i32::from(53u16.to_be()),
        };
        let record = socket_from_insockinfo(Protocol::Udp, &connected, udp_state(&connected), 7, 0);
        assert_eq!(record.local_addr, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(record.remote_addr, Some("::1".parse::<IpAddr>().unwrap()));
        assert_eq!(record.remote_port, Some(Port(53)));
        assert_eq!(record.state, SocketState::Connected);
    }

    #[test]
    fn fd_types_that_need_no_further_call() {
        assert_eq!(fd_target_of_type(FDTYPE_VNODE), None);
        assert_eq!(fd_target_of_type(FDTYPE_SOCKET), None);
        assert_eq!(fd_target_of_type(6), Some(FdTarget::Pipe { inode: 0 }));
        assert_eq!(
            fd_target_of_type(5),
            Some(FdTarget::AnonInode {
                name: "kqueue".into()
            })
        );
        assert_eq!(
            fd_target_of_type(3),
            Some(FdTarget::Other {
                link: ByteString::from("pshm")
            })
        );
        assert_eq!(
            fd_target_of_type(99),
            Some(FdTarget::Other {
                link: ByteString::from("fdtype 99")
            })
        );
    }
}
