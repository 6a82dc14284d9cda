//! Ansible's host patterns (`--limit`): `all` or `*`, a group or host
//! name, globs (`web*`), regular expressions (`~web\d+`), subscripts
//! (`web[0]`, `web[1:3]`, `web[-1]`), joined by `:` or `,` as a union,
//! `:&` as an intersection and `:!` as an exclusion. As in Ansible, the
//! unions are taken first, then the intersections, then the exclusions,
//! whatever their order in the pattern. Unlike Ansible, which warns and
//! matches nothing, a name that is neither a host nor a group is an error
//! with the nearest names, and so is a selection of no host at all.

use super::inventory::Inventory;
use crate::base::error::{Error, Result};
use crate::base::suggest;

/// The host names `pattern` selects in `inv`, in inventory order.
pub fn select(inv: &Inventory, pattern: &str) -> Result<Vec<String>> {
    let bad = |reason: String| Error::InvalidInput {
        what: "host pattern",
        value: pattern.to_string(),
        reason,
    };
    let mut parts = split(pattern);
    if parts.is_empty() {
        return Err(bad("it names no host or group".into()));
    }
    // Ansible's order: unions, then intersections, then exclusions.
    parts.sort_by_key(|p| match p.as_bytes()[0] {
        b'&' => 1,
        b'!' => 2,
        _ => 0,
    });
    if parts[0].starts_with(['&', '!']) {
        parts.insert(0, "all".to_string());
    }
    let mut selected = vec![false; inv.hosts().len()];
    for p in &parts {
        let (op, expr) = match p.as_bytes()[0] {
            b'&' | b'!' => (p.as_bytes()[0], &p[1..]),
            _ => (0, p.as_str()),
        };
        if expr.is_empty() {
            return Err(bad(format!(
                "`{p}` names nothing after its `{}`",
                op as char
            )));
        }
        let that = matches(inv, expr).map_err(bad)?;
        let mut hit = vec![false; inv.hosts().len()];
        for h in that {
            hit[h] = true;
        }
        for (s, h) in selected.iter_mut().zip(hit) {
            *s = match op {
                b'&' => *s && h,
                b'!' => *s && !h,
                _ => *s || h,
            };
        }
    }
    let out: Vec<String> = inv
        .hosts()
        .iter()
        .zip(selected)
        .filter(|(_, s)| *s)
        .map(|(h, _)| h.name.clone())
        .collect();
    if out.is_empty() {
        return Err(bad("it selects no host of the inventory".into()));
    }
    Ok(out)
}

/// The parts of a pattern: split on `,` when there is one, else on `:`
/// outside brackets (`web[0:2]` stays whole), as Ansible splits.
fn split(pattern: &str) -> Vec<String> {
    let pattern = pattern.trim();
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else {
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut depth = 0;
        for c in pattern.chars() {
            match c {
                '[' => depth += 1,
                ']' if depth > 0 => depth -= 1,
                ':' if depth == 0 => {
                    parts.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        parts.push(cur);
        parts
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The hosts (by index) one part without its `&`/`!` stands for.
fn matches(inv: &Inventory, expr: &str) -> std::result::Result<Vec<usize>, String> {
    // A host's exact name (`10.0.0.1`, `[::1]`) is that host, not a pattern;
    // but a group of the same name wins, as in Ansible (`all` is every host
    // even when a host is called `all`: found by the inventory fuzz target).
    if let Some(h) = inv.host_id(expr).filter(|_| inv.group(expr).is_none()) {
        return Ok(vec![h]);
    }
    let (base, subscript) = split_subscript(expr);
    let mut hosts = Vec::new();
    let wildcard = base.starts_with('~') || base.contains(['.', '?', '*', '[']);
    let matcher = matcher(base)?;
    let groups: Vec<usize> = (0..inv.groups().len())
        .filter(|&g| matcher.is_match(&inv.groups()[g].name))
        .collect();
    for &g in &groups {
        hosts.extend(inv.hosts_of(g));
    }
    if groups.is_empty() || wildcard {
        hosts.extend(
            inv.hosts()
                .iter()
                .enumerate()
                .filter(|(_, h)| matcher.is_match(&h.name))
                .map(|(i, _)| i),
        );
    }
    if hosts.is_empty() && groups.is_empty() {
        return Err(if wildcard {
            format!("`{base}` matches no host or group of the inventory")
        } else {
            let names = inv
                .groups()
                .iter()
                .map(|g| g.name.as_str())
                .chain(inv.hosts().iter().map(|h| h.name.as_str()));
            format!(
                "no host or group `{base}` in the inventory{}",
                suggest::did_you_mean(&suggest::nearest(base, names))
            )
        });
    }
    hosts.sort_unstable();
    hosts.dedup();
    match subscript {
        None => Ok(hosts),
        Some(s) => apply_subscript(&hosts, s).ok_or_else(|| {
            format!(
                "`{expr}`: `{base}` has {} host(s), the subscript is out of range",
                hosts.len()
            )
        }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Subscript {
    /// `[n]`, negative from the end.
    One(i64),
    /// `[a:b]` inclusive; `[a:]` to the last.
    Range(usize, Option<usize>),
}

/// `web[0]`, `web[-1]`, `web[1:3]`, `web[1:]` (not for a `~regex`).
fn split_subscript(expr: &str) -> (&str, Option<Subscript>) {
    if expr.starts_with('~') || !expr.ends_with(']') {
        return (expr, None);
    }
    let Some(open) = expr.rfind('[') else {
        return (expr, None);
    };
    if open == 0 {
        return (expr, None);
    }
    let (base, inner) = (&expr[..open], &expr[open + 1..expr.len() - 1]);
    if let Ok(n) = inner.parse::<i64>() {
        return (base, Some(Subscript::One(n)));
    }
    if let Some((a, b)) = inner.split_once(':') {
        if let Ok(a) = a.parse::<usize>() {
            if b.is_empty() {
                return (base, Some(Subscript::Range(a, None)));
            }
            if let Ok(b) = b.parse::<usize>() {
                return (base, Some(Subscript::Range(a, Some(b))));
            }
        }
    }
    (expr, None)
}

fn apply_subscript(hosts: &[usize], s: Subscript) -> Option<Vec<usize>> {
    match s {
        Subscript::One(n) => {
            let i = if n < 0 {
                hosts.len().checked_sub(n.unsigned_abs() as usize)?
            } else {
                n as usize
            };
            hosts.get(i).map(|h| vec![*h])
        }
        Subscript::Range(a, b) => {
            let last = b.unwrap_or(hosts.len().saturating_sub(1));
            if a >= hosts.len() || last < a {
                return None;
            }
            Some(hosts[a..=last.min(hosts.len() - 1)].to_vec())
        }
    }
}

/// A glob matched whole (fnmatch), or `~regex` matched from the start (Python's `re.match`).
fn matcher(expr: &str) -> std::result::Result<regex::Regex, String> {
    let source = match expr.strip_prefix('~') {
        Some(re) => format!("^(?:{re})"),
        None => format!("^{}$", glob_to_regex(expr)),
    };
    regex::Regex::new(&source).map_err(|e| format!("`{expr}` is not a valid pattern: {e}"))
}

/// fnmatch's translation: `*`, `?`, `[seq]`, `[!seq]`; everything else literal.
fn glob_to_regex(glob: &str) -> String {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                // A class runs to the next `]` (a `]` first is literal); none: a literal `[`.
                let mut j = i + 1;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                } else {
                    let mut class: String = chars[i + 1..j].iter().collect();
                    if let Some(rest) = class.strip_prefix('!') {
                        class = format!("^{rest}");
                    }
                    out.push('[');
                    out.push_str(&class.replace('\\', "\\\\").replace('[', "\\["));
                    out.push(']');
                    i = j;
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::read::{parse, Format};

    const INV: &str = "\
[web]
web[1:4]
[db]
db1
db2
[eu]
web1
web2
db1
[prod:children]
web
db
[staging]
stage-web1
";

    fn sel(p: &str) -> Vec<String> {
        let inv = parse(INV, Format::Ini).unwrap();
        select(&inv, p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    fn err(p: &str) -> String {
        let inv = parse(INV, Format::Ini).unwrap();
        select(&inv, p).unwrap_err().to_string()
    }

    #[test]
    fn names_all_and_globs() {
        assert_eq!(sel("all").len(), 7);
        assert_eq!(sel("*").len(), 7);
        assert_eq!(sel("db"), ["db1", "db2"]);
        assert_eq!(sel("web3"), ["web3"]);
        assert_eq!(sel("web*"), ["web1", "web2", "web3", "web4"]);
        assert_eq!(sel("*web1"), ["web1", "stage-web1"]);
        assert_eq!(sel("db?"), ["db1", "db2"]);
        assert_eq!(sel("web[!12]"), ["web3", "web4"]);
        assert_eq!(sel("~web[34]"), ["web3", "web4"]);
        assert_eq!(sel("~(db|stage)"), ["db1", "db2", "stage-web1"]);
        // Every host has a group: `ungrouped` exists and is empty.
        assert!(err("ungrouped").contains("selects no host"));
    }

    #[test]
    fn a_group_wins_over_a_host_of_the_same_name() {
        let inv = parse("[db]\nall\ndb1\nweb\n[web]\nw1\n", Format::Ini).unwrap();
        assert_eq!(select(&inv, "all").unwrap().len(), 4);
        assert_eq!(select(&inv, "web").unwrap(), ["w1"]);
        assert_eq!(select(&inv, "db1").unwrap(), ["db1"]);
    }

    #[test]
    fn unions_intersections_and_exclusions_in_ansible_order() {
        assert_eq!(sel("db:staging"), ["db1", "db2", "stage-web1"]);
        assert_eq!(sel("db,staging"), ["db1", "db2", "stage-web1"]);
        assert_eq!(sel("prod:&eu"), ["web1", "web2", "db1"]);
        assert_eq!(sel("prod:!eu"), ["web3", "web4", "db2"]);
        // The exclusion applies last, wherever it is written.
        assert_eq!(sel("!eu:prod"), ["web3", "web4", "db2"]);
        assert_eq!(sel("web:!web1:&eu"), ["web2"]);
        // Only exclusions: from all.
        assert_eq!(sel("!prod"), ["stage-web1"]);
        assert_eq!(sel(" web1 , db2 "), ["web1", "db2"]);
    }

    #[test]
    fn subscripts() {
        assert_eq!(sel("web[0]"), ["web1"]);
        assert_eq!(sel("web[-1]"), ["web4"]);
        assert_eq!(sel("web[1:2]"), ["web2", "web3"]);
        assert_eq!(sel("web[2:]"), ["web3", "web4"]);
        assert_eq!(sel("web[0]:db[1]"), ["web1", "db2"]);
        assert!(err("web[9]").contains("out of range"));
    }

    #[test]
    fn unknown_names_are_errors_with_the_nearest() {
        let e = err("wbe");
        assert!(
            e.contains("no host or group `wbe`") && e.contains("did you mean `web`"),
            "{e}"
        );
        let e = err("prod:!stagin");
        assert!(e.contains("`stagin`") && e.contains("`staging`"), "{e}");
        assert!(err("zz*").contains("matches no host or group"));
        assert!(err("db:&staging").contains("selects no host"));
        assert!(err("~(").contains("not a valid pattern"));
        assert!(err("").contains("names no host or group"));
        assert!(err("web:!").contains("names nothing"));
    }
}
