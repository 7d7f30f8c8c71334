//! How each layer of a snapshot grows with the machine, and where rayon pays.
//!
//!     cargo bench --bench scaling
//!
//! For loads of about 200, 1,600 and 5,000 processes (6-deep chains, 34 fds
//! each, listeners at the bottom of every chain, escapees by construction:
//! every chain leader runs in its own process group), captures each layer
//! alone — process table, sockets, fds (by readlink, and by the kernel's
//! one-pass iterator), mappings (/proc: the PROCMAP_QUERY ioctl, or the maps
//! text before Linux 6.11; and the kernel's mapping
//! reader), environments, details — sequentially and on rayon's pool.
//! Medians go to `target/criterion/limier-scaling.csv`;
//! `python3 benches/support/plot_scaling.py` turns them into
//! `docs/scaling.svg`. Set `LIMIER_SCALING_SIZES=200,1600` to choose loads,
//! and `LIMIER_BENCH_LOAD=sleep` for the old load of `sleep` chains instead
//! of dev-server-like processes (benches/support/load.py).

use criterion::{BenchmarkId, Criterion};
use limier::platform::Backend;
use limier::snapshot::{capture, CaptureOptions, FdScope, FdSource, Layers, Parallelism};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Load(Child);

impl Load {
    fn start(processes: usize, root: &Path) -> Load {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/support/load.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([processes.to_string(), "34".into(), "6".into()])
            .arg(root)
            .arg(load_kind())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("ports"), "load did not start: {line}");
        Load(child)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// The load's kind: `dev` (the default) or `sleep`.
fn load_kind() -> String {
    std::env::var("LIMIER_BENCH_LOAD").unwrap_or_else(|_| "dev".into())
}

const MAPS: Layers = Layers {
    maps: true,
    ..Layers::PROCESSES
};

const FDS: Layers = Layers {
    fds: Some(FdScope::All),
    ..Layers::PROCESSES
};

/// Each layer alone, the fd layer from both sources (readlink on
/// `/proc/PID/fd/N`, and the kernel's one-pass iterator: all fds, and
/// sockets only as `who` asks), and mappings from both (the maps text, and
/// the kernel's mapping reader).
const LAYERS: [(&str, Layers, FdSource); 9] = [
    ("process table", Layers::PROCESSES, FdSource::Proc),
    (
        "sockets",
        Layers {
            sockets: true,
            ..Layers::PROCESSES
        },
        FdSource::Proc,
    ),
    ("fds (readlink)", FDS, FdSource::Proc),
    ("fds (kernel dump)", FDS, FdSource::Kernel),
    (
        "socket fds (kernel dump)",
        Layers {
            fds: Some(FdScope::Sockets),
            ..FDS
        },
        FdSource::Kernel,
    ),
    ("maps (/proc: PROCMAP_QUERY)", MAPS, FdSource::Proc),
    ("maps (kernel reader)", MAPS, FdSource::Kernel),
    (
        "environ",
        Layers {
            environ: true,
            ..Layers::PROCESSES
        },
        FdSource::Proc,
    ),
    (
        "details",
        Layers {
            details: true,
            ..Layers::PROCESSES
        },
        FdSource::Proc,
    ),
];

fn main() {
    let sizes: Vec<usize> = std::env::var("LIMIER_SCALING_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![200, 1600, 5000]);
    let backend = Backend::new().unwrap();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    let mut rows = vec!["processes,layer,mode,median_ms".to_string()];

    // What a one-shot command pays to start rayon's pool at all.
    let pool_start = {
        let mut times: Vec<Duration> = (0..20)
            .map(|_| {
                let start = Instant::now();
                let pool = rayon::ThreadPoolBuilder::new().build().unwrap();
                pool.join(|| (), || ());
                drop(pool);
                start.elapsed()
            })
            .collect();
        times.sort();
        times[10]
    };
    println!(
        "rayon pool start-up (2 threads): {:.3} ms",
        pool_start.as_secs_f64() * 1000.0
    );
    rows.push(format!(
        "0,pool start-up,parallel,{:.4}",
        pool_start.as_secs_f64() * 1000.0
    ));

    for &size in &sizes {
        let dir = tempfile::Builder::new()
            .prefix("limier-scaling-")
            .tempdir()
            .unwrap();
        let _load = Load::start(size, dir.path());
        let total = backend.list_pids().unwrap().len();
        println!("load of {size}: {total} processes on the machine");
        let mut group = c.benchmark_group(format!("scaling/{size}"));
        for (name, layers, fd_source) in LAYERS {
            for (mode, parallelism) in [
                ("sequential", Parallelism::Sequential),
                ("parallel", Parallelism::Parallel),
            ] {
                let mut options = CaptureOptions::new(layers);
                options.parallelism = parallelism;
                options.fd_source = fd_source;
                let mut samples = Vec::new();
                group.bench_function(BenchmarkId::new(name, mode), |b| {
                    b.iter_custom(|iters| {
                        let start = Instant::now();
                        for _ in 0..iters {
                            let s = Instant::now();
                            let snapshot = capture(&backend, options.clone()).unwrap();
                            samples.push(s.elapsed());
                            std::hint::black_box(snapshot);
                        }
                        start.elapsed()
                    })
                });
                samples.sort();
                let median = samples[samples.len() / 2];
                rows.push(format!(
                    "{total},{name},{mode},{:.4}",
                    median.as_secs_f64() * 1000.0
                ));
            }
        }
        group.finish();
    }
    c.final_summary();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
    let _ = std::fs::create_dir_all(&out);
    std::fs::write(out.join("limier-scaling.csv"), rows.join("\n") + "\n").unwrap();
    println!("{}", rows.join("\n"));
}
