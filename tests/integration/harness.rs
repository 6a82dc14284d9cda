//! Test helpers: start a lab, run the real binary against it.

#![allow(dead_code)]

use harun::lab::{Lab, Scenario};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

mod inventory;
pub use inventory::*;

/// The haproxy binary to use; `HARUN_TEST_HAPROXY` overrides PATH.
pub fn haproxy_bin() -> PathBuf {
    std::env::var_os("HARUN_TEST_HAPROXY")
        .map(PathBuf::from)
        .unwrap_or_else(|| harun::settings::resolve_program(std::path::Path::new("haproxy")))
}

/// The version of the haproxy under test, as `haproxy -v` prints it (`2.6.12-1+deb12u3`),
/// the same string as `show info`'s `Version`. Tests compare with it instead of
/// assuming a major version: the suite runs on every supported HAProxy.
pub fn haproxy_version() -> String {
    let out = std::process::Command::new(haproxy_bin())
        .arg("-v")
        .output()
        .expect("haproxy -v runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("no version in `haproxy -v`: {text}"))
        .to_string()
}

/// Whether the haproxy under test is `major.minor` or newer, for behaviour
/// that differs by version (each branch is then tested on the versions that
/// have it).
pub fn haproxy_at_least(major: u32, minor: u32) -> bool {
    let v = haproxy_version();
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let mut num = || {
        parts
            .next()
            .and_then(|x| x.parse::<u32>().ok())
            .unwrap_or(0)
    };
    (num(), num()) >= (major, minor)
}

/// Whether haproxy runs here. With `CI=true` a missing haproxy fails the test
/// (never a silent skip); locally the test is skipped with a loud note.
pub fn require_haproxy() -> bool {
    let ok = std::process::Command::new(haproxy_bin())
        .arg("-v")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("haproxy is not installed but CI=true: install it (apt-get install haproxy)");
        }
        eprintln!("SKIPPED: haproxy not installed (apt-get install haproxy)");
    }
    ok
}

/// Start a lab, or None (skip) when haproxy is missing outside CI.
pub fn lab(scenario: Scenario) -> Option<Lab> {
    lab_with(scenario, |b| b)
}

/// [`lab`] with more of the builder's options.
pub fn lab_with(
    scenario: Scenario,
    options: impl FnOnce(harun::lab::LabBuilder) -> harun::lab::LabBuilder,
) -> Option<Lab> {
    if !require_haproxy() {
        return None;
    }
    let builder = Lab::builder().haproxy_bin(haproxy_bin()).scenario(scenario);
    Some(options(builder).start().expect("lab starts"))
}

/// A finished run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The ids of the findings in the run's `--json` report, in order.
    pub fn finding_ids(&self) -> Vec<String> {
        let v = self.json();
        all_findings(&v)
            .iter()
            .map(|f| f["id"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The first finding with `id` in the run's `--json` report.
    #[track_caller]
    pub fn finding(&self, id: &str) -> serde_json::Value {
        let v = self.json();
        findings_with(&v, id)
            .first()
            .map(|f| (*f).clone())
            .unwrap_or_else(|| {
                panic!(
                    "no finding {id}\n--- stdout\n{}\n--- stderr\n{}",
                    self.stdout, self.stderr
                )
            })
    }

    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code {} (want {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// The options that point harun at the lab: admin socket, its config, the
/// test haproxy, a private journal.
pub fn lab_args(lab: &Lab) -> Vec<std::ffi::OsString> {
    vec![
        "-s".into(),
        lab.admin_socket().into(),
        "-c".into(),
        lab.config_path().into(),
        "--haproxy-bin".into(),
        haproxy_bin().into(),
        "--journal".into(),
        lab.dir().join("journal.jsonl").into(),
    ]
}

/// The real binary as a plain process, for runs that go on in the
/// background or in a pseudo-terminal while the test acts.
pub fn harun_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("harun"));
    cmd.env_remove("HARUN_SOCKET")
        .env_remove("HARUN_CONFIG")
        .env_remove("HARUN_PLAYBOOK_PATH")
        .env("NO_COLOR", "1");
    cmd
}

/// The harun binary running `playbook` against the lab, unattended
/// (`--yes`), journaling to the lab's `journal.jsonl`: to be killed or
/// raced by a test while it writes.
pub fn spawn_playbook(
    lab: &Lab,
    playbook: &std::path::Path,
    output: fn() -> std::process::Stdio,
) -> std::process::Child {
    harun_process()
        .arg("-s")
        .arg(lab.admin_socket())
        .arg("--journal")
        .arg(lab.dir().join("journal.jsonl"))
        .arg("--yes")
        .arg(playbook)
        .stdout(output())
        .stderr(output())
        .spawn()
        .expect("harun starts")
}

/// How many lines the lab's journal holds now (0 before the first write).
pub fn journal_line_count(lab: &Lab) -> usize {
    std::fs::read_to_string(lab.dir().join("journal.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// A fluent builder around the real binary.
pub struct Harun {
    cmd: assert_cmd::Command,
}

pub fn harun() -> Harun {
    let mut cmd = assert_cmd::Command::cargo_bin("harun").expect("harun binary");
    cmd.env_remove("HARUN_SOCKET")
        .env_remove("HARUN_CONFIG")
        .env_remove("HARUN_PLAYBOOK_PATH")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(120));
    Harun { cmd }
}

impl Harun {
    /// Point at the lab: see [`lab_args`].
    pub fn lab(mut self, lab: &Lab) -> Harun {
        self.cmd.args(lab_args(lab));
        self
    }

    /// Another socket of (or in front of) the lab, with the lab's journal.
    pub fn socket(mut self, lab: &Lab, socket: impl AsRef<std::ffi::OsStr>) -> Harun {
        self.cmd
            .arg("-s")
            .arg(socket)
            .arg("--journal")
            .arg(lab.dir().join("journal.jsonl"));
        self
    }

    /// An Ansible inventory (`-i`).
    pub fn inventory(mut self, path: &Path) -> Harun {
        self.cmd.arg("-i").arg(path);
        self
    }

    /// The configuration the checks read (`-c`), judged by the haproxy
    /// under test.
    pub fn config(mut self, path: &Path) -> Harun {
        self.cmd
            .arg("-c")
            .arg(path)
            .arg("--haproxy-bin")
            .arg(haproxy_bin());
        self
    }

    /// `troubleshoot` without its sampling wait, skipping the families in
    /// `skip` (none when empty).
    pub fn troubleshoot(mut self, skip: &[&str]) -> Harun {
        self.cmd.args(["troubleshoot", "-p", "sample=0"]);
        if !skip.is_empty() {
            self.cmd.arg("-p").arg(format!("skip={}", skip.join(",")));
        }
        self
    }

    /// [`Harun::troubleshoot`] with its `--json` report.
    pub fn troubleshoot_json(self, skip: &[&str]) -> Harun {
        self.troubleshoot(skip).arg("--json")
    }

    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Harun {
        self.cmd.arg(a);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Harun
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Harun {
        self.cmd.env(k, v);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Harun {
        self.cmd.current_dir(dir);
        self
    }

    pub fn stdin(mut self, input: &str) -> Harun {
        self.cmd.write_stdin(input.to_string());
        self
    }

    pub fn run(mut self) -> Run {
        Run::from(self.cmd.output().expect("harun runs"))
    }
}

/// Put a server in maintenance through harun, even the last UP one of its
/// backend (`bk_api/api1` in the incident lab: bk_api then answers 503).
pub fn force_maint(lab: &Lab, server: &str) {
    let script = format!(r#"set_state("{server}", "maint"); 1"#);
    harun()
        .lab(lab)
        .args(["--yes", "--force", "-e", &script])
        .run()
        .expect_code(0);
}

/// harun aimed at an HAProxy that is gone: a socket nothing listens on, and a
/// configuration (in `dir`) that logs to 127.0.0.1:514.
pub fn dead_haproxy(dir: &tempfile::TempDir) -> Harun {
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, "global\n    log 127.0.0.1:514 local0\n").unwrap();
    harun()
        .arg("-s")
        .arg(dir.path().join("gone.sock"))
        .arg("-c")
        .arg(&cfg)
        .arg("--haproxy-bin")
        .arg(haproxy_bin())
}

/// Write a playbook into a temp dir and return its path (dir kept alive by the caller).
pub fn playbook(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).expect("write playbook");
    p
}

/// Raw command to the lab over its admin socket (test-side verification,
/// independent of harun's own client).
pub fn socat(lab: &Lab, cmd: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(lab.admin_socket()).expect("connect");
    s.write_all(format!("{cmd}\n").as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

/// A server's `status` column from `show stat`.
pub fn status_of(lab: &Lab, backend: &str, server: &str) -> String {
    stat_column(lab, backend, server, "status")
}

/// One column of one `show stat` row (`svname` may be `BACKEND`), read with
/// socat, not harun.
pub fn stat_column(lab: &Lab, backend: &str, server: &str, column: &str) -> String {
    let stat = socat(lab, "show stat");
    let header: Vec<&str> = stat
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let idx = header
        .iter()
        .position(|c| *c == column)
        .unwrap_or_else(|| panic!("no {column} column in show stat"));
    for line in stat.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.first() == Some(&backend) && f.get(1) == Some(&server) {
            return f.get(idx).unwrap_or(&"").to_string();
        }
    }
    panic!("{backend}/{server} not in show stat");
}

/// `show servers state` (of `backend`, or of every backend) read with
/// socat, not harun: one map per server, by column name.
pub fn servers_state_rows(
    lab: &Lab,
    backend: Option<&str>,
) -> Vec<std::collections::HashMap<String, String>> {
    let text = match backend {
        Some(b) => socat(lab, &format!("show servers state {b}")),
        None => socat(lab, "show servers state"),
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    lines.next(); // the format version
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_else(|| panic!("no header in show servers state:\n{text}"))
        .trim_start_matches('#')
        .split_whitespace()
        .collect();
    lines
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            header
                .iter()
                .zip(l.split_whitespace())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// `srv_admin_state` (decimal bit mask) from `show servers state`.
pub fn admin_state(lab: &Lab, backend: &str, server: &str) -> u32 {
    servers_state_rows(lab, Some(backend))
        .iter()
        .find(|r| r["srv_name"] == server)
        .unwrap_or_else(|| panic!("{backend}/{server} not in show servers state"))
        ["srv_admin_state"]
        .parse()
        .unwrap()
}

pub const FMAINT: u32 = 0x01;
pub const FDRAIN: u32 = 0x08;

/// Every line of the lab's journal, as written: a write's intent line
/// (`outcome: "sending"`) and, once HAProxy answered, its outcome line with
/// the same `id`.
pub fn journal_raw_lines(lab: &Lab) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(lab.dir().join("journal.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("torn journal line {l:?}: {e}")))
        .collect()
}

/// The lab's journal as `harun journal` shows it: each intent folded into
/// its outcome (an intent stays only when no outcome followed it).
pub fn journal_lines(lab: &Lab) -> Vec<serde_json::Value> {
    let raw = journal_raw_lines(lab);
    let answered: std::collections::HashSet<String> = raw
        .iter()
        .filter(|e| e["outcome"] != "sending")
        .filter_map(|e| e["id"].as_str().map(String::from))
        .collect();
    raw.into_iter()
        .filter(|e| {
            e["outcome"] != "sending" || !e["id"].as_str().is_some_and(|id| answered.contains(id))
        })
        .collect()
}

/// Run `script` with `--yes` against the lab: refused (exit 4), saying `why`.
pub fn expect_refused(lab: &Lab, script: &str, why: &str) {
    let run = harun().lab(lab).args(["--yes", "-e", script]).run();
    run.expect_code(4);
    assert!(run.stderr.contains(why), "{script}: {}", run.stderr);
}

/// The findings of a `--json` report.
pub fn all_findings(report: &serde_json::Value) -> &[serde_json::Value] {
    report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings array: {report}"))
}

/// The findings of a `--json` report with `id`.
pub fn findings_with<'a>(report: &'a serde_json::Value, id: &str) -> Vec<&'a serde_json::Value> {
    all_findings(report)
        .iter()
        .filter(|f| f["id"] == id)
        .collect()
}

/// A finding's evidence lines, joined by newlines.
pub fn evidence(finding: &serde_json::Value) -> String {
    finding["evidence"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(serde_json::Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Shut down every CLI session of the lab's HAProxy but the one asking
/// (`shutdown session`), and wait until they are gone: a session HAProxy
/// closed, on demand (`stats timeout` does not fire reliably on 2.6).
pub fn shutdown_cli_sessions(lab: &Lab) {
    let cli = |sess: &str| sess.lines().filter(|l| l.contains("fe=GLOBAL")).count();
    let sess = socat(lab, "show sess");
    assert!(cli(&sess) >= 2, "another CLI session is listed: {sess}");
    for id in sess
        .lines()
        .filter(|l| l.contains("fe=GLOBAL"))
        .filter_map(|l| l.split(':').next())
    {
        socat(lab, &format!("shutdown session {id}"));
    }
    let gone = (0..40).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        cli(&socat(lab, "show sess")) == 1
    });
    assert!(
        gone,
        "the sessions were shut down: {}",
        socat(lab, "show sess")
    );
}

/// Wait (bounded) until `f` holds.
pub fn wait_for(what: &str, limit: std::time::Duration, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Raw command to a master-worker lab's master CLI (test-side verification).
/// The master answers once the client has finished writing.
pub fn master_cli(lab: &Lab, cmd: &str) -> String {
    try_master_cli(lab, cmd).expect("the master CLI answers")
}

/// [`master_cli`], or None while the master re-executes itself (a reload).
pub fn try_master_cli(lab: &Lab, cmd: &str) -> Option<String> {
    use std::io::{Read, Write};
    let path = lab.master_socket().expect("a master-worker lab");
    let mut s = std::os::unix::net::UnixStream::connect(path).ok()?;
    s.write_all(format!("{cmd}\n").as_bytes()).ok()?;
    s.shutdown(std::net::Shutdown::Write).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}
