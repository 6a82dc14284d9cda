//! HAProxy's log lines: the envelope splitter, the fixed formats (httplog,
//! tcplog), CLF, `Connect from` and notices, the rows `logs()` returns and
//! the one-pass summary. The input is a log file: one line per `\n`.
//! Checked: no panic; every field is a slice of the line it came from; the
//! fixed parser agrees with the classifier; a summary counts every line once.

#![no_main]

use harun::logs::entry::{classify, parse_fixed, parse_notice};
use harun::logs::owned::{listener_maps, Record};
use harun::logs::summary::Aggregator;
use harun::logs::{envelope, format, termination, Line, Parser};
use libfuzzer_sys::fuzz_target;

/// `part` lies inside `whole` (an empty slice anywhere, as `b""` is static).
fn inside(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    part.is_empty() || (p >= w && p + part.len() <= w + whole.len())
}

fn check_line(p: &Parser, raw: &[u8]) {
    let parsed = p.parse(raw);
    let env = parsed.envelope;
    for f in [env.timestamp, env.host, env.tag, env.message] {
        assert!(inside(f, raw), "envelope field outside the line");
    }
    assert_eq!(envelope::split(raw), env);
    let msg = env.message;
    if let Some(e) = parse_fixed(msg) {
        assert!(matches!(classify(msg), Line::Traffic(c) if c == e));
    }
    match parsed.line {
        Line::Traffic(e) => {
            for f in [
                e.client_ip,
                e.accept_date,
                e.frontend,
                e.backend,
                e.server,
                e.backend_server,
                e.termination_state,
                e.captured_request_cookie,
                e.captured_response_cookie,
                e.request,
                e.method(),
                e.uri(),
                e.termination2(),
            ] {
                assert!(inside(f, msg), "entry field outside the message");
            }
            for f in [e.captured_request_headers, e.captured_response_headers]
                .into_iter()
                .flatten()
            {
                assert!(inside(f, msg));
            }
            if matches!(
                e.format,
                harun::logs::Format::HttpLog | harun::logs::Format::TcpLog
            ) {
                assert_eq!(e.termination_state.len(), if e.http { 4 } else { 2 });
                let slash = e.backend.len();
                assert_eq!(&e.backend_server[..slash], e.backend);
                assert_eq!(e.backend_server[slash], b'/');
                assert_eq!(&e.backend_server[slash + 1..], e.server);
            }
            let _ = (
                e.t_end(),
                e.abnormal(),
                e.maybe_truncated(),
                e.format.name(),
            );
            let ts = String::from_utf8_lossy(e.termination_state);
            let _ = (termination::explain(&ts), termination::summary(&ts));
        }
        Line::Connect {
            client,
            frontend,
            mode,
        } => {
            for f in [client, frontend, mode] {
                assert!(inside(f, msg));
            }
        }
        Line::Notice(n) => {
            for f in [n.subject, n.level, n.text] {
                assert!(inside(f, msg));
            }
        }
        Line::Unknown => {}
    }
    if let Some(n) = parse_notice(msg) {
        assert!(inside(n.subject, msg) && inside(n.text, msg));
    }
    let _ = Record::from_parsed(&parsed);
    if let Ok(text) = std::str::from_utf8(msg) {
        let _ = listener_maps(text);
    }
}

fuzz_target!(|data: &[u8]| {
    let fixed = Parser::default();
    let with_clf = Parser::new(vec![format::clf().clone()]);
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let mut agg = Aggregator::new(&with_clf, Default::default());
    for raw in &lines {
        check_line(&fixed, raw);
        check_line(&with_clf, raw);
        agg.line(raw);
    }
    let s = agg.finish();
    assert_eq!(s.lines, lines.len() as u64);
    assert!(
        s.requests + s.filtered_out + s.connects + s.notices_total + s.foreign + s.unparsed
            <= s.lines
    );
});
