//! `show stat`: the whole-reply parser and the streaming one.
//!
//! The first two bytes choose where the reply is cut into two reads; the rest
//! is the reply. Checked: no panic; the streaming parse equals the whole parse
//! (a quote left open may fail differently, as src/properties.rs allows);
//! every row has one value per column; without quotes, every non-blank line
//! after the header is a row; every lookup of every column of every row
//! answers, and the by-name lookups agree with the positional ones.

#![no_main]

use harun::runtime::stat::{parse_stat, Stat, StatParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let cut = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let reply = &data[2..];
    let cut = cut % (reply.len() + 1);

    let mut parser = StatParser::new();
    let streamed = match parser
        .feed(&reply[..cut])
        .and_then(|()| parser.feed(&reply[cut..]))
    {
        Ok(()) => parser.finish(),
        Err(e) => Err(e),
    };

    let Ok(text) = std::str::from_utf8(reply) else {
        if let Ok(stat) = streamed {
            check(&stat, None);
        }
        return;
    };
    let whole = parse_stat(text);
    // The split (batches without a quote) reads as the CSV reader does.
    if !text.contains('"') {
        let mut p = StatParser::new().csv_only();
        let by_csv = p.feed(reply).and_then(|()| p.finish());
        assert_eq!(whole, by_csv, "the split and the CSV reader differ");
    }
    match (&whole, &streamed) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "streamed parse differs"),
        (Err(a), Err(b)) if !text.contains('"') => assert_eq!(a, b, "streamed error differs"),
        (Err(_), Err(_)) => {}
        _ => panic!("whole {whole:?} but streamed {streamed:?}"),
    }
    if let Ok(stat) = whole {
        check(&stat, Some(text));
    }
});

fn check(stat: &Stat, text: Option<&str>) {
    let ncols = stat.columns.len();
    for row in &stat.rows {
        assert_eq!(row.len(), ncols, "row width differs from the header");
        assert_eq!(row.header().names(), &stat.columns[..]);
        assert_eq!(row.values().len(), ncols);
        for i in 0..=ncols {
            let _ = (row.raw(i), row.get(i));
        }
    }
    if let Some(text) = text.filter(|t| !t.contains('"')) {
        // The CSV reader ends a record at CR, LF or CRLF and skips empty ones;
        // blanks after the last line that holds anything are the reply's end
        // (HAProxy ends every reply with an empty line), not rows.
        let body = text.trim_end_matches(|c: char| c.is_ascii_whitespace());
        let lines = body.split(['\r', '\n']).filter(|l| !l.is_empty()).count();
        assert_eq!(stat.len() + 1, lines, "rows lost or invented");
    }
    for (r, row) in stat.rows.iter().enumerate() {
        for name in stat.columns.iter().map(String::as_str).chain(["", "nope"]) {
            let by_name = stat.value(r, name);
            assert_eq!(by_name, row.value(name));
            let by_index = stat.index(name).and_then(|i| row.get(i));
            assert_eq!(by_name, by_index, "column `{name}`: lookups disagree");
            let _ = (stat.int(r, name), stat.text(r, name));
        }
        let _ = stat.proxy_type(r);
        let px = stat.index("pxname").map(|i| row.raw(i)).unwrap_or("");
        let sv = stat.index("svname").map(|i| row.raw(i)).unwrap_or("");
        let found = stat.find(px, sv).expect("a row is found by its own names");
        assert!(found <= r);
    }
    let _ = stat.value(stat.len(), "pxname");
}
