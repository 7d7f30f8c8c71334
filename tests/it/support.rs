//! Test support: real process scenarios that clean up after themselves, and
//! a runner for the built `limier` binary.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Serialises the hung-mount test, during which any stat() of an open file
/// blocks, with tests that run tools which stat every open file on the
/// machine (lsof, inside the real ecluse). Linux only, as those tests are.
#[cfg(target_os = "linux")]
pub static STAT_EVERYTHING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`STAT_EVERYTHING`], whether or not a holder panicked.
#[cfg(target_os = "linux")]
pub fn exclusive_stats() -> std::sync::MutexGuard<'static, ()> {
    STAT_EVERYTHING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `command` to completion, or kills it and fails once `limit` passes
/// (used by the Linux-only hostile tests).
#[cfg(target_os = "linux")]
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} was still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

pub fn fixture_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenario.py")
}

/// The start time of a live pid, in the platform's unit: on Linux the clock
/// ticks of /proc/PID/stat field 22, read here independently of limier; on
/// other systems what limier's backend reads.
pub fn start_ticks(pid: u32) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = text.rsplit_once(')')?.1;
        rest.split_whitespace().nth(19)?.parse().ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let backend = limier::Backend::new().ok()?;
        backend
            .read_stat(limier::ProcessId(pid))
            .ok()
            .map(|s| s.start.0)
    }
}

/// Whether `pid` is alive and not a zombie.
pub fn alive(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(text) => {
                let state = text
                    .rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().next());
                !matches!(state, Some("Z") | Some("X") | None)
            }
            Err(_) => false,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let Ok(backend) = limier::Backend::new() else {
            return false;
        };
        backend
            .read_stat(limier::ProcessId(pid))
            .is_ok_and(|s| s.state != limier::ProcessState::Zombie)
    }
}

/// A running scenario of `tests/fixtures/scenario.py`. Dropping it SIGKILLs
/// every process it reported (after checking each pid's start time, so a
/// recycled pid is never hit) and reaps the root.
pub struct Scenario {
    child: Child,
    pub lines: Vec<Value>,
    reported: Vec<(u32, u64)>,
}

impl Scenario {
    pub fn start(args: &[&str]) -> Scenario {
        Self::start_with(args, None, &[])
    }

    pub fn start_with(args: &[&str], cwd: Option<&Path>, env: &[(&str, &str)]) -> Scenario {
        let mut command = Command::new("python3");
        command
            .arg("-u")
            .arg(fixture_script())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        Self::from_command(command)
    }

    /// Runs an arbitrary program (already set up) that speaks the scenario protocol.
    pub fn from_command(mut command: Command) -> Scenario {
        command.stdout(Stdio::piped());
        let mut child = command.spawn().expect("spawn scenario");
        let stdout = child.stdout.take().expect("scenario stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut scenario = Scenario {
            reported: vec![(child.id(), start_ticks(child.id()).unwrap_or(0))],
            child,
            lines: Vec::new(),
        };
        loop {
            let line = receiver
                .recv_timeout(Duration::from_secs(20))
                .expect("scenario did not report ready within 20s");
            let value: Value = serde_json::from_str(&line).expect("scenario line is JSON");
            if value["ready"] == Value::Bool(true) {
                break;
            }
            if let Some(pid) = value["pid"].as_u64() {
                let pid = pid as u32;
                scenario.reported.push((pid, start_ticks(pid).unwrap_or(0)));
            }
            scenario.lines.push(value);
        }
        scenario
    }

    pub fn root_pid(&self) -> u32 {
        self.child.id()
    }

    /// The pid reported under `role` (the first, if several).
    pub fn pid(&self, role: &str) -> u32 {
        self.pids(role)[0]
    }

    pub fn pids(&self, role: &str) -> Vec<u32> {
        let pids: Vec<u32> = self
            .lines
            .iter()
            .filter(|l| l["role"] == role)
            .map(|l| l["pid"].as_u64().unwrap() as u32)
            .collect();
        assert!(
            !pids.is_empty(),
            "scenario reported no {role}: {:?}",
            self.lines
        );
        pids
    }

    pub fn port(&self) -> u16 {
        self.lines
            .iter()
            .find_map(|l| l["port"].as_u64())
            .expect("scenario reported no port") as u16
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        for &(pid, start) in self.reported.iter().rev() {
            if start != 0 && start_ticks(pid) == Some(start) {
                // SAFETY: plain syscall; the start-time check above makes sure
                // the pid still names the process this scenario created.
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the built limier with `args`, colour off.
pub fn limier(args: &[&str]) -> Output {
    limier_in(args, None)
}

pub fn limier_in(args: &[&str], cwd: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_limier"));
    command.args(args).env("NO_COLOR", "1").stdin(Stdio::null());
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    command.output().expect("run limier")
}

/// The sources this user can test (for `LIMIER_FD_SOURCE` and
/// `LIMIER_MAPS_SOURCE` alike): the kernel's iterators need root (BPF),
/// the /proc readers do not.
#[cfg(target_os = "linux")]
pub fn fd_sources() -> &'static [&'static str] {
    if limier::platform::is_superuser() {
        &["proc", "kernel"]
    } else {
        &["proc"]
    }
}

/// `program` run by an ordinary user: as `nobody` through setpriv when the
/// tests run as root, as this user otherwise.
#[cfg(target_os = "linux")]
pub fn unprivileged_command(program: &str) -> Command {
    if limier::platform::is_superuser() {
        nobody_command(program)
    } else {
        Command::new(program)
    }
}

/// `program` as user nobody (setpriv from util-linux; needs root).
#[cfg(target_os = "linux")]
pub fn nobody_command(program: &str) -> Command {
    let mut command = Command::new("setpriv");
    command.args([
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--",
        program,
    ]);
    command
}

/// Runs limier with `--json` appended and extra environment variables.
pub fn limier_json_env(args: &[&str], env: &[(&str, &str)]) -> (Value, i32) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_limier"));
    command
        .args(args)
        .arg("--json")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    let output = command.output().expect("run limier");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = strict_json(&stdout).unwrap_or_else(|err| {
        panic!(
            "limier {args:?} {env:?} printed no JSON ({err}): stdout {stdout:?} stderr {:?}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (
        value,
        output.status.code().expect("limier exited by signal"),
    )
}

/// Runs limier with `--json` appended; returns the parsed output and the exit code.
pub fn limier_json(args: &[&str]) -> (Value, i32) {
    limier_json_env(args, &[])
}

/// Asserts limier failed with exit 2 and exactly one stderr line containing `needle`.
pub fn assert_usage_error(args: &[&str], needle: &str) {
    let output = limier(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "limier {args:?}: stderr {stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "limier {args:?} printed more than one line: {stderr}"
    );
    assert!(stderr.starts_with("limier: "), "{stderr}");
    assert!(
        stderr.contains(needle),
        "limier {args:?}: {stderr:?} lacks {needle:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A TCP port nobody holds right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The holder pids of every socket in a `who --json` port report.
/// Every process of a sweep report (`kill`, `ecluse down|flush` JSON), in
/// its order, with its fate.
pub fn fates(report: &Value) -> Vec<(u32, String)> {
    report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pid"].as_u64().unwrap() as u32,
                p["fate"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The pids of a sweep report, sorted.
pub fn swept_pids(report: &Value) -> Vec<u32> {
    let mut pids: Vec<u32> = fates(report).into_iter().map(|(pid, _)| pid).collect();
    pids.sort_unstable();
    pids
}

pub fn holder_pids(report: &Value, port_index: usize) -> Vec<u32> {
    let mut pids: Vec<u32> = report["ports"][port_index]["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["holders"].as_array().unwrap().iter())
        .map(|h| h["process"]["pid"].as_u64().unwrap() as u32)
        .collect();
    pids.sort_unstable();
    pids
}

/// Polls `condition` every 10 ms for up to `timeout`.
pub fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    condition()
}

/// A plain child that is killed and reaped when the guard drops.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    pub fn spawn(command: &mut Command) -> ChildGuard {
        ChildGuard(command.stdin(Stdio::null()).spawn().expect("spawn child"))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// The first line the child writes to its piped stdout, trimmed.
    pub fn first_line(&mut self) -> String {
        first_line(&mut self.0)
    }
}

/// The first line `child` writes to its piped stdout, trimmed (the rest of
/// its output is not read).
pub fn first_line(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    line.trim().to_owned()
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh, canonical temporary directory.
pub fn temp_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("limier-test-")
        .tempdir()
        .unwrap();
    let path = std::fs::canonicalize(dir.path()).unwrap();
    (dir, path)
}

/// Parses JSON like `serde_json::from_str`, but refuses an object that holds
/// a key twice (which `serde_json::Value` would silently collapse).
pub fn strict_json(text: &str) -> Result<Value, serde_json::Error> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    struct Strict;
    impl<'de> DeserializeSeed<'de> for Strict {
        type Value = Value;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(Strict)
        }
    }
    impl<'de> Visitor<'de> for Strict {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element_seed(Strict)? {
                items.push(item);
            }
            Ok(Value::Array(items))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut object = serde_json::Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if object.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
                }
                let value = map.next_value_seed(Strict)?;
                object.insert(key, value);
            }
            Ok(Value::Object(object))
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Strict.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// The start token ecluse writes in a pid file for `pid`: `ps -o lstart=`.
pub fn ps_lstart(pid: u32) -> String {
    let output = Command::new("ps")
        .args(["-p", &pid.to_string(), "-o", "lstart="])
        .output()
        .expect("ps (procps) is installed by .ci/run");
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(!token.is_empty(), "ps gave no lstart for {pid}");
    token
}

/// A sweep report's own clock says it ended before its grace ran out: it
/// did not wait out a grace it had no need of.
pub fn assert_grace_not_waited(report: &Value) {
    let took = report["duration_ms"].as_f64().unwrap();
    let grace = report["grace_ms"].as_f64().unwrap();
    assert!(took < grace, "the sweep waited its grace: {report}");
}
