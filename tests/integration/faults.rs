//! Faults a real HAProxy will not produce on demand (stalls, drips, garbage,
//! resets, floods), from a fake socket; and signals. Every fault ends with a
//! typed error and exit 3, within `--timeout` (plus start-up slack), in
//! bounded memory, without a panic.

use crate::harness::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How the fake runtime API socket misbehaves. It answers harun's handshake
/// (`prompt`, `set severity-output number`) like HAProxy unless the fault
/// is in the handshake itself.
#[derive(Clone, Copy)]
enum Fault {
    /// Accepts and never sends a byte.
    Silent,
    /// Answers the prompt but never a command.
    PromptOnly,
    /// Sends the reply to the first command one byte per second.
    Drip,
    /// Sends these bytes as the reply to the first command, keeps the connection open.
    Reply(&'static [u8]),
    /// Sends these bytes in reply to the first command, then closes.
    CloseAfter(&'static [u8]),
    /// Sends half a reply, then resets the connection (TCP RST).
    Reset,
    /// Streams without end in reply to the first command.
    Endless,
    /// A `show stat` header of 200 columns, then short rows without end
    /// (each row parsed costs far more than its bytes).
    EndlessStat,
    /// Answers the first command like HAProxy, the second one never.
    SlowSecond,
    /// Answers the first command with these bytes, the next ones never.
    FirstThenSilent(&'static [u8]),
    /// Sends back what it reads (`socat UNIX-LISTEN:x.sock,fork EXEC:cat`).
    Echo,
}

const INFO: &[u8] = b"Name: HAProxy\nVersion: 3.0.0\nPid: 42\nUptime_sec: 7\n\n> ";

/// Serve one connection: the handshake, then the fault.
fn serve(mut s: impl Read + Write, fault: Fault, on_reset: impl FnOnce()) {
    let mut lines = 0usize;
    let mut buf = [0u8; 4096];
    let mut commands = 0usize;
    let mut on_reset = Some(on_reset);
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if matches!(fault, Fault::Echo) {
            if s.write_all(&buf[..n]).is_err() {
                return;
            }
            continue;
        }
        for _ in buf[..n].iter().filter(|b| **b == b'\n') {
            lines += 1;
            if matches!(fault, Fault::Silent) {
                continue;
            }
            if lines <= 2 {
                let _ = s.write_all(b"\n> ");
                continue;
            }
            commands += 1;
            match fault {
                Fault::Silent | Fault::PromptOnly | Fault::Echo => {}
                Fault::Drip => {
                    for b in INFO.iter().cycle().take(3600) {
                        if s.write_all(&[*b]).is_err() {
                            return;
                        }
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
                Fault::Reply(r) => {
                    let _ = s.write_all(r);
                }
                Fault::CloseAfter(r) => {
                    let _ = s.write_all(r);
                    return;
                }
                Fault::Reset => {
                    let _ = s.write_all(b"# pxname,svname,qcur,\nfe,FRONT");
                    std::thread::sleep(Duration::from_millis(100));
                    if let Some(f) = on_reset.take() {
                        f();
                    }
                    return;
                }
                Fault::Endless => {
                    let block: Vec<u8> = b"Name: HAProxy\n".repeat(4096);
                    // Bounded: 8 GiB at most, far past any cap; stops when harun hangs up.
                    for _ in 0..150_000 {
                        if s.write_all(&block).is_err() {
                            return;
                        }
                    }
                    return;
                }
                Fault::EndlessStat => {
                    let cols: String = (0..200).map(|i| format!("c{i},")).collect();
                    if s.write_all(format!("# pxname,svname,{cols}\n").as_bytes())
                        .is_err()
                    {
                        return;
                    }
                    let block: Vec<u8> = b"bk,s,\n".repeat(16384);
                    for _ in 0..100_000 {
                        if s.write_all(&block).is_err() {
                            return;
                        }
                    }
                    return;
                }
                Fault::SlowSecond => {
                    if commands == 1 {
                        let _ = s.write_all(INFO);
                    }
                }
                Fault::FirstThenSilent(r) => {
                    if commands == 1 {
                        let _ = s.write_all(r);
                    }
                }
            }
        }
    }
}

/// A fake runtime API unix socket with `fault`, serving connections until the test ends.
fn fake_socket(dir: &tempfile::TempDir, fault: Fault) -> PathBuf {
    counted_fake_socket(dir, fault).0
}

/// [`fake_socket`], with the number of connections it accepted so far.
fn counted_fake_socket(
    dir: &tempfile::TempDir,
    fault: Fault,
) -> (PathBuf, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(s) = stream else { return };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || serve(s, fault, || ()));
        }
    });
    (path, count)
}

/// A fake runtime API TCP socket on loopback (for resets: a unix socket has no RST).
fn fake_tcp(fault: Fault) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(s) = stream else { return };
            let fd = std::os::fd::AsRawFd::as_raw_fd(&s);
            let reset = move || {
                // SO_LINGER 0: close() sends a RST instead of a FIN.
                let linger = libc::linger {
                    l_onoff: 1,
                    l_linger: 0,
                };
                unsafe {
                    libc::setsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        libc::SO_LINGER,
                        &linger as *const libc::linger as *const libc::c_void,
                        std::mem::size_of::<libc::linger>() as libc::socklen_t,
                    );
                }
            };
            std::thread::spawn(move || serve(s, fault, reset));
        }
    });
    addr
}

/// A finished run with how long it took and its peak resident memory.
struct Measured {
    run: Run,
    elapsed: Duration,
    peak_rss_mib: u64,
}

/// Run the real binary and measure it: wall time, and its peak RSS from GNU
/// time. Not from `wait4` here: a child of this (large, multi-threaded) test
/// process is spawned sharing its memory until `exec`, and Linux counts that
/// in the child's `ru_maxrss`; GNU time is a small parent.
fn measured(args: &[&str]) -> Measured {
    let time = std::path::Path::new("/usr/bin/time");
    if !time.exists() {
        panic!("GNU time is missing: apt-get install time (it measures peak memory)");
    }
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut child = std::process::Command::new(time)
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg(assert_cmd::cargo::cargo_bin("harun"))
        .args(args)
        .env_remove("HARUN_SOCKET")
        .env_remove("HARUN_CONFIG")
        .env_remove("HARUN_PLAYBOOK_PATH")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = child.wait().unwrap();
    let elapsed = start.elapsed();
    // GNU time exits with the command's code.
    let code = status.code().unwrap_or(-1);
    let kib: u64 = std::fs::read_to_string(report.path())
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("GNU time's %M");
    Measured {
        run: Run {
            code,
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        },
        elapsed,
        peak_rss_mib: kib / 1024,
    }
}

/// `--timeout` for the fault runs; the bound allows for a loaded machine.
const TIMEOUT: f64 = 2.0;
const BOUND: Duration = Duration::from_secs(5);

/// Run `expr` against `socket` and check what every fault must give: exit 3,
/// `what` in the error, within the bound, in bounded memory, no panic.
#[track_caller]
fn expect_fault(socket: &str, expr: &str, what: &[&str]) -> Measured {
    let t = TIMEOUT.to_string();
    let m = measured(&["-s", socket, "--timeout", &t, "-e", expr]);
    m.run.expect_code(3);
    for w in what {
        assert!(m.run.stderr.contains(w), "want {w:?} in: {}", m.run.stderr);
    }
    assert!(!m.run.stderr.contains("panicked"), "{}", m.run.stderr);
    // The figures docs/reliability.md quotes (`-- --nocapture` shows them).
    eprintln!(
        "fault figures: {}: exit 3 after {:.2} s (--timeout {TIMEOUT}), peak RSS {} MiB",
        std::thread::current().name().unwrap_or(expr),
        m.elapsed.as_secs_f64(),
        m.peak_rss_mib
    );
    assert!(
        m.elapsed < BOUND,
        "took {:?} with --timeout {TIMEOUT}: {}",
        m.elapsed,
        m.run.stderr
    );
    assert!(
        m.peak_rss_mib < 100,
        "peak RSS {} MiB: {}",
        m.peak_rss_mib,
        m.run.stderr
    );
    m
}

#[test]
fn a_socket_that_accepts_and_never_answers_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, Fault::Silent);
    expect_fault(
        sock.to_str().unwrap(),
        "info()",
        &["timed out after 2s waiting for any reply: nothing at all came back to `prompt`"],
    );
}

/// troubleshoot catches the first failure and goes on with the offline
/// checks, some of which ask the process again (system_check's `show
/// info`): a socket that never answered is not connected to again.
#[test]
fn troubleshoot_does_not_wait_twice_for_a_silent_socket() {
    let dir = tempfile::tempdir().unwrap();
    let (sock, connections) = counted_fake_socket(&dir, Fault::Silent);
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, "global\n").unwrap();
    let t = TIMEOUT.to_string();
    let run = measured(&[
        "-s",
        sock.to_str().unwrap(),
        "-c",
        cfg.to_str().unwrap(),
        "--timeout",
        &t,
        "troubleshoot",
        "-p",
        "log=/dev/null",
    ])
    .run;
    run.expect_code(3);
    assert!(
        run.stdout.contains("nothing at all came back to `prompt`"),
        "{}",
        run.stdout
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "{}",
        run.stdout
    );
}

/// Something else on the socket (here `socat ... EXEC:cat`) is named as
/// such from the first bytes it sends back, without waiting for the timeout.
#[test]
fn a_socket_that_is_not_haproxy_is_named_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, Fault::Echo);
    let m = expect_fault(
        sock.to_str().unwrap(),
        "info()",
        &[
            "answered `prompt\\nset severity-output number",
            "which is not HAProxy's runtime API: is this the `stats socket`",
        ],
    );
    assert!(
        m.run.stderr.contains(sock.to_str().unwrap()),
        "{}",
        m.run.stderr
    );
}

/// A socket file nobody listens on (what a killed HAProxy leaves): the
/// advice is the stale file, not the path.
#[test]
fn troubleshoot_on_a_stale_socket_file_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("stale.sock");
    drop(UnixListener::bind(&sock).unwrap());
    // No -c: the process's configuration cannot be found, and the
    // report says the default was read instead.
    let run = measured(&[
        "-s",
        sock.to_str().unwrap(),
        "troubleshoot",
        "-p",
        "log=/dev/null",
    ])
    .run;
    run.expect_code(3);
    assert!(
        run.stdout
            .contains("is a socket file that nobody listens on: HAProxy stopped or crashed"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_socket_that_answers_the_prompt_but_not_the_command_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, Fault::PromptOnly);
    expect_fault(
        sock.to_str().unwrap(),
        "info()",
        &["timed out after 2s waiting for the reply to `show info`"],
    );
}

/// The timeout bounds the whole reply, not each read: a byte a second
/// would otherwise hold harun for as long as the socket cares to drip.
#[test]
fn a_reply_dripping_one_byte_per_second_ends_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, Fault::Drip);
    expect_fault(
        sock.to_str().unwrap(),
        "info()",
        &[
            "timed out after 2s waiting for the end of the reply to `show info`",
            "bytes received",
        ],
    );
}

#[test]
fn a_slow_second_command_of_a_session_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, Fault::SlowSecond);
    let m = expect_fault(
        sock.to_str().unwrap(),
        r#"let first = info(); print(first.Version); info()"#,
        &["timed out after 2s waiting for the reply to `show info`"],
    );
    assert!(m.run.stdout.contains("3.0.0"), "{}", m.run.stdout);
}

#[test]
fn a_connection_closed_mid_line_of_show_stat_is_lost_not_hung() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(
        &dir,
        Fault::CloseAfter(b"# pxname,svname,qcur,\nfe,FRONTEND,"),
    );
    expect_fault(
        sock.to_str().unwrap(),
        "stat()",
        &["connection lost during `show stat`", "before the prompt"],
    );
}

#[test]
fn binary_garbage_instead_of_show_stat_is_a_malformed_reply() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(
        &dir,
        Fault::Reply(b"\x00\xff\xfe\x1b[2J\x7fthis is not csv\x00\x01\n\n> "),
    );
    expect_fault(
        sock.to_str().unwrap(),
        "stat()",
        &["malformed reply to `show stat`"],
    );
}

#[test]
fn binary_garbage_instead_of_show_info_is_a_malformed_reply() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, Fault::Reply(b"\x00\xff\xfe\x1b\x7f\x01\x02\n\n> "));
    expect_fault(sock.to_str().unwrap(), "info()", &["malformed"]);
}

#[test]
fn a_reset_mid_reply_is_reported_not_hung() {
    let addr = fake_tcp(Fault::Reset);
    expect_fault(
        &format!("ipv4@{addr}"),
        "stat()",
        &["connection lost during `show stat`", "reset"],
    );
}

/// A stream without end stops at the reply cap, named in the error, in
/// bounded memory (the cap is 64 MiB; peak RSS stays under 100 MiB).
#[test]
fn an_endless_stream_stops_at_the_reply_cap() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, Fault::Endless);
    expect_fault(
        sock.to_str().unwrap(),
        "info()",
        &["reply cap of 64 MiB", "--max-reply-mb"],
    );
    // Rows are padded to the header's width when parsed: the cap bounds the
    // parsed form too.
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, Fault::EndlessStat);
    expect_fault(
        sock.to_str().unwrap(),
        "stat()",
        &["reply to `show stat` passed the reply cap of 64 MiB"],
    );
    // A lower cap is honoured and named.
    let m = measured(&[
        "-s",
        sock.to_str().unwrap(),
        "--max-reply-mb",
        "2",
        "-e",
        "stat()",
    ]);
    m.run.expect_code(3);
    assert!(
        m.run
            .stderr
            .contains("reply to `show stat` passed the reply cap of 2 MiB"),
        "{}",
        m.run.stderr
    );
}

#[test]
fn ctrl_c_interrupts_a_wait_and_exits_like_sigint() {
    use std::os::unix::process::ExitStatusExt;
    let bin = assert_cmd::cargo::cargo_bin("harun");
    let mut child = std::process::Command::new(bin)
        .args(["-e", "sleep(30)"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let start = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
}

#[test]
fn a_write_on_the_wire_is_journaled_even_when_the_run_is_stopped() {
    // HAProxy says it has bk/s1 (the check of the names before a write),
    // then takes the command and never answers; --max-time fires meanwhile.
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(
        &dir,
        Fault::FirstThenSilent(
            b"1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n3 bk 1 s1 127.0.0.1 2 0 1 1\n\n> ",
        ),
    );
    let journal = dir.path().join("journal.jsonl");
    let run = harun()
        .args([
            "-s",
            sock.to_str().unwrap(),
            "--timeout",
            "2",
            "--max-time",
            "1",
        ])
        .arg("--journal")
        .arg(&journal)
        .args(["--yes", "-e", "send(\"set server bk/s1 weight 10\")"])
        .run();
    assert_ne!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&journal).unwrap_or_default();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The intent, written before the command went out, then its outcome.
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["outcome"], "sending", "{text}");
    assert_eq!(lines[1]["id"], lines[0]["id"], "{text}");
    assert_eq!(lines[1]["command"], "set server bk/s1 weight 10");
    // No reply: HAProxy may have applied it.
    assert_eq!(lines[1]["outcome"], "unknown", "{text}");
}

/// Rhai's limits bound one value, not many: a recursion holding a distinct
/// 32 MiB string per level stays under each of them. The heap bound stops it
/// (not catchable), and harun stays under 256 MiB.
#[test]
fn a_playbook_holding_many_large_values_is_stopped_by_the_memory_bound() {
    let m = measured(&[
        "-e",
        r#"let s = "x"; for i in 0..25 { s += s; }
           fn f(s, n) { let t = s + n; try { f(t, n + 1) } catch (e) { "caught" } }
           f(s, 0)"#,
    ]);
    m.run.expect_code(2);
    assert!(
        m.run.stderr.contains("memory passed its limit of 160 MiB"),
        "{}",
        m.run.stderr
    );
    assert!(!m.run.stdout.contains("caught"), "{}", m.run.stdout);
    assert!(m.peak_rss_mib < 256, "peak RSS {} MiB", m.peak_rss_mib);
}

/// A timeout and a Ctrl-C with `--json`: stdout is still one report whose
/// `worst` and `error` agree with how harun exited.
#[test]
fn json_reports_of_a_timeout_and_an_interrupt_say_error() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, Fault::PromptOnly);
    let run = harun()
        .args(["-s", sock.to_str().unwrap(), "--timeout", "1", "--json"])
        .args(["-e", "info()"])
        .run();
    run.expect_code(3);
    let v = run.json();
    assert_eq!(v["worst"], "error", "{}", run.stdout);
    assert_eq!(v["error"]["kind"], "timeout", "{}", run.stdout);
    assert_eq!(v["error"]["exit_code"], 3, "{}", run.stdout);

    use std::os::unix::process::ExitStatusExt;
    // A socket that accepts and stays silent: once harun has connected, its
    // signal handlers are in place and the run is waiting on HAProxy.
    let path = dir.path().join("silent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let p = playbook(&dir, "wait.rhai", "//! Waits.\ninfo();\n");
    let child = harun_process()
        .arg("-s")
        .arg(&path)
        .args(["--timeout", "60", "--json"])
        .arg(&p)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (_conn, _) = listener.accept().unwrap();
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGINT), "{:?}", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON report");
    assert_eq!(v["worst"], "error", "{stdout}");
    assert_eq!(v["error"]["kind"], "interrupted", "{stdout}");
    assert_eq!(v["error"]["exit_code"], 130, "{stdout}");
}
