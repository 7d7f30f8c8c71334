//! The fd and mapping layers from their two sources: the kernel's
//! iterators (`LIMIER_FD_SOURCE=kernel`, `LIMIER_MAPS_SOURCE=kernel`) and
//! readlink on `/proc/PID/fd/N` and `PROCMAP_QUERY` or the text of
//! `/proc/PID/maps` (`…=proc`) must give the same answers, fd for fd and
//! file for file; `sources` in the snapshot says which served.

use crate::support::*;
use serde_json::Value;

const KERNEL: &[(&str, &str)] = &[
    ("LIMIER_FD_SOURCE", "kernel"),
    ("LIMIER_MAPS_SOURCE", "kernel"),
];
const PROC: &[(&str, &str)] = &[("LIMIER_FD_SOURCE", "proc"), ("LIMIER_MAPS_SOURCE", "proc")];

/// A layer (`fds`, `maps`) of `pid` in a snapshot, as JSON values.
fn layer_of(snapshot: &Value, pid: u32, layer: &str) -> Vec<Value> {
    snapshot["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == pid)
        .unwrap_or_else(|| panic!("pid {pid} missing from the snapshot"))[layer]
        .as_array()
        .unwrap_or_else(|| panic!("pid {pid} has no {layer} layer"))
        .clone()
}

/// The fds of `pid` in a snapshot, as JSON values.
fn fds_of(snapshot: &Value, pid: u32) -> Vec<Value> {
    layer_of(snapshot, pid, "fds")
}

#[test]
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: the kernel mapping reader loads a BPF iterator"
)]
fn kernel_and_proc_sources_list_the_same_mapped_files() {
    needs_root!();
    let (_guard, root) = temp_dir();
    let odd = root.join("odd name \u{1b}[31m \u{e9}.bin");
    std::fs::write(&odd, vec![b'x'; 8192]).unwrap();
    let doomed = root.join("doomed.bin");
    std::fs::write(&doomed, vec![b'x'; 8192]).unwrap();
    let odd_mapper = Scenario::start(&["map", odd.to_str().unwrap()]);
    let doomed_mapper = Scenario::start(&["map", doomed.to_str().unwrap()]);
    std::fs::remove_file(&doomed).unwrap();
    let shared = Scenario::start(&["fork-share"]);
    let pids = [
        odd_mapper.pid("mapper"),
        doomed_mapper.pid("mapper"),
        shared.pid("parent"),
        shared.pid("child"),
    ];
    let (from_kernel, code) = limier_json_env(&["snapshot", "--no-environ"], KERNEL);
    assert_eq!(code, 0);
    let (from_proc, code) = limier_json_env(&["snapshot", "--no-environ"], PROC);
    assert_eq!(code, 0);
    for pid in pids {
        let kernel = layer_of(&from_kernel, pid, "maps");
        assert!(kernel.len() > 3, "pid {pid} maps its program and libraries");
        assert_eq!(kernel, layer_of(&from_proc, pid, "maps"), "pid {pid}");
    }
    let mapped = |pid: u32, path: &std::path::Path| {
        layer_of(&from_kernel, pid, "maps")
            .into_iter()
            .find(|m| m["path"] == path.to_str().unwrap())
            .unwrap_or_else(|| panic!("{pid} does not map {}", path.display()))
    };
    assert_eq!(mapped(odd_mapper.pid("mapper"), &odd)["deleted"], false);
    assert_eq!(
        mapped(doomed_mapper.pid("mapper"), &doomed)["deleted"],
        true
    );
}

#[test]
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: the kernel fd dump loads a BPF iterator"
)]
fn kernel_and_proc_sources_list_the_same_fds() {
    needs_root!();
    let (_guard, root) = temp_dir();
    // A name with a space, an escape sequence and a non-ASCII letter, and a
    // deleted file.
    let odd = root.join("odd name \u{1b}[31m \u{e9}.txt");
    std::fs::write(&odd, "x").unwrap();
    let doomed = root.join("doomed.txt");
    std::fs::write(&doomed, "x").unwrap();
    let shared = Scenario::start(&["fork-share"]);
    let daemon = Scenario::start(&["daemon", root.to_str().unwrap()]);
    let opener = Scenario::start(&["open", odd.to_str().unwrap()]);
    let deleted = Scenario::start(&["open", doomed.to_str().unwrap()]);
    std::fs::remove_file(&doomed).unwrap();
    let many = Scenario::start(&["many-fds", "3000"]);
    let pids = [
        shared.pid("parent"),
        shared.pid("child"),
        daemon.pid("daemon"),
        opener.pid("opener"),
        deleted.pid("opener"),
        many.pid("holder"),
    ];

    let (from_kernel, code) = limier_json_env(&["snapshot", "--no-environ"], KERNEL);
    assert_eq!(code, 0);
    let (from_proc, code) = limier_json_env(&["snapshot", "--no-environ"], PROC);
    assert_eq!(code, 0);
    for pid in pids {
        let kernel = fds_of(&from_kernel, pid);
        assert!(!kernel.is_empty(), "pid {pid} has fds");
        assert_eq!(kernel, fds_of(&from_proc, pid), "pid {pid}");
    }
    // The details the test can check independently: the deleted file, the
    // non-UTF-8 name (lossless bytes), the 3,000 fds.
    let target_of = |pid: u32, wanted: &std::path::Path| {
        fds_of(&from_kernel, pid)
            .into_iter()
            .find(|fd| fd["target"]["path"] == wanted.to_str().unwrap())
            .unwrap_or_else(|| panic!("no fd of {pid} on {}", wanted.display()))
    };
    assert_eq!(
        target_of(deleted.pid("opener"), &doomed)["target"]["deleted"],
        true
    );
    assert_eq!(
        target_of(opener.pid("opener"), &odd)["target"]["deleted"],
        false
    );
    let holder = many.lines.iter().find(|l| l["role"] == "holder").unwrap();
    let held = holder["fds"].as_u64().unwrap() as usize;
    assert!(fds_of(&from_kernel, many.pid("holder")).len() >= held);
}

#[test]
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: the kernel fd dump loads a BPF iterator"
)]
fn who_and_in_give_the_same_answers_from_both_sources() {
    needs_root!();
    let (_guard, root) = temp_dir();
    let file = root.join("deep/er/file.txt");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "x").unwrap();
    let shared = Scenario::start(&["fork-share"]);
    let opener = Scenario::start(&["open", file.to_str().unwrap()]);
    let port = shared.port().to_string();

    let mut expected = vec![shared.pid("parent"), shared.pid("child")];
    expected.sort_unstable();
    for env in [KERNEL, PROC] {
        let (report, code) = limier_json_env(&["who", &port], env);
        assert_eq!(code, 0, "{env:?}");
        assert_eq!(holder_pids(&report, 0), expected, "{env:?}: {report}");
        let (report, code) = limier_json_env(&["in", root.to_str().unwrap()], env);
        assert_eq!(code, 0, "{env:?}");
        let users: Vec<u64> = report["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["pid"].as_u64().unwrap())
            .collect();
        assert_eq!(
            users,
            vec![u64::from(opener.pid("opener"))],
            "{env:?}: {report}"
        );
    }
}

#[test]
fn a_kernel_source_refused_is_a_one_line_error_and_auto_falls_back() {
    let server = Scenario::start(&["chain", "1"]);
    let port = server.port().to_string();
    let output = unprivileged_command(env!("CARGO_BIN_EXE_limier"))
        .args(["who", &port])
        .env("LIMIER_FD_SOURCE", "kernel")
        .output()
        .expect("setpriv (util-linux)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("limier: bpf: "), "{stderr}");
    assert!(stderr.contains("not permitted"), "{stderr}");

    // Unset, the same unprivileged run reads /proc and answers, no error.
    let output = unprivileged_command(env!("CARGO_BIN_EXE_limier"))
        .args(["who", &port, "--json"])
        .output()
        .unwrap();
    let report = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    let socket = &report["ports"][0]["sockets"][0];
    if limier::platform::is_superuser() {
        // nobody asking about root's socket: there, its holder unseen.
        assert_eq!(output.status.code(), Some(1), "{report}");
        assert_eq!(report["unseen"][0]["uid"], 0, "{report}");
    } else {
        // The user asking about its own: found.
        assert_eq!(output.status.code(), Some(0), "{report}");
        assert_eq!(socket["holders"][0]["process"]["pid"], server.pid("leaf"));
    }
    assert_eq!(socket["local_port"], server.port(), "{report}");
}

#[test]
fn an_unknown_fd_source_is_a_one_line_error() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_limier"))
        .args(["who", "3000"])
        .env("LIMIER_FD_SOURCE", "kernal")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "limier: LIMIER_FD_SOURCE=\"kernal\" is not one of kernel, proc, auto"
    );
    assert!(output.stdout.is_empty());
}

/// `snapshot --json` names the reader of each layer, how many processes
/// each served, and why the kernel's was not used: asked for /proc, and —
/// as root — the kernel iterators serving both layers on this kernel; as an
/// ordinary user, not privileged (or too few processes to pay).
#[test]
fn snapshot_sources_name_the_reader_of_each_layer_and_why_not_the_kernel() {
    let mapper_file = {
        let (guard, root) = temp_dir();
        let file = root.join("mapped.bin");
        std::fs::write(&file, vec![b'x'; 8192]).unwrap();
        (guard, file)
    };
    let _mapper = Scenario::start(&["map", mapper_file.1.to_str().unwrap()]);
    let served = |report: &Value, layer: &str| -> Vec<String> {
        report["sources"][layer]["served"]
            .as_object()
            .unwrap_or_else(|| panic!("no sources.{layer}.served: {}", report["sources"]))
            .keys()
            .cloned()
            .collect()
    };
    let (from_proc, code) = limier_json_env(&["snapshot", "--no-environ"], PROC);
    assert_eq!(code, 0);
    assert_eq!(served(&from_proc, "fds"), ["readlink"]);
    let maps = served(&from_proc, "maps");
    assert!(
        !maps.is_empty()
            && maps
                .iter()
                .all(|reader| reader == "procmap-query" || reader == "maps-text"),
        "{maps:?}"
    );
    for layer in ["fds", "maps"] {
        assert_eq!(
            from_proc["sources"][layer]["not_used"],
            serde_json::json!({"reader": "kernel-iterator", "why": {"kind": "not-asked"}}),
            "{layer}"
        );
    }
    if limier::platform::is_superuser() {
        let (from_kernel, code) = limier_json_env(&["snapshot", "--no-environ"], KERNEL);
        assert_eq!(code, 0);
        for layer in ["fds", "maps"] {
            let sources = &from_kernel["sources"][layer];
            assert!(
                sources["served"]["kernel-iterator"].as_u64().unwrap_or(0) > 0,
                "kernel {}: {layer} {sources}",
                limier::platform::os_release()
            );
            assert!(sources.get("not_used").is_none(), "{layer} {sources}");
        }
    }
    // An ordinary user's capture never tries the iterators, and says why.
    let output = unprivileged_command(env!("CARGO_BIN_EXE_limier"))
        .args(["snapshot", "--no-environ", "--json"])
        .output()
        .expect("setpriv (util-linux)");
    assert_eq!(output.status.code(), Some(0));
    let report = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    for layer in ["fds", "maps"] {
        let why = &report["sources"][layer]["not_used"]["why"]["kind"];
        assert!(
            why == "not-privileged" || why == "few-processes",
            "{layer}: {}",
            report["sources"]
        );
    }
}

/// A port question's process table from the kernel's task iterator and
/// from each process's stat file: the same holders, chains and markers;
/// `sources.processes` says which served. Pid 1 is asked too: a kernel may
/// hide a process from its iterators (this machine's hides pid 1, which
/// even root may not inspect), and it must then be read from /proc —
/// listed, with its parent, and its fds refused as they are by readlink,
/// never taken for a process without fds.
#[test]
#[cfg_attr(
    not(limier_tests_as_root),
    ignore = "needs root: the kernel's task and fd iterators load BPF programs"
)]
fn port_questions_read_the_same_process_table_from_both_sources() {
    needs_root!();
    let scenario = Scenario::start(&["chain", "4"]);
    let port = scenario.port().to_string();
    let ask = |procs: &str, fds: &str| {
        let env = [("LIMIER_PROCS_SOURCE", procs), ("LIMIER_FD_SOURCE", fds)];
        let (report, code) = limier_json_env(&["who", &port, "--pid", "1"], &env);
        assert_eq!(code, 0, "{procs} {fds}: {report}");
        report
    };
    let from_kernel = ask("kernel", "kernel");
    let from_proc = ask("proc", "kernel");
    let all_from_proc = ask("proc", "proc");
    let served = |report: &Value| -> Vec<String> {
        report["sources"]["processes"]["served"]
            .as_object()
            .unwrap_or_else(|| panic!("no sources.processes: {}", report["sources"]))
            .keys()
            .cloned()
            .collect()
    };
    assert!(
        served(&from_kernel).contains(&"kernel-iterator".to_string()),
        "kernel {}: {}",
        limier::platform::os_release(),
        from_kernel["sources"]
    );
    assert_eq!(served(&from_proc), ["stat-file"]);
    let holder = |report: &Value| report["ports"][0]["sockets"][0]["holders"][0].clone();
    let view = |dossier: &Value| {
        let mut dossier = dossier.clone();
        // How old it was at each capture, and its threads' own counts,
        // differ between two captures.
        for moving in ["age_ms", "state"] {
            dossier.as_object_mut().unwrap().remove(moving);
        }
        dossier
    };
    assert_eq!(
        view(&holder(&from_kernel)["process"]),
        view(&holder(&from_proc)["process"])
    );
    assert_eq!(holder(&from_kernel)["process"]["pid"], scenario.pid("leaf"));
    let init = |report: &Value| {
        let init = view(&report["processes"][0]);
        (
            init["pid"].clone(),
            init["ppid"].clone(),
            init["comm"].clone(),
            init["inspectable"].clone(),
            init["sockets"].clone(),
        )
    };
    assert_eq!(init(&from_kernel), init(&from_proc));
    assert_eq!(init(&from_kernel), init(&all_from_proc));
    assert_eq!(from_kernel["processes"][0]["pid"], 1);
    // Pid 1's fds from the kernel's dump and by readlink: both refused,
    // both empty, or both read — never "no fds" from a pass that did not
    // visit it.
    let fds_of_init = |fds: &str| {
        let (snapshot, code) =
            limier_json_env(&["snapshot", "--no-environ"], &[("LIMIER_FD_SOURCE", fds)]);
        assert_eq!(code, 0);
        let init = snapshot["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == 1)
            .cloned()
            .expect("pid 1 in the snapshot");
        let refused = init["denied"]
            .as_array()
            .is_some_and(|layers| layers.iter().any(|l| l == "fds"));
        let none = init["fds"].as_array().is_none_or(Vec::is_empty);
        (refused, none)
    };
    assert_eq!(fds_of_init("kernel"), fds_of_init("proc"));
}
