//! Team playbooks: `harun new`, `harun test`, the search path and the
//! shipped playbooks' own tests, with the real binary and real HAProxy labs.

use crate::harness::*;
use std::path::Path;

/// harun in `dir`, with no config dir of the machine's user in its search path.
fn team(dir: &Path) -> Harun {
    harun()
        .current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg"))
        .arg("--haproxy-bin")
        .arg(haproxy_bin())
}

#[test]
fn a_new_playbook_and_its_test_pass_as_written() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = team(dir.path()).args(["new", "team_rot"]).run();
    run.expect_code(0);
    assert!(dir.path().join("playbooks/team_rot.rhai").is_file());
    assert!(dir.path().join("playbooks/team_rot.test.toml").is_file());
    let run = team(dir.path()).arg("test").run();
    run.expect_code(0);
    assert_eq!(
        run.stdout.matches("\nok  ").count() + usize::from(run.stdout.starts_with("ok  ")),
        2,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("2 passed, 0 failed"), "{}", run.stdout);
    // Twice is refused, and a shipped name never.
    team(dir.path())
        .args(["new", "team_rot"])
        .run()
        .expect_code(2);
    let run = team(dir.path()).args(["new", "troubleshoot"]).run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("is a shipped playbook"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failing_test_says_what_differs_and_exits_1() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    team(dir.path()).args(["new", "rot"]).run().expect_code(0);
    let t = dir.path().join("playbooks/rot.test.toml");
    let text = std::fs::read_to_string(&t).unwrap().replace(
        r#"where = { name = "bk_api/api2", op_state = "stopped" }"#,
        r#"where = { name = "bk_api/api2", op_state = "running" }"#,
    );
    std::fs::write(&t, text + "\n[[test]]\nname = \"wrong\"\nagainst = \"lab:healthy\"\nfindings = [\"rot.out-of-rotation\"]\n")
        .unwrap();
    let run = team(dir.path()).args(["test", "--json"]).run();
    run.expect_code(1);
    let v = run.json();
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
    let tests = v["tests"].as_array().unwrap();
    let f0 = tests[0]["failures"][0].as_str().unwrap();
    assert!(
        f0.contains("no row of table `out of rotation` where name = \"bk_api/api2\", op_state = \"running\""),
        "{f0}"
    );
    let f2 = tests[2]["failures"][0].as_str().unwrap();
    assert!(
        f2.starts_with("missing finding `rot.out-of-rotation`"),
        "{f2}"
    );
    assert_eq!(tests[2]["line"], 24);
}

#[test]
fn a_broken_test_file_is_unusable_input_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("playbooks")).unwrap();
    std::fs::write(dir.path().join("playbooks/x.rhai"), "//! X.\n").unwrap();
    std::fs::write(
        dir.path().join("playbooks/x.test.toml"),
        "[[test]]\nname = \"a\"\n\n[[test]]\nname = \"b\"\nagainst = \"lab:nowhere\"\n",
    )
    .unwrap();
    let run = team(dir.path()).arg("test").run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("playbooks/x.test.toml:4: test `b`: unknown lab scenario `nowhere`"),
        "{}",
        run.stderr
    );
    std::fs::write(
        dir.path().join("playbooks/x.test.toml"),
        "[[test]]\nname = \"a\"\nexpect = 3\n",
    )
    .unwrap();
    let run = team(dir.path()).arg("test").run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("playbooks/x.test.toml:3:"),
        "{}",
        run.stderr
    );
    let run = team(dir.path()).args(["test", "nowhere"]).run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("nowhere: no such file or directory"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_shipped_playbooks_pass_their_own_tests() {
    if !require_haproxy() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = team(root).args(["test", "playbooks"]).run();
    run.expect_code(0);
    assert!(run.stdout.contains(" 0 failed"), "{}", run.stdout);
}

#[test]
fn team_playbooks_come_from_the_search_path_and_never_shadow_a_shipped_one() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("team_x.rhai"), "//! Team X check.\nprint(1);\n").unwrap();
    std::fs::create_dir_all(dir.path().join("playbooks")).unwrap();
    std::fs::write(
        dir.path().join("playbooks/troubleshoot.rhai"),
        "//! Our own troubleshoot.\nprint(1);\n",
    )
    .unwrap();

    let run = team(dir.path())
        .env("HARUN_PLAYBOOK_PATH", &shared)
        .args(["team_x", "--help"])
        .run();
    run.expect_code(0);
    assert!(run.stdout.contains("Team X check."), "{}", run.stdout);

    let run = team(dir.path())
        .env("HARUN_PLAYBOOK_PATH", &shared)
        .args(["list", "--json"])
        .run();
    run.expect_code(0);
    let v = run.json();
    let origin = |name: &str| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|d| d["name"] == name)
            .map(|d| {
                (
                    d["origin"].as_str().unwrap().to_string(),
                    d["note"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        origin("team_x")[0].0,
        shared.join("team_x.rhai").display().to_string()
    );
    let ts = origin("troubleshoot");
    assert_eq!(ts.len(), 2, "{ts:?}");
    assert!(
        ts[1].1.contains("same name as a shipped playbook"),
        "{ts:?}"
    );

    // Running it by name is an error that says how to run each.
    let run = team(dir.path())
        .args(["-s", "/nonexistent.sock", "troubleshoot"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("harun playbooks/troubleshoot.rhai")
            && run.stderr.contains("harun shipped:troubleshoot"),
        "{}",
        run.stderr
    );
    let run = team(dir.path())
        .args(["shipped:troubleshoot", "--help"])
        .run();
    run.expect_code(0);
    assert!(run.stdout.contains("troubleshoot"), "{}", run.stdout);
}

#[test]
fn a_test_rehearses_on_the_teams_own_configuration() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let prod = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs/lab/prod.cfg");
    std::fs::create_dir(dir.path().join("playbooks")).unwrap();
    std::fs::write(
        dir.path().join("playbooks/prod.test.toml"),
        format!(
            r#"[[test]]
name = "troubleshoot sees the server we start DOWN on prod's own backends"
playbook = "troubleshoot"
against = "config:{prod}"
down = ["bk_app/app2"]
params = {{ sample = 0 }}
findings = ["servers.down"]
exit = 0

[[test]]
name = "the drain rehearsal on prod's bk_app"
playbook = "drain_server"
against = "config:{prod}"
params = {{ server = "bk_app/app1", timeout = 10 }}
exit = 0
findings = ["drain.done:ok"]

[[test]]
name = "an unknown server to start DOWN is the test's failure, with its name"
playbook = "troubleshoot"
against = "config:{prod}"
down = ["bk_app/nope"]
"#,
            prod = prod.display()
        ),
    )
    .unwrap();
    let run = team(dir.path()).args(["test", "--json"]).run();
    let v = run.json();
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests[0]["passed"], true, "{v:#}");
    assert_eq!(tests[1]["passed"], true, "{v:#}");
    assert_eq!(tests[2]["passed"], false, "{v:#}");
    assert!(
        tests[2]["failures"][0]
            .as_str()
            .unwrap()
            .contains("bk_app/nope"),
        "{v:#}"
    );
    run.expect_code(1);
}

#[test]
fn a_stuck_playbook_fails_its_test_at_the_bound_and_the_next_test_runs() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("playbooks");
    std::fs::create_dir(&pb).unwrap();
    std::fs::write(pb.join("nap.rhai"), "//! Naps.\nsleep(30);\n").unwrap();
    std::fs::write(
        pb.join("nap.test.toml"),
        "[[test]]\nname = \"naps\"\nagainst = \"lab:healthy\"\n\n[[test]]\nname = \"naps again\"\nagainst = \"lab:healthy\"\n",
    )
    .unwrap();
    let t = std::time::Instant::now();
    let run = team(dir.path()).args(["test", "--max-time", "1"]).run();
    run.expect_code(1);
    assert_eq!(
        run.stdout.matches("run exceeded --max-time of 1s").count(),
        2,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("0 passed, 2 failed"), "{}", run.stdout);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(25),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn a_test_naming_an_id_its_playbook_never_reports_fails_before_any_lab() {
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("playbooks");
    std::fs::create_dir(&pb).unwrap();
    std::fs::write(
        pb.join("cap.rhai"),
        "//! Capacity.\nif servers().len() > 100 { finding(\"warning\", \"cap.low\", \"low\"); }\n",
    )
    .unwrap();
    // `absent` with a typo would pass whatever the playbook does.
    std::fs::write(
        pb.join("cap.test.toml"),
        "[[test]]\nname = \"quiet on a healthy lab\"\nagainst = \"lab:healthy\"\nabsent = [\"cap.lwo\", \"servers.down\"]\n",
    )
    .unwrap();
    let run = team(dir.path()).arg("test").run();
    run.expect_code(1);
    assert!(
        run.stdout
            .contains("absent names `cap.lwo`, an id playbooks/cap.rhai never reports")
            && run.stdout.contains("did you mean `cap.low`?"),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("starting haproxy"), "{}", run.stderr);
}
