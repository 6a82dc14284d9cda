//! Custom `log-format` strings: compiled, then matched against lines. The
//! first line of the input is the format, the others are log lines.
//! Checked: no panic when compiling or matching; a compiled format keeps its
//! text; every field of a matched line is a slice of that line.

#![no_main]

use harun::logs::format::compile;
use harun::logs::{Format, Line, Parser};
use libfuzzer_sys::fuzz_target;

fn inside(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    part.is_empty() || (p >= w && p + part.len() <= w + whole.len())
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let Some(Ok(fmt)) = lines.next().map(std::str::from_utf8) else {
        return;
    };
    let Ok(custom) = compile(fmt, "fuzz.cfg:1") else {
        return;
    };
    assert_eq!(custom.text, fmt);
    let parser = Parser::new(vec![custom.clone()]);
    for raw in lines {
        if let Some(e) = custom.parse(raw, Format::Custom(0)) {
            for f in [
                e.client_ip,
                e.accept_date,
                e.frontend,
                e.backend,
                e.server,
                e.backend_server,
                e.termination_state,
                e.request,
                e.method(),
                e.uri(),
                e.termination2(),
            ] {
                assert!(inside(f, raw), "field outside the line");
            }
            let _ = (e.t_end(), e.abnormal(), e.maybe_truncated());
        }
        if let Line::Traffic(e) = parser.parse(raw).line {
            let _ = (e.method(), e.uri(), e.t_end());
        }
    }
});
