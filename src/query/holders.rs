//! Who holds a port.

use super::QueryError;
use crate::snapshot::Snapshot;
use limier_platform::{Port, ProcessId, Protocol, SocketRecord, SocketState};
use serde::Serialize;

/// Which socket states count as holding a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateFilter {
    /// TCP `LISTEN` and every UDP socket bound to the port (the default).
    #[default]
    Listening,
    /// Every state, established connections and `TIME_WAIT` included.
    Any,
}

/// A port question: `7301`, `7301/tcp`, `5353/udp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortQuery {
    /// The port.
    pub port: Port,
    /// `None` asks about TCP and UDP alike.
    pub protocol: Option<Protocol>,
    /// Which socket states count.
    pub states: StateFilter,
}

impl PortQuery {
    /// TCP listeners and bound UDP sockets on `port`.
    pub fn new(port: u16) -> Self {
        PortQuery {
            port: Port(port),
            protocol: None,
            states: StateFilter::Listening,
        }
    }

    /// TCP `LISTEN` sockets on `port`, IPv4 and IPv6 (what "is a server up
    /// on this port" means).
    pub fn tcp_listeners(port: u16) -> Self {
        PortQuery {
            protocol: Some(Protocol::Tcp),
            ..PortQuery::new(port)
        }
    }

    fn matches(&self, socket: &SocketRecord) -> bool {
        let state_ok = match self.states {
            StateFilter::Any => true,
            StateFilter::Listening => is_listening(socket),
        };
        state_ok && self.protocol.is_none_or(|p| p == socket.protocol)
    }
}

/// Whether a socket serves a port: a TCP socket in `LISTEN`, or any UDP
/// socket bound to it (UDP has no listening state).
pub fn is_listening(socket: &SocketRecord) -> bool {
    match socket.protocol {
        Protocol::Tcp => socket.state == SocketState::Listen,
        Protocol::Udp => true,
    }
}

/// Whether a socket is a TCP socket in `LISTEN` (what "a server is up on
/// this port" means).
pub fn is_tcp_listener(socket: &SocketRecord) -> bool {
    socket.protocol == Protocol::Tcp && is_listening(socket)
}

/// `socket` and every (pid, fd) holding it, in pid then fd order.
fn holding_of(snapshot: &Snapshot, socket: &SocketRecord) -> PortHolding {
    let mut holders: Vec<Holder> = snapshot
        .socket_holders(socket.inode)
        .iter()
        .map(|&(pid, fd)| Holder { pid, fd })
        .collect();
    holders.sort_by_key(|h| (h.pid, h.fd));
    PortHolding {
        socket: socket.clone(),
        holders,
    }
}

/// The other end of connections to `query`'s port: every socket whose
/// remote port it is (of its protocol, when one is asked), with its
/// holders, as `lsof -i :PORT` and `ss` show beside the server's end.
pub fn clients(snapshot: &Snapshot, query: PortQuery) -> Result<Vec<PortHolding>, QueryError> {
    if !snapshot.layers.sockets {
        return Err(QueryError::LayerMissing(crate::snapshot::Layer::Sockets));
    }
    if snapshot.layers.fds.is_none() {
        return Err(QueryError::LayerMissing(crate::snapshot::Layer::Fds));
    }
    let mut found: Vec<PortHolding> = snapshot
        .sockets()
        .iter()
        .filter(|socket| socket.remote_port == Some(query.port))
        .filter(|socket| query.protocol.is_none_or(|p| p == socket.protocol))
        .map(|socket| holding_of(snapshot, socket))
        .collect();
    found.sort_by_key(|h| (h.socket.protocol, h.socket.local_port, h.socket.inode));
    Ok(found)
}

/// The TCP ports `pid` listens on, IPv4 and IPv6, sorted and without
/// repeats (`lsof -p PID -iTCP -sTCP:LISTEN`); empty for a pid the
/// snapshot does not hold.
pub fn tcp_listening_ports(snapshot: &Snapshot, pid: ProcessId) -> Vec<u16> {
    let mut ports: Vec<u16> = snapshot
        .sockets_held_by(pid)
        .into_iter()
        .filter(|socket| is_tcp_listener(socket))
        .map(|socket| socket.local_port.0)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// A process named by its pid and command name, as a note names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedProcess {
    /// The pid.
    pub pid: ProcessId,
    /// Its command name.
    pub comm: limier_platform::ByteString,
}

impl NamedProcess {
    /// Every process of `snapshot` some layer of which could not be read,
    /// in pid order.
    pub fn not_inspectable(snapshot: &Snapshot) -> Vec<NamedProcess> {
        snapshot
            .not_inspectable()
            .map(|process| NamedProcess {
                pid: process.pid(),
                comm: process.record.comm.clone(),
            })
            .collect()
    }
}

/// What a question or a sweep's selection could not see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Unseen {
    /// A socket on a selected port whose holder cannot be seen (see
    /// [`PortHolding::holder_unseen`]).
    Socket {
        /// The port.
        port: Port,
        /// TCP or UDP.
        protocol: Protocol,
        /// The uid that created the socket: whose process holds it.
        uid: u32,
    },
    /// Processes whose files, mappings or environment could not be read, so
    /// a directory or environment selector could not check them (other
    /// users' processes, when not root).
    Processes {
        /// How many.
        count: usize,
        /// Which, in pid order.
        processes: Vec<NamedProcess>,
    },
    /// Processes a selector matched that belong to another user than the
    /// one a sweep was narrowed to (`kill -u USER`): not selected.
    NotOwned {
        /// The uid the sweep was narrowed to.
        uid: u32,
        /// The processes left out, in pid order.
        processes: Vec<NamedProcess>,
    },
    /// Processes in a mount namespace whose mounts could not be read, whose
    /// paths read as below a selected directory: the same text may name
    /// another directory there, so they are not selected.
    OtherMountNamespace {
        /// The processes.
        pids: Vec<ProcessId>,
    },
    /// A use whose path ends in " (deleted)": the path of a deleted file
    /// or directory, or a name that ends so, a reading of which lies in a
    /// selected directory, and the kernel did not tell which (see
    /// [`crate::query::DirUsers::undecided`]): not selected.
    Undecided {
        /// The process.
        pid: ProcessId,
        /// The path as the kernel gave it.
        #[serde(serialize_with = "limier_platform::records::serialize_path")]
        path: std::path::PathBuf,
    },
}

impl Unseen {
    /// Processes that could not be checked at all ([`Unseen::Processes`]).
    pub fn is_unchecked(&self) -> bool {
        matches!(self, Unseen::Processes { .. })
    }

    /// A process it names may use a selected directory, left out for want
    /// of telling (another namespace's paths, an undecided " (deleted)",
    /// another user's process under `-u`): a directory that is not there
    /// may still be used, so "nobody uses it" is not said.
    pub fn may_hide_a_directory_user(&self) -> bool {
        matches!(
            self,
            Unseen::OtherMountNamespace { .. } | Unseen::Undecided { .. } | Unseen::NotOwned { .. }
        )
    }
}

/// One socket on the port and every (pid, fd) holding it.
///
/// A socket shared after fork has several holders; `SO_REUSEPORT` gives several
/// sockets. An empty `holders` means the owner could not be inspected.
#[derive(Debug, Clone, Serialize)]
pub struct PortHolding {
    /// The socket.
    pub socket: SocketRecord,
    /// Every (pid, fd) holding it, in pid order; empty when the holder cannot be seen.
    pub holders: Vec<Holder>,
}

/// One process holding a socket through one fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// The holding process.
    pub pid: ProcessId,
    /// The fd it holds the socket through.
    pub fd: u32,
}

impl PortHolding {
    /// Whether a process holds the socket but cannot be seen: it has a file
    /// (a non-zero inode) and no visible holder — another user's process to
    /// an ordinary user, or one whose fds were refused even to root. A socket
    /// without a file (`TIME_WAIT`, orphaned closing sockets) is the
    /// kernel's, not hidden.
    pub fn holder_unseen(&self) -> bool {
        self.holders.is_empty() && self.socket.inode.0 != 0
    }

    /// The socket as [`Unseen`], when its holder cannot be seen.
    pub fn unseen(&self) -> Option<Unseen> {
        self.holder_unseen().then_some(Unseen::Socket {
            port: self.socket.local_port,
            protocol: self.socket.protocol,
            uid: self.socket.uid,
        })
    }

    /// Distinct holder pids.
    pub fn pids(&self) -> Vec<ProcessId> {
        let mut pids: Vec<ProcessId> = self.holders.iter().map(|h| h.pid).collect();
        pids.dedup();
        pids
    }
}

/// Distinct holder pids of every holding, sorted: a process holding the
/// port through an IPv4 and an IPv6 socket is named once.
pub fn holder_pids(holdings: &[PortHolding]) -> Vec<ProcessId> {
    let mut pids: Vec<ProcessId> = holdings
        .iter()
        .flat_map(|h| h.holders.iter().map(|holder| holder.pid))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Every socket matching `query`, TCP before UDP, with its holders.
///
/// ```no_run
/// use limier::query::{holders, PortQuery};
/// use limier::snapshot::{capture, CaptureOptions, Layers};
/// let backend = limier::Backend::new()?;
/// let snapshot = capture(&backend, CaptureOptions::new(Layers::PORTS))?;
/// for holding in holders(&snapshot, PortQuery::new(3000))? {
///     println!("{} held by {:?}", holding.socket.local_addr, holding.pids());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn holders(snapshot: &Snapshot, query: PortQuery) -> Result<Vec<PortHolding>, QueryError> {
    if !snapshot.layers.sockets {
        return Err(QueryError::LayerMissing(crate::snapshot::Layer::Sockets));
    }
    if snapshot.layers.fds.is_none() {
        return Err(QueryError::LayerMissing(crate::snapshot::Layer::Fds));
    }
    let mut found = Vec::new();
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        for socket in snapshot.sockets_on(protocol, query.port) {
            if !query.matches(socket) {
                continue;
            }
            found.push(holding_of(snapshot, socket));
        }
    }
    found.sort_by_key(|h| {
        (
            h.socket.protocol,
            h.socket.local_addr.is_ipv6(),
            h.socket.inode,
        )
    });
    Ok(found)
}
