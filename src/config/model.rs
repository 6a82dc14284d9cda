//! A haproxy.cfg model that keeps `file:line` for every directive.
//!
//! Parsing follows HAProxy's own rules (configuration.txt §2.1–2.4): one
//! statement per line, words split on unprotected blanks, `#` starts a comment
//! outside quotes, `"..."` weak quoting (environment variables recognised),
//! `'...'` strong quoting, backslash escapes. `.if/.elif/.else/.endif` blocks are
//! not evaluated: their directives are kept and carry the enclosing condition.
//! Environment variables are recognised but never expanded.

pub use crate::system::access::MAX_CONFIG_FILE_SIZE;
use crate::system::access::{require_absolute, Access, Kind};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// Keywords that open a section. Section keywords are valid everywhere.
pub const SECTION_KEYWORDS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "peers",
    "resolvers",
    "userlist",
    "program",
    "http-errors",
    "ring",
    "cache",
    "mailers",
    "log-forward",
    "crt-store",
    "fcgi-app",
    "traces",
    "acme",
    "dynamic-update",
];

/// The section kind given to directives placed before any section.
pub const IMPLICIT_SECTION: &str = "implicit";

/// Everything that can go wrong while loading configuration files.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: cannot list directory: {source}", path.display())]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a configuration file: it contains NUL bytes (binary file?)", path.display())]
    Binary { path: PathBuf },
    #[error("{}: too large ({size} bytes, the limit is {limit} bytes)", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{}: neither a regular file nor a directory", path.display())]
    NotAFile { path: PathBuf },
    #[error("no configuration path given")]
    NoPath,
    /// Replay: the snapshot kept no copy of the configuration.
    #[error("{}: not recorded in replay bundle {}: the snapshot kept no copy of the configuration", path.display(), bundle.display())]
    NotRecorded { path: PathBuf, bundle: PathBuf },
}

/// A loaded configuration (or why it could not be), shared by the
/// primitives of one run.
pub type LoadedModel = std::sync::Arc<Result<ConfigModel, ConfigError>>;

/// A parsed configuration: every file loaded, every section in load order.
/// (Deserialize: a replay of an older snapshot reads its `config.json`.)
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ConfigModel {
    pub files: Vec<PathBuf>,
    pub sections: Vec<Section>,
    /// Syntax problems noticed while parsing (unterminated quote, unbalanced `.if`).
    #[serde(default)]
    pub notes: Vec<ParseNote>,
}

/// A syntax problem with its location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseNote {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl ParseNote {
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

/// One section: `global`, `defaults [name]`, `frontend name`, ...
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Section {
    pub kind: String,
    pub name: Option<String>,
    /// Arguments of the section line after the name (e.g. `from defname`).
    #[serde(default)]
    pub args: Vec<String>,
    pub file: PathBuf,
    pub line: usize,
    /// The `.if` condition the section header sits under, if any.
    #[serde(default)]
    pub condition: Option<String>,
    pub directives: Vec<Directive>,
}

/// One statement: the first word and its arguments, unquoted and unescaped.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Directive {
    pub keyword: String,
    pub args: Vec<String>,
    pub file: PathBuf,
    pub line: usize,
    /// The enclosing `.if`/`.elif`/`.else` condition(s), joined with ` && `.
    #[serde(default)]
    pub condition: Option<String>,
    /// Environment variables referenced in double quotes (left unexpanded).
    #[serde(default)]
    pub env_vars: Vec<String>,
}

impl Directive {
    /// `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }

    /// The statement re-joined (words containing blanks are quoted).
    pub fn text(&self) -> String {
        let mut out = quote_word(&self.keyword);
        for a in &self.args {
            out.push(' ');
            out.push_str(&quote_word(a));
        }
        out
    }

    /// `file:line: text`, the form used as finding evidence.
    pub fn evidence(&self) -> String {
        let mut s = format!("{}: {}", self.location(), self.text());
        if let Some(c) = &self.condition {
            s.push_str(&format!("  (under .if {c})"));
        }
        s
    }

    /// True when the directive is `kw` or the multi-word `kw sub ...` (e.g. `"stats socket"`).
    pub fn is(&self, keyword: &str) -> bool {
        let mut words = keyword.split_whitespace();
        match words.next() {
            Some(first) if first == self.keyword => {}
            _ => return false,
        }
        words
            .enumerate()
            .all(|(i, w)| self.args.get(i).map(|a| a == w).unwrap_or(false))
    }

    /// The argument following `name` (e.g. `level` in a `stats socket` line).
    pub fn param(&self, name: &str) -> Option<&str> {
        let pos = self.args.iter().position(|a| a == name)?;
        self.args.get(pos + 1).map(String::as_str)
    }

    /// True when one of the arguments is exactly `word`.
    pub fn has_arg(&self, word: &str) -> bool {
        self.args.iter().any(|a| a == word)
    }
}

fn quote_word(w: &str) -> String {
    if w.is_empty() || w.chars().any(|c| c.is_whitespace() || c == '#' || c == '"') {
        format!("'{w}'")
    } else {
        w.to_string()
    }
}

impl Section {
    /// `file:line` of the section header.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }

    /// `frontend fe_main`, `global`, `defaults` ...
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{} {}", self.kind, n),
            None => self.kind.clone(),
        }
    }

    /// Directives whose keyword is `keyword`; a multi-word keyword such as
    /// `"stats socket"` or `"http-response set-header"` matches leading arguments.
    pub fn find<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a Directive> + 'a {
        self.directives.iter().filter(move |d| d.is(keyword))
    }

    /// The state this section sets for `option <name>`: `Some(true)` for
    /// `option name`, `Some(false)` for `no option name`, `None` when the
    /// section does not mention it or resets it with `default option name`.
    pub fn option_state(&self, name: &str) -> Option<bool> {
        let mut state = None;
        for d in &self.directives {
            match d.keyword.as_str() {
                "option" if d.args.first().map(String::as_str) == Some(name) => state = Some(true),
                "no" | "default"
                    if d.args.first().map(String::as_str) == Some("option")
                        && d.args.get(1).map(String::as_str) == Some(name) =>
                {
                    state = if d.keyword == "no" { Some(false) } else { None };
                }
                _ => {}
            }
        }
        state
    }

    /// True when this section enables `option <name>` (and does not disable it later).
    pub fn has_option(&self, name: &str) -> bool {
        self.option_state(name) == Some(true)
    }

    /// The last directive with this keyword (the one HAProxy keeps for single-valued settings).
    pub fn last<'a>(&'a self, keyword: &'a str) -> Option<&'a Directive> {
        self.find(keyword).last()
    }

    /// `from <defaults>` on a `defaults`/`frontend`/`backend`/`listen` line.
    pub fn from_defaults(&self) -> Option<&str> {
        let pos = self.args.iter().position(|a| a == "from")?;
        self.args.get(pos + 1).map(String::as_str)
    }

    pub fn is_proxy(&self) -> bool {
        matches!(self.kind.as_str(), "frontend" | "backend" | "listen")
    }
}

impl ConfigModel {
    /// The first `global` section (HAProxy merges them; most configs have one).
    pub fn global(&self) -> Option<&Section> {
        self.sections.iter().find(|s| s.kind == "global")
    }

    /// Every `global` section, in order.
    pub fn globals(&self) -> impl Iterator<Item = &Section> {
        self.sections_of("global")
    }

    pub fn sections_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.kind == kind)
    }

    /// frontend, backend and listen sections.
    pub fn proxies(&self) -> impl Iterator<Item = &Section> {
        self.sections.iter().filter(|s| s.is_proxy())
    }

    /// Directives of every `global` section matching `keyword` (see [`Section::find`]).
    pub fn global_find<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a Directive> + 'a {
        self.globals().flat_map(move |s| s.find(keyword))
    }

    /// The defaults chain a section inherits from, root first: the section named
    /// by `from <name>` or else the last `defaults` section before it (named or
    /// not), then that one's own `from`, and so on.
    pub fn defaults_chain(&self, section: &Section) -> Vec<&Section> {
        let Some(idx) = self.sections.iter().position(|s| std::ptr::eq(s, section)) else {
            return Vec::new();
        };
        let mut chain: Vec<&Section> = Vec::new();
        let mut cur_idx = idx;
        let mut cur = section;
        // Bounded: a defaults section can only appear once in a chain.
        for _ in 0..self.sections.len() {
            let next = match cur.from_defaults() {
                Some(name) => self.sections[..cur_idx]
                    .iter()
                    .enumerate()
                    .rev()
                    .find(|(_, s)| s.kind == "defaults" && s.name.as_deref() == Some(name)),
                None if cur.kind != "defaults" => self.sections[..cur_idx]
                    .iter()
                    .enumerate()
                    .rev()
                    .find(|(_, s)| s.kind == "defaults"),
                None => None,
            };
            match next {
                Some((i, s)) if !chain.iter().any(|c| std::ptr::eq(*c, s)) => {
                    chain.push(s);
                    cur_idx = i;
                    cur = s;
                }
                _ => break,
            }
        }
        chain.reverse();
        chain
    }

    /// The effective `option <name>` state of a proxy: its own setting, else
    /// the closest defaults section's setting.
    pub fn effective_option(&self, section: &Section, name: &str) -> Option<bool> {
        if let Some(s) = section.option_state(name) {
            return Some(s);
        }
        self.defaults_chain(section)
            .iter()
            .rev()
            .find_map(|d| d.option_state(name))
    }

    /// The last directive matching `keyword` in the section, else in its defaults chain.
    pub fn effective_last<'a>(
        &'a self,
        section: &'a Section,
        keyword: &'a str,
    ) -> Option<&'a Directive> {
        if let Some(d) = section.last(keyword) {
            return Some(d);
        }
        self.defaults_chain(section)
            .into_iter()
            .rev()
            .find_map(|d| d.last(keyword))
    }

    /// The proxy mode (`http`, `tcp`, ...); HAProxy's default is `tcp`.
    pub fn effective_mode(&self, section: &Section) -> String {
        self.effective_last(section, "mode")
            .and_then(|d| d.args.first().cloned())
            .unwrap_or_else(|| "tcp".to_string())
    }
}

/// A `stats socket` line of the global section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatsSocket {
    /// The address as written: `/run/haproxy/admin.sock`, `ipv4@127.0.0.1:9999`, `:9999`...
    pub address: String,
    /// `level` as written, `None` when absent (HAProxy then uses `operator`).
    pub level: Option<String>,
    pub location: String,
    pub condition: Option<String>,
}

/// HAProxy's level for a stats socket without a `level` keyword (configuration.txt, "level").
pub const DEFAULT_STATS_SOCKET_LEVEL: &str = "operator";

impl StatsSocket {
    /// The level HAProxy applies: the configured one, or `operator`.
    pub fn effective_level(&self) -> &str {
        self.level.as_deref().unwrap_or(DEFAULT_STATS_SOCKET_LEVEL)
    }

    /// True for UNIX/abstract/fd sockets (anything that is not a TCP address).
    pub fn is_unix(&self) -> bool {
        address_is_unix(&self.address)
    }
}

/// True when a bind/log address names a UNIX socket path (or abns/fd/sockpair).
pub fn address_is_unix(address: &str) -> bool {
    let a = address.trim();
    a.starts_with('/')
        || a.starts_with("./")
        || a.starts_with("unix@")
        || a.starts_with("uxst@")
        || a.starts_with("uxdg@")
        || a.starts_with("abns@")
        || a.starts_with("abnsz@")
        || a.starts_with("fd@")
        || a.starts_with("sockpair@")
}

/// Every `stats socket` line of the global section(s).
pub fn stats_sockets(model: &ConfigModel) -> Vec<StatsSocket> {
    model
        .global_find("stats socket")
        .filter_map(|d| {
            let address = d.args.get(1)?.clone();
            Some(StatsSocket {
                address,
                level: d.param("level").map(str::to_string),
                location: d.location(),
                condition: d.condition.clone(),
            })
        })
        .collect()
}

/// Every `log` directive in global, defaults and proxies, with its section label
/// (`global`, `defaults`, `frontend fe_main`). `no log` is not included.
pub fn log_lines(model: &ConfigModel) -> Vec<(String, Directive)> {
    model
        .sections
        .iter()
        .filter(|s| s.kind == "global" || s.kind == "defaults" || s.is_proxy())
        .flat_map(|s| {
            let label = s.label();
            s.find("log").map(move |d| (label.clone(), d.clone()))
        })
        .collect()
}

/// The global `chroot` directory and its location, if set.
pub fn chroot(model: &ConfigModel) -> Option<(String, String)> {
    model
        .global_find("chroot")
        .last()
        .and_then(|d| d.args.first().map(|a| (a.clone(), d.location())))
}

/// Loads files and directories (a directory's `*.cfg` files in lexical order, as
/// HAProxy does with `-f dir`) and parses them into one model.
pub fn load_config(paths: &[PathBuf]) -> Result<ConfigModel, ConfigError> {
    load_config_on(&Access::Local, paths)
}

/// [`load_config`] on a host: this machine's files or, over SSH, another
/// host's (named by their paths on that host).
pub fn load_config_on(access: &Access, paths: &[PathBuf]) -> Result<ConfigModel, ConfigError> {
    if paths.is_empty() {
        return Err(ConfigError::NoPath);
    }
    let mut files = Vec::new();
    for p in paths {
        let read_err = |source| ConfigError::Read {
            path: p.clone(),
            source,
        };
        let p_abs = require_absolute(access, p).map_err(read_err)?;
        match access.kind(&p_abs).map_err(read_err)? {
            Kind::Dir => {
                let entries = access.list(p).map_err(|source| ConfigError::ReadDir {
                    path: p.clone(),
                    source,
                })?;
                // Sorted by name, as haproxy sorts; only regular files
                // count (symlinks followed, like haproxy's stat()).
                files.extend(
                    entries
                        .into_iter()
                        .filter(|e| e.is_file && haproxy_takes_dir_entry(e.name.as_bytes()))
                        .map(|e| p.join(e.name)),
                );
            }
            Kind::File => files.push(p.clone()),
            Kind::Other => return Err(ConfigError::NotAFile { path: p.clone() }),
        }
    }
    let mut model = ConfigModel::default();
    for f in &files {
        let part = parse_config(&read_config_file_on(access, f)?, f);
        model.files.extend(part.files);
        model.sections.extend(part.sections);
        model.notes.extend(part.notes);
    }
    Ok(model)
}

/// Files read from `read` and named `name` (a replay's copy under its
/// original path), in order, as one configuration.
pub fn load_files<'a>(
    files: impl IntoIterator<Item = (&'a Path, &'a Path)>,
) -> Result<ConfigModel, ConfigError> {
    let mut model = ConfigModel::default();
    for (name, read) in files {
        let part = parse_config(&read_config_file(read)?, name);
        model.files.extend(part.files);
        model.sections.extend(part.sections);
        model.notes.extend(part.notes);
    }
    Ok(model)
}

/// Whether `haproxy -f dir` reads a directory entry of this name: names starting with
/// `.` are skipped, and the first `.cfg` in the name must end it
/// (`strstr(name, ".cfg")[4] == '\0'`), so `a.cfg.cfg` and `x.cfg.bak` are skipped.
fn haproxy_takes_dir_entry(name: &[u8]) -> bool {
    if name.first() == Some(&b'.') {
        return false;
    }
    name.windows(4)
        .position(|w| w == b".cfg")
        .is_some_and(|i| i + 4 == name.len())
}

/// Reads one file with the size and binary checks of [`load_config`].
pub fn read_config_file(path: &Path) -> Result<String, ConfigError> {
    read_config_file_on(&Access::Local, path)
}

fn read_config_file_on(access: &Access, path: &Path) -> Result<String, ConfigError> {
    // At most one byte more than the limit, so a growing file cannot bypass it.
    let bytes = access
        .read(path, MAX_CONFIG_FILE_SIZE)
        .map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_CONFIG_FILE_SIZE {
        let size = match access {
            Access::Local => fs::metadata(path)
                .map(|m| m.len())
                .unwrap_or(bytes.len() as u64),
            // Not asked of the host: "more than the limit" is what is known.
            Access::Ssh { .. } => bytes.len() as u64,
        };
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_CONFIG_FILE_SIZE,
        });
    }
    if bytes.contains(&0) {
        return Err(ConfigError::Binary {
            path: path.to_path_buf(),
        });
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// One tokenized line.
struct Tokens {
    words: Vec<String>,
    env_vars: Vec<String>,
    /// Byte offset of the start of each word in the line.
    starts: Vec<usize>,
    /// Byte offset just past the end of each word.
    ends: Vec<usize>,
    /// Byte offset where the comment starts (or the line length).
    end: usize,
    unterminated: Option<char>,
    /// Other syntax errors HAProxy rejects (invalid `\x` escape, unmatched `${` brace).
    errors: Vec<String>,
}

/// The byte ranges of a line's words as written (quotes and escapes kept), and
/// where its comment starts (the line length when it has none). Word `i` is the
/// raw text of the keyword (`i == 0`) or of argument `i - 1` of the directive
/// parsed from that line, so a rewriter can change one word and keep the rest.
pub fn word_spans(line: &str) -> (Vec<std::ops::Range<usize>>, usize) {
    let t = tokenize(line);
    let spans = t.starts.iter().zip(&t.ends).map(|(&s, &e)| s..e).collect();
    (spans, t.end)
}

fn tokenize(line: &str) -> Tokens {
    let mut words = Vec::new();
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    let mut env_vars: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut end = line.len();
    let mut errors = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some('\'') => {
                if c == '\'' {
                    quote = None;
                } else {
                    cur.push(c);
                }
            }
            Some(_) => match c {
                '"' => quote = None,
                '\\' => push_escape(&mut cur, &mut chars, true, &mut errors),
                '$' => {
                    cur.push('$');
                    if let Some(name) = read_env_name(&mut chars, &mut cur, &mut errors) {
                        if !env_vars.contains(&name) {
                            env_vars.push(name);
                        }
                    }
                }
                _ => cur.push(c),
            },
            None => match c {
                ' ' | '\t' | '\r' | '\n' => {
                    if in_word {
                        words.push(std::mem::take(&mut cur));
                        ends.push(i);
                        in_word = false;
                    }
                }
                '#' => {
                    end = i;
                    break;
                }
                _ => {
                    if !in_word {
                        in_word = true;
                        starts.push(i);
                    }
                    match c {
                        '"' => quote = Some('"'),
                        '\'' => quote = Some('\''),
                        '\\' => push_escape(&mut cur, &mut chars, false, &mut errors),
                        _ => cur.push(c),
                    }
                }
            },
        }
    }
    if in_word {
        words.push(cur);
        ends.push(end);
    }
    Tokens {
        words,
        env_vars,
        starts,
        ends,
        end,
        unterminated: quote,
        errors,
    }
}

/// Handles the character(s) after a backslash outside single quotes, as HAProxy's
/// `parse_line()` does: only `\ `, `\\`, `\#`, `\'`, `\"`, `\t`, `\n`, `\r`, `\xNN` and (inside
/// double quotes) `\$` are unescaped; any other combination (`\1`, `\d`, `\.`) is kept
/// unchanged, backslash included. An invalid `\x` sequence is an error for HAProxy.
fn push_escape(
    cur: &mut String,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    in_dquote: bool,
    errors: &mut Vec<String>,
) {
    match chars.peek().map(|&(_, c)| c) {
        None => cur.push('\\'),
        Some(c @ (' ' | '\\' | '#' | '\'' | '"')) => {
            chars.next();
            cur.push(c);
        }
        Some('$') if in_dquote => {
            chars.next();
            cur.push('$');
        }
        Some(c @ ('n' | 'r' | 't')) => {
            chars.next();
            cur.push(match c {
                'n' => '\n',
                'r' => '\r',
                _ => '\t',
            });
        }
        Some('x') => {
            chars.next();
            let mut hex = String::new();
            for _ in 0..2 {
                match chars.peek() {
                    Some((_, h)) if h.is_ascii_hexdigit() => {
                        hex.push(*h);
                        chars.next();
                    }
                    _ => break,
                }
            }
            match u8::from_str_radix(&hex, 16) {
                Ok(b) if hex.len() == 2 => cur.push(char::from(b)),
                _ => {
                    errors.push(format!(
                        "truncated or invalid hexadecimal sequence '\\x{hex}'"
                    ));
                    cur.push_str("\\x");
                    cur.push_str(&hex);
                }
            }
        }
        // Any other character is left for the caller: the backslash is kept as is.
        Some(_) => cur.push('\\'),
    }
}

/// Reads `{NAME...}` or `NAME` after a `$` (already pushed), copying it into `cur`.
/// A `${NAME` not followed by `}` (or by a `-default` value closed by `}`) is HAProxy's
/// "unmatched brace" error: it is recorded and nothing past the name is consumed, so a
/// closing quote is not eaten.
fn read_env_name(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    cur: &mut String,
    errors: &mut Vec<String>,
) -> Option<String> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    match chars.peek() {
        Some((_, '{')) => {
            chars.next();
            cur.push('{');
            let mut name = String::new();
            while let Some(&(_, c)) = chars.peek() {
                if !is_name_char(c) {
                    break;
                }
                name.push(c);
                cur.push(c);
                chars.next();
            }
            let mut closed = false;
            match chars.peek() {
                Some((_, '}')) => {
                    chars.next();
                    cur.push('}');
                    closed = true;
                }
                // A default value runs to the closing brace, as in HAProxy.
                Some((_, '-')) => {
                    for (_, c) in chars.by_ref() {
                        cur.push(c);
                        if c == '}' {
                            closed = true;
                            break;
                        }
                    }
                }
                _ => {}
            }
            if !closed {
                errors.push(format!(
                    "unmatched brace in environment variable name '${{{name}'"
                ));
            }
            (!name.is_empty()).then_some(name)
        }
        Some((_, c)) if c.is_ascii_alphabetic() || *c == '_' || *c == '.' => {
            let mut name = String::new();
            while let Some((_, c)) = chars.peek() {
                if is_name_char(*c) {
                    name.push(*c);
                    cur.push(*c);
                    chars.next();
                } else {
                    break;
                }
            }
            Some(name)
        }
        _ => None,
    }
}

/// HAProxy's limit on `.if` nesting (`MAXNESTEDCONDS` in 2.6: "too many nested '.if'").
pub const MAX_NESTED_CONDS: usize = 100;

/// Longest composed condition stored on a directive; longer ones (a long `.elif`
/// chain, deep nesting) are cut at a character boundary and end with `…`. The text is
/// informational (shown in findings), so this only bounds memory per directive.
pub const MAX_CONDITION_LEN: usize = 512;

/// One level of `.if` nesting.
struct CondFrame {
    /// Raw conditions of the branches already seen at this level (`.if`, `.elif`...).
    previous: Vec<String>,
    /// Raw condition of the branch being read; `None` after `.else`.
    current: Option<String>,
}

/// The condition under which a line at the current nesting holds: for each level,
/// `!(c0) && … && !(cN-1) && cN`, the levels joined by ` && `, capped at
/// [`MAX_CONDITION_LEN`]. Built from the raw branch conditions, so a branch never
/// nests the composed text of an earlier one.
fn current_condition(stack: &[CondFrame]) -> Option<String> {
    if stack.is_empty() {
        return None;
    }
    let mut out = String::new();
    let parts = stack.iter().flat_map(|f| {
        f.previous
            .iter()
            .map(|p| (true, p.as_str()))
            .chain(f.current.as_deref().map(|c| (false, c)))
    });
    for (negated, c) in parts {
        if !out.is_empty() {
            out.push_str(" && ");
        }
        if negated {
            out.push_str("!(");
            out.push_str(c);
            out.push(')');
        } else {
            out.push_str(c);
        }
        if out.len() > MAX_CONDITION_LEN {
            let mut cut = MAX_CONDITION_LEN;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    Some(out)
}

/// Parses one file's text. Never fails: unknown directives are kept, syntax
/// problems are recorded in [`ConfigModel::notes`].
pub fn parse_config(text: &str, file: &Path) -> ConfigModel {
    let mut model = ConfigModel {
        files: vec![file.to_path_buf()],
        ..Default::default()
    };
    let mut current: Option<Section> = None;
    let mut stack: Vec<CondFrame> = Vec::new();
    // `.if` levels beyond MAX_NESTED_CONDS (noted, not tracked) and the cached
    // condition of the current nesting (recomputed only after a change).
    let mut ignored_ifs = 0usize;
    let mut cached_condition: Option<Option<String>> = None;
    let note = |line: usize, message: String| ParseNote {
        file: file.to_path_buf(),
        line,
        message,
    };

    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let t = tokenize(raw);
        if let Some(q) = t.unterminated {
            model
                .notes
                .push(note(lineno, format!("unterminated {q} quote")));
        }
        for e in &t.errors {
            model.notes.push(note(lineno, e.clone()));
        }
        let Some(keyword) = t.words.first() else {
            continue;
        };
        let cond_text = || {
            let start = t.starts.get(1).copied().unwrap_or(t.end).min(t.end);
            raw.get(start..t.end).unwrap_or("").trim().to_string()
        };
        match keyword.as_str() {
            ".if" => {
                cached_condition = None;
                if stack.len() >= MAX_NESTED_CONDS || ignored_ifs > 0 {
                    if ignored_ifs == 0 {
                        model.notes.push(note(
                            lineno,
                            format!("too many nested '.if', max is {MAX_NESTED_CONDS}"),
                        ));
                    }
                    ignored_ifs += 1;
                    continue;
                }
                stack.push(CondFrame {
                    previous: Vec::new(),
                    current: Some(cond_text()),
                });
                continue;
            }
            ".elif" | ".else" => {
                cached_condition = None;
                if ignored_ifs > 0 {
                    continue;
                }
                match stack.last_mut() {
                    Some(frame) => match frame.current.take() {
                        Some(done) => {
                            frame.previous.push(done);
                            if keyword == ".elif" {
                                frame.current = Some(cond_text());
                            }
                        }
                        None => model.notes.push(note(
                            lineno,
                            format!("'{keyword}' after '.else' is not permitted"),
                        )),
                    },
                    None => model.notes.push(note(
                        lineno,
                        format!("'{keyword}' without a matching '.if'"),
                    )),
                }
                continue;
            }
            ".endif" => {
                cached_condition = None;
                if ignored_ifs > 0 {
                    ignored_ifs -= 1;
                } else if stack.pop().is_none() {
                    model.notes.push(note(
                        lineno,
                        "'.endif' without a matching '.if'".to_string(),
                    ));
                }
                continue;
            }
            _ => {}
        }
        let condition = cached_condition
            .get_or_insert_with(|| current_condition(&stack))
            .clone();
        if SECTION_KEYWORDS.contains(&keyword.as_str()) {
            if let Some(s) = current.take() {
                model.sections.push(s);
            }
            let mut rest = t.words[1..].to_vec();
            let name = match keyword.as_str() {
                "global" => None,
                "defaults" if rest.first().map(String::as_str) == Some("from") => None,
                _ if rest.is_empty() => None,
                _ => Some(rest.remove(0)),
            };
            current = Some(Section {
                kind: keyword.clone(),
                name,
                args: rest,
                file: file.to_path_buf(),
                line: lineno,
                condition,
                directives: Vec::new(),
            });
            continue;
        }
        let directive = Directive {
            keyword: keyword.clone(),
            args: t.words[1..].to_vec(),
            file: file.to_path_buf(),
            line: lineno,
            condition,
            env_vars: t.env_vars,
        };
        current
            .get_or_insert_with(|| Section {
                kind: IMPLICIT_SECTION.to_string(),
                name: None,
                args: Vec::new(),
                file: file.to_path_buf(),
                line: lineno,
                condition: None,
                directives: Vec::new(),
            })
            .directives
            .push(directive);
    }
    if let Some(s) = current.take() {
        model.sections.push(s);
    }
    if !stack.is_empty() || ignored_ifs > 0 {
        let line = text.lines().count();
        model.notes.push(note(
            line,
            format!(
                "{} '.if' block(s) not closed by '.endif' at end of file",
                stack.len() + ignored_ifs
            ),
        ));
    }
    model
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ConfigModel {
        parse_config(text, Path::new("t.cfg"))
    }

    #[test]
    fn sections_directives_and_locations() {
        let m = parse(
            "# top comment\nglobal\n  log /dev/log local0 # trailing\n  stats socket /run/haproxy/admin.sock mode 660 level admin\n\ndefaults web from base\n  mode http\nfrontend fe\n  bind :80\nbackend bk from web\n  server s1 1.2.3.4:80 check\n",
        );
        let kinds: Vec<_> = m.sections.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["global", "defaults", "frontend", "backend"]);
        let g = m.global().unwrap();
        let log = g.find("log").next().unwrap();
        assert_eq!(log.args, ["/dev/log", "local0"]);
        assert_eq!(log.location(), "t.cfg:3");
        let d = &m.sections[1];
        assert_eq!(d.name.as_deref(), Some("web"));
        assert_eq!(d.from_defaults(), Some("base"));
        let bk = &m.sections[3];
        assert_eq!(bk.label(), "backend bk");
        assert_eq!(bk.from_defaults(), Some("web"));
        assert_eq!(m.proxies().count(), 2);
        let socks = stats_sockets(&m);
        assert_eq!(socks.len(), 1);
        assert_eq!(socks[0].address, "/run/haproxy/admin.sock");
        assert_eq!(socks[0].level.as_deref(), Some("admin"));
        assert!(socks[0].is_unix());
    }

    #[test]
    fn word_spans_match_the_parsed_words() {
        let line = "  server \"a b\" x\\ y 'q#' # comment";
        let (spans, comment) = word_spans(line);
        let raw: Vec<&str> = spans.iter().map(|r| &line[r.clone()]).collect();
        assert_eq!(raw, ["server", "\"a b\"", "x\\ y", "'q#'"]);
        assert_eq!(&line[comment..], "# comment");
        let m = parse(line);
        assert_eq!(m.sections[0].directives[0].args.len() + 1, spans.len());
        let (spans, comment) = word_spans("a#b");
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].start, spans[0].end), (0, 1));
        assert_eq!(comment, 1);
    }

    #[test]
    fn quoting_escapes_and_env() {
        let m = parse(
            "global\n  a \"x y\" 'p q' r\\ s \\# \"#\" '$HOME' \"${FOO-1}:514\" \"$BAR\" $BAZ\n  b \"\\x41\\t\" # c\n",
        );
        let d = &m.sections[0].directives[0];
        assert_eq!(
            d.args,
            [
                "x y",
                "p q",
                "r s",
                "#",
                "#",
                "$HOME",
                "${FOO-1}:514",
                "$BAR",
                "$BAZ"
            ]
        );
        // Only double-quoted variables are expanded by HAProxy.
        assert_eq!(d.env_vars, ["FOO", "BAR"]);
        assert_eq!(m.sections[0].directives[1].args, ["A\t"]);
        assert!(m.notes.is_empty());
    }

    #[test]
    fn unknown_escapes_keep_their_backslash() {
        // Checked against haproxy 2.6 `.notice`: `a\db\.c\1\$x` prints unchanged, and
        // `"a\$x \d \1 \"q\" \'s\' \\ \# \x41"` prints `a$x \d \1 "q" 's' \ # A`.
        let m = parse(
            "frontend fe\n  http-request set-path /x\\1 if { path_reg ^/api/(\\d+)$ }\n  .notice a\\db\\.c\\1\\$x\n  .notice \"a\\$x \\d \\1 \\\"q\\\" \\'s\\' \\\\ \\# \\x41\"\n  .notice a\\ b\\#c\\x41\\\"\\'\n",
        );
        let d = &m.sections[0].directives;
        assert_eq!(
            d[0].args,
            [
                "set-path",
                "/x\\1",
                "if",
                "{",
                "path_reg",
                "^/api/(\\d+)$",
                "}"
            ]
        );
        assert_eq!(d[1].args, ["a\\db\\.c\\1\\$x"]);
        assert_eq!(d[2].args, ["a$x \\d \\1 \"q\" 's' \\ # A"]);
        // `\$` inside double quotes is not an environment variable.
        assert!(d[2].env_vars.is_empty());
        assert_eq!(d[3].args, ["a b#cA\"'"]);
        assert!(m.notes.is_empty(), "{:?}", m.notes);
    }

    #[test]
    fn invalid_hex_escape_and_unmatched_env_brace_are_noted() {
        let m = parse("global\n  a b\\xZZ\n  log \"${FOO\" local0\n  c \"${BAR-x y}\"\n");
        let d = &m.sections[0].directives;
        assert_eq!(m.notes.len(), 2, "{:?}", m.notes);
        assert_eq!(m.notes[0].location(), "t.cfg:2");
        assert!(m.notes[0].message.contains("hexadecimal"));
        assert_eq!(m.notes[1].location(), "t.cfg:3");
        assert!(m.notes[1].message.contains("unmatched brace"));
        // The closing quote is not eaten: `local0` is still its own word.
        assert_eq!(d[1].args, ["${FOO", "local0"]);
        assert_eq!(d[1].env_vars, ["FOO"]);
        assert_eq!(d[2].args, ["${BAR-x y}"]);
    }

    #[test]
    fn unterminated_quote_is_noted() {
        let m = parse("global\n  log \"/dev/log local0\n");
        assert_eq!(m.notes.len(), 1);
        assert_eq!(m.notes[0].location(), "t.cfg:2");
        assert_eq!(m.sections[0].directives.len(), 1);
    }

    #[test]
    fn conditional_blocks_are_recorded() {
        let m = parse(
            "global\n.if version_before(2.5) # old\n  nbproc 2\n.elif defined(X)\n  nbthread 4\n  .if feature(OPENSSL)\n    ssl-server-verify none\n  .endif\n.else\n  nbthread 2\n.endif\n  maxconn 10\n.notice \"hello\"\n",
        );
        let g = &m.sections[0];
        let c = |kw: &str| g.find(kw).next().unwrap().condition.clone();
        assert_eq!(c("nbproc").as_deref(), Some("version_before(2.5)"));
        assert_eq!(
            c("nbthread").as_deref(),
            Some("!(version_before(2.5)) && defined(X)")
        );
        assert_eq!(
            c("ssl-server-verify").as_deref(),
            Some("!(version_before(2.5)) && defined(X) && feature(OPENSSL)")
        );
        assert_eq!(
            g.find("nbthread").nth(1).unwrap().condition.as_deref(),
            Some("!(version_before(2.5)) && !(defined(X))")
        );
        assert_eq!(c("maxconn"), None);
        assert_eq!(g.find(".notice").next().unwrap().args, ["hello"]);
        assert!(m.notes.is_empty());
    }

    #[test]
    fn long_elif_chain_does_not_double_the_condition() {
        // Each `.elif` used to nest the composed text of the previous branch: ~8·2^N bytes.
        let mut text = String::from("global\n.if c0\n  a0\n");
        for i in 1..=40 {
            text.push_str(&format!(
                ".elif c{i} # c{i} alone would not reach the cap\n  a{i}\n"
            ));
        }
        text.push_str(".else\n  z\n.endif\n.if x\n.else\n.elif y\n.endif\n");
        // The exact length of the last branch's condition is the proof: linear,
        // not doubled per branch (no clock needed).
        let m = parse(&text);
        let g = &m.sections[0];
        let c = |kw: &str| g.find(kw).next().unwrap().condition.clone().unwrap();
        assert_eq!(c("a0"), "c0");
        assert_eq!(c("a2"), "!(c0) && !(c1) && c2");
        assert_eq!(
            c("a40").len(),
            "!(cN) && ".len() * 10 + 30 * "!(cNN) && ".len() + 3
        );
        for d in &g.directives {
            let len = d.condition.as_ref().unwrap().len();
            assert!(len <= MAX_CONDITION_LEN + '…'.len_utf8(), "{len}");
        }
        assert!(c("z").starts_with("!(c0) && !(c1) && !(c2)"));
        // Deep nesting under the long chain reaches the cap and is cut.
        text = text.replace(
            "  z\n",
            &format!(
                "{}  deep\n{}",
                ".if defined(SOME_LONG_NAME)\n".repeat(30),
                ".endif\n".repeat(30)
            ),
        );
        let m2 = parse(&text);
        let deep = m2.sections[0].find("deep").next().unwrap();
        let deep = deep.condition.as_deref().unwrap();
        assert!(
            deep.ends_with('…') && deep.len() == MAX_CONDITION_LEN + '…'.len_utf8(),
            "{deep}"
        );
        assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
        assert!(m.notes[0].message.contains("after '.else'"));
    }

    #[test]
    fn nesting_beyond_haproxy_limit_is_noted() {
        let n = MAX_NESTED_CONDS + 5;
        let text = format!(
            "global\n{}  deep\n{}  top\n",
            ".if 1\n".repeat(n),
            ".endif\n".repeat(n)
        );
        let m = parse(&text);
        assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
        assert!(m.notes[0].message.contains("too many nested"));
        let g = &m.sections[0];
        assert!(g.find("deep").next().unwrap().condition.is_some());
        assert_eq!(g.find("top").next().unwrap().condition, None);
    }

    #[test]
    fn unbalanced_conditionals_and_implicit_section() {
        let m = parse("maxconn 10\n.endif\nglobal\n.if 1\n  daemon\n");
        assert_eq!(m.sections[0].kind, IMPLICIT_SECTION);
        assert_eq!(m.notes.len(), 2);
    }

    #[test]
    fn options_and_defaults_inheritance() {
        let m = parse(
            "defaults base\n  mode http\n  option http-server-close\ndefaults web from base\n  timeout client 1s\ndefaults other\n  mode tcp\nbackend a from web\n  server s 1.1.1.1:80\nbackend b\n  no option http-server-close\nbackend c\n  option http-server-close\n  default option http-server-close\n",
        );
        let a = m.proxies().next().unwrap();
        let chain: Vec<_> = m
            .defaults_chain(a)
            .iter()
            .map(|s| s.name.clone().unwrap())
            .collect();
        assert_eq!(chain, ["base", "web"]);
        assert_eq!(m.effective_mode(a), "http");
        assert_eq!(m.effective_option(a, "http-server-close"), Some(true));
        let b = m.proxies().nth(1).unwrap();
        assert_eq!(m.effective_mode(b), "tcp");
        assert!(!b.has_option("http-server-close"));
        assert_eq!(b.option_state("http-server-close"), Some(false));
        let c = m.proxies().nth(2).unwrap();
        assert_eq!(c.option_state("http-server-close"), None);
    }

    #[test]
    fn helpers_log_chroot_levels() {
        let m = parse(
            "global\n  chroot /var/lib/haproxy\n  log /dev/log local0\n  stats socket ipv4@127.0.0.1:9999\ndefaults\n  log global\nfrontend f\n  log 127.0.0.1 local1\n",
        );
        assert_eq!(
            chroot(&m),
            Some(("/var/lib/haproxy".to_string(), "t.cfg:2".to_string()))
        );
        let logs = log_lines(&m);
        let labels: Vec<_> = logs.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["global", "defaults", "frontend f"]);
        let s = &stats_sockets(&m)[0];
        assert_eq!(s.level, None);
        assert_eq!(s.effective_level(), "operator");
        assert!(!s.is_unix());
    }

    #[test]
    fn load_directory_in_lexical_order_and_bad_inputs() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("b.cfg"), "backend b\n").unwrap();
        fs::write(dir.path().join("a.cfg"), "global\n").unwrap();
        fs::write(dir.path().join("c.txt"), "frontend ignored\n").unwrap();
        fs::create_dir(dir.path().join("sub.cfg")).unwrap();
        // Skipped by HAProxy: hidden names, and names whose first `.cfg` does not end them.
        fs::write(dir.path().join(".old.cfg"), "frontend hidden\n").unwrap();
        fs::write(dir.path().join("a.cfg.cfg"), "frontend doubled\n").unwrap();
        fs::write(dir.path().join("x.cfg.bak"), "frontend backup\n").unwrap();
        let m = load_config(&[dir.path().to_path_buf()]).unwrap();
        let kinds: Vec<_> = m.sections.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["global", "backend"]);

        let bin = dir.path().join("bin.cfg");
        fs::write(&bin, b"global\n\0\x01\x02").unwrap();
        let e = load_config(std::slice::from_ref(&bin)).unwrap_err();
        assert!(matches!(e, ConfigError::Binary { .. }));
        assert!(e.to_string().contains("bin.cfg"), "{e}");

        let missing = dir.path().join("missing.cfg");
        let e = load_config(&[missing]).unwrap_err();
        assert!(e.to_string().contains("missing.cfg"), "{e}");

        let big = dir.path().join("big.cfg");
        let f = fs::File::create(&big).unwrap();
        f.set_len(MAX_CONFIG_FILE_SIZE + 10).unwrap();
        let e = load_config(&[big]).unwrap_err();
        assert!(matches!(e, ConfigError::TooLarge { .. }), "{e}");
        assert!(load_config(&[]).is_err());
    }

    #[test]
    fn ten_megabyte_config_parses() {
        let mut text = String::from("global\n  maxconn 100\n");
        let mut i = 0;
        while text.len() < 10 * 1024 * 1024 {
            text.push_str(&format!(
                "backend b{i}\n  balance roundrobin\n  server s{i} 10.0.0.1:80 check \"weird # arg\"\n  http-response set-header X-B b{i}\n"
            ));
            i += 1;
        }
        // Also a pathological single line with no newline and unbalanced quote.
        text.push_str(&"\"x".repeat(1000));
        let start = std::time::Instant::now();
        let m = parse(&text);
        assert!(m.sections.len() > 1000);
        // Generous bound (debug build, noisy CI): only catches accidental quadratic behaviour.
        assert!(start.elapsed() < std::time::Duration::from_secs(30));
    }
}
