//! The `snapshot` bundle and the `trace_header` probe against a real HAProxy:
//! files written from real replies, the write sandbox of `save`, a real
//! X-Served-By header coming back through the lab's frontend, and the errors
//! of a probe that cannot work (closed port, stalled server, https).

use crate::harness::*;
use harun::lab::Scenario;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// The one `harun-snapshot-*` directory under `parent`.
fn only_bundle(parent: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("harun-snapshot-"))
        })
        .collect();
    assert_eq!(dirs.len(), 1, "one bundle expected in {parent:?}: {dirs:?}");
    dirs.into_iter().next().unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn snapshot_writes_every_reply_into_a_new_bundle() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    // It only reads HAProxy: dry-run does not stop it.
    let run = harun()
        .lab(&lab)
        .args(["snapshot", "--dry-run", "--json", "-p", "sample=0.2", "-p"])
        .arg(format!("dir={}", out.path().display()))
        .run();
    run.expect_code(0);
    let b = only_bundle(out.path());
    let name = b.file_name().unwrap().to_str().unwrap().to_string();
    let stamp = name.strip_prefix("harun-snapshot-").unwrap();
    assert_eq!(stamp.len(), 16, "{name}");
    assert!(
        stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z'),
        "UTC stamp like 20261130T124501Z: {name}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&b).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "bundle readable by its owner only");
    }

    let stat = read(&b.join("show_stat.txt"));
    assert!(stat.starts_with("# pxname,svname,"), "{stat}");
    assert!(stat.contains("bk_app,app3,"), "{stat}");
    let state = read(&b.join("show_servers_state.txt"));
    assert_eq!(state.lines().next(), Some("1"), "{state}");
    assert!(state.contains(" bk_api "), "{state}");
    let info = read(&b.join("show_info.txt"));
    assert!(info.contains("Version: "), "{info}");
    for f in ["show_errors.txt", "show_activity.txt", "show_backend.txt"] {
        assert!(!read(&b.join(f)).trim().is_empty(), "{f} is empty");
    }
    assert_eq!(read(&b.join("show_cli_level.txt")).trim(), "admin");
    // The second sample of show stat, for error rates in a replay.
    assert!(read(&b.join("show_stat.2.txt")).starts_with("# pxname,svname,"));
    assert!(read(&b.join("haproxy_vv.txt"))
        .starts_with(&format!("HAProxy version {}", haproxy_version())));
    // Every configuration file, at its own path under config/.
    let copy = b
        .join("config")
        .join(lab.config_path().strip_prefix("/").unwrap());
    assert_eq!(read(&copy), read(lab.config_path()));
    let host: serde_json::Value = serde_json::from_str(&read(&b.join("host.json"))).unwrap();
    assert!(host["cpus"]["online"].as_u64().unwrap() >= 1, "{host}");
    assert!(host["irqbalance"]["running"].is_boolean(), "{host}");
    assert!(host["rsyslog"]["notes"].is_array(), "{host}");
    let check: serde_json::Value =
        serde_json::from_str(&read(&b.join("config_check.json"))).unwrap();
    assert_eq!(check["valid"], true, "{check}");
    assert_eq!(check["version"], haproxy_version().as_str(), "{check}");
    let model: serde_json::Value = serde_json::from_str(&read(&b.join("config.json"))).unwrap();
    assert!(!model["sections"].as_array().unwrap().is_empty(), "{model}");
    let saved: serde_json::Value = serde_json::from_str(&read(&b.join("findings.json"))).unwrap();
    assert!(saved.is_array(), "{saved}");
    let index: serde_json::Value = serde_json::from_str(&read(&b.join("index.json"))).unwrap();
    // 8 replies (two of show stat), haproxy -vv, the configuration file,
    // host facts, haproxy -c, config.json, findings.json.
    assert_eq!(index["files"].as_array().unwrap().len(), 14, "{index}");
    assert_eq!(
        (index["format"].as_str(), index["version"].as_u64()),
        (Some("harun-snapshot"), Some(2))
    );
    assert_eq!(
        index["config_paths"][0],
        lab.config_path().display().to_string()
    );
    let stats: Vec<&serde_json::Value> = index["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["command"] == "show stat")
        .collect();
    let at = |f: &serde_json::Value| humantime::parse_rfc3339(f["at"].as_str().unwrap()).unwrap();
    let gap = at(stats[1]).duration_since(at(stats[0])).unwrap();
    assert!(gap >= std::time::Duration::from_millis(200), "{gap:?}");

    let f = run.finding("snapshot.saved");
    assert_eq!(f["severity"], "ok");
    let canonical = b.canonicalize().unwrap();
    assert_eq!(evidence(&f), canonical.display().to_string());
    assert!(
        run.json()["output"].to_string().contains(&name),
        "the path is printed: {}",
        run.stdout
    );
    // Nothing was sent that changes state.
    assert!(run.json()["writes"].as_array().is_none_or(|w| w.is_empty()));
}

#[test]
fn snapshot_keeps_going_when_a_target_fails() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let dead = lab.dir().join("dead.sock");
    let run = harun()
        .lab(&lab)
        .arg("-s")
        .arg(&dead)
        .args([
            "snapshot",
            "--read-only",
            "--json",
            "-p",
            "sample=0.2",
            "-p",
        ])
        .arg(format!("dir={}", out.path().display()))
        .run();
    // The live checks report the dead target (error level): exit 1, bundle complete.
    run.expect_code(1);
    assert_eq!(run.finding("target.unreachable")["severity"], "error");
    let b = only_bundle(out.path());
    let files: Vec<String> = std::fs::read_dir(&b)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // Two targets: every reply file carries its target; 8 replies x 2, and
    // config_check.json, config.json, haproxy_vv.txt, host.json,
    // findings.json, index.json and the config/ directory.
    assert_eq!(files.len(), 23, "{files:?}");
    let dead_stat = files
        .iter()
        .find(|f| f.starts_with("show_stat.") && f.contains("dead.sock"))
        .unwrap_or_else(|| panic!("{files:?}"));
    let text = read(&b.join(dead_stat));
    assert!(
        text.starts_with("error (unreachable): ") && text.contains("dead.sock"),
        "{text}"
    );
    let live_stat = files
        .iter()
        .find(|f| f.starts_with("show_stat.") && f.contains("admin.sock"))
        .unwrap_or_else(|| panic!("{files:?}"));
    assert!(read(&b.join(live_stat)).starts_with("# pxname"));
    let f = run.finding("snapshot.partial");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["evidence"].as_array().unwrap().len(), 8, "{f}");
    run.finding("snapshot.saved");
}

#[test]
fn snapshot_names_an_unwritable_parent() {
    if !require_haproxy() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let missing = out.path().join("nope");
    let run = harun()
        .args(["snapshot", "--json", "-p"])
        .arg(format!("dir={}", missing.display()))
        .run();
    run.expect_code(1);
    let f = run.finding("snapshot.failed");
    assert!(evidence(&f).contains(&missing.display().to_string()), "{f}");
}

#[test]
fn save_writes_only_plain_names_into_bundles_of_this_run() {
    let out = tempfile::tempdir().unwrap();
    let d = out.path().display().to_string();
    let script = format!(
        r#"
        let b = bundle("{d}");
        let refused = [];
        for n in ["../x", "a/b", "", "..", "x\x00y"] {{
            try {{ save(b, n, "pwned"); }} catch (e) {{ refused.push(e.kind); }}
        }}
        try {{ save("{d}", "x", "pwned"); }} catch (e) {{ refused.push(e.kind); }}
        try {{ save("/tmp", "x", "pwned"); }} catch (e) {{ refused.push(e.kind); }}
        save(b, "ok.txt", "text\n");
        save(b, "ok.json", #{{ a: [1, 2] }});
        try {{ save(b, "ok.txt", "again"); }} catch (e) {{ refused.push(e.kind); }}
        refused
        "#
    );
    let run = harun().args(["--json", "-e", &script]).run();
    run.expect_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!([
            "invalid_input",
            "invalid_input",
            "invalid_input",
            "invalid_input",
            "invalid_input",
            "invalid_input",
            "invalid_input",
            "io"
        ]),
        "{}",
        run.stderr
    );
    assert!(!out.path().join("x").exists());
    assert!(!out.path().join("a").exists());
    let b = only_bundle(out.path());
    assert_eq!(read(&b.join("ok.txt")), "text\n");
    let j: serde_json::Value = serde_json::from_str(&read(&b.join("ok.json"))).unwrap();
    assert_eq!(j, serde_json::json!({"a": [1, 2]}));
    assert_eq!(std::fs::read_dir(&b).unwrap().count(), 2);

    // Uncaught: the message names the bad name and the rule.
    std::fs::create_dir(out.path().join("sub")).unwrap();
    let run = harun()
        .args(["-e", &format!(r#"save(bundle("{d}/sub"), "../x", "")"#)])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("`../x`") && run.stderr.contains("plain file name"),
        "{}",
        run.stderr
    );
    let run = harun()
        .args(["-e", &format!(r#"save("{d}", "x", "")"#)])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("not a directory created by bundle()"),
        "{}",
        run.stderr
    );
}

#[test]
fn trace_header_sees_x_served_by_through_the_lab_frontend() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let url = format!("http://{}/", lab.frontend());
    let run = harun()
        .lab(&lab)
        .args(["trace_header", "--json", "-p"])
        .arg(format!("url={url}"))
        .run();
    run.expect_code(0);
    let f = run.finding("trace.header-configured");
    let ev = evidence(&f);
    assert!(
        ev.contains("bk_app: http-response set-header X-Served-By %[be_name]/%[srv_name]")
            && ev.contains("haproxy.cfg:"),
        "{ev}"
    );
    let f = run.finding("trace.served-by");
    let ev = evidence(&f);
    assert!(ev.contains("HTTP 200"), "{ev}");
    assert!(ev.contains("x-served-by: bk_app/app"), "{ev}");
    // The fix is ONE line in the frontend, not one per backend.
    let f = run.finding("trace.no-header");
    assert_eq!(f["severity"], "info");
    let ev = evidence(&f);
    assert!(
        ev.contains("frontend fe_main (")
            && ev.contains(
                "add `http-after-response set-header X-Served-By %[be_name]/%[srv_name]`"
            ),
        "{f}"
    );
    assert!(ev.contains("bk_api"), "{f}");
    assert!(!ev.contains("backend bk_api ("), "no per-backend line: {f}");
    let advice = f["advice"].as_str().unwrap();
    assert!(
        advice.starts_with(
            "one line in frontend fe_main: http-after-response set-header X-Served-By %[be_name]/%[srv_name]"
        ),
        "{f}"
    );
    // The response headers are shown as a table.
    let tables = run.json()["tables"].to_string();
    assert!(tables.contains("bk_app/app"), "{tables}");

    // The primitive directly, with a request header routing to bk_api (its
    // responder sets X-Served-By itself; bk_api does not rewrite it).
    let run = harun()
        .args([
            "--json",
            "-e",
            &format!(r#"http_probe("{url}", #{{ headers: #{{ "X-Backend": "bk_api" }} }})"#),
        ])
        .run();
    run.expect_code(0);
    let v = run.json();
    assert_eq!(v["status"], 200);
    assert_eq!(v["reason"], "OK");
    assert!(
        v["headers"]["x-served-by"]
            .as_str()
            .unwrap()
            .starts_with("api"),
        "{v}"
    );
    assert!(v["elapsed_ms"].is_i64());
}

#[test]
fn trace_header_without_url_suggests_the_frontend_to_probe() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let run = harun().lab(&lab).args(["trace_header", "--json"]).run();
    run.expect_code(0);
    let out = run.json()["output"].to_string();
    assert!(
        out.contains(&format!("-p url=http://{}/", lab.frontend())),
        "{out}"
    );
    run.finding("trace.header-configured");
    assert!(findings_with(&run.json(), "trace.served-by").is_empty());
}

/// A header set in the frontend (or a defaults section) covers every backend:
/// no backend is told to add its own, and the probe sees it on any backend.
#[test]
fn trace_header_in_the_frontend_covers_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    // trace_header on a config of its own (offline: no socket).
    let trace_header_on = |config: &str| {
        let cfg = dir.path().join("h.cfg");
        std::fs::write(&cfg, config).unwrap();
        let run = harun()
            .arg("-c")
            .arg(&cfg)
            .args(["trace_header", "--json"])
            .run();
        run.expect_code(0);
        run
    };
    let run = trace_header_on(
        "defaults shared\n    mode http\n    http-after-response set-header X-Served-By %[be_name]/%[srv_name]\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\
         frontend fe_main from shared\n    bind 127.0.0.1:18080\n    default_backend bk_a\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\
         frontend fe_other\n    bind 127.0.0.1:18081\n    http-response set-header X-Trace %[be_name]\n    default_backend bk_b\n\
         backend bk_a\n    server a 127.0.0.1:1\n\
         backend bk_b\n    server b 127.0.0.1:1\n",
    );
    let f = run.finding("trace.header-configured");
    let ev = evidence(&f);
    assert!(
        ev.contains("defaults shared: http-after-response set-header X-Served-By"),
        "{ev}"
    );
    assert!(
        ev.contains("frontend fe_other: http-response set-header X-Trace"),
        "{ev}"
    );
    assert!(
        findings_with(&run.json(), "trace.no-header").is_empty(),
        "every frontend is covered: {}",
        run.stdout
    );
    // A frontend without it: one line for that frontend only.
    let run = trace_header_on(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\
         frontend fe_main\n    bind 127.0.0.1:18080\n    default_backend bk_a\n\
         backend bk_a\n    server a 127.0.0.1:1\n\
         backend bk_b\n    server b 127.0.0.1:1\n",
    );
    let f = run.finding("trace.no-header");
    let ev = evidence(&f);
    assert_eq!(
        ev.matches("add `http-after-response set-header X-Served-By %[be_name]/%[srv_name]`")
            .count(),
        1,
        "{ev}"
    );
    assert!(ev.contains("frontend fe_main ("), "{ev}");
    let out = run.json()["output"].to_string();
    assert!(out.contains("to add in frontend fe_main"), "{out}");
}

#[test]
fn a_closed_port_is_a_clear_probe_failure() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let run = harun()
        .lab(&lab)
        .args(["trace_header", "--json", "-p"])
        .arg(format!("url={url}"))
        .run();
    run.expect_code(0);
    let f = run.finding("trace.probe-failed");
    assert_eq!(f["severity"], "warning");
    let ev = evidence(&f);
    assert!(
        ev.contains(&url) && ev.contains("cannot connect") && ev.contains("refused"),
        "{ev}"
    );

    // Uncaught, the primitive's error names the URL and exits as unreachable.
    let run = harun()
        .args(["-e", &format!(r#"http_probe("{url}")"#)])
        .run();
    run.expect_code(3);
    assert!(
        run.stderr.contains(&url) && run.stderr.contains("refused"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_stalled_server_times_out_instead_of_hanging() {
    // Accepts (the kernel completes the handshake) and never answers.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    let run = harun()
        .args([
            "-e",
            &format!(
                r#"let r = (); try {{ http_probe("{url}", #{{ timeout: 1 }}); }} catch (e) {{ r = e; }} r"#
            ),
            "--json",
        ])
        .run();
    run.expect_code(0);
    let v = run.json();
    assert_eq!(v["kind"], "timeout", "{v}");
    assert!(v["message"].as_str().unwrap().contains(&url), "{v}");
    // --timeout is the default bound.
    let run = harun()
        .args(["--timeout", "1", "-e", &format!(r#"http_probe("{url}")"#)])
        .run();
    run.expect_code(3);
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    drop(l);
}

#[test]
fn https_says_tls_is_not_built_in() {
    let run = harun()
        .args(["-e", r#"http_probe("https://127.0.0.1:1/")"#])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("TLS")
            && run.stderr.contains("plain-HTTP bind")
            && run.stderr.contains("curl -sI"),
        "{}",
        run.stderr
    );
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args(["trace_header", "--json", "-p", "url=https://127.0.0.1:1/"])
        .run();
    run.expect_code(0);
    let f = run.finding("trace.probe-failed");
    assert!(
        evidence(&f).contains("TLS") && f["advice"].as_str().unwrap().contains("curl -skI"),
        "{f}"
    );
}

/// A canned 301 (a real HAProxy redirect needs a config the lab does not
/// have): the probe returns it as is, with the Host header it was sent.
#[test]
fn redirects_are_not_followed_and_the_host_header_is_sent() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            req.extend_from_slice(&buf[..n]);
        }
        let req = String::from_utf8_lossy(&req).into_owned();
        let host = req
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("host: ")
                    .map(|_| l[6..].trim().to_string())
            })
            .unwrap_or_default();
        // Following this Location would fail: nothing listens on port 1.
        let _ = write!(
            s,
            "HTTP/1.1 301 Moved Permanently\r\nLocation: http://127.0.0.1:1/next\r\nX-Seen-Host: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    });
    let url = format!("http://{addr}/old");
    let run = harun()
        .args([
            "--json",
            "-e",
            &format!(r#"http_probe("{url}", #{{ headers: #{{ Host: "www.example.com" }} }})"#),
        ])
        .run();
    run.expect_code(0);
    server.join().unwrap();
    let v = run.json();
    assert_eq!(v["status"], 301, "{v}");
    assert_eq!(v["headers"]["location"], "http://127.0.0.1:1/next");
    assert_eq!(v["headers"]["x-seen-host"], "www.example.com");
}

#[test]
fn snapshot_of_a_dead_haproxy_is_saved_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = dead_haproxy(&dir)
        .args(["snapshot", "--json", "-p"])
        .arg(format!("dir={}", out.path().display()))
        .run();
    run.expect_code(3);
    // Said by a finding, not as a playbook error on stderr.
    assert_eq!(run.stderr, "", "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["error"]["kind"], "unreachable", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no HAProxy socket answered"),
        "{v}"
    );
    assert_eq!(run.finding("snapshot.unreachable")["severity"], "critical");
    let b = only_bundle(out.path());
    assert!(read(&b.join("show_stat.txt")).starts_with("error (unreachable): "));
    assert!(b.join("config_check.json").exists());
    // Two bundles in a row never collide.
    let run = harun()
        .args([
            "--json",
            "-e",
            &format!(
                "let a = bundle(\"{0}\"); let b = bundle(\"{0}\"); a != b",
                out.path().display()
            ),
        ])
        .run();
    run.expect_code(0);
    assert_eq!(run.json(), serde_json::json!(true));
}
