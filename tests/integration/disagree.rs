//! `disagreements()`: what several real HAProxys say differently about the
//! same servers and backends, from two `-s` sockets, an inventory, a master
//! CLI's worker and a replay bundle of two targets; and `troubleshoot`'s
//! `fleet.disagreement` findings.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// (name, field, summary) of each row, sorted.
fn rows(v: &Value) -> BTreeSet<(String, String, String)> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["field"].as_str().unwrap().to_string(),
                r["summary"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn set(list: &[(&str, &str, String)]) -> BTreeSet<(String, String, String)> {
    list.iter()
        .map(|(n, f, s)| (n.to_string(), f.to_string(), s.clone()))
        .collect()
}

/// Wait until every health check of the lab has finished once (no `INI`
/// status left in `show stat`), so that the checks compare settled.
fn checks_done(lab: &Lab) {
    wait_for("the first health checks", Duration::from_secs(10), || {
        !socat(lab, "show stat").contains(",INI,")
    });
}

/// `disagreements()` of the run's targets, which must succeed.
#[track_caller]
fn disagreements_of(h: Harun) -> Value {
    let run = h.args(["--json", "-e", "disagreements()"]).run();
    run.expect_code(0);
    run.json()
}

fn sock(lab: &Lab) -> String {
    lab.admin_socket().display().to_string()
}

#[test]
fn two_sockets_name_a_maint_a_drain_a_weight_and_a_disabled_check_on_one_only() {
    let (Some(a), Some(b)) = (lab(Scenario::Healthy), lab(Scenario::Healthy)) else {
        return;
    };
    checks_done(&a);
    checks_done(&b);
    for cmd in [
        "set server bk_app/app1 state maint",
        "set server bk_app/app2 state drain",
        "set server bk_api/api1 weight 50",
        "disable health bk_single/only1",
    ] {
        let reply = socat(&b, cmd);
        assert!(reply.trim().is_empty(), "{cmd}: {reply}");
    }
    let (sa, sb) = (sock(&a), sock(&b));

    // One target: nothing to compare.
    let got = disagreements_of(harun().arg("-s").arg(&sb));
    assert_eq!(got, serde_json::json!([]));

    let live = disagreements_of(harun().args(["-s", &sa, "-s", &sb]));
    let want = set(&[
        (
            "bk_app/app1",
            "admin",
            format!("{sa} says ready; {sb} says maint"),
        ),
        (
            "bk_app/app2",
            "admin",
            format!("{sa} says ready; {sb} says drain"),
        ),
        (
            "bk_api/api1",
            "weight",
            format!("{sa} says 1; {sb} says 50"),
        ),
        (
            "bk_single/only1",
            "check",
            format!("{sa} says L4OK; {sb} says disabled"),
        ),
    ]);
    assert_eq!(rows(&live), want, "{live:#}");
    // Every key of the vocabulary, typed; values per target.
    let app1 = live
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "bk_app/app1")
        .unwrap();
    assert_eq!(app1["backend"], "bk_app");
    assert_eq!(app1["server"], "app1");
    assert_eq!(app1["values"][&sa], "ready");
    assert_eq!(app1["values"][&sb], "maint");
    assert_eq!(app1["targets"], serde_json::json!([sa, sb]));
    let api1 = live
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "bk_api/api1")
        .unwrap();
    assert_eq!(api1["values"][&sb], 50);

    // A playbook reads the rows strictly: a typo is an error at its line.
    let run = harun()
        .args(["-s", &sa, "-s", &sb, "-e"])
        .arg("let d = disagreements();\nd[0].sumary")
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("sumary") && run.stderr.contains("summary"),
        "{}",
        run.stderr
    );

    // troubleshoot: one fleet.disagreement finding per row.
    let run = harun()
        .args(["-s", &sa, "-s", &sb])
        .config(a.config_path())
        .troubleshoot_json(&["config", "logs", "system"])
        .run();
    let report = run.json();
    let found = findings_with(&report, "fleet.disagreement");
    assert_eq!(found.len(), 4, "{report:#}");
    let titles: BTreeSet<String> = found
        .iter()
        .map(|f| f["title"].as_str().unwrap().to_string())
        .collect();
    assert!(
        titles.contains(&format!(
            "bk_app/app1: admin differs: {sa} says ready; {sb} says maint"
        )),
        "{titles:?}"
    );
    for f in &found {
        assert_eq!(f["severity"], "warning", "{f}");
    }

    // A snapshot of both targets replays the same rows.
    let out = tempfile::tempdir().unwrap();
    let run = harun()
        .args(["-s", &sa, "-s", &sb, "snapshot", "--json", "-p"])
        .arg(format!("dir={}", out.path().display()))
        .args(["-p", "sample=0", "-p", "checks=false"])
        .run();
    assert!(run.code == 0, "{}\n{}", run.stdout, run.stderr);
    let bundle = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("a bundle directory");
    let got = disagreements_of(
        harun()
            .arg("--replay")
            .arg(&bundle)
            .args(["--haproxy-bin", "/nonexistent/haproxy"]),
    );
    assert_eq!(rows(&got), want);
}

/// An inventory of two local hosts, `lb1` and `lb2`.
fn inventory(dir: &Path, labs: [&Lab; 2]) -> std::path::PathBuf {
    let hosts = inventory_hosts(&labs.map(Lab::admin_socket), "ansible_connection=local");
    write_inventory(dir, "hosts.ini", &format!("[lb]\n{hosts}"))
}

#[test]
fn inventory_hosts_with_different_configurations_name_the_backends_and_servers_of_one() {
    let Some(a) = lab(Scenario::Healthy) else {
        return;
    };
    // lb2 has two more backends (one without servers) and one more server.
    let b = lab_with(Scenario::Healthy, |b| {
        b.section("backend bk_new\n    server n1 127.0.0.1:9 weight 3\n")
            .section("backend bk_empty\n")
            .section("backend bk_more\n    server m1 127.0.0.1:9\n    server m2 127.0.0.1:9\n")
    })
    .unwrap();
    let c = lab_with(Scenario::Healthy, |b| {
        b.section("backend bk_more\n    server m1 127.0.0.1:9\n")
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), [&a, &b]);
    let got = disagreements_of(harun().inventory(&inv));
    assert_eq!(
        rows(&got),
        set(&[
            ("bk_new", "present", "on lb2; not on lb1".into()),
            ("bk_empty", "present", "on lb2; not on lb1".into()),
            ("bk_more", "present", "on lb2; not on lb1".into()),
        ]),
        "{got:#}"
    );
    let empty = got
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "bk_empty")
        .unwrap();
    assert_eq!(empty["server"], Value::Null);
    assert_eq!(empty["values"]["lb1"], false);
    assert_eq!(empty["values"]["lb2"], true);

    // With a third host that has bk_more with one of its two servers.
    let got = disagreements_of(harun().inventory(&inv).arg("-s").arg(c.admin_socket()));
    let sc = sock(&c);
    let got = rows(&got);
    assert!(
        got.contains(&(
            "bk_more/m2".into(),
            "present".into(),
            format!("on lb2; not on {sc}")
        )),
        "{got:#?}"
    );
    assert!(
        got.contains(&(
            "bk_more".into(),
            "present".into(),
            format!("on lb2, {sc}; not on lb1")
        )),
        "{got:#?}"
    );
    assert!(!got.iter().any(|(n, ..)| n == "bk_more/m1"), "{got:#?}");

    // A host that does not answer is a target.unreachable finding; the
    // others are still compared (two left: lb2 and the -s socket).
    let mut text = std::fs::read_to_string(&inv).unwrap();
    text.push_str("lb3 ansible_connection=local harun_socket=/nonexistent/h.sock\n");
    std::fs::write(&inv, text).unwrap();
    let run = harun()
        .inventory(&inv)
        .args(["-l", "lb2:lb3", "-s"])
        .arg(c.admin_socket())
        .args(["-e", "disagreements().len()"])
        .run();
    run.expect_code(1);
    assert!(run.stdout.contains("target.unreachable"), "{}", run.stdout);
    // One answer of two compares with nothing: an error, never "they agree".
    let run = harun()
        .inventory(&inv)
        .args(["-l", "lb2:lb3", "-e", "disagreements().len()"])
        .run();
    assert!(
        run.stderr.contains("only 1 of 2 targets answered"),
        "{}",
        run.stderr
    );
    let run = harun()
        .inventory(&inv)
        .args(["-l", "lb2:lb3"])
        .troubleshoot(&["logs", "system"])
        .run();
    assert!(
        run.stdout
            .contains("not compared: only 1 of 2 targets answered"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn a_master_cli_worker_is_compared_under_its_worker_name() {
    let Some(m) = lab_with(Scenario::Healthy, |b| b.master(true)) else {
        return;
    };
    let plain = lab(Scenario::Healthy).unwrap();
    let reply = socat(&plain, "set server bk_app/app3 state maint");
    assert!(reply.trim().is_empty(), "{reply}");
    let mut master = std::ffi::OsString::from("master@");
    master.push(m.master_socket().unwrap());
    let got = disagreements_of(
        harun()
            .arg("-s")
            .arg(&master)
            .arg("-s")
            .arg(plain.admin_socket()),
    );
    let got = got.as_array().unwrap();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["name"], "bk_app/app3");
    let targets: Vec<&str> = got[0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(targets.len(), 2);
    assert!(
        targets[0].starts_with("master@") && targets[0].contains("(worker "),
        "{targets:?}"
    );
    assert_eq!(got[0]["values"][targets[0]], "ready");
    assert_eq!(got[0]["values"][targets[1]], "maint");
}

#[test]
fn a_server_down_on_one_host_only_is_an_op_state_and_a_check_row() {
    // The incident lab: bk_api/api2 refuses connections (DOWN, L4CON),
    // bk_app/app3 is `disabled` in its configuration, bk_pinned is its own.
    let (Some(healthy), Some(incident)) = (lab(Scenario::Healthy), lab(Scenario::Incident)) else {
        return;
    };
    checks_done(&healthy);
    checks_done(&incident);
    let (h, i) = (sock(&healthy), sock(&incident));
    let got = disagreements_of(harun().args(["-s", &h, "-s", &i]));
    assert_eq!(
        rows(&got),
        set(&[
            (
                "bk_api/api2",
                "op_state",
                format!("{h} says running; {i} says stopped")
            ),
            (
                "bk_api/api2",
                "check",
                format!("{h} says L4OK; {i} says L4CON")
            ),
            (
                "bk_app/app3",
                "admin",
                format!("{h} says ready; {i} says maint")
            ),
            ("bk_pinned", "present", format!("on {i}; not on {h}")),
        ]),
        "{got:#}"
    );
}

#[test]
fn troubleshoot_lists_twenty_disagreements_and_counts_the_rest() {
    let Some(a) = lab(Scenario::Healthy) else {
        return;
    };
    // 30 backends on the second lab only: 30 rows, 20 findings and one more.
    let b = lab_with(Scenario::Healthy, |mut b| {
        for i in 0..30 {
            b = b.section(format!("backend bk_extra{i:02}\n"));
        }
        b
    })
    .unwrap();
    let run = harun()
        .arg("-s")
        .arg(a.admin_socket())
        .arg("-s")
        .arg(b.admin_socket())
        .args(["-e", "disagreements().len()"])
        .run();
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), "30");
    let run = harun()
        .arg("-s")
        .arg(a.admin_socket())
        .arg("-s")
        .arg(b.admin_socket())
        .troubleshoot_json(&["config", "logs", "system"])
        .run();
    let report = run.json();
    let found = findings_with(&report, "fleet.disagreement");
    assert_eq!(found.len(), 21, "{report:#}");
    assert_eq!(
        found[20]["title"],
        "10 more disagreement(s) between the targets, not listed here"
    );
}
