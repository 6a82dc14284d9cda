//! Backend and server names some (or all) targets lack, against real labs:
//! a reachable target is never `target.unreachable` for a name it does not
//! have, and no write naming what HAProxy does not have is sent.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use serde_json::Value;

fn sock(lab: &Lab) -> String {
    lab.admin_socket().display().to_string()
}

/// Two healthy labs: `b` has `bk_only` (server o1) and `bk_more/m2`,
/// which `a` lacks; both have `bk_more/m1`.
fn two_labs() -> Option<(Lab, Lab)> {
    let a = lab_with(Scenario::Healthy, |b| {
        b.section("backend bk_more\n    server m1 127.0.0.1:9\n")
    })?;
    let b = lab_with(Scenario::Healthy, |b| {
        b.section("backend bk_only\n    server o1 127.0.0.1:9\n")
            .section("backend bk_more\n    server m1 127.0.0.1:9\n    server m2 127.0.0.1:9\n")
    })?;
    Some((a, b))
}

fn both(a: &Lab, b: &Lab) -> Harun {
    harun().args(["-s", &sock(a), "-s", &sock(b)])
}

#[test]
fn a_backend_or_server_some_targets_lack_is_named_as_missing_there_never_unreachable() {
    let Some((a, b)) = two_labs() else {
        return;
    };
    let (sa, sb) = (sock(&a), sock(&b));
    for (expr, name, what) in [
        (r#"stat("bk_only").map(|r| r.target)"#, "bk_only", "present"),
        (
            r#"servers("bk_only").map(|r| r.target)"#,
            "bk_only",
            "present",
        ),
        (
            r#"queue_check(#{backend: "bk_only"}).map(|f| f.target)"#,
            "bk_only",
            "present",
        ),
        (
            r#"send("show servers state bk_only").keys()"#,
            "bk_only",
            "present",
        ),
        (
            r#"send("get weight bk_more/m2").keys()"#,
            "bk_more/m2",
            "present",
        ),
    ] {
        let wrapped = format!("#{{v: {expr}, f: recorded_findings()}}");
        let run = both(&a, &b).args(["--json", "-e", wrapped.as_str()]).run();
        run.expect_code(0);
        let v = run.json();
        let findings = v["f"].as_array().unwrap();
        assert!(
            !findings.iter().any(|f| f["id"] == "target.unreachable"),
            "{expr}: {v:#}"
        );
        // The rows or replies of the target that has it, only.
        let rows = v["v"].as_array().unwrap();
        assert!(
            rows.iter().all(|t| t == &Value::from(sb.clone())),
            "{expr}: {v:#}"
        );
        let f = findings
            .iter()
            .find(|f| f["id"] == "fleet.disagreement")
            .unwrap_or_else(|| panic!("{expr}: no fleet.disagreement: {v:#}"));
        assert_eq!(f["severity"], "warning", "{expr}: {f:#}");
        let title = f["title"].as_str().unwrap();
        assert_eq!(
            title,
            format!("{name}: {what} differs: on {sb}; not on {sa}"),
            "{expr}: {f:#}"
        );
        let detail = f["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(&format!("{sa}: no such")),
            "{expr}: {detail}"
        );
        assert_eq!(f["target"], Value::Null, "{expr}: {f:#}");
    }
    // The value itself: only lb2's rows; the report says it once.
    let run = both(&a, &b)
        .args(["--json", "-e", r#"servers("bk_only").map(|r| r.target)"#])
        .run();
    run.expect_code(0);
    assert_eq!(run.json(), serde_json::json!([sb.clone()]));
    let run = both(&a, &b)
        .args(["-e", r#"servers("bk_only"); stat("bk_only"); 1"#])
        .run();
    run.expect_code(0);
    assert!(run.stdout.contains("fleet.disagreement"), "{}", run.stdout);
    assert!(!run.stdout.contains("unreachable"), "{}", run.stdout);
}

#[test]
fn a_backend_or_server_no_target_has_is_the_single_target_error() {
    let Some((a, b)) = two_labs() else {
        return;
    };
    let (sa, sb) = (sock(&a), sock(&b));
    for (expr, kind, missing, near) in [
        (
            r#"stat("bk_onl")"#,
            "no_such_backend",
            "no such frontend or backend `bk_onl`",
            "did you mean `bk_only`?",
        ),
        (
            r#"servers("bk_ap")"#,
            "no_such_backend",
            "no such backend `bk_ap`",
            "did you mean `bk_api` or `bk_app`?",
        ),
        (
            r#"queue_check(#{backend: "bk_ap"})"#,
            "no_such_backend",
            "`bk_ap`",
            "did you mean `bk_api` or `bk_app`?",
        ),
        (
            r#"send("get weight bk_more/m3")"#,
            "no_such_server",
            "no such server `bk_more/m3`",
            "did you mean `bk_more/m1`",
        ),
    ] {
        let run = both(&a, &b).args(["--json", "-e", expr]).run();
        run.expect_code(2);
        let v = run.json();
        assert_eq!(v["error"]["kind"], kind, "{expr}: {v:#}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.starts_with(&format!("{sa}, {sb}: ")), "{expr}: {msg}");
        assert!(msg.contains(missing), "{expr}: {msg}");
        assert!(msg.contains(near), "{expr}: {msg}");
        assert!(
            !run.finding_ids()
                .contains(&"target.unreachable".to_string()),
            "{expr}: {v:#}"
        );
    }
}

/// Every write path refuses a name HAProxy does not have before sending
/// it: journaled as refused, never as sent or failed; with did-you-mean.
#[test]
fn a_write_naming_what_haproxy_lacks_is_refused_before_it_is_sent() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let backend = "no such backend `bk_ap`";
    let near_backend = "did you mean `bk_api` or `bk_app`?";
    let near_server = "did you mean `bk_app/app1`";
    for (opts, expr, kind, missing, near) in [
        (
            "--yes",
            r#"set_state("bk_app/ap1", "ready")"#,
            "no_such_server",
            "no such server `bk_app/ap1`",
            near_server,
        ),
        (
            "--yes",
            r#"set_state("bk_ap/app1", "ready")"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        (
            "--yes",
            r#"set_weight("bk_app/ap1", 10)"#,
            "no_such_server",
            "`bk_app/ap1`",
            near_server,
        ),
        (
            "--yes",
            r#"enable_health("bk_app/ap1")"#,
            "no_such_server",
            "`bk_app/ap1`",
            near_server,
        ),
        (
            "--yes",
            r#"disable_agent("bk_ap/app1")"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        (
            "--yes",
            r#"shutdown_sessions("bk_app/ap1")"#,
            "no_such_server",
            "`bk_app/ap1`",
            near_server,
        ),
        (
            "--yes",
            r#"send("set server bk_ap/app1 weight 5")"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        (
            "--yes",
            r#"send("enable server bk_app/ap1")"#,
            "no_such_server",
            "`bk_app/ap1`",
            near_server,
        ),
        (
            "--yes",
            r#"send("disable dynamic-cookie backend bk_ap")"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        (
            "--yes",
            r#"send("del server bk_app/ap1")"#,
            "no_such_server",
            "`bk_app/ap1`",
            near_server,
        ),
        // Guarded: the guard's own read says it.
        (
            "--yes",
            r#"set_state("bk_ap/app1", "drain")"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        (
            "--yes",
            r#"send("disable server bk_ap/app1")"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        // A batch: nothing of it is sent.
        (
            "--yes",
            r#"set_state(["bk_app/app1", "bk_app/ap1"], "ready")"#,
            "no_such_server",
            "`bk_app/ap1`",
            near_server,
        ),
        (
            "--yes",
            r#"set_weight(["bk_app/app1", "bk_ap/app1"], 5)"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        // Dry-run and --force too.
        (
            "--dry-run",
            r#"set_state("bk_ap/app1", "ready")"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
        (
            "--force",
            r#"set_state("bk_ap/app1", "maint")"#,
            "no_such_backend",
            backend,
            near_backend,
        ),
    ] {
        let journal = lab.dir().join("journal.jsonl");
        let _ = std::fs::remove_file(&journal);
        let mut h = harun().lab(&lab).args([opts, "--json", "-e", expr]);
        if opts == "--force" {
            h = h.arg("--yes");
        }
        let run = h.run();
        run.expect_code(2);
        let v = run.json();
        assert_eq!(v["error"]["kind"], kind, "{opts} {expr}: {v:#}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(missing), "{opts} {expr}: {msg}");
        assert!(msg.contains(near), "{opts} {expr}: {msg}");
        // Journaled as refused, nothing as sent, failed or dry-run.
        let lines = journal_lines(&lab);
        assert!(
            lines.iter().all(|l| l["outcome"] == "refused"),
            "{opts} {expr}: {lines:#?}"
        );
        assert!(!lines.is_empty(), "{opts} {expr}: no journal line");
        assert!(
            lines[0]["error"]
                .as_str()
                .unwrap_or_default()
                .contains("no such"),
            "{opts} {expr}: {lines:#?}"
        );
        assert!(
            v["writes"].as_array().is_none_or(|w| w.is_empty()),
            "{opts} {expr}: {v:#}"
        );
    }
    // A backend-wide write to a backend it has goes.
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "-e",
            r#"send("set dynamic-cookie-key backend bk_app k1")"#,
        ])
        .run();
    run.expect_code(0);
}

/// With several targets, a write naming a backend one of them lacks is
/// sent to none of them.
#[test]
fn a_write_naming_a_backend_one_target_lacks_is_sent_to_none() {
    let Some((a, b)) = two_labs() else {
        return;
    };
    let (sa, _) = (sock(&a), sock(&b));
    let journal = a.dir().join("j.jsonl");
    for expr in [
        r#"set_state("bk_more/m2", "ready")"#,
        r#"set_weight("bk_only/o1", 5)"#,
        r#"send("set server bk_only/o1 weight 5")"#,
        r#"set_state("bk_only/o1", "drain")"#,
    ] {
        let _ = std::fs::remove_file(&journal);
        let run = both(&a, &b)
            .arg("--journal")
            .arg(&journal)
            .args(["--yes", "--json", "-e", expr])
            .run();
        run.expect_code(2);
        let v = run.json();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.starts_with(&format!("{sa}: no such")), "{expr}: {msg}");
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        assert!(!text.is_empty(), "{expr}: not journaled");
        for l in text.lines() {
            let l: Value = serde_json::from_str(l).unwrap();
            assert_eq!(l["outcome"], "refused", "{expr}: {l}");
        }
    }
    assert_eq!(stat_column(&b, "bk_only", "o1", "weight"), "1");
}

/// A target that answers with an error (here `Permission denied` from an
/// operator-level socket) answered: `target.error`, not `target.unreachable`.
#[test]
fn a_target_that_answers_with_an_error_is_not_unreachable() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let op = lab
        .operator_socket()
        .expect("the lab has an operator socket");
    let run = harun()
        .args(["-s", &sock(&lab), "-s"])
        .arg(op)
        .args([
            "--json",
            "-e",
            "#{n: send(\"show profiling\").len(), f: recorded_findings()}",
        ])
        .run();
    // An error-level finding: exit 1.
    run.expect_code(1);
    let v = run.json();
    assert_eq!(v["n"], 1, "{v}");
    let ids: Vec<&str> = v["f"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["target.error"], "{v}");
    assert!(
        v["f"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("permission denied"),
        "{v}"
    );
}

/// A rolling change checks the names of its writes on every group before
/// the first: a server only the second group lacks stops it before the
/// first group is written (and journals the refusal), instead of after.
#[test]
fn a_rolling_change_naming_a_server_a_later_group_lacks_writes_nothing() {
    let Some((a, b)) = two_labs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    // b (group 1) has bk_more/m2; a (group 2) has not.
    let run = harun()
        .args(["-s", &sock(&b), "-s", &sock(&a), "--serial", "1", "--yes"])
        .arg("--journal")
        .arg(&journal)
        .args(["-e", "set_weight(\"bk_more/m2\", 7); 1"])
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("no such server"), "{}", run.stderr);
    assert!(
        socat(&b, "get weight bk_more/m2").starts_with("1 "),
        "group 1 was written: {}",
        run.stderr
    );
    let lines = std::fs::read_to_string(&journal).unwrap();
    assert!(lines.lines().all(|l| l.contains("\"refused\"")), "{lines}");
}

/// The run's view of a backend is older than a server added meanwhile by
/// someone else (another operator, an orchestrator's `add server`): a write
/// to that server is sent, not refused as `no_such_server`.
#[test]
fn a_server_added_after_the_run_read_its_backend_is_written_not_refused() {
    let Some(lab) = lab_with(Scenario::Healthy, |b| {
        b.section("backend bk_dyn\n    server d1 127.0.0.1:9\n")
    }) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pb = playbook(
        &dir,
        "late.rhai",
        "//! t\nset_weight(\"bk_dyn/d1\", 5);\nsleep(2.0);\nset_weight(\"bk_dyn/d2\", 7);\n",
    );
    let child = spawn_playbook(&lab, &pb, std::process::Stdio::piped);
    wait_for(
        "the first write",
        std::time::Duration::from_secs(20),
        || journal_line_count(&lab) >= 2,
    );
    let added = socat(&lab, "add server bk_dyn/d2 127.0.0.1:9");
    assert!(added.contains("New server registered"), "{added}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        socat(&lab, "get weight bk_dyn/d2").starts_with("7 "),
        "{stderr}"
    );
}

/// A UNIX socket at `path` that forwards to `to`, keeping every byte a
/// client sent: the commands harun sent to that target.
fn recording_proxy(
    path: &std::path::Path,
    to: std::path::PathBuf,
) -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    use std::io::{Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = UnixListener::bind(path).unwrap();
    let log = sent.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let Ok(mut server) = UnixStream::connect(&to) else {
                return;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
            let log = log.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match client.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            let _ = server.shutdown(std::net::Shutdown::Write);
                            return;
                        }
                        Ok(n) => {
                            log.lock().unwrap().extend_from_slice(&buf[..n]);
                            if server.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    sent
}

/// A poll of a name one target lacks says so once, and reads nothing more
/// for it after: the nearest names are looked up for the first finding
/// only (a `show backend` per poll on the target that lacks it, before).
#[test]
fn polling_a_name_one_target_lacks_costs_no_extra_read_per_turn() {
    let Some((a, b)) = two_labs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proxy = dir.path().join("a.sock");
    let sent = recording_proxy(&proxy, a.admin_socket().to_path_buf());
    let run = harun()
        .args(["-s", proxy.to_str().unwrap(), "-s", &sock(&b)])
        .args(["-e", "for i in 0..6 { servers(\"bk_only\"); } 1"])
        .run();
    run.expect_code(0);
    assert!(run.stdout.contains("fleet.disagreement"), "{}", run.stdout);
    let sent = String::from_utf8_lossy(&sent.lock().unwrap()).to_string();
    assert_eq!(
        sent.matches("show backend").count(),
        1,
        "the nearest names were read at every poll: {sent}"
    );
}

/// A write goes to every target or none: a target that does not answer the
/// check of the names stops it, and the journal says of every other target
/// that it was not sent there, and why.
#[test]
fn a_write_a_silent_target_stops_is_journaled_as_not_sent_on_the_others() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let gone = dir.path().join("gone.sock");
    let run = harun()
        .args(["-s", &sock(&lab), "-s"])
        .arg(&gone)
        .arg("--journal")
        .arg(&journal)
        .args(["--yes", "-e", "set_weight(\"bk_app/app1\", 7); 1"])
        .run();
    run.expect_code(3);
    assert!(socat(&lab, "get weight bk_app/app1").starts_with("1 "));
    let entries: Vec<Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let on = |t: &str| {
        entries
            .iter()
            .find(|e| e["target"].as_str() == Some(t))
            .unwrap_or_else(|| panic!("no entry for {t}: {entries:?}"))
    };
    assert_eq!(on(&gone.display().to_string())["outcome"], "failed");
    let other = on(&sock(&lab));
    assert_eq!(other["outcome"], "refused", "{other}");
    assert!(
        other["error"].as_str().unwrap().contains("not sent:"),
        "{other}"
    );
}
