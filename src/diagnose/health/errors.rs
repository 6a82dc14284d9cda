//! Error rates between two `show stat` samples: 5xx responses
//! (`backend.errors`) and connection errors to servers
//! (`backend.conn-errors`) per backend, with the servers that produced them;
//! counters reset by a reload count from zero; and `errors.unavailable` when
//! a replay has only one sample, so no rate is ever reported as 0.

use crate::base::report::{Finding, Severity};
use crate::runtime::stat::{ProxyType, Stat, StatRow};
use crate::system::FindingDoc;
use std::collections::{BTreeMap, HashMap};

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

pub(super) const BACKEND_ERRORS: FindingDoc = FindingDoc {
    id: "backend.errors",
    severity: Severity::Warning,
    title: "5xx responses during the sample (error at 50% or more)",
    meaning: "Between two `show stat` samples the backend's `hrsp_5xx` grew: servers answered 5xx, or HAProxy produced 503/504 itself (no server available, queue or server timeout). Evidence gives the responses, connection and response errors, retries and redispatches, and the servers with the most 5xx.",
    fix: "Look at the servers named in the evidence, `show errors`, and the termination state in the logs (`sH` server timeout, `sC`/`SC` connection, `sQ` queue timeout); drain a server that fails every request.",
};

pub(super) const BACKEND_CONN_ERRORS: FindingDoc = FindingDoc {
    id: "backend.conn-errors",
    severity: Severity::Warning,
    title: "Connection errors to servers during the sample",
    meaning: "`econ` grew between two `show stat` samples: HAProxy could not connect to a server (refused, `timeout connect`); requests were retried, redispatched or failed.",
    fix: "Check that the servers in the evidence listen and are reachable from the HAProxy host; check `timeout connect` against the network's latency.",
};

pub(super) const ERRORS_UNAVAILABLE: FindingDoc = FindingDoc {
    id: "errors.unavailable",
    severity: Severity::Info,
    title: "5xx and connection-error rates are unavailable",
    meaning: "Rates come from two `show stat` samples some seconds apart. A replay bundle that recorded only one (snapshots taken with `-p sample=0`, or before snapshots took two), whose samples carry no time in index.json, or whose samples were all used by an earlier rate window of the run, has no interval to divide by: the rates are not reported at all, rather than as 0. The finding's detail says which.",
    fix: "Nothing to fix in HAProxy. For the next incident, take the snapshot with two samples (`harun snapshot`, `-p sample=3` is the default).",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::stat::parse_stat;

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
}
