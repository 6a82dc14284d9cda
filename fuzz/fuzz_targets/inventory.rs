//! Ansible inventories, INI and YAML (the first byte chooses). Checked: no
//! panic and no runaway (ranges are bounded); an inventory that parses
//! answers every question harun asks of it: each host's groups and
//! variables (Ansible's precedence), its connection and socket, and the
//! `--limit` patterns built from its own names.

#![no_main]

use harun::fleet::read::{parse, Format};
use harun::fleet::pattern::select;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = if first & 1 == 0 { Format::Ini } else { Format::Yaml };
    let Ok(inv) = parse(text, format) else {
        return;
    };
    for host in inv.hosts() {
        assert!(!host.name.is_empty(), "an empty host name");
        assert_eq!(inv.host(&host.name).map(|h| &h.name), Some(&host.name));
        let groups = inv.group_names(host);
        assert!(groups.iter().all(|g| inv.group(g).is_some()), "{groups:?}");
        let _ = inv.vars(host);
    }
    // `all` is every host; selecting nothing is an error (a typo must not
    // run against no host in silence).
    let all = match select(&inv, "all") {
        Ok(all) => all,
        Err(_) if inv.hosts().is_empty() => return,
        Err(e) => panic!("`all` of {} hosts: {e}", inv.hosts().len()),
    };
    assert_eq!(all.len(), inv.hosts().len(), "`all` is every host");
    let names: Vec<String> = inv
        .hosts()
        .iter()
        .map(|h| h.name.clone())
        .chain(inv.groups().iter().map(|g| g.name.clone()))
        .take(4)
        .collect();
    for name in &names {
        if let Ok(picked) = select(&inv, name) {
            assert!(picked.iter().all(|h| inv.host(h).is_some()));
        }
        let _ = select(&inv, &format!("all:!{name}"));
        let _ = select(&inv, &format!("{name}:&all"));
    }
    let _ = harun::fleet::member::resolve(
        &inv,
        &all,
        std::path::Path::new("fuzz.ini"),
        Some(std::path::Path::new("/home/fuzz")),
    );
});
