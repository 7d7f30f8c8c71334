//! `limier tree [PID]`: the process forest, annotated.

use super::args::TreeArgs;
use super::sanitize::sanitize;
use super::style::{paint, DIM, YELLOW};
use super::{terse_pids, to_json, CliError, Outcome, Render};
use limier::platform::{FdTarget, ProcessId};
use limier::query::Markers;
use limier::snapshot::{capture, CaptureOptions, Layers, Snapshot};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;

/// One node of `limier tree --json`.
#[derive(Debug, Serialize)]
pub struct TreeNode {
    pub pid: ProcessId,
    pub comm: limier::platform::ByteString,
    pub cmdline: Vec<limier::platform::ByteString>,
    #[serde(serialize_with = "limier::platform::records::serialize_opt_path")]
    pub cwd: Option<std::path::PathBuf>,
    pub pgid: ProcessId,
    pub sid: ProcessId,
    /// `3000/tcp`-style listening ports this process holds.
    pub listening: Vec<String>,
    pub markers: Markers,
    pub children: Vec<TreeNode>,
}

pub fn run(args: &TreeArgs, render: Render) -> Result<Outcome, CliError> {
    let backend = limier::Backend::new()?;
    let mut snapshot = capture(
        &backend,
        CaptureOptions::new(Layers {
            details: true,
            links: true,
            ..Layers::PORTS
        }),
    )?;
    // Environments only where the orphan marker depends on them.
    let candidates = limier::query::orphan_candidates(&snapshot);
    snapshot.load_details(&backend, &candidates, true);
    let listening = listening_ports(&snapshot);
    let roots: Vec<ProcessId> = match args.pid {
        Some(pid) => {
            let pid = ProcessId(pid);
            if snapshot.process(pid).is_none() {
                return Ok(Outcome {
                    stdout: if render.json {
                        to_json(&Vec::<TreeNode>::new())?
                    } else {
                        String::new()
                    },
                    notes: vec![format!("no process with pid {pid}")],
                    code: super::EXIT_NOTHING,
                });
            }
            vec![pid]
        }
        None => snapshot
            .processes()
            .filter(|p| p.record.ppid.0 == 0 || snapshot.process(p.record.ppid).is_none())
            .map(|p| p.pid())
            .collect(),
    };
    let mut seen = HashSet::new();
    let forest: Vec<TreeNode> = roots
        .iter()
        .filter_map(|&pid| build(&snapshot, pid, &listening, args.kernel_threads, &mut seen))
        .collect();
    let stdout = if render.json {
        to_json(&forest)?
    } else if render.terse {
        let mut pids = Vec::new();
        collect_pids(&forest, &mut pids);
        terse_pids(pids)
    } else {
        let mut out = String::new();
        for root in &forest {
            draw(root, None, "", true, render.color, &mut out);
        }
        out
    };
    Ok(Outcome {
        stdout,
        // Every process is in the forest whoever asks: nothing to warn of.
        notes: Vec::new(),
        code: if forest.is_empty() {
            super::EXIT_NOTHING
        } else {
            super::EXIT_FOUND
        },
    })
}

/// pid → listening ports (TCP LISTEN, bound UDP).
fn listening_ports(snapshot: &Snapshot) -> HashMap<ProcessId, Vec<String>> {
    let mut by_inode = HashMap::new();
    for socket in snapshot.sockets() {
        if limier::query::is_listening(socket) {
            by_inode.insert(
                socket.inode,
                format!("{}/{}", socket.local_port, socket.protocol),
            );
        }
    }
    let mut ports: HashMap<ProcessId, Vec<String>> = HashMap::new();
    for process in snapshot.processes() {
        for fd in process.fds.iter().flatten() {
            if let FdTarget::Socket { inode } = fd.target {
                if let Some(port) = by_inode.get(&inode) {
                    let list = ports.entry(process.pid()).or_default();
                    if !list.contains(port) {
                        list.push(port.clone());
                    }
                }
            }
        }
    }
    ports
}

fn build(
    snapshot: &Snapshot,
    pid: ProcessId,
    listening: &HashMap<ProcessId, Vec<String>>,
    kernel_threads: bool,
    seen: &mut HashSet<ProcessId>,
) -> Option<TreeNode> {
    let process = snapshot.process(pid)?;
    let record = &process.record;
    if !seen.insert(pid) || (record.kernel_thread && !kernel_threads) {
        return None;
    }
    let children = snapshot
        .children(pid)
        .iter()
        .filter_map(|&child| build(snapshot, child, listening, kernel_threads, seen))
        .collect();
    Some(TreeNode {
        pid,
        comm: record.comm.clone(),
        cmdline: record.cmdline.clone(),
        cwd: record.cwd.clone(),
        pgid: record.pgid,
        sid: record.sid,
        listening: listening.get(&pid).cloned().unwrap_or_default(),
        markers: Markers {
            session_leader: record.pid == record.sid,
            group_leader: record.pid == record.pgid,
            orphaned: limier::query::is_orphaned(snapshot, pid),
            kernel_thread: record.kernel_thread,
        },
        children,
    })
}

fn collect_pids(nodes: &[TreeNode], out: &mut Vec<ProcessId>) {
    for node in nodes {
        out.push(node.pid);
        collect_pids(&node.children, out);
    }
}

fn draw(
    node: &TreeNode,
    parent: Option<&TreeNode>,
    prefix: &str,
    last: bool,
    color: bool,
    out: &mut String,
) {
    let (branch, next) = match parent {
        None => ("", String::new()),
        Some(_) if last => ("└─ ", format!("{prefix}   ")),
        Some(_) => ("├─ ", format!("{prefix}│  ")),
    };
    let mut line = format!(
        "{prefix}{branch}{} {}",
        node.pid,
        sanitize(node.comm.as_bytes())
    );
    for port in &node.listening {
        line.push_str(&format!(" :{port}"));
    }
    let mut notes = Vec::new();
    if parent.is_none_or(|p| p.sid != node.sid) {
        notes.push(format!("sid {}", node.sid));
    }
    if parent.is_none_or(|p| p.pgid != node.pgid) {
        notes.push(format!("pgid {}", node.pgid));
    }
    if !notes.is_empty() {
        line.push_str(&paint(color, DIM, &format!("  [{}]", notes.join(" "))));
    }
    if node.markers.orphaned {
        line.push_str(&paint(color, YELLOW, "  [orphaned]"));
    }
    if let Some(cwd) = &node.cwd {
        line.push_str(&format!("  cwd {}", sanitize(cwd.as_os_str().as_bytes())));
    }
    out.push_str(&line);
    out.push('\n');
    for (i, child) in node.children.iter().enumerate() {
        draw(
            child,
            Some(node),
            &next,
            i + 1 == node.children.len(),
            color,
            out,
        );
    }
}
