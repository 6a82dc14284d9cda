//! Fleets: an Ansible inventory of local hosts, each pointing at a real lab
//! HAProxy; `--limit`; `targets()`; `harun merge` of real `--json` reports.

use crate::harness::*;
use harun::lab::Lab;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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
    let Some(fleet) = LabFleet::start() else {
        return;
    };
    let (labs, dir) = (&fleet.labs, &fleet.dir);
    // Every row's target, once each.
    let script = "stat().map(|r| r.target).reduce(|a, t| if t in a { a } else { a + [t] }, [])";
    let run = fleet
        .harun()
        .args(["-l", "lb:!lb3", "--json", "-e", script])
        .run();
    run.expect_code(0);
    assert_eq!(
        targets_of_rows(&run),
        ["lb1", "lb2"].map(String::from).into()
    );

    // The union with -s: the socket keeps its address as its name.
    let run = fleet
        .harun()
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
    let mut text = String::from("all:\n  children:\n    lb:\n      vars:\n        ansible_connection: local\n      hosts:\n");
    for (i, l) in labs.iter().enumerate() {
        text.push_str(&format!(
            "        lb{}:\n          harun_socket: {}\n",
            i + 1,
            l.admin_socket().display()
        ));
    }
    let yml = write_inventory(dir.path(), "hosts.yml", &text);
    let run = harun()
        .inventory(&yml)
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
    let Some(fleet) = LabFleet::start() else {
        return;
    };
    let labs = &fleet.labs;
    let run = fleet
        .harun()
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
    let inv = write_inventory(
        dir.path(),
        "hosts",
        "[lb]\nlb1 ansible_connection=local harun_socket=/nonexistent.sock\nlb2 ansible_host=192.0.2.2 harun_socket=admin.sock\n",
    );
    let run = harun().inventory(&inv).args(["-e", "1"]).run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("host `lb2`: harun_socket `admin.sock` must be an absolute path"),
        "{}",
        run.stderr
    );
    let run = harun()
        .inventory(&inv)
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
        .inventory(&inv)
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
    let run = harun().inventory(&inv).args(["-e", "1"]).run();
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
        .troubleshoot_json(&["logs", "system"])
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
    let Some(fleet) = LabFleet::start() else {
        return;
    };
    let (labs, dir) = (&fleet.labs, &fleet.dir);
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
    let merged = run.json();
    assert_eq!(merged["hosts"], serde_json::json!(["lb1", "lb2"]));
    assert_eq!(
        merged_finding(&merged, "servers.down")["hosts"],
        serde_json::json!(["lb2"])
    );
    // The labs share their configuration's findings.
    assert_eq!(
        merged_finding(&merged, "config.no-log")["hosts"],
        serde_json::json!(["lb1", "lb2"])
    );

    // A report of a run over the inventory: each target is a host; with a
    // dead HAProxy's report, the exit code is the worst of the inputs (3).
    let run = fleet
        .harun()
        .args(["-l", "lb2:lb3"])
        .config(labs[0].config_path())
        .troubleshoot_json(&["logs", "system"])
        .run();
    assert!(run.code <= 1, "{}", run.stderr);
    let fleet_run = dir.path().join("fleet.json");
    std::fs::write(&fleet_run, &run.stdout).unwrap();
    let dead_dir = tempfile::tempdir().unwrap();
    let dead = dead_haproxy(&dead_dir)
        .troubleshoot_json(&["logs", "system"])
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
    let merged = run.json();
    assert_eq!(merged["hosts"], serde_json::json!(["lb2", "lb3", "lb9"]));
    assert_eq!(
        merged_finding(&merged, "servers.down")["hosts"],
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

/// The journal's lines that say what a write did (intents folded away),
/// as (target, command, group).
fn journal_writes(path: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["outcome"] != "sending")
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (s("target"), s("command"), s("group"))
        })
        .collect()
}

#[test]
fn a_rolling_drain_goes_group_by_group_in_inventory_order() {
    let Some(fleet) = LabFleet::start() else {
        return;
    };
    let labs = &fleet.labs;
    let journal = fleet.journal();
    let run = fleet
        .harun()
        .args(["-l", "lb"])
        .arg("--journal")
        .arg(&journal)
        .args(["--serial", "2", "--yes", "drain_server"])
        .args(["-p", "server=bk_app/app1", "-p", "then=maint"])
        .args(["-p", "timeout=20", "-p", "poll=0.2"])
        .run();
    run.expect_code(0);
    for l in labs {
        assert_eq!(
            admin_state(l, "bk_app", "app1") & FMAINT,
            FMAINT,
            "{}",
            run.stderr
        );
    }
    // Group 1 (lb1, lb2) is drained, waited for and put in maintenance
    // before group 2 (lb3) is touched; each line names its host and group.
    let drain = "set server bk_app/app1 state drain";
    let maint = "set server bk_app/app1 state maint";
    let g1 = "1/2 of --serial 2";
    let g2 = "2/2 of --serial 2";
    let want: Vec<(String, String, String)> = [
        ("lb1", drain, g1),
        ("lb2", drain, g1),
        ("lb1", maint, g1),
        ("lb2", maint, g1),
        ("lb3", drain, g2),
        ("lb3", maint, g2),
    ]
    .iter()
    .map(|(t, c, g)| (t.to_string(), c.to_string(), g.to_string()))
    .collect();
    assert_eq!(journal_writes(&journal), want, "{}", run.stderr);
    // The terminal says when a group starts.
    let g = run
        .stderr
        .find("group 1 of 2 (lb1, lb2):")
        .expect(&run.stderr);
    let g2_at = run.stderr.find("group 2 of 2 (lb3):").expect(&run.stderr);
    assert!(g < g2_at, "{}", run.stderr);
}

#[test]
fn a_rolling_change_stops_at_the_first_group_that_fails_and_says_where() {
    let Some(fleet) = LabFleet::start() else {
        return;
    };
    let (labs, dir) = (&fleet.labs, &fleet.dir);
    let journal = fleet.journal();
    // lb2 is the incident lab, where bk_api/api1 is the last UP server of
    // bk_api: its guard refuses. lb1 was drained before; lb3 is never touched.
    let script = r#"
        let r = ();
        try { set_state("bk_api/api1", "drain"); } catch (e) {
            r = #{ kind: e.kind, exit_code: e.exit_code, message: e.message, rolling: e.rolling,
                   writes: e.writes.map(|w| w.target + " " + w.outcome) };
        }
        r"#;
    let run = fleet
        .harun()
        .args(["-l", "lb"])
        .arg("--journal")
        .arg(&journal)
        .args(["--serial", "1", "--yes", "--json", "-e", script])
        .run();
    run.expect_code(0);
    let v = run.json();
    assert_eq!(v["kind"], "refused", "{v}");
    assert_eq!(v["exit_code"], 4);
    let r = &v["rolling"];
    assert_eq!(
        (r["group"].as_i64(), r["groups"].as_i64()),
        (Some(2), Some(3)),
        "{v}"
    );
    assert_eq!(r["serial"], "1");
    assert_eq!(r["done"], serde_json::json!(["lb1"]));
    assert_eq!(r["failed"][0]["host"], "lb2", "{v}");
    assert!(
        r["failed"][0]["error"]
            .as_str()
            .unwrap()
            .contains("last UP server"),
        "{v}"
    );
    assert_eq!(r["untouched"], serde_json::json!(["lb3"]));
    assert_eq!(v["writes"], serde_json::json!(["lb1 sent"]));
    let message = v["message"].as_str().unwrap();
    for line in [
        "rolling change (--serial 1) stopped at group 2 of 3 (lb2):",
        "  done: lb1",
        "  failed: lb2 (the error above)",
        "  never touched: lb3",
    ] {
        assert!(message.contains(line), "no {line:?} in:\n{message}");
    }
    // What HAProxy says: drained on lb1 only.
    assert_eq!(admin_state(&labs[0], "bk_api", "api1") & FDRAIN, FDRAIN);
    assert_eq!(admin_state(&labs[1], "bk_api", "api1"), 0);
    assert_eq!(admin_state(&labs[2], "bk_api", "api1"), 0);

    // A host whose HAProxy is down: the change stops there with exit 3,
    // the host after it untouched.
    let inv2 = write_inventory(
        dir.path(),
        "down.ini",
        &format!(
            "[lb]\nlb1 harun_socket={}\ngone harun_socket={}\nlb3 harun_socket={}\n[lb:vars]\nansible_connection=local\n",
            labs[0].admin_socket().display(),
            dir.path().join("gone.sock").display(),
            labs[2].admin_socket().display()
        ),
    );
    let run = harun()
        .inventory(&inv2)
        .arg("--journal")
        .arg(&journal)
        .args([
            "--serial",
            "1",
            "--yes",
            "-e",
            "set_weight(\"bk_app/app2\", 9); 1",
        ])
        .run();
    run.expect_code(3);
    for line in [
        "stopped at group 2 of 3 (gone):",
        "  done: lb1",
        "  failed: gone (the error above)",
        "  never touched: lb3",
    ] {
        assert!(run.stderr.contains(line), "no {line:?} in:\n{}", run.stderr);
    }
    assert!(run.stderr.contains("gone ("), "{}", run.stderr);
    assert!(socat(&labs[0], "get weight bk_app/app2").starts_with("9 "));
    assert!(socat(&labs[2], "get weight bk_app/app2").starts_with("1 "));
}

#[test]
fn a_rolling_dry_run_shows_the_plan_group_by_group() {
    let Some(fleet) = LabFleet::start() else {
        return;
    };
    let labs = &fleet.labs;
    let journal = fleet.journal();
    let script = "set_state(\"bk_app/app1\", \"drain\"); 1";
    let run = fleet
        .harun()
        .args(["-l", "lb"])
        .arg("--journal")
        .arg(&journal)
        .args(["--serial", "1,2", "--dry-run", "-e", script])
        .run();
    run.expect_code(0);
    let plan: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("dry-run:"))
        .collect();
    assert_eq!(
        plan,
        [
            "dry-run: group 1 of 2 (lb1):",
            "dry-run: would send to lb1: set server bk_app/app1 state drain",
            "dry-run: group 2 of 2 (lb2, lb3):",
            "dry-run: would send to lb2: set server bk_app/app1 state drain",
            "dry-run: would send to lb3: set server bk_app/app1 state drain",
        ],
        "{}",
        run.stderr
    );
    for l in labs {
        assert_eq!(admin_state(l, "bk_app", "app1"), 0);
    }
    // The same plan in the report.
    let run = fleet
        .harun()
        .args(["-l", "lb"])
        .arg("--journal")
        .arg(&journal)
        .args(["--serial", "1,2", "--dry-run", "--json", "drain_server"])
        .args(["-p", "server=bk_app/app1"])
        .run();
    run.expect_code(0);
    let writes: Vec<(String, i64, String)> = run.json()["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["target"].as_str().unwrap().to_string(),
                w["group"].as_i64().unwrap(),
                w["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        writes,
        [("lb1", 1), ("lb2", 2), ("lb3", 2)].map(|(t, g)| (
            t.to_string(),
            g,
            "dry-run".to_string()
        ))
    );
}
