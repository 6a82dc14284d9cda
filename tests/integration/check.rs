//! `harun check`: the real binary on broken playbooks and on the shipped ones.
//! Nothing here needs HAProxy: check never connects.

use crate::harness::*;
use std::path::Path;

const DRAIN_RACK: &str = r#"//! Drain a rack of servers.
//! @param rack!        servers to drain, comma-separated
//! @param timeout=60   seconds to wait
let rack = param("rack");
let t = param("timout", 60);
for s in rack.split(",") {
    drian(s, #{ timeout: t });
}
let up = servers().fliter(|r| r.backend == "bk_app");
set_state("bk_app/app1");
import "helpers" as h;
"#;

/// A directory of broken team playbooks, as `team/` under a temp dir.
fn broken_team() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let team = dir.path().join("team");
    std::fs::create_dir(&team).unwrap();
    std::fs::write(team.join("drain_rack.rhai"), DRAIN_RACK).unwrap();
    std::fs::write(team.join("no_header.rhai"), "print(stat().len());\n").unwrap();
    std::fs::write(team.join("syntax.rhai"), "//! Broken.\nlet x = (1 + ;\n").unwrap();
    dir
}

const GOLDEN: &str = r#"team/drain_rack.rhai:3:12: warning[unused-param]: parameter `timeout` is declared but never read with `param("timeout")`
  |
3 | //! @param timeout=60   seconds to wait
  |            ^

team/drain_rack.rhai:5:15: error[undeclared-param]: parameter `timout` is not declared in the header; did you mean `timeout`?
  |
5 | let t = param("timout", 60);
  |               ^

team/drain_rack.rhai:7:5: error[unknown-function]: no function `drian`; did you mean `drain`?
  |
7 |     drian(s, #{ timeout: t });
  |     ^

team/drain_rack.rhai:9:20: error[unknown-function]: no method `fliter`; did you mean `filter`?
  |
9 | let up = servers().fliter(|r| r.backend == "bk_app");
  |                    ^

team/drain_rack.rhai:10:1: error[wrong-arity]: `set_state` takes 2 or 3 arguments, not 1
   |
10 | set_state("bk_app/app1");
   | ^
   = help: set_state(server: String, state: String)
           set_state(servers: Array, state: String)
           set_state(server: String, state: String, opts: Map)
           set_state(servers: Array, state: String, opts: Map)

team/drain_rack.rhai:11:8: error[unresolved-import]: import `helpers` does not resolve: no `helpers.rhai` in team, and no shipped playbook of that name
   |
11 | import "helpers" as h;
   |        ^

team/no_header.rhai:1:1: error[missing-description]: no description: a playbook starts with `//! ` and one line saying what it does (`harun list` shows it)
  |
1 | print(stat().len());
  | ^

team/syntax.rhai:2:14: error[syntax]: Unexpected ';'
  |
2 | let x = (1 + ;
  |              ^

8 problems in 3 playbooks (3 checked, 1 warning)
"#;

#[test]
fn check_reports_each_problem_with_file_line_col_and_a_caret() {
    let dir = broken_team();
    let run = harun()
        .current_dir(dir.path())
        .args(["check", "team"])
        .run();
    run.expect_code(1);
    assert_eq!(run.stdout, GOLDEN);
    assert_eq!(run.stderr, "");
}

#[test]
fn check_json_is_one_document_of_problems() {
    let dir = broken_team();
    let run = harun()
        .current_dir(dir.path())
        .args([
            "check",
            "team/drain_rack.rhai",
            "team/syntax.rhai",
            "--json",
        ])
        .run();
    run.expect_code(1);
    let v = run.json();
    assert_eq!(v["checked"], 2);
    assert_eq!(v["unusable"], serde_json::json!([]));
    let problems = v["problems"].as_array().unwrap();
    let rows: Vec<(String, u64, u64, String, String)> = problems
        .iter()
        .map(|p| {
            (
                p["file"].as_str().unwrap().to_string(),
                p["line"].as_u64().unwrap(),
                p["col"].as_u64().unwrap(),
                p["code"].as_str().unwrap().to_string(),
                p["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let f = "team/drain_rack.rhai".to_string();
    let row = |file: &str, l, c, code: &str, sev: &str| {
        (file.to_string(), l, c, code.to_string(), sev.to_string())
    };
    assert_eq!(
        rows,
        vec![
            row(&f, 3, 12, "unused-param", "warning"),
            row(&f, 5, 15, "undeclared-param", "error"),
            row(&f, 7, 5, "unknown-function", "error"),
            row(&f, 9, 20, "unknown-function", "error"),
            row(&f, 10, 1, "wrong-arity", "error"),
            row(&f, 11, 8, "unresolved-import", "error"),
            row("team/syntax.rhai", 2, 14, "syntax", "error"),
        ]
    );
    assert_eq!(problems[1]["suggestion"], "timeout");
    assert_eq!(problems[2]["suggestion"], "drain");
    assert_eq!(
        problems[2]["message"],
        "no function `drian`; did you mean `drain`?"
    );
    assert!(problems[4]["suggestion"]
        .as_str()
        .unwrap()
        .contains("set_state(server: String, state: String)\n"));
    assert_eq!(problems[0]["suggestion"], serde_json::Value::Null);
}

#[test]
fn check_of_the_shipped_playbooks_is_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = harun().current_dir(root).args(["check", "playbooks"]).run();
    run.expect_code(0);
    let n = harun::script::playbooks::SHIPPED.len();
    assert_eq!(run.stdout, format!("{n} playbooks checked, no problems\n"));
    // The default path is ./playbooks.
    let run = harun().current_dir(root).args(["check", "--json"]).run();
    run.expect_code(0);
    let v = run.json();
    assert_eq!(v["checked"], n);
    assert_eq!(v["problems"], serde_json::json!([]));
}

#[test]
fn check_never_connects() {
    // Sockets that do not exist: any attempt to use them would fail (exit 3).
    let dir = tempfile::tempdir().unwrap();
    let p = playbook(
        &dir,
        "q.rhai",
        "//! Queues.\nlet rows = stat();\nprint(info().Version);\ndrain(\"bk/s\", #{});\n",
    );
    let run = harun()
        .env("HARUN_SOCKET", dir.path().join("nope.sock"))
        .args(["-s", "ipv4@127.0.0.1:1", "check"])
        .arg(&p)
        .run();
    run.expect_code(0);
    assert_eq!(run.stdout, "1 playbook checked, no problems\n");
}

#[test]
fn check_unusable_input_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // No ./playbooks here.
    let run = harun().current_dir(dir.path()).arg("check").run();
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "harun: error: playbooks: no such file or directory\n"
    );
    assert_eq!(run.stdout, "");

    let run = harun()
        .arg("check")
        .arg(dir.path().join("missing.rhai"))
        .run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("missing.rhai: no such file or directory"),
        "{}",
        run.stderr
    );

    std::fs::create_dir(dir.path().join("empty")).unwrap();
    std::fs::write(dir.path().join("empty").join("notes.txt"), "x").unwrap();
    let run = harun()
        .current_dir(dir.path())
        .args(["check", "empty"])
        .run();
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "harun: error: empty: no playbook (*.rhai) in this directory\n"
    );

    // A file that is not text: named on stderr, the others still checked.
    let mixed = dir.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    std::fs::write(mixed.join("bin.rhai"), [0xff, 0xfe, 0x00, 0x01]).unwrap();
    std::fs::write(mixed.join("ok.rhai"), "//! Fine.\nprint(1);\n").unwrap();
    std::fs::write(mixed.join("typo.rhai"), "//! Typo.\nprnt(1);\n").unwrap();
    let run = harun()
        .current_dir(dir.path())
        .args(["check", "mixed"])
        .run();
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "harun: error: mixed/bin.rhai: not a text file (invalid UTF-8)\n"
    );
    assert!(
        run.stdout
            .starts_with("mixed/typo.rhai:2:1: error[unknown-function]: no function `prnt`; did you mean `print`?\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .ends_with("1 problem in 1 playbook (2 checked), 1 path unusable (above)\n"),
        "{}",
        run.stdout
    );
    // Only that file: never "no problems".
    let run = harun()
        .current_dir(dir.path())
        .args(["check", "mixed/bin.rhai"])
        .run();
    run.expect_code(2);
    assert_eq!(run.stdout, "0 playbooks checked, 1 path unusable (above)\n");
}

#[test]
fn check_help_has_an_example() {
    let run = harun().args(["check", "--help"]).run();
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("harun check playbooks/drain_server.rhai"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("unknown-function"), "{}", run.stdout);
}

#[test]
fn a_new_playbook_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    harun()
        .current_dir(dir.path())
        .args(["new", "slow_backend"])
        .run()
        .expect_code(0);
    let run = harun().current_dir(dir.path()).arg("check").run();
    run.expect_code(0);
    assert_eq!(run.stdout, "1 playbook checked, no problems\n");
}
