//! The system's TCP and UDP sockets: sock_diag netlink, `/proc/net` as fallback.

use super::OsBackend;
use crate::error::PlatformError;
use crate::parse::parse_proc_net;
use crate::records::{Port, Protocol, SocketInode, SocketRecord, SocketState};
use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState};

impl OsBackend {
    /// Every TCP and UDP socket, IPv4 and IPv6, with its inode and owner uid.
    ///
    /// Uses NETLINK_SOCK_DIAG on the live system (one dump per family and
    /// protocol, no pid association: limier maps inodes to pids from its own
    /// fd scan) and falls back to `/proc/net/{tcp,tcp6,udp,udp6}` when netlink
    /// is refused or the backend reads a fixture root.
    ///
    /// # References
    /// sock_diag(7), proc(5) `/proc/net/tcp`.
    pub fn sockets(&self) -> Result<Vec<SocketRecord>, PlatformError> {
        if self.is_live() {
            if let Ok(sockets) = sockets_from_netlink() {
                return Ok(sockets);
            }
        }
        self.sockets_from_proc_net()
    }

    /// The `/proc/net` fallback: reads the four tables below the proc root.
    pub fn sockets_from_proc_net(&self) -> Result<Vec<SocketRecord>, PlatformError> {
        let mut sockets = Vec::new();
        for (name, protocol) in [
            ("tcp", Protocol::Tcp),
            ("tcp6", Protocol::Tcp),
            ("udp", Protocol::Udp),
            ("udp6", Protocol::Udp),
        ] {
            let path = self.proc_root().join("net").join(name);
            let text = match std::fs::read(&path) {
                Ok(text) => text,
                // A kernel without IPv6 has no tcp6/udp6 table.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(PlatformError::from_io(None, path, err)),
            };
            let table = parse_proc_net(&text, protocol).map_err(|source| PlatformError::Parse {
                from: path.into(),
                source,
            })?;
            sockets.extend(table);
        }
        Ok(sockets)
    }
}

fn sockets_from_netlink() -> Result<Vec<SocketRecord>, netstat2::error::Error> {
    let families = AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6;
    let protocols = ProtocolFlags::TCP | ProtocolFlags::UDP;
    let mut sockets = Vec::new();
    for info in netstat2::iterate_sockets_info_without_pids(families, protocols)? {
        let info = info?;
        let inode = SocketInode(u64::from(info.inode));
        sockets.push(match info.protocol_socket_info {
            ProtocolSocketInfo::Tcp(tcp) => {
                let connected = tcp.remote_port != 0;
                SocketRecord {
                    protocol: Protocol::Tcp,
                    local_addr: tcp.local_addr,
                    local_port: Port(tcp.local_port),
                    remote_addr: connected.then_some(tcp.remote_addr),
                    remote_port: connected.then_some(Port(tcp.remote_port)),
                    state: tcp_state(tcp.state),
                    inode,
                    uid: info.uid,
                }
            }
            ProtocolSocketInfo::Udp(udp) => SocketRecord {
                protocol: Protocol::Udp,
                local_addr: udp.local_addr,
                local_port: Port(udp.local_port),
                remote_addr: None,
                remote_port: None,
                state: SocketState::Bound,
                inode,
                uid: info.uid,
            },
        });
    }
    Ok(sockets)
}

fn tcp_state(state: TcpState) -> SocketState {
    match state {
        TcpState::Listen => SocketState::Listen,
        TcpState::Established => SocketState::Established,
        TcpState::SynSent => SocketState::SynSent,
        TcpState::SynReceived => SocketState::SynRecv,
        TcpState::FinWait1 => SocketState::FinWait1,
        TcpState::FinWait2 => SocketState::FinWait2,
        TcpState::CloseWait => SocketState::CloseWait,
        TcpState::Closing => SocketState::Closing,
        TcpState::LastAck => SocketState::LastAck,
        TcpState::TimeWait => SocketState::TimeWait,
        TcpState::Closed => SocketState::Close,
        _ => SocketState::Unknown,
    }
}
