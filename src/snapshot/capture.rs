//! Capturing a snapshot from the platform backend, in parallel where it pays.

use super::sources::{NotUsed, Sources, Tally, WhyNotUsed};
use super::{DirTree, Layer, Layers, Process, Snapshot};
use limier_platform::{
    Backend, FdRecord, FdScope, FdTable, FdTarget, LayerReader, MapReader, MapRoots, MountTables,
    NamespaceMember, PlatformError, ProcessId,
};
use rayon::prelude::*;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// When to read processes on rayon's thread pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parallelism {
    /// Parallel when there are at least
    /// [`CaptureOptions::PARALLEL_THRESHOLD`] processes (see BENCHMARKS.md
    /// for the measurement).
    Auto,
    /// One thread.
    Sequential,
    /// rayon's pool, whatever the count.
    Parallel,
}

/// Where one layer — fds, mapped files, or the process table read alone —
/// comes from. Each layer is chosen on its own: a kernel that refuses one
/// program costs only that layer its speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdSource {
    /// The kernel's iterator where it is available (root, or CAP_BPF with
    /// CAP_PERFMON, on a kernel with BTF that accepts the program, initial
    /// pid namespace; an ordinary user never tries it) and the machine has
    /// at least [`CaptureOptions::KERNEL_DUMP_THRESHOLD`] processes; the
    /// /proc readers otherwise. The snapshot's [`Sources`] say which served.
    Auto,
    /// The kernel's iterator for this layer, or the capture fails with the
    /// reason (what the tests use to prove the iterators work). It demands
    /// nothing of the other layer.
    Kernel,
    /// The /proc readers: readlink on `/proc/PID/fd/N`; `PROCMAP_QUERY`, or
    /// the text of `/proc/PID/maps` where the kernel lacks it;
    /// `/proc/PID/stat`.
    Proc,
}

impl FdSource {
    /// The fd layer's source, from `LIMIER_FD_SOURCE`: `kernel`, `proc`,
    /// `auto` or unset; any other value is an error naming it.
    pub fn from_env() -> Result<Self, String> {
        Self::from_variable("LIMIER_FD_SOURCE")
    }

    /// The mapping layer's source, from `LIMIER_MAPS_SOURCE` (the same
    /// values).
    pub fn maps_from_env() -> Result<Self, String> {
        Self::from_variable("LIMIER_MAPS_SOURCE")
    }

    /// The process table's source when it is read alone (no layer needs
    /// each process's directory, and no pin: port questions), from
    /// `LIMIER_PROCS_SOURCE` (the same values).
    pub fn procs_from_env() -> Result<Self, String> {
        Self::from_variable("LIMIER_PROCS_SOURCE")
    }

    fn from_variable(name: &str) -> Result<Self, String> {
        let Some(value) = std::env::var_os(name) else {
            return Ok(FdSource::Auto);
        };
        match value.to_str() {
            Some("kernel") => Ok(FdSource::Kernel),
            Some("proc") => Ok(FdSource::Proc),
            Some("auto" | "") => Ok(FdSource::Auto),
            _ => Err(format!("{name}={value:?} is not one of kernel, proc, auto")),
        }
    }

    /// Whether to try the kernel's iterator with `processes` processes
    /// listed and `possible` saying whether limier may load one; `Err`
    /// says why not.
    fn kernel_wanted(
        self,
        processes: usize,
        possible: impl Fn() -> bool,
    ) -> Result<(), WhyNotUsed> {
        let threshold = CaptureOptions::KERNEL_DUMP_THRESHOLD;
        match self {
            FdSource::Proc => Err(WhyNotUsed::NotAsked),
            FdSource::Kernel => Ok(()),
            FdSource::Auto if processes < threshold => Err(WhyNotUsed::FewProcesses {
                processes,
                threshold,
            }),
            FdSource::Auto if !possible() => Err(WhyNotUsed::NotPrivileged),
            FdSource::Auto => Ok(()),
        }
    }
}

/// How to capture a snapshot.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// The layers to read.
    pub layers: Layers,
    /// When to read in parallel.
    pub parallelism: Parallelism,
    /// Where fds come from.
    pub fd_source: FdSource,
    /// Where mapped files come from.
    pub maps_source: FdSource,
    /// Where the process table comes from when nothing else is read per
    /// process (otherwise each process's stat is read with its layers).
    pub procs_source: FdSource,
    /// Directories (absolute, normalised) whose users a sweep selects
    /// anyway: a process whose cwd, root, exe or an open fd already lies at
    /// or below one of them gets no mapping layer (`maps` stays `None`).
    /// Mappings are the costliest layer, and they could only select it a
    /// second time. Empty (the default): every process's mappings are read.
    pub maps_needless_below: Vec<std::path::PathBuf>,
    /// Directories (absolute, normalised) below which alone the question
    /// looks at mapped files. Where the kernel's mapping reader runs, a
    /// process's `maps` then lists only the files below them — through any
    /// mount that shows them, in any mount namespace (the reader compares
    /// the directories' dentries) — and the few it cannot judge (deleted on
    /// the way, or deeper than it climbs); it renders no other path, which
    /// is most of its cost. Which of those are uses is decided by mount
    /// table ([`DirTree`]). Other readers list every file. At most four
    /// directories (more: every file is read). Empty (the default): every
    /// mapped file.
    pub maps_only_below: Vec<std::path::PathBuf>,
    /// Hold each process by its pidfs inode from the moment it is first
    /// read ([`limier_platform::Pin`]): what a sweep's capture asks, so that
    /// a pid reused within one clock tick is never signalled. Four system
    /// calls a process more (`pidfd_open`, `fstat`, `poll`, `close`).
    pub pin: bool,
}

impl CaptureOptions {
    /// From this many processes on, reading on rayon's pool pays. Measured
    /// on 2 cores (`cargo bench --bench scaling`): at 269 processes every
    /// layer captures 1.7-2x faster in parallel while starting the pool costs
    /// 0.11 ms; below 128 processes a whole capture takes about a millisecond
    /// and one thread is kept.
    pub const PARALLEL_THRESHOLD: usize = 128;

    /// From this many processes on, [`FdSource::Auto`] reads fds with the
    /// kernel's one-pass dump. Loading the iterator costs about 2 ms (BTF
    /// lookups, verifier); measured on 2 cores, `who` took 3.0 ms by
    /// readlink against 5.0 ms by dump with 71 processes, and 7.5 ms against
    /// 5.1 ms with 135 (BENCHMARKS.md). In an unoptimised build (a library
    /// user's `cargo test`) the break-even is higher — with 108 processes
    /// `who` took 18.4 ms by dump against 16.9 ms by readlink, with 1,708
    /// 47 ms against 211 ms — so such a build waits for 150.
    pub const KERNEL_DUMP_THRESHOLD: usize = if cfg!(debug_assertions) { 150 } else { 100 };

    /// Options for `layers`, parallel where it pays, the sources from
    /// `LIMIER_FD_SOURCE` and `LIMIER_MAPS_SOURCE` ([`FdSource::from_env`],
    /// [`FdSource::maps_from_env`]; auto when invalid — the CLI rejects an
    /// invalid value before capturing).
    pub fn new(layers: Layers) -> Self {
        CaptureOptions {
            layers,
            parallelism: Parallelism::Auto,
            fd_source: FdSource::from_env().unwrap_or(FdSource::Auto),
            maps_source: FdSource::maps_from_env().unwrap_or(FdSource::Auto),
            procs_source: FdSource::procs_from_env().unwrap_or(FdSource::Auto),
            maps_needless_below: Vec::new(),
            maps_only_below: Vec::new(),
            pin: false,
        }
    }

    fn parallel(&self, process_count: usize) -> bool {
        match self.parallelism {
            Parallelism::Sequential => false,
            Parallelism::Parallel => true,
            Parallelism::Auto => {
                // Pinning is four system calls a process: as costly as a
                // layer.
                let heavy = self.layers.fds.is_some()
                    || self.layers.maps
                    || self.layers.environ
                    || self.layers.details
                    || self.layers.links
                    || self.pin;
                heavy && process_count >= Self::PARALLEL_THRESHOLD
            }
        }
    }
}

/// Which reader serves each layer, decided once, on one count of
/// processes.
struct ReaderPlan {
    /// The fds: the kernel's one-pass dump, or why not (`None`: not read).
    fd_kernel: Option<Result<(), WhyNotUsed>>,
    /// The mappings: the kernel's mapping reader, or why not.
    maps_kernel: Option<Result<(), WhyNotUsed>>,
    /// The process table: the kernel's task iterator, or why not (`None`:
    /// something is read per process anyway, so its stat comes with it).
    procs_kernel: Option<Result<(), WhyNotUsed>>,
    /// What is read per process: the layers no one-pass reader serves.
    per_process: Layers,
    /// Mappings read after the pass, for the processes that still need
    /// them (see [`CaptureOptions::maps_needless_below`]).
    maps_later: bool,
    /// The layers asked for.
    layers: Layers,
}

impl ReaderPlan {
    /// The readers for `options` with `population` processes (the
    /// thresholds' count); `possible` says whether the kernel readers can
    /// load at all.
    fn decide(options: &CaptureOptions, population: usize, possible: impl Fn() -> bool) -> Self {
        let layers = options.layers;
        let fd_kernel = layers
            .fds
            .is_some()
            .then(|| options.fd_source.kernel_wanted(population, &possible));
        let maps_kernel = layers
            .maps
            .then(|| options.maps_source.kernel_wanted(population, &possible));
        let use_dump = matches!(fd_kernel, Some(Ok(())));
        // With the kernel's fd dump, the per-process pass skips that layer;
        // it reads mappings with the kernel's mapping reader where one
        // loads — or later, when they may be needless (see
        // `maps_needless_below`).
        let maps_later = layers.maps && !options.maps_needless_below.is_empty();
        let per_process = Layers {
            fds: layers.fds.filter(|_| !use_dump),
            maps: layers.maps && !maps_later,
            ..layers
        };
        // Nothing read per process but its stat, and no pin: the kernel's
        // task iterator can give the whole table in one pass.
        let procs_kernel = (!per_process.needs_process_dir() && !options.pin)
            .then(|| options.procs_source.kernel_wanted(population, &possible));
        ReaderPlan {
            fd_kernel,
            maps_kernel,
            procs_kernel,
            per_process,
            maps_later,
            layers,
        }
    }

    /// Whether the process table comes from the kernel's task iterator
    /// alone, nothing but stat asked of any process (no mappings, even
    /// later; fds from the kernel's dump): /proc's list is then not needed
    /// before the passes.
    fn table_only(&self) -> bool {
        matches!(self.procs_kernel, Some(Ok(()))) && !self.layers.maps
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
/// let backend = limier::Backend::new()?;
/// let snapshot = capture(&backend, CaptureOptions::new(Layers::PORTS))?;
/// println!("{} processes", snapshot.len());
/// # Ok::<(), limier::PlatformError>(())
/// ```
pub fn capture(backend: &Backend, options: CaptureOptions) -> Result<Snapshot, PlatformError> {
    let options = &options;
    let captured_at_ms = Backend::now_epoch_ms();
    let layers = options.layers;
    // Asked once for every layer (it reads /proc/self/status).
    let possible = std::cell::OnceCell::new();
    let possible = || *possible.get_or_init(|| backend.fd_dump_possible());
    // Where the kernel's task iterator will give the process table, /proc
    // is listed beside the passes rather than before them (1,700 entries
    // cost 1–2 ms): the kernel's count of tasks, threads included, bounds
    // the processes from above for the thresholds.
    // (Asked only where nothing but stat and fds is wanted: the one case
    // `ReaderPlan::table_only` can take.)
    let stat_and_fds = !Layers {
        fds: None,
        ..layers
    }
    .needs_process_dir();
    let on_tasks = (stat_and_fds && !options.pin)
        .then(Backend::task_count)
        .flatten()
        .map(|tasks| ReaderPlan::decide(options, tasks, possible))
        .filter(ReaderPlan::table_only);
    let table_only = on_tasks.is_some();
    let (pids, plan) = match on_tasks {
        Some(plan) => (Vec::new(), plan),
        None => {
            let pids = backend.list_pids()?;
            let plan = ReaderPlan::decide(options, pids.len(), possible);
            (pids, plan)
        }
    };
    let ReaderPlan {
        fd_kernel,
        maps_kernel,
        procs_kernel,
        per_process,
        maps_later,
        ..
    } = plan;
    let use_dump = matches!(fd_kernel, Some(Ok(())));
    let use_map_reader = matches!(maps_kernel, Some(Ok(())));
    let use_task_table = matches!(procs_kernel, Some(Ok(())));
    let scope = layers.fds.unwrap_or(FdScope::All);
    let readers = ReaderPool::new(backend, use_map_reader, &options.maps_only_below);
    if options.maps_source == FdSource::Kernel {
        readers.demand()?;
    }
    let tallies = Tallies::default();
    let read = |reader: &mut PooledReader, pid: &ProcessId| {
        read_process(
            backend,
            *pid,
            per_process,
            options.pin,
            reader.get(),
            &tallies,
        )
    };
    let read_all = |pids: &[ProcessId]| -> Vec<Option<Process>> {
        if options.parallel(pids.len()) {
            pids.par_iter().map_init(|| readers.take(), read).collect()
        } else {
            let mut reader = readers.take();
            pids.iter().map(|pid| read(&mut reader, pid)).collect()
        }
    };
    // The fd dump trusts "no fds" only of a process the kernel's task
    // iterator visits (a kernel may hide one from its iterators): without
    // the process table from that iterator, it runs for this alone.
    let dump = || {
        use_dump.then(|| {
            let mut table = backend.dump_fds(scope)?;
            if !use_task_table {
                if let Ok(visits) = backend.dump_visits() {
                    table.set_visited(visits);
                }
            }
            Ok(table)
        })
    };
    let procs_asked = procs_kernel.is_some();
    let mut procs_not_used = procs_kernel.and_then(Result::err);
    let (results, (sockets, dump)) = if use_task_table {
        // One side: /proc's list, the process table, the sockets; the
        // other: the fd dump, the longest pass. Listed first: a pid freed
        // and reused between the two is then the table's, the process
        // running now (listed after, the new process would pass for the
        // old one the table saw).
        let ((table, listed, sockets), dump) = rayon::join(
            || {
                let listed = table_only.then(|| backend.list_pids());
                let table = backend.dump_process_table();
                (table, listed, read_sockets(backend, layers))
            },
            dump,
        );
        let listed = match listed {
            Some(listed) => listed?,
            None => pids,
        };
        let (results, visits) = match table {
            Ok(table) => {
                let records = table.records;
                tallies
                    .processes
                    .add_many(LayerReader::KernelIterator, records.len() - table.from_proc);
                tallies
                    .processes
                    .add_many(Backend::PROCESS_READER, table.from_proc);
                // A process /proc lists that the iterator did not visit
                // (hidden from it, or born since) is read from its stat.
                let visited: std::collections::HashSet<ProcessId> =
                    records.iter().map(|r| r.pid).collect();
                let unvisited: Vec<ProcessId> = listed
                    .into_iter()
                    .filter(|pid| !visited.contains(pid))
                    .collect();
                let visits: Vec<(ProcessId, limier_platform::StartTime)> =
                    records.iter().map(|r| (r.pid, r.start)).collect();
                let mut results: Vec<Option<Process>> = records
                    .into_iter()
                    .map(|record| Some(Process::from_record(record)))
                    .collect();
                results.extend(read_all(&unvisited));
                (results, Some(visits))
            }
            Err(err) if options.procs_source == FdSource::Kernel => return Err(err),
            // A refusing verifier, a time namespace, a pass that disagreed
            // with this process's stat: each stat read instead, and the
            // fd dump told which processes the iterators visit by the
            // visits pass.
            Err(err) => {
                procs_not_used = Some(WhyNotUsed::from_error(&err));
                let visits = use_dump.then(|| backend.dump_visits().ok()).flatten();
                (read_all(&listed), visits)
            }
        };
        let dump = dump.map(|dump| {
            dump.map(|mut table| {
                if let Some(visits) = visits {
                    table.set_visited(visits);
                }
                table
            })
        });
        (results, (sockets, dump))
    } else if options.parallel(pids.len()) {
        rayon::join(
            || read_all(&pids),
            || rayon::join(|| read_sockets(backend, layers), dump),
        )
    } else {
        let dump = dump();
        let sockets = read_sockets(backend, layers);
        (read_all(&pids), (sockets, dump))
    };
    let sockets = sockets?;
    let mut fd_not_used = fd_kernel.and_then(Result::err);
    let mut table = match dump {
        Some(Ok(table)) => Some(table),
        Some(Err(err)) if options.fd_source == FdSource::Kernel => return Err(err),
        // Not root, no BTF, another pid namespace, a refusing verifier:
        // readlink instead, and the sources say why.
        Some(Err(err)) => {
            fd_not_used = Some(WhyNotUsed::from_error(&err));
            None
        }
        None => None,
    };
    let mut vanished = 0;
    let mut processes = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Some(process) => processes.push(process),
            None => vanished += 1,
        }
    }
    if use_dump {
        vanished += attach_dumped_fds(backend, &mut processes, table.as_mut(), options, &tallies);
    }
    // What each process's paths are to be read against (see `DirTree`).
    let mounts = if layers.links {
        backend.read_mount_tables(processes.iter().filter_map(|process| {
            let record = &process.record;
            Some(NamespaceMember {
                namespace: record.mount_ns?,
                identity: record.identity(),
                root_is_namespace_root: record.root.as_deref() == Some(Path::new("/")),
            })
        }))
    } else {
        MountTables::default()
    };
    if maps_later {
        let trees: Vec<DirTree> = options
            .maps_needless_below
            .iter()
            .map(|dir| DirTree::new(&mounts, dir))
            .collect();
        vanished += attach_needed_maps(
            backend,
            &mut processes,
            &readers,
            (&trees, mounts.own),
            options,
            &tallies,
        );
    }
    if layers.fds == Some(FdScope::Sockets) {
        for process in &mut processes {
            if let Some(fds) = &mut process.fds {
                fds.retain(|fd| matches!(fd.target, FdTarget::Socket { .. }));
            }
        }
    }
    let maps_not_used = maps_kernel
        .and_then(Result::err)
        .or_else(|| readers.refusal());
    let not_used = |why: Option<WhyNotUsed>| {
        why.map(|why| NotUsed {
            reader: LayerReader::KernelIterator,
            why,
        })
    };
    let sources = Sources {
        fds: layers
            .fds
            .is_some()
            .then(|| tallies.fds.into_sources(not_used(fd_not_used))),
        maps: layers
            .maps
            .then(|| tallies.maps.into_sources(not_used(maps_not_used))),
        processes: procs_asked.then(|| tallies.processes.into_sources(not_used(procs_not_used))),
    };
    let mut snapshot = Snapshot::from_parts(
        processes,
        sockets,
        layers,
        Backend::self_pid(),
        captured_at_ms,
    );
    snapshot.vanished = vanished;
    snapshot.sources = sources;
    snapshot.set_mount_tables(mounts);
    snapshot.captured = true;
    Ok(snapshot)
}

/// Which reader served each process's fds and mappings.
#[derive(Default)]
struct Tallies {
    fds: Tally,
    maps: Tally,
    processes: Tally,
}

/// Gives every process its fds from the kernel dump, or — where the dump
/// did not cover it (no dump at all, or a process started or recycled
/// during the pass) — by readlink as the same incarnation. Returns how many
/// processes vanished meanwhile (they are removed).
fn attach_dumped_fds(
    backend: &Backend,
    processes: &mut Vec<Process>,
    mut table: Option<&mut FdTable>,
    options: &CaptureOptions,
    tallies: &Tallies,
) -> usize {
    let mut unread = Vec::new();
    for (index, process) in processes.iter_mut().enumerate() {
        if process.record.kernel_thread {
            continue;
        }
        let dumped = table
            .as_mut()
            .and_then(|t| t.take(process.pid(), process.record.start));
        match dumped {
            Some(fds) => {
                process.fds = Some(fds);
                tallies.fds.add(LayerReader::KernelIterator);
            }
            None => unread.push(index),
        }
    }
    let reread = |index: &usize| {
        let read = read_fds_again(backend, &processes[*index]);
        if matches!(read, Some((Some(_), _))) {
            tallies.fds.add(Backend::FD_READER);
        }
        read
    };
    let reread: Vec<_> = if options.parallel(unread.len()) {
        unread.par_iter().map(reread).collect()
    } else {
        unread.iter().map(reread).collect()
    };
    apply_rereads(processes, unread, reread, |process, fds| process.fds = fds)
}

/// Gives each process at `indices` what was read again for it (with the
/// layers refused meanwhile), and removes those that vanished; returns how
/// many did.
fn apply_rereads<T>(
    processes: &mut Vec<Process>,
    indices: Vec<usize>,
    results: Vec<Option<(T, Layers)>>,
    mut set: impl FnMut(&mut Process, T),
) -> usize {
    let mut gone = Vec::new();
    for (index, result) in indices.into_iter().zip(results) {
        match result {
            Some((value, denied)) => {
                set(&mut processes[index], value);
                let process = &mut processes[index];
                process.denied = process.denied | denied;
            }
            None => gone.push(index),
        }
    }
    // Highest index first, so each swap_remove moves a process we keep.
    for index in gone.iter().rev() {
        processes.swap_remove(*index);
    }
    gone.len()
}

/// Reads the mappings of every process that no directory of
/// `options.maps_needless_below` selects already (by cwd, root, exe or an
/// open fd), as the same incarnation. Returns how many processes vanished
/// meanwhile (they are removed).
fn attach_needed_maps(
    backend: &Backend,
    processes: &mut Vec<Process>,
    readers: &ReaderPool,
    (needless_below, own_namespace): (&[DirTree], Option<u64>),
    options: &CaptureOptions,
    tallies: &Tallies,
) -> usize {
    // Needless only where the text can be trusted to say so: a process of
    // another mount namespace may name its paths in another frame (and
    // its links are placed by mount later), so its mappings are read.
    let needless = |process: &Process| {
        let own = process.record.mount_ns.is_none() || process.record.mount_ns == own_namespace;
        own && needless_below
            .iter()
            .any(|tree| super::index::uses_anything_below(process, tree))
    };
    let needed: Vec<usize> = processes
        .iter()
        .enumerate()
        .filter(|(_, process)| !process.record.kernel_thread && !needless(process))
        .map(|(index, _)| index)
        .collect();
    let read = |reader: &mut PooledReader, index: &usize| {
        let process = &processes[*index];
        let dir = backend.open_incarnation(process.record.identity()).ok()?;
        if let Some(files) = reader
            .get()
            .and_then(|r| r.read(&dir, process.record.start))
        {
            tallies.maps.add(LayerReader::KernelIterator);
            return Some((Some(files), Layers::PROCESSES));
        }
        let mut denied = Layers::PROCESSES;
        let maps = read_maps(&dir, &mut denied, tallies)?;
        Some((maps, denied))
    };
    let results: Vec<_> = if options.parallel(needed.len()) {
        needed
            .par_iter()
            .map_init(|| readers.take(), read)
            .collect()
    } else {
        let mut reader = readers.take();
        needed
            .iter()
            .map(|index| read(&mut reader, index))
            .collect()
    };
    apply_rereads(processes, needed, results, |process, maps| {
        process.maps = maps
    })
}

/// Reads the fds of a process already captured, through a fresh directory
/// fd whose start time must match; `None` when the process is gone.
#[allow(clippy::type_complexity)]
fn read_fds_again(backend: &Backend, process: &Process) -> Option<(Option<Vec<FdRecord>>, Layers)> {
    let dir = backend.open_incarnation(process.record.identity()).ok()?;
    let mut denied = Layers::PROCESSES;
    let fds = layer(dir.fds(), Layer::Fds, &mut denied, || dir.stat().is_ok())?;
    Some((fds, denied))
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

/// Loaded kernel mapping readers, lent to one thread at a time (a reader
/// runs its program for one process after another).
struct ReaderPool<'a> {
    backend: &'a Backend,
    wanted: bool,
    /// The directories readers report files below, when they are wanted
    /// and could be found in the kernel.
    below: Option<MapRoots>,
    free: Mutex<Vec<MapReader>>,
    /// Set when loading failed once: every process reads its maps file.
    failed: AtomicBool,
    /// Why it failed (the first failure).
    refusal: Mutex<Option<WhyNotUsed>>,
}

impl<'a> ReaderPool<'a> {
    fn new(backend: &'a Backend, wanted: bool, only_below: &[std::path::PathBuf]) -> Self {
        // Directories the kernel cannot be asked about (too many, one
        // gone): every mapped file is read, as without them.
        let below = (wanted && !only_below.is_empty())
            .then(|| backend.map_roots(only_below).ok())
            .flatten();
        ReaderPool {
            backend,
            wanted,
            below,
            free: Mutex::new(Vec::new()),
            failed: AtomicBool::new(false),
            refusal: Mutex::new(None),
        }
    }

    /// Why no reader could be loaded, if one was wanted and none could.
    fn refusal(&self) -> Option<WhyNotUsed> {
        self.refusal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Loads a reader now, so that a failure is an error
    /// ([`FdSource::Kernel`]).
    fn demand(&self) -> Result<(), PlatformError> {
        if self.wanted {
            let reader = self.backend.map_reader(self.below.as_ref())?;
            self.lock().push(reader);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<MapReader>> {
        self.free
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A reader for this thread, or none (not wanted, or it cannot load).
    fn take(&self) -> PooledReader<'_, 'a> {
        let mut reader = None;
        if self.wanted && !self.failed.load(Ordering::Relaxed) {
            reader = self.lock().pop();
            if reader.is_none() {
                match self.backend.map_reader(self.below.as_ref()) {
                    Ok(loaded) => reader = Some(loaded),
                    Err(err) => {
                        self.failed.store(true, Ordering::Relaxed);
                        self.refusal
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .get_or_insert_with(|| WhyNotUsed::from_error(&err));
                    }
                }
            }
        }
        PooledReader { pool: self, reader }
    }
}

/// A reader lent by a [`ReaderPool`], given back when dropped.
struct PooledReader<'p, 'a> {
    pool: &'p ReaderPool<'a>,
    reader: Option<MapReader>,
}

impl PooledReader<'_, '_> {
    fn get(&self) -> Option<&MapReader> {
        self.reader.as_ref()
    }
}

impl Drop for PooledReader<'_, '_> {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            self.pool.lock().push(reader);
        }
    }
}

/// Reads one process; `None` when it vanished (or is unreadable as a
/// whole). Its mapped files come from `map_reader` when it has them.
fn read_process(
    backend: &Backend,
    pid: ProcessId,
    layers: Layers,
    pin: bool,
    map_reader: Option<&MapReader>,
    tallies: &Tallies,
) -> Option<Process> {
    let per_process = layers.needs_process_dir();
    // Opened before the first read, checked once the process is held by
    // its directory fd (or its stat is read): see `Backend::pin_before_read`.
    let attempt = pin.then(|| backend.pin_before_read(pid));
    let pinned = |record: &mut limier_platform::ProcessRecord| {
        if let Some(attempt) = attempt {
            record.pin = attempt.after_read();
        }
    };
    if !per_process {
        // The process table alone: one stat read, no directory fd.
        let mut record = backend.read_record(pid).ok()?;
        tallies.processes.add(Backend::PROCESS_READER);
        pinned(&mut record);
        return Some(Process::from_record(record));
    }
    let dir = backend.open_process(pid).ok()?;
    // The owner is a detail: port questions read it only for the processes
    // they report (Snapshot::load_details).
    let mut record = if layers.details {
        dir.basic().ok()?
    } else {
        dir.stat_record().ok()?
    };
    pinned(&mut record);
    if layers.links {
        dir.add_links(&mut record).ok()?;
    }
    if layers.details {
        dir.add_cmdline(&mut record).ok()?;
    }
    let mut process = Process::from_record(record);
    if process.record.kernel_thread {
        return Some(process);
    }
    let mut denied = Layers::PROCESSES;
    // A zombie keeps its /proc entry but has no fds or maps: a layer that
    // reports "gone" only drops the process if its stat is gone too.
    let alive = || dir.stat().is_ok();
    if layers.fds.is_some() {
        process.fds = layer(dir.fds(), Layer::Fds, &mut denied, alive)?;
        if process.fds.is_some() {
            tallies.fds.add(Backend::FD_READER);
        }
    }
    if layers.maps {
        let start = process.record.start;
        process.maps = match map_reader.and_then(|reader| reader.read(&dir, start)) {
            Some(files) => {
                tallies.maps.add(LayerReader::KernelIterator);
                Some(files)
            }
            None => read_maps(&dir, &mut denied, tallies)?,
        };
    }
    if layers.environ {
        process.environ = layer(dir.environ(), Layer::Environ, &mut denied, alive)?;
    }
    process.denied = denied;
    Some(process)
}

/// A process's mapped files by the /proc readers (or libproc), counting
/// which served; `None` when the process vanished.
fn read_maps(
    dir: &limier_platform::ProcessDir,
    denied: &mut Layers,
    tallies: &Tallies,
) -> Option<Option<Vec<limier_platform::MappedFile>>> {
    let read = dir.maps_read().map(|(files, reader)| {
        tallies.maps.add(reader);
        files
    });
    layer(read, Layer::Maps, denied, || dir.stat().is_ok())
}

/// Sorts a layer's result: value, refused (kept, noted), or vanished (`None`).
fn layer<T>(
    result: Result<T, PlatformError>,
    name: Layer,
    denied: &mut Layers,
    alive: impl Fn() -> bool,
) -> Option<Option<T>> {
    match result {
        Ok(value) => Some(Some(value)),
        Err(err) if err.is_gone() => alive().then_some(None),
        Err(_) => {
            // Permission denied, or a read error on one file: the process is
            // kept and reported as not fully inspectable.
            denied.insert(name);
            Some(None)
        }
    }
}
