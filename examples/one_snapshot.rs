//! One snapshot, many questions, then one sweep from it (a dry run): who
//! listens on a port, who uses a directory, what each of them is, and what
//! a sweep of both would do.
//!
//!     cargo run --example one_snapshot -- PORT DIR

use limier::query::{
    descendants, holders, resolve_typed_dir, tcp_listening_ports, users_below, RESOLVE_PATIENCE,
};
use limier::snapshot::{capture, Layers, Snapshot};
use limier::sweep::{sweep_from, Selection, Selector, SweepOptions};
use limier::ProcessId;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(port), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: one_snapshot PORT DIR");
        std::process::exit(2);
    };
    let port: limier::input::PortSpec = port.parse()?;
    let dir = resolve_typed_dir(dir.as_ref(), RESOLVE_PATIENCE)?;
    let backend = limier::Backend::new()?;

    // The layers both questions need; each process held by its pidfs inode
    // from its first read, since a sweep will signal from this snapshot.
    let mut options = dir.capture_options(Layers::FILES.union(Layers::PORTS));
    options.pin = true;
    let mut snapshot = capture(&backend, options)?;

    let listeners: Vec<ProcessId> = holders(&snapshot, port.query(false))?
        .iter()
        .flat_map(|holding| holding.pids())
        .collect();
    let users: Vec<ProcessId> = users_below(&snapshot, &dir.path)?
        .iter()
        .map(|user| user.pid)
        .collect();
    // Command lines and owners only for the processes shown.
    let shown: Vec<ProcessId> = listeners.iter().chain(&users).copied().collect();
    snapshot.load_details(&backend, &shown, false);

    println!("listening on {port}:");
    for &pid in &listeners {
        describe(&snapshot, pid);
    }
    println!("using {}:", dir.path.display());
    for &pid in &users {
        describe(&snapshot, pid);
    }

    // One sweep over the union, resolved on the same snapshot: what it
    // would signal, and why (a dry run signals nothing).
    let selection = Selection::new(vec![
        Selector::Port(port.query(false)),
        Selector::Dir(dir.clone()),
    ]);
    let options = SweepOptions {
        dry_run: true,
        ..SweepOptions::default()
    };
    let report = sweep_from(&backend, Some(&snapshot), &selection, &options)?;
    println!("a sweep would:");
    for process in &report.processes {
        println!(
            "  {} {}: {} ({})",
            process.pid(),
            process.comm.to_string_lossy(),
            report.process_text(process),
            process
                .selected_by
                .iter()
                .map(|why| why.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// One line for a process: its command, its TCP ports, how many
/// descendants it has.
fn describe(snapshot: &Snapshot, pid: ProcessId) {
    let Some(process) = snapshot.process(pid) else {
        return;
    };
    println!(
        "  {pid} {}  ports {:?}  {} descendants",
        process.command_line(),
        tcp_listening_ports(snapshot, pid),
        descendants(snapshot, pid).len()
    );
}
