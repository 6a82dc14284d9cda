//! A datagram of the live syslog listener. Checked: no panic; PRI is in
//! range and splits into facility and severity with their names; the
//! message, host and tag come from the datagram.

#![no_main]

use harun::system::syslog::parse_syslog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(m) = parse_syslog(data) else {
        return;
    };
    assert!(m.pri <= 191, "PRI {}", m.pri);
    assert_eq!(m.facility * 8 + m.severity, m.pri);
    assert!(!m.facility_name.is_empty() && !m.severity_name.is_empty());
    // `<PRI>` opens the datagram (leading zeros allowed).
    let close = data
        .iter()
        .position(|&b| b == b'>')
        .expect("a PRI is closed");
    let digits = std::str::from_utf8(&data[1..close]).expect("PRI digits");
    assert_eq!(data[0], b'<');
    assert_eq!(digits.parse::<u8>(), Ok(m.pri));
    let text = String::from_utf8_lossy(data);
    assert!(text.contains(&m.message), "message not from the datagram");
    for part in [&m.host, &m.tag, &m.timestamp].into_iter().flatten() {
        assert!(!part.is_empty() && text.contains(part.as_str()));
    }
    assert!(
        ["rfc5424", "rfc3164", "local", "file", "priority"].contains(&m.format.as_str()),
        "{}",
        m.format
    );
});
