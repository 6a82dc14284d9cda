//! Primitives over haproxy.cfg: `config`, `config_check`, `config_lint`.
//!
//! Error policy: `config_check` never raises for a missing binary or a
//! timeout: it returns `#{valid: (), error, error_kind}` so a playbook can
//! report it; `config_lint` turns the same problem into a
//! `config.check-unavailable` finding and an unreadable configuration into
//! `config.unreadable`. `config(path)` raises a catchable error with
//! `e.kind == "config_unreadable"` (there is no model to return).

use super::ctx::CheckHost;
use super::ctx::Ctx;
use super::errors::to_rhai;
use super::reg;
use crate::base::error::{Error, ExitCode};
use crate::base::report::{Finding, Severity};
use crate::config::{self, CheckError, ConfigError, ConfigModel, LintContext};
use crate::system::access::{Access, Ask, RunError};
use crate::system::rsyslog::{load_rsyslog_on, RsyslogSetup};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Position};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

type R<T> = Result<T, Box<EvalAltResult>>;

/// Upper bound on one `haproxy -c` / `haproxy -v` run.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// A catchable error with our own `kind` (for kinds the library error has not).
pub(super) fn kind_error(kind: &str, message: impl Into<String>) -> Box<EvalAltResult> {
    let mut m = Map::new();
    m.insert("kind".into(), kind.into());
    m.insert("message".into(), message.into().into());
    m.insert("exit_code".into(), (ExitCode::Usage as i64).into());
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from_map(m),
        Position::NONE,
    ))
}

/// Any Serialize value as a Rhai value.
pub(super) fn dynamic<T: serde::Serialize>(v: &T) -> R<Dynamic> {
    rhai::serde::to_dynamic(v)
}

pub(super) fn paths_of(ctx: &Ctx, path: Option<&str>) -> R<Vec<PathBuf>> {
    match path {
        Some(p) if p.is_empty() || p.contains('\0') => Err(super::errors::invalid(
            "configuration path",
            p,
            "expected a file or directory path",
        )),
        Some(p) => Ok(vec![PathBuf::from(p)]),
        None => Ok(ctx.config_paths()),
    }
}

fn paths_text(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) use crate::config::model::LoadedModel;

/// Loads the model off the script thread (bounded by Ctrl-C and --max-time),
/// once per run and set of paths: troubleshoot's lint, logging and system
/// checks read the same files (a 10 MB configuration is parsed once).
pub(super) fn load_model(ctx: &Ctx, paths: &[PathBuf]) -> R<LoadedModel> {
    if let Some(b) = super::replayed::bundle_for(ctx, paths) {
        if let Some(m) = ctx.cached_model(None, paths) {
            return Ok(m);
        }
        let loaded = Arc::new(super::replayed::config(b));
        ctx.cache_model(None, paths, loaded.clone());
        return Ok(loaded);
    }
    let access = host_access(ctx)?;
    if let Some(m) = ctx.cached_model(access.host(), paths) {
        return Ok(m);
    }
    let owned = paths.to_vec();
    let on = access.clone();
    let loaded = ctx
        .block_on(async move {
            tokio::task::spawn_blocking(move || config::model::load_config_on(&on, &owned))
                .await
                .map_err(|e| Error::Other(format!("loading the configuration: {e}")))
        })
        .map_err(to_rhai)?;
    let loaded = Arc::new(loaded);
    ctx.cache_model(access.host(), paths, loaded.clone());
    Ok(loaded)
}

/// The host the checks read now (see [`Ctx::check_host`]): this machine,
/// or the one SSH host of the run. Several hosts, or a host whose SSH
/// login failed, is a catchable error (kinds `several_hosts`, `ssh`).
pub(super) fn host_access(ctx: &Ctx) -> R<Access> {
    let host = ctx.check_host().map_err(|names| {
        kind_error(
            "several_hosts",
            format!(
                "this reads one host's files, and the run reaches {} hosts ({}): pick one with --limit HOST (or -s), or use config_lint() and log_check(), which check every host",
                names.len(),
                names.join(", ")
            ),
        )
    })?;
    match &host.access {
        Ok(a) => Ok(a.clone()),
        Err(e) => Err(to_rhai(host_error(&host, e))),
    }
}

/// A host's failed login, as an error naming it.
pub(super) fn host_error(host: &CheckHost, e: &Error) -> Error {
    Error::Ssh {
        target: host.shown_name(),
        what: format!("its files cannot be read over SSH: {e}"),
    }
}

/// The hosts a check that returns findings covers: the one a per-host loop
/// is on, else every host of the run.
pub(super) fn hosts_to_check(ctx: &Ctx) -> Vec<Arc<CheckHost>> {
    match ctx.check_host() {
        Ok(h) => vec![h],
        Err(_) => ctx.check_hosts(),
    }
}

/// Run `f` on each of `hosts` (those a check covers: [`hosts_to_check`],
/// or fewer); a host whose login failed gets `unreachable(error)` instead. Every finding names its host (`target`)
/// when it is not this machine.
///
/// Hosts are checked on up to `--forks` threads at once: each waits on its
/// own host (ssh round trips, `haproxy -c` there), so 200 hosts one after
/// the other would add their waits up. The findings come back in host
/// order, and the first error in host order is the one raised, as when
/// they ran one by one.
pub(super) fn on_each_host(
    ctx: &Ctx,
    hosts: Vec<Arc<CheckHost>>,
    f: impl Fn() -> R<Vec<Finding>> + Sync,
    unreachable: impl Fn(&Error) -> Finding,
) -> R<Vec<Finding>> {
    let reachable: Vec<usize> = (0..hosts.len())
        .filter(|i| hosts[*i].access.is_ok())
        .collect();
    let workers = ctx.settings.max_parallel.clamp(1, reachable.len().max(1));
    let mut results: Vec<Option<R<Vec<Finding>>>> = (0..hosts.len()).map(|_| None).collect();
    if workers <= 1 {
        for &i in &reachable {
            let r = ctx.on_host(&hosts[i], &f);
            let failed = r.is_err();
            results[i] = Some(r);
            if failed {
                break;
            }
        }
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&i) = reachable.get(k) else { break };
                    let r = ctx.on_host(&hosts[i], &f);
                    done.lock().unwrap_or_else(|e| e.into_inner()).push((i, r));
                });
            }
        });
        for (i, r) in done.into_inner().unwrap_or_else(|e| e.into_inner()) {
            results[i] = Some(r);
        }
    }
    let mut out = Vec::new();
    for (h, r) in hosts.iter().zip(results) {
        let found = match (&h.access, r) {
            // Its shell runs no commands (learnt on the way): one finding
            // for the host, as for a failed login, not one per file.
            (Ok(a), Some(_)) if a.shell_refused().is_some() => {
                let e = Error::Ssh {
                    target: h.shown_name(),
                    what: a.shell_refused().unwrap_or_default(),
                };
                vec![unreachable(&host_error(h, &e))]
            }
            (Ok(_), Some(r)) => r?,
            (Ok(_), None) => continue,
            (Err(e), _) => vec![unreachable(&host_error(h, e))],
        };
        out.extend(found.into_iter().map(|mut x| {
            if x.target.is_none() {
                x.target.clone_from(&h.name);
            }
            x
        }));
    }
    Ok(out)
}

/// The fix for a configuration that cannot be read.
fn unreadable_fix(e: &ConfigError) -> &'static str {
    match e {
        ConfigError::Binary { .. } => "this is not a haproxy.cfg: pass the configuration file with `-c PATH`",
        ConfigError::TooLarge { .. } => "split the configuration (HAProxy reads every `*.cfg` of a directory given with `-f DIR`) or pass the right file with `-c PATH`",
        ConfigError::NotAFile { .. } => "pass a regular file or a directory of `*.cfg` files with `-c PATH`",
        _ => "check the path and permissions (`ls -l PATH`); pass the configuration with `-c PATH` or `HARUN_CONFIG`; run as a user that can read it",
    }
}

pub(super) use crate::config::check::{version_of, Checked};

pub(super) fn run_check(ctx: &Ctx, paths: &[PathBuf]) -> R<Checked> {
    if let Some(b) = super::replayed::bundle_for(ctx, paths) {
        return Ok(super::replayed::check(b));
    }
    let access = host_access(ctx)?;
    let bin = ctx.settings.haproxy_bin.clone();
    // A configuration lab: its copy is what runs, the user's files are
    // what every message names.
    let copy = ctx
        .settings
        .config_copy
        .clone()
        .filter(|_| access.is_local() && paths == ctx.config_paths().as_slice());
    let paths = match &copy {
        Some(c) => c.run.clone(),
        None => paths.to_vec(),
    };
    let r = ctx
        .block_on(async move {
            tokio::task::spawn_blocking(move || {
                config::check::run_check_on(&access, &bin, &paths, CHECK_TIMEOUT)
            })
            .await
            .map_err(|e| Error::Other(format!("haproxy -c: {e}")))
        })
        .map_err(to_rhai)?;
    Ok(match r {
        Ok(c) => Checked::Ran(match &copy {
            Some(k) => k.name_originals(c),
            None => c,
        }),
        Err(e) => {
            let kind = match e {
                CheckError::BinaryNotFound { .. } => "binary_not_found",
                CheckError::Timeout { .. } => "timeout",
                CheckError::Spawn { .. } => "spawn",
                CheckError::NoPath => "no_path",
            };
            Checked::Failed {
                kind,
                message: e.to_string(),
            }
        }
    })
}

/// `haproxy -v`, first line's version word (`2.6.12-1+deb12u4`).
pub(super) fn haproxy_version(ctx: &Ctx) -> Option<String> {
    if let Some(b) = ctx.replay() {
        return super::replayed::haproxy_version(b);
    }
    let bin = ctx.settings.haproxy_bin.clone();
    let access = host_access(ctx).ok()?;
    let out = ctx
        .block_on(async move {
            tokio::task::spawn_blocking(move || {
                access.run(&bin, &["-v".into()], Duration::from_secs(10), 4096)
            })
            .await
            .map_err(|e| Error::Other(format!("haproxy -v: {e}")))
        })
        .ok()?
        .ok()?;
    version_of(&String::from_utf8_lossy(&out.stdout))
}

/// `haproxy -vv`: the version, build options and features of the binary
/// (the bundle's in a replay). Errors are `(kind, message)`.
pub(super) fn haproxy_vv(ctx: &Ctx) -> R<String> {
    if let Some(b) = ctx.replay() {
        return b.recorded("haproxy -vv").map_err(to_rhai);
    }
    let bin = ctx.settings.haproxy_bin.clone();
    let access = host_access(ctx)?;
    let shown = match access.host() {
        Some(h) => format!("{} (on {h})", bin.display()),
        None => bin.display().to_string(),
    };
    let out = ctx
        .block_on(async move {
            tokio::task::spawn_blocking(move || {
                access.run(&bin, &["-vv".into()], Duration::from_secs(10), 256 * 1024)
            })
            .await
            .map_err(|e| Error::Other(format!("haproxy -vv: {e}")))
        })
        .map_err(to_rhai)?;
    match out {
        Ok(o) if o.code == 0 => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(kind_error(
            "spawn",
            format!("`{shown} -vv` exited with code {}", o.code),
        )),
        Err(RunError::NotFound) => Err(kind_error(
            "binary_not_found",
            format!("haproxy binary `{shown}` not found: install it (`apt-get install haproxy`) or pass `--haproxy-bin PATH`"),
        )),
        Err(RunError::Spawn(e)) => Err(kind_error("spawn", format!("cannot run `{shown} -vv`: {e}"))),
        Err(RunError::Timeout(_)) => Err(kind_error("timeout", format!("`{shown} -vv` timed out after 10s"))),
    }
}

/// rsyslog as configured by `--rsyslog-conf`/`--rsyslog-dir`; a missing
/// configuration is an empty setup with a note saying so.
pub(super) fn rsyslog(ctx: &Ctx) -> RsyslogSetup {
    if let Some(b) = ctx.replay() {
        return super::replayed::rsyslog(b);
    }
    let access = match host_access(ctx) {
        Ok(a) => a,
        Err(e) => {
            let why = match *e {
                EvalAltResult::ErrorRuntime(d, _) => super::errors::message_of(&d),
                other => other.to_string(),
            };
            return RsyslogSetup {
                notes: vec![format!("rsyslog configuration not read: {why}")],
                ..RsyslogSetup::default()
            };
        }
    };
    match load_rsyslog_on(
        &access,
        &ctx.settings.rsyslog_conf,
        &ctx.settings.rsyslog_dir,
    ) {
        Ok(s) => s,
        Err(e) => RsyslogSetup {
            notes: vec![format!("rsyslog configuration not read: {e}")],
            ..RsyslogSetup::default()
        },
    }
}

fn check_map(c: &Checked) -> R<Map> {
    let mut m = Map::new();
    match c {
        Checked::Ran(r) => {
            m.insert("valid".into(), r.valid.into());
            m.insert("exit_code".into(), (r.exit_code as i64).into());
            m.insert("no_listener".into(), r.no_listener.into());
            m.insert("messages".into(), dynamic(&r.messages)?);
            m.insert(
                "version".into(),
                r.version
                    .clone()
                    .map(Dynamic::from)
                    .unwrap_or(Dynamic::UNIT),
            );
            m.insert(
                "other".into(),
                Dynamic::from_array(r.other.iter().cloned().map(Dynamic::from).collect()),
            );
            m.insert("error".into(), Dynamic::UNIT);
            m.insert("error_kind".into(), Dynamic::UNIT);
        }
        // The same keys either way: a playbook reading `.version` must not
        // work where haproxy runs and crash where it does not.
        Checked::Failed { kind, message } => {
            m.insert("valid".into(), Dynamic::UNIT);
            m.insert("exit_code".into(), Dynamic::UNIT);
            m.insert("no_listener".into(), Dynamic::UNIT);
            m.insert("messages".into(), Dynamic::from_array(Array::new()));
            m.insert("version".into(), Dynamic::UNIT);
            m.insert("other".into(), Dynamic::from_array(Array::new()));
            m.insert("error".into(), message.clone().into());
            m.insert("error_kind".into(), (*kind).into());
        }
    }
    Ok(m)
}

fn config_check(ctx: &Ctx, path: Option<&str>) -> R<Map> {
    let paths = paths_of(ctx, path)?;
    let mut checked = run_check(ctx, &paths)?;
    // `haproxy -c` names its version only next to warnings and alerts.
    if let Checked::Ran(r) = &mut checked {
        if r.version.is_none() {
            r.version = haproxy_version(ctx);
        }
    }
    check_map(&checked)
}

/// `trace_headers(header)`: where the configuration sets the header and
/// which proxies answer without it (see `config::headers`).
fn trace_headers(ctx: &Ctx, header: &str) -> R<Dynamic> {
    let paths = paths_of(ctx, None)?;
    match load_model(ctx, &paths)?.as_ref() {
        Ok(m) => dynamic(&config::headers::coverage(
            m,
            Some(header).filter(|h| !h.is_empty()),
        )),
        Err(e) => Err(kind_error(
            "config_unreadable",
            format!("{e}: {}", unreadable_fix(e)),
        )),
    }
}

fn config_model(ctx: &Ctx, path: Option<&str>) -> R<Dynamic> {
    let paths = paths_of(ctx, path)?;
    match load_model(ctx, &paths)?.as_ref() {
        Ok(m) => dynamic(m),
        Err(e) => Err(kind_error(
            "config_unreadable",
            format!("{e}: {}", unreadable_fix(e)),
        )),
    }
}

/// Every lint finding for `paths`, plus `haproxy -c`'s verdict.
pub(super) fn lint_findings(ctx: &Ctx, paths: &[PathBuf]) -> R<Vec<Finding>> {
    // Over SSH, what the lint is about to ask the host, asked in one
    // command (each command costs the host a login shell); what it does
    // not take is dropped at the end.
    let remote = match ctx.replay() {
        None => host_access(ctx).ok().filter(|a| !a.is_local()),
        Some(_) => None,
    };
    if let Some(a) = &remote {
        let bin = ctx.settings.haproxy_bin.clone();
        let mut check: Vec<std::ffi::OsString> = vec!["-c".into()];
        for p in paths {
            check.push("-f".into());
            check.push(p.into());
        }
        let mut asks = vec![
            Ask::Run(bin.clone(), check),
            Ask::Run(bin, vec!["-v".into()]),
        ];
        if ctx.cached_model(a.host(), paths).is_none() {
            asks.extend(
                paths
                    .iter()
                    .filter(|p| p.is_absolute())
                    .map(|p| Ask::Kind(p.clone())),
            );
        }
        if ctx.settings.rsyslog_conf.is_absolute() {
            asks.push(Ask::Kind(ctx.settings.rsyslog_conf.clone()));
        }
        if ctx.settings.rsyslog_dir.is_absolute() {
            asks.push(Ask::List(ctx.settings.rsyslog_dir.clone()));
        }
        a.prefetch(&asks, CHECK_TIMEOUT);
    }
    let r = lint_findings_asked(ctx, paths);
    if let Some(a) = &remote {
        a.forget_prefetched();
    }
    r
}

fn lint_findings_asked(ctx: &Ctx, paths: &[PathBuf]) -> R<Vec<Finding>> {
    let mut out = Vec::new();
    let checked = run_check(ctx, paths)?;
    let mut lctx = LintContext::default();
    match checked {
        Checked::Ran(r) => lctx.check = Some(r),
        Checked::Failed { message, .. } => {
            let doc = config::rule_docs()
                .iter()
                .find(|d| d.id == "config.check-unavailable");
            let mut f = Finding::new(
                Severity::Warning,
                "config.check-unavailable",
                "haproxy -c could not be run: the configuration was linted but not validated",
            )
            .evidence(message);
            if let Some(d) = doc {
                f = f.detail(d.meaning).advice(d.fix);
            }
            out.push(f);
        }
    }
    lctx.haproxy_version = lctx
        .check
        .as_ref()
        .and_then(|c| c.version.clone())
        .or_else(|| haproxy_version(ctx));
    let rs = rsyslog(ctx);
    lctx.rsyslog_unix_sockets = rs.unix_sockets.iter().map(|(p, _)| p.clone()).collect();
    if rs.files.is_empty() {
        let why = rs.notes.join("; ");
        lctx.rsyslog_unread = Some(if why.is_empty() {
            "rsyslog configuration not read".to_string()
        } else {
            why
        });
    }
    match load_model(ctx, paths)?.as_ref() {
        Ok(model) => {
            let mut found = config::lint(model, &lctx);
            for f in &mut found {
                if f.id == "config.log-lost-in-chroot" && lctx.rsyslog_unread.is_none() {
                    f.evidence.extend(rs.notes.iter().cloned());
                }
            }
            out.extend(found);
        }
        Err(e) => {
            // `haproxy -c` findings still count when the model cannot be built.
            let model = ConfigModel::default();
            out.extend(
                config::lint(&model, &lctx)
                    .into_iter()
                    .filter(|f| f.id.starts_with("config.invalid") || f.id == "config.warning"),
            );
            let doc = config::rule_docs()
                .iter()
                .find(|d| d.id == "config.unreadable");
            let mut f = Finding::new(
                Severity::Error,
                "config.unreadable",
                format!("cannot read the configuration {}", paths_text(paths)),
            )
            .evidence(e.to_string())
            .advice(unreadable_fix(e));
            if let Some(d) = doc {
                f = f.detail(d.meaning);
            }
            out.insert(0, f);
        }
    }
    // Most severe first; stable within a severity.
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Ok(out)
}

/// A host whose files cannot be reached: its configuration is unread.
pub(super) fn unreadable_host(e: &Error, paths: &[PathBuf]) -> Finding {
    let mut f = Finding::new(
        Severity::Error,
        "config.unreadable",
        format!("cannot read the configuration {}", paths_text(paths)),
    )
    .evidence(e.to_string())
    .advice("check the SSH login by hand (`ssh HOST true`, with the same user, key and ssh config); the admin socket's error names the cause too");
    if let Some(d) = config::rule_docs()
        .iter()
        .find(|d| d.id == "config.unreadable")
    {
        f = f.detail(d.meaning);
    }
    f
}

fn config_lint(ctx: &Ctx, path: Option<&str>) -> R<Array> {
    let paths = paths_of(ctx, path)?;
    // Each host's findings grouped on their own, then named by their host.
    let findings = on_each_host(
        ctx,
        hosts_to_check(ctx),
        || Ok(crate::base::report::grouped(lint_findings(ctx, &paths)?)),
        |e| unreadable_host(e, &paths),
    )?;
    let mut out = Array::with_capacity(findings.len());
    for f in findings {
        out.push(super::convert::finding(&f));
        ctx.add_finding(f);
    }
    Ok(out)
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    const TRACE: &str = "Troubleshooting response headers in the configuration (`-c`): `#{sets:\n[#{section, header, value, line, location}], uncovered_frontends,\nuncovered_backends: [#{name, kind, location}]}`. `header` names one (any case);\nempty means any `X-` header but security and correlation ones\n(`is_trace_header`). A proxy is covered when it or its defaults chain sets\nit. Raises `e.kind == \"config_unreadable\"` like `config()`.";
    let c = ctx.clone();
    reg("trace_headers", &["header: String", "Map"], TRACE)
        .register_into_engine(engine, move |h: &str| trace_headers(&c, h));
    reg(
        "is_trace_header",
        &["name: String", "bool"],
        "Whether a header name is a troubleshooting header: `X-...`, but not a\nsecurity or correlation header (`X-Frame-Options`, `X-Request-ID`, ...).",
    )
    .register_into_engine(engine, |name: &str| config::headers::is_trace_header(name));
    let c = ctx.clone();
    reg("haproxy_vv", &["String"], "`haproxy -vv` of the `--haproxy-bin` binary: version, build options, features\nand multiplexers. A catchable error when it cannot run (`e.kind`:\n`binary_not_found`, `spawn`, `timeout`). In a replay: the snapshot's.")
        .register_into_engine(engine, move || haproxy_vv(&c));
    let c = ctx.clone();
    reg("config_check", &["Map"], "Run `haproxy -c` (the `--haproxy-bin` binary) on the configuration (`-c`):\n`#{valid, exit_code, no_listener, messages: [#{level, file, line, proxy, server,\ntext}], version, other}`. Exit code 0 valid, 1 errors, 2 valid without listener.\nWhen haproxy cannot run (missing binary, timeout) nothing is raised: `valid`\nand `exit_code` are `()` and `error` says what to fix (`error_kind`:\nbinary_not_found, spawn, timeout). In a replay: the check the snapshot\nrecorded, not the local haproxy on today's files (`error_kind` `not_recorded`\nwhen it holds none).")
        .register_into_engine(engine, move || config_check(&c, None));
    let c = ctx.clone();
    reg(
        "config_check",
        &["path: String", "Map"],
        "`haproxy -c` on this file or directory instead of the configured one.",
    )
    .register_into_engine(engine, move |p: &str| config_check(&c, Some(p)));
    let c = ctx.clone();
    reg("config", &["Map"], "The configuration (`-c`) as a model: `#{files, sections: [#{kind, name, args,\nfile, line, condition, directives: [#{keyword, args, file, line, condition,\nenv_vars}]}], notes}`. Keywords of two words (`stats socket`, `option X`,\n`http-request X`) are kept as written in `keyword` + `args`; unknown directives\nare kept. Raises a catchable error with `e.kind == \"config_unreadable\"` when\nthe files cannot be read (missing, binary, > 16 MiB). In a replay: the copies\nin the bundle, under the paths they had on the host.")
        .register_into_engine(engine, move || config_model(&c, None));
    let c = ctx.clone();
    reg(
        "config",
        &["path: String", "Map"],
        "The model of this file or directory.",
    )
    .register_into_engine(engine, move |p: &str| config_model(&c, Some(p)));
    let c = ctx.clone();
    reg("check_hosts", &["Array"], "The hosts whose files the configuration, rsyslog and host checks read, as\ntheir findings name them (`target`): `localhost` for this machine (a local\nsocket, or none), then each host an `ssh://` or inventory target is on (its\nname, else its `ssh://` address). Logs in to each SSH host (once per run).\n`config_lint()` and `log_check()` cover every one; `config()`,\n`config_check()`, `log_setup()`, `system_check()` and `host_facts()` read one\nand raise `e.kind == \"several_hosts\"` when there are more.")
        .register_into_engine(engine, move || -> Array {
            if c.replay().is_some() {
                return vec!["localhost".into()];
            }
            c.check_hosts()
                .iter()
                .map(|h| h.shown_name().into())
                .collect()
        });
    let c = ctx.clone();
    reg("config_lint", &["Array"], "Lint the configuration (`-c`): runs `haproxy -c`, reads rsyslog (for sockets\ninside the chroot) and the HAProxy version, applies every `config.*` rule (see\ndocs/findings.md). Records each finding in the report (do not call `finding`\nagain for them) and returns them, most severe first (keys below). A missing haproxy binary becomes\n`config.check-unavailable`, an unreadable file `config.unreadable`.")
        .register_into_engine(engine, move || config_lint(&c, None));
    let c = ctx.clone();
    reg(
        "config_lint",
        &["path: String", "Array"],
        "Lint this file or directory instead of the configured one.",
    )
    .register_into_engine(engine, move |p: &str| config_lint(&c, Some(p)));
}
