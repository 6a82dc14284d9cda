//! Rewriting a user's configuration so the lab can start it on this machine.
//!
//! [`rewrite`] is a pure function of the parsed model, the files' text and
//! what the lab provides ([`Resources`]: ports, responders, which files can be
//! read). Every listening address moves to loopback, every server to one of
//! harun's responders, every path the process writes to the lab's directory;
//! what needs privileges, files that are not there or other machines is
//! removed or replaced by a stand-in. Nothing in the result reaches a
//! production address.
//!
//! Each file keeps its line numbers (a removed line becomes a comment,
//! additions go to a last file of their own), so `haproxy -c` messages and
//! findings about the lab's copy name the same `file:line` as the original.

mod files;
mod global;
mod line;
mod listeners;
mod logs;
mod proxies;
mod servers;

pub use servers::{servers, ServerInfo};

use crate::config::model::{ConfigModel, Directive, Section};
use line::LineEdit;
use serde::Serialize;
use servers::Opt;
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
    /// The directory relative paths are read from (haproxy runs there).
    fn cwd(&self) -> PathBuf;
    /// The hard limit on open files: HAProxy refuses to start when its
    /// `maxconn` needs more.
    fn fd_limit(&self) -> Option<u64>;
}

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

    /// The user's file a lab file was written from (line numbers are the same).
    pub fn original_of(&self, lab_path: &Path) -> Option<&Path> {
        self.files
            .iter()
            .find(|f| f.path == lab_path)
            .map(|f| f.original.as_path())
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
        let mut additions = None;
        let admin_socket = match self.admin_socket.take() {
            Some(p) => p,
            None => {
                let p = dir.join("sock").join("harun-admin.sock");
                let line = format!("stats socket {} level admin mode 600", p.display());
                let text = format!(
                    "# Added by harun lab: the configuration has no admin-level UNIX stats socket.\nglobal\n    {line}\n"
                );
                self.rewrites.push(Rewrite {
                    location: ADDITIONS_FILE.to_string(),
                    section: "global".into(),
                    kind: RewriteKind::Added,
                    from: String::new(),
                    to: line,
                    why: "the configuration has no admin-level UNIX stats socket: harun needs one"
                        .into(),
                });
                additions = Some(RewrittenFile {
                    original: PathBuf::new(),
                    path: cfg_dir.join(ADDITIONS_FILE),
                    text,
                });
                p
            }
        };
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
