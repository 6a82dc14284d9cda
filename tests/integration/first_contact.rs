//! First contact: the first screen of every command of `harun --help`, as a
//! person who never read the docs meets it, on three hosts: no HAProxy at
//! all, HAProxy installed and stopped, HAProxy running Debian's default
//! configuration. Golden transcripts (exit code, stdout, stderr) live in
//! `snapshots/`: any change to what a newcomer sees shows as a diff there.
//!
//! Hermetic: the configuration, rsyslog files, journal, history and socket
//! all live in a temporary directory (Debian's files from
//! `tests/fixtures/debian`), and every run passes `-c`, `--haproxy-bin`,
//! `--rsyslog-conf`, `--rsyslog-dir` and `--journal`; nothing reads the
//! machine's /etc/haproxy or talks to a system HAProxy. Live values (paths,
//! versions, uptime, ports, widths of tables around them) are normalised by
//! the filters in [`assert_screen`].
//!
//! A new or changed screen fails under `CI=true`; review it and accept it
//! with `INSTA_UPDATE=always cargo test --test integration first_contact`.

use crate::harness::*;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/debian")
        .join(name)
}

/// A host as harun finds it, laid out in a temporary directory that is also
/// the working directory of every run.
struct Host {
    dir: tempfile::TempDir,
    haproxy_bin: PathBuf,
}

impl Host {
    /// No HAProxy at all: no binary, no configuration, no rsyslog, no socket.
    fn without_haproxy() -> Host {
        Host {
            dir: tempfile::tempdir().unwrap(),
            haproxy_bin: PathBuf::from("/nonexistent/haproxy"),
        }
    }

    /// Debian's package installed: its haproxy.cfg (socket and errorfiles
    /// moved into the directory), rsyslog.conf and 49-haproxy.conf.
    fn debian(haproxy_bin: PathBuf) -> Host {
        let h = Host {
            dir: tempfile::tempdir().unwrap(),
            haproxy_bin,
        };
        let d = h.path();
        let errors = d.join("errors");
        std::fs::create_dir_all(&errors).unwrap();
        for code in [400, 403, 408, 500, 502, 503, 504] {
            std::fs::write(
                errors.join(format!("{code}.http")),
                format!("HTTP/1.0 {code} Error\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>{code}</h1></body></html>\n"),
            )
            .unwrap();
        }
        let cfg = std::fs::read_to_string(fixture("haproxy.cfg"))
            .unwrap()
            .replace(
                "/run/haproxy/admin.sock",
                d.join("admin.sock").to_str().unwrap(),
            )
            .replace("/etc/haproxy/errors", errors.to_str().unwrap());
        std::fs::write(d.join("haproxy.cfg"), cfg).unwrap();
        std::fs::copy(fixture("rsyslog.conf"), d.join("rsyslog.conf")).unwrap();
        std::fs::create_dir_all(d.join("rsyslog.d")).unwrap();
        std::fs::copy(
            fixture("rsyslog.d/49-haproxy.conf"),
            d.join("rsyslog.d/49-haproxy.conf"),
        )
        .unwrap();
        h
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Start the real haproxy on this host's configuration. Debian runs it
    /// as root in a chroot, dropping to user haproxy; a test may not be
    /// root, so the running copy leaves out `chroot`, `user`, `group` and
    /// `daemon` (harun still reads the configuration as Debian ships it).
    fn start(&self) -> Running {
        let cfg = std::fs::read_to_string(self.path().join("haproxy.cfg")).unwrap();
        let runnable: String = cfg
            .lines()
            .filter(|l| {
                let w = l.split_whitespace().next().unwrap_or("");
                !["chroot", "user", "group", "daemon"].contains(&w)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let run_cfg = self.path().join("running.cfg");
        std::fs::write(&run_cfg, runnable).unwrap();
        let child = std::process::Command::new(&self.haproxy_bin)
            .arg("-db")
            .arg("-f")
            .arg(&run_cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("haproxy starts");
        let mut running = Running(child);
        let sock = self.path().join("admin.sock");
        let start = Instant::now();
        while std::os::unix::net::UnixStream::connect(&sock).is_err() {
            if let Ok(Some(status)) = running.0.try_wait() {
                panic!("haproxy exited ({status}) on {}", run_cfg.display());
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "haproxy did not open {}",
                sock.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        running
    }

    /// The options that keep a run on this host only.
    fn hermetic_args(&self) -> Vec<OsString> {
        let d = self.path();
        vec![
            "--haproxy-bin".into(),
            self.haproxy_bin.clone().into(),
            "--rsyslog-conf".into(),
            d.join("rsyslog.conf").into(),
            "--rsyslog-dir".into(),
            d.join("rsyslog.d").into(),
            "--journal".into(),
            d.join("journal.jsonl").into(),
        ]
    }

    /// Run `harun ARGS` here (stdin from `input`), as a transcript:
    /// the command as typed, its exit code, stdout and stderr.
    fn screen(&self, args: &[&str], input: Option<&str>) -> String {
        let mut h = harun()
            .args(args)
            .args(self.hermetic_args())
            // The host's configuration through the environment, as a user's
            // shell would set it: `-c` on `harun lab` means "rehearse on this
            // configuration", which is not what these screens show.
            .env("HARUN_CONFIG", self.path().join("haproxy.cfg"))
            .env("XDG_STATE_HOME", self.path().join("state"))
            .current_dir(self.path());
        if let Some(i) = input {
            h = h.stdin(i);
        }
        let run = h.run();
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.is_empty() || a.contains(' ') || a.contains('(') {
                    format!("'{a}'")
                } else {
                    a.to_string()
                }
            })
            .collect();
        format!(
            "$ harun {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
            shown.join(" "),
            run.code,
            run.stdout,
            run.stderr
        )
    }
}

/// A haproxy this test started; stopped when dropped, also on panic.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Compare a transcript with its golden file, live values normalised.
fn assert_screen(host: &Host, name: &str, text: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.set_snapshot_path("snapshots");
    let dir = host.path().to_str().unwrap();
    s.add_filter(&regex_escape(dir), "[TMP]");
    if let Ok(real) = host.path().canonicalize() {
        s.add_filter(&regex_escape(real.to_str().unwrap()), "[TMP]");
    }
    s.add_filter(r"/\S*harun-lab-\w+", "[LAB]");
    // Ephemeral ports only: 514 and 5514 are part of the advice.
    s.add_filter(r"127\.0\.0\.1:\d{5}", "127.0.0.1:[PORT]");
    s.add_filter(
        r"harun-snapshot-\d{8}T\d{6}Z(-\d+)?",
        "harun-snapshot-[TIME]",
    );
    // The hermetic HARUN_CONFIG (see `screen`) is not what a user sees in --help.
    s.add_filter(
        r"\[env: HARUN_CONFIG=\S*haproxy\.cfg\]",
        "[env: HARUN_CONFIG=]",
    );
    s.add_filter(r"harun \d+\.\d+\.\d+\S*", "harun [VERSION]");
    s.add_filter(r"HAProxy \d+\.\d+[\w.+~-]*", "HAProxy [VERSION]");
    s.add_filter(r"(?m)^\d+\.\d+\.\d+[\w.+~-]*$", "[HAPROXY VERSION]");
    s.add_filter(r"target\(s\), \d+\.\d+[\w.+~-]*", "target(s), [VERSION]");
    s.add_filter(
        r"\d+ CPU\(s\), irqbalance (not )?running",
        "[N] CPU(s), irqbalance [RUNNING OR NOT]",
    );
    s.add_filter(r"\d{4}-\d\d-\d\dT[\d:.]+Z \S+ \(uid \d+\)", "[TIME] [USER]");
    // The live process row (version, uptime, threads, maxconn from ulimit,
    // idle), then table widths, which follow the longest cell.
    s.add_filter(
        r"(?m)^│ \[TMP\]/admin\.sock ┆ .*│$",
        "│ [TMP]/admin.sock ┆ [LIVE PROCESS ROW] │",
    );
    s.add_filter(r"[─═]{2,}", "──");
    s.add_filter(r" {2,}([┆│])", " $1");
    s.bind(|| insta::assert_snapshot!(name, text));
}

/// `-s ''`: no socket given and none found (a host without HAProxy has no
/// `stats socket` line and no /run/haproxy/admin.sock; passing nothing here
/// would look at this machine's).
const NO_SOCKET: [&str; 2] = ["-s", ""];

fn with(prefix: &[&'static str], args: &[&'static str]) -> Vec<&'static str> {
    prefix.iter().chain(args).copied().collect()
}

#[test]
fn first_screens_without_haproxy() {
    let host = Host::without_haproxy();
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        ("help", &["--help"], None),
        ("bare", &[], None),
        ("troubleshoot", &["troubleshoot"], None),
        ("check_config", &["check_config"], None),
        ("inspect_queues", &["inspect_queues"], None),
        ("eval_info", &["-e", "info()"], None),
        ("drain_no_server", &["drain_server"], None),
        ("snapshot", &["snapshot"], None),
        ("list", &["list"], None),
        ("doc_info", &["doc", "info"], None),
        ("doc_unknown", &["doc", "infos"], None),
        ("journal", &["journal"], None),
        ("lab", &["lab"], None),
        ("repl", &["repl"], Some("info()\n")),
    ];
    for (name, args, input) in cases {
        // Host-independent commands take no socket option.
        let args = match *name {
            "help" | "list" | "doc_info" | "doc_unknown" | "journal" | "lab" => args.to_vec(),
            _ => with(&NO_SOCKET, args),
        };
        let text = host.screen(&args, *input);
        assert_screen(&host, &format!("none-{name}"), &text);
    }
    // A relative socket name in the working directory is a socket path, even
    // when nothing is there yet: the error says so and exits 3.
    let text = host.screen(&["-s", "big.sock", "-e", "info()"], None);
    assert_screen(&host, "none-relative_socket", &text);
}

#[test]
fn first_screens_with_haproxy_stopped() {
    if !require_haproxy() {
        return;
    }
    let host = Host::debian(haproxy_bin());
    // No -s: the socket comes from the configuration's `stats socket` line.
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        ("troubleshoot", &["troubleshoot"], None),
        ("check_config", &["check_config"], None),
        ("enable_logs", &["enable_logs"], None),
        ("inspect_queues", &["inspect_queues"], None),
        ("eval_info", &["-e", "info()"], None),
        ("drain", &["drain_server", "-p", "server=app/web1"], None),
        ("snapshot", &["snapshot"], None),
        ("journal", &["journal"], None),
        ("repl", &["repl"], Some("info()\n")),
    ];
    for (name, args, input) in cases {
        let text = host.screen(args, *input);
        assert_screen(&host, &format!("stopped-{name}"), &text);
    }
}

#[test]
fn first_screens_with_haproxy_running_debian_defaults() {
    if !require_haproxy() {
        return;
    }
    let host = Host::debian(haproxy_bin());
    let _haproxy = host.start();
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        ("troubleshoot", &["troubleshoot"], None),
        ("inspect_queues", &["inspect_queues"], None),
        ("trace_header", &["trace_header"], None),
        ("eval_version", &["-e", "info().Version"], None),
        // The socket by its name in the working directory (issue 17).
        (
            "relative_socket",
            &["-s", "admin.sock", "-e", "info().Name"],
            None,
        ),
        ("repl", &["repl"], Some("servers().len()\n")),
        ("lab", &["lab", "healthy", "check_config"], None),
    ];
    for (name, args, input) in cases {
        let text = host.screen(args, *input);
        assert_screen(&host, &format!("running-{name}"), &text);
    }
}
