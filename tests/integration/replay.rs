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

/// `show stat` forms whose replayed answer must be the live one.
const STAT_FORMS: [&str; 7] = [
    "show stat up",
    "show stat no-maint",
    "show stat bk_app 4 -1 up",
    "show stat -1 2 -1 no-maint",
    "show stat bk_api -1 -1",
    "show stat domain proxy -1 1 -1 desc",
    "show stat 3x 7 -1",
];

/// `pxname/svname status` of each row of a `show stat` reply (counters
/// move between two reads; rows and statuses do not).
fn stat_rows(reply: &str) -> Vec<String> {
    let mut lines = reply.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let col = |n: &str| header.iter().position(|c| *c == n).unwrap();
    let (px, sv, st) = (col("pxname"), col("svname"), col("status"));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{}/{} {}", f[px], f[sv], f[st])
        })
        .collect()
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
    let live_forms: Vec<Vec<String>> = STAT_FORMS
        .iter()
        .map(|c| stat_rows(&socat(&lab, c)))
        .collect();
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
            // Seconds since the last change tick between the two reads, and
            // the check state carries an "in progress" bit that flips with
            // every health check (every 300 ms in the lab).
            let row = row.as_object_mut().unwrap();
            for moving in [
                "srv_time_since_last_change",
                "srv_check_state",
                "srv_agent_state",
            ] {
                row.remove(moving);
            }
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

    // `show stat` with arguments, as the real HAProxy answered them then:
    // the same rows and statuses (`up` and `no-maint` count servers in
    // the backends' status).
    let forms = replay(&b)
        .args(["--json", "-e"])
        .arg(format!("{STAT_FORMS:?}.map(|c| send(c))"))
        .run();
    forms.expect_code(0);
    let replayed: Vec<Vec<String>> = forms
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| stat_rows(r.as_str().unwrap()))
        .collect();
    for ((c, live), replayed) in STAT_FORMS.iter().zip(&live_forms).zip(&replayed) {
        assert!(!live.is_empty(), "{c}");
        assert_eq!(replayed, live, "{c}");
    }
    for c in [
        "show stat json",
        "show stat typed",
        "show stat -1 -1 -1 json",
    ] {
        let run = replay(&b).args(["-e", &format!("send({c:?})")]).run();
        run.expect_code(2);
        assert!(
            run.stderr.contains("is not recorded in replay bundle"),
            "{c}: {}",
            run.stderr
        );
    }

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
        errors[1], "rates unavailable (no interval between two show stat samples)",
        "{errors}"
    );
    assert!(run.finding_ids().iter().all(|id| id != "backend.errors"));
}

#[test]
fn replayed_error_rates_say_the_recorded_interval_and_why_there_is_none() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let (_out, b) = snapshot(&lab, &["-p", "sample=1", "-p", "checks=false"]);
    drop(lab);
    // Replayed with the default `sample` (3): the rates cover the second
    // the snapshot waited, and the summary says so.
    let run = replay(&b).args(["troubleshoot", "--json"]).run();
    run.expect_code(0);
    let summary = table(&run, "summary");
    let errors = summary.iter().find(|r| r[0] == "errors").unwrap();
    assert_eq!(errors[1], "no 5xx in 1.0s", "{errors}");
    let secs = replay(&b)
        .args(["--json", "-e", "live_check(#{ sample: 3 }).sample_seconds"])
        .run();
    secs.expect_code(0);
    assert_eq!(secs.json(), 1.0);

    // Two samples without their times: the interval is unknown, and the
    // finding says that (not "one sample").
    let index_path = b.join("index.json");
    let mut index: Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    for f in index["files"].as_array_mut().unwrap() {
        if f["command"] == "show stat" {
            f.as_object_mut().unwrap().remove("at");
        }
    }
    std::fs::write(&index_path, index.to_string()).unwrap();
    let run = replay(&b).args(["troubleshoot", "--json"]).run();
    run.expect_code(0);
    let f = run.finding("errors.unavailable");
    let detail = f["detail"].as_str().unwrap();
    assert!(
        detail.contains("2 `show stat` samples") && detail.contains("carry no time"),
        "{f}"
    );
    assert!(!detail.contains("one `show stat` sample"), "{f}");
    let summary = table(&run, "summary");
    let errors = summary.iter().find(|r| r[0] == "errors").unwrap();
    assert_eq!(
        errors[1], "rates unavailable (no interval between two show stat samples)",
        "{errors}"
    );
}

/// A bundle written by hand: a configuration that logs to `log_to`, and
/// host facts with these `local_addresses` (none: a bundle from before
/// snapshots recorded them).
fn logging_bundle(dir: &Path, log_to: &str, local: Option<&[&str]>) -> PathBuf {
    let b = dir.join("bundle");
    std::fs::create_dir_all(b.join("config/etc/haproxy")).unwrap();
    std::fs::write(
        b.join("config/etc/haproxy/haproxy.cfg"),
        format!("global\n    log {log_to} local0\n\ndefaults\n    log global\n    mode http\n"),
    )
    .unwrap();
    let mut host = serde_json::json!({
        "irqbalance": {"running": false, "pids": []},
        "cpus": {"online": 2, "list": "0-1", "source": "sysfs"},
        "rsyslog": {
            "files": ["/etc/rsyslog.conf"],
            "udp_inputs": [{"address": null, "port": 514, "location": "/etc/rsyslog.conf:2", "style": "rainerscript"}],
            "imudp_loaded": true, "imuxsock_loaded": true, "unix_sockets": [], "notes": []
        }
    });
    if let Some(addrs) = local {
        host["local_addresses"] = serde_json::json!(addrs);
    }
    std::fs::write(b.join("host.json"), host.to_string()).unwrap();
    std::fs::write(
        b.join("index.json"),
        serde_json::json!({
            "format": "harun-snapshot", "version": 2, "taken": "2026-11-30T12:45:01Z",
            "targets": [], "config_paths": ["/etc/haproxy/haproxy.cfg"],
            "files": [
                {"file": "config/etc/haproxy/haproxy.cfg", "command": "config file", "source": "/etc/haproxy/haproxy.cfg", "ok": true},
                {"file": "host.json", "command": "host", "ok": true}
            ]
        })
        .to_string(),
    )
    .unwrap();
    b
}

#[test]
fn replayed_log_checks_use_the_addresses_the_host_had() {
    // 192.0.2.10 (a documentation address no machine here has) was the
    // host's own address on the day: its rsyslog received those logs.
    let dir = tempfile::tempdir().unwrap();
    let b = logging_bundle(
        dir.path(),
        "192.0.2.10:514",
        Some(&["127.0.0.1", "192.0.2.10"]),
    );
    let ids = r#"log_check().map(|f| f.id)"#;
    let run = replay(&b).args(["--json", "-e", ids]).run();
    run.expect_code(0);
    assert_eq!(run.json(), serde_json::json!(["logs.ok"]), "{}", run.stderr);
    let run = replay(&b)
        .args(["--json", "-e", "host_facts().local_addresses"])
        .run();
    assert_eq!(run.json(), serde_json::json!(["127.0.0.1", "192.0.2.10"]));

    // A bundle without the addresses: whether that target was local is
    // unknown, and said so; a loopback target needs no address.
    let old = tempfile::tempdir().unwrap();
    let b = logging_bundle(old.path(), "192.0.2.10:514", None);
    let run = replay(&b).args(["-e", ids]).run();
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "the host's network addresses (`local_addresses` in host.json) is not recorded"
        ),
        "{}",
        run.stderr
    );
    let run = replay(&b)
        .args([
            "--json",
            "-e",
            r#"[host_facts().local_addresses, irqbalance().running]"#,
        ])
        .run();
    assert_eq!(run.json(), serde_json::json!([null, false]));
    let run = replay(&b).args(["troubleshoot", "--json"]).run();
    let summary = table(&run, "summary");
    let logs = summary.iter().find(|r| r[0] == "logs").unwrap();
    assert_eq!(logs[1], "not recorded in the replay bundle", "{logs:?}");
    let loopback = tempfile::tempdir().unwrap();
    let b = logging_bundle(loopback.path(), "127.0.0.1:514", None);
    let run = replay(&b).args(["--json", "-e", ids]).run();
    run.expect_code(0);
    assert_eq!(run.json(), serde_json::json!(["logs.ok"]), "{}", run.stderr);
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

/// A snapshot taken without `-c` records the configuration of the process
/// it talked to (its `-f`), and the replay reads those files, not the
/// replaying host's /etc/haproxy/haproxy.cfg.
#[test]
fn a_snapshot_without_c_records_the_running_configuration() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let run = harun()
        .socket(&lab, lab.admin_socket())
        .arg("--haproxy-bin")
        .arg(haproxy_bin())
        .args([
            "snapshot",
            "--json",
            "-p",
            "sample=0",
            "-p",
            "checks=false",
            "-p",
        ])
        .arg(format!("dir={}", out.path().display()))
        .run();
    assert!(
        run.code == 0 || run.code == 1,
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    let cfg = lab.config_path().display().to_string();
    let source = run.finding("config.source");
    assert!(
        source["title"].as_str().unwrap_or_default().contains(&cfg),
        "{source}"
    );
    let bundle = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("a bundle directory");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["config_paths"], serde_json::json!([cfg]), "{index}");
    drop(lab);
    let config = replay(&bundle).args(["-e", "config().files"]).run();
    config.expect_code(0);
    assert!(config.stdout.contains(&cfg), "{}", config.stdout);
}
