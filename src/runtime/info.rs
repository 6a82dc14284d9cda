//! Parser for the `show info` reply of the HAProxy runtime API.
//!
//! One `Key: value` pair per line, in HAProxy's order. Keys may contain spaces
//! (`Unstoppable Jobs`, `Build info`) and values may contain `": "`, so each line is split on
//! its **first** `": "`. A line `Key:` (empty value) is allowed. Blank lines are skipped.

/// A malformed `show info` reply: what was wrong and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed `show info` output at line {line}: {message}")]
pub struct ParseError {
    /// 1-based line of the input where the problem was found.
    pub line: usize,
    /// What was malformed.
    pub message: String,
}

/// Which process answered a `show info`, and whether it is stopping (the
/// old process of a reload keeps answering the CLI sessions opened on it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub pid: Option<String>,
    /// `Stopping: 1` (the field exists since HAProxy 2.2; absent: never).
    pub stopping: bool,
}

/// [`Process`] from a `show info` reply, read leniently: a reply that is
/// not `show info` has no pid and is not stopping.
pub fn process_of(info: &str) -> Process {
    let field = |key: &str| {
        info.lines()
            .find_map(|l| l.split_once(": ").filter(|(k, _)| *k == key))
            .map(|(_, v)| v.trim())
    };
    Process {
        pid: field("Pid").map(str::to_string),
        stopping: field("Stopping") == Some("1"),
    }
}

/// Parse a `show info` reply into `(key, value)` pairs, in order.
///
/// Errors: no `Key: value` line at all (empty reply), a non-blank line without `:` (an error
/// text such as `Unknown command.` or a truncated line), or an empty key.
pub fn parse_info(text: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let (key, value) = match line.split_once(": ") {
            Some(kv) => kv,
            None => match line.strip_suffix(':') {
                Some(key) => (key, ""),
                None => {
                    let shown: String = line.chars().take(80).collect();
                    return Err(ParseError {
                        line: i + 1,
                        message: format!("expected `Key: value`, got {shown:?}"),
                    });
                }
            },
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(ParseError {
                line: i + 1,
                message: "empty key".to_owned(),
            });
        }
        out.push((key.to_owned(), value.trim_end().to_owned()));
    }
    if out.is_empty() {
        return Err(ParseError {
            line: 1,
            message: "empty reply (no `Key: value` line)".to_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_and_whether_it_is_stopping() {
        let p = process_of("Name: HAProxy\nPid: 12\nStopping: 1\n");
        assert_eq!(p.pid.as_deref(), Some("12"));
        assert!(p.stopping);
        assert!(!process_of("Name: HAProxy\nStopping: 0\n").stopping);
        // Before HAProxy 2.2 there is no Stopping field: never a reload.
        assert!(!process_of("Name: HAProxy\nPid: 12\n").stopping);
    }

    const INFO_26: &str = include_str!("../../tests/fixtures/runtime/info-2.6.txt");

    fn get<'a>(v: &'a [(String, String)], k: &str) -> Option<&'a str> {
        v.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn real_26_capture() {
        let v = parse_info(INFO_26).unwrap();
        assert_eq!(v[0], ("Name".to_owned(), "HAProxy".to_owned()));
        assert_eq!(get(&v, "Version"), Some("2.6.12-1+deb12u4"));
        assert_eq!(get(&v, "Nbproc"), Some("1"));
        assert_eq!(get(&v, "Maxconn"), Some("9984"));
        assert_eq!(get(&v, "Uptime"), Some("0d 0h00m06s"));
        assert_eq!(get(&v, "Unstoppable Jobs"), Some("0"));
        assert_eq!(get(&v, "Build info"), Some("2.6.12-1+deb12u4"));
        assert_eq!(v.last().map(|(k, _)| k.as_str()), Some("Tainted"));
        assert_eq!(v.len(), 69);
    }

    #[test]
    fn first_separator_empty_values_blank_lines() {
        let v = parse_info("\ndescription:\nnode: a: b\r\nRelease_date: 2023/01/01\n\n").unwrap();
        assert_eq!(
            v,
            [
                ("description".to_owned(), String::new()),
                ("node".to_owned(), "a: b".to_owned()),
                ("Release_date".to_owned(), "2023/01/01".to_owned()),
            ]
        );
    }

    #[test]
    fn malformed_inputs_are_errors() {
        for (input, line) in [
            ("", 1),
            ("\n\n  \n", 1),
            ("Unknown command.\n", 1),
            ("Name: HAProxy\nVersi", 2),
            ("Name: HAProxy\n: x\n", 2),
            ("\u{0}\u{1}\u{fffd}\n", 1),
            ("Name:HAProxy\n", 1),
        ] {
            let e = parse_info(input).expect_err(input);
            assert_eq!(e.line, line, "{input:?}: {e}");
        }
        for cut in 0..INFO_26.len() {
            let _ = parse_info(&INFO_26[..cut]);
        }
    }
}
