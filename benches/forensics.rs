//! limier beside the tools it replaces, timed in the same run, on a load it
//! builds itself: ~1,600 processes in wrapper chains holding ~55,000 fds,
//! listeners at the bottom of the chains.
//!
//!     cargo bench --bench forensics
//!
//! Groups: `who` (vs lsof, ss, fuser), `in` (vs lsof +D), `one_call` (the
//! library's one-call API in process vs ecluse 0.3.1's shell-outs), `sweep` (vs
//! ecluse's kill/kill -0 loop), `ecluse` (flush plan vs ecluse's lsof
//! sequence; one service's ownership check vs one lsof call). A summary of
//! medians and ratios is printed at the end and written to
//! `target/criterion/limier-summary.md`. Set `LIMIER_BENCH_PROCESSES` and
//! `LIMIER_BENCH_FDS` to change the load, and `LIMIER_BENCH_LOAD=sleep` for
//! the old load of `sleep` chains instead of processes that look like dev
//! servers (benches/support/load.py).

use criterion::Criterion;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

const LIMIER: &str = env!("CARGO_BIN_EXE_limier");

/// A running helper script that prints one JSON line, then waits for stdin to close.
struct Helper {
    child: Child,
    stdin: Option<ChildStdin>,
    report: Value,
}

impl Helper {
    fn start(script: &str, args: &[String]) -> Helper {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("benches/support")
            .join(script);
        let mut child = Command::new("python3")
            .arg(path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let report =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{script}: {e}: {line:?}"));
        Helper {
            child,
            stdin,
            report,
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.wait();
    }
}

/// Per-command samples, for the ratio summary.
#[derive(Default)]
struct Samples(RefCell<BTreeMap<String, Vec<Duration>>>);

impl Samples {
    fn record(&self, name: &str, elapsed: Duration) {
        self.0
            .borrow_mut()
            .entry(name.to_owned())
            .or_default()
            .push(elapsed);
    }

    fn median(&self, name: &str) -> Option<Duration> {
        let samples = self.0.borrow();
        let mut list = samples.get(name)?.clone();
        list.sort();
        list.get(list.len() / 2).copied()
    }
}

fn run_quiet(program: &str, args: &[&str]) -> std::process::ExitStatus {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

/// limier with its fd layer read by readlink on `/proc/PID/fd/N` (what it
/// does without root or BTF), to time beside the kernel dump.
fn limier_by_readlink(args: &[&str]) -> std::process::ExitStatus {
    Command::new(LIMIER)
        .args(args)
        .env("LIMIER_FD_SOURCE", "proc")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("limier")
}

fn stdout_of(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Times `command` once per iteration — a whole process, or a library
/// call made in this process — recording each run.
/// Times `command` with criterion; a command that takes over 5 s a run
/// (ecluse's 80-call lsof sequence on the dev load takes 90 s) is instead
/// run three times and its median printed: criterion's ten samples would
/// take a quarter of an hour.
fn bench_command(
    group: &mut criterion::BenchmarkGroup<criterion::measurement::WallTime>,
    samples: &Samples,
    name: &str,
    mut command: impl FnMut(),
) {
    let start = Instant::now();
    command();
    let first = start.elapsed();
    samples.record(name, first);
    if first > Duration::from_secs(5) {
        for _ in 0..2 {
            let start = Instant::now();
            command();
            samples.record(name, start.elapsed());
        }
        let median = samples.median(name).unwrap();
        println!(
            "{name}: median of 3 runs {:.1} s (too slow for criterion's samples)",
            median.as_secs_f64()
        );
        return;
    }
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                command();
                let elapsed = start.elapsed();
                samples.record(name, elapsed);
                total += elapsed;
            }
            total
        })
    });
}

/// Times `sweep` on fresh trees from `trees.py TREES_ARGS` (the report is
/// given to it), and checks that every process of the trees is gone.
fn bench_sweep(
    group: &mut criterion::BenchmarkGroup<criterion::measurement::WallTime>,
    samples: &Samples,
    name: &str,
    trees_args: &[&str],
    sweep: impl Fn(&Value),
) {
    let args: Vec<String> = trees_args.iter().map(|a| a.to_string()).collect();
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let trees = Helper::start("trees.py", &args);
                let start = Instant::now();
                sweep(&trees.report);
                let elapsed = start.elapsed();
                samples.record(name, elapsed);
                total += elapsed;
                let gone = trees.report["pids"].as_array().unwrap().iter().all(|p| {
                    !Path::new(&format!("/proc/{p}")).exists() || is_zombie(p.as_u64().unwrap())
                });
                assert!(gone, "{name} left processes alive");
            }
            total
        })
    });
}

/// The ancestor `levels` above `pid` (by /proc/PID/stat's ppid).
fn ancestor_of(pid: u32, levels: usize) -> u32 {
    let mut current = pid;
    for _ in 0..levels {
        let stat = std::fs::read_to_string(format!("/proc/{current}/stat")).unwrap();
        current = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
    }
    current
}

/// ecluse 0.3.1's whose_pid::is_descendant: `pgrep -P` five levels deep.
fn pgrep_is_descendant(ancestor: u32, descendant: u32) -> bool {
    let mut frontier = vec![ancestor];
    for _ in 0..5 {
        let mut next = Vec::new();
        for pid in &frontier {
            for child in stdout_of("pgrep", &["-P", &pid.to_string()]).lines() {
                let child: u32 = child.trim().parse().unwrap();
                if child == descendant {
                    return true;
                }
                next.push(child);
            }
        }
        frontier = next;
    }
    false
}

/// ecluse 0.3.1's sync::subtree_owns_port: `lsof -p PID -iTCP -sTCP:LISTEN`
/// for the process and each descendant, found with `pgrep -P`.
fn lsof_subtree_owns_port(pid: u32, port: &str) -> bool {
    let mut stack = vec![pid];
    while let Some(current) = stack.pop() {
        let listening = stdout_of(
            "lsof",
            &[
                "-a",
                "-p",
                &current.to_string(),
                "-iTCP",
                "-sTCP:LISTEN",
                "-n",
                "-P",
                "-F",
                "n",
            ],
        );
        if listening.lines().any(|l| l.ends_with(&format!(":{port}"))) {
            return true;
        }
        stack.extend(
            stdout_of("pgrep", &["-P", &current.to_string()])
                .lines()
                .filter_map(|l| l.trim().parse::<u32>().ok()),
        );
    }
    false
}

fn env_number(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn system_counts() -> (usize, usize) {
    let mut processes = 0;
    let mut fds = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            processes += 1;
            fds += std::fs::read_dir(entry.path().join("fd")).map_or(0, |d| d.count());
        }
    }
    (processes, fds)
}

/// Writes an ecluse repo over the load: 16 slots, two services with a base
/// and an extra port each, 16 sessions whose worktrees are the load's.
fn write_ecluse_repo(root: &Path) -> Vec<u16> {
    let config = "mode = \"host\"\nmax_slots = 16\nworktree_dir = \"worktrees\"\n\n\
        [[services]]\nname = \"web\"\nbase_port = 7300\ncommand = \"pnpm dev\"\n\
        extra_ports = [{ base_port = 9300, port_env = \"WEB_HMR_PORT\" }]\n\n\
        [[services]]\nname = \"api\"\nbase_port = 7400\ncommand = \"pnpm api\"\n\
        extra_ports = [{ base_port = 9400, port_env = \"API_DEBUG_PORT\" }]\n";
    std::fs::write(root.join(".ecluse.toml"), config).unwrap();
    std::fs::create_dir_all(root.join(".ecluse")).unwrap();
    let sessions: Vec<Value> = (1..=16)
        .map(|slot| {
            serde_json::json!({
                "slug": format!("s{slot}"), "mode": "host", "slot": slot, "branch": format!("s{slot}"),
                "worktree_path": root.join("worktrees").join(format!("s{slot}")),
                "started_at": "2026-11-27T10:00:00+00:00", "process_manager": "tmux",
                "tmux_session": format!("ecluse-s{slot}"), "pid_files": []
            })
        })
        .collect();
    std::fs::write(
        root.join(".ecluse/state.json"),
        serde_json::to_string(&serde_json::json!({"version": 1, "sessions": sessions})).unwrap(),
    )
    .unwrap();
    let mut ports = Vec::new();
    for slot in 1..=16u16 {
        ports.extend([7300 + slot, 9300 + slot, 7400 + slot, 9400 + slot]);
    }
    ports
}

fn main() {
    let processes = env_number("LIMIER_BENCH_PROCESSES", 1600);
    let fds = env_number("LIMIER_BENCH_FDS", 34);
    let dir = tempfile::Builder::new()
        .prefix("limier-bench-")
        .tempdir()
        .unwrap();
    let root: PathBuf = std::fs::canonicalize(dir.path()).unwrap();
    let load = Helper::start(
        "load.py",
        &[
            processes.to_string(),
            fds.to_string(),
            "6".into(),
            root.to_string_lossy().into_owned(),
            std::env::var("LIMIER_BENCH_LOAD").unwrap_or_else(|_| "dev".into()),
        ],
    );
    let ports: Vec<u64> = load.report["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    let port = ports[ports.len() / 2].to_string();
    let (total_processes, total_fds) = system_counts();
    println!("load: {total_processes} processes, {total_fds} open fds on this machine; who asks about port {port}");

    // Correctness before speed: limier and lsof name the same holder.
    let limier_pid = stdout_of(LIMIER, &["-t", &port]);
    let lsof_pid = stdout_of("lsof", &["-t", &format!("-iTCP:{port}"), "-sTCP:LISTEN"]);
    assert_eq!(
        limier_pid.trim(),
        lsof_pid.trim(),
        "limier and lsof disagree on port {port}"
    );
    let worktree = root.join("worktrees/s3");
    let worktree_arg = worktree.to_string_lossy().into_owned();
    // Which reader serves each layer on this machine and kernel, and why a
    // faster one does not: kept with the medians, so that the history can
    // tell a kernel's refusal from a regression.
    let snapshot: Value =
        serde_json::from_str(&stdout_of(LIMIER, &["snapshot", "--no-environ", "--json"]))
            .expect("limier snapshot --json");
    let mut sources = snapshot["sources"].clone();
    // The process table is read alone only by port questions: who's
    // sources say which reader served it there.
    let who: Value = serde_json::from_str(&stdout_of(LIMIER, &["who", &port, "--json"]))
        .expect("limier who --json");
    if let Some(processes) = who["sources"].get("processes") {
        sources["processes"] = processes.clone();
    }
    println!("sources: {sources}");

    let samples = Samples::default();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));

    let mut who = c.benchmark_group("who");
    let tcp = format!("-iTCP:{port}");
    let sport = format!("sport = :{port}");
    let fuser_arg = format!("{port}/tcp");
    bench_command(&mut who, &samples, "limier who", || {
        assert!(run_quiet(LIMIER, &["who", &port]).success())
    });
    bench_command(&mut who, &samples, "limier who (readlink)", || {
        assert!(limier_by_readlink(&["who", &port]).success())
    });
    bench_command(&mut who, &samples, "lsof -t -iTCP:P -sTCP:LISTEN", || {
        run_quiet("lsof", &["-t", &tcp, "-sTCP:LISTEN"]);
    });
    bench_command(&mut who, &samples, "ss -Hltnp sport = :P", || {
        run_quiet("ss", &["-Hltnp", &sport]);
    });
    bench_command(&mut who, &samples, "fuser P/tcp", || {
        run_quiet("fuser", &[&fuser_arg]);
    });
    who.finish();

    let mut in_group = c.benchmark_group("in");
    bench_command(&mut in_group, &samples, "limier in", || {
        assert!(run_quiet(LIMIER, &["in", &worktree_arg]).success())
    });
    bench_command(&mut in_group, &samples, "limier in (readlink)", || {
        assert!(limier_by_readlink(&["in", &worktree_arg]).success())
    });
    bench_command(&mut in_group, &samples, "lsof -t +D DIR", || {
        run_quiet("lsof", &["-t", "+D", &worktree_arg]);
    });
    in_group.finish();

    // The one-call API, in process, beside the shell-outs ecluse 0.3.1
    // makes for the same answer (tests/ecluse-adoption has the patch).
    let holder: u32 = limier_pid.trim().parse().unwrap();
    let top = ancestor_of(holder, 5);
    let mut one_call = c.benchmark_group("one_call");
    let worktree_path = worktree.clone();
    bench_command(&mut one_call, &samples, "limier::listeners(P)", || {
        assert_eq!(
            limier::listeners(port.parse().unwrap()).unwrap(),
            vec![holder]
        );
    });
    bench_command(
        &mut one_call,
        &samples,
        "lsof -iTCP:P -sTCP:LISTEN -n -P",
        || {
            run_quiet("lsof", &[&tcp, "-sTCP:LISTEN", "-n", "-P"]);
        },
    );
    bench_command(&mut one_call, &samples, "limier::dir_users(DIR)", || {
        assert!(!limier::dir_users(&worktree_path).unwrap().is_empty());
    });
    bench_command(&mut one_call, &samples, "lsof +d DIR -F p", || {
        run_quiet("lsof", &["+d", &worktree_arg, "-F", "p"]);
    });
    bench_command(
        &mut one_call,
        &samples,
        "limier::is_descendant(A, P)",
        || {
            assert!(limier::is_descendant(top, holder).unwrap());
        },
    );
    bench_command(&mut one_call, &samples, "pgrep -P, 5 levels", || {
        assert!(pgrep_is_descendant(top, holder));
    });
    bench_command(&mut one_call, &samples, "limier::port_owner(A, P)", || {
        let owner = limier::port_owner(top, port.parse().unwrap()).unwrap();
        assert_eq!(owner, limier::PortOwner::Up { listener: holder });
    });
    bench_command(&mut one_call, &samples, "lsof + pgrep subtree walk", || {
        assert!(lsof_subtree_owns_port(top, &port));
    });
    one_call.finish();

    let ecluse_ports = write_ecluse_repo(&root);
    let root_arg = root.to_string_lossy().into_owned();
    let mut ecluse = c.benchmark_group("ecluse");
    bench_command(
        &mut ecluse,
        &samples,
        "limier ecluse flush --dry-run",
        || {
            run_quiet(
                LIMIER,
                &["ecluse", "flush", "--dry-run", "--repo", &root_arg],
            );
        },
    );
    bench_command(
        &mut ecluse,
        &samples,
        "limier ecluse flush --dry-run (readlink)",
        || {
            limier_by_readlink(&["ecluse", "flush", "--dry-run", "--repo", &root_arg]);
        },
    );
    bench_command(
        &mut ecluse,
        &samples,
        "ecluse's lsof sequence (64 ports, 16 worktrees)",
        || {
            for p in &ecluse_ports {
                run_quiet("lsof", &["-t", &format!("-iTCP:{p}"), "-sTCP:LISTEN"]);
            }
            for slot in 1..=16 {
                run_quiet(
                    "lsof",
                    &["-t", "+d", &format!("{root_arg}/worktrees/s{slot}")],
                );
            }
        },
    );
    bench_command(&mut ecluse, &samples, "limier ecluse status s1", || {
        run_quiet(LIMIER, &["ecluse", "status", "s1", "--repo", &root_arg]);
    });
    bench_command(&mut ecluse, &samples, "one lsof ownership call", || {
        run_quiet("lsof", &["-t", "-iTCP:7301", "-sTCP:LISTEN"]);
    });
    ecluse.finish();

    let mut sweep = c.benchmark_group("sweep");
    let pgids_of = |report: &Value| -> Vec<String> {
        report["pgids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.to_string())
            .collect()
    };
    bench_sweep(
        &mut sweep,
        &samples,
        "limier kill (16 trees x 4)",
        &["16", "4"],
        |trees| {
            let mut args = vec!["kill".to_string()];
            for pgid in pgids_of(trees) {
                args.extend(["--pgid".to_string(), pgid]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert!(run_quiet(LIMIER, &args).success());
        },
    );
    bench_sweep(
        &mut sweep,
        &samples,
        "ecluse's kill loop (16 trees x 4)",
        &["16", "4"],
        |trees| ecluse_kill_loop(&pgids_of(trees)),
    );
    // A group that ignores TERM (TERM, the grace, KILL) and an 8-deep chain
    // whose bottom left the session with setsid (still a descendant).
    bench_sweep(
        &mut sweep,
        &samples,
        "limier kill (group ignoring TERM, grace 200ms)",
        &["stubborn", "4"],
        |trees| {
            let pgid = trees["pgids"][0].to_string();
            let args = ["kill", "--pgid", &pgid, "--grace", "200ms"];
            assert!(run_quiet(LIMIER, &args).success());
        },
    );
    bench_sweep(
        &mut sweep,
        &samples,
        "limier kill --pid (8-deep chain, setsid escapee)",
        &["chain", "8"],
        |trees| {
            let top = trees["top"].to_string();
            assert!(run_quiet(LIMIER, &["kill", "--pid", &top]).success());
        },
    );
    sweep.finish();
    c.final_summary();
    let (load_kind, load_mapped) = (
        load.report["kind"].clone(),
        load.report["mapped_files"].clone(),
    );
    drop(load);

    let rows = [
        ("who", "limier who", "lsof -t -iTCP:P -sTCP:LISTEN"),
        ("who", "limier who", "ss -Hltnp sport = :P"),
        ("who", "limier who", "fuser P/tcp"),
        ("who", "limier who (readlink)", "ss -Hltnp sport = :P"),
        ("in", "limier in", "lsof -t +D DIR"),
        ("in", "limier in (readlink)", "lsof -t +D DIR"),
        (
            "one_call",
            "limier::listeners(P)",
            "lsof -iTCP:P -sTCP:LISTEN -n -P",
        ),
        ("one_call", "limier::dir_users(DIR)", "lsof +d DIR -F p"),
        (
            "one_call",
            "limier::is_descendant(A, P)",
            "pgrep -P, 5 levels",
        ),
        (
            "one_call",
            "limier::port_owner(A, P)",
            "lsof + pgrep subtree walk",
        ),
        (
            "ecluse",
            "limier ecluse flush --dry-run",
            "ecluse's lsof sequence (64 ports, 16 worktrees)",
        ),
        (
            "ecluse",
            "limier ecluse flush --dry-run (readlink)",
            "ecluse's lsof sequence (64 ports, 16 worktrees)",
        ),
        (
            "ecluse",
            "limier ecluse status s1",
            "one lsof ownership call",
        ),
        (
            "sweep",
            "limier kill (16 trees x 4)",
            "ecluse's kill loop (16 trees x 4)",
        ),
    ];
    let mut summary = format!(
        "Load: {total_processes} processes, {total_fds} open fds ({} cores).\n\n| group | limier | median | peer | median | peer / limier |\n|---|---|---|---|---|---|\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (group, ours, theirs) in rows {
        if let (Some(a), Some(b)) = (samples.median(ours), samples.median(theirs)) {
            summary.push_str(&format!(
                "| {group} | `{ours}` | {:.1} ms | `{theirs}` | {:.1} ms | {:.1}x |\n",
                a.as_secs_f64() * 1000.0,
                b.as_secs_f64() * 1000.0,
                b.as_secs_f64() / a.as_secs_f64()
            ));
        }
    }
    println!("\n{summary}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("limier-summary.md"), summary);
    // Every median, for benches/history.py.
    let medians: BTreeMap<String, f64> = samples
        .0
        .borrow()
        .keys()
        .filter_map(|name| Some((name.clone(), samples.median(name)?.as_secs_f64() * 1000.0)))
        .collect();
    let load_report = serde_json::json!({
        "processes": total_processes,
        "fds": total_fds,
        "kind": load_kind,
        "mapped_files_per_process": load_mapped,
    });
    let _ = std::fs::write(
        out.join("limier-medians.json"),
        serde_json::to_string_pretty(
            &serde_json::json!({"load": load_report, "medians_ms": medians, "sources": sources}),
        )
        .unwrap(),
    );
}

fn is_zombie(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// What ecluse 0.3.1's `kill_nohup` does, one pid file after another:
/// `pid_alive` (`kill -0 PID`), `pid_file_alive` (`kill -0 PID` and
/// `ps -p PID -o lstart=` against the stored token), then
/// `signal_with_grace`: `kill -TERM -- -PGID`, and `kill -0 -- -PGID` every
/// 50 ms until the group is gone or 2 s pass.
fn ecluse_kill_loop(pgids: &[String]) {
    for pgid in pgids {
        run_quiet("kill", &["-0", "--", pgid]);
        run_quiet("kill", &["-0", "--", pgid]);
        run_quiet("ps", &["-p", pgid, "-o", "lstart="]);
        let group = format!("-{pgid}");
        run_quiet("kill", &["-TERM", "--", &group]);
        let deadline = Instant::now() + Duration::from_secs(2);
        while run_quiet("kill", &["-0", "--", &group]).success() {
            if Instant::now() >= deadline {
                run_quiet("kill", &["-KILL", "--", &group]);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
