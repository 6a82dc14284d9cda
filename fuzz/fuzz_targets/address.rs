//! Runtime API addresses (`-s`, `HARUN_SOCKET`, playbook targets). Checked:
//! no panic; a TCP address is `host:port` with a port in 1-65535, a host
//! without blanks or stray brackets and an IPv6 host bracketed, ready for
//! `TcpStream::connect`, and it parses back to itself; no address holds a
//! control character; a socket path or bundle directory reads back the same
//! through its `unix@`/`replay@`/`master@` form; an `ssh://` address names
//! one host and user that ssh cannot read as an option, and reads back the same.

#![no_main]

use harun::runtime::address::Address;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(a) = Address::parse(text) else {
        return;
    };
    let shown = a.to_string();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    let again = match &a {
        Address::Tcp(hp) => {
            let (host, port) = hp.rsplit_once(':').expect("host:port");
            let port: u16 = port.parse().expect("a numeric port");
            assert_ne!(port, 0);
            let bare = match host.strip_prefix('[') {
                Some(h) => h.strip_suffix(']').expect("an IPv6 host is bracketed"),
                None => host,
            };
            assert!(!bare.is_empty(), "{hp:?}");
            assert_eq!(host.len() > bare.len(), bare.contains(':'), "{hp:?}");
            assert!(
                !bare.contains(['[', ']']) && !bare.contains(char::is_whitespace),
                "{text:?} gives the host {bare:?}"
            );
            Address::parse(hp)
        }
        Address::Unix(p) => {
            assert!(!p.as_os_str().is_empty());
            Address::parse(&format!("unix@{}", p.display()))
        }
        Address::Replay(p) => {
            assert!(!p.as_os_str().is_empty());
            Address::parse(&shown)
        }
        Address::Master(p) => {
            assert!(!p.as_os_str().is_empty());
            Address::parse(&format!("master@{}", p.display()))
        }
        Address::Ssh(r) => {
            // What ssh gets must name one host and one user, never an option.
            let odd = |s: &str| s.is_empty() || s.starts_with('-') || s.contains(['@', '[', ']', '/']);
            assert!(!odd(&r.host), "{text:?} gives the host {:?}", r.host);
            if let Some(u) = &r.user {
                assert!(!odd(u) && !u.contains(':'), "{text:?} gives the user {u:?}");
            }
            assert_ne!(r.port, Some(0));
            let path = r.path.to_string_lossy();
            assert!(path.starts_with('/') && path.len() > 1, "{path:?}");
            assert!(!path.contains(':') && !path.contains(char::is_whitespace));
            Address::parse(&shown)
        }
    };
    assert_eq!(
        again.ok().as_ref(),
        Some(&a),
        "{text:?} reads back differently"
    );
});
