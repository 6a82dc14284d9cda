//! HAProxy's logs: formats, the line parser, sources and summaries.
//!
//! This folder owns reading HAProxy's log lines wherever they come from (a file, a `.gz`,
//! stdin, `journalctl` output, datagrams of the syslog listener), recognising every format
//! HAProxy writes (`option httplog`, `option tcplog`, `option httplog clf`, the default
//! format, a custom `log-format` read from the configuration, HAProxy's own notices) behind
//! any syslog header people have, filtering, and aggregating millions of lines in bounded
//! memory ([`summary`]).
//!
//! It may import `crate::system` (the syslog listener whose datagrams it parses, the
//! `FindingDoc` of docs/findings.md) and `crate::base::report::Severity`, and nothing above it:
//! never the Rhai side (`crate::script`), the CLI or the output layer. Parsers are pure
//! functions over byte slices; the per-line path allocates nothing.

pub mod entry;
pub mod filter;
pub mod findings;
pub mod format;
mod fx;
pub mod hist;
pub mod owned;
pub mod source;
pub mod summary;
pub mod termination;
pub mod time;
pub mod top;

pub use crate::system::envelope::{self, Envelope};
pub use entry::{Entry, Format, Line, Notice, NA};
pub use findings::finding_docs;
pub use format::LogFormat;

/// A line split into its envelope and what HAProxy wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub envelope: Envelope<'a>,
    pub line: Line<'a>,
}

/// The parser: HAProxy's fixed formats, CLF, and the custom formats it was given.
#[derive(Clone, Debug, Default)]
pub struct Parser {
    customs: Vec<LogFormat>,
}

impl Parser {
    /// A parser that also tries `customs` (in order) on lines the fixed formats do not match.
    pub fn new(customs: Vec<LogFormat>) -> Self {
        Parser { customs }
    }

    pub fn customs(&self) -> &[LogFormat] {
        &self.customs
    }

    /// Parses one line (without its newline).
    #[inline]
    pub fn parse<'a>(&self, raw: &'a [u8]) -> Parsed<'a> {
        let envelope = envelope::split(raw);
        let msg = envelope.message;
        if let Some(e) = entry::parse_fixed(msg) {
            return Parsed {
                envelope,
                line: Line::Traffic(e),
            };
        }
        let line = self.slow(msg);
        Parsed { envelope, line }
    }

    /// Custom formats, CLF, the default format and notices: the lines `parse_fixed` does
    /// not take.
    pub(crate) fn slow<'a>(&self, msg: &'a [u8]) -> Line<'a> {
        for (i, f) in self.customs.iter().enumerate() {
            if let Some(e) = f.parse(msg, Format::Custom(i)) {
                return Line::Traffic(e);
            }
        }
        let head = &msg[..msg.len().min(64)];
        if memchr::memmem::find(head, b" - - [").is_some() {
            if let Some(e) = format::clf().parse(msg, Format::Clf) {
                return Line::Traffic(e);
            }
        }
        entry::classify(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/logs/");

    fn lines(name: &str) -> Vec<Vec<u8>> {
        std::fs::read(format!("{FIX}{name}"))
            .unwrap()
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// (traffic lines, http, tcp, connects, notices, unknown) of a fixture.
    fn census(p: &Parser, name: &str) -> [usize; 6] {
        let mut n = [0; 6];
        for l in lines(name) {
            match p.parse(&l).line {
                Line::Traffic(e) => {
                    n[0] += 1;
                    n[if e.http { 1 } else { 2 }] += 1;
                }
                Line::Connect { .. } => n[3] += 1,
                Line::Notice(_) => n[4] += 1,
                Line::Unknown => n[5] += 1,
            }
        }
        n
    }

    fn custom_parser() -> Parser {
        let f = format::compile("%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r %ID %Tt", "haproxy.cfg:1").unwrap();
        Parser::new(vec![f])
    }

    #[test]
    fn every_fixture_format_parses_the_same_traffic() {
        let p = custom_parser();
        // 23 traffic lines (20 httplog, 2 clf, 1 custom... and 1 tcplog), 1 Connect, 3 notices.
        for name in [
            "local.log",
            "rfc3164-hostname.log",
            "rfc5424.log",
            "rsyslog-traditional.log",
            "rsyslog-precise.log",
            "journal-cat.log",
        ] {
            assert_eq!(census(&p, name), [24, 23, 1, 1, 3, 0], "{name}");
        }
        // Without the custom format, its line is not recognised (and not mistaken for httplog).
        assert_eq!(
            census(&Parser::default(), "local.log"),
            [23, 22, 1, 1, 3, 1]
        );
        // journalctl -o short: the same lines plus systemd's and HAProxy's -db notices.
        let jl = lines("journal-short.log");
        let foreign = jl.iter().filter(|l| p.parse(l).envelope.foreign()).count();
        assert_eq!(foreign, 2);
        assert_eq!(census(&p, "journal-short.log"), [24, 23, 1, 1, 5, 4]);
        // stdout raw: HAProxy's stderr notices are recognised with their level.
        let c = census(&p, "stdout-raw.log");
        assert_eq!((c[0], c[4], c[5]), (24, 6, 0));
    }

    #[test]
    fn the_same_line_reads_the_same_behind_every_header() {
        let p = Parser::default();
        let want = |name: &str| -> Vec<String> {
            lines(name)
                .iter()
                .filter_map(|l| match p.parse(l).line {
                    Line::Traffic(e) => Some(format!(
                        "{}|{}|{}|{}|{}|{}|{}",
                        String::from_utf8_lossy(e.frontend),
                        String::from_utf8_lossy(e.backend_server),
                        e.status,
                        e.t_end(),
                        String::from_utf8_lossy(e.termination_state),
                        e.retries,
                        String::from_utf8_lossy(e.uri()),
                    )),
                    _ => None,
                })
                .collect()
        };
        let base = want("local.log");
        for name in [
            "rfc3164-hostname.log",
            "rfc5424.log",
            "rsyslog-traditional.log",
            "rsyslog-precise.log",
            "journal-cat.log",
        ] {
            assert_eq!(want(name), base, "{name}");
        }
        assert!(
            base.contains(&"fe_http|bk_slow/slow1|504|301|sH--|0|/slow".to_string()),
            "{base:?}"
        );
    }

    #[test]
    fn truncated_lines_keep_what_they_have() {
        let p = Parser::default();
        let mut cut = 0;
        for l in lines("len160.log") {
            if let Line::Traffic(e) = p.parse(&l).line {
                assert!(!e.frontend.is_empty());
                cut += usize::from(e.truncated);
            }
        }
        assert!(cut >= 15, "{cut}");
    }

    #[test]
    fn envelope_fields_of_each_format() {
        let p = Parser::default();
        let l = &lines("rfc5424.log")[0];
        let x = p.parse(l);
        assert_eq!(
            (x.envelope.format, x.envelope.host, x.envelope.pid),
            ("rfc5424", &b"lb1"[..], Some(6879))
        );
        let l = &lines("rsyslog-traditional.log")[0];
        assert_eq!(p.parse(l).envelope.format, "file");
        let l = &lines("journal-cat.log")[0];
        assert_eq!(p.parse(l).envelope.format, "raw");
    }
}
