//! `show servers state`. Checked: no panic; every server line (not blank,
//! not a `#` comment) after the version and the header is one server with one
//! field per header name, each found by its name; the decoded states answer;
//! the typed parse (`disagreements()`) is the full parse without the raw
//! columns, errors included.

#![no_main]

use harun::runtime::servers_state::{
    check_result_name, check_status_name, in_rotation, parse_servers_state,
    parse_servers_state_typed,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let full = parse_servers_state(text);
    let typed = parse_servers_state_typed(text);
    match (&full, &typed) {
        (Ok(f), Ok(t)) => {
            assert_eq!(f.len(), t.len());
            for (f, t) in f.iter().zip(t) {
                assert!(t.fields.is_empty());
                let mut f = f.clone();
                f.fields.clear();
                assert_eq!(&f, t, "typed parse differs");
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "typed error differs"),
        _ => panic!("full {full:?} but typed {typed:?}"),
    }
    let Ok(servers) = full else {
        return;
    };
    let mut lines = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty());
    let _version = lines.next().expect("a parsed reply has a version line");
    let header = lines.next().expect("a parsed reply has a header line");
    let names: Vec<&str> = header
        .strip_prefix('#')
        .expect("the header starts with `#`")
        .split_whitespace()
        .collect();
    let rows = lines.filter(|l| !l.trim_start().starts_with('#')).count();
    assert_eq!(servers.len(), rows, "servers lost or invented");
    for s in &servers {
        assert_eq!(s.fields.len(), names.len());
        for (name, value) in &s.fields {
            assert!(s.field(name).is_some(), "field `{name}` not found");
            assert!(!value.is_empty() && !value.contains(char::is_whitespace));
        }
        assert_eq!(s.field("be_name"), Some(s.be_name.as_str()));
        assert_eq!(s.field("srv_name"), Some(s.srv_name.as_str()));
        let op = s.field("srv_op_state").and_then(|v| v.parse::<i64>().ok());
        assert_eq!(op, Some(s.op_state.code()));
        let _ = (s.op_state.as_str(), s.admin.flags(), s.admin.unknown_bits());
        let _ = (s.admin.maint_sources(), s.admin.drain_sources());
        let _ = in_rotation(s.op_state, s.admin, s.uweight);
        let _ = s.check_status.map(check_status_name);
        let _ = s.check_result.map(check_result_name);
    }
});
