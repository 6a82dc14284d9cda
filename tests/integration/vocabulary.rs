//! Every primitive's documented keys against what it really returns: the
//! lab's real HAProxy, the real `haproxy -c`, syslog datagrams on a real
//! socket, and fixtures for the host and rsyslog sides. Each value is walked
//! with its shape and the shapes nested in it (`vocabulary::NESTED`): the
//! documented keys are there (exactly those when the shape is closed), with
//! the documented types. Each test names the shapes it must meet with a
//! value, and `every_shape_is_compared_with_real_output` checks that these
//! lists cover every shape `harun doc` prints.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use harun::script::vocabulary::{self as v, Shape};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

/// Shapes met by `live_primitives_carry_their_documented_keys`.
const LIVE: &[&Shape] = &[
    &v::INFO,
    &v::SERVERS_ROW,
    &v::STAT_ROW,
    &v::SEND_REPLY,
    &v::SEND_EACH,
    &v::SEND_OUTCOME,
    &v::FINDING,
    &v::LIVE_CHECK,
    &v::HTTP_PROBE,
    &v::HTTP_HEADERS,
    &v::DRAIN_RESULT,
    &v::DRAIN_PROGRESS,
    &v::DRAIN_REMAINING,
    &v::WRITE_OUTCOME,
    &v::SERVER_SNAPSHOT,
    &v::HAPROXY_VV,
    &v::BUNDLE_PATH,
    &v::SAVED_PATH,
    &v::SAVE_CONFIG,
    &v::COPIED_FILE,
    &v::TARGET,
];

/// Shapes met by `config_and_host_primitives_carry_their_documented_keys`.
const CONFIG_AND_HOST: &[&Shape] = &[
    &v::CONFIG_MODEL,
    &v::CONFIG_SECTION,
    &v::CONFIG_DIRECTIVE,
    &v::CONFIG_NOTE,
    &v::CONFIG_CHECK,
    &v::CHECK_MESSAGE,
    &v::FINDING,
    &v::LOG_SETUP,
    &v::LOG_TARGET,
    &v::LOG_CHROOT,
    &v::RSYSLOG_SETUP,
    &v::RSYSLOG_UDP_INPUT,
    &v::RSYSLOG_SOCKET,
    &v::TRACE_HEADERS,
    &v::HEADER_SET,
    &v::UNCOVERED_PROXY,
    &v::SYSTEM_CHECK,
    &v::HOST_SYSTEM_CHECK,
    &v::IRQBALANCE,
    &v::CPUS,
    &v::HOST_FACTS,
];

/// Shapes met by `syslog_listener_results_carry_their_documented_keys`.
const SYSLOG: &[&Shape] = &[
    &v::COLLECTED_LOGS,
    &v::SYSLOG_MESSAGE,
    &v::HTTP_LOG,
    &v::TCP_LOG,
];

/// Reading HAProxy's logs (tests/integration/logs.rs drives real termination states).
const LOGS: &[&Shape] = &[
    &v::LOG_ROW,
    &v::LOG_SUMMARY,
    &v::LOG_STATS,
    &v::LOG_TIMER,
    &v::LOG_BUCKET,
    &v::LOG_NOTICE,
    &v::LOG_TOP_ROW,
    &v::TERMINATION,
    &v::TERMINATION_FLAG,
    &v::LOG_FORMATS,
    &v::LOG_FORMAT,
    &v::PROXY_CONFIG,
    &v::CONFIG_SERVER_LINE,
];

/// Whether a JSON value has the documented type (`string or ()`, `array of
/// ints`...).
fn type_ok(ty: &str, value: &Value) -> bool {
    let all =
        |items: &Value, f: fn(&Value) -> bool| items.as_array().is_some_and(|a| a.iter().all(f));
    ty.split(" or ").any(|t| match t {
        "()" => value.is_null(),
        "string" => value.is_string(),
        "int" => value.is_i64() || value.is_u64(),
        "float" => value.is_number(),
        "bool" => value.is_boolean(),
        "map" => value.is_object(),
        "array of strings" => all(value, Value::is_string),
        "array of ints" => all(value, |x| x.is_i64() || x.is_u64()),
        "array of maps" | "array of findings" => all(value, Value::is_object),
        other => panic!("documented type `{other}` (in `{ty}`) is not one this test knows"),
    })
}

/// Walks values with their shapes, remembering the shapes it met.
#[derive(Default)]
struct Walk {
    seen: BTreeSet<&'static str>,
}

impl Walk {
    /// A primitive's result: its shape, or an array of it.
    fn primitive(&mut self, name: &str, value: &Value) {
        let shape = v::shape_of(name).unwrap_or_else(|| panic!("`{name}` has no shape"));
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(item, shape, &format!("{name}()[{i}]"));
                }
            }
            one => self.value(one, shape, &format!("{name}()")),
        }
    }

    /// Every member of a `#{name: name(...), ...}` map, by its primitive.
    fn primitives(&mut self, all: &Value) {
        let all = all
            .as_object()
            .unwrap_or_else(|| panic!("not a map: {all}"));
        for (name, value) in all {
            self.primitive(name, value);
        }
    }

    fn value(&mut self, value: &Value, shape: &'static Shape, at: &str) {
        match value {
            Value::Object(m) => self.map(m, shape, at),
            // A shape without keys describes a string (`bundle()`, `send()`).
            Value::String(_) if shape.keys.is_empty() => {
                self.seen.insert(shape.what);
            }
            other => panic!("{at}: expected {}, got {other}", shape.what),
        }
    }

    fn map(&mut self, m: &Map<String, Value>, shape: &'static Shape, at: &str) {
        self.seen.insert(shape.what);
        let have: BTreeSet<&str> = m.keys().map(String::as_str).collect();
        let want: BTreeSet<&str> = shape.keys.iter().map(|k| k.name).collect();
        let missing: Vec<&&str> = want.difference(&have).collect();
        assert!(
            missing.is_empty(),
            "{at}: {} lacks documented keys {missing:?}: {m:?}",
            shape.what
        );
        if shape.open.is_none() {
            let extra: Vec<&&str> = have.difference(&want).collect();
            assert!(
                extra.is_empty(),
                "{at}: {} has undocumented keys {extra:?}",
                shape.what
            );
        }
        for k in shape.keys {
            assert!(
                type_ok(k.ty, &m[k.name]),
                "{at}.{}: documented as {}, is {}",
                k.name,
                k.ty,
                m[k.name]
            );
        }
        for n in v::nested_in(shape) {
            if n.key == "*" {
                for (key, item) in m {
                    self.value(item, n.shape, &format!("{at}.{key}"));
                }
                continue;
            }
            match &m[n.key] {
                Value::Null => {}
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.value(item, n.shape, &format!("{at}.{}[{i}]", n.key));
                    }
                }
                one => self.value(one, n.shape, &format!("{at}.{}", n.key)),
            }
        }
    }

    #[track_caller]
    fn expect_met(&self, shapes: &[&Shape]) {
        for s in shapes {
            assert!(
                self.seen.contains(s.what),
                "no value of {} was compared (met: {:?})",
                s.what,
                self.seen
            );
        }
    }
}

/// Run harun in a thread; meanwhile call `poke` every 200 ms until it ends.
fn run_while(h: Harun, mut poke: impl FnMut()) -> Run {
    let t = std::thread::spawn(move || h.run());
    let start = Instant::now();
    while !t.is_finished() {
        assert!(start.elapsed() < Duration::from_secs(120), "harun hangs");
        std::thread::sleep(Duration::from_millis(200));
        poke();
    }
    t.join().unwrap()
}

/// The first-line names of a `Key: value` or `# a,b,c` reply.
fn show_info_keys(lab: &Lab) -> BTreeSet<String> {
    socat(lab, "show info")
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
        .collect()
}

fn header_of(reply: &str, sep: char) -> BTreeSet<String> {
    reply
        .lines()
        .find(|l| l.starts_with('#'))
        .expect("header")
        .trim_start_matches('#')
        .split(sep)
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

fn object<'a>(all: &'a Value, key: &str) -> &'a Map<String, Value> {
    all[key]
        .as_object()
        .unwrap_or_else(|| panic!("{key}: {}", all[key]))
}

fn non_empty<'a>(all: &'a Value, key: &str) -> &'a Vec<Value> {
    let a = all[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key}: {}", all[key]));
    assert!(!a.is_empty(), "{key} returned nothing to compare");
    a
}

#[test]
fn live_primitives_carry_their_documented_keys() {
    // Queues: load on bk_slow and bk_pinned; bk_api answers 503 once api1
    // is in maintenance (api2 is DOWN), so every check has findings.
    let Some(lab) = lab(Scenario::Queues) else {
        return;
    };
    force_maint(&lab, "bk_api/api1");
    let out = tempfile::tempdir().unwrap();
    let script = format!(
        r#"let b = bundle();
        #{{
            info: info(), info_all: info_all(), servers: servers(), stat: stat().map(|r| r.to_map()), targets: targets(),
            send: send("show info"), send_each: send_each("show info"),
            server_check: server_check(), queue_check: queue_check(),
            process_check: process_check(#{{near: 0.001}}), error_check: error_check(#{{seconds: 1}}),
            live_check: live_check(#{{sample: 1}}),
            http_probe: http_probe("http://{}/", #{{headers: #{{"X-Backend": "bk_app"}}}}),
            drain: drain("bk_app/app2", #{{timeout: 5}}),
            set_state: set_state("bk_app/app2", "ready"),
            haproxy_vv: haproxy_vv(),
            bundle: b, save: save(b, "shapes.json", #{{a: 1}}), save_config: save_config(b),
            recorded_findings: recorded_findings()
        }}"#,
        lab.frontend()
    );
    let h = harun()
        .lab(&lab)
        .arg("--output-dir")
        .arg(out.path())
        .args(["--yes", "--json", "-e", &script]);
    let run = run_while(h, || {
        let _ = lab.get("/", Some("bk_api"));
    });
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let all = run.json();
    let mut walk = Walk::default();
    walk.primitives(&all);
    walk.expect_met(LIVE);
    for key in [
        "server_check",
        "queue_check",
        "process_check",
        "error_check",
        "recorded_findings",
    ] {
        non_empty(&all, key);
    }
    // What the open shapes leave to HAProxy is HAProxy's.
    let info_keys = show_info_keys(&lab);
    for k in object(&all, "info").keys().filter(|k| *k != "target") {
        assert!(info_keys.contains(k), "info() has `{k}`, show info has not");
    }
    let stat_cols = header_of(&socat(&lab, "show stat"), ',');
    let derived: Vec<&str> = v::STAT_ROW.keys.iter().map(|k| k.name).collect();
    for row in non_empty(&all, "stat") {
        for k in row.as_object().unwrap().keys() {
            assert!(
                stat_cols.contains(k) || derived.contains(&k.as_str()),
                "stat() has `{k}`"
            );
        }
    }
    let state_cols = header_of(&socat(&lab, "show servers state"), ' ');
    let documented: Vec<&str> = v::SERVERS_ROW.keys.iter().map(|k| k.name).collect();
    for row in non_empty(&all, "servers") {
        for k in row.as_object().unwrap().keys() {
            assert!(
                state_cols.contains(k) || documented.contains(&k.as_str()),
                "servers() has `{k}`"
            );
        }
    }
    // Every key this HAProxy gives is one `harun check` knows, so that no
    // real column is taken for a typo (the suite runs on 2.6, 3.0 and 3.2).
    let known = v::known_keys();
    let readable = |k: &&String| !k.contains(' ') && !k.contains('-') && *k != "-";
    for k in info_keys
        .iter()
        .chain(&stat_cols)
        .chain(&state_cols)
        .filter(readable)
    {
        assert!(
            known.contains(k.as_str()),
            "this HAProxy's `{k}` is not in the vocabulary's HAProxy keys (STAT_COLUMNS_NEWER, INFO_KEYS): `harun check` would take it for a typo of a near one"
        );
    }
    let targets: BTreeSet<&str> = non_empty(&all, "targets")
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let each: BTreeSet<&str> = object(&all, "send_each")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(each, targets, "send_each() is keyed by target");
    let headers = object(&all["http_probe"], "headers");
    assert!(headers.contains_key("x-served-by"), "{headers:?}");
    assert!(
        headers
            .iter()
            .all(|(k, v)| *k == k.to_ascii_lowercase() && v.is_string()),
        "{headers:?}"
    );
    assert!(all["send"].is_string(), "one target: {}", all["send"]);

    // With two targets `send()` is a map target => reply, and each target's
    // `info()`/`info_all()` says which it is.
    let op = lab.operator_socket().expect("operator socket");
    let run = harun()
        .lab(&lab)
        .arg("-s")
        .arg(op)
        .args([
            "--json",
            "-e",
            r#"#{send: send("show info"), info_all: info_all(), targets: targets()}"#,
        ])
        .run();
    run.expect_code(0);
    let all = run.json();
    let mut walk = Walk::default();
    walk.primitives(&all);
    let replies = object(&all, "send");
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies.values().all(Value::is_string), "{replies:?}");
    let named: BTreeSet<&str> = non_empty(&all, "info_all")
        .iter()
        .map(|i| i["target"].as_str().unwrap())
        .collect();
    assert_eq!(named.len(), 2, "{named:?}");

    // A target of an inventory, with every variable `targets()` reads set.
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts.ini");
    std::fs::write(
        &inv,
        format!(
            "[lb]
lb1 ansible_connection=local ansible_port=2222 ansible_user=ops harun_socket={}
",
            lab.admin_socket().display()
        ),
    )
    .unwrap();
    let run = harun()
        .arg("-i")
        .arg(&inv)
        .args(["--json", "-e", "#{targets: targets(), info: info()}"])
        .run();
    run.expect_code(0);
    let all = run.json();
    let mut walk = Walk::default();
    walk.primitives(&all);
    walk.expect_met(&[&v::TARGET, &v::INFO]);
    assert_eq!(all["targets"][0]["port"], 2222);
    assert_eq!(all["info"]["target"], "lb1");
}

/// haproxy.cfg with every part the configuration and logging shapes have:
/// a `.if` block, an environment variable, a server `haproxy -c` rejects by
/// name, an unterminated quote, `chroot`, three kinds of log targets,
/// `cpu-map`, a troubleshooting header.
const CONFIG: &str = r#"# The configuration side of tests/integration/vocabulary.rs.
global
    log /dev/log local0
    log 127.0.0.1:514 local1 notice
    log stdout format raw daemon
    chroot /var/lib/haproxy
    nbthread 2
    cpu-map auto:1/1-2 0-1

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s

.if defined(HARUN_SHAPES_NEVER_SET)
frontend fe_never
    bind 127.0.0.1:18090
.endif

frontend fe_main
    bind 127.0.0.1:18080
    http-request set-header X-Home "${HOME}"
    default_backend bk_app

backend bk_app
    http-response set-header X-Served-By %[be_name]/%[srv_name]
    server s1 127.0.0.1:18081 check
    server s2 127.0.0.1:18082 check weight 500

backend bk_other
    http-request deny deny_status 403 if { path "/unterminated }
"#;

/// A host where irqbalance runs on 4 CPUs, and rsyslog with a UDP input and
/// a socket inside HAProxy's chroot; returns the runner's settings.
fn fixture_host(dir: &Path) -> harun::settings::Settings {
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(&cfg, CONFIG).unwrap();
    std::fs::write(
        dir.join("rsyslog.conf"),
        "module(load=\"imudp\")\ninput(type=\"imudp\" port=\"514\")\n$IncludeConfig /etc/rsyslog.d/*.conf\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("rsyslog.d")).unwrap();
    std::fs::write(
        dir.join("rsyslog.d/49-haproxy.conf"),
        "$AddUnixListenSocket /var/lib/haproxy/dev/log\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("proc/4242")).unwrap();
    std::fs::write(dir.join("proc/4242/comm"), "irqbalance\n").unwrap();
    std::fs::create_dir_all(dir.join("sys/devices/system/cpu")).unwrap();
    std::fs::write(dir.join("sys/devices/system/cpu/online"), "0-3\n").unwrap();
    harun::settings::Settings {
        config_paths: vec![cfg],
        haproxy_bin: haproxy_bin(),
        rsyslog_conf: dir.join("rsyslog.conf"),
        rsyslog_dir: dir.join("rsyslog.d"),
        proc_root: dir.join("proc"),
        sys_root: dir.join("sys"),
        journal_path: dir.join("journal.jsonl"),
        ..Default::default()
    }
}

fn eval(settings: harun::settings::Settings, expr: &str) -> Value {
    let runner = harun::Runner::builder().settings(settings).build().unwrap();
    let report = runner.eval(expr);
    assert!(report.error.is_none(), "{expr}: {:?}", report.error);
    report.value.expect("a value")
}

#[test]
fn config_and_host_primitives_carry_their_documented_keys() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let settings = fixture_host(dir.path());
    let all = eval(
        settings.clone(),
        r#"#{config: config(), config_check: config_check(), config_lint: config_lint(),
            log_setup: log_setup(), log_check: log_check(), trace_headers: trace_headers(""),
            system_check: system_check(), system_checks: system_checks(),
            host_facts: host_facts(), irqbalance: irqbalance(),
            cpus: cpus(), recorded_findings: recorded_findings()}"#,
    );
    let mut walk = Walk::default();
    walk.primitives(&all);
    walk.expect_met(CONFIG_AND_HOST);
    for key in ["config_lint", "log_check", "recorded_findings"] {
        non_empty(&all, key);
    }
    non_empty(&all["system_check"], "findings");
    non_empty(&all["log_setup"], "findings");
    assert_eq!(all["irqbalance"]["pids"], serde_json::json!([4242]));
    assert_eq!(all["cpus"]["online"], 4);
    assert_eq!(all["config_check"]["valid"], false);
    // The `haproxy -c` message naming the server, and the parse note.
    let messages = non_empty(&all["config_check"], "messages");
    match messages.iter().find(|m| m["server"] == "s2") {
        Some(by_server) => assert_eq!(by_server["proxy"], "bk_app"),
        // 3.2 reads the whole file before any section: the unmatched quote
        // of line 34 stops it before the servers are checked.
        None => {
            assert!(haproxy_at_least(3, 2), "{}", all["config_check"]);
            assert!(
                messages
                    .iter()
                    .any(|m| m["line"] == 34 && m["text"].to_string().contains("unmatched quote")),
                "{}",
                all["config_check"]
            );
        }
    }
    assert_eq!(non_empty(&all["config"], "notes")[0]["line"], 34);
    let sections = non_empty(&all["config"], "sections");
    assert!(sections
        .iter()
        .any(|s| s["condition"] == "defined(HARUN_SHAPES_NEVER_SET)"));
    let kinds: BTreeSet<&str> = non_empty(&all["log_setup"], "haproxy")
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["global", "stdout", "udp", "unix"].into_iter().collect()
    );
    // host_facts() shows rsyslog exactly as log_setup() does.
    assert_eq!(all["host_facts"]["rsyslog"], all["log_setup"]["rsyslog"]);
    assert!(all["host_facts"]["local_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "127.0.0.1"));

    // When haproxy cannot run, `config_check()` has the same keys.
    let mut broken = settings;
    broken.haproxy_bin = dir.path().join("no-such-haproxy");
    let all = eval(broken, "#{config_check: config_check()}");
    let mut walk = Walk::default();
    walk.primitives(&all);
    walk.expect_met(&[&v::CONFIG_CHECK]);
    assert_eq!(all["config_check"]["error_kind"], "binary_not_found");
    assert!(all["config_check"]["valid"].is_null());
}

#[test]
fn syslog_listener_results_carry_their_documented_keys() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    // A real HAProxy logs its httplog lines to the listener; the test adds a
    // tcplog line (the lab has no TCP frontend) and a datagram that is not
    // syslog.
    let Some(lab) = lab_with(Scenario::Healthy, |b| b.log_to(&addr)) else {
        return;
    };
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tcplog = "<134>Nov 23 19:23:03 haproxy[7710]: 10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0";
    let script = format!(
        r#"#{{collect_logs: collect_logs("{addr}", 2, 100), listen_logs: listen_logs("{addr}", 2, 100)}}"#
    );
    let h = harun().args(["--json", "-e", &script]);
    let run = run_while(h, || {
        let _ = lab.get("/", None);
        let _ = sender.send_to(tcplog.as_bytes(), &addr);
        let _ = sender.send_to(b"not syslog", &addr);
    });
    run.expect_code(0);
    let all = run.json();
    let mut walk = Walk::default();
    walk.primitives(&all);
    walk.expect_met(SYSLOG);
    let collected = &all["collect_logs"];
    assert!(collected["junk"].as_i64().unwrap() >= 1, "{collected}");
    non_empty(collected, "junk_sample");
    // listen_logs() alone met both kinds of lines too.
    let mut walk = Walk::default();
    walk.primitive("listen_logs", &all["listen_logs"]);
    walk.expect_met(&[&v::SYSLOG_MESSAGE, &v::HTTP_LOG, &v::TCP_LOG]);
}

#[test]
fn log_primitives_carry_their_documented_keys() {
    // The lab's HAProxy logs to its stdout (its haproxy.log) with a custom log-format on a
    // second frontend; a refused server gives an error line, so the top lists have rows.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(lab) = lab_with(Scenario::Incident, |b| {
        b.log_to("stdout format raw")
            .section("backend bk_refuse\n    server r1 127.0.0.1:1")
            .section(format!(
                "frontend fe_custom\n    bind 127.0.0.1:{port}\n    log-format \"%ci:%cp [%tr] %ft %b/%s %ST %Tw/%Tc/%Tr/%Ta %tsc %{{+Q}}r\"\n    default_backend bk_app"
            ))
    }) else {
        return;
    };
    let _ = lab.get("/ok", None);
    let _ = lab.get("/refused", Some("bk_refuse"));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    use std::io::{Read, Write};
    s.write_all(b"GET /custom HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
        .unwrap();
    let _ = s.read_to_end(&mut Vec::new());
    let log = lab.dir().join("haproxy.log");
    let start = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("/custom")
    {
        assert!(start.elapsed() < Duration::from_secs(15), "nothing logged");
        std::thread::sleep(Duration::from_millis(100));
    }
    let path = log.display().to_string();
    let script = format!(
        r#"#{{logs: logs({path:?}, #{{notices: true}}), log_summary: log_summary({path:?}), explain_termination: explain_termination("sH--"), log_formats: log_formats(), proxy_config: proxy_config("bk_slow")}}"#
    );
    let run = harun().lab(&lab).args(["--json", "-e", &script]).run();
    run.expect_code(0);
    let all = run.json();
    let mut walk = Walk::default();
    walk.primitives(&all);
    walk.expect_met(LOGS);
    // The shape of a 2-character state (tcplog) too: no cookie characters.
    let run = harun()
        .args(["--json", "-e", "explain_termination(\"SC\")"])
        .run();
    let mut walk = Walk::default();
    walk.primitive("explain_termination", &run.json());
    walk.expect_met(&[&v::TERMINATION]);
}

/// Shapes met by `master_cli_processes_carry_their_documented_keys`.
const MASTER: &[&Shape] = &[&v::PROCESS];

#[test]
fn master_cli_processes_carry_their_documented_keys() {
    let Some(lab) = lab_with(Scenario::Healthy, |b| b.master(true)) else {
        return;
    };
    let mut master = std::ffi::OsString::from("master@");
    master.push(lab.master_socket().unwrap());
    let run = harun()
        .arg("-s")
        .arg(master)
        .args(["--json", "-e", "#{processes: processes()}"])
        .run();
    run.expect_code(0);
    let all = run.json();
    non_empty(&all, "processes");
    let mut walk = Walk::default();
    walk.primitives(&all);
    walk.expect_met(MASTER);
}

/// Shapes met by `disagreements_carry_their_documented_keys`.
const DISAGREE: &[&Shape] = &[&v::DISAGREEMENT];

#[test]
fn disagreements_carry_their_documented_keys() {
    let Some(a) = lab(Scenario::Healthy) else {
        return;
    };
    let b = lab_with(Scenario::Healthy, |b| b.section("backend bk_only_here\n")).unwrap();
    socat(&b, "set server bk_app/app1 weight 7");
    let run = harun()
        .arg("-s")
        .arg(a.admin_socket())
        .arg("-s")
        .arg(b.admin_socket())
        .args(["--json", "-e", "#{disagreements: disagreements()}"])
        .run();
    run.expect_code(0);
    let all = run.json();
    let rows = non_empty(&all, "disagreements");
    // A backend row (server ()) and a server row (server a string).
    assert!(rows.iter().any(|r| r["server"].is_null()), "{all}");
    assert!(rows.iter().any(|r| r["server"].is_string()), "{all}");
    let mut walk = Walk::default();
    walk.primitives(&all);
    walk.expect_met(DISAGREE);
}

/// The lists above cover every shape: a shape no test meets fails here.
#[test]
fn every_shape_is_compared_with_real_output() {
    let met: BTreeSet<&str> = LIVE
        .iter()
        .chain(CONFIG_AND_HOST)
        .chain(SYSLOG)
        .chain(LOGS)
        .chain(MASTER)
        .chain(DISAGREE)
        .map(|s| s.what)
        .collect();
    for s in v::all_shapes() {
        assert!(
            met.contains(s.what),
            "{} is compared with no real value: add its primitive to a test of tests/integration/vocabulary.rs",
            s.what
        );
    }
}
