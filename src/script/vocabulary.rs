//! The keys every primitive returns, with their type and meaning.
//!
//! One vocabulary: a server reads the same from `servers()`, `stat()`, the
//! `before`/`after` of a write and a drain's progress (`backend`, `server`,
//! `name`, `target`, `op_state`, `admin_state`, `weight`, `drain`, `maint`).
//! This table is what `harun doc NAME` prints, what the did-you-mean of a
//! strict key read suggests from, and what the integration tests compare with
//! the keys a real HAProxy gives.

/// One key of a returned map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    pub ty: &'static str,
    pub meaning: &'static str,
}

/// The shape of what one or more primitives return.
#[derive(Debug)]
pub struct Shape {
    /// How an error message names one value: "a `servers()` row".
    pub what: &'static str,
    /// Primitives returning this shape (or an array of it).
    pub primitives: &'static [&'static str],
    pub keys: &'static [Key],
    /// Keys that come from HAProxy as it is (columns that vary by version),
    /// described once instead of listed.
    pub open: Option<&'static str>,
}

const fn k(name: &'static str, ty: &'static str, meaning: &'static str) -> Key {
    Key { name, ty, meaning }
}

/// The server identity every server-shaped value carries.
macro_rules! server_identity {
    () => {
        [
            k("backend", "string", "backend (proxy) name"),
            k("server", "string", "server name, without the backend"),
            k(
                "name",
                "string",
                "`backend/server`, as written in runtime commands",
            ),
            k("target", "string", "the runtime API socket that answered"),
        ]
    };
}

const SERVER_IDENTITY: [Key; 4] = server_identity!();

/// The decoded state of a server, from `show servers state`.
const SERVER_STATE: [Key; 7] = [
    k(
        "op_state",
        "string",
        "operational state: `stopped` (DOWN), `starting`, `running` (UP) or `stopping`",
    ),
    k(
        "admin_state",
        "int",
        "HAProxy's administrative bit mask (decimal: 1 forced maint, 2 inherited maint, 4 maint from config, 8 forced drain, 16 inherited drain, 32 maint by resolution, 64 FQDN/hostname change)",
    ),
    k(
        "admin_flags",
        "array of strings",
        "the bits of `admin_state` by HAProxy's names (`FMAINT`, `IMAINT`, `CMAINT`, `FDRAIN`, `IDRAIN`, `RMAINT`, `HMAINT`)",
    ),
    k("maint", "bool", "in maintenance, from any source"),
    k("drain", "bool", "draining, from any source"),
    k("weight", "int", "the weight set by the user or the config (`srv_uweight`)"),
    k(
        "in_rotation",
        "bool",
        "takes new traffic: running, not in maint or drain, weight above 0",
    ),
];

pub const SERVERS_ROW: Shape = Shape {
    what: "a `servers()` row",
    primitives: &["servers"],
    keys: &concat_keys::<13>(&[&SERVER_IDENTITY, &SERVER_STATE, &[
        k("maint_sources", "array of strings", "why it is in maintenance: `forced`, `inherited`, `config`, `resolution`, `fqdn`"),
        k("drain_sources", "array of strings", "why it drains: `forced`, `inherited`"),
    ]]),
    open: Some("every column of `show servers state` under HAProxy's own name (`be_id`, `srv_addr`, `srv_op_state`, `srv_admin_state`, `srv_uweight`, `srv_check_status`, ...): numbers as ints, the set depends on the version"),
};

pub const STAT_ROW: Shape = Shape {
    what: "a `stat()` row",
    primitives: &["stat"],
    keys: &[
        k("kind", "string", "`frontend`, `backend`, `server` or `listener` (from `type`)"),
        k("backend", "string or ()", "backend name on backend and server rows, () on frontends and listeners"),
        k("server", "string or ()", "server name on server rows, () elsewhere"),
        k("frontend", "string or ()", "frontend name on frontend and listener rows, () elsewhere"),
        k("target", "string", "the runtime API socket that answered"),
    ],
    open: Some("every column of `show stat` under HAProxy's own name (`pxname`, `svname`, `status`, `weight`, `qcur`, `qmax`, `scur`, `smax`, `slim`, `check_status`, ...); an empty column reads as (), never 0; the set depends on the version"),
};

pub const INFO: Shape = Shape {
    what: "an `info()` map",
    primitives: &["info", "info_all"],
    keys: &[k("target", "string", "the runtime API socket that answered")],
    open: Some("every line of `show info` under HAProxy's own key (`Version`, `Pid`, `Uptime_sec`, `CurrConns`, `Maxconn`, `Idle_pct`, ...): numbers as ints"),
};

/// The state of a server before or after a write (also in the journal).
pub const SERVER_SNAPSHOT: Shape = Shape {
    what: "a write's `before`/`after` map",
    primitives: &[],
    keys: &concat_keys::<6>(&[&[
        SERVER_STATE[0],
        SERVER_STATE[1],
        SERVER_STATE[2],
        SERVER_STATE[3],
        SERVER_STATE[4],
        SERVER_STATE[5],
    ]]),
    open: None,
};

pub const WRITE_OUTCOME: Shape = Shape {
    what: "a write outcome",
    primitives: &[
        "set_state", "set_weight", "shutdown_sessions", "enable_health", "disable_health",
        "enable_agent", "disable_agent",
    ],
    keys: &concat_keys::<10>(&[&SERVER_IDENTITY, &[
        k("command", "string", "the runtime command, exactly as sent (or shown, with --dry-run)"),
        k("outcome", "string", "`sent`, `failed`, `unknown` (sent, no reply) or `dry-run`"),
        k("before", "map or ()", "the server's state before the write (keys: op_state, admin_state, admin_flags, maint, drain, weight); () when unknown"),
        k("after", "map or ()", "the server's state after the write, as HAProxy reports it; () when not sent"),
        k("reply", "string or ()", "HAProxy's reply; () when nothing came back"),
        k("error", "string or ()", "why the write failed; () when it did not"),
    ]]),
    open: None,
};

pub const DRAIN_PROGRESS: Shape = Shape {
    what: "a drain progress row (`status` of a drain)",
    primitives: &[],
    keys: &concat_keys::<10>(&[
        &SERVER_IDENTITY,
        &[
            k("scur", "int", "sessions still on the server"),
            k("qcur", "int", "requests still queued on the server"),
            k("drain", "bool", "the server is draining"),
            k("maint", "bool", "the server is in maintenance"),
            k("found", "bool", "HAProxy still knows the server"),
            k("drained", "bool", "no session and no queued request left"),
        ],
    ]),
    open: None,
};

pub const DRAIN_RESULT: Shape = Shape {
    what: "a `drain()` result",
    primitives: &["drain"],
    keys: &[
        k("servers", "array of strings", "the servers drained, as `backend/server`"),
        k("drained", "bool", "every server reached 0 sessions and 0 queued requests"),
        k("timed_out", "bool", "the wait ended on its timeout"),
        k("reverted", "bool", "the drain was undone (timeout with `revert: true`)"),
        k("reloaded", "bool", "HAProxy reloaded during the wait (the new process does not carry the drain)"),
        k("dry_run", "bool", "shown, not sent"),
        k("then", "string", "what was done once drained (`maint`, or empty)"),
        k("in_maint", "bool", "the servers were put in maintenance after the drain"),
        k("elapsed", "float", "seconds waited"),
        k("timeout", "float", "the wait's limit in seconds"),
        k("remaining", "map", "`scur` and `qcur` summed over the servers at the end"),
        k("status", "array of maps", "one drain progress row per server and target (backend, server, name, target, scur, qcur, drain, maint, found, drained)"),
        k("writes", "array of maps", "the write outcomes of the drain (and of `then`)"),
    ],
    open: None,
};

pub const FINDING: Shape = Shape {
    what: "a finding",
    primitives: &[
        "server_check",
        "queue_check",
        "error_check",
        "process_check",
        "log_check",
        "config_lint",
        "recorded_findings",
    ],
    keys: &[
        k(
            "id",
            "string",
            "stable dotted id (`servers.down`), documented in docs/findings.md",
        ),
        k(
            "severity",
            "string",
            "`ok`, `info`, `warning`, `error` or `critical`",
        ),
        k("title", "string", "one line: what was seen"),
        k("detail", "string or ()", "why it matters"),
        k("advice", "string or ()", "the exact next step"),
        k(
            "evidence",
            "array of strings",
            "what was observed: `file:line` references, stat values, replies (may be empty)",
        ),
        k(
            "target",
            "string or ()",
            "the socket it concerns when several are queried",
        ),
    ],
    open: None,
};

pub const LIVE_CHECK: Shape = Shape {
    what: "a `live_check()` result",
    primitives: &["live_check"],
    keys: &[
        k("infos", "array of maps", "`info()` of every target"),
        k(
            "process",
            "array of findings",
            "process findings (maxconn, idle CPU, reload)",
        ),
        k(
            "servers",
            "array of findings",
            "servers out of rotation and failing checks",
        ),
        k(
            "queues",
            "array of findings",
            "queues and sessions near a limit",
        ),
        k(
            "errors",
            "array of findings or ()",
            "5xx and connection-error rates over the sample; () with `sample: 0`",
        ),
        k("in_rotation", "int", "servers taking new traffic"),
        k("servers_total", "int", "servers known to HAProxy"),
        k("queued", "int", "requests queued, all levels"),
    ],
    open: None,
};

pub const TARGET: Shape = Shape {
    what: "a `targets()` entry",
    primitives: &["targets"],
    keys: &[],
    open: Some("a string: the socket address as harun names it in `target` keys"),
};

/// A row of `logs()`: every key always present, `()` when the line's format lacks it.
pub const LOG_ROW: Shape = Shape {
    what: "a `logs()` row",
    primitives: &["logs"],
    keys: &[
        k("kind", "string", "`http`, `tcp`, `connect` (HAProxy's default format) or `notice` (HAProxy about itself, with `notices: true`)"),
        k("format", "string", "`httplog`, `tcplog`, `clf`, `custom`, `default` or `notice`"),
        k("time", "string or ()", "the accept date on the log's clock, `2026-11-23T19:23:03.623` (a notice: its syslog timestamp as written)"),
        k("accept_date", "string or ()", "the accept date as HAProxy wrote it, `23/Nov/2026:19:23:03.623`"),
        k("host", "string or ()", "the syslog host, when the line has one"),
        k("pid", "int or ()", "HAProxy's pid from the syslog tag"),
        k("client_ip", "string or ()", "`10.0.0.1`, `::1`, or `unix` for a unix-socket client"),
        k("client_port", "int or ()", "the client port (a unix socket: the listener's id)"),
        k("frontend", "string or ()", "frontend name, without the `~` of an SSL listener"),
        k("ssl", "bool", "the frontend is an SSL/TLS listener (`~` suffix)"),
        k("backend", "string or ()", "backend name"),
        k("server", "string or ()", "server name; `<NOSRV>` when none was chosen"),
        k("t_request", "int or ()", "TR, ms to receive the request headers; -1 never complete"),
        k("t_queue", "int or ()", "Tw, ms waiting in queues; -1 ended before"),
        k("t_connect", "int or ()", "Tc, ms to connect to the server; -1 never connected"),
        k("t_response", "int or ()", "Tr, ms for the server's response headers; -1 none"),
        k("t_active", "int or ()", "Ta, ms of active time of an HTTP request"),
        k("t_total", "int or ()", "Tt, ms of the whole session (tcplog, or `%Tt` in a custom format)"),
        k("status", "int or ()", "HTTP status; () for TCP"),
        k("bytes_read", "int or ()", "bytes sent to the client"),
        k("termination_state", "string or ()", "`----`, `SC--`, `sH--` (tcplog: 2 characters)"),
        k("termination", "string or ()", "the termination state in words (`explain_termination` for more)"),
        k("actconn", "int or ()", "process-wide connections when logged"),
        k("feconn", "int or ()", "frontend connections"),
        k("beconn", "int or ()", "backend connections"),
        k("srv_conn", "int or ()", "server connections"),
        k("retries", "int or ()", "connection retries"),
        k("redispatched", "bool", "`+` before the retries: sent to another server"),
        k("srv_queue", "int or ()", "requests ahead in the server's queue"),
        k("backend_queue", "int or ()", "requests ahead in the backend's queue"),
        k("captured_request_headers", "string or ()", "`capture request header` values, `|`-separated"),
        k("captured_response_headers", "string or ()", "`capture response header` values"),
        k("request", "string or ()", "the request line (`<BADREQ>` for an invalid request)"),
        k("method", "string or ()", "`GET`, `POST`..."),
        k("uri", "string or ()", "the URI of the request line"),
        k("truncated", "bool", "HAProxy cut the line (`len`): later fields may be missing"),
        k("logasap", "bool", "`option logasap`: timers and bytes were logged before the end"),
        k("event", "string or ()", "a notice's kind: `server_down`, `server_up`, `server_maint`, `no_server`, `check`, `proxy`, `other`"),
        k("subject", "string or ()", "a notice's `backend/server`, backend or proxy"),
        k("message", "string", "the message as HAProxy wrote it, without the syslog header"),
    ],
    open: None,
};

/// The aggregates of `log_summary()`: the whole, and each frontend, backend and server.
pub const LOG_STATS: Shape = Shape {
    what: "a `log_summary()` aggregate (`total`, and each of `frontends`, `backends`, `servers`)",
    primitives: &[],
    keys: &[
        k("frontend", "string or ()", "on `frontends` rows"),
        k("backend", "string or ()", "on `backends` and `servers` rows"),
        k("server", "string or ()", "on `servers` rows"),
        k("name", "string", "the frontend, the backend, or `backend/server`"),
        k("requests", "int", "requests (HTTP) and sessions (TCP)"),
        k("status_1xx", "int", "responses by class; also status_2xx, status_3xx, status_4xx, status_5xx"),
        k("status_other", "int", "-1 (no response) and codes outside 1xx-5xx"),
        k("error_pct", "float", "5xx among HTTP responses, percent"),
        k("abnormal", "int", "sessions whose termination state does not start with `-`"),
        k("abnormal_pct", "float", "the same in percent of requests"),
        k("terminations", "map", "termination state to count, `#{\"sH--\": 12, \"----\": 9000}`"),
        k("terminations_5xx", "map", "the same for 5xx responses only: why they failed"),
        k("retries", "int", "connection retries"),
        k("redispatched", "int", "requests sent to another server after a failure"),
        k("queued", "int", "requests that waited in a queue (Tw > 0)"),
        k("bytes_read", "int", "bytes sent to clients"),
        k("t_response", "map", "`#{count, not_reached, p50, p90, p99, max, mean}` of Tr in ms (exact below 1 s, at most 0.8% low above); the same for t_request, t_queue, t_connect, t_active, t_total"),
    ],
    open: None,
};

pub const LOG_SUMMARY: Shape = Shape {
    what: "a `log_summary()` result",
    primitives: &["log_summary"],
    keys: &[
        k("sources", "array of strings", "the files read, in order"),
        k("bytes", "int", "bytes read (decompressed)"),
        k("lines", "int", "lines read"),
        k("requests", "int", "traffic lines kept by the filters (HTTP requests and TCP sessions)"),
        k("http", "int", "of which HTTP"),
        k("tcp", "int", "of which TCP"),
        k("filtered_out", "int", "traffic lines the filters left out"),
        k("connects", "int", "`Connect from` lines (HAProxy without a log option)"),
        k("notices_total", "int", "HAProxy's messages about itself"),
        k("foreign", "int", "lines of other programs (systemd, kernel) and journalctl markers"),
        k("unparsed", "int", "lines not recognised"),
        k("unparsed_sample", "array of strings", "the first few of them, cut at 300 bytes"),
        k("too_long", "int", "lines over 64 KiB, skipped"),
        k("too_long_sample", "array of strings", "their length and first bytes"),
        k("truncated", "int", "lines HAProxy cut at its `len` (kept with the fields they have)"),
        k("formats", "map", "lines per format: `httplog`, `tcplog`, `clf`, `custom`, `default`"),
        k("first", "string or ()", "the earliest accept date kept, `2026-11-23T19:23:03`"),
        k("last", "string or ()", "the latest"),
        k("total", "map", "the aggregate of every request (see below)"),
        k("frontends", "array of maps", "one aggregate per frontend, busiest first"),
        k("backends", "array of maps", "one per backend, by name"),
        k("servers", "array of maps", "one per `backend/server` (`<NOSRV>` included), busiest first"),
        k("bucket_minutes", "int", "the width of a time bucket (1, or more for logs over a day)"),
        k("buckets", "array of maps", "`#{time, requests, status_4xx, status_5xx, abnormal, queued, t_mean, t_max}` in time order"),
        k("notices", "array of maps", "HAProxy's last 200 messages about itself: `#{time, event, subject, level, text}`"),
        k("notice_counts", "map", "notices per event (`server_down`, `no_server`, ...)"),
        k("top_clients", "array of maps", "`#{key, errors}`: the clients with the most errors (5xx, or a termination state not starting with `-` or `L`)"),
        k("top_urls", "array of maps", "the same per URL path (without the query string)"),
        k("top_agents", "array of maps", "the same per User-Agent, when it is a captured request header"),
        k("top_error_bound", "int", "how far below the truth a top count may be (0: exact)"),
        k("notes", "array of strings", "problems while reading: a truncated .gz, too many keys, a log-format harun cannot map, the custom formats used"),
    ],
    open: None,
};

pub const TERMINATION: Shape = Shape {
    what: "an `explain_termination()` result",
    primitives: &["explain_termination"],
    keys: &[
        k("state", "string", "the state as given"),
        k("summary", "string", "one line: who ended the session and in which phase"),
        k("normal", "bool", "`--`: normal completion"),
        k("cause", "map", "`#{code, meaning}` of the first character (C client, S server, P proxy, c/s timeouts, ...)"),
        k("phase", "map", "`#{code, meaning}` of the second (R request, Q queue, C connect, H headers, D data, ...)"),
        k("client_cookie", "map or ()", "the third character (persistence cookie from the client), HTTP only"),
        k("server_cookie", "map or ()", "the fourth (what HAProxy did with the server's cookie), HTTP only"),
        k("causes", "array of strings", "the usual causes of this combination"),
        k("checks", "array of strings", "what to check next"),
    ],
    open: None,
};

pub const LOG_FORMATS: Shape = Shape {
    what: "a `log_formats()` result",
    primitives: &["log_formats"],
    keys: &[
        k(
            "formats",
            "array of maps",
            "`#{format, location}`: the custom log-formats harun will try",
        ),
        k(
            "agent_header",
            "int or ()",
            "index of User-Agent among the captured request headers",
        ),
        k(
            "notes",
            "array of strings",
            "log-formats harun cannot map, with the reason",
        ),
    ],
    open: None,
};

pub const PROXY_CONFIG: Shape = Shape {
    what: "a `proxy_config()` result",
    primitives: &["proxy_config"],
    keys: &[
        k("found", "bool", "the configuration has a proxy of that name"),
        k("kind", "string or ()", "`backend`, `listen` or `frontend`"),
        k("location", "string or ()", "`file:line` of its section"),
        k("timeouts", "map or ()", "`server`, `connect`, `queue`, `client`, `http_request`, `tunnel`: each `#{value, ms, location}` (from the proxy or its defaults) or ()"),
        k("retries", "map or ()", "`#{value, location}` or ()"),
        k("redispatch", "bool or ()", "`option redispatch` in effect"),
        k("servers", "array of maps or ()", "`#{server, maxconn, location}` per `server` line"),
    ],
    open: None,
};

/// Every shape, for `harun doc`, did-you-mean and the tests.
pub const SHAPES: &[&Shape] = &[
    &SERVERS_ROW,
    &STAT_ROW,
    &INFO,
    &WRITE_OUTCOME,
    &SERVER_SNAPSHOT,
    &DRAIN_RESULT,
    &DRAIN_PROGRESS,
    &FINDING,
    &LIVE_CHECK,
    &LOG_ROW,
    &LOG_SUMMARY,
    &LOG_STATS,
    &TERMINATION,
    &LOG_FORMATS,
    &PROXY_CONFIG,
];

/// The shape a primitive returns (or returns an array of).
pub fn shape_of(primitive: &str) -> Option<&'static Shape> {
    SHAPES
        .iter()
        .copied()
        .find(|s| s.primitives.contains(&primitive))
        .or_else(|| (primitive == "targets").then_some(&TARGET))
}

/// Keys near `missing` among `candidates`, closest first: a typo
/// (`svnme` → `svname`), a part of a longer name (`state` → `op_state`) or
/// HAProxy's raw name for a harun key.
pub fn nearest<'a>(missing: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let m = missing.to_ascii_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| *c != missing)
        .filter_map(|c| {
            let lc = c.to_ascii_lowercase();
            let d = strsim::damerau_levenshtein(&m, &lc);
            let budget = (m.len().max(lc.len()) / 3).max(1);
            if d <= budget {
                Some((d, c))
            } else if m.len() >= 3 && (lc.contains(&m) || m.contains(&lc) && lc.len() >= 3) {
                Some((budget + 1 + lc.len().abs_diff(m.len()), c))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// "did you mean `a` or `b`?" (empty when there is nothing close).
pub fn did_you_mean(near: &[&str]) -> String {
    match near {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|n| format!("`{n}`")).collect();
            format!("; did you mean {} or `{last}`?", init.join(", "))
        }
    }
}

/// For a key read on a map of unknown origin: the documented keys close to
/// it, each with the shape it belongs to.
pub fn suggest_any(missing: &str) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    let all = SHAPES
        .iter()
        .flat_map(|s| s.keys.iter().map(move |k| (k.name, s.what)));
    let names: Vec<&'static str> = {
        let mut n: Vec<&'static str> = all.clone().map(|(n, _)| n).collect();
        n.sort();
        n.dedup();
        n
    };
    for name in nearest(missing, names.iter().copied()) {
        let whats: Vec<&'static str> = all
            .clone()
            .filter(|(n, _)| *n == name)
            .map(|(_, w)| w)
            .collect();
        out.push((name, whats.first().copied().unwrap_or("")));
    }
    out
}

/// Key lists joined at compile time (shapes share their identity keys).
const fn concat_keys<const N: usize>(parts: &[&[Key]]) -> [Key; N] {
    let mut out = [k("", "", ""); N];
    let mut n = 0;
    let mut p = 0;
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            out[n] = parts[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    assert!(n == N, "concat_keys: wrong length");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_and_parts_find_the_key() {
        let cols = ["pxname", "svname", "status", "scur", "qcur"];
        assert_eq!(nearest("svnme", cols), vec!["svname"]);
        assert_eq!(nearest("pxnam", cols), vec!["pxname"]);
        assert!(nearest("zzzzzz", cols).is_empty());
        let keys = ["op_state", "admin_state", "backend"];
        assert_eq!(nearest("op_stat", keys), vec!["op_state"]);
        assert_eq!(nearest("state", keys)[0], "op_state");
    }

    #[test]
    fn any_map_suggests_documented_keys_with_their_shape() {
        let s = suggest_any("op_stat");
        assert_eq!(s[0].0, "op_state");
        assert_eq!(s[0].1, "a `servers()` row");
    }

    #[test]
    fn did_you_mean_reads_well() {
        assert_eq!(did_you_mean(&[]), "");
        assert_eq!(did_you_mean(&["a"]), "; did you mean `a`?");
        assert_eq!(
            did_you_mean(&["a", "b", "c"]),
            "; did you mean `a`, `b` or `c`?"
        );
    }

    #[test]
    fn shapes_have_unique_keys() {
        for s in SHAPES {
            let mut names: Vec<_> = s.keys.iter().map(|k| k.name).collect();
            names.sort();
            let n = names.len();
            names.dedup();
            assert_eq!(n, names.len(), "{}", s.what);
        }
    }
}
