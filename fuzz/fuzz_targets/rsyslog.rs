//! rsyslog's configuration (legacy `$` directives and RainerScript, one
//! file, includes listed, not followed). Checked: no panic; every location
//! is `FILE:LINE` with a line number inside the text (inline
//! `include(text=...)` counts its own lines, so only `>= 1` holds for it).

#![no_main]

use harun::system::rsyslog::parse_rsyslog;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let r = parse_rsyslog(text, Path::new("fuzz.conf"));
    let locations = r
        .udp_inputs
        .iter()
        .map(|u| &u.location)
        .chain(r.unix_sockets.iter().map(|(_, l)| l))
        .chain(r.includes.iter().map(|i| &i.location))
        .chain(&r.imudp_loads);
    for l in locations {
        let line = l
            .strip_prefix("fuzz.conf:")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("location {l:?}"));
        assert!(line >= 1, "location {l:?}");
    }
    for u in &r.udp_inputs {
        assert!(
            u.address.as_deref() != Some("*"),
            "`*` means all addresses: None"
        );
    }
});
