//! Ansible's YAML inventory format: top-level groups (usually `all`), each
//! a mapping of `hosts` (host pattern to its variables), `vars` and
//! `children` (group name to the same structure). Read with `saphyr`, whose
//! nodes keep their line so every complaint names one; where Ansible only
//! warns (an unknown key in a group, a group that is not a mapping), harun
//! refuses: a typo in an inventory must not silently drop hosts.

use super::inventory::{expand_host_pattern, Inventory, ParseError, ParseResult};
use saphyr::{LoadableYamlNode, MarkedYamlOwned, ScalarOwned, YamlDataOwned};

type Node = MarkedYamlOwned;

pub fn parse(text: &str) -> ParseResult<Inventory> {
    let docs = Node::load_from_str(text).map_err(|e| ParseError {
        line: Some(e.marker().line()),
        message: format!("not valid YAML: {}", e.info()),
    })?;
    let mut inv = Inventory::default();
    let Some(doc) = docs.first() else {
        inv.reconcile();
        return Ok(inv);
    };
    if docs.len() > 1 {
        return Err(ParseError::at(
            line(&docs[1]),
            "a second YAML document (`---`): an inventory file holds one",
        ));
    }
    match &doc.data {
        YamlDataOwned::Value(ScalarOwned::Null) => {}
        YamlDataOwned::Mapping(groups) => {
            for (k, body) in groups {
                let g = inv.add_group(&key(k)?, line(k));
                group(&mut inv, g, body)?;
            }
        }
        _ => return Err(ParseError::at(
            line(doc),
            "a YAML inventory is a mapping of groups (`all:` with `hosts:`, `children:`, `vars:`)",
        )),
    }
    inv.reconcile();
    Ok(inv)
}

fn line(n: &Node) -> usize {
    n.span.start.line()
}

/// A mapping key as text: YAML reads `1234:` as a number, Ansible as a name.
fn key(n: &Node) -> ParseResult<String> {
    scalar(n).ok_or_else(|| {
        ParseError::at(
            line(n),
            "a key here must be a plain name, not a list or a mapping",
        )
    })
}

/// A scalar as Ansible templates it into a string (`True`, not `true`).
fn scalar(n: &Node) -> Option<String> {
    match &n.data {
        YamlDataOwned::Value(s) => Some(match s {
            ScalarOwned::Null => String::new(),
            ScalarOwned::Boolean(true) => "True".into(),
            ScalarOwned::Boolean(false) => "False".into(),
            ScalarOwned::Integer(i) => i.to_string(),
            ScalarOwned::FloatingPoint(f) => f.to_string(),
            ScalarOwned::String(s) => s.clone(),
        }),
        YamlDataOwned::Representation(s, _, _) => Some(s.clone()),
        YamlDataOwned::Tagged(_, inner) => scalar(inner),
        _ => None,
    }
}

/// Any value as text: scalars as [`scalar`], lists and maps as JSON.
fn text(n: &Node) -> String {
    fn json(n: &Node) -> serde_json::Value {
        match &n.data {
            YamlDataOwned::Sequence(items) => items.iter().map(json).collect(),
            YamlDataOwned::Mapping(m) => m
                .iter()
                .map(|(k, v)| (scalar(k).unwrap_or_default(), json(v)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            YamlDataOwned::Tagged(_, inner) => json(inner),
            _ => serde_json::Value::String(scalar(n).unwrap_or_default()),
        }
    }
    match scalar(n) {
        Some(s) => s,
        None => json(n).to_string(),
    }
}

fn is_null(n: &Node) -> bool {
    matches!(&n.data, YamlDataOwned::Value(ScalarOwned::Null))
}

/// One group's `hosts`, `vars` and `children`.
fn group(inv: &mut Inventory, g: usize, body: &Node) -> ParseResult<()> {
    let name = inv.groups()[g].name.clone();
    let entries = match &body.data {
        YamlDataOwned::Value(ScalarOwned::Null) => return Ok(()),
        YamlDataOwned::Mapping(m) => m,
        _ => {
            return Err(ParseError::at(
                line(body),
                format!("group `{name}` must be a mapping of `hosts`, `children` and `vars`"),
            ))
        }
    };
    for (k, v) in entries {
        let section = key(k)?;
        match section.as_str() {
            "hosts" => hosts(inv, g, &name, v)?,
            "vars" => {
                for (var, value) in mapping(v, &format!("`vars` of group `{name}`"))? {
                    let var = key(var)?;
                    inv.set_group_var(g, &var, text(value));
                }
            }
            "children" => {
                for (child, child_body) in mapping(v, &format!("`children` of group `{name}`"))? {
                    let child_name = key(child)?;
                    let c = inv.add_group(&child_name, line(child));
                    group(inv, c, child_body)?;
                    inv.add_child(g, c)
                        .map_err(|e| ParseError::at(line(child), e))?;
                }
            }
            other => {
                let near = crate::base::suggest::did_you_mean(&crate::base::suggest::nearest(
                    other,
                    ["hosts", "children", "vars"],
                ));
                return Err(ParseError::at(
                    line(k),
                    format!("group `{name}` has a key `{other}`: a group holds only `hosts`, `children` and `vars`{near}"),
                ));
            }
        }
    }
    Ok(())
}

/// `hosts:` of a group: host pattern to its variables (or nothing). A
/// single name (`hosts: web1`) is allowed, as Ansible allows it.
fn hosts(inv: &mut Inventory, g: usize, group_name: &str, v: &Node) -> ParseResult<()> {
    if let Some(single) = scalar(v).filter(|_| !is_null(v)) {
        let (names, port) = expand_host_pattern(&single, line(v))?;
        for name in names {
            let h = inv.add_host(&name, g, line(v))?;
            if let Some(p) = port {
                inv.set_host_var(h, "ansible_port", p.to_string());
            }
        }
        return Ok(());
    }
    for (pattern, vars) in mapping(v, &format!("`hosts` of group `{group_name}`"))? {
        let pattern_text = key(pattern)?;
        let at = line(pattern);
        let (names, port) = expand_host_pattern(&pattern_text, at)?;
        let vars = mapping(vars, &format!("the variables of host `{pattern_text}`"))?;
        for name in names {
            let h = inv.add_host(&name, g, at)?;
            if let Some(p) = port {
                inv.set_host_var(h, "ansible_port", p.to_string());
            }
            for (var, value) in &vars {
                let var = key(var)?;
                inv.set_host_var(h, &var, text(value));
            }
        }
    }
    Ok(())
}

/// The entries of a mapping, none for a null (`hosts:` with nothing under it).
fn mapping<'a>(n: &'a Node, what: &str) -> ParseResult<Vec<(&'a Node, &'a Node)>> {
    match &n.data {
        YamlDataOwned::Value(ScalarOwned::Null) => Ok(Vec::new()),
        YamlDataOwned::Mapping(m) => Ok(m.iter().collect()),
        YamlDataOwned::Sequence(_) => Err(ParseError::at(
            line(n),
            format!("{what} must be a mapping (`name:` lines), not a list (`- name` lines)"),
        )),
        _ => Err(ParseError::at(line(n), format!("{what} must be a mapping"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"# The same fleet as the INI fixture, in YAML.
all:
  hosts:
    bastion:
      ansible_connection: local
  vars:
    ansible_user: root
    harun_socket: /run/haproxy/admin.sock
    tags: [a, b]
  children:
    lb:
      vars:
        harun_socket: /run/haproxy/lb.sock
        ansible_user: deploy
      children:
        lb_eu:
          hosts:
            lb-eu[01:03]:
              ansible_user: ops
            lb-eu04:2222:
              ansible_host: 10.0.4.4
          vars:
            harun_socket: /run/haproxy/eu.sock
        lb_us:
          hosts:
            lb-us1:
              ansible_host: 10.1.0.1
              enabled: true
              port: 22
staging:
  hosts: lb-eu01
"#;

    fn var(inv: &Inventory, host: &str, key: &str) -> Option<String> {
        inv.vars(inv.host(host).unwrap()).get(key).cloned()
    }

    #[test]
    fn hosts_children_vars_and_ranges() {
        let inv = parse(FIXTURE).unwrap();
        let names: Vec<&str> = inv.hosts().iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            ["bastion", "lb-eu01", "lb-eu02", "lb-eu03", "lb-eu04", "lb-us1"]
        );
        assert_eq!(
            inv.group_names(inv.host("lb-eu01").unwrap()),
            ["lb", "lb_eu", "staging"]
        );
        assert_eq!(inv.group_names(inv.host("bastion").unwrap()), ["ungrouped"]);
        assert_eq!(inv.host("lb-us1").unwrap().line, 26);
    }

    #[test]
    fn variables_follow_ansible_precedence() {
        let inv = parse(FIXTURE).unwrap();
        assert_eq!(var(&inv, "lb-eu02", "ansible_user").as_deref(), Some("ops"));
        assert_eq!(
            var(&inv, "lb-us1", "ansible_user").as_deref(),
            Some("deploy")
        );
        assert_eq!(
            var(&inv, "bastion", "ansible_user").as_deref(),
            Some("root")
        );
        assert_eq!(
            var(&inv, "lb-eu04", "harun_socket").as_deref(),
            Some("/run/haproxy/eu.sock")
        );
        assert_eq!(
            var(&inv, "lb-us1", "harun_socket").as_deref(),
            Some("/run/haproxy/lb.sock")
        );
        assert_eq!(
            var(&inv, "bastion", "harun_socket").as_deref(),
            Some("/run/haproxy/admin.sock")
        );
        assert_eq!(
            var(&inv, "lb-eu04", "ansible_port").as_deref(),
            Some("2222")
        );
        assert_eq!(var(&inv, "lb-us1", "enabled").as_deref(), Some("True"));
        assert_eq!(var(&inv, "lb-us1", "port").as_deref(), Some("22"));
        assert_eq!(
            var(&inv, "bastion", "tags").as_deref(),
            Some(r#"["a","b"]"#)
        );
    }

    #[test]
    fn empty_files_and_empty_groups() {
        assert!(parse("").unwrap().hosts().is_empty());
        assert!(parse("# nothing\n").unwrap().hosts().is_empty());
        let inv = parse("all:\n  children:\n    web:\n    db:\n      hosts:\n").unwrap();
        assert!(inv.group("web").is_some() && inv.group("db").is_some());
    }

    #[test]
    fn malformed_files_are_named_with_their_line() {
        let cases = [
            ("all:\n  hosts:\n    - web1\n", 3, "not a list"),
            ("all:\n  hots:\n    web1:\n", 2, "did you mean `hosts`?"),
            (
                "all:\n  hosts:\n    web1: [1, 2]\n",
                3,
                "variables of host `web1`",
            ),
            ("all:\n  hosts:\n    web1:\n  hosts:\n", 4, "not valid YAML"),
            (
                "all:\n  hosts:\n    web1:\n   bad: [\n",
                4,
                "not valid YAML",
            ),
            (
                "all:\n  children:\n    web:\n      hosts:\n        w[9:1]:\n",
                5,
                "begin <= end",
            ),
            ("- all\n", 1, "mapping of groups"),
            (
                "all:\n  hosts:\n    : {ansible_connection: local}\n",
                3,
                "a host without a name",
            ),
            ("all: [web]\n", 1, "group `all` must be a mapping"),
            (
                "all:\n  hosts:\n    web1:\n---\nall:\n",
                5,
                "second YAML document",
            ),
        ];
        for (text, want, what) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, Some(want), "{text:?}: {e:?}");
            assert!(e.message.contains(what), "{text:?}: {}", e.message);
        }
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = (b'a' + i) as char;
            let next = (b'a' + i + 1) as char;
            bomb.push_str(&format!("{next}: &{next} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let e = parse(&bomb).unwrap_err();
        assert!(e.message.contains("not valid YAML"), "{e:?}");
    }
}
