//! `limier kill`: the race-resistant sweep.

use super::args::{KillArgs, SweepArgs};
use super::format::table;
use super::sanitize::{sanitize, sanitize_str};
use super::{terse_pids, to_json, unresolved_note, CliError, Outcome, Render};
use limier::platform::{Backend, ProcessId};
use limier::query::{resolve_typed_dir, RESOLVE_PATIENCE};
use limier::sweep::{sweep, Fate, NamePattern, Selection, Selector, SweepOptions, SweepReport};

pub fn run(args: &KillArgs, render: Render) -> Result<Outcome, CliError> {
    let mut selectors = Vec::new();
    selectors.extend(args.pid.iter().map(|&p| Selector::Pid(ProcessId(p))));
    selectors.extend(args.pgid.iter().map(|&p| Selector::Pgid(ProcessId(p))));
    selectors.extend(args.sid.iter().map(|&p| Selector::Sid(ProcessId(p))));
    let ports =
        limier::input::PortList::for_sweep(&args.port).map_err(|err| CliError(err.to_string()))?;
    selectors.extend(ports.iter().map(|spec| Selector::Port(spec.query(false))));
    let mut notes = Vec::new();
    // Each directory that is not there, with its selector's label.
    let mut missing_dirs = Vec::new();
    for dir in &args.dir {
        let typed = resolve_typed_dir(dir, RESOLVE_PATIENCE)?;
        notes.extend(unresolved_note(dir, &typed));
        let selector = Selector::Dir(typed);
        if matches!(&selector, Selector::Dir(t) if t.found == limier::query::DirFound::Former) {
            missing_dirs.push((dir.clone(), selector.label()));
        }
        selectors.push(selector);
    }
    selectors.extend(args.env.iter().map(|(key, value)| Selector::Env {
        key: key.clone(),
        value: value.clone(),
    }));
    selectors.extend(args.name.iter().map(|text| {
        Selector::Name(NamePattern {
            text: text.clone(),
            full: args.full,
        })
    }));
    if args.full && args.name.is_empty() {
        return Err(CliError(
            "-f/--full applies to --name PATTERN: give one".into(),
        ));
    }
    // A pattern that can match nothing here is said, not swept for.
    for selector in &selectors {
        if let Selector::Name(pattern) = selector {
            if let Some(why) = pattern.matches_nothing() {
                return Err(CliError(why));
            }
        }
    }
    // -u alone selects the user's processes; beside other selectors it
    // narrows them to that user's.
    if let (Some(uid), true) = (args.user, selectors.is_empty()) {
        selectors.push(Selector::User(uid));
    }
    if selectors.is_empty() {
        return Err(CliError(
            "nothing to select: give --pid, --pgid, --sid, --port, --dir, --env, --name or -u"
                .into(),
        ));
    }
    let backend = Backend::new()?;
    let mut selection = Selection::new(selectors);
    selection.allow_system_dirs = args.allow_system_dir;
    selection.owner = args.user;
    let report = sweep(&backend, &selection, &options(&args.sweep))?;
    // As `in`: a directory that is not there and that no process uses is
    // a typo, not "nothing to sweep" — unless something could not be
    // checked (then the notes say what, and nothing is claimed).
    // Processes whose paths read as below a selected directory but were
    // not taken: they may use it, so nothing is claimed.
    let maybe_used = report
        .unseen
        .iter()
        .any(limier::query::Unseen::may_hide_a_directory_user);
    for (dir, label) in &missing_dirs {
        let used = report
            .processes
            .iter()
            .any(|p| p.selected_by.iter().any(|why| why.selector == *label));
        if !used && !maybe_used {
            return Err(CliError(missing_dir_error(dir, &report.unseen)));
        }
    }
    let mut outcome = render_report(&report, render)?;
    // A --pid that named no process: said the same way as `who --pid`.
    for &pid in &args.pid {
        if !report.processes.iter().any(|p| p.pid().0 == pid) {
            notes.push(format!("no process with pid {pid}"));
        }
    }
    notes.append(&mut outcome.notes);
    outcome.notes = notes;
    Ok(outcome)
}

/// The error for a directory that is not there and that no process uses;
/// where `unseen` names processes that could not be checked, said of the
/// processes limier could check.
pub(crate) fn missing_dir_error(dir: &std::path::Path, unseen: &[limier::query::Unseen]) -> String {
    let who = if unseen.iter().any(limier::query::Unseen::is_unchecked) {
        "no process limier could check"
    } else {
        "no process"
    };
    format!(
        "{}: no such directory (and {who} uses one deleted from there)",
        super::sanitize::sanitize(dir.as_os_str().as_encoded_bytes())
    )
}

pub(crate) fn options(args: &SweepArgs) -> SweepOptions {
    SweepOptions {
        signal: args.signal,
        grace: args.grace,
        freeze: !args.no_freeze,
        dry_run: args.dry_run,
        ..SweepOptions::default()
    }
}

pub(crate) fn render_report(report: &SweepReport, render: Render) -> Result<Outcome, CliError> {
    let stdout = match render {
        Render::Json => to_json(report)?,
        Render::Terse => terse_pids(
            report
                .processes
                .iter()
                .filter(|p| !matches!(p.fate, Fate::Spared { .. }))
                .map(|p| p.pid()),
        ),
        Render::Human { .. } => human(report),
    };
    // What the selection could not see, after the report; a respawn is in
    // the human view, and said on stderr beside JSON and pid lists.
    let mut notes: Vec<String> = report
        .unseen
        .iter()
        .filter_map(super::unseen_note)
        .collect();
    if !render.is_human() {
        notes.extend(
            report
                .respawned
                .iter()
                .map(|r| sanitize_str(&r.to_string())),
        );
    }
    Ok(Outcome {
        stdout,
        notes,
        code: exit_code(report),
    })
}

/// 0 all gone, 1 nothing matched, 3 survivors (or spared for a reason
/// other than protection, or a port taken again by a respawn).
pub(crate) fn exit_code(report: &SweepReport) -> i32 {
    if report.processes.is_empty() {
        super::EXIT_NOTHING
    } else if report.survivor_count() > 0 || !report.respawned.is_empty() {
        super::EXIT_SURVIVORS
    } else {
        super::EXIT_FOUND
    }
}

fn human(report: &SweepReport) -> String {
    if report.processes.is_empty() {
        return "nothing matched the selection\n".into();
    }
    let mut rows = vec![vec![
        "PID".into(),
        "USER".into(),
        "FATE".into(),
        "SELECTED BY".into(),
        "COMMAND".into(),
    ]];
    for process in &report.processes {
        let user = process
            .user
            .clone()
            .or_else(|| process.uid.map(|uid| uid.to_string()))
            .unwrap_or_else(|| "?".into());
        let words: Vec<String> = process
            .cmdline
            .iter()
            .map(|w| sanitize(w.as_bytes()))
            .collect();
        let command = if words.is_empty() {
            format!("[{}]", sanitize(process.comm.as_bytes()))
        } else {
            words.join(" ")
        };
        rows.push(vec![
            process.pid().to_string(),
            sanitize(user.as_bytes()),
            match process.unreaped_by {
                Some(parent) => format!(
                    "{}; zombie (parent {parent} has not reaped it)",
                    report.process_text(process)
                ),
                None => report.process_text(process),
            },
            sanitize_str(
                &process
                    .selected_by
                    .iter()
                    .map(|why| why.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            command,
        ]);
    }
    let mut out = table(&rows);
    let spared = report.count(|f| matches!(f, Fate::Spared { .. }));
    let spared_text = if spared > 0 {
        format!(", {spared} spared")
    } else {
        String::new()
    };
    if report.dry_run {
        let would = report.count(|f| matches!(f, Fate::WouldSignal));
        out.push_str(&format!(
            "dry run: would signal {}{spared_text}\n",
            processes(would)
        ));
    } else {
        // One count per fate, so the counts add up to the rows (the zero
        // ones left out); a process that exited or was killed but is still
        // unreaped is said apart.
        let counts: Vec<String> = [
            (report.count(|f| matches!(f, Fate::Exited)), "exited"),
            (report.count(|f| matches!(f, Fate::Killed)), "killed"),
            (
                report.count(|f| matches!(f, Fate::AlreadyGone)),
                "already gone",
            ),
            (
                report.count(|f| matches!(f, Fate::Zombie { .. })),
                "already zombies",
            ),
            (spared, "spared"),
            (
                report.count(|f| matches!(f, Fate::Survived { .. })),
                "survived",
            ),
        ]
        .into_iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, fate)| format!("{count} {fate}"))
        .collect();
        let unreaped = report
            .processes
            .iter()
            .filter(|p| p.unreaped_by.is_some())
            .count();
        let unreaped = match unreaped {
            0 => String::new(),
            1 => "; 1 left a zombie its parent has not reaped".into(),
            n => format!("; {n} left zombies their parents have not reaped"),
        };
        out.push_str(&format!(
            "swept {} in {:.0} ms: {}{unreaped}\n",
            processes(report.processes.len()),
            report.duration_ms,
            counts.join(", "),
        ));
    }
    for respawn in &report.respawned {
        out.push_str(&sanitize_str(&respawn.to_string()));
        out.push('\n');
    }
    out
}

/// "1 process", "2 processes".
fn processes(count: usize) -> String {
    match count {
        1 => "1 process".into(),
        n => format!("{n} processes"),
    }
}
