//! Who holds a port, and why: the answer `limier who` prints and ecluse's
//! `who` renders, as data.
//!
//! [`ask`] takes one snapshot with the layers the question needs, reads the
//! details of the holders and their ancestors, and builds a [`WhoReport`];
//! inside an ecluse repo it adds the slot and service each port belongs to
//! and the session each holder belongs to, decided by
//! [`ecluse::PortContext`](crate::ecluse::PortContext). The report's serde
//! form is `limier who --json` (docs/JSON.md).
//!
//! ```no_run
//! use limier::who::{ask, WhoQuestion};
//! let question = WhoQuestion::ports(vec!["3000".parse()?]);
//! let report = ask(&limier::Backend::new()?, &question, None)?;
//! for holder in report.ports.iter().flat_map(|p| &p.sockets).flat_map(|s| &s.holders) {
//!     println!("{} {}", holder.process.pid, holder.process.comm.to_string_lossy());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::ecluse::{Attribution, Owner, PortAssignment, PortContext, PortMap, PortWarning, Repo};
use crate::input::PortSpec;
use crate::query::{dossier, holders, Dossier, QueryError, Unseen};
use crate::snapshot::{capture, CaptureOptions, Layers, Snapshot};
use limier_platform::{Backend, ProcessId, Protocol, SocketRecord};
use serde::Serialize;

/// What `who` is asked: ports, pids, and whether sockets in every state
/// count (not only listeners).
#[derive(Debug, Clone, Default)]
pub struct WhoQuestion {
    /// Ports, as typed (`3000`, `3000/tcp`).
    pub ports: Vec<PortSpec>,
    /// Pids whose dossier is asked.
    pub pids: Vec<ProcessId>,
    /// Every socket on the port, not only listeners.
    pub all_states: bool,
    /// Ask about every port in use besides (`ss -ltnp`; with `all_states`,
    /// `ss -tanp`): see [`WhoQuestion::on`].
    pub every_port: bool,
    /// Only holders whose name matches (`pgrep`'s PATTERN): a socket none
    /// of whose holders does is left out.
    pub name: Option<crate::query::NamePattern>,
    /// Only holders of this uid (`pgrep -u`), likewise.
    pub owner: Option<u32>,
}

impl WhoQuestion {
    /// Who listens on these ports.
    pub fn ports(ports: Vec<PortSpec>) -> WhoQuestion {
        WhoQuestion {
            ports,
            ..WhoQuestion::default()
        }
    }

    /// Who uses any port at all: every listening port (`ss -ltnp`), or,
    /// with `all_states`, every port with a socket (`ss -tanp`).
    pub fn every_port(all_states: bool) -> WhoQuestion {
        WhoQuestion {
            all_states,
            every_port: true,
            ..WhoQuestion::default()
        }
    }

    /// The question `snapshot` answers: this one, with, when it asks about
    /// [`every_port`](Self::every_port), every port that has a server
    /// (a TCP listener, an unconnected UDP socket: what `ss -l` lists) or,
    /// with `all_states`, any socket, each with its protocol, in port order.
    pub fn on(&self, snapshot: &Snapshot) -> WhoQuestion {
        if !self.every_port {
            return self.clone();
        }
        let serves = |socket: &&SocketRecord| match socket.protocol {
            Protocol::Tcp => crate::query::is_listening(socket),
            Protocol::Udp => socket.remote_port.is_none_or(|port| port.0 == 0),
        };
        let mut ports: Vec<PortSpec> = snapshot
            .sockets()
            .iter()
            .filter(|socket| socket.local_port.0 != 0)
            .filter(|socket| self.all_states || serves(socket))
            .map(|socket| PortSpec {
                port: socket.local_port,
                protocol: Some(socket.protocol),
            })
            .collect();
        ports.extend(self.ports.iter().copied());
        ports.sort_by_key(|spec| (spec.port, spec.protocol));
        ports.dedup();
        WhoQuestion {
            ports,
            every_port: false,
            ..self.clone()
        }
    }
}

/// `limier who --json`: one entry per port asked (every port in use, when
/// none is), one per process asked.
#[derive(Debug, Clone, Serialize)]
pub struct WhoReport {
    /// The ports, in the order asked.
    pub ports: Vec<PortReport>,
    /// The pids asked about that exist, in the order asked.
    pub processes: Vec<Dossier>,
    /// Pids asked about that name no process.
    pub missing_pids: Vec<ProcessId>,
    /// Processes that could not be fully read (another user's, when not root).
    pub not_inspectable: usize,
    /// Sockets asked about whose holder cannot be seen.
    pub unseen: Vec<Unseen>,
    /// Inside an ecluse repo: the repo root.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "limier_platform::records::serialize_opt_path"
    )]
    pub ecluse_repo: Option<std::path::PathBuf>,
    /// Ports held by a session other than the one their slot belongs to,
    /// and holders whose evidence conflicts (each a sentence in the JSON).
    pub warnings: Vec<PortWarning>,
    /// Which reader served the process table and the fds (the kernel's
    /// iterators, or `/proc`), and why a faster one was not used.
    pub sources: crate::snapshot::Sources,
}

impl WhoReport {
    /// Every holder of every port asked, port by port.
    pub fn holders(&self) -> impl Iterator<Item = &HolderReport> {
        self.ports
            .iter()
            .flat_map(|p| &p.sockets)
            .flat_map(|s| &s.holders)
    }

    /// Whether anything was found: a socket whose holder is seen or held
    /// by the kernel, a connection to the port (with `all_states`), or a
    /// process asked about. A socket whose holder
    /// cannot be seen answers nothing.
    pub fn found(&self) -> bool {
        let sockets: usize = self.ports.iter().map(|p| p.sockets.len()).sum();
        let clients = self.ports.iter().any(|p| !p.clients.is_empty());
        sockets > self.unseen.len() || clients || !self.processes.is_empty()
    }
}

/// One port asked about.
#[derive(Debug, Clone, Serialize)]
pub struct PortReport {
    /// The port as asked, e.g. `3000` or `3000/tcp`.
    pub query: String,
    /// The port.
    pub port: u16,
    /// The protocol asked, if one was.
    pub protocol: Option<Protocol>,
    /// Every matching socket.
    pub sockets: Vec<SocketReport>,
    /// With `all_states`: the other end of every connection to the port
    /// (the client's socket, whose remote port this is), and who holds it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<SocketReport>,
    /// Inside an ecluse repo: which slot and service the port belongs to by the formula.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecluse: Option<Vec<PortAssignment>>,
}

/// One socket on a port asked about, and who holds it.
#[derive(Debug, Clone, Serialize)]
pub struct SocketReport {
    /// The socket.
    #[serde(flatten)]
    pub socket: SocketRecord,
    /// Every process holding an fd to it (empty: see `unseen`, or a socket
    /// the kernel keeps, inode 0).
    pub holders: Vec<HolderReport>,
}

/// One process holding a socket.
#[derive(Debug, Clone, Serialize)]
pub struct HolderReport {
    /// The fd it holds the socket by.
    pub fd: u32,
    /// Why it runs: its chain, cwd, command, sockets, descendants.
    pub process: Dossier,
    /// Inside an ecluse repo: which session the holder belongs to, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Owner>,
}

/// The capture a who question needs: sockets and fds of every process
/// (details are read afterwards for the processes reported); inside an
/// ecluse repo, the repo's own capture, so `who` attributes a pid on the
/// same evidence as `ecluse status`.
pub fn capture_options(repo: Option<&Repo>) -> CaptureOptions {
    match repo {
        Some(repo) => repo.capture_options(),
        None => CaptureOptions::new(Layers::PORTS),
    }
}

/// Asks `question` of a fresh snapshot: one capture, then the details of
/// the processes reported and their ancestors. `repo` adds ecluse's view.
pub fn ask(
    backend: &Backend,
    question: &WhoQuestion,
    repo: Option<&Repo>,
) -> Result<WhoReport, crate::Error> {
    let mut snapshot = capture(backend, capture_options(repo))?;
    let reported = reported_pids(&snapshot, question)?;
    snapshot.load_details(backend, &reported, true);
    Ok(answer(&snapshot, question, repo)?)
}

/// The holders and asked pids, with every ancestor: the processes whose
/// details and environment a report shows.
pub fn reported_pids(
    snapshot: &Snapshot,
    question: &WhoQuestion,
) -> Result<Vec<ProcessId>, QueryError> {
    let question = question.on(snapshot);
    let mut pids = question.pids.clone();
    for spec in &question.ports {
        for holding in holders(snapshot, spec.query(question.all_states))? {
            pids.extend(holding.pids());
        }
        if question.all_states && !question.every_port {
            for holding in crate::query::clients(snapshot, spec.query(true))? {
                pids.extend(holding.pids());
            }
        }
    }
    let mut reported: Vec<ProcessId> = Vec::new();
    for pid in pids {
        for pid in std::iter::once(pid).chain(snapshot.ancestors(pid)) {
            if !reported.contains(&pid) {
                reported.push(pid);
            }
        }
    }
    Ok(reported)
}

/// Answers `question` from `snapshot`; `repo` adds ecluse's view.
pub fn answer(
    snapshot: &Snapshot,
    question: &WhoQuestion,
    repo: Option<&Repo>,
) -> Result<WhoReport, QueryError> {
    let every_port = question.every_port;
    let question = &question.on(snapshot);
    let mut ports = Vec::new();
    let mut unseen = Vec::new();
    // A holder the snapshot does not hold is left out; a missing layer is
    // the caller's error, said.
    let report_of = |holding: crate::query::PortHolding| -> Result<SocketReport, QueryError> {
        let mut holders = Vec::new();
        for holder in &holding.holders {
            match dossier(snapshot, holder.pid) {
                Ok(process) => holders.push(HolderReport {
                    fd: holder.fd,
                    process,
                    session: None,
                }),
                Err(QueryError::NoSuchProcess(_)) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(SocketReport {
            socket: holding.socket,
            holders,
        })
    };
    for spec in &question.ports {
        let mut sockets = Vec::new();
        for holding in holders(snapshot, spec.query(question.all_states))? {
            unseen.extend(holding.unseen());
            sockets.push(report_of(holding)?);
        }
        // The other end of connections to a port served here (a connection
        // to another host's port is no holder of it); not in the listing of
        // every port, where each connection has its own line already.
        let clients = if question.all_states && !every_port && !sockets.is_empty() {
            crate::query::clients(snapshot, spec.query(true))?
                .into_iter()
                .map(report_of)
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        ports.push(PortReport {
            query: spec.to_string(),
            port: spec.port.0,
            protocol: spec.protocol,
            sockets,
            clients,
            ecluse: None,
        });
    }
    // --name / -u: only the holders pgrep would find; a socket with none
    // left (or whose holder cannot be seen) is not in the answer.
    if question.name.is_some() || question.owner.is_some() {
        let wanted: std::collections::HashSet<ProcessId> =
            crate::query::matching(snapshot, question.name.as_ref(), question.owner, false)
                .into_iter()
                .collect();
        for port in &mut ports {
            for socket in port.sockets.iter_mut().chain(port.clients.iter_mut()) {
                socket.holders.retain(|h| wanted.contains(&h.process.pid));
            }
            port.sockets.retain(|s| !s.holders.is_empty());
            port.clients.retain(|s| !s.holders.is_empty());
        }
        if question.every_port {
            ports.retain(|p| !p.sockets.is_empty());
        }
        unseen.clear();
    }
    let mut processes = Vec::new();
    let mut missing_pids = Vec::new();
    for &pid in &question.pids {
        match dossier(snapshot, pid) {
            Ok(d) => processes.push(d),
            Err(QueryError::NoSuchProcess(_)) => missing_pids.push(pid),
            Err(err) => return Err(err),
        }
    }
    let mut report = WhoReport {
        ports,
        processes,
        missing_pids,
        not_inspectable: snapshot.not_inspectable_count(),
        unseen,
        ecluse_repo: None,
        warnings: Vec::new(),
        sources: snapshot.sources.clone(),
    };
    if let Some(repo) = repo {
        add_ecluse_context(snapshot, repo, &mut report);
    }
    Ok(report)
}

/// Adds each port's slot and service, each holder's session, and the
/// warnings where they disagree.
fn add_ecluse_context(snapshot: &Snapshot, repo: &Repo, report: &mut WhoReport) {
    let attribution = Attribution::build(snapshot, repo, &[]);
    let map = PortMap::build(repo);
    report.ecluse_repo = Some(repo.root.clone());
    for port in &mut report.ports {
        let holders: Vec<ProcessId> = port
            .sockets
            .iter()
            .flat_map(|s| &s.holders)
            .map(|h| h.process.pid)
            .collect();
        let mut context = PortContext::judge(&map, &attribution, port.port, &holders);
        let mut owners = context.owners.into_iter();
        for holder in port.sockets.iter_mut().flat_map(|s| &mut s.holders) {
            holder.session = owners.next().map(|(_, owner)| owner);
        }
        report.warnings.append(&mut context.warnings);
        port.ecluse = Some(context.assignments);
    }
}
