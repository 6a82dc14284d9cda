//! The write path's validation (src/runtime/command.rs): raw commands from
//! playbooks and the REPL, `backend/server` references, names, weights,
//! states. The input is the text a playbook would pass.
//!
//! Checked: an accepted command is one canonical ASCII line: no `;`, `\`,
//! CR, LF, NUL or other control character (tabs became single spaces), no
//! `<<` payload, no `@` master CLI prefix, no harun session command, at most
//! 4096 bytes; validating it again gives it back unchanged; a server it names
//! where a server command takes one is a valid `backend/server` (never a
//! `#id` or `@` form). An accepted `ServerRef` holds two names of HAProxy's
//! grammar and prints back to itself.

#![no_main]

use harun::runtime::command::{validate_name, validate_token, AdminAction, Command, ServerRef};
use libfuzzer_sys::fuzz_target;

/// HAProxy's name grammar (configuration.txt): letters, digits, `-_.:`.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    if let Ok(c) = Command::raw(text) {
        let s = c.as_str();
        assert!(!s.is_empty() && s.len() <= 4096, "{s:?}");
        assert!(s.is_ascii(), "{s:?}");
        assert!(!s.bytes().any(|b| b.is_ascii_control()), "{s:?}");
        assert!(!s.contains([';', '\\']) && !s.contains("<<"), "{s:?}");
        assert!(!s.starts_with('@'), "{s:?}");
        assert!(
            !s.starts_with(' ') && !s.ends_with(' ') && !s.contains("  "),
            "{s:?}"
        );
        for session in ["prompt", "quit", "set severity-output", "user", "operator"] {
            assert!(
                s != session && !s.starts_with(&format!("{session} ")),
                "{s:?}"
            );
        }
        assert_eq!(Command::raw(s).ok().as_ref(), Some(&c), "not canonical");
        let w: Vec<&str> = s.split(' ').collect();
        let server_at = match w.as_slice() {
            ["set" | "add" | "del", "server", ..] => Some(2),
            ["enable" | "disable", "server" | "health" | "agent", ..] => Some(2),
            ["set" | "get", "weight", ..] => Some(2),
            ["set", "maxconn", "server", ..] => Some(3),
            ["shutdown", "sessions", "server", ..] => Some(3),
            _ => None,
        };
        if let Some(at) = server_at {
            let arg = w.get(at).unwrap_or_else(|| panic!("{s:?} names no server"));
            let (b, srv) = arg.split_once('/').unwrap_or_else(|| panic!("{s:?}"));
            assert!(is_name(b) && is_name(srv), "{s:?}");
            assert!(!arg.contains(['#', '@']));
        }
        let _ = (c.is_write(), c.prompt_safe(), c.server_ref(), c.to_string());
    }

    if let Ok(r) = ServerRef::parse(text) {
        assert!(is_name(&r.backend) && is_name(&r.server), "{r:?}");
        assert_eq!(r.to_string(), text);
        assert_eq!(ServerRef::parse(&r.to_string()).ok().as_ref(), Some(&r));
        assert_eq!(
            ServerRef::new(&r.backend, &r.server).ok().as_ref(),
            Some(&r)
        );
        let set = Command::set_state(&r, AdminAction::Maint);
        assert_eq!(Command::raw(set.as_str()).ok().as_ref(), Some(&set));
        assert_eq!(set.server_ref().as_ref(), Some(&r));
        // The server half doubles as a weight: digits reach set_weight's checks.
        if let Ok(w) = Command::set_weight(&r, text.rsplit('/').next().unwrap_or("")) {
            assert_eq!(Command::raw(w.as_str()).ok().as_ref(), Some(&w));
        }
    }

    assert_eq!(
        validate_name("name", text).is_ok(),
        is_name(text) && !text.contains("<<")
    );
    if validate_token("token", text).is_ok() {
        assert!(!text.contains([';', '\\', ' ', '\t', '\r', '\n', '\0']) && !text.is_empty());
    }
    if let Ok(a) = AdminAction::parse(text) {
        assert_eq!(a.as_str(), text);
    }
});
