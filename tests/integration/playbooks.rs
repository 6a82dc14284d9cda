//! The shipped incident playbooks (troubleshoot, inspect_queues) against lab
//! scenarios built to make them find something real: a server refusing
//! connections, one disabled in the config, queues built by load on slow
//! servers with `maxconn 1`, a process at its maxconn.

use crate::harness::*;
use harun::lab::{Lab, Scenario, PINNED_BACKEND};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The rows of a report table as maps keyed by column (JSON tables hold
/// `columns` and positional `rows`).
fn table(v: &Value, title: &str) -> Vec<serde_json::Map<String, Value>> {
    let t = v["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["title"] == title)
        .unwrap_or_else(|| panic!("no table {title:?} in {v}"));
    let columns: Vec<&str> = t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            columns
                .iter()
                .zip(r.as_array().unwrap())
                .map(|(c, v)| (c.to_string(), v.clone()))
                .collect()
        })
        .collect()
}

/// Run `args` against the lab until `done` accepts the JSON report (queues
/// take a moment to build under load).
fn poll(lab: &Lab, args: &[&str], done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let run = harun().lab(lab).args(args).arg("--json").run();
        let v = run.json();
        if done(&v) {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never satisfied; last report:\n{}\nstderr:\n{}",
            run.stdout,
            run.stderr
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn troubleshoot_finds_the_incident() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun().lab(&lab).args(["troubleshoot", "--json"]).run();
    // Warnings only: a server down among others, a server in maintenance.
    run.expect_code(0);
    let v = run.json();

    let down = findings_with(&v, "servers.down");
    assert_eq!(down.len(), 1, "{v}");
    assert!(down[0]["title"]
        .as_str()
        .unwrap()
        .starts_with("bk_api: 1 of 2 server(s) DOWN (api2)"));
    assert!(evidence(down[0]).contains("L4CON"), "{}", evidence(down[0]));

    let maint = findings_with(&v, "servers.maint");
    assert_eq!(maint.len(), 1, "{v}");
    assert!(evidence(maint[0]).contains("bk_app/app3: maintenance (config: `disabled`)"));

    // api2's failing check is told once, in servers.down.
    assert!(findings_with(&v, "servers.check-failing").is_empty(), "{v}");
    assert!(findings_with(&v, "backend.down").is_empty());

    // The offline parts ran too.
    assert!(!findings_with(&v, "config.no-log").is_empty(), "{v}");
    assert!(
        findings_with(&v, "logs.none").is_empty(),
        "said once, by the lint: {v}"
    );

    let process = table(&v, "process");
    assert_eq!(process[0]["version"], haproxy_version().as_str(), "{v}");
    let summary = table(&v, "summary");
    let areas: Vec<&str> = summary
        .iter()
        .map(|r| r["area"].as_str().unwrap())
        .collect();
    assert_eq!(
        areas,
        ["config", "process", "servers", "queues", "errors", "logs", "system"]
    );
    let servers = &summary[2];
    assert_eq!(servers["state"], "7 of 9 in rotation", "{summary:?}");
    assert_eq!(servers["worst"], "warning");
}

#[test]
fn troubleshoot_in_human_form_ranks_findings() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun().lab(&lab).arg("troubleshoot").run();
    run.expect_code(0);
    let out = &run.stdout;
    let warn = out.find("WARNING  servers.down").expect(out);
    let info = out.find("INFO     servers.maint").expect(out);
    assert!(warn < info, "warnings come before info:\n{out}");
    assert!(out.contains("summary"), "{out}");
    assert!(!out.contains('\x1b'), "no colour when not on a terminal");
}

#[test]
fn troubleshoot_keeps_going_when_haproxy_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(
        &cfg,
        "global\n    log 127.0.0.1:514 local0\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nbackend bk\n    server s1 127.0.0.1:8080 check\n",
    )
    .unwrap();
    let sock = dir.path().join("gone.sock");
    let run = harun()
        .arg("-s")
        .arg(&sock)
        .arg("-c")
        .arg(&cfg)
        .args(["--rsyslog-conf", "/nonexistent", "troubleshoot", "--json"])
        .run();
    run.expect_code(3);
    let v = run.json();
    let f = findings_with(&v, "process.unreachable");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["severity"], "critical");
    // Offline checks still ran: the lint saw the config.
    assert!(
        !findings_with(&v, "config.no-stats-socket").is_empty(),
        "{v}"
    );
    assert!(
        f[0]["detail"]
            .as_str()
            .unwrap()
            .contains(&sock.display().to_string()),
        "the finding names the socket: {v}"
    );
    // The report and the exit code say it all: no script error pointing into
    // the shipped playbook (issue 17), and the JSON keeps the error's kind.
    assert_eq!(run.stderr, "", "{}", run.stderr);
    assert_eq!(v["error"]["kind"], "unreachable", "{v}");
    assert_eq!(v["error"]["reported"], true, "{v}");
    let human = harun()
        .arg("-s")
        .arg(&sock)
        .arg("-c")
        .arg(&cfg)
        .args(["--rsyslog-conf", "/nonexistent", "troubleshoot"])
        .run();
    human.expect_code(3);
    assert_eq!(human.stderr, "", "{}", human.stderr);
    assert!(
        human.stdout.contains("CRITICAL process.unreachable"),
        "{}",
        human.stdout
    );
}

/// A `lab:queues` test or `harun lab queues PLAYBOOK` reads `show stat` as
/// soon as the lab has started: the queues must already be there.
#[test]
fn the_queues_lab_starts_with_its_queues_built() {
    let Some(lab) = lab(Scenario::Queues) else {
        return;
    };
    let qcur =
        |sv: &str, px: &str| -> i64 { stat_column(&lab, px, sv, "qcur").parse().unwrap_or(0) };
    assert!(
        qcur("BACKEND", "bk_slow") > 0,
        "bk_slow has no backend queue yet"
    );
    assert!(
        qcur("pin1", PINNED_BACKEND).max(qcur("pin2", PINNED_BACKEND)) > 0,
        "{PINNED_BACKEND} has no server queue yet"
    );
}

#[test]
fn inspect_queues_sees_backend_and_server_queues() {
    let Some(lab) = lab(Scenario::Queues) else {
        return;
    };
    let v = poll(&lab, &["inspect_queues"], |v| {
        !findings_with(v, "queues.backend").is_empty()
            && !findings_with(v, "queues.server").is_empty()
    });
    // 12 clients on one server with maxconn 1: the backend queues.
    let be = findings_with(&v, "queues.backend");
    assert!(
        be[0]["title"].as_str().unwrap().starts_with("bk_slow: "),
        "{v}"
    );
    // `balance uri` pins requests to one server: its own queue.
    let sv = findings_with(&v, "queues.server");
    assert!(
        evidence(sv[0]).contains(&format!("{PINNED_BACKEND}/pin")),
        "{v}"
    );
    assert!(evidence(sv[0]).contains("sessions 1 of maxconn 1"), "{v}");
    // slow1 at its limit is the cause of bk_slow's queue: not told twice.
    assert!(
        findings_with(&v, "sessions.near-limit")
            .iter()
            .all(|f| !evidence(f).contains("bk_slow/slow1")),
        "{v}"
    );
    // The table holds the awk columns, with the queue in it.
    let rows = table(&v, "queues");
    let backend = rows
        .iter()
        .find(|r| r["pxname"] == "bk_slow" && r["svname"] == "BACKEND")
        .expect("bk_slow backend row");
    for col in ["qcur", "qmax", "scur", "smax", "slim"] {
        assert!(backend.contains_key(col), "{col} missing in {backend:?}");
    }
    assert!(backend["qmax"].as_i64().unwrap() > 0, "{backend:?}");

    // One backend only.
    let run = harun()
        .lab(&lab)
        .args(["inspect_queues", "-p", "backend=bk_single", "--json"])
        .run();
    let v = run.json();
    assert!(table(&v, "queues")
        .iter()
        .all(|r| r["pxname"] == "bk_single"));
    assert!(findings_with(&v, "queues.backend").is_empty());
}

#[test]
fn process_at_its_maxconn_is_an_error() {
    // 18 clients of the queues scenario against a process limit of 10.
    let Some(lab) = lab_with(Scenario::Queues, |b| b.global_line("maxconn 10")) else {
        return;
    };
    let v = poll(
        &lab,
        &["troubleshoot", "-p", "skip=config,logs,system"],
        |v| !findings_with(v, "process.maxconn").is_empty(),
    );
    let f = findings_with(&v, "process.maxconn");
    assert!(f[0]["evidence"][0].as_str().unwrap().contains("Maxconn 10"));
    let summary = table(&v, "summary");
    let skipped: Vec<&str> = summary
        .iter()
        .map(|r| r["area"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["process", "servers", "queues", "errors"]);
}

#[test]
fn a_bad_near_parameter_is_refused_by_name() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args(["inspect_queues", "-p", "near=7"])
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("near"), "{}", run.stderr);
}

#[test]
fn list_shows_troubleshoot_with_its_parameters() {
    let run = harun().arg("list").run();
    run.expect_code(0);
    assert!(run.stdout.contains("troubleshoot"), "{}", run.stdout);
    let run = harun().args(["troubleshoot", "--help"]).run();
    assert!(
        run.stdout.contains("near"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stdout.contains("skip"), "{}", run.stdout);
}

#[test]
fn a_drained_server_with_a_failing_check_and_parked_servers_are_named() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    // api2 refuses connections: drained, its failing check still matters
    // (it would not come back healthy). api1 at weight 0 leaves bk_api empty.
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "--force",
            "-e",
            r#"set_state("bk_api/api2", "drain"); set_weight("bk_api/api1", 0); 1"#,
        ])
        .run();
    run.expect_code(0);
    let run = harun().lab(&lab).args(["troubleshoot", "--json"]).run();
    run.expect_code(1);
    let v = run.json();
    let failing = findings_with(&v, "servers.check-failing");
    assert!(
        evidence(failing[0]).starts_with("bk_api/api2: L4CON"),
        "{v}"
    );
    let zero = findings_with(&v, "servers.weight-zero");
    assert!(
        evidence(zero[0]).starts_with("bk_api/api1: weight 0"),
        "{v}"
    );
    // Nothing usable left in bk_api: critical, and the advice names the way back.
    let down = findings_with(&v, "backend.down");
    assert_eq!(down[0]["severity"], "critical", "{v}");
    let advice = down[0]["advice"].as_str().unwrap();
    assert!(advice.contains("set weight bk_api/api1 100%"), "{advice}");
    assert!(
        advice.contains("set server bk_api/api2 state ready"),
        "{advice}"
    );
    let summary = table(&v, "summary");
    assert_eq!(summary[2]["state"], "6 of 9 in rotation", "{summary:?}");
}

#[test]
fn playbook_parameters_are_checked_before_anything_runs() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    for (args, needle) in [
        (
            vec!["inspect_queues", "-p", "backedn=bk_app"],
            "unknown parameter `backedn`",
        ),
        (
            vec!["inspect_queues", "-p", "backend=nope"],
            "no such frontend or backend `nope` (`show stat nope -1 -1`)",
        ),
        (vec!["inspect_queues", "-p", "near=5"], "invalid near"),
        (vec!["troubleshoot", "-p", "skip=foo"], "unknown area `foo`"),
        (
            vec!["troubleshoot", "-p", "sample=0.01"],
            "parameter sample=0.01",
        ),
        (vec!["troubleshoot", "-p", "near=0"], "parameter near=0"),
    ] {
        let run = harun().lab(&lab).args(&args).run();
        run.expect_code(2);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
        assert!(
            run.stdout.is_empty(),
            "{args:?} printed before failing: {}",
            run.stdout
        );
    }
}

#[test]
fn error_rates_come_from_two_samples_under_real_traffic() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    // bk_api with api2 refusing and api1 in maintenance: HAProxy answers 503.
    force_maint(&lab, "bk_api/api1");
    let run = std::thread::scope(|s| {
        let check = s.spawn(|| {
            harun()
                .lab(&lab)
                .args(["--json", "-e", "error_check(#{seconds: 2})"])
                .run()
        });
        std::thread::sleep(Duration::from_millis(700));
        for _ in 0..6 {
            let reply = lab.get("/", Some("bk_api")).unwrap();
            assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
        }
        check.join().unwrap()
    });
    run.expect_code(1);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let f = v
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "backend.errors")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(f["severity"], "error");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .starts_with("bk_api: 6 of 6 responses were 5xx"),
        "{f}"
    );
}

#[test]
fn team_playbooks_take_only_the_parameters_they_declare() {
    let dir = tempfile::tempdir().unwrap();
    let pb = playbook(
        &dir,
        "team.rhai",
        "//! A team playbook.\n//! @param backend   the backend\n//! @param verbose=false  say more\nlet v = param(\"verbose\", false);\n`${param(\"backend\", \"\")} ${v}`\n",
    );
    let run = harun()
        .arg(&pb)
        .args(["-p", "backend=bk", "-p", "verbose=true", "--json"])
        .run();
    run.expect_code(0);
    let run = harun().arg(&pb).args(["-p", "verbsoe=true"]).run();
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "team.rhai: unknown parameter `verbsoe` (did you mean `verbose`?): it takes `backend`, `verbose`"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn harun_lab_refuses_a_parameter_typo_before_starting_haproxy() {
    if !require_haproxy() {
        return;
    }
    let run = harun()
        .args(["--haproxy-bin"])
        .arg(haproxy_bin())
        .args(["lab", "troubleshoot", "-p", "sampel=0", "--json"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("unknown parameter `sampel` (did you mean `sample`?)"),
        "{}",
        run.stderr
    );
    // `--json`: the report of a run that never started.
    let v = run.json();
    assert_eq!(v["worst"], "error", "{}", run.stdout);
    assert_eq!(v["error"]["exit_code"], 2, "{}", run.stdout);
    assert!(
        !run.stderr.contains("starting haproxy"),
        "the lab started first: {}",
        run.stderr
    );
}
