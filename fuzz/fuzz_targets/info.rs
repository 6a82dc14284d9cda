//! `show info`. Checked: no panic; one pair per line that is not blank, keys
//! non-empty and trimmed, values without trailing blanks; `process_of` (the
//! lenient reader of the same reply) answers on anything.

#![no_main]

use harun::runtime::info::{parse_info, process_of};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = process_of(text);
    let Ok(pairs) = parse_info(text) else {
        return;
    };
    let lines = text
        .lines()
        .filter(|l| !l.trim_end_matches('\r').trim().is_empty())
        .count();
    assert_eq!(pairs.len(), lines, "pairs lost or invented");
    for (k, v) in &pairs {
        assert!(!k.is_empty() && k.trim() == k, "key {k:?}");
        assert_eq!(v.trim_end(), v, "value {v:?}");
        assert!(!k.contains('\n') && !v.contains('\n'));
    }
});
