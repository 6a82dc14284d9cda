//! `harun lab -c CONFIG`: the real haproxy started from a user's own
//! configuration (the fixtures under tests/fixtures/configs/lab), rewritten.

use crate::harness::*;
use harun::lab::Lab;
use harun::Runner;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs/lab")
        .join(name)
}

/// A lab from a fixture, or None (skip) when haproxy is missing outside CI.
fn config_lab(
    name: &str,
    options: impl FnOnce(harun::lab::LabBuilder) -> harun::lab::LabBuilder,
) -> Option<Lab> {
    if !require_haproxy() {
        return None;
    }
    let b = Lab::builder()
        .haproxy_bin(haproxy_bin())
        .config([fixture(name)]);
    Some(options(b).start().expect("the configuration lab starts"))
}

fn runner(lab: &Lab) -> Runner {
    Runner::builder()
        .lab(lab)
        .haproxy_bin(haproxy_bin())
        .read_only(true)
        .build()
        .unwrap()
}

#[test]
fn drain_is_rehearsed_on_production_backends() {
    if !require_haproxy() {
        return;
    }
    let run = harun()
        .args(["lab", "-c"])
        .arg(fixture("prod.cfg"))
        .args(["--haproxy-bin"])
        .arg(haproxy_bin())
        .args([
            "drain_server",
            "-p",
            "server=bk_app/app1",
            "-p",
            "timeout=20",
            "--yes",
            "--json",
        ])
        .run();
    run.expect_code(0);
    let done = run.finding("drain.done");
    assert!(
        done["title"].as_str().unwrap().contains("bk_app/app1"),
        "{done}"
    );
    // The rewrites were printed before the run, one per line, with the
    // user's file:line.
    for line in [
        "prod.cfg:8: global: removed `chroot /var/lib/haproxy`",
        "prod.cfg:81: backend bk_app: server app1 10.0.1.11:8080 -> 127.0.0.1:",
        "prod.cfg:57: frontend fe_https: bind :443 -> 127.0.0.1:",
        "harun-lab-prelude.cfg: global: added `localpeer lb1`",
    ] {
        assert!(run.stderr.contains(line), "{line}\n{}", run.stderr);
    }
    assert_eq!(
        run.json()["writes"][0]["command"],
        "set server bk_app/app1 state drain"
    );
}

#[test]
fn down_and_slow_servers_show_in_servers_and_troubleshoot() {
    let Some(lab) = config_lab("prod.cfg", |b| {
        b.down("bk_app/app2")
            // Past its 1s check timeout (prod.cfg: default-server inter 1s):
            // HAProxy sees it DOWN, as it would a hung server.
            .slow("bk_api/api2", std::time::Duration::from_secs(3))
    }) else {
        return;
    };
    let runner = runner(&lab);
    let report = runner.eval(
        r#"servers().filter(|s| s.name == "bk_app/app2" || s.name == "bk_api/api2" || s.name == "bk_app/app1").map(|s| `${s.name}=${s.op_state}`)"#,
    );
    assert!(report.error.is_none(), "{:?}", report.error);
    let states: Vec<String> = serde_json::from_value(report.value.unwrap()).unwrap();
    assert_eq!(
        states,
        [
            "bk_app/app1=running",
            "bk_app/app2=stopped",
            "bk_api/api2=stopped"
        ]
    );
    let report = runner.eval(
        r#"stat().filter(|r| r.svname == "app2" || r.svname == "api2").map(|r| `${r.pxname}/${r.svname} ${r.check_status}`)"#,
    );
    let checks: Vec<String> = serde_json::from_value(report.value.unwrap()).unwrap();
    assert_eq!(checks, ["bk_app/app2 L4CON", "bk_api/api2 L7TOUT"]);

    let report = runner.run_playbook("troubleshoot").unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    let down: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.id == "servers.down")
        .collect();
    let text = format!("{down:?}");
    assert!(
        text.contains("bk_app/app2") && text.contains("L4CON"),
        "{text}"
    );
    assert!(
        text.contains("bk_api/api2") && text.contains("L7TOUT"),
        "{text}"
    );
    // The lab's copy is valid for haproxy -c: no config.invalid finding.
    assert!(!report.findings.iter().any(|f| f.id == "config.invalid"));
    // The notes about the rehearsal are data for the library user too.
    assert!(lab
        .rewrites()
        .iter()
        .any(|r| r.from == "--slow bk_api/api2=3s"));
}

#[test]
fn template_slots_get_their_own_responders() {
    let Some(lab) = config_lab("prod.cfg", |b| b.down("bk_api/api3")) else {
        return;
    };
    let state = socat(&lab, "show servers state bk_api");
    let ports: Vec<&str> = state
        .lines()
        .filter(|l| !l.trim().is_empty())
        .skip(2)
        .filter_map(|l| l.split_whitespace().nth(18))
        .collect();
    assert_eq!(ports.len(), 3, "{state}");
    assert!(
        ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2],
        "{state}"
    );
    assert_eq!(status_of(&lab, "bk_api", "api1"), "UP");
    assert!(lab.config_path().ends_with("cfg/prod.cfg"));
    assert!(lab.config_paths()[0].ends_with("harun-lab-prelude.cfg"));
    assert_eq!(status_of(&lab, "bk_api", "api3"), "DOWN");
    // Every bind listens on loopback, one per line of the configuration.
    let binds: Vec<_> = lab.binds().iter().map(|b| b.original.as_str()).collect();
    assert_eq!(
        binds,
        [
            ":80",
            ":443",
            "ipv6@:::443",
            "10.0.0.1:8443",
            "10.0.0.1:3306",
            ":8404",
            "10.0.0.1:2525"
        ]
    );
    assert!(lab
        .binds()
        .iter()
        .all(|b| b.tcp.is_some_and(|a| a.ip().is_loopback())));
    // The `listen stats` section serves its page on its lab port.
    let stats = lab.binds()[5].tcp.unwrap();
    let reply = get(stats, "/stats");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

/// One plain HTTP/1.0 GET, the whole reply.
fn get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: lab\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn debian_default_config_runs_troubleshoot() {
    if !require_haproxy() {
        return;
    }
    let run = harun()
        .args(["lab", "--config"])
        .arg(fixture("debian.cfg"))
        .arg("--haproxy-bin")
        .arg(haproxy_bin())
        .args(["troubleshoot", "--json"])
        .run();
    run.expect_code(0);
    let ids = run.finding_ids();
    assert!(!ids.iter().any(|i| i == "config.invalid"), "{ids:?}");
    assert!(!ids.iter().any(|i| i == "servers.down"), "{ids:?}");
    for line in [
        "debian.cfg:3: global: log /dev/log -> stderr",
        "debian.cfg:5: global: removed `chroot /var/lib/haproxy`",
        "debian.cfg:8: global: removed `user haproxy`",
        "debian.cfg:40: frontend fe_main: crt www.example.com.pem -> crt ",
    ] {
        assert!(run.stderr.contains(line), "{line}\n{}", run.stderr);
    }
}

#[test]
fn a_directory_of_files_works_like_haproxy_f_dir() {
    let Some(lab) = config_lab("split", |b| b) else {
        return;
    };
    let names: Vec<_> = lab
        .config_paths()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["00-global.cfg", "10-app.cfg"]);
    assert_eq!(status_of(&lab, "bk_app", "app1"), "UP");
    assert!(lab.rewrites()[0].to_string().starts_with(&format!(
        "{}:3: global: log /dev/log -> stderr",
        fixture("split").join("00-global.cfg").display()
    )));
}

#[test]
fn a_configuration_that_cannot_run_is_exit_2_with_file_line() {
    if !require_haproxy() {
        return;
    }
    let base = || {
        harun()
            .arg("lab")
            .arg("--haproxy-bin")
            .arg(haproxy_bin())
            .arg("-c")
    };
    let run = base()
        .arg(fixture("unknown-section.cfg"))
        .arg("troubleshoot")
        .run();
    run.expect_code(2);
    let want = format!(
        "{}:13: unknown keyword 'frontnd' in 'backend' section",
        fixture("unknown-section.cfg").display()
    );
    assert!(run.stderr.contains(&want), "{}", run.stderr);
    assert!(
        !run.stderr.contains("admin socket"),
        "nothing started: {}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    let run = base()
        .arg(fixture("prod.cfg"))
        .args(["--down", "bk_ap/app1"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "--down `bk_ap/app1`: no such server in the configuration; did you mean `bk_app/app1`?"
        ),
        "{}",
        run.stderr
    );
    let run = base().arg(fixture("missing.cfg")).run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("missing.cfg: cannot read"),
        "{}",
        run.stderr
    );

    // The library says the same.
    let e = Lab::builder()
        .haproxy_bin(haproxy_bin())
        .config([fixture("unknown-section.cfg")])
        .start()
        .err()
        .expect("refused");
    assert!(e.to_string().contains(&want), "{e}");
}

#[test]
fn only_a_typed_config_makes_a_config_lab() {
    // HARUN_CONFIG is a setting for runs against production, not a request
    // to rehearse: `harun lab` keeps to its scenarios without -c.
    let run = harun()
        .env("HARUN_CONFIG", fixture("prod.cfg"))
        .args(["lab", "--down", "bk_app/app1"])
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("--down and --slow apply to a lab started from your configuration: add -c/--config PATH"), "{}", run.stderr);
    let run = harun()
        .args(["lab", "-c"])
        .arg(fixture("prod.cfg"))
        .args(["queues"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("`queues` is a lab scenario"),
        "{}",
        run.stderr
    );
    let run = harun()
        .args(["lab", "-c"])
        .arg(fixture("prod.cfg"))
        .args(["--slow", "bk_app/app1"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("--slow `bk_app/app1`: expected BACKEND/SERVER=DELAY"),
        "{}",
        run.stderr
    );
    // Several -c, in order, as haproxy -f: the servers of the second file are known.
    let run = harun()
        .args(["lab", "-c"])
        .arg(fixture("split/00-global.cfg"))
        .arg("-c")
        .arg(fixture("split/10-app.cfg"))
        .args(["--down", "bk_app/app9"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("did you mean `bk_app/app1`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn ctrl_c_while_the_lab_waits_for_a_down_server_cleans_up() {
    if !require_haproxy() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // s1's first check comes half an `inter` (30s) after start: the lab waits.
    let cfg = tmp.path().join("wait.cfg");
    std::fs::write(
        &cfg,
        "global\n  stats socket /run/haproxy/admin.sock level admin\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nbackend b\n  server s2 10.0.0.2:80 check inter 60s\n  server s1 10.0.0.1:80 check inter 60s\n",
    )
    .unwrap();
    let labs = tmp.path().join("labs");
    std::fs::create_dir(&labs).unwrap();
    let err = tmp.path().join("stderr");
    let mut child = harun_process()
        .env("TMPDIR", &labs)
        .args(["lab", "--haproxy-bin"])
        .arg(haproxy_bin())
        .arg("-c")
        .arg(&cfg)
        .args(["--down", "b/s1", "troubleshoot"])
        .stderr(std::fs::File::create(&err).unwrap())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until haproxy runs in the lab's directory, then interrupt.
    let started = (0..400).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::read_dir(&labs)
            .unwrap()
            .flatten()
            .any(|d| d.path().join("haproxy.log").exists())
    });
    assert!(started, "{}", std::fs::read_to_string(&err).unwrap());
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?} {stderr}");
    assert!(
        stderr.contains("harun: error: lab: interrupted"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(&labs).unwrap().flatten().collect();
    assert!(left.is_empty(), "the lab's directory is removed: {left:?}");
}

#[test]
fn findings_name_the_users_files_and_judge_production() {
    if !require_haproxy() {
        return;
    }
    let prod = fixture("prod.cfg");
    let run = harun()
        .args(["lab", "-c"])
        .arg(&prod)
        .arg("--haproxy-bin")
        .arg(haproxy_bin())
        .args(["check_config", "--json"])
        .run();
    run.expect_code(0);
    // The lab's copy is deleted after the run: no finding may point at it.
    let findings = run.json()["findings"].to_string();
    assert!(!findings.contains("harun-lab-"), "{findings}");
    let at = |line: u32| format!("{}:{line}", prod.display());
    // haproxy -c ran on the copy; its warning names the user's line.
    // (3.2 adds a warning of its own about legacy mailers: pick ours.)
    let warnings: Vec<String> = findings_with(&run.json(), "config.warning")
        .into_iter()
        .map(evidence)
        .collect();
    let warning = warnings
        .iter()
        .find(|w| w.contains("'option httplog' not usable"))
        .unwrap_or_else(|| panic!("{warnings:?}"));
    assert!(warning.contains(&at(120)), "{warning}");
    // The lint read production's own lines: its chroot and /dev/log, which
    // the lab's copy no longer has.
    let chroot = evidence(&run.finding("config.log-lost-in-chroot"));
    assert!(
        chroot.contains(&at(6)) && chroot.contains(&at(8)),
        "{chroot}"
    );
    let keepalive = evidence(findings_with(&run.json(), "config.no-prefer-last-server")[0]);
    assert!(keepalive.contains(&at(72)), "{keepalive}");

    // The library does the same through Runner::lab.
    let Some(lab) = config_lab("prod.cfg", |b| b) else {
        return;
    };
    let report = runner(&lab).run_playbook("check_config").unwrap();
    let text = serde_json::to_string(&report.findings).unwrap();
    assert!(!text.contains(&lab.dir().display().to_string()), "{text}");
    assert!(text.contains(&at(120)), "{text}");
}

#[test]
fn production_lua_runs_only_with_keep_lua() {
    if !require_haproxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let lua = dir.path().join("tag.lua");
    std::fs::write(
        &lua,
        "core.register_action(\"tag\", { \"http-req\" }, function(txn) end)\n",
    )
    .unwrap();
    let cfg = dir.path().join("lua.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    lua-load {}\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind :80\n    http-request lua.tag\n    default_backend b\nbackend b\n    server s1 10.0.0.1:80\n",
            lua.display()
        ),
    )
    .unwrap();
    let base = || {
        harun()
            .args(["lab", "--haproxy-bin"])
            .arg(haproxy_bin())
            .arg("-c")
            .arg(&cfg)
    };
    let run = base().arg("check_config").run();
    run.expect_code(2);
    for want in [
        format!("{}:10: ", cfg.display()),
        format!(
            "the lab did not load the Lua scripts of {}:2: if the configuration uses their actions, services or fetches, --keep-lua runs them",
            cfg.display()
        ),
    ] {
        assert!(run.stderr.contains(&want), "{want}\n{}", run.stderr);
    }
    let run = base().args(["--keep-lua", "check_config"]).run();
    run.expect_code(0);
    assert!(!run.stderr.contains("lua-load"), "{}", run.stderr);
    // Without -c there is no Lua to keep.
    let run = harun().args(["lab", "--keep-lua"]).run();
    run.expect_code(2);
    assert!(run
        .stderr
        .contains("--keep-lua applies to a lab started from your configuration"));
}

/// Real-world configurations the lab once refused or changed in meaning
/// (tests/fixtures/configs/lab/real): PHP-FPM behind `use-fcgi-app` on a
/// UNIX socket, and an admin socket whose path is an environment variable
/// (it stayed a UNIX socket, not a TCP one). Both start, every server is in
/// the lab, and requests reach the responders.
#[test]
fn real_world_fastcgi_and_environment_variables_start() {
    let Some(lab) = config_lab("real/fcgi-php.cfg", |b| b) else {
        return;
    };
    let ids: Vec<String> = lab.servers().iter().map(|s| s.id()).collect();
    assert_eq!(ids, ["the_backend/the_server"]);
    let body = lab.get("/index.php", None).expect("served over HTTP");
    assert!(body.contains("the_server"), "{body}");
    drop(lab);

    let Some(lab) = config_lab("real/features.cfg", |b| b) else {
        return;
    };
    assert!(
        lab.admin_socket().ends_with("sock/admin.sock"),
        "{}",
        lab.admin_socket().display()
    );
    assert!(
        !lab.rewrites()
            .iter()
            .any(|w| w.to.contains("harun-admin.sock")),
        "the configuration's own admin socket is used"
    );
    let report = runner(&lab).eval(r#"servers().map(|s| `${s.name}=${s.op_state}`)"#);
    assert!(report.error.is_none(), "{:?}", report.error);
    let states: Vec<String> = serde_json::from_value(report.value.unwrap()).unwrap();
    assert_eq!(
        states,
        [
            "bk_app/app1=running",
            "bk_app/app2=running",
            "bk_app/app3=running",
            "bk_loop/via_abns=running",
            "bk_loop/via_unix=running"
        ]
    );
}
