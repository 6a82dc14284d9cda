//! Real logs: the lab's HAProxy logs to its stdout (the lab's `haproxy.log`) while traffic
//! produces real termination states: a server that refuses (SC), one too slow for `timeout
//! server` (sH), a client that leaves in the middle of a response (CD), a full queue (sQ).
//! harun then reads what HAProxy itself logged, and `analyze_logs` ties it to the lab's
//! configuration and live state.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// An HTTP server on loopback that answers every request after `delay`.
fn delayed_server(delay: Duration) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                std::thread::sleep(delay);
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
                );
            });
        }
    });
    addr
}

/// An HTTP server that sends its headers, then the body ten bytes at a time.
fn trickle_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
                for _ in 0..100 {
                    if s.write_all(&[b'x'; 10]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
        }
    });
    addr
}

/// A request through the lab's frontend to `backend`; `read` bytes of the answer at most
/// (then the client leaves).
fn request(lab: &Lab, backend: &str, path: &str, read: usize) -> String {
    let mut s = TcpStream::connect(lab.frontend()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: lab\r\nX-Backend: {backend}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = vec![0u8; read];
    let mut n = 0;
    while n < read {
        match s.read(&mut out[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    String::from_utf8_lossy(&out[..n]).into_owned()
}

/// The lab with four more backends, logging to its own stdout.
fn logging_lab() -> Option<(Lab, PathBuf)> {
    let slow = delayed_server(Duration::from_millis(1000));
    let trickle = trickle_server();
    let lab = lab_with(Scenario::Incident, |b| {
        b.log_to("stdout format raw")
            .section("backend bk_refuse\n    retries 1\n    server r1 127.0.0.1:1")
            .section(format!(
                "backend bk_tight\n    timeout server 200ms\n    server t1 {slow}"
            ))
            .section(format!(
                "backend bk_full\n    timeout queue 200ms\n    server f1 {slow} maxconn 1"
            ))
            .section(format!("backend bk_trickle\n    server c1 {trickle}"))
    })?;
    let log = lab.dir().join("haproxy.log");
    Some((lab, log))
}

/// Drive the traffic that makes each termination state, then wait until HAProxy logged it.
fn drive(lab: &Lab, log: &PathBuf) {
    assert!(request(lab, "bk_refuse", "/refused", 4096).contains(" 503 "));
    assert!(request(lab, "bk_tight", "/too-slow", 4096).contains(" 504 "));
    let full: Vec<_> = (0..3)
        .map(|i| {
            let fe = lab.frontend();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(fe).unwrap();
                write!(s, "GET /queued{i} HTTP/1.1\r\nHost: lab\r\nX-Backend: bk_full\r\nConnection: close\r\n\r\n").unwrap();
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                out
            })
        })
        .collect();
    let answers: Vec<String> = full.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        answers.iter().filter(|a| a.contains(" 503 ")).count(),
        2,
        "{answers:?}"
    );
    // Read the headers and a little of the body, then leave.
    assert!(request(lab, "bk_trickle", "/stream", 80).contains(" 200 "));
    assert!(request(lab, "bk_app", "/fine", 4096).contains(" 200 "));
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if ["SC--", "sH--", "CD--", "sQ--"]
            .iter()
            .all(|s| text.contains(s))
            && text.contains("/fine")
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "HAProxy did not log everything:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn real_termination_states_as_haproxy_logged_them() {
    let Some((lab, log)) = logging_lab() else {
        return;
    };
    drive(&lab, &log);
    let run = harun()
        .lab(&lab)
        .args([
            "--json",
            "-e",
            &format!("log_summary({:?})", log.display().to_string()),
        ])
        .run();
    run.expect_code(0);
    let s = run.json();
    let backend = |name: &str| {
        s["backends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["backend"] == name)
            .unwrap_or_else(|| panic!("no {name} in {}", s["backends"]))
            .clone()
    };
    let refuse = backend("bk_refuse");
    assert_eq!(refuse["terminations"]["SC--"], 1, "{refuse}");
    assert_eq!(
        (refuse["status_5xx"].as_i64(), refuse["retries"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        refuse["t_connect"]["not_reached"], 1,
        "Tc is -1 when no connection was made"
    );
    let tight = backend("bk_tight");
    assert_eq!(tight["terminations_5xx"]["sH--"], 1, "{tight}");
    let waited = tight["t_active"]["max"].as_i64().unwrap();
    assert!(
        (200..1000).contains(&waited),
        "Ta {waited} should be about timeout server (200ms)"
    );
    assert_eq!(tight["t_response"]["not_reached"], 1);
    let full = backend("bk_full");
    assert_eq!(full["terminations"]["sQ--"], 2, "{full}");
    assert!(full["t_queue"]["max"].as_i64().unwrap() >= 200, "{full}");
    assert_eq!(backend("bk_trickle")["terminations"]["CD--"], 1);
    // HAProxy's own lines on stderr (`[NOTICE] ... haproxy version`) are notices, not junk,
    // and the health check of the refusing api2 shows up as a notice too.
    assert_eq!(s["unparsed"], 0, "{}", s["unparsed_sample"]);
    assert!(
        s["notices_total"].as_i64().unwrap() >= 1,
        "{}",
        s["notices"]
    );
    assert!(s["requests"].as_i64().unwrap() >= 7);

    // logs(): the same lines one by one, filtered.
    let run = harun()
        .args([
            "--json",
            "-e",
            &format!(
                "logs({:?}, #{{termination: \"sQ\"}})",
                log.display().to_string()
            ),
        ])
        .run();
    run.expect_code(0);
    let rows = run.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(
            (
                r["backend"].as_str(),
                r["server"].as_str(),
                r["status"].as_i64()
            ),
            (Some("bk_full"), Some("<NOSRV>"), Some(503))
        );
        assert!(r["termination"].as_str().unwrap().contains("queue"), "{r}");
        assert!(r["uri"].as_str().unwrap().starts_with("/queued"));
    }
}

#[test]
fn analyze_logs_ties_real_failures_to_the_configuration() {
    let Some((lab, log)) = logging_lab() else {
        return;
    };
    drive(&lab, &log);
    let run = harun()
        .lab(&lab)
        .args([
            "--json",
            "analyze_logs",
            "-p",
            &format!("log={}", log.display()),
            "-p",
            "min=1",
        ])
        .run();
    run.expect_code(1);
    let report = run.json();
    let cfg = lab.config_path().display().to_string();
    let line_of = |needle: &str| {
        let text = std::fs::read_to_string(lab.config_path()).unwrap();
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    };
    let timeout = findings_with(&report, "traffic.server-timeout");
    assert_eq!(timeout.len(), 1, "{report}");
    let ev = evidence(timeout[0]);
    assert!(
        ev.contains(&format!(
            "timeout server 200ms ({cfg}:{})",
            line_of("timeout server 200ms")
        )),
        "{ev}"
    );
    let queue = findings_with(&report, "traffic.queue");
    let ev = evidence(queue[0]);
    assert!(
        ev.contains(&format!(
            "timeout queue 200ms ({cfg}:{})",
            line_of("timeout queue 200ms")
        )),
        "{ev}"
    );
    assert!(ev.contains("server f1 maxconn 1"), "{ev}");
    let refused = findings_with(&report, "traffic.connect-refused");
    assert!(
        evidence(refused[0]).contains("bk_refuse/r1: 1 refused"),
        "{}",
        evidence(refused[0])
    );
    assert!(!findings_with(&report, "traffic.5xx").is_empty());
}

/// Bad input through the binary: never a panic, a clear message or a counted, sampled line.
#[test]
fn bad_input_is_counted_sampled_or_named() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/logs/local.log"
    ))
    .unwrap();
    // Binary garbage, a 1 MB line, then real lines.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut data: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    data.push(b'\n');
    data.extend(std::iter::repeat_n(b'a', 1 << 20));
    data.push(b'\n');
    data.extend_from_slice(&real);
    let junk = dir.path().join("junk.log");
    std::fs::write(&junk, &data).unwrap();
    let run = harun()
        .args([
            "--json",
            "-c",
            "/dev/null",
            "-e",
            &format!("log_summary({:?})", junk.display().to_string()),
        ])
        .run();
    run.expect_code(0);
    let s = run.json();
    assert_eq!(s["requests"], 23, "{s}");
    assert_eq!(s["too_long"], 1);
    assert!(
        s["too_long_sample"][0]
            .as_str()
            .unwrap()
            .starts_with("1048576 bytes: aaa"),
        "{}",
        s["too_long_sample"]
    );
    assert!(s["unparsed"].as_i64().unwrap() >= 1);
    for sample in s["unparsed_sample"].as_array().unwrap() {
        assert!(sample.as_str().unwrap().len() <= 3 * 300, "samples are cut");
    }

    // A truncated .gz: the lines before the damage, and a note naming it.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for _ in 0..2000 {
        enc.write_all(&real).unwrap();
    }
    let gz = enc.finish().unwrap();
    let cut = dir.path().join("haproxy.log.2.gz");
    std::fs::write(&cut, &gz[..gz.len() * 2 / 3]).unwrap();
    let run = harun()
        .args([
            "--json",
            "-c",
            "/dev/null",
            "-e",
            &format!("log_summary({:?})", cut.display().to_string()),
        ])
        .run();
    run.expect_code(0);
    let s = run.json();
    let requests = s["requests"].as_i64().unwrap();
    assert!(requests > 0 && requests < 2000 * 23, "{requests}");
    assert!(
        s["notes"][0]
            .as_str()
            .unwrap()
            .contains("gzip stream is truncated"),
        "{}",
        s["notes"]
    );

    // A missing file: one line naming it, exit 2, catchable by kind.
    let run = harun()
        .args([
            "-c",
            "/dev/null",
            "-e",
            "log_summary(\"/nonexistent/haproxy.log\")",
        ])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("/nonexistent/haproxy.log: no such file"),
        "{}",
        run.stderr
    );
    let run = harun()
        .args([
            "-c",
            "/dev/null",
            "-e",
            "let k = \"\"; try { logs(\"/nonexistent\"); } catch (e) { k = e.kind; } k",
        ])
        .run();
    run.expect_code(0);
    assert!(run.stdout.contains("log_unreadable"), "{}", run.stdout);
    // A bad option or time names what is wrong.
    let run = harun()
        .args([
            "-c",
            "/dev/null",
            "-e",
            &format!(
                "logs({:?}, #{{since: \"yesterday\"}})",
                junk.display().to_string()
            ),
        ])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("since") && run.stderr.contains("2026-11-23T19:23"),
        "{}",
        run.stderr
    );
}

/// stdin (`-`): what `journalctl -u haproxy -o short | harun ...` does.
#[test]
fn logs_from_stdin() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/logs/journal-short.log"
    ))
    .unwrap();
    let run = harun()
        .args([
            "--json",
            "-c",
            "/dev/null",
            "-e",
            "let s = log_summary(\"-\"); [s.requests, s.foreign, s.notices_total]",
        ])
        .stdin(&text)
        .run();
    run.expect_code(0);
    assert_eq!(run.json(), serde_json::json!([23, 4, 5]));
}

/// A custom `log-format` in the configuration: harun reads it from `-c` and parses the
/// lines HAProxy writes with it by variable name, into the same fields as httplog.
#[test]
fn custom_log_format_from_the_configuration() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let format = r#"log-format "{\"client\":\"%ci\",\"fe\":\"%ft\",\"be\":\"%b\",\"srv\":\"%s\",\"st\":%ST,\"tw\":%Tw,\"tc\":%Tc,\"tr\":%Tr,\"ta\":%Ta,\"ts\":\"%tsc\",\"req\":\"%HM %HU\",\"id\":\"%[uuid]\"}""#;
    let Some(lab) = lab_with(Scenario::Incident, |b| {
        b.log_to("stdout format raw")
            .section("backend bk_refuse\n    retries 1\n    server r1 127.0.0.1:1")
            .section(format!(
                "frontend fe_json\n    bind 127.0.0.1:{port}\n    {format}\n    use_backend %[req.hdr(x-backend)] if {{ req.hdr(x-backend) -m found }}\n    default_backend bk_app"
            ))
    }) else {
        return;
    };
    let log = lab.dir().join("haproxy.log");
    for backend in ["bk_app", "bk_refuse"] {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "GET /json HTTP/1.1\r\nHost: lab\r\nX-Backend: {backend}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
    }
    let start = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("\"be\":\"bk_refuse\"")
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no JSON line logged"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let path = log.display().to_string();
    let run = harun()
        .lab(&lab)
        .args([
            "--json",
            "-e",
            &format!("[log_formats(), log_summary({path:?}, #{{frontend: \"fe_json\"}}), logs({path:?}, #{{frontend: \"fe_json\"}})]"),
        ])
        .run();
    run.expect_code(0);
    let v = run.json();
    let formats = &v[0]["formats"];
    assert_eq!(formats.as_array().unwrap().len(), 1, "{v}");
    assert!(formats[0]["location"]
        .as_str()
        .unwrap()
        .starts_with(&lab.config_path().display().to_string()));
    let s = &v[1];
    assert_eq!(s["requests"], 2, "{s}");
    assert_eq!(s["formats"]["custom"], 2);
    let refuse = s["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "bk_refuse/r1")
        .unwrap();
    assert_eq!(
        (
            refuse["status_5xx"].as_i64(),
            refuse["terminations"]["SC--"].as_i64()
        ),
        (Some(1), Some(1)),
        "{refuse}"
    );
    let rows = v[2].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(
            (
                r["format"].as_str(),
                r["method"].as_str(),
                r["uri"].as_str()
            ),
            (Some("custom"), Some("GET"), Some("/json")),
            "{r}"
        );
    }
    // Without the configuration, the same lines are unparsed, never mistaken for httplog.
    let run = harun()
        .args([
            "--json",
            "-c",
            "/dev/null",
            "-e",
            &format!("log_summary({path:?}, #{{frontend: \"fe_json\"}}).requests"),
        ])
        .run();
    assert_eq!(run.json(), 0);
}

/// The live syslog listener as a source: HAProxy sends datagrams while the lab gets traffic,
/// and `log_summary("udp@...")` aggregates them as they arrive.
#[test]
fn log_summary_listens_to_haproxy_live() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let Some(lab) = lab_with(Scenario::Incident, |b| {
        b.log_to(addr.clone())
            .section("backend bk_refuse\n    retries 1\n    server r1 127.0.0.1:1")
    }) else {
        return;
    };
    let h = harun().args([
        "--json",
        "-c",
        "/dev/null",
        "-e",
        &format!("log_summary(\"udp@{addr}\", #{{seconds: 4}})"),
    ]);
    let t = std::thread::spawn(move || h.run());
    let start = Instant::now();
    while !t.is_finished() {
        assert!(start.elapsed() < Duration::from_secs(60), "harun hangs");
        std::thread::sleep(Duration::from_millis(300));
        let _ = request(&lab, "bk_refuse", "/live-refused", 4096);
        let _ = request(&lab, "bk_app", "/live-ok", 4096);
    }
    let run = t.join().unwrap();
    run.expect_code(0);
    let s = run.json();
    assert!(s["requests"].as_i64().unwrap() >= 2, "{s}");
    let refuse = s["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["backend"] == "bk_refuse")
        .cloned();
    let refuse = refuse.unwrap_or_else(|| panic!("no bk_refuse in {}", s["backends"]));
    assert!(
        refuse["terminations"]["SC--"].as_i64().unwrap() >= 1,
        "{refuse}"
    );
    assert_eq!(s["sources"][0], format!("udp@{addr}"));
}
