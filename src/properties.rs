//! Property tests over every parser and validator: arbitrary input never
//! panics, the streaming `show stat` parser gives the same result however
//! the reply is split, and validated names and commands never carry what
//! HAProxy's CLI parser treats specially. (Fuzz targets under `fuzz/` are
//! still to come; these run in `cargo test`.)

use crate::config::check::parse_check_output;
use crate::config::model::parse_config;
use crate::runtime::command::{validate_name, Command, ServerRef};
use crate::runtime::info::parse_info;
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
}
