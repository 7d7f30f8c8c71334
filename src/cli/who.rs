//! `limier who`: who holds a port, and why.

use super::args::{PortSpec, WhoArgs};
use super::format::{age, chain};
use super::sanitize::sanitize;
use super::style::{paint, BOLD, DIM, YELLOW};
use super::{inspect_note, live_snapshot, terse_pids, to_json, CliError, Outcome, Render};
use crate::query::{dossier, holders, Dossier, PortQuery, StateFilter};
use crate::snapshot::{Layers, Snapshot};
use limier_platform::{ProcessId, SocketRecord};
use serde::Serialize;
use std::os::unix::ffi::OsStrExt;

/// `limier who --json`: one entry per port asked, one per process asked.
#[derive(Debug, Serialize)]
pub struct WhoReport {
    pub ports: Vec<PortReport>,
    pub processes: Vec<Dossier>,
    /// Processes that could not be fully read (another user's): the answer may be incomplete.
    pub not_inspectable: usize,
}

#[derive(Debug, Serialize)]
pub struct PortReport {
    /// The port as asked, e.g. `3000` or `3000/tcp`.
    pub query: String,
    pub port: u16,
    pub protocol: Option<limier_platform::Protocol>,
    pub sockets: Vec<SocketReport>,
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
}

pub fn run(args: &WhoArgs, render: Render) -> Result<Outcome, CliError> {
    let snapshot = live_snapshot(Layers::PORTS)?;
    let report = build(&snapshot, &args.ports, &args.pid, args.all_states)?;
    let found = report.ports.iter().any(|p| !p.sockets.is_empty()) || !report.processes.is_empty();
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
    Ok(Outcome {
        stdout,
        notes: inspect_note(report.not_inspectable).into_iter().collect(),
        code: if found { super::EXIT_FOUND } else { super::EXIT_NOTHING },
    })
}

/// Answers the ports and pids asked from one snapshot.
pub fn build(
    snapshot: &Snapshot,
    ports: &[PortSpec],
    pids: &[u32],
    all_states: bool,
) -> Result<WhoReport, CliError> {
    let mut port_reports = Vec::new();
    for spec in ports {
        let query = PortQuery {
            port: spec.port,
            protocol: spec.protocol,
            states: if all_states { StateFilter::Any } else { StateFilter::Listening },
        };
        let mut sockets = Vec::new();
        for holding in holders(snapshot, query)? {
            let mut holder_reports = Vec::new();
            for holder in &holding.holders {
                if let Ok(process) = dossier(snapshot, holder.pid) {
                    holder_reports.push(HolderReport {
                        fd: holder.fd,
                        process,
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
        });
    }
    let mut processes = Vec::new();
    for &pid in pids {
        let pid = ProcessId(pid);
        match dossier(snapshot, pid) {
            Ok(d) => processes.push(d),
            Err(_) => return Err(CliError(format!("no process with pid {pid}"))),
        }
    }
    Ok(WhoReport {
        ports: port_reports,
        processes,
        not_inspectable: snapshot.not_inspectable_count(),
    })
}

fn human(report: &WhoReport, color: bool) -> String {
    let mut out = String::new();
    for port in &report.ports {
        if port.sockets.is_empty() {
            out.push_str(&format!(":{} {}\n", port.query, paint(color, DIM, "nothing holds this port")));
            continue;
        }
        for socket in &port.sockets {
            let s = &socket.socket;
            let mut head = format!(":{}/{} {} {}", s.local_port, s.protocol, s.state, s.local_addr);
            if let (Some(addr), Some(rport)) = (s.remote_addr, s.remote_port) {
                head.push_str(&format!(" → {addr}:{rport}"));
            }
            out.push_str(&paint(color, BOLD, &head));
            out.push('\n');
            if socket.holders.is_empty() {
                out.push_str("  (holder not visible: owned by another user; run as root)\n");
            }
            for holder in &socket.holders {
                out.push_str(&dossier_lines(&holder.process, Some(holder.fd), color));
            }
        }
    }
    for process in &report.processes {
        out.push_str(&dossier_lines(process, None, color));
        if !process.sockets.is_empty() {
            out.push_str("    sockets");
            for s in &process.sockets {
                out.push_str(&format!("  :{}/{} {} {}", s.local_port, s.protocol, s.state, s.local_addr));
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
    out.push('\n');
    let cmd: Vec<String> = d.cmdline.iter().map(|w| sanitize(w.as_bytes())).collect();
    if !cmd.is_empty() {
        out.push_str(&format!("    cmd    {}\n", cmd.join(" ")));
    }
    if let Some(cwd) = &d.cwd {
        let deleted = if d.cwd_deleted { " (deleted)" } else { "" };
        out.push_str(&format!("    cwd    {}{deleted}\n", sanitize(cwd.as_os_str().as_bytes())));
    }
    let chain_text = chain(&d.chain);
    let chain_text = if d.orphaned { paint(color, YELLOW, &chain_text) } else { chain_text };
    out.push_str(&format!("    chain  {chain_text}\n"));
    if !d.inspectable {
        out.push_str("    (not fully inspectable: another user's process)\n");
    }
    out
}
