//! Health primitives over the live process: `server_check`, `queue_check`,
//! `error_check`, `process_check`. The rules live in `crate::health`; this file fetches the
//! replies from every target and records the findings.

use super::ctx::Ctx;
use super::errors::{invalid, to_rhai};
use super::fns_config::dynamic;
use super::fns_runtime::{malformed, multi, partition};
use super::reg;
use crate::health;
use crate::report::Finding;
use crate::runtime::{info, servers_state, Command};
use rhai::{Array, Engine, EvalAltResult, Map};
use std::sync::Arc;

type R<T> = Result<T, Box<EvalAltResult>>;

const DEFAULT_NEAR: f64 = 0.8;

/// Options shared by the checks: `near` (fraction of a limit, 0 < near <= 1)
/// and `backend` (one proxy only).
struct Opts {
    near: f64,
    only: Option<String>,
}

fn opts(m: Option<Map>) -> R<Opts> {
    let mut o = Opts {
        near: DEFAULT_NEAR,
        only: None,
    };
    for (k, v) in m.unwrap_or_default() {
        match k.as_str() {
            "near" => {
                let n = v
                    .as_float()
                    .ok()
                    .or_else(|| v.as_int().ok().map(|i| i as f64))
                    .ok_or_else(|| invalid("near", v.to_string(), "expected a number"))?;
                if !(n > 0.0 && n <= 1.0) {
                    return Err(invalid(
                        "near",
                        n.to_string(),
                        "expected a fraction of the limit, 0 < near <= 1 (e.g. 0.8)",
                    ));
                }
                o.near = n;
            }
            "backend" => {
                let b = v.to_string();
                if !b.is_empty() {
                    crate::runtime::command::validate_token("backend name", &b).map_err(to_rhai)?;
                    o.only = Some(b);
                }
            }
            other => return Err(invalid("option", other, "expected `near` or `backend`")),
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
        out.push(dynamic(&f)?);
        ctx.add_finding(f);
    }
    Ok(())
}

fn no_targets() -> Box<EvalAltResult> {
    to_rhai(crate::Error::Other(
        "no HAProxy socket configured: pass -s ADDR, set HARUN_SOCKET, or add a `stats socket` line to the config".into(),
    ))
}

fn server_check(ctx: &Ctx) -> R<Array> {
    if ctx.client.is_empty() {
        return Err(no_targets());
    }
    let state_cmd = Command::show_servers_state(None).map_err(to_rhai)?;
    let stat_cmd = Command::show_stat();
    let (stats, states) = ctx
        .block_on(async {
            Ok(tokio::join!(
                ctx.client.stat_all(&stat_cmd),
                ctx.client.send_all(&state_cmd)
            ))
        })
        .map_err(to_rhai)?;
    let stats = partition(ctx, stats)?;
    let mut states: Vec<(String, crate::Result<String>)> = states;
    let mut out = Array::new();
    for (target, st) in stats {
        // A servers-state reply that failed or does not parse only costs the
        // admin mask: the status text is the fallback.
        let parsed = states
            .iter_mut()
            .find(|(t, _)| *t == target)
            .and_then(|(_, r)| r.as_ref().ok())
            .and_then(|text| servers_state::parse_servers_state(text).ok())
            .unwrap_or_default();
        record(ctx, &target, health::assess_servers(&st, &parsed), &mut out)?;
    }
    Ok(out)
}

fn queue_check(ctx: &Ctx, o: &Opts) -> R<Array> {
    if ctx.client.is_empty() {
        return Err(no_targets());
    }
    let stats = ctx
        .block_on(async { Ok(ctx.client.stat_all(&Command::show_stat()).await) })
        .map_err(to_rhai)?;
    let mut out = Array::new();
    for (target, st) in partition(ctx, stats)? {
        let f = health::assess_queues(&st, o.near, o.only.as_deref());
        record(ctx, &target, f, &mut out)?;
    }
    Ok(out)
}

/// Two `show stat` samples `seconds` apart on every target (the wait is
/// interrupted by Ctrl-C and --max-time like any sleep).
fn error_check(ctx: &Ctx, m: Option<Map>) -> R<Array> {
    if ctx.client.is_empty() {
        return Err(no_targets());
    }
    let mut seconds = 3.0;
    for (k, v) in m.unwrap_or_default() {
        match k.as_str() {
            "seconds" => {
                seconds = v
                    .as_float()
                    .ok()
                    .or_else(|| v.as_int().ok().map(|i| i as f64))
                    .filter(|s| (0.1..=600.0).contains(s))
                    .ok_or_else(|| invalid("seconds", v.to_string(), "expected 0.1 to 600"))?;
            }
            other => return Err(invalid("option", other, "expected `seconds`")),
        }
    }
    let cmd = Command::show_stat();
    let sample = || -> R<Vec<(String, crate::runtime::stat::Stat)>> {
        let r = ctx
            .block_on(async { Ok(ctx.client.stat_all(&cmd).await) })
            .map_err(to_rhai)?;
        partition(ctx, r)
    };
    let before = sample()?;
    let start = std::time::Instant::now();
    ctx.sleep(std::time::Duration::from_secs_f64(seconds))
        .map_err(to_rhai)?;
    let after = sample()?;
    let secs = start.elapsed().as_secs_f64();
    let mut out = Array::new();
    for (target, st) in after {
        let Some((_, prev)) = before.iter().find(|(t, _)| *t == target) else {
            continue;
        };
        record(
            ctx,
            &target,
            health::assess_errors(prev, &st, secs),
            &mut out,
        )?;
    }
    Ok(out)
}

fn process_check(ctx: &Ctx, o: &Opts) -> R<Array> {
    if ctx.client.is_empty() {
        return Err(no_targets());
    }
    let cmd = Command::show_info();
    let replies = ctx
        .block_on(async { Ok(ctx.client.send_all(&cmd).await) })
        .map_err(to_rhai)?;
    let mut out = Array::new();
    for (target, text) in partition(ctx, replies)? {
        let pairs = info::parse_info(&text).map_err(|e| malformed(&target, cmd.as_str(), e))?;
        if let Some((_, v)) = pairs.iter().find(|(k, _)| k == "Version") {
            ctx.note_version(&target, v);
        }
        record(
            ctx,
            &target,
            health::assess_process(&pairs, o.near),
            &mut out,
        )?;
    }
    Ok(out)
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    const SERVERS: &str = "Servers out of rotation and failing checks on every target: records and\nreturns `servers.down`, `servers.maint`, `servers.drain`, `servers.check-failing`\nand `backend.down` findings (one per backend, servers as evidence). States come\nfrom the admin bit mask of `show servers state`, not the status text.";
    let c = ctx.clone();
    reg("server_check", &["Array"], SERVERS).register_into_engine(engine, move || server_check(&c));
    const QUEUES: &str = "Queues and session limits from `show stat`: records and returns\n`queues.backend`, `queues.server` and `sessions.near-limit` findings.\nOptions: `near` (fraction of slim that counts as close, default 0.8),\n`backend` (one proxy only).";
    let c = ctx.clone();
    reg("queue_check", &["Array"], QUEUES)
        .register_into_engine(engine, move || queue_check(&c, &opts(None)?));
    let c = ctx.clone();
    reg("queue_check", &["opts: Map", "Array"], QUEUES)
        .register_into_engine(engine, move |m: Map| queue_check(&c, &opts(Some(m))?));
    const ERRORS: &str = "Error rates: two `show stat` samples `seconds` apart (default 3), then per\nbackend `backend.errors` (5xx responses; error at 50% or more) and\n`backend.conn-errors` (connection errors to servers), with the servers that\nproduced them. Option: `seconds` (0.1 to 600). Ctrl-C stops the wait.";
    let c = ctx.clone();
    reg("error_check", &["Array"], ERRORS)
        .register_into_engine(engine, move || error_check(&c, None));
    let c = ctx.clone();
    reg("error_check", &["opts: Map", "Array"], ERRORS)
        .register_into_engine(engine, move |m: Map| error_check(&c, Some(m)));
    const PROCESS: &str = "Process limits from `show info`: records and returns `process.maxconn`\n(CurrConns above `near` x Maxconn; error at the limit) and `process.busy`\n(Idle_pct below 10). Option: `near` (default 0.8).";
    let c = ctx.clone();
    reg("process_check", &["Array"], PROCESS)
        .register_into_engine(engine, move || process_check(&c, &opts(None)?));
    let c = ctx.clone();
    reg("process_check", &["opts: Map", "Array"], PROCESS)
        .register_into_engine(engine, move |m: Map| process_check(&c, &opts(Some(m))?));
}
