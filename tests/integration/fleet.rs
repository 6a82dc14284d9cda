//! Fleets: an Ansible inventory of local hosts, each pointing at a real lab
//! HAProxy; `--limit`; `targets()`; `harun merge` of real `--json` reports.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Three labs (or None when haproxy is missing).
fn three_labs() -> Option<[Lab; 3]> {
    Some([
        lab(Scenario::Healthy)?,
        lab(Scenario::Incident)?,
        lab(Scenario::Healthy)?,
    ])
}

/// An INI inventory of `lb1..lbN` on this machine, one per lab, in groups
/// `lb` (with a group socket that every host overrides) under `eu`, plus a
/// remote host that nothing here selects.
fn ini_inventory(dir: &Path, labs: &[Lab]) -> PathBuf {
    let mut text = String::from("[lb]\n");
    for (i, l) in labs.iter().enumerate() {
        text.push_str(&format!(
            "lb{} harun_socket={}\n",
            i + 1,
            l.admin_socket().display()
        ));
    }
    text.push_str(
        "\n[lb:vars]\nansible_connection=local\nharun_socket=/nonexistent/group.sock\n\n[eu:children]\nlb\n\n[remote]\nfar1 ansible_host=192.0.2.10\n",
    );
    let p = dir.join("hosts.ini");
    std::fs::write(&p, text).unwrap();
    p
}

fn targets_of_rows(run: &Run) -> BTreeSet<String> {
    run.json()
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {}", run.stdout))
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn inventory_hosts_are_the_targets_and_name_the_rows() {
    let Some(labs) = three_labs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let inv = ini_inventory(dir.path(), &labs);
    // Every row's target, once each.
    let script = "stat().map(|r| r.target).reduce(|a, t| if t in a { a } else { a + [t] }, [])";
    let run = harun()
        .arg("-i")
        .arg(&inv)
        .args(["-l", "lb:!lb3", "--json", "-e", script])
        .run();
    run.expect_code(0);
    assert_eq!(
        targets_of_rows(&run),
        ["lb1", "lb2"].map(String::from).into()
    );

    // The union with -s: the socket keeps its address as its name.
    let run = harun()
        .arg("-i")
        .arg(&inv)
        .args(["-l", "lb1", "-s"])
        .arg(labs[2].admin_socket())
        .args(["--json", "-e", script])
        .run();
    run.expect_code(0);
    let want: BTreeSet<String> = [
        "lb1".to_string(),
        labs[2].admin_socket().display().to_string(),
    ]
    .into();
    assert_eq!(targets_of_rows(&run), want);

    // The same hosts from a YAML inventory, and --forks 1 still reaches all.
    let yml = dir.path().join("hosts.yml");
    let mut text = String::from("all:\n  children:\n    lb:\n      vars:\n        ansible_connection: local\n      hosts:\n");
    for (i, l) in labs.iter().enumerate() {
        text.push_str(&format!(
            "        lb{}:\n          harun_socket: {}\n",
            i + 1,
            l.admin_socket().display()
        ));
    }
    std::fs::write(&yml, text).unwrap();
    let run = harun()
        .arg("-i")
        .arg(&yml)
        .args(["--forks", "1", "--json", "-e", script])
        .run();
    run.expect_code(0);
    assert_eq!(
        targets_of_rows(&run),
        ["lb1", "lb2", "lb3"].map(String::from).into()
    );
}

#[test]
fn targets_gives_the_inventory_view_of_each_target() {
    let Some(labs) = three_labs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let inv = ini_inventory(dir.path(), &labs);
    let run = harun()
        .arg("-i")
        .arg(&inv)
        .args(["-l", "eu[1]", "-s"])
        .arg(labs[0].admin_socket())
        .args(["--json", "-e", "targets()"])
        .run();
    run.expect_code(0);
    let t = run.json();
    let t = t.as_array().unwrap();
    assert_eq!(t.len(), 2, "{t:?}");
    let lb2 = &t[0];
    assert_eq!(lb2["name"], "lb2");
    assert_eq!(lb2["host"], "lb2");
    assert_eq!(lb2["groups"], serde_json::json!(["eu", "lb"]));
    assert_eq!(lb2["connection"], "local");
    assert_eq!(lb2["socket"], labs[1].admin_socket().to_str().unwrap());
    assert_eq!(lb2["address"], labs[1].admin_socket().to_str().unwrap());
    assert_eq!(lb2["port"], Value::Null);
    let direct = &t[1];
    assert_eq!(direct["name"], labs[0].admin_socket().to_str().unwrap());
    assert_eq!(direct["host"], "localhost");
    assert_eq!(direct["groups"], serde_json::json!([]));
}

#[test]
fn unusable_inventories_and_patterns_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts");
    std::fs::write(
        &inv,
        "[lb]\nlb1 ansible_connection=local harun_socket=/nonexistent.sock\nlb2 ansible_host=192.0.2.2 harun_socket=admin.sock\n",
    )
    .unwrap();
    let run = harun().arg("-i").arg(&inv).args(["-e", "1"]).run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("host `lb2`: harun_socket `admin.sock` must be an absolute path"),
        "{}",
        run.stderr
    );
    let run = harun()
        .arg("-i")
        .arg(&inv)
        .args(["-l", "lbb:!lb2", "-e", "1"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("no host or group `lbb`") && run.stderr.contains("did you mean"),
        "{}",
        run.stderr
    );
    // Only lb1: nothing listens there, which is a run error, not a usage one.
    let run = harun()
        .arg("-i")
        .arg(&inv)
        .args(["-l", "lb1", "-e", "info()"])
        .run();
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("lb1 (/nonexistent.sock): cannot connect"),
        "{}",
        run.stderr
    );
    std::fs::write(&inv, "[lb]\nlb1\n[lb:vars\n").unwrap();
    let run = harun().arg("-i").arg(&inv).args(["-e", "1"]).run();
    run.expect_code(2);
    assert!(run.stderr.contains("hosts:3: "), "{}", run.stderr);
    let run = harun().args(["-l", "lb", "-e", "1"]).run();
    run.expect_code(2);
    assert!(run.stderr.contains("add -i/--inventory"), "{}", run.stderr);
}

/// `troubleshoot --json` of one lab, saved as `dir/NAME.json`.
fn report_of(lab: &Lab, dir: &Path, name: &str) -> PathBuf {
    let run = harun()
        .lab(lab)
        .args([
            "troubleshoot",
            "-p",
            "sample=0",
            "-p",
            "skip=logs,system",
            "--json",
        ])
        .run();
    assert!(run.code <= 1, "{}", run.stderr);
    let p = dir.join(format!("{name}.json"));
    std::fs::write(&p, &run.stdout).unwrap();
    p
}

fn merged_finding<'a>(fleet: &'a Value, id: &str) -> &'a Value {
    fleet["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {fleet}"))
}

#[test]
fn merge_groups_the_findings_of_real_reports_by_host() {
    let Some(labs) = three_labs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // One report per host, as Ansible would collect them: lb2 is the incident.
    let lb1 = report_of(&labs[0], dir.path(), "lb1");
    let lb2 = report_of(&labs[1], dir.path(), "lb2");
    let run = harun().arg("merge").arg(&lb1).arg(&lb2).arg("--json").run();
    let one: Value = serde_json::from_str(&std::fs::read_to_string(&lb2).unwrap()).unwrap();
    let worst_in = one["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["severity"] == "error" || f["severity"] == "critical");
    run.expect_code(if worst_in { 1 } else { 0 });
    let fleet = run.json();
    assert_eq!(fleet["hosts"], serde_json::json!(["lb1", "lb2"]));
    assert_eq!(
        merged_finding(&fleet, "servers.down")["hosts"],
        serde_json::json!(["lb2"])
    );
    // The labs share their configuration's findings.
    assert_eq!(
        merged_finding(&fleet, "config.no-log")["hosts"],
        serde_json::json!(["lb1", "lb2"])
    );

    // A report of a run over the inventory: each target is a host; with a
    // dead HAProxy's report, the exit code is the worst of the inputs (3).
    let inv = ini_inventory(dir.path(), &labs);
    let run = harun()
        .arg("-i")
        .arg(&inv)
        .args(["-l", "lb2:lb3", "-c"])
        .arg(labs[0].config_path())
        .args(["--haproxy-bin"])
        .arg(haproxy_bin())
        .args([
            "troubleshoot",
            "-p",
            "sample=0",
            "-p",
            "skip=logs,system",
            "--json",
        ])
        .run();
    assert!(run.code <= 1, "{}", run.stderr);
    let fleet_run = dir.path().join("fleet.json");
    std::fs::write(&fleet_run, &run.stdout).unwrap();
    let dead_dir = tempfile::tempdir().unwrap();
    let dead = dead_haproxy(&dead_dir)
        .args([
            "troubleshoot",
            "-p",
            "sample=0",
            "-p",
            "skip=logs,system",
            "--json",
        ])
        .run();
    dead.expect_code(3);
    let dead_json = dir.path().join("lb9.json");
    std::fs::write(&dead_json, &dead.stdout).unwrap();
    let run = harun()
        .arg("merge")
        .arg(&fleet_run)
        .arg(&dead_json)
        .arg("--json")
        .run();
    run.expect_code(3);
    let fleet = run.json();
    assert_eq!(fleet["hosts"], serde_json::json!(["lb2", "lb3", "lb9"]));
    assert_eq!(
        merged_finding(&fleet, "servers.down")["hosts"],
        serde_json::json!(["lb2"])
    );
    let human = harun().arg("merge").arg(&fleet_run).arg(&dead_json).run();
    human.expect_code(3);
    assert!(
        human
            .stdout
            .contains("servers.down  on 1 of 3 host(s): lb2"),
        "{}",
        human.stdout
    );
}

#[test]
fn merge_refuses_what_is_not_a_report_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("text.json"), "not json").unwrap();
    std::fs::write(p("value.json"), "[1, 2]").unwrap();
    std::fs::write(p("partial.json"), r#"{"findings": [], "playbook": "x"}"#).unwrap();
    for (file, what) in [
        ("missing.json", "no such file"),
        ("text.json", "not JSON"),
        ("value.json", "not a harun report"),
        ("partial.json", "not a harun report: missing field"),
    ] {
        let run = harun().arg("merge").arg(p(file)).run();
        run.expect_code(2);
        assert!(
            run.stderr
                .contains(&format!("{}: {what}", p(file).display())),
            "{file}: {}",
            run.stderr
        );
    }
}
