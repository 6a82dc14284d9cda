//! The master CLI (`-s master@PATH`): a real `haproxy -W -S` started by the
//! lab, reloaded while a connection is open on its worker.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use std::io::Write;
use std::time::Duration;

/// The lab's options for harun with its master CLI as the only target.
fn master_args(lab: &harun::lab::Lab) -> Vec<std::ffi::OsString> {
    let mut master = std::ffi::OsString::from("master@");
    master.push(lab.master_socket().expect("master-worker lab"));
    vec![
        "-s".into(),
        master,
        "-c".into(),
        lab.config_path().into(),
        "--haproxy-bin".into(),
        haproxy_bin().into(),
        "--journal".into(),
        lab.dir().join("journal.jsonl").into(),
    ]
}

/// The pids of `show proc`'s section `# <section>`, read without harun.
fn pids_in(show_proc: &str, section: &str) -> Vec<u32> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in show_proc.lines() {
        if let Some(name) = line.strip_prefix("# ") {
            inside = name.trim() == section;
            continue;
        }
        if inside {
            if let Some(pid) = line.split_whitespace().next().and_then(|p| p.parse().ok()) {
                out.push(pid);
            }
        }
    }
    out
}

#[test]
fn reads_and_writes_go_to_the_current_worker_named_by_pid() {
    let Some(lab) = lab_with(Scenario::Incident, |b| b.master(true)) else {
        return;
    };
    let workers = pids_in(&master_cli(&lab, "show proc"), "workers");
    assert_eq!(workers.len(), 1, "{workers:?}");
    let worker = workers[0];
    let tag = format!("(worker {worker})");

    let run = harun()
        .args(master_args(&lab))
        .args([
            "--json",
            "-e",
            "#{servers: servers(), procs: processes(), info: info(), targets: targets()}",
        ])
        .run();
    run.expect_code(0);
    let out = run.json();
    let servers = out["servers"].as_array().unwrap();
    assert!(!servers.is_empty());
    for s in servers {
        assert!(s["target"].as_str().unwrap().ends_with(&tag), "{s}");
    }
    assert_eq!(out["info"]["Pid"], worker);
    let targets = out["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{targets:?}");
    assert!(targets[0]["name"].as_str().unwrap().ends_with(&tag));
    assert!(targets[0]["address"]
        .as_str()
        .unwrap()
        .starts_with("master@"));
    let procs = out["procs"].as_array().unwrap();
    let roles: Vec<&str> = procs.iter().map(|p| p["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["master", "worker"], "{procs:?}");
    assert_eq!(procs[0]["pid"], lab.pid().unwrap());
    assert_eq!(procs[1]["pid"], worker);
    assert!(procs[0]["sessions"].is_null());
    assert!(procs[1]["sessions"].is_i64());

    // A write goes to the worker through the guard, and the journal names it.
    let run = harun()
        .args(master_args(&lab))
        .args(["--yes", "-e", r#"set_state("bk_app/app1", "drain"); 1"#])
        .run();
    run.expect_code(0);
    assert_eq!(admin_state(&lab, "bk_app", "app1") & 8, 8);
    let lines = journal_lines(&lab);
    let last = lines.last().expect("a journal line");
    assert!(last["target"].as_str().unwrap().ends_with(&tag), "{last}");

    // --read-only lowers the master's level, and the master hands it to the
    // worker: a write would be refused by HAProxy even past harun's refusal.
    for (flags, level) in [(&[][..], "admin"), (&["--read-only"][..], "operator")] {
        let run = harun()
            .args(master_args(&lab))
            .args(flags)
            .args(["-e", r#"send("show cli level")"#])
            .run();
        run.expect_code(0);
        assert_eq!(run.stdout.trim(), level, "{flags:?}: {}", run.stderr);
    }
}

#[test]
fn an_old_worker_holding_a_session_after_a_reload_is_listed_and_reported() {
    let Some(lab) = lab_with(Scenario::Healthy, |b| b.master(true)) else {
        return;
    };
    let first = pids_in(&master_cli(&lab, "show proc"), "workers");
    assert_eq!(first.len(), 1);
    // An unfinished request keeps its connection open on the worker.
    let mut held = std::net::TcpStream::connect(lab.frontend()).expect("connect");
    held.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    wait_for("the held connection", Duration::from_secs(10), || {
        socat(&lab, "show info")
            .lines()
            .any(|l| l == "CurrConns: 1")
    });
    lab.reload().expect("reload");
    wait_for("the reload", Duration::from_secs(20), || {
        let procs = try_master_cli(&lab, "show proc").unwrap_or_default();
        pids_in(&procs, "old workers") == first && pids_in(&procs, "workers").len() == 1
    });
    let current = pids_in(&master_cli(&lab, "show proc"), "workers")[0];
    assert_ne!(current, first[0]);

    let run = harun()
        .args(master_args(&lab))
        .args(["--json", "-e", "#{procs: processes(), servers: servers()}"])
        .run();
    run.expect_code(0);
    let out = run.json();
    let procs = out["procs"].as_array().unwrap();
    let old: Vec<_> = procs.iter().filter(|p| p["role"] == "old worker").collect();
    assert_eq!(old.len(), 1, "{procs:?}");
    assert_eq!(old[0]["pid"], first[0]);
    assert_eq!(old[0]["sessions"], 1, "{procs:?}");
    assert!(old[0]["reloads"].as_i64().unwrap() >= 1);
    assert!(old[0]["uptime_s"].is_i64());
    // Reads go to the current worker only.
    let tag = format!("(worker {current})");
    for s in out["servers"].as_array().unwrap() {
        assert!(s["target"].as_str().unwrap().ends_with(&tag), "{s}");
    }

    let run = harun()
        .args(master_args(&lab))
        .args([
            "--json",
            "troubleshoot",
            "-p",
            "sample=0",
            "-p",
            "skip=logs,system",
        ])
        .run();
    let f = run.finding("process.old-worker");
    let title = f["title"].as_str().unwrap();
    assert!(title.contains(&format!("old worker {}", first[0])), "{f}");
    assert!(title.contains("1 session(s)"), "{f}");
    drop(held);
}

#[test]
fn a_drain_waits_for_the_sessions_an_old_worker_holds_on_the_server() {
    let Some(lab) = lab_with(Scenario::Incident, |b| {
        b.master(true).slow_delay(Duration::from_secs(3))
    }) else {
        return;
    };
    let first = pids_in(&master_cli(&lab, "show proc"), "workers");
    std::thread::scope(|s| {
        let request = s.spawn(|| {
            let r = lab.get("/", Some("bk_slow"));
            (r, std::time::Instant::now())
        });
        wait_for(
            "the request to reach slow1",
            Duration::from_secs(10),
            || socat(&lab, "show stat bk_slow 4 -1").contains(",slow1,0,0,1,"),
        );
        reload_leaving_old_workers(&lab, &first);
        // The new worker has no session on slow1: only the old one does.
        let run = harun()
            .args(master_args(&lab))
            .args([
                "drain_server",
                "-p",
                "server=bk_slow/slow1",
                "-p",
                "timeout=30",
                "-p",
                "poll=0.2",
                "--yes",
                "--force",
            ])
            .run();
        let finished = std::time::Instant::now();
        run.expect_code(0);
        let (response, answered) = request.join().unwrap();
        assert!(response
            .expect("the request completes")
            .starts_with("HTTP/1.1 200"));
        assert!(
            answered <= finished,
            "the drain did not wait for the old worker"
        );
        // It counted the old worker's session (the new worker had none);
        // the last poll has no row of it: it exited with its last session.
        assert!(
            run.stderr.contains("draining bk_slow/slow1: 1 session(s)"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.contains("drain.done"), "{}", run.stdout);
    });
}

#[test]
fn harun_lab_master_runs_through_the_master_cli() {
    if !require_haproxy() {
        return;
    }
    let run = harun()
        .args(["--haproxy-bin"])
        .arg(haproxy_bin())
        .args([
            "--json",
            "lab",
            "--master",
            "healthy",
            "troubleshoot",
            "-p",
            "sample=0",
            "-p",
            "skip=logs,system",
        ])
        .run();
    assert!(run.code <= 1, "{}", run.stderr);
    assert!(run.stderr.contains("master CLI master@"), "{}", run.stderr);
    let report = run.json();
    let text = report.to_string();
    assert!(text.contains("master.sock (worker "), "{text}");
}

#[test]
fn queue_check_judges_what_an_old_worker_still_queues() {
    let Some(lab) = lab_with(Scenario::Incident, |b| {
        b.master(true).slow_delay(Duration::from_secs(5))
    }) else {
        return;
    };
    let first = pids_in(&master_cli(&lab, "show proc"), "workers");
    std::thread::scope(|s| {
        // slow1 has maxconn 1: the second request waits in bk_slow's queue.
        let requests: Vec<_> = (0..2)
            .map(|_| s.spawn(|| lab.get("/", Some("bk_slow"))))
            .collect();
        wait_for(
            "a request queued on bk_slow",
            Duration::from_secs(10),
            || socat(&lab, "show stat bk_slow 2 -1").contains("bk_slow,BACKEND,1,"),
        );
        reload_leaving_old_workers(&lab, &first);
        let run = harun()
            .args(master_args(&lab))
            .args(["--json", "-e", "queue_check(#{backend: \"bk_slow\"})"])
            .run();
        run.expect_code(0);
        let findings = run.json();
        let old = format!("(old worker {})", first[0]);
        let on_old: Vec<_> = findings
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["id"] == "queues.backend")
            .filter(|f| f["target"].as_str().is_some_and(|t| t.ends_with(&old)))
            .collect();
        assert_eq!(on_old.len(), 1, "{findings}");
        for r in requests {
            assert!(r
                .join()
                .unwrap()
                .expect("answered")
                .starts_with("HTTP/1.1 200"));
        }
    });
}

/// Reload the lab, and wait until the workers of before (`first`) are old
/// workers still alive next to one new worker.
fn reload_leaving_old_workers(lab: &Lab, first: &[u32]) {
    lab.reload().expect("reload");
    wait_for("the reload", Duration::from_secs(20), || {
        let procs = try_master_cli(lab, "show proc").unwrap_or_default();
        pids_in(&procs, "old workers") == first && pids_in(&procs, "workers").len() == 1
    });
}
