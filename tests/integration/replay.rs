//! Offline replay: a snapshot of the lab's real HAProxy, taken, the lab
//! stopped (its directory, configuration and sockets gone), then the
//! read-only playbooks run against `--replay DIR` and compared with the live
//! runs; writes refused; bad and partial bundles. Replay runs get a haproxy
//! binary that does not exist: nothing of today's host may be used.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Run `snapshot` against the lab into a new directory: (its parent, the bundle).
fn snapshot(lab: &Lab, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let run = harun()
        .lab(lab)
        .args(["snapshot", "--json", "-p"])
        .arg(format!("dir={}", out.path().display()))
        .args(args)
        .run();
    assert!(
        run.code == 0 || run.code == 1,
        "snapshot failed: {}\n{}",
        run.stdout,
        run.stderr
    );
    let bundle = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("a bundle directory");
    (out, bundle)
}

/// harun against the bundle, with no usable haproxy binary and a private journal.
fn replay(bundle: &Path) -> Harun {
    let journal = bundle.parent().unwrap().join("journal.jsonl");
    harun()
        .arg("--replay")
        .arg(bundle)
        .args(["--haproxy-bin", "/nonexistent/haproxy", "--journal"])
        .arg(journal)
}

/// (id, severity, target) of every finding, sorted.
fn findings(run: &Run) -> Vec<(String, String, String)> {
    let v = run.json();
    let mut out: Vec<_> = all_findings(&v)
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().to_string(),
                f["severity"].as_str().unwrap_or_default().to_string(),
                f["target"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The rows of the report's table `title`.
fn table(run: &Run, title: &str) -> Vec<Value> {
    let v = run.json();
    v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == title)
        .unwrap_or_else(|| panic!("no table {title}: {v}"))["rows"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn replay_of_an_incident_gives_the_live_findings_and_rows() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let live_ts = harun()
        .lab(&lab)
        .args(["troubleshoot", "--json", "-p", "sample=0.5"])
        .run();
    let live_q = harun().lab(&lab).args(["inspect_queues", "--json"]).run();
    let live_s = harun().lab(&lab).args(["--json", "-e", "servers()"]).run();
    let (_out, b) = snapshot(&lab, &["-p", "sample=0.5"]);
    let config = lab.config_path().to_path_buf();
    drop(lab);
    assert!(!config.exists(), "the lab and its files are gone");

    let ts = replay(&b)
        .args(["troubleshoot", "--json", "-p", "sample=0.5"])
        .run();
    ts.expect_code(live_ts.code);
    assert_eq!(findings(&ts), findings(&live_ts));
    assert!(
        ts.stderr.contains("harun: replaying") && ts.stderr.contains(&b.display().to_string()),
        "{}",
        ts.stderr
    );
    // Every area as it was: config checked (recorded haproxy -c), error
    // rates over the recorded interval, the host of that day.
    assert_eq!(table(&ts, "summary"), table(&live_ts, "summary"));
    let cols = |r: &Value| {
        // uptime and idle move between the live run and the snapshot.
        let r = r.as_array().unwrap();
        vec![r[0].clone(), r[1].clone(), r[3].clone(), r[4].clone()]
    };
    assert_eq!(
        table(&ts, "process").iter().map(cols).collect::<Vec<_>>(),
        table(&live_ts, "process")
            .iter()
            .map(cols)
            .collect::<Vec<_>>()
    );
    // The configuration is read from the bundle under its original path.
    let evidence: String = all_findings(&ts.json())
        .iter()
        .filter(|f| f["id"] == "config.no-log")
        .map(evidence)
        .collect();
    assert!(
        evidence.contains(&format!("{}:", config.display())),
        "{evidence}"
    );

    let q = replay(&b).args(["inspect_queues", "--json"]).run();
    q.expect_code(live_q.code);
    assert_eq!(findings(&q), findings(&live_q));
    assert_eq!(table(&q, "queues"), table(&live_q, "queues"));

    let s = replay(&b).args(["--json", "-e", "servers()"]).run();
    s.expect_code(0);
    let rows = |run: &Run| -> Vec<Value> {
        let mut v = run.json();
        for row in v.as_array_mut().unwrap() {
            // Seconds since the last change tick between the two reads.
            row.as_object_mut()
                .unwrap()
                .remove("srv_time_since_last_change");
        }
        v.as_array().unwrap().clone()
    };
    assert_eq!(rows(&s), rows(&live_s));
    assert_eq!(s.json().as_array().unwrap().len(), 9);

    // The read primitives that filter: answered from the recorded replies.
    let one = replay(&b)
        .args([
            "--json",
            "-e",
            r#"#{ api: stat("bk_api").map(|r| r.svname), app: servers("bk_app").map(|s| s.server),
                 backends: send("show backend"), level: send("show cli level") }"#,
        ])
        .run();
    one.expect_code(0);
    let v = one.json();
    assert_eq!(v["api"], serde_json::json!(["api1", "api2", "BACKEND"]));
    assert_eq!(v["app"], serde_json::json!(["app1", "app2", "app3"]));
    assert!(v["backends"].as_str().unwrap().contains("bk_pinned"), "{v}");
    assert_eq!(v["level"].as_str().unwrap().trim(), "admin");

    // Read-only playbooks that read the configuration and the host.
    for pb in ["check_config", "enable_logs", "trace_header"] {
        let run = replay(&b).args([pb, "--json"]).run();
        assert!(run.code <= 1, "{pb}: {}\n{}", run.stdout, run.stderr);
        assert!(
            !findings(&run)
                .iter()
                .any(|(id, _, _)| id == "config.check-unavailable" || id == "config.unreadable"),
            "{pb}: {}",
            run.stdout
        );
    }
}

#[test]
fn snapshot_of_a_replay_gives_the_same_bundle() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let (_out, b) = snapshot(&lab, &["-p", "sample=0.2", "-p", "checks=false"]);
    drop(lab);
    let again = tempfile::tempdir().unwrap();
    let run = replay(&b)
        .args([
            "snapshot",
            "--json",
            "-p",
            "checks=false",
            "-p",
            "sample=0.2",
            "-p",
        ])
        .arg(format!("dir={}", again.path().display()))
        .run();
    run.expect_code(0);
    let b2 = std::fs::read_dir(again.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let mut files = Vec::new();
    let mut stack = vec![b.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p.strip_prefix(&b).unwrap().to_path_buf());
            }
        }
    }
    assert!(files.len() >= 14, "{files:?}");
    for f in files {
        if f == Path::new("index.json") {
            continue; // names its own directory
        }
        let (one, two) = (
            std::fs::read(b.join(&f)).unwrap(),
            std::fs::read(b2.join(&f)).unwrap_or_default(),
        );
        assert!(
            one == two,
            "{} differs after a replayed snapshot",
            f.display()
        );
    }
    let index = |d: &Path| -> Value {
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("index.json")).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("bundle");
        v
    };
    assert_eq!(index(&b), index(&b2));
}

#[test]
fn replayed_error_rates_come_from_the_two_recorded_samples() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    // bk_api with api2 refusing and api1 in maintenance: HAProxy answers 503.
    force_maint(&lab, "bk_api/api1");
    let (_out, b) = std::thread::scope(|s| {
        let taking = s.spawn(|| snapshot(&lab, &["-p", "sample=2", "-p", "checks=false"]));
        // Between the two `show stat` samples (the second comes after 2 s).
        std::thread::sleep(Duration::from_millis(900));
        for _ in 0..6 {
            let reply = lab.get("/", Some("bk_api")).unwrap();
            assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
        }
        taking.join().unwrap()
    });
    drop(lab);
    let run = replay(&b)
        .args(["troubleshoot", "--json", "-p", "sample=2"])
        .run();
    run.expect_code(1);
    let f = run.finding("backend.errors");
    assert_eq!(f["severity"], "error");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .starts_with("bk_api: 6 of 6 responses were 5xx"),
        "{f}"
    );
    let summary = table(&run, "summary");
    let errors = summary.iter().find(|r| r[0] == "errors").unwrap();
    assert_eq!(errors[1], "1 backend(s) with errors in 2.0s", "{errors}");

    // One sample: rates unavailable, never "no 5xx".
    let Some(lab) = crate::harness::lab(Scenario::Incident) else {
        return;
    };
    let (_out1, one) = snapshot(&lab, &["-p", "sample=0", "-p", "checks=false"]);
    drop(lab);
    assert!(!one.join("show_stat.2.txt").exists());
    let run = replay(&one).args(["troubleshoot", "--json"]).run();
    let f = run.finding("errors.unavailable");
    assert_eq!(f["severity"], "info");
    assert!(
        f["detail"]
            .as_str()
            .unwrap()
            .contains("one `show stat` sample"),
        "{f}"
    );
    let summary = table(&run, "summary");
    let errors = summary.iter().find(|r| r[0] == "errors").unwrap();
    assert_eq!(
        errors[1], "rates unavailable (one show stat sample recorded)",
        "{errors}"
    );
    assert!(run.finding_ids().iter().all(|id| id != "backend.errors"));
}

#[test]
fn writes_to_a_replay_are_refused_with_exit_4() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let (out, b) = snapshot(&lab, &["-p", "sample=0", "-p", "checks=false"]);
    drop(lab);
    let why = format!("replay bundle {} is read-only", b.display());
    for args in [
        vec!["--yes", "-e", r#"set_state("bk_app/app1", "drain")"#],
        vec![
            "--yes",
            "-e",
            r#"send("set server bk_app/app1 state maint")"#,
        ],
        vec![
            "--yes",
            "-e",
            r#"set_weight(["bk_app/app1", "bk_app/app2"], "50%")"#,
        ],
        vec!["--dry-run", "drain_server", "-p", "server=bk_app/app1"],
    ] {
        let run = replay(&b).args(&args).run();
        run.expect_code(4);
        assert!(run.stderr.contains(&why), "{args:?}: {}", run.stderr);
    }
    // Nothing was journaled: no HAProxy was involved.
    assert!(!out.path().join("journal.jsonl").exists());
    // A playbook can catch the refusal and the reads still work.
    let run = replay(&b)
        .args([
            "--json",
            "-e",
            r#"let k = (); try { set_state("bk_app/app1", "drain") } catch (e) { k = e.kind } [k, servers().len()]"#,
        ])
        .run();
    run.expect_code(0);
    assert_eq!(run.json(), serde_json::json!(["refused", 7]));
}

#[test]
fn bad_bundles_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(PathBuf, &str)> = {
        std::fs::create_dir_all(d.join("empty")).unwrap();
        std::fs::create_dir_all(d.join("foreign")).unwrap();
        std::fs::write(
            d.join("foreign/index.json"),
            r#"{"name":"node_modules","version":"1.2.3"}"#,
        )
        .unwrap();
        std::fs::create_dir_all(d.join("garbled")).unwrap();
        std::fs::write(d.join("garbled/index.json"), "{\"files\": [").unwrap();
        std::fs::create_dir_all(d.join("newer")).unwrap();
        std::fs::write(
            d.join("newer/index.json"),
            r#"{"format":"harun-snapshot","version":7,"files":[]}"#,
        )
        .unwrap();
        std::fs::write(d.join("plain-file"), "x").unwrap();
        vec![
            (
                d.join("missing"),
                "missing: not a usable replay bundle: no such directory",
            ),
            (
                d.join("plain-file"),
                "plain-file: not a usable replay bundle: not a directory",
            ),
            (
                d.join("empty"),
                "empty: not a usable replay bundle: no index.json",
            ),
            (
                d.join("foreign"),
                "foreign/index.json: not a usable replay bundle: not a harun snapshot index",
            ),
            (
                d.join("garbled"),
                "garbled/index.json: not a usable replay bundle: not JSON",
            ),
            (
                d.join("newer"),
                "newer/index.json: not a usable replay bundle: written by a newer harun",
            ),
        ]
    };
    for (path, want) in cases {
        for how in ["--replay", "-s"] {
            let target = if how == "-s" {
                format!("replay@{}", path.display())
            } else {
                path.display().to_string()
            };
            let run = harun().args([how, &target, "troubleshoot"]).run();
            run.expect_code(2);
            assert!(run.stderr.contains(want), "{how} {target}: {}", run.stderr);
            assert!(run.stdout.is_empty(), "{}", run.stdout);
        }
    }
    let run = harun()
        .args([
            "-s",
            "replay@/x",
            "-s",
            "/run/haproxy/admin.sock",
            "-e",
            "1",
        ])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("only target of its run"),
        "{}",
        run.stderr
    );
}

#[test]
fn partial_bundles_replay_what_they_hold() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let (_out, b) = snapshot(&lab, &["-p", "sample=0", "-p", "checks=false"]);
    drop(lab);
    std::fs::remove_file(b.join("show_errors.txt")).unwrap();
    std::fs::remove_file(b.join("host.json")).unwrap();
    // What the snapshot holds still answers; each gap is named once.
    let run = replay(&b).args(["--json", "-e", "info().Name"]).run();
    run.expect_code(0);
    assert_eq!(run.json(), "HAProxy");
    assert!(
        run.stderr.contains("partial bundle: ")
            && run.stderr.contains("show_errors.txt: listed in index.json"),
        "{}",
        run.stderr
    );
    let run = replay(&b).args(["-e", r#"send("show errors")"#]).run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("`show errors` (target ")
            && run.stderr.contains("is not recorded in replay bundle"),
        "{}",
        run.stderr
    );
    // No host facts: the system area says so instead of reading this host.
    let run = replay(&b).args(["troubleshoot", "--json"]).run();
    run.expect_code(0);
    let summary = table(&run, "summary");
    let system = summary.iter().find(|r| r[0] == "system").unwrap();
    assert_eq!(system[1], "not recorded in the replay bundle");
    let run = replay(&b).args(["-e", "irqbalance()"]).run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("host facts (irqbalance, CPUs, rsyslog; host.json) is not recorded"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_snapshot_of_a_dead_haproxy_replays_as_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = dead_haproxy(&dir)
        .args(["snapshot", "-p", "sample=0", "-p"])
        .arg(format!("dir={}", out.path().display()))
        .run();
    run.expect_code(3);
    let b = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    // As on the day: HAProxy did not answer, the offline checks ran, exit 3.
    let run = replay(&b).args(["troubleshoot", "--json"]).run();
    run.expect_code(3);
    let f = run.finding("process.unreachable");
    assert_eq!(f["severity"], "critical");
    assert!(
        f["detail"]
            .as_str()
            .unwrap()
            .contains("recorded by the snapshot"),
        "{f}"
    );
    assert!(
        run.stderr
            .contains("`show info` failed when the snapshot was taken (unreachable)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_playbook_test_runs_against_a_replay_bundle() {
    let Some(mut lab) = lab(Scenario::Incident) else {
        return;
    };
    let (out, bundle) = snapshot(&lab, &["-p", "checks=false"]);
    lab.stop();
    let tests = out.path().join("incident.test.toml");
    std::fs::write(
        &tests,
        format!(
            r#"[[test]]
name = "troubleshoot replays the incident as it was"
playbook = "troubleshoot"
against = "replay:{b}"
exit = 0
findings = ["servers.down:warning", "servers.maint:info"]

[[test]]
name = "a write in a replay is refused"
playbook = "drain_server"
against = "replay:{b}"
params = {{ server = "bk_app/app1" }}
exit = 4
"#,
            b = bundle.display()
        ),
    )
    .unwrap();
    let run = harun()
        .env("XDG_CONFIG_HOME", out.path().join("xdg"))
        .arg("test")
        .arg(&tests)
        .run();
    run.expect_code(0);
    assert!(run.stdout.contains("2 passed, 0 failed"), "{}", run.stdout);
}
