//! docs/authoring.md's worked example, run as written: its playbook and its
//! test file are cut out of the guide and run against real HAProxy labs.

use crate::harness::*;
use std::path::Path;

/// The fenced block whose first line names `file` (`// file` or `# file`),
/// without that line.
fn block(doc: &str, file: &str) -> String {
    let mut lines = doc.lines();
    while let Some(l) = lines.next() {
        if !l.starts_with("```") {
            continue;
        }
        let Some(first) = lines.next() else { break };
        let named = first
            .strip_prefix("// ")
            .or_else(|| first.strip_prefix("# "));
        if named != Some(file) {
            continue;
        }
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        return body.join("\n") + "\n";
    }
    panic!("docs/authoring.md has no block for {file}");
}

#[test]
fn the_authoring_guide_example_checks_and_passes_its_tests() {
    if !require_haproxy() {
        return;
    }
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/authoring.md"))
            .expect("docs/authoring.md");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("playbooks")).unwrap();
    for f in ["playbooks/capacity.rhai", "playbooks/capacity.test.toml"] {
        std::fs::write(dir.path().join(f), block(&doc, f)).unwrap();
    }
    let run = harun()
        .current_dir(dir.path())
        .args(["check", "playbooks"])
        .run();
    run.expect_code(0);
    assert!(run.stdout.contains("no problems"), "{}", run.stdout);
    let run = harun()
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
        .args(["--haproxy-bin"])
        .arg(haproxy_bin())
        .args(["test", "playbooks"])
        .run();
    run.expect_code(0);
    assert!(run.stdout.contains("3 passed, 0 failed"), "{}", run.stdout);
}
