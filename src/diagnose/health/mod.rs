//! What a running HAProxy says about itself: servers out of rotation, failing
//! checks, queues, sessions close to a limit, the process near its maxconn.
//!
//! Pure functions over parsed `show stat`, `show servers state` and
//! `show info` replies, so every rule is tested on fixtures; the `*_check`
//! primitives (src/script/fns_health.rs) fetch the replies and add the target.
//!
//! Server state comes from the admin bit mask of `show servers state`, not
//! from the status text: a drained server whose check fails reads `DOWN` in
//! `show stat`, and a `MAINT (via bk/s)` text depends on the version.

#[cfg(test)]
use crate::base::report::MAX_EVIDENCE;
use crate::base::report::{Finding, Severity};
use crate::runtime::servers_state::{AdminState, OpState, ServerState};
use crate::runtime::stat::{ProxyType, Stat, StatRow};
use crate::system::FindingDoc;
use std::collections::{BTreeMap, HashMap};

/// Check results that mean the last health check failed (`check_status` in
/// `show stat`; management.txt section 9.1).
const FAILED_CHECKS: &[&str] = &[
    "SOCKERR", "L4TOUT", "L4CON", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7STS", "PROCERR",
    "PROCTOUT",
];

/// Whether the `check_status` text of `show stat` is a failure. HAProxy
/// prefixes `* ` while a check is running.
pub fn check_failed(check_status: &str) -> bool {
    let s = check_status.trim_start_matches("* ").trim();
    FAILED_CHECKS.contains(&s)
}

/// Why a server is out of rotation, or would be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Condition {
    Maint,
    Drain,
    Down,
    /// Running, but `set weight 0`: no new traffic, like a drain nobody named.
    WeightZero,
}

/// One server joined across `show stat` and `show servers state`.
struct ServerView<'a> {
    backend: &'a str,
    server: &'a str,
    row: &'a StatRow,
    state: Option<&'a ServerState>,
}

impl ServerView<'_> {
    fn in_rotation(&self) -> bool {
        match self.state {
            Some(s) => crate::runtime::servers_state::in_rotation(s.op_state, s.admin, s.uweight),
            None => self.condition().is_none(),
        }
    }

    fn name(&self) -> String {
        format!("{}/{}", self.backend, self.server)
    }

    fn status(&self) -> &str {
        self.row.text("status").unwrap_or("")
    }

    fn condition(&self) -> Option<Condition> {
        match self.state {
            Some(s) if s.admin.is_maint() => Some(Condition::Maint),
            Some(s) if s.admin.is_drain() => Some(Condition::Drain),
            Some(s) if s.op_state == OpState::Stopped => Some(Condition::Down),
            Some(s) if s.uweight == Some(0) => Some(Condition::WeightZero),
            Some(_) => None,
            // No servers state line (a backend without that command's support, or
            // a race with a reload): fall back to the status text.
            None => {
                let st = self.status();
                if st.starts_with("MAINT") {
                    Some(Condition::Maint)
                } else if st.starts_with("DRAIN") {
                    Some(Condition::Drain)
                } else if st.starts_with("DOWN") {
                    Some(Condition::Down)
                } else {
                    None
                }
            }
        }
    }

    /// `L4CON (Connection refused)`, or None when checks pass or are off.
    fn failed_check(&self) -> Option<String> {
        let status = self.row.text("check_status")?;
        if !check_failed(status) {
            return None;
        }
        let status = status.trim_start_matches("* ").trim();
        let code = self
            .row
            .int("check_code")
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        // `last_chk` is the specific cause ("Connection refused"); `check_desc`
        // only names the status ("Layer4 connection problem").
        let why = self
            .row
            .text("last_chk")
            .or_else(|| self.row.text("check_desc"));
        Some(match why {
            Some(why) => format!("{status}{code} ({why})"),
            None => format!("{status}{code}"),
        })
    }

    /// ` [op_state=stopped admin_state=0 weight=1]`: the words `servers()`
    /// and a write's `before`/`after` use, so evidence reads like the data.
    fn vocabulary(&self) -> String {
        match self.state {
            Some(st) => format!(
                " [op_state={} admin_state={} weight={}]",
                st.op_state.as_str(),
                st.admin.0,
                st.uweight
                    .map(|w| w.to_string())
                    .unwrap_or_else(|| "-".into())
            ),
            None => String::new(),
        }
    }

    fn since_change(&self) -> String {
        match self.row.int("lastchg") {
            Some(s) => format!(" for {}", human_secs(s)),
            None => String::new(),
        }
    }

    /// Where the health check connects: the server's address, unless the
    /// server line sets `addr`/`port` for checks (`srv_check_addr`/`_port`).
    fn address(&self) -> Option<String> {
        let s = self.state?;
        let set = |name: &str| {
            s.field(name)
                .filter(|v| !matches!(*v, "" | "-" | "0"))
                .map(str::to_string)
        };
        let (check_addr, check_port) = (set("srv_check_addr"), set("srv_check_port"));
        let check = check_addr.is_some() || check_port.is_some();
        let host = check_addr.unwrap_or_else(|| s.addr.clone());
        let port = check_port.or(s.port.filter(|p| *p > 0).map(|p| p.to_string()));
        let label = if check { "check " } else { "" };
        Some(match port {
            Some(p) => format!("{label}{host}:{p}"),
            None => format!("{label}{host}"),
        })
    }
}

fn human_secs(s: i64) -> String {
    match s {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn list(names: &[String]) -> String {
    match names.len() {
        0 => String::new(),
        n if n <= 4 => names.join(", "),
        n => format!("{}, ... ({n} in all)", names[..3].join(", ")),
    }
}

/// Server rows of `stat`, joined with their servers-state line, grouped by backend
/// in the order HAProxy lists them.
fn servers_by_backend<'a>(
    stat: &'a Stat,
    states: &'a [ServerState],
) -> Vec<(&'a str, Vec<ServerView<'a>>)> {
    let by_name: HashMap<(&str, &str), &ServerState> = states
        .iter()
        .map(|s| ((s.be_name.as_str(), s.srv_name.as_str()), s))
        .collect();
    let (Some(px), Some(sv)) = (stat.index("pxname"), stat.index("svname")) else {
        return Vec::new();
    };
    let mut out: Vec<(&str, Vec<ServerView>)> = Vec::new();
    for row in &stat.rows {
        if row.proxy_type() != Some(ProxyType::Server) {
            continue;
        }
        let (backend, server) = (row.raw(px), row.raw(sv));
        let view = ServerView {
            backend,
            server,
            row,
            state: by_name.get(&(backend, server)).copied(),
        };
        match out.last_mut() {
            Some((b, v)) if *b == backend => v.push(view),
            _ => out.push((backend, vec![view])),
        }
    }
    out
}

/// Servers in rotation (see [`crate::runtime::servers_state::in_rotation`])
/// and in all, and requests queued (backend and server `qcur`): the one-line
/// summary of a farm.
pub fn summary(stat: &Stat, states: &[ServerState]) -> (usize, usize, i64) {
    let servers = servers_by_backend(stat, states);
    let all = servers.iter().flat_map(|(_, v)| v);
    let (in_rotation, total) = all.fold((0, 0), |(r, t), s| {
        (r + usize::from(s.in_rotation()), t + 1)
    });
    let queued = stat
        .rows
        .iter()
        .filter(|r| matches!(r.proxy_type(), Some(ProxyType::Backend | ProxyType::Server)))
        .map(|r| r.int("qcur").unwrap_or(0))
        .sum();
    (in_rotation, total, queued)
}

/// `servers.down`, `servers.maint`, `servers.drain`, `servers.check-failing`
/// (one finding per backend, servers as evidence) and `backend.down`.
pub fn assess_servers(stat: &Stat, states: &[ServerState]) -> Vec<Finding> {
    let mut out = Vec::new();
    let backend_rows: HashMap<&str, &StatRow> = match stat.index("pxname") {
        Some(px) => stat
            .rows
            .iter()
            .filter(|r| r.proxy_type() == Some(ProxyType::Backend))
            .map(|r| (r.raw(px), r))
            .collect(),
        None => HashMap::new(),
    };
    for (backend, servers) in servers_by_backend(stat, states) {
        let total = servers.len();
        let mut groups: BTreeMap<Condition, Vec<&ServerView>> = BTreeMap::new();
        for s in &servers {
            if let Some(c) = s.condition() {
                groups.entry(c).or_default().push(s);
            }
        }
        let usable = total - groups.values().map(Vec::len).sum::<usize>();

        let backend_row = backend_rows.get(backend);
        if backend_row.is_some_and(|r| r.text("status") == Some("DOWN")) {
            // The quickest way back is a server parked on purpose: name them.
            let parked: Vec<String> = [Condition::Drain, Condition::Maint, Condition::WeightZero]
                .iter()
                .flat_map(|k| groups.get(k).into_iter().flatten())
                .map(|s| {
                    if s.condition() == Some(Condition::WeightZero) {
                        format!("`set weight {}/{} 100%`", s.backend, s.server)
                    } else {
                        format!("`set server {}/{} state ready`", s.backend, s.server)
                    }
                })
                .collect();
            let advice = if parked.is_empty() {
                "bring one server back: fix a DOWN one (`servers.down` has its last check); nothing here is parked on purpose".to_string()
            } else {
                format!(
                    "fastest: put a parked server back, if it is healthy: {}; then fix the DOWN ones",
                    parked.join(" or ")
                )
            };
            out.push(
                Finding::new(
                    Severity::Critical,
                    "backend.down",
                    format!("{backend}: no server can take traffic ({total} configured)"),
                )
                .detail("HAProxy answers every request routed here at once with 503 (no server available); nothing queues")
                .advice(advice),
            );
        } else if let Some(row) = backend_row {
            // UP on backups only: the active pool is gone.
            let (act, bck) = (row.int("act").unwrap_or(1), row.int("bck").unwrap_or(0));
            if act == 0 && bck > 0 {
                out.push(
                    Finding::new(
                        Severity::Error,
                        "backend.backup-only",
                        format!("{backend}: every active server is out, {bck} backup server(s) carry the traffic"),
                    )
                    .detail("backup servers are sized for a fallback, not for the full load")
                    .advice("bring the active servers back (see servers.down / servers.maint for this backend)"),
                );
            }
        }
        if let Some(down) = groups.get(&Condition::Down) {
            let names: Vec<String> = down.iter().map(|s| s.server.to_string()).collect();
            let lines = down.iter().map(|s| {
                let check = s
                    .failed_check()
                    .map(|c| format!(", last check {c}"))
                    .unwrap_or_default();
                let addr = s.address().map(|a| format!(" ({a})")).unwrap_or_default();
                format!(
                    "{}{addr}: {}{}{check}{}",
                    s.name(),
                    s.status(),
                    s.since_change(),
                    s.vocabulary()
                )
            });
            let sev = if usable == 0 {
                Severity::Error
            } else {
                Severity::Warning
            };
            let f = Finding::new(
                sev,
                "servers.down",
                format!(
                    "{backend}: {} of {total} server(s) DOWN ({})",
                    down.len(),
                    list(&names)
                ),
            )
            .detail(format!(
                "{usable} server(s) of {backend} still take traffic; the health check marks a server DOWN after `fall` failures and UP again after `rise` successes"
            ))
            .advice(format!(
                "reach the server from this host as the check does (e.g. `curl -v http://ADDR/` or `nc -vz ADDR PORT`), fix it, then watch it come back: `show servers state {backend}`"
            ));
            out.push(f.evidence_capped(lines));
        }
        if let Some(maint) = groups.get(&Condition::Maint) {
            let names: Vec<String> = maint.iter().map(|s| s.server.to_string()).collect();
            let from_config_bit = |s: &ServerView| {
                s.state
                    .is_some_and(|st| st.admin.0 & AdminState::CMAINT != 0)
            };
            let lines = maint.iter().map(|s| {
                // `disabled` sets FMAINT and CMAINT: say "config", not "forced".
                let why = match s.state {
                    Some(_) if from_config_bit(s) => "config: `disabled`".to_string(),
                    Some(st) => st.admin.maint_sources().join("+"),
                    None => "status text".into(),
                };
                format!(
                    "{}: maintenance ({why}){}{}",
                    s.name(),
                    s.since_change(),
                    s.vocabulary()
                )
            });
            let from_config = maint.iter().any(|s| from_config_bit(s));
            let f = Finding::new(
                Severity::Info,
                "servers.maint",
                format!(
                    "{backend}: {} server(s) in maintenance ({})",
                    maint.len(),
                    list(&names)
                ),
            )
            .detail(if from_config {
                "`disabled` in the configuration keeps a server in maintenance at every start; `inherited` means it tracks a server in maintenance"
            } else {
                "set from the runtime API (`forced`), inherited from a tracked server, or because its address did not resolve"
            })
            .advice(if from_config {
                format!(
                    "if it is meant to serve: remove `disabled` from its server line and reload (a runtime `set server {backend}/{} state ready` is undone by the next reload)",
                    names[0]
                )
            } else {
                format!(
                    "if it is meant to serve: `set server {backend}/{} state ready` (check `harun journal` for who put it there)",
                    names[0]
                )
            });
            out.push(f.evidence_capped(lines));
        }
        if let Some(drain) = groups.get(&Condition::Drain) {
            let names: Vec<String> = drain.iter().map(|s| s.server.to_string()).collect();
            let lines = drain.iter().map(|s| {
                format!(
                    "{}: drain, {} session(s), {} queued{}",
                    s.name(),
                    s.row.int("scur").unwrap_or(0),
                    s.row.int("qcur").unwrap_or(0),
                    s.vocabulary()
                )
            });
            let f = Finding::new(
                Severity::Info,
                "servers.drain",
                format!(
                    "{backend}: {} server(s) draining ({})",
                    drain.len(),
                    list(&names)
                ),
            )
            .detail("a draining server keeps its current sessions and persistent clients but gets no new traffic")
            .advice(format!(
                "finish with `harun drain_server -p server={backend}/{} -p then=maint`, or put it back: `set server {backend}/{} state ready`",
                names[0], names[0]
            ));
            out.push(f.evidence_capped(lines));
        }
        if let Some(light) = groups.get(&Condition::WeightZero) {
            let names: Vec<String> = light.iter().map(|s| s.server.to_string()).collect();
            let lines = light.iter().map(|s| {
                format!(
                    "{}: weight 0 (initial {}), {} session(s){}",
                    s.name(),
                    s.state.and_then(|st| st.iweight).unwrap_or(0),
                    s.row.int("scur").unwrap_or(0),
                    s.vocabulary()
                )
            });
            let f = Finding::new(
                Severity::Info,
                "servers.weight-zero",
                format!(
                    "{backend}: {} server(s) UP at weight 0 ({})",
                    light.len(),
                    list(&names)
                ),
            )
            .detail("weight 0 takes no new traffic (persistent clients aside): a drain that does not say its name, often left behind after maintenance")
            .advice(format!(
                "if it is meant to serve: `set weight {backend}/{} 100%` (back to its configured weight)",
                names[0]
            ));
            out.push(f.evidence_capped(lines));
        }
        // A DOWN server's failing check is already in servers.down: this is for
        // servers still taking (or about to take) traffic, and drained ones.
        let failing: Vec<&ServerView> = servers
            .iter()
            .filter(|s| {
                !matches!(s.condition(), Some(Condition::Maint | Condition::Down))
                    && s.failed_check().is_some()
            })
            .collect();
        if !failing.is_empty() {
            let names: Vec<String> = failing.iter().map(|s| s.server.to_string()).collect();
            let lines = failing.iter().map(|s| {
                format!(
                    "{}: {}, status {}",
                    s.name(),
                    s.failed_check().unwrap_or_default(),
                    s.status()
                )
            });
            let f = Finding::new(
                Severity::Warning,
                "servers.check-failing",
                format!(
                    "{backend}: health check failing on {} server(s) ({})",
                    failing.len(),
                    list(&names)
                ),
            )
            .detail("still in the pool but failing: it goes DOWN after `fall` failures (a drained one stays out). L4CON: connection refused; L4TOUT/L7TOUT: no answer in `timeout check`; L7STS: wrong HTTP status; L7RSP: not HTTP; SOCKERR: local socket error")
            .advice("run the check by hand from the HAProxy host (the same address, port and `option httpchk` request), then fix the server or the check");
            out.push(f.evidence_capped(lines));
        }
    }
    out
}

/// `queues.backend`, `queues.server` and `sessions.near-limit` (`near` is the
/// fraction of a limit that counts as close, e.g. 0.8). `only` keeps one proxy.
pub fn assess_queues(stat: &Stat, near: f64, only: Option<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(px) = stat.index("pxname") else {
        return out;
    };
    let sv = stat.index("svname");
    let mut near_rows = Vec::new();
    let mut server_queues = Vec::new();
    // A backend that queues is reported as such; its servers at their limit
    // are the cause, not a second finding.
    let queued_backends: std::collections::HashSet<&str> = stat
        .rows
        .iter()
        .filter(|r| r.proxy_type() == Some(ProxyType::Backend) && r.int("qcur").unwrap_or(0) > 0)
        .map(|r| r.raw(px))
        .collect();
    for row in &stat.rows {
        let proxy = row.raw(px);
        if only.is_some_and(|o| o != proxy) {
            continue;
        }
        let name = match sv {
            Some(i) => format!("{proxy}/{}", row.raw(i)),
            None => proxy.to_string(),
        };
        let (qcur, qmax) = (row.int("qcur").unwrap_or(0), row.int("qmax").unwrap_or(0));
        let (scur, slim) = (row.int("scur").unwrap_or(0), row.int("slim").unwrap_or(0));
        match row.proxy_type() {
            Some(ProxyType::Backend) if qcur > 0 => {
                let qtime = match (row.int("qtime"), row.int("qtime_max")) {
                    (Some(t), Some(m)) => format!("; queue time: average {t} ms, max {m} ms"),
                    (Some(t), None) => format!("; average queue time {t} ms"),
                    _ => String::new(),
                };
                out.push(
                    Finding::new(
                        Severity::Warning,
                        "queues.backend",
                        format!("{proxy}: {qcur} request(s) queued at backend level (max {qmax})"),
                    )
                    .detail(format!(
                        "every usable server of {proxy} is at its maxconn: these requests wait up to `timeout queue` (then 503){qtime}"
                    ))
                    .evidence(format!("{proxy}/BACKEND: qcur {qcur}, qmax {qmax}, scur {scur}"))
                    .advice(format!(
                        "look at the servers of {proxy} (`harun inspect_queues -p backend={proxy}`): raise their maxconn if they can take more, add servers, or find why they answer slowly"
                    )),
                );
            }
            Some(ProxyType::Server) if qcur > 0 => {
                let limit = if slim > 0 {
                    format!("{scur} of maxconn {slim}")
                } else {
                    format!("{scur}")
                };
                server_queues.push(format!(
                    "{name}: {qcur} queued (max {qmax}), sessions {limit}"
                ));
            }
            Some(kind @ (ProxyType::Frontend | ProxyType::Server))
                if slim > 0
                    && qcur == 0
                    && !(kind == ProxyType::Server && queued_backends.contains(proxy))
                    // With a handful of slots, "near" is only "at" the limit.
                    && (if slim < 10 { scur >= slim } else { scur as f64 >= near * slim as f64 }) =>
            {
                near_rows.push(format!("{name}: {scur} of {slim} sessions"));
            }
            _ => {}
        }
    }
    if !server_queues.is_empty() {
        let f = Finding::new(
            Severity::Warning,
            "queues.server",
            format!(
                "{} server(s) at their maxconn with requests queued",
                server_queues.len()
            ),
        )
        .detail("requests bound to one server (persistence, hash balancing) wait in that server's own queue while it serves `maxconn` sessions")
        .advice("raise the server's maxconn if it can take more, or let queued requests go elsewhere with `maxqueue N` on the server line (with hash balancing: `hash-balance-factor 150`); find why it is slow (`rtime`/`ttime` in show stat)");
        out.push(f.evidence_capped(server_queues));
    }
    if !near_rows.is_empty() {
        let pct = (near * 100.0).round() as i64;
        let f = Finding::new(
            Severity::Warning,
            "sessions.near-limit",
            format!(
                "{} frontend(s)/server(s) above {pct}% of their session limit",
                near_rows.len()
            ),
        )
        .detail("at the limit a server queues new requests and a frontend stops accepting connections (they wait in the kernel's backlog)")
        .advice("raise the limit (`maxconn` on the server or the frontend) if the host can take it, or add capacity before queues build");
        out.push(f.evidence_capped(near_rows));
    }
    out
}

/// What one backend did between two `show stat` samples.
#[derive(Default)]
struct Delta {
    responses: i64,
    errors_5xx: i64,
    /// Per server: (name, 5xx, connection errors).
    servers: Vec<(String, i64, i64)>,
    econ: i64,
    eresp: i64,
    retries: i64,
    redispatches: i64,
}

/// `after - before` of a counter; a counter that went down was reset (reload,
/// `clear counters`): count from zero.
fn grew(before: Option<&StatRow>, after: &StatRow, column: &str) -> i64 {
    let a = after.int(column).unwrap_or(0);
    match before.and_then(|b| b.int(column)) {
        Some(b) if b <= a => a - b,
        _ => a,
    }
}

/// `errors.unavailable`: no second `show stat` sample to compute rates
/// from (a replay bundle that recorded one), so none is reported, never 0.
pub fn errors_unavailable(why: &str) -> Finding {
    Finding::new(
        Severity::Info,
        "errors.unavailable",
        "5xx and connection-error rates are unavailable",
    )
    .detail(why.to_string())
    .advice("rates need two `show stat` samples: take snapshots with `-p sample=3` (the default) so that a replay has them")
}

/// `backend.errors` (5xx responses) and `backend.conn-errors` (connection
/// errors to servers) from two `show stat` samples `secs` apart.
pub fn assess_errors(before: &Stat, after: &Stat, secs: f64) -> Vec<Finding> {
    let mut out = Vec::new();
    let (Some(apx), Some(asv)) = (after.index("pxname"), after.index("svname")) else {
        return out;
    };
    let previous: HashMap<(&str, &str), &StatRow> =
        match (before.index("pxname"), before.index("svname")) {
            (Some(px), Some(sv)) => before
                .rows
                .iter()
                .map(|r| ((r.raw(px), r.raw(sv)), r))
                .collect(),
            _ => HashMap::new(),
        };
    let mut by_backend: BTreeMap<&str, Delta> = BTreeMap::new();
    for row in &after.rows {
        let (px, sv) = (row.raw(apx), row.raw(asv));
        let prev = previous.get(&(px, sv)).copied();
        match row.proxy_type() {
            Some(ProxyType::Backend) => {
                let d = by_backend.entry(px).or_default();
                d.responses = [
                    "hrsp_1xx",
                    "hrsp_2xx",
                    "hrsp_3xx",
                    "hrsp_4xx",
                    "hrsp_5xx",
                    "hrsp_other",
                ]
                .iter()
                .map(|c| grew(prev, row, c))
                .sum();
                d.errors_5xx = grew(prev, row, "hrsp_5xx");
                d.econ = grew(prev, row, "econ");
                d.eresp = grew(prev, row, "eresp");
                d.retries = grew(prev, row, "wretr");
                d.redispatches = grew(prev, row, "wredis");
            }
            Some(ProxyType::Server) => {
                let (e5, ec) = (grew(prev, row, "hrsp_5xx"), grew(prev, row, "econ"));
                if e5 > 0 || ec > 0 {
                    by_backend
                        .entry(px)
                        .or_default()
                        .servers
                        .push((sv.to_string(), e5, ec));
                }
            }
            _ => {}
        }
    }
    let window = if secs >= 1.0 {
        format!("{secs:.0}s")
    } else {
        format!("{:.0} ms", secs * 1000.0)
    };
    for (backend, d) in &by_backend {
        let mut servers = d.servers.clone();
        servers.sort_by_key(|s| std::cmp::Reverse(s.1 + s.2));
        let per_server: Vec<String> = servers
            .iter()
            .map(|(s, e5, ec)| format!("{backend}/{s}: {e5} 5xx, {ec} connection error(s)"))
            .collect();
        let counters = format!(
            "{backend}: {} response(s), {} 5xx, {} connection error(s), {} response error(s), {} retries, {} redispatches in {window}",
            d.responses, d.errors_5xx, d.econ, d.eresp, d.retries, d.redispatches
        );
        if d.errors_5xx > 0 {
            let ratio = d.errors_5xx as f64 / d.responses.max(d.errors_5xx) as f64;
            let sev = if ratio >= 0.5 {
                Severity::Error
            } else {
                Severity::Warning
            };
            let f = Finding::new(
                sev,
                "backend.errors",
                format!(
                    "{backend}: {} of {} responses were 5xx ({:.0}%) in {window}",
                    d.errors_5xx,
                    d.responses,
                    ratio * 100.0
                ),
            )
            .detail("5xx from the servers, or 503/504 from HAProxy itself (no server available, queue or server timeout): the termination state in the logs tells which (`sH`, `sC`, `SC`, `sQ`)")
            .advice(format!(
                "see which servers answer them (evidence), `show errors` for malformed responses, and the logs: `harun enable_logs -p verify=true`; for a server failing all requests: `harun drain_server -p server={backend}/NAME`"
            ))
            .evidence(counters);
            out.push(f.evidence_capped(per_server));
        } else if d.econ > 0 {
            let f = Finding::new(
                Severity::Warning,
                "backend.conn-errors",
                format!("{backend}: {} connection error(s) to servers in {window}", d.econ),
            )
            .detail("HAProxy could not connect to a server (refused, timeout connect): requests were retried or redispatched, or failed")
            .advice("check the servers named in the evidence: is the service listening, is `timeout connect` long enough for this network?")
            .evidence(counters);
            out.push(f.evidence_capped(per_server));
        }
    }
    out
}

fn info_int(info: &[(String, String)], key: &str) -> Option<i64> {
    info.iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// `process.maxconn` (connections close to the process limit) and `process.busy`
/// (little idle CPU left) from `show info`.
pub fn assess_process(info: &[(String, String)], near: f64) -> Vec<Finding> {
    let mut out = Vec::new();
    if let (Some(cur), Some(max)) = (info_int(info, "CurrConns"), info_int(info, "Maxconn")) {
        if max > 0 && cur as f64 >= near * max as f64 {
            let sev = if cur >= max {
                Severity::Error
            } else {
                Severity::Warning
            };
            out.push(
                Finding::new(
                    sev,
                    "process.maxconn",
                    format!("{cur} connections of the process limit {max}"),
                )
                .detail("at maxconn HAProxy stops accepting: new connections wait in the kernel's listen backlog, then time out on the client side")
                .evidence(format!("show info: CurrConns {cur}, Maxconn {max}"))
                .advice("raise `maxconn` in global if memory allows, and check that the file descriptor limit does not cap it (`Ulimit-n`/`Maxsock` in show info; systemd `LimitNOFILE`, `fd-hard-limit`); look for slow servers holding connections (`harun inspect_queues`)"),
            );
        }
    }
    if let Some(idle) = info_int(info, "Idle_pct") {
        if idle < 10 {
            out.push(
                Finding::new(
                    Severity::Warning,
                    "process.busy",
                    format!("HAProxy has {idle}% idle CPU left"),
                )
                .detail("below ~10% idle, latency grows with every extra request: TLS handshakes, heavy ACLs/regexes, compression or too few threads")
                .evidence(format!("show info: Idle_pct {idle}"))
                .advice("`show activity` and `show info` (SslRate, CompressBpsIn), check `nbthread` against the CPUs, and look at irqbalance (`harun troubleshoot`)"),
            );
        }
    }
    out
}

/// Every finding id this module emits.
pub fn finding_docs() -> &'static [FindingDoc] {
    FINDING_DOCS
}

static FINDING_DOCS: &[FindingDoc] = &[
    FindingDoc {
        id: "backend.down",
        severity: Severity::Critical,
        title: "Backend with no server able to take traffic",
        meaning: "The backend's status is DOWN: no server is usable (DOWN, in maintenance, draining or at weight 0). HAProxy answers every request routed to it at once with 503 (no server available); nothing queues.",
        fix: "Fastest: put back a server parked on purpose, if healthy (`set server BK/SRV state ready`, `set weight BK/SRV 100%`; the finding names them), then fix the DOWN ones (`servers.down` has their last check).",
    },
    FindingDoc {
        id: "backend.backup-only",
        severity: Severity::Error,
        title: "Backend served by its backup servers only",
        meaning: "Every active server of the backend is out (`act` 0 in show stat) and `backup` servers carry the traffic: they are usually sized for a fallback, not for the full load.",
        fix: "Bring the active servers back: see `servers.down`, `servers.maint`, `servers.drain` for this backend.",
    },
    FindingDoc {
        id: "servers.down",
        severity: Severity::Warning,
        title: "Servers DOWN (error when none of the backend is left)",
        meaning: "The health check took these servers out of rotation (operational state stopped) while they are not in maintenance. Error level when no server of the backend is usable any more.",
        fix: "Reach the server from the HAProxy host the way the check does (`curl -v http://ADDR/`, `nc -vz ADDR PORT`), fix it; it comes back after `rise` successful checks. Watch with `show servers state BK`.",
    },
    FindingDoc {
        id: "servers.maint",
        severity: Severity::Info,
        title: "Servers in maintenance",
        meaning: "Decoded from the admin bit mask of `show servers state`: forced from the runtime API, `disabled` in the configuration, inherited from a tracked server, or because its address did not resolve. No traffic and no checks.",
        fix: "If it should serve again: `set server BK/SRV state ready` (`harun -e 'set_state(\"BK/SRV\", \"ready\")'`); `harun journal` shows who changed it through harun. A server `disabled` in the configuration comes back in maintenance at every reload: remove `disabled` from its line.",
    },
    FindingDoc {
        id: "servers.drain",
        severity: Severity::Info,
        title: "Servers draining",
        meaning: "The drain flag is set in the admin bit mask: the server keeps its sessions and persistent clients but gets no new traffic.",
        fix: "Finish the drain with `harun drain_server -p server=BK/SRV -p then=maint`, or put it back: `set server BK/SRV state ready`.",
    },
    FindingDoc {
        id: "servers.weight-zero",
        severity: Severity::Info,
        title: "Servers UP at weight 0",
        meaning: "`set weight BK/SRV 0` (or `set server BK/SRV weight 0`): the server takes no new traffic except persistent clients, like a drain that is not flagged as one; often left behind after maintenance.",
        fix: "If it should serve: `set weight BK/SRV 100%` (back to the configured weight).",
    },
    FindingDoc {
        id: "servers.check-failing",
        severity: Severity::Warning,
        title: "Health check failing",
        meaning: "The last health check of a server that is neither DOWN nor in maintenance failed (`check_status` L4CON, L4TOUT, L6*, L7TOUT, L7RSP, L7STS, SOCKERR, PROC*): it goes DOWN after `fall` failures, or a drained server would not come back healthy. DOWN servers carry their last check in `servers.down`.",
        fix: "Run the check by hand from the HAProxy host (same address, port and `option httpchk` request) and fix the server or the check (`http-check expect`, `timeout check`).",
    },
    FindingDoc {
        id: "queues.backend",
        severity: Severity::Warning,
        title: "Requests queued at backend level",
        meaning: "Every usable server of the backend is at its maxconn: new requests wait in the backend queue up to `timeout queue`, then get a 503. `qtime` is the average time spent there over the last 1024 requests, `qtime_max` the worst.",
        fix: "Raise the servers' maxconn if they can take more, add servers, or find why they are slow (`rtime`/`ttime` in show stat); `harun inspect_queues` shows every queue.",
    },
    FindingDoc {
        id: "queues.server",
        severity: Severity::Warning,
        title: "A server at its maxconn with a queue",
        meaning: "Requests bound to this server (persistence, hash balancing) wait in its own queue while it serves `maxconn` sessions.",
        fix: "Raise the server's maxconn if it can take more, or cap its queue with `maxqueue N` on the server line so extra requests are redispatched to other servers (with hash balancing: `hash-balance-factor 150`); find why it answers slowly.",
    },
    FindingDoc {
        id: "sessions.near-limit",
        severity: Severity::Warning,
        title: "Sessions close to a limit",
        meaning: "A frontend or server is above the given fraction (default 80%) of its session limit (`slim`: maxconn; below 10 slots, only at the limit): servers queue at the limit, frontends stop accepting. Servers of a backend that already queues are covered by `queues.backend`.",
        fix: "Raise `maxconn` on the server or frontend if the host can take it, or add capacity before queues build.",
    },
    FindingDoc {
        id: "backend.errors",
        severity: Severity::Warning,
        title: "5xx responses during the sample (error at 50% or more)",
        meaning: "Between two `show stat` samples the backend's `hrsp_5xx` grew: servers answered 5xx, or HAProxy produced 503/504 itself (no server available, queue or server timeout). Evidence gives the responses, connection and response errors, retries and redispatches, and the servers with the most 5xx.",
        fix: "Look at the servers named in the evidence, `show errors`, and the termination state in the logs (`sH` server timeout, `sC`/`SC` connection, `sQ` queue timeout); drain a server that fails every request.",
    },
    FindingDoc {
        id: "backend.conn-errors",
        severity: Severity::Warning,
        title: "Connection errors to servers during the sample",
        meaning: "`econ` grew between two `show stat` samples: HAProxy could not connect to a server (refused, `timeout connect`); requests were retried, redispatched or failed.",
        fix: "Check that the servers in the evidence listen and are reachable from the HAProxy host; check `timeout connect` against the network's latency.",
    },
    FindingDoc {
        id: "process.maxconn",
        severity: Severity::Warning,
        title: "Connections close to the process maxconn (error at the limit)",
        meaning: "`CurrConns` in `show info` is above the given fraction of `Maxconn`: at the limit HAProxy stops accepting and new connections wait in the kernel backlog.",
        fix: "Raise global `maxconn` if memory allows, and check that the descriptor limit does not cap it (`Ulimit-n`/`Maxsock` in show info, systemd `LimitNOFILE`, `fd-hard-limit`); shed load, or find the slow servers that hold connections.",
    },
    FindingDoc {
        id: "errors.unavailable",
        severity: Severity::Info,
        title: "5xx and connection-error rates are unavailable",
        meaning: "Rates come from two `show stat` samples some seconds apart. A replay bundle that recorded only one (snapshots taken with `-p sample=0`, or before snapshots took two) has no interval to divide by: the rates are not reported at all, rather than as 0.",
        fix: "Nothing to fix in HAProxy. For the next incident, take the snapshot with two samples (`harun snapshot`, `-p sample=3` is the default).",
    },
    FindingDoc {
        id: "process.busy",
        severity: Severity::Warning,
        title: "HAProxy close to CPU saturation",
        meaning: "`Idle_pct` in `show info` is below 10: latency grows with every extra request.",
        fix: "Look at `show activity`, TLS and compression rates in `show info`, `nbthread` against the CPUs, and irqbalance.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::info::parse_info;
    use crate::runtime::servers_state::parse_servers_state;
    use crate::runtime::stat::parse_stat;

    const HEADER: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,lastchg,check_status,check_code,check_duration,type,qtime,last_chk,check_desc,\n";

    fn stat(rows: &str) -> Stat {
        parse_stat(&format!("{HEADER}{rows}")).unwrap()
    }

    const STATES: &str = "1\n\
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n\
3 bk_app 1 app1 127.0.0.1 2 0 1 1 100 15 3 4 6 0 0 0 - 8001 - 0 0 - - 0\n\
3 bk_app 2 app2 127.0.0.1 2 8 1 1 100 15 3 4 6 0 0 0 - 8002 - 0 0 - - 0\n\
3 bk_app 3 app3 127.0.0.1 0 5 1 1 100 1 0 0 6 0 0 0 - 8003 - 0 0 - - 0\n\
4 bk_api 1 api1 127.0.0.1 2 0 1 1 100 15 3 4 6 0 0 0 - 8004 - 0 0 - - 0\n\
4 bk_api 2 api2 127.0.0.1 0 0 1 1 12 8 2 0 6 0 0 0 - 8005 - 0 0 - - 0\n\
5 bk_none 1 n1 127.0.0.1 0 0 1 1 12 8 2 0 6 0 0 0 - 8006 - 0 9006 - - 0\n";

    const ROWS: &str = "\
fe_main,FRONTEND,,,3,10,4096,100,OPEN,,,,,0,,,,\n\
bk_app,app1,0,0,0,3,,50,UP,100,L7OK,200,1,2,,,Layer7 check passed,\n\
bk_app,app2,0,0,2,3,,50,DOWN,100,L4CON,,0,2,,,Connection refused,\n\
bk_app,app3,0,0,0,0,,0,MAINT,100,,,,2,,,,\n\
bk_app,BACKEND,0,0,2,6,409,100,UP,100,,,,1,0,,,\n\
bk_api,api1,0,0,0,3,,50,UP,100,L7OK,200,1,2,,,Layer7 check passed,\n\
bk_api,api2,0,0,0,0,,0,DOWN,12,L4CON,,0,2,,,Connection refused,\n\
bk_api,BACKEND,0,0,0,6,409,100,UP,100,,,,1,0,,,\n\
bk_none,n1,0,0,0,0,,0,DOWN,12,L7STS,503,2,2,,,HTTP status check returned code <3C>503<3E>,\n\
bk_none,BACKEND,0,0,0,0,409,0,DOWN,12,,,,1,0,,,\n";

    fn by_id<'a>(f: &'a [Finding], id: &str) -> Vec<&'a Finding> {
        f.iter().filter(|f| f.id == id).collect()
    }

    #[test]
    fn server_conditions_come_from_the_admin_mask_not_the_status_text() {
        let states = parse_servers_state(STATES).unwrap();
        let f = assess_servers(&stat(ROWS), &states);
        // app2 reads DOWN in show stat but is draining (admin 8): drain, not down.
        let drain = by_id(&f, "servers.drain");
        assert_eq!(drain.len(), 1);
        assert!(drain[0].title.contains("app2"), "{drain:?}");
        assert!(drain[0].evidence[0].contains("2 session(s)"));
        // app3: admin 5 = FMAINT|CMAINT, `disabled` in the config.
        let maint = by_id(&f, "servers.maint");
        assert_eq!(maint.len(), 1);
        assert!(
            maint[0].evidence[0].contains("config: `disabled`"),
            "{maint:?}"
        );
        assert!(maint[0]
            .advice
            .as_deref()
            .unwrap()
            .contains("remove `disabled`"));
        let down = by_id(&f, "servers.down");
        let names: Vec<&str> = down.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(down.len(), 2, "{names:?}");
        assert!(down[0].title.starts_with("bk_api: 1 of 2"), "{names:?}");
        assert_eq!(down[0].severity, Severity::Warning);
        assert!(down[0].evidence[0].contains("127.0.0.1:8005"));
        assert!(down[0].evidence[0].contains("L4CON (Connection refused)"));
        // bk_none has nothing left: error, and the backend itself is critical.
        assert_eq!(down[1].severity, Severity::Error);
        let bk = by_id(&f, "backend.down");
        assert_eq!(bk.len(), 1);
        assert!(bk[0].title.starts_with("bk_none"));
    }

    #[test]
    fn failing_checks_name_status_code_and_description() {
        let states = parse_servers_state(STATES).unwrap();
        let f = assess_servers(&stat(ROWS), &states);
        let failing = by_id(&f, "servers.check-failing");
        // app2 (drained, L4CON) only: DOWN ones carry it in servers.down,
        // maintenance stops checks.
        let all: Vec<String> = failing.iter().flat_map(|f| f.evidence.clone()).collect();
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].starts_with("bk_app/app2: L4CON (Connection refused)"),
            "{all:?}"
        );
        let down: Vec<String> = by_id(&f, "servers.down")
            .iter()
            .flat_map(|f| f.evidence.clone())
            .collect();
        assert!(
            down.iter()
                .any(|e| e.contains("bk_none/n1") && e.contains("L7STS 503 (HTTP status")),
            "{down:?}"
        );
        // n1's check goes to `port 9006` on its server line: that is what to probe.
        assert!(
            down.iter()
                .any(|e| e.starts_with("bk_none/n1 (check 127.0.0.1:9006)")),
            "{down:?}"
        );
    }

    #[test]
    fn weight_zero_and_backup_only_backends() {
        let states = parse_servers_state(
            "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n\
             3 bk 1 a 127.0.0.1 2 0 0 1\n3 bk 2 b 127.0.0.1 2 0 1 1\n\
             4 bb 1 main 127.0.0.1 0 0 1 1\n4 bb 2 spare 127.0.0.1 2 0 1 1\n",
        )
        .unwrap();
        let rows = parse_stat(
            "# pxname,svname,scur,status,type,act,bck,\n\
             bk,a,3,UP,2,,,\nbk,b,0,UP,2,,,\nbk,BACKEND,3,UP,1,1,0,\n\
             bb,main,0,DOWN,2,,,\nbb,spare,4,UP,2,,,\nbb,BACKEND,4,UP,1,0,1,\n",
        )
        .unwrap();
        let f = assess_servers(&rows, &states);
        let w = by_id(&f, "servers.weight-zero");
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[0].evidence,
            ["bk/a: weight 0 (initial 1), 3 session(s) [op_state=running admin_state=0 weight=0]"]
        );
        assert!(w[0]
            .advice
            .as_deref()
            .unwrap()
            .contains("set weight bk/a 100%"));
        let b = by_id(&f, "backend.backup-only");
        assert_eq!(b.len(), 1);
        assert!(b[0]
            .title
            .starts_with("bb: every active server is out, 1 backup"));
    }

    #[test]
    fn summary_counts_servers_in_rotation_and_queued_requests() {
        let states = parse_servers_state(STATES).unwrap();
        // app1 and api1 take traffic; app2 drains, app3 maint, api2 and n1 DOWN.
        assert_eq!(summary(&stat(ROWS), &states), (2, 6, 0));
    }

    #[test]
    fn status_text_is_the_fallback_without_servers_state() {
        let f = assess_servers(&stat(ROWS), &[]);
        // Without the mask, app2 reads DOWN.
        assert!(by_id(&f, "servers.down")
            .iter()
            .any(|f| f.title.contains("app2")));
        assert_eq!(by_id(&f, "servers.maint").len(), 1);
    }

    #[test]
    fn check_status_in_progress_prefix() {
        assert!(check_failed("* L4CON"));
        assert!(check_failed("L7STS"));
        assert!(!check_failed("L7OK"));
        assert!(!check_failed("INI"));
    }

    #[test]
    fn queues_at_backend_and_server_level_and_near_limits() {
        let rows = "\
fe_main,FRONTEND,,,3500,3600,4096,100,OPEN,,,,,0,,,,\n\
bk_slow,slow1,0,2,1,1,1,50,UP,100,,,,2,,,,\n\
bk_slow,BACKEND,11,12,1,12,409,100,UP,100,,,,1,395,,,\n\
bk_pin,pin1,5,6,1,1,1,50,UP,100,,,,2,,,,\n\
bk_pin,BACKEND,0,0,1,1,409,100,UP,100,,,,1,0,,,\n\
bk_ok,ok1,0,0,1,5,100,50,UP,100,,,,2,,,,\n";
        let st = stat(rows);
        let f = assess_queues(&st, 0.8, None);
        let be = by_id(&f, "queues.backend");
        assert_eq!(be.len(), 1);
        assert!(be[0].title.starts_with("bk_slow: 11 request(s)"));
        assert!(be[0].detail.as_deref().unwrap().contains("395 ms"));
        let sv = by_id(&f, "queues.server");
        assert_eq!(sv.len(), 1);
        assert_eq!(
            sv[0].evidence,
            ["bk_pin/pin1: 5 queued (max 6), sessions 1 of maxconn 1"]
        );
        let near = by_id(&f, "sessions.near-limit");
        assert_eq!(near.len(), 1);
        // The frontend at 85%; slow1 at 1/1 is the cause of bk_slow's queue and
        // pin1 has its own: both covered; a backend's slim (fullconn) is no limit.
        assert_eq!(
            near[0].evidence,
            ["fe_main/FRONTEND: 3500 of 4096 sessions"]
        );
        let small = stat("bk_x,x1,0,0,7,8,8,5,UP,1,,,,2,,,,\nbk_x,x3,0,0,9,9,9,5,UP,1,,,,2,,,,\n");
        // Below 10 slots only a full server counts.
        assert_eq!(
            assess_queues(&small, 0.8, None)[0].evidence,
            ["bk_x/x3: 9 of 9 sessions"]
        );
        let only = assess_queues(&st, 0.8, Some("bk_pin"));
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].id, "queues.server");
    }

    #[test]
    fn evidence_is_capped_for_big_farms() {
        let mut rows = String::new();
        for i in 0..40 {
            rows.push_str(&format!("bk,s{i},3,3,1,1,1,5,UP,1,,,,2,,,,\n"));
        }
        let f = assess_queues(&stat(&rows), 0.8, None);
        assert_eq!(f[0].evidence.len(), MAX_EVIDENCE + 1);
        assert_eq!(f[0].evidence[MAX_EVIDENCE], "... and 28 more");
        assert!(f[0].title.starts_with("40 server(s)"));
    }

    #[test]
    fn error_rates_between_two_samples() {
        let h = "# pxname,svname,type,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,econ,eresp,wretr,wredis,\n";
        let before = parse_stat(&format!(
            "{h}bk,s1,2,0,90,0,0,10,0,0,0,0,0,\nbk,s2,2,0,100,0,0,0,0,5,0,0,0,\nbk,BACKEND,1,0,190,0,0,10,0,5,0,0,0,\n\
             ok,o1,2,0,50,0,0,0,0,0,0,0,0,\nok,BACKEND,1,0,50,0,0,0,0,0,0,0,0,\n"
        ))
        .unwrap();
        let after = parse_stat(&format!(
            "{h}bk,s1,2,0,100,0,0,40,0,0,0,0,0,\nbk,s2,2,0,110,0,0,0,0,8,0,1,0,\nbk,BACKEND,1,0,210,0,0,40,0,8,0,1,0,\n\
             ok,o1,2,0,60,0,0,0,0,0,0,0,0,\nok,BACKEND,1,0,60,0,0,0,0,0,0,0,0,\n"
        ))
        .unwrap();
        let f = assess_errors(&before, &after, 3.0);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].id, "backend.errors");
        assert_eq!(f[0].title, "bk: 30 of 50 responses were 5xx (60%) in 3s");
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(
            f[0].evidence,
            [
                "bk: 50 response(s), 30 5xx, 3 connection error(s), 0 response error(s), 1 retries, 0 redispatches in 3s",
                "bk/s1: 30 5xx, 0 connection error(s)",
                "bk/s2: 0 5xx, 3 connection error(s)",
            ]
        );
        // A reset counter (reload, clear counters) counts from zero, never negative.
        let f = assess_errors(&after, &before, 3.0);
        assert!(f.iter().all(|f| !f.title.contains('-')), "{f:?}");
    }

    #[test]
    fn process_limits_from_show_info() {
        let info = parse_info("Name: HAProxy\nMaxconn: 100\nCurrConns: 85\nIdle_pct: 4\n").unwrap();
        let f = assess_process(&info, 0.8);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].id, "process.maxconn");
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[1].id, "process.busy");
        let full = parse_info("Maxconn: 100\nCurrConns: 100\nIdle_pct: 80\n").unwrap();
        let f = assess_process(&full, 0.8);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        let calm = parse_info("Maxconn: 4096\nCurrConns: 3\nIdle_pct: 100\n").unwrap();
        assert!(assess_process(&calm, 0.8).is_empty());
    }
}
