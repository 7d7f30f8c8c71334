//! `limier tree [PID]`: the process forest, annotated.

use super::args::TreeArgs;
use super::sanitize::sanitize;
use super::style::{paint, DIM, YELLOW};
use super::{terse_pids, to_json, CliError, Outcome, Render};
use limier::platform::ProcessId;
use limier::query::{forest, TreeNode};
use limier::snapshot::{capture, CaptureOptions, Layers};
use std::os::unix::ffi::OsStrExt;

/// `limier tree --json`: the forest's roots, each with its children.
#[derive(serde::Serialize)]
struct TreeReport<'a> {
    roots: &'a [TreeNode],
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
    // --name / -u: the trees of the matches, each once (a match below
    // another is in its tree already).
    if args.pgrep.given() {
        let pattern = args.pgrep.pattern();
        if let Some(why) = pattern.as_ref().and_then(|p| p.matches_nothing()) {
            return Err(CliError(why));
        }
        let matches: std::collections::HashSet<ProcessId> = limier::query::matching(
            &snapshot,
            pattern.as_ref(),
            args.pgrep.user,
            args.kernel_threads,
        )
        .into_iter()
        .collect();
        let mut roots: Vec<ProcessId> = matches
            .iter()
            .copied()
            .filter(|&pid| !snapshot.ancestors(pid).any(|a| matches.contains(&a)))
            .collect();
        roots.sort_unstable();
        let forest: Vec<TreeNode> = roots
            .into_iter()
            .filter_map(|pid| forest(&snapshot, Some(pid), args.kernel_threads))
            .flatten()
            .collect();
        return render_forest(&forest, render);
    }
    let Some(forest) = forest(&snapshot, args.pid.map(ProcessId), args.kernel_threads) else {
        return Ok(Outcome {
            stdout: if render == Render::Json {
                to_json(&TreeReport { roots: &[] })?
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
    render_forest(&forest, render)
}

/// The forest in the form asked.
fn render_forest(forest: &[TreeNode], render: Render) -> Result<Outcome, CliError> {
    let stdout = match render {
        Render::Json => to_json(&TreeReport { roots: forest })?,
        Render::Terse => {
            let mut pids = Vec::new();
            collect_pids(forest, &mut pids);
            terse_pids(pids)
        }
        Render::Human { color } => {
            let mut out = String::new();
            let width = limier::platform::terminal_columns();
            for root in forest {
                draw(root, None, "", true, color, width, &mut out);
            }
            out
        }
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
    width: Option<usize>,
    out: &mut String,
) {
    let (branch, next) = match parent {
        None => ("", String::new()),
        Some(_) if last => ("└─ ", format!("{prefix}   ")),
        Some(_) => ("├─ ", format!("{prefix}│  ")),
    };
    let mut head = format!("{prefix}{branch}{} {}", node.pid, shown_name(node));
    for port in &node.listening {
        head.push_str(&format!(" :{port}"));
    }
    // Where the owner changes (every root names its own), as `pstree -u`.
    let mut notes = Vec::new();
    if parent.is_none_or(|p| p.uid != node.uid) {
        if let Some(user) = node
            .user
            .clone()
            .or_else(|| node.uid.map(|u| u.to_string()))
        {
            notes.push(format!("user {}", sanitize(user.as_bytes())));
        }
    }
    if parent.is_none_or(|p| p.sid != node.sid) {
        notes.push(format!("sid {}", node.sid));
    }
    if parent.is_none_or(|p| p.pgid != node.pgid) {
        notes.push(format!("pgid {}", node.pgid));
    }
    let mut tail = String::new();
    if !notes.is_empty() {
        tail.push_str(&paint(color, DIM, &format!("  [{}]", notes.join(" "))));
    }
    if node.markers.orphaned {
        tail.push_str(&paint(color, YELLOW, "  [orphaned]"));
    }
    if let Some(cwd) = &node.cwd {
        tail.push_str(&format!("  cwd {}", sanitize(cwd.as_os_str().as_bytes())));
    }
    // The arguments after the name, cut first when the line is too wide for
    // the terminal (never in a pipe).
    let args: Vec<String> = node
        .cmdline
        .iter()
        .skip(1)
        .map(|w| sanitize(w.as_bytes()))
        .collect();
    let mut args = if args.is_empty() {
        String::new()
    } else {
        format!(" {}", args.join(" "))
    };
    if let Some(width) = width {
        let used = visible_len(&head) + visible_len(&tail);
        let room = width.saturating_sub(used);
        if args.chars().count() > room {
            args = match room {
                0..=4 => String::new(),
                _ => format!("{}…", args.chars().take(room - 1).collect::<String>()),
            };
        }
    }
    out.push_str(&head);
    if !args.is_empty() {
        out.push_str(&paint(color, DIM, &args));
    }
    out.push_str(&tail);
    out.push('\n');
    for (i, child) in node.children.iter().enumerate() {
        draw(
            child,
            Some(node),
            &next,
            i + 1 == node.children.len(),
            color,
            width,
            out,
        );
    }
}

/// The name a process is shown by: its command name, or, for a program
/// run from a memfd (whose name is the kernel's `memfd:...`), the name it
/// was started as (`argv[0]`'s last component), as `ps -o args` shows it.
fn shown_name(node: &TreeNode) -> String {
    let comm = node.comm.as_bytes();
    match node.cmdline.first() {
        Some(argv0) if comm.starts_with(b"memfd:") => {
            let argv0 = argv0.as_bytes();
            let base = argv0.rsplit(|&b| b == b'/').next().unwrap_or(argv0);
            format!("{} (memfd)", sanitize(base))
        }
        _ => sanitize(comm),
    }
}

/// Characters a terminal shows of `text` (colour escapes take none).
fn visible_len(text: &str) -> usize {
    let mut count = 0;
    let mut escape = false;
    for c in text.chars() {
        match (escape, c) {
            (false, '\u{1b}') => escape = true,
            (true, 'm') => escape = false,
            (true, _) => {}
            (false, _) => count += 1,
        }
    }
    count
}
