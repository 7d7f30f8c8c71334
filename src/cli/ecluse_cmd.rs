//! `limier ecluse status | down | flush`.

use super::args::{EcluseCommand, RepoArgs};
use super::format::table;
use super::kill::{options, render_report};
use super::sanitize::sanitize_str;
use super::{capture_with, to_json, unchecked_note, CliError, Outcome, Render};
use limier::ecluse::{
    down_selection, flush_selection, status, Attribution, Repo, SessionStatus, TeardownPlan,
    Verdict,
};
use limier::platform::Backend;
use limier::snapshot::Snapshot;
use limier::sweep::sweep_from;
use serde::Serialize;

pub fn run(command: &EcluseCommand, render: Render) -> Result<Outcome, CliError> {
    match command {
        EcluseCommand::Status { slug, repo } => run_status(slug.as_deref(), repo, render),
        EcluseCommand::Down { slug, repo, sweep } => {
            let repo = open_repo(repo)?;
            let snapshot = capture_with(repo.teardown_capture_options())?;
            let attribution = Attribution::build(&snapshot, &repo, std::slice::from_ref(slug));
            let plan = down_selection(&snapshot, &attribution, slug)?;
            run_teardown(&snapshot, plan, sweep, render)
        }
        EcluseCommand::Flush { repo, sweep } => {
            let repo = open_repo(repo)?;
            let snapshot = capture_with(repo.teardown_capture_options())?;
            let attribution = Attribution::build(&snapshot, &repo, &[]);
            let plan = flush_selection(&snapshot, &repo, &attribution);
            run_teardown(&snapshot, plan, sweep, render)
        }
    }
}

/// Finds the repo from `--repo` or the current directory.
pub(crate) fn open_repo(args: &RepoArgs) -> Result<Repo, CliError> {
    let start = match &args.repo {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().map_err(|e| CliError(format!("current directory: {e}")))?,
    };
    Ok(Repo::discover_within(
        &start,
        limier::query::RESOLVE_PATIENCE,
        args.lock_timeout,
    )?)
}

#[derive(Serialize)]
struct StatusReport<'a> {
    #[serde(serialize_with = "limier::platform::records::serialize_path")]
    repo: std::path::PathBuf,
    sessions: &'a [SessionStatus],
    skipped: &'a [String],
    not_inspectable: usize,
}

fn run_status(
    slug: Option<&str>,
    repo_args: &RepoArgs,
    render: Render,
) -> Result<Outcome, CliError> {
    let repo = open_repo(repo_args)?;
    let snapshot = capture_with(repo.capture_options())?;
    let attribution = Attribution::build(&snapshot, &repo, &[]);
    let sessions = status(&snapshot, &repo, &attribution, slug)?;
    let unhealthy = sessions.iter().any(|s| !s.all_healthy);
    let stdout = match render {
        Render::Json => to_json(&StatusReport {
            repo: repo.root.clone(),
            sessions: &sessions,
            skipped: &attribution.skipped,
            not_inspectable: snapshot.not_inspectable_count(),
        })?,
        Render::Terse => super::terse_pids(
            sessions
                .iter()
                .flat_map(|s| &s.services)
                .filter_map(|s| s.listener_pid),
        ),
        Render::Human { .. } => human_status(&sessions),
    };
    let mut notes: Vec<String> =
        unchecked_note(&limier::query::NamedProcess::not_inspectable(&snapshot))
            .into_iter()
            .collect();
    if render != Render::Json {
        notes.extend(attribution.skipped.iter().cloned());
    }
    Ok(Outcome {
        stdout,
        notes,
        code: if unhealthy {
            super::EXIT_NOTHING
        } else {
            super::EXIT_FOUND
        },
    })
}

fn human_status(sessions: &[SessionStatus]) -> String {
    if sessions.is_empty() {
        return "no sessions in .ecluse/state.json\n".into();
    }
    let mut rows = vec![vec![
        "SESSION".to_string(),
        "SLOT".into(),
        "SERVICE".into(),
        "TYPE".into(),
        "PORT".into(),
        "STATUS".into(),
        "PID".into(),
        "LISTENER".into(),
        "LISTENER'S SESSION".into(),
    ]];
    for session in sessions {
        for service in &session.services {
            let status = match service.verdict {
                Verdict::Up => "up".to_string(),
                Verdict::Down if !service.managed => "unmanaged".into(),
                Verdict::Down => "DOWN".into(),
                Verdict::WrongOwner => "WRONG OWNER".into(),
                Verdict::NotJudged => "docker".into(),
            };
            rows.push(vec![
                sanitize_str(&session.slug),
                session.slot.to_string(),
                sanitize_str(&service.name),
                service.kind.to_string(),
                service.port.map_or("-".into(), |p| p.to_string()),
                status,
                service.pid.map_or("-".into(), |p| p.to_string()),
                service.listener_pid.map_or("-".into(), |p| p.to_string()),
                service
                    .listener_session
                    .as_ref()
                    .map_or("-".into(), |o| sanitize_str(&o.to_string())),
            ]);
        }
    }
    table(&rows)
}

#[derive(Serialize)]
struct TeardownReport<'a> {
    #[serde(flatten)]
    sweep: &'a limier::sweep::SweepReport,
    skipped: &'a [String],
}

fn run_teardown(
    snapshot: &Snapshot,
    plan: TeardownPlan,
    sweep_args: &super::args::SweepArgs,
    render: Render,
) -> Result<Outcome, CliError> {
    let backend = Backend::new()?;
    let options = options(sweep_args);
    // Nothing to select (a refused worktree, no port, no evidence): nothing
    // is swept, and the skipped lines say why.
    let report = if plan.selection.selectors.is_empty() {
        limier::sweep::SweepReport::nothing(&options)
    } else {
        sweep_from(&backend, Some(snapshot), &plan.selection, &options)?
    };
    let mut outcome = render_report(&report, render)?;
    if render == Render::Json {
        // The skipped items are in the JSON itself.
        outcome.stdout = to_json(&TeardownReport {
            sweep: &report,
            skipped: &plan.skipped,
        })?;
    } else {
        outcome
            .notes
            .extend(plan.skipped.iter().map(|s| format!("skipped: {s}")));
    }
    Ok(outcome)
}
