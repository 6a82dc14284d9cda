//! Command-line behaviour: exit codes, errors naming what and where.

use crate::harness::*;
use harun::lab::Scenario;

#[test]
fn unreachable_socket_exits_3_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("nope.sock");
    let run = harun()
        .args(["-s", sock.to_str().unwrap(), "-e", "info()"])
        .run();
    run.expect_code(3);
    assert!(run.stderr.contains("nope.sock"), "{}", run.stderr);
    assert!(run.stderr.contains("cannot connect"), "{}", run.stderr);
}

#[test]
fn syntax_error_points_at_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = playbook(&dir, "broken.rhai", "let a = 1;\nlet b = (a + ;\n");
    let run = harun().arg(&p).run();
    run.expect_code(2);
    assert!(run.stderr.contains("broken.rhai:2:"), "{}", run.stderr);
    assert!(run.stderr.contains("let b = (a + ;"), "{}", run.stderr);
    assert!(run.stderr.contains('^'), "{}", run.stderr);
}

#[test]
fn injection_is_refused_before_anything_is_sent() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "-e",
            r#"send("set server bk_app/app1 state maint; set server bk_app/app2 state maint")"#,
        ])
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("`;`"), "{}", run.stderr);
    assert_eq!(status_of(&lab, "bk_app", "app1"), "UP");
    assert_eq!(status_of(&lab, "bk_app", "app2"), "UP");
}

#[test]
fn runaway_playbook_is_stopped_by_max_time() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = playbook(&dir, "loop.rhai", "loop { sleep(0.05); }\n");
    let run = harun().lab(&lab).arg(&p).args(["--max-time", "1"]).run();
    run.expect_code(2);
    assert!(run.stderr.contains("max-time"), "{}", run.stderr);
}

#[test]
fn a_session_closed_by_haproxy_is_reopened_once() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let mut child = harun_process()
        .args(lab_args(&lab))
        .args([
            "-e",
            "let a = info().Pid; print(\"ready\"); sleep(3.0); let b = info().Pid; a == b",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until harun has its answer (a loaded machine may take a while),
    // then close its kept session while it sleeps.
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    assert_eq!(first, "ready");
    shutdown_cli_sessions(&lab);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    let stdout = rest.join("\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "true");
}

#[test]
fn imports_stay_inside_the_playbook_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("team")).unwrap();
    playbook(&dir, "team/lib.rhai", "fn twice(x) { x * 2 }\n");
    let ok = playbook(
        &dir,
        "ok.rhai",
        "import \"team/lib\" as lib;\nprint(lib::twice(21));\n",
    );
    let run = harun().arg(&ok).run();
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), "42");

    for evil in ["../etc/passwd", "/etc/passwd"] {
        let p = playbook(&dir, "evil.rhai", &format!("import \"{evil}\" as x;\n"));
        let run = harun().arg(&p).run();
        run.expect_code(2);
        assert!(run.stderr.contains("confined"), "{evil}: {}", run.stderr);
    }
}

#[test]
fn eval_is_disabled_and_variables_are_strict() {
    let run = harun().args(["-e", "eval(\"1 + 1\")"]).run();
    run.expect_code(2);
    let run = harun().args(["-e", "undefined_thing + 1"]).run();
    run.expect_code(2);
    assert!(run.stderr.contains("undefined_thing"), "{}", run.stderr);
}

#[test]
fn a_busy_loop_is_stopped_by_max_time() {
    let run = harun()
        .args(["-e", "let x = 0; loop { x += 1; }", "--max-time", "1"])
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("max-time"), "{}", run.stderr);
}

#[test]
fn missing_required_parameter_is_named_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = playbook(
        &dir,
        "needs.rhai",
        "//! Needs a server.\n//! @param server! backend/server\nprint(param(\"server\"));\n",
    );
    let run = harun().arg(&p).run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("missing required parameter `server`"),
        "{}",
        run.stderr
    );
    let run = harun().arg(&p).args(["-p", "server=bk/s1"]).run();
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), "bk/s1");
}

#[test]
fn unknown_playbook_lists_the_shipped_ones() {
    let run = harun().arg("no_such_playbook").run();
    run.expect_code(2);
    assert!(run.stderr.contains("inspect_queues"), "{}", run.stderr);
}

#[test]
fn lab_evaluates_an_expression_against_its_haproxy() {
    if !require_haproxy() {
        return;
    }
    let lab = |args: &[&str]| {
        harun()
            .args(["--haproxy-bin"])
            .arg(haproxy_bin())
            .arg("lab")
            .args(args)
            .run()
    };
    let run = lab(&[
        "incident",
        "-e",
        "servers(\"bk_api\").map(|s| s.name + \" \" + s.op_state)",
        "--json",
    ]);
    run.expect_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!(["bk_api/api1 running", "bk_api/api2 stopped"])
    );
    // A key typo stops it at its line, exit 2, as `harun -e` does.
    let run = lab(&["-e", "servers()[0].weigth"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("did you mean `weight`"),
        "{}",
        run.stderr
    );
    // A playbook and -e: one or the other, refused before a lab starts.
    let run = lab(&["healthy", "troubleshoot", "-e", "1"]);
    run.expect_code(2);
    assert!(run.stderr.contains("not both"), "{}", run.stderr);
    assert!(!run.stderr.contains("starting haproxy"), "{}", run.stderr);
}

#[test]
fn lab_runs_a_playbook_and_removes_its_directory() {
    if !require_haproxy() {
        return;
    }
    let run = harun()
        .args(["--haproxy-bin"])
        .arg(haproxy_bin())
        .args(["lab", "healthy", "inspect_queues", "--json"])
        .run();
    run.expect_code(0);
    let v = run.json();
    assert!(!v["tables"][0]["rows"].as_array().unwrap().is_empty());
    let dir = run
        .stderr
        .lines()
        .find_map(|l| l.split("admin socket ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .map(|sock| {
            std::path::PathBuf::from(sock)
                .parent()
                .unwrap()
                .to_path_buf()
        })
        .expect("lab prints its socket");
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
fn lab_without_haproxy_says_how_to_install_it() {
    let run = harun()
        .args([
            "--haproxy-bin",
            "/nonexistent/haproxy",
            "lab",
            "healthy",
            "inspect_queues",
        ])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("apt-get install haproxy"),
        "{}",
        run.stderr
    );
}

#[test]
fn sockets_are_discovered_from_the_config() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let run = harun()
        .args([
            "-c",
            lab.config_path().to_str().unwrap(),
            "--json",
            "-e",
            "[targets(), info().Name]",
        ])
        .run();
    run.expect_code(0);
    let v = run.json();
    assert_eq!(
        v[0][0]["name"].as_str().unwrap(),
        lab.admin_socket().to_str().unwrap()
    );
    assert_eq!(v[1], "HAProxy");
}

#[test]
fn a_terminated_lab_leaves_nothing_behind() {
    use std::io::{BufRead, BufReader};
    if !require_haproxy() {
        return;
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("harun"))
        .arg("--haproxy-bin")
        .arg(haproxy_bin())
        .args(["lab", "healthy"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let sock = loop {
        let line = lines.next().expect("lab output").unwrap();
        if let Some(rest) = line.split("admin socket ").nth(1) {
            break std::path::PathBuf::from(rest.split_whitespace().next().unwrap());
        }
    };
    assert!(sock.exists());
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        !sock.parent().unwrap().exists(),
        "lab directory left behind"
    );
}

/// `exit(e)` ends a run with an error the playbook has already reported:
/// its exit code, its kind in the JSON report, no error line of harun's own.
#[test]
fn exit_with_a_reported_error_keeps_its_code_and_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("nope.sock");
    let script = r#"try { info() } catch (e) { finding("critical", "x.down", "down", #{ detail: e.message }); exit(e) } 1"#;
    let run = harun().arg("-s").arg(&sock).args(["-e", script]).run();
    run.expect_code(3);
    assert_eq!(run.stderr, "", "{}", run.stderr);
    assert!(run.stdout.contains("CRITICAL x.down"), "{}", run.stdout);
    let run = harun()
        .arg("-s")
        .arg(&sock)
        .args(["--json", "troubleshoot", "-p", "sample=0"])
        .args(["-c", "/nonexistent.cfg", "--haproxy-bin", "/nonexistent"])
        .run();
    run.expect_code(3);
    let v = run.json();
    assert_eq!(v["error"]["kind"], "unreachable", "{v}");
    assert_eq!(v["error"]["exit_code"], 3, "{v}");
    // The code follows the kind; a code outside 1..=4 does not override it.
    for (map, code) in [
        (r#"#{ kind: "refused", message: "m" }"#, 4),
        (r#"#{ kind: "unreachable", message: "m", exit_code: 0 }"#, 3),
        (r#"#{ kind: "mine", message: "m", exit_code: 1 }"#, 1),
        (r#"#{ kind: "mine", message: "m" }"#, 2),
    ] {
        let run = harun().args(["-e", &format!("exit({map})")]).run();
        run.expect_code(code);
        assert_eq!(run.stderr, "", "{map}: {}", run.stderr);
    }
    // Anything else keeps Rhai's own exit: the run ends with that value.
    let run = harun().args(["-e", "exit(#{ a: 1 }); 2"]).run();
    run.expect_code(0);
    assert!(run.stdout.contains("\"a\": 1"), "{}", run.stdout);
    let run = harun().args(["-e", "exit(); 2"]).run();
    run.expect_code(0);
    assert_eq!(run.stdout, "", "{}", run.stdout);
}

/// `harun doc | head` and friends: a reader that goes away is not an error.
/// The pipe's read end is closed before harun starts, so every write fails
/// with EPIPE; harun must end quietly, not panic with exit 101.
#[test]
fn a_closed_stdout_pipe_is_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let pb = playbook(
        &dir,
        "quiet.rhai",
        "//! A quiet playbook.\n//! @param n=1  a number\nparam(\"n\", 1);\n",
    );
    let journal = dir.path().join("journal.jsonl");
    std::fs::write(
        &journal,
        r#"{"time":"2026-12-07T06:00:00Z","user":"ops","host":"lb1","target":"/run/haproxy/admin.sock","command":"set server bk/s1 state drain","outcome":"sent","reply":""}"#,
    )
    .unwrap();
    let cases: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["doc".into()],
        vec!["doc".into(), "--findings".into()],
        vec!["doc".into(), "--schema".into()],
        vec!["journal".into(), "--journal".into(), journal.clone().into()],
        vec![
            "journal".into(),
            "--json".into(),
            "--journal".into(),
            journal.clone().into(),
        ],
        vec!["list".into()],
        vec!["list".into(), "--json".into()],
        vec![pb.clone().into(), "--help".into()],
        vec![
            "new".into(),
            "fresh".into(),
            "--dir".into(),
            dir.path().join("new").into(),
        ],
    ];
    for args in cases {
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        unsafe { libc::close(fds[0]) };
        use std::os::fd::FromRawFd;
        let writer = unsafe { std::fs::File::from_raw_fd(fds[1]) };
        let out = harun_process()
            .args(&args)
            .current_dir(dir.path())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// A forgotten `;` is shown on the line that lacks it: Rhai reports it at
/// the next statement, a line that looks fine to a tired reader.
#[test]
fn a_missing_semicolon_points_at_the_line_that_lacks_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = playbook(
        &dir,
        "semi.rhai",
        "//! Missing semicolon.\nlet a = 1\n\nlet b = a + 1;\n",
    );
    let run = harun().arg(&p).run();
    run.expect_code(2);
    assert!(run.stderr.contains("semi.rhai:2:10:"), "{}", run.stderr);
    assert!(run.stderr.contains("2 | let a = 1"), "{}", run.stderr);
    let run = harun().arg("check").arg(&p).run();
    run.expect_code(1);
    assert!(run.stdout.contains("semi.rhai:2:10:"), "{}", run.stdout);
    assert!(run.stdout.contains("2 | let a = 1"), "{}", run.stdout);
}

/// `harun lab queus`: a scenario typo is not only "no playbook `queus`".
#[test]
fn a_mistyped_lab_scenario_gets_a_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let run = harun().current_dir(dir.path()).args(["lab", "queus"]).run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("no lab scenario `queus`; did you mean `queues`?"),
        "{}",
        run.stderr
    );
    let run = harun()
        .current_dir(dir.path())
        .args(["lab", "incidnet", "troubleshoot"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("unknown lab scenario `incidnet`; did you mean `incident`?"),
        "{}",
        run.stderr
    );
}

/// A primitive called with the wrong types says what it was given and what
/// it takes, in the words of `harun doc` (not Rust's `&str | ImmutableString`).
#[test]
fn a_wrong_argument_type_names_the_signatures_it_takes() {
    let dir = tempfile::tempdir().unwrap();
    let p = playbook(
        &dir,
        "types.rhai",
        "//! Wrong types.\nlet n = 3;\nset_state(\"bk_app/app1\", n);\n",
    );
    let run = harun().arg(&p).run();
    run.expect_code(2);
    assert!(run.stderr.contains("types.rhai:3:1:"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "`set_state` does not take (String, int): it takes set_state(server: String, state: String), "
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("ImmutableString"), "{}", run.stderr);
    // Rhai's in-place methods return nothing: the call chained on one is
    // told so, at its line.
    let run = harun()
        .args(["-e", "let k = [3, 1, 2]; k.sort().reduce(|s, x| s + x, 0)"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("`reduce` does not take ((), Fn, int)")
            && run
                .stderr
                .contains("(`sort`, `push`, `retain`, `remove`...) returns nothing"),
        "{}",
        run.stderr
    );
}

/// `--json` on a run that stopped: stdout is one report whose `worst`,
/// `error.kind` and `error.exit_code` agree with the exit code, so a bot
/// reading `worst` alone never takes it for a clean run.
#[track_caller]
fn expect_failed_report(run: &Run, code: i32, kind: &str) -> serde_json::Value {
    run.expect_code(code);
    let v = run.json();
    assert_eq!(v["worst"], "error", "{}", run.stdout);
    assert_eq!(v["error"]["kind"], kind, "{}", run.stdout);
    assert_eq!(v["error"]["exit_code"], code, "{}", run.stdout);
    v
}

#[test]
fn json_reports_of_runs_that_stopped_never_say_ok() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("nope.sock");
    let sock = sock.to_str().unwrap();
    let qcheck = playbook(
        &dir,
        "qcheck.rhai",
        "//! Queue check.\nlet rows = stat();\nfinding(\"ok\", \"team.queues\", `${rows.len()} rows`);\n",
    );
    // Connection error (exit 3): the issue's own case.
    let run = harun().args(["-s", sock, "--json"]).arg(&qcheck).run();
    let v = expect_failed_report(&run, 3, "unreachable");
    assert_eq!(v["error"]["line"], 2, "{}", run.stdout);
    // A shipped playbook that reads the socket.
    let run = harun().args(["-s", sock, "--json", "inspect_queues"]).run();
    expect_failed_report(&run, 3, "unreachable");
    // A playbook error (exit 2), after an `ok` finding.
    let thrown = playbook(
        &dir,
        "thrown.rhai",
        "//! Throws.\nfinding(\"ok\", \"team.first\", \"fine so far\");\nthrow \"no way\";\n",
    );
    let run = harun().args(["--json"]).arg(&thrown).run();
    let v = expect_failed_report(&run, 2, "thrown");
    assert_eq!(v["findings"][0]["severity"], "ok", "{}", run.stdout);
    // A Rhai compile error (exit 2).
    let broken = playbook(&dir, "broken.rhai", "//! Broken.\nlet b = (1 + ;\n");
    let run = harun().args(["--json"]).arg(&broken).run();
    expect_failed_report(&run, 2, "syntax");
    // No such playbook: the run never started, the report says so.
    let run = harun().args(["--json", "troubleshooot"]).run();
    let v = expect_failed_report(&run, 2, "playbook");
    assert_eq!(v["playbook"], "troubleshooot", "{}", run.stdout);
    // The human summary agrees: never `OK` over a run that stopped.
    let run = harun().args(["-s", sock]).arg(&thrown).run();
    run.expect_code(2);
    assert!(
        run.stdout
            .contains("ERROR: 1 ok; the run stopped early (thrown)"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_failed_eval_with_json_prints_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("nope.sock");
    let run = harun()
        .args(["-s", sock.to_str().unwrap(), "-e", "info()", "--json"])
        .run();
    let v = expect_failed_report(&run, 3, "unreachable");
    assert_eq!(v["playbook"], "-e", "{}", run.stdout);
    assert!(v.get("value").is_none(), "{}", run.stdout);
    // A run that finished still prints the value alone.
    let run = harun().args(["-e", "1 + 1", "--json"]).run();
    run.expect_code(0);
    assert_eq!(run.json(), 2);
}

/// `-s LAB_SOCKET troubleshoot` without `-c` lints the lab's configuration
/// (the `-f` of the process behind the socket), not /etc/haproxy/haproxy.cfg,
/// and says which files it read and why.
#[test]
fn without_c_troubleshoot_reads_the_configuration_of_the_process_it_talks_to() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let run = harun()
        .socket(&lab, lab.admin_socket())
        .arg("--haproxy-bin")
        .arg(haproxy_bin())
        .troubleshoot_json(&["logs", "system"])
        .run();
    let source = run.finding("config.source");
    assert_eq!(source["severity"], "info", "{source}");
    let cfg = lab.config_path().display().to_string();
    assert!(
        source["title"].as_str().unwrap_or_default().contains(&cfg),
        "{source}"
    );
    assert!(
        source["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("/cmdline"),
        "{source}"
    );
}

#[test]
fn each_subcommand_help_lists_only_the_options_it_uses() {
    let help = |args: &[&str]| {
        let run = harun().args(args).run();
        run.expect_code(0);
        run.stdout.clone()
    };
    for sub in ["check", "new", "doc", "merge", "list"] {
        let text = help(&[sub, "--help"]);
        for opt in [
            "--socket",
            "--serial",
            "--inventory",
            "--dry-run",
            "--param",
        ] {
            assert!(
                !text.contains(opt),
                "`harun {sub} --help` lists {opt}:\n{text}"
            );
        }
    }
    assert!(help(&["check", "--help"]).contains("--json"));
    let journal = help(&["journal", "--help"]);
    assert!(
        journal.contains("--journal") && !journal.contains("--socket"),
        "{journal}"
    );
    // The lab is its own target; a run on it still takes run options.
    let lab = help(&["lab", "--help"]);
    assert!(
        lab.contains("--dry-run") && lab.contains("--config"),
        "{lab}"
    );
    assert!(
        !lab.contains("--socket") && !lab.contains("--serial"),
        "{lab}"
    );
    // The REPL and a playbook run take them all.
    for args in [&["repl", "--help"][..], &["--help"]] {
        let text = help(args);
        for opt in [
            "--socket",
            "--serial",
            "--inventory",
            "--dry-run",
            "--param",
        ] {
            assert!(text.contains(opt), "{args:?} lacks {opt}:\n{text}");
        }
    }
}

#[test]
fn run_options_go_before_or_after_the_subcommand() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let sock = lab.admin_socket().to_str().unwrap().to_string();
    // Before the playbook, before and after `repl` (piped input).
    let run = harun()
        .args(["-s", &sock, "-e", "info().Version.len() > 0"])
        .run();
    run.expect_code(0);
    assert!(run.stdout.contains("true"), "{}", run.stdout);
    for args in [["-s", &sock, "repl"], ["repl", "-s", &sock]] {
        let run = harun().args(args).stdin("servers().len() > 0\n").run();
        run.expect_code(0);
        assert!(run.stdout.contains("true"), "{args:?}: {}", run.stdout);
    }
    // Accepted (and ignored) where they do not apply, as before.
    let run = harun().args(["-s", &sock, "doc", "info"]).run();
    run.expect_code(0);
}
