//! The SSH transport: a real sshd on a loopback port (run as the current
//! user, with keys and known_hosts generated in a tempdir) in front of real
//! lab HAProxies; harun reaches their sockets through `ssh://` addresses and
//! inventory hosts, with the system's OpenSSH client.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SSHD: &str = "/usr/sbin/sshd";

/// Whether sshd and ssh are installed. With `CI=true` a missing one fails
/// the test (never a silent skip); locally the test is skipped loudly.
fn require_ssh() -> bool {
    let ok = Path::new(SSHD).exists()
        && Command::new("ssh")
            .arg("-V")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("sshd or ssh is not installed but CI=true: apt-get install openssh-server openssh-client");
        }
        eprintln!(
            "SKIPPED: sshd or ssh not installed (apt-get install openssh-server openssh-client)"
        );
    }
    ok
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn keygen(path: &Path) {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(st.success(), "ssh-keygen {}", path.display());
}

/// A real sshd and the ssh client configuration that reaches it.
struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Sshd {
    fn start() -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("user_key"));
        keygen(&d.join("other_host_key"));
        // A key the ssh configuration does not name: only an inventory's
        // ansible_ssh_private_key_file brings it (for `keyonly`).
        keygen(&d.join("inventory_key"));
        let authorized: String = ["user_key.pub", "inventory_key.pub"]
            .map(|k| std::fs::read_to_string(d.join(k)).unwrap())
            .concat();
        std::fs::write(d.join("authorized_keys"), authorized).unwrap();
        // sshd checks for its privilege separation directory even when it
        // runs unprivileged; as root (CI) it can be made.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\nUsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\nAllowStreamLocalForwarding yes\nMaxSessions 100\nMaxStartups 100\nLogLevel VERBOSE\n",
                d = d.display()
            ),
        )
        .unwrap();
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let other_pub = std::fs::read_to_string(d.join("other_host_key.pub")).unwrap();
        // `changedkey` reaches this sshd but expects another key: a host
        // whose key changed, which ssh must refuse.
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_pub}changedkey {other_pub}"),
        )
        .unwrap();
        std::fs::write(
            d.join("ssh_config"),
            format!(
                "Host changedkey\n  HostName 127.0.0.1\n  HostKeyAlias changedkey\nHost unknownkey\n  HostName 127.0.0.1\n  HostKeyAlias unknownkey\nHost keyonly\n  HostName 127.0.0.1\nHost * !keyonly\n  IdentityFile {d}/user_key\nHost *\n  IdentitiesOnly yes\n  IdentityAgent none\n  UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n",
                d = d.display()
            ),
        )
        .unwrap();
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .arg("-E")
            .arg(d.join("sshd.log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("sshd starts");
        let mut sshd = Sshd { dir, port, child };
        let log = sshd.dir.path().join("sshd.log");
        wait_for("sshd to listen", Duration::from_secs(20), || {
            if let Ok(Some(st)) = sshd.child.try_wait() {
                panic!(
                    "sshd exited ({st}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        sshd
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    fn url(&self, socket: &Path) -> String {
        format!("ssh://127.0.0.1:{}{}", self.port, socket.display())
    }

    /// harun with this sshd's client configuration.
    fn harun(&self) -> Harun {
        harun().arg("--ssh-config").arg(self.config())
    }

    /// An inventory written in this sshd's directory; its path.
    fn inventory(&self, name: &str, text: &str) -> PathBuf {
        write_inventory(self.dir.path(), name, text)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a running process has `needle` in its command line.
fn processes_mentioning(needle: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|c| String::from_utf8_lossy(&c).contains(needle))
}

fn setup(labs: usize) -> Option<(Sshd, Vec<Lab>)> {
    if !require_ssh() {
        return None;
    }
    let labs: Option<Vec<Lab>> = (0..labs).map(|_| lab(Scenario::Healthy)).collect();
    Some((Sshd::start(), labs?))
}

#[test]
fn stat_through_an_ssh_address_is_the_local_sockets() {
    let Some((sshd, labs)) = setup(1) else {
        return;
    };
    let script = "stat().map(|r| r.pxname + \"/\" + r.svname)";
    let local = harun().lab(&labs[0]).args(["--json", "-e", script]).run();
    local.expect_code(0);
    let url = sshd.url(labs[0].admin_socket());
    // harun's private directory of control and forwarded sockets goes
    // under TMPDIR: here, to see that the run leaves neither it nor a master.
    let tmp = sshd.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let remote = sshd
        .harun()
        .env("TMPDIR", &tmp)
        .args(["-s", &url, "--json", "-e", script])
        .run();
    remote.expect_code(0);
    assert_eq!(remote.json(), local.json());
    assert!(!remote.json().as_array().unwrap().is_empty());
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    let tmp_text = tmp.display().to_string();
    wait_for("the ssh master to exit", Duration::from_secs(10), || {
        !processes_mentioning(&tmp_text)
    });
    // The same through HARUN_SSH_CONFIG, with a write: the forward carries
    // the admin level of the socket.
    let run = harun()
        .env("HARUN_SSH_CONFIG", sshd.config())
        .args(["-s", &url, "--yes", "-e"])
        .arg("set_weight(\"bk_app/app1\", 7); 1")
        .run();
    run.expect_code(0);
    assert!(
        socat(&labs[0], "get weight bk_app/app1").starts_with("7 "),
        "{}",
        run.stderr
    );
}

/// harun ends its masters by speaking OpenSSH's multiplexing protocol on
/// the control socket (no `ssh -O exit` process per host): a real master
/// started by the system's ssh must say yes and exit.
#[test]
fn a_master_ends_when_asked_on_its_control_socket() {
    if !require_ssh() {
        return;
    }
    let sshd = Sshd::start();
    let control = sshd.dir.path().join("ctl");
    let st = Command::new("ssh")
        .arg("-F")
        .arg(sshd.config())
        .args(["-o", "BatchMode=yes", "-o", "ControlMaster=yes", "-o"])
        .arg(format!("ControlPath={}", control.display()))
        .args(["-p", &sshd.port.to_string(), "-N", "-f", "--", "127.0.0.1"])
        .stdin(Stdio::null())
        .status()
        .expect("ssh runs");
    assert!(st.success(), "the master logs in");
    let needle = control.display().to_string();
    assert!(processes_mentioning(&needle), "the master runs");
    harun::runtime::ssh::end_master(&control).expect("the master agrees to exit");
    wait_for("the ssh master to exit", Duration::from_secs(10), || {
        !processes_mentioning(&needle)
    });
    // Nothing listens any more: asking again fails, it does not hang.
    assert!(harun::runtime::ssh::end_master(&control).is_err());
}

#[test]
fn ssh_hosts_of_an_inventory_answer_and_fail_one_by_one() {
    let Some((sshd, labs)) = setup(2) else {
        return;
    };
    let port = sshd.port;
    let closed = free_port();
    // A port that accepts and never speaks: ssh waits for a banner.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let gone = sshd.dir.path().join("gone.sock");
    let inv = sshd.inventory(
        "hosts.ini",
        &format!(
            "[lb]\n\
             lb1 ansible_host=127.0.0.1 harun_socket={s1}\n\
             lb2 ansible_host=127.0.0.1 harun_socket={s2}\n\
             down ansible_host=127.0.0.1 harun_socket={gone}\n\
             refused ansible_host=127.0.0.1 ansible_port={closed}\n\
             changed ansible_host=changedkey\n\
             unknown ansible_host=unknownkey\n\
             noauth ansible_user=harun-no-such-user\n\
             silent ansible_host=127.0.0.1 ansible_port={silent_port}\n\
             keyed ansible_host=keyonly ansible_ssh_private_key_file=inventory_key ansible_become=yes\n\
             keyless ansible_host=keyonly\n\
             keygone ansible_host=keyonly ansible_ssh_private_key_file=~/harun-no-such-key\n\
             aliased ansible_ssh_common_args='-o HostKeyAlias=unknownkey'\n\
             [lb:vars]\nansible_port={port}\nansible_host=127.0.0.1\nharun_socket={s1}\n",
            s1 = labs[0].admin_socket().display(),
            s2 = labs[1].admin_socket().display(),
            gone = gone.display(),
        ),
    );
    let script = "let t = stat().map(|r| r.target).reduce(|a, t| if t in a { a } else { a + [t] }, []); t.sort(); t.reduce(|a, x| a + x + \" \", \"\")";
    let run = sshd
        .harun()
        .inventory(&inv)
        .args(["--timeout", "3", "-e", script])
        .run();
    // Rows from the hosts that answer, by host name (`keyed` logged in
    // with the key its inventory line names, relative to the inventory);
    // the others' errors are findings, which make the exit code 1.
    assert_eq!(
        run.stdout.lines().next(),
        Some("keyed lb1 lb2 "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "ansible_become (host keyed) is not used: harun does not switch user on the host"
        ),
        "{}",
        run.stderr
    );
    run.expect_code(1);
    // The others: one error each, naming the host and what failed.
    let out = format!("{}{}", run.stdout, run.stderr);
    for (host, why) in [
        ("down", "cannot be opened through SSH"),
        ("refused", "connection refused"),
        ("changed", "host key verification failed"),
        ("unknown", "host key verification failed"),
        ("noauth", "authentication to harun-no-such-user@127.0.0.1"),
        ("silent", "timed out"),
        ("keyless", "authentication to keyonly"),
        (
            "keygone",
            "harun-no-such-key (ansible_ssh_private_key_file) cannot be read",
        ),
        // The inventory's ssh argument reached ssh.
        ("aliased", "host key verification failed"),
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(&format!("{host} (ssh://")) && l.contains(why));
        assert!(line.is_some(), "no `{why}` for {host}:\n{out}");
    }
    drop(silent);
}

/// How many commands sshd ran (its log at VERBOSE says "Starting session:
/// command" for each; a forward is no session): what went over SSH.
fn commands_run(sshd: &Sshd) -> usize {
    std::fs::read_to_string(sshd.dir.path().join("sshd.log"))
        .unwrap_or_default()
        .matches("Starting session: command")
        .count()
}

/// The ids of a report's findings, with the target of each when asked.
fn ids(report: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = all_findings(report)
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn troubleshoot_over_ssh_reads_the_hosts_files_and_says_the_same() {
    let Some((sshd, labs)) = setup(1) else {
        return;
    };
    let lab = &labs[0];
    // The host's configuration: the lab's, plus a backend whose server has
    // no health check (lint `config.no-health-check`) and a TCP frontend
    // with `option httplog`, which `haproxy -c` warns about (`config.warning`).
    let cfg = sshd.dir.path().join("host.cfg");
    let mut text = std::fs::read_to_string(lab.config_path()).unwrap();
    text.push_str("\nbackend bk_remote_only\n    mode tcp\n    server r1 127.0.0.1:9\n\nfrontend fe_remote_warn\n    bind 127.0.0.1:9\n    mode tcp\n    option httplog\n    default_backend bk_remote_only\n");
    std::fs::write(&cfg, &text).unwrap();
    let common = |h: Harun| h.config(&cfg).troubleshoot_json(&[]);
    let local = common(harun().arg("-s").arg(lab.admin_socket())).run();
    let before = commands_run(&sshd);
    let remote = common(sshd.harun().arg("-s").arg(sshd.url(lab.admin_socket()))).run();
    let (lj, rj) = (local.json(), remote.json());
    assert_eq!(
        remote.code, local.code,
        "{}\n{}",
        local.stderr, remote.stderr
    );
    // The same findings, by id: the host's haproxy -c, lint, logging and
    // system checks gave what they give on the host itself.
    assert_eq!(ids(&rj), ids(&lj), "{}", remote.stderr);
    for id in ["config.no-health-check", "config.warning"] {
        assert!(ids(&rj).contains(&id.to_string()), "{id}: {:?}", ids(&rj));
    }
    // Over SSH: each check ran as a command on the host through sshd.
    let ran = commands_run(&sshd) - before;
    assert!(ran >= 3, "{ran} command(s) over SSH");
    // The configuration's findings name the host (the run's one target).
    let host = sshd.url(lab.admin_socket());
    let f = findings_with(&rj, "config.no-health-check");
    assert!(
        f.iter()
            .all(|f| f["target"].as_str() == Some(host.as_str())),
        "{f:?}"
    );
    assert!(evidence(f[0]).contains("host.cfg"), "{f:?}");
}

#[test]
fn ssh_hosts_checks_go_on_when_one_host_fails() {
    let Some((sshd, labs)) = setup(1) else {
        return;
    };
    let closed = free_port();
    // A generous --timeout: lb1's checks are commands over SSH, slow on a
    // loaded machine; `refused` fails at once whatever the bound.
    let inv = sshd.inventory(
        "hosts.ini",
        &format!(
            "[lb]\nlb1 ansible_port={port}\nrefused ansible_port={closed}\n[lb:vars]\nansible_host=127.0.0.1\nharun_socket={s}\n",
            port = sshd.port,
            s = labs[0].admin_socket().display(),
        ),
    );
    let run = sshd
        .harun()
        .inventory(&inv)
        .config(labs[0].config_path())
        .args(["--timeout", "10", "--json", "-e"])
        .arg("config_lint().map(|f| `${f.target} ${f.id} ${f.evidence}`)")
        .run();
    let lines: Vec<String> = run
        .json()
        .as_array()
        .unwrap_or_else(|| panic!("{}\n{}", run.stdout, run.stderr))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    // lb1's configuration was read and linted there; `refused` is one
    // finding naming it, its login's error as evidence.
    assert!(
        lines.iter().any(|l| l.starts_with("lb1 config.")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("refused config.unreadable") && l.contains("connection refused")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("lb1 config.unreadable")),
        "{lines:?}"
    );
    // One host's facts from several hosts: refused by name, never picked.
    let run = sshd
        .harun()
        .inventory(&inv)
        .args(["--timeout", "10", "-e", "system_check()"])
        .run();
    assert!(run.stderr.contains("lb1, refused"), "{}", run.stderr);
    // Every host's own: lb1 judged on its CPUs, irqbalance and the `show
    // info` of its own socket; `refused` one finding naming it.
    let run = sshd
        .harun()
        .inventory(&inv)
        .args(["--timeout", "10", "--json", "-e"])
        .arg(
            "#{checks: system_checks().map(|h| `${h.target} ${h.check.cpus.online > 0} ${h.check.source}`),
               unread: recorded_findings().filter(|f| f.id == \"system.unreadable\").map(|f| f.target)}",
        )
        .run();
    let all = run.json();
    assert_eq!(
        all["checks"],
        serde_json::json!(["lb1 true show info on lb1"]),
        "{}",
        run.stderr
    );
    assert_eq!(
        all["unread"],
        serde_json::json!(["refused"]),
        "{}",
        run.stderr
    );
    // troubleshoot says so in its summary instead of leaving the host out.
    let run = sshd
        .harun()
        .inventory(&inv)
        .config(labs[0].config_path())
        .args(["--timeout", "3"])
        .troubleshoot(&["logs"])
        .run();
    assert!(
        run.stdout
            .contains("1 host(s) checked, irqbalance running on 0, 1 not read over SSH")
            || run
                .stdout
                .contains("1 host(s) checked, irqbalance running on 1, 1 not read over SSH"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    // The host that cannot be reached is one config.unreadable, though the
    // lint and the logging check both met it.
    let run = sshd
        .harun()
        .inventory(&inv)
        .config(labs[0].config_path())
        .args(["--timeout", "10"])
        .troubleshoot_json(&[])
        .run();
    let report = run.json();
    let unreadable: Vec<_> = findings_with(&report, "config.unreadable")
        .into_iter()
        .filter(|f| f["target"] == "refused")
        .collect();
    assert_eq!(unreadable.len(), 1, "{unreadable:#?}");
}

#[test]
fn a_rolling_drain_over_ssh_stops_at_the_host_whose_haproxy_is_down() {
    let Some((sshd, labs)) = setup(3) else {
        return;
    };
    let d = sshd.dir.path();
    // lb2's HAProxy is down: its socket is gone.
    let gone = d.join("gone.sock");
    let hosts = inventory_hosts(&[labs[0].admin_socket(), &gone, labs[2].admin_socket()], "");
    let inv = sshd.inventory(
        "rolling.ini",
        &format!(
            "[lb]\n{hosts}[lb:vars]\nansible_host=127.0.0.1\nansible_port={}\n",
            sshd.port
        ),
    );
    let journal = d.join("journal.jsonl");
    let run = sshd
        .harun()
        .inventory(&inv)
        .arg("--journal")
        .arg(&journal)
        .args(["--serial", "1", "--yes", "--timeout", "5", "drain_server"])
        .args(["-p", "server=bk_app/app1", "-p", "then=maint"])
        .args(["-p", "timeout=20", "-p", "poll=0.2"])
        .run();
    // The kind of what stopped it: a host that cannot be reached (exit 3).
    run.expect_code(3);
    for line in [
        "rolling change (--serial 1) stopped at group 2 of 3 (lb2):",
        "  done: lb1",
        "  failed: lb2 (the error above)",
        "  never touched: lb3",
    ] {
        assert!(run.stderr.contains(line), "no {line:?} in:\n{}", run.stderr);
    }
    assert!(
        run.stderr.contains("lb2 (ssh://") && run.stderr.contains("cannot be opened through SSH"),
        "{}",
        run.stderr
    );
    // HAProxy's own word: lb1 drained then in maintenance, lb3 untouched.
    assert_eq!(admin_state(&labs[0], "bk_app", "app1") & FMAINT, FMAINT);
    assert_eq!(admin_state(&labs[2], "bk_app", "app1"), 0);
    assert!(status_of(&labs[2], "bk_app", "app1").starts_with("UP"));
    // The journal names each host (not its forwarded socket) and its group.
    // lb2 failed on the drain's first read (`then: maint` looks for a server
    // already parked), before any write: no line; lb3 has none either.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["outcome"] != "sending")
        .collect();
    let seen: Vec<(String, String, String)> = lines
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (s("target"), s("outcome"), s("group"))
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("lb1", "sent", "1/3 of --serial 1"),
        ("lb1", "sent", "1/3 of --serial 1"),
    ]
    .iter()
    .map(|(t, o, g)| (t.to_string(), o.to_string(), g.to_string()))
    .collect();
    assert_eq!(seen, want, "{lines:?}");
}

#[test]
fn a_master_cli_over_ssh_is_its_workers_as_on_the_host() {
    if !require_ssh() {
        return;
    }
    let Some(lab) = lab_with(Scenario::Incident, |b| b.master(true)) else {
        return;
    };
    let sshd = Sshd::start();
    let master = lab.master_socket().expect("master-worker lab");
    let script = r#"let p = processes().map(|p| `${p.role} ${p.pid}`); p.sort();
        let s = stat().map(|r| `${r.target} ${r.pxname}/${r.svname}`); s.sort();
        #{procs: p, rows: s}"#;
    let local = harun()
        .arg("-s")
        .arg(format!("master@{}", master.display()))
        .args(["--json", "-e", script])
        .run();
    local.expect_code(0);
    let url = format!("master@{}", sshd.url(master));
    let remote = sshd
        .harun()
        .args(["-s", &url, "--json", "-e", script])
        .run();
    remote.expect_code(0);
    // The same processes, and each worker's rows under the same worker
    // name, only the master's address differing.
    assert_eq!(remote.json()["procs"], local.json()["procs"]);
    let rows = |run: &Run, prefix: &str| -> Vec<String> {
        run.json()["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().replacen(prefix, "", 1))
            .collect()
    };
    let local_rows = rows(&local, &format!("master@{}", master.display()));
    assert!(
        !local_rows.is_empty() && local_rows[0].starts_with(" (worker "),
        "{local_rows:?}"
    );
    assert_eq!(rows(&remote, &url), local_rows);
    // A write through it reaches the worker, and an inventory host says
    // `master@PATH` for its master CLI: its workers are named by the host.
    let inv = sshd.inventory(
        "master.ini",
        &format!(
            "lb1 ansible_host=127.0.0.1 ansible_port={} harun_socket=master@{}\n",
            sshd.port,
            master.display()
        ),
    );
    let run = sshd
        .harun()
        .inventory(&inv)
        .args([
            "--yes",
            "-e",
            "set_weight(\"bk_app/app1\", 9); targets().map(|t| t.name)",
        ])
        .run();
    run.expect_code(0);
    assert!(run.stdout.contains("lb1 (worker "), "{}", run.stdout);
    assert!(
        socat(&lab, "get weight bk_app/app1").starts_with("9 "),
        "{}",
        run.stderr
    );
}

#[test]
fn an_account_that_runs_no_commands_keeps_its_socket_but_checks_nothing() {
    let Some((sshd, labs)) = setup(1) else {
        return;
    };
    // A forced command (or a nologin shell) answers every command with its
    // own words and exit code; forwarding still works.
    let keys = sshd.dir.path().join("authorized_keys");
    let key = std::fs::read_to_string(&keys).unwrap();
    std::fs::write(
        &keys,
        format!("command=\"echo This account is currently not available.; exit 1\" {key}"),
    )
    .unwrap();
    let url = sshd.url(labs[0].admin_socket());
    let run = sshd.harun().args(["-s", &url, "-e", "stat().len()"]).run();
    run.expect_code(0);
    let run = sshd
        .harun()
        .args(["-s", &url, "--json", "-e"])
        .arg("config_lint().map(|f| `${f.id} ${f.evidence}`)")
        .run();
    let found = run.json().to_string();
    assert!(
        found.contains("config.unreadable") && found.contains("cannot run commands"),
        "{found}\n{}",
        run.stderr
    );
    // Never a verdict from what the forced command printed.
    assert!(!found.contains("config.invalid"), "{found}");
}

#[test]
fn troubleshoot_over_two_hosts_says_a_logging_problem_once_per_host() {
    let Some((sshd, labs)) = setup(1) else {
        return;
    };
    let lab = &labs[0];
    let url = sshd.url(lab.admin_socket());
    // Two check hosts reading the same files: this machine (the local
    // socket) and the SSH host. The lab's configuration has no `log` line.
    let run = sshd
        .harun()
        .arg("-s")
        .arg(lab.admin_socket())
        .args(["-s", &url, "--timeout", "10"])
        .config(lab.config_path())
        .troubleshoot_json(&["system"])
        .run();
    let report = run.json();
    let said = |id: &str| -> Vec<String> {
        let mut hosts: Vec<String> = findings_with(&report, id)
            .iter()
            .map(|f| f["target"].as_str().unwrap_or("localhost").to_string())
            .collect();
        hosts.sort();
        hosts
    };
    // The lint's config.no-log for each host, and not log_check's
    // logs.none for the same missing line as well.
    assert_eq!(
        said("config.no-log"),
        ["localhost", url.as_str()],
        "{}",
        run.stderr
    );
    assert_eq!(said("logs.none"), Vec::<String>::new(), "{report:#}");

    // A configuration the lint finds no logging problem in: log_check()
    // judges each host's logging on its own.
    let cfg = sshd.dir.path().join("logged.cfg");
    let text = std::fs::read_to_string(lab.config_path())
        .unwrap()
        .replacen("global\n", "global\n    log 127.0.0.1:514 local0\n", 1);
    assert!(text.contains("log 127.0.0.1:514"), "{text}");
    std::fs::write(&cfg, text).unwrap();
    let run = sshd
        .harun()
        .arg("-s")
        .arg(lab.admin_socket())
        .args(["-s", &url, "--timeout", "10"])
        .config(&cfg)
        .troubleshoot_json(&["system"])
        .run();
    let report = run.json();
    let logs: BTreeSet<String> = all_findings(&report)
        .iter()
        .filter(|f| f["id"].as_str().unwrap_or_default().starts_with("logs."))
        .map(|f| f["target"].as_str().unwrap_or("localhost").to_string())
        .collect();
    assert_eq!(
        logs,
        BTreeSet::from(["localhost".to_string(), url.clone()]),
        "{report:#}"
    );
    assert!(
        findings_with(&report, "config.no-log").is_empty(),
        "{report:#}"
    );
}

/// `ansible_timeout` (or `ansible_ssh_timeout`) is that host's ssh
/// `ConnectTimeout`, as Ansible passes it; the other hosts keep
/// `--timeout`. Checked on the arguments the system's ssh receives (a
/// wrapper in PATH logs them) and on a host that accepts TCP and never
/// speaks: its login ends at its own timeout, well before `--timeout`.
#[test]
fn ansible_timeout_is_the_hosts_connect_timeout() {
    use std::os::unix::fs::PermissionsExt;
    let Some((sshd, labs)) = setup(1) else {
        return;
    };
    let real_ssh = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v ssh"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let bin = sshd.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = sshd.dir.path().join("ssh-args.log");
    let wrapper = bin.join("ssh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real_ssh.trim()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let inv = sshd.inventory(
        "hosts.ini",
        &format!(
            "[lb]\n\
             lb1 harun_socket={s1}\n\
             silent ansible_port={silent_port} ansible_timeout=1\n\
             [lb:vars]\nansible_port={port}\nansible_host=127.0.0.1\nharun_socket={s1}\n",
            s1 = labs[0].admin_socket().display(),
            port = sshd.port,
        ),
    );
    let started = std::time::Instant::now();
    let run = sshd
        .harun()
        .env("PATH", &path)
        .inventory(&inv)
        .args(["--timeout", "8", "-e", "stat().len() > 0"])
        .run();
    let took = started.elapsed();
    run.expect_code(1);
    assert_eq!(run.stdout.lines().next(), Some("true"), "{}", run.stderr);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(
        out.contains("ConnectTimeout is the host's ansible_timeout, 1 s"),
        "{out}"
    );
    let args = std::fs::read_to_string(&log).unwrap();
    let master_of = |port: u16| {
        args.lines()
            .find(|l| l.contains("ControlMaster=yes") && l.contains(&format!("-p {port} ")))
            .unwrap_or_else(|| panic!("no master for port {port}:\n{args}"))
            .to_string()
    };
    assert!(
        master_of(silent_port).contains("ConnectTimeout=1 "),
        "{args}"
    );
    assert!(master_of(sshd.port).contains("ConnectTimeout=8 "), "{args}");
    // ssh gave up at 1 s: before, the silent host held the run --timeout long.
    assert!(took < Duration::from_secs(7), "{took:?}\n{out}");
    drop(silent);
}
