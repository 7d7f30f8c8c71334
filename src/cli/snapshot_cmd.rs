//! `limier snapshot`: the raw snapshot.

use super::args::SnapshotArgs;
use super::format::table;
use super::{live_snapshot, terse_pids, to_json, CliError, Outcome, Render};
use limier::snapshot::Layers;

/// `limier snapshot --json`: the snapshot, and which processes are orphans.
#[derive(serde::Serialize)]
struct SnapshotReport<'a> {
    #[serde(flatten)]
    snapshot: &'a limier::snapshot::Snapshot,
    orphaned: Vec<limier::ProcessId>,
}

pub fn run(args: &SnapshotArgs, render: Render) -> Result<Outcome, CliError> {
    let layers = Layers {
        environ: !args.no_environ,
        ..Layers::ALL
    };
    let snapshot = live_snapshot(layers)?;
    let stdout = if render.json {
        // The orphan markers `who` and `tree` show, decided the same way
        // (from structure alone with --no-environ).
        let orphaned = snapshot
            .processes()
            .map(|p| p.pid())
            .filter(|&pid| limier::query::is_orphaned(&snapshot, pid))
            .collect();
        to_json(&SnapshotReport {
            snapshot: &snapshot,
            orphaned,
        })?
    } else if render.terse {
        terse_pids(snapshot.processes().map(|p| p.pid()))
    } else {
        let fds: usize = snapshot
            .processes()
            .map(|p| p.fds.as_ref().map_or(0, Vec::len))
            .sum();
        let maps: usize = snapshot
            .processes()
            .map(|p| p.maps.as_ref().map_or(0, Vec::len))
            .sum();
        let rows = vec![
            vec!["processes".to_string(), snapshot.len().to_string()],
            vec!["open fds".to_string(), fds.to_string()],
            vec!["mapped files".to_string(), maps.to_string()],
            vec!["sockets".to_string(), snapshot.sockets().len().to_string()],
            vec![
                "not inspectable".to_string(),
                snapshot.not_inspectable_count().to_string(),
            ],
            vec![
                "vanished mid-read".to_string(),
                snapshot.vanished.to_string(),
            ],
        ];
        format!(
            "{}(the data itself: limier snapshot --json)\n",
            table(&rows)
        )
    };
    Ok(Outcome {
        stdout,
        // The forest is whole whoever asks; what could not be read is
        // counted in the table and the JSON.
        notes: Vec::new(),
        code: super::EXIT_FOUND,
    })
}
