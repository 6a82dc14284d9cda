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
        k("reverted", "bool", "the server came back in rotation during the wait (someone set it ready, or a reload)"),
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
        k(
            "sample_seconds",
            "float or ()",
            "seconds the error rates cover: `sample` live, the recorded interval in a replay; () when there are no rates",
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

/// `show servers state` columns (HAProxy 2.6 to 3.2), for did-you-mean on raw keys.
pub const SERVERS_STATE_COLUMNS: &[&str] = &[
    "be_id",
    "be_name",
    "srv_id",
    "srv_name",
    "srv_addr",
    "srv_op_state",
    "srv_admin_state",
    "srv_uweight",
    "srv_iweight",
    "srv_time_since_last_change",
    "srv_check_status",
    "srv_check_result",
    "srv_check_health",
    "srv_check_state",
    "srv_agent_state",
    "bk_f_forced_id",
    "srv_f_forced_id",
    "srv_fqdn",
    "srv_port",
    "srvrecord",
    "srv_use_ssl",
    "srv_check_port",
    "srv_check_addr",
    "srv_agent_addr",
    "srv_agent_port",
];

/// `show stat` columns before the `-` (HAProxy 2.6), for did-you-mean on raw keys.
pub const STAT_COLUMNS: &[&str] = &[
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_status",
    "agg_server_check_status",
    "agg_check_status",
];

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
];

/// The shape a primitive returns (or returns an array of).
pub fn shape_of(primitive: &str) -> Option<&'static Shape> {
    SHAPES
        .iter()
        .copied()
        .find(|s| s.primitives.contains(&primitive))
        .or_else(|| (primitive == "targets").then_some(&TARGET))
}

/// For a key read on a map of unknown origin: the documented keys close to
/// it, each with the shape it belongs to.
pub fn suggest_any(missing: &str) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    let raw = SERVERS_STATE_COLUMNS
        .iter()
        .map(|c| (*c, SERVERS_ROW.what))
        .chain(STAT_COLUMNS.iter().map(|c| (*c, STAT_ROW.what)));
    let all = SHAPES
        .iter()
        .flat_map(|s| s.keys.iter().map(move |k| (k.name, s.what)))
        .chain(raw);
    let names: Vec<&'static str> = {
        let mut n: Vec<&'static str> = all.clone().map(|(n, _)| n).collect();
        n.sort();
        n.dedup();
        n
    };
    for name in crate::base::suggest::nearest(missing, names.iter().copied()) {
        let whats: Vec<&'static str> = all
            .clone()
            .filter(|(n, _)| *n == name)
            .map(|(_, w)| w)
            .collect();
        out.push((name, whats.first().copied().unwrap_or("")));
    }
    out
}

/// Keys a playbook itself gives its maps: `#{ name: ... }` and `m.name = ...`.
/// Rough by design (a scan, not a parse): it only feeds suggestions.
pub fn keys_in_source(source: &str) -> Vec<&str> {
    let b = source.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !ident(b[i]) || (i > 0 && ident(b[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && ident(b[i]) {
            i += 1;
        }
        let word = &source[start..i];
        let before = source[..start].trim_end();
        let after = source[i..].trim_start();
        let literal_key = (before.ends_with('{') || before.ends_with(','))
            && after.starts_with(':')
            && !after.starts_with("::");
        let assigned = before.ends_with('.') && after.starts_with('=') && !after.starts_with("==");
        if (literal_key || assigned) && !word.as_bytes()[0].is_ascii_digit() {
            out.push(word);
        }
    }
    out.sort();
    out.dedup();
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
    fn any_map_suggests_documented_keys_with_their_shape() {
        let s = suggest_any("op_stat");
        assert_eq!(s[0].0, "op_state");
        assert_eq!(s[0].1, "a `servers()` row");
    }

    #[test]
    fn raw_columns_and_the_playbooks_own_keys_are_candidates() {
        assert_eq!(suggest_any("srv_op_stat")[0].0, "srv_op_state");
        assert_eq!(suggest_any("svnme")[0].0, "svname");
        let src =
            "let m = #{ count: 1, total : 2 };\nm.extra = 3;\nif m.count == 1 {}\nfoo::bar(x: 1)";
        assert_eq!(keys_in_source(src), vec!["count", "extra", "total"]);
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
