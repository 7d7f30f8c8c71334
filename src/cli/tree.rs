//! `limier tree [PID]`: the process forest, annotated.

use super::args::TreeArgs;
use super::sanitize::sanitize;
use super::style::{paint, DIM, YELLOW};
use super::{terse_pids, to_json, CliError, Outcome, Render};
use limier::platform::ProcessId;
use limier::query::{forest, TreeNode};
use limier::snapshot::{capture, CaptureOptions, Layers};
use std::os::unix::ffi::OsStrExt;

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
    let Some(forest) = forest(&snapshot, args.pid.map(ProcessId), args.kernel_threads) else {
        return Ok(Outcome {
            stdout: if render.json {
                to_json(&Vec::<TreeNode>::new())?
            } else {
                String::new()
            },
            notes: vec![format!(
                "no process with pid {}",
                args.pid.unwrap_or_default()
            )],
            code: super::EXIT_NOTHING,
        });
    };
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
