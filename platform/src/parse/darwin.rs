//! Pure decoders for the raw data macOS hands out (`KERN_PROCARGS2`,
//! libproc vnode path buffers, socket info fields). Compiled and tested on
//! every OS; the macOS backend calls them.

use super::ParseError;
use crate::records::{ByteString, EnvVar, SocketState};
use std::ffi::OsStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// What `sysctl({CTL_KERN, KERN_PROCARGS2, pid})` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcArgs {
    /// The executable path the kernel recorded.
    pub exec_path: ByteString,
    /// The argument words.
    pub argv: Vec<ByteString>,
    /// The environment variables.
    pub environ: Vec<EnvVar>,
}

/// Splits a `KERN_PROCARGS2` buffer: a native-endian `argc` (i32), the exec
/// path, NUL padding, `argc` NUL-terminated words, then `KEY=VALUE` entries
/// until an empty string or the end.
///
/// # References
/// xnu `bsd/kern/kern_sysctl.c` (`sysctl_procargsx`).
pub fn parse_procargs2(buffer: &[u8]) -> Result<ProcArgs, ParseError> {
    let err = |reason: &str| ParseError::new("procargs2", reason);
    let argc_bytes: [u8; 4] = buffer
        .get(..4)
        .ok_or_else(|| err("shorter than argc"))?
        .try_into()
        .map_err(|_| err("argc"))?;
    let argc = i32::from_ne_bytes(argc_bytes);
    if argc < 0 {
        return Err(err("negative argc"));
    }
    let rest = &buffer[4..];
    let path_end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let exec_path = ByteString::from(&rest[..path_end]);
    let mut cursor = path_end;
    while cursor < rest.len() && rest[cursor] == 0 {
        cursor += 1;
    }
    let mut words = rest[cursor.min(rest.len())..].split(|&b| b == 0);
    let mut argv = Vec::new();
    for _ in 0..argc {
        match words.next() {
            Some(word) => argv.push(ByteString::from(word)),
            None => return Err(err("fewer words than argc")),
        }
    }
    let environ = words
        .take_while(|entry| !entry.is_empty())
        .map(super::nul::env_var)
        .collect();
    Ok(ProcArgs {
        exec_path,
        argv,
        environ,
    })
}

/// Reads the NUL-terminated path of a `vnode_info_path` (`vip_path`,
/// MAXPATHLEN bytes) starting at `offset` of a libproc buffer. An empty
/// path is `None`.
pub fn vnode_path_at(buffer: &[u8], offset: usize) -> Option<PathBuf> {
    let field = buffer.get(offset..)?;
    let field = &field[..field.len().min(1024)];
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    (end > 0).then(|| PathBuf::from(OsStr::from_bytes(&field[..end])))
}

/// `sizeof(struct vnode_info)`: vinfo_stat (136) + vi_type + vi_pad + fsid.
pub const VNODE_INFO_SIZE: usize = 152;
/// `sizeof(struct vnode_info_path)`: vnode_info + MAXPATHLEN.
pub const VNODE_INFO_PATH_SIZE: usize = VNODE_INFO_SIZE + 1024;
/// `sizeof(struct proc_fileinfo)`.
pub const PROC_FILEINFO_SIZE: usize = 24;

/// Offset of the path in `struct vnode_fdinfowithpath` (PROC_PIDFDVNODEPATHINFO).
pub const FD_VNODE_PATH_OFFSET: usize = PROC_FILEINFO_SIZE + VNODE_INFO_SIZE;
/// Offset of the cwd path in `struct proc_vnodepathinfo` (PROC_PIDVNODEPATHINFO).
pub const CWD_PATH_OFFSET: usize = VNODE_INFO_SIZE;
/// Offset of the root path in `struct proc_vnodepathinfo`.
pub const ROOT_PATH_OFFSET: usize = VNODE_INFO_PATH_SIZE + VNODE_INFO_SIZE;

/// `sizeof(struct proc_regioninfo)`.
pub const REGION_INFO_SIZE: usize = 96;
/// `sizeof(struct proc_regionwithpathinfo)`.
pub const REGION_WITH_PATH_SIZE: usize = REGION_INFO_SIZE + VNODE_INFO_PATH_SIZE;

/// Decodes a `proc_regionwithpathinfo` (PROC_PIDREGIONPATHINFO): the
/// region's address and size (`pri_address` at 80, `pri_size` at 88) and
/// the path of the file mapped there, if any.
pub fn region_from_buffer(buffer: &[u8]) -> Option<(u64, u64, Option<PathBuf>)> {
    let word = |at: usize| -> Option<u64> {
        Some(u64::from_ne_bytes(buffer.get(at..at + 8)?.try_into().ok()?))
    };
    let address = word(80)?;
    let size = word(88)?;
    Some((
        address,
        size,
        vnode_path_at(buffer, REGION_INFO_SIZE + VNODE_INFO_SIZE),
    ))
}

/// A port from `insi_lport`/`insi_fport`: network byte order in the low 16 bits.
pub fn port_from_insi(raw: i32) -> u16 {
    u16::from_be(raw as u16)
}

/// An address from `insi_laddr`/`insi_faddr`: `vflag` 1 = IPv4 (in the last
/// four bytes of the 16), 2 = IPv6; bytes in network order.
pub fn addr_from_insi(vflag: u8, bytes16: [u8; 16]) -> IpAddr {
    if vflag & 0x2 != 0 {
        IpAddr::V6(Ipv6Addr::from(bytes16))
    } else {
        IpAddr::V4(Ipv4Addr::new(
            bytes16[12],
            bytes16[13],
            bytes16[14],
            bytes16[15],
        ))
    }
}

/// Maps `tcpsi_state` (TSI_S_* in sys/proc_info.h) to a socket state.
pub fn tcp_state_from_tsi(state: i32) -> SocketState {
    match state {
        0 => SocketState::Close,
        1 => SocketState::Listen,
        2 => SocketState::SynSent,
        3 => SocketState::SynRecv,
        4 => SocketState::Established,
        5 => SocketState::CloseWait,
        6 => SocketState::FinWait1,
        7 => SocketState::Closing,
        8 => SocketState::LastAck,
        9 => SocketState::FinWait2,
        10 => SocketState::TimeWait,
        _ => SocketState::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn procargs(argc: i32, body: &[u8]) -> Vec<u8> {
        let mut buffer = argc.to_ne_bytes().to_vec();
        buffer.extend_from_slice(body);
        buffer
    }

    #[test]
    fn splits_procargs2() {
        let buffer = procargs(
            3,
            b"/usr/local/bin/node\0\0\0\0node\0vite.js\0--port=7301\0ECLUSE_SLUG=feat-b\0PATH=/bin\0\0\0junk",
        );
        let args = parse_procargs2(&buffer).unwrap();
        assert_eq!(args.exec_path.as_bytes(), b"/usr/local/bin/node");
        let argv: Vec<_> = args.argv.iter().map(|w| w.to_string_lossy()).collect();
        assert_eq!(argv, ["node", "vite.js", "--port=7301"]);
        assert_eq!(args.environ.len(), 2);
        assert_eq!(args.environ[0].key.as_bytes(), b"ECLUSE_SLUG");
        assert_eq!(args.environ[0].value.as_bytes(), b"feat-b");
    }

    #[test]
    fn rejects_broken_procargs2() {
        assert!(parse_procargs2(b"").is_err());
        assert!(parse_procargs2(&procargs(-1, b"/x\0")).is_err());
        assert!(parse_procargs2(&procargs(5, b"/x\0\0a\0")).is_err());
        assert_eq!(parse_procargs2(&procargs(0, b"")).unwrap().argv.len(), 0);
    }

    #[test]
    fn reads_vnode_paths_at_their_offsets() {
        let mut buffer = vec![0u8; FD_VNODE_PATH_OFFSET + 1024];
        buffer[FD_VNODE_PATH_OFFSET..FD_VNODE_PATH_OFFSET + 9].copy_from_slice(b"/tmp/file");
        assert_eq!(
            vnode_path_at(&buffer, FD_VNODE_PATH_OFFSET),
            Some(PathBuf::from("/tmp/file"))
        );
        assert_eq!(vnode_path_at(&buffer, 0), None);
        assert_eq!(vnode_path_at(&buffer, buffer.len() + 5), None);
        assert_eq!(ROOT_PATH_OFFSET, 1176 + 152);
    }

    #[test]
    fn decodes_regions() {
        let mut buffer = vec![0u8; REGION_WITH_PATH_SIZE];
        buffer[80..88].copy_from_slice(&0x1000u64.to_ne_bytes());
        buffer[88..96].copy_from_slice(&0x2000u64.to_ne_bytes());
        let at = REGION_INFO_SIZE + VNODE_INFO_SIZE;
        buffer[at..at + 12].copy_from_slice(b"/usr/lib/x.d");
        assert_eq!(
            region_from_buffer(&buffer),
            Some((0x1000, 0x2000, Some(PathBuf::from("/usr/lib/x.d"))))
        );
        assert_eq!(region_from_buffer(&buffer[..50]), None);
    }

    #[test]
    fn decodes_socket_fields() {
        assert_eq!(port_from_insi(i32::from(7301u16.to_be())), 7301);
        let mut v4 = [0u8; 16];
        v4[12..].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(addr_from_insi(1, v4), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            addr_from_insi(2, Ipv6Addr::LOCALHOST.octets()),
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        );
        assert_eq!(tcp_state_from_tsi(1), SocketState::Listen);
        assert_eq!(tcp_state_from_tsi(99), SocketState::Unknown);
    }
}
