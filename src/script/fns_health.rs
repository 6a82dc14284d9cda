//! Health primitives over the live process: `server_check`, `queue_check`,
//! `error_check`, `process_check`, and `live_check`, which reads each reply
//! once for all of them (troubleshoot). The rules live in `crate::diagnose::health`;
//! this file fetches the replies from every target and records the findings.

use super::convert;
use super::ctx::{Ctx, Mark};
use super::errors::{invalid, to_rhai};
use super::fns_runtime::{infos, multi, stats};
use super::reg;
use crate::base::report::Finding;
use crate::diagnose::health;
use crate::runtime::servers_state::{self, ServerState};
use crate::runtime::stat::Stat;
use crate::runtime::Command;
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};
use std::sync::Arc;
use std::time::Duration;

type R<T> = Result<T, Box<EvalAltResult>>;

/// Options of the checks: `near` (fraction of a limit, 0 < near <= 1),
/// `backend` (one proxy only), `seconds` / `sample` (error-rate window).
struct Opts {
    near: f64,
    only: Option<String>,
    /// Seconds between the two `show stat` samples; 0 skips error rates.
    seconds: f64,
}

fn number(what: &'static str, v: &Dynamic) -> R<f64> {
    super::errors::as_number(v).ok_or_else(|| invalid(what, v.to_string(), "expected a number"))
}

fn opts(m: Option<Map>, allowed: &[&str], seconds: f64) -> R<Opts> {
    let mut o = Opts {
        near: 0.8,
        only: None,
        seconds,
    };
    for (k, v) in m.unwrap_or_default() {
        match k.as_str() {
            k if !allowed.contains(&k) => {
                return Err(invalid(
                    "option",
                    k,
                    format!("expected one of {}", allowed.join(", ")),
                ))
            }
            "near" => {
                o.near = number("near", &v)?;
                if !(o.near > 0.0 && o.near <= 1.0) {
                    return Err(invalid(
                        "near",
                        o.near.to_string(),
                        "expected a fraction of the limit, 0 < near <= 1 (e.g. 0.8)",
                    ));
                }
            }
            "backend" => {
                let b = v.to_string();
                if !b.is_empty() {
                    crate::runtime::command::validate_token("backend name", &b).map_err(to_rhai)?;
                    o.only = Some(b);
                }
            }
            // `seconds` for error_check, `sample` for live_check (0: skip).
            _ => {
                let what = if k == "sample" { "sample" } else { "seconds" };
                o.seconds = number(what, &v)?;
                let skip = what == "sample" && o.seconds == 0.0;
                if !skip && !(0.1..=600.0).contains(&o.seconds) {
                    return Err(invalid(what, o.seconds.to_string(), "expected 0.1 to 600"));
                }
            }
        }
    }
    Ok(o)
}

fn record(ctx: &Ctx, target: &str, findings: Vec<Finding>, out: &mut Array) -> R<()> {
    let tag = multi(ctx);
    for mut f in findings {
        if tag {
            f.target = Some(target.to_string());
        }
        out.push(super::convert::finding(&f));
        ctx.add_finding(f);
    }
    Ok(())
}

/// `show servers state` of every target, parsed. A reply that failed or does
/// not parse only costs the admin mask: the checks fall back to the status
/// text (an empty list for that target).
fn states(ctx: &Ctx) -> R<Vec<(String, Vec<ServerState>)>> {
    let cmd = Command::show_servers_state(None).map_err(to_rhai)?;
    let replies = ctx
        .block_on(async { Ok(ctx.client.send_all(&cmd).await) })
        .map_err(to_rhai)?;
    Ok(replies
        .into_iter()
        .map(|(t, r)| {
            let parsed = r
                .ok()
                .and_then(|text| servers_state::parse_servers_state(&text).ok());
            (t, parsed.unwrap_or_default())
        })
        .collect())
}

fn states_of<'a>(all: &'a [(String, Vec<ServerState>)], target: &str) -> &'a [ServerState] {
    all.iter()
        .find(|(t, _)| t == target)
        .map(|(_, s)| s.as_slice())
        .unwrap_or_default()
}

/// Wait `seconds` (Ctrl-C and --max-time interrupt it), sample `show stat`
/// again and record the error rates since `before`. In a replay the wait
/// is the interval the snapshot recorded; a bundle with no usable interval
/// has no rates (`errors.unavailable`, saying why), never rates of 0.
/// Also returns the seconds the rates cover, as a person reads them: the
/// wait live, the recorded interval in a replay (the shortest over the
/// targets), None when no target had rates.
fn errors_since(
    ctx: &Ctx,
    before: &[(String, Stat)],
    taken: Mark,
    seconds: f64,
) -> R<(Array, Option<f64>)> {
    ctx.sleep(Duration::from_secs_f64(seconds))
        .map_err(to_rhai)?;
    let after = stats(ctx, &Command::show_stat())?;
    let mut out = Array::new();
    let mut covered: Option<f64> = None;
    for (target, st) in after {
        let secs = ctx.seconds_since(&taken, &target);
        if secs <= 0.0 {
            let why = match ctx.client.targets().iter().find(|t| t.name() == target) {
                Some(t) => match t.replay() {
                    Some(r) => r.why_no_interval(),
                    None => {
                        format!("no time passed between the two `show stat` samples of {target}")
                    }
                },
                None => format!("no second `show stat` sample of {target}"),
            };
            record(
                ctx,
                &target,
                vec![health::errors_unavailable(&why)],
                &mut out,
            )?;
            continue;
        }
        if let Some((_, prev)) = before.iter().find(|(t, _)| *t == target) {
            record(
                ctx,
                &target,
                health::assess_errors(prev, &st, secs),
                &mut out,
            )?;
            covered = Some(covered.map_or(secs, |c| c.min(secs)));
        }
    }
    let shown = match ctx.replay() {
        Some(_) => covered.map(rounded),
        None => covered.map(|_| seconds),
    };
    Ok((out, shown))
}

/// Seconds as a summary shows them: tenths, or thousandths below 0.1 s.
fn rounded(secs: f64) -> f64 {
    if secs >= 0.1 {
        (secs * 10.0).round() / 10.0
    } else {
        (secs * 1000.0).round() / 1000.0
    }
}

fn server_check(ctx: &Ctx) -> R<Array> {
    let st = stats(ctx, &Command::show_stat())?;
    let all = states(ctx)?;
    let mut out = Array::new();
    for (target, stat) in st {
        let f = health::assess_servers(&stat, states_of(&all, &target));
        record(ctx, &target, f, &mut out)?;
    }
    Ok(out)
}

fn queue_check(ctx: &Ctx, o: &Opts) -> R<Array> {
    let mut out = Array::new();
    // One proxy: HAProxy's own `show stat PROXY` says when it has no such
    // proxy (a filter of the whole table would find nothing and say nothing).
    let cmd = match &o.only {
        Some(b) => Command::raw(&format!("show stat {b} -1 -1")).map_err(to_rhai)?,
        None => Command::show_stat(),
    };
    for (target, st) in stats(ctx, &cmd)? {
        let f = health::assess_queues(&st, o.near, o.only.as_deref());
        record(ctx, &target, f, &mut out)?;
    }
    // Old workers of a master CLI (after a reload) still queue and hold
    // sessions on their own configuration: judged the same, named apart.
    // One that exits meanwhile has nothing left to judge.
    let old = ctx
        .block_on(async {
            let mut read = Vec::new();
            for t in ctx.client.old_workers().await {
                if let Ok(st) = t.stat(&cmd).await {
                    read.push((t.name(), st));
                }
            }
            Ok(read)
        })
        .map_err(to_rhai)?;
    for (target, st) in old {
        for mut f in health::assess_queues(&st, o.near, o.only.as_deref()) {
            f.target = Some(target.clone());
            out.push(super::convert::finding(&f));
            ctx.add_finding(f);
        }
    }
    Ok(out)
}

fn error_check(ctx: &Ctx, o: &Opts) -> R<Array> {
    let before = stats(ctx, &Command::show_stat())?;
    Ok(errors_since(ctx, &before, ctx.mark(), o.seconds)?.0)
}

fn process_check(ctx: &Ctx, o: &Opts) -> R<Array> {
    let mut out = Array::new();
    for (target, pairs) in infos(ctx)? {
        record(
            ctx,
            &target,
            health::assess_process(&pairs, o.near),
            &mut out,
        )?;
    }
    Ok(out)
}

/// Everything troubleshoot asks of the live process, each reply read once
/// per target: `show info`, `show stat` (the first error-rate sample too) and
/// `show servers state`, then the second `show stat` after `sample` seconds.
fn live_check(ctx: &Ctx, o: &Opts) -> R<Map> {
    let info = infos(ctx)?;
    let st = stats(ctx, &Command::show_stat())?;
    let taken = ctx.mark();
    let all = states(ctx)?;
    let (mut process, mut servers, mut queues) = (Array::new(), Array::new(), Array::new());
    let (mut in_rotation, mut total, mut queued) = (0, 0, 0);
    for (target, pairs) in &info {
        record(
            ctx,
            target,
            health::assess_process(pairs, o.near),
            &mut process,
        )?;
    }
    for (target, stat) in &st {
        let states = states_of(&all, target);
        record(
            ctx,
            target,
            health::assess_servers(stat, states),
            &mut servers,
        )?;
        record(
            ctx,
            target,
            health::assess_queues(stat, o.near, None),
            &mut queues,
        )?;
        let (r, t, q) = health::summary(stat, states);
        (in_rotation, total, queued) = (in_rotation + r, total + t, queued + q);
    }
    let mut m = Map::new();
    let maps: Array = info
        .iter()
        .map(|(t, p)| Dynamic::from_map(convert::info_map(p, t)))
        .collect();
    m.insert("infos".into(), Dynamic::from_array(maps));
    m.insert("process".into(), Dynamic::from_array(process));
    m.insert("servers".into(), Dynamic::from_array(servers));
    m.insert("queues".into(), Dynamic::from_array(queues));
    m.insert("in_rotation".into(), (in_rotation as i64).into());
    m.insert("servers_total".into(), (total as i64).into());
    m.insert("queued".into(), queued.into());
    let (errors, covered) = if o.seconds > 0.0 {
        let (found, covered) = errors_since(ctx, &st, taken, o.seconds)?;
        (Dynamic::from_array(found), covered)
    } else {
        (Dynamic::UNIT, None)
    };
    m.insert("errors".into(), errors);
    m.insert(
        "sample_seconds".into(),
        covered.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT),
    );
    Ok(m)
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    const SERVERS: &str = "Servers out of rotation and failing checks on every target: records and\nreturns `servers.down`, `servers.maint`, `servers.drain`, `servers.check-failing`\nand `backend.down` findings (one per backend, servers as evidence). States come\nfrom the admin bit mask of `show servers state`, not the status text.";
    let c = ctx.clone();
    reg("server_check", &["Array"], SERVERS).register_into_engine(engine, move || server_check(&c));
    const QUEUES: &str = "Queues and session limits from `show stat`: records and returns\n`queues.backend`, `queues.server` and `sessions.near-limit` findings.\nOptions: `near` (fraction of slim that counts as close, default 0.8),\n`backend` (one proxy only).";
    let c = ctx.clone();
    reg("queue_check", &["Array"], QUEUES)
        .register_into_engine(engine, move || queue_check(&c, &opts(None, &[], 0.0)?));
    let c = ctx.clone();
    reg("queue_check", &["opts: Map", "Array"], QUEUES)
        .register_into_engine(engine, move |m: Map| {
            queue_check(&c, &opts(Some(m), &["near", "backend"], 0.0)?)
        });
    const ERRORS: &str = "Error rates: two `show stat` samples `seconds` apart (default 3), then per\nbackend `backend.errors` (5xx responses; error at 50% or more) and\n`backend.conn-errors` (connection errors to servers), with the servers that\nproduced them. Option: `seconds` (0.1 to 600). Ctrl-C stops the wait.";
    let c = ctx.clone();
    reg("error_check", &["Array"], ERRORS)
        .register_into_engine(engine, move || error_check(&c, &opts(None, &[], 3.0)?));
    let c = ctx.clone();
    reg("error_check", &["opts: Map", "Array"], ERRORS)
        .register_into_engine(engine, move |m: Map| {
            error_check(&c, &opts(Some(m), &["seconds"], 3.0)?)
        });
    const PROCESS: &str = "Process limits from `show info`: records and returns `process.maxconn`\n(CurrConns above `near` x Maxconn; error at the limit) and `process.busy`\n(Idle_pct below 10). Option: `near` (default 0.8).";
    let c = ctx.clone();
    reg("process_check", &["Array"], PROCESS)
        .register_into_engine(engine, move || process_check(&c, &opts(None, &[], 0.0)?));
    let c = ctx.clone();
    reg("process_check", &["opts: Map", "Array"], PROCESS)
        .register_into_engine(engine, move |m: Map| {
            process_check(&c, &opts(Some(m), &["near"], 0.0)?)
        });
    const LIVE: &str = "Everything troubleshoot asks of the live process, reading `show info`, `show stat`\nand `show servers state` once per target: records the findings of\n`process_check`, `server_check`, `queue_check` and (after `sample` seconds,\ndefault 3, 0 skips it) `error_check`, and returns `#{infos, process, servers,\nqueues, errors, sample_seconds, in_rotation, servers_total, queued}` (`infos` as\n`info_all()`; `errors` is `()` when skipped; `sample_seconds` is the time the\nerror rates cover: `sample` live, the interval the snapshot recorded in a replay,\nto a tenth of a second, `()` when skipped or when no target had rates).\nOptions: `near`, `sample`.";
    let c = ctx.clone();
    reg("live_check", &["opts: Map", "Map"], LIVE).register_into_engine(engine, move |m: Map| {
        live_check(&c, &opts(Some(m), &["near", "sample"], 3.0)?)
    });
}
