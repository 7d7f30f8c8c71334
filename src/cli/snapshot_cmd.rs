//! `limier snapshot`: the raw snapshot.

use super::args::SnapshotArgs;
use super::format::table;
use super::{terse_pids, to_json, CliError, Outcome, Render};
use limier::snapshot::Layers;

/// `limier snapshot --json`: the snapshot, and which processes are orphans.
#[derive(serde::Serialize)]
struct SnapshotReport<'a> {
    #[serde(flatten)]
    snapshot: &'a limier::snapshot::Snapshot,
    orphaned: Vec<limier::ProcessId>,
}

pub fn run(args: &SnapshotArgs, render: Render) -> Result<Outcome, CliError> {
    // Environments are shown only when asked for; without them, only the
    // reparented processes' are read, for the orphan markers `who` and
    // `tree` show (decided the same way), then dropped.
    let backend = limier::Backend::new()?;
    let layers = Layers {
        environ: args.environ,
        ..Layers::ALL
    };
    let mut snapshot =
        limier::snapshot::capture(&backend, limier::snapshot::CaptureOptions::new(layers))?;
    let candidates = if args.environ {
        Vec::new()
    } else {
        limier::query::orphan_candidates(&snapshot)
    };
    snapshot.load_details(&backend, &candidates, true);
    let orphaned = snapshot
        .processes()
        .map(|p| p.pid())
        .filter(|&pid| limier::query::is_orphaned(&snapshot, pid))
        .collect();
    if !args.environ {
        snapshot.forget_environ();
    }
    let stdout = match render {
        Render::Json => {
            let mut document = serde_json::to_value(SnapshotReport {
                snapshot: &snapshot,
                orphaned,
            })
            .map_err(|e| CliError(e.to_string()))?;
            name_users(&mut document);
            to_json(&document)?
        }
        Render::Terse => terse_pids(snapshot.processes().map(|p| p.pid())),
        Render::Human { .. } => {
            let fds: usize = snapshot
                .processes()
                .map(|p| p.fds.as_ref().map_or(0, Vec::len))
                .sum();
            let maps: usize = snapshot
                .processes()
                .map(|p| p.maps.as_ref().map_or(0, Vec::len))
                .sum();
            let mut rows = vec![
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
            for (name, layer) in [
                ("fds read by", &snapshot.sources.fds),
                ("mapped files read by", &snapshot.sources.maps),
            ] {
                if let Some(layer) = layer {
                    rows.push(vec![name.to_string(), readers(layer)]);
                }
            }
            format!(
                "{}(the data itself: limier snapshot --json)\n",
                table(&rows)
            )
        }
    };
    Ok(Outcome {
        stdout,
        // The forest is whole whoever asks; what could not be read is
        // counted in the table and the JSON.
        notes: Vec::new(),
        code: super::EXIT_FOUND,
    })
}

/// "kernel-iterator 1650, maps-text 3 (kernel-iterator not used: ...)".
fn readers(layer: &limier::snapshot::LayerSources) -> String {
    let served: Vec<String> = layer
        .served
        .iter()
        .map(|(reader, count)| format!("{reader} {count}"))
        .collect();
    let mut text = if served.is_empty() {
        "nothing read".to_string()
    } else {
        served.join(", ")
    };
    if let Some(not_used) = &layer.not_used {
        text.push_str(&format!(
            " ({} not used: {})",
            not_used.reader,
            limier::sanitize::sanitize_str(&not_used.why.to_string())
        ));
    }
    text
}

/// Gives every process of a snapshot document the name of its uid
/// (`user`, `null` for a uid with none), as every report does; each uid
/// is looked up once.
fn name_users(document: &mut serde_json::Value) {
    let mut names: std::collections::HashMap<u64, Option<String>> =
        std::collections::HashMap::new();
    let Some(processes) = document.get_mut("processes").and_then(|p| p.as_array_mut()) else {
        return;
    };
    for process in processes {
        let Some(fields) = process.as_object_mut() else {
            continue;
        };
        let Some(uid) = fields.get("uid").and_then(|u| u.as_u64()) else {
            fields.insert("user".into(), serde_json::Value::Null);
            continue;
        };
        let name = names
            .entry(uid)
            .or_insert_with(|| {
                u32::try_from(uid)
                    .ok()
                    .and_then(limier::platform::user_name)
            })
            .clone();
        fields.insert("user".into(), name.into());
    }
}
