//! The process as a whole, from `show info`: connections close to the
//! process maxconn (`process.maxconn`, an error at the limit) and little idle
//! CPU left (`process.busy`).

use crate::base::report::{Finding, Severity};
use crate::system::FindingDoc;

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

pub(super) const PROCESS_MAXCONN: FindingDoc = FindingDoc {
    id: "process.maxconn",
    severity: Severity::Warning,
    title: "Connections close to the process maxconn (error at the limit)",
    meaning: "`CurrConns` in `show info` is above the given fraction of `Maxconn`: at the limit HAProxy stops accepting and new connections wait in the kernel backlog.",
    fix: "Raise global `maxconn` if memory allows, and check that the descriptor limit does not cap it (`Ulimit-n`/`Maxsock` in show info, systemd `LimitNOFILE`, `fd-hard-limit`); shed load, or find the slow servers that hold connections.",
};

pub(super) const PROCESS_BUSY: FindingDoc = FindingDoc {
    id: "process.busy",
    severity: Severity::Warning,
    title: "HAProxy close to CPU saturation",
    meaning: "`Idle_pct` in `show info` is below 10: latency grows with every extra request.",
    fix: "Look at `show activity`, TLS and compression rates in `show info`, `nbthread` against the CPUs, and irqbalance.",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::info::parse_info;

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
