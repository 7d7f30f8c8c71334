//! `limier in DIR`: every process using a directory tree.

use super::args::InArgs;
use super::format::table;
use super::sanitize::sanitize;
use super::{terse_pids, to_json, unresolved_note, CliError, Outcome, Render};
use limier::query::{dir_users_below, resolve_typed_dir, RESOLVE_PATIENCE};
use limier::snapshot::{capture, Layers, UseKind};
use serde::Serialize;
use std::os::unix::ffi::OsStrExt;

/// `limier in --json`.
#[derive(Debug, Serialize)]
pub struct InReport {
    #[serde(serialize_with = "limier::platform::records::serialize_path")]
    pub dir: std::path::PathBuf,
    /// Why `dir` is the typed path rather than its canonical form (its
    /// filesystem did not answer, or failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
    pub users: Vec<InUser>,
    /// What the answer could not see, as `kill --dir` says it: processes
    /// that could not be checked, processes in a mount namespace whose
    /// mounts could not be read (their paths read as below `dir`), uses
    /// whose deleted-ness cannot be told.
    pub unseen: Vec<limier::query::Unseen>,
}

#[derive(Debug, Serialize)]
pub struct InUser {
    pub pid: limier::platform::ProcessId,
    pub comm: limier::platform::ByteString,
    pub uid: Option<u32>,
    pub user: Option<String>,
    pub cmdline: Vec<limier::platform::ByteString>,
    /// Every use, by kind then path (each names the pid too).
    pub uses: Vec<limier::snapshot::PathUse>,
}

pub fn run(args: &InArgs, render: Render) -> Result<Outcome, CliError> {
    let typed = resolve_typed_dir(&args.dir, RESOLVE_PATIENCE)?;
    let dir = typed.path.clone();
    let backend = limier::Backend::new()?;
    let mut snapshot = capture(&backend, typed.capture_options(Layers::FILES))?;
    let unchecked = limier::query::NamedProcess::not_inspectable(&snapshot);
    // `dir` is already canonical and checked: no second resolution.
    let found = dir_users_below(&snapshot, &dir)?;
    let users = found.users;
    // A directory that is not there is matched by the path it had only
    // when something still uses it (a deleted worktree someone's cwd is
    // in); one no process names never existed as far as anyone can tell:
    // an error, not "nobody uses it", so that a typo never reads as free.
    if typed.found == limier::query::DirFound::Former
        && users.is_empty()
        && found.undecided.is_empty()
        && found.unplaceable.is_empty()
    {
        return Err(CliError(super::kill::missing_dir_error(
            &args.dir,
            !unchecked.is_empty(),
        )));
    }
    // The command line and owner, for the users reported only.
    let reported: Vec<_> = users.iter().map(|user| user.pid).collect();
    snapshot.load_details(&backend, &reported, false);
    let users: Vec<InUser> = users
        .into_iter()
        .filter_map(|user| {
            let process = snapshot.process(user.pid)?;
            Some(InUser {
                pid: user.pid,
                comm: process.record.comm.clone(),
                uid: process.record.uid,
                user: process.record.uid.and_then(limier::platform::user_name),
                cmdline: process.record.cmdline.clone(),
                uses: user.uses,
            })
        })
        .collect();
    let report = InReport {
        dir,
        unresolved: typed.unresolved(),
        users,
        unseen: (!unchecked.is_empty())
            .then_some(limier::query::Unseen::Processes {
                count: unchecked.len(),
                processes: unchecked,
            })
            .into_iter()
            .chain((!found.unplaceable.is_empty()).then_some(
                limier::query::Unseen::OtherMountNamespace {
                    pids: found.unplaceable,
                },
            ))
            .chain(
                found
                    .undecided
                    .into_iter()
                    .map(|u| limier::query::Unseen::Undecided {
                        pid: u.pid,
                        path: u.text,
                    }),
            )
            .collect(),
    };
    let stdout = if render.json {
        to_json(&report)?
    } else if render.terse {
        terse_pids(report.users.iter().map(|u| u.pid))
    } else {
        human(&report)
    };
    Ok(Outcome {
        stdout,
        notes: unresolved_note(&args.dir, &typed)
            .into_iter()
            .chain(report.unseen.iter().filter_map(super::unseen_note))
            .collect(),
        code: if report.users.is_empty() {
            super::EXIT_NOTHING
        } else {
            super::EXIT_FOUND
        },
    })
}

fn human(report: &InReport) -> String {
    if report.users.is_empty() {
        return format!(
            "no process uses {}\n",
            sanitize(report.dir.as_os_str().as_bytes())
        );
    }
    let mut rows = vec![vec![
        "PID".into(),
        "USER".into(),
        "COMMAND".into(),
        "USE".into(),
        "PATH".into(),
    ]];
    for user in &report.users {
        let name = user
            .uid
            .and_then(limier::platform::user_name)
            .or_else(|| user.uid.map(|u| u.to_string()))
            .unwrap_or_else(|| "?".into());
        for path_use in &user.uses {
            let kind = match path_use.kind {
                UseKind::Cwd => "cwd".to_string(),
                UseKind::Root => "root".to_string(),
                UseKind::Exe => "exe".to_string(),
                UseKind::Fd(fd) => format!("fd {fd}"),
                UseKind::Map => "map".to_string(),
            };
            let mut path = sanitize(path_use.path.as_os_str().as_bytes());
            if path_use.deleted {
                path.push_str(" (deleted)");
            }
            if let Some(via) = &path_use.via {
                let through = sanitize(via.path.as_os_str().as_bytes());
                match via.mount_ns {
                    Some(namespace) if via.path == report.dir => {
                        path.push_str(&format!("  [mount ns {namespace}]"))
                    }
                    Some(namespace) => {
                        path.push_str(&format!("  [via {through} in mount ns {namespace}]"))
                    }
                    None => path.push_str(&format!("  [via {through}]")),
                }
            }
            rows.push(vec![
                user.pid.to_string(),
                sanitize(name.as_bytes()),
                sanitize(user.comm.as_bytes()),
                kind,
                path,
            ]);
        }
    }
    table(&rows)
}
