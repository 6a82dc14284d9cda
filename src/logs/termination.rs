//! The termination state (`sH--`): what each character means, and for the usual two-letter
//! combinations the causes and the checks to run (HAProxy configuration.txt 8.5).

use serde::Serialize;

/// One character and its meaning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Flag {
    pub code: String,
    pub meaning: String,
}

/// A termination state explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub state: String,
    /// What ended the session (first character).
    pub cause: Flag,
    /// The phase it was in (second character).
    pub phase: Flag,
    /// The persistence cookie sent by the client (third character, HTTP only).
    pub client_cookie: Option<Flag>,
    /// What HAProxy did with the server's cookie (fourth character, HTTP only).
    pub server_cookie: Option<Flag>,
    /// One line: "server-side timeout while waiting for the response headers".
    pub summary: String,
    pub normal: bool,
    pub causes: Vec<String>,
    pub checks: Vec<String>,
}

fn cause(c: char) -> &'static str {
    match c {
        'C' => "the client aborted the session",
        'S' => "the server aborted the session or refused the connection",
        'P' => "HAProxy aborted the session (connection limit, deny rule, security check, invalid response)",
        'L' => "HAProxy served the request itself (redirect, stats page, http-request return)",
        'R' => "a resource on the proxy was exhausted (memory, sockets, source ports)",
        'I' => "HAProxy detected an internal error (a bug: report it)",
        'D' => "HAProxy killed the session because the server went DOWN (on-marked-down shutdown-sessions)",
        'U' => "HAProxy killed the session on this backup server because an active server came UP (on-marked-up shutdown-backup-sessions)",
        'K' => "an admin killed the session (shutdown session / shutdown sessions server)",
        'c' => "the client-side timeout expired (timeout client, timeout http-request)",
        's' => "the server-side timeout expired (timeout server, timeout connect, timeout queue)",
        '-' => "normal completion",
        _ => "unknown cause",
    }
}

fn phase(c: char) -> &'static str {
    match c {
        'R' => "while waiting for a complete, valid request from the client",
        'Q' => "while waiting in the queue for a connection slot",
        'C' => "while connecting to the server",
        'H' => "while waiting for the response headers from the server",
        'D' => "during the data transfer",
        'L' => "while sending the last data to the client",
        'T' => "while the request was tarpitted",
        '-' => "after the end of the data transfer",
        _ => "in an unknown phase",
    }
}

fn client_cookie(c: char) -> &'static str {
    match c {
        'N' => "the client sent no persistence cookie",
        'I' => "the client sent an invalid cookie matching no server",
        'D' => "the client's cookie designated a server that was DOWN",
        'V' => "the client sent a valid cookie and went to that server",
        'E' => "the client's cookie had expired (maxidle) and was ignored",
        'O' => "the client's cookie was too old (maxlife) and was ignored",
        'U' => "a cookie was present but another rule chose the server (use-server)",
        '-' => "no persistence cookie configured",
        _ => "unknown cookie state",
    }
}

fn server_cookie(c: char) -> &'static str {
    match c {
        'N' => "no cookie from the server, none inserted",
        'I' => "HAProxy inserted a cookie",
        'U' => "HAProxy updated the cookie's date (maxidle)",
        'P' => "the server's cookie was passed as is",
        'R' => "HAProxy rewrote the server's cookie",
        'D' => "HAProxy deleted the server's cookie",
        '-' => "no persistence cookie configured",
        _ => "unknown cookie operation",
    }
}

/// (causes, checks) of the common combinations.
fn advice(two: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match two {
        "SC" => (
            &["the server refused the connection (TCP RST) or is unreachable (ICMP, no route, no ARP answer)", "nothing listens on the server's port: the application is stopped or restarting"],
            &["is the server up: `servers()` op_state and last check", "from the load balancer: `nc -vz <server ip> <port>`", "a firewall between HAProxy and the server"],
        ),
        "sC" => (
            &["`timeout connect` expired before the server accepted the connection: server overloaded (accept backlog full) or packets dropped"],
            &["`timeout connect` in the backend or defaults", "the server's listen backlog and CPU", "packet loss on the path to the server"],
        ),
        "SH" => (
            &["the server closed the connection or crashed before sending complete response headers", "an IDS or firewall killed the connection"],
            &["the server's application log for the logged request", "the server's process restarts or crashes at that time"],
        ),
        "sH" => (
            &["`timeout server` expired before the server sent its response headers: slow application, database or saturation"],
            &["`timeout server` in the backend or defaults (file:line)", "the server's p99 Tr against that timeout", "the application and database behind the slow server"],
        ),
        "SD" => (
            &["the connection to the server died during the data transfer (RST from the server or an ICMP error): server crash or network issue"],
            &["the server's logs at that time", "network equipment between HAProxy and the server"],
        ),
        "sD" => (
            &["`timeout server` expired during the data phase: L4 equipment (firewall, load balancer) with shorter idle timeouts, or keep-alive sessions expiring on HAProxy first"],
            &["`timeout server` against idle timeouts of firewalls before the server", "long downloads or streaming responses (`timeout tunnel` for websockets)"],
        ),
        "sQ" => (
            &["the request waited in the queue longer than `timeout queue` (or `timeout connect` when unset): every server was at its maxconn"],
            &["server `maxconn` and the backend's queue (qcur, qmax) with `inspect_queues`", "`timeout queue` in the backend or defaults", "slow responses on the servers (Tr) that keep connection slots busy"],
        ),
        "CQ" => (
            &["the client gave up while its request was queued: servers saturated or the assigned server slow"],
            &["server `maxconn` and queues (`inspect_queues`)", "Tw at p90/p99 for the backend"],
        ),
        "CC" => (
            &["the client aborted while HAProxy was connecting to a recently dead or unchecked server"],
            &["health checks on the backend's servers", "`timeout connect`"],
        ),
        "CH" => (
            &["the client gave up while waiting for the response headers: the server took too long"],
            &["Tr percentiles of the server", "`option abortonclose` to stop the server's work early"],
        ),
        "CD" => (
            &["the client closed the connection during the data transfer (browser closed, network break, client-side timeout)"],
            &["usually benign in small numbers; many at once point to the network between clients and HAProxy"],
        ),
        "cD" => (
            &["the client neither sent nor acknowledged data for `timeout client`: client network failure or the client left uncleanly"],
            &["`timeout client` in the frontend or defaults"],
        ),
        "CR" => (
            &["the client aborted before sending a full HTTP request (probes, pre-connecting browsers, scanners)"],
            &["`option http-ignore-probes` in the frontend if these are browser pre-connects"],
        ),
        "cR" => (
            &["`timeout http-request` expired before a full request arrived (408): pre-connecting browsers, slow clients, slowloris"],
            &["`timeout http-request` in the frontend or defaults", "`option http-ignore-probes`"],
        ),
        "cH" => (
            &["`timeout client` expired while waiting for client data during a POST, or the client timeout is shorter than the server's response time"],
            &["`timeout client` against `timeout server`"],
        ),
        "PR" => (
            &["HAProxy blocked the request: invalid HTTP (400) or a deny rule (403)"],
            &["`show errors` on the runtime API for the invalid request", "http-request deny rules in the frontend"],
        ),
        "PH" => (
            &["HAProxy blocked the server's response: invalid or dangerous headers (502), or a header rewrite failed (500)"],
            &["`show errors` on the runtime API for the captured response", "`tune.maxrewrite` when rewrites fail"],
        ),
        "PC" => (
            &["HAProxy could not open a connection to the server: the process hit its socket limit"],
            &["global `maxconn` and `ulimit-n`", "`info()` CurrConns against Maxconn"],
        ),
        "PD" => (
            &["HAProxy blocked an invalid chunked-encoded message after the headers"],
            &["`show errors` on the runtime API"],
        ),
        "LR" => (
            &["HAProxy answered itself: a redirect, the stats page or an `http-request return`"],
            &["nothing to do unless unexpected"],
        ),
        "RC" | "RQ" | "RR" | "RH" | "RD" => (
            &["a resource on the proxy was exhausted (memory, sockets, source ports): a serious anomaly"],
            &["the system log at that time", "`ulimit -n`, source port range (`net.ipv4.ip_local_port_range`), memory"],
        ),
        "DC" | "DQ" | "DH" | "DD" => (
            &["the server went DOWN and `on-marked-down shutdown-sessions` killed its sessions"],
            &["the server's health checks and why it went DOWN"],
        ),
        "KC" | "KQ" | "KH" | "KD" | "KR" => (
            &["an administrator killed the session (`shutdown session`, `shutdown sessions server`)"],
            &["the audit journal (`harun journal`)"],
        ),
        _ => (&[], &[]),
    }
}

/// Explains a 2- or 4-character termination state. `None` when it is not one.
pub fn explain(state: &str) -> Option<Explanation> {
    let chars: Vec<char> = state.chars().collect();
    if !(chars.len() == 2 || chars.len() == 4) {
        return None;
    }
    let flag = |c: char, f: fn(char) -> &'static str| Flag {
        code: c.to_string(),
        meaning: f(c).to_string(),
    };
    let two: String = chars[..2].iter().collect();
    let normal = two == "--";
    let summary = summary_of(chars[0], chars[1]);
    let (causes, checks) = advice(&two);
    Some(Explanation {
        state: state.to_string(),
        cause: flag(chars[0], cause),
        phase: flag(chars[1], phase),
        client_cookie: chars.get(2).map(|&c| flag(c, client_cookie)),
        server_cookie: chars.get(3).map(|&c| flag(c, server_cookie)),
        summary,
        normal,
        causes: causes.iter().map(|s| s.to_string()).collect(),
        checks: checks.iter().map(|s| s.to_string()).collect(),
    })
}

/// The one line of a state's first two characters.
fn summary_of(c: char, p: char) -> String {
    if c == '-' && p == '-' {
        "normal completion".to_string()
    } else if p == '-' {
        cause(c).to_string()
    } else {
        format!("{} {}", cause(c), phase(p))
    }
}

/// One line for a 2- or 4-character state, without building the whole
/// explanation (every row of `logs()` carries one). `None` when it is not one.
pub fn summary_line(state: &str) -> Option<String> {
    let mut chars = state.chars();
    let (c, p) = (chars.next()?, chars.next()?);
    matches!(chars.count(), 0 | 2).then(|| summary_of(c, p))
}

/// One line for a 2- or 4-character state ("" when it is not one).
pub fn summary(state: &str) -> String {
    summary_line(state).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_the_usual_states() {
        let e = explain("sH--").unwrap();
        assert_eq!(e.summary, "the server-side timeout expired (timeout server, timeout connect, timeout queue) while waiting for the response headers from the server");
        assert!(e.causes[0].contains("timeout server") && !e.normal);
        assert_eq!(e.client_cookie.unwrap().code, "-");
        let e = explain("SC").unwrap();
        assert!(e.server_cookie.is_none() && e.checks.iter().any(|c| c.contains("nc -vz")));
        assert!(explain("----").unwrap().normal);
        assert_eq!(
            summary("CD--"),
            "the client aborted the session during the data transfer"
        );
        assert_eq!(summary("P-"), "HAProxy aborted the session (connection limit, deny rule, security check, invalid response)");
        for s in ["", "x", "abc", "abcde", "ééé"] {
            assert!(explain(s).is_none(), "{s}");
        }
        assert_eq!(
            explain("zz").unwrap().summary,
            "unknown cause in an unknown phase"
        );
    }
}
