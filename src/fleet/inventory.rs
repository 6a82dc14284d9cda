//! Ansible inventories as Ansible reads them: groups, children, hosts and
//! variables, with Ansible's variable precedence. The two file formats are
//! parsed in `ini` and `yaml` into this one model; `read` picks the format
//! from the file name as Ansible's plugins do.

use std::collections::{BTreeMap, HashMap};

/// Variables as Ansible would template them into strings (`ansible_port:
/// 22` reads `22`; lists and maps as JSON).
pub type Vars = BTreeMap<String, String>;

/// Past this many hosts an inventory is refused: a range typo such as
/// `web[0:99999999]` must not eat the machine.
pub const MAX_HOSTS: usize = 100_000;

/// Why an inventory text cannot be read, at a 1-based line when one is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: Option<usize>,
    pub message: String,
}

impl ParseError {
    pub fn at(line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line: Some(line),
            message: message.into(),
        }
    }
}

pub type ParseResult<T> = std::result::Result<T, ParseError>;

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub vars: Vars,
    /// Where the group was first declared (1-based; 0 for `all` and `ungrouped`).
    pub line: usize,
    children: Vec<usize>,
    parents: Vec<usize>,
    hosts: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub vars: Vars,
    /// Where the host was first named (1-based).
    pub line: usize,
    groups: Vec<usize>,
}

/// One inventory: every group and host, in the order the file names them.
#[derive(Debug, Clone)]
pub struct Inventory {
    groups: Vec<Group>,
    hosts: Vec<Host>,
    group_index: HashMap<String, usize>,
    host_index: HashMap<String, usize>,
}

const ALL: usize = 0;
const UNGROUPED: usize = 1;

impl Default for Inventory {
    fn default() -> Self {
        let mut inv = Inventory {
            groups: Vec::new(),
            hosts: Vec::new(),
            group_index: HashMap::new(),
            host_index: HashMap::new(),
        };
        inv.add_group("all", 0);
        inv.add_group("ungrouped", 0);
        inv
    }
}

impl Inventory {
    /// The group named `name`, created (declared at `line`) when new.
    pub fn add_group(&mut self, name: &str, line: usize) -> usize {
        if let Some(&i) = self.group_index.get(name) {
            return i;
        }
        let i = self.groups.len();
        self.groups.push(Group {
            name: name.to_string(),
            vars: Vars::new(),
            line,
            children: Vec::new(),
            parents: Vec::new(),
            hosts: Vec::new(),
        });
        self.group_index.insert(name.to_string(), i);
        i
    }

    /// Make `child` a child of `parent`, refusing a loop as Ansible does.
    pub fn add_child(&mut self, parent: usize, child: usize) -> std::result::Result<(), String> {
        if parent == child || self.descends_from(parent, child) {
            return Err(format!(
                "adding group `{}` as a child of `{}` creates a loop",
                self.groups[child].name, self.groups[parent].name
            ));
        }
        if !self.groups[parent].children.contains(&child) {
            self.groups[parent].children.push(child);
            self.groups[child].parents.push(parent);
        }
        Ok(())
    }

    /// Whether `group` is `ancestor` or below it.
    fn descends_from(&self, group: usize, ancestor: usize) -> bool {
        let mut stack = vec![group];
        let mut seen = vec![false; self.groups.len()];
        while let Some(g) = stack.pop() {
            if g == ancestor {
                return true;
            }
            if !std::mem::replace(&mut seen[g], true) {
                stack.extend(&self.groups[g].parents);
            }
        }
        false
    }

    /// The host named `name` in `group`, created (named at `line`) when new.
    pub fn add_host(&mut self, name: &str, group: usize, line: usize) -> ParseResult<usize> {
        // A YAML key can be empty or null: a host harun could neither
        // name nor reach (found by the inventory fuzz target).
        if name.trim().is_empty() {
            return Err(ParseError::at(line, "a host without a name"));
        }
        let h = match self.host_index.get(name) {
            Some(&h) => h,
            None => {
                if self.hosts.len() >= MAX_HOSTS {
                    return Err(ParseError::at(
                        line,
                        format!("more than {MAX_HOSTS} hosts: is a host range too wide?"),
                    ));
                }
                let h = self.hosts.len();
                self.hosts.push(Host {
                    name: name.to_string(),
                    vars: Vars::new(),
                    line,
                    groups: Vec::new(),
                });
                self.host_index.insert(name.to_string(), h);
                h
            }
        };
        if group != ALL && !self.hosts[h].groups.contains(&group) {
            self.hosts[h].groups.push(group);
            self.groups[group].hosts.push(h);
        }
        Ok(h)
    }

    pub fn set_group_var(&mut self, group: usize, key: &str, value: String) {
        self.groups[group].vars.insert(key.to_string(), value);
    }

    pub fn set_host_var(&mut self, host: usize, key: &str, value: String) {
        self.hosts[host].vars.insert(key.to_string(), value);
    }

    /// What Ansible does once a source is read: groups without a parent
    /// go under `all`; hosts in no group but `all` are `ungrouped`, and
    /// only those.
    pub(super) fn reconcile(&mut self) {
        for g in 0..self.groups.len() {
            if g != ALL && self.groups[g].parents.is_empty() {
                // `all` is above everything: no loop possible.
                let _ = self.add_child(ALL, g);
            }
        }
        for h in 0..self.hosts.len() {
            let others = self.hosts[h].groups.iter().any(|&g| g != UNGROUPED);
            let in_ungrouped = self.hosts[h].groups.contains(&UNGROUPED);
            if others && in_ungrouped {
                self.hosts[h].groups.retain(|&g| g != UNGROUPED);
                self.groups[UNGROUPED].hosts.retain(|&x| x != h);
            } else if !others && !in_ungrouped {
                self.hosts[h].groups.push(UNGROUPED);
                self.groups[UNGROUPED].hosts.push(h);
            }
        }
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.host_index.get(name).map(|&h| &self.hosts[h])
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.group_index.get(name).map(|&g| &self.groups[g])
    }

    pub(super) fn host_id(&self, name: &str) -> Option<usize> {
        self.host_index.get(name).copied()
    }

    /// The hosts of a group and of every group below it, in inventory order.
    pub(super) fn hosts_of(&self, group: usize) -> Vec<usize> {
        if group == ALL {
            return (0..self.hosts.len()).collect();
        }
        let mut member = vec![false; self.hosts.len()];
        for g in self.below(group) {
            for &h in &self.groups[g].hosts {
                member[h] = true;
            }
        }
        (0..self.hosts.len()).filter(|&h| member[h]).collect()
    }

    /// `group` and every group below it.
    fn below(&self, group: usize) -> Vec<usize> {
        let mut seen = vec![false; self.groups.len()];
        let mut stack = vec![group];
        let mut out = Vec::new();
        while let Some(g) = stack.pop() {
            if !std::mem::replace(&mut seen[g], true) {
                out.push(g);
                stack.extend(&self.groups[g].children);
            }
        }
        out
    }

    /// Every group a host is in, directly or through a child group, `all` included.
    fn ancestors_of_host(&self, host: usize) -> Vec<usize> {
        let mut seen = vec![false; self.groups.len()];
        let mut stack: Vec<usize> = self.hosts[host].groups.clone();
        stack.push(ALL);
        let mut out = Vec::new();
        while let Some(g) = stack.pop() {
            if !std::mem::replace(&mut seen[g], true) {
                out.push(g);
                stack.extend(&self.groups[g].parents);
            }
        }
        out
    }

    /// A group's depth as Ansible counts it: the longest chain of parents up to `all`.
    fn depth(&self, group: usize) -> usize {
        // Groups form a DAG (add_child refuses loops): memoised longest path.
        fn go(inv: &Inventory, g: usize, memo: &mut [Option<usize>]) -> usize {
            if let Some(d) = memo[g] {
                return d;
            }
            let d = inv.groups[g]
                .parents
                .iter()
                .map(|&p| go(inv, p, memo) + 1)
                .max()
                .unwrap_or(0);
            memo[g] = Some(d);
            d
        }
        go(self, group, &mut vec![None; self.groups.len()])
    }

    /// The groups of a host as Ansible's `group_names`: sorted, without `all`.
    pub fn group_names(&self, host: &Host) -> Vec<String> {
        let Some(h) = self.host_id(&host.name) else {
            return Vec::new();
        };
        let mut names: Vec<String> = self
            .ancestors_of_host(h)
            .into_iter()
            .filter(|&g| g != ALL)
            .map(|g| self.groups[g].name.clone())
            .collect();
        names.sort();
        names
    }

    /// A host's variables after Ansible's precedence: group variables from
    /// the shallowest group (`all`) to the deepest (a child over its parent),
    /// groups of one depth by `ansible_group_priority` then by name (the later
    /// wins), and the host's own variables over all of them.
    pub fn vars(&self, host: &Host) -> Vars {
        let Some(h) = self.host_id(&host.name) else {
            return host.vars.clone();
        };
        let mut groups: Vec<(usize, i64, &str, usize)> = self
            .ancestors_of_host(h)
            .into_iter()
            .map(|g| {
                let priority = self.groups[g]
                    .vars
                    .get("ansible_group_priority")
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or(1);
                (self.depth(g), priority, self.groups[g].name.as_str(), g)
            })
            .collect();
        groups.sort();
        let mut vars = Vars::new();
        for (_, _, _, g) in groups {
            vars.extend(
                self.groups[g]
                    .vars
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        vars.extend(host.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars
    }
}

/// A host pattern of an inventory line (`web[01:20]:2222`, `[::1]:22`,
/// `db-[a:c].example.com`): the host names it stands for and the port
/// it gives, as Ansible expands them.
pub fn expand_host_pattern(pattern: &str, line: usize) -> ParseResult<(Vec<String>, Option<u16>)> {
    let (name, port) = split_port(pattern, line)?;
    if name.trim() == "---" {
        return Err(ParseError::at(
            line,
            "host `---`: that starts a YAML document (name a YAML inventory .yml)",
        ));
    }
    // A bracketed IPv6 address (`[::1]`) is a name, not a range.
    let v6 = name.starts_with('[') && name.ends_with(']') && name.matches(':').count() > 1;
    let is_range = name.contains('[') && !v6;
    let names = if is_range {
        let mut out = Vec::new();
        expand_range(&name, line, &mut out)?;
        out
    } else {
        vec![name]
    };
    Ok((names, port))
}

/// `host:port`, `[v6]:port`, a bare IPv6 address (no port), or a name.
fn split_port(pattern: &str, line: usize) -> ParseResult<(String, Option<u16>)> {
    let bad_port = |p: &str| {
        ParseError::at(
            line,
            format!("host `{pattern}`: port `{p}` is not a number between 1 and 65535"),
        )
    };
    let port = |p: &str| -> ParseResult<u16> {
        p.parse::<u16>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad_port(p))
    };
    if pattern.ends_with(':') {
        return Err(ParseError::at(
            line,
            format!("host `{pattern}` ends in `:`: give a port after it, or none"),
        ));
    }
    if let Some(rest) = pattern.strip_prefix('[') {
        // `[::1]:22` or `[::1]`; `[a:c]web` is a range at the start.
        if let Some((addr, after)) = rest.split_once(']') {
            if addr.contains("::") || addr.matches(':').count() > 1 {
                return match after.strip_prefix(':') {
                    Some(p) => Ok((format!("[{addr}]"), Some(port(p)?))),
                    None if after.is_empty() => Ok((addr.to_string(), None)),
                    None => Ok((pattern.to_string(), None)),
                };
            }
        }
    }
    // Colons outside brackets: one is a port, several an IPv6 address.
    let mut depth = 0i32;
    let mut colons = Vec::new();
    for (i, c) in pattern.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => colons.push(i),
            _ => {}
        }
    }
    match colons.as_slice() {
        [i] => {
            let p = &pattern[i + 1..];
            if p.chars().all(|c| c.is_ascii_digit()) {
                Ok((pattern[..*i].to_string(), Some(port(p)?)))
            } else {
                Err(bad_port(p))
            }
        }
        _ => Ok((pattern.to_string(), None)),
    }
}

/// Ansible's `head[beg:end(:step)]tail`, recursively for several ranges:
/// numbers keep the width of a zero-padded start (`[01:20]`), letters go
/// through `a..z` then `A..Z`.
fn expand_range(name: &str, line: usize, out: &mut Vec<String>) -> ParseResult<()> {
    let bad = |why: &str| ParseError::at(line, format!("host range `{name}`: {why}"));
    let (Some(open), Some(close)) = (name.find('['), name.find(']')) else {
        return Err(bad(
            "a range is written `[begin:end]` or `[begin:end:step]`",
        ));
    };
    if close < open {
        return Err(bad(
            "a range is written `[begin:end]` or `[begin:end:step]`",
        ));
    }
    let (head, range, tail) = (&name[..open], &name[open + 1..close], &name[close + 1..]);
    let bounds: Vec<&str> = range.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(bad("a range is `begin:end` or `begin:end:step`"));
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(bad("the range needs an end"));
    }
    let step: usize = match bounds.get(2) {
        Some(s) => s
            .parse()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| bad("the step must be a positive number"))?,
        None => 1,
    };
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let parts: Vec<String> = match (LETTERS.find(beg), LETTERS.find(end)) {
        (Some(b), Some(e)) if beg.len() == 1 && end.len() == 1 => {
            if b > e {
                return Err(bad("the range must have begin <= end"));
            }
            LETTERS[b..=e]
                .chars()
                .step_by(step)
                .map(String::from)
                .collect()
        }
        _ => {
            let (Ok(b), Ok(e)) = (beg.parse::<u64>(), end.parse::<u64>()) else {
                return Err(bad(
                    "begin and end must both be numbers or both single letters",
                ));
            };
            if b > e {
                return Err(bad("the range must have begin <= end"));
            }
            let width = if beg.len() > 1 && beg.starts_with('0') {
                if beg.len() != end.len() {
                    return Err(bad(
                        "a zero-padded range needs begin and end of the same width",
                    ));
                }
                beg.len()
            } else {
                0
            };
            let count = (e - b) / step as u64 + 1;
            if count as usize > MAX_HOSTS {
                return Err(bad(&format!("more than {MAX_HOSTS} hosts")));
            }
            (b..=e)
                .step_by(step)
                .map(|n| format!("{n:0width$}"))
                .collect()
        }
    };
    for p in parts {
        let host = format!("{head}{p}{tail}");
        if host.contains('[') {
            expand_range(&host, line, out)?;
        } else {
            out.push(host);
        }
        if out.len() > MAX_HOSTS {
            return Err(bad(&format!("more than {MAX_HOSTS} hosts")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &str) -> Vec<String> {
        expand_host_pattern(p, 1).unwrap().0
    }

    #[test]
    fn ranges_expand_as_ansible_does() {
        assert_eq!(names("web[1:3]"), ["web1", "web2", "web3"]);
        assert_eq!(
            names("web[01:03].example.com"),
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(names("db-[a:c]"), ["db-a", "db-b", "db-c"]);
        assert_eq!(names("w[0:6:3]"), ["w0", "w3", "w6"]);
        assert_eq!(names("w[:1]"), ["w0", "w1"]);
        assert_eq!(names("r[1:2]-[a:b]"), ["r1-a", "r1-b", "r2-a", "r2-b"]);
        assert_eq!(names("w[8:10]"), ["w8", "w9", "w10"]);
        assert_eq!(names("w[y:B]"), ["wy", "wz", "wA", "wB"]);
        assert_eq!(
            expand_host_pattern("[a:b]w:22", 1).unwrap(),
            (vec!["aw".to_string(), "bw".to_string()], Some(22))
        );
        for bad in ["w[3:1]", "w[01:100]", "w[1:]", "w[1]", "w[a:3]", "w[1:3:0]"] {
            let e = expand_host_pattern(bad, 7).unwrap_err();
            assert_eq!(e.line, Some(7), "{bad}");
            assert!(e.message.contains(bad), "{bad}: {}", e.message);
        }
        let e = expand_host_pattern("w[0:99999999]", 1).unwrap_err();
        assert!(e.message.contains("more than"), "{}", e.message);
    }

    #[test]
    fn ports_and_ipv6_addresses() {
        let p = |s: &str| expand_host_pattern(s, 1).unwrap();
        assert_eq!(p("lb1:2222"), (vec!["lb1".to_string()], Some(2222)));
        assert_eq!(p("web[1:2]:22").0, ["web1", "web2"]);
        assert_eq!(p("web[1:2]:22").1, Some(22));
        assert_eq!(p("[::1]:22"), (vec!["[::1]".to_string()], Some(22)));
        assert_eq!(p("fe80::1"), (vec!["fe80::1".to_string()], None));
        assert_eq!(p("[2001:db8::1]"), (vec!["2001:db8::1".to_string()], None));
        assert!(expand_host_pattern("lb1:", 1).is_err());
        assert!(expand_host_pattern("lb1:ssh", 1).is_err());
        assert!(expand_host_pattern("lb1:70000", 1).is_err());
        assert!(expand_host_pattern("---", 1).is_err());
    }
}
