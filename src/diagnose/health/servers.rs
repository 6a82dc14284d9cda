//! Servers and backends out of rotation, from the admin bit mask of
//! `show servers state` joined with `show stat`: a backend with no server
//! left (`backend.down`, naming the parked servers that are the quickest way
//! back) or on its backups only (`backend.backup-only`), servers DOWN,
//! in maintenance (saying whether `disabled` in the configuration put them
//! there), draining or at weight 0, and failing health checks of servers
//! still in the pool (`servers.*`); plus the one-line summary of a farm.

use super::{list, servers_by_backend, Condition, ServerView};
use crate::base::report::{Finding, Severity};
use crate::runtime::servers_state::{AdminState, ServerState};
use crate::runtime::stat::{ProxyType, Stat, StatRow};
use crate::system::FindingDoc;
use std::collections::{BTreeMap, HashMap};

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

pub(super) const BACKEND_DOWN: FindingDoc = FindingDoc {
    id: "backend.down",
    severity: Severity::Critical,
    title: "Backend with no server able to take traffic",
    meaning: "The backend's status is DOWN: no server is usable (DOWN, in maintenance, draining or at weight 0). HAProxy answers every request routed to it at once with 503 (no server available); nothing queues.",
    fix: "Fastest: put back a server parked on purpose, if healthy (`set server BK/SRV state ready`, `set weight BK/SRV 100%`; the finding names them), then fix the DOWN ones (`servers.down` has their last check).",
};

pub(super) const BACKEND_BACKUP_ONLY: FindingDoc = FindingDoc {
    id: "backend.backup-only",
    severity: Severity::Error,
    title: "Backend served by its backup servers only",
    meaning: "Every active server of the backend is out (`act` 0 in show stat) and `backup` servers carry the traffic: they are usually sized for a fallback, not for the full load.",
    fix: "Bring the active servers back: see `servers.down`, `servers.maint`, `servers.drain` for this backend.",
};

pub(super) const SERVERS_DOWN: FindingDoc = FindingDoc {
    id: "servers.down",
    severity: Severity::Warning,
    title: "Servers DOWN (error when none of the backend is left)",
    meaning: "The health check took these servers out of rotation (operational state stopped) while they are not in maintenance. Error level when no server of the backend is usable any more.",
    fix: "Reach the server from the HAProxy host the way the check does (`curl -v http://ADDR/`, `nc -vz ADDR PORT`), fix it; it comes back after `rise` successful checks. Watch with `show servers state BK`.",
};

pub(super) const SERVERS_MAINT: FindingDoc = FindingDoc {
    id: "servers.maint",
    severity: Severity::Info,
    title: "Servers in maintenance",
    meaning: "Decoded from the admin bit mask of `show servers state`: forced from the runtime API, `disabled` in the configuration, inherited from a tracked server, or because its address did not resolve. No traffic and no checks.",
    fix: "If it should serve again: `set server BK/SRV state ready` (`harun -e 'set_state(\"BK/SRV\", \"ready\")'`); `harun journal` shows who changed it through harun. A server `disabled` in the configuration comes back in maintenance at every reload: remove `disabled` from its line.",
};

pub(super) const SERVERS_DRAIN: FindingDoc = FindingDoc {
    id: "servers.drain",
    severity: Severity::Info,
    title: "Servers draining",
    meaning: "The drain flag is set in the admin bit mask: the server keeps its sessions and persistent clients but gets no new traffic.",
    fix: "Finish the drain with `harun drain_server -p server=BK/SRV -p then=maint`, or put it back: `set server BK/SRV state ready`.",
};

pub(super) const SERVERS_WEIGHT_ZERO: FindingDoc = FindingDoc {
    id: "servers.weight-zero",
    severity: Severity::Info,
    title: "Servers UP at weight 0",
    meaning: "`set weight BK/SRV 0` (or `set server BK/SRV weight 0`): the server takes no new traffic except persistent clients, like a drain that is not flagged as one; often left behind after maintenance.",
    fix: "If it should serve: `set weight BK/SRV 100%` (back to the configured weight).",
};

pub(super) const SERVERS_CHECK_FAILING: FindingDoc = FindingDoc {
    id: "servers.check-failing",
    severity: Severity::Warning,
    title: "Health check failing",
    meaning: "The last health check of a server that is neither DOWN nor in maintenance failed (`check_status` L4CON, L4TOUT, L6*, L7TOUT, L7RSP, L7STS, SOCKERR, PROC*): it goes DOWN after `fall` failures, or a drained server would not come back healthy. DOWN servers carry their last check in `servers.down`.",
    fix: "Run the check by hand from the HAProxy host (same address, port and `option httpchk` request) and fix the server or the check (`http-check expect`, `timeout check`).",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::health::tests::*;
    use crate::runtime::servers_state::parse_servers_state;
    use crate::runtime::stat::parse_stat;

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
}
