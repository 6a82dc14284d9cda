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
