//! `index.json` of a snapshot bundle, read before a replay opens any file of
//! it. Checked: no panic; an accepted index has a known version and lists
//! only relative paths of plain names (nothing outside the bundle).

#![no_main]

use harun::runtime::replay::index::{check_entry_path, parse_index, VERSION};
use libfuzzer_sys::fuzz_target;
use std::path::{Component, Path};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(index) = parse_index(text) else {
        return;
    };
    assert!((1..=VERSION).contains(&index.version) || index.version == 0);
    for e in &index.files {
        assert!(check_entry_path(&e.file).is_ok());
        let p = Path::new(&e.file);
        assert!(p.is_relative() && !e.file.contains('\0'), "{:?}", e.file);
        assert!(
            p.components().all(|c| matches!(c, Component::Normal(_))),
            "{:?} leaves the bundle",
            e.file
        );
    }
});
