//! The output of `haproxy -c`. The first byte picks the exit code (0 valid,
//! 1 errors, 2 no listener, anything else as is); the rest is the output.
//! Checked: no panic; validity follows the exit code alone; levels are the
//! four HAProxy prints; every non-blank line lands in a message or in `other`;
//! the locations and the version reader answer.

#![no_main]

use harun::config::check::{parse_check_output, version_of};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&code, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let code = match code {
        0..=2 => i32::from(code),
        c => i32::from(c as i8),
    };
    let _ = version_of(text);
    let r = parse_check_output(text, code);
    assert_eq!(r.exit_code, code);
    assert_eq!(r.valid, code == 0 || code == 2);
    assert_eq!(r.no_listener, code == 2);
    assert!(r.alerts().count() + r.warnings().count() <= r.messages.len());
    for m in &r.messages {
        assert!(
            ["alert", "warning", "notice", "diag"].contains(&m.level.as_str()),
            "level {:?}",
            m.level
        );
        let _ = m.location();
    }
    // Continuation lines join the message before them; the others are one
    // message or one `other` line each.
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(r.messages.len() + r.other.len() <= lines);
    assert!(r.other.iter().all(|o| !o.is_empty() && o.trim() == o));
});
