//! Faults a real HAProxy will not produce on demand (stalls, garbage, resets),
//! from a fake socket; and signals.

use crate::harness::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::Duration;

/// A fake runtime API socket: answers `prompt` and `set severity-output`
/// like HAProxy, then replies `reply` to the next command (None: stall).
fn fake_socket(
    dir: &tempfile::TempDir,
    reply: Option<&'static [u8]>,
    close_after: bool,
) -> PathBuf {
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 4096];
            let mut seen = 0;
            loop {
                let n = match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                for line in String::from_utf8_lossy(&buf[..n]).lines() {
                    seen += 1;
                    if seen <= 2 {
                        let _ = s.write_all(b"\n> ");
                        continue;
                    }
                    match reply {
                        Some(r) => {
                            let _ = s.write_all(r);
                            if close_after {
                                let _ = s.shutdown(std::net::Shutdown::Both);
                            }
                        }
                        None => {
                            let _ = line;
                            std::thread::sleep(Duration::from_secs(30));
                        }
                    }
                }
            }
        }
    });
    path
}

#[test]
fn a_stalled_haproxy_times_out_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, None, false);
    let run = harun()
        .args([
            "-s",
            sock.to_str().unwrap(),
            "--timeout",
            "0.5",
            "-e",
            "info()",
        ])
        .run();
    run.expect_code(3);
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    assert!(run.stderr.contains("show info"), "{}", run.stderr);
}

#[test]
fn garbage_instead_of_show_stat_is_a_malformed_reply() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, Some(b"\x00\xffthis is not csv\n\n> "), false);
    let run = harun()
        .args(["-s", sock.to_str().unwrap(), "-e", "stat()"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("malformed reply to `show stat`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_reset_mid_reply_is_reported_not_hung() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, Some(b"# pxname,svname,qcur,\nfe,FRONTEND,"), true);
    let run = harun()
        .args([
            "-s",
            sock.to_str().unwrap(),
            "--timeout",
            "2",
            "-e",
            "stat()",
        ])
        .run();
    run.expect_code(3);
    assert!(run.stderr.contains("connection"), "{}", run.stderr);
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
    // HAProxy takes the command and never answers; --max-time fires meanwhile.
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(&dir, None, false);
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
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["command"], "set server bk/s1 weight 10");
    // No reply: HAProxy may have applied it.
    assert_eq!(lines[0]["outcome"], "unknown", "{text}");
}
