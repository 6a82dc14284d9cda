//! `haproxy -c` and the lint through the real binary and the real haproxy.

use crate::harness::*;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs")
        .join(name)
}

/// An empty rsyslog setup, so the host's /etc/rsyslog.conf never matters.
struct NoRsyslog {
    dir: tempfile::TempDir,
}

impl NoRsyslog {
    fn new() -> NoRsyslog {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rsyslog.conf"), "").unwrap();
        std::fs::create_dir(dir.path().join("rsyslog.d")).unwrap();
        NoRsyslog { dir }
    }
    fn args(&self) -> Vec<PathBuf> {
        rsyslog_at(
            &self.dir.path().join("rsyslog.conf"),
            &self.dir.path().join("rsyslog.d"),
        )
    }
}

fn check_config(cfg: &Path, extra: &[&str]) -> Run {
    let rs = NoRsyslog::new();
    check_config_run(cfg, &rs.args(), extra)
}

/// `check_config --json` on `cfg` with these rsyslog options.
fn check_config_run(cfg: &Path, rsyslog: &[PathBuf], extra: &[&str]) -> Run {
    harun()
        .arg("check_config")
        .arg("-c")
        .arg(cfg)
        .arg("--haproxy-bin")
        .arg(haproxy_bin())
        .args(rsyslog)
        .args(extra)
        .arg("--json")
        .run()
}

/// rsyslog options reading `conf` and the drop-in directory `dir`.
fn rsyslog_at(conf: &Path, dir: &Path) -> Vec<PathBuf> {
    vec![
        "--rsyslog-conf".into(),
        conf.to_path_buf(),
        "--rsyslog-dir".into(),
        dir.to_path_buf(),
    ]
}

const BASE: &str = "\
global
    log 127.0.0.1:514 local0
    maxconn 4096
    stats socket /run/haproxy/admin.sock mode 660 level admin
    stats timeout 30s

defaults
    mode http
    log global
    option httplog
    option prefer-last-server
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe_main
    bind 127.0.0.1:18080
    default_backend bk_app

backend bk_app
    option httpchk GET /health
    server s1 127.0.0.1:18081 check
    server s2 127.0.0.1:18082 check
";

/// BASE logging to /dev/log from a chroot (the socket must exist inside it).
fn chrooted() -> String {
    BASE.replace(
        "    log 127.0.0.1:514 local0\n",
        "    log /dev/log local0\n    chroot /var/lib/haproxy\n",
    )
}

/// One case of the fixture table.
struct Case {
    name: &'static str,
    text: String,
    /// Ids that must appear.
    want: &'static [&'static str],
    /// Ids that must not appear (duplicates of a rule, rules that do not apply).
    not: &'static [&'static str],
    code: i32,
    /// `haproxy -c: <verdict>` printed by check_config.
    verdict: &'static str,
}

fn case(name: &'static str, text: String, want: &'static [&'static str], code: i32) -> Case {
    Case {
        name,
        text,
        want,
        not: &[],
        code,
        verdict: "valid",
    }
}

/// One configuration per rule, plus the cases a rule must not fire on.
fn cases() -> Vec<Case> {
    let b = BASE.to_string();
    vec![
        case("clean", b.clone(), &[], 0),
        Case {
            // HAProxy 2.6 rejects it too: one finding (the rule's), error, with
            // haproxy -c's text as evidence; the verdict still says INVALID.
            not: &["config.invalid"],
            verdict: "INVALID",
            ..case(
                "nbproc",
                b.replace("    maxconn 4096\n", "    maxconn 4096\n    nbproc 4\n"),
                &["config.nbproc"],
                1,
            )
        },
        case(
            "no-log",
            b.replace("    log 127.0.0.1:514 local0\n", "")
                .replace("    log global\n", ""),
            &["config.no-log"],
            0,
        ),
        case(
            "log-lost-in-chroot",
            chrooted(),
            &["config.log-lost-in-chroot"],
            1,
        ),
        case(
            "server-close",
            b.replace(
                "    option prefer-last-server\n",
                "    option http-server-close\n",
            ),
            &["config.server-close"],
            0,
        ),
        case(
            "no-prefer-last-server",
            b.replace("    option prefer-last-server\n", ""),
            &["config.no-prefer-last-server"],
            0,
        ),
        Case {
            // Hash-based balancing: prefer-last-server makes no sense there.
            not: &["config.no-prefer-last-server"],
            ..case(
                "no-prefer-last-server-hash",
                b.replace("    option prefer-last-server\n", "").replace(
                    "    option httpchk GET /health\n",
                    "    option httpchk GET /health\n    balance uri\n",
                ),
                &[],
                0,
            )
        },
        case(
            "no-stats-socket",
            b.replace(
                "    stats socket /run/haproxy/admin.sock mode 660 level admin\n",
                "",
            ),
            &["config.no-stats-socket"],
            0,
        ),
        case(
            "stats-socket-not-admin",
            b.replace(" mode 660 level admin", " mode 660"),
            &["config.stats-socket-not-admin"],
            0,
        ),
        case(
            "stats-socket-exposed",
            b.replace(
                "    stats timeout 30s\n",
                "    stats timeout 30s\n    stats socket ipv4@0.0.0.0:9999 level admin\n",
            ),
            &["config.stats-socket-exposed"],
            1,
        ),
        case(
            "stats-socket-world-writable",
            b.replace(" mode 660 level admin", " mode 666 level admin"),
            &["config.stats-socket-world-writable"],
            1,
        ),
        case(
            "debug-header",
            b.replace(
                "    option httpchk GET /health\n",
                "    option httpchk GET /health\n    http-response set-header X-Backend bk_app\n",
            ),
            &["config.debug-header"],
            0,
        ),
        case(
            "debug-header-frontend",
            b.replace(
                "    default_backend bk_app\n",
                "    default_backend bk_app\n    http-after-response set-header X-Served-By %[be_name]/%[srv_name]\n",
            ),
            &["config.debug-header"],
            0,
        ),
        Case {
            // haproxy -c warns about the same proxy: folded into the rule.
            not: &["config.warning"],
            ..case(
                "timeouts-missing",
                b.replace("    timeout server 30s\n", ""),
                &["config.timeouts-missing"],
                0,
            )
        },
        case(
            "no-maxconn",
            b.replace("    maxconn 4096\n", ""),
            &["config.no-maxconn"],
            0,
        ),
        case(
            "maxconn-vs-ulimit",
            b.replace(
                "    maxconn 4096\n",
                "    maxconn 4096\n    ulimit-n 1024\n",
            ),
            &["config.maxconn-vs-ulimit"],
            0,
        ),
        case(
            "no-health-check",
            b.replace(" check\n", "\n"),
            &["config.no-health-check"],
            0,
        ),
        Case {
            // A tracking server follows the tracked server's checks.
            not: &["config.no-health-check"],
            ..case(
                "no-health-check-track",
                b.replace(
                    "    server s2 127.0.0.1:18082 check\n",
                    "    server s2 127.0.0.1:18082 track bk_app/s1\n",
                ),
                &[],
                0,
            )
        },
        case(
            "single-server-backend",
            b.replace("    server s2 127.0.0.1:18082 check\n", ""),
            &["config.single-server-backend"],
            0,
        ),
        Case {
            verdict: "INVALID",
            ..case(
                "invalid",
                b.replace(
                    "    maxconn 4096\n",
                    "    maxconn 4096\n    bogus-keyword on\n",
                ),
                &["config.invalid"],
                1,
            )
        },
    ]
}

#[test]
fn every_rule_through_check_config() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for c in cases() {
        let name = c.name;
        let p = dir.path().join(format!("{name}.cfg"));
        std::fs::write(&p, &c.text).unwrap();
        let run = check_config(&p, &[]);
        assert_eq!(
            run.code, c.code,
            "{name}: exit code\n{}\n{}",
            run.stdout, run.stderr
        );
        let got = run.finding_ids();
        for id in c.want {
            assert!(
                got.iter().any(|g| g == id),
                "{name}: {id} missing in {got:?}"
            );
        }
        for id in c.not {
            assert!(
                !got.iter().any(|g| g == id),
                "{name}: {id} must not appear in {got:?}"
            );
        }
        if c.want.is_empty() {
            assert!(got.is_empty(), "{name}: expected no finding: {got:?}");
        }
        let out = run.json()["output"].to_string();
        assert!(
            out.contains(&format!("haproxy -c: {}", c.verdict)),
            "{name}: verdict {}: {out}",
            c.verdict
        );
        // Every finding carries its fix and its evidence.
        for f in run.json()["findings"].as_array().unwrap() {
            assert!(f["advice"].is_string(), "{name}: {f}");
            assert!(f["evidence"].is_array(), "{name}: {f}");
        }
    }
}

/// The rule findings that haproxy -c also reports carry its text and its severity.
#[test]
fn haproxy_c_duplicates_are_one_finding() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("h.cfg");
    let run_on = |text: String| {
        std::fs::write(&p, text).unwrap();
        check_config(&p, &[])
    };
    // nbproc: an alert on 2.5+ (HAProxy stops there, before its other checks).
    let run = run_on(BASE.replace("    maxconn 4096\n", "    maxconn 4096\n    nbproc 2\n"));
    run.expect_code(1);
    let v = run.json();
    assert!(findings_with(&v, "config.invalid").is_empty(), "{v}");
    let n = findings_with(&v, "config.nbproc");
    assert_eq!(n.len(), 1, "{v}");
    assert_eq!(n[0]["severity"], "error");
    assert!(
        n[0]["evidence"].to_string().contains("haproxy -c alert"),
        "{}",
        n[0]
    );
    // Two proxies without any timeout: two warnings named by proxy.
    let run = run_on(BASE.replace(
        "    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n",
        "",
    ));
    run.expect_code(0);
    let v = run.json();
    assert!(findings_with(&v, "config.warning").is_empty(), "{v}");
    let t = findings_with(&v, "config.timeouts-missing");
    assert_eq!(t.len(), 2, "{v}");
    for f in t {
        assert!(
            f["evidence"]
                .to_string()
                .contains("haproxy -c warning: missing timeouts for"),
            "{f}"
        );
    }
}

/// Without rsyslog's configuration, chroot logging cannot be verified: a warning.
#[test]
fn chroot_logs_without_rsyslog_configuration_are_a_warning() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("h.cfg");
    std::fs::write(&cfg, chrooted()).unwrap();
    let missing = rsyslog_at(
        &dir.path().join("missing-rsyslog.conf"),
        &dir.path().join("missing.d"),
    );
    let run = check_config_run(&cfg, &missing, &[]);
    run.expect_code(0);
    let f = run.finding("config.log-lost-in-chroot");
    assert_eq!(f["severity"], "warning");
    assert!(f["title"].as_str().unwrap().contains("not verified"), "{f}");
    assert!(
        f["evidence"]
            .to_string()
            .contains("rsyslog configuration not read"),
        "{f}"
    );
}

#[test]
fn chroot_socket_provided_by_rsyslog_is_not_lost() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("h.cfg");
    std::fs::write(&cfg, chrooted()).unwrap();
    let conf = dir.path().join("rsyslog.conf");
    std::fs::write(&conf, "$IncludeConfig /etc/rsyslog.d/*.conf\n").unwrap();
    let d = dir.path().join("rsyslog.d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(
        d.join("49-haproxy.conf"),
        "$AddUnixListenSocket /var/lib/haproxy/dev/log\n",
    )
    .unwrap();
    let run = check_config_run(&cfg, &rsyslog_at(&conf, &d), &[]);
    run.expect_code(0);
    assert!(!run
        .finding_ids()
        .contains(&"config.log-lost-in-chroot".to_string()));
}

#[test]
fn config_check_reports_file_and_line() {
    if !require_haproxy() {
        return;
    }
    let cfg = fixture("unknown-keyword.cfg");
    let run = harun()
        .arg("-c")
        .arg(&cfg)
        .arg("--haproxy-bin")
        .arg(haproxy_bin())
        .args(["--json", "-e", "config_check()"])
        .run();
    run.expect_code(0);
    let v = run.json();
    assert_eq!(v["valid"], false);
    assert_eq!(v["exit_code"], 1);
    let alert = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["level"] == "alert" && m["line"] == 3)
        .unwrap_or_else(|| panic!("no alert at line 3: {v}"));
    assert!(alert["file"]
        .as_str()
        .unwrap()
        .ends_with("unknown-keyword.cfg"));
    assert!(alert["text"].as_str().unwrap().contains("foo"), "{alert}");

    // The model keeps file:line too.
    let run = harun()
        .arg("-c")
        .arg(&cfg)
        .args([
            "--json",
            "-e",
            r#"let m = config(); m.sections.filter(|s| s.kind == "global")[0].directives[0]"#,
        ])
        .run();
    run.expect_code(0);
    let d = run.json();
    assert!(d["line"].as_i64().unwrap() > 0, "{d}");
    assert!(d["file"].as_str().unwrap().ends_with("unknown-keyword.cfg"));
}

#[test]
fn missing_haproxy_binary_is_a_finding_not_a_crash() {
    let rs = NoRsyslog::new();
    let run = harun()
        .arg("check_config")
        .arg("-c")
        .arg(fixture("valid.cfg"))
        .args(["--haproxy-bin", "/nonexistent/haproxy", "--json"])
        .args(rs.args())
        .run();
    run.expect_code(0);
    let f = run.finding("config.check-unavailable");
    assert!(f["advice"].as_str().unwrap().contains("--haproxy-bin"));
    assert!(f["evidence"][0]
        .as_str()
        .unwrap()
        .contains("/nonexistent/haproxy"));

    // config_check() returns the error instead of raising it.
    let run = harun()
        .arg("-c")
        .arg(fixture("valid.cfg"))
        .args(["--haproxy-bin", "/nonexistent/haproxy", "--json"])
        .args([
            "-e",
            "let r = config_check(); [r.valid, r.error_kind, r.error]",
        ])
        .run();
    run.expect_code(0);
    let v = run.json();
    assert!(v[0].is_null(), "{v}");
    assert_eq!(v[1], "binary_not_found");
    assert!(v[2].as_str().unwrap().contains("--haproxy-bin"), "{v}");
}

#[test]
fn unreadable_inputs_are_findings() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();

    // A binary file.
    let bin = dir.path().join("binary.cfg");
    std::fs::write(&bin, b"\x7fELF\x02\x01\x01\0\0\0\0\0\xff\xfe\x00garbage").unwrap();
    let run = check_config(&bin, &[]);
    run.expect_code(1);
    assert!(
        run.finding_ids().contains(&"config.unreadable".to_string()),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);

    // A missing file: unreadable, not also haproxy -c's "Cannot open"; not checked.
    let run = check_config(&dir.path().join("nope.cfg"), &[]);
    run.expect_code(1);
    assert_eq!(run.finding_ids(), ["config.unreadable"], "{}", run.stdout);
    assert!(
        run.json()["output"]
            .to_string()
            .contains("haproxy -c: not checked"),
        "{}",
        run.stdout
    );
    // The same through -p path=.
    let rs = NoRsyslog::new();
    let run = harun()
        .arg("check_config")
        .arg("--haproxy-bin")
        .arg(haproxy_bin())
        .args(rs.args())
        .arg("-p")
        .arg(format!("path={}", dir.path().join("nope.cfg").display()))
        .arg("--json")
        .run();
    run.expect_code(1);
    assert_eq!(run.finding_ids(), ["config.unreadable"], "{}", run.stdout);
    assert!(
        run.json()["output"]
            .to_string()
            .contains("haproxy -c: not checked"),
        "{}",
        run.stdout
    );

    // config() raises a catchable error with a kind.
    let run = harun()
        .arg("-c")
        .arg(&bin)
        .args([
            "--json",
            "-e",
            "let k = \"no error\"; try { config(); } catch (e) { k = e.kind; } k",
        ])
        .run();
    run.expect_code(0);
    assert_eq!(run.json(), "config_unreadable");

    // A directory of *.cfg files, as `haproxy -f DIR` reads it.
    let d = dir.path().join("conf.d");
    std::fs::create_dir(&d).unwrap();
    let (head, tail) = BASE.split_at(BASE.find("frontend fe_main").unwrap());
    std::fs::write(d.join("00-global.cfg"), head).unwrap();
    std::fs::write(d.join("10-proxies.cfg"), tail).unwrap();
    std::fs::write(d.join("README"), "not a cfg: ignored").unwrap();
    let run = check_config(&d, &[]);
    run.expect_code(0);
    assert!(run.finding_ids().is_empty(), "{}", run.stdout);
}

#[test]
fn ten_megabyte_config_is_checked() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.cfg");
    let mut text = BASE.replace("    server s2 127.0.0.1:18082 check\n", "");
    let mut i = 0;
    while text.len() < 10 * 1024 * 1024 {
        if i % 50 == 0 {
            text.push_str(&format!(
                "\nbackend bk_{i}\n    server s1 127.0.0.1:{} check\n    server s2 127.0.0.1:{} check\n",
                20000 + i % 1000,
                21000 + i % 1000
            ));
        }
        text.push_str(
            "    # padding padding padding padding padding padding padding padding padding\n",
        );
        i += 1;
    }
    std::fs::write(&p, &text).unwrap();
    let run = check_config(&p, &["--max-time", "300"]);
    let got = run.finding_ids();
    assert!(
        got.contains(&"config.single-server-backend".to_string()),
        "{got:?}"
    );
    assert!(
        !got.contains(&"config.invalid".to_string()),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

/// Debian's own configuration and examples, read from the installed package.
#[test]
fn debian_configs_do_not_crash() {
    if !require_haproxy() {
        return;
    }
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let mut files: Vec<PathBuf> = vec!["/etc/haproxy/haproxy.cfg".into()];
    match std::fs::read_dir("/usr/share/doc/haproxy/examples") {
        Ok(rd) => {
            let mut ex: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
                .collect();
            ex.sort();
            assert!(!ex.is_empty() || !ci, "no example configs installed");
            files.extend(ex);
        }
        Err(e) => {
            assert!(!ci, "/usr/share/doc/haproxy/examples: {e} (CI=true)");
            eprintln!("SKIPPED examples: {e}");
        }
    }
    for f in files {
        if !f.exists() {
            assert!(!ci, "{} missing (CI=true)", f.display());
            eprintln!("SKIPPED {}", f.display());
            continue;
        }
        let run = check_config(&f, &[]);
        assert!(
            run.code == 0 || run.code == 1,
            "{}: exit {}\n{}\n{}",
            f.display(),
            run.code,
            run.stdout,
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        let _ = run.finding_ids();
    }
}
