//! Lint rules over a [`ConfigModel`] (and optionally a `haproxy -c` result).
//!
//! Every finding has a stable id, the `file:line` evidence, a `detail` saying
//! what it means and an `advice` with the exact configuration to write.
//! Directives inside `.if` blocks are treated carefully: they count as present
//! for "missing X" rules, and findings they trigger are capped at `warning`.

use super::check::{CheckMessage, CheckResult};
use super::model::{
    address_is_unix, chroot, log_lines, stats_sockets, ConfigModel, Directive, Section,
};
use crate::base::report::{Finding, Severity};
use serde::Serialize;
use std::path::{Component, Path, PathBuf};

/// What the lint knows beyond the configuration text.
#[derive(Clone, Debug, Default)]
pub struct LintContext {
    /// The result of `haproxy -c` on the same files, if it was run.
    pub check: Option<CheckResult>,
    /// UNIX sockets rsyslog creates (e.g. Debian's `/var/lib/haproxy/dev/log`
    /// from `$AddUnixListenSocket`).
    pub rsyslog_unix_sockets: Vec<PathBuf>,
    /// The HAProxy version (`2.6.12`, `2.6.12-1+deb12u4`), if known.
    pub haproxy_version: Option<String>,
    /// Why rsyslog's configuration could not be read, when it could not: the
    /// chroot socket check is then not verified (`config.log-lost-in-chroot`
    /// drops to warning).
    pub rsyslog_unread: Option<String>,
}

/// Documentation of one rule, for `docs/findings.md`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RuleDoc {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub meaning: &'static str,
    pub fix: &'static str,
}

const NBPROC_MEANING: &str = "Several processes share no memory: stats and counters are per process (a tool must query every process's own stats socket and add them up), server states (DOWN, MAINT, DRAIN) are per process so a `set server` on one socket changes one process only, every process runs its own health checks (checks multiplied by nbproc), stick tables and maxconn are per process. Only defensible for heavy SSL offload on HAProxy <= 2.4. Since 2.5 `nbproc` is a fatal configuration error.";
const NBPROC_FIX: &str = "Remove `nbproc N` from global and use threads: `nbthread N` (since 2.0 HAProxy already starts one thread per CPU it is bound to, where the platform supports CPU affinity, as Linux does) and optionally `cpu-map auto:1/1-N 0-(N-1)`; bind one `stats socket` per HAProxy, not per process.";
const CHROOT_FIX: &str = "Log over the network instead of a UNIX socket: in global write `log 127.0.0.1:514 local0` (or `log 127.0.0.1 syslog notice`), and make rsyslog listen on UDP: `module(load=\"imudp\")` and `input(type=\"imudp\" address=\"127.0.0.1\" port=\"514\")` in /etc/rsyslog.d/49-haproxy.conf; then `systemctl reload haproxy` and `systemctl restart rsyslog`. Alternatively create the socket inside the chroot: `$AddUnixListenSocket <chroot>/dev/log` in rsyslog.";

static RULES: &[RuleDoc] = &[
    RuleDoc {
        id: "config.invalid",
        severity: Severity::Error,
        title: "haproxy -c reports an error",
        meaning: "HAProxy refuses this configuration: a reload will fail and keep the old process (or a start will fail).",
        fix: "Fix the directive at the reported file:line, then run `haproxy -c -f <config>` until it exits 0.",
    },
    RuleDoc {
        id: "config.warning",
        severity: Severity::Warning,
        title: "haproxy -c reports a warning",
        meaning: "HAProxy accepts the configuration but something does not do what it says (ignored directive, missing timeout, fallback).",
        fix: "Fix the directive at the reported file:line; `haproxy -c` should print no warning (add `zero-warning` to global to enforce it).",
    },
    RuleDoc {
        id: "config.unreadable",
        severity: Severity::Error,
        title: "Configuration cannot be read",
        meaning: "The configuration path is missing, unreadable, not a regular file or directory, a binary file or larger than 16 MiB: HAProxy cannot load it either, and no rule could be checked.",
        fix: "Pass the right file or directory with `-c PATH` (HAProxy reads `*.cfg` of a directory in lexical order); check permissions with `ls -l PATH` (run as a user that can read it, e.g. `sudo harun ...`).",
    },
    RuleDoc {
        id: "config.check-unavailable",
        severity: Severity::Warning,
        title: "haproxy -c could not be run",
        meaning: "The haproxy binary was not found, could not be executed or `haproxy -c` timed out: the configuration was only linted, not validated by HAProxy itself.",
        fix: "Install HAProxy (`apt-get install haproxy`) or pass its path with `--haproxy-bin /usr/sbin/haproxy` (or `HARUN_HAPROXY_BIN`), then run `harun check_config` again.",
    },
    RuleDoc {
        id: "config.syntax",
        severity: Severity::Warning,
        title: "Syntax problem (quote, escape, environment variable or .if block)",
        meaning: "An unterminated quote, an invalid `\\x` escape, a `${VAR` without its `}`, an unbalanced `.if`/`.endif`, `.elif` after `.else`, or `.if` blocks nested deeper than HAProxy's 100 levels: HAProxy will reject the file or read it differently than intended.",
        fix: "Fix the line named in the evidence: close the quote or the `${...}` on the same line, write `\\xNN` with two hex digits, add the missing `.endif` or remove the stray one.",
    },
    RuleDoc {
        id: "config.nbproc",
        severity: Severity::Error,
        title: "nbproc > 1 (multi-process)",
        meaning: NBPROC_MEANING,
        fix: NBPROC_FIX,
    },
    RuleDoc {
        id: "config.no-log",
        severity: Severity::Warning,
        title: "No log target",
        meaning: "No `log` line with a target in global or in any proxy: HAProxy logs nothing, so an incident leaves no trace of requests, errors or server state changes.",
        fix: "In global: `log 127.0.0.1:514 local0`; in defaults: `log global` and `option httplog` (or `option tcplog`).",
    },
    RuleDoc {
        id: "config.log-lost-in-chroot",
        severity: Severity::Error,
        title: "Logs to a UNIX socket that does not exist inside the chroot",
        meaning: "HAProxy sends logs after chrooting, so `log /dev/log` looks for <chroot>/dev/log. If rsyslog does not create that socket, every log line is silently dropped. Lowered to warning (\"not verified\") when rsyslog's configuration could not be read.",
        fix: CHROOT_FIX,
    },
    RuleDoc {
        id: "config.server-close",
        severity: Severity::Warning,
        title: "option http-server-close",
        meaning: "Client-side keep-alive only: the server connection is closed after every response, so each request pays a new TCP (and TLS) handshake to the server and burns source ports (TIME_WAIT).",
        fix: "Replace `option http-server-close` with `option http-keep-alive` and add `option prefer-last-server`.",
    },
    RuleDoc {
        id: "config.no-prefer-last-server",
        severity: Severity::Info,
        title: "Keep-alive without option prefer-last-server",
        meaning: "End-to-end keep-alive is on (the 2.x default) and the balance algorithm is not deterministic, so the balancer may pick another server for the next request of the same client connection and idle server connections are reused less.",
        fix: "Add `option prefer-last-server` to the backend (or to its defaults section). Only raised for balance algorithms that do not pick the server from the request (roundrobin, the default, static-rr, leastconn, first, random): with hashing (`balance source`, `uri`, `url_param`, `hdr()`, `rdp-cookie`, `hash`) the option makes little sense.",
    },
    RuleDoc {
        id: "config.no-stats-socket",
        severity: Severity::Warning,
        title: "No stats socket (runtime API)",
        meaning: "Without a `stats socket` nobody can see server states or queues, drain or disable a server during an incident without a reload.",
        fix: "In global: `stats socket /run/haproxy/admin.sock mode 660 level admin` and `stats timeout 30s`.",
    },
    RuleDoc {
        id: "config.stats-socket-not-admin",
        severity: Severity::Warning,
        title: "No stats socket with level admin",
        meaning: "Every stats socket is `operator` (the default) or `user`: state changes (`set server ... state drain|maint`, `set weight`) answer `Permission denied`.",
        fix: "Add `level admin` to the local UNIX socket: `stats socket /run/haproxy/admin.sock mode 660 level admin`.",
    },
    RuleDoc {
        id: "config.stats-socket-exposed",
        severity: Severity::Error,
        title: "Admin stats socket on a non-loopback TCP address",
        meaning: "Anyone who can reach this port can drain or disable every server, change weights, kill sessions: the runtime API has no authentication.",
        fix: "Use a UNIX socket (`stats socket /run/haproxy/admin.sock mode 660 level admin`) or bind to loopback: `stats socket ipv4@127.0.0.1:9999 level admin`.",
    },
    RuleDoc {
        id: "config.stats-socket-world-writable",
        severity: Severity::Error,
        title: "Admin stats socket any local user can open",
        meaning: "A `level admin` UNIX stats socket whose `mode` (on the line, or from `unix-bind` in global) gives write permission to others, e.g. `mode 666` or `mode 777`: connecting to a UNIX socket only takes write permission, so any local user or compromised service on the host can drain or disable every server, change weights and kill sessions (the runtime API has no authentication).",
        fix: "`stats socket /run/haproxy/admin.sock mode 600 level admin` (HAProxy's user only), or `mode 660` with a dedicated group (`group haproxy-admin` on the same line) that holds the operators.",
    },
    RuleDoc {
        id: "config.debug-header",
        severity: Severity::Info,
        title: "Troubleshooting response header",
        meaning: "A frontend, defaults, backend or listen section sets an `X-` response header (`http-response` or `http-after-response` `set-header`/`add-header`): handy to tell which backend and server served a request (`curl -sI`), but it leaks internal names to clients if left in place.",
        fix: "Remove the `set-header X-...` line once the investigation is over, or restrict it to internal clients: `http-after-response set-header X-Served-By %[be_name]/%[srv_name] if { src 10.0.0.0/8 }` (one line in the frontend covers every backend and HAProxy's own error pages).",
    },
    RuleDoc {
        id: "config.timeouts-missing",
        severity: Severity::Warning,
        title: "Missing timeouts",
        meaning: "Without `timeout client` (frontends) or `timeout connect`/`timeout server` (backends), stalled connections are never closed: they pile up until maxconn is reached and new clients queue forever.",
        fix: "In defaults: `timeout connect 5s`, `timeout client 30s`, `timeout server 30s`.",
    },
    RuleDoc {
        id: "config.no-maxconn",
        severity: Severity::Info,
        title: "No global maxconn",
        meaning: "HAProxy derives the process connection limit from the file-descriptor limit (ulimit -n, or memory with -m): the effective value depends on how it is started and may be far above what the host can carry.",
        fix: "In global: `maxconn 50000` (sized to memory: about 2 x 16 kB buffers per connection), and per frontend `maxconn` below it.",
    },
    RuleDoc {
        id: "config.maxconn-vs-ulimit",
        severity: Severity::Warning,
        title: "global maxconn above what ulimit-n allows",
        meaning: "Each proxied connection needs two file descriptors (client and server): with `ulimit-n` set below 2 x maxconn, HAProxy runs out of descriptors before reaching maxconn and accept() fails.",
        fix: "Remove `ulimit-n` (HAProxy computes it from maxconn), or set `ulimit-n` to at least 2 x maxconn + 1000.",
    },
    RuleDoc {
        id: "config.no-health-check",
        severity: Severity::Warning,
        title: "Servers without health checks",
        meaning: "Servers without `check` (and without `track`, which follows another server's checks) are always considered UP: a dead server keeps receiving its share of traffic and clients get 503 or timeouts.",
        fix: "Add `check` to each server line (or `default-server check inter 2s fall 3 rise 2` in the backend), plus `option httpchk GET /health` for HTTP backends.",
    },
    RuleDoc {
        id: "config.single-server-backend",
        severity: Severity::Info,
        title: "Backend with a single server",
        meaning: "No redundancy: draining or losing this server takes the whole backend down (harun refuses to drain the last UP server).",
        fix: "Add a second server (`server s2 <addr>:<port> check`), or a `backup` server.",
    },
];

/// Documentation of every rule id [`lint`] can emit.
pub fn rule_docs() -> &'static [RuleDoc] {
    RULES
}

fn doc(id: &str) -> Option<&'static RuleDoc> {
    RULES.iter().find(|r| r.id == id)
}

/// A finding pre-filled from the rule's documentation.
fn finding(id: &'static str, title: impl Into<String>) -> Finding {
    match doc(id) {
        Some(d) => Finding::new(d.severity, id, title)
            .detail(d.meaning)
            .advice(d.fix),
        None => Finding::new(Severity::Warning, id, title),
    }
}

/// Caps a finding raised by a conditional directive at `warning`.
fn conditional(mut f: Finding, d: &Directive) -> Finding {
    if let Some(c) = &d.condition {
        f.severity = f.severity.min(Severity::Warning);
        let detail = f.detail.take().unwrap_or_default();
        f.detail = Some(format!(
            "{detail} This directive only applies when `.if {c}` holds."
        ));
    }
    f
}

/// Runs every rule.
///
/// `haproxy -c` messages that say what a rule says (same file:line, or the
/// same proxy for "missing timeouts") are folded into the rule's finding: it
/// keeps its meaning and fix, takes the worse of both severities and gets
/// HAProxy's text as evidence (`haproxy -c alert (file:line): ...`). A model
/// without any file means the configuration could not be read: HAProxy's
/// "Cannot open configuration file" is then not reported again as
/// `config.invalid` (the caller reports `config.unreadable`).
pub fn lint(model: &ConfigModel, ctx: &LintContext) -> Vec<Finding> {
    let checks = check_findings(model, ctx);
    let mut rules = Vec::new();
    syntax(model, &mut rules);
    nbproc(model, ctx, &mut rules);
    logging(model, ctx, &mut rules);
    keep_alive(model, &mut rules);
    stats_socket_rules(model, &mut rules);
    world_writable_sockets(model, &mut rules);
    debug_header(model, &mut rules);
    timeouts(model, &mut rules);
    maxconn(model, &mut rules);
    backends(model, &mut rules);
    let mut out = fold_check_findings(model, checks, &mut rules);
    out.extend(rules);
    aggregate(out)
}

/// Rules that say what a `haproxy -c` message says, with words of that message.
/// Only these absorb a message at their location: an unrelated HAProxy error on
/// a `server` line or a section header must stay a `config.invalid` of its own.
const SAME_AS_CHECK: &[(&str, &[&str])] = &[
    ("config.nbproc", &["nbproc"]),
    ("config.timeouts-missing", &["missing timeouts"]),
    (
        "config.syntax",
        &["quote", "'.if'", "'.elif'", "'.else'", "'.endif'"],
    ),
    ("config.maxconn-vs-ulimit", &["ulimit-n"]),
];

/// `file:line` of an evidence line written as `file:line: ...`.
fn evidence_location(e: &str) -> Option<(PathBuf, usize)> {
    let (loc, _) = e.split_once(": ")?;
    let (file, line) = loc.rsplit_once(':')?;
    Some((normalize(Path::new(file)), line.parse().ok()?))
}

/// Where a `haproxy -c` message points: its `[file:line]`, or else the header
/// of the proxy it names (`missing timeouts for frontend 'fe'`).
fn message_locations(model: &ConfigModel, m: &CheckMessage) -> Vec<(PathBuf, usize)> {
    if let (Some(file), Some(line)) = (&m.file, m.line) {
        return vec![(normalize(Path::new(file)), line)];
    }
    let Some(name) = &m.proxy else {
        return Vec::new();
    };
    model
        .proxies()
        .filter(|s| {
            s.name.as_deref() == Some(name.as_str())
                && m.text.contains(&format!("{} '{name}'", s.kind))
        })
        .map(|s| (normalize(&s.file), s.line))
        .collect()
}

/// Folds `haproxy -c` findings into the rule findings that say the same thing;
/// returns the `haproxy -c` findings that are left.
fn fold_check_findings(
    model: &ConfigModel,
    checks: Vec<(Finding, Option<&CheckMessage>)>,
    rules: &mut [Finding],
) -> Vec<Finding> {
    let mut left = Vec::new();
    for (f, m) in checks {
        let Some(m) = m else {
            left.push(f);
            continue;
        };
        let text = m.text.to_ascii_lowercase();
        let locs = message_locations(model, m);
        let mut folded = false;
        for r in rules.iter_mut() {
            let related = SAME_AS_CHECK
                .iter()
                .any(|(id, words)| r.id == *id && words.iter().any(|w| text.contains(w)));
            let here = r
                .evidence
                .first()
                .and_then(|e| evidence_location(e))
                .is_some_and(|l| locs.contains(&l));
            if !(related && here) {
                continue;
            }
            r.severity = r.severity.max(f.severity);
            let first = m.text.lines().next().unwrap_or("");
            r.evidence.push(match m.location() {
                Some(loc) => format!("haproxy -c {} ({loc}): {first}", m.level),
                None => format!("haproxy -c {}: {first}", m.level),
            });
            folded = true;
        }
        if !folded {
            left.push(f);
        }
    }
    left
}

/// Above this many findings with one id, they become one finding.
const AGGREGATE_ABOVE: usize = 10;

/// One finding per id once an id repeats more than [`AGGREGATE_ABOVE`] times:
/// a farm of 2,000 backends without `check` is one problem to fix, not 2,000
/// lines to scroll through at 3 a.m. The first places are kept as evidence.
fn aggregate(findings: Vec<Finding>) -> Vec<Finding> {
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    for f in &findings {
        *counts.entry(f.id.clone()).or_default() += 1;
    }
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut merged: std::collections::HashMap<String, usize> = Default::default();
    for f in findings {
        let n = counts[&f.id];
        if n <= AGGREGATE_ABOVE {
            out.push(f);
            continue;
        }
        let line = match f.evidence.first() {
            Some(e) => format!("{} ({e})", f.title),
            None => f.title.clone(),
        };
        match merged.get(&f.id) {
            Some(&i) => {
                let agg = &mut out[i];
                agg.severity = agg.severity.max(f.severity);
                if agg.evidence.len() < crate::base::report::MAX_EVIDENCE {
                    agg.evidence.push(line);
                }
            }
            None => {
                let title = doc(&f.id).map_or(f.id.as_str(), |d| d.title);
                let mut agg = f.clone();
                agg.title = format!("{title}: {n} places");
                agg.evidence = vec![line];
                merged.insert(f.id.clone(), out.len());
                out.push(agg);
            }
        }
    }
    for i in merged.values() {
        let agg = &mut out[*i];
        let n = counts[&agg.id];
        if n > agg.evidence.len() {
            let more = n - agg.evidence.len();
            agg.evidence.push(crate::base::report::more_evidence(more));
        }
    }
    out
}

/// `config.invalid` and `config.warning` findings, each with the message it comes from.
fn check_findings<'a>(
    model: &ConfigModel,
    ctx: &'a LintContext,
) -> Vec<(Finding, Option<&'a CheckMessage>)> {
    let mut out = Vec::new();
    let Some(check) = &ctx.check else { return out };
    let is_summary = |t: &str| {
        t.starts_with("Error(s) found in configuration file")
            || t.starts_with("Fatal errors found in configuration")
            || t.starts_with("Failed to initialize server(s) addr")
    };
    // Nothing was read: HAProxy could not open it either, and the caller says so.
    let unread = model.files.is_empty();
    let not_opened = |t: &str| unread && t.starts_with("Cannot open configuration file");
    let specific: Vec<_> = check.alerts().filter(|a| !is_summary(&a.text)).collect();
    let alerts: Vec<_> = if specific.is_empty() {
        check.alerts().collect()
    } else {
        specific
    };
    let opened_failed = alerts.iter().any(|a| not_opened(&a.text));
    let alerts: Vec<_> = alerts
        .into_iter()
        .filter(|a| !not_opened(&a.text))
        .collect();
    for a in &alerts {
        let first = a.text.lines().next().unwrap_or("");
        let mut f = finding("config.invalid", format!("haproxy -c: {first}"));
        f.evidence.push(match a.location() {
            Some(loc) => format!("{loc}: {}", a.text),
            None => a.text.clone(),
        });
        out.push((f, Some(*a)));
    }
    if !check.valid && alerts.is_empty() && !opened_failed && !unread {
        out.push((
            finding(
                "config.invalid",
                format!("haproxy -c failed with exit code {}", check.exit_code),
            )
            .evidence(format!("haproxy -c exit code {}", check.exit_code)),
            None,
        ));
    }
    for w in check.warnings() {
        let first = w.text.lines().next().unwrap_or("");
        let mut f = finding("config.warning", format!("haproxy -c: {first}"));
        f.evidence.push(match w.location() {
            Some(loc) => format!("{loc}: {}", w.text),
            None => w.text.clone(),
        });
        out.push((f, Some(w)));
    }
    out
}

fn syntax(model: &ConfigModel, out: &mut Vec<Finding>) {
    for n in &model.notes {
        out.push(
            finding("config.syntax", format!("Syntax: {}", n.message)).evidence(format!(
                "{}: {}",
                n.location(),
                n.message
            )),
        );
    }
}

/// `(major, minor)` of a version string such as `2.6.12-1+deb12u4`.
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.trim().split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

fn version(ctx: &LintContext) -> Option<(u32, u32)> {
    ctx.haproxy_version
        .as_deref()
        .or_else(|| ctx.check.as_ref().and_then(|c| c.version.as_deref()))
        .and_then(major_minor)
}

fn nbproc(model: &ConfigModel, ctx: &LintContext, out: &mut Vec<Finding>) {
    let ver = version(ctx);
    for d in model.global_find("nbproc") {
        let Some(n) = d.args.first().and_then(|a| a.parse::<u64>().ok()) else {
            continue;
        };
        if n <= 1 {
            continue;
        }
        let mut f = finding(
            "config.nbproc",
            format!("nbproc {n}: {n} separate processes"),
        );
        match ver {
            Some(v) if v >= (2, 5) => {
                f.title = format!(
                    "nbproc {n}: fatal error on HAProxy {}.{} (removed in 2.5)",
                    v.0, v.1
                );
            }
            Some(_) => f.severity = Severity::Warning,
            None => {
                f.severity = Severity::Warning;
                f.title = format!("nbproc {n}: multi-process (a fatal error on HAProxy 2.5+)");
            }
        }
        f = f
            .evidence(d.evidence())
            .advice(format!("Remove `nbproc {n}` and write `nbthread {n}` plus `cpu-map auto:1/1-{n} 0-{}` in global (or no `nbthread` at all: since 2.0 HAProxy starts one thread per CPU it is bound to on Linux); keep one `stats socket`.", n - 1));
        out.push(conditional(f, d));
    }
}

/// Lexically normalises a path (`/a/./b/../c` -> `/a/c`), no filesystem access.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn logging(model: &ConfigModel, ctx: &LintContext, out: &mut Vec<Finding>) {
    let logs = log_lines(model);
    let targets: Vec<&(String, Directive)> = logs
        .iter()
        .filter(|(_, d)| d.args.first().map(|a| a != "global").unwrap_or(false))
        .collect();
    if targets.is_empty() {
        let mut f = finding("config.no-log", "No log target: HAProxy logs nothing");
        f.evidence.push(match model.global() {
            Some(g) => format!("{}: global has no `log` line", g.location()),
            None => "no global section".to_string(),
        });
        for (label, d) in &logs {
            f.evidence.push(format!(
                "{} ({label}): `log global` but global has no target",
                d.location()
            ));
        }
        out.push(f);
    }
    let Some((root, root_loc)) = chroot(model) else {
        return;
    };
    if root.is_empty() || normalize(Path::new(&root)) == Path::new("/") {
        return;
    }
    let sockets: Vec<PathBuf> = ctx
        .rsyslog_unix_sockets
        .iter()
        .map(|p| normalize(p))
        .collect();
    for (label, d) in targets {
        let Some(addr) = d.args.first() else { continue };
        if !d.env_vars.is_empty() {
            continue;
        }
        let path = addr.strip_prefix("unix@").unwrap_or(addr);
        if !path.starts_with('/') || !address_is_unix(addr) {
            continue;
        }
        let inside = normalize(&Path::new(&root).join(path.trim_start_matches('/')));
        if sockets.contains(&inside) {
            continue;
        }
        let mut f = finding(
            "config.log-lost-in-chroot",
            format!("`log {addr}` from chroot {root}: logs are lost"),
        )
        .detail(format!(
            "HAProxy is chrooted to {root} and sends logs after the chroot, so `log {addr}` ({label}) writes to {} which no known rsyslog socket provides: every log line is silently dropped.",
            inside.display()
        ))
        .evidence(d.evidence())
        .evidence(format!("{root_loc}: chroot {root}"));
        if let Some(why) = &ctx.rsyslog_unread {
            // Without rsyslog's configuration nobody knows whether it creates
            // the socket inside the chroot: a doubt, not a fact.
            f.severity = f.severity.min(Severity::Warning);
            f.title = format!(
                "`log {addr}` from chroot {root}: logs may be lost (not verified: rsyslog configuration not read)"
            );
            f.detail = Some(format!(
                "HAProxy is chrooted to {root} and sends logs after the chroot, so `log {addr}` ({label}) writes to {}. rsyslog's configuration could not be read, so whether rsyslog creates that socket (`$AddUnixListenSocket {}`) is not verified: if it does not, every log line is silently dropped.",
                inside.display(),
                inside.display()
            ));
            f.evidence.push(why.clone());
        }
        out.push(conditional(f, d));
    }
}

fn keep_alive(model: &ConfigModel, out: &mut Vec<Finding>) {
    for s in model
        .sections
        .iter()
        .filter(|s| s.kind == "defaults" || s.is_proxy())
    {
        if s.option_state("http-server-close") == Some(true) {
            if let Some(d) = s.find("option http-server-close").last() {
                let f = finding(
                    "config.server-close",
                    format!(
                        "{}: option http-server-close closes every server connection",
                        s.label()
                    ),
                )
                .evidence(d.evidence());
                out.push(conditional(f, d));
            }
        }
    }
    for s in model
        .proxies()
        .filter(|s| s.kind == "backend" || s.kind == "listen")
    {
        if model.effective_mode(s) != "http" || s.find("server").count() < 2 {
            continue;
        }
        let closes = ["http-server-close", "httpclose", "forceclose"]
            .iter()
            .any(|o| model.effective_option(s, o) == Some(true));
        if closes || model.effective_option(s, "prefer-last-server") == Some(true) {
            continue;
        }
        let balance = model
            .effective_last(s, "balance")
            .and_then(|d| d.args.first())
            .map_or("roundrobin", String::as_str);
        if !non_deterministic(balance) {
            continue;
        }
        out.push(
            finding(
                "config.no-prefer-last-server",
                format!(
                    "{}: keep-alive without option prefer-last-server",
                    s.label()
                ),
            )
            .evidence(format!(
                "{}: {} (mode http, balance {balance}, no prefer-last-server here or in its defaults)",
                s.location(),
                s.label()
            )),
        );
    }
}

/// Balance algorithms that do not pick the server from the request
/// (configuration.txt, `option prefer-last-server`: it "does not make much sense
/// to use this in combination with hashing algorithms" such as source, uri,
/// url_param, hdr(), rdp-cookie or hash).
fn non_deterministic(balance: &str) -> bool {
    let algo = balance.split('(').next().unwrap_or("").to_ascii_lowercase();
    matches!(
        algo.as_str(),
        "roundrobin" | "static-rr" | "leastconn" | "first" | "random"
    )
}

/// Host part of a TCP address (`ipv4@0.0.0.0:666` -> `0.0.0.0`, `[::1]:9` -> `::1`).
fn tcp_host(address: &str) -> String {
    let a = address
        .split_once('@')
        .map(|(_, r)| r)
        .unwrap_or(address)
        .trim();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    match a.rsplit_once(':') {
        Some((h, _)) => h.to_string(),
        None => a.to_string(),
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim();
    h == "localhost"
        || h == "::1"
        || h.starts_with("127.")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

fn stats_socket_rules(model: &ConfigModel, out: &mut Vec<Finding>) {
    let socks = stats_sockets(model);
    if socks.is_empty() {
        let ev = match model.global() {
            Some(g) => format!("{}: global has no `stats socket` line", g.location()),
            None => "no global section".to_string(),
        };
        out.push(finding("config.no-stats-socket", "No stats socket: no runtime API").evidence(ev));
        return;
    }
    if !socks.iter().any(|s| s.effective_level() == "admin") {
        let mut f = finding(
            "config.stats-socket-not-admin",
            "No stats socket has level admin: drain/maint will answer Permission denied",
        );
        for s in &socks {
            f.evidence.push(format!(
                "{}: stats socket {} (level {}{})",
                s.location,
                s.address,
                s.effective_level(),
                if s.level.is_none() {
                    ", the default"
                } else {
                    ""
                }
            ));
        }
        out.push(f);
    }
    for s in &socks {
        if s.is_unix() || s.effective_level() != "admin" || s.address.contains('$') {
            continue;
        }
        let host = tcp_host(&s.address);
        if is_loopback(&host) {
            continue;
        }
        let shown = if host.is_empty() || host == "*" {
            "all interfaces".to_string()
        } else {
            host.clone()
        };
        let mut f = finding(
            "config.stats-socket-exposed",
            format!("Admin stats socket {} listens on {shown}", s.address),
        )
        .evidence(format!(
            "{}: stats socket {} level admin",
            s.location, s.address
        ))
        .target(s.address.clone());
        if let Some(c) = &s.condition {
            f.severity = f.severity.min(Severity::Warning);
            f.evidence.push(format!("(under .if {c})"));
        }
        out.push(f);
    }
}

/// The octal `mode` of a `stats socket` line, else of `unix-bind` in global
/// (then with that line as evidence).
fn socket_mode<'a>(
    model: &'a ConfigModel,
    d: &'a Directive,
) -> Option<(u32, Option<&'a Directive>)> {
    let (m, from) = match d.param("mode") {
        Some(m) => (m, None),
        None => model
            .global_find("unix-bind")
            .filter_map(|u| u.param("mode").map(|m| (m, Some(u))))
            .last()?,
    };
    let mode = u32::from_str_radix(m.trim_start_matches("0o"), 8).ok()?;
    Some((mode, from))
}

/// `level admin` UNIX sockets on the filesystem whose mode lets others connect
/// (connecting to a UNIX socket takes write permission).
fn world_writable_sockets(model: &ConfigModel, out: &mut Vec<Finding>) {
    for d in model.global_find("stats socket") {
        let Some(address) = d.args.get(1) else {
            continue;
        };
        let path = address
            .strip_prefix("unix@")
            .or_else(|| address.strip_prefix("uxst@"))
            .unwrap_or(address);
        let on_fs = path.starts_with('/') || path.starts_with("./");
        if !on_fs || address.contains('$') || d.param("level") != Some("admin") {
            continue;
        }
        let Some((mode, unix_bind)) = socket_mode(model, d) else {
            continue;
        };
        if mode & 0o002 == 0 {
            continue;
        }
        let mut f = finding(
            "config.stats-socket-world-writable",
            format!(
                "Admin stats socket {address} has mode {mode:o}: any local user can drain every server"
            ),
        )
        .evidence(d.evidence())
        .target(address.clone());
        if let Some(u) = unix_bind {
            f.evidence
                .push(format!("{} (default mode of UNIX sockets)", u.evidence()));
        }
        f.advice = Some(format!(
            "Write `stats socket {path} mode 600 level admin` (only HAProxy's user can connect), or `mode 660 group <admin group>` with a dedicated group holding the operators; then `systemctl reload haproxy`."
        ));
        out.push(conditional(f, d));
    }
}

fn debug_header(model: &ConfigModel, out: &mut Vec<Finding>) {
    let found = super::headers::header_directives(model)
        .filter(|(_, _, name)| super::headers::is_trace_header(name));
    for (s, d, name) in found {
        out.push(
            finding(
                "config.debug-header",
                format!("{} sets response header {name}", s.label()),
            )
            .evidence(d.evidence()),
        );
    }
}

fn has_timeout(model: &ConfigModel, s: &Section, which: &str, legacy: &str) -> bool {
    let kw = format!("timeout {which}");
    let own = model
        .effective_last(s, &kw)
        .map(|d| d.args.get(1).map(String::as_str) != Some("0"));
    own.unwrap_or(false) || model.effective_last(s, legacy).is_some()
}

fn timeouts(model: &ConfigModel, out: &mut Vec<Finding>) {
    for s in model.proxies() {
        let mode = model.effective_mode(s);
        if mode != "http" && mode != "tcp" {
            continue;
        }
        let mut missing = Vec::new();
        if matches!(s.kind.as_str(), "frontend" | "listen")
            && !has_timeout(model, s, "client", "clitimeout")
        {
            missing.push("client");
        }
        if matches!(s.kind.as_str(), "backend" | "listen") {
            if !has_timeout(model, s, "connect", "contimeout") {
                missing.push("connect");
            }
            if !has_timeout(model, s, "server", "srvtimeout") {
                missing.push("server");
            }
        }
        if missing.is_empty() {
            continue;
        }
        let lines: Vec<String> = missing
            .iter()
            .map(|m| format!("timeout {m} {}", if *m == "connect" { "5s" } else { "30s" }))
            .collect();
        out.push(
            finding(
                "config.timeouts-missing",
                format!("{}: no timeout {}", s.label(), missing.join("/")),
            )
            .evidence(format!(
                "{}: {} (not set here nor in its defaults)",
                s.location(),
                s.label()
            ))
            .advice(format!(
                "Add to its defaults section (or to {}): {}",
                s.label(),
                lines
                    .iter()
                    .map(|l| format!("`{l}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
}

fn maxconn(model: &ConfigModel, out: &mut Vec<Finding>) {
    let Some(g) = model.global() else { return };
    let mc = model.global_find("maxconn").last();
    match mc {
        None => out.push(
            finding(
                "config.no-maxconn",
                "No global maxconn: the limit comes from ulimit -n",
            )
            .evidence(format!("{}: global has no `maxconn`", g.location())),
        ),
        Some(m) => {
            let (Some(maxconn), Some(u)) = (
                m.args.first().and_then(|a| a.parse::<u64>().ok()),
                model.global_find("ulimit-n").last(),
            ) else {
                return;
            };
            let Some(ulimit) = u.args.first().and_then(|a| a.parse::<u64>().ok()) else {
                return;
            };
            if maxconn.saturating_mul(2) > ulimit {
                out.push(
                    finding(
                        "config.maxconn-vs-ulimit",
                        format!("maxconn {maxconn} needs about {} file descriptors, ulimit-n is {ulimit}", maxconn.saturating_mul(2)),
                    )
                    .evidence(m.evidence())
                    .evidence(u.evidence())
                    .advice(format!(
                        "Remove `ulimit-n {ulimit}` (HAProxy computes it from maxconn), or write `ulimit-n {}`.",
                        maxconn.saturating_mul(2).saturating_add(1000)
                    )),
                );
            }
        }
    }
}

fn backends(model: &ConfigModel, out: &mut Vec<Finding>) {
    for s in model
        .proxies()
        .filter(|s| s.kind == "backend" || s.kind == "listen")
    {
        let servers: Vec<&Directive> = s.find("server").collect();
        let templates = s.find("server-template").count();
        if servers.is_empty() && templates == 0 {
            continue;
        }
        let default_check = s
            .find("default-server")
            .chain(
                model
                    .defaults_chain(s)
                    .into_iter()
                    .flat_map(|d| d.find("default-server")),
            )
            .any(|d| d.has_arg("check"));
        if !default_check {
            let unchecked: Vec<&&Directive> = servers
                .iter()
                .filter(|d| {
                    // `track bk/srv` follows the tracked server's checks.
                    let params = d.args.get(2..).unwrap_or_default();
                    !d.has_arg("check")
                        && !d.has_arg("disabled")
                        && !params.iter().any(|a| a == "track")
                })
                .collect();
            if !unchecked.is_empty() {
                let names: Vec<&str> = unchecked
                    .iter()
                    .filter_map(|d| d.args.first().map(String::as_str))
                    .collect();
                let mut f = finding(
                    "config.no-health-check",
                    format!("{}: no health check on {}", s.label(), names.join(", ")),
                );
                for d in &unchecked {
                    f.evidence.push(d.evidence());
                }
                out.push(f);
            }
        }
        if servers.len() == 1 && templates == 0 {
            out.push(
                finding(
                    "config.single-server-backend",
                    format!("{} has a single server", s.label()),
                )
                .evidence(servers[0].evidence()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::check::parse_check_output;
    use crate::config::model::{load_config, parse_config};

    fn lint_text(text: &str, ctx: &LintContext) -> Vec<Finding> {
        lint(&parse_config(text, Path::new("h.cfg")), ctx)
    }

    #[test]
    fn repeated_findings_are_aggregated() {
        let mut cfg = String::from(
            "defaults\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n",
        );
        for i in 0..25 {
            cfg.push_str(&format!(
                "backend bk{i}\n    server a 127.0.0.1:80\n    server b 127.0.0.1:81\n"
            ));
        }
        let f = lint_text(&cfg, &LintContext::default());
        let hc: Vec<_> = f
            .iter()
            .filter(|f| f.id == "config.no-health-check")
            .collect();
        assert_eq!(hc.len(), 1, "{:?}", ids(&f));
        assert_eq!(hc[0].title, "Servers without health checks: 25 places");
        assert_eq!(hc[0].evidence.len(), crate::base::report::MAX_EVIDENCE + 1);
        assert!(hc[0].evidence[0].starts_with("backend bk0: no health check on a, b (h.cfg:"));
        assert_eq!(
            hc[0].evidence[crate::base::report::MAX_EVIDENCE],
            "... and 13 more"
        );
    }

    fn ids(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.id.as_str()).collect()
    }

    fn has(f: &[Finding], id: &str) -> bool {
        f.iter().any(|x| x.id == id)
    }

    fn get<'a>(f: &'a [Finding], id: &str) -> &'a Finding {
        f.iter()
            .find(|x| x.id == id)
            .unwrap_or_else(|| panic!("no {id} in {:?}", ids(f)))
    }

    const GOOD: &str = "global
    log 127.0.0.1:514 local0
    maxconn 4096
    stats socket /run/haproxy/admin.sock mode 660 level admin
defaults
    mode http
    log global
    option prefer-last-server
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind :80
    default_backend bk
backend bk
    server s1 10.0.0.1:80 check
    server s2 10.0.0.2:80 check
";

    #[test]
    fn clean_config_has_no_findings() {
        let f = lint_text(GOOD, &LintContext::default());
        assert!(f.is_empty(), "{:?}", ids(&f));
    }

    #[test]
    fn every_finding_is_documented_and_complete() {
        let bad = "global\n  nbproc 4\n  chroot /var/lib/haproxy\n  log /dev/log local0\n  stats socket ipv4@0.0.0.0:666 level admin\n  stats socket /run/haproxy/admin.sock mode 666 level admin\n  maxconn 5000\n  ulimit-n 4000\n.if 1\n  \"unterminated\n.endif\n.endif\ndefaults\n  mode http\n  option http-server-close\nfrontend fe\n  bind :80\nbackend bk\n  http-response set-header X-Test ok\n  server s1 10.0.0.1:80\nbackend bk2\n  no option http-server-close\n  timeout connect 1s\n  timeout server 1s\n  server a 1.1.1.1:80 check\n  server b 1.1.1.2:80 check\n";
        let check = parse_check_output(
            "[ALERT]    (1) : config : parsing [h.cfg:2] : nbproc is not supported any more since HAProxy 2.5.\n[ALERT]    (1) : config : parsing [h.cfg:3] : unknown keyword 'x'.\n[WARNING]  (1) : config : missing timeouts for frontend 'fe'.\n[WARNING]  (1) : config : parsing [h.cfg:9] : something else.\n",
            1,
        );
        let f = lint_text(
            bad,
            &LintContext {
                check: Some(check),
                ..Default::default()
            },
        );
        for x in &f {
            let d = doc(&x.id).unwrap_or_else(|| panic!("{} undocumented", x.id));
            assert!(!x.evidence.is_empty(), "{} has no evidence", x.id);
            assert!(x.detail.is_some() && x.advice.is_some(), "{}", x.id);
            let _ = d;
        }
        for id in [
            "config.invalid",
            "config.warning",
            "config.syntax",
            "config.nbproc",
            "config.log-lost-in-chroot",
            "config.server-close",
            "config.no-prefer-last-server",
            "config.stats-socket-exposed",
            "config.stats-socket-world-writable",
            "config.debug-header",
            "config.timeouts-missing",
            "config.maxconn-vs-ulimit",
            "config.no-health-check",
            "config.single-server-backend",
        ] {
            assert!(has(&f, id), "{id} missing from {:?}", ids(&f));
        }
        // Every documented id is unique.
        let mut all: Vec<_> = rule_docs().iter().map(|r| r.id).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), rule_docs().len());
    }

    #[test]
    fn check_alerts_and_warnings_with_locations() {
        let check = parse_check_output(
            "[ALERT]    (9) : config : parsing [u.cfg:3] : unknown keyword 'foo' in 'global' section\n[ALERT]    (9) : config : Error(s) found in configuration file : u.cfg\n[ALERT]    (9) : config : Fatal errors found in configuration.\n[WARNING]  (9) : config : parsing [u.cfg:10] : 'option httplog' not usable\n",
            1,
        );
        let f = lint_text(
            GOOD,
            &LintContext {
                check: Some(check),
                ..Default::default()
            },
        );
        let inv: Vec<_> = f.iter().filter(|x| x.id == "config.invalid").collect();
        assert_eq!(inv.len(), 1, "summary lines are not separate findings");
        assert_eq!(inv[0].severity, Severity::Error);
        assert!(inv[0].evidence[0].starts_with("u.cfg:3: unknown keyword"));
        assert!(get(&f, "config.warning").evidence[0].starts_with("u.cfg:10:"));
        // Invalid without any alert still reports.
        let f = lint_text(
            GOOD,
            &LintContext {
                check: Some(parse_check_output("", 1)),
                ..Default::default()
            },
        );
        assert!(get(&f, "config.invalid").title.contains("exit code 1"));
    }

    #[test]
    fn nbproc_severity_depends_on_version_and_condition() {
        let cfg = GOOD.replace("    maxconn 4096\n", "    maxconn 4096\n    nbproc 4\n");
        let v = |ver: &str| LintContext {
            haproxy_version: Some(ver.into()),
            ..Default::default()
        };
        let f = lint_text(&cfg, &v("2.6.12-1+deb12u4"));
        let n = get(&f, "config.nbproc");
        assert_eq!(n.severity, Severity::Error);
        assert!(n.evidence[0].starts_with("h.cfg:4: nbproc 4"));
        assert!(n.advice.as_deref().unwrap().contains("nbthread 4"));
        // configuration.txt (nbthread): one thread per bound CPU by default, since 2.0.
        assert!(n.advice.as_deref().unwrap().contains("since 2.0"));
        assert!(!NBPROC_FIX.contains("2.5+ sets"));
        assert!(n.detail.as_deref().unwrap().contains("per process"));
        assert_eq!(
            get(&lint_text(&cfg, &v("2.4.22")), "config.nbproc").severity,
            Severity::Warning
        );
        assert!(!has(
            &lint_text(
                &GOOD.replace("maxconn 4096", "maxconn 4096\n nbproc 1"),
                &v("2.6")
            ),
            "config.nbproc"
        ));
        let cond = GOOD.replace(
            "    maxconn 4096\n",
            "    maxconn 4096\n.if version_before(2.5)\n    nbproc 4\n.endif\n",
        );
        let n = lint_text(&cond, &v("2.6"));
        assert_eq!(get(&n, "config.nbproc").severity, Severity::Warning);
    }

    #[test]
    fn no_log() {
        let cfg = GOOD.replace("    log 127.0.0.1:514 local0\n", "");
        let f = lint_text(&cfg, &LintContext::default());
        assert!(get(&f, "config.no-log")
            .evidence
            .iter()
            .any(|e| e.contains("log global")));
        // A proxy-level target is enough.
        let cfg2 = cfg.replace(
            "    bind :80\n",
            "    bind :80\n    log stdout format raw local0\n",
        );
        assert!(!has(
            &lint_text(&cfg2, &LintContext::default()),
            "config.no-log"
        ));
    }

    #[test]
    fn log_lost_in_chroot_both_directions() {
        let cfg = GOOD.replace(
            "    log 127.0.0.1:514 local0\n",
            "    log /dev/log local0\n    chroot /var/lib/haproxy\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let x = get(&f, "config.log-lost-in-chroot");
        assert!(x
            .detail
            .as_deref()
            .unwrap()
            .contains("/var/lib/haproxy/dev/log"));
        assert!(x
            .advice
            .as_deref()
            .unwrap()
            .contains("log 127.0.0.1:514 local0"));
        assert!(x.advice.as_deref().unwrap().contains("imudp"));
        let ctx = LintContext {
            rsyslog_unix_sockets: vec![PathBuf::from("/var/lib/haproxy/dev/log")],
            ..Default::default()
        };
        assert!(!has(&lint_text(&cfg, &ctx), "config.log-lost-in-chroot"));
        // A network target is fine even when chrooted.
        let net = GOOD.replace(
            "    maxconn 4096\n",
            "    maxconn 4096\n    chroot /var/lib/haproxy\n",
        );
        assert!(!has(
            &lint_text(&net, &LintContext::default()),
            "config.log-lost-in-chroot"
        ));
    }

    #[test]
    fn keep_alive_rules_follow_defaults() {
        let cfg = GOOD.replace(
            "    option prefer-last-server\n",
            "    option http-server-close\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let sc = get(&f, "config.server-close");
        assert!(sc.title.starts_with("defaults"));
        assert!(sc
            .advice
            .as_deref()
            .unwrap()
            .contains("option http-keep-alive"));
        assert!(!has(&f, "config.no-prefer-last-server"));
        // Backend re-enables keep-alive without prefer-last-server.
        let cfg2 = cfg.replace(
            "backend bk\n",
            "backend bk\n    no option http-server-close\n",
        );
        let f2 = lint_text(&cfg2, &LintContext::default());
        assert!(has(&f2, "config.no-prefer-last-server"));
        // Named defaults via `from` give prefer-last-server.
        let cfg3 = format!("{}defaults pls\n  mode http\n  option prefer-last-server\n  timeout connect 1s\n  timeout server 1s\ndefaults\n  mode http\n  timeout connect 1s\n  timeout server 1s\nbackend b2 from pls\n  server a 1.1.1.1:80 check\n  server b 1.1.1.2:80 check\nbackend b3\n  server a 1.1.1.1:80 check\n  server b 1.1.1.2:80 check\n", GOOD);
        let f3 = lint_text(&cfg3, &LintContext::default());
        let titles: Vec<_> = f3
            .iter()
            .filter(|x| x.id == "config.no-prefer-last-server")
            .map(|x| x.title.as_str())
            .collect();
        assert_eq!(titles.len(), 1, "{titles:?}");
        assert!(titles[0].starts_with("backend b3"));
    }

    #[test]
    fn stats_socket_rules() {
        let none = GOOD.replace(
            "    stats socket /run/haproxy/admin.sock mode 660 level admin\n",
            "",
        );
        assert!(has(
            &lint_text(&none, &LintContext::default()),
            "config.no-stats-socket"
        ));
        let op = GOOD.replace(" level admin", "");
        let f = lint_text(&op, &LintContext::default());
        assert!(get(&f, "config.stats-socket-not-admin").evidence[0]
            .contains("level operator, the default"));
        for (addr, exposed) in [
            ("ipv4@0.0.0.0:666", true),
            ("*:9999", true),
            (":9999", true),
            ("10.1.2.3:9999", true),
            ("ipv6@[::]:9999", true),
            ("ipv4@127.0.0.1:9999", false),
            ("127.0.0.1:9999", false),
            ("ipv6@[::1]:9999", false),
            ("unix@/run/x.sock", false),
        ] {
            let cfg = GOOD.replace("/run/haproxy/admin.sock mode 660", addr);
            let f = lint_text(&cfg, &LintContext::default());
            assert_eq!(has(&f, "config.stats-socket-exposed"), exposed, "{addr}");
        }
        // Operator level on 0.0.0.0 is read-only: not-admin, not exposed.
        let cfg = GOOD.replace(
            "/run/haproxy/admin.sock mode 660 level admin",
            "ipv4@0.0.0.0:666",
        );
        assert!(!has(
            &lint_text(&cfg, &LintContext::default()),
            "config.stats-socket-exposed"
        ));
    }

    #[test]
    fn debug_header_only_for_troubleshooting_headers() {
        let cfg = GOOD.replace(
            "\nbackend bk\n",
            "\nbackend bk\n    http-response set-header X-Test ok\n    http-response set-header X-Frame-Options DENY\n    http-response add-header X-Backend %[be_name]\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let d: Vec<_> = f.iter().filter(|x| x.id == "config.debug-header").collect();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].severity, Severity::Info);
        assert!(d[0].evidence[0].contains("X-Test ok"));
    }

    #[test]
    fn timeouts_missing_with_inheritance() {
        let cfg = GOOD.replace("    timeout server 30s\n", "");
        let f = lint_text(&cfg, &LintContext::default());
        let t = get(&f, "config.timeouts-missing");
        assert!(t.title.starts_with("backend bk: no timeout server"));
        assert!(t.advice.as_deref().unwrap().contains("timeout server 30s"));
        // Set in the backend itself: fine.
        let cfg2 = cfg.replace("backend bk\n", "backend bk\n    timeout server 10s\n");
        assert!(!has(
            &lint_text(&cfg2, &LintContext::default()),
            "config.timeouts-missing"
        ));
        // timeout 0 means none.
        let cfg3 = GOOD.replace("timeout client 30s", "timeout client 0");
        assert!(get(
            &lint_text(&cfg3, &LintContext::default()),
            "config.timeouts-missing"
        )
        .title
        .contains("frontend fe"));
    }

    #[test]
    fn maxconn_rules() {
        let cfg = GOOD.replace("    maxconn 4096\n", "");
        assert!(has(
            &lint_text(&cfg, &LintContext::default()),
            "config.no-maxconn"
        ));
        let cfg = GOOD.replace(
            "    maxconn 4096\n",
            "    maxconn 4096\n    ulimit-n 8000\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        assert!(get(&f, "config.maxconn-vs-ulimit")
            .advice
            .as_deref()
            .unwrap()
            .contains("ulimit-n 9192"));
        let ok = GOOD.replace(
            "    maxconn 4096\n",
            "    maxconn 4096\n    ulimit-n 10000\n",
        );
        assert!(!has(
            &lint_text(&ok, &LintContext::default()),
            "config.maxconn-vs-ulimit"
        ));
    }

    #[test]
    fn health_checks_and_single_server() {
        let cfg = GOOD.replace(
            "    server s2 10.0.0.2:80 check\n",
            "    server s2 10.0.0.2:80\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let h = get(&f, "config.no-health-check");
        assert!(h.title.ends_with("s2"));
        // default-server check in defaults covers it.
        let cfg2 = cfg.replace(
            "    mode http\n",
            "    mode http\n    default-server check\n",
        );
        assert!(!has(
            &lint_text(&cfg2, &LintContext::default()),
            "config.no-health-check"
        ));
        let one = GOOD.replace("    server s2 10.0.0.2:80 check\n", "");
        assert!(has(
            &lint_text(&one, &LintContext::default()),
            "config.single-server-backend"
        ));
    }

    #[test]
    fn bad_inputs_do_not_panic() {
        let weird = ".if\n.elif\n.else\n\"\n'\nglobal \"${\nstats socket\nstats socket x level\nnbproc -1\nnbproc 99999999999999999999999\nlog\nchroot\nmaxconn x\nulimit-n 1\n\\\nbackend\nserver\ndefaults from\nfrontend x from nowhere\nunknown-keyword a b c\nhttp-response set-header\n.endif\n";
        let f = lint_text(
            weird,
            &LintContext {
                haproxy_version: Some("garbage".into()),
                ..Default::default()
            },
        );
        assert!(!f.is_empty());
        let m = parse_config("\u{0}\u{1}\u{ff}\n\t\t\n#\n", Path::new("x"));
        let _ = lint(&m, &LintContext::default());
    }

    fn with_check(output: &str, code: i32) -> LintContext {
        LintContext {
            check: Some(parse_check_output(output, code)),
            ..Default::default()
        }
    }

    #[test]
    fn haproxy_c_duplicates_fold_into_the_rule() {
        // nbproc on 2.6: haproxy -c alert and config.nbproc at the same line.
        let cfg = GOOD.replace("    maxconn 4096\n", "    maxconn 4096\n    nbproc 2\n");
        let ctx = with_check(
            "[NOTICE]   (1) : haproxy version is 2.6.12-1+deb12u4\n[ALERT]    (1) : config : parsing [h.cfg:4] : nbproc is not supported any more since HAProxy 2.5. Threads will automatically be used on multi-processor machines if available.\n[ALERT]    (1) : config : Error(s) found in configuration file : h.cfg\n[ALERT]    (1) : config : Fatal errors found in configuration.\n",
            1,
        );
        let f = lint_text(&cfg, &ctx);
        assert!(!has(&f, "config.invalid"), "{:?}", ids(&f));
        let n = get(&f, "config.nbproc");
        assert_eq!(n.severity, Severity::Error);
        assert!(n.evidence[0].starts_with("h.cfg:4: nbproc 2"));
        assert!(
            n.evidence
                .iter()
                .any(|e| e.starts_with("haproxy -c alert (h.cfg:4): nbproc is not supported")),
            "{:?}",
            n.evidence
        );
        // Under .if the rule is capped at warning; HAProxy's alert raises it back.
        let cond = GOOD.replace(
            "    maxconn 4096\n",
            "    maxconn 4096\n.if defined(X)\n    nbproc 2\n.endif\n",
        );
        let ctx = with_check(
            "[ALERT]    (1) : config : parsing [h.cfg:5] : nbproc is not supported any more since HAProxy 2.5.\n",
            1,
        );
        let f = lint_text(&cond, &ctx);
        assert!(!has(&f, "config.invalid"), "{:?}", ids(&f));
        assert_eq!(get(&f, "config.nbproc").severity, Severity::Error);

        // Two proxies without timeouts: two warnings, named by proxy, no file:line.
        let cfg = "global\n    log 127.0.0.1:514 local0\n    maxconn 10\n    stats socket /run/h.sock mode 600 level admin\nfrontend fe\n    mode http\n    bind :80\n    default_backend bk\nbackend bk\n    mode http\n    server s1 10.0.0.1:80 check\n    server s2 10.0.0.2:80 check\n    option prefer-last-server\n";
        let ctx = with_check(
            "[WARNING]  (1) : config : missing timeouts for frontend 'fe'.\n   | While not properly invalid, you will certainly encounter various problems\n[WARNING]  (1) : config : missing timeouts for backend 'bk'.\n   | While not properly invalid.\n",
            0,
        );
        let f = lint_text(cfg, &ctx);
        assert!(!has(&f, "config.warning"), "{:?}", ids(&f));
        let t: Vec<_> = f
            .iter()
            .filter(|x| x.id == "config.timeouts-missing")
            .collect();
        assert_eq!(t.len(), 2, "{:?}", ids(&f));
        assert!(t[0].title.starts_with("frontend fe"));
        assert_eq!(
            t[0].evidence.last().unwrap(),
            "haproxy -c warning: missing timeouts for frontend 'fe'."
        );
        assert!(t[1].evidence.last().unwrap().contains("backend 'bk'"));
        assert_eq!(t[1].severity, Severity::Warning);

        // An unrelated HAProxy error on a flagged server line stays its own finding.
        let cfg = GOOD.replace(
            "    server s2 10.0.0.2:80 check\n",
            "    server s2 nowhere.invalid:80\n",
        );
        let ctx = with_check(
            "[ALERT]    (1) : config : parsing [h.cfg:17] : 'server bk/s2' : could not resolve address 'nowhere.invalid'.\n",
            1,
        );
        let f = lint_text(&cfg, &ctx);
        assert!(has(&f, "config.invalid"), "{:?}", ids(&f));
        let h = get(&f, "config.no-health-check");
        assert_eq!(h.severity, Severity::Warning);
        assert_eq!(h.evidence.len(), 1);
        // A syntax problem both see.
        let cfg = format!("{GOOD}.endif\n");
        let ctx = with_check(
            "[ALERT]    (1) : config : parsing [h.cfg:18]: lone '.endif' with no matching '.if'.\n",
            1,
        );
        let f = lint_text(&cfg, &ctx);
        assert!(!has(&f, "config.invalid"), "{:?}", ids(&f));
        assert_eq!(get(&f, "config.syntax").severity, Severity::Error);
    }

    #[test]
    fn unreadable_configuration_is_not_also_invalid() {
        let missing = with_check(
            "[ALERT]    (1) : config : Cannot open configuration file/directory /nope.cfg : No such file or directory\n",
            1,
        );
        // Nothing was read (the caller reports config.unreadable).
        let f = lint(&ConfigModel::default(), &missing);
        assert!(!has(&f, "config.invalid"), "{:?}", ids(&f));
        // Without any alert, an unread configuration is not "failed with exit code" either.
        let f = lint(&ConfigModel::default(), &with_check("", 1));
        assert!(!has(&f, "config.invalid"), "{:?}", ids(&f));
        // Another alert about an unread file is still reported.
        let other = with_check(
            "[ALERT]    (1) : config : parsing [b.cfg:1] : unknown keyword 'ELF'.\n",
            1,
        );
        assert!(has(
            &lint(&ConfigModel::default(), &other),
            "config.invalid"
        ));
        // A readable model keeps HAProxy's word.
        assert!(has(&lint_text(GOOD, &missing), "config.invalid"));
    }

    #[test]
    fn chroot_logs_unverified_without_rsyslog_configuration() {
        let cfg = GOOD.replace(
            "    log 127.0.0.1:514 local0\n",
            "    log /dev/log local0\n    chroot /var/lib/haproxy\n",
        );
        let why = "rsyslog configuration not read: /etc/rsyslog.conf: No such file or directory";
        let ctx = LintContext {
            rsyslog_unread: Some(why.into()),
            ..Default::default()
        };
        let f = lint_text(&cfg, &ctx);
        let x = get(&f, "config.log-lost-in-chroot");
        assert_eq!(x.severity, Severity::Warning);
        assert!(x.title.contains("not verified"), "{}", x.title);
        assert!(x.evidence.iter().any(|e| e == why));
        assert!(x.detail.as_deref().unwrap().contains("not verified"));
        // Read and without the socket: a fact, an error.
        let f = lint_text(&cfg, &LintContext::default());
        assert_eq!(
            get(&f, "config.log-lost-in-chroot").severity,
            Severity::Error
        );
    }

    #[test]
    fn tracking_servers_need_no_check() {
        let cfg = GOOD.replace(
            "    server s2 10.0.0.2:80 check\n",
            "    server s2 10.0.0.2:80 track bk/s1\n    server s3 10.0.0.3:80\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let h = get(&f, "config.no-health-check");
        assert!(h.title.ends_with("no health check on s3"), "{}", h.title);
        // A server named `track` is not a tracker.
        let cfg = GOOD.replace("server s2 10.0.0.2:80 check", "server track 10.0.0.2:80");
        assert!(has(
            &lint_text(&cfg, &LintContext::default()),
            "config.no-health-check"
        ));
    }

    #[test]
    fn prefer_last_server_only_for_non_deterministic_balance() {
        let base = GOOD.replace("    option prefer-last-server\n", "");
        assert!(get(
            &lint_text(&base, &LintContext::default()),
            "config.no-prefer-last-server"
        )
        .evidence[0]
            .contains("balance roundrobin"));
        for (balance, fires) in [
            ("roundrobin", true),
            ("static-rr", true),
            ("leastconn", true),
            ("first", true),
            ("random", true),
            ("random(2)", true),
            ("source", false),
            ("uri", false),
            ("uri whole", false),
            ("url_param userid", false),
            ("hdr(host)", false),
            ("rdp-cookie", false),
            ("rdp-cookie(mstshash)", false),
            ("hash req.cookie(id)", false),
        ] {
            let cfg = base.replace(
                "\nbackend bk\n",
                &format!("\nbackend bk\n    balance {balance}\n"),
            );
            let f = lint_text(&cfg, &LintContext::default());
            assert_eq!(has(&f, "config.no-prefer-last-server"), fires, "{balance}");
        }
        // Inherited from defaults.
        let cfg = base.replace("    mode http\n", "    mode http\n    balance source\n");
        assert!(!has(
            &lint_text(&cfg, &LintContext::default()),
            "config.no-prefer-last-server"
        ));
    }

    #[test]
    fn debug_header_in_any_proxy_section() {
        let cfg = GOOD
            .replace(
                "    bind :80\n",
                "    bind :80\n    http-after-response set-header X-Served-By %[be_name]/%[srv_name]\n",
            )
            .replace(
                "    mode http\n",
                "    mode http\n    http-response add-header X-Debug 1\n",
            );
        let f = lint_text(&cfg, &LintContext::default());
        let titles: Vec<_> = f
            .iter()
            .filter(|x| x.id == "config.debug-header")
            .map(|x| x.title.as_str())
            .collect();
        assert_eq!(
            titles,
            [
                "defaults sets response header X-Debug",
                "frontend fe sets response header X-Served-By"
            ]
        );
    }

    #[test]
    fn world_writable_admin_socket() {
        let sock = "    stats socket /run/haproxy/admin.sock mode 660 level admin\n";
        for (line, flagged) in [
            (
                "stats socket /run/haproxy/admin.sock mode 666 level admin",
                true,
            ),
            (
                "stats socket /run/haproxy/admin.sock mode 777 level admin",
                true,
            ),
            (
                "stats socket /run/haproxy/admin.sock mode 0666 level admin",
                true,
            ),
            (
                "stats socket unix@/run/haproxy/admin.sock level admin mode 602",
                true,
            ),
            (
                "stats socket /run/haproxy/admin.sock mode 660 level admin",
                false,
            ),
            (
                "stats socket /run/haproxy/admin.sock mode 600 level admin",
                false,
            ),
            (
                "stats socket /run/haproxy/admin.sock mode 664 level admin",
                false,
            ),
            ("stats socket /run/haproxy/admin.sock level admin", false),
            // Not admin: read-only or operator commands.
            (
                "stats socket /run/haproxy/admin.sock mode 666 level operator",
                false,
            ),
            ("stats socket /run/haproxy/admin.sock mode 666", false),
            // Not a file: mode does not apply.
            (
                "stats socket ipv4@127.0.0.1:9999 mode 666 level admin",
                false,
            ),
            ("stats socket abns@haproxy mode 666 level admin", false),
        ] {
            let cfg = GOOD.replace(sock, &format!("    {line}\n"));
            let f = lint_text(&cfg, &LintContext::default());
            assert_eq!(
                has(&f, "config.stats-socket-world-writable"),
                flagged,
                "{line}"
            );
            if flagged {
                let x = get(&f, "config.stats-socket-world-writable");
                assert_eq!(x.severity, Severity::Error);
                assert!(x
                    .advice
                    .as_deref()
                    .unwrap()
                    .contains("mode 600 level admin"));
                assert!(!x.advice.as_deref().unwrap().contains("unix@"));
            }
        }
        // The mode can come from unix-bind.
        let cfg = GOOD.replace(
            sock,
            "    unix-bind mode 666\n    stats socket /run/haproxy/admin.sock level admin\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let x = get(&f, "config.stats-socket-world-writable");
        assert!(
            x.evidence[1].contains("unix-bind mode 666"),
            "{:?}",
            x.evidence
        );
        // Under .if: capped at warning.
        let cfg = GOOD.replace(
            sock,
            ".if defined(DEV)\n    stats socket /run/h.sock mode 666 level admin\n.endif\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        assert_eq!(
            get(&f, "config.stats-socket-world-writable").severity,
            Severity::Warning
        );
    }

    /// Reads a Debian-installed file at test time; missing files fail under CI=true.
    fn installed(path: &str) -> Option<PathBuf> {
        let p = PathBuf::from(path);
        if p.exists() {
            return Some(p);
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {path} is missing: install Debian's haproxy package"
        );
        None
    }

    #[test]
    fn debian_default_config_log_socket_both_ways() {
        let Some(p) = installed("/etc/haproxy/haproxy.cfg") else {
            return;
        };
        let m = load_config(&[p]).unwrap();
        let without = lint(&m, &LintContext::default());
        assert!(
            has(&without, "config.log-lost-in-chroot"),
            "{:?}",
            ids(&without)
        );
        let ctx = LintContext {
            rsyslog_unix_sockets: vec![PathBuf::from("/var/lib/haproxy/dev/log")],
            ..Default::default()
        };
        let with = lint(&m, &ctx);
        assert!(!has(&with, "config.log-lost-in-chroot"), "{:?}", ids(&with));
        assert!(!has(&with, "config.no-stats-socket"));
        assert!(!has(&with, "config.stats-socket-not-admin"));
    }

    #[test]
    fn debian_example_configs_parse_and_lint() {
        let Some(dir) = installed("/usr/share/doc/haproxy/examples") else {
            return;
        };
        let mut seen = 0;
        let entries = std::fs::read_dir(&dir).unwrap();
        for e in entries {
            let path = e.unwrap().path();
            let name = path.to_string_lossy().to_string();
            let text = if name.ends_with(".cfg") {
                crate::config::model::read_config_file(&path).unwrap()
            } else if name.ends_with(".cfg.gz") {
                let out = std::process::Command::new("zcat")
                    .arg(&path)
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).into_owned()
            } else {
                continue;
            };
            let m = parse_config(&text, &path);
            let _ = lint(&m, &LintContext::default());
            seen += 1;
        }
        assert!(seen > 0, "no example config under {}", dir.display());
        // The whole directory through load_config too.
        let m = load_config(&[dir]).unwrap();
        assert!(!m.sections.is_empty());
        let _ = lint(&m, &LintContext::default());
    }

    #[test]
    fn fixtures_lint() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs");
        let m = load_config(&[dir.join("valid.cfg")]).unwrap();
        let f = lint(&m, &LintContext::default());
        assert!(f.is_empty(), "{:?}", ids(&f));
        let m = load_config(&[dir.join("conditional-unknown.cfg")]).unwrap();
        let f = lint(&m, &LintContext::default());
        let n = get(&f, "config.nbproc");
        assert_eq!(n.severity, Severity::Warning);
        assert!(n.evidence[0].contains("under .if version_before(2.5)"));
        assert!(!has(&f, "config.syntax"));
    }
}
