//! Batched writes (`set_state(array, ...)` and friends) against a real
//! HAProxy with 12 backends x 10 servers: checked whole before anything is
//! sent, then one pipelined exchange; each command journaled before it goes
//! and with its outcome.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use std::time::Duration;

fn big_lab() -> Option<Lab> {
    lab_with(Scenario::Big, |b| b.size(12, 10))
}

/// A Rhai array literal of `bk0000/srv0`-style names.
fn names(backends: std::ops::Range<usize>, servers: std::ops::Range<usize>) -> String {
    let mut v = Vec::new();
    for b in backends {
        for s in servers.clone() {
            v.push(format!("\"bk{b:04}/srv{s}\""));
        }
    }
    format!("[{}]", v.join(", "))
}

fn admin_states(lab: &Lab) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for b in 0..12 {
        for s in 0..10 {
            let (bk, srv) = (format!("bk{b:04}"), format!("srv{s}"));
            out.push((format!("{bk}/{srv}"), admin_state(lab, &bk, &srv)));
        }
    }
    out
}

#[test]
fn a_batch_that_would_empty_a_backend_is_refused_whole() {
    let Some(lab) = big_lab() else {
        return;
    };
    // Every server of every backend: the tenth drain of bk0000 would leave
    // it empty, so nothing at all is sent, not even the nine before it.
    let script = format!("set_state({}, \"drain\")", names(0..12, 0..10));
    let run = harun().lab(&lab).args(["--yes", "-e", &script]).run();
    run.expect_code(4);
    assert!(
        run.stderr.contains("bk0000/srv9 is the last UP server"),
        "{}",
        run.stderr
    );
    assert!(admin_states(&lab).iter().all(|(_, a)| *a == 0));
    let journal = journal_lines(&lab);
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0]["outcome"], "refused");
    assert_eq!(journal[0]["command"], "set server bk0000/srv9 state drain");

    // A server that does not exist anywhere in the batch: nothing is sent.
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "-e",
            r#"set_state(["bk0001/srv0", "bk0001/nope"], "drain")"#,
        ])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("no such server") && run.stderr.contains("bk0001/nope"),
        "{}",
        run.stderr
    );
    assert_eq!(admin_state(&lab, "bk0001", "srv0"), 0);

    // Not a string: named by its place in the array.
    let run = harun()
        .lab(&lab)
        .args(["--yes", "-e", r#"set_state(["bk0001/srv0", 7], "drain")"#])
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("element 1"), "{}", run.stderr);
}

#[test]
fn a_batch_goes_out_pipelined_and_journals_each_command_before_and_after() {
    let Some(lab) = big_lab() else {
        return;
    };
    // 108 drains (srv0-srv8 of 12 backends).
    let script = format!(
        "let w = set_state({}, \"drain\"); [w.len(), w.filter(|x| x.after.drain).len()]",
        names(0..12, 0..9)
    );
    let run = harun()
        .lab(&lab)
        .args(["--yes", "--json", "-e", &script])
        .run();
    run.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(v, serde_json::json!([108, 108]), "{}", run.stdout);
    for (name, admin) in admin_states(&lab) {
        let want = if name.ends_with("srv9") { 0 } else { 8 };
        assert_eq!(admin, want, "{name}");
    }
    let journal = journal_lines(&lab);
    assert_eq!(journal.len(), 108);
    for (i, e) in journal.iter().enumerate() {
        let want = format!("set server bk{:04}/srv{} state drain", i / 9, i % 9);
        assert_eq!(e["command"], want.as_str());
        assert_eq!(e["outcome"], "sent");
        assert_eq!(e["before"]["drain"], false, "{e}");
        assert_eq!(e["after"]["drain"], true, "{e}");
        assert_eq!(e["after"]["admin_state"], 8, "{e}");
    }
    // As written: the 108 intents, synced before anything was sent, then
    // the 108 outcomes, paired by id.
    let raw = journal_raw_lines(&lab);
    assert_eq!(raw.len(), 216);
    assert!(raw[..108].iter().all(|e| e["outcome"] == "sending"
        && e["before"]["drain"] == false
        && e["after"].is_null()));
    for (intent, outcome) in raw[..108].iter().zip(&raw[108..]) {
        assert!(intent["id"].is_string(), "{intent}");
        assert_eq!(intent["id"], outcome["id"]);
        assert_eq!(intent["command"], outcome["command"]);
    }

    // Dry-run: shown and journaled with the state before, nothing sent.
    let run = harun()
        .lab(&lab)
        .args([
            "--dry-run",
            "-e",
            r#"set_state(["srv0", "srv9"], "ready").len()"#,
        ])
        .run();
    run.expect_code(0);
    // Every command is shown, then the value: bare names name every backend.
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.last(), Some(&"24"), "{}", run.stdout);
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("dry-run:")).count(),
        24
    );
    assert_eq!(admin_state(&lab, "bk0000", "srv0"), 8);
    let journal = journal_lines(&lab);
    let dry: Vec<_> = journal
        .iter()
        .filter(|e| e["outcome"] == "dry-run")
        .collect();
    assert_eq!(dry.len(), 24);
    assert!(dry.iter().all(|e| e["before"]["admin_state"].is_number()));

    // Back in rotation, weights set in the same way.
    let script = format!(
        "set_state({0}, \"ready\"); set_weight({0}, 5).len()",
        names(0..12, 0..9)
    );
    let run = harun().lab(&lab).args(["--yes", "-e", &script]).run();
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), "108");
    assert!(admin_states(&lab).iter().all(|(_, a)| *a == 0));
    assert!(
        socat(&lab, "get weight bk0011/srv8").starts_with("5 (initial 1)"),
        "{}",
        socat(&lab, "get weight bk0011/srv8")
    );
    assert_eq!(journal_lines(&lab).len(), 108 + 24 + 2 * 108);
}

#[test]
fn a_batch_is_confirmed_once_on_a_terminal_showing_its_head_and_count() {
    use rexpect::session::spawn_command;
    let Some(lab) = big_lab() else {
        return;
    };
    let script = format!("set_state({}, \"drain\").len()", names(0..3, 0..9));
    let ask = |answer: &str| {
        let mut cmd = harun_process();
        cmd.args(lab_args(&lab)).args(["-e", &script]);
        let mut p = spawn_command(cmd, Some(30_000)).expect("spawn harun");
        p.exp_string("harun is about to change HAProxy's state:")
            .expect("asks");
        p.exp_string("set server bk0000/srv0 state drain").unwrap();
        p.exp_string("... and 7 more (27 commands; --dry-run lists them all)")
            .expect("the head and a count, not 27 lines");
        p.exp_string("[y/N]").unwrap();
        p.send_line(answer).unwrap();
        let rest = p.exp_eof().expect("ends");
        (rest, p.process.wait().unwrap())
    };
    let (rest, status) = ask("n");
    assert!(rest.contains("not confirmed"), "{rest}");
    assert!(
        matches!(status, rexpect::process::wait::WaitStatus::Exited(_, 4)),
        "{status:?}"
    );
    assert!(admin_states(&lab).iter().all(|(_, a)| *a == 0));

    let (rest, status) = ask("y");
    assert!(
        matches!(status, rexpect::process::wait::WaitStatus::Exited(_, 0)),
        "{status:?}: {rest}"
    );
    assert!(rest.contains("27"), "{rest}");
    assert_eq!(admin_state(&lab, "bk0002", "srv8"), 8);
    assert_eq!(admin_state(&lab, "bk0002", "srv9"), 0);
}

#[test]
fn a_batch_on_an_operator_socket_is_refused_before_anything_is_sent() {
    let Some(lab) = big_lab() else {
        return;
    };
    let script = format!("set_state({}, \"ready\")", names(0..10, 0..10));
    let run = harun()
        .socket(&lab, lab.operator_socket().expect("scenario lab"))
        .args(["--yes", "-e", &script])
        .run();
    run.expect_code(4);
    assert!(run.stderr.contains("level admin"), "{}", run.stderr);
    assert!(
        run.stderr.contains("nothing of the batch was sent"),
        "{}",
        run.stderr
    );
    let journal = journal_lines(&lab);
    assert_eq!(
        journal.len(),
        1,
        "one refusal, not a failed line per command"
    );
    assert_eq!(journal[0]["outcome"], "refused");
    assert_eq!(journal[0]["error"], "socket level operator");
}

/// The incident lab plus `bk_follow`, whose only server tracks bk_app/app1.
fn tracking_lab() -> Option<Lab> {
    lab_with(Scenario::Incident, |b| {
        b.section("backend bk_follow\n    server f1 127.0.0.1:9 track bk_app/app1")
    })
}

#[test]
fn a_write_that_empties_a_backend_through_track_is_refused_single_or_batched() {
    let Some(lab) = tracking_lab() else {
        return;
    };
    // bk_app keeps app2, but bk_follow/f1 follows app1 into drain, maint
    // or stopping. HAProxy ignores trailing words (`maint now`).
    for script in [
        r#"set_state("bk_app/app1", "drain")"#,
        r#"set_state(["bk_app/app1"], "drain")"#,
        r#"set_state("bk_app/app1", "maint")"#,
        r#"send("disable server bk_app/app1")"#,
        r#"send("set server bk_app/app1 state maint now")"#,
        r#"send("set server bk_app/app1 health stopping")"#,
    ] {
        expect_refused(
            &lab,
            script,
            "would also take out bk_follow/f1, which tracks bk_app/app1",
        );
        assert_eq!(admin_state(&lab, "bk_app", "app1"), 0, "{script}");
    }
    // By `#id`, `track` cannot be matched: refused, never assumed fine.
    let stat = socat(&lab, "show stat bk_app 2 -1");
    let column = stat
        .lines()
        .next()
        .and_then(|h| {
            h.trim_start_matches("# ")
                .split(',')
                .position(|c| c == "iid")
        })
        .expect("iid column");
    let iid = stat
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').nth(column))
        .expect("iid of bk_app");
    // Invalid input, before any guard or send, even with --force.
    let script = format!(r#"send("set server #{iid}/app1 state maint")"#);
    let run = harun()
        .lab(&lab)
        .args(["--yes", "--force", "-e", &script])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("not by HAProxy's `#id` form"),
        "{}",
        run.stderr
    );
    assert_eq!(admin_state(&lab, "bk_app", "app1"), 0);
    let journal = journal_lines(&lab);
    assert_eq!(journal.len(), 6);
    assert!(journal.iter().all(|e| e["outcome"] == "refused"));
    // What HAProxy does, so the guard is right to count it.
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "--force",
            "-e",
            r#"set_state("bk_app/app1", "drain")"#,
        ])
        .run();
    run.expect_code(0);
    assert_eq!(
        admin_state(&lab, "bk_follow", "f1"),
        0x10,
        "IDRAIN, inherited"
    );
}

#[test]
fn a_weight_in_percent_that_rounds_to_zero_is_guarded() {
    let Some(lab) = tracking_lab() else {
        return;
    };
    // bk_api: api2 is DOWN, api1 is the last UP server, weight 1: 50% of 1
    // is 0 for HAProxy, so this takes api1 out of rotation.
    for script in [
        r#"set_weight("bk_api/api1", "50%")"#,
        r#"set_weight(["bk_api/api1"], "99%")"#,
        r#"set_weight("bk_api/api1", "00")"#,
    ] {
        expect_refused(&lab, script, "bk_api/api1 is the last UP server");
    }
    assert!(socat(&lab, "get weight bk_api/api1").starts_with("1 "));
    // 200% of 1 is 2: not a removal.
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "-e",
            r#"set_weight(["bk_api/api1"], "200%").len()"#,
        ])
        .run();
    run.expect_code(0);
    assert!(socat(&lab, "get weight bk_api/api1").starts_with("2 "));
}

/// When a [`meddling_proxy`] acts: before HAProxy gets the batch's writes,
/// or once it has them and before it gets what follows them in the same
/// exchange (the state after, the reload check).
#[derive(Clone, Copy, PartialEq)]
enum Moment {
    BeforeWrites,
    AfterWrites,
}

/// A unix socket in front of the lab's admin socket that runs `meddle`
/// (another operator's change, a reload) once, at `moment`: a real event at
/// an exact point of a batch.
fn meddling_proxy(
    lab: &Lab,
    dir: &tempfile::TempDir,
    moment: Moment,
    meddle: impl Fn() + Send + Sync + 'static,
) -> std::path::PathBuf {
    use std::io::{Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let path = dir.path().join("proxy.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let upstream = lab.admin_socket().to_path_buf();
    let injected = Arc::new(AtomicBool::new(false));
    let meddle = Arc::new(meddle);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(up) = UnixStream::connect(&upstream) else {
                return;
            };
            let (mut from_client, mut to_up) =
                (client.try_clone().unwrap(), up.try_clone().unwrap());
            let (mut from_up, mut to_client) = (up, client);
            std::thread::spawn(move || std::io::copy(&mut from_up, &mut to_client));
            let (injected, meddle) = (injected.clone(), meddle.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = match from_client.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    // Where this read's writes end (after the last one's line).
                    let cut = text
                        .rfind("set server")
                        .map(|i| i + text[i..].find('\n').map_or(text.len() - i, |j| j + 1));
                    let (first, rest) = match (cut, moment) {
                        (Some(c), Moment::AfterWrites) => (&buf[..c], &buf[c..n]),
                        (Some(_), Moment::BeforeWrites) => (&buf[..0], &buf[..n]),
                        (None, _) => (&buf[..n], &buf[..0]),
                    };
                    if to_up.write_all(first).is_err() {
                        break;
                    }
                    if cut.is_some() && !injected.swap(true, Ordering::SeqCst) {
                        if moment == Moment::AfterWrites {
                            // HAProxy applies the writes before meddling.
                            std::thread::sleep(std::time::Duration::from_millis(200));
                        }
                        meddle();
                    }
                    if to_up.write_all(rest).is_err() {
                        break;
                    }
                }
                let _ = to_up.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    path
}

#[test]
fn a_backend_emptied_under_a_batch_is_reported_with_the_way_back() {
    let Some(lab) = big_lab() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The batch drains srv0-8 of every backend, leaving srv9: fine when
    // judged. Just before HAProxy gets the writes, someone parks
    // bk0011/srv9: the batch's writes now empty bk0011, and harun says so.
    let sock = lab.admin_socket().to_path_buf();
    let proxy = meddling_proxy(&lab, &dir, Moment::BeforeWrites, move || {
        raw(&sock, "set server bk0011/srv9 state maint");
    });
    let script = format!(
        "let r = (); try {{ set_state({}, \"drain\"); }} catch (e) {{ r = [e.kind, e.writes.len(), e.message]; }} r",
        names(0..12, 0..9)
    );
    let run = harun()
        .socket(&lab, &proxy)
        .args(["--yes", "--json", "-e", &script])
        .run();
    run.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!((&v[0], &v[1]), (&"emptied".into(), &108.into()), "{v}");
    let message = v[2].as_str().unwrap();
    assert!(
        message.contains("backend `bk0011` has no server in rotation after this batch")
            && message.contains("set_state(\"bk0011/srv0\", \"ready\")")
            && message.contains("108 sent"),
        "{message}"
    );
    assert_eq!(admin_state(&lab, "bk0011", "srv0"), 8);
    let journal = journal_lines(&lab);
    assert_eq!(
        journal.iter().filter(|e| e["outcome"] == "sent").count(),
        108
    );
    // Unguarded, the same is the operator's choice: no error.
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "-e",
            r#"set_state(["bk0010/srv9", "bk0010/srv8"], "maint", #{force: true}).len()"#,
        ])
        .run();
    run.expect_code(0);
}

/// One command on its own connection, the reply.
fn raw(sock: &std::path::Path, cmd: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
    s.write_all(format!("{cmd}\n").as_bytes()).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply
}

/// Reload the lab's HAProxy at `moment` of a batch of 108 drains; the run.
fn batch_across_a_reload(lab: &Lab, moment: Moment) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let sock = lab.admin_socket().to_path_buf();
    let old_pid = lab.pid().unwrap();
    let (config, bin) = (lab.config_path().to_path_buf(), haproxy_bin());
    let new = std::sync::Arc::new(std::sync::Mutex::new(None));
    let new_in_proxy = new.clone();
    // A reload as `systemctl reload` does it, then the new process
    // answering on the socket. The kept session stays on the old process.
    let proxy = meddling_proxy(lab, &dir, moment, move || {
        let child = std::process::Command::new(&bin)
            .args(["-db", "-f"])
            .arg(&config)
            .args(["-sf", &old_pid.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id().to_string();
        *new_in_proxy.lock().unwrap() = Some(child);
        for _ in 0..100 {
            if std::os::unix::net::UnixStream::connect(&sock).is_ok()
                && raw(&sock, "show info").contains(&format!("Pid: {pid}"))
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the new process never answered");
    });
    let script = format!("set_state({}, \"drain\").len()", names(0..12, 0..9));
    let run = harun()
        .socket(lab, &proxy)
        .args(["--yes", "-e", &script])
        .run();
    if let Some(mut child) = new.lock().unwrap().take() {
        let _ = child.kill();
        let _ = child.wait();
    }
    run
}

#[test]
fn a_reload_during_the_batch_is_caught_and_says_where_its_writes_went() {
    let Some(lab) = big_lab() else {
        return;
    };
    // HAProxy takes the writes, then reloads before the state after and
    // the reload check of the same exchange.
    let run = batch_across_a_reload(&lab, Moment::AfterWrites);
    run.expect_code(4);
    assert!(
        run.stderr.contains("HAProxy reloaded during the batch")
            && run
                .stderr
                .contains("108 of its commands went to the process that is now stopping"),
        "{}",
        run.stderr
    );
    let journal = journal_lines(&lab);
    assert_eq!(journal.len(), 109);
    assert!(journal[..108].iter().all(|e| e["outcome"] == "sent"));
    assert_eq!(journal[108]["outcome"], "refused", "the stop is journaled");
    assert_eq!(journal[108]["error"], "HAProxy reloaded during the batch");
}

#[test]
fn a_stopping_process_refuses_the_batch_and_harun_says_why() {
    let Some(lab) = big_lab() else {
        return;
    };
    // The reload lands after the batch was judged, before its writes: the
    // old process answers `Proxy is disabled.` to every change.
    let run = batch_across_a_reload(&lab, Moment::BeforeWrites);
    run.expect_code(2);
    assert!(
        run.stderr.contains("Proxy is disabled")
            && run
                .stderr
                .contains("stopping after a reload and refuses changes")
            && run
                .stderr
                .contains("0 sent, 108 failed, 0 with no reply, 0 skipped, 0 not sent"),
        "{}",
        run.stderr
    );
    let journal = journal_lines(&lab);
    assert_eq!(journal.len(), 108);
    assert!(journal
        .iter()
        .all(|e| e["outcome"] == "failed" && e["after"].is_null()));
}

#[test]
fn draining_several_servers_is_judged_as_one_batch_then_waits_for_all() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    // bk_app: app1 and app2 up, app3 parked. A loop would drain app1 and
    // refuse app2; the array form refuses before touching either.
    expect_refused(
        &lab,
        r#"drain(["bk_app/app1", "bk_app/app2"], #{timeout: 5})"#,
        "bk_app/app2 is the last UP server",
    );
    assert_eq!(admin_state(&lab, "bk_app", "app1"), 0);
    let run = harun().lab(&lab).args(["--yes", "-e", "drain([])"]).run();
    run.expect_code(2);
    assert!(run.stderr.contains("nothing to drain"), "{}", run.stderr);

    let Some(big) = big_lab() else {
        return;
    };
    let run = harun()
        .lab(&big)
        .args([
            "--yes",
            "--json",
            "-e",
            r#"let d = drain(["bk0000/srv0", "bk0001/srv0"], #{timeout: 10, poll: 0.2}); [d.drained, d.writes.len()]"#,
        ])
        .run();
    run.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v, serde_json::json!([true, 2]), "{}", run.stdout);
    assert_eq!(admin_state(&big, "bk0000", "srv0"), 8);
    assert_eq!(admin_state(&big, "bk0001", "srv0"), 8);
}

#[test]
fn drain_server_takes_a_comma_separated_rack() {
    let Some(lab) = big_lab() else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args([
            "drain_server",
            "-p",
            "server=bk0002/srv3,bk0005/srv3",
            "-p",
            "timeout=10",
            "-p",
            "poll=0.2",
            "--yes",
            "--json",
        ])
        .run();
    run.expect_code(0);
    let done = run.finding("drain.done");
    assert!(
        done["title"]
            .as_str()
            .unwrap()
            .contains("bk0002/srv3, bk0005/srv3"),
        "{done}"
    );
    assert!(
        done["advice"]
            .as_str()
            .unwrap()
            .contains(r#"set_state(["bk0002/srv3", "bk0005/srv3"], "ready")"#),
        "{done}"
    );
    assert_eq!(admin_state(&lab, "bk0002", "srv3"), 8);
    assert_eq!(admin_state(&lab, "bk0005", "srv3"), 8);
}

/// `show servers state` of every server: `bk/srv` -> its weight.
fn weights(lab: &Lab) -> std::collections::HashMap<String, i64> {
    servers_state_rows(lab, None)
        .into_iter()
        .map(|r| {
            let name = format!("{}/{}", r["be_name"], r["srv_name"]);
            (name, r["srv_uweight"].parse().unwrap())
        })
        .collect()
}

#[test]
fn a_kill_9_in_the_middle_of_2000_writes_leaves_every_write_haproxy_took_in_the_journal() {
    let Some(lab) = lab_with(Scenario::Big, |b| b.size(200, 10)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for b in 0..200 {
        for s in 0..10 {
            all.push(format!("\"bk{b:04}/srv{s}\""));
        }
    }
    // Batches of 2,000 weight changes back to back: a kill lands in one of
    // them, at any point (reading, journaling, on the wire).
    let pb = playbook(
        &dir,
        "weights.rhai",
        &format!(
            "let all = [{}];\nfor i in 0..1000 {{ set_weight(all, i % 50 + 2); }}\n",
            all.join(",")
        ),
    );
    for (round, lines) in [(0, 4_001), (1, 9_000), (2, 17_500)] {
        let before = journal_line_count(&lab);
        let mut child = spawn_playbook(&lab, &pb, std::process::Stdio::null);
        wait_for("journal lines", Duration::from_secs(60), || {
            journal_line_count(&lab) >= before + lines
        });
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        // Every line parses (journal_raw_lines panics on a torn one).
        let raw = journal_raw_lines(&lab);
        // Per server, the weights journaled in order, and whether the last
        // one got its outcome line.
        let mut last: std::collections::HashMap<String, Vec<(i64, bool)>> =
            std::collections::HashMap::new();
        let answered: std::collections::HashSet<&str> = raw
            .iter()
            .filter(|e| e["outcome"] == "sent")
            .filter_map(|e| e["id"].as_str())
            .collect();
        for e in raw.iter().filter(|e| e["outcome"] == "sending") {
            let cmd = e["command"].as_str().unwrap();
            let mut w = cmd.split(' ');
            let (server, weight) = (w.nth(2).unwrap(), w.nth(1).unwrap());
            let done = answered.contains(e["id"].as_str().unwrap());
            last.entry(server.to_string())
                .or_default()
                .push((weight.parse().unwrap(), done));
        }
        let now = weights(&lab);
        assert_eq!(last.len(), 2000, "round {round}: every server journaled");
        let mut in_flight = 0;
        for (server, history) in &last {
            let w = now[server];
            let &(newest, done) = history.last().unwrap();
            if done {
                assert_eq!(
                    w, newest,
                    "round {round}: {server} has {w}, journal {history:?}"
                );
            } else {
                // Killed with this write journaled and maybe on the wire.
                in_flight += 1;
                let previous = history.iter().rev().nth(1).map(|h| h.0).unwrap_or(1);
                assert!(
                    w == newest || w == previous,
                    "round {round}: {server} has {w}, journal {history:?}"
                );
            }
        }
        // A batch's outcomes go out in one write(2): all there, or none.
        assert!(
            in_flight == 0 || in_flight == 2000,
            "round {round}: {in_flight} writes without an outcome"
        );
    }
}

#[test]
fn a_partial_batch_sends_what_it_can_and_says_what_it_skipped() {
    let Some(lab) = big_lab() else {
        return;
    };
    // srv0-9 of bk0000 (the tenth would empty it), an unknown server, and
    // srv0 of bk0001: whole, refused; partial, the others go.
    let script = r#"
        let batch = ["bk0000/srv0", "bk0000/srv1", "bk0000/srv2", "bk0000/srv3", "bk0000/srv4",
                     "bk0000/srv5", "bk0000/srv6", "bk0000/srv7", "bk0000/srv8", "bk0000/srv9",
                     "bk0001/nope", "bk0001/srv0", "bk0002/srv0;shutdown sessions server bk0002/srv1"];
        let whole = "sent";
        try { set_state(batch, "drain"); } catch (e) { whole = e.kind; }
        let r = set_state(batch, "drain", #{partial: true});
        [whole, r.len(), r.filter(|w| w.outcome == "sent").len(),
         r.filter(|w| w.outcome == "skipped").map(|w| `${w.name}: ${w.error}`)]
    "#;
    let run = harun()
        .lab(&lab)
        .args(["--yes", "--json", "-e", script])
        .run();
    run.expect_code(0);
    let v = run.json();
    // Whole, the hostile name refuses the batch before anything else.
    assert_eq!(v[0], "invalid_input", "{v}");
    assert_eq!((&v[1], &v[2]), (&13.into(), &10.into()), "{v}");
    let skipped: Vec<&str> = v[3]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(
        skipped[2].starts_with("bk0002/srv0;shutdown") && skipped[2].contains("skipped"),
        "{skipped:?}"
    );
    assert!(
        skipped[0].starts_with("bk0000/srv9: ")
            && skipped[0].contains("last UP server of backend `bk0000`")
            && skipped[0].contains("skipped, the rest of the batch goes"),
        "{skipped:?}"
    );
    assert!(
        skipped[1].starts_with("bk0001/nope: ") && skipped[1].contains("no such server"),
        "{skipped:?}"
    );
    assert_eq!(admin_state(&lab, "bk0000", "srv8"), 8);
    assert_eq!(admin_state(&lab, "bk0000", "srv9"), 0);
    assert_eq!(admin_state(&lab, "bk0001", "srv0"), 8);
    let journal = journal_lines(&lab);
    let skipped: Vec<_> = journal
        .iter()
        .filter(|e| e["outcome"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 2, "{journal:?}");
}

#[test]
fn a_loop_of_single_writes_stays_guarded_and_sees_changes_made_meanwhile() {
    let Some(lab) = big_lab() else {
        return;
    };
    // One write at a time: the tenth drain of bk0000 is refused.
    let script = r#"
        let done = 0;
        try { for s in 0..10 { set_state(`bk0000/srv${s}`, "drain"); done += 1; } } catch (e) { print(e.message); }
        done
    "#;
    let run = harun().lab(&lab).args(["--yes", "-e", script]).run();
    run.expect_code(0);
    assert_eq!(run.stdout.lines().last(), Some("9"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("bk0000/srv9 is the last UP server of backend `bk0000`"),
        "{}",
        run.stdout
    );
    assert_eq!(admin_state(&lab, "bk0000", "srv9"), 0);
    // Someone else parks a server between two writes of a loop: once the
    // view is older than its 100 ms, the guard reads again and sees it.
    let dir = tempfile::tempdir().unwrap();
    let pb = playbook(
        &dir,
        "loop.rhai",
        r#"for s in 0..8 { set_state(`bk0001/srv${s}`, "drain"); }
           sleep(1.0);
           set_state("bk0001/srv8", "drain")"#,
    );
    let child = spawn_playbook(&lab, &pb, std::process::Stdio::piped);
    wait_for("8 drains", Duration::from_secs(20), || {
        admin_state(&lab, "bk0001", "srv7") == 8
    });
    socat(&lab, "set server bk0001/srv9 state maint");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("bk0001/srv8 is the last UP server of backend `bk0001`"),
        "{stderr}"
    );
    assert_eq!(admin_state(&lab, "bk0001", "srv8"), 0);
}
