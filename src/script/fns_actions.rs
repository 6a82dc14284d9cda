//! Write primitives (`set_state`, `set_weight`, `shutdown_sessions`,
//! `enable_health`/`disable_health`, `enable_agent`/`disable_agent`) and
//! `drain`. Every write goes through [`Ctx::write_detailed`]: read-only,
//! last-server guard, dry-run, confirmation and the journal.

use super::ctx::{Ctx, OnRefusal, WriteOutcome};
use super::errors::{invalid, to_rhai};
use super::reg;
use super::rolling::{roll, serial_of, Rolled};
use crate::actions::drain::{drain_status, resolve_servers, Remaining};
use crate::actions::journal::ServerSnapshot;
use crate::base::error::{Error, Result};
use crate::base::report::{Finding, Severity};
use crate::base::sink::{Event, Progress};
use crate::runtime::servers_state::parse_servers_state;
use crate::runtime::stat::parse_stat;
use crate::runtime::{AdminAction, Command, ServerRef};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};
use std::sync::Arc;
use std::time::{Duration, Instant};

type R<T> = std::result::Result<T, Box<EvalAltResult>>;

const RESULT_DOC: &str = "`server` is `backend/server`, or a bare server name for that server in every\nbackend that has it (several servers go out as one batch, see the array form). `opts`: `#{force: true}` lifts the last-server guard;\n`serial` (hosts per group: `1`, `\"25%\"`, `\"1,5,25%\"`; `0` all at once) overrides `--serial`:\nwith one, the write goes to the hosts group by group and stops at the first group that\nfails, throwing with `e.rolling` (`group`, `groups`, `done`, `failed`, `not_written`, `untouched`).\nReturns an array of write outcomes, one per server and target (keys below;\n`after` is `()` in dry-run). Goes through dry-run, read-only, confirmation, the last-server guard\nand the journal; a refused or failed write throws (`e.kind`: `refused`,\n`permission_denied`, `no_such_server`, ...).";

const BATCH_DOC: &str = "With an array of servers (`backend/server` or bare names): one batch.\nBefore anything is sent, one round trip per target reads every backend\ninvolved; every server must exist and the last-server guard judges each\nwrite on the backends as the earlier writes of the batch leave them\n(servers that `track` a written one count): a batch that would empty a\nbackend is refused whole, nothing sent. `partial: true` skips the writes\nthat cannot go (unknown server, refused by the guard) and sends the rest;\neach skipped one is in the result (`outcome: \"skipped\"`, `error` says why)\nand in the journal. One confirmation for the batch. Then, per target, one\npipelined exchange: the commands, the state after, and a reload check. The\njournal has each command before it is sent (synced once per batch) and its\noutcome after, with the server's state before and after. A command HAProxy\nrefuses, or a reload during the batch, throws an error that says how far it\nwent (later targets are not written), with the outcomes as `e.writes`.\nMany times faster than a loop of single calls.";

/// `backend/server` or a bare name, resolved against the live process.
fn resolve(ctx: &Ctx, name: &str) -> Result<Vec<ServerRef>> {
    resolve_all(ctx, std::slice::from_ref(&name.to_string()))
}

/// Every name resolved, in order; the live process is read once, and only
/// when a bare name needs it.
fn resolve_all(ctx: &Ctx, names: &[String]) -> Result<Vec<ServerRef>> {
    let known = if names.iter().all(|n| n.contains('/')) {
        Vec::new()
    } else {
        for n in names.iter().filter(|n| !n.contains('/')) {
            crate::runtime::command::validate_name("server name", n)?;
        }
        known_servers(ctx)?
    };
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        if !n.contains('/') && !known.iter().any(|(_, s)| s == n) {
            let targets: Vec<String> = ctx
                .scoped_client()
                .targets()
                .iter()
                .map(|t| t.name())
                .collect();
            return Err(super::names::bare_server_unknown(&targets, n, &known));
        }
        out.extend(resolve_servers(
            n,
            known.iter().map(|(b, s)| (b.as_str(), s.as_str())),
        )?);
    }
    Ok(out)
}

/// (backend, server) of every server of every target.
fn known_servers(ctx: &Ctx) -> Result<Vec<(String, String)>> {
    // The group of a rolling change, or every target.
    let client = ctx.scoped_client();
    if client.is_empty() {
        return Err(Error::NoTarget);
    }
    let cmd = Command::show_servers_state(None)?;
    let replies = ctx.block_on(async { Ok(client.send_all(&cmd).await) })?;
    let mut known: Vec<(String, String)> = Vec::new();
    let mut first_err = None;
    for (target, r) in replies {
        match r {
            Ok(text) => {
                let states = parse_servers_state(&text).map_err(|e| Error::Malformed {
                    target: target.clone(),
                    command: cmd.to_string(),
                    detail: e.to_string(),
                })?;
                known.extend(states.into_iter().map(|s| (s.be_name, s.srv_name)));
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) if known.is_empty() => Err(e),
        _ => Ok(known),
    }
}

/// A server's state before or after a write, as the playbook sees it (the
/// keys of the journal's `before`/`after`); `()` when unknown.
fn snapshot_to_dynamic(v: Option<ServerSnapshot>) -> Dynamic {
    let Some(v) = v else {
        return Dynamic::UNIT;
    };
    let mut m = Map::new();
    m.insert("op_state".into(), v.op_state.to_string().into());
    m.insert("admin_state".into(), i64::from(v.admin_state).into());
    m.insert(
        "admin_flags".into(),
        Dynamic::from_array(
            v.admin_flags
                .into_iter()
                .map(|f| Dynamic::from(f.to_string()))
                .collect(),
        ),
    );
    m.insert("drain".into(), v.drain.into());
    m.insert("maint".into(), v.maint.into());
    m.insert(
        "weight".into(),
        v.weight.map_or(Dynamic::UNIT, Dynamic::from),
    );
    m.into()
}

/// `backend`, `server`, `name` and `target`, as every server-shaped value
/// carries them (see `vocabulary::SERVER_IDENTITY`); `()` for a command
/// that names no server.
fn insert_identity(m: &mut Map, server: Option<&ServerRef>, target: String) {
    let (backend, srv, name) = match server {
        Some(s) => (
            Dynamic::from(s.backend.clone()),
            Dynamic::from(s.server.clone()),
            Dynamic::from(s.to_string()),
        ),
        None => (Dynamic::UNIT, Dynamic::UNIT, Dynamic::UNIT),
    };
    m.insert("backend".into(), backend);
    m.insert("server".into(), srv);
    m.insert("name".into(), name);
    m.insert("target".into(), target.into());
}

fn outcome_map(w: WriteOutcome) -> (Map, Option<Error>) {
    let mut m = Map::new();
    insert_identity(&mut m, w.server.as_ref(), w.target);
    m.insert("command".into(), w.command.into());
    m.insert("outcome".into(), w.outcome.into());
    m.insert("before".into(), snapshot_to_dynamic(w.before));
    m.insert("after".into(), snapshot_to_dynamic(w.after));
    let err = match w.reply {
        Ok(r) => {
            m.insert("reply".into(), r.trim_end().to_string().into());
            m.insert("error".into(), Dynamic::UNIT);
            None
        }
        Err(e) => {
            m.insert("reply".into(), Dynamic::UNIT);
            m.insert("error".into(), e.to_string().into());
            Some(e)
        }
    };
    (m, err)
}

/// Send `build(server)` for every resolved server: one server as a single
/// write (one round trip), several as one batch ([`apply_batch`]: judged
/// together by the guard, pipelined).
fn apply(
    ctx: &Ctx,
    servers: &[ServerRef],
    force: bool,
    build: &dyn Fn(&ServerRef) -> Result<Command>,
) -> R<Array> {
    let [server] = servers else {
        return apply_batch(ctx, servers, force, OnRefusal::Whole, build);
    };
    let cmd = build(server).map_err(|e| fail(ctx, e))?;
    let mut out = Array::new();
    let mut first_err = None;
    for w in ctx.write_detailed(&cmd, force).map_err(|e| fail(ctx, e))? {
        let (m, err) = outcome_map(w);
        out.push(m.into());
        if first_err.is_none() {
            first_err = err;
        }
    }
    match first_err {
        // The other targets' outcomes go with it (`e.writes`).
        Some(e) => Err(super::errors::to_rhai_batch(
            super::names::explained(ctx, e),
            "",
            out,
        )),
        None => Ok(out),
    }
}

/// An error as the playbook gets it: a backend or server HAProxy does not
/// have ends with the nearest names it does (see [`super::names`]).
fn fail(ctx: &Ctx, e: Error) -> Box<EvalAltResult> {
    to_rhai(super::names::explained(ctx, e))
}

fn opt_bool(opts: &Map, key: &str) -> R<bool> {
    match opts.get(key) {
        None => Ok(false),
        Some(v) if v.is_unit() => Ok(false),
        Some(v) => v
            .as_bool()
            .map_err(|_| invalid("option", format!("{key}: {v}"), "expected true or false")),
    }
}

fn opt_secs(opts: &Map, key: &str, default: f64) -> R<f64> {
    let v = match opts.get(key) {
        None => return Ok(default),
        Some(v) if v.is_unit() => return Ok(default),
        Some(v) => v,
    };
    let secs = if let Some(n) = super::errors::as_number(v) {
        n
    } else if v.is_string() {
        let s = v.to_string();
        s.trim()
            .parse::<f64>()
            .map_err(|_| invalid("option", format!("{key}: {s}"), "expected seconds"))?
    } else {
        return Err(invalid("option", format!("{key}: {v}"), "expected seconds"));
    };
    if !(0.0..=86_400.0).contains(&secs) || secs.is_nan() {
        return Err(invalid(
            "option",
            format!("{key}: {secs}"),
            "expected 0 to 86400 seconds",
        ));
    }
    Ok(secs)
}

fn check_keys(opts: &Map, allowed: &[&str]) -> R<()> {
    for k in opts.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(invalid(
                "option",
                k.to_string(),
                format!("expected one of: {}", allowed.join(", ")),
            ));
        }
    }
    Ok(())
}

fn write_fn(
    ctx: &Ctx,
    name: &str,
    opts: Option<Map>,
    build: &dyn Fn(&ServerRef) -> Result<Command>,
) -> R<Array> {
    let opts = opts.unwrap_or_default();
    check_keys(&opts, &["force", "serial"])?;
    let force = opt_bool(&opts, "force")?;
    let commands = || {
        let servers = resolve(ctx, name).map_err(|e| fail(ctx, e))?;
        servers.iter().map(|s| build(s).map_err(to_rhai)).collect()
    };
    roll(ctx, serial_of(ctx, &opts)?, commands, || {
        let servers = resolve(ctx, name).map_err(|e| fail(ctx, e))?;
        apply(ctx, &servers, force, build)
    })
}

/// The array form: every server of `names` in one batch (see
/// [`Ctx::write_many`]): checked together, then pipelined.
fn batch_fn(ctx: &Ctx, names: Array, opts: Option<Map>, build: &BuildFn) -> R<Array> {
    let opts = opts.unwrap_or_default();
    check_keys(&opts, &["force", "partial", "serial"])?;
    let force = opt_bool(&opts, "force")?;
    let on_refusal = if opt_bool(&opts, "partial")? {
        OnRefusal::Skip
    } else {
        OnRefusal::Whole
    };
    let names = names_of(names)?;
    // With `partial`, a name that is not there is skipped, never sent:
    // nothing to stop the change for before it starts.
    let commands = || match on_refusal {
        OnRefusal::Skip => Ok(Vec::new()),
        OnRefusal::Whole => {
            let servers = resolve_all(ctx, &names).map_err(|e| fail(ctx, e))?;
            servers.iter().map(|s| build(s).map_err(to_rhai)).collect()
        }
    };
    roll(ctx, serial_of(ctx, &opts)?, commands, || {
        batch_once(ctx, &names, force, on_refusal, build)
    })
}

/// [`batch_fn`] on the write targets (every one, or a group of a rolling change).
fn batch_once(
    ctx: &Ctx,
    names: &[String],
    force: bool,
    on_refusal: OnRefusal,
    build: &BuildFn,
) -> R<Array> {
    if on_refusal == OnRefusal::Whole {
        let servers = resolve_all(ctx, names).map_err(|e| fail(ctx, e))?;
        return apply_batch(ctx, &servers, force, on_refusal, build);
    }
    // Partial: a name that is not a server (hostile, malformed, unknown
    // bare name) is skipped like a write the guard refuses, never sent.
    let mut servers = Vec::new();
    let mut unusable = Array::new();
    for n in names {
        match resolve_all(ctx, std::slice::from_ref(n)) {
            Ok(s) => servers.extend(s),
            Err(e) if e.is_terminal() => return Err(to_rhai(e)),
            Err(e) => {
                let e = super::names::explained(ctx, e);
                for target in ctx.scoped_client().targets() {
                    let mut m = Map::new();
                    insert_identity(&mut m, None, target.name());
                    m.insert("name".into(), n.as_str().into());
                    m.insert("command".into(), Dynamic::UNIT);
                    m.insert("outcome".into(), "skipped".into());
                    m.insert("before".into(), Dynamic::UNIT);
                    m.insert("after".into(), Dynamic::UNIT);
                    m.insert("reply".into(), Dynamic::UNIT);
                    m.insert(
                        "error".into(),
                        format!("{e}; skipped, the rest of the batch goes (partial)").into(),
                    );
                    unusable.push(m.into());
                }
            }
        }
    }
    let mut out = if servers.is_empty() {
        Array::new()
    } else {
        apply_batch(ctx, &servers, force, on_refusal, build)?
    };
    out.extend(unusable);
    Ok(out)
}

/// The server names of a playbook's array.
fn names_of(names: Array) -> R<Vec<String>> {
    names
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            v.into_string().map_err(|t| {
                invalid(
                    "server",
                    format!("element {i} of the array ({t})"),
                    "expected a \"backend/server\" string",
                )
            })
        })
        .collect()
}

/// `build(server)` for every server, as one batch; a batch that stops part
/// way throws, saying how far it went, with the outcomes as `e.writes`.
fn apply_batch(
    ctx: &Ctx,
    servers: &[ServerRef],
    force: bool,
    on_refusal: OnRefusal,
    build: &dyn Fn(&ServerRef) -> Result<Command>,
) -> R<Array> {
    let commands = servers
        .iter()
        .map(build)
        .collect::<Result<Vec<Command>>>()
        .map_err(|e| fail(ctx, e))?;
    let batch = ctx
        .write_many(&commands, force, on_refusal)
        .map_err(|e| fail(ctx, e))?;
    let count = |o: &str| batch.writes.iter().filter(|w| w.outcome == o).count();
    let summary = format!(
        "; of the batch's {} commands (per target): {} sent, {} failed, {} with no reply, {} skipped, {} not sent (the journal has each one)",
        commands.len(),
        count("sent"),
        count("failed"),
        count("unknown"),
        count("skipped"),
        batch.not_sent
    );
    let mut out = Array::with_capacity(batch.writes.len());
    let mut first_err = None;
    for w in batch.writes {
        // A skipped write is the outcome asked for (`partial`), not a failure.
        let skipped = w.outcome == "skipped";
        let (m, err) = outcome_map(w);
        out.push(m.into());
        if first_err.is_none() && !skipped {
            first_err = err;
        }
    }
    match batch.stopped.or(first_err) {
        Some(e) => Err(super::errors::to_rhai_batch(
            super::names::explained(ctx, e),
            &summary,
            out,
        )),
        None => Ok(out),
    }
}

/// One server on one target, as seen by the last poll.
struct Seen {
    server: ServerRef,
    target: String,
    remaining: Remaining,
    /// This poll found the target's session on a process that was stopping
    /// (HAProxy reloaded) and read the new process instead.
    reloaded: bool,
    /// Read from an old worker of a master CLI: its sessions count, its
    /// admin state (its own, from before the reload) does not.
    old_worker: bool,
}

/// `show stat <bk> 4 -1` and `show servers state <bk>` for every backend
/// involved, on every target: one round trip per backend and target.
fn poll_once(ctx: &Ctx, servers: &[ServerRef]) -> Result<Vec<Seen>> {
    let mut backends: Vec<&str> = servers.iter().map(|s| s.backend.as_str()).collect();
    backends.sort_unstable();
    backends.dedup();
    let mut queries = Vec::new();
    for b in &backends {
        queries.push((
            *b,
            Command::raw(&format!("show stat {b} 4 -1"))?,
            Command::show_servers_state(Some(b))?,
        ));
    }
    let client = ctx.scoped_client();
    ctx.block_on(async {
        let mut out = Vec::new();
        for target in client.targets() {
            let name = target.name();
            // Each poll: still the live process? (A reload leaves the kept
            // session on the old one, which no longer takes the traffic.)
            let reloaded = target.follow_reload().await;
            for (b, stat_cmd, state_cmd) in &queries {
                let mut replies = target.send_batch(&[stat_cmd, state_cmd]).await?.into_iter();
                let stat_text = replies.next().unwrap_or_else(|| Ok(String::new()))?;
                let state_text = replies.next().unwrap_or_else(|| Ok(String::new()))?;
                let malformed = |cmd: &Command, e: String| Error::Malformed {
                    target: name.clone(),
                    command: cmd.to_string(),
                    detail: e,
                };
                let stat =
                    parse_stat(&stat_text).map_err(|e| malformed(stat_cmd, e.to_string()))?;
                let states = parse_servers_state(&state_text)
                    .map_err(|e| malformed(state_cmd, e.to_string()))?;
                for s in servers.iter().filter(|s| s.backend == *b) {
                    out.push(Seen {
                        server: s.clone(),
                        target: name.clone(),
                        remaining: drain_status(&stat, &states, s),
                        reloaded,
                        old_worker: false,
                    });
                }
            }
        }
        out.extend(old_worker_sessions(&client, servers, &queries).await);
        Ok(out)
    })
}

/// The sessions old workers of the master CLI targets (`master@`) still hold
/// on `servers`: a drain is not done while a worker from before a reload
/// serves them. An old worker takes no new connection (its listeners are
/// closed), so it counts as out of rotation; one that exits meanwhile, or
/// whose configuration has no such server, has nothing left.
async fn old_worker_sessions(
    client: &crate::runtime::Client,
    servers: &[ServerRef],
    queries: &[(&str, Command, Command)],
) -> Vec<Seen> {
    let mut out = Vec::new();
    for target in client.old_workers().await {
        for (b, stat_cmd, _) in queries {
            let Ok(stat) = target.stat(stat_cmd).await else {
                continue;
            };
            for s in servers.iter().filter(|s| s.backend == *b) {
                let Some(row) = stat.find(&s.backend, &s.server) else {
                    continue;
                };
                out.push(Seen {
                    server: s.clone(),
                    target: target.name(),
                    remaining: Remaining {
                        scur: stat.int(row, "scur").unwrap_or(0),
                        qcur: stat.int(row, "qcur").unwrap_or(0),
                        drain: true,
                        maint: false,
                        found: true,
                    },
                    reloaded: false,
                    old_worker: true,
                });
            }
        }
    }
    out
}

fn seen_rows(seen: &[Seen]) -> Array {
    seen.iter()
        .map(|s| {
            let mut m = Map::new();
            insert_identity(&mut m, Some(&s.server), s.target.clone());
            m.insert("scur".into(), s.remaining.scur.into());
            m.insert("qcur".into(), s.remaining.qcur.into());
            m.insert("drain".into(), s.remaining.drain.into());
            m.insert("maint".into(), s.remaining.maint.into());
            m.insert("found".into(), s.remaining.found.into());
            m.insert("drained".into(), s.remaining.is_drained().into());
            m.into()
        })
        .collect()
}

/// A drain's result, as a rolling change adds it up group by group.
struct Drained(Map);

impl Drained {
    fn flag(&self, key: &str) -> bool {
        self.0
            .get(key)
            .and_then(|v| v.as_bool().ok())
            .unwrap_or(false)
    }
    fn float(&self, key: &str) -> f64 {
        self.0
            .get(key)
            .and_then(|v| v.as_float().ok())
            .unwrap_or(0.0)
    }
    fn array(&self, key: &str) -> Array {
        self.0
            .get(key)
            .and_then(|v| v.clone().try_cast::<Array>())
            .unwrap_or_default()
    }
}

impl Rolled for Drained {
    fn merge(&mut self, next: Self) {
        for key in ["drained", "in_maint"] {
            let both = self.flag(key) && next.flag(key);
            self.0.insert(key.into(), both.into());
        }
        for key in ["timed_out", "reverted", "reloaded"] {
            let any = self.flag(key) || next.flag(key);
            self.0.insert(key.into(), any.into());
        }
        let elapsed = self.float("elapsed") + next.float("elapsed");
        self.0.insert("elapsed".into(), elapsed.into());
        for key in ["servers", "status", "writes"] {
            let mut all = self.array(key);
            for v in next.array(key) {
                // Each group names the same servers: once each.
                if key != "servers" || !all.iter().any(|a| a.to_string() == v.to_string()) {
                    all.push(v);
                }
            }
            self.0.insert(key.into(), all.into());
        }
        let left = |d: &Drained, k: &str| -> i64 {
            d.0.get("remaining")
                .and_then(|r| {
                    r.read_lock::<Map>()
                        .and_then(|r| r.get(k).and_then(|v| v.as_int().ok()))
                })
                .unwrap_or(0)
        };
        let mut rem = Map::new();
        for k in ["scur", "qcur"] {
            rem.insert(k.into(), (left(self, k) + left(&next, k)).into());
        }
        self.0.insert("remaining".into(), rem.into());
    }

    fn outcomes(&self) -> Array {
        self.array("writes")
    }

    /// A drain not done in time, or a server back in rotation meanwhile,
    /// stops a rolling change: the hosts after it keep their servers.
    fn stop(&self) -> Option<(Vec<(String, String)>, Error)> {
        let timed_out = self.flag("timed_out");
        let reverted = self.flag("reverted");
        if !timed_out && !reverted {
            return None;
        }
        let servers: Vec<String> = self
            .array("servers")
            .iter()
            .map(|s| s.to_string())
            .collect();
        let label = servers.join(", ");
        let timeout = self.float("timeout");
        let mut blamed = Vec::new();
        for row in self.array("status") {
            let Some(r) = row.read_lock::<Map>() else {
                continue;
            };
            let get = |k: &str| r.get(k).cloned().unwrap_or_default();
            let found = get("found").as_bool().unwrap_or(false);
            let drained = get("drained").as_bool().unwrap_or(false);
            let out =
                get("drain").as_bool().unwrap_or(false) || get("maint").as_bool().unwrap_or(false);
            if !found || drained {
                continue;
            }
            let why = if !out {
                format!(
                    "{} is back in rotation (someone set it ready, or HAProxy reloaded)",
                    get("name")
                )
            } else {
                format!(
                    "{}: still {} session(s) and {} queued request(s) after {timeout}s; left in drain",
                    get("name"),
                    get("scur"),
                    get("qcur")
                )
            };
            blamed.push((get("target").to_string(), why));
        }
        let first = blamed.first().map(|(t, _)| t.clone()).unwrap_or_default();
        let e = if timed_out {
            Error::Timeout {
                target: first,
                what: format!(
                    "the drain of {label} to finish (a rolling change waits for each group's drain before the next)"
                ),
                after: Duration::from_secs_f64(timeout),
            }
        } else {
            Error::Refused {
                reason: format!(
                    "{label} came back in rotation on {first} while draining: the rolling change stops here"
                ),
            }
        };
        Some((blamed, e))
    }
}

/// `drain(server, opts)`: see the registration doc. With a serial setting,
/// group by group: each group is set to drain, waited for, then (`then`)
/// put in maintenance before the next group starts.
fn drain(ctx: &Ctx, names: &[String], opts: Option<Map>) -> R<Map> {
    let opts = opts.unwrap_or_default();
    check_keys(&opts, &["timeout", "poll", "then", "force", "serial"])?;
    let force = opt_bool(&opts, "force")?;
    let timeout = opt_secs(&opts, "timeout", 120.0)?;
    let poll = opt_secs(&opts, "poll", 1.0)?.max(0.05);
    let then = match opts.get("then") {
        None => None,
        Some(v) if v.is_unit() => None,
        Some(v) => match v.to_string().as_str() {
            "" | "drain" => None,
            "maint" => Some(AdminAction::Maint),
            other => {
                return Err(invalid(
                    "option",
                    format!("then: {other}"),
                    "expected \"maint\" (or nothing to stay in drain)",
                ))
            }
        },
    };
    if names.is_empty() {
        return Err(invalid(
            "server",
            "[]",
            "an empty array: nothing to drain (did a filter match no server?)",
        ));
    }
    let how = DrainOpts {
        force,
        timeout,
        poll,
        then,
    };
    let commands = || {
        let servers = resolve_all(ctx, names).map_err(|e| fail(ctx, e))?;
        Ok(servers
            .iter()
            .map(|s| Command::set_state(s, AdminAction::Drain))
            .collect())
    };
    roll(ctx, serial_of(ctx, &opts)?, commands, || {
        drain_once(ctx, names, &how).map(Drained)
    })
    .map(|d| d.0)
}

/// A drain's options, read once for every group.
#[derive(Clone, Copy)]
struct DrainOpts {
    force: bool,
    timeout: f64,
    poll: f64,
    then: Option<AdminAction>,
}

/// [`drain`] on the write targets (every one, or a group of a rolling change).
fn drain_once(ctx: &Ctx, names: &[String], how: &DrainOpts) -> R<Map> {
    let DrainOpts {
        force,
        timeout,
        poll,
        then,
    } = *how;
    let servers = resolve_all(ctx, names).map_err(|e| fail(ctx, e))?;
    // Several servers go out as one batch (see `apply`): draining the last
    // two servers of a backend is refused before the first is touched.
    let set = |servers: &[ServerRef], action: AdminAction| {
        apply(ctx, servers, force, &move |s| {
            Ok(Command::set_state(s, action))
        })
    };
    let names: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
    let label = names.join(", ");
    let key = format!("drain {label}");
    // Ending in maintenance, a server already there needs no drain (the write
    // guard refuses to drain a server in maintenance otherwise).
    let parked: Vec<ServerRef> = if then == Some(AdminAction::Maint) {
        let before = poll_once(ctx, &servers).map_err(|e| fail(ctx, e))?;
        servers
            .iter()
            .filter(|s| {
                let mut on = before
                    .iter()
                    .filter(|b| &b.server == *s && b.remaining.found && !b.old_worker);
                let first = on.next();
                first.is_some_and(|b| b.remaining.maint) && on.all(|b| b.remaining.maint)
            })
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let to_drain: Vec<ServerRef> = servers
        .iter()
        .filter(|s| !parked.contains(s))
        .cloned()
        .collect();
    let mut writes = set(&to_drain, AdminAction::Drain)?;
    // After the confirmation prompt: the operator's reading time is not drain time.
    let start = Instant::now();
    let dry_run = ctx.settings.dry_run;
    let mut seen;
    let mut timed_out = false;
    let mut reverted = false;
    let mut reloaded = false;
    if dry_run {
        // Show every command, send none, read the state as it is, do not wait.
        if let Some(action) = then {
            writes.extend(set(&to_drain, action)?);
        }
        seen = poll_once(ctx, &servers).map_err(|e| fail(ctx, e))?;
    } else {
        loop {
            seen = poll_once(ctx, &servers).map_err(|e| fail(ctx, e))?;
            let elapsed = start.elapsed().as_secs_f64();
            let scur: i64 = seen.iter().map(|s| s.remaining.scur.max(0)).sum();
            let qcur: i64 = seen.iter().map(|s| s.remaining.qcur.max(0)).sum();
            // A server that vanished (dynamic server deleted) has nothing left.
            let done = seen
                .iter()
                .all(|s| !s.remaining.found || s.remaining.is_drained());
            reverted = seen
                .iter()
                .any(|s| s.remaining.found && !s.remaining.out_of_rotation());
            reloaded |= seen.iter().any(|s| s.reloaded);
            timed_out = !done && !reverted && elapsed >= timeout;
            let finished = done || reverted || timed_out;
            let message = if done {
                format!("{label}: drained")
            } else if reverted && reloaded {
                format!("{label}: HAProxy reloaded during the drain and the new process has it back in rotation")
            } else if reverted {
                format!("{label}: back in rotation while draining (someone set it ready?)")
            } else if timed_out {
                format!("{label}: timed out after {timeout:.0}s with {scur} session(s) and {qcur} queued request(s) left")
            } else {
                format!("draining {label}: {scur} session(s), {qcur} queued")
            };
            ctx.emit(Event::Progress(&Progress {
                key: key.clone(),
                message,
                remaining: (scur + qcur) as u64,
                elapsed_secs: elapsed,
                timeout_secs: timeout,
                done: finished,
            }));
            if finished {
                break;
            }
            let wait = poll.min((timeout - elapsed).max(0.0));
            if let Err(e) = ctx.sleep(Duration::from_secs_f64(wait)) {
                // Ctrl-C or --max-time: clear the bar, leave the server drained.
                ctx.emit(Event::Progress(&Progress {
                    key: key.clone(),
                    message: format!("{label}: stopped waiting ({e}); left in drain"),
                    remaining: (scur + qcur) as u64,
                    elapsed_secs: start.elapsed().as_secs_f64(),
                    timeout_secs: timeout,
                    done: true,
                }));
                return Err(to_rhai(e));
            }
        }
    }
    let drained = !dry_run && !timed_out && !reverted;
    let mut in_maint = false;
    if drained {
        if let Some(action) = then {
            writes.extend(set(&to_drain, action)?);
            in_maint = true;
        }
    }
    let scur: i64 = seen.iter().map(|s| s.remaining.scur.max(0)).sum();
    let qcur: i64 = seen.iter().map(|s| s.remaining.qcur.max(0)).sum();
    if timed_out {
        ctx.add_finding(
            Finding::new(
                Severity::Error,
                "drain.timeout",
                format!("{label}: still {scur} session(s) and {qcur} queued request(s) after {timeout}s"),
            )
            .detail(format!(
                "the server is left in drain{}",
                if then.is_some() { "; it was NOT put in maintenance" } else { "" }
            ))
            .advice("wait longer (a larger timeout), find the long-lived connections, or cut them with shutdown_sessions(\"backend/server\") if that is acceptable")
            .evidence(
                seen.iter()
                    .map(|s| format!("{} on {}: scur {} qcur {}", s.server, s.target, s.remaining.scur, s.remaining.qcur))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        );
    }
    let mut m = Map::new();
    m.insert(
        "servers".into(),
        Dynamic::from_array(names.into_iter().map(Dynamic::from).collect()),
    );
    m.insert("drained".into(), drained.into());
    m.insert("timed_out".into(), timed_out.into());
    m.insert("reverted".into(), reverted.into());
    m.insert("reloaded".into(), reloaded.into());
    m.insert("dry_run".into(), dry_run.into());
    m.insert("then".into(), then.map(|a| a.as_str()).unwrap_or("").into());
    m.insert("in_maint".into(), in_maint.into());
    m.insert("elapsed".into(), start.elapsed().as_secs_f64().into());
    m.insert("timeout".into(), timeout.into());
    let mut rem = Map::new();
    rem.insert("scur".into(), scur.into());
    rem.insert("qcur".into(), qcur.into());
    m.insert("remaining".into(), rem.into());
    m.insert("status".into(), seen_rows(&seen).into());
    m.insert("writes".into(), writes.into());
    Ok(m)
}

type Build = fn(&ServerRef) -> Result<Command>;
type BuildFn = dyn Fn(&ServerRef) -> Result<Command>;

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    let simple: &[(&str, Build, &str)] = &[
        (
            "shutdown_sessions",
            |s| Ok(Command::shutdown_sessions(s)),
            "`shutdown sessions server <server>`: cut every session on it now.",
        ),
        (
            "enable_health",
            |s| Ok(Command::health(s, true)),
            "`enable health <server>`: resume its health checks.",
        ),
        (
            "disable_health",
            |s| Ok(Command::health(s, false)),
            "`disable health <server>`: stop its health checks (its state freezes).",
        ),
        (
            "enable_agent",
            |s| Ok(Command::agent(s, true)),
            "`enable agent <server>`: resume its agent checks.",
        ),
        (
            "disable_agent",
            |s| Ok(Command::agent(s, false)),
            "`disable agent <server>`: stop its agent checks.",
        ),
    ];
    for (name, build, doc) in simple {
        let build = *build;
        let doc = format!("{doc}\n{RESULT_DOC}");
        let c = ctx.clone();
        reg(name, &["server: String", "Array"], &doc)
            .register_into_engine(engine, move |server: &str| {
                write_fn(&c, server, None, &build)
            });
        let c = ctx.clone();
        reg(name, &["server: String", "opts: Map", "Array"], &doc)
            .register_into_engine(engine, move |server: &str, opts: Map| {
                write_fn(&c, server, Some(opts), &build)
            });
        let batch_doc = format!("{doc}\n{BATCH_DOC}");
        let c = ctx.clone();
        reg(name, &["servers: Array", "Array"], &batch_doc)
            .register_into_engine(engine, move |servers: Array| {
                batch_fn(&c, servers, None, &build)
            });
        let c = ctx.clone();
        reg(name, &["servers: Array", "opts: Map", "Array"], &batch_doc)
            .register_into_engine(engine, move |servers: Array, opts: Map| {
                batch_fn(&c, servers, Some(opts), &build)
            });
    }

    let doc = format!("`set server <server> state ready|drain|maint`. drain and maint are refused\non the last UP server of a backend unless `force`. (`drain()` also waits.)\n{RESULT_DOC}");
    let set_state = |state: &str| -> R<Box<BuildFn>> {
        let action = AdminAction::parse(state).map_err(to_rhai)?;
        Ok(Box::new(move |s| Ok(Command::set_state(s, action))))
    };
    let c = ctx.clone();
    reg(
        "set_state",
        &["server: String", "state: String", "Array"],
        &doc,
    )
    .register_into_engine(engine, move |server: &str, state: &str| {
        let build = set_state(state)?;
        write_fn(&c, server, None, &*build)
    });
    let c = ctx.clone();
    reg(
        "set_state",
        &["server: String", "state: String", "opts: Map", "Array"],
        &doc,
    )
    .register_into_engine(engine, move |server: &str, state: &str, opts: Map| {
        let build = set_state(state)?;
        write_fn(&c, server, Some(opts), &*build)
    });
    let batch_doc = format!("{doc}\n{BATCH_DOC}");
    let c = ctx.clone();
    reg(
        "set_state",
        &["servers: Array", "state: String", "Array"],
        &batch_doc,
    )
    .register_into_engine(engine, move |servers: Array, state: &str| {
        let build = set_state(state)?;
        batch_fn(&c, servers, None, &*build)
    });
    let c = ctx.clone();
    reg(
        "set_state",
        &["servers: Array", "state: String", "opts: Map", "Array"],
        &batch_doc,
    )
    .register_into_engine(engine, move |servers: Array, state: &str, opts: Map| {
        let build = set_state(state)?;
        batch_fn(&c, servers, Some(opts), &*build)
    });

    let doc = format!("`set server <server> weight <weight>`: an integer 0-256 or a string `\"N%\"`\n(of the configured weight).\n{RESULT_DOC}");
    for with_opts in [false, true] {
        for int in [false, true] {
            let c = ctx.clone();
            let params: &[&str] = match (int, with_opts) {
                (true, false) => &["server: String", "weight: int", "Array"],
                (false, false) => &["server: String", "weight: String", "Array"],
                (true, true) => &["server: String", "weight: int", "opts: Map", "Array"],
                (false, true) => &["server: String", "weight: String", "opts: Map", "Array"],
            };
            let f = reg("set_weight", params, &doc);
            match (int, with_opts) {
                (true, false) => f.register_into_engine(engine, move |s: &str, w: i64| {
                    let w = w.to_string();
                    write_fn(&c, s, None, &move |r| Command::set_weight(r, &w))
                }),
                (false, false) => f.register_into_engine(engine, move |s: &str, w: &str| {
                    let w = w.to_string();
                    write_fn(&c, s, None, &move |r| Command::set_weight(r, &w))
                }),
                (true, true) => f.register_into_engine(engine, move |s: &str, w: i64, o: Map| {
                    let w = w.to_string();
                    write_fn(&c, s, Some(o), &move |r| Command::set_weight(r, &w))
                }),
                (false, true) => f.register_into_engine(engine, move |s: &str, w: &str, o: Map| {
                    let w = w.to_string();
                    write_fn(&c, s, Some(o), &move |r| Command::set_weight(r, &w))
                }),
            };
        }
    }
    let batch_doc = format!("{doc}\n{BATCH_DOC}");
    let weight_of = |w: Dynamic| -> R<String> {
        if let Ok(n) = w.as_int() {
            return Ok(n.to_string());
        }
        w.into_string().map_err(|t| {
            invalid(
                "weight",
                t.to_string(),
                "expected an integer 0-256 or a string \"N%\"",
            )
        })
    };
    let c = ctx.clone();
    reg(
        "set_weight",
        &["servers: Array", "weight: int|String", "Array"],
        &batch_doc,
    )
    .register_into_engine(engine, move |servers: Array, w: Dynamic| {
        let w = weight_of(w)?;
        batch_fn(&c, servers, None, &move |r| Command::set_weight(r, &w))
    });
    let c = ctx.clone();
    reg(
        "set_weight",
        &["servers: Array", "weight: int|String", "opts: Map", "Array"],
        &batch_doc,
    )
    .register_into_engine(engine, move |servers: Array, w: Dynamic, opts: Map| {
        let w = weight_of(w)?;
        batch_fn(&c, servers, Some(opts), &move |r| {
            Command::set_weight(r, &w)
        })
    });

    let doc = "Drain `server` (`backend/server`, or a bare name: every backend that has it):\nset it to drain, then wait until it has no current session and no queued\nrequest (`scur`, `qcur` from `show stat`) and is out of rotation according to\nthe admin bit mask of `show servers state` (not the status text, which reads\nDOWN for a drained server whose check fails), on every target. Progress each\npoll; Ctrl-C stops the wait and leaves the server drained.\n`opts`: `timeout` (seconds, default 120), `poll` (seconds, default 1),\n`then: \"maint\"` (put it in maintenance once drained), `force` (lift the\nlast-server guard), `serial` (overrides `--serial`: the hosts group by group, each\ngroup drained, waited for and put in maintenance before the next; a group whose\ndrain times out stops the change with a `timeout` error). In dry-run: shows the commands, sends none, reads the\nstate once, does not wait.\nReturns a map (keys below). On timeout the\nserver stays drained, `timed_out` is true and a `drain.timeout` error is\nrecorded. `reverted` is true when the server came back in rotation meanwhile;\n`reloaded` when HAProxy reloaded during the wait (each poll checks `Stopping`\nin `show info` and follows the new process).\nWith an array of servers (a rack, a whole pool): they are set to drain as one\nbatch, so the guard judges them together and draining the last servers of a\nbackend is refused before any is touched; then the wait covers all of them.";
    let c = ctx.clone();
    reg("drain", &["server: String", "Map"], doc)
        .register_into_engine(engine, move |server: &str| {
            drain(&c, &[server.to_string()], None)
        });
    let c = ctx.clone();
    reg("drain", &["server: String", "opts: Map", "Map"], doc)
        .register_into_engine(engine, move |server: &str, opts: Map| {
            drain(&c, &[server.to_string()], Some(opts))
        });
    let c = ctx.clone();
    reg("drain", &["servers: Array", "Map"], doc)
        .register_into_engine(engine, move |servers: Array| {
            drain(&c, &names_of(servers)?, None)
        });
    let c = ctx.clone();
    reg("drain", &["servers: Array", "opts: Map", "Map"], doc)
        .register_into_engine(engine, move |servers: Array, opts: Map| {
            drain(&c, &names_of(servers)?, Some(opts))
        });
}
