//! `limier who`: who holds a port, and why.

use super::args::WhoArgs;
use super::format::{age, chain};
use super::sanitize::sanitize;
use super::style::{paint, BOLD, DIM, YELLOW};
use super::{terse_pids, to_json, unseen_note, CliError, Outcome, Render};
use limier::ecluse::{EcluseError, Owner, Repo};
use limier::platform::ProcessId;
use limier::query::Dossier;
use limier::who::{ask, WhoQuestion, WhoReport};
use std::os::unix::ffi::OsStrExt;

pub fn run(args: &WhoArgs, render: Render) -> Result<Outcome, CliError> {
    let mut notes = Vec::new();
    let repo = find_repo(args, &mut notes)?;
    let question = WhoQuestion {
        ports: limier::input::PortList::flatten(&args.ports),
        pids: args.pid.iter().map(|&p| ProcessId(p)).collect(),
        all_states: args.all_states,
        every_port: args.ports.is_empty() && args.pid.is_empty(),
        name: args.pgrep.pattern(),
        owner: args.pgrep.user,
    };
    if let Some(why) = question.name.as_ref().and_then(|p| p.matches_nothing()) {
        return Err(CliError(why));
    }
    let backend = limier::platform::Backend::new()?;
    let report = ask(&backend, &question, repo.as_ref())?;
    notes.extend(report.warnings.iter().map(|w| format!("warning: {w}")));
    notes.extend(
        report
            .missing_pids
            .iter()
            .map(|pid| format!("no process with pid {pid}")),
    );
    let stdout = match render {
        Render::Json => to_json(&report)?,
        Render::Terse => terse_pids(
            report
                .holders()
                .map(|h| h.process.pid)
                .chain(report.processes.iter().map(|d| d.pid)),
        ),
        Render::Human { .. } if question.every_port && !args.why => listing(&report),
        Render::Human { color } => human(&report, color),
    };
    // The human views say why a socket shows no holder beside it; JSON and
    // pid lists cannot, so the note says it there.
    if !render.is_human() {
        notes.extend(report.unseen.iter().filter_map(unseen_note));
    }
    Ok(Outcome {
        stdout,
        notes,
        code: if report.found() {
            super::EXIT_FOUND
        } else {
            super::EXIT_NOTHING
        },
    })
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

/// `limier who` with no port: one line a socket, like `ss -ltnp` with names.
/// Holders of one shared socket (a pre-fork server) share its line.
fn listing(report: &WhoReport) -> String {
    let in_repo = report.ecluse_repo.is_some();
    let mut header = vec!["PORT", "ADDRESS", "STATE", "PID", "USER", "COMMAND"];
    if in_repo {
        header.push("ECLUSE");
    }
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for port in &report.ports {
        for socket in &port.sockets {
            let s = &socket.socket;
            let address = format!("{}{}", s.local_addr, remote_end(s));
            let pids: Vec<String> = socket
                .holders
                .iter()
                .map(|h| h.process.pid.to_string())
                .collect();
            let (user, command, session) = match socket.holders.first() {
                Some(first) => {
                    let d = &first.process;
                    let user = d
                        .user
                        .clone()
                        .or_else(|| d.uid.map(|u| u.to_string()))
                        .unwrap_or_else(|| "?".into());
                    let words: Vec<String> =
                        d.cmdline.iter().map(|w| sanitize(w.as_bytes())).collect();
                    let command = if words.is_empty() {
                        format!("[{}]", sanitize(d.comm.as_bytes()))
                    } else {
                        words.join(" ")
                    };
                    let session = match &first.session {
                        Some(Owner::Unattributed) | None => String::new(),
                        Some(owner) => sanitize(owner.to_string().as_bytes()),
                    };
                    (sanitize(user.as_bytes()), command, session)
                }
                None => (
                    "-".into(),
                    format!("({})", no_holder_reason(s, report.not_inspectable)),
                    String::new(),
                ),
            };
            let mut row = vec![
                format!("{}/{}", s.local_port, s.protocol),
                address,
                s.state.to_string(),
                if pids.is_empty() {
                    "-".into()
                } else {
                    pids.join(",")
                },
                user,
                command,
            ];
            if in_repo {
                // The last column may be long: the command moves after it.
                let command = row.pop().unwrap_or_default();
                row.push(if session.is_empty() {
                    "-".into()
                } else {
                    session
                });
                row.push(command);
            }
            rows.push(row);
        }
    }
    if rows.len() == 1 {
        return String::new();
    }
    if in_repo {
        rows[0].swap(6, 5);
    }
    super::format::table(&rows)
}

fn human(report: &WhoReport, color: bool) -> String {
    let mut out = String::new();
    // Of several ports asked (a list, a range), the free ones are said in
    // one line at the end, as lsof and ss leave them out.
    let several = report.ports.len() > 1;
    let mut free: Vec<&str> = Vec::new();
    for port in &report.ports {
        let nothing = port.sockets.is_empty() && port.clients.is_empty();
        if nothing && several {
            free.push(&port.query);
            continue;
        }
        if port.sockets.is_empty() {
            out.push_str(&format!(
                ":{} {}\n",
                port.query,
                paint(color, DIM, "nothing holds this port")
            ));
        }
        for socket in &port.sockets {
            let s = &socket.socket;
            out.push_str(&paint(color, BOLD, &socket_head(s, "")));
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
            // Holders of one socket running the same command as the same
            // user in the same place and session (a pre-fork server's
            // workers) are one group: the first is shown in full, the
            // others by pid and fd.
            let mut shown: Vec<usize> = Vec::new();
            for (index, holder) in socket.holders.iter().enumerate() {
                if shown.contains(&index) {
                    continue;
                }
                let group: Vec<usize> = (index + 1..socket.holders.len())
                    .filter(|other| {
                        !shown.contains(other) && same_work(holder, &socket.holders[*other])
                    })
                    .collect();
                shown.extend(&group);
                let same: Vec<&limier::who::HolderReport> =
                    group.iter().map(|&other| &socket.holders[other]).collect();
                out.push_str(&dossier_lines(&holder.process, Some(holder.fd), color));
                if let Some(owner) = &holder.session {
                    let text = match owner {
                        Owner::Unattributed => "no ecluse session".to_string(),
                        owner => owner.to_string(),
                    };
                    out.push_str(&format!("    ecluse  {}\n", sanitize(text.as_bytes())));
                }
                if !same.is_empty() {
                    let list: Vec<String> = same
                        .iter()
                        .map(|o| format!("{} (fd {})", o.process.pid, o.fd))
                        .collect();
                    out.push_str(&format!(
                        "    also   {}: the same command, user, cwd and session\n",
                        list.join(", ")
                    ));
                }
            }
        }
        for client in &port.clients {
            let head = socket_head(&client.socket, " (client)");
            out.push_str(&paint(color, BOLD, &head));
            out.push('\n');
            for holder in &client.holders {
                out.push_str(&dossier_lines(&holder.process, Some(holder.fd), color));
            }
        }
    }
    if !free.is_empty() {
        let text = if free.len() <= 8 {
            let list: Vec<String> = free.iter().map(|q| format!(":{q}")).collect();
            format!("nothing holds {}", list.join(" "))
        } else {
            format!("nothing holds {} of the ports asked", free.len())
        };
        out.push_str(&paint(color, DIM, &text));
        out.push('\n');
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

/// A socket's line: `:PORT/PROTO STATE ADDR`, `role` (` (client)`), and its
/// remote end when it has one.
fn socket_head(s: &limier::platform::SocketRecord, role: &str) -> String {
    format!(
        ":{}/{} {} {}{role}{}",
        s.local_port,
        s.protocol,
        s.state,
        s.local_addr,
        remote_end(s)
    )
}

/// ` → ADDR:PORT` for a connected socket, else nothing.
fn remote_end(s: &limier::platform::SocketRecord) -> String {
    match (s.remote_addr, s.remote_port) {
        (Some(addr), Some(port)) => format!(" → {addr}:{port}"),
        _ => String::new(),
    }
}

/// Whether two holders of one socket are the same work: the same command
/// line, user, cwd, state and session.
fn same_work(a: &limier::who::HolderReport, b: &limier::who::HolderReport) -> bool {
    let (p, q) = (&a.process, &b.process);
    // Never grouped on an empty command line: nothing says what they run.
    !p.cmdline.is_empty()
        && p.cmdline == q.cmdline
        && p.comm == q.comm
        && p.exe == q.exe
        && p.uid == q.uid
        && p.cwd == q.cwd
        && p.cwd_deleted == q.cwd_deleted
        && p.state == q.state
        && p.orphaned == q.orphaned
        && p.inspectable == q.inspectable
        && a.session == b.session
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
