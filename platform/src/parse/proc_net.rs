//! `/proc/net/{tcp,tcp6,udp,udp6}`: the fallback when sock_diag is unavailable.

use super::ParseError;
use crate::records::{Port, Protocol, SocketInode, SocketRecord, SocketState};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parses one `/proc/net/{tcp,udp}[6]` table.
///
/// Addresses are printed by the kernel as host-order 32-bit words in hex, so
/// this must run on the machine whose kernel wrote the text (it always does).
///
/// # References
/// proc(5), `/proc/net/tcp`, `/proc/net/udp`.
pub fn parse_proc_net(text: &[u8], protocol: Protocol) -> Result<Vec<SocketRecord>, ParseError> {
    let err = |reason: &str| ParseError::new("proc/net", reason);
    let text = std::str::from_utf8(text).map_err(|_| err("not ASCII"))?;
    let mut sockets = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 10 {
            return Err(err("too few fields"));
        }
        let (local_addr, local_port) =
            parse_endpoint(fields[1]).ok_or_else(|| err("bad local address"))?;
        let (remote_addr, remote_port) =
            parse_endpoint(fields[2]).ok_or_else(|| err("bad remote address"))?;
        let state_number = u8::from_str_radix(fields[3], 16).map_err(|_| err("bad state"))?;
        let uid = fields[7].parse().map_err(|_| err("bad uid"))?;
        let inode = fields[9].parse().map_err(|_| err("bad inode"))?;
        let state = match protocol {
            Protocol::Tcp => SocketState::from_tcp_number(state_number),
            Protocol::Udp if state_number == 1 => SocketState::Connected,
            Protocol::Udp => SocketState::Bound,
        };
        let connected = remote_port != 0;
        sockets.push(SocketRecord {
            protocol,
            local_addr,
            local_port: Port(local_port),
            remote_addr: connected.then_some(remote_addr),
            remote_port: connected.then_some(Port(remote_port)),
            state,
            inode: SocketInode(inode),
            uid,
        });
    }
    Ok(sockets)
}

fn parse_endpoint(field: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    if !addr.is_ascii() {
        return None;
    }
    let addr = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(host_word(addr)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(&host_word(&addr[i * 8..i * 8 + 8])?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((addr, port))
}

fn host_word(hex: &str) -> Option<[u8; 4]> {
    Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    const TCP: &[u8] = b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1C85 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 482913 1 0000000000000000 100 0 0 10 0
   1: 0100007F:9C40 0100007F:1C85 01 00000000:00000000 00:00000000 00000000     0        0 482999 1 0000000000000000 20 4 30 10 -1
";
    const TCP6: &[u8] = b"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0000000000000000 100 0 0 10 0
";
    const UDP: &[u8] = b"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  512: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   104        0 18022 2 0000000000000000 0
";

    #[test]
    fn parses_captured_tcp_table() {
        let sockets = parse_proc_net(TCP, Protocol::Tcp).unwrap();
        assert_eq!(sockets.len(), 2);
        assert_eq!(sockets[0].local_addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(sockets[0].local_port, Port(7301));
        assert_eq!(sockets[0].state, SocketState::Listen);
        assert_eq!(sockets[0].uid, 1000);
        assert_eq!(sockets[0].inode, SocketInode(482913));
        assert_eq!(sockets[0].remote_port, None);
        assert_eq!(sockets[1].state, SocketState::Established);
        assert_eq!(sockets[1].remote_port, Some(Port(7301)));
    }

    #[test]
    fn parses_ipv6_and_udp() {
        let v6 = parse_proc_net(TCP6, Protocol::Tcp).unwrap();
        assert_eq!(v6[0].local_addr, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(v6[0].local_port, Port(8080));
        let udp = parse_proc_net(UDP, Protocol::Udp).unwrap();
        assert_eq!(udp[0].local_port, Port(5353));
        assert_eq!(udp[0].state, SocketState::Bound);
    }

    #[test]
    fn malformed_tables_are_errors() {
        assert!(parse_proc_net(b"header\n 0: zz:1 0:0 0A a b c 0 0 1\n", Protocol::Tcp).is_err());
        assert!(parse_proc_net(b"header\n 0: 0100007F:1C85\n", Protocol::Tcp).is_err());
        assert!(parse_proc_net(b"header\n", Protocol::Tcp)
            .unwrap()
            .is_empty());
    }
}
