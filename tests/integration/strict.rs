//! Strict keys and one vocabulary, against the lab's real HAProxy: a typo is
//! an error at its line, and the keys each primitive returns are the ones
//! `harun doc` documents.

use crate::harness::*;
use harun::lab::Scenario;
use harun::script::vocabulary::{self, Shape};
use std::collections::BTreeSet;

fn keys(run: &Run) -> BTreeSet<String> {
    run.json()
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {}", run.stdout))
        .iter()
        .map(|k| k.as_str().expect("key").to_string())
        .collect()
}

fn documented(shape: &Shape) -> BTreeSet<String> {
    shape.keys.iter().map(|k| k.name.to_string()).collect()
}

#[test]
fn a_key_typo_is_an_error_at_its_line_with_the_nearest_keys() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The issue's own case: `op_state` read with a typo used to read `()`
    // and report every server as not running.
    let p = playbook(
        &dir,
        "team.rhai",
        "//! Count servers not running.\nlet down = 0;\nfor s in servers() { if s.op_stat != \"running\" { down += 1; } }\nfinding(\"critical\", \"team.down\", `${down} servers down`);\n",
    );
    let run = harun().lab(&lab).arg(&p).run();
    run.expect_code(2);
    assert!(run.stderr.contains("team.rhai:3:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("no key `op_stat`") && run.stderr.contains("did you mean `op_state`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(" | for s in servers()"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stdout.contains("team.down"),
        "no finding from a wrong read: {}",
        run.stdout
    );

    let p = playbook(
        &dir,
        "stat.rhai",
        "//! Read a stat column.\nfor r in stat() {\n    print(r.svnme);\n}\n",
    );
    let run = harun().lab(&lab).arg(&p).run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("stat.rhai:3:")
            && run
                .stderr
                .contains("no key `svnme` in a `stat()` row; did you mean `svname`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn empty_fields_read_as_unit_and_optional_keys_have_one_way() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    // bk_app/app1 has no maxqueue: `qlimit` exists and is empty.
    let run = harun()
        .lab(&lab)
        .args([
            "--json",
            "-e",
            r#"let r = stat("bk_app").filter(|r| r.server == "app1")[0];
               let s = servers("bk_app")[0];
               [r.qlimit == (), "qlimit" in r, "nope" in r, r.get("nope") == (),
                "nope" in s, s.get("nope") == (), r.backend, r.server, r.frontend == ()]"#,
        ])
        .run();
    run.expect_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!([true, true, false, true, false, true, "bk_app", "app1", true])
    );
}

#[test]
fn a_table_column_that_no_row_has_is_a_typo_not_an_empty_column() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args(["-e", r#"table("servers", servers(), ["name", "op_stat"])"#])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("no row of table `servers` has this key; did you mean `op_state`"),
        "{}",
        run.stderr
    );
    // Rows that differ are fine: a column some rows have prints empty cells.
    let run = harun()
        .lab(&lab)
        .args([
            "--json",
            "-e",
            r#"table("t", [#{a: 1}, #{b: 2}], ["a", "b"])"#,
        ])
        .run();
    run.expect_code(0);
}

#[test]
fn an_unknown_function_names_the_nearest_primitive() {
    let dir = tempfile::tempdir().unwrap();
    let p = playbook(&dir, "f.rhai", "//! Typo.\nlet x = servrs();\n");
    // No socket is needed to fail on the name: the run stops at line 2.
    let run = harun().args(["-s", "/nonexistent.sock"]).arg(&p).run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("f.rhai:2:9: no function `servrs`; did you mean `servers`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn servers_and_stat_rows_carry_the_documented_keys() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args(["--json", "-e", "servers()[0].keys()"])
        .run();
    run.expect_code(0);
    let have = keys(&run);
    let want = documented(&vocabulary::SERVERS_ROW);
    assert!(
        want.is_subset(&have),
        "missing: {:?}",
        want.difference(&have)
    );
    // Everything else is a raw `show servers state` column.
    let raw = socat(&lab, "show servers state");
    let header: BTreeSet<String> = raw
        .lines()
        .find(|l| l.starts_with('#'))
        .expect("header")
        .trim_start_matches('#')
        .split_whitespace()
        .map(String::from)
        .collect();
    for k in have.difference(&want) {
        assert!(header.contains(k), "undocumented key `{k}` on servers()");
    }

    // The derived stat() keys, with their values on a server row.
    let run = harun()
        .lab(&lab)
        .args([
            "--json",
            "-e",
            r#"let r = stat("bk_app").filter(|r| r.kind == "server")[0];
               [r.kind, r.backend == r.pxname, r.server == r.svname, r.frontend, r.target != ()]"#,
        ])
        .run();
    run.expect_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!(["server", true, true, null, true])
    );
    let derived: BTreeSet<String> = ["kind", "backend", "server", "frontend", "target"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(derived, documented(&vocabulary::STAT_ROW));
}

#[test]
fn writes_drains_checks_and_findings_carry_the_documented_keys() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let exact = |expr: &str, shape: &Shape| {
        let run = harun()
            .lab(&lab)
            .args(["--yes", "--json", "-e", expr])
            .run();
        run.expect_code(0);
        assert_eq!(keys(&run), documented(shape), "{expr}");
    };
    exact(
        r#"set_state("bk_app/app1", "drain")[0].keys()"#,
        &vocabulary::WRITE_OUTCOME,
    );
    exact(
        r#"set_state("bk_app/app1", "ready")[0].before.keys()"#,
        &vocabulary::SERVER_SNAPSHOT,
    );
    exact(
        r#"drain("bk_app/app2", #{timeout: 5}).keys()"#,
        &vocabulary::DRAIN_RESULT,
    );
    exact(
        r#"drain("bk_app/app2", #{timeout: 5}).status[0].keys()"#,
        &vocabulary::DRAIN_PROGRESS,
    );
    exact(
        r#"live_check(#{sample: 0}).keys()"#,
        &vocabulary::LIVE_CHECK,
    );
    exact(r#"server_check()[0].keys()"#, &vocabulary::FINDING);
    // The same server reads the same in servers() and a write's `after`.
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "--json",
            "-e",
            r#"let a = set_state("bk_app/app1", "ready")[0].after;
               let s = servers("bk_app").filter(|s| s.name == "bk_app/app1")[0];
               [a.op_state == s.op_state, a.admin_state == s.admin_state, a.weight == s.weight,
                a.drain == s.drain, a.maint == s.maint, a.admin_flags == s.admin_flags]"#,
        ])
        .run();
    run.expect_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!([true, true, true, true, true, true])
    );
}

#[test]
fn doc_groups_overloads_and_lists_the_keys() {
    let run = harun().args(["doc", "set_state"]).run();
    run.expect_code(0);
    // Four overloads, their shared text once.
    assert_eq!(
        run.stdout.matches("set_state(").count(),
        4,
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("drain and maint are refused").count(),
        1,
        "{}",
        run.stdout
    );
    for k in vocabulary::WRITE_OUTCOME.keys {
        assert!(run.stdout.contains(k.meaning), "{} undocumented", k.name);
    }
}

/// The walkthrough's case: the header declares `max`, the code reads
/// `maxx`. Before, the read ran with its default and `-p max=3` was
/// ignored: a wrong fact, silently. No HAProxy needed: refused before any
/// statement runs.
#[test]
fn a_parameter_read_or_passed_under_another_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = playbook(
        &dir,
        "qcheck.rhai",
        "//! Queue check.\n//! @param max=5  most queued requests\nprint(\"started\");\nlet m = param(\"maxx\", 5);\nprint(`max ${m}`);\n",
    );
    for extra in [&[][..], &["-p", "max=3"][..]] {
        let run = harun().arg(&p).args(extra).run();
        run.expect_code(2);
        assert!(
            run.stderr.contains("qcheck.rhai:4:15: this playbook does not declare parameter `maxx` (did you mean `max`?): it declares `max`"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("let m = param(\"maxx\", 5);"),
            "{}",
            run.stderr
        );
        // Refused before the first statement ran.
        assert!(!run.stdout.contains("started"), "{}", run.stdout);
    }
    // `-p maxx=3`: not a parameter it takes; usage error naming the playbook,
    // the unknown name, the declared ones and the nearest.
    let run = harun().arg(&p).args(["-p", "maxx=3", "--json"]).run();
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "qcheck.rhai: unknown parameter `maxx` (did you mean `max`?): it takes `max`"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["error"]["exit_code"], 2);
    // The fixed playbook takes -p max=3 and reads it.
    let fixed = playbook(
        &dir,
        "qfixed.rhai",
        "//! Queue check.\n//! @param max=5  most queued requests\nlet m = param(\"max\", 5);\nprint(`max ${m}`);\n",
    );
    let run = harun().arg(&fixed).args(["-p", "max=3"]).run();
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), "max 3");
}

#[test]
fn a_computed_or_imported_read_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    playbook(&dir, "lib.rhai", "fn limit() { param(\"maxx\", 5) }\n");
    let p = playbook(
        &dir,
        "team.rhai",
        "//! Team.\n//! @param max=5  most\nimport \"lib\" as lib;\nlet k = \"ma\" + \"x\";\nlet a = param(k, 1);\nprint(`${a}`);\nlet b = lib::limit();\n",
    );
    let run = harun().arg(&p).args(["-p", "max=2"]).run();
    run.expect_code(2);
    // The computed name is declared (`max`); the module's read is not.
    assert_eq!(run.stdout.trim(), "2", "{}", run.stderr);
    assert!(
        run.stderr
            .contains("does not declare parameter `maxx` (did you mean `max`?)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("lib"), "{}", run.stderr);
}

#[test]
fn a_header_without_params_takes_none_and_text_without_a_header_takes_what_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let none = playbook(&dir, "none.rhai", "//! Nothing to set.\nprint(\"hi\");\n");
    let run = harun().arg(&none).args(["-p", "x=1"]).run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("none.rhai: unknown parameter `x`: it takes no parameter"),
        "{}",
        run.stderr
    );
    // `-e` declares nothing: a -p must be one it reads.
    let run = harun()
        .args(["-e", "param(\"backend\", \"all\")", "-p", "backend=bk"])
        .run();
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), "bk");
    let run = harun()
        .args(["-e", "param(\"backend\", \"all\")", "-p", "backedn=bk"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "-e: unknown parameter `backedn` (did you mean `backend`?): it reads `backend`"
        ),
        "{}",
        run.stderr
    );
}
