//! `limier who`: who holds a port, and why.

use super::args::WhoArgs;
use super::format::{age, chain};
use super::sanitize::sanitize;
use super::style::{paint, BOLD, DIM, YELLOW};
use super::{terse_pids, to_json, unseen_note, CliError, Outcome, Render};
use limier::ecluse::{Attribution, EcluseError, Owner, PortAssignment, PortMap, Repo};
use limier::input::PortSpec;
use limier::platform::{ProcessId, SocketRecord};
use limier::query::{dossier, holders, Dossier};
use limier::snapshot::{capture, CaptureOptions, Layers, Snapshot};
use limier::sweep::Unseen;
use serde::Serialize;
use std::os::unix::ffi::OsStrExt;

/// `limier who --json`: one entry per port asked, one per process asked.
#[derive(Debug, Serialize)]
pub struct WhoReport {
    pub ports: Vec<PortReport>,
    pub processes: Vec<Dossier>,
    /// `--pid` values that name no process (nothing found for them: exit 1
    /// unless something else was).
    pub missing_pids: Vec<ProcessId>,
    /// Processes that could not be fully read (another user's, when not root).
    pub not_inspectable: usize,
    /// Sockets asked about whose holder cannot be seen.
    pub unseen: Vec<Unseen>,
    /// Inside an ecluse repo: the repo root.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "limier::platform::records::serialize_opt_path"
    )]
    pub ecluse_repo: Option<std::path::PathBuf>,
    /// Ports held by a session other than the one their slot belongs to.
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PortReport {
    /// The port as asked, e.g. `3000` or `3000/tcp`.
    pub query: String,
    pub port: u16,
    pub protocol: Option<limier::platform::Protocol>,
    pub sockets: Vec<SocketReport>,
    /// Inside an ecluse repo: which slot and service the port belongs to by the formula.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecluse: Option<Vec<PortAssignment>>,
}

#[derive(Debug, Serialize)]
pub struct SocketReport {
    #[serde(flatten)]
    pub socket: SocketRecord,
    pub holders: Vec<HolderReport>,
}

#[derive(Debug, Serialize)]
pub struct HolderReport {
    pub fd: u32,
    pub process: Dossier,
    /// Inside an ecluse repo: which session the holder belongs to, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Owner>,
}

pub fn run(args: &WhoArgs, render: Render) -> Result<Outcome, CliError> {
    let mut notes = Vec::new();
    let repo = find_repo(args, &mut notes)?;
    // Inside an ecluse repo attribution needs every layer; otherwise only
    // sockets and fds are read for all, details for the processes reported.
    let layers = if repo.is_some() {
        Layers::ALL
    } else {
        Layers::PORTS
    };
    let backend = limier::platform::Backend::new()?;
    let mut snapshot = capture(&backend, CaptureOptions::new(layers))?;
    let reported = reported_pids(&snapshot, args)?;
    snapshot.load_details(&backend, &reported, true);
    let mut report = build(&snapshot, &args.ports, &args.pid, args.all_states)?;
    if let Some(repo) = &repo {
        add_ecluse_context(&snapshot, repo, &mut report);
    }
    notes.extend(report.warnings.iter().map(|w| format!("warning: {w}")));
    notes.extend(
        report
            .missing_pids
            .iter()
            .map(|pid| format!("no process with pid {pid}")),
    );
    // A socket whose holder cannot be seen answers nothing: exit 1, with
    // its owner named on stderr. A socket without a file (TIME_WAIT) is
    // answered: the kernel holds it.
    let sockets: usize = report.ports.iter().map(|p| p.sockets.len()).sum();
    let found = sockets > report.unseen.len() || !report.processes.is_empty();
    let stdout = if render.json {
        to_json(&report)?
    } else if render.terse {
        terse_pids(
            report
                .ports
                .iter()
                .flat_map(|p| &p.sockets)
                .flat_map(|s| &s.holders)
                .map(|h| h.process.pid)
                .chain(report.processes.iter().map(|d| d.pid)),
        )
    } else {
        human(&report, render.color)
    };
    notes.extend(report.unseen.iter().filter_map(unseen_note));
    Ok(Outcome {
        stdout,
        notes,
        code: if found {
            super::EXIT_FOUND
        } else {
            super::EXIT_NOTHING
        },
    })
}

/// The holders and `--pid` processes, with every ancestor: the processes
/// whose details and environment the report shows.
fn reported_pids(snapshot: &Snapshot, args: &WhoArgs) -> Result<Vec<ProcessId>, CliError> {
    let mut pids: Vec<ProcessId> = args.pid.iter().map(|&p| ProcessId(p)).collect();
    for spec in &args.ports {
        let query = spec.query(args.all_states);
        for holding in holders(snapshot, query)? {
            pids.extend(holding.pids());
        }
    }
    let mut with_ancestors = Vec::new();
    for pid in pids {
        let mut current = Some(pid);
        while let Some(pid) = current {
            if with_ancestors.contains(&pid) {
                break;
            }
            with_ancestors.push(pid);
            current = snapshot
                .process(pid)
                .map(|p| p.record.ppid)
                .filter(|p| p.0 != 0);
        }
    }
    Ok(with_ancestors)
}

/// The ecluse repo to attribute to: `--repo`, or one around the cwd.
fn find_repo(args: &WhoArgs, notes: &mut Vec<String>) -> Result<Option<Repo>, CliError> {
    let timeout = std::time::Duration::from_secs(2);
    if let Some(dir) = &args.repo {
        return Ok(Some(Repo::discover(dir, timeout)?));
    }
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(None);
    };
    // The cwd may be on a dead mount: looking for .ecluse.toml there must
    // not hang a question about a port, nor keep limier from exiting.
    let patience = limier::query::RESOLVE_PATIENCE;
    match Repo::discover_within(&cwd, patience, timeout) {
        Ok(repo) => Ok(Some(repo)),
        Err(EcluseError::NotARepo(_)) => Ok(None),
        Err(EcluseError::Unanswered { patience_ms, .. }) => {
            notes.push(format!(
                "ecluse context skipped: the current directory did not answer within {patience_ms} ms (a hung mount?)"
            ));
            Ok(None)
        }
        Err(err) => {
            notes.push(format!("ecluse context skipped: {err}"));
            Ok(None)
        }
    }
}

/// Adds slot/service/session facts and owner warnings to a who report.
fn add_ecluse_context(snapshot: &Snapshot, repo: &Repo, report: &mut WhoReport) {
    let attribution = Attribution::build(snapshot, repo, &[]);
    let map = PortMap::build(repo);
    report.ecluse_repo = Some(repo.root.clone());
    for port in &mut report.ports {
        let assignments = map.lookup(port.port).to_vec();
        let expected: Vec<&str> = assignments
            .iter()
            .filter_map(|a| a.session.as_deref())
            .collect();
        for socket in &mut port.sockets {
            for holder in &mut socket.holders {
                let owner = attribution.owner(holder.process.pid);
                let pid = holder.process.pid;
                let port_number = port.port;
                match &owner {
                    Owner::Session { slug, ended, .. }
                        if !assignments.is_empty() && !expected.contains(&slug.as_str()) =>
                    {
                        let slot = assignments
                            .iter()
                            .map(|a| match &a.session {
                                Some(s) => format!("slot {} {} (session {s})", a.slot, a.service),
                                None => format!("slot {} {} (no session)", a.slot, a.service),
                            })
                            .collect::<Vec<_>>()
                            .join(", ");
                        let verb = if *ended { "is the" } else { "belongs to" };
                        report.warnings.push(format!(
                            "port {port_number} is {slot} but pid {pid} {verb} {owner}"
                        ));
                    }
                    Owner::Conflict { .. } => report.warnings.push(format!(
                        "pid {pid} on port {port_number}: evidence in {owner}"
                    )),
                    _ => {}
                }
                holder.session = Some(owner);
            }
        }
        port.ecluse = Some(assignments);
    }
}

/// Answers the ports and pids asked from one snapshot.
pub fn build(
    snapshot: &Snapshot,
    ports: &[PortSpec],
    pids: &[u32],
    all_states: bool,
) -> Result<WhoReport, CliError> {
    let mut port_reports = Vec::new();
    let mut unseen = Vec::new();
    for spec in ports {
        let query = spec.query(all_states);
        let mut sockets = Vec::new();
        for holding in holders(snapshot, query)? {
            unseen.extend(holding.unseen());
            let mut holder_reports = Vec::new();
            for holder in &holding.holders {
                if let Ok(process) = dossier(snapshot, holder.pid) {
                    holder_reports.push(HolderReport {
                        fd: holder.fd,
                        process,
                        session: None,
                    });
                }
            }
            sockets.push(SocketReport {
                socket: holding.socket,
                holders: holder_reports,
            });
        }
        port_reports.push(PortReport {
            query: spec.to_string(),
            port: spec.port.0,
            protocol: spec.protocol,
            sockets,
            ecluse: None,
        });
    }
    let mut processes = Vec::new();
    let mut missing_pids = Vec::new();
    for &pid in pids {
        let pid = ProcessId(pid);
        match dossier(snapshot, pid) {
            Ok(d) => processes.push(d),
            Err(_) => missing_pids.push(pid),
        }
    }
    Ok(WhoReport {
        ports: port_reports,
        processes,
        missing_pids,
        not_inspectable: snapshot.not_inspectable_count(),
        unseen,
        ecluse_repo: None,
        warnings: Vec::new(),
    })
}

/// Why a socket shows no holder.
fn no_holder_reason(socket: &limier::platform::SocketRecord, not_inspectable: usize) -> String {
    if socket.inode.0 == 0 {
        // TIME_WAIT and orphaned closing sockets belong to no file.
        return format!(
            "no process holds it: closed, kept by the kernel in {}",
            socket.state
        );
    }
    if !limier::platform::is_superuser() {
        let owner = limier::platform::user_name(socket.uid).map_or_else(
            || format!("uid {}", socket.uid),
            |name| format!("{name}, uid {}", socket.uid),
        );
        return format!("holder not visible: owned by another user ({owner}); run as root");
    }
    if not_inspectable > 0 {
        return "holder not visible: the fds of some process were refused even to root".into();
    }
    format!(
        "no process holds it: a socket of uid {} with no open file (the kernel's own, or passed in flight)",
        socket.uid
    )
}

fn human(report: &WhoReport, color: bool) -> String {
    let mut out = String::new();
    for port in &report.ports {
        if port.sockets.is_empty() {
            out.push_str(&format!(
                ":{} {}\n",
                port.query,
                paint(color, DIM, "nothing holds this port")
            ));
            continue;
        }
        for socket in &port.sockets {
            let s = &socket.socket;
            let mut head = format!(
                ":{}/{} {} {}",
                s.local_port, s.protocol, s.state, s.local_addr
            );
            if let (Some(addr), Some(rport)) = (s.remote_addr, s.remote_port) {
                head.push_str(&format!(" → {addr}:{rport}"));
            }
            out.push_str(&paint(color, BOLD, &head));
            out.push('\n');
            if socket.holders.is_empty() {
                out.push_str(&format!(
                    "  ({})\n",
                    no_holder_reason(s, report.not_inspectable)
                ));
            }
            if let Some(assignments) = &port.ecluse {
                for a in assignments {
                    let session = a.session.as_deref().unwrap_or("no session");
                    let kind = match a.kind {
                        limier::ecluse::PortKind::Base => "base",
                        limier::ecluse::PortKind::Extra => "extra",
                    };
                    out.push_str(&format!(
                        "  ecluse  slot {} service {} ({kind} port), slot held by {}\n",
                        a.slot,
                        sanitize(a.service.as_bytes()),
                        sanitize(session.as_bytes())
                    ));
                }
            }
            for holder in &socket.holders {
                out.push_str(&dossier_lines(&holder.process, Some(holder.fd), color));
                if let Some(owner) = &holder.session {
                    let text = match owner {
                        Owner::Unattributed => "no ecluse session".to_string(),
                        owner => owner.to_string(),
                    };
                    out.push_str(&format!("    ecluse  {}\n", sanitize(text.as_bytes())));
                }
            }
        }
    }
    for process in &report.processes {
        out.push_str(&dossier_lines(process, None, color));
        if !process.sockets.is_empty() {
            out.push_str("    sockets");
            for s in &process.sockets {
                out.push_str(&format!(
                    "  :{}/{} {} {}",
                    s.local_port, s.protocol, s.state, s.local_addr
                ));
            }
            out.push('\n');
        }
        if !process.descendants.is_empty() {
            let list: Vec<String> = process.descendants.iter().map(|p| p.to_string()).collect();
            out.push_str(&format!("    below  {}\n", list.join(" ")));
        }
    }
    out
}

/// A state worth a word in the dossier: anything but running or sleeping.
fn unusual_state(state: limier::platform::ProcessState) -> Option<&'static str> {
    use limier::platform::ProcessState as S;
    match state {
        S::Running | S::Sleeping | S::Idle | S::Other => None,
        S::DiskSleep => Some("[uninterruptible sleep (D)]"),
        S::Zombie => Some("[zombie]"),
        S::Stopped => Some("[stopped]"),
        S::TracingStop => Some("[stopped by a tracer]"),
        S::Dead => Some("[dead]"),
    }
}

/// The human dossier block of one process.
pub(crate) fn dossier_lines(d: &Dossier, fd: Option<u32>, color: bool) -> String {
    let mut out = String::new();
    let name = paint(color, BOLD, &sanitize(d.comm.as_bytes()));
    let user = d
        .user
        .clone()
        .or_else(|| d.uid.map(|u| u.to_string()))
        .unwrap_or_else(|| "?".into());
    out.push_str(&format!(
        "  {name}  pid {}  user {}  up {}  pgid {}  sid {}",
        d.pid,
        sanitize(user.as_bytes()),
        age(d.age_ms),
        d.pgid,
        d.sid
    ));
    if let Some(fd) = fd {
        out.push_str(&format!("  fd {fd}"));
    }
    if let Some(state) = unusual_state(d.state) {
        out.push_str(&format!("  {}", paint(color, YELLOW, state)));
    }
    out.push('\n');
    let cmd: Vec<String> = d.cmdline.iter().map(|w| sanitize(w.as_bytes())).collect();
    if !cmd.is_empty() {
        out.push_str(&format!("    cmd    {}\n", cmd.join(" ")));
    }
    if let Some(cwd) = &d.cwd {
        let deleted = if d.cwd_deleted { " (deleted)" } else { "" };
        out.push_str(&format!(
            "    cwd    {}{deleted}\n",
            sanitize(cwd.as_os_str().as_bytes())
        ));
    }
    let chain_text = chain(&d.chain);
    let chain_text = if d.orphaned {
        paint(color, YELLOW, &chain_text)
    } else {
        chain_text
    };
    out.push_str(&format!("    chain  {chain_text}\n"));
    if !d.inspectable {
        let why = if limier::platform::is_superuser() {
            "the kernel refused even root"
        } else {
            "another user's process"
        };
        out.push_str(&format!("    (not fully inspectable: {why})\n"));
    }
    out
}
