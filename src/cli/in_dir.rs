//! `limier in DIR`: every process using a directory tree.

use super::args::InArgs;
use super::format::table;
use super::sanitize::sanitize;
use super::{terse_pids, to_json, unresolved_note, CliError, Outcome, Render};
use limier::query::{dir_answer, resolve_typed_dir, DirAnswer, RESOLVE_PATIENCE};
use limier::snapshot::{capture, Layers, UseKind};
use std::os::unix::ffi::OsStrExt;

pub fn run(args: &InArgs, render: Render) -> Result<Outcome, CliError> {
    let typed = resolve_typed_dir(&args.dir, RESOLVE_PATIENCE)?;
    let backend = limier::Backend::new()?;
    let mut snapshot = capture(&backend, typed.capture_options(Layers::FILES))?;
    let report = dir_answer(&mut snapshot, &backend, &typed)?;
    if report.names_nothing_there() {
        return Err(CliError(super::kill::missing_dir_error(
            &args.dir,
            &report.unseen,
        )));
    }
    let stdout = match render {
        Render::Json => to_json(&report)?,
        Render::Terse => terse_pids(report.users.iter().map(|u| u.pid)),
        Render::Human { .. } => human(&report),
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

fn human(report: &DirAnswer) -> String {
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
