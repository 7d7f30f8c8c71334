//! Carrying out a sweep: freeze, signal, wait, kill, verify.

use super::{
    choose_first_signal, plan, Fate, Plan, Selection, SignalChoice, SpareReason, SweepError,
    SweepOptions, SweepReport, SweptProcess,
};
use crate::snapshot::{capture, CaptureOptions, Snapshot};
use limier_platform::parse::StatFields;
use limier_platform::{
    Backend, Disposition, Identity, Pin, ProcessHandle, ProcessId, ProcessState, Signal,
    SignalError, StartTime,
};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long to wait for exits after SIGKILL before calling a process a survivor.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// Captures, plans and executes a sweep, re-selecting after each round until
/// nothing new matches (bounded by `options.max_rounds`).
pub fn sweep(
    backend: &Backend,
    selection: &Selection,
    options: &SweepOptions,
) -> Result<SweepReport, SweepError> {
    sweep_from(backend, None, selection, options)
}

/// [`sweep`], resolving the first round on `snapshot` when given (it must
/// hold the layers `selection.layers()` names, and be captured with
/// [`CaptureOptions::pin`] — unpinned records are checked by start time
/// alone) instead of capturing anew.
pub fn sweep_from(
    backend: &Backend,
    snapshot: Option<&Snapshot>,
    selection: &Selection,
    options: &SweepOptions,
) -> Result<SweepReport, SweepError> {
    if selection.selectors.is_empty() {
        return Err(SweepError::EmptySelection);
    }
    let started = Instant::now();
    let mut first = snapshot;
    let respawn = selection.respawn_selection();
    let mut processes: Vec<SweptProcess> = Vec::new();
    let mut unseen = Vec::new();
    let mut handled: HashSet<Identity> = HashSet::new();
    let mut watches = Vec::new();
    let mut rounds = 0;
    while rounds < options.max_rounds.max(1) {
        let round_selection = if rounds == 0 { selection } else { &respawn };
        if round_selection.selectors.is_empty() {
            break;
        }
        let captured;
        let snapshot = match first.take() {
            Some(given) => given,
            None => {
                captured = capture(backend, round_selection.capture_options())?;
                &captured
            }
        };
        let mut round_plan = plan(snapshot, round_selection)?;
        if rounds == 0 {
            unseen = std::mem::take(&mut round_plan.unseen);
            let targets: HashSet<ProcessId> =
                round_plan.to_signal().map(|t| t.identity.pid).collect();
            watches = super::respawn::watches(snapshot, selection, &targets, &round_plan.protected);
        }
        round_plan
            .targets
            .retain(|t| !handled.contains(&t.identity));
        super::plan::describe(backend, &mut round_plan.targets);
        // A second round only acts on processes that are new and signallable.
        let nothing_to_signal = round_plan.to_signal().next().is_none();
        if rounds > 0 && nothing_to_signal {
            break;
        }
        rounds += 1;
        let round = execute(backend, &round_plan, options);
        handled.extend(round.iter().map(|p| p.identity));
        processes.extend(round);
        // A respawn answers a kill: a round that signalled nothing has
        // nothing to re-check (and a capture to save).
        if options.dry_run || nothing_to_signal {
            break;
        }
    }
    // A port whose holders' parent survives is watched for a while: a
    // supervisor restarting what was ended is named (not ended: the sweep
    // did not select it).
    watches.retain(|watch| watch.all_ended(&processes));
    let respawned = if options.dry_run || watches.is_empty() {
        Vec::new()
    } else {
        super::respawn::watch(backend, watches, &handled, options.grace)
    };
    settle_zombies(backend, &mut processes);
    processes.sort_by_key(|p| p.identity);
    Ok(SweepReport {
        dry_run: options.dry_run,
        signal: options.signal.to_string(),
        grace_ms: options.grace.as_millis() as u64,
        rounds,
        // To a tenth of a millisecond: finer digits are noise.
        duration_ms: (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
        processes,
        unseen,
        respawned,
    })
}

/// One round: the plan's targets, plus descendants forked while frozen.
///
/// Each target is signalled only through a handle whose identity was checked
/// immediately before (see [`Backend::open_handle`]).
pub fn execute(backend: &Backend, plan: &Plan, options: &SweepOptions) -> Vec<SweptProcess> {
    let mut swept: Vec<SweptProcess> = Vec::with_capacity(plan.targets.len());
    let mut to_open: Vec<usize> = Vec::new();
    for target in &plan.targets {
        let mut entry = SweptProcess {
            identity: target.identity,
            started_at_ms: Some(target.started_at_ms),
            comm: target.name.clone(),
            uid: target.uid,
            user: target.uid.and_then(limier_platform::user_name),
            cmdline: target.cmdline.clone(),
            selected_by: target.selected_by.clone(),
            fate: Fate::WouldSignal,
            unreaped_by: None,
            first_signal: None,
        };
        if let Some(why) = &target.spare {
            entry.fate = Fate::Spared { why: why.clone() };
        } else if let Some(parent) = target.zombie_of {
            entry.fate = Fate::Zombie { parent };
        } else {
            to_open.push(swept.len());
        }
        swept.push(entry);
    }
    // A dry run opens and tests too (no signal is sent), so it predicts a
    // process gone, recycled or not ours to signal; it closes each handle
    // at once (holding thousands would grow the fd table, and growing the
    // table of a threaded process waits for an RCU grace period each time).
    // Each opening is a few system calls: for a selection of a whole
    // machine's dev servers they are spread over rayon's pool.
    if !options.dry_run {
        Backend::reserve_fds(to_open.len());
    }
    let open_target = |index: &usize| {
        let target = &plan.targets[*index];
        let result = open(backend, target.identity, target.pin);
        (
            *index,
            result.map(|handle| (!options.dry_run).then_some(handle)),
        )
    };
    let opened: Vec<(usize, Result<Option<ProcessHandle>, Fate>)> =
        if to_open.len() >= CaptureOptions::PARALLEL_THRESHOLD {
            to_open.par_iter().map(open_target).collect()
        } else {
            to_open.iter().map(open_target).collect()
        };
    let mut handles: Vec<(usize, ProcessHandle)> = Vec::new();
    for (index, result) in opened {
        match result {
            Ok(Some(handle)) => handles.push((index, handle)),
            Ok(None) => {}
            Err(fate) => swept[index].fate = fate,
        }
    }
    if options.dry_run || handles.is_empty() {
        return swept;
    }
    let mut table = ParentTable::new(plan.table.clone(), plan.protected.clone());
    if options.freeze {
        signal_all(&handles, Signal::Stop, &mut swept);
        wait_until_stopped(backend, &handles, &table);
        catch_forks(backend, options, &mut table, &mut handles, &mut swept, true);
    }
    // What each target does with the signal asked for, read while it is
    // frozen: one that ignores or blocks it is not waited for in vain (an
    // interactive shell gets SIGHUP, anything else SIGKILL once the others
    // are signalled).
    for (index, handle) in &handles {
        let entry = &mut swept[*index];
        let asked = backend.disposition(handle.identity(), options.signal);
        let hup = asked
            .filter(|d| matches!(d, Disposition::Ignored | Disposition::Blocked))
            .and_then(|_| backend.disposition(handle.identity(), Signal::Hup));
        entry.first_signal = choose_first_signal(options.signal, asked, hup, entry.comm.as_bytes());
    }
    let first_signal_of = |swept: &[SweptProcess], index: usize| {
        swept[index]
            .first_signal
            .as_ref()
            .map_or(options.signal, SignalChoice::signal)
    };
    let mut firsts = vec![options.signal];
    if options.signal != Signal::Hup {
        firsts.push(Signal::Hup);
    }
    for signal in firsts {
        let group: Vec<(usize, &ProcessHandle)> = handles
            .iter()
            .filter(|(index, _)| first_signal_of(&swept, *index) == signal)
            .map(|(index, handle)| (*index, handle))
            .collect();
        signal_each(&group, signal, &mut swept);
    }
    signal_all(&handles, Signal::Cont, &mut swept);
    if !options.freeze {
        // Unfrozen targets may have forked between the snapshot and the
        // signal: the children caught get the first signal too.
        let signalled = handles.len();
        catch_forks(
            backend,
            options,
            &mut table,
            &mut handles,
            &mut swept,
            false,
        );
        signal_all(&handles[signalled..], options.signal, &mut swept);
        signal_all(&handles[signalled..], Signal::Cont, &mut swept);
    }
    // Those for which the signal asked for is pointless: SIGKILL now, and
    // no grace.
    let (killed_now, mut handles): (Vec<_>, Vec<_>) =
        handles.into_iter().partition(|(index, _)| {
            options.signal != Signal::Kill
                && matches!(swept[*index].fate, Fate::WouldSignal)
                && first_signal_of(&swept, *index) == Signal::Kill
        });
    let killed_now: Vec<(usize, &ProcessHandle)> = killed_now
        .iter()
        .map(|(index, handle)| (*index, handle))
        .collect();
    signal_each(&killed_now, Signal::Kill, &mut swept);
    // Only what is still being swept is waited for: a process the signal
    // was refused for is not going anywhere.
    handles.retain(|(index, _)| matches!(swept[*index].fate, Fate::WouldSignal));
    let deadline = Instant::now() + options.grace;
    let waited: Vec<&ProcessHandle> = handles.iter().map(|(_, h)| h).collect();
    let exited = ProcessHandle::wait_for_exits(&waited, deadline);
    let mut survivors = Vec::new();
    for ((index, handle), exited) in handles.iter().zip(exited) {
        if matches!(swept[*index].fate, Fate::WouldSignal) {
            if exited {
                swept[*index].fate = Fate::Exited;
            } else {
                survivors.push((*index, handle));
            }
        }
    }
    for &(index, handle) in &survivors {
        match handle.send_signal(Signal::Kill) {
            Ok(()) | Err(SignalError::Gone { .. }) => {}
            Err(err) => {
                swept[index].fate = Fate::Survived {
                    detail: err.to_string(),
                }
            }
        }
    }
    // The killed at once are judged with the survivors.
    survivors.extend(killed_now);
    let waited: Vec<&ProcessHandle> = survivors.iter().map(|&(_, h)| h).collect();
    let exited = ProcessHandle::wait_for_exits(&waited, Instant::now() + KILL_WAIT);
    for (&(index, handle), exited) in survivors.iter().zip(exited) {
        if matches!(swept[index].fate, Fate::WouldSignal) {
            swept[index].fate = if exited {
                Fate::Killed
            } else {
                let channel = backend.wait_channel(handle.identity());
                Fate::Survived {
                    detail: survivor_detail(channel.as_deref()),
                }
            };
        }
    }
    swept
}

/// Says why a process outlived SIGKILL, from the kernel function it sleeps
/// in: a pending SIGKILL only acts when the task returns from the kernel.
fn survivor_detail(wait_channel: Option<&str>) -> String {
    let Some(channel) = wait_channel else {
        return "still alive after SIGKILL (uninterruptible sleep?)".into();
    };
    let hint = if channel.contains("fuse") || channel == "request_wait_answer" {
        "; a FUSE filesystem is not answering (its server may be stopped or hung)"
    } else if channel.contains("nfs") || channel.starts_with("rpc_") {
        "; an NFS server is not answering"
    } else {
        ""
    };
    format!("still alive after SIGKILL, asleep in the kernel at {channel}{hint}")
}

/// Opens an identity-checked handle that may be signalled, recording the
/// fate when it cannot be had or the signal would be refused.
/// Opens a target for signalling and tests that it may be signalled; the
/// fate to report when it cannot be.
fn open(backend: &Backend, identity: Identity, pin: Pin) -> Result<ProcessHandle, Fate> {
    match backend
        .open_handle(identity, pin)
        .and_then(|handle| handle.test_signal().map(|()| handle))
    {
        Ok(handle) => Ok(handle),
        Err(SignalError::Gone { .. }) => Err(Fate::AlreadyGone),
        Err(SignalError::IdentityChanged { .. }) => Err(Fate::Spared {
            why: SpareReason::IdentityChanged,
        }),
        Err(SignalError::PermissionDenied { .. }) => {
            // The owner, for the report: read once, for this rare case.
            let owner = backend
                .open_incarnation(identity)
                .and_then(|dir| dir.basic())
                .ok()
                .and_then(|record| record.uid);
            Err(Fate::Spared {
                why: SpareReason::PermissionDenied { owner },
            })
        }
        Err(err) => Err(Fate::Survived {
            detail: err.to_string(),
        }),
    }
}

fn signal_all(handles: &[(usize, ProcessHandle)], signal: Signal, swept: &mut [SweptProcess]) {
    let each: Vec<(usize, &ProcessHandle)> = handles.iter().map(|(i, h)| (*i, h)).collect();
    signal_each(&each, signal, swept);
}

/// [`signal_all`] over borrowed handles.
fn signal_each(handles: &[(usize, &ProcessHandle)], signal: Signal, swept: &mut [SweptProcess]) {
    for &(index, handle) in handles {
        let index = &index;
        match handle.send_signal(signal) {
            // Gone: it exited on its own; the wait will see it.
            Ok(()) | Err(SignalError::Gone { .. }) => {}
            Err(SignalError::PermissionDenied { .. }) => {
                swept[*index].fate = Fate::Spared {
                    why: SpareReason::PermissionDenied { owner: None },
                };
            }
            Err(err) => {
                swept[*index].fate = Fate::Survived {
                    detail: err.to_string(),
                };
            }
        }
    }
}

/// Adds descendants of targets forked after the snapshot, until the set
/// stops growing (bounded). Each round lists the live pids and reads the stat
/// of those the sweep has not seen yet (a child forked meanwhile always has a
/// new pid); when `freeze`, each newcomer is stopped at once so it cannot
/// fork in turn.
fn catch_forks(
    backend: &Backend,
    options: &SweepOptions,
    table: &mut ParentTable,
    handles: &mut Vec<(usize, ProcessHandle)>,
    swept: &mut Vec<SweptProcess>,
    freeze: bool,
) {
    for _ in 0..options.max_freeze_rounds.max(1) {
        if table.refresh(backend).is_err() {
            return;
        }
        let known: HashSet<Identity> = swept.iter().map(|p| p.identity).collect();
        let newcomers = new_descendants(
            &table.stats,
            handles,
            &known,
            &table.protected,
            &table.at_capture,
        );
        if newcomers.is_empty() {
            return;
        }
        let first_new = handles.len();
        for (identity, pin, parent, name) in newcomers {
            let mut entry = SweptProcess {
                identity,
                started_at_ms: None,
                comm: name,
                uid: None,
                user: None,
                cmdline: Vec::new(),
                // The selector that took its parent (or the parent's own
                // parent, forked during the sweep too).
                selected_by: vec![super::SelectedBy {
                    selector: swept
                        .iter()
                        .find(|p| p.pid() == parent)
                        .and_then(|p| p.selected_by.first())
                        .map_or_else(
                            || "forked during the sweep".into(),
                            |why| why.selector.clone(),
                        ),
                    how: super::Match::ForkedDuringSweep { parent },
                }],
                fate: Fate::WouldSignal,
                unreaped_by: None,
                first_signal: None,
            };
            match open(backend, identity, pin) {
                Ok(handle) => {
                    if freeze {
                        let _ = handle.send_signal(Signal::Stop);
                    }
                    handles.push((swept.len(), handle));
                }
                Err(fate) => entry.fate = fate,
            }
            swept.push(entry);
        }
        if freeze {
            wait_until_stopped(backend, &handles[first_new..], table);
        }
    }
}

/// How long a frozen process may take to stop after SIGSTOP (it stops on
/// its way back from the kernel: a fork in flight completes first).
const STOP_WAIT: Duration = Duration::from_millis(200);

/// Waits until every handle's process has stopped (or exited), bounded by
/// [`STOP_WAIT`]: SIGSTOP is delivered asynchronously, and a process still
/// running can fork a child after the sweep looked for new ones.
///
/// # References
/// signal(7) (stop signals), proc(5) `/proc/pid/stat` field 3.
fn wait_until_stopped(backend: &Backend, handles: &[(usize, ProcessHandle)], table: &ParentTable) {
    let deadline = Instant::now() + STOP_WAIT;
    // A tmux server continues a pane's stopped processes at once (it sends
    // SIGCONT to the group of a child that stopped): waiting for them to
    // stay stopped would always run out the bound, for nothing.
    let mut running: Vec<&ProcessHandle> = handles
        .iter()
        .map(|(_, h)| h)
        .filter(|h| !table.hosted_by_tmux(h.identity().pid))
        .collect();
    while !running.is_empty() && Instant::now() < deadline {
        running.retain(|handle| {
            let identity = handle.identity();
            match backend.read_stat(identity.pid) {
                Ok(stat) if stat.start == identity.start => !matches!(
                    stat.state,
                    ProcessState::Stopped
                        | ProcessState::TracingStop
                        | ProcessState::Zombie
                        | ProcessState::Dead
                ),
                // Gone, or the pid names another process: not running.
                _ => false,
            }
        });
        if !running.is_empty() {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

/// Parent links of every process, kept up to date between freeze rounds by
/// reading only pids not seen before.
pub(super) struct ParentTable {
    stats: Vec<(StatFields, Pin)>,
    seen: HashSet<ProcessId>,
    protected: HashSet<ProcessId>,
    /// Every process the plan's snapshot held: one of them that the plan
    /// did not select was left out on purpose (a `--name` match's child),
    /// not forked during the sweep.
    at_capture: HashSet<Identity>,
}

impl ParentTable {
    /// Whether `pid` runs under a tmux server (an ancestor whose command
    /// name starts with `tmux`). Cycle-safe.
    fn hosted_by_tmux(&self, pid: ProcessId) -> bool {
        let parent_of = |pid: ProcessId| {
            self.stats
                .iter()
                .find(|(stat, _)| stat.pid == pid)
                .map(|(stat, _)| stat)
        };
        let mut seen = HashSet::new();
        let mut current = parent_of(pid).map(|stat| stat.ppid);
        while let Some(ancestor) = current {
            if ancestor.0 == 0 || !seen.insert(ancestor) {
                return false;
            }
            let Some(stat) = parent_of(ancestor) else {
                return false;
            };
            if super::is_tmux_server(stat.comm.as_bytes()) {
                return true;
            }
            current = Some(stat.ppid);
        }
        false
    }

    /// Starts from the plan's snapshot.
    pub(super) fn new(
        snapshot_stats: Vec<(StatFields, Pin)>,
        protected: HashSet<ProcessId>,
    ) -> Self {
        let seen = snapshot_stats.iter().map(|(s, _)| s.pid).collect();
        let at_capture = snapshot_stats
            .iter()
            .map(|(s, _)| Identity {
                pid: s.pid,
                start: s.start,
            })
            .collect();
        ParentTable {
            stats: snapshot_stats,
            seen,
            protected,
            at_capture,
        }
    }

    /// Reads the pids not seen before, each pinned while its stat is read
    /// (see [`Backend::pin_before_read`]).
    fn refresh(&mut self, backend: &Backend) -> Result<(), limier_platform::PlatformError> {
        for pid in backend.list_pids()? {
            if self.seen.insert(pid) {
                let attempt = backend.pin_before_read(pid);
                if let Ok(stat) = backend.read_stat(pid) {
                    self.stats.push((stat, attempt.after_read()));
                }
            }
        }
        Ok(())
    }
}

/// Processes in `table` below a live handle's process that the sweep has not
/// seen and the plan's snapshot did not hold (those it held and did not
/// select, with what runs below them, are left out on purpose).
fn new_descendants(
    table: &[(StatFields, Pin)],
    handles: &[(usize, ProcessHandle)],
    known: &HashSet<Identity>,
    protected: &HashSet<ProcessId>,
    at_capture: &HashSet<Identity>,
) -> Vec<(Identity, Pin, ProcessId, limier_platform::ByteString)> {
    let mut children: HashMap<ProcessId, Vec<&(StatFields, Pin)>> = HashMap::new();
    let mut starts: HashMap<ProcessId, StartTime> = HashMap::new();
    for entry in table {
        children.entry(entry.0.ppid).or_default().push(entry);
        starts.insert(entry.0.pid, entry.0.start);
    }
    let mut found = Vec::new();
    let mut frontier: Vec<ProcessId> = handles
        .iter()
        .map(|(_, h)| h.identity())
        .filter(|id| starts.get(&id.pid) == Some(&id.start))
        .map(|id| id.pid)
        .collect();
    let mut seen: HashSet<ProcessId> = frontier.iter().copied().collect();
    while let Some(parent) = frontier.pop() {
        for (child, pin) in children.get(&parent).into_iter().flatten().copied() {
            if !seen.insert(child.pid) || protected.contains(&child.pid) {
                continue;
            }
            let identity = Identity {
                pid: child.pid,
                start: child.start,
            };
            if at_capture.contains(&identity) && !known.contains(&identity) {
                continue;
            }
            if !known.contains(&identity) && child.state != ProcessState::Zombie {
                found.push((identity, *pin, parent, child.comm.clone()));
            }
            frontier.push(child.pid);
        }
    }
    found
}

/// Notes exited processes that are still unreaped zombies at report time.
///
/// No waiting: a reaper (often init) may take its time, and a zombie holds
/// no fds or ports, so it already counts as gone.
fn settle_zombies(backend: &Backend, processes: &mut [SweptProcess]) {
    for process in processes.iter_mut() {
        if !matches!(process.fate, Fate::Exited | Fate::Killed) {
            continue;
        }
        let Ok(stat) = backend.open_process(process.pid()).and_then(|d| d.stat()) else {
            continue;
        };
        if stat.start == process.identity.start && stat.state == ProcessState::Zombie {
            process.unreaped_by = Some(stat.ppid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::survivor_detail;

    #[test]
    fn a_survivor_is_explained_by_its_wait_channel() {
        let fuse = survivor_detail(Some("request_wait_answer"));
        assert!(fuse.contains("at request_wait_answer"), "{fuse}");
        assert!(fuse.contains("FUSE"), "{fuse}");
        let nfs = survivor_detail(Some("rpc_wait_bit_killable"));
        assert!(nfs.contains("NFS"), "{nfs}");
        let other = survivor_detail(Some("do_sys_poll"));
        assert!(other.ends_with("at do_sys_poll"), "{other}");
        assert!(survivor_detail(None).contains("uninterruptible sleep?"));
    }
}
