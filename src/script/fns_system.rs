//! Host and logging primitives: `irqbalance`, `cpus`, `system_check`,
//! `log_setup`, `log_check`, `listen_logs`, `collect_logs`.

use super::ctx::CheckHost;
use super::ctx::Ctx;
use super::errors::{invalid, to_rhai};
use super::fns_config::{
    dynamic, host_access, hosts_to_check, load_model, on_each_host, paths_of, rsyslog,
};
use super::reg;
use crate::base::error::Error;
use crate::base::report::{Finding, Severity};
use crate::config::{self, ConfigModel};
use crate::runtime::{info, Command};
use crate::system::logging::{check_logging_with, parse_log_directive, LogKind, LogTarget};
use crate::system::rsyslog::RsyslogSetup;
use crate::system::{host, syslog};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

type R<T> = Result<T, Box<EvalAltResult>>;

/// Default bound on messages returned by `listen_logs`.
const DEFAULT_MAX_MESSAGES: usize = 10_000;
/// Longest a listener may run.
const MAX_LISTEN_SECS: f64 = 3600.0;

fn first_arg_u32(model: &ConfigModel, keyword: &str) -> Option<u32> {
    model
        .global_find(keyword)
        .last()
        .and_then(|d| d.args.first())
        .and_then(|a| a.parse::<u32>().ok())
}

/// `show info` of the first reachable target, quietly (None when unreachable).
/// Within a per-host loop, of the first target on that host.
fn live_info(ctx: &Ctx) -> Option<(String, Vec<(String, String)>)> {
    if ctx.client.is_empty() {
        return None;
    }
    let client = match ctx.scoped_check_host() {
        Some(h) => ctx.client.subset(&ctx.targets_on(&h)),
        None => ctx.client.clone(),
    };
    if client.is_empty() {
        return None;
    }
    let cmd = Command::show_info();
    let replies = ctx
        .block_on(async { Ok(client.send_all(&cmd).await) })
        .ok()?;
    replies.into_iter().find_map(|(t, r)| {
        r.ok()
            .and_then(|text| info::parse_info(&text).ok())
            .map(|p| (t, p))
    })
}

/// irqbalance and the CPUs: this host's, or the snapshot's in a replay
/// (`not_recorded` when it kept none: today's host is not that day's).
fn probes(ctx: &Ctx) -> R<(host::IrqbalanceStatus, host::CpuInfo)> {
    match ctx.replay() {
        Some(b) => {
            let h = super::replayed::host(b).map_err(to_rhai)?;
            Ok((h.irqbalance, h.cpus))
        }
        None => {
            let access = host_access(ctx)?;
            let (proc_root, sys_root) = (
                ctx.settings.proc_root.clone(),
                ctx.settings.sys_root.clone(),
            );
            let on = access.clone();
            let probed = ctx
                .block_on(async move {
                    tokio::task::spawn_blocking(move || {
                        Ok::<_, std::io::Error>((
                            host::irqbalance_on(&on, &proc_root)?,
                            host::cpus_on(&on, &sys_root)?,
                        ))
                    })
                    .await
                    .map_err(|e| Error::Other(format!("host probes: {e}")))
                })
                .map_err(to_rhai)?;
            probed.map_err(|e| {
                to_rhai(Error::Ssh {
                    target: access.host().unwrap_or("localhost").to_string(),
                    what: format!("the host probes (irqbalance, CPUs) failed: {e}"),
                })
            })
        }
    }
}

/// `host_facts()`: what the host probes and rsyslog say, for a snapshot.
fn host_facts(ctx: &Ctx) -> R<Map> {
    let (irq, cpus) = probes(ctx)?;
    let mut m = Map::new();
    m.insert("irqbalance".into(), dynamic(&irq)?);
    m.insert("cpus".into(), dynamic(&cpus)?);
    m.insert("rsyslog".into(), rsyslog_map(&rsyslog(ctx))?.into());
    // A replay of an older bundle has none: `()`, which a snapshot of that
    // replay writes as `null` and a replay of it reads as not recorded again.
    let addrs = match local_addresses(ctx) {
        Ok(addrs) => addrs
            .iter()
            .map(|a| a.to_string().into())
            .collect::<Array>()
            .into(),
        Err(_) => Dynamic::UNIT,
    };
    m.insert("local_addresses".into(), addrs);
    Ok(m)
}

/// rsyslog as `log_setup()` and `host_facts()` both show it (see
/// `vocabulary::RSYSLOG_SETUP`): unix sockets as `#{path, location}`.
fn rsyslog_map(r: &RsyslogSetup) -> R<Map> {
    let mut rs = Map::new();
    rs.insert("files".into(), dynamic(&r.files)?);
    rs.insert("udp_inputs".into(), dynamic(&r.udp_inputs)?);
    rs.insert("imudp_loaded".into(), r.imudp_loaded.into());
    rs.insert("imuxsock_loaded".into(), r.imuxsock_loaded.into());
    let sockets: Array = r
        .unix_sockets
        .iter()
        .map(|(p, loc)| {
            let mut m = Map::new();
            m.insert("path".into(), p.display().to_string().into());
            m.insert("location".into(), loc.clone().into());
            Dynamic::from_map(m)
        })
        .collect();
    rs.insert("unix_sockets".into(), Dynamic::from_array(sockets));
    rs.insert("notes".into(), dynamic(&r.notes)?);
    Ok(rs)
}

/// The addresses of the host HAProxy logs from: this host's, or the
/// snapshot's in a replay (`not_recorded` when it kept none).
fn local_addresses(ctx: &Ctx) -> R<Vec<IpAddr>> {
    match ctx.replay() {
        Some(b) => super::replayed::local_addresses(b).map_err(to_rhai),
        None => {
            let access = host_access(ctx)?;
            host::local_addresses_on(&access).map_err(|e| {
                to_rhai(Error::Ssh {
                    target: access.host().unwrap_or("localhost").to_string(),
                    what: format!("the host's addresses (`ip -o addr show`) are unknown: {e}"),
                })
            })
        }
    }
}

/// The addresses the logging checks compare `log <ip>:<port>` targets
/// with. Only a UDP target at a non-loopback IP needs them (loopback and
/// `localhost` are always local, a host name never is): a replay without
/// them raises `not_recorded` for such a target alone.
fn addresses_for(ctx: &Ctx, sides: &LogSides) -> R<Vec<IpAddr>> {
    let needed = sides.targets.iter().any(|(t, _, _)| {
        t.kind == LogKind::Udp
            && t.host
                .as_deref()
                .and_then(|h| h.parse::<IpAddr>().ok())
                .is_some_and(|a| !a.is_loopback())
    });
    match local_addresses(ctx) {
        Ok(a) => Ok(a),
        Err(_) if !needed => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Live logs cannot come from a bundle: refuse by name in a replay.
fn live_only(ctx: &Ctx, what: String) -> R<()> {
    match ctx.replay() {
        Some(b) => Err(to_rhai(Error::NotRecorded {
            bundle: b.dir().to_path_buf(),
            what,
            hint: "; live logs cannot be replayed: run it on the host".into(),
        })),
        None => Ok(()),
    }
}

fn system_check(ctx: &Ctx) -> R<Map> {
    let (irq, cpus) = probes(ctx)?;
    system_check_with(ctx, irq, cpus)
}

/// `system_check()` of every host of the run: the probes of all hosts at
/// once (--forks at a time: over SSH they mostly wait on the network),
/// then each host judged on its own probes, configuration and `show info`.
/// A host that cannot be probed is a `system.unreadable` finding naming it.
fn system_checks(ctx: &Ctx) -> R<Array> {
    if ctx.replay().is_some() {
        return Ok(vec![host_check("localhost", system_check(ctx)?)]);
    }
    let hosts = ctx.check_hosts();
    let (proc_root, sys_root) = (
        ctx.settings.proc_root.clone(),
        ctx.settings.sys_root.clone(),
    );
    let limit = Arc::new(tokio::sync::Semaphore::new(
        ctx.settings.max_parallel.max(1),
    ));
    let accesses: Vec<_> = hosts
        .iter()
        .map(|h| {
            h.access
                .as_ref()
                .map(Clone::clone)
                .map_err(|e| e.to_string())
        })
        .collect();
    let probed = ctx
        .block_on(async move {
            let mut set = tokio::task::JoinSet::new();
            for (i, access) in accesses.into_iter().enumerate() {
                let (limit, proc_root, sys_root) =
                    (Arc::clone(&limit), proc_root.clone(), sys_root.clone());
                set.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    let probed = match access {
                        Ok(on) => tokio::task::spawn_blocking(move || {
                            Ok::<_, std::io::Error>((
                                host::irqbalance_on(&on, &proc_root)?,
                                host::cpus_on(&on, &sys_root)?,
                            ))
                        })
                        .await
                        .map_err(|e| format!("host probes: {e}"))
                        .and_then(|r| r.map_err(|e| e.to_string())),
                        Err(e) => Err(format!("its files cannot be read over SSH: {e}")),
                    };
                    (i, probed)
                });
            }
            let mut out: Vec<Option<Result<_, String>>> = (0..set.len()).map(|_| None).collect();
            while let Some(done) = set.join_next().await {
                let (i, probed) = done.map_err(|e| Error::Other(format!("host probes: {e}")))?;
                out[i] = Some(probed);
            }
            Ok(out)
        })
        .map_err(to_rhai)?;
    let mut out = Array::new();
    for (h, probed) in hosts.iter().zip(probed) {
        let name = h.shown_name();
        match probed.unwrap_or_else(|| Err("not probed".into())) {
            Ok((irq, cpus)) => {
                let check = ctx.on_host(h, || system_check_with(ctx, irq, cpus))?;
                out.push(host_check(&name, check));
            }
            Err(why) => {
                let mut f = Finding::new(
                    Severity::Error,
                    "system.unreadable",
                    "the host's CPUs and irqbalance could not be read",
                );
                f.detail = Some(format!("{name}: {why}"));
                f.advice = Some("check the SSH login by hand (`ssh HOST true`)".into());
                f.target.clone_from(&h.name);
                ctx.add_finding(f);
            }
        }
    }
    Ok(out)
}

/// One entry of `system_checks()`: the host and its `system_check()`.
fn host_check(target: &str, check: Map) -> Dynamic {
    let mut m = Map::new();
    m.insert("target".into(), target.into());
    m.insert("check".into(), check.into());
    m.into()
}

/// `system_check()` on probes already made, for the host the checks are on.
fn system_check_with(ctx: &Ctx, irq: host::IrqbalanceStatus, cpus: host::CpuInfo) -> R<Map> {
    let loaded = load_model(ctx, &ctx.config_paths())?;
    let model = loaded.as_ref().as_ref().ok();
    let cpu_map = model
        .map(|m| m.global_find("cpu-map").next().is_some())
        .unwrap_or(false);
    let mut notes: Vec<String> = Vec::new();
    let (source, nbproc, nbthread) = match live_info(ctx) {
        Some((target, pairs)) => {
            let get = |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| key == k)
                    .and_then(|(_, v)| v.trim().parse::<u32>().ok())
            };
            (
                format!("show info on {target}"),
                get("Nbproc").unwrap_or(1),
                get("Nbthread").unwrap_or(1),
            )
        }
        None => match &model {
            Some(m) => (
                "config".to_string(),
                first_arg_u32(m, "nbproc").unwrap_or(1),
                first_arg_u32(m, "nbthread").unwrap_or(1),
            ),
            None => {
                notes.push(
                    "no reachable socket and no readable configuration: nbproc/nbthread assumed 1"
                        .into(),
                );
                ("default".to_string(), 1, 1)
            }
        },
    };
    if model.is_none() {
        notes.push("configuration not readable: cpu-map unknown (assumed absent)".into());
    }
    let mut finding = host::irqbalance_finding(&irq, &cpus, nbproc, nbthread, cpu_map);
    // Within a per-host loop the finding is that host's.
    if let (Some(f), Some(h)) = (finding.as_mut(), ctx.scoped_check_host()) {
        if f.target.is_none() {
            f.target.clone_from(&h.name);
        }
    }
    let mut m = Map::new();
    m.insert("irqbalance".into(), dynamic(&irq)?);
    m.insert("cpus".into(), dynamic(&cpus)?);
    m.insert("nbproc".into(), (nbproc as i64).into());
    m.insert("nbthread".into(), (nbthread as i64).into());
    m.insert("cpu_map".into(), cpu_map.into());
    m.insert("source".into(), source.into());
    m.insert(
        "notes".into(),
        Dynamic::from_array(notes.into_iter().map(Dynamic::from).collect()),
    );
    let mut findings = Array::new();
    if let Some(f) = finding {
        findings.push(super::convert::finding(&f));
        ctx.add_finding(f);
    }
    m.insert("findings".into(), Dynamic::from_array(findings));
    Ok(m)
}

/// Both sides of logging: HAProxy's `log` lines and what rsyslog listens on.
struct LogSides {
    targets: Vec<(LogTarget, String, String)>,
    chroot: Option<(String, String)>,
    rsyslog: RsyslogSetup,
    notes: Vec<String>,
    config_error: Option<String>,
}

fn log_sides(ctx: &Ctx, path: Option<&str>) -> R<LogSides> {
    let paths = paths_of(ctx, path)?;
    let mut notes = Vec::new();
    let mut targets = Vec::new();
    let mut chroot = None;
    let mut config_error = None;
    match load_model(ctx, &paths)?.as_ref() {
        Ok(model) => {
            for (section, d) in config::log_lines(model) {
                match parse_log_directive(&d.args) {
                    Ok(t) => targets.push((t, d.location(), section)),
                    Err(e) => notes.push(format!("{}: {e}", d.location())),
                }
            }
            chroot = config::chroot(model);
        }
        Err(e) => config_error = Some(e.to_string()),
    }
    let rsyslog = rsyslog(ctx);
    Ok(LogSides {
        targets,
        chroot,
        rsyslog,
        notes,
        config_error,
    })
}

fn log_findings(sides: &LogSides, local: &[IpAddr]) -> Vec<Finding> {
    if let Some(e) = &sides.config_error {
        return vec![Finding::new(
            Severity::Error,
            "config.unreadable",
            "cannot read the HAProxy configuration: its log lines are unknown",
        )
        .evidence(e.clone())
        .advice("pass the configuration with `-c PATH` (or HARUN_CONFIG); check permissions")];
    }
    let pairs: Vec<(LogTarget, String)> = sides
        .targets
        .iter()
        .map(|(t, loc, _)| (t.clone(), loc.clone()))
        .collect();
    check_logging_with(
        &pairs,
        sides.chroot.as_ref().map(|(c, _)| c.as_str()),
        &sides.rsyslog,
        local,
    )
}

fn log_setup(ctx: &Ctx, path: Option<&str>) -> R<Map> {
    let sides = log_sides(ctx, path)?;
    let local = addresses_for(ctx, &sides)?;
    let mut haproxy = Array::new();
    for (t, loc, section) in &sides.targets {
        let mut m = dynamic(t)?.try_cast::<Map>().unwrap_or_default();
        m.insert("location".into(), loc.clone().into());
        m.insert("section".into(), section.clone().into());
        m.insert("display".into(), t.display().into());
        haproxy.push(Dynamic::from_map(m));
    }
    let rs = rsyslog_map(&sides.rsyslog)?;
    let mut m = Map::new();
    m.insert("haproxy".into(), Dynamic::from_array(haproxy));
    m.insert(
        "chroot".into(),
        match &sides.chroot {
            Some((dir, loc)) => {
                let mut c = Map::new();
                c.insert("dir".into(), dir.clone().into());
                c.insert("location".into(), loc.clone().into());
                Dynamic::from_map(c)
            }
            None => Dynamic::UNIT,
        },
    );
    m.insert("rsyslog".into(), Dynamic::from_map(rs));
    m.insert("notes".into(), dynamic(&sides.notes)?);
    m.insert(
        "config_error".into(),
        sides
            .config_error
            .clone()
            .map(Dynamic::from)
            .unwrap_or(Dynamic::UNIT),
    );
    m.insert(
        "findings".into(),
        crate::base::report::grouped(log_findings(&sides, &local))
            .iter()
            .map(super::convert::finding)
            .collect::<rhai::Array>()
            .into(),
    );
    let summary = if sides.config_error.is_some() {
        "configuration not readable".to_string()
    } else {
        let pairs: Vec<(LogTarget, String)> = sides
            .targets
            .iter()
            .map(|(t, loc, _)| (t.clone(), loc.clone()))
            .collect();
        crate::system::logging::summary_line(
            &pairs,
            sides.chroot.as_ref().map(|(c, _)| c.as_str()),
            &sides.rsyslog,
            &local,
        )
    };
    m.insert("summary".into(), summary.into());
    Ok(m)
}

/// The hosts `log_check()` covers, without those named in `skip` (as
/// `check_hosts()` names them): a name that is no host of the run is an
/// error, not a host checked anyway.
fn hosts_but(ctx: &Ctx, skip: &[String]) -> R<Vec<Arc<CheckHost>>> {
    let hosts = hosts_to_check(ctx);
    let all = ctx.check_hosts();
    if let Some(unknown) = skip
        .iter()
        .find(|s| !all.iter().any(|h| &h.shown_name() == *s))
    {
        let names: Vec<String> = all.iter().map(|h| h.shown_name()).collect();
        return Err(invalid(
            "log_check skip_hosts",
            unknown.clone(),
            format!(
                "not a host of this run (check_hosts(): {})",
                names.join(", ")
            ),
        ));
    }
    Ok(hosts
        .into_iter()
        .filter(|h| !skip.contains(&h.shown_name()))
        .collect())
}

/// `log_check`'s options: `#{skip_hosts: [HOST, ...]}`.
fn skip_hosts_of(opts: &Map) -> R<Vec<String>> {
    if let Some(k) = opts.keys().find(|k| k.as_str() != "skip_hosts") {
        return Err(invalid(
            "log_check option",
            k.to_string(),
            "expected skip_hosts",
        ));
    }
    let Some(list) = opts.get("skip_hosts") else {
        return Ok(Vec::new());
    };
    let bad = || {
        invalid(
            "log_check skip_hosts",
            list.to_string(),
            "expected an array of host names, as check_hosts() gives them",
        )
    };
    let list = list.clone().into_array().map_err(|_| bad())?;
    list.into_iter()
        .map(|h| h.into_string().map_err(|_| bad()))
        .collect()
}

fn log_check(ctx: &Ctx, path: Option<&str>, skip: &[String]) -> R<Array> {
    // Each host's logging on its own, its findings named by their host. A
    // host that cannot be reached is the finding `config_lint()` makes of
    // it, so a run that does both reports it once.
    let paths = paths_of(ctx, path)?;
    let found = on_each_host(
        ctx,
        hosts_but(ctx, skip)?,
        || {
            let sides = log_sides(ctx, path)?;
            let local = addresses_for(ctx, &sides)?;
            Ok(crate::base::report::grouped(log_findings(&sides, &local)))
        },
        |e| super::fns_config::unreadable_host(e, &paths),
    )?;
    let mut out = Array::new();
    for f in found {
        out.push(super::convert::finding(&f));
        ctx.add_finding(f);
    }
    Ok(out)
}

fn listen_error(e: syslog::ListenError) -> Box<EvalAltResult> {
    match e {
        syslog::ListenError::Address { addr, reason } => to_rhai(Error::InvalidAddress {
            address: addr,
            reason,
        }),
        other => super::fns_config::kind_error("listen_failed", other.to_string()),
    }
}

/// A received message: its syslog envelope plus `http` (httplog) or `tcp` (tcplog), both
/// keys always present (`()` when the message is not that kind) so strict key reads work.
fn message_map(m: &syslog::SyslogMessage) -> R<Dynamic> {
    let mut out = dynamic(m)?.try_cast::<Map>().unwrap_or_default();
    let (http, tcp) = crate::logs::owned::listener_maps(&m.message);
    out.insert(
        "http".into(),
        http.as_ref()
            .map(dynamic)
            .transpose()?
            .unwrap_or(Dynamic::UNIT),
    );
    out.insert(
        "tcp".into(),
        tcp.as_ref()
            .map(dynamic)
            .transpose()?
            .unwrap_or(Dynamic::UNIT),
    );
    Ok(Dynamic::from_map(out))
}

fn collect(ctx: &Ctx, addr: &str, secs: f64, max: i64) -> R<syslog::Collected> {
    live_only(ctx, format!("a syslog listener on {addr}"))?;
    if !(0.0..=MAX_LISTEN_SECS).contains(&secs) || !secs.is_finite() {
        return Err(invalid(
            "seconds",
            secs.to_string(),
            format!("expected 0 to {MAX_LISTEN_SECS}"),
        ));
    }
    if max < 1 || max as u64 > syslog::MAX_MESSAGES_CAP as u64 {
        return Err(invalid(
            "max messages",
            max.to_string(),
            format!("expected 1 to {}", syslog::MAX_MESSAGES_CAP),
        ));
    }
    let dur = Duration::from_secs_f64(secs);
    ctx.block_on(async { Ok(syslog::listen(addr, dur, max as usize).await) })
        .map_err(to_rhai)?
        .map_err(listen_error)
}

fn listen_logs(ctx: &Ctx, addr: &str, secs: f64, max: i64) -> R<Array> {
    let c = collect(ctx, addr, secs, max)?;
    c.messages.iter().map(message_map).collect()
}

fn collect_logs(ctx: &Ctx, addr: &str, secs: f64, max: i64) -> R<Map> {
    let c = collect(ctx, addr, secs, max)?;
    let mut m = Map::new();
    let msgs: R<Array> = c.messages.iter().map(message_map).collect();
    m.insert("messages".into(), Dynamic::from_array(msgs?));
    m.insert("datagrams".into(), (c.datagrams as i64).into());
    m.insert("junk".into(), (c.junk as i64).into());
    m.insert("junk_sample".into(), dynamic(&c.junk_sample)?);
    m.insert("full".into(), c.full.into());
    Ok(m)
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    let c = ctx.clone();
    reg(
        "irqbalance",
        &["Map"],
        "Whether irqbalance runs, from /proc/*/comm (no systemd needed): `#{running, pids}`.\nIn a replay: as the snapshot recorded it (`not_recorded` when it did not).",
    )
    .register_into_engine(engine, move || dynamic(&probes(&c)?.0));
    let c = ctx.clone();
    reg(
        "cpus",
        &["Map"],
        "Online CPUs: `#{online, list, source}` (`list` as the kernel writes it, `0-3,6`).\nIn a replay: as the snapshot recorded them (`not_recorded` when it did not).",
    )
    .register_into_engine(engine, move || dynamic(&probes(&c)?.1));
    let c = ctx.clone();
    reg("host_facts", &["Map"], "What the host says, as a snapshot records it: `#{irqbalance: #{running, pids},\ncpus: #{online, list, source}, rsyslog: #{files, udp_inputs, imudp_loaded,\nimuxsock_loaded, unix_sockets, notes}, local_addresses: [\"10.0.0.5\", ...]}`\n(rsyslog as read from `--rsyslog-conf` and `--rsyslog-dir`, as in `log_setup()`;\n`local_addresses`: the addresses of the host's interfaces, loopback included).\nIn a replay: what the snapshot recorded, or a catchable `not_recorded` error,\nnever today's host; in the replay of a bundle taken before snapshots recorded\naddresses, `local_addresses` is `()`.")
        .register_into_engine(engine, move || host_facts(&c));
    let c = ctx.clone();
    reg("system_check", &["Map"], "irqbalance against HAProxy's processes and threads: `#{irqbalance, cpus,\nnbproc, nbthread, cpu_map, source, notes, findings}`. Nbproc/Nbthread come from\n`show info` when a socket answers (`source`), else from the configuration;\n`cpu_map` from the configuration. Records `system.irqbalance` when irqbalance\nruns while HAProxy runs several processes or pins threads with cpu-map.\nIn a replay irqbalance and the CPUs are the snapshot's; a bundle without them\nraises a catchable `not_recorded` error.")
        .register_into_engine(engine, move || system_check(&c));
    let c = ctx.clone();
    reg("system_checks", &["Array"], "`system_check()` of every host of the run (`check_hosts()`): `[#{target,\ncheck}]`, `target` the host (`localhost` for this machine), `check` its\n`system_check()` (keys below). The hosts' probes run at once (--forks at a\ntime), then each host is judged on its own CPUs, irqbalance, configuration\nand `show info` of a target on it. A host that cannot be probed (its SSH\nlogin or a probe failed) is left out and recorded as a `system.unreadable`\nfinding naming it. In a replay: the snapshot's host.")
        .register_into_engine(engine, move || system_checks(&c));
    let c = ctx.clone();
    reg("log_setup", &["Map"], "Both sides of logging, without recording anything: `#{haproxy: [#{kind,\naddress, host, port, path, ring, facility, level, format, location, section,\ndisplay}], chroot: #{dir, location} or (), rsyslog: #{files, udp_inputs:\n[#{address, port, location, style}], imudp_loaded, imuxsock_loaded,\nunix_sockets: [#{path, location}], notes}, notes, config_error, findings,\nsummary}`. `findings` are what `log_check()` would record (`logs.*`);\n`summary` says it in one line for a table (`2 targets: /dev/log (chroot,\nrsyslog socket present)`). rsyslog comes from\n`--rsyslog-conf`/`--rsyslog-dir`; a missing rsyslog is an empty setup with a note.\nWhether `log <ip>:<port>` points at this host compares with its addresses: in a\nreplay the snapshot's, and a bundle without them raises a catchable\n`not_recorded` error when a log target is such an address.")
        .register_into_engine(engine, move || log_setup(&c, None));
    let c = ctx.clone();
    reg(
        "log_setup",
        &["path: String", "Map"],
        "`log_setup()` for this haproxy.cfg file or directory.",
    )
    .register_into_engine(engine, move |p: &str| log_setup(&c, Some(p)));
    let c = ctx.clone();
    reg("log_check", &["Array"], "Check that HAProxy's log targets reach a local receiver (rsyslog UDP input,\nunix socket, inside the chroot too). Records the `logs.*` findings (see\ndocs/findings.md), each with the exact lines to add on each side and the\nreload/restart commands, and returns them as maps. In a replay a `log <ip>:<port>`\ntarget is local when the snapshot recorded that address on the host; a bundle\nwithout the addresses raises a catchable `not_recorded` error for such a target.")
        .register_into_engine(engine, move || log_check(&c, None, &[]));
    let c = ctx.clone();
    reg(
        "log_check",
        &["path: String", "Array"],
        "`log_check()` for this haproxy.cfg file or directory.",
    )
    .register_into_engine(engine, move |p: &str| log_check(&c, Some(p), &[]));
    let c = ctx.clone();
    reg(
        "log_check",
        &["opts: Map", "Array"],
        "`log_check()` leaving out the hosts in `#{skip_hosts: [\"lb1\", ...]}` (named as\n`check_hosts()` names them; another name is an error): those whose logging\nthe playbook already reported, e.g. from `config_lint()`'s `config.no-log`,\nso one problem is one finding per host.",
    )
    .register_into_engine(engine, move |opts: Map| {
        log_check(&c, None, &skip_hosts_of(&opts)?)
    });
    let c = ctx.clone();
    reg("listen_logs", &["addr: String", "seconds: float", "Array"], "Bind a UDP syslog listener on `addr` (`127.0.0.1:5514`) for `seconds` (at most\n3600) and return what HAProxy sent, parsed, at most 10000 messages: one map per\nmessage with the syslog envelope (`pri, facility, severity, facility_name,\nseverity_name, format, timestamp, host, tag, pid, message`) plus `http` (httplog:\n`client_ip, frontend, backend, server, t_request, t_queue, t_connect,\nt_response, t_active, status, bytes_read, termination_state, termination,\nsrv_queue, backend_queue, method, uri, ...`) or `tcp` (tcplog) when the line\nparses as such. Junk datagrams are skipped. Ctrl-C / --max-time interrupt it.")
        .register_into_engine(engine, move |a: &str, s: f64| listen_logs(&c, a, s, DEFAULT_MAX_MESSAGES as i64));
    let c = ctx.clone();
    reg(
        "listen_logs",
        &["addr: String", "seconds: int", "Array"],
        "`listen_logs(addr, seconds)` with whole seconds.",
    )
    .register_into_engine(engine, move |a: &str, s: i64| {
        listen_logs(&c, a, s as f64, DEFAULT_MAX_MESSAGES as i64)
    });
    let c = ctx.clone();
    reg(
        "listen_logs",
        &["addr: String", "seconds: int", "max: int", "Array"],
        "`listen_logs` returning early once `max` messages arrived (1 to 1000000).",
    )
    .register_into_engine(engine, move |a: &str, s: i64, max: i64| {
        listen_logs(&c, a, s as f64, max)
    });
    let c = ctx.clone();
    reg("collect_logs", &["addr: String", "seconds: int", "max: int", "Map"], "`listen_logs` with receive statistics: `#{messages, datagrams, junk,\njunk_sample, full}` (`junk`: datagrams that are not syslog; `full`: stopped at `max`).")
        .register_into_engine(engine, move |a: &str, s: i64, max: i64| collect_logs(&c, a, s as f64, max));
}
