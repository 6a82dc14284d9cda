//! Rewriting a user's configuration so the lab can start it on this machine.
//!
//! [`rewrite`] is a pure function of the parsed model, the files' text and
//! what the lab provides ([`Resources`]: ports, responders, which files can be
//! read). Every listening address moves to loopback, every server to one of
//! harun's responders, every path the process writes to the lab's directory;
//! what needs privileges, files that are not there or other machines is
//! removed or replaced by a stand-in. Nothing in the result reaches a
//! production address: peers, mailers, name servers, log and ring targets
//! move to loopback, and what could open connections of its own is not run
//! (Lua scripts unless [`Options::keep_lua`], SPOE agents, external checks,
//! transparent proxying, OCSP updates).
//!
//! Each file keeps its line numbers (a removed line becomes a comment,
//! additions go to a last file of their own), so `haproxy -c` messages and
//! findings about the lab's copy name the same `file:line` as the original.

mod files;
mod line;
mod servers;

pub use servers::{servers, ServerInfo};

use crate::config::model::{ConfigModel, Directive, Section};
use line::LineEdit;
use serde::Serialize;
use servers::{bind_options, first_option, server_options, template_range, Opt};
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// What the lab provides to a rewrite.
pub trait Resources {
    /// The lab's directory: sockets, pid, state and stand-in files go there.
    fn dir(&self) -> &Path;
    /// A free TCP port on 127.0.0.1 (a bind, a TCP stats socket, a peer).
    fn tcp_port(&mut self) -> Result<u16, String>;
    /// A free UDP port on 127.0.0.1 (a log-forward `dgram-bind`).
    fn udp_port(&mut self) -> Result<u16, String>;
    /// The responder that stands in for `backend/server`, and what it does
    /// (`healthy`, `DOWN: refuses connections`, ...).
    fn server(&mut self, backend: &str, server: &str) -> Result<(SocketAddr, String), String>;
    /// A loopback address where nothing listens (mailers, rings, dispatch).
    fn refusing(&mut self) -> Result<SocketAddr, String>;
    /// Where `log` lines go, and how to say so (`into the lab's haproxy.log`).
    fn log_target(&mut self) -> Result<(String, String), String>;
    /// The lab's DNS server (nothing answers: no name is left to resolve).
    fn nameserver(&mut self) -> Result<SocketAddr, String>;
    /// Whether haproxy, run as this user, can read the file (for a directory:
    /// every file in it).
    fn readable(&self, path: &Path) -> bool;
    /// The text of a list file the configuration names (a `crt-list`), when
    /// this user can read it: the files it names must be readable too.
    fn read_list(&self, _path: &Path) -> Option<String> {
        None
    }
    /// The directory relative paths are read from (haproxy runs there).
    fn cwd(&self) -> PathBuf;
    /// The hard limit on open files: HAProxy refuses to start when its
    /// `maxconn` needs more.
    fn fd_limit(&self) -> Option<u64>;
    /// The value of an environment variable haproxy would see (addresses
    /// such as `"${RUN_DIR}/admin.sock"` are classified by it).
    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// What the user chose for a rewrite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Run production's Lua scripts (`lua-load`): they can connect anywhere
    /// (`core.tcp`, `core.httpclient`, tasks), so they are dropped unless
    /// asked for. A configuration that uses their actions, services or
    /// fetches needs them to start.
    pub keep_lua: bool,
}

/// Why a `lua-load` line is not run (the rewrite says it, and a rejected
/// configuration points at `--keep-lua`).
pub const LUA_DROPPED: &str = "production's Lua can connect anywhere (core.tcp, httpclient, tasks): not run in the lab unless asked for with --keep-lua";

/// What kind of change a [`Rewrite`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RewriteKind {
    Changed,
    Removed,
    Added,
    /// Nothing changed, but the rehearsal differs from production here.
    Note,
}

/// One change made to the configuration, with where and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rewrite {
    /// `file:line` in the user's configuration (the additions file for `added`).
    pub location: String,
    /// `global`, `frontend fe_main`, ...
    pub section: String,
    pub kind: RewriteKind,
    /// What the configuration says.
    pub from: String,
    /// What the lab uses instead (empty when removed).
    pub to: String,
    pub why: String,
}

impl fmt::Display for Rewrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: ", self.location, self.section)?;
        match self.kind {
            RewriteKind::Changed => write!(f, "{} -> {}", self.from, self.to)?,
            RewriteKind::Removed => write!(f, "removed `{}`", self.from)?,
            RewriteKind::Added => write!(f, "added `{}`", self.to)?,
            RewriteKind::Note => write!(f, "{}", self.from)?,
        }
        write!(f, " ({})", self.why)
    }
}

/// One file of the lab's copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewrittenFile {
    /// The user's file (empty for the additions file).
    pub original: PathBuf,
    /// Where the lab writes it.
    pub path: PathBuf,
    pub text: String,
}

/// A file the lab writes because the configuration names one that is not there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandIn {
    pub path: PathBuf,
    pub contents: String,
}

/// Where a `bind` line of the configuration listens in the lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BindMap {
    /// `frontend fe_main`, `listen stats`, `peers lbs` ...
    pub section: String,
    pub location: String,
    /// The address as the configuration writes it.
    pub original: String,
    /// The lab's address (`127.0.0.1:PORT` or a path).
    pub address: String,
    /// For TCP binds, the address to connect to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<SocketAddr>,
}

/// The lab's copy of a configuration and everything needed to start it.
#[derive(Clone, Debug)]
pub struct Rewritten {
    /// The user's files, rewritten, in load order.
    pub files: Vec<RewrittenFile>,
    /// A first file with what must come before the user's sections
    /// (`localpeer`), if anything.
    pub prelude: Option<RewrittenFile>,
    /// A last file with what the lab adds (an admin socket), if anything.
    pub additions: Option<RewrittenFile>,
    pub rewrites: Vec<Rewrite>,
    pub standins: Vec<StandIn>,
    pub binds: Vec<BindMap>,
    pub servers: Vec<ServerInfo>,
    /// The admin-level UNIX socket harun talks to.
    pub admin_socket: PathBuf,
    /// Template slots share one address in the file; the lab gives each its
    /// own responder at start (`set server B/S addr A port P`).
    pub template_addrs: Vec<(String, String, SocketAddr)>,
    /// Servers that point at a listener of the same configuration (kept
    /// linked, no responder).
    pub internal: Vec<String>,
}

impl Rewritten {
    /// The files to pass to `haproxy -f`, in order.
    pub fn config_paths(&self) -> Vec<PathBuf> {
        self.prelude
            .iter()
            .chain(&self.files)
            .chain(self.additions.iter())
            .map(|f| f.path.clone())
            .collect()
    }

    /// The copy as `haproxy -c` runs it, with the user's file behind each
    /// lab file (line numbers are the same).
    pub fn copy(&self) -> crate::config::ConfigCopy {
        crate::config::ConfigCopy {
            run: self.config_paths(),
            originals: self
                .files
                .iter()
                .map(|f| (f.path.clone(), f.original.clone()))
                .collect(),
        }
    }
}

/// A configuration the lab cannot rewrite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewriteError {
    pub location: Option<String>,
    pub message: String,
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(l) => write!(f, "{l}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for RewriteError {}

/// The name of the file holding the lab's additions.
pub const ADDITIONS_FILE: &str = "harun-lab-additions.cfg";

/// The name of the file read before the user's (`localpeer`).
pub const PRELUDE_FILE: &str = "harun-lab-prelude.cfg";

/// The self-signed certificate (and its key) that stands in for certificates
/// the lab cannot read. Generated once for `localhost`, `harun-lab` and
/// 127.0.0.1, valid until 2126; its key is public, so it only ever serves
/// loopback.
pub const LAB_CERTIFICATE: &str = include_str!("lab-cert.pem");

/// Rewrite `model` (parsed from `sources`, the same files in the same order)
/// for the lab. See the module documentation.
pub fn rewrite(
    model: &ConfigModel,
    sources: &[(PathBuf, String)],
    res: &mut dyn Resources,
    options: Options,
) -> Result<Rewritten, RewriteError> {
    if let Some(n) = model.notes.first() {
        return Err(RewriteError {
            location: Some(n.location()),
            message: n.message.clone(),
        });
    }
    for s in &model.sections {
        if s.kind == crate::config::model::IMPLICIT_SECTION {
            let d = s.directives.first();
            return Err(RewriteError {
                location: Some(d.map(Directive::location).unwrap_or_else(|| s.location())),
                message: format!(
                    "`{}` is outside any section (a misspelt section keyword? sections are {})",
                    d.map(|d| d.keyword.as_str()).unwrap_or(""),
                    crate::config::model::SECTION_KEYWORDS[..9].join(", ")
                ),
            });
        }
    }
    let all_servers = servers(model);
    let checked = all_servers.iter().filter(|s| s.checked).count() as u64;
    if let Some(limit) = res.fd_limit() {
        // HAProxy keeps a descriptor per checked server, on top of two per
        // connection: past the limit it refuses to start.
        if checked + FD_RESERVE / 4 > limit {
            return Err(RewriteError {
                location: None,
                message: format!(
                    "{checked} servers with health checks need more open files than this machine allows ({limit}): raise the hard limit (`ulimit -Hn`) to run this configuration in the lab"
                ),
            });
        }
    }
    let mut rw = Rewriter::new(model, sources, res)?;
    rw.options = options;
    rw.checked = checked;
    rw.servers = all_servers;
    rw.allocate_binds()?;
    for s in &model.sections {
        rw.section(s)?;
    }
    rw.finish()
}

/// A bind's lab address, decided before the sections are walked so servers
/// that point at a listener of the same configuration can follow it.
#[derive(Clone, Debug)]
struct NewBind {
    text: String,
    tcp: Option<SocketAddr>,
    owner: String,
}

struct Rewriter<'a> {
    model: &'a ConfigModel,
    res: &'a mut dyn Resources,
    /// Original lines per file, and the replaced ones.
    lines: Vec<Vec<&'a str>>,
    out: Vec<Vec<Option<String>>>,
    index: HashMap<&'a Path, usize>,
    rewrites: Vec<Rewrite>,
    standins: Vec<StandIn>,
    standin_for: HashMap<String, PathBuf>,
    binds: HashMap<(PathBuf, usize), NewBind>,
    bind_maps: Vec<BindMap>,
    /// Listener keys (`unix:/path`, `abns@x`, `tcp:PORT`) to their new bind.
    links: HashMap<String, NewBind>,
    admin_socket: Option<PathBuf>,
    template_addrs: Vec<(String, String, SocketAddr)>,
    internal: Vec<String>,
    paths: files::PathRules,
    sock_names: Vec<String>,
    /// Servers with health checks, and every server.
    checked: u64,
    servers: Vec<ServerInfo>,
    options: Options,
    /// Variables the configuration sets itself (`setenv`, `presetenv`), or
    /// unsets (`unsetenv`: `None`).
    setenv: HashMap<String, Option<String>>,
}

/// Descriptors left for HAProxy's listeners, pipes and the like when
/// `maxconn` is sized to the open-files limit.
const FD_RESERVE: u64 = 2048;

fn err(d: &Directive, message: impl Into<String>) -> RewriteError {
    RewriteError {
        location: Some(d.location()),
        message: message.into(),
    }
}

/// TLS options of a server line: the responders speak plain HTTP.
const SERVER_TLS: &[&str] = &[
    "ssl",
    "check-ssl",
    "verify",
    "verifyhost",
    "no-verifyhost",
    "ca-file",
    "crl-file",
    "crt",
    "sni",
    "check-sni",
    "alpn",
    "check-alpn",
    "npn",
    "ciphers",
    "ciphersuites",
    "curves",
    "sigalgs",
    "client-sigalgs",
    "ssl-min-ver",
    "ssl-max-ver",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "no-sslv3",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "ssl-reuse",
    "no-ssl-reuse",
    "tls-tickets",
    "no-tls-tickets",
    "allow-0rtt",
];

/// TLS options of a `stats socket` line: harun talks to its sockets in clear.
const SOCKET_TLS: &[&str] = &[
    "ssl",
    "crt",
    "crt-list",
    "ca-file",
    "ca-verify-file",
    "crl-file",
    "verify",
    "alpn",
    "npn",
    "ciphers",
    "ciphersuites",
    "curves",
    "ecdhe",
    "ssl-min-ver",
    "ssl-max-ver",
    "strict-sni",
];

/// Options that need privileges or the production host's network setup.
const PRIVILEGED_BIND_OPTS: &[&str] = &[
    "user",
    "group",
    "uid",
    "gid",
    "interface",
    "namespace",
    "transparent",
    "v4v6",
    "v6only",
];

/// Check options whose protocol harun's HTTP responders do not speak.
const PROTOCOL_CHECKS: &[&str] = &[
    "ssl-hello-chk",
    "mysql-check",
    "pgsql-check",
    "redis-check",
    "smtpchk",
    "ldap-check",
    "spop-check",
    "external-check",
];

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn is_unix_address(a: &str) -> bool {
    a.starts_with('/')
        || a.starts_with("./")
        || a.starts_with("unix@")
        || a.starts_with("uxst@")
        || a.starts_with("uxdg@")
}

fn unix_path(a: &str) -> &str {
    ["unix@", "uxst@", "uxdg@"]
        .iter()
        .find_map(|p| a.strip_prefix(p))
        .unwrap_or(a)
}

/// `text` with HAProxy's environment variables substituted: `${NAME}` (empty
/// when unset) and `${NAME-default}`; `lookup` gives a variable's value.
fn expand_env(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once('-') {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(default.unwrap_or("")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// `host` and `port` of a TCP address (`ipv4@h:p`, `[v6]:p`, `:p`, `*:p`).
fn host_port(a: &str) -> Option<(&str, &str)> {
    let a = match a.split_once('@') {
        Some((p, rest)) if !p.contains(':') => rest,
        _ => a,
    };
    if let Some(rest) = a.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h, p));
    }
    a.rsplit_once(':')
}

fn is_loopback_or_any(host: &str) -> bool {
    matches!(host, "" | "*" | "0.0.0.0" | "::" | "localhost" | "::1") || host.starts_with("127.")
}

/// A file name safe to put in the lab's directory.
fn safe_name(path: &str) -> String {
    let base = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() || clean.starts_with('.') {
        format!("file{clean}")
    } else {
        clean
    }
}

impl<'a> Rewriter<'a> {
    fn new(
        model: &'a ConfigModel,
        sources: &'a [(PathBuf, String)],
        res: &'a mut dyn Resources,
    ) -> Result<Rewriter<'a>, RewriteError> {
        let mut lines = Vec::new();
        let mut out = Vec::new();
        let mut index = HashMap::new();
        for (i, (path, text)) in sources.iter().enumerate() {
            let l: Vec<&str> = text.lines().collect();
            out.push(vec![None; l.len()]);
            lines.push(l);
            index.insert(path.as_path(), i);
        }
        let paths = files::PathRules::from_model(model, res.cwd());
        // In the order haproxy reads them: `presetenv` after a `setenv` of
        // the same name keeps the `setenv` value; `unsetenv` unsets.
        let mut setenv: HashMap<String, Option<String>> = HashMap::new();
        for d in model.globals().flat_map(|s| s.directives.iter()) {
            let current = |n: &str, set: &HashMap<String, Option<String>>| match set.get(n) {
                Some(v) => v.clone(),
                None => res.env(n),
            };
            match (d.keyword.as_str(), d.args.as_slice()) {
                ("setenv", [name, value, ..]) => {
                    let v = expand_env(value, |n| current(n, &setenv));
                    setenv.insert(name.clone(), Some(v));
                }
                ("presetenv", [name, value, ..]) if current(name, &setenv).is_none() => {
                    let v = expand_env(value, |n| current(n, &setenv));
                    setenv.insert(name.clone(), Some(v));
                }
                ("unsetenv", names) => {
                    for n in names {
                        setenv.insert(n.clone(), None);
                    }
                }
                _ => {}
            }
        }
        Ok(Rewriter {
            model,
            res,
            lines,
            out,
            index,
            rewrites: Vec::new(),
            standins: Vec::new(),
            standin_for: HashMap::new(),
            binds: HashMap::new(),
            bind_maps: Vec::new(),
            links: HashMap::new(),
            admin_socket: None,
            template_addrs: Vec::new(),
            internal: Vec::new(),
            paths,
            sock_names: Vec::new(),
            checked: 0,
            servers: Vec::new(),
            options: Options::default(),
            setenv,
        })
    }

    /// An address as haproxy reads it, environment variables substituted.
    fn expand(&self, text: &str) -> String {
        if !text.contains("${") {
            return text.to_string();
        }
        expand_env(text, |n| match self.setenv.get(n) {
            Some(v) => v.clone(),
            None => self.res.env(n),
        })
    }

    fn res_err(d: &Directive) -> impl Fn(String) -> RewriteError + '_ {
        move |m| err(d, format!("the lab cannot provide an address: {m}"))
    }

    fn raw(&self, file: &Path, line: usize) -> Option<&'a str> {
        let fi = *self.index.get(file)?;
        self.lines[fi].get(line.checked_sub(1)?).copied()
    }

    fn edit(&self, d: &Directive) -> Result<LineEdit<'a>, RewriteError> {
        let raw = self
            .raw(&d.file, d.line)
            .ok_or_else(|| err(d, "line not found in the file's text"))?;
        let e = LineEdit::new(raw);
        if e.len() != d.args.len() + 1 {
            return Err(err(d, "cannot split this line into words"));
        }
        Ok(e)
    }

    fn store(&mut self, d: &Directive, e: &LineEdit<'_>) {
        let text = e.render();
        if let Some(&fi) = self.index.get(d.file.as_path()) {
            if let Some(slot) = self.out[fi].get_mut(d.line - 1) {
                *slot = Some(text);
            }
        }
    }

    fn note(
        &mut self,
        location: String,
        section: &Section,
        kind: RewriteKind,
        from: impl Into<String>,
        to: impl Into<String>,
        why: impl Into<String>,
    ) {
        self.rewrites.push(Rewrite {
            location,
            section: section.label(),
            kind,
            from: from.into(),
            to: to.into(),
            why: why.into(),
        });
    }

    fn changed(&mut self, d: &Directive, s: &Section, from: String, to: String, why: &str) {
        self.note(d.location(), s, RewriteKind::Changed, from, to, why);
    }

    fn removed(&mut self, d: &Directive, s: &Section, from: String, why: &str) {
        self.note(d.location(), s, RewriteKind::Removed, from, "", why);
    }

    /// Comment the whole line out.
    fn drop_line(&mut self, s: &Section, d: &Directive, e: &mut LineEdit<'_>, why: &str) {
        e.comment_out();
        self.removed(d, s, d.text(), why);
    }

    fn replace_arg(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
        i: usize,
        new: &str,
        why: &str,
    ) {
        let Some(old) = d.args.get(i) else {
            return;
        };
        e.set(i + 1, new);
        let what = d.args[..i]
            .iter()
            .fold(d.keyword.clone(), |acc, a| acc + " " + a.as_str());
        self.changed(d, s, format!("{what} {old}"), new.to_string(), why);
    }

    fn new_unix_path(&mut self, original: &str, prefix: &str) -> PathBuf {
        let mut name = format!("{prefix}{}", safe_name(original));
        while self.sock_names.contains(&name) {
            name = format!("{}-{name}", self.sock_names.len());
        }
        self.sock_names.push(name.clone());
        self.res.dir().join("sock").join(name)
    }

    /// Decide every bind's lab address first: servers linked to a listener of
    /// the same configuration need it.
    fn allocate_binds(&mut self) -> Result<(), RewriteError> {
        let dir_name = self
            .res
            .dir()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "harun-lab".into());
        for s in &self.model.sections {
            let bind_kw = match s.kind.as_str() {
                "frontend" | "listen" | "peers" | "log-forward" => ["bind", "dgram-bind"],
                _ => continue,
            };
            for d in s
                .directives
                .iter()
                .filter(|d| bind_kw.contains(&d.keyword.as_str()))
            {
                let Some(addr) = d.args.first() else {
                    continue;
                };
                let addr = &self.expand(addr);
                let new = if is_unix_address(addr) {
                    let p = self.new_unix_path(unix_path(addr), "");
                    let text = p.display().to_string();
                    self.links.insert(
                        format!("unix:{}", unix_path(addr)),
                        NewBind {
                            text: text.clone(),
                            tcp: None,
                            owner: s.label(),
                        },
                    );
                    NewBind {
                        text,
                        tcp: None,
                        owner: s.label(),
                    }
                } else if let Some(name) = addr
                    .strip_prefix("abns@")
                    .or_else(|| addr.strip_prefix("abnsz@"))
                {
                    // Abstract sockets are machine-wide: a name of production
                    // running on this host must not be taken.
                    let text = format!("abns@{dir_name}-{name}");
                    let nb = NewBind {
                        text,
                        tcp: None,
                        owner: s.label(),
                    };
                    self.links.insert(format!("abns@{name}"), nb.clone());
                    nb
                } else {
                    let port = if d.keyword == "dgram-bind" {
                        self.res.udp_port()
                    } else {
                        self.res.tcp_port()
                    }
                    .map_err(Self::res_err(d))?;
                    let nb = NewBind {
                        text: loopback(port).to_string(),
                        tcp: (d.keyword == "bind").then(|| loopback(port)),
                        owner: s.label(),
                    };
                    for one in addr.split(',') {
                        if let Some((h, p)) = host_port(one) {
                            if is_loopback_or_any(h) && p.parse::<u16>().is_ok() {
                                self.links.entry(format!("tcp:{p}")).or_insert(nb.clone());
                            }
                        }
                    }
                    nb
                };
                self.binds.insert((d.file.clone(), d.line), new);
            }
        }
        Ok(())
    }

    fn section(&mut self, s: &'a Section) -> Result<(), RewriteError> {
        if s.kind == "program" {
            return self.program(s);
        }
        for d in &s.directives {
            let mut e = self.edit(d)?;
            self.directive(s, d, &mut e)?;
            if !e.is_commented_out() {
                self.file_references(s, d, &mut e)?;
            }
            self.store(d, &e);
        }
        Ok(())
    }

    fn program(&mut self, s: &Section) -> Result<(), RewriteError> {
        if let Some(raw) = self.raw(&s.file, s.line) {
            let mut e = LineEdit::new(raw);
            e.comment_out();
            if let Some(&fi) = self.index.get(s.file.as_path()) {
                self.out[fi][s.line - 1] = Some(e.render());
            }
        }
        for d in &s.directives {
            let mut e = self.edit(d)?;
            e.comment_out();
            self.store(d, &e);
        }
        self.note(
            s.location(),
            s,
            RewriteKind::Removed,
            s.label(),
            "",
            "the lab runs one process without master-worker: programs are not started",
        );
        Ok(())
    }

    fn directive(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let kind = s.kind.as_str();
        match (kind, d.keyword.as_str()) {
            ("global", _) => self.global(s, d, e)?,
            (_, "bind" | "dgram-bind") => self.bind(s, d, e),
            (_, "log") => self.log(s, d, e)?,
            ("frontend" | "backend" | "listen" | "defaults", _) => self.proxy(s, d, e)?,
            ("peers", "peer" | "server") if d.args.len() >= 2 => {
                let port = self.res.tcp_port().map_err(Self::res_err(d))?;
                let why = "a free loopback port: no peer of production is reached";
                self.replace_arg(s, d, e, 1, &loopback(port).to_string(), why);
            }
            ("resolvers", "nameserver") => {
                let ns = self.res.nameserver().map_err(Self::res_err(d))?;
                let why = "the lab's DNS stand-in: no name is left to resolve";
                self.replace_arg(s, d, e, 1, &ns.to_string(), why);
            }
            ("resolvers", "parse-resolv-conf") => {
                let ns = self.res.nameserver().map_err(Self::res_err(d))?.to_string();
                e.replace_all(&["nameserver", "harun-lab", &ns]);
                self.changed(
                    d,
                    s,
                    d.text(),
                    format!("nameserver harun-lab {ns}"),
                    "the lab's DNS stand-in instead of this host's resolvers",
                );
            }
            ("mailers", "mailer") => {
                let a = self.res.refusing().map_err(Self::res_err(d))?;
                let why = "nothing listens there: no mail leaves the lab";
                self.replace_arg(s, d, e, 1, &a.to_string(), why);
            }
            ("ring", "server") => self.ring_server(s, d, e)?,
            _ => {}
        }
        Ok(())
    }

    fn global(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let first = d.args.first().map(String::as_str).unwrap_or("");
        let in_dir = "in the lab's directory";
        match d.keyword.as_str() {
            "chroot" => self.drop_line(s, d, e, "the lab runs unprivileged from its own directory"),
            "user" | "group" | "uid" | "gid" => {
                self.drop_line(s, d, e, "the lab's haproxy runs as you")
            }
            "daemon" => self.drop_line(
                s,
                d,
                e,
                "the lab keeps haproxy in the foreground (-db) so it stops with the run",
            ),
            "master-worker" => self.drop_line(s, d, e, "the lab runs a single process"),
            "cpu-map" => self.drop_line(s, d, e, "the lab does not pin CPUs"),
            "zero-warning" => {
                self.drop_line(s, d, e, "a warning caused by the lab must not stop it")
            }
            "default-path" => self.drop_line(
                s,
                d,
                e,
                "the copy lives elsewhere: relative paths are written out in full",
            ),
            "pidfile" => {
                let p = self.res.dir().join("haproxy.pid");
                self.replace_arg(s, d, e, 0, &p.display().to_string(), in_dir)
            }
            "server-state-base" => {
                let p = self.res.dir().join("state");
                self.replace_arg(s, d, e, 0, &format!("{}/", p.display()), in_dir)
            }
            "server-state-file" => self.state_file(s, d, e),
            "unix-bind" => self.unix_bind(s, d, e),
            "ulimit-n" => {
                if let (Some(limit), Ok(n)) = (self.res.fd_limit(), first.parse::<u64>()) {
                    if n > limit {
                        let why = format!(
                            "this machine allows {limit} open files: haproxy would refuse to start"
                        );
                        self.drop_line(s, d, e, &why);
                    }
                }
            }
            "maxconn" => {
                if let (Some(limit), Ok(n)) = (self.res.fd_limit(), first.parse::<u64>()) {
                    // HAProxy needs two descriptors per connection plus one
                    // per checked server, its listeners and pipes; it will
                    // not start short of them.
                    let cap = (limit.saturating_sub(FD_RESERVE + self.checked) / 2).max(100);
                    if n > cap && cap > 0 {
                        let why = format!(
                            "this machine allows {limit} open files: haproxy would refuse to start"
                        );
                        self.replace_arg(s, d, e, 0, &cap.to_string(), &why);
                    }
                }
            }
            "stats" if first == "socket" => self.stats_socket(s, d, e)?,
            "log" => self.log(s, d, e)?,
            "lua-load" | "lua-load-per-thread" if !self.options.keep_lua => {
                self.drop_line(s, d, e, LUA_DROPPED)
            }
            "external-check" => self.drop_line(s, d, e, "no external check runs in the lab"),
            kw if kw.starts_with("ocsp-update.") => {
                self.drop_line(s, d, e, "the lab does not query OCSP responders")
            }
            kw if kw.starts_with("51degrees-")
                || kw.starts_with("wurfl-")
                || kw.starts_with("deviceatlas-") =>
            {
                self.drop_line(
                    s,
                    d,
                    e,
                    "device detection needs its data files and a module built into haproxy",
                )
            }
            _ => {}
        }
        Ok(())
    }

    /// A server state file in the lab's directory, holding only the format
    /// version: HAProxy loads no state from it and does not warn.
    fn state_file(&mut self, s: &Section, d: &Directive, e: &mut LineEdit<'_>) {
        let Some(name) = d.args.first() else {
            return;
        };
        let state_dir = self.res.dir().join("state");
        let has_base = self.model.global_find("server-state-base").next().is_some();
        let path = if name.starts_with('/') {
            let p = state_dir.join(safe_name(name));
            let why = "in the lab's directory, empty";
            self.replace_arg(s, d, e, 0, &p.display().to_string(), why);
            p
        } else if has_base && safe_name(name) == *name {
            state_dir.join(name)
        } else {
            return;
        };
        if !self.standins.iter().any(|f| f.path == path) {
            self.standins.push(StandIn {
                path,
                contents: "1\n".into(),
            });
        }
    }

    fn unix_bind(&mut self, s: &Section, d: &Directive, e: &mut LineEdit<'_>) {
        let why = "the lab's sockets live in its own directory and belong to you";
        let mut removed = Vec::new();
        let mut kept = 0;
        let mut i = 0;
        while i < d.args.len() {
            let k = d.args[i].as_str();
            if matches!(k, "prefix" | "user" | "group" | "uid" | "gid") {
                remove_opt(
                    e,
                    d,
                    Opt {
                        at: i,
                        value: (i + 1 < d.args.len()).then_some(i + 1),
                    },
                    &mut removed,
                );
            } else {
                kept += 1;
            }
            i += 2;
        }
        if removed.is_empty() {
            return;
        }
        if kept == 0 {
            return self.drop_line(s, d, e, why);
        }
        self.removed(d, s, format!("unix-bind {}", removed.join(" ")), why);
    }

    fn stats_socket(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let Some(addr) = d.args.get(1) else {
            return Ok(());
        };
        let expanded = self.expand(addr);
        let unix = is_unix_address(&expanded) || expanded.starts_with("abns@");
        let new = if unix {
            let name = unix_path(&expanded).trim_start_matches("abns@");
            self.new_unix_path(name, "").display().to_string()
        } else {
            let port = self.res.tcp_port().map_err(Self::res_err(d))?;
            format!("ipv4@{}", loopback(port))
        };
        e.set(2, &new);
        let why = if unix {
            "in the lab's directory"
        } else {
            "a free loopback port"
        };
        self.changed(d, s, format!("stats socket {addr}"), new.clone(), why);
        let (privileged, tls) = strip_bind_options(d, e, 2, PRIVILEGED_BIND_OPTS, SOCKET_TLS);
        if !privileged.is_empty() {
            let why = "the lab's sockets belong to you";
            self.removed(d, s, privileged.join(" "), why);
        }
        if !tls.is_empty() {
            let why = "harun talks to the lab's sockets in clear";
            self.removed(d, s, tls.join(" "), why);
        }
        let admin = d.param("level") == Some("admin");
        if admin && unix && d.condition.is_none() && self.admin_socket.is_none() {
            self.admin_socket = Some(PathBuf::from(new));
        }
        Ok(())
    }

    fn bind(&mut self, s: &Section, d: &Directive, e: &mut LineEdit<'_>) {
        let Some(new) = self.binds.get(&(d.file.clone(), d.line)).cloned() else {
            return;
        };
        let addr = d.args[0].clone();
        e.set(1, &new.text);
        let why = if addr.contains(',') {
            format!(
                "one free loopback port for the {} addresses",
                addr.split(',').count()
            )
        } else if new.tcp.is_some() || d.keyword == "dgram-bind" {
            "a free loopback port".to_string()
        } else {
            "in the lab's directory".to_string()
        };
        self.changed(
            d,
            s,
            format!("{} {addr}", d.keyword),
            new.text.clone(),
            &why,
        );
        self.bind_maps.push(BindMap {
            section: s.label(),
            location: d.location(),
            original: addr.clone(),
            address: new.text.clone(),
            tcp: new.tcp,
        });
        let (privileged, _) = strip_bind_options(d, e, 1, PRIVILEGED_BIND_OPTS, &[]);
        if !privileged.is_empty() {
            let why = "needs privileges or this host's network setup";
            self.removed(d, s, privileged.join(" "), why);
        }
        if addr.starts_with("quic4@") || addr.starts_with("quic6@") {
            let mut quic = Vec::new();
            for o in bind_options(&d.args, 1) {
                let k = d.args[o.at].as_str();
                if matches!(k, "alpn" | "proto" | "quic-cc-algo" | "quic-force-retry") {
                    remove_opt(e, d, o, &mut quic);
                }
            }
            self.note(
                d.location(),
                s,
                RewriteKind::Note,
                format!("bind {addr}: QUIC served over TCP"),
                "",
                "the lab listens on TCP only",
            );
            if !quic.is_empty() {
                self.removed(d, s, quic.join(" "), "QUIC options on a TCP listener");
            }
        }
        self.bind_tls(s, d, e);
    }

    fn log(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let Some(target) = d.args.first() else {
            return Ok(());
        };
        let keep = target == "global"
            || target == "stdout"
            || target == "stderr"
            || target.starts_with("fd@")
            || target.starts_with("ring@");
        if !keep {
            let (new, why) = self.res.log_target().map_err(Self::res_err(d))?;
            self.replace_arg(s, d, e, 0, &new, &why);
        }
        Ok(())
    }

    fn ring_server(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        if d.args.len() < 2 {
            return Ok(());
        }
        let a = self.res.refusing().map_err(Self::res_err(d))?;
        e.set(2, &a.to_string());
        self.changed(
            d,
            s,
            format!("server {} {}", d.args[0], d.args[1]),
            a.to_string(),
            "nothing listens there: no log leaves the lab",
        );
        let mut tls = Vec::new();
        for o in server_options(&d.args, 2) {
            if SERVER_TLS.contains(&d.args[o.at].as_str()) {
                remove_opt(e, d, o, &mut tls);
            }
        }
        if !tls.is_empty() {
            self.removed(d, s, tls.join(" "), "no TLS to a stand-in");
        }
        Ok(())
    }

    fn proxy(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let first = d.args.first().map(String::as_str).unwrap_or("");
        let plain_check = "harun's responders speak HTTP: the check becomes a plain TCP connect";
        match d.keyword.as_str() {
            "server" | "server-template" | "default-server" => self.server(s, d, e)?,
            "source" => self.drop_line(s, d, e, "the lab connects from loopback"),
            "dispatch" => {
                let a = self.res.refusing().map_err(Self::res_err(d))?;
                let why = "no responder stands in for a dispatch address";
                self.replace_arg(s, d, e, 0, &a.to_string(), why)
            }
            "server-state-file" => self.state_file(s, d, e),
            "option" if PROTOCOL_CHECKS.contains(&first) => self.drop_line(s, d, e, plain_check),
            "external-check" => self.drop_line(s, d, e, "no external check runs in the lab"),
            "option" if first == "transparent" => self.drop_line(
                s,
                d,
                e,
                "it connects to the clients' original destinations: the lab's servers are its responders",
            ),
            "filter" if first == "spoe" => self.drop_line(
                s,
                d,
                e,
                "SPOE agents are production services (and an agent's configuration may log to other hosts): no message leaves the lab",
            ),
            "tcp-check" => self.drop_line(s, d, e, plain_check),
            "use-fcgi-app" => self.drop_line(
                s,
                d,
                e,
                "harun's responders speak HTTP, not FastCGI: requests reach them as HTTP",
            ),
            "http-check" if first == "expect" => {
                let what = d.args.iter().skip(1).find(|a| *a != "!");
                if !matches!(what.map(String::as_str), Some("status" | "rstatus")) {
                    let why = "harun's responders answer 200 with the server's name: only status checks are kept";
                    self.drop_line(s, d, e, why)
                }
            }
            "http-check" if first == "connect" && d.args.len() > 1 => {
                let why = "checks connect to the server's responder, in clear";
                self.drop_line(s, d, e, why)
            }
            _ if d.args.iter().take(2).any(|a| a == "send-spoe-group") => {
                self.drop_line(s, d, e, "its SPOE filter is not loaded in the lab")
            }
            _ => {}
        }
        Ok(())
    }

    fn server(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let kw = d.keyword.as_str();
        let backend = s.name.clone().unwrap_or_default();
        match kw {
            "server" if d.args.len() >= 2 => {
                let name = d.args[0].clone();
                let addr = d.args[1].clone();
                let from = format!("server {name} {addr}");
                if let Some(link) = self.link_for(&addr) {
                    e.set(2, &link.text);
                    self.internal.push(format!("{backend}/{name}"));
                    let why = format!("still linked to {} of this configuration", link.owner);
                    self.changed(d, s, from, link.text.clone(), &why);
                } else {
                    let (a, how) = self.res.server(&backend, &name).map_err(Self::res_err(d))?;
                    e.set(2, &a.to_string());
                    let why = format!("harun's responder: {how}");
                    self.changed(d, s, from, a.to_string(), &why);
                }
            }
            "server-template" if d.args.len() >= 3 => {
                let (prefix, range, addr) = (&d.args[0], &d.args[1], &d.args[2]);
                let Some(numbers) = template_range(range) else {
                    let m = format!("server-template {prefix}: invalid range `{range}`");
                    return Err(err(d, m));
                };
                let mut first_addr = None;
                let mut first_healthy = None;
                let mut special = Vec::new();
                for n in numbers {
                    let name = format!("{prefix}{n}");
                    let (a, how) = self.res.server(&backend, &name).map_err(Self::res_err(d))?;
                    first_addr.get_or_insert(a);
                    if how == "healthy" {
                        first_healthy.get_or_insert(a);
                    } else {
                        special.push(format!("{name} {how}"));
                    }
                    self.template_addrs.push((backend.clone(), name, a));
                }
                // Until each slot gets its own address at start, they all use
                // this one: a healthy responder, if there is one.
                if let Some(a) = first_healthy.or(first_addr) {
                    e.set(3, &a.to_string());
                    let how = if special.is_empty() {
                        "healthy".to_string()
                    } else {
                        format!("{}, the others healthy", special.join(", "))
                    };
                    let why = format!(
                        "harun's responders: {how}; each slot gets its own at start through the runtime API"
                    );
                    let from = format!("server-template {prefix} {range} {addr}");
                    self.changed(d, s, from, a.to_string(), &why);
                }
            }
            _ => {}
        }
        let mut tls = Vec::new();
        let mut overrides = Vec::new();
        let mut proto = Vec::new();
        let mut network = Vec::new();
        let mut agent = Vec::new();
        for o in server_options(&d.args, first_option(kw)) {
            let k = d.args[o.at].as_str();
            let group = if SERVER_TLS.contains(&k) {
                &mut tls
            } else if matches!(k, "addr" | "port") {
                &mut overrides
            } else if matches!(k, "proto" | "check-proto" | "ws") {
                &mut proto
            } else if matches!(
                k,
                "source" | "usesrc" | "interface" | "namespace" | "socks4" | "check-via-socks4"
            ) {
                &mut network
            } else if matches!(k, "agent-check" | "agent-addr") {
                &mut agent
            } else {
                continue;
            };
            remove_opt(e, d, o, group);
        }
        let groups = [
            (tls, "harun's responders speak plain HTTP"),
            (overrides, "checks go to the server's own responder"),
            (proto, "harun's responders speak HTTP/1.1"),
            (network, "the lab connects from loopback, directly"),
            (agent, "no agent answers in the lab"),
        ];
        for (words, why) in groups {
            if !words.is_empty() {
                self.removed(d, s, words.join(" "), why);
            }
        }
        Ok(())
    }

    /// The listener of this configuration a server address points at, if any.
    fn link_for(&self, addr: &str) -> Option<NewBind> {
        let addr = &self.expand(addr);
        if is_unix_address(addr) {
            return self
                .links
                .get(&format!("unix:{}", unix_path(addr)))
                .cloned();
        }
        if let Some(name) = addr
            .strip_prefix("abns@")
            .or_else(|| addr.strip_prefix("abnsz@"))
        {
            return self.links.get(&format!("abns@{name}")).cloned();
        }
        let (h, p) = host_port(addr)?;
        if !(h == "localhost" || h == "::1" || h.starts_with("127.")) {
            return None;
        }
        self.links.get(&format!("tcp:{p}")).cloned()
    }

    /// HAProxy keeps a peers section only when one of its peers is this
    /// host (by hostname): the lab's host is not one of production's, so the
    /// first peer is named local, unless the configuration names one.
    fn prelude(&mut self, cfg_dir: &Path) -> Option<RewrittenFile> {
        if self.model.global_find("localpeer").next().is_some() {
            return None;
        }
        let peers = self.model.sections_of("peers").next()?;
        let d = peers
            .directives
            .iter()
            .find(|d| d.keyword == "peer" || (d.keyword == "server" && d.args.len() == 1))?;
        let name = d.args.first()?;
        let line = format!("localpeer {}", line::quote(name));
        self.rewrites.push(Rewrite {
            location: PRELUDE_FILE.to_string(),
            section: "global".into(),
            kind: RewriteKind::Added,
            from: String::new(),
            to: line.clone(),
            why: format!(
                "this host is not a peer of `{}`: HAProxy would drop the section",
                peers.label()
            ),
        });
        Some(RewrittenFile {
            original: PathBuf::new(),
            path: cfg_dir.join(PRELUDE_FILE),
            text: format!(
                "# Added by harun lab: must come before the peers sections.\nglobal\n    {line}\n"
            ),
        })
    }

    /// HAProxy makes a `default` resolvers section from this host's
    /// /etc/resolv.conf when the configuration has none: what refers to it
    /// (`resolvers default`, `do-resolve(var,default)`, the httpclient of
    /// kept Lua scripts) gets the lab's DNS stand-in instead.
    fn default_resolvers(&mut self) -> Result<Option<String>, RewriteError> {
        if self
            .model
            .sections_of("resolvers")
            .any(|s| s.name.as_deref() == Some("default"))
        {
            return Ok(None);
        }
        let user = self
            .model
            .sections
            .iter()
            .flat_map(|s| &s.directives)
            .find(|d| uses_default_resolvers(d));
        let why = match user {
            Some(d) => format!(
                "{} resolves through HAProxy's `default` resolvers, made from this host's /etc/resolv.conf: the lab's DNS stand-in instead",
                d.location()
            ),
            None if self.options.keep_lua => "the Lua httpclient resolves through HAProxy's `default` resolvers, made from this host's /etc/resolv.conf: the lab's DNS stand-in instead".to_string(),
            None => return Ok(None),
        };
        let ns = self.res.nameserver().map_err(|m| RewriteError {
            location: None,
            message: format!("the lab cannot provide an address: {m}"),
        })?;
        let line = format!("nameserver harun-lab {ns}");
        self.rewrites.push(Rewrite {
            location: ADDITIONS_FILE.to_string(),
            section: "resolvers default".into(),
            kind: RewriteKind::Added,
            from: String::new(),
            to: line.clone(),
            why,
        });
        Ok(Some(format!(
            "# Added by harun lab: no name is resolved through this host's resolvers.\nresolvers default\n    {line}\n"
        )))
    }

    fn finish(mut self) -> Result<Rewritten, RewriteError> {
        let dir = self.res.dir().to_path_buf();
        let cfg_dir = dir.join("cfg");
        let mut files = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (fi, original) in self.model.files.iter().enumerate() {
            let Some(&si) = self.index.get(original.as_path()) else {
                continue;
            };
            let mut name = safe_name(&original.display().to_string());
            if names.contains(&name) || name == ADDITIONS_FILE || name == PRELUDE_FILE {
                name = format!("{fi}-{name}");
            }
            names.push(name.clone());
            let mut text = String::new();
            for (i, l) in self.lines[si].iter().enumerate() {
                text.push_str(self.out[si][i].as_deref().unwrap_or(l));
                text.push('\n');
            }
            files.push(RewrittenFile {
                original: original.clone(),
                path: cfg_dir.join(name),
                text,
            });
        }
        let mut added = String::new();
        let admin_socket = match self.admin_socket.take() {
            Some(p) => p,
            None => {
                let p = dir.join("sock").join("harun-admin.sock");
                let line = format!("stats socket {} level admin mode 600", p.display());
                added.push_str(&format!(
                    "# Added by harun lab: the configuration has no admin-level UNIX stats socket.\nglobal\n    {line}\n"
                ));
                self.rewrites.push(Rewrite {
                    location: ADDITIONS_FILE.to_string(),
                    section: "global".into(),
                    kind: RewriteKind::Added,
                    from: String::new(),
                    to: line,
                    why: "the configuration has no admin-level UNIX stats socket: harun needs one"
                        .into(),
                });
                p
            }
        };
        if let Some(text) = self.default_resolvers()? {
            added.push_str(&text);
        }
        let additions = (!added.is_empty()).then(|| RewrittenFile {
            original: PathBuf::new(),
            path: cfg_dir.join(ADDITIONS_FILE),
            text: added,
        });
        let prelude = self.prelude(&cfg_dir);
        let servers = std::mem::take(&mut self.servers);
        Ok(Rewritten {
            files,
            prelude,
            additions,
            rewrites: self.rewrites,
            standins: self.standins,
            binds: self.bind_maps,
            servers,
            admin_socket,
            template_addrs: self.template_addrs,
            internal: self.internal,
        })
    }
}

/// Whether a line resolves names through the `default` resolvers section.
fn uses_default_resolvers(d: &Directive) -> bool {
    let first = d.args.first().map(String::as_str);
    (d.keyword == "httpclient.resolvers.id" && first == Some("default"))
        || d.args
            .windows(2)
            .any(|w| w[0] == "resolvers" && w[1] == "default")
        || d.args.iter().any(|a| {
            a.strip_prefix("do-resolve(")
                .and_then(|inner| inner.split([',', ')']).nth(1))
                .is_some_and(|r| r.trim() == "default")
        })
}

/// Remove the options named in `a` and `b` from a bind-like line whose
/// options start at argument `from`; returns the removed words of each group.
fn strip_bind_options(
    d: &Directive,
    e: &mut LineEdit<'_>,
    from: usize,
    a: &[&str],
    b: &[&str],
) -> (Vec<String>, Vec<String>) {
    let mut ra = Vec::new();
    let mut rb = Vec::new();
    for o in bind_options(&d.args, from) {
        let k = d.args[o.at].as_str();
        if a.contains(&k) {
            remove_opt(e, d, o, &mut ra);
        } else if b.contains(&k) {
            remove_opt(e, d, o, &mut rb);
        }
    }
    (ra, rb)
}

/// Remove an option (and its value) from the line, noting the words removed.
fn remove_opt(e: &mut LineEdit<'_>, d: &Directive, o: Opt, removed: &mut Vec<String>) {
    e.remove(o.at + 1);
    removed.push(d.args[o.at].clone());
    if let Some(v) = o.value {
        e.remove(v + 1);
        removed.push(d.args[v].clone());
    }
}

#[cfg(test)]
mod tests;
