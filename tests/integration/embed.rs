//! The embedding API against the lab, as `examples/embed.rs` uses it.

use crate::harness::*;
use harun::lab::Scenario;
use harun::Runner;

/// A runner pointed at the lab, as an embedder writes it.
fn lab_runner(lab: &harun::lab::Lab) -> harun::RunnerBuilder {
    Runner::builder()
        .socket(&lab.admin_socket().display().to_string())
        .unwrap()
        .config_path(lab.config_path())
        .haproxy_bin(haproxy_bin())
}

#[test]
fn a_library_user_gets_a_structured_report() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let runner = lab_runner(&lab).param("backend", "bk_api").build().unwrap();
    let report = runner.run_source(
        "embedded",
        r#"
        let down = stat(param("backend")).filter(|r| r.kind == "server" && r.status == "DOWN");
        for r in down {
            finding("error", "servers.down", `${r.pxname}/${r.svname} is DOWN`, #{ evidence: r.check_status });
        }
        table("servers", stat(param("backend")), ["pxname", "svname", "status"]);
        down.len()
        "#,
        None,
    );
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].title, "bk_api/api2 is DOWN");
    assert_eq!(report.worst, harun::Severity::Error);
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.tables[0].rows.len(), 3);
    assert!(report.targets[0].address.ends_with("admin.sock"));

    // Errors inside a playbook come back in the report, with their position.
    let report = runner.run_source("bad.rhai", "let x = 1;\nservers(\"no;such\")", None);
    let e = report.error.clone().expect("error");
    assert_eq!(e.kind, "invalid_input");
    assert_eq!(e.line, Some(2));
    assert_eq!(report.exit_code(), 2);
}

#[test]
fn runs_from_async_code_through_spawn_blocking() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let sock = lab.admin_socket().display().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let n = rt.block_on(async move {
        tokio::task::spawn_blocking(move || {
            let runner = Runner::builder().socket(&sock).unwrap().build().unwrap();
            runner.eval("stat().len()").value
        })
        .await
        .unwrap()
    });
    assert!(n.unwrap().as_i64().unwrap() >= 10);
}

#[test]
fn the_embedding_api_runs_troubleshoot() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let runner = lab_runner(&lab).read_only(true).build().unwrap();
    let report = runner.run_playbook("troubleshoot").unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.worst, harun::Severity::Warning);
    let ranked = report.ranked_findings();
    assert!(ranked.windows(2).all(|w| w[0].severity >= w[1].severity));
    assert!(ranked.iter().any(|f| f.id == "servers.down"));
    assert!(report.writes.is_empty(), "troubleshoot never writes");
}
