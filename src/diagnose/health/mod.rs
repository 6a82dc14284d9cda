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
//!
//! This module owns what the areas share: one server joined across both
//! replies (`ServerView`: its condition, failed check, address, the words
//! evidence uses), the grouping of servers by backend, and the registry of
//! finding ids ([`finding_docs`]). Each area assesses and documents its own
//! ids: servers and backends out of rotation (`servers`), queues and sessions
//! near a limit (`queues`), error rates between two samples (`errors`), the
//! process from `show info` (`process`).

mod errors;
mod process;
mod queues;
mod servers;

pub use errors::{assess_errors, errors_unavailable};
pub use process::assess_process;
pub use queues::assess_queues;
pub use servers::{assess_servers, summary};

use crate::runtime::servers_state::{OpState, ServerState};
use crate::runtime::stat::{ProxyType, Stat, StatRow};
use crate::system::FindingDoc;
use std::collections::HashMap;

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

/// Every finding id this module emits.
pub fn finding_docs() -> &'static [FindingDoc] {
    FINDING_DOCS
}

static FINDING_DOCS: &[FindingDoc] = &[
    servers::BACKEND_DOWN,
    servers::BACKEND_BACKUP_ONLY,
    servers::SERVERS_DOWN,
    servers::SERVERS_MAINT,
    servers::SERVERS_DRAIN,
    servers::SERVERS_WEIGHT_ZERO,
    servers::SERVERS_CHECK_FAILING,
    queues::QUEUES_BACKEND,
    queues::QUEUES_SERVER,
    queues::SESSIONS_NEAR_LIMIT,
    errors::BACKEND_ERRORS,
    errors::BACKEND_CONN_ERRORS,
    process::PROCESS_MAXCONN,
    errors::ERRORS_UNAVAILABLE,
    process::PROCESS_BUSY,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::report::Finding;
    use crate::runtime::stat::parse_stat;

    const HEADER: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,lastchg,check_status,check_code,check_duration,type,qtime,last_chk,check_desc,\n";

    pub(super) fn stat(rows: &str) -> Stat {
        parse_stat(&format!("{HEADER}{rows}")).unwrap()
    }

    pub(super) fn by_id<'a>(f: &'a [Finding], id: &str) -> Vec<&'a Finding> {
        f.iter().filter(|f| f.id == id).collect()
    }

    #[test]
    fn check_status_in_progress_prefix() {
        assert!(check_failed("* L4CON"));
        assert!(check_failed("L7STS"));
        assert!(!check_failed("L7OK"));
        assert!(!check_failed("INI"));
    }
}
