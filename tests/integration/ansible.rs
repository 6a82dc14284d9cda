//! The worked example of docs/fleet.md: Ansible (ansible-core from PyPI,
//! installed by `scripts/ansible-venv`) runs harun on each host of an
//! inventory with `--json` (examples/ansible/troubleshoot.yml), fetches the
//! reports, and `harun merge` makes one fleet report of them. The hosts
//! are real lab HAProxies on this machine (`ansible_connection=local`).

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use std::path::{Path, PathBuf};

/// ansible-playbook from `HARUN_TEST_ANSIBLE_PLAYBOOK` or the virtualenv
/// `scripts/ansible-venv` makes. With `CI=true` a missing one fails the
/// test (.ci/run installs it); otherwise the test is skipped loudly.
fn ansible_playbook() -> Option<PathBuf> {
    let given = std::env::var_os("HARUN_TEST_ANSIBLE_PLAYBOOK").map(PathBuf::from);
    let venv = std::env::var_os("HARUN_ANSIBLE_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(|c| PathBuf::from(c).join("harun"))
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/harun")))
                .map(|c| c.join("ansible-venv"))
        })
        .map(|v| v.join("bin/ansible-playbook"));
    let found = given.or(venv).filter(|p| p.is_file());
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("ansible-playbook not found but CI=true: run scripts/ansible-venv (or set HARUN_TEST_ANSIBLE_PLAYBOOK)");
        }
        eprintln!("SKIPPED: ansible-playbook not found (scripts/ansible-venv installs ansible-core from PyPI)");
    }
    found
}

#[test]
fn ansible_runs_harun_on_each_host_and_merge_groups_the_findings() {
    let Some(playbook_bin) = ansible_playbook() else {
        return;
    };
    let scenarios = [Scenario::Healthy, Scenario::Healthy, Scenario::Incident];
    let labs: Option<Vec<Lab>> = scenarios.iter().map(|s| lab(*s)).collect();
    let Some(labs) = labs else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let python = playbook_bin.parent().unwrap().join("python");
    let mut inv = String::from("[lb]\n");
    for (i, l) in labs.iter().enumerate() {
        inv.push_str(&format!(
            "lb{} ansible_connection=local harun_socket={} harun_config={}\n",
            i + 1,
            l.admin_socket().display(),
            l.config_path().display()
        ));
    }
    inv.push_str(&format!(
        "[lb:vars]\nansible_python_interpreter={}\n",
        python.display()
    ));
    std::fs::write(dir.path().join("hosts.ini"), inv).unwrap();
    let reports = dir.path().join("reports");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ansible/troubleshoot.yml");
    let extra = serde_json::json!({
        "harun_bin": assert_cmd::cargo::cargo_bin("harun"),
        "harun_reports": reports,
        "harun_args": format!("--haproxy-bin {}", haproxy_bin().display()),
    });
    let out = std::process::Command::new(&playbook_bin)
        .arg("-i")
        .arg(dir.path().join("hosts.ini"))
        .arg(&example)
        .arg("-e")
        .arg(extra.to_string())
        .current_dir(dir.path())
        .env("ANSIBLE_LOCAL_TEMP", dir.path().join("ansible-tmp"))
        .env("ANSIBLE_HOME", dir.path().join("ansible-home"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env_remove("HARUN_SOCKET")
        .env_remove("HARUN_CONFIG")
        .output()
        .expect("ansible-playbook runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "ansible-playbook failed:\n{said}");
    assert!(said.contains("lb1") && said.contains("ok=4"), "{said}");
    let files: Vec<PathBuf> = (1..=3)
        .map(|i| reports.join(format!("lb{i}.json")))
        .collect();
    for f in &files {
        assert!(f.is_file(), "{} not fetched:\n{said}", f.display());
    }
    let merged = harun().arg("merge").args(&files).arg("--json").run();
    let m = merged.json();
    assert_eq!(m["hosts"], serde_json::json!(["lb1", "lb2", "lb3"]), "{m}");
    let group = |id: &str| -> Vec<String> {
        m["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {m}"))["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect()
    };
    // The incident lab's DOWN server is on lb3 alone; what the three
    // configurations share is one group with the three hosts.
    assert_eq!(group("servers.down"), ["lb3"]);
    let shared = m["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["hosts"].as_array().unwrap().len() == 3)
        .unwrap_or_else(|| panic!("no finding on every host: {m}"));
    assert!(
        shared["id"].as_str().unwrap().starts_with("config."),
        "{shared}"
    );
    // Each id once: grouped, not one entry per host.
    let mut ids: Vec<&str> = m["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "{m}");
    // Warnings at worst: exit 0, as each host's own run.
    assert_eq!(m["exit_code"], 0, "{m}");
}
