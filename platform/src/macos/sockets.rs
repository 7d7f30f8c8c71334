//! The system's TCP and UDP sockets, from every process's socket fds.

use super::OsBackend;
use crate::error::PlatformError;
use crate::parse::darwin::tcp_state_from_tsi;
use crate::parse::darwin_map::{socket_from_insockinfo, udp_state, InSockInfo as InetFields};
use crate::records::{Protocol, SocketRecord};
use libproc::libproc::bsd_info::BSDInfo;
use libproc::libproc::file_info::{pidfdinfo, ListFDs, ProcFDType};
use libproc::libproc::net_info::{InSockInfo, SocketFDInfo, SocketInfoKind};
use libproc::libproc::proc_pid::{listpidinfo, pidinfo};
use std::collections::HashSet;

impl OsBackend {
    /// Every TCP and UDP socket (IPv4 and IPv6) some process holds, keyed by
    /// the kernel socket address `soi_so` (macOS sockets have no inode).
    /// Sockets of processes limier may not inspect are missing, as with lsof.
    ///
    /// # References
    /// libproc.h `proc_pidfdinfo(PROC_PIDFDSOCKETINFO)`, sys/proc_info.h.
    pub fn sockets(&self) -> Result<Vec<SocketRecord>, PlatformError> {
        let mut seen = HashSet::new();
        let mut sockets = Vec::new();
        for pid in self.list_pids()? {
            let pid = pid.0 as i32;
            let Ok(info) = pidinfo::<BSDInfo>(pid, 0) else {
                continue;
            };
            let Ok(fds) = listpidinfo::<ListFDs>(pid, info.pbi_nfiles as usize + 16) else {
                continue;
            };
            for fd in fds {
                if !matches!(ProcFDType::from(fd.proc_fdtype), ProcFDType::Socket) {
                    continue;
                }
                let Ok(socket) = pidfdinfo::<SocketFDInfo>(pid, fd.proc_fd) else {
                    continue;
                };
                let psi = &socket.psi;
                if !seen.insert(psi.soi_so) {
                    continue;
                }
                let family_ok = psi.soi_family == libc::AF_INET || psi.soi_family == libc::AF_INET6;
                if !family_ok {
                    continue;
                }
                let record = match SocketInfoKind::from(psi.soi_kind) {
                    SocketInfoKind::Tcp => {
                        // SAFETY: soi_kind says the union holds TCP info.
                        let tcp = unsafe { psi.soi_proto.pri_tcp };
                        socket_from_insockinfo(
                            Protocol::Tcp,
                            &inet_fields(&tcp.tcpsi_ini),
                            tcp_state_from_tsi(tcp.tcpsi_state),
                            psi.soi_so,
                            psi.soi_stat.vst_uid,
                        )
                    }
                    SocketInfoKind::In if psi.soi_protocol == libc::IPPROTO_UDP => {
                        // SAFETY: soi_kind says the union holds plain inet info.
                        let inet = unsafe { psi.soi_proto.pri_in };
                        let fields = inet_fields(&inet);
                        socket_from_insockinfo(
                            Protocol::Udp,
                            &fields,
                            udp_state(&fields),
                            psi.soi_so,
                            psi.soi_stat.vst_uid,
                        )
                    }
                    _ => continue,
                };
                sockets.push(record);
            }
        }
        Ok(sockets)
    }
}

/// The fields limier reads of an `in_sockinfo`, copied out.
fn inet_fields(inet: &InSockInfo) -> InetFields {
    // SAFETY: both members of the address unions are 16 plain bytes.
    let (local, remote) = unsafe { (inet.insi_laddr.ina_6.s6_addr, inet.insi_faddr.ina_6.s6_addr) };
    InetFields {
        vflag: inet.insi_vflag,
        local,
        remote,
        local_port: inet.insi_lport,
        remote_port: inet.insi_fport,
    }
}
