//! Capturing a snapshot from the platform backend, in parallel where it pays.

use super::{Layers, Process, Snapshot};
use limier_platform::{Backend, PlatformError, ProcessId};
use rayon::prelude::*;

/// When to read processes on rayon's thread pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parallelism {
    /// Parallel when there are at least
    /// [`CaptureOptions::PARALLEL_THRESHOLD`] processes (see BENCHMARKS.md
    /// for the measurement).
    Auto,
    Sequential,
    Parallel,
}

/// How to capture a snapshot.
#[derive(Debug, Clone, Copy)]
pub struct CaptureOptions {
    pub layers: Layers,
    pub parallelism: Parallelism,
}

impl CaptureOptions {
    /// From this many processes on, reading on rayon's pool pays. Measured
    /// on 2 cores (`cargo bench --bench scaling`): at 269 processes every
    /// layer captures 1.7-2x faster in parallel while starting the pool costs
    /// 0.11 ms; below 128 processes a whole capture takes about a millisecond
    /// and one thread is kept.
    pub const PARALLEL_THRESHOLD: usize = 128;

    pub fn new(layers: Layers) -> Self {
        CaptureOptions {
            layers,
            parallelism: Parallelism::Auto,
        }
    }

    fn parallel(&self, process_count: usize) -> bool {
        match self.parallelism {
            Parallelism::Sequential => false,
            Parallelism::Parallel => true,
            Parallelism::Auto => {
                let heavy = self.layers.fds
                    || self.layers.maps
                    || self.layers.environ
                    || self.layers.details;
                heavy && process_count >= Self::PARALLEL_THRESHOLD
            }
        }
    }
}

/// Captures the process table and the requested layers.
///
/// A process that vanishes mid-read is dropped and counted in
/// `Snapshot::vanished`; one whose links or layers are refused is kept and
/// marked not inspectable. Only a failure to list processes at all is an error.
///
/// ```no_run
/// use limier::snapshot::{capture, CaptureOptions, Layers};
/// let backend = limier_platform::Backend::new()?;
/// let snapshot = capture(&backend, CaptureOptions::new(Layers::PORTS))?;
/// println!("{} processes", snapshot.len());
/// # Ok::<(), limier_platform::PlatformError>(())
/// ```
pub fn capture(backend: &Backend, options: CaptureOptions) -> Result<Snapshot, PlatformError> {
    let captured_at_ms = Backend::now_epoch_ms();
    let pids = backend.list_pids()?;
    let layers = options.layers;
    let read = |&pid: &ProcessId| read_process(backend, pid, layers);
    let (results, sockets) = if options.parallel(pids.len()) {
        rayon::join(
            || pids.par_iter().map(read).collect::<Vec<_>>(),
            || read_sockets(backend, layers),
        )
    } else {
        let sockets = read_sockets(backend, layers);
        (pids.iter().map(read).collect(), sockets)
    };
    let sockets = sockets?;
    let mut vanished = 0;
    let mut processes = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Some(process) => processes.push(process),
            None => vanished += 1,
        }
    }
    let mut snapshot = Snapshot::from_parts(
        processes,
        sockets,
        layers,
        Backend::self_pid(),
        captured_at_ms,
    );
    snapshot.vanished = vanished;
    Ok(snapshot)
}

fn read_sockets(
    backend: &Backend,
    layers: Layers,
) -> Result<Vec<limier_platform::SocketRecord>, PlatformError> {
    if layers.sockets {
        backend.sockets()
    } else {
        Ok(Vec::new())
    }
}

/// Reads one process; `None` when it vanished (or is unreadable as a whole).
fn read_process(backend: &Backend, pid: ProcessId, layers: Layers) -> Option<Process> {
    let per_process = layers.details || layers.fds || layers.maps || layers.environ;
    if !per_process {
        // The process table alone: one stat read, no directory fd.
        return backend.read_record(pid).ok().map(Process::from_record);
    }
    let dir = backend.open_process(pid).ok()?;
    let mut record = dir.basic().ok()?;
    if layers.details {
        dir.add_details(&mut record).ok()?;
    }
    let mut process = Process::from_record(record);
    if process.record.kernel_thread {
        return Some(process);
    }
    let mut denied = Vec::new();
    // A zombie keeps its /proc entry but has no fds or maps: a layer that
    // reports "gone" only drops the process if its stat is gone too.
    let alive = || dir.stat().is_ok();
    if layers.fds {
        process.fds = layer(dir.fds(), "fds", &mut denied, alive)?;
    }
    if layers.maps {
        process.maps = layer(dir.maps(), "maps", &mut denied, alive)?;
    }
    if layers.environ {
        process.environ = layer(dir.environ(), "environ", &mut denied, alive)?;
    }
    process.denied = denied;
    Some(process)
}

/// Sorts a layer's result: value, refused (kept, noted), or vanished (`None`).
fn layer<T>(
    result: Result<T, PlatformError>,
    name: &'static str,
    denied: &mut Vec<&'static str>,
    alive: impl Fn() -> bool,
) -> Option<Option<T>> {
    match result {
        Ok(value) => Some(Some(value)),
        Err(err) if err.is_gone() => alive().then_some(None),
        Err(_) => {
            // Permission denied, or a read error on one file: the process is
            // kept and reported as not fully inspectable.
            denied.push(name);
            Some(None)
        }
    }
}
