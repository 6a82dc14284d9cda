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
