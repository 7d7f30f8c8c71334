//! `limier in DIR`: cwd, open files, mappings, exe, deleted paths.

use crate::support::*;
use serde_json::Value;

/// Every fd source this user can capture with: the kernel's only as root.
fn fd_sources() -> Vec<limier::snapshot::FdSource> {
    use limier::snapshot::FdSource;
    let mut sources = vec![FdSource::Auto, FdSource::Proc];
    if limier::platform::is_superuser() {
        sources.push(FdSource::Kernel);
    }
    sources
}

fn uses_of(report: &Value, pid: u32) -> Vec<(String, String, bool)> {
    report["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["pid"] == pid)
        .flat_map(|u| u["uses"].as_array().unwrap().iter())
        .map(|u| {
            (
                u["use"]["kind"].as_str().unwrap().to_owned(),
                u["path"].as_str().unwrap().to_owned(),
                u["deleted"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn in_finds_cwd_two_levels_below_and_deep_open_file() {
    let (_guard, root) = temp_dir();
    let cwd = root.join("a/b");
    std::fs::create_dir_all(&cwd).unwrap();
    let deep = root.join("x/y/z");
    std::fs::create_dir_all(&deep).unwrap();
    let file = deep.join("notes.txt");
    std::fs::write(&file, "hello").unwrap();

    let sitter = Scenario::start(&["cwd", cwd.to_str().unwrap()]);
    let opener = Scenario::start(&["open", file.to_str().unwrap()]);
    let (report, code) = limier_json(&["in", root.to_str().unwrap()]);
    assert_eq!(code, 0);
    let mut pids: Vec<u32> = report["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["pid"].as_u64().unwrap() as u32)
        .collect();
    pids.sort_unstable();
    let mut expected = vec![sitter.pid("cwd"), opener.pid("opener")];
    expected.sort_unstable();
    assert_eq!(pids, expected, "exactly the two processes: {report}");
    assert_eq!(
        uses_of(&report, sitter.pid("cwd")),
        vec![("cwd".into(), cwd.to_str().unwrap().into(), false)]
    );
    let fd = opener.lines[0]["fd"].as_u64().unwrap();
    let opener_uses = report["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["pid"] == opener.pid("opener"))
        .unwrap();
    assert_eq!(
        opener_uses["uses"][0]["use"],
        serde_json::json!({"kind": "fd", "fd": fd})
    );
    assert_eq!(opener_uses["uses"][0]["path"], file.to_str().unwrap());

    // A sibling directory sharing a name prefix is not "below".
    let sibling = std::path::PathBuf::from(format!("{}-sibling", root.display()));
    std::fs::create_dir_all(&sibling).unwrap();
    let (report, code) = limier_json(&["in", sibling.to_str().unwrap()]);
    std::fs::remove_dir_all(&sibling).unwrap();
    assert_eq!(code, 1, "{report}");

    let terse = limier(&["-t", "in", root.to_str().unwrap()]);
    let expected_text: String = expected.iter().map(|p| format!("{p}\n")).collect();
    assert_eq!(String::from_utf8_lossy(&terse.stdout), expected_text);
}

#[test]
fn in_finds_a_mapped_file() {
    let (_guard, root) = temp_dir();
    let data = root.join("lib/data.bin");
    std::fs::create_dir_all(data.parent().unwrap()).unwrap();
    std::fs::write(&data, vec![7u8; 8192]).unwrap();
    let mapper = Scenario::start(&["map", data.to_str().unwrap()]);
    let (report, code) = limier_json(&["in", root.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(
        uses_of(&report, mapper.pid("mapper")),
        vec![("map".into(), data.to_str().unwrap().into(), false)]
    );
}

#[test]
fn in_matches_a_deleted_cwd_by_its_old_path() {
    let (_guard, root) = temp_dir();
    let doomed = root.join("gone/sub");
    std::fs::create_dir_all(&doomed).unwrap();
    let sitter = Scenario::start(&["cwd", doomed.to_str().unwrap()]);
    std::fs::remove_dir(&doomed).unwrap();
    let (report, code) = limier_json(&["in", root.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        uses_of(&report, sitter.pid("cwd")),
        vec![("cwd".into(), doomed.to_str().unwrap().into(), true)]
    );
    let human =
        String::from_utf8_lossy(&limier(&["in", root.to_str().unwrap()]).stdout).into_owned();
    assert!(
        human.contains(&format!("{} (deleted)", doomed.display())),
        "{human}"
    );
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
fn comm_with_spaces_and_parenthesis_is_read_whole() {
    let (_guard, root) = temp_dir();
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let program = bin.join("we (x) y");
    std::fs::copy("/bin/sleep", &program).unwrap();
    let child = ChildGuard::spawn(
        std::process::Command::new(&program)
            .arg("60")
            .current_dir(&root),
    );
    assert!(eventually(std::time::Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{}/comm", child.pid()))
            .is_ok_and(|c| c.trim() == "we (x) y")
    }));
    let (report, _) = limier_json(&["who", "--pid", &child.pid().to_string()]);
    assert_eq!(report["processes"][0]["comm"], "we (x) y");
    assert_eq!(report["processes"][0]["ppid"], std::process::id());
    let (report, _) = limier_json(&["in", bin.to_str().unwrap()]);
    let program = program.to_str().unwrap().to_owned();
    assert_eq!(
        uses_of(&report, child.pid()),
        vec![
            ("exe".into(), program.clone(), false),
            ("map".into(), program, false)
        ]
    );
}

#[test]
fn limier_is_not_a_user_of_the_directory_it_is_asked_about() {
    let (_guard, root) = temp_dir();
    // limier runs with its cwd in the directory, and nothing else does.
    let output = limier_in(&["in", ".", "--json"], Some(&root));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report: Value = strict_json(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert_eq!(report["users"], Value::Array(vec![]), "{report}");
    let resident = Scenario::start(&["cwd", root.to_str().unwrap()]);
    let output = limier_in(&["in", ".", "-t"], Some(&root));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        resident.pid("cwd").to_string()
    );
}

/// A sweep by directory reads no mappings for a process the directory
/// takes by its cwd already, and still finds one that only maps a file
/// there — from every mapping source.
#[test]
fn mappings_are_read_only_where_they_can_select() {
    use limier::snapshot::{capture, CaptureOptions, Layers};
    let (_guard, root) = temp_dir();
    let cwd = root.join("a");
    std::fs::create_dir_all(&cwd).unwrap();
    let data = root.join("data.bin");
    std::fs::write(&data, vec![b'x'; 8192]).unwrap();
    let sitter = Scenario::start(&["cwd", cwd.to_str().unwrap()]);
    let mapper = Scenario::start(&["map", data.to_str().unwrap()]);
    let backend = limier::Backend::new().unwrap();
    for source in fd_sources() {
        let mut options = CaptureOptions::new(Layers::FILES);
        options.fd_source = source;
        options.maps_source = source;
        options.maps_needless_below = vec![root.clone()];
        let snapshot = capture(&backend, options).unwrap();
        let sitter_process = snapshot
            .process(limier::ProcessId(sitter.pid("cwd")))
            .unwrap();
        assert!(sitter_process.maps.is_none(), "{source:?}");
        let mapper_process = snapshot
            .process(limier::ProcessId(mapper.pid("mapper")))
            .unwrap();
        let maps = mapper_process
            .maps
            .as_ref()
            .expect("the mapper's maps read");
        assert!(maps.iter().any(|m| m.path == data), "{source:?}");
        let users: Vec<u32> = limier::query::users_below(&snapshot, &root)
            .unwrap()
            .iter()
            .map(|u| u.pid.0)
            .collect();
        let mut expected = vec![sitter.pid("cwd"), mapper.pid("mapper")];
        expected.sort_unstable();
        assert_eq!(users, expected, "{source:?}");
    }
    // The sweep takes both.
    let (report, code) = limier_json(&["kill", "--dir", root.to_str().unwrap(), "--dry-run"]);
    assert_eq!(code, 0, "{report}");
    let mut expected = vec![sitter.pid("cwd"), mapper.pid("mapper")];
    expected.sort_unstable();
    assert_eq!(swept_pids(&report), expected, "{report}");
}

/// Mapped files read below the asked directory only (what `in` asks for)
/// change nothing the directory question answers, from every source; as
/// root the kernel reader then lists, for a process mapping nothing below,
/// no file at all — the filter is really at work.
#[test]
fn mapped_files_read_below_the_directory_only_answer_the_same() {
    use limier::snapshot::{capture, CaptureOptions, FdSource, Layers};
    let (_guard, root) = temp_dir();
    let (_other_guard, elsewhere) = temp_dir();
    let inside = root.join("node_modules/addon.node");
    std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
    std::fs::write(&inside, vec![1u8; 8192]).unwrap();
    let outside = elsewhere.join("cache.bin");
    std::fs::write(&outside, vec![2u8; 8192]).unwrap();
    let inner = Scenario::start(&["map", inside.to_str().unwrap()]);
    let outer = Scenario::start(&["map", outside.to_str().unwrap()]);
    let outer_pid = limier::ProcessId(outer.pid("mapper"));
    let backend = limier::Backend::new().unwrap();
    for source in fd_sources() {
        let mut every = CaptureOptions::new(Layers::FILES);
        every.fd_source = source;
        every.maps_source = source;
        let mut below = every.clone();
        below.maps_only_below = vec![root.clone()];
        let every = capture(&backend, every).unwrap();
        let below = capture(&backend, below).unwrap();
        let answer = |snapshot| {
            serde_json::to_value(limier::query::users_below(snapshot, &root).unwrap()).unwrap()
        };
        let answer_below = answer(&below);
        assert_eq!(answer(&every), answer_below, "{source:?}");
        assert!(
            answer_below.to_string().contains(inside.to_str().unwrap()),
            "{source:?}: {answer_below}"
        );
        assert!(answer_below
            .as_array()
            .unwrap()
            .iter()
            .any(|user| user["pid"] == inner.pid("mapper")));
        let maps_of = |snapshot: &limier::snapshot::Snapshot| {
            snapshot.process(outer_pid).unwrap().maps.clone().unwrap()
        };
        assert!(
            maps_of(&every).iter().any(|m| m.path == outside),
            "{source:?}"
        );
        if source == FdSource::Kernel {
            assert_eq!(
                maps_of(&below),
                Vec::new(),
                "nothing of the outer mapper's is below"
            );
        }
    }
}
