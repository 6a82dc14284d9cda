//! Runtime API primitives against a real HAProxy.

use crate::harness::*;
use harun::lab::Scenario;

#[test]
fn stat_servers_info_over_unix_and_tcp() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args(["--json", "-e", r#"let s = stat(); #{ n: s.len(), api2: s.filter(|r| r.svname == "api2")[0].status, ver: info().Version, maint: servers("bk_app").filter(|s| s.maint).map(|s| s.server) }"#])
        .run();
    run.expect_code(0);
    let v = run.json();
    assert!(v["n"].as_i64().unwrap() >= 12, "{v}");
    assert_eq!(v["api2"], "DOWN");
    assert_eq!(v["ver"], haproxy_version().as_str(), "{v}");
    assert_eq!(v["maint"], serde_json::json!(["app3"]));

    // Same over the admin TCP socket, in its ipv4@ form.
    let run = harun()
        .args([
            "-s",
            &format!("ipv4@{}", lab.tcp_socket().expect("scenario lab")),
            "-e",
            "stat(\"bk_api\").len()",
        ])
        .run();
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), "3");
}

#[test]
fn several_targets_tag_every_row() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let run = harun()
        .args([
            "-s",
            &lab.admin_socket().display().to_string(),
            "-s",
            lab.tcp_socket().expect("scenario lab"),
            "--json",
            "-e",
        ])
        .arg("let t = []; for r in stat() { if !t.contains(r.target) { t.push(r.target) } }; t")
        .run();
    run.expect_code(0);
    assert_eq!(run.json().as_array().unwrap().len(), 2);
}

#[test]
fn free_form_replies_use_a_connection_of_their_own() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    // `show env` (any line may start with `> `) is read up to EOF on its own
    // connection; the kept session keeps working around it, errors still typed.
    let run = harun()
        .lab(&lab)
        .args([
            "--json",
            "-e",
            r#"let a = stat().len(); let env = send("show env"); let b = send("show cli level");
               let kind = ""; try { send("show env HARUN_NO_SUCH_VAR") } catch (e) { kind = e.kind }
               [a > 0, env.contains("="), b, kind, stat().len() == a]"#,
        ])
        .run();
    run.expect_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!([true, true, "admin\n", "haproxy_error", true])
    );
}

/// A kept CLI session that HAProxy closed (`stats timeout`, an operator's
/// `shutdown session`) must be reopened, and must not be mistaken for a
/// reload (which would send a drain looking for a new process and report
/// `reloaded`). `stats timeout` does not close an idle prompt-mode session
/// reliably on HAProxy 2.6 (measured: sometimes after 1 s, sometimes never),
/// so the test closes it with `shutdown session` from a second connection.
#[test]
fn a_session_haproxy_closed_is_reopened_and_is_not_a_reload() {
    use harun::runtime::{Address, Command, Target};
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    // Every CLI session but the one asking.
    let address = Address::parse(&lab.admin_socket().display().to_string()).unwrap();
    let target = Target::new(address, std::time::Duration::from_secs(5));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pid = |info: &str| {
        harun::runtime::info::process_of(info)
            .pid
            .expect("Pid in show info")
    };
    rt.block_on(async {
        let first = pid(&target.send(&Command::show_info()).await.unwrap());
        shutdown_cli_sessions(&lab);
        assert!(
            !target.follow_reload().await,
            "a closed session is not a reload"
        );
        assert_eq!(
            pid(&target.send(&Command::show_info()).await.unwrap()),
            first
        );
        // Closed again, then used at once: reopened and retried once.
        shutdown_cli_sessions(&lab);
        assert_eq!(
            pid(&target.send(&Command::show_info()).await.unwrap()),
            first
        );
        // Closed, then idle past the reload check that every command makes.
        shutdown_cli_sessions(&lab);
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        assert_eq!(
            pid(&target.send(&Command::show_info()).await.unwrap()),
            first
        );
    });
}

#[test]
fn the_cli_connects_while_it_starts_and_lets_go_of_a_session_it_does_not_use() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    // CLI sessions on the admin socket as HAProxy lists them, this one included.
    let cli_sessions = || {
        socat(&lab, "show sess")
            .lines()
            .filter(|l| l.contains("fe=GLOBAL"))
            .count()
    };
    let idle = cli_sessions();
    let child = harun_process()
        .arg("-s")
        .arg(lab.admin_socket())
        .args(["-e", "sleep(6); stat().len()"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn harun");
    // Opened as the run starts, before the playbook asks anything...
    let mut seen = Vec::new();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < until {
        seen.push(cli_sessions());
        if seen.contains(&(idle + 1)) && *seen.last().unwrap() == idle {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // ...and closed while the playbook sleeps: HAProxy serves few CLI
    // connections at once (`stats maxconn`).
    assert!(seen.contains(&(idle + 1)), "never preconnected: {seen:?}");
    assert_eq!(
        seen.last(),
        Some(&idle),
        "the unused session is held: {seen:?}"
    );
    // The first command then opens a session of its own.
    let out = child.wait_with_output().expect("harun");
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .unwrap()
            > 0,
        "{out:?}"
    );
}
