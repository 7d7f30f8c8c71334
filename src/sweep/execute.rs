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

/// Where one line of a round stands while the round runs.
#[derive(Debug)]
enum Stage {
    /// Not to be signalled, or not signallable: its fate (spared, a
    /// zombie, gone; a dry run's lines, `WouldSignal`).
    Done(Fate),
    /// Held through `handle` to be signalled; `fate` is `None` while the
    /// round still waits to see what becomes of it. The handle stays once
    /// the fate is known: a process frozen with it is always continued.
    Held {
        handle: ProcessHandle,
        fate: Option<Fate>,
    },
}

/// One round's lines and where each stands.
struct Round {
    /// The report's lines; each one's `fate` is written when the round ends.
    swept: Vec<SweptProcess>,
    /// Where each line stands, by the same index.
    stages: Vec<Stage>,
}

impl Round {
    fn push(&mut self, entry: SweptProcess, stage: Stage) {
        self.swept.push(entry);
        self.stages.push(stage);
    }

    /// Every held line from `from` on, with its handle, in order.
    fn held_from(&self, from: usize) -> Vec<(usize, &ProcessHandle)> {
        self.stages
            .iter()
            .enumerate()
            .skip(from)
            .filter_map(|(index, stage)| match stage {
                Stage::Held { handle, .. } => Some((index, handle)),
                Stage::Done(_) => None,
            })
            .collect()
    }

    /// Whether line `index` still waits for its fate.
    fn is_pending(&self, index: usize) -> bool {
        matches!(self.stages[index], Stage::Held { fate: None, .. })
    }

    /// Every line still waiting for its fate, with its handle.
    fn pending(&self) -> Vec<(usize, &ProcessHandle)> {
        self.held_from(0)
            .into_iter()
            .filter(|(index, _)| self.is_pending(*index))
            .collect()
    }

    /// Line `index`'s fate, once known.
    fn settle(&mut self, index: usize, settled: Fate) {
        match &mut self.stages[index] {
            Stage::Held { fate, .. } => *fate = Some(settled),
            Stage::Done(fate) => *fate = settled,
        }
    }

    /// The lines, each with its fate.
    fn finish(self) -> Vec<SweptProcess> {
        self.swept
            .into_iter()
            .zip(self.stages)
            .map(|(mut entry, stage)| {
                entry.fate = match stage {
                    Stage::Done(fate)
                    | Stage::Held {
                        fate: Some(fate), ..
                    } => fate,
                    // Every held line is judged before the round ends.
                    Stage::Held { fate: None, .. } => Fate::Survived {
                        detail: "its fate was not seen (a limier bug)".into(),
                    },
                };
                entry
            })
            .collect()
    }
}

/// One round: the plan's targets, plus descendants forked while frozen.
///
/// Each target is signalled only through a handle whose identity was checked
/// immediately before (see [`Backend::open_handle`]).
pub fn execute(backend: &Backend, plan: &Plan, options: &SweepOptions) -> Vec<SweptProcess> {
    let mut round = Round {
        swept: Vec::with_capacity(plan.targets.len()),
        stages: Vec::with_capacity(plan.targets.len()),
    };
    let mut to_open: Vec<usize> = Vec::new();
    for target in &plan.targets {
        let entry = SweptProcess {
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
        let fate = if let Some(why) = &target.spare {
            Fate::Spared { why: why.clone() }
        } else if let Some(parent) = target.zombie_of {
            Fate::Zombie { parent }
        } else {
            to_open.push(round.swept.len());
            Fate::WouldSignal
        };
        round.push(entry, Stage::Done(fate));
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
        let stage = match open(backend, target.identity, target.pin) {
            // A dry run's line would be signalled: its handle is closed.
            Ok(_) if options.dry_run => Stage::Done(Fate::WouldSignal),
            Ok(handle) => Stage::Held { handle, fate: None },
            Err(fate) => Stage::Done(fate),
        };
        (*index, stage)
    };
    let opened: Vec<(usize, Stage)> = if to_open.len() >= CaptureOptions::PARALLEL_THRESHOLD {
        to_open.par_iter().map(open_target).collect()
    } else {
        to_open.iter().map(open_target).collect()
    };
    for (index, stage) in opened {
        round.stages[index] = stage;
    }
    if options.dry_run || round.held_from(0).is_empty() {
        return round.finish();
    }
    let mut table = ParentTable::new(plan.table.clone(), plan.protected.clone());
    if options.freeze {
        signal_held(&mut round, 0, Signal::Stop);
        wait_until_stopped(backend, &round.held_from(0), &table);
        catch_forks(backend, options, &mut table, &mut round, true);
    }
    // What each target does with the signal asked for, read while it is
    // frozen: one that ignores or blocks it is not waited for in vain (an
    // interactive shell gets SIGHUP, anything else SIGKILL once the others
    // are signalled).
    let choices: Vec<(usize, Option<SignalChoice>)> = round
        .held_from(0)
        .into_iter()
        .map(|(index, handle)| {
            let asked = backend.disposition(handle.identity(), options.signal);
            let hup = asked
                .filter(|d| matches!(d, Disposition::Ignored | Disposition::Blocked))
                .and_then(|_| backend.disposition(handle.identity(), Signal::Hup));
            let comm = round.swept[index].comm.as_bytes();
            (index, choose_first_signal(options.signal, asked, hup, comm))
        })
        .collect();
    for (index, choice) in choices {
        round.swept[index].first_signal = choice;
    }
    let first_signal_of = |round: &Round, index: usize| {
        round.swept[index]
            .first_signal
            .as_ref()
            .map_or(options.signal, SignalChoice::signal)
    };
    let mut firsts = vec![options.signal];
    if options.signal != Signal::Hup {
        firsts.push(Signal::Hup);
    }
    for signal in firsts {
        let group: Vec<usize> = round
            .held_from(0)
            .into_iter()
            .map(|(index, _)| index)
            .filter(|index| first_signal_of(&round, *index) == signal)
            .collect();
        signal_lines(&mut round, &group, signal);
    }
    signal_held(&mut round, 0, Signal::Cont);
    if !options.freeze {
        // Unfrozen targets may have forked between the snapshot and the
        // signal: the children caught get the first signal too.
        let signalled = round.swept.len();
        catch_forks(backend, options, &mut table, &mut round, false);
        signal_held(&mut round, signalled, options.signal);
        signal_held(&mut round, signalled, Signal::Cont);
    }
    // Those for which the signal asked for is pointless: SIGKILL now, and
    // no grace.
    let killed_now: Vec<usize> = round
        .pending()
        .into_iter()
        .map(|(index, _)| index)
        .filter(|index| {
            options.signal != Signal::Kill && first_signal_of(&round, *index) == Signal::Kill
        })
        .collect();
    signal_lines(&mut round, &killed_now, Signal::Kill);
    // Only what is still being swept is waited for (a process the signal
    // was refused for is not going anywhere), the killed at once apart.
    let killed_at_once: HashSet<usize> = killed_now.iter().copied().collect();
    let graced: Vec<usize> = round
        .pending()
        .into_iter()
        .map(|(index, _)| index)
        .filter(|index| !killed_at_once.contains(index))
        .collect();
    let deadline = Instant::now() + options.grace;
    let exited = wait_for_exits(&round, &graced, deadline);
    let mut survivors = Vec::new();
    for (index, exited) in graced.into_iter().zip(exited) {
        if exited {
            round.settle(index, Fate::Exited);
        } else {
            survivors.push(index);
        }
    }
    for &index in &survivors {
        let Stage::Held { handle, .. } = &round.stages[index] else {
            continue;
        };
        // Refused or failed: it is alive, and the report says so.
        match handle.send_signal(Signal::Kill) {
            Ok(()) | Err(SignalError::Gone { .. }) => {}
            Err(err) => round.settle(
                index,
                Fate::Survived {
                    detail: err.to_string(),
                },
            ),
        }
    }
    // The killed at once are judged with the survivors (all waited for,
    // the still pending judged).
    survivors.extend(killed_now);
    let exited = wait_for_exits(&round, &survivors, Instant::now() + KILL_WAIT);
    for (index, exited) in survivors.into_iter().zip(exited) {
        if !round.is_pending(index) {
            continue;
        }
        let fate = if exited {
            Fate::Killed
        } else {
            let identity = round.swept[index].identity;
            let channel = backend.wait_channel(identity);
            Fate::Survived {
                detail: survivor_detail(channel.as_deref()),
            }
        };
        round.settle(index, fate);
    }
    round.finish()
}

/// Waits, until `deadline`, for the processes of the held `lines` to exit:
/// whether each did.
fn wait_for_exits(round: &Round, lines: &[usize], deadline: Instant) -> Vec<bool> {
    let handles: Vec<&ProcessHandle> = lines
        .iter()
        .filter_map(|index| match &round.stages[*index] {
            Stage::Held { handle, .. } => Some(handle),
            Stage::Done(_) => None,
        })
        .collect();
    debug_assert_eq!(handles.len(), lines.len(), "only held lines are waited for");
    ProcessHandle::wait_for_exits(&handles, deadline)
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

/// Sends `signal` to every held line from `from` on.
fn signal_held(round: &mut Round, from: usize, signal: Signal) {
    let lines: Vec<usize> = round
        .held_from(from)
        .into_iter()
        .map(|(index, _)| index)
        .collect();
    signal_lines(round, &lines, signal);
}

/// Sends `signal` to each held line of `lines`; a refusal settles the
/// line's fate (a process gone meanwhile is seen by the wait).
fn signal_lines(round: &mut Round, lines: &[usize], signal: Signal) {
    for &index in lines {
        let Stage::Held { handle, .. } = &round.stages[index] else {
            continue;
        };
        match handle.send_signal(signal) {
            Ok(()) | Err(SignalError::Gone { .. }) => {}
            Err(SignalError::PermissionDenied { .. }) => round.settle(
                index,
                Fate::Spared {
                    why: SpareReason::PermissionDenied { owner: None },
                },
            ),
            Err(err) => round.settle(
                index,
                Fate::Survived {
                    detail: err.to_string(),
                },
            ),
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
    round: &mut Round,
    freeze: bool,
) {
    for _ in 0..options.max_freeze_rounds.max(1) {
        if table.refresh(backend).is_err() {
            return;
        }
        let known: HashSet<Identity> = round.swept.iter().map(|p| p.identity).collect();
        let held: Vec<Identity> = round
            .held_from(0)
            .into_iter()
            .map(|(_, handle)| handle.identity())
            .collect();
        let newcomers = new_descendants(
            &table.stats,
            &held,
            &known,
            &table.protected,
            &table.at_capture,
        );
        if newcomers.is_empty() {
            return;
        }
        let first_new = round.swept.len();
        for (identity, pin, parent, name) in newcomers {
            let entry = SweptProcess {
                identity,
                started_at_ms: None,
                comm: name,
                uid: None,
                user: None,
                cmdline: Vec::new(),
                // The selector that took its parent (or the parent's own
                // parent, forked during the sweep too).
                selected_by: vec![super::SelectedBy {
                    selector: round
                        .swept
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
            let stage = match open(backend, identity, pin) {
                Ok(handle) => {
                    if freeze {
                        let _ = handle.send_signal(Signal::Stop);
                    }
                    Stage::Held { handle, fate: None }
                }
                Err(fate) => Stage::Done(fate),
            };
            round.push(entry, stage);
        }
        if freeze {
            wait_until_stopped(backend, &round.held_from(first_new), table);
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
fn wait_until_stopped(backend: &Backend, handles: &[(usize, &ProcessHandle)], table: &ParentTable) {
    let deadline = Instant::now() + STOP_WAIT;
    // A tmux server continues a pane's stopped processes at once (it sends
    // SIGCONT to the group of a child that stopped): waiting for them to
    // stay stopped would always run out the bound, for nothing.
    let mut running: Vec<&ProcessHandle> = handles
        .iter()
        .map(|&(_, h)| h)
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
    held: &[Identity],
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
    let mut frontier: Vec<ProcessId> = held
        .iter()
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
