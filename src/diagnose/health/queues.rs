//! Where requests wait and what is close to its limit, from `show stat`:
//! requests queued at backend level (`queues.backend`, with queue times),
//! servers at their maxconn with a queue of their own (`queues.server`), and
//! frontends and servers near their session limit (`sessions.near-limit`,
//! leaving out servers whose backend already queues: they are its cause).

use crate::base::report::{Finding, Severity};
use crate::runtime::stat::{ProxyType, Stat};
use crate::system::FindingDoc;

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

pub(super) const QUEUES_BACKEND: FindingDoc = FindingDoc {
    id: "queues.backend",
    severity: Severity::Warning,
    title: "Requests queued at backend level",
    meaning: "Every usable server of the backend is at its maxconn: new requests wait in the backend queue up to `timeout queue`, then get a 503. `qtime` is the average time spent there over the last 1024 requests, `qtime_max` the worst.",
    fix: "Raise the servers' maxconn if they can take more, add servers, or find why they are slow (`rtime`/`ttime` in show stat); `harun inspect_queues` shows every queue.",
};

pub(super) const QUEUES_SERVER: FindingDoc = FindingDoc {
    id: "queues.server",
    severity: Severity::Warning,
    title: "A server at its maxconn with a queue",
    meaning: "Requests bound to this server (persistence, hash balancing) wait in its own queue while it serves `maxconn` sessions.",
    fix: "Raise the server's maxconn if it can take more, or cap its queue with `maxqueue N` on the server line so extra requests are redispatched to other servers (with hash balancing: `hash-balance-factor 150`); find why it answers slowly.",
};

pub(super) const SESSIONS_NEAR_LIMIT: FindingDoc = FindingDoc {
    id: "sessions.near-limit",
    severity: Severity::Warning,
    title: "Sessions close to a limit",
    meaning: "A frontend or server is above the given fraction (default 80%) of its session limit (`slim`: maxconn; below 10 slots, only at the limit): servers queue at the limit, frontends stop accepting. Servers of a backend that already queues are covered by `queues.backend`.",
    fix: "Raise `maxconn` on the server or frontend if the host can take it, or add capacity before queues build.",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::report::MAX_EVIDENCE;
    use crate::diagnose::health::tests::*;

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
}
