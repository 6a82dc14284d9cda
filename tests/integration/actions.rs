//! Write primitives, `drain` and the `drain_server` playbook against a real
//! HAProxy: every guard, the wait on a long-lived connection, the journal.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use std::time::{Duration, Instant};

/// A lab whose slow server takes `delay` to answer.
fn slow_lab(delay: Duration) -> Option<Lab> {
    lab_with(Scenario::Incident, |b| b.slow_delay(delay))
}

/// A column of a server's `show stat` line, read independently of harun.
fn stat_field(lab: &Lab, backend: &str, server: &str, column: &str) -> String {
    let stat = socat(lab, "show stat");
    let header: Vec<&str> = stat
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let idx = header.iter().position(|c| *c == column).expect("column");
    for line in stat.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.first() == Some(&backend) && f.get(1) == Some(&server) {
            return f.get(idx).unwrap_or(&"").to_string();
        }
    }
    panic!("{backend}/{server} not in show stat");
}

#[test]
fn drain_waits_for_a_long_lived_request_then_lands_in_maint() {
    let Some(lab) = slow_lab(Duration::from_secs(3)) else {
        return;
    };
    std::thread::scope(|s| {
        let request = s.spawn(|| {
            let r = lab.get("/", Some("bk_slow"));
            (r, Instant::now())
        });
        wait_for(
            "the request to reach slow1",
            Duration::from_secs(10),
            || stat_field(&lab, "bk_slow", "slow1", "scur") == "1",
        );
        // slow1 is bk_slow's only server: the guard needs --force.
        let run = harun()
            .lab(&lab)
            .args([
                "drain_server",
                "-p",
                "server=bk_slow/slow1",
                "-p",
                "then=maint",
                "-p",
                "timeout=30",
                "-p",
                "poll=0.2",
                "--yes",
                "--force",
            ])
            .run();
        let finished = Instant::now();
        run.expect_code(0);
        let (response, answered) = request.join().unwrap();
        let response = response.expect("the in-flight request completes");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        // The drain waited for the request before going to maintenance.
        assert!(answered <= finished, "drain finished before the request");
        assert!(run.stdout.contains("drain.done"), "{}", run.stdout);
        assert!(
            run.stderr.contains("bk_slow/slow1: drained"),
            "{}",
            run.stderr
        );
    });
    assert_eq!(status_of(&lab, "bk_slow", "slow1"), "MAINT");
    let admin = admin_state(&lab, "bk_slow", "slow1");
    assert!(admin & FMAINT != 0, "admin state {admin}");
    // Journal: drain then maint, with before/after states.
    let j = journal_lines(&lab);
    let cmds: Vec<&str> = j.iter().filter_map(|e| e["command"].as_str()).collect();
    assert_eq!(
        cmds,
        [
            "set server bk_slow/slow1 state drain",
            "set server bk_slow/slow1 state maint"
        ]
    );
    assert_eq!(j[0]["before"]["drain"], false);
    assert_eq!(j[0]["after"]["drain"], true);
    assert_eq!(j[1]["after"]["maint"], true);
}

#[test]
fn drain_timeout_leaves_the_server_drained_and_says_so() {
    let Some(lab) = slow_lab(Duration::from_secs(4)) else {
        return;
    };
    std::thread::scope(|s| {
        let request = s.spawn(|| lab.get("/", Some("bk_slow")));
        wait_for(
            "the request to reach slow1",
            Duration::from_secs(10),
            || stat_field(&lab, "bk_slow", "slow1", "scur") == "1",
        );
        let run = harun()
            .lab(&lab)
            .args([
                "drain_server",
                "-p",
                "server=bk_slow/slow1",
                "-p",
                "then=maint",
                "-p",
                "timeout=0.5",
                "-p",
                "poll=0.1",
                "--yes",
                "--force",
                "--json",
            ])
            .run();
        run.expect_code(1);
        let ids = run.finding_ids();
        // Said once, at error level (exit 1), by drain() itself.
        assert_eq!(
            ids.iter().filter(|i| *i == "drain.timeout").count(),
            1,
            "{ids:?}"
        );
        assert!(
            run.stdout.contains("NOT put in maintenance"),
            "{}",
            run.stdout
        );
        let _ = request.join();
    });
    // Left in drain, not in maintenance.
    let admin = admin_state(&lab, "bk_slow", "slow1");
    assert!(admin & FDRAIN != 0 && admin & FMAINT == 0, "admin {admin}");
    let j = journal_lines(&lab);
    assert!(j
        .iter()
        .all(|e| e["command"] != "set server bk_slow/slow1 state maint"));
}

#[test]
fn last_server_guard_refuses_and_force_allows() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args(["drain_server", "-p", "server=bk_single/only1", "--yes"])
        .run();
    run.expect_code(4);
    assert!(
        run.stderr.contains("last UP server of backend `bk_single`"),
        "{}",
        run.stderr
    );
    assert_eq!(status_of(&lab, "bk_single", "only1"), "UP");
    assert_eq!(admin_state(&lab, "bk_single", "only1"), 0);
    // The refusal is journaled too.
    assert_eq!(journal_lines(&lab)[0]["outcome"], "refused");

    // Same through a primitive, with force in opts.
    let run = harun()
        .lab(&lab)
        .args(["--yes", "-e", r#"set_state("bk_single/only1", "maint")"#])
        .run();
    run.expect_code(4);
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "--json",
            "-e",
            r#"set_state("bk_single/only1", "drain", #{force: true})[0].after.drain"#,
        ])
        .run();
    run.expect_code(0);
    assert_eq!(run.json(), serde_json::json!(true));
    assert_eq!(status_of(&lab, "bk_single", "only1"), "DRAIN");

    // --force on the playbook, finishing in maint.
    let run = harun()
        .lab(&lab)
        .args([
            "drain_server",
            "-p",
            "server=bk_single/only1",
            "-p",
            "then=maint",
            "--yes",
            "--force",
        ])
        .run();
    run.expect_code(0);
    assert_eq!(status_of(&lab, "bk_single", "only1"), "MAINT");
}

#[test]
fn dry_run_prints_the_exact_commands_and_sends_nothing() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let before = socat(&lab, "show servers state");
    let run = harun()
        .lab(&lab)
        .args([
            "drain_server",
            "-p",
            "server=bk_app/app1",
            "-p",
            "then=maint",
            "--dry-run",
        ])
        .run();
    run.expect_code(0);
    let sock = lab.admin_socket().display().to_string();
    for cmd in [
        "set server bk_app/app1 state drain",
        "set server bk_app/app1 state maint",
    ] {
        assert!(
            run.stdout
                .contains(&format!("dry-run: would send to {sock}: {cmd}")),
            "{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains("drain.dry-run"), "{}", run.stdout);
    // Nothing changed in HAProxy: every server's admin state and weight.
    let admin_and_weight = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with('#') && l.contains(' '))
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                // be_name srv_name srv_admin_state srv_uweight
                format!("{} {} {} {}", f[1], f[3], f[6], f[7])
            })
            .collect()
    };
    assert_eq!(
        admin_and_weight(&before),
        admin_and_weight(&socat(&lab, "show servers state"))
    );
    assert_eq!(status_of(&lab, "bk_app", "app1"), "UP");
    let j = journal_lines(&lab);
    assert_eq!(j.len(), 2);
    assert!(j.iter().all(|e| e["outcome"] == "dry-run"), "{j:?}");
    assert_eq!(j[0]["before"]["admin_state"], 0);
}

#[test]
fn read_only_refuses_before_sending() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args([
            "--read-only",
            "--yes",
            "-e",
            r#"set_state("bk_app/app1", "drain")"#,
        ])
        .run();
    run.expect_code(4);
    assert!(run.stderr.contains("--read-only"), "{}", run.stderr);
    assert_eq!(admin_state(&lab, "bk_app", "app1"), 0);
    assert_eq!(journal_lines(&lab)[0]["outcome"], "refused");
}

#[test]
fn without_a_terminal_and_without_yes_writes_are_refused() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args(["drain_server", "-p", "server=bk_app/app1"])
        .run();
    run.expect_code(4);
    assert!(
        run.stderr.contains("no terminal to confirm on"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert_eq!(admin_state(&lab, "bk_app", "app1"), 0);
}

#[test]
fn permission_denied_on_an_operator_socket_exits_4() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun()
        .socket(&lab, lab.operator_socket().expect("scenario lab"))
        .args(["--yes", "-e", r#"set_weight("bk_app/app1", "50%")"#])
        .run();
    run.expect_code(4);
    assert!(run.stderr.contains("permission denied"), "{}", run.stderr);
    assert!(run.stderr.contains("level admin"), "{}", run.stderr);
    assert_eq!(stat_field(&lab, "bk_app", "app1", "weight"), "1");
    let j = journal_lines(&lab);
    assert_eq!(j[0]["outcome"], "failed");
}

#[test]
fn unknown_servers_are_named_in_a_usage_error() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    for (args, name) in [
        (
            vec!["--yes", "-e", r#"set_state("bk_app/nope", "drain")"#],
            "bk_app/nope",
        ),
        (
            vec!["-e", r#"set_state("bk_app/nope", "ready")"#],
            "bk_app/nope",
        ),
        (vec!["--yes", "-e", r#"drain("nope")"#], "nope"),
        (
            vec!["--dry-run", "drain_server", "-p", "server=bk_app/ghost"],
            "bk_app/ghost",
        ),
    ] {
        let run = harun().lab(&lab).args(args).run();
        run.expect_code(2);
        assert!(run.stderr.contains(name), "{}", run.stderr);
    }
    // A missing required parameter names it.
    let run = harun().lab(&lab).args(["drain_server", "--yes"]).run();
    run.expect_code(2);
    assert!(run.stderr.contains("`server`"), "{}", run.stderr);
}

/// Every primitive that takes a backend or server name says the same thing
/// about one HAProxy does not have: one kind, the target, the missing name,
/// the command, and the nearest names from the lab's own replies; nothing
/// is changed.
#[test]
fn unknown_names_say_what_where_and_the_nearest_in_every_primitive() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let backend = "no such backend `bk_ap`";
    let near_backend = "did you mean `bk_api` or `bk_app`?";
    let server = "no such server `bk_app/ap1`";
    let near_server = "did you mean `bk_app/app1`";
    for (expr, kind, missing, near) in [
        (
            r#"servers("bk_ap")"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        (
            r#"stat("bk_ap")"#,
            "no_such_backend",
            "no such frontend or backend `bk_ap` (`show stat bk_ap -1 -1`)",
            near_backend,
        ),
        (
            r#"stat("fe_mai")"#,
            "no_such_backend",
            "no such frontend or backend `fe_mai`",
            "did you mean `fe_main`?",
        ),
        (
            r#"queue_check(#{backend: "bk_ap"})"#,
            "no_such_backend",
            "`bk_ap`",
            near_backend,
        ),
        (
            r#"set_state("bk_app/ap1", "drain")"#,
            "no_such_server",
            server,
            near_server,
        ),
        (
            r#"set_state("bk_ap/app1", "maint")"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        (
            r#"set_state(["bk_app/app1", "bk_app/ap1"], "drain")"#,
            "no_such_server",
            server,
            near_server,
        ),
        (
            r#"set_weight("bk_app/ap1", 0)"#,
            "no_such_server",
            server,
            near_server,
        ),
        (
            r#"set_weight("bk_ap/app1", 10)"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        (
            r#"drain("bk_app/ap1")"#,
            "no_such_server",
            server,
            near_server,
        ),
        (
            r#"drain(["bk_app/app1", "bk_ap/app1"])"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        (
            r#"set_state("ap1", "drain")"#,
            "no_such_server",
            "no backend has a server named `ap1`",
            near_server,
        ),
        (
            r#"send("get weight bk_app/ap1")"#,
            "no_such_server",
            "no such server `bk_app/ap1` (`get weight bk_app/ap1`)",
            near_server,
        ),
        (
            r#"send("show servers state bk_ap")"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
    ] {
        let caught = format!(
            "let r = \"none\"; try {{ {expr}; }} catch (e) {{ r = `${{error_kind(e)}}|${{error_message(e)}}`; }} r"
        );
        let run = harun()
            .lab(&lab)
            .args(["--yes", "-e", caught.as_str()])
            .run();
        run.expect_code(0);
        let out = run.stdout.trim();
        assert!(
            out.starts_with(&format!("{kind}|{}: ", lab.admin_socket().display())),
            "{expr}: {out}"
        );
        assert!(out.contains(missing), "{expr}: {out}");
        assert!(out.contains(near), "{expr}: {out}");
        // Uncaught: exit 2, the same line.
        let run = harun().lab(&lab).args(["--yes", "-e", expr]).run();
        run.expect_code(2);
        assert!(
            run.stderr.contains(missing) && run.stderr.contains(near),
            "{expr}: {}",
            run.stderr
        );
    }
    // send_each() keeps going: the outcome carries the same message.
    let run = harun()
        .lab(&lab)
        .args([
            "--json",
            "-e",
            r#"send_each("show servers state bk_ap").values().map(|o| [o.kind, o.error])"#,
        ])
        .run();
    run.expect_code(0);
    let v = run.json();
    assert_eq!(v[0][0], "no_such_backend", "{v}");
    assert!(v[0][1].as_str().unwrap().contains(near_backend), "{v}");
    // Nothing was changed by any of them.
    for s in ["app1", "app2"] {
        assert_eq!(status_of(&lab, "bk_app", s), "UP");
    }
}

#[test]
fn a_bare_server_name_applies_to_every_backend_that_has_it_and_journal_shows_it() {
    let Some(lab) = lab_with(Scenario::Big, |b| b.size(3, 2)) else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "--json",
            "-e",
            r#"set_state("srv0", "drain").map(|r| r.name)"#,
        ])
        .run();
    run.expect_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!(["bk0000/srv0", "bk0001/srv0", "bk0002/srv0"])
    );
    for b in ["bk0000", "bk0001", "bk0002"] {
        assert_eq!(status_of(&lab, b, "srv0"), "DRAIN");
        assert_eq!(status_of(&lab, b, "srv1"), "no check");
    }
    // drain() on a bare name waits on all of them (nothing to wait for here).
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "--json",
            "-e",
            r#"let r = drain("srv0", #{then: "maint", poll: 0.1}); [r.drained, r.in_maint, r.status.len()]"#,
        ])
        .run();
    run.expect_code(0);
    assert_eq!(run.json(), serde_json::json!([true, true, 3]));
    assert_eq!(status_of(&lab, "bk0002", "srv0"), "MAINT");

    let out = harun()
        .args([
            "journal",
            "--journal",
            &lab.dir().join("journal.jsonl").display().to_string(),
        ])
        .run();
    out.expect_code(0);
    assert!(
        out.stdout
            .lines()
            .last()
            .unwrap_or("")
            .contains("set server bk0002/srv0 state maint [sent]"),
        "{}",
        out.stdout
    );
    assert!(out
        .stdout
        .contains("set server bk0000/srv0 state drain [sent]"));
}

#[test]
fn journal_keeps_every_write_of_a_run_killed_mid_way() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pb = playbook(
        &dir,
        "many.rhai",
        "for i in 0..10000 { set_weight(\"bk_app/app1\", i % 200 + 1); sleep(0.01); }\n",
    );
    let mut child = spawn_playbook(&lab, &pb, std::process::Stdio::null);
    // Two lines per write: its intent, then its outcome.
    wait_for("40 journal lines", Duration::from_secs(30), || {
        journal_line_count(&lab) >= 40
    });
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    // Every line parses; each write is journaled before it goes out, so
    // the last one may be an intent whose outcome never came.
    let j = journal_lines(&lab);
    assert!(j.len() >= 20, "{}", j.len());
    let last = j.len();
    let in_flight = j[last - 1]["outcome"] == "sending";
    for (i, e) in j.iter().enumerate() {
        assert_eq!(
            e["command"],
            format!("set server bk_app/app1 weight {}", i % 200 + 1)
        );
        if i == last - 1 && in_flight {
            assert!(e["before"]["weight"].is_number(), "{e}");
            continue;
        }
        for key in [
            "time", "user", "host", "target", "command", "reply", "before", "after",
        ] {
            assert!(!e[key].is_null(), "line {i} has no {key}: {e}");
        }
        assert_eq!(e["outcome"], "sent", "{e}");
        assert_eq!(e["after"]["weight"], (i % 200 + 1) as i64);
    }
    // HAProxy holds the last journaled weight; when harun was killed with
    // a write in flight, that one or the one before.
    let w: usize = stat_field(&lab, "bk_app", "app1", "weight")
        .parse()
        .unwrap();
    if in_flight {
        assert!(
            w == (last - 2) % 200 + 1 || w == (last - 1) % 200 + 1,
            "weight {w} after {last} journaled writes, the last in flight"
        );
    } else {
        assert_eq!(
            w,
            (last - 1) % 200 + 1,
            "weight after {last} journaled writes"
        );
    }
}

#[test]
fn drain_server_is_listed_with_its_parameters() {
    let run = harun().args(["list", "--json"]).run();
    run.expect_code(0);
    let v = run.json();
    let d = v
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "drain_server")
        .expect("drain_server listed");
    let params: Vec<&str> = d["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["server", "then", "timeout", "poll"]);
    assert_eq!(d["params"][0]["required"], true);
}

#[test]
fn the_guard_sees_every_spelling_of_taking_the_last_server_out() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    for script in [
        "send(\"set server bk_single/only1 state  maint\")",
        "send(\"set server bk_single/only1\\tstate maint\")",
        "set_weight(\"bk_single/only1\", 0)",
        "set_weight(\"bk_single/only1\", \"0%\")",
        "send(\"set weight bk_single/only1 0\")",
        "send(\"set server bk_single/only1 health down\")",
        "send(\"disable server bk_single/only1\")",
    ] {
        let run = harun().lab(&lab).args(["--yes", "-e", script]).run();
        run.expect_code(4);
        assert!(
            run.stderr.contains("last UP server of backend `bk_single`"),
            "{script}: {}",
            run.stderr
        );
    }
    assert_eq!(status_of(&lab, "bk_single", "only1"), "UP");
    assert_eq!(admin_state(&lab, "bk_single", "only1"), 0);
    assert!(
        socat(&lab, "get weight bk_single/only1").starts_with("1 "),
        "weight unchanged"
    );
    let j = journal_lines(&lab);
    assert_eq!(j.len(), 7);
    assert!(j.iter().all(|e| e["outcome"] == "refused"), "{j:?}");
}

#[test]
fn session_commands_and_payloads_never_reach_haproxy() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    for script in [
        "send(\"set severity-output none\")",
        "send(\"prompt\")",
        "send(\"operator\")",
        "send(\"show servers state <<\")",
        "servers(\"bk_app<<\")",
    ] {
        let run = harun()
            .lab(&lab)
            .args(["--yes", "--timeout", "2", "-e", script])
            .run();
        run.expect_code(2);
        assert!(run.stderr.contains("invalid"), "{script}: {}", run.stderr);
    }
}

/// What `systemctl reload haproxy` does: a new process takes the sockets over
/// and tells the old one (`-sf`) to finish its sessions and exit. The caller
/// kills the returned process.
fn reload(lab: &Lab) -> std::process::Child {
    std::process::Command::new(haproxy_bin())
        .arg("-db")
        .arg("-f")
        .arg(lab.config_path())
        .arg("-sf")
        .arg(lab.pid().unwrap().to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_reload_during_a_drain_is_followed_to_the_new_process() {
    let Some(lab) = slow_lab(Duration::from_secs(8)) else {
        return;
    };
    let pinned = harun::lab::PINNED_BACKEND;
    std::thread::scope(|s| {
        // A slow request in flight keeps the drain waiting.
        s.spawn(|| lab.get("/", Some(pinned)));
        let mut busy = None;
        wait_for("a request on bk_pinned", Duration::from_secs(10), || {
            busy = ["pin1", "pin2"]
                .into_iter()
                .find(|p| stat_field(&lab, pinned, p, "scur") == "1");
            busy.is_some()
        });
        let server = format!("{pinned}/{}", busy.unwrap());
        let drain = harun_process()
            .args(lab_args(&lab))
            .args(["drain_server", "-p", &format!("server={server}")])
            .args(["-p", "timeout=30", "-p", "poll=0.2", "--yes", "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (bk, srv) = server.split_once('/').unwrap();
        wait_for("the drain flag", Duration::from_secs(10), || {
            admin_state(&lab, bk, srv) & FDRAIN != 0
        });
        // The reload: a new process takes the sockets over, the old one
        // finishes its request; the new one starts from the configuration.
        let mut new = reload(&lab);
        let out = drain.wait_with_output().unwrap();
        let _ = new.kill();
        let _ = new.wait();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let reverted = *findings_with(&v, "drain.reverted")
            .first()
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(
            reverted["title"]
                .as_str()
                .unwrap()
                .contains("HAProxy reloaded"),
            "{reverted}"
        );
        // Never reported as drained, never put in maintenance.
        assert!(!stdout.contains("drain.done"), "{stdout}");
    });
}

#[test]
fn read_only_sessions_drop_to_operator_level() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let level = |extra: &[&str]| {
        let run = harun()
            .lab(&lab)
            .args(extra)
            .args(["-e", "let r = send(\"show cli level\"); r.trim(); r"])
            .run();
        run.expect_code(0);
        run.stdout.trim().to_string()
    };
    assert_eq!(level(&[]), "admin");
    assert_eq!(level(&["--read-only"]), "operator");
    // Reads an incident needs still work at that level.
    let run = harun()
        .lab(&lab)
        .args(["--read-only", "-e", "send(\"show errors\").len() > 0"])
        .run();
    run.expect_code(0);
}

#[test]
fn a_kept_session_follows_a_reload_after_an_idle_spell() {
    let Some(lab) = slow_lab(Duration::from_secs(8)) else {
        return;
    };
    std::thread::scope(|s| {
        // The old process stays alive (soft-stop) while this request runs.
        s.spawn(|| lab.get("/", Some(harun::lab::PINNED_BACKEND)));
        wait_for("a request in flight", Duration::from_secs(10), || {
            ["pin1", "pin2"]
                .iter()
                .any(|p| stat_field(&lab, harun::lab::PINNED_BACKEND, p, "scur") == "1")
        });
        let old_pid = lab.pid().unwrap();
        let run = harun_process()
            .arg("-s")
            .arg(lab.admin_socket())
            .args([
                "--json",
                "-e",
                "let a = info().Pid; sleep(2.5); [a, info().Pid, info().Stopping]",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(800));
        let mut new = reload(&lab);
        let out = run.wait_with_output().unwrap();
        let new_pid = new.id();
        let _ = new.kill();
        let _ = new.wait();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v[0], old_pid, "{v}");
        assert_eq!(
            v[1], new_pid,
            "the second read went to the new process: {v}"
        );
        assert_eq!(v[2], 0, "{v}");
    });
}

#[test]
fn draining_a_server_in_maintenance_never_brings_it_back() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    // bk_app/app3 is `disabled` in the config: admin state 5 (FMAINT|CMAINT).
    assert_eq!(admin_state(&lab, "bk_app", "app3"), 5);
    let run = harun()
        .lab(&lab)
        .args(["drain_server", "-p", "server=bk_app/app3", "--yes"])
        .run();
    run.expect_code(4);
    assert!(run.stderr.contains("is in maintenance"), "{}", run.stderr);
    assert_eq!(admin_state(&lab, "bk_app", "app3"), 5);

    // Ending in maintenance: nothing to send, it is already there.
    let run = harun()
        .lab(&lab)
        .args([
            "drain_server",
            "-p",
            "server=bk_app/app3",
            "-p",
            "then=maint",
            "--yes",
            "--json",
        ])
        .run();
    run.expect_code(0);
    assert_eq!(admin_state(&lab, "bk_app", "app3"), 5);
    // The first run's refusal is journaled; nothing set it to drain.
    let journal = journal_lines(&lab);
    assert!(journal
        .iter()
        .any(|e| e["outcome"] == "refused" && e["error"] == "in maintenance"));
    assert!(journal.iter().all(|e| e["outcome"] == "refused"
        || !e["command"].as_str().unwrap_or("").contains("state drain")));
}

#[test]
fn the_write_guard_refuses_draining_a_server_in_maintenance() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    // Not only drain(): any write that would set a parked server to drain.
    for script in [
        r#"set_state("bk_app/app3", "drain")"#,
        r#"send("set server bk_app/app3 state drain")"#,
    ] {
        expect_refused(&lab, script, "is in maintenance");
    }
    assert_eq!(admin_state(&lab, "bk_app", "app3"), 5);
}

#[test]
fn a_refusal_on_an_operator_socket_says_the_socket_could_not_write_anyway() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun()
        .socket(&lab, lab.operator_socket().expect("scenario lab"))
        .args(["--yes", "-e", r#"set_state("bk_single/only1", "drain")"#])
        .run();
    run.expect_code(4);
    assert!(
        run.stderr.contains("last UP server of backend `bk_single`")
            && run.stderr.contains("this socket is at level operator")
            && run.stderr.contains("with or without force"),
        "{}",
        run.stderr
    );
    assert_eq!(admin_state(&lab, "bk_single", "only1"), 0);
}

#[test]
fn a_rolling_drain_stops_at_the_group_whose_drain_times_out() {
    let (Some(first), Some(second)) = (
        slow_lab(Duration::from_secs(4)),
        slow_lab(Duration::from_secs(4)),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts.ini");
    std::fs::write(
        &inv,
        format!(
            "[lb]\nlb1 harun_socket={}\nlb2 harun_socket={}\n[lb:vars]\nansible_connection=local\n",
            first.admin_socket().display(),
            second.admin_socket().display()
        ),
    )
    .unwrap();
    std::thread::scope(|s| {
        // A request in flight on lb1's server: its drain cannot finish in time.
        let request = s.spawn(|| first.get("/", Some("bk_slow")));
        wait_for(
            "the request to reach slow1",
            Duration::from_secs(10),
            || stat_field(&first, "bk_slow", "slow1", "scur") == "1",
        );
        let run = harun()
            .arg("-i")
            .arg(&inv)
            .arg("--journal")
            .arg(dir.path().join("journal.jsonl"))
            .args(["--serial", "1", "--yes", "--force", "drain_server"])
            .args(["-p", "server=bk_slow/slow1", "-p", "then=maint"])
            .args(["-p", "timeout=0.5", "-p", "poll=0.1"])
            .run();
        // A drain not done in time stops the change: kind timeout, exit 3.
        run.expect_code(3);
        for line in [
            "lb1: timed out after 500ms waiting for the drain of bk_slow/slow1 to finish",
            "rolling change (--serial 1) stopped at group 1 of 2 (lb1):",
            "  done: none",
            "  failed: lb1: bk_slow/slow1: still 1 session(s) and 0 queued request(s) after 0.5s; left in drain",
            "  never touched: lb2",
        ] {
            assert!(run.stderr.contains(line), "no {line:?} in:\n{}", run.stderr);
        }
        // lb1 left in drain, not in maintenance; lb2 untouched.
        assert_eq!(admin_state(&first, "bk_slow", "slow1"), FDRAIN);
        assert_eq!(admin_state(&second, "bk_slow", "slow1"), 0);
        let _ = request.join();
    });
}
