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
fn same_names_for_the_same_facts(args: &[&str], value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(fields) => {
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
                        !fields.contains_key(wrong),
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
