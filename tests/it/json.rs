//! Every command's `--json` parses with no object holding a key twice.

use crate::support::*;

#[test]
fn every_command_prints_json_without_duplicate_keys() {
    let server = Scenario::start(&["chain", "3"]);
    let (_guard, root) = temp_dir();
    let resident = Scenario::start(&["cwd", root.to_str().unwrap()]);
    let port = server.port().to_string();
    let leaf = server.pid("leaf").to_string();
    let root_arg = root.to_str().unwrap();
    let cwd_pid = resident.pid("cwd").to_string();
    let commands: [&[&str]; 9] = [
        &["who"],
        &["who", &port],
        &["who", "--pid", &leaf],
        &["in", root_arg],
        &["tree"],
        &["tree", &leaf],
        &["snapshot"],
        &["kill", "--pid", &cwd_pid, "--dry-run"],
        &["kill", "--dir", root_arg, "--grace", "1s"],
    ];
    for args in commands {
        // limier_json parses strictly: a duplicate key panics with its name.
        let (value, code) = limier_json(args);
        assert_eq!(code, 0, "{args:?}: {value}");
        assert_eq!(
            value["schema_version"], 1,
            "{args:?}: an object with its version first"
        );
        same_names_for_the_same_facts(args, &value);
    }
    assert!(strict_json(r#"{"pid": 1, "pid": 2}"#).is_err());
}

/// Every object that describes a process (it has a `pid`) names it `comm`,
/// gives its start in epoch ms as `started_at_ms` beside any other start,
/// and its owner as `uid` and `user` together; no durations with more than
/// a tenth of a millisecond.
pub(crate) fn same_names_for_the_same_facts(args: &[&str], value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(fields) => {
            // An ecluse status service (it has a `verdict`) keeps ecluse's
            // own fields: its `name` is the service's, not a process's.
            let ecluse_service = fields.contains_key("verdict");
            if fields.contains_key("pid") {
                for wrong in [
                    "name",
                    "command",
                    "process_name",
                    "start_time",
                    "username",
                    "owner",
                ] {
                    assert!(
                        !fields.contains_key(wrong) || (ecluse_service && wrong == "name"),
                        "{args:?}: `{wrong}` beside a pid: {value}"
                    );
                }
                if fields.contains_key("start") {
                    assert!(fields.contains_key("started_at_ms"), "{args:?}: {value}");
                }
                if fields.contains_key("uid") && fields.contains_key("comm") {
                    assert!(
                        fields.contains_key("user"),
                        "{args:?}: `user` beside `uid`: {value}"
                    );
                }
            }
            if let Some(ms) = fields.get("duration_ms").and_then(|d| d.as_f64()) {
                assert_eq!((ms * 10.0).round() / 10.0, ms, "{args:?}: duration_ms {ms}");
            }
            for field in fields.values() {
                same_names_for_the_same_facts(args, field);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                same_names_for_the_same_facts(args, item);
            }
        }
        _ => {}
    }
}

/// Every key name in `value`, at any depth.
pub(crate) fn key_names(value: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, field) in fields {
                out.insert(key.clone());
                key_names(field, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| key_names(item, out)),
        _ => {}
    }
}

/// Every key docs/JSON.md's example under `heading` names is among
/// `printed`, or among `elsewhere` (keys only another situation prints).
pub(crate) fn assert_documented_keys_printed(
    heading: &str,
    printed: &std::collections::BTreeSet<String>,
    elsewhere: &[&str],
) {
    let mut documented = std::collections::BTreeSet::new();
    key_names(&doc_example(heading), &mut documented);
    let stale: Vec<&String> = documented
        .iter()
        .filter(|key| !printed.contains(*key) && !elsewhere.contains(&key.as_str()))
        .collect();
    assert!(
        stale.is_empty(),
        "{heading}: docs/JSON.md names {stale:?}, which no run printed: {printed:?}"
    );
}

/// The first ```json block of docs/JSON.md after the heading that starts
/// with `heading`.
fn doc_example(heading: &str) -> serde_json::Value {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/JSON.md")).unwrap();
    let after = &doc[doc
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading} in docs/JSON.md"))..];
    let start = after.find("```json\n").expect("an example") + "```json\n".len();
    let end = start + after[start..].find("```").unwrap();
    serde_json::from_str(&after[start..end]).expect("the example is JSON")
}

#[test]
fn the_documented_examples_name_only_fields_the_commands_print() {
    let server = Scenario::start(&["chain", "2"]);
    let (_guard, root) = temp_dir();
    let resident = Scenario::start(&["cwd", root.to_str().unwrap()]);
    let file = root.join("held.log");
    std::fs::write(&file, "x").unwrap();
    let opener = Scenario::start(&["open", file.to_str().unwrap()]);
    let port = server.port().to_string();
    // An exited child left unreaped (unreaped_by), and limier's ancestor
    // spared in a dry run (why, reason, detail): nothing else is signalled.
    let child = ChildGuard::spawn(std::process::Command::new("sleep").arg("60"));
    let me = std::process::id().to_string();
    let mut outputs: Vec<(&str, Vec<serde_json::Value>)> = vec![
        ("## `limier who", vec![limier_json(&["who", &port]).0]),
        (
            "## `limier in",
            vec![limier_json(&["in", root.to_str().unwrap()]).0],
        ),
        (
            "## `limier kill",
            vec![
                limier_json(&["kill", "--pid", &child.pid().to_string()]).0,
                limier_json(&["kill", "--pid", &me, "--dry-run"]).0,
            ],
        ),
    ];
    // Fields only an ecluse repo prints (ecluse.rs's
    // `ecluse_commands_speak_the_documented_json` checks them there), a
    // hidden holder's `unseen` entries' `kind`, and the example's ellipsis.
    let elsewhere = [
        "...",
        // Readers in `sources.*.served`, which depend on privilege and
        // kernel.
        "kernel-iterator",
        "stat-file",
        "kind",
        "ecluse",
        "ecluse_repo",
        "session",
        "slot",
        "service",
        "docker",
        "skipped",
    ];
    for (heading, real) in outputs.drain(..) {
        let mut printed = std::collections::BTreeSet::new();
        for value in &real {
            key_names(value, &mut printed);
        }
        assert_documented_keys_printed(heading, &printed, &elsewhere);
    }
    drop((resident, opener));
}
