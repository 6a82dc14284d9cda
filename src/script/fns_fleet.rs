//! The fleet from a playbook: `targets()`, what the run talks to and what
//! an inventory says about each target (`crate::fleet` reads inventories).

use super::errors::to_rhai;
use super::fns_runtime::{malformed, no_targets, partition};
use super::{reg, Ctx};
use crate::fleet::disagree::{self, Disagreement, TargetView};
use crate::fleet::Member;
use crate::runtime::info::parse_info;
use crate::runtime::proc::{Proc, Role};
use crate::runtime::servers_state::parse_servers_state_typed;
use crate::runtime::{Command, Target};
use rhai::{Array, Dynamic, Engine, Map};
use std::sync::Arc;

/// One target as a map: every documented key present, `()` when unknown.
fn target_map(m: &Member) -> Map {
    let mut out = Map::new();
    let opt = |v: Option<Dynamic>| v.unwrap_or(Dynamic::UNIT);
    out.insert("name".into(), m.name.clone().into());
    out.insert("host".into(), m.host.clone().into());
    out.insert("port".into(), opt(m.port.map(|p| Dynamic::from(p as i64))));
    out.insert("user".into(), opt(m.user.clone().map(Dynamic::from)));
    out.insert("socket".into(), m.socket.clone().into());
    out.insert(
        "groups".into(),
        m.groups
            .iter()
            .map(|g| Dynamic::from(g.clone()))
            .collect::<Array>()
            .into(),
    );
    out.insert("connection".into(), m.connection.as_str().into());
    out.insert("address".into(), m.address.to_string().into());
    out
}

/// Every target of the run, in the order results come in.
pub(super) fn targets(ctx: &Ctx) -> Array {
    ctx.client
        .targets()
        .iter()
        .map(|t| {
            let from_inventory = t
                .host_name()
                .and_then(|h| ctx.settings.fleet.iter().find(|m| m.name == h));
            let mut m = match from_inventory {
                Some(m) => m.clone(),
                None => Member::direct(&t.address, &t.name()),
            };
            // A master CLI's worker is named `lb1 (worker 42)` in `target` keys.
            m.name = t.name();
            Dynamic::from_map(target_map(&m))
        })
        .collect()
}

/// A worker's current connections, from its own `show info` routed by the
/// master; `None` when it did not answer (an old worker may exit meanwhile).
async fn sessions_of(master: &Target, pid: u32) -> Option<i64> {
    let text = master
        .rerouted(pid)
        .send(&Command::show_info())
        .await
        .ok()?;
    let pairs = parse_info(&text).ok()?;
    pairs
        .iter()
        .find(|(k, _)| k == "CurrConns")
        .and_then(|(_, v)| v.trim().parse().ok())
}

fn process_map(p: &Proc, target: &str, sessions: Option<i64>) -> Map {
    let mut out = Map::new();
    out.insert("target".into(), target.into());
    out.insert("pid".into(), Dynamic::from(p.pid as i64));
    out.insert("role".into(), p.role.as_str().into());
    out.insert("type".into(), p.kind.clone().into());
    out.insert("reloads".into(), Dynamic::from(p.reloads as i64));
    out.insert(
        "failed_reloads".into(),
        Dynamic::from(p.failed_reloads as i64),
    );
    out.insert("uptime_s".into(), Dynamic::from(p.uptime_s as i64));
    out.insert("version".into(), p.version.clone().into());
    out.insert(
        "sessions".into(),
        sessions.map(Dynamic::from).unwrap_or(Dynamic::UNIT),
    );
    out
}

/// `show proc` of every master CLI of the run, with each worker's sessions.
/// Targets that are not master CLIs list no process.
pub(super) fn processes(ctx: &Ctx) -> Result<Array, Box<rhai::EvalAltResult>> {
    let mut out = Array::new();
    for master in ctx.client.masters() {
        let rows = ctx
            .block_on(async {
                let procs = master.processes().await?;
                let mut rows = Vec::with_capacity(procs.len());
                for p in &procs {
                    let sessions = match p.role {
                        Role::Worker | Role::OldWorker => sessions_of(master, p.pid).await,
                        Role::Master | Role::Program => None,
                    };
                    rows.push(process_map(p, &master.name(), sessions));
                }
                Ok(rows)
            })
            .map_err(to_rhai)?;
        out.extend(rows.into_iter().map(Dynamic::from_map));
    }
    Ok(out)
}

fn disagreement_map(d: &Disagreement) -> Map {
    let mut out = Map::new();
    out.insert("backend".into(), d.backend.clone().into());
    out.insert(
        "server".into(),
        d.server.clone().map(Dynamic::from).unwrap_or(Dynamic::UNIT),
    );
    out.insert("name".into(), d.name().into());
    out.insert("field".into(), d.field.as_str().into());
    let mut values = Map::new();
    for (t, v) in &d.values {
        let v = match v {
            disagree::Value::Bool(b) => Dynamic::from_bool(*b),
            disagree::Value::Int(i) => Dynamic::from_int(*i),
            disagree::Value::Text(s) => Dynamic::from(s.clone()),
        };
        values.insert(t.as_str().into(), v);
    }
    out.insert("values".into(), values.into());
    out.insert(
        "targets".into(),
        d.values
            .iter()
            .map(|(t, _)| Dynamic::from(t.clone()))
            .collect::<Array>()
            .into(),
    );
    out.insert("summary".into(), d.summary().into());
    out
}

/// What the targets say differently about the same backends and servers
/// (see [`crate::fleet::disagree`]): one `show servers state` and one
/// `show backend` per target, in one round trip, all targets at once.
pub(super) fn disagreements(ctx: &Ctx) -> Result<Array, Box<rhai::EvalAltResult>> {
    if ctx.client.is_empty() {
        return Err(no_targets());
    }
    let state = Command::show_servers_state(None).map_err(to_rhai)?;
    let backend = Command::raw("show backend").map_err(to_rhai)?;
    let commands = [state, backend];
    let results = ctx
        .block_on(async { Ok(ctx.client.send_batch_all(&commands).await) })
        .map_err(to_rhai)?;
    let asked = results.len();
    let replies = partition(ctx, results)?;
    // One target left of several compares with nothing: an empty answer
    // would read as "they agree".
    if asked > 1 && replies.len() < 2 {
        return Err(super::fns_config::kind_error(
            "not_compared",
            format!(
                "only {} of {asked} targets answered: nothing to compare it with (the others are `target.unreachable` findings)",
                replies.len()
            ),
        ));
    }
    let mut parsed = Vec::with_capacity(replies.len());
    for (target, mut r) in replies {
        let backends = r.pop();
        let servers = r.pop();
        let text = match servers {
            Some(t) => t.map_err(to_rhai)?,
            None => return Err(malformed(&target, commands[0].as_str(), "no reply")),
        };
        let servers = parse_servers_state_typed(&text)
            .map_err(|e| malformed(&target, commands[0].as_str(), e))?;
        // A target that cannot list its backends (a replay bundle taken
        // without `show backend`) still compares its servers; its backends
        // without servers are left out (see `TargetView::backends`).
        let backends = match backends {
            Some(Ok(t)) => Some(
                disagree::parse_show_backend(&t)
                    .map_err(|e| malformed(&target, commands[1].as_str(), e))?,
            ),
            Some(Err(crate::base::error::Error::NotRecorded { .. })) | None => None,
            Some(Err(e)) => return Err(to_rhai(e)),
        };
        parsed.push((target, servers, backends));
    }
    let views: Vec<TargetView> = parsed
        .iter()
        .map(|(t, s, b)| TargetView {
            target: t,
            servers: s,
            backends: b.as_deref(),
        })
        .collect();
    Ok(disagree::compare(&views)
        .iter()
        .map(|d| Dynamic::from_map(disagreement_map(d)))
        .collect())
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    let c = ctx.clone();
    reg(
        "disagreements",
        &["Array"],
        "What the targets (`-s` sockets, inventory hosts, a master CLI's workers) say\ndifferently about the same backends and servers, one map per backend or server\nand field (keys below): present on some targets only, admin state (maint, drain,\nready), operational state, weight, initial weight, health check status. Checks\nin transition (`UP 1/3`) and servers in maintenance are left out of the\nop_state and check comparisons. One target: nothing to compare, an empty array.",
    )
    .register_into_engine(engine, move || disagreements(&c));
    let c = ctx.clone();
    reg(
        "processes",
        &["Array"],
        "The processes of every master CLI target (`-s master@PATH`), from `show proc`,\none map each (keys below): the master, the current workers, and the old\nworkers a reload left finishing their sessions, with their age and sessions.\nEmpty when no target is a master CLI.",
    )
    .register_into_engine(engine, move || processes(&c));
    let c = ctx.clone();
    reg(
        "targets",
        &["Array"],
        "The targets this run talks to, one map each (keys below): the hosts of the\ninventory (`-i`, `--limit`) with what it says about them, and the sockets given\nwith `-s`. `name` is what `target` keys say.",
    )
    .register_into_engine(engine, move || targets(&c));
}
