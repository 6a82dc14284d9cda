//! rsyslog configuration: which UDP inputs and unix sockets it opens, across
//! `/etc/rsyslog.conf` and the files it includes.
//!
//! Understands the legacy directives (`$ModLoad imudp`, `$UDPServerAddress`, `$UDPServerRun`,
//! `$AddUnixListenSocket`, `$IncludeConfig`) and RainerScript objects (`module(load=...)`,
//! `input(type="imudp" port=... address=...)`, `input(type="imuxsock" Socket=...)`,
//! `include(file=... | text=...)`), with `#` and `/* */` comments and statements spanning lines.
//! Like rsyslog, an include is read where it appears and legacy `$UDPServerAddress` state is
//! shared with the included files (set before an include it applies inside; set inside, it
//! applies to the rest of the including file). Include loops are cut with a note, never followed.

use crate::system::access::{require_absolute, Access, Kind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The directory Debian and RHEL ship for snippets; includes pointing into it are
/// redirected to `load_rsyslog`'s `include_dir` (so tests can use a fake tree).
pub const DEFAULT_INCLUDE_DIR: &str = "/etc/rsyslog.d";

const MAX_DEPTH: usize = 16;
const MAX_FILES: usize = 512;
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Which syntax a statement used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    Legacy,
    Rainerscript,
}

/// One imudp listener.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpInput {
    /// `None` means all addresses (no `address=`/`$UDPServerAddress`, or `*`).
    pub address: Option<String>,
    pub port: u16,
    /// `file:line`.
    pub location: String,
    pub style: Style,
}

/// An include found while parsing (`$IncludeConfig` or `include(file=...)`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Include {
    pub pattern: String,
    pub location: String,
    /// `include(... mode="optional")`: a missing file is not worth a note.
    pub optional: bool,
}

/// What one file says, before includes are followed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ParsedRsyslog {
    pub udp_inputs: Vec<UdpInput>,
    pub imudp_loaded: bool,
    pub imuxsock_loaded: bool,
    /// Additional unix sockets (`$AddUnixListenSocket`, `input(type="imuxsock" Socket=...)`).
    pub unix_sockets: Vec<(PathBuf, String)>,
    pub includes: Vec<Include>,
    /// `file:line` of each `imudp` module load (a second load is a rsyslog error).
    pub imudp_loads: Vec<String>,
    pub notes: Vec<String>,
}

/// The whole rsyslog setup as rsyslogd would assemble it (a snapshot
/// records it, and a replay reads it back).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RsyslogSetup {
    /// Files read, in order.
    pub files: Vec<PathBuf>,
    pub udp_inputs: Vec<UdpInput>,
    pub imudp_loaded: bool,
    pub imuxsock_loaded: bool,
    /// (path, `file:line`); read back from a bundle as `[path, location]`
    /// pairs or `{path, location}` maps (see [`unix_sockets_any`]).
    #[serde(deserialize_with = "unix_sockets_any")]
    pub unix_sockets: Vec<(PathBuf, String)>,
    pub notes: Vec<String>,
}

/// Bundles hold rsyslog as `host_facts()` returned it: `{path, location}`
/// maps since the primitives share one vocabulary, `[path, location]` pairs
/// before. Both read back the same.
fn unix_sockets_any<'de, D>(d: D) -> Result<Vec<(PathBuf, String)>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Socket {
        Pair(PathBuf, String),
        Map { path: PathBuf, location: String },
    }
    let all = Vec::<Socket>::deserialize(d)?;
    Ok(all
        .into_iter()
        .map(|s| match s {
            Socket::Pair(p, l)
            | Socket::Map {
                path: p,
                location: l,
            } => (p, l),
        })
        .collect())
}

/// Failure to read the main configuration file (included files only produce notes).
#[derive(Debug, thiserror::Error)]
pub enum RsyslogError {
    #[error("{}: cannot read rsyslog configuration: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a regular file (size limit {MAX_FILE_BYTES} bytes)", path.display())]
    NotAFile { path: PathBuf },
}

/// Parses one rsyslog file without following includes (they are listed in `includes`).
/// `include(text="...")` is parsed inline.
pub fn parse_rsyslog(text: &str, file: &Path) -> ParsedRsyslog {
    let mut st = State::default();
    let mut out = ParsedRsyslog::default();
    parse_into(text, file, &mut st, &mut out, 0, &mut |_, _, _| {});
    out
}

/// Reads `main_conf` and every file it includes, in rsyslog's order. Includes of
/// `/etc/rsyslog.d/...` are read from `include_dir` instead; relative includes are resolved
/// against `main_conf`'s directory. `*.conf`-style globs in the last path component are
/// expanded (sorted, like rsyslog). Unreadable included files, loops and repeats become notes.
pub fn load_rsyslog(main_conf: &Path, include_dir: &Path) -> Result<RsyslogSetup, RsyslogError> {
    load_rsyslog_on(&Access::Local, main_conf, include_dir)
}

/// [`load_rsyslog`] on a host: this machine's files or, over SSH, another
/// host's. Over SSH paths are compared as written (no `realpath` there):
/// a loop through a symlink is stopped by the depth bound instead.
pub fn load_rsyslog_on(
    access: &Access,
    main_conf: &Path,
    include_dir: &Path,
) -> Result<RsyslogSetup, RsyslogError> {
    let text = read_limited(access, main_conf)?;
    let mut loader = Loader {
        access,
        include_dir: include_dir.to_path_buf(),
        base_dir: main_conf
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        setup: RsyslogSetup::default(),
        stack: Vec::new(),
        seen: Vec::new(),
        include_dir_referenced: false,
        imudp_loads: Vec::new(),
    };
    let mut st = State::default();
    loader.file(main_conf, &text, &mut st, 0);
    // rsyslog only reads rsyslog.d when an include says so: tell the operator when it does not.
    if !loader.include_dir_referenced {
        let n = conf_files(access, include_dir).len();
        if n > 0 {
            loader.setup.notes.push(format!(
                "{} holds {n} *.conf file(s) but {} never includes it: rsyslogd ignores them \
                 (add `$IncludeConfig /etc/rsyslog.d/*.conf` or `include(file=\"/etc/rsyslog.d/*.conf\")`)",
                include_dir.display(),
                main_conf.display()
            ));
        }
    }
    Ok(loader.setup)
}

fn read_limited(access: &Access, path: &Path) -> Result<String, RsyslogError> {
    let read_err = |source| RsyslogError::Read {
        path: path.to_path_buf(),
        source,
    };
    let not_a_file = || RsyslogError::NotAFile {
        path: path.to_path_buf(),
    };
    let path_ok = require_absolute(access, path).map_err(read_err)?;
    if access.kind(&path_ok).map_err(read_err)? != Kind::File {
        return Err(not_a_file());
    }
    let bytes = access.read(path, MAX_FILE_BYTES).map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(not_a_file());
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Sorted regular `*.conf` files of a directory.
fn conf_files(access: &Access, dir: &Path) -> Vec<PathBuf> {
    glob_dir(access, dir, "*.conf")
}

fn glob_dir(access: &Access, dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let Ok(entries) = access.list(dir) else {
        return Vec::new();
    };
    // `list` sorts by name: the order rsyslog reads them.
    entries
        .into_iter()
        .filter(|e| e.is_file && !e.name.starts_with('.') && glob_match(pattern, &e.name))
        .map(|e| dir.join(e.name))
        .collect()
}

/// Shell-style `*` and `?` matching (no classes), iterative so hostile patterns stay linear-ish.
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

struct Loader<'a> {
    access: &'a Access,
    include_dir: PathBuf,
    base_dir: PathBuf,
    setup: RsyslogSetup,
    /// Canonical paths of the files being read (the include chain).
    stack: Vec<PathBuf>,
    /// Canonical paths of every file read so far.
    seen: Vec<PathBuf>,
    include_dir_referenced: bool,
    imudp_loads: Vec<String>,
}

impl Loader<'_> {
    fn file(&mut self, path: &Path, text: &str, st: &mut State, depth: usize) {
        let canon = canonical(self.access, path);
        self.stack.push(canon.clone());
        self.seen.push(canon);
        self.setup.files.push(path.to_path_buf());
        let mut out = ParsedRsyslog::default();
        // Like rsyslogd, an include is read where it appears, with the same legacy state:
        // `$UDPServerAddress` set before an `$IncludeConfig` applies inside the included
        // files, and one set inside them applies to the rest of this file.
        parse_into(text, path, st, &mut out, 0, &mut |inc, st, out| {
            self.absorb(std::mem::take(out));
            self.include(inc, st, depth);
        });
        self.absorb(out);
        self.stack.pop();
    }

    fn absorb(&mut self, out: ParsedRsyslog) {
        let s = &mut self.setup;
        s.udp_inputs.extend(out.udp_inputs);
        s.imudp_loaded |= out.imudp_loaded;
        s.imuxsock_loaded |= out.imuxsock_loaded;
        s.unix_sockets.extend(out.unix_sockets);
        s.notes.extend(out.notes);
        for l in out.imudp_loads {
            if let Some(first) = self.imudp_loads.first() {
                s.notes.push(format!(
                    "{l}: imudp is loaded again (first at {first}): rsyslogd rejects a duplicate module load"
                ));
            }
            self.imudp_loads.push(l);
        }
    }

    fn resolve(&self, pattern: &str) -> PathBuf {
        let p = Path::new(pattern);
        let p = if let Ok(rest) = p.strip_prefix(DEFAULT_INCLUDE_DIR) {
            self.include_dir.join(rest)
        } else if p.is_relative() {
            self.base_dir.join(p)
        } else {
            p.to_path_buf()
        };
        p
    }

    fn include(&mut self, inc: &Include, st: &mut State, depth: usize) {
        if depth + 1 > MAX_DEPTH {
            self.setup.notes.push(format!(
                "{}: include nesting deeper than {MAX_DEPTH}: `{}` not followed",
                inc.location, inc.pattern
            ));
            return;
        }
        let target = self.resolve(&inc.pattern);
        if canon_eq(self.access, &target, &self.include_dir)
            || target
                .parent()
                .is_some_and(|d| canon_eq(self.access, d, &self.include_dir))
        {
            self.include_dir_referenced = true;
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let glob = name.contains(['*', '?']);
        // Asked once: over SSH each question is a command on the host.
        let kind = if glob {
            None
        } else {
            self.access.kind(&target).ok()
        };
        let files: Vec<PathBuf> = if glob {
            let dir = target.parent().unwrap_or(Path::new("/"));
            glob_dir(self.access, dir, &name)
        } else if kind == Some(Kind::Dir) {
            // `$IncludeConfig /etc/rsyslog.d/` reads every file of the directory.
            glob_dir(self.access, &target, "*")
        } else if kind == Some(Kind::File) {
            vec![target.clone()]
        } else {
            if !inc.optional {
                self.setup.notes.push(format!(
                    "{}: included file {} does not exist",
                    inc.location,
                    target.display()
                ));
            }
            return;
        };
        if files.is_empty() && !inc.optional {
            self.setup.notes.push(format!(
                "{}: `{}` matches no file",
                inc.location,
                target.display()
            ));
        }
        for f in files {
            if self.setup.files.len() >= MAX_FILES {
                self.setup.notes.push(format!(
                    "{}: more than {MAX_FILES} rsyslog files: stopped following includes",
                    inc.location
                ));
                return;
            }
            let canon = canonical(self.access, &f);
            if self.stack.contains(&canon) {
                self.setup.notes.push(format!(
                    "{}: include loop: {} includes itself (directly or through other files); not followed",
                    inc.location,
                    f.display()
                ));
                continue;
            }
            if self.seen.contains(&canon) {
                self.setup.notes.push(format!(
                    "{}: {} is included a second time; rsyslogd would read it twice (duplicate inputs fail to bind); read once here",
                    inc.location,
                    f.display()
                ));
                continue;
            }
            match read_limited(self.access, &f) {
                Ok(text) => self.file(&f, &text, st, depth + 1),
                Err(e) => self.setup.notes.push(format!("{}: {e}", inc.location)),
            }
        }
    }
}

fn canon_eq(access: &Access, a: &Path, b: &Path) -> bool {
    canonical(access, a) == canonical(access, b)
}

/// The path with symlinks resolved on this machine; over SSH as written.
fn canonical(access: &Access, p: &Path) -> PathBuf {
    match access {
        Access::Local => std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()),
        Access::Ssh { .. } => p.to_path_buf(),
    }
}

/// Legacy directives are stateful: `$UDPServerAddress` applies to later `$UDPServerRun`s.
#[derive(Clone, Debug, Default)]
struct State {
    udp_address: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    Eq,
    LBracket,
    RBracket,
    Comma,
    Other,
    Nl,
}

fn lex(text: &str, file: &Path, notes: &mut Vec<String>) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut line = 1usize;
    let mut i = 0;
    let is_punct = |c: char| {
        matches!(
            c,
            '(' | ')' | '=' | '[' | ']' | ',' | '{' | '}' | ';' | '"' | '\''
        )
    };
    // At the start of a line (only blanks before), and whether the current line is a
    // legacy `$` directive (its quoted strings end at the newline).
    let mut at_line_start = true;
    let mut legacy_line = false;
    while i < chars.len() {
        let c = chars[i];
        if c != '\n' && !c.is_whitespace() && std::mem::take(&mut at_line_start) {
            legacy_line = c == '$';
            // A legacy selector/action line (`*.*`, `:msg, contains, ...`, `mail.info`,
            // `& stop`) is raw text to the end of the line: a quote in a file name or a
            // property filter must not open a string that runs into the next lines.
            let rest = chars[i..].iter().take_while(|&&d| d != '\n');
            if matches!(c, '*' | ':' | '&') || is_legacy_selector(rest.clone().copied()) {
                let n = rest.count();
                toks.push((Tok::Other, line));
                i += n;
                continue;
            }
        }
        match c {
            '\n' => {
                toks.push((Tok::Nl, line));
                line += 1;
                i += 1;
                at_line_start = true;
                legacy_line = false;
            }
            c if c.is_whitespace() => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let start = line;
                i += 2;
                loop {
                    if i >= chars.len() {
                        notes.push(format!(
                            "{}:{start}: unterminated /* comment",
                            file.display()
                        ));
                        break;
                    }
                    if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        i += 2;
                        break;
                    }
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            '"' | '\'' => {
                let q = c;
                let start = line;
                let mut s = String::new();
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    let d = chars[i];
                    if legacy_line && d == '\n' {
                        break;
                    }
                    if d == '\\' && i + 1 < chars.len() && !(legacy_line && chars[i + 1] == '\n') {
                        s.push(chars[i + 1]);
                        if chars[i + 1] == '\n' {
                            line += 1;
                        }
                        i += 2;
                        continue;
                    }
                    if d == q {
                        closed = true;
                        i += 1;
                        break;
                    }
                    if d == '\n' {
                        line += 1;
                    }
                    s.push(d);
                    i += 1;
                }
                if !closed {
                    notes.push(format!(
                        "{}:{start}: unterminated quoted string",
                        file.display()
                    ));
                }
                toks.push((Tok::Str(s), start));
            }
            '(' => {
                toks.push((Tok::Open, line));
                i += 1;
            }
            ')' => {
                toks.push((Tok::Close, line));
                i += 1;
            }
            '=' => {
                toks.push((Tok::Eq, line));
                i += 1;
            }
            '[' => {
                toks.push((Tok::LBracket, line));
                i += 1;
            }
            ']' => {
                toks.push((Tok::RBracket, line));
                i += 1;
            }
            ',' => {
                toks.push((Tok::Comma, line));
                i += 1;
            }
            '{' | '}' | ';' => {
                toks.push((Tok::Other, line));
                i += 1;
            }
            _ => {
                let mut s = String::new();
                while i < chars.len() {
                    let d = chars[i];
                    if d.is_whitespace() || is_punct(d) || d == '#' {
                        break;
                    }
                    s.push(d);
                    i += 1;
                }
                toks.push((Tok::Word(s), line));
            }
        }
    }
    toks
}

/// Facilities of a legacy selector (`mail.info`, `auth,authpriv.*`, `local7.=debug`).
const FACILITIES: &[&str] = &[
    "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "mark", "news", "security",
    "syslog", "user", "uucp", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7",
];

/// Whether a line starts with a legacy selector: facility names (or `*`) separated by
/// commas, then a `.`.
fn is_legacy_selector(mut line: impl Iterator<Item = char>) -> bool {
    let mut head = String::new();
    for c in line.by_ref() {
        if c == '.' {
            return !head.is_empty()
                && head
                    .split(',')
                    .all(|f| f == "*" || FACILITIES.iter().any(|x| f.eq_ignore_ascii_case(x)));
        }
        if c.is_whitespace() || head.len() > 64 {
            return false;
        }
        head.push(c);
    }
    false
}

/// Module name from `imudp`, `imudp.so` or `/usr/lib/rsyslog/imudp.so`.
fn module_name(s: &str) -> String {
    let base = s.rsplit('/').next().unwrap_or(s);
    base.trim_end_matches(".so").to_ascii_lowercase()
}

fn parse_port(v: &str) -> Option<u16> {
    v.trim().parse::<u16>().ok().filter(|p| *p != 0)
}

fn norm_address(v: &str) -> Option<String> {
    let v = v.trim();
    if v.is_empty() || v == "*" {
        None
    } else {
        Some(v.to_string())
    }
}

type IncludeCb<'a> = dyn FnMut(&Include, &mut State, &mut ParsedRsyslog) + 'a;

fn parse_into(
    text: &str,
    file: &Path,
    st: &mut State,
    out: &mut ParsedRsyslog,
    depth: usize,
    on_include: &mut IncludeCb<'_>,
) {
    let toks = lex(text, file, &mut out.notes);
    let loc = |line: usize| format!("{}:{line}", file.display());
    let mut i = 0;
    let mut line_start = true;
    while i < toks.len() {
        let (tok, line) = (&toks[i].0, toks[i].1);
        match tok {
            Tok::Nl => {
                line_start = true;
                i += 1;
                continue;
            }
            Tok::Word(w) if line_start && w.starts_with('$') => {
                let name = w.to_ascii_lowercase();
                let mut args = Vec::new();
                i += 1;
                while i < toks.len() && toks[i].0 != Tok::Nl {
                    match &toks[i].0 {
                        Tok::Word(a) | Tok::Str(a) => args.push(a.clone()),
                        _ => {}
                    }
                    i += 1;
                }
                legacy(&name, &args, &loc(line), st, out, on_include);
                continue;
            }
            Tok::Word(w)
                if matches!(toks.get(i + 1), Some((Tok::Open, _)))
                    && matches!(
                        w.to_ascii_lowercase().as_str(),
                        "module" | "input" | "include"
                    ) =>
            {
                let kind = w.to_ascii_lowercase();
                let (params, next, closed) = object_params(&toks, i + 2);
                if !closed {
                    out.notes.push(format!(
                        "{}: `{kind}(` is never closed; statement ignored",
                        loc(line)
                    ));
                }
                i = next;
                line_start = false;
                if closed {
                    object(&kind, &params, &loc(line), file, st, out, depth, on_include);
                }
                continue;
            }
            _ => {}
        }
        line_start = false;
        i += 1;
    }
}

/// Parses `name="value" name=value name=["a","b"]` up to the matching `)`.
/// Returns the parameters (lowercased names), the index after `)`, and whether it was closed.
fn object_params(toks: &[(Tok, usize)], mut i: usize) -> (Vec<(String, Vec<String>)>, usize, bool) {
    let mut params = Vec::new();
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Close => return (params, i + 1, true),
            Tok::Word(name) if matches!(toks.get(i + 1), Some((Tok::Eq, _))) => {
                let name = name.to_ascii_lowercase();
                i += 2;
                let mut vals = Vec::new();
                match toks.get(i).map(|t| &t.0) {
                    Some(Tok::Str(v)) | Some(Tok::Word(v)) => {
                        vals.push(v.clone());
                        i += 1;
                    }
                    Some(Tok::LBracket) => {
                        i += 1;
                        while i < toks.len() {
                            match &toks[i].0 {
                                Tok::RBracket => {
                                    i += 1;
                                    break;
                                }
                                Tok::Str(v) | Tok::Word(v) => vals.push(v.clone()),
                                Tok::Close => break,
                                _ => {}
                            }
                            i += 1;
                        }
                    }
                    _ => {}
                }
                params.push((name, vals));
            }
            // A new top-level object before `)`: the previous one was not closed.
            Tok::Word(w)
                if matches!(toks.get(i + 1), Some((Tok::Open, _)))
                    && matches!(
                        w.to_ascii_lowercase().as_str(),
                        "module" | "input" | "include" | "action" | "ruleset" | "template"
                    ) =>
            {
                return (params, i, false);
            }
            _ => i += 1,
        }
    }
    (params, i, false)
}

fn param<'a>(params: &'a [(String, Vec<String>)], name: &str) -> Option<&'a [String]> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

fn first<'a>(params: &'a [(String, Vec<String>)], name: &str) -> Option<&'a str> {
    param(params, name)
        .and_then(|v| v.first())
        .map(String::as_str)
}

fn load_module(name: &str, location: &str, out: &mut ParsedRsyslog) {
    match module_name(name).as_str() {
        "imudp" => {
            out.imudp_loaded = true;
            out.imudp_loads.push(location.to_string());
        }
        "imuxsock" => out.imuxsock_loaded = true,
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn object(
    kind: &str,
    params: &[(String, Vec<String>)],
    location: &str,
    file: &Path,
    st: &mut State,
    out: &mut ParsedRsyslog,
    depth: usize,
    on_include: &mut IncludeCb<'_>,
) {
    match kind {
        "module" => match first(params, "load") {
            Some(m) => load_module(m, location, out),
            None => out
                .notes
                .push(format!("{location}: module() without load=")),
        },
        "input" => {
            let ty = first(params, "type").map(module_name).unwrap_or_default();
            match ty.as_str() {
                "imudp" => {
                    let address = first(params, "address").and_then(norm_address);
                    let ports: Vec<String> = param(params, "port")
                        .map(|v| v.to_vec())
                        .unwrap_or_else(|| vec!["514".to_string()]);
                    for p in ports {
                        match parse_port(&p) {
                            Some(port) => out.udp_inputs.push(UdpInput {
                                address: address.clone(),
                                port,
                                location: location.to_string(),
                                style: Style::Rainerscript,
                            }),
                            None => out.notes.push(format!(
                                "{location}: imudp input with invalid port `{p}` ignored"
                            )),
                        }
                    }
                }
                "imuxsock" => match first(params, "socket") {
                    Some(s) => out
                        .unix_sockets
                        .push((PathBuf::from(s), location.to_string())),
                    None => out.notes.push(format!(
                        "{location}: input(type=\"imuxsock\") without Socket="
                    )),
                },
                "" => out.notes.push(format!("{location}: input() without type=")),
                _ => {}
            }
        }
        "include" => {
            let optional =
                first(params, "mode").is_some_and(|m| m.eq_ignore_ascii_case("optional"));
            if let Some(text) = first(params, "text") {
                if depth >= MAX_DEPTH {
                    out.notes.push(format!(
                        "{location}: include(text=...) nested too deep; not followed"
                    ));
                } else {
                    let text = text.to_string();
                    parse_into(&text, file, st, out, depth + 1, on_include);
                }
            } else if let Some(f) = first(params, "file") {
                let inc = Include {
                    pattern: f.to_string(),
                    location: location.to_string(),
                    optional,
                };
                on_include(&inc, st, out);
                out.includes.push(inc);
            } else {
                out.notes
                    .push(format!("{location}: include() without file= or text="));
            }
        }
        _ => {}
    }
}

fn legacy(
    name: &str,
    args: &[String],
    location: &str,
    st: &mut State,
    out: &mut ParsedRsyslog,
    on_include: &mut IncludeCb<'_>,
) {
    let arg = args.first().map(String::as_str);
    match name {
        "$modload" => match arg {
            Some(m) => load_module(m, location, out),
            None => out
                .notes
                .push(format!("{location}: $ModLoad without a module")),
        },
        "$udpserveraddress" => st.udp_address = arg.and_then(norm_address),
        "$udpserverrun" => {
            let p = arg.unwrap_or("514");
            match parse_port(p) {
                Some(port) => out.udp_inputs.push(UdpInput {
                    address: st.udp_address.clone(),
                    port,
                    location: location.to_string(),
                    style: Style::Legacy,
                }),
                None => out.notes.push(format!(
                    "{location}: $UDPServerRun with invalid port `{p}` ignored"
                )),
            }
        }
        "$addunixlistensocket" => match arg {
            Some(s) => out
                .unix_sockets
                .push((PathBuf::from(s), location.to_string())),
            None => out
                .notes
                .push(format!("{location}: $AddUnixListenSocket without a path")),
        },
        "$includeconfig" => match arg {
            Some(p) => {
                let inc = Include {
                    pattern: p.to_string(),
                    location: location.to_string(),
                    optional: false,
                };
                on_include(&inc, st, out);
                out.includes.push(inc);
            }
            None => out
                .notes
                .push(format!("{location}: $IncludeConfig without a path")),
        },
        "$resetconfigvariables" => *st = State::default(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn p(text: &str) -> ParsedRsyslog {
        parse_rsyslog(text, Path::new("/etc/rsyslog.conf"))
    }

    #[test]
    fn legacy_udp_and_socket() {
        let r = p(
            "# comment\n$ModLoad imudp\n$UDPServerAddress 127.0.0.1\n$UDPServerRun 514\n\
                   $AddUnixListenSocket /var/lib/haproxy/dev/log # trailing\n",
        );
        assert!(r.imudp_loaded);
        assert_eq!(
            r.udp_inputs,
            vec![UdpInput {
                address: Some("127.0.0.1".into()),
                port: 514,
                location: "/etc/rsyslog.conf:4".into(),
                style: Style::Legacy,
            }]
        );
        assert_eq!(
            r.unix_sockets,
            vec![(
                PathBuf::from("/var/lib/haproxy/dev/log"),
                "/etc/rsyslog.conf:5".into()
            )]
        );
    }

    #[test]
    fn legacy_is_case_insensitive_and_modload_path() {
        let r = p("$modload /usr/lib/rsyslog/imudp.so\n$udpserverrun 5140\n#$UDPServerRun 9\n");
        assert!(r.imudp_loaded);
        assert_eq!(r.udp_inputs.len(), 1);
        assert_eq!(
            (r.udp_inputs[0].port, r.udp_inputs[0].address.clone()),
            (5140, None)
        );
    }

    #[test]
    fn rainerscript_multiline_and_arrays() {
        let r = p(r#"module(load="imuxsock") # local system logging
module(
    load="imudp"
)
/* input(type="imudp" port="1") */
input(type="imudp"
      port=["514", "10514"]
      address="127.0.0.1")
input(type="imuxsock" Socket="/var/lib/haproxy/dev/log" CreatePath="on")
INPUT(Type="imudp" Port="5514")
*.* /var/log/syslog
"#);
        assert!(r.imudp_loaded && r.imuxsock_loaded);
        let ports: Vec<_> = r
            .udp_inputs
            .iter()
            .map(|u| (u.port, u.location.clone()))
            .collect();
        assert_eq!(
            ports,
            vec![
                (514, "/etc/rsyslog.conf:6".to_string()),
                (10514, "/etc/rsyslog.conf:6".to_string()),
                (5514, "/etc/rsyslog.conf:10".to_string())
            ]
        );
        assert!(r.udp_inputs.iter().all(|u| u.style == Style::Rainerscript));
        assert_eq!(r.udp_inputs[0].address.as_deref(), Some("127.0.0.1"));
        assert_eq!(
            r.unix_sockets[0].0,
            PathBuf::from("/var/lib/haproxy/dev/log")
        );
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }

    #[test]
    fn udp_input_without_module_is_visible() {
        let r = p("input(type=\"imudp\" port=\"514\")\n");
        assert!(!r.imudp_loaded);
        assert_eq!(r.udp_inputs.len(), 1);
    }

    #[test]
    fn includes_are_listed_and_text_inline() {
        let r = p("$IncludeConfig /etc/rsyslog.d/*.conf\ninclude(file=\"/etc/x.conf\" mode=\"optional\")\n\
                   include(text=\"module(load='imudp')\")\n");
        assert_eq!(r.includes.len(), 2);
        assert_eq!(r.includes[0].pattern, "/etc/rsyslog.d/*.conf");
        assert!(r.includes[1].optional);
        assert!(r.imudp_loaded);
    }

    #[test]
    fn quote_in_legacy_line_does_not_swallow_the_file() {
        let r = p(
            ":msg, contains, \"x\" /var/log/o'brien.log\n& stop\nmail.* -/var/log/it's.log\n\
             $UDPServerAddress \"127.0.0.1\n$ModLoad imudp\n$UDPServerRun 514\n\
             input(type=\"imudp\" port=\"515\")\n",
        );
        assert!(r.imudp_loaded);
        let got: Vec<_> = r.udp_inputs.iter().map(|u| u.port).collect();
        assert_eq!(got, [514, 515]);
        assert_eq!(r.udp_inputs[0].location, "/etc/rsyslog.conf:6");
        assert_eq!(r.udp_inputs[1].location, "/etc/rsyslog.conf:7");
        // Only the `$` line's own unterminated quote is noted.
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        assert!(r.notes[0].contains(":4: unterminated"), "{:?}", r.notes);
        assert!(is_legacy_selector("auth,authpriv.* /x".chars()));
        assert!(!is_legacy_selector("module(load=\"imudp\")".chars()));
        assert!(!is_legacy_selector("user foo.bar".chars()));
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "input(type=\"imudp\" port=",
            "module(",
            "\"unterminated",
            "/* open",
            "$UDPServerRun notaport\n$UDPServerRun 70000\n$UDPServerRun 0",
            "input(type=\"imudp\" port=[\"1\"",
            "))))((((====[[[]]]",
            "$",
            "\u{0}\u{ffff}é(\n",
        ] {
            let r = p(t);
            assert!(r.udp_inputs.is_empty(), "{t}: {:?}", r.udp_inputs);
        }
        assert!(!p("module(\ninput(type=\"imudp\")").notes.is_empty());
    }

    #[test]
    fn glob() {
        assert!(glob_match("*.conf", "49-haproxy.conf"));
        assert!(!glob_match("*.conf", "49-haproxy.conf.dpkg-old"));
        assert!(glob_match("4?-*.conf", "49-haproxy.conf"));
        assert!(glob_match("*", "x"));
    }

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("rsyslog.d")).unwrap();
        d
    }

    #[test]
    fn load_follows_includes_in_order_and_remaps_etc_rsyslog_d() {
        let d = tree();
        fs::write(
            d.path().join("rsyslog.conf"),
            "module(load=\"imuxsock\")\n$ModLoad imudp\n$UDPServerAddress 127.0.0.1\n$IncludeConfig /etc/rsyslog.d/*.conf\n",
        )
        .unwrap();
        fs::write(
            d.path().join("rsyslog.d/10-udp.conf"),
            "$UDPServerRun 514\n",
        )
        .unwrap();
        fs::write(
            d.path().join("rsyslog.d/49-haproxy.conf"),
            "$AddUnixListenSocket /var/lib/haproxy/dev/log\n",
        )
        .unwrap();
        fs::write(d.path().join("rsyslog.d/ignored.txt"), "$UDPServerRun 1\n").unwrap();
        let s = load_rsyslog(&d.path().join("rsyslog.conf"), &d.path().join("rsyslog.d")).unwrap();
        assert_eq!(s.files.len(), 3);
        assert!(s.imudp_loaded && s.imuxsock_loaded);
        assert_eq!(s.udp_inputs.len(), 1);
        // Legacy address state carries into included files, as in rsyslog.
        assert_eq!(s.udp_inputs[0].address.as_deref(), Some("127.0.0.1"));
        assert!(s.udp_inputs[0].location.ends_with("10-udp.conf:1"));
        assert_eq!(s.unix_sockets.len(), 1);
        assert!(s.notes.is_empty(), "{:?}", s.notes);
    }

    #[test]
    fn includes_are_read_where_they_appear_and_share_legacy_state() {
        let d = tree();
        fs::write(
            d.path().join("rsyslog.conf"),
            "$ModLoad imudp\n$IncludeConfig /etc/rsyslog.d/*.conf\n$UDPServerRun 514\n\
             include(file=\"/etc/rsyslog.d/late.inc\")\n$UDPServerRun 515\n",
        )
        .unwrap();
        fs::write(
            d.path().join("rsyslog.d/00.conf"),
            "$UDPServerAddress 127.0.0.1\n",
        )
        .unwrap();
        fs::write(
            d.path().join("rsyslog.d/late.inc"),
            "$UDPServerAddress 10.0.0.1\n$UDPServerRun 516\n",
        )
        .unwrap();
        let s = load_rsyslog(&d.path().join("rsyslog.conf"), &d.path().join("rsyslog.d")).unwrap();
        let got: Vec<_> = s
            .udp_inputs
            .iter()
            .map(|u| (u.port, u.address.clone().unwrap_or_default()))
            .collect();
        // rsyslogd binds 514 on 127.0.0.1: the included file's address flows back.
        assert_eq!(
            got,
            [
                (514, "127.0.0.1".to_string()),
                (516, "10.0.0.1".to_string()),
                (515, "10.0.0.1".to_string())
            ]
        );
        assert!(s.notes.is_empty(), "{:?}", s.notes);
    }

    #[test]
    fn load_detects_loops_and_self_includes() {
        let d = tree();
        let main = d.path().join("rsyslog.conf");
        fs::write(
            &main,
            format!(
                "include(file=\"{}\")\n$IncludeConfig /etc/rsyslog.d/\n",
                main.display()
            ),
        )
        .unwrap();
        fs::write(
            d.path().join("rsyslog.d/a.conf"),
            "$IncludeConfig /etc/rsyslog.d/b.conf\n",
        )
        .unwrap();
        fs::write(
            d.path().join("rsyslog.d/b.conf"),
            "include(file=\"a.conf\")\n$IncludeConfig /etc/rsyslog.d/a.conf\n$UDPServerRun 514\n",
        )
        .unwrap();
        let s = load_rsyslog(&main, &d.path().join("rsyslog.d")).unwrap();
        assert_eq!(s.files.len(), 3, "{:?}", s.files);
        assert!(
            s.notes.iter().any(|n| n.contains("include loop")),
            "{:?}",
            s.notes
        );
        assert_eq!(s.udp_inputs.len(), 1);
    }

    #[test]
    fn load_notes_unreferenced_include_dir_and_missing_files() {
        let d = tree();
        let main = d.path().join("rsyslog.conf");
        fs::write(&main, "$IncludeConfig /nonexistent/x.conf\n").unwrap();
        fs::write(
            d.path().join("rsyslog.d/49-haproxy.conf"),
            "$UDPServerRun 514\n",
        )
        .unwrap();
        let s = load_rsyslog(&main, &d.path().join("rsyslog.d")).unwrap();
        assert!(s.udp_inputs.is_empty());
        assert!(
            s.notes.iter().any(|n| n.contains("never includes it")),
            "{:?}",
            s.notes
        );
        assert!(
            s.notes.iter().any(|n| n.contains("does not exist")),
            "{:?}",
            s.notes
        );
        let e = load_rsyslog(&d.path().join("nope.conf"), d.path()).unwrap_err();
        assert!(e.to_string().contains("nope.conf"));
    }

    /// Debian's haproxy package ships /etc/rsyslog.d/49-haproxy.conf (read, never copied).
    #[test]
    fn debian_haproxy_snippet() {
        let path = Path::new("/etc/rsyslog.d/49-haproxy.conf");
        let Ok(text) = fs::read_to_string(path) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{} is missing (install Debian's haproxy package)",
                path.display()
            );
            return;
        };
        let r = parse_rsyslog(&text, path);
        assert_eq!(r.unix_sockets.len(), 1, "{r:?}");
        assert_eq!(
            r.unix_sockets[0].0,
            PathBuf::from("/var/lib/haproxy/dev/log")
        );
        assert!(r.udp_inputs.is_empty());
        assert!(r.notes.is_empty(), "{:?}", r.notes);
        // Through a Debian-like main file that includes the real directory.
        let d = tempfile::tempdir().unwrap();
        let main = d.path().join("rsyslog.conf");
        fs::write(
            &main,
            "module(load=\"imuxsock\")\n$IncludeConfig /etc/rsyslog.d/*.conf\n",
        )
        .unwrap();
        let s = load_rsyslog(&main, Path::new("/etc/rsyslog.d")).unwrap();
        assert!(s.files.iter().any(|f| f == path));
        assert!(s
            .unix_sockets
            .iter()
            .any(|(p, _)| p == Path::new("/var/lib/haproxy/dev/log")));
    }

    #[test]
    fn a_bundle_reads_back_unix_sockets_as_pairs_or_maps() {
        let want = vec![(
            PathBuf::from("/var/lib/haproxy/dev/log"),
            "/etc/rsyslog.d/49-haproxy.conf:3".to_string(),
        )];
        for sockets in [
            r#"[["/var/lib/haproxy/dev/log", "/etc/rsyslog.d/49-haproxy.conf:3"]]"#,
            r#"[{"path": "/var/lib/haproxy/dev/log", "location": "/etc/rsyslog.d/49-haproxy.conf:3"}]"#,
        ] {
            let json = format!(
                r#"{{"files": [], "udp_inputs": [], "imudp_loaded": false, "imuxsock_loaded": true, "unix_sockets": {sockets}, "notes": []}}"#
            );
            let r: RsyslogSetup = serde_json::from_str(&json).unwrap();
            assert_eq!(r.unix_sockets, want, "{sockets}");
        }
        let bad = r#"{"files": [], "udp_inputs": [], "imudp_loaded": false, "imuxsock_loaded": true, "unix_sockets": [3], "notes": []}"#;
        assert!(serde_json::from_str::<RsyslogSetup>(bad).is_err());
    }
}
