//! Ansible's INI inventory format, read the way its `ini` plugin reads it:
//! `[group]` sections of host lines (`web1 ansible_host=10.0.0.1`, quoted
//! and commented as a shell would), `[group:vars]` of `key=value` lines,
//! `[group:children]` of group names; lines before any section are
//! `ungrouped` hosts. A group must be declared (`[g]` or `[g:children]`)
//! somewhere in the file for a `[g:vars]` section or a child line naming it.

use super::inventory::{expand_host_pattern, Inventory, ParseError, ParseResult};
use super::words::split;
use std::collections::BTreeMap;

#[derive(Clone, Copy, PartialEq)]
enum State {
    Hosts,
    Children,
    Vars,
}

/// A reference that must be declared by the end of the file.
struct Pending {
    line: usize,
    /// `[g:vars]` for an undeclared `g`, or a child line naming `g`.
    vars: bool,
    /// The sections naming it as a child, latest last.
    parents: Vec<usize>,
}

pub fn parse(text: &str) -> ParseResult<Inventory> {
    let mut inv = Inventory::default();
    let mut group = inv.add_group("ungrouped", 0);
    let mut state = State::Hosts;
    let mut declared: Vec<bool> = vec![true, true];
    let mut pending: BTreeMap<usize, Pending> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some((name, kind)) = section(line) {
            state = match kind {
                None | Some("hosts") => State::Hosts,
                Some("children") => State::Children,
                Some("vars") => State::Vars,
                Some(other) => {
                    return Err(ParseError::at(
                        n,
                        format!("section [{name}:{other}] has an unknown type `{other}` (hosts, children or vars)"),
                    ))
                }
            };
            group = inv.add_group(name, n);
            declared.resize(inv.groups().len(), false);
            if state == State::Vars {
                if !declared[group] {
                    pending.entry(group).or_insert(Pending {
                        line: n,
                        vars: true,
                        parents: Vec::new(),
                    });
                }
            } else {
                declared[group] = true;
                if let Some(p) = pending.remove(&group) {
                    for parent in p.parents {
                        inv.add_child(parent, group)
                            .map_err(|e| ParseError::at(p.line, e))?;
                    }
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(ParseError::at(
                n,
                format!("invalid section `{line}`: a section is [group], [group:vars] or [group:children], without spaces"),
            ));
        }
        match state {
            State::Hosts => {
                let tokens = split(line, true).map_err(|e| ParseError::at(n, e))?;
                let Some((pattern, assignments)) = tokens.split_first() else {
                    continue;
                };
                let (hosts, port) = expand_host_pattern(pattern, n)?;
                let mut vars = Vec::new();
                for t in assignments {
                    let Some((k, v)) = t.split_once('=') else {
                        return Err(ParseError::at(
                            n,
                            format!("host `{pattern}`: expected key=value, got `{t}`"),
                        ));
                    };
                    vars.push((k.to_string(), literal(v)));
                }
                for name in hosts {
                    let h = inv.add_host(&name, group, n)?;
                    if let Some(p) = port {
                        inv.set_host_var(h, "ansible_port", p.to_string());
                    }
                    for (k, v) in &vars {
                        inv.set_host_var(h, k, v.clone());
                    }
                }
            }
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(ParseError::at(
                        n,
                        format!(
                            "expected key=value in [{}:vars], got `{line}`",
                            inv.groups()[group].name
                        ),
                    ));
                };
                inv.set_group_var(group, k.trim(), literal(v.trim()));
            }
            State::Children => {
                let Some(name) = group_name(line) else {
                    return Err(ParseError::at(
                        n,
                        format!(
                            "expected a group name in [{}:children], got `{line}`",
                            inv.groups()[group].name
                        ),
                    ));
                };
                let child = inv.add_group(name, n);
                declared.resize(inv.groups().len(), false);
                if declared[child] {
                    inv.add_child(group, child)
                        .map_err(|e| ParseError::at(n, e))?;
                } else {
                    let p = pending.entry(child).or_insert(Pending {
                        line: n,
                        vars: false,
                        parents: Vec::new(),
                    });
                    p.vars = false;
                    p.parents.push(group);
                }
            }
        }
    }
    // Like Ansible, report the first reference never declared.
    if let Some((&g, p)) = pending.iter().min_by_key(|(_, p)| p.line) {
        let name = &inv.groups()[g].name;
        let message = match p.parents.last() {
            Some(&parent) if !p.vars => format!(
                "section [{}:children] names group `{name}`, which the file never declares ([{name}] or [{name}:children])",
                inv.groups()[parent].name
            ),
            _ => format!(
                "section [{name}:vars] is for group `{name}`, which the file never declares ([{name}] or [{name}:children])"
            ),
        };
        return Err(ParseError::at(p.line, message));
    }
    inv.reconcile();
    Ok(inv)
}

/// `[name]` or `[name:kind]`, then only spaces or a `#` comment.
fn section(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let after = rest[close + 1..].trim_start();
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    let inner = &rest[..close];
    let (name, kind) = match inner.split_once(':') {
        Some((n, k)) => (n, Some(k)),
        None => (inner, None),
    };
    let name_ok = !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == ']');
    let kind_ok =
        kind.is_none_or(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'));
    (name_ok && kind_ok).then_some((name, kind))
}

/// A group name on a `[g:children]` line, then only spaces or a `#` comment.
fn group_name(line: &str) -> Option<&str> {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '#')
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let ok = !name.is_empty()
        && !name.contains([':', ']'])
        && (rest.is_empty() || rest.starts_with('#'));
    ok.then_some(name)
}

/// A value as Ansible's `ast.literal_eval` leaves it once made a string:
/// a quoted Python string loses its quotes, and a number, `True`, `False`
/// or `None` followed by a Python comment loses the comment; anything
/// else is kept as written (so `host=10.0.0.1 # db` keeps ` # db`, as in
/// Ansible).
fn literal(v: &str) -> String {
    let v = v.trim();
    if let Some(q) = v.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let body = &v[1..];
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, x)) => out.push(x),
                    None => return v.to_string(),
                },
                c if c == q => {
                    let rest = body[i + 1..].trim_start();
                    return if rest.is_empty() || rest.starts_with('#') {
                        out
                    } else {
                        v.to_string()
                    };
                }
                c => out.push(c),
            }
        }
        return v.to_string();
    }
    let (first, rest) = match v.find(char::is_whitespace) {
        Some(i) => (&v[..i], v[i..].trim_start()),
        None => (v, ""),
    };
    let python_literal = first.parse::<f64>().is_ok() || matches!(first, "True" | "False" | "None");
    if !rest.is_empty() && rest.starts_with('#') && python_literal {
        first.to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"# A fleet of load balancers.
bastion ansible_connection=local

[lb_eu]
lb-eu[01:03] ansible_user=ops
lb-eu04:2222 ansible_host=10.0.4.4 harun_socket="/run/haproxy/admin two.sock"  # spaces quoted

[lb_us]
lb-us1 ansible_host=10.1.0.1 note='a#b' weight=03

[lb:children]
lb_eu
lb_us

[lb:vars]
harun_socket=/run/haproxy/lb.sock
ansible_user = deploy
port=8080 # a comment after a number goes
name=web # a comment after a word stays, as in Ansible

[lb_eu:vars]
harun_socket=/run/haproxy/eu.sock

[all:vars]
ansible_user=root
harun_socket=/run/haproxy/admin.sock
region=none
"#;

    fn var(inv: &Inventory, host: &str, key: &str) -> Option<String> {
        inv.vars(inv.host(host).unwrap()).get(key).cloned()
    }

    #[test]
    fn hosts_groups_children_and_ranges() {
        let inv = parse(FIXTURE).unwrap();
        let names: Vec<&str> = inv.hosts().iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            ["bastion", "lb-eu01", "lb-eu02", "lb-eu03", "lb-eu04", "lb-us1"]
        );
        assert_eq!(
            inv.group_names(inv.host("lb-eu02").unwrap()),
            ["lb", "lb_eu"]
        );
        assert_eq!(inv.group_names(inv.host("bastion").unwrap()), ["ungrouped"]);
        assert_eq!(inv.host("lb-eu02").unwrap().line, 5);
        assert_eq!(inv.group("lb").unwrap().line, 11);
    }

    #[test]
    fn variables_follow_ansible_precedence() {
        let inv = parse(FIXTURE).unwrap();
        // host > child group > parent group > all
        assert_eq!(var(&inv, "lb-eu01", "ansible_user").as_deref(), Some("ops"));
        assert_eq!(
            var(&inv, "lb-us1", "ansible_user").as_deref(),
            Some("deploy")
        );
        assert_eq!(
            var(&inv, "bastion", "ansible_user").as_deref(),
            Some("root")
        );
        assert_eq!(
            var(&inv, "lb-eu01", "harun_socket").as_deref(),
            Some("/run/haproxy/eu.sock")
        );
        assert_eq!(
            var(&inv, "lb-us1", "harun_socket").as_deref(),
            Some("/run/haproxy/lb.sock")
        );
        assert_eq!(
            var(&inv, "lb-eu04", "harun_socket").as_deref(),
            Some("/run/haproxy/admin two.sock")
        );
        assert_eq!(var(&inv, "bastion", "region").as_deref(), Some("none"));
        assert_eq!(
            var(&inv, "lb-eu04", "ansible_port").as_deref(),
            Some("2222")
        );
        assert_eq!(
            var(&inv, "lb-eu04", "ansible_host").as_deref(),
            Some("10.0.4.4")
        );
        assert_eq!(var(&inv, "lb-us1", "note").as_deref(), Some("a#b"));
        assert_eq!(var(&inv, "lb-us1", "weight").as_deref(), Some("03"));
        assert_eq!(var(&inv, "lb-us1", "port").as_deref(), Some("8080"));
        assert_eq!(
            var(&inv, "lb-us1", "name").as_deref(),
            Some("web # a comment after a word stays, as in Ansible")
        );
    }

    #[test]
    fn siblings_of_one_depth_apply_by_name_then_priority() {
        let text = "[b]\nh\n[a]\nh\n[a:vars]\nx=from_a\n[b:vars]\nx=from_b\n";
        let inv = parse(text).unwrap();
        assert_eq!(
            var(&inv, "h", "x").as_deref(),
            Some("from_b"),
            "b sorts after a"
        );
        let text = format!("{text}ansible_group_priority=0\n");
        let inv = parse(&text).unwrap();
        assert_eq!(
            var(&inv, "h", "x").as_deref(),
            Some("from_a"),
            "a lower priority goes first"
        );
    }

    #[test]
    fn children_may_be_declared_later_but_must_be_declared() {
        let inv = parse("[p:children]\nc\n[c]\nh1\n").unwrap();
        assert_eq!(inv.group_names(inv.host("h1").unwrap()), ["c", "p"]);
        let e = parse("[p:children]\nc\n\n[p]\nh1\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains("[p:children] names group `c`"),
            "{}",
            e.message
        );
        let e = parse("[h]\nx\n[nope:vars]\na=1\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("[nope:vars]"), "{}", e.message);
        // A [g:vars] before [g] is fine.
        assert!(parse("[g:vars]\na=1\n[g]\nh\n").is_ok());
    }

    #[test]
    fn malformed_lines_are_named_with_their_number() {
        let cases = [
            ("[web]\nweb1\n[web:bogus]\n", 3, "unknown type"),
            ("[web]\nweb1 user\n", 2, "expected key=value"),
            ("[web]\n\nweb1 a='open\n", 3, "no closing quotation"),
            ("[web:vars]\nnovalue\n[web]\n", 2, "expected key=value"),
            ("[web:children]\na b\n", 2, "expected a group name"),
            ("[web ]\n", 1, "invalid section"),
            ("[web]\nweb[5:1]\n", 2, "begin <= end"),
            ("[a:children]\nb\n[b:children]\na\n", 4, "loop"),
            ("---\nall:\n", 1, "YAML"),
        ];
        for (text, line, what) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, Some(line), "{text:?}: {e:?}");
            assert!(e.message.contains(what), "{text:?}: {}", e.message);
        }
    }

    #[test]
    fn host_lines_split_like_a_shell() {
        assert_eq!(split("a # b c", true).unwrap(), ["a"]);
        assert_eq!(literal("'quoted'"), "quoted");
        assert_eq!(literal("\"x\" # c"), "x");
        assert_eq!(literal("22 # c"), "22");
        assert_eq!(literal("True"), "True");
        assert_eq!(literal("\"unterminated"), "\"unterminated");
    }
}
