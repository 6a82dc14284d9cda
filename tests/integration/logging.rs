//! Logging, both sides: rsyslog fixtures through the binary, and a real
//! HAProxy logging to harun's UDP listener while the lab sends traffic.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

fn log_lab(addr: &str) -> Option<Lab> {
    lab_with(Scenario::Healthy, |b| b.log_to(addr))
}

/// Run harun in a thread; meanwhile call `poke` every 300 ms until it ends
/// (so nothing depends on how fast the binary starts and binds).
fn run_while(h: Harun, mut poke: impl FnMut()) -> Run {
    let t: JoinHandle<Run> = std::thread::spawn(move || h.run());
    let start = Instant::now();
    while !t.is_finished() {
        assert!(start.elapsed() < Duration::from_secs(120), "harun hangs");
        std::thread::sleep(Duration::from_millis(300));
        poke();
    }
    t.join().unwrap()
}

fn empty_rsyslog(dir: &Path) -> (PathBuf, PathBuf) {
    let conf = dir.join("rsyslog.conf");
    std::fs::write(&conf, "").unwrap();
    let d = dir.join("rsyslog.d");
    std::fs::create_dir_all(&d).unwrap();
    (conf, d)
}

#[test]
fn listen_logs_parses_real_haproxy_http_logs() {
    let addr = format!("127.0.0.1:{}", free_udp_port());
    let Some(lab) = log_lab(&addr) else { return };
    let h = harun().args(["--json", "-e", &format!(r#"listen_logs("{addr}", 4, 50)"#)]);
    let run = run_while(h, || {
        let _ = lab.get("/", None);
    });
    run.expect_code(0);
    let v = run.json();
    let msgs = v.as_array().unwrap_or_else(|| panic!("{v}"));
    let http: Vec<&serde_json::Value> = msgs
        .iter()
        .filter_map(|m| m.get("http"))
        .filter(|h| h["frontend"] == "fe_main")
        .collect();
    assert!(!http.is_empty(), "no httplog line from fe_main: {v}");
    let h = http[0];
    assert_eq!(h["backend"], "bk_app", "{h}");
    assert!(h["server"].as_str().unwrap().starts_with("app"), "{h}");
    assert_eq!(h["status"], 200, "{h}");
    for t in [
        "t_request",
        "t_queue",
        "t_connect",
        "t_response",
        "t_active",
    ] {
        assert!(h[t].as_i64().unwrap() >= 0, "{t}: {h}");
    }
    assert_eq!(h["termination_state"].as_str().unwrap().len(), 4, "{h}");
    assert_eq!(h["method"], "GET");
    let m = msgs.iter().find(|m| m.get("http").is_some()).unwrap();
    assert_eq!(m["facility_name"], "local0", "{m}");
    assert_eq!(m["tag"], "haproxy", "{m}");
}

#[test]
fn enable_logs_verify_proves_logs_flow() {
    let addr = format!("127.0.0.1:{}", free_udp_port());
    let Some(lab) = log_lab(&addr) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (conf, d) = empty_rsyslog(dir.path());
    let h = harun()
        .arg("enable_logs")
        .arg("-c")
        .arg(lab.config_path())
        .arg("--rsyslog-conf")
        .arg(&conf)
        .arg("--rsyslog-dir")
        .arg(&d)
        .args(["-p", "verify=true", "-p", "seconds=3"])
        .arg("-p")
        .arg(format!("listen={addr}"))
        .arg("--json");
    let run = run_while(h, || {
        let _ = lab.get("/", None);
    });
    run.expect_code(0);
    let v = run.json();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"logs.flowing"), "{v}");
    // The empty rsyslog side is diagnosed too (HAProxy sends to local UDP).
    assert!(ids.contains(&"logs.no-udp-input"), "{ids:?}");
    let table = &v["tables"][0];
    assert!(table.to_string().contains("fe_main"), "{table}");

    // system_check() reads Nbthread/Nbproc from the live process when a socket answers.
    let run = harun()
        .lab(&lab)
        .args(["--json", "-e", "system_check()"])
        .run();
    run.expect_code(0);
    let v = run.json();
    assert!(
        v["source"].as_str().unwrap().starts_with("show info"),
        "{v}"
    );
    assert!(v["nbthread"].as_i64().unwrap() >= 1, "{v}");
    assert!(v["cpus"]["online"].as_i64().unwrap() >= 1, "{v}");
}

#[test]
fn junk_flood_is_bounded_and_returns_in_time() {
    let port = free_udp_port();
    let addr = format!("127.0.0.1:{port}");
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let h = harun().args([
        "--json",
        "-e",
        &format!(r#"collect_logs("{addr}", 3, 100)"#),
    ]);
    let junk: Vec<u8> = (0..1400u32).map(|i| (i * 7 % 256) as u8).collect();
    let started = Instant::now();
    let run = run_while(h, || {
        for i in 0..2000 {
            let _ = sender.send_to(&junk, &addr);
            if i % 10 == 0 {
                let _ = sender.send_to(b"<134>Nov 23 19:23:03 haproxy[1]: hello", &addr);
            }
        }
    });
    assert!(started.elapsed() < Duration::from_secs(60));
    run.expect_code(0);
    let v = run.json();
    let n = v["messages"].as_array().unwrap().len();
    assert!(n <= 100, "{n} messages returned, max was 100");
    assert!(v["junk"].as_i64().unwrap() > 0, "{}", v["junk"]);
    assert!(v["junk_sample"].as_array().unwrap().len() <= 16);
}

#[test]
fn listen_logs_stops_at_max_time() {
    let addr = format!("127.0.0.1:{}", free_udp_port());
    let start = Instant::now();
    let run = harun()
        .args(["--max-time", "1", "-e"])
        .arg(format!(r#"listen_logs("{addr}", 600)"#))
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("max-time"), "{}", run.stderr);
    assert!(start.elapsed() < Duration::from_secs(30));
    // A bad address is a clear, catchable error.
    let run = harun()
        .args(["--json", "-e"])
        .arg(r#"let k = ""; try { listen_logs("nowhere", 1); } catch (e) { k = e.kind; } k"#)
        .run();
    run.expect_code(0);
    assert_eq!(run.json(), "invalid_address");
}

fn log_check(cfg_text: &str, rsyslog_conf: &str, dropins: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, cfg_text).unwrap();
    let d = dir.path().join("rsyslog.d");
    std::fs::create_dir(&d).unwrap();
    let conf = dir.path().join("rsyslog.conf");
    let sub = |s: &str| s.replace("@DIR@", &d.display().to_string());
    std::fs::write(&conf, sub(rsyslog_conf)).unwrap();
    for (name, text) in dropins {
        std::fs::write(d.join(name), sub(text)).unwrap();
    }
    let run = harun()
        .arg("-c")
        .arg(&cfg)
        .arg("--rsyslog-conf")
        .arg(&conf)
        .arg("--rsyslog-dir")
        .arg(&d)
        .args([
            "--json",
            "-e",
            "let s = log_setup(); log_check().map(|f| f.id) + s.rsyslog.notes",
        ])
        .run();
    run.expect_code(0);
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

const UDP_CFG: &str = "global\n    log 127.0.0.1:514 local0\ndefaults\n    mode http\n    log global\n    option httplog\n";

#[test]
fn log_check_leaves_out_the_hosts_it_is_told_to_skip_and_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, "global\n    maxconn 100\n").unwrap();
    let with = |script: &str| harun().config(&cfg).args(["--json", "-e", script]).run();
    // No log line: logs.none here, nothing once this machine is skipped.
    let run = with("log_check().map(|f| f.id)");
    run.expect_code(0);
    assert_eq!(run.json(), serde_json::json!(["logs.none"]));
    let run = with(r#"log_check(#{skip_hosts: ["localhost"]}).len() + recorded_findings().len()"#);
    run.expect_code(0);
    assert_eq!(run.json(), 0);
    // A name that is no host of the run, or another option: refused by name.
    let run = with(r#"log_check(#{skip_hosts: ["lb9"]})"#);
    run.expect_code(2);
    assert!(
        run.stderr.contains("lb9") && run.stderr.contains("check_hosts(): localhost"),
        "{}",
        run.stderr
    );
    let run = with(r#"log_check(#{skip: []})"#);
    run.expect_code(2);
    assert!(
        run.stderr.contains("skip") && run.stderr.contains("expected skip_hosts"),
        "{}",
        run.stderr
    );
}

#[test]
fn rsyslog_without_udp_input() {
    let got = log_check(
        UDP_CFG,
        "module(load=\"imuxsock\")\n$IncludeConfig /etc/rsyslog.d/*.conf\n",
        &[("10-other.conf", "*.* /var/log/all.log\n")],
    );
    assert!(got.iter().any(|i| i == "logs.no-udp-input"), "{got:?}");
}

#[test]
fn rsyslog_on_another_port() {
    let got = log_check(
        UDP_CFG,
        "$IncludeConfig /etc/rsyslog.d/*.conf\n",
        &[(
            "49-haproxy.conf",
            "module(load=\"imudp\")\ninput(type=\"imudp\" port=\"5140\")\n",
        )],
    );
    assert!(got.iter().any(|i| i == "logs.port-mismatch"), "{got:?}");
    let got = log_check(UDP_CFG, "$ModLoad imudp\n$UDPServerRun 514\n", &[]);
    assert!(got.iter().any(|i| i == "logs.ok"), "{got:?}");
}

#[test]
fn rsyslog_include_loop_terminates_with_a_note() {
    let got = log_check(
        UDP_CFG,
        "$IncludeConfig @DIR@/*.conf\n",
        &[
            (
                "a.conf",
                "module(load=\"imudp\")\ninput(type=\"imudp\" port=\"514\")\ninclude(file=\"@DIR@/b.conf\")\n",
            ),
            ("b.conf", "$IncludeConfig @DIR@/a.conf\n"),
        ],
    );
    assert!(got.iter().any(|i| i == "logs.ok"), "{got:?}");
    assert!(got.iter().any(|n| n.contains("loop")), "{got:?}");
}
