//! Primitives over the HAProxy runtime API: `info`, `stat`, `servers`, `send`.

use super::convert;
use super::ctx::Ctx;
use super::errors::to_rhai;
use super::names;
use super::reg;
use crate::base::error::Error;
use crate::base::report::{Finding, Severity};
use crate::runtime::{info, servers_state, stat, Command};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};
use std::sync::Arc;

type R<T> = Result<T, Box<EvalAltResult>>;

pub(super) fn no_targets() -> Box<EvalAltResult> {
    to_rhai(Error::NoTarget)
}

/// Keep going when some targets fail (each failure becomes a
/// `target.unreachable` finding); fail when all do.
///
/// A target that answers that it has no such backend or server did answer:
/// it is never `target.unreachable`. When every target that answered says
/// so, the read fails as it does on one target (`no_such_backend`,
/// `no_such_server`, naming them, with the nearest names they have); when
/// some have it, the results hold theirs and a `fleet.disagreement`
/// warning names the targets that lack it (see [`names::missing_on_some`]).
pub(super) fn partition<T>(
    ctx: &Ctx,
    results: Vec<(String, crate::base::error::Result<T>)>,
) -> R<Vec<(String, T)>> {
    let mut ok = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    let mut missing = Vec::new();
    // Each target that answered, in order, and whether it has the name.
    let mut order = Vec::with_capacity(results.len());
    for (target, r) in results {
        match r {
            Ok(v) => {
                order.push((target.clone(), true));
                ok.push((target, v));
            }
            Err(e) => {
                let e = names::no_such_proxy(e);
                if names::is_missing(&e) {
                    order.push((target.clone(), false));
                    missing.push((target, e));
                } else {
                    errors.push((target, e));
                }
            }
        }
    }
    if ok.is_empty() && !missing.is_empty() {
        let unanswered: Vec<String> = errors.iter().map(|(t, _)| t.clone()).collect();
        unreachable_findings(ctx, errors);
        return Err(to_rhai(names::missing_everywhere(
            ctx,
            missing,
            &unanswered,
        )));
    }
    if ok.is_empty() && !errors.is_empty() {
        let (_, e) = errors.swap_remove(0);
        return Err(to_rhai(names::explained(ctx, e)));
    }
    if !missing.is_empty() {
        // Once per run (whichever read met it first): a loop that reads it
        // again, or another read of the same name, says nothing new.
        let said = |title: &str| {
            ctx.with_report(|r| {
                r.findings
                    .iter()
                    .any(|f| f.id == "fleet.disagreement" && f.title == title)
            })
        };
        if let Some(finding) = names::missing_on_some(ctx, &order, missing, said) {
            ctx.add_finding(finding);
        }
    }
    unreachable_findings(ctx, errors);
    Ok(ok)
}

/// One finding per target that failed: `target.unreachable` when it did not
/// answer (or not as HAProxy's runtime API does), `target.error` when it
/// answered with an error (a permission, a command this version lacks).
fn unreachable_findings(ctx: &Ctx, errors: Vec<(String, Error)>) {
    for (target, e) in errors {
        if answered_with_error(&e) {
            ctx.add_finding(
                Finding::new(
                    Severity::Error,
                    "target.error",
                    format!("{target}: {}", e.kind()),
                )
                .detail(e.to_string())
                .advice("this target answered, with an error: the command is not one it accepts (its HAProxy version, the socket's level); results omit this target")
                .target(target),
            );
            continue;
        }
        let advice = match crate::diagnose::reach::advice_for(&e, &[]) {
            Some((_, a)) => format!("{a}; results omit this target"),
            None if e.kind() == "ssh" => "check the SSH connection to this host (the detail says what failed); results omit this target".into(),
            None => "check that HAProxy runs and that this socket is configured (`stats socket`); results omit this target".into(),
        };
        ctx.add_finding(
            Finding::new(
                Severity::Error,
                "target.unreachable",
                format!("{target}: {}", e.kind()),
            )
            .detail(e.to_string())
            .advice(advice)
            .target(target),
        );
    }
}

/// Whether `e` is HAProxy's own answer (a permission, a command it does
/// not know, an error message): the target answered. Anything else (a
/// local I/O or SSH failure, a reply cut short) is not an answer.
fn answered_with_error(e: &Error) -> bool {
    matches!(
        e.kind(),
        "permission_denied" | "unknown_command" | "haproxy_error"
    )
}

/// Send a read command to every target.
fn read_all(ctx: &Ctx, cmd: &Command) -> R<Vec<(String, String)>> {
    if ctx.client.is_empty() {
        return Err(no_targets());
    }
    let results = ctx
        .block_on(async { Ok(ctx.client.send_all(cmd).await) })
        .map_err(to_rhai)?;
    partition(ctx, results)
}

pub(super) fn multi(ctx: &Ctx) -> bool {
    ctx.client.targets().len() > 1
}

pub(super) fn malformed(
    target: &str,
    command: &str,
    e: impl std::fmt::Display,
) -> Box<EvalAltResult> {
    to_rhai(Error::Malformed {
        target: target.to_string(),
        command: command.to_string(),
        detail: e.to_string(),
    })
}

/// `cmd` (a `show stat`) on every target, parsed; see [`partition`].
pub(super) fn stats(ctx: &Ctx, cmd: &Command) -> R<Vec<(String, stat::Stat)>> {
    if ctx.client.is_empty() {
        return Err(no_targets());
    }
    let results = ctx
        .block_on(async { Ok(ctx.client.stat_all(cmd).await) })
        .map_err(to_rhai)?;
    partition(ctx, results)
}

pub fn stat_of(ctx: &Ctx, cmd: &Command) -> R<Array> {
    let replies = stats(ctx, cmd)?;
    let mut out = Array::new();
    let mut catalog = crate::script::ctx::Catalog::default();
    for (target, st) in replies {
        let track = ctx.track_catalog.load(std::sync::atomic::Ordering::Relaxed);
        let (true, Some(px), Some(sv)) = (track, st.index("pxname"), st.index("svname")) else {
            convert::stat_rows(&st, target.as_str(), &mut out);
            continue;
        };
        for row in &st.rows {
            let (p, s) = (row.raw(px), row.raw(sv));
            match row.proxy_type() {
                Some(stat::ProxyType::Backend) => {
                    catalog.backends.insert(p.to_string());
                }
                Some(stat::ProxyType::Frontend) => {
                    catalog.frontends.insert(p.to_string());
                }
                Some(stat::ProxyType::Server) => {
                    // Rows come grouped by proxy: look the backend up once per run of rows.
                    match catalog.servers.get_mut(p) {
                        Some(set) => {
                            set.insert(s.to_string());
                        }
                        None => {
                            catalog
                                .servers
                                .insert(p.to_string(), [s.to_string()].into());
                        }
                    }
                }
                _ => {}
            }
        }
        convert::stat_rows(&st, target.as_str(), &mut out);
    }
    if let Ok(mut c) = ctx.catalog.write() {
        c.backends.extend(catalog.backends);
        c.frontends.extend(catalog.frontends);
        for (b, s) in catalog.servers {
            c.servers.entry(b).or_default().extend(s);
        }
    }
    Ok(out)
}

pub fn servers_of(ctx: &Ctx, backend: Option<&str>) -> R<Array> {
    let cmd = Command::show_servers_state(backend).map_err(to_rhai)?;
    let replies = read_all(ctx, &cmd)?;
    let mut out = Array::new();
    for (target, text) in replies {
        let states = servers_state::parse_servers_state(&text)
            .map_err(|e| malformed(&target, cmd.as_str(), e))?;
        let track = ctx.track_catalog.load(std::sync::atomic::Ordering::Relaxed);
        if let (true, Ok(mut c)) = (track, ctx.catalog.write()) {
            for s in &states {
                c.backends.insert(s.be_name.clone());
                c.servers
                    .entry(s.be_name.clone())
                    .or_default()
                    .insert(s.srv_name.clone());
            }
        }
        out.extend(
            states
                .iter()
                .map(|s| convert::server_state(s, target.as_str())),
        );
    }
    Ok(out)
}

/// One target's `show info`, as `(key, value)` pairs in HAProxy's order.
pub(super) type InfoPairs = Vec<(String, String)>;

/// `show info` of every target, parsed; each target's version is noted.
pub(super) fn infos(ctx: &Ctx) -> R<Vec<(String, InfoPairs)>> {
    let cmd = Command::show_info();
    let mut out = Vec::new();
    for (target, text) in read_all(ctx, &cmd)? {
        let pairs = info::parse_info(&text).map_err(|e| malformed(&target, cmd.as_str(), e))?;
        if let Some((_, v)) = pairs.iter().find(|(k, _)| k == "Version") {
            ctx.note_version(&target, v);
        }
        out.push((target, pairs));
    }
    Ok(out)
}

pub fn info_all(ctx: &Ctx) -> R<Array> {
    Ok(infos(ctx)?
        .iter()
        .map(|(target, pairs)| Dynamic::from_map(convert::info_map(pairs, target)))
        .collect())
}

/// The replies of a write `send` went out with, per target.
struct Replies(Vec<(String, String)>);

impl super::rolling::Rolled for Replies {
    fn merge(&mut self, next: Self) {
        self.0.extend(next.0);
    }
    fn outcomes(&self) -> Array {
        self.0
            .iter()
            .map(|(t, reply)| {
                let mut m = Map::new();
                m.insert("target".into(), t.clone().into());
                m.insert("reply".into(), reply.clone().into());
                m.into()
            })
            .collect()
    }
}

/// `send(cmd)`: reads go straight out; writes take the guarded, journaled path.
pub fn send(ctx: &Ctx, raw: &str) -> R<Dynamic> {
    let cmd = Command::raw(raw).map_err(to_rhai)?;
    let replies: Vec<(String, String)> = if cmd.is_write() {
        // With --serial, group by group (see `script/rolling.rs`).
        let serial = ctx.settings.serial.clone();
        super::rolling::roll(
            ctx,
            serial,
            || Ok(vec![cmd.clone()]),
            || {
                let mut out = Replies(Vec::new());
                let fail = |e| to_rhai(super::names::explained(ctx, e));
                for w in ctx.write_detailed(&cmd, false).map_err(fail)? {
                    out.0.push((w.target, w.reply.map_err(fail)?));
                }
                Ok(out)
            },
        )?
        .0
    } else {
        read_all(ctx, &cmd)?
    };
    // Several targets: a map, even when some left no reply (a target
    // without the backend, one that did not answer), as documented.
    if !multi(ctx) && replies.len() == 1 {
        return Ok(replies
            .into_iter()
            .next()
            .map(|(_, t)| t.into())
            .unwrap_or_default());
    }
    let mut m = Map::new();
    for (t, text) in replies {
        m.insert(t.into(), text.into());
    }
    Ok(m.into())
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    let c = ctx.clone();
    reg("info", &["Map"], "The first target's `show info` as a map keyed by HAProxy's own field names\n(`Version`, `Nbthread`, `CurrConns`, `Maxconn`, ...). Numbers are ints.")
        .register_into_engine(engine, move || -> R<Map> {
            // `target` stays with one socket too: the documented keys are
            // there whatever the number of targets.
            let all = info_all(&c)?;
            Ok(all.into_iter().next().and_then(|d| d.try_cast::<Map>()).unwrap_or_default())
        });
    let c = ctx.clone();
    reg(
        "info_all",
        &["Array"],
        "`show info` of every target, one map each with a `target` key.",
    )
    .register_into_engine(engine, move || info_all(&c));
    let c = ctx.clone();
    reg("stat", &["Array"], "Every line of `show stat` as a row read by column name (`r.pxname`,\n`r.svname`, `r.status`, `r.qcur`, ...). Numbers are ints; an empty column reads\nas `()`, never 0; a column that does not exist is an error (probe with\n`\"x\" in r` or `r.get(\"x\")`). Every row has a `target` key.")
        .register_into_engine(engine, move || stat_of(&c, &Command::show_stat()));
    let c = ctx.clone();
    reg(
        "stat",
        &["proxy: String", "Array"],
        "`show stat` lines of one proxy (frontend, backend or listen section) only.",
    )
    .register_into_engine(engine, move |proxy: &str| {
        crate::runtime::command::validate_token("proxy name", proxy).map_err(to_rhai)?;
        let cmd = Command::raw(&format!("show stat {proxy} -1 -1")).map_err(to_rhai)?;
        stat_of(&c, &cmd)
    });
    let c = ctx.clone();
    reg("servers", &["Array"], "`show servers state`, one map per server: HAProxy's raw fields plus the\nstate decoded from the decimal admin bit mask and the operational state\n(keys below).")
        .register_into_engine(engine, move || servers_of(&c, None));
    let c = ctx.clone();
    reg(
        "servers",
        &["backend: String", "Array"],
        "`show servers state <backend>`.",
    )
    .register_into_engine(engine, move |backend: &str| servers_of(&c, Some(backend)));
    let c = ctx.clone();
    reg("send", &["command: String", "?"], "Send exactly one runtime API command (no `;`, no line breaks) and return the\nreply text (a map target => reply with several targets). Commands that change\nstate go through dry-run, read-only, confirmation and the journal.")
        .register_into_engine(engine, move |cmd: &str| send(&c, cmd));
    let c = ctx.clone();
    reg(
        "sleep",
        &["seconds: float", "()"],
        "Wait; Ctrl-C and --max-time interrupt it. In a replay it returns at once and\nthe next `show stat` is the next recorded sample, as if the time had passed.",
    )
    .register_into_engine(engine, move |secs: f64| -> R<()> {
        if !(0.0..=86_400.0).contains(&secs) {
            return Err(super::errors::invalid(
                "seconds",
                secs.to_string(),
                "expected 0 to 86400",
            ));
        }
        c.sleep(std::time::Duration::from_secs_f64(secs))
            .map_err(to_rhai)
    });
    let c = ctx.clone();
    reg(
        "sleep",
        &["seconds: int", "()"],
        "Wait; Ctrl-C and --max-time interrupt it. In a replay it returns at once and\nthe next `show stat` is the next recorded sample, as if the time had passed.",
    )
    .register_into_engine(engine, move |secs: i64| -> R<()> {
        if !(0..=86_400).contains(&secs) {
            return Err(super::errors::invalid(
                "seconds",
                secs.to_string(),
                "expected 0 to 86400",
            ));
        }
        c.sleep(std::time::Duration::from_secs(secs as u64))
            .map_err(to_rhai)
    });
}

#[cfg(test)]
mod answered_tests {
    use super::answered_with_error;
    use crate::base::error::Error;

    #[test]
    fn only_haproxys_own_errors_are_answers() {
        let t = || "lb1".to_string();
        assert!(answered_with_error(&Error::UnknownCommand {
            target: t(),
            command: "show x".into()
        }));
        // Neither an unreachable one nor one that failed here: no answer.
        assert!(!answered_with_error(&Error::Other("missing reply".into())));
        assert!(!answered_with_error(&Error::io(
            "/x",
            std::io::Error::other("broken pipe")
        )));
        assert!(!answered_with_error(&Error::Interrupted));
    }
}
