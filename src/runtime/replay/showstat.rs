//! `show stat` with arguments, answered from the recorded plain `show stat`
//! as HAProxy 2.6 answers it (its `cli_parse_show_stat` and stats dump,
//! checked against Debian's 2.6.12):
//!
//! - `domain proxy` first changes nothing; `domain resolvers` is another
//!   table the snapshot did not take; any other domain is refused.
//! - When three words follow, they are `PROXY TYPE SID`. `PROXY` is a proxy
//!   name (the first proxy of that name, so a frontend before a backend of
//!   the same name), else the number C's `atoi` reads from it: `3x` is proxy
//!   3, `-1` every proxy, `x` or `0` "No such proxy.". `TYPE` is a mask (1
//!   frontends, 2 backends, 4 servers, 8 listeners), `SID` a server id (-1
//!   all), both read by `atoi` too.
//! - Then `up` hides servers that are down (unless coming up) or in
//!   maintenance, `no-maint` those in maintenance; with either, a backend's
//!   status gains `(servers up/servers)`. `desc` leaves the CSV as it is;
//!   `typed` and `json` are other formats the snapshot did not take; other
//!   words are ignored, as HAProxy ignores them.

use std::collections::HashMap;
use std::ops::Range;

/// What the words after `show stat` ask a replay for.
#[derive(Debug, PartialEq, Eq)]
pub enum Ask {
    /// The CSV, as the query selects it.
    Csv(Query),
    /// `typed`, `json`, `domain resolvers`: a reply the snapshot did not take.
    OtherForm,
    /// HAProxy's refusal, whatever the data.
    Refused(&'static str),
}

/// A `show stat` in CSV.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// `PROXY TYPE SID`: the proxy word as given, then the two numbers.
    bound: Option<(String, i32, i32)>,
    hide: Hide,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Hide {
    #[default]
    Nothing,
    /// `no-maint`.
    Maint,
    /// `up` (maintenance included).
    DownOrMaint,
}

impl Query {
    /// The whole recorded reply, unchanged.
    pub fn is_everything(&self) -> bool {
        self.bound.is_none() && self.hide == Hide::Nothing
    }
}

/// Why the recorded reply cannot answer.
#[derive(Debug, PartialEq, Eq)]
pub enum FilterError {
    /// HAProxy's own answer to an unknown proxy.
    NoSuchProxy,
    /// The recorded reply is not what HAProxy writes (a crafted or damaged
    /// bundle): what is wrong, to follow "the recorded `show stat`".
    Malformed(String),
}

/// Read the words after `show stat`.
pub fn parse_args(args: &[&str]) -> Ask {
    let mut args = args;
    if args.first() == Some(&"domain") {
        match args.get(1) {
            Some(&"proxy") => args = &args[2..],
            Some(&"resolvers") => return Ask::OtherForm,
            _ => return Ask::Refused("Invalid statistics domain."),
        }
    }
    let mut q = Query::default();
    if let [proxy, kind, sid, rest @ ..] = args {
        q.bound = Some((proxy.to_string(), atoi(kind), atoi(sid)));
        args = rest;
    }
    let mut other_form = false;
    for w in args {
        match *w {
            "typed" | "json" => other_form = true,
            "up" => q.hide = Hide::DownOrMaint,
            "no-maint" if q.hide == Hide::Nothing => q.hide = Hide::Maint,
            _ => {}
        }
    }
    if other_form {
        Ask::OtherForm
    } else {
        Ask::Csv(q)
    }
}

/// C's `atoi` as glibc has it, `(int)strtol(s, NULL, 10)`: blanks and a
/// sign, then the digits that follow (0 without any); a value beyond a
/// long saturates, and the cast to int keeps its low 32 bits.
fn atoi(s: &str) -> i32 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i128 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = (n * 10 + i128::from(b - b'0')).min(1 << 64);
    }
    let n = if neg { -n } else { n };
    let long = n.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    long as i32
}

/// Fields of one CSV line of `show stat`, honouring `"a,b"` quoting.
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Byte range of field `index` in a CSV line, quotes included.
fn field_span(line: &str, index: usize) -> Option<Range<usize>> {
    let (mut start, mut n, mut quoted) = (0, 0, false);
    for (i, b) in line.bytes().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                if n == index {
                    return Some(start..i);
                }
                n += 1;
                start = i + 1;
            }
            _ => {}
        }
    }
    (n == index).then_some(start..line.len())
}

/// The header's column names; the first line must be HAProxy's `# ...`.
fn header_names(header: Option<&str>) -> Result<Vec<String>, String> {
    match header.and_then(|h| h.strip_prefix('#')) {
        Some(h) => Ok(csv_fields(h.trim())),
        None => Err("has no `# pxname,svname,...` header on its first line".into()),
    }
}

/// One data line of the reply.
struct Row<'a> {
    /// 1-based, as an editor shows it.
    line: usize,
    raw: &'a str,
    fields: Vec<String>,
}

impl Row<'_> {
    fn get(&self, col: (usize, &str)) -> Result<&str, FilterError> {
        self.fields.get(col.0).map(String::as_str).ok_or_else(|| {
            FilterError::Malformed(format!(
                "has {} field(s) on line {}, no `{}` (column {} of the header)",
                self.fields.len(),
                self.line,
                col.1,
                col.0 + 1
            ))
        })
    }

    fn number(&self, col: (usize, &str)) -> Result<i64, FilterError> {
        let v = self.get(col)?;
        v.parse::<i64>().map_err(|_| {
            FilterError::Malformed(format!(
                "has `{}` as `{}` on line {}, not a number",
                v.escape_debug(),
                col.1,
                self.line
            ))
        })
    }
}

/// How the proxies are selected, once the proxy word is resolved.
enum Proxies {
    All,
    /// A proxy id, and the header's `iid` column.
    Id(i64, (usize, &'static str)),
    /// By name, when the header has no `iid`.
    Name(String),
}

/// A server that `up` keeps out of the dump: in maintenance, or down and
/// not coming up (`DOWN 1/3` is coming up; `DOWN (agent)` is not).
fn hidden(status: &str, hide: Hide) -> bool {
    let maint = status.starts_with("MAINT");
    match hide {
        Hide::Nothing => false,
        Hide::Maint => maint,
        Hide::DownOrMaint => maint || status == "DOWN" || status == "DOWN (agent)",
    }
}

/// The lines of the recorded `show stat` that HAProxy prints for `q`.
pub fn filter(text: &str, q: &Query) -> Result<String, FilterError> {
    let mut lines = text.split_inclusive('\n');
    let header = lines.next();
    let names = header_names(header).map_err(FilterError::Malformed)?;
    let col = |n: &'static str| {
        names
            .iter()
            .position(|c| c == n)
            .map(|i| (i, n))
            .ok_or_else(|| FilterError::Malformed(format!("has no `{n}` column in its header")))
    };
    let (px, ty) = (col("pxname")?, col("type")?);
    let iid = col("iid").ok();
    // Blank lines (the one ending a dump) stay where they are.
    let rows: Vec<(&str, Option<Row>)> = lines
        .enumerate()
        .map(|(i, raw)| {
            let row = (!raw.trim().is_empty()).then(|| Row {
                line: i + 2,
                raw,
                fields: csv_fields(raw.trim_end()),
            });
            (raw, row)
        })
        .collect();
    // The proxy a row belongs to, by id when the header has one: a frontend
    // and a backend may share a name.
    let proxy_of = |r: &Row| -> Result<String, FilterError> {
        match iid {
            Some(c) => r.number(c).map(|n| n.to_string()),
            None => r.get(px).map(str::to_string),
        }
    };
    let proxies = match &q.bound {
        None => Proxies::All,
        Some((word, _, _)) => {
            let mut named = None;
            for r in rows.iter().filter_map(|(_, r)| r.as_ref()) {
                if r.get(px)? == word {
                    named = Some(r);
                    break;
                }
            }
            match (named, iid) {
                (Some(r), Some(c)) => Proxies::Id(r.number(c)?, c),
                (Some(_), None) => Proxies::Name(word.clone()),
                (None, _) => match atoi(word) {
                    0 => return Err(FilterError::NoSuchProxy),
                    -1 => Proxies::All,
                    id => Proxies::Id(i64::from(id), col("iid")?),
                },
            }
        }
    };
    // With `up` or `no-maint` a backend's status counts its servers that are
    // not stopped (maintenance stops a server), hidden ones included.
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    let status = if q.hide == Hide::Nothing {
        None
    } else {
        let status = col("status")?;
        for r in rows.iter().filter_map(|(_, r)| r.as_ref()) {
            if r.number(ty)? == 2 {
                let s = r.get(status)?;
                let c = counts.entry(proxy_of(r)?).or_default();
                c.1 += 1;
                if !(s.starts_with("DOWN") || s.starts_with("MAINT")) {
                    c.0 += 1;
                }
            }
        }
        Some(status)
    };
    let sid_col = match q.bound {
        Some((_, _, sid)) if sid != -1 => Some(col("sid")?),
        _ => None,
    };
    let mut out = String::from(header.unwrap_or_default());
    for (raw, row) in &rows {
        let Some(r) = row else {
            out.push_str(raw);
            continue;
        };
        let selected = match &proxies {
            Proxies::All => true,
            Proxies::Id(id, c) => r.number(*c)? == *id,
            Proxies::Name(n) => r.get(px)? == n,
        };
        if !selected {
            continue;
        }
        let t = r.number(ty)?;
        if let Some((_, kind, sid)) = q.bound {
            if !(0..32).contains(&t) || kind & (1 << t) == 0 {
                continue;
            }
            if let (2, Some(c)) = (t, sid_col) {
                if r.number(c)? != i64::from(sid) {
                    continue;
                }
            }
        }
        match (t, status) {
            (2, Some(c)) if hidden(r.get(c)?, q.hide) => continue,
            (1, Some(c)) => {
                let (up, all) = counts.get(&proxy_of(r)?).copied().unwrap_or_default();
                let span = field_span(r.raw, c.0).unwrap_or(0..0);
                out.push_str(&r.raw[..span.start]);
                out.push_str(&format!("{} ({up}/{all})", r.get(c)?));
                out.push_str(&r.raw[span.end..]);
            }
            _ => out.push_str(r.raw),
        }
    }
    Ok(out)
}

/// `show backend` (`# name` and one backend a line) from a `show stat` reply.
pub fn backends_of(stat: &str) -> Result<String, String> {
    let mut lines = stat.lines().enumerate();
    let names = header_names(lines.next().map(|(_, l)| l))?;
    let col = |n: &str| {
        names
            .iter()
            .position(|c| c == n)
            .ok_or_else(|| format!("has no `{n}` column in its header"))
    };
    let (px, sv) = (col("pxname")?, col("svname")?);
    let mut out = String::from("# name\n");
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f = csv_fields(line);
        match (f.get(px), f.get(sv)) {
            (Some(name), Some(s)) if s == "BACKEND" => {
                out.push_str(name);
                out.push('\n');
            }
            (Some(_), Some(_)) => {}
            _ => {
                return Err(format!(
                    "has {} field(s) on line {}, too few for `pxname` and `svname`",
                    f.len(),
                    i + 1
                ))
            }
        }
    }
    Ok(out)
}

/// [`atoi`], for the tests of the store.
#[cfg(test)]
pub fn atoi_for_tests(s: &str) -> i32 {
    atoi(s)
}
