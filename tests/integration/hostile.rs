//! Hostile names and values against every write primitive, on a real
//! HAProxy: each is refused as invalid input before anything is sent (a
//! recording proxy in front of the admin socket sees no write), and
//! HAProxy's state is the same after.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Server names built to inject, to look like another name, or to route
/// elsewhere: (what it tries, the name).
fn hostile_names() -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = vec![
        (
            "`;` second command",
            "bk_app/app1;shutdown sessions server bk_app/app2".into(),
        ),
        ("trailing `;`", "bk_app/app1;".into()),
        (
            "LF second command",
            "bk_app/app1\nset server bk_app/app2 state maint".into(),
        ),
        ("CR", "bk_app/app1\r".into()),
        (
            "CRLF second command",
            "bk_app/app1\r\ndisable server bk_app/app2".into(),
        ),
        ("backslash escape", "bk_app\\/app1".into()),
        ("trailing backslash", "bk_app/app1\\".into()),
        ("tab", "bk_app/app1\tstate".into()),
        ("NUL", "bk_app/app1\0".into()),
        ("space inside", "bk_app/app 1".into()),
        ("leading space", " bk_app/app1".into()),
        ("extra argument", "bk_app/app1 maint".into()),
        ("DEL", "bk_app/app1\u{7f}".into()),
        ("terminal escape", "bk_app/app1\u{1b}[2J".into()),
        ("NEL (unicode line break)", "bk_app/app1\u{85}".into()),
        ("line separator U+2028", "bk_app/app1\u{2028}".into()),
        ("Cyrillic look-alike", "bk_\u{430}pp/app1".into()),
        ("Greek look-alike", "bk_app/\u{3bf}nly1".into()),
        ("fullwidth digit", "bk_app/app\u{ff11}".into()),
        ("right-to-left override", "bk_app/app1\u{202e}".into()),
        ("right-to-left mark", "\u{200f}bk_app/app1".into()),
        ("zero-width space", "bk_app/app\u{200b}1".into()),
        ("byte-order mark", "\u{feff}bk_app/app1".into()),
        ("master CLI `@1 `", "@1 bk_app/app1".into()),
        ("master CLI `@!pid`", "@!4242 bk_app/app1".into()),
        ("master CLI `@1` name", "@1/app1".into()),
        ("payload marker", "bk_app/app1 <<".into()),
        ("payload marker in name", "bk_app<</app1".into()),
        ("`#id` both", "#3/#1".into()),
        ("`#id` server", "bk_app/#1".into()),
        ("`#id` backend", "#3/app1".into()),
        ("empty", String::new()),
        ("slash only", "/".into()),
        ("no server", "bk_app/".into()),
        ("no backend", "/app1".into()),
        ("two slashes", "bk_app/app1/x".into()),
        ("percent-encoding", "bk_app/app1%0a".into()),
        ("comma", "bk_app/app1,app2".into()),
        ("glob", "bk_app/*".into()),
    ];
    v.push((
        "10 kB server name",
        format!("bk_app/{}", "a".repeat(10_000)),
    ));
    v.push(("10 kB backend name", format!("{}/app1", "b".repeat(10_000))));
    v.push(("10 kB bare name", "c".repeat(10_000)));
    v.push(("bare name with `;`", "app1;app2".into()));
    v.push(("bare name with RTL mark", "app1\u{200f}".into()));
    v
}

/// Whole commands for `send`, built to do more than they show.
fn hostile_commands() -> Vec<String> {
    vec![
        "show info;shutdown sessions server bk_app/app1".into(),
        "show info\nset server bk_app/app1 state maint".into(),
        "set server bk_app/app1 state maint\r".into(),
        "set server bk_app/app1 state maint\r\ndisable server bk_app/app2".into(),
        "set server bk_app/app1 state maint \\".into(),
        "set server bk_app/app1\0 state maint".into(),
        "@1 set server bk_app/app1 state maint".into(),
        "@!4242 disable server bk_app/app1".into(),
        "@master show proc".into(),
        "set server #3/#1 state maint".into(),
        "shutdown sessions server #3/#1".into(),
        "disable server bk_app/app1\u{202e}".into(),
        "set server bk_\u{430}pp/app1 state maint".into(),
        "disable server bk_app/app\u{200b}1".into(),
        "add map #0 k v <<".into(),
        "prompt".into(),
        "set severity-output none".into(),
        "operator".into(),
        "user".into(),
        "quit".into(),
        format!("set server bk_app/app1 state maint {}", "x".repeat(10_000)),
    ]
}

/// Hostile values for `set_state`'s state and `set_weight`'s weight.
fn hostile_values() -> Vec<(&'static str, &'static str)> {
    vec![
        ("state", "maint;shutdown sessions server bk_app/app2"),
        ("state", "drain\n"),
        ("state", "MAINT"),
        ("state", "ready "),
        ("state", "maint\u{202e}"),
        ("state", "m\u{430}int"),
        ("state", ""),
        ("weight", "0;x"),
        ("weight", "10%\n"),
        ("weight", "-1"),
        ("weight", "257"),
        ("weight", "1e3"),
        ("weight", "\u{663}"),
        ("weight", "10 %"),
        ("weight", "0x10"),
        ("weight", ""),
    ]
}

/// A Rhai string literal for any text: every character escaped.
fn rhai_literal(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if (c as u32) <= 0xffff {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push_str(&format!("\\U{:08x}", c as u32));
        }
    }
    out.push('"');
    out
}

/// A unix socket in front of the lab's admin socket that records every byte
/// harun sends.
fn recording_proxy(lab: &Lab, dir: &tempfile::TempDir) -> (PathBuf, Arc<Mutex<Vec<u8>>>) {
    use std::io::{Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    let path = dir.path().join("recording.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let upstream = lab.admin_socket().to_path_buf();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(up) = UnixStream::connect(&upstream) else {
                return;
            };
            let (mut from_client, mut to_up) =
                (client.try_clone().unwrap(), up.try_clone().unwrap());
            let (mut from_up, mut to_client) = (up, client);
            std::thread::spawn(move || std::io::copy(&mut from_up, &mut to_client));
            let record = record.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = match from_client.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    record.lock().unwrap().extend_from_slice(&buf[..n]);
                    if to_up.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to_up.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (path, seen)
}

/// Per server, what a write can change in `show servers state`: the admin
/// mask, the weights, the address and port, whether health and agent checks
/// are enabled (their state without the "check in progress" bit, which moves
/// by itself).
fn state_snapshot(lab: &Lab) -> Vec<String> {
    let text = socat(lab, "show servers state");
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    lines.next();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .trim_start_matches('#')
        .split_whitespace()
        .collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let plain = [
        "be_name",
        "srv_name",
        "srv_admin_state",
        "srv_uweight",
        "srv_iweight",
        "srv_addr",
        "srv_port",
    ]
    .map(&col);
    let checks = ["srv_check_state", "srv_agent_state"].map(col);
    lines
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let mut out: Vec<String> = plain.iter().map(|&i| f[i].to_string()).collect();
            for &i in &checks {
                let v: u32 = f[i].parse().unwrap();
                out.push((v & !1).to_string());
            }
            out.join(" ")
        })
        .collect()
}

#[test]
fn hostile_names_and_values_are_refused_before_anything_is_sent() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let names = hostile_names();
    let values = hostile_values();

    // Every write primitive, each form (one server, an array, options).
    let by_name = [
        "set_state(N, \"maint\")",
        "set_state(N, \"drain\", #{ force: true })",
        "set_state([N], \"maint\")",
        "set_weight(N, 0)",
        "set_weight(N, \"50%\")",
        "set_weight([N], 0)",
        "shutdown_sessions(N)",
        "shutdown_sessions([N])",
        "enable_health(N)",
        "disable_health(N)",
        "enable_agent(N)",
        "disable_agent(N)",
        "drain(N, #{ timeout: 1 })",
        "drain([N], #{ timeout: 1 })",
        "send(`set server ${N} state maint`)",
        "send(`disable server ${N}`)",
        "send(`shutdown sessions server ${N}`)",
        "send(`set weight ${N} 0`)",
    ];
    let mut script = String::from("let out = [];\n");
    let mut expected = Vec::new();
    // In a raw command, blanks separate words: a name whose only fault is a
    // blank becomes other words of a command that harun then validates as
    // written (`send(N)` covers it); the rules on names apply to the word in
    // the server position.
    let splits_into_words = ["tab", "space inside", "leading space", "extra argument"];
    for (i, (what, name)) in names.iter().enumerate() {
        for call in by_name {
            if call.starts_with("send(`") && splits_into_words.contains(what) {
                continue;
            }
            expected.push(format!("{i}: {call}"));
            script.push_str(&format!(
                "{{ let N = {}; try {{ {call}; out.push(#{{ i: {i}, what: {c}, kind: \"sent\" }}); }} catch (e) {{ out.push(#{{ i: {i}, what: {c}, kind: if type_of(e) == \"map\" {{ e.kind }} else {{ `${{e}}` }} }}); }} }}\n",
                rhai_literal(name),
                c = rhai_literal(call),
            ));
        }
    }
    for (i, (what, value)) in values.iter().enumerate() {
        let i = names.len() + i;
        let calls: &[&str] = if *what == "state" {
            &[
                "set_state(\"bk_app/app1\", V)",
                "set_state([\"bk_app/app1\"], V)",
            ]
        } else {
            &[
                "set_weight(\"bk_app/app1\", V)",
                "set_weight([\"bk_app/app1\"], V)",
            ]
        };
        for call in calls {
            expected.push(format!("{i}: {call}"));
            script.push_str(&format!(
                "{{ let V = {}; try {{ {call}; out.push(#{{ i: {i}, what: {c}, kind: \"sent\" }}); }} catch (e) {{ out.push(#{{ i: {i}, what: {c}, kind: if type_of(e) == \"map\" {{ e.kind }} else {{ `${{e}}` }} }}); }} }}\n",
                rhai_literal(value),
                c = rhai_literal(call),
            ));
        }
    }
    let commands = hostile_commands();
    for (j, command) in commands.iter().enumerate() {
        let i = names.len() + values.len() + j;
        expected.push(format!("{i}: send"));
        script.push_str(&format!(
            "{{ try {{ send({}); out.push(#{{ i: {i}, what: \"send\", kind: \"sent\" }}); }} catch (e) {{ out.push(#{{ i: {i}, what: \"send\", kind: if type_of(e) == \"map\" {{ e.kind }} else {{ `${{e}}` }} }}); }} }}\n",
            rhai_literal(command),
        ));
    }
    script.push_str("print(#{ results: out }.to_json());\n");
    let dir = tempfile::tempdir().unwrap();
    let pb = playbook(&dir, "hostile.rhai", &script);
    let (proxy, seen) = recording_proxy(&lab, &dir);

    let before = state_snapshot(&lab);
    let run = harun()
        .socket(&lab, &proxy)
        .args(["--yes", "--timeout", "5"])
        .arg(&pb)
        .run();
    run.expect_code(0);
    let results: serde_json::Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let results = results["results"].as_array().expect("an array of results");
    assert_eq!(results.len(), expected.len(), "every call ran");
    assert!(names.len() + values.len() + commands.len() >= 30);
    let label = |i: usize| -> String {
        if let Some((what, _)) = names.get(i) {
            return (*what).to_string();
        }
        match values.get(i - names.len()) {
            Some((what, v)) => format!("{what} {v:?}"),
            None => format!("{:?}", commands[i - names.len() - values.len()]),
        }
    };
    for r in results {
        let i = r["i"].as_u64().unwrap() as usize;
        assert_eq!(
            r["kind"],
            "invalid_input",
            "{} with {}: {r}",
            r["what"],
            label(i)
        );
    }

    // Nothing but reads and harun's own session set-up reached HAProxy.
    let sent = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    for line in sent.lines() {
        assert!(
            ["prompt", "set severity-output number"].contains(&line)
                || line.starts_with("show ")
                || line.starts_with("get "),
            "sent to HAProxy: {line:?}"
        );
    }
    assert_eq!(state_snapshot(&lab), before, "HAProxy's state changed");
    assert!(
        journal_lines(&lab).iter().all(|e| e["outcome"] != "sent"),
        "{:?}",
        journal_lines(&lab)
    );
}
