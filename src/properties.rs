//! Property tests over every parser and validator: arbitrary input never
//! panics, the streaming `show stat` parser gives the same result however
//! the reply is split, and validated names and commands never carry what
//! HAProxy's CLI parser treats specially. These run in `cargo test`; the
//! cargo-fuzz targets under `fuzz/` (`scripts/fuzz`) check the same
//! invariants for minutes per parser, outside CI.

use crate::config::check::parse_check_output;
use crate::config::model::parse_config;
use crate::runtime::address::Address;
use crate::runtime::command::{validate_name, Command, ServerRef};
use crate::runtime::info::parse_info;
use crate::runtime::replay::index::parse_index;
use crate::runtime::servers_state::parse_servers_state;
use crate::runtime::session::{classify, split_severity};
use crate::runtime::stat::{parse_stat, Stat, StatParser};
use crate::system::rsyslog::parse_rsyslog;
use crate::system::syslog::parse_syslog;
use proptest::prelude::*;
use std::path::Path;

/// Text that looks enough like HAProxy's replies to reach deep branches:
/// its separators and markers, mixed with arbitrary characters.
fn haproxy_ish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("# pxname,svname,".to_string()),
        Just(",".to_string()),
        Just("\n".to_string()),
        Just("\"".to_string()),
        Just("-,".to_string()),
        Just(": ".to_string()),
        Just("[ALERT]    (1) : config : parsing [h.cfg:3] : ".to_string()),
        Just("[WARNING]  (1) : ".to_string()),
        Just("1\n# be_id be_name srv_id srv_name ".to_string()),
        Just("<134>".to_string()),
        Just("backend ".to_string()),
        Just("server s1 127.0.0.1:80\n".to_string()),
        Just("$ModLoad imudp\n".to_string()),
        Just("module(load=\"imudp\")\n".to_string()),
        "[a-zA-Z0-9_ ]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// A well-formed `show stat` reply: a header with a `-` separator and rows.
fn stat_reply() -> impl Strategy<Value = String> {
    (1usize..6, 0usize..30).prop_flat_map(|(extra, nrows)| {
        let cell = "[a-z0-9 ]{0,6}";
        prop::collection::vec(prop::collection::vec(cell, extra + 1), nrows).prop_map(move |rows| {
            let mut out = String::from("# pxname,svname,");
            for i in 0..extra {
                out.push_str(&format!("c{i},"));
            }
            out.push_str("-,\n");
            for (n, r) in rows.iter().enumerate() {
                out.push_str(&format!("px{n},"));
                for c in r {
                    out.push_str(c);
                    out.push(',');
                }
                out.push_str(",\n");
            }
            out
        })
    })
}

fn feed_in_chunks(text: &[u8], cuts: &[usize]) -> Result<Stat, String> {
    let mut parser = StatParser::new();
    let mut at = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (text.len() + 1)).collect();
    cuts.sort_unstable();
    for c in cuts.into_iter().chain([text.len()]) {
        if c > at {
            parser.feed(&text[at..c]).map_err(|e| e.to_string())?;
            at = c;
        }
    }
    parser.finish().map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(text in haproxy_ish()) {
        let _ = parse_stat(&text);
        let _ = parse_info(&text);
        let _ = parse_servers_state(&text);
        let _ = parse_check_output(&text, 1);
        let _ = parse_config(&text, Path::new("h.cfg"));
        let _ = parse_rsyslog(&text, Path::new("r.conf"));
        let _ = parse_syslog(text.as_bytes());
        let _ = crate::logs::owned::listener_maps(&text);
        let _ = crate::logs::Parser::default().parse(text.as_bytes());
        let _ = crate::logs::format::compile(&text, "p");
        let _ = split_severity(&text);
        let _ = classify("t", "c", text.clone());
    }

    #[test]
    fn parsers_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut p = StatParser::new();
        let _ = p.feed(&bytes);
        let _ = p.finish();
        let _ = parse_syslog(&bytes);
        // Every HAProxy log format and syslog header, CLF and a custom format included.
        let parser = crate::logs::Parser::new(vec![crate::logs::format::clf().clone()]);
        if let crate::logs::Line::Traffic(mut e) = parser.parse(&bytes).line {
            let _ = (e.method(), e.uri(), e.complete());
        }
        let mut agg = crate::logs::summary::Aggregator::new(&parser, Default::default());
        agg.line(&bytes);
        let _ = agg.finish();
    }

    /// The reply arrives in reads of any size: the parse must not depend on
    /// where they cut it. Garbage fails either way; the line an error names
    /// may differ only for a quoted field spanning lines, which `show stat`
    /// never sends.
    #[test]
    fn show_stat_parses_the_same_however_it_is_split(
        text in prop_oneof![stat_reply(), haproxy_ish()],
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let whole = parse_stat(&text).map_err(|e| e.to_string());
        let chunked = feed_in_chunks(text.as_bytes(), &cuts);
        if whole.is_ok() || !text.contains('"') {
            prop_assert_eq!(chunked, whole);
        } else {
            prop_assert!(chunked.is_err(), "{:?}", chunked);
        }
    }

    #[test]
    fn well_formed_show_stat_keeps_every_row(text in stat_reply()) {
        let rows = text.lines().count() - 1;
        let stat = parse_stat(&text).unwrap();
        prop_assert_eq!(stat.len(), rows);
    }

    #[test]
    fn show_info_pairs_round_trip(
        pairs in prop::collection::vec(("[A-Za-z][A-Za-z_ ]{0,10}[A-Za-z]", "[ -~]{0,20}"), 1..10)
    ) {
        let text: String = pairs.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        let parsed = parse_info(&text).unwrap();
        let want: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.trim().to_string(), v.trim_end().to_string()))
            .collect();
        prop_assert_eq!(parsed, want);
    }

    /// A name is accepted exactly when HAProxy's configuration would accept it.
    #[test]
    fn names_follow_haproxys_grammar(name in any::<String>()) {
        let grammar = !name.is_empty()
            && name.len() <= 128
            && !name.contains("<<")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        prop_assert_eq!(validate_name("name", &name).is_ok(), grammar, "{:?}", name);
    }

    /// Whatever a playbook passes, an accepted command is one ASCII line
    /// HAProxy reads as one command, and a server it names is a valid name.
    #[test]
    fn accepted_commands_are_one_plain_line(text in prop_oneof![haproxy_ish(), any::<String>()]) {
        if let Ok(c) = Command::raw(&text) {
            let s = c.as_str();
            prop_assert!(s.is_ascii(), "{:?}", s);
            prop_assert!(!s.contains([';', '\n', '\r', '\\', '\t']), "{:?}", s);
            prop_assert!(!s.contains("<<") && !s.starts_with('@'), "{:?}", s);
            prop_assert!(!s.chars().any(|c| c.is_control()), "{:?}", s);
        }
        if let Ok(r) = ServerRef::parse(&text) {
            prop_assert!(validate_name("b", &r.backend).is_ok() && validate_name("s", &r.server).is_ok());
        }
    }

    /// Whatever `-s` gets, a TCP address is one `TcpStream::connect` can use
    /// (a plain host, a port in range, an IPv6 host bracketed) and it reads
    /// back as itself.
    #[test]
    fn tcp_addresses_are_usable_and_read_back(
        text in prop_oneof![
            "(ipv4@|ipv6@|tcp@|unix@|replay@|)[\\[\\]a-z0-9:.@/ %-]{0,16}(:[0-9]{1,6})?",
            any::<String>(),
        ]
    ) {
        if let Ok(Address::Tcp(hp)) = Address::parse(&text) {
            let (host, port) = hp.rsplit_once(':').unwrap();
            prop_assert!(port.parse::<u16>().is_ok_and(|p| p != 0), "{:?}", hp);
            let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
            prop_assert_eq!(host.len() > bare.len(), bare.contains(':'), "{:?}", hp);
            prop_assert!(
                !bare.is_empty() && bare.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:%".contains(c)),
                "{:?} gives {:?}", text, hp
            );
            prop_assert_eq!(Address::parse(&hp).ok(), Some(Address::Tcp(hp.clone())));
        }
    }

    /// A snapshot's index never makes a replay read outside its bundle.
    #[test]
    fn snapshot_indexes_list_only_files_inside_the_bundle(
        files in prop::collection::vec("(\\.\\./|/|\\./|[a-z]{1,3}/|\\.\\.|\\\\u0000)*[a-z.]{0,6}", 0..4)
    ) {
        let entries: Vec<String> = files
            .iter()
            .map(|f| format!("{{\"file\":{}}}", serde_json::to_string(f).unwrap()))
            .collect();
        let text = format!(
            "{{\"format\":\"harun-snapshot\",\"version\":2,\"files\":[{}]}}",
            entries.join(",")
        );
        if let Ok(index) = parse_index(&text) {
            for e in &index.files {
                let p = Path::new(&e.file);
                prop_assert!(!e.file.is_empty() && !e.file.contains('\0'), "{:?}", e.file);
                prop_assert!(
                    p.components().all(|c| matches!(c, std::path::Component::Normal(_))),
                    "{:?}", e.file
                );
            }
        }
    }

    /// By name or by position, a column of `show stat` reads the same, even
    /// when a mangled header names a column twice.
    #[test]
    fn show_stat_lookups_by_name_and_position_agree(
        names in prop::collection::vec("[a-c]", 0..5),
        rows in prop::collection::vec(prop::collection::vec("[0-9x]{0,2}", 5), 0..4),
    ) {
        let mut text = format!("# pxname,svname,{}\n", names.iter().map(|n| format!("{n},")).collect::<String>());
        for (i, r) in rows.iter().enumerate() {
            text.push_str(&format!("px{i},sv,{}\n", r[..names.len()].iter().map(|v| format!("{v},")).collect::<String>()));
        }
        let stat = parse_stat(&text).unwrap();
        prop_assert_eq!(stat.len(), rows.len());
        for r in 0..stat.len() {
            for n in &names {
                let by_position = stat.index(n).and_then(|i| stat.rows[r].get(i));
                prop_assert_eq!(stat.value(r, n), by_position, "{}", text);
            }
        }
    }

    /// Every field the log parser returns is a slice of the line it read,
    /// with a custom format or without.
    #[test]
    fn log_fields_are_slices_of_their_line(
        format in "(%[a-zA-Z]{1,3}|[ /:\\[\\]\"]|%\\{\\+Q\\}r|%ft|%b|%s){1,12}",
        lines in prop::collection::vec(haproxy_log_ish(), 1..6),
    ) {
        let inside = |part: &[u8], whole: &[u8]| {
            let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
            part.is_empty() || (p >= w && p + part.len() <= w + whole.len())
        };
        let customs: Vec<_> = crate::logs::format::compile(&format, "p").into_iter().collect();
        let parser = crate::logs::Parser::new(customs);
        for line in &lines {
            let raw = line.as_bytes();
            let parsed = parser.parse(raw);
            prop_assert!(inside(parsed.envelope.message, raw));
            if let crate::logs::Line::Traffic(e) = parsed.line {
                for f in [e.client_ip, e.accept_date, e.frontend, e.backend, e.server,
                          e.termination_state, e.request, e.method(), e.uri()] {
                    prop_assert!(inside(f, raw), "{:?} with {:?}", line, format);
                }
            }
        }
    }
}

/// Log lines made of HAProxy's pieces: headers, `ip:port`, dates, timers,
/// termination states, quotes and braces, mixed with arbitrary text.
fn haproxy_log_ish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<134>Dec  6 21:10:52 lb1 haproxy[6879]: ".to_string()),
        Just("<134>1 2026-11-23T19:23:02.116193+00:00 - haproxy 7710 - - ".to_string()),
        Just("127.0.0.1:46934 ".to_string()),
        Just("[06/Dec/2026:21:10:49.131] ".to_string()),
        Just("fe_http bk/s1 ".to_string()),
        Just("0/0/-1/-1/+1002 503 217 - - SC-- 1/1/0/0/+1 0/0 ".to_string()),
        Just("{a|b} {} ".to_string()),
        Just("\"GET /x HTTP/1.1\"".to_string()),
        Just("Server bk/s1 is DOWN".to_string()),
        Just("[WARNING]  (1) : ".to_string()),
        Just("Connect from 1.2.3.4:5 to 6.7.8.9:80 (fe/HTTP)".to_string()),
        Just(" - - [".to_string()),
        "[ -~]{0,8}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}
